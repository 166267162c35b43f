//! sshd-lint's own record (`setting`, see docs/protocol.md) and SARIF 2.1.0
//! output for code-scanning dashboards.

use hardkit_core::{BytesPath, Finding, Location, Record};
use serde::{Deserialize, Serialize};

use crate::print::Line;

/// Where a setting came from: a line, or sshd's built-in default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Origin {
    Line(Location),
    /// Always the string `"default"`.
    Default(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowedLine {
    pub path: BytesPath,
    pub line: u64,
    pub value: String,
}

/// One line of `sshd -T` output with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    pub key: String,
    pub value: String,
    pub origin: Origin,
    pub shadowed: Vec<ShadowedLine>,
}

impl Record for Setting {
    const TYPE: &'static str = "setting";
}

impl Setting {
    pub fn from_line(line: &Line) -> Setting {
        Setting {
            key: line.key.to_string(),
            value: line.value.clone(),
            origin: match &line.origin {
                Some(loc) => Origin::Line(Location::new(loc.path.clone(), Some(loc.line))),
                None => Origin::Default("default".to_string()),
            },
            shadowed: line
                .shadowed
                .iter()
                .map(|s| ShadowedLine {
                    path: BytesPath::new(s.loc.path.clone()),
                    line: s.loc.line,
                    value: s.value.clone(),
                })
                .collect(),
        }
    }
}

fn sarif_level(f: &Finding) -> &'static str {
    use hardkit_core::Severity::*;
    match f.severity {
        Critical | High => "error",
        Medium => "warning",
        Low | Info => "note",
    }
}

/// A minimal, valid SARIF 2.1.0 log of the findings.
pub fn sarif(findings: &[Finding]) -> serde_json::Value {
    let mut rule_ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let rules: Vec<serde_json::Value> = rule_ids
        .iter()
        .map(|id| {
            let f = findings.iter().find(|f| f.id == *id);
            serde_json::json!({
                "id": id,
                "shortDescription": {"text": f.map(|f| f.title.as_str()).unwrap_or(id)},
                "help": {"text": f.map(|f| f.detail.as_str()).unwrap_or("")},
                "properties": {"tags": f.map(|f| f.refs.clone()).unwrap_or_default()},
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let mut r = serde_json::json!({
                "ruleId": f.id,
                "level": sarif_level(f),
                "message": {"text": match &f.fix { Some(fix) => format!("{} (fix: {fix})", f.title), None => f.title.clone() }},
                "properties": {"severity": f.severity.as_str()},
            });
            if let Some(loc) = &f.location {
                let mut region = serde_json::Map::new();
                if let Some(line) = loc.line {
                    region.insert("startLine".into(), serde_json::json!(line.max(1)));
                }
                let mut physical = serde_json::json!({
                    "artifactLocation": {"uri": format!("file://{}", loc.path.as_path().display())},
                });
                if !region.is_empty() {
                    physical["region"] = serde_json::Value::Object(region);
                }
                r["locations"] = serde_json::json!([{"physicalLocation": physical}]);
            }
            r
        })
        .collect();
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": crate::TOOL,
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/hardkit",
                "rules": rules,
            }},
            "results": results,
        }],
    })
}
