//! `fwplan netns-load` (hidden): the child that loads a root tree's boot
//! firewall. It first moves itself into a new network namespace
//! (`unshare(CLONE_NEWNET)`, with a user namespace when not root), checks
//! that it is no longer in its caller's, and only then runs nft or
//! iptables-nft-restore; the namespace dies with it. It prints one
//! [`NetnsReport`] as JSON for [`crate::boot_firewall`].

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

/// One file a boot service loads, in the order it loads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loader {
    /// `nft -f FILE`
    Nft,
    /// `iptables-nft-restore < FILE`
    Iptables,
    /// `ip6tables-nft-restore < FILE`
    Ip6tables,
}

impl Loader {
    pub fn program(self) -> &'static str {
        match self {
            Loader::Nft => "nft",
            Loader::Iptables => "iptables-nft-restore",
            Loader::Ip6tables => "ip6tables-nft-restore",
        }
    }
}

/// What `fwplan netns-load` prints: per file, whether it loaded and what the
/// program said; then the resulting ruleset as `nft -j list ruleset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetnsReport {
    /// Set when no private namespace could be made: nothing was loaded.
    #[serde(default)]
    pub unavailable: Option<String>,
    #[serde(default)]
    pub loads: Vec<LoadResult>,
    #[serde(default)]
    pub ruleset: Option<String>,
    /// Why listing the ruleset failed, when it did.
    #[serde(default)]
    pub list_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadResult {
    pub loader: Loader,
    pub file: PathBuf,
    pub ok: bool,
    pub message: String,
    /// Interfaces the file names with `iif`/`oif` (which need them to exist
    /// at load time), created as dummies in the namespace so it could load.
    #[serde(default)]
    pub made_interfaces: Vec<String>,
}

impl LoadResult {
    fn new(loader: Loader, file: &Path, ok: bool, message: String) -> LoadResult {
        LoadResult {
            loader,
            file: file.to_path_buf(),
            ok,
            message,
            made_interfaces: Vec::new(),
        }
    }
}

