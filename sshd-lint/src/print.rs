//! The effective configuration in the format of `sshd -T`: the same keys,
//! in the same order, with values spelled as sshd prints them, and the
//! built-in defaults of the selected release filled in.

use std::net::{IpAddr, ToSocketAddrs};

use crate::algorithms::{self, Family};
use crate::effective::{ConfigError, Item, Loc, Shadow, Store};
use crate::version::Version;

/// One line of `sshd -T` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub key: &'static str,
    pub value: String,
    /// None: the built-in default.
    pub origin: Option<Loc>,
    pub shadowed: Vec<Shadow>,
}

impl Line {
    pub fn text(&self) -> String {
        format!("{} {}", self.key, self.value)
    }
}

/// The release's built-in value of an option, as `sshd -T` prints it.
pub fn default_value(key: &str, v: Version) -> Option<&'static str> {
    Some(match key {
        "usepam" => "no",
        "addressfamily" => "any",
        "logingracetime" => "120",
        "x11displayoffset" => "10",
        "maxauthtries" => "6",
        "maxsessions" => "10",
        "clientaliveinterval" => "0",
        "clientalivecountmax" => "3",
        "requiredrsasize" => "1024",
        "streamlocalbindmask" => "0177",
        "unusedconnectiontimeout" => "0",
        "permitrootlogin" => "without-password",
        "ignorerhosts" => "yes",
        "ignoreuserknownhosts" | "hostbasedauthentication" | "hostbasedusesnamefrompacketonly" => {
            "no"
        }
        "pubkeyauthentication" => "yes",
        "kerberosauthentication" => "no",
        "kerberosorlocalpasswd" | "kerberosticketcleanup" => "yes",
        "gssapiauthentication" => "no",
        "gssapicleanupcredentials" => "yes",
        "gssapikeyexchange" => "no",
        "gssapistrictacceptorcheck" => "yes",
        "gssapistorecredentialsonrekey" => "no",
        "gssapikexalgorithms" => algorithms::DEF_GSS_KEX,
        "passwordauthentication" | "kbdinteractiveauthentication" => "yes",
        "printmotd" | "printlastlog" => "yes",
        "x11forwarding" => "no",
        "x11uselocalhost" | "permittty" | "permituserrc" | "strictmodes" | "tcpkeepalive" => "yes",
        "permitemptypasswords" => "no",
        "compression" => "yes",
        "gatewayports" | "usedns" => "no",
        "allowtcpforwarding" | "allowagentforwarding" => "yes",
        "disableforwarding" => "no",
        "allowstreamlocalforwarding" => "yes",
        "streamlocalbindunlink" => "no",
        "fingerprinthash" => "SHA256",
        "exposeauthinfo" => "no",
        "debianbanner" => "yes",
        "pidfile" => "/run/sshd.pid",
        "modulifile" => "/etc/ssh/moduli",
        "xauthlocation" => "/usr/bin/xauth",
        "securitykeyprovider" => "internal",
        "versionaddendum" => "",
        "loglevel" => "INFO",
        "syslogfacility" => "AUTH",
        "authorizedkeysfile" => ".ssh/authorized_keys .ssh/authorized_keys2",
        "maxstartups.begin" => "10",
        "maxstartups.rate" => "30",
        "maxstartups.max" => "100",
        "persourcemaxstartups" => "none",
        "persourcenetblocksize" => "32:128",
        "permittunnel" => "no",
        "ipqos" => "lowdelay throughput",
        "rekeylimit" | "rekeylimit.interval" => "0",
        "permituserenvironment" => "no",
        "pubkeyauthoptions" => "none",
        "sshdsessionpath" if v >= Version::new(9, 8) => "/usr/lib/openssh/sshd-session",
        "sshdauthpath" if v >= Version::new(10, 0) => "/usr/lib/openssh/sshd-auth",
        "refuseconnection" => "no",
        _ => return None,
    })
}

/// Options printed with `dump_cfg_string`, where a NULL (unset or "none")
/// prints as `none`.
const STRING_NONE: &[&str] = &[
    "pidfile",
    "xauthlocation",
    "banner",
    "forcecommand",
    "chrootdirectory",
    "trustedusercakeys",
    "revokedkeys",
    "securitykeyprovider",
    "authorizedprincipalsfile",
    "versionaddendum",
    "authorizedkeyscommand",
    "authorizedkeyscommanduser",
    "authorizedprincipalscommand",
    "authorizedprincipalscommanduser",
    "hostkeyagent",
];

