//! The comparison: a streaming merge of the walk (in baseline order) with
//! the baseline, so memory does not grow with the number of files.

use std::cmp::Ordering;

use crate::baseline::{BaselineError, BaselineReader};
use crate::entry::{entry_fields, path_order, Attr, Change, ChangeKind, Entry};
use crate::rules::{AttrSet, Decision, Rules};
use crate::scan::Outcome;

/// What the merge found for one step; the caller reports it and, for
/// `update`, writes the new baseline from `keep`.
#[derive(Debug, Default)]
pub struct Step {
    pub changes: Vec<Change>,
    /// Entries for the new baseline, in order.
    pub keep: Vec<Entry>,
    /// Per-path problems (path, message).
    pub errors: Vec<(Vec<u8>, String)>,
}

/// Compare one old entry with the new one under `attrs`. `hash_unknown`
/// says the new content hash could not be established (an error record
/// says why), so it is not compared.
pub fn differing_attrs(old: &Entry, new: &Entry, attrs: AttrSet, hash_unknown: bool) -> Vec<Attr> {
    let mut out = Vec::new();
    let grew = attrs.growing && new.size > old.size && old.ftype == new.ftype;
    for attr in Attr::ALL {
        let selected = attrs.contains(attr) || (attr == Attr::Size && attrs.growing);
        if !selected {
            continue;
        }
        if attr == Attr::Blake3 && hash_unknown {
            continue;
        }
        if attrs.growing {
            if attr == Attr::Size && old.ftype == new.ftype {
                if new.size < old.size {
                    out.push(attr);
                }
                continue;
            }
            // A log that grew has a new hash and new times by necessity.
            if grew && matches!(attr, Attr::Blake3 | Attr::Mtime | Attr::Ctime) {
                continue;
            }
        }
        if attr.differs(old, new) {
            out.push(attr);
        }
    }
    out
}

fn change_of(old: &Entry, new: &Entry, attrs: &[Attr]) -> Change {
    let mut old_values = serde_json::Map::new();
    let mut new_values = serde_json::Map::new();
    for attr in attrs {
        old_values.insert(attr.name().to_string(), attr.value_of(old));
        new_values.insert(attr.name().to_string(), attr.value_of(new));
    }
    Change {
        path: new.path.clone(),
        change: ChangeKind::Changed,
        attrs: attrs.iter().map(|a| a.name().to_string()).collect(),
        old: Some(old_values),
        new: Some(new_values),
    }
}

fn added(new: &Entry) -> Change {
    Change {
        path: new.path.clone(),
        change: ChangeKind::Added,
        attrs: Vec::new(),
        old: None,
        new: Some(entry_fields(new)),
    }
}

fn removed(old: &Entry) -> Change {
    Change {
        path: old.path.clone(),
        change: ChangeKind::Removed,
        attrs: Vec::new(),
        old: Some(entry_fields(old)),
        new: None,
    }
}

/// The merge state: the baseline's next entry, waiting for its match.
pub struct Merger<'a> {
    baseline: &'a mut BaselineReader,
    rules: &'a Rules,
    pending: Option<Entry>,
}

fn is_below(dir: &[u8], path: &[u8]) -> bool {
    let dir = dir.strip_suffix(b"/").unwrap_or(dir);
    path.len() > dir.len() && path.starts_with(dir) && path[dir.len()] == b'/'
}

