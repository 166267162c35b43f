//! `--fix`: the smallest change that makes every high and critical finding
//! go away. When the main file includes the drop-in directory before any
//! setting of its own, the fix is a drop-in that sorts first
//! (`sshd_config.d/00-hardkit.conf`, first value wins); otherwise the main
//! file is edited: a global line that already sets the option is replaced
//! in place, and new lines go before the first Match block.
//!
//! A Match block is applied on top of the global section for the
//! connections it matches (sshd re-reads the file per connection with only
//! the matching blocks active and copies what they set over the global
//! values), so no global line, wherever it goes, can turn off what a
//! matching block turns back on. Such a line (`sshd/match-reenables`) is
//! rewritten where it is, inside its block, to the global value, with a
//! comment saying what it was ([`rewrite_match_lines`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hardkit_core::{Finding, Severity};

use crate::effective::Reading;

pub const DROP_IN: &str = "/etc/ssh/sshd_config.d/00-hardkit.conf";

/// One file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: PathBuf,
    pub old: Option<Vec<u8>>,
    pub new: Vec<u8>,
}

/// Is this a finding `--fix` repairs: high or critical, with a fix that is
/// a config line (not `ssh-keygen -A`, not "install a key"), and not about
/// the lines themselves (shadowed lines and Match blocks are for a human)?
pub fn fixable(f: &Finding, with_passwords_off: bool) -> bool {
    if f.id == "sshd/match-reenables" {
        return match_rewritable(f, with_passwords_off).is_some();
    }
    let Some(fix) = &f.fix else { return false };
    let keyword = fix.split_whitespace().next().unwrap_or("");
    f.severity >= Severity::High
        && crate::keywords::lookup(keyword, crate::version::Version::NEWEST).is_some()
        && !matches!(
            f.id.as_str(),
            "sshd/shadowed-setting" | "sshd/lockout" | "sshd/no-root-route"
        )
        && (with_passwords_off
            || !matches!(
                f.id.as_str(),
                "sshd/password-authentication" | "sshd/kbd-interactive-authentication"
            ))
}

/// Keys whose Match-block value the lockout guard decides, like the
/// global ones: turning them off is turning passwords off.
const PASSWORD_KEYS: &[&str] = &["passwordauthentication", "kbdinteractiveauthentication"];

/// For a high `sshd/match-reenables` finding `--fix` may repair: the line
/// (file, 1-based line) and the global value to put there.
fn match_rewritable(f: &Finding, with_passwords_off: bool) -> Option<(PathBuf, u64, String)> {
    if f.id != "sshd/match-reenables" || f.severity < Severity::High {
        return None;
    }
    let evidence = f.evidence.as_ref()?;
    let key = evidence.get("key")?.as_str()?;
    let global = evidence.get("global")?.as_str()?;
    if !with_passwords_off && PASSWORD_KEYS.contains(&key) {
        return None;
    }
    let location = f.location.as_ref()?;
    Some((
        location.path.as_path().to_path_buf(),
        location.line?,
        global.to_string(),
    ))
}

/// The config lines (`Keyword value`) that fix the given findings (the
/// Match-block lines are [`rewrite_match_lines`]' part).
pub fn fix_lines(findings: &[Finding], with_passwords_off: bool) -> Vec<String> {
    let mut lines: BTreeMap<String, String> = BTreeMap::new();
    for f in findings
        .iter()
        .filter(|f| f.id != "sshd/match-reenables" && fixable(f, with_passwords_off))
    {
        let Some(fix) = &f.fix else { continue };
        let Some((key, value)) = fix.split_once(' ') else {
            continue;
        };
        // A weak-algorithm fix is a `-list`; merge lists for one keyword.
        match lines.get_mut(key) {
            Some(existing) if value.starts_with('-') && existing.starts_with('-') => {
                existing.push(',');
                existing.push_str(&value[1..]);
            }
            Some(_) => {}
            None => {
                lines.insert(key.to_string(), value.to_string());
            }
        }
    }
    lines.into_iter().map(|(k, v)| format!("{k} {v}")).collect()
}

