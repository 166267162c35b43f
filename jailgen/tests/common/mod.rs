//! Shared test support: host trees under a temp dir with Debian's real
//! fail2ban configuration copied in, running jailgen, and asking the real
//! fail2ban-client what it makes of a configuration.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_jailgen");

/// A host tree: `files` are created empty (or with the given text).
pub struct Tree {
    pub dir: tempfile::TempDir,
}

impl Tree {
    pub fn new() -> Tree {
        Tree {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A tree inside `parent` (so that many trees can be shown to a
    /// sandboxed program as one directory).
    pub fn new_in(parent: &Path) -> Tree {
        Tree {
            dir: tempfile::tempdir_in(parent).unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, system_path: &str, text: &str) -> &Tree {
        let p = self.host(system_path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
        self
    }

    pub fn symlink(&self, target: &str, system_path: &str) -> &Tree {
        let p = self.host(system_path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, p).unwrap();
        self
    }

    pub fn host(&self, system_path: &str) -> PathBuf {
        self.path().join(system_path.trim_start_matches('/'))
    }

    pub fn read(&self, system_path: &str) -> Option<String> {
        fs::read_to_string(self.host(system_path)).ok()
    }

    /// Copy the installed (stock Debian) /etc/fail2ban into the tree (tests
    /// that depend on it check [`stock_ready`] first).
    pub fn stock_fail2ban(&self) -> &Tree {
        if Path::new("/etc/fail2ban/jail.conf").is_file() {
            copy_tree(Path::new("/etc/fail2ban"), &self.host("/etc/fail2ban"));
        }
        self
    }

    /// Debian 12 as installed: ssh.service, no rsyslog, fail2ban's own log.
    pub fn debian12(&self) -> &Tree {
        self.stock_fail2ban()
            .file("/lib/systemd/system/ssh.service", "[Unit]\n")
            .symlink(
                "/lib/systemd/system/ssh.service",
                "/etc/systemd/system/sshd.service",
            )
            .file("/var/log/fail2ban.log", "")
    }

    /// nftables installed (its program: what the ban actions run) and
    /// enabled at boot.
    pub fn nftables_host(&self) -> &Tree {
        self.file("/etc/nftables.conf", "flush ruleset\n")
            .file("/usr/sbin/nft", "")
            .symlink(
                "/lib/systemd/system/nftables.service",
                "/etc/systemd/system/sysinit.target.wants/nftables.service",
            )
    }

    /// ufw installed and switched on.
    pub fn ufw_host(&self) -> &Tree {
        self.file("/etc/ufw/ufw.conf", "ENABLED=yes\nLOGLEVEL=low\n")
            .file("/usr/sbin/ufw", "")
    }

    /// iptables installed, with saved rules.
    pub fn iptables_host(&self) -> &Tree {
        self.file("/etc/iptables/rules.v4", "*filter\nCOMMIT\n")
            .file("/usr/sbin/iptables", "")
    }

    pub fn nginx_logs(&self) -> &Tree {
        self.file("/var/log/nginx/access.log", "")
            .file("/var/log/nginx/error.log", "")
    }
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        let meta = fs::metadata(entry.path()).unwrap();
        if meta.is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

pub fn jailgen(root: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("--root")
        .arg(root)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The oracle: this machine's fail2ban-client with the tree's configuration
/// and logs, in the sandbox (this machine's files read-only, the tree's
/// /etc/fail2ban and /var/log shown over them; nothing leaks either way).
pub fn fail2ban_client(tree: &Tree, args: &[&str]) -> Output {
    let out = release_client(Path::new("/"), tree, args);
    Output {
        status: out.status,
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

/// `fail2ban-client -d`, each printed command parsed (Python literals,
/// converted by Python itself) into JSON.
pub fn dump(tree: &Tree) -> Vec<Value> {
    let out = fail2ban_client(tree, &["-d"]);
    assert!(
        out.status.success(),
        "fail2ban-client -d failed: {}",
        stderr(&out)
    );
    parse_dump(&out.stdout)
}

/// The commands of a `fail2ban-client -d` output (Python literals,
/// converted by Python itself) as JSON.
pub fn parse_dump(stdout: &[u8]) -> Vec<Value> {
    let mut python = Command::new("python3")
        .args([
            "-c",
            "import ast,json,sys\nfor l in sys.stdin:\n  l=l.strip()\n  if l.startswith('['): print(json.dumps(ast.literal_eval(l)))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Feed stdin from another thread: the dump is larger than a pipe buffer.
    let mut stdin = python.stdin.take().unwrap();
    let input = stdout.to_vec();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(&input).unwrap();
    });
    let converted = python.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert!(converted.status.success());
    String::from_utf8(converted.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The Debian releases whose own fail2ban judges jailgen (the cached roots).
pub const SUITES: [&str; 3] = ["bookworm", "trixie", "forky"];

/// A Debian release's own `fail2ban-client ARGS`, run in the sandbox on
/// its cached root, reading the tree's /etc/fail2ban and /var/log (shown
/// read-only over the root's).
pub fn release_client(
    suite_root: &Path,
    tree: &Tree,
    args: &[&str],
) -> hardkit_core::sandbox::SandboxOutput {
    let root = hardkit_core::Root::new(suite_root).unwrap();
    fs::create_dir_all(tree.host("/var/log")).unwrap();
    let mut argv: Vec<&std::ffi::OsStr> = vec!["-c".as_ref(), "/etc/fail2ban".as_ref()];
    argv.extend(args.iter().map(std::ffi::OsStr::new));
    hardkit_core::sandbox::Sandbox::new(&root)
        .input_over(&tree.host("/etc/fail2ban"), "/etc/fail2ban")
        .input_over(&tree.host("/var/log"), "/var/log")
        .make_dir("/run/fail2ban")
        .run("/usr/bin/fail2ban-client", &argv, b"")
        .unwrap()
}

/// A tree holding a copy of a cached root's /etc/fail2ban and its
/// package database (so jailgen detects the root's release).
pub fn tree_from_release(suite_root: &Path) -> Tree {
    let tree = Tree::new();
    copy_tree(
        &suite_root.join("etc/fail2ban"),
        &tree.host("/etc/fail2ban"),
    );
    let status = fs::read_to_string(suite_root.join("var/lib/dpkg/status")).unwrap();
    tree.file("/var/lib/dpkg/status", &status);
    fs::create_dir_all(tree.host("/var/log")).unwrap();
    tree
}

/// What fail2ban will run for one jail, from its -d stream.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DumpedJail {
    pub backend: String,
    pub options: BTreeMap<String, Value>,
    pub logpaths: Vec<String>,
    pub journalmatch: Vec<String>,
    /// Every `addjournalmatch`, in order (fail2ban ORs them).
    pub journalmatches: Vec<Vec<String>>,
    /// `addignoreip` when sent.
    pub ignoreip_sent: Option<Vec<String>>,
    pub ignoreip: Vec<String>,
    pub actions: Vec<String>,
    /// Parameters of each action (name -> param -> value).
    pub action_params: BTreeMap<String, BTreeMap<String, String>>,
    pub started: bool,
}

pub fn jails_of(stream: &[Value]) -> BTreeMap<String, DumpedJail> {
    let mut jails: BTreeMap<String, DumpedJail> = BTreeMap::new();
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    for cmd in stream {
        let c = cmd.as_array().unwrap();
        let verb = s(&c[0]);
        match verb.as_str() {
            "add" => {
                jails.entry(s(&c[1])).or_default().backend = s(&c[2]);
            }
            "start" => jails.entry(s(&c[1])).or_default().started = true,
            "set" if c.len() >= 4 => {
                let Some(jail) = jails.get_mut(&s(&c[1])) else {
                    continue;
                };
                let key = s(&c[2]);
                match key.as_str() {
                    "addlogpath" => jail.logpaths.push(s(&c[3])),
                    "addjournalmatch" => {
                        jail.journalmatch = c[3..].iter().map(s).collect();
                        jail.journalmatches.push(jail.journalmatch.clone());
                    }
                    "addignoreip" => {
                        jail.ignoreip = c[3..].iter().map(s).collect();
                        jail.ignoreip_sent = Some(jail.ignoreip.clone());
                    }
                    "addaction" => jail.actions.push(s(&c[3])),
                    _ => {
                        jail.options.insert(key, c[3].clone());
                    }
                }
            }
            "multi-set" if s(&c[2]) == "action" => {
                let Some(jail) = jails.get_mut(&s(&c[1])) else {
                    continue;
                };
                let params = c[4]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| {
                        let p = p.as_array().unwrap();
                        (s(&p[0]), s(&p[1]))
                    })
                    .collect();
                jail.action_params.insert(s(&c[3]), params);
            }
            _ => {}
        }
    }
    jails
}

/// The jail records in jailgen's JSON output, decoded with unknown fields denied.
pub fn jail_records(out: &str) -> Vec<jailgen::jails::Jail> {
    out.lines()
        .filter(|l| l.starts_with("{\"type\":\"jail\""))
        .map(|l| {
            hardkit_core::record::decode_strict::<jailgen::jails::Jail>(l)
                .unwrap()
                .body
        })
        .collect()
}

/// Every line of jailgen's JSON output parses back with unknown fields denied.
pub fn check_json_lines(out: &str) {
    use hardkit_core::record::{decode_strict, envelope};
    for line in out.lines() {
        let (kind, tool) = envelope(line).unwrap();
        assert_eq!(tool, "jailgen");
        match kind.as_str() {
            "jail" => drop(decode_strict::<jailgen::jails::Jail>(line).unwrap()),
            "action" => drop(decode_strict::<hardkit_core::Action>(line).unwrap()),
            "finding" => drop(decode_strict::<hardkit_core::Finding>(line).unwrap()),
            "summary" => drop(decode_strict::<hardkit_core::Summary>(line).unwrap()),
            "error" => drop(decode_strict::<hardkit_core::ErrorRecord>(line).unwrap()),
            "release" => drop(decode_strict::<hardkit_core::release::ReleaseRecord>(line).unwrap()),
            other => panic!("undocumented record type {other}: {line}"),
        }
    }
}

/// Needs Debian's stock fail2ban configuration in /etc/fail2ban.
pub fn stock_ready(test: &str) -> bool {
    if Path::new("/etc/fail2ban/jail.conf").is_file() {
        return true;
    }
    hardkit_core::oracle::not_run(
        test,
        "fail2ban's stock /etc/fail2ban/jail.conf is missing (apt-get install fail2ban)",
    );
    false
}

/// Needs fail2ban-client, python3 (fail2ban's own runtime) and root for the
/// mount namespace.
pub fn oracle_ready(test: &str) -> bool {
    if hardkit_core::oracle::oracle(test, "fail2ban-client").is_none()
        || hardkit_core::oracle::oracle(test, "unshare").is_none()
        || !hardkit_core::oracle::require_root(test)
    {
        return false;
    }
    if !Path::new("/etc/fail2ban/jail.conf").is_file() {
        hardkit_core::oracle::not_run(test, "fail2ban's stock /etc/fail2ban/jail.conf is missing");
        return false;
    }
    let namespace = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .status();
    if !namespace.is_ok_and(|s| s.success()) {
        hardkit_core::oracle::not_run(test, "cannot create a mount namespace (unshare --mount)");
        return false;
    }
    true
}

pub fn sshd_lint_ports(ports: &[u16]) -> String {
    let mut text = String::new();
    text.push_str("{\"type\":\"setting\",\"tool\":\"sshd-lint\",\"key\":\"permitrootlogin\",\"value\":\"no\",\"origin\":\"default\",\"shadowed\":[]}\n");
    for p in ports {
        text.push_str(&format!(
            "{{\"type\":\"setting\",\"tool\":\"sshd-lint\",\"key\":\"port\",\"value\":\"{p}\",\"origin\":{{\"path\":\"/etc/ssh/sshd_config\",\"line\":14}},\"shadowed\":[{{\"path\":\"/etc/ssh/sshd_config\",\"line\":13,\"value\":\"22\"}}]}}\n"
        ));
    }
    text.push_str("{\"type\":\"summary\",\"tool\":\"sshd-lint\",\"counts\":{\"setting\":2},\"severity\":{},\"exit\":0}\n");
    text
}

/// Copy a host program and the libraries `ldd` names into the tree (a
/// small image whose "fail2ban-client" is a script of the test's).
pub fn install_program(tree: &Tree, program: &str) {
    let out = Command::new("ldd").arg(program).output().unwrap();
    let mut files = vec![PathBuf::from(program)];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        files.extend(
            line.split_whitespace()
                .filter(|w| w.starts_with('/'))
                .map(PathBuf::from),
        );
    }
    for f in files {
        let real = fs::canonicalize(&f).unwrap();
        let dst = tree.host(f.to_str().unwrap());
        fs::create_dir_all(dst.parent().unwrap()).unwrap();
        if !dst.exists() {
            fs::copy(&real, &dst).unwrap();
        }
    }
}

/// Every file under `dir`, as paths relative to it (symlinks not followed).
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p.clone());
            }
            out.push(p.strip_prefix(dir).unwrap().to_path_buf());
        }
    }
    out.sort();
    out
}

/// Whose fail2ban Python judges: this machine's (Debian 12's 1.0.2), then
/// each cached Debian root's (missing roots are recorded as NOT RUN).
pub fn fail2ban_pythons(test: &str) -> Vec<(String, Option<PathBuf>)> {
    let mut out = vec![("this machine".to_string(), None)];
    if running_as_root() {
        for suite in SUITES {
            if let Some(root) =
                hardkit_core::oracle::debian_root(&format!("{test}::{suite}"), suite)
            {
                out.push((suite.to_string(), Some(root)));
            }
        }
    } else {
        hardkit_core::oracle::not_run(test, "the Debian roots' fail2ban needs root (sandbox)");
    }
    out
}

fn running_as_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// Run `script` (`python3 -c`) with fail2ban's Python of `suite_root`
/// (None: this machine's) on `paths`, which all lie under `base`; for a
/// root it runs in the sandbox with `base` shown read-only at /tmp/input.
/// Returns stdout, after asserting success.
pub fn fail2ban_python(
    suite_root: Option<&Path>,
    script: &str,
    base: &Path,
    paths: &[PathBuf],
) -> String {
    let (ok, stdout, stderr) = match suite_root {
        None => {
            let out = Command::new("/usr/bin/python3")
                .args(["-c", script])
                .args(paths)
                .output()
                .unwrap();
            (out.status.success(), out.stdout, out.stderr)
        }
        Some(suite_root) => {
            let root = hardkit_core::Root::new(suite_root).unwrap();
            let inside: Vec<PathBuf> = paths
                .iter()
                .map(|p| Path::new("/tmp/input").join(p.strip_prefix(base).unwrap()))
                .collect();
            let mut argv: Vec<&std::ffi::OsStr> = vec!["-c".as_ref(), script.as_ref()];
            argv.extend(inside.iter().map(|p| p.as_os_str()));
            let out = hardkit_core::sandbox::Sandbox::new(&root)
                .make_dir("/tmp/input")
                .input_over(base, "/tmp/input")
                .timeout(std::time::Duration::from_secs(120))
                .run("/usr/bin/python3", &argv, b"")
                .unwrap();
            (out.status.success(), out.stdout, out.stderr)
        }
    };
    assert!(ok, "{}", String::from_utf8_lossy(&stderr));
    String::from_utf8(stdout).unwrap()
}
