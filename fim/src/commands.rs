//! The four subcommands, wiring rules, walk, scan, baseline, compare and
//! report together.

use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use hardkit_core::bytes_path::display_path;
use hardkit_core::output::escape_untrusted;
use hardkit_core::record::ErrorRecord;
use hardkit_core::root::RootError;
use hardkit_core::{BytesPath, CommonArgs, ExitStatus, Reporter, Root};

use crate::baseline::{self, BaselineError, BaselineReader, BaselineWriter, Header, MacKey};
use crate::cli::{CheckArgs, Cli, Command, DbArgs, InitArgs, RuleArgs, RulesArgs, ShowArgs};
use crate::compare::{Merger, Step};
use crate::entry::{now_string, Entry};
use crate::generation::{self, Generation};
use crate::progress::ScanProgress;
use crate::report::IncidentReport;
use crate::rules::{Rules, RulesError, DEFAULT_RULES};
use crate::scan::{scan_tree, Outcome};
use crate::walk::WalkPlan;
use crate::TOOL;

/// Where the rules are looked for when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "/etc/hardkit/fim.conf";

#[derive(Debug, thiserror::Error)]
pub enum FimError {
    #[error(transparent)]
    Root(#[from] RootError),
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error("{flag}: {message}")]
    Argument { flag: &'static str, message: String },
    #[error("config {}: {source}", display_path(.path))]
    Config { path: PathBuf, source: io::Error },
    #[error("writing output: {0}")]
    Output(#[from] io::Error),
}

pub fn run(cli: Cli) -> Result<ExitStatus, FimError> {
    let common = cli.common;
    match cli.command {
        Command::Init(args) => init(&common, args),
        Command::Check(args) => check(&common, args, false),
        Command::Update(args) => check(&common, args, true),
        Command::Show(args) => show(&common, args),
        Command::Rules(args) => print_rules(&common, args),
        Command::VerifyPackages(args) => verify_packages(&common, args),
        Command::Perms(args) => perms(&common, args),
    }
}

/// The baseline's host path and system path.
fn db_paths(common: &CommonArgs, root: &Root, db: &DbArgs) -> Result<(PathBuf, PathBuf), FimError> {
    let system = if db.db.is_absolute() {
        db.db.clone()
    } else if root.is_host() {
        std::env::current_dir()?.join(&db.db)
    } else {
        return Err(FimError::Argument {
            flag: "--db",
            message: format!(
                "{} is relative; with --root {} give the system path (/var/lib/hardkit/fim.db)",
                display_path(&db.db),
                display_path(&common.root)
            ),
        });
    };
    // On this machine the path as given (the writer walks it without
    // following a link another user controls); in a tree, resolved there.
    let host = if root.is_host() {
        system.clone()
    } else {
        root.resolve_parent(&system)?
    };
    Ok((host, system))
}

/// Refuse a keyed baseline that is not the latest one made with its key
/// (a replay), and return the key's generation record.
fn check_generation(
    db: &DbArgs,
    baseline: &BaselineReader,
) -> Result<Option<Generation>, FimError> {
    let Some(key_path) = &db.key else {
        return Ok(None);
    };
    let record = generation::read(key_path)?;
    generation::verify(
        record.as_ref(),
        baseline.header().generation,
        baseline.digest(),
        baseline.path(),
    )?;
    Ok(record)
}

/// After a keyed baseline was written: record it beside the key.
fn record_generation(
    db: &DbArgs,
    number: u64,
    digest: String,
    reporter: &mut Reporter<impl Write>,
    quiet: bool,
) -> Result<(), FimError> {
    let Some(key_path) = &db.key else {
        return Ok(());
    };
    generation::write(key_path, &Generation { number, digest })?;
    if !quiet {
        reporter.text(&format!(
            "fim: baseline generation {number} recorded in {} (older baselines are refused)\n",
            display_path(&generation::record_path(key_path))
        ))?;
    }
    Ok(())
}

fn key_of(db: &DbArgs) -> Result<Option<MacKey>, FimError> {
    Ok(match &db.key {
        Some(path) => Some(baseline::load_key(path)?),
        None => None,
    })
}

/// Where the rules start from: the config file, or (for check and update)
/// the rules stored in the baseline.
enum RuleBase<'a> {
    Config,
    Baseline(&'a str),
}

/// The text of the rules and a name for messages: `--config`, else (for
/// check and update) the baseline's, else /etc/hardkit/fim.conf under
/// --root, else the built-in rules.
fn rule_source(
    root: &Root,
    config: Option<&std::path::Path>,
    base: RuleBase,
) -> Result<(String, String), FimError> {
    Ok(match (config, base) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).map_err(|source| FimError::Config {
                path: path.to_path_buf(),
                source,
            })?;
            (text, display_path(path))
        }
        (None, RuleBase::Baseline(text)) => (text.to_string(), "the baseline's rules".to_string()),
        (None, RuleBase::Config) => {
            let default = root.resolve(DEFAULT_CONFIG)?;
            match std::fs::read_to_string(&default) {
                Ok(text) => (text, display_path(&default)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    (DEFAULT_RULES.to_string(), "built-in rules".to_string())
                }
                Err(source) => {
                    return Err(FimError::Config {
                        path: default,
                        source,
                    })
                }
            }
        }
    })
}

