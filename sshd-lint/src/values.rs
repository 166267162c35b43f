//! The value syntaxes sshd_config shares between keywords, reproduced from
//! OpenSSH's misc.c and servconf.c: ports (`a2port`), integers (`atoi_err`),
//! times (`convtime`), byte sizes (`scan_scaled`), paths
//! (`derelativise_path`, `tilde_expand_filename`), `host:port`
//! (`hpdelim`), DSCP names (`parse_ipqos`), and the name tables.

use crate::matching::addr_match_list;

/// `a2port`: a number 1..65535 (0 is accepted here and refused by callers),
/// or a service name from the root's /etc/services.
pub fn a2port(s: &str, services: Option<&str>) -> Option<u16> {
    if let Some(n) = strtonum(s) {
        return u16::try_from(n).ok();
    }
    let services = services?;
    services.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let name = words.next()?;
        let port_proto = words.next()?;
        let (port, proto) = port_proto.split_once('/')?;
        let aliases: Vec<&str> = words.collect();
        if proto == "tcp" && (name == s || aliases.contains(&s)) {
            port.parse().ok()
        } else {
            None
        }
    })
}

/// strtoll-style integer: optional sign, decimal digits, nothing after.
pub fn strtonum(s: &str) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    Some(if neg { -n } else { n })
}

/// `atoi_err`: an int in C's range.
pub fn parse_int(arg: Option<&str>) -> Result<i64, &'static str> {
    let Some(a) = arg.filter(|a| !a.is_empty()) else {
        return Err("missing");
    };
    let n = strtonum(a).ok_or("invalid")?;
    // OpenSSH's atoi_err is strtonum(s, 0, INT_MAX): negatives are refused.
    if n < 0 {
        return Err("too small");
    }
    if n > i64::from(i32::MAX) {
        return Err("too large");
    }
    Ok(n)
}

/// `convtime`: `90`, `1m30s`, `2h`, `1w` (units s, m, h, d, w, any case).
pub fn convtime(s: &str) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() {
            return None;
        }
        let n: i64 = digits.parse().ok()?;
        rest = &rest[digits.len()..];
        let mult = match rest.chars().next() {
            None => 1,
            Some(c) => {
                rest = &rest[c.len_utf8()..];
                match c.to_ascii_lowercase() {
                    's' => 1,
                    'm' => 60,
                    'h' => 3600,
                    'd' => 86400,
                    'w' => 604800,
                    _ => return None,
                }
            }
        };
        total = total.checked_add(n.checked_mul(mult)?)?;
        if total > i64::from(i32::MAX) {
            return None;
        }
    }
    Some(total)
}

/// `scan_scaled`: bytes with an optional K, M, G, T, P, E suffix.
pub fn scan_scaled(s: &str) -> Option<u64> {
    let t = s.trim();
    let (num, unit) = match t.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => (&t[..t.len() - 1], Some(c.to_ascii_uppercase())),
        _ => (t, None),
    };
    let shift = match unit {
        None | Some('B') => 0,
        Some('K') => 10,
        Some('M') => 20,
        Some('G') => 30,
        Some('T') => 40,
        Some('P') => 50,
        Some('E') => 60,
        _ => return None,
    };
    let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let w: u64 = whole.parse().ok()?;
    let mut v = w.checked_mul(1u64.checked_shl(shift)?)?;
    if !frac.is_empty() && shift > 0 {
        let f: f64 = format!("0.{frac}").parse().ok()?;
        v = v.checked_add((f * (1u64 << shift) as f64) as u64)?;
    }
    Some(v)
}

/// `~/` and `~user/` as sshd's `tilde_expand_filename` (for root).
pub fn tilde_expand(path: &str) -> String {
    match path.strip_prefix("~/") {
        Some(rest) => format!("/root/{rest}"),
        None if path == "~" => "/root".to_string(),
        None => path.to_string(),
    }
}

/// `derelativise_path`: absolute paths stay, `none` stays, relative paths
/// are taken from sshd's working directory, `/` when started by init.
pub fn derelativise(path: &str) -> String {
    if path.eq_ignore_ascii_case("none") {
        return "none".to_string();
    }
    let expanded = tilde_expand(path);
    if expanded.starts_with('/') {
        expanded
    } else {
        format!("//{expanded}")
    }
}

/// `hpdelim`: split `host:port`, `[v6]:port` or `host/port`.
pub fn hpdelim(s: &str) -> Option<(String, Option<String>)> {
    let (host_end, next) = if s.starts_with('[') {
        let close = s.find(']')?;
        (close + 1, s[close + 1..].chars().next())
    } else {
        match s.find([':', '/']) {
            Some(i) => (i, s[i..].chars().next()),
            None => (s.len(), None),
        }
    };
    let host = &s[..host_end];
    match next {
        None => Some((clean_host(host), None)),
        Some(':') | Some('/') => Some((clean_host(host), Some(s[host_end + 1..].to_string()))),
        Some(_) => None,
    }
}

pub fn clean_host(h: &str) -> String {
    match h.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        Some(inner) => inner.to_string(),
        None => h.to_string(),
    }
}

