//! The AI services hardkit knows (aistack judges them, svcacct keeps back
//! ends off open networks): one row per program, with how to
//! recognise it (image names, program names), the port it serves on, its
//! role in a stack, and what decides whether it asks for a login, by
//! version where that changed.
//!
//! A back end (a model server, a vector database) is reached by the other
//! services of the stack; a front end is what people open in a browser.
//! Back ends belong on internal networks and loopback; only a front end
//! needs a way in, and then behind its own login or the tunnel's.

use std::path::PathBuf;

/// Where a value came from: the file and its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct At {
    pub path: PathBuf,
    pub line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Backend,
    Frontend,
}

/// What decides authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthRule {
    /// The program has no login at all: whoever reaches the port uses it.
    Never,
    /// It asks for a key when one of these variables is set non-empty or
    /// one of these options is given a value.
    Key {
        env: &'static [&'static str],
        flags: &'static [&'static str],
    },
    /// Open WebUI: `WEBUI_AUTH` (default on).
    OpenWebUi,
    /// n8n: basic auth, and user management from 0.168, before 1.0; an
    /// owner account always from 1.0 (basic auth and
    /// N8N_USER_MANAGEMENT_DISABLED were removed then).
    N8n,
    /// Flowise: `FLOWISE_USERNAME`/`FLOWISE_PASSWORD` up to 3.0.0, its own
    /// accounts from 3.0.1.
    Flowise,
    /// Langflow: `LANGFLOW_AUTO_LOGIN` (default on: no login).
    Langflow,
    /// Jupyter: a random token unless the token and the password are set
    /// empty.
    Jupyter,
    /// Weaviate: anonymous access unless switched off.
    Weaviate,
}

/// Where a program listens when nothing in front of it decides (a unit,
/// or a container on the host's network): its address options and
/// variables, in the order it reads them, and its defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen {
    /// Options that give the address (`--host`); an option given with no
    /// value means every address (ComfyUI's bare `--listen`).
    pub host_flags: &'static [&'static str],
    /// Variables that give the address.
    pub host_env: &'static [&'static str],
    /// A variable that gives `HOST:PORT` (OLLAMA_HOST).
    pub host_port_env: Option<&'static str>,
    /// The program's own default address.
    pub default: &'static str,
    /// The default its official image sets, where it differs.
    pub in_image: Option<&'static str>,
    pub port_flags: &'static [&'static str],
    pub port_env: &'static [&'static str],
}

/// Most servers: `--host`/`HOST`, `--port`/`PORT`, every address.
const LISTEN_HOST_PORT: Listen = Listen {
    host_flags: &["--host"],
    host_env: &["HOST"],
    host_port_env: None,
    default: "0.0.0.0",
    in_image: None,
    port_flags: &["--port"],
    port_env: &["PORT"],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct App {
    pub id: &'static str,
    pub name: &'static str,
    /// Image names (the last path segment, without tag) or whole names.
    pub images: &'static [&'static str],
    /// Program names a systemd unit may run it as (the ExecStart program's
    /// base name, or a Python module after `-m`).
    pub programs: &'static [&'static str],
    pub port: u16,
    pub role: Role,
    pub auth: AuthRule,
    pub listen: Listen,
}

