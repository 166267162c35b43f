//! The lint: judgements on the *effective* configuration (after Include,
//! first-value-wins, Match and defaults), each pointing at the line that
//! decides it, plus findings about the text itself (shadowed lines, Match
//! blocks that re-enable what the global section disables, lines after a
//! Match block that look global, deprecated keywords).
//!
//! References: CIS Debian Linux 12 Benchmark section 5.1 (`CIS-Debian12-5.1.N`),
//! dev-sec ssh-baseline (`dev-sec:sshd-NN`, best-effort mapping), Lynis
//! (`lynis:SSH-7408` for option checks, `lynis:SSH-7440` for AllowUsers/Groups).

use std::path::Path;

use hardkit_core::{Finding, Location, Severity};

use crate::effective::{Loc, Reading, Store};
use crate::print::{default_value, Line};

fn at(loc: &Option<Loc>, main: &Path) -> Location {
    match loc {
        Some(l) => Location::new(l.path.clone(), Some(l.line)),
        None => Location::new(main.to_path_buf(), None),
    }
}

fn line<'a>(lines: &'a [Line], key: &str) -> Option<&'a Line> {
    lines.iter().find(|l| l.key == key)
}

struct Check {
    id: &'static str,
    key: &'static str,
    severity: Severity,
    title: &'static str,
    detail: &'static str,
    fix: &'static str,
    refs: &'static [&'static str],
    bad: fn(&str) -> bool,
}

const SSH: &str = "lynis:SSH-7408";

