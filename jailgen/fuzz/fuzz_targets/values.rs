//! Fuzz every reader of a single value: jailgen's own flag parsers
//! (durations, ports, counts, factors, addresses, API paths, statuses, names)
//! and its readers of values fail2ban accepts (time syntax, port lists,
//! fnmatch log globs, sshd-lint's JSON). The first byte picks the reader;
//! for glob matching the rest is `pattern NUL name`.
#![no_main]

use jailgen::values::{self, Duration, IgnoreNet, Port};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match which % 16 {
        0 => drop(Duration::parse("--bantime", text)),
        1 => drop(Port::parse("--ssh-port", text)),
        2 => drop(values::parse_ports("--ssh-port", text)),
        3 => drop(values::parse_count("--maxretry", text, 1000)),
        4 => drop(values::parse_factor("--bantime-factor", text)),
        5 => drop(IgnoreNet::parse("--ignoreip", text).map(|n| n.too_wide())),
        6 => drop(IgnoreNet::parse_as_fail2ban("ignoreip", text).map(|n| n.too_wide())),
        7 => {
            let list: Vec<String> = text.split(' ').map(str::to_string).collect();
            drop(values::parse_ignore_list("--ignoreip", &list));
        }
        8 => drop(values::parse_api_path("--api-path", text)),
        9 => drop(values::parse_statuses("--api-status", text)),
        10 => drop(values::parse_name("--jail", text)),
        11 => drop(values::check_plain("--logpath", text)),
        12 => drop(jailgen::fail2ban_values::fail2ban_seconds(text)),
        13 => {
            let _ = jailgen::fail2ban_values::port_covers(text, 22);
            drop(jailgen::fail2ban_values::invalid_ports(text));
        }
        14 => {
            let (pattern, name) = text.split_once('\0').unwrap_or((text, "auth.log"));
            let _ = jailgen::host::glob_match(pattern, name);
        }
        _ => drop(jailgen::sshd_input::ports_from_text("-", text)),
    }
});
