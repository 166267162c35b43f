//! The human report of `check`: a short incident summary, counts first,
//! then the paths grouped by kind of change; nothing at all when nothing
//! changed, so cron only mails when there is something to read.

use hardkit_core::bytes_path::display_path;
use hardkit_core::output::Palette;
use hardkit_core::BytesPath;

use crate::entry::{Change, ChangeKind};

/// Paths listed per group; past this the report says how many more (the
/// JSON stream always has every change).
const LISTED_PER_GROUP: usize = 2_000;

#[derive(Debug, Default)]
pub struct IncidentReport {
    changed: Vec<(BytesPath, Vec<String>)>,
    added: Vec<BytesPath>,
    removed: Vec<BytesPath>,
    counts: [u64; 3],
}

impl IncidentReport {
    pub fn record(&mut self, change: &Change) {
        match change.change {
            ChangeKind::Changed => {
                self.counts[0] += 1;
                if self.changed.len() < LISTED_PER_GROUP {
                    self.changed
                        .push((change.path.clone(), change.attrs.clone()));
                }
            }
            ChangeKind::Added => {
                self.counts[1] += 1;
                if self.added.len() < LISTED_PER_GROUP {
                    self.added.push(change.path.clone());
                }
            }
            ChangeKind::Removed => {
                self.counts[2] += 1;
                if self.removed.len() < LISTED_PER_GROUP {
                    self.removed.push(change.path.clone());
                }
            }
        }
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The report text; empty when nothing changed.
    pub fn render(&self, baseline_created: &str, protected: bool, palette: Palette) -> String {
        let total = self.total();
        if total == 0 {
            return String::new();
        }
        let [changed, added, removed] = self.counts;
        let mut out = format!(
            "{}\n",
            palette.bold(&format!(
                "fim: {total} {} since the baseline of {baseline_created}: {changed} changed, {added} added, {removed} removed",
                if total == 1 { "change" } else { "changes" }
            ))
        );
        if !protected {
            out.push_str(&palette.bad(
                "warning: the baseline is not protected by a key (--key): whoever made these changes could have rewritten it too",
            ));
            out.push('\n');
        }
        let width = self
            .changed
            .iter()
            .map(|(p, _)| display_path(p.as_path()).chars().count())
            .max()
            .unwrap_or(0)
            .min(60);
        if changed > 0 {
            out.push_str(&format!("changed ({changed}):\n"));
            for (path, attrs) in &self.changed {
                out.push_str(&format!(
                    "  {:<width$}  {}\n",
                    display_path(path.as_path()),
                    attrs.join(" ")
                ));
            }
            more(&mut out, changed, self.changed.len());
        }
        for (name, count, paths) in [
            ("added", added, &self.added),
            ("removed", removed, &self.removed),
        ] {
            if count > 0 {
                out.push_str(&format!("{name} ({count}):\n"));
                for path in paths {
                    out.push_str(&format!("  {}\n", display_path(path.as_path())));
                }
                more(&mut out, count, paths.len());
            }
        }
        out
    }
}

fn more(out: &mut String, count: u64, listed: usize) {
    if count > listed as u64 {
        out.push_str(&format!(
            "  ... and {} more (fim check --json lists every one)\n",
            count - listed as u64
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, kind: ChangeKind, attrs: &[&str]) -> Change {
        Change {
            path: path.into(),
            change: kind,
            attrs: attrs.iter().map(|s| s.to_string()).collect(),
            old: None,
            new: None,
        }
    }

    #[test]
    fn quiet_when_clean_counts_first_and_grouped() {
        let plain = Palette { enabled: false };
        let mut r = IncidentReport::default();
        assert_eq!(r.render("T", false, plain), "");
        r.record(&change(
            "/etc/passwd",
            ChangeKind::Changed,
            &["blake3", "ctime"],
        ));
        r.record(&change("/etc/cron.d/x\u{1b}[2J", ChangeKind::Added, &[]));
        let text = r.render("T", false, plain);
        assert!(
            text.starts_with(
                "fim: 2 changes since the baseline of T: 1 changed, 1 added, 0 removed\n"
            ),
            "{text}"
        );
        assert!(text.contains("not protected"), "{text}");
        assert!(text.contains("  /etc/passwd  blake3 ctime\n"), "{text}");
        assert!(
            text.contains("added (1):\n  /etc/cron.d/x\\x1b[2J\n"),
            "{text}"
        );
        assert!(!r.render("T", true, plain).contains("not protected"));
    }
}
