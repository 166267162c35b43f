//! Reading config files under `--root` and expanding `Include` patterns the
//! way sshd does: relative patterns are taken from /etc/ssh, `glob(3)`
//! results come in byte order, a pattern that matches nothing is skipped,
//! a directory reads as an empty file, and each pattern is expanded once
//! per run (sshd caches the list and reuses it for the Match pass).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hardkit_core::Root;

use crate::lex::{split_lines, SourceLine};
use crate::matching::match_pattern;

/// Configs are small; a runaway file is refused rather than parsed.
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// A config file as sshd's parser sees it.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// The system path (as sshd would name it), e.g. /etc/ssh/sshd_config.
    pub path: PathBuf,
    pub lines: Arc<Vec<SourceLine>>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: larger than {limit} bytes; refusing to read it", .path.display())]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{}: is a directory, not a config file", .path.display())]
    Directory { path: PathBuf },
    #[error("{}: {message}", .path.display())]
    Root { path: PathBuf, message: String },
}

/// Loads files through the root and remembers Include expansions.
pub struct Loader {
    root: Root,
    cache: HashMap<String, Vec<ConfigFile>>,
    /// Files read, with their full text, for `--fix` and reports.
    pub texts: HashMap<PathBuf, Vec<u8>>,
    /// Proposed contents that replace (or add) files, so `--fix` can re-read
    /// its result before writing anything.
    pub overlay: HashMap<PathBuf, Vec<u8>>,
}

impl Loader {
    pub fn new(root: Root) -> Loader {
        Loader {
            root,
            cache: HashMap::new(),
            texts: HashMap::new(),
            overlay: HashMap::new(),
        }
    }

    pub fn root(&self) -> &Root {
        &self.root
    }

    /// Read the main config file (a directory is an error here, unlike in
    /// an Include, because the user named it).
    pub fn load_main(&mut self, system_path: &Path) -> Result<ConfigFile, LoadError> {
        if let Some(data) = self.overlay.get(system_path).cloned() {
            return Ok(self.load_text(system_path, data));
        }
        let host = self.host_path(system_path)?;
        if host.is_dir() {
            return Err(LoadError::Directory {
                path: system_path.to_path_buf(),
            });
        }
        self.read(system_path, &host)
    }

    /// Load text that did not come from a file (stdin).
    pub fn load_text(&mut self, system_path: &Path, data: Vec<u8>) -> ConfigFile {
        let lines = Arc::new(split_lines(&data));
        self.texts.insert(system_path.to_path_buf(), data);
        ConfigFile {
            path: system_path.to_path_buf(),
            lines,
        }
    }

    fn host_path(&self, system_path: &Path) -> Result<PathBuf, LoadError> {
        self.root.resolve(system_path).map_err(|e| LoadError::Root {
            path: system_path.to_path_buf(),
            message: e.to_string(),
        })
    }

    fn read(&mut self, system_path: &Path, host: &Path) -> Result<ConfigFile, LoadError> {
        let io = |source| LoadError::Io {
            path: system_path.to_path_buf(),
            source,
        };
        let meta = fs::metadata(host).map_err(io)?;
        let data = if meta.is_dir() {
            // fopen() succeeds on a directory and getline() then fails:
            // sshd reads it as empty.
            Vec::new()
        } else {
            if meta.len() > MAX_CONFIG_BYTES {
                return Err(LoadError::TooLarge {
                    path: system_path.to_path_buf(),
                    limit: MAX_CONFIG_BYTES,
                });
            }
            // Not fs::read: a FIFO would block it and a device never end.
            let data =
                hardkit_core::input::read_regular_file(host, MAX_CONFIG_BYTES).map_err(io)?;
            if data.len() as u64 > MAX_CONFIG_BYTES {
                return Err(LoadError::TooLarge {
                    path: system_path.to_path_buf(),
                    limit: MAX_CONFIG_BYTES,
                });
            }
            data
        };
        Ok(self.load_text(system_path, data))
    }

    /// The files an Include pattern names (already made absolute), in
    /// sshd's order; cached per pattern.
    pub fn expand(&mut self, pattern: &str) -> Result<Vec<ConfigFile>, LoadError> {
        if let Some(files) = self.cache.get(pattern) {
            return Ok(files.clone());
        }
        let mut files = Vec::new();
        for system_path in self.glob(pattern) {
            if let Some(data) = self.overlay.get(&system_path).cloned() {
                files.push(self.load_text(&system_path, data));
                continue;
            }
            let host = self.host_path(&system_path)?;
            files.push(self.read(&system_path, &host)?);
        }
        self.cache.insert(pattern.to_string(), files.clone());
        Ok(files)
    }