static CHECKS: &[Check] = &[
    Check { id: "sshd/permit-root-login", key: "permitrootlogin", severity: Severity::High, title: "Root can log in with a password", detail: "PermitRootLogin yes lets anyone who guesses or steals root's password in; log in as a user and escalate instead.", fix: "PermitRootLogin no", refs: &["CIS-Debian12-5.1.20", "dev-sec:sshd-07", SSH], bad: |v| v == "yes" },
    Check { id: "sshd/permit-root-login", key: "permitrootlogin", severity: Severity::Medium, title: "Root can log in directly (with a key)", detail: "Direct root logins leave no trace of who acted; CIS requires PermitRootLogin no.", fix: "PermitRootLogin no", refs: &["CIS-Debian12-5.1.20", "dev-sec:sshd-07", SSH], bad: |v| v == "without-password" || v == "prohibit-password" || v == "forced-commands-only" },
    Check { id: "sshd/password-authentication", key: "passwordauthentication", severity: Severity::High, title: "Password authentication is enabled", detail: "sshd accepts passwords, so every scanner on the internet can guess them; use keys.", fix: "PasswordAuthentication no", refs: &["dev-sec:sshd-22", SSH], bad: |v| v == "yes" },
    Check { id: "sshd/permit-empty-passwords", key: "permitemptypasswords", severity: Severity::Critical, title: "Accounts with empty passwords can log in", detail: "PermitEmptyPasswords yes lets anyone log in to an account that has no password.", fix: "PermitEmptyPasswords no", refs: &["CIS-Debian12-5.1.19", "dev-sec:sshd-06", SSH], bad: |v| v == "yes" },
    Check { id: "sshd/pubkey-authentication", key: "pubkeyauthentication", severity: Severity::Medium, title: "Public-key authentication is disabled", detail: "Keys are the strong way to log in; without them users fall back to passwords.", fix: "PubkeyAuthentication yes", refs: &[SSH], bad: |v| v == "no" },
    Check { id: "sshd/hostbased-authentication", key: "hostbasedauthentication", severity: Severity::Medium, title: "Host-based authentication is enabled", detail: "Trusting the client host (rhosts-style) lets one compromised machine log in as its users everywhere.", fix: "HostbasedAuthentication no", refs: &["CIS-Debian12-5.1.10", "dev-sec:sshd-05", SSH], bad: |v| v == "yes" },
    Check { id: "sshd/ignore-rhosts", key: "ignorerhosts", severity: Severity::Medium, title: ".rhosts files are honoured", detail: "IgnoreRhosts no makes users' .rhosts/.shosts files part of host-based trust.", fix: "IgnoreRhosts yes", refs: &["CIS-Debian12-5.1.11", SSH], bad: |v| v != "yes" },
    Check { id: "sshd/permit-user-environment", key: "permituserenvironment", severity: Severity::Medium, title: "Users can set environment variables for sshd", detail: "PermitUserEnvironment lets ~/.ssh/environment set LD_PRELOAD and friends, bypassing ForceCommand and restrictions.", fix: "PermitUserEnvironment no", refs: &["CIS-Debian12-5.1.21", SSH], bad: |v| v != "no" },
    Check { id: "sshd/x11-forwarding", key: "x11forwarding", severity: Severity::Low, title: "X11 forwarding is enabled", detail: "A server rarely needs X11; a forwarded display exposes the client's screen and keyboard to the server.", fix: "X11Forwarding no", refs: &["dev-sec:sshd-14", SSH], bad: |v| v == "yes" },
    Check { id: "sshd/agent-forwarding", key: "allowagentforwarding", severity: Severity::Low, title: "Agent forwarding is allowed", detail: "Root on this server can use any forwarded agent to log in elsewhere as that user.", fix: "AllowAgentForwarding no", refs: &[SSH], bad: |v| v == "yes" },
    Check { id: "sshd/tcp-forwarding", key: "allowtcpforwarding", severity: Severity::Low, title: "TCP forwarding is allowed", detail: "Forwarding turns a shell account into a tunnel into the network behind this server.", fix: "AllowTcpForwarding no", refs: &["CIS-Debian12-5.1.8", SSH], bad: |v| v != "no" },
    Check { id: "sshd/streamlocal-forwarding", key: "allowstreamlocalforwarding", severity: Severity::Low, title: "Unix-socket forwarding is allowed", detail: "Forwarded Unix sockets reach local services (docker.sock, databases) from outside.", fix: "AllowStreamLocalForwarding no", refs: &["CIS-Debian12-5.1.8", SSH], bad: |v| v != "no" },
    Check { id: "sshd/permit-tunnel", key: "permittunnel", severity: Severity::Medium, title: "tun/tap tunnelling is allowed", detail: "PermitTunnel gives clients a layer-2/3 VPN into the server's networks.", fix: "PermitTunnel no", refs: &[SSH], bad: |v| v != "no" },
    Check { id: "sshd/gateway-ports", key: "gatewayports", severity: Severity::Medium, title: "Remote forwards can listen on all interfaces", detail: "GatewayPorts lets a user publish a port of their machine to the whole network through this server.", fix: "GatewayPorts no", refs: &[SSH], bad: |v| v != "no" },
    Check { id: "sshd/max-auth-tries", key: "maxauthtries", severity: Severity::Low, title: "MaxAuthTries is above 4", detail: "More attempts per connection help password guessing; CIS recommends 4 or fewer.", fix: "MaxAuthTries 4", refs: &["CIS-Debian12-5.1.16", SSH], bad: |v| v.parse::<i64>().is_ok_and(|n| n > 4) },
    Check { id: "sshd/login-grace-time", key: "logingracetime", severity: Severity::Low, title: "LoginGraceTime is above 60 seconds (or unlimited)", detail: "Unauthenticated connections held open for long help exhaust MaxStartups.", fix: "LoginGraceTime 60", refs: &["CIS-Debian12-5.1.13", SSH], bad: |v| v.parse::<i64>().is_ok_and(|n| n == 0 || n > 60) },
    Check { id: "sshd/max-sessions", key: "maxsessions", severity: Severity::Low, title: "MaxSessions is above 10", detail: "Many multiplexed sessions per connection make abuse of one stolen connection cheaper.", fix: "MaxSessions 10", refs: &["CIS-Debian12-5.1.17", SSH], bad: |v| v.parse::<i64>().is_ok_and(|n| n > 10) },
    Check { id: "sshd/client-alive", key: "clientaliveinterval", severity: Severity::Low, title: "Idle sessions are never timed out", detail: "ClientAliveInterval 0 leaves abandoned sessions open forever.", fix: "ClientAliveInterval 300", refs: &["CIS-Debian12-5.1.7", SSH], bad: |v| v == "0" },
    Check { id: "sshd/client-alive", key: "clientalivecountmax", severity: Severity::Low, title: "ClientAliveCountMax is above 3", detail: "Too many missed keepalives keep dead sessions around.", fix: "ClientAliveCountMax 3", refs: &["CIS-Debian12-5.1.7", SSH], bad: |v| v.parse::<i64>().is_ok_and(|n| n > 3 || n == 0) },
    Check { id: "sshd/log-level", key: "loglevel", severity: Severity::Low, title: "LogLevel is neither INFO nor VERBOSE", detail: "QUIET/FATAL/ERROR hide logins; DEBUG levels log private data.", fix: "LogLevel VERBOSE", refs: &["CIS-Debian12-5.1.14", SSH], bad: |v| v != "INFO" && v != "VERBOSE" },
    Check { id: "sshd/use-pam", key: "usepam", severity: Severity::Low, title: "UsePAM is off", detail: "Without PAM, account and session policy (faillock, limits, lastlog) is skipped.", fix: "UsePAM yes", refs: &["CIS-Debian12-5.1.22", SSH], bad: |v| v == "no" },
    Check { id: "sshd/refuse-connection", key: "refuseconnection", severity: Severity::Critical, title: "sshd refuses every connection (RefuseConnection yes outside any Match block)", detail: "RefuseConnection (OpenSSH 9.9 and later) drops every connection it applies to, before authentication; set globally it locks everyone out, including you. Put it inside a Match block for the sources to refuse.", fix: "RefuseConnection no", refs: &[SSH], bad: |v| v == "yes" },
    Check { id: "sshd/per-source-penalties", key: "persourcepenalties", severity: Severity::Medium, title: "Per-source penalties are turned off", detail: "PerSourcePenalties (OpenSSH 9.8 and later) makes sshd refuse, for a while, sources that crash it, fail to authenticate or exhaust the login grace time; turned off, brute-force and crash-probing clients cost nothing.", fix: "PerSourcePenalties yes", refs: &[SSH], bad: |v| v == "no" },
    Check { id: "sshd/strict-modes", key: "strictmodes", severity: Severity::Medium, title: "StrictModes is off", detail: "sshd will use authorized_keys files that other users can write.", fix: "StrictModes yes", refs: &[SSH], bad: |v| v == "no" },
];

