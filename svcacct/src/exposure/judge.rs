//! How each row of systemd's security table judges a service: the
//! badness (0 good .. range bad, None: not applicable) and, where systemd
//! words it case by case, the sentence.

use super::context::SecurityContext;
use super::values::SyscallData;

pub struct Assess {
    /// None: the row does not apply (and is left out of the weights).
    pub badness: Option<u64>,
    pub description: Option<String>,
}

pub fn plain(badness: u64) -> Assess {
    Assess {
        badness: Some(badness),
        description: None,
    }
}

pub fn said(badness: u64, description: impl Into<String>) -> Assess {
    Assess {
        badness: Some(badness),
        description: Some(description.into()),
    }
}

pub fn is_root_name(user: &str) -> bool {
    user == "0" || user == "root"
}

/// The first release whose systemd-analyze judges a user unit as run by
/// the calling user (User= row good, the per-user rows applied): measured
/// on 262; 257 still scores it as root.
pub const USER_SCOPE_AWARE_SINCE: u32 = 262;

/// A user unit, judged by a release that knows it runs as the caller.
fn caller_identity(c: &SecurityContext) -> bool {
    c.user_scope && c.release.0 >= USER_SCOPE_AWARE_SINCE
}

pub fn runs_privileged(c: &SecurityContext) -> bool {
    if caller_identity(c) {
        return false;
    }
    match c.user.as_deref() {
        Some(u) if is_root_name(u) => true,
        _ if c.dynamic_user => false,
        Some(u) => u.is_empty(),
        None => true,
    }
}

pub fn assess_user(c: &SecurityContext) -> Assess {
    if caller_identity(c) {
        return said(0, "Service runs under the calling user's identity");
    }
    match c.user.as_deref() {
        Some("nobody") => said(
            9,
            "Service runs under as 'nobody' user, which should not be used for services",
        ),
        user if c.dynamic_user && !user.is_some_and(is_root_name) => {
            said(0, "Service runs under a transient non-root user identity")
        }
        Some(u) if !is_root_name(u) && !u.is_empty() => {
            said(0, "Service runs under a static non-root user identity")
        }
        _ => plain(10),
    }
}

pub fn assess_supplementary_groups(c: &SecurityContext) -> Assess {
    if runs_privileged(c) {
        return Assess {
            badness: None,
            description: None,
        };
    }
    plain(u64::from(!c.supplementary_groups.is_empty()))
}

pub fn assess_remove_ipc(c: &SecurityContext) -> Assess {
    if caller_identity(c) {
        return Assess {
            badness: None,
            description: Some("RemoveIPC= has no effect on per-user services".into()),
        };
    }
    if runs_privileged(c) {
        return Assess {
            badness: None,
            description: None,
        };
    }
    plain(u64::from(!c.remove_ipc))
}

pub fn assess_protect_home(c: &SecurityContext) -> Assess {
    match c.protect_home.as_str() {
        "yes" => said(0, "Service has no access to home directories"),
        "read-only" => said(5, "Service has read-only access to home directories"),
        "tmpfs" => said(1, "Service has access to fake empty home directories"),
        _ => said(10, "Service has full access to home directories"),
    }
}

pub fn assess_protect_system(c: &SecurityContext) -> Assess {
    match c.protect_system.as_str() {
        "yes" => said(
            5,
            "Service has limited write access to the OS file hierarchy",
        ),
        "full" => said(
            3,
            "Service has very limited write access to the OS file hierarchy",
        ),
        "strict" => said(
            0,
            "Service has strict read-only access to the OS file hierarchy",
        ),
        _ => said(10, "Service has full access to the OS file hierarchy"),
    }
}

pub fn empty_or_root(p: &Option<String>) -> bool {
    match p {
        None => true,
        Some(p) => p.is_empty() || p.chars().all(|c| c == '/'),
    }
}

pub fn assess_root_directory(c: &SecurityContext) -> Assess {
    plain(u64::from(
        empty_or_root(&c.root_directory) && empty_or_root(&c.root_image),
    ))
}

pub fn assess_umask(c: &SecurityContext) -> Assess {
    let m = c.umask;
    if m & 0o002 == 0 {
        said(10, "Files created by service are world-writable by default")
    } else if m & 0o004 == 0 {
        said(5, "Files created by service are world-readable by default")
    } else if m & 0o020 == 0 {
        said(2, "Files created by service are group-writable by default")
    } else if m & 0o040 == 0 {
        said(1, "Files created by service are group-readable by default")
    } else {
        said(
            0,
            "Files created by service are accessible only by service's own user by default",
        )
    }
}

pub fn assess_keyring_mode(c: &SecurityContext) -> Assess {
    plain(u64::from(c.keyring_mode != "private"))
}

pub fn assess_protect_proc(c: &SecurityContext) -> Assess {
    plain(match c.protect_proc.as_str() {
        "noaccess" => 1,
        "invisible" | "ptraceable" => 0,
        _ => 3,
    })
}

