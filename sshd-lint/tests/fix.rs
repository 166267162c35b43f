//! `--fix`: the smallest change, shown as a diff, written atomically with a
//! backup, re-read to prove the findings are gone, accepted by the real
//! `sshd -t`, idempotent, and refusing to lock everyone out.

use std::path::Path;
use std::process::Command;

use hardkit_core::record::{decode_strict, envelope};
use hardkit_core::{Action, Finding, Severity};

const PASSWD: &str = include_str!("fixtures/accounts/passwd");
const GROUP: &str = include_str!("fixtures/accounts/group");
const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixFixFixFixFixFixFixFixFixFixFixFixFixFixFi alice\n";

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    // A placeholder host key; sshd_accepts() replaces it with a real one.
    let mut all = vec![
        ("etc/passwd", PASSWD),
        ("etc/group", GROUP),
        ("etc/ssh/ssh_host_ed25519_key", "placeholder\n"),
    ];
    all.extend_from_slice(files);
    for (rel, text) in all {
        let p = tmp.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    tmp
}

fn run(root: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sshd-lint"))
        .arg("--root")
        .arg(root)
        .args(["--openssh", "9.2"])
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        err,
    )
}

fn findings(root: &Path) -> Vec<Finding> {
    let (_, out, _) = run(root, &["--json"]);
    out.lines()
        .filter(|l| envelope(l).unwrap().0 == "finding")
        .map(|l| decode_strict::<Finding>(l).unwrap().body)
        .collect()
}

fn high(root: &Path) -> Vec<String> {
    findings(root)
        .into_iter()
        .filter(|f| f.severity >= Severity::High)
        .map(|f| f.id)
        .collect()
}

fn actions(out: &str) -> Vec<Action> {
    out.lines()
        .filter(|l| envelope(l).unwrap().0 == "action")
        .map(|l| decode_strict::<Action>(l).unwrap().body)
        .collect()
}

/// `sshd -t` of the real sshd on the tree, in a private mount namespace.
fn sshd_accepts(root: &Path) -> Option<bool> {
    let sshd = hardkit_core::oracle::oracle("sshd-lint --fix validated by sshd -t", "sshd")?;
    if !hardkit_core::oracle::require_root("sshd-lint --fix validated by sshd -t") {
        return None;
    }
    let ns = Command::new("unshare")
        .args(["-m", "sh", "-c", "mount -t tmpfs tmpfs /mnt"])
        .status();
    if !ns.is_ok_and(|s| s.success()) {
        hardkit_core::oracle::not_run(
            "sshd-lint --fix validated by sshd -t",
            "needs mount namespaces (unshare -m)",
        );
        return None;
    }
    let _ = std::fs::remove_file(root.join("etc/ssh/ssh_host_ed25519_key"));
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(root.join("etc/ssh/ssh_host_ed25519_key"))
        .status()
        .unwrap();
    assert!(keygen.success());
    let script = "set -e; mount -t tmpfs tmpfs /run; mkdir -m 755 /run/sshd; mount --bind \"$1/etc/ssh\" /etc/ssh; \
                  mount --bind \"$1/etc/passwd\" /etc/passwd; mount --bind \"$1/etc/group\" /etc/group; cd /; \
                  \"$2\" -t -f /etc/ssh/sshd_config";
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", script, "sh"])
        .arg(root)
        .arg(sshd)
        .output()
        .unwrap();
    Some(out.status.success())
}

