//! `--follow` on a real file in a temp dir: appended lines, rotation
//! (rename + new file, with lines written to the old file after the
//! rename), and truncation.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use hardkit_core::record::decode_strict;
use logscan::event::EventRecord;

fn line(user: &str) -> String {
    format!("Nov 20 10:00:00 h sshd[1]: Invalid user {user} from 192.0.2.9 port 22\n")
}

fn append(path: &std::path::Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[test]
fn follows_appends_rotation_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    std::fs::write(&log, line("old")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_logscan"))
        .args(["--json", "--follow"])
        .arg(&log)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let next_user = |what: &str| -> (String, u64) {
        let l = rx
            .recv_timeout(Duration::from_secs(15))
            .unwrap_or_else(|_| panic!("no event for {what}"));
        let ev = decode_strict::<EventRecord>(&l).unwrap().body;
        (ev.user.unwrap(), ev.source.line)
    };
    // logscan starts at the end of the file: write until it has started
    // (a loaded machine may take a while to start it).
    let mut written = 1;
    let mut ready = false;
    for _ in 0..50 {
        append(&log, &line("ready"));
        written += 1;
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(300)) {
            let ev = decode_strict::<EventRecord>(&l).unwrap().body;
            assert_eq!(ev.user.as_deref(), Some("ready"));
            ready = true;
            break;
        }
    }
    assert!(ready, "logscan --follow never reported an appended line");
    // Drain the other `ready` lines it may have seen.
    std::thread::sleep(Duration::from_millis(700));
    while rx.try_recv().is_ok() {}
    append(&log, &line("appended"));
    written += 1;
    assert_eq!(next_user("append"), ("appended".into(), written));
    // A partial line is held until its newline arrives.
    append(&log, "Nov 20 10:00:00 h sshd[1]: Invalid user par");
    std::thread::sleep(Duration::from_millis(500));
    append(&log, "tial from 192.0.2.9 port 22\n");
    assert_eq!(next_user("partial").0, "partial");

    // Rotation: the old file gets a last line after the rename.
    let rotated = dir.path().join("auth.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    append(&rotated, &line("late"));
    std::thread::sleep(Duration::from_millis(300));
    append(&log, &line("rotated"));
    assert_eq!(next_user("late line of the rotated file").0, "late");
    assert_eq!(next_user("new file"), ("rotated".into(), 1));

    // Truncation: read again from the start.
    std::fs::write(&log, "").unwrap();
    std::thread::sleep(Duration::from_millis(600));
    append(&log, &line("truncated"));
    assert_eq!(next_user("after truncation"), ("truncated".into(), 1));

    child.kill().unwrap();
    child.wait().unwrap();
}
