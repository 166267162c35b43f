//! The command line: `hardkit-write put|read|remove|mkdir`.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use hardkit_core::atomic::{self, WriteOptions};
use hardkit_core::dirfd::{self, TrustedDir};
use hardkit_core::input::{InputSource, MAX_FILE_BYTES};
use hardkit_core::{Action, CommonArgs, ExitStatus, Reporter, Root};

use crate::{WriteError, TOOL};

/// The largest file `put` takes (a plan's nftables.conf with a long block
/// list is the largest hardkit writes).
const MAX_PUT_BYTES: u64 = 64 << 20;

const EXAMPLES: &str = "Examples:
  printf 'PermitRootLogin no\\n' | hardkit-write --root /mnt/image put /etc/ssh/sshd_config.d/00-hardkit.conf --mode 0644 --keep-original
  hardkit-write --root /mnt/image read /etc/ssh/sshd_config
  hardkit-write mkdir /var/lib/hardkit/monitor --mode 0700";

/// Write, read and remove a system's files as root without following any
/// link another user (or an audited image) controls: the way hardkit's
/// scripts change a system. Exit 0 done; 1 (read) no such file; 2 refused.
#[derive(Parser, Debug)]
#[command(name = "hardkit-write", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Replace a file atomically with standard input (or --from FILE), unless it already holds it
    Put(PutArgs),
    /// Print a file of the system (in the tree, never through a final link, never a FIFO or device)
    Read(PathArg),
    /// Remove a file (never a directory)
    Remove(PathArg),
    /// Create a directory and its missing parents (0755); --mode sets the last one's
    Mkdir(MkdirArgs),
}

#[derive(Args, Debug)]
pub struct PutArgs {
    /// The file's system path (under --root)
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Permission bits of the file, in octal (e.g. 0644)
    #[arg(long, value_name = "MODE")]
    pub mode: String,
    /// Read the contents from FILE instead of standard input
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Keep the version replaced as NAME.hardkit-bak~, unless one is kept already
    /// (so the operator's original survives later runs)
    #[arg(long)]
    pub keep_original: bool,
}

#[derive(Args, Debug)]
pub struct PathArg {
    /// The file's system path (under --root)
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
}

#[derive(Args, Debug)]
pub struct MkdirArgs {
    /// The directory's system path (under --root)
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Permission bits of the directory, in octal (e.g. 0700), also when it exists
    #[arg(long, value_name = "MODE")]
    pub mode: Option<String>,
    /// The directory must not exist yet: it is made here, and nothing
    /// someone else made (or planted as a link) is used
    #[arg(long)]
    pub new: bool,
}

fn parse_mode(flag: &str, text: &str) -> Result<u32, WriteError> {
    let digits = text.trim_start_matches("0o");
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if !digits.is_empty() && mode <= 0o7777 => Ok(mode),
        _ => Err(WriteError::Usage(format!(
            "{flag} {text}: not an octal permission mode such as 0644"
        ))),
    }
}

fn system_path(path: &Path) -> Result<&Path, WriteError> {
    if !path.is_absolute() {
        return Err(WriteError::Usage(format!(
            "{}: the system path must be absolute",
            path.display()
        )));
    }
    if path.file_name().is_none() {
        return Err(WriteError::Usage(format!(
            "{}: names no file",
            path.display()
        )));
    }
    Ok(path)
}

/// Where a system path is on this machine. On the host itself the path as
/// given: [`TrustedDir`] walks it, following only links root owns in
/// directories only root can write (resolving it first would follow a
/// user's link before anything could refuse it). Under another `--root`, the
/// path resolved inside the tree as its programs would see it (an image's
/// absolute link to `/etc` is the image's `/etc`); the last component is not
/// followed.
fn locate(root: &Root, system: &Path) -> Result<PathBuf, WriteError> {
    if root.is_host() {
        Ok(system.to_path_buf())
    } else {
        Ok(root.resolve_parent(system)?)
    }
}