const FORWARDING: &[&str] = &[
    "x11forwarding",
    "allowagentforwarding",
    "allowtcpforwarding",
    "allowstreamlocalforwarding",
    "permittunnel",
    "gatewayports",
];

fn finding(c: &Check, l: &Line, main: &Path) -> Finding {
    Finding::new(c.id, c.severity, c.title, c.detail)
        .at(at(&l.origin, main))
        .fix(c.fix)
        .refs(c.refs.iter().copied())
        .evidence("key", l.key)
        .evidence("value", &l.value)
}

/// Weak algorithms in the effective lists.
fn weak_algorithms(lines: &[Line], main: &Path, nist_is_weak: bool, out: &mut Vec<Finding>) {
    type Test = fn(&str) -> bool;
    type AlgCheck = (
        &'static str,
        &'static str,
        Severity,
        Test,
        &'static str,
        &'static [&'static str],
    );
    let checks: &[AlgCheck] = &[
        (
            "ciphers",
            "sshd/weak-cipher",
            Severity::High,
            |a| a.ends_with("-cbc") || a.contains("arcfour") || a.starts_with("3des"),
            "CBC mode ciphers are open to plaintext-recovery attacks",
            &["CIS-Debian12-5.1.6", "dev-sec:sshd-02", SSH],
        ),
        (
            "macs",
            "sshd/weak-mac",
            Severity::High,
            |a| a.contains("md5") || a.contains("-96"),
            "MD5 and truncated MACs are broken",
            &["CIS-Debian12-5.1.15", "dev-sec:sshd-04", SSH],
        ),
        (
            "macs",
            "sshd/weak-mac",
            Severity::Medium,
            |a| {
                a.contains("sha1")
                    || (!a.contains("-etm@") && !a.contains("md5") && !a.contains("-96"))
            },
            "SHA-1 and encrypt-and-MAC (non-ETM) MACs are weaker than needed",
            &["CIS-Debian12-5.1.15", "dev-sec:sshd-04", SSH],
        ),
        (
            "kexalgorithms",
            "sshd/weak-kex",
            Severity::High,
            |a| a.ends_with("-sha1") || a == "diffie-hellman-group1-sha1",
            "SHA-1 or 1024-bit group key exchange",
            &["CIS-Debian12-5.1.12", "dev-sec:sshd-03", SSH],
        ),
        (
            "hostkeyalgorithms",
            "sshd/weak-hostkey",
            Severity::High,
            |a| a.starts_with("ssh-dss") || a == "ssh-rsa" || a.starts_with("ssh-rsa-cert"),
            "DSA and SHA-1 RSA (ssh-rsa) signatures are broken",
            &[SSH],
        ),
        (
            "pubkeyacceptedalgorithms",
            "sshd/weak-pubkey",
            Severity::High,
            |a| a.starts_with("ssh-dss") || a == "ssh-rsa" || a.starts_with("ssh-rsa-cert"),
            "DSA and SHA-1 RSA (ssh-rsa) user keys are accepted",
            &[SSH],
        ),
    ];
    for (key, id, sev, test, why, refs) in checks {
        let Some(l) = line(lines, key) else { continue };
        let weak: Vec<&str> = l.value.split(',').filter(|a| test(a)).collect();
        if weak.is_empty() {
            continue;
        }
        let keep: Vec<&str> = l.value.split(',').filter(|a| !test(a)).collect();
        let display = crate::keywords::display_name(key);
        out.push(
            Finding::new(
                *id,
                *sev,
                format!("Weak {display}: {}", weak.join(",")),
                format!("{why}; they are enabled in the effective {display} list."),
            )
            .at(at(&l.origin, main))
            .fix(format!("{display} -{}", weak.join(",")))
            .refs(refs.iter().copied())
            .evidence("weak", &weak)
            .evidence("keep", &keep),
        );
    }
    // A DSA host key file: weak, and gone from OpenSSH 10.0.
    for l in lines
        .iter()
        .filter(|l| l.key == "hostkey" && l.value.ends_with("_dsa_key"))
    {
        out.push(
            Finding::new(
                "sshd/weak-hostkey",
                Severity::High,
                format!("DSA host key {}", l.value),
                "DSA keys are limited to 1024 bits and SHA-1; OpenSSH 10.0 no longer loads them.",
            )
            .at(at(&l.origin, main))
            .refs([SSH])
            .evidence("hostkey", &l.value),
        );
    }
    if nist_is_weak {
        for key in ["kexalgorithms", "hostkeyalgorithms"] {
            let Some(l) = line(lines, key) else { continue };
            let nist: Vec<&str> = l.value.split(',').filter(|a| a.contains("nistp")).collect();
            if !nist.is_empty() {
                out.push(
                    Finding::new("sshd/nist-curves", Severity::Low, format!("NIST curves in {key}"), "Policy choice: NIST P-curves are enabled; some policies prefer Curve25519 only.")
                        .at(at(&l.origin, main))
                        .fix(format!("{} -{}", crate::keywords::display_name(key), nist.join(",")))
                        .refs([SSH]),
                );
            }
        }
    }
}

