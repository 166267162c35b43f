//! What the host under `--root` has, as far as fail2ban cares: which log
//! files exist, whether logs go to the systemd journal or through rsyslog,
//! what the SSH unit is called, and which firewall is in use.

use std::fs;

use hardkit_core::Root;

/// The firewall fail2ban's ban action must drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firewall {
    Ufw,
    Nftables,
    Iptables,
}

impl Firewall {
    pub fn as_str(self) -> &'static str {
        match self {
            Firewall::Ufw => "ufw",
            Firewall::Nftables => "nftables",
            Firewall::Iptables => "iptables",
        }
    }

    /// The stock action for jails that ban on the jail's ports.
    pub fn multiport_action(self) -> &'static str {
        match self {
            Firewall::Ufw => "ufw",
            Firewall::Nftables => "nftables-multiport",
            Firewall::Iptables => "iptables-multiport",
        }
    }

    /// The stock action that bans on every port (recidive). ufw's action
    /// already rejects the address on every port.
    pub fn allports_action(self) -> &'static str {
        match self {
            Firewall::Ufw => "ufw",
            Firewall::Nftables => "nftables-allports",
            Firewall::Iptables => "iptables-allports",
        }
    }

    /// Which firewall a fail2ban action name drives, if it is one we know.
    pub fn of_action(action: &str) -> Option<Firewall> {
        let name = action.split('[').next().unwrap_or("").trim();
        if name.starts_with("ufw") {
            Some(Firewall::Ufw)
        } else if name.starts_with("nftables") {
            Some(Firewall::Nftables)
        } else if name.starts_with("iptables") {
            Some(Firewall::Iptables)
        } else {
            None
        }
    }
}

/// The facts jailgen decides by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// `/etc/fail2ban/jail.conf` exists under the root.
    pub fail2ban_installed: bool,
    /// rsyslog is installed (it writes /var/log/auth.log on Debian).
    pub rsyslog: bool,
    /// The SSH server's systemd unit: `ssh.service` (Debian, Ubuntu) or
    /// `sshd.service` (Fedora, Arch, ...); None when no unit file was found.
    pub ssh_unit: Option<String>,
    /// The firewall in use, with the evidence that decided it.
    pub firewall: Option<(Firewall, String)>,
    /// The `nft` program is installed (fail2ban's nftables actions run it).
    pub nft: bool,
    /// OpenSSH 9.8 and later authenticate in a separate program,
    /// `sshd-session` (Debian 13: OpenSSH 10.0), which logs under that
    /// name: its journal entries have `_COMM=sshd-session`, not `sshd`.
    pub sshd_session: bool,
    /// The programs ban actions run that are installed under the root.
    pub programs: Vec<&'static str>,
    /// ufw is switched on (`ENABLED=yes`).
    pub ufw_on: bool,
    /// firewalld.service starts at boot.
    pub firewalld_on: bool,
}

/// Programs fail2ban's stock ban actions run.
const BAN_PROGRAMS: &[&str] = &[
    "iptables",
    "ip6tables",
    "ipset",
    "nft",
    "ufw",
    "firewall-cmd",
    "shorewall",
    "ip",
];

/// Is `program` installed under the root (where Debian and others put it)?
pub fn has_program(root: &Root, program: &str) -> bool {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .iter()
        .any(|d| exists(root, &format!("{d}/{program}")))
}

// Directories systemd reads unit files from: hardkit-core's list.
use hardkit_core::host::UNIT_DIRS;

impl Host {
    pub fn inspect(root: &Root) -> Host {
        Host {
            fail2ban_installed: exists(root, "/etc/fail2ban/jail.conf"),
            rsyslog: exists(root, "/etc/rsyslog.conf") || exists(root, "/usr/sbin/rsyslogd"),
            ssh_unit: ssh_unit(root),
            firewall: firewall(root),
            nft: exists(root, "/usr/sbin/nft") || exists(root, "/sbin/nft"),
            sshd_session: exists(root, "/usr/lib/openssh/sshd-session")
                || exists(root, "/usr/libexec/openssh/sshd-session")
                || exists(root, "/usr/libexec/sshd-session"),
            programs: BAN_PROGRAMS
                .iter()
                .copied()
                .filter(|p| has_program(root, p))
                .collect(),
            ufw_on: hardkit_core::host::ufw_enabled(root),
            firewalld_on: hardkit_core::host::unit_enabled(root, "firewalld.service"),
        }
    }

    fn has(&self, program: &str) -> bool {
        self.programs.contains(&program)
    }

