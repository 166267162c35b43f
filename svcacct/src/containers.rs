//! Docker containers, judged like services: a container run privileged, with
//! the Docker socket mounted, or on the host's network is root on the host
//! in all but name; an AI back end (ollama, vLLM, ...) on a network that
//! reaches outside is one `ports:` entry or one compromised neighbour away
//! from the internet.
//!
//! Read from Docker's own state under `--root`
//! (`/var/lib/docker/containers/ID/config.v2.json` and `hostconfig.json`,
//! the files dockerd writes for every container), and from `docker
//! inspect` and `docker network inspect` output given with `--inspect FILE`
//! (JSON arrays; both kinds may be in one file, one after the other). Docker
//! keeps its networks in a bolt database, so whether a network is
//! `internal` is known only from `docker network inspect` (and for the
//! default `bridge`, host and none networks, which are never internal).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use hardkit_core::input::{read_regular_file, MAX_FILE_BYTES};
use hardkit_core::{Finding, Location, Root, Severity};

/// One container, as much as the checks need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Container {
    /// Without Docker's leading `/`.
    pub name: String,
    pub image: String,
    pub privileged: bool,
    pub network_mode: String,
    /// Host paths mounted into it (binds and bind mounts).
    pub host_paths: Vec<String>,
    /// The networks it is attached to.
    pub networks: Vec<String>,
    /// Where it was read (config.v2.json under the root, or the inspect file).
    pub source: PathBuf,
    /// Where its host settings are (hostconfig.json, or the inspect file).
    pub host_source: PathBuf,
    /// Its environment (`KEY=VALUE`, as Config.Env holds it).
    pub env: Vec<String>,
    /// Its entrypoint, then its command.
    pub command: Vec<String>,
    /// Config.Labels (compose's `com.docker.compose.*` among them).
    pub labels: BTreeMap<String, String>,
    /// Published ports: host address (empty: all), host port, the
    /// container's port and protocol (HostConfig.PortBindings).
    pub ports: Vec<PublishedPort>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishedPort {
    pub host_ip: String,
    pub host_port: Option<u16>,
    pub container_port: u16,
    pub protocol: String,
}

/// What is known of the networks: name -> internal.
pub type Networks = BTreeMap<String, bool>;

/// The containers dockerd keeps under the root.
pub fn from_root(root: &Root) -> Vec<Container> {
    let mut out = Vec::new();
    let Ok(dir) = root.resolve("/var/lib/docker/containers") else {
        return out;
    };
    let Ok(entries) = fs::read_dir(&dir) else {
        return out;
    };
    let mut ids: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    ids.sort();
    for id in ids {
        let base = Path::new("/var/lib/docker/containers").join(&id);
        let read = |name: &str| -> Option<Value> {
            let host = root.resolve(base.join(name)).ok()?;
            let bytes = read_regular_file(&host, MAX_FILE_BYTES).ok()?;
            serde_json::from_slice(&bytes).ok()
        };
        let (Some(config), host) = (read("config.v2.json"), read("hostconfig.json")) else {
            continue;
        };
        let mut c = container_of(&config, host.as_ref());
        c.source = base.join("config.v2.json");
        c.host_source = base.join("hostconfig.json");
        out.push(c);
    }
    out
}

/// A file (or `-`) of `docker inspect` output, read bounded: its
/// containers and networks, or what is wrong with it.
pub fn read_inspect(file: &Path) -> Result<(Vec<Container>, Networks), String> {
    let bytes = hardkit_core::input::InputSource::parse(file)
        .read_limited(MAX_FILE_BYTES)
        .map_err(|e| e.to_string())?;
    from_inspect(&String::from_utf8_lossy(&bytes), file)
}

/// `docker inspect` and `docker network inspect` output (arrays, possibly
/// several in a row).
pub fn from_inspect(text: &str, source: &Path) -> Result<(Vec<Container>, Networks), String> {
    let mut containers = Vec::new();
    let mut networks = Networks::new();
    let stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    for item in stream {
        let item =
            item.map_err(|e| format!("{}: not docker inspect output: {e}", source.display()))?;
        let list = match item {
            Value::Array(list) => list,
            other => vec![other],
        };
        for obj in list {
            if obj.get("HostConfig").is_some() {
                let mut c = container_of(&obj, obj.get("HostConfig"));
                c.source = source.to_path_buf();
                c.host_source = source.to_path_buf();
                containers.push(c);
            } else if let (Some(name), Some(internal)) = (
                obj.get("Name").and_then(Value::as_str),
                obj.get("Internal").and_then(Value::as_bool),
            ) {
                networks.insert(name.to_string(), internal);
            }
        }
    }
    Ok((containers, networks))
}

