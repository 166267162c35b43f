//! Applying a ruleset without locking anyone out.
//!
//! `apply` checks the new file with `nft -c -f`, saves the live
//! `table inet hardkit` (or the fact that there was none), and loads the new
//! file with one `nft -f`: one kernel transaction, so it is all or nothing.
//! With `--confirm DURATION` it also arms a rollback that runs unless
//! `fwplan confirm` is called in time. The rollback must not depend on the
//! shell that ran `apply` (that shell is exactly what a bad ruleset kills),
//! so it runs in a process of its own:
//!
//! - `detached` (default): fwplan re-executes itself after a double fork and
//!   `setsid`, so it has no controlling terminal, is not in the caller's
//!   session or process group, and is re-parented to init when the caller
//!   exits. It inherits the caller's network namespace, which is what makes
//!   it testable in `ip netns exec`. It does not survive a reboot (nor does
//!   the ruleset) and is killed by logind's `KillUserProcesses=yes`, which
//!   kills every process of a closed session's cgroup; use `systemd` there.
//! - `systemd`: a transient timer, `systemd-run --on-active=DURATION`, owned
//!   by PID 1 and outside every login session. It runs in PID 1's network
//!   namespace, so fwplan refuses it when called from another namespace.
//!
//! Confirm and rollback race safely: the pending marker is claimed with one
//! `rename(2)` by whichever comes first.
//!
//! State lives in `/var/lib/hardkit/fwplan/` (under `--root`):
//! `previous.nft` (what rollback loads), `applied.nft` (the last file
//! loaded), `pending` (token and deadline while a confirm is awaited) and
//! `rolled-back` (when and why the timer restored the previous table), and
//! `lock`, which every step holds with flock(2) while it works.

use std::fs;
use std::io::{self, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hardkit_core::atomic::{replace_file, replace_file_validated, WriteOptions};
use hardkit_core::Root;

use crate::render_nft::TABLE;

pub const STATE_DIR: &str = "/var/lib/hardkit/fwplan";

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("nft is not installed (apt-get install nftables)")]
    NoNft,
    #[error("--root {0}: nft would load the rules into this machine's kernel, not that system's; write them into the tree with `fwplan render --out DIR` (or run fwplan inside that system's own network namespace)")]
    ForeignRoot(String),
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    #[error("nft -c rejected the ruleset, nothing applied: {0}")]
    Check(String),
    #[error("nft -f failed, the previous table is still in place: {0}")]
    Load(String),
    #[error("{0}")]
    Atomic(#[from] hardkit_core::atomic::AtomicError),
    #[error(transparent)]
    Root(#[from] hardkit_core::root::RootError),
    #[error("a rollback is pending from an earlier apply --confirm (until {deadline}); run fwplan confirm or fwplan rollback first")]
    Pending { deadline: String },
    #[error("an earlier apply --confirm was never confirmed nor rolled back: its rollback timer ({timer}) is no longer running, so nothing will undo that ruleset; run `fwplan rollback` to restore the table saved before it, or `fwplan confirm` to keep it, then apply again")]
    StalePending { timer: String },
    #[error("nothing to confirm: {0}")]
    NothingToConfirm(String),
    #[error("nothing to roll back to: no saved table in {0} (fwplan apply saves one)")]
    NoPrevious(String),
    #[error("refusing to apply (use --force to override): {0}")]
    Lockout(String),
    #[error("--rollback-via systemd: {0}")]
    Systemd(String),
    #[error("--confirm '{0}': not a duration (e.g. 60s, 2m; 1s to 1h)")]
    BadDuration(String),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> ApplyError {
    let what = what.into();
    move |source| ApplyError::Io { what, source }
}

/// `60s`, `2m`, `1h`, or plain seconds; 1 second to 1 hour.
pub fn parse_duration(text: &str) -> Result<Duration, ApplyError> {
    let bad = || ApplyError::BadDuration(text.to_string());
    let t = text.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60_000)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3_600_000)
    } else {
        (t, 1000)
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let ms = n.checked_mul(mult).ok_or_else(bad)?;
    if !(1000..=3_600_000).contains(&ms) {
        return Err(bad());
    }
    Ok(Duration::from_millis(ms))
}

