//! The command line: `aistack audit`, and the records it writes:
//! `ai_service` (one per AI service found) and `tunnel_route` (one per
//! ingress rule of a tunnel that reaches a network service).

use std::io;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::{Deserialize, Serialize};

use hardkit_core::output::escape_untrusted;
use hardkit_core::record::Record;
use hardkit_core::{CommonArgs, ExitStatus, Reporter};

use crate::apps::{AuthState, Role};
use crate::compose::At;
use crate::stack::{Listener, Options, Stack, TunnelRoute};

pub const TOOL: &str = "aistack";

#[derive(Parser, Debug)]
#[command(
    name = "aistack",
    version,
    about = "The self-hosted AI stack: which AI services run (compose files, systemd units), where each listens, whether it asks for a login, and what a Cloudflare tunnel publishes",
    after_help = "Examples:\n  \
        aistack audit                             # compose files under /opt /srv /root /home, units, cloudflared\n  \
        aistack audit --compose /opt/ai/docker-compose.yml --json\n  \
        aistack audit --root /mnt/image --json | jq 'select(.type==\"ai_service\") | [.name, .auth, .reach]'\n  \
        aistack apply --check --diff                # what the fix would change in the compose files\n  \
        aistack apply                               # then: docker compose up -d, in each changed project"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Find the AI services and tunnels, and judge who can reach each
    Audit(AuditArgs),
    /// Make the fixes that are safe in files: back ends and apps without a
    /// login bound to 127.0.0.1, Open WebUI's login back on, the tunnel's
    /// credentials root's alone. Each compose file is checked with the
    /// target's docker compose config first; containers are not restarted
    Apply(ApplyArgs),
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub audit: AuditArgs,
    /// Write nothing; report what would change (exit 1 if something would)
    #[arg(long)]
    pub check: bool,
    /// Show each change as a unified diff
    #[arg(long)]
    pub diff: bool,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// A compose file to read besides those found (a path on the target;
    /// repeatable)
    #[arg(long, value_name = "FILE")]
    pub compose: Vec<PathBuf>,
    /// `docker inspect` output for the running containers (repeatable; -
    /// for stdin); without it, Docker's files under the root
    #[arg(long, value_name = "FILE")]
    pub inspect: Vec<PathBuf>,
}

/// The `ai_service` record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AiServiceRecord {
    pub name: String,
    pub app: String,
    pub role: Role,
    /// The compose file or unit that defines it, and the line.
    pub path: PathBuf,
    pub line: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub auth: AuthState,
    pub auth_why: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_at: Option<At>,
    /// The widest reach of its ports (None: it listens nowhere known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reach: Option<crate::stack::Reach>,
    pub listeners: Vec<Listener>,
    /// Public hostnames a tunnel routes to it.
    pub tunnel: Vec<String>,
    pub networks: Vec<String>,
}

impl Record for AiServiceRecord {
    const TYPE: &'static str = "ai_service";
}

