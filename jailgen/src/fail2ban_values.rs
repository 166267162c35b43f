//! Values as fail2ban itself reads them, for the audit: times as
//! `MyTime.str2seconds` computes them, and `port` lists as the ban actions
//! receive them. (jailgen's own, stricter parsing of what it writes is in
//! [`crate::values`].)

/// Seconds fail2ban computes for a time value (MyTime.str2seconds), for the
/// forms people write: `600`, `10m`, `1h 30m`, `1.5h`, `1hour`, `-1`
/// (permanent). None when fail2ban could not compute it (`1x`).
pub fn fail2ban_seconds(value: &str) -> Option<f64> {
    let text = value.trim().to_lowercase();
    if let Ok(n) = text.parse::<i64>() {
        return Some(n as f64);
    }
    let units: &[(&[&str], f64)] = &[
        (&["s", "ss", "se", "sec", "second", "seconds"], 1.0),
        (&["m", "mm", "mi", "min", "minute", "minutes"], 60.0),
        (&["h", "hh", "ho", "hou", "hour", "hours"], 3600.0),
        (&["d", "dd", "da", "day", "days"], 86_400.0),
        (&["w", "ww", "we", "wee", "week", "weeks"], 604_800.0),
        (&["mo", "mon", "month", "months"], 2_629_800.0),
        (&["y", "yy", "ye", "yea", "year", "years"], 31_557_600.0),
    ];
    let mut total = 0.0;
    let mut rest = text.as_str();
    let mut groups = 0;
    while !rest.trim_start().is_empty() {
        rest = rest.trim_start();
        let len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        if len == 0 || len > 15 || !rest.as_bytes()[0].is_ascii_digit() {
            return None;
        }
        let n: f64 = rest[..len].parse().ok()?;
        rest = rest[len..].trim_start();
        let letters = rest.bytes().take_while(u8::is_ascii_lowercase).count();
        let unit = &rest[..letters];
        rest = &rest[letters..];
        let factor = if unit.is_empty() {
            1.0
        } else {
            units.iter().find(|(names, _)| names.contains(&unit))?.1
        };
        total += n * factor;
        groups += 1;
    }
    (groups > 0 && total.is_finite()).then_some(total)
}

/// Does fail2ban's `port` value (`ssh`, `22,2222`, `1000:2000`, `http,https`) cover `port`?
pub fn port_covers(value: &str, port: u16) -> bool {
    value
        .split([',', '\n', ' '])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .any(|part| {
            if let Some((lo, hi)) = part.split_once(':') {
                let lo = service_port(lo).unwrap_or(0);
                let hi = service_port(hi).unwrap_or(65535);
                (lo..=hi).contains(&port)
            } else {
                service_port(part) == Some(port)
            }
        })
}

/// Numeric parts of a port value outside 1-65535 (`0`, `70000`, `22:99999`).
pub fn invalid_ports(value: &str) -> Vec<String> {
    value
        .split([',', '\n', ' ', ':'])
        .map(str::trim)
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        .filter(|p| !matches!(p.parse::<u32>(), Ok(1..=65535)))
        .filter(|p| *p != "0" || !value.contains(':'))
        .map(str::to_string)
        .collect()
}

fn service_port(name: &str) -> Option<u16> {
    match name.trim() {
        "ssh" => Some(22),
        "http" => Some(80),
        "https" => Some(443),
        other => other.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail2ban_times() {
        assert_eq!(fail2ban_seconds("600"), Some(600.0));
        assert_eq!(fail2ban_seconds("10m"), Some(600.0));
        assert_eq!(fail2ban_seconds("1h 30m"), Some(5400.0));
        assert_eq!(fail2ban_seconds("1d12h"), Some(129_600.0));
        assert_eq!(fail2ban_seconds("1.5h"), Some(5400.0));
        assert_eq!(fail2ban_seconds("-1"), Some(-1.0));
        assert_eq!(fail2ban_seconds("1x"), None);
        assert_eq!(fail2ban_seconds(""), None);
    }

    #[test]
    fn port_values() {
        assert!(port_covers("ssh", 22));
        assert!(!port_covers("ssh", 2222));
        assert!(port_covers("22,2222", 2222));
        assert!(port_covers("0:65535", 2222));
        assert!(port_covers("http,https", 443));
        assert_eq!(invalid_ports("22,70000"), ["70000"]);
        assert_eq!(invalid_ports("0"), ["0"]);
        assert!(invalid_ports("0:65535").is_empty());
        assert!(invalid_ports("ssh,2222").is_empty());
    }
}
