//! The SSH ports sshd really listens on, from sshd-lint's JSON Lines
//! (`sshd-lint --json`): its `setting` records with key `port` (one per
//! port, as `sshd -T` prints them) and, when present, `listenaddress`
//! (whose ports are what sshd binds). Other record types and other tools'
//! records in the same stream are skipped, as the protocol asks.

use hardkit_core::input::InputSource;
use hardkit_core::record::{decode, Record};
use hardkit_core::stream::{records_in_text, StreamError, StreamLine};
use serde::{Deserialize, Serialize};

use crate::values::Port;

/// sshd-lint's `setting` record (docs/protocol.md), as jailgen reads it:
/// fields sshd-lint adds later are ignored ([`decode`]), so a new field in
/// sshd-lint does not break `sshd-lint --json | jailgen --sshd -`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Setting {
    pub key: String,
    pub value: String,
    pub origin: serde_json::Value,
    #[serde(default)]
    pub shadowed: Vec<serde_json::Value>,
}

impl Record for Setting {
    const TYPE: &'static str = "setting";
}

/// sshd-lint output is a few hundred lines; anything far larger is not it.
const INPUT_LIMIT: u64 = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SshdInputError {
    #[error("--sshd: {0}")]
    Read(#[from] hardkit_core::input::InputError),
    #[error("--sshd {name}:{line}: {message}")]
    Line {
        name: String,
        line: usize,
        message: String,
    },
    #[error("--sshd {0}")]
    Stream(#[from] StreamError),
    #[error("--sshd {0}: no sshd-lint 'setting' record with key 'port' or 'listenaddress' (run: sshd-lint --json | jailgen --sshd -)")]
    NoPort(String),
}

/// Read the ports from `source`, sorted and deduplicated.
pub fn read_ports(source: &InputSource) -> Result<Vec<Port>, SshdInputError> {
    let data = source.read_limited(INPUT_LIMIT)?;
    let name = source.display_name();
    let text = String::from_utf8_lossy(&data);
    let ports = ports_from_text(&name, &text)?;
    if ports.is_empty() {
        return Err(SshdInputError::NoPort(name));
    }
    Ok(ports)
}

/// The ports sshd listens on. `sshd -T` prints every `listenaddress` with
/// its port (`0.0.0.0:2222`, `[::1]:22`), and an explicit port there wins
/// over `Port` (`ListenAddress 127.0.0.1:2200` with `Port 2222` listens on
/// 2200 only for that address), so those decide when present; the `port`
/// records are used when the stream has no `listenaddress` record.
pub fn ports_from_text(name: &str, text: &str) -> Result<Vec<Port>, SshdInputError> {
    let mut ports = Vec::new();
    let mut listen_ports = Vec::new();
    let records = records_in_text(name, text, Setting::TYPE, Some("sshd-lint"))?;
    for StreamLine { line, text } in records {
        let err = |message: String| SshdInputError::Line {
            name: name.to_string(),
            line: line as usize,
            message,
        };
        let setting = decode::<Setting>(&text)
            .map_err(|e| err(e.to_string()))?
            .body;
        match setting.key.as_str() {
            "port" => {
                ports.push(Port::parse("port", &setting.value).map_err(|e| err(e.message))?);
            }
            "listenaddress" => {
                let Some((_, port)) = setting.value.rsplit_once(':') else {
                    continue;
                };
                listen_ports.push(Port::parse("listenaddress", port).map_err(|e| err(e.message))?);
            }
            _ => {}
        }
    }
    if !listen_ports.is_empty() {
        ports = listen_ports;
    }
    ports.sort();
    ports.dedup();
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_records_only() {
        let text = r#"{"type":"setting","tool":"sshd-lint","key":"port","value":"2222","origin":{"path":"/etc/ssh/sshd_config","line":14},"shadowed":[{"path":"/etc/ssh/sshd_config.d/a.conf","line":1,"value":"22"}]}
{"type":"setting","tool":"sshd-lint","key":"permitrootlogin","value":"no","origin":"default","shadowed":[]}
{"type":"finding","tool":"sshd-lint","id":"sshd/x","severity":"low","title":"t","detail":"d","refs":[]}
{"type":"setting","tool":"other","key":"port","value":"1","origin":"default"}
{"type":"setting","tool":"sshd-lint","key":"port","value":"22","origin":"default","shadowed":[]}
{"type":"summary","tool":"sshd-lint","counts":{},"severity":{},"exit":0}
"#;
        let ports = ports_from_text("x", text).unwrap();
        assert_eq!(
            ports.iter().map(|p| p.get()).collect::<Vec<_>>(),
            vec![22, 2222]
        );
    }

    /// A reader ignores fields it does not know: a field sshd-lint may add
    /// one day (here `since`, and one inside `origin`) changes nothing.
    #[test]
    fn unknown_fields_from_a_newer_sshd_lint_are_ignored() {
        let text = r#"{"type":"setting","tool":"sshd-lint","key":"port","value":"2222","origin":{"path":"/etc/ssh/sshd_config","line":3,"column":1},"shadowed":[],"since":"9.2","scope":"global"}
"#;
        let ports = ports_from_text("x", text).unwrap();
        assert_eq!(
            ports.iter().map(|p| p.get()).collect::<Vec<_>>(),
            vec![2222]
        );
    }

    #[test]
    fn listen_addresses_decide_when_present() {
        // sshd -T for `Port 2222`, `ListenAddress 127.0.0.1:2200`, `ListenAddress ::1`.
        let text = r#"{"type":"setting","tool":"sshd-lint","key":"port","value":"2222","origin":"default","shadowed":[]}
{"type":"setting","tool":"sshd-lint","key":"listenaddress","value":"127.0.0.1:2200","origin":"default","shadowed":[]}
{"type":"setting","tool":"sshd-lint","key":"listenaddress","value":"[::1]:2222","origin":"default","shadowed":[]}
"#;
        let ports = ports_from_text("x", text).unwrap();
        assert_eq!(
            ports.iter().map(|p| p.get()).collect::<Vec<_>>(),
            vec![2200, 2222]
        );
    }

    #[test]
    fn bad_lines_are_named() {
        let err = ports_from_text("in.jsonl", "not json\n").unwrap_err();
        assert!(err.to_string().starts_with("--sshd in.jsonl:1: "), "{err}");
        let bad_port = r#"{"type":"setting","tool":"sshd-lint","key":"port","value":"0","origin":"default","shadowed":[]}"#;
        let err = ports_from_text("in.jsonl", bad_port).unwrap_err();
        assert!(err.to_string().contains("1 to 65535"), "{err}");
    }
}
