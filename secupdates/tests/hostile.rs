//! A tree audited with `--root` is not trusted: where a configuration,
//! dpkg's status or apt's lists are expected it may offer a FIFO (a read
//! would wait for a writer forever), a link to /dev/zero (a read never
//! ends; resolved inside the tree, where it is the tree's own) or a huge
//! sparse file. secupdates must finish, promptly, and say
//! what it refused, whatever the tree holds. (Before the reads were bounded,
//! this test hung on the FIFO.)

use std::fs;
use std::os::unix::fs::symlink;
use std::process::Command;
use std::time::Duration;

fn secupdates() -> Command {
    Command::new(env!("CARGO_BIN_EXE_secupdates"))
}

use hardkit_testkit::mkfifo;

/// Run with a deadline: a hang is a failure, not a stuck test run.
fn run_within(mut cmd: Command, limit: Duration) -> (i32, String, String) {
    let out = hardkit_testkit::output_within(
        &mut cmd,
        limit,
        "secupdates did not finish: it read something it should have refused",
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("tempdir");
    for d in [
        "etc/apt/apt.conf.d",
        "etc/apt/sources.list.d",
        "var/lib/dpkg",
        "var/lib/apt/lists",
    ] {
        fs::create_dir_all(t.path().join(d)).expect("mkdir");
    }
    fs::write(
        t.path().join("var/lib/dpkg/status"),
        "Package: unattended-upgrades\nStatus: install ok installed\nArchitecture: all\nVersion: 2.12\n",
    )
    .expect("status");
    t
}

#[test]
fn fifos_and_endless_files_are_refused_without_hanging() {
    let t = tree();
    let r = t.path();
    mkfifo(&r.join("etc/os-release"));
    mkfifo(&r.join("etc/apt/sources.list"));
    mkfifo(&r.join("etc/fifo"));
    symlink("/dev/zero", r.join("etc/apt/apt.conf.d/30zero")).expect("link");
    fs::write(
        r.join("etc/apt/apt.conf.d/40include"),
        "#include /etc/fifo;\n",
    )
    .expect("write");
    let lists = r.join("var/lib/apt/lists");
    fs::write(
        lists.join("deb.debian.org_debian-security_dists_trixie-security_InRelease"),
        "Origin: Debian\nLabel: Debian-Security\nCodename: trixie-security\n",
    )
    .expect("release");
    mkfifo(
        &lists.join(
            "deb.debian.org_debian-security_dists_trixie-security_main_binary-amd64_Packages",
        ),
    );
    // A sparse file of 64 GiB where a source list is expected.
    let sparse = fs::File::create(r.join("etc/apt/sources.list.d/huge.list")).expect("create");
    sparse.set_len(64 << 30).expect("set_len");
    for args in [
        &["audit", "--json"][..],
        &["pending", "--json"],
        &["dump", "APT"],
        &["apply", "--check"],
    ] {
        let mut cmd = secupdates();
        cmd.arg("--root").arg(r).args(args);
        let (code, out, err) = run_within(cmd, Duration::from_secs(20));
        assert!(code <= 2, "{args:?}: exit {code}: {err}");
        if args[0] == "audit" {
            // The #include of the FIFO is refused at its line.
            assert!(
                out.contains("secupdates/apt-config-broken") && out.contains("40include"),
                "{args:?}: {out}"
            );
        }
        if args[0] == "pending" {
            assert!(out.contains("not a regular file"), "{args:?}: {out}");
        }
    }
}

#[test]
fn bad_flags_name_the_flag_and_exit_2() {
    let t = tree();
    let out = secupdates()
        .arg("--root")
        .arg(t.path())
        .args(["apply", "--check", "--reboot-at", "25:00"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("secupdates: ") && err.contains("--reboot-at"),
        "{err}"
    );
    let out = secupdates()
        .args(["--root", "/nonexistent-root", "audit"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn apply_on_a_system_that_is_not_debian_writes_nothing() {
    let t = tempfile::tempdir().expect("tempdir");
    let out = secupdates()
        .arg("--root")
        .arg(t.path())
        .arg("apply")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a Debian system"));
    assert_eq!(
        fs::read_dir(t.path()).expect("dir").count(),
        0,
        "nothing written"
    );
}
