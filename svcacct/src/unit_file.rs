//! systemd unit files and their drop-ins, read the way systemd 252 reads them.
//!
//! The rules reproduced here (systemd's conf-parser):
//! - lines are stripped of surrounding whitespace; empty lines and lines
//!   starting with `#` or `;` are comments;
//! - a line ending in a backslash continues on the next line: the backslash
//!   becomes a space, and comment lines inside a continuation are skipped;
//! - `[Section]` starts a section; `Key=Value` is split at the first `=`,
//!   both sides stripped; a line without `=` is ignored (systemd warns);
//! - every assignment is kept in order, because most settings are lists or
//!   "last one wins", and an empty assignment resets a list: the meaning is
//!   decided by the reader of each setting (see `exposure::context`).
//!
//! Drop-ins (`NAME.service.d/*.conf`, the template's `PREFIX@.service.d`,
//! the dash-prefix directories such as `foo-.service.d`, and the type-wide
//! `service.d`) are applied after the main file, sorted by file name across
//! all unit directories; a drop-in in a higher-priority directory hides one
//! with the same name below it, as in systemd.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use hardkit_core::Root;

/// The unit directories of a system manager, highest priority first.
pub const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

/// One `Key=Value` assignment and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub section: String,
    pub key: String,
    pub value: String,
    /// System path of the file (for findings).
    pub path: PathBuf,
    pub line: u64,
}

/// A unit: its name, the file that defines it, and every assignment of the
/// main file followed by its drop-ins, in the order systemd applies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The unit name systemd would use (`foo.service`, or for a template
    /// analysed on its own `foo@i.service` in 252, `foo@test_instance.service`
    /// from 257: see `exposure::release::template_instance`).
    pub name: String,
    pub fragment: PathBuf,
    pub dropins: Vec<PathBuf>,
    /// The files actually read on this machine (fragment first, then the
    /// drop-ins): host paths, for checks of their owners and modes.
    pub files_read: Vec<PathBuf>,
    pub assignments: Vec<Assignment>,
    /// A user unit (run by a user's own service manager, `systemctl
    /// --user`): found in a user unit directory, or asked for with
    /// `--user`.
    pub user: bool,
}

/// The user unit directories, as a user's systemd searches them (after
/// the user's own `~/.config/systemd/user` and
/// `~/.local/share/systemd/user`).
pub const USER_UNIT_DIRS: &[&str] = &[
    "/etc/systemd/user",
    "/usr/local/lib/systemd/user",
    "/lib/systemd/user",
    "/usr/lib/systemd/user",
];

/// Is the system path `path` in a user unit directory (system-wide, or a
/// home's `.config/systemd/user` or `.local/share/systemd/user`)?
pub fn is_user_unit_path(path: &Path) -> bool {
    let Some(dir) = path.parent() else {
        return false;
    };
    USER_UNIT_DIRS.iter().any(|d| dir == Path::new(d))
        || dir.ends_with(".config/systemd/user")
        || dir.ends_with(".local/share/systemd/user")
}

#[derive(Debug, thiserror::Error)]
pub enum UnitError {
    #[error("{}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a unit file name (expected NAME.service)", .0.display())]
    BadName(PathBuf),
    #[error("{name}: no such unit in the unit directories under --root")]
    NotFound { name: String },
    #[error(transparent)]
    Root(#[from] hardkit_core::root::RootError),
}

/// A unit file's text; bytes that are not UTF-8 are replaced, as they can
/// only occur in values systemd would reject anyway.
fn read_text(path: &Path) -> Result<String, UnitError> {
    hardkit_core::input::read_regular_file(path, hardkit_core::input::MAX_FILE_BYTES)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|source| UnitError::Read {
            path: path.to_path_buf(),
            source,
        })
}

