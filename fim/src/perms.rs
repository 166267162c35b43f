//! `fim perms`: a read-only inventory of the permissions an intruder (or a
//! careless install) leaves behind, system-wide, for a server with no
//! baseline: world-writable files, world-writable directories without the
//! sticky bit, set-uid and set-gid programs and files with capabilities
//! that no package installed, and files whose owner or group does not
//! exist. The same walk as `fim init` (directory descriptors, no symlink
//! followed, pseudo-filesystems skipped), without reading any content.

use std::collections::HashSet;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use hardkit_core::{Finding, Location, Severity};

use crate::entry::{Entry, FileKind};
use crate::scan::{scan_tree, Outcome};
use crate::walk::WalkPlan;

/// Where the inventory looks by default: where programs, their
/// configuration and their data live.
pub const DEFAULT_PATHS: &[&str] = &["/etc", "/usr", "/opt", "/var/lib", "/srv"];

/// Trees whose files root runs or reads as configuration: writable by
/// anyone there means anyone can become root.
const RUN_BY_ROOT: &[&[u8]] = &[
    b"/usr/bin/",
    b"/usr/sbin/",
    b"/usr/lib/",
    b"/usr/libexec/",
    b"/usr/local/bin/",
    b"/usr/local/sbin/",
    b"/usr/local/lib/",
    b"/etc/",
    b"/opt/",
    b"/srv/",
];

fn run_by_root(path: &[u8], extra: &[Vec<u8>]) -> bool {
    RUN_BY_ROOT.iter().any(|p| path.starts_with(p))
        || extra.iter().any(|p| {
            path == p.as_slice() || (path.starts_with(p) && path.get(p.len()) == Some(&b'/'))
        })
}

fn mode_of(e: &Entry) -> u32 {
    u32::from_str_radix(&e.mode, 8).unwrap_or(0)
}

/// The findings for one entry. `packaged`: the paths dpkg's lists name;
/// `uids`, `gids`: the accounts and groups that exist.
pub fn judge(
    e: &Entry,
    packaged: &HashSet<Vec<u8>>,
    uids: &HashSet<u32>,
    gids: &HashSet<u32>,
    root_run: &[Vec<u8>],
) -> Vec<Finding> {
    let path = e.path.as_bytes().to_vec();
    let shown = hardkit_core::bytes_path::display_path(e.path.as_path());
    let mode = mode_of(e);
    let mut out = Vec::new();
    let at = |f: Finding| {
        f.at(Location::new(e.path.clone(), None))
            .evidence("mode", &e.mode)
            .evidence("uid", e.uid)
            .evidence("gid", e.gid)
    };
    match e.ftype {
        FileKind::File if mode & 0o002 != 0 => {
            let exec = mode & 0o111 != 0;
            // In a root service's own code directory every file is code
            // root runs (an interpreter's script needs no x bit).
            let in_root_unit = run_by_root(&path, root_run) && !run_by_root(&path, &[]);
            let severity = if in_root_unit
                || (run_by_root(&path, root_run) && (exec || path.starts_with(b"/etc/")))
            {
                Severity::Critical
            } else if exec {
                Severity::High
            } else {
                Severity::Medium
            };
            out.push(at(Finding::new(
                "fim/world-writable-file",
                severity,
                format!("{shown} can be rewritten by every user"),
                if severity == Severity::Critical {
                    "A program or configuration that root runs or reads, writable by anyone: any local user (or any compromised service account) becomes root.".to_string()
                } else {
                    "Any local user can change this file.".to_string()
                },
            )
            .fix(format!("chmod o-w {shown}"))));
        }
        FileKind::Dir if mode & 0o002 != 0 && mode & 0o1000 == 0 => {
            let severity = if run_by_root(&path, root_run)
                || DEFAULT_PATHS.iter().any(|p| path == p.as_bytes())
            {
                Severity::Critical
            } else {
                Severity::High
            };
            out.push(at(Finding::new(
                "fim/world-writable-dir",
                severity,
                format!("{shown} is a world-writable directory without the sticky bit"),
                "Every user can add, replace and delete its entries, including other users' and root's files.".to_string(),
            )
            .fix(format!("chmod o-w {shown} (or chmod +t for a shared drop directory)"))));
        }
        _ => {}
    }
    if e.ftype == FileKind::File && mode & 0o6000 != 0 && !packaged.contains(&path) {
        let bits = match (mode & 0o4000 != 0, mode & 0o2000 != 0) {
            (true, true) => "set-uid and set-gid",
            (true, false) => "set-uid",
            _ => "set-gid",
        };
        out.push(at(Finding::new(
            "fim/setuid-unpackaged",
            if mode & 0o4000 != 0 && e.uid == 0 {
                Severity::Critical
            } else {
                Severity::High
            },
            format!("{shown} is {bits} and no package installed it"),
            "A set-uid program that no package owns is the classic backdoor: whoever runs it gets its owner's rights.".to_string(),
        )
        .fix(format!("find out where it came from (ls -l --time-style=full-iso {shown}); if nobody knows: chmod ug-s {shown}, and treat the host as compromised"))));
    }
    if e.ftype == FileKind::File
        && e.xattrs.0.contains_key(&b"security.capability"[..])
        && !packaged.contains(&path)
    {
        out.push(at(Finding::new(
            "fim/capabilities-unpackaged",
            Severity::High,
            format!("{shown} carries file capabilities and no package installed it"),
            "File capabilities give whoever runs it part of root's powers (getcap shows which)."
                .to_string(),
        )
        .fix(format!(
            "getcap {shown}; if they are not known: setcap -r {shown}"
        ))));
    }
    if !uids.contains(&e.uid) || !gids.contains(&e.gid) {
        out.push(at(Finding::new(
            "fim/no-owner",
            Severity::Medium,
            format!("{shown} belongs to a user or group that does not exist"),
            "Whoever is next given that uid or gid owns it: a leftover of a removed account, or of an archive unpacked as root.".to_string(),
        )
        .fix(format!("chown root:root {shown} (or the right owner)"))));
    }
    out
}

