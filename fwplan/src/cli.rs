//! The command line: `fwplan render|apply|confirm|rollback|audit`.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use hardkit_core::atomic::{replace_file, WriteOptions};
use hardkit_core::{CommonArgs, ExitStatus, Reporter, Root};

use crate::apply::{self, RollbackVia, State};
use crate::plan::{self, Plan, PlanAction};
use crate::policy::{
    self, DefaultForward, DefaultIn, DefaultOut, Policy, Rate, RuleAction, SshPort,
};
use crate::{
    audit, blocklist, render_iptables, render_nft, render_ufw, sshd_input, FwplanError, TOOL,
};

const EXAMPLES: &str = "Examples:
  fwplan render --allow 80,443/tcp --allow '8000/tcp@10.0.0.0/8,fd00::/8#ai-api' --limit 22/tcp
  sshd-lint --json | fwplan render --sshd - --allow 80,443/tcp --backend ufw
  logscan offenders --json --maxretry 5 --findtime 10m /var/log/auth.log | fwplan render --block-from - --policy /etc/hardkit/fw.json
  fwplan apply --policy /etc/hardkit/fw.json --confirm 60s && fwplan confirm
  fwplan audit --policy /etc/hardkit/fw.json
  fwplan render --allow 80,443/tcp | fwplan --root /mnt/image check -";

/// Plan a host firewall once, render it for nftables, ufw or iptables, and
/// apply it atomically with a rollback that does not need your session.
#[derive(Parser, Debug)]
#[command(name = "fwplan", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the ruleset for a backend (or, with --json, the plan as action records)
    Render(RenderArgs),
    /// Load the nft ruleset atomically, optionally with a rollback unless confirmed
    Apply(ApplyArgs),
    /// Keep the ruleset of the last `apply --confirm`
    Confirm,
    /// Restore the table saved by the last apply, now
    Rollback,
    /// Report listening sockets and firewall gaps, changing nothing
    Audit(AuditArgs),
    /// Check a file as the target's nftables.conf with the target's own `nft -c`, in a sandbox
    Check(CheckArgs),
    /// (internal) the detached rollback started by `apply --confirm`
    #[command(hide = true)]
    RollbackTimer(TimerArgs),
    /// (internal) load a root tree's boot firewall in a new network namespace
    #[command(hide = true)]
    NetnsLoad(NetnsLoadArgs),
}

#[derive(Args, Debug, Default)]
pub struct PolicyArgs {
    /// JSON policy file (see docs/fwplan.md); flags add to it and override its defaults
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// What happens to incoming traffic no rule admits [possible values: deny, reject, allow]
    #[arg(long, value_name = "POLICY", value_parser = ["deny", "reject", "allow"])]
    pub default_in: Option<String>,
    /// Outgoing traffic [possible values: allow, deny]
    #[arg(long, value_name = "POLICY", value_parser = ["allow", "deny"])]
    pub default_out: Option<String>,
    /// Routed traffic (containers, VMs) [possible values: deny, allow]
    #[arg(long, value_name = "POLICY", value_parser = ["deny", "allow"])]
    pub default_forward: Option<String>,
    /// Admit PORTS/PROTO[@SOURCES][#COMMENT], e.g. 80,443/tcp or 8000/tcp@10.0.0.0/8#api
    #[arg(long, value_name = "RULE")]
    pub allow: Vec<String>,
    /// Drop PORTS/PROTO[@SOURCES][#COMMENT]
    #[arg(long, value_name = "RULE")]
    pub deny: Vec<String>,
    /// Admit, but drop a source's new connections above --limit-rate
    #[arg(long, value_name = "RULE")]
    pub limit: Vec<String>,
    /// Per-source rate for --limit rules [default: 6/minute]
    #[arg(long, value_name = "COUNT/UNIT")]
    pub limit_rate: Option<String>,
    /// Let account USER connect to DESTS on PORTS and nowhere else (other
    /// accounts unaffected): USER:PORTS[/PROTO]@DESTS, e.g.
    /// agent:443/tcp@203.0.113.0/24 or agent:any@10.0.0.0/8; USER by name
    /// (the --root tree's /etc/passwd) or uid
    #[arg(long, value_name = "RULE")]
    pub egress: Vec<String>,
    /// The tree whose /etc/passwd names the --egress accounts (--root; set
    /// by `run`, the machine's own when unset).
    #[arg(skip)]
    pub accounts_root: Option<hardkit_core::Root>,
    /// Addresses/CIDRs to drop, one per line, or logscan's JSON (offender records); - for stdin
    #[arg(long, value_name = "FILE")]
    pub block_from: Vec<PathBuf>,
    /// sshd-lint --json output; its port settings are always admitted; - for stdin
    #[arg(long, value_name = "FILE")]
    pub sshd: Option<PathBuf>,
    /// aistack audit --json output: an --allow from anywhere that admits a
    /// port of an AI service without a login, or one a tunnel fronts, is
    /// refused; - for stdin
    #[arg(long, value_name = "FILE")]
    pub stack: Option<PathBuf>,
    /// An SSH port to keep admitted (default: from --sshd, else 22)
    #[arg(long, value_name = "PORT")]
    pub ssh_port: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    Nft,
    Ufw,
    Iptables,
}

