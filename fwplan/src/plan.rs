//! The normalized plan every backend renders: one rule per protocol, ports
//! sorted and merged, sources split by address family, the block list
//! merged into as few networks as possible, and the SSH port admitted.
//!
//! Evaluation order, the same in every backend (first match wins):
//! loopback, block list, established/related, essential ICMP, deny rules,
//! limit rules, allow rules, then the default. Deny rules come before allows
//! so "deny 22 from X, allow 22" means what an administrator expects
//! whatever order the flags were given in; a rule that could never match
//! because of that order is refused as a contradiction.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use crate::policy::{
    BlockEntry, Comment, DefaultForward, DefaultIn, DefaultOut, Echo, Origin, Policy, PortRange,
    Proto, Rate, RuleAction, SshPort,
};

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("duplicate rule: {later} repeats {earlier} (same action, protocol, overlapping ports and sources); remove one")]
    Duplicate { earlier: String, later: String },
    #[error("contradictory rules: {deny} denies what {admit} admits (deny rules are checked first, so the {verb} could never match); narrow one of them")]
    Contradiction {
        deny: String,
        admit: String,
        verb: &'static str,
    },
    #[error("contradictory rules: {a} and {b} both admit the same port and sources, one rate-limited and one not; keep one")]
    LimitAndAllow { a: String, b: String },
    #[error("the policy would deny SSH: {rule} denies port {port}/tcp, where sshd listens ({ssh}); use --limit {port}/tcp or restrict the deny to some sources")]
    DeniesSsh {
        rule: String,
        port: u16,
        ssh: String,
    },
    #[error("empty policy: give --allow/--deny/--limit, --egress, --block-from, a --default-* flag or --policy FILE")]
    Empty,
    #[error(transparent)]
    Egress(crate::policy::PolicyError),
}

/// Sources of one rule, split by family. `None` means any address of that
/// family; an empty list means the rule does not apply to that family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    pub v4: Option<Vec<Ipv4Net>>,
    pub v6: Option<Vec<Ipv6Net>>,
}

impl Sources {
    fn from_nets(nets: &[IpNet]) -> Sources {
        if nets.is_empty() {
            return Sources { v4: None, v6: None };
        }
        let v4: Vec<Ipv4Net> = nets
            .iter()
            .filter_map(|n| match n {
                IpNet::V4(n) => Some(*n),
                IpNet::V6(_) => None,
            })
            .collect();
        let v6: Vec<Ipv6Net> = nets
            .iter()
            .filter_map(|n| match n {
                IpNet::V6(n) => Some(*n),
                IpNet::V4(_) => None,
            })
            .collect();
        Sources {
            v4: Some(Ipv4Net::aggregate(&v4)),
            v6: Some(Ipv6Net::aggregate(&v6)),
        }
    }

    pub fn is_any(&self) -> bool {
        self.v4.is_none() && self.v6.is_none()
    }

    pub fn applies_v4(&self) -> bool {
        self.v4.as_ref().is_none_or(|l| !l.is_empty())
    }

    pub fn applies_v6(&self) -> bool {
        self.v6.as_ref().is_none_or(|l| !l.is_empty())
    }

    pub fn matches(&self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(a) => self
                .v4
                .as_ref()
                .is_none_or(|l| l.iter().any(|n| n.contains(&a))),
            IpAddr::V6(a) => self
                .v6
                .as_ref()
                .is_none_or(|l| l.iter().any(|n| n.contains(&a))),
        }
    }

    /// All sources listed, for records and messages.
    pub fn nets(&self) -> Vec<IpNet> {
        let mut out: Vec<IpNet> = Vec::new();
        out.extend(self.v4.iter().flatten().map(|n| IpNet::V4(*n)));
        out.extend(self.v6.iter().flatten().map(|n| IpNet::V6(*n)));
        out
    }

    fn overlaps(&self, other: &Sources) -> bool {
        fn fam<N: Copy + PartialEq>(
            a: &Option<Vec<N>>,
            b: &Option<Vec<N>>,
            nest: impl Fn(&N, &N) -> bool,
        ) -> bool {
            match (a, b) {
                (None, None) => true,
                (None, Some(l)) | (Some(l), None) => !l.is_empty(),
                (Some(x), Some(y)) => x.iter().any(|p| y.iter().any(|q| nest(p, q) || nest(q, p))),
            }
        }
        fam(&self.v4, &other.v4, |a, b| a.contains(b))
            || fam(&self.v6, &other.v6, |a, b| a.contains(b))
    }

    /// Does `self` cover every address `other` matches?
    fn covers(&self, other: &Sources) -> bool {
        fn fam<N>(a: &Option<Vec<N>>, b: &Option<Vec<N>>, nest: impl Fn(&N, &N) -> bool) -> bool {
            match (a, b) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(x), Some(y)) => y.iter().all(|q| x.iter().any(|p| nest(p, q))),
            }
        }
        fam(&self.v4, &other.v4, |a, b| a.contains(b))
            && fam(&self.v6, &other.v6, |a, b| a.contains(b))
    }
}

