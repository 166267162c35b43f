//! `svcacct audit`: for each service, its exposure (as systemd-analyze
//! security scores it) and what its account may really do: run as root, log
//! in, use sudo, rewrite its own program, read secrets from the unit.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use hardkit_core::{Finding, Location, Root, Severity};

use crate::accounts::{is_nologin_shell, Accounts, PasswdEntry, PasswordState};
use crate::exposure::values::words;
use crate::exposure::{SecurityContext, Systemd};
use crate::sudoers::{judge, Danger, Sudoers};
use crate::unit_file::{Assignment, Unit, UNIT_DIRS};

/// Groups whose members are root in all but name, or close to it.
pub const PRIVILEGED_GROUPS: &[(&str, Severity, &str)] = &[
    ("docker", Severity::Critical, "the Docker socket lets its members start a root container that mounts /"),
    ("lxd", Severity::Critical, "LXD lets its members start a privileged container that mounts /"),
    ("disk", Severity::Critical, "raw access to block devices lets its members read and write any file, /etc/shadow included"),
    ("sudo", Severity::High, "members may run any command as root through sudo"),
    ("wheel", Severity::High, "members may run any command as root through sudo or su"),
    ("adm", Severity::Medium, "members read every system log, where tokens and passwords leak"),
];

/// Every service unit installed under `root` (templates and alias symlinks skipped).
pub fn all_units(root: &Root) -> Result<Vec<String>, hardkit_core::root::RootError> {
    let mut names = Vec::new();
    for dir in UNIT_DIRS {
        let host = root.resolve(dir)?;
        let Ok(entries) = fs::read_dir(&host) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            if is_file
                && name.ends_with(".service")
                && !name.contains("@.")
                && !names.contains(&name)
            {
                names.push(name);
            }
        }
    }
    names.sort();
    Ok(names)
}

/// Every user unit: in the user unit directories (by name) and in each
/// account's `~/.config/systemd/user` and `~/.local/share/systemd/user`
/// (by system path). Templates and aliases skipped.
pub fn all_user_units(
    root: &Root,
    accounts: &Accounts,
) -> Result<Vec<String>, hardkit_core::root::RootError> {
    let mut names = Vec::new();
    let mut files = Vec::new();
    let scan = |dir: &Path, by_path: bool, names: &mut Vec<String>, files: &mut Vec<String>| {
        let Ok(host) = root.resolve(dir) else {
            return;
        };
        let Ok(entries) = fs::read_dir(&host) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            if !(is_file && name.ends_with(".service") && !name.contains("@.")) {
                continue;
            }
            if by_path {
                files.push(dir.join(&name).display().to_string());
            } else if !names.contains(&name) {
                names.push(name);
            }
        }
    };
    for dir in crate::unit_file::USER_UNIT_DIRS {
        scan(Path::new(dir), false, &mut names, &mut files);
    }
    let mut homes: Vec<&str> = accounts
        .passwd
        .iter()
        .map(|u| u.home.as_str())
        .filter(|h| h.starts_with('/') && *h != "/" && *h != "/nonexistent")
        .collect();
    homes.sort();
    homes.dedup();
    for home in homes {
        for sub in [".config/systemd/user", ".local/share/systemd/user"] {
            scan(&Path::new(home).join(sub), true, &mut names, &mut files);
        }
    }
    names.sort();
    files.sort();
    names.extend(files);
    Ok(names)
}

