//! The stack as found on a root: the AI services of its compose files and
//! systemd units, each with where it is reachable and whether it asks for
//! a login, and the cloudflared tunnels that publish them.
//!
//! Where the files are looked for (all under `--root`, never following a
//! link out of it, no file over 16 MiB, at most 20,000 directories):
//! compose files named as Compose looks for them (`compose.yaml`,
//! `compose.yml`, `docker-compose.yaml`, `docker-compose.yml`) in /opt,
//! /srv, /root and /home/* up to four levels down, plus each `--compose
//! FILE`; cloudflared's `config.yml`/`config.yaml` in /etc/cloudflared,
//! /usr/local/etc/cloudflared, /root/.cloudflared and /home/*/.cloudflared,
//! and the file a unit names with `--config`; units in systemd's
//! directories whose program is an AI service or cloudflared.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use hardkit_core::root::Root;

use crate::apps::{self, App, Auth, Settings};
use crate::cloudflared::{self, Origin};
use crate::compose::{self, At, Compose, EnvVar};

/// How a listening port is reached.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Reach {
    /// Only the stack's own containers (a compose network, no published
    /// port).
    Containers,
    /// 127.0.0.1 or ::1: this machine only (and a tunnel on it).
    Loopback,
    /// A private address: the local network.
    Lan,
    /// Every interface of the host, and the host firewall decides (a
    /// service on the host or on Docker's host network).
    HostFirewall,
    /// Reached from the internet: Docker publishes the port on every
    /// address (its DNAT comes before ufw and the INPUT chain), or on a
    /// public address.
    Outside,
}