/// Parse unit-file text into assignments (section, key, value, line).
pub fn parse(text: &str, path: &Path) -> Vec<Assignment> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut continuation: Option<(String, u64)> = None;
    for (index, raw) in text.split('\n').enumerate() {
        let number = index as u64 + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if continuation.is_some() {
            let trimmed = raw.trim_start();
            if trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
        }
        let (mut line, start) = match continuation.take() {
            Some((mut joined, start)) => {
                joined.push_str(raw);
                (joined, start)
            }
            None => (raw.to_string(), number),
        };
        if line.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1 {
            line.pop();
            line.push(' ');
            continuation = Some((line, start));
            continue;
        }
        handle_line(&line, start, &mut section, path, &mut out);
    }
    if let Some((line, start)) = continuation {
        handle_line(&line, start, &mut section, path, &mut out);
    }
    out
}

fn handle_line(
    line: &str,
    number: u64,
    section: &mut String,
    path: &Path,
    out: &mut Vec<Assignment>,
) {
    let line = line.trim_matches(is_unit_whitespace);
    if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
        return;
    }
    if let Some(rest) = line.strip_prefix('[') {
        if let Some(name) = rest.strip_suffix(']') {
            *section = name.to_string();
        }
        return;
    }
    let Some((key, value)) = line.split_once('=') else {
        return;
    };
    out.push(Assignment {
        section: section.clone(),
        key: key.trim_matches(is_unit_whitespace).to_string(),
        value: value.trim_matches(is_unit_whitespace).to_string(),
        path: path.to_path_buf(),
        line: number,
    });
}

fn is_unit_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Split `foo@bar.service` into (`foo`, Some(`bar`), `service`).
pub fn split_name(name: &str) -> Option<(&str, Option<&str>, &str)> {
    let (stem, suffix) = name.rsplit_once('.')?;
    if stem.is_empty() || suffix.is_empty() {
        return None;
    }
    match stem.split_once('@') {
        Some((prefix, instance)) => Some((prefix, Some(instance), suffix)),
        None => Some((stem, None, suffix)),
    }
}

/// Load a unit from a file given on the command line: the file itself is the
/// fragment; drop-ins are looked up next to it and in the unit directories
/// under `root`, as `systemd-analyze --offline` does. A template file is
/// analysed as `PREFIX@{template_instance}`, as systemd-analyze does.
pub fn load_file(root: &Root, file: &Path, template_instance: &str) -> Result<Unit, UnitError> {
    load_file_as(root, file, template_instance, false)
}

/// [`load_file`], as a user unit when `user` is set or the file lies in a
/// user unit directory (then its drop-ins come from the user unit
/// directories).
pub fn load_file_as(
    root: &Root,
    file: &Path,
    template_instance: &str,
    user: bool,
) -> Result<Unit, UnitError> {
    let user = user || is_user_unit_path(&root.system_path(file));
    let file_name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| UnitError::BadName(file.to_path_buf()))?;
    let (prefix, instance, suffix) =
        split_name(file_name).ok_or_else(|| UnitError::BadName(file.to_path_buf()))?;
    let name = match instance {
        Some("") => format!("{prefix}@{template_instance}.{suffix}"),
        _ => file_name.to_string(),
    };
    let text = read_text(file)?;
    let mut assignments = parse(&text, file);
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(parent) = file.parent() {
        dirs.push(if parent.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            parent.to_path_buf()
        });
    }
    for dir in unit_dirs(user) {
        dirs.push(root.resolve(dir)?);
    }
    let dropins = find_dropins(&dirs, &name);
    for dropin in &dropins {
        let text = read_text(dropin)?;
        let shown = root.system_path(dropin);
        assignments.extend(parse(&text, &shown));
    }
    Ok(Unit {
        name,
        fragment: file.to_path_buf(),
        dropins: dropins.iter().map(|d| root.system_path(d)).collect(),
        files_read: std::iter::once(file.to_path_buf())
            .chain(dropins.iter().cloned())
            .collect(),
        assignments,
        user,
    })
}