/// The findings about one unit and its account.
pub fn audit_unit(
    unit: &Unit,
    root: &Root,
    accounts: &Accounts,
    sudoers: &Sudoers,
    systemd: Systemd,
) -> Vec<Finding> {
    let ctx = SecurityContext::from_unit(unit, systemd);
    let mut out = Vec::new();
    let fragment = unit.fragment.clone();
    let user_line = last(unit, "User");
    let at = |a: Option<&Assignment>| match a {
        Some(a) => Location::new(a.path.clone(), Some(a.line)),
        None => Location::new(fragment.clone(), None),
    };

    // A user unit runs as the user whose manager starts it (User= cannot
    // change that): never as root by its own doing.
    let runs_as_root = !unit.user
        && !ctx.dynamic_user
        && ctx
            .user
            .as_deref()
            .is_none_or(|u| u.is_empty() || u == "root" || u == "0");
    if runs_as_root {
        // A unit the distribution ships is its maintainers' call; one the
        // admin installed (the agent, the self-written daemon) is ours to fix.
        let vendor = ["/lib/systemd/system", "/usr/lib/systemd/system"]
            .iter()
            .any(|d| unit.fragment.starts_with(d))
            || needs_root(unit);
        let severity = if vendor {
            Severity::Medium
        } else {
            Severity::High
        };
        out.push(
            Finding::new(
                "svcacct/runs-as-root",
                severity,
                format!("{} runs as root", unit.name),
                "Without User= (or with User=root) the service has every privilege; a bug or a prompt injection in it is a root compromise.",
            )
            .at(at(user_line))
            .fix(if needs_root(unit) {
                "its job needs root (containers, networking, other users' processes): keep it as root and sandbox it with a drop-in (systemctl edit NAME: ProtectHome=, PrivateTmp=, ProtectKernelModules=, and a CapabilityBoundingSet= of what it uses) rather than a new account"
            } else if vendor {
                "its package runs it as root: sandbox it with a drop-in (systemctl edit NAME: ProtectSystem=, ProtectHome=, PrivateTmp=, CapabilityBoundingSet=) rather than a new account"
            } else {
                "svcacct apply NAME --exec CMD (a system user of its own), or User=/DynamicUser=yes"
            })
            .evidence("unit", &unit.name)
            .evidence("user", ctx.user.as_deref().unwrap_or("")),
        );
    }

    if runs_as_root {
        out.extend(root_code_writable(unit, accounts, root));
    }
    // A User= that names no account: systemd loads the unit and fails to
    // start it (status 217/USER). A numeric ID needs no entry.
    if let Some(name) = ctx.user.as_deref().filter(|u| {
        !unit.user
            && !ctx.dynamic_user
            && !u.is_empty()
            && u.parse::<u32>().is_err()
            && accounts.user(u).is_none()
    }) {
        out.push(
            Finding::new(
                "svcacct/user-missing",
                Severity::Medium,
                format!("{} runs as {name}, which does not exist", unit.name),
                format!("User={name} names no account in /etc/passwd: systemd loads {} but every start fails (status 217/USER), so the service does not run.", unit.name),
            )
            .at(at(user_line))
            .fix(if name.contains(['$', '(', ')', '`']) {
                "systemd does not run shell code in User=: name the account itself (User=agent), or make one with svcacct apply NAME --exec CMD".to_string()
            } else {
                format!("create the account (svcacct apply {name} --exec CMD makes a locked system account), or name an existing one")
            })
            .evidence("unit", &unit.name)
            .evidence("user", name),
        );
    }
    out.extend(environment_secrets(unit));
    out.extend(crate::agent::egress_finding(unit, &ctx));
    if !runs_as_root {
        let uid = ctx.user.as_deref().and_then(|u| {
            u.parse::<u32>()
                .ok()
                .or_else(|| accounts.user(u).map(|a| a.uid))
        });
        out.extend(crate::agent::unaudited_finding(unit, &ctx, root, uid));
    }

    let account = if ctx.dynamic_user || unit.user {
        // A user unit's account is a person's (or whoever enables it):
        // what that account may do is not the unit's to decide.
        None
    } else if runs_as_root {
        // A service that runs as root while an account of its own name
        // exists: that account is the one it is meant to use (and that its
        // operators use), so what it may do matters just as much.
        crate::unit_file::split_name(&unit.name)
            .and_then(|(prefix, _, _)| accounts.user(prefix))
            .filter(|u| u.uid != 0)
    } else {
        ctx.user.as_deref().and_then(|u| {
            u.parse::<u32>()
                .ok()
                .and_then(|uid| accounts.user_by_uid(uid))
                .or_else(|| accounts.user(u))
        })
    };
    if let Some(user) = account {
        out.extend(account_findings(unit, user, accounts, root));
        let mut groups = accounts.groups_of(user);
        for g in &ctx.supplementary_groups {
            if !groups.contains(g) {
                groups.push(g.clone());
            }
        }
        for (group, severity, why) in PRIVILEGED_GROUPS {
            if groups.iter().any(|g| g == group) {
                out.push(
                    Finding::new(
                        format!("svcacct/group-{group}"),
                        *severity,
                        format!("{} is in the {group} group", user.name),
                        format!(
                            "The service account of {} is in '{group}': {why}.",
                            unit.name
                        ),
                    )
                    .at(Location::new("/etc/group", None))
                    .fix(format!("gpasswd -d {} {group}", user.name))
                    .evidence("user", &user.name)
                    .evidence("group", group),
                );
            }
        }
        for grant in sudoers.granted_to(user, accounts) {
            let Some(danger) = judge(&grant.command) else {
                continue;
            };
            let (id, severity, what) = match danger {
                Danger::All => ("sudo-all", Severity::Critical, "ALL commands"),
                Danger::Shell => ("sudo-shell", Severity::Critical, "a shell or interpreter"),
                Danger::Editor => ("sudo-editor", Severity::Critical, "an editor, pager or file copier (shell escapes, any file as root)"),
                Danger::Wildcard => ("sudo-wildcard", Severity::High, "a command with a wildcard argument (it matches any arguments, options included)"),
                Danger::AnyArguments => ("sudo-any-args", Severity::High, "a command without an argument list (it accepts any arguments)"),
            };
            out.push(
                Finding::new(
                    format!("svcacct/{id}"),
                    severity,
                    format!("sudo grants {} {what}", user.name),
                    format!(
                        "A sudoers rule lets the account of {} run `{}` as another user{}; that is a path to root.",
                        unit.name,
                        grant.command,
                        if grant.nopasswd { " without a password" } else { "" }
                    ),
                )
                .at(Location::new(grant.path.clone(), Some(grant.line)))
                .fix(format!("allow only the exact command, e.g. `{} ALL=(root) NOPASSWD: /usr/bin/systemctl restart {}`", user.name, unit.name))
                .evidence("user", &user.name)
                .evidence("command", &grant.command)
                .evidence("nopasswd", grant.nopasswd),
            );
        }
        out.extend(self_rewrite(unit, user, accounts, root, runs_as_root));
    }
    out.extend(world_writable_paths(unit, root, runs_as_root));
    out
}