/// What to print, in `dump_config` order, for a release.
fn order(v: Version) -> Vec<&'static str> {
    let mut keys = vec![
        "port",
        "addressfamily",
        "listenaddress",
        "usepam",
        "logingracetime",
        "x11displayoffset",
        "maxauthtries",
        "maxsessions",
        "clientaliveinterval",
        "clientalivecountmax",
    ];
    if v >= Version::new(9, 1) {
        keys.push("requiredrsasize");
    }
    keys.push("streamlocalbindmask");
    if v >= Version::new(9, 2) {
        keys.push("unusedconnectiontimeout");
    }
    keys.extend([
        "permitrootlogin",
        "ignorerhosts",
        "ignoreuserknownhosts",
        "hostbasedauthentication",
        "hostbasedusesnamefrompacketonly",
        "pubkeyauthentication",
        "kerberosauthentication",
        "kerberosorlocalpasswd",
        "kerberosticketcleanup",
        "gssapiauthentication",
        "gssapicleanupcredentials",
        "gssapikeyexchange",
        "gssapistrictacceptorcheck",
        "gssapistorecredentialsonrekey",
        "gssapikexalgorithms",
        "passwordauthentication",
        "kbdinteractiveauthentication",
        "printmotd",
        "printlastlog",
        "x11forwarding",
        "x11uselocalhost",
        "permittty",
        "permituserrc",
        "strictmodes",
        "tcpkeepalive",
        "permitemptypasswords",
        "compression",
        "gatewayports",
        "usedns",
        "allowtcpforwarding",
        "allowagentforwarding",
        "disableforwarding",
        "allowstreamlocalforwarding",
        "streamlocalbindunlink",
        "fingerprinthash",
        "exposeauthinfo",
    ]);
    if v >= Version::new(9, 6) {
        keys.push("debianbanner");
    }
    keys.extend([
        "pidfile",
        "modulifile",
        "xauthlocation",
        "ciphers",
        "macs",
        "banner",
        "forcecommand",
        "chrootdirectory",
    ]);
    keys.extend([
        "trustedusercakeys",
        "revokedkeys",
        "securitykeyprovider",
        "authorizedprincipalsfile",
        "versionaddendum",
        "authorizedkeyscommand",
        "authorizedkeyscommanduser",
        "authorizedprincipalscommand",
        "authorizedprincipalscommanduser",
        "hostkeyagent",
        "kexalgorithms",
        "casignaturealgorithms",
        "hostbasedacceptedalgorithms",
        "hostkeyalgorithms",
        "pubkeyacceptedalgorithms",
    ]);
    if v >= Version::new(9, 8) {
        keys.extend(["sshdsessionpath"]);
    }
    if v >= Version::new(10, 0) {
        keys.extend(["sshdauthpath"]);
    }
    keys.extend([
        "loglevel",
        "syslogfacility",
        "authorizedkeysfile",
        "hostkey",
        "hostcertificate",
        "allowusers",
        "denyusers",
        "allowgroups",
        "denygroups",
        "acceptenv",
        "setenv",
        "authenticationmethods",
        "logverbose",
        "channeltimeout",
        "subsystem",
        "maxstartups",
        "persourcemaxstartups",
        "persourcenetblocksize",
        "permittunnel",
        "ipqos",
        "rekeylimit",
        "permitopen",
        "permitlisten",
        "permituserenvironment",
        "pubkeyauthoptions",
    ]);
    if v >= Version::new(10, 0) {
        keys.push("refuseconnection");
    }
    keys
}

fn default_items(value: &str) -> Vec<Item> {
    vec![Item {
        value: value.to_string(),
        origin: None,
    }]
}

/// One entry per losing line (a list option lost as several items).
fn group_shadows(shadows: &[Shadow]) -> Vec<Shadow> {
    let mut out: Vec<Shadow> = Vec::new();
    let mut index: std::collections::HashMap<&Loc, usize> = std::collections::HashMap::new();
    for s in shadows {
        match index.get(&s.loc) {
            Some(&i) => {
                if out[i].value != s.value {
                    out[i].value.push(' ');
                    out[i].value.push_str(&s.value);
                }
            }
            None => {
                index.insert(&s.loc, out.len());
                out.push(s.clone());
            }
        }
    }
    out
}

