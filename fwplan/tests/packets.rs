//! Proof with real packets: the nft ruleset fwplan renders is loaded in a
//! throwaway server namespace and probed from a client namespace over a
//! veth pair, TCP and UDP, IPv4 and IPv6, from inside and outside source
//! addresses. Every probe is compared with what the plan says it should do
//! (`Plan::outcome`), so the model and the kernel must agree.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use clap::Parser;
use common::*;
use fwplan::cli::{Cli, Command};
use fwplan::plan::{Outcome, Plan};
use fwplan::policy::Proto;

fn plan_of(args: &[&str]) -> Plan {
    let mut argv = vec!["fwplan", "render"];
    argv.extend_from_slice(args);
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Render(r) => r.policy.to_plan().unwrap(),
        _ => unreachable!("render was parsed"),
    }
}

const TIMEOUT: Duration = Duration::from_millis(1000);

/// Probe every (source, protocol, port) and compare with the plan.
fn assert_matrix(lab: &Lab, plan: &Plan, sources: &[&str], tcp: &[u16], udp: &[u16]) -> usize {
    let mut probes = Vec::new();
    for src in sources {
        let addr: IpAddr = src.parse().unwrap();
        probes.extend(tcp.iter().map(|p| (addr, false, *p)));
        probes.extend(udp.iter().map(|p| (addr, true, *p)));
    }
    let got = lab.probe_all(&probes, TIMEOUT);
    let mut failures = Vec::new();
    for ((src, udp, port), probe) in probes.iter().zip(&got) {
        let proto = if *udp { Proto::Udp } else { Proto::Tcp };
        let want = match plan.outcome(*src, proto, *port) {
            Outcome::Accept | Outcome::AcceptLimited => Probe::Open,
            Outcome::Drop => Probe::TimedOut,
            Outcome::Reject => Probe::Refused,
        };
        if *probe != want {
            failures.push(format!(
                "{src} -> {port}/{}: kernel {probe:?}, plan {want:?}",
                proto.as_str()
            ));
        }
    }
    if !failures.is_empty() {
        let diag = |ns: &Netns, prog: &str, args: &[&str]| {
            String::from_utf8_lossy(&ns.exec(prog, args).stdout).into_owned()
        };
        panic!(
            "kernel and plan disagree:\n{}\nserver neighbours:\n{}client neighbours:\n{}server stats:\n{}",
            failures.join("\n"),
            diag(&lab.server, "ip", &["-6", "neigh"]),
            diag(&lab.client, "ip", &["-6", "neigh"]),
            diag(&lab.server, "sh", &["-c", "cat /proc/net/snmp6 | grep -vE ' 0$'; nft list ruleset | grep counter"]),
        );
    }
    probes.len()
}