impl Reach {
    /// The record's name for it.
    pub fn label(self) -> &'static str {
        match self {
            Reach::Containers => "containers",
            Reach::Loopback => "loopback",
            Reach::Lan => "lan",
            Reach::HostFirewall => "host-firewall",
            Reach::Outside => "outside",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Reach::Containers => "the stack's containers only",
            Reach::Loopback => "this machine only",
            Reach::Lan => "the local network",
            Reach::HostFirewall => "every interface: only the host firewall decides",
            Reach::Outside => "the internet: Docker publishes it past ufw and the INPUT chain",
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Listener {
    /// The address as configured (`0.0.0.0` for all of them).
    pub address: String,
    /// The port on that address (the published port for Docker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    pub protocol: String,
    pub reach: Reach,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<At>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TunnelRoute {
    pub config: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub service: String,
    /// cloudflared itself checks Cloudflare Access tokens for this route.
    pub access_enforced: bool,
    pub access_required: bool,
    /// The stack's service this route reaches, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub at: At,
}

/// One AI service of the stack.
#[derive(Debug, Clone)]
pub struct AiService {
    pub name: String,
    pub app: &'static App,
    /// Where it is defined: the compose file's service or the unit file.
    pub at: At,
    pub image: Option<String>,
    pub version: Option<(u64, u64, u64)>,
    pub auth: Auth,
    pub listeners: Vec<Listener>,
    /// Compose networks it is on, with whether each is internal.
    pub networks: Vec<(String, bool)>,
    pub host_network: bool,
    /// The compose file it comes from (None: a systemd unit).
    pub compose: Option<PathBuf>,
    pub signup: Option<(bool, Option<At>)>,
    pub unset_variables: Vec<String>,
}

impl AiService {
    /// The widest reach of any of its ports.
    pub fn reach(&self) -> Option<Reach> {
        self.listeners.iter().map(|l| l.reach).max()
    }
}

/// A file that could not be read or parsed: said, and the rest goes on.
#[derive(Debug, Clone)]
pub struct Problem {
    pub at: At,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Stack {
    pub services: Vec<AiService>,
    pub composes: Vec<Compose>,
    pub tunnels: Vec<cloudflared::Config>,
    pub routes: Vec<TunnelRoute>,
    /// Tunnels run with `--token`: their routes live in Cloudflare's
    /// dashboard, out of sight here.
    pub remote_tunnels: Vec<At>,
    pub problems: Vec<Problem>,
    /// The text of each compose, `.env` and env_file file as it was read
    /// (system path): what the fixes edit, line for line, without reading
    /// it again.
    pub sources: std::collections::BTreeMap<PathBuf, String>,
}

/// The names Compose looks for, in its order: in a directory it reads the
/// first that exists (and warns about the others).
const COMPOSE_NAMES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
/// The override file Compose merges over the main one when it exists
/// beside it (the first of these).
const OVERRIDE_NAMES: &[&str] = &[
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];
const SEARCH_DEPTH: usize = 4;
const MAX_DIRS: usize = 20_000;

/// The system directories to look for compose files in.
fn search_roots(root: &Root) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = ["/opt", "/srv", "/root"]
        .iter()
        .map(PathBuf::from)
        .collect();
    if let Ok(home) = root.resolve("/home") {
        if let Ok(entries) = std::fs::read_dir(home) {
            let mut homes: Vec<PathBuf> = entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| Path::new("/home").join(e.file_name()))
                .collect();
            homes.sort();
            out.extend(homes);
        }
    }
    out
}

/// Compose files under the search roots, as system paths, sorted.
pub fn find_compose_files(root: &Root) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs_seen = 0usize;
    let mut stack: Vec<(PathBuf, usize)> = search_roots(root)
        .into_iter()
        .rev()
        .map(|d| (d, 0))
        .collect();
    while let Some((dir, depth)) = stack.pop() {
        dirs_seen += 1;
        if dirs_seen > MAX_DIRS {
            break;
        }
        // (resolve_parent: a linked directory is not entered)
        let Ok(host) = root.resolve_parent(&dir) else {
            continue;
        };
        let Ok(meta) = std::fs::symlink_metadata(&host) else {
            continue;
        };
        if !meta.is_dir() {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&host) else {
            continue;
        };
        let mut subdirs = Vec::new();
        let mut here: Option<usize> = None;
        for e in entries.flatten() {
            let name = e.file_name();
            let Ok(kind) = e.file_type() else { continue };
            let name_str = name.to_string_lossy();
            // (not only regular files: a link or a FIFO under the name is
            // what Compose would try to read, and is said when it cannot be)
            if let Some(rank) = COMPOSE_NAMES
                .iter()
                .position(|n| *n == name_str)
                .filter(|_| !kind.is_dir())
            {
                here = Some(here.map_or(rank, |r| r.min(rank)));
            } else if kind.is_dir()
                && depth < SEARCH_DEPTH
                && !name_str.starts_with('.')
                && name_str != "node_modules"
            {
                subdirs.push(dir.join(&name));
            }
        }
        if let Some(rank) = here {
            found.push(dir.join(COMPOSE_NAMES[rank]));
        }
        subdirs.sort();
        for d in subdirs.into_iter().rev() {
            stack.push((d, depth + 1));
        }
    }
    found.sort();
    found.dedup();
    found
}

fn read(root: &Root, path: &Path) -> Result<String, String> {
    let host = root.resolve(path).map_err(|e| e.to_string())?;
    let bytes = hardkit_core::input::read_regular_file(&host, hardkit_core::input::MAX_FILE_BYTES)
        .map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_link_local()
                || (v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1]))
        }
        IpAddr::V6(v6) => {
            (v6.segments()[0] & 0xfe00) == 0xfc00 || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// The reach of a port Docker publishes on `ip` (None: every address).
/// Docker's DNAT comes before ufw and the INPUT chain, so every address,
/// or a public one, is the internet.
pub fn reach_of_published(ip: Option<IpAddr>) -> Reach {
    match ip {
        Some(ip) if ip.is_loopback() => Reach::Loopback,
        Some(ip) if !ip.is_unspecified() && is_private(ip) => Reach::Lan,
        _ => Reach::Outside,
    }
}

/// The reach of an address a service listens on (on the host).
pub fn reach_of_bind(address: &str) -> Reach {
    let a = address.trim_matches(['[', ']']);
    if a.is_empty() || a == "0.0.0.0" || a == "::" || a == "*" {
        return Reach::HostFirewall;
    }
    if a == "localhost" {
        return Reach::Loopback;
    }
    match a.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() => Reach::Loopback,
        Ok(ip) if is_private(ip) => Reach::Lan,
        Ok(_) => Reach::HostFirewall,
        Err(_) => Reach::HostFirewall,
    }
}

