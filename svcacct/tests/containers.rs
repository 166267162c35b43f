//! `svcacct containers`: Docker's files under --root (the demo host's two
//! containers) and `docker inspect` / `docker network inspect` output (a
//! compose stack: ollama on an internal network, qdrant on one that reaches
//! outside, Open WebUI with the Docker socket). The fixture follows the
//! shape of `docker inspect` output (written for this test).

use std::path::Path;
use std::process::Command;

fn svcacct() -> Command {
    Command::new(env!("CARGO_BIN_EXE_svcacct"))
}

fn ids(stdout: &[u8]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "finding")
        .map(|v| {
            (
                v["id"].as_str().unwrap_or_default().to_string(),
                v["evidence"]["container"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_demo_hosts_containers() {
    let demo = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/compromised-agent-host"
    ));
    let out = svcacct()
        .arg("--root")
        .arg(demo)
        .args(["containers", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = ids(&out.stdout);
    let want = [
        ("svcacct/container-docker-socket", "open-webui"),
        ("svcacct/container-host-network", "ollama"),
        ("svcacct/container-privileged", "ollama"),
    ];
    assert_eq!(
        got,
        want.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_compose_stack_from_docker_inspect() {
    let empty = tempfile::tempdir().unwrap();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/docker-inspect.json"
    );
    let out = svcacct()
        .arg("--root")
        .arg(empty.path())
        .args(["containers", "--json", "--inspect", fixture])
        .output()
        .unwrap();
    let got = ids(&out.stdout);
    // ollama is on stack_backend (internal): nothing; qdrant on
    // stack_default (not internal): a finding; Open WebUI, a front end, on
    // both: only its Docker socket.
    assert_eq!(
        got,
        [
            (
                "svcacct/container-ai-network".to_string(),
                "stack-qdrant-1".to_string()
            ),
            (
                "svcacct/container-docker-socket".to_string(),
                "stack-webui-1".to_string()
            ),
        ]
    );
}

#[test]
fn bad_inspect_input_names_the_flag() {
    let empty = tempfile::tempdir().unwrap();
    let bad = empty.path().join("bad.json");
    std::fs::write(&bad, "[{\"Name\": ").unwrap();
    for file in [bad.as_path(), Path::new("/nonexistent/inspect.json")] {
        let out = svcacct()
            .arg("--root")
            .arg(empty.path())
            .args(["containers", "--inspect"])
            .arg(file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("svcacct: --inspect: "), "{err}");
    }
}