/// Services whose job needs root (containers, cluster agents, VPN
/// daemons, a spawner that starts other users' servers): a new account
/// would break them, so the advice is a sandboxing drop-in, as for the
/// distribution's own units.
const NEEDS_ROOT: &[&str] = &[
    "docker",
    "containerd",
    "podman",
    "k3s",
    "k3s-agent",
    "k0scontroller",
    "k0sworker",
    "kubelet",
    "tailscaled",
    "wg-quick@",
    "netbird",
    "zerotier-one",
    "jupyterhub",
    "libvirtd",
    "nvidia-persistenced",
];

fn needs_root(unit: &Unit) -> bool {
    let stem = unit.name.trim_end_matches(".service");
    let base = match stem.split_once('@') {
        Some((prefix, _)) => format!("{prefix}@"),
        None => stem.to_string(),
    };
    NEEDS_ROOT.contains(&base.as_str())
}

fn last<'a>(unit: &'a Unit, key: &str) -> Option<&'a Assignment> {
    unit.assignments
        .iter()
        .rev()
        .find(|a| a.section == "Service" && a.key == key)
}

fn account_findings(
    unit: &Unit,
    user: &PasswdEntry,
    accounts: &Accounts,
    root: &Root,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if !is_nologin_shell(&user.shell) {
        out.push(
            Finding::new(
                "svcacct/login-shell",
                Severity::High,
                format!("{} has a login shell", user.name),
                format!("The account of {} has the shell {}; a service account needs none, and with one a leaked key or password is an interactive login.", unit.name, user.shell),
            )
            .at(Location::new("/etc/passwd", Some(user.line)))
            .fix(format!("usermod --shell /usr/sbin/nologin {}", user.name))
            .evidence("user", &user.name)
            .evidence("shell", &user.shell),
        );
    }
    if let Some(shadow) = accounts.shadow_of(&user.name) {
        let state = shadow.state();
        if state != PasswordState::Locked {
            let (severity, what) = match state {
                PasswordState::Empty => (Severity::Critical, "an empty password"),
                _ => (Severity::High, "a usable password"),
            };
            out.push(
                Finding::new(
                    "svcacct/password",
                    severity,
                    format!("{} has {what}", user.name),
                    format!("The account of {} can log in with {what}; a service account's password should be locked.", unit.name),
                )
                .at(Location::new("/etc/shadow", Some(shadow.line)))
                .fix(format!("usermod --lock {}", user.name))
                .evidence("user", &user.name),
            );
        }
    }
    let keys = Path::new(&user.home).join(".ssh/authorized_keys");
    if user.home.starts_with('/') {
        if let Ok(host) = root.resolve(&keys) {
            if fs::metadata(&host).is_ok_and(|m| m.is_file() && m.len() > 0) {
                out.push(
                    Finding::new(
                        "svcacct/authorized-keys",
                        Severity::High,
                        format!("{} accepts SSH keys", user.name),
                        format!("{} exists: whoever holds one of those keys logs in as the account of {}.", keys.display(), unit.name),
                    )
                    .at(Location::new(keys.clone(), None))
                    .fix(format!("rm {}", keys.display()))
                    .evidence("user", &user.name),
                );
            }
        }
    }
    out
}