fn settings_env(env: &[EnvVar]) -> Vec<(String, Option<String>, At)> {
    env.iter()
        .map(|e| (e.key.clone(), e.value.clone(), e.at.clone()))
        .collect()
}

/// Open WebUI's sign-up (ENABLE_SIGNUP, default true: the first account is
/// the admin).
fn signup_of(app: &App, env: &[(String, Option<String>, At)]) -> Option<(bool, Option<At>)> {
    if app.id != "open-webui" {
        return None;
    }
    match env.iter().rev().find(|(k, _, _)| k == "ENABLE_SIGNUP") {
        Some((_, v, at)) => Some((
            v.as_deref()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("true"),
            Some(at.clone()),
        )),
        None => Some((true, None)),
    }
}

fn add_compose(stack: &mut Stack, c: Compose) {
    for svc in &c.services {
        let Some((image, _)) = &svc.image else {
            continue;
        };
        let Some(app) = apps::by_image(image) else {
            continue;
        };
        // A one-shot job on the app's image (`entrypoint: /bin/sh` to pull
        // a model or import data, nothing published) serves nothing.
        // (Flowise's own compose starts its server through a shell, and
        // publishes its port.)
        if svc.entrypoint_is_shell && svc.ports.is_empty() {
            continue;
        }
        let version = apps::image_tag(image).and_then(apps::version_of);
        let env = settings_env(&svc.environment);
        let settings = Settings {
            env: &env,
            args: &svc.command,
        };
        let auth = app.auth(version, &settings);
        let host_network = svc.network_mode.as_ref().is_some_and(|(m, _)| m == "host");
        let mut listeners = Vec::new();
        if host_network {
            // The container's own bind address, on the host's interfaces.
            listeners.push(bound_listener(
                app,
                &settings,
                true,
                svc.network_mode.as_ref().map(|(_, at)| at.clone()),
            ));
        } else {
            for p in &svc.ports {
                let reach = reach_of_published(p.host_ip);
                listeners.push(Listener {
                    address: p.host_ip.map_or("0.0.0.0".to_string(), |ip| ip.to_string()),
                    port: p
                        .published
                        .as_deref()
                        .and_then(|s| s.split('-').next()?.parse().ok()),
                    protocol: p.protocol.clone(),
                    reach,
                    at: Some(p.at.clone()),
                });
            }
            if listeners.is_empty() {
                listeners.push(Listener {
                    address: svc.name.clone(),
                    port: Some(app.port),
                    protocol: "tcp".into(),
                    reach: Reach::Containers,
                    at: None,
                });
            }
        }
        stack.services.push(AiService {
            name: svc.name.clone(),
            app,
            at: svc.at.clone(),
            image: Some(image.clone()),
            version,
            signup: signup_of(app, &env),
            auth,
            listeners,
            networks: c
                .networks_of(svc)
                .into_iter()
                .map(|n| (n.to_string(), c.is_internal(n)))
                .collect(),
            host_network,
            compose: Some(c.path.clone()),
            unset_variables: svc.unset_variables.clone(),
        });
    }
    stack.composes.push(c);
}

/// The listener of a program that binds by itself (a unit, or a container
/// on the host's network): where its settings say, at the line that says
/// it, else at `fallback` (the unit's ExecStart, `network_mode: host`).
fn bound_listener(
    app: &App,
    settings: &Settings,
    in_image: bool,
    fallback: Option<At>,
) -> Listener {
    let (address, port, decided) = app.bind(settings, in_image);
    Listener {
        reach: reach_of_bind(&address),
        address,
        port: Some(port),
        protocol: "tcp".into(),
        at: decided.or(fallback),
    }
}

/// Environment= values as systemd splits them (svcacct's reader).
fn unit_environment(value: &str, at: &At) -> Vec<(String, Option<String>, At)> {
    svcacct::existing_unit::split_environment(value)
        .into_iter()
        .map(|(k, v)| (k, Some(v), at.clone()))
        .collect()
}

