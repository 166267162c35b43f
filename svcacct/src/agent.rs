//! An agent that can reach any host: the checklist's "AI agents shouldn't
//! have direct internet access"; and an agent whose commands nothing
//! records ("track every action the AI agent takes"). A unit is an agent when the operator
//! installed it (not a unit a package ships) and its name says so or its
//! command is an interpreter running code (svcacct's `agent` profile: what
//! python, node, uv or bash agents look like). Its outbound network is
//! confined when systemd keeps it off the network (PrivateNetwork=yes), off
//! IP (RestrictAddressFamilies= without AF_INET and AF_INET6), or behind an
//! IP allow list (IPAddressDeny=any for both families, or BPF filters of
//! its own): the same settings systemd-analyze security scores.

use hardkit_core::{Finding, Location, Root, Severity};

use crate::exposure::SecurityContext;
use crate::profile::{self, Profile};
use crate::unit_file::Unit;

/// Is the service's outbound network confined by its unit?
pub fn confined(ctx: &SecurityContext) -> bool {
    let deny_all = |v4: bool| {
        ctx.ip_address_deny
            .iter()
            .any(|p| p.addr.is_ipv4() == v4 && p.len == 0)
    };
    let no_ip = ctx.address_families_allow_list
        && ctx
            .address_families
            .as_ref()
            .is_some_and(|f| !f.contains("AF_INET") && !f.contains("AF_INET6"));
    ctx.private_network
        || no_ip
        || (deny_all(true) && deny_all(false))
        || !ctx.ip_egress_filters.is_empty()
}

/// Is this unit an agent the operator installed?
pub fn is_agent(unit: &Unit) -> bool {
    let vendor = ["/lib/systemd/system", "/usr/lib/systemd/system"]
        .iter()
        .any(|d| unit.fragment.starts_with(d));
    if vendor {
        return false;
    }
    let stem = unit.name.split(['.', '@']).next().unwrap_or_default();
    let exec = unit
        .assignments
        .iter()
        .rev()
        .find(|a| a.section == "Service" && a.key == "ExecStart" && !a.value.is_empty())
        .map(|a| {
            a.value
                .trim_start_matches(['-', '@', ':', '+', '!'])
                .to_string()
        })
        .unwrap_or_default();
    stem.contains("agent") || profile::detect(&exec).0 == Profile::Agent
}

/// `svcacct/egress-unrestricted` for an agent that can reach any host.
pub fn egress_finding(unit: &Unit, ctx: &SecurityContext) -> Option<Finding> {
    if !is_agent(unit) || confined(ctx) {
        return None;
    }
    let stem = unit.name.trim_end_matches(".service");
    Some(
        Finding::new(
            "svcacct/egress-unrestricted",
            Severity::Medium,
            format!("{} can reach any host: its outbound network is not confined", unit.name),
            "Nothing in the unit limits where the agent connects (no IPAddressDeny=any with an allow list, no PrivateNetwork=, IP address families allowed): a prompt injection or a bug can fetch tools or send data anywhere.",
        )
        .at(Location::new(unit.fragment.clone(), None))
        .fix(format!(
            "svcacct apply {stem} --exec CMD --egress NET [--egress NET ...] --egress-dns (IPAddressDeny=any, IPAddressAllow=localhost and those networks), or first-five --apply --service {stem} --egress NET"
        ))
        .evidence("unit", &unit.name),
    )
}

/// `svcacct/agent-unaudited` for an agent (with an account of its own) whose
/// commands auditd does not record: auditd is not installed, or no rules
/// file of `/etc/audit/rules.d` names the account's uid with an execve rule
/// (svcacct apply writes `hardkit-NAME.rules` when auditd is there).
pub fn unaudited_finding(
    unit: &Unit,
    ctx: &SecurityContext,
    root: &Root,
    uid: Option<u32>,
) -> Option<Finding> {
    if !is_agent(unit) || unit.user || ctx.dynamic_user {
        return None;
    }
    let uid = uid?;
    let dir = root.resolve("/etc/audit/rules.d").ok();
    let installed = dir.as_ref().is_some_and(|d| d.is_dir());
    let recorded = installed
        && std::fs::read_dir(dir.as_ref()?).ok()?.flatten().any(|e| {
            let name = e.file_name();
            if !name.to_string_lossy().ends_with(".rules") {
                return false;
            }
            let Ok(bytes) = hardkit_core::input::read_regular_file(
                &e.path(),
                hardkit_core::input::MAX_FILE_BYTES,
            ) else {
                return false;
            };
            String::from_utf8_lossy(&bytes).lines().any(|l| {
                let l = l.trim();
                !l.starts_with('#')
                    && l.contains("execve")
                    && l.split_whitespace()
                        .any(|w| w == format!("uid={uid}") || w == format!("auid={uid}"))
            })
        });
    if recorded {
        return None;
    }
    let account = ctx.user.clone().unwrap_or_default();
    let stem = unit.name.trim_end_matches(".service");
    let (title, fix) = if installed {
        (
            format!("what {} runs is not recorded: no audit rule names {account} (uid {uid})", unit.name),
            format!("svcacct apply {stem} --exec CMD writes /etc/audit/rules.d/hardkit-{stem}.rules (then augenrules --load)"),
        )
    } else {
        (
            format!("what {} runs is not recorded: auditd is not installed", unit.name),
            format!("apt-get install auditd, then svcacct apply {stem} --exec CMD (it writes the agent's audit rules)"),
        )
    };
    Some(
        Finding::new(
            "svcacct/agent-unaudited",
            Severity::Low,
            title,
            "Nothing keeps a record of the programs the agent runs and the system files it writes: after a prompt injection there is no trail to follow.",
        )
        .at(Location::new(std::path::PathBuf::from("/etc/audit/rules.d"), None))
        .fix(fix)
        .evidence("unit", &unit.name),
    )
}