fn action(op: &str, path: &Path, mode: Option<u32>, changed: bool) -> Action {
    Action {
        op: op.into(),
        path: path.into(),
        mode: mode.map(|m| format!("{m:04o}")),
        owner: None,
        changed,
        diff: None,
    }
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::File {
        path: path.display().to_string(),
        source,
    }
}

/// Run the command line; main maps the result to the exit code.
pub fn run(cli: Cli) -> Result<ExitStatus, WriteError> {
    let common = &cli.common;
    let root = common.root()?;
    let mut rep = Reporter::stdout(TOOL, common.format(), common.quiet);
    let extra = match &cli.command {
        Command::Put(args) => put(args, &root, &mut rep)?,
        Command::Read(args) => return read(&args.path, &root),
        Command::Remove(args) => remove(&args.path, &root, &mut rep)?,
        Command::Mkdir(args) => mkdir(args, &root, &mut rep)?,
    };
    Ok(rep.finish(common.fail_on, extra)?)
}

fn put(
    args: &PutArgs,
    root: &Root,
    rep: &mut Reporter<impl Write>,
) -> Result<ExitStatus, WriteError> {
    let mode = parse_mode("--mode", &args.mode)?;
    let system = system_path(&args.path)?;
    let source = InputSource::parse(args.from.as_deref().unwrap_or(Path::new("-")));
    let contents = source.read_limited(MAX_PUT_BYTES)?;
    let host = locate(root, system)?;
    let parent = host.parent().unwrap_or(Path::new("/"));
    dirfd::create_dirs(parent, 0o755)?;
    let backup = args.keep_original && {
        let (dir, name) = dirfd::parent_for_writing(&host)?;
        let mut kept = name.clone();
        kept.push(atomic::BACKUP_SUFFIX);
        dir.stat(&kept).is_err()
    };
    let opts = WriteOptions {
        mode,
        owner: None,
        backup,
    };
    let outcome = atomic::replace_file(&host, &contents, &opts)?;
    rep.emit(&action("write", system, Some(mode), outcome.changed))?;
    rep.text(&format!(
        "{} {}\n",
        if outcome.changed {
            "wrote"
        } else {
            "unchanged"
        },
        hardkit_core::output::escape_untrusted(&system.display().to_string())
    ))?;
    Ok(ExitStatus::Clean)
}

/// The file's bytes on stdout, or exit 1 when there is no such file.
fn read(path: &Path, root: &Root) -> Result<ExitStatus, WriteError> {
    let system = system_path(path)?;
    let limit = MAX_FILE_BYTES.max(MAX_PUT_BYTES);
    let read = if root.is_host() {
        // Through the directory opened as TrustedDir does, the file itself
        // without following a link, and only a regular one.
        read_on_host(system, limit, 0)?
    } else {
        hardkit_core::input::read_regular_file(&root.resolve(system)?, limit)
    };
    match read {
        Ok(bytes) => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)?;
            out.flush()?;
            Ok(ExitStatus::Clean)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ExitStatus::Findings),
        Err(e) => Err(io_at(system)(e)),
    }
}

/// A file of this machine, read as root may: through its directory opened as
/// [`TrustedDir`] does, and when the file itself is a link, following it
/// only on the terms TrustedDir follows a directory's (owned by root or the
/// caller, in a directory nobody else can write), as `/etc/alternatives`
/// links are. The outer error stops the run (a link another user controls);
/// the inner one is the file's (not found: exit 1).
fn read_on_host(
    path: &Path,
    limit: u64,
    depth: usize,
) -> Result<std::io::Result<Vec<u8>>, WriteError> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().unwrap_or(OsStr::new("."));
    let dir = match TrustedDir::open(parent) {
        Ok(dir) => dir,
        Err(dirfd::DirError::Io { source, .. }) => return Ok(Err(source)),
        Err(e) => return Err(e.into()),
    };
    let st = match dir.stat(name) {
        Ok(st) => st,
        Err(e) => return Ok(Err(e)),
    };
    if st.st_mode & libc::S_IFMT != libc::S_IFLNK {
        return Ok(read_in(&dir, name, limit));
    }
    let trusted_owner = st.st_uid == 0 || st.st_uid == unsafe { libc::geteuid() };
    if !trusted_owner || TrustedDir::open_for_writing(parent).is_err() || depth >= 40 {
        return Err(dirfd::DirError::UntrustedLink {
            path: path.to_path_buf(),
            owner: st.st_uid,
        }
        .into());
    }
    let target = std::fs::read_link(path).map_err(io_at(path))?;
    read_on_host(&parent.join(target), limit, depth + 1)
}

