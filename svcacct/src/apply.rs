//! Carry out a plan, idempotently: each step compares the system with what
//! it should be and reports `changed`; `--check` stops there; files are
//! replaced atomically with explicit mode and owner after the program that
//! reads them accepted the new text (visudo, logrotate).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use hardkit_core::atomic::{self, WriteOptions};
use hardkit_core::dirfd::{DirError, TrustedDir};
use hardkit_core::program::find_program;
use hardkit_core::record::Action;
use hardkit_core::{BytesPath, Root};

use crate::account_files;
use crate::existing_unit;
use crate::plan::{Owner, Step, Validator, NOLOGIN};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    /// Write nothing; report what would change.
    pub check: bool,
    /// Put a unified diff in each file action.
    pub diff: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Root(#[from] hardkit_core::root::RootError),
    #[error(transparent)]
    Atomic(#[from] atomic::AtomicError),
    #[error("{}: {what}: {source}", .path.display())]
    Io {
        path: PathBuf,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("{program}: {message}")]
    Command { program: String, message: String },
    #[error(transparent)]
    Accounts(#[from] crate::accounts::AccountsError),
    #[error(transparent)]
    Dir(#[from] DirError),
}

fn io<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(std::io::Error) -> ApplyError + 'a {
    move |source| ApplyError::Io {
        path: path.to_path_buf(),
        what,
        source,
    }
}

fn octal(mode: u32) -> String {
    format!("{mode:04o}")
}

/// Carry out (or with `check`, only assess) every step, returning one action each.
pub fn apply(steps: &[Step], root: &Root, mode: Mode) -> Result<Vec<Action>, ApplyError> {
    let mut actions = Vec::new();
    for step in steps {
        actions.push(apply_step(step, root, mode)?);
    }
    // On the running system, systemd must re-read a changed unit; a tree
    // under --root is read fresh when it boots.
    if root.is_host() {
        let unit = actions
            .iter()
            .find(|a| a.op == "write" && a.path.as_path().starts_with("/etc/systemd/system"))
            .filter(|a| a.changed)
            .map(|a| a.path.clone());
        if let Some(unit) = unit {
            let running = Path::new("/run/systemd/system").is_dir();
            if running && !mode.check {
                if let Some(systemctl) = find_program("systemctl") {
                    run(&systemctl, &["daemon-reload"])?;
                }
            }
            actions.push(Action {
                op: "reload".into(),
                path: unit,
                mode: None,
                owner: None,
                changed: running,
                diff: None,
            });
        }
    }
    Ok(actions)
}

fn apply_step(step: &Step, root: &Root, mode: Mode) -> Result<Action, ApplyError> {
    match step {
        Step::Group { name, gid, exists } => {
            let changed = !*exists;
            if changed && !mode.check {
                add_group(root, name, *gid)?;
            }
            Ok(Action {
                op: "groupadd".into(),
                path: BytesPath::new("/etc/group"),
                mode: None,
                owner: Some(format!("{name}:{name}")),
                changed,
                diff: None,
            })
        }
        Step::User {
            name,
            uid,
            gid,
            home,
            gecos,
            exists,
        } => {
            let changed = !*exists;
            if changed && !mode.check {
                add_user(root, name, *uid, *gid, home, gecos)?;
            }
            Ok(Action {
                op: "useradd".into(),
                path: BytesPath::new("/etc/passwd"),
                mode: None,
                owner: Some(format!("{name}:{}", group_of(root, *gid, name))),
                changed,
                diff: None,
            })
        }
        Step::LeaveGroup { user, group } => {
            if !mode.check && !root.is_host() {
                account_files::leave_group(root, user, group)?;
            } else if !mode.check {
                let gpasswd = find_program("gpasswd").ok_or_else(|| ApplyError::Command {
                    program: "gpasswd".into(),
                    message: format!("not installed; remove {user} from {group} by hand"),
                })?;
                run(&gpasswd, &["--delete", user, group])?;
            }
            Ok(Action {
                op: "gpasswd".into(),
                path: BytesPath::new("/etc/group"),
                mode: None,
                owner: Some(format!("{user}:{group}")),
                changed: true,
                diff: None,
            })
        }
        Step::Lockdown {
            name,
            set_shell,
            lock_password,
        } => {
            let changed = *set_shell || *lock_password;
            if changed && !mode.check {
                lock_down(root, name, *set_shell, *lock_password)?;
            }
            Ok(Action {
                op: "usermod".into(),
                path: BytesPath::new("/etc/passwd"),
                mode: None,
                owner: None,
                changed,
                diff: None,
            })
        }
        Step::Dir {
            path,
            mode: bits,
            owner,
        } => {
            // The last component is not followed: the account owns the
            // directory above a nested --writable one and may have swapped
            // it for a link since the last apply.
            let host = root.resolve_parent(path)?;
            let changed = match fs::symlink_metadata(&host) {
                Ok(m) => {
                    !m.is_dir()
                        || m.mode() & 0o7777 != *bits
                        || m.uid() != owner.uid
                        || m.gid() != owner.gid
                }
                Err(_) => true,
            };
            if changed && !mode.check {
                make_dir(&host, *bits, owner)?;
            }
            Ok(Action {
                op: "mkdir".into(),
                path: BytesPath::new(path),
                mode: Some(octal(*bits)),
                owner: Some(owner.label()),
                changed,
                diff: None,
            })
        }
        Step::SecretFile { path, add } => {
            let host = root.resolve_parent(path)?;
            let root_owner = Owner::root();
            let (meta_changed, existing) = match fs::symlink_metadata(&host) {
                Ok(m) => (
                    !m.is_file() || m.mode() & 0o7777 != 0o600 || m.uid() != 0 || m.gid() != 0,
                    true,
                ),
                Err(_) => (true, false),
            };
            // Never through a link: a link here reads as nothing, and
            // set_owner_mode below refuses it.
            let current =
                hardkit_core::input::read_regular_file(&host, hardkit_core::input::MAX_FILE_BYTES)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
            let names = existing_unit::env_file_names(&current);
            let missing: Vec<&(String, String)> =
                add.iter().filter(|(k, _)| !names.contains(k)).collect();
            let changed = meta_changed || !missing.is_empty();
            if changed && !mode.check {
                ensure_parent(&host)?;
                if existing {
                    // Keep the secrets; first fix who may read them, through
                    // a descriptor opened without following a link (an
                    // image's env file linking to a host file stays a link).
                    set_owner_mode(&host, (0, 0), 0o600)?;
                }
                if !existing || !missing.is_empty() {
                    let mut text = current;
                    if !text.is_empty() && !text.ends_with('\n') {
                        text.push('\n');
                    }
                    if !missing.is_empty() {
                        text.push_str("# Moved here from the unit's Environment= by svcacct (a unit file is world-readable)\n");
                    }
                    for (k, v) in missing {
                        text.push_str(&existing_unit::env_file_line(k, v));
                        text.push('\n');
                    }
                    atomic::replace_file(
                        &host,
                        text.as_bytes(),
                        &write_options(0o600, &root_owner),
                    )?;
                }
            }
            Ok(Action {
                op: "write".into(),
                path: BytesPath::new(path),
                mode: Some("0600".into()),
                owner: Some(root_owner.label()),
                changed,
                diff: None,
            })
        }
        Step::File {
            path,
            contents,
            mode: bits,
            owner,
            validator,
            backup,
            private_backup,
        } => {
            let host = root.resolve_parent(path)?;
            let mut opts = write_options(*bits, owner);
            opts.backup = *backup;
            let changed = !atomic::is_current(&host, contents.as_bytes(), &opts);
            let diff = if mode.diff && changed {
                // The old text as a file, never through a link (under
                // --root it could point at a host file) nor from a FIFO.
                let old = hardkit_core::input::read_regular_file(
                    &host,
                    hardkit_core::input::MAX_FILE_BYTES,
                )
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
                Some(hardkit_core::diff::unified(
                    &path.display().to_string(),
                    &old,
                    contents,
                ))
            } else {
                None
            };
            if changed && !mode.check {
                ensure_parent(&host)?;
                let validator = *validator;
                let outcome =
                    atomic::replace_file_validated(&host, contents.as_bytes(), &opts, |tmp| {
                        validate(validator, tmp, root)
                    })?;
                // The old file held secrets (moved to the env file): its
                // backup must not stay readable by everyone.
                if let (true, Some(b)) = (*private_backup, &outcome.backup) {
                    let (above, name) = split(b)?;
                    TrustedDir::open(above)?
                        .set_owner_mode(name, None, Some(0o600))
                        .map_err(io(b, "making the backup private"))?;
                }
            }
            Ok(Action {
                op: "write".into(),
                path: BytesPath::new(path),
                mode: Some(octal(*bits)),
                owner: Some(owner.label()),
                changed,
                diff,
            })
        }
    }
}

/// The name of a group by GID in the tree (the account's own name if unknown yet).
fn group_of(root: &Root, gid: u32, fallback: &str) -> String {
    crate::accounts::Accounts::load(root)
        .ok()
        .and_then(|a| a.group_by_gid(gid).map(|g| g.name.clone()))
        .unwrap_or_else(|| fallback.to_string())
}

fn write_options(mode: u32, owner: &Owner) -> WriteOptions {
    WriteOptions {
        mode,
        owner: Some((owner.uid, owner.gid)),
        backup: true,
    }
}

/// Create the missing directories above `host` (root's, 0755), each
/// through a directory opened without following another user's link.
fn ensure_parent(host: &Path) -> Result<(), ApplyError> {
    let Some(parent) = host.parent() else {
        return Ok(());
    };
    let missing: Vec<&Path> = parent
        .ancestors()
        .take_while(|a| fs::symlink_metadata(a).is_err())
        .collect();
    for dir in missing.into_iter().rev() {
        let (above, name) = split(dir)?;
        // sudo's own package makes /etc/sudoers.d 0750, auditd's
        // /etc/audit and its rules.d too; do the same.
        let mode = if dir.ends_with("etc/sudoers.d")
            || dir.ends_with("etc/audit")
            || dir.ends_with("etc/audit/rules.d")
        {
            0o750
        } else {
            0o755
        };
        TrustedDir::open(above)?
            .mkdir(name, mode)
            .map_err(io(dir, "creating directory"))?;
    }
    Ok(())
}

fn split(path: &Path) -> Result<(&Path, &std::ffi::OsStr), ApplyError> {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => Ok((parent, name)),
        _ => Err(io(path, "creating directory")(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a directory path",
        ))),
    }
}

