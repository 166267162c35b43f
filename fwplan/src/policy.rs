//! The policy: typed values parsed at the edge, from flags and from the JSON
//! policy file (docs/fwplan.md has the reference). Everything after this
//! module trusts the types: a port is 1-65535, a source is a CIDR, a comment
//! is safe to quote in nft, iptables and ufw.
//!
//! Every rejection names where the bad value came from: the flag and its
//! text (`--allow '70000/tcp'`), or the policy file and field
//! (`policy.json: rules[2].ports`), and says what would be accepted.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Deserialize;

/// Where a rule or value came from, for error messages and `origin` fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag: `--allow '80/tcp'`.
    Flag { flag: &'static str, text: String },
    /// A field of the policy file: `policy.json: rules[2]`.
    Policy { file: PathBuf, field: String },
    /// An input file line: a block list or sshd-lint stream, `FILE:LINE`.
    Line { file: String, line: u64 },
    /// Added by fwplan itself (the SSH port when nothing else admits it).
    Implicit(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag { flag, text } => write!(f, "{flag} '{text}'"),
            Origin::Policy { file, field } => write!(f, "{}: {field}", file.display()),
            Origin::Line { file, line } => write!(f, "{file}:{line}"),
            Origin::Implicit(why) => f.write_str(why),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{origin}: {message}")]
    Invalid { origin: Origin, message: String },
    #[error("--policy: {0}")]
    Read(#[from] hardkit_core::input::InputError),
    #[error("{}: not a valid policy file: {source} (see docs/fwplan.md for the fields)", .path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("empty policy: {0}")]
    Empty(String),
}

fn invalid(origin: &Origin, message: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        origin: origin.clone(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// An inclusive port range; a single port has `start == end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange {
    pub start: u16,
    pub end: u16,
}

impl PortRange {
    pub fn single(port: u16) -> Self {
        PortRange {
            start: port,
            end: port,
        }
    }

    pub fn contains(&self, port: u16) -> bool {
        self.start <= port && port <= self.end
    }

    pub fn overlaps(&self, other: &PortRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    /// `80` or `8000-8100` (nft's spelling; other backends convert).
    pub fn nft(&self) -> String {
        if self.start == self.end {
            self.start.to_string()
        } else {
            format!("{}-{}", self.start, self.end)
        }
    }
}

/// What a rule does with matching new connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleAction {
    Allow,
    /// Allow, but drop a source's new connections above the rate limit.
    Limit,
    Deny,
}

impl RuleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleAction::Allow => "allow",
            RuleAction::Limit => "limit",
            RuleAction::Deny => "deny",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultIn {
    Deny,
    Reject,
    Allow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultOut {
    Allow,
    Deny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultForward {
    Deny,
    Allow,
}

/// How echo requests (ping) are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Echo {
    /// Accepted up to 10 per second, the rest dropped.
    Limit,
    Allow,
    Deny,
}

/// A comment carried into the rendered rules. Restricted to characters that
/// need no escaping in nft strings, iptables-restore and a quoted shell word.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Comment(String);

impl Comment {
    pub fn parse(text: &str, origin: &Origin) -> Result<Comment, PolicyError> {
        if text.is_empty() || text.len() > 64 {
            return Err(invalid(origin, "comment must be 1 to 64 characters"));
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || " _.:,/+=-".contains(*c)))
        {
            return Err(invalid(
                origin,
                format!("comment contains {bad:?}; use letters, digits, space and _ . : , / + = -"),
            ));
        }
        Ok(Comment(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One rule as the user wrote it, with protocols and sources typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub action: RuleAction,
    pub ports: Vec<PortRange>,
    /// Empty in the text means both tcp and udp, as in ufw.
    pub protos: Vec<Proto>,
    /// Empty means from anywhere.
    pub sources: Vec<IpNet>,
    pub comment: Option<Comment>,
    pub origin: Origin,
}

/// A per-source rate: at most `count` new connections per `unit`, with a
/// burst of `count` (so a quiet source gets `count` at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub unit: RateUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    Second,
    Minute,
    Hour,
}

impl RateUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            RateUnit::Second => "second",
            RateUnit::Minute => "minute",
            RateUnit::Hour => "hour",
        }
    }

    pub fn seconds(self) -> u64 {
        match self {
            RateUnit::Second => 1,
            RateUnit::Minute => 60,
            RateUnit::Hour => 3600,
        }
    }
}

impl Default for Rate {
    /// ufw's `limit`: 6 new connections, here per minute per source.
    fn default() -> Self {
        Rate {
            count: 6,
            unit: RateUnit::Minute,
        }
    }
}

impl Rate {
    pub fn parse(text: &str, origin: &Origin) -> Result<Rate, PolicyError> {
        let bad = || {
            invalid(
                origin,
                format!(
                    "rate '{text}' is not COUNT/UNIT, e.g. 6/minute (units: second, minute, hour)"
                ),
            )
        };
        let (count, unit) = text.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 || count > 10_000 {
            return Err(invalid(
                origin,
                format!("rate count {count} must be 1 to 10000"),
            ));
        }
        let unit = match unit.trim() {
            "s" | "second" | "sec" => RateUnit::Second,
            "m" | "minute" | "min" => RateUnit::Minute,
            "h" | "hour" => RateUnit::Hour,
            _ => return Err(bad()),
        };
        Ok(Rate { count, unit })
    }
}

/// An address range to drop, from `--block-from` or the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEntry {
    pub net: IpNet,
    pub origin: Origin,
}

/// An SSH port that must stay reachable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshPort {
    pub port: u16,
    pub origin: Origin,
}

