//! `fwplan apply`, `confirm` and `rollback` for real, inside throwaway
//! network namespaces (`ip netns exec`), with state under a temp --root.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::*;

fn need(test: &str) -> bool {
    hardkit_core::oracle::require_root(test) && hardkit_core::oracle::oracle(test, "nft").is_some()
}

/// Run fwplan inside the namespace, with no SSH session in the environment
/// unless `ssh` is given.
fn fwplan_in(ns: &Netns, root: &Path, args: &[&str], ssh: Option<&str>) -> Output {
    let mut cmd = std::process::Command::new("ip");
    cmd.args(["netns", "exec", &ns.name, env!("CARGO_BIN_EXE_fwplan")])
        .args(args)
        .arg("--root")
        .arg(root)
        // (empty, not unset: unset would send fwplan looking for the
        // connection of whoever runs the tests over SSH)
        .env("SSH_CONNECTION", "");
    if let Some(conn) = ssh {
        cmd.env("SSH_CONNECTION", conn);
    }
    cmd.output().unwrap()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn table_has(ns: &Netns, needle: &str) -> bool {
    ns.table().is_some_and(|t| t.contains(needle))
}

/// fail2ban's table stands for every table that is not ours.
fn add_foreign_table(ns: &Netns) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f2b.nft");
    std::fs::write(&f, "table inet f2b-table {\n\tset addr-set-sshd {\n\t\ttype ipv4_addr\n\t\telements = { 203.0.113.5 }\n\t}\n\tchain f2b-chain {\n\t\ttype filter hook input priority filter - 1; policy accept;\n\t\tip saddr @addr-set-sshd reject\n\t}\n}\n").unwrap();
    assert!(ns.nft_file(&f, false).status.success());
}

fn foreign_table_intact(ns: &Netns) -> bool {
    let out = ns.exec("nft", &["list", "table", "inet", "f2b-table"]);
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("203.0.113.5")
}

#[test]
fn unconfirmed_apply_rolls_back_after_the_timeout() {
    if !need("fwplan apply: --confirm rollback") {
        return;
    }
    let ns = Netns::new(format!("{}-ap", unique_tag()));
    let root = tempfile::tempdir().unwrap();
    add_foreign_table(&ns);
    ok(&fwplan_in(
        &ns,
        root.path(),
        &["apply", "--allow", "81/tcp"],
        None,
    ));
    assert!(table_has(&ns, "tcp dport 81 accept"));

    let started = Instant::now();
    let out = fwplan_in(
        &ns,
        root.path(),
        &["apply", "--allow", "80/tcp", "--confirm", "2s"],
        None,
    );
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("rollback armed"));
    assert!(table_has(&ns, "tcp dport 80 accept") && !table_has(&ns, "dport 81"));

    // The apply process has exited: the timer is on its own, in another
    // session than ours.
    let timer = find_timer(root.path()).expect("a rollback-timer process");
    // SAFETY: getsid has no preconditions.
    let (timer_sid, our_sid) = unsafe { (libc::getsid(timer), libc::getsid(0)) };
    assert_ne!(
        timer_sid, our_sid,
        "the timer must not share the caller's session"
    );

    while !table_has(&ns, "dport 81") && started.elapsed() < Duration::from_secs(8) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let took = started.elapsed();
    assert!(
        table_has(&ns, "tcp dport 81 accept"),
        "not rolled back: {:?}",
        ns.table()
    );
    assert!(!table_has(&ns, "dport 80"));
    assert!(
        took >= Duration::from_secs(2),
        "rolled back too early: {took:?}"
    );
    assert!(foreign_table_intact(&ns), "another table was touched");

    let late = fwplan_in(&ns, root.path(), &["confirm"], None);
    assert_eq!(late.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&late.stderr).contains("too late"),
        "{late:?}"
    );
}