/// The rules: the base (or `--config`), then `PATH`s, `--exclude`s and
/// `--attrs`.
fn load_rules(
    root: &Root,
    args: &RuleArgs,
    base: RuleBase,
    paths: &[PathBuf],
) -> Result<Rules, FimError> {
    let (text, name) = rule_source(root, args.config.as_deref(), base)?;
    let mut rules = Rules::parse(&text, &name)?;
    for path in paths {
        rules.select_path(path.as_os_str().as_bytes());
    }
    for selector in &args.exclude {
        rules
            .add_text(&format!("!{selector}"), "--exclude")
            .map_err(|e| FimError::Argument {
                flag: "--exclude",
                message: e.to_string(),
            })?;
    }
    if let Some(spec) = &args.attrs {
        rules
            .set_all_attrs(spec)
            .map_err(|message| FimError::Argument {
                flag: "--attrs",
                message,
            })?;
    }
    Ok(rules)
}

fn plan(root: Root, rules: Rules, one_filesystem: bool, db_system: &Path) -> WalkPlan {
    WalkPlan {
        root,
        rules,
        one_filesystem,
        // The baseline, and the directory holding it: replacing the
        // baseline changes that directory's times, which would otherwise be
        // reported after every init and update. Its other files are walked.
        own_files: vec![
            db_system.as_os_str().as_bytes().to_vec(),
            db_system
                .parent()
                .unwrap_or(Path::new("/"))
                .as_os_str()
                .as_bytes()
                .to_vec(),
        ],
        own_prefixes: vec![baseline::temp_prefix(db_system)
            .as_os_str()
            .as_bytes()
            .to_vec()],
    }
}

fn report_error(
    reporter: &mut Reporter<impl io::Write>,
    progress: &ScanProgress,
    path: &[u8],
    message: String,
) -> io::Result<()> {
    progress.suspend(|| {
        reporter.error(ErrorRecord {
            path: Some(BytesPath::new(hardkit_core::bytes_path::path_from_bytes(
                path,
            ))),
            message,
        })
    })
}

