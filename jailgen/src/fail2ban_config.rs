//! Reading fail2ban's configuration the way fail2ban 1.0 does.
//!
//! - Files, for a name such as `jail`: `jail.conf`, `jail.d/*.conf` (sorted),
//!   `jail.local`, `jail.d/*.local` (sorted); each preceded by the files its
//!   `[INCLUDES] before =` names and followed by its `after =` ones (paths
//!   relative to the including file, each `x.conf` followed by `x.local` when
//!   it exists), recursively, loops skipped.
//! - Each file is an INI file as Python's configparser reads it: `key = value`
//!   or `key: value`, keys lowercased, indented lines continue a value,
//!   `#`/`;` start comment lines and ` ;` an inline comment, `[DEFAULT]`
//!   options are inherited by every section.
//! - Later files override earlier ones option by option; the value an
//!   option had before it was overridden stays reachable as `%(known/x)s`.
//! - Values are interpolated on use: `%(name)s` from the section, then
//!   `[DEFAULT]`; `%(section/name)s` from another section; `%(__name__)s` is
//!   the section's name; `%%` is a literal `%`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use hardkit_core::Root;

/// A raw value and the line that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub raw: String,
    pub path: String,
    pub line: u64,
}

type Options = BTreeMap<String, Value>;

/// One parsed file.
#[derive(Debug, Default)]
struct FileConfig {
    defaults: Options,
    sections: Vec<(String, Options)>,
}

/// A configuration read from several files.
#[derive(Debug, Default, Clone)]
pub struct Config {
    pub defaults: Options,
    sections: BTreeMap<String, Options>,
    order: Vec<String>,
    /// Every file read, in order (system paths).
    pub files: Vec<String>,
    /// Problems fail2ban would log while reading (file:line and message).
    pub problems: Vec<(String, u64, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpolationError {
    #[error("%({0})s refers to an option that is not defined")]
    Missing(String),
    #[error("'%' must be followed by '%' or '(' in {0:?}")]
    Syntax(String),
    #[error("interpolation deeper than 10 levels (a loop?) in {0:?}")]
    Depth(String),
    #[error(
        "interpolation of {0:?} grows past {MAX_INTERPOLATED} bytes (references that fan out)"
    )]
    TooLong(String),
}

/// The longest value interpolation may build. Ten levels of nesting alone
/// do not bound the work: `a1 = %(a0)s%(a0)s...` ten times per level gives
/// ten billion copies, a hang in jailgen (and in fail2ban). Real values,
/// even long `action` lists, are a few kilobytes.
pub const MAX_INTERPOLATED: usize = 1 << 20;