#[derive(Args, Debug)]
pub struct RenderArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Which firewall to render for
    #[arg(long, value_enum, default_value = "nft")]
    pub backend: Backend,
    /// Write the files into DIR (hardkit.nft, ufw.sh, rules.v4 + rules.v6) instead of stdout
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Only the --egress rules, in a table of their own (inet
    /// hardkit_egress, nft): nothing inbound, so adding it cannot cut a session
    #[arg(long)]
    pub egress_only: bool,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Only nft can be applied atomically; render the others and run them yourself
    #[arg(long, value_enum, default_value = "nft")]
    pub backend: Backend,
    /// Roll back unless `fwplan confirm` runs within DURATION (e.g. 60s, 2m)
    #[arg(long, value_name = "DURATION")]
    pub confirm: Option<String>,
    /// What enforces --confirm: a detached process, or a systemd transient timer
    #[arg(long, value_enum, default_value = "detached")]
    pub rollback_via: RollbackVia,
    /// Apply even when the ruleset would not admit sshd or the current SSH client
    #[arg(long)]
    pub force: bool,
    /// Validate and check for lockout, apply nothing
    #[arg(long)]
    pub check: bool,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Read the ruleset from a saved `nft -j list ruleset` instead of the kernel
    /// (or, with --root DIR, instead of loading DIR's boot firewall in a
    /// private network namespace)
    #[arg(long, value_name = "FILE")]
    pub ruleset_json: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The candidate configuration; - for stdin
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Where the file will live on the target: its name in nft's messages
    #[arg(long = "as", value_name = "PATH", default_value = "/etc/nftables.conf")]
    pub as_path: PathBuf,
}

#[derive(Args, Debug)]
pub struct NetnsLoadArgs {
    /// The caller's network namespace (`net:[N]`): refuse to load in it
    #[arg(long)]
    pub host_netns: Option<String>,
    #[arg(long)]
    pub nft: Option<PathBuf>,
    #[arg(long)]
    pub iptables: Option<PathBuf>,
    #[arg(long)]
    pub ip6tables: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct TimerArgs {
    #[arg(long)]
    pub token: String,
    #[arg(long)]
    pub after_ms: u64,
}

impl PolicyArgs {
    fn is_empty(&self) -> bool {
        self.policy.is_none()
            && self.default_in.is_none()
            && self.default_out.is_none()
            && self.default_forward.is_none()
            && self.allow.is_empty()
            && self.deny.is_empty()
            && self.limit.is_empty()
            && self.egress.is_empty()
            && self.block_from.is_empty()
    }

