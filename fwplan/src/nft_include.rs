//! A tree's nftables.conf made loadable on this machine: its `include`
//! statements name paths of the system they belong to (`/etc/nftables.d/*`),
//! and nft opens them as this machine's files. Each file is copied into a
//! temporary directory with its includes rewritten to the copies of the files
//! they match *inside the tree*, so nft reads the tree and nothing else.
//!
//! How nft finds includes (reproduced here): an absolute path, or one
//! starting with `.` (relative to the working directory, `/` for a systemd
//! service), is used as written; any other relative path is looked up in the
//! include directory, `/etc` on Debian. Shell wildcards are expanded in byte
//! order, names starting with a dot are not matched, directories are skipped,
//! and a pattern matching nothing is not an error (a plain name that does not
//! exist is). Includes nest at most 16 deep, as in nft.
//!
//! (nft's `-I` include path would not do: it is only searched for relative
//! names; an absolute include is opened as written.)
//!
//! Only the quoted path of each include changes, never the line structure,
//! so nft's `file:line:column` messages point at the original lines; they
//! are mapped back to the tree's paths with [`Prepared::map_message`].

use std::fs;
use std::path::{Component, Path, PathBuf};

use hardkit_core::Root;

/// nft's own limit on nested includes.
const MAX_DEPTH: usize = 16;
/// Files copied for one configuration, and bytes per file: a glob fan-out
/// or a huge file stops with an error instead of filling the disk.
const MAX_FILES: usize = 4096;
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Where nft looks for relative include names (`nft -h`: "Default is: /etc").
const INCLUDE_DIR: &str = "/etc";

/// Why the configuration cannot be loaded, at the line that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncludeError {
    /// System path of the file with the bad include (or the unreadable file).
    pub path: PathBuf,
    pub line: Option<u64>,
    pub message: String,
}

/// The configuration as copies in a temporary directory.
#[derive(Debug)]
pub struct Prepared {
    dir: tempfile::TempDir,
    /// Where the program that reads the copies sees `dir` (the same path,
    /// or the place a sandbox mounts it): include paths name copies there.
    visible: PathBuf,
    /// (copy as the program sees it, the system path it stands for), in
    /// the order they were made.
    copies: Vec<(PathBuf, PathBuf)>,
}

impl Prepared {
    /// The copy of the main file, as the program sees it: what to give
    /// `nft -f`.
    pub fn main(&self) -> &Path {
        &self.copies[0].0
    }

    /// The directory holding the copies, on this machine.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// nft's message with every copy's path replaced by the system path it
    /// stands for.
    pub fn map_message(&self, message: &str) -> String {
        let mut by_length: Vec<&(PathBuf, PathBuf)> = self.copies.iter().collect();
        // `/tmp/x/1.nft` is a prefix of `/tmp/x/10.nft`: longest first.
        by_length.sort_by_key(|(copy, _)| std::cmp::Reverse(copy.as_os_str().len()));
        let mut out = message.to_string();
        for (copy, system) in by_length {
            out = out.replace(&*copy.to_string_lossy(), &system.to_string_lossy());
        }
        out
    }

    /// Where nft says the error is, in a (mapped) message: the first
    /// `path:line:` that is not an "In file included from" line.
    pub fn first_location(&self, mapped: &str) -> Option<(PathBuf, u64)> {
        for line in mapped.lines() {
            if line.starts_with("In file included from") {
                continue;
            }
            for (_, system) in &self.copies {
                let s = system.to_string_lossy();
                if let Some(rest) = line.strip_prefix(&*s).and_then(|r| r.strip_prefix(':')) {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    if let Ok(n) = digits.parse() {
                        return Some((system.clone(), n));
                    }
                }
            }
        }
        None
    }
}

/// Copy `conf` (a system path) and everything it includes, resolved in the
/// tree, into a temporary directory.
pub fn prepare(root: &Root, conf: &Path) -> Result<Prepared, IncludeError> {
    let mut prepared = new_prepared(conf, None)?;
    copy_file(root, conf, None, 0, None, &mut prepared)?;
    Ok(prepared)
}

/// Like [`prepare`], for a candidate that is not in the tree yet: `contents`
/// stand for the file at the system path `conf` (its includes resolved in
/// the tree), and every include names its copy under `visible`, where the
/// caller will show [`Prepared::dir`] to the program that reads them.
pub fn prepare_candidate(
    root: &Root,
    conf: &Path,
    contents: &[u8],
    visible: &Path,
) -> Result<Prepared, IncludeError> {
    let mut prepared = new_prepared(conf, Some(visible))?;
    copy_file(root, conf, Some(contents), 0, None, &mut prepared)?;
    Ok(prepared)
}