/// Parse one file's text as Python's configparser does (fail2ban settings).
fn parse(text: &str, path: &str, problems: &mut Vec<(String, u64, String)>) -> FileConfig {
    let mut file = FileConfig::default();
    // Where options of the current section go: None before any header.
    let mut current: Option<usize> = None;
    let mut in_default = false;
    let mut last_key: Option<String> = None;
    let mut last_indent = 0usize;
    for (index, raw_line) in text.lines().enumerate() {
        let line_no = index as u64 + 1;
        let raw_line = raw_line.trim_end_matches('\r');
        let stripped_full = raw_line.trim();
        // Full-line comments.
        if stripped_full.starts_with('#') || stripped_full.starts_with(';') {
            continue;
        }
        // Inline comments: ';' preceded by whitespace.
        let mut value_part = raw_line.to_string();
        if let Some(pos) = inline_comment(raw_line) {
            value_part.truncate(pos);
        }
        let value = value_part.trim();
        let indent = raw_line.len() - raw_line.trim_start().len();
        if value.is_empty() {
            // Empty lines inside a value are kept (then trimmed at the end).
            if let Some(key) = &last_key {
                if let Some(v) = target(&mut file, current, in_default).get_mut(key) {
                    v.raw.push('\n');
                }
            }
            continue;
        }
        if let Some(key) = &last_key {
            if indent > last_indent {
                if let Some(v) = target(&mut file, current, in_default).get_mut(key) {
                    v.raw.push('\n');
                    v.raw.push_str(value);
                }
                continue;
            }
        }
        last_indent = indent;
        // configparser's SECTCRE `\[(?P<header>.+)\]`, matched at the start:
        // the header runs to the last `]`, anything after it is ignored.
        let header_end = value
            .strip_prefix('[')
            .and_then(|rest| rest.rfind(']'))
            .filter(|&end| end > 0);
        if let Some(end) = header_end {
            let name = value[1..1 + end].to_string();
            last_key = None;
            if name == "DEFAULT" {
                in_default = true;
                current = None;
            } else {
                in_default = false;
                match file.sections.iter().position(|(n, _)| *n == name) {
                    Some(i) => {
                        problems.push((path.to_string(), line_no, format!("section [{name}] appears twice in this file; fail2ban refuses to read the file")));
                        current = Some(i);
                    }
                    None => {
                        file.sections.push((name, Options::new()));
                        current = Some(file.sections.len() - 1);
                    }
                }
            }
            continue;
        }
        if current.is_none() && !in_default {
            problems.push((
                path.to_string(),
                line_no,
                "option before any [section] header; fail2ban refuses to read the file".into(),
            ));
            continue;
        }
        let Some(sep) = value.find(['=', ':']) else {
            problems.push((path.to_string(), line_no, format!("{value:?} is neither 'key = value' nor a [section]; fail2ban refuses to read the file")));
            last_key = None;
            continue;
        };
        let key = value[..sep].trim_end().to_lowercase();
        let val = value[sep + 1..].trim().to_string();
        if key.is_empty() {
            problems.push((
                path.to_string(),
                line_no,
                "an option without a name; fail2ban refuses to read the file".into(),
            ));
            last_key = None;
            continue;
        }
        let options = target(&mut file, current, in_default);
        if options.contains_key(&key) {
            problems.push((path.to_string(), line_no, format!("option '{key}' set twice in one section of this file; fail2ban refuses to read the file")));
        }
        options.insert(
            key.clone(),
            Value {
                raw: val,
                path: path.to_string(),
                line: line_no,
            },
        );
        last_key = Some(key);
    }
    for (_, options) in file.sections.iter_mut() {
        for v in options.values_mut() {
            v.raw = v.raw.trim_end().to_string();
        }
    }
    for v in file.defaults.values_mut() {
        v.raw = v.raw.trim_end().to_string();
    }
    file
}

fn inline_comment(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    (1..bytes.len()).find(|&i| bytes[i] == b';' && bytes[i - 1].is_ascii_whitespace())
}

fn target(file: &mut FileConfig, current: Option<usize>, in_default: bool) -> &mut Options {
    match current {
        Some(i) if !in_default => &mut file.sections[i].1,
        _ => &mut file.defaults,
    }
}

/// Read the configuration `name` (e.g. `jail`, `filter.d/sshd`) from
/// `/etc/fail2ban` under `root`.
pub fn load(root: &Root, name: &str) -> Config {
    load_from(root, "/etc/fail2ban", name)
}

/// The jail configuration as fail2ban's JailReader reads it: [`load`] of
/// `jail`, with the two values it adds to `[DEFAULT]` before reading any
/// jail (`fail2ban_version`, `fail2ban_confpath`: stock jails such as
/// apache-fakegooglebot refer to the latter).
pub fn load_jails(root: &Root, version: &str) -> Config {
    let mut config = load(root, "jail");
    for (key, value) in [
        ("fail2ban_version", version),
        ("fail2ban_confpath", "/etc/fail2ban"),
    ] {
        config.defaults.insert(
            key.to_string(),
            Value {
                raw: value.to_string(),
                path: "(fail2ban's JailReader)".into(),
                line: 0,
            },
        );
    }
    config
}

pub fn load_from(root: &Root, base: &str, name: &str) -> Config {
    let base_name = format!("{base}/{name}");
    let mut top = vec![format!("{base_name}.conf")];
    top.extend(dir_files(root, &format!("{base_name}.d"), ".conf"));
    top.push(format!("{base_name}.local"));
    top.extend(dir_files(root, &format!("{base_name}.d"), ".local"));
    let top: Vec<String> = top.into_iter().filter(|f| is_file(root, f)).collect();

    let mut config = Config::default();
    let mut ordered = Vec::new();
    for file in with_local(root, &top) {
        includes(root, &file, &[], &mut ordered);
    }
    for file in ordered {
        let text = match root.resolve(&file).and_then(|p| {
            fs::read(&p)
                .map_err(|source| hardkit_core::root::RootError::ReadLink { path: p, source })
        }) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(_) => continue,
        };
        let parsed = parse(&text, &file, &mut config.problems);
        config.merge(parsed);
        config.files.push(file);
    }
    config
}

