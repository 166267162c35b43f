//! The differential suite: every config under tests/configs is read by
//! sshd-lint and by the real `sshd -T` (Debian 12's OpenSSH 9.2p1) for
//! several connection contexts, and every printed line must agree; a config
//! sshd refuses must be refused by sshd-lint too.
//!
//! sshd -T needs a host key, /run/sshd and an `sshd` account, and reads
//! /etc/ssh. The oracle runs in a private mount namespace (`unshare -m`)
//! where the test tree's etc/ssh, passwd and group are bind-mounted over the
//! host's, so both programs see the same files and the host is untouched.

use std::path::{Path, PathBuf};
use std::process::Command;

mod release_corpus;

use release_corpus::{Case, CONTEXTS};

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Run the real sshd -T for every context; returns (exit ok, stdout) each.
fn oracle(sshd: &Path, tree: &Path) -> Vec<(bool, String)> {
    let mut script = String::from(
        "set -e; mount -t tmpfs tmpfs /run; mkdir -m 755 /run/sshd; \
         mount --bind \"$1/etc/ssh\" /etc/ssh; mount --bind \"$1/etc/passwd\" /etc/passwd; \
         mount --bind \"$1/etc/group\" /etc/group; cd /; set +e\n",
    );
    for ctx in CONTEXTS {
        let c = if ctx.is_empty() {
            String::new()
        } else {
            format!("-C '{ctx}'")
        };
        script.push_str(&format!(
            "\"$2\" -T -f /etc/ssh/sshd_config {c} 2>/dev/null; echo \"=== rc=$?\"\n"
        ));
    }
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script, "sh"])
        .arg(tree)
        .arg(sshd)
        .output()
        .expect("unshare");
    assert!(
        out.status.success(),
        "oracle namespace failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut results = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rc) = line.strip_prefix("=== rc=") {
            results.push((rc == "0", std::mem::take(&mut current)));
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    assert_eq!(results.len(), CONTEXTS.len(), "oracle output: {text}");
    results
}

/// `unshare -m` with mounts (a container without CAP_SYS_ADMIN refuses).
fn namespaces_work() -> bool {
    Command::new("unshare")
        .args(["-m", "sh", "-c", "mount -t tmpfs tmpfs /mnt"])
        .status()
        .is_ok_and(|s| s.success())
}

fn ours(tree: &Path, ctx: &str) -> (bool, String) {
    ours_as(tree, ctx, Some("9.2")).0
}

/// sshd-lint --effective on a tree: ((accepted, stdout), stderr). Without
/// `openssh`, the release is detected from the tree's dpkg status.
fn ours_as(tree: &Path, ctx: &str, openssh: Option<&str>) -> ((bool, String), String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sshd-lint"));
    cmd.arg("--effective");
    if let Some(v) = openssh {
        cmd.args(["--openssh", v]);
    }
    cmd.arg("--root").arg(tree);
    if !ctx.is_empty() {
        cmd.args(["--context", ctx]);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    if !out.status.success() {
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.starts_with("sshd-lint: "), "{stderr}");
    }
    (
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ),
        stderr.into_owned(),
    )
}

