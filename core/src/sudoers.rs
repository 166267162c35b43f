//! /etc/sudoers and the files it includes, read as sudo reads them, and the
//! judgement of what a rule really grants.
//!
//! sudo's rules reproduced here:
//! - a backslash at the end of a line continues it; `#` starts a comment,
//!   except `#include` / `#includedir` (old spelling of `@include` /
//!   `@includedir`); relative include paths are relative to the including
//!   file's directory;
//! - `@includedir` reads the files of a directory in lexical order but skips
//!   names that end in `~` or contain a `.`: `/etc/sudoers.d/agent.conf`
//!   is silently ignored, which is why svcacct writes `/etc/sudoers.d/NAME`;
//! - `User_Alias`, `Runas_Alias`, `Host_Alias`, `Cmnd_Alias` define names;
//!   a user specification is `USERS HOSTS = (RUNAS) TAGS: CMND, ... [: HOSTS = ...]`;
//! - a command given without arguments may be run with any arguments; `""`
//!   as the arguments allows none; wildcards in arguments match anything,
//!   spaces and further options included.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::Root;

use crate::accounts::{Accounts, PasswdEntry};

/// One command a rule grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantedCommand {
    /// As written after alias expansion: `ALL`, `/usr/bin/systemctl restart x`.
    pub command: String,
    pub nopasswd: bool,
    pub path: PathBuf,
    pub line: u64,
    /// The user list of the rule, as written.
    pub users: String,
}

/// A user specification line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub users: Vec<String>,
    pub commands: Vec<(String, bool)>,
    pub path: PathBuf,
    pub line: u64,
}

/// A file in an include directory that sudo ignores because of its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredFile {
    pub path: PathBuf,
    pub has_rules: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Sudoers {
    pub rules: Vec<Rule>,
    pub user_aliases: BTreeMap<String, Vec<String>>,
    pub cmnd_aliases: BTreeMap<String, Vec<String>>,
    pub ignored: Vec<IgnoredFile>,
    pub files: Vec<PathBuf>,
}

const MAX_INCLUDE_DEPTH: usize = 8;

impl Sudoers {
    /// Read /etc/sudoers under `root` and everything it includes. A missing
    /// /etc/sudoers (sudo not installed) gives no rules.
    pub fn load(root: &Root) -> Sudoers {
        let mut s = Sudoers::default();
        s.read_file(root, Path::new("/etc/sudoers"), 0);
        s
    }

    fn read_file(&mut self, root: &Root, system: &Path, depth: usize) {
        if depth > MAX_INCLUDE_DEPTH || self.files.iter().any(|f| f == system) {
            return;
        }
        let Ok(host) = root.resolve(system) else {
            return;
        };
        let Ok(bytes) = crate::input::read_regular_file(&host, crate::input::MAX_FILE_BYTES) else {
            return;
        };
        self.files.push(system.to_path_buf());
        let text = String::from_utf8_lossy(&bytes).into_owned();
        for (line_no, line) in logical_lines(&text) {
            self.read_line(root, system, line_no, &line, depth);
        }
    }

    fn read_line(&mut self, root: &Root, file: &Path, line_no: u64, line: &str, depth: usize) {
        let trimmed = line.trim();
        let base = file.parent().unwrap_or(Path::new("/"));
        let include = |arg: &str| -> PathBuf {
            let arg = arg.trim().trim_matches('"');
            if arg.starts_with('/') {
                PathBuf::from(arg)
            } else {
                base.join(arg)
            }
        };
        for (prefix, is_dir) in [
            ("@includedir ", true),
            ("#includedir ", true),
            ("@include ", false),
            ("#include ", false),
        ] {
            if let Some(arg) = trimmed.strip_prefix(prefix) {
                let target = include(arg);
                if is_dir {
                    self.read_dir(root, &target, depth + 1);
                } else {
                    self.read_file(root, &target, depth + 1);
                }
                return;
            }
        }
        let line = strip_comment(trimmed);
        if line.is_empty() || line.starts_with("Defaults") {
            return;
        }
        for (kind, map) in [
            ("User_Alias", true),
            ("Cmnd_Alias", false),
            ("Cmd_Alias", false),
        ] {
            if let Some(rest) = line.strip_prefix(kind) {
                for def in split_top(rest, ':') {
                    if let Some((name, members)) = def.split_once('=') {
                        let members = split_list(members);
                        let target = if map {
                            &mut self.user_aliases
                        } else {
                            &mut self.cmnd_aliases
                        };
                        target.insert(name.trim().to_string(), members);
                    }
                }
                return;
            }
        }
        if line.starts_with("Runas_Alias") || line.starts_with("Host_Alias") {
            return;
        }
        if let Some(rule) = parse_rule(line, file, line_no) {
            self.rules.push(rule);
        }
    }