/// Does the main file include the drop-in directory before its own settings?
pub fn drop_in_applies(reading: &Reading) -> bool {
    let Some(text) = reading.texts.get(&reading.main) else {
        return false;
    };
    for line in String::from_utf8_lossy(text).lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let mut words = t.split_whitespace();
        let kw = words.next().unwrap_or("");
        if !kw.eq_ignore_ascii_case("include") {
            return false;
        }
        if words.any(|w| {
            let p = crate::include::include_pattern(w);
            p.starts_with("/etc/ssh/sshd_config.d/")
                && crate::matching::match_pattern(
                    "00-hardkit.conf",
                    p.trim_start_matches("/etc/ssh/sshd_config.d/"),
                )
        }) {
            return true;
        }
    }
    false
}

/// Plan the change.
pub fn plan(reading: &Reading, lines: &[String]) -> Vec<Change> {
    if lines.is_empty() {
        return Vec::new();
    }
    if drop_in_applies(reading) {
        let path = PathBuf::from(DROP_IN);
        let old = reading.texts.get(&path).cloned();
        let mut body = String::from("# Written by hardkit sshd-lint --fix; sorts first, and sshd keeps the first value it reads.\n");
        // Keep what an earlier run wrote, updated.
        let mut keep: Vec<String> = Vec::new();
        if let Some(o) = &old {
            for l in String::from_utf8_lossy(o).lines() {
                let key = l.split_whitespace().next().unwrap_or("");
                if l.starts_with('#')
                    || l.trim().is_empty()
                    || lines
                        .iter()
                        .any(|n| n.split_whitespace().next() == Some(key))
                {
                    continue;
                }
                keep.push(l.to_string());
            }
        }
        for l in keep.iter().chain(lines.iter()) {
            body.push_str(l);
            body.push('\n');
        }
        return vec![Change {
            path,
            old,
            new: body.into_bytes(),
        }];
    }
    let main = reading.main.clone();
    let old = reading.texts.get(&main).cloned().unwrap_or_default();
    let text = String::from_utf8_lossy(&old).into_owned();
    let mut out: Vec<String> = text.lines().map(str::to_string).collect();
    let mut pending: Vec<String> = Vec::new();
    for l in lines {
        let key = l.split_whitespace().next().unwrap_or("");
        let canon = crate::keywords::lookup(key, reading.version).map(|k| k.canon);
        // The global line of the main file that sets this option (under
        // any alias), if its text is where the record says.
        let existing = reading
            .records
            .iter()
            .find(|r| r.loc.path == main && r.block.is_none() && r.active && Some(r.canon) == canon)
            .map(|r| r.loc.line as usize - 1)
            .filter(|&i| {
                out.get(i).is_some_and(|text| {
                    let first = text
                        .trim_start()
                        .split(|c: char| c.is_whitespace() || c == '=')
                        .next()
                        .unwrap_or("");
                    crate::keywords::lookup(first.trim_matches('"'), reading.version)
                        .map(|k| k.canon)
                        == canon
                })
            });
        match existing {
            Some(i) => out[i] = l.clone(),
            None => pending.push(l.clone()),
        }
    }
    if !pending.is_empty() {
        let first_match = reading
            .blocks
            .iter()
            .filter(|b| b.loc.path == main)
            .map(|b| b.loc.line as usize - 1)
            .min();
        let at = first_match.unwrap_or(out.len()).min(out.len());
        let mut insert = vec!["# Added by hardkit sshd-lint --fix".to_string()];
        insert.extend(pending);
        out.splice(at..at, insert);
    }
    // Keep the file's line endings.
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut new = out.join(eol);
    new.push_str(eol);
    if new.as_bytes() == old.as_slice() {
        return Vec::new();
    }
    vec![Change {
        path: main,
        old: Some(old),
        new: new.into_bytes(),
    }]
}