impl<'a> Merger<'a> {
    pub fn new(baseline: &'a mut BaselineReader, rules: &'a Rules) -> Merger<'a> {
        Merger {
            baseline,
            rules,
            pending: None,
        }
    }

    fn peek(&mut self) -> Result<Option<&Entry>, BaselineError> {
        if self.pending.is_none() {
            self.pending = self.baseline.next_entry()?;
        }
        Ok(self.pending.as_ref())
    }

    fn take(&mut self) -> Option<Entry> {
        self.pending.take()
    }

    /// An old entry with no counterpart: removed, unless the rules no
    /// longer select it (then it is simply out of scope).
    fn gone(&self, old: &Entry, step: &mut Step) {
        if matches!(
            self.rules.decide(old.path.as_bytes()),
            Decision::Selected(_)
        ) {
            step.changes.push(removed(old));
        }
    }

    /// Report old entries that sort before `path`.
    fn flush_before(&mut self, path: &[u8], step: &mut Step) -> Result<(), BaselineError> {
        while let Some(old) = self.peek()? {
            if path_order(old.path.as_bytes(), path) != Ordering::Less {
                break;
            }
            if let Some(old) = self.take() {
                self.gone(&old, step);
            }
        }
        Ok(())
    }

    /// Merge one walk outcome.
    pub fn push(&mut self, outcome: Outcome) -> Result<Step, BaselineError> {
        let mut step = Step::default();
        match outcome {
            Outcome::Entry { entry, error } => {
                let path = entry.path.as_bytes().to_vec();
                self.flush_before(&path, &mut step)?;
                let same = self
                    .peek()?
                    .is_some_and(|old| old.path.as_bytes() == path.as_slice());
                if same {
                    if let Some(old) = self.take() {
                        let attrs = match self.rules.decide(&path) {
                            Decision::Selected(attrs) => attrs,
                            _ => AttrSet::default(),
                        };
                        let diff = differing_attrs(&old, &entry, attrs, error.is_some());
                        if !diff.is_empty() {
                            step.changes.push(change_of(&old, &entry, &diff));
                        }
                    }
                } else {
                    step.changes.push(added(&entry));
                }
                if let Some(message) = error {
                    step.errors.push((path, message));
                }
                step.keep.push(entry);
            }
            Outcome::Failed {
                system,
                message,
                itself,
                subtree,
            } => {
                self.flush_before(&system, &mut step)?;
                // What could not be examined is not reported as removed;
                // the new baseline keeps what the old one knew of it.
                if itself {
                    let same = self
                        .peek()?
                        .is_some_and(|old| old.path.as_bytes() == system.as_slice());
                    if same {
                        step.keep.extend(self.take());
                    }
                }
                if subtree {
                    while self
                        .peek()?
                        .is_some_and(|old| is_below(&system, old.path.as_bytes()))
                    {
                        step.keep.extend(self.take());
                    }
                }
                step.errors.push((system, message));
            }
        }
        Ok(step)
    }

    /// The walk is over: every old entry left was removed.
    pub fn finish(&mut self) -> Result<Step, BaselineError> {
        let mut step = Step::default();
        while let Some(old) = {
            self.peek()?;
            self.take()
        } {
            self.gone(&old, &mut step);
        }
        Ok(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{FileKind, Xattrs};

    fn entry(size: u64, hash: &str) -> Entry {
        Entry {
            path: "/var/log/app.log".into(),
            ftype: FileKind::File,
            mode: "0640".into(),
            uid: 0,
            gid: 4,
            size,
            mtime: format!("t{size}"),
            ctime: format!("t{size}"),
            inode: 7,
            nlink: 1,
            target: None,
            blake3: Some(hash.into()),
            xattrs: Xattrs::default(),
        }
    }

    #[test]
    fn growing_allows_growth_but_not_shrinking() {
        let rules = Rules::parse("/var/log log+blake3\n", "t").unwrap();
        let Decision::Selected(attrs) = rules.decide(b"/var/log/app.log") else {
            panic!()
        };
        assert!(differing_attrs(&entry(10, "a"), &entry(20, "b"), attrs, false).is_empty());
        assert_eq!(
            differing_attrs(&entry(20, "a"), &entry(10, "b"), attrs, false),
            vec![Attr::Size, Attr::Blake3]
        );
        // Same size, other content: a rewrite, not growth.
        assert_eq!(
            differing_attrs(&entry(10, "a"), &entry(10, "b"), attrs, false),
            vec![Attr::Blake3]
        );
    }

    fn baseline_of(dir: &std::path::Path, paths: &[&str]) -> BaselineReader {
        use crate::baseline::{BaselineWriter, Header};
        let db = dir.join("fim.db");
        let header = Header {
            format: crate::baseline::FORMAT.into(),
            version: crate::baseline::VERSION,
            created: "t".into(),
            protection: crate::baseline::UNKEYED.into(),
            paths: vec!["/d".into()],
            rules: "/d all\n".into(),
            one_filesystem: false,
            generation: 0,
        };
        let mut w = BaselineWriter::create(&db, &header, None).unwrap();
        for p in paths {
            let mut e = entry(1, "h");
            e.path = (*p).into();
            w.push(&e).unwrap();
        }
        w.finish().unwrap();
        BaselineReader::open(&db, None).unwrap()
    }

    fn walked(path: &str) -> Outcome {
        let mut e = entry(1, "h");
        e.path = path.into();
        Outcome::Entry {
            entry: e,
            error: None,
        }
    }

    #[test]
    fn merge_reports_added_removed_and_skips_what_could_not_be_examined() {
        let tmp = tempfile::tempdir().unwrap();
        let mut reader = baseline_of(
            tmp.path(),
            &[
                "/d",
                "/d/a",
                "/d/a/x",
                "/d/a.b",
                "/d/gone",
                "/d/locked",
                "/d/locked/y",
                "/d/vanished",
                "/d/z",
            ],
        );
        let rules = Rules::parse("/d all\n", "t").unwrap();
        let mut merger = Merger::new(&mut reader, &rules);
        let mut changes = Vec::new();
        let mut kept = Vec::new();
        let mut errors = 0;
        let outcomes = vec![
            walked("/d"),
            walked("/d/a"),
            walked("/d/a/new"),
            walked("/d/a/x"),
            walked("/d/a.b"),
            walked("/d/locked"),
            Outcome::Failed {
                system: b"/d/locked".to_vec(),
                message: "Permission denied".into(),
                itself: false,
                subtree: true,
            },
            Outcome::Failed {
                system: b"/d/vanished".to_vec(),
                message: "vanished during scan".into(),
                itself: true,
                subtree: false,
            },
        ];
        for outcome in outcomes {
            let step = merger.push(outcome).unwrap();
            errors += step.errors.len();
            changes.extend(step.changes);
            kept.extend(step.keep);
        }
        let step = merger.finish().unwrap();
        changes.extend(step.changes);
        let summary: Vec<(String, ChangeKind)> = changes
            .iter()
            .map(|c| (c.path.as_path().display().to_string(), c.change))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("/d/a/new".to_string(), ChangeKind::Added),
                ("/d/gone".to_string(), ChangeKind::Removed),
                ("/d/z".to_string(), ChangeKind::Removed),
            ]
        );
        assert_eq!(errors, 2);
        // update keeps the old entries of what could not be examined.
        let kept: Vec<String> = kept
            .iter()
            .map(|e| e.path.as_path().display().to_string())
            .collect();
        assert!(
            kept.contains(&"/d/locked/y".to_string()) && kept.contains(&"/d/vanished".to_string())
        );
    }

    #[test]
    fn unknown_hash_is_not_compared() {
        let attrs = AttrSet::all();
        let mut new = entry(10, "b");
        new.blake3 = None;
        assert!(differing_attrs(&entry(10, "a"), &new, attrs, true).is_empty());
        assert_eq!(
            differing_attrs(&entry(10, "a"), &new, attrs, false),
            vec![Attr::Blake3]
        );
    }
}
