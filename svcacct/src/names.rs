//! Values parsed at the edge: account names, absolute paths, ports,
//! commands, networks. Each rejection says what would be accepted; clap adds
//! the flag's name in front.

use std::fmt;
use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

/// A service account name: what useradd, systemd (User=) and sudo all accept.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountName(String);

impl AccountName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AccountName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        const RULE: &str =
            "use 1-31 characters: a lowercase letter or _ first, then lowercase letters, digits, _ or -";
        if s.is_empty() || s.len() > 31 {
            return Err(format!("'{s}' has {} characters; {RULE}", s.len()));
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "'{s}' is all digits (it would read as a UID); {RULE}"
            ));
        }
        let mut bytes = s.bytes();
        let first_ok = bytes
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_');
        let rest_ok =
            bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !first_ok || !rest_ok {
            return Err(format!("'{s}' is not a valid account name; {RULE}"));
        }
        // A name that is also a unit-file keyword of systemd-sysusers or a
        // sudoers reserved word would be ambiguous.
        if matches!(s, "root" | "nobody" | "all" | "default") {
            return Err(format!("'{s}' is reserved; choose the service's own name"));
        }
        Ok(AccountName(s.to_string()))
    }
}

/// An absolute, normalized path (no `.` or `..` components).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AbsPath(PathBuf);

impl AbsPath {
    pub fn as_path(&self) -> &Path {
        &self.0
    }

    pub fn display(&self) -> std::path::Display<'_> {
        self.0.display()
    }
}

impl FromStr for AbsPath {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let p = Path::new(s);
        if !p.is_absolute() {
            return Err(format!(
                "'{s}' is relative; give an absolute path such as /var/lib/NAME"
            ));
        }
        if p.components()
            .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
        {
            return Err(format!(
                "'{s}' contains . or ..; give a normalized absolute path"
            ));
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '%' || c == '\\')
        {
            return Err(format!(
                "'{s}' contains whitespace, %, \\ or control characters, which unit files would reinterpret"
            ));
        }
        if p == Path::new("/") {
            return Err("'/' is the whole system; give a directory of its own".into());
        }
        Ok(AbsPath(p.components().collect()))
    }
}

/// A TCP/UDP port, 1-65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Port(u16);

impl Port {
    pub fn get(self) -> u16 {
        self.0
    }

    /// Below 1024 a non-root process needs CAP_NET_BIND_SERVICE.
    pub fn is_privileged(self) -> bool {
        self.0 < 1024
    }
}

impl FromStr for Port {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(Port(n as u16)),
            Ok(n) => Err(format!("{n} is not a port; use 1-65535")),
            Err(_) => Err(format!("'{s}' is not a port number; use 1-65535")),
        }
    }
}

/// The program and its arguments, the program given by absolute path
/// (systemd runs ExecStart= without a shell; a relative name would be looked
/// up in systemd's PATH, not the one the admin tested with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecCommand {
    pub program: AbsPath,
    pub line: String,
}

impl FromStr for ExecCommand {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let line = s.trim();
        let first = line.split_whitespace().next().unwrap_or("");
        if !first.starts_with('/') {
            return Err(format!(
                "'{first}' is not an absolute program path; give e.g. /usr/local/bin/agent --serve"
            ));
        }
        if line.contains('\n') || line.contains('\r') {
            return Err("the command must be one line".into());
        }
        let program = first.parse::<AbsPath>()?;
        Ok(ExecCommand {
            program,
            line: line.to_string(),
        })
    }
}

/// An address or network for IPAddressAllow= (`10.0.0.0/8`, `192.0.2.7`, `::1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network(String);

impl Network {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Network {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| format!("'{s}' is not an IP address or network such as 10.0.0.0/8"))?;
        if let Some(len) = len {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            match len.parse::<u8>() {
                Ok(l) if l <= max => {}
                _ => return Err(format!("'{s}': prefix length must be 0-{max}")),
            }
        }
        Ok(Network(s.to_string()))
    }
}