/// The nft program.
pub fn nft() -> Result<PathBuf, ApplyError> {
    hardkit_core::program::find_program("nft").ok_or(ApplyError::NoNft)
}

fn run_nft(args: &[&str], input_file: Option<&Path>) -> Result<String, String> {
    let nft = nft().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(nft);
    cmd.args(args);
    if let Some(f) = input_file {
        cmd.arg(f);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running nft: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// `nft -c -f FILE`: parse and check against the running kernel, commit nothing.
pub fn check_file(path: &Path) -> Result<(), ApplyError> {
    run_nft(&["-c", "-f"], Some(path))
        .map(|_| ())
        .map_err(ApplyError::Check)
}

/// A script that puts the live `table inet hardkit` back as it is now; when
/// there is none, a script that removes ours.
pub fn snapshot_table() -> Result<String, ApplyError> {
    let mut script = format!(
        "# fwplan: the table as it was before the last apply\ntable {TABLE}\ndelete table {TABLE}\n"
    );
    // -s (stateless) leaves out counters and dynamic elements' state, which
    // nft cannot load back.
    match run_nft(&["-s", "list", "table", "inet", "hardkit"], None) {
        Ok(listing) => script.push_str(&listing),
        Err(e) if e.contains("No such file or directory") => {}
        Err(e) => return Err(ApplyError::Load(format!("listing the current table: {e}"))),
    }
    Ok(script)
}

/// Where fwplan keeps its state under `root`.
pub struct State {
    dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    pub token: String,
    /// Seconds since the epoch at which the rollback runs.
    pub deadline: u64,
    pub via: String,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl State {
    pub fn open(root: &Root) -> Result<State, ApplyError> {
        let dir = root.resolve_parent(STATE_DIR)?;
        // Made and opened through directory descriptors: no link another
        // user planted in the path is followed, and a state directory
        // others can write is refused.
        hardkit_core::dirfd::create_dirs(&dir, 0o700)
            .map_err(hardkit_core::atomic::AtomicError::from)?;
        Ok(State { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn previous(&self) -> PathBuf {
        self.dir.join("previous.nft")
    }

    pub fn applied(&self) -> PathBuf {
        self.dir.join("applied.nft")
    }

    fn pending_path(&self) -> PathBuf {
        self.dir.join("pending")
    }

    fn claimed_path(&self) -> PathBuf {
        self.dir.join("pending.claimed")
    }

    pub fn rolled_back_path(&self) -> PathBuf {
        self.dir.join("rolled-back")
    }

    pub fn pending(&self) -> Option<Pending> {
        let text = fs::read_to_string(self.pending_path()).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Serialize fwplan runs on this state: two applies at once would save
    /// each other's table as "previous". The lock is released when the
    /// returned file is dropped (or the process dies).
    pub fn lock(&self) -> Result<fs::File, ApplyError> {
        let path = self.dir.join("lock");
        let file = open_lock_file(&path)?;
        flock(&file, false).map_err(io_err(format!("locking {}", path.display())))?;
        Ok(file)
    }

    /// Held by a detached rollback timer for as long as it lives.
    fn timer_lock_path(&self, token: &str) -> PathBuf {
        self.dir.join(format!("timer-{token}.lock"))
    }

    /// Is the timer that would roll `pending` back still there to do it?
    fn timer_alive(&self, pending: &Pending) -> bool {
        if pending.via == "systemd" {
            let unit = format!("fwplan-rollback-{}", pending.token);
            return ["timer", "service"].iter().any(|kind| {
                Command::new("systemctl")
                    .args(["is-active", "--quiet", &format!("{unit}.{kind}")])
                    .status()
                    .is_ok_and(|s| s.success())
            });
        }
        let path = self.timer_lock_path(&pending.token);
        match open_existing_lock(&path) {
            // Lockable by us: nobody holds it, the timer is gone.
            Some(file) => !flock(&file, true).unwrap_or(false),
            None => false,
        }
    }

    fn write_private(&self, path: &Path, bytes: &[u8]) -> Result<bool, ApplyError> {
        Ok(replace_file(
            path,
            bytes,
            &WriteOptions {
                mode: 0o600,
                owner: None,
                backup: false,
            },
        )?
        .changed)
    }
}

fn open_lock_file(path: &Path) -> Result<fs::File, ApplyError> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(io_err(format!("opening {}", path.display())))
}

fn open_existing_lock(path: &Path) -> Option<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .ok()
}

/// flock(2) exclusively; with `try_only`, false when another holds it.
fn flock(file: &fs::File, try_only: bool) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    let op = libc::LOCK_EX | if try_only { libc::LOCK_NB } else { 0 };
    // SAFETY: flock on a descriptor we own; it has no memory effects.
    if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if try_only && e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        return Ok(false);
    }
    Err(e)
}

/// How the confirm timeout is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RollbackVia {
    Detached,
    Systemd,
}

/// What `apply` did, for the action records.
#[derive(Debug)]
pub struct Applied {
    pub previous: PathBuf,
    pub applied: PathBuf,
    pub changed: bool,
    pub pending: Option<Pending>,
}

/// Check, save, load, and arm the rollback. `ruleset` is the rendered file.
pub fn apply(
    state: &State,
    root: &Root,
    ruleset: &str,
    confirm: Option<(Duration, RollbackVia)>,
) -> Result<Applied, ApplyError> {
    let _lock = state.lock()?;
    if let Some(p) = state.pending() {
        if !state.timer_alive(&p) {
            return Err(ApplyError::StalePending {
                timer: format!("{}, token {}", p.via, p.token),
            });
        }
        return Err(ApplyError::Pending {
            deadline: format!("{} (epoch seconds)", p.deadline),
        });
    }
    if let Some((_, RollbackVia::Systemd)) = confirm {
        systemd_allowed()?;
    }
    // The new file is validated by nft before it takes the place of the last
    // applied one; a rejected file changes nothing, in the kernel or on disk.
    let applied = state.applied();
    let outcome = replace_file_validated(
        &applied,
        ruleset.as_bytes(),
        &WriteOptions {
            mode: 0o600,
            owner: None,
            backup: false,
        },
        |tmp| check_file(tmp).map_err(|e| e.to_string()),
    )
    .map_err(|e| match e {
        hardkit_core::atomic::AtomicError::Rejected { message, .. } => ApplyError::Check(message),
        other => ApplyError::Atomic(other),
    })?;
    let snapshot = snapshot_table()?;
    let live_before = snapshot.clone();
    state.write_private(&state.previous(), snapshot.as_bytes())?;
    // The rollback is armed (and its timer seen running) before the new
    // table loads: a kill between the two leaves a timer and no
    // unguarded ruleset. The timer waits for our lock, so it cannot act
    // before the load is done.
    let pending = match confirm {
        None => None,
        Some((after, via)) => Some(arm_rollback(state, root, after, via)?),
    };
    if let Err(e) = run_nft(&["-f"], Some(&applied)) {
        // Nothing new is live: disarm (the timer finds no marker).
        let _ = fs::remove_file(state.pending_path());
        return Err(ApplyError::Load(e));
    }
    let changed = outcome.changed || !same_table(&live_before)?;
    let _ = fs::remove_file(state.rolled_back_path());
    Ok(Applied {
        previous: state.previous(),
        applied,
        changed,
        pending,
    })
}

/// Is the live table the same as in `snapshot`? (Applying an identical
/// ruleset reports `changed: false`.)
fn same_table(snapshot: &str) -> Result<bool, ApplyError> {
    Ok(snapshot_table()? == snapshot)
}

fn arm_rollback(
    state: &State,
    root: &Root,
    after: Duration,
    via: RollbackVia,
) -> Result<Pending, ApplyError> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let token = format!("{:x}-{:x}", std::process::id(), nanos);
    let pending = Pending {
        token: token.clone(),
        deadline: now_secs() + after.as_secs(),
        via: match via {
            RollbackVia::Detached => "detached".into(),
            RollbackVia::Systemd => "systemd".into(),
        },
    };
    let json = serde_json::to_vec(&pending)
        .map_err(|e| io_err("encoding pending")(io::Error::other(e)))?;
    state.write_private(&state.pending_path(), &json)?;
    let exe = std::env::current_exe().map_err(io_err("finding fwplan's own path"))?;
    let args = timer_args(root, &token, after);
    let started = match via {
        RollbackVia::Detached => {
            spawn_detached(&exe, &args).and_then(|()| wait_for_timer(state, &pending))
        }
        RollbackVia::Systemd => spawn_systemd(&exe, &args, after, &token),
    };
    if let Err(e) = started {
        // Without a timer there is no safety net: load nothing.
        let _ = fs::remove_file(state.pending_path());
        return Err(e);
    }
    Ok(pending)
}

/// A detached timer takes its lock as it starts; wait (briefly) until it
/// holds it, so that a timer that died at once is not trusted.
fn wait_for_timer(state: &State, pending: &Pending) -> Result<(), ApplyError> {
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if state.timer_alive(pending) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(io_err("starting the rollback timer")(io::Error::other(
        "it did not start within 10 s",
    )))
}

fn timer_args(root: &Root, token: &str, after: Duration) -> Vec<String> {
    vec![
        "rollback-timer".into(),
        "--root".into(),
        root.dir().display().to_string(),
        "--token".into(),
        token.into(),
        "--after-ms".into(),
        after.as_millis().to_string(),
    ]
}

/// Double fork and setsid: the timer is nobody's child but init's, in a
/// session of its own, with no terminal to lose.
fn spawn_detached(exe: &Path, args: &[String]) -> Result<(), ApplyError> {
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir("/");
    // SAFETY: only async-signal-safe calls (fork, setsid, _exit) run between
    // fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            match libc::fork() {
                -1 => Err(io::Error::last_os_error()),
                0 => Ok(()),
                _ => libc::_exit(0),
            }
        });
    }
    let mut child = cmd.spawn().map_err(io_err("starting the rollback timer"))?;
    // Reap the intermediate process, which exits at once.
    child
        .wait()
        .map_err(io_err("starting the rollback timer"))?;
    Ok(())
}

