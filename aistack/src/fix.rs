//! The fixes that are safe to make in files, as edits of the lines that
//! decide them (the rest of each file, comments and layout, is kept):
//!
//! - a back end, an app without a login it can be given here, or an app a
//!   tunnel reaches, published on every address (or a LAN address): its
//!   `ports:` entry is bound to 127.0.0.1 (`"127.0.0.1:11434:11434"`, or
//!   `host_ip: 127.0.0.1` in the long syntax). The stack's services reach
//!   it by name, a tunnel or proxy on the host through loopback;
//! - Open WebUI with `WEBUI_AUTH` switched off: `WEBUI_AUTH=True` (on the
//!   line that set it, in the compose file or its env_file);
//! - the tunnel's credentials file readable by others: mode 0400;
//! - a back end that publishes nothing, on networks none of which is
//!   internal, while front ends of the same file share one with it: it
//!   moves to a network of its own, `ai-internal` (`internal: true`), which
//!   those front ends join too (keeping theirs). It can no longer reach
//!   the internet: models are pulled before, or through a network attached
//!   for the pull.
//!
//! Not made here, because a file edit alone could break the stack or lock
//! its owner out: an app on the host's network (its front end may reach
//! it through the host's address), Langflow's auto login (the fallback
//! superuser password is `langflow`), Jupyter's empty token (a command
//! line), a back end that is published (an internal network would
//! unpublish it), and Access at the tunnel (its team and audience come from Cloudflare's
//! dashboard). Their findings keep saying what to do.
//!
//! Each changed compose file is checked with the target's own `docker
//! compose config` (or `docker-compose`), in hardkit's sandbox, before it
//! replaces the old one; containers are recreated by the caller
//! (`docker compose up -d`), never here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hardkit_core::root::Root;

use crate::apps::{AuthState, Role};
use crate::compose::PortMapping;
use crate::stack::{Reach, Stack};

/// One edit of a file's text, by 1-based line.
#[derive(Debug, Clone, PartialEq)]
enum Edit {
    Replace { line: usize, text: String },
    InsertAfter { line: usize, text: String },
}

/// A file to change, with why.
#[derive(Debug, Clone)]
pub struct FileChange {
    /// The system path.
    pub path: PathBuf,
    pub old: String,
    pub new: String,
    pub reasons: Vec<String>,
    /// The compose project's files when this is one of them (checked by
    /// docker compose together, containers to recreate); empty otherwise.
    pub project: Vec<PathBuf>,
}

/// A fix that could not be made in a file, with why.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub path: PathBuf,
    pub line: usize,
    pub why: String,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub changes: Vec<FileChange>,
    /// Files to make root's alone (mode 0400).
    pub chmods: Vec<PathBuf>,
    pub skipped: Vec<Skipped>,
}

/// The short-syntax port in `line` bound to 127.0.0.1, or None when the
/// line is not one block-style list item holding it.
fn bind_short_port(line: &str) -> Option<String> {
    let indent_len = line.len() - line.trim_start().len();
    let rest = line.trim_start().strip_prefix('-')?;
    let rest = rest.trim_start();
    // (a comment keeps its spacing)
    let (body, comment) = match rest.find(" #") {
        Some(i) => {
            let start = rest[..i].trim_end().len();
            (&rest[..start], &rest[start..])
        }
        None => (rest.trim_end(), ""),
    };
    let scalar = body
        .strip_prefix('"')
        .and_then(|b| b.strip_suffix('"'))
        .or_else(|| body.strip_prefix('\'').and_then(|b| b.strip_suffix('\'')))
        .unwrap_or(body);
    // (a flow list or mapping is not one port; `${VAR}` is)
    if scalar.is_empty() || scalar.starts_with(['[', '{']) || scalar.contains(['"', '\'']) {
        return None;
    }
    // HOST:CONTAINER (two fields outside ${...}) gets the address in
    // front; IP:HOST:CONTAINER has its address replaced.
    let fields = split_outside_braces(scalar);
    let bound = match fields.len() {
        2 => format!("127.0.0.1:{scalar}"),
        3 => format!("127.0.0.1:{}:{}", fields[1], fields[2]),
        _ => return None,
    };
    Some(format!("{}- \"{bound}\"{comment}", &line[..indent_len]))
}

