//! Docker Compose files as Compose reads them, for what decides exposure
//! and authentication: each service's image, command, environment (with
//! its `env_file`s), published ports, network mode and networks, and the
//! top-level networks (`internal: true`).
//!
//! Values are interpolated the way Compose does before it reads them:
//! `${VAR}`, `$VAR`, `${VAR:-default}` (unset or empty), `${VAR-default}`
//! (unset), `${VAR:+alt}`, `${VAR+alt}`, `${VAR:?err}`, `${VAR?err}` and
//! `$$` for a dollar sign, with the variables of the project's `.env`
//! file. The shell environment `docker compose` would run in is not known
//! to an audit: a variable that only it could set reads as unset, and the
//! service's record says which.

use std::path::{Path, PathBuf};

use crate::yaml::{self, Node, Value};

pub use hardkit_aiapps::At;

#[derive(Debug, Clone, PartialEq)]
pub struct EnvVar {
    pub key: String,
    /// None for a bare `KEY` (taken from the shell running compose).
    pub value: Option<String>,
    pub at: At,
}

/// One `ports:` entry, short (`"127.0.0.1:8080:80/tcp"`) or long syntax.
#[derive(Debug, Clone, PartialEq)]
pub struct PortMapping {
    /// The host address Docker publishes on; None for all of them (what
    /// `"8080:80"` means, and what slips past ufw).
    pub host_ip: Option<std::net::IpAddr>,
    /// The host port or range as written ("8080", "8000-8010"); None when
    /// Docker picks one (`"80"` alone publishes on a random port).
    pub published: Option<String>,
    pub target: u16,
    pub protocol: String,
    pub at: At,
    pub raw: String,
    /// Long syntax: the line of its `host_ip:` key, if it has one.
    pub long_host_ip_line: Option<usize>,
    /// Long syntax (a mapping), not a one-line string.
    pub long: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    pub at: At,
    pub image: Option<(String, At)>,
    /// The command and entrypoint words (a string is split on spaces as
    /// Compose's shell-words split does for simple strings).
    pub command: Vec<(String, At)>,
    pub environment: Vec<EnvVar>,
    pub ports: Vec<PortMapping>,
    pub network_mode: Option<(String, At)>,
    /// The networks it joins; empty means the project's `default`.
    pub networks: Vec<(String, At)>,
    /// Variables the file uses that no `.env` sets (interpolated empty).
    pub unset_variables: Vec<String>,
    /// `entrypoint:` is a shell: a job run on the image, not its server.
    pub entrypoint_is_shell: bool,
    /// Its `env_file:` files, as system paths.
    pub env_files: Vec<PathBuf>,
    /// Its `networks:` key: the key's line, and whether the value is a
    /// flow list on that same line (`networks: ['demo']`).
    pub networks_key: Option<(usize, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub name: String,
    pub internal: bool,
    pub at: At,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Compose {
    /// The file as the system names it (the project's first file).
    pub path: PathBuf,
    /// Every file of the project, in the order Compose merges them.
    pub files: Vec<PathBuf>,
    pub services: Vec<Service>,
    pub networks: Vec<Network>,
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("{}:{}: {}", .path.display(), .line, .message)]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

impl Compose {
    /// The networks a service is on, `default` when it names none.
    pub fn networks_of<'a>(&'a self, service: &'a Service) -> Vec<&'a str> {
        if service.networks.is_empty() {
            vec!["default"]
        } else {
            service.networks.iter().map(|(n, _)| n.as_str()).collect()
        }
    }

    /// A network of the file is `internal: true` (`default` never is,
    /// unless the file redefines it).
    pub fn is_internal(&self, network: &str) -> bool {
        self.networks
            .iter()
            .any(|n| n.name == network && n.internal)
    }
}

/// Merge `over` into `base` as Compose merges a later `-f` file (or the
/// override file) over an earlier one: a service in both keeps the base's
/// keys the later one does not set; `image`, `command`, `network_mode` and
/// `entrypoint` are replaced, `environment` is merged by variable (the
/// later wins), `ports`, `env_file` and networks are added to. Every value
/// keeps the file and line it came from, so a finding names the override's
/// line when the override published the port.
pub fn merge(base: &mut Compose, over: Compose) {
    base.files.push(over.path.clone());
    for s in over.services {
        let Some(b) = base.services.iter_mut().find(|b| b.name == s.name) else {
            base.services.push(s);
            continue;
        };
        if s.image.is_some() {
            b.image = s.image;
        }
        if !s.command.is_empty() {
            b.command = s.command;
            b.entrypoint_is_shell = s.entrypoint_is_shell;
        }
        if s.network_mode.is_some() {
            b.network_mode = s.network_mode;
        }
        b.environment.extend(s.environment);
        for p in s.ports {
            if !b.ports.iter().any(|q| q.raw == p.raw) {
                b.ports.push(p);
            }
        }
        for n in s.networks {
            if !b.networks.iter().any(|(m, _)| *m == n.0) {
                b.networks.push(n);
            }
        }
        b.env_files.extend(s.env_files);
        b.unset_variables.extend(s.unset_variables);
        b.unset_variables.sort();
        b.unset_variables.dedup();
    }
    for n in over.networks {
        match base.networks.iter_mut().find(|m| m.name == n.name) {
            Some(m) => *m = n,
            None => base.networks.push(n),
        }
    }
}

/// `KEY=VALUE` lines of a `.env` or `env_file` file, as Compose reads
/// them: `#` comments, blank lines, optional `export `, values in single
/// quotes taken as written, in double quotes with `\n` escapes, unquoted
/// values up to a ` #` comment.
pub fn parse_env_file(text: &str, path: &Path) -> Vec<EnvVar> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (line, None),
        };
        if key.is_empty() {
            continue;
        }
        let value = value.map(|v| {
            // (a quoted value ends at its closing quote; a comment may follow)
            let quoted = |q: char| {
                v.strip_prefix(q)
                    .and_then(|rest| rest.rfind(q).map(|end| &rest[..end]))
            };
            if let Some(inner) = quoted('\'') {
                inner.to_string()
            } else if let Some(inner) = quoted('"') {
                inner.replace("\\n", "\n").replace("\\\"", "\"")
            } else {
                match v.find(" #") {
                    Some(i) => v[..i].trim_end().to_string(),
                    None => v.to_string(),
                }
            }
        });
        out.push(EnvVar {
            key: key.to_string(),
            value,
            at: At {
                path: path.to_path_buf(),
                line: i + 1,
            },
        });
    }
    out
}

