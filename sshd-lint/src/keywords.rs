//! Every sshd_config keyword sshd knows: how repeated lines combine, whether
//! it may appear inside `Match`, what its value is, and which releases have
//! it. The table follows the order of OpenSSH's own keyword table, because
//! the first entry for an option is the name `sshd -T` prints (so
//! `ChallengeResponseAuthentication` prints as `kbdinteractiveauthentication`).

use crate::version::Version;

/// How repeated lines for one option combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The first line that sets it wins; later lines are ignored.
    FirstWins,
    /// Each line overwrites the previous one (MaxStartups, IPQoS,
    /// StreamLocalBindMask, FingerprintHash, PerSourceNetBlockSize).
    LastWins,
    /// Every line adds its values (Port, ListenAddress, HostKey, AllowUsers...).
    Accumulate,
    /// Only the first *line* counts, with all its values (AuthorizedKeysFile,
    /// PermitOpen, AuthenticationMethods, SetEnv...).
    FirstLine,
    /// Subsystem: one entry per name.
    PerName,
    /// Deprecated or unsupported: accepted, logged, ignored.
    Ignored,
}

/// What a value looks like (for docs and for `--explain`-style output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Flag,
    Choice(&'static [&'static str]),
    Integer,
    Time,
    Port,
    Address,
    Path,
    Paths,
    Text,
    Command,
    Patterns,
    Algorithms,
    Special,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Deprecated,
    Unsupported,
    /// `Protocol`: silently ignored.
    Ignored,
}

#[derive(Debug, Clone, Copy)]
pub struct Keyword {
    /// Lowercase spelling accepted in the config.
    pub name: &'static str,
    /// The option it sets, named as `sshd -T` prints it.
    pub canon: &'static str,
    pub in_match: bool,
    pub rule: Rule,
    pub value: ValueType,
    pub since: Version,
    pub until: Option<Version>,
    pub status: Status,
    /// Debian's patches add some spellings (its GSS-API key exchange, the
    /// old blacklist and credential-cache keywords, DebianBanner): an
    /// upstream build does not know them ("Bad configuration option").
    pub builds: crate::options::Builds,
    /// One release that lacks it in between (10.4's option-table rewrite
    /// spelt the GSSAPI keywords `GssAuthentication`, ...; 10.5 restored
    /// the old names, upstream c147093).
    pub absent_in: Option<Version>,
}

const V90: Version = Version::new(9, 0);

const fn kw(
    name: &'static str,
    canon: &'static str,
    in_match: bool,
    rule: Rule,
    value: ValueType,
) -> Keyword {
    Keyword {
        name,
        canon,
        in_match,
        rule,
        value,
        since: V90,
        until: None,
        status: Status::Active,
        builds: crate::options::Builds::All,
        absent_in: None,
    }
}

const fn gone(name: &'static str, in_match: bool, status: Status) -> Keyword {
    Keyword {
        name,
        canon: name,
        in_match,
        rule: Rule::Ignored,
        value: ValueType::None,
        since: V90,
        until: None,
        status,
        builds: crate::options::Builds::All,
        absent_in: None,
    }
}

const V106: Version = Version::new(10, 6);

const fn until(mut k: Keyword, v: Version) -> Keyword {
    k.until = Some(v);
    k
}

/// Not in 10.4 (see [`Keyword::absent_in`]).
const fn not_in_10_4(mut k: Keyword) -> Keyword {
    k.absent_in = Some(V104);
    k
}
const V104: Version = Version::new(10, 4);
/// 10.4's own spelling of an option (only in 10.4).
const fn only_10_4(k: Keyword) -> Keyword {
    until(since(k, V104), Version::new(10, 5))
}

/// Known to Debian's build only.
const fn deb(mut k: Keyword) -> Keyword {
    k.builds = crate::options::Builds::Debian;
    k
}

const fn since(mut k: Keyword, v: Version) -> Keyword {
    k.since = v;
    k
}

