//! What the target says about itself, read as files under `--root`: its
//! release (`/etc/os-release`), its installed packages (dpkg's status
//! file), the archives apt fetches from (sources.list, sources.list.d in
//! both formats) and the lists apt fetched (`/var/lib/apt/lists`: each
//! archive's Release fields and Packages).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use hardkit_core::input::{read_regular_file, MAX_FILE_BYTES};
use hardkit_core::Root;

use crate::origin::Archive;

/// The largest dpkg status file read (a full desktop's is about 10 MB).
const MAX_STATUS_BYTES: u64 = 256 << 20;

/// A file of the tree as text: resolved inside the root, then read only if
/// it is a regular file of at most `limit` bytes (an image may put a FIFO,
/// `/dev/zero` or a huge sparse file where a configuration is expected).
pub fn read_text(root: &Root, system_path: &Path, limit: u64) -> io::Result<String> {
    let host = root
        .resolve(system_path)
        .map_err(|e| io::Error::other(e.to_string()))?;
    let bytes = read_regular_file(&host, limit)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `/etc/os-release` (or `/usr/lib/os-release`): ID and VERSION_CODENAME.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    pub id: String,
    pub codename: String,
    pub pretty_name: String,
}

pub fn os_release(root: &Root) -> Option<OsRelease> {
    for path in ["/etc/os-release", "/usr/lib/os-release"] {
        let Ok(text) = read_text(root, Path::new(path), MAX_FILE_BYTES) else {
            continue;
        };
        let mut r = OsRelease::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"').trim_matches('\'').to_string();
            match k.trim() {
                "ID" => r.id = v,
                "VERSION_CODENAME" => r.codename = v,
                "PRETTY_NAME" => r.pretty_name = v,
                _ => {}
            }
        }
        // Debian testing's os-release has no VERSION_CODENAME in some
        // snapshots; its PRETTY_NAME names it ("Debian GNU/Linux forky/sid").
        if r.codename.is_empty() {
            if let Some(name) = r
                .pretty_name
                .split_whitespace()
                .last()
                .and_then(|w| w.split('/').next())
            {
                if name.chars().all(|c| c.is_ascii_lowercase()) {
                    r.codename = name.to_string();
                }
            }
        }
        return Some(r);
    }
    None
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub name: String,
    pub arch: String,
    pub version: String,
}

/// The packages dpkg has installed (`Status: install ok installed`, and
/// the other `want` states of an installed package). None without a status
/// file: not a dpkg system.
pub fn installed_packages(root: &Root) -> Option<Vec<Installed>> {
    let text = read_text(root, Path::new("/var/lib/dpkg/status"), MAX_STATUS_BYTES).ok()?;
    Some(
        stanzas(&text, &["Package", "Architecture", "Version", "Status"])
            .filter_map(|[name, arch, version, status]| {
                let installed = status?.split_whitespace().nth(2) == Some("installed");
                let (name, version) = (name?, version?);
                installed.then(|| Installed {
                    name: name.to_string(),
                    arch: arch.unwrap_or("all").to_string(),
                    version: version.to_string(),
                })
            })
            .collect(),
    )
}

/// The values of `fields` in each stanza of a dpkg control-format text
/// (dpkg's status file, a Packages list), trimmed, in the order asked.
fn stanzas<'a, const N: usize>(
    text: &'a str,
    fields: &'a [&'a str; N],
) -> impl Iterator<Item = [Option<&'a str>; N]> + 'a {
    text.split("\n\n").map(move |stanza| {
        let mut found = [None; N];
        for line in stanza.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if let Some(i) = fields.iter().position(|f| *f == key) {
                found[i] = Some(value.trim());
            }
        }
        found
    })
}

/// One archive apt is told to fetch (`deb URI SUITE COMPONENTS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub uri: String,
    pub suite: String,
    pub components: Vec<String>,
    pub file: PathBuf,
    pub line: u64,
}