pub const APPS: &[App] = &[
    App {
        id: "ollama",
        name: "Ollama",
        images: &["ollama/ollama", "ollama"],
        programs: &["ollama"],
        port: 11434,
        role: Role::Backend,
        auth: AuthRule::Never,
        listen: Listen {
            host_flags: &[],
            host_env: &[],
            host_port_env: Some("OLLAMA_HOST"),
            default: "127.0.0.1",
            // (the image sets OLLAMA_HOST=0.0.0.0:11434)
            in_image: Some("0.0.0.0"),
            port_flags: &[],
            port_env: &[],
        },
    },
    App {
        id: "vllm",
        name: "vLLM",
        images: &["vllm/vllm-openai", "vllm-openai", "vllm"],
        programs: &["vllm", "vllm.entrypoints.openai.api_server"],
        port: 8000,
        role: Role::Backend,
        auth: AuthRule::Key {
            env: &["VLLM_API_KEY"],
            flags: &["--api-key"],
        },
        listen: LISTEN_HOST_PORT,
    },
    App {
        id: "text-generation-inference",
        name: "Text Generation Inference",
        images: &[
            "huggingface/text-generation-inference",
            "text-generation-inference",
        ],
        programs: &["text-generation-launcher"],
        port: 80,
        role: Role::Backend,
        auth: AuthRule::Never,
        listen: LISTEN_HOST_PORT,
    },
    App {
        id: "llama.cpp",
        name: "llama.cpp server",
        images: &["ggerganov/llama.cpp", "ggml-org/llama.cpp", "llama.cpp"],
        programs: &["llama-server", "server"],
        port: 8080,
        role: Role::Backend,
        auth: AuthRule::Key {
            env: &["LLAMA_API_KEY"],
            flags: &["--api-key", "--api-key-file"],
        },
        listen: LISTEN_HOST_PORT,
    },
    App {
        id: "localai",
        name: "LocalAI",
        images: &["localai/localai", "go-skynet/local-ai", "local-ai"],
        programs: &["local-ai"],
        port: 8080,
        role: Role::Backend,
        auth: AuthRule::Key {
            env: &["API_KEY", "LOCALAI_API_KEY"],
            flags: &["--api-keys"],
        },
        listen: LISTEN_HOST_PORT,
    },
    App {
        id: "litellm",
        name: "LiteLLM proxy",
        images: &["berriai/litellm", "litellm/litellm", "litellm"],
        programs: &["litellm"],
        port: 4000,
        role: Role::Backend,
        auth: AuthRule::Key {
            env: &["LITELLM_MASTER_KEY"],
            flags: &[],
        },
        listen: LISTEN_HOST_PORT,
    },
    App {
        id: "qdrant",
        name: "Qdrant",
        images: &["qdrant/qdrant", "qdrant"],
        programs: &["qdrant"],
        port: 6333,
        role: Role::Backend,
        auth: AuthRule::Key {
            env: &["QDRANT__SERVICE__API_KEY"],
            flags: &[],
        },
        listen: LISTEN_HOST_PORT,
    },
    App {
        id: "chroma",
        name: "Chroma",
        images: &["chromadb/chroma", "chroma"],
        programs: &["chroma"],
        port: 8000,
        role: Role::Backend,
        auth: AuthRule::Key {
            env: &[
                "CHROMA_SERVER_AUTHN_CREDENTIALS",
                "CHROMA_SERVER_AUTH_CREDENTIALS",
            ],
            flags: &[],
        },
        listen: LISTEN_HOST_PORT,
    },
    App {
        id: "weaviate",
        name: "Weaviate",
        images: &["semitechnologies/weaviate", "weaviate"],
        programs: &["weaviate"],
        port: 8080,
        role: Role::Backend,
        auth: AuthRule::Weaviate,
        listen: LISTEN_HOST_PORT,
    },
    App {
        id: "milvus",
        name: "Milvus",
        images: &["milvusdb/milvus", "milvus"],
        programs: &["milvus"],
        port: 19530,
        role: Role::Backend,
        auth: AuthRule::Never,
        listen: LISTEN_HOST_PORT,
    },
    App {
        id: "open-webui",
        name: "Open WebUI",
        images: &["open-webui/open-webui", "open-webui"],
        programs: &["open-webui"],
        port: 8080,
        role: Role::Frontend,
        auth: AuthRule::OpenWebUi,
        listen: LISTEN_HOST_PORT,
    },
    App {
        id: "n8n",
        name: "n8n",
        images: &["n8nio/n8n", "n8n"],
        programs: &["n8n"],
        port: 5678,
        role: Role::Frontend,
        auth: AuthRule::N8n,
        listen: Listen {
            host_flags: &[],
            host_env: &["N8N_LISTEN_ADDRESS"],
            host_port_env: None,
            default: "::",
            in_image: None,
            port_flags: &[],
            port_env: &["N8N_PORT"],
        },
    },
    App {
        id: "flowise",
        name: "Flowise",
        images: &["flowiseai/flowise", "flowise"],
        programs: &["flowise"],
        port: 3000,
        role: Role::Frontend,
        auth: AuthRule::Flowise,
        listen: LISTEN_HOST_PORT,
    },
    App {
        id: "langflow",
        name: "Langflow",
        images: &["langflowai/langflow", "logspace/langflow", "langflow"],
        programs: &["langflow"],
        port: 7860,
        role: Role::Frontend,
        auth: AuthRule::Langflow,
        listen: Listen {
            host_flags: &["--host"],
            host_env: &["LANGFLOW_HOST"],
            host_port_env: None,
            default: "127.0.0.1",
            // (the image sets LANGFLOW_HOST=0.0.0.0)
            in_image: Some("0.0.0.0"),
            port_flags: &["--port"],
            port_env: &["LANGFLOW_PORT"],
        },
    },
    App {
        id: "jupyter",
        name: "Jupyter",
        images: &[
            "jupyter/base-notebook",
            "jupyter/minimal-notebook",
            "jupyter/scipy-notebook",
            "jupyter/datascience-notebook",
            "jupyter/tensorflow-notebook",
            "jupyter/pytorch-notebook",
            "base-notebook",
            "minimal-notebook",
            "scipy-notebook",
            "datascience-notebook",
            "tensorflow-notebook",
            "pytorch-notebook",
        ],
        programs: &[
            "jupyter",
            "jupyter-lab",
            "jupyter-notebook",
            "jupyterhub-singleuser",
            "start-notebook.sh",
            "start-notebook.py",
        ],
        port: 8888,
        role: Role::Frontend,
        auth: AuthRule::Jupyter,
        listen: Listen {
            host_flags: &["--ip", "--ServerApp.ip", "--NotebookApp.ip"],
            host_env: &[],
            host_port_env: None,
            default: "localhost",
            // (docker-stacks sets ServerApp.ip to every address)
            in_image: Some("0.0.0.0"),
            port_flags: &["--port", "--ServerApp.port"],
            port_env: &["JUPYTER_PORT"],
        },
    },
    App {
        id: "comfyui",
        name: "ComfyUI",
        images: &["comfyui", "comfyui-boot", "comfyui-docker"],
        // (ComfyUI is usually run as `python main.py` in its checkout)
        programs: &["comfyui", "comfyui/main.py"],
        port: 8188,
        role: Role::Frontend,
        auth: AuthRule::Never,
        listen: Listen {
            host_flags: &["--listen"],
            host_env: &[],
            host_port_env: None,
            default: "127.0.0.1",
            in_image: None,
            port_flags: &["--port"],
            port_env: &[],
        },
    },
];