/// Where units of the scope live (system or user).
pub fn unit_dirs(user: bool) -> &'static [&'static str] {
    if user {
        USER_UNIT_DIRS
    } else {
        UNIT_DIRS
    }
}

/// Load an installed unit by name (`nginx` or `nginx.service`) from the unit
/// directories under `root`. A bare template (`worker@.service`) is
/// analysed as `worker@{template_instance}.service`, as systemd-analyze
/// does (not with an empty instance, which would make `User=%i` root).
pub fn load_by_name(root: &Root, name: &str, template_instance: &str) -> Result<Unit, UnitError> {
    load_by_name_as(root, name, template_instance, false)
}

/// [`load_by_name`] in the user unit directories when `user` is set.
pub fn load_by_name_as(
    root: &Root,
    name: &str,
    template_instance: &str,
    user: bool,
) -> Result<Unit, UnitError> {
    let name = if name.contains('.') {
        name.to_string()
    } else {
        format!("{name}.service")
    };
    let (prefix, instance, suffix) =
        split_name(&name).ok_or_else(|| UnitError::BadName(PathBuf::from(&name)))?;
    let (name, instance) = match instance {
        Some("") => (
            format!("{prefix}@{template_instance}.{suffix}"),
            Some(template_instance),
        ),
        other => (name.clone(), other),
    };
    let mut candidates = vec![name.clone()];
    if let Some(instance) = instance {
        if !instance.is_empty() {
            candidates.push(format!("{prefix}@.{suffix}"));
        }
    }
    for candidate in &candidates {
        for dir in unit_dirs(user) {
            let host = root.resolve(Path::new(dir).join(candidate))?;
            if host.is_file() {
                // An alias (a symlink to another unit file) is that unit:
                // systemd names it by its file and adds the alias's drop-ins.
                let real = host
                    .file_name()
                    .and_then(|n| n.to_str())
                    .filter(|n| {
                        instance.is_none() && *n != name && n.ends_with(&format!(".{suffix}"))
                    })
                    .map(str::to_string);
                let (unit_name, aliases) = match real {
                    Some(real) => (real, vec![name.clone()]),
                    None => (name.clone(), Vec::new()),
                };
                let mut unit = load_file_in(root, &host, &unit_name, &aliases, user)?;
                // Shown as systemd shows it: the path in the unit directory,
                // or for an alias the path its link names.
                let found = Path::new(dir).join(candidate);
                unit.fragment = if aliases.is_empty() {
                    found
                } else {
                    root.resolve_parent(&found)
                        .ok()
                        .and_then(|link| fs::read_link(link).ok())
                        .filter(|target| target.is_absolute())
                        .unwrap_or_else(|| root.system_path(&host))
                };
                return Ok(unit);
            }
        }
    }
    Err(UnitError::NotFound { name })
}

fn load_file_in(
    root: &Root,
    host: &Path,
    name: &str,
    aliases: &[String],
    user: bool,
) -> Result<Unit, UnitError> {
    let text = read_text(host)?;
    let mut assignments = parse(&text, &root.system_path(host));
    let mut dirs = Vec::new();
    for dir in unit_dirs(user) {
        dirs.push(root.resolve(dir)?);
    }
    let mut names = vec![name.to_string()];
    names.extend(aliases.iter().cloned());
    let dropins = find_dropins_for(&dirs, &names);
    for dropin in &dropins {
        let text = read_text(dropin)?;
        assignments.extend(parse(&text, &root.system_path(dropin)));
    }
    Ok(Unit {
        name: name.to_string(),
        fragment: host.to_path_buf(),
        dropins: dropins.iter().map(|d| root.system_path(d)).collect(),
        files_read: std::iter::once(host.to_path_buf())
            .chain(dropins.iter().cloned())
            .collect(),
        assignments,
        user,
    })
}

