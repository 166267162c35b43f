//! The effective configuration, computed the way sshd computes it.
//!
//! sshd reads its config twice. The first pass runs with no connection:
//! global lines are applied (first value wins for most options), and lines
//! inside Match blocks are only checked, except under `Match all`, which is
//! active even then. The second pass ("reprocess config", what `sshd -T -C`
//! and every real connection do) starts inactive, applies only the lines of
//! Match blocks that match the connection into a fresh option set, and then
//! copies every option that block set over the global value, wherever the
//! global line sat. This module reproduces both passes, keeping for every
//! value the line it came from and the lines that lost to it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::include::{include_pattern, ConfigFile, LoadError, Loader};
use crate::keywords::{self, Rule};
use crate::lex::{lex_line, Lexed};
use crate::matching::{evaluate, Context, Criterion, GroupLookup};
use crate::parse::{parse, Assign, Parsed};
use crate::version::{Release, Version};

/// sshd's include depth limit (SERVCONF_MAX_DEPTH).
pub const MAX_INCLUDE_DEPTH: usize = 16;

/// Files read per pass. sshd has no such limit, but ten files that each
/// include all ten would make it (and us) recurse 10^16 times; we stop.
pub const MAX_FILES_PER_PASS: usize = 10_000;

/// A line in a config file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Loc {
    pub path: PathBuf,
    pub line: u64,
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)
    }
}

/// One stored value and where it came from (None: the built-in default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub value: String,
    pub origin: Option<Loc>,
}

/// A line that set an option and lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadow {
    pub loc: Loc,
    pub value: String,
}

#[derive(Debug, Clone, Default)]
pub struct Slot {
    pub items: Vec<Item>,
    pub shadowed: Vec<Shadow>,
}

/// A set of options (sshd's ServerOptions), by slot name.
#[derive(Debug, Clone, Default)]
pub struct Store {
    pub slots: BTreeMap<&'static str, Slot>,
}

impl Store {
    pub fn get(&self, slot: &str) -> Option<&Slot> {
        self.slots.get(slot).filter(|s| !s.items.is_empty())
    }

    /// The first value of a slot, if set.
    pub fn value(&self, slot: &str) -> Option<&str> {
        self.get(slot)
            .and_then(|s| s.items.first())
            .map(|i| i.value.as_str())
    }

    fn apply(&mut self, a: &Assign, loc: &Loc, version: Version) -> Result<(), String> {
        let slot = self.slots.entry(a.slot).or_default();
        let items: Vec<Item> = a
            .values
            .iter()
            .map(|v| Item {
                value: v.clone(),
                origin: Some(loc.clone()),
            })
            .collect();
        let joined = a.values.join(" ");
        let rule = keywords::rule_of_slot(a.slot, a.rule, version);
        match rule {
            Rule::FirstWins | Rule::FirstLine => {
                if slot.items.is_empty() {
                    slot.items = items;
                } else {
                    slot.shadowed.push(Shadow {
                        loc: loc.clone(),
                        value: joined,
                    });
                }
            }
            Rule::LastWins => {
                for old in slot.items.drain(..) {
                    if let Some(o) = old.origin {
                        slot.shadowed.push(Shadow {
                            loc: o,
                            value: old.value,
                        });
                    }
                }
                slot.items = items;
            }
            Rule::Accumulate => slot.items.extend(items),
            Rule::PerName => {
                // values: [name, command line]; stored as "name command".
                let name = a.values.first().cloned().unwrap_or_default();
                let exists = slot
                    .items
                    .iter()
                    .any(|i| i.value.split(' ').next() == Some(name.as_str()));
                if exists {
                    if version < Version::new(9, 5) {
                        return Err(format!("Subsystem '{name}' already defined."));
                    }
                    slot.shadowed.push(Shadow {
                        loc: loc.clone(),
                        value: joined,
                    });
                } else {
                    slot.items.push(Item {
                        value: joined,
                        origin: Some(loc.clone()),
                    });
                }
            }
            Rule::Ignored => {}
        }
        Ok(())
    }
}

/// One directive as read in the first pass, for the linter.
#[derive(Debug, Clone)]
pub struct Record {
    pub loc: Loc,
    /// The keyword as written.
    pub keyword: String,
    /// Option name (`sshd -T` key), e.g. `passwordauthentication`.
    pub canon: &'static str,
    pub assigns: Vec<Assign>,
    /// Index into [`Reading::blocks`] when inside a Match block.
    pub block: Option<usize>,
    /// Applied in the first pass (global section, or `Match all`).
    pub active: bool,
    pub deprecated: bool,
}