fn new_prepared(conf: &Path, visible: Option<&Path>) -> Result<Prepared, IncludeError> {
    let dir = tempfile::Builder::new()
        .prefix("fwplan-boot-")
        .tempdir()
        .map_err(|e| IncludeError {
            path: conf.to_path_buf(),
            line: None,
            message: format!("creating a temporary directory: {e}"),
        })?;
    let visible = visible.map_or_else(|| dir.path().to_path_buf(), Path::to_path_buf);
    Ok(Prepared {
        dir,
        visible,
        copies: Vec::new(),
    })
}

/// Copy one file (its includes rewritten first, depth-first) and return the
/// copy's path. `from` is the include that named it, for error messages.
fn copy_file(
    root: &Root,
    system: &Path,
    contents: Option<&[u8]>,
    depth: usize,
    from: Option<(&Path, u64)>,
    prepared: &mut Prepared,
) -> Result<PathBuf, IncludeError> {
    let at = |message: String| match from {
        Some((path, line)) => IncludeError {
            path: path.to_path_buf(),
            line: Some(line),
            message,
        },
        None => IncludeError {
            path: system.to_path_buf(),
            line: None,
            message,
        },
    };
    if prepared.copies.len() >= MAX_FILES {
        return Err(at(format!(
            "more than {MAX_FILES} included files; refusing to go on"
        )));
    }
    // Reserve the copy's name now, so the main file is always copies[0].
    let name = format!("{}.nft", prepared.copies.len());
    let copy = prepared.dir.path().join(&name);
    let seen_as = prepared.visible.join(&name);
    prepared
        .copies
        .push((seen_as.clone(), system.to_path_buf()));
    let bytes = match contents {
        Some(bytes) => bytes.to_vec(),
        None => read_in_tree(root, system).map_err(at)?,
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for inc in find_includes(&text) {
        if depth + 1 > MAX_DEPTH {
            return Err(IncludeError {
                path: system.to_path_buf(),
                line: Some(inc.line),
                message: format!("include nested too deeply, max {MAX_DEPTH} levels"),
            });
        }
        let targets = expand(root, &inc.target).map_err(|message| IncludeError {
            path: system.to_path_buf(),
            line: Some(inc.line),
            message: format!("include \"{}\": {message}", inc.target),
        })?;
        let mut replacement = Vec::new();
        for target in targets {
            let copied = copy_file(
                root,
                &target,
                None,
                depth + 1,
                Some((system, inc.line)),
                prepared,
            )?;
            replacement.push(format!("include \"{}\"", copied.display()));
        }
        out.push_str(&text[last..inc.start]);
        out.push_str(&replacement.join("; "));
        last = inc.end;
    }
    out.push_str(&text[last..]);
    fs::write(&copy, out).map_err(|e| at(format!("writing {}: {e}", copy.display())))?;
    Ok(seen_as)
}

/// A file of the tree, through [`Root`] (a link in the image stays in the
/// image), refused unless regular and not too large.
fn read_in_tree(root: &Root, system: &Path) -> Result<Vec<u8>, String> {
    let host = root
        .resolve(system)
        .map_err(|e| format!("{}: {e}", system.display()))?;
    let meta = fs::metadata(&host).map_err(|e| format!("{}: {e}", system.display()))?;
    if meta.is_dir() {
        return Err(format!("{}: is a directory", system.display()));
    }
    if !meta.is_file() {
        return Err(format!("{}: not a regular file", system.display()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{}: larger than {} MiB",
            system.display(),
            MAX_FILE_BYTES >> 20
        ));
    }
    hardkit_core::input::read_regular_file(&host, MAX_FILE_BYTES)
        .map_err(|e| format!("{}: {e}", system.display()))
}

/// One `include "PATH"` statement: byte span and 1-based line.
#[derive(Debug, PartialEq, Eq)]
struct Include {
    start: usize,
    end: usize,
    line: u64,
    target: String,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The include statements of an nft file, outside comments and strings.
/// nft's strings have no escapes: a quote always ends one.
fn find_includes(text: &str) -> Vec<Include> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut line = 1u64;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\n' => line += 1,
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
            _ if b[i..].starts_with(b"include")
                && (i == 0 || !is_word(b[i - 1]))
                && b.get(i + 7).is_some_and(|&c| !is_word(c)) =>
            {
                let mut j = i + 7;
                while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
                    j += 1;
                }
                if b.get(j) == Some(&b'"') {
                    if let Some(len) = b[j + 1..].iter().position(|&c| c == b'"' || c == b'\n') {
                        if b[j + 1 + len] == b'"' {
                            out.push(Include {
                                start: i,
                                end: j + len + 2,
                                line,
                                target: text[j + 1..j + 1 + len].to_string(),
                            });
                            i = j + len + 2;
                            continue;
                        }
                    }
                }
                // Not `include "..."`: nft will say why; copy it unchanged.
                i += 7;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The system paths an include names, in the order nft loads them.
fn expand(root: &Root, target: &str) -> Result<Vec<PathBuf>, String> {
    if target.is_empty() {
        return Err("empty file name".into());
    }
    let system = if target.starts_with('/') {
        PathBuf::from(target)
    } else if target.starts_with('.') {
        Path::new("/").join(target)
    } else {
        Path::new(INCLUDE_DIR).join(target)
    };
    if !has_wildcard(target) {
        let host = root.resolve(&system).map_err(|e| e.to_string())?;
        return match fs::metadata(&host) {
            Ok(m) if m.is_dir() => Err("is a directory".into()),
            Ok(m) if m.is_file() => Ok(vec![system]),
            // A FIFO or device in an image would block or never end.
            Ok(_) => Err("not a regular file".into()),
            Err(e) => Err(format!("{e} (in the tree)")),
        };
    }
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    // Walk the pattern one component at a time, listing directories in the
    // tree (so a symlink in the image never reaches this machine's files).
    let mut found = vec![PathBuf::from("/")];
    for component in system.components() {
        let name = match component {
            Component::RootDir => continue,
            Component::Normal(n) => n.to_string_lossy().into_owned(),
            Component::ParentDir => "..".into(),
            Component::CurDir | Component::Prefix(_) => continue,
        };
        let mut next = Vec::new();
        if has_wildcard(&name) {
            let pattern = glob::Pattern::new(&name).map_err(|e| format!("bad pattern: {e}"))?;
            for dir in &found {
                let Ok(host) = root.resolve(dir) else {
                    continue;
                };
                let Ok(entries) = fs::read_dir(host) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| pattern.matches_with(n, options))
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|n| dir.join(n)));
            }
        } else {
            next.extend(found.iter().map(|d| d.join(&name)));
        }
        // `*/..` brings every match back to the same directory, so each
        // `*/../` multiplies the candidates: `/etc/*/../*/../...` twenty
        // times over a handful of entries is billions of paths (a hang).
        if next.len() > MAX_FILES {
            return Err(format!(
                "the pattern matches more than {MAX_FILES} paths; refusing to go on"
            ));
        }
        found = next;
    }
    let mut files: Vec<PathBuf> = found
        .into_iter()
        .filter(|p| {
            root.resolve(p)
                .ok()
                .and_then(|h| fs::metadata(h).ok())
                .is_some_and(|m| m.is_file())
        })
        .collect();
    // glob(3) sorts the whole result by byte order.
    files.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, Root) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path.trim_start_matches('/'));
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        let root = Root::new(dir.path()).unwrap();
        (dir, root)
    }

    #[test]
    fn includes_outside_comments_and_strings_are_found_with_their_lines() {
        let text = "# include \"/no\"\ndefine x = \"include\"\n  include \"/etc/a.nft\"; include\t\"b\"\ninclude_x \"/no\"\n";
        let found = find_includes(text);
        let targets: Vec<(&str, u64)> = found.iter().map(|i| (i.target.as_str(), i.line)).collect();
        assert_eq!(targets, [("/etc/a.nft", 3), ("b", 3)]);
        assert_eq!(
            &text[found[0].start..found[0].end],
            "include \"/etc/a.nft\""
        );
    }

    #[test]
    fn globs_resolve_inside_the_tree_in_byte_order_without_dot_files() {
        let (_d, root) = tree(&[
            ("/etc/nftables.d/20-b.nft", "b"),
            ("/etc/nftables.d/10-a.nft", "a"),
            ("/etc/nftables.d/.hidden.nft", "h"),
            ("/etc/nftables.d/README", "r"),
        ]);
        assert_eq!(
            expand(&root, "/etc/nftables.d/*.nft").unwrap(),
            [
                PathBuf::from("/etc/nftables.d/10-a.nft"),
                PathBuf::from("/etc/nftables.d/20-b.nft")
            ]
        );
        assert_eq!(
            expand(&root, "/etc/none.d/*.nft").unwrap(),
            Vec::<PathBuf>::new()
        );
        assert_eq!(
            expand(&root, "nftables.d/10-a.nft").unwrap(),
            [PathBuf::from("/etc/nftables.d/10-a.nft")]
        );
        assert!(expand(&root, "/etc/missing.nft")
            .unwrap_err()
            .contains("No such file"));
        assert!(expand(&root, "/etc/nftables.d")
            .unwrap_err()
            .contains("directory"));
    }

    #[test]
    fn a_symlink_in_the_tree_stays_in_the_tree() {
        let (d, root) = tree(&[("/etc/hostname", "inside")]);
        std::os::unix::fs::symlink("/etc/hostname", d.path().join("etc/link.nft")).unwrap();
        let p = prepare(&root, Path::new("/etc/link.nft")).unwrap();
        assert_eq!(fs::read_to_string(p.main()).unwrap(), "inside");
    }

    #[test]
    fn copies_point_at_copies_and_messages_map_back() {
        let (_d, root) = tree(&[
            (
                "/etc/nftables.conf",
                "flush ruleset\ninclude \"/etc/nftables.d/*.nft\"\n",
            ),
            ("/etc/nftables.d/1.nft", "table inet a {}\n"),
            ("/etc/nftables.d/2.nft", "include \"/etc/x.nft\"\n"),
            ("/etc/x.nft", "junk\n"),
        ]);
        let p = prepare(&root, Path::new("/etc/nftables.conf")).unwrap();
        let main = fs::read_to_string(p.main()).unwrap();
        let dir = p.dir().display().to_string();
        assert_eq!(
            main,
            format!("flush ruleset\ninclude \"{dir}/1.nft\"; include \"{dir}/2.nft\"\n")
        );
        let msg = format!(
            "In file included from {dir}/2.nft:1:1-20:\n{dir}/3.nft:1:1-4: Error: syntax error\n"
        );
        let mapped = p.map_message(&msg);
        assert!(mapped.contains("/etc/x.nft:1:1-4: Error"), "{mapped}");
        assert_eq!(
            p.first_location(&mapped),
            Some((PathBuf::from("/etc/x.nft"), 1))
        );
    }

    #[test]
    fn loops_and_missing_files_are_errors_at_the_include_line() {
        let (_d, root) = tree(&[("/etc/nftables.conf", "\ninclude \"/etc/nftables.conf\"\n")]);
        let e = prepare(&root, Path::new("/etc/nftables.conf")).unwrap_err();
        assert!(e.message.contains("nested too deeply"), "{e:?}");
        assert_eq!(
            (e.path.as_path(), e.line),
            (Path::new("/etc/nftables.conf"), Some(2))
        );
        let (_d, root) = tree(&[("/etc/nftables.conf", "include \"/etc/gone.nft\"\n")]);
        let e = prepare(&root, Path::new("/etc/nftables.conf")).unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("/etc/gone.nft"), "{e:?}");
    }

    /// Found by review while fuzzing: each `*/..` multiplied the
    /// candidates, so this include (three entries in /etc, thirty times)
    /// was 3^30 paths and `fwplan audit --root` hung. Now an error at the
    /// include's line.
    #[test]
    fn a_pattern_that_fans_out_is_refused_at_its_line() {
        let pattern = format!("/etc/{}*.nft", "*/../".repeat(30));
        let conf = format!("table inet t {{}}\ninclude \"{pattern}\"\n");
        let (_d, root) = tree(&[
            ("/etc/nftables.conf", conf.as_str()),
            ("/etc/a.nft", ""),
            ("/etc/b.nft", ""),
        ]);
        let e = prepare(&root, Path::new("/etc/nftables.conf")).unwrap_err();
        assert!(e.message.contains("more than 4096 paths"), "{e:?}");
        assert_eq!(
            (e.path.as_path(), e.line),
            (Path::new("/etc/nftables.conf"), Some(2))
        );
        // A few levels still work as nft would read them.
        let conf = "include \"/etc/*/../*.nft\"\n";
        let (_d, root) = tree(&[
            ("/etc/nftables.conf", conf),
            ("/etc/d/x", ""),
            ("/etc/a.nft", ""),
        ]);
        assert!(prepare(&root, Path::new("/etc/nftables.conf")).is_ok());
    }
}
