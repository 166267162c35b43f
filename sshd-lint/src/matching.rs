//! `Match` evaluation: OpenSSH's pattern language (`*`, `?`, `!negation`,
//! comma lists), address lists with CIDR, and the connection context given
//! with `--context` (the `-C` of `sshd -T`).

use std::net::IpAddr;

/// `match_pattern`: `*` and `?` wildcards over the whole string.
pub fn match_pattern(s: &str, pattern: &str) -> bool {
    let s: Vec<char> = s.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    // Iterative glob with backtracking on the last '*'.
    let (mut si, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) && p[pi] != '*' {
            si += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// `match_pattern_list`: 1 if some positive sub-pattern matches and no
/// negated one does, -1 if a negated one matches, 0 otherwise. With
/// `lower`, the patterns are lowercased (host names).
pub fn match_pattern_list(s: &str, list: &str, lower: bool) -> i32 {
    let mut positive = 0;
    for raw in list.split(',') {
        let (negated, sub) = match raw.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let sub = if lower {
            sub.to_ascii_lowercase()
        } else {
            sub.to_string()
        };
        // sshd gives up on sub-patterns of 1023 bytes or more.
        if sub.len() >= 1023 {
            return 0;
        }
        if match_pattern(s, &sub) {
            if negated {
                return -1;
            }
            positive = 1;
        }
    }
    positive
}

/// An address and prefix length, as `addr_pton_cidr` accepts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub len: u8,
}

/// Result of parsing one address-list entry as CIDR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CidrParse {
    Ok(Cidr),
    /// Not an address at all: fall back to a wildcard match.
    NotAddress,
    /// An address with an impossible mask or host bits set: sshd rejects the
    /// whole list ("inconsistent mask length").
    Invalid,
}

/// A numeric address as getaddrinfo(AI_NUMERICHOST) reads it: IPv6, or
/// IPv4 in inet_aton's forms (`10.1`, `012.0.0.1` octal, `0x0a.0.0.1`).
pub fn parse_inet(text: &str) -> Option<IpAddr> {
    if text.contains(':') {
        return text.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
    }
    let parts: Vec<&str> = text.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(parts.len());
    for p in &parts {
        let n = if let Some(hex) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            if hex.is_empty() {
                0
            } else {
                u64::from_str_radix(hex, 16).ok()?
            }
        } else if p.len() > 1 && p.starts_with('0') {
            u64::from_str_radix(&p[1..], 8).ok()?
        } else {
            if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            p.parse::<u64>().ok()?
        };
        nums.push(n);
    }
    let (head, last) = nums.split_at(nums.len() - 1);
    if head.iter().any(|&n| n > 255) {
        return None;
    }
    let last_bits = 8 * (4 - head.len() as u32);
    if last[0] >= 1u64 << last_bits {
        return None;
    }
    let mut v: u64 = 0;
    for (i, &n) in head.iter().enumerate() {
        v |= n << (24 - 8 * i as u32);
    }
    v |= last[0];
    Some(IpAddr::V4(std::net::Ipv4Addr::from(v as u32)))
}