/// `a:${B:-x}:c` split at the colons outside `${...}`.
fn split_outside_braces(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'{' if i > 0 && bytes[i - 1] == b'$' => depth += 1,
            b'}' if depth > 0 => depth -= 1,
            b':' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// The line `KEY=VALUE` (list item or env file) or `KEY: VALUE` (map)
/// with its value replaced, quotes kept.
fn set_env_value(line: &str, key: &str, value: &str) -> Option<String> {
    let at = line.find(key)?;
    let after = &line[at + key.len()..];
    let (sep, rest) = if let Some(r) = after.strip_prefix('=') {
        ("=", r)
    } else if let Some(r) = after.strip_prefix(':') {
        (":", r)
    } else {
        return None;
    };
    if rest.contains('$') {
        return None; // interpolated: the value lives elsewhere
    }
    let lead = &rest[..rest.len() - rest.trim_start().len()];
    let old = rest.trim_start();
    let (quote, tail) = match old.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let close = old[1..].find(q)? + 1;
            (Some(q), &old[close + 1..])
        }
        _ => {
            let end = old.find(" #").unwrap_or(old.len());
            let end = old[..end].trim_end().len();
            // A whole list item in quotes: `- 'WEBUI_AUTH=False'`.
            let end = match old[..end].chars().last() {
                Some(q @ ('"' | '\'')) if line[..at].trim_end().ends_with(q) => end - 1,
                _ => end,
            };
            (None, &old[end..])
        }
    };
    let new_value = match quote {
        Some(q) => format!("{q}{value}{q}"),
        None => value.to_string(),
    };
    Some(format!("{}{key}{sep}{lead}{new_value}{tail}", &line[..at]))
}

fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut replace: BTreeMap<usize, &str> = BTreeMap::new();
    let mut insert: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for e in edits {
        match e {
            Edit::Replace { line, text } => {
                replace.insert(*line, text);
            }
            Edit::InsertAfter { line, text } => insert.entry(*line).or_default().push(text),
        }
    }
    let mut out = String::with_capacity(text.len() + 64);
    for (i, l) in text.split_inclusive('\n').enumerate() {
        let n = i + 1;
        match replace.get(&n) {
            Some(new) => {
                out.push_str(new);
                if l.ends_with('\n') {
                    out.push('\n');
                }
            }
            None => out.push_str(l),
        }
        for ins in insert.get(&n).into_iter().flatten() {
            out.push_str(ins);
            out.push('\n');
        }
    }
    out
}

/// The edit that binds one published port to 127.0.0.1.
fn bind_port(p: &PortMapping, lines: &[&str]) -> Result<Edit, String> {
    let line = lines.get(p.at.line.wrapping_sub(1)).copied().unwrap_or("");
    if p.long {
        if let Some(l) = p.long_host_ip_line {
            let text = lines.get(l - 1).copied().unwrap_or("");
            return set_env_value(text, "host_ip", "127.0.0.1")
                .map(|text| Edit::Replace { line: l, text })
                .ok_or_else(|| {
                    format!("host_ip: on line {l} is not a plain value: edit it by hand")
                });
        }
        // `- target: 8080` starts the item: its keys are indented to the
        // column after `- `.
        let dash = line.find('-').ok_or("not a list item")?;
        let key_col = dash + 1 + line[dash + 1..].len() - line[dash + 1..].trim_start().len();
        return Ok(Edit::InsertAfter {
            line: p.at.line,
            text: format!("{}host_ip: 127.0.0.1", " ".repeat(key_col)),
        });
    }
    bind_short_port(line)
        .map(|text| Edit::Replace {
            line: p.at.line,
            text,
        })
        .ok_or_else(|| {
            format!(
                "'{}' is not a one-line list item: bind it to 127.0.0.1 by hand",
                line.trim()
            )
        })
}

/// The network a back end is moved to.
pub const INTERNAL_NETWORK: &str = "ai-internal";

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The indentation of the body of the mapping whose key is on `line`
/// (1-based): that of the next line with content.
fn body_indent(lines: &[&str], line: usize) -> Option<usize> {
    let header = indent_of(lines.get(line - 1)?);
    lines[line..]
        .iter()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| indent_of(l))
        .filter(|i| *i > header)
}

