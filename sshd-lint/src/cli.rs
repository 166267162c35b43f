//! The command line: lint (default), `--effective`, `--sarif`, `--fix`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Parser;
use hardkit_core::{ExitStatus, Finding, Location, Reporter, Severity};

use crate::accounts::Accounts;
use crate::effective::{self, ConfigError, Reading};
use crate::fix;
use crate::include::Loader;
use crate::lockout;
use crate::matching::Context;
use crate::print::{self, Line};
use crate::records::{sarif, Setting};
use crate::rules::{self, LintOptions};
use crate::sshd_check;
use crate::version::{self, Release, Version};
use crate::TOOL;

/// Read sshd_config exactly as OpenSSH sshd does (Include, Match,
/// first-value-wins, defaults), print the effective configuration like
/// `sshd -T` without root, host keys or sshd, lint it, and fix it without
/// locking anyone out.
#[derive(Parser, Debug)]
#[command(
    name = "sshd-lint",
    version,
    after_help = "Examples:\n  sshd-lint                                  # lint /etc/ssh/sshd_config\n  sshd-lint --effective --context user=deploy,addr=10.0.0.5\n  sshd-lint --json --root /mnt/image | jailgen --sshd -\n  sshd-lint --fix                            # show the fix as a diff\n  sshd-lint --fix --write                    # apply it (backup, re-check, sshd -t)"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: hardkit_core::CommonArgs,

    /// The sshd_config to read, a system path under --root, or - for stdin
    #[arg(value_name = "FILE", default_value = "/etc/ssh/sshd_config")]
    pub file: PathBuf,

    /// Print the effective configuration in `sshd -T` format (or `setting`
    /// records with --json) instead of linting
    #[arg(long)]
    pub effective: bool,

    /// Evaluate Match blocks for this connection, like `sshd -T -C`:
    /// user=U,host=H,addr=A,laddr=L,lport=P,rdomain=R
    #[arg(long, value_name = "SPEC", short = 'C')]
    pub context: Option<Context>,

    /// Follow this OpenSSH release's rules: 10.0 (Debian's build),
    /// 10.0-upstream, or a Debian version such as 1:10.0p1-7+deb13u4;
    /// default: the installed sshd under --root, else the newest modelled
    #[arg(long, value_name = "VERSION")]
    pub openssh: Option<Release>,

    /// Write findings as SARIF 2.1.0
    #[arg(long, conflicts_with_all = ["effective", "json"])]
    pub sarif: bool,

    /// Also report NIST elliptic curves (a policy choice)
    #[arg(long)]
    pub nist_is_weak: bool,

    /// Fix every high and critical finding: print the change as a diff
    #[arg(long, conflicts_with_all = ["effective", "sarif"])]
    pub fix: bool,

    /// With --fix: apply the change (atomic, with backup, re-checked)
    #[arg(long, requires = "fix")]
    pub write: bool,

    /// With --fix: turn passwords off even when the lockout guard fires
    #[arg(long, requires = "fix")]
    pub force: bool,

    /// Print the keyword table of the selected release (combination rule,
    /// Match permission, value type, releases, default) and exit
    #[arg(long, conflicts_with_all = ["effective", "fix", "sarif", "json"])]
    pub keywords: bool,
}

