//! What is wrong with the stack: one check per row of [`CHECKS`], each
//! with its id, severity and fix, and the file:line that decides it.

use hardkit_core::root::Root;
use hardkit_core::{Finding, Location, Severity};

use crate::apps::{AuthState, Role};
use crate::compose::At;
use crate::stack::{AiService, Reach, Stack};

pub struct Check {
    pub id: &'static str,
    pub what: &'static str,
    pub run: fn(&Stack, &Root) -> Vec<Finding>,
}

/// Every check, in the order findings are reported within a severity.
pub const CHECKS: &[Check] = &[
    Check {
        id: "aistack/no-auth-exposed",
        what: "an AI service without a login reachable beyond this machine (critical from the internet, high from the LAN or when only the host firewall stands between)",
        run: no_auth_exposed,
    },
    Check {
        id: "aistack/tunnel-no-access",
        what: "a tunnel route publishes a service that asks for no login, and cloudflared does not require Cloudflare Access for it",
        run: tunnel_no_access,
    },
    Check {
        id: "aistack/tunnel-access-incomplete",
        what: "access: required: true without teamName or audTag (cloudflared cannot check a token), or at the file's top level, where it protects no rule",
        run: tunnel_access_incomplete,
    },
    Check {
        id: "aistack/auth-off",
        what: "a login switched off (WEBUI_AUTH=False, an empty Jupyter token, Langflow's auto login, n8n without user management) on a service only this machine reaches",
        run: auth_off_local,
    },
    Check {
        id: "aistack/published-all-addresses",
        what: "a back end, or a service the tunnel fronts, published on every address where 127.0.0.1 would do",
        run: published_all_addresses,
    },
    Check {
        id: "aistack/open-signup",
        what: "Open WebUI lets anyone who reaches it make an account (ENABLE_SIGNUP, default true; the first account is the admin)",
        run: open_signup,
    },
    Check {
        id: "aistack/backend-network-not-internal",
        what: "a back end on compose networks none of which is internal: true, though only the front ends need the outside",
        run: backend_network,
    },
    Check {
        id: "aistack/tunnel-credentials",
        what: "the tunnel's credentials file is missing, or readable by others than root",
        run: credentials_findings,
    },
    Check {
        id: "aistack/tunnel-config-refused",
        what: "cloudflared refuses the ingress rules (the last rule must match everything)",
        run: tunnel_config_refused,
    },
    Check {
        id: "aistack/tunnel-remote-managed",
        what: "a tunnel run with --token: its routes and Access policies are in Cloudflare's dashboard, not on this server",
        run: tunnel_remote,
    },
    Check {
        id: "aistack/file-unreadable",
        what: "a compose or cloudflared file that could not be read: what it runs is unknown",
        run: problems,
    },
];

fn loc(at: &At) -> Location {
    Location::new(at.path.clone(), (at.line > 0).then_some(at.line as u64))
}

fn port_of(s: &AiService, reach: Reach) -> String {
    s.listeners
        .iter()
        .find(|l| l.reach == reach)
        .map(|l| {
            format!(
                "{}:{}",
                l.address,
                l.port.map_or("?".into(), |p| p.to_string())
            )
        })
        .unwrap_or_default()
}

/// The line that makes it reachable (the widest port's).
fn reach_at(s: &AiService) -> Option<&At> {
    let widest = s.reach()?;
    s.listeners.iter().find(|l| l.reach == widest)?.at.as_ref()
}

fn bind_fix(s: &AiService) -> String {
    if s.compose.is_some() && !s.host_network {
        format!(
            "publish it on loopback only (ports: \"127.0.0.1:{p}:{t}\") or not at all (the other services reach it by name), or put a login in front of it",
            p = s.listeners.iter().find_map(|l| l.port).unwrap_or(s.app.port),
            t = s.app.port
        )
    } else if s.app.id == "ollama" {
        "OLLAMA_HOST=127.0.0.1:11434 (its unit's Environment=, or the container's environment), or a reverse proxy with a login in front of it".into()
    } else {
        "bind it to 127.0.0.1 and reach it through a reverse proxy or the tunnel with a login, or switch its login on".into()
    }
}