/// Walk `roots` with the plan's root and judge every entry; `sink` gets
/// each finding (in path order) and each error message.
#[allow(clippy::too_many_arguments)]
pub fn inventory<E>(
    plan: &WalkPlan,
    roots: &[PathBuf],
    packaged: &HashSet<Vec<u8>>,
    uids: &HashSet<u32>,
    gids: &HashSet<u32>,
    root_run: &[Vec<u8>],
    mut sink: impl FnMut(Result<Finding, (Vec<u8>, String)>) -> Result<(), E>,
) -> Result<u64, E> {
    let mut seen = 0u64;
    scan_tree(plan, roots, |outcome| match outcome {
        Outcome::Entry { entry, .. } => {
            seen += 1;
            for f in judge(&entry, packaged, uids, gids, root_run) {
                sink(Ok(f))?;
            }
            Ok(())
        }
        Outcome::Failed {
            system, message, ..
        } => sink(Err((system, message))),
    })?;
    Ok(seen)
}

/// The code directories of the services the admin installed
/// (`/etc/systemd/system/*.service`): each unit's first ExecStart= program's
/// directory and its WorkingDirectory=, read as data. Returns (directory,
/// whether the unit runs as root: no User= and no DynamicUser=).
pub fn unit_paths(root: &hardkit_core::Root) -> Vec<(PathBuf, bool)> {
    let Ok(dir) = root.resolve("/etc/systemd/system") else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name();
        if !name.as_bytes().ends_with(b".service") || !e.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let Ok(bytes) = hardkit_core::input::read_regular_file(&e.path(), 1 << 20) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut as_root = true;
        let mut dirs = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(v) = line.strip_prefix("User=") {
                as_root &= matches!(v.trim(), "" | "root" | "0");
            } else if line.starts_with("DynamicUser=") && line.ends_with("yes") {
                as_root = false;
            } else if let Some(v) = line.strip_prefix("ExecStart=") {
                let program = v
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches(['@', '-', ':', '+', '!']);
                if let Some(parent) = std::path::Path::new(program).parent() {
                    if parent.is_absolute() && parent != std::path::Path::new("/") {
                        dirs.push(parent.to_path_buf());
                    }
                }
            } else if let Some(v) = line.strip_prefix("WorkingDirectory=") {
                let v = v.trim().trim_start_matches('-');
                if v.starts_with('/') && v != "/" {
                    dirs.push(PathBuf::from(v));
                }
            }
        }
        out.extend(dirs.into_iter().map(|d| (d, as_root)));
    }
    out.sort();
    out.dedup();
    out
}

/// The rules for the inventory: every root with only what it needs
/// (type, mode, owner, extended attributes for capabilities).
pub fn rules_text(roots: &[PathBuf]) -> String {
    roots
        .iter()
        .map(|p| {
            let bytes = p.as_os_str();
            let mut line = String::new();
            for b in std::os::unix::ffi::OsStrExt::as_bytes(bytes) {
                if b.is_ascii_graphic() && *b != b'\\' && *b != b'#' {
                    line.push(*b as char);
                } else {
                    line.push_str(&format!("\\x{b:02x}"));
                }
            }
            format!("{line} perms+xattrs\n")
        })
        .collect()
}

