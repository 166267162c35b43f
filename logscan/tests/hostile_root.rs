//! A tree audited with `--root` may hold a FIFO where a log is expected:
//! opening it would wait for a writer forever (first-five and monitor read
//! the tree's auth.log and audit.log this way). logscan refuses it at once,
//! names it, and goes on with the other files. (Before, `summary` and
//! `audit` hung here.) A pipe given on this machine (`<(journalctl ...)`)
//! is still read.

use std::process::Command;
use std::time::Duration;

use hardkit_testkit::mkfifo;

fn run_within(mut cmd: Command, limit: Duration) -> std::process::Output {
    hardkit_testkit::output_within(
        &mut cmd,
        limit,
        "logscan did not finish: it opened a FIFO of the tree",
    )
}

#[test]
fn a_fifo_in_the_tree_is_refused_not_waited_for() {
    let t = tempfile::tempdir().unwrap();
    let log = t.path().join("var/log");
    std::fs::create_dir_all(log.join("audit")).unwrap();
    mkfifo(&log.join("auth.log"));
    mkfifo(&log.join("audit/audit.log"));
    std::fs::write(
        log.join("auth.log.1"),
        "Nov 20 10:00:00 h sshd[1]: Failed password for root from 192.0.2.9 port 1 ssh2\n",
    )
    .unwrap();
    for args in [
        &[
            "summary",
            "--json",
            "/var/log/auth.log.1",
            "/var/log/auth.log",
        ][..],
        &["audit", "--json", "/var/log/audit/audit.log"],
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_logscan"));
        cmd.arg("--root").arg(t.path()).args(args);
        let out = run_within(cmd, Duration::from_secs(10));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stdout}");
        assert!(stdout.contains("not a regular file"), "{args:?}: {stdout}");
    }
}

#[test]
fn a_pipe_of_this_machine_is_still_read() {
    let mut cmd = Command::new("bash");
    cmd.arg("-c").arg(format!(
        "{} summary --json <(printf 'Nov 20 10:00:00 h sshd[1]: Failed password for root from 192.0.2.9 port 1 ssh2\\n')",
        env!("CARGO_BIN_EXE_logscan")
    ));
    let out = run_within(cmd, Duration::from_secs(10));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("192.0.2.9"), "{stdout}");
}