fn add_units(root: &Root, stack: &mut Stack, tunnel_configs: &mut Vec<PathBuf>) {
    let Ok(names) = svcacct::audit::all_units(root) else {
        return;
    };
    for name in names {
        if !name.ends_with(".service") {
            continue;
        }
        let Ok(unit) = svcacct::unit_file::load_by_name(root, &name, "") else {
            continue;
        };
        let mut exec: Option<(Vec<(String, At)>, At)> = None;
        let mut env: Vec<(String, Option<String>, At)> = Vec::new();
        for a in &unit.assignments {
            if a.section != "Service" {
                continue;
            }
            let at = At {
                path: a.path.clone(),
                line: a.line as usize,
            };
            match a.key.as_str() {
                "ExecStart" if !a.value.is_empty() => {
                    let value = a.value.trim_start_matches(['-', '@', ':', '+', '!']);
                    let words = compose::shell_words(value)
                        .into_iter()
                        .map(|w| (w, at.clone()))
                        .collect();
                    exec = Some((words, at));
                }
                "Environment" => env.extend(unit_environment(&a.value, &at)),
                "EnvironmentFile" => {
                    let file = a.value.trim_start_matches('-');
                    if let Ok(text) = read(root, Path::new(file)) {
                        env.extend(
                            compose::parse_env_file(&text, Path::new(file))
                                .into_iter()
                                .map(|e| (e.key, e.value, e.at)),
                        );
                    }
                }
                _ => {}
            }
        }
        let Some((words, exec_at)) = exec else {
            continue;
        };
        let plain: Vec<String> = words.iter().map(|(w, _)| w.clone()).collect();
        let program = plain
            .first()
            .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
            .unwrap_or_default();
        if program == "cloudflared" {
            if let Some(i) = plain.iter().position(|w| w == "--config") {
                if let Some(p) = plain.get(i + 1) {
                    tunnel_configs.push(PathBuf::from(p));
                }
            }
            let token = plain
                .iter()
                .any(|w| w == "--token" || w.starts_with("--token="))
                || env.iter().any(|(k, v, _)| {
                    k == "TUNNEL_TOKEN" && v.as_deref().is_some_and(|v| !v.is_empty())
                });
            if token {
                stack.remote_tunnels.push(exec_at);
            }
            continue;
        }
        let Some(app) = apps::by_command(&plain) else {
            continue;
        };
        let settings = Settings {
            env: &env,
            args: &words,
        };
        let auth = app.auth(None, &settings);
        let listener = bound_listener(app, &settings, false, Some(exec_at.clone()));
        stack.services.push(AiService {
            name: name.trim_end_matches(".service").to_string(),
            app,
            at: exec_at.clone(),
            image: None,
            version: None,
            signup: signup_of(app, &env),
            auth,
            listeners: vec![listener],
            networks: Vec::new(),
            host_network: true,
            compose: None,
            unset_variables: Vec::new(),
        });
    }
}

/// Where cloudflared looks for config.yml (then config.yaml): these under
/// the home directory of whoever runs it, then the system ones.
const TUNNEL_HOME_DIRS: &[&str] = &[".cloudflared", ".cloudflare-warp", "cloudflare-warp"];
const TUNNEL_DIRS: &[&str] = &["/etc/cloudflared", "/usr/local/etc/cloudflared"];

fn tunnel_config_paths(root: &Root) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for home in search_roots(root)
        .into_iter()
        .filter(|h| h.starts_with("/home") || h == Path::new("/root"))
    {
        dirs.extend(TUNNEL_HOME_DIRS.iter().map(|d| home.join(d)));
    }
    dirs.extend(TUNNEL_DIRS.iter().map(PathBuf::from));
    let mut out = Vec::new();
    for d in dirs {
        for name in ["config.yml", "config.yaml"] {
            let p = d.join(name);
            if root.resolve(&p).is_ok_and(|h| h.is_file()) {
                out.push(p);
            }
        }
    }
    out
}