/// Can `user` write to the file or directory at `host`? Owning it is
/// enough: the owner may chmod it whatever its mode.
fn writable_by(meta: &fs::Metadata, user: &PasswdEntry, gids: &[u32]) -> bool {
    let mode = meta.mode();
    meta.uid() == user.uid
        || (gids.contains(&meta.gid()) && mode & 0o020 != 0)
        || (mode & 0o002 != 0 && mode & 0o1000 == 0)
}

/// The program of the first ExecStart= line, without systemd's prefixes.
pub fn exec_program(unit: &Unit) -> Option<(PathBuf, &Assignment)> {
    let a = unit
        .assignments
        .iter()
        .find(|a| a.section == "Service" && a.key == "ExecStart" && !a.value.is_empty())?;
    let first = words(&a.value).into_iter().next()?;
    let program = first.trim_start_matches(['@', '-', ':', '+', '!']);
    program
        .starts_with('/')
        .then(|| (PathBuf::from(program), a))
}

/// What `user` may rewrite of the service: its program (and the
/// directories above it) and its unit files. `runs_as_root`: the unit has
/// no User= and `user` is only the account named after it; the program is
/// then judged by [`root_code_writable`], and a unit file that account can
/// rewrite lets it make root run anything (critical).
fn self_rewrite(
    unit: &Unit,
    user: &PasswdEntry,
    accounts: &Accounts,
    root: &Root,
    runs_as_root: bool,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if runs_as_root {
        unit_writable(unit, user, accounts, true, &mut out);
        return out;
    }
    let Some((program, line)) = exec_program(unit) else {
        unit_writable(unit, user, accounts, false, &mut out);
        return out;
    };
    let gids: Vec<u32> = accounts
        .groups_of(user)
        .iter()
        .filter_map(|g| accounts.group_named(g).map(|g| g.gid))
        .collect();
    // The program, and every directory above it: whoever can write (or
    // rename entries in) one of them can replace what runs.
    let mut paths = vec![("program", program.clone())];
    let mut dir = program.parent();
    while let Some(d) = dir {
        paths.push(("program's directory", d.to_path_buf()));
        dir = d.parent();
    }
    for (what, path) in paths {
        let Ok(host) = root.resolve(&path) else {
            continue;
        };
        let Ok(meta) = fs::metadata(&host) else {
            continue;
        };
        if writable_by(&meta, user, &gids) {
            out.push(
                Finding::new(
                    "svcacct/exec-writable",
                    Severity::High,
                    format!("{} can rewrite its own {what}", user.name),
                    format!("{} ({}) is writable by {}, the account the service runs as: the service can replace the code it runs, and keep any change an attacker makes.", path.display(), what, user.name),
                )
                .at(Location::new(line.path.clone(), Some(line.line)))
                .fix(format!("chown root:root {p} && chmod go-w {p}", p = path.display()))
                .evidence("path", path.display().to_string())
                .evidence("mode", format!("{:04o}", meta.mode() & 0o7777))
                .evidence("owner_uid", meta.uid()),
            );
        }
    }
    unit_writable(unit, user, accounts, false, &mut out);
    out
}