/// The whole policy, flags and file merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub default_in: DefaultIn,
    pub default_out: DefaultOut,
    pub default_forward: DefaultForward,
    pub rules: Vec<RuleSpec>,
    pub block: Vec<BlockEntry>,
    pub ssh_ports: Vec<SshPort>,
    pub limit_rate: Rate,
    pub echo: Echo,
    /// Accept the ICMP/ICMPv6 types a host needs (neighbour discovery,
    /// packet-too-big, unreachable, time-exceeded, parameter-problem).
    /// Turning this off breaks IPv6 and path-MTU discovery; it exists so
    /// the packet tests can show that.
    pub essential_icmp: bool,
    pub log_drops: bool,
    /// Set when the user said anything explicit (a default, a rule, a block).
    pub explicit: bool,
    /// Block-list entries that were not addresses, with their file:line.
    pub skipped: Vec<String>,
    /// Per-account outbound rules (`--egress`).
    pub egress: Vec<crate::egress::EgressSpec>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            default_in: DefaultIn::Deny,
            default_out: DefaultOut::Allow,
            default_forward: DefaultForward::Deny,
            rules: Vec::new(),
            block: Vec::new(),
            ssh_ports: Vec::new(),
            limit_rate: Rate::default(),
            echo: Echo::Limit,
            essential_icmp: true,
            log_drops: true,
            explicit: false,
            skipped: Vec::new(),
            egress: Vec::new(),
        }
    }
}

/// A port number 1-65535.
pub fn parse_port(text: &str, origin: &Origin) -> Result<u16, PolicyError> {
    let text = text.trim();
    // (u64's parser takes a leading `+`; a port is digits only)
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let value: u64 = text.parse().ok().filter(|_| digits).ok_or_else(|| {
        invalid(
            origin,
            format!("'{text}' is not a port number (1-65535; ranges as 8000-8100)"),
        )
    })?;
    match value {
        0 => Err(invalid(origin, "port 0 is not a port (1-65535)")),
        1..=65535 => Ok(value as u16),
        _ => Err(invalid(
            origin,
            format!("port {value} is above 65535 (ports are 1-65535)"),
        )),
    }
}

/// `80`, `80,443`, `8000-8100`, `8000:8100` (ufw's spelling).
pub fn parse_ports(text: &str, origin: &Origin) -> Result<Vec<PortRange>, PolicyError> {
    let mut out = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return Err(invalid(
                origin,
                "empty port in the list (write 80,443 or 8000-8100)",
            ));
        }
        let range = match part.split_once(['-', ':']) {
            Some((a, b)) => {
                let (start, end) = (parse_port(a, origin)?, parse_port(b, origin)?);
                if start > end {
                    return Err(invalid(
                        origin,
                        format!("port range {part} runs backwards (write {end}-{start})"),
                    ));
                }
                PortRange { start, end }
            }
            None => PortRange::single(parse_port(part, origin)?),
        };
        out.push(range);
    }
    Ok(out)
}

pub fn parse_protos(text: &str, origin: &Origin) -> Result<Vec<Proto>, PolicyError> {
    match text.trim() {
        "tcp" => Ok(vec![Proto::Tcp]),
        "udp" => Ok(vec![Proto::Udp]),
        "" | "any" | "tcp+udp" => Ok(vec![Proto::Tcp, Proto::Udp]),
        other => Err(invalid(
            origin,
            format!("protocol '{other}' is not tcp, udp or any"),
        )),
    }
}

/// An address or CIDR. Host bits set under the prefix (`10.0.0.1/8`) are
/// refused: they usually mean a typo, and nft would silently widen them.
pub fn parse_source(text: &str, origin: &Origin) -> Result<IpNet, PolicyError> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<IpAddr>() {
        return Ok(IpNet::from(addr));
    }
    let net: IpNet = text.parse().map_err(|_| {
        invalid(
            origin,
            format!("'{text}' is not an IPv4/IPv6 address or CIDR (e.g. 10.0.0.0/8, fd00::/8)"),
        )
    })?;
    if net.trunc() != net {
        return Err(invalid(
            origin,
            format!(
                "'{text}' has host bits set under its prefix; did you mean {}?",
                net.trunc()
            ),
        ));
    }
    Ok(net)
}

