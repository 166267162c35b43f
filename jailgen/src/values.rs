//! Typed fail2ban values, parsed at the edge.
//!
//! fail2ban itself validates almost nothing when it reads a jail: `bantime =
//! 1x` and `ignoreip = 10.0.0.0/33` pass `fail2ban-client -t` with at most a
//! warning, and a value containing a newline, `%(name)s`, `<tag>` or a
//! `[section]` line is interpolated or re-parsed by fail2ban's INI reader.
//! Everything jailgen writes therefore goes through one of these types, and
//! every rejection names the flag it came from.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

/// A rejected value: which flag (or file:line) and why, with what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag}: {message}")]
pub struct ValueError {
    pub flag: String,
    pub message: String,
}

impl ValueError {
    pub fn new(flag: impl Into<String>, message: impl Into<String>) -> Self {
        ValueError {
            flag: flag.into(),
            message: message.into(),
        }
    }
}

/// Refuse anything fail2ban's reader would treat as syntax rather than data:
/// a line break (a continuation line or a new `[section]`), `%(` (config
/// interpolation), `<` or `>` (action/filter tag interpolation), `[`/`]`
/// (section headers, option lists), `;` and `#` (comments cut the value).
pub fn check_plain(flag: &str, value: &str) -> Result<(), ValueError> {
    if let Some(c) = value
        .chars()
        .find(|c| c.is_control() || matches!(c, '<' | '>' | '[' | ']' | ';' | '#' | '"' | '\''))
    {
        return Err(ValueError::new(
            flag,
            format!(
                "{:?} contains {:?}, which fail2ban would read as syntax, not as a value",
                value, c
            ),
        ));
    }
    if value.contains("%(") || value.contains('%') {
        return Err(ValueError::new(
            flag,
            format!("{value:?} contains '%', which fail2ban would interpolate"),
        ));
    }
    Ok(())
}

/// A time span in fail2ban's syntax (`600`, `10m`, `1h30m`, `1d`, `1w`),
/// kept as the text jailgen writes and the seconds fail2ban will compute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duration {
    text: String,
    seconds: u64,
}

/// fail2ban's unit abbreviations (MyTime.str2seconds), in the forms jailgen
/// accepts. `m` is minutes; months must be written `mo` (as fail2ban says).
const UNITS: &[(&str, u64)] = &[
    ("s", 1),
    ("m", 60),
    ("h", 3600),
    ("d", 86_400),
    ("w", 604_800),
    ("mo", 2_629_800),
    ("y", 31_557_600),
];