fn unauthenticated(s: &AiService) -> bool {
    matches!(s.auth.state, AuthState::None | AuthState::Off)
}

fn no_auth_exposed(stack: &Stack, _root: &Root) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in &stack.services {
        let Some(reach) = s.reach() else { continue };
        if !unauthenticated(s) || reach <= Reach::Loopback {
            continue;
        }
        let severity = if reach == Reach::Outside {
            Severity::Critical
        } else {
            Severity::High
        };
        // The line that decides: the switched-off login, else the port.
        let at = s.auth.at.as_ref().or(reach_at(s)).unwrap_or(&s.at);
        out.push(
            Finding::new(
                "aistack/no-auth-exposed",
                severity,
                format!("{} ({}) asks for no login and is reachable from {}: {}", s.name, s.app.name, reach.describe(), port_of(s, reach)),
                format!("{}. Anyone who reaches {} uses it: runs models on your hardware, reads what it holds, and (for agents and notebooks) runs code on the host.", s.auth.why, port_of(s, reach)),
            )
            .at(loc(at))
            .fix(bind_fix(s))
            .evidence("service", &s.name)
            .evidence("app", s.app.id),
        );
    }
    out
}

fn tunnel_no_access(stack: &Stack, _root: &Root) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in &stack.routes {
        if r.access_enforced {
            continue;
        }
        let Some(s) = r
            .target
            .as_deref()
            .and_then(|t| stack.services.iter().find(|s| s.name == t))
        else {
            continue;
        };
        if !unauthenticated(s) {
            continue;
        }
        let host = r.hostname.as_deref().unwrap_or("(every hostname)");
        out.push(
            Finding::new(
                "aistack/tunnel-no-access",
                Severity::Critical,
                format!("the tunnel publishes {} ({}) at {host} with no login on either side", s.name, s.app.name),
                format!("{}, and cloudflared does not require a Cloudflare Access token for this route: anyone on the internet who knows {host} uses it (an Access application may exist in Cloudflare's dashboard, but nothing on this server checks it).", s.auth.why),
            )
            .at(loc(&r.at))
            .fix("under this rule: originRequest: {access: {required: true, teamName: TEAM, audTag: [AUD]}} (the Access application's audience tag), and switch the app's own login on")
            .evidence("hostname", host)
            .evidence("service", &s.name),
        );
    }
    out
}

fn tunnel_access_incomplete(stack: &Stack, _root: &Root) -> Vec<Finding> {
    let mut out = Vec::new();
    for cfg in &stack.tunnels {
        if let Some(top) = cfg.top_level_access.as_ref().filter(|a| a.required) {
            let unprotected = cfg
                .rules
                .iter()
                .filter(|r| {
                    !r.access.required && matches!(r.origin, crate::cloudflared::Origin::Net { .. })
                })
                .count();
            if unprotected > 0 {
                out.push(
                    Finding::new(
                        "aistack/tunnel-access-incomplete",
                        Severity::High,
                        format!("access: required: true at the file's top level protects none of its {unprotected} route(s)"),
                        "cloudflared builds the Access check from each rule's own originRequest only; the top-level block is read and does nothing, so the routes without a block of their own take any request.".to_string(),
                    )
                    .at(loc(top.at.as_ref().unwrap_or(&At { path: cfg.path.clone(), line: 0 })))
                    .fix("move the access: block under each rule's originRequest:"),
                );
            }
        }
        for r in &cfg.rules {
            if r.access.required && !r.access.enforced() {
                let at = r.access.at.as_ref().unwrap_or(&r.at);
                out.push(
                    Finding::new(
                        "aistack/tunnel-access-incomplete",
                        Severity::High,
                        format!("access: required: true without {} for {}", if r.access.team_name.is_none() { "teamName" } else { "audTag" }, r.hostname.as_deref().unwrap_or("the catch-all rule")),
                        "cloudflared needs the team name and the application's audience tag to check an Access token; without them the route's protection is not what the file says.".to_string(),
                    )
                    .at(loc(at))
                    .fix("add teamName: (your Zero Trust team) and audTag: [the Access application's AUD tag] under access:"),
                );
            }
        }
    }
    out
}