#[test]
fn drop_in_fix_is_a_diff_then_a_write_that_clears_every_high_finding() {
    let t = tree(&[
        ("etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\nCiphers +aes128-cbc\n"),
        ("etc/ssh/sshd_config.d/50-cloud-init.conf", "PasswordAuthentication yes\nPermitRootLogin yes\n"),
        ("home/alice/.ssh/authorized_keys", KEY),
    ]);
    let before = high(t.path());
    assert!(
        before.contains(&"sshd/password-authentication".to_string()),
        "{before:?}"
    );
    let (code, out, err) = run(t.path(), &["--fix"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("+++ b/etc/ssh/sshd_config.d/00-hardkit.conf")
            && out.contains("+PasswordAuthentication no"),
        "{out}"
    );
    assert!(
        out.contains("+PermitRootLogin no") && out.contains("+Ciphers -aes128-cbc"),
        "{out}"
    );
    assert!(
        !t.path()
            .join("etc/ssh/sshd_config.d/00-hardkit.conf")
            .exists(),
        "no write without --write"
    );
    let (code, out, err) = run(t.path(), &["--fix", "--write", "--json"]);
    assert_eq!(code, 0, "{err}");
    let a = actions(&out);
    assert_eq!(a.len(), 1);
    assert!(a[0].changed);
    assert_eq!(
        a[0].path.as_path(),
        Path::new("/etc/ssh/sshd_config.d/00-hardkit.conf")
    );
    assert!(high(t.path()).is_empty(), "{:?}", high(t.path()));
    // Idempotent: a second run changes nothing.
    let (code, out, _) = run(t.path(), &["--fix", "--write", "--json"]);
    assert_eq!(code, 0);
    assert!(actions(&out).iter().all(|a| !a.changed), "{out}");
    if let Some(ok) = sshd_accepts(t.path()) {
        assert!(ok, "sshd -t rejected the fixed config");
    }
}

#[test]
fn main_file_fix_edits_in_place_and_before_the_first_match() {
    let main = "PasswordAuthentication yes\nPermitEmptyPasswords yes\nMatch User bob\n  X11Forwarding yes\n";
    let t = tree(&[
        ("etc/ssh/sshd_config", main),
        ("home/alice/.ssh/authorized_keys", KEY),
    ]);
    let (code, _, err) = run(t.path(), &["--fix", "--write"]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(t.path().join("etc/ssh/sshd_config")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "PasswordAuthentication no");
    assert_eq!(lines[1], "PermitEmptyPasswords no");
    let kbd = lines
        .iter()
        .position(|l| l.starts_with("KbdInteractiveAuthentication no"));
    let m = lines
        .iter()
        .position(|l| l.starts_with("Match User bob"))
        .unwrap();
    assert!(kbd.is_none_or(|k| k < m), "{text}");
    assert_eq!(
        std::fs::read_to_string(t.path().join("etc/ssh/sshd_config.hardkit-bak~")).unwrap(),
        main
    );
    assert!(high(t.path()).is_empty(), "{:?}", high(t.path()));
    if let Some(ok) = sshd_accepts(t.path()) {
        assert!(ok, "sshd -t rejected the fixed config");
    }
}

#[test]
fn fix_keeps_passwords_on_when_nobody_has_a_key_unless_forced() {
    let t = tree(&[(
        "etc/ssh/sshd_config",
        "PasswordAuthentication yes\nPermitRootLogin yes\n",
    )]);
    let (code, out, _) = run(t.path(), &["--fix"]);
    assert_eq!(code, 0);
    assert!(out.contains("lockout guard"), "{out}");
    assert!(
        out.contains("+PermitRootLogin no") && !out.contains("+PasswordAuthentication no"),
        "{out}"
    );
    let (_, out, _) = run(t.path(), &["--fix", "--force"]);
    assert!(out.contains("+PasswordAuthentication no"), "{out}");
}

#[test]
fn fix_creates_the_drop_in_directory_and_keeps_the_main_file_mode() {
    use std::os::unix::fs::PermissionsExt;
    let t = tree(&[
        (
            "etc/ssh/sshd_config",
            "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\n",
        ),
        ("home/alice/.ssh/authorized_keys", KEY),
    ]);
    let (code, _, err) = run(t.path(), &["--fix", "--write"]);
    assert_eq!(code, 0, "{err}");
    let drop_in = t.path().join("etc/ssh/sshd_config.d/00-hardkit.conf");
    assert!(std::fs::read_to_string(&drop_in)
        .unwrap()
        .contains("PermitRootLogin no"));
    assert_eq!(
        std::fs::metadata(&drop_in).unwrap().permissions().mode() & 0o777,
        0o644
    );

    let t = tree(&[
        ("etc/ssh/sshd_config", "PermitRootLogin yes\n"),
        ("home/alice/.ssh/authorized_keys", KEY),
    ]);
    let main = t.path().join("etc/ssh/sshd_config");
    std::fs::set_permissions(&main, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, _, err) = run(t.path(), &["--fix", "--write"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::metadata(&main).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(std::fs::read_to_string(&main)
        .unwrap()
        .starts_with("PermitRootLogin no\n"));
}

#[test]
fn fix_replaces_an_alias_line_and_keeps_crlf() {
    let main = "ChallengeResponseAuthentication yes\r\nUsePAM yes\r\nPasswordAuthentication no\r\n";
    let t = tree(&[
        ("etc/ssh/sshd_config", main),
        ("home/alice/.ssh/authorized_keys", KEY),
    ]);
    let (code, _, err) = run(t.path(), &["--fix", "--write"]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(t.path().join("etc/ssh/sshd_config")).unwrap();
    assert_eq!(
        text,
        "KbdInteractiveAuthentication no\r\nUsePAM yes\r\nPasswordAuthentication no\r\n"
    );
    assert!(high(t.path()).is_empty(), "{:?}", high(t.path()));
}

/// The real `sshd -T -C CONTEXT` on the tree (host key generated, private
/// mount namespace), or None when the oracle cannot run here.
fn sshd_t(root: &Path, context: &str) -> Option<String> {
    let what = "sshd-lint --fix judged by sshd -T -C";
    let sshd = hardkit_core::oracle::oracle(what, "sshd")?;
    if !hardkit_core::oracle::require_root(what) {
        return None;
    }
    let ns = Command::new("unshare")
        .args(["-m", "sh", "-c", "mount -t tmpfs tmpfs /mnt"])
        .status();
    if !ns.is_ok_and(|s| s.success()) {
        hardkit_core::oracle::not_run(what, "needs mount namespaces (unshare -m)");
        return None;
    }
    let key = root.join("etc/ssh/ssh_host_ed25519_key");
    if std::fs::read_to_string(&key).is_ok_and(|k| k == "placeholder\n") {
        std::fs::remove_file(&key).unwrap();
        let keygen = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .unwrap();
        assert!(keygen.success());
    }
    let script = "set -e; mount -t tmpfs tmpfs /run; mkdir -m 755 /run/sshd; mount --bind \"$1/etc/ssh\" /etc/ssh; \
                  mount --bind \"$1/etc/passwd\" /etc/passwd; mount --bind \"$1/etc/group\" /etc/group; cd /; \
                  \"$2\" -T -f /etc/ssh/sshd_config -C \"$3\"";
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", script, "sh"])
        .arg(root)
        .arg(sshd)
        .arg(context)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sshd -T: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ids(root: &Path) -> Vec<String> {
    findings(root).into_iter().map(|f| f.id).collect()
}

/// A `Match User` block that turns passwords back on. The global fix alone
/// (the drop-in) leaves `sshd -T -C user=deploy` at yes and lint at HIGH
/// match-reenables; the fix rewrites the line inside the Match block, where
/// it is, so the matching connections get `no` too, as sshd itself says.
#[test]
fn fix_rewrites_a_match_block_that_turns_passwords_back_on() {
    let main = "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\nMatch User deploy\n    PasswordAuthentication yes\n    X11Forwarding no\n";
    let deploy = "user=deploy,host=x,addr=1.2.3.4";
    for drop_in in [false, true] {
        // Without the Include line the fix edits the main file itself: both
        // the global line and the Match line change in the same file.
        let main = if drop_in {
            main.to_string()
        } else {
            main.replacen("Include /etc/ssh/sshd_config.d/*.conf\n", "", 1)
        };
        let t = tree(&[
            ("etc/ssh/sshd_config", &main),
            ("home/alice/.ssh/authorized_keys", KEY),
        ]);
        if let Some(before) = sshd_t(t.path(), deploy) {
            assert!(before.lines().any(|l| l == "passwordauthentication yes"));
        }
        let (code, out, err) = run(t.path(), &["--fix", "--write"]);
        assert_eq!(code, 0, "{err}");
        assert!(!out.contains("nothing to fix"), "{out}");
        let text = std::fs::read_to_string(t.path().join("etc/ssh/sshd_config")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let m = lines
            .iter()
            .position(|l| *l == "Match User deploy")
            .unwrap();
        assert!(
            lines[m + 1..].contains(&"    PasswordAuthentication no"),
            "{text}"
        );
        assert!(
            !lines[m + 1..].contains(&"    PasswordAuthentication yes"),
            "{text}"
        );
        let found = ids(t.path());
        assert!(
            !found.iter().any(|i| i == "sshd/match-reenables"),
            "{found:?}"
        );
        assert!(high(t.path()).is_empty(), "{:?}", high(t.path()));
        let (code, out, _) = run(t.path(), &["--fix", "--write"]);
        assert_eq!((code, out.contains("nothing to fix")), (0, true), "{out}");
        if let Some(after) = sshd_t(t.path(), deploy) {
            assert!(
                after.lines().any(|l| l == "passwordauthentication no"),
                "{after}"
            );
        }
        if let Some(ok) = sshd_accepts(t.path()) {
            assert!(ok, "sshd -t rejected the fixed config");
        }
    }
}

/// The lockout guard covers the Match block too: with no key anywhere,
/// passwords stay on for everyone (the global line and the Match line).
#[test]
fn fix_leaves_a_match_block_with_passwords_alone_under_the_lockout_guard() {
    let t = tree(&[(
        "etc/ssh/sshd_config",
        "PasswordAuthentication no\nPermitRootLogin yes\nMatch User deploy\n    PasswordAuthentication yes\n",
    )]);
    let (code, out, err) = run(t.path(), &["--fix"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("lockout guard"), "{out}");
    assert!(!out.contains("PasswordAuthentication no\n+"), "{out}");
    assert!(
        !out.lines().any(|l| l == "-    PasswordAuthentication yes"),
        "{out}"
    );
    let (_, out, _) = run(t.path(), &["--fix", "--force"]);
    assert!(
        out.lines().any(|l| l == "-    PasswordAuthentication yes")
            && out.lines().any(|l| l == "+    PasswordAuthentication no"),
        "{out}"
    );
}

/// Issue 14: the lockout guard judged the configuration before the fix.
/// With `PermitRootLogin yes` and a key only for root, the fix wrote
/// `PermitRootLogin no` and `PasswordAuthentication no`: nobody could log
/// in any more. Now the fix is refused and nothing is written.
#[test]
fn fix_refuses_to_take_away_the_last_key_route_to_root() {
    let main = "PasswordAuthentication yes\nPermitRootLogin yes\n";
    let t = tree(&[
        ("etc/ssh/sshd_config", main),
        ("root/.ssh/authorized_keys", KEY),
    ]);
    let (code, out, err) = run(t.path(), &["--fix", "--write"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("refused") && err.contains("root (uid 0)") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(t.path().join("etc/ssh/sshd_config")).unwrap(),
        main
    );
    // Nothing left locked out after the forced fix? That is the operator's call.
    let (code, _, err) = run(t.path(), &["--fix", "--write", "--force"]);
    assert_eq!(code, 0, "{err}");
}

/// A key for an account that cannot become root (bob: no sudo, no wheel)
/// is no way back to root: passwords stay on. The same key with a sudoers
/// rule granting bob ALL is.
#[test]
fn a_key_counts_only_for_an_account_that_can_become_root() {
    let files = [
        ("etc/ssh/sshd_config", "PasswordAuthentication yes\n"),
        ("home/bob/.ssh/authorized_keys", KEY),
    ];
    let t = tree(&files);
    let (code, out, err) = run(t.path(), &["--fix"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("lockout guard"), "{out}");
    assert!(!out.contains("+PasswordAuthentication no"), "{out}");

    let mut files = files.to_vec();
    files.push(("etc/sudoers", "bob ALL=(ALL:ALL) ALL\n"));
    let t = tree(&files);
    let (code, out, err) = run(t.path(), &["--fix"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("lockout guard"), "{out}");
    assert!(out.contains("+PasswordAuthentication no"), "{out}");
}

/// `sshd -t` judges the candidate before the live file is replaced: on a
/// host whose sshd refuses the result (here: an unusable host key), the
/// live file is never touched (its inode's ctime, which the backup's hard
/// link would change, stays the same). Run on "the host" inside a private
/// mount namespace whose /etc/ssh, /etc/passwd, /etc/group and /home are
/// the test tree's.
#[test]
fn sshd_t_judges_the_candidate_before_the_live_file_is_replaced() {
    use std::os::unix::fs::MetadataExt;
    let test = "sshd-lint::sshd_t_judges_the_candidate_before_the_live_file_is_replaced";
    if hardkit_core::oracle::oracle(test, "sshd").is_none()
        || !hardkit_core::oracle::require_root(test)
    {
        return;
    }
    let t = tree(&[
        ("etc/ssh/sshd_config", "PermitRootLogin yes\n"),
        ("home/alice/.ssh/authorized_keys", KEY),
    ]);
    let main = t.path().join("etc/ssh/sshd_config");
    let ctime = |m: &std::fs::Metadata| (m.ctime(), m.ctime_nsec());
    let before = ctime(&std::fs::metadata(&main).unwrap());
    let script = "set -e; mount --bind \"$1/etc/ssh\" /etc/ssh; mount --bind \"$1/etc/passwd\" /etc/passwd; \
                  mount --bind \"$1/etc/group\" /etc/group; mount --bind \"$1/home\" /home; \
                  exec \"$2\" --openssh 9.2 --fix --write";
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(t.path())
        .arg(env!("CARGO_BIN_EXE_sshd-lint"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if err.starts_with("unshare:") || err.starts_with("mount:") {
        hardkit_core::oracle::not_run(test, &format!("needs mount namespaces: {err}"));
        return;
    }
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("sshd -t rejected the change, nothing written"),
        "{err}"
    );
    assert_eq!(
        ctime(&std::fs::metadata(&main).unwrap()),
        before,
        "the live file was replaced before sshd -t judged it"
    );
    assert_eq!(
        std::fs::read_to_string(&main).unwrap(),
        "PermitRootLogin yes\n"
    );
}
