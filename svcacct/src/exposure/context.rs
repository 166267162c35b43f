//! The sandboxing settings of one service, as a systemd release holds them after
//! loading the unit: each setting read with systemd's own rules (last
//! assignment wins, empty assignment resets a list, `~` inverts, invalid
//! values are ignored with the previous value kept), then the implications
//! systemd adds when it loads a unit (DynamicUser= tightening the sandbox,
//! ProtectKernelModules= dropping CAP_SYS_MODULE, PrivateDevices= closing the
//! device policy, ...). This is the input of `systemd-analyze security`.

use std::collections::{BTreeMap, BTreeSet};

use crate::unit_file::Unit;

use super::release::Systemd;

use super::values::{
    cap, parse_boolean, parse_errno, read_capabilities, read_paths, read_prefixes, set_bool,
    set_bool_since, set_enum, set_tristate, syscall_data, unquote, words, IpPrefix, Specifiers,
    ADDRESS_FAMILIES, NAMESPACES, NAMESPACE_FLAGS_ALL, NAMESPACE_FLAGS_INITIAL,
    PRIVATE_MOUNTS_TRISTATE_SINCE, SECCOMP_ARCHS, SERVICE_TYPES,
};

/// What systemd holds for one service after loading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityContext {
    pub unit: String,
    /// Whose rules read the unit and assess it.
    pub release: Systemd,
    /// A user unit (a user manager runs it, as the calling user).
    pub user_scope: bool,
    pub default_dependencies: bool,
    pub service_type: String,
    pub notify_access: String,
    pub user: Option<String>,
    pub dynamic_user: bool,
    pub supplementary_groups: Vec<String>,
    pub ambient_capabilities: u64,
    pub capability_bounding_set: u64,
    pub keyring_mode: String,
    pub protect_proc: String,
    pub proc_subset: String,
    pub lock_personality: bool,
    pub memory_deny_write_execute: bool,
    pub no_new_privileges: bool,
    pub protect_hostname: bool,
    pub private_devices: bool,
    /// PrivateMounts=: None while unset (see the two rows in rows.rs).
    pub private_mounts: Option<bool>,
    pub private_network: bool,
    pub private_tmp: bool,
    pub private_users: bool,
    pub protect_control_groups: bool,
    pub protect_kernel_modules: bool,
    pub protect_kernel_tunables: bool,
    pub protect_kernel_logs: bool,
    pub protect_clock: bool,
    pub protect_home: String,
    pub protect_system: String,
    pub remove_ipc: bool,
    /// RestrictAddressFamilies=: the listed families (None: no list yet) and
    /// whether they are an allow list. `none` leaves no list but an allow
    /// list, so the next assignment starts a new list, as in systemd.
    pub address_families: Option<BTreeSet<String>>,
    pub address_families_allow_list: bool,
    pub restrict_namespaces: u64,
    pub restrict_realtime: bool,
    pub restrict_suid_sgid: bool,
    pub root_directory: Option<String>,
    pub root_image: Option<String>,
    /// MountImages= was given (and not reset).
    pub mount_images: bool,
    pub umask: u32,
    pub syscall_archs: BTreeSet<String>,
    /// SystemCallFilter=: allow list?, and syscall name -> errno (-1: none).
    pub syscall_allow_list: bool,
    pub syscall_filter: Option<BTreeMap<String, i32>>,
    pub delegate: bool,
    pub device_policy: String,
    /// DeviceAllow= entries, newest first (systemd prepends), with rights.
    pub device_allow: Vec<(String, String)>,
    pub ip_address_allow: Vec<IpPrefix>,
    pub ip_address_deny: Vec<IpPrefix>,
    pub ip_ingress_filters: Vec<String>,
    pub ip_egress_filters: Vec<String>,
}

