//! What `svcacct plan|apply NAME` sets up, as steps: the account, its
//! directories, the hardened unit, the sudoers rule, logrotate, and the
//! declarative sysusers.d / tmpfiles.d twins of the account and directories.
//! Everything is decided here, before anything is written, so bad input
//! stops the run with nothing changed.

use std::path::PathBuf;

use hardkit_core::Root;

use crate::accounts::{self, Accounts, AccountsError};
use crate::existing_unit;
use crate::generated_files::{
    audit_rules, logrotate_conf, sudoers_rule, sysusers_conf, tmpfiles_conf, unit_file,
    GENERATED_MARK,
};
use crate::names::{AbsPath, AccountName, ExecCommand, Network, Port};
use crate::profile::{Needs, Profile, ProfileRecord};

pub const NOLOGIN: &str = "/usr/sbin/nologin";
pub const SYSTEMCTL: &str = "/usr/bin/systemctl";

/// What the workload needs, from the command line.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    pub name: AccountName,
    pub exec: ExecCommand,
    pub listen: Vec<Port>,
    pub listen_from: Vec<Network>,
    pub no_network: bool,
    /// Networks it may talk to, besides loopback (`--egress`).
    pub egress: Vec<Network>,
    /// `--egress-dns`: the target's resolvers too (resolved by [`plan`]
    /// into [`Self::resolvers`]).
    pub egress_dns: bool,
    /// The nameservers of the target's /etc/resolv.conf (with --egress-dns).
    pub resolvers: Vec<Network>,
    pub writable: Vec<AbsPath>,
    pub readonly: Vec<AbsPath>,
    pub code: Option<AbsPath>,
    pub gpu: bool,
    pub allow_restart: bool,
    /// `--audit-rules`: the audit rules even before auditd is installed.
    pub audit_rules: bool,
    pub env_file: Option<AbsPath>,
    pub allow_jit: bool,
    pub memory_max: Option<String>,
    pub tasks_max: Option<u32>,
    pub cpu_quota: Option<String>,
    /// Replace files that svcacct did not write.
    pub force: bool,
    /// `--profile`, or None to detect it from the command.
    pub profile: Option<Profile>,
    /// What the profile adds, resolved on the target by [`plan`].
    pub needs: Needs,
}

impl ServiceSpec {
    /// Every directory the service writes: [`Self::writable_dirs`] and the
    /// profile's (a models directory).
    pub fn all_writable(&self) -> Vec<PathBuf> {
        let mut out = self.writable_dirs();
        for w in &self.needs.writable {
            if !out.contains(w) {
                out.push(w.clone());
            }
        }
        out
    }

    /// State and logs: the given --writable paths, else /var/lib/NAME and /var/log/NAME.
    pub fn writable_dirs(&self) -> Vec<PathBuf> {
        if self.writable.is_empty() {
            vec![
                PathBuf::from(format!("/var/lib/{}", self.name)),
                PathBuf::from(format!("/var/log/{}", self.name)),
            ]
        } else {
            self.writable
                .iter()
                .map(|p| p.as_path().to_path_buf())
                .collect()
        }
    }

    /// The home directory: the first writable directory (its state).
    pub fn home(&self) -> PathBuf {
        self.writable_dirs()
            .into_iter()
            .next()
            .unwrap_or_else(|| PathBuf::from("/nonexistent"))
    }

    /// The log directory logrotate looks after: a writable path under
    /// /var/log, if there is one.
    pub fn log_dir(&self) -> Option<PathBuf> {
        self.writable_dirs()
            .into_iter()
            .find(|p| p.starts_with("/var/log"))
    }

    pub fn gecos(&self) -> String {
        format!("{} service (svcacct)", self.name)
    }

    pub fn unit_name(&self) -> String {
        format!("{}.service", self.name)
    }
}

/// Who owns a file or directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub user: String,
    pub group: String,
    pub uid: u32,
    pub gid: u32,
}

impl Owner {
    pub fn root() -> Owner {
        Owner {
            user: "root".into(),
            group: "root".into(),
            uid: 0,
            gid: 0,
        }
    }

    pub fn label(&self) -> String {
        format!("{}:{}", self.user, self.group)
    }
}