/// The service a tunnel route reaches: a compose service by name and
/// container port, or a service listening on loopback (or every
/// interface) on that port.
fn route_target(stack: &Stack, origin: &Origin) -> Option<String> {
    let Origin::Net { host, port, .. } = origin else {
        return None;
    };
    let local = matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1" | "0.0.0.0");
    stack
        .services
        .iter()
        .find(|s| {
            if local {
                s.listeners
                    .iter()
                    .any(|l| l.port == Some(*port) && l.reach != Reach::Containers)
            } else {
                s.name == *host
                    && (s.app.port == *port || s.listeners.iter().any(|l| l.port == Some(*port)))
            }
        })
        .map(|s| s.name.clone())
}

/// A compose project: its first file, with each later one merged over it.
/// The files read are kept in `sources`, the ones that could not be in
/// `problems`.
fn load_project(root: &Root, files: &[PathBuf], stack: &mut Stack) -> Option<Compose> {
    let first = files.first()?;
    let dir = first.parent().unwrap_or(Path::new("/")).to_path_buf();
    let dot_env_path = dir.join(".env");
    let dot_env = match read(root, &dot_env_path) {
        Ok(t) => {
            let vars = compose::parse_env_file(&t, &dot_env_path);
            stack.sources.insert(dot_env_path, t);
            vars
        }
        Err(_) => Vec::new(),
    };
    let mut project: Option<Compose> = None;
    for file in files {
        let text = match read(root, file) {
            Ok(t) => t,
            Err(e) => {
                stack.problems.push(Problem {
                    at: At {
                        path: file.clone(),
                        line: 0,
                    },
                    message: e,
                });
                continue;
            }
        };
        let sources = &mut stack.sources;
        let mut read_env = |p: &Path| {
            let t = read(root, p).ok()?;
            sources.insert(p.to_path_buf(), t.clone());
            Some(t)
        };
        let parsed = compose::parse(&text, file, &dot_env, &mut read_env);
        stack.sources.insert(file.clone(), text);
        match parsed {
            Ok(c) => match project.as_mut() {
                Some(base) => compose::merge(base, c),
                None => project = Some(c),
            },
            Err(compose::ComposeError::Syntax {
                path,
                line,
                message,
            }) => stack.problems.push(Problem {
                at: At { path, line },
                message,
            }),
        }
    }
    project
}

pub struct Options {
    pub compose_files: Vec<PathBuf>,
    /// Containers from `docker inspect` output (besides Docker's files
    /// under the root), read by the caller.
    pub containers: Vec<svcacct::containers::Container>,
}

/// A container as an AI service: its image's app, its published ports,
/// its environment. Skipped when a compose file already read defines it
/// (compose's labels name the file and the service): the file is what a fix
/// changes, and the finding names its line.
fn add_container(stack: &mut Stack, c: &svcacct::containers::Container) {
    let Some(app) = apps::by_image(&c.image) else {
        return;
    };
    let service = c.labels.get("com.docker.compose.service");
    let files = c.labels.get("com.docker.compose.project.config_files");
    let from_compose = service.is_some_and(|svc| {
        stack.services.iter().any(|s| {
            s.name == *svc
                && s.compose
                    .as_ref()
                    .is_some_and(|p| files.is_none_or(|f| f.split(',').any(|f| Path::new(f) == p)))
        })
    });
    if from_compose {
        return;
    }
    let at = At {
        path: c.source.clone(),
        line: 0,
    };
    let env: Vec<(String, Option<String>, At)> = c
        .env
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string()), at.clone()),
            None => (kv.clone(), None, at.clone()),
        })
        .collect();
    let args: Vec<(String, At)> = c.command.iter().map(|w| (w.clone(), at.clone())).collect();
    let version = apps::image_tag(&c.image).and_then(apps::version_of);
    let settings = Settings {
        env: &env,
        args: &args,
    };
    let auth = app.auth(version, &settings);
    let host_network = c.network_mode == "host";
    let host_at = At {
        path: c.host_source.clone(),
        line: 0,
    };
    let mut listeners = Vec::new();
    if host_network {
        listeners.push(bound_listener(app, &settings, true, Some(host_at.clone())));
    } else {
        for p in &c.ports {
            let reach = reach_of_published(p.host_ip.parse().ok());
            listeners.push(Listener {
                address: if p.host_ip.is_empty() {
                    "0.0.0.0".into()
                } else {
                    p.host_ip.clone()
                },
                port: p.host_port,
                protocol: p.protocol.clone(),
                reach,
                at: Some(host_at.clone()),
            });
        }
        if listeners.is_empty() {
            listeners.push(Listener {
                address: c.name.clone(),
                port: Some(app.port),
                protocol: "tcp".into(),
                reach: Reach::Containers,
                at: None,
            });
        }
    }
    stack.services.push(AiService {
        name: c.name.clone(),
        app,
        at,
        image: Some(c.image.clone()),
        version,
        signup: signup_of(app, &env),
        auth,
        listeners,
        networks: Vec::new(),
        host_network,
        compose: None,
        unset_variables: Vec::new(),
    });
}

