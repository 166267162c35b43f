//! Running a target tree's own programs (its `sshd -T`, `nft -c`,
//! `fail2ban-client -d`, `visudo -c`) without handing them anything.
//!
//! The image audited with `--root` is not trusted: its `/usr/sbin/sshd` may be
//! anything. `chroot` does not contain root (a root process leaves a chroot
//! with a second `chroot` and `..`, and root may write any file it reaches),
//! so the tree's programs never run as root. Instead, in the child between
//! `fork` and `exec`:
//!
//! 1. when the caller is root, every credential is dropped to
//!    [`SANDBOX_UID`], a uid no account uses: from here on the kernel judges
//!    every file access as that stranger's, so root-only files (the host's
//!    `/etc/shadow`, the tree's own secrets) are out of reach and nothing
//!    owned by root can be written, whatever the mounts say;
//! 2. new user, mount, network, IPC and UTS namespaces: the program is "root"
//!    only over these (its uid 0 inside is the stranger outside), has no
//!    network at all (a fresh namespace has only a loopback that is down),
//!    and cannot see or signal the host's IPC;
//! 3. the tree is bind-mounted read-only, nosuid, nodev, with fresh small
//!    tmpfs on `/tmp`, `/run` and `/dev` (holding only null, zero, random and
//!    urandom), then moved over `/` and made the root: the host's files
//!    lie under it, and no `..` or second chroot leads back to them (the
//!    move is made in root's mount namespace before the user namespace
//!    exists, so the program cannot unmount it to look beneath);
//! 4. no new privileges (set-id bits do nothing), a bound on processes, and
//!    the whole process group killed at the deadline.
//!
//! Files a program must read that only root may read (host keys, sudoers)
//! are copied out of the tree first by the caller, through [`Root`] (so a
//! link in the image cannot make the copy read a host file), owned by the
//! sandbox's uid, and mounted over their place: [`Sandbox::readable_copy`].
//!
//! The tree must be searchable by anyone at its top (a real root file system
//! is `0755`): the error says so when it is not.

use std::ffi::{CString, OsStr};
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::root::{Root, RootError};

/// The uid (and gid) the tree's programs run as when the caller is root.
/// Chosen far above any range Debian allocates (system 100-999, users
/// 1000-59999, systemd's dynamic users 61184-65519, nobody 65534), so that
/// no local account shares it: a process that shares a uid may signal or
/// trace the sandboxed program.
pub const SANDBOX_UID: u32 = 0x7fff_f00d;

/// Size of each tmpfs the program may write to.
const TMPFS_OPTIONS: &str = "size=16m,nr_inodes=4096,mode=1777";

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("{0}")]
    Root(#[from] RootError),
    #[error("the tree {0} is not searchable by other users (chmod o+x), so a sandboxed program could not read it")]
    TreeNotSearchable(PathBuf),
    #[error("cannot copy {path} out of the tree for the sandbox: {source}")]
    Copy { path: PathBuf, source: io::Error },
    #[error("cannot start {program} in a sandbox (user namespaces unavailable?): {source}")]
    Spawn { program: String, source: io::Error },
    #[error("{program} did not finish within {seconds} s in the sandbox and was killed")]
    TimedOut { program: String, seconds: u64 },
    #[error("cannot give {} to the sandboxed program at {target}: no file or directory of that kind there reached without links, nor a directory made with make_dir", .input.display())]
    InputTarget { input: PathBuf, target: String },
    #[error("{0} is not under /tmp or /run, the sandbox's only writable places")]
    NotScratch(String),
    #[error("sandbox i/o: {0}")]
    Io(#[from] io::Error),
}

/// What a sandboxed program left behind.
#[derive(Debug)]
pub struct SandboxOutput {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// stdout or stderr went past the output bound and was cut there.
    pub truncated: bool,
}

/// Where in `root` a sandboxed program can be handed an input file with
/// [`Sandbox::with_file`]: its /run, else its /tmp (each becomes a fresh
/// tmpfs), or None when the tree has neither directory.
pub fn scratch_dir(root: &Root) -> Option<&'static str> {
    ["/run", "/tmp"].into_iter().find(|d| {
        root.resolve_parent(d)
            .ok()
            .and_then(|p| fs::symlink_metadata(p).ok())
            .is_some_and(|m| m.is_dir())
    })
}

