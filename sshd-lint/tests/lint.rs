//! The lint, the lockout guard, the record stream and bad input, on
//! `--root` trees built in temporary directories.

use std::path::Path;
use std::process::Command;

use hardkit_core::record::{decode_strict, envelope};
use hardkit_core::{ErrorRecord, Finding, Summary};
use sshd_lint::records::{Origin, Setting};

const PASSWD: &str = include_str!("fixtures/accounts/passwd");
const GROUP: &str = include_str!("fixtures/accounts/group");

/// A root tree with the fixture accounts and the given files.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "etc/ssh/ssh_host_ed25519_key", "(a key)\n");
    write(tmp.path(), "etc/passwd", PASSWD);
    write(tmp.path(), "etc/group", GROUP);
    for (path, text) in files {
        write(tmp.path(), path, text);
    }
    tmp
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn run(root: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sshd-lint"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

/// Parse a JSON stream back with unknown fields denied.
struct Stream {
    releases: Vec<hardkit_core::release::ReleaseRecord>,
    settings: Vec<Setting>,
    findings: Vec<Finding>,
    errors: Vec<ErrorRecord>,
    summary: Summary,
    order: Vec<String>,
}

fn stream(text: &str) -> Stream {
    let mut s = Stream {
        releases: vec![],
        settings: vec![],
        findings: vec![],
        errors: vec![],
        summary: Summary::default(),
        order: vec![],
    };
    let mut saw_summary = false;
    for line in text.lines() {
        let (kind, tool) = envelope(line).unwrap();
        assert_eq!(tool, "sshd-lint");
        assert!(!saw_summary, "summary must be last");
        if s.order.last() != Some(&kind) {
            s.order.push(kind.clone());
        }
        match kind.as_str() {
            "release" => s.releases.push(
                decode_strict::<hardkit_core::release::ReleaseRecord>(line)
                    .unwrap()
                    .body,
            ),
            "setting" => s
                .settings
                .push(decode_strict::<Setting>(line).unwrap().body),
            "finding" => s
                .findings
                .push(decode_strict::<Finding>(line).unwrap().body),
            "error" => s
                .errors
                .push(decode_strict::<ErrorRecord>(line).unwrap().body),
            "summary" => {
                s.summary = decode_strict::<Summary>(line).unwrap().body;
                saw_summary = true;
            }
            other => panic!("undocumented record type {other}"),
        }
    }
    assert!(saw_summary);
    s
}

fn ids(s: &Stream) -> Vec<&str> {
    s.findings.iter().map(|f| f.id.as_str()).collect()
}

const HARDENED: &str = "PermitRootLogin no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM yes\n\
    X11Forwarding no\nAllowAgentForwarding no\nAllowTcpForwarding no\nAllowStreamLocalForwarding no\nMaxAuthTries 3\n\
    LoginGraceTime 30\nClientAliveInterval 300\nMaxStartups 10:30:60\nAllowGroups staff\nPort 2222\n\
    MACs -*sha1*,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512\n";

#[test]
fn json_lint_streams_settings_then_findings_then_summary() {
    let t = tree(&[(
        "etc/ssh/sshd_config",
        "Port 2222\nPort 2200\nPasswordAuthentication yes\n",
    )]);
    let (code, out, _) = run(t.path(), &["--json", "--openssh", "9.2"]);
    assert_eq!(code, 1);
    let s = stream(&out);
    assert_eq!(s.order, ["release", "setting", "finding", "summary"]);
    let ports: Vec<&str> = s
        .settings
        .iter()
        .filter(|x| x.key == "port")
        .map(|x| x.value.as_str())
        .collect();
    assert_eq!(ports, ["2222", "2200"]);
    let port = s.settings.iter().find(|x| x.key == "port").unwrap();
    match &port.origin {
        Origin::Line(loc) => assert_eq!(
            (loc.path.as_path(), loc.line),
            (Path::new("/etc/ssh/sshd_config"), Some(1))
        ),
        Origin::Default(_) => panic!("port has a line"),
    }
    let af = s
        .settings
        .iter()
        .find(|x| x.key == "addressfamily")
        .unwrap();
    assert_eq!(af.origin, Origin::Default("default".into()));
    assert_eq!(
        s.summary.counts.get("setting").copied(),
        Some(s.settings.len() as u64)
    );
    assert_eq!(s.summary.exit, 1);
}

#[test]
fn cloud_init_trap_is_reported_with_both_locations() {
    let t = tree(&[
        (
            "etc/ssh/sshd_config",
            "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\n",
        ),
        (
            "etc/ssh/sshd_config.d/50-cloud-init.conf",
            "PasswordAuthentication yes\n",
        ),
    ]);
    let (_, out, _) = run(t.path(), &["--json", "--openssh", "9.2"]);
    let s = stream(&out);
    let shadow = s
        .findings
        .iter()
        .find(|f| f.id == "sshd/shadowed-setting")
        .expect("shadowed-setting");
    assert_eq!(shadow.severity, hardkit_core::Severity::High);
    let loc = shadow.location.as_ref().unwrap();
    assert_eq!(
        (loc.path.as_path(), loc.line),
        (Path::new("/etc/ssh/sshd_config"), Some(2))
    );
    let winner = &shadow.evidence.as_ref().unwrap()["winner"];
    assert_eq!(winner["path"], "/etc/ssh/sshd_config.d/50-cloud-init.conf");
    assert_eq!(winner["line"], 1);
    // The password finding points at the line that decides it: the drop-in.
    let pw = s
        .findings
        .iter()
        .find(|f| f.id == "sshd/password-authentication")
        .unwrap();
    assert_eq!(
        pw.location.as_ref().unwrap().path.as_path(),
        Path::new("/etc/ssh/sshd_config.d/50-cloud-init.conf")
    );
    let setting = s
        .settings
        .iter()
        .find(|x| x.key == "passwordauthentication")
        .unwrap();
    assert_eq!(setting.value, "yes");
    assert_eq!(setting.shadowed.len(), 1);
    assert_eq!(
        (setting.shadowed[0].line, setting.shadowed[0].value.as_str()),
        (2, "no")
    );
}

#[test]
fn match_block_after_a_match_all_that_decided_the_keyword_is_not_a_reenable() {
    // The drop-in is read first; its Match all sets passwords off for every
    // connection, so `Match User deploy` can no longer turn them on (the
    // first matching block wins; sshd -T -C user=deploy prints no).
    let t = tree(&[
        (
            "etc/ssh/sshd_config",
            "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\nMatch User deploy\n  PasswordAuthentication yes\n",
        ),
        (
            "etc/ssh/sshd_config.d/00-hardkit.conf",
            "Match all\n  PasswordAuthentication no\n",
        ),
    ]);
    let (_, out, _) = run(t.path(), &["--json", "--openssh", "9.2"]);
    let s = stream(&out);
    assert!(!ids(&s).contains(&"sshd/match-reenables"), "{:?}", ids(&s));
    let (_, out, _) = run(
        t.path(),
        &["--json", "--openssh", "9.2", "--context", "user=deploy"],
    );
    let s = stream(&out);
    let pw = s
        .settings
        .iter()
        .find(|x| x.key == "passwordauthentication")
        .unwrap();
    assert_eq!(pw.value, "no");
}

#[test]
fn match_block_reenabling_passwords_is_reported_with_its_criteria() {
    let t = tree(&[("etc/ssh/sshd_config", "PasswordAuthentication no\nMatch User alice Address 10.0.0.0/8\n  PasswordAuthentication yes\n")]);
    let (_, out, _) = run(t.path(), &["--json", "--openssh", "9.2"]);
    let s = stream(&out);
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "sshd/match-reenables")
        .expect("match-reenables");
    assert!(
        f.title.contains("User alice Address 10.0.0.0/8"),
        "{}",
        f.title
    );
    assert_eq!(f.location.as_ref().unwrap().line, Some(3));
    assert!(
        !ids(&s).contains(&"sshd/password-authentication"),
        "global context has passwords off"
    );
    // The same config linted for alice from 10.0.0.5: passwords are on.
    let (_, out, _) = run(
        t.path(),
        &[
            "--json",
            "--openssh",
            "9.2",
            "--context",
            "user=alice,addr=10.0.0.5",
        ],
    );
    let s = stream(&out);
    let pw = s
        .findings
        .iter()
        .find(|f| f.id == "sshd/password-authentication")
        .expect("context lint");
    assert_eq!(pw.location.as_ref().unwrap().line, Some(3));
}

