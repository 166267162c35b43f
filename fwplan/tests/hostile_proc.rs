//! `fwplan audit --root` reads the tree's /proc/net tables (its listeners
//! and outbound connections). An audited image may put a FIFO there: a read
//! would wait for a writer forever. It is refused and the audit finishes.
//! (Before, fwplan read it with read_to_string and hung.)

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn a_fifo_for_proc_net_tcp_does_not_hang_the_audit() {
    let t = tempfile::tempdir().unwrap();
    let net = t.path().join("proc/net");
    std::fs::create_dir_all(&net).unwrap();
    for table in ["tcp", "tcp6", "udp", "udp6"] {
        assert!(Command::new("mkfifo")
            .arg(net.join(table))
            .status()
            .unwrap()
            .success());
    }
    // An empty ruleset: nothing of the tree's firewall is loaded.
    let ruleset = t.path().join("ruleset.json");
    std::fs::write(
        &ruleset,
        r#"{"nftables": [{"metainfo": {"json_schema_version": 1}}]}"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fwplan"))
        .arg("--root")
        .arg(t.path())
        .args(["audit", "--json", "--ruleset-json"])
        .arg(&ruleset)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("fwplan audit did not finish: it opened a FIFO of the tree");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.code().is_some_and(|c| c <= 2), "{stdout}");
    assert!(!stdout.contains("\"type\":\"socket\""), "{stdout}");
}
