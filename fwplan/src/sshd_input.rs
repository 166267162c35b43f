//! `--sshd FILE|-`: the SSH ports sshd-lint says sshd listens on.
//!
//! sshd-lint writes one `setting` record per effective keyword line, in
//! `sshd -T` spelling, so several `Port` lines give several `port` records.
//! Other record types (findings, summary) and other keys are skipped, as the
//! protocol asks of every reader; a line that is not JSON is an error, since
//! a truncated stream could otherwise hide the real port.

use std::path::Path;

use hardkit_core::input::InputSource;
use hardkit_core::stream::{records_of_type, StreamError, StreamLine};
use serde::Deserialize;

use crate::policy::{parse_port, Origin, PolicyError, SshPort};

#[derive(Debug, thiserror::Error)]
pub enum SshdInputError {
    #[error("--sshd {0}")]
    Stream(#[from] StreamError),
    #[error("--sshd {name}:{line}: {message}")]
    Line {
        name: String,
        line: u64,
        message: String,
    },
    #[error(transparent)]
    Port(#[from] PolicyError),
    #[error("--sshd {0}: no sshd-lint 'setting' record with key \"port\" (run: sshd-lint --json)")]
    NoPort(String),
}

/// The part of a `setting` record fwplan needs; other fields are sshd-lint's.
#[derive(Deserialize)]
struct Setting {
    key: String,
    value: String,
}

/// Read the `port` settings from an sshd-lint JSON Lines stream.
/// sshd-lint writes configs, not megabytes; a runaway input is refused.
const INPUT_LIMIT: u64 = 16 << 20;

pub fn read_sshd_ports(arg: &Path) -> Result<Vec<SshPort>, SshdInputError> {
    let source = InputSource::parse(arg);
    let name = source.display_name();
    let mut ports = Vec::new();
    for StreamLine { line, text } in records_of_type(&source, "setting", None, INPUT_LIMIT)? {
        let setting: Setting = serde_json::from_str(&text).map_err(|e| SshdInputError::Line {
            name: name.clone(),
            line,
            message: format!("setting record without string key/value: {e}"),
        })?;
        if !setting.key.eq_ignore_ascii_case("port") {
            continue;
        }
        let origin = Origin::Line {
            file: format!("--sshd {name}"),
            line,
        };
        let port = parse_port(&setting.value, &origin)?;
        ports.push(SshPort { port, origin });
    }
    if ports.is_empty() {
        return Err(SshdInputError::NoPort(name));
    }
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_port_settings_and_skips_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sshd.jsonl");
        std::fs::write(
            &path,
            concat!(
                r#"{"type":"setting","tool":"sshd-lint","key":"port","value":"2222","origin":{"path":"/etc/ssh/sshd_config","line":3},"shadowed":[]}"#, "\n",
                r#"{"type":"finding","tool":"sshd-lint","id":"x","severity":"low","title":"t","detail":"d","refs":[]}"#, "\n",
                r#"{"type":"setting","tool":"sshd-lint","key":"permitrootlogin","value":"no","origin":"default","shadowed":[]}"#, "\n",
                "\n",
                r#"{"type":"setting","tool":"sshd-lint","key":"port","value":"22","origin":"default","shadowed":[]}"#, "\n",
                r#"{"type":"summary","tool":"sshd-lint","counts":{},"severity":{},"exit":0}"#, "\n",
            ),
        )
        .unwrap();
        let ports = read_sshd_ports(&path).unwrap();
        assert_eq!(ports.iter().map(|p| p.port).collect::<Vec<_>>(), [2222, 22]);
        assert!(ports[0].origin.to_string().ends_with("sshd.jsonl:1"));
    }

    #[test]
    fn garbage_and_missing_ports_are_named_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, "Port 22\n").unwrap();
        let e = read_sshd_ports(&path).unwrap_err().to_string();
        assert!(
            e.starts_with("--sshd ") && e.contains("s:1: not a hardkit record"),
            "{e}"
        );
        std::fs::write(
            &path,
            r#"{"type":"setting","tool":"sshd-lint","key":"port","value":"99999"}"#,
        )
        .unwrap();
        let e = read_sshd_ports(&path).unwrap_err().to_string();
        assert!(e.contains("above 65535"), "{e}");
        std::fs::write(&path, "").unwrap();
        let e = read_sshd_ports(&path).unwrap_err().to_string();
        assert!(e.contains("no sshd-lint 'setting' record"), "{e}");
    }
}