/// How a generated file is checked by the program that will read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    None,
    /// `visudo -c -O -P -f FILE`.
    Visudo,
    /// `logrotate -d FILE`, with the tree's own accounts.
    Logrotate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The account's group, with its GID.
    Group {
        name: String,
        gid: u32,
        exists: bool,
    },
    /// The system account: no login shell, locked password.
    User {
        name: String,
        uid: u32,
        gid: u32,
        home: PathBuf,
        gecos: String,
        exists: bool,
    },
    /// An existing account's membership in a group that is root in all but
    /// name (docker, lxd, disk, sudo, wheel, adm): removed.
    LeaveGroup { user: String, group: String },
    /// An existing system account that can log in: give it nologin and lock it.
    Lockdown {
        name: String,
        set_shell: bool,
        lock_password: bool,
    },
    Dir {
        path: PathBuf,
        mode: u32,
        owner: Owner,
    },
    File {
        path: PathBuf,
        contents: String,
        mode: u32,
        owner: Owner,
        validator: Validator,
        /// Keep the previous version as NAME.hardkit-bak~ next to it.
        backup: bool,
        /// The previous version held secrets: its backup is made 0600.
        private_backup: bool,
    },
    /// A secrets file: created if missing, never overwritten; mode 0600
    /// root:root. `add` are variables moved out of the existing unit's
    /// Environment=, appended unless the file sets them already.
    SecretFile {
        path: PathBuf,
        add: Vec<(String, String)>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("NAME {name}: an account with this name already exists with UID {uid}, a regular (non-system) user; choose another name or remove that account")]
    ExistingUser { name: String, uid: u32 },
    #[error("NAME {name}: a group with this name already exists with GID {gid} outside the system range {min}-{max}")]
    ExistingGroup {
        name: String,
        gid: u32,
        min: u32,
        max: u32,
    },
    #[error("no free system UID/GID between {min} and {max} in /etc/passwd and /etc/group")]
    NoFreeId { min: u32, max: u32 },
    #[error(
        "--no-network and --listen contradict each other: a service that listens needs the network"
    )]
    NoNetworkButListen,
    #[error("--listen-from needs --listen: it limits who may reach the listening ports")]
    ListenFromWithoutListen,
    #[error("--no-network and --egress contradict each other: --egress names networks the service may reach")]
    NoNetworkButEgress,
    #[error("--egress-dns needs --egress: without --egress the service's network is not confined")]
    EgressDnsWithoutEgress,
    #[error("{flag} {path}: also {other}; give each directory one role")]
    PathConflict {
        flag: &'static str,
        path: String,
        other: &'static str,
    },
    #[error("{path}: exists and was not written by svcacct; review the change with `svcacct plan {name} ... --diff` (the same arguments), then run apply again with --force to replace it (the old file is kept as {path}.hardkit-bak~)")]
    NotOurs { path: String, name: String },
    #[error(transparent)]
    Root(#[from] hardkit_core::root::RootError),
    #[error(transparent)]
    Accounts(#[from] AccountsError),
}

/// The steps, and the workload profile they were made with.
#[derive(Debug, Clone)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub profile: ProfileRecord,
}