fn container_of(config: &Value, host: Option<&Value>) -> Container {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let mut host_paths = Vec::new();
    if let Some(binds) = host.and_then(|h| h.get("Binds")).and_then(Value::as_array) {
        for b in binds.iter().filter_map(Value::as_str) {
            if let Some(src) = b.split(':').next().filter(|p| p.starts_with('/')) {
                host_paths.push(src.to_string());
            }
        }
    }
    // Mounts of `--mount type=bind` (hostconfig) and what inspect lists.
    for list in [host.and_then(|h| h.get("Mounts")), config.get("Mounts")] {
        for m in list.and_then(Value::as_array).into_iter().flatten() {
            if m.get("Type").and_then(Value::as_str) == Some("bind") {
                if let Some(src) = m.get("Source").and_then(Value::as_str) {
                    host_paths.push(src.to_string());
                }
            }
        }
    }
    // config.v2.json's MountPoints (an object by destination).
    if let Some(points) = config.get("MountPoints").and_then(Value::as_object) {
        for p in points.values() {
            if let Some(src) = p
                .get("Source")
                .and_then(Value::as_str)
                .filter(|s| s.starts_with('/'))
            {
                host_paths.push(src.to_string());
            }
        }
    }
    host_paths.sort();
    host_paths.dedup();
    let networks = config
        .get("NetworkSettings")
        .and_then(|n| n.get("Networks"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let cfg = config.get("Config");
    let strings = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        }
    };
    let mut command = strings(cfg.and_then(|c| c.get("Entrypoint")));
    command.extend(strings(cfg.and_then(|c| c.get("Cmd"))));
    let labels = cfg
        .and_then(|c| c.get("Labels"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    // `"8080/tcp": [{"HostIp": "", "HostPort": "3000"}]`
    let mut ports = Vec::new();
    if let Some(bindings) = host
        .and_then(|h| h.get("PortBindings"))
        .and_then(Value::as_object)
    {
        for (key, list) in bindings {
            let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
            let Ok(container_port) = port.parse::<u16>() else {
                continue;
            };
            for b in list.as_array().into_iter().flatten() {
                ports.push(PublishedPort {
                    host_ip: s(b.get("HostIp")),
                    host_port: s(b.get("HostPort")).parse().ok(),
                    container_port,
                    protocol: proto.to_string(),
                });
            }
        }
    }
    Container {
        env: strings(cfg.and_then(|c| c.get("Env"))),
        command,
        labels,
        ports,
        name: s(config.get("Name")).trim_start_matches('/').to_string(),
        image: s(config.get("Config").and_then(|c| c.get("Image"))),
        privileged: host
            .and_then(|h| h.get("Privileged"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
        network_mode: s(host.and_then(|h| h.get("NetworkMode"))),
        host_paths,
        networks,
        source: PathBuf::new(),
        host_source: PathBuf::new(),
    }
}

/// The AI back end an image runs (a model server, a proxy in front of
/// one, a vector database), by the apps' table svcacct shares with aistack:
/// the apps people reach (Open WebUI, n8n, Flowise, Jupyter) are front ends.
pub fn ai_backend(image: &str) -> Option<&'static str> {
    hardkit_aiapps::by_image(image)
        .filter(|a| a.role == hardkit_aiapps::Role::Backend)
        .map(|a| a.id)
}

fn is_docker_socket(path: &str) -> bool {
    let p = path.trim_end_matches('/');
    matches!(
        p,
        "/var/run/docker.sock" | "/run/docker.sock" | "/var/run" | "/run"
    ) || p.ends_with("/docker.sock")
}

/// The findings about `containers`.
pub fn findings(containers: &[Container], networks: &Networks) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in containers {
        let at = Location::new(c.host_source.clone(), None);
        let name = &c.name;
        if c.privileged {
            out.push(
                Finding::new(
                    "svcacct/container-privileged",
                    Severity::Critical,
                    format!("container {name} runs --privileged: root on the host"),
                    format!("{name} ({}) has every capability and every device of the host and no seccomp or AppArmor profile: whoever controls it controls the machine.", c.image),
                )
                .at(at.clone())
                .fix("remove privileged: true (--privileged); add only the devices (--device) or capabilities (--cap-add) it needs")
                .evidence("container", name),
            );
        }
        if let Some(sock) = c.host_paths.iter().find(|p| is_docker_socket(p)) {
            out.push(
                Finding::new(
                    "svcacct/container-docker-socket",
                    Severity::Critical,
                    format!("container {name} has the Docker socket ({sock}): root on the host"),
                    format!("Through {sock}, {name} ({}) can start a privileged container with the host's / mounted: it is root on the host.", c.image),
                )
                .at(at.clone())
                .fix("remove the docker.sock volume; a tool that needs the API gets a socket proxy limited to the calls it uses (e.g. read-only container listing)")
                .evidence("container", name),
            );
        }
        if c.network_mode == "host" {
            out.push(
                Finding::new(
                    "svcacct/container-host-network",
                    Severity::High,
                    format!("container {name} uses the host's network"),
                    format!("With network_mode: host, {name} ({}) listens on the host's interfaces (past Docker's port mapping and the firewall rules written for it) and reaches every local service, 127.0.0.1 included.", c.image),
                )
                .at(at.clone())
                .fix("drop network_mode: host; publish only what must be reached (ports: \"127.0.0.1:PORT:PORT\") on a network of its own")
                .evidence("container", name),
            );
        }
        if let Some(kind) = ai_backend(&c.image) {
            // Networks that reach outside: the default bridge always, a
            // named one when docker network inspect says it is not internal.
            let open: Vec<&String> = c
                .networks
                .iter()
                .filter(|n| n.as_str() == "bridge" || networks.get(n.as_str()) == Some(&false))
                .collect();
            if c.network_mode != "host" && !open.is_empty() {
                let list: Vec<&str> = open.iter().map(|s| s.as_str()).collect();
                out.push(
                    Finding::new(
                        "svcacct/container-ai-network",
                        Severity::Medium,
                        format!("{kind} container {name} is on a network that reaches outside ({})", list.join(", ")),
                        format!("{name} ({}) is an AI back end; on {} it can open connections to the internet and any container there can reach it. Only the front end needs the outside.", c.image, list.join(", ")),
                    )
                    .at(Location::new(c.source.clone(), None))
                    .fix("put the back end on a network with internal: true (docker network create --internal; in compose: networks: backend: internal: true) shared with its front end only")
                    .evidence("container", name),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_and_sockets() {
        assert_eq!(ai_backend("ollama/ollama:0.5.7"), Some("ollama"));
        assert_eq!(ai_backend("docker.io/chromadb/chroma:0.5"), Some("chroma"));
        assert_eq!(ai_backend("vllm/vllm-openai@sha256:abc"), Some("vllm"));
        assert_eq!(ai_backend("ghcr.io/open-webui/open-webui:main"), None);
        assert_eq!(ai_backend("qdrant/qdrant:v1.12.0"), Some("qdrant"));
        assert_eq!(ai_backend("nginx:1.27"), None);
        assert!(is_docker_socket("/var/run/docker.sock"));
        assert!(is_docker_socket("/run"));
        assert!(!is_docker_socket("/srv/models"));
    }

    #[test]
    fn inspect_output_of_both_kinds() {
        let text = r#"[{"Name":"/ollama","Config":{"Image":"ollama/ollama"},"HostConfig":{"Privileged":false,"NetworkMode":"ai_backend","Binds":["/srv/models:/root/.ollama"]},"Mounts":[{"Type":"bind","Source":"/var/run/docker.sock","Destination":"/var/run/docker.sock"}],"NetworkSettings":{"Networks":{"ai_backend":{}}}}]
[{"Name":"ai_backend","Driver":"bridge","Internal":false}]"#;
        let (c, n) = from_inspect(text, Path::new("inspect.json")).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(n.get("ai_backend"), Some(&false));
        let ids: Vec<String> = findings(&c, &n).into_iter().map(|f| f.id).collect();
        assert_eq!(
            ids,
            [
                "svcacct/container-docker-socket",
                "svcacct/container-ai-network"
            ]
        );
        let mut internal = n.clone();
        internal.insert("ai_backend".into(), true);
        let ids: Vec<String> = findings(&c, &internal).into_iter().map(|f| f.id).collect();
        assert_eq!(ids, ["svcacct/container-docker-socket"]);
        assert!(from_inspect("{not json", Path::new("x")).is_err());
    }
}
