//! Per-account outbound rules: `--egress USER:PORTS[/PROTO]@DESTS` lets the
//! account USER connect to DESTS on PORTS and nowhere else (other accounts
//! are unaffected). The unit of a service can confine its addresses
//! (svcacct's `--egress`: IPAddressAllow=), but systemd's IP filter knows no
//! ports; the firewall's output hook matches the socket's owner (`meta
//! skuid`, iptables' `-m owner --uid-owner`) and the port.
//!
//! For an account with rules, in the output chain, after loopback and
//! established traffic (replies to connections the service accepted): an
//! accept per rule, then a reject of everything else the account sends
//! (TCP with a reset, the rest with ICMP administratively prohibited), so
//! the service fails at once instead of waiting for a timeout. The
//! account's uid is written, never its name: nft would look a name up in the
//! passwd of the machine that loads the file, and a tree's accounts are its
//! own (`--root`).

use std::fmt::Write as _;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::policy::{self, Origin, PolicyError, PortRange, Proto};

/// One `--egress` rule as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressSpec {
    /// The account as written: a name or a uid.
    pub user: String,
    /// Resolved against the target's /etc/passwd (or the number itself).
    pub uid: Option<u32>,
    /// Empty: every port.
    pub ports: Vec<PortRange>,
    pub protos: Vec<Proto>,
    pub dests: Vec<IpNet>,
    pub origin: Origin,
}

fn invalid(origin: &Origin, message: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        origin: origin.clone(),
        message: message.into(),
    }
}

/// `USER:PORTS[/PROTO]@DESTS`, e.g. `agent:443/tcp@203.0.113.0/24` or
/// `agent:any@10.0.0.0/8,fd00::/8`.
pub fn parse_egress_text(text: &str) -> Result<EgressSpec, PolicyError> {
    let origin = Origin::Flag {
        flag: "--egress",
        text: text.to_string(),
    };
    let shape =
        "write USER:PORTS[/PROTO]@DESTS, e.g. agent:443/tcp@203.0.113.0/24 or agent:any@10.0.0.0/8";
    let (user, rest) = text
        .split_once(':')
        .ok_or_else(|| invalid(&origin, format!("no account ({shape})")))?;
    let valid_user = !user.is_empty()
        && user.len() <= 32
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !user.starts_with('-');
    if !valid_user {
        return Err(invalid(
            &origin,
            format!("'{user}' is not an account name or uid ({shape})"),
        ));
    }
    let (ports_proto, dests) = rest
        .split_once('@')
        .ok_or_else(|| invalid(&origin, format!("no destination ({shape})")))?;
    let dests: Vec<IpNet> = dests
        .split(',')
        .map(|d| policy::parse_source(d.trim(), &origin))
        .collect::<Result<_, _>>()?;
    if dests.is_empty() {
        return Err(invalid(&origin, format!("no destination ({shape})")));
    }
    let (ports, protos) = match ports_proto.split_once('/') {
        Some((ports, proto)) => (ports, policy::parse_protos(proto, &origin)?),
        None => (ports_proto, vec![Proto::Tcp, Proto::Udp]),
    };
    let ports = if ports.trim() == "any" {
        Vec::new()
    } else {
        policy::parse_ports(ports, &origin)?
    };
    let uid = user.parse::<u32>().ok();
    Ok(EgressSpec {
        user: user.to_string(),
        uid,
        ports,
        protos,
        dests,
        origin,
    })
}

/// Resolve the accounts of `specs` by the passwd text of the target.
pub fn resolve_users(specs: &mut [EgressSpec], passwd: &str) -> Result<(), PolicyError> {
    for spec in specs.iter_mut().filter(|s| s.uid.is_none()) {
        let uid = hardkit_core::accounts::parse_passwd(passwd)
            .iter()
            .find(|p| p.name == spec.user)
            .map(|p| p.uid);
        spec.uid = Some(uid.ok_or_else(|| {
            invalid(
                &spec.origin,
                format!(
                    "no account '{}' in the target's /etc/passwd (create it first: svcacct apply {} ...), or give its uid",
                    spec.user, spec.user
                ),
            )
        })?);
    }
    Ok(())
}

