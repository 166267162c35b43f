//! What `svcacct plan|apply NAME` sets up, as steps: the account, its
//! directories, the hardened unit, the sudoers rule, logrotate, and the
//! declarative sysusers.d / tmpfiles.d twins of the account and directories.
//! Everything is decided here, before anything is written, so bad input
//! stops the run with nothing changed.

use std::path::PathBuf;

use hardkit_core::Root;

use crate::accounts::{self, Accounts, AccountsError};
use crate::names::{AbsPath, AccountName, ExecCommand, Network, Port};

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
    pub writable: Vec<AbsPath>,
    pub readonly: Vec<AbsPath>,
    pub code: Option<AbsPath>,
    pub gpu: bool,
    pub allow_restart: bool,
    pub env_file: Option<AbsPath>,
    pub allow_jit: bool,
    pub memory_max: Option<String>,
    pub tasks_max: Option<u32>,
    pub cpu_quota: Option<String>,
    /// Replace files that svcacct did not write.
    pub force: bool,
}

impl ServiceSpec {
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
        /// Keep the previous version as NAME.hardkit-bak next to it.
        backup: bool,
    },
    /// A secrets file: created empty if missing, never overwritten; mode 0600 root:root.
    SecretFile { path: PathBuf },
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
    #[error("{flag} {path}: also {other}; give each directory one role")]
    PathConflict {
        flag: &'static str,
        path: String,
        other: &'static str,
    },
    #[error("{path}: exists and was not written by svcacct; review it (plan --diff) and pass --force to replace it (the old file is kept as .hardkit-bak)")]
    NotOurs { path: String },
    #[error(transparent)]
    Root(#[from] hardkit_core::root::RootError),
    #[error(transparent)]
    Accounts(#[from] AccountsError),
}

/// Decide every step for `spec` on the system under `root`.
pub fn plan(spec: &ServiceSpec, root: &Root) -> Result<Vec<Step>, PlanError> {
    if spec.no_network && !spec.listen.is_empty() {
        return Err(PlanError::NoNetworkButListen);
    }
    if !spec.listen_from.is_empty() && spec.listen.is_empty() {
        return Err(PlanError::ListenFromWithoutListen);
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
        });
    }
    steps.push(Step::File {
        path: PathBuf::from(format!("/etc/sysusers.d/{name}.conf")),
        contents: sysusers_conf(spec, uid, gid, &group_name),
        mode: 0o644,
        owner: Owner::root(),
        validator: Validator::None,
        backup: true,
    });
    steps.push(Step::File {
        path: PathBuf::from(format!("/etc/tmpfiles.d/{name}.conf")),
        contents: tmpfiles_conf(spec, &service),
        mode: 0o644,
        owner: Owner::root(),
        validator: Validator::None,
        backup: true,
    });
    steps.push(Step::File {
        path: PathBuf::from(format!("/etc/systemd/system/{}", spec.unit_name())),
        contents: unit_file(spec, &group_name),
        mode: 0o644,
        owner: Owner::root(),
        validator: Validator::None,
        backup: true,
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
        });
    }
    if let Some(log_dir) = spec.log_dir() {
        steps.push(Step::File {
            path: PathBuf::from(format!("/etc/logrotate.d/{name}")),
            contents: logrotate_conf(&log_dir, &service),
            mode: 0o644,
            owner: Owner::root(),
            validator: Validator::Logrotate,
            // logrotate reads every file in logrotate.d, a backup too: it
            // would be a duplicate entry that makes logrotate fail.
            backup: false,
        });
    }
    if !spec.force {
        for step in &steps {
            if let Step::File { path, .. } = step {
                let host = root.resolve_parent(path)?;
                if let Ok(existing) = std::fs::read(&host) {
                    if !existing.starts_with(GENERATED_MARK.as_bytes()) {
                        return Err(PlanError::NotOurs {
                            path: path.display().to_string(),
                        });
                    }
                }
            }
        }
    }
    Ok(steps)
}

/// Every file svcacct writes starts with this, so it knows its own files.
pub const GENERATED_MARK: &str = "# Generated by svcacct";

const HEADER: &str =
    "# Generated by svcacct; changes here are replaced on the next `svcacct apply`.\n";