/// Compose's interpolation of one value with `vars` (the `.env` file);
/// names it used that `vars` lacks go to `unset`.
pub fn interpolate(text: &str, vars: &[EnvVar], unset: &mut Vec<String>) -> String {
    let lookup = |name: &str| -> Option<String> {
        vars.iter()
            .rev()
            .find(|v| v.key == name)
            .map(|v| v.value.clone().unwrap_or_default())
    };
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            let next = text[i..].find('$').map_or(text.len(), |n| i + n);
            out.push_str(&text[i..next]);
            i = next;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => {
                out.push('$');
                i += 2;
            }
            Some(b'{') => {
                let Some(close) = text[i + 2..].find('}') else {
                    out.push_str(&text[i..]);
                    break;
                };
                let inner = &text[i + 2..i + 2 + close];
                i += 3 + close;
                let name_end = inner
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(inner.len());
                let (name, op) = inner.split_at(name_end);
                let value = lookup(name);
                if value.is_none() {
                    unset.push(name.to_string());
                }
                let set_nonempty = value.as_deref().is_some_and(|v| !v.is_empty());
                let replaced = if let Some(d) = op.strip_prefix(":-") {
                    if set_nonempty {
                        value.unwrap_or_default()
                    } else {
                        interpolate(d, vars, unset)
                    }
                } else if let Some(d) = op.strip_prefix('-') {
                    value.unwrap_or_else(|| interpolate(d, vars, unset))
                } else if let Some(a) = op.strip_prefix(":+") {
                    if set_nonempty {
                        interpolate(a, vars, unset)
                    } else {
                        String::new()
                    }
                } else if let Some(a) = op.strip_prefix('+') {
                    if value.is_some() {
                        interpolate(a, vars, unset)
                    } else {
                        String::new()
                    }
                } else {
                    // `${VAR}`, and `${VAR:?err}`: compose refuses to run
                    // without it; read as unset here.
                    value.unwrap_or_default()
                };
                out.push_str(&replaced);
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let start = i + 1;
                let end = text[start..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(text.len(), |n| start + n);
                let name = &text[start..end];
                match lookup(name) {
                    Some(v) => out.push_str(&v),
                    None => unset.push(name.to_string()),
                }
                i = end;
            }
            _ => {
                out.push('$');
                i += 1;
            }
        }
    }
    out
}