pub fn assess_proc_subset(c: &SecurityContext) -> Assess {
    plain(u64::from(c.proc_subset != "pid"))
}

pub fn assess_notify_access(c: &SecurityContext) -> Assess {
    plain(u64::from(c.notify_access == "all"))
}

pub fn assess_delegate(c: &SecurityContext) -> Assess {
    plain(u64::from(c.delegate))
}

pub fn assess_ambient(c: &SecurityContext) -> Assess {
    plain(u64::from(c.ambient_capabilities != 0))
}

/// Which socket families are restricted, as systemd-analyze groups them.
pub struct Families {
    pub inet: bool,
    pub unix: bool,
    pub netlink: bool,
    pub packet: bool,
    pub other: bool,
}

pub fn families(c: &SecurityContext) -> Families {
    let allow_list = c.address_families_allow_list;
    let set = c.address_families.as_ref();
    let mut f = Families {
        inet: allow_list,
        unix: allow_list,
        netlink: allow_list,
        packet: allow_list,
        other: allow_list,
    };
    for af in set.into_iter().flatten() {
        match af.as_str() {
            "AF_INET" | "AF_INET6" => f.inet = !allow_list,
            "AF_UNIX" => f.unix = !allow_list,
            "AF_NETLINK" => f.netlink = !allow_list,
            "AF_PACKET" => f.packet = !allow_list,
            _ => f.other = !allow_list,
        }
    }
    f
}

pub fn assess_syscall_archs(c: &SecurityContext) -> Assess {
    if c.syscall_archs.is_empty() {
        said(10, "Service may execute system calls with all ABIs")
    } else if c.syscall_archs.len() == 1 && c.syscall_archs.contains("native") {
        said(0, "Service may execute system calls only with native ABI")
    } else {
        said(8, "Service may execute system calls with multiple ABIs")
    }
}

/// The first member of `group` (nested groups first, in systemd's order)
/// that the filter lets through, if any.
pub fn offending_syscall(
    data: &SyscallData,
    names: &std::collections::BTreeSet<&str>,
    allow_list: bool,
    group: &str,
) -> Option<&'static str> {
    for member in data.group(group)? {
        if member.starts_with('@') {
            if let Some(found) = offending_syscall(data, names, allow_list, member) {
                return Some(found);
            }
            continue;
        }
        if !data.is_native(member) {
            continue;
        }
        if names.contains(member) == allow_list {
            return Some(member);
        }
    }
    None
}

pub fn assess_syscall_group(c: &SecurityContext, group: &str) -> Assess {
    let names = c.filter_names();
    if !c.syscall_allow_list && names.is_empty() {
        return said(10, "Service does not filter system calls");
    }
    let data = super::values::syscall_data(c.release);
    let offender = offending_syscall(data, &names, c.syscall_allow_list, group);
    match (c.syscall_allow_list, offender) {
        (true, Some(s)) => said(
            9,
            format!("System call allow list defined for service, and {group} is included (e.g. {s} is allowed)"),
        ),
        (true, None) => said(
            0,
            format!("System call allow list defined for service, and {group} is not included"),
        ),
        (false, Some(s)) => said(
            10,
            format!("System call deny list defined for service, and {group} is not included (e.g. {s} is allowed)"),
        ),
        (false, None) => said(
            0,
            format!("System call deny list defined for service, and {group} is included"),
        ),
    }
}

pub fn assess_ip_address(c: &SecurityContext) -> Assess {
    let deny_v4 = c
        .ip_address_deny
        .iter()
        .any(|p| p.addr.is_ipv4() && p.len == 0);
    let deny_v6 = c
        .ip_address_deny
        .iter()
        .any(|p| p.addr.is_ipv6() && p.len == 0);
    let localhost = c.ip_address_allow.iter().any(|p| p.is_localhost());
    let other = c.ip_address_allow.iter().any(|p| !p.is_localhost());
    if !c.ip_ingress_filters.is_empty() || !c.ip_egress_filters.is_empty() {
        said(
            0,
            "Service defines custom ingress/egress IP filters with BPF programs",
        )
    } else if !(deny_v4 && deny_v6) {
        said(10, "Service does not define an IP address allow list")
    } else if other {
        said(
            5,
            "Service defines IP address allow list with non-localhost entries",
        )
    } else if localhost {
        said(
            2,
            "Service defines IP address allow list with only localhost entries",
        )
    } else {
        said(0, "Service blocks all IP address ranges")
    }
}

pub fn assess_device_allow(c: &SecurityContext) -> Assess {
    if matches!(c.device_policy.as_str(), "strict" | "closed") {
        if c.device_allow.is_empty() {
            said(0, "Service has a minimal device ACL")
        } else {
            let list: Vec<String> = c
                .device_allow
                .iter()
                .map(|(p, r)| format!("{p}:{r}"))
                .collect();
            said(
                5,
                format!(
                    "Service has a device ACL with some special devices: {}",
                    list.join(" ")
                ),
            )
        }
    } else {
        said(10, "Service has no device ACL")
    }
}
