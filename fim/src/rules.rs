//! The rule language: which paths fim watches and which attributes it
//! compares for each (see docs/fim.md for the user's guide).
//!
//! ```text
//! # comment
//! strict = all-nlink          # a named attribute group
//! /etc      all               # a prefix: /etc and everything below it
//! !/etc/mtab                  # `!` excludes
//! ~/etc/.*\.swp               # `~` starts a regex, anchored at both ends
//! /var/log/auth.log  log      # growing: may only grow
//! ```
//!
//! For each path the deepest matching rule decides: a prefix rule is as deep
//! as its number of components, a regex rule is as deep as the path it
//! matches (it names the file itself). Between rules of equal depth the
//! later line wins. An excluded directory is not descended into unless a
//! selecting prefix rule lies below it.

use std::path::PathBuf;

use hardkit_core::bytes_path::path_from_bytes;
use regex::bytes::{Regex, RegexBuilder};

use crate::entry::Attr;

/// The built-in rule set for a server, used when no config is given.
pub const DEFAULT_RULES: &str = r"# fim's built-in rules (docs/fim.md explains the language).
/etc        all
/boot       all
/usr/bin    all
/usr/sbin   all
/usr/lib    all
/opt        all
# Regenerated from other files, but read and trusted as they are: the
# dynamic loader's cache (which library a program gets) and Python's
# bytecode (what `import` runs, as root for root's programs). A rerun of
# ldconfig or py3compile gives the same bytes in a new inode, so those
# changes are not reported; other content, owner or mode is.
regenerated = all-mtime-ctime-inode
/etc/ld.so.cache  regenerated
~.*/__pycache__   regenerated
~.*\.pyc          regenerated
# Rewritten by the system in normal operation, and read by nothing that
# trusts them (docs/fim.md says why each is safe to skip):
!/etc/mtab
!/etc/adjtime
!/etc/.pwd.lock
";

/// Paths never walked unless a rule selects something below them: kernel
/// and runtime pseudo-filesystems whose content is not files.
pub const SKIPPED_BY_DEFAULT: [&str; 4] = ["/proc", "/sys", "/dev", "/run"];

/// A set of attributes to compare, and whether the size may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AttrSet {
    bits: u16,
    /// `growing`: a larger size is not a change, and while the size grows
    /// the content hash and the times are not compared either.
    pub growing: bool,
}

impl AttrSet {
    pub fn all() -> AttrSet {
        let mut set = AttrSet::default();
        for attr in Attr::ALL {
            set.insert(attr);
        }
        set
    }

    pub fn contains(&self, attr: Attr) -> bool {
        self.bits & (1 << attr as u16) != 0
    }

    pub fn insert(&mut self, attr: Attr) {
        self.bits |= 1 << attr as u16;
    }

    pub fn remove(&mut self, attr: Attr) {
        self.bits &= !(1 << attr as u16);
    }

    pub fn iter(&self) -> impl Iterator<Item = Attr> + '_ {
        Attr::ALL.into_iter().filter(|a| self.contains(*a))
    }

    fn union(&mut self, other: AttrSet) {
        self.bits |= other.bits;
        self.growing |= other.growing;
    }

    fn subtract(&mut self, other: AttrSet) {
        self.bits &= !other.bits;
        if other.growing {
            self.growing = false;
        }
    }

    /// `mode+uid+...` in entry field order, for messages and docs.
    pub fn describe(&self) -> String {
        let mut names: Vec<&str> = self.iter().map(Attr::name).collect();
        if self.growing {
            names.push("growing");
        }
        names.join("+")
    }
}

#[derive(Debug, Clone)]
enum Selector {
    /// A path and everything below it; stored without a trailing slash
    /// (the root is the empty string).
    Prefix(Vec<u8>),
    Regex(Regex),
}

#[derive(Debug, Clone)]
struct Rule {
    selector: Selector,
    exclude: bool,
    attrs: AttrSet,
}

/// What the rules say about one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// No rule matches: the path is walked through but not recorded.
    Unselected,
    Excluded,
    Selected(AttrSet),
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("{source_name}:{line}: {message}")]
    Syntax {
        source_name: String,
        line: usize,
        message: String,
    },
}