/// A tree whose programs are to be run, and how.
pub struct Sandbox {
    root: Root,
    copies: Vec<String>,
    /// (host path given by the caller, system path in the tree it covers).
    inputs: Vec<(PathBuf, String)>,
    dirs: Vec<String>,
    files: Vec<(String, Vec<u8>)>,
    timeout: Duration,
    output_limit: usize,
    env: Vec<(String, String)>,
}

impl Sandbox {
    pub fn new(root: &Root) -> Sandbox {
        Sandbox {
            root: root.clone(),
            copies: Vec::new(),
            inputs: Vec::new(),
            dirs: Vec::new(),
            files: Vec::new(),
            timeout: Duration::from_secs(30),
            output_limit: 16 << 20,
            env: Vec::new(),
        }
    }

    /// Give the program a copy of the tree's file or directory at
    /// `system_path` (e.g. `/etc/ssh`), readable by the sandbox's uid,
    /// mounted over the original.
    pub fn readable_copy(mut self, system_path: &str) -> Sandbox {
        self.copies.push(system_path.to_string());
        self
    }

    /// Give the program a copy of the caller's own file or directory
    /// `host_path` (a test's config, a generated input), readable by the
    /// sandbox's uid and read-only, mounted over `system_path`, which must
    /// exist in the tree, reached without links, and be of the same kind
    /// (file or directory), or be a directory made with
    /// [`Sandbox::make_dir`]. The
    /// program sees its input where it expects it (`/etc/ssh`, with the
    /// absolute Include paths of a real config) without the tree changing.
    pub fn input_over(mut self, host_path: &Path, system_path: &str) -> Sandbox {
        self.inputs
            .push((host_path.to_path_buf(), system_path.to_string()));
        self
    }

    /// Create an empty directory in the program's scratch space before it
    /// starts (sshd wants its privilege separation directory, `/run/sshd`,
    /// even for `-T`). Only under `/tmp` or `/run`, which start empty.
    pub fn make_dir(mut self, system_path: &str) -> Sandbox {
        self.dirs.push(system_path.to_string());
        self
    }

