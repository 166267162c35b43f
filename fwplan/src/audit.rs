//! `fwplan audit`: what listens, what the live firewall does, and where they
//! disagree with each other or with the policy. Read-only.
//!
//! Sockets come from `/proc/net/{tcp,tcp6,udp,udp6}` and their owners from
//! the `socket:[INODE]` links in `/proc/*/fd` (both under `--root`, so a
//! saved copy of /proc can be audited). The firewall comes from
//! `nft -j list ruleset` (or a saved copy, `--ruleset-json`) and ufw's
//! `ENABLED=` in /etc/ufw/ufw.conf. For a root tree other than `/`, the
//! ruleset is the one the tree would load at boot ([`crate::boot_firewall`]).

use std::collections::HashMap;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use hardkit_core::{Finding, Root, Severity};
use serde::{Deserialize, Serialize};

use crate::plan::Plan;
use crate::policy::Proto;

/// A listening socket and how exposed it is (docs/protocol.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Socket {
    /// `tcp` or `udp`.
    pub proto: String,
    pub address: String,
    pub port: u16,
    /// The owning process's name (`/proc/PID/comm`), when found.
    pub process: Option<String>,
    pub pid: Option<u32>,
    /// `all` (0.0.0.0 or ::), `loopback`, or `address` (one local address).
    pub exposure: String,
}

impl hardkit_core::Record for Socket {
    const TYPE: &'static str = "socket";
}

impl Socket {
    pub fn proto(&self) -> Proto {
        if self.proto == "udp" {
            Proto::Udp
        } else {
            Proto::Tcp
        }
    }
}

fn hex_v4(text: &str) -> Option<Ipv4Addr> {
    let n = u32::from_str_radix(text, 16).ok()?;
    // The kernel prints the address as a host-order u32 of network bytes.
    Some(Ipv4Addr::from(n.to_le_bytes()))
}

fn hex_v6(text: &str) -> Option<Ipv6Addr> {
    if text.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for word in 0..4 {
        let n = u32::from_str_radix(text.get(word * 8..word * 8 + 8)?, 16).ok()?;
        bytes[word * 4..word * 4 + 4].copy_from_slice(&n.to_le_bytes());
    }
    Some(Ipv6Addr::from(bytes))
}

fn exposure(addr: IpAddr) -> &'static str {
    if addr.is_unspecified() {
        "all"
    } else if addr.is_loopback()
        || matches!(addr, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|a| a.is_loopback()))
    {
        "loopback"
    } else {
        "address"
    }
}

/// Parse one /proc/net table: the listening (TCP) or bound (UDP) sockets
/// with their inode.
pub fn parse_proc_net(text: &str, proto: &str, v6: bool) -> Vec<(IpAddr, u16, u64)> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 {
            continue;
        }
        let (Some((addr, port)), Some((_, rport))) = (f[1].split_once(':'), f[2].split_once(':'))
        else {
            continue;
        };
        // TCP: only LISTEN (0A). UDP: unconnected sockets (remote port 0).
        let listening = if proto == "tcp" {
            f[3] == "0A"
        } else {
            rport == "0000"
        };
        if !listening {
            continue;
        }
        let addr = if v6 {
            hex_v6(addr).map(IpAddr::V6)
        } else {
            hex_v4(addr).map(IpAddr::V4)
        };
        let (Some(addr), Ok(port), Ok(inode)) =
            (addr, u16::from_str_radix(port, 16), f[9].parse::<u64>())
        else {
            continue;
        };
        out.push((addr, port, inode));
    }
    out
}

/// An outbound TCP connection (docs/protocol.md): one the machine opened
/// (its local port is no listener), established or being set up, with the
/// account that owns the socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub proto: String,
    pub remote: String,
    pub port: u16,
    pub uid: u32,
}

impl hardkit_core::Record for Connection {
    const TYPE: &'static str = "connection";
}