    /// Why the bans of `action` (a fail2ban action file's name) cannot work
    /// on this host, or None when they can (or the action is not one whose
    /// needs are known). The question is whether the commands the action
    /// runs can do their job here, not whether its name matches the firewall
    /// in use: an iptables action on an nftables host works (Debian's
    /// iptables is the nft variant, and a DROP in its chain drops whatever
    /// another table accepts), as does an nftables action beside ufw (its
    /// own table, hooked before ufw's chains).
    pub fn ban_blocker(&self, action: &str) -> Option<String> {
        let name = action.split('[').next().unwrap_or("").trim();
        let needs: &[&str] = if name.starts_with("iptables") && name.contains("ipset") {
            &["iptables", "ipset"]
        } else if name.starts_with("iptables") {
            &["iptables"]
        } else if name.starts_with("nftables") {
            &["nft"]
        } else if name.starts_with("ufw") {
            &["ufw"]
        } else if name.starts_with("firewallcmd") {
            &["firewall-cmd"]
        } else if name.starts_with("shorewall") {
            &["shorewall"]
        } else if name == "route" {
            &["ip"]
        } else {
            return None;
        };
        let missing: Vec<&str> = needs.iter().copied().filter(|p| !self.has(p)).collect();
        if !missing.is_empty() {
            return Some(format!(
                "{} {} not installed: every ban command of {name} fails",
                missing.join(" and "),
                if missing.len() == 1 { "is" } else { "are" }
            ));
        }
        if name.starts_with("ufw") && !self.ufw_on {
            return Some(
                "ufw is switched off (no ENABLED=yes in /etc/ufw/ufw.conf): the rules ufw's action adds take no effect".into(),
            );
        }
        if name.starts_with("firewallcmd") && !self.firewalld_on {
            return Some(
                "firewalld.service is not enabled: firewall-cmd has no daemon to talk to".into(),
            );
        }
        None
    }

    /// A stock multiport action whose commands work here: nftables when nft
    /// is installed, then iptables, then ufw when it is on.
    pub fn working_multiport_action(&self) -> Option<&'static str> {
        if self.has("nft") {
            Some("nftables-multiport")
        } else if self.has("iptables") {
            Some("iptables-multiport")
        } else if self.has("ufw") && self.ufw_on {
            Some("ufw")
        } else {
            None
        }
    }

    /// The SSH unit to match in the journal: the one found, else Debian's
    /// name (jailgen's main target), never fail2ban's stock `sshd.service`
    /// guess when the host says otherwise.
    pub fn ssh_unit_or_default(&self) -> &str {
        self.ssh_unit.as_deref().unwrap_or("ssh.service")
    }

    /// The journal match of the sshd jail: the host's unit, or (should the
    /// unit differ, as with socket activation's `ssh@...service`) the
    /// programs that log sshd's authentication: `sshd`, and `sshd-session`
    /// where OpenSSH has it (fail2ban 1.1.0's own sshd filter matches both),
    /// running as root. `_COMM` is the process's name, which any local user
    /// chooses (a copy of logger named sshd): alone it would let them log
    /// "Failed password ... from" an innocent address and have it banned.
    /// `_UID` is set by journald from the sender's credentials, and in one
    /// `+` term of a journal match different fields must all hold.
    pub fn ssh_journalmatch(&self) -> String {
        let mut m = format!(
            "_SYSTEMD_UNIT={} + _COMM=sshd _UID=0",
            self.ssh_unit_or_default()
        );
        if self.sshd_session {
            m.push_str(" + _COMM=sshd-session _UID=0");
        }
        m
    }
}

/// Does the system path exist under the root (following symlinks inside it)?
pub fn exists(root: &Root, system_path: &str) -> bool {
    root.resolve(system_path)
        .is_ok_and(|p| fs::metadata(p).is_ok())
}

/// Does a fail2ban logpath (possibly a glob such as
/// `/var/log/nginx/*error.log` or `/var/log/tomcat*/catalina.out`) match at
/// least one file under the root?
pub fn log_exists(root: &Root, pattern: &str) -> bool {
    !log_matches(root, pattern).is_empty()
}