    /// The policy from the file (if any) and the flags.
    pub fn to_policy(&self) -> Result<Policy, FwplanError> {
        let stdin_users = self
            .block_from
            .iter()
            .chain(&self.sshd)
            .chain(&self.stack)
            .chain(&self.policy)
            .filter(|p| p.as_os_str() == "-")
            .count();
        if stdin_users > 1 {
            return Err(FwplanError::Usage(
                "only one of --policy, --sshd, --stack and --block-from can read standard input (-)".into(),
            ));
        }
        let mut p = Policy::default();
        if let Some(file) = &self.policy {
            crate::policy_file::load_policy_file(file, &mut p)?;
        }
        let mut explicit = p.explicit;
        if let Some(d) = &self.default_in {
            p.default_in = match d.as_str() {
                "reject" => DefaultIn::Reject,
                "allow" => DefaultIn::Allow,
                _ => DefaultIn::Deny,
            };
            explicit = true;
        }
        if let Some(d) = &self.default_out {
            p.default_out = if d == "deny" {
                DefaultOut::Deny
            } else {
                DefaultOut::Allow
            };
            explicit = true;
        }
        if let Some(d) = &self.default_forward {
            p.default_forward = if d == "allow" {
                DefaultForward::Allow
            } else {
                DefaultForward::Deny
            };
            explicit = true;
        }
        for (flag, action, list) in [
            ("--allow", RuleAction::Allow, &self.allow),
            ("--deny", RuleAction::Deny, &self.deny),
            ("--limit", RuleAction::Limit, &self.limit),
        ] {
            for text in list {
                p.rules.push(policy::parse_rule_text(action, flag, text)?);
                explicit = true;
            }
        }
        if let Some(file) = &self.stack {
            let stack = crate::stack_input::read_stack(file)?;
            crate::stack_input::check_rules(&stack, &p.rules)?;
        }
        for text in &self.egress {
            p.egress.push(crate::egress::parse_egress_text(text)?);
            explicit = true;
        }
        if p.egress.iter().any(|e| e.uid.is_none()) {
            // Names are the target's accounts, read as its file.
            let root = self
                .accounts_root
                .clone()
                .unwrap_or_else(hardkit_core::Root::host);
            let passwd = root
                .resolve("/etc/passwd")
                .ok()
                .and_then(|host| {
                    hardkit_core::input::read_regular_file(
                        &host,
                        hardkit_core::input::MAX_FILE_BYTES,
                    )
                    .ok()
                })
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            crate::egress::resolve_users(&mut p.egress, &passwd)?;
        }
        if let Some(rate) = &self.limit_rate {
            p.limit_rate = Rate::parse(
                rate,
                &policy::Origin::Flag {
                    flag: "--limit-rate",
                    text: rate.clone(),
                },
            )?;
        }
        for file in &self.block_from {
            let (entries, skipped) = blocklist::read_blocklist(file)?;
            p.block.extend(entries);
            p.skipped.extend(skipped);
            explicit = true;
        }
        if let Some(file) = &self.sshd {
            p.ssh_ports.extend(sshd_input::read_sshd_ports(file)?);
        }
        for text in &self.ssh_port {
            let origin = policy::Origin::Flag {
                flag: "--ssh-port",
                text: text.clone(),
            };
            let port = policy::parse_port(text, &origin)?;
            p.ssh_ports.push(SshPort { port, origin });
        }
        p.explicit = explicit;
        Ok(p)
    }

    pub fn to_plan(&self) -> Result<Plan, FwplanError> {
        Ok(plan::build(&self.to_policy()?)?)
    }