/// Paths dpkg's file lists name (a package's set-uid programs are its own
/// business: `dpkg-statoverride` and the package decide).
/// A merged /usr's `/bin/mount` is the walk's `/usr/bin/mount`: each
/// path's first component is resolved in the tree (once per component).
pub fn packaged_paths(root: &hardkit_core::Root) -> HashSet<Vec<u8>> {
    let mut tops: std::collections::HashMap<Vec<u8>, Vec<u8>> = std::collections::HashMap::new();
    let mut out = HashSet::new();
    for e in crate::packages::expected(root).unwrap_or_default() {
        let path = e.path;
        let end = path[1..]
            .iter()
            .position(|b| *b == b'/')
            .map_or(path.len(), |i| i + 1);
        let top = path[..end].to_vec();
        let canonical = tops
            .entry(top.clone())
            .or_insert_with(|| {
                let system = std::path::Path::new(std::ffi::OsStr::from_bytes(&top));
                root.resolve(system)
                    .map(|host| {
                        std::os::unix::ffi::OsStrExt::as_bytes(root.system_path(&host).as_os_str())
                            .to_vec()
                    })
                    .unwrap_or_else(|_| top.clone())
            })
            .clone();
        let mut p = canonical;
        p.extend_from_slice(&path[end..]);
        out.insert(p);
    }
    out
}

/// The root's accounts and groups (uids, gids).
pub fn ids(root: &hardkit_core::Root) -> (HashSet<u32>, HashSet<u32>) {
    let read = |p: &str| -> String {
        root.resolve(p)
            .ok()
            .and_then(|h| hardkit_core::input::read_regular_file(&h, 64 << 20).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let field = |text: String| -> HashSet<u32> {
        text.lines()
            .filter_map(|l| l.split(':').nth(2).and_then(|f| f.parse().ok()))
            .collect()
    };
    (field(read("/etc/passwd")), field(read("/etc/group")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Xattrs;
    use hardkit_core::BytesPath;

    fn entry(path: &str, ftype: FileKind, mode: &str, uid: u32) -> Entry {
        Entry {
            path: BytesPath::new(PathBuf::from(path)),
            ftype,
            mode: mode.into(),
            uid,
            gid: 0,
            size: 0,
            mtime: String::new(),
            ctime: String::new(),
            inode: 0,
            nlink: 1,
            target: None,
            blake3: None,
            xattrs: Xattrs::default(),
        }
    }

    #[test]
    fn severity_follows_what_runs_it() {
        let ids: HashSet<u32> = [0, 1000].into_iter().collect();
        let none = HashSet::new();
        let j = |e: &Entry| -> Vec<(String, Severity)> {
            judge(e, &none, &ids, &ids, &[])
                .into_iter()
                .map(|f| (f.id, f.severity))
                .collect()
        };
        assert_eq!(
            j(&entry("/usr/local/bin/tool", FileKind::File, "0777", 0)),
            [("fim/world-writable-file".into(), Severity::Critical)]
        );
        assert_eq!(
            j(&entry("/var/lib/app/data", FileKind::File, "0666", 0)),
            [("fim/world-writable-file".into(), Severity::Medium)]
        );
        assert_eq!(
            j(&entry("/opt/agent", FileKind::Dir, "0777", 0)),
            [("fim/world-writable-dir".into(), Severity::Critical)]
        );
        assert!(j(&entry("/var/lib/php/sessions", FileKind::Dir, "1733", 0)).is_empty());
        assert_eq!(
            j(&entry("/usr/local/bin/sh2", FileKind::File, "4755", 0)),
            [("fim/setuid-unpackaged".into(), Severity::Critical)]
        );
        let packaged: HashSet<Vec<u8>> = [b"/usr/bin/passwd".to_vec()].into_iter().collect();
        assert!(judge(
            &entry("/usr/bin/passwd", FileKind::File, "4755", 0),
            &packaged,
            &ids,
            &ids,
            &[]
        )
        .is_empty());
        // A root service's own code directory outside the usual trees.
        let agent = vec![b"/home/agent/app".to_vec()];
        let loop_py = entry("/home/agent/app/loop.py", FileKind::File, "0666", 1000);
        assert_eq!(
            judge(&loop_py, &none, &ids, &ids, &agent)[0].severity,
            Severity::Critical
        );
        assert_eq!(
            judge(&loop_py, &none, &ids, &ids, &[])[0].severity,
            Severity::Medium
        );
        assert_eq!(
            j(&entry("/srv/x", FileKind::File, "0644", 4242)),
            [("fim/no-owner".into(), Severity::Medium)]
        );
    }
}