    fn read_dir(&mut self, root: &Root, dir: &Path, depth: usize) {
        let Ok(host) = root.resolve(dir) else {
            return;
        };
        let Ok(entries) = fs::read_dir(&host) else {
            return;
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        for name in names {
            let system = dir.join(&name);
            if name.ends_with('~') || name.contains('.') {
                let has_rules = root
                    .resolve(&system)
                    .ok()
                    .and_then(|h| {
                        crate::input::read_regular_file(&h, crate::input::MAX_FILE_BYTES).ok()
                    })
                    .map(|b| {
                        logical_lines(&String::from_utf8_lossy(&b))
                            .iter()
                            .any(|(_, l)| !strip_comment(l.trim()).is_empty())
                    })
                    .unwrap_or(false);
                self.ignored.push(IgnoredFile {
                    path: system,
                    has_rules,
                });
                continue;
            }
            self.read_file(root, &system, depth);
        }
    }

    /// Every command granted to `user` (by name, `%group`, `#uid`, ALL or a
    /// User_Alias), aliases expanded.
    pub fn granted_to(&self, user: &PasswdEntry, accounts: &Accounts) -> Vec<GrantedCommand> {
        let groups = accounts.groups_of(user);
        let mut out = Vec::new();
        for rule in &self.rules {
            if !rule
                .users
                .iter()
                .any(|u| self.user_matches(u, user, &groups, 0))
            {
                continue;
            }
            for (command, nopasswd) in &rule.commands {
                for expanded in self.expand_command(command, 0) {
                    out.push(GrantedCommand {
                        command: expanded,
                        nopasswd: *nopasswd,
                        path: rule.path.clone(),
                        line: rule.line,
                        users: rule.users.join(","),
                    });
                }
            }
        }
        out
    }

    /// Does a rule's user item name `user`? Each alias is looked into once
    /// per question: its answer cannot change, and nesting alone (8 levels)
    /// does not bound the work: `User_Alias A1 = A0, A0, ...` twenty times
    /// per level would be 20^8 calls for a user named in none of them.
    fn user_matches(
        &self,
        item: &str,
        user: &PasswdEntry,
        groups: &[String],
        depth: usize,
    ) -> bool {
        self.user_matches_once(item, user, groups, depth, &mut BTreeSet::new())
    }

    fn user_matches_once<'a>(
        &'a self,
        item: &'a str,
        user: &PasswdEntry,
        groups: &[String],
        depth: usize,
        seen: &mut BTreeSet<&'a str>,
    ) -> bool {
        if depth > 8 || item.starts_with('!') {
            return false;
        }
        if item == "ALL" || item == user.name {
            return true;
        }
        if let Some(uid) = item.strip_prefix('#') {
            return uid.parse::<u32>().is_ok_and(|u| u == user.uid);
        }
        if let Some(group) = item.strip_prefix('%') {
            let group = group.strip_prefix(':').unwrap_or(group);
            if let Some(gid) = group.strip_prefix('#') {
                return gid.parse::<u32>().is_ok_and(|g| g == user.gid);
            }
            return groups.iter().any(|g| g == group);
        }
        if let Some((name, members)) = self.user_aliases.get_key_value(item) {
            if !seen.insert(name.as_str()) {
                return false;
            }
            return members
                .iter()
                .any(|m| self.user_matches_once(m, user, groups, depth + 1, seen));
        }
        false
    }