/// Render the effective options as `sshd -T` would.
pub fn render(store: &Store, v: Version) -> Result<Vec<Line>, ConfigError> {
    let mut out = Vec::new();
    // Grouped once per option: list options print one line per item.
    let grouped: std::collections::HashMap<&str, Vec<Shadow>> = store
        .slots
        .iter()
        .filter(|(_, s)| !s.shadowed.is_empty())
        .map(|(k, s)| (*k, group_shadows(&s.shadowed)))
        .collect();
    let shadows = |slot: &str| grouped.get(slot).cloned().unwrap_or_default();
    let scalar = |slot: &'static str| -> (String, Option<Loc>) {
        match store.get(slot) {
            Some(s) => (
                s.items
                    .iter()
                    .map(|i| i.value.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                s.items.first().and_then(|i| i.origin.clone()),
            ),
            None => (default_value(slot, v).unwrap_or("none").to_string(), None),
        }
    };
    let ports: Vec<Item> = match store.get("port") {
        Some(s) => s.items.clone(),
        None => default_items("22"),
    };
    let family = store.value("addressfamily").unwrap_or("any").to_string();
    for key in order(v) {
        let mut push = |value: String, origin: Option<Loc>, shadowed: Vec<Shadow>| {
            out.push(Line {
                key,
                value,
                origin,
                shadowed,
            })
        };
        match key {
            "port" => {
                for p in &ports {
                    push(p.value.clone(), p.origin.clone(), shadows(key));
                }
            }
            "listenaddress" => {
                for (text, origin) in listen_lines(store, &ports, &family)? {
                    push(text, origin, Vec::new());
                }
            }
            "hostkey" => {
                let items = match store.get("hostkey") {
                    Some(s) => s.items.clone(),
                    None => [
                        "/etc/ssh/ssh_host_rsa_key",
                        "/etc/ssh/ssh_host_ecdsa_key",
                        "/etc/ssh/ssh_host_ed25519_key",
                    ]
                    .iter()
                    .map(|k| Item {
                        value: k.to_string(),
                        origin: None,
                    })
                    .collect(),
                };
                for i in items {
                    let value = if i.value.eq_ignore_ascii_case("none") {
                        "none".to_string()
                    } else {
                        i.value
                    };
                    push(value, i.origin, Vec::new());
                }
            }
            "hostcertificate" | "allowusers" | "denyusers" | "allowgroups" | "denygroups"
            | "acceptenv" | "setenv" | "subsystem" => {
                if let Some(s) = store.get(key) {
                    for i in &s.items {
                        push(i.value.clone(), i.origin.clone(), shadows(key));
                    }
                }
            }
            "authenticationmethods" => match store.get(key) {
                Some(_) => {
                    let (value, origin) = scalar(key);
                    push(value, origin, shadows(key));
                }
                None => push("any".into(), None, Vec::new()),
            },
            "logverbose" | "channeltimeout" => {
                if store.get(key).is_some() {
                    let (value, origin) = scalar(key);
                    push(value, origin, shadows(key));
                } else if key == "channeltimeout" && v >= Version::new(9, 5) {
                    push("none".into(), None, Vec::new());
                }
            }
            "permitopen" | "permitlisten" => match store.get(key) {
                Some(_) => {
                    let (value, origin) = scalar(key);
                    push(value, origin, shadows(key));
                }
                None => push("any".into(), None, Vec::new()),
            },
            "maxstartups" => {
                let parts = ["maxstartups.begin", "maxstartups.rate", "maxstartups.max"];
                let value = parts
                    .iter()
                    .map(|p| scalar(p).0)
                    .collect::<Vec<_>>()
                    .join(":");
                let origin = parts
                    .iter()
                    .filter_map(|p| {
                        store
                            .get(p)
                            .and_then(|s| s.items.first())
                            .and_then(|i| i.origin.clone())
                    })
                    .max_by_key(|l| l.line);
                let mut sh: Vec<Shadow> = parts.iter().flat_map(|p| shadows(p)).collect();
                sh.dedup_by(|a, b| a.loc == b.loc);
                push(value, origin, sh);
            }
            "rekeylimit" => {
                let (bytes, o1) = scalar("rekeylimit");
                let (secs, o2) = scalar("rekeylimit.interval");
                push(format!("{bytes} {secs}"), o1.or(o2), shadows("rekeylimit"));
            }
            "unusedconnectiontimeout" => {
                let (value, origin) = scalar(key);
                push(
                    if value == "0" { "none".into() } else { value },
                    origin,
                    shadows(key),
                );
            }
            "versionaddendum" => {
                let (value, origin) = scalar(key);
                push(
                    if value.is_empty() {
                        "none".into()
                    } else {
                        value
                    },
                    origin,
                    shadows(key),
                );
            }
            "ciphers"
            | "macs"
            | "kexalgorithms"
            | "hostkeyalgorithms"
            | "pubkeyacceptedalgorithms"
            | "hostbasedacceptedalgorithms"
            | "casignaturealgorithms" => {
                let family = Family::of(key)
                    .ok_or_else(|| ConfigError::Fatal(format!("no algorithm family for {key}")))?;
                let configured = store.value(key);
                let origin = store
                    .get(key)
                    .and_then(|s| s.items.first())
                    .and_then(|i| i.origin.clone());
                let value =
                    algorithms::assemble(family, configured, v).map_err(|m| match &origin {
                        Some(loc) => ConfigError::Line {
                            loc: loc.clone(),
                            message: format!("{key}: {m}"),
                        },
                        None => ConfigError::Fatal(format!("{key}: {m}")),
                    })?;
                push(value, origin, shadows(key));
            }
            _ => {
                let (mut value, origin) = scalar(key);
                if STRING_NONE.contains(&key) && value.eq_ignore_ascii_case("none") {
                    value = "none".into();
                }
                push(value, origin, shadows(key));
            }
        }
    }
    Ok(out)
}