fn netns_inode(path: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).ok().map(|m| m.ino())
}

/// `--root DIR` moves fwplan's state into DIR, but nft always acts on the
/// kernel of the calling process. For another system's tree (a mounted
/// image) that kernel is this machine's, so loading there would change the
/// host's firewall, not the image's: allowed only when the caller runs in a
/// network namespace of its own (`ip netns exec`, a container), as the
/// tests do.
pub fn kernel_matches_root(root: &hardkit_core::Root) -> Result<(), ApplyError> {
    if root.is_host() || netns_inode("/proc/self/ns/net") != netns_inode("/proc/1/ns/net") {
        return Ok(());
    }
    Err(ApplyError::ForeignRoot(root.dir().display().to_string()))
}

/// A systemd timer runs in PID 1's network namespace: refuse it anywhere
/// else, or the rollback would hit the wrong firewall.
fn systemd_allowed() -> Result<(), ApplyError> {
    if !Path::new("/run/systemd/system").is_dir() {
        return Err(ApplyError::Systemd("systemd is not running here".into()));
    }
    if netns_inode("/proc/self/ns/net") != netns_inode("/proc/1/ns/net") {
        return Err(ApplyError::Systemd(
            "this process is not in PID 1's network namespace, where the timer would run; use --rollback-via detached".into(),
        ));
    }
    Ok(())
}