fn read_in(dir: &TrustedDir, name: &OsStr, limit: u64) -> std::io::Result<Vec<u8>> {
    hardkit_core::input::read_opened_regular(dir.open_read(name)?, limit)
}

fn remove(
    path: &Path,
    root: &Root,
    rep: &mut Reporter<impl Write>,
) -> Result<ExitStatus, WriteError> {
    let system = system_path(path)?;
    let host = locate(root, system)?;
    let parent = host.parent().unwrap_or(Path::new("/"));
    let name = host.file_name().unwrap_or(OsStr::new("."));
    let dir = match TrustedDir::open_for_writing(parent) {
        Ok(dir) => dir,
        // No directory, no file.
        Err(dirfd::DirError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            rep.emit(&action("remove", system, None, false))?;
            return Ok(ExitStatus::Clean);
        }
        Err(e) => return Err(e.into()),
    };
    let changed = match dir.stat(name) {
        Err(_) => false,
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => {
            return Err(WriteError::Usage(format!(
                "{}: is a directory, not removed",
                system.display()
            )))
        }
        Ok(_) => {
            dir.unlink(name).map_err(io_at(system))?;
            dir.sync().map_err(io_at(system))?;
            true
        }
    };
    rep.emit(&action("remove", system, None, changed))?;
    if changed {
        rep.text(&format!(
            "removed {}\n",
            hardkit_core::output::escape_untrusted(&system.display().to_string())
        ))?;
    }
    Ok(ExitStatus::Clean)
}

fn mkdir(
    args: &MkdirArgs,
    root: &Root,
    rep: &mut Reporter<impl Write>,
) -> Result<ExitStatus, WriteError> {
    let mode = args
        .mode
        .as_deref()
        .map(|m| parse_mode("--mode", m))
        .transpose()?;
    let system = system_path(&args.path)?;
    let host = locate(root, system)?;
    let parent = host.parent().unwrap_or(Path::new("/"));
    let name = host.file_name().unwrap_or(OsStr::new("."));
    let changed = if args.new {
        // Only the parent's path is trusted as far as TrustedDir goes (it
        // may be a sticky /tmp); mkdirat fails on anything already there,
        // a planted link included.
        let dir = TrustedDir::open(parent)?;
        if !dir.mkdir(name, 0o700).map_err(io_at(system))? {
            return Err(WriteError::Usage(format!(
                "{}: already exists; give a new directory",
                system.display()
            )));
        }
        true
    } else {
        let existed = std::fs::symlink_metadata(&host).is_ok();
        dirfd::create_dirs(&host, 0o755)?;
        !existed
    };
    // The mode on a descriptor opened without following a link (umask
    // plays no part).
    let dir = TrustedDir::open(parent)?;
    let before = dir.stat(name).map_err(io_at(system))?;
    let mode_changed = match mode {
        Some(mode) if args.new || before.st_mode & 0o7777 != mode => {
            dir.set_owner_mode(name, None, Some(mode))
                .map_err(io_at(system))?;
            true
        }
        _ => false,
    };
    rep.emit(&action("mkdir", system, mode, changed || mode_changed))?;
    Ok(ExitStatus::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_octal_and_bounded() {
        assert_eq!(parse_mode("--mode", "0644").unwrap(), 0o644);
        assert_eq!(parse_mode("--mode", "600").unwrap(), 0o600);
        for bad in ["", "0o", "9", "u+x", "17777", "-1"] {
            let e = parse_mode("--mode", bad).unwrap_err().to_string();
            assert!(e.starts_with("--mode"), "{e}");
        }
    }
}