/// Options a Match block can turn back on; the bad values.
fn reenables(key: &str, value: &str) -> bool {
    match key {
        "passwordauthentication"
        | "kbdinteractiveauthentication"
        | "permitemptypasswords"
        | "x11forwarding"
        | "allowagentforwarding"
        | "hostbasedauthentication" => value == "yes",
        "permitrootlogin" => value != "no",
        "allowtcpforwarding"
        | "allowstreamlocalforwarding"
        | "permittunnel"
        | "gatewayports"
        | "permituserenvironment" => value != "no",
        "disableforwarding" | "pubkeyauthentication" | "ignorerhosts" => value == "no",
        _ => false,
    }
}

/// Options whose shadowed lines matter enough to be high.
const SECURITY_KEYS: &[&str] = &[
    "passwordauthentication",
    "permitrootlogin",
    "kbdinteractiveauthentication",
    "permitemptypasswords",
    "pubkeyauthentication",
    "authenticationmethods",
    "allowusers",
    "allowgroups",
    "denyusers",
    "denygroups",
];

pub struct LintOptions {
    pub nist_is_weak: bool,
}

/// Lint the effective lines of one context, and the text of the config.
pub fn lint(reading: &Reading, store: &Store, lines: &[Line], opts: &LintOptions) -> Vec<Finding> {
    let main = reading.main.as_path();
    let mut out = Vec::new();
    let forwarding_off = line(lines, "disableforwarding").is_some_and(|l| l.value == "yes");
    // AuthenticationMethods without any list that uses passwords makes
    // PasswordAuthentication / KbdInteractiveAuthentication moot.
    let methods = line(lines, "authenticationmethods")
        .map(|l| l.value.as_str())
        .unwrap_or("any");
    let method_allowed = |m: &str| {
        methods == "any"
            || methods.split(' ').any(|list| {
                list.split(',')
                    .any(|x| x == m || x.starts_with(&format!("{m}:")))
            })
    };
    for c in CHECKS {
        if forwarding_off && FORWARDING.contains(&c.key) {
            continue;
        }
        if c.key == "passwordauthentication" && !method_allowed("password") {
            continue;
        }
        let Some(l) = line(lines, c.key) else {
            continue;
        };
        if (c.bad)(&l.value) {
            out.push(finding(c, l, main));
        }
    }
    if let Some(l) = line(lines, "kbdinteractiveauthentication")
        .filter(|_| method_allowed("keyboard-interactive"))
    {
        let pam = store.value("usepam") == Some("yes");
        if l.value == "yes" && pam {
            out.push(
                Finding::new("sshd/kbd-interactive-authentication", Severity::High, "Keyboard-interactive authentication is enabled with PAM", "With UsePAM yes, keyboard-interactive asks for the account password: passwords stay on even with PasswordAuthentication no.")
                    .at(at(&l.origin, main))
                    .fix("KbdInteractiveAuthentication no")
                    .refs(["dev-sec:sshd-23", SSH])
                    .evidence("value", &l.value),
            );
        } else if l.value == "yes" {
            out.push(
                Finding::new("sshd/kbd-interactive-authentication", Severity::Low, "Keyboard-interactive authentication is enabled", "Without PAM it offers nothing today, but it turns into password login the day UsePAM is enabled.")
                    .at(at(&l.origin, main))
                    .fix("KbdInteractiveAuthentication no")
                    .refs(["dev-sec:sshd-23", SSH]),
            );
        }
    }
    if let Some(l) = line(lines, "maxstartups") {
        let parts: Vec<i64> = l.value.split(':').filter_map(|p| p.parse().ok()).collect();
        if parts.len() == 3 && (parts[0] > 10 || parts[1] < 30 || parts[2] > 60) {
            out.push(
                Finding::new(
                    "sshd/max-startups",
                    Severity::Low,
                    "MaxStartups is looser than 10:30:60",
                    "Many unauthenticated connections at once let a scanner crowd out real logins.",
                )
                .at(at(&l.origin, main))
                .fix("MaxStartups 10:30:60")
                .refs(["CIS-Debian12-5.1.18", SSH])
                .evidence("value", &l.value),
            );
        }
    }
    let no_allow = ["allowusers", "allowgroups"]
        .iter()
        .all(|k| line(lines, k).is_none());
    if no_allow {
        out.push(
            Finding::new("sshd/no-allow-list", Severity::Info, "No AllowUsers or AllowGroups", "Every account with a shell may log in; an allow list limits SSH to the people who need it.")
                .at(Location::new(main.to_path_buf(), None))
                .fix("AllowGroups ssh-users")
                .refs(["CIS-Debian12-5.1.4", "lynis:SSH-7440"]),
        );
    }
    for l in lines.iter().filter(|l| l.key == "port" && l.value == "22") {
        out.push(
            Finding::new("sshd/port-22", Severity::Info, "sshd listens on port 22", "Moving the port only reduces log noise from scanners; it is not a security control.")
                .at(at(&l.origin, main))
                .refs([SSH]),
        );
    }
    weak_algorithms(lines, main, opts.nist_is_weak, &mut out);
    out.extend(text_findings(reading));
    out
}