impl SecurityContext {
    fn new(unit: &str, release: Systemd) -> Self {
        SecurityContext {
            unit: unit.to_string(),
            release,
            user_scope: false,
            default_dependencies: true,
            service_type: "simple".into(),
            notify_access: "none".into(),
            user: None,
            dynamic_user: false,
            supplementary_groups: Vec::new(),
            ambient_capabilities: 0,
            capability_bounding_set: u64::MAX,
            keyring_mode: "private".into(),
            protect_proc: "default".into(),
            proc_subset: "all".into(),
            lock_personality: false,
            memory_deny_write_execute: false,
            no_new_privileges: false,
            protect_hostname: false,
            private_devices: false,
            private_mounts: None,
            private_network: false,
            private_tmp: false,
            private_users: false,
            protect_control_groups: false,
            protect_kernel_modules: false,
            protect_kernel_tunables: false,
            protect_kernel_logs: false,
            protect_clock: false,
            protect_home: "no".into(),
            protect_system: "no".into(),
            remove_ipc: false,
            address_families: None,
            address_families_allow_list: false,
            restrict_namespaces: NAMESPACE_FLAGS_INITIAL,
            restrict_realtime: false,
            restrict_suid_sgid: false,
            root_directory: None,
            root_image: None,
            mount_images: false,
            umask: 0o022,
            syscall_archs: BTreeSet::new(),
            syscall_allow_list: false,
            syscall_filter: None,
            delegate: false,
            device_policy: "auto".into(),
            device_allow: Vec::new(),
            ip_address_allow: Vec::new(),
            ip_address_deny: Vec::new(),
            ip_ingress_filters: Vec::new(),
            ip_egress_filters: Vec::new(),
        }
    }

    /// Read a loaded unit's assignments as `release` does.
    pub fn from_unit(unit: &Unit, release: Systemd) -> Self {
        let mut c = SecurityContext::new(&unit.name, release);
        if unit.user {
            // A user manager's default (systemd-analyze --user scores it).
            c.keyring_mode = "inherit".into();
            c.user_scope = true;
        }
        let spec = Specifiers::new(&unit.name);
        let mut notify_access_set = false;
        for a in &unit.assignments {
            let v = a.value.as_str();
            match (a.section.as_str(), a.key.as_str()) {
                ("Unit", "DefaultDependencies") => set_bool(&mut c.default_dependencies, v),
                ("Service", key) => {
                    if key == "NotifyAccess" {
                        notify_access_set |= c.read_service(key, v, &spec);
                    } else {
                        c.read_service(key, v, &spec);
                    }
                }
                _ => {}
            }
        }
        c.patch(notify_access_set, &spec);
        c
    }