/// Read a compose file. `text` is its content, `path` the system path
/// (findings name it), `dot_env` the project's `.env` variables and
/// `read_env_file` reads an `env_file:` entry (relative to the file's
/// directory) as a system path.
pub fn parse(
    text: &str,
    path: &Path,
    dot_env: &[EnvVar],
    read_env_file: &mut dyn FnMut(&Path) -> Option<String>,
) -> Result<Compose, ComposeError> {
    let doc = yaml::parse(text).map_err(|e| ComposeError::Syntax {
        path: path.to_path_buf(),
        line: e.line,
        message: e.message,
    })?;
    let at = |line: usize| At {
        path: path.to_path_buf(),
        line,
    };
    let syntax = |line: usize, message: String| ComposeError::Syntax {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut compose = Compose {
        path: path.to_path_buf(),
        files: vec![path.to_path_buf()],
        services: Vec::new(),
        networks: Vec::new(),
    };
    if let Some(nets) = doc.get("networks").and_then(Node::as_map) {
        for (k, v) in nets {
            let internal = v.get("internal").and_then(Node::as_bool).unwrap_or(false);
            compose.networks.push(Network {
                name: k.as_str().unwrap_or_default().to_string(),
                internal,
                at: at(v.get("internal").map_or(k.line, |n| n.line)),
            });
        }
    }
    let Some(services) = doc.get("services") else {
        return Ok(compose);
    };
    let Some(services) = services.as_map() else {
        return Err(syntax(
            services.line,
            "services: must be a mapping of service names".into(),
        ));
    };
    let dir = path.parent().unwrap_or(Path::new("/"));
    for (name, body) in services {
        let mut unset = Vec::new();
        let mut s = |n: &Node| n.as_str().map(|t| interpolate(t, dot_env, &mut unset));
        let mut svc = Service {
            name: name.as_str().unwrap_or_default().to_string(),
            at: at(name.line),
            image: None,
            command: Vec::new(),
            environment: Vec::new(),
            ports: Vec::new(),
            network_mode: None,
            networks: Vec::new(),
            unset_variables: Vec::new(),
            entrypoint_is_shell: false,
            env_files: Vec::new(),
            networks_key: body
                .entry("networks")
                .map(|(k, v)| (k.line, v.line == k.line && v.as_seq().is_some())),
        };
        if let Some(image) = body.get("image") {
            svc.image = s(image).map(|t| (t, at(image.line)));
        }
        if let Some(ep) = body.get("entrypoint") {
            let first = match &ep.value {
                Value::Seq(words) => words.first().and_then(&mut s),
                _ => s(ep).and_then(|t| shell_words(&t).into_iter().next()),
            };
            let base = first
                .as_deref()
                .map(|f| f.rsplit('/').next().unwrap_or(f).to_string());
            svc.entrypoint_is_shell =
                base.is_some_and(|b| matches!(b.as_str(), "sh" | "bash" | "ash" | "dash"));
        }
        for key in ["entrypoint", "command"] {
            match body.get(key).map(|n| &n.value) {
                Some(Value::Seq(words)) => {
                    for w in words {
                        if let Some(t) = s(w) {
                            svc.command.push((t, at(w.line)));
                        }
                    }
                }
                Some(Value::Scalar { .. }) => {
                    let n = body.get(key).unwrap_or(body);
                    if let Some(t) = s(n) {
                        for word in shell_words(&t) {
                            svc.command.push((word, at(n.line)));
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(files) = body.get("env_file") {
            let entries: Vec<&Node> = match &files.value {
                Value::Seq(items) => items.iter().collect(),
                _ => vec![files],
            };
            for entry in entries {
                // (long syntax: `- path: x, required: false`)
                let file = entry.get("path").unwrap_or(entry);
                let Some(rel) = s(file) else { continue };
                let sys = dir.join(&rel);
                svc.env_files.push(sys.clone());
                if let Some(text) = read_env_file(&sys) {
                    svc.environment.extend(parse_env_file(&text, &sys));
                }
            }
        }
        match body.get("environment").map(|n| &n.value) {
            Some(Value::Seq(items)) => {
                for item in items {
                    let Some(t) = s(item) else { continue };
                    let (k, v) = match t.split_once('=') {
                        Some((k, v)) => (k.to_string(), Some(v.to_string())),
                        None => (t, None),
                    };
                    svc.environment.push(EnvVar {
                        key: k,
                        value: v,
                        at: at(item.line),
                    });
                }
            }
            Some(Value::Map(pairs)) => {
                for (k, v) in pairs {
                    let value = if v.is_null() { None } else { s(v) };
                    svc.environment.push(EnvVar {
                        key: k.as_str().unwrap_or_default().to_string(),
                        value,
                        at: at(v.line.max(k.line)),
                    });
                }
            }
            _ => {}
        }
        if let Some(ports) = body.get("ports").and_then(Node::as_seq) {
            for p in ports {
                let mapping = if let Some(t) = s(p) {
                    parse_short_port(&t, at(p.line)).map_err(|m| syntax(p.line, m))?
                } else if p.as_map().is_some() {
                    parse_long_port(p, &mut s, at(p.line)).map_err(|m| syntax(p.line, m))?
                } else {
                    return Err(syntax(
                        p.line,
                        "a ports: entry is a string or a mapping".into(),
                    ));
                };
                svc.ports.push(mapping);
            }
        }
        if let Some(mode) = body.get("network_mode") {
            svc.network_mode = s(mode).map(|t| (t, at(mode.line)));
        }
        match body.get("networks").map(|n| &n.value) {
            Some(Value::Seq(items)) => {
                for n in items {
                    if let Some(t) = s(n) {
                        svc.networks.push((t, at(n.line)));
                    }
                }
            }
            Some(Value::Map(pairs)) => {
                for (k, _) in pairs {
                    if let Some(t) = s(k) {
                        svc.networks.push((t, at(k.line)));
                    }
                }
            }
            _ => {}
        }
        unset.sort();
        unset.dedup();
        svc.unset_variables = unset;
        compose.services.push(svc);
    }
    Ok(compose)
}

/// A command string split into words as Compose does (shell words:
/// spaces separate, quotes group, a backslash escapes), by the one splitter
/// of svcacct's unit reader.
pub fn shell_words(text: &str) -> Vec<String> {
    svcacct::existing_unit::split_words(text)
}

/// `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]`, the IP possibly in
/// brackets (`[::1]:8080:80`).
fn parse_short_port(text: &str, at: At) -> Result<PortMapping, String> {
    let bad = || {
        format!("'{text}' is not a port mapping ([HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL])")
    };
    let (body, protocol) = match text.rsplit_once('/') {
        Some((b, p)) => (b, p.to_string()),
        None => (text, "tcp".to_string()),
    };
    let (host_ip, rest) = if let Some(after) = body.strip_prefix('[') {
        let (ip, rest) = after.split_once("]:").ok_or_else(bad)?;
        (Some(ip.parse().map_err(|_| bad())?), rest)
    } else {
        let parts: Vec<&str> = body.split(':').collect();
        match parts.len() {
            1 | 2 => (None, body),
            3 => {
                let ip = if parts[0].is_empty() {
                    None
                } else {
                    Some(parts[0].parse().map_err(|_| bad())?)
                };
                (ip, &body[parts[0].len() + 1..])
            }
            // An IPv6 address without brackets: everything before the
            // last two fields.
            _ => {
                let cut =
                    body.len() - parts[parts.len() - 1].len() - parts[parts.len() - 2].len() - 2;
                (
                    Some(body[..cut].parse().map_err(|_| bad())?),
                    &body[cut + 1..],
                )
            }
        }
    };
    let (published, target) = match rest.split_once(':') {
        Some((h, c)) => (Some(h.to_string()).filter(|h| !h.is_empty()), c),
        None => (None, rest),
    };
    // A container range publishes its first port's service too.
    let first = target.split('-').next().unwrap_or(target);
    let target: u16 = first.parse().map_err(|_| bad())?;
    Ok(PortMapping {
        host_ip,
        published,
        target,
        protocol,
        at,
        raw: text.to_string(),
        long_host_ip_line: None,
        long: false,
    })
}

fn parse_long_port(
    node: &Node,
    s: &mut dyn FnMut(&Node) -> Option<String>,
    at: At,
) -> Result<PortMapping, String> {
    let target = node
        .get("target")
        .and_then(&mut *s)
        .and_then(|t| t.parse::<u16>().ok())
        .ok_or("a long-syntax ports: entry needs target: PORT")?;
    let host_ip = match node.get("host_ip").and_then(&mut *s) {
        Some(ip) if !ip.is_empty() => Some(
            ip.parse()
                .map_err(|_| format!("host_ip: '{ip}' is not an address"))?,
        ),
        _ => None,
    };
    let published = node.get("published").and_then(&mut *s);
    let protocol = node
        .get("protocol")
        .and_then(&mut *s)
        .unwrap_or_else(|| "tcp".into());
    Ok(PortMapping {
        raw: format!(
            "{}{}:{target}/{protocol}",
            host_ip
                .map(|ip: std::net::IpAddr| format!("{ip}:"))
                .unwrap_or_default(),
            published.clone().unwrap_or_default()
        ),
        host_ip,
        published,
        target,
        protocol,
        at,
        long_host_ip_line: node.get("host_ip").map(|n| n.line),
        long: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compose(text: &str, env: &str) -> Compose {
        let path = Path::new("/opt/ai/compose.yaml");
        let vars = parse_env_file(env, Path::new("/opt/ai/.env"));
        parse(text, path, &vars, &mut |_| None).unwrap()
    }

    #[test]
    fn ports_short_and_long() {
        let at = At {
            path: "/x".into(),
            line: 1,
        };
        let p = parse_short_port("11434:11434", at.clone()).unwrap();
        assert_eq!(
            (p.host_ip, p.published.as_deref(), p.target),
            (None, Some("11434"), 11434)
        );
        let p = parse_short_port("127.0.0.1:3000:8080/tcp", at.clone()).unwrap();
        assert_eq!(p.host_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!((p.target, p.protocol.as_str()), (8080, "tcp"));
        let p = parse_short_port("[::1]:8888:8888", at.clone()).unwrap();
        assert_eq!(p.host_ip, Some("::1".parse().unwrap()));
        let p = parse_short_port("::1:8888:8888", at.clone()).unwrap();
        assert_eq!(p.host_ip, Some("::1".parse().unwrap()));
        let p = parse_short_port("8188", at.clone()).unwrap();
        assert_eq!((p.published, p.target), (None, 8188));
        let p = parse_short_port("9000-9001:9000-9001/udp", at.clone()).unwrap();
        assert_eq!((p.target, p.protocol.as_str()), (9000, "udp"));
        assert!(parse_short_port("localhost:80:80", at).is_err());
        let c = compose(
            "services:\n  w:\n    image: x\n    ports:\n      - target: 8080\n        host_ip: 127.0.0.1\n        published: \"3000\"\n",
            "",
        );
        let p = &c.services[0].ports[0];
        assert_eq!(
            (p.host_ip.map(|i| i.to_string()), p.target, p.at.line),
            (Some("127.0.0.1".into()), 8080, 5)
        );
    }

    #[test]
    fn interpolation_like_compose() {
        let vars = parse_env_file(
            "A=1\nE=\nQ='x y' # kept\nexport B=two # comment\n",
            Path::new("/.env"),
        );
        let mut unset = Vec::new();
        let got: Vec<String> = [
            "${A}",
            "$A-$B",
            "${E:-d}",
            "${E-d}",
            "${U:-d}",
            "${U-d}",
            "${A:+yes}",
            "${U:+yes}",
            "$$A",
            "${Q}",
            "${U}",
        ]
        .iter()
        .map(|t| interpolate(t, &vars, &mut unset))
        .collect();
        assert_eq!(
            got,
            ["1", "1-two", "d", "", "d", "d", "yes", "", "$A", "x y", ""]
        );
        assert!(unset.contains(&"U".to_string()));
    }

    #[test]
    fn services_environment_networks() {
        let c = compose(
            "services:\n  webui:\n    image: ghcr.io/open-webui/open-webui:${TAG:-main}\n    environment:\n      WEBUI_AUTH: \"False\"\n    networks: [front, back]\n  ollama:\n    image: ollama/ollama\n    environment:\n      - OLLAMA_HOST=0.0.0.0\n    command: serve --flag 'a b'\n    networks:\n      back:\nnetworks:\n  back:\n    internal: true\n  front: {}\n",
            "",
        );
        let w = &c.services[0];
        assert_eq!(
            w.image.as_ref().unwrap().0,
            "ghcr.io/open-webui/open-webui:main"
        );
        assert_eq!(w.unset_variables, ["TAG"]);
        assert_eq!(w.environment[0].key, "WEBUI_AUTH");
        assert_eq!(
            (w.environment[0].value.as_deref(), w.environment[0].at.line),
            (Some("False"), 5)
        );
        assert!(c.is_internal("back") && !c.is_internal("front") && !c.is_internal("default"));
        let o = &c.services[1];
        assert_eq!(c.networks_of(o), ["back"]);
        let words: Vec<&str> = o.command.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(words, ["serve", "--flag", "a b"]);
    }
}