/// The `deb` sources of sources.list and sources.list.d (`*.list` one per
/// line, `*.sources` deb822 stanzas; `Enabled: no` skipped).
pub fn sources(root: &Root) -> Vec<Source> {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = root.resolve("/etc/apt/sources.list.d") {
        if let Ok(entries) = fs::read_dir(dir) {
            let mut names: Vec<String> = entries
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| {
                    (n.ends_with(".list") || n.ends_with(".sources"))
                        && !n.starts_with('.')
                        && n.bytes().all(|b| {
                            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':')
                        })
                })
                .collect();
            names.sort();
            files.extend(
                names
                    .into_iter()
                    .map(|n| Path::new("/etc/apt/sources.list.d").join(n)),
            );
        }
    }
    let mut out = Vec::new();
    for file in files {
        let Ok(text) = read_text(root, &file, MAX_FILE_BYTES) else {
            continue;
        };
        if file.extension().is_some_and(|e| e == "sources") {
            deb822_sources(&text, &file, &mut out);
        } else {
            one_line_sources(&text, &file, &mut out);
        }
    }
    out
}

fn one_line_sources(text: &str, file: &Path, out: &mut Vec<Source>) {
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        let mut rest = match line
            .strip_prefix("deb ")
            .or_else(|| line.strip_prefix("deb\t"))
        {
            Some(r) => r.trim_start(),
            None => continue,
        };
        // Options in brackets: `deb [signed-by=...] URI ...`.
        if rest.starts_with('[') {
            match rest.find(']') {
                Some(end) => rest = rest[end + 1..].trim_start(),
                None => continue,
            }
        }
        let words: Vec<&str> = rest.split_whitespace().collect();
        if words.len() < 2 {
            continue;
        }
        out.push(Source {
            uri: words[0].to_string(),
            suite: words[1].to_string(),
            components: words[2..].iter().map(|s| s.to_string()).collect(),
            file: file.to_path_buf(),
            line: i as u64 + 1,
        });
    }
}

fn deb822_sources(text: &str, file: &Path, out: &mut Vec<Source>) {
    let mut line_no = 0u64;
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut start = 0u64;
    let mut last_key = String::new();
    let mut flush = |fields: &mut BTreeMap<String, String>, start: u64| {
        let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
        let enabled = !matches!(
            get("enabled").to_ascii_lowercase().as_str(),
            "no" | "false" | "0"
        );
        if enabled && get("types").split_whitespace().any(|t| t == "deb") {
            for uri in get("uris").split_whitespace() {
                for suite in get("suites").split_whitespace() {
                    out.push(Source {
                        uri: uri.to_string(),
                        suite: suite.to_string(),
                        components: get("components")
                            .split_whitespace()
                            .map(str::to_string)
                            .collect(),
                        file: file.to_path_buf(),
                        line: start,
                    });
                }
            }
        }
        fields.clear();
    };
    for line in text.lines() {
        line_no += 1;
        if line.starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            if !fields.is_empty() {
                flush(&mut fields, start);
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(v) = fields.get_mut(&last_key) {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            if fields.is_empty() {
                start = line_no;
            }
            last_key = k.trim().to_ascii_lowercase();
            fields.insert(last_key.clone(), v.trim().to_string());
        }
    }
    if !fields.is_empty() {
        flush(&mut fields, start);
    }
}

/// An archive apt has fetched: its Release fields and when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedArchive {
    /// The list file's name prefix (`deb.debian.org_debian-security_dists_bookworm-security_`).
    pub prefix: String,
    pub release: Archive,
    /// The Release file's `Date:` (RFC 2822), as given.
    pub date: Option<String>,
    /// Its `Valid-Until:`: after it apt refuses the archive's lists.
    pub valid_until: Option<String>,
    /// When apt fetched it (the file's modification time).
    pub fetched: Option<SystemTime>,
}

/// A Packages list of a fetched archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagesList {
    pub file: PathBuf,
    /// Index into the archives.
    pub archive: usize,
    pub component: String,
}

pub const LISTS_DIR: &str = "/var/lib/apt/lists";