use Rule::*;
use ValueType as T;

const ROOT: &[&str] = &[
    "without-password",
    "prohibit-password",
    "forced-commands-only",
    "yes",
    "no",
];
const FWD: &[&str] = &["yes", "all", "no", "remote", "local"];
const GW: &[&str] = &["clientspecified", "yes", "no"];
const AF: &[&str] = &["inet", "inet6", "any"];
const TUN: &[&str] = &["no", "point-to-point", "ethernet", "yes"];
const COMP: &[&str] = &["yes", "delayed", "no"];
const RHOSTS: &[&str] = &["yes", "no", "shosts-only"];

/// The keyword table, in OpenSSH's order.
#[rustfmt::skip]
pub static KEYWORDS: &[Keyword] = &[
    kw("usepam", "usepam", false, FirstWins, T::Flag),
    since(kw("pamservicename", "pamservicename", true, FirstWins, T::Text), Version::new(9, 8)),
    gone("pamauthenticationviakbdint", false, Status::Deprecated),
    kw("port", "port", false, Accumulate, T::Port),
    kw("hostkey", "hostkey", false, Accumulate, T::Path),
    kw("hostdsakey", "hostkey", false, Accumulate, T::Path),
    kw("hostkeyagent", "hostkeyagent", false, FirstWins, T::Path),
    kw("pidfile", "pidfile", false, FirstWins, T::Path),
    kw("modulifile", "modulifile", false, FirstWins, T::Path),
    gone("serverkeybits", false, Status::Deprecated),
    kw("logingracetime", "logingracetime", false, FirstWins, T::Time),
    gone("keyregenerationinterval", false, Status::Deprecated),
    kw("permitrootlogin", "permitrootlogin", true, FirstWins, T::Choice(ROOT)),
    kw("syslogfacility", "syslogfacility", false, FirstWins, T::Special),
    kw("loglevel", "loglevel", true, FirstWins, T::Special),
    kw("logverbose", "logverbose", true, FirstLine, T::Patterns),
    gone("rhostsauthentication", false, Status::Deprecated),
    gone("rhostsrsaauthentication", true, Status::Deprecated),
    kw("hostbasedauthentication", "hostbasedauthentication", true, FirstWins, T::Flag),
    kw("hostbasedusesnamefrompacketonly", "hostbasedusesnamefrompacketonly", true, FirstWins, T::Flag),
    kw("hostbasedacceptedalgorithms", "hostbasedacceptedalgorithms", true, FirstWins, T::Algorithms),
    kw("hostbasedacceptedkeytypes", "hostbasedacceptedalgorithms", true, FirstWins, T::Algorithms),
    kw("hostkeyalgorithms", "hostkeyalgorithms", false, FirstWins, T::Algorithms),
    gone("rsaauthentication", true, Status::Deprecated),
    kw("pubkeyauthentication", "pubkeyauthentication", true, FirstWins, T::Flag),
    kw("pubkeyacceptedalgorithms", "pubkeyacceptedalgorithms", true, FirstWins, T::Algorithms),
    kw("pubkeyacceptedkeytypes", "pubkeyacceptedalgorithms", true, FirstWins, T::Algorithms),
    kw("pubkeyauthoptions", "pubkeyauthoptions", true, FirstWins, T::Special),
    kw("dsaauthentication", "pubkeyauthentication", false, FirstWins, T::Flag),
    kw("kerberosauthentication", "kerberosauthentication", true, FirstWins, T::Flag),
    kw("kerberosorlocalpasswd", "kerberosorlocalpasswd", false, FirstWins, T::Flag),
    kw("kerberosticketcleanup", "kerberosticketcleanup", false, FirstWins, T::Flag),
    gone("kerberosgetafstoken", false, Status::Unsupported),
    gone("kerberostgtpassing", false, Status::Unsupported),
    gone("afstokenpassing", false, Status::Unsupported),
    not_in_10_4(kw("gssapiauthentication", "gssapiauthentication", true, FirstWins, T::Flag)),
    not_in_10_4(kw("gssapicleanupcredentials", "gssapicleanupcredentials", false, FirstWins, T::Flag)),
    deb(until(kw("gssapicleanupcreds", "gssapicleanupcredentials", false, FirstWins, T::Flag), V106)),
    not_in_10_4(since(kw("gssapidelegatecredentials", "gssapidelegatecredentials", false, FirstWins, T::Flag), Version::new(10, 3))),
    not_in_10_4(kw("gssapistrictacceptorcheck", "gssapistrictacceptorcheck", false, FirstWins, T::Flag)),
    only_10_4(kw("gssauthentication", "gssapiauthentication", true, FirstWins, T::Flag)),
    only_10_4(kw("gsscleanupcreds", "gssapicleanupcredentials", false, FirstWins, T::Flag)),
    only_10_4(kw("gssdelegatecreds", "gssapidelegatecredentials", false, FirstWins, T::Flag)),
    only_10_4(kw("gssstrictacceptor", "gssapistrictacceptorcheck", false, FirstWins, T::Flag)),
    deb(until(kw("gssapikeyexchange", "gssapikeyexchange", false, FirstWins, T::Flag), V106)),
    deb(until(kw("gssapistorecredentialsonrekey", "gssapistorecredentialsonrekey", false, FirstWins, T::Flag), V106)),
    deb(until(kw("gssapikexalgorithms", "gssapikexalgorithms", false, FirstWins, T::Algorithms), V106)),
    deb(gone("gssusesessionccache", false, Status::Unsupported)),
    deb(gone("gssapiusesessioncredcache", false, Status::Unsupported)),
    kw("passwordauthentication", "passwordauthentication", true, FirstWins, T::Flag),
    kw("kbdinteractiveauthentication", "kbdinteractiveauthentication", true, FirstWins, T::Flag),
    kw("challengeresponseauthentication", "kbdinteractiveauthentication", true, FirstWins, T::Flag),
    kw("skeyauthentication", "kbdinteractiveauthentication", true, FirstWins, T::Flag),
    gone("checkmail", false, Status::Deprecated),
    kw("listenaddress", "listenaddress", false, Accumulate, T::Address),
    kw("addressfamily", "addressfamily", false, FirstWins, T::Choice(AF)),
    kw("printmotd", "printmotd", false, FirstWins, T::Flag),
    kw("printlastlog", "printlastlog", false, FirstWins, T::Flag),
    kw("ignorerhosts", "ignorerhosts", true, FirstWins, T::Choice(RHOSTS)),
    kw("ignoreuserknownhosts", "ignoreuserknownhosts", false, FirstWins, T::Flag),
    kw("x11forwarding", "x11forwarding", true, FirstWins, T::Flag),
    kw("x11displayoffset", "x11displayoffset", true, FirstWins, T::Integer),
    kw("x11uselocalhost", "x11uselocalhost", true, FirstWins, T::Flag),
    kw("xauthlocation", "xauthlocation", false, FirstWins, T::Path),
    kw("strictmodes", "strictmodes", false, FirstWins, T::Flag),
    deb(gone("permitblacklistedkeys", false, Status::Deprecated)),
    kw("permitemptypasswords", "permitemptypasswords", true, FirstWins, T::Flag),
    kw("permituserenvironment", "permituserenvironment", false, FirstWins, T::Special),
    gone("uselogin", false, Status::Deprecated),
    kw("compression", "compression", false, FirstWins, T::Choice(COMP)),
    kw("rekeylimit", "rekeylimit", true, FirstWins, T::Special),
    kw("tcpkeepalive", "tcpkeepalive", false, FirstWins, T::Flag),
    kw("keepalive", "tcpkeepalive", false, FirstWins, T::Flag),
    kw("allowtcpforwarding", "allowtcpforwarding", true, FirstWins, T::Choice(FWD)),
    kw("allowagentforwarding", "allowagentforwarding", true, FirstWins, T::Flag),
    kw("allowusers", "allowusers", true, Accumulate, T::Patterns),
    kw("denyusers", "denyusers", true, Accumulate, T::Patterns),
    kw("allowgroups", "allowgroups", true, Accumulate, T::Patterns),
    kw("denygroups", "denygroups", true, Accumulate, T::Patterns),
    kw("ciphers", "ciphers", false, FirstWins, T::Algorithms),
    kw("macs", "macs", false, FirstWins, T::Algorithms),
    gone("protocol", false, Status::Ignored),
    kw("gatewayports", "gatewayports", true, FirstWins, T::Choice(GW)),
    kw("subsystem", "subsystem", false, PerName, T::Command),
    kw("maxstartups", "maxstartups", false, LastWins, T::Special),
    kw("persourcemaxstartups", "persourcemaxstartups", false, FirstWins, T::Integer),
    kw("persourcenetblocksize", "persourcenetblocksize", false, LastWins, T::Special),
    kw("maxauthtries", "maxauthtries", true, FirstWins, T::Integer),
    kw("maxsessions", "maxsessions", true, FirstWins, T::Integer),
    kw("banner", "banner", true, FirstWins, T::Path),
    kw("usedns", "usedns", false, FirstWins, T::Flag),
    gone("verifyreversemapping", false, Status::Deprecated),
    gone("reversemappingcheck", false, Status::Deprecated),
    kw("clientaliveinterval", "clientaliveinterval", true, FirstWins, T::Time),
    kw("clientalivecountmax", "clientalivecountmax", true, FirstWins, T::Integer),
    kw("authorizedkeysfile", "authorizedkeysfile", true, FirstLine, T::Paths),
    gone("authorizedkeysfile2", true, Status::Deprecated),
    gone("useprivilegeseparation", false, Status::Deprecated),
    kw("acceptenv", "acceptenv", true, Accumulate, T::Patterns),
    kw("setenv", "setenv", true, FirstLine, T::Text),
    kw("permittunnel", "permittunnel", true, FirstWins, T::Choice(TUN)),
    kw("permittty", "permittty", true, FirstWins, T::Flag),
    kw("permituserrc", "permituserrc", true, FirstWins, T::Flag),
    kw("match", "match", true, FirstWins, T::Special),
    kw("permitopen", "permitopen", true, FirstLine, T::Text),
    kw("permitlisten", "permitlisten", true, FirstLine, T::Text),
    kw("forcecommand", "forcecommand", true, FirstWins, T::Command),
    kw("chrootdirectory", "chrootdirectory", true, FirstWins, T::Path),
    kw("hostcertificate", "hostcertificate", false, Accumulate, T::Path),
    kw("revokedkeys", "revokedkeys", true, FirstWins, T::Path),
    kw("trustedusercakeys", "trustedusercakeys", true, FirstWins, T::Path),
    kw("authorizedprincipalsfile", "authorizedprincipalsfile", true, FirstWins, T::Path),
    kw("kexalgorithms", "kexalgorithms", false, FirstWins, T::Algorithms),
    kw("include", "include", true, Accumulate, T::Paths),
    kw("ipqos", "ipqos", true, LastWins, T::Special),
    kw("authorizedkeyscommand", "authorizedkeyscommand", true, FirstWins, T::Command),
    kw("authorizedkeyscommanduser", "authorizedkeyscommanduser", true, FirstWins, T::Text),
    kw("authorizedprincipalscommand", "authorizedprincipalscommand", true, FirstWins, T::Command),
    kw("authorizedprincipalscommanduser", "authorizedprincipalscommanduser", true, FirstWins, T::Text),
    kw("versionaddendum", "versionaddendum", false, FirstWins, T::Text),
    kw("authenticationmethods", "authenticationmethods", true, FirstLine, T::Special),
    kw("streamlocalbindmask", "streamlocalbindmask", true, LastWins, T::Special),
    kw("streamlocalbindunlink", "streamlocalbindunlink", true, FirstWins, T::Flag),
    kw("allowstreamlocalforwarding", "allowstreamlocalforwarding", true, FirstWins, T::Choice(FWD)),
    kw("fingerprinthash", "fingerprinthash", false, LastWins, T::Special),
    kw("disableforwarding", "disableforwarding", true, FirstWins, T::Flag),
    kw("exposeauthinfo", "exposeauthinfo", true, FirstWins, T::Flag),
    kw("rdomain", "rdomain", true, FirstWins, T::Text),
    kw("casignaturealgorithms", "casignaturealgorithms", true, FirstWins, T::Algorithms),
    kw("securitykeyprovider", "securitykeyprovider", false, FirstWins, T::Path),
    since(kw("requiredrsasize", "requiredrsasize", true, FirstWins, T::Integer), Version::new(9, 1)),
    since(kw("channeltimeout", "channeltimeout", true, FirstLine, T::Text), Version::new(9, 2)),
    since(kw("unusedconnectiontimeout", "unusedconnectiontimeout", true, FirstWins, T::Time), Version::new(9, 2)),
    since(kw("persourcepenalties", "persourcepenalties", false, FirstWins, T::Special), Version::new(9, 8)),
    since(kw("persourcepenaltyexemptlist", "persourcepenaltyexemptlist", false, FirstWins, T::Patterns), Version::new(9, 8)),
    since(kw("sshdsessionpath", "sshdsessionpath", false, FirstWins, T::Path), Version::new(9, 8)),
    since(kw("refuseconnection", "refuseconnection", true, FirstWins, T::Flag), Version::new(9, 9)),
    since(kw("sshdauthpath", "sshdauthpath", false, FirstWins, T::Path), Version::new(10, 0)),
    deb(kw("debianbanner", "debianbanner", false, FirstWins, T::Flag)),
    since(kw("warnweakcrypto", "warnweakcrypto", false, FirstWins, T::Flag), V106),
    since(kw("agentsocketpath", "agentsocketpath", false, FirstWins, T::Text), V106),
];