fn is_file(root: &Root, system_path: &str) -> bool {
    root.resolve(system_path).is_ok_and(|p| p.is_file())
}

fn dir_files(root: &Root, dir: &str, suffix: &str) -> Vec<String> {
    let Ok(host) = root.resolve(dir) else {
        return Vec::new();
    };
    let Ok(entries) = fs::read_dir(host) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix) && !n.starts_with('.'))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    names.sort();
    names
}

/// Each `x.conf` followed by `x.local` when that exists and is not listed.
fn with_local(root: &Root, files: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for f in files {
        out.push(f.clone());
        let stem = Path::new(f).with_extension("");
        let local = format!("{}.local", stem.display());
        if !files.contains(&local) && *f != local && is_file(root, &local) {
            out.push(local);
        }
    }
    out
}

fn includes(root: &Root, file: &str, seen: &[String], out: &mut Vec<String>) {
    let Ok(host) = root.resolve(file) else {
        return;
    };
    let Ok(bytes) = fs::read(host) else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut scratch = Vec::new();
    let parsed = parse(&text, file, &mut scratch);
    let dir = Path::new(file)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let inc = parsed
        .sections
        .iter()
        .find(|(n, _)| n == "INCLUDES")
        .map(|(_, o)| o.clone());
    let list = |key: &str| -> Vec<String> {
        inc.as_ref()
            .and_then(|o| o.get(key))
            .map(|v| {
                v.raw
                    .split('\n')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        if s.starts_with('/') {
                            s.to_string()
                        } else {
                            dir.join(s).display().to_string()
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut next_seen = seen.to_vec();
    next_seen.push(file.to_string());
    for resource in list("before") {
        if seen.contains(&resource) {
            continue;
        }
        for r in with_local(root, &[resource]) {
            includes(root, &r, &next_seen, out);
        }
    }
    out.push(file.to_string());
    for resource in list("after") {
        if seen.contains(&resource) {
            continue;
        }
        for r in with_local(root, &[resource]) {
            includes(root, &r, &next_seen, out);
        }
    }
}

impl Config {
    fn merge(&mut self, file: FileConfig) {
        self.defaults.extend(file.defaults);
        for (name, options) in file.sections {
            match self.sections.get_mut(&name) {
                Some(existing) => {
                    let known: Options = existing
                        .iter()
                        .filter(|(k, _)| options.contains_key(*k))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    existing.extend(options);
                    self.sections
                        .entry(format!("KNOWN/{name}"))
                        .or_default()
                        .extend(known);
                }
                None => {
                    self.order.push(name.clone());
                    self.sections.insert(name, options);
                }
            }
        }
    }

    /// Section names in the order fail2ban first saw them (no INCLUDES, no KNOWN/).
    pub fn sections(&self) -> impl Iterator<Item = &str> {
        self.order
            .iter()
            .map(String::as_str)
            .filter(|n| *n != "INCLUDES" && !n.starts_with("KNOWN/"))
    }

    pub fn has_section(&self, section: &str) -> bool {
        self.sections.contains_key(section)
    }

    /// The options set in `section` itself, with their raw values.
    pub fn section_options(&self, section: &str) -> Option<&BTreeMap<String, Value>> {
        self.sections.get(section)
    }

    /// Is `key` set in `section` itself (not inherited from `[DEFAULT]`)?
    pub fn has_option(&self, section: &str, key: &str) -> bool {
        self.sections
            .get(section)
            .is_some_and(|o| o.contains_key(key))
    }

    /// The raw value of `key` in `section`, or inherited from `[DEFAULT]`.
    pub fn raw(&self, section: &str, key: &str) -> Option<&Value> {
        self.sections
            .get(section)
            .and_then(|o| o.get(key))
            .or_else(|| self.defaults.get(key))
    }

    /// The interpolated value of `key` in `section` (None when undefined).
    pub fn get(&self, section: &str, key: &str) -> Result<Option<String>, InterpolationError> {
        match self.raw(section, key) {
            None => Ok(None),
            Some(v) => {
                let mut out = String::new();
                self.interpolate(section, &v.raw, 1, &mut out)
                    .map_err(|e| match e {
                        InterpolationError::TooLong(_) => {
                            InterpolationError::TooLong(v.raw.clone())
                        }
                        e => e,
                    })?;
                Ok(Some(out))
            }
        }
    }

    fn lookup(&self, section: &str, name: &str) -> Option<String> {
        if let Some((sec, opt)) = name.split_once('/') {
            // fail2ban resolves `%(sec/opt)s` first and files the value under
            // the reference as written, which configparser then looks up
            // lowercased: a reference with capitals is never found.
            let valid_section = !sec.is_empty()
                && sec
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
            if !valid_section || name != name.to_lowercase() {
                return None;
            }
            let value = match sec {
                "default" => self.defaults.get(opt),
                "known" => self
                    .sections
                    .get(&format!("KNOWN/{section}"))
                    .and_then(|o| o.get(opt))
                    .or_else(|| self.defaults.get(opt)),
                // A missing section is no reference at all; a missing
                // option in an existing section falls back to [DEFAULT].
                _ => match self.sections.get(sec) {
                    Some(options) => options.get(opt).or_else(|| self.defaults.get(opt)),
                    None => None,
                },
            };
            return value.map(|v| v.raw.clone());
        }
        let name = name.to_lowercase();
        if name == "__name__" {
            return Some(section.to_string());
        }
        self.raw(section, &name).map(|v| v.raw.clone())
    }

    /// Append the interpolation of `raw` to `out`, which never grows past
    /// [`MAX_INTERPOLATED`] bytes.
    fn interpolate(
        &self,
        section: &str,
        raw: &str,
        depth: usize,
        out: &mut String,
    ) -> Result<(), InterpolationError> {
        if depth > 10 {
            return Err(InterpolationError::Depth(raw.to_string()));
        }
        let push = |out: &mut String, text: &str| {
            if out.len() + text.len() > MAX_INTERPOLATED {
                return Err(InterpolationError::TooLong(raw.to_string()));
            }
            out.push_str(text);
            Ok(())
        };
        let mut rest = raw;
        while let Some(pos) = rest.find('%') {
            push(out, &rest[..pos])?;
            rest = &rest[pos..];
            if let Some(after) = rest.strip_prefix("%%") {
                push(out, "%")?;
                rest = after;
            } else if let Some(after) = rest.strip_prefix("%(") {
                let Some(end) = after.find(")s") else {
                    return Err(InterpolationError::Syntax(raw.to_string()));
                };
                let name = &after[..end];
                let value = self
                    .lookup(section, name)
                    .ok_or_else(|| InterpolationError::Missing(name.to_string()))?;
                if value.contains('%') {
                    self.interpolate(section, &value, depth + 1, out)?;
                } else {
                    push(out, &value)?;
                }
                rest = &after[end + 2..];
            } else {
                return Err(InterpolationError::Syntax(raw.to_string()));
            }
        }
        push(out, rest)
    }
}

/// fail2ban's own reading of a boolean option (`_as_bool`, 1.0.2 and
/// 1.1.0 alike): `1`, `on`, `true`, `yes` in any case are true, anything
/// else, misspellings included, is silently false.
pub fn fail2ban_bool(value: &str) -> bool {
    matches!(value.to_lowercase().as_str(), "1" | "on" | "true" | "yes")
}

/// configparser's booleans (what `getboolean` accepts).
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, Root) {
        let tmp = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = tmp.path().join(path.trim_start_matches('/'));
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        let root = Root::new(tmp.path()).unwrap();
        (tmp, root)
    }

    #[test]
    fn jails_see_the_defaults_fail2ban_adds() {
        let (_t, root) = tree(&[(
            "/etc/fail2ban/jail.conf",
            "[x]\nignorecommand = %(fail2ban_confpath)s/filter.d/ignorecommands/x\nv = %(fail2ban_version)s\n",
        )]);
        let plain = load(&root, "jail");
        assert!(plain.get("x", "ignorecommand").is_err());
        let jails = load_jails(&root, "1.1.0");
        assert_eq!(
            jails.get("x", "ignorecommand").unwrap().as_deref(),
            Some("/etc/fail2ban/filter.d/ignorecommands/x")
        );
        assert_eq!(jails.get("x", "v").unwrap().as_deref(), Some("1.1.0"));
        assert!(fail2ban_bool("Yes") && !fail2ban_bool("perhaps") && !fail2ban_bool("off"));
    }

    #[test]
    fn order_inheritance_and_interpolation() {
        let (_t, root) = tree(&[
            ("/etc/fail2ban/jail.conf", "[INCLUDES]\nbefore = paths.conf\n[DEFAULT]\nbantime = 10m\nport = 0:65535\naction = %(banaction)s[port=\"%(port)s\"]\nbanaction = iptables-multiport\n[sshd]\nport = ssh\nlogpath = %(sshd_log)s\nfilter = %(__name__)s[mode=normal]\n"),
            ("/etc/fail2ban/paths.conf", "[DEFAULT]\nsshd_log = /var/log/auth.log\n"),
            ("/etc/fail2ban/jail.d/a.conf", "[sshd]\nport = 2222 ; inline\n    2223\n"),
            ("/etc/fail2ban/jail.local", "[DEFAULT]\nbanaction = nftables-multiport\n"),
            ("/etc/fail2ban/jail.d/z.local", "[sshd]\nbantime = %(known/bantime)s\nport = %(known/port)s,22\n# comment\n"),
        ]);
        let c = load(&root, "jail");
        assert_eq!(c.files.len(), 5, "{:?}", c.files);
        assert_eq!(c.files[0], "/etc/fail2ban/paths.conf");
        assert_eq!(c.get("sshd", "port").unwrap().unwrap(), "2222\n2223,22");
        assert_eq!(
            c.get("sshd", "logpath").unwrap().unwrap(),
            "/var/log/auth.log"
        );
        assert_eq!(c.get("sshd", "bantime").unwrap().unwrap(), "10m");
        assert_eq!(
            c.get("sshd", "filter").unwrap().unwrap(),
            "sshd[mode=normal]"
        );
        assert_eq!(
            c.get("sshd", "action").unwrap().unwrap(),
            "nftables-multiport[port=\"2222\n2223,22\"]"
        );
        assert_eq!(
            c.raw("sshd", "port").unwrap().path,
            "/etc/fail2ban/jail.d/z.local"
        );
        assert!(c.get("sshd", "nothing").unwrap().is_none());
    }

    #[test]
    fn interpolation_errors() {
        let (_t, root) = tree(&[(
            "/etc/fail2ban/jail.conf",
            "[a]\nx = %(missing)s\ny = 50%\nz = %(z)s\nw = 100%%\nv = %(b/q)s\n[b]\nq = from-b\n",
        )]);
        let c = load(&root, "jail");
        assert!(matches!(
            c.get("a", "x"),
            Err(InterpolationError::Missing(_))
        ));
        assert!(matches!(
            c.get("a", "y"),
            Err(InterpolationError::Syntax(_))
        ));
        assert!(matches!(c.get("a", "z"), Err(InterpolationError::Depth(_))));
        assert_eq!(c.get("a", "w").unwrap().unwrap(), "100%");
        assert_eq!(c.get("a", "v").unwrap().unwrap(), "from-b");
    }

    /// Found by review while fuzzing: nesting is limited to 10 levels but
    /// not the fan-out, so ten references per level were 10^9 copies (a
    /// hang in `jailgen audit`). Now a clear interpolation error, at once.
    #[test]
    fn fanned_out_references_stop_instead_of_hanging() {
        let mut text = String::from("[DEFAULT]\na0 = xxxxxxxxxxxxxxxx\n");
        for level in 1..10 {
            let refs = format!("%(a{})s", level - 1).repeat(10);
            text.push_str(&format!("a{level} = {refs}\n"));
        }
        text.push_str("[sshd]\nport = %(a9)s\nok = %(a3)s\n");
        let (_t, root) = tree(&[("/etc/fail2ban/jail.conf", &text)]);
        let c = load(&root, "jail");
        assert!(matches!(
            c.get("sshd", "port"),
            Err(InterpolationError::TooLong(raw)) if raw == "%(a9)s"
        ));
        // Below the limit the same references still work (16,000 bytes).
        assert_eq!(c.get("sshd", "ok").unwrap().unwrap().len(), 16_000);
    }

    #[test]
    fn booleans_as_configparser() {
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("off"), Some(false));
        assert_eq!(parse_bool("ture"), None);
    }
}