/// One normalized rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRule {
    pub action: RuleAction,
    pub proto: Proto,
    /// Sorted, overlapping and adjacent ranges merged.
    pub ports: Vec<PortRange>,
    pub sources: Sources,
    pub comment: Option<Comment>,
    pub origin: Origin,
    /// Index of the policy rule this came from (one rule for tcp+udp gives
    /// two planned rules with the same index).
    pub spec: usize,
}

impl PlannedRule {
    pub fn matches(&self, src: IpAddr, proto: Proto, port: u16) -> bool {
        self.proto == proto
            && self.ports.iter().any(|r| r.contains(port))
            && self.sources.matches(src)
    }

    fn ports_overlap(&self, other: &PlannedRule) -> bool {
        self.ports
            .iter()
            .any(|a| other.ports.iter().any(|b| a.overlaps(b)))
    }

    pub fn ports_text(&self, sep: &str, range_sep: &str) -> String {
        self.ports
            .iter()
            .map(|r| {
                if r.start == r.end {
                    r.start.to_string()
                } else {
                    format!("{}{range_sep}{}", r.start, r.end)
                }
            })
            .collect::<Vec<_>>()
            .join(sep)
    }
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub default_in: DefaultIn,
    pub default_out: DefaultOut,
    pub default_forward: DefaultForward,
    /// In evaluation order: denies, limits, allows.
    pub rules: Vec<PlannedRule>,
    pub block_v4: Vec<Ipv4Net>,
    pub block_v6: Vec<Ipv6Net>,
    pub ssh_ports: Vec<SshPort>,
    pub limit_rate: Rate,
    pub echo: Echo,
    pub essential_icmp: bool,
    pub log_drops: bool,
    /// Per-account outbound rules, by account.
    pub egress: Vec<crate::egress::PlannedEgress>,
}

/// What the plan does with a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accept,
    /// Accepted until the source passes the rate limit.
    AcceptLimited,
    Drop,
    Reject,
}

impl Outcome {
    pub fn admits(self) -> bool {
        matches!(self, Outcome::Accept | Outcome::AcceptLimited)
    }
}

fn merge_ports(mut ports: Vec<PortRange>) -> Vec<PortRange> {
    ports.sort();
    let mut out: Vec<PortRange> = Vec::with_capacity(ports.len());
    for r in ports {
        match out.last_mut() {
            Some(last) if u32::from(r.start) <= u32::from(last.end) + 1 => {
                last.end = last.end.max(r.end);
            }
            _ => out.push(r),
        }
    }
    out
}