/// `listenaddress` lines: queued ListenAddress lines are expanded once all
/// ports are known; an address without a port gets every Port; each
/// getaddrinfo() result list is printed in reverse, as sshd pushes them.
fn listen_lines(
    store: &Store,
    ports: &[Item],
    family: &str,
) -> Result<Vec<(String, Option<Loc>)>, ConfigError> {
    let mut out = Vec::new();
    let queued: Vec<Item> = store
        .get("listenaddress")
        .map(|s| s.items.clone())
        .unwrap_or_default();
    let add = |out: &mut Vec<(String, Option<Loc>)>,
               host: Option<&str>,
               port: &str,
               origin: Option<Loc>|
     -> Result<(), ConfigError> {
        let addrs: Vec<IpAddr> = match host {
            None => match family {
                "inet" => vec!["0.0.0.0"
                    .parse()
                    .map_err(|_| ConfigError::Fatal("address".into()))?],
                "inet6" => vec!["::"
                    .parse()
                    .map_err(|_| ConfigError::Fatal("address".into()))?],
                _ => vec![
                    "::".parse()
                        .map_err(|_| ConfigError::Fatal("address".into()))?,
                    "0.0.0.0"
                        .parse()
                        .map_err(|_| ConfigError::Fatal("address".into()))?,
                ],
            },
            Some(h) => resolve(h, family).ok_or_else(|| {
                let message = format!("bad addr or host: {h} (Name or service not known)");
                match &origin {
                    Some(loc) => ConfigError::Line {
                        loc: loc.clone(),
                        message,
                    },
                    None => ConfigError::Fatal(message),
                }
            })?,
        };
        for a in addrs {
            let text = match a {
                IpAddr::V4(x) => format!("{x}:{port}"),
                IpAddr::V6(x) => format!("[{}]:{port}", ipv6_text(x)),
            };
            out.push((text, origin.clone()));
        }
        Ok(())
    };
    if queued.is_empty() {
        for p in ports {
            add(&mut out, None, &p.value, p.origin.clone())?;
        }
        return Ok(out);
    }
    for q in &queued {
        let (host, port) = q.value.split_once('\t').unwrap_or((q.value.as_str(), "0"));
        if port == "0" {
            for p in ports {
                add(&mut out, Some(host), &p.value, q.origin.clone())?;
            }
        } else {
            add(&mut out, Some(host), port, q.origin.clone())?;
        }
    }
    Ok(out)
}

/// getaddrinfo() for a ListenAddress, in the order sshd prints (reversed).
fn resolve(host: &str, family: &str) -> Option<Vec<IpAddr>> {
    let fits = |a: &IpAddr| match family {
        "inet" => a.is_ipv4(),
        "inet6" => a.is_ipv6(),
        _ => true,
    };
    if let Ok(a) = host.parse::<IpAddr>() {
        return fits(&a).then(|| vec![a]);
    }
    // A name: the host's resolver, as sshd would use it.
    let mut addrs: Vec<IpAddr> = (host, 0)
        .to_socket_addrs()
        .ok()?
        .map(|s| s.ip())
        .filter(fits)
        .collect();
    addrs.dedup();
    if addrs.is_empty() {
        return None;
    }
    addrs.reverse();
    Some(addrs)
}

/// An IPv6 address as glibc's inet_ntop writes it: like RFC 5952, except
/// that an address whose first 96 bits are zero (other than `::` and `::1`)
/// ends in dotted IPv4 (`::0.1.0.34`), which Rust no longer does.
pub fn ipv6_text(a: std::net::Ipv6Addr) -> String {
    let w = a.segments();
    if w[..6].iter().all(|&x| x == 0) && !(w[6] == 0 && w[7] <= 1) {
        let [.., a1, a2, b1, b2] = a.octets();
        return format!("::{a1}.{a2}.{b1}.{b2}");
    }
    a.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_written_as_glibc_does() {
        let t = |s: &str| ipv6_text(s.parse().unwrap());
        assert_eq!(t("::1:22"), "::0.1.0.34");
        assert_eq!(t("::2"), "::0.0.0.2");
        assert_eq!(t("::1"), "::1");
        assert_eq!(t("::"), "::");
        assert_eq!(t("::ffff:10.0.0.1"), "::ffff:10.0.0.1");
        assert_eq!(t("2001:db8::1"), "2001:db8::1");
    }
}
