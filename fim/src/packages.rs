//! `fim verify-packages`: every installed Debian package's files checked
//! against the package manager's own checksums, as `dpkg --verify` and
//! `debsums` do, for a server with no baseline yet. Read as data only: the
//! dpkg status file (installed packages and their conffiles' MD5), each
//! package's `info/PKG[:ARCH].md5sums`, the diversions, and the files
//! themselves, resolved inside the tree and opened without following a
//! final symlink.
//!
//! What it can and cannot tell: the checksums live on the same disk as the
//! files. A root intruder who changes `/usr/bin/ls` can rewrite
//! `ls`'s line of `coreutils.md5sums` too, and this check will pass; only a
//! keyed fim baseline taken on a clean system (or checksums fetched from
//! the archive) tells that apart.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{CStr, CString};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use hardkit_core::Root;
use md5::{Digest, Md5};
use rayon::prelude::*;

/// One file a package installed, and what dpkg recorded of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub package: String,
    /// The system path, absolute.
    pub path: Vec<u8>,
    /// Hex MD5 as recorded.
    /// Empty for a listed path dpkg keeps no checksum of (a directory, a
    /// symlink): only its presence is checked.
    pub md5: String,
    pub conffile: bool,
}

/// What was found at one expected path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Same,
    /// Content differs: the MD5 found.
    Changed(String),
    Missing,
    /// No longer a regular file (a symlink, a directory, ...).
    Replaced(&'static str),
    /// Could not be read (permissions, I/O).
    Unreadable(String),
}

/// A conffile of the status file: (path, md5, obsolete).
type Conffile = (String, String, bool);

