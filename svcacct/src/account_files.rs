//! Accounts created and changed in a tree under `--root` by editing its
//! /etc/passwd, group, shadow and gshadow, never by running `useradd`,
//! `groupadd`, `usermod` or `gpasswd` with `--root`.
//!
//! Those programs `chroot` into the tree and then look names up through
//! NSS, which loads the tree's own `libnss_*.so` modules named by its
//! nsswitch.conf, as root: a hostile image runs its code as root on the
//! host (the class of sudo's CVE-2025-32463). Editing the files loads
//! nothing from the tree. Each file is replaced through core's writer
//! (directory descriptors, no link followed, atomic), keeping its mode and
//! owner. The IDs were chosen by the plan in the tree's SYS_UID_MIN..MAX
//! from its login.defs, as `useradd --system` would.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use hardkit_core::atomic::{self, WriteOptions};
use hardkit_core::dirfd;
use hardkit_core::Root;

use crate::apply::ApplyError;

/// Account files larger than this are not account files.
const MAX_ACCOUNT_FILE: u64 = 16 << 20;

/// An account file's lines, with the mode and owner to keep.
struct AccountFile {
    lines: Vec<String>,
    mode: u32,
    owner: (u32, u32),
}

/// The tree's account file `system` (e.g. "/etc/passwd"); `None` when the
/// file does not exist.
fn read_lines(root: &Root, system: &str) -> Result<Option<AccountFile>, ApplyError> {
    let host = root.resolve_parent(system)?;
    let io = |source| ApplyError::Io {
        path: host.clone(),
        what: "reading",
        source,
    };
    let (dir, name) = dirfd::parent_for_writing(&host).map_err(atomic::AtomicError::from)?;
    let file = match dir.open_read(&name) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() || meta.len() > MAX_ACCOUNT_FILE {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a regular account file (or larger than 16 MiB)",
        )));
    }
    let mut bytes = Vec::new();
    file.take(MAX_ACCOUNT_FILE)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let text = String::from_utf8_lossy(&bytes);
    let lines = text.lines().map(str::to_string).collect();
    Ok(Some(AccountFile {
        lines,
        mode: meta.mode() & 0o7777,
        owner: (meta.uid(), meta.gid()),
    }))
}

/// Rewrite `system` with `edit` applied to its lines; a missing file is
/// created (root:root, mode `create`) when `create` is given, else left
/// missing.
fn edit(
    root: &Root,
    system: &str,
    create: Option<u32>,
    edit: impl FnOnce(&mut Vec<String>),
) -> Result<(), ApplyError> {
    let AccountFile {
        mut lines,
        mode,
        owner,
    } = match read_lines(root, system)? {
        Some(found) => found,
        None => match create {
            Some(mode) => AccountFile {
                lines: Vec::new(),
                mode,
                owner: (0, 0),
            },
            None => return Ok(()),
        },
    };
    edit(&mut lines);
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    let host = root.resolve_parent(system)?;
    atomic::replace_file(
        &host,
        text.as_bytes(),
        &WriteOptions {
            mode,
            owner: Some(owner),
            backup: true,
        },
    )?;
    Ok(())
}

fn name_of(line: &str) -> &str {
    line.split(':').next().unwrap_or("")
}

fn has_entry(lines: &[String], name: &str) -> bool {
    lines.iter().any(|l| name_of(l) == name)
}

/// `groupadd --system --gid GID NAME`: a line in group (and gshadow if the
/// tree has one, with a locked password).
pub fn add_group(root: &Root, name: &str, gid: u32) -> Result<(), ApplyError> {
    edit(root, "/etc/group", Some(0o644), |lines| {
        if !has_entry(lines, name) {
            lines.push(format!("{name}:x:{gid}:"));
        }
    })?;
    edit(root, "/etc/gshadow", None, |lines| {
        if !has_entry(lines, name) {
            lines.push(format!("{name}:!::"));
        }
    })
}

/// `useradd --system --no-create-home`: a line in passwd and a locked
/// password (`!`, as useradd leaves it) in shadow.
pub fn add_user(
    root: &Root,
    name: &str,
    uid: u32,
    gid: u32,
    home: &Path,
    gecos: &str,
    shell: &str,
) -> Result<(), ApplyError> {
    let line = format!("{name}:x:{uid}:{gid}:{gecos}:{}:{shell}", home.display());
    edit(root, "/etc/passwd", Some(0o644), |lines| {
        if !has_entry(lines, name) {
            lines.push(line);
        }
    })?;
    // useradd writes the day of creation as the last change; 0 would force
    // a password change, an empty field means "never recorded".
    edit(root, "/etc/shadow", Some(0o640), |lines| {
        if !has_entry(lines, name) {
            lines.push(format!("{name}:!:::::::"));
        }
    })
}

