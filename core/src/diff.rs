//! `--diff`: the unified diff of a file's old and new text, as `diff -u`
//! prints it (three lines of context, `---`/`+++` headers), for every tool
//! that shows what it would change. The `similar` crate computes it.

/// The unified diff from `old` to `new`, both headers naming `path`; empty
/// when the texts are equal.
pub fn unified(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(path, path)
        .to_string()
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
        let Some(diff) = crate::oracle::oracle("core::diff::matches_diff_u", "diff") else {
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