/// Installed packages from a dpkg status file: (name, the name its info
/// files carry (`:arch` added for Multi-Arch: same), conffiles).
fn installed(status: &str) -> Vec<(String, String, Vec<Conffile>)> {
    let mut out = Vec::new();
    for stanza in status.split("\n\n") {
        let mut name = None;
        let mut arch = String::new();
        let mut multi_same = false;
        let mut installed = false;
        let mut conffiles = Vec::new();
        let mut in_conffiles = false;
        for line in stanza.lines() {
            if in_conffiles && line.starts_with(' ') {
                let mut words = line.split_whitespace();
                if let (Some(path), Some(md5)) = (words.next(), words.next()) {
                    let obsolete = words.any(|w| w == "obsolete" || w == "remove-on-upgrade");
                    conffiles.push((path.to_string(), md5.to_string(), obsolete));
                }
                continue;
            }
            in_conffiles = false;
            if let Some(v) = line.strip_prefix("Package: ") {
                name = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("Architecture: ") {
                arch = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("Multi-Arch: ") {
                multi_same = v.trim() == "same";
            } else if let Some(v) = line.strip_prefix("Status: ") {
                installed = v.split_whitespace().last() == Some("installed");
            } else if line.starts_with("Conffiles:") {
                in_conffiles = true;
            }
        }
        if let (Some(name), true) = (name, installed) {
            // dpkg names a Multi-Arch: same package's info files PKG:ARCH.
            let info = if multi_same {
                format!("{name}:{arch}")
            } else {
                name.clone()
            };
            out.push((name, info, conffiles));
        }
    }
    out
}

/// `/var/lib/dpkg/diversions`: triplets of lines (path, diverted-to,
/// package or `:`). A package's file diverted by another lives at the
/// diverted-to path.
fn diversions(text: &str) -> HashMap<String, (String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = HashMap::new();
    for t in lines.chunks(3) {
        if let [from, to, by] = t {
            out.insert(from.to_string(), (to.to_string(), by.to_string()));
        }
    }
    out
}

/// Every file the installed packages recorded a checksum for, conffiles
/// from the status file, in path order.
pub fn expected(root: &Root) -> io::Result<Vec<Expected>> {
    let read = |path: &str| -> io::Result<String> {
        let host = root
            .resolve(path)
            .map_err(|e| io::Error::new(io::ErrorKind::NotFound, e.to_string()))?;
        hardkit_core::input::read_regular_file(&host, 512 << 20)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| io::Error::other(e.to_string()))
    };
    let status = read("/var/lib/dpkg/status")?;
    let diverted = read("/var/lib/dpkg/diversions")
        .map(|t| diversions(&t))
        .unwrap_or_default();
    let mut out = Vec::new();
    for (package, info, conffiles) in installed(&status) {
        let conf: HashMap<&str, ()> = conffiles.iter().map(|(p, _, _)| (p.as_str(), ())).collect();
        let place = |path: String| -> String {
            match diverted.get(&path) {
                Some((to, by)) if *by != package => to.clone(),
                _ => path,
            }
        };
        if let Ok(sums) = read(&format!("/var/lib/dpkg/info/{info}.md5sums")) {
            for line in sums.lines() {
                let Some((md5, rel)) = line.split_once("  ") else {
                    continue;
                };
                let path = format!("/{}", rel.trim_start_matches('/'));
                // A conffile's checksum is the status file's.
                if conf.contains_key(path.as_str()) {
                    continue;
                }
                out.push(Expected {
                    package: package.clone(),
                    path: place(path).into_bytes(),
                    md5: md5.trim().to_string(),
                    conffile: false,
                });
            }
        }
        // Every other path the package installed (directories, symlinks):
        // dpkg --verify reports it missing when it is gone.
        let summed: std::collections::HashSet<Vec<u8>> = out
            .iter()
            .rev()
            .take_while(|e: &&Expected| e.package == package)
            .map(|e| e.path.clone())
            .collect();
        if let Ok(list) = read(&format!("/var/lib/dpkg/info/{info}.list")) {
            for line in list.lines() {
                if line.is_empty() || line == "/." || conf.contains_key(line) {
                    continue;
                }
                let path = place(line.to_string()).into_bytes();
                if summed.contains(&path) {
                    continue;
                }
                out.push(Expected {
                    package: package.clone(),
                    path,
                    md5: String::new(),
                    conffile: false,
                });
            }
        }
        for (path, md5, obsolete) in conffiles {
            // "newconffile": dpkg has not recorded a hash yet.
            if obsolete || md5 == "newconffile" {
                continue;
            }
            out.push(Expected {
                package: package.clone(),
                path: place(path).into_bytes(),
                md5,
                conffile: true,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path).then(a.package.cmp(&b.package)));
    Ok(out)
}

/// Look at one expected file, named `name` inside the open directory
/// `dir` (its parent, already resolved inside the tree: a merged /usr's
/// /bin -> usr/bin is followed there). The file itself is opened without
/// following a symlink, read and hashed.
fn check_in(dir: libc::c_int, name: &CStr, e: &Expected, buf: &mut [u8]) -> Found {
    if e.md5.is_empty() {
        // Presence only, as dpkg checks it (the entry itself, not a
        // symlink's target).
        return match crate::walk::stat_at(dir, name) {
            Ok(_) => Found::Same,
            Err(err) if matches!(err.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
                Found::Missing
            }
            Err(err) => Found::Unreadable(err.to_string()),
        };
    }
    let file = match crate::hash::open_at(dir, name) {
        Ok(f) => f,
        Err(err) => {
            return match err.raw_os_error() {
                Some(libc::ENOENT) | Some(libc::ENOTDIR) => Found::Missing,
                Some(libc::ELOOP) => Found::Replaced("symlink"),
                Some(libc::ENXIO) => Found::Replaced("socket"),
                _ => Found::Unreadable(err.to_string()),
            }
        }
    };
    let st = match crate::hash::fstat(&file) {
        Ok(st) => st,
        Err(err) => return Found::Unreadable(err.to_string()),
    };
    match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => {}
        libc::S_IFDIR => return Found::Replaced("directory"),
        _ => return Found::Replaced("special file"),
    }
    match md5_of(file, buf) {
        Ok(got) if got.eq_ignore_ascii_case(&e.md5) => Found::Same,
        Ok(got) => Found::Changed(got),
        Err(err) => Found::Unreadable(err.to_string()),
    }
}

fn md5_of(mut file: std::fs::File, buf: &mut [u8]) -> io::Result<String> {
    let mut hasher = Md5::new();
    loop {
        match file.read(buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Split an absolute system path into its parent and last name.
fn split_parent(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(0) => (b"/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (b"/", path),
    }
}

/// Entries checked per opened directory, at most: siblings share one
/// resolution of their parent, and a large directory is still spread over
/// the threads.
const ENTRIES_PER_UNIT: usize = 256;

/// The entries of `unit` (all with the same parent), checked through one
/// descriptor of that parent.
fn check_unit(root: &Root, unit: &[Expected]) -> Vec<Found> {
    let (parent, _) = split_parent(&unit[0].path);
    let opened = root
        .resolve(Path::new(std::ffi::OsStr::from_bytes(parent)))
        .ok()
        .and_then(|host| CString::new(host.as_os_str().as_bytes()).ok())
        .map(|c| {
            // SAFETY: c is NUL-terminated; the descriptor is owned below.
            let fd = unsafe {
                libc::open(
                    c.as_ptr(),
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                )
            };
            if fd < 0 {
                Err(io::Error::last_os_error())
            } else {
                // SAFETY: fd is freshly opened and owned by nothing else.
                Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
            }
        });
    let dir = match opened {
        Some(Ok(fd)) => fd,
        // The parent is not there (or not a directory): neither is any
        // entry under it.
        None => return vec![Found::Missing; unit.len()],
        Some(Err(err)) => {
            return match err.raw_os_error() {
                Some(libc::ENOENT) | Some(libc::ENOTDIR) | Some(libc::ELOOP) => {
                    vec![Found::Missing; unit.len()]
                }
                _ => vec![Found::Unreadable(err.to_string()); unit.len()],
            }
        }
    };
    let mut buf = vec![0u8; 256 << 10];
    unit.iter()
        .map(|e| {
            let (_, name) = split_parent(&e.path);
            match CString::new(name) {
                Ok(c) if !name.is_empty() => {
                    check_in(std::os::fd::AsRawFd::as_raw_fd(&dir), &c, e, &mut buf)
                }
                _ => Found::Missing,
            }
        })
        .collect()
}

/// Every expected file checked, in parallel, each directory opened once
/// per batch of its entries; only the differences, in path order.
pub fn verify(root: &Root, expected: &[Expected]) -> Vec<(Expected, Found)> {
    let mut units: Vec<&[Expected]> = Vec::new();
    let mut start = 0;
    for i in 1..=expected.len() {
        let cut = i == expected.len()
            || i - start == ENTRIES_PER_UNIT
            || split_parent(&expected[i].path).0 != split_parent(&expected[start].path).0;
        if cut && i > start {
            units.push(&expected[start..i]);
            start = i;
        }
    }
    let mut out: Vec<(Expected, Found)> = units
        .par_iter()
        .flat_map_iter(|unit| {
            unit.iter()
                .cloned()
                .zip(check_unit(root, unit))
                .filter(|(_, f)| *f != Found::Same)
        })
        .collect();
    out.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    out
}

/// Documentation a minimal image leaves out on purpose (dpkg's
/// path-exclude): its absence says nothing of an intrusion.
pub fn is_documentation(path: &[u8]) -> bool {
    [
        &b"/usr/share/doc/"[..],
        b"/usr/share/man/",
        b"/usr/share/info/",
        b"/usr/share/locale/",
        b"/usr/share/lintian/",
        b"/usr/share/groff/",
        b"/usr/share/linda/",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

/// Count per package, for the summary line.
pub fn per_package(results: &[(Expected, Found)]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for (e, _) in results {
        *m.entry(e.package.clone()).or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_packages_their_info_names_and_conffiles() {
        let status = "Package: openssh-server\nStatus: install ok installed\nArchitecture: amd64\nConffiles:\n /etc/ssh/moduli 7a3e sad\n /etc/default/ssh 500e\n /etc/old 1234 obsolete\nVersion: 1\n\n\
                      Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\n\n\
                      Package: gone\nStatus: deinstall ok config-files\n";
        let got = installed(status);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "openssh-server");
        assert_eq!(got[0].1, "openssh-server");
        assert_eq!(
            got[0].2,
            vec![
                ("/etc/ssh/moduli".into(), "7a3e".into(), false),
                ("/etc/default/ssh".into(), "500e".into(), false),
                ("/etc/old".into(), "1234".into(), true)
            ]
        );
        assert_eq!(got[1].1, "libc6:amd64");
    }

    #[test]
    fn diversions_are_read_in_triplets() {
        let d = diversions("/usr/bin/a\n/usr/bin/a.real\npkgx\n/b\n/b.distrib\n:\n");
        assert_eq!(d["/usr/bin/a"], ("/usr/bin/a.real".into(), "pkgx".into()));
        assert_eq!(d["/b"].1, ":");
    }

    #[test]
    fn parents_and_names() {
        assert_eq!(split_parent(b"/bin"), (&b"/"[..], &b"bin"[..]));
        assert_eq!(split_parent(b"/usr/bin/ls"), (&b"/usr/bin"[..], &b"ls"[..]));
    }

    /// Many entries in one directory (more than one batch), a merged-/usr
    /// link in the parent, a parent that is gone: each entry judged as
    /// if alone.
    #[test]
    fn batches_of_one_directory_and_missing_parents() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        std::fs::create_dir_all(t.join("usr/bin")).unwrap();
        std::os::unix::fs::symlink("usr/bin", t.join("bin")).unwrap();
        let empty = "d41d8cd98f00b204e9800998ecf8427e";
        let mut expected = Vec::new();
        for i in 0..(ENTRIES_PER_UNIT * 2 + 3) {
            let name = format!("f{i:04}");
            std::fs::write(t.join("usr/bin").join(&name), b"").unwrap();
            expected.push(Expected {
                package: "p".into(),
                path: format!("/bin/{name}").into_bytes(),
                md5: empty.into(),
                conffile: false,
            });
        }
        std::fs::write(t.join("usr/bin/f0300"), b"x").unwrap();
        std::fs::remove_file(t.join("usr/bin/f0010")).unwrap();
        expected.push(Expected {
            package: "p".into(),
            path: b"/opt/gone/x".to_vec(),
            md5: empty.into(),
            conffile: false,
        });
        expected.sort_by(|a, b| a.path.cmp(&b.path));
        let root = Root::new(t).unwrap();
        let got: Vec<(String, Found)> = verify(&root, &expected)
            .into_iter()
            .map(|(e, f)| (String::from_utf8(e.path).unwrap(), f))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/bin/f0010".to_string(), Found::Missing),
                (
                    "/bin/f0300".to_string(),
                    Found::Changed("9dd4e461268c8034f5c8564e155c67a6".into())
                ),
                ("/opt/gone/x".to_string(), Found::Missing),
            ]
        );
    }

    #[test]
    fn md5_is_the_usual_one() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f");
        std::fs::write(&p, b"hello\n").unwrap();
        assert_eq!(
            md5_of(std::fs::File::open(&p).unwrap(), &mut [0u8; 4096]).unwrap(),
            "b1946ac92492d2347c6235b4d2611184"
        );
    }
}