fn auth_off_local(stack: &Stack, _root: &Root) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in &stack.services {
        if s.auth.state != AuthState::Off || s.reach().is_some_and(|r| r > Reach::Loopback) {
            continue;
        }
        if stack.routes_to(&s.name).any(|r| !r.access_enforced) {
            continue; // the tunnel's finding says it, critical
        }
        let at = s.auth.at.as_ref().unwrap_or(&s.at);
        out.push(
            Finding::new(
                "aistack/auth-off",
                Severity::Medium,
                format!("{} ({}) has its login switched off", s.name, s.app.name),
                format!("{}. Only this machine (and the stack's containers) reach it today; one changed port or proxy rule and it is open to all.", s.auth.why),
            )
            .at(loc(at))
            .fix(match s.app.id {
                "open-webui" => "WEBUI_AUTH=True (the first account made becomes the admin: make it at once)",
                "jupyter" => "remove the empty token (a random one is made), or set a password",
                "langflow" => "LANGFLOW_AUTO_LOGIN=False with LANGFLOW_SUPERUSER and LANGFLOW_SUPERUSER_PASSWORD",
                "n8n" => "remove N8N_USER_MANAGEMENT_DISABLED (or upgrade to n8n 1.x, which always asks)",
                "flowise" => "FLOWISE_USERNAME and FLOWISE_PASSWORD (or Flowise 3.x, which has its own accounts)",
                _ => "switch its login on",
            })
            .evidence("service", &s.name),
        );
    }
    out
}

fn published_all_addresses(stack: &Stack, _root: &Root) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in &stack.services {
        if unauthenticated(s) {
            continue; // no-auth-exposed says more
        }
        let tunneled = stack.routes_to(&s.name).next().is_some();
        if !(s.app.role == Role::Backend || tunneled) {
            continue;
        }
        for l in s
            .listeners
            .iter()
            .filter(|l| l.reach == Reach::Outside && s.compose.is_some())
        {
            let at = l.at.as_ref().unwrap_or(&s.at);
            out.push(
                Finding::new(
                    "aistack/published-all-addresses",
                    Severity::High,
                    format!("{} ({}) is published on every address ({}:{}), past ufw", s.name, s.app.name, l.address, l.port.map_or("?".into(), |p| p.to_string())),
                    if tunneled {
                        "The tunnel reaches it from this machine; Docker's published port also lets the whole internet try its login directly, and ufw never sees those packets.".to_string()
                    } else {
                        "A back end: the stack's other services reach it over the compose network. Docker's published port puts it on the internet too, past ufw, with only its key between.".to_string()
                    },
                )
                .at(loc(at))
                .fix(format!("ports: \"127.0.0.1:{}:{}\" (or no ports: at all for a back end)", l.port.unwrap_or(s.app.port), s.app.port))
                .evidence("service", &s.name),
            );
        }
    }
    out
}

fn open_signup(stack: &Stack, _root: &Root) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in &stack.services {
        let Some((true, at)) = &s.signup else {
            continue;
        };
        if s.auth.state != AuthState::Required {
            continue;
        }
        let public = s.reach().is_some_and(|r| r > Reach::Loopback)
            || stack.routes_to(&s.name).any(|r| !r.access_enforced);
        if !public {
            continue;
        }
        out.push(
            Finding::new(
                "aistack/open-signup",
                Severity::Medium,
                format!("{} ({}) lets anyone who reaches it sign up", s.name, s.app.name),
                "ENABLE_SIGNUP is true (its default): on a fresh install the first account made is the admin, whoever makes it; later sign-ups wait as pending (DEFAULT_USER_ROLE) until an admin lets them in.".to_string(),
            )
            .at(loc(at.as_ref().unwrap_or(&s.at)))
            .fix("ENABLE_SIGNUP=False once your own accounts exist (new users then come from the admin panel)")
            .evidence("service", &s.name),
        );
    }
    out
}