/// The edit that sets a service's own `networks:` to `list`.
fn set_networks(
    lines: &[&str],
    svc: &crate::compose::Service,
    list: &[String],
) -> Result<Edit, String> {
    let text = format!("networks: [{}]", list.join(", "));
    match svc.networks_key {
        // Its own one-line list: rewritten in place.
        Some((line, true)) if line > svc.at.line => {
            let l = lines.get(line - 1).copied().unwrap_or("");
            Ok(Edit::Replace {
                line,
                text: format!("{}{text}", &l[..indent_of(l)]),
            })
        }
        Some((line, false)) if line > svc.at.line => Err(format!(
            "its networks: list spans lines (line {line}): add {INTERNAL_NETWORK} by hand"
        )),
        // None, or merged from an anchor: a key of its own wins.
        _ => {
            let indent =
                body_indent(lines, svc.at.line).ok_or("its body's indentation is not clear")?;
            Ok(Edit::InsertAfter {
                line: svc.at.line,
                text: format!("{}{text}", " ".repeat(indent)),
            })
        }
    }
}

/// The top-level `ai-internal: internal: true` network, under the file's
/// `networks:` (or a new one at the end).
fn add_internal_network(lines: &[&str]) -> Result<Edit, String> {
    match lines.iter().position(|l| l.starts_with("networks:")) {
        Some(i) => {
            let rest = lines[i]["networks:".len()..].trim();
            if !(rest.is_empty() || rest.starts_with('#')) {
                return Err(format!("the top-level networks: on line {} is not a block mapping: add {INTERNAL_NETWORK} (internal: true) by hand", i + 1));
            }
            let child = body_indent(lines, i + 1).unwrap_or(2);
            Ok(Edit::InsertAfter {
                line: i + 1,
                text: format!(
                    "{c}{INTERNAL_NETWORK}:\n{c}{c}internal: true",
                    c = " ".repeat(child)
                ),
            })
        }
        None => Ok(Edit::InsertAfter {
            line: lines.len(),
            text: format!("networks:\n  {INTERNAL_NETWORK}:\n    internal: true"),
        }),
    }
}

/// Back ends moved to an internal network their front ends share.
fn plan_internal(
    stack: &Stack,
    compose: &crate::compose::Compose,
    lines: &[&str],
    edits: &mut Vec<Edit>,
    reasons: &mut Vec<String>,
    skipped: &mut Vec<Skipped>,
) {
    if compose.networks.iter().any(|n| n.name == INTERNAL_NETWORK) {
        return;
    }
    let in_file = |name: &str| compose.services.iter().find(|x| x.name == name);
    let mut moved = false;
    let mut joined: Vec<String> = Vec::new();
    for s in stack
        .services
        .iter()
        .filter(|s| s.compose.as_ref() == Some(&compose.path))
    {
        if s.app.role != Role::Backend
            || s.host_network
            || s.networks.iter().any(|(_, internal)| *internal)
        {
            continue;
        }
        let Some(svc) = in_file(&s.name) else {
            continue;
        };
        if !svc.ports.is_empty() {
            skipped.push(Skipped {
                path: compose.path.clone(),
                line: svc.at.line,
                why: format!("{} is published (ports:): an internal network would unpublish it; once nothing on the host needs it, remove its ports: and it can move to an internal network", s.name),
            });
            continue;
        }
        let nets = compose.networks_of(svc);
        let fronts: Vec<&crate::compose::Service> = stack
            .services
            .iter()
            .filter(|f| f.compose.as_ref() == Some(&compose.path) && f.app.role == Role::Frontend)
            .filter_map(|f| in_file(&f.name))
            .filter(|f| compose.networks_of(f).iter().any(|n| nets.contains(n)))
            .collect();
        if fronts.is_empty() {
            continue;
        }
        match set_networks(lines, svc, &[INTERNAL_NETWORK.to_string()]) {
            Ok(e) => {
                edits.push(e);
                reasons.push(format!("{}: moved to the internal network {INTERNAL_NETWORK} (it can no longer reach the internet: pull models before)", s.name));
                moved = true;
            }
            Err(why) => {
                skipped.push(Skipped {
                    path: compose.path.clone(),
                    line: svc.at.line,
                    why: format!("{}: {why}", s.name),
                });
                continue;
            }
        }
        for f in fronts {
            if joined.contains(&f.name) {
                continue;
            }
            let mut list: Vec<String> = compose
                .networks_of(f)
                .iter()
                .map(|n| n.to_string())
                .collect();
            list.push(INTERNAL_NETWORK.to_string());
            match set_networks(lines, f, &list) {
                Ok(e) => {
                    edits.push(e);
                    reasons.push(format!(
                        "{}: joins {INTERNAL_NETWORK} to reach its back end",
                        f.name
                    ));
                    joined.push(f.name.clone());
                }
                Err(why) => skipped.push(Skipped {
                    path: compose.path.clone(),
                    line: f.at.line,
                    why: format!("{}: {why}", f.name),
                }),
            }
        }
    }
    if moved {
        match add_internal_network(lines) {
            Ok(e) => {
                edits.push(e);
                reasons.push(format!("networks: {INTERNAL_NETWORK} with internal: true"));
            }
            Err(why) => skipped.push(Skipped {
                path: compose.path.clone(),
                line: 0,
                why,
            }),
        }
    }
}