fn bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn width(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

pub fn parse_cidr(text: &str) -> CidrParse {
    if text.len() >= 64 {
        return CidrParse::NotAddress;
    }
    let (addr_text, len) = match text.split_once('/') {
        Some((a, m)) => {
            if !m.starts_with(|c: char| c.is_ascii_digit())
                || !m.chars().all(|c| c.is_ascii_digit())
            {
                return CidrParse::NotAddress;
            }
            match m.parse::<u32>() {
                Ok(n) if n <= 128 => (a, Some(n as u8)),
                _ => return CidrParse::NotAddress,
            }
        }
        None => (text, None),
    };
    let Some(addr) = parse_inet(addr_text) else {
        return CidrParse::NotAddress;
    };
    let len = len.unwrap_or(width(addr));
    if len > width(addr) {
        return CidrParse::Invalid;
    }
    let host_bits = width(addr) - len;
    let mask = if host_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    if bits(addr) & mask != 0 {
        return CidrParse::Invalid;
    }
    CidrParse::Ok(Cidr { addr, len })
}

fn in_cidr(addr: IpAddr, net: Cidr) -> bool {
    if addr.is_ipv4() != net.addr.is_ipv4() {
        return false;
    }
    let host_bits = width(addr) - net.len;
    if host_bits >= width(addr) {
        return true;
    }
    (bits(addr) >> host_bits) == (bits(net.addr) >> host_bits)
}

/// `addr_match_list`: 1 matched, 0 no match, -1 a negated entry matched,
/// -2 the list is invalid. `addr` None only checks the list.
pub fn addr_match_list(addr: Option<&str>, list: &str) -> i32 {
    let parsed = match addr {
        Some(a) => match parse_inet(a) {
            Some(ip) => Some((a, ip)),
            None => return 0,
        },
        None => None,
    };
    let mut ret = 0;
    for raw in list.split(',') {
        let (negated, entry) = match raw.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        if entry.is_empty() {
            return -2;
        }
        let hit = match parse_cidr(entry) {
            CidrParse::Invalid => return -2,
            CidrParse::Ok(net) => parsed.is_some_and(|(_, ip)| in_cidr(ip, net)),
            CidrParse::NotAddress => parsed.is_some_and(|(text, _)| match_pattern(text, entry)),
        };
        if hit {
            if negated {
                return -1;
            }
            ret = 1;
        }
    }
    ret
}

/// The connection a `Match` is evaluated for (`sshd -T -C ...`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub user: Option<String>,
    pub host: Option<String>,
    pub addr: Option<String>,
    pub laddr: Option<String>,
    pub lport: Option<u16>,
    pub rdomain: Option<String>,
    /// `invalid-user` (OpenSSH 9.9 and later): the user is one sshd does
    /// not know. sshd -T does not look the user up; only this flag makes
    /// `Match Invalid-User` match.
    pub invalid_user: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    #[error(
        "invalid --context item '{0}' (expected user=, host=, addr=, laddr=, lport=, rdomain= or invalid-user)"
    )]
    Item(String),
    #[error("invalid port '{0}' in --context")]
    Port(String),
}

impl std::str::FromStr for Context {
    type Err = ContextError;

    /// `user=U,host=H,addr=A,laddr=L,lport=P,rdomain=R`, as `sshd -C`
    /// (which stops at the first empty item).
    fn from_str(spec: &str) -> Result<Context, ContextError> {
        let mut ctx = Context::default();
        for item in spec.split(',') {
            if item.is_empty() {
                break;
            }
            if item == "invalid-user" {
                ctx.invalid_user = true;
                continue;
            }
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| ContextError::Item(item.to_string()))?;
            let value = value.to_string();
            match key {
                "user" => ctx.user = Some(value),
                "host" => ctx.host = Some(value),
                "addr" => ctx.addr = Some(value),
                "laddr" => ctx.laddr = Some(value),
                "rdomain" => ctx.rdomain = Some(value),
                "lport" => match value.parse::<u16>() {
                    Ok(p) => ctx.lport = Some(p),
                    Err(_) => return Err(ContextError::Port(value)),
                },
                _ => return Err(ContextError::Item(item.to_string())),
            }
        }
        Ok(ctx)
    }
}

/// Account data for `Match Group` (read from the root's /etc/passwd and
/// /etc/group by the caller).
pub trait GroupLookup {
    /// The names of the user's groups (primary first), or None when the
    /// user does not exist.
    fn groups_of(&self, user: &str) -> Option<Vec<String>>;
}