    /// The commands a rule's command item stands for, aliases expanded,
    /// each alias once (the same fan-out as for users would otherwise
    /// build 20^8 strings and exhaust memory).
    fn expand_command(&self, command: &str, depth: usize) -> Vec<String> {
        let mut out = Vec::new();
        self.expand_command_once(command, depth, &mut BTreeSet::new(), &mut out);
        out
    }

    fn expand_command_once<'a>(
        &'a self,
        command: &'a str,
        depth: usize,
        seen: &mut BTreeSet<&'a str>,
        out: &mut Vec<String>,
    ) {
        if depth > 8 || command.starts_with('!') {
            return;
        }
        match self.cmnd_aliases.get_key_value(command) {
            Some((name, members)) => {
                if seen.insert(name.as_str()) {
                    for m in members {
                        self.expand_command_once(m, depth + 1, seen, out);
                    }
                }
            }
            None => out.push(command.to_string()),
        }
    }
}

/// Physical lines joined at trailing backslashes, with the first line number.
fn logical_lines(text: &str) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let mut current: Option<(u64, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let (start, mut line) = match current.take() {
            Some((start, mut joined)) => {
                joined.push_str(raw);
                (start, joined)
            }
            None => (i as u64 + 1, raw.to_string()),
        };
        if line.ends_with('\\') {
            line.pop();
            current = Some((start, line));
        } else {
            out.push((start, line));
        }
    }
    if let Some(last) = current {
        out.push(last);
    }
    out
}

/// Drop a `#` comment, but not `#123` (a UID) at the start of a word.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'#' {
            let at_word_start =
                i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b',' | b'(' | b'%' | b'!');
            let uid = bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
            if !(at_word_start && uid) && (i == 0 || bytes[i - 1] != b'\\') {
                return line[..i].trim_end();
            }
        }
    }
    line
}

/// Split at `sep` where it is not escaped with a backslash.
fn split_top(text: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&n) = chars.peek() {
                if n == sep {
                    current.push(n);
                    chars.next();
                    continue;
                }
            }
            current.push(c);
        } else if c == sep {
            out.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    out.push(current);
    out
}

fn split_list(text: &str) -> Vec<String> {
    split_top(text, ',')
        .into_iter()
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .collect()
}

const TAGS: &[&str] = &[
    "NOPASSWD",
    "PASSWD",
    "SETENV",
    "NOSETENV",
    "EXEC",
    "NOEXEC",
    "LOG_INPUT",
    "NOLOG_INPUT",
    "LOG_OUTPUT",
    "NOLOG_OUTPUT",
    "MAIL",
    "NOMAIL",
    "FOLLOW",
    "NOFOLLOW",
    "INTERCEPT",
    "NOINTERCEPT",
];

fn parse_rule(line: &str, file: &Path, line_no: u64) -> Option<Rule> {
    let (left, right) = line.split_once('=')?;
    // "alice, bob ALL": users are everything but the last word (the hosts).
    let left = left.replace(", ", ",").replace(" ,", ",");
    let mut words: Vec<&str> = left.split_whitespace().collect();
    if words.len() < 2 {
        return None;
    }
    words.pop();
    let users = split_list(&words.join(" "));
    // Each command may carry its own (RUNAS) and tags; tags carry over to
    // the commands after it until the opposite tag (sudoers(5)).
    let mut commands = Vec::new();
    let mut nopasswd = false;
    for item in split_commands(right) {
        let command = strip_runas_and_tags(&item, &mut nopasswd);
        // "cmd : HOSTS = cmd2" starts another host spec for the same users;
        // its hosts are not judged (a rule for any host counts).
        let mut parts = command.split(" : ");
        if let Some(first) = parts.next() {
            if !first.is_empty() {
                commands.push((first.to_string(), nopasswd));
            }
        }
        for spec in parts {
            if let Some((_, cmd)) = spec.split_once('=') {
                let cmd = strip_runas_and_tags(cmd, &mut nopasswd);
                if !cmd.is_empty() {
                    commands.push((cmd, nopasswd));
                }
            }
        }
    }
    Some(Rule {
        users,
        commands,
        path: file.to_path_buf(),
        line: line_no,
    })
}