fn init(common: &CommonArgs, args: InitArgs) -> Result<ExitStatus, FimError> {
    let started = Instant::now();
    let root = common.root()?;
    let (db_host, db_system) = db_paths(common, &root, &args.db)?;
    let key = key_of(&args.db)?;
    for path in &args.paths {
        if !path.is_absolute() {
            return Err(FimError::Argument {
                flag: "PATH",
                message: format!("{} is not an absolute system path", display_path(path)),
            });
        }
    }
    let rules = load_rules(&root, &args.rules, RuleBase::Config, &args.paths)?;
    let roots = if args.paths.is_empty() {
        rules.walk_roots()
    } else {
        let mut paths = args.paths.clone();
        paths.sort_by(|a, b| {
            crate::entry::path_order(a.as_os_str().as_bytes(), b.as_os_str().as_bytes())
        });
        paths.dedup();
        paths
    };
    let header = Header {
        format: baseline::FORMAT.into(),
        version: baseline::VERSION,
        created: now_string(),
        protection: if key.is_some() {
            baseline::KEYED
        } else {
            baseline::UNKEYED
        }
        .into(),
        paths: roots.iter().map(|p| BytesPath::new(p.clone())).collect(),
        rules: rules.text().to_string(),
        one_filesystem: args.rules.one_filesystem,
        generation: match (&key, &args.db.key) {
            (Some(_), Some(path)) => generation::read(path)?.map_or(0, |g| g.number) + 1,
            _ => 0,
        },
    };
    let plan = plan(root, rules, args.rules.one_filesystem, &db_system);
    let mut reporter = Reporter::stdout(TOOL, common.format(), common.quiet);
    let mut writer = BaselineWriter::create(&db_host, &header, key.as_ref())?;
    let progress = ScanProgress::new(hardkit_core::progress::wanted(common));
    scan_tree(&plan, &roots, |outcome| -> Result<(), FimError> {
        progress.outcome(&outcome);
        match outcome {
            Outcome::Entry { entry, error } => {
                if let Some(message) = error {
                    report_error(&mut reporter, &progress, entry.path.as_bytes(), message)?;
                }
                writer.push(&entry)?;
            }
            Outcome::Failed {
                system, message, ..
            } => report_error(&mut reporter, &progress, &system, message)?,
        }
        Ok(())
    })?;
    progress.finish();
    let (count, digest) = writer.finish()?;
    let roots_text: Vec<String> = roots.iter().map(|p| display_path(p)).collect();
    reporter.text(&format!(
        "fim: baseline {} written: {count} entries under {} in {:.1} s\n",
        display_path(&db_system),
        roots_text.join(", "),
        started.elapsed().as_secs_f64()
    ))?;
    reporter.text(&protection_note(key.is_some()))?;
    record_generation(
        &args.db,
        header.generation,
        digest,
        &mut reporter,
        common.quiet,
    )?;
    Ok(reporter.finish(common.fail_on, ExitStatus::Clean)?)
}

fn protection_note(keyed: bool) -> String {
    if keyed {
        "fim: the baseline is protected by a keyed BLAKE3 MAC\n".into()
    } else {
        "fim: warning: the baseline is not protected (no --key): anyone who can write it can hide changes\n"
            .into()
    }
}

fn check(common: &CommonArgs, args: CheckArgs, update: bool) -> Result<ExitStatus, FimError> {
    let root = common.root()?;
    let (db_host, db_system) = db_paths(common, &root, &args.db)?;
    let key = key_of(&args.db)?;
    let mut baseline = BaselineReader::open(&db_host, key.as_ref())?;
    let record = check_generation(&args.db, &baseline)?;
    let header = baseline.header().clone();
    let rules = load_rules(&root, &args.rules, RuleBase::Baseline(&header.rules), &[])?;
    let one_filesystem = args.rules.one_filesystem || header.one_filesystem;
    let roots: Vec<PathBuf> = header
        .paths
        .iter()
        .map(|p| p.as_path().to_path_buf())
        .collect();
    let new_header = Header {
        created: now_string(),
        rules: rules.text().to_string(),
        one_filesystem,
        generation: if key.is_some() {
            header.generation.max(record.map_or(0, |g| g.number)) + 1
        } else {
            0
        },
        ..header.clone()
    };
    let plan = plan(root, rules.clone(), one_filesystem, &db_system);

    // Human mode prints the incident report even under -q: the changes
    // are the findings.
    let mut reporter = Reporter::stdout(TOOL, common.format(), false);
    let palette = reporter.palette();
    let mut report = IncidentReport::default();
    let mut writer = if update {
        Some(BaselineWriter::create(&db_host, &new_header, key.as_ref())?)
    } else {
        None
    };
    let mut merger = Merger::new(&mut baseline, &rules);
    // (Human mode shows the changes at the end, so progress may run until
    // then; -q is honoured here although the report itself ignores it.)
    let progress = ScanProgress::new(hardkit_core::progress::wanted(common));
    let mut apply = |step: Step,
                     reporter: &mut Reporter<_>,
                     writer: &mut Option<BaselineWriter>|
     -> Result<(), FimError> {
        for (path, message) in step.errors {
            report_error(reporter, &progress, &path, message)?;
        }
        for change in step.changes {
            report.record(&change);
            reporter.emit(&change)?;
        }
        if let Some(w) = writer.as_mut() {
            for entry in &step.keep {
                w.push(entry)?;
            }
        }
        Ok(())
    };
    scan_tree(&plan, &roots, |outcome| -> Result<(), FimError> {
        progress.outcome(&outcome);
        let step = merger.push(outcome)?;
        apply(step, &mut reporter, &mut writer)
    })?;
    let step = merger.finish()?;
    apply(step, &mut reporter, &mut writer)?;
    progress.finish();
    let changed = report.total() > 0;
    reporter.text(&report.render(&escape_untrusted(&header.created), key.is_some(), palette))?;
    if let Some(w) = writer {
        let (count, digest) = w.finish()?;
        if !common.quiet {
            reporter.text(&format!(
                "fim: baseline {} updated: {count} entries\n",
                display_path(&db_system)
            ))?;
        }
        record_generation(
            &args.db,
            new_header.generation,
            digest,
            &mut reporter,
            common.quiet,
        )?;
    }
    let extra = if changed {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    };
    Ok(reporter.finish(common.fail_on, extra)?)
}

