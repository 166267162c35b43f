//! A throwaway two-namespace lab for packet tests: a server and a client
//! network namespace joined by a veth pair, with documentation and ULA
//! addresses that exist only inside them. Everything is deleted on drop;
//! names carry the process id and a counter so tests can run in parallel.
//! Nothing here touches the host's own network namespace: nft and the
//! sockets run in threads that joined a lab namespace with setns(2).
#![allow(dead_code)]

use std::fs::File;
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nix::sched::{setns, CloneFlags};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A short unique tag: `hk` + pid + counter (veth names must fit in 15 bytes).
pub fn unique_tag() -> String {
    format!(
        "hk{:05}{:02}",
        std::process::id() % 100_000,
        COUNTER.fetch_add(1, Ordering::SeqCst) % 100
    )
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("running ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace that is deleted when dropped.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(name: String) -> Netns {
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        // No duplicate address detection in the lab, for link-local
        // addresses too: a link whose addresses are still tentative loses
        // the first neighbour solicitations, and with them the first probes.
        // These sysctls belong to the lab namespace only.
        let out = ns.exec(
            "sh",
            &["-c", "echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad && echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad"],
        );
        assert!(
            out.status.success(),
            "disabling DAD: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ns
    }

    /// Run a program inside the namespace.
    pub fn exec(&self, program: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name, program])
            .args(args)
            .output()
            .expect("running ip netns exec")
    }

    /// Run `f` in a thread that joined this namespace (network namespaces
    /// are per thread, so the test's own thread never moves).
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = File::open(&path).expect("opening the netns");
                setns(&file, CloneFlags::CLONE_NEWNET).expect("setns");
                f()
            })
            .join()
            .expect("netns thread panicked")
        })
    }

    /// The live `table inet hardkit`, or None.
    pub fn table(&self) -> Option<String> {
        let out = self.exec("nft", &["list", "table", "inet", "hardkit"]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub fn nft_file(&self, path: &Path, check_only: bool) -> Output {
        let p = path.to_str().expect("utf-8 path");
        if check_only {
            self.exec("nft", &["-c", "-f", p])
        } else {
            self.exec("nft", &["-f", p])
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

pub const SERVER_V4: &str = "192.0.2.1";
pub const SERVER_V6: &str = "fd00:1::1";
/// Client addresses: "inside" ones share the server's subnets, "outside" ones
/// (198.51.100.0/24, fd00:2::/64) stand for the rest of the world.
pub const INSIDE_V4: &str = "192.0.2.2";
pub const OUTSIDE_V4: &str = "198.51.100.2";
pub const INSIDE_V6: &str = "fd00:1::2";
pub const OUTSIDE_V6: &str = "fd00:2::2";
/// An inside address the tests put on the block list.
pub const BLOCKED_V4: &str = "192.0.2.66";
pub const BLOCKED_V6: &str = "fd00:1::66";

pub struct Lab {
    pub server: Netns,
    pub client: Netns,
}

impl Lab {
    pub fn new() -> Lab {
        let tag = unique_tag();
        let server = Netns::new(format!("{tag}-srv"));
        let client = Netns::new(format!("{tag}-cli"));
        let (vs, vc) = (format!("{tag}s"), format!("{tag}c"));
        ip(&[
            "link",
            "add",
            &vs,
            "netns",
            &server.name,
            "type",
            "veth",
            "peer",
            "name",
            &vc,
            "netns",
            &client.name,
        ]);
        for (ns, dev, addrs) in [
            (
                &server,
                &vs,
                [
                    "192.0.2.1/24",
                    "198.51.100.1/24",
                    "fd00:1::1/64",
                    "fd00:2::1/64",
                ]
                .as_slice(),
            ),
            (
                &client,
                &vc,
                [
                    "192.0.2.2/24",
                    "198.51.100.2/24",
                    "192.0.2.66/24",
                    "fd00:1::2/64",
                    "fd00:2::2/64",
                    "fd00:1::66/64",
                ]
                .as_slice(),
            ),
        ] {
            for a in addrs {
                // nodad: the address is usable at once, no 1-2 s of DAD.
                if a.contains(':') {
                    ip(&["-n", &ns.name, "addr", "add", a, "dev", dev, "nodad"]);
                } else {
                    ip(&["-n", &ns.name, "addr", "add", a, "dev", dev]);
                }
            }
            ip(&["-n", &ns.name, "link", "set", dev, "up"]);
        }
        Lab { server, client }
    }

    /// Resolve neighbours both ways for every client address, before any
    /// ruleset is loaded. On a fresh veth the first multicast neighbour
    /// solicitation the server sends for a second client address is
    /// sometimes lost (seen with no firewall at all), and the first packet
    /// then waits a full second for the retry; probes with 1 s timeouts
    /// must not depend on that. The cold-cache case through the firewall
    /// has its own test.
    pub fn warm_neighbours(&self) {
        for src in [
            INSIDE_V4, OUTSIDE_V4, BLOCKED_V4, INSIDE_V6, OUTSIDE_V6, BLOCKED_V6,
        ] {
            let ok = (0..3)
                .any(|_| self.tcp_probe(src, 9, Duration::from_millis(1500)) == Probe::Refused);
            assert!(
                ok,
                "lab: no answer from the server to {src} without a firewall"
            );
        }
    }

    /// Load an nft file in the server namespace; panics with nft's message.
    pub fn load(&self, ruleset: &str) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.nft");
        std::fs::write(&path, ruleset).unwrap();
        let out = self.server.nft_file(&path, false);
        assert!(
            out.status.success(),
            "nft -f: {}\n{ruleset}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Load an nft file in the server namespace with another nft: `nft`
    /// is the command and the arguments before nft's own (a Debian root's
    /// nft through that root's dynamic loader); panics with its message.
    pub fn load_with(&self, nft: &[std::ffi::OsString], ruleset: &str) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.nft");
        std::fs::write(&path, ruleset).unwrap();
        let out = Command::new("ip")
            .args(["netns", "exec", &self.server.name])
            .args(nft)
            .arg("-f")
            .arg(&path)
            .output()
            .expect("running ip netns exec");
        assert!(
            out.status.success(),
            "{nft:?} -f: {}\n{ruleset}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// TCP listeners (dual-stack, on ::) on every port, kept open while the
    /// returned value lives. The kernel completes handshakes from the
    /// backlog, so no accept loop is needed.
    pub fn tcp_listeners(&self, ports: &[u16]) -> Vec<TcpListener> {
        self.server.run(|| {
            ports
                .iter()
                .map(|p| TcpListener::bind(("::", *p)).expect("bind tcp"))
                .collect()
        })
    }

    /// UDP echo servers on every port, stopped when the guard drops.
    pub fn udp_echo(&self, ports: &[u16]) -> UdpEcho {
        let stop = Arc::new(AtomicBool::new(false));
        let sockets: Vec<UdpSocket> = self.server.run(|| {
            // Bound to the server addresses the probes use, so replies come
            // from the address the client sent to (a socket on :: would
            // answer an outside source from the address nearest to it).
            ports
                .iter()
                .flat_map(|p| {
                    [SERVER_V4, SERVER_V6].map(|a| {
                        UdpSocket::bind((a.parse::<IpAddr>().unwrap(), *p)).expect("bind udp")
                    })
                })
                .collect()
        });
        let mut threads = Vec::new();
        for sock in sockets {
            let stop = stop.clone();
            sock.set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            threads.push(std::thread::spawn(move || {
                let mut buf = [0u8; 1500];
                while !stop.load(Ordering::SeqCst) {
                    if let Ok((n, from)) = sock.recv_from(&mut buf) {
                        let _ = sock.send_to(&buf[..n], from);
                    }
                }
            }));
        }
        UdpEcho { stop, threads }
    }

    /// Connect from `src` (a client address) to the server.
    pub fn tcp_probe(&self, src: &str, port: u16, timeout: Duration) -> Probe {
        let src: IpAddr = src.parse().unwrap();
        self.client.run(|| tcp_connect(src, port, timeout))
    }

    pub fn udp_probe(&self, src: &str, port: u16, timeout: Duration) -> Probe {
        let src: IpAddr = src.parse().unwrap();
        self.client.run(|| udp_roundtrip(src, port, timeout))
    }

    /// Many probes at once, each in its own client-namespace thread, so a
    /// matrix of dropped probes costs one timeout, not one each.
    pub fn probe_all(&self, probes: &[(IpAddr, bool, u16)], timeout: Duration) -> Vec<Probe> {
        let path = format!("/run/netns/{}", self.client.name);
        std::thread::scope(|s| {
            let handles: Vec<_> = probes
                .iter()
                .map(|&(src, udp, port)| {
                    let path = path.clone();
                    s.spawn(move || {
                        let file = File::open(&path).expect("opening the netns");
                        setns(&file, CloneFlags::CLONE_NEWNET).expect("setns");
                        if udp {
                            udp_roundtrip(src, port, timeout)
                        } else {
                            tcp_connect(src, port, timeout)
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("probe thread"))
                .collect()
        })
    }
}

pub struct UdpEcho {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for UdpEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// TCP handshake completed, or the UDP echo came back.
    Open,
    /// TCP RST or ICMP port unreachable: rejected.
    Refused,
    /// Nothing came back: dropped.
    TimedOut,
}

fn server_for(src: IpAddr) -> IpAddr {
    if src.is_ipv4() {
        SERVER_V4.parse().unwrap()
    } else {
        SERVER_V6.parse().unwrap()
    }
}

fn bound_socket(src: IpAddr, ty: Type, proto: Protocol) -> Socket {
    let domain = if src.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, ty, Some(proto)).expect("socket");
    s.bind(&SockAddr::from(SocketAddr::new(src, 0)))
        .expect("bind client address");
    s
}

/// Must run in the client namespace.
pub fn tcp_connect(src: IpAddr, port: u16, timeout: Duration) -> Probe {
    let s = bound_socket(src, Type::STREAM, Protocol::TCP);
    let dst = SockAddr::from(SocketAddr::new(server_for(src), port));
    match s.connect_timeout(&dst, timeout) {
        Ok(()) => Probe::Open,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Probe::Refused,
        Err(e)
            if e.kind() == std::io::ErrorKind::TimedOut
                || e.kind() == std::io::ErrorKind::WouldBlock =>
        {
            Probe::TimedOut
        }
        Err(e) => panic!("connect from {src} to port {port}: {e}"),
    }
}

/// Must run in the client namespace.
pub fn udp_roundtrip(src: IpAddr, port: u16, timeout: Duration) -> Probe {
    let s = bound_socket(src, Type::DGRAM, Protocol::UDP);
    s.connect(&SockAddr::from(SocketAddr::new(server_for(src), port)))
        .expect("udp connect");
    s.set_read_timeout(Some(timeout)).unwrap();
    s.send(b"fwplan probe").expect("udp send");
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 64];
    match s.recv(&mut buf) {
        Ok(_) => Probe::Open,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Probe::Refused,
        Err(e)
            if e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut =>
        {
            Probe::TimedOut
        }
        Err(e) => panic!("udp from {src} to port {port}: {e}"),
    }
}

/// The fwplan binary.
pub fn fwplan() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fwplan"))
}

/// Render with fwplan itself (the CLI is what users run).
pub fn render(args: &[&str]) -> String {
    let out = fwplan().arg("render").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "fwplan render {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Run a shell script with ufw isolated: inside `ns` (its own network
/// namespace, so iptables changes land there), in a private mount namespace
/// with throwaway copies of /etc/ufw and /etc/default/ufw and an empty /run.
/// Even `ufw --dry-run` writes (reset makes backups, `--force enable` sets
/// ENABLED=yes), so nothing ufw runs here may see the host's files. The copy
/// of /etc/default/ufw has IPT_SYSCTL emptied: not every sysctl ufw sets is
/// per network namespace.
pub fn ufw_isolated(ns: &Netns, dir: &Path, script: &str) -> Output {
    let etc = dir.join("etc-ufw");
    let default = dir.join("default-ufw");
    if !etc.exists() {
        let cp = Command::new("cp")
            .args(["-a", "/etc/ufw"])
            .arg(&etc)
            .status()
            .unwrap();
        assert!(cp.success());
        let text = std::fs::read_to_string("/etc/default/ufw").unwrap();
        let text: String = text
            .lines()
            .map(|l| {
                if l.starts_with("IPT_SYSCTL=") {
                    "IPT_SYSCTL=\n".to_string()
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(&default, text).unwrap();
    }
    let wrapper = format!(
        "set -e\nmount -t tmpfs tmpfs /run\nmount --bind '{}' /etc/ufw\nmount --bind '{}' /etc/default/ufw\n{script}",
        etc.display(),
        default.display()
    );
    ns.exec(
        "unshare",
        &["-m", "--propagation", "private", "sh", "-c", &wrapper],
    )
}

/// The nft of the cached Debian root of `suite`, as the words of a command
/// that runs it through that root's own dynamic loader and libraries (the
/// test suite's roots, built from Debian's archive; never an audited
/// image's programs: those only check, in the sandbox). None, said loudly,
/// when the root is not there.
pub fn release_nft(test: &str, suite: &str) -> Option<Vec<std::ffi::OsString>> {
    let root_dir = hardkit_core::oracle::debian_root(&format!("{test}: {suite}"), suite)?;
    let root = hardkit_core::Root::new(&root_dir).unwrap();
    let (Ok(ldso), Ok(nft), Ok(libs)) = (
        root.resolve("/lib64/ld-linux-x86-64.so.2"),
        root.resolve("/usr/sbin/nft"),
        root.resolve("/usr/lib/x86_64-linux-gnu"),
    ) else {
        panic!("{suite}: the cached root has no nft or loader");
    };
    Some(vec![
        ldso.into_os_string(),
        "--library-path".into(),
        libs.into_os_string(),
        nft.into_os_string(),
    ])
}
