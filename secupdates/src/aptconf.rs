//! apt's configuration, read as apt reads it (apt-pkg's `pkgInitConfig`):
//! every file of `/etc/apt/apt.conf.d` whose name apt accepts, in byte
//! order, then `/etc/apt/apt.conf`; each file in apt's own syntax.
//!
//! What apt does, and this module with it:
//! - a name in apt.conf.d is read only when it has no extension or ends in
//!   `.conf`, has nothing but letters, digits, `_`, `-`, `:` and `.`, does
//!   not start or end with a dot, and is a regular file (a link to one too);
//!   the rest is skipped (`20auto-upgrades.dpkg-old`, `x.bak`, `x~`);
//! - a line loses `//` and `#` comments (outside quotes; `#clear` and
//!   `#include` are directives) and `/* */` comments, which may span lines;
//!   statements end at `;`, `{` or `}` outside quotes and may span lines;
//! - `Tag "value";` sets, `Tag { ... };` opens a scope, `"value";` inside a
//!   scope appends an unnamed item (a list), `#clear Tag;` empties a tree;
//! - tags match whatever their case (`apt::periodic` is `APT::Periodic`);
//!   a later value replaces an earlier one, a list item adds to the list;
//! - any syntax error stops apt, and with it every program that reads the
//!   configuration (apt-get, unattended-upgrade): [`ConfigError`] names the
//!   file and line as apt does.
//!
//! Every value remembers the file and line that set it: the finding that
//! rests on a setting names where to change it.

use std::fs;
use std::path::{Path, PathBuf};

use hardkit_core::Root;

/// Where a value was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAt {
    /// System path (`/etc/apt/apt.conf.d/20auto-upgrades`).
    pub file: PathBuf,
    pub line: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    tag: String,
    value: String,
    set_at: Option<SetAt>,
    children: Vec<Item>,
}

impl Item {
    fn new(tag: &str) -> Item {
        Item {
            tag: tag.to_string(),
            value: String::new(),
            set_at: None,
            children: Vec::new(),
        }
    }
}

/// A syntax error as apt reports it (`Syntax error FILE:LINE: WHAT`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Syntax error {}:{line}: {what}", .file.display())]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: u64,
    pub what: String,
}

/// The configuration tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptConfig {
    top: Item,
    /// The files read, in order (system paths).
    pub files: Vec<PathBuf>,
    /// A file of apt.conf.d read from here instead of the tree (name, text).
    extra: Option<(String, String)>,
}

/// One value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value<'a> {
    pub text: &'a str,
    pub set_at: Option<&'a SetAt>,
}

pub const PARTS_DIR: &str = "/etc/apt/apt.conf.d";
pub const MAIN_FILE: &str = "/etc/apt/apt.conf";

/// How deep `#include` may nest, as apt allows.
const MAX_INCLUDE_DEPTH: u32 = 10;

impl AptConfig {
    pub fn empty() -> AptConfig {
        AptConfig {
            top: Item::new(""),
            files: Vec::new(),
            extra: None,
        }
    }

    /// The configuration of the system under `root`. A file apt cannot
    /// open is an error as in apt; a missing apt.conf.d or apt.conf is not.
    pub fn load(root: &Root) -> Result<AptConfig, ConfigError> {
        AptConfig::load_with(root, None)
    }

    /// [`AptConfig::load`] as it will be once `extra` (a name in
    /// apt.conf.d and its text) is written: the plan's configuration.
    pub fn load_with(root: &Root, extra: Option<(&str, &str)>) -> Result<AptConfig, ConfigError> {
        let mut conf = AptConfig::empty();
        conf.extra = extra.map(|(n, t)| (n.to_string(), t.to_string()));
        conf.read_dir(root, Path::new(PARTS_DIR), 0)?;
        if let Ok(host) = root.resolve(MAIN_FILE) {
            if host.exists() {
                conf.read_file(root, Path::new(MAIN_FILE), 0)?;
            }
        }
        Ok(conf)
    }

    /// Parse `text` as the file `name` (tests, and apt.conf snippets).
    pub fn parse_str(&mut self, name: &Path, text: &str) -> Result<(), ConfigError> {
        self.parse(None, name, text, 0)
    }