/// The files (new text) that rewrite every Match-block line re-enabling
/// what the global section turns off, given the reading and findings of the
/// configuration with the global fix already in place (only then do the
/// Match blocks that re-enable a fixed global value show). The line keeps
/// its indentation and keyword spelling and takes the global value; the
/// comment above it keeps the old line for the admin.
pub fn rewrite_match_lines(
    reading: &Reading,
    findings: &[Finding],
    with_passwords_off: bool,
) -> Vec<(PathBuf, Vec<u8>)> {
    let mut by_file: BTreeMap<PathBuf, Vec<(u64, String)>> = BTreeMap::new();
    for f in findings {
        if let Some((path, line, value)) = match_rewritable(f, with_passwords_off) {
            by_file.entry(path).or_default().push((line, value));
        }
    }
    let mut out = Vec::new();
    for (path, mut edits) in by_file {
        let Some(old) = reading.texts.get(&path) else {
            continue;
        };
        let text = String::from_utf8_lossy(old);
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        // Bottom up, so the comment lines added do not move the next edit.
        edits.sort_by_key(|e| std::cmp::Reverse(e.0));
        edits.dedup_by_key(|e| e.0);
        for (line, value) in edits {
            let i = line as usize - 1;
            let Some(current) = lines.get(i) else {
                continue;
            };
            let body = current.trim_start();
            let indent = &current[..current.len() - body.len()];
            let keyword = body
                .split(|c: char| c.is_whitespace() || c == '=')
                .next()
                .unwrap_or("")
                .trim_matches('"');
            if keyword.is_empty() {
                continue;
            }
            let replaced = vec![
                format!("{indent}# hardkit sshd-lint --fix: was {body}"),
                format!("{indent}{keyword} {value}"),
            ];
            lines.splice(i..=i, replaced);
        }
        let mut new = lines.join(eol);
        new.push_str(eol);
        if new.as_bytes() != old.as_slice() {
            out.push((path, new.into_bytes()));
        }
    }
    out
}

/// Put the Match-line rewrites (made on the planned texts) into the plan:
/// a file both steps change is one change from its text on disk.
pub fn merge(
    original: &Reading,
    mut changes: Vec<Change>,
    rewrites: Vec<(PathBuf, Vec<u8>)>,
) -> Vec<Change> {
    for (path, new) in rewrites {
        match changes.iter_mut().find(|c| c.path == path) {
            Some(c) => c.new = new,
            None => changes.push(Change {
                old: original.texts.get(&path).cloned(),
                path,
                new,
            }),
        }
    }
    changes
}

/// A unified diff of one change (whole-file hunk; configs are short).
pub fn diff(change: &Change) -> String {
    let old = change
        .old
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let new = String::from_utf8_lossy(&change.new);
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Longest common subsequence, for a readable diff. Files too large for
    // the quadratic table (configs never are) get a replace-all diff.
    let quadratic = (a.len() + 1).saturating_mul(b.len() + 1) <= 4_000_000;
    let mut lcs = vec![
        vec![0usize; if quadratic { b.len() + 1 } else { 1 }];
        if quadratic { a.len() + 1 } else { 1 }
    ];
    if !quadratic {
        let mut out = format!(
            "--- a{}\n+++ b{}\n@@ -1,{} +1,{} @@\n",
            change.path.display(),
            change.path.display(),
            a.len(),
            b.len()
        );
        for l in &a {
            out.push_str(&format!("-{l}\n"));
        }
        for l in &b {
            out.push_str(&format!("+{l}\n"));
        }
        return out;
    }
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let path = change.path.display();
    let from = if change.old.is_some() {
        format!("a{path}")
    } else {
        "/dev/null".to_string()
    };
    let mut out = format!(
        "--- {from}\n+++ b{path}\n@@ -{},{} +{},{} @@\n",
        usize::from(!a.is_empty()),
        a.len(),
        usize::from(!b.is_empty()),
        b.len()
    );
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!(" {}\n", a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j >= b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("-{}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+{}\n", b[j]));
            j += 1;
        }
    }
    out
}

/// The system path a change writes, for messages.
pub fn describe(change: &Change) -> String {
    Path::new(&change.path).display().to_string()
}
