//! The accounts under `--root` (/etc/passwd, /etc/group, /etc/shadow), for
//! `Match Group` and the lockout guard. Read as files, never through NSS, so
//! an image is judged by its own accounts.

use hardkit_core::Root;

use crate::matching::GroupLookup;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
}

#[derive(Debug, Clone, Default)]
pub struct Accounts {
    pub users: Vec<User>,
    /// (name, gid, members)
    pub groups: Vec<(String, u32, Vec<String>)>,
    /// user -> password field of /etc/shadow, when readable.
    pub shadow: Vec<(String, String)>,
}

impl Accounts {
    pub fn load(root: &Root) -> Accounts {
        let read = |p: &str| {
            root.resolve(p)
                .ok()
                .and_then(|h| {
                    hardkit_core::input::read_regular_file(&h, hardkit_core::input::MAX_FILE_BYTES)
                        .ok()
                })
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        Accounts::parse(
            &read("/etc/passwd"),
            &read("/etc/group"),
            &read("/etc/shadow"),
        )
    }

    /// The databases' text, read by hardkit-core's parsers (the same that
    /// svcacct and the sudoers reading use: one reading of a host's
    /// accounts for every tool).
    pub fn parse(passwd: &str, group: &str, shadow: &str) -> Accounts {
        use hardkit_core::accounts::{parse_group, parse_passwd, parse_shadow};
        let users = parse_passwd(passwd)
            .into_iter()
            .map(|p| User {
                name: p.name,
                uid: p.uid,
                gid: p.gid,
                home: p.home,
                shell: p.shell,
            })
            .collect();
        let groups = parse_group(group)
            .into_iter()
            .map(|g| (g.name, g.gid, g.members))
            .collect();
        let shadow = parse_shadow(shadow)
            .into_iter()
            .map(|s| (s.name, s.password))
            .collect();
        Accounts {
            users,
            groups,
            shadow,
        }
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The shadow password field, if /etc/shadow had the user.
    pub fn password_field(&self, name: &str) -> Option<&str> {
        self.shadow
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.as_str())
    }
}

impl GroupLookup for Accounts {
    /// Like getgrouplist(): the primary group, then every group listing
    /// the user as a member.
    fn groups_of(&self, user: &str) -> Option<Vec<String>> {
        let u = self.user(user)?;
        let mut out = Vec::new();
        if let Some((name, _, _)) = self.groups.iter().find(|(_, gid, _)| *gid == u.gid) {
            out.push(name.clone());
        }
        for (name, gid, members) in &self.groups {
            if *gid != u.gid && members.iter().any(|m| m == user) && !out.contains(name) {
                out.push(name.clone());
            }
        }
        Some(out)
    }
}