    /// Give the program an input file: `contents` written at `system_path`
    /// (its directories created) in its scratch space before it starts,
    /// owned by the program's root. Only under `/tmp` or `/run`, like
    /// [`Sandbox::make_dir`]; the tmpfs bounds its size.
    pub fn with_file(mut self, system_path: &str, contents: impl Into<Vec<u8>>) -> Sandbox {
        self.files.push((system_path.to_string(), contents.into()));
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Sandbox {
        self.timeout = timeout;
        self
    }

    /// Add an environment variable (the program starts with only `PATH`,
    /// `LANG=C.UTF-8` and these).
    pub fn env(mut self, key: &str, value: &str) -> Sandbox {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Run `program` (a path inside the tree) with `args`, feeding `stdin`.
    pub fn run(
        &self,
        program: &str,
        args: &[&OsStr],
        stdin: &[u8],
    ) -> Result<SandboxOutput, SandboxError> {
        let tree = self.root.dir().to_path_buf();
        let meta = fs::metadata(&tree)?;
        if meta.permissions().mode() & 0o001 == 0 {
            return Err(SandboxError::TreeNotSearchable(tree));
        }
        // SAFETY: geteuid has no preconditions.
        let as_root = unsafe { libc::geteuid() } == 0;
        let (uid, gid) = if as_root {
            (SANDBOX_UID, SANDBOX_UID)
        } else {
            // SAFETY: as above.
            unsafe { (libc::geteuid(), libc::getegid()) }
        };

        // A private place for the mount point and the copies: root's own,
        // under the system temp dir, removed when done.
        let scratch = tempfile::Builder::new()
            .prefix("hardkit-sandbox.")
            .tempdir()?;
        let copies_dir = scratch.path().join("copies");
        fs::create_dir(&copies_dir)?;
        let mut binds = Vec::new();
        for (i, system_path) in self.copies.iter().enumerate() {
            let src = self.root.resolve(system_path)?;
            if fs::symlink_metadata(&src).is_err() {
                continue; // nothing to copy: the program sees the absence
            }
            let dst = copies_dir.join(i.to_string());
            copy_tree(&src, &dst, uid, gid).map_err(|source| SandboxError::Copy {
                path: src.clone(),
                source,
            })?;
            binds.push((dst, system_path.trim_start_matches('/').to_string()));
        }
        for (i, (host_path, system_path)) in self.inputs.iter().enumerate() {
            let rel = self.input_target(host_path, system_path)?;
            let dst = copies_dir.join(format!("input-{i}"));
            copy_tree(host_path, &dst, uid, gid).map_err(|source| SandboxError::Copy {
                path: host_path.clone(),
                source,
            })?;
            binds.push((dst, rel));
        }
        if as_root {
            chown(&copies_dir, uid, gid)?;
            chown(scratch.path(), uid, gid)?;
        }

        let mut dirs = Vec::new();
        for d in &self.dirs {
            dirs.push(scratch_path(d)?);
        }
        let mut files = Vec::new();
        for (path, contents) in &self.files {
            let rel = scratch_path(path)?;
            // The file's directories, then the file itself.
            if let Some((parent, _)) = rel.rsplit_once('/') {
                dirs.push(parent.to_string());
            }
            files.push((rel, contents.clone()));
        }
        let plan = MountPlan::new(&tree, scratch.path(), &binds, &dirs, &files, uid, gid)?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LANG", "C.UTF-8")
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let drop_to = as_root.then_some((uid, gid));
        // SAFETY: the closure makes only raw system calls on data prepared
        // above (no allocation, no locks), as is required between fork and
        // exec in a program that may have other threads.
        unsafe {
            cmd.pre_exec(move || plan.enter(drop_to));
        }
        let mut child = cmd.spawn().map_err(|source| SandboxError::Spawn {
            program: program.to_string(),
            source,
        })?;
        let pid = child.id() as libc::pid_t;

        let limit = self.output_limit;
        let mut out_pipe = child.stdout.take().expect("piped");
        let mut err_pipe = child.stderr.take().expect("piped");
        let out_reader = std::thread::spawn(move || read_bounded(&mut out_pipe, limit));
        let err_reader = std::thread::spawn(move || read_bounded(&mut err_pipe, limit));
        if let Some(mut input) = child.stdin.take() {
            // A program that does not read its input closes the pipe: not
            // an error of ours.
            let _ = input.write_all(stdin);
        }

        let deadline = Instant::now() + self.timeout;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if Instant::now() >= deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        // Whatever it left running in its group goes too.
        // SAFETY: kill has no memory preconditions.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let status = match status {
            Some(s) => s,
            None => {
                let _ = child.wait();
                return Err(SandboxError::TimedOut {
                    program: program.to_string(),
                    seconds: self.timeout.as_secs(),
                });
            }
        };
        let (stdout, cut_out) = out_reader.join().unwrap_or_default();
        let (stderr, cut_err) = err_reader.join().unwrap_or_default();
        Ok(SandboxOutput {
            status,
            stdout,
            stderr,
            truncated: cut_out || cut_err,
        })
    }
}

impl Sandbox {
    /// Where an input may be mounted (see [`Sandbox::input_over`]), relative
    /// to the tree's top. The mount follows links in its target on the
    /// host's side, so the place must be reached without any link: every
    /// component a real directory of the tree, the last one of the input's
    /// kind; or a directory made with [`Sandbox::make_dir`].
    fn input_target(&self, host_path: &Path, system_path: &str) -> Result<String, SandboxError> {
        let bad = || SandboxError::InputTarget {
            input: host_path.to_path_buf(),
            target: system_path.to_string(),
        };
        let rel = system_path.strip_prefix('/').ok_or_else(bad)?;
        if rel.is_empty()
            || rel
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(bad());
        }
        let input_is_dir = fs::metadata(host_path).map_err(|_| bad())?.is_dir();
        if self.dirs.iter().any(|d| d.trim_start_matches('/') == rel) {
            return if input_is_dir {
                Ok(rel.to_string())
            } else {
                Err(bad())
            };
        }
        let mut host = self.root.dir().to_path_buf();
        let parts: Vec<&str> = rel.split('/').collect();
        for (n, part) in parts.iter().enumerate() {
            host.push(part);
            let meta = fs::symlink_metadata(&host).map_err(|_| bad())?;
            let last = n + 1 == parts.len();
            let fits = if last && !input_is_dir {
                meta.is_file()
            } else {
                meta.is_dir()
            };
            if !fits {
                return Err(bad());
            }
        }
        Ok(rel.to_string())
    }
}