/// What a keyword of an option the build leaves out becomes: accepted,
/// logged as unsupported, ignored.
static BUILT_OUT: Keyword = gone("unsupported", true, Status::Unsupported);

/// Look a keyword up case-insensitively, as sshd's `parse_token` does.
pub fn lookup(word: &str, version: Version) -> Option<&'static Keyword> {
    KEYWORDS.iter().find(|k| {
        k.name.eq_ignore_ascii_case(word)
            && version >= k.since
            && k.until.is_none_or(|u| version < u)
            && k.absent_in != Some(version)
    })
}

/// [`lookup`] for a build: an option the release or build does not have
/// (Debian's GSS-API key exchange in an upstream build) is unknown.
pub fn lookup_in(word: &str, release: &crate::version::Release) -> Option<&'static Keyword> {
    let k = lookup(word, release.model())?;
    if k.builds == crate::options::Builds::Debian
        && release.flavour != crate::version::Flavour::Debian
    {
        return None;
    }
    let row = crate::options::row_of(k.canon);
    if k.status == Status::Active && row.is_some_and(|r| r.built_out_in(release)) {
        return Some(&BUILT_OUT);
    }
    (k.status != Status::Active || row.is_none_or(|r| r.in_release(release))).then_some(k)
}

/// May the keyword appear inside a Match block in this release? (Subsystem
/// became allowed in OpenSSH 9.5.)
pub fn allowed_in_match(k: &Keyword, version: Version) -> bool {
    // 10.4's table made PAMServiceName global-only by mistake; 10.5
    // allowed it in Match again (upstream 4c414d9).
    (k.in_match && !(k.canon == "pamservicename" && version == V104))
        || (k.canon == "subsystem" && version >= Version::new(9, 5))
}

