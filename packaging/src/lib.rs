//! The hardkit Debian package. This crate has no code: its Cargo.toml holds
//! the `[package.metadata.deb]` that `scripts/package` hands to cargo-deb
//! (docs/packaging.md). The tests keep that list of assets in step with the
//! workspace, so a new tool cannot be left out of the package.

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::{Path, PathBuf};

    fn workspace() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("packaging/ is inside the workspace")
            .to_path_buf()
    }

    fn manifest() -> String {
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .expect("packaging/Cargo.toml")
    }

    /// The tools: every workspace crate with a `[[bin]]` (xtask is the
    /// build helper, not a tool).
    fn tools() -> Vec<String> {
        let mut tools = Vec::new();
        for entry in fs::read_dir(workspace()).expect("the workspace directory") {
            let dir = entry.expect("a directory entry").path();
            let Ok(text) = fs::read_to_string(dir.join("Cargo.toml")) else {
                continue;
            };
            if dir.ends_with("xtask") || dir.ends_with("packaging") {
                continue;
            }
            let mut lines = text.lines();
            while let Some(line) = lines.next() {
                if line.trim() == "[[bin]]" {
                    let name = lines
                        .next()
                        .and_then(|l| l.trim().strip_prefix("name = "))
                        .map(|n| n.trim_matches('"').to_string())
                        .expect("a [[bin]] starts with its name");
                    tools.push(name);
                }
            }
        }
        tools.sort();
        tools
    }

    #[test]
    fn the_eight_tools_and_the_scripts_writer_are_found() {
        assert_eq!(
            tools(),
            [
                "aistack",
                "fim",
                "fwplan",
                "hardkit-write",
                "jailgen",
                "logscan",
                "secupdates",
                "sshd-lint",
                "svcacct"
            ]
        );
    }

    #[test]
    fn every_tool_is_packaged_with_its_bash_completion() {
        let manifest = manifest();
        for tool in tools() {
            let binary = format!("[\"target/release/{tool}\", \"usr/bin/\", \"755\"]");
            assert!(manifest.contains(&binary), "no asset {binary}");
            let completion = format!(
                "[\"target/release/hardkit-deb/completions/bash/{tool}.bash\", \
                 \"usr/share/bash-completion/completions/{tool}\", \"644\"]"
            );
            assert!(manifest.contains(&completion), "no asset {completion}");
        }
    }

    #[test]
    fn every_script_asset_exists() {
        // The assets outside target/ are files of this checkout.
        let manifest = manifest();
        let mut checked = 0;
        for source in manifest.split('"').filter(|s| s.starts_with("../")) {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(source);
            let pattern = path.to_str().expect("a UTF-8 path");
            let found = if pattern.contains('*') {
                // A glob: its directory (the part before the first '*').
                let dir = &pattern[..pattern.find('*').expect("a '*'")];
                Path::new(dir).is_dir()
            } else {
                path.is_file()
            };
            assert!(found, "asset {source} is not in the checkout");
            checked += 1;
        }
        assert!(checked >= 5, "only {checked} assets outside target/");
    }

    #[test]
    fn the_whole_demo_tree_is_packaged() {
        // first-five --demo reads the tree: each of its top-level entries
        // is an asset (a file, or a directory's glob).
        let manifest = manifest();
        let demo = workspace().join("examples/compromised-agent-host");
        let mut entries = 0;
        for entry in fs::read_dir(&demo).expect("examples/compromised-agent-host") {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            let source = if path.is_dir() {
                format!("\"../examples/compromised-agent-host/{name}/**/*\"")
            } else {
                format!("[\"../examples/compromised-agent-host/{name}\"")
            };
            assert!(manifest.contains(&source), "no asset for the demo's {name}");
            entries += 1;
        }
        assert!(entries >= 5, "only {entries} entries in the demo tree");
    }
}