/// fchown/fchmod an existing file or directory opened with O_NOFOLLOW: a
/// link in its place is refused, never followed.
fn set_owner_mode(host: &Path, owner: (u32, u32), mode: u32) -> Result<(), ApplyError> {
    let (above, name) = split(host)?;
    TrustedDir::open(above)?
        .set_owner_mode(name, Some(owner), Some(mode))
        .map_err(io(
            host,
            "setting owner and mode (a link is never followed)",
        ))
}

/// mkdir, then chown and chmod through a descriptor of the directory itself.
fn make_dir(host: &Path, mode: u32, owner: &Owner) -> Result<(), ApplyError> {
    ensure_parent(host)?;
    let (above, name) = split(host)?;
    let dir = TrustedDir::open(above)?;
    dir.mkdir(name, mode)
        .map_err(io(host, "creating directory"))?;
    let st = dir.stat(name).map_err(io(host, "creating directory"))?;
    if st.st_mode & 0o170000 != 0o040000 {
        return Err(io(host, "creating directory")(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "exists and is not a directory (a link is never followed)",
        )));
    }
    dir.set_owner_mode(name, Some((owner.uid, owner.gid)), Some(mode))
        .map_err(io(host, "setting owner and mode"))
}

fn run(program: &Path, args: &[&str]) -> Result<String, ApplyError> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| ApplyError::Command {
            program: program.display().to_string(),
            message: e.to_string(),
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(ApplyError::Command {
            program: program.display().to_string(),
            message: text.trim().to_string(),
        })
    }
}