/// Why a Match line is refused (sshd: "Bad Match condition" or fatal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    #[error("'all' cannot be combined with other Match attributes")]
    AllCombined,
    #[error("Missing Match criteria for {0}")]
    MissingCriteria(String),
    #[error("Unsupported Match attribute {0}")]
    Unsupported(String),
    #[error("One or more attributes required for Match")]
    Empty,
    #[error("Invalid Match {0} argument '{1}'")]
    InvalidAddress(&'static str, String),
    #[error("Invalid LocalPort '{0}' on Match line")]
    InvalidPort(String),
    #[error("'Match {0}' in configuration but '{1}' not in connection test specification.")]
    MissingInContext(&'static str, &'static str),
    #[error("invalid quotes in Match line")]
    Quotes,
}

impl MatchError {
    /// Errors sshd reports as "Bad Match condition" on the line, versus
    /// those it reports as they are.
    pub fn is_bad_condition(&self) -> bool {
        !matches!(
            self,
            MatchError::InvalidAddress(..) | MatchError::MissingInContext(..)
        )
    }
}

/// One criterion of a Match line, for reporting ("Match User alice").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criterion {
    pub attribute: String,
    pub value: Option<String>,
}

/// Parse the criteria of a Match line (`rest` is the text after `Match`).
/// `invalid-user` (no argument) exists from OpenSSH 9.9, `version` from 10.0.
pub fn parse_criteria(
    rest: &str,
    version: crate::version::Version,
) -> Result<Vec<Criterion>, MatchError> {
    parse_criteria_with(rest, version, None)
}

/// [`parse_criteria`] with the root's /etc/services, for `LocalPort ssh`
/// (stored as the number, so evaluation needs no lookup).
pub fn parse_criteria_with(
    rest: &str,
    version: crate::version::Version,
    services: Option<&str>,
) -> Result<Vec<Criterion>, MatchError> {
    let mut out = Vec::new();
    let mut cp = Some(rest.to_string());
    while let Some(cur) = cp.take() {
        let (word, next) = crate::lex::strdelim(&cur, true);
        let Some(attribute) = word else {
            return Err(MatchError::Quotes);
        };
        if attribute.is_empty() {
            break;
        }
        if attribute.starts_with('#') {
            break;
        }
        if attribute.eq_ignore_ascii_case("all") {
            let (arg, _) = match &next {
                Some(n) => crate::lex::strdelim(n, true),
                None => (None, None),
            };
            if !out.is_empty()
                || arg
                    .as_deref()
                    .is_some_and(|a| !a.is_empty() && !a.starts_with('#'))
            {
                return Err(MatchError::AllCombined);
            }
            out.push(Criterion {
                attribute,
                value: None,
            });
            return Ok(out);
        }
        if attribute.eq_ignore_ascii_case("invalid-user")
            && version >= crate::version::Version::new(9, 9)
        {
            out.push(Criterion {
                attribute,
                value: None,
            });
            cp = next;
            continue;
        }
        let (arg, after) = match &next {
            Some(n) => crate::lex::strdelim(n, true),
            None => (None, None),
        };
        let Some(arg) = arg.filter(|a| !a.is_empty() && !a.starts_with('#')) else {
            return Err(MatchError::MissingCriteria(attribute));
        };
        let known = [
            "user",
            "group",
            "host",
            "address",
            "localaddress",
            "localport",
            "rdomain",
        ];
        let version_criterion = attribute.eq_ignore_ascii_case("version")
            && version >= crate::version::Version::new(10, 0);
        if !version_criterion && !known.iter().any(|k| attribute.eq_ignore_ascii_case(k)) {
            return Err(MatchError::Unsupported(attribute));
        }
        let arg = if attribute.eq_ignore_ascii_case("localport") {
            match crate::values::a2port(&arg, services) {
                Some(p) => p.to_string(),
                None => return Err(MatchError::InvalidPort(arg)),
            }
        } else {
            arg
        };
        if attribute.eq_ignore_ascii_case("address") && addr_match_list(None, &arg) != 0 {
            return Err(MatchError::InvalidAddress("address", arg));
        }
        if attribute.eq_ignore_ascii_case("localaddress") && addr_match_list(None, &arg) != 0 {
            return Err(MatchError::InvalidAddress("localaddress", arg));
        }
        out.push(Criterion {
            attribute,
            value: Some(arg),
        });
        cp = after;
    }
    if out.is_empty() {
        return Err(MatchError::Empty);
    }
    Ok(out)
}