/// Findings about the text, independent of the connection.
pub fn text_findings(reading: &Reading) -> Vec<Finding> {
    let mut out = Vec::new();
    // Shadowed global lines: first value wins.
    // Global lines compete with earlier global lines; lines in a Match block
    // with earlier lines of the same block.
    // The first line per (block, option), found in one pass.
    let mut first: std::collections::HashMap<(Option<usize>, &str), usize> =
        std::collections::HashMap::new();
    for (i, r) in reading.records.iter().enumerate() {
        if (r.block.is_none() && !r.active) || r.deprecated {
            continue;
        }
        for a in &r.assigns {
            if !matches!(
                a.rule,
                crate::keywords::Rule::FirstWins | crate::keywords::Rule::FirstLine
            ) {
                continue;
            }
            let Some(&w) = first.get(&(r.block, a.slot)) else {
                first.insert((r.block, a.slot), i);
                continue;
            };
            let winner = &reading.records[w];
            let won = winner
                .assigns
                .iter()
                .find(|x| x.slot == a.slot)
                .map(|x| x.values.join(" "))
                .unwrap_or_default();
            let lost = a.values.join(" ");
            // The trap is a safe value losing to an unsafe one; an unsafe
            // line that loses to a safe one is only clutter.
            let (sev, what) = if won == lost {
                (Severity::Info, "repeats")
            } else if reenables(a.slot, &won)
                || (SECURITY_KEYS.contains(&a.slot) && !reenables(a.slot, &lost))
            {
                (Severity::High, "is ignored")
            } else if reenables(a.slot, &lost) {
                (Severity::Low, "is ignored")
            } else {
                (Severity::Medium, "is ignored")
            };
            out.push(
                Finding::new(
                    "sshd/shadowed-setting",
                    sev,
                    format!("{} {lost} {what}: {} already set it to {won}", r.keyword, winner.loc),
                    format!("sshd keeps the first value it reads for {}; the line at {} wins and this one {what}. Drop-ins included at the top of sshd_config (such as cloud-init's 50-cloud-init.conf) are read first.", a.slot, winner.loc),
                )
                .at(Location::new(r.loc.path.clone(), Some(r.loc.line)))
                .fix(format!("change or remove {} line {}", winner.loc.path.display(), winner.loc.line))
                .refs([SSH])
                .evidence("winner", serde_json::json!({"path": winner.loc.path, "line": winner.loc.line, "value": won}))
                .evidence("value", &lost),
            );
        }
    }
    // Match blocks that re-enable what the global section turns off. In
    // sshd's Match pass only matching blocks count and the first to set a
    // keyword wins, so a value after a `Match all` block that already set
    // the keyword never takes effect (hardkit's own fix is such a block).
    let always = |b: &crate::effective::MatchBlock| {
        b.criteria
            .first()
            .is_some_and(|c| c.attribute.eq_ignore_ascii_case("all"))
    };
    for (bi, block) in reading.blocks.iter().enumerate() {
        for r in reading.records.iter().filter(|r| r.block == Some(bi)) {
            for a in &r.assigns {
                let value = a.values.join(" ");
                if !reenables(a.slot, &value) {
                    continue;
                }
                let decided_earlier = reading.records.iter().any(|earlier| {
                    earlier
                        .block
                        .is_some_and(|ei| ei < bi && always(&reading.blocks[ei]))
                        && earlier.assigns.iter().any(|e| e.slot == a.slot)
                });
                if decided_earlier {
                    continue;
                }
                let global = reading
                    .global
                    .value(a.slot)
                    .map(str::to_string)
                    .or_else(|| default_value(a.slot, &reading.release).map(str::to_string));
                let Some(global) = global else { continue };
                if reenables(a.slot, &global) {
                    continue;
                }
                let sev = if SECURITY_KEYS.contains(&a.slot) {
                    Severity::High
                } else {
                    Severity::Medium
                };
                out.push(
                    Finding::new(
                        "sshd/match-reenables",
                        sev,
                        format!("Match {} turns {} back to {value}", block.text, r.keyword),
                        format!("The global setting is {global}, but connections matching 'Match {}' ({}) get {value}.", block.text, block.loc),
                    )
                    .at(Location::new(r.loc.path.clone(), Some(r.loc.line)))
                    .refs([SSH])
                    .evidence("match", &block.text)
                    .evidence("key", a.slot)
                    .evidence("global", &global),
                );
            }
        }
    }
    // A directive after a blank line, not indented, inside a Match block
    // whose other lines are indented: probably meant to be global.
    for (bi, block) in reading.blocks.iter().enumerate() {
        let members: Vec<&crate::effective::Record> = reading
            .records
            .iter()
            .filter(|r| r.block == Some(bi) && r.loc.path == block.loc.path)
            .collect();
        let Some(file) = reading_text(reading, &block.loc.path) else {
            continue;
        };
        let lines: Vec<&str> = file.split('\n').collect();
        let indented = |n: u64| {
            lines
                .get(n as usize - 1)
                .is_some_and(|l| l.starts_with([' ', '\t']))
        };
        if !members.iter().any(|r| indented(r.loc.line)) {
            continue;
        }
        for r in &members {
            let prev_blank = r.loc.line >= 2
                && lines
                    .get(r.loc.line as usize - 2)
                    .is_some_and(|l| l.trim().is_empty());
            if !indented(r.loc.line) && prev_blank {
                out.push(
                    Finding::new("sshd/line-after-match", Severity::Low, format!("{} looks global but is inside 'Match {}'", r.keyword, block.text), format!("Everything after a Match line belongs to that block until the next Match; this line applies only to connections matching 'Match {}' ({}). Move it above the first Match block, or start a 'Match all' block.", block.text, block.loc))
                        .at(Location::new(r.loc.path.clone(), Some(r.loc.line)))
                        .refs([SSH]),
                );
            }
        }
    }
    for (loc, what) in &reading.warnings {
        out.push(
            Finding::new(
                "sshd/deprecated-option",
                Severity::Low,
                what.clone(),
                "sshd ignores this keyword; it has no effect and may mislead a reader.",
            )
            .at(Location::new(loc.path.clone(), Some(loc.line)))
            .refs([SSH]),
        );
    }
    out
}

