//! How systemd 252 reads the values of sandboxing settings: booleans,
//! word lists with quoting, capability and namespace names, address
//! families, IP prefixes, syscall groups, and the unit-name specifiers.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::unit_file::split_name;

use super::release::Systemd;
use super::{syscall_groups, syscall_groups_257, syscall_groups_262};

/// The capability names of Linux, by number.
pub const CAPABILITIES: &[&str] = &[
    "cap_chown",
    "cap_dac_override",
    "cap_dac_read_search",
    "cap_fowner",
    "cap_fsetid",
    "cap_kill",
    "cap_setgid",
    "cap_setuid",
    "cap_setpcap",
    "cap_linux_immutable",
    "cap_net_bind_service",
    "cap_net_broadcast",
    "cap_net_admin",
    "cap_net_raw",
    "cap_ipc_lock",
    "cap_ipc_owner",
    "cap_sys_module",
    "cap_sys_rawio",
    "cap_sys_chroot",
    "cap_sys_ptrace",
    "cap_sys_pacct",
    "cap_sys_admin",
    "cap_sys_boot",
    "cap_sys_nice",
    "cap_sys_resource",
    "cap_sys_time",
    "cap_sys_tty_config",
    "cap_mknod",
    "cap_lease",
    "cap_audit_write",
    "cap_audit_control",
    "cap_setfcap",
    "cap_mac_override",
    "cap_mac_admin",
    "cap_syslog",
    "cap_wake_alarm",
    "cap_block_suspend",
    "cap_audit_read",
    "cap_perfmon",
    "cap_bpf",
    "cap_checkpoint_restore",
];

/// Bit of a capability by name (`CAP_SYS_ADMIN`, any case) or number.
pub fn capability_bit(name: &str) -> Option<u64> {
    let lower = name.to_ascii_lowercase();
    if let Some(i) = CAPABILITIES.iter().position(|c| *c == lower) {
        return Some(1u64 << i);
    }
    match name.parse::<u32>() {
        Ok(n) if n < 63 => Some(1u64 << n),
        _ => None,
    }
}

pub fn cap(name: &str) -> u64 {
    capability_bit(name).unwrap_or(0)
}

/// Namespace types as RestrictNamespaces= names them, with their clone flags.
pub const NAMESPACES: &[(&str, u64)] = &[
    ("cgroup", 0x0200_0000),
    ("ipc", 0x0800_0000),
    ("net", 0x4000_0000),
    ("mnt", 0x0002_0000),
    ("pid", 0x2000_0000),
    ("user", 0x1000_0000),
    ("uts", 0x0400_0000),
];
pub const NAMESPACE_FLAGS_ALL: u64 =
    0x0200_0000 | 0x0800_0000 | 0x4000_0000 | 0x0002_0000 | 0x2000_0000 | 0x1000_0000 | 0x0400_0000;
/// "Not set": every namespace allowed, and the next list replaces it.
pub const NAMESPACE_FLAGS_INITIAL: u64 = u64::MAX;

/// Address families the kernel knows (RestrictAddressFamilies= accepts these).
pub const ADDRESS_FAMILIES: &[&str] = &[
    "AF_UNIX",
    "AF_INET",
    "AF_AX25",
    "AF_IPX",
    "AF_APPLETALK",
    "AF_NETROM",
    "AF_BRIDGE",
    "AF_ATMPVC",
    "AF_X25",
    "AF_INET6",
    "AF_ROSE",
    "AF_DECnet",
    "AF_NETBEUI",
    "AF_SECURITY",
    "AF_KEY",
    "AF_NETLINK",
    "AF_PACKET",
    "AF_ASH",
    "AF_ECONET",
    "AF_ATMSVC",
    "AF_RDS",
    "AF_SNA",
    "AF_IRDA",
    "AF_PPPOX",
    "AF_WANPIPE",
    "AF_LLC",
    "AF_IB",
    "AF_MPLS",
    "AF_CAN",
    "AF_TIPC",
    "AF_BLUETOOTH",
    "AF_IUCV",
    "AF_RXRPC",
    "AF_ISDN",
    "AF_PHONET",
    "AF_IEEE802154",
    "AF_CAIF",
    "AF_ALG",
    "AF_NFC",
    "AF_VSOCK",
    "AF_KCM",
    "AF_QIPCRTR",
    "AF_SMC",
    "AF_XDP",
    "AF_MCTP",
];