/// An image reference's name without registry host, tag or digest
/// (`ghcr.io/open-webui/open-webui:main` gives `open-webui/open-webui`).
pub fn image_name(image: &str) -> String {
    let no_digest = image.split('@').next().unwrap_or(image);
    let (path, _) = match no_digest.rsplit_once(':') {
        // A colon after the last slash is a tag; before it, a port.
        Some((p, tag)) if !tag.contains('/') => (p, tag),
        _ => (no_digest, ""),
    };
    let mut parts: Vec<&str> = path.split('/').collect();
    // A first segment with a dot or a port, or `localhost`, is a registry.
    if parts.len() > 1
        && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost")
    {
        parts.remove(0);
    }
    parts.join("/").to_ascii_lowercase()
}

/// The image's tag (`main`, `1.64.0`), if it has one.
pub fn image_tag(image: &str) -> Option<&str> {
    let no_digest = image.split('@').next().unwrap_or(image);
    match no_digest.rsplit_once(':') {
        Some((_, tag)) if !tag.contains('/') => Some(tag),
        _ => None,
    }
}

/// The app an image runs.
pub fn by_image(image: &str) -> Option<&'static App> {
    let name = image_name(image);
    let last = name.rsplit('/').next().unwrap_or(&name);
    APPS.iter().find(|a| {
        a.images.iter().any(|i| {
            if i.contains('/') {
                name == *i || name.ends_with(&format!("/{i}"))
            } else {
                last == *i
            }
        })
    })
}