/// groupadd --system on the running system; under --root (or without
/// groupadd) the tree's files are edited: groupadd --root would load the
/// tree's NSS modules as root (see [`account_files`]).
fn add_group(root: &Root, name: &str, gid: u32) -> Result<(), ApplyError> {
    let groupadd = find_program("groupadd").filter(|_| root.is_host());
    if let Some(groupadd) = groupadd {
        let gid = gid.to_string();
        let mut args: Vec<&str> = vec!["--system", "--gid", &gid];
        args.push(name);
        run(&groupadd, &args)?;
        return Ok(());
    }
    account_files::add_group(root, name, gid)
}

/// useradd --system on the running system; under --root (or without
/// useradd) the tree's account files are edited.
fn add_user(
    root: &Root,
    name: &str,
    uid: u32,
    gid: u32,
    home: &Path,
    gecos: &str,
) -> Result<(), ApplyError> {
    let useradd = find_program("useradd").filter(|_| root.is_host());
    if let Some(useradd) = useradd {
        let (uid_s, gid_s) = (uid.to_string(), gid.to_string());
        let home_s = home.display().to_string();
        let mut args: Vec<&str> = vec![
            "--system",
            "--uid",
            &uid_s,
            "--gid",
            &gid_s,
            "--home-dir",
            &home_s,
            "--no-create-home",
            "--shell",
            NOLOGIN,
            "--comment",
            gecos,
        ];
        args.push(name);
        run(&useradd, &args)?;
        return Ok(());
    }
    account_files::add_user(root, name, uid, gid, home, gecos, NOLOGIN)
}