fn show(common: &CommonArgs, args: ShowArgs) -> Result<ExitStatus, FimError> {
    let root = common.root()?;
    let (db_host, db_system) = db_paths(common, &root, &args.db)?;
    let key = key_of(&args.db)?;
    let mut baseline = BaselineReader::open(&db_host, key.as_ref())?;
    check_generation(&args.db, &baseline)?;
    let header = baseline.header().clone();
    let mut reporter = Reporter::stdout(TOOL, common.format(), common.quiet);
    let paths: Vec<String> = header
        .paths
        .iter()
        .map(|p| display_path(p.as_path()))
        .collect();
    reporter.text(&format!(
        "fim: baseline {} (format {}), created {}, paths {}\n",
        display_path(&db_system),
        header.version,
        escape_untrusted(&header.created),
        paths.join(", ")
    ))?;
    reporter.text(
        &protection_note(header.is_keyed()).replace("is protected", "is protected and verified"),
    )?;
    let mut count = 0u64;
    while let Some(entry) = baseline.next_entry()? {
        count += 1;
        reporter.emit(&entry)?;
        reporter.text(&entry_line(&entry))?;
    }
    reporter.text(&format!("fim: {count} entries, integrity verified\n"))?;
    Ok(reporter.finish(common.fail_on, ExitStatus::Clean)?)
}

/// `ls -l`-like line for humans.
fn entry_line(entry: &Entry) -> String {
    let mut line = format!(
        "{:<7} {} {:>5}:{:<5} {:>12} {}  {}",
        entry.ftype.as_str(),
        escape_untrusted(&entry.mode),
        entry.uid,
        entry.gid,
        entry.size,
        escape_untrusted(entry.mtime.get(..19).unwrap_or(&entry.mtime)),
        display_path(entry.path.as_path())
    );
    if let Some(target) = &entry.target {
        line.push_str(" -> ");
        line.push_str(&display_path(target.as_path()));
    }
    if let Some(hash) = &entry.blake3 {
        line.push_str("  blake3:");
        line.push_str(&escape_untrusted(hash.get(..16).unwrap_or(hash)));
    }
    if !entry.xattrs.is_empty() {
        let names: Vec<String> = entry
            .xattrs
            .0
            .keys()
            .map(|k| hardkit_core::output::escape_untrusted_bytes(k))
            .collect();
        line.push_str("  xattrs:");
        line.push_str(&names.join(","));
    }
    line.push('\n');
    line
}

