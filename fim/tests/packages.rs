//! `fim verify-packages` against the package manager's own verifiers,
//! `dpkg --verify` and `debsums -ca`, on writable copies of the cached
//! Debian 12 and 13 roots, after the changes an intruder (or an admin)
//! makes: a program rewritten, a program deleted, a program replaced by a
//! symlink, a conffile edited, a directory of a package removed. Every
//! path either tool reports, fim reports, and no other.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use common::*;

fn fim_paths(root: &Path) -> (BTreeSet<String>, BTreeSet<String>, Vec<serde_json::Value>) {
    let r = run([
        "verify-packages".as_ref(),
        "--json".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
    ]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    let mut all = BTreeSet::new();
    let mut changed = BTreeSet::new();
    let mut findings = Vec::new();
    for line in r.stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        match v["type"].as_str() {
            Some("change") => {
                let p = v["path"].as_str().unwrap().to_string();
                // Content changed, or replaced (debsums follows a symlink
                // put in its place, and finds other content).
                if v["change"] == "changed" {
                    changed.insert(p.clone());
                }
                all.insert(p);
            }
            Some("finding") => findings.push(v),
            _ => {}
        }
    }
    (all, changed, findings)
}

#[test]
fn verify_packages_agrees_with_dpkg_verify_and_debsums() {
    const TEST: &str = "fim verify-packages against dpkg --verify and debsums";
    let Some(dpkg) = hardkit_core::oracle::oracle(TEST, "dpkg") else {
        return;
    };
    let Some(debsums) = hardkit_core::oracle::oracle(TEST, "debsums") else {
        return;
    };
    for suite in ["bookworm", "trixie"] {
        let Some((_keep, root)) =
            hardkit_core::oracle::debian_root_copy(&format!("{TEST}: {suite}"), suite)
        else {
            continue;
        };
        // Before any change: all three see nothing.
        let (clean, _, _) = fim_paths(&root);
        assert!(clean.is_empty(), "{suite}: a fresh root differs: {clean:?}");

        // What an intruder does, and an admin.
        let usr_bin = |n: &str| root.join("usr/bin").join(n);
        let mut ls = fs::read(usr_bin("ls")).unwrap();
        ls.extend_from_slice(b"\0backdoor");
        fs::write(usr_bin("ls"), ls).unwrap();
        fs::remove_file(usr_bin("who")).unwrap();
        fs::remove_file(usr_bin("id")).unwrap();
        std::os::unix::fs::symlink("ls", usr_bin("id")).unwrap();
        let sudoers = root.join("etc/sudoers");
        let mut text = fs::read_to_string(&sudoers).unwrap();
        text.push_str("mallory ALL=(ALL) NOPASSWD: ALL\n");
        fs::write(&sudoers, text).unwrap();
        fs::remove_dir_all(root.join("usr/share/doc/sudo")).unwrap();

        let (fim, fim_changed, findings) = fim_paths(&root);
        let dpkg_out = Command::new(&dpkg)
            .arg(format!("--root={}", root.display()))
            .arg("--verify")
            .output()
            .unwrap();
        let dpkg_paths: BTreeSet<String> = String::from_utf8_lossy(&dpkg_out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().last().map(str::to_string))
            .collect();
        assert_eq!(fim, dpkg_paths, "{suite}: fim and dpkg --verify");
        // (Debian 12's coreutils installs ls as /bin/ls, reached through
        // the merged /usr; 13's as /usr/bin/ls.)
        let ls_path = if fim.contains("/bin/ls") {
            "/bin/ls"
        } else {
            "/usr/bin/ls"
        };
        for p in [ls_path, "/usr/bin/who", "/usr/bin/id", "/etc/sudoers"] {
            assert!(fim.contains(p), "{suite}: {p} not reported: {fim:?}");
        }
        // debsums -ca names the files whose content changed (the missing
        // ones go to stderr): the same as fim's changed and replaced files.
        let deb = Command::new(&debsums)
            .arg(format!("--root={}", root.display()))
            .args(["-c", "-a"])
            .output()
            .unwrap();
        let deb_paths: BTreeSet<String> = String::from_utf8_lossy(&deb.stdout)
            .lines()
            .map(|l| {
                let rel = l.trim().trim_start_matches(&*root.display().to_string());
                format!("/{}", rel.trim_start_matches('/'))
            })
            .collect();
        assert_eq!(fim_changed, deb_paths, "{suite}: fim and debsums -ca");

        // Severities: the rewritten program is high, the admin's conffile
        // edit info, the documentation info.
        let severity = |path: &str| -> String {
            findings
                .iter()
                .find(|f| f["location"]["path"] == path)
                .map(|f| f["severity"].as_str().unwrap().to_string())
                .unwrap_or_default()
        };
        assert_eq!(severity(ls_path), "high", "{suite}");
        assert_eq!(severity("/usr/bin/id"), "high", "{suite}");
        assert_eq!(severity("/etc/sudoers"), "info", "{suite}");
        assert_eq!(severity("/usr/share/doc/sudo/copyright"), "info", "{suite}");
        eprintln!(
            "{suite}: fim verify-packages reports {} paths, dpkg --verify {}, agreeing; {} changed files, as debsums -ca",
            fim.len(),
            dpkg_paths.len(),
            fim_changed.len()
        );
    }
}
