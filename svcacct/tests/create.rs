//! `svcacct plan|apply` into temp trees, judged by the real programs:
//! systemd-analyze security (scores), visudo, logrotate, systemd-sysusers
//! and systemd-tmpfiles (the declarative twins give the same result).

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use common::{parse, snapshot, svcacct, systemd_score, tree};
use hardkit_core::oracle::{oracle, require_root};

const EXEC: &str = "/opt/agent/bin/agent --serve";

#[test]
fn apply_is_idempotent_and_check_writes_nothing() {
    if !require_root("svcacct::apply_is_idempotent_and_check_writes_nothing") {
        return;
    }
    let t = tree();
    let args = [
        "apply",
        "agent",
        "--exec",
        EXEC,
        "--listen",
        "8080",
        "--allow-restart",
        "--json",
    ];

    // --check and plan: everything would change, nothing is written, exit 1.
    let before = snapshot(t.path());
    for check in [&["--check"][..], &[]] {
        let mut a: Vec<&str> = args.to_vec();
        if check.is_empty() {
            a[0] = "plan";
        } else {
            a.extend(check);
        }
        let out = svcacct(t.path(), &a);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let s = parse(&out.stdout);
        assert!(s.actions.len() >= 9);
        assert!(s.actions.iter().all(|a| a.changed || a.op == "usermod"));
        assert_eq!(snapshot(t.path()), before, "--check/plan wrote something");
    }

    let first = svcacct(t.path(), &args);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let first = parse(&first.stdout);
    // usermod has nothing to do for an account useradd just created locked.
    assert!(first
        .actions
        .iter()
        .all(|a| a.changed == (a.op != "usermod")));
    let ops: Vec<&str> = first.actions.iter().map(|a| a.op.as_str()).collect();
    assert_eq!(
        &ops[..5],
        &["groupadd", "useradd", "usermod", "mkdir", "mkdir"]
    );
    assert_eq!(first.summary.unwrap().exit, 0);

    let after_first = snapshot(t.path());
    let second = svcacct(t.path(), &args);
    assert_eq!(second.status.code(), Some(0));
    let second = parse(&second.stdout);
    assert_eq!(second.actions.len(), first.actions.len());
    assert!(
        second.actions.iter().all(|a| !a.changed),
        "second apply changed something"
    );
    assert_eq!(
        snapshot(t.path()),
        after_first,
        "second apply wrote something"
    );

    // --check on the applied tree: nothing to do, exit 0.
    let mut check = args.to_vec();
    check.push("--check");
    assert_eq!(svcacct(t.path(), &check).status.code(), Some(0));
}