fn find_timer(root: &Path) -> Option<i32> {
    let root = root.to_str()?;
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        (cmd.contains("rollback-timer") && cmd.contains(root)).then_some(pid)
    })
}

#[test]
fn confirmed_apply_stays_and_rollback_restores_on_demand() {
    if !need("fwplan apply: confirm and rollback") {
        return;
    }
    let ns = Netns::new(format!("{}-cf", unique_tag()));
    let root = tempfile::tempdir().unwrap();
    ok(&fwplan_in(
        &ns,
        root.path(),
        &["apply", "--allow", "81/tcp"],
        None,
    ));
    ok(&fwplan_in(
        &ns,
        root.path(),
        &["apply", "--allow", "80/tcp", "--confirm", "2s"],
        None,
    ));
    // A second apply while one is unconfirmed is refused.
    let again = fwplan_in(&ns, root.path(), &["apply", "--allow", "82/tcp"], None);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("pending"),
        "{again:?}"
    );
    ok(&fwplan_in(&ns, root.path(), &["confirm"], None));
    std::thread::sleep(Duration::from_millis(3000));
    assert!(
        table_has(&ns, "tcp dport 80 accept"),
        "confirmed ruleset was rolled back"
    );

    ok(&fwplan_in(&ns, root.path(), &["rollback"], None));
    assert!(table_has(&ns, "tcp dport 81 accept") && !table_has(&ns, "dport 80"));

    // Re-applying the same ruleset reports no change.
    ok(&fwplan_in(
        &ns,
        root.path(),
        &["apply", "--allow", "81/tcp"],
        None,
    ));
    let same = fwplan_in(
        &ns,
        root.path(),
        &["apply", "--allow", "81/tcp", "--json"],
        None,
    );
    ok(&same);
    let text = String::from_utf8_lossy(&same.stdout).into_owned();
    let load = text
        .lines()
        .find(|l| l.contains("\"op\":\"load\""))
        .expect("a load action");
    let action = hardkit_core::record::decode_strict::<fwplan::plan::PlanAction>(load)
        .unwrap()
        .body;
    assert!(!action.changed, "{load}");
}

#[test]
fn first_apply_rolls_back_to_no_table() {
    if !need("fwplan apply: rollback to nothing") {
        return;
    }
    let ns = Netns::new(format!("{}-nt", unique_tag()));
    let root = tempfile::tempdir().unwrap();
    add_foreign_table(&ns);
    ok(&fwplan_in(
        &ns,
        root.path(),
        &["apply", "--allow", "80/tcp"],
        None,
    ));
    assert!(ns.table().is_some());
    ok(&fwplan_in(&ns, root.path(), &["rollback"], None));
    assert!(ns.table().is_none(), "{:?}", ns.table());
    assert!(foreign_table_intact(&ns));
}

