//! The lockout guard: before passwords go, prove that someone can still
//! log in with a key. An account counts when it has a login shell, is not
//! locked, passes AllowUsers/DenyUsers/AllowGroups/DenyGroups and
//! PermitRootLogin, and has a non-empty authorized_keys file at the
//! effective AuthorizedKeysFile (`%h`, `%u`, `%U`, `%%` expanded), all judged
//! under `--root` with the options in force for that user (Match User/Group).
//!
//! A key login is only a way back in if it leads to root: [`root_routes`]
//! keeps the accounts that can then become root (uid 0, a sudo/wheel/admin
//! member, or a sudoers rule granting ALL), read from the tree's own files
//! by the code svcacct uses for its sudo findings.

use crate::accounts::{Accounts, User};
use crate::effective::{Reading, Store};
use crate::include::Loader;
use crate::matching::{match_pattern_list, Context, GroupLookup};

/// Why an account can or cannot log in with a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub user: String,
    pub ok: bool,
    pub reason: String,
}

const NO_LOGIN_SHELLS: &[&str] = &[
    "/usr/sbin/nologin",
    "/sbin/nologin",
    "/bin/false",
    "/usr/bin/false",
    "/bin/sync",
    "",
];

/// `%h`, `%u`, `%U`, `%%` in an AuthorizedKeysFile entry; relative paths are
/// taken from the home directory, as sshd does.
pub fn expand_tokens(pattern: &str, user: &User) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('h') => out.push_str(&user.home),
            Some('u') => out.push_str(&user.name),
            Some('U') => out.push_str(&user.uid.to_string()),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    if out.starts_with('/') {
        out
    } else {
        format!("{}/{}", user.home.trim_end_matches('/'), out)
    }
}

fn user_patterns_allow(store: &Store, key: &str, user: &str) -> Option<bool> {
    let s = store.get(key)?;
    // `user@host` patterns: the user part decides here (hosts are unknown).
    Some(s.items.iter().any(|i| {
        let u = i.value.split('@').next().unwrap_or("");
        match_pattern_list(user, u, false) == 1
    }))
}

fn group_patterns_hit(store: &Store, key: &str, groups: &[String]) -> Option<bool> {
    let s = store.get(key)?;
    Some(s.items.iter().any(|i| {
        groups
            .iter()
            .any(|g| match_pattern_list(g, &i.value, false) == 1)
    }))
}

fn has_key_lines(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    })
}

/// Judge every account under the root.
pub fn check(reading: &Reading, loader: &mut Loader, accounts: &Accounts) -> Vec<Verdict> {
    let mut out = Vec::new();
    for user in &accounts.users {
        let verdict = |ok: bool, reason: String| Verdict {
            user: user.name.clone(),
            ok,
            reason,
        };
        if NO_LOGIN_SHELLS.contains(&user.shell.as_str())
            || user.shell.ends_with("/nologin")
            || user.shell.ends_with("/false")
        {
            out.push(verdict(false, format!("no login shell ({})", user.shell)));
            continue;
        }
        let ctx = Context {
            user: Some(user.name.clone()),
            ..Context::default()
        };
        let store = match reading.effective(loader, Some(&ctx), accounts) {
            Ok(s) => s,
            Err(e) => {
                out.push(verdict(false, format!("config error: {e}")));
                continue;
            }
        };
        let pam = store.value("usepam") == Some("yes");
        if !pam
            && accounts
                .password_field(&user.name)
                .is_some_and(|p| p.starts_with('!') || p.starts_with("*LK*"))
        {
            out.push(verdict(
                false,
                "account is locked (and UsePAM is off, so sshd refuses it)".into(),
            ));
            continue;
        }
        if user.uid == 0 && store.value("permitrootlogin").unwrap_or("without-password") == "no" {
            out.push(verdict(false, "root and PermitRootLogin no".into()));
            continue;
        }
        if user_patterns_allow(&store, "denyusers", &user.name) == Some(true) {
            out.push(verdict(false, "listed in DenyUsers".into()));
            continue;
        }
        if user_patterns_allow(&store, "allowusers", &user.name) == Some(false) {
            out.push(verdict(false, "not in AllowUsers".into()));
            continue;
        }
        let groups = accounts.groups_of(&user.name).unwrap_or_default();
        if group_patterns_hit(&store, "denygroups", &groups) == Some(true) {
            out.push(verdict(false, "in a DenyGroups group".into()));
            continue;
        }
        if group_patterns_hit(&store, "allowgroups", &groups) == Some(false) {
            out.push(verdict(false, "not in an AllowGroups group".into()));
            continue;
        }
        if store.value("pubkeyauthentication") == Some("no") {
            out.push(verdict(false, "PubkeyAuthentication no".into()));
            continue;
        }
        if store
            .value("authorizedkeyscommand")
            .is_some_and(|c| !c.eq_ignore_ascii_case("none"))
        {
            out.push(verdict(
                true,
                "keys come from AuthorizedKeysCommand (not checked)".into(),
            ));
            continue;
        }
        let files: Vec<String> = match store.get("authorizedkeysfile") {
            Some(s) => s.items.iter().map(|i| i.value.clone()).collect(),
            None => vec![
                ".ssh/authorized_keys".into(),
                ".ssh/authorized_keys2".into(),
            ],
        };
        let found = files
            .iter()
            .filter(|f| !f.eq_ignore_ascii_case("none"))
            .map(|f| expand_tokens(f, user))
            .find(|path| {
                loader
                    .root()
                    .resolve(path)
                    .ok()
                    .and_then(|h| {
                        hardkit_core::input::read_regular_file(
                            &h,
                            hardkit_core::input::MAX_FILE_BYTES,
                        )
                        .ok()
                    })
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .is_some_and(|t| has_key_lines(&t))
            });
        match found {
            Some(path) => out.push(verdict(true, format!("has keys in {path}"))),
            None => out.push(verdict(
                false,
                format!("no non-empty authorized keys file ({})", files.join(" ")),
            )),
        }
    }
    out
}

/// The accounts among `verdicts` that can log in with a key and then become
/// root, as "NAME (how)".
pub fn root_routes(verdicts: &[Verdict], root: &hardkit_core::Root) -> Vec<String> {
    use hardkit_core::{accounts, sudoers};
    // An unreadable account file is an empty one: no route is proved.
    let accounts = accounts::Accounts::load(root).unwrap_or_default();
    let sudoers = sudoers::Sudoers::load(root);
    verdicts
        .iter()
        .filter(|v| v.ok)
        .filter_map(|v| {
            let user = accounts.user(&v.user)?;
            let how = sudoers::root_route(user, &accounts, &sudoers)?;
            Some(format!("{} ({how})", v.user))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expand_and_relative_paths_start_at_home() {
        let u = User {
            name: "ann".into(),
            uid: 1001,
            gid: 1001,
            home: "/home/ann".into(),
            shell: "/bin/bash".into(),
        };
        assert_eq!(expand_tokens("/etc/ssh/keys/%u", &u), "/etc/ssh/keys/ann");
        assert_eq!(expand_tokens("%h/.ssh/k_%U", &u), "/home/ann/.ssh/k_1001");
        assert_eq!(
            expand_tokens(".ssh/authorized_keys", &u),
            "/home/ann/.ssh/authorized_keys"
        );
        assert_eq!(expand_tokens("/x/100%%", &u), "/x/100%");
    }
}