/// Names of the `.d` directories that apply to a unit, most general first:
/// `service.d`, dash prefixes (`foo-.service.d`), the template, the unit.
fn dropin_dir_names(name: &str) -> Vec<String> {
    let mut names = Vec::new();
    let Some((prefix, instance, suffix)) = split_name(name) else {
        return names;
    };
    names.push(format!("{suffix}.d"));
    // Dash-truncated prefixes: "a-b-c.service" gets "a-.service.d", "a-b-.service.d".
    let stem = prefix;
    let mut cut = 0;
    while let Some(pos) = stem[cut..].find('-') {
        let end = cut + pos + 1;
        if end < stem.len() {
            names.push(format!("{}.{suffix}.d", &stem[..end]));
        }
        cut = end;
    }
    if instance.is_some() {
        names.push(format!("{prefix}@.{suffix}.d"));
    }
    names.push(format!("{name}.d"));
    names.dedup();
    names
}

/// All `*.conf` drop-ins for `name` across `dirs` (highest priority first),
/// sorted by file name; a name found in an earlier directory wins.
fn find_dropins(dirs: &[PathBuf], name: &str) -> Vec<PathBuf> {
    find_dropins_for(dirs, &[name.to_string()])
}

/// Drop-ins of a unit known under several names (its aliases).
fn find_dropins_for(dirs: &[PathBuf], unit_names: &[String]) -> Vec<PathBuf> {
    let mut chosen: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut names: Vec<String> = Vec::new();
    for n in unit_names {
        for d in dropin_dir_names(n) {
            if !names.contains(&d) {
                names.push(d);
            }
        }
    }
    names.reverse();
    for dir in dirs {
        for dir_name in &names {
            let Ok(entries) = fs::read_dir(dir.join(dir_name)) else {
                continue;
            };
            let mut files: Vec<(String, PathBuf)> = entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let n = e.file_name().into_string().ok()?;
                    n.ends_with(".conf").then(|| (n, e.path()))
                })
                .collect();
            files.sort();
            for (file_name, path) in files {
                chosen.entry(file_name).or_insert(path);
            }
        }
    }
    chosen.into_values().collect()
}