/// `fim rules`: the rules `fim init` would use, checked, on stdout (or the
/// built-in ones), for a config of one's own to start from.
fn print_rules(common: &CommonArgs, args: RulesArgs) -> Result<ExitStatus, FimError> {
    let root = common.root()?;
    let (text, name) = if args.builtin {
        (DEFAULT_RULES.to_string(), "built-in rules".to_string())
    } else {
        rule_source(&root, args.config.as_deref(), RuleBase::Config)?
    };
    Rules::parse(&text, &name)?;
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(ExitStatus::Clean)
}

/// `fim verify-packages`: the installed packages' files against dpkg's own
/// checksums. Each difference is a `change` record (the package and
/// whether it is a conffile in `old`) and a finding: a changed, missing or
/// replaced program or library is high; a conffile the admin edited is
/// info (missing: low); documentation a minimal image leaves out is info.
fn verify_packages(
    common: &CommonArgs,
    args: crate::cli::VerifyPackagesArgs,
) -> Result<ExitStatus, FimError> {
    use crate::entry::{Change, ChangeKind};
    use crate::packages::{self, Found};
    use hardkit_core::{Finding, Location, Severity};
    let root = common.root()?;
    let mut expected = packages::expected(&root).map_err(|e| FimError::Argument {
        flag: "--root",
        message: format!(
            "cannot read the package database under {}: {e}",
            display_path(root.dir())
        ),
    })?;
    if !args.packages.is_empty() {
        expected.retain(|e| args.packages.contains(&e.package));
    }
    let checked = expected.len();
    let packages_n = {
        let mut names: Vec<&str> = expected.iter().map(|e| e.package.as_str()).collect();
        names.dedup();
        names.sort_unstable();
        names.dedup();
        names.len()
    };
    let results = packages::verify(&root, &expected);
    let mut reporter = Reporter::stdout(TOOL, common.format(), common.quiet);
    let mut extra = ExitStatus::Clean;
    for (e, found) in &results {
        let path = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(&e.path));
        let mut old = serde_json::Map::new();
        old.insert("md5".into(), e.md5.clone().into());
        old.insert("package".into(), e.package.clone().into());
        old.insert("conffile".into(), e.conffile.into());
        let doc = packages::is_documentation(&e.path);
        let (kind, new, what, severity) = match found {
            Found::Same => continue,
            Found::Changed(md5) => {
                let mut new = serde_json::Map::new();
                new.insert("md5".into(), md5.clone().into());
                let sev = if e.conffile || doc {
                    Severity::Info
                } else {
                    Severity::High
                };
                (ChangeKind::Changed, Some(new), "changed".to_string(), sev)
            }
            Found::Missing => {
                let sev = if doc {
                    Severity::Info
                } else if e.conffile {
                    Severity::Low
                } else {
                    Severity::High
                };
                (ChangeKind::Removed, None, "missing".to_string(), sev)
            }
            Found::Replaced(by) => {
                let mut new = serde_json::Map::new();
                new.insert("ftype".into(), (*by).into());
                (
                    ChangeKind::Changed,
                    Some(new),
                    format!("replaced by a {by}"),
                    if doc { Severity::Info } else { Severity::High },
                )
            }
            Found::Unreadable(why) => {
                extra = ExitStatus::Error;
                reporter.error(ErrorRecord {
                    path: Some(BytesPath::new(path.clone())),
                    message: why.clone(),
                })?;
                continue;
            }
        };
        let change = Change {
            path: BytesPath::new(path.clone()),
            change: kind,
            attrs: if kind == ChangeKind::Changed {
                vec![if matches!(found, Found::Replaced(_)) {
                    "ftype"
                } else {
                    "md5"
                }
                .into()]
            } else {
                Vec::new()
            },
            old: Some(old),
            new,
        };
        reporter.emit(&change)?;
        let role = if e.conffile {
            "conffile"
        } else if doc {
            "documentation"
        } else {
            "file"
        };
        let finding = Finding::new(
            "fim/package-file-changed",
            severity,
            format!("{} {role} {} is {what}", e.package, display_path(&path)),
            if e.conffile {
                "A configuration file differs from what its package installed: usually the admin's own edit. Review it.".to_string()
            } else if doc {
                "Documentation that differs from its package, usually left out on purpose by a minimal image (dpkg path-exclude).".to_string()
            } else {
                format!("The file differs from what package {} installed (dpkg's own MD5 in /var/lib/dpkg/info): a program or library replaced outside the package manager is how intruders persist. Compare it with the package (apt-get download {} and dpkg-deb -x), and reinstall it.", e.package, e.package)
            },
        )
        .at(Location::new(BytesPath::new(path.clone()), None))
        .evidence("package", &e.package)
        .evidence("expected_md5", &e.md5)
        .fix(if e.conffile {
            format!("diff it with the package's version; to restore: apt-get install --reinstall -o Dpkg::Options::=--force-confask {}", e.package)
        } else {
            format!("apt-get install --reinstall {}", e.package)
        });
        reporter.finding(finding)?;
    }
    reporter.text(&format!(
        "fim: {checked} paths of {packages_n} packages checked against dpkg's records, {} differ (in {} packages)\n",
        results.len(),
        packages::per_package(&results).len()
    ))?;
    Ok(reporter.finish(common.fail_on, extra)?)
}