#[test]
fn effective_config_agrees_with_sshd_dash_capital_t() {
    let Some(sshd) = hardkit_core::oracle::oracle("sshd-lint differential suite", "sshd") else {
        return;
    };
    if !hardkit_core::oracle::require_root("sshd-lint differential suite") {
        return;
    }
    if !namespaces_work() {
        hardkit_core::oracle::not_run(
            "sshd-lint differential suite",
            "needs mount namespaces (unshare -m) to give sshd a private /etc/ssh",
        );
        return;
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(keys.join("ssh_host_ed25519_key"))
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    let mut names: Vec<String> = std::fs::read_dir(here.join("configs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (mut agreed, mut total, mut runs, mut failures) = (0usize, 0usize, 0usize, Vec::new());
    for name in &names {
        let tree = tmp.path().join(name);
        copy_tree(&here.join("configs").join(name), &tree);
        for f in ["passwd", "group"] {
            std::fs::copy(
                here.join("fixtures/accounts").join(f),
                tree.join("etc").join(f),
            )
            .unwrap();
        }
        for f in ["ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"] {
            std::fs::copy(keys.join(f), tree.join("etc/ssh").join(f)).unwrap();
        }
        let expected = oracle(&sshd, &tree);
        for (ctx, (ok, want)) in CONTEXTS.iter().zip(expected) {
            runs += 1;
            let (got_ok, got) = ours(&tree, ctx);
            if !ok || !got_ok {
                total += 1;
                if ok == got_ok {
                    agreed += 1;
                } else {
                    failures.push(format!(
                        "{name} [{ctx}]: sshd {} but sshd-lint {}",
                        if ok { "accepts" } else { "refuses" },
                        if got_ok { "accepts" } else { "refuses" }
                    ));
                }
                continue;
            }
            let want_lines: Vec<&str> = want.lines().collect();
            let got_lines: Vec<&str> = got.lines().collect();
            total += want_lines.len().max(got_lines.len());
            for i in 0..want_lines.len().max(got_lines.len()) {
                let (w, g) = (want_lines.get(i), got_lines.get(i));
                if w == g {
                    agreed += 1;
                } else {
                    failures.push(format!(
                        "{name} [{ctx}] line {}: sshd {:?} vs sshd-lint {:?}",
                        i + 1,
                        w,
                        g
                    ));
                }
            }
        }
    }
    eprintln!(
        "differential: {agreed}/{total} lines agree ({} configs x {} contexts = {runs} runs)",
        names.len(),
        CONTEXTS.len()
    );
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures
            .iter()
            .take(60)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// One-line configs (tests/value-lines.txt): every value syntax sshd has,
/// valid and invalid, each compared with `sshd -T` in one namespace.
#[test]
fn single_line_values_agree_with_sshd() {
    let Some(sshd) = hardkit_core::oracle::oracle("sshd-lint single-line values", "sshd") else {
        return;
    };
    if !hardkit_core::oracle::require_root("sshd-lint single-line values") {
        return;
    }
    if !namespaces_work() {
        hardkit_core::oracle::not_run(
            "sshd-lint single-line values",
            "needs mount namespaces (unshare -m)",
        );
        return;
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    let lines_text = std::fs::read_to_string(here.join("value-lines.txt")).unwrap();
    let lines: Vec<&str> = lines_text.lines().collect();
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("ssh_host_ed25519_key");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    for f in ["passwd", "group"] {
        std::fs::copy(here.join("fixtures/accounts").join(f), tmp.path().join(f)).unwrap();
    }
    for (i, line) in lines.iter().enumerate() {
        let ssh = tmp.path().join(format!("lines/{i:04}/etc/ssh"));
        std::fs::create_dir_all(&ssh).unwrap();
        std::fs::write(ssh.join("sshd_config"), format!("{line}\n")).unwrap();
        std::fs::copy(&key, ssh.join("ssh_host_ed25519_key")).unwrap();
    }
    let script = "mount -t tmpfs tmpfs /run && mkdir -m 755 /run/sshd && mount --bind \"$1/passwd\" /etc/passwd && \
                  mount --bind \"$1/group\" /etc/group && cd / || exit 1\n\
                  for d in \"$1\"/lines/*; do mount --bind \"$d/etc/ssh\" /etc/ssh; \"$2\" -T -f /etc/ssh/sshd_config 2>/dev/null; \
                  echo \"=== rc=$?\"; umount /etc/ssh; done";
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", script, "sh"])
        .arg(tmp.path())
        .arg(&sshd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut expected: Vec<(bool, String)> = Vec::new();
    let mut current = String::new();
    for l in text.lines() {
        match l.strip_prefix("=== rc=") {
            Some(rc) => expected.push((rc == "0", std::mem::take(&mut current))),
            None => {
                current.push_str(l);
                current.push('\n');
            }
        }
    }
    assert_eq!(expected.len(), lines.len());
    let mut failures = Vec::new();
    for (i, (line, (ok, want))) in lines.iter().zip(expected).enumerate() {
        let tree = tmp.path().join(format!("lines/{i:04}"));
        std::fs::copy(tmp.path().join("passwd"), tree.join("etc/passwd")).unwrap();
        std::fs::copy(tmp.path().join("group"), tree.join("etc/group")).unwrap();
        let (got_ok, got) = ours(&tree, "");
        if ok != got_ok {
            failures.push(format!(
                "{line:?}: sshd {} but sshd-lint {}",
                if ok { "accepts" } else { "refuses" },
                if got_ok { "accepts" } else { "refuses" }
            ));
        } else if ok && want != got {
            let diff: Vec<String> = want
                .lines()
                .zip(got.lines())
                .filter(|(a, b)| a != b)
                .map(|(a, b)| format!("sshd {a:?} vs {b:?}"))
                .collect();
            failures.push(format!("{line:?}: {}", diff.join("; ")));
        }
    }
    eprintln!(
        "single-line values: {}/{} agree",
        lines.len() - failures.len(),
        lines.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A seeded generator for random configs: drop-ins, Match blocks with
/// random criteria, Include inside Match, every separator form, and values
/// that interact (first-value-wins, modifiers, AuthenticationMethods).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const RANDOM_VALUES: &[(&str, &[&str])] = &[
    ("PasswordAuthentication", &["yes", "no", "YES", "No"]),
    (
        "PermitRootLogin",
        &["yes", "no", "prohibit-password", "forced-commands-only"],
    ),
    ("PubkeyAuthentication", &["yes", "no"]),
    ("KbdInteractiveAuthentication", &["yes", "no"]),
    ("ChallengeResponseAuthentication", &["yes", "no"]),
    ("X11Forwarding", &["yes", "no"]),
    (
        "AllowTcpForwarding",
        &["yes", "no", "local", "remote", "all"],
    ),
    ("GatewayPorts", &["yes", "no", "clientspecified"]),
    ("MaxAuthTries", &["1", "3", "6", "10"]),
    ("MaxSessions", &["0", "2", "10"]),
    ("LoginGraceTime", &["0", "30", "1m", "2m30s"]),
    ("ClientAliveInterval", &["0", "15", "5m"]),
    ("LogLevel", &["INFO", "VERBOSE", "DEBUG2", "quiet"]),
    ("Banner", &["none", "/etc/issue.net"]),
    (
        "AllowUsers",
        &["alice", "bob carol", "*@10.0.0.0/8", "deploy@192.168.1.*"],
    ),
    ("DenyUsers", &["mallory", "root"]),
    ("AllowGroups", &["wheel", "staff nogroup"]),
    ("AcceptEnv", &["LANG", "LC_*", "X Y"]),
    (
        "AuthorizedKeysFile",
        &[".ssh/authorized_keys", "/etc/ssh/keys/%u .ssh/k"],
    ),
    ("PermitOpen", &["any", "none", "localhost:80"]),
    (
        "Ciphers",
        &[
            "+aes128-cbc",
            "-aes*",
            "^aes256-ctr",
            "aes256-gcm@openssh.com,aes128-ctr",
        ],
    ),
    (
        "MACs",
        &["+hmac-sha1-96", "-*sha1*", "umac-128-etm@openssh.com"],
    ),
    (
        "KexAlgorithms",
        &[
            "-diffie*",
            "+diffie-hellman-group14-sha1",
            "curve25519-sha256",
        ],
    ),
    (
        "PubkeyAcceptedAlgorithms",
        &["+ssh-rsa", "-ssh-rsa*", "ssh-ed25519"],
    ),
    ("Port", &["22", "2222", "8022"]),
    (
        "ListenAddress",
        &["127.0.0.1", "0.0.0.0:2200", "[::1]:2201"],
    ),
    ("UsePAM", &["yes", "no"]),
    ("PermitTunnel", &["no", "yes", "point-to-point"]),
    ("MaxStartups", &["10:30:60", "5", "20:50:40"]),
    ("IPQoS", &["af21", "cs1 af41", "lowdelay"]),
    (
        "ForceCommand",
        &["none", "/bin/true", "internal-sftp -d /x"],
    ),
    ("ChrootDirectory", &["none", "/srv/%u"]),
    ("SetEnv", &["A=1", "B=2 C=3"]),
    ("PermitEmptyPasswords", &["no", "yes"]),
    ("StreamLocalBindMask", &["0177", "022"]),
    ("RekeyLimit", &["1G", "default none", "512M 1h"]),
    (
        "AuthenticationMethods",
        &["publickey", "publickey,password", "any"],
    ),
    ("HostKey", &["/etc/ssh/ssh_host_ed25519_key"]),
    ("HostbasedAuthentication", &["yes", "no"]),
    ("IgnoreRhosts", &["yes", "no", "shosts-only"]),
    ("PermitUserEnvironment", &["yes", "no", "LANG,LC_*"]),
    ("DisableForwarding", &["yes", "no"]),
    (
        "ChannelTimeout",
        &["session=5m", "none", "agent*=1h direct-tcpip=10m"],
    ),
    ("LogVerbose", &["kex.c:*:1000", "none"]),
    ("PerSourceNetBlockSize", &["24:64", "32:128"]),
    ("PerSourceMaxStartups", &["none", "5"]),
    ("AuthorizedKeysCommand", &["none", "/usr/bin/keys %u"]),
    ("AuthorizedKeysCommandUser", &["nobody"]),
    ("UnusedConnectionTimeout", &["none", "5m"]),
    ("Protocol", &["2"]),
    ("PubkeyAuthOptions", &["none", "touch-required"]),
    ("GSSAPIAuthentication", &["yes", "no"]),
    ("HostbasedAcceptedAlgorithms", &["-ecdsa*", "+ssh-rsa"]),
    ("CASignatureAlgorithms", &["-ssh-rsa", "+ssh-rsa"]),
    ("AddressFamily", &["any", "inet", "inet6"]),
    ("Compression", &["yes", "no", "delayed"]),
    ("VersionAddendum", &["none", "hello world"]),
    ("SyslogFacility", &["AUTH", "local3"]),
    ("FingerprintHash", &["md5", "sha256"]),
    ("PermitListen", &["any", "8080", "localhost:9090"]),
    ("AllowStreamLocalForwarding", &["yes", "no", "local"]),
    ("RequiredRSASize", &["1024", "3072"]),
];
const GLOBAL_ONLY: &[&str] = &[
    "Port",
    "ListenAddress",
    "UsePAM",
    "Ciphers",
    "MACs",
    "KexAlgorithms",
    "MaxStartups",
    "HostKey",
    "PermitUserEnvironment",
    "PerSourceNetBlockSize",
    "PerSourceMaxStartups",
    "Protocol",
    "AddressFamily",
    "Compression",
    "VersionAddendum",
    "SyslogFacility",
    "FingerprintHash",
];
const CRITERIA: &[&str] = &[
    "User alice",
    "User bob,!alice",
    "User *",
    "Group wheel",
    "Group staff,!wheel",
    "Host *.example.com",
    "Address 10.0.0.0/8",
    "Address 192.168.1.0/24,!192.168.1.5",
    "LocalPort 22",
    "LocalPort 2222",
    "LocalAddress 127.0.0.1",
    "all",
    "User alice Address 10.0.0.0/8",
    "LocalAddress ::1,192.168.*",
    "Host A.EXAMPLE.COM",
    "User ALICE",
    "User \"alice\"",
    "Address 10.1.1.1/32 # c",
    "LocalPort 2222 User bob",
];

fn random_line(g: &mut Gen, in_match: bool) -> String {
    let (key, values) = loop {
        let (k, v) = RANDOM_VALUES[g.below(RANDOM_VALUES.len() as u64) as usize];
        if !(in_match && GLOBAL_ONLY.contains(&k)) {
            break (k, v);
        }
    };
    let sep = g.pick(&[" ", "=", " = ", "\t"]);
    let indent = if in_match { "  " } else { "" };
    let key = match g.below(10) {
        0 | 1 => key.to_ascii_lowercase(),
        2 => key.to_ascii_uppercase(),
        _ => key.to_string(),
    };
    let comment = if g.below(10) == 0 {
        " # trailing comment"
    } else {
        ""
    };
    format!("{indent}{key}{sep}{}{comment}", g.pick(values))
}

fn random_tree(g: &mut Gen, dir: &Path) {
    let mut files: Vec<(String, String)> = Vec::new();
    let mut main = Vec::new();
    if g.below(2) == 0 {
        main.push("Include /etc/ssh/sshd_config.d/*.conf".to_string());
        for name in ["00-a", "10-b", "50-cloud-init", "9-z", "A"] {
            if g.below(2) == 0 {
                continue;
            }
            let mut body: Vec<String> =
                (0..1 + g.below(3)).map(|_| random_line(g, false)).collect();
            if g.below(3) == 0 {
                body.push(format!("Match {}", g.pick(CRITERIA)));
                body.extend((0..1 + g.below(2)).map(|_| random_line(g, true)));
            }
            files.push((
                format!("etc/ssh/sshd_config.d/{name}.conf"),
                body.join("\n") + "\n",
            ));
        }
    }
    main.extend((0..2 + g.below(7)).map(|_| random_line(g, false)));
    for _ in 0..g.below(4) {
        main.push(format!("Match {}", g.pick(CRITERIA)));
        main.extend((0..1 + g.below(3)).map(|_| random_line(g, true)));
        if g.below(5) == 0 {
            main.push("  Include /etc/ssh/m.d/*.conf".into());
            let body: Vec<String> = (0..2)
                .map(|_| random_line(g, true).trim().to_string())
                .collect();
            files.push(("etc/ssh/m.d/x.conf".into(), body.join("\n") + "\n"));
        }
    }
    files.push(("etc/ssh/sshd_config".into(), main.join("\n") + "\n"));
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

/// Randomly generated configs (fixed seeds, so a failure reproduces),
/// two contexts each, compared with `sshd -T` in one namespace.
#[test]
fn random_configs_agree_with_sshd() {
    let Some(sshd) = hardkit_core::oracle::oracle("sshd-lint random configs", "sshd") else {
        return;
    };
    if !hardkit_core::oracle::require_root("sshd-lint random configs") {
        return;
    }
    if !namespaces_work() {
        hardkit_core::oracle::not_run(
            "sshd-lint random configs",
            "needs mount namespaces (unshare -m)",
        );
        return;
    }
    const CONFIGS: usize = 120;
    const CTX: [&str; 2] = [
        "user=alice,host=a.example.com,addr=10.1.1.1,laddr=127.0.0.1,lport=22",
        "user=bob,host=x,addr=192.168.1.5,laddr=10.0.0.1,lport=2222",
    ];
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("ssh_host_ed25519_key");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    let mut g = Gen(0x5eed_cafe_f00d_1234);
    for i in 0..CONFIGS {
        let tree = tmp.path().join(format!("trees/{i:04}"));
        random_tree(&mut g, &tree);
        std::fs::copy(&key, tree.join("etc/ssh/ssh_host_ed25519_key")).unwrap();
        for f in ["passwd", "group"] {
            std::fs::copy(
                here.join("fixtures/accounts").join(f),
                tree.join("etc").join(f),
            )
            .unwrap();
        }
    }
    let script = format!(
        "mount -t tmpfs tmpfs /run && mkdir -m 755 /run/sshd && mount --bind \"$1/trees/0000/etc/passwd\" /etc/passwd && \
         mount --bind \"$1/trees/0000/etc/group\" /etc/group && cd / || exit 1\n\
         for d in \"$1\"/trees/*; do mount --bind \"$d/etc/ssh\" /etc/ssh; \
         for c in '{}' '{}'; do \"$2\" -T -f /etc/ssh/sshd_config -C \"$c\" 2>/dev/null; echo \"=== rc=$?\"; done; umount /etc/ssh; done",
        CTX[0], CTX[1]
    );
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script, "sh"])
        .arg(tmp.path())
        .arg(&sshd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut expected: Vec<(bool, String)> = Vec::new();
    let mut current = String::new();
    for l in text.lines() {
        match l.strip_prefix("=== rc=") {
            Some(rc) => expected.push((rc == "0", std::mem::take(&mut current))),
            None => {
                current.push_str(l);
                current.push('\n');
            }
        }
    }
    assert_eq!(expected.len(), CONFIGS * CTX.len());
    let (mut failures, mut accepted) = (Vec::new(), 0);
    for (n, (ok, want)) in expected.into_iter().enumerate() {
        let (i, ctx) = (n / CTX.len(), CTX[n % CTX.len()]);
        let tree = tmp.path().join(format!("trees/{i:04}"));
        let (got_ok, got) = ours(&tree, ctx);
        accepted += usize::from(ok);
        if ok != got_ok || (ok && want != got) {
            let config =
                std::fs::read_to_string(tree.join("etc/ssh/sshd_config")).unwrap_or_default();
            failures.push(format!(
                "config {i} [{ctx}]: sshd ok={ok}, sshd-lint ok={got_ok}\n{config}"
            ));
        }
    }
    eprintln!(
        "random configs: {}/{} runs agree ({accepted} accepted by sshd)",
        CONFIGS * CTX.len() - failures.len(),
        CONFIGS * CTX.len()
    );
    assert!(
        accepted > CONFIGS / 2,
        "most generated configs should be valid, or the test only checks refusals"
    );
    assert!(
        failures.is_empty(),
        "{}",
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The Debian releases whose own sshd judges sshd-lint: (suite, the
/// upstream release it ships).
const RELEASES: &[(&str, &str)] = &[
    ("bookworm", "9.2p1"),
    ("trixie", "10.0p2"),
    ("forky", "10.6p1"),
];

/// What one run of sshd printed.
#[derive(Default)]
struct Outcome {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// The openssh-server stanza of a root's dpkg status, for the test tree
/// (so that sshd-lint detects the release and revision as on the target).
fn openssh_stanza(root: &Path) -> String {
    let status = std::fs::read_to_string(root.join("var/lib/dpkg/status")).unwrap();
    status
        .split("\n\n")
        .find(|s| s.lines().any(|l| l == "Package: openssh-server"))
        .map(|s| format!("{s}\n"))
        .unwrap_or_default()
}

/// A tree for one case: its config files, a host key, the fixture
/// accounts, the release's dpkg stanza and services file.
fn build_tree(case: &Case, tree: &Path, keys: &Path, stanza: &str, root: &Path) {
    std::fs::create_dir_all(tree.join("etc/ssh")).unwrap();
    std::fs::create_dir_all(tree.join("var/lib/dpkg")).unwrap();
    for (rel, bytes) in &case.files {
        let p = tree.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let key = if case.dsa_only {
        "ssh_host_dsa_key"
    } else {
        "ssh_host_ed25519_key"
    };
    for f in [key.to_string(), format!("{key}.pub")] {
        std::fs::copy(keys.join(&f), tree.join("etc/ssh").join(&f)).unwrap();
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    for f in ["passwd", "group"] {
        std::fs::copy(
            here.join("fixtures/accounts").join(f),
            tree.join("etc").join(f),
        )
        .unwrap();
    }
    std::fs::write(tree.join("var/lib/dpkg/status"), stanza).unwrap();
    let _ = std::fs::copy(root.join("etc/services"), tree.join("etc/services"));
    let _ = std::fs::copy(root.join("etc/hosts"), tree.join("etc/hosts"));
}

/// The release's own sshd on a tree, in the sandbox: `sshd -T` for every
/// context, then `sshd -t`.
fn release_oracle(
    root: &hardkit_core::Root,
    tree: &Path,
    contexts: &[String],
    over: &[(PathBuf, &'static str)],
) -> (Vec<Outcome>, Outcome) {
    // The sandbox's network namespace starts with its loopback down; with
    // no address at all, getaddrinfo sorts the wildcard addresses the other
    // way round from a host with a network (so `listenaddress` would print
    // 0.0.0.0 before [::]). Loopback up is the smallest network.
    const SCRIPT: &str = r#"
if ! ip link set lo up; then echo "the root has no working ip(8): loopback stays down" >&2; exit 97; fi
for c in "$@"; do
  if [ -z "$c" ]; then /usr/sbin/sshd -T -f /etc/ssh/sshd_config >/tmp/o 2>/tmp/e
  else /usr/sbin/sshd -T -f /etc/ssh/sshd_config -C "$c" >/tmp/o 2>/tmp/e; fi
  rc=$?; cat /tmp/o; echo "=== rc=$rc"; sed 's/^/#! /' /tmp/e
done
/usr/sbin/sshd -t -f /etc/ssh/sshd_config >/dev/null 2>/tmp/e; echo "=== rc=$?"; sed 's/^/#! /' /tmp/e
"#;
    let mut args: Vec<&std::ffi::OsStr> = vec!["-c".as_ref(), SCRIPT.as_ref(), "sh".as_ref()];
    args.extend(contexts.iter().map(|c| std::ffi::OsStr::new(c.as_str())));
    let mut sandbox = hardkit_core::sandbox::Sandbox::new(root);
    for (host, system) in over {
        sandbox = sandbox.input_over(host, system);
    }
    let out = sandbox
        .input_over(&tree.join("etc/ssh"), "/etc/ssh")
        .input_over(&tree.join("etc/passwd"), "/etc/passwd")
        .input_over(&tree.join("etc/group"), "/etc/group")
        .make_dir("/run/sshd")
        .run("/bin/sh", &args, b"")
        .expect("sandbox");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut runs: Vec<Outcome> = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rc) = line.strip_prefix("=== rc=") {
            runs.push(Outcome {
                ok: rc == "0",
                stdout: std::mem::take(&mut current),
                stderr: String::new(),
            });
        } else if let Some(e) = line.strip_prefix("#! ") {
            if let Some(last) = runs.last_mut() {
                last.stderr.push_str(e);
                last.stderr.push('\n');
            }
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    assert_eq!(
        runs.len(),
        contexts.len() + 1,
        "sandbox output: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = runs.pop().unwrap_or_default();
    (runs, t)
}

/// Does sshd-lint's lint (no --effective, no context) say sshd would
/// start? It says it would not with an `sshd/invalid-config` finding, or
/// `sshd/no-host-keys` ("sshd will not start": no HostKey file exists).
fn ours_would_start(tree: &Path, openssh: Option<&str>) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sshd-lint"));
    if let Some(v) = openssh {
        cmd.args(["--openssh", v]);
    }
    let out = cmd.args(["--json", "--root"]).arg(tree).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let refusal = stdout
        .lines()
        .find(|l| l.contains("\"sshd/invalid-config\"") || l.contains("\"sshd/no-host-keys\""))
        .map(str::to_string);
    (refusal.is_none(), refusal.unwrap_or_default())
}

/// Agreement of one release over the corpus.
#[derive(Default)]
struct Tally {
    pairs: usize,
    agreeing: usize,
    accept_refuse: usize,
    check_mode: usize,
    /// Both refuse, naming different bad options.
    messages: usize,
    differences: Vec<String>,
    /// Pairs left out: the root, not sshd, refused (see environment_refusal).
    environment: Vec<String>,
    /// First differing key -> pairs.
    by_key: std::collections::BTreeMap<String, usize>,
}

/// A refusal that comes from the cached root, not from sshd's rules: a
/// minimal debootstrap root may lack /etc/hosts, so its sshd cannot
/// resolve `localhost` in the sandbox (no network), which any installed
/// server can (and sshd-lint resolves names as this host does).
fn environment_refusal(root: &Path, want: &Outcome, got_ok: bool) -> bool {
    !root.join("etc/hosts").exists()
        && !want.ok
        && got_ok
        && want.stderr.contains("Temporary failure in name resolution")
}

fn compare(tally: &mut Tally, label: &str, want: &Outcome, got_ok: bool, got: &str, got_err: &str) {
    tally.pairs += 1;
    if want.ok != got_ok {
        tally.accept_refuse += 1;
        *tally.by_key.entry("accept/refuse".into()).or_default() += 1;
        tally.differences.push(format!(
            "{label}: sshd {} but sshd-lint {}\n    sshd: {}    sshd-lint: {}",
            if want.ok { "accepts" } else { "refuses" },
            if got_ok { "accepts" } else { "refuses" },
            want.stderr.lines().last().unwrap_or(""),
            got_err.lines().last().unwrap_or("")
        ));
        return;
    }
    if !want.ok {
        // Both refuse: with the same unknown keywords named, in order (sshd
        // names every one of a file before it stops).
        let bad = |text: &str| -> Vec<String> {
            text.lines()
                .filter_map(|l| l.split_once("Bad configuration option: "))
                .map(|(_, k)| k.trim().to_string())
                .collect()
        };
        let (w, g) = (bad(&want.stderr), bad(got_err));
        if w != g {
            tally.messages += 1;
            *tally
                .by_key
                .entry("bad-option messages".into())
                .or_default() += 1;
            tally.differences.push(format!(
                "{label}: sshd names bad options {w:?}, sshd-lint {g:?}"
            ));
            return;
        }
        tally.agreeing += 1;
        return;
    }
    if want.stdout == got {
        tally.agreeing += 1;
        return;
    }
    let w: Vec<&str> = want.stdout.lines().collect();
    let g: Vec<&str> = got.lines().collect();
    let missing: Vec<&&str> = w.iter().filter(|l| !g.contains(l)).collect();
    let extra: Vec<&&str> = g.iter().filter(|l| !w.contains(l)).collect();
    let key = missing
        .first()
        .or(extra.first())
        .map(|l| l.split(' ').next().unwrap_or("").to_string())
        .unwrap_or_else(|| "order".into());
    *tally.by_key.entry(key).or_default() += 1;
    let first = (0..w.len().max(g.len()))
        .find(|&i| w.get(i) != g.get(i))
        .map(|i| {
            format!(
                " (line {}: sshd {:?}, sshd-lint {:?})",
                i + 1,
                w.get(i),
                g.get(i)
            )
        })
        .unwrap_or_default();
    tally.differences.push(format!(
        "{label}: sshd only {missing:?}, sshd-lint only {extra:?}{first}"
    ));
}

/// One sshd that judges sshd-lint: where it runs and how sshd-lint is told
/// its release.
struct Target {
    /// In the report: `bookworm (OpenSSH 9.2p1)`, `upstream 10.3p1`.
    label: String,
    /// The Debian root whose sshd (or whose libraries, for an upstream
    /// build laid over it) runs in the sandbox.
    root: PathBuf,
    /// The openssh-server stanza for the tree's dpkg status (Debian's
    /// build: detected from it), or empty.
    stanza: String,
    /// `--openssh` for sshd-lint when the tree says nothing.
    openssh: Option<String>,
    /// (host path, system path) laid over the root: an upstream build's
    /// /usr/sbin/sshd and /usr/lib/openssh.
    over: Vec<(PathBuf, &'static str)>,
}

fn keys_for_corpus(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (kind, file) in [
        ("ed25519", "ssh_host_ed25519_key"),
        ("dsa", "ssh_host_dsa_key"),
    ] {
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", kind, "-N", "", "-f"])
            .arg(dir.join(file))
            .status()
            .expect("ssh-keygen");
        assert!(status.success());
    }
}

/// The corpus: hand-made trees, one-line values, each root's stock config
/// with cloud drop-ins, the guides, every Match criterion, the 10.x
/// keywords and 60 seeded random trees.
fn release_corpus_for(here: &Path, tmp: &Path, roots: &[(&str, PathBuf)]) -> Vec<Case> {
    let mut corpus = release_corpus::hand_made(here);
    corpus.extend(release_corpus::value_lines(here));
    for (suite, dir) in roots {
        corpus.extend(release_corpus::stock(suite, dir));
    }
    if let Some((_, dir)) = roots.first() {
        corpus.extend(release_corpus::guides(here, dir));
    }
    corpus.extend(release_corpus::real_configs(here));
    corpus.extend(release_corpus::match_criteria());
    corpus.extend(release_corpus::ten_x_keywords());
    let mut g = Gen(0x5eed_0013_d1ff_0001);
    for i in 0..60 {
        let dir = tmp.join(format!("random/{i:03}"));
        random_tree(&mut g, &dir);
        let mut files = Vec::new();
        collect_files(&dir, &dir, &mut files);
        corpus.push(Case {
            name: format!("random/{i:03}"),
            files,
            contexts: vec![
                "user=alice,host=a.example.com,addr=10.1.1.1,laddr=127.0.0.1,lport=22".into(),
                "user=bob,host=x,addr=192.168.1.5,laddr=10.0.0.1,lport=2222".into(),
            ],
            dsa_only: false,
        });
    }
    if let Ok(filter) = std::env::var("SSHD_LINT_CASES") {
        corpus.retain(|c| c.name.contains(&filter));
    }
    corpus
}

/// Judge sshd-lint by one target's sshd on the whole corpus.
fn judge(target: &Target, corpus: &[Case], tmp: &Path, keys: &Path, n_target: usize) -> Tally {
    let root = hardkit_core::Root::new(&target.root).unwrap();
    let mut tally = Tally::default();
    let dump_name: String = target
        .label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    for (n, case) in corpus.iter().enumerate() {
        let tree = tmp.join(format!("t{n_target}/{n:04}"));
        build_tree(case, &tree, keys, &target.stanza, &target.root);
        let (runs, check) = release_oracle(&root, &tree, &case.contexts, &target.over);
        // SSHD_LINT_DUMP=DIR keeps what each release printed, to study
        // a new release.
        if let Some(dump) = std::env::var_os("SSHD_LINT_DUMP") {
            let dir = Path::new(&dump).join(&dump_name);
            std::fs::create_dir_all(&dir).unwrap();
            let mut files = String::new();
            for (rel, bytes) in &case.files {
                files.push_str(&format!("==> {rel}\n{}\n", String::from_utf8_lossy(bytes)));
            }
            std::fs::write(dir.join(format!("{n:04}-files.txt")), files).unwrap();
            for (i, run) in runs.iter().enumerate() {
                let text = format!(
                    "# {} [{}] ok={}\n{}{}",
                    case.name, case.contexts[i], run.ok, run.stdout, run.stderr
                );
                std::fs::write(dir.join(format!("{n:04}-{i}.txt")), text).unwrap();
            }
        }
        let flag = target.openssh.as_deref();
        for (ctx, want) in case.contexts.iter().zip(&runs) {
            let ((got_ok, got), got_err) = ours_as(&tree, ctx, flag);
            if environment_refusal(&target.root, want, got_ok) {
                tally
                    .environment
                    .push(format!("{} [{ctx}]: {}", case.name, want.stderr.trim()));
                continue;
            }
            compare(
                &mut tally,
                &format!("{} [{ctx}]", case.name),
                want,
                got_ok,
                &got,
                &got_err,
            );
        }
        // sshd -t and sshd-lint's lint on the config alone.
        let (got_ok, got_err) = ours_would_start(&tree, flag);
        if check.ok != got_ok && !environment_refusal(&target.root, &check, got_ok) {
            tally.check_mode += 1;
            tally.differences.push(format!(
                "{}: sshd -t {} but sshd-lint {}\n    sshd: {}    sshd-lint: {}",
                case.name,
                if check.ok { "accepts" } else { "refuses" },
                if got_ok { "accepts" } else { "refuses" },
                check.stderr.lines().last().unwrap_or(""),
                got_err.lines().last().unwrap_or("")
            ));
        }
    }
    tally
}

/// Judge every target, write the report (`SSHD_LINT_RELEASE_REPORT`) and
/// fail below target: >= 500 pairs, >= 99% identical, no accept/refuse,
/// `sshd -t` or bad-option disagreement.
fn judge_all(targets: &[Target], corpus: &[Case], tmp: &Path, keys: &Path, report_env: &str) {
    let mut report = String::new();
    let mut failed = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        let tally = judge(target, corpus, tmp, keys, i);
        let line = format!(
            "{}: {}/{} pairs identical ({:.1}%), {} accept/refuse disagreements, {} sshd -t disagreements, {} pairs left out (the root has no /etc/hosts); by first differing key: {:?}",
            target.label,
            tally.agreeing,
            tally.pairs,
            100.0 * tally.agreeing as f64 / tally.pairs.max(1) as f64,
            tally.accept_refuse,
            tally.check_mode,
            tally.environment.len(),
            tally.by_key
        );
        eprintln!("differential: {line}");
        report.push_str(&line);
        report.push('\n');
        for d in &tally.environment {
            report.push_str("  left out: ");
            report.push_str(d);
            report.push('\n');
        }
        for d in &tally.differences {
            report.push_str("  ");
            report.push_str(d);
            report.push('\n');
        }
        let filtered = std::env::var("SSHD_LINT_CASES").is_ok();
        if (tally.pairs < 500 && !filtered)
            || tally.agreeing * 100 < tally.pairs * 99
            || tally.accept_refuse > 0
            || tally.check_mode > 0
            || tally.messages > 0
        {
            failed.push(target.label.clone());
        }
    }
    if let Some(path) = std::env::var_os(report_env) {
        std::fs::write(path, &report).unwrap();
    }
    assert!(
        failed.is_empty(),
        "below target (>= 500 pairs, >= 99% identical, no accept/refuse disagreement) on {failed:?}:\n{}",
        report.lines().take(80).collect::<Vec<_>>().join("\n")
    );
}

/// The cached Debian roots the corpus takes stock configs from (and the
/// Debian targets run in). SSHD_LINT_RELEASES=trixie,forky narrows a run
/// while working on one.
fn cached_roots(test: &str) -> Vec<(&'static str, &'static str, PathBuf)> {
    let only = std::env::var("SSHD_LINT_RELEASES").ok();
    let mut roots = Vec::new();
    for (suite, upstream) in RELEASES {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|x| x == *suite))
        {
            continue;
        }
        if let Some(dir) = hardkit_core::oracle::debian_root(&format!("{test}: {suite}"), suite) {
            roots.push((*suite, *upstream, dir));
        }
    }
    roots
}

/// Every case of the corpus on each Debian release's own sshd (run in the
/// sandbox, on the tree read-only): `sshd-lint --effective` detects the
/// release from the tree's dpkg status and must print what `sshd -T -C`
/// prints, refuse what it refuses, and agree with `sshd -t`.
#[test]
fn each_debian_release_agrees_with_its_own_sshd() {
    const TEST: &str = "sshd-lint differential: each Debian release";
    if !hardkit_core::oracle::require_root(TEST) {
        return;
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    keys_for_corpus(&keys);
    let roots = cached_roots(TEST);
    let named: Vec<(&str, PathBuf)> = roots.iter().map(|(s, _, d)| (*s, d.clone())).collect();
    let corpus = release_corpus_for(&here, tmp.path(), &named);
    let targets: Vec<Target> = roots
        .iter()
        .map(|(suite, upstream, dir)| Target {
            label: format!("{suite} (OpenSSH {upstream})"),
            root: dir.clone(),
            stanza: openssh_stanza(dir),
            openssh: None,
            over: Vec::new(),
        })
        .collect();
    judge_all(
        &targets,
        &corpus,
        tmp.path(),
        &keys,
        "SSHD_LINT_RELEASE_REPORT",
    );
}

/// The upstream releases scripts/test builds from the release tarballs in
/// Debian's archive (scripts/tests/lib.sh, openssh_upstream_ensure): each
/// must be there in CI. Any other `openssh-upstream-VERSION` build in the
/// test cache is judged too.
const UPSTREAM_REQUIRED: &[&str] = &["9.2p1", "10.0p1", "10.3p1"];

/// Every case of the corpus on upstream's own builds (no Debian patches:
/// no GSS-API key exchange, no DebianBanner, upstream's IPQoS defaults),
/// run in the sandbox over Debian 12's root (whose libraries they were
/// built against): `sshd-lint --effective --openssh VERSION-upstream`.
#[test]
fn each_upstream_release_agrees_with_its_own_sshd() {
    const TEST: &str = "sshd-lint differential: upstream OpenSSH builds";
    if !hardkit_core::oracle::require_root(TEST) {
        return;
    }
    let cache = hardkit_core::oracle::test_cache();
    let mut builds: Vec<(String, PathBuf)> = Vec::new();
    for v in UPSTREAM_REQUIRED {
        let dir = cache.join(format!("openssh-upstream-{v}"));
        if dir.join("usr/sbin/sshd").is_file() {
            builds.push((v.to_string(), dir));
        } else {
            hardkit_core::oracle::not_run(
                &format!("{TEST}: {v}"),
                &format!(
                    "no upstream build at {} (scripts/test builds it, as root)",
                    dir.display()
                ),
            );
        }
    }
    if let Ok(entries) = std::fs::read_dir(&cache) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(v) = name.strip_prefix("openssh-upstream-") {
                // A finished build: a directory holding sshd (the .lock,
                // .log and .stamp beside it are files; a build under way is
                // VERSION.tmp).
                if v.ends_with(".tmp")
                    || UPSTREAM_REQUIRED.contains(&v)
                    || !e.path().join("usr/sbin/sshd").is_file()
                {
                    continue;
                }
                builds.push((v.to_string(), e.path()));
            }
        }
    }
    if let Ok(only) = std::env::var("SSHD_LINT_UPSTREAM") {
        builds.retain(|(v, _)| only.split(',').any(|o| o == v));
    }
    // In release order: 9.2p1 < 9.10p1 < 10.0p1 (numbers, not text).
    builds.sort_by_key(|(v, _)| {
        v.split(|c: char| !c.is_ascii_digit())
            .map(|n| n.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
    });
    let roots = cached_roots(TEST);
    let Some((_, _, base)) = roots.iter().find(|(s, _, _)| *s == "bookworm") else {
        return;
    };
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    keys_for_corpus(&keys);
    let named: Vec<(&str, PathBuf)> = roots.iter().map(|(s, _, d)| (*s, d.clone())).collect();
    let corpus = release_corpus_for(&here, tmp.path(), &named);
    let targets: Vec<Target> = builds
        .iter()
        .map(|(v, dir)| Target {
            label: format!("upstream {v}"),
            root: base.clone(),
            stanza: String::new(),
            openssh: Some(format!("{v}-upstream")),
            over: vec![
                (dir.join("usr/sbin/sshd"), "/usr/sbin/sshd"),
                (dir.join("usr/lib/openssh"), "/usr/lib/openssh"),
            ],
        })
        .collect();
    judge_all(
        &targets,
        &corpus,
        tmp.path(),
        &keys,
        "SSHD_LINT_UPSTREAM_REPORT",
    );
}

fn collect_files(dir: &Path, top: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect_files(&p, top, out);
        } else {
            let rel = p.strip_prefix(top).unwrap().to_string_lossy().into_owned();
            out.push((rel, std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
}
