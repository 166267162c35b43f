//! The effective configuration in the format of `sshd -T`: the same keys,
//! in the same order, with values spelled as sshd prints them, and the
//! built-in defaults of the selected release filled in.

use std::net::{IpAddr, ToSocketAddrs};

use crate::algorithms::{self, Family};
use crate::effective::{ConfigError, Item, Loc, Shadow, Store};
use crate::options;
use crate::version::{Release, Version};

/// One line of `sshd -T` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The option, lowercase (`passwordauthentication`): the `setting`
    /// record's key and what the lint looks up.
    pub key: &'static str,
    /// The name the release prints (lowercase until 10.4, mixed case from
    /// 10.5: `PasswordAuthentication`).
    pub name: &'static str,
    pub value: String,
    /// None: the built-in default.
    pub origin: Option<Loc>,
    pub shadowed: Vec<Shadow>,
}

impl Line {
    pub fn text(&self) -> String {
        format!("{} {}", self.name, self.value)
    }
}

/// The release's built-in value of an option (or of a part of one, for
/// the options sshd keeps in several fields), as `sshd -T` prints it.
pub fn default_value(key: &str, r: &Release) -> Option<&'static str> {
    match key {
        "maxstartups.begin" => Some("10"),
        "maxstartups.rate" => Some("30"),
        "maxstartups.max" => Some("100"),
        "rekeylimit" | "rekeylimit.interval" => Some("0"),
        k if k.contains('.') => None,
        _ => options::row_of(key)
            .filter(|o| o.in_release(r))
            .and_then(|o| o.default_in(r)),
    }
}

/// How a release spells a value: 10.1 prints PermitRootLogin's current
/// name (`prohibit-password`), 10.6 prints TCPKeepAlive and WarnWeakCrypto
/// as `true`/`false` and adds PubkeyAuthOptions' `max-pk-ok` (checked
/// against Debian testing's 10.6p1).
fn release_spelling(key: &str, value: String, v: Version) -> String {
    match key {
        "permitrootlogin" if v >= Version::new(10, 1) && value == "without-password" => {
            "prohibit-password".into()
        }
        "tcpkeepalive" | "warnweakcrypto" if v >= Version::new(10, 6) => match value.as_str() {
            "yes" => "true".into(),
            "no" => "false".into(),
            _ => value,
        },
        _ => value,
    }
}