/// Build the plan: normalize, refuse duplicates and contradictions, and make
/// sure the SSH ports are admitted.
pub fn build(policy: &Policy) -> Result<Plan, PlanError> {
    if !policy.explicit
        && policy.rules.is_empty()
        && policy.block.is_empty()
        && policy.egress.is_empty()
    {
        return Err(PlanError::Empty);
    }
    let mut rules: Vec<PlannedRule> = Vec::new();
    for (index, spec) in policy.rules.iter().enumerate() {
        let mut protos = spec.protos.clone();
        protos.dedup();
        for proto in protos {
            rules.push(PlannedRule {
                action: spec.action,
                proto,
                ports: merge_ports(spec.ports.clone()),
                sources: Sources::from_nets(&spec.sources),
                comment: spec.comment.clone(),
                origin: spec.origin.clone(),
                spec: index,
            });
        }
    }
    check_conflicts(&rules)?;

    let mut ssh_ports = policy.ssh_ports.clone();
    if ssh_ports.is_empty() {
        ssh_ports.push(SshPort {
            port: 22,
            origin: Origin::Implicit("sshd's default Port 22 (no --sshd or --ssh-port given)"),
        });
    }
    ssh_ports.sort_by_key(|p| p.port);
    ssh_ports.dedup_by_key(|p| p.port);
    for ssh in &ssh_ports {
        if let Some(deny) = rules.iter().find(|r| {
            r.action == RuleAction::Deny
                && r.proto == Proto::Tcp
                && r.ports.iter().any(|p| p.contains(ssh.port))
                && r.sources.is_any()
        }) {
            return Err(PlanError::DeniesSsh {
                rule: deny.origin.to_string(),
                port: ssh.port,
                ssh: ssh.origin.to_string(),
            });
        }
        let admitted = policy.default_in == DefaultIn::Allow
            || rules.iter().any(|r| {
                r.action != RuleAction::Deny
                    && r.proto == Proto::Tcp
                    && r.ports.iter().any(|p| p.contains(ssh.port))
            });
        if !admitted {
            rules.push(PlannedRule {
                action: RuleAction::Allow,
                proto: Proto::Tcp,
                ports: vec![PortRange::single(ssh.port)],
                sources: Sources { v4: None, v6: None },
                comment: Comment::parse("ssh", &ssh.origin).ok(),
                origin: Origin::Implicit("the SSH port, always admitted"),
                spec: usize::MAX,
            });
        }
    }
    // Stable sort: denies, then limits, then allows, each in the given order.
    rules.sort_by_key(|r| match r.action {
        RuleAction::Deny => 0,
        RuleAction::Limit => 1,
        RuleAction::Allow => 2,
    });

    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for BlockEntry { net, .. } in &policy.block {
        match net {
            IpNet::V4(n) => v4.push(*n),
            IpNet::V6(n) => v6.push(*n),
        }
    }
    Ok(Plan {
        default_in: policy.default_in,
        default_out: policy.default_out,
        default_forward: policy.default_forward,
        rules,
        block_v4: Ipv4Net::aggregate(&v4),
        block_v6: Ipv6Net::aggregate(&v6),
        ssh_ports,
        limit_rate: policy.limit_rate,
        echo: policy.echo,
        essential_icmp: policy.essential_icmp,
        log_drops: policy.log_drops,
        egress: crate::egress::plan(&policy.egress).map_err(PlanError::Egress)?,
    })
}

fn check_conflicts(rules: &[PlannedRule]) -> Result<(), PlanError> {
    for (i, a) in rules.iter().enumerate() {
        for b in &rules[i + 1..] {
            if a.proto != b.proto || !a.ports_overlap(b) || !a.sources.overlaps(&b.sources) {
                continue;
            }
            if a.action == b.action {
                // One flag expanded to tcp and udp is never its own duplicate.
                if a.spec != b.spec {
                    return Err(PlanError::Duplicate {
                        earlier: a.origin.to_string(),
                        later: b.origin.to_string(),
                    });
                }
                continue;
            }
            let (deny, admit) = match (a.action, b.action) {
                (RuleAction::Deny, _) => (a, b),
                (_, RuleAction::Deny) => (b, a),
                _ => {
                    return Err(PlanError::LimitAndAllow {
                        a: a.origin.to_string(),
                        b: b.origin.to_string(),
                    })
                }
            };
            if deny.sources.covers(&admit.sources) {
                return Err(PlanError::Contradiction {
                    deny: deny.origin.to_string(),
                    admit: admit.origin.to_string(),
                    verb: admit.action.as_str(),
                });
            }
        }
    }
    Ok(())
}

impl Plan {
    pub fn is_blocked(&self, src: IpAddr) -> bool {
        match src {
            IpAddr::V4(a) => self.block_v4.iter().any(|n| n.contains(&a)),
            IpAddr::V6(a) => self.block_v6.iter().any(|n| n.contains(&a)),
        }
    }

