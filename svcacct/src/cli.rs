//! The command line: `svcacct plan|apply NAME --exec CMD ...` and
//! `svcacct audit [UNIT_FILE|NAME...]`, and what each one reports.

use std::io;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use hardkit_core::output::escape_untrusted;
use hardkit_core::record::Action;
use hardkit_core::{CommonArgs, ErrorRecord, ExitStatus, Reporter, Root};

use crate::accounts::Accounts;
use crate::apply::{self, Mode};
use crate::audit;
use crate::exposure::{exposure_of, release, Exposure};
use crate::names::{AbsPath, AccountName, EgressTarget, ExecCommand, Network, Port};
use crate::plan::{self, ServiceSpec};
use crate::sudoers::Sudoers;
use crate::unit_file;

pub const TOOL: &str = "svcacct";

#[derive(Parser, Debug)]
#[command(
    name = "svcacct",
    version,
    about = "Least-privilege service accounts with hardened systemd units, and an audit of who runs as what",
    after_help = "Examples:\n  svcacct plan agent --exec '/opt/agent/bin/agent --serve' --listen 8080 --allow-restart\n  svcacct apply agent --exec /opt/agent/bin/agent --no-network --diff\n  svcacct audit --json | jq 'select(.type==\"exposure\") | [.unit, .score, .level]'\n  svcacct audit --root /mnt/image nginx"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Commands,
}

#[derive(Subcommand, Debug)]
pub enum Commands {
    /// Show the actions that would set the service up (writes nothing; exit 1 when something would change)
    Plan(CreateArgs),
    /// Set the service up: account, directories, unit, sudoers rule, logrotate, sysusers.d, tmpfiles.d
    Apply(ApplyArgs),
    /// Score units like systemd-analyze security and find what their accounts may do
    Audit(AuditArgs),
    /// Docker containers that are root on the host (--privileged, the Docker
    /// socket, the host's network) and AI back ends on networks that reach
    /// outside: from Docker's files under --root and `docker inspect` output
    Containers(ContainersArgs),
}