fn reading_text(reading: &Reading, path: &Path) -> Option<String> {
    reading
        .texts
        .get(path)
        .map(|t| String::from_utf8_lossy(t).into_owned())
}

/// sshd exits at start ("no hostkeys available") when none of the
/// effective HostKey files can be read; checked under the root.
pub fn host_keys(lines: &[Line], root: &hardkit_core::Root, main: &Path) -> Option<Finding> {
    let keys: Vec<&Line> = lines
        .iter()
        .filter(|l| l.key == "hostkey" && l.value != "none")
        .collect();
    let present = keys
        .iter()
        .any(|l| root.resolve(&l.value).is_ok_and(|h| h.is_file()));
    if present {
        return None;
    }
    let first = keys.first().and_then(|l| l.origin.clone());
    let names: Vec<&str> = keys.iter().map(|l| l.value.as_str()).collect();
    Some(
        Finding::new(
            "sshd/no-host-keys",
            Severity::Critical,
            "None of the host key files exists: sshd will not start",
            "sshd loads every HostKey at start and exits with 'no hostkeys available' when none can be read. Images that create keys on first boot (ssh-keygen -A) are fine once booted.",
        )
        .at(at(&first, main))
        .fix("ssh-keygen -A")
        .refs([SSH])
        .evidence("hostkeys", &names),
    )
}