    /// One [Service] assignment. Returns true when the value was accepted.
    fn read_service(&mut self, key: &str, v: &str, spec: &Specifiers) -> bool {
        match key {
            "Type" => return set_enum(&mut self.service_type, v, SERVICE_TYPES),
            "NotifyAccess" => {
                if v.is_empty() {
                    self.notify_access = "none".into();
                    return false;
                }
                return set_enum(&mut self.notify_access, v, &["none", "main", "exec", "all"]);
            }
            "User" => {
                if v.is_empty() {
                    self.user = None;
                } else {
                    self.user = Some(spec.expand(v));
                }
            }
            "DynamicUser" => set_bool(&mut self.dynamic_user, v),
            "SupplementaryGroups" => {
                if v.is_empty() {
                    self.supplementary_groups.clear();
                } else {
                    self.supplementary_groups
                        .extend(words(v).into_iter().map(|w| spec.expand(&w)));
                }
            }
            "AmbientCapabilities" => read_capabilities(&mut self.ambient_capabilities, v, 0),
            "CapabilityBoundingSet" => {
                read_capabilities(&mut self.capability_bounding_set, v, u64::MAX)
            }
            "KeyringMode" => {
                return set_enum(&mut self.keyring_mode, v, &["inherit", "private", "shared"])
            }
            "ProtectProc" => {
                return set_enum(
                    &mut self.protect_proc,
                    v,
                    &["default", "noaccess", "invisible", "ptraceable"],
                )
            }
            "ProcSubset" => return set_enum(&mut self.proc_subset, v, &["all", "pid"]),
            "LockPersonality" => set_bool(&mut self.lock_personality, v),
            "MemoryDenyWriteExecute" => set_bool(&mut self.memory_deny_write_execute, v),
            "NoNewPrivileges" => set_bool(&mut self.no_new_privileges, v),
            "ProtectHostname" => set_bool_since(&mut self.protect_hostname, key, v, self.release.0),
            "PrivateDevices" => set_bool(&mut self.private_devices, v),
            "PrivateMounts" => {
                if let Some(b) = parse_boolean(v) {
                    self.private_mounts = Some(b);
                } else if v.is_empty() && self.release.0 >= PRIVATE_MOUNTS_TRISTATE_SINCE {
                    self.private_mounts = None;
                }
            }
            "PrivateNetwork" => set_bool(&mut self.private_network, v),
            "PrivateTmp" => set_bool_since(&mut self.private_tmp, key, v, self.release.0),
            "PrivateUsers" => set_bool_since(&mut self.private_users, key, v, self.release.0),
            "ProtectControlGroups" => {
                set_bool_since(&mut self.protect_control_groups, key, v, self.release.0)
            }
            "ProtectKernelModules" => set_bool(&mut self.protect_kernel_modules, v),
            "ProtectKernelTunables" => set_bool(&mut self.protect_kernel_tunables, v),
            "ProtectKernelLogs" => set_bool(&mut self.protect_kernel_logs, v),
            "ProtectClock" => set_bool(&mut self.protect_clock, v),
            "ProtectHome" => set_tristate(&mut self.protect_home, v, &["read-only", "tmpfs"]),
            "ProtectSystem" => set_tristate(&mut self.protect_system, v, &["full", "strict"]),
            "RemoveIPC" => set_bool(&mut self.remove_ipc, v),
            "RestrictAddressFamilies" => self.read_address_families(v),
            "RestrictNamespaces" => self.read_namespaces(v),
            "RestrictRealtime" => set_bool(&mut self.restrict_realtime, v),
            "RestrictSUIDSGID" => set_bool(&mut self.restrict_suid_sgid, v),
            "RootDirectory" => {
                self.root_directory = (!v.is_empty()).then(|| spec.expand(v));
            }
            "RootImage" => {
                self.root_image = (!v.is_empty()).then(|| spec.expand(v));
            }
            "MountImages" => self.mount_images = !v.is_empty(),
            "UMask" => {
                if let Ok(m) = u32::from_str_radix(v, 8) {
                    if m <= 0o7777 {
                        self.umask = m;
                    }
                }
            }
            "SystemCallArchitectures" => {
                if v.is_empty() {
                    self.syscall_archs.clear();
                } else {
                    for w in words(v) {
                        if SECCOMP_ARCHS.contains(&w.as_str()) {
                            self.syscall_archs.insert(w);
                        }
                    }
                }
            }
            "SystemCallFilter" => self.read_syscall_filter(v),
            "Delegate" => {
                if v.is_empty() {
                    self.delegate = true;
                } else if let Some(b) = parse_boolean(v) {
                    self.delegate = b;
                } else {
                    // A list of controllers turns delegation on.
                    self.delegate = true;
                }
            }
            "DevicePolicy" => {
                return set_enum(&mut self.device_policy, v, &["auto", "closed", "strict"])
            }
            "DeviceAllow" => self.read_device_allow(v, spec),
            "IPAddressAllow" => read_prefixes(&mut self.ip_address_allow, v),
            "IPAddressDeny" => read_prefixes(&mut self.ip_address_deny, v),
            "IPIngressFilterPath" => read_paths(&mut self.ip_ingress_filters, v),
            "IPEgressFilterPath" => read_paths(&mut self.ip_egress_filters, v),
            _ => return false,
        }
        true
    }

    fn read_address_families(&mut self, v: &str) {
        if v.is_empty() {
            self.address_families = None;
            self.address_families_allow_list = false;
            return;
        }
        if v == "none" {
            self.address_families = None;
            self.address_families_allow_list = true;
            return;
        }
        let (invert, rest) = match v.strip_prefix('~') {
            Some(rest) => (true, rest),
            None => (false, v),
        };
        if self.address_families.is_none() {
            self.address_families_allow_list = !invert;
        }
        let allow_list = self.address_families_allow_list;
        let set = self.address_families.get_or_insert_with(BTreeSet::new);
        for w in words(rest) {
            let Some(af) = ADDRESS_FAMILIES.iter().find(|f| **f == w) else {
                continue;
            };
            if invert != allow_list {
                set.insert(af.to_string());
            } else {
                set.remove(*af);
            }
        }
    }

