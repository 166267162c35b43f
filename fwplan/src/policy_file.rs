//! The JSON policy file (`--policy FILE`), read into a [`Policy`]: defaults
//! in the file apply, rules and block entries are appended. The reference
//! is in docs/fwplan.md; unknown fields are errors, so a misspelt field can
//! never silently drop a rule. Errors name the file and the field
//! (`policy.json: rules[2].ports`); serde's own errors carry line and column.

use std::path::Path;

use serde::Deserialize;

use crate::policy::{
    parse_port, parse_ports, parse_protos, parse_source, BlockEntry, Comment, DefaultForward,
    DefaultIn, DefaultOut, Echo, Origin, Policy, PolicyError, Rate, RuleAction, RuleSpec, SshPort,
};

/// The policy file, as written (see docs/fwplan.md).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    default_in: Option<DefaultIn>,
    #[serde(default)]
    default_out: Option<DefaultOut>,
    #[serde(default)]
    default_forward: Option<DefaultForward>,
    #[serde(default)]
    rules: Vec<RuleFile>,
    #[serde(default)]
    block_from: Vec<String>,
    #[serde(default)]
    ssh_ports: Vec<u32>,
    #[serde(default)]
    limit_rate: Option<String>,
    #[serde(default)]
    icmp: Option<IcmpFile>,
    #[serde(default)]
    log_drops: Option<bool>,
    /// `--egress` rules, as the flag writes them (`USER:PORTS[/PROTO]@DESTS`).
    #[serde(default)]
    egress: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    action: RuleActionFile,
    ports: PortsFile,
    #[serde(default)]
    proto: Option<String>,
    #[serde(default)]
    from: Vec<String>,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RuleActionFile {
    Allow,
    Deny,
    Limit,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PortsFile {
    Number(u64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IcmpFile {
    #[serde(default)]
    echo: Option<Echo>,
    #[serde(default)]
    essential: Option<bool>,
}

/// Read a policy file into `policy` (defaults in the file apply; rules are
/// appended). Policy files are small; anything above 16 MiB is refused.
pub fn load_policy_file(path: &Path, policy: &mut Policy) -> Result<(), PolicyError> {
    let source = hardkit_core::input::InputSource::parse(path);
    let bytes = source.read_limited(16 << 20)?;
    let file: PolicyFile = serde_json::from_slice(&bytes).map_err(|source| PolicyError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let at = |field: String| Origin::Policy {
        file: path.to_path_buf(),
        field,
    };
    let mut explicit = false;
    if let Some(d) = file.default_in {
        policy.default_in = d;
        explicit = true;
    }
    if let Some(d) = file.default_out {
        policy.default_out = d;
        explicit = true;
    }
    if let Some(d) = file.default_forward {
        policy.default_forward = d;
        explicit = true;
    }
    for (i, text) in file.egress.iter().enumerate() {
        let mut spec = crate::egress::parse_egress_text(text).map_err(|e| match e {
            PolicyError::Invalid { message, .. } => PolicyError::Invalid {
                origin: at(format!("egress[{i}]")),
                message,
            },
            other => other,
        })?;
        spec.origin = at(format!("egress[{i}]"));
        policy.egress.push(spec);
        explicit = true;
    }
    for (i, rule) in file.rules.iter().enumerate() {
        let origin = at(format!("rules[{i}]"));
        let ports_origin = at(format!("rules[{i}].ports"));
        let ports = match &rule.ports {
            PortsFile::Number(n) => parse_ports(&n.to_string(), &ports_origin)?,
            PortsFile::Text(t) => parse_ports(t, &ports_origin)?,
        };
        let protos = parse_protos(
            rule.proto.as_deref().unwrap_or("any"),
            &at(format!("rules[{i}].proto")),
        )?;
        let mut sources = Vec::new();
        for (j, s) in rule.from.iter().enumerate() {
            sources.push(parse_source(s, &at(format!("rules[{i}].from[{j}]")))?);
        }
        let comment = match &rule.comment {
            Some(c) => Some(Comment::parse(c, &at(format!("rules[{i}].comment")))?),
            None => None,
        };
        let action = match rule.action {
            RuleActionFile::Allow => RuleAction::Allow,
            RuleActionFile::Deny => RuleAction::Deny,
            RuleActionFile::Limit => RuleAction::Limit,
        };
        policy.rules.push(RuleSpec {
            action,
            ports,
            protos,
            sources,
            comment,
            origin,
        });
        explicit = true;
    }
    for (i, b) in file.block_from.iter().enumerate() {
        let origin = at(format!("block_from[{i}]"));
        let net = parse_source(b, &origin)?;
        policy.block.push(BlockEntry { net, origin });
        explicit = true;
    }
    for (i, p) in file.ssh_ports.iter().enumerate() {
        let origin = at(format!("ssh_ports[{i}]"));
        let port = parse_port(&p.to_string(), &origin)?;
        policy.ssh_ports.push(SshPort { port, origin });
    }
    if let Some(rate) = &file.limit_rate {
        policy.limit_rate = Rate::parse(rate, &at("limit_rate".into()))?;
    }
    if let Some(icmp) = &file.icmp {
        if let Some(echo) = icmp.echo {
            policy.echo = echo;
        }
        if let Some(essential) = icmp.essential {
            policy.essential_icmp = essential;
        }
    }
    if let Some(log) = file.log_drops {
        policy.log_drops = log;
    }
    if !explicit {
        return Err(PolicyError::Empty(format!(
            "{} sets no default, rule or block entry",
            path.display()
        )));
    }
    policy.explicit = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(json: &str) -> Result<Policy, PolicyError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        std::fs::write(&path, json).unwrap();
        let mut p = Policy::default();
        load_policy_file(&path, &mut p).map(|()| p)
    }

    #[test]
    fn policy_file_fields_are_typed_and_errors_name_the_field() {
        let p = load(
            r#"{"default_in":"reject","rules":[{"action":"allow","ports":"80,443","proto":"tcp"},
                {"action":"limit","ports":22,"proto":"tcp","from":["192.0.2.0/24"],"comment":"ssh"}],
                "block_from":["203.0.113.7"],"ssh_ports":[22],"limit_rate":"4/minute",
                "icmp":{"echo":"deny","essential":true},"log_drops":false}"#,
        )
        .unwrap();
        assert_eq!(p.default_in, DefaultIn::Reject);
        assert_eq!(p.rules.len(), 2);
        assert_eq!(p.rules[1].action, RuleAction::Limit);
        assert_eq!(p.block[0].net.to_string(), "203.0.113.7/32");
        assert_eq!(p.limit_rate.count, 4);
        assert_eq!(p.echo, Echo::Deny);
        assert!(!p.log_drops);

        let e = load(
            r#"{"rules":[{"action":"allow","ports":"80"},{"action":"allow","ports":"99999"}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("policy.json: rules[1].ports") && e.contains("above 65535"),
            "{e}"
        );
        let e = load(r#"{"rules":[{"action":"allow","ports":80,"from":["10.1.2.3/33"]}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("rules[0].from[0]"), "{e}");
        let e = load(r#"{"rules":[{"action":"allow","port":80}]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown field `port`") && e.contains("line 1"),
            "{e}"
        );
        let e = load("{}").unwrap_err().to_string();
        assert!(e.contains("empty policy"), "{e}");
        let e = load(r#"{"default_in":"drop"}"#).unwrap_err().to_string();
        assert!(e.contains("unknown variant `drop`"), "{e}");
    }
}