/// The key type of a host key, from its `.pub` file or a PEM private key
/// (None when neither is readable: the lint does not guess).
fn host_key_type(root: &hardkit_core::Root, path: &str) -> Option<String> {
    let read = |p: &str| {
        root.resolve(p)
            .ok()
            .and_then(|h| std::fs::read_to_string(h).ok())
    };
    if let Some(public) = read(&format!("{path}.pub")) {
        return public.split_whitespace().next().map(str::to_string);
    }
    let private = read(path)?;
    if private.contains("-----BEGIN DSA PRIVATE KEY-----") {
        return Some("ssh-dss".into());
    }
    None
}

/// OpenSSH 10.0 removed DSA (upstream builds leave it out from 9.8): when
/// every configured host key is a DSA key, sshd loads none and exits ("no
/// hostkeys available"). Only said when every key's type is known.
pub fn dsa_only_host_keys(
    lines: &[Line],
    root: &hardkit_core::Root,
    release: &crate::version::Release,
) -> Option<String> {
    if release.has_dsa() {
        return None;
    }
    let version = release.model();
    let why = if version >= crate::version::Version::new(10, 0) {
        "DSA was removed in 10.0"
    } else {
        "upstream builds leave DSA out from 9.8"
    };
    let keys: Vec<&str> = lines
        .iter()
        .filter(|l| l.key == "hostkey" && l.value != "none")
        .map(|l| l.value.as_str())
        .collect();
    let present: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| root.resolve(k).is_ok_and(|h| h.is_file()))
        .collect();
    if present.is_empty() {
        return None;
    }
    let all_dsa = present
        .iter()
        .all(|k| host_key_type(root, k).as_deref() == Some("ssh-dss"));
    all_dsa.then(|| {
        format!(
            "no hostkeys available -- exiting: every HostKey ({}) is a DSA key, which OpenSSH {version} cannot load ({why}); generate an Ed25519 key (ssh-keygen -A) and list it",
            present.join(", ")
        )
    })
}