/// (accepted, printed): Debian's table starts with SILENT for the QUIET
/// level, so `LogLevel QUIET` prints as `SILENT` there; upstream's has no
/// SILENT (the parser maps it back for an upstream build).
pub const LOG_LEVELS: &[(&str, &str)] = &[
    ("QUIET", "SILENT"),
    ("SILENT", "SILENT"),
    ("FATAL", "FATAL"),
    ("ERROR", "ERROR"),
    ("INFO", "INFO"),
    ("VERBOSE", "VERBOSE"),
    ("DEBUG", "DEBUG"),
    ("DEBUG1", "DEBUG"),
    ("DEBUG2", "DEBUG2"),
    ("DEBUG3", "DEBUG3"),
];
pub const FACILITIES: &[&str] = &[
    "DAEMON", "USER", "AUTH", "AUTHPRIV", "LOCAL0", "LOCAL1", "LOCAL2", "LOCAL3", "LOCAL4",
    "LOCAL5", "LOCAL6", "LOCAL7",
];
pub const DIGESTS: &[&str] = &["MD5", "SHA1", "SHA256", "SHA384", "SHA512"];
pub const GSS_KEX: &[&str] = &[
    "gss-gex-sha1-",
    "gss-group1-sha1-",
    "gss-group14-sha1-",
    "gss-group14-sha256-",
    "gss-group16-sha512-",
    "gss-nistp256-sha256-",
    "gss-curve25519-sha256-",
];
/// DSCP/TOS names, in OpenSSH's table order (the first name for a value is
/// the one printed).
pub const IPQOS: &[(&str, u32)] = &[
    ("none", i32::MAX as u32),
    ("af11", 0x28),
    ("af12", 0x30),
    ("af13", 0x38),
    ("af21", 0x48),
    ("af22", 0x50),
    ("af23", 0x58),
    ("af31", 0x68),
    ("af32", 0x70),
    ("af33", 0x78),
    ("af41", 0x88),
    ("af42", 0x90),
    ("af43", 0x98),
    ("cs0", 0x00),
    ("cs1", 0x20),
    ("cs2", 0x40),
    ("cs3", 0x60),
    ("cs4", 0x80),
    ("cs5", 0xa0),
    ("cs6", 0xc0),
    ("cs7", 0xe0),
    ("ef", 0xb8),
    ("le", 0x04),
    ("lowdelay", 0x10),
    ("throughput", 0x08),
    ("reliability", 0x04),
];

/// A DSCP name or number. Until 9.7 a number is C's (`0x20`, `040`);
/// from 9.8 sshd takes decimal only (strtonum), so `0x20` is refused.
pub fn parse_ipqos(s: &str, decimal_only: bool) -> Option<u32> {
    if let Some((_, v)) = IPQOS.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return Some(*v);
    }
    if decimal_only {
        let digits = s.strip_prefix('+').unwrap_or(s);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return digits.parse::<u32>().ok().filter(|v| *v <= 255);
    }
    let v = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16).ok()?
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8).ok()?
    } else {
        s.parse().ok()?
    };
    (v <= 255).then_some(v)
}

pub fn ipqos_name(v: u32) -> String {
    IPQOS
        .iter()
        .find(|(_, x)| *x == v)
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| format!("0x{v:02x}"))
}

pub fn valid_auth_methods(list: &str) -> bool {
    const METHODS: &[&str] = &[
        "none",
        "publickey",
        "password",
        "keyboard-interactive",
        "hostbased",
        "gssapi-with-mic",
    ];
    !list.is_empty()
        && list.split(',').all(|m| {
            let (name, sub) = match m.split_once(':') {
                Some((n, s)) => (n, Some(s)),
                None => (m, None),
            };
            // sshd 9.2 accepts a submethod on any method name.
            METHODS.contains(&name) && sub.is_none_or(|x| !x.is_empty())
        })
}

/// sshd's `match_user(NULL, .., pattern) == -1`: a `user@host` pattern
/// whose host part is a broken address list.
pub fn bad_user_pattern(p: &str) -> bool {
    p.is_empty()
        || p.split_once('@')
            .is_some_and(|(_, host)| addr_match_list(None, host) == -2)
}

/// `sscanf(s, "%d:%d:%d")`: the leading integers separated by ':'.
pub fn sscanf_ints(s: &str, max: usize) -> Vec<i64> {
    let mut out = Vec::new();
    let mut rest = s;
    while out.len() < max {
        let t = rest.trim_start();
        let sign_len = usize::from(t.starts_with(['+', '-']));
        let digits = t[sign_len..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 {
            break;
        }
        let Ok(n) = t[..sign_len + digits].parse::<i64>() else {
            break;
        };
        out.push(n);
        rest = &t[sign_len + digits..];
        match rest.strip_prefix(':') {
            Some(r) => rest = r,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_ports_and_sizes() {
        assert_eq!(convtime("1m30s"), Some(90));
        assert_eq!(convtime("2H"), Some(7200));
        assert_eq!(convtime("10x"), None);
        assert_eq!(convtime(""), None);
        assert_eq!(a2port("22", None), Some(22));
        assert_eq!(a2port("ssh", Some("ssh 22/tcp # SSH\n")), Some(22));
        assert_eq!(a2port("70000", None), None);
        assert_eq!(scan_scaled("1G"), Some(1 << 30));
        assert_eq!(sscanf_ints("10:30:60", 3), [10, 30, 60]);
        assert_eq!(sscanf_ints("10abc", 3), [10]);
        assert_eq!(hpdelim("[::1]:22"), Some(("::1".into(), Some("22".into()))));
    }
}