pub fn plan(stack: &Stack, root: &Root) -> Plan {
    let mut plan = Plan::default();
    let mut edits: BTreeMap<PathBuf, (Vec<Edit>, Vec<String>)> = BTreeMap::new();
    // (the texts the stack was read from: the lines found are the lines
    // edited, and nothing is read twice)
    let read = |p: &Path| -> Option<&str> { stack.sources.get(p).map(String::as_str) };
    for s in &stack.services {
        let Some(file) = &s.compose else { continue };
        let tunneled = stack.routes_to(&s.name).next().is_some();
        let unauthenticated = matches!(s.auth.state, AuthState::None | AuthState::Off);
        // Open WebUI's login switched back on, where it was switched off.
        let mut auth_fixed = false;
        if s.app.id == "open-webui" && s.auth.state == AuthState::Off {
            if let Some(at) = &s.auth.at {
                match read(&at.path).and_then(|t| t.lines().nth(at.line - 1).and_then(|l| set_env_value(l, "WEBUI_AUTH", "True"))) {
                    Some(text) => {
                        let e = edits.entry(at.path.clone()).or_default();
                        e.0.push(Edit::Replace { line: at.line, text });
                        e.1.push(format!("{}: WEBUI_AUTH=True (line {})", s.name, at.line));
                        auth_fixed = true;
                    }
                    None => plan.skipped.push(crate::fix::Skipped {
                        path: at.path.clone(),
                        line: at.line,
                        why: format!("{}: WEBUI_AUTH is set through a variable: set it to True where its value comes from", s.name),
                    }),
                }
            }
        }
        let wide = s
            .listeners
            .iter()
            .any(|l| matches!(l.reach, Reach::Outside | Reach::Lan | Reach::HostFirewall));
        let bind =
            wide && (s.app.role == Role::Backend || (unauthenticated && !auth_fixed) || tunneled);
        if !bind {
            continue;
        }
        if s.host_network {
            plan.skipped.push(Skipped {
                path: file.clone(),
                line: s.at.line,
                why: format!("{} runs on the host's network: binding it to 127.0.0.1 can cut off the containers that reach it through the host's address; bind it by hand (and point them at it by name on a compose network)", s.name),
            });
            continue;
        }
        let Some(svc) = stack
            .composes
            .iter()
            .find(|c| &c.path == file)
            .and_then(|c| c.services.iter().find(|x| x.name == s.name))
        else {
            continue;
        };
        for p in &svc.ports {
            let reach = crate::stack::reach_of_published(p.host_ip);
            if reach == Reach::Loopback {
                continue;
            }
            // (the port's own file: the override's, when it published it)
            let Some(text) = read(&p.at.path) else {
                continue;
            };
            let lines: Vec<&str> = text.lines().collect();
            match bind_port(p, &lines) {
                Ok(edit) => {
                    let e = edits.entry(p.at.path.clone()).or_default();
                    if !e.0.contains(&edit) {
                        e.0.push(edit);
                        e.1.push(format!(
                            "{}: port {} bound to 127.0.0.1 (line {})",
                            s.name, p.raw, p.at.line
                        ));
                    }
                }
                Err(why) => plan.skipped.push(Skipped {
                    path: p.at.path.clone(),
                    line: p.at.line,
                    why: format!("{}: {why}", s.name),
                }),
            }
        }
    }
    for c in &stack.composes {
        let Some(text) = read(&c.path) else { continue };
        let lines: Vec<&str> = text.lines().collect();
        let entry = edits.entry(c.path.clone()).or_default();
        plan_internal(
            stack,
            c,
            &lines,
            &mut entry.0,
            &mut entry.1,
            &mut plan.skipped,
        );
    }
    for (path, (list, reasons)) in edits {
        let Some(old) = read(&path) else { continue };
        let new = apply_edits(old, &list);
        if new != old {
            let project = stack
                .composes
                .iter()
                .find(|c| c.files.contains(&path))
                .map(|c| c.files.clone())
                .unwrap_or_default();
            plan.changes.push(FileChange {
                path,
                old: old.to_string(),
                new,
                reasons,
                project,
            });
        }
    }
    for cfg in &stack.tunnels {
        let Some((file, _)) = &cfg.credentials_file else {
            continue;
        };
        if let Ok(meta) = root.resolve(file).and_then(|h| {
            std::fs::metadata(h).map_err(|e| hardkit_core::root::RootError::ReadLink {
                path: file.clone(),
                source: e,
            })
        }) {
            use std::os::unix::fs::MetadataExt;
            if meta.mode() & 0o077 != 0 && meta.uid() == 0 && !plan.chmods.contains(file) {
                plan.chmods.push(file.clone());
            }
        }
    }
    plan
}