    fn read_namespaces(&mut self, v: &str) {
        if v.is_empty() {
            self.restrict_namespaces = NAMESPACE_FLAGS_INITIAL;
            return;
        }
        if let Some(b) = parse_boolean(v) {
            self.restrict_namespaces = if b { 0 } else { NAMESPACE_FLAGS_ALL };
            return;
        }
        let (invert, rest) = match v.strip_prefix('~') {
            Some(rest) => (true, rest),
            None => (false, v),
        };
        let mut flags = 0u64;
        for w in words(rest) {
            match NAMESPACES.iter().find(|(n, _)| *n == w) {
                Some((_, f)) => flags |= f,
                // One unknown name makes systemd ignore the whole line.
                None => return,
            }
        }
        if self.restrict_namespaces == NAMESPACE_FLAGS_INITIAL {
            self.restrict_namespaces = if invert {
                !flags & NAMESPACE_FLAGS_ALL
            } else {
                flags
            };
        } else if invert {
            self.restrict_namespaces &= !flags;
        } else {
            self.restrict_namespaces |= flags;
        }
    }

    fn read_syscall_filter(&mut self, v: &str) {
        if v.is_empty() {
            self.syscall_filter = None;
            self.syscall_allow_list = false;
            return;
        }
        let (invert, rest) = match v.strip_prefix('~') {
            Some(rest) => (true, rest),
            None => (false, v),
        };
        if self.syscall_filter.is_none() {
            let mut filter = BTreeMap::new();
            self.syscall_allow_list = !invert;
            if !invert {
                // An allow list always permits the @default set.
                syscall_data(self.release).add_syscall(&mut filter, "@default", -1, true);
            }
            self.syscall_filter = Some(filter);
        }
        let allow_list = self.syscall_allow_list;
        let Some(filter) = self.syscall_filter.as_mut() else {
            return;
        };
        for w in words(rest) {
            let (name, errno) = match w.split_once(':') {
                Some((n, e)) => (n.to_string(), parse_errno(e)),
                None => (w.clone(), -1),
            };
            let add = invert != allow_list;
            syscall_data(self.release).add_syscall(filter, &name, errno, add);
        }
    }