#[test]
fn each_rule_fires_on_its_bad_value_and_not_on_a_hardened_config() {
    let cases: &[(&str, &str)] = &[
        ("PermitRootLogin yes", "sshd/permit-root-login"),
        ("PasswordAuthentication yes", "sshd/password-authentication"),
        (
            "UsePAM yes\nKbdInteractiveAuthentication yes",
            "sshd/kbd-interactive-authentication",
        ),
        ("PermitEmptyPasswords yes", "sshd/permit-empty-passwords"),
        ("PubkeyAuthentication no", "sshd/pubkey-authentication"),
        (
            "HostbasedAuthentication yes",
            "sshd/hostbased-authentication",
        ),
        ("IgnoreRhosts no", "sshd/ignore-rhosts"),
        ("PermitUserEnvironment yes", "sshd/permit-user-environment"),
        ("X11Forwarding yes", "sshd/x11-forwarding"),
        ("PermitTunnel yes", "sshd/permit-tunnel"),
        ("GatewayPorts yes", "sshd/gateway-ports"),
        ("MaxAuthTries 10", "sshd/max-auth-tries"),
        ("LoginGraceTime 0", "sshd/login-grace-time"),
        ("MaxSessions 50", "sshd/max-sessions"),
        ("LogLevel QUIET", "sshd/log-level"),
        ("StrictModes no", "sshd/strict-modes"),
        ("UsePAM no", "sshd/use-pam"),
        ("Ciphers +aes128-cbc", "sshd/weak-cipher"),
        ("MACs +hmac-md5", "sshd/weak-mac"),
        ("KexAlgorithms +diffie-hellman-group1-sha1", "sshd/weak-kex"),
        ("HostKeyAlgorithms +ssh-rsa", "sshd/weak-hostkey"),
        ("PubkeyAcceptedAlgorithms +ssh-dss", "sshd/weak-pubkey"),
        ("Protocol 2", "sshd/deprecated-option"),
        ("Port 22", "sshd/port-22"),
        ("HostKey /etc/ssh/missing_key", "sshd/no-host-keys"),
        (
            "HostKey /etc/ssh/ssh_host_dsa_key\nHostKey /etc/ssh/ssh_host_ed25519_key",
            "sshd/weak-hostkey",
        ),
        ("MaxAuthTries 3\nMaxAuthTries 3", "sshd/shadowed-setting"),
    ];
    let (_, out, _) = run(
        tree(&[("etc/ssh/sshd_config", HARDENED)]).path(),
        &["--json", "--openssh", "9.2"],
    );
    let clean = stream(&out);
    let high: Vec<&Finding> = clean
        .findings
        .iter()
        .filter(|f| f.severity >= hardkit_core::Severity::Low && f.id != "sshd/lockout")
        .collect();
    assert!(
        high.is_empty(),
        "hardened config: {:?}",
        high.iter().map(|f| &f.id).collect::<Vec<_>>()
    );
    for (line, id) in cases {
        let text = format!("{line}\n{HARDENED}");
        let (_, out, _) = run(
            tree(&[("etc/ssh/sshd_config", &text)]).path(),
            &["--json", "--openssh", "9.2"],
        );
        let s = stream(&out);
        let f = s
            .findings
            .iter()
            .find(|f| f.id == *id)
            .unwrap_or_else(|| panic!("{id} not reported for {line:?}: {:?}", ids(&s)));
        assert!(!f.refs.is_empty(), "{id} has references");
        assert!(f.location.is_some(), "{id} has a location");
    }
}

