//! Workload profiles: what common AI services need from their unit to keep
//! working, so that `svcacct apply` loosens exactly those rows and no
//! others. Chosen with `--profile NAME` or detected from the program and
//! its arguments; the chosen profile is reported (a `profile` record and a
//! text line) with every setting it changed and why.
//!
//! | profile | detected from | what it changes |
//! | --- | --- | --- |
//! | `ollama` | a program named `ollama` | `ProcSubset=all` (ollama sizes its model scheduling from /proc/meminfo); its models directory writable (OLLAMA_MODELS, else the existing account's home, where its installer keeps `.ollama/models`); with `--gpu`: the render and video groups (ROCm's /dev/kfd and /dev/dri/renderD*), and W+X memory for the GPU runtimes' code loading |
//! | `llm-server` | `vllm`, `text-generation-launcher`, `python -m vllm...`, `uv run vllm ...` | the GPU (as `--gpu`, with those groups), W+X memory (Triton and torch.compile JIT), `ProcSubset=all` (CPU and memory probing), and `@resources` system calls (NUMA placement and CPU affinity of its workers) |
//! | `agent` | an interpreter: python, node, bun, deno, uv | its script's directory read-only when it lies inside a writable directory; for a JavaScript runtime W+X memory (its JIT) |
//! | `jupyter` | `jupyter`, `jupyter-lab`, `jupyter-notebook`, `python -m jupyterlab`/`notebook` | `ProcSubset=all` and W+X memory: notebooks run what the user writes, and the common ones read /proc/meminfo (psutil) and JIT (numba, JAX, torch) |
//! | `none` | anything else | nothing |

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use hardkit_core::input::{read_regular_file, MAX_FILE_BYTES};
use hardkit_core::record::Record;
use hardkit_core::Root;

use crate::accounts::Accounts;
use crate::plan::ServiceSpec;

/// A workload profile by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    None,
    Ollama,
    LlmServer,
    Agent,
    Jupyter,
}

pub const NAMES: &[(&str, Profile)] = &[
    ("none", Profile::None),
    ("ollama", Profile::Ollama),
    ("llm-server", Profile::LlmServer),
    ("agent", Profile::Agent),
    ("jupyter", Profile::Jupyter),
];

impl Profile {
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, p)| *p == self)
            .map(|(n, _)| *n)
            .unwrap_or("none")
    }
}

