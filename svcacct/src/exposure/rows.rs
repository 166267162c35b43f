//! The rows of systemd's security table: weight, range, wording, how each
//! one judges the service's context, and the releases it holds for.

use super::context::SecurityContext;
use super::judge::{
    assess_ambient, assess_delegate, assess_device_allow, assess_ip_address, assess_keyring_mode,
    assess_notify_access, assess_proc_subset, assess_protect_home, assess_protect_proc,
    assess_protect_system, assess_remove_ipc, assess_root_directory, assess_supplementary_groups,
    assess_syscall_archs, assess_syscall_group, assess_umask, assess_user, families, plain, Assess,
};
use super::values::{cap, NAMESPACES, PRIVATE_MOUNTS_TRISTATE_SINCE};

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
    /// The first systemd release with the row (0: every modelled one).
    pub since: u32,
    /// The first release without it (None: still there).
    pub until: Option<u32>,
}

impl Row {
    pub fn holds_in(&self, release: super::Systemd) -> bool {
        self.since <= release.0 && self.until.is_none_or(|u| release.0 < u)
    }
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
        since: 0,
        until: None,
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
        since: 0,
        until: None,
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

const fn private_mounts_row(assess: fn(&SecurityContext) -> Assess) -> Row {
    row(
        "PrivateMounts=",
        "PrivateMounts",
        "Service cannot install system mounts",
        "Service may install system mounts",
        1000,
        assess,
    )
}

fn assess_private_mounts_bool(c: &SecurityContext) -> Assess {
    plain(u64::from(!c.private_mounts.unwrap_or(false)))
}

fn assess_private_mounts_tristate(c: &SecurityContext) -> Assess {
    plain(u64::from(!c.private_mounts.unwrap_or(true)))
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
    // PrivateMounts= until it became a tristate: unset is off.
    Row {
        until: Some(PRIVATE_MOUNTS_TRISTATE_SINCE),
        ..private_mounts_row(assess_private_mounts_bool)
    },
    // From then on, systemd-analyze's offline mode copies the tristate
    // (-1 unset, 0 no, 1 yes) into a bool, so an unset PrivateMounts= counts
    // as set: systemd's quirk (its online mode reads the resolved value),
    // reproduced because the target's systemd-analyze prints it.
    Row {
        since: PRIVATE_MOUNTS_TRISTATE_SINCE,
        ..private_mounts_row(assess_private_mounts_tristate)
    },
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
