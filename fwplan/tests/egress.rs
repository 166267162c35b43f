//! `--egress`: per-account outbound rules, proven with real packets. The
//! ruleset is loaded in the lab's client namespace (its output hook is the
//! one that judges the client's own connections), and connections are made
//! from there by three accounts: the confined one (uid 4242), another
//! (uid 4343) and root. Each thread takes its uid with a raw setresuid, which
//! changes that thread's credentials only, so the socket's owner is that
//! account. Every probe is compared with the plan's model
//! (`egress::admits`): the confined account reaches exactly its
//! destinations and ports and is refused at once elsewhere; the others reach
//! everything. Rendered for nft and for iptables (owner match).

mod common;

use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use clap::Parser;
use common::*;
use fwplan::cli::{Cli, Command as FwCommand};
use fwplan::plan::Plan;
use fwplan::policy::Proto;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

const CONFINED: u32 = 4242;
const OTHER: u32 = 4343;
const TIMEOUT: Duration = Duration::from_millis(1000);

fn plan_of(args: &[&str]) -> Plan {
    let mut argv = vec!["fwplan", "render"];
    argv.extend_from_slice(args);
    match Cli::try_parse_from(argv).unwrap().command {
        FwCommand::Render(r) => r.policy.to_plan().unwrap(),
        _ => unreachable!("render was parsed"),
    }
}

/// What a connection from the client got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Got {
    Open,
    /// Refused at once (a reset, an ICMP error, or the local stack's EPERM).
    Refused,
    TimedOut,
}

fn classify(e: &std::io::Error) -> Got {
    use std::io::ErrorKind::*;
    match e.kind() {
        TimedOut | WouldBlock => Got::TimedOut,
        ConnectionRefused | PermissionDenied | HostUnreachable | NetworkUnreachable => Got::Refused,
        _ if matches!(e.raw_os_error(), Some(1 | 13 | 111 | 113)) => Got::Refused,
        _ => panic!("unexpected error: {e}"),
    }
}

/// Connect as `uid` (this thread only) from the client namespace.
fn probe_as(lab: &Lab, uid: u32, dst: IpAddr, proto: Proto, port: u16) -> Got {
    lab.client.run(|| {
        // SAFETY: setresuid on this thread only (the raw system call, not
        // glibc's wrapper that changes every thread of the process).
        let r = unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) };
        assert_eq!(r, 0, "setresuid {uid}");
        let domain = if dst.is_ipv4() {
            Domain::IPV4
        } else {
            Domain::IPV6
        };
        let to = SockAddr::from(SocketAddr::new(dst, port));
        match proto {
            Proto::Tcp => {
                let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP)).unwrap();
                match s.connect_timeout(&to, TIMEOUT) {
                    Ok(()) => Got::Open,
                    Err(e) => classify(&e),
                }
            }
            Proto::Udp => {
                let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).unwrap();
                s.connect(&to).unwrap();
                s.set_read_timeout(Some(TIMEOUT)).unwrap();
                if let Err(e) = s.send(b"egress probe") {
                    return classify(&e);
                }
                let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 64];
                match s.recv(&mut buf) {
                    Ok(_) => Got::Open,
                    Err(e) => classify(&e),
                }
            }
        }
    })
}

fn load_in_client(lab: &Lab, program: &str, file_arg: &[&str], text: &str) {
    load_in_client_with(lab, &[program.into()], file_arg, text);
}

/// The same with a program given as a command line (a root's own nft run
/// through its own loader).
fn load_in_client_with(lab: &Lab, program: &[std::ffi::OsString], file_arg: &[&str], text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules");
    std::fs::write(&path, text).unwrap();
    let mut args: Vec<String> = file_arg.iter().map(|s| s.to_string()).collect();
    args.push(path.display().to_string());
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.client.name])
        .args(program)
        .args(&args)
        .output()
        .unwrap();
    let program = program
        .last()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    assert!(
        out.status.success(),
        "{program}: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const POLICY: &[&str] = &[
    "--allow",
    "22/tcp",
    "--egress",
    "4242:443/tcp@192.0.2.1/32",
    "--egress",
    "4242:53/udp@192.0.2.0/24,fd00:1::/64",
    "--egress",
    "4242:any@fd00:1::1/128",
];