/// The unit and its drop-ins, writable by `user`: they are the sandbox
/// itself, and say which account runs the service.
fn unit_writable(
    unit: &Unit,
    user: &PasswdEntry,
    accounts: &Accounts,
    runs_as_root: bool,
    out: &mut Vec<Finding>,
) {
    let gids: Vec<u32> = accounts
        .groups_of(user)
        .iter()
        .filter_map(|g| accounts.group_named(g).map(|g| g.gid))
        .collect();
    let shown = std::iter::once(&unit.fragment).chain(unit.dropins.iter());
    for (host, file) in unit.files_read.iter().zip(shown) {
        let Ok(meta) = fs::metadata(host) else {
            continue;
        };
        if writable_by(&meta, user, &gids) {
            let (severity, title, detail) = if runs_as_root {
                (
                    Severity::Critical,
                    format!("{} can rewrite the unit of {}, which runs as root", user.name, unit.name),
                    format!("{} is writable by {}, though {} runs as root (it has no User=): {} can make root run anything at the next restart.", file.display(), user.name, unit.name, user.name),
                )
            } else {
                (
                    Severity::High,
                    format!("{} can rewrite its own unit", user.name),
                    format!("{} is writable by {}, the account {} runs as: it can lift its own sandbox (or set User=root) at the next restart.", file.display(), user.name, unit.name),
                )
            };
            out.push(
                Finding::new("svcacct/unit-writable", severity, title, detail)
                    .at(Location::new(file.clone(), None))
                    .fix(format!(
                        "chown root:root {p} && chmod 0644 {p}",
                        p = file.display()
                    ))
                    .evidence("path", file.display().to_string())
                    .evidence(
                        "runs_as",
                        if runs_as_root {
                            "root"
                        } else {
                            user.name.as_str()
                        },
                    ),
            );
        }
    }
}

/// Interpreters whose first operand is the code they run.
const INTERPRETERS: &[&str] = &[
    "python", "python2", "python3", "node", "nodejs", "bash", "sh", "dash", "zsh", "perl", "ruby",
    "php", "deno", "bun", "java", "uv", "uvx",
];

/// The code one Exec line runs: its program, and for an interpreter the
/// script it is given (`python3 /home/agent/app/loop.py`, `java -jar X`,
/// `uv run X`, `bash script.sh`; a relative script is taken from
/// WorkingDirectory=). `python3 -m module` and `-c` code name no file.
fn code_of_exec(value: &str, workdir: Option<&str>) -> Vec<PathBuf> {
    let w = words(value);
    let mut it = w.iter().map(|s| s.as_str());
    let Some(first) = it.next() else {
        return Vec::new();
    };
    let program = first.trim_start_matches(['@', '-', ':', '+', '!']);
    if !program.starts_with('/') {
        return Vec::new();
    }
    let mut out = vec![PathBuf::from(program)];
    let base = Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let family = base.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if !INTERPRETERS.contains(&base.as_str()) && !INTERPRETERS.contains(&family) {
        return out;
    }
    let rest: Vec<&str> = it.collect();
    let script = match family {
        "java" => rest.windows(2).find(|p| p[0] == "-jar").map(|p| p[1]),
        "uv" | "uvx" => {
            let after_run = rest.iter().position(|a| *a == "run").map_or(0, |i| i + 1);
            rest[after_run.min(rest.len())..]
                .iter()
                .copied()
                .find(|a| !a.starts_with('-'))
        }
        _ => {
            if rest.iter().any(|a| *a == "-m" || *a == "-c" || *a == "-e") {
                None
            } else {
                rest.iter().copied().find(|a| !a.starts_with('-'))
            }
        }
    };
    if let Some(s) = script {
        let path = Path::new(s);
        if path.is_absolute() {
            out.push(path.to_path_buf());
        } else if let Some(dir) = workdir
            .map(|d| d.trim_start_matches(['-', '~']))
            .filter(|d| d.starts_with('/'))
        {
            out.push(Path::new(dir).join(path));
        }
    }
    out
}