/// An address prefix of IPAddressAllow=/IPAddressDeny=.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpPrefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl IpPrefix {
    pub fn is_localhost(&self) -> bool {
        match self.addr {
            IpAddr::V4(a) => a.octets()[0] == 127,
            IpAddr::V6(a) => a.is_loopback(),
        }
    }
}

pub const SERVICE_TYPES: &[&str] = &[
    "simple", "exec", "forking", "oneshot", "dbus", "notify", "idle",
];

/// Architecture names seccomp knows (SystemCallArchitectures=).
pub const SECCOMP_ARCHS: &[&str] = &[
    "native",
    "x86",
    "x86-64",
    "x32",
    "arm",
    "arm64",
    "loongarch64",
    "mips",
    "mips64",
    "mips64-n32",
    "mipsel",
    "mipsel64",
    "mipsel64-n32",
    "parisc",
    "parisc64",
    "ppc",
    "ppc64",
    "ppc64-le",
    "riscv64",
    "s390",
    "s390x",
];

/// Add or remove a syscall or a whole `@group` (recursively), keeping only
/// names that exist on this architecture, as libseccomp resolves them.
/// One release's syscall filter sets (in systemd's order, `@group`s nest)
/// and the names its libseccomp resolves on x86_64: generated data.
pub struct SyscallData {
    pub groups: &'static [(&'static str, &'static [&'static str])],
    pub native: &'static [&'static str],
}

/// Each release's data, by the release it was generated from: systemd
/// 257 added `@sandbox` to `@default`, new calls to `@default`,
/// `@basic-io`, `@file-system` and `@known`, and Debian 13's libseccomp
/// 2.6 resolves calls 2.5.4 does not (`mseal`, `listmount`, ...); 262
/// moved `open_tree` from `@mount` to `@file-system` and put
/// `open_tree_attr` in `@mount`. A release between two generated ones uses
/// the older data.
const SYSCALL_DATA: &[(u32, SyscallData)] = &[
    (
        0,
        SyscallData {
            groups: syscall_groups::SYSCALL_GROUPS,
            native: syscall_groups::NATIVE_SYSCALLS,
        },
    ),
    (
        257,
        SyscallData {
            groups: syscall_groups_257::SYSCALL_GROUPS,
            native: syscall_groups_257::NATIVE_SYSCALLS,
        },
    ),
    (
        262,
        SyscallData {
            groups: syscall_groups_262::SYSCALL_GROUPS,
            native: syscall_groups_262::NATIVE_SYSCALLS,
        },
    ),
];

pub fn syscall_data(release: Systemd) -> &'static SyscallData {
    SYSCALL_DATA
        .iter()
        .rev()
        .find(|(since, _)| *since <= release.0)
        .map(|(_, d)| d)
        .unwrap_or(&SYSCALL_DATA[0].1)
}

impl SyscallData {
    pub fn group(&self, name: &str) -> Option<&'static [&'static str]> {
        self.groups
            .iter()
            .find(|(g, _)| *g == name)
            .map(|(_, m)| *m)
    }

    pub fn is_native(&self, name: &str) -> bool {
        self.native.binary_search(&name).is_ok()
    }

    /// Add (or remove) a call or a group's calls, as systemd does: unknown
    /// groups and calls libseccomp cannot resolve are skipped.
    pub fn add_syscall(
        &self,
        filter: &mut BTreeMap<String, i32>,
        name: &str,
        errno: i32,
        add: bool,
    ) {
        if name.starts_with('@') {
            let Some(members) = self.group(name) else {
                return;
            };
            for member in members {
                self.add_syscall(filter, member, errno, add);
            }
            return;
        }
        if !self.is_native(name) {
            return;
        }
        if add {
            filter.insert(name.to_string(), errno);
        } else {
            filter.remove(name);
        }
    }
}

