//! `fwplan audit --root` reads the tree's /proc/net tables (its listeners
//! and outbound connections). An audited image may put a FIFO there: a read
//! would wait for a writer forever. It is refused and the audit finishes.
//! (Before, fwplan read it with read_to_string and hung.)

use std::process::Command;
use std::time::Duration;

#[test]
fn a_fifo_for_proc_net_tcp_does_not_hang_the_audit() {
    let t = tempfile::tempdir().unwrap();
    let net = t.path().join("proc/net");
    std::fs::create_dir_all(&net).unwrap();
    for table in ["tcp", "tcp6", "udp", "udp6"] {
        hardkit_testkit::mkfifo(&net.join(table));
    }
    // An empty ruleset: nothing of the tree's firewall is loaded.
    let ruleset = t.path().join("ruleset.json");
    std::fs::write(
        &ruleset,
        r#"{"nftables": [{"metainfo": {"json_schema_version": 1}}]}"#,
    )
    .unwrap();
    let out = hardkit_testkit::output_within(
        Command::new(env!("CARGO_BIN_EXE_fwplan"))
            .arg("--root")
            .arg(t.path())
            .args(["audit", "--json", "--ruleset-json"])
            .arg(&ruleset),
        Duration::from_secs(20),
        "fwplan audit did not finish: it opened a FIFO of the tree",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.code().is_some_and(|c| c <= 2), "{stdout}");
    assert!(!stdout.contains("\"type\":\"socket\""), "{stdout}");
}