/// What a root service runs, judged whole: every Exec line's program and,
/// for an interpreter, its script, with every directory above them. One
/// another account can write (or own: the owner may chmod) lets that
/// account run its code as root at the next start; world-writable is
/// critical.
fn root_code_writable(unit: &Unit, accounts: &Accounts, root: &Root) -> Vec<Finding> {
    const EXEC: &[&str] = &[
        "ExecStartPre",
        "ExecStart",
        "ExecStartPost",
        "ExecReload",
        "ExecStop",
        "ExecStopPost",
        "ExecCondition",
    ];
    let workdir = last(unit, "WorkingDirectory").map(|a| a.value.clone());
    // SAFETY: geteuid has no preconditions.
    let caller = unsafe { libc::geteuid() };
    let mut out = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for a in unit
        .assignments
        .iter()
        .filter(|a| a.section == "Service" && EXEC.contains(&a.key.as_str()))
    {
        for code in code_of_exec(&a.value, workdir.as_deref()) {
            let mut path = Some(code.as_path());
            while let Some(p) = path {
                path = p.parent();
                if seen.iter().any(|s| s == p) {
                    continue;
                }
                seen.push(p.to_path_buf());
                let Ok(host) = root.resolve(p) else {
                    continue;
                };
                let Ok(meta) = fs::metadata(&host) else {
                    continue;
                };
                let mode = meta.mode();
                let sticky_dir = meta.is_dir() && mode & 0o1000 != 0;
                let world = mode & 0o002 != 0 && !sticky_dir;
                // In a tree (an image, a checkout's example), the owner of
                // the files is whoever unpacked it: the caller's own files
                // and the tree's top say nothing about the system it holds.
                let unpacked = !root.is_host() && (p == Path::new("/") || meta.uid() == caller);
                let group = mode & 0o020 != 0 && meta.gid() != 0 && !sticky_dir && !unpacked;
                let owner = meta.uid() != 0 && !unpacked;
                if !(world || group || owner) {
                    continue;
                }
                let who = if world {
                    "every account on the system".to_string()
                } else if owner {
                    let name = accounts
                        .user_by_uid(meta.uid())
                        .map_or_else(|| format!("uid {}", meta.uid()), |u| u.name.clone());
                    format!("{name}, who owns it")
                } else {
                    let name = accounts
                        .group_by_gid(meta.gid())
                        .map_or_else(|| format!("gid {}", meta.gid()), |g| g.name.clone());
                    format!("the members of group {name}")
                };
                let what = if p == code.as_path() {
                    "the code"
                } else {
                    "a directory above the code"
                };
                out.push(
                    Finding::new(
                        "svcacct/root-code-writable",
                        if world { Severity::Critical } else { Severity::High },
                        format!("{} runs {} as root, and {} can change it", unit.name, code.display(), who),
                        format!(
                            "{} ({what} of {}={}) can be written by {who}: whatever they put there runs as root at the next start of {}.",
                            p.display(),
                            a.key,
                            a.value.trim(),
                            unit.name
                        ),
                    )
                    .at(Location::new(a.path.clone(), Some(a.line)))
                    .fix(format!(
                        "chown root:root {} && chmod go-w {} (and the same for every directory above it), or run the service as its own account (svcacct apply)",
                        p.display(),
                        p.display()
                    ))
                    .evidence("path", p.display().to_string())
                    .evidence("mode", format!("{:04o}", mode & 0o7777))
                    .evidence("owner", meta.uid()),
                );
            }
        }
    }
    out
}