/// `fim perms`: the permissions inventory (see [`crate::perms`]).
fn perms(common: &CommonArgs, args: crate::cli::PermsArgs) -> Result<ExitStatus, FimError> {
    let root = common.root()?;
    let units = crate::perms::unit_paths(&root);
    let root_run: Vec<Vec<u8>> = units
        .iter()
        .filter(|(_, as_root)| *as_root)
        .map(|(d, _)| d.as_os_str().as_bytes().to_vec())
        .collect();
    let roots: Vec<PathBuf> = if args.paths.is_empty() {
        // The usual trees, and the code directories of the services the
        // admin installed that lie outside them.
        let mut roots: Vec<PathBuf> = crate::perms::DEFAULT_PATHS
            .iter()
            .map(PathBuf::from)
            .collect();
        for (d, _) in &units {
            if !roots.iter().any(|r| d.starts_with(r)) {
                roots.push(d.clone());
            }
        }
        roots.sort();
        // A directory below another one walked is walked with it.
        let mut kept: Vec<PathBuf> = Vec::new();
        for r in roots {
            if !kept.iter().any(|k| r.starts_with(k)) {
                kept.push(r);
            }
        }
        kept
    } else {
        for p in &args.paths {
            if !p.is_absolute() {
                return Err(FimError::Argument {
                    flag: "PATH",
                    message: format!("{}: a system path, absolute", display_path(p)),
                });
            }
        }
        args.paths.clone()
    };
    let rules = Rules::parse(&crate::perms::rules_text(&roots), "fim perms")?;
    let plan = WalkPlan {
        root: root.clone(),
        rules,
        one_filesystem: args.one_filesystem,
        own_files: Vec::new(),
        own_prefixes: Vec::new(),
    };
    let packaged = crate::perms::packaged_paths(&root);
    let (uids, gids) = crate::perms::ids(&root);
    let mut reporter = Reporter::stdout(TOOL, common.format(), common.quiet);
    let mut errors = false;
    let seen =
        crate::perms::inventory(
            &plan,
            &roots,
            &packaged,
            &uids,
            &gids,
            &root_run,
            |r| match r {
                Ok(f) => reporter.finding(f),
                Err((system, message)) => {
                    errors = true;
                    reporter.error(ErrorRecord {
                        path: Some(BytesPath::new(hardkit_core::bytes_path::path_from_bytes(
                            &system,
                        ))),
                        message,
                    })
                }
            },
        )?;
    let shown: Vec<String> = roots.iter().map(|p| display_path(p)).collect();
    reporter.text(&format!(
        "fim: {seen} entries under {} looked at ({} packaged paths known)\n",
        shown.join(" "),
        packaged.len()
    ))?;
    Ok(reporter.finish(
        common.fail_on,
        if errors {
            ExitStatus::Error
        } else {
            ExitStatus::Clean
        },
    )?)
}