/// Split a rule's command list at commas, except inside `(RUNAS, LIST)` and
/// escaped commas; whitespace inside an item is collapsed.
fn split_commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0u32;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                current.push(',');
                chars.next();
            }
            '(' => {
                depth += 1;
                current.push(c);
            }
            ')' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    out.push(current);
    out.into_iter()
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .collect()
}

/// Drop a leading `(RUNAS)` and tags (`NOPASSWD:` ...) from one command of
/// a rule, noting whether it needs a password.
fn strip_runas_and_tags(item: &str, nopasswd: &mut bool) -> String {
    let mut rest = item.trim();
    loop {
        rest = rest.trim_start();
        if rest.starts_with('(') {
            match rest.find(')') {
                Some(end) => rest = &rest[end + 1..],
                None => return String::new(),
            }
            continue;
        }
        let tag = TAGS.iter().find(|t| {
            rest.strip_prefix(**t)
                .is_some_and(|r| r.trim_start().starts_with(':'))
        });
        let Some(tag) = tag else {
            return rest.to_string();
        };
        match *tag {
            "NOPASSWD" => *nopasswd = true,
            "PASSWD" => *nopasswd = false,
            _ => {}
        }
        let after = &rest[tag.len()..];
        rest = after.split_once(':').map_or("", |(_, r)| r);
    }
}

/// Groups whose members the distributions' own sudoers (or su's pam_wheel)
/// let run anything as root: Debian `%sudo`, Fedora `%wheel`, old Ubuntu
/// `%admin`.
pub const ROOT_GROUPS: &[&str] = &["sudo", "wheel", "admin"];

/// How `user` can become root, if at all: uid 0, membership in one of
/// [`ROOT_GROUPS`], or a sudoers rule granting ALL (or a shell, which is
/// the same). The lockout guard of sshd-lint asks this of every account
/// that can log in with a key.
pub fn root_route(user: &PasswdEntry, accounts: &Accounts, sudoers: &Sudoers) -> Option<String> {
    if user.uid == 0 {
        return Some("uid 0".into());
    }
    // A user's own group (Debian's user private group: user admin, group
    // admin, its primary) is no route: only a sudoers rule for it would be.
    if let Some(g) = accounts
        .groups_of(user)
        .into_iter()
        .filter(|g| *g != user.name)
        .find(|g| ROOT_GROUPS.contains(&g.as_str()))
    {
        return Some(format!("member of {g}"));
    }
    sudoers
        .granted_to(user, accounts)
        .into_iter()
        .find(|c| matches!(judge(&c.command), Some(Danger::All | Danger::Shell)))
        .map(|c| format!("sudo {} ({}:{})", c.command, c.path.display(), c.line))
}

/// What is wrong with a granted command, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Danger {
    /// `ALL`: any command as root.
    All,
    /// A shell or interpreter: any command as root.
    Shell,
    /// An editor or pager: shell escapes, or rewriting any file as root.
    Editor,
    /// A wildcard in the arguments matches anything, options included.
    Wildcard,
    /// A command without arguments accepts any arguments.
    AnyArguments,
}

const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish", "ash", "busybox", "su",
    "sudo", "env", "python", "python3", "perl", "ruby", "node", "lua", "php", "script", "screen",
    "tmux", "nsenter", "unshare", "chroot", "find", "xargs", "awk", "gawk", "mawk", "docker",
];
const EDITORS: &[&str] = &[
    "vi", "vim", "nvim", "view", "rvim", "nano", "pico", "ed", "emacs", "joe", "mcedit", "less",
    "more", "man", "tee", "cp", "mv", "dd",
];