/// Where a target keeps `docker compose` (the plugin binary also runs
/// alone, as `docker-compose`) or Compose v1's `docker-compose`.
const COMPOSE_PROGRAMS: &[&str] = &[
    "/usr/bin/docker-compose",
    "/usr/local/bin/docker-compose",
    "/usr/libexec/docker/cli-plugins/docker-compose",
    "/usr/lib/docker/cli-plugins/docker-compose",
    "/usr/local/lib/docker/cli-plugins/docker-compose",
];

pub fn compose_program(root: &Root) -> Option<&'static str> {
    COMPOSE_PROGRAMS
        .iter()
        .copied()
        .find(|p| hardkit_core::program::in_tree(root, p))
}

/// What the target's docker compose said of a changed file.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// `PROGRAM config` accepted the new file.
    Accepted(String),
    /// Not judged, and why (no docker compose on the target, or it refuses
    /// the file as it is too: Compose v1 does not read newer syntax).
    Unjudged(String),
    /// It refused the new file and accepts the old: nothing may be written.
    Refused(String),
}

/// `PROGRAM -f FILE config -q` in hardkit's sandbox (the target's program
/// never runs as root) with `text` as the file, its `.env` and env_files
/// given as copies it can read: Ok, or its complaint.
fn run_compose_config(
    root: &Root,
    stack: &Stack,
    program: &str,
    change: &FileChange,
    text: &str,
) -> Result<(), String> {
    let tmp = tempfile::NamedTempFile::new().map_err(|e| format!("a temporary file: {e}"))?;
    std::fs::write(tmp.path(), text).map_err(|e| format!("a temporary file: {e}"))?;
    // (HOME: compose reads its client config from there; none is needed)
    let mut sandbox = hardkit_core::sandbox::Sandbox::new(root)
        .input_over(tmp.path(), &change.path.display().to_string())
        .env("HOME", "/tmp");
    let first = change.project.first().unwrap_or(&change.path);
    let mut readable: Vec<PathBuf> = vec![first.with_file_name(".env")];
    if let Some(c) = stack
        .composes
        .iter()
        .find(|c| c.files.contains(&change.path))
    {
        for s in &c.services {
            readable.extend(s.env_files.iter().cloned());
        }
    }
    readable.sort();
    readable.dedup();
    for f in readable {
        if root.resolve(&f).is_ok_and(|h| h.is_file()) {
            sandbox = sandbox.readable_copy(&f.display().to_string());
        }
    }
    // Every file of the project, in Compose's order, as `docker compose
    // -f a -f b config` reads them together.
    let files: Vec<String> = if change.project.is_empty() {
        vec![change.path.display().to_string()]
    } else {
        change
            .project
            .iter()
            .map(|f| f.display().to_string())
            .collect()
    };
    let mut args: Vec<&std::ffi::OsStr> = Vec::new();
    for f in &files {
        args.push("-f".as_ref());
        args.push(f.as_ref());
    }
    args.push("config".as_ref());
    args.push("-q".as_ref());
    match sandbox.run(program, &args, b"") {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
        Err(e) => Err(format!("in the sandbox: {e}")),
    }
}