/// `persourcepenalties`: `no`, or every field with its value (seconds as
/// integers until 10.3, which prints them as floating point).
fn penalties_line(store: &Store, v: Version) -> String {
    use crate::parse::{penalty_field_in, PENALTY_FIELDS};
    let any_field = PENALTY_FIELDS
        .iter()
        .any(|(_, slot)| store.get(slot).is_some());
    if !any_field && store.value("persourcepenalties.enabled") == Some("no") {
        return "no".into();
    }
    let defaults: &[(&str, &str)] = &[
        ("crash", "90"),
        ("authfail", "5"),
        ("noauth", "1"),
        ("invaliduser", "5"),
        ("grace-exceeded", "10"),
        ("refuseconnection", "10"),
        ("max", "600"),
        ("min", "15"),
        ("max-sources4", "65536"),
        ("max-sources6", "65536"),
        ("overflow", "permissive"),
    ];
    let mut words = Vec::new();
    let mut overflow = "permissive".to_string();
    for (field, slot) in PENALTY_FIELDS {
        if !penalty_field_in(field, v) {
            continue;
        }
        let default = match *field {
            "overflow6" => overflow.clone(),
            // 9.8 gave an exceeded LoginGraceTime 20 s; 9.9 made it 10.
            "grace-exceeded" if v < Version::new(9, 9) => "20".into(),
            f => defaults
                .iter()
                .find(|(d, _)| *d == f)
                .map(|(_, x)| x.to_string())
                .unwrap_or_default(),
        };
        let value = store.value(slot).map(str::to_string).unwrap_or(default);
        if *field == "overflow" {
            overflow = value.clone();
        }
        let is_time = !field.starts_with("max-sources") && !field.starts_with("overflow");
        let shown = if is_time && v >= Version::new(10, 3) {
            format!("{value}.000000")
        } else {
            value
        };
        words.push(format!("{field}:{shown}"));
    }
    words.join(" ")
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
pub fn render(store: &Store, r: &Release) -> Result<Vec<Line>, ConfigError> {
    render_with_hosts(store, r, None)
}

/// [`render`] for a target whose `/etc/hosts` is `hosts`: ListenAddress
/// names found there resolve as the target's sshd resolves them (files
/// before DNS), not through this host.
pub fn render_with_hosts(
    store: &Store,
    r: &Release,
    hosts: Option<&str>,
) -> Result<Vec<Line>, ConfigError> {
    let v = r.model();
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
            None => (default_value(slot, r).unwrap_or("none").to_string(), None),
        }
    };
    let ports: Vec<Item> = match store.get("port") {
        Some(s) => s.items.clone(),
        None => default_items("22"),
    };
    let family = store.value("addressfamily").unwrap_or("any").to_string();
    for key in options::printed(r) {
        let mut push = |value: String, origin: Option<Loc>, shadowed: Vec<Shadow>| {
            // 10.4 printed a PermitUserEnvironment pattern list by hand,
            // in lowercase (yes and no through its table, mixed case).
            let name = if key == "permituserenvironment"
                && v == Version::new(10, 4)
                && value != "yes"
                && value != "no"
            {
                key
            } else {
                options::printed_name(key, r)
            };
            out.push(Line {
                key,
                name,
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
                for (text, origin) in listen_lines(store, &ports, &family, hosts)? {
                    push(text, origin, Vec::new());
                }
            }
            "hostkey" => {
                // From 10.4 sshd also loads the ML-DSA-44/Ed25519 key by
                // default.
                let defaults: &[&str] = if v >= Version::new(10, 4) {
                    &[
                        "/etc/ssh/ssh_host_rsa_key",
                        "/etc/ssh/ssh_host_ecdsa_key",
                        "/etc/ssh/ssh_host_ed25519_key",
                        "/etc/ssh/ssh_host_mldsa44_ed25519_key",
                    ]
                } else {
                    &[
                        "/etc/ssh/ssh_host_rsa_key",
                        "/etc/ssh/ssh_host_ecdsa_key",
                        "/etc/ssh/ssh_host_ed25519_key",
                    ]
                };
                let items = match store.get("hostkey") {
                    Some(s) => s.items.clone(),
                    None => defaults
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
                } else if key == "channeltimeout" && v >= Version::new(9, 3) {
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
            "revokedkeys" => {
                let (value, origin) = scalar(key);
                let none = value.eq_ignore_ascii_case("none");
                // 10.3 keeps a list: nothing printed while it is empty.
                if v < Version::new(10, 3) {
                    push(
                        if none { "none".into() } else { value },
                        origin,
                        shadows(key),
                    );
                } else if !none {
                    push(value, origin, shadows(key));
                }
            }
            "authorizedkeysfile" if v >= Version::new(10, 3) => {
                // From 10.3 a global `none` empties the list
                // (effective::read leaves it empty), which prints nothing;
                // the same `none` copied from a Match block prints.
                let (value, origin) = scalar(key);
                if !value.is_empty() {
                    push(value, origin, shadows(key));
                }
            }
            "persourcepenalties" => {
                let origin = store
                    .slots
                    .iter()
                    .filter(|(k, _)| k.starts_with("persourcepenalties."))
                    .filter_map(|(_, s)| s.items.first().and_then(|i| i.origin.clone()))
                    .min_by_key(|l| l.line);
                push(penalties_line(store, v), origin, Vec::new());
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
                    algorithms::assemble(family, configured, r).map_err(|m| match &origin {
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
                if options::string_none(key) && value.eq_ignore_ascii_case("none") {
                    value = "none".into();
                }
                value = release_spelling(key, value, v);
                // 10.6 adds the built-in max-pk-ok to the default only (a
                // configured `none` prints alone).
                if key == "pubkeyauthoptions" && origin.is_none() && v >= Version::new(10, 6) {
                    value.push_str(" max-pk-ok:6");
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
    hosts: Option<&str>,
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
            Some(h) => resolve(h, family, hosts).ok_or_else(|| {
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
fn resolve(host: &str, family: &str, hosts: Option<&str>) -> Option<Vec<IpAddr>> {
    let fits = |a: &IpAddr| match family {
        "inet" => a.is_ipv4(),
        "inet6" => a.is_ipv6(),
        _ => true,
    };
    if let Ok(a) = host.parse::<IpAddr>() {
        return fits(&a).then(|| vec![a]);
    }
    // The target's /etc/hosts: every address listed for the name, IPv6
    // first (getaddrinfo's RFC 6724 order: ::1 before 127.0.0.1), in file
    // order within a family; sshd then prints them reversed.
    if let Some(text) = hosts {
        let mut found: Vec<IpAddr> = Vec::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let Some(addr) = words.next().and_then(|a| a.parse::<IpAddr>().ok()) else {
                continue;
            };
            if words.any(|n| n.eq_ignore_ascii_case(host)) && fits(&addr) && !found.contains(&addr)
            {
                found.push(addr);
            }
        }
        if !found.is_empty() {
            found.sort_by_key(|a| a.is_ipv4());
            found.reverse();
            return Some(found);
        }
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