impl Record for TunnelRoute {
    const TYPE: &'static str = "tunnel_route";
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Root(#[from] hardkit_core::root::RootError),
    #[error("{}: {message}", .path.display())]
    Refused { path: PathBuf, message: String },
    #[error(transparent)]
    Write(#[from] hardkit_core::atomic::AtomicError),
    #[error(transparent)]
    Dir(#[from] hardkit_core::dirfd::DirError),
    #[error("--compose {}: not an absolute path on the target", .0.display())]
    ComposePath(PathBuf),
    #[error("--inspect {0}")]
    Inspect(String),
    #[error("writing output")]
    Output(#[from] io::Error),
}

pub fn run(cli: Cli) -> Result<ExitStatus, CliError> {
    let common = cli.common;
    let root = common.root()?;
    let mut reporter = Reporter::stdout(TOOL, common.format(), common.quiet);
    let (args, apply) = match cli.command {
        Command::Audit(a) => (a, None),
        Command::Apply(a) => {
            let opts = (a.check, a.diff);
            (a.audit, Some(opts))
        }
    };
    let compose_files = compose_paths(&root, &args)?;
    let mut containers = Vec::new();
    for file in &args.inspect {
        let (list, _) = svcacct::containers::read_inspect(file).map_err(CliError::Inspect)?;
        containers.extend(list);
    }
    let stack = Stack::load(
        &root,
        &Options {
            compose_files,
            containers,
        },
    );
    if let Some((check, diff)) = apply {
        let status = crate::apply::run(&root, &stack, check, diff, &mut reporter)?;
        return Ok(reporter.finish(common.fail_on, status)?);
    }
    report_stack(&stack, &mut reporter)?;
    for finding in crate::audit::audit(&stack, &root) {
        reporter.finding(finding)?;
    }
    Ok(reporter.finish(common.fail_on, ExitStatus::Clean)?)
}

fn compose_paths(
    root: &hardkit_core::root::Root,
    args: &AuditArgs,
) -> Result<Vec<PathBuf>, CliError> {
    let mut compose_files = Vec::new();
    for f in &args.compose {
        if root.is_host() {
            // (on this machine a relative path is the operator's own)
            compose_files
                .push(std::path::absolute(f).map_err(|_| CliError::ComposePath(f.clone()))?);
        } else if f.is_absolute() {
            compose_files.push(f.clone());
        } else {
            return Err(CliError::ComposePath(f.clone()));
        }
    }
    Ok(compose_files)
}

fn report_stack<W: io::Write>(stack: &Stack, reporter: &mut Reporter<W>) -> io::Result<()> {
    let mut text = format!(
        "aistack: {} AI service(s) in {} compose file(s) and the units; {} tunnel config(s), {} route(s){}\n",
        stack.services.len(),
        stack.composes.len(),
        stack.tunnels.len(),
        stack.routes.len(),
        if stack.remote_tunnels.is_empty() { String::new() } else { format!(", {} tunnel(s) managed in Cloudflare's dashboard", stack.remote_tunnels.len()) }
    );
    for s in &stack.services {
        let tunnel: Vec<String> = stack
            .routes_to(&s.name)
            .map(|r| r.hostname.clone().unwrap_or_else(|| "*".into()))
            .collect();
        let record = AiServiceRecord {
            name: s.name.clone(),
            app: s.app.id.to_string(),
            role: s.app.role,
            path: s.at.path.clone(),
            line: s.at.line,
            image: s.image.clone(),
            auth: s.auth.state.clone(),
            auth_why: s.auth.why.clone(),
            auth_at: s.auth.at.clone(),
            reach: s.reach(),
            listeners: s.listeners.clone(),
            tunnel: tunnel.clone(),
            networks: s.networks.iter().map(|(n, _)| n.clone()).collect(),
        };
        reporter.emit(&record)?;
        let auth = match s.auth.state {
            AuthState::Required => "login",
            AuthState::Off => "LOGIN OFF",
            AuthState::None => "NO LOGIN",
        };
        let ports: Vec<String> = s
            .listeners
            .iter()
            .map(|l| {
                format!(
                    "{}:{} ({})",
                    l.address,
                    l.port.map_or("?".into(), |p| p.to_string()),
                    l.reach.label()
                )
            })
            .collect();
        let at = if s.at.line > 0 {
            format!("{}:{}", s.at.path.display(), s.at.line)
        } else {
            s.at.path.display().to_string()
        };
        text.push_str(&format!(
            "  {:<14} {:<18} {:<9} {}{}  {}\n",
            escape_untrusted(&s.name),
            s.app.name,
            auth,
            ports.join(", "),
            if tunnel.is_empty() {
                String::new()
            } else {
                format!("; tunnel: {}", escape_untrusted(&tunnel.join(", ")))
            },
            escape_untrusted(&at)
        ));
    }
    for r in &stack.routes {
        reporter.emit(r)?;
    }
    reporter.text(&text)
}
