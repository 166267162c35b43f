//! `--diff`: a unified diff of a file's old and new text, as `diff -u`
//! prints it, for the small files jailgen writes (a longest common
//! subsequence over lines; quadratic, fine for a few hundred lines).

use std::fmt::Write;

const CONTEXT: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Del,
    Add,
}

/// The unified diff from `old` to `new` with `---`/`+++` headers naming
/// `path`; empty when the texts are equal.
pub fn unified(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let ops = edit_script(&a, &b);
    let mut out = String::new();
    let _ = writeln!(out, "--- {path}");
    let _ = writeln!(out, "+++ {path}");
    // Positions (in a and b) at each step of the script.
    let mut steps = Vec::with_capacity(ops.len());
    let (mut i, mut j) = (0usize, 0usize);
    for op in &ops {
        steps.push((*op, i, j));
        match op {
            Op::Same => {
                i += 1;
                j += 1;
            }
            Op::Del => i += 1,
            Op::Add => j += 1,
        }
    }
    let changed: Vec<usize> = (0..steps.len())
        .filter(|&k| steps[k].0 != Op::Same)
        .collect();
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(CONTEXT);
        let mut end = changed[k];
        while k + 1 < changed.len() && changed[k + 1] <= end + 2 * CONTEXT + 1 {
            k += 1;
            end = changed[k];
        }
        let end = (end + CONTEXT + 1).min(steps.len());
        let hunk = &steps[start..end];
        let (a_start, b_start) = (hunk[0].1, hunk[0].2);
        let a_len = hunk.iter().filter(|s| s.0 != Op::Add).count();
        let b_len = hunk.iter().filter(|s| s.0 != Op::Del).count();
        let _ = writeln!(
            out,
            "@@ -{},{} +{},{} @@",
            if a_len == 0 { a_start } else { a_start + 1 },
            a_len,
            if b_len == 0 { b_start } else { b_start + 1 },
            b_len
        );
        for (op, i, j) in hunk {
            let _ = match op {
                Op::Same => writeln!(out, " {}", a[*i]),
                Op::Del => writeln!(out, "-{}", a[*i]),
                Op::Add => writeln!(out, "+{}", b[*j]),
            };
        }
        k += 1;
    }
    out
}

/// Beyond this many line pairs the table would be too large: the diff then
/// replaces the whole file (still correct, only less minimal).
const MAX_CELLS: usize = 4_000_000;

fn edit_script(a: &[&str], b: &[&str]) -> Vec<Op> {
    if (a.len() + 1).saturating_mul(b.len() + 1) > MAX_CELLS {
        let mut ops = vec![Op::Del; a.len()];
        ops.extend(std::iter::repeat_n(Op::Add, b.len()));
        return ops;
    }
    // lcs[i][j]: length of the LCS of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut ops = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push(Op::Same);
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Deletions first on a tie, as diff -u prints them.
            ops.push(Op::Del);
            i += 1;
        } else {
            ops.push(Op::Add);
            j += 1;
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_give_nothing() {
        assert_eq!(unified("/f", "a\nb\n", "a\nb\n"), "");
    }

    #[test]
    fn one_changed_line_with_context() {
        let old = "1\n2\n3\n4\nport = 22\n6\n7\n8\n9\n";
        let new = "1\n2\n3\n4\nport = 2222\n6\n7\n8\n9\n";
        assert_eq!(
            unified("/etc/x", old, new),
            "--- /etc/x\n+++ /etc/x\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-port = 22\n+port = 2222\n 6\n 7\n 8\n"
        );
    }

    #[test]
    fn new_file_is_all_additions() {
        assert_eq!(
            unified("/etc/x", "", "a\nb\n"),
            "--- /etc/x\n+++ /etc/x\n@@ -0,0 +1,2 @@\n+a\n+b\n"
        );
    }

    #[test]
    fn huge_files_are_replaced_whole() {
        let old: String = (0..3000).map(|n| format!("{n}\n")).collect();
        let new: String = (0..3000).map(|n| format!("x{n}\n")).collect();
        let d = unified("/f", &old, &new);
        assert!(
            d.starts_with("--- /f\n+++ /f\n@@ -1,3000 +1,3000 @@\n-0\n"),
            "{}",
            &d[..40]
        );
    }

    #[test]
    fn matches_diff_u_when_installed() {
        let Some(diff) = hardkit_core::oracle::oracle("jailgen::diff::matches_diff_u", "diff")
        else {
            return;
        };
        let tmp = tempfile::tempdir().unwrap();
        let old: String = (1..40).map(|n| format!("line {n}\n")).collect();
        let new = old
            .replace("line 3\n", "line three\n")
            .replace("line 20\n", "")
            .replace("line 30\n", "line 30\nextra\n");
        std::fs::write(tmp.path().join("a"), &old).unwrap();
        std::fs::write(tmp.path().join("b"), &new).unwrap();
        let out = std::process::Command::new(diff)
            .args(["-u", "--label", "/f", "--label", "/f", "a", "b"])
            .current_dir(tmp.path())
            .output()
            .unwrap();
        assert_eq!(
            unified("/f", &old, &new),
            String::from_utf8(out.stdout).unwrap()
        );
    }
}
