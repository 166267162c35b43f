//! cloudflared's configuration file (`config.yml`): the tunnel, its
//! credentials file, and the ingress rules that say what each public
//! hostname reaches. A rule's own `originRequest: access: required: true`
//! makes cloudflared itself answer 403 to a request without a valid
//! Cloudflare Access token (the `Cf-Access-Jwt-Assertion` header) for
//! `teamName` and one of `audTag`. An `access` block in the file's
//! top-level `originRequest` is merged into the defaults but builds no such
//! check (cloudflared's ingress builds it from each rule's own block only):
//! it protects nothing, and is reported.
//!
//! cloudflared matches a request against the rules in order and takes the
//! first whose hostname (a `*.` wildcard allowed) and path (a regular
//! expression) match; the last rule must match everything (no hostname,
//! no path), or cloudflared refuses the file.

use std::path::{Path, PathBuf};

use crate::compose::At;
use crate::yaml::{self, Node};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Access {
    pub required: bool,
    pub team_name: Option<String>,
    pub aud_tags: Vec<String>,
    /// The line of `required:` (or of the access block).
    pub at: Option<At>,
}

impl Access {
    /// The origin checks Access tokens: required, with a team to ask and
    /// at least one application audience.
    pub fn enforced(&self) -> bool {
        self.required
            && self.team_name.as_deref().is_some_and(|t| !t.is_empty())
            && !self.aud_tags.is_empty()
    }
}

/// Where a rule sends its requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// `http://HOST:PORT`, `https://...`, `tcp://...`, `ssh://...`: a
    /// network service.
    Net {
        scheme: String,
        host: String,
        port: u16,
    },
    /// A unix socket, `http_status:404`, `hello_world`, `bastion`.
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub hostname: Option<String>,
    pub path: Option<String>,
    pub service: String,
    pub origin: Origin,
    pub access: Access,
    pub at: At,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file, as the system names it.
    pub path: PathBuf,
    pub tunnel: Option<String>,
    pub credentials_file: Option<(PathBuf, At)>,
    pub rules: Vec<Rule>,
    /// A top-level `originRequest: access:` block, which cloudflared does
    /// not enforce on any rule.
    pub top_level_access: Option<Access>,
}

#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {message}", .path.display())]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ssh" => Some(22),
        "rdp" => Some(3389),
        "smb" => Some(445),
        _ => None,
    }
}

/// `http://localhost:8080/x` as scheme, host and port.
pub fn parse_origin(service: &str) -> Origin {
    let Some((scheme, rest)) = service.split_once("://") else {
        return Origin::Other(service.to_string());
    };
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, p)) => (
                h.to_string(),
                p.strip_prefix(':').and_then(|p| p.parse().ok()),
            ),
            None => (v6.to_string(), None),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()),
            None => (authority.to_string(), None),
        }
    };
    match port.or_else(|| default_port(scheme)) {
        Some(port) => Origin::Net {
            scheme: scheme.to_string(),
            host: host.to_ascii_lowercase(),
            port,
        },
        None => Origin::Other(service.to_string()),
    }
}

fn access_of(node: Option<&Node>, path: &Path) -> Option<Access> {
    let a = node?.get("access")?;
    Some(Access {
        required: a.get("required").and_then(Node::as_bool).unwrap_or(false),
        team_name: a.get("teamName").and_then(Node::as_str).map(String::from),
        aud_tags: match a.get("audTag") {
            Some(n) => match n.as_seq() {
                Some(items) => items
                    .iter()
                    .filter_map(Node::as_str)
                    .map(String::from)
                    .collect(),
                None => n.as_str().map(String::from).into_iter().collect(),
            },
            None => Vec::new(),
        },
        at: Some(At {
            path: path.to_path_buf(),
            line: a.get("required").map_or(a.line, |r| r.line),
        }),
    })
}

pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let err = |line: usize, message: String| ConfigError {
        path: path.to_path_buf(),
        line,
        message,
    };
    let doc = yaml::parse(text).map_err(|e| err(e.line, e.message))?;
    let at = |line: usize| At {
        path: path.to_path_buf(),
        line,
    };
    let mut config = Config {
        top_level_access: access_of(doc.get("originRequest"), path),
        path: path.to_path_buf(),
        tunnel: doc.get("tunnel").and_then(Node::as_str).map(String::from),
        credentials_file: doc
            .get("credentials-file")
            .and_then(|n| n.as_str().map(|s| (PathBuf::from(s), at(n.line)))),
        rules: Vec::new(),
    };
    if let Some(ingress) = doc.get("ingress") {
        let Some(rules) = ingress.as_seq() else {
            return Err(err(ingress.line, "ingress: must be a list of rules".into()));
        };
        for r in rules {
            let service = r
                .get("service")
                .and_then(Node::as_str)
                .ok_or_else(|| err(r.line, "an ingress rule without service:".into()))?;
            let access = access_of(r.get("originRequest"), path).unwrap_or_default();
            config.rules.push(Rule {
                hostname: r.get("hostname").and_then(Node::as_str).map(String::from),
                path: r.get("path").and_then(Node::as_str).map(String::from),
                service: service.to_string(),
                origin: parse_origin(service),
                access,
                at: at(r.line),
            });
        }
    }
    Ok(config)
}

impl Config {
    /// cloudflared refuses a rule list whose last rule does not match
    /// every request, and a catch-all before the last rule.
    pub fn rule_problem(&self) -> Option<(String, At)> {
        let last = self.rules.len().checked_sub(1)?;
        for (i, r) in self.rules.iter().enumerate() {
            if let Origin::Other(service) = &r.origin {
                let special = ["http_status:", "unix:", "unix+tls:"]
                    .iter()
                    .any(|p| service.starts_with(p))
                    || ["hello_world", "bastion", "socks-proxy"].contains(&service.as_str());
                if !special {
                    return Some((format!("service: {service} has no scheme (http://, https://, tcp://, ssh://...): cloudflared refuses this file"), r.at.clone()));
                }
            }
            let catch_all = r
                .hostname
                .as_deref()
                .is_none_or(|h| h.is_empty() || h == "*")
                && r.path.is_none();
            if i == last && !catch_all {
                return Some(("the last ingress rule must match every request (no hostname, no path): cloudflared refuses this file".into(), r.at.clone()));
            }
            if i < last && catch_all {
                return Some(("a rule without hostname before the last one: every rule after it is unreachable, and cloudflared refuses this file".into(), r.at.clone()));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_access_and_origins() {
        let c = parse(
            "tunnel: 6ff42ae2-765d-4adf-8112-31c55c1551ef\ncredentials-file: /root/.cloudflared/6ff42ae2.json\noriginRequest:\n  connectTimeout: 30s\ningress:\n  - hostname: chat.example.com\n    service: http://localhost:3000\n    originRequest:\n      access:\n        required: true\n        teamName: acme\n        audTag: [aud1]\n  - hostname: n8n.example.com\n    service: http://n8n:5678\n  - service: http_status:404\n",
            Path::new("/etc/cloudflared/config.yml"),
        )
        .unwrap();
        assert_eq!(c.credentials_file.as_ref().unwrap().1.line, 2);
        assert_eq!(c.rules.len(), 3);
        assert!(c.rules[0].access.enforced());
        assert_eq!(c.rules[0].access.at.as_ref().unwrap().line, 10);
        assert_eq!(
            c.rules[1].origin,
            Origin::Net {
                scheme: "http".into(),
                host: "n8n".into(),
                port: 5678
            }
        );
        assert!(!c.rules[1].access.enforced());
        assert_eq!(c.rules[2].origin, Origin::Other("http_status:404".into()));
        assert!(c.rule_problem().is_none());
        assert_eq!(
            parse_origin("https://[::1]"),
            Origin::Net {
                scheme: "https".into(),
                host: "::1".into(),
                port: 443
            }
        );
    }

    #[test]
    fn a_missing_catch_all_and_access_without_audience() {
        let c = parse(
            "originRequest:\n  access:\n    required: true\n    teamName: acme\ningress:\n  - hostname: a.example.com\n    service: http://localhost:8080\n",
            Path::new("/c.yml"),
        )
        .unwrap();
        // The file's own access block protects no rule.
        assert!(c.top_level_access.as_ref().is_some_and(|a| a.required));
        assert!(!c.rules[0].access.required && !c.rules[0].access.enforced());
        assert_eq!(c.rule_problem().unwrap().1.line, 6);
    }
}
