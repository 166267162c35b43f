//! `--stack FILE`: aistack's records (`aistack audit --json`), so that the
//! firewall never opens the way to an AI service that asks for no login,
//! nor around a tunnel that fronts one. An `--allow` (or `--limit`) from
//! anywhere that admits such a port is refused, with the service named; a
//! rule limited to sources (the admin network) is the operator's choice
//! and stays. With a tunnel in front of the stack, the plan is what the
//! tunnel needs: no inbound port but SSH.
//!
//! The records are read as a reader of a newer writer should: unknown
//! fields and record types are ignored, and a line that is not JSON is an
//! error naming the file and line.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use crate::policy::{RuleAction, RuleSpec};
use crate::FwplanError;

#[derive(Debug, Clone, Deserialize)]
struct Listener {
    #[serde(default)]
    port: Option<u16>,
    reach: String,
}

/// What fwplan takes of an `ai_service` or `tunnel_route` record.
#[derive(Debug, Clone, Deserialize)]
struct Record {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    app: String,
    #[serde(default)]
    auth: String,
    #[serde(default)]
    listeners: Vec<Listener>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    target: Option<String>,
}

/// A port of the host the stack says must stay closed to the world.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardedPort {
    pub port: u16,
    pub why: String,
}

#[derive(Debug, Clone, Default)]
pub struct Stack {
    pub guarded: Vec<GuardedPort>,
    /// Public hostnames a tunnel routes to the stack.
    pub tunnel_hostnames: Vec<String>,
}

pub fn read_stack(file: &Path) -> Result<Stack, FwplanError> {
    let name = file.display().to_string();
    let mut text = String::new();
    let source = hardkit_core::input::InputSource::parse(file);
    let mut reader = source
        .open()
        .map_err(|e| FwplanError::Usage(format!("--stack {name}: {e}")))?;
    (&mut reader)
        .take(hardkit_core::input::MAX_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| FwplanError::Usage(format!("--stack {name}: {e}")))?;
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r: Record = serde_json::from_str(line).map_err(|e| {
            FwplanError::Usage(format!(
                "--stack {name}:{}: not aistack's JSON Lines: {e}",
                i + 1
            ))
        })?;
        records.push(r);
    }
    let mut stack = Stack::default();
    let services: Vec<&Record> = records.iter().filter(|r| r.kind == "ai_service").collect();
    for r in records.iter().filter(|r| r.kind == "tunnel_route") {
        let host = r
            .hostname
            .clone()
            .unwrap_or_else(|| "every hostname".into());
        if !stack.tunnel_hostnames.contains(&host) {
            stack.tunnel_hostnames.push(host.clone());
        }
        let Some(s) = r
            .target
            .as_deref()
            .and_then(|t| services.iter().find(|s| s.name == t))
        else {
            continue;
        };
        for l in s.listeners.iter().filter(|l| l.reach != "containers") {
            if let Some(port) = l.port {
                stack.guarded.push(GuardedPort {
                    port,
                    why: format!("{} ({}) is reached through the tunnel ({host}): opening it lets the internet past the tunnel", s.name, s.app),
                });
            }
        }
    }
    for s in &services {
        if s.auth != "none" && s.auth != "off" {
            continue;
        }
        for l in s.listeners.iter().filter(|l| l.reach != "containers") {
            if let Some(port) = l.port {
                stack.guarded.push(GuardedPort {
                    port,
                    why: format!(
                        "{} ({}) listens there and asks for no login (aistack)",
                        s.name, s.app
                    ),
                });
            }
        }
    }
    Ok(stack)
}

/// Refuse a rule that admits a guarded port from anywhere.
pub fn check_rules(stack: &Stack, rules: &[RuleSpec]) -> Result<(), FwplanError> {
    for rule in rules {
        if !matches!(rule.action, RuleAction::Allow | RuleAction::Limit) || !rule.sources.is_empty()
        {
            continue;
        }
        for g in &stack.guarded {
            if rule.ports.iter().any(|p| p.contains(g.port)) {
                return Err(FwplanError::Usage(format!(
                    "{}: admits port {} from anywhere, where {}; bind the service to 127.0.0.1 (aistack apply), or admit only the sources that need it (PORT/PROTO@CIDR)",
                    rule.origin, g.port, g.why
                )));
            }
        }
    }
    Ok(())
}