/// OpenSSH 10.1 made MaxStartups and PerSourceNetBlockSize keep their
/// first value like every other option, and 10.3 IPQoS (they used to take
/// the last).
pub fn rule_in(k: &Keyword, version: Version) -> Rule {
    rule_of_slot(k.canon, k.rule, version)
}

/// [`rule_in`] for a storage slot (`maxstartups.begin`).
pub fn rule_of_slot(slot: &str, rule: Rule, version: Version) -> Rule {
    let since = match slot.split('.').next() {
        Some("maxstartups" | "persourcenetblocksize") => Version::new(10, 1),
        Some("ipqos") => Version::new(10, 3),
        // Still last-wins in 10.5's source; first-wins in 10.6 (checked
        // on Debian testing's 10.6p1).
        Some("streamlocalbindmask") => Version::new(10, 6),
        _ => return rule,
    };
    if version >= since {
        Rule::FirstWins
    } else {
        rule
    }
}

/// The table entry that defines an option's printed name.
pub fn by_canon(canon: &str) -> Option<&'static Keyword> {
    KEYWORDS.iter().find(|k| k.canon == canon)
}

/// The keyword spelling used in documentation and fixes (`PasswordAuthentication`).
pub fn display_name(canon: &str) -> &'static str {
    crate::options::row_of(canon).map_or("", |r| r.display)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_print_as_the_first_name_of_their_option() {
        let v = Version::new(9, 2);
        assert_eq!(
            lookup("ChallengeResponseAuthentication", v).unwrap().canon,
            "kbdinteractiveauthentication"
        );
        assert_eq!(
            lookup("PUBKEYACCEPTEDKEYTYPES", v).unwrap().canon,
            "pubkeyacceptedalgorithms"
        );
        assert!(lookup("PerSourcePenalties", v).is_none());
        assert!(lookup("PerSourcePenalties", Version::new(9, 8)).is_some());
        for k in KEYWORDS {
            assert_eq!(by_canon(k.canon).unwrap().name, k.canon, "{}", k.name);
        }
    }

    /// Checked against upstream builds of 9.0 to 10.5 and Debian's 9.2p1,
    /// 10.0p1 and 10.6p1 (tests/differential.rs).
    #[test]
    fn each_build_and_release_knows_its_own_spellings() {
        use crate::version::Release;
        let r = |s: &str| Release::from_flag(s).unwrap();
        for word in [
            "GSSAPIKeyExchange",
            "GSSAPICleanupCreds",
            "DebianBanner",
            "PermitBlacklistedKeys",
        ] {
            assert!(lookup_in(word, &r("10.0-debian")).is_some(), "{word}");
            assert!(lookup_in(word, &r("10.0-upstream")).is_none(), "{word}");
        }
        // 10.4 spelt the GSSAPI options its own way; 10.5 went back.
        assert!(lookup_in("GSSAPIAuthentication", &r("10.4-upstream")).is_none());
        assert_eq!(
            lookup_in("GssAuthentication", &r("10.4-upstream"))
                .unwrap()
                .canon,
            "gssapiauthentication"
        );
        assert!(lookup_in("GssAuthentication", &r("10.5-upstream")).is_none());
        assert!(lookup_in("GSSAPIAuthentication", &r("10.5-upstream")).is_some());
        assert!(lookup_in("GSSAPIDelegateCredentials", &r("10.2-upstream")).is_none());
        assert!(lookup_in("GSSAPIDelegateCredentials", &r("10.3-upstream")).is_some());
        let pam = lookup("PAMServiceName", Version::new(10, 4)).unwrap();
        assert!(!allowed_in_match(pam, Version::new(10, 4)));
        assert!(allowed_in_match(pam, Version::new(10, 5)));
    }
}