/// An account's outbound rules, planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEgress {
    pub uid: u32,
    pub user: String,
    /// (proto, ports, dests) per rule; empty ports: every port.
    pub rules: Vec<(Vec<Proto>, Vec<PortRange>, Vec<IpNet>)>,
}

/// Group the rules by account, in the order accounts first appear.
pub fn plan(specs: &[EgressSpec]) -> Result<Vec<PlannedEgress>, PolicyError> {
    let mut out: Vec<PlannedEgress> = Vec::new();
    for s in specs {
        let uid = s.uid.ok_or_else(|| {
            invalid(
                &s.origin,
                format!("the account '{}' was not resolved", s.user),
            )
        })?;
        let rule = (s.protos.clone(), s.ports.clone(), s.dests.clone());
        match out.iter_mut().find(|p| p.uid == uid) {
            Some(p) => p.rules.push(rule),
            None => out.push(PlannedEgress {
                uid,
                user: s.user.clone(),
                rules: vec![rule],
            }),
        }
    }
    Ok(out)
}

/// Does the plan let `uid` open a connection to `dst` `port`/`proto`?
/// None: the account has no rules (the output policy decides).
pub fn admits(
    egress: &[PlannedEgress],
    uid: u32,
    dst: IpAddr,
    proto: Proto,
    port: u16,
) -> Option<bool> {
    let account = egress.iter().find(|e| e.uid == uid)?;
    Some(account.rules.iter().any(|(protos, ports, dests)| {
        protos.contains(&proto)
            && (ports.is_empty() || ports.iter().any(|r| r.contains(port)))
            && dests.iter().any(|d| d.contains(&dst))
    }))
}

fn ports_nft(ports: &[PortRange]) -> String {
    let list: Vec<String> = ports.iter().map(|r| r.nft()).collect();
    if list.len() == 1 {
        list[0].clone()
    } else {
        format!("{{ {} }}", list.join(", "))
    }
}

fn dests_nft(dests: &[IpNet], v4: bool) -> Option<String> {
    let list: Vec<String> = dests
        .iter()
        .filter(|d| matches!(d, IpNet::V4(_)) == v4)
        .map(ToString::to_string)
        .collect();
    match list.len() {
        0 => None,
        1 => Some(list[0].clone()),
        _ => Some(format!("{{ {} }}", list.join(", "))),
    }
}

/// The output chain's lines for the accounts with rules (nft).
pub fn nft_lines(egress: &[PlannedEgress]) -> String {
    let mut out = String::new();
    for e in egress {
        let who = format!("meta skuid {}", e.uid);
        let note = format!(" comment \"egress {}\"", e.user);
        for (protos, ports, dests) in &e.rules {
            for (v4, key) in [(true, "ip daddr"), (false, "ip6 daddr")] {
                let Some(set) = dests_nft(dests, v4) else {
                    continue;
                };
                for proto in protos {
                    let port = if ports.is_empty() {
                        format!("meta l4proto {}", proto.as_str())
                    } else {
                        format!("{} dport {}", proto.as_str(), ports_nft(ports))
                    };
                    let _ = writeln!(out, "\t\t{who} {key} {set} {port} accept{note}");
                }
            }
        }
        let _ = writeln!(out, "\t\t{who} meta l4proto tcp counter reject with tcp reset comment \"egress {}: nothing else\"", e.user);
        let _ = writeln!(out, "\t\t{who} counter reject with icmpx type admin-prohibited comment \"egress {}: nothing else\"", e.user);
    }
    out
}

