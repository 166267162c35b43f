//! The text of `jail.d/hardkit.local`: the same jails always give the same
//! bytes, so `--write` can say "unchanged" and a diff shows real changes.

use std::fmt::Write;

use crate::jails::{Jail, API_FILTER};

/// Where jailgen writes its jails (system path, resolved under `--root`).
pub const JAIL_FILE: &str = "/etc/fail2ban/jail.d/hardkit.local";

/// Where the api-abuse filter goes.
pub fn filter_file() -> String {
    format!("/etc/fail2ban/filter.d/{API_FILTER}.conf")
}

/// Render the drop-in. `facts` are comment lines saying what the host
/// looked like (they change only when the host does).
pub fn render(jails: &[Jail], facts: &[String]) -> String {
    let mut out = String::new();
    out.push_str("# Written by jailgen (hardkit). Regenerate with jailgen rather than editing;\n");
    out.push_str("# `jailgen audit` checks the jails fail2ban will really run.\n");
    for fact in facts {
        // Facts are built from validated values and host names; a line break
        // would end the comment, so it is flattened all the same.
        let _ = writeln!(out, "# {}", fact.replace(['\n', '\r'], " "));
    }
    for jail in jails {
        out.push('\n');
        render_jail(&mut out, jail);
    }
    out
}

fn render_jail(out: &mut String, jail: &Jail) {
    let _ = writeln!(out, "[{}]", jail.name);
    let mut line = |key: &str, value: &str| {
        let _ = writeln!(out, "{key} = {value}");
    };
    line("enabled", if jail.enabled { "true" } else { "false" });
    // Stock jails keep fail2ban's own filter line (it carries the sshd
    // `mode`); only jailgen's own filter has to be named.
    if jail.filter == API_FILTER {
        line("filter", &jail.filter);
    }
    line("port", &jail.port);
    line("backend", &jail.backend);
    if !jail.logpath.is_empty() {
        line("logpath", &jail.logpath.join("\n          "));
    }
    if let Some(journalmatch) = &jail.journalmatch {
        line("journalmatch", journalmatch);
    }
    line("maxretry", &jail.maxretry.to_string());
    line("findtime", &jail.findtime);
    line("bantime", &jail.bantime);
    line("banaction", &jail.banaction);
    if !jail.ignoreip.is_empty() {
        line("ignoreip", &jail.ignoreip.join(" "));
    }
    if jail.bantime_increment {
        line("bantime.increment", "true");
        if let Some(factor) = &jail.bantime_factor {
            line("bantime.factor", factor);
        }
        if let Some(maxtime) = &jail.bantime_maxtime {
            line("bantime.maxtime", maxtime);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every option jailgen writes is a row of fail2ban's option table in
    /// every modelled release: a key fail2ban does not read would be
    /// silently ignored.
    #[test]
    fn every_written_key_is_an_option_of_each_release() {
        let jail = Jail {
            name: "api-abuse".into(),
            enabled: true,
            filter: API_FILTER.into(),
            port: "http,https".into(),
            maxretry: 3,
            findtime: "10m".into(),
            findtime_seconds: 600,
            bantime: "1h".into(),
            bantime_seconds: 3600,
            backend: "auto".into(),
            logpath: vec!["/var/log/nginx/access.log".into()],
            journalmatch: Some("_SYSTEMD_UNIT=nginx.service".into()),
            banaction: "nftables-multiport".into(),
            ignoreip: vec!["192.0.2.0/24".into()],
            bantime_increment: true,
            bantime_factor: Some("2".into()),
            bantime_maxtime: Some("1w".into()),
        };
        let text = render(&[jail], &[]);
        let keys: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k))
            .collect();
        assert_eq!(keys.len(), 14, "{text}");
        for model in crate::release::MODELS {
            for key in &keys {
                assert!(
                    crate::options::row_of(key, model).is_some(),
                    "{key} is not an option of fail2ban {model}"
                );
            }
        }
    }
}