impl Duration {
    /// Parse `value` for `flag`. Accepts a number of seconds or one or more
    /// `<number><unit>` groups (`1h30m`); rejects zero, negatives, unknown units.
    pub fn parse(flag: &str, value: &str) -> Result<Duration, ValueError> {
        let bad = || {
            ValueError::new(
                flag,
                format!(
                    "{value:?} is not a fail2ban duration (use seconds or groups such as 600, 10m, 1h30m, 1d, 1w; units s m h d w mo y)"
                ),
            )
        };
        let text = value.trim_matches(' ').to_ascii_lowercase();
        if text.is_empty() || !text.is_ascii() {
            return Err(bad());
        }
        if text.bytes().all(|b| b.is_ascii_digit()) {
            let seconds: u64 = text.parse().map_err(|_| bad())?;
            return Self::positive(flag, text, seconds);
        }
        let mut seconds: u64 = 0;
        let mut rest = text.as_str();
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 9 {
                return Err(bad());
            }
            let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let letters = rest.bytes().take_while(u8::is_ascii_lowercase).count();
            let unit = &rest[..letters];
            rest = &rest[letters..];
            let (_, factor) = UNITS.iter().find(|(u, _)| *u == unit).ok_or_else(bad)?;
            seconds = number
                .checked_mul(*factor)
                .and_then(|s| s.checked_add(seconds))
                .ok_or_else(bad)?;
        }
        Self::positive(flag, text, seconds)
    }

    fn positive(flag: &str, text: String, seconds: u64) -> Result<Duration, ValueError> {
        if seconds == 0 {
            return Err(ValueError::new(
                flag,
                format!("{text:?} is zero; a jail needs a positive time"),
            ));
        }
        Ok(Duration { text, seconds })
    }

    pub fn seconds(&self) -> u64 {
        self.seconds
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A TCP port, 1-65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port(u16);

impl Port {
    pub fn parse(flag: &str, value: &str) -> Result<Port, ValueError> {
        let text = value.trim_matches(' ');
        let bad = || {
            ValueError::new(
                flag,
                format!("{text:?} is not a TCP port (a number from 1 to 65535)"),
            )
        };
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || text.len() > 6 {
            return Err(bad());
        }
        match text.parse::<u32>() {
            Ok(n @ 1..=65535) => Ok(Port(n as u16)),
            _ => Err(bad()),
        }
    }

    pub fn new(n: u16) -> Option<Port> {
        (n != 0).then_some(Port(n))
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A comma-separated list of ports (`22,2222`), sorted and deduplicated.
pub fn parse_ports(flag: &str, value: &str) -> Result<Vec<Port>, ValueError> {
    let mut ports = Vec::new();
    for part in value.split(',') {
        ports.push(Port::parse(flag, part)?);
    }
    ports.sort();
    ports.dedup();
    Ok(ports)
}

/// A positive retry count.
pub fn parse_count(flag: &str, value: &str, max: u32) -> Result<u32, ValueError> {
    let text = value.trim_matches(' ');
    match text.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) && text.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(ValueError::new(
            flag,
            format!("{text:?} is not a whole number from 1 to {max}"),
        )),
    }
}

/// A positive decimal factor such as `2` or `1.5` (bantime.factor).
pub fn parse_factor(flag: &str, value: &str) -> Result<String, ValueError> {
    let text = value.trim_matches(' ');
    let mut parts = text.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits_ok =
        |s: &str| !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit());
    let ok =
        digits_ok(whole) && frac.is_none_or(digits_ok) && !text.trim_matches(['0', '.']).is_empty();
    if !ok {
        return Err(ValueError::new(
            flag,
            format!("{text:?} is not a positive number such as 2 or 1.5"),
        ));
    }
    Ok(text.to_string())
}

/// One `ignoreip` entry: an address or a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IgnoreNet(IpNet);

impl IgnoreNet {
    pub fn parse(flag: &str, value: &str) -> Result<IgnoreNet, ValueError> {
        let text = value.trim_matches(' ');
        if let Ok(addr) = text.parse::<IpAddr>() {
            return Ok(IgnoreNet(IpNet::from(addr)));
        }
        match text.parse::<IpNet>() {
            Ok(net) if net.trunc() == net => Ok(IgnoreNet(net)),
            Ok(net) => Err(ValueError::new(
                flag,
                format!(
                    "{text:?} has host bits set; the network is {}",
                    net.trunc()
                ),
            )),
            Err(_) => Err(ValueError::new(
                flag,
                format!(
                    "{text:?} is not an IP address or CIDR network (prefix at most /32 for IPv4, /128 for IPv6)"
                ),
            )),
        }
    }

    /// An entry already in a configuration, read as fail2ban reads it: host
    /// bits are masked off, so Debian's own default `127.0.0.1/8` means
    /// 127.0.0.0/8 and is valid. (Generated values stay strict: there a
    /// host part is more likely a typo than a wish.)
    pub fn parse_as_fail2ban(flag: &str, value: &str) -> Result<IgnoreNet, ValueError> {
        match value.trim_matches(' ').parse::<IpNet>() {
            Ok(net) => Ok(IgnoreNet(net.trunc())),
            Err(_) => IgnoreNet::parse(flag, value),
        }
    }

    pub fn net(self) -> IpNet {
        self.0
    }

