//! Algorithm lists per release and the `+`, `-`, `^` modifiers, resolved the
//! way OpenSSH's `kex_assemble_names` does: `+list` appends to the default,
//! `-patterns` removes matching defaults, `^list` moves to the front, and an
//! explicit list is expanded pattern by pattern against every algorithm the
//! build supports, in that build's order, without duplicates.
//!
//! The 9.2 lists are Debian 12's OpenSSH 9.2p1 (checked against `sshd -T`
//! and `ssh -Q`); Debian backported the `sntrup761x25519-sha512` name. The
//! lists for other releases follow their release notes and are not checked
//! against a real program here.

use crate::matching::match_pattern_list;
use crate::version::{Flavour, Release, Version};

/// Which list an option draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Cipher,
    Mac,
    Kex,
    /// HostKeyAlgorithms, PubkeyAcceptedAlgorithms, HostbasedAcceptedAlgorithms.
    Key,
    /// CASignatureAlgorithms.
    CaSig,
}

impl Family {
    pub fn of(canon: &str) -> Option<Family> {
        Some(match canon {
            "ciphers" => Family::Cipher,
            "macs" => Family::Mac,
            "kexalgorithms" => Family::Kex,
            "hostkeyalgorithms" | "pubkeyacceptedalgorithms" | "hostbasedacceptedalgorithms" => {
                Family::Key
            }
            "casignaturealgorithms" => Family::CaSig,
            _ => return None,
        })
    }
}

const ALL_CIPHERS: &str = "3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com";
const ALL_MACS: &str = "hmac-sha1,hmac-sha1-96,hmac-sha2-256,hmac-sha2-512,hmac-md5,hmac-md5-96,umac-64@openssh.com,umac-128@openssh.com,hmac-sha1-etm@openssh.com,hmac-sha1-96-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-md5-etm@openssh.com,hmac-md5-96-etm@openssh.com,umac-64-etm@openssh.com,umac-128-etm@openssh.com";
const ALL_KEX_9: &str = "diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,curve25519-sha256,curve25519-sha256@libssh.org,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com";
/// Upstream before 9.9 knows sntrup761x25519 only by its `@openssh.com`
/// name (Debian's 9.2p1 backported the bare one).
const ALL_KEX_9_UPSTREAM: &str = "diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,curve25519-sha256,curve25519-sha256@libssh.org,sntrup761x25519-sha512@openssh.com";
const DEF_KEX_9_UPSTREAM: &str = "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256";
const ALL_KEX_99: &str = "diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,curve25519-sha256,curve25519-sha256@libssh.org,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,mlkem768x25519-sha256";
const ALL_KEYS_9: &str = "ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-dss,ssh-dss-cert-v01@openssh.com,ssh-rsa,ssh-rsa-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com";
const ALL_KEYS_10: &str = "ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-rsa,ssh-rsa-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com";
const ALL_SIGS_9: &str = "ssh-ed25519,sk-ssh-ed25519@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ecdsa-sha2-nistp256@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-dss,ssh-rsa,rsa-sha2-256,rsa-sha2-512";
const ALL_SIGS_10: &str = "ssh-ed25519,sk-ssh-ed25519@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ecdsa-sha2-nistp256@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-rsa,rsa-sha2-256,rsa-sha2-512";

const DEF_CIPHERS_9: &str = "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com";
const DEF_CIPHERS_10: &str = "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr";
const DEF_MACS: &str = "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1";
const DEF_KEX_9: &str = "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256";
const DEF_KEX_99: &str = "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,mlkem768x25519-sha256,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256";
const DEF_KEX_10: &str = "mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521";
const DEF_KEYS: &str = "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256";
const DEF_CASIG: &str = "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256";
/// 10.3 put webauthn-sk-ecdsa-sha2-nistp256 (and its certificate) in the
/// default key and CA lists; Debian's 10.6p1 also offers the ML-DSA-44 /
/// Ed25519 composite key (checked against forky's sshd -T).
const DEF_KEYS_103: &str = "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,webauthn-sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256";
const DEF_KEYS_106: &str = "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,webauthn-sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-mldsa44-ed25519-cert,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256,ssh-mldsa44-ed25519";
const DEF_CASIG_103: &str = "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256";
/// 10.3 added the webauthn certificate type.
const ALL_KEYS_103: &str = "ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,webauthn-sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,ssh-rsa,ssh-rsa-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com";
const ALL_KEYS_106: &str = "ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,webauthn-sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,ssh-rsa,ssh-rsa-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com,ssh-mldsa44-ed25519,ssh-mldsa44-ed25519-cert";
const ALL_SIGS_106: &str = "ssh-ed25519,sk-ssh-ed25519@openssh.com,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ecdsa-sha2-nistp256@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,ssh-rsa,rsa-sha2-256,rsa-sha2-512,ssh-mldsa44-ed25519";

