//! The sandbox against a hostile image: a tree whose "programs" (this
//! machine's bash and mount, copied in with their libraries) try what a
//! hostile `/usr/sbin/sshd` would try when hardkit runs it. Each attack
//! succeeds when the same program is run the old way (`chroot TREE` as
//! root); the tests check both, so they show what the sandbox refuses.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hardkit_core::sandbox::{Sandbox, SandboxError, SANDBOX_UID};
use hardkit_core::Root;

/// Copy a host program and the libraries `ldd` names into the tree.
fn install(tree: &Path, program: &str) {
    let out = Command::new("ldd").arg(program).output().expect("ldd");
    let mut files = vec![PathBuf::from(program)];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        for word in line.split_whitespace() {
            if word.starts_with('/') {
                files.push(PathBuf::from(word));
            }
        }
    }
    for f in files {
        let real = fs::canonicalize(&f).unwrap();
        let dst = tree.join(f.strip_prefix("/").unwrap());
        fs::create_dir_all(dst.parent().unwrap()).unwrap();
        if !dst.exists() {
            fs::copy(&real, &dst).unwrap();
        }
    }
}

/// A small root file system: bash, mount, the usual top directories, a
/// root-only secret and a root-only host key.
fn hostile_tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    fs::set_permissions(r, fs::Permissions::from_mode(0o755)).unwrap();
    for d in ["etc/ssh", "tmp", "run", "dev", "proc", "root"] {
        fs::create_dir_all(r.join(d)).unwrap();
    }
    // usrmerge layouts: /lib64 may be a link on the host; copy by real path.
    for program in [
        "/bin/bash",
        "/bin/mount",
        "/bin/umount",
        "/bin/cat",
        "/bin/ls",
    ] {
        install(r, program);
    }
    fs::write(r.join("etc/secret"), "image secret\n").unwrap();
    fs::set_permissions(r.join("etc/secret"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(r.join("etc/ssh/ssh_host_ed25519_key"), "KEY\n").unwrap();
    fs::set_permissions(
        r.join("etc/ssh/ssh_host_ed25519_key"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    t
}

fn bash(sb: &Sandbox, script: &str) -> Result<(i32, String, String), SandboxError> {
    let out = sb.run("/bin/bash", &[OsStr::new("-c"), OsStr::new(script)], b"")?;
    Ok((
        out.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// One sandbox at a time in this file: the runaway test counts the
/// processes of the sandbox's uid, which another test's would confuse.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn root_only(test: &str) -> Option<std::sync::MutexGuard<'static, ()>> {
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    hardkit_core::oracle::require_root(test).then_some(guard)
}

#[test]
fn runs_the_trees_program_with_its_input() {
    let Some(_one) = root_only("core::sandbox::runs_the_trees_program_with_its_input") else {
        return;
    };
    let t = hostile_tree();
    let root = Root::new(t.path()).unwrap();
    let out = Sandbox::new(&root)
        .run(
            "/bin/bash",
            &[
                OsStr::new("-c"),
                OsStr::new("read x; echo \"got $x\"; echo err >&2; exit 3"),
            ],
            b"hello\n",
        )
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got hello\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    assert_eq!(out.code(), 3);
    // It may write its own scratch space.
    let (code, stdout, _) = bash(
        &Sandbox::new(&root),
        "echo a > /tmp/x && echo b > /run/y && cat /tmp/x /run/y && echo z > /dev/null && echo ok",
    )
    .unwrap();
    assert_eq!((code, stdout.as_str()), (0, "a\nb\nok\n"));
}

#[test]
fn a_hostile_program_cannot_write_the_tree_or_reach_the_host() {
    let Some(_one) =
        root_only("core::sandbox::a_hostile_program_cannot_write_the_tree_or_reach_the_host")
    else {
        return;
    };
    let t = hostile_tree();
    let r = t.path();
    let root = Root::new(r).unwrap();
    // A file of the host's that only root may read, outside the tree.
    let host = tempfile::tempdir().unwrap();
    let host_secret = host.path().join("host-secret");
    fs::write(&host_secret, "host secret\n").unwrap();
    fs::set_permissions(&host_secret, fs::Permissions::from_mode(0o600)).unwrap();
    // And one anyone may read, in a directory anyone may search.
    fs::set_permissions(host.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(host.path().join("public"), "public\n").unwrap();

    let attack = format!(
        "echo owned > /etc/owned; \
         echo owned > /owned; \
         cat {hs} && echo READ-HOST; \
         cat /etc/secret && echo READ-SECRET; \
         mount -o remount,rw / && echo REMOUNTED; \
         echo owned > /etc/owned2; \
         ls /proc/1 >/dev/null 2>&1 && echo SEES-HOST-PROCS; \
         umount -l / 2>/dev/null; umount -l / 2>/dev/null; \
         cat {hp} 2>/dev/null && echo SEES-HOST-FILES; \
         echo $UID",
        hs = host_secret.display(),
        hp = host.path().join("public").display()
    );
    // The old way: chroot as root. The same program does all of it (that
    // is the defect the sandbox removes).
    let old = Command::new("chroot")
        .arg(r)
        .args(["/bin/bash", "-c", &attack])
        .output()
        .unwrap();
    let old_out = String::from_utf8_lossy(&old.stdout);
    assert!(old_out.contains("READ-SECRET"), "chroot as root: {old_out}");
    assert!(
        r.join("etc/owned").exists(),
        "chroot as root writes the tree"
    );
    fs::remove_file(r.join("etc/owned")).unwrap();
    fs::remove_file(r.join("owned")).unwrap();
    let _ = fs::remove_file(r.join("etc/owned2"));

    let (_, stdout, stderr) = bash(&Sandbox::new(&root), &attack).unwrap();
    for bad in [
        "READ-HOST",
        "READ-SECRET",
        "REMOUNTED",
        "SEES-HOST-PROCS",
        "SEES-HOST-FILES",
    ] {
        assert!(!stdout.contains(bad), "{bad}: {stdout}\n{stderr}");
    }
    for f in ["etc/owned", "owned", "etc/owned2"] {
        assert!(!r.join(f).exists(), "the sandbox wrote {f}");
    }
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    // Root inside, a stranger outside.
    assert_eq!(stdout.lines().last(), Some("0"), "{stdout}");
}

#[test]
fn no_network_even_to_the_hosts_loopback() {
    let Some(_one) = root_only("core::sandbox::no_network_even_to_the_hosts_loopback") else {
        return;
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = hostile_tree();
    let root = Root::new(t.path()).unwrap();
    // Outside the sandbox the port answers...
    let (code, _, _) = bash(&Sandbox::new(&root), "exit 0").unwrap();
    assert_eq!(code, 0);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    // ...inside, there is no route to it.
    let (code, stdout, stderr) = bash(
        &Sandbox::new(&root),
        &format!("echo hi > /dev/tcp/127.0.0.1/{port} && echo CONNECTED"),
    )
    .unwrap();
    assert_ne!(code, 0);
    assert!(!stdout.contains("CONNECTED"), "{stdout} {stderr}");
}

#[test]
fn root_only_files_are_readable_only_as_copies() {
    let Some(_one) = root_only("core::sandbox::root_only_files_are_readable_only_as_copies") else {
        return;
    };
    let t = hostile_tree();
    let root = Root::new(t.path()).unwrap();
    let read_key = "cat /etc/ssh/ssh_host_ed25519_key; echo > /etc/ssh/new && echo WROTE";
    let (_, stdout, _) = bash(&Sandbox::new(&root), read_key).unwrap();
    assert!(!stdout.contains("KEY"), "{stdout}");
    let (_, stdout, stderr) =
        bash(&Sandbox::new(&root).readable_copy("/etc/ssh"), read_key).unwrap();
    assert!(stdout.contains("KEY"), "{stdout} {stderr}");
    assert!(!stdout.contains("WROTE"), "the copy is read-only: {stdout}");
    assert!(!t.path().join("etc/ssh/new").exists());
    // The tree's key is untouched and still root's.
    let meta = fs::metadata(t.path().join("etc/ssh/ssh_host_ed25519_key")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 0);
}

#[test]
fn a_link_in_the_image_cannot_make_the_copy_read_a_host_file() {
    let Some(_one) =
        root_only("core::sandbox::a_link_in_the_image_cannot_make_the_copy_read_a_host_file")
    else {
        return;
    };
    let t = hostile_tree();
    let r = t.path();
    let host = tempfile::tempdir().unwrap();
    fs::write(host.path().join("shadow"), "host shadow\n").unwrap();
    // The image's /etc/sudoers is a link to a host path.
    std::os::unix::fs::symlink(host.path().join("shadow"), r.join("etc/sudoers")).unwrap();
    let root = Root::new(r).unwrap();
    let (_, stdout, _) = bash(
        &Sandbox::new(&root).readable_copy("/etc/sudoers"),
        "cat /etc/sudoers",
    )
    .unwrap();
    assert!(!stdout.contains("host shadow"), "{stdout}");
}

#[test]
fn a_runaway_program_is_killed_with_everything_it_started() {
    let Some(_one) =
        root_only("core::sandbox::a_runaway_program_is_killed_with_everything_it_started")
    else {
        return;
    };
    let t = hostile_tree();
    let root = Root::new(t.path()).unwrap();
    let err = bash(
        &Sandbox::new(&root).timeout(Duration::from_millis(500)),
        "( while :; do :; done ) & while :; do :; done",
    )
    .unwrap_err();
    assert!(matches!(err, SandboxError::TimedOut { .. }), "{err}");
    // No process of the sandbox's uid is left running (a killed process
    // may stay a zombie until its new parent reaps it; it runs no more).
    let running = || -> Vec<String> {
        fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let status = fs::read_to_string(e.path().join("status")).ok()?;
                let uid = status.lines().find(|l| l.starts_with("Uid:"))?;
                let state = status.lines().find(|l| l.starts_with("State:"))?;
                (uid.split_whitespace().nth(1) == Some(&SANDBOX_UID.to_string())
                    && !state.contains("zombie"))
                .then(|| format!("{} {state}", e.file_name().to_string_lossy()))
            })
            .collect()
    };
    let mut left = running();
    for _ in 0..40 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        left = running();
    }
    assert!(left.is_empty(), "left running: {left:?}");
}

#[test]
fn the_callers_input_is_read_where_the_program_expects_it_and_stays_read_only() {
    let Some(_one) = root_only("core::sandbox::input_over") else {
        return;
    };
    let t = hostile_tree();
    let root = Root::new(t.path()).unwrap();
    let input = tempfile::tempdir().unwrap();
    fs::write(input.path().join("sshd_config"), "Port 2222\n").unwrap();
    fs::set_permissions(
        input.path().join("sshd_config"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let sb = Sandbox::new(&root).input_over(input.path(), "/etc/ssh");
    let (code, out, _) = bash(
        &sb,
        "cat /etc/ssh/sshd_config; ls /etc/ssh; echo x > /etc/ssh/sshd_config && echo WROTE",
    )
    .unwrap();
    assert_eq!(code, 1, "{out}");
    // The input replaces the tree's directory: its host key is not seen.
    assert_eq!(out, "Port 2222\nsshd_config\n");
    assert_eq!(
        fs::read_to_string(input.path().join("sshd_config")).unwrap(),
        "Port 2222\n"
    );
    assert!(t.path().join("etc/ssh/ssh_host_ed25519_key").exists());
    // A file over a directory, or over a link in the image, is refused.
    let file = input.path().join("sshd_config");
    let err = Sandbox::new(&root)
        .input_over(&file, "/etc/ssh")
        .run("/bin/true", &[], b"")
        .unwrap_err();
    assert!(matches!(err, SandboxError::InputTarget { .. }), "{err}");
    std::os::unix::fs::symlink("/etc", t.path().join("etc/link")).unwrap();
    let err = Sandbox::new(&root)
        .input_over(input.path(), "/etc/link")
        .run("/bin/true", &[], b"")
        .unwrap_err();
    assert!(matches!(err, SandboxError::InputTarget { .. }), "{err}");
}

#[test]
fn a_tree_others_cannot_search_is_a_clear_error() {
    let t = tempfile::tempdir().unwrap();
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o700)).unwrap();
    let root = Root::new(t.path()).unwrap();
    let err = Sandbox::new(&root).run("/bin/true", &[], b"").unwrap_err();
    assert!(err.to_string().contains("not searchable"), "{err}");
}

#[test]
fn each_debian_releases_sshd_reads_its_config_in_the_sandbox() {
    let Some(_one) =
        root_only("core::sandbox::each_debian_releases_sshd_reads_its_config_in_the_sandbox")
    else {
        return;
    };
    for (suite, version) in [
        ("bookworm", "OpenSSH_9.2"),
        ("trixie", "OpenSSH_10.0"),
        ("forky", "OpenSSH_10."),
    ] {
        let test = format!("core::sandbox::sshd_in_the_sandbox::{suite}");
        let Some(dir) = hardkit_core::oracle::debian_root(&test, suite) else {
            continue;
        };
        let root = Root::new(&dir).unwrap();
        let sb = Sandbox::new(&root)
            .readable_copy("/etc/ssh")
            .make_dir("/run/sshd");
        let v = sb.run("/usr/sbin/sshd", &[OsStr::new("-V")], b"").unwrap();
        let banner = String::from_utf8_lossy(&v.stderr).into_owned();
        assert!(banner.starts_with(version), "{suite}: {banner}");
        let t = sb
            .run(
                "/usr/sbin/sshd",
                &[
                    OsStr::new("-T"),
                    OsStr::new("-C"),
                    OsStr::new("user=root,host=h,addr=192.0.2.1"),
                ],
                b"",
            )
            .unwrap();
        let text = String::from_utf8_lossy(&t.stdout);
        assert_eq!(
            t.code(),
            0,
            "{suite}: {}",
            String::from_utf8_lossy(&t.stderr)
        );
        // OpenSSH 10.5 and later print the keyword's mixed-case spelling.
        assert!(
            text.lines().any(|l| l.eq_ignore_ascii_case("port 22")),
            "{suite}: {text}"
        );
    }
}