/// Decide every step for `spec` on the system under `root`.
pub fn plan(spec: &ServiceSpec, root: &Root) -> Result<Plan, PlanError> {
    // An existing unit's ExecStart arguments and Environment= are kept
    // (the variables move to the env file, /etc/default/NAME by default).
    let carried = existing_unit::carried(root, spec)?;
    let mut spec = spec.clone();
    if let Some(line) = &carried.exec_line {
        spec.exec.line = line.clone();
    }
    if spec.env_file.is_none() {
        if let Some(kept) = carried.env_file.as_deref().and_then(|p| p.parse().ok()) {
            spec.env_file = Some(kept);
        } else if !carried.environment.is_empty() {
            spec.env_file = format!("/etc/default/{}", spec.name).parse().ok();
        }
    }
    let spec = &spec;
    if spec.no_network && !spec.listen.is_empty() {
        return Err(PlanError::NoNetworkButListen);
    }
    if !spec.listen_from.is_empty() && spec.listen.is_empty() {
        return Err(PlanError::ListenFromWithoutListen);
    }
    if spec.no_network && !spec.egress.is_empty() {
        return Err(PlanError::NoNetworkButEgress);
    }
    if spec.egress_dns && spec.egress.is_empty() {
        return Err(PlanError::EgressDnsWithoutEgress);
    }
    let writable = spec.writable_dirs();
    for r in &spec.readonly {
        if writable.iter().any(|w| w == r.as_path()) {
            return Err(PlanError::PathConflict {
                flag: "--readonly",
                path: r.display().to_string(),
                other: "--writable",
            });
        }
    }
    if let Some(code) = &spec.code {
        if writable.iter().any(|w| w == code.as_path()) {
            return Err(PlanError::PathConflict {
                flag: "--code",
                path: code.display().to_string(),
                other: "--writable",
            });
        }
    }
    let accounts = Accounts::load(root)?;
    // The workload profile: asked for, or detected from the command.
    let (profile, source, reason) = match spec.profile {
        Some(p) => (p, "flag", format!("--profile {}", p.name())),
        None => {
            let (p, why) = crate::profile::detect(&spec.exec.line);
            (p, "detected", why)
        }
    };
    let (needs, profile_record) = crate::profile::resolve(
        profile,
        source,
        reason,
        spec,
        root,
        &accounts,
        &carried.environment,
    );
    let mut spec = spec.clone();
    if spec.egress_dns {
        spec.resolvers = resolvers(root);
    }
    spec.gpu |= needs.gpu;
    spec.allow_jit |= needs.jit;
    spec.needs = needs;
    let spec = &spec;
    let writable = spec.all_writable();
    let ranges = accounts::uid_ranges(root)?;
    let name = spec.name.as_str();
    let (uid, gid, user_exists, group_exists) = match accounts.user(name) {
        Some(u) if u.uid >= ranges.user_min => {
            return Err(PlanError::ExistingUser {
                name: name.to_string(),
                uid: u.uid,
            })
        }
        Some(u) => (u.uid, u.gid, true, accounts.group_by_gid(u.gid).is_some()),
        None => match accounts.group_named(name) {
            Some(g) if g.gid < ranges.sys_min || g.gid > ranges.sys_max => {
                return Err(PlanError::ExistingGroup {
                    name: name.to_string(),
                    gid: g.gid,
                    min: ranges.sys_min,
                    max: ranges.sys_max,
                })
            }
            Some(g) if accounts.user_by_uid(g.gid).is_none() => (g.gid, g.gid, false, true),
            Some(g) => {
                let uid = accounts.free_system_id(ranges).ok_or(PlanError::NoFreeId {
                    min: ranges.sys_min,
                    max: ranges.sys_max,
                })?;
                (uid, g.gid, false, true)
            }
            None => {
                let id = accounts.free_system_id(ranges).ok_or(PlanError::NoFreeId {
                    min: ranges.sys_min,
                    max: ranges.sys_max,
                })?;
                (id, id, false, false)
            }
        },
    };
    let group_name = accounts
        .group_by_gid(gid)
        .map(|g| g.name.clone())
        .unwrap_or_else(|| name.to_string());
    let service = Owner {
        user: name.to_string(),
        group: group_name.clone(),
        uid,
        gid,
    };

    let mut steps = vec![
        Step::Group {
            name: group_name.clone(),
            gid,
            exists: group_exists,
        },
        Step::User {
            name: name.to_string(),
            uid,
            gid,
            home: spec.home(),
            gecos: spec.gecos(),
            exists: user_exists,
        },
    ];
    // Always a step, so every run has the same shape; only an existing
    // account can need it (useradd above creates it locked, without a shell).
    let set_shell = accounts
        .user(name)
        .is_some_and(|u| !accounts::is_nologin_shell(&u.shell));
    let lock_password = accounts
        .shadow_of(name)
        .is_some_and(|s| s.state() != accounts::PasswordState::Locked);
    steps.push(Step::Lockdown {
        name: name.to_string(),
        set_shell,
        lock_password,
    });
    for (group, _, _) in crate::audit::PRIVILEGED_GROUPS {
        if accounts
            .group_named(group)
            .is_some_and(|g| g.members.iter().any(|m| m == name))
        {
            steps.push(Step::LeaveGroup {
                user: name.to_string(),
                group: group.to_string(),
            });
        }
    }
    if let Some(code) = &spec.code {
        steps.push(Step::Dir {
            path: code.as_path().to_path_buf(),
            mode: 0o755,
            owner: Owner::root(),
        });
    }
    for dir in &writable {
        steps.push(Step::Dir {
            path: dir.clone(),
            mode: 0o750,
            owner: service.clone(),
        });
    }
    if let Some(env) = &spec.env_file {
        steps.push(Step::SecretFile {
            path: env.as_path().to_path_buf(),
            add: carried.environment.clone(),
        });
    }
    steps.push(Step::File {
        path: PathBuf::from(format!("/etc/sysusers.d/{name}.conf")),
        contents: sysusers_conf(spec, uid, gid, &group_name),
        mode: 0o644,
        owner: Owner::root(),
        validator: Validator::None,
        backup: true,
        private_backup: false,
    });
    steps.push(Step::File {
        path: PathBuf::from(format!("/etc/tmpfiles.d/{name}.conf")),
        contents: tmpfiles_conf(spec, &service),
        mode: 0o644,
        owner: Owner::root(),
        validator: Validator::None,
        backup: true,
        private_backup: false,
    });
    steps.push(Step::File {
        path: PathBuf::from(format!("/etc/systemd/system/{}", spec.unit_name())),
        contents: unit_file(spec, &group_name),
        mode: 0o644,
        owner: Owner::root(),
        validator: Validator::None,
        backup: true,
        private_backup: !carried.environment.is_empty(),
    });
    if spec.allow_restart {
        steps.push(Step::File {
            // No dot in the name: sudo's @includedir skips such files.
            path: PathBuf::from(format!("/etc/sudoers.d/{name}")),
            contents: sudoers_rule(spec),
            mode: 0o440,
            owner: Owner::root(),
            validator: Validator::Visudo,
            backup: true,
            private_backup: false,
        });
    }
    // What the account runs and writes, recorded by auditd when it is
    // installed (augenrules reads /etc/audit/rules.d/*.rules at boot), or
    // about to be (--audit-rules: its package's service loads them).
    let auditd = root.resolve("/etc/audit/rules.d").is_ok_and(|p| p.is_dir());
    if auditd || spec.audit_rules {
        steps.push(Step::File {
            path: PathBuf::from(format!("/etc/audit/rules.d/hardkit-{name}.rules")),
            contents: audit_rules(
                spec,
                uid,
                &crate::generated_files::AUDITED_WRITE_DIRS
                    .iter()
                    .copied()
                    .filter(|d| {
                        root.resolve(d)
                            .is_ok_and(|p| std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()))
                    })
                    .collect::<Vec<_>>(),
            ),
            mode: 0o640,
            owner: Owner::root(),
            validator: Validator::None,
            // (augenrules reads *.rules only: the backup's suffix is skipped)
            backup: true,
            private_backup: false,
        });
    }
    if let Some(log_dir) = spec.log_dir() {
        steps.push(Step::File {
            path: PathBuf::from(format!("/etc/logrotate.d/{name}")),
            contents: logrotate_conf(&log_dir, &service),
            mode: 0o644,
            owner: Owner::root(),
            validator: Validator::Logrotate,
            // The backup's `~` suffix is one logrotate skips in logrotate.d.
            backup: true,
            private_backup: false,
        });
    }
    Ok(Plan {
        steps,
        profile: profile_record,
    })
}