/// A Match block seen in the first pass.
#[derive(Debug, Clone)]
pub struct MatchBlock {
    pub loc: Loc,
    pub criteria: Vec<Criterion>,
    /// The criteria as written (`User alice Address 10.0.0.0/8`).
    pub text: String,
}

/// Why sshd would refuse the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{loc}: {message}")]
    Line { loc: Loc, message: String },
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error(
        "Too many recursive configuration includes (more than {MAX_INCLUDE_DEPTH} levels, at {0})"
    )]
    IncludeDepth(Loc),
    #[error("{0}")]
    Fatal(String),
    /// `sshd -T` without the connection field a Match line needs (sshd -t
    /// and a real sshd start fine: only the test mode refuses).
    #[error("{0}")]
    NeedsContext(String),
}

impl ConfigError {
    /// The file and line sshd would name, when there is one.
    pub fn loc(&self) -> Option<&Loc> {
        match self {
            ConfigError::Line { loc, .. } | ConfigError::IncludeDepth(loc) => Some(loc),
            _ => None,
        }
    }
}

/// Everything the first pass learnt, reused for every context.
pub struct Reading {
    pub main: PathBuf,
    /// The release read for, and the model of it whose rules apply.
    pub release: Release,
    pub version: Version,
    pub global: Store,
    pub records: Vec<Record>,
    pub blocks: Vec<MatchBlock>,
    /// Files in the order sshd read them.
    pub files: Vec<PathBuf>,
    /// Deprecated/unsupported keywords seen (location, keyword).
    pub warnings: Vec<(Loc, String)>,
    /// The text of every file read.
    pub texts: std::collections::HashMap<PathBuf, Vec<u8>>,
    main_file: ConfigFile,
    services: Option<String>,
}

#[derive(Clone, Copy)]
struct Flags {
    match_only: bool,
    never_match: bool,
}

struct Pass<'a> {
    loader: &'a mut Loader,
    release: &'a Release,
    version: Version,
    /// sshd's version string, for `Match Version`.
    sshd_release: String,
    ctx: Option<&'a Context>,
    groups: &'a dyn GroupLookup,
    services: Option<&'a str>,
    first: bool,
    records: Vec<Record>,
    blocks: Vec<MatchBlock>,
    current_block: Option<usize>,
    files: Vec<PathBuf>,
    warnings: Vec<(Loc, String)>,
    files_read: usize,
}