/// Evaluate parsed criteria. `ctx` None is sshd's first pass (only `all`
/// matches). With a context, a criterion whose field is missing does not
/// match, except LocalPort, which sshd 9.x refuses outright.
pub fn evaluate(
    criteria: &[Criterion],
    ctx: Option<&Context>,
    groups: &dyn GroupLookup,
    sshd_release: &str,
) -> Result<bool, MatchError> {
    let mut result = true;
    for c in criteria {
        let attr = c.attribute.to_ascii_lowercase();
        let arg = c.value.as_deref().unwrap_or("");
        if attr == "all" {
            return Ok(true);
        }
        // `Match Version` compares sshd's own version string, connection
        // or not.
        if attr == "version" {
            if match_pattern_list(sshd_release, arg, false) != 1 {
                result = false;
            }
            continue;
        }
        let Some(ctx) = ctx else {
            result = false;
            continue;
        };
        let hit = match attr.as_str() {
            // Only the test flag: `sshd -T -C user=ghost` does not look the
            // user up, and a real connection sets it before the Match pass.
            "invalid-user" => ctx.invalid_user,
            "user" => match &ctx.user {
                None => false,
                Some(u) => match_pattern_list(u, arg, false) == 1,
            },
            "group" => match &ctx.user {
                None => false,
                Some(u) => match groups.groups_of(u) {
                    None => false,
                    Some(gs) => {
                        let mut found = false;
                        let mut denied = false;
                        for g in &gs {
                            match match_pattern_list(g, arg, false) {
                                -1 => denied = true,
                                1 => found = true,
                                _ => {}
                            }
                        }
                        found && !denied
                    }
                },
            },
            "host" => match &ctx.host {
                None => false,
                Some(h) => match_pattern_list(&h.to_ascii_lowercase(), arg, true) == 1,
            },
            "address" => match &ctx.addr {
                None => false,
                Some(a) => addr_match_list(Some(a), arg) == 1,
            },
            "localaddress" => match &ctx.laddr {
                None => false,
                Some(a) => addr_match_list(Some(a), arg) == 1,
            },
            "localport" => match ctx.lport {
                None => return Err(MatchError::MissingInContext("LocalPort", "lport")),
                Some(p) => crate::values::a2port(arg, None) == Some(p),
            },
            "rdomain" => match &ctx.rdomain {
                None => false,
                Some(r) => match_pattern_list(r, arg, false) == 1,
            },
            _ => false,
        };
        if !hit {
            result = false;
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: crate::version::Version = crate::version::Version::new(9, 2);

    #[test]
    fn invalid_user_matches_only_with_the_flag_as_sshd_dash_capital_t_does() {
        let v99 = crate::version::Version::new(9, 9);
        assert!(parse_criteria("invalid-user", V).is_err());
        let c = parse_criteria("invalid-user Address 10.0.0.0/8", v99).unwrap();
        // A user missing from /etc/passwd is not "invalid" to sshd -T.
        let unknown: Context = "user=ghost,addr=10.0.0.1".parse().unwrap();
        let flagged: Context = "user=ghost,addr=10.0.0.1,invalid-user".parse().unwrap();
        let known_flagged: Context = "user=alice,addr=10.0.0.1,invalid-user".parse().unwrap();
        assert_eq!(
            evaluate(&c, Some(&unknown), &OnlyAlice, "OpenSSH_9.9"),
            Ok(false)
        );
        assert_eq!(
            evaluate(&c, Some(&flagged), &OnlyAlice, "OpenSSH_9.9"),
            Ok(true)
        );
        assert_eq!(
            evaluate(&c, Some(&known_flagged), &OnlyAlice, "OpenSSH_9.9"),
            Ok(true)
        );
    }

    #[test]
    fn match_version_compares_sshds_own_version_from_10_0() {
        let ten = crate::version::Version::new(10, 0);
        assert!(
            parse_criteria("Version OpenSSH_10.*", crate::version::Version::new(9, 9)).is_err()
        );
        let c = parse_criteria("Version OpenSSH_10.*", ten).unwrap();
        assert_eq!(evaluate(&c, None, &OnlyAlice, "OpenSSH_10.0p2"), Ok(true));
        assert_eq!(evaluate(&c, None, &OnlyAlice, "OpenSSH_11.0p1"), Ok(false));
    }

    struct OnlyAlice;
    impl GroupLookup for OnlyAlice {
        fn groups_of(&self, user: &str) -> Option<Vec<String>> {
            (user == "alice").then(|| vec!["alice".to_string()])
        }
    }

    struct NoGroups;
    impl GroupLookup for NoGroups {
        fn groups_of(&self, _: &str) -> Option<Vec<String>> {
            Some(vec!["staff".into(), "wheel".into()])
        }
    }

    #[test]
    fn patterns_and_negation() {
        assert!(match_pattern("alice", "a*e"));
        assert!(match_pattern("bob", "b?b"));
        assert!(!match_pattern("bob", "b?"));
        assert_eq!(match_pattern_list("alice", "bob,a*", false), 1);
        assert_eq!(match_pattern_list("alice", "*,!alice", false), -1);
        assert_eq!(match_pattern_list("carol", "!alice", false), 0);
    }

    #[test]
    fn numeric_addresses_follow_inet_aton() {
        assert_eq!(parse_inet("10.1"), "10.0.0.1".parse().ok());
        assert_eq!(parse_inet("012.0.0.1"), "10.0.0.1".parse().ok());
        assert_eq!(parse_inet("0x0b.0.0.1"), "11.0.0.1".parse().ok());
        assert_eq!(parse_inet("167772161"), "10.0.0.1".parse().ok());
        assert_eq!(parse_inet("256.0.0.1"), None);
        assert_eq!(parse_inet("1.2.3.4.5"), None);
        assert_eq!(parse_inet("host"), None);
        assert_eq!(parse_inet("08.0.0.1"), None);
    }

    #[test]
    fn address_lists_with_cidr() {
        assert_eq!(addr_match_list(Some("10.1.2.3"), "10.0.0.0/8"), 1);
        assert_eq!(
            addr_match_list(Some("10.1.2.3"), "10.0.0.0/8,!10.1.0.0/16"),
            -1
        );
        assert_eq!(addr_match_list(Some("192.168.1.5"), "192.168.1.*"), 1);
        assert_eq!(addr_match_list(Some("2001:db8::1"), "2001:db8::/32"), 1);
        assert_eq!(addr_match_list(None, "10.0.0.1/8"), -2);
        assert_eq!(addr_match_list(None, "10.0.0.0/33"), -2);
    }

    #[test]
    fn criteria_parse_and_evaluate() {
        let c = parse_criteria("User alice,bob Address 10.0.0.0/8 # note", V).unwrap();
        assert_eq!(c.len(), 2);
        let ctx: Context = "user=bob,addr=10.9.9.9".parse().unwrap();
        assert_eq!(evaluate(&c, Some(&ctx), &NoGroups, "OpenSSH_9.2"), Ok(true));
        assert_eq!(evaluate(&c, None, &NoGroups, "OpenSSH_9.2"), Ok(false));
        assert_eq!(
            parse_criteria("all user x", V),
            Err(MatchError::AllCombined)
        );
        assert_eq!(
            parse_criteria("Fish x", V),
            Err(MatchError::Unsupported("Fish".into()))
        );
        let g = parse_criteria("Group wheel,!nope", V).unwrap();
        assert_eq!(evaluate(&g, Some(&ctx), &NoGroups, "OpenSSH_9.2"), Ok(true));
        let lp = parse_criteria("LocalPort 22", V).unwrap();
        assert!(evaluate(&lp, Some(&ctx), &NoGroups, "OpenSSH_9.2").is_err());
    }
}