/// The keyword table as text, for `--keywords`.
fn keyword_table(release: &Release) -> String {
    let version = release.model();
    let mut out = format!("# OpenSSH {version} sshd_config keywords\n# keyword  option  rule  in-Match  value  since  status  default\n");
    for k in crate::keywords::KEYWORDS
        .iter()
        .filter(|k| crate::keywords::lookup(k.name, version).is_some())
    {
        let default = match k.canon {
            "port" => "22",
            "hostkey" => "/etc/ssh/ssh_host_{rsa,ecdsa,ed25519}_key",
            "maxstartups" => "10:30:100",
            "authenticationmethods" | "permitopen" | "permitlisten" => "any",
            "ciphers"
            | "macs"
            | "kexalgorithms"
            | "hostkeyalgorithms"
            | "pubkeyacceptedalgorithms"
            | "hostbasedacceptedalgorithms"
            | "casignaturealgorithms" => "(release list)",
            c => print::default_value(c, release).unwrap_or("none"),
        };
        out.push_str(&format!(
            "{}  {}  {:?}  {}  {:?}  {}  {:?}  {}\n",
            k.name,
            k.canon,
            crate::keywords::rule_in(k, version),
            if crate::keywords::allowed_in_match(k, version) {
                "yes"
            } else {
                "no"
            },
            k.value,
            k.since,
            k.status,
            default
        ));
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("--root: {0}")]
    Root(String),
    #[error("{0}")]
    Input(#[from] hardkit_core::input::InputError),
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
    #[error("--fix: {0}")]
    Fix(String),
}

struct Session {
    loader: Loader,
    accounts: Accounts,
    reading: Result<Reading, ConfigError>,
    release: Release,
}

fn open(cli: &Cli, root: &hardkit_core::Root, overlay: &[fix::Change]) -> Result<Session, Error> {
    let release = match &cli.openssh {
        Some(r) => r.clone(),
        None => version::detect(root),
    };
    let mut loader = Loader::new(root.clone());
    for c in overlay {
        loader.overlay.insert(c.path.clone(), c.new.clone());
    }
    let accounts = Accounts::load(root);
    let (main, stdin) = if cli.file.as_os_str() == "-" {
        let data = hardkit_core::input::InputSource::Stdin
            .read_limited(crate::include::MAX_CONFIG_BYTES)?;
        (PathBuf::from("/etc/ssh/sshd_config"), Some(data))
    } else if root.is_host() && cli.file.is_relative() {
        // On the host a relative FILE means the working directory, as for
        // `sshd -f`; under another root every path is a system path.
        let cwd = std::env::current_dir().map_err(Error::Output)?;
        (cwd.join(&cli.file), None)
    } else {
        (cli.file.clone(), None)
    };
    let reading = effective::read(&mut loader, &main, stdin, &release, &accounts);
    Ok(Session {
        loader,
        accounts,
        reading,
        release,
    })
}

/// The effective options (`sshd -T -C ctx`). For the lint (`as_lint`) with
/// no context, a Match criterion that `sshd -T` would want a connection
/// field for is no refusal: sshd itself starts (`sshd -t` passes), so the
/// lint reads the global options, as sshd does before any connection.
fn effective_lines(
    s: &mut Session,
    ctx: Option<&Context>,
    as_lint: bool,
) -> Result<(Reading, effective::Store, Vec<Line>), ConfigError> {
    // sshd reads -C before the configuration: a test flag its release does
    // not have stops it first, whatever the files say.
    if ctx.is_some_and(|c| c.invalid_user) && s.release.model() < crate::version::Version::new(9, 9)
    {
        return Err(ConfigError::Fatal(format!(
            "--context invalid-user: OpenSSH {} has no such test flag (9.9 and later)",
            s.release.model()
        )));
    }
    let reading = std::mem::replace(
        &mut s.reading,
        Err(ConfigError::Fatal("already used".into())),
    )?;
    let store = match reading.effective(&mut s.loader, ctx, &s.accounts) {
        Err(ConfigError::NeedsContext(_)) if as_lint && ctx.is_none() => reading.global.clone(),
        other => other?,
    };
    // Under --root, ListenAddress names resolve through the target's
    // /etc/hosts first, as its sshd would.
    let root = s.loader.root();
    let hosts = (!root.is_host())
        .then(|| root.resolve("/etc/hosts").ok())
        .flatten()
        .and_then(|p| std::fs::read_to_string(p).ok());
    let lines = print::render_with_hosts(&store, &s.release, hosts.as_deref())?;
    if let Some(m) = rules::dsa_only_host_keys(&lines, s.loader.root(), &s.release) {
        return Err(ConfigError::Fatal(m));
    }
    // `sshd -T` loads the host keys and exits when none is there; the lint
    // reports it as a finding (sshd/no-host-keys) instead.
    if !as_lint && rules::host_keys(&lines, s.loader.root(), Path::new("/")).is_some() {
        let names = lines
            .iter()
            .filter(|l| l.key == "hostkey" && l.value != "none")
            .map(|l| l.value.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(ConfigError::Fatal(format!(
            "no hostkeys available -- exiting (as sshd -T: none of the HostKey files exists: {names}; ssh-keygen -A makes them)"
        )));
    }
    Ok((reading, store, lines))
}

/// Findings for one run: the lint and the lockout guard.
fn findings_for(
    s: &mut Session,
    reading: &Reading,
    store: &effective::Store,
    lines: &[Line],
    nist: bool,
) -> Vec<Finding> {
    let mut findings = rules::lint(reading, store, lines, &LintOptions { nist_is_weak: nist });
    findings.extend(rules::host_keys(lines, s.loader.root(), &reading.main));
    let verdicts = lockout::check(reading, &mut s.loader, &s.accounts);
    if !verdicts.iter().any(|v| v.ok) {
        let passwords_on = lines.iter().any(|l| {
            (l.key == "passwordauthentication" || l.key == "kbdinteractiveauthentication")
                && l.value == "yes"
        });
        let title = if passwords_on {
            "Turning passwords off now would lock everyone out"
        } else {
            "No account can log in with a key"
        };
        let users: Vec<String> = verdicts
            .iter()
            .map(|v| format!("{}: {}", v.user, v.reason))
            .collect();
        findings.push(
            Finding::new("sshd/lockout", Severity::Critical, title, "No account with a login shell that sshd allows has a non-empty authorized_keys file at the effective AuthorizedKeysFile. Install a key and test a key login before disabling passwords.")
                .at(Location::new(reading.main.clone(), None))
                .fix("install a public key in ~/.ssh/authorized_keys of an allowed user and test it")
                .refs(["lynis:SSH-7408"])
                .evidence("accounts", &users),
        );
    } else if lockout::root_routes(&verdicts, s.loader.root()).is_empty() {
        // Someone gets in with a key, but nobody who does can become root
        // (no root login, no sudo/wheel/admin, no sudoers ALL): the rule
        // --fix refuses to create, reported when it is already so.
        let users: Vec<String> = verdicts
            .iter()
            .filter(|v| v.ok)
            .map(|v| v.user.clone())
            .collect();
        findings.push(
            Finding::new("sshd/no-root-route", Severity::High, "No key login leads to root", "The accounts that can log in with a key cannot become root: root's own login is not allowed (PermitRootLogin) or has no key, and none of them is in sudo, wheel or admin or granted ALL or a shell by sudoers. With passwords off, nobody can administer this machine over SSH.")
                .at(Location::new(reading.main.clone(), None))
                .fix("give an admin account both a key and a way to root (usermod -aG sudo NAME), and test it, before turning root logins off")
                .evidence("key_logins", &users),
        );
    }
    findings
}

/// The target runs a release newer than the newest modelled: say so, and
/// which model is used (never a silent fallback, never a refusal).
fn newer_release_finding(release: &Release) -> Option<Finding> {
    (release.version > Version::NEWEST).then(|| {
        Finding::new(
            "sshd/release-newer-than-model",
            Severity::Low,
            "OpenSSH release newer than the newest modelled",
            format!(
                "the target runs OpenSSH {} ({}), newer than the newest release sshd-lint models ({}); it is read with {} rules, which may miss what {} changed",
                release.version,
                release.found,
                Version::NEWEST,
                Version::NEWEST,
                release.version
            ),
        )
        .fix("check the release notes of the newer OpenSSH, and update sshd-lint")
    })
}

fn config_error_finding(e: &ConfigError, main: &Path) -> Finding {
    let loc = match e.loc() {
        Some(l) => Location::new(l.path.clone(), Some(l.line)),
        None => Location::new(main.to_path_buf(), None),
    };
    Finding::new(
        "sshd/invalid-config",
        Severity::Critical,
        "sshd would refuse to start with this configuration",
        e.to_string(),
    )
    .at(loc)
    .refs(["lynis:SSH-7408"])
}

/// A closed stdout ends the run quietly. hardkit-core's encoder wraps a
/// write error raised inside serde_json in `io::Error::other`, which hides
/// the broken pipe from `exit::run`; look through that wrapper here.
pub fn run(cli: Cli) -> Result<ExitStatus, Error> {
    match run_inner(cli) {
        Err(Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Ok(ExitStatus::Clean)
        }
        other => other,
    }
}

fn run_inner(cli: Cli) -> Result<ExitStatus, Error> {
    let root = cli.common.root().map_err(|e| Error::Root(e.to_string()))?;
    if cli.keywords {
        let release = cli
            .openssh
            .clone()
            .unwrap_or_else(|| version::detect(&root));
        let mut out = std::io::stdout().lock();
        out.write_all(keyword_table(&release).as_bytes())?;
        return Ok(ExitStatus::Clean);
    }
    if cli.fix {
        return run_fix(&cli, &root);
    }
    let mut s = open(&cli, &root, &[])?;
    let main = cli.file.clone();
    if cli.effective {
        let (_, _, lines) = effective_lines(&mut s, cli.context.as_ref(), false)?;
        let mut r = Reporter::stdout(TOOL, cli.common.format(), false);
        // Text is byte-for-byte `sshd -T`, so the release goes to stderr
        // only when it matters (a newer release than modelled); JSON says
        // it first, always.
        r.emit(&s.release.record())?;
        if let Some(f) = newer_release_finding(&s.release) {
            if !r.is_json() {
                eprintln!("{TOOL}: {}", f.detail);
            }
        }
        // Byte-for-byte `sshd -T` when piped (scripts diff it); escaped on
        // a terminal, where a value could carry control sequences.
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
        for l in &lines {
            r.emit(&Setting::from_line(l))?;
            let text = if terminal {
                hardkit_core::output::escape_untrusted(&l.text())
            } else {
                l.text()
            };
            r.text(&format!("{text}\n"))?;
        }
        return Ok(r.finish(cli.common.fail_on, ExitStatus::Clean)?);
    }
    // A config sshd would refuse is a critical finding (with its line) and
    // an error: the run ends with status 2.
    let mut refused: Option<ConfigError> = None;
    let (lines, findings) = match effective_lines(&mut s, cli.context.as_ref(), true) {
        Ok((reading, store, lines)) => {
            let f = findings_for(&mut s, &reading, &store, &lines, cli.nist_is_weak);
            (lines, f)
        }
        Err(ConfigError::Load(e)) => return Err(Error::Config(ConfigError::Load(e))),
        Err(e) => {
            let f = vec![config_error_finding(&e, &main)];
            refused = Some(e);
            (Vec::new(), f)
        }
    };
    if cli.sarif {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &sarif(&findings)).map_err(std::io::Error::other)?;
        writeln!(out)?;
        let worst = findings.iter().map(|f| f.severity).max();
        if let Some(e) = refused {
            eprintln!("{TOOL}: {e}");
            return Ok(ExitStatus::Error);
        }
        return Ok(ExitStatus::for_findings(worst, cli.common.fail_on));
    }
    let mut r = Reporter::stdout(TOOL, cli.common.format(), cli.common.quiet);
    r.emit(&s.release.record())?;
    // The settings come first, so `sshd-lint --json | jailgen --sshd -`
    // sees the ports without a second run.
    for l in &lines {
        r.emit(&Setting::from_line(l))?;
    }
    let footer = format!(
        "{}: {}\n",
        main.display(),
        s.release.record().human("OpenSSH")
    );
    let findings = newer_release_finding(&s.release)
        .map(|f| f.at(Location::new(main.clone(), None)))
        .into_iter()
        .chain(findings);
    for f in findings {
        r.finding(f)?;
    }
    if let Some(e) = refused {
        let path = e.loc().map(|l| l.path.clone()).unwrap_or(main);
        r.error(hardkit_core::ErrorRecord {
            path: Some(path.into()),
            // (several bad lines: one line of text, as every error record)
            message: e.to_string().replace('\n', "; "),
        })?;
    }
    // Counts and findings first; which rules were used, last.
    let status = r.finish(cli.common.fail_on, ExitStatus::Clean)?;
    if !r.is_json() && !cli.common.quiet {
        let mut out = r.into_inner();
        out.write_all(footer.as_bytes())?;
        out.flush()?;
    }
    Ok(status)
}

fn lint_once(
    cli: &Cli,
    root: &hardkit_core::Root,
    overlay: &[fix::Change],
) -> Result<(Reading, Vec<Finding>), Error> {
    let mut s = open(cli, root, overlay)?;
    let (reading, store, lines) = effective_lines(&mut s, cli.context.as_ref(), true)?;
    let findings = findings_for(&mut s, &reading, &store, &lines, cli.nist_is_weak);
    Ok((reading, findings))
}

/// Who could still log in with a key and become root with the
/// configuration as `overlay` leaves it, and whether passwords stay on.
struct RootAccess {
    /// "NAME (how)" for each account that can.
    routes: Vec<String>,
    /// "NAME: why not" for each account that cannot log in with a key.
    refused: Vec<String>,
    passwords_on: bool,
}

fn root_access(
    cli: &Cli,
    root: &hardkit_core::Root,
    overlay: &[fix::Change],
) -> Result<RootAccess, Error> {
    let mut s = open(cli, root, overlay)?;
    let (reading, _, lines) = effective_lines(&mut s, None, true)?;
    let verdicts = lockout::check(&reading, &mut s.loader, &s.accounts);
    let passwords_on = lines.iter().any(|l| {
        (l.key == "passwordauthentication" || l.key == "kbdinteractiveauthentication")
            && l.value == "yes"
    });
    Ok(RootAccess {
        routes: lockout::root_routes(&verdicts, root),
        refused: verdicts
            .iter()
            .filter(|v| !v.ok)
            .map(|v| format!("{}: {}", v.user, v.reason))
            .collect(),
        passwords_on,
    })
}

/// The files that fix the findings (passwords off or not), proved on a
/// re-reading to clear every fixable finding.
fn plan_fix(
    cli: &Cli,
    root: &hardkit_core::Root,
    reading: &Reading,
    findings: &[Finding],
    passwords_off: bool,
) -> Result<Vec<fix::Change>, Error> {
    let lines = fix::fix_lines(findings, passwords_off);
    let changes = fix::plan(reading, &lines);
    // Match blocks that turn back on what the global fix turns off are
    // found by reading the config with that fix in place.
    let (planned, planned_findings) = lint_once(cli, root, &changes)?;
    let rewrites = fix::rewrite_match_lines(&planned, &planned_findings, passwords_off);
    let changes = fix::merge(reading, changes, rewrites);
    // Prove the change works before touching anything.
    let (_, after) = lint_once(cli, root, &changes)?;
    let left: Vec<&Finding> = after
        .iter()
        .filter(|f| fix::fixable(f, passwords_off))
        .collect();
    if !left.is_empty() {
        let ids: Vec<String> = left
            .iter()
            .map(|f| {
                format!(
                    "{} ({})",
                    f.id,
                    f.location
                        .as_ref()
                        .map(|l| l.path.as_path().display().to_string())
                        .unwrap_or_default()
                )
            })
            .collect();
        return Err(Error::Fix(format!(
            "the planned change would not clear: {}; an earlier file sets these first",
            ids.join(", ")
        )));
    }
    Ok(changes)
}

/// The lockout guard, judged on the configuration after the change: a fix
/// turns passwords off only if, with passwords off, some account can still
/// log in with a key and become root; and a fix that would take away the
/// last such account (say `PermitRootLogin no` when only root has a key),
/// or leave none while passwords are off, is refused.
fn run_fix(cli: &Cli, root: &hardkit_core::Root) -> Result<ExitStatus, Error> {
    let (reading, findings) = lint_once(cli, root, &[])?;
    let before = root_access(cli, root, &[])?;
    let mut changes = plan_fix(cli, root, &reading, &findings, true)?;
    let mut after = root_access(cli, root, &changes)?;
    let mut passwords_off = true;
    if after.routes.is_empty() && !cli.force {
        passwords_off = false;
        changes = plan_fix(cli, root, &reading, &findings, false)?;
        after = root_access(cli, root, &changes)?;
        let takes_last_route = !before.routes.is_empty();
        if !changes.is_empty()
            && after.routes.is_empty()
            && (takes_last_route || !after.passwords_on)
        {
            let what = if takes_last_route {
                format!(
                    "today {} can log in with a key and become root; after it nobody could",
                    before.routes.join(", ")
                )
            } else {
                "passwords are off and nobody could log in with a key and become root".into()
            };
            return Err(Error::Fix(format!(
                "refused: the fix would lock root out: {what} ({}). Install a key for an account that can become root (a member of sudo, wheel or admin, or one a sudoers rule grants ALL), or use --force",
                after.refused.join("; ")
            )));
        }
    }
    let lockout = !passwords_off;
    let mut r = Reporter::stdout(TOOL, cli.common.format(), cli.common.quiet);
    // Whether sshd accepted the candidate (then it must accept the files
    // as written too); a tree whose sshd refuses the configuration as it
    // is already is judged by sshd-lint's own reading alone.
    let mut sshd_judged = root.is_host();
    if cli.write && !changes.is_empty() {
        // The real sshd judges the candidate before anything is replaced.
        let verdict = sshd_check::validate_candidate(root, &cli.file, &changes).map_err(|m| {
            Error::Fix(format!("sshd -t rejected the change, nothing written: {m}"))
        })?;
        r.text(&match verdict {
            sshd_check::Verdict::Checked(by) => {
                sshd_judged = true;
                format!("checked before writing: {by}\n")
            }
            sshd_check::Verdict::NotChecked(why) => {
                format!("not checked with sshd -t before writing ({why}); sshd-lint's own reading judges it\n")
            }
        })?;
    }
    if lockout && !cli.force {
        r.text("lockout guard: with passwords off, no account could log in with a key and become root; passwords stay on (use --force to override)\n")?;
    }
    let mut written: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
    for c in &changes {
        let d = fix::diff(c);
        // On this machine the path as it is (the writer walks it without
        // following a link another user controls); in a tree, resolved there.
        let host = if root.is_host() {
            c.path.clone()
        } else {
            root.resolve_parent(&c.path)
                .map_err(|e| Error::Fix(e.to_string()))?
        };
        let mut changed = true;
        let mut mode = 0o644;
        if cli.write {
            // Keep the replaced file's mode and owner; a new drop-in is
            // 0644 like the rest of /etc/ssh.
            let mut opts = hardkit_core::atomic::WriteOptions::mode(0o644);
            if let Ok(meta) = std::fs::metadata(&host) {
                use std::os::unix::fs::MetadataExt;
                opts.mode = meta.mode() & 0o7777;
                opts.owner = Some((meta.uid(), meta.gid()));
            }
            mode = opts.mode;
            if let Some(dir) = host.parent() {
                // Through directory descriptors: no planted link is followed.
                hardkit_core::dirfd::create_dirs(dir, 0o755)
                    .map_err(|e| Error::Fix(e.to_string()))?;
            }
            let outcome = hardkit_core::atomic::replace_file(&host, &c.new, &opts)
                .map_err(|e| Error::Fix(e.to_string()))?;
            changed = outcome.changed;
            if outcome.changed {
                written.push((host.clone(), outcome.backup));
            }
        }
        r.emit(&hardkit_core::Action {
            op: "write".into(),
            path: c.path.clone().into(),
            mode: Some(format!("{mode:04o}")),
            owner: None,
            changed,
            diff: Some(d.clone()),
        })?;
        r.text(&d)?;
    }
    if !written.is_empty() {
        // Prove it on the files as written: our own reading first, then the
        // real sshd when it can judge this root.
        let reread = lint_once(cli, root, &[]).map(|(_, f)| {
            f.iter()
                .filter(|f| fix::fixable(f, passwords_off))
                .map(|f| f.id.clone())
                .collect::<Vec<_>>()
        });
        let problem = match reread {
            Err(e) => Some(format!("the written config does not read back: {e}")),
            Ok(left) if !left.is_empty() => Some(format!(
                "findings remain after writing: {}",
                left.join(", ")
            )),
            Ok(_) if !sshd_judged => None,
            Ok(_) => sshd_check::validate_written(root, &cli.file)
                .err()
                .map(|m| format!("sshd -t rejected the result: {m}")),
        };
        if let Some(problem) = problem {
            for (host, backup) in &written {
                match backup {
                    Some(b) => hardkit_core::atomic::restore_backup(host, b)
                        .map_err(|e| Error::Fix(e.to_string()))?,
                    None => {
                        let (dir, name) = hardkit_core::dirfd::parent_for_writing(host)
                            .map_err(|e| Error::Fix(e.to_string()))?;
                        dir.unlink(&name)?;
                    }
                }
            }
            return Err(Error::Fix(format!("{problem}; previous files restored")));
        }
    }
    if changes.is_empty() {
        r.text("nothing to fix\n")?;
    }
    Ok(r.finish(cli.common.fail_on, ExitStatus::Clean)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