/// The policy every backend's matrix test renders: allows, a source-limited
/// allow, a deny that overrides an allow, and a block list (written to DIR).
fn matrix_policy(dir: &std::path::Path) -> Vec<String> {
    let block = dir.join("block.txt");
    std::fs::write(&block, format!("{BLOCKED_V4}\n{BLOCKED_V6}\n")).unwrap();
    [
        "--allow",
        "80/tcp",
        "--allow",
        "53/udp#dns",
        "--allow",
        "8000/tcp@192.0.2.0/24,fd00:1::/64#inside-only",
        "--allow",
        "8080/tcp",
        "--deny",
        "8080/tcp@198.51.100.0/24,fd00:2::/64",
        "--block-from",
        block.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

/// The matrix policy's listeners, open while the returned guards live.
struct MatrixListeners {
    _tcp: Vec<std::net::TcpListener>,
    _udp: UdpEcho,
}

/// Listeners on the matrix policy's ports, and every source against them;
/// the listeners stay open (for spot checks) while the guards are kept.
fn assert_full_matrix(lab: &Lab, plan: &Plan) -> (usize, MatrixListeners) {
    let listeners = MatrixListeners {
        _tcp: lab.tcp_listeners(&[22, 80, 8000, 8080, 9999]),
        _udp: lab.udp_echo(&[53, 5353]),
    };
    let sources = [
        INSIDE_V4, OUTSIDE_V4, BLOCKED_V4, INSIDE_V6, OUTSIDE_V6, BLOCKED_V6,
    ];
    let n = assert_matrix(
        lab,
        plan,
        &sources,
        &[22, 80, 8000, 8080, 9999],
        &[53, 5353],
    );
    (n, listeners)
}

#[test]
fn allowed_pairs_connect_and_denied_ones_are_dropped() {
    if !hardkit_core::oracle::require_root("fwplan packets: allow/deny matrix")
        || hardkit_core::oracle::oracle("fwplan packets: allow/deny matrix", "nft").is_none()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let args = matrix_policy(dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let plan = plan_of(&args);
    let ruleset = render(&args);
    let lab = Lab::new();
    lab.warm_neighbours();
    lab.load(&ruleset);
    let (n, _listeners) = assert_full_matrix(&lab, &plan);
    assert_eq!(n, 42);
    // Spot checks that would catch a model and a ruleset wrong the same way.
    assert_eq!(lab.tcp_probe(INSIDE_V4, 8000, TIMEOUT), Probe::Open);
    assert_eq!(lab.tcp_probe(OUTSIDE_V4, 8000, TIMEOUT), Probe::TimedOut);
    assert_eq!(lab.tcp_probe(OUTSIDE_V6, 8080, TIMEOUT), Probe::TimedOut);
    assert_eq!(lab.tcp_probe(BLOCKED_V4, 80, TIMEOUT), Probe::TimedOut);
    assert_eq!(lab.udp_probe(INSIDE_V6, 53, TIMEOUT), Probe::Open);
    assert_eq!(lab.udp_probe(INSIDE_V6, 5353, TIMEOUT), Probe::TimedOut);
}

/// The same matrix with the ruleset loaded by each Debian release's own
/// nft (12's 1.0.6, 13's 1.1.3, testing's), from the cached roots
/// scripts/test builds: what reaches the kernel is that release's
/// bytecode. nft must configure this machine's network namespace, which a
/// sandbox's user namespace does not own, so it runs as the test, through
/// the root's own dynamic loader and libraries (never chrooted): these are
/// the test suite's roots, built from Debian's archive; an audited image's
/// nft only ever checks (`fwplan check`, in the sandbox).
#[test]
fn each_debian_release_nft_loads_a_ruleset_that_passes_the_matrix() {
    const TEST: &str = "fwplan packets: each Debian release's nft";
    if !hardkit_core::oracle::require_root(TEST) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let args = matrix_policy(dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let plan = plan_of(&args);
    let ruleset = render(&args);
    for suite in ["bookworm", "trixie", "forky"] {
        let Some(nft_cmd) = release_nft(TEST, suite) else {
            continue;
        };
        let version = std::process::Command::new(&nft_cmd[0])
            .args(&nft_cmd[1..])
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        let lab = Lab::new();
        lab.warm_neighbours();
        lab.load_with(&nft_cmd, &ruleset);
        let (n, _listeners) = assert_full_matrix(&lab, &plan);
        assert_eq!(n, 42, "{suite}");
        eprintln!("fwplan packets: Debian {suite}'s {version}: {n}/{n} probes as planned");
    }
}

#[test]
fn default_reject_refuses_instead_of_dropping() {
    if !hardkit_core::oracle::require_root("fwplan packets: default reject")
        || hardkit_core::oracle::oracle("fwplan packets: default reject", "nft").is_none()
    {
        return;
    }
    let args = [
        "--default-in",
        "reject",
        "--allow",
        "80/tcp",
        "--allow",
        "53/udp",
    ];
    let plan = plan_of(&args);
    let lab = Lab::new();
    lab.warm_neighbours();
    lab.load(&render(&args));
    let _tcp = lab.tcp_listeners(&[22, 80, 81]);
    let _udp = lab.udp_echo(&[53, 54]);
    assert_matrix(&lab, &plan, &[INSIDE_V4, INSIDE_V6], &[80, 81], &[53, 54]);
    assert_eq!(lab.tcp_probe(INSIDE_V6, 81, TIMEOUT), Probe::Refused);
    assert_eq!(lab.udp_probe(INSIDE_V4, 54, TIMEOUT), Probe::Refused);
}

/// Probe a `--limit 2222/tcp` port with a rate of 3/minute from several
/// sources: each gets exactly its burst of 3, then is dropped.
fn assert_rate_limit(lab: &Lab) {
    let _tcp = lab.tcp_listeners(&[2222]);
    let short = Duration::from_millis(400);
    let want = [
        Probe::Open,
        Probe::Open,
        Probe::Open,
        Probe::TimedOut,
        Probe::TimedOut,
    ];
    for src in [INSIDE_V4, INSIDE_V6] {
        let results: Vec<Probe> = (0..5).map(|_| lab.tcp_probe(src, 2222, short)).collect();
        assert_eq!(results, want, "from {src}");
    }
    // The limit is per source: another address still gets its burst.
    assert_eq!(lab.tcp_probe(OUTSIDE_V4, 2222, short), Probe::Open);
    assert_eq!(lab.tcp_probe(OUTSIDE_V6, 2222, short), Probe::Open);
}

const LIMIT_ARGS: [&str; 6] = [
    "--limit",
    "2222/tcp",
    "--limit-rate",
    "3/minute",
    "--ssh-port",
    "2222",
];

#[test]
fn rate_limited_port_drops_after_the_limit() {
    if !hardkit_core::oracle::require_root("fwplan packets: rate limit")
        || hardkit_core::oracle::oracle("fwplan packets: rate limit", "nft").is_none()
    {
        return;
    }
    let lab = Lab::new();
    lab.warm_neighbours();
    lab.load(&render(&LIMIT_ARGS));
    assert_rate_limit(&lab);
}

#[test]
fn iptables_rate_limit_matches_nft() {
    let test = "fwplan packets: iptables rate limit";
    if !hardkit_core::oracle::require_root(test)
        || hardkit_core::oracle::oracle(test, "iptables-restore").is_none()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let st = fwplan()
        .args(["render", "--backend", "iptables", "--out"])
        .arg(dir.path())
        .args(LIMIT_ARGS)
        .status()
        .unwrap();
    assert!(st.success());
    let lab = Lab::new();
    lab.warm_neighbours();
    for (prog, file) in [
        ("iptables-restore", "rules.v4"),
        ("ip6tables-restore", "rules.v6"),
    ] {
        let r = lab
            .server
            .exec(prog, &[dir.path().join(file).to_str().unwrap()]);
        assert!(
            r.status.success(),
            "{prog}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
    }
    assert_rate_limit(&lab);
}

#[test]
fn neighbour_discovery_keeps_ipv6_working_under_default_deny() {
    if !hardkit_core::oracle::require_root("fwplan packets: neighbour discovery")
        || hardkit_core::oracle::oracle("fwplan packets: neighbour discovery", "nft").is_none()
    {
        return;
    }
    // Fresh labs: the neighbour caches are empty, so the first IPv6 packet
    // needs a neighbour solicitation answered through the firewall.
    let lab = Lab::new();
    lab.load(&render(&["--allow", "80/tcp"]));
    let _tcp = lab.tcp_listeners(&[80]);
    assert_eq!(lab.tcp_probe(INSIDE_V6, 80, TIMEOUT), Probe::Open);

    // The control: with the essential ICMP types overridden away, the same
    // allowed port is unreachable over IPv6 while IPv4 (ARP is not IP) works.
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.json");
    std::fs::write(
        &policy,
        r#"{"rules":[{"action":"allow","ports":80,"proto":"tcp"}],"icmp":{"essential":false}}"#,
    )
    .unwrap();
    let lab = Lab::new();
    lab.load(&render(&["--policy", policy.to_str().unwrap()]));
    let _tcp = lab.tcp_listeners(&[80]);
    assert_eq!(lab.tcp_probe(INSIDE_V4, 80, TIMEOUT), Probe::Open);
    assert_eq!(lab.tcp_probe(INSIDE_V6, 80, TIMEOUT), Probe::TimedOut);
}

#[test]
fn iptables_rendering_passes_the_same_packet_matrix() {
    let test = "fwplan packets: iptables matrix";
    if !hardkit_core::oracle::require_root(test)
        || hardkit_core::oracle::oracle(test, "iptables-restore").is_none()
        || hardkit_core::oracle::oracle(test, "ip6tables-restore").is_none()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let args = matrix_policy(dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let plan = plan_of(&args);
    let out = dir.path().join("ipt");
    std::fs::create_dir(&out).unwrap();
    let st = fwplan()
        .args(["render", "--backend", "iptables", "--out"])
        .arg(&out)
        .args(args)
        .status()
        .unwrap();
    assert!(st.success());
    let lab = Lab::new();
    lab.warm_neighbours();
    for (prog, file) in [
        ("iptables-restore", "rules.v4"),
        ("ip6tables-restore", "rules.v6"),
    ] {
        let r = lab.server.exec(prog, &[out.join(file).to_str().unwrap()]);
        assert!(
            r.status.success(),
            "{prog}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
    }
    assert_full_matrix(&lab, &plan);
}

#[test]
fn ufw_script_passes_the_same_packet_matrix() {
    let test = "fwplan packets: ufw matrix";
    if !hardkit_core::oracle::require_root(test)
        || hardkit_core::oracle::oracle(test, "ufw").is_none()
        || hardkit_core::oracle::oracle(test, "unshare").is_none()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let args = matrix_policy(dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let plan = plan_of(&args);
    let st = fwplan()
        .args(["render", "--backend", "ufw", "--out"])
        .arg(dir.path())
        .args(args)
        .status()
        .unwrap();
    assert!(st.success());
    let lab = Lab::new();
    lab.warm_neighbours();
    // The real script, not a dry run: ufw loads its chains with
    // iptables-restore in the lab's server namespace.
    let script = format!("sh '{}' >/dev/null\n", dir.path().join("ufw.sh").display());
    let out = ufw_isolated(&lab.server, dir.path(), &script);
    assert!(
        out.status.success(),
        "ufw.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_full_matrix(&lab, &plan);
}

#[test]
fn ufw_limit_is_ufws_own_six_per_thirty_seconds() {
    let test = "fwplan packets: ufw limit";
    if !hardkit_core::oracle::require_root(test)
        || hardkit_core::oracle::oracle(test, "ufw").is_none()
        || hardkit_core::oracle::oracle(test, "unshare").is_none()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let st = fwplan()
        .args(["render", "--backend", "ufw", "--out"])
        .arg(dir.path())
        .args(LIMIT_ARGS)
        .status()
        .unwrap();
    assert!(st.success());
    let lab = Lab::new();
    lab.warm_neighbours();
    let script = format!("sh '{}' >/dev/null\n", dir.path().join("ufw.sh").display());
    let out = ufw_isolated(&lab.server, dir.path(), &script);
    assert!(
        out.status.success(),
        "ufw.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _tcp = lab.tcp_listeners(&[2222]);
    let short = Duration::from_millis(400);
    // --limit-rate cannot be expressed in ufw: its limit turns away the
    // 6th new connection from a source within 30 s, IPv4 and IPv6 alike
    // (rejected over IPv4; over IPv6 the reject does not reach the client).
    for src in [INSIDE_V4, INSIDE_V6] {
        let results: Vec<Probe> = (0..6).map(|_| lab.tcp_probe(src, 2222, short)).collect();
        assert_eq!(results[..5], [Probe::Open; 5], "from {src}");
        assert_ne!(results[5], Probe::Open, "from {src}");
    }
}

/// aistack's records of the demo's stack after its fix: Open WebUI on
/// loopback reached through the tunnel, Ollama on every interface with no
/// login (on the host's network).
const STACK: &str = r#"{"type":"ai_service","tool":"aistack","name":"ollama","app":"ollama","role":"backend","path":"/opt/ai/docker-compose.yml","line":4,"image":"ollama/ollama:0.5.7","auth":"none","auth_why":"Ollama has no login: whoever reaches the port uses it","reach":"host-firewall","listeners":[{"address":"0.0.0.0","port":11434,"protocol":"tcp","reach":"host-firewall","at":{"path":"/opt/ai/docker-compose.yml","line":10}}],"tunnel":[],"networks":[]}
{"type":"ai_service","tool":"aistack","name":"open-webui","app":"open-webui","role":"frontend","path":"/opt/ai/docker-compose.yml","line":15,"image":"ghcr.io/open-webui/open-webui:main","auth":"required","auth_why":"WEBUI_AUTH=True","reach":"loopback","listeners":[{"address":"127.0.0.1","port":3000,"protocol":"tcp","reach":"loopback"}],"tunnel":["chat.agent-01.example.com"],"networks":["default"]}
{"type":"tunnel_route","tool":"aistack","config":"/etc/cloudflared/config.yml","hostname":"chat.agent-01.example.com","service":"http://localhost:3000","access_enforced":true,"access_required":true,"target":"open-webui","at":{"path":"/etc/cloudflared/config.yml","line":5}}
{"type":"summary","tool":"aistack","counts":{"ai_service":2,"tunnel_route":1},"severity":{},"exit":0}
"#;

/// With a tunnel in front of the AI stack, the plan is SSH and nothing
/// else: an --allow from anywhere for the tunnel's app or for Ollama (no
/// login) is refused before anything is rendered, one limited to the admin
/// network is the operator's choice; and the kernel, loaded with the plan,
/// drops the AI ports from outside while SSH connects.
#[test]
fn a_tunnel_fronted_stack_admits_nothing_but_ssh() {
    let dir = tempfile::tempdir().unwrap();
    let stack = dir.path().join("stack.jsonl");
    std::fs::write(&stack, STACK).unwrap();
    let stack = stack.to_str().unwrap();
    for (port, who) in [
        (
            "11434/tcp",
            "ollama (ollama) listens there and asks for no login",
        ),
        (
            "3000/tcp",
            "open-webui (open-webui) is reached through the tunnel (chat.agent-01.example.com)",
        ),
    ] {
        let argv = ["fwplan", "render", "--stack", stack, "--allow", port];
        let Command::Render(r) = Cli::try_parse_from(argv).unwrap().command else {
            unreachable!()
        };
        let err = r.policy.to_plan().unwrap_err().to_string();
        assert!(
            err.contains(&format!("--allow '{port}'")) && err.contains(who),
            "{err}"
        );
    }
    // Admitted from the admin network only: allowed.
    plan_of(&["--stack", stack, "--allow", "11434/tcp@192.0.2.0/24"]);

    if !hardkit_core::oracle::require_root("fwplan packets: a tunnel-fronted stack")
        || hardkit_core::oracle::oracle("fwplan packets: a tunnel-fronted stack", "nft").is_none()
    {
        return;
    }
    let args = ["--stack", stack, "--default-in", "deny", "--ssh-port", "22"];
    let plan = plan_of(&args);
    let ruleset = render(&args);
    // This machine's nft, then each Debian release's own.
    let mut loaders: Vec<(&str, Option<Vec<std::ffi::OsString>>)> = vec![("this machine", None)];
    for suite in ["bookworm", "trixie", "forky"] {
        if let Some(nft_cmd) = release_nft("fwplan packets: a tunnel-fronted stack", suite) {
            loaders.push((suite, Some(nft_cmd)));
        }
    }
    for (which, nft_cmd) in loaders {
        let lab = Lab::new();
        lab.warm_neighbours();
        match &nft_cmd {
            Some(cmd) => lab.load_with(cmd, &ruleset),
            None => lab.load(&ruleset),
        }
        let _listeners = lab.tcp_listeners(&[22, 3000, 11434]);
        let n = assert_matrix(
            &lab,
            &plan,
            &[INSIDE_V4, OUTSIDE_V4, INSIDE_V6, OUTSIDE_V6],
            &[22, 3000, 11434],
            &[],
        );
        assert_eq!(n, 12, "{which}");
        assert_eq!(
            lab.tcp_probe(OUTSIDE_V4, 22, TIMEOUT),
            Probe::Open,
            "{which}"
        );
        assert_eq!(
            lab.tcp_probe(OUTSIDE_V4, 11434, TIMEOUT),
            Probe::TimedOut,
            "{which}"
        );
        assert_eq!(
            lab.tcp_probe(OUTSIDE_V6, 3000, TIMEOUT),
            Probe::TimedOut,
            "{which}"
        );
        eprintln!(
            "fwplan packets: a tunnel-fronted stack, {which}'s nft: {n}/{n} probes as planned"
        );
    }
}