/// The archives and Packages lists in /var/lib/apt/lists.
pub fn fetched_lists(root: &Root) -> (Vec<FetchedArchive>, Vec<PackagesList>) {
    let mut archives = Vec::new();
    let mut lists = Vec::new();
    let Ok(dir) = root.resolve(LISTS_DIR) else {
        return (archives, lists);
    };
    let Ok(entries) = fs::read_dir(&dir) else {
        return (archives, lists);
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    for name in &names {
        let prefix = if let Some(p) = name.strip_suffix("_InRelease") {
            p
        } else if let Some(p) = name.strip_suffix("_Release") {
            // A Release beside an InRelease says the same.
            if names.iter().any(|n| n == &format!("{p}_InRelease")) {
                continue;
            }
            p
        } else {
            continue;
        };
        let path = dir.join(name);
        let Ok(bytes) = read_regular_file(&path, MAX_FILE_BYTES) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let fields = release_fields(&text);
        let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
        let site = prefix.split('_').next().unwrap_or_default().to_string();
        archives.push(FetchedArchive {
            prefix: format!("{prefix}_"),
            release: Archive {
                origin: get("origin"),
                label: get("label"),
                suite: get("suite"),
                codename: get("codename"),
                component: String::new(),
                site,
            },
            date: fields.get("date").cloned(),
            valid_until: fields.get("valid-until").cloned(),
            fetched: fs::metadata(&path).and_then(|m| m.modified()).ok(),
        });
    }
    for name in &names {
        let plain = name.strip_suffix(".gz").unwrap_or(name);
        if !plain.ends_with("_Packages") {
            continue;
        }
        // The longest archive prefix: `..._dists_bookworm-security_` and
        // then `main_binary-amd64_Packages`.
        let Some((index, archive)) = archives
            .iter()
            .enumerate()
            .filter(|(_, a)| plain.starts_with(&a.prefix))
            .max_by_key(|(_, a)| a.prefix.len())
        else {
            continue;
        };
        let rest = &plain[archive.prefix.len()..];
        let component = rest.split('_').next().unwrap_or_default().to_string();
        lists.push(PackagesList {
            file: Path::new(LISTS_DIR).join(name),
            archive: index,
            component,
        });
    }
    (archives, lists)
}

/// The fields of a Release or InRelease file (the signature around it
/// skipped), keys lowercased.
fn release_fields(text: &str) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    // A clearsigned InRelease: its armour header (`Hash: SHA512`) ends at
    // the first empty line.
    let body = match text.strip_prefix("-----BEGIN PGP SIGNED MESSAGE-----") {
        Some(rest) => rest.split_once("\n\n").map(|(_, b)| b).unwrap_or_default(),
        None => text,
    };
    for line in body.lines() {
        if line.starts_with(' ') || line.starts_with('-') || line.starts_with('\t') {
            continue;
        }
        if line.is_empty() && !fields.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.contains(' ') {
                continue;
            }
            fields.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    fields
}

/// The largest Packages list read (a list of all of Debian main is about
/// 60 MB unpacked); a bigger file is a hostile image, not apt's.
const MAX_LIST_BYTES: u64 = 256 << 20;

/// The (package, architecture, version) entries of a Packages list.
pub fn read_packages(
    root: &Root,
    list: &PackagesList,
) -> io::Result<Vec<(String, String, String)>> {
    let host = root
        .resolve(&list.file)
        .map_err(|e| io::Error::other(e.to_string()))?;
    let bytes = read_regular_file(&host, MAX_LIST_BYTES)?;
    let mut text = String::new();
    if list.file.extension().is_some_and(|e| e == "gz") {
        // (bounded as it is unpacked: a small file can unpack to anything)
        let mut raw = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .take(MAX_LIST_BYTES)
            .read_to_end(&mut raw)?;
        text = String::from_utf8_lossy(&raw).into_owned();
    } else {
        text.push_str(&String::from_utf8_lossy(&bytes));
    }
    Ok(stanzas(&text, &["Package", "Architecture", "Version"])
        .filter_map(|[n, a, v]| Some((n?.to_string(), a?.to_string(), v?.to_string())))
        .collect())
}
