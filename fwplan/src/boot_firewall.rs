//! The firewall a root tree (a mounted image, a test tree) would have after
//! boot, found by loading its configuration with the real programs inside a
//! network namespace of its own, never this machine's.
//!
//! What loads at boot on Debian:
//! - `nftables.service` runs `nft -f /etc/nftables.conf`; it is started at
//!   boot when `systemctl enable` made the symlink its `[Install]` section
//!   asks for (`WantedBy=sysinit.target`; any `*.wants`/`*.requires`
//!   directory is accepted here, for units edited to another target), and
//!   not when the unit is masked (`/etc/systemd/system/nftables.service` ->
//!   `/dev/null`);
//! - `netfilter-persistent.service` (iptables-persistent, `WantedBy=
//!   multi-user.target`) runs `iptables-restore < /etc/iptables/rules.v4`
//!   and `ip6tables-restore < /etc/iptables/rules.v6`. Debian 12's
//!   iptables is nft-backed, so `nft -j list ruleset` shows those rules too;
//!   they are loaded here with `iptables-nft-restore`, after the nft file.
//!
//! The loading runs in a child, `fwplan netns-load` ([`crate::netns_load`]),
//! in a network namespace of its own that dies with it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use hardkit_core::{Finding, Location, Root, Severity};

use crate::audit::{parse_nft_json, LiveFirewall};
use crate::netns_load::{current_netns, Loader, NetnsReport};
use crate::nft_include::{self, Prepared};

const NFT_CONF: &str = "/etc/nftables.conf";
const NFT_UNIT: &str = "nftables.service";
const RULES_V4: &str = "/etc/iptables/rules.v4";
const RULES_V6: &str = "/etc/iptables/rules.v6";
const PERSISTENT_UNIT: &str = "netfilter-persistent.service";

/// The tree's boot firewall and what is wrong with how it gets there.
#[derive(Debug, Default)]
pub struct BootFirewall {
    pub live: LiveFirewall,
    pub findings: Vec<Finding>,
}

/// Whether systemd in the tree starts `unit` at boot (hardkit-core's
/// reading, the same jailgen uses).
pub fn unit_enabled(root: &Root, unit: &str) -> bool {
    hardkit_core::host::unit_enabled(root, unit)
}

fn is_file(root: &Root, system: &str) -> bool {
    root.resolve(system)
        .ok()
        .and_then(|p| fs::metadata(p).ok())
        .is_some_and(|m| m.is_file())
}

/// A file ready for the namespace child: the nft copy with includes
/// resolved in the tree, or the tree's iptables file itself.
struct Staged {
    loader: Loader,
    system: PathBuf,
    host: PathBuf,
    prepared: Option<Prepared>,
}

/// Why one boot configuration cannot be loaded before nft even runs.
struct Refused {
    loader: Loader,
    location: Location,
    message: String,
}

fn stage(root: &Root, loader: Loader, system: &str) -> Result<Staged, Refused> {
    if loader == Loader::Nft {
        return match nft_include::prepare(root, Path::new(system)) {
            Ok(prepared) => Ok(Staged {
                loader,
                system: system.into(),
                host: prepared.main().to_path_buf(),
                prepared: Some(prepared),
            }),
            Err(e) => Err(Refused {
                loader,
                location: Location::new(e.path, e.line),
                message: e.message,
            }),
        };
    }
    match root.resolve(system) {
        Ok(host) => Ok(Staged {
            loader,
            system: system.into(),
            host,
            prepared: None,
        }),
        Err(e) => Err(Refused {
            loader,
            location: Location::new(PathBuf::from(system), None),
            message: e.to_string(),
        }),
    }
}

/// The service that loads a file at boot, for messages.
fn service_of(loader: Loader) -> &'static str {
    match loader {
        Loader::Nft => NFT_UNIT,
        Loader::Iptables | Loader::Ip6tables => PERSISTENT_UNIT,
    }
}

fn enable_fix(root: &Root, loader: Loader) -> String {
    let unit = service_of(loader).trim_end_matches(".service");
    if root.is_host() {
        format!("systemctl enable {unit}")
    } else {
        format!("systemctl --root {} enable {unit}", root.dir().display())
    }
}

/// Where a loader's message says the error is, when it says.
fn message_location(staged: &Staged, message: &str) -> Location {
    if let Some((path, line)) = staged
        .prepared
        .as_ref()
        .and_then(|p| p.first_location(message))
    {
        return Location::new(path, Some(line));
    }
    // iptables-restore: "Error occurred at line: 5".
    let line = message.lines().find_map(|l| {
        l.trim()
            .strip_prefix("Error occurred at line:")
            .and_then(|n| n.trim().parse().ok())
    });
    Location::new(staged.system.clone(), line)
}