pub fn sysusers_conf(spec: &ServiceSpec, uid: u32, gid: u32, group: &str) -> String {
    format!(
        "{HEADER}g {group} {gid}\nu {name} {uid}:{gid} \"{gecos}\" {home} {NOLOGIN}\n",
        name = spec.name,
        gecos = spec.gecos(),
        home = spec.home().display(),
    )
}

pub fn tmpfiles_conf(spec: &ServiceSpec, service: &Owner) -> String {
    let mut out = String::from(HEADER);
    if let Some(code) = &spec.code {
        out.push_str(&format!("d {} 0755 root root -\n", code.display()));
    }
    for dir in spec.writable_dirs() {
        out.push_str(&format!(
            "d {} 0750 {} {} -\n",
            dir.display(),
            service.user,
            service.group
        ));
    }
    out
}

pub fn sudoers_rule(spec: &ServiceSpec) -> String {
    format!(
        "# Generated by svcacct: {name} may restart its own service, and nothing else.\n\
         {name} ALL=(root) NOPASSWD: {SYSTEMCTL} restart {unit}\n",
        name = spec.name,
        unit = spec.unit_name(),
    )
}

pub fn logrotate_conf(log_dir: &std::path::Path, service: &Owner) -> String {
    format!(
        "{HEADER}{dir}/*.log {{\n    su {user} {group}\n    weekly\n    rotate 8\n    missingok\n    notifempty\n    compress\n    delaycompress\n    create 0640 {user} {group}\n}}\n",
        dir = log_dir.display(),
        user = service.user,
        group = service.group,
    )
}