/// Debian's GSSAPI key exchange patch.
pub const DEF_GSS_KEX: &str = "gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,gss-curve25519-sha256-,gss-group14-sha1-,gss-gex-sha1-";

/// Every algorithm of a family the release supports, in its order.
pub fn all(family: Family, r: &Release) -> &'static str {
    let v = r.model();
    match family {
        Family::Cipher => ALL_CIPHERS,
        Family::Mac => ALL_MACS,
        Family::Kex if v >= Version::new(9, 9) => ALL_KEX_99,
        Family::Kex if r.flavour == Flavour::Upstream => ALL_KEX_9_UPSTREAM,
        Family::Kex => ALL_KEX_9,
        Family::Key if v >= Version::new(10, 6) => ALL_KEYS_106,
        Family::Key if v >= Version::new(10, 3) => ALL_KEYS_103,
        Family::Key if !r.has_dsa() => ALL_KEYS_10,
        Family::Key => ALL_KEYS_9,
        Family::CaSig if v >= Version::new(10, 6) => ALL_SIGS_106,
        Family::CaSig if !r.has_dsa() => ALL_SIGS_10,
        Family::CaSig => ALL_SIGS_9,
    }
}

/// The release's default list.
pub fn default(family: Family, r: &Release) -> &'static str {
    let v = r.model();
    let ten = v >= Version::new(10, 0);
    match family {
        Family::Cipher if ten => DEF_CIPHERS_10,
        Family::Cipher => DEF_CIPHERS_9,
        Family::Mac => DEF_MACS,
        Family::Kex if ten => DEF_KEX_10,
        Family::Kex if v >= Version::new(9, 9) => DEF_KEX_99,
        Family::Kex if r.flavour == Flavour::Upstream => DEF_KEX_9_UPSTREAM,
        Family::Kex => DEF_KEX_9,
        Family::Key if v >= Version::new(10, 6) => DEF_KEYS_106,
        Family::Key if v >= Version::new(10, 3) => DEF_KEYS_103,
        Family::Key => DEF_KEYS,
        Family::CaSig if v >= Version::new(10, 3) => DEF_CASIG_103,
        Family::CaSig => DEF_CASIG,
    }
}

fn names(list: &str) -> impl Iterator<Item = &str> {
    // OpenSSH's loops stop at the first empty element.
    list.split(',').take_while(|n| !n.is_empty())
}

/// Is the config value acceptable as written (sshd checks this at parse
/// time, before any modifier is applied)? `-` lists are never checked.
pub fn valid_spec(family: Family, spec: &str, v: &Release) -> bool {
    if spec.starts_with('-') {
        return true;
    }
    let body = spec.strip_prefix(['+', '^']).unwrap_or(spec);
    if body.is_empty() {
        return false;
    }
    let all_list = all(family, v);
    match family {
        // Names only, no patterns.
        Family::Cipher | Family::Mac | Family::Kex => {
            names(body).all(|n| all_list.split(',').any(|a| a == n))
        }
        // Key names, or patterns that match (or negate) at least one key type.
        Family::Key | Family::CaSig => names(body).all(|n| {
            let keys = all(Family::Key, v);
            if let Some(found) = keys.split(',').find(|a| *a == n) {
                return family == Family::Key || !found.contains("-cert-");
            }
            keys.split(',')
                .any(|a| match_pattern_list(a, n, false) != 0)
        }),
    }
}