fn parse_sources(text: &str, origin: &Origin) -> Result<Vec<IpNet>, PolicyError> {
    if text.trim() == "any" {
        return Ok(Vec::new());
    }
    text.split(',').map(|s| parse_source(s, origin)).collect()
}

/// `PORTS[/PROTO][@SOURCES][#COMMENT]`, the value of --allow/--deny/--limit.
pub fn parse_rule_text(
    action: RuleAction,
    flag: &'static str,
    text: &str,
) -> Result<RuleSpec, PolicyError> {
    let origin = Origin::Flag {
        flag,
        text: text.to_string(),
    };
    let (body, comment) = match text.split_once('#') {
        Some((body, comment)) => (body, Some(Comment::parse(comment, &origin)?)),
        None => (text, None),
    };
    let (ports_proto, sources) = match body.split_once('@') {
        Some((pp, src)) => (pp, parse_sources(src, &origin)?),
        None => (body, Vec::new()),
    };
    let (ports, protos) = match ports_proto.split_once('/') {
        Some((ports, proto)) => (ports, parse_protos(proto, &origin)?),
        None => (ports_proto, vec![Proto::Tcp, Proto::Udp]),
    };
    if ports.trim().is_empty() {
        return Err(invalid(
            &origin,
            "no port given (write PORTS/PROTO[@SOURCES][#COMMENT], e.g. 80,443/tcp)",
        ));
    }
    let ports = parse_ports(ports, &origin)?;
    Ok(RuleSpec {
        action,
        ports,
        protos,
        sources,
        comment,
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(text: &str) -> Result<RuleSpec, PolicyError> {
        parse_rule_text(RuleAction::Allow, "--allow", text)
    }

    #[test]
    fn a_port_is_digits_only() {
        for bad in ["+80", "-80", "8 0", "0x50", ""] {
            let err = allow(&format!("{bad}/tcp")).unwrap_err().to_string();
            assert!(err.contains("--allow"), "{bad}: {err}");
        }
        assert_eq!(allow("080/tcp").unwrap().ports, vec![PortRange::single(80)]);
    }

    #[test]
    fn issue_examples_parse() {
        let r = allow("2222/tcp#ssh").unwrap();
        assert_eq!(r.ports, vec![PortRange::single(2222)]);
        assert_eq!(r.protos, vec![Proto::Tcp]);
        assert_eq!(r.comment.unwrap().as_str(), "ssh");
        let r = allow("80,443/tcp").unwrap();
        assert_eq!(r.ports.len(), 2);
        let r = allow("8000/tcp@10.0.0.0/8,fd00::/8#ai-api").unwrap();
        assert_eq!(r.sources.len(), 2);
        assert!(r.sources[1].addr().is_ipv6());
        let r = allow("60000-61000/udp").unwrap();
        assert_eq!(
            r.ports[0],
            PortRange {
                start: 60000,
                end: 61000
            }
        );
        let r = allow("53").unwrap();
        assert_eq!(r.protos, vec![Proto::Tcp, Proto::Udp]);
    }

    #[test]
    fn rejections_name_the_flag_and_what_is_accepted() {
        let e = allow("70000/tcp").unwrap_err().to_string();
        assert!(
            e.contains("--allow '70000/tcp'") && e.contains("above 65535"),
            "{e}"
        );
        let e = allow("80/tcp@10.0.0.300/8").unwrap_err().to_string();
        assert!(e.contains("not an IPv4/IPv6 address or CIDR"), "{e}");
        let e = allow("80/tcp@10.0.0.1/8").unwrap_err().to_string();
        assert!(e.contains("did you mean 10.0.0.0/8"), "{e}");
        let e = allow("80/icmp").unwrap_err().to_string();
        assert!(e.contains("'icmp' is not tcp, udp or any"), "{e}");
        let e = allow("90-80/tcp").unwrap_err().to_string();
        assert!(e.contains("runs backwards"), "{e}");
        let e = allow("/tcp").unwrap_err().to_string();
        assert!(e.contains("no port given"), "{e}");
        let e = allow("0/tcp").unwrap_err().to_string();
        assert!(e.contains("port 0"), "{e}");
        let e = allow("80/tcp#bad\"quote").unwrap_err().to_string();
        assert!(e.contains("comment contains"), "{e}");
        let e = allow("80,,81/tcp").unwrap_err().to_string();
        assert!(e.contains("empty port"), "{e}");
    }

    #[test]
    fn rates_parse_and_reject() {
        let o = Origin::Implicit("test");
        assert_eq!(
            Rate::parse("10/second", &o).unwrap(),
            Rate {
                count: 10,
                unit: RateUnit::Second
            }
        );
        assert!(Rate::parse("0/minute", &o).is_err());
        assert!(Rate::parse("6/fortnight", &o).is_err());
        assert!(Rate::parse("six", &o).is_err());
    }
}
