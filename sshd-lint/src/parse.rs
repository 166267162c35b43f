//! Turning one directive into typed assignments, with sshd's checks and its
//! messages. sshd checks a value even inside a Match block that does not
//! apply, so this runs for every line; whether the value is *used* is the
//! business of [`crate::effective`].

use crate::algorithms::{self, Family};
use crate::keywords::{Keyword, Rule, Status, ValueType};
use crate::lex::Directive;
use crate::matching::Criterion;
use crate::values::{
    a2port, bad_user_pattern, convtime, derelativise, hpdelim, ipqos_name, parse_int, parse_ipqos,
    scan_scaled, sscanf_ints, tilde_expand, valid_auth_methods, DIGESTS, FACILITIES, GSS_KEX,
    LOG_LEVELS,
};
use crate::version::{Flavour, Release, Version};

/// One value to store, and how it combines with earlier ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assign {
    /// Storage slot: the `sshd -T` key, or `key.part` for options sshd keeps
    /// in several fields (RekeyLimit, MaxStartups).
    pub slot: &'static str,
    pub rule: Rule,
    pub values: Vec<String>,
}

/// What a directive means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Set(Vec<Assign>),
    Match(Vec<Criterion>),
    Include(Vec<String>),
    /// Deprecated, unsupported or ignored keyword (sshd logs and goes on).
    Ignored(Status),
}

impl Parsed {
    /// One assignment.
    fn one(slot: &'static str, rule: Rule, values: Vec<String>) -> Parsed {
        Parsed::Set(vec![Assign { slot, rule, values }])
    }

    /// One assignment of a list that may not be empty (sshd: "no NAME
    /// specified").
    fn list(
        name: &str,
        slot: &'static str,
        rule: Rule,
        values: Vec<String>,
    ) -> Result<Parsed, String> {
        if values.is_empty() {
            return Err(format!("no {name} specified"));
        }
        Ok(Parsed::one(slot, rule, values))
    }
}