/// `net:[4026531840]`: the namespace this process is in.
pub fn current_netns() -> Option<String> {
    fs::read_link("/proc/self/ns/net")
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// The body of `fwplan netns-load`: move into a new network namespace (and
/// a user namespace when not root), load each file, list the ruleset.
/// Nothing runs unless the move succeeded and the namespace differs from
/// `host_netns`.
pub fn netns_load(host_netns: Option<&str>, files: &[(Loader, PathBuf)]) -> NetnsReport {
    let mut report = NetnsReport {
        unavailable: None,
        loads: Vec::new(),
        ruleset: None,
        list_error: None,
    };
    if let Err(e) = enter_private_netns() {
        report.unavailable = Some(e);
        return report;
    }
    let now = current_netns();
    if now.is_none() || now.as_deref() == host_netns {
        report.unavailable = Some("could not confirm a private network namespace".into());
        return report;
    }
    for (loader, file) in files {
        let Some(program) = hardkit_core::program::find_program(loader.program()) else {
            report.loads.push(LoadResult::new(
                *loader,
                file,
                false,
                format!("{} is not installed", loader.program()),
            ));
            continue;
        };
        if *loader == Loader::Nft {
            report.loads.push(load_nft(&program, file));
            continue;
        }
        let mut cmd = Command::new(program);
        match loader {
            Loader::Nft => {}
            Loader::Iptables | Loader::Ip6tables => match fs::File::open(file) {
                Ok(f) => {
                    cmd.stdin(f);
                }
                Err(e) => {
                    report.loads.push(LoadResult::new(
                        *loader,
                        file,
                        false,
                        format!("{}: {e}", file.display()),
                    ));
                    continue;
                }
            },
        }
        let (ok, message) = match cmd.output() {
            Ok(out) => (
                out.status.success(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ),
            Err(e) => (false, format!("running {}: {e}", loader.program())),
        };
        report
            .loads
            .push(LoadResult::new(*loader, file, ok, message));
    }
    match hardkit_core::program::find_program("nft") {
        None => report.list_error = Some("nft is not installed".into()),
        Some(nft) => match Command::new(nft)
            .args(["-j", "list", "ruleset"])
            .stdin(Stdio::null())
            .output()
        {
            Ok(out) if out.status.success() => {
                report.ruleset = Some(String::from_utf8_lossy(&out.stdout).into_owned())
            }
            Ok(out) => report.list_error = Some(String::from_utf8_lossy(&out.stderr).into_owned()),
            Err(e) => report.list_error = Some(e.to_string()),
        },
    }
    report
}

/// `nft -f FILE` in the namespace. A fresh namespace has only `lo`, and
/// `iif`/`oif` resolve interface names to indexes at load time: each name
/// nft reports missing is created as a dummy interface and the load tried
/// again, so the rest of the file is still judged.
fn load_nft(nft: &Path, file: &Path) -> LoadResult {
    let mut made: Vec<String> = Vec::new();
    loop {
        let (ok, message) = match Command::new(nft)
            .arg("-f")
            .arg(file)
            .stdin(Stdio::null())
            .output()
        {
            Ok(out) => (
                out.status.success(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ),
            Err(e) => (false, format!("running nft: {e}")),
        };
        let missing: Vec<String> = missing_interfaces(&message)
            .into_iter()
            .filter(|n| !made.contains(n))
            .collect();
        if ok || missing.is_empty() || made.len() >= 64 {
            return LoadResult {
                made_interfaces: made,
                ..LoadResult::new(Loader::Nft, file, ok, message)
            };
        }
        for name in missing {
            let created = make_interface(&name, made.len());
            if !created {
                return LoadResult {
                    made_interfaces: made,
                    ..LoadResult::new(Loader::Nft, file, ok, message)
                };
            }
            made.push(name);
        }
    }
}

/// Create interface `name` in the current namespace: a dummy, or where the
/// kernel has no dummy driver, one end of a veth pair (the peer, `hkpeerN`,
/// is a name no configuration asks for).
fn make_interface(name: &str, n: usize) -> bool {
    let Some(ip) = hardkit_core::program::find_program("ip") else {
        return false;
    };
    let peer = format!("hkpeer{n}");
    [
        vec!["link", "add", name, "type", "dummy"],
        vec!["link", "add", name, "type", "veth", "peer", "name", &peer],
    ]
    .iter()
    .any(|args| {
        Command::new(&ip)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The names in nft's "Interface does not exist" errors: the columns the
/// error line gives, cut from the source line nft prints under it.
fn missing_interfaces(message: &str) -> Vec<String> {
    let lines: Vec<&str> = message.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !line.ends_with("Error: Interface does not exist") {
            continue;
        }
        let Some(head) = line.strip_suffix(": Error: Interface does not exist") else {
            continue;
        };
        // FILE:LINE:FIRST-LAST, columns 1-based and inclusive.
        let Some(cols) = head.rsplit(':').next() else {
            continue;
        };
        let Some((first, last)) = cols.split_once('-') else {
            continue;
        };
        let (Ok(first), Ok(last)) = (first.parse::<usize>(), last.parse::<usize>()) else {
            continue;
        };
        let Some(name) = lines
            .get(i + 1)
            .and_then(|src| src.get(first.saturating_sub(1)..last))
        else {
            continue;
        };
        let name = name.trim_matches('"');
        let valid = !name.is_empty()
            && name.len() < 16
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-@".contains(&b));
        if valid && !out.iter().any(|n: &String| n == name) {
            out.push(name.to_string());
        }
    }
    out
}

/// unshare(2) this process into a new network namespace. Not root: a new
/// user namespace too, mapping this user to root in it (as `unshare
/// --map-root-user`), which is what lets nft configure that namespace.
fn enter_private_netns() -> Result<(), String> {
    // SAFETY: geteuid/getegid have no preconditions.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let flags = if uid == 0 {
        libc::CLONE_NEWNET
    } else {
        libc::CLONE_NEWUSER | libc::CLONE_NEWNET
    };
    // SAFETY: unshare only changes this process's namespaces; the caller is
    // single-threaded (a user namespace requires it, and the kernel checks).
    if unsafe { libc::unshare(flags) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!(
            "no private network namespace (unshare{}: {e})",
            if uid == 0 {
                ""
            } else {
                " with a user namespace, not being root"
            }
        ));
    }
    if uid != 0 {
        for (file, text) in [
            ("/proc/self/setgroups", "deny".to_string()),
            ("/proc/self/uid_map", format!("0 {uid} 1")),
            ("/proc/self/gid_map", format!("0 {gid} 1")),
        ] {
            fs::write(file, text)
                .map_err(|e| format!("no private network namespace (writing {file}: {e})"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_interface_names_come_from_the_columns_nft_marks() {
        let msg = "/tmp/a/0.nft:4:7-12: Error: Interface does not exist\n  iif \"eth7\" accept\n      ^^^^^^\n/tmp/a/0.nft:5:7-10: Error: Interface does not exist\n  oif wan0 drop\n      ^^^^\n/tmp/a/0.nft:6:7-10: Error: Interface does not exist\n  oif wan0 drop\n      ^^^^\n";
        assert_eq!(missing_interfaces(msg), ["eth7", "wan0"]);
        let odd =
            "/tmp/a/0.nft:4:7-30: Error: Interface does not exist\n  iif \"a b;rm -rf\" accept\n";
        assert!(missing_interfaces(odd).is_empty());
    }
}