    /// What the rendered ruleset does with a new connection from `src` to
    /// local `port`: the model the packet tests compare the kernel against.
    pub fn outcome(&self, src: IpAddr, proto: Proto, port: u16) -> Outcome {
        if self.is_blocked(src) {
            return Outcome::Drop;
        }
        if let Some(rule) = self.rules.iter().find(|r| r.matches(src, proto, port)) {
            return match rule.action {
                RuleAction::Deny => Outcome::Drop,
                RuleAction::Limit => Outcome::AcceptLimited,
                RuleAction::Allow => Outcome::Accept,
            };
        }
        match self.default_in {
            DefaultIn::Allow => Outcome::Accept,
            DefaultIn::Deny => Outcome::Drop,
            DefaultIn::Reject => Outcome::Reject,
        }
    }

    /// The plan as records, for review and diffing.
    pub fn actions(&self) -> Vec<PlanAction> {
        let mut out = Vec::new();
        let policy = |chain: &str, verdict: &str| PlanAction {
            op: "default".into(),
            path: format!("inet hardkit {chain}"),
            changed: true,
            verdict: Some(verdict.into()),
            ..PlanAction::default()
        };
        out.push(policy(
            "input",
            match self.default_in {
                DefaultIn::Deny => "drop",
                DefaultIn::Reject => "reject",
                DefaultIn::Allow => "accept",
            },
        ));
        out.push(policy(
            "output",
            match self.default_out {
                DefaultOut::Allow => "accept",
                DefaultOut::Deny => "drop",
            },
        ));
        out.push(policy(
            "forward",
            match self.default_forward {
                DefaultForward::Allow => "accept",
                DefaultForward::Deny => "drop",
            },
        ));
        if !self.block_v4.is_empty() || !self.block_v6.is_empty() {
            out.push(PlanAction {
                op: "block".into(),
                path: "inet hardkit input".into(),
                changed: true,
                from: self.block_nets().iter().map(ToString::to_string).collect(),
                ..PlanAction::default()
            });
        }
        for rule in &self.rules {
            out.push(PlanAction {
                op: rule.action.as_str().into(),
                path: "inet hardkit input".into(),
                changed: true,
                proto: Some(rule.proto.as_str().into()),
                ports: Some(rule.ports_text(",", "-")),
                from: rule
                    .sources
                    .nets()
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                family: Some(
                    match (rule.sources.applies_v4(), rule.sources.applies_v6()) {
                        (true, true) => "any",
                        (true, false) => "ipv4",
                        _ => "ipv6",
                    }
                    .into(),
                ),
                rate: (rule.action == RuleAction::Limit).then(|| {
                    format!(
                        "{}/{}",
                        self.limit_rate.count,
                        self.limit_rate.unit.as_str()
                    )
                }),
                comment: rule.comment.as_ref().map(|c| c.as_str().to_string()),
                origin: Some(rule.origin.to_string()),
                ..PlanAction::default()
            });
        }
        out
    }

    pub fn block_nets(&self) -> Vec<IpNet> {
        let mut v: Vec<IpNet> = self.block_v4.iter().map(|n| IpNet::V4(*n)).collect();
        v.extend(self.block_v6.iter().map(|n| IpNet::V6(*n)));
        v
    }
}