/// Run the namespace child on the staged files.
fn load_in_private_netns(helper: &Path, staged: &[Staged]) -> Result<NetnsReport, String> {
    let mut cmd = Command::new(helper);
    cmd.arg("netns-load");
    if let Some(id) = current_netns() {
        cmd.args(["--host-netns", &id]);
    }
    for s in staged {
        cmd.arg(format!(
            "--{}",
            match s.loader {
                Loader::Nft => "nft",
                Loader::Iptables => "iptables",
                Loader::Ip6tables => "ip6tables",
            }
        ));
        cmd.arg(&s.host);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {} netns-load: {e}", helper.display()))?;
    let mut report: NetnsReport = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "{} netns-load: {e}: {}",
            helper.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })?;
    for (result, s) in report.loads.iter_mut().zip(staged) {
        result.file = s.system.clone();
        if let Some(p) = &s.prepared {
            result.message = p.map_message(&result.message);
        } else {
            result.message = result
                .message
                .replace(&*s.host.to_string_lossy(), &s.system.to_string_lossy());
        }
    }
    Ok(report)
}

fn unchecked(reason: &str) -> Finding {
    Finding::new(
        "fwplan/boot-ruleset-unchecked",
        Severity::Info,
        "The firewall this tree loads at boot was not checked",
        format!("{reason}. The audit judges the tree without it, which may be wrong."),
    )
    .fix("run the audit as root, or where user namespaces are allowed, with nft installed; or pass --ruleset-json")
}

/// The tree's firewall after boot. `helper` is the fwplan binary that runs
/// the namespace child (the running one, in the CLI).
pub fn boot_firewall(root: &Root, helper: &Path) -> BootFirewall {
    let mut boot = BootFirewall::default();
    let mut enabled = Vec::new();
    let mut disabled = Vec::new();
    for (loader, file, unit) in [
        (Loader::Nft, NFT_CONF, NFT_UNIT),
        (Loader::Iptables, RULES_V4, PERSISTENT_UNIT),
        (Loader::Ip6tables, RULES_V6, PERSISTENT_UNIT),
    ] {
        if !is_file(root, file) {
            continue;
        }
        if unit_enabled(root, unit) {
            enabled.push((loader, file));
        } else {
            disabled.push((loader, file));
        }
    }
    if enabled.is_empty() && disabled.is_empty() {
        return boot;
    }
    // nft lists the result whatever loaded it: without it nothing can be
    // judged. Without iptables-nft-restore only its files are skipped.
    if hardkit_core::program::find_program("nft").is_none() {
        boot.findings
            .push(unchecked("nft is not installed on this machine"));
        return boot;
    }
    let installed = |(loader, file): &(Loader, &str)| {
        let found = hardkit_core::program::find_program(loader.program()).is_some();
        (
            found,
            format!(
                "{} is not installed on this machine, so {file} was not loaded",
                loader.program()
            ),
        )
    };
    for entry in enabled.iter().chain(&disabled) {
        if let (false, why) = installed(entry) {
            boot.findings.push(unchecked(&why));
        }
    }
    enabled.retain(|e| installed(e).0);
    disabled.retain(|e| installed(e).0);

    // The boot state: every enabled file, in boot order, in one namespace.
    if !enabled.is_empty() {
        let mut staged = Vec::new();
        for (loader, file) in &enabled {
            match stage(root, *loader, file) {
                Ok(s) => staged.push(s),
                Err(r) => boot.findings.push(fails_at_boot(
                    r.loader,
                    Path::new(file),
                    r.location,
                    &r.message,
                )),
            }
        }
        match load_in_private_netns(helper, &staged) {
            Err(e) => boot.findings.push(unchecked(&e)),
            Ok(report) => {
                if let Some(why) = report.unavailable {
                    boot.findings.push(unchecked(&why));
                    return boot;
                }
                for (result, s) in report.loads.iter().zip(&staged) {
                    if !result.made_interfaces.is_empty() {
                        boot.findings
                            .push(needs_interfaces(&result.made_interfaces));
                    }
                    if !result.ok {
                        let location = message_location(s, &result.message);
                        boot.findings.push(fails_at_boot(
                            s.loader,
                            &s.system,
                            location,
                            &result.message,
                        ));
                    }
                }
                match (report.ruleset, report.list_error) {
                    (Some(json), _) => match parse_nft_json(&json) {
                        Ok(live) => boot.live = live,
                        Err(e) => boot
                            .findings
                            .push(unchecked(&format!("nft -j list ruleset: {e}"))),
                    },
                    (None, e) => boot.findings.push(unchecked(&format!(
                        "nft -j list ruleset: {}",
                        e.unwrap_or_default()
                    ))),
                }
            }
        }
    }

    // Files present but not loaded at boot: would they have filtered?
    if !disabled.is_empty() {
        let staged: Vec<Staged> = disabled
            .iter()
            .filter_map(|(loader, file)| stage(root, *loader, file).ok())
            .collect();
        // None: could not tell (no namespace here).
        let would_filter = load_in_private_netns(helper, &staged)
            .ok()
            .filter(|r| r.unavailable.is_none())
            .map(|r| {
                r.ruleset
                    .and_then(|json| parse_nft_json(&json).ok())
                    .is_some_and(|live| crate::audit::drops_input(&live, &["ip", "ip6", "inet"]))
            });
        for (loader, file) in &disabled {
            boot.findings
                .push(not_enabled(root, *loader, file, would_filter));
        }
    }
    boot
}