#[test]
fn account_and_directories_are_least_privilege() {
    if !require_root("svcacct::account_and_directories_are_least_privilege") {
        return;
    }
    let t = tree();
    let out = svcacct(
        t.path(),
        &[
            "apply",
            "agent",
            "--exec",
            EXEC,
            "--code",
            "/opt/agent",
            "--env-file",
            "/etc/agent/env",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let passwd = fs::read_to_string(t.path().join("etc/passwd")).unwrap();
    let line = passwd.lines().find(|l| l.starts_with("agent:")).unwrap();
    let f: Vec<&str> = line.split(':').collect();
    let uid: u32 = f[2].parse().unwrap();
    assert!((100..1000).contains(&uid), "system UID: {line}");
    assert_eq!(f[2], f[3], "own group with the same id");
    assert_eq!((f[5], f[6]), ("/var/lib/agent", "/usr/sbin/nologin"));
    let shadow = fs::read_to_string(t.path().join("etc/shadow")).unwrap();
    let sh = shadow.lines().find(|l| l.starts_with("agent:")).unwrap();
    assert!(
        sh.split(':').nth(1).unwrap().starts_with('!'),
        "locked: {sh}"
    );
    for (dir, mode, owner) in [
        ("var/lib/agent", 0o750, uid),
        ("var/log/agent", 0o750, uid),
        ("opt/agent", 0o755, 0),
    ] {
        let m = fs::metadata(t.path().join(dir)).unwrap();
        assert_eq!((m.mode() & 0o7777, m.uid()), (mode, owner), "{dir}");
    }
    let env = fs::metadata(t.path().join("etc/agent/env")).unwrap();
    assert_eq!((env.mode() & 0o7777, env.uid(), env.gid()), (0o600, 0, 0));
    // The host's own account files were not touched.
    assert!(!fs::read_to_string("/etc/passwd")
        .unwrap()
        .contains("agent service (svcacct)"));
}

#[test]
fn generated_units_score_ok_or_safe_in_systemd_analyze() {
    let Some(analyze) = oracle(
        "svcacct::generated_units_score_ok_or_safe",
        "systemd-analyze",
    ) else {
        return;
    };
    if !require_root("svcacct::generated_units_score_ok_or_safe") {
        return;
    }
    let cases: &[(&[&str], u64)] = &[
        (&[], 15),
        (&["--listen", "443"], 15),
        (&["--listen", "8080", "--listen-from", "10.0.0.0/8"], 15),
        (
            &[
                "--gpu",
                "--allow-jit",
                "--memory-max",
                "4G",
                "--tasks-max",
                "64",
                "--cpu-quota",
                "200%",
            ],
            15,
        ),
        (&["--no-network"], 9),
    ];
    for (extra, limit) in cases {
        let t = tree();
        let mut args = vec!["apply", "agent", "--exec", EXEC, "--json"];
        args.extend_from_slice(extra);
        let out = svcacct(t.path(), &args);
        assert!(
            out.status.success(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let real = systemd_score(&analyze, t.path(), "agent.service");
        assert!(
            real <= *limit,
            "{extra:?}: systemd-analyze says {real} tenths, limit {limit}"
        );
        // Our own audit agrees with it.
        let audit = parse(&svcacct(t.path(), &["audit", "agent", "--json"]).stdout);
        let ours = &audit.exposures[0].score;
        assert_eq!(ours, &format!("{}.{}", real / 10, real % 10), "{extra:?}");
    }
}

#[test]
fn sudoers_rule_is_exact_and_accepted_by_visudo() {
    let Some(visudo) = oracle("svcacct::sudoers_rule_is_exact", "visudo") else {
        return;
    };
    if !require_root("svcacct::sudoers_rule_is_exact") {
        return;
    }
    let t = tree();
    let out = svcacct(
        t.path(),
        &[
            "apply",
            "agent",
            "--exec",
            EXEC,
            "--allow-restart",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = t.path().join("etc/sudoers.d/agent");
    let m = fs::metadata(&path).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o440, 0, 0));
    let text = fs::read_to_string(&path).unwrap();
    let rules: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .collect();
    assert_eq!(
        rules,
        ["agent ALL=(root) NOPASSWD: /usr/bin/systemctl restart agent.service"]
    );
    assert!(!t.path().join("etc/sudoers.d/agent.conf").exists());
    let check = Command::new(&visudo)
        .args(["-c", "-O", "-P", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // And svcacct's own audit finds nothing dangerous in it.
    fs::write(t.path().join("etc/sudoers"), "@includedir /etc/sudoers.d\n").unwrap();
    let audit = parse(&svcacct(t.path(), &["audit", "agent", "--json"]).stdout);
    assert!(
        audit
            .findings
            .iter()
            .all(|f| !f.id.starts_with("svcacct/sudo")),
        "{:?}",
        audit.findings
    );
}

#[test]
fn logrotate_file_has_su_and_passes_logrotate() {
    let Some(logrotate) = oracle("svcacct::logrotate_file", "logrotate") else {
        return;
    };
    if !require_root("svcacct::logrotate_file") {
        return;
    }
    let t = tree();
    let out = svcacct(t.path(), &["apply", "agent", "--exec", EXEC, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = t.path().join("etc/logrotate.d/agent");
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("/var/log/agent/*.log {") && text.contains("    su agent agent\n"),
        "{text}"
    );
    // logrotate resolves `su agent` in the tree's own accounts.
    let root = hardkit_core::Root::new(t.path()).unwrap();
    svcacct::apply::check_logrotate(&logrotate, &path, &root).unwrap();
    // The check can fail: an unknown option, and (where a mount namespace can
    // be made) an account the tree does not have.
    // A re-apply over a hand-edited file keeps it as agent.hardkit-bak~, a
    // name logrotate skips in logrotate.d: reading the whole directory shows
    // no duplicate entry.
    fs::write(&path, text.replace("weekly", "daily")).unwrap();
    let out = svcacct(t.path(), &["apply", "agent", "--exec", EXEC, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = fs::read_dir(t.path().join("etc/logrotate.d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["agent", "agent.hardkit-bak~"]);
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
    let main_conf = t.path().join("logrotate-main.conf");
    fs::write(
        &main_conf,
        format!("include {}\n", t.path().join("etc/logrotate.d").display()),
    )
    .unwrap();
    let read_all = std::process::Command::new(&logrotate)
        .arg("-d")
        .arg(&main_conf)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&read_all.stderr);
    assert!(said.contains("Ignoring agent.hardkit-bak~"), "{said}");
    assert!(!said.contains("duplicate log entry"), "{said}");
    let broken = t.path().join("etc/logrotate.d/broken");
    fs::write(
        &broken,
        text.replace("weekly", "weekly\n    rotate-forever"),
    )
    .unwrap();
    assert!(svcacct::apply::check_logrotate(&logrotate, &broken, &root).is_err());
    // The fallback for hosts without mount namespaces: the su-root copy
    // accepts the file (whose user the host does not know) and still
    // rejects the broken one.
    svcacct::apply::check_logrotate_su_root(&logrotate, &path).unwrap();
    assert!(svcacct::apply::check_logrotate_su_root(&logrotate, &broken).is_err());
}

#[test]
fn sysusers_and_tmpfiles_give_the_same_account_and_directories() {
    let Some(sysusers) = oracle("svcacct::sysusers_and_tmpfiles", "systemd-sysusers") else {
        return;
    };
    let Some(tmpfiles) = oracle("svcacct::sysusers_and_tmpfiles", "systemd-tmpfiles") else {
        return;
    };
    if !require_root("svcacct::sysusers_and_tmpfiles") {
        return;
    }
    // Imperative path: useradd/groupadd --root and mkdir.
    let imperative = tree();
    let out = svcacct(
        imperative.path(),
        &["apply", "agent", "--exec", EXEC, "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Declarative path: the same starting accounts plus only the two files.
    let declarative = tree();
    for f in ["sysusers.d/agent.conf", "tmpfiles.d/agent.conf"] {
        let dst = declarative.path().join("etc").join(f);
        fs::create_dir_all(dst.parent().unwrap()).unwrap();
        fs::copy(imperative.path().join("etc").join(f), dst).unwrap();
    }
    let r = Command::new(&sysusers)
        .arg(format!("--root={}", declarative.path().display()))
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = Command::new(&tmpfiles)
        .args(["--create"])
        .arg(format!("--root={}", declarative.path().display()))
        .arg("agent.conf")
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let entry = |root: &Path, file: &str| {
        fs::read_to_string(root.join("etc").join(file))
            .unwrap()
            .lines()
            .find(|l| l.starts_with("agent:"))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no agent in {file}"))
    };
    assert_eq!(
        entry(imperative.path(), "passwd"),
        entry(declarative.path(), "passwd")
    );
    assert_eq!(
        entry(imperative.path(), "group"),
        entry(declarative.path(), "group")
    );
    for root in [imperative.path(), declarative.path()] {
        let sh = entry(root, "shadow");
        assert!(
            sh.split(':').nth(1).unwrap().starts_with('!'),
            "locked: {sh}"
        );
    }
    for dir in ["var/lib/agent", "var/log/agent"] {
        let a = fs::metadata(imperative.path().join(dir)).unwrap();
        let b = fs::metadata(declarative.path().join(dir)).unwrap();
        assert_eq!(
            (a.mode() & 0o7777, a.uid(), a.gid()),
            (b.mode() & 0o7777, b.uid(), b.gid()),
            "{dir}"
        );
    }
}

#[test]
fn diff_shows_before_and_after() {
    if !require_root("svcacct::diff_shows_before_and_after") {
        return;
    }
    let t = tree();
    let out = svcacct(t.path(), &["apply", "agent", "--exec", EXEC, "--json"]);
    assert!(out.status.success());
    // A hand edit, then a check with --diff shows it being put back.
    let unit = t.path().join("etc/systemd/system/agent.service");
    let text = fs::read_to_string(&unit)
        .unwrap()
        .replace("ProtectSystem=strict", "ProtectSystem=no");
    fs::write(&unit, text).unwrap();
    let out = svcacct(
        t.path(),
        &[
            "apply", "agent", "--exec", EXEC, "--check", "--diff", "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let s = parse(&out.stdout);
    let changed: Vec<_> = s.actions.iter().filter(|a| a.changed).collect();
    assert_eq!(changed.len(), 1, "only the unit drifted");
    let diff = changed[0].diff.as_deref().unwrap();
    assert!(
        diff.contains("-ProtectSystem=no\n+ProtectSystem=strict\n"),
        "{diff}"
    );
    assert!(
        fs::read_to_string(&unit)
            .unwrap()
            .contains("ProtectSystem=no"),
        "--check wrote"
    );
}

#[test]
fn generated_unit_passes_systemd_analyze_verify() {
    let Some(analyze) = oracle("svcacct::generated_unit_passes_verify", "systemd-analyze") else {
        return;
    };
    if !require_root("svcacct::generated_unit_passes_verify") {
        return;
    }
    for extra in [&[][..], &["--no-network"], &["--listen", "443", "--gpu"]] {
        let t = tree();
        // verify checks that the program exists and is executable: use one the host has.
        let mut args = vec![
            "apply",
            "agent",
            "--exec",
            "/usr/bin/sleep infinity",
            "--json",
        ];
        args.extend_from_slice(extra);
        assert!(svcacct(t.path(), &args).status.success());
        let dir = tempfile::tempdir().unwrap();
        let unit = dir.path().join("svcacct-verify-agent.service");
        fs::copy(t.path().join("etc/systemd/system/agent.service"), &unit).unwrap();
        let out = Command::new(&analyze)
            .arg("verify")
            .arg(&unit)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn an_existing_system_account_is_reused_and_locked_down() {
    if !require_root("svcacct::an_existing_system_account_is_reused") {
        return;
    }
    let t = tree();
    let append = |file: &str, line: &str| {
        let p = t.path().join("etc").join(file);
        let mut text = fs::read_to_string(&p).unwrap();
        text.push_str(line);
        fs::write(&p, text).unwrap();
    };
    append(
        "passwd",
        "agent:x:950:950:old agent:/var/lib/agent:/bin/bash\n",
    );
    append("group", "agent:x:950:\n");
    append(
        "shadow",
        "agent:$y$j9T$abcdefghijkl$abcdefghijklmnopqrstuvwxyz0123456789ABCDE:19000:0:99999:7:::\n",
    );
    append("gshadow", "agent:!::\n");
    let out = svcacct(t.path(), &["apply", "agent", "--exec", EXEC, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = parse(&out.stdout);
    let by_op = |op: &str| s.actions.iter().find(|a| a.op == op).unwrap().changed;
    assert!(!by_op("groupadd") && !by_op("useradd") && by_op("usermod"));
    let passwd = fs::read_to_string(t.path().join("etc/passwd")).unwrap();
    assert!(
        passwd.contains("agent:x:950:950:old agent:/var/lib/agent:/usr/sbin/nologin\n"),
        "{passwd}"
    );
    let shadow = fs::read_to_string(t.path().join("etc/shadow")).unwrap();
    assert!(shadow.contains("agent:!$y$"), "locked");
    // The directories belong to the existing UID.
    assert_eq!(
        fs::metadata(t.path().join("var/lib/agent")).unwrap().uid(),
        950
    );
    let again = parse(&svcacct(t.path(), &["apply", "agent", "--exec", EXEC, "--json"]).stdout);
    assert!(again.actions.iter().all(|a| !a.changed));
}

#[test]
fn plan_on_the_running_system_only_reads_and_includes_the_reload() {
    // `plan` never writes: safe to run against the host itself.
    let name = "svcacct-test-plan";
    assert!(!Path::new("/etc/systemd/system/svcacct-test-plan.service").exists());
    let out = Command::new(common::BIN)
        .args(["plan", name, "--exec", "/bin/true", "--json", "--root", "/"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = parse(&out.stdout);
    let last = s.actions.last().unwrap();
    assert_eq!(last.op, "reload");
    assert_eq!(
        last.path.as_path(),
        Path::new("/etc/systemd/system/svcacct-test-plan.service")
    );
    assert!(!Path::new("/etc/systemd/system/svcacct-test-plan.service").exists());
    assert!(!Path::new("/var/lib/svcacct-test-plan").exists());
    assert!(!fs::read_to_string("/etc/passwd").unwrap().contains(name));
}

/// Workload profiles (issue 21): ollama's account made by its installer
/// (home /usr/share/ollama, where it keeps .ollama/models) gets that home
/// writable, /proc/meminfo visible, and with --gpu the render group; a
/// models directory named by OLLAMA_MODELS in the env file wins; the
/// profile and each change are reported.
#[test]
fn ollama_profile_keeps_its_models_memory_and_gpu() {
    let t = tree();
    let etc = t.path().join("etc");
    let mut passwd = std::fs::read_to_string(etc.join("passwd")).unwrap_or_default();
    passwd.push_str("ollama:x:991:991::/usr/share/ollama:/bin/false\n");
    std::fs::write(etc.join("passwd"), passwd).unwrap();
    let mut group = std::fs::read_to_string(etc.join("group")).unwrap_or_default();
    group.push_str("ollama:x:991:\n");
    if !group.lines().any(|l| l.starts_with("render:")) {
        group.push_str("render:x:992:\n");
    }
    std::fs::write(etc.join("group"), group).unwrap();
    let out = svcacct(
        t.path(),
        &[
            "plan",
            "ollama",
            "--exec",
            "/usr/local/bin/ollama serve",
            "--gpu",
            "--json",
            "--diff",
        ],
    );
    let s = parse(&out.stdout);
    assert_eq!(s.profiles.len(), 1);
    assert_eq!(s.profiles[0].name, "ollama");
    assert_eq!(s.profiles[0].source, "detected");
    let unit = s
        .actions
        .iter()
        .find(|a| a.path.as_path().ends_with("ollama.service"))
        .and_then(|a| a.diff.clone())
        .unwrap();
    assert!(unit.contains("+ProcSubset=all"), "{unit}");
    assert!(unit.contains("/usr/share/ollama"), "{unit}");
    assert!(unit.contains("+SupplementaryGroups=render"), "{unit}");
    assert!(!unit.contains("MemoryDenyWriteExecute"), "{unit}");
    // Without the profile the same command gets today's generic unit.
    let plain = parse(
        &svcacct(
            t.path(),
            &[
                "plan",
                "ollama",
                "--exec",
                "/usr/local/bin/ollama serve",
                "--profile",
                "none",
                "--json",
                "--diff",
            ],
        )
        .stdout,
    );
    let unit = plain
        .actions
        .iter()
        .find(|a| a.path.as_path().ends_with("ollama.service"))
        .and_then(|a| a.diff.clone())
        .unwrap();
    assert!(
        unit.contains("+ProcSubset=pid") && !unit.contains("/usr/share/ollama"),
        "{unit}"
    );
    // OLLAMA_MODELS in the env file names the models directory.
    std::fs::create_dir_all(etc.join("default")).unwrap();
    std::fs::write(etc.join("default/ollama"), "OLLAMA_MODELS=/srv/models\n").unwrap();
    let s = parse(
        &svcacct(
            t.path(),
            &[
                "plan",
                "ollama",
                "--exec",
                "/usr/local/bin/ollama serve",
                "--env-file",
                "/etc/default/ollama",
                "--json",
                "--diff",
            ],
        )
        .stdout,
    );
    let unit = s
        .actions
        .iter()
        .find(|a| a.path.as_path().ends_with("ollama.service"))
        .and_then(|a| a.diff.clone())
        .unwrap();
    assert!(
        unit.contains("/srv/models") && !unit.contains("/usr/share/ollama"),
        "{unit}"
    );
    // A bad name is refused with the flag named, exit 2.
    let out = svcacct(
        t.path(),
        &["plan", "x", "--exec", "/bin/x", "--profile", "llama"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--profile"));
}

/// --egress confines the network to loopback and the given networks, one
/// allow list with --listen-from; --egress-dns adds the target's
/// resolvers; contradictions are refused with the flags named.
#[test]
fn egress_is_an_allow_list_of_networks() {
    let t = tree();
    std::fs::write(t.path().join("etc/resolv.conf"), "nameserver 192.0.2.53\n").unwrap();
    let s = parse(
        &svcacct(
            t.path(),
            &[
                "plan",
                "agent",
                "--exec",
                "/usr/bin/python3 /opt/agent/loop.py",
                "--listen",
                "8080",
                "--listen-from",
                "10.0.0.0/8",
                "--egress",
                "203.0.113.0/24",
                "--egress",
                "10.0.0.0/8",
                "--egress-dns",
                "--json",
                "--diff",
            ],
        )
        .stdout,
    );
    let unit = s
        .actions
        .iter()
        .find(|a| a.path.as_path().ends_with("agent.service"))
        .and_then(|a| a.diff.clone())
        .unwrap();
    assert!(unit.contains("+IPAddressDeny=any\n"), "{unit}");
    assert!(
        unit.contains("+IPAddressAllow=localhost 10.0.0.0/8 203.0.113.0/24 192.0.2.53\n"),
        "{unit}"
    );
    for (args, flag) in [
        (vec!["--no-network", "--egress", "10.0.0.0/8"], "--egress"),
        (vec!["--egress-dns"], "--egress-dns"),
        (vec!["--egress", "10.0.0.0/33"], "--egress"),
    ] {
        let mut all = vec!["plan", "agent", "--exec", "/bin/agent"];
        all.extend(args.iter());
        let out = svcacct(t.path(), &all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(flag),
            "{args:?}"
        );
    }
}
