//! An image audited with --root is not trusted: its compose files may be
//! FIFOs, links to /dev/zero or out of the root, alias bombs or garbage.
//! Each is said (a finding naming the file) and the run goes on; nothing
//! hangs, nothing outside the root is read.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::time::Duration;

fn run(root: &std::path::Path, extra: &[&str]) -> (i32, String, String) {
    let out = hardkit_testkit::output_within(
        common::aistack()
            .args(["audit", "--json", "--root"])
            .arg(root)
            .args(extra),
        Duration::from_secs(30),
        "aistack audit on a hostile tree",
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn hostile_files_are_said_and_skipped() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for d in ["fifo", "zero", "bomb", "garbage", "big", "ok"] {
        fs::create_dir_all(r.join("opt").join(d)).unwrap();
    }
    hardkit_testkit::mkfifo(&r.join("opt/fifo/compose.yaml"));
    symlink("/dev/zero", r.join("opt/zero/compose.yaml")).unwrap();
    let mut bomb = String::from("x: &a [q, q, q, q, q, q, q, q, q, q]\n");
    for i in 0..7 {
        let prev = if i == 0 {
            "a".to_string()
        } else {
            format!("b{}", i - 1)
        };
        bomb.push_str(&format!("x{i}: &b{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
    }
    fs::write(r.join("opt/bomb/compose.yaml"), bomb).unwrap();
    fs::write(
        r.join("opt/garbage/compose.yaml"),
        b"services:\n  a: [\xff\xfe\n",
    )
    .unwrap();
    let big = fs::File::create(r.join("opt/big/compose.yaml")).unwrap();
    big.set_len(64 << 30).unwrap();
    // A directory linked out of the root is not entered.
    let outside = tempfile::tempdir().unwrap();
    fs::write(
        outside.path().join("compose.yaml"),
        "services:\n  o:\n    image: ollama/ollama\n    ports: [\"11434:11434\"]\n",
    )
    .unwrap();
    symlink(outside.path(), r.join("opt/elsewhere")).unwrap();
    fs::write(
        r.join("opt/ok/compose.yaml"),
        "services:\n  llm:\n    image: ollama/ollama\n    ports: [\"11434:11434\"]\n",
    )
    .unwrap();

    let (code, stdout, stderr) = run(r, &[]);
    assert_eq!(code, 1, "{stderr}");
    let unreadable: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("aistack/file-unreadable"))
        .collect();
    for d in ["fifo", "zero", "bomb", "garbage", "big"] {
        assert!(
            unreadable
                .iter()
                .any(|l| l.contains(&format!("/opt/{d}/compose.yaml"))),
            "{d}: {stdout}"
        );
    }
    // The good file is still judged; the one outside the root is not read.
    assert!(stdout.contains("\"name\":\"llm\""), "{stdout}");
    assert!(!stdout.contains("\"name\":\"o\""), "{stdout}");
}

#[test]
fn bad_arguments_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(t.path(), &["--compose", "relative/compose.yaml"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--compose relative/compose.yaml"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&t.path().join("missing"), &[]);
    assert_eq!(code, 2, "{stderr}");
}

/// A compose file in a directory a local user can write (their home): the
/// user could swap the file for a link to /etc/shadow between the check and
/// the write, so apply refuses it (exit 2), writes nothing, and says whose
/// it is. Needs root (the chown).
#[test]
fn apply_refuses_a_directory_another_user_controls() {
    if !hardkit_core::oracle::require_root("aistack apply in a user's directory (chown)") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    let dir = r.join("home/alice/ai");
    fs::create_dir_all(&dir).unwrap();
    let compose = dir.join("compose.yaml");
    let text = "services:\n  llm:\n    image: ollama/ollama\n    ports:\n      - \"11434:11434\"\n";
    fs::write(&compose, text).unwrap();
    for d in [r.join("home/alice"), dir.clone()] {
        std::os::unix::fs::chown(&d, Some(1000), Some(1000)).unwrap();
    }
    let out = common::aistack()
        .args(["apply", "--root"])
        .arg(r)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("home/alice") && stderr.contains("1000"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&compose).unwrap(), text);
}