/// The files among `steps` that exist and were not written by svcacct (no
/// generated mark): `apply` replaces them only with `--force`; `plan` shows
/// their diff and says so.
pub fn files_not_ours(steps: &[Step], root: &Root) -> Result<Vec<PathBuf>, PlanError> {
    let mut foreign = Vec::new();
    for step in steps {
        if let Step::File { path, .. } = step {
            let host = root.resolve_parent(path)?;
            // A link, FIFO or device where the file goes is not ours either
            // (and is never read through).
            match hardkit_core::input::read_regular_file(&host, hardkit_core::input::MAX_FILE_BYTES)
            {
                Ok(existing) if existing.starts_with(GENERATED_MARK.as_bytes()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                _ => foreign.push(path.clone()),
            }
        }
    }
    Ok(foreign)
}

/// The nameservers of /etc/resolv.conf under `root` (a stub resolver on
/// loopback is reached anyway).
fn resolvers(root: &Root) -> Vec<Network> {
    let Ok(host) = root.resolve("/etc/resolv.conf") else {
        return Vec::new();
    };
    let Ok(text) =
        hardkit_core::input::read_regular_file(&host, hardkit_core::input::MAX_FILE_BYTES)
    else {
        return Vec::new();
    };
    let mut out: Vec<Network> = Vec::new();
    for line in String::from_utf8_lossy(&text).lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("nameserver") {
            continue;
        }
        if let Some(n) = words.next().and_then(|a| a.parse::<Network>().ok()) {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}