pub fn parse_errno(text: &str) -> i32 {
    if text == "kill" {
        return -2;
    }
    text.parse::<i32>().unwrap_or(1)
}

/// systemd's parse_boolean.
pub fn parse_boolean(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

/// Sandboxing booleans that gained named values, each of which turns the
/// setting on as systemd-analyze sees it, and the release that added them
/// (systemd's NEWS; before it they are invalid and ignored). An entry
/// ending in `:` is the value with an argument after the colon, which must
/// not be empty (`ProtectHostname=private:` is invalid).
pub const ON_VALUES: &[(&str, &[&str], u32)] = &[
    ("PrivateTmp", &["connected", "disconnected"], 257),
    ("PrivateUsers", &["self", "identity"], 257),
    ("ProtectControlGroups", &["private", "strict"], 257),
    ("PrivateUsers", &["full"], 258),
    ("ProtectHostname", &["private", "private:"], 258),
    ("PrivateUsers", &["managed"], 260),
];

/// A boolean `key` as `release` reads it: yes/no, or one of the named
/// values it has gained by then (on); anything else is ignored.
pub fn set_bool_since(target: &mut bool, key: &str, v: &str, release: u32) {
    let named = ON_VALUES.iter().any(|(k, values, since)| {
        *k == key
            && release >= *since
            && values.iter().any(|x| match x.strip_suffix(':') {
                Some(_) => v.starts_with(x) && v.len() > x.len(),
                None => *x == v,
            })
    });
    if named {
        *target = true;
    } else {
        set_bool(target, v);
    }
}

/// The release from which PrivateMounts= is a tristate (unset, no, yes):
/// systemd 254, whose NEWS says PrivateNetwork=yes now implies
/// PrivateMounts=yes unless PrivateMounts=no is given. An empty assignment
/// returns it to unset there; before, the empty value is ignored.
pub const PRIVATE_MOUNTS_TRISTATE_SINCE: u32 = 254;

pub fn set_bool(target: &mut bool, v: &str) {
    if let Some(b) = parse_boolean(v) {
        *target = b;
    }
}

pub fn set_enum(target: &mut String, v: &str, allowed: &[&str]) -> bool {
    if allowed.contains(&v) {
        *target = v.to_string();
        true
    } else {
        false
    }
}

/// ProtectHome=/ProtectSystem=: a boolean or one of the named levels.
pub fn set_tristate(target: &mut String, v: &str, named: &[&str]) {
    if let Some(b) = parse_boolean(v) {
        *target = if b { "yes" } else { "no" }.into();
    } else if named.contains(&v) {
        *target = v.to_string();
    }
}

pub fn read_capabilities(set: &mut u64, v: &str, initial: u64) {
    let (invert, rest) = match v.strip_prefix('~') {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    let mut sum = 0u64;
    for w in words(rest) {
        if let Some(bit) = capability_bit(&w) {
            sum |= bit;
        }
    }
    if sum == 0 || *set == initial {
        *set = if invert { !sum } else { sum };
    } else if invert {
        *set &= !sum;
    } else {
        *set |= sum;
    }
}

pub fn read_prefixes(list: &mut Vec<IpPrefix>, v: &str) {
    if v.is_empty() {
        list.clear();
        return;
    }
    for w in words(v) {
        let special: &[(&str, u8)] = match w.as_str() {
            "any" => &[("0.0.0.0", 0), ("::", 0)],
            "localhost" => &[("127.0.0.0", 8), ("::1", 128)],
            "link-local" => &[("169.254.0.0", 16), ("fe80::", 64)],
            "multicast" => &[("224.0.0.0", 4), ("ff00::", 8)],
            _ => &[],
        };
        if !special.is_empty() {
            for (addr, len) in special {
                if let Ok(addr) = addr.parse() {
                    list.push(IpPrefix { addr, len: *len });
                }
            }
            continue;
        }
        let (addr, len) = match w.split_once('/') {
            Some((a, l)) => (a, l.parse::<u8>().ok()),
            None => (w.as_str(), None),
        };
        let Ok(addr) = addr.parse::<IpAddr>() else {
            continue;
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = len.unwrap_or(max);
        if len > max {
            continue;
        }
        list.push(IpPrefix {
            addr: mask(addr, len),
            len,
        });
    }
}

pub fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            IpAddr::V6((bits & m).into())
        }
    }
}