impl Stack {
    pub fn load(root: &Root, opts: &Options) -> Stack {
        let mut stack = Stack::default();
        // Projects as Compose reads them: a file found has its override
        // merged over it (when one is beside it); files named with
        // --compose in one directory are one project, merged in the
        // order given (`docker compose -f a.yaml -f b.yaml`).
        let mut projects: Vec<Vec<PathBuf>> = Vec::new();
        for file in find_compose_files(root) {
            let mut files = vec![file.clone()];
            let dir = file.parent().unwrap_or(Path::new("/"));
            if let Some(o) = OVERRIDE_NAMES
                .iter()
                .map(|n| dir.join(n))
                .find(|p| root.resolve(p).is_ok_and(|h| h.is_file()))
            {
                files.push(o);
            }
            projects.push(files);
        }
        // (--compose files grouped by directory, in the order given; a
        // group that names a file found replaces its project: the
        // operator's `-f a -f b` is the project)
        let mut named: Vec<Vec<PathBuf>> = Vec::new();
        for file in &opts.compose_files {
            match named.iter_mut().find(|g| g[0].parent() == file.parent()) {
                Some(g) if !g.contains(file) => g.push(file.clone()),
                Some(_) => {}
                None => named.push(vec![file.clone()]),
            }
        }
        for group in named {
            if let Some(i) = projects.iter().position(|p| group.contains(&p[0])) {
                projects[i] = group;
            } else if !projects.iter().any(|p| group.iter().all(|f| p.contains(f))) {
                projects.push(group);
            }
        }
        for files in projects {
            if let Some(c) = load_project(root, &files, &mut stack) {
                add_compose(&mut stack, c);
            }
        }
        let mut containers = svcacct::containers::from_root(root);
        // (a container in both is judged as inspect describes it: running)
        containers.retain(|old| !opts.containers.iter().any(|new| new.name == old.name));
        containers.extend(opts.containers.iter().cloned());
        for c in &containers {
            add_container(&mut stack, c);
        }
        let mut tunnel_files = tunnel_config_paths(root);
        add_units(root, &mut stack, &mut tunnel_files);
        tunnel_files.sort();
        tunnel_files.dedup();
        for file in tunnel_files {
            match read(root, &file) {
                Ok(text) => match cloudflared::parse(&text, &file) {
                    Ok(cfg) => stack.tunnels.push(cfg),
                    Err(e) => stack.problems.push(Problem {
                        at: At {
                            path: e.path,
                            line: e.line,
                        },
                        message: e.message,
                    }),
                },
                Err(e) => stack.problems.push(Problem {
                    at: At {
                        path: file,
                        line: 0,
                    },
                    message: e,
                }),
            }
        }
        let mut routes = Vec::new();
        for cfg in &stack.tunnels {
            for r in &cfg.rules {
                if let Origin::Other(_) = r.origin {
                    continue;
                }
                routes.push(TunnelRoute {
                    config: cfg.path.clone(),
                    hostname: r.hostname.clone(),
                    path: r.path.clone(),
                    service: r.service.clone(),
                    access_enforced: r.access.enforced(),
                    access_required: r.access.required,
                    target: route_target(&stack, &r.origin),
                    at: r.at.clone(),
                });
            }
        }
        stack.routes = routes;
        stack
    }

    /// The tunnel routes that reach a service.
    pub fn routes_to<'a>(&'a self, service: &'a str) -> impl Iterator<Item = &'a TunnelRoute> {
        self.routes
            .iter()
            .filter(move |r| r.target.as_deref() == Some(service))
    }
}