/// `kex_names_cat`: `a` followed by the names of `b` not already present.
fn names_cat(a: &str, b: &str) -> String {
    let mut out: Vec<String> = names(a).map(str::to_string).collect();
    if a.is_empty() {
        return b.to_string();
    }
    for n in names(b) {
        if !out.iter().any(|o| o == n) {
            out.push(n.to_string());
        }
    }
    out.join(",")
}

fn filter(list: &str, patterns: &str, keep_matching: bool) -> String {
    list.split(',')
        .filter(|n| !n.is_empty())
        .filter(|n| (match_pattern_list(n, patterns, false) == 1) == keep_matching)
        .collect::<Vec<_>>()
        .join(",")
}

/// Resolve a configured value (or None for the default) to the list sshd
/// uses. Err when the result would be empty or uses `!` (sshd: fatal).
pub fn assemble(family: Family, configured: Option<&str>, v: &Release) -> Result<String, String> {
    let all_list = all(family, v);
    let def = filter(default(family, v), all_list, true);
    let Some(spec) = configured.filter(|s| !s.is_empty()) else {
        return Ok(def);
    };
    let list = if let Some(rest) = spec.strip_prefix('+') {
        names_cat(&def, rest)
    } else if let Some(rest) = spec.strip_prefix('-') {
        // Removing everything leaves an empty list, which sshd's second
        // assembly (after the Match pass) replaces with the default.
        let left = filter(&def, rest, false);
        return Ok(if left.is_empty() { def } else { left });
    } else if let Some(rest) = spec.strip_prefix('^') {
        names_cat(rest, &def)
    } else {
        spec.to_string()
    };
    let mut out = String::new();
    for pattern in list.split(',') {
        if pattern.starts_with('!') {
            return Err(format!("negated algorithm '{pattern}' is not allowed here"));
        }
        let matching = filter(all_list, pattern, true);
        out = if out.is_empty() {
            matching
        } else {
            names_cat(&out, &matching)
        };
    }
    if out.is_empty() {
        return Err(format!("'{spec}' leaves no usable algorithm"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    static V: std::sync::LazyLock<Release> =
        std::sync::LazyLock::new(|| Release::debian(Version::new(9, 2)));

    #[test]
    fn modifiers_resolve_against_the_default() {
        let plus = assemble(Family::Cipher, Some("+aes128-cbc"), &V).unwrap();
        assert!(
            plus.ends_with(",aes256-gcm@openssh.com,aes128-cbc"),
            "{plus}"
        );
        let minus = assemble(Family::Mac, Some("-*sha1*,umac-64*"), &V).unwrap();
        assert_eq!(minus, "umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512");
        let caret = assemble(Family::Cipher, Some("^aes256-ctr"), &V).unwrap();
        assert!(caret.starts_with("aes256-ctr,chacha20"), "{caret}");
        let explicit = assemble(Family::Key, Some("ssh-ed25519*,rsa-sha2-512"), &V).unwrap();
        assert_eq!(
            explicit,
            "ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,rsa-sha2-512"
        );
    }

    #[test]
    fn validation_is_by_name_for_ciphers_and_by_pattern_for_keys() {
        assert!(valid_spec(Family::Cipher, "+aes128-cbc", &V));
        assert!(!valid_spec(Family::Cipher, "aes*", &V));
        assert!(valid_spec(Family::Cipher, "-aes*", &V));
        assert!(valid_spec(Family::Key, "+ssh-rsa*", &V));
        assert!(!valid_spec(
            Family::CaSig,
            "ssh-rsa-cert-v01@openssh.com",
            &V
        ));
        assert!(!valid_spec(Family::Kex, "nope", &V));
    }

    #[test]
    fn upstream_9x_knows_sntrup_by_its_openssh_name_only() {
        let up = Release::from_flag("9.2-upstream").unwrap();
        assert!(!valid_spec(Family::Kex, "sntrup761x25519-sha512", &up));
        assert!(valid_spec(Family::Kex, "sntrup761x25519-sha512", &V));
        assert!(assemble(Family::Kex, None, &up)
            .unwrap()
            .starts_with("sntrup761x25519-sha512@openssh.com,curve25519"));
        let up99 = Release::from_flag("9.9-upstream").unwrap();
        assert!(valid_spec(Family::Kex, "sntrup761x25519-sha512", &up99));
    }
}
