//! The rows of systemd 252's security table: weight, range, wording, and how
//! each one judges the service's context.

use super::context::{cap, SecurityContext, NAMESPACES};
use super::syscall_groups::SYSCALL_GROUPS;

pub struct Assess {
    /// None: the row does not apply (and is left out of the weights).
    pub badness: Option<u64>,
    pub description: Option<String>,
}

fn plain(badness: u64) -> Assess {
    Assess {
        badness: Some(badness),
        description: None,
    }
}

fn said(badness: u64, description: impl Into<String>) -> Assess {
    Assess {
        badness: Some(badness),
        description: Some(description.into()),
    }
}

pub struct Row {
    pub id: &'static str,
    pub json_field: &'static str,
    pub description_good: Option<&'static str>,
    pub description_bad: Option<&'static str>,
    pub description_na: Option<&'static str>,
    pub weight: u64,
    pub range: u64,
    pub default_dependencies_only: bool,
    pub assess: fn(&SecurityContext) -> Assess,
}

const fn row(
    id: &'static str,
    json_field: &'static str,
    good: &'static str,
    bad: &'static str,
    weight: u64,
    assess: fn(&SecurityContext) -> Assess,
) -> Row {
    Row {
        id,
        json_field,
        description_good: Some(good),
        description_bad: Some(bad),
        description_na: None,
        weight,
        range: 1,
        default_dependencies_only: false,
        assess,
    }
}

const fn graded(
    id: &'static str,
    json_field: &'static str,
    weight: u64,
    range: u64,
    assess: fn(&SecurityContext) -> Assess,
) -> Row {
    Row {
        id,
        json_field,
        description_good: None,
        description_bad: None,
        description_na: None,
        weight,
        range,
        default_dependencies_only: false,
        assess,
    }
}

/// A boolean that is good when on.
macro_rules! on_is_good {
    ($field:ident) => {{
        fn f(c: &SecurityContext) -> Assess {
            plain(u64::from(!c.$field))
        }
        f
    }};
}

/// A capability group that is good when none of its capabilities is kept.
macro_rules! caps_dropped {
    ($($name:literal),+) => {{
        fn f(c: &SecurityContext) -> Assess {
            let mask = 0 $(| cap($name))+;
            plain(u64::from(c.capability_bounding_set & mask != 0))
        }
        f
    }};
}

macro_rules! namespace_restricted {
    ($name:literal) => {{
        fn f(c: &SecurityContext) -> Assess {
            let flag = NAMESPACES
                .iter()
                .find(|(n, _)| *n == $name)
                .map(|(_, f)| *f)
                .unwrap_or(0);
            plain(u64::from(c.restrict_namespaces & flag != 0))
        }
        f
    }};
}

macro_rules! family_restricted {
    ($which:ident) => {{
        fn f(c: &SecurityContext) -> Assess {
            plain(u64::from(!families(c).$which))
        }
        f
    }};
}

macro_rules! syscalls_filtered {
    ($group:literal) => {{
        fn f(c: &SecurityContext) -> Assess {
            assess_syscall_group(c, $group)
        }
        f
    }};
}

const fn with_na(mut r: Row, na: &'static str) -> Row {
    r.description_na = Some(na);
    r
}

const fn boot_phase_only(mut r: Row) -> Row {
    r.default_dependencies_only = true;
    r
}

const fn bad_only(mut r: Row, bad: &'static str) -> Row {
    r.description_bad = Some(bad);
    r
}