/// usermod --shell nologin / --lock on the running system; the tree's files
/// edited under --root.
fn lock_down(root: &Root, name: &str, set_shell: bool, lock: bool) -> Result<(), ApplyError> {
    if !root.is_host() {
        let shell = set_shell.then_some(NOLOGIN);
        return account_files::lock_down(root, name, shell, lock);
    }
    let usermod = find_program("usermod").ok_or_else(|| ApplyError::Command {
        program: "usermod".into(),
        message: format!(
            "not installed; set {name}'s shell to {NOLOGIN} and lock its password by hand"
        ),
    })?;
    let mut args: Vec<&str> = Vec::new();
    if set_shell {
        args.extend(["--shell", NOLOGIN]);
    }
    if lock {
        args.push("--lock");
    }
    args.push(name);
    run(&usermod, &args)?;
    Ok(())
}

/// Run the reading program on the complete temporary file.
fn validate(validator: Validator, tmp: &Path, root: &Root) -> Result<(), String> {
    match validator {
        Validator::None => Ok(()),
        Validator::Visudo => {
            if !root.is_host() {
                if let Some(verdict) = visudo_of_the_tree(root, tmp) {
                    return verdict;
                }
            }
            let Some(visudo) = find_program("visudo") else {
                return Ok(()); // sudo not installed: nothing will read the file.
            };
            let tmp = tmp.display().to_string();
            run(&visudo, &["-c", "-O", "-P", "-f", &tmp])
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        Validator::Logrotate => {
            let Some(logrotate) = find_program("logrotate") else {
                return Ok(());
            };
            check_logrotate(&logrotate, tmp, root)
        }
    }
}

/// Under `--root`, the tree's own `visudo -c` (its sudo release) judges the
/// sudoers file, in hardkit's sandbox: a stranger uid, the tree read-only,
/// the candidate given in its scratch space (made 0440, as `-O -P` want).
/// None when the tree has no visudo (then this machine's judges).
fn visudo_of_the_tree(root: &Root, tmp: &Path) -> Option<Result<(), String>> {
    const VISUDO: &str = "/usr/sbin/visudo";
    if !hardkit_core::program::in_tree(root, VISUDO)
        || !hardkit_core::program::in_tree(root, "/bin/sh")
    {
        return None;
    }
    let contents = match hardkit_core::input::read_regular_file(tmp, 1 << 20) {
        Ok(c) => c,
        Err(e) => return Some(Err(format!("{}: {e}", tmp.display()))),
    };
    let scratch = hardkit_core::sandbox::scratch_dir(root)?;
    let candidate = format!("{scratch}/svcacct-check/sudoers");
    let script = format!("chmod 0440 \"$1\" && exec {VISUDO} -c -O -P -f \"$1\"");
    let args = [
        std::ffi::OsStr::new("-c"),
        script.as_ref(),
        "sh".as_ref(),
        candidate.as_ref(),
    ];
    let out = hardkit_core::sandbox::Sandbox::new(root)
        .with_file(&candidate, contents)
        .run("/bin/sh", &args, b"");
    Some(match out {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "{}'s own visudo: {}",
            root.dir().display(),
            String::from_utf8_lossy(&out.stderr)
                .trim()
                .replace(&candidate, "the new sudoers file")
        )),
        Err(e) => Err(format!(
            "{}'s own visudo in the sandbox: {e}",
            root.dir().display()
        )),
    })
}