#[test]
fn lockout_and_bad_input_apply_nothing() {
    if !need("fwplan apply: lockout refusal") {
        return;
    }
    let ns = Netns::new(format!("{}-lk", unique_tag()));
    let root = tempfile::tempdir().unwrap();
    let ssh = Some("198.51.100.9 50022 192.0.2.1 22");
    let out = fwplan_in(
        &ns,
        root.path(),
        &["apply", "--limit", "22/tcp@192.0.2.0/24"],
        ssh,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to apply") && err.contains("198.51.100.9"),
        "{err}"
    );
    assert!(ns.table().is_none());

    // A blocked client is locked out too.
    let dir = tempfile::tempdir().unwrap();
    let block = dir.path().join("b");
    std::fs::write(&block, "198.51.100.0/24\n").unwrap();
    let out = fwplan_in(
        &ns,
        root.path(),
        &[
            "apply",
            "--allow",
            "80/tcp",
            "--block-from",
            block.to_str().unwrap(),
        ],
        ssh,
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(ns.table().is_none());

    for bad in [
        vec!["apply", "--allow", "70000/tcp"],
        vec!["apply", "--allow", "80/tcp@10.0.0.300/8"],
        vec!["apply", "--deny", "22/tcp"],
        vec!["apply", "--allow", "80/tcp", "--allow", "80/tcp"],
        vec!["apply"],
        vec!["apply", "--allow", "80/tcp", "--confirm", "soon"],
    ] {
        let out = fwplan_in(&ns, root.path(), &bad, None);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {out:?}");
        assert!(ns.table().is_none(), "{bad:?} applied something");
    }

    // --check validates with nft -c and applies nothing.
    let out = fwplan_in(
        &ns,
        root.path(),
        &["apply", "--check", "--allow", "80/tcp"],
        None,
    );
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing applied"));
    assert!(ns.table().is_none());

    // With --force the operator takes responsibility.
    let out = fwplan_in(
        &ns,
        root.path(),
        &["apply", "--force", "--limit", "22/tcp@192.0.2.0/24"],
        ssh,
    );
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning (--force)"));
    assert!(ns.table().is_some());
}

/// Issue 14: a rollback timer that was killed left its `pending` marker
/// behind, and every later apply said only "a rollback is pending". Now
/// apply sees the timer is gone and says how to go on; rollback does.
#[test]
fn a_killed_timer_is_noticed_and_rollback_clears_the_stale_state() {
    if !need("fwplan apply: a killed rollback timer") {
        return;
    }
    let ns = Netns::new(format!("{}-kt", unique_tag()));
    let root = tempfile::tempdir().unwrap();
    ok(&fwplan_in(
        &ns,
        root.path(),
        &["apply", "--allow", "81/tcp"],
        None,
    ));
    ok(&fwplan_in(
        &ns,
        root.path(),
        &["apply", "--allow", "80/tcp", "--confirm", "60s"],
        None,
    ));
    let pid = find_timer(root.path()).expect("the detached timer runs");
    // SAFETY: kill(2) on the timer this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while find_timer(root.path()).is_some() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let again = fwplan_in(&ns, root.path(), &["apply", "--allow", "82/tcp"], None);
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("no longer running") && err.contains("fwplan rollback"),
        "{err}"
    );
    ok(&fwplan_in(&ns, root.path(), &["rollback"], None));
    assert!(table_has(&ns, "tcp dport 81 accept") && !table_has(&ns, "dport 80"));
    ok(&fwplan_in(
        &ns,
        root.path(),
        &["apply", "--allow", "82/tcp"],
        None,
    ));
}

/// `apply --check` wrote its temporary file by path: a state directory
/// swapped for a link by whoever can write its parent sent root's write
/// (and unlink) elsewhere. Now it is refused and the target is untouched.
#[test]
fn check_never_writes_through_a_planted_state_directory_link() {
    use std::os::unix::fs::MetadataExt;
    if !need("fwplan apply --check: planted link") {
        return;
    }
    let ns = Netns::new(format!("{}-ck", unique_tag()));
    let root = tempfile::tempdir().unwrap();
    let victim = tempfile::tempdir().unwrap();
    let hardkit = root.path().join("var/lib/hardkit");
    std::fs::create_dir_all(&hardkit).unwrap();
    std::os::unix::fs::chown(&hardkit, Some(4242), Some(4242)).unwrap();
    std::os::unix::fs::symlink(victim.path(), hardkit.join("fwplan")).unwrap();
    std::os::unix::fs::lchown(hardkit.join("fwplan"), Some(4242), Some(4242)).unwrap();
    let stamp = |m: std::fs::Metadata| (m.mtime(), m.mtime_nsec());
    let before = stamp(std::fs::metadata(victim.path()).unwrap());
    let out = fwplan_in(
        &ns,
        root.path(),
        &["apply", "--check", "--allow", "80/tcp"],
        None,
    );
    assert_eq!(
        stamp(std::fs::metadata(victim.path()).unwrap()),
        before,
        "root wrote through the planted link: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("var/lib/hardkit/fwplan"), "{err}");
}