/// Why systemd would refuse to load `unit` (its service checks when it
/// loads a unit, the same in 252, 257 and 262), and the assignment that
/// decides it (None: a setting that is missing). None: it loads.
pub fn refusal(unit: &Unit) -> Option<(String, Option<&Assignment>)> {
    let service = || unit.assignments.iter().filter(|a| a.section == "Service");
    let last = |key: &str| service().rfind(|a| a.key == key);
    // Exec lines after the last reset (an empty assignment).
    let commands = |key: &str| -> Vec<&Assignment> {
        let mut out = Vec::new();
        for a in service().filter(|a| a.key == key) {
            if a.value.trim().is_empty() {
                out.clear();
            } else {
                out.push(a);
            }
        }
        out
    };
    for a in service().filter(|a| a.key == "WorkingDirectory") {
        let v = a.value.trim();
        // A `-` prefix makes the bad path a warning only.
        if !v.is_empty() && !v.starts_with(['/', '~', '%', '-']) {
            return Some((
                format!("WorkingDirectory={v} is not an absolute path: systemd treats this as a fatal error and does not load the unit"),
                Some(a),
            ));
        }
    }
    let start = commands("ExecStart");
    let stop = commands("ExecStop");
    // Type= defaults to oneshot when there is no ExecStart= (systemd.service(5)).
    let kind = last("Type")
        .map(|a| a.value.trim())
        .filter(|v| !v.is_empty())
        .unwrap_or(if start.is_empty() {
            "oneshot"
        } else {
            "simple"
        });
    let success_action = unit
        .assignments
        .iter()
        .rfind(|a| a.section == "Unit" && a.key == "SuccessAction")
        .is_some_and(|a| !matches!(a.value.trim(), "" | "none"));
    let remain = last("RemainAfterExit").is_some_and(|a| {
        matches!(
            a.value.trim().to_ascii_lowercase().as_str(),
            "yes" | "true" | "1" | "on"
        )
    });
    if start.is_empty() && stop.is_empty() && !success_action {
        return Some((
            "it has no ExecStart=, ExecStop= or SuccessAction=; systemd refuses to load it".into(),
            None,
        ));
    }
    if kind != "oneshot" {
        if start.is_empty() {
            return Some((format!("it has no ExecStart=, which only Type=oneshot may leave out (Type={kind}); systemd refuses to load it"), last("Type")));
        }
        if start.len() > 1 {
            return Some((format!("it has {} ExecStart= lines, which only Type=oneshot may have (Type={kind}); systemd refuses to load it", start.len()), Some(start[1])));
        }
    } else if start.is_empty() && !success_action && !remain {
        return Some(("Type=oneshot without ExecStart= needs RemainAfterExit=yes (or SuccessAction=); systemd refuses to load it".into(), last("Type")));
    }
    if kind == "oneshot" {
        if let Some(r) =
            last("Restart").filter(|r| matches!(r.value.trim(), "always" | "on-success"))
        {
            return Some((
                format!(
                    "Restart={} is not allowed for Type=oneshot; systemd refuses to load it",
                    r.value.trim()
                ),
                Some(r),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Vec<(String, String, String, u64)> {
        parse(text, Path::new("/x.service"))
            .into_iter()
            .map(|a| (a.section, a.key, a.value, a.line))
            .collect()
    }

    #[test]
    fn sections_comments_and_whitespace() {
        let got = parse_str(
            "# c\n[Unit]\n ; c\nDescription = hi there \n\n[Service]\nUser=a\nbogus line\n",
        );
        assert_eq!(
            got,
            vec![
                ("Unit".into(), "Description".into(), "hi there".into(), 4),
                ("Service".into(), "User".into(), "a".into(), 7),
            ]
        );
    }

    #[test]
    fn continuation_lines_join_with_a_space_and_skip_comments() {
        let got = parse_str("[Service]\nExecStart=/bin/a \\\n# comment\n  -b\\\n-c\nUser=x\n");
        assert_eq!(got[0].2, "/bin/a    -b -c");
        assert_eq!(got[0].3, 2);
        assert_eq!(got[1].1, "User");
    }

    #[test]
    fn empty_assignment_is_kept_for_resets() {
        let got = parse_str("[Service]\nSupplementaryGroups=a\nSupplementaryGroups=\n");
        assert_eq!(got[1].2, "");
    }

    #[test]
    fn dropin_directories_in_systemd_order() {
        assert_eq!(
            dropin_dir_names("foo-bar@x.service"),
            vec![
                "service.d",
                "foo-.service.d",
                "foo-bar@.service.d",
                "foo-bar@x.service.d"
            ]
        );
        assert_eq!(
            dropin_dir_names("a.service"),
            vec!["service.d", "a.service.d"]
        );
    }

    #[test]
    fn dropins_sorted_by_name_and_masked_by_priority() {
        let tmp = tempfile::tempdir().unwrap();
        let high = tmp.path().join("etc");
        let low = tmp.path().join("lib");
        for d in [&high, &low] {
            fs::create_dir_all(d.join("a.service.d")).unwrap();
        }
        fs::write(high.join("a.service.d/20-x.conf"), "").unwrap();
        fs::write(low.join("a.service.d/20-x.conf"), "").unwrap();
        fs::write(low.join("a.service.d/10-y.conf"), "").unwrap();
        fs::write(low.join("a.service.d/ignored.txt"), "").unwrap();
        let got = find_dropins(&[high.clone(), low.clone()], "a.service");
        assert_eq!(
            got,
            vec![
                low.join("a.service.d/10-y.conf"),
                high.join("a.service.d/20-x.conf")
            ]
        );
    }
}