impl SandboxOutput {
    /// The exit code, or 128 + the signal that ended it.
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| 128 + self.status.signal().unwrap_or(0))
    }
}

/// A path in the sandbox's scratch space (`/tmp/...` or `/run/...`, no
/// `.`, `..` or empty component), relative to its root.
fn scratch_path(path: &str) -> Result<String, SandboxError> {
    let rel = path.trim_start_matches('/');
    let top = rel.split('/').next().unwrap_or("");
    if !matches!(top, "tmp" | "run")
        || rel
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(SandboxError::NotScratch(path.to_string()));
    }
    Ok(rel.to_string())
}

fn read_bounded(r: &mut impl Read, limit: usize) -> (Vec<u8>, bool) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let mut cut = false;
    loop {
        match r.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = limit.saturating_sub(buf.len());
                if n > room {
                    cut = true;
                }
                buf.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
    (buf, cut)
}

fn chown(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
}

/// Copy a file, or a directory with its files and subdirectories (symlinks
/// copied as links, devices and sockets left out), owned by uid:gid with
/// the original modes. Reads go through already-resolved host paths inside
/// the tree and never follow a link: a link inside the copied directory is
/// copied as a link, which the sandboxed program then resolves inside its
/// own root.
fn copy_tree(src: &Path, dst: &Path, uid: u32, gid: u32) -> io::Result<()> {
    let meta = fs::symlink_metadata(src)?;
    let ft = meta.file_type();
    if ft.is_dir() {
        fs::create_dir(dst)?;
        let mut names: Vec<_> = fs::read_dir(src)?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        names.sort();
        for name in names {
            copy_tree(&src.join(&name), &dst.join(&name), uid, gid)?;
        }
    } else if ft.is_file() {
        let mut from = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(src)?;
        let mut to = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dst)?;
        io::copy(&mut from, &mut to)?;
    } else if ft.is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(src)?, dst)?;
    } else {
        return Ok(());
    }
    if !ft.is_symlink() {
        fs::set_permissions(dst, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    // Only root can give a file away; for anyone else the copy is theirs.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        chown(dst, uid, gid)?;
    }
    Ok(())
}

/// Everything the child needs, as C strings built before the fork.
struct MountPlan {
    tree_src: CString,
    /// The mount point: scratch/mnt (inside the private scratch dir).
    mnt: CString,
    /// tmpfs mounts: (target under mnt, present in the tree).
    tmpfs: Vec<CString>,
    dev_dir: Option<CString>,
    dev_nodes: Vec<(CString, CString)>,
    binds: Vec<(CString, CString)>,
    /// Directories to create in the tmpfs (parents first).
    dirs: Vec<CString>,
    /// Files to write there once the directories exist.
    files: Vec<(CString, Vec<u8>)>,
    /// uid and gid outside that the program sees as root.
    owner: (u32, u32),
    uid_map: CString,
    gid_map: CString,
    tmpfs_options: CString,
    dot: CString,
    slash: CString,
    tmpfs_type: CString,
    proc_self: CString,
    setgroups_path: CString,
    uid_map_path: CString,
    gid_map_path: CString,
    deny: CString,
}

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a path"))
}