fn backend_network(stack: &Stack, _root: &Root) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in &stack.services {
        if s.app.role != Role::Backend
            || s.compose.is_none()
            || s.host_network
            || s.networks.iter().any(|(_, internal)| *internal)
        {
            continue;
        }
        out.push(
            Finding::new(
                "aistack/backend-network-not-internal",
                Severity::Medium,
                format!("{} ({}) is on {} (not internal)", s.name, s.app.name, s.networks.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")),
                "A back end on a network Docker routes to the outside can be reached from it and reach out itself: a prompt injection or a hostile model can send data anywhere.".to_string(),
            )
            .at(loc(&s.at))
            .fix("put it on a network with internal: true that the front end joins too (the front end keeps a second network for the outside); pull models before, or through a separate network")
            .evidence("service", &s.name),
        );
    }
    out
}

fn tunnel_config_refused(stack: &Stack, _root: &Root) -> Vec<Finding> {
    stack
        .tunnels
        .iter()
        .filter_map(|cfg| {
            let (message, at) = cfg.rule_problem()?;
            Some(
                Finding::new(
                    "aistack/tunnel-config-refused",
                    Severity::Medium,
                    message,
                    "cloudflared validates the ingress rules at start and does not run with these."
                        .to_string(),
                )
                .at(loc(&at))
                .fix("end the ingress list with a catch-all rule: - service: http_status:404"),
            )
        })
        .collect()
}

fn tunnel_remote(stack: &Stack, _root: &Root) -> Vec<Finding> {
    stack
        .remote_tunnels
        .iter()
        .map(|at| {
            Finding::new(
                "aistack/tunnel-remote-managed",
                Severity::Info,
                "a Cloudflare tunnel runs with --token: what it publishes is set in Cloudflare's dashboard".to_string(),
                "Its public hostnames, the services behind them and their Access policies are not on this server: check them there (docs/aistack.md lists what to look at).".to_string(),
            )
            .at(loc(at))
            .fix("in Zero Trust > Networks > Tunnels: every public hostname either reaches an app with its own login or has an Access application; then consider a locally managed config.yml with access: required: true")
        })
        .collect()
}

fn problems(stack: &Stack, _root: &Root) -> Vec<Finding> {
    stack
        .problems
        .iter()
        .map(|p| {
            Finding::new(
                "aistack/file-unreadable",
                Severity::Medium,
                format!("{} could not be read: {}", p.at.path.display(), p.message),
                "Compose and cloudflared refuse such a file too; what it would run is not judged here.".to_string(),
            )
            .at(loc(&p.at))
            .fix("fix the file (docker compose config shows the same error)")
        })
        .collect()
}

/// The tunnel credentials file: present, and root's alone.
fn credentials_findings(stack: &Stack, root: &Root) -> Vec<Finding> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    for cfg in &stack.tunnels {
        let Some((file, at)) = &cfg.credentials_file else {
            continue;
        };
        let meta = root
            .resolve(file)
            .ok()
            .and_then(|h| std::fs::metadata(h).ok());
        match meta {
            None => out.push(
                Finding::new("aistack/tunnel-credentials", Severity::Medium, format!("the tunnel's credentials file {} is missing", file.display()), "cloudflared cannot start this tunnel without it.".to_string())
                    .at(loc(at))
                    .fix("cloudflared tunnel token --cred-file FILE TUNNEL, or fix credentials-file:"),
            ),
            Some(m) if m.mode() & 0o077 != 0 || m.uid() != 0 => out.push(
                Finding::new(
                    "aistack/tunnel-credentials",
                    Severity::High,
                    format!("the tunnel's credentials file {} is readable by others (mode {:04o}, uid {})", file.display(), m.mode() & 0o7777, m.uid()),
                    "Whoever reads it can run the tunnel elsewhere and receive its traffic.".to_string(),
                )
                .at(loc(at))
                .fix(format!("chown root:root {f} && chmod 0400 {f}", f = file.display())),
            ),
            Some(_) => {}
        }
    }
    out
}

pub fn audit(stack: &Stack, root: &Root) -> Vec<Finding> {
    let mut out: Vec<Finding> = CHECKS.iter().flat_map(|c| (c.run)(stack, root)).collect();
    // (worst first; a stable sort keeps the table's order within one)
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}