pub fn systemd_run_args(exe: &Path, args: &[String], after: Duration, token: &str) -> Vec<String> {
    let mut v = vec![
        format!("--unit=fwplan-rollback-{token}"),
        format!("--on-active={}ms", after.as_millis()),
        "--timer-property=AccuracySec=100ms".into(),
        "--description=fwplan: roll back unless confirmed".into(),
        exe.display().to_string(),
    ];
    let mut a = args.to_vec();
    // The timer itself is the delay; the service rolls back at once.
    if let Some(ms) = a.iter().position(|x| x == "--after-ms") {
        if let Some(value) = a.get_mut(ms + 1) {
            *value = "0".into();
        }
    }
    v.extend(a);
    v
}

fn spawn_systemd(
    exe: &Path,
    args: &[String],
    after: Duration,
    token: &str,
) -> Result<(), ApplyError> {
    let program = hardkit_core::program::find_program("systemd-run")
        .ok_or_else(|| ApplyError::Systemd("systemd-run is not installed".into()))?;
    let out = Command::new(program)
        .args(systemd_run_args(exe, args, after, token))
        .stdin(Stdio::null())
        .output()
        .map_err(io_err("running systemd-run"))?;
    if !out.status.success() {
        return Err(ApplyError::Systemd(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(())
}

/// The timer's body: wait, then roll back if the apply with `token` is
/// still unconfirmed.
pub fn rollback_timer(state: &State, token: &str, after: Duration) -> Result<bool, ApplyError> {
    // Held until this process ends: how apply tells a live timer from a
    // dead one. Removed when done (the lock is still held then).
    let timer_lock_path = state.timer_lock_path(token);
    let timer_lock = open_lock_file(&timer_lock_path)?;
    flock(&timer_lock, false).map_err(io_err("locking the timer's lock"))?;
    let result = rollback_after(state, token, after);
    let _ = fs::remove_file(&timer_lock_path);
    drop(timer_lock);
    result
}

fn rollback_after(state: &State, token: &str, after: Duration) -> Result<bool, ApplyError> {
    std::thread::sleep(after);
    let _lock = state.lock()?;
    // Claim the marker; if confirm (or rollback) got there first, we are done.
    if fs::rename(state.pending_path(), state.claimed_path()).is_err() {
        return Ok(false);
    }
    let claimed: Option<Pending> = fs::read_to_string(state.claimed_path())
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    if claimed.as_ref().map(|p| p.token.as_str()) != Some(token) {
        // A newer apply's marker: not ours to act on.
        let _ = fs::rename(state.claimed_path(), state.pending_path());
        return Ok(false);
    }
    let result = load_previous(state);
    let note = match &result {
        Ok(()) => format!(
            "rolled back at {} (epoch seconds): apply was not confirmed\n",
            now_secs()
        ),
        Err(e) => format!("rollback at {} failed: {e}\n", now_secs()),
    };
    let _ = state.write_private(&state.rolled_back_path(), note.as_bytes());
    let _ = fs::remove_file(state.claimed_path());
    result.map(|()| true)
}

fn load_previous(state: &State) -> Result<(), ApplyError> {
    let previous = state.previous();
    if !previous.is_file() {
        return Err(ApplyError::NoPrevious(previous.display().to_string()));
    }
    run_nft(&["-f"], Some(&previous))
        .map(|_| ())
        .map_err(ApplyError::Load)
}

/// Keep the applied ruleset: disarm the pending rollback.
pub fn confirm(state: &State) -> Result<Pending, ApplyError> {
    let _lock = state.lock()?;
    let pending = state.pending();
    match fs::remove_file(state.pending_path()) {
        Ok(()) => pending.ok_or_else(|| {
            ApplyError::NothingToConfirm("the pending marker was unreadable".into())
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let why = fs::read_to_string(state.rolled_back_path())
                .map(|t| format!("too late, {}", t.trim()))
                .unwrap_or_else(|_| "no apply --confirm is pending".into());
            Err(ApplyError::NothingToConfirm(why))
        }
        Err(e) => Err(io_err("removing the pending marker")(e)),
    }
}

/// Restore the table saved by the last apply, now.
pub fn rollback(state: &State) -> Result<(), ApplyError> {
    let _lock = state.lock()?;
    rollback_unlocked(state)
}

fn rollback_unlocked(state: &State) -> Result<(), ApplyError> {
    let _ = fs::remove_file(state.pending_path());
    load_previous(state)
}

/// `$SSH_CONNECTION`: client address and the server port it reached.
/// When it is not set at all (sudo's env_reset drops it), the one of the
/// login shell sshd started, an ancestor of this process; set and empty
/// means no SSH connection to guard.
pub fn ssh_connection() -> Option<(std::net::IpAddr, u16)> {
    let text = match std::env::var("SSH_CONNECTION") {
        Ok(text) => text,
        Err(_) => ssh_connection_of_ancestors()?,
    };
    parse_ssh_connection(&text)
}

/// `SSH_CONNECTION` from the first ancestor whose environment (as it
/// started: /proc/PID/environ, readable by root and by the same user) has
/// it.
fn ssh_connection_of_ancestors() -> Option<String> {
    let mut pid = parent_of("self")?;
    // (a bound, not a limit any real process tree reaches)
    for _ in 0..256 {
        if pid <= 1 {
            return None;
        }
        if let Ok(env) = fs::read(format!("/proc/{pid}/environ")) {
            for var in env.split(|b| *b == 0) {
                if let Some(value) = var.strip_prefix(b"SSH_CONNECTION=") {
                    return String::from_utf8(value.to_vec()).ok();
                }
            }
        }
        pid = parent_of(&pid.to_string())?;
    }
    None
}

/// The parent of a process, from /proc/PID/stat (the fields after the
/// command name, which may itself hold spaces and parentheses).
fn parent_of(pid: &str) -> Option<u32> {
    let stat = fs::read(format!("/proc/{pid}/stat")).ok()?;
    let end = stat.iter().rposition(|b| *b == b')')?;
    let rest = std::str::from_utf8(&stat[end + 1..]).ok()?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// `CLIENT CLIENT-PORT SERVER SERVER-PORT`: the client and the server port.
pub fn parse_ssh_connection(text: &str) -> Option<(std::net::IpAddr, u16)> {
    let mut parts = text.split_whitespace();
    let client: std::net::IpAddr = parts.next()?.parse().ok()?;
    let _client_port = parts.next()?;
    let _server = parts.next()?;
    let port: u16 = parts.next()?.parse().ok()?;
    let client = match client {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(std::net::IpAddr::V4)
            .unwrap_or(client),
        v4 => v4,
    };
    Some((client, port))
}

/// Write to stderr without failing the run (the timer has no stderr).
pub fn note(text: &str) {
    let _ = writeln!(io::stderr(), "{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("2d").is_err());
        assert!(parse_duration("5h").is_err());
    }

    #[test]
    fn systemd_timer_runs_the_rollback_at_once_after_the_delay() {
        let args = timer_args(&Root::host(), "t1", Duration::from_secs(60));
        let v = systemd_run_args(
            Path::new("/usr/bin/fwplan"),
            &args,
            Duration::from_secs(60),
            "t1",
        );
        assert!(v.contains(&"--on-active=60000ms".to_string()), "{v:?}");
        let pos = v.iter().position(|a| a == "--after-ms").unwrap();
        assert_eq!(v[pos + 1], "0");
        assert!(v.contains(&"rollback-timer".to_string()));
    }

    #[test]
    fn confirm_without_pending_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::new(dir.path()).unwrap();
        let state = State::open(&root).unwrap();
        let e = confirm(&state).unwrap_err().to_string();
        assert!(e.contains("no apply --confirm is pending"), "{e}");
        fs::write(state.rolled_back_path(), "rolled back at 5").unwrap();
        let e = confirm(&state).unwrap_err().to_string();
        assert!(e.contains("too late"), "{e}");
    }
}
