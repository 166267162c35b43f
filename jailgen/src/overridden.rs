//! Are the jails jailgen writes the jails fail2ban will run?
//!
//! `jail.d/hardkit.local` is read after `jail.conf`, `jail.d/*.conf` and
//! `jail.local`, but a `jail.d/*.local` sorting after it (`zz-site.local`)
//! overrides it silently. The configuration is therefore read back, with the
//! new file in place, the way fail2ban reads it (fail2ban_config, which
//! agrees with `fail2ban-client -d` on every stock jail), and every setting
//! that does not come out as written is reported with the line that won.

use hardkit_core::{Finding, Location, Root, Severity};

use crate::fail2ban_config;
use crate::jails::Jail;
use crate::render::JAIL_FILE;
use crate::write::ConfigCopy;

/// Findings for every jail setting another file overrides.
pub fn check(copy: &ConfigCopy, jails: &[Jail]) -> Vec<Finding> {
    let Some(parent) = copy.conf_dir.parent() else {
        return Vec::new();
    };
    let Ok(root) = Root::new(parent) else {
        return Vec::new();
    };
    let config = fail2ban_config::load_from(&root, "/fail2ban", "jail");
    let system = |path: &str| match path.strip_prefix("/fail2ban/") {
        Some(rest) => format!("/etc/fail2ban/{rest}"),
        None => path.to_string(),
    };
    let mut findings = Vec::new();
    for jail in jails {
        let mut expected: Vec<(&str, String)> = vec![
            ("enabled", "true".into()),
            ("port", jail.port.clone()),
            ("backend", jail.backend.clone()),
            ("maxretry", jail.maxretry.to_string()),
            ("findtime", jail.findtime.clone()),
            ("bantime", jail.bantime.clone()),
            ("banaction", jail.banaction.clone()),
        ];
        match &jail.journalmatch {
            Some(m) => expected.push(("journalmatch", m.clone())),
            None => expected.push(("logpath", jail.logpath.join("\n"))),
        }
        for (key, want) in expected {
            let got = config.get(&jail.name, key).ok().flatten();
            let same = match (key, got.as_deref()) {
                ("enabled", Some(v)) => fail2ban_config::parse_bool(v) == Some(true),
                (_, Some(v)) => v == want,
                (_, None) => false,
            };
            if same {
                continue;
            }
            let Some(raw) = config.raw(&jail.name, key) else {
                continue;
            };
            let path = system(&raw.path);
            if path == JAIL_FILE {
                continue;
            }
            findings.push(
                Finding::new(
                    "jailgen/overridden",
                    Severity::High,
                    format!(
                        "[{}] {key} = {} from {path} overrides jailgen's {key} = {want}",
                        jail.name,
                        got.as_deref().unwrap_or(&raw.raw)
                    ),
                    format!(
                        "fail2ban reads {path} after {JAIL_FILE}, so the jail does not run as generated."
                    ),
                )
                .at(Location::new(path.as_str(), Some(raw.line)))
                .evidence("jail", &jail.name)
                .evidence("key", key)
                .evidence("written", &want)
                .fix(format!("remove {key} from [{}] in {path}", jail.name)),
            );
        }
    }
    findings
}