/// `logrotate -d FILE`. Its `su USER GROUP` is looked up in the accounts of
/// the system the file is for: under --root, logrotate runs in a private
/// mount namespace where the tree's /etc/passwd and /etc/group are bound
/// over the host's (the host's files are never touched). Where no mount
/// namespace can be made (an unprivileged container), a copy whose `su`
/// names root is checked instead: everything but the account lookups, which
/// the plan itself guarantees (it creates that account).
pub fn check_logrotate(logrotate: &Path, file: &Path, root: &Root) -> Result<(), String> {
    // -d never writes the state file; reading an empty one is enough.
    let state_path = "/dev/null";
    let file_s = file.display().to_string();
    if root.is_host() {
        let output = Command::new(logrotate)
            .args(["-d", "-s", state_path, &file_s])
            .output()
            .map_err(|e| e.to_string())?;
        return logrotate_verdict(&output);
    }
    if let Some(unshare) = find_program("unshare") {
        let passwd = root.resolve("/etc/passwd").map_err(|e| e.to_string())?;
        let group = root.resolve("/etc/group").map_err(|e| e.to_string())?;
        let script = "mount --bind \"$1\" /etc/passwd && mount --bind \"$2\" /etc/group || exit 125; exec \"$3\" -d -s \"$4\" \"$5\"";
        let output = Command::new(unshare)
            .args([
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                "sh",
            ])
            .arg(passwd)
            .arg(group)
            .arg(logrotate)
            .arg(state_path)
            .arg(&file_s)
            .output()
            .map_err(|e| e.to_string())?;
        // unshare exits 1 when it cannot make the namespace; our script 125
        // when it cannot bind; logrotate's own verdicts are 0 and 1.
        let no_namespace = output.status.code() == Some(125)
            || (output.status.code() == Some(1)
                && String::from_utf8_lossy(&output.stderr).starts_with("unshare:"));
        if !no_namespace {
            return logrotate_verdict(&output);
        }
    }
    check_logrotate_su_root(logrotate, file)
}

/// `logrotate -d` on a copy whose `su` and `create` lines name root (an
/// account every host has): the whole file is checked except the account
/// lookups.
pub fn check_logrotate_su_root(logrotate: &Path, file: &Path) -> Result<(), String> {
    let text = fs::read_to_string(file).map_err(|e| e.to_string())?;
    let as_root: String = text
        .lines()
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            match words.as_slice() {
                ["su", ..] => "    su root root".to_string(),
                // `create MODE USER GROUP` names the account too.
                ["create", mode, _, _] => format!("    create {mode} root root"),
                _ => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let copy = dir.path().join("logrotate-check");
    fs::write(&copy, as_root + "\n").map_err(|e| e.to_string())?;
    let output = Command::new(logrotate)
        .args(["-d", "-s", "/dev/null"])
        .arg(&copy)
        .output()
        .map_err(|e| e.to_string())?;
    logrotate_verdict(&output)
}

fn logrotate_verdict(output: &std::process::Output) -> Result<(), String> {
    let text = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    // logrotate -d reports some errors ("unknown option") with status 0.
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("error:")).collect();
    if !output.status.success() || !errors.is_empty() {
        return Err(format!("logrotate -d: {}", errors.join("; ")));
    }
    Ok(())
}
