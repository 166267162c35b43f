//! The options sshd has, one row each, in the order `sshd -T` prints them
//! (OpenSSH's `dump_config`): the releases and builds that have it, its
//! spelling in docs and fixes, how a missing value prints, its built-in
//! value, and whether a matching Match block copies it over the global
//! value (`copy_set_server_options`). The printer's order and defaults,
//! the parser's release check, the Match copy and the display names are
//! all read from here; [`crate::keywords`] keeps the spellings (aliases,
//! combination rule, Match permission, value syntax) and a unit test
//! checks that the two tables agree.

use crate::version::{Flavour, Release, Version};

/// Which builds have an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builds {
    All,
    /// Debian's patches only (GSS-API key exchange, DebianBanner).
    Debian,
}

/// How `sshd -T` prints the option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Print {
    /// `key value`, the value as stored.
    Value,
    /// `dump_cfg_string`: unset or `none` prints `none`.
    StringNone,
    /// A line (or lines) assembled by [`crate::print`] (ports, addresses,
    /// lists, algorithm lists, MaxStartups, penalties...).
    Assembled,
    /// Never printed (Match, Include, an option the build refuses).
    Never,
}

/// The built-in value.
#[derive(Debug, Clone, Copy)]
pub enum Builtin {
    /// Prints as `none` (or nothing, for lists).
    Unset,
    Text(&'static str),
    /// Depends on the release (and Debian revision).
    Release(fn(&Release) -> &'static str),
}

/// Does a matching Match block replace the global value?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copied {
    No,
    Yes,
    Since(Version),
    /// Copied, except in these releases (from, to excluded): the 10.4
    /// option table marked PAMServiceName "copy none", which 10.4 and
    /// 10.5 show; Debian testing's 10.6p1 copies it again.
    Except(Version, Version),
}

#[derive(Debug, Clone, Copy)]
pub struct OptionRow {
    /// The name `sshd -T` prints, and the config's first spelling.
    pub key: &'static str,
    /// The spelling in documentation and fixes.
    pub display: &'static str,
    pub since: Version,
    /// First release without it (for the builds in `builds`).
    pub until: Option<Version>,
    pub builds: Builds,
    pub print: Print,
    /// First release whose `sshd -T` prints it, when later than `since`
    /// (Debian's DebianBanner: accepted by 9.2, printed from 9.6).
    pub printed_from: Option<Version>,
    pub default: Builtin,
    pub copied: Copied,
    /// From this release Debian's build leaves the option out (its 10.6p1
    /// is built without Kerberos and GSS-API): its keywords are accepted
    /// and ignored ("Unsupported option"), and it is not printed.
    pub built_out: Option<Version>,
    /// From this release `sshd -T` prints it right after another option
    /// (10.3 moved RevokedKeys, now a list, after AuthorizedKeysFile).
    pub moved: Option<(Version, &'static str)>,
    /// First release whose upstream build prints it (Debian's patches
    /// print GSSAPIStrictAcceptorCheck in every release, upstream from
    /// 10.1, commit 6fd9306).
    pub upstream_printed_from: Option<Version>,
}

const V90: Version = Version::new(9, 0);

const fn row(
    key: &'static str,
    display: &'static str,
    print: Print,
    default: Builtin,
    copied: Copied,
) -> OptionRow {
    OptionRow {
        key,
        display,
        since: V90,
        until: None,
        builds: Builds::All,
        print,
        printed_from: None,
        default,
        copied,
        built_out: None,
        moved: None,
        upstream_printed_from: None,
    }
}
const fn moved(mut r: OptionRow, v: Version, after: &'static str) -> OptionRow {
    r.moved = Some((v, after));
    r
}
const fn printed_from(mut r: OptionRow, v: Version) -> OptionRow {
    r.printed_from = Some(v);
    r
}
const fn upstream_printed_from(mut r: OptionRow, v: Version) -> OptionRow {
    r.upstream_printed_from = Some(v);
    r
}
const fn since(mut r: OptionRow, v: Version) -> OptionRow {
    r.since = v;
    r
}
const fn until(mut r: OptionRow, v: Version) -> OptionRow {
    r.until = Some(v);
    r
}
const fn built_out(mut r: OptionRow, v: Version) -> OptionRow {
    r.built_out = Some(v);
    r
}
const V106: Version = Version::new(10, 6);
const fn debian(mut r: OptionRow) -> OptionRow {
    r.builds = Builds::Debian;
    r
}

use Builtin::{Text as D, Unset};
use Copied::{No, Yes};
use Print::{Assembled as A, StringNone as S, Value as P};

fn ipqos(r: &Release) -> &'static str {
    // Debian's 9.2 build keeps the old TOS names; upstream moved to
    // `af21 cs1`, then in 10.1 to `ef cs0`; Debian 13 backported the
    // interactive `ef` in 1:10.0p1-7+deb13u3 and kept `cs1` for bulk.
    let v = r.model();
    match r.flavour {
        Flavour::Debian if v < Version::new(9, 8) => "lowdelay throughput",
        Flavour::Debian
            if v < Version::new(10, 1) && r.debian_at_least(Version::new(10, 0), 7, 13, 3) =>
        {
            "ef cs1"
        }
        _ if v >= Version::new(10, 1) => "ef cs0",
        _ => "af21 cs1",
    }
}

/// Every option, in `dump_config` order.
#[rustfmt::skip]
pub static OPTIONS: &[OptionRow] = &[
    row("port", "Port", A, D("22"), No),
    row("addressfamily", "AddressFamily", P, D("any"), No),
    row("listenaddress", "ListenAddress", A, Unset, No),
    row("usepam", "UsePAM", P, D("no"), No),
    since(row("pamservicename", "PAMServiceName", P, D("sshd"), Copied::Except(Version::new(10, 4), V106)), Version::new(9, 8)),
    row("logingracetime", "LoginGraceTime", P, D("120"), No),
    row("x11displayoffset", "X11DisplayOffset", P, D("10"), Yes),
    row("maxauthtries", "MaxAuthTries", P, D("6"), Yes),
    row("maxsessions", "MaxSessions", P, D("10"), Yes),
    row("clientaliveinterval", "ClientAliveInterval", P, D("0"), Yes),
    row("clientalivecountmax", "ClientAliveCountMax", P, D("3"), Yes),
    since(row("requiredrsasize", "RequiredRSASize", P, D("1024"), Yes), Version::new(9, 1)),
    row("streamlocalbindmask", "StreamLocalBindMask", P, D("0177"), Yes),
    since(row("unusedconnectiontimeout", "UnusedConnectionTimeout", A, D("0"), Yes), Version::new(9, 2)),
    row("permitrootlogin", "PermitRootLogin", P, D("without-password"), Yes),
    row("ignorerhosts", "IgnoreRhosts", P, D("yes"), Yes),
    row("ignoreuserknownhosts", "IgnoreUserKnownHosts", P, D("no"), No),
    row("hostbasedauthentication", "HostbasedAuthentication", P, D("no"), Yes),
    row("hostbasedusesnamefrompacketonly", "HostbasedUsesNameFromPacketOnly", P, D("no"), Yes),
    row("pubkeyauthentication", "PubkeyAuthentication", P, D("yes"), Yes),
    built_out(row("kerberosauthentication", "KerberosAuthentication", P, D("no"), Yes), V106),
    built_out(row("kerberosorlocalpasswd", "KerberosOrLocalPasswd", P, D("yes"), No), V106),
    built_out(row("kerberosticketcleanup", "KerberosTicketCleanup", P, D("yes"), No), V106),
    built_out(row("gssapiauthentication", "GSSAPIAuthentication", P, D("no"), Yes), V106),
    built_out(row("gssapicleanupcredentials", "GSSAPICleanupCredentials", P, D("yes"), No), V106),
    until(debian(row("gssapikeyexchange", "GSSAPIKeyExchange", P, D("no"), No)), V106),
    built_out(since(row("gssapidelegatecredentials", "GSSAPIDelegateCredentials", P, D("yes"), No), Version::new(10, 3)), V106),
    built_out(upstream_printed_from(row("gssapistrictacceptorcheck", "GSSAPIStrictAcceptorCheck", P, D("yes"), No), Version::new(10, 1)), V106),
    until(debian(row("gssapistorecredentialsonrekey", "GSSAPIStoreCredentialsOnRekey", P, D("no"), No)), V106),
    until(debian(row("gssapikexalgorithms", "GSSAPIKexAlgorithms", P, D(crate::algorithms::DEF_GSS_KEX), No)), V106),
    row("passwordauthentication", "PasswordAuthentication", P, D("yes"), Yes),
    row("kbdinteractiveauthentication", "KbdInteractiveAuthentication", P, D("yes"), Yes),
    row("printmotd", "PrintMotd", P, D("yes"), No),
    row("printlastlog", "PrintLastLog", P, D("yes"), No),
    row("x11forwarding", "X11Forwarding", P, D("no"), Yes),
    row("x11uselocalhost", "X11UseLocalhost", P, D("yes"), Yes),
    row("permittty", "PermitTTY", P, D("yes"), Yes),
    row("permituserrc", "PermitUserRC", P, D("yes"), Yes),
    row("strictmodes", "StrictModes", P, D("yes"), No),
    row("tcpkeepalive", "TCPKeepAlive", P, D("yes"), No),
    row("permitemptypasswords", "PermitEmptyPasswords", P, D("no"), Yes),
    row("compression", "Compression", P, D("yes"), No),
    row("gatewayports", "GatewayPorts", P, D("no"), Yes),
    row("usedns", "UseDNS", P, D("no"), No),
    row("allowtcpforwarding", "AllowTcpForwarding", P, D("yes"), Yes),
    row("allowagentforwarding", "AllowAgentForwarding", P, D("yes"), Yes),
    row("disableforwarding", "DisableForwarding", P, D("no"), Yes),
    row("allowstreamlocalforwarding", "AllowStreamLocalForwarding", P, D("yes"), Yes),
    row("streamlocalbindunlink", "StreamLocalBindUnlink", P, D("no"), Yes),
    row("fingerprinthash", "FingerprintHash", P, D("SHA256"), No),
    row("exposeauthinfo", "ExposeAuthInfo", P, D("no"), Yes),
    since(row("warnweakcrypto", "WarnWeakCrypto", P, D("true"), No), V106),
    since(row("refuseconnection", "RefuseConnection", P, D("no"), Yes), Version::new(9, 9)),
    printed_from(debian(row("debianbanner", "DebianBanner", P, D("yes"), No)), Version::new(9, 6)),
    row("pidfile", "PidFile", S, D("/run/sshd.pid"), No),
    row("modulifile", "ModuliFile", P, D("/etc/ssh/moduli"), No),
    row("xauthlocation", "XAuthLocation", S, D("/usr/bin/xauth"), No),
    row("ciphers", "Ciphers", A, Unset, No),
    row("macs", "MACs", A, Unset, No),
    row("banner", "Banner", S, Unset, Yes),
    row("forcecommand", "ForceCommand", S, Unset, Yes),
    row("chrootdirectory", "ChrootDirectory", S, Unset, Yes),
    row("trustedusercakeys", "TrustedUserCAKeys", S, Unset, Yes),
    moved(row("revokedkeys", "RevokedKeys", A, Unset, Yes), Version::new(10, 3), "authorizedkeysfile"),
    row("securitykeyprovider", "SecurityKeyProvider", S, D("internal"), No),
    row("authorizedprincipalsfile", "AuthorizedPrincipalsFile", S, Unset, Yes),
    row("versionaddendum", "VersionAddendum", A, D(""), No),
    row("authorizedkeyscommand", "AuthorizedKeysCommand", S, Unset, Yes),
    row("authorizedkeyscommanduser", "AuthorizedKeysCommandUser", S, Unset, Yes),
    row("authorizedprincipalscommand", "AuthorizedPrincipalsCommand", S, Unset, Yes),
    row("authorizedprincipalscommanduser", "AuthorizedPrincipalsCommandUser", S, Unset, Yes),
    row("hostkeyagent", "HostKeyAgent", S, Unset, No),
    row("kexalgorithms", "KexAlgorithms", A, Unset, No),
    row("casignaturealgorithms", "CASignatureAlgorithms", A, Unset, Yes),
    row("hostbasedacceptedalgorithms", "HostbasedAcceptedAlgorithms", A, Unset, Yes),
    row("hostkeyalgorithms", "HostKeyAlgorithms", A, Unset, No),
    row("pubkeyacceptedalgorithms", "PubkeyAcceptedAlgorithms", A, Unset, Yes),
    since(row("sshdsessionpath", "SshdSessionPath", P, D("/usr/lib/openssh/sshd-session"), No), Version::new(9, 8)),
    since(row("sshdauthpath", "SshdAuthPath", P, D("/usr/lib/openssh/sshd-auth"), No), Version::new(10, 0)),
    since(row("persourcepenaltyexemptlist", "PerSourcePenaltyExemptList", S, Unset, No), Version::new(9, 8)),
    since(row("agentsocketpath", "AgentSocketPath", P, D("user:.ssh/agent"), No), V106),
    row("loglevel", "LogLevel", P, D("INFO"), Yes),
    row("syslogfacility", "SyslogFacility", P, D("AUTH"), No),
    row("authorizedkeysfile", "AuthorizedKeysFile", P, D(".ssh/authorized_keys .ssh/authorized_keys2"), Yes),
    row("hostkey", "HostKey", A, Unset, No),
    row("hostcertificate", "HostCertificate", A, Unset, No),
    row("allowusers", "AllowUsers", A, Unset, Yes),
    row("denyusers", "DenyUsers", A, Unset, Yes),
    row("allowgroups", "AllowGroups", A, Unset, Yes),
    row("denygroups", "DenyGroups", A, Unset, Yes),
    row("acceptenv", "AcceptEnv", A, Unset, Yes),
    row("setenv", "SetEnv", A, Unset, Yes),
    row("authenticationmethods", "AuthenticationMethods", A, D("any"), Yes),
    row("logverbose", "LogVerbose", A, Unset, Yes),
    since(row("channeltimeout", "ChannelTimeout", A, Unset, Yes), Version::new(9, 2)),
    row("subsystem", "Subsystem", A, Unset, Copied::Since(Version::new(9, 5))),
    row("maxstartups", "MaxStartups", A, D("10:30:100"), No),
    row("persourcemaxstartups", "PerSourceMaxStartups", P, D("none"), No),
    row("persourcenetblocksize", "PerSourceNetBlockSize", P, D("32:128"), No),
    row("permittunnel", "PermitTunnel", P, D("no"), Yes),
    row("ipqos", "IPQoS", P, Builtin::Release(ipqos), Yes),
    row("rekeylimit", "RekeyLimit", A, D("0 0"), Yes),
    row("permitopen", "PermitOpen", A, D("any"), Yes),
    row("permitlisten", "PermitListen", A, D("any"), Yes),
    row("permituserenvironment", "PermitUserEnvironment", P, D("no"), No),
    row("pubkeyauthoptions", "PubkeyAuthOptions", P, D("none"), Yes),
    since(row("persourcepenalties", "PerSourcePenalties", A, Unset, No), Version::new(9, 8)),
    // Directives and options this build never prints.
    row("match", "Match", Print::Never, Unset, No),
    row("include", "Include", Print::Never, Unset, No),
    row("rdomain", "RDomain", Print::Never, Unset, Yes),
];

impl OptionRow {
    /// Does this release (and build) have the option?
    pub fn in_release(&self, r: &Release) -> bool {
        let v = r.model();
        v >= self.since
            && self.until.is_none_or(|u| v < u)
            && !self.built_out_in(r)
            && (self.builds == Builds::All || r.flavour == Flavour::Debian)
    }

