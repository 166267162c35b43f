//! The account databases of the system under `--root`: /etc/passwd,
//! /etc/group, /etc/shadow and the UID ranges of /etc/login.defs. Read from
//! the files themselves (never NSS), so an image or a test tree is judged by
//! its own accounts, not the host's.

use std::path::PathBuf;

use crate::Root;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub home: String,
    pub shell: String,
    pub line: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowEntry {
    pub name: String,
    pub password: String,
    pub line: u64,
}

/// How a shadow password field lets one log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordState {
    /// `!...`, `*`, `!*`: no password login.
    Locked,
    /// Empty: login without a password.
    Empty,
    /// A hash: login with a password.
    Usable,
}

impl ShadowEntry {
    pub fn state(&self) -> PasswordState {
        let p = self.password.as_str();
        if p.is_empty() {
            PasswordState::Empty
        } else if p.starts_with('!') || p.starts_with('*') || !p.starts_with('$') && p.len() < 13 {
            PasswordState::Locked
        } else {
            PasswordState::Usable
        }
    }
}

/// UID ranges from login.defs (Debian's defaults when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UidRanges {
    pub sys_min: u32,
    pub sys_max: u32,
    pub user_min: u32,
}

#[derive(Debug, Clone, Default)]
pub struct Accounts {
    pub passwd: Vec<PasswdEntry>,
    pub group: Vec<GroupEntry>,
    pub shadow: Vec<ShadowEntry>,
    pub passwd_path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("{}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Root(#[from] crate::root::RootError),
}

fn read_optional(root: &Root, system: &str) -> Result<String, AccountsError> {
    let host = root.resolve(system)?;
    match crate::input::read_regular_file(&host, crate::input::MAX_FILE_BYTES) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(AccountsError::Read { path: host, source }),
    }
}

impl Accounts {
    /// Read the databases under `root`; a missing file is an empty database.
    pub fn load(root: &Root) -> Result<Self, AccountsError> {
        let passwd = parse_passwd(&read_optional(root, "/etc/passwd")?);
        let group = parse_group(&read_optional(root, "/etc/group")?);
        let shadow = parse_shadow(&read_optional(root, "/etc/shadow")?);
        Ok(Accounts {
            passwd,
            group,
            shadow,
            passwd_path: PathBuf::from("/etc/passwd"),
        })
    }

    pub fn user(&self, name: &str) -> Option<&PasswdEntry> {
        self.passwd.iter().find(|p| p.name == name)
    }

    pub fn user_by_uid(&self, uid: u32) -> Option<&PasswdEntry> {
        self.passwd.iter().find(|p| p.uid == uid)
    }

    pub fn group_named(&self, name: &str) -> Option<&GroupEntry> {
        self.group.iter().find(|g| g.name == name)
    }

    pub fn group_by_gid(&self, gid: u32) -> Option<&GroupEntry> {
        self.group.iter().find(|g| g.gid == gid)
    }

    pub fn shadow_of(&self, name: &str) -> Option<&ShadowEntry> {
        self.shadow.iter().find(|s| s.name == name)
    }

    /// Names of every group the user is in: primary and supplementary.
    pub fn groups_of(&self, user: &PasswdEntry) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(g) = self.group_by_gid(user.gid) {
            out.push(g.name.clone());
        }
        for g in &self.group {
            if g.members.iter().any(|m| m == &user.name) && !out.contains(&g.name) {
                out.push(g.name.clone());
            }
        }
        out
    }

    /// The highest ID in the system range free both as UID and as GID, so
    /// the user's group can share its number.
    pub fn free_system_id(&self, ranges: UidRanges) -> Option<u32> {
        (ranges.sys_min..=ranges.sys_max)
            .rev()
            .find(|id| self.user_by_uid(*id).is_none() && self.group_by_gid(*id).is_none())
    }
}

pub fn uid_ranges(root: &Root) -> Result<UidRanges, AccountsError> {
    let text = read_optional(root, "/etc/login.defs")?;
    let mut r = UidRanges {
        sys_min: 100,
        sys_max: 999,
        user_min: 1000,
    };
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some(key), Some(value)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(value) = value.parse::<u32>() else {
            continue;
        };
        match key {
            "SYS_UID_MIN" => r.sys_min = value,
            "SYS_UID_MAX" => r.sys_max = value,
            "UID_MIN" => r.user_min = value,
            _ => {}
        }
    }
    Ok(r)
}

fn fields(line: &str) -> Vec<&str> {
    line.split(':').collect()
}

pub fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let f = fields(line);
            if f.len() < 7 || line.starts_with('#') {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                gecos: f[4].to_string(),
                home: f[5].to_string(),
                shell: f[6].to_string(),
                line: i as u64 + 1,
            })
        })
        .collect()
}

pub fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter_map(|line| {
            let f = fields(line);
            if f.len() < 4 || line.starts_with('#') {
                return None;
            }
            Some(GroupEntry {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
                members: f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect(),
            })
        })
        .collect()
}

pub fn parse_shadow(text: &str) -> Vec<ShadowEntry> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let f = fields(line);
            if f.len() < 2 || line.starts_with('#') {
                return None;
            }
            Some(ShadowEntry {
                name: f[0].to_string(),
                password: f[1].to_string(),
                line: i as u64 + 1,
            })
        })
        .collect()
}

/// Shells that do not give a login.
pub fn is_nologin_shell(shell: &str) -> bool {
    matches!(
        shell,
        "/usr/sbin/nologin" | "/sbin/nologin" | "/bin/false" | "/usr/bin/false" | "/bin/nologin"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_states() {
        let s = |p: &str| ShadowEntry {
            name: "x".into(),
            password: p.into(),
            line: 1,
        };
        assert_eq!(s("!").state(), PasswordState::Locked);
        assert_eq!(s("*").state(), PasswordState::Locked);
        assert_eq!(s("!$6$abc$def").state(), PasswordState::Locked);
        assert_eq!(s("").state(), PasswordState::Empty);
        assert_eq!(s("$y$j9T$abc$defghijkl").state(), PasswordState::Usable);
    }

    #[test]
    fn groups_and_free_ids() {
        let a = Accounts {
            passwd: parse_passwd(
                "root:x:0:0:root:/root:/bin/bash\nagent:x:999:999::/var/lib/agent:/bin/bash\n",
            ),
            group: parse_group("root:x:0:\nagent:x:999:\ndocker:x:998:agent,bob\n"),
            shadow: vec![],
            passwd_path: PathBuf::new(),
        };
        let agent = a.user("agent").unwrap();
        assert_eq!(a.groups_of(agent), vec!["agent", "docker"]);
        let r = UidRanges {
            sys_min: 100,
            sys_max: 999,
            user_min: 1000,
        };
        assert_eq!(a.free_system_id(r), Some(997));
    }
}