impl MountPlan {
    fn new(
        tree: &Path,
        scratch: &Path,
        binds: &[(PathBuf, String)],
        dirs: &[String],
        files: &[(String, Vec<u8>)],
        uid: u32,
        gid: u32,
    ) -> io::Result<MountPlan> {
        let tree_src = cstr(tree)?;
        let mnt_path = scratch.join("mnt");
        fs::create_dir(&mnt_path)?;
        if unsafe { libc::geteuid() } == 0 {
            chown(&mnt_path, uid, gid)?;
        }
        let mut tmpfs = Vec::new();
        for d in ["tmp", "run"] {
            if tree.join(d).is_dir() && !tree.join(d).is_symlink() {
                tmpfs.push(cstr(&mnt_path.join(d))?);
            }
        }
        let mut dev_dir = None;
        let mut dev_nodes = Vec::new();
        if tree.join("dev").is_dir() && !tree.join("dev").is_symlink() {
            dev_dir = Some(cstr(&mnt_path.join("dev"))?);
            for n in ["null", "zero", "random", "urandom"] {
                dev_nodes.push((
                    CString::new(format!("/dev/{n}"))?,
                    cstr(&mnt_path.join("dev").join(n))?,
                ));
            }
        }
        // Each directory and its parents, in order.
        let mut c_dirs = Vec::new();
        for d in dirs {
            let mut path = mnt_path.clone();
            for part in d.split('/') {
                path.push(part);
                let c = cstr(&path)?;
                if !c_dirs.contains(&c) {
                    c_dirs.push(c);
                }
            }
        }
        let mut c_files = Vec::new();
        for (rel, contents) in files {
            c_files.push((cstr(&mnt_path.join(rel))?, contents.clone()));
        }
        let mut c_binds = Vec::new();
        for (copy, inside) in binds {
            c_binds.push((cstr(copy)?, cstr(&mnt_path.join(inside))?));
        }
        Ok(MountPlan {
            tree_src,
            mnt: cstr(&mnt_path)?,
            tmpfs,
            dev_dir,
            dev_nodes,
            binds: c_binds,
            dirs: c_dirs,
            files: c_files,
            owner: (uid, gid),
            uid_map: CString::new(format!("0 {uid} 1"))?,
            gid_map: CString::new(format!("0 {gid} 1"))?,
            tmpfs_options: CString::new(TMPFS_OPTIONS)?,
            dot: CString::new(".")?,
            slash: CString::new("/")?,
            tmpfs_type: CString::new("tmpfs")?,
            proc_self: CString::new("/proc/self")?,
            setgroups_path: CString::new("setgroups")?,
            uid_map_path: CString::new("uid_map")?,
            gid_map_path: CString::new("gid_map")?,
            deny: CString::new("deny")?,
        })
    }