/// The files under the root a fail2ban logpath matches, as system paths
/// (fail2ban's `glob.glob` keeping those that exist), sorted.
pub fn log_matches(root: &Root, pattern: &str) -> Vec<String> {
    // Expand component by component, as glob does: literal components are
    // joined, wildcard components are matched against the directory listing.
    let mut candidates = vec![String::new()];
    for part in pattern.split('/').filter(|p| !p.is_empty()) {
        let mut next = Vec::new();
        for base in &candidates {
            if !part.contains(['*', '?', '[']) {
                next.push(format!("{base}/{part}"));
                continue;
            }
            let dir = if base.is_empty() { "/" } else { base.as_str() };
            let Ok(host_dir) = root.resolve(dir) else {
                continue;
            };
            let Ok(entries) = fs::read_dir(host_dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| glob_match(part, n))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| format!("{base}/{n}")));
        }
        candidates = next;
        if candidates.is_empty() {
            return Vec::new();
        }
    }
    candidates.retain(|c| {
        root.resolve(c)
            .is_ok_and(|p| fs::metadata(p).is_ok_and(|m| m.is_file()))
    });
    candidates
}

/// Shell-style matching of one file name as Python's fnmatch (used by
/// fail2ban's glob): `*`, `?`, and classes `[abc]`, `[a-z]`, `[!x]`.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn class(p: &[char], c: char) -> Option<(bool, usize)> {
        // p starts just after '['; returns (matched, length including ']').
        let mut i = 0;
        let negate = p.first() == Some(&'!');
        if negate {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        while i < p.len() {
            if p[i] == ']' && !first {
                return Some((matched != negate, i + 1));
            }
            first = false;
            if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
                matched |= p[i] <= c && c <= p[i + 2];
                i += 3;
            } else {
                matched |= p[i] == c;
                i += 1;
            }
        }
        None
    }
    // Two pointers with backtracking to the last `*` only: linear-ish, so a
    // hostile pattern such as `*a*a*a*a*b` cannot take exponential time.
    fn go(p: &[char], n: &[char]) -> bool {
        let (mut pi, mut ni) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ni < n.len() {
            if pi < p.len() {
                let step = match p[pi] {
                    '*' => {
                        star = Some((pi, ni));
                        pi += 1;
                        continue;
                    }
                    '?' => Some(1),
                    '[' => match class(&p[pi + 1..], n[ni]) {
                        Some((true, len)) => Some(1 + len),
                        Some((false, _)) => None,
                        // An unclosed '[' is an ordinary character.
                        None => (n[ni] == '[').then_some(1),
                    },
                    c => (c == n[ni]).then_some(1),
                };
                if let Some(len) = step {
                    pi += len;
                    ni += 1;
                    continue;
                }
            }
            match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            }
        }
        p[pi..].iter().all(|c| *c == '*')
    }
    // A leading dot is only matched explicitly, as glob(3) does.
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

fn ssh_unit(root: &Root) -> Option<String> {
    // Debian names the unit ssh.service and ships sshd.service only as an
    // alias symlink in /etc; the real file decides.
    for unit in ["ssh.service", "sshd.service"] {
        for dir in UNIT_DIRS {
            let system = format!("{dir}/{unit}");
            let Ok(host) = root.resolve_parent(&system) else {
                continue;
            };
            if fs::symlink_metadata(&host).is_ok_and(|m| m.is_file()) {
                return Some(unit.to_string());
            }
        }
    }
    None
}