/// Parse one directive for a known keyword. `services` is the root's
/// /etc/services for port names.
pub fn parse(
    kw: &Keyword,
    d: &Directive,
    release: &Release,
    services: Option<&str>,
) -> Result<Parsed, String> {
    let v = release.model();
    let name = d.keyword.as_str();
    if kw.status != Status::Active {
        return Ok(Parsed::Ignored(kw.status));
    }
    let mut args = d.args.iter().map(String::as_str).peekable();
    let first = args.next();
    let missing = || format!("{name} missing argument.");
    let one = |slot: &'static str, value: String| Parsed::one(slot, kw.rule, vec![value]);
    let canon = kw.canon;
    // The whole rest of the line, for options that take it verbatim.
    let rest_text = d
        .rest
        .trim_start_matches([' ', '\t', '\r', '\n'])
        .to_string();

    let parsed = match (canon, kw.value) {
        ("match", _) => {
            return crate::matching::parse_criteria_with(&d.rest, v, services)
                .map(Parsed::Match)
                .map_err(|e| e.to_string())
        }
        ("include", _) => {
            let files: Vec<String> = d.args.clone();
            if files.iter().any(String::is_empty) {
                return Err(format!("keyword {name} empty argument"));
            }
            if files.is_empty() {
                return Err(format!("{name} missing filename argument"));
            }
            return Ok(Parsed::Include(files));
        }
        ("port", _) => {
            let a = first
                .filter(|a| !a.is_empty())
                .ok_or("missing port number.")?;
            match a2port(a, services) {
                Some(p) if p > 0 => one("port", p.to_string()),
                _ => return Err("Badly formatted port number.".into()),
            }
        }
        ("listenaddress", _) => {
            let a = first.filter(|a| !a.is_empty()).ok_or("missing address")?;
            let (host, port) = if !a.contains('[') && a.matches(':').count() >= 2 {
                (a.to_string(), 0u16)
            } else {
                let (h, p) = hpdelim(a).ok_or("bad address:port usage")?;
                let port = match p {
                    None => 0,
                    Some(p) => match a2port(&p, services) {
                        Some(n) if n > 0 => n,
                        _ => return Err("bad port number".into()),
                    },
                };
                (h, port)
            };
            if let Some(word) = args.next() {
                if word != "rdomain" || args.next().is_none() {
                    return Err("bad ListenAddress syntax".into());
                }
                // Debian's sshd is built without routing-domain support.
                return Err("bad routing domain".into());
            }
            Parsed::one(
                "listenaddress",
                Rule::Accumulate,
                vec![format!("{host}\t{port}")],
            )
        }
        ("rdomain", _) => return Err(format!("setting {name} not supported on this platform.")),
        ("permittunnel", _) => {
            let a = first.filter(|a| !a.is_empty()).ok_or_else(missing)?;
            let choices: &[&str] = match kw.value {
                ValueType::Choice(c) => c,
                _ => unreachable_choice()?,
            };
            if !choices.contains(&a) {
                return Err(format!("bad {name} argument {a}"));
            }
            one(canon, a.to_string())
        }
        (_, ValueType::Flag) | (_, ValueType::Choice(_)) => {
            let a = first.filter(|a| !a.is_empty()).ok_or("missing argument.")?;
            let choices: &[&str] = match kw.value {
                ValueType::Choice(c) => c,
                _ => &["yes", "no"],
            };
            let Some(found) = choices.iter().find(|c| c.eq_ignore_ascii_case(a)) else {
                return Err(format!("unsupported option \"{a}\"."));
            };
            let printed = match (canon, *found) {
                ("permitrootlogin", "prohibit-password") => "without-password",
                ("compression", "delayed") => "yes",
                ("allowtcpforwarding" | "allowstreamlocalforwarding", "all") => "yes",
                (_, f) => f,
            };
            one(canon, printed.to_string())
        }
        (_, ValueType::Integer) if canon == "persourcemaxstartups" => {
            let a = first.filter(|a| !a.is_empty()).ok_or_else(missing)?;
            let value = if a == "none" {
                "none".to_string()
            } else {
                parse_int(Some(a))
                    .map_err(|e| format!("{name} integer value {e}."))?
                    .to_string()
            };
            // OpenSSH 9.2 stores every line (last wins); the first-value
            // check came later (9.5 here; only 9.2 is verified).
            let rule = if v < Version::new(9, 5) {
                Rule::LastWins
            } else {
                Rule::FirstWins
            };
            Parsed::one(canon, rule, vec![value])
        }
        (_, ValueType::Integer) => {
            let n = parse_int(first).map_err(|e| format!("{name} integer value {e}."))?;
            one(canon, n.to_string())
        }
        // `none` is stored whatever was set before (sshd skips its
        // first-value check for it); a time value is first-wins.
        ("unusedconnectiontimeout", _) if first.is_some_and(|a| a.eq_ignore_ascii_case("none")) => {
            Parsed::one(canon, Rule::LastWins, vec!["0".into()])
        }
        (_, ValueType::Time) => {
            let a = first
                .filter(|a| !a.is_empty())
                .ok_or("missing time value.")?;
            let secs = convtime(a).ok_or("invalid time value.")?;
            one(canon, secs.to_string())
        }
        ("hostkey" | "hostcertificate", _) => {
            let a = first
                .filter(|a| !a.is_empty())
                .ok_or("missing file name.")?;
            one(canon, derelativise(a))
        }
        ("hostkeyagent", _) => {
            let a = first
                .filter(|a| !a.is_empty())
                .ok_or("missing socket name.")?;
            one(
                canon,
                if a == "SSH_AUTH_SOCK" {
                    a.to_string()
                } else {
                    derelativise(a)
                },
            )
        }
        ("securitykeyprovider", _) => {
            let a = first.filter(|a| !a.is_empty()).ok_or_else(missing)?;
            one(
                canon,
                if a.eq_ignore_ascii_case("internal") {
                    a.to_string()
                } else {
                    derelativise(a)
                },
            )
        }
        ("chrootdirectory", _) => one(
            canon,
            first
                .filter(|a| !a.is_empty())
                .ok_or_else(missing)?
                .to_string(),
        ),
        ("authorizedprincipalsfile", _) => one(
            canon,
            tilde_expand(first.filter(|a| !a.is_empty()).ok_or_else(missing)?),
        ),
        // From 10.3 RevokedKeys takes several files, kept as written
        // (`none` alone clears the list).
        ("revokedkeys", _) if v >= Version::new(10, 3) => {
            let files: Vec<String> = first
                .into_iter()
                .chain(args.by_ref())
                .map(str::to_string)
                .collect();
            if files.iter().any(String::is_empty) {
                return Err(format!("keyword {name} empty argument"));
            }
            Parsed::list(name, canon, Rule::FirstLine, files)?
        }
        (_, ValueType::Path) => {
            let a = first
                .filter(|a| !a.is_empty())
                .ok_or("missing file name.")?;
            one(canon, derelativise(a))
        }
        ("authorizedkeysfile", _) => {
            let mut files = Vec::new();
            for a in first.into_iter().chain(args.by_ref()) {
                if a.is_empty() {
                    return Err(format!("keyword {name} empty argument"));
                }
                files.push(tilde_expand(a));
            }
            Parsed::list(name, canon, Rule::FirstLine, files)?
        }
        ("syslogfacility", _) => {
            let a = first.unwrap_or("");
            let f = FACILITIES
                .iter()
                .find(|f| f.eq_ignore_ascii_case(a))
                .ok_or_else(|| format!("unsupported log facility '{a}'"))?;
            one(canon, f.to_string())
        }
        ("loglevel", _) => {
            let a = first.unwrap_or("");
            let (_, p) = LOG_LEVELS
                .iter()
                .filter(|(n, _)| release.flavour == Flavour::Debian || *n != "SILENT")
                .find(|(n, _)| n.eq_ignore_ascii_case(a))
                .ok_or_else(|| format!("unsupported log level '{a}'"))?;
            // Upstream's table names the level QUIET; Debian's patch
            // restores the old SILENT, first, so QUIET prints as SILENT.
            let p = match *p {
                "SILENT" if release.flavour != Flavour::Debian => "QUIET",
                p => p,
            };
            one(canon, p.to_string())
        }
        ("fingerprinthash", _) => {
            let a = first.filter(|a| !a.is_empty()).ok_or_else(missing)?;
            let dg = DIGESTS
                .iter()
                .find(|x| x.eq_ignore_ascii_case(a))
                .ok_or_else(|| format!("Invalid {name} algorithm \"{a}\"."))?;
            one(canon, dg.to_string())
        }
        ("gssapikexalgorithms", _) => {
            let a = first.filter(|a| !a.is_empty()).ok_or("Missing argument.")?;
            if !a.split(',').all(|n| GSS_KEX.contains(&n)) {
                return Err(format!("Bad GSSAPI KexAlgorithms '{a}'."));
            }
            one(canon, a.to_string())
        }
        (_, ValueType::Algorithms) => {
            let a = first.filter(|a| !a.is_empty()).ok_or_else(missing)?;
            let family = Family::of(canon).ok_or_else(missing)?;
            if !algorithms::valid_spec(family, a, release) {
                return Err(match family {
                    Family::Cipher => format!("Bad SSH2 cipher spec '{a}'."),
                    Family::Mac => format!("Bad SSH2 mac spec '{a}'."),
                    Family::Kex => format!("Bad SSH2 KexAlgorithms '{a}'."),
                    _ => format!("Bad key types '{a}'."),
                });
            }
            one(canon, a.to_string())
        }
        ("allowusers" | "denyusers" | "allowgroups" | "denygroups" | "acceptenv", _) => {
            let mut vals = Vec::new();
            for a in first.into_iter().chain(args.by_ref()) {
                let bad = match canon {
                    "allowusers" | "denyusers" => bad_user_pattern(a),
                    "acceptenv" => a.is_empty() || a.contains('='),
                    _ => a.is_empty(),
                };
                if bad {
                    return Err(match canon {
                        "acceptenv" => "Invalid environment name.".to_string(),
                        "allowgroups" | "denygroups" => format!("empty {name} pattern"),
                        _ => format!("invalid {name} pattern: \"{a}\""),
                    });
                }
                vals.push(a.to_string());
            }
            Parsed::list(name, canon, Rule::Accumulate, vals)?
        }
        ("setenv", _) => {
            let mut vals: Vec<String> = Vec::new();
            for a in first.into_iter().chain(args.by_ref()) {
                let Some((var, _)) = a.split_once('=') else {
                    return Err("Invalid environment.".into());
                };
                if vals
                    .iter()
                    .any(|x| x.split_once('=').is_some_and(|(n, _)| n == var))
                {
                    continue;
                }
                vals.push(a.to_string());
            }
            Parsed::list(name, canon, Rule::FirstLine, vals)?
        }
        ("permitopen" | "permitlisten", _) => {
            let mut vals: Vec<String> = Vec::new();
            for a in first.into_iter().chain(args.by_ref()) {
                if a == "any" || a == "none" {
                    if !vals.is_empty() {
                        return Err(format!("{a} must appear alone on a {name} line."));
                    }
                    vals.push(a.to_string());
                    continue;
                }
                let (stored, port) = if canon == "permitlisten" && !a.contains(':') {
                    (format!("*:{a}"), Some(a.to_string()))
                } else {
                    let (_, port) = hpdelim(a).ok_or_else(|| format!("{name} missing host"))?;
                    (a.to_string(), port)
                };
                let ok =
                    port.is_some_and(|p| p == "*" || a2port(&p, services).is_some_and(|n| n > 0));
                if !ok {
                    return Err(format!("{name} bad port number"));
                }
                vals.push(stored);
            }
            if vals.is_empty() {
                return Err(missing());
            }
            Parsed::one(canon, Rule::FirstLine, vals)
        }
        ("authenticationmethods", _) => {
            let mut vals: Vec<String> = Vec::new();
            let mut any = false;
            for a in first.into_iter().chain(args.by_ref()) {
                if a == "any" {
                    if !vals.is_empty() {
                        return Err(format!("\"any\" must appear alone in {name}"));
                    }
                    any = true;
                } else if any {
                    return Err(format!("\"any\" must appear alone in {name}"));
                } else if !valid_auth_methods(a) {
                    return Err(format!("invalid {name} method list."));
                }
                vals.push(a.to_string());
            }
            Parsed::list(name, canon, Rule::FirstLine, vals)?
        }
        ("persourcepenalties", _) => return penalties(name, &d.args, v),
        ("persourcepenaltyexemptlist", _) => {
            let a = first.filter(|a| !a.is_empty()).ok_or("missing argument.")?;
            if crate::matching::addr_match_list(None, a) != 0 {
                return Err(format!("keyword {name} invalid address argument."));
            }
            one(canon, a.to_string())
        }
        ("pamservicename", _) => {
            let a = first.filter(|a| !a.is_empty()).ok_or("missing argument.")?;
            one(canon, a.to_string())
        }
        ("logverbose" | "channeltimeout", _) => {
            let mut vals: Vec<String> = Vec::new();
            let all: Vec<&str> = first.into_iter().chain(args.by_ref()).collect();
            for (i, a) in all.iter().enumerate() {
                if a.is_empty() {
                    return Err(format!("keyword {name} empty argument"));
                }
                if a.eq_ignore_ascii_case("none") && (i > 0 || all.len() > 1) {
                    return Err(format!(
                        "keyword {name} \"none\" argument must appear alone."
                    ));
                }
                if canon == "channeltimeout" && !a.eq_ignore_ascii_case("none") {
                    let ok = a
                        .split_once('=')
                        .is_some_and(|(t, i)| !t.is_empty() && convtime(i).is_some());
                    if !ok {
                        return Err(format!("invalid channel timeout {a}"));
                    }
                }
                vals.push(a.to_string());
            }
            Parsed::list(name, canon, Rule::FirstLine, vals)?
        }
        ("subsystem", _) => {
            let sub = first.filter(|a| !a.is_empty()).ok_or_else(missing)?;
            let cmd = args
                .next()
                .filter(|a| !a.is_empty())
                .ok_or("Missing subsystem command.")?;
            let rest: Vec<&str> = args.by_ref().collect();
            let line = if v >= Version::new(9, 5) {
                // From 9.5 sshd re-quotes the command and its arguments
                // as written (argv_assemble); 9.5 and 9.6 join them with
                // a space even when there are no arguments.
                let command = argv_assemble(&[cmd]);
                let args = argv_assemble(&rest);
                if args.is_empty() && v >= Version::new(9, 7) {
                    command
                } else {
                    format!("{command} {args}")
                }
            } else {
                std::iter::once(cmd)
                    .chain(rest)
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            Parsed::one(canon, Rule::PerName, vec![sub.to_string(), line])
        }
        ("maxstartups", _) => {
            let a = first.filter(|a| !a.is_empty()).ok_or_else(missing)?;
            let nums = sscanf_ints(a, 3);
            let invalid = || format!("Invalid {name} spec.");
            // Zero or negative numbers are refused from 9.2 on.
            let before_9_2 = v < Version::new(9, 2);
            let assigns = match nums.as_slice() {
                [b, r, m] => {
                    if b > m || *r > 100 || *r < 1 || (!before_9_2 && (*m <= 0 || *b <= 0)) {
                        return Err(invalid());
                    }
                    vec![
                        ("maxstartups.begin", *b),
                        ("maxstartups.rate", *r),
                        ("maxstartups.max", *m),
                    ]
                }
                [b] => {
                    if *b <= 0 && !before_9_2 {
                        return Err(invalid());
                    }
                    // A single number is begin and limit (`N:30:N`),
                    // except in 10.1 and 10.2, where it was only the limit
                    // (`10:30:N`); 10.3 restored the old meaning (upstream
                    // 683d0ab, then 78d5498).
                    if v >= Version::new(10, 1) && v < Version::new(10, 3) {
                        vec![("maxstartups.max", *b)]
                    } else {
                        vec![("maxstartups.begin", *b), ("maxstartups.max", *b)]
                    }
                }
                _ => return Err(invalid()),
            };
            Parsed::Set(
                assigns
                    .into_iter()
                    .map(|(slot, n)| Assign {
                        slot,
                        rule: kw.rule,
                        values: vec![n.to_string()],
                    })
                    .collect(),
            )
        }
        ("persourcenetblocksize", _) => {
            let a = first.filter(|a| !a.is_empty()).ok_or_else(missing)?;
            let nums = sscanf_ints(a, 2);
            let ok = match nums.as_slice() {
                [v4, v6] => (0..=32).contains(v4) && (0..=128).contains(v6),
                [v4] => (0..=32).contains(v4),
                _ => false,
            };
            if !ok {
                return Err(format!("Invalid {name} spec."));
            }
            // Before 10.3 a lone IPv4 length also set the IPv6 one to 0
            // (sscanf left it zeroed); from 10.3 it keeps its default.
            let lone_v6 = if v >= Version::new(10, 3) { 128 } else { 0 };
            let v6 = nums.get(1).copied().unwrap_or(lone_v6);
            one(canon, format!("{}:{}", nums[0], v6))
        }
        ("rekeylimit", _) => {
            let a = first.filter(|a| !a.is_empty()).ok_or_else(missing)?;
            let bytes = if a == "default" {
                0
            } else {
                let b = scan_scaled(a)
                    .ok_or_else(|| format!("Bad {name} number '{a}': Invalid argument"))?;
                if b != 0 && b < 16 {
                    return Err(format!("{name} too small"));
                }
                b
            };
            let mut assigns = vec![Assign {
                slot: "rekeylimit",
                rule: Rule::FirstWins,
                values: vec![bytes.to_string()],
            }];
            if let Some(interval) = args.next() {
                if interval != "none" {
                    let secs = convtime(interval).ok_or("invalid time value.")?;
                    assigns.push(Assign {
                        slot: "rekeylimit.interval",
                        rule: Rule::FirstWins,
                        values: vec![secs.to_string()],
                    });
                }
            }
            Parsed::Set(assigns)
        }
        ("ipqos", _) => {
            let a = first.filter(|a| !a.is_empty()).ok_or_else(missing)?;
            let decimal = v >= Version::new(9, 8);
            // The IPv4 TOS names (lowdelay, throughput, reliability) are
            // accepted but mean "the system default" (printed `none`) from
            // upstream 10.1, and in Debian 13 from 1:10.0p1-7+deb13u3.
            let tos_ignored = (release.flavour == Flavour::Upstream && v >= Version::new(10, 1))
                || release.debian_at_least(Version::new(10, 0), 7, 13, 3);
            let word = |x: &str| -> Result<String, String> {
                let n = parse_ipqos(x, decimal).ok_or_else(|| format!("Bad {name} value: {x}"))?;
                let tos = ["lowdelay", "throughput", "reliability"]
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(x));
                Ok(if tos && tos_ignored {
                    "none".into()
                } else {
                    ipqos_name(n)
                })
            };
            let i = word(a)?;
            let b = match args.next() {
                None => i.clone(),
                Some(x) => word(x)?,
            };
            one(canon, format!("{i} {b}"))
        }
        ("streamlocalbindmask", _) => {
            let a = first.filter(|a| !a.is_empty()).ok_or_else(missing)?;
            let t = a.trim_start();
            let digits: String = t.chars().take_while(|c| ('0'..='7').contains(c)).collect();
            let value = u32::from_str_radix(&digits, 8)
                .ok()
                .filter(|v| *v <= 0o777)
                .ok_or_else(|| format!("Invalid {name}."))?;
            one(canon, format!("0{value:o}"))
        }
        ("pubkeyauthoptions", _) => {
            let (mut touch, mut verify) = (false, false);
            for a in first.into_iter().chain(args.by_ref()) {
                if a.eq_ignore_ascii_case("none") {
                    continue;
                } else if a.eq_ignore_ascii_case("touch-required") {
                    touch = true;
                } else if a.eq_ignore_ascii_case("verify-required") {
                    verify = true;
                } else {
                    return Err(format!("unsupported {name} option {a}"));
                }
            }
            let mut words = Vec::new();
            if touch {
                words.push("touch-required");
            }
            if verify {
                words.push("verify-required");
            }
            one(
                canon,
                if words.is_empty() {
                    "none".into()
                } else {
                    words.join(" ")
                },
            )
        }
        ("permituserenvironment", _) => {
            let a = first.filter(|a| !a.is_empty()).ok_or_else(missing)?;
            one(canon, a.to_string())
        }
        ("forcecommand", _) => {
            let value = rest_text.clone();
            return Ok(Parsed::one(canon, Rule::FirstWins, vec![value]));
        }
        ("versionaddendum", _) => {
            if rest_text.contains('\r') {
                return Err(format!("Invalid {name} argument"));
            }
            let v = if rest_text.eq_ignore_ascii_case("none") {
                String::new()
            } else {
                rest_text.clone()
            };
            return Ok(Parsed::one(canon, Rule::FirstWins, vec![v]));
        }
        ("authorizedkeyscommand" | "authorizedprincipalscommand", _) => {
            if !rest_text.starts_with('/') && !rest_text.eq_ignore_ascii_case("none") {
                return Err(format!("{name} must be an absolute path"));
            }
            return Ok(Parsed::one(canon, Rule::FirstWins, vec![rest_text.clone()]));
        }
        ("authorizedkeyscommanduser" | "authorizedprincipalscommanduser", _) => {
            let a = first
                .filter(|a| !a.is_empty())
                .ok_or_else(|| format!("missing {name} argument."))?;
            one(canon, a.to_string())
        }
        (_, ValueType::Patterns) | (_, ValueType::Text) => {
            let a = first.filter(|a| !a.is_empty()).ok_or_else(missing)?;
            one(canon, a.to_string())
        }
        _ => return Err(format!("keyword {name} is not handled")),
    };
    if args.next().is_some() {
        return Err(format!("keyword {name} extra arguments at end of line"));
    }
    Ok(parsed)
}

