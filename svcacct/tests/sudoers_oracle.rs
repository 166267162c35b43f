//! svcacct's reading of sudoers against sudo itself: for a tree's sudoers
//! files and accounts, `sudo -ll -U USER` (run in a private mount namespace
//! where the tree's /etc/sudoers, sudoers.d, passwd and group are bound over
//! the host's; the host's files are never touched) must list exactly the
//! commands svcacct finds granted to USER, with the same NOPASSWD.

use std::fs;
use std::path::Path;
use std::process::Command;

use hardkit_core::oracle::{not_run, oracle, require_root};
use hardkit_core::Root;
use svcacct::accounts::Accounts;
use svcacct::sudoers::Sudoers;

const USER: &str = "bot";

/// Sudoers files (path, text) and the extra groups `bot` is in.
type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>);

/// (command, nopasswd) as sudo -ll lists them; None when no namespace could be made.
fn sudo_list(sudo: &Path, root: &Path) -> Option<Vec<(String, bool)>> {
    let script = "for f in sudoers sudoers.d passwd group; do mount --bind \"$1/etc/$f\" \"/etc/$f\" || exit 125; done; exec \"$2\" -ll -U \"$3\"";
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(root)
        .arg(sudo)
        .arg(USER)
        .output()
        .unwrap();
    if out.status.code() == Some(125)
        || String::from_utf8_lossy(&out.stderr).starts_with("unshare:")
    {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut list = Vec::new();
    let mut nopasswd = false;
    let mut in_commands = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if line.starts_with("Sudoers entry") {
            nopasswd = false;
            in_commands = false;
        } else if let Some(options) = trimmed.strip_prefix("Options:") {
            nopasswd = options.split(',').any(|o| o.trim() == "!authenticate");
        } else if trimmed == "Commands:" {
            in_commands = true;
        } else if in_commands && line.starts_with('\t') {
            // Negations restrict nothing once ALL is granted; svcacct skips them.
            if !trimmed.starts_with('!') {
                list.push((trimmed.to_string(), nopasswd));
            }
        } else if !line.starts_with('\t') {
            in_commands = false;
        }
    }
    Some(list)
}

fn ours(root: &Path) -> Vec<(String, bool)> {
    let root = Root::new(root).unwrap();
    let accounts = Accounts::load(&root).unwrap();
    let user = accounts.user(USER).unwrap();
    Sudoers::load(&root)
        .granted_to(user, &accounts)
        .into_iter()
        .map(|g| {
            (
                g.command.split_whitespace().collect::<Vec<_>>().join(" "),
                g.nopasswd,
            )
        })
        .collect()
}

/// A tree with the host's accounts plus `bot` (in `extra_groups`) and the given sudoers files.
fn tree(files: &[(&str, &str)], extra_groups: &[&str]) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let etc = t.path().join("etc");
    fs::create_dir_all(etc.join("sudoers.d")).unwrap();
    let mut passwd = fs::read_to_string("/etc/passwd").unwrap();
    passwd.push_str(&format!(
        "{USER}:x:940:940::/nonexistent:/usr/sbin/nologin\n"
    ));
    fs::write(etc.join("passwd"), passwd).unwrap();
    let mut group = fs::read_to_string("/etc/group").unwrap();
    group.push_str(&format!("{USER}:x:940:\n"));
    for (i, g) in extra_groups.iter().enumerate() {
        group.push_str(&format!("{g}:x:{}:{USER}\n", 930 + i));
    }
    fs::write(etc.join("group"), group).unwrap();
    for (path, text) in files {
        let host = t.path().join(path.trim_start_matches('/'));
        fs::create_dir_all(host.parent().unwrap()).unwrap();
        fs::write(&host, text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&host, fs::Permissions::from_mode(0o440)).unwrap();
    }
    t
}

#[test]
fn granted_commands_match_sudo_itself() {
    let Some(sudo) = oracle("svcacct::granted_commands_match_sudo_itself", "sudo") else {
        return;
    };
    if !require_root("svcacct::granted_commands_match_sudo_itself") {
        return;
    }
    let cases: Vec<Case> = vec![
        // Aliases, a continuation line, and a dotted file sudo skips.
        (
            vec![
                ("/etc/sudoers", "Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n"),
                (
                    "/etc/sudoers.d/bot",
                    "Cmnd_Alias EDIT = /usr/bin/vim /etc/bot.conf\nbot ALL=(root) NOPASSWD: /bin/bash, EDIT, \\\n    /usr/bin/systemctl restart *, /usr/bin/systemctl\n",
                ),
                ("/etc/sudoers.d/bot.conf", "bot ALL=(ALL) NOPASSWD: ALL\n"),
            ],
            vec![],
        ),
        // Groups (supplementary and primary), User_Alias, #uid, ALL users.
        (
            vec![(
                "/etc/sudoers",
                "User_Alias BOTS = alice, bot\n%robots ALL=(ALL) /usr/bin/apt-get update\n%bot ALL=(root) NOPASSWD: /usr/bin/uptime \"\"\nBOTS ALL=(root) /usr/bin/journalctl -u bot.service\n#940 ALL=(root) NOPASSWD: /usr/bin/id\nALL ALL=(root) /usr/bin/who\n%nosuch ALL=(ALL) ALL\n",
            )],
            vec!["robots"],
        ),
        // Old-style includes, a relative @include, ALL with a negation.
        (
            vec![
                // (the relative path is from /etc; only /etc/sudoers and
                // /etc/sudoers.d are bound into sudo's namespace)
                ("/etc/sudoers", "#includedir /etc/sudoers.d\n@include sudoers.d/sub/extra\n"),
                ("/etc/sudoers.d/10-bot", "bot ALL=(ALL:ALL) ALL, !/bin/su\n"),
                ("/etc/sudoers.d/sub/extra", "bot ALL=(root) NOPASSWD: /usr/bin/systemctl restart bot.service\n"),
            ],
            vec![],
        ),
        // Tags change within a rule and carry over to the next commands.
        (
            vec![(
                "/etc/sudoers",
                "bot ALL=(root) NOPASSWD: /usr/bin/a, /usr/bin/b, PASSWD: /usr/bin/c, /usr/bin/d\nbot ALL=(root, www-data : bot) /usr/bin/e, (www-data) NOPASSWD: /usr/bin/f\nbot ALL = /usr/bin/g : ALL = (root) /usr/bin/h\n",
            )],
            vec![],
        ),
    ];
    for (i, (files, groups)) in cases.iter().enumerate() {
        let t = tree(files, groups);
        let Some(theirs) = sudo_list(&sudo, t.path()) else {
            not_run(
                "svcacct::granted_commands_match_sudo_itself",
                "no private mount namespace (unshare --mount) on this machine",
            );
            return;
        };
        assert!(!theirs.is_empty(), "case {i}: sudo listed nothing");
        assert_eq!(ours(t.path()), theirs, "case {i}");
    }
}
