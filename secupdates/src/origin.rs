//! Which archives unattended-upgrade takes packages from, as it decides:
//! `Unattended-Upgrade::Allowed-Origins` (`ORIGIN:ARCHIVE`, the old form,
//! turned into `o=ORIGIN,a=ARCHIVE`) then `Unattended-Upgrade::Origins-
//! Pattern` (`key=value,...`), `${distro_id}` and `${distro_codename}`
//! substituted; a pattern matches an archive when every one of its keys
//! matches that archive's Release field as a shell glob (Python's
//! fnmatch: `*`, `?`, `[...]`, `[!...]`, case-sensitive).
//!
//! What makes unattended-upgrade stop before it upgrades anything is kept
//! apart ([`PatternError`]): a key it does not know, a part without `=`, a
//! `$` it cannot substitute. A single such line means no update at all.

/// An archive as apt describes it (the fields of its Release file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Archive {
    pub origin: String,
    pub label: String,
    /// `Suite` in the Release file (unattended-upgrade's "archive").
    pub suite: String,
    pub codename: String,
    pub component: String,
    pub site: String,
}

/// What the substitutions stand for on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distro {
    /// `Debian` (`lsb_release -i`).
    pub id: String,
    /// `bookworm` (`lsb_release -c`).
    pub codename: String,
}

/// A pattern unattended-upgrade would stop on, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("unknown key '{0}' (unattended-upgrade knows o/origin, l/label, a/archive/suite, c/component, site, n/codename)")]
    UnknownKey(String),
    #[error("'{0}' is not key=value")]
    NotKeyValue(String),
    #[error("'{0}': a $ that is not ${{distro_id}} or ${{distro_codename}}")]
    BadSubstitution(String),
    #[error("'{0}' is not ORIGIN:ARCHIVE")]
    NotOriginArchive(String),
}

/// One condition of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    Origin,
    Label,
    Suite,
    Component,
    Site,
    Codename,
}

/// A pattern, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The pattern after substitution, as unattended-upgrade logs it.
    pub text: String,
    conditions: Vec<(Field, String)>,
}

/// Python's `string.Template(text).substitute(mapping)` with the two names
/// unattended-upgrade defines.
pub fn substitute(text: &str, distro: &Distro) -> Result<String, PatternError> {
    let bad = || PatternError::BadSubstitution(text.to_string());
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        let (name, r) = if let Some(inner) = after.strip_prefix('{') {
            let end = inner.find('}').ok_or_else(bad)?;
            (&inner[..end], &inner[end + 1..])
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        match name {
            "distro_id" => out.push_str(&distro.id),
            "distro_codename" => out.push_str(&distro.codename),
            _ => return Err(bad()),
        }
        rest = r;
    }
    out.push_str(rest);
    Ok(out)
}

impl Pattern {
    /// An `Origins-Pattern` entry.
    pub fn parse(entry: &str, distro: &Distro) -> Result<Pattern, PatternError> {
        let text = substitute(entry, distro)?;
        // unattended-upgrade protects `\,` before splitting at commas.
        let protected = text.trim().replace("\\,", "\u{0}");
        let mut conditions = Vec::new();
        for token in protected.split(',') {
            let parts: Vec<&str> = token.split('=').collect();
            let [key, value] = parts[..] else {
                return Err(PatternError::NotKeyValue(token.replace('\u{0}', ",")));
            };
            let value = substitute(&value.trim().replace('\u{0}', ","), distro)?;
            let field = match key.trim() {
                "o" | "origin" => Field::Origin,
                "l" | "label" => Field::Label,
                "a" | "suite" | "archive" => Field::Suite,
                "c" | "component" => Field::Component,
                "site" => Field::Site,
                "n" | "codename" => Field::Codename,
                other => return Err(PatternError::UnknownKey(other.to_string())),
            };
            conditions.push((field, value));
        }
        Ok(Pattern { text, conditions })
    }

    /// An `Allowed-Origins` entry (`Debian:bookworm-security`, or two words).
    pub fn parse_legacy(entry: &str, distro: &Distro) -> Result<Pattern, PatternError> {
        let (origin, archive) = match split_unescaped_colon(entry)? {
            Some(pair) => pair,
            None => {
                let words: Vec<&str> = entry.split_whitespace().collect();
                let [o, a] = words[..] else {
                    return Err(PatternError::NotOriginArchive(entry.to_string()));
                };
                (o.to_string(), a.to_string())
            }
        };
        let origin = origin.replace("\\:", ":");
        let origin = substitute(&origin, distro)?;
        let archive = substitute(&archive, distro)?;
        Ok(Pattern {
            text: format!("o={origin},a={archive}"),
            conditions: vec![(Field::Origin, origin), (Field::Suite, archive)],
        })
    }