#[derive(Args, Debug)]
pub struct ContainersArgs {
    /// `docker inspect $(docker ps -aq)` and/or `docker network inspect
    /// $(docker network ls -q)` output (repeatable; - for stdin); without it
    /// only Docker's files under --root are read
    #[arg(long, value_name = "FILE")]
    pub inspect: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// The service and account name (lowercase, at most 31 characters)
    #[arg(value_name = "NAME")]
    pub name: AccountName,
    /// The command to run, program by absolute path ("/opt/agent/bin/agent --serve")
    #[arg(long, value_name = "CMD")]
    pub exec: ExecCommand,
    /// A port the service listens on (1-65535); below 1024 adds only CAP_NET_BIND_SERVICE
    #[arg(long, value_name = "PORT")]
    pub listen: Vec<Port>,
    /// Allow only these clients to reach it (IPAddressDeny=any + IPAddressAllow=)
    #[arg(long, value_name = "NETWORK")]
    pub listen_from: Vec<Network>,
    /// The service needs no network at all (PrivateNetwork=yes)
    #[arg(long)]
    pub no_network: bool,
    /// Confine its network to loopback and these networks (IPAddressDeny=any +
    /// IPAddressAllow=); repeatable. NET:PORTS[/PROTO] ([NET]:PORTS for IPv6)
    /// also names ports, which the firewall enforces (fwplan render
    /// --egress-only --egress NAME:PORTS@NET; first-five --egress does it)
    #[arg(long, value_name = "NET[:PORTS]")]
    pub egress: Vec<EgressTarget>,
    /// With --egress: also the resolvers of the target's /etc/resolv.conf
    #[arg(long)]
    pub egress_dns: bool,
    /// A directory the service writes (default /var/lib/NAME and /var/log/NAME)
    #[arg(long, value_name = "PATH")]
    pub writable: Vec<AbsPath>,
    /// A path the service may only read
    #[arg(long, value_name = "PATH")]
    pub readonly: Vec<AbsPath>,
    /// The code directory: created owned by root, not writable by the service
    #[arg(long, value_name = "DIR")]
    pub code: Option<AbsPath>,
    /// Allow the GPU device nodes (NVIDIA, DRM, KFD) and nothing else
    #[arg(long)]
    pub gpu: bool,
    /// Let the service restart itself: /etc/sudoers.d/NAME with exactly `systemctl restart NAME.service`
    #[arg(long)]
    pub allow_restart: bool,
    /// Write the account's audit rules (/etc/audit/rules.d/hardkit-NAME.rules)
    /// even where auditd is not installed yet: its package loads them when
    /// it starts. Without it they are written only where auditd is installed
    #[arg(long)]
    pub audit_rules: bool,
    /// Secrets file read by systemd (EnvironmentFile=), kept 0600 root:root
    #[arg(long, value_name = "PATH")]
    pub env_file: Option<AbsPath>,
    /// The runtime compiles code at run time (drops MemoryDenyWriteExecute=)
    #[arg(long)]
    pub allow_jit: bool,
    /// MemoryMax= (e.g. 2G)
    #[arg(long, value_name = "BYTES")]
    pub memory_max: Option<String>,
    /// TasksMax=
    #[arg(long, value_name = "N")]
    pub tasks_max: Option<u32>,
    /// CPUQuota= (e.g. 200%)
    #[arg(long, value_name = "PERCENT")]
    pub cpu_quota: Option<String>,
    /// The workload: ollama, llm-server (vLLM, TGI), agent (a Python or Node program), jupyter, or none; default: detected from --exec
    #[arg(long, value_name = "NAME")]
    pub profile: Option<crate::profile::Profile>,
    /// Show a unified diff of every file that would change
    #[arg(long)]
    pub diff: bool,
    /// Replace existing files that svcacct did not write (kept as NAME.hardkit-bak~)
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    /// Change nothing; report what would change (exit 1 when something would)
    #[arg(long)]
    pub check: bool,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Unit files (a path with /) or installed unit names; none means --all
    #[arg(value_name = "UNIT_FILE|NAME")]
    pub units: Vec<String>,
    /// Every service installed under --root
    #[arg(long)]
    pub all: bool,
    /// User units (systemctl --user): names are looked up in the user unit directories, and with --all every user unit there and in each home's ~/.config/systemd/user
    #[arg(long)]
    pub user: bool,
    /// Score as this systemd release's systemd-analyze (252, 257, 262, ...); default: the target's
    #[arg(long, value_name = "VERSION")]
    pub systemd: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Root(#[from] hardkit_core::root::RootError),
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error(transparent)]
    Apply(#[from] apply::ApplyError),
    #[error(transparent)]
    Accounts(#[from] crate::accounts::AccountsError),
    #[error("writing output")]
    Output(#[from] io::Error),
    #[error("{flag}: {message}")]
    Value { flag: &'static str, message: String },
}

fn spec_of(c: &CreateArgs) -> Result<ServiceSpec, CliError> {
    if let Some(m) = &c.memory_max {
        if !m
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '%' || ch == '.')
            || m.is_empty()
        {
            return Err(CliError::Value {
                flag: "--memory-max",
                message: format!("'{m}' is not a size such as 512M or 2G"),
            });
        }
    }
    if let Some(q) = &c.cpu_quota {
        let digits = q.strip_suffix('%').unwrap_or("");
        if digits.is_empty() || !digits.chars().all(|ch| ch.is_ascii_digit()) {
            return Err(CliError::Value {
                flag: "--cpu-quota",
                message: format!("'{q}' is not a percentage such as 50% or 200%"),
            });
        }
    }
    Ok(ServiceSpec {
        name: c.name.clone(),
        exec: c.exec.clone(),
        listen: c.listen.clone(),
        listen_from: c.listen_from.clone(),
        no_network: c.no_network,
        egress: c.egress.iter().map(|t| t.net.clone()).collect(),
        egress_dns: c.egress_dns,
        resolvers: Vec::new(),
        writable: c.writable.clone(),
        readonly: c.readonly.clone(),
        code: c.code.clone(),
        gpu: c.gpu,
        allow_restart: c.allow_restart,
        audit_rules: c.audit_rules,
        env_file: c.env_file.clone(),
        allow_jit: c.allow_jit,
        memory_max: c.memory_max.clone(),
        tasks_max: c.tasks_max,
        cpu_quota: c.cpu_quota.clone(),
        force: c.force,
        profile: c.profile,
        needs: Default::default(),
    })
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> Result<ExitStatus, CliError> {
    let common = cli.common;
    let root = common.root()?;
    let mut reporter = Reporter::stdout(TOOL, common.format(), common.quiet);
    let extra = match cli.command {
        Commands::Plan(create) => {
            egress_ports_note(&create, &mut reporter)?;
            create_service(
                &create,
                &root,
                Verb::Plan,
                Mode {
                    check: true,
                    diff: create.diff,
                },
                &mut reporter,
            )?
        }
        Commands::Apply(a) => {
            egress_ports_note(&a.create, &mut reporter)?;
            create_service(
                &a.create,
                &root,
                Verb::Apply,
                Mode {
                    check: a.check,
                    diff: a.create.diff,
                },
                &mut reporter,
            )?
        }
        Commands::Audit(a) => run_audit(&a, &root, &mut reporter)?,
        Commands::Containers(a) => run_containers(&a, &root, &mut reporter)?,
    };
    Ok(reporter.finish(common.fail_on, extra)?)
}

fn run_containers<W: io::Write>(
    args: &ContainersArgs,
    root: &Root,
    reporter: &mut Reporter<W>,
) -> Result<ExitStatus, CliError> {
    use crate::containers;
    let mut list = containers::from_root(root);
    let mut networks = containers::Networks::new();
    for file in &args.inspect {
        let (c, n) = containers::read_inspect(file).map_err(|message| CliError::Value {
            flag: "--inspect",
            message,
        })?;
        // A container seen in both (files and inspect) is judged once, as
        // inspect describes it (the running state).
        list.retain(|old| !c.iter().any(|new| new.name == old.name));
        list.extend(c);
        networks.extend(n);
    }
    if !reporter.is_json() {
        let names: Vec<String> = list
            .iter()
            .map(|c| {
                format!(
                    "{} ({})",
                    escape_untrusted(&c.name),
                    escape_untrusted(&c.image)
                )
            })
            .collect();
        reporter.text(&format!(
            "svcacct: {} container(s): {}\n",
            list.len(),
            names.join(", ")
        ))?;
    }
    for f in containers::findings(&list, &networks) {
        reporter.finding(f)?;
    }
    Ok(ExitStatus::Clean)
}

/// An `egress_rule` record: the ports of `--egress NET:PORTS`, which the
/// unit cannot enforce, as fwplan's `--egress` rule for the service's
/// account (first-five hands it to `fwplan render --egress-only`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EgressRule {
    pub rule: String,
}

impl hardkit_core::record::Record for EgressRule {
    const TYPE: &'static str = "egress_rule";
}

/// The `egress_rule` records (JSON), or the command that enforces them
/// (text).
fn egress_ports_note<W: io::Write>(
    create: &CreateArgs,
    reporter: &mut Reporter<W>,
) -> io::Result<()> {
    let rules: Vec<EgressRule> = create
        .egress
        .iter()
        .filter_map(|t| {
            t.ports.as_ref().map(|p| EgressRule {
                rule: format!("{}:{p}@{}", create.name.as_str(), t.net.as_str()),
            })
        })
        .collect();
    for r in &rules {
        reporter.emit(r)?;
    }
    if !rules.is_empty() && !reporter.is_json() {
        let flags: Vec<String> = rules
            .iter()
            .map(|r| format!("--egress {}", r.rule))
            .collect();
        reporter.text(&format!(
            "svcacct: the unit allows the networks of --egress; their ports are the firewall's: fwplan render --egress-only {} (first-five --egress does it)\n",
            flags.join(" ")
        ))?;
    }
    Ok(())
}

/// `plan` is how a user reviews a change, so it shows every file, also the
/// ones `apply` would refuse to replace; `apply` (and `apply --check`, which
/// predicts it) refuses those without `--force`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Plan,
    Apply,
}

fn create_service<W: io::Write>(
    create: &CreateArgs,
    root: &Root,
    verb: Verb,
    mode: Mode,
    reporter: &mut Reporter<W>,
) -> Result<ExitStatus, CliError> {
    let spec = spec_of(create)?;
    let plan::Plan {
        steps,
        profile: profile_record,
    } = plan::plan(&spec, root)?;
    reporter.emit(&profile_record)?;
    reporter.text(&profile_record.human())?;
    let not_ours = if spec.force {
        Vec::new()
    } else {
        plan::files_not_ours(&steps, root)?
    };
    if verb == Verb::Apply {
        if let Some(path) = not_ours.first() {
            return Err(plan::PlanError::NotOurs {
                path: path.display().to_string(),
                name: spec.name.to_string(),
            }
            .into());
        }
    }
    let actions = apply::apply(&steps, root, mode)?;
    let changed = actions.iter().filter(|a| a.changed).count();
    for action in &actions {
        reporter.emit(action)?;
        reporter.text(&human_action(action, mode.check))?;
    }
    let verb = if mode.check {
        "would change"
    } else {
        "changed"
    };
    reporter.text(&format!("{} actions, {changed} {verb}\n", actions.len()))?;
    for path in &not_ours {
        // On stderr in both formats: it is about the next command, not a record.
        eprintln!(
            "{TOOL}: note: {}: exists and was not written by svcacct; apply replaces it only with --force (the old file is kept as {}{})",
            escape_untrusted(&path.display().to_string()),
            escape_untrusted(&path.display().to_string()),
            hardkit_core::atomic::BACKUP_SUFFIX,
        );
    }
    // A dry run that finds work to do is drift (exit 1); a real run that did it is done.
    Ok(if mode.check && changed > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}

fn human_action(a: &Action, check: bool) -> String {
    let state = match (a.changed, check) {
        (false, _) => "ok     ",
        (true, true) => "change ",
        (true, false) => "changed",
    };
    let mut line = format!(
        "{state} {:<9} {}",
        a.op,
        escape_untrusted(&a.path.as_path().display().to_string())
    );
    if let Some(m) = &a.mode {
        line.push_str(&format!(" {m}"));
    }
    if let Some(o) = &a.owner {
        line.push_str(&format!(" {}", escape_untrusted(o)));
    }
    line.push('\n');
    if let Some(d) = &a.diff {
        line.push_str(&escape_diff(d));
    }
    line
}

/// A diff for the terminal: each line escaped (the file may hold control
/// characters), the line breaks kept, so it reads as a diff.
fn escape_diff(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len());
    for line in diff.split_inclusive('\n') {
        match line.strip_suffix('\n') {
            Some(text) => {
                out.push_str(&escape_untrusted(text));
                out.push('\n');
            }
            None => out.push_str(&escape_untrusted(line)),
        }
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn run_audit<W: io::Write>(
    args: &AuditArgs,
    root: &Root,
    reporter: &mut Reporter<W>,
) -> Result<ExitStatus, CliError> {
    let detected = match &args.systemd {
        Some(v) => release::from_flag(v).map_err(|message| CliError::Value {
            flag: "--systemd",
            message,
        })?,
        None => release::detect(root),
    };
    let systemd = detected.model();
    let record = detected.record();
    reporter.emit(&record)?;
    reporter.text(&format!("svcacct: {}\n", record.human("systemd")))?;
    if let Some(finding) = detected.finding() {
        reporter.finding(finding)?;
    }
    let accounts = Accounts::load(root)?;
    let sudoers = Sudoers::load(root);
    let targets = if args.all || args.units.is_empty() {
        if args.user {
            audit::all_user_units(root, &accounts)?
        } else {
            audit::all_units(root)?
        }
    } else {
        args.units.clone()
    };
    for target in &targets {
        let loaded = if target.contains('/') {
            let path = PathBuf::from(target);
            // A home's own unit (listed by --user --all) is read inside the tree.
            let path = if args.user && path.is_absolute() && !root.is_host() {
                root.resolve_parent(&path)?
            } else {
                path
            };
            unit_file::load_file_as(root, &path, release::template_instance(systemd), args.user)
        } else {
            unit_file::load_by_name_as(root, target, release::template_instance(systemd), args.user)
        };
        let unit = match loaded {
            Ok(u) => u,
            Err(e) => {
                reporter.error(ErrorRecord {
                    path: Some(hardkit_core::BytesPath::new(target)),
                    message: e.to_string(),
                })?;
                continue;
            }
        };
        if let Some((why, at)) = unit_file::refusal(&unit) {
            // systemd prints no score for a unit it does not load: neither
            // does svcacct.
            reporter.text(&format!(
                "{}  not loaded by systemd: {}\n",
                escape_untrusted(&unit.name),
                escape_untrusted(&why)
            ))?;
            let location = match at {
                Some(a) => hardkit_core::Location::new(a.path.clone(), Some(a.line)),
                None => hardkit_core::Location::new(unit.fragment.clone(), None),
            };
            reporter.finding(
                hardkit_core::Finding::new(
                    "svcacct/unit-refused",
                    hardkit_core::Severity::Medium,
                    format!("systemd does not load {}", unit.name),
                    format!("{}: {why}. The service does not run, whatever its unit says (and systemd-analyze security prints no score for it).", unit.name),
                )
                .at(location)
                .fix("correct the unit (systemd-analyze verify NAME.service says the same), then systemctl daemon-reload")
                .evidence("unit", &unit.name),
            )?;
        } else {
            let exposure = exposure_of(&unit, systemd);
            reporter.emit(&exposure)?;
            reporter.text(&human_exposure(&exposure))?;
        }
        for finding in audit::audit_unit(&unit, root, &accounts, &sudoers, systemd) {
            reporter.finding(finding)?;
        }
    }
    for finding in audit::ignored_sudoers_files(&sudoers) {
        reporter.finding(finding)?;
    }
    Ok(ExitStatus::Clean)
}

/// Rows shown per unit in human mode (all of them are in --json).
const HUMAN_ROWS: usize = 8;

fn human_exposure(e: &Exposure) -> String {
    let mut bad: Vec<&crate::exposure::Setting> =
        e.settings.iter().filter(|s| s.exposure.is_some()).collect();
    // Worst first: the rows that cost the most.
    bad.sort_by(|a, b| {
        let share =
            |s: &crate::exposure::Setting| s.badness.unwrap_or(0) * s.weight * 100 / s.range;
        share(b).cmp(&share(a)).then_with(|| a.name.cmp(&b.name))
    });
    let mut out = format!(
        "{}{}  {} {}  ({} of {} settings not good)\n",
        escape_untrusted(&e.unit),
        if e.user { " (user unit)" } else { "" },
        e.score,
        e.level,
        bad.len(),
        e.settings.len()
    );
    for s in bad.iter().take(HUMAN_ROWS) {
        out.push_str(&format!(
            "  ✗ {:<46} {:>4}  {}\n",
            s.name,
            s.exposure.as_deref().unwrap_or(""),
            escape_untrusted(s.description.as_deref().unwrap_or(""))
        ));
    }
    if bad.len() > HUMAN_ROWS {
        out.push_str(&format!(
            "  … and {} more (--json has every row)\n",
            bad.len() - HUMAN_ROWS
        ));
    }
    out
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
    fn bad_values_name_their_flag() {
        let err = Cli::try_parse_from([
            "svcacct", "plan", "agent", "--exec", "/bin/a", "--listen", "70000",
        ])
        .unwrap_err();
        assert!(err.to_string().contains("--listen"), "{err}");
        assert_eq!(err.exit_code(), 2);
        let err = Cli::try_parse_from(["svcacct", "plan", "agent", "--exec", "agent"]).unwrap_err();
        assert!(err.to_string().contains("--exec"), "{err}");
        let err =
            Cli::try_parse_from(["svcacct", "plan", "Agent!", "--exec", "/bin/a"]).unwrap_err();
        assert!(err.to_string().contains("NAME"), "{err}");
    }
}