    /// The plan, with each skipped block-list entry reported as an error
    /// (the run then exits 2, and every good entry is still blocked).
    pub fn to_plan_reporting(&self, rep: &mut Reporter<impl Write>) -> Result<Plan, FwplanError> {
        let policy = self.to_policy()?;
        for message in &policy.skipped {
            rep.error(hardkit_core::ErrorRecord {
                path: None,
                message: message.clone(),
            })?;
        }
        Ok(plan::build(&policy)?)
    }
}

/// Run the command line; main maps the result to the exit code.
pub fn run(mut cli: Cli) -> Result<ExitStatus, FwplanError> {
    let root = cli.common.root()?;
    match &mut cli.command {
        Command::Render(a) => a.policy.accounts_root = Some(root.clone()),
        Command::Apply(a) => a.policy.accounts_root = Some(root.clone()),
        Command::Audit(a) => a.policy.accounts_root = Some(root.clone()),
        _ => {}
    }
    let common = &cli.common;
    let mut rep = Reporter::stdout(TOOL, common.format(), common.quiet);
    let extra = match &cli.command {
        Command::Render(args) => render(args, &mut rep)?,
        Command::Apply(args) => apply_cmd(args, &root, &mut rep)?,
        Command::Confirm => {
            apply::kernel_matches_root(&root)?;
            let state = State::open(&root)?;
            let p = apply::confirm(&state)?;
            rep.emit(&file_action("confirm", &state.previous(), true))?;
            rep.text(&format!(
                "confirmed: the ruleset stays; rollback (token {}) disarmed\n",
                p.token
            ))?;
            ExitStatus::Clean
        }
        Command::Rollback => {
            apply::kernel_matches_root(&root)?;
            let state = State::open(&root)?;
            apply::rollback(&state)?;
            rep.emit(&file_action("load", &state.previous(), true))?;
            rep.text(&format!("rolled back to {}\n", state.previous().display()))?;
            ExitStatus::Clean
        }
        Command::Audit(args) => audit_cmd(args, &root, &mut rep)?,
        Command::Check(args) => check_cmd(args, &root, &mut rep)?,
        Command::RollbackTimer(args) => {
            let state = State::open(&root)?;
            apply::rollback_timer(&state, &args.token, Duration::from_millis(args.after_ms))?;
            return Ok(ExitStatus::Clean);
        }
        Command::NetnsLoad(args) => {
            use crate::netns_load::{netns_load, Loader};
            let files: Vec<(Loader, PathBuf)> = [
                (Loader::Nft, &args.nft),
                (Loader::Iptables, &args.iptables),
                (Loader::Ip6tables, &args.ip6tables),
            ]
            .into_iter()
            .filter_map(|(l, f)| f.clone().map(|f| (l, f)))
            .collect();
            let report = netns_load(args.host_netns.as_deref(), &files);
            let mut out = std::io::stdout().lock();
            serde_json::to_writer(&mut out, &report).map_err(std::io::Error::from)?;
            writeln!(out)?;
            return Ok(ExitStatus::Clean);
        }
    };
    Ok(rep.finish(common.fail_on, extra)?)
}

fn file_action(op: &str, path: &Path, changed: bool) -> PlanAction {
    PlanAction {
        op: op.into(),
        path: path.display().to_string(),
        changed,
        ..PlanAction::default()
    }
}

/// The rendered files of a backend: (file name, contents).
pub fn rendered_files(plan: &Plan, backend: Backend) -> Vec<(&'static str, String)> {
    match backend {
        Backend::Nft => vec![("hardkit.nft", render_nft::render(plan))],
        Backend::Ufw => vec![("ufw.sh", render_ufw::render(plan))],
        Backend::Iptables => vec![
            (
                "rules.v4",
                render_iptables::render(plan, render_iptables::Family::V4),
            ),
            (
                "rules.v6",
                render_iptables::render(plan, render_iptables::Family::V6),
            ),
        ],
    }
}

fn render(args: &RenderArgs, rep: &mut Reporter<impl Write>) -> Result<ExitStatus, FwplanError> {
    let plan = args.policy.to_plan_reporting(rep)?;
    if args.egress_only {
        if args.backend != Backend::Nft || plan.egress.is_empty() {
            return Err(FwplanError::Usage(
                "--egress-only renders the --egress rules for nft: give --egress, and no --backend other than nft".into(),
            ));
        }
        let text = render_nft::render_egress_only(&plan);
        if let Some(dir) = &args.out {
            let path = dir.join("hardkit-egress.nft");
            let outcome = replace_file(&path, text.as_bytes(), &WriteOptions::mode(0o644))
                .map_err(|e| FwplanError::Io {
                    context: format!("--out {}", dir.display()),
                    source: std::io::Error::other(e.to_string()),
                })?;
            rep.emit(&file_action("write", &path, outcome.changed))?;
        } else {
            rep.text(&text)?;
        }
        return Ok(ExitStatus::Clean);
    }
    if args.backend == Backend::Ufw && !plan.egress.is_empty() {
        return Err(FwplanError::Usage(
            "--egress: ufw has no per-account rules (its rules match addresses and ports only): render with --backend nft or iptables".into(),
        ));
    }
    let files = rendered_files(&plan, args.backend);
    if let Some(dir) = &args.out {
        for (name, text) in &files {
            let path = dir.join(name);
            let mode = if name.ends_with(".sh") { 0o755 } else { 0o644 };
            let outcome =
                replace_file(&path, text.as_bytes(), &WriteOptions::mode(mode)).map_err(|e| {
                    FwplanError::Io {
                        context: format!("--out {}", dir.display()),
                        source: std::io::Error::other(e.to_string()),
                    }
                })?;
            rep.emit(&file_action("write", &path, outcome.changed))?;
            rep.text(&format!("wrote {}\n", path.display()))?;
        }
    }
    if rep.is_json() {
        for action in plan.actions() {
            rep.emit(&action)?;
        }
    } else if args.out.is_none() {
        let mut stdout = std::io::stdout().lock();
        for (name, text) in &files {
            if files.len() > 1 {
                writeln!(stdout, "# ==> {name} <==")?;
            }
            stdout.write_all(text.as_bytes())?;
        }
        stdout.flush()?;
    }
    Ok(ExitStatus::Clean)
}

/// Why applying `plan` could cut SSH: sshd's ports and the current client.
pub fn lockout_problems(
    plan: &Plan,
    sockets: &[audit::Socket],
    client: Option<(IpAddr, u16)>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ports: Vec<u16> = plan.ssh_ports.iter().map(|p| p.port).collect();
    ports.extend(
        sockets
            .iter()
            .filter(|s| {
                s.proto == "tcp" && s.process.as_deref() == Some("sshd") && s.exposure != "loopback"
            })
            .map(|s| s.port),
    );
    ports.sort_unstable();
    ports.dedup();
    for port in ports {
        let admitted = plan.default_in == DefaultIn::Allow
            || plan.rules.iter().any(|r| {
                r.action != RuleAction::Deny
                    && r.proto == policy::Proto::Tcp
                    && r.ports.iter().any(|p| p.contains(port))
            });
        if !admitted {
            problems.push(format!(
                "sshd listens on {port}/tcp and no rule admits it (--allow {port}/tcp)"
            ));
        }
    }
    if let Some((addr, port)) = client {
        if !plan.outcome(addr, policy::Proto::Tcp, port).admits() {
            problems.push(format!(
                "your SSH connection ($SSH_CONNECTION: {addr} to port {port}) would be dropped"
            ));
        }
    }
    problems
}

fn apply_cmd(
    args: &ApplyArgs,
    root: &Root,
    rep: &mut Reporter<impl Write>,
) -> Result<ExitStatus, FwplanError> {
    if args.backend != Backend::Nft {
        return Err(FwplanError::Usage(
            "--backend: only nft can be applied atomically; use `fwplan render --backend ufw|iptables` and run the result".into(),
        ));
    }
    let confirm = match &args.confirm {
        Some(text) => Some((apply::parse_duration(text)?, args.rollback_via)),
        None => None,
    };
    let plan = args.policy.to_plan_reporting(rep)?;
    let sockets = audit::listening_sockets(root);
    let problems = lockout_problems(&plan, &sockets, apply::ssh_connection());
    if !problems.is_empty() && !args.force {
        return Err(apply::ApplyError::Lockout(problems.join("; ")).into());
    }
    for p in &problems {
        apply::note(&format!("fwplan: warning (--force): {p}"));
    }
    let ruleset = render_nft::render(&plan);
    let state = State::open(root)?;
    if args.check {
        check_in(state.dir(), &ruleset)?;
        rep.emit(&file_action("validate", &state.applied(), true))?;
        rep.text("nft -c accepted the ruleset and it admits SSH; nothing applied (--check)\n")?;
        return Ok(ExitStatus::Clean);
    }
    apply::kernel_matches_root(root)?;
    let done = apply::apply(&state, root, &ruleset, confirm)?;
    rep.emit(&file_action("save", &done.previous, true))?;
    rep.emit(&file_action("load", &done.applied, done.changed))?;
    rep.text(&format!(
        "saved the previous table to {}\napplied {} ({})\n",
        done.previous.display(),
        done.applied.display(),
        if done.changed { "changed" } else { "unchanged" }
    ))?;
    if let (Some(p), Some(text)) = (&done.pending, &args.confirm) {
        rep.text(&format!(
            "rollback armed ({}): run `fwplan confirm` within {text} to keep this ruleset\n",
            p.via
        ))?;
    }
    Ok(ExitStatus::Clean)
}

/// `nft -c` on the ruleset, written as a new file (O_EXCL, no link
/// followed) in the state directory, opened through directory
/// descriptors, and removed after.
fn check_in(dir: &Path, text: &str) -> Result<(), FwplanError> {
    let io = |path: &Path| {
        let context = format!("writing {}", path.display());
        move |source| FwplanError::Io { context, source }
    };
    let trusted = hardkit_core::dirfd::TrustedDir::open_for_writing(dir)
        .map_err(hardkit_core::atomic::AtomicError::from)
        .map_err(apply::ApplyError::from)?;
    let name = format!(".check-{}.nft", std::process::id());
    let path = dir.join(&name);
    let mut file = trusted
        .create_new(std::ffi::OsStr::new(&name), 0o600)
        .map_err(io(&path))?;
    let written = std::io::Write::write_all(&mut file, text.as_bytes()).map_err(io(&path));
    let checked = written.and_then(|()| apply::check_file(&path).map_err(FwplanError::from));
    let _ = trusted.unlink(std::ffi::OsStr::new(&name));
    checked
}

/// `fwplan check`: the candidate judged by the target's own nft.
fn check_cmd(
    args: &CheckArgs,
    root: &Root,
    rep: &mut Reporter<impl Write>,
) -> Result<ExitStatus, FwplanError> {
    use crate::check::{check, CheckError, Judge};
    use hardkit_core::{Finding, Location, Severity};
    if !args.as_path.is_absolute() {
        return Err(FwplanError::Usage(format!(
            "--as {}: the path on the target must be absolute",
            args.as_path.display()
        )));
    }
    let input = hardkit_core::input::InputSource::parse(&args.file);
    let contents = input
        .read_limited(64 << 20)
        .map_err(|e| FwplanError::Usage(e.to_string()))?;
    let judge = Judge::for_root(root).ok_or_else(|| CheckError::NoNft {
        tree: root.dir().display().to_string(),
    })?;
    let release = judge.release(root);
    let by = format!("{}, nftables {}", judge.describe(root), release.version);
    rep.emit(&release)?;
    let verdict = check(root, &judge, &args.as_path, &contents)?;
    let system = args.as_path.display().to_string();
    if verdict.accepted {
        rep.emit(&PlanAction {
            op: "validate".into(),
            path: system.clone(),
            changed: false,
            comment: Some(format!("nft -c accepted it ({by}, in a sandbox)")),
            ..PlanAction::default()
        })?;
        rep.text(&format!(
            "{}: accepted by {by} (nft -c, in a sandbox)\n",
            hardkit_core::output::escape_untrusted(&system)
        ))?;
        return Ok(ExitStatus::Clean);
    }
    let first = verdict
        .message
        .lines()
        .find_map(|l| l.split_once("Error: ").map(|(_, e)| e))
        .or_else(|| verdict.message.lines().next())
        .unwrap_or("rejected")
        .trim()
        .to_string();
    rep.text(&format!(
        "{}: rejected by {by} (nft -c, in a sandbox)\n",
        hardkit_core::output::escape_untrusted(&system)
    ))?;
    let location = match &verdict.location {
        Some((path, line)) => Location::new(path.as_path(), Some(*line)),
        None => Location::new(args.as_path.as_path(), None),
    };
    rep.finding(
        Finding::new(
            "fwplan/check-rejected",
            Severity::High,
            format!("nft -c rejects {system}: {first}"),
            format!(
                "{by} refused the file (nothing was loaded). Loaded at boot, it would fail as one \
                 transaction, leaving none of its rules in place. nft says:\n{}",
                verdict.message.trim_end()
            ),
        )
        .at(location)
        .fix("correct the line named, then check again"),
    )?;
    Ok(ExitStatus::Findings)
}

fn audit_cmd(
    args: &AuditArgs,
    root: &Root,
    rep: &mut Reporter<impl Write>,
) -> Result<ExitStatus, FwplanError> {
    // sshd's ports alone are no policy (first-five passes --sshd to every
    // audit): without rules the audit judges the firewall as a whole.
    let plan = if args.policy.is_empty() {
        None
    } else {
        Some(args.policy.to_plan()?)
    };
    let sockets = audit::listening_sockets(root);
    for s in &sockets {
        rep.emit(s)?;
        rep.text(&format!(
            "{:<4} {:>5}  {:<28} {:<9} {}\n",
            s.proto,
            s.port,
            hardkit_core::output::escape_untrusted(&s.address),
            s.exposure,
            hardkit_core::output::escape_untrusted(&match (&s.process, s.pid) {
                (Some(p), Some(pid)) => format!("{p}[{pid}]"),
                _ => "?".into(),
            })
        ))?;
    }
    // Outbound connections, with their accounts: records only (monitor
    // remembers where each service's account connects).
    if rep.is_json() {
        for c in audit::outbound_connections(root) {
            rep.emit(&c)?;
        }
    }
    // The namespace child of a root tree's boot firewall is this binary.
    let helper = std::env::current_exe().map_err(|source| FwplanError::Io {
        context: "finding fwplan's own binary".into(),
        source,
    })?;
    let live = match audit::live_firewall(root, args.ruleset_json.as_deref(), &helper) {
        Ok((live, notes)) => {
            for f in notes {
                rep.finding(f)?;
            }
            live
        }
        Err(message) => {
            rep.error(hardkit_core::ErrorRecord {
                path: None,
                message,
            })?;
            audit::LiveFirewall::default()
        }
    };
    for f in audit::findings(&sockets, &live, plan.as_ref()) {
        rep.finding(f)?;
    }
    Ok(ExitStatus::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn lockout_is_found_for_ports_and_the_current_client() {
        let args = PolicyArgs {
            allow: vec!["80/tcp".into()],
            limit: vec!["22/tcp@192.0.2.0/24".into()],
            ..PolicyArgs::default()
        };
        let plan = args.to_plan().unwrap();
        assert!(lockout_problems(&plan, &[], Some(("192.0.2.7".parse().unwrap(), 22))).is_empty());
        let p = lockout_problems(&plan, &[], Some(("198.51.100.7".parse().unwrap(), 22)));
        assert!(p[0].contains("198.51.100.7"), "{p:?}");
        let sshd = audit::Socket {
            proto: "tcp".into(),
            address: "0.0.0.0".into(),
            port: 2222,
            process: Some("sshd".into()),
            pid: Some(1),
            exposure: "all".into(),
        };
        let p = lockout_problems(&plan, &[sshd], None);
        assert!(p[0].contains("2222/tcp"), "{p:?}");
    }
}