impl Pass<'_> {
    fn count_file(&mut self) -> Result<(), ConfigError> {
        self.files_read += 1;
        if self.files_read > MAX_FILES_PER_PASS {
            return Err(ConfigError::Fatal(format!(
                "more than {MAX_FILES_PER_PASS} config files read in one pass: Include directives include each other"
            )));
        }
        Ok(())
    }

    fn run_file(
        &mut self,
        file: &ConfigFile,
        store: &mut Store,
        active: &mut bool,
        flags: Flags,
        depth: usize,
    ) -> Result<(), ConfigError> {
        self.count_file()?;
        if self.first {
            self.files.push(file.path.clone());
        }
        let saved_block = self.current_block;
        // sshd counts unknown keywords and goes on to the end of the file
        // (each one logged), then stops: "FILE: terminating, N bad
        // configuration options" (parse_server_config_depth). An error that
        // stops it sooner comes after the ones already logged.
        let mut bad: Vec<(Loc, String)> = Vec::new();
        let result = self.run_lines(file, store, active, flags, depth, &mut bad);
        if let Some((first, message)) = bad.first() {
            let mut text = message.clone();
            for (loc, m) in &bad[1..] {
                text.push_str(&format!("\n{} line {}: {m}", loc.path.display(), loc.line));
            }
            match result {
                Err(e) => {
                    let (loc, m) = match &e {
                        ConfigError::Line { loc, message } => (Some(loc), message.clone()),
                        other => (None, other.to_string()),
                    };
                    match loc {
                        Some(l) => {
                            text.push_str(&format!("\n{} line {}: {m}", l.path.display(), l.line))
                        }
                        None => text.push_str(&format!("\n{m}")),
                    }
                }
                Ok(()) => text.push_str(&format!(
                    "\n{}: terminating, {} bad configuration options",
                    file.path.display(),
                    bad.len()
                )),
            }
            return Err(ConfigError::Line {
                loc: first.clone(),
                message: text,
            });
        }
        result?;
        // A Match block ends with the file that opened it (sshd restores
        // the includer's state), so records after the Include are outside it.
        self.current_block = saved_block;
        Ok(())
    }

    /// The lines of one file, in order; unknown keywords go to `bad`.
    fn run_lines(
        &mut self,
        file: &ConfigFile,
        store: &mut Store,
        active: &mut bool,
        mut flags: Flags,
        depth: usize,
        bad: &mut Vec<(Loc, String)>,
    ) -> Result<(), ConfigError> {
        for line in file.lines.iter() {
            let loc = Loc {
                path: file.path.clone(),
                line: line.number,
            };
            let err = |message: String| ConfigError::Line {
                loc: loc.clone(),
                message,
            };
            let d = match lex_line(&line.text).map_err(|e| err(e.to_string()))? {
                Lexed::Nothing => continue,
                Lexed::Directive(d) => d,
            };
            let Some(kw) = keywords::lookup_in(&d.keyword, self.release) else {
                bad.push((
                    loc.clone(),
                    format!("Bad configuration option: {}", d.keyword),
                ));
                // An unknown keyword has no Match permission: inside a
                // Match block sshd stops right there.
                if !*active && self.ctx.is_none() {
                    return Err(err(format!(
                        "Directive '{}' is not allowed within a Match block",
                        d.keyword
                    )));
                }
                continue;
            };
            if !*active && !keywords::allowed_in_match(kw, self.version) {
                if self.ctx.is_none() {
                    return Err(err(format!(
                        "Directive '{}' is not allowed within a Match block",
                        d.keyword
                    )));
                }
                continue;
            }
            let parsed = parse(kw, &d, self.release, self.services).map_err(err)?;
            match parsed {
                Parsed::Ignored(status) => {
                    if self.first {
                        self.warnings
                            .push((loc.clone(), format!("{:?} option {}", status, d.keyword)));
                        self.records.push(Record {
                            loc: loc.clone(),
                            keyword: d.keyword.clone(),
                            canon: kw.canon,
                            assigns: Vec::new(),
                            block: self.current_block,
                            active: *active,
                            deprecated: true,
                        });
                    }
                }
                Parsed::Match(criteria) => {
                    let ctx = if flags.never_match { None } else { self.ctx };
                    let value =
                        evaluate(&criteria, ctx, self.groups, &self.sshd_release).map_err(|e| {
                            if e.is_bad_condition() {
                                err("Bad Match condition".into())
                            } else if matches!(e, crate::matching::MatchError::MissingInContext(..))
                            {
                                ConfigError::NeedsContext(e.to_string())
                            } else {
                                ConfigError::Fatal(e.to_string())
                            }
                        })?;
                    *active = !flags.never_match && value;
                    flags.match_only = false;
                    if self.first {
                        self.blocks.push(MatchBlock {
                            loc: loc.clone(),
                            criteria,
                            text: d.rest.split('#').next().unwrap_or("").trim().to_string(),
                        });
                        self.current_block = Some(self.blocks.len() - 1);
                    }
                }
                Parsed::Include(patterns) => {
                    if depth + 1 > MAX_INCLUDE_DEPTH {
                        return Err(ConfigError::IncludeDepth(loc));
                    }
                    for p in patterns {
                        let pattern = include_pattern(&p);
                        let was_active = *active;
                        let child = Flags {
                            match_only: flags.match_only,
                            never_match: !flags.match_only && !was_active,
                        };
                        for f in self.loader.expand(&pattern)? {
                            self.run_file(&f, store, active, child, depth + 1)?;
                            *active = was_active;
                        }
                    }
                }
                Parsed::Set(assigns) => {
                    // Before 9.7 (upstream 65a44a8) sshd checks "any" against the methods already
                    // stored, not just this line's.
                    let any_after_methods = assigns.iter().any(|a| {
                        a.slot == "authenticationmethods" && a.values.iter().any(|v| v == "any")
                    }) && store.get("authenticationmethods").is_some();
                    if any_after_methods && self.version < Version::new(9, 7) {
                        return Err(err(format!("\"any\" must appear alone in {}", d.keyword)));
                    }
                    // From 10.1 a MaxStartups line counts only when no
                    // earlier line set any part of it.
                    let maxstartups_taken = self.version >= Version::new(10, 1)
                        && assigns.iter().any(|a| a.slot.starts_with("maxstartups."))
                        && ["maxstartups.begin", "maxstartups.rate", "maxstartups.max"]
                            .iter()
                            .any(|s| store.get(s).is_some());
                    if *active && maxstartups_taken {
                        store
                            .slots
                            .entry("maxstartups.max")
                            .or_default()
                            .shadowed
                            .push(Shadow {
                                loc: loc.clone(),
                                value: d.args.first().cloned().unwrap_or_default(),
                            });
                    } else if *active {
                        for a in &assigns {
                            store.apply(a, &loc, self.version).map_err(err)?;
                        }
                    }
                    if self.first {
                        self.records.push(Record {
                            loc: loc.clone(),
                            keyword: d.keyword.clone(),
                            canon: kw.canon,
                            assigns,
                            block: self.current_block,
                            active: *active,
                            deprecated: false,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// Read the config: the first pass. `main` is a system path.
pub fn read(
    loader: &mut Loader,
    main: &Path,
    stdin: Option<Vec<u8>>,
    release: &Release,
    groups: &dyn GroupLookup,
) -> Result<Reading, ConfigError> {
    let version = release.model();
    let main_file = match stdin {
        Some(data) => loader.load_text(main, data),
        None => loader.load_main(main)?,
    };
    let services = loader
        .root()
        .resolve("/etc/services")
        .ok()
        .and_then(|p| {
            hardkit_core::input::read_regular_file(&p, hardkit_core::input::MAX_FILE_BYTES).ok()
        })
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        // A bare config directory (no /etc/services, no package
        // database): the host's service names, which a real sshd on this
        // host would use. An installed system without /etc/services (a
        // minimal image without netbase) has none: its sshd refuses
        // `Port ssh`, and so does this.
        .or_else(|| {
            let installed = loader
                .root()
                .resolve("/var/lib/dpkg/status")
                .is_ok_and(|p| p.is_file());
            if installed {
                None
            } else {
                std::fs::read_to_string("/etc/services").ok()
            }
        });
    let mut pass = Pass {
        loader,
        release,
        version,
        sshd_release: release.sshd_release(),
        ctx: None,
        groups,
        services: services.as_deref(),
        first: true,
        records: Vec::new(),
        blocks: Vec::new(),
        current_block: None,
        files: Vec::new(),
        warnings: Vec::new(),
        files_read: 0,
    };
    let mut global = Store::default();
    let mut active = true;
    pass.run_file(
        &main_file,
        &mut global,
        &mut active,
        Flags {
            match_only: false,
            never_match: false,
        },
        0,
    )?;
    let (records, blocks, files, warnings) = (pass.records, pass.blocks, pass.files, pass.warnings);
    // fill_default_server_options: a lone `ChannelTimeout none` clears the
    // global list. (The same value copied from a Match block later is not
    // cleared, and prints.)
    if let Some(slot) = global.slots.get_mut("channeltimeout") {
        if slot.items.len() == 1 && slot.items[0].value.eq_ignore_ascii_case("none") {
            slot.items.clear();
        }
    }
    // From 10.3 (CLEAR_ON_NONE_ARRAY, upstream 135a622) a lone global
    // `AuthorizedKeysFile none` leaves the list empty: kept as one empty
    // value, so that the default does not come back and nothing prints.
    if version >= Version::new(10, 3) {
        if let Some(slot) = global.slots.get_mut("authorizedkeysfile") {
            if slot.items.len() == 1 && slot.items[0].value.eq_ignore_ascii_case("none") {
                slot.items[0].value = String::new();
            }
        }
    }
    check_global(&global)?;
    let texts = loader.texts.clone();
    Ok(Reading {
        texts,
        main: main.to_path_buf(),
        release: release.clone(),
        version,
        global,
        records,
        blocks,
        files,
        warnings,
        main_file,
        services,
    })
}

/// The checks sshd makes on the global options before it will start (or
/// print with -T): an AuthenticationMethods list must be satisfiable by
/// the enabled methods, and the *Command options need their *CommandUser.
fn check_global(global: &Store) -> Result<(), ConfigError> {
    let on = |slot: &str, default: &str| global.value(slot).unwrap_or(default) == "yes";
    let enabled = |method: &str| match method.split(':').next().unwrap_or("") {
        "publickey" => on("pubkeyauthentication", "yes"),
        "password" => on("passwordauthentication", "yes"),
        "keyboard-interactive" => on("kbdinteractiveauthentication", "yes"),
        "hostbased" => on("hostbasedauthentication", "no"),
        "gssapi-with-mic" => on("gssapiauthentication", "no"),
        "none" => true,
        _ => false,
    };
    if let Some(slot) = global.get("authenticationmethods") {
        let lists: Vec<&str> = slot.items.iter().map(|i| i.value.as_str()).collect();
        let any = lists.len() == 1 && lists[0] == "any";
        if !any && !lists.iter().any(|list| list.split(',').all(enabled)) {
            let loc = slot.items[0].origin.clone();
            let message =
                "AuthenticationMethods cannot be satisfied by enabled authentication methods"
                    .to_string();
            return Err(match loc {
                Some(loc) => ConfigError::Line { loc, message },
                None => ConfigError::Fatal(message),
            });
        }
    }
    for (cmd, user, name) in [
        (
            "authorizedkeyscommand",
            "authorizedkeyscommanduser",
            "AuthorizedKeysCommand",
        ),
        (
            "authorizedprincipalscommand",
            "authorizedprincipalscommanduser",
            "AuthorizedPrincipalsCommand",
        ),
    ] {
        let set = global
            .value(cmd)
            .is_some_and(|c| !c.eq_ignore_ascii_case("none"));
        if set && global.value(user).is_none() {
            let message = format!("{name} set without {name}User");
            return Err(
                match global.get(cmd).and_then(|s| s.items[0].origin.clone()) {
                    Some(loc) => ConfigError::Line { loc, message },
                    None => ConfigError::Fatal(message),
                },
            );
        }
    }
    Ok(())
}

impl Reading {
    /// The options in force for a connection (None: sshd -T without -C,
    /// which still runs the Match pass with an empty connection).
    pub fn effective(
        &self,
        loader: &mut Loader,
        ctx: Option<&Context>,
        groups: &dyn GroupLookup,
    ) -> Result<Store, ConfigError> {
        let empty = Context::default();
        let ctx = ctx.unwrap_or(&empty);
        if ctx.invalid_user && self.version < Version::new(9, 9) {
            return Err(ConfigError::Fatal(format!(
                "--context invalid-user: OpenSSH {} has no such test flag (9.9 and later)",
                self.version
            )));
        }
        let mut pass = Pass {
            loader,
            release: &self.release,
            version: self.version,
            sshd_release: self.release.sshd_release(),
            ctx: Some(ctx),
            groups,
            services: self.services.as_deref(),
            first: false,
            records: Vec::new(),
            blocks: Vec::new(),
            current_block: None,
            files: Vec::new(),
            warnings: Vec::new(),
            files_read: 0,
        };
        let mut matched = Store::default();
        let mut active = false;
        pass.run_file(
            &self.main_file,
            &mut matched,
            &mut active,
            Flags {
                match_only: true,
                never_match: false,
            },
            0,
        )?;
        let mut out = self.global.clone();
        for (name, slot) in matched.slots {
            if slot.items.is_empty() || !crate::options::copied_by_match(name, self.version) {
                continue;
            }
            let target = out.slots.entry(name).or_default();
            if name == "subsystem" {
                for item in slot.items {
                    let sub = item.value.split(' ').next().unwrap_or("").to_string();
                    match target
                        .items
                        .iter_mut()
                        .find(|i| i.value.split(' ').next() == Some(sub.as_str()))
                    {
                        Some(existing) => *existing = item,
                        None => target.items.push(item),
                    }
                }
                continue;
            }
            let winner: Vec<Option<Loc>> = slot.items.iter().map(|i| i.origin.clone()).collect();
            let mut lost: Vec<Shadow> = target
                .items
                .drain(..)
                .filter_map(|i| {
                    i.origin.map(|loc| Shadow {
                        loc,
                        value: i.value,
                    })
                })
                .collect();
            lost.extend(slot.shadowed);
            target.shadowed.extend(lost);
            target
                .shadowed
                .retain(|s| !winner.contains(&Some(s.loc.clone())));
            target.items = slot.items;
        }
        Ok(out)
    }
}