/// The target's own docker compose on the changed file (and, when it
/// refuses it, on the file as it is, to tell a refusal of the change from
/// a program that cannot read the file at all).
pub fn check_with_compose(root: &Root, stack: &Stack, change: &FileChange) -> Verdict {
    let Some(program) = compose_program(root) else {
        return Verdict::Unjudged("no docker compose on the target".into());
    };
    match run_compose_config(root, stack, program, change, &change.new) {
        Ok(()) => Verdict::Accepted(program.to_string()),
        Err(new_err) => match run_compose_config(root, stack, program, change, &change.old) {
            Ok(()) => Verdict::Refused(format!("{program} config refused the change: {new_err}")),
            Err(_) => Verdict::Unjudged(format!(
                "{program} refuses the file as it is, too: {}",
                new_err.lines().take(2).collect::<Vec<_>>().join(" ")
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_bound_in_place() {
        assert_eq!(
            bind_short_port("      - \"3000:8080\"").unwrap(),
            "      - \"127.0.0.1:3000:8080\""
        );
        assert_eq!(
            bind_short_port("    - 11434:11434   # api").unwrap(),
            "    - \"127.0.0.1:11434:11434\"   # api"
        );
        assert_eq!(
            bind_short_port("      - ${OPEN_WEBUI_PORT-3000}:8080").unwrap(),
            "      - \"127.0.0.1:${OPEN_WEBUI_PORT-3000}:8080\""
        );
        assert_eq!(
            bind_short_port("  - '0.0.0.0:6333:6333'").unwrap(),
            "  - \"127.0.0.1:6333:6333\""
        );
        assert_eq!(bind_short_port("    ports: [\"11434:11434\"]"), None);
        assert_eq!(bind_short_port("      - \"8188\""), None);
    }

    #[test]
    fn env_values_are_replaced_in_place() {
        assert_eq!(
            set_env_value("      - WEBUI_AUTH=False", "WEBUI_AUTH", "True").unwrap(),
            "      - WEBUI_AUTH=True"
        );
        assert_eq!(
            set_env_value("      - 'WEBUI_AUTH=false'", "WEBUI_AUTH", "True").unwrap(),
            "      - 'WEBUI_AUTH=True'"
        );
        assert_eq!(
            set_env_value(
                "      WEBUI_AUTH: \"False\"  # no login",
                "WEBUI_AUTH",
                "True"
            )
            .unwrap(),
            "      WEBUI_AUTH: \"True\"  # no login"
        );
        assert_eq!(
            set_env_value("WEBUI_AUTH=0", "WEBUI_AUTH", "True").unwrap(),
            "WEBUI_AUTH=True"
        );
        assert_eq!(
            set_env_value("      - WEBUI_AUTH=${AUTH}", "WEBUI_AUTH", "True"),
            None
        );
        assert_eq!(
            set_env_value("        host_ip: 0.0.0.0", "host_ip", "127.0.0.1").unwrap(),
            "        host_ip: 127.0.0.1"
        );
    }

    #[test]
    fn edits_keep_the_rest() {
        let text = "a\n  - target: 8080\n    published: 80\nb\n";
        let out = apply_edits(
            text,
            &[
                Edit::InsertAfter {
                    line: 2,
                    text: "    host_ip: 127.0.0.1".into(),
                },
                Edit::Replace {
                    line: 4,
                    text: "B".into(),
                },
            ],
        );
        assert_eq!(
            out,
            "a\n  - target: 8080\n    host_ip: 127.0.0.1\n    published: 80\nB\n"
        );
    }
}