    /// In the child, after fork: build the read-only root, become the
    /// stranger in namespaces of its own, and step into the root.
    ///
    /// As root, the mounts are made first, in a mount namespace of real
    /// root's, and only then is the user namespace entered: the copies of
    /// those mounts in the stranger's namespace are locked (the kernel will
    /// not let it remount them writable or unmount one to look under it).
    /// A caller that is not root has nothing to protect beyond its own
    /// files: it enters its user namespace first, then mounts.
    fn enter(&self, drop_to: Option<(u32, u32)>) -> io::Result<()> {
        // SAFETY (both phases): raw system calls with valid pointers to C
        // strings owned by `self`, which outlives the call.
        unsafe {
            // /proc is gone once the tree is the root; the user namespace's
            // maps are written through this directory (opened now, so that
            // it names this process, read after the unshare, so that the
            // maps are the new namespace's).
            let proc_self =
                libc::open(self.proc_self.as_ptr(), libc::O_DIRECTORY | libc::O_CLOEXEC);
            check(proc_self)?;
            if let Some((uid, gid)) = drop_to {
                check(libc::unshare(libc::CLONE_NEWNS))?;
                self.build_root()?;
                self.switch_root()?;
                check(libc::setgroups(0, std::ptr::null()))?;
                check(libc::setresgid(gid, gid, gid))?;
                check(libc::setresuid(uid, uid, uid))?;
                // A changed uid makes the process undumpable, which would
                // make its uid_map root's and unwritable for it.
                check(libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0))?;
                self.enter_namespaces(proc_self)?;
            } else {
                self.enter_namespaces(proc_self)?;
                self.build_root()?;
                self.switch_root()?;
            }
            libc::close(proc_self);
            check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
        }
        Ok(())
    }

    /// Make the tree the root: moved over `/` (covering the host's files,
    /// so that no `..` and no second chroot leads back to them), then
    /// chroot into it. pivot_root would do the same, but refuses when this
    /// machine's own root is not the namespace's root mount.
    unsafe fn switch_root(&self) -> io::Result<()> {
        check(libc::chdir(self.mnt.as_ptr()))?;
        check(libc::mount(
            self.dot.as_ptr(),
            self.slash.as_ptr(),
            std::ptr::null(),
            libc::MS_MOVE,
            std::ptr::null(),
        ))?;
        check(libc::chroot(self.dot.as_ptr()))?;
        check(libc::chdir(self.slash.as_ptr()))
    }

    unsafe fn enter_namespaces(&self, proc_self: libc::c_int) -> io::Result<()> {
        let limit = libc::rlimit {
            rlim_cur: 256,
            rlim_max: 256,
        };
        check(libc::setrlimit(libc::RLIMIT_NPROC, &limit))?;
        check(libc::unshare(
            libc::CLONE_NEWUSER
                | libc::CLONE_NEWNS
                | libc::CLONE_NEWNET
                | libc::CLONE_NEWIPC
                | libc::CLONE_NEWUTS,
        ))?;
        write_at(proc_self, &self.setgroups_path, self.deny.as_bytes())?;
        write_at(proc_self, &self.uid_map_path, self.uid_map.as_bytes())?;
        write_at(proc_self, &self.gid_map_path, self.gid_map.as_bytes())
    }

    /// The tree, read-only, at `mnt`, with its tmpfs and device nodes and
    /// the readable copies over their originals.
    unsafe fn build_root(&self) -> io::Result<()> {
        let none = std::ptr::null::<libc::c_char>();
        check(libc::mount(
            none,
            self.slash.as_ptr(),
            none,
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ))?;
        check(libc::mount(
            self.tree_src.as_ptr(),
            self.mnt.as_ptr(),
            none,
            libc::MS_BIND,
            std::ptr::null(),
        ))?;
        check(libc::mount(
            none,
            self.mnt.as_ptr(),
            none,
            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
            std::ptr::null(),
        ))?;
        for t in &self.tmpfs {
            self.mount_tmpfs(t)?;
        }
        for d in &self.dirs {
            if libc::mkdir(d.as_ptr(), 0o755) < 0
                && io::Error::last_os_error().raw_os_error() != Some(libc::EEXIST)
            {
                return Err(io::Error::last_os_error());
            }
            // Owned by the program's own "root" (programs such as sshd
            // check that), which is the stranger uid outside.
            check(libc::lchown(d.as_ptr(), self.owner.0, self.owner.1))?;
        }
        for (path, contents) in &self.files {
            let fd = libc::open(
                path.as_ptr(),
                libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0o644,
            );
            check(fd)?;
            let mut rest: &[u8] = contents;
            while !rest.is_empty() {
                let n = libc::write(fd, rest.as_ptr().cast(), rest.len());
                if n <= 0 {
                    let err = io::Error::last_os_error();
                    libc::close(fd);
                    return Err(err);
                }
                rest = &rest[n as usize..];
            }
            libc::close(fd);
            check(libc::lchown(path.as_ptr(), self.owner.0, self.owner.1))?;
        }
        if let Some(dev) = &self.dev_dir {
            self.mount_tmpfs(dev)?;
            for (host, inside) in &self.dev_nodes {
                let fd = libc::open(
                    inside.as_ptr(),
                    libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                    0o666,
                );
                check(fd)?;
                libc::close(fd);
                check(libc::mount(
                    host.as_ptr(),
                    inside.as_ptr(),
                    none,
                    libc::MS_BIND,
                    std::ptr::null(),
                ))?;
            }
        }
        for (copy, inside) in &self.binds {
            check(libc::mount(
                copy.as_ptr(),
                inside.as_ptr(),
                none,
                libc::MS_BIND | libc::MS_REC,
                std::ptr::null(),
            ))?;
            // A bind mount starts writable: the copy is for reading only.
            check(libc::mount(
                none,
                inside.as_ptr(),
                none,
                libc::MS_REMOUNT
                    | libc::MS_BIND
                    | libc::MS_RDONLY
                    | libc::MS_NOSUID
                    | libc::MS_NODEV,
                std::ptr::null(),
            ))?;
        }
        Ok(())
    }

    unsafe fn mount_tmpfs(&self, target: &CString) -> io::Result<()> {
        check(libc::mount(
            self.tmpfs_type.as_ptr(),
            target.as_ptr(),
            self.tmpfs_type.as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            self.tmpfs_options.as_ptr().cast(),
        ))
    }
}

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// openat/write/close with no allocation (for the child side).
unsafe fn write_at(dir: libc::c_int, path: &CString, data: &[u8]) -> io::Result<()> {
    let fd = libc::openat(dir, path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
    check(fd)?;
    let n = libc::write(fd, data.as_ptr().cast(), data.len());
    libc::close(fd);
    if n < 0 || n as usize != data.len() {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