/// The matrix: three accounts, both families, the listening ports (the
/// server's listeners are made by the caller and outlive it).
fn assert_egress_matrix(lab: &Lab, plan: &Plan) -> usize {
    let mut failures = Vec::new();
    let mut n = 0;
    for uid in [CONFINED, OTHER, 0] {
        for dst in [SERVER_V4, "198.51.100.1", SERVER_V6, "fd00:2::1"] {
            let dst: IpAddr = dst.parse().unwrap();
            for (proto, port) in [
                (Proto::Tcp, 80),
                (Proto::Tcp, 443),
                (Proto::Tcp, 8000),
                (Proto::Udp, 53),
                (Proto::Udp, 5353),
            ] {
                // (the lab's UDP echo answers on the first address of each
                // family only; TCP listens on all of them)
                if proto == Proto::Udp && !matches!(dst.to_string().as_str(), SERVER_V4 | SERVER_V6)
                {
                    continue;
                }
                n += 1;
                let want = match fwplan::egress::admits(&plan.egress, uid, dst, proto, port) {
                    Some(false) => Got::Refused,
                    Some(true) | None => Got::Open,
                };
                let got = probe_as(lab, uid, dst, proto, port);
                if got != want {
                    failures.push(format!(
                        "uid {uid} -> {dst} {port}/{}: kernel {got:?}, plan {want:?}",
                        proto.as_str()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "kernel and plan disagree:\n{}",
        failures.join("\n")
    );
    n
}

#[test]
fn nft_confines_one_account_and_leaves_the_others_alone() {
    let test = "fwplan egress: nft per-account output rules with packets";
    if !hardkit_core::oracle::require_root(test)
        || hardkit_core::oracle::oracle(test, "nft").is_none()
    {
        return;
    }
    let plan = plan_of(POLICY);
    let ruleset = render(POLICY);
    let lab = Lab::new();
    lab.warm_neighbours();
    load_in_client(&lab, "nft", &["-f"], &ruleset);
    let _tcp = lab.tcp_listeners(&[80, 443, 8000]);
    let _udp = lab.udp_echo(&[53, 5353]);
    let n = assert_egress_matrix(&lab, &plan);
    assert_eq!(n, 48);
    // Spot checks a wrong model and a wrong ruleset could share.
    let v4: IpAddr = SERVER_V4.parse().unwrap();
    assert_eq!(probe_as(&lab, CONFINED, v4, Proto::Tcp, 443), Got::Open);
    assert_eq!(probe_as(&lab, CONFINED, v4, Proto::Tcp, 80), Got::Refused);
    assert_eq!(probe_as(&lab, OTHER, v4, Proto::Tcp, 80), Got::Open);
    assert_eq!(probe_as(&lab, 0, v4, Proto::Tcp, 8000), Got::Open);
}

#[test]
fn iptables_owner_match_passes_the_same_matrix() {
    let test = "fwplan egress: iptables owner match with packets";
    if !hardkit_core::oracle::require_root(test)
        || hardkit_core::oracle::oracle(test, "iptables-restore").is_none()
        || hardkit_core::oracle::oracle(test, "ip6tables-restore").is_none()
    {
        return;
    }
    let plan = plan_of(POLICY);
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<&str> = POLICY.to_vec();
    let out_dir = dir.path().display().to_string();
    args.extend(["--backend", "iptables", "--out", &out_dir]);
    render(&args);
    let lab = Lab::new();
    lab.warm_neighbours();
    let v4 = std::fs::read_to_string(dir.path().join("rules.v4")).unwrap();
    let v6 = std::fs::read_to_string(dir.path().join("rules.v6")).unwrap();
    load_in_client(&lab, "iptables-restore", &[], &v4);
    load_in_client(&lab, "ip6tables-restore", &[], &v6);
    let _tcp = lab.tcp_listeners(&[80, 443, 8000]);
    let _udp = lab.udp_echo(&[53, 5353]);
    assert_eq!(assert_egress_matrix(&lab, &plan), 48);
}

#[test]
fn ufw_cannot_and_says_so() {
    let out = fwplan()
        .args(["render", "--backend", "ufw"])
        .args(POLICY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--egress") && err.contains("ufw has no per-account rules"),
        "{err}"
    );
}

/// `--egress-only`: the same rules in a table of their own (what
/// first-five adds once the service's account exists), loaded beside a main
/// table that has no output rules: the same matrix.
#[test]
fn the_egress_only_table_passes_the_same_matrix() {
    let test = "fwplan egress: --egress-only table with packets";
    if !hardkit_core::oracle::require_root(test)
        || hardkit_core::oracle::oracle(test, "nft").is_none()
    {
        return;
    }
    let plan = plan_of(POLICY);
    let main = render(&["--allow", "22/tcp"]);
    let mut args: Vec<&str> = POLICY.to_vec();
    args.push("--egress-only");
    let egress = render(&args);
    assert!(
        egress.contains("table inet hardkit_egress") && !egress.contains("hook input"),
        "{egress}"
    );
    let lab = Lab::new();
    lab.warm_neighbours();
    load_in_client(&lab, "nft", &["-f"], &main);
    load_in_client(&lab, "nft", &["-f"], &egress);
    let _tcp = lab.tcp_listeners(&[80, 443, 8000]);
    let _udp = lab.udp_echo(&[53, 5353]);
    assert_eq!(assert_egress_matrix(&lab, &plan), 48);
}

/// The same matrix with the rules loaded by each Debian release's own nft
/// (12's 1.0.6, 13's 1.1.3, testing's), from the cached roots, through each
/// root's own loader and libraries (the suite's roots, never an audited
/// image's programs): what reaches the kernel is that release's bytecode.
#[test]
fn each_debian_release_nft_loads_rules_that_pass_the_egress_matrix() {
    const TEST: &str = "fwplan egress: each Debian release's nft with packets";
    if !hardkit_core::oracle::require_root(TEST) {
        return;
    }
    let plan = plan_of(POLICY);
    let ruleset = render(POLICY);
    for suite in ["bookworm", "trixie", "forky"] {
        let Some(nft_cmd) = release_nft(TEST, suite) else {
            continue;
        };
        let lab = Lab::new();
        lab.warm_neighbours();
        load_in_client_with(&lab, &nft_cmd, &["-f"], &ruleset);
        let _tcp = lab.tcp_listeners(&[80, 443, 8000]);
        let _udp = lab.udp_echo(&[53, 5353]);
        let n = assert_egress_matrix(&lab, &plan);
        assert_eq!(n, 48, "{suite}");
        eprintln!("fwplan egress: Debian {suite}'s nft: {n}/{n} probes as planned");
    }
}