/// Judge one granted command.
pub fn judge(command: &str) -> Option<Danger> {
    let command = command.trim();
    if command == "ALL" {
        return Some(Danger::All);
    }
    // "sha256:... /path" digests precede the path.
    let command = match command.split_once(' ') {
        Some((first, rest)) if first.contains(':') && !first.starts_with('/') => rest.trim(),
        _ => command,
    };
    if command.starts_with("sudoedit") {
        return None;
    }
    let mut words = command.splitn(2, char::is_whitespace);
    let program = words.next().unwrap_or("");
    let args = words.next().map(str::trim);
    let base = program.rsplit('/').next().unwrap_or(program);
    let base_stem = base.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if SHELLS.contains(&base) || SHELLS.contains(&base_stem) {
        return Some(Danger::Shell);
    }
    if EDITORS.contains(&base) {
        return Some(Danger::Editor);
    }
    match args {
        None | Some("") => Some(Danger::AnyArguments),
        Some("\"\"") => None,
        Some(a) if a.contains(['*', '?', '[']) => Some(Danger::Wildcard),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{parse_group, parse_passwd};

    fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, Root) {
        let tmp = tempfile::tempdir().unwrap();
        for (p, t) in files {
            let host = tmp.path().join(p.trim_start_matches('/'));
            fs::create_dir_all(host.parent().unwrap()).unwrap();
            fs::write(host, t).unwrap();
        }
        let root = Root::new(tmp.path()).unwrap();
        (tmp, root)
    }

    #[test]
    fn a_users_own_group_named_admin_is_no_route() {
        let (_t, root) = tree(&[("/etc/sudoers", "%sudo ALL=(ALL:ALL) ALL\n")]);
        let s = Sudoers::load(&root);
        let accounts = Accounts {
            passwd: parse_passwd("admin:x:1000:1000::/home/admin:/bin/bash\n"),
            group: parse_group("sudo:x:27:\nadmin:x:1000:\n"),
            ..Default::default()
        };
        assert_eq!(
            root_route(accounts.user("admin").unwrap(), &accounts, &s),
            None
        );
    }

    #[test]
    fn root_routes_are_uid_0_admin_groups_and_sudo_all() {
        let (_t, root) = tree(&[
            ("/etc/sudoers", "@includedir /etc/sudoers.d\n"),
            (
                "/etc/sudoers.d/ops",
                "%ops ALL=(ALL) ALL\nlimited ALL=(root) /usr/bin/id -u\n",
            ),
        ]);
        let s = Sudoers::load(&root);
        let accounts = Accounts {
            passwd: parse_passwd(
                "root:x:0:0::/root:/bin/bash\nann:x:1000:1000::/h:/bin/bash\nbo:x:1001:1001::/h:/bin/bash\nlimited:x:1002:1002::/h:/bin/bash\nnobody:x:1003:1003::/h:/bin/bash\n",
            ),
            group: parse_group("wheel:x:10:ann\nops:x:20:bo\n"),
            ..Default::default()
        };
        let route = |n: &str| root_route(accounts.user(n).unwrap(), &accounts, &s);
        assert_eq!(route("root").as_deref(), Some("uid 0"));
        assert_eq!(route("ann").as_deref(), Some("member of wheel"));
        assert!(route("bo").is_some_and(|r| r.starts_with("sudo ALL (/etc/sudoers.d/ops:1")));
        assert_eq!(route("limited"), None);
        assert_eq!(route("nobody"), None);
    }

    #[test]
    fn includedir_skips_dotted_names_and_aliases_expand() {
        let (_t, root) = tree(&[
            ("/etc/sudoers", "Defaults env_reset\n@includedir /etc/sudoers.d\n"),
            (
                "/etc/sudoers.d/agent",
                "User_Alias BOTS = agent, %robots\nCmnd_Alias RESTART = /usr/bin/systemctl restart agent.service\nBOTS ALL=(root) NOPASSWD: RESTART, \\\n  /usr/bin/journalctl\n",
            ),
            ("/etc/sudoers.d/agent.conf", "agent ALL=(ALL) NOPASSWD: ALL\n"),
            ("/etc/sudoers.d/README", "# nothing\n"),
        ]);
        let s = Sudoers::load(&root);
        assert_eq!(s.ignored.len(), 1);
        assert!(s.ignored[0].has_rules);
        let accounts = Accounts {
            passwd: parse_passwd("agent:x:999:999::/:/usr/sbin/nologin\n"),
            group: parse_group("agent:x:999:\n"),
            ..Default::default()
        };
        let granted = s.granted_to(accounts.user("agent").unwrap(), &accounts);
        let cmds: Vec<&str> = granted.iter().map(|g| g.command.as_str()).collect();
        assert_eq!(
            cmds,
            vec![
                "/usr/bin/systemctl restart agent.service",
                "/usr/bin/journalctl"
            ]
        );
        assert!(granted.iter().all(|g| g.nopasswd));
    }

    /// Found by review while fuzzing: alias nesting is capped at 8 levels
    /// but not its fan-out, so twenty references per level meant 20^7
    /// expansions (memory exhausted, `svcacct audit` killed). Each alias is
    /// now expanded once per question, with the same answers.
    #[test]
    fn fanned_out_aliases_expand_once() {
        let mut text = String::from("User_Alias U0 = agent\nCmnd_Alias C0 = /usr/bin/id\n");
        for level in 1..8 {
            let users = vec![format!("U{}", level - 1); 20].join(", ");
            let cmnds = vec![format!("C{}", level - 1); 20].join(", ");
            text.push_str(&format!("User_Alias U{level} = {users}\n"));
            text.push_str(&format!("Cmnd_Alias C{level} = {cmnds}\n"));
        }
        text.push_str("U7 ALL=(root) NOPASSWD: C7\n");
        let (_t, root) = tree(&[("/etc/sudoers", &text)]);
        let s = Sudoers::load(&root);
        let accounts = Accounts {
            passwd: parse_passwd(
                "agent:x:999:999::/:/usr/sbin/nologin\nbob:x:1000:1000::/home/bob:/bin/sh\n",
            ),
            group: parse_group("agent:x:999:\n"),
            ..Default::default()
        };
        let granted = s.granted_to(accounts.user("agent").unwrap(), &accounts);
        let cmds: Vec<&str> = granted.iter().map(|g| g.command.as_str()).collect();
        assert_eq!(cmds, vec!["/usr/bin/id"]);
        assert!(s
            .granted_to(accounts.user("bob").unwrap(), &accounts)
            .is_empty());
    }

    #[test]
    fn groups_and_all_match() {
        let (_t, root) = tree(&[(
            "/etc/sudoers",
            "%sudo ALL=(ALL:ALL) ALL\n#includedir /etc/sudoers.d\nroot ALL=(ALL) ALL\n",
        )]);
        let s = Sudoers::load(&root);
        let accounts = Accounts {
            passwd: parse_passwd("agent:x:999:999::/:/usr/sbin/nologin\n"),
            group: parse_group("agent:x:999:\nsudo:x:27:agent\n"),
            ..Default::default()
        };
        let granted = s.granted_to(accounts.user("agent").unwrap(), &accounts);
        assert_eq!(granted.len(), 1);
        assert_eq!(granted[0].command, "ALL");
        assert!(!granted[0].nopasswd);
    }

    #[test]
    fn judgements() {
        assert_eq!(judge("ALL"), Some(Danger::All));
        assert_eq!(judge("/bin/bash"), Some(Danger::Shell));
        assert_eq!(judge("/usr/bin/python3.11 -c x"), Some(Danger::Shell));
        assert_eq!(judge("/usr/bin/vim /etc/hosts"), Some(Danger::Editor));
        assert_eq!(
            judge("/usr/bin/systemctl restart *"),
            Some(Danger::Wildcard)
        );
        assert_eq!(judge("/usr/bin/systemctl"), Some(Danger::AnyArguments));
        assert_eq!(judge("/usr/bin/systemctl restart agent.service"), None);
        assert_eq!(judge("/usr/bin/uptime \"\""), None);
    }
}