    /// The build leaves it out in this release: accepted, ignored.
    pub fn built_out_in(&self, r: &Release) -> bool {
        r.flavour == Flavour::Debian && self.built_out.is_some_and(|b| r.model() >= b)
    }

    pub fn default_in(&self, r: &Release) -> Option<&'static str> {
        match self.default {
            Builtin::Unset => None,
            Builtin::Text(t) => Some(t),
            Builtin::Release(f) => Some(f(r)),
        }
    }
}

/// The row of an option (`sshd -T` key), or of a storage slot's option
/// (`maxstartups.begin` is MaxStartups').
pub fn row_of(key: &str) -> Option<&'static OptionRow> {
    let key = key.split('.').next().unwrap_or(key);
    OPTIONS.iter().find(|r| r.key == key)
}

/// The keys `sshd -T` of this release prints, in its order.
pub fn printed(r: &Release) -> impl Iterator<Item = &'static str> {
    let mut keys: Vec<&'static str> = OPTIONS
        .iter()
        .filter(|o| {
            o.print != Print::Never
                && o.in_release(r)
                && o.printed_from.is_none_or(|p| r.model() >= p)
                && (r.flavour == Flavour::Debian
                    || o.upstream_printed_from.is_none_or(|p| r.model() >= p))
        })
        .map(|o| o.key)
        .collect();
    for o in OPTIONS {
        if let Some((v, after)) = o.moved.filter(|(v, _)| r.model() >= *v) {
            let _ = v;
            if let Some(from) = keys.iter().position(|k| *k == o.key) {
                keys.remove(from);
                let to = keys
                    .iter()
                    .position(|k| *k == after)
                    .map_or(keys.len(), |i| i + 1);
                keys.insert(to, o.key);
            }
        }
    }
    keys.into_iter()
}