#[test]
fn lockout_guard_needs_an_allowed_account_with_a_key() {
    let cfg = "PasswordAuthentication yes\nAllowUsers alice bob\nPermitRootLogin no\n";
    let lockout = |files: &[(&str, &str)]| {
        let mut all = vec![("etc/ssh/sshd_config", cfg)];
        all.extend_from_slice(files);
        let (_, out, _) = run(tree(&all).path(), &["--json", "--openssh", "9.2"]);
        ids(&stream(&out)).contains(&"sshd/lockout")
    };
    let key =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKe test\n";
    assert!(lockout(&[]), "nobody has keys");
    assert!(
        !lockout(&[("home/alice/.ssh/authorized_keys", key)]),
        "alice has a key"
    );
    assert!(
        lockout(&[("root/.ssh/authorized_keys", key)]),
        "root has a key but PermitRootLogin no"
    );
    assert!(
        lockout(&[("home/carol/.ssh/authorized_keys", key)]),
        "carol is not in AllowUsers"
    );
    assert!(
        lockout(&[("home/alice/.ssh/authorized_keys", "# only a comment\n\n")]),
        "empty key file"
    );
    // AuthorizedKeysFile with tokens, and a Match User block for alice.
    let tokens = "AuthorizedKeysFile /etc/ssh/keys/%u %h/.ssh/k_%U\nPasswordAuthentication yes\n";
    let (_, out, _) = run(
        tree(&[
            ("etc/ssh/sshd_config", tokens),
            ("home/bob/.ssh/k_1002", key),
        ])
        .path(),
        &["--json", "--openssh", "9.2"],
    );
    assert!(
        !ids(&stream(&out)).contains(&"sshd/lockout"),
        "%h and %U expand"
    );
    let (_, out, _) = run(
        tree(&[
            ("etc/ssh/sshd_config", tokens),
            ("etc/ssh/keys/deploy", key),
        ])
        .path(),
        &["--json", "--openssh", "9.2"],
    );
    assert!(!ids(&stream(&out)).contains(&"sshd/lockout"), "%u expands");
    // A locked account does not count when UsePAM is off.
    let locked = "root:!:19000::::::\nalice:!$6$x:19000::::::\n";
    let (_, out, _) = run(
        tree(&[
            ("etc/ssh/sshd_config", "UsePAM no\nAllowUsers alice\n"),
            ("etc/shadow", locked),
            ("home/alice/.ssh/authorized_keys", key),
        ])
        .path(),
        &["--json", "--openssh", "9.2"],
    );
    assert!(
        ids(&stream(&out)).contains(&"sshd/lockout"),
        "locked account"
    );
}

