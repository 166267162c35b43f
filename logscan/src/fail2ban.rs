//! fail2ban's own log: `Ban`, `Unban` and `Found` lines, in its file format
//! (`2006-02-13 15:52:30,388 fail2ban.actions [123]: NOTICE [jail] Ban H`), via
//! syslog, or from the journal (`fail2ban[1]: [jail] Ban H`). A ban in any
//! jail but `recidive` is a failure, as fail2ban's recidive filter counts it.

use crate::address::host;
use crate::classify::{Classified, Rule, ALL_MODES};
use crate::event::Kind;
use crate::text::{token, trim_end, trim_start};

pub fn classify(m: &[u8]) -> Option<Classified<'_>> {
    let mut r = trim_start(m);
    if r.starts_with(b"fail2ban.") {
        let (module, rest) = token(r);
        let module = module.strip_suffix(b":").unwrap_or(module);
        let rest = trim_start(rest);
        let rest = if module.ends_with(b"]") {
            rest
        } else if let Some(x) = rest.strip_prefix(b"[") {
            let close = crate::text::byte(b']', x)?;
            x[close + 1..].strip_prefix(b":")?
        } else {
            rest
        };
        r = trim_start(rest);
    }
    for level in [&b"NOTICE"[..], b"INFO", b"WARNING", b"ERROR", b"DEBUG"] {
        if let Some(x) = r.strip_prefix(level) {
            if x.starts_with(b" ") {
                r = trim_start(x);
                break;
            }
        }
    }
    let inner = r.strip_prefix(b"[")?;
    let close = crate::text::byte(b']', inner)?;
    let jail = &inner[..close];
    let rest = trim_start(&inner[close + 1..]);
    let (kind, rest) = if let Some(x) = rest.strip_prefix(b"Ban ") {
        (Kind::F2bBan, x)
    } else if let Some(x) = rest.strip_prefix(b"Restore Ban ") {
        (Kind::F2bBan, x)
    } else if let Some(x) = rest.strip_prefix(b"Unban ") {
        (Kind::F2bUnban, x)
    } else if let Some(x) = rest.strip_prefix(b"Found ") {
        (Kind::F2bFound, x)
    } else {
        return None;
    };
    let (tok, after) = token(trim_start(rest));
    let ip = host(tok)?;
    if kind != Kind::F2bFound && !trim_end(after).is_empty() {
        return None;
    }
    let rule = if kind == Kind::F2bBan && jail != b"recidive" {
        Rule::fail(ALL_MODES)
    } else {
        Rule::NONE
    };
    Some(Classified::new(kind, rule).ip(Some(ip)).detail(Some(jail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ban_lines_in_every_form() {
        for m in [
            "fail2ban.actions: NOTICE [sendmail] Ban 1.2.3.4",
            "fail2ban.actions[123]: NOTICE [sendmail] Ban 1.2.3.4",
            "fail2ban.actions        [123]: NOTICE  [sendmail] Ban 1.2.3.4",
            "NOTICE [jail] Ban 1.2.3.4",
            "[postfix-sasl] Ban 1.2.3.4",
        ] {
            let x = classify(m.as_bytes()).unwrap_or_else(|| panic!("{m}"));
            assert_eq!((x.kind, x.ip), (Kind::F2bBan, Some(&b"1.2.3.4"[..])), "{m}");
            assert_eq!(x.rule.matched, ALL_MODES);
        }
        let x = classify(b"fail2ban.actions: NOTICE [recidive] Ban 1.2.3.4").unwrap();
        assert_eq!(x.rule.matched, 0);
        let x = classify(b"fail2ban.actions: NOTICE [sendmail] Unban 1.2.3.4").unwrap();
        assert_eq!(x.kind, Kind::F2bUnban);
        let x =
            classify(b"fail2ban.filter  [9]: INFO    [sshd] Found 192.0.2.1 - 2024-01-01 10:00:00")
                .unwrap();
        assert_eq!(x.kind, Kind::F2bFound);
    }
}