fn unreachable_choice() -> Result<&'static [&'static str], String> {
    Err("internal: PermitTunnel without choices".into())
}

/// The fields of PerSourcePenalties, in the order `sshd -T` prints them,
/// with their word in the config (`crash:90`).
pub const PENALTY_FIELDS: &[(&str, &str)] = &[
    ("crash", "persourcepenalties.crash"),
    ("authfail", "persourcepenalties.authfail"),
    ("noauth", "persourcepenalties.noauth"),
    ("invaliduser", "persourcepenalties.invaliduser"),
    ("grace-exceeded", "persourcepenalties.grace-exceeded"),
    ("refuseconnection", "persourcepenalties.refuseconnection"),
    ("max", "persourcepenalties.max"),
    ("min", "persourcepenalties.min"),
    ("max-sources4", "persourcepenalties.max-sources4"),
    ("max-sources6", "persourcepenalties.max-sources6"),
    ("overflow", "persourcepenalties.overflow"),
    ("overflow6", "persourcepenalties.overflow6"),
];

/// Which penalty fields a release has: `refuseconnection` from 9.9 (with
/// RefuseConnection), `invaliduser` from 10.3.
pub fn penalty_field_in(field: &str, v: Version) -> bool {
    match field {
        "refuseconnection" => v >= Version::new(9, 9),
        "invaliduser" => v >= Version::new(10, 3),
        _ => true,
    }
}