/// fwplan's `action` record: one step of the plan (docs/protocol.md).
/// `op`, `path` and `changed` are the shared action fields; the rest
/// describe a firewall rule and are absent for file steps of `apply`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanAction {
    pub op: String,
    pub path: String,
    pub changed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl hardkit_core::Record for PlanAction {
    const TYPE: &'static str = "action";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse_rule_text;

    fn policy(rules: &[(RuleAction, &str)]) -> Policy {
        let mut p = Policy {
            explicit: true,
            ..Policy::default()
        };
        for (action, text) in rules {
            let flag = match action {
                RuleAction::Allow => "--allow",
                RuleAction::Deny => "--deny",
                RuleAction::Limit => "--limit",
            };
            p.rules.push(parse_rule_text(*action, flag, text).unwrap());
        }
        p
    }

    use RuleAction::*;

    #[test]
    fn ssh_port_is_added_when_nothing_admits_it() {
        let plan = build(&policy(&[(Allow, "80,443/tcp")])).unwrap();
        let ssh = plan
            .rules
            .iter()
            .find(|r| r.ports == [PortRange::single(22)])
            .unwrap();
        assert_eq!(ssh.action, Allow);
        assert_eq!(
            plan.outcome("192.0.2.9".parse().unwrap(), Proto::Tcp, 22),
            Outcome::Accept
        );
        assert_eq!(
            plan.outcome("192.0.2.9".parse().unwrap(), Proto::Tcp, 23),
            Outcome::Drop
        );
        // A limit on the SSH port admits it: nothing is added.
        let plan = build(&policy(&[(Limit, "22/tcp")])).unwrap();
        assert_eq!(plan.rules.len(), 1);
    }

    #[test]
    fn denying_ssh_is_refused() {
        let e = build(&policy(&[(Deny, "20-30/tcp")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("would deny SSH") && e.contains("--deny '20-30/tcp'"),
            "{e}"
        );
        // Denying some sources only is an exception, not a lockout.
        assert!(build(&policy(&[(Deny, "22/tcp@203.0.113.0/24")])).is_ok());
    }

    #[test]
    fn duplicates_and_contradictions_name_both_rules() {
        let e = build(&policy(&[(Allow, "80/tcp"), (Allow, "80/tcp")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("duplicate"), "{e}");
        let e = build(&policy(&[(Allow, "80/tcp"), (Allow, "79-81/tcp")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("duplicate") && e.contains("--allow '79-81/tcp'"),
            "{e}"
        );
        let e = build(&policy(&[(Allow, "80/tcp@10.0.0.0/8"), (Deny, "80/tcp")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("contradictory") && e.contains("--deny '80/tcp'"),
            "{e}"
        );
        let e = build(&policy(&[(Allow, "80/tcp"), (Limit, "80/tcp")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("rate-limited"), "{e}");
        // Different protocols, or v4-only against v6-only sources, do not clash.
        assert!(build(&policy(&[(Allow, "53/tcp"), (Deny, "53/udp")])).is_ok());
        assert!(build(&policy(&[
            (Allow, "80/tcp@10.0.0.0/8"),
            (Deny, "80/tcp@fd00::/8")
        ]))
        .is_ok());
        // A narrower deny is an exception to a wider allow.
        let plan = build(&policy(&[(Allow, "80/tcp"), (Deny, "80/tcp@10.1.0.0/16")])).unwrap();
        assert_eq!(
            plan.outcome("10.1.2.3".parse().unwrap(), Proto::Tcp, 80),
            Outcome::Drop
        );
        assert_eq!(
            plan.outcome("10.2.2.3".parse().unwrap(), Proto::Tcp, 80),
            Outcome::Accept
        );
    }

    #[test]
    fn sources_split_by_family_and_blocklist_merges() {
        let mut p = policy(&[(Allow, "8000/tcp@10.0.0.0/8,10.0.0.0/9")]);
        for net in ["192.0.2.0/25", "192.0.2.128/25", "2001:db8::1/128"] {
            p.block.push(BlockEntry {
                net: net.parse().unwrap(),
                origin: Origin::Implicit("t"),
            });
        }
        let plan = build(&p).unwrap();
        let r = plan
            .rules
            .iter()
            .find(|r| r.ports == [PortRange::single(8000)])
            .unwrap();
        assert_eq!(
            r.sources.v4.as_deref(),
            Some(&["10.0.0.0/8".parse().unwrap()][..])
        );
        assert!(!r.sources.applies_v6());
        assert_eq!(plan.block_v4, ["192.0.2.0/24".parse::<Ipv4Net>().unwrap()]);
        assert_eq!(
            plan.outcome("fd00::1".parse().unwrap(), Proto::Tcp, 8000),
            Outcome::Drop
        );
        assert_eq!(
            plan.outcome("192.0.2.200".parse().unwrap(), Proto::Tcp, 22),
            Outcome::Drop
        );
    }

    #[test]
    fn ports_are_merged() {
        assert_eq!(
            merge_ports(vec![
                PortRange::single(81),
                PortRange { start: 70, end: 80 },
                PortRange::single(90)
            ]),
            [PortRange { start: 70, end: 81 }, PortRange::single(90)]
        );
    }
}