    /// glob(3) over the root: `*`, `?` and `[...]` per path component, no
    /// match for a leading dot unless the pattern has one, results sorted
    /// by byte value.
    fn glob(&self, pattern: &str) -> Vec<PathBuf> {
        let mut current: Vec<PathBuf> = vec![PathBuf::from("/")];
        for comp in pattern.split('/').filter(|c| !c.is_empty()) {
            let mut next = Vec::new();
            let wild = comp.contains(['*', '?', '[']);
            for dir in &current {
                if !wild {
                    let candidate = dir.join(unescape(comp));
                    let proposed = self.overlay.keys().any(|p| p.starts_with(&candidate));
                    if proposed
                        || self
                            .host_path(&candidate)
                            .is_ok_and(|h| fs::symlink_metadata(&h).is_ok())
                    {
                        next.push(candidate);
                    }
                    continue;
                }
                let Ok(host_dir) = self.host_path(dir) else {
                    continue;
                };
                let entries = fs::read_dir(&host_dir).into_iter().flatten();
                let mut names: Vec<Vec<u8>> = entries
                    .filter_map(Result::ok)
                    .map(|e| {
                        use std::os::unix::ffi::OsStrExt;
                        e.file_name().as_bytes().to_vec()
                    })
                    .collect();
                use std::os::unix::ffi::OsStrExt;
                for extra in self
                    .overlay
                    .keys()
                    .filter(|p| p.parent() == Some(dir.as_path()))
                {
                    if let Some(n) = extra.file_name() {
                        names.push(n.as_bytes().to_vec());
                    }
                }
                names.sort();
                names.dedup();
                for name in names {
                    let text = String::from_utf8_lossy(&name);
                    if text.starts_with('.') && !comp.starts_with('.') {
                        continue;
                    }
                    if glob_component(&text, comp) {
                        next.push(dir.join(std::ffi::OsStr::from_bytes(&name)));
                    }
                }
            }
            current = next;
        }
        if pattern.ends_with('/') {
            current.retain(|p| self.host_path(p).is_ok_and(|h| h.is_dir()));
        }
        current.sort_by(|a, b| {
            use std::os::unix::ffi::OsStrExt;
            a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes())
        });
        current
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// One path component against one glob component, with `[...]` classes.
fn glob_component(name: &str, pattern: &str) -> bool {
    if !pattern.contains('[') && !pattern.contains('\\') {
        return match_pattern(name, pattern);
    }
    let n: Vec<char> = name.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    // Memoised on (name position, pattern position): a pattern of many
    // stars must not take exponential time.
    let mut memo = vec![None; (n.len() + 1) * (p.len() + 1)];
    glob_at(&n, 0, &p, 0, &mut memo)
}

fn glob_at(n: &[char], ni: usize, p: &[char], pi: usize, memo: &mut Vec<Option<bool>>) -> bool {
    let slot = ni * (p.len() + 1) + pi;
    if let Some(known) = memo[slot] {
        return known;
    }
    let result = glob_step(n, ni, p, pi, memo);
    memo[slot] = Some(result);
    result
}

fn glob_step(n: &[char], ni: usize, p: &[char], pi: usize, memo: &mut Vec<Option<bool>>) -> bool {
    if pi == p.len() {
        return ni == n.len();
    }
    match p[pi] {
        '*' => (ni..=n.len()).any(|k| glob_at(n, k, p, pi + 1, memo)),
        '?' => ni < n.len() && glob_at(n, ni + 1, p, pi + 1, memo),
        '[' => {
            let Some(close) = p[pi + 1..]
                .iter()
                .skip(1)
                .position(|&c| c == ']')
                .map(|x| x + pi + 2)
            else {
                return ni < n.len() && n[ni] == '[' && glob_at(n, ni + 1, p, pi + 1, memo);
            };
            if ni >= n.len() {
                return false;
            }
            let mut class = &p[pi + 1..close];
            let negate = matches!(class.first(), Some('!') | Some('^'));
            if negate {
                class = &class[1..];
            }
            let c = n[ni];
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && glob_at(n, ni + 1, p, close + 1, memo)
        }
        '\\' if pi + 1 < p.len() => {
            ni < n.len() && n[ni] == p[pi + 1] && glob_at(n, ni + 1, p, pi + 2, memo)
        }
        c => ni < n.len() && n[ni] == c && glob_at(n, ni + 1, p, pi + 1, memo),
    }
}

/// Make an Include argument absolute: relative names are under /etc/ssh.
pub fn include_pattern(arg: &str) -> String {
    if arg.starts_with('/') || arg.starts_with('~') {
        arg.to_string()
    } else {
        format!("/etc/ssh/{arg}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_sort_by_bytes_and_skip_dotfiles() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("etc/ssh/sshd_config.d");
        fs::create_dir_all(&d).unwrap();
        for name in [
            "b.conf",
            "A.conf",
            "10-x.conf",
            "9-y.conf",
            ".hidden.conf",
            "z.txt",
        ] {
            fs::write(d.join(name), "Port 22\n").unwrap();
        }
        let mut loader = Loader::new(Root::new(tmp.path()).unwrap());
        let files = loader
            .expand(&include_pattern("sshd_config.d/*.conf"))
            .unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["10-x.conf", "9-y.conf", "A.conf", "b.conf"]);
        assert!(glob_component("a1", "a[0-9]"));
        assert!(!glob_component("ab", "a[!b]"));
        assert!(loader.expand("/nope/*.conf").unwrap().is_empty());
        // Many stars with a class: memoised, so this returns at once.
        let name = "a".repeat(200);
        let pattern = format!("[a]{}b", "*a".repeat(40));
        assert!(!glob_component(&name, &pattern));
    }
}