/// ufw when enabled (it owns the rules, whatever its backend), then an
/// enabled nftables.service, then saved iptables rules, then whichever
/// tool is installed (Debian 12's `iptables` is the nft variant, but a
/// host with nft installed and no other evidence is managed with nft).
fn firewall(root: &Root) -> Option<(Firewall, String)> {
    if hardkit_core::host::ufw_enabled(root) {
        return Some((Firewall::Ufw, "/etc/ufw/ufw.conf has ENABLED=yes".into()));
    }
    if hardkit_core::host::unit_enabled(root, "nftables.service") {
        return Some((Firewall::Nftables, "nftables.service is enabled".into()));
    }
    for rules in ["/etc/iptables/rules.v4", "/etc/sysconfig/iptables"] {
        if exists(root, rules) {
            return Some((Firewall::Iptables, format!("{rules} exists")));
        }
    }
    if exists(root, "/etc/nftables.conf") || exists(root, "/usr/sbin/nft") {
        return Some((Firewall::Nftables, "nftables is installed".into()));
    }
    if exists(root, "/usr/sbin/iptables") || exists(root, "/sbin/iptables") {
        return Some((Firewall::Iptables, "iptables is installed".into()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> (tempfile::TempDir, Root) {
        let tmp = tempfile::tempdir().unwrap();
        for f in files {
            let p = tmp.path().join(f.trim_start_matches('/'));
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, "").unwrap();
        }
        let root = Root::new(tmp.path()).unwrap();
        (tmp, root)
    }

    #[test]
    fn debian_ssh_unit_and_nftables() {
        let (tmp, root) = tree(&["/lib/systemd/system/ssh.service", "/etc/nftables.conf"]);
        fs::create_dir_all(tmp.path().join("etc/systemd/system")).unwrap();
        std::os::unix::fs::symlink(
            "/lib/systemd/system/ssh.service",
            tmp.path().join("etc/systemd/system/sshd.service"),
        )
        .unwrap();
        let host = Host::inspect(&root);
        assert_eq!(host.ssh_unit.as_deref(), Some("ssh.service"));
        assert_eq!(host.firewall.unwrap().0, Firewall::Nftables);
        assert!(!host.rsyslog && !host.fail2ban_installed);
    }

    #[test]
    fn ufw_wins_when_enabled() {
        let (tmp, root) = tree(&["/etc/nftables.conf", "/usr/lib/systemd/system/sshd.service"]);
        fs::create_dir_all(tmp.path().join("etc/ufw")).unwrap();
        fs::write(tmp.path().join("etc/ufw/ufw.conf"), "ENABLED=yes\n").unwrap();
        let host = Host::inspect(&root);
        assert_eq!(host.ssh_unit.as_deref(), Some("sshd.service"));
        assert_eq!(host.firewall.as_ref().unwrap().0, Firewall::Ufw);
        // Bans work when the action's programs are there: none yet.
        assert!(host
            .ban_blocker("ufw")
            .unwrap()
            .contains("ufw is not installed"));
        assert!(host
            .ban_blocker("nftables-multiport")
            .unwrap()
            .contains("nft is not installed"));
        assert!(host
            .ban_blocker("iptables-multiport")
            .unwrap()
            .contains("iptables is not installed"));
        assert_eq!(host.ban_blocker("sendmail-whois"), None);
        for p in ["usr/sbin/nft", "usr/sbin/ufw", "usr/sbin/iptables"] {
            fs::create_dir_all(tmp.path().join(p).parent().unwrap()).unwrap();
            fs::write(tmp.path().join(p), "").unwrap();
        }
        let host = Host::inspect(&root);
        // nftables beside ufw, and iptables (the nft variant) beside ufw: both work.
        assert_eq!(host.ban_blocker("nftables-multiport"), None);
        assert_eq!(host.ban_blocker("iptables-multiport"), None);
        assert_eq!(host.ban_blocker("ufw"), None);
        assert!(host
            .ban_blocker("iptables-ipset-proto6")
            .unwrap()
            .contains("ipset"));
        // ufw switched off: its action's rules do nothing.
        fs::write(tmp.path().join("etc/ufw/ufw.conf"), "ENABLED=no\n").unwrap();
        let host = Host::inspect(&root);
        assert!(host.ban_blocker("ufw").unwrap().contains("switched off"));
        assert_eq!(host.working_multiport_action(), Some("nftables-multiport"));
    }

    #[test]
    fn log_globs_match_inside_the_root() {
        let (_tmp, root) = tree(&["/var/log/nginx/api.access.log", "/var/log/auth.log"]);
        assert!(log_exists(&root, "/var/log/nginx/*access.log"));
        assert!(!log_exists(&root, "/var/log/nginx/*error.log"));
        assert!(log_exists(&root, "/var/log/auth.log"));
        assert!(!log_exists(&root, "/var/log/secure"));
        assert!(log_exists(&root, "/var/*/nginx/api.*.log"));
        assert!(!log_exists(&root, "/var/*/nginx/*error*"));
        assert!(glob_match("*access.log", "access.log"));
        assert!(glob_match("L[0-9].log", "L7.log"));
        assert!(!glob_match("L[0-9].log", "Lx.log"));
        assert!(glob_match("L[!0-9].log", "Lx.log"));
        assert!(glob_match("[]]x", "]x"));
        assert!(glob_match("a[b", "a[b"));
        let hostile = format!("{}b", "*a".repeat(30));
        assert!(!glob_match(&hostile, &"a".repeat(250)));
        assert!(!glob_match("*.log", ".hidden.log"));
    }

    #[test]
    fn actions_name_their_firewall() {
        assert_eq!(
            Firewall::of_action("iptables-multiport[port=22]"),
            Some(Firewall::Iptables)
        );
        assert_eq!(
            Firewall::of_action("nftables-allports"),
            Some(Firewall::Nftables)
        );
        assert_eq!(Firewall::of_action("ufw"), Some(Firewall::Ufw));
        assert_eq!(Firewall::of_action("sendmail-whois"), None);
    }
}