    fn read_device_allow(&mut self, v: &str, spec: &Specifiers) {
        if v.is_empty() {
            self.device_allow.clear();
            return;
        }
        let mut parts = v.splitn(2, |c: char| c.is_ascii_whitespace());
        let path = spec.expand(&unquote(parts.next().unwrap_or("")));
        let rights = parts.next().unwrap_or("").trim();
        if !(path.starts_with("block-") || path.starts_with("char-")) {
            let normalized =
                path.starts_with("/dev/") || path.starts_with("/run/systemd/inaccessible/");
            if !normalized || path.split('/').any(|c| c == ".." || c == ".") {
                return;
            }
        }
        if !rights.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
            return;
        }
        let rights = if rights.is_empty() { "rwm" } else { rights };
        let mut canonical = String::new();
        for c in ['r', 'w', 'm'] {
            if rights.contains(c) {
                canonical.push(c);
            }
        }
        self.device_allow.insert(0, (path, canonical));
    }

    /// What systemd adds when it loads the unit (unit_patch_contexts and the
    /// service defaults).
    fn patch(&mut self, notify_access_set: bool, spec: &Specifiers) {
        if self.service_type == "notify" && !notify_access_set && self.notify_access == "none" {
            self.notify_access = "main".into();
        }
        if self.private_devices {
            self.capability_bounding_set &= !(cap("cap_mknod") | cap("cap_sys_rawio"));
        }
        if self.protect_kernel_modules {
            self.capability_bounding_set &= !cap("cap_sys_module");
        }
        if self.protect_kernel_logs {
            self.capability_bounding_set &= !cap("cap_syslog");
        }
        if self.protect_clock {
            self.capability_bounding_set &= !(cap("cap_sys_time") | cap("cap_wake_alarm"));
        }
        if self.dynamic_user {
            if self.user.is_none() {
                self.user = Some(spec.prefix().to_string());
            }
            self.private_tmp = true;
            self.remove_ipc = true;
            self.protect_system = "strict".into();
            if self.protect_home == "no" {
                self.protect_home = "read-only".into();
            }
            self.no_new_privileges = true;
            self.restrict_suid_sgid = true;
        }
        if self.private_devices && self.device_policy == "auto" {
            self.device_policy = "closed".into();
        }
        let restricted = self.device_policy != "auto" || !self.device_allow.is_empty();
        if restricted && (self.root_image.is_some() || self.mount_images) {
            // Loop devices and device-mapper, which attaching an image needs.
            for (dev, rights) in [
                ("/dev/loop-control", "rw"),
                ("/dev/mapper/control", "rw"),
                ("block-loop", "rwm"),
                ("block-blkext", "rwm"),
                ("block-device-mapper", "rwm"),
            ] {
                self.device_allow.insert(0, (dev.into(), rights.into()));
            }
        }
        if self.protect_clock && (self.device_policy != "auto" || !self.device_allow.is_empty()) {
            self.device_allow.insert(0, ("char-rtc".into(), "r".into()));
        }
    }

    /// The syscall names the filter holds, as systemd-analyze sees them:
    /// in an allow list, entries carrying an errno are not "allowed".
    pub fn filter_names(&self) -> BTreeSet<&str> {
        let Some(filter) = &self.syscall_filter else {
            return BTreeSet::new();
        };
        filter
            .iter()
            .filter(|(_, errno)| !(self.syscall_allow_list && **errno >= 0))
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unit_file::parse;
    use std::path::{Path, PathBuf};

    fn ctx(text: &str) -> SecurityContext {
        let unit = Unit {
            name: "t.service".into(),
            fragment: PathBuf::from("/t.service"),
            dropins: vec![],
            files_read: vec![],
            assignments: parse(text, Path::new("/t.service")),
            user: false,
        };
        SecurityContext::from_unit(&unit, Systemd(252))
    }

    #[test]
    fn capability_lists_merge_and_reset_like_systemd() {
        let c = ctx("[Service]\nCapabilityBoundingSet=CAP_CHOWN\nCapabilityBoundingSet=CAP_KILL\n");
        assert_eq!(
            c.capability_bounding_set,
            cap("cap_chown") | cap("cap_kill")
        );
        let c =
            ctx("[Service]\nCapabilityBoundingSet=~CAP_CHOWN\nCapabilityBoundingSet=~CAP_KILL\n");
        assert_eq!(
            c.capability_bounding_set,
            !(cap("cap_chown") | cap("cap_kill"))
        );
        let c = ctx("[Service]\nCapabilityBoundingSet=CAP_CHOWN\nCapabilityBoundingSet=\n");
        assert_eq!(c.capability_bounding_set, 0);
    }

    #[test]
    fn namespaces_merge() {
        let c = ctx("[Service]\nRestrictNamespaces=~user\nRestrictNamespaces=user net\n");
        assert_eq!(c.restrict_namespaces, NAMESPACE_FLAGS_ALL);
        let c = ctx("[Service]\nRestrictNamespaces=net\nRestrictNamespaces=~net\n");
        assert_eq!(c.restrict_namespaces, 0);
    }

    #[test]
    fn syscall_allow_list_contains_default_and_removes_inverted() {
        let c = ctx("[Service]\nSystemCallFilter=@system-service\nSystemCallFilter=~@privileged\n");
        let names = c.filter_names();
        assert!(c.syscall_allow_list);
        assert!(names.contains("read") && names.contains("exit_group"));
        assert!(!names.contains("chown"));
        assert!(!names.contains("getegid32"), "not an x86_64 syscall");
    }

    #[test]
    fn dynamic_user_tightens_the_sandbox() {
        let c = ctx("[Service]\nDynamicUser=yes\n");
        assert_eq!(c.user.as_deref(), Some("t"));
        assert!(c.private_tmp && c.remove_ipc && c.no_new_privileges && c.restrict_suid_sgid);
        assert_eq!(c.protect_system, "strict");
        assert_eq!(c.protect_home, "read-only");
    }
}
