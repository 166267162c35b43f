//! Bad input stops svcacct before anything is written: exit 2, and an error
//! that names the flag (or NAME) and what would be accepted.

mod common;

use std::fs;

use common::{snapshot, svcacct, tree};

fn rejected(extra_setup: impl FnOnce(&std::path::Path), args: &[&str], must_mention: &[&str]) {
    let t = tree();
    extra_setup(t.path());
    let before = snapshot(t.path());
    for verb in ["plan", "apply"] {
        let mut a = vec![verb];
        a.extend_from_slice(args);
        let out = svcacct(t.path(), &a);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{a:?}: {stderr}");
        for m in must_mention {
            assert!(
                stderr.contains(m),
                "{a:?}: error does not mention {m}: {stderr}"
            );
        }
        assert!(
            out.stdout.is_empty()
                || !String::from_utf8_lossy(&out.stdout).contains("\"changed\":true")
        );
        assert_eq!(snapshot(t.path()), before, "{a:?} wrote something");
    }
}

#[test]
fn bad_name() {
    rejected(
        |_| {},
        &["Agent", "--exec", "/bin/true"],
        &["NAME", "lowercase"],
    );
    rejected(
        |_| {},
        &["12345", "--exec", "/bin/true"],
        &["NAME", "digits"],
    );
    rejected(
        |_| {},
        &["a-very-long-service-account-name-x", "--exec", "/bin/true"],
        &["NAME", "31"],
    );
}

#[test]
fn existing_regular_user() {
    rejected(
        |root| {
            let passwd = root.join("etc/passwd");
            let mut text = fs::read_to_string(&passwd).unwrap();
            text.push_str("bob:x:1001:1001:Bob:/home/bob:/bin/bash\n");
            fs::write(&passwd, text).unwrap();
        },
        &["bob", "--exec", "/bin/true"],
        &["NAME bob", "non-system"],
    );
}

#[test]
fn relative_paths() {
    rejected(
        |_| {},
        &[
            "agent",
            "--exec",
            "/bin/true",
            "--writable",
            "var/lib/agent",
        ],
        &["--writable", "relative"],
    );
    rejected(
        |_| {},
        &["agent", "--exec", "/bin/true", "--env-file", "agent.env"],
        &["--env-file", "relative"],
    );
    rejected(
        |_| {},
        &["agent", "--exec", "/bin/true", "--readonly", "../etc"],
        &["--readonly"],
    );
}

#[test]
fn exec_not_absolute() {
    rejected(
        |_| {},
        &["agent", "--exec", "agent --serve"],
        &["--exec", "absolute"],
    );
}

#[test]
fn port_out_of_range() {
    rejected(
        |_| {},
        &["agent", "--exec", "/bin/true", "--listen", "65536"],
        &["--listen", "65535"],
    );
    rejected(
        |_| {},
        &["agent", "--exec", "/bin/true", "--listen", "http"],
        &["--listen"],
    );
}

#[test]
fn contradictions() {
    rejected(
        |_| {},
        &[
            "agent",
            "--exec",
            "/bin/true",
            "--listen",
            "80",
            "--no-network",
        ],
        &["--no-network", "--listen"],
    );
    rejected(
        |_| {},
        &["agent", "--exec", "/bin/true", "--cpu-quota", "lots"],
        &["--cpu-quota"],
    );
}

/// The review step the refusal points at: `plan NAME ... --diff` shows the
/// change to the hand-written file as a real multi-line unified diff (not
/// one line with literal `\n`), writes nothing, and exits 1 (would change).
#[test]
fn plan_diff_shows_the_files_apply_would_refuse() {
    let handwritten = "[Service]\nExecStart=/usr/bin/agent\n";
    for force in [&[][..], &["--force"]] {
        let t = tree();
        let unit = t.path().join("etc/systemd/system/agent.service");
        fs::create_dir_all(unit.parent().unwrap()).unwrap();
        fs::write(&unit, handwritten).unwrap();
        let before = snapshot(t.path());
        let mut args = vec!["plan", "agent", "--exec", "/bin/true", "--diff"];
        args.extend_from_slice(force);
        let out = svcacct(t.path(), &args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            !stdout.contains("\\n"),
            "{args:?}: escaped newlines: {stdout}"
        );
        let lines: Vec<&str> = stdout.lines().collect();
        for want in [
            "--- /etc/systemd/system/agent.service",
            "+++ /etc/systemd/system/agent.service",
            "-ExecStart=/usr/bin/agent",
            "+ExecStart=/bin/true",
            "+User=agent",
            "--- /etc/tmpfiles.d/agent.conf",
        ] {
            assert!(
                lines.contains(&want),
                "{args:?}: no line {want:?}: {stdout}"
            );
        }
        assert!(lines.iter().any(|l| l.starts_with("@@ ")), "{stdout}");
        // Without --force, plan says that apply will need it.
        assert_eq!(
            stderr.contains("apply replaces it only with --force"),
            force.is_empty(),
            "{args:?}: {stderr}"
        );
        assert_eq!(snapshot(t.path()), before, "{args:?} wrote something");
    }
}

#[test]
fn a_file_svcacct_did_not_write_needs_force() {
    let handwritten = "[Service]\nExecStart=/usr/bin/agent\n";
    for check in [&[][..], &["--check"]] {
        let t = tree();
        let unit = t.path().join("etc/systemd/system/agent.service");
        fs::create_dir_all(unit.parent().unwrap()).unwrap();
        fs::write(&unit, handwritten).unwrap();
        let before = snapshot(t.path());
        let mut args = vec!["apply", "agent", "--exec", "/bin/true"];
        args.extend_from_slice(check);
        let out = svcacct(t.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        // The advice must be a command that works: plan NAME ... --diff.
        for m in [
            "/etc/systemd/system/agent.service",
            "--force",
            "svcacct plan agent ... --diff",
        ] {
            assert!(stderr.contains(m), "{args:?}: no {m}: {stderr}");
        }
        assert_eq!(snapshot(t.path()), before, "{args:?} wrote something");
    }
    if !hardkit_core::oracle::require_root("svcacct::a_file_svcacct_did_not_write_needs_force") {
        return;
    }
    let t = tree();
    let unit = t.path().join("etc/systemd/system/agent.service");
    fs::create_dir_all(unit.parent().unwrap()).unwrap();
    fs::write(&unit, handwritten).unwrap();
    let out = svcacct(
        t.path(),
        &["apply", "agent", "--exec", "/bin/true", "--force", "-q"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let backup = t
        .path()
        .join("etc/systemd/system/agent.service.hardkit-bak~");
    assert_eq!(fs::read_to_string(backup).unwrap(), handwritten);
    assert!(fs::read_to_string(&unit)
        .unwrap()
        .starts_with(svcacct::generated_files::GENERATED_MARK));
}