/// A parsed rule set.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    rules: Vec<Rule>,
    groups: Vec<(String, AttrSet)>,
    /// The text the rules were parsed from (stored in the baseline so
    /// `check` compares with the rules `init` used).
    text: String,
}

fn builtin_groups() -> Vec<(String, AttrSet)> {
    let set = |attrs: &[Attr], growing: bool| {
        let mut s = AttrSet { bits: 0, growing };
        for a in attrs {
            s.insert(*a);
        }
        s
    };
    use Attr::*;
    vec![
        ("all".into(), AttrSet::all()),
        ("perms".into(), set(&[Mode, Uid, Gid], false)),
        ("content".into(), set(&[Ftype, Size, Target, Blake3], false)),
        ("times".into(), set(&[Mtime, Ctime], false)),
        (
            "log".into(),
            set(&[Ftype, Mode, Uid, Gid, Size, Inode, Xattrs], true),
        ),
    ]
}

impl Rules {
    /// Parse `text`; `source_name` names it in error messages.
    pub fn parse(text: &str, source_name: &str) -> Result<Rules, RulesError> {
        let mut rules = Rules {
            rules: Vec::new(),
            groups: builtin_groups(),
            text: String::new(),
        };
        // First, so an explicit rule for the same path (a later line of
        // equal depth) overrides them.
        for path in SKIPPED_BY_DEFAULT {
            rules.rules.push(Rule {
                selector: Selector::Prefix(path.as_bytes().to_vec()),
                exclude: true,
                attrs: AttrSet::default(),
            });
        }
        rules.add_text(text, source_name)?;
        Ok(rules)
    }

    /// Append more rule lines (from the command line, say).
    pub fn add_text(&mut self, text: &str, source_name: &str) -> Result<(), RulesError> {
        for (index, raw) in text.lines().enumerate() {
            let error = |message: String| RulesError::Syntax {
                source_name: source_name.to_string(),
                line: index + 1,
                message,
            };
            self.add_line(raw).map_err(error)?;
        }
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
        self.text.push_str(text);
        Ok(())
    }