/// The app a command line runs (a unit's ExecStart): its program's base
/// name, the module after `python -m`, or the script python runs when a
/// program entry names it with its directory (`comfyui/main.py`, matched
/// without regard to case at the end of the script's path).
pub fn by_command(words: &[String]) -> Option<&'static App> {
    let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
    let program = base(words.first()?);
    if !program.starts_with("python") {
        return APPS.iter().find(|a| a.programs.contains(&program.as_str()));
    }
    if let Some(m) = words.iter().position(|w| w == "-m") {
        let module = words.get(m + 1)?;
        return APPS.iter().find(|a| a.programs.contains(&module.as_str()));
    }
    let script = words[1..]
        .iter()
        .find(|w| !w.starts_with('-'))?
        .to_ascii_lowercase();
    APPS.iter().find(|a| {
        a.programs
            .iter()
            .any(|p| p.contains('/') && (script == *p || script.ends_with(&format!("/{p}"))))
    })
}

/// A version from a tag: its leading numbers (`v0.5.7`, `1.64.0-alpine`,
/// `0.236.3`). Moving tags (`latest`, `main`, `stable`) give None: the
/// newest release.
pub fn version_of(tag: &str) -> Option<(u64, u64, u64)> {
    let t = tag.trim_start_matches('v');
    let numeric: String = t
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = numeric
        .split('.')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    Some((
        major,
        parts.next().flatten().unwrap_or(0),
        parts.next().flatten().unwrap_or(0),
    ))
}

/// What a service asks of whoever reaches it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthState {
    /// A login or key is required.
    Required,
    /// The program can ask for one, and this configuration switched it off.
    Off,
    /// The program has no login at all.
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Auth {
    pub state: AuthState,
    /// Why, for a human: the setting and its value.
    pub why: String,
    /// The line that decides it (None: a default).
    pub at: Option<At>,
}

/// A setting as the service sees it: a variable of its environment or an
/// option of its command line.
pub struct Settings<'a> {
    pub env: &'a [(String, Option<String>, At)],
    pub args: &'a [(String, At)],
}

impl Settings<'_> {
    /// A variable's last assignment: its value (None for a bare `KEY`)
    /// and where it was set.
    fn raw(&self, key: &str) -> Option<(Option<&str>, &At)> {
        self.env
            .iter()
            .rev()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, at)| (v.as_deref(), at))
    }

    /// The last value of a variable (the one the program sees).
    fn setting(&self, key: &str) -> Option<(&str, &At)> {
        self.env
            .iter()
            .rev()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, at)| (v.as_deref().unwrap_or(""), at))
    }

    /// An option's value: `--opt=value`, or `--opt value`.
    fn arg(&self, name: &str) -> Option<(&str, &At)> {
        let mut found = None;
        for (i, (w, at)) in self.args.iter().enumerate() {
            if let Some(v) = w.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                found = Some((v, at));
            } else if w == name {
                // (`--listen` alone: the next word is another option)
                let next = self
                    .args
                    .get(i + 1)
                    .map(|(v, _)| v.as_str())
                    .filter(|v| !v.starts_with('-'));
                found = Some((next.unwrap_or(""), at));
            }
        }
        found
    }
}

fn is_false(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "false" | "0" | "no" | "off"
    )
}

fn is_true(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "on"
    )
}