pub static ROWS: &[Row] = &[
    bad_only(
        graded(
            "User=/DynamicUser=",
            "UserOrDynamicUser",
            2000,
            10,
            assess_user,
        ),
        "Service runs as root user",
    ),
    with_na(
        row(
            "SupplementaryGroups=",
            "SupplementaryGroups",
            "Service has no supplementary groups",
            "Service runs with supplementary groups",
            200,
            assess_supplementary_groups,
        ),
        "Service runs as root, option does not matter",
    ),
    row(
        "PrivateDevices=",
        "PrivateDevices",
        "Service has no access to hardware devices",
        "Service potentially has access to hardware devices",
        1000,
        on_is_good!(private_devices),
    ),
    row(
        "PrivateMounts=",
        "PrivateMounts",
        "Service cannot install system mounts",
        "Service may install system mounts",
        1000,
        on_is_good!(private_mounts),
    ),
    row(
        "PrivateNetwork=",
        "PrivateNetwork",
        "Service has no access to the host's network",
        "Service has access to the host's network",
        2500,
        on_is_good!(private_network),
    ),
    boot_phase_only(row(
        "PrivateTmp=",
        "PrivateTmp",
        "Service has no access to other software's temporary files",
        "Service has access to other software's temporary files",
        1000,
        on_is_good!(private_tmp),
    )),
    row(
        "PrivateUsers=",
        "PrivateUsers",
        "Service does not have access to other users",
        "Service has access to other users",
        1000,
        on_is_good!(private_users),
    ),
    row(
        "ProtectControlGroups=",
        "ProtectControlGroups",
        "Service cannot modify the control group file system",
        "Service may modify the control group file system",
        1000,
        on_is_good!(protect_control_groups),
    ),
    row(
        "ProtectKernelModules=",
        "ProtectKernelModules",
        "Service cannot load or read kernel modules",
        "Service may load or read kernel modules",
        1000,
        on_is_good!(protect_kernel_modules),
    ),
    row(
        "ProtectKernelTunables=",
        "ProtectKernelTunables",
        "Service cannot alter kernel tunables (/proc/sys, …)",
        "Service may alter kernel tunables",
        1000,
        on_is_good!(protect_kernel_tunables),
    ),
    row(
        "ProtectKernelLogs=",
        "ProtectKernelLogs",
        "Service cannot read from or write to the kernel log ring buffer",
        "Service may read from or write to the kernel log ring buffer",
        1000,
        on_is_good!(protect_kernel_logs),
    ),
    row(
        "ProtectClock=",
        "ProtectClock",
        "Service cannot write to the hardware clock or system clock",
        "Service may write to the hardware clock or system clock",
        1000,
        on_is_good!(protect_clock),
    ),
    boot_phase_only(graded(
        "ProtectHome=",
        "ProtectHome",
        1000,
        10,
        assess_protect_home,
    )),
    row(
        "ProtectHostname=",
        "ProtectHostname",
        "Service cannot change system host/domainname",
        "Service may change system host/domainname",
        50,
        on_is_good!(protect_hostname),
    ),
    boot_phase_only(graded(
        "ProtectSystem=",
        "ProtectSystem",
        1000,
        10,
        assess_protect_system,
    )),
    boot_phase_only(row(
        "RootDirectory=/RootImage=",
        "RootDirectoryOrRootImage",
        "Service has its own root directory/image",
        "Service runs within the host's root directory",
        200,
        assess_root_directory,
    )),
    row(
        "LockPersonality=",
        "LockPersonality",
        "Service cannot change ABI personality",
        "Service may change ABI personality",
        100,
        on_is_good!(lock_personality),
    ),
    row(
        "MemoryDenyWriteExecute=",
        "MemoryDenyWriteExecute",
        "Service cannot create writable executable memory mappings",
        "Service may create writable executable memory mappings",
        100,
        on_is_good!(memory_deny_write_execute),
    ),
    row(
        "NoNewPrivileges=",
        "NoNewPrivileges",
        "Service processes cannot acquire new privileges",
        "Service processes may acquire new privileges",
        1000,
        on_is_good!(no_new_privileges),
    ),
    row(
        "CapabilityBoundingSet=~CAP_SYS_ADMIN",
        "CapabilityBoundingSet_CAP_SYS_ADMIN",
        "Service has no administrator privileges",
        "Service has administrator privileges",
        1500,
        caps_dropped!("cap_sys_admin"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_SET(UID|GID|PCAP)",
        "CapabilityBoundingSet_CAP_SET_UID_GID_PCAP",
        "Service cannot change UID/GID identities/capabilities",
        "Service may change UID/GID identities/capabilities",
        1500,
        caps_dropped!("cap_setuid", "cap_setgid", "cap_setpcap"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_SYS_PTRACE",
        "CapabilityBoundingSet_CAP_SYS_PTRACE",
        "Service has no ptrace() debugging abilities",
        "Service has ptrace() debugging abilities",
        1500,
        caps_dropped!("cap_sys_ptrace"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_SYS_TIME",
        "CapabilityBoundingSet_CAP_SYS_TIME",
        "Service processes cannot change the system clock",
        "Service processes may change the system clock",
        1000,
        caps_dropped!("cap_sys_time"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_NET_ADMIN",
        "CapabilityBoundingSet_CAP_NET_ADMIN",
        "Service has no network configuration privileges",
        "Service has network configuration privileges",
        1000,
        caps_dropped!("cap_net_admin"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_SYS_RAWIO",
        "CapabilityBoundingSet_CAP_SYS_RAWIO",
        "Service has no raw I/O access",
        "Service has raw I/O access",
        1000,
        caps_dropped!("cap_sys_rawio"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_SYS_MODULE",
        "CapabilityBoundingSet_CAP_SYS_MODULE",
        "Service cannot load kernel modules",
        "Service may load kernel modules",
        1000,
        caps_dropped!("cap_sys_module"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_AUDIT_*",
        "CapabilityBoundingSet_CAP_AUDIT",
        "Service has no audit subsystem access",
        "Service has audit subsystem access",
        500,
        caps_dropped!("cap_audit_control", "cap_audit_read", "cap_audit_write"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_SYSLOG",
        "CapabilityBoundingSet_CAP_SYSLOG",
        "Service has no access to kernel logging",
        "Service has access to kernel logging",
        500,
        caps_dropped!("cap_syslog"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_SYS_(NICE|RESOURCE)",
        "CapabilityBoundingSet_CAP_SYS_NICE_RESOURCE",
        "Service has no privileges to change resource use parameters",
        "Service has privileges to change resource use parameters",
        500,
        caps_dropped!("cap_sys_nice", "cap_sys_resource"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_MKNOD",
        "CapabilityBoundingSet_CAP_MKNOD",
        "Service cannot create device nodes",
        "Service may create device nodes",
        500,
        caps_dropped!("cap_mknod"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_(CHOWN|FSETID|SETFCAP)",
        "CapabilityBoundingSet_CAP_CHOWN_FSETID_SETFCAP",
        "Service cannot change file ownership/access mode/capabilities",
        "Service may change file ownership/access mode/capabilities unrestricted",
        1000,
        caps_dropped!("cap_chown", "cap_fsetid", "cap_setfcap"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_(DAC_*|FOWNER|IPC_OWNER)",
        "CapabilityBoundingSet_CAP_DAC_FOWNER_IPC_OWNER",
        "Service cannot override UNIX file/IPC permission checks",
        "Service may override UNIX file/IPC permission checks",
        1000,
        caps_dropped!(
            "cap_dac_override",
            "cap_dac_read_search",
            "cap_fowner",
            "cap_ipc_owner"
        ),
    ),
    row(
        "CapabilityBoundingSet=~CAP_KILL",
        "CapabilityBoundingSet_CAP_KILL",
        "Service cannot send UNIX signals to arbitrary processes",
        "Service may send UNIX signals to arbitrary processes",
        500,
        caps_dropped!("cap_kill"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_NET_(BIND_SERVICE|BROADCAST|RAW)",
        "CapabilityBoundingSet_CAP_NET_BIND_SERVICE_BROADCAST_RAW)",
        "Service has no elevated networking privileges",
        "Service has elevated networking privileges",
        500,
        caps_dropped!("cap_net_bind_service", "cap_net_broadcast", "cap_net_raw"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_SYS_BOOT",
        "CapabilityBoundingSet_CAP_SYS_BOOT",
        "Service cannot issue reboot()",
        "Service may issue reboot()",
        100,
        caps_dropped!("cap_sys_boot"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_MAC_*",
        "CapabilityBoundingSet_CAP_MAC",
        "Service cannot adjust SMACK MAC",
        "Service may adjust SMACK MAC",
        100,
        caps_dropped!("cap_mac_admin", "cap_mac_override"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_LINUX_IMMUTABLE",
        "CapabilityBoundingSet_CAP_LINUX_IMMUTABLE",
        "Service cannot mark files immutable",
        "Service may mark files immutable",
        75,
        caps_dropped!("cap_linux_immutable"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_IPC_LOCK",
        "CapabilityBoundingSet_CAP_IPC_LOCK",
        "Service cannot lock memory into RAM",
        "Service may lock memory into RAM",
        50,
        caps_dropped!("cap_ipc_lock"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_SYS_CHROOT",
        "CapabilityBoundingSet_CAP_SYS_CHROOT",
        "Service cannot issue chroot()",
        "Service may issue chroot()",
        50,
        caps_dropped!("cap_sys_chroot"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_BLOCK_SUSPEND",
        "CapabilityBoundingSet_CAP_BLOCK_SUSPEND",
        "Service cannot establish wake locks",
        "Service may establish wake locks",
        25,
        caps_dropped!("cap_block_suspend"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_WAKE_ALARM",
        "CapabilityBoundingSet_CAP_WAKE_ALARM",
        "Service cannot program timers that wake up the system",
        "Service may program timers that wake up the system",
        25,
        caps_dropped!("cap_wake_alarm"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_LEASE",
        "CapabilityBoundingSet_CAP_LEASE",
        "Service cannot create file leases",
        "Service may create file leases",
        25,
        caps_dropped!("cap_lease"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_SYS_TTY_CONFIG",
        "CapabilityBoundingSet_CAP_SYS_TTY_CONFIG",
        "Service cannot issue vhangup()",
        "Service may issue vhangup()",
        25,
        caps_dropped!("cap_sys_tty_config"),
    ),
    row(
        "CapabilityBoundingSet=~CAP_SYS_PACCT",
        "CapabilityBoundingSet_CAP_SYS_PACCT",
        "Service cannot use acct()",
        "Service may use acct()",
        25,
        caps_dropped!("cap_sys_pacct"),
    ),
    // systemd 252's wording for this row reads the other way round from its
    // neighbours ("may not" when good); reproduced as printed.
    row(
        "CapabilityBoundingSet=~CAP_BPF",
        "CapabilityBoundingSet_CAP_BPF",
        "Service may not load BPF programs",
        "Service may load BPF programs",
        25,
        caps_dropped!("cap_bpf"),
    ),
    graded("UMask=", "UMask", 100, 10, assess_umask),
    row(
        "KeyringMode=",
        "KeyringMode",
        "Service doesn't share key material with other services",
        "Service shares key material with other service",
        1000,
        assess_keyring_mode,
    ),
    Row {
        range: 3,
        ..row(
            "ProtectProc=",
            "ProtectProc",
            "Service has restricted access to process tree (/proc hidepid=)",
            "Service has full access to process tree (/proc hidepid=)",
            1000,
            assess_protect_proc,
        )
    },
    row(
        "ProcSubset=",
        "ProcSubset",
        "Service has no access to non-process /proc files (/proc subset=)",
        "Service has full access to non-process /proc files (/proc subset=)",
        10,
        assess_proc_subset,
    ),
    row(
        "NotifyAccess=",
        "NotifyAccess",
        "Service child processes cannot alter service state",
        "Service child processes may alter service state",
        1000,
        assess_notify_access,
    ),
    with_na(
        row(
            "RemoveIPC=",
            "RemoveIPC",
            "Service user cannot leave SysV IPC objects around",
            "Service user may leave SysV IPC objects around",
            100,
            assess_remove_ipc,
        ),
        "Service runs as root, option does not apply",
    ),
    row(
        "Delegate=",
        "Delegate",
        "Service does not maintain its own delegated control group subtree",
        "Service maintains its own delegated control group subtree",
        100,
        assess_delegate,
    ),
    row(
        "RestrictRealtime=",
        "RestrictRealtime",
        "Service realtime scheduling access is restricted",
        "Service may acquire realtime scheduling",
        500,
        on_is_good!(restrict_realtime),
    ),
    row(
        "RestrictSUIDSGID=",
        "RestrictSUIDSGID",
        "SUID/SGID file creation by service is restricted",
        "Service may create SUID/SGID files",
        1000,
        on_is_good!(restrict_suid_sgid),
    ),
    row(
        "RestrictNamespaces=~user",
        "RestrictNamespaces_user",
        "Service cannot create user namespaces",
        "Service may create user namespaces",
        1500,
        namespace_restricted!("user"),
    ),
    row(
        "RestrictNamespaces=~mnt",
        "RestrictNamespaces_mnt",
        "Service cannot create file system namespaces",
        "Service may create file system namespaces",
        500,
        namespace_restricted!("mnt"),
    ),
    row(
        "RestrictNamespaces=~ipc",
        "RestrictNamespaces_ipc",
        "Service cannot create IPC namespaces",
        "Service may create IPC namespaces",
        500,
        namespace_restricted!("ipc"),
    ),
    row(
        "RestrictNamespaces=~pid",
        "RestrictNamespaces_pid",
        "Service cannot create process namespaces",
        "Service may create process namespaces",
        500,
        namespace_restricted!("pid"),
    ),
    row(
        "RestrictNamespaces=~cgroup",
        "RestrictNamespaces_cgroup",
        "Service cannot create cgroup namespaces",
        "Service may create cgroup namespaces",
        500,
        namespace_restricted!("cgroup"),
    ),
    row(
        "RestrictNamespaces=~net",
        "RestrictNamespaces_net",
        "Service cannot create network namespaces",
        "Service may create network namespaces",
        500,
        namespace_restricted!("net"),
    ),
    row(
        "RestrictNamespaces=~uts",
        "RestrictNamespaces_uts",
        "Service cannot create hostname namespaces",
        "Service may create hostname namespaces",
        100,
        namespace_restricted!("uts"),
    ),
    row(
        "RestrictAddressFamilies=~AF_(INET|INET6)",
        "RestrictAddressFamilies_AF_INET_INET6",
        "Service cannot allocate Internet sockets",
        "Service may allocate Internet sockets",
        1500,
        family_restricted!(inet),
    ),
    row(
        "RestrictAddressFamilies=~AF_UNIX",
        "RestrictAddressFamilies_AF_UNIX",
        "Service cannot allocate local sockets",
        "Service may allocate local sockets",
        25,
        family_restricted!(unix),
    ),
    row(
        "RestrictAddressFamilies=~AF_NETLINK",
        "RestrictAddressFamilies_AF_NETLINK",
        "Service cannot allocate netlink sockets",
        "Service may allocate netlink sockets",
        200,
        family_restricted!(netlink),
    ),
    row(
        "RestrictAddressFamilies=~AF_PACKET",
        "RestrictAddressFamilies_AF_PACKET",
        "Service cannot allocate packet sockets",
        "Service may allocate packet sockets",
        1000,
        family_restricted!(packet),
    ),
    row(
        "RestrictAddressFamilies=~…",
        "RestrictAddressFamilies_OTHER",
        "Service cannot allocate exotic sockets",
        "Service may allocate exotic sockets",
        1250,
        family_restricted!(other),
    ),
    graded(
        "SystemCallArchitectures=",
        "SystemCallArchitectures",
        1000,
        10,
        assess_syscall_archs,
    ),
    graded(
        "SystemCallFilter=~@swap",
        "SystemCallFilter_swap",
        1000,
        10,
        syscalls_filtered!("@swap"),
    ),
    graded(
        "SystemCallFilter=~@obsolete",
        "SystemCallFilter_obsolete",
        250,
        10,
        syscalls_filtered!("@obsolete"),
    ),
    graded(
        "SystemCallFilter=~@clock",
        "SystemCallFilter_clock",
        1000,
        10,
        syscalls_filtered!("@clock"),
    ),
    graded(
        "SystemCallFilter=~@cpu-emulation",
        "SystemCallFilter_cpu_emulation",
        250,
        10,
        syscalls_filtered!("@cpu-emulation"),
    ),
    graded(
        "SystemCallFilter=~@debug",
        "SystemCallFilter_debug",
        1000,
        10,
        syscalls_filtered!("@debug"),
    ),
    graded(
        "SystemCallFilter=~@mount",
        "SystemCallFilter_mount",
        1000,
        10,
        syscalls_filtered!("@mount"),
    ),
    graded(
        "SystemCallFilter=~@module",
        "SystemCallFilter_module",
        1000,
        10,
        syscalls_filtered!("@module"),
    ),
    graded(
        "SystemCallFilter=~@raw-io",
        "SystemCallFilter_raw_io",
        1000,
        10,
        syscalls_filtered!("@raw-io"),
    ),
    graded(
        "SystemCallFilter=~@reboot",
        "SystemCallFilter_reboot",
        1000,
        10,
        syscalls_filtered!("@reboot"),
    ),
    graded(
        "SystemCallFilter=~@privileged",
        "SystemCallFilter_privileged",
        700,
        10,
        syscalls_filtered!("@privileged"),
    ),
    graded(
        "SystemCallFilter=~@resources",
        "SystemCallFilter_resources",
        700,
        10,
        syscalls_filtered!("@resources"),
    ),
    graded(
        "IPAddressDeny=",
        "IPAddressDeny",
        1000,
        10,
        assess_ip_address,
    ),
    graded("DeviceAllow=", "DeviceAllow", 1000, 10, assess_device_allow),
    row(
        "AmbientCapabilities=",
        "AmbientCapabilities",
        "Service process does not receive ambient capabilities",
        "Service process receives ambient capabilities",
        500,
        assess_ambient,
    ),
];

fn is_root_name(user: &str) -> bool {
    user == "0" || user == "root"
}

fn runs_privileged(c: &SecurityContext) -> bool {
    match c.user.as_deref() {
        Some(u) if is_root_name(u) => true,
        _ if c.dynamic_user => false,
        Some(u) => u.is_empty(),
        None => true,
    }
}

fn assess_user(c: &SecurityContext) -> Assess {
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

fn assess_supplementary_groups(c: &SecurityContext) -> Assess {
    if runs_privileged(c) {
        return Assess {
            badness: None,
            description: None,
        };
    }
    plain(u64::from(!c.supplementary_groups.is_empty()))
}

fn assess_remove_ipc(c: &SecurityContext) -> Assess {
    if runs_privileged(c) {
        return Assess {
            badness: None,
            description: None,
        };
    }
    plain(u64::from(!c.remove_ipc))
}

fn assess_protect_home(c: &SecurityContext) -> Assess {
    match c.protect_home.as_str() {
        "yes" => said(0, "Service has no access to home directories"),
        "read-only" => said(5, "Service has read-only access to home directories"),
        "tmpfs" => said(1, "Service has access to fake empty home directories"),
        _ => said(10, "Service has full access to home directories"),
    }
}

fn assess_protect_system(c: &SecurityContext) -> Assess {
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

fn empty_or_root(p: &Option<String>) -> bool {
    match p {
        None => true,
        Some(p) => p.is_empty() || p.chars().all(|c| c == '/'),
    }
}

fn assess_root_directory(c: &SecurityContext) -> Assess {
    plain(u64::from(
        empty_or_root(&c.root_directory) && empty_or_root(&c.root_image),
    ))
}

fn assess_umask(c: &SecurityContext) -> Assess {
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

fn assess_keyring_mode(c: &SecurityContext) -> Assess {
    plain(u64::from(c.keyring_mode != "private"))
}

fn assess_protect_proc(c: &SecurityContext) -> Assess {
    plain(match c.protect_proc.as_str() {
        "noaccess" => 1,
        "invisible" | "ptraceable" => 0,
        _ => 3,
    })
}

fn assess_proc_subset(c: &SecurityContext) -> Assess {
    plain(u64::from(c.proc_subset != "pid"))
}

fn assess_notify_access(c: &SecurityContext) -> Assess {
    plain(u64::from(c.notify_access == "all"))
}

fn assess_delegate(c: &SecurityContext) -> Assess {
    plain(u64::from(c.delegate))
}

fn assess_ambient(c: &SecurityContext) -> Assess {
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

fn families(c: &SecurityContext) -> Families {
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

fn assess_syscall_archs(c: &SecurityContext) -> Assess {
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
fn offending_syscall<'a>(
    names: &std::collections::BTreeSet<&str>,
    allow_list: bool,
    group: &'a str,
) -> Option<&'a str> {
    let (_, members) = SYSCALL_GROUPS.iter().find(|(g, _)| *g == group)?;
    for member in *members {
        if member.starts_with('@') {
            if let Some(found) = offending_syscall(names, allow_list, member) {
                return Some(found);
            }
            continue;
        }
        if !super::context::is_native_syscall(member) {
            continue;
        }
        if names.contains(member) == allow_list {
            return Some(member);
        }
    }
    None
}

fn assess_syscall_group(c: &SecurityContext, group: &str) -> Assess {
    let names = c.filter_names();
    if !c.syscall_allow_list && names.is_empty() {
        return said(10, "Service does not filter system calls");
    }
    let offender = offending_syscall(&names, c.syscall_allow_list, group);
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

fn assess_ip_address(c: &SecurityContext) -> Assess {
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

fn assess_device_allow(c: &SecurityContext) -> Assess {
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