/// `--egress NET[:PORTS[/PROTO]]` (IPv6 in brackets with ports:
/// `[fd00::/8]:443/tcp`): the network goes into the unit's IP allow list;
/// the ports, which systemd's IP filter cannot match, are the firewall's
/// (`fwplan render --egress-only --egress USER:PORTS@NET`, which
/// first-five runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressTarget {
    pub net: Network,
    /// `443/tcp`, `53`, `8000-8100/tcp`, or None for every port.
    pub ports: Option<String>,
}

impl FromStr for EgressTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (net, ports) = if let Some(rest) = s.strip_prefix('[') {
            let (net, after) = rest.split_once(']').ok_or_else(|| {
                format!("'{s}': an IPv6 network with ports is written [NET]:PORTS")
            })?;
            match after.strip_prefix(':') {
                Some(p) => (net, Some(p)),
                None if after.is_empty() => (net, None),
                None => return Err(format!("'{s}': write [NET]:PORTS, e.g. [fd00::/8]:443/tcp")),
            }
        } else if s.parse::<Network>().is_ok() {
            (s, None)
        } else {
            match s.rsplit_once(':') {
                Some((net, p)) if !net.contains(':') => (net, Some(p)),
                _ => (s, None),
            }
        };
        let net: Network = net.parse()?;
        if let Some(p) = ports {
            let (list, proto) = match p.split_once('/') {
                Some((l, proto)) => (l, Some(proto)),
                None => (p, None),
            };
            let port_ok = |t: &str| t.parse::<u16>().is_ok_and(|n| n > 0);
            let list_ok = list.split(',').all(|part| match part.split_once('-') {
                Some((a, b)) => port_ok(a) && port_ok(b),
                None => port_ok(part),
            });
            if !list_ok || !matches!(proto, None | Some("tcp") | Some("udp")) {
                return Err(format!(
                    "'{s}': ports are PORT[,PORT...][/tcp|/udp] (1-65535, ranges with -), e.g. 203.0.113.0/24:443/tcp"
                ));
            }
        }
        Ok(EgressTarget {
            net,
            ports: ports.map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn egress_targets() {
        let t: EgressTarget = "203.0.113.0/24:443/tcp".parse().unwrap();
        assert_eq!(
            (t.net.as_str(), t.ports.as_deref()),
            ("203.0.113.0/24", Some("443/tcp"))
        );
        let t: EgressTarget = "fd00::/8".parse().unwrap();
        assert_eq!((t.net.as_str(), t.ports), ("fd00::/8", None));
        let t: EgressTarget = "[fd00::/8]:53,853/udp".parse().unwrap();
        assert_eq!(
            (t.net.as_str(), t.ports.as_deref()),
            ("fd00::/8", Some("53,853/udp"))
        );
        for bad in [
            "203.0.113.0/24:0",
            "203.0.113.0/24:443/sctp",
            "[fd00::/8",
            "x:443",
            "[fd00::/8]443",
        ] {
            assert!(bad.parse::<EgressTarget>().is_err(), "{bad}");
        }
    }

    #[test]
    fn account_names() {
        assert!("agent".parse::<AccountName>().is_ok());
        assert!("_chrony".parse::<AccountName>().is_ok());
        assert!("ai-agent2".parse::<AccountName>().is_ok());
        for bad in [
            "",
            "Agent",
            "1234",
            "a b",
            "a.b",
            "-x",
            "root",
            &"a".repeat(32),
        ] {
            assert!(bad.parse::<AccountName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_ports_commands() {
        assert!("var/lib/x".parse::<AbsPath>().is_err());
        assert!("/var/../etc".parse::<AbsPath>().is_err());
        assert!("/".parse::<AbsPath>().is_err());
        assert_eq!(
            "/var/lib/x/".parse::<AbsPath>().unwrap().as_path(),
            Path::new("/var/lib/x")
        );
        assert!("65536".parse::<Port>().is_err());
        assert!("0".parse::<Port>().is_err());
        assert!("443".parse::<Port>().unwrap().is_privileged());
        assert!("agent --serve".parse::<ExecCommand>().is_err());
        assert_eq!(
            "/opt/a/bin/agent --serve"
                .parse::<ExecCommand>()
                .unwrap()
                .program
                .as_path(),
            Path::new("/opt/a/bin/agent")
        );
        assert!("10.0.0.0/8".parse::<Network>().is_ok());
        assert!("10.0.0.0/33".parse::<Network>().is_err());
    }
}