/// The OUTPUT rules for the accounts with rules (iptables-restore), for
/// one family.
pub fn iptables_lines(egress: &[PlannedEgress], v4: bool) -> String {
    let mut out = String::new();
    for e in egress {
        let who = format!("-m owner --uid-owner {}", e.uid);
        for (protos, ports, dests) in &e.rules {
            for d in dests.iter().filter(|d| matches!(d, IpNet::V4(_)) == v4) {
                for proto in protos {
                    let p = proto.as_str();
                    if ports.is_empty() {
                        let _ = writeln!(out, "-A OUTPUT {who} -d {d} -p {p} -j ACCEPT");
                        continue;
                    }
                    // multiport takes 15 ports; one rule per port or range
                    // keeps it simple and within that.
                    for r in ports {
                        let range = if r.start == r.end {
                            r.start.to_string()
                        } else {
                            format!("{}:{}", r.start, r.end)
                        };
                        let _ = writeln!(
                            out,
                            "-A OUTPUT {who} -d {d} -p {p} --dport {range} -j ACCEPT"
                        );
                    }
                }
            }
        }
        let _ = writeln!(
            out,
            "-A OUTPUT {who} -p tcp -j REJECT --reject-with tcp-reset"
        );
        let icmp = if v4 {
            "icmp-admin-prohibited"
        } else {
            "icmp6-adm-prohibited"
        };
        let _ = writeln!(out, "-A OUTPUT {who} -j REJECT --reject-with {icmp}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_with_the_flag() {
        let e = parse_egress_text("agent:443/tcp@203.0.113.0/24").unwrap();
        assert_eq!(
            (e.user.as_str(), e.uid, e.protos.len(), e.dests.len()),
            ("agent", None, 1, 1)
        );
        let e = parse_egress_text("4242:any@10.0.0.0/8,fd00::/8").unwrap();
        assert_eq!((e.uid, e.ports.len(), e.dests.len()), (Some(4242), 0, 2));
        for bad in [
            "agent",
            "agent:443",
            ":443@10.0.0.0/8",
            "a b:443@1.2.3.4",
            "agent:443@",
            "agent:99999@1.2.3.4",
            "agent:443@10.0.0.1/8",
        ] {
            let err = parse_egress_text(bad).unwrap_err().to_string();
            assert!(err.starts_with("--egress '"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_policy_file_takes_the_same_rules() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("policy.json");
        std::fs::write(&file, r#"{"egress": ["4242:443/tcp@203.0.113.0/24"]}"#).unwrap();
        let mut p = crate::policy::Policy::default();
        crate::policy_file::load_policy_file(&file, &mut p).unwrap();
        assert_eq!((p.egress.len(), p.egress[0].uid), (1, Some(4242)));
        std::fs::write(&file, r#"{"egress": ["4242:443/tcp"]}"#).unwrap();
        let err = crate::policy_file::load_policy_file(&file, &mut p)
            .unwrap_err()
            .to_string();
        assert!(err.contains("egress[0]"), "{err}");
    }

    #[test]
    fn names_resolve_by_the_targets_passwd() {
        let mut specs = vec![parse_egress_text("agent:443/tcp@203.0.113.0/24").unwrap()];
        resolve_users(
            &mut specs,
            "root:x:0:0::/root:/bin/sh\nagent:x:998:998::/var/lib/agent:/usr/sbin/nologin\n",
        )
        .unwrap();
        assert_eq!(specs[0].uid, Some(998));
        let mut missing = vec![parse_egress_text("ghost:443/tcp@203.0.113.0/24").unwrap()];
        assert!(resolve_users(&mut missing, "root:x:0:0::/root:/bin/sh\n").is_err());
    }

    #[test]
    fn the_model_says_what_each_account_may_reach() {
        let specs = vec![
            parse_egress_text("4242:443/tcp@192.0.2.1/32").unwrap(),
            parse_egress_text("4242:53/udp@192.0.2.0/24").unwrap(),
        ];
        let plan = plan(&specs).unwrap();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(admits(&plan, 4242, a, Proto::Tcp, 443), Some(true));
        assert_eq!(admits(&plan, 4242, a, Proto::Tcp, 80), Some(false));
        assert_eq!(admits(&plan, 4242, a, Proto::Udp, 53), Some(true));
        assert_eq!(admits(&plan, 4343, a, Proto::Tcp, 80), None);
        let nft = nft_lines(&plan);
        assert!(
            nft.contains("meta skuid 4242 ip daddr 192.0.2.1/32 tcp dport 443 accept"),
            "{nft}"
        );
        assert!(
            nft.contains("meta skuid 4242 counter reject with icmpx type admin-prohibited"),
            "{nft}"
        );
    }
}