fn fails_at_boot(loader: Loader, config: &Path, location: Location, message: &str) -> Finding {
    let (how, what) = match loader {
        Loader::Nft => (
            format!("runs `nft -f {NFT_CONF}`"),
            "nft loads a file as one transaction, so none of its rules are in place",
        ),
        Loader::Iptables | Loader::Ip6tables => (
            format!("runs {}", loader.program().replace("-nft", "")),
            "iptables-restore commits nothing from a file it refuses",
        ),
    };
    Finding::new(
        "fwplan/boot-ruleset-fails",
        Severity::High,
        format!("The boot firewall fails to load: {}", first_line(message)),
        format!(
            "{} is enabled and {how} at boot; that fails, and {what}. {} says:\n{}",
            service_of(loader),
            loader.program().replace("-nft", ""),
            message.trim_end()
        ),
    )
    .at(location)
    .evidence("config", config.display().to_string())
    .fix(match loader {
        Loader::Nft => format!("correct the line named, then check with `nft -c -f {NFT_CONF}`"),
        Loader::Iptables | Loader::Ip6tables => {
            "correct the line named, then check with `iptables-restore --test`".into()
        }
    })
}

fn needs_interfaces(names: &[String]) -> Finding {
    Finding::new(
        "fwplan/boot-ruleset-needs-interfaces",
        Severity::Low,
        format!("The boot firewall only loads if {} already exist(s)", names.join(", ")),
        format!(
            "{NFT_CONF} matches `iif`/`oif` on {}: nft turns those names into interface indexes when the file is loaded, and {NFT_UNIT} runs early in boot, before the network is configured. If an interface is not there yet (or is renamed), the whole file fails and the host boots without a firewall. The audit created them in its namespace to judge the rest.",
            names.join(", ")
        ),
    )
    .at(Location::new(PathBuf::from(NFT_CONF), None))
    .evidence("interfaces", names)
    .fix("match with iifname/oifname, which compare the name at packet time")
}

fn first_line(message: &str) -> String {
    let line = message
        .lines()
        .find(|l| l.contains("Error") || l.contains("error"))
        .or_else(|| message.lines().next())
        .unwrap_or("")
        .trim();
    // `/etc/nftables.conf:4:3-6: Error: No symbol type information`: keep
    // what nft says, the location is in the record.
    match line.find("Error:") {
        Some(i) => line[i + "Error:".len()..].trim().to_string(),
        None => line.to_string(),
    }
}

fn not_enabled(root: &Root, loader: Loader, file: &str, would_filter: Option<bool>) -> Finding {
    let unit = service_of(loader);
    let (severity, consequence) = match would_filter {
        Some(true) => (
            Severity::Medium,
            "It would drop incoming traffic by default, but the host boots without it.",
        ),
        Some(false) => (
            Severity::Info,
            "It would not filter incoming traffic anyway (no input chain drops by default, or it does not load).",
        ),
        None => (
            Severity::Low,
            "Whether it would filter incoming traffic could not be checked here (no private network namespace).",
        ),
    };
    Finding::new(
        "fwplan/boot-ruleset-not-enabled",
        severity,
        format!("{file} is not loaded at boot: {unit} is not enabled"),
        format!("{file} exists, but {unit} is not enabled (or is masked), so nothing loads it at boot. {consequence}"),
    )
    .at(Location::new(PathBuf::from(file), None))
    .evidence("service", unit)
    .evidence("would_filter_input", would_filter)
    .fix(enable_fix(root, loader))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iptables_error_lines_and_nft_messages_are_located() {
        let staged = Staged {
            loader: Loader::Iptables,
            system: RULES_V4.into(),
            host: "/x/rules.v4".into(),
            prepared: None,
        };
        let loc = message_location(&staged, "iptables-nft-restore v1.8.9 (nf_tables): Chain 'BOGUS' does not exist\nError occurred at line: 5\n");
        assert_eq!(loc, Location::new(PathBuf::from(RULES_V4), Some(5)));
        assert_eq!(
            first_line("/etc/nftables.conf:4:3-6: Error: No symbol type information\n  junk\n"),
            "No symbol type information"
        );
    }
}