    fn add_line(&mut self, raw: &str) -> Result<(), String> {
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            return Ok(());
        }
        // A group definition: NAME = SPEC
        if let Some((name, spec)) = line.split_once('=') {
            let name = name.trim();
            if is_group_name(name) {
                let set = self.parse_spec(spec.trim())?;
                self.groups.retain(|(n, _)| n != name);
                self.groups.push((name.to_string(), set));
                return Ok(());
            }
        }
        let (selector_text, spec) = match line.split_once(char::is_whitespace) {
            Some((sel, spec)) => (sel, spec.trim()),
            None => (line, ""),
        };
        let (exclude, selector_text) = match selector_text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, selector_text),
        };
        if exclude && !spec.is_empty() {
            return Err(format!(
                "an exclusion takes no attributes, found '{spec}' after '!{selector_text}'"
            ));
        }
        let selector = parse_selector(selector_text)?;
        let attrs = if spec.is_empty() {
            AttrSet::all()
        } else {
            self.parse_spec(spec)?
        };
        self.rules.push(Rule {
            selector,
            exclude,
            attrs,
        });
        Ok(())
    }

    /// `all-mtime-ctime`, `perms+blake3`, `log`: terms joined by `+` (add)
    /// and `-` (remove), read left to right.
    pub fn parse_spec(&self, spec: &str) -> Result<AttrSet, String> {
        let mut set = AttrSet::default();
        let mut adding = true;
        let mut term = String::new();
        let apply = |term: &str, adding: bool, set: &mut AttrSet| -> Result<(), String> {
            let term = term.trim();
            if term.is_empty() {
                return Err(format!("empty attribute name in '{spec}'"));
            }
            let value = self.term(term).ok_or_else(|| {
                format!(
                    "unknown attribute or group '{term}' (attributes: {}, growing; groups: {})",
                    Attr::ALL.map(Attr::name).join(", "),
                    self.groups
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            if adding {
                set.union(value);
            } else {
                set.subtract(value);
            }
            Ok(())
        };
        for c in spec.chars() {
            if c == '+' || c == '-' {
                apply(&term, adding, &mut set)?;
                term.clear();
                adding = c == '+';
            } else {
                term.push(c);
            }
        }
        apply(&term, adding, &mut set)?;
        Ok(set)
    }

    fn term(&self, name: &str) -> Option<AttrSet> {
        if name == "growing" {
            return Some(AttrSet {
                bits: 0,
                growing: true,
            });
        }
        if let Some(attr) = Attr::from_name(name) {
            let mut set = AttrSet::default();
            set.insert(attr);
            return Some(set);
        }
        self.groups
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, s)| *s)
    }

    /// Select `path` (and everything below it) with every attribute: what
    /// `fim init PATH` adds after the config's rules.
    pub fn select_path(&mut self, path: &[u8]) {
        let mut bytes = path.to_vec();
        while bytes.last() == Some(&b'/') {
            bytes.pop();
        }
        let line = if bytes.is_empty() {
            "/ all\n".to_string()
        } else {
            format!("{} all\n", escape_selector(&bytes))
        };
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
        self.text.push_str(&line);
        self.rules.push(Rule {
            selector: Selector::Prefix(bytes),
            exclude: false,
            attrs: AttrSet::all(),
        });
    }

    /// Replace the attributes of every selecting rule (`--attrs`).
    pub fn set_all_attrs(&mut self, spec: &str) -> Result<(), String> {
        let set = self.parse_spec(spec)?;
        for rule in self.rules.iter_mut().filter(|r| !r.exclude) {
            rule.attrs = set;
        }
        // Rewrite the stored text so the baseline records the effect.
        let mut text = String::new();
        for rule in &self.rules[SKIPPED_BY_DEFAULT.len()..] {
            text.push_str(&rule_line(rule, &set));
        }
        self.text = text;
        Ok(())
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// What the rules say about `path` (a system path).
    pub fn decide(&self, path: &[u8]) -> Decision {
        let depth = component_count(path);
        let mut best: Option<(usize, &Rule)> = None;
        for rule in &self.rules {
            let rule_depth = match &rule.selector {
                Selector::Prefix(prefix) if prefix_matches(prefix, path) => component_count(prefix),
                Selector::Regex(re) if re.is_match(path) => depth,
                _ => continue,
            };
            if best.is_none_or(|(d, _)| rule_depth >= d) {
                best = Some((rule_depth, rule));
            }
        }
        match best {
            None => Decision::Unselected,
            Some((_, rule)) if rule.exclude => Decision::Excluded,
            Some((_, rule)) => Decision::Selected(rule.attrs),
        }
    }

    /// Whether a selecting prefix rule lies strictly below directory `dir`,
    /// so an excluded directory must still be walked to reach it.
    pub fn selects_below(&self, dir: &[u8]) -> bool {
        self.rules.iter().any(|rule| match &rule.selector {
            Selector::Prefix(prefix) if !rule.exclude => {
                prefix.len() > dir.len() && prefix_matches(dir, prefix)
            }
            _ => false,
        })
    }

    /// Where the walk starts: the selecting prefixes that no other selecting
    /// prefix contains, in walk order.
    pub fn walk_roots(&self) -> Vec<PathBuf> {
        let mut prefixes: Vec<&[u8]> = self
            .rules
            .iter()
            .filter(|r| !r.exclude)
            .filter_map(|r| match &r.selector {
                Selector::Prefix(p) => Some(p.as_slice()),
                Selector::Regex(_) => None,
            })
            .collect();
        prefixes.sort_by(|a, b| crate::entry::path_order(a, b));
        prefixes.dedup();
        let mut roots: Vec<&[u8]> = Vec::new();
        for p in prefixes {
            if !roots.iter().any(|r| prefix_matches(r, p)) {
                roots.push(p);
            }
        }
        roots
            .into_iter()
            .map(|p| {
                if p.is_empty() {
                    PathBuf::from("/")
                } else {
                    path_from_bytes(p)
                }
            })
            .collect()
    }
}

fn rule_line(rule: &Rule, attrs: &AttrSet) -> String {
    let selector = match &rule.selector {
        Selector::Prefix(p) if p.is_empty() => "/".to_string(),
        Selector::Prefix(p) => escape_selector(p),
        Selector::Regex(re) => {
            let s = re.as_str();
            let inner = s
                .strip_prefix("^(?:")
                .and_then(|s| s.strip_suffix(")$"))
                .unwrap_or(s);
            format!("~{inner}")
        }
    };
    if rule.exclude {
        format!("!{selector}\n")
    } else {
        format!("{selector} {}\n", attrs_spec(attrs))
    }
}

fn attrs_spec(attrs: &AttrSet) -> String {
    let text = attrs.describe();
    if text.is_empty() {
        // A rule that compares nothing still records the path.
        "all-ftype-mode-uid-gid-size-mtime-ctime-inode-nlink-target-blake3-xattrs".into()
    } else {
        text
    }
}

/// Prefix selectors are written with `\xNN` for bytes that are not
/// printable ASCII (and for spaces and backslashes).
fn escape_selector(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if b.is_ascii_graphic() && b != b'\\' && b != b'#' {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

fn unescape_selector(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            let hex = text
                .get(i + 2..i + 4)
                .filter(|h| {
                    bytes.get(i + 1) == Some(&b'x') && h.bytes().all(|b| b.is_ascii_hexdigit())
                })
                // (from_str_radix alone would take `\x+f` as byte 0x0f)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad escape in '{text}': use \\xNN for a byte"))?;
            out.push(hex);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn parse_selector(text: &str) -> Result<Selector, String> {
    if let Some(pattern) = text.strip_prefix('~') {
        let anchored = format!("^(?:{pattern})$");
        let re = RegexBuilder::new(&anchored)
            .unicode(false)
            .build()
            .map_err(|e| format!("bad regex '{pattern}': {e}"))?;
        return Ok(Selector::Regex(re));
    }
    if !text.starts_with('/') {
        return Err(format!(
            "a selector is an absolute path ('/etc') or a regex ('~/etc/.*\\.conf'), found '{text}'"
        ));
    }
    let mut bytes = unescape_selector(text)?;
    while bytes.last() == Some(&b'/') {
        bytes.pop();
    }
    // Normalise repeated slashes so matching is component-wise.
    bytes.dedup_by(|a, b| *a == b'/' && *b == b'/');
    Ok(Selector::Prefix(bytes))
}

fn strip_comment(line: &str) -> &str {
    // `#` starts a comment at the start of a line or after whitespace (a
    // regex may contain `#` elsewhere).
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

fn is_group_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `prefix` (no trailing slash, empty for `/`) is `path` or an ancestor of it.
fn prefix_matches(prefix: &[u8], path: &[u8]) -> bool {
    if prefix.is_empty() {
        return path.first() == Some(&b'/') || path.is_empty();
    }
    path.starts_with(prefix) && (path.len() == prefix.len() || path[prefix.len()] == b'/')
}

fn component_count(path: &[u8]) -> usize {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Rules {
        Rules::parse(text, "test.conf").unwrap()
    }

    #[test]
    fn deepest_rule_decides_and_later_wins_ties() {
        let r = rules("/etc all\n!/etc/ssh\n/etc/ssh/sshd_config perms\n");
        assert_eq!(r.decide(b"/etc/passwd"), Decision::Selected(AttrSet::all()));
        assert_eq!(r.decide(b"/etc/ssh/moduli"), Decision::Excluded);
        let perms = r.parse_spec("perms").unwrap();
        assert_eq!(r.decide(b"/etc/ssh/sshd_config"), Decision::Selected(perms));
        assert_eq!(r.decide(b"/etcetera"), Decision::Unselected);
        assert!(r.selects_below(b"/etc/ssh"));
        assert!(!r.selects_below(b"/etc/ssl"));
        let tie = rules("/etc all\n!/etc\n");
        assert_eq!(tie.decide(b"/etc/x"), Decision::Excluded);
    }

    #[test]
    fn regex_rules_are_anchored_and_as_deep_as_the_path() {
        let r = rules("/usr/lib all\n!~.*/__pycache__\n/usr/lib/keep/__pycache__ perms\n");
        assert_eq!(r.decide(b"/usr/lib/x/__pycache__"), Decision::Excluded);
        assert_eq!(
            r.decide(b"/usr/lib/x/__pycache__x"),
            Decision::Selected(AttrSet::all())
        );
        // Equal depth: the later prefix line wins over the regex.
        assert!(matches!(
            r.decide(b"/usr/lib/keep/__pycache__"),
            Decision::Selected(_)
        ));
        let bytes = rules("~/data/caf\\xe9.*\n");
        assert!(matches!(
            bytes.decide(b"/data/caf\xe9s"),
            Decision::Selected(_)
        ));
    }

    #[test]
    fn specs_add_and_remove_groups_and_growing() {
        let r = rules("strict = all-nlink\n/var/log/auth.log log\n/x strict\n");
        match r.decide(b"/var/log/auth.log") {
            Decision::Selected(set) => {
                assert!(set.growing && set.contains(Attr::Size) && !set.contains(Attr::Blake3))
            }
            other => panic!("{other:?}"),
        }
        match r.decide(b"/x/y") {
            Decision::Selected(set) => {
                assert!(!set.contains(Attr::Nlink) && set.contains(Attr::Blake3))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn walk_roots_are_minimal_and_ordered() {
        let r = rules("/usr/lib all\n/usr all\n/etc all\n/etc/ssh perms\n!/opt\n~/srv/.*\n");
        assert_eq!(
            r.walk_roots(),
            vec![PathBuf::from("/etc"), PathBuf::from("/usr")]
        );
        assert_eq!(
            rules("/ all\n/etc all\n").walk_roots(),
            vec![PathBuf::from("/")]
        );
    }

    #[test]
    fn errors_name_the_line_and_what_is_accepted() {
        let err = Rules::parse("/etc all\n/usr blake2\n", "fim.conf").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("fim.conf:2: unknown attribute or group 'blake2'"),
            "{text}"
        );
        assert!(text.contains("blake3"), "{text}");
        let err = Rules::parse("etc all\n", "fim.conf")
            .unwrap_err()
            .to_string();
        assert!(err.contains("absolute path"), "{err}");
        assert!(Rules::parse("!/etc all\n", "c").is_err());
        assert!(Rules::parse("~/etc/(\n", "c").is_err());
    }

    /// Found while writing the fuzz targets: `\x` took anything
    /// `u8::from_str_radix` takes, so `\x+f` was byte 0x0f.
    #[test]
    fn byte_escapes_need_two_hex_digits() {
        for bad in ["/a\\x+f", "/a\\x-1", "/a\\x 1", "/a\\x1", "/a\\", "/a\\xé1"] {
            let err = Rules::parse(&format!("{bad} all\n"), "fim.conf").unwrap_err();
            assert!(err.to_string().contains("bad escape"), "{bad}: {err}");
        }
        let r = rules("/a\\x2Bf all\n");
        assert!(matches!(r.decide(b"/a+f"), Decision::Selected(_)));
    }

    #[test]
    fn default_rules_parse_and_treat_mtab_and_caches_sensibly() {
        let r = rules(DEFAULT_RULES);
        assert_eq!(r.decide(b"/etc/mtab"), Decision::Excluded);
        let regenerated = r.parse_spec("all-mtime-ctime-inode").unwrap();
        // Bytecode and the loader's cache run as root: watched, without
        // the times and inode a rerun of py3compile or ldconfig changes.
        for path in [
            &b"/usr/lib/python3/dist-packages/a/__pycache__"[..],
            b"/usr/lib/python3/dist-packages/a/__pycache__/m.cpython-311.pyc",
            b"/usr/lib/python3.11/os.pyc",
            b"/etc/ld.so.cache",
        ] {
            assert_eq!(
                r.decide(path),
                Decision::Selected(regenerated),
                "{}",
                String::from_utf8_lossy(path)
            );
        }
        assert!(matches!(r.decide(b"/usr/bin/sudo"), Decision::Selected(_)));
        assert_eq!(r.decide(b"/home/user/x"), Decision::Unselected);
    }

    #[test]
    fn set_all_attrs_keeps_exclusions_and_round_trips_as_text() {
        let mut r = rules("/etc all\n!/etc/mtab\n/d\\x20x all\n");
        r.set_all_attrs("perms").unwrap();
        let again = rules(r.text());
        let perms = r.parse_spec("perms").unwrap();
        assert_eq!(again.decide(b"/etc/passwd"), Decision::Selected(perms));
        assert_eq!(again.decide(b"/etc/mtab"), Decision::Excluded);
        assert_eq!(again.decide(b"/d x/y"), Decision::Selected(perms));
    }
}