    /// Is the whole internet, or a public range wider than /16 (IPv4) or
    /// /32 (IPv6), ignored? Banning then never happens for those clients.
    pub fn too_wide(self) -> bool {
        match self.0 {
            IpNet::V4(n) => {
                n.prefix_len() == 0
                    || (n.prefix_len() < 16
                        && !n.network().is_private()
                        && !n.network().is_loopback())
            }
            IpNet::V6(n) => {
                let first = n.network().segments()[0];
                let private = (first & 0xfe00) == 0xfc00 || n.network().is_loopback();
                n.prefix_len() == 0 || (n.prefix_len() < 32 && !private)
            }
        }
    }
}

impl fmt::Display for IgnoreNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A single host is written as the bare address, as fail2ban's docs do.
        if self.0.prefix_len() == self.0.max_prefix_len() {
            write!(f, "{}", self.0.addr())
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// `--ignoreip` values: separated by commas or spaces, several flags allowed.
pub fn parse_ignore_list(flag: &str, values: &[String]) -> Result<Vec<IgnoreNet>, ValueError> {
    let mut nets = Vec::new();
    for value in values {
        check_no_control(flag, value)?;
        for part in value.split([',', ' ', '\t']).filter(|p| !p.is_empty()) {
            nets.push(IgnoreNet::parse(flag, part)?);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    nets.retain(|n| seen.insert(*n));
    Ok(nets)
}

fn check_no_control(flag: &str, value: &str) -> Result<(), ValueError> {
    if value.chars().any(char::is_control) {
        return Err(ValueError::new(
            flag,
            format!("{value:?} contains a control character (a newline would start a new fail2ban option)"),
        ));
    }
    Ok(())
}

/// A URL path prefix for the api-abuse filter: `/`, letters, digits, `-._~`.
/// Anything else would have to be escaped in the regex and could smuggle syntax.
pub fn parse_api_path(flag: &str, value: &str) -> Result<String, ValueError> {
    let ok = value.starts_with('/')
        && value.len() <= 200
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~'));
    if !ok {
        return Err(ValueError::new(
            flag,
            format!(
                "{value:?} is not a URL path prefix (start with '/', use letters, digits and - _ . ~)"
            ),
        ));
    }
    Ok(value.to_string())
}

/// HTTP status codes that count as failures for api-abuse (`401,403,429`).
pub fn parse_statuses(flag: &str, value: &str) -> Result<Vec<u16>, ValueError> {
    let mut codes = Vec::new();
    for part in value.split(',') {
        let part = part.trim();
        match part.parse::<u16>() {
            Ok(code @ 400..=599) if part.len() == 3 => codes.push(code),
            _ => {
                return Err(ValueError::new(
                    flag,
                    format!("{part:?} is not an HTTP error status (400-599)"),
                ))
            }
        }
    }
    codes.sort_unstable();
    codes.dedup();
    Ok(codes)
}

/// A fail2ban action or backend name: letters, digits, `-`, `_`, `.`.
pub fn parse_name(flag: &str, value: &str) -> Result<String, ValueError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && value.as_bytes()[0].is_ascii_alphanumeric();
    if !ok {
        return Err(ValueError::new(
            flag,
            format!("{value:?} is not a name (letters, digits, - _ .)"),
        ));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_fail2ban_units() {
        let secs = |v| Duration::parse("--bantime", v).map(|d| d.seconds());
        assert_eq!(secs("600"), Ok(600));
        assert_eq!(secs("10m"), Ok(600));
        assert_eq!(secs("1h30m"), Ok(5400));
        assert_eq!(secs("1d"), Ok(86_400));
        assert_eq!(secs("1w"), Ok(604_800));
        assert_eq!(secs("1mo"), Ok(2_629_800));
        assert_eq!(secs("1H"), Ok(3600));
        for bad in [
            "1x", "", "0", "0m", "-1", "h", "1h 30m", "1.5h", "10m\n[x]", "10m\n", "%(a)s",
        ] {
            let err = Duration::parse("--bantime", bad).unwrap_err();
            assert_eq!(err.flag, "--bantime", "{bad}");
        }
    }

    #[test]
    fn ports_are_1_to_65535() {
        assert_eq!(Port::parse("--ssh-port", "2222").unwrap().get(), 2222);
        for bad in ["0", "70000", "65536", "-1", "ssh", "", "22\n"] {
            let err = Port::parse("--ssh-port", bad).unwrap_err();
            assert!(err.to_string().starts_with("--ssh-port: "), "{err}");
        }
        assert_eq!(
            parse_ports("--ssh-port", "2222,22,2222").unwrap(),
            vec![Port(22), Port(2222)]
        );
    }

    #[test]
    fn ignore_nets_reject_bad_prefixes_and_flag_wide_ones() {
        let one = |v| IgnoreNet::parse("--ignoreip", v);
        assert!(one("10.0.0.0/33").is_err());
        assert!(one("10.0.0.1/8").is_err());
        assert!(one("::1/129").is_err());
        assert_eq!(one("192.0.2.7").unwrap().to_string(), "192.0.2.7");
        assert_eq!(one("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert!(!one("10.0.0.0/8").unwrap().too_wide());
        assert!(one("0.0.0.0/0").unwrap().too_wide());
        assert!(one("8.0.0.0/8").unwrap().too_wide());
        assert!(!one("8.8.0.0/16").unwrap().too_wide());
        assert!(one("::/0").unwrap().too_wide());
        assert!(one("2001::/16").unwrap().too_wide());
        assert!(!one("fd00::/8").unwrap().too_wide());
        let list = parse_ignore_list("--ignoreip", &["10.0.0.0/8, 192.0.2.1".into()]).unwrap();
        assert_eq!(list.len(), 2);
        assert!(parse_ignore_list("--ignoreip", &["10.0.0.0/8\n[x]".into()]).is_err());
    }

    #[test]
    fn existing_entries_are_read_with_host_bits_masked_like_fail2ban() {
        let read = |v| IgnoreNet::parse_as_fail2ban("ignoreip", v);
        // Debian's packaged jail.conf default.
        assert_eq!(read("127.0.0.1/8").unwrap().to_string(), "127.0.0.0/8");
        assert_eq!(read("::1").unwrap().to_string(), "::1");
        assert!(read("10.0.0.0/33").is_err());
        assert!(read("1x.0.0.0/8").is_err());
    }

    #[test]
    fn plain_text_refuses_fail2ban_syntax() {
        for bad in ["a\nb", "%(known/port)s", "<ip>", "[sshd]", "x ; y", "a%b"] {
            assert!(check_plain("--x", bad).is_err(), "{bad}");
        }
        assert!(check_plain("--x", "nftables-multiport").is_ok());
    }

    #[test]
    fn counts_factors_paths_statuses_names() {
        assert_eq!(parse_count("--maxretry", "3", 100), Ok(3));
        assert!(parse_count("--maxretry", "0", 100).is_err());
        assert!(parse_count("--maxretry", "+3", 100).is_err());
        assert_eq!(parse_factor("--f", "1.5").unwrap(), "1.5");
        assert!(parse_factor("--f", "0").is_err());
        assert!(parse_factor("--f", "2e3").is_err());
        assert_eq!(parse_api_path("--api-path", "/v1/").unwrap(), "/v1/");
        assert!(parse_api_path("--api-path", "/v1/(.*)").is_err());
        assert!(parse_api_path("--api-path", "v1").is_err());
        assert_eq!(
            parse_statuses("--api-status", "429,401,403").unwrap(),
            vec![401, 403, 429]
        );
        assert!(parse_statuses("--api-status", "200").is_err());
        assert!(parse_name("--banaction", "nftables-multiport").is_ok());
        assert!(parse_name("--banaction", "x[port=1]").is_err());
    }
}