/// The outbound TCP connections of /proc/net/tcp{,6}: state ESTABLISHED
/// (01) or SYN_SENT (02) and a local port no socket listens on (so not a
/// connection a client made to this machine). A snapshot: what is open
/// when it is read.
pub fn outbound_connections(root: &Root) -> Vec<Connection> {
    let mut listening = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for (file, v6) in [("tcp", false), ("tcp6", true)] {
        let Some(text) = read_proc_net(root, file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                continue;
            }
            let (Some((_, lport)), Some((raddr, rport))) =
                (f[1].split_once(':'), f[2].split_once(':'))
            else {
                continue;
            };
            let Ok(lport) = u16::from_str_radix(lport, 16) else {
                continue;
            };
            if f[3] == "0A" {
                listening.insert(lport);
                continue;
            }
            if f[3] != "01" && f[3] != "02" {
                continue;
            }
            let addr = if v6 {
                hex_v6(raddr).map(IpAddr::V6)
            } else {
                hex_v4(raddr).map(IpAddr::V4)
            };
            let (Some(addr), Ok(rport), Ok(uid)) =
                (addr, u16::from_str_radix(rport, 16), f[7].parse::<u32>())
            else {
                continue;
            };
            // (an IPv4 peer of a v6 socket is written ::ffff:a.b.c.d)
            let addr = match addr {
                IpAddr::V6(a) => a.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(a)),
                a => a,
            };
            rows.push((lport, addr, rport, uid));
        }
    }
    let mut out: Vec<Connection> = rows
        .into_iter()
        .filter(|(lport, addr, _, _)| !listening.contains(lport) && !addr.is_loopback())
        .map(|(_, addr, port, uid)| Connection {
            proto: "tcp".into(),
            remote: addr.to_string(),
            port,
            uid,
        })
        .collect();
    out.sort_by(|a, b| (a.uid, &a.remote, a.port).cmp(&(b.uid, &b.remote, b.port)));
    out.dedup();
    out
}