    fn read_dir(&mut self, root: &Root, dir: &Path, depth: u32) -> Result<(), ConfigError> {
        let Ok(host) = root.resolve(dir) else {
            return Ok(());
        };
        let Ok(entries) = fs::read_dir(&host) else {
            return Ok(());
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| accepted_name(n))
            .collect();
        let extra = self.extra.clone().filter(|_| dir == Path::new(PARTS_DIR));
        if let Some((name, _)) = &extra {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names.sort();
        // apt reads every file and fails at the end if one failed; the first
        // error is the one it prints first.
        let mut first_error = None;
        for name in names {
            let system = dir.join(&name);
            if let Some((_, text)) = extra.as_ref().filter(|(n, _)| *n == name) {
                self.files.push(system.clone());
                if let Err(e) = self.parse(Some(root), &system, text, depth) {
                    first_error.get_or_insert(e);
                }
                continue;
            }
            let is_file = root
                .resolve(&system)
                .ok()
                .and_then(|p| fs::metadata(p).ok())
                .is_some_and(|m| m.is_file());
            if !is_file {
                continue;
            }
            if let Err(e) = self.read_file(root, &system, depth) {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn read_file(&mut self, root: &Root, file: &Path, depth: u32) -> Result<(), ConfigError> {
        let unreadable = |what: String| ConfigError {
            file: file.to_path_buf(),
            line: 0,
            what,
        };
        // (a regular file of a sane size only: an image may offer a FIFO
        // or /dev/zero, through #include too)
        let text = crate::system::read_text(root, file, hardkit_core::input::MAX_FILE_BYTES)
            .map_err(|e| unreadable(format!("cannot open: {e}")))?;
        self.files.push(file.to_path_buf());
        self.parse(Some(root), file, &text, depth)
    }

    fn parse(
        &mut self,
        root: Option<&Root>,
        file: &Path,
        text: &str,
        depth: u32,
    ) -> Result<(), ConfigError> {
        let error = |line: u64, what: &str| ConfigError {
            file: file.to_path_buf(),
            line,
            what: what.to_string(),
        };
        let mut buffer = String::new();
        let mut scopes: Vec<String> = Vec::new();
        let mut parent = String::new();
        let mut in_comment = false;
        let mut line_no = 0u64;
        for raw in text.split('\n') {
            line_no += 1;
            let expanded = raw.replace('\t', "        ");
            let line = expanded.trim();
            let Some(fragment) = strip_comments(line, &mut in_comment) else {
                continue;
            };
            if fragment.is_empty() {
                continue;
            }
            let mut in_quote = false;
            let mut start = 0usize;
            let bytes = fragment.as_bytes();
            for (i, &c) in bytes.iter().enumerate() {
                if c == b'"' {
                    in_quote = !in_quote;
                }
                if in_quote || !matches!(c, b'{' | b';' | b'}') {
                    continue;
                }
                let piece = fragment[start..i].trim_matches(|c: char| c.is_ascii_whitespace());
                if !buffer.is_empty() && !piece.is_empty() {
                    buffer.push(' ');
                }
                buffer.push_str(piece);
                start = i + 1;
                if c == b'{' && buffer.is_empty() {
                    return Err(error(line_no, "Block starts with no name."));
                }
                if buffer.is_empty() {
                    if c == b'}' {
                        parent = scopes.pop().unwrap_or_default();
                    }
                    continue;
                }
                let statement = std::mem::take(&mut buffer);
                let mut pos = statement.as_str();
                let Some(mut tag) = quote_word(&mut pos) else {
                    return Err(error(line_no, "Malformed tag"));
                };
                let mut no_word = false;
                let word = match c_word(&mut pos) {
                    Some(w) => w,
                    None => match quote_word(&mut pos) {
                        Some(w) => w,
                        None if c != b'{' => std::mem::take(&mut tag),
                        None => {
                            no_word = true;
                            String::new()
                        }
                    },
                };
                if !pos.is_empty() {
                    return Err(error(line_no, "Extra junk after value"));
                }
                if c == b'{' {
                    scopes.push(parent.clone());
                    if parent.is_empty() {
                        parent = std::mem::take(&mut tag);
                    } else {
                        parent = format!("{parent}::{}", std::mem::take(&mut tag));
                    }
                }
                let item = if parent.is_empty() {
                    tag.clone()
                } else if c != b'{' || !tag.is_empty() {
                    format!("{parent}::{tag}")
                } else {
                    parent.clone()
                };
                if let Some(directive) = tag.strip_prefix('#') {
                    if !parent.is_empty() {
                        return Err(error(
                            line_no,
                            "Directives can only be done at the top level",
                        ));
                    }
                    match directive {
                        "clear" => self.clear(&word),
                        "include" => {
                            if depth > MAX_INCLUDE_DEPTH {
                                return Err(error(line_no, "Too many nested includes"));
                            }
                            let included = match root {
                                Some(root) if word.len() > 2 && word.ends_with('/') => {
                                    self.read_dir(root, Path::new(&word), depth + 1)
                                }
                                Some(root) => self.read_file(root, Path::new(&word), depth + 1),
                                None => Ok(()),
                            };
                            if included.is_err() {
                                return Err(error(line_no, "Included from here"));
                            }
                        }
                        // apt loads an index of known options; a failure
                        // is only a warning.
                        "x-apt-configure-index" => {}
                        other => {
                            return Err(error(line_no, &format!("Unsupported directive '{other}'")))
                        }
                    }
                } else if tag.is_empty() && !no_word && word == "#clear" {
                    return Err(error(
                        line_no,
                        "clear directive requires an option tree as argument",
                    ));
                } else if !no_word {
                    self.set(
                        &item,
                        &word,
                        SetAt {
                            file: file.to_path_buf(),
                            line: line_no,
                        },
                    );
                }
                if c == b'}' {
                    parent = scopes.pop().unwrap_or_default();
                }
            }
            let rest = fragment[start..].trim_matches(|c: char| c.is_ascii_whitespace());
            if !rest.is_empty() && !buffer.is_empty() {
                buffer.push(' ');
            }
            buffer.push_str(rest);
        }
        if !buffer.is_empty() {
            // apt counts one line past the last newline of the file.
            return Err(error(line_no, "Extra junk at end of file"));
        }
        Ok(())
    }

    /// Set `name` (`A::B::C`; a trailing `::` appends an unnamed item).
    fn set(&mut self, name: &str, value: &str, at: SetAt) {
        let item = lookup_create(&mut self.top, name);
        item.value = value.to_string();
        item.set_at = Some(at);
    }

    /// `#clear NAME`: the item keeps its place, loses its value and children.
    fn clear(&mut self, name: &str) {
        if let Some(item) = lookup_mut(&mut self.top, name) {
            item.value.clear();
            item.set_at = None;
            item.children.clear();
        }
    }

    /// The value of `name`, as apt's `Find`: none when unset or empty.
    pub fn find(&self, name: &str) -> Option<Value<'_>> {
        let item = lookup(&self.top, name)?;
        if item.value.is_empty() {
            return None;
        }
        Some(Value {
            text: &item.value,
            set_at: item.set_at.as_ref(),
        })
    }

    /// The values of the items under `name`, in order (python-apt's
    /// `value_list`: a list like `Unattended-Upgrade::Origins-Pattern`).
    pub fn list(&self, name: &str) -> Vec<Value<'_>> {
        lookup(&self.top, name)
            .map(|item| {
                item.children
                    .iter()
                    .map(|c| Value {
                        text: &c.value,
                        set_at: c.set_at.as_ref(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `apt-config dump NAME` (the tree under NAME, itself first), in apt's
    /// format: `Full::Tag "value";`, unnamed items ending in `::`.
    pub fn dump(&self, name: &str) -> String {
        let mut out = String::new();
        if let Some(item) = lookup(&self.top, name) {
            let prefix = match name.rfind("::") {
                Some(i) => &name[..i + 2],
                None => "",
            };
            // The tag as first written, not as asked for.
            let full = format!("{prefix}{}", item.tag);
            dump_item(item, &full, &mut out);
        }
        out
    }
}

fn dump_item(item: &Item, full: &str, out: &mut String) {
    out.push_str(&format!("{} \"{}\";\n", quote_tag(full), item.value));
    for child in &item.children {
        dump_item(child, &format!("{full}::{}", child.tag), out);
    }
}

/// apt's `QuoteString(tag, "=\"\n")`: `%xx` for those, `%`, and bytes
/// outside printable ASCII.
fn quote_tag(tag: &str) -> String {
    let mut out = String::new();
    for b in tag.bytes() {
        if b <= 0x20 || b >= 0x7f || matches!(b, b'%' | b'=' | b'"' | b'\n') {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

/// The segments of a name: `A::B::` gives `A`, `B`, `` (empty: a new
/// unnamed item).
fn segments(name: &str) -> Vec<&str> {
    name.split("::").collect()
}

/// The child of `item` named `seg` (any case); an empty segment names none
/// (it is a new unnamed item when setting).
fn child_index(item: &Item, seg: &str) -> Option<usize> {
    if seg.is_empty() {
        return None;
    }
    item.children
        .iter()
        .position(|c| c.tag.eq_ignore_ascii_case(seg))
}

fn lookup<'a>(top: &'a Item, name: &str) -> Option<&'a Item> {
    let mut item = top;
    for seg in segments(name) {
        item = &item.children[child_index(item, seg)?];
    }
    Some(item)
}

fn lookup_mut<'a>(top: &'a mut Item, name: &str) -> Option<&'a mut Item> {
    let mut item = top;
    for seg in segments(name) {
        let i = child_index(item, seg)?;
        item = &mut item.children[i];
    }
    Some(item)
}

fn lookup_create<'a>(top: &'a mut Item, name: &str) -> &'a mut Item {
    let mut item = top;
    for seg in segments(name) {
        let index = match child_index(item, seg) {
            Some(i) => i,
            None => {
                item.children.push(Item::new(seg));
                item.children.len() - 1
            }
        };
        item = &mut item.children[index];
    }
    item
}

/// A name apt reads from a configuration directory (its
/// `GetListOfFilesInDir` with the `conf` extension or none).
pub fn accepted_name(name: &str) -> bool {
    if name.starts_with('.') || name.ends_with('.') || name.is_empty() {
        return false;
    }
    if name.contains('.') {
        // The extension is what follows the last dot.
        let ext = name.rsplit('.').next().unwrap_or_default();
        if ext != "conf" {
            return false;
        }
    }
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':' | b'.'))
}

/// The line without its comments; None when the whole line is inside a
/// `/* */` comment. `in_comment` carries an open `/*` to the next line.
fn strip_comments(line: &str, in_comment: &mut bool) -> Option<String> {
    let mut line = line;
    if *in_comment {
        let end = line.find("*/")?;
        line = &line[end + 2..];
        *in_comment = false;
    }
    let quotes_before = |s: &str, at: usize| s[..at].bytes().filter(|&b| b == b'"').count();
    // `//` outside quotes ends the line.
    let mut from = 0;
    while let Some(found) = line[from..].find("//") {
        let at = from + found;
        if quotes_before(line, at) % 2 != 0 {
            from = at + 1;
            continue;
        }
        line = &line[..at];
        break;
    }
    // `#` outside quotes too, unless it starts a directive.
    let mut from = 0;
    while let Some(found) = line[from..].find('#') {
        let at = from + found;
        let after = &line[at + 1..];
        let directive = ["clear", "include", "x-apt-configure-index"]
            .iter()
            .any(|d| after.starts_with(d));
        if quotes_before(line, at) % 2 != 0 || directive {
            from = at + 1;
            continue;
        }
        line = &line[..at];
        break;
    }
    let mut fragment = String::new();
    let mut rest = line;
    let mut from = 0;
    while let Some(found) = rest[from..].find("/*") {
        let at = from + found;
        if quotes_before(rest, at) % 2 != 0 {
            from = at + 2;
            continue;
        }
        fragment.push_str(&rest[..at]);
        match rest[at + 2..].find("*/") {
            Some(end) => {
                rest = &rest[at + 2 + end + 2..];
                from = 0;
            }
            None => {
                *in_comment = true;
                rest = "";
                break;
            }
        }
    }
    fragment.push_str(rest);
    Some(fragment)
}

/// apt's `ParseQuoteWord`: one word up to white space, quotes removed
/// (a quoted part or a `[...]` may hold spaces), `%xx` decoded.
fn quote_word(pos: &mut &str) -> Option<String> {
    let s = pos.trim_start_matches(' ');
    if s.is_empty() {
        return None;
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
        match bytes[i] {
            b'"' => i += 1 + s[i + 1..].find('"')?,
            b'[' => i += 1 + s[i + 1..].find(']')?,
            _ => {}
        }
        i += 1;
    }
    let word = &bytes[..i];
    let mut out = Vec::with_capacity(word.len());
    let mut j = 0;
    while j < word.len() {
        if word[j] == b'%'
            && j + 2 < word.len()
            && word[j + 1].is_ascii_hexdigit()
            && word[j + 2].is_ascii_hexdigit()
        {
            let hex = std::str::from_utf8(&word[j + 1..j + 3]).unwrap_or("00");
            out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
            j += 3;
            continue;
        }
        if word[j] != b'"' {
            out.push(word[j]);
        }
        j += 1;
    }
    *pos = s[i..].trim_start_matches(|c: char| c.is_ascii_whitespace());
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// apt's `ParseCWord`: the rest is quoted strings and white space only
/// (`"a" "b"` gives `a b`); else nothing, and `pos` is left as it was.
fn c_word(pos: &mut &str) -> Option<String> {
    let s = pos.trim_start_matches(' ');
    if s.is_empty() {
        return None;
    }
    let bytes = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            let end = s[i + 1..].find('"')?;
            out.push_str(&s[i + 1..i + 1 + end]);
            i += end + 2;
            continue;
        }
        if !bytes[i].is_ascii_whitespace() {
            return None;
        }
        if i == 0 || !bytes[i - 1].is_ascii_whitespace() {
            out.push(' ');
        }
        i += 1;
    }
    *pos = "";
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> AptConfig {
        let mut c = AptConfig::empty();
        c.parse_str(Path::new("/etc/apt/apt.conf.d/t"), text)
            .expect("parses");
        c
    }

    #[test]
    fn periodic_settings_and_lists() {
        let c = parsed(
            "APT::Periodic::Update-Package-Lists \"1\";\n\
             apt::periodic::unattended-upgrade \"0\"; // off\n\
             Unattended-Upgrade::Origins-Pattern {\n  \"origin=Debian,label=Debian-Security\";\n  # comment\n  \"o=x\";\n};\n",
        );
        assert_eq!(
            c.find("APT::Periodic::Update-Package-Lists")
                .map(|v| v.text),
            Some("1")
        );
        let v = c.find("APT::Periodic::Unattended-Upgrade").expect("set");
        assert_eq!((v.text, v.set_at.map(|s| s.line)), ("0", Some(2)));
        let list: Vec<_> = c
            .list("unattended-upgrade::origins-pattern")
            .iter()
            .map(|v| v.text)
            .collect();
        assert_eq!(list, ["origin=Debian,label=Debian-Security", "o=x"]);
    }

    #[test]
    fn clear_and_later_values() {
        let mut c = parsed("A::B { \"x\"; \"y\"; };\nA::C \"1\";\n");
        c.parse_str(
            Path::new("/f2"),
            "#clear A::B;\nA::B:: \"z\";\nA::C \"2\";\n",
        )
        .expect("parses");
        assert_eq!(
            c.list("A::B").iter().map(|v| v.text).collect::<Vec<_>>(),
            ["z"]
        );
        assert_eq!(c.find("A::C").map(|v| v.text), Some("2"));
        assert_eq!(
            c.dump("A"),
            "A \"\";\nA::B \"\";\nA::B:: \"z\";\nA::C \"2\";\n"
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let mut c = AptConfig::empty();
        let e = c
            .parse_str(Path::new("/x"), "A \"1\";\nB \"2\" junk;\n")
            .expect_err("junk");
        assert_eq!((e.line, e.what.as_str()), (2, "Extra junk after value"));
        let e = AptConfig::empty()
            .parse_str(Path::new("/x"), "A \"1\"\n")
            .expect_err("no ;");
        assert_eq!(e.what, "Extra junk at end of file");
        let e = AptConfig::empty()
            .parse_str(Path::new("/x"), "{ \"a\"; };\n")
            .expect_err("no name");
        assert_eq!(e.what, "Block starts with no name.");
    }

    #[test]
    fn comments_inside_quotes_stay() {
        let c = parsed("A \"http://x/#y\"; /* c\n still */ B \"2\";\n");
        assert_eq!(c.find("A").map(|v| v.text), Some("http://x/#y"));
        assert_eq!(c.find("B").map(|v| v.text), Some("2"));
    }

    #[test]
    fn names_apt_reads() {
        for ok in [
            "20auto-upgrades",
            "50unattended-upgrades",
            "99x.conf",
            "a:b",
        ] {
            assert!(accepted_name(ok), "{ok}");
        }
        for skipped in [
            "x.dpkg-old",
            "x~",
            ".hidden",
            "x.bak",
            "x.",
            "a b",
            "x.conf.save",
        ] {
            assert!(!accepted_name(skipped), "{skipped}");
        }
    }

    #[test]
    fn no_panic_on_odd_input() {
        for text in [
            "\"", "A \"", "}}}", "A {", "#clear", "#include", "%", "A %4", "[", "A [x", "/*",
            "\"/*\"",
        ] {
            let _ = AptConfig::empty().parse_str(Path::new("/x"), text);
        }
    }
}