#[test]
fn refused_configs_name_the_line_and_exit_2() {
    let t = tree(&[(
        "etc/ssh/sshd_config",
        "PermitRootLogin no\nPermitRootLoggin no\n",
    )]);
    let (code, _, err) = run(t.path(), &["--effective"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("/etc/ssh/sshd_config:2")
            && err.contains("Bad configuration option: PermitRootLoggin"),
        "{err}"
    );
    let (code, out, _) = run(t.path(), &["--json"]);
    assert_eq!(code, 2);
    let s = stream(&out);
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "sshd/invalid-config")
        .unwrap();
    assert_eq!(f.severity, hardkit_core::Severity::Critical);
    assert_eq!(f.location.as_ref().unwrap().line, Some(2));
    assert_eq!(s.errors.len(), 1);
    assert_eq!(s.summary.exit, 2);
}

#[test]
fn bad_input_is_a_clear_error_never_a_panic() {
    // Random bytes (a fixed xorshift sequence, so failures reproduce).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let t = tree(&[]);
    std::fs::create_dir_all(t.path().join("etc/ssh")).unwrap();
    std::fs::write(t.path().join("etc/ssh/sshd_config"), &bytes).unwrap();
    let (code, _, err) = run(t.path(), &["--effective"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with("sshd-lint: /etc/ssh/sshd_config:"), "{err}");
    // 10 MB.
    std::fs::write(t.path().join("etc/ssh/sshd_config"), vec![b'#'; 10 << 20]).unwrap();
    let (code, _, err) = run(t.path(), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("larger than"), "{err}");
    // An Include loop stops at sshd's depth limit.
    std::fs::write(
        t.path().join("etc/ssh/sshd_config"),
        "Include /etc/ssh/sshd_config\n",
    )
    .unwrap();
    let (code, _, err) = run(t.path(), &["--effective"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("Too many recursive configuration includes")
            && err.contains("/etc/ssh/sshd_config:1"),
        "{err}"
    );
    // Five levels of ten files, each including all ten of the next level:
    // no loop and no depth problem, but 10^5 reads; we stop with a named
    // error instead of running for as long as sshd would.
    let mut files = vec![(
        "etc/ssh/sshd_config".to_string(),
        "Include /etc/ssh/l0/*.conf\n".to_string(),
    )];
    for level in 0..5 {
        for i in 0..10 {
            files.push((
                format!("etc/ssh/l{level}/{i}.conf"),
                format!("Include /etc/ssh/l{}/*.conf\n", level + 1),
            ));
        }
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let bomb = tree(&refs);
    let (code, _, err) = run(bomb.path(), &["--effective"]);
    assert_eq!(code, 2);
    assert!(err.contains("config files read in one pass"), "{err}");
    // A directory as FILE.
    let (code, _, err) = run(t.path(), &["/etc/ssh"]);
    assert_eq!(code, 2);
    assert!(err.contains("/etc/ssh: is a directory"), "{err}");
    // A missing file.
    let (code, _, err) = run(t.path(), &["/etc/ssh/nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("/etc/ssh/nope"), "{err}");
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let t = tree(&[(
        "etc/ssh/sshd_config",
        "PermitRootLogin yes\nPasswordAuthentication yes\n",
    )]);
    let (code, out, _) = run(t.path(), &["--sarif", "--openssh", "9.2"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run0 = &v["runs"][0];
    assert_eq!(run0["tool"]["driver"]["name"], "sshd-lint");
    let rules: Vec<&str> = run0["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let results = run0["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        assert!(rules.contains(&r["ruleId"].as_str().unwrap()));
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
        assert!(r["message"]["text"].is_string());
    }
    let root = results
        .iter()
        .find(|r| r["ruleId"] == "sshd/permit-root-login")
        .unwrap();
    assert_eq!(
        root["locations"][0]["physicalLocation"]["region"]["startLine"],
        1
    );
}

#[test]
fn version_comes_from_dpkg_and_changes_defaults() {
    let status = "Package: openssh-server\nStatus: install ok installed\nVersion: 1:10.0p1-5\n";
    let t = tree(&[
        ("etc/ssh/sshd_config", "Port 22\n"),
        ("var/lib/dpkg/status", status),
    ]);
    let (_, out, _) = run(t.path(), &["--effective"]);
    let kex = out
        .lines()
        .find(|l| l.starts_with("kexalgorithms "))
        .unwrap();
    assert!(
        kex.starts_with("kexalgorithms mlkem768x25519-sha256,"),
        "{kex}"
    );
    assert!(
        !kex.contains("diffie-hellman"),
        "10.0 dropped finite-field DH from the server default"
    );
    let (_, out, _) = run(t.path(), &["--effective", "--openssh", "9.2"]);
    assert!(
        out.contains("kexalgorithms sntrup761x25519-sha512,"),
        "{out}"
    );
    assert!(!out.contains("sshdsessionpath"));
    let (code, _, err) = run(t.path(), &["--effective", "--openssh", "8.9"]);
    assert_eq!(code, 2);
    assert!(err.contains("8.9"), "{err}");
    // Subsystem duplicates: fatal before 9.5, first one kept after.
    let dup = tree(&[(
        "etc/ssh/sshd_config",
        "Subsystem sftp a\nSubsystem sftp b\n",
    )]);
    assert_eq!(run(dup.path(), &["--effective", "--openssh", "9.2"]).0, 2);
    let (code, out, _) = run(dup.path(), &["--effective", "--openssh", "9.6"]);
    assert_eq!(code, 0);
    // 9.5 and 9.6 join command and (no) arguments with a space.
    assert!(out.contains("subsystem sftp a \n") && !out.contains("subsystem sftp b"));
    let (_, out, _) = run(dup.path(), &["--effective", "--openssh", "10.0"]);
    assert!(out.contains("subsystem sftp a\n"), "{out}");
    // MaxStartups: last line wins before 10.1, first line from 10.1; a
    // single number is begin and limit, except in 10.1 and 10.2 (limit only).
    let ms = tree(&[(
        "etc/ssh/sshd_config",
        "MaxStartups 20\nMaxStartups 5:50:30\n",
    )]);
    let (_, out, _) = run(ms.path(), &["--effective", "--openssh", "9.2"]);
    assert!(out.contains("\nmaxstartups 5:50:30\n"), "{out}");
    let (_, out, _) = run(ms.path(), &["--effective", "--openssh", "10.1"]);
    assert!(out.contains("\nmaxstartups 10:30:20\n"), "{out}");
    let (_, out, _) = run(ms.path(), &["--effective", "--openssh", "10.3"]);
    assert!(out.contains("\nmaxstartups 20:30:20\n"), "{out}");
    // 10.5 prints the keyword table's spelling.
    let (_, out, _) = run(ms.path(), &["--effective", "--openssh", "10.6"]);
    assert!(out.contains("\nMaxStartups 20:30:20\n"), "{out}");
    assert!(out.starts_with("Port 22\n"), "{out}");
    // Subsystem inside Match: refused before 9.5, merged by name after.
    let m = tree(&[(
        "etc/ssh/sshd_config",
        "Subsystem sftp a\nMatch User alice\n  Subsystem sftp internal-sftp\n",
    )]);
    assert_eq!(run(m.path(), &["--effective", "--openssh", "9.2"]).0, 2);
    let (code, out, _) = run(
        m.path(),
        &["--effective", "--openssh", "9.6", "--context", "user=alice"],
    );
    assert_eq!(code, 0);
    assert!(out.contains("subsystem sftp internal-sftp \n"), "{out}");
    let (_, out, _) = run(
        m.path(),
        &["--effective", "--openssh", "9.6", "--context", "user=bob"],
    );
    assert!(out.contains("subsystem sftp a \n"), "{out}");
}

#[test]
fn a_line_after_a_match_block_that_looks_global_is_reported() {
    let cfg = "PasswordAuthentication no\nMatch User alice\n    X11Forwarding yes\n    AllowTcpForwarding no\n\nMaxAuthTries 3\n";
    let (_, out, _) = run(
        tree(&[("etc/ssh/sshd_config", cfg)]).path(),
        &["--json", "--openssh", "9.2"],
    );
    let s = stream(&out);
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "sshd/line-after-match")
        .expect("line-after-match");
    assert_eq!(f.location.as_ref().unwrap().line, Some(6));
    assert!(
        f.title.contains("MaxAuthTries") && f.title.contains("User alice"),
        "{}",
        f.title
    );
    // Indented lines of the block are not reported.
    assert_eq!(
        s.findings
            .iter()
            .filter(|f| f.id == "sshd/line-after-match")
            .count(),
        1
    );
}

#[test]
fn stdin_is_read_as_the_main_config() {
    let t = tree(&[]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_sshd-lint"))
        .arg("--root")
        .arg(t.path())
        .args(["--effective", "--openssh", "9.2", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Port 2222\r\nPermitRootLogin=no\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("port 2222\n"), "{text}");
    assert!(text.contains("\npermitrootlogin no\n"), "{text}");
}

#[test]
fn authentication_methods_without_passwords_make_password_settings_moot() {
    let cfg = "AuthenticationMethods publickey\nPasswordAuthentication yes\nUsePAM yes\nKbdInteractiveAuthentication yes\n";
    let (_, out, _) = run(
        tree(&[("etc/ssh/sshd_config", cfg)]).path(),
        &["--json", "--openssh", "9.2"],
    );
    let s = stream(&out);
    assert!(
        !ids(&s).contains(&"sshd/password-authentication"),
        "{:?}",
        ids(&s)
    );
    assert!(
        !ids(&s).contains(&"sshd/kbd-interactive-authentication"),
        "{:?}",
        ids(&s)
    );
    let cfg = "AuthenticationMethods publickey,password publickey\nPasswordAuthentication yes\n";
    let (_, out, _) = run(
        tree(&[("etc/ssh/sshd_config", cfg)]).path(),
        &["--json", "--openssh", "9.2"],
    );
    assert!(ids(&stream(&out)).contains(&"sshd/password-authentication"));
}

#[test]
fn a_repeated_option_inside_one_match_block_is_shadowed() {
    let cfg = "PasswordAuthentication no\nMatch User alice\n  PasswordAuthentication no\n  PasswordAuthentication yes\nMatch User bob\n  PasswordAuthentication yes\n";
    let (_, out, _) = run(
        tree(&[("etc/ssh/sshd_config", cfg)]).path(),
        &["--json", "--openssh", "9.2"],
    );
    let s = stream(&out);
    let shadowed: Vec<u64> = s
        .findings
        .iter()
        .filter(|f| f.id == "sshd/shadowed-setting")
        .filter_map(|f| f.location.as_ref()?.line)
        .collect();
    assert_eq!(
        shadowed,
        [4],
        "only line 4 loses (to line 3 of the same block)"
    );
}

#[test]
fn keyword_table_follows_the_release() {
    let t = tree(&[]);
    let (code, out, _) = run(t.path(), &["--keywords", "--openssh", "9.2"]);
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .any(|l| l.starts_with("port  port  Accumulate  no  Port")),
        "{out}"
    );
    assert!(out
        .lines()
        .any(|l| l.starts_with("maxstartups  maxstartups  LastWins")));
    assert!(out
        .lines()
        .any(|l| l.starts_with("subsystem  subsystem  PerName  no")));
    assert!(!out.contains("persourcepenalties"));
    let (_, out, _) = run(t.path(), &["--keywords", "--openssh", "10.3"]);
    assert!(out
        .lines()
        .any(|l| l.starts_with("maxstartups  maxstartups  FirstWins")));
    assert!(out
        .lines()
        .any(|l| l.starts_with("subsystem  subsystem  PerName  yes")));
    assert!(out.contains("persourcepenalties"));
}

const TRIXIE_STATUS: &str =
    "Package: openssh-server\nStatus: install ok installed\nVersion: 1:10.0p1-7+deb13u4\n";

fn effective_value(root: &Path, args: &[&str], key: &str) -> Option<String> {
    let mut all = vec!["--effective"];
    all.extend_from_slice(args);
    let (code, out, err) = run(root, &all);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} ")).map(str::to_string))
}

#[test]
fn the_release_is_said_once_with_its_debian_revision_and_a_newer_one_is_read_with_the_newest_model()
{
    let t = tree(&[
        ("etc/ssh/sshd_config", "PasswordAuthentication no\n"),
        ("var/lib/dpkg/status", TRIXIE_STATUS),
    ]);
    let (_, out, _) = run(t.path(), &["--json"]);
    let s = stream(&out);
    assert_eq!(s.releases.len(), 1);
    let r = &s.releases[0];
    assert_eq!(
        (r.program.as_str(), r.version.as_str(), r.model.as_str()),
        ("openssh", "1:10.0p1-7+deb13u4", "10.0-debian")
    );
    assert_eq!(r.source, hardkit_core::release::ReleaseSource::Dpkg);
    assert!(!ids(&s).contains(&"sshd/release-newer-than-model"));
    let (_, text, _) = run(t.path(), &[]);
    assert_eq!(text.matches("rules of OpenSSH").count(), 1, "{text}");
    assert!(
        text.contains("rules of OpenSSH 10.0-debian (1:10.0p1-7+deb13u4"),
        "{text}"
    );
    // Newer than modelled: no refusal, the newest model, a finding naming both.
    for newer in ["10.7", "11.0p1"] {
        let (code, out, err) = run(t.path(), &["--json", "--openssh", newer]);
        assert_ne!(code, 2, "{err}");
        let s = stream(&out);
        assert_eq!(s.releases[0].model, "10.6-debian");
        let f = s
            .findings
            .iter()
            .find(|f| f.id == "sshd/release-newer-than-model")
            .expect("finding");
        assert!(
            f.detail.contains(newer) && f.detail.contains("10.6"),
            "{}",
            f.detail
        );
    }
    // 10.4 and 10.5 are modelled releases now.
    for v in ["10.4", "10.5"] {
        let (code, out, err) = run(t.path(), &["--json", "--openssh", v]);
        assert_ne!(code, 2, "{err}");
        assert!(!ids(&stream(&out)).contains(&"sshd/release-newer-than-model"));
    }
}

#[test]
fn debians_ipqos_default_follows_the_package_revision() {
    let t = tree(&[("etc/ssh/sshd_config", "PasswordAuthentication no\n")]);
    let ipqos = |v: &str| effective_value(t.path(), &["--openssh", v], "ipqos");
    assert_eq!(ipqos("9.2").as_deref(), Some("lowdelay throughput"));
    assert_eq!(ipqos("1:10.0p1-7+deb13u2").as_deref(), Some("af21 cs1"));
    assert_eq!(ipqos("1:10.0p1-7+deb13u3").as_deref(), Some("ef cs1"));
    assert_eq!(ipqos("1:10.0p1-7+deb13u4").as_deref(), Some("ef cs1"));
    assert_eq!(ipqos("10.0-upstream").as_deref(), Some("af21 cs1"));
}

#[test]
fn openssh_10_keywords_print_in_sshds_places() {
    let t = tree(&[(
        "etc/ssh/sshd_config",
        "PAMServiceName custom\nPerSourcePenalties authfail:1m\nPerSourcePenalties authfail:2m noauth:7\n\
         PerSourcePenaltyExemptList 10.0.0.0/8\nRefuseConnection no\n",
    )]);
    let (code, out, err) = run(t.path(), &["--effective", "--openssh", "10.0"]);
    assert_eq!(code, 0, "{err}");
    let keys: Vec<&str> = out.lines().map(|l| l.split(' ').next().unwrap()).collect();
    let pos = |k: &str| keys.iter().position(|x| *x == k).unwrap();
    assert_eq!(pos("pamservicename"), pos("usepam") + 1);
    assert_eq!(pos("refuseconnection"), pos("exposeauthinfo") + 1);
    assert_eq!(pos("persourcepenaltyexemptlist"), pos("sshdauthpath") + 1);
    assert_eq!(pos("persourcepenalties"), keys.len() - 1);
    assert!(out.contains("pamservicename custom\n"));
    assert!(out.contains("persourcepenaltyexemptlist 10.0.0.0/8\n"));
    // Each field keeps its first value.
    assert!(out.contains("persourcepenalties crash:90 authfail:60 noauth:7 grace-exceeded:10 refuseconnection:10 max:600 min:15 max-sources4:65536 max-sources6:65536 overflow:permissive overflow6:permissive\n"), "{out}");
    // 9.2 has none of them.
    let (code, _, err) = run(t.path(), &["--effective", "--openssh", "9.2"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("Bad configuration option: PAMServiceName"),
        "{err}"
    );
}

#[test]
fn values_openssh_10_refuses_are_refused() {
    for (line, message) in [
        (
            "PerSourcePenalties bogus:5m",
            "unsupported PerSourcePenalties keyword bogus:5m",
        ),
        (
            "PerSourcePenalties authfail:banana",
            "invalid PerSourcePenalties time value.",
        ),
        (
            "PerSourcePenalties no authfail:5",
            "\"no\" argument must appear alone",
        ),
        (
            "PerSourcePenaltyExemptList 10.0.0.1/8",
            "invalid address argument",
        ),
        ("IPQoS 0x10", "Bad IPQoS value: 0x10"),
    ] {
        let t = tree(&[("etc/ssh/sshd_config", &format!("{line}\n"))]);
        let (code, _, err) = run(t.path(), &["--effective", "--openssh", "10.0"]);
        assert_eq!(code, 2, "{line}: {err}");
        assert!(err.contains(message), "{line}: {err}");
    }
    // 9.2 took hex DSCP values.
    let t = tree(&[("etc/ssh/sshd_config", "IPQoS 0x11\n")]);
    assert_eq!(
        effective_value(t.path(), &["--openssh", "9.2"], "ipqos").as_deref(),
        Some("0x11 0x11")
    );
    // Debian 13 from deb13u3 (and upstream 10.1) ignore the TOS names.
    let t = tree(&[("etc/ssh/sshd_config", "IPQoS le reliability\n")]);
    let ipqos = |v: &str| effective_value(t.path(), &["--openssh", v], "ipqos");
    // reliability (0x04) is the value of le, whose name prints first.
    assert_eq!(ipqos("1:10.0p1-7+deb13u2").as_deref(), Some("le le"));
    assert_eq!(ipqos("1:10.0p1-7+deb13u3").as_deref(), Some("le none"));
    assert_eq!(ipqos("10.1-upstream").as_deref(), Some("le none"));
}

#[test]
fn valid_10_0_configs_are_not_refused_and_match_invalid_user_needs_the_flag() {
    let t = tree(&[(
        "etc/ssh/sshd_config",
        "PasswordAuthentication no\nMatch Version OpenSSH_10.*\n  PAMServiceName sshd-ten\n\
         Match Invalid-User\n  MaxAuthTries 1\nMatch LocalPort 2222\n  X11Forwarding yes\n",
    )]);
    let (_, out, _) = run(t.path(), &["--json", "--openssh", "10.0"]);
    assert!(
        !ids(&stream(&out)).contains(&"sshd/invalid-config"),
        "{out}"
    );
    let value = |ctx: &str, key: &str| {
        effective_value(t.path(), &["--openssh", "10.0", "--context", ctx], key)
    };
    assert_eq!(
        value("user=ghost,lport=22", "pamservicename").as_deref(),
        Some("sshd-ten")
    );
    // A user missing from /etc/passwd is not "invalid" to sshd -T.
    assert_eq!(
        value("user=ghost,lport=22", "maxauthtries").as_deref(),
        Some("6")
    );
    assert_eq!(
        value("user=ghost,lport=22,invalid-user", "maxauthtries").as_deref(),
        Some("1")
    );
    // 9.2 has neither the criterion nor the flag.
    let (code, _, _) = run(
        t.path(),
        &[
            "--effective",
            "--openssh",
            "9.2",
            "--context",
            "user=a,lport=22,invalid-user",
        ],
    );
    assert_eq!(code, 2);
}

#[test]
fn what_10_x_made_possible_is_reported() {
    let t = tree(&[(
        "etc/ssh/sshd_config",
        "RefuseConnection yes\nPerSourcePenalties no\n",
    )]);
    let (_, out, _) = run(t.path(), &["--json", "--openssh", "10.0"]);
    let s = stream(&out);
    let refuse = s
        .findings
        .iter()
        .find(|f| f.id == "sshd/refuse-connection")
        .unwrap();
    assert_eq!(refuse.severity, hardkit_core::Severity::Critical);
    assert!(ids(&s).contains(&"sshd/per-source-penalties"));
    // Inside a Match block it refuses only those sources: no finding.
    let t = tree(&[(
        "etc/ssh/sshd_config",
        "Match Address 192.0.2.0/24\n  RefuseConnection yes\n",
    )]);
    let (_, out, _) = run(t.path(), &["--json", "--openssh", "10.0"]);
    assert!(!ids(&stream(&out)).contains(&"sshd/refuse-connection"));
}

#[test]
fn dsa_only_host_keys_stop_openssh_10() {
    let t = tree(&[
        ("etc/ssh/sshd_config", "HostKey /etc/ssh/ssh_host_dsa_key\n"),
        ("etc/ssh/ssh_host_dsa_key", "(private)\n"),
        (
            "etc/ssh/ssh_host_dsa_key.pub",
            "ssh-dss AAAAB3NzaC1kc3M= root@h\n",
        ),
    ]);
    let (code, _, err) = run(t.path(), &["--effective", "--openssh", "10.0"]);
    assert_eq!(code, 2);
    assert!(err.contains("DSA"), "{err}");
    let (_, out, _) = run(t.path(), &["--json", "--openssh", "10.0"]);
    let s = stream(&out);
    let f = s
        .findings
        .iter()
        .find(|f| f.id == "sshd/invalid-config")
        .unwrap();
    assert!(f.detail.contains("DSA"), "{}", f.detail);
    let (code, _, err) = run(t.path(), &["--effective", "--openssh", "9.2"]);
    assert_eq!(code, 0, "{err}");
}

/// What Debian testing's 10.6p1 prints and refuses (checked against its
/// sshd -T in the release differential suite).
#[test]
fn debian_testing_10_6_spells_and_refuses_as_its_sshd() {
    let t = tree(&[(
        "etc/ssh/sshd_config",
        "GSSAPIAuthentication yes\nKerberosAuthentication yes\nPerSourceNetBlockSize 24\n\
         RevokedKeys /etc/ssh/revoked\nAuthorizedKeysFile none\n",
    )]);
    let (code, out, err) = run(t.path(), &["--effective", "--openssh", "10.6"]);
    assert_eq!(code, 0, "{err}");
    // Built without Kerberos and GSS-API: accepted, ignored, not printed.
    assert!(
        !out.to_ascii_lowercase().contains("gssapi") && !out.contains("Kerberos"),
        "{out}"
    );
    for line in [
        "PermitRootLogin prohibit-password\n",
        "TCPKeepAlive true\n",
        "WarnWeakCrypto true\n",
        "AgentSocketPath user:.ssh/agent\n",
        "PubkeyAuthOptions none max-pk-ok:6\n",
        "HostKey /etc/ssh/ssh_host_mldsa44_ed25519_key\n",
        "PerSourceNetBlockSize 24:128\n",
        "IPQoS ef cs0\n",
    ] {
        assert!(out.contains(line), "{line}{out}");
    }
    // RevokedKeys is a list printed after AuthorizedKeysFile, which a lone
    // global `none` empties (nothing printed).
    let keys: Vec<&str> = out.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert!(!keys.contains(&"AuthorizedKeysFile"), "{out}");
    assert_eq!(
        keys.iter().position(|k| *k == "RevokedKeys"),
        keys.iter()
            .position(|k| *k == "SyslogFacility")
            .map(|i| i + 1)
    );
    // Debian's GSS-API key exchange keywords are gone: fatal.
    let t = tree(&[("etc/ssh/sshd_config", "GSSAPIKeyExchange no\n")]);
    let (code, _, err) = run(t.path(), &["--effective", "--openssh", "10.6"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("Bad configuration option: GSSAPIKeyExchange"),
        "{err}"
    );
    assert_eq!(run(t.path(), &["--effective", "--openssh", "10.0"]).0, 0);
}

#[test]
fn listen_address_names_resolve_through_the_targets_hosts_file() {
    let t = tree(&[
        (
            "etc/ssh/sshd_config",
            "ListenAddress localhost\nListenAddress gateway:2200\nPort 2201\n",
        ),
        (
            "etc/hosts",
            "127.0.0.1\tlocalhost\n::1 localhost ip6-localhost # loopback\n192.0.2.7 gateway\n",
        ),
    ]);
    let (code, out, err) = run(t.path(), &["--effective", "--openssh", "10.0"]);
    assert_eq!(code, 0, "{err}");
    let listen: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("listenaddress "))
        .collect();
    assert_eq!(
        listen,
        [
            "listenaddress 127.0.0.1:2201",
            "listenaddress [::1]:2201",
            "listenaddress 192.0.2.7:2200"
        ]
    );
}
