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

/// sshd's listening ports from sshd-lint's `setting` records. sshd binds the
/// ports of its `listenaddress` lines (`sshd -T` prints every one with its
/// port, `Port` applied to those written without one), so when the stream
/// has them they decide; a stream of `port` records alone is used as it is.
/// `Port 22` with `ListenAddress 0.0.0.0:2222` listens on 2222 only, and
/// admitting 22 instead would lock the operator out. (jailgen reads the
/// records the same way.)
pub fn read_sshd_ports(arg: &Path) -> Result<Vec<SshPort>, SshdInputError> {
    let source = InputSource::parse(arg);
    let name = source.display_name();
    let mut ports = Vec::new();
    let mut listen_ports = Vec::new();
    for StreamLine { line, text } in records_of_type(&source, "setting", None, INPUT_LIMIT)? {
        let setting: Setting = serde_json::from_str(&text).map_err(|e| SshdInputError::Line {
            name: name.clone(),
            line,
            message: format!("setting record without string key/value: {e}"),
        })?;
        let origin = Origin::Line {
            file: format!("--sshd {name}"),
            line,
        };
        if setting.key.eq_ignore_ascii_case("port") {
            let port = parse_port(&setting.value, &origin)?;
            ports.push(SshPort { port, origin });
        } else if setting.key.eq_ignore_ascii_case("listenaddress") {
            if let Some((_, port)) = setting.value.rsplit_once(':') {
                let port = parse_port(port, &origin)?;
                if !listen_ports.iter().any(|p: &SshPort| p.port == port) {
                    listen_ports.push(SshPort { port, origin });
                }
            }
        }
    }
    if !listen_ports.is_empty() {
        ports = listen_ports;
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
    fn listen_addresses_decide_the_ports_when_present() {
        // sshd -T for `Port 22` and `ListenAddress 0.0.0.0:2222` plus `[::]:2222`.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sshd.jsonl");
        std::fs::write(
            &path,
            concat!(
                r#"{"type":"setting","tool":"sshd-lint","key":"port","value":"22","origin":"default","shadowed":[]}"#, "\n",
                r#"{"type":"setting","tool":"sshd-lint","key":"listenaddress","value":"0.0.0.0:2222","origin":{"path":"/etc/ssh/sshd_config","line":2},"shadowed":[]}"#, "\n",
                r#"{"type":"setting","tool":"sshd-lint","key":"listenaddress","value":"[::]:2222","origin":{"path":"/etc/ssh/sshd_config","line":3},"shadowed":[]}"#, "\n",
            ),
        )
        .unwrap();
        let ports = read_sshd_ports(&path).unwrap();
        assert_eq!(ports.iter().map(|p| p.port).collect::<Vec<_>>(), [2222]);
        assert!(ports[0].origin.to_string().ends_with("sshd.jsonl:2"));
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