/// A /proc/net table of the root, read as an untrusted tree's file: only a
/// regular file (a FIFO there would block the audit), bounded.
fn read_proc_net(root: &Root, file: &str) -> Option<String> {
    let path = root.resolve(format!("/proc/net/{file}")).ok()?;
    let bytes = hardkit_core::input::read_regular_file(&path, 256 << 20).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Socket inode -> (pid, comm), from /proc/*/fd under the root.
fn socket_owners(root: &Root) -> HashMap<u64, (u32, String)> {
    let mut owners = HashMap::new();
    let Ok(proc_dir) = root.resolve("/proc") else {
        return owners;
    };
    let Ok(entries) = fs::read_dir(&proc_dir) else {
        return owners;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        let comm = fs::read_to_string(dir.join("comm"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let Ok(fds) = fs::read_dir(dir.join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = fs::read_link(fd.path()) else {
                continue;
            };
            let target = target.to_string_lossy();
            if let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|s| s.strip_suffix(']'))
            {
                if let Ok(inode) = inode.parse() {
                    owners.entry(inode).or_insert((pid, comm.clone()));
                }
            }
        }
    }
    owners
}

/// Every listening socket under the root, sorted by proto, port, address.
pub fn listening_sockets(root: &Root) -> Vec<Socket> {
    let owners = socket_owners(root);
    let mut out = Vec::new();
    for (file, proto, v6) in [
        ("tcp", "tcp", false),
        ("tcp6", "tcp", true),
        ("udp", "udp", false),
        ("udp6", "udp", true),
    ] {
        let Some(text) = read_proc_net(root, file) else {
            continue;
        };
        for (addr, port, inode) in parse_proc_net(&text, proto, v6) {
            let owner = owners.get(&inode);
            out.push(Socket {
                proto: proto.into(),
                address: addr.to_string(),
                port,
                process: owner.map(|o| o.1.clone()),
                pid: owner.map(|o| o.0),
                exposure: exposure(addr).into(),
            });
        }
    }
    out.sort_by(|a, b| (&a.proto, a.port, &a.address).cmp(&(&b.proto, b.port, &b.address)));
    out.dedup();
    out
}

/// What the live firewall looks like, from `nft -j list ruleset`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LiveFirewall {
    /// (family, table, chain, hook, policy) of every base chain.
    pub base_chains: Vec<(String, String, String, String, String)>,
    pub tables: Vec<(String, String)>,
    /// Chains named DOCKER in a nat table (Docker's port publishing).
    pub docker_nat: bool,
    pub ufw_enabled: bool,
    /// `IPV6=no` in /etc/default/ufw: ufw then leaves IPv6 unfiltered.
    pub ufw_ipv6_off: bool,
}

#[derive(Deserialize)]
struct NftJson {
    nftables: Vec<serde_json::Value>,
}

pub fn parse_nft_json(text: &str) -> Result<LiveFirewall, String> {
    let json: NftJson =
        serde_json::from_str(text).map_err(|e| format!("not nft -j output: {e}"))?;
    let mut live = LiveFirewall::default();
    let s = |v: &serde_json::Value, k: &str| {
        v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string()
    };
    for item in &json.nftables {
        if let Some(t) = item.get("table") {
            live.tables.push((s(t, "family"), s(t, "name")));
        }
        if let Some(c) = item.get("chain") {
            if s(c, "name") == "DOCKER" && s(c, "table") == "nat" {
                live.docker_nat = true;
            }
            if c.get("hook").is_some() {
                live.base_chains.push((
                    s(c, "family"),
                    s(c, "table"),
                    s(c, "name"),
                    s(c, "hook"),
                    s(c, "policy"),
                ));
            }
        }
    }
    Ok(live)
}

/// Read the live firewall: a saved JSON file; `nft -j list ruleset` when
/// auditing the running system; for another root, what it loads at boot
/// (loaded by `helper`, the fwplan binary, in a private network namespace),
/// with the findings about how it gets loaded. ufw's switch comes from
/// ufw.conf.
pub fn live_firewall(
    root: &Root,
    saved: Option<&Path>,
    helper: &Path,
) -> Result<(LiveFirewall, Vec<Finding>), String> {
    let mut notes = Vec::new();
    let mut live = match saved {
        Some(path) => {
            let text = fs::read_to_string(path)
                .map_err(|e| format!("--ruleset-json {}: {e}", path.display()))?;
            parse_nft_json(&text).map_err(|e| format!("--ruleset-json {}: {e}", path.display()))?
        }
        None if root.is_host() => match crate::apply::nft() {
            Ok(nft) => {
                let out = std::process::Command::new(nft)
                    .args(["-j", "list", "ruleset"])
                    .output()
                    .map_err(|e| format!("running nft -j list ruleset: {e}"))?;
                if !out.status.success() {
                    return Err(format!(
                        "nft -j list ruleset: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                }
                parse_nft_json(&String::from_utf8_lossy(&out.stdout))?
            }
            Err(_) => LiveFirewall::default(),
        },
        None => {
            let boot = crate::boot_firewall::boot_firewall(root, helper);
            notes = boot.findings;
            boot.live
        }
    };
    live.ufw_enabled = hardkit_core::host::ufw_enabled(root);
    Ok((live, notes))
}

pub(crate) fn drops_input(live: &LiveFirewall, families: &[&str]) -> bool {
    live.base_chains.iter().any(|(fam, _, _, hook, policy)| {
        hook == "input" && policy == "drop" && families.contains(&fam.as_str())
    })
}

/// The advice for a machine without a firewall, which must never cut SSH
/// when followed literally: sshd's configured ports come from sshd-lint
/// (`--sshd -`), and the ports an sshd listens on now are named as well
/// (a configuration changed but not yet reloaded), so an sshd on 2222 is
/// not left out by fwplan's default of 22.
fn no_firewall_fix(sockets: &[Socket]) -> String {
    let mut ports: Vec<u16> = sockets
        .iter()
        .filter(|s| {
            s.proto == "tcp" && matches!(s.process.as_deref(), Some("sshd") | Some("sshd-session"))
        })
        .map(|s| s.port)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    let listening: String = ports.iter().map(|p| format!(" --ssh-port {p}")).collect();
    format!(
        "sshd-lint --json | fwplan apply --backend nft --confirm 60s --sshd -{listening} --allow 80,443/tcp  (then fwplan confirm; --sshd - keeps sshd's ports open)"
    )
}

/// The findings of an audit.
pub fn findings(sockets: &[Socket], live: &LiveFirewall, plan: Option<&Plan>) -> Vec<Finding> {
    let mut out = Vec::new();
    let v4_closed = drops_input(live, &["ip", "inet"]) || live.ufw_enabled;
    let v6_closed = drops_input(live, &["ip6", "inet"]) || (live.ufw_enabled && !live.ufw_ipv6_off);
    if !v4_closed && !v6_closed {
        out.push(
            Finding::new(
                "fwplan/no-firewall",
                Severity::High,
                "No firewall: incoming traffic is accepted by default",
                "No nftables input chain drops by default and ufw is not enabled, so every listening socket below is reachable from the network.",
            )
            .fix(no_firewall_fix(sockets))
            .refs(["CIS-3.5.2.1"]),
        );
    } else if v4_closed && !v6_closed {
        out.push(Finding::new(
            "fwplan/ipv6-open",
            Severity::High,
            "IPv6 is open while IPv4 is filtered",
            "IPv4 input is dropped by default (an ip-family table, or ufw) but nothing filters IPv6 input (no ip6/inet table; or ufw with IPV6=no); services are reachable over IPv6.",
        ).fix("use an inet table (fwplan renders one), or IPV6=yes in /etc/default/ufw"));
    }
    let docker_proxy = sockets
        .iter()
        .any(|s| s.process.as_deref() == Some("docker-proxy"));
    if live.ufw_enabled && (live.docker_nat || docker_proxy) {
        out.push(Finding::new(
            "fwplan/docker-bypasses-ufw",
            Severity::High,
            "Docker-published ports bypass ufw",
            "Docker publishes ports with DNAT in its own nat chain (DOCKER), before ufw's INPUT rules see the packet, so `ufw deny` does not apply to them.",
        ).evidence("docker_nat_chain", live.docker_nat).evidence("docker_proxy", docker_proxy)
        .fix("publish on 127.0.0.1 (-p 127.0.0.1:8080:80) or filter in the DOCKER-USER chain"));
    }
    let ours_drops_forward = live.base_chains.iter().any(|(fam, t, _, hook, p)| {
        fam == "inet" && t == "hardkit" && hook == "forward" && p == "drop"
    });
    let others_forward = live
        .base_chains
        .iter()
        .any(|(_, t, _, hook, p)| t != "hardkit" && hook == "forward" && p == "accept")
        || live.docker_nat;
    if ours_drops_forward && others_forward {
        out.push(Finding::new(
            "fwplan/drop-is-final",
            Severity::Medium,
            "fwplan's forward chain drops traffic another table accepts",
            "In nftables a packet must be accepted by every base chain on its hook; a drop in table inet hardkit is final even when Docker's or libvirt's table accepts the packet.",
        ).fix("--default-forward allow on container or VM hosts"));
    }
    if let Some(plan) = plan {
        for s in sockets {
            if s.exposure != "all" {
                continue;
            }
            let probe: IpAddr = if s.address.contains(':') {
                "2001:db8::1"
                    .parse()
                    .unwrap_or(IpAddr::V6(Ipv6Addr::LOCALHOST))
            } else {
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))
            };
            let admitted = plan.rules.iter().any(|r| {
                r.action != crate::policy::RuleAction::Deny
                    && r.proto == s.proto()
                    && r.ports.iter().any(|p| p.contains(s.port))
            });
            let is_ssh = s.proto == "tcp"
                && (s.process.as_deref() == Some("sshd")
                    || plan.ssh_ports.iter().any(|p| p.port == s.port));
            if is_ssh && !plan.outcome(probe, Proto::Tcp, s.port).admits() && !admitted {
                out.push(
                    Finding::new(
                        "fwplan/ssh-not-admitted",
                        Severity::Critical,
                        format!("SSH port {} is not admitted by the policy", s.port),
                        "sshd listens here; applying this policy would cut every SSH session.",
                    )
                    .evidence("port", s.port)
                    .fix(format!("--allow {}/tcp", s.port)),
                );
            } else if admitted {
                out.push(
                    Finding::new(
                        "fwplan/exposed-listener",
                        Severity::Info,
                        format!(
                            "{}/{} ({}) listens on all interfaces and the policy admits it",
                            s.port,
                            s.proto,
                            s.process.as_deref().unwrap_or("?")
                        ),
                        "Reachable from the network by design; make sure it should be.",
                    )
                    .evidence("address", &s.address)
                    .evidence("port", s.port),
                );
            } else {
                out.push(Finding::new(
                    "fwplan/listener-without-rule",
                    Severity::Low,
                    format!("{}/{} ({}) listens on all interfaces with no rule", s.port, s.proto, s.process.as_deref().unwrap_or("?")),
                    "The default policy decides for it; if it is meant to be local, bind it to 127.0.0.1.",
                ).evidence("address", &s.address).evidence("port", s.port)
                .fix(format!("bind to 127.0.0.1, or --allow {}/{}", s.port, s.proto)));
            }
        }
        for rule in &plan.rules {
            if rule.action == crate::policy::RuleAction::Deny {
                continue;
            }
            let listened = sockets.iter().any(|s| {
                s.proto() == rule.proto
                    && s.exposure != "loopback"
                    && rule.ports.iter().any(|p| p.contains(s.port))
            });
            if !listened {
                out.push(
                    Finding::new(
                        "fwplan/rule-without-listener",
                        Severity::Low,
                        format!(
                            "{} {}/{} is admitted but nothing listens there",
                            rule.action.as_str(),
                            rule.ports_text(",", "-"),
                            rule.proto.as_str()
                        ),
                        "An open port with no service is harmless today and a surprise tomorrow.",
                    )
                    .evidence("origin", rule.origin.to_string()),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:08AE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12346 1 0000000000000000 100 0 0 10 0
   2: 0100007F:0CEA 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 12347 1 0000000000000000 100 0 0 10 0
";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 100 0 0 10 0
";

    #[test]
    fn no_firewall_advice_keeps_the_running_sshd_port() {
        let sshd = Socket {
            proto: "tcp".into(),
            address: "0.0.0.0".into(),
            port: 2222,
            process: Some("sshd".into()),
            pid: Some(7),
            exposure: "all".into(),
        };
        let f = findings(&[sshd], &LiveFirewall::default(), None);
        let fix = f
            .iter()
            .find(|f| f.id == "fwplan/no-firewall")
            .and_then(|f| f.fix.clone())
            .unwrap();
        assert!(fix.contains("--sshd - --ssh-port 2222 "), "{fix}");
        assert!(fix.starts_with("sshd-lint --json | fwplan apply"), "{fix}");
    }

    #[test]
    fn proc_net_tables_decode() {
        let v = parse_proc_net(TCP, "tcp", false);
        assert_eq!(
            v,
            vec![
                ("0.0.0.0".parse().unwrap(), 2222, 12345),
                ("127.0.0.1".parse().unwrap(), 3306, 12346)
            ]
        );
        let v = parse_proc_net(TCP6, "tcp", true);
        assert_eq!(v, vec![("::1".parse().unwrap(), 22, 222)]);
        assert_eq!(exposure("::1".parse().unwrap()), "loopback");
        assert_eq!(exposure("0.0.0.0".parse().unwrap()), "all");
    }

    #[test]
    fn nft_json_finds_base_chains_and_docker() {
        let live = parse_nft_json(r#"{"nftables":[{"metainfo":{"version":"1.0.6"}},{"table":{"family":"ip","name":"nat","handle":1}},{"chain":{"family":"ip","table":"nat","name":"DOCKER","handle":1}},{"table":{"family":"ip","name":"filter","handle":2}},{"chain":{"family":"ip","table":"filter","name":"INPUT","handle":1,"type":"filter","hook":"input","prio":0,"policy":"drop"}}]}"#).unwrap();
        assert!(live.docker_nat);
        let f = findings(&[], &live, None);
        assert!(f.iter().any(|f| f.id == "fwplan/ipv6-open"), "{f:?}");
        let f = findings(&[], &LiveFirewall::default(), None);
        assert_eq!(f[0].id, "fwplan/no-firewall");
    }

    #[test]
    fn docker_beside_ufw_and_a_final_forward_drop_are_reported() {
        let live = LiveFirewall {
            base_chains: vec![
                (
                    "inet".into(),
                    "hardkit".into(),
                    "forward".into(),
                    "forward".into(),
                    "drop".into(),
                ),
                (
                    "inet".into(),
                    "hardkit".into(),
                    "input".into(),
                    "input".into(),
                    "drop".into(),
                ),
            ],
            tables: vec![],
            docker_nat: true,
            ufw_enabled: true,
            ufw_ipv6_off: false,
        };
        let ids: Vec<String> = findings(&[], &live, None)
            .into_iter()
            .map(|f| f.id)
            .collect();
        assert_eq!(ids, ["fwplan/docker-bypasses-ufw", "fwplan/drop-is-final"]);
        let proxy = Socket {
            proto: "tcp".into(),
            address: "0.0.0.0".into(),
            port: 8080,
            process: Some("docker-proxy".into()),
            pid: Some(9),
            exposure: "all".into(),
        };
        let live = LiveFirewall {
            docker_nat: false,
            ..live
        };
        let ids: Vec<String> = findings(&[proxy], &live, None)
            .into_iter()
            .map(|f| f.id)
            .collect();
        assert!(
            ids.contains(&"fwplan/docker-bypasses-ufw".to_string()),
            "{ids:?}"
        );
    }

    #[test]
    fn ufw_with_ipv6_off_leaves_ipv6_open() {
        let live = LiveFirewall {
            ufw_enabled: true,
            ufw_ipv6_off: true,
            ..LiveFirewall::default()
        };
        let ids: Vec<String> = findings(&[], &live, None)
            .into_iter()
            .map(|f| f.id)
            .collect();
        assert_eq!(ids, ["fwplan/ipv6-open"]);
        let live = LiveFirewall {
            ufw_ipv6_off: false,
            ..live
        };
        assert!(findings(&[], &live, None).is_empty());
    }
}