impl std::str::FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        NAMES
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, p)| *p)
            .ok_or_else(|| {
                let names: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
                format!(
                    "unknown profile '{s}' (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// What a profile adds to the generated unit, resolved on the target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// `ProcSubset=all` instead of `pid` (/proc/meminfo, /proc/cpuinfo).
    pub proc_all: bool,
    /// W+X memory (no `MemoryDenyWriteExecute=`).
    pub jit: bool,
    /// The GPU's device nodes.
    pub gpu: bool,
    /// The `@resources` system calls (affinity, NUMA memory policy).
    pub resources: bool,
    /// More directories the service writes (a models directory).
    pub writable: Vec<PathBuf>,
    /// Directories kept read-only inside a writable one (its own code).
    pub readonly: Vec<PathBuf>,
    /// `SupplementaryGroups=` (only groups the target has).
    pub groups: Vec<String>,
}

/// The profile in force and why, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileRecord {
    pub name: String,
    /// `flag` (`--profile`) or `detected` (from the command).
    pub source: String,
    pub reason: String,
    /// Each setting the profile changed, with its reason.
    pub settings: Vec<String>,
}

impl Record for ProfileRecord {
    const TYPE: &'static str = "profile";
}

impl ProfileRecord {
    pub fn human(&self) -> String {
        let mut out = format!("profile {} ({})\n", self.name, self.reason);
        for s in &self.settings {
            out.push_str(&format!("  + {s}\n"));
        }
        out
    }
}

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

const JS_RUNTIMES: &[&str] = &["node", "nodejs", "bun", "deno"];

fn is_interpreter(base: &str) -> bool {
    let family = base.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    ["python", "node", "nodejs", "bun", "deno", "uv", "uvx"].contains(&family)
}

/// The profile the command line asks for, and why.
pub fn detect(exec_line: &str) -> (Profile, String) {
    let words: Vec<&str> = exec_line.split_whitespace().collect();
    let program = words.first().copied().unwrap_or("");
    let base = basename(program);
    let module = words
        .windows(2)
        .find(|w| w[0] == "-m")
        .map(|w| w[1].split('.').next().unwrap_or(w[1]));
    let mentions = |name: &str| {
        words
            .iter()
            .skip(1)
            .any(|w| basename(w) == name || w.starts_with(&format!("{name}.")))
    };
    if base == "ollama" {
        return (
            Profile::Ollama,
            format!("detected from the program {program}"),
        );
    }
    let llm = ["vllm", "text-generation-launcher", "text-generation-server"];
    if llm.contains(&base)
        || module == Some("vllm")
        || (is_interpreter(base) && llm.iter().any(|n| mentions(n)))
    {
        return (
            Profile::LlmServer,
            format!(
                "detected from the command {}",
                words.iter().take(3).copied().collect::<Vec<_>>().join(" ")
            ),
        );
    }
    if base.starts_with("jupyter")
        || matches!(
            module,
            Some("jupyterlab" | "notebook" | "jupyter" | "jupyter_server")
        )
    {
        return (
            Profile::Jupyter,
            format!(
                "detected from the command {}",
                words.iter().take(3).copied().collect::<Vec<_>>().join(" ")
            ),
        );
    }
    if is_interpreter(base) {
        return (
            Profile::Agent,
            format!("detected from the interpreter {program}"),
        );
    }
    (
        Profile::None,
        format!("no profile fits the program {program}"),
    )
}

/// The script or code an interpreter command runs (its first operand that
/// is not an option), if it names a file.
fn script_of(exec_line: &str) -> Option<PathBuf> {
    let words: Vec<&str> = exec_line.split_whitespace().collect();
    let base = basename(words.first()?);
    if !is_interpreter(base) {
        return None;
    }
    let rest = &words[1..];
    if rest
        .iter()
        .any(|w| ["-m", "-c", "-e", "--eval"].contains(w))
    {
        return None;
    }
    let start = if base.starts_with("uv") {
        rest.iter().position(|w| *w == "run").map_or(0, |i| i + 1)
    } else {
        0
    };
    rest[start.min(rest.len())..]
        .iter()
        .find(|w| !w.starts_with('-'))
        .filter(|w| w.starts_with('/'))
        .map(PathBuf::from)
}

/// OLLAMA_MODELS as the service will see it: the env file's value (read
/// from the tree; root-only, so only the trusted operator wrote it) or one
/// carried from the existing unit.
fn ollama_models(root: &Root, spec: &ServiceSpec, carried: &[(String, String)]) -> Option<PathBuf> {
    let from_file = spec.env_file.as_ref().and_then(|env| {
        let host = root.resolve(env.as_path()).ok()?;
        let text = read_regular_file(&host, MAX_FILE_BYTES).ok()?;
        String::from_utf8_lossy(&text).lines().rev().find_map(|l| {
            let l = l.trim().trim_start_matches("export ");
            let v = l.strip_prefix("OLLAMA_MODELS=")?;
            Some(v.trim_matches(['"', '\'']).to_string())
        })
    });
    from_file
        .or_else(|| {
            carried
                .iter()
                .rev()
                .find(|(k, _)| k == "OLLAMA_MODELS")
                .map(|(_, v)| v.clone())
        })
        .filter(|v| v.starts_with('/') && !v.contains(".."))
        .map(PathBuf::from)
}

/// Resolve `profile` for `spec` on the target: what it adds, and the
/// record that says so.
pub fn resolve(
    profile: Profile,
    source: &str,
    reason: String,
    spec: &ServiceSpec,
    root: &Root,
    accounts: &Accounts,
    carried: &[(String, String)],
) -> (Needs, ProfileRecord) {
    let mut needs = Needs::default();
    let mut settings = Vec::new();
    let writable = spec.writable_dirs();
    let gpu_groups = |needs: &mut Needs, settings: &mut Vec<String>| {
        for g in ["render", "video"] {
            if accounts.group_named(g).is_some() {
                needs.groups.push(g.to_string());
            }
        }
        if !needs.groups.is_empty() {
            settings.push(format!(
                "SupplementaryGroups={}: AMD's /dev/kfd and /dev/dri/renderD* belong to these groups (ROCm needs them; NVIDIA's nodes are open to all)",
                needs.groups.join(" ")
            ));
        }
    };
    match profile {
        Profile::None => {}
        Profile::Ollama => {
            needs.proc_all = true;
            settings.push("ProcSubset=all: ollama reads /proc/meminfo (and /proc/cpuinfo) to size its model scheduling".into());
            let models = ollama_models(root, spec, carried).or_else(|| {
                accounts
                    .user(spec.name.as_str())
                    .map(|u| PathBuf::from(&u.home))
                    .filter(|h| {
                        h.is_absolute() && h != Path::new("/nonexistent") && h != Path::new("/")
                    })
            });
            if let Some(dir) = models {
                if !writable.iter().any(|w| dir.starts_with(w)) {
                    settings.push(format!(
                        "ReadWritePaths={}: its models directory (OLLAMA_MODELS, else the account's home with .ollama/models) would be read-only under ProtectSystem=strict",
                        dir.display()
                    ));
                    needs.writable.push(dir);
                }
            }
            if spec.gpu {
                gpu_groups(&mut needs, &mut settings);
                needs.jit = true;
                settings.push("no MemoryDenyWriteExecute=: the CUDA and ROCm runtimes map code they load or compile as writable and executable".into());
            }
        }
        Profile::LlmServer => {
            needs.gpu = true;
            settings
                .push("the GPU device nodes (as --gpu): the server runs its models there".into());
            gpu_groups(&mut needs, &mut settings);
            needs.jit = true;
            settings.push("no MemoryDenyWriteExecute=: Triton kernels and torch.compile are compiled at run time".into());
            needs.proc_all = true;
            settings.push("ProcSubset=all: it probes /proc/meminfo and /proc/cpuinfo to size its caches and workers".into());
            needs.resources = true;
            settings.push("@resources system calls allowed: its workers set CPU affinity and NUMA memory policy".into());
        }
        Profile::Agent => {
            let program = spec.exec.line.split_whitespace().next().unwrap_or("");
            if JS_RUNTIMES.contains(&basename(program)) {
                needs.jit = true;
                settings.push(format!(
                    "no MemoryDenyWriteExecute=: {} compiles JavaScript at run time",
                    basename(program)
                ));
            }
            if let Some(dir) =
                script_of(&spec.exec.line).and_then(|s| s.parent().map(Path::to_path_buf))
            {
                if writable.iter().any(|w| dir.starts_with(w)) {
                    settings.push(format!(
                        "ReadOnlyPaths={}: its code (and its venv or node_modules beside it) stays read-only inside its writable state",
                        dir.display()
                    ));
                    needs.readonly.push(dir);
                }
            }
        }
        Profile::Jupyter => {
            needs.proc_all = true;
            settings.push("ProcSubset=all: notebooks read /proc/meminfo and /proc/cpuinfo (psutil, os.cpu_count's helpers)".into());
            needs.jit = true;
            settings.push(
                "no MemoryDenyWriteExecute=: notebooks JIT-compile (numba, JAX, torch.compile)"
                    .into(),
            );
        }
    }
    let record = ProfileRecord {
        name: profile.name().to_string(),
        source: source.to_string(),
        reason,
        settings,
    };
    (needs, record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection() {
        assert_eq!(detect("/usr/local/bin/ollama serve").0, Profile::Ollama);
        assert_eq!(
            detect("/opt/vllm/bin/vllm serve Qwen/Qwen2.5").0,
            Profile::LlmServer
        );
        assert_eq!(
            detect("/opt/venv/bin/python -m vllm.entrypoints.openai.api_server --port 8000").0,
            Profile::LlmServer
        );
        assert_eq!(detect("/usr/bin/uv run vllm serve x").0, Profile::LlmServer);
        assert_eq!(
            detect("/usr/local/bin/text-generation-launcher --model-id x").0,
            Profile::LlmServer
        );
        assert_eq!(
            detect("/opt/j/bin/jupyter-lab --no-browser").0,
            Profile::Jupyter
        );
        assert_eq!(
            detect("/usr/bin/python3 -m jupyterlab --port 8888").0,
            Profile::Jupyter
        );
        assert_eq!(
            detect("/usr/bin/python3 /home/agent/app/loop.py").0,
            Profile::Agent
        );
        assert_eq!(detect("/usr/bin/node /srv/bot/index.js").0, Profile::Agent);
        assert_eq!(detect("/opt/agent/bin/agent --serve").0, Profile::None);
        // A word that merely contains a name is not it.
        assert_eq!(
            detect("/usr/bin/python3 /srv/notvllm/app.py").0,
            Profile::Agent
        );
    }

    #[test]
    fn scripts_of_interpreters() {
        assert_eq!(
            script_of("/usr/bin/python3 -u /srv/a/loop.py --x"),
            Some("/srv/a/loop.py".into())
        );
        assert_eq!(
            script_of("/usr/bin/uv run /srv/a/main.py"),
            Some("/srv/a/main.py".into())
        );
        assert_eq!(script_of("/usr/bin/python3 -m app"), None);
        assert_eq!(script_of("/opt/x/bin/x /srv/a/loop.py"), None);
    }

    #[test]
    fn names_round_trip() {
        for (n, p) in NAMES {
            assert_eq!(n.parse::<Profile>().unwrap(), *p);
            assert_eq!(p.name(), *n);
        }
        assert!("llama".parse::<Profile>().unwrap_err().contains("ollama"));
    }
}