    /// Does unattended-upgrade take packages from `archive` by this pattern?
    /// (An empty pattern matches nothing.)
    pub fn matches(&self, archive: &Archive) -> bool {
        if self.text.trim().is_empty() {
            return false;
        }
        self.conditions.iter().all(|(field, glob)| {
            let value = match field {
                Field::Origin => &archive.origin,
                Field::Label => &archive.label,
                Field::Suite => &archive.suite,
                Field::Component => &archive.component,
                Field::Site => &archive.site,
                Field::Codename => &archive.codename,
            };
            fnmatch(glob, value)
        })
    }
}

/// `ORIGIN:ARCHIVE` split at colons not escaped with a backslash (Python's
/// `re.split(r'(?<!\\):', s)`): None when there is none, an error when
/// there are more than one (unattended-upgrade cannot unpack them).
fn split_unescaped_colon(s: &str) -> Result<Option<(String, String)>, PatternError> {
    let bytes = s.as_bytes();
    let colons: Vec<usize> = (0..bytes.len())
        .filter(|&i| bytes[i] == b':' && (i == 0 || bytes[i - 1] != b'\\'))
        .collect();
    match colons[..] {
        [] => Ok(None),
        [at] => Ok(Some((s[..at].to_string(), s[at + 1..].to_string()))),
        _ => Err(PatternError::NotOriginArchive(s.to_string())),
    }
}

/// Python's `fnmatch.fnmatchcase`: `*`, `?`, `[seq]`, `[!seq]` (a `]` first
/// in the set is literal, ranges with `-`), everything else literal; an
/// unclosed `[` is a literal `[`.
pub fn fnmatch(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> bool {
    // Iterative with one backtrack point for `*` (the classic glob match).
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class(p, pi, n[ni]) {
                        if matched {
                            pi = next;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The set starting at `p[at] == '['`: whether `c` is in it and where the
/// pattern goes on; None when the `[` is not closed (a literal then).
fn class(p: &[char], at: usize, c: char) -> Option<(bool, usize)> {
    let mut i = at + 1;
    let negate = p.get(i) == Some(&'!');
    if negate {
        i += 1;
    }
    let start = i;
    // A `]` right at the start belongs to the set.
    if p.get(i) == Some(&']') {
        i += 1;
    }
    while i < p.len() && p[i] != ']' {
        i += 1;
    }
    if i >= p.len() {
        return None;
    }
    let set = &p[start..i];
    let mut found = false;
    let mut k = 0;
    while k < set.len() {
        if k + 2 < set.len() && set[k + 1] == '-' {
            if set[k] <= c && c <= set[k + 2] {
                found = true;
            }
            k += 3;
        } else {
            if set[k] == c {
                found = true;
            }
            k += 1;
        }
    }
    Some((found != negate, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn debian12() -> Distro {
        Distro {
            id: "Debian".into(),
            codename: "bookworm".into(),
        }
    }

    fn security() -> Archive {
        Archive {
            origin: "Debian".into(),
            label: "Debian-Security".into(),
            suite: "oldstable-security".into(),
            codename: "bookworm-security".into(),
            component: "main".into(),
            site: "deb.debian.org".into(),
        }
    }

    #[test]
    fn debian_default_patterns() {
        let d = debian12();
        let p = Pattern::parse(
            "origin=Debian,codename=${distro_codename}-security,label=Debian-Security",
            &d,
        )
        .expect("parses");
        assert!(p.matches(&security()));
        let p = Pattern::parse("origin=Debian,codename=${distro_codename},label=Debian", &d)
            .expect("parses");
        assert!(!p.matches(&security()));
        let p =
            Pattern::parse_legacy("${distro_id}:${distro_codename}-security", &d).expect("parses");
        assert_eq!(p.text, "o=Debian,a=bookworm-security");
        assert!(
            !p.matches(&security()),
            "a= is the suite, oldstable-security"
        );
        let p = Pattern::parse("o=Debian,a=*-security", &d).expect("parses");
        assert!(p.matches(&security()));
    }

    #[test]
    fn what_stops_unattended_upgrade() {
        let d = debian12();
        assert!(matches!(
            Pattern::parse("origin=Debian,suite", &d),
            Err(PatternError::NotKeyValue(_))
        ));
        assert!(matches!(
            Pattern::parse("org=Debian", &d),
            Err(PatternError::UnknownKey(_))
        ));
        assert!(matches!(
            Pattern::parse("o=${distro}", &d),
            Err(PatternError::BadSubstitution(_))
        ));
        assert!(matches!(
            Pattern::parse("o=a=b", &d),
            Err(PatternError::NotKeyValue(_))
        ));
    }

    #[test]
    fn globs_as_python() {
        assert!(fnmatch("Debian*", "Debian-Security"));
        assert!(fnmatch("*-security", "bookworm-security"));
        assert!(!fnmatch("debian", "Debian"));
        assert!(fnmatch("[!x]y", "ay"));
        assert!(fnmatch("[]]", "]"));
        assert!(fnmatch("a[", "a["));
        assert!(fnmatch("[a-c]?", "bz"));
        assert!(!fnmatch("?", ""));
        assert!(fnmatch("*", ""));
    }
}