/// Strip one pair of quotes from an option's value (`--token=''` in a
/// compose command arrives with the quotes when written in a list).
fn unquote(v: &str) -> &str {
    v.strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .or_else(|| v.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
        .unwrap_or(v)
}

impl App {
    /// Where the program listens by itself with these settings (a unit, or
    /// a container on the host's network): its address and port options
    /// and variables, else its defaults (`in_image`: the official image's,
    /// which may differ: Ollama's image sets OLLAMA_HOST=0.0.0.0), and the
    /// line of the first setting read that decided it (None: defaults).
    pub fn bind(&self, s: &Settings, in_image: bool) -> (String, u16, Option<At>) {
        let l = &self.listen;
        // (the first setting read decides the line)
        let decided = std::cell::RefCell::new(None::<At>);
        let note = |at: &At| {
            decided.borrow_mut().get_or_insert_with(|| at.clone());
        };
        let env_value = |k: &str| {
            let (v, at) = s.raw(k)?;
            note(at);
            v.map(String::from)
        };
        let arg = |f: &str| {
            let (v, at) = s.arg(f)?;
            note(at);
            Some(v.to_string())
        };
        let port_of = |v: Option<String>| v.and_then(|p| p.parse::<u16>().ok());
        let port = l
            .port_flags
            .iter()
            .find_map(|f| port_of(arg(f)))
            .or_else(|| l.port_env.iter().find_map(|e| port_of(env_value(e))));
        if let Some(hostport) = l.host_port_env.and_then(env_value) {
            // `HOST:PORT`, `HOST`, `:PORT`, `http://HOST:PORT`, `[::1]:PORT`
            let hp = hostport
                .trim_start_matches("http://")
                .trim_start_matches("https://");
            let (host, port) = match hp.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') || h.ends_with(']') => {
                    (h.to_string(), p.parse().unwrap_or(self.port))
                }
                _ => (hp.to_string(), port.unwrap_or(self.port)),
            };
            return (host, port, decided.into_inner());
        }
        let host = l
            .host_flags
            .iter()
            // (an option given without a value: every address)
            .find_map(|f| {
                arg(f).map(|v| {
                    if v.is_empty() {
                        "0.0.0.0".to_string()
                    } else {
                        v
                    }
                })
            })
            .or_else(|| l.host_env.iter().find_map(|e| env_value(e)))
            .unwrap_or_else(|| match (in_image, l.in_image) {
                (true, Some(image)) => image.to_string(),
                _ => l.default.to_string(),
            });
        (host, port.unwrap_or(self.port), decided.into_inner())
    }

    /// Whether this app, at `version` (None: the newest), asks for a login
    /// with these settings.
    pub fn auth(&self, version: Option<(u64, u64, u64)>, s: &Settings) -> Auth {
        let required = |why: String, at: Option<&At>| Auth {
            state: AuthState::Required,
            why,
            at: at.cloned(),
        };
        let off = |why: String, at: Option<&At>| Auth {
            state: AuthState::Off,
            why,
            at: at.cloned(),
        };
        let newer = |v: (u64, u64, u64)| version.is_none_or(|have| have >= v);
        match self.auth {
            AuthRule::Never => Auth {
                state: AuthState::None,
                why: format!("{} has no login: whoever reaches the port uses it", self.name),
                at: None,
            },
            AuthRule::Key { env, flags } => {
                for key in env {
                    if let Some((v, at)) = s.setting(key) {
                        if !v.is_empty() {
                            return required(format!("{key} is set"), Some(at));
                        }
                    }
                }
                for flag in flags {
                    if let Some((v, at)) = s.arg(flag) {
                        if !unquote(v).is_empty() {
                            return required(format!("{flag} is given"), Some(at));
                        }
                    }
                }
                let names: Vec<&str> = env.iter().chain(flags.iter()).copied().collect();
                Auth {
                    state: AuthState::None,
                    why: format!("no API key ({})", names.join(", ")),
                    at: None,
                }
            }
            AuthRule::OpenWebUi => match s.setting("WEBUI_AUTH") {
                // Open WebUI compares the lowercased value with "true".
                Some((v, at)) if !v.trim().eq_ignore_ascii_case("true") => {
                    off(format!("WEBUI_AUTH={v}"), Some(at))
                }
                Some((v, at)) => required(format!("WEBUI_AUTH={v}"), Some(at)),
                None => required("WEBUI_AUTH defaults to True".into(), None),
            },
            AuthRule::N8n => {
                if let Some((v, at)) = s.setting("N8N_BASIC_AUTH_ACTIVE").filter(|(v, _)| is_true(v)) {
                    if !newer((1, 0, 0)) {
                        return required(format!("N8N_BASIC_AUTH_ACTIVE={v}"), Some(at));
                    }
                }
                if newer((1, 0, 0)) {
                    return required("n8n 1.0 and later always ask for the owner's account (the first visitor sets it up)".into(), None);
                }
                if newer((0, 168, 0)) {
                    return match s.setting("N8N_USER_MANAGEMENT_DISABLED").filter(|(v, _)| is_true(v)) {
                        Some((v, at)) => off(format!("N8N_USER_MANAGEMENT_DISABLED={v} and no basic auth"), Some(at)),
                        None => required("user management (n8n 0.168 and later)".into(), None),
                    };
                }
                off("n8n before 0.168 asks for nothing without N8N_BASIC_AUTH_ACTIVE=true".into(), None)
            }
            AuthRule::Flowise => {
                if newer((3, 0, 1)) {
                    return required("Flowise 3.0.1 and later have their own accounts".into(), None);
                }
                match (s.setting("FLOWISE_USERNAME"), s.setting("FLOWISE_PASSWORD")) {
                    (Some((u, at)), Some((p, _))) if !u.is_empty() && !p.is_empty() => {
                        required("FLOWISE_USERNAME and FLOWISE_PASSWORD are set".into(), Some(at))
                    }
                    (u, _) => off(
                        "no FLOWISE_USERNAME and FLOWISE_PASSWORD (Flowise up to 3.0.0 asks for nothing without them)".into(),
                        u.map(|(_, at)| at),
                    ),
                }
            }
            AuthRule::Langflow => match s.setting("LANGFLOW_AUTO_LOGIN") {
                Some((v, at)) if is_false(v) => required(format!("LANGFLOW_AUTO_LOGIN={v}"), Some(at)),
                Some((v, at)) => off(format!("LANGFLOW_AUTO_LOGIN={v}: every visitor is logged in as the superuser"), Some(at)),
                None => off("LANGFLOW_AUTO_LOGIN defaults to true: every visitor is logged in as the superuser".into(), None),
            },
            AuthRule::Jupyter => {
                let token = ["--IdentityProvider.token", "--ServerApp.token", "--NotebookApp.token"]
                    .iter()
                    .find_map(|f| s.arg(f))
                    .map(|(v, at)| (unquote(v).to_string(), at))
                    // (an empty JUPYTER_TOKEN is ignored: a random token
                    // is made, as without it)
                    .or_else(|| s.setting("JUPYTER_TOKEN").filter(|(v, _)| !v.is_empty()).map(|(v, at)| (v.to_string(), at)));
                let password = ["--PasswordIdentityProvider.hashed_password", "--ServerApp.password", "--NotebookApp.password"]
                    .iter()
                    .find_map(|f| s.arg(f))
                    .map(|(v, _)| unquote(v).to_string())
                    .filter(|v| !v.is_empty());
                match (token, password) {
                    (_, Some(_)) => required("a password is set".into(), None),
                    (Some((t, at)), None) if t.is_empty() => off("the token is set empty and there is no password".into(), Some(at)),
                    (Some((_, at)), None) => required("a token is set".into(), Some(at)),
                    (None, None) => required("Jupyter makes a random token at start".into(), None),
                }
            }
            AuthRule::Weaviate => match s.setting("AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED") {
                Some((v, at)) if is_false(v) => required(format!("AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED={v}"), Some(at)),
                Some((v, at)) => off(format!("AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED={v}"), Some(at)),
                None => off("anonymous access is on unless AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=false".into(), None),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize) -> At {
        At {
            path: "/c.yaml".into(),
            line,
        }
    }

    fn auth(app: &str, tag: &str, env: &[(&str, &str)], args: &[&str]) -> Auth {
        let app = APPS.iter().find(|a| a.id == app).unwrap();
        let env: Vec<(String, Option<String>, At)> = env
            .iter()
            .enumerate()
            .map(|(i, (k, v))| (k.to_string(), Some(v.to_string()), at(i + 1)))
            .collect();
        let args: Vec<(String, At)> = args.iter().map(|a| (a.to_string(), at(9))).collect();
        app.auth(
            version_of(tag),
            &Settings {
                env: &env,
                args: &args,
            },
        )
    }

    #[test]
    fn images_and_commands() {
        assert_eq!(
            image_name("ghcr.io/open-webui/open-webui:main"),
            "open-webui/open-webui"
        );
        assert_eq!(
            image_name("localhost:5000/ollama/ollama:0.5.7@sha256:ab"),
            "ollama/ollama"
        );
        assert_eq!(image_tag("docker.n8n.io/n8nio/n8n:1.64.0"), Some("1.64.0"));
        assert_eq!(image_tag("registry:5000/x"), None);
        assert_eq!(by_image("docker.n8n.io/n8nio/n8n").unwrap().id, "n8n");
        assert_eq!(
            by_image("quay.io/jupyter/scipy-notebook:2024-05-27")
                .unwrap()
                .id,
            "jupyter"
        );
        assert_eq!(by_image("ollama/ollama:rocm").unwrap().id, "ollama");
        assert!(by_image("postgres:16-alpine").is_none());
        let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            by_command(&words("/usr/local/bin/ollama serve"))
                .unwrap()
                .id,
            "ollama"
        );
        assert_eq!(
            by_command(&words(
                "/usr/bin/python3 -m vllm.entrypoints.openai.api_server --model x"
            ))
            .unwrap()
            .id,
            "vllm"
        );
        assert_eq!(version_of("v0.5.7"), Some((0, 5, 7)));
        assert_eq!(version_of("1.64.0-alpine"), Some((1, 64, 0)));
        assert_eq!(version_of("latest"), None);
    }

    #[test]
    fn each_apps_login_by_version() {
        assert_eq!(auth("ollama", "", &[], &[]).state, AuthState::None);
        assert_eq!(
            auth("vllm", "", &[], &["--api-key", "k"]).state,
            AuthState::Required
        );
        assert_eq!(
            auth("vllm", "", &[("VLLM_API_KEY", "")], &[]).state,
            AuthState::None
        );
        let w = auth("open-webui", "main", &[("WEBUI_AUTH", "False")], &[]);
        assert_eq!((w.state, w.at.map(|a| a.line)), (AuthState::Off, Some(1)));
        assert_eq!(
            auth("open-webui", "main", &[], &[]).state,
            AuthState::Required
        );
        assert_eq!(
            auth(
                "n8n",
                "1.64.0",
                &[("N8N_USER_MANAGEMENT_DISABLED", "true")],
                &[]
            )
            .state,
            AuthState::Required
        );
        assert_eq!(
            auth(
                "n8n",
                "0.236.0",
                &[("N8N_USER_MANAGEMENT_DISABLED", "true")],
                &[]
            )
            .state,
            AuthState::Off
        );
        assert_eq!(
            auth(
                "n8n",
                "0.236.0",
                &[
                    ("N8N_USER_MANAGEMENT_DISABLED", "true"),
                    ("N8N_BASIC_AUTH_ACTIVE", "true")
                ],
                &[]
            )
            .state,
            AuthState::Required
        );
        assert_eq!(auth("n8n", "0.150.0", &[], &[]).state, AuthState::Off);
        assert_eq!(auth("flowise", "2.2.0", &[], &[]).state, AuthState::Off);
        assert_eq!(
            auth(
                "flowise",
                "2.2.0",
                &[("FLOWISE_USERNAME", "u"), ("FLOWISE_PASSWORD", "p")],
                &[]
            )
            .state,
            AuthState::Required
        );
        assert_eq!(auth("flowise", "3.0.0", &[], &[]).state, AuthState::Off);
        assert_eq!(
            auth("flowise", "3.0.1", &[], &[]).state,
            AuthState::Required
        );
        assert_eq!(auth("n8n", "0.170.0", &[], &[]).state, AuthState::Required);
        assert_eq!(auth("n8n", "0.167.0", &[], &[]).state, AuthState::Off);
        assert_eq!(
            auth("jupyter", "", &[("JUPYTER_TOKEN", "")], &[]).state,
            AuthState::Required
        );
        assert_eq!(auth("langflow", "", &[], &[]).state, AuthState::Off);
        assert_eq!(
            auth("langflow", "", &[("LANGFLOW_AUTO_LOGIN", "False")], &[]).state,
            AuthState::Required
        );
        assert_eq!(
            auth(
                "jupyter",
                "",
                &[],
                &["start-notebook.py", "--IdentityProvider.token=''"]
            )
            .state,
            AuthState::Off
        );
        assert_eq!(
            auth(
                "jupyter",
                "",
                &[],
                &["start-notebook.sh", "--NotebookApp.token="]
            )
            .state,
            AuthState::Off
        );
        assert_eq!(
            auth("jupyter", "", &[], &["start-notebook.sh"]).state,
            AuthState::Required
        );
        assert_eq!(
            auth(
                "jupyter",
                "",
                &[],
                &["--ServerApp.token=", "--ServerApp.password=argon2:x"]
            )
            .state,
            AuthState::Required
        );
    }
}