/// PerSourcePenalties: `yes`/`no` alone, or `field:value` words, each field
/// kept from its first line (first value wins per field), and any field
/// turning penalties on (sshd sets `enabled` whenever it stores a field).
fn penalties(name: &str, args: &[String], v: Version) -> Result<Parsed, String> {
    if args.is_empty() {
        return Err(format!("no {name} specified"));
    }
    let mut out = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        if arg.eq_ignore_ascii_case("no") || arg.eq_ignore_ascii_case("yes") {
            if i + 1 < args.len() {
                return Err(format!(
                    "keyword {name} \"{arg}\" argument must appear alone."
                ));
            }
            out.push(Assign {
                slot: "persourcepenalties.enabled",
                rule: Rule::FirstWins,
                values: vec![arg.to_ascii_lowercase()],
            });
            continue;
        }
        let overflow = [
            ("overflow:", "persourcepenalties.overflow"),
            ("overflow6:", "persourcepenalties.overflow6"),
        ]
        .iter()
        .find_map(|(prefix, slot)| {
            let mode = arg.strip_prefix(prefix)?;
            matches!(mode, "deny-all" | "permissive").then_some((*slot, mode.to_string()))
        });
        let (slot, value) = match overflow {
            Some(o) => o,
            None => {
                let found = PENALTY_FIELDS.iter().find(|(field, _)| {
                    !field.starts_with("overflow")
                        && penalty_field_in(field, v)
                        && arg.strip_prefix(field).is_some_and(|r| r.starts_with(':'))
                });
                let Some((field, slot)) = found else {
                    return Err(format!("unsupported {name} keyword {arg}"));
                };
                let value = &arg[field.len() + 1..];
                let n = if field.starts_with("max-sources") {
                    match value.parse::<i64>() {
                        Ok(n) if (0..=i32::MAX as i64).contains(&n) => n,
                        Ok(n) if n < 0 => return Err(format!("{name} value too small.")),
                        Ok(_) => return Err(format!("{name} value too large.")),
                        Err(_) => return Err(format!("{name} value invalid.")),
                    }
                } else {
                    convtime(value).ok_or_else(|| format!("invalid {name} time value."))?
                };
                (*slot, n.to_string())
            }
        };
        out.push(Assign {
            slot,
            rule: Rule::FirstWins,
            values: vec![value],
        });
    }
    Ok(Parsed::Set(out))
}

/// OpenSSH's `argv_assemble`: words joined by spaces, a word holding
/// blanks wrapped in double quotes, and `\\`, `'` and `"` escaped.
fn argv_assemble(words: &[&str]) -> String {
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let quoted = w.contains([' ', '\t']);
        if quoted {
            out.push('"');
        }
        for c in w.chars() {
            if matches!(c, '\\' | '\'' | '"') {
                out.push('\\');
            }
            out.push(c);
        }
        if quoted {
            out.push('"');
        }
    }
    out
}