pub fn read_paths(list: &mut Vec<String>, v: &str) {
    if v.is_empty() {
        list.clear();
    } else if v.starts_with('/') {
        list.push(v.to_string());
    }
}

/// Whitespace-separated words, with systemd's quoting ("a b" is one word).
pub fn words(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), '\\') => {
                if let Some(n) = chars.next() {
                    current.push(n);
                }
            }
            (Some(_), c) => current.push(c),
            (None, '"' | '\'') if !in_word || current.is_empty() => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_ascii_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            (None, c) => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(current);
    }
    out
}

pub fn unquote(v: &str) -> String {
    words(v).into_iter().next().unwrap_or_default()
}

/// The unit-name specifiers (`%n %N %p %P %i %I %j %J %%`) systemd expands.
#[derive(Debug, Clone)]
pub struct Specifiers {
    name: String,
    prefix: String,
    instance: String,
    suffix: String,
}

impl Specifiers {
    /// The unit's prefix (`foo` of `foo@bar.service`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn new(unit: &str) -> Self {
        let (prefix, instance, suffix) = split_name(unit).unwrap_or((unit, None, ""));
        Specifiers {
            name: unit.to_string(),
            prefix: prefix.to_string(),
            instance: instance.unwrap_or("").to_string(),
            suffix: suffix.to_string(),
        }
    }

    pub fn expand(&self, v: &str) -> String {
        let mut out = String::new();
        let mut chars = v.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let Some(s) = chars.next() else {
                out.push('%');
                break;
            };
            let stem = self
                .name
                .strip_suffix(&format!(".{}", self.suffix))
                .unwrap_or(&self.name);
            let last_dash = |p: &str| p.rsplit('-').next().unwrap_or(p).to_string();
            match s {
                '%' => out.push('%'),
                'n' => out.push_str(&self.name),
                'N' => out.push_str(stem),
                'p' => out.push_str(&self.prefix),
                'P' => out.push_str(&unescape(&self.prefix)),
                'i' => out.push_str(&self.instance),
                'I' => out.push_str(&unescape(&self.instance)),
                'j' => out.push_str(&last_dash(&self.prefix)),
                'J' => out.push_str(&unescape(&last_dash(&self.prefix))),
                other => {
                    out.push('%');
                    out.push(other);
                }
            }
        }
        out
    }
}

/// systemd's unit-name unescaping: `-` is `/`, `\xNN` is a byte.
pub fn unescape(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'-' {
            out.push(b'/');
            i += 1;
        } else if bytes[i] == b'\\' && i + 4 <= bytes.len() && bytes[i + 1] == b'x' {
            let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).ok();
            match hex.map(|h| u8::from_str_radix(h, 16)) {
                Some(Ok(b)) => {
                    out.push(b);
                    i += 4;
                }
                _ => {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specifiers_expand() {
        let s = Specifiers::new("foo-bar@a-b.service");
        assert_eq!(
            s.expand("%n %N %p %i %I %j %%"),
            "foo-bar@a-b.service foo-bar@a-b foo-bar a-b a/b bar %"
        );
    }

    #[test]
    fn unescaping_never_splits_a_character() {
        assert_eq!(Specifiers::new("a@\\x€b.service").expand("%I"), "\\x€b");
        assert_eq!(Specifiers::new("a@x\\x2dy.service").expand("%I"), "x-y");
    }

    #[test]
    fn words_honour_quotes() {
        assert_eq!(words(" a \"b c\" 'd' "), vec!["a", "b c", "d"]);
    }
}