/// Directories the service runs from or works in that every user can
/// write. For a service that runs as root any local user becoming root is
/// at stake: critical (high when the sticky bit keeps users to their own
/// files); otherwise medium.
fn world_writable_paths(unit: &Unit, root: &Root, runs_as_root: bool) -> Vec<Finding> {
    let mut paths: Vec<(PathBuf, &Assignment)> = Vec::new();
    if let Some((program, a)) = exec_program(unit) {
        if let Some(dir) = program.parent() {
            paths.push((dir.to_path_buf(), a));
        }
    }
    for a in unit.assignments.iter().filter(|a| a.section == "Service") {
        match a.key.as_str() {
            "WorkingDirectory" | "ReadWritePaths" | "ReadWriteDirectories" | "EnvironmentFile" => {
                for w in words(&a.value) {
                    let p = w.trim_start_matches(['-', '+', '~']);
                    if !p.starts_with('/') {
                        continue;
                    }
                    let path = if a.key == "EnvironmentFile" {
                        Path::new(p)
                            .parent()
                            .unwrap_or(Path::new("/"))
                            .to_path_buf()
                    } else {
                        PathBuf::from(p)
                    };
                    paths.push((path, a));
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for (path, a) in paths {
        if seen.contains(&path) {
            continue;
        }
        seen.push(path.clone());
        let Ok(host) = root.resolve(&path) else {
            continue;
        };
        let Ok(meta) = fs::metadata(&host) else {
            continue;
        };
        if meta.is_dir() && meta.mode() & 0o002 != 0 {
            let sticky = meta.mode() & 0o1000 != 0;
            let severity = match (runs_as_root, sticky) {
                (true, false) => Severity::Critical,
                (true, true) => Severity::High,
                _ => Severity::Medium,
            };
            out.push(
                Finding::new(
                    "svcacct/world-writable-dir",
                    severity,
                    format!("{} uses a world-writable directory", unit.name),
                    format!(
                        "{} is writable by every user{}: anyone on the system can plant files the service will read or run{}.",
                        path.display(),
                        if sticky { " (sticky)" } else { "" },
                        if runs_as_root { ", and it runs as root" } else { "" }
                    ),
                )
                .at(Location::new(a.path.clone(), Some(a.line)))
                .fix(format!("chmod o-w {}", path.display()))
                .evidence("path", path.display().to_string())
                .evidence("mode", format!("{:04o}", meta.mode() & 0o7777)),
            );
        }
    }
    out
}

/// Environment variable names that usually carry a secret.
fn looks_secret(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    if k.ends_with("_FILE") || k.ends_with("_PATH") || k.ends_with("_DIR") {
        return false;
    }
    [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "CREDENTIAL",
    ]
    .iter()
    .any(|s| k.contains(s))
}

fn environment_secrets(unit: &Unit) -> Vec<Finding> {
    let mut out = Vec::new();
    for a in unit
        .assignments
        .iter()
        .filter(|a| a.section == "Service" && a.key == "Environment")
    {
        for w in words(&a.value) {
            let Some((key, value)) = w.split_once('=') else {
                continue;
            };
            if value.is_empty() || !looks_secret(key) {
                continue;
            }
            out.push(
                Finding::new(
                    "svcacct/secret-in-environment",
                    Severity::High,
                    format!("{} keeps {key} in its unit file", unit.name),
                    "Environment= values are readable by every local user (systemctl show, /etc/systemd/system is world-readable) and end up in logs and backups; keep secrets in a root-only file.",
                )
                .at(Location::new(a.path.clone(), Some(a.line)))
                .fix(format!("move {key} to a 0600 root:root file read with EnvironmentFile= or LoadCredential= (svcacct apply --env-file)"))
                .evidence("variable", key)
                .evidence("unit", &unit.name),
            );
        }
    }
    out
}

/// Files in sudoers include directories that sudo skips because of their names.
pub fn ignored_sudoers_files(sudoers: &Sudoers) -> Vec<Finding> {
    sudoers
        .ignored
        .iter()
        .filter(|f| f.has_rules)
        // hardkit's own backups are meant to be inert; renaming one back
        // would revive what `svcacct apply` replaced.
        .filter(|f| !f.path.to_string_lossy().ends_with(hardkit_core::atomic::BACKUP_SUFFIX))
        .map(|f| {
            let name = f.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let fixed: String = name.trim_end_matches('~').replace('.', "_");
            Finding::new(
                "svcacct/sudoers-ignored-file",
                Severity::Medium,
                format!("sudo ignores {}", f.path.display()),
                "sudo's @includedir skips files whose names contain a dot or end in ~, so the rules in this file are silently not in effect (and an admin may believe they are).",
            )
            .at(Location::new(f.path.clone(), None))
            .fix(format!(
                "delete it, or if its rules are wanted, check them (visudo -c -f) and rename it without the dot: {}",
                f.path.with_file_name(fixed).display()
            ))
            .evidence("path", f.path.display().to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        assert!(looks_secret("OPENAI_API_KEY"));
        assert!(looks_secret("db_password"));
        assert!(looks_secret("GITHUB_TOKEN"));
        assert!(!looks_secret("TOKEN_FILE"));
        assert!(!looks_secret("LANG"));
    }
}