/// The hardened unit. Every line is there for a row of `systemd-analyze
/// security`; what a workload needs (ports below 1024, a GPU, a JIT, the
/// network) loosens only the rows it must.
pub fn unit_file(spec: &ServiceSpec, group: &str) -> String {
    let name = spec.name.as_str();
    let mut s = String::new();
    let mut line = |l: &str| {
        s.push_str(l);
        s.push('\n');
    };
    line(HEADER.trim_end());
    line("[Unit]");
    line(&format!(
        "Description={name} (least-privilege service, svcacct)"
    ));
    if !spec.no_network {
        line("Wants=network-online.target");
        line("After=network-online.target");
    }
    line("");
    line("[Service]");
    line("Type=simple");
    line(&format!("ExecStart={}", spec.exec.line));
    line(&format!("User={name}"));
    line(&format!("Group={group}"));
    line(&format!("WorkingDirectory={}", spec.home().display()));
    if let Some(env) = &spec.env_file {
        line(&format!("EnvironmentFile={}", env.display()));
    }
    line("Restart=on-failure");
    line("RestartSec=5s");
    line("UMask=0077");
    line("");
    line("# File system: read-only OS, no homes, private /tmp, only its own state writable.");
    line("ProtectSystem=strict");
    line("ProtectHome=yes");
    line("PrivateTmp=yes");
    line("PrivateMounts=yes");
    let writable: Vec<String> = spec
        .writable_dirs()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    line(&format!("ReadWritePaths={}", writable.join(" ")));
    if !spec.readonly.is_empty() {
        let ro: Vec<String> = spec
            .readonly
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        line(&format!("ReadOnlyPaths={}", ro.join(" ")));
    }
    line("");
    line("# Privileges: none to gain, none kept.");
    line("NoNewPrivileges=yes");
    let bind = spec.listen.iter().any(|p| p.is_privileged());
    if bind {
        line("CapabilityBoundingSet=CAP_NET_BIND_SERVICE");
        line("AmbientCapabilities=CAP_NET_BIND_SERVICE");
    } else {
        line("CapabilityBoundingSet=");
        line("AmbientCapabilities=");
        // A user namespace would also hide the capability the bind needs.
        line("PrivateUsers=yes");
    }
    line("RestrictSUIDSGID=yes");
    line("RemoveIPC=yes");
    line("KeyringMode=private");
    line("");
    line("# Kernel and system interfaces.");
    line("ProtectKernelTunables=yes");
    line("ProtectKernelModules=yes");
    line("ProtectKernelLogs=yes");
    line("ProtectControlGroups=yes");
    line("ProtectClock=yes");
    line("ProtectHostname=yes");
    line("ProtectProc=invisible");
    line("ProcSubset=pid");
    line("LockPersonality=yes");
    line("RestrictRealtime=yes");
    line("RestrictNamespaces=yes");
    if !spec.allow_jit {
        line("MemoryDenyWriteExecute=yes");
    }
    line("");
    line("# Devices.");
    if spec.gpu {
        // The GPU's own device nodes, nothing else (PrivateDevices= would hide them).
        line("DevicePolicy=closed");
        line("DeviceAllow=char-nvidiactl rw");
        line("DeviceAllow=char-nvidia-frontend rw");
        line("DeviceAllow=char-nvidia-uvm rw");
        line("DeviceAllow=char-nvidia-caps rw");
        line("DeviceAllow=char-drm rw");
        line("DeviceAllow=/dev/kfd rw");
    } else {
        line("PrivateDevices=yes");
        line("DevicePolicy=closed");
    }
    line("");
    line("# System calls.");
    line("SystemCallArchitectures=native");
    line("SystemCallFilter=@system-service");
    line("SystemCallFilter=~@privileged @resources");
    line("SystemCallErrorNumber=EPERM");
    line("");
    line("# Network.");
    if spec.no_network {
        line("PrivateNetwork=yes");
        line("RestrictAddressFamilies=AF_UNIX");
        line("IPAddressDeny=any");
    } else {
        line("RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6");
        if !spec.listen_from.is_empty() {
            line("IPAddressDeny=any");
            let nets: Vec<&str> = spec.listen_from.iter().map(Network::as_str).collect();
            line(&format!("IPAddressAllow=localhost {}", nets.join(" ")));
        }
    }
    if spec.memory_max.is_some() || spec.tasks_max.is_some() || spec.cpu_quota.is_some() {
        line("");
        line("# Resources.");
        if let Some(m) = &spec.memory_max {
            line(&format!("MemoryMax={m}"));
        }
        if let Some(t) = spec.tasks_max {
            line(&format!("TasksMax={t}"));
        }
        if let Some(c) = &spec.cpu_quota {
            line(&format!("CPUQuota={c}"));
        }
    }
    line("");
    line("[Install]");
    line("WantedBy=multi-user.target");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn spec(extra: impl FnOnce(&mut ServiceSpec)) -> ServiceSpec {
        let mut s = ServiceSpec {
            name: "agent".parse().unwrap(),
            exec: "/opt/agent/bin/agent --serve".parse().unwrap(),
            listen: vec![],
            listen_from: vec![],
            no_network: false,
            writable: vec![],
            readonly: vec![],
            code: None,
            gpu: false,
            allow_restart: false,
            env_file: None,
            allow_jit: false,
            memory_max: None,
            tasks_max: None,
            cpu_quota: None,
            force: false,
        };
        extra(&mut s);
        s
    }

    fn score(s: &ServiceSpec) -> u64 {
        let unit = crate::unit_file::Unit {
            name: s.unit_name(),
            fragment: "/x".into(),
            dropins: vec![],
            assignments: crate::unit_file::parse(
                &unit_file(s, "agent"),
                std::path::Path::new("/x"),
            ),
        };
        let ctx = crate::exposure::SecurityContext::from_unit(&unit);
        crate::exposure::assess(&ctx).tenths
    }

    #[test]
    fn generated_units_meet_the_thresholds() {
        assert!(score(&spec(|_| {})) <= 15, "{}", score(&spec(|_| {})));
        let privileged = spec(|s| s.listen = vec!["443".parse().unwrap()]);
        assert!(score(&privileged) <= 15, "{}", score(&privileged));
        let limited = spec(|s| {
            s.listen = vec!["8080".parse().unwrap()];
            s.listen_from = vec!["10.0.0.0/8".parse().unwrap()];
        });
        assert!(score(&limited) <= 15);
        let offline = spec(|s| s.no_network = true);
        assert!(score(&offline) <= 9, "{}", score(&offline));
        let gpu = spec(|s| {
            s.gpu = true;
            s.allow_jit = true;
        });
        assert!(score(&gpu) <= 15, "{}", score(&gpu));
    }

    #[test]
    fn sudoers_rule_is_exactly_one_command() {
        let rule = sudoers_rule(&spec(|_| {}));
        let rules: Vec<&str> = rule.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            rules,
            vec!["agent ALL=(root) NOPASSWD: /usr/bin/systemctl restart agent.service"]
        );
    }
}