/// `usermod --shell SHELL` and/or `usermod --lock` (a `!` before the hash).
pub fn lock_down(
    root: &Root,
    name: &str,
    shell: Option<&str>,
    lock: bool,
) -> Result<(), ApplyError> {
    if let Some(shell) = shell {
        edit(root, "/etc/passwd", None, |lines| {
            for l in lines.iter_mut().filter(|l| name_of(l) == name) {
                let mut f: Vec<&str> = l.split(':').collect();
                if f.len() >= 7 {
                    f[6] = shell;
                    *l = f.join(":");
                }
            }
        })?;
    }
    if lock {
        edit(root, "/etc/shadow", None, |lines| {
            for l in lines.iter_mut().filter(|l| name_of(l) == name) {
                let mut f: Vec<String> = l.split(':').map(str::to_string).collect();
                if f.len() >= 2 && !f[1].starts_with('!') {
                    f[1] = format!("!{}", f[1]);
                    *l = f.join(":");
                }
            }
        })?;
    }
    Ok(())
}

/// `gpasswd --delete USER GROUP`: the user leaves the member list of group
/// (and the member list of gshadow).
pub fn leave_group(root: &Root, user: &str, group: &str) -> Result<(), ApplyError> {
    let drop_member = |lines: &mut Vec<String>, members_field: usize| {
        for l in lines.iter_mut().filter(|l| name_of(l) == group) {
            let mut f: Vec<String> = l.split(':').map(str::to_string).collect();
            if f.len() > members_field {
                let kept: Vec<&str> = f[members_field]
                    .split(',')
                    .filter(|m| !m.is_empty() && *m != user)
                    .collect();
                f[members_field] = kept.join(",");
                *l = f.join(":");
            }
        }
    };
    edit(root, "/etc/group", None, |lines| drop_member(lines, 3))?;
    edit(root, "/etc/gshadow", None, |lines| drop_member(lines, 3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tree() -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir_all(t.path().join("etc")).unwrap();
        fs::write(
            t.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/bash\nbob:x:998:998::/srv:/bin/sh\n",
        )
        .unwrap();
        fs::write(
            t.path().join("etc/group"),
            "root:x:0:\nsudo:x:27:alice,bob\n",
        )
        .unwrap();
        fs::write(
            t.path().join("etc/gshadow"),
            "root:*::\nsudo:*::alice,bob\n",
        )
        .unwrap();
        fs::write(
            t.path().join("etc/shadow"),
            "root:*:1::::::\nbob:$6$x$y:1::::::\n",
        )
        .unwrap();
        let root = Root::new(t.path()).unwrap();
        (t, root)
    }

    fn read(t: &tempfile::TempDir, f: &str) -> String {
        fs::read_to_string(t.path().join("etc").join(f)).unwrap()
    }

    #[test]
    fn edits_the_four_files_like_the_shadow_tools() {
        let (t, root) = tree();
        add_group(&root, "agent", 997).unwrap();
        add_user(
            &root,
            "agent",
            997,
            997,
            Path::new("/var/lib/agent"),
            "agent svc",
            "/usr/sbin/nologin",
        )
        .unwrap();
        lock_down(&root, "bob", Some("/usr/sbin/nologin"), true).unwrap();
        leave_group(&root, "bob", "sudo").unwrap();
        // Again: nothing is added twice.
        add_group(&root, "agent", 997).unwrap();
        assert!(read(&t, "group").ends_with("sudo:x:27:alice\nagent:x:997:\n"));
        assert!(read(&t, "gshadow").ends_with("sudo:*::alice\nagent:!::\n"));
        assert!(read(&t, "passwd").ends_with(
            "bob:x:998:998::/srv:/usr/sbin/nologin\nagent:x:997:997:agent svc:/var/lib/agent:/usr/sbin/nologin\n"
        ));
        assert!(read(&t, "shadow").ends_with("bob:!$6$x$y:1::::::\nagent:!:::::::\n"));
    }
}
