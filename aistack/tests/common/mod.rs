//! Helpers shared by aistack's integration tests: running the binary and
//! reading its JSON Lines back.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

pub fn aistack() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aistack"))
}

pub struct Audit {
    pub code: i32,
    pub records: Vec<Value>,
    pub stderr: String,
}

impl Audit {
    pub fn of_type(&self, t: &str) -> Vec<&Value> {
        self.records.iter().filter(|r| r["type"] == t).collect()
    }

    pub fn service(&self, name: &str) -> &Value {
        self.of_type("ai_service")
            .into_iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no ai_service {name} in {:#?}", self.records))
    }

    /// (id, severity, path:line, service) of every finding.
    pub fn findings(&self) -> Vec<(String, String, String, String)> {
        self.of_type("finding")
            .into_iter()
            .map(|f| {
                (
                    f["id"].as_str().unwrap().to_string(),
                    f["severity"].as_str().unwrap().to_string(),
                    format!(
                        "{}:{}",
                        f["location"]["path"].as_str().unwrap_or(""),
                        f["location"]["line"]
                    ),
                    f["evidence"]["service"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }
}

/// `aistack audit --json --root ROOT EXTRA...`, every record parsed.
pub fn audit(root: &Path, extra: &[&str]) -> Audit {
    let out = aistack()
        .args(["audit", "--json", "--root"])
        .arg(root)
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let records = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect();
    Audit {
        code: out.status.code().unwrap_or(-1),
        records,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