/// The name `sshd -T` prints: the lowercase key until 10.3; in 10.4 the
/// option table's mixed case for most; from 10.5 (upstream commit f6acdce,
/// "write all directives in mixed case") the keyword table's spelling for
/// all, which for MACs is `Macs`.
pub fn printed_name(key: &'static str, r: &Release) -> &'static str {
    let v = r.model();
    if v < Version::new(10, 4) {
        return key;
    }
    if v == Version::new(10, 4) {
        // 10.4's rewrite printed the table's options in its mixed case,
        // with its own GSSAPI names, and the hand-written ones in lowercase.
        match key {
            "port"
            | "listenaddress"
            | "subsystem"
            | "maxstartups"
            | "persourcemaxstartups"
            | "persourcenetblocksize"
            | "ipqos"
            | "rekeylimit"
            | "permitopen"
            | "permitlisten"
            | "pubkeyauthoptions"
            | "persourcepenalties" => return key,
            "gssapiauthentication" => return "GssAuthentication",
            "gssapicleanupcredentials" => return "GssCleanupCreds",
            "gssapidelegatecredentials" => return "GssDelegateCreds",
            "gssapistrictacceptorcheck" => return "GssStrictAcceptor",
            _ => {}
        }
    }
    match key {
        "macs" => "Macs",
        _ => row_of(key).map_or(key, |o| o.display),
    }
}

/// Does a matching Match block replace the global value of this slot?
pub fn copied_by_match(slot: &str, v: Version) -> bool {
    row_of(slot).is_some_and(|r| match r.copied {
        Copied::No => false,
        Copied::Yes => true,
        Copied::Since(s) => v >= s,
        Copied::Except(from, to) => v < from || v >= to,
    })
}

/// Printed with `dump_cfg_string` (a NULL prints `none`).
pub fn string_none(key: &str) -> bool {
    row_of(key).is_some_and(|r| r.print == Print::StringNone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keywords::{Status, KEYWORDS};

    /// The two tables agree: every option a spelling sets has a row, every
    /// row is set by a spelling of the same name, and the option's release
    /// bounds are those of its first spelling; Match permission and Match
    /// copying go together (an option Match may set but never copies
    /// would be a silent no-op).
    #[test]
    fn the_option_table_and_the_keyword_table_agree() {
        for k in KEYWORDS.iter().filter(|k| k.status == Status::Active) {
            let r = row_of(k.canon)
                .unwrap_or_else(|| panic!("{} sets {} with no row", k.name, k.canon));
            assert!(k.since <= r.since || k.name != r.key, "{}", k.name);
        }
        for r in OPTIONS {
            let first = KEYWORDS
                .iter()
                .find(|k| k.canon == r.key)
                .unwrap_or_else(|| panic!("row {} has no keyword", r.key));
            assert_eq!(
                first.name, r.key,
                "the first spelling of {} is the printed name",
                r.key
            );
            assert_eq!(first.since, r.since, "{}: since", r.key);
            assert_eq!(first.until, r.until, "{}: until", r.key);
            assert_eq!(r.display.to_ascii_lowercase(), r.key, "{}: display", r.key);
            let in_match = crate::keywords::allowed_in_match(first, Version::NEWEST);
            let copied = copied_by_match(r.key, Version::NEWEST);
            let directive = matches!(r.key, "match" | "include");
            assert!(
                directive || in_match == copied,
                "{}: allowed in Match {in_match} but copied {copied}",
                r.key
            );
        }
        let mut keys: Vec<&str> = OPTIONS.iter().map(|r| r.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), OPTIONS.len(), "one row per option");
    }

    #[test]
    fn each_release_prints_its_own_options() {
        let d = |v| Release::debian(v);
        let keys = |r: &Release| printed(r).collect::<Vec<_>>();
        let b = keys(&d(Version::new(9, 2)));
        assert!(!b.contains(&"pamservicename") && !b.contains(&"persourcepenalties"));
        assert!(b.contains(&"gssapikeyexchange"));
        let t = keys(&d(Version::new(10, 0)));
        for k in [
            "pamservicename",
            "refuseconnection",
            "persourcepenalties",
            "persourcepenaltyexemptlist",
            "sshdauthpath",
        ] {
            assert!(t.contains(&k), "{k}");
        }
        let up = keys(&Release::from_flag("10.0-upstream").unwrap());
        assert!(!up.contains(&"gssapikeyexchange") && !up.contains(&"debianbanner"));
        assert_eq!(
            printed_name("passwordauthentication", &d(Version::new(10, 3))),
            "passwordauthentication"
        );
        let t4 = d(Version::new(10, 4));
        assert_eq!(
            printed_name("passwordauthentication", &t4),
            "PasswordAuthentication"
        );
        assert_eq!(printed_name("port", &t4), "port");
        assert_eq!(
            printed_name("gssapiauthentication", &t4),
            "GssAuthentication"
        );
        assert_eq!(
            printed_name("passwordauthentication", &d(Version::new(10, 5))),
            "PasswordAuthentication"
        );
        assert_eq!(printed_name("macs", &d(Version::new(10, 6))), "Macs");
    }
}
