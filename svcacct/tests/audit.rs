//! `svcacct audit` on trees that reproduce each privilege finding, and on a
//! service set up by `svcacct apply` (which must come out clean).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{parse, svcacct, tree};
use hardkit_core::oracle::require_root;
use hardkit_core::Severity;

fn write(root: &Path, path: &str, text: &str) {
    let host = root.join(path.trim_start_matches('/'));
    fs::create_dir_all(host.parent().unwrap()).unwrap();
    fs::write(host, text).unwrap();
}

fn append(root: &Path, path: &str, text: &str) {
    let host = root.join(path.trim_start_matches('/'));
    let mut old = fs::read_to_string(&host).unwrap_or_default();
    old.push_str(text);
    fs::write(host, old).unwrap();
}

/// A tree with a badly set-up agent and a root service.
fn bad_tree() -> tempfile::TempDir {
    let t = tree();
    let r = t.path();
    append(r, "/etc/passwd", "bad:x:990:990:bad agent:/home/bad:/bin/bash\nnopw:x:989:989::/nonexistent:/usr/sbin/nologin\n");
    append(r, "/etc/shadow", "bad:$y$j9T$abcdefghijkl$abcdefghijklmnopqrstuvwxyz0123456789ABCDE:19000:0:99999:7:::\nnopw::19000:0:99999:7:::\n");
    append(r, "/etc/group", "bad:x:990:\nnopw:x:989:\n");
    for g in ["docker", "sudo", "adm", "lxd", "disk", "wheel"] {
        let group = r.join("etc/group");
        let text = fs::read_to_string(&group).unwrap();
        let mut found = false;
        let lines: Vec<String> = text
            .lines()
            .map(|l| {
                if l.split(':').next() == Some(g) {
                    found = true;
                    if l.ends_with(':') {
                        format!("{l}bad")
                    } else {
                        format!("{l},bad")
                    }
                } else {
                    l.to_string()
                }
            })
            .collect();
        let mut text = lines.join("\n") + "\n";
        if !found {
            text.push_str(&format!("{g}:x:{}:bad\n", 900 + g.len()));
        }
        fs::write(&group, text).unwrap();
    }
    write(
        r,
        "/home/bad/.ssh/authorized_keys",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE attacker\n",
    );
    write(
        r,
        "/etc/systemd/system/bad.service",
        "[Service]\nUser=bad\nExecStart=/opt/bad/bin/bad --serve\nWorkingDirectory=/srv/shared\nEnvironment=\"OPENAI_API_KEY=sk-live-123\" LANG=C\n",
    );
    write(
        r,
        "/etc/systemd/system/nopw.service",
        "[Service]\nUser=nopw\nExecStart=/usr/bin/nopw\n",
    );
    write(
        r,
        "/etc/systemd/system/rootsvc.service",
        "[Service]\nExecStart=/usr/bin/rootsvc\n",
    );
    write(r, "/opt/bad/bin/bad", "#!/bin/sh\n");
    fs::create_dir_all(r.join("srv/shared")).unwrap();
    fs::set_permissions(r.join("srv/shared"), fs::Permissions::from_mode(0o777)).unwrap();
    write(
        r,
        "/etc/sudoers",
        "Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n",
    );
    write(
        r,
        "/etc/sudoers.d/bad",
        "Cmnd_Alias EDIT = /usr/bin/vim /etc/bad.conf\nbad ALL=(root) NOPASSWD: /bin/bash, EDIT, \\\n    /usr/bin/systemctl restart *, /usr/bin/systemctl\n",
    );
    write(
        r,
        "/etc/sudoers.d/bad.conf",
        "bad ALL=(ALL) NOPASSWD: ALL\n",
    );
    t
}

#[test]
fn every_privilege_finding_is_reproduced() {
    if !require_root("svcacct::every_privilege_finding_is_reproduced") {
        return;
    }
    let t = bad_tree();
    let r = t.path();
    // The program's directory belongs to the service account.
    std::os::unix::fs::chown(r.join("opt/bad/bin"), Some(990), Some(990)).unwrap();
    // And so does a drop-in of its unit.
    write(
        r,
        "/etc/systemd/system/bad.service.d/override.conf",
        "[Service]\nNice=5\n",
    );
    std::os::unix::fs::chown(
        r.join("etc/systemd/system/bad.service.d/override.conf"),
        Some(990),
        Some(990),
    )
    .unwrap();
    let out = svcacct(r, &["audit", "bad", "nopw", "rootsvc", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = parse(&out.stdout);
    assert_eq!(s.exposures.len(), 3);
    let has = |id: &str, sev: Severity| s.findings.iter().any(|f| f.id == id && f.severity == sev);
    let expected = [
        ("svcacct/runs-as-root", Severity::High),
        ("svcacct/login-shell", Severity::High),
        ("svcacct/password", Severity::High),
        ("svcacct/password", Severity::Critical),
        ("svcacct/authorized-keys", Severity::High),
        ("svcacct/group-docker", Severity::Critical),
        ("svcacct/group-lxd", Severity::Critical),
        ("svcacct/group-disk", Severity::Critical),
        ("svcacct/group-sudo", Severity::High),
        ("svcacct/group-wheel", Severity::High),
        ("svcacct/group-adm", Severity::Medium),
        ("svcacct/sudo-all", Severity::Critical),
        ("svcacct/sudo-shell", Severity::Critical),
        ("svcacct/sudo-editor", Severity::Critical),
        ("svcacct/sudo-wildcard", Severity::High),
        ("svcacct/sudo-any-args", Severity::High),
        ("svcacct/exec-writable", Severity::High),
        ("svcacct/unit-writable", Severity::High),
        ("svcacct/world-writable-dir", Severity::Medium),
        ("svcacct/secret-in-environment", Severity::High),
        ("svcacct/sudoers-ignored-file", Severity::Medium),
    ];
    for (id, sev) in expected {
        assert!(
            has(id, sev),
            "missing {id} ({sev:?}); got {:#?}",
            s.findings
                .iter()
                .map(|f| (&f.id, f.severity))
                .collect::<Vec<_>>()
        );
    }
    // The group-sudo rule (%sudo ALL) also reaches bad through its group.
    let all = s
        .findings
        .iter()
        .filter(|f| f.id == "svcacct/sudo-all")
        .count();
    assert!(all >= 1);
    // ALL comes from the file sudo ignores? No: that file is skipped, so the
    // ALL grant must come from %sudo in /etc/sudoers.
    let sudo_all = s
        .findings
        .iter()
        .find(|f| f.id == "svcacct/sudo-all")
        .unwrap();
    assert_eq!(
        sudo_all.location.as_ref().unwrap().path.as_path(),
        Path::new("/etc/sudoers")
    );
    // The secret's value never appears in the output.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("sk-live-123"));
    // Findings point at the line that decides them.
    let secret = s
        .findings
        .iter()
        .find(|f| f.id == "svcacct/secret-in-environment")
        .unwrap();
    let loc = secret.location.as_ref().unwrap();
    assert_eq!(
        (loc.path.as_path(), loc.line),
        (Path::new("/etc/systemd/system/bad.service"), Some(5))
    );
}

#[test]
fn a_service_set_up_by_apply_audits_clean() {
    if !require_root("svcacct::a_service_set_up_by_apply_audits_clean") {
        return;
    }
    let t = tree();
    let r = t.path();
    write(
        r,
        "/etc/sudoers",
        "root ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n",
    );
    // auditd is installed: apply writes the agent's audit rules too.
    fs::create_dir_all(r.join("etc/audit/rules.d")).unwrap();
    let out = svcacct(
        r,
        &[
            "apply",
            "agent",
            "--exec",
            "/opt/agent/bin/agent",
            "--code",
            "/opt/agent",
            "--allow-restart",
            // (without it the agent may reach any host: a finding of its own)
            "--egress",
            "203.0.113.0/24",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = svcacct(
        r,
        &[
            "audit",
            "--systemd",
            "252",
            "agent",
            "--json",
            "--fail-on",
            "low",
        ],
    );
    let s = parse(&out.stdout);
    assert!(s.findings.is_empty(), "{:#?}", s.findings);
    assert_eq!(out.status.code(), Some(0));
    let e = &s.exposures[0];
    assert_eq!((e.unit.as_str(), e.level.as_str()), ("agent.service", "OK"));
    assert_eq!(
        e.path.as_path(),
        Path::new("/etc/systemd/system/agent.service")
    );
}

/// Without auditd, apply writes no audit rules unless asked: with
/// `--audit-rules` (first-five installs auditd next, whose service loads
/// them) the file is there, in directories made the way auditd's package
/// makes them (0750), and the audit no longer says the agent is unaudited.
#[test]
fn audit_rules_before_auditd_is_installed_when_asked() {
    if !require_root("svcacct::audit_rules_before_auditd_is_installed_when_asked") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    for asked in [false, true] {
        let t = tree();
        let r = t.path();
        let mut args = vec!["apply", "agent", "--exec", "/opt/agent/bin/agent", "--json"];
        if asked {
            args.push("--audit-rules");
        }
        let out = svcacct(r, &args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rules = r.join("etc/audit/rules.d/hardkit-agent.rules");
        assert_eq!(rules.exists(), asked, "asked: {asked}");
        let out = svcacct(r, &["audit", "--systemd", "252", "agent", "--json"]);
        let s = parse(&out.stdout);
        let unaudited = s.findings.iter().any(|f| f.id == "svcacct/agent-unaudited");
        assert_eq!(unaudited, !asked, "{:#?}", s.findings);
        if asked {
            for (dir, mode) in [("etc/audit", 0o750), ("etc/audit/rules.d", 0o750)] {
                let m = fs::metadata(r.join(dir)).unwrap().permissions().mode() & 0o7777;
                assert_eq!(m, mode, "{dir}");
            }
            let m = fs::metadata(&rules).unwrap().permissions().mode() & 0o7777;
            assert_eq!(m, 0o640);
            let text = fs::read_to_string(&rules).unwrap();
            assert!(text.contains("-S execve,execveat -F uid="), "{text}");
        }
    }
}

#[test]
fn audit_all_and_unit_files_and_missing_units() {
    let t = bad_tree();
    let r = t.path();
    let out = svcacct(
        r,
        &[
            "audit",
            "--systemd",
            "252",
            "--json",
            "--fail-on",
            "critical",
        ],
    );
    let s = parse(&out.stdout);
    let units: Vec<&str> = s.exposures.iter().map(|e| e.unit.as_str()).collect();
    assert_eq!(units, ["bad.service", "nopw.service", "rootsvc.service"]);
    // A unit file given by path, outside the tree's unit directories.
    let corpus = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/corpus/systemd-units/chrony.service"
    );
    let out = svcacct(r, &["audit", "--systemd", "252", corpus, "--json"]);
    let s = parse(&out.stdout);
    assert_eq!(
        (s.exposures[0].score.as_str(), s.exposures[0].level.as_str()),
        ("3.7", "OK")
    );
    // An unknown unit is an error record and exit 2, the others still reported.
    let out = svcacct(
        r,
        &["audit", "--systemd", "252", "nosuch", "rootsvc", "--json"],
    );
    assert_eq!(out.status.code(), Some(2));
    let s = parse(&out.stdout);
    assert_eq!(s.errors.len(), 1);
    assert!(s.errors[0].message.contains("nosuch.service"));
    assert_eq!(s.exposures[0].unit, "rootsvc.service");
    assert_eq!(s.summary.unwrap().exit, 2);
}

#[test]
fn audit_of_this_machine_decodes_and_covers_every_service() {
    // Read-only: the host's units, accounts and sudoers are only read.
    let root = hardkit_core::Root::host();
    let expected = svcacct::audit::all_units(&root).unwrap();
    let out = std::process::Command::new(common::BIN)
        .args(["audit", "--json", "--fail-on", "critical"])
        .output()
        .unwrap();
    let s = parse(&out.stdout);
    let units: Vec<&str> = s.exposures.iter().map(|e| e.unit.as_str()).collect();
    assert_eq!(
        units,
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(s.exposures.iter().all(|e| e.settings.len() == 81));
    // The host's release, from its own systemctl when there is one.
    let release = &s.releases[0];
    if let Some(systemctl) = hardkit_core::program::find_program("systemctl") {
        let v = std::process::Command::new(systemctl)
            .arg("--version")
            .output()
            .unwrap();
        let expected = svcacct::exposure::release::parse_systemctl_version(
            &String::from_utf8_lossy(&v.stdout),
        )
        .unwrap();
        assert_eq!(release.version, expected);
        assert_eq!(
            serde_json::to_value(release.source).unwrap(),
            serde_json::Value::from("program")
        );
    }
    assert_eq!(
        s.summary.unwrap().counts.get("exposure"),
        Some(&(expected.len() as u64))
    );
}

#[test]
fn the_compromised_agent_host_example() {
    // examples/compromised-agent-host: what its README promises svcacct finds.
    let root = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/compromised-agent-host"
    ));
    let out = svcacct(root, &["audit", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = parse(&out.stdout);
    assert_eq!(s.exposures.len(), 1);
    let e = &s.exposures[0];
    assert_eq!(
        (e.unit.as_str(), e.score.as_str(), e.level.as_str()),
        ("agent.service", "9.6", "UNSAFE")
    );
    let ids: Vec<&str> = s.findings.iter().map(|f| f.id.as_str()).collect();
    for id in [
        "svcacct/runs-as-root",
        "svcacct/secret-in-environment",
        "svcacct/login-shell",
        "svcacct/password",
        "svcacct/group-docker",
        "svcacct/sudo-all",
    ] {
        assert!(ids.contains(&id), "missing {id}: {ids:?}");
    }
    // The API key itself is not repeated.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("sk-demo-"));
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else if kind.is_file() {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn apply_fixes_the_compromised_agent_host() {
    if !require_root("svcacct::apply_fixes_the_compromised_agent_host") {
        return;
    }
    let example = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/compromised-agent-host"
    ));
    let t = tempfile::tempdir().unwrap();
    copy_tree(example, t.path());
    let r = t.path();
    let args = [
        "apply",
        "agent",
        "--exec",
        "/opt/agent/bin/agent --listen 0.0.0.0:8000",
        "--listen",
        "8000",
        "--code",
        "/opt/agent",
        "--allow-restart",
        "--json",
    ];
    // The hand-written unit and sudoers file are not svcacct's: refused without --force.
    let out = svcacct(r, &args);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    let mut forced = args.to_vec();
    forced.push("--force");
    let out = svcacct(r, &forced);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = parse(&out.stdout);
    let left: Vec<&str> = s
        .actions
        .iter()
        .filter(|a| a.op == "gpasswd")
        .filter_map(|a| a.owner.as_deref())
        .collect();
    assert_eq!(left, ["agent:docker"]);
    let group = fs::read_to_string(r.join("etc/group")).unwrap();
    assert!(group.lines().any(|l| l == "docker:x:997:"), "{group}");
    // After the fix the audit finds nothing but the agent's unconfined
    // network (no --egress was given: it says where to add it), and the
    // unit scores OK.
    let out = svcacct(
        r,
        &["audit", "--systemd", "252", "--json", "--fail-on", "high"],
    );
    let s = parse(&out.stdout);
    let ids: Vec<&str> = s.findings.iter().map(|f| f.id.as_str()).collect();
    // (what it runs is recorded: the demo has auditd's rules directory,
    // and apply wrote the agent's rules there)
    assert!(r.join("etc/audit/rules.d/hardkit-agent.rules").exists());
    assert_eq!(ids, ["svcacct/egress-unrestricted"], "{:#?}", s.findings);
    assert!(
        s.findings[0]
            .fix
            .as_deref()
            .unwrap_or("")
            .contains("--egress NET"),
        "{:#?}",
        s.findings[0]
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(s.exposures[0].level, "OK");
    // A second apply has nothing left to do.
    let again = parse(&svcacct(r, &forced).stdout);
    assert!(
        again.actions.iter().all(|a| !a.changed),
        "{:?}",
        again.actions
    );
}

/// A tree whose dpkg database says which systemd it has, with one service
/// that leaves PrivateMounts= unset (scored differently from 257 on).
fn tree_with_systemd(version: Option<&str>) -> tempfile::TempDir {
    let t = tree();
    let r = t.path();
    if let Some(v) = version {
        write(
            r,
            "/var/lib/dpkg/status",
            &format!("Package: systemd\nStatus: install ok installed\nVersion: {v}\n\nPackage: other\nStatus: install ok installed\nVersion: 999\n"),
        );
    }
    write(
        r,
        "/etc/systemd/system/plain.service",
        "[Service]\nExecStart=/bin/true\n",
    );
    t
}

#[test]
fn the_targets_systemd_release_decides_the_rules_and_is_said() {
    let cases = [
        // (dpkg version, --systemd, model, source, score, finding)
        (Some("252.39-1~deb12u2"), None, "252", "dpkg", "9.6", None),
        (Some("257.13-1~deb13u1"), None, "257", "dpkg", "9.4", None),
        (
            Some("257.13-1~deb13u1"),
            Some("252"),
            "252",
            "flag",
            "9.6",
            None,
        ),
        (
            Some("263.1-1"),
            None,
            "262",
            "dpkg",
            "9.4",
            Some(("svcacct/systemd-release-newer", Severity::Low)),
        ),
        (
            None,
            None,
            "262",
            "default",
            "9.4",
            Some(("svcacct/systemd-release-unknown", Severity::Info)),
        ),
    ];
    for (dpkg, flag, model, source, score, finding) in cases {
        let t = tree_with_systemd(dpkg);
        let mut args = vec!["audit", "plain", "--json", "--fail-on", "critical"];
        if let Some(f) = flag {
            args.extend(["--systemd", f]);
        }
        let out = svcacct(t.path(), &args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        // The release record comes first, once.
        assert!(
            stdout.starts_with(r#"{"type":"release","tool":"svcacct","program":"systemd""#),
            "{stdout}"
        );
        let s = parse(&out.stdout);
        assert_eq!(s.releases.len(), 1);
        let r = &s.releases[0];
        assert_eq!(r.model, model, "{dpkg:?} {flag:?}");
        assert_eq!(
            serde_json::to_value(r.source).unwrap(),
            serde_json::Value::from(source)
        );
        if let Some(v) = dpkg.filter(|_| flag.is_none()) {
            assert_eq!(r.version, v);
        }
        assert_eq!(s.exposures[0].score, score, "{dpkg:?} {flag:?}");
        let got: Vec<(&str, Severity)> = s
            .findings
            .iter()
            .filter(|f| f.id.contains("systemd-release"))
            .map(|f| (f.id.as_str(), f.severity))
            .collect();
        assert_eq!(got, finding.into_iter().collect::<Vec<_>>(), "{dpkg:?}");
        if let Some(f) = s
            .findings
            .iter()
            .find(|f| f.id == "svcacct/systemd-release-newer")
        {
            assert!(
                f.title.contains("263.1-1") && f.title.contains("262"),
                "{}",
                f.title
            );
        }
    }
    // Text: one line naming the rules used.
    let t = tree_with_systemd(Some("257.13-1~deb13u1"));
    let out = svcacct(t.path(), &["audit", "plain"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("rules of systemd"))
        .collect();
    assert_eq!(
        lines,
        ["svcacct: rules of systemd 257 (257.13-1~deb13u1, from the package database)"],
        "{text}"
    );
}

#[test]
fn a_bad_systemd_flag_names_the_flag() {
    let t = tree_with_systemd(None);
    for bad in ["two", "v257", ""] {
        let out = svcacct(t.path(), &["audit", "plain", "--systemd", bad]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("--systemd"), "{bad}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_bare_template_is_judged_with_systemds_instance_not_an_empty_one() {
    // User=%i with an empty instance would be root; systemd-analyze
    // instantiates a bare template (252: NAME@i, 257 on: NAME@test_instance).
    let t = tree();
    write(
        t.path(),
        "/etc/systemd/system/code-server@.service",
        "[Service]\nExecStart=/usr/bin/code-server\nUser=%i\n",
    );
    for (release, unit, score) in [
        ("252", "code-server@i.service", "9.2"),
        ("257", "code-server@test_instance.service", "9.0"),
    ] {
        for name in ["code-server@.service", "code-server@"] {
            let out = svcacct(t.path(), &["audit", name, "--json", "--systemd", release]);
            let s = parse(&out.stdout);
            assert_eq!(s.exposures.len(), 1, "{name}");
            let e = &s.exposures[0];
            assert_eq!(
                (e.unit.as_str(), e.score.as_str()),
                (unit, score),
                "{name} {release}"
            );
            assert!(
                !s.findings.iter().any(|f| f.id == "svcacct/runs-as-root"),
                "{name} {release}: {:?}",
                s.findings
            );
        }
    }
}

/// What a root service runs is judged whole (issue 21): the script an
/// interpreter is given and every directory above it, for each Exec line.
/// A script another account owns runs as root at the next start (high); a
/// world-writable program is critical; root's own code is no finding.
#[test]
fn the_code_a_root_service_runs_must_be_roots_alone() {
    if !require_root("svcacct::the_code_a_root_service_runs_must_be_roots_alone") {
        return;
    }
    let t = tree();
    let r = t.path();
    append(
        r,
        "/etc/passwd",
        "agent:x:1001:1001::/home/agent:/usr/sbin/nologin\n",
    );
    append(r, "/etc/group", "agent:x:1001:\n");
    write(r, "/usr/bin/python3", "#!/bin/true\n");
    write(r, "/home/agent/app/loop.py", "print('hi')\n");
    write(r, "/opt/tool/run", "#!/bin/sh\n");
    write(r, "/opt/safe/run", "#!/bin/sh\n");
    for (path, mode) in [
        ("usr/bin/python3", 0o755),
        ("opt/tool/run", 0o777),
        ("opt/safe/run", 0o755),
    ] {
        fs::set_permissions(r.join(path), fs::Permissions::from_mode(mode)).unwrap();
    }
    for p in ["home/agent", "home/agent/app", "home/agent/app/loop.py"] {
        std::os::unix::fs::chown(r.join(p), Some(1001), Some(1001)).unwrap();
    }
    write(
        r,
        "/etc/systemd/system/agent.service",
        "[Service]\nWorkingDirectory=/home/agent/app\nExecStart=/usr/bin/python3 -u loop.py\n",
    );
    write(
        r,
        "/etc/systemd/system/tool.service",
        "[Service]\nExecStartPre=/opt/safe/run\nExecStart=/opt/tool/run --serve\n",
    );
    let out = svcacct(r, &["audit", "--json", "agent.service", "tool.service"]);
    let stream = parse(&out.stdout);
    let hits: Vec<(String, Severity, String)> = stream
        .findings
        .iter()
        .filter(|f| f.id == "svcacct/root-code-writable")
        .map(|f| {
            (
                f.evidence.as_ref().unwrap()["path"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                f.severity,
                f.title.clone(),
            )
        })
        .collect();
    let paths: Vec<&str> = hits.iter().map(|(p, _, _)| p.as_str()).collect();
    assert!(paths.contains(&"/home/agent/app/loop.py"), "{hits:?}");
    assert!(paths.contains(&"/home/agent/app"), "{hits:?}");
    assert!(paths.contains(&"/opt/tool/run"), "{hits:?}");
    assert!(
        !paths
            .iter()
            .any(|p| p.starts_with("/usr") || p.starts_with("/opt/safe")),
        "{hits:?}"
    );
    for (path, severity, title) in &hits {
        let want = if path == "/opt/tool/run" {
            Severity::Critical
        } else {
            Severity::High
        };
        assert_eq!(*severity, want, "{path}: {title}");
    }
    assert!(
        hits.iter()
            .any(|(_, _, t)| t.contains("agent, who owns it")),
        "{hits:?}"
    );
}

/// A service whose job needs root (docker, containerd, k3s, tailscaled,
/// jupyterhub) is not told to take an account of its own, advice that
/// cannot be followed (issue 21): a medium finding whose fix is a
/// sandboxing drop-in. A self-written agent running as root stays high.
#[test]
fn services_that_need_root_get_advice_they_can_follow() {
    let t = tree();
    let r = t.path();
    for name in ["docker", "k3s", "tailscaled", "jupyterhub", "agent"] {
        write(
            r,
            &format!("/etc/systemd/system/{name}.service"),
            &format!("[Service]\nExecStart=/usr/local/bin/{name}\n"),
        );
    }
    let out = svcacct(
        r,
        &[
            "audit",
            "--json",
            "docker.service",
            "k3s.service",
            "tailscaled.service",
            "jupyterhub.service",
            "agent.service",
        ],
    );
    let stream = parse(&out.stdout);
    for f in stream
        .findings
        .iter()
        .filter(|f| f.id == "svcacct/runs-as-root")
    {
        let unit = f.evidence.as_ref().unwrap()["unit"].as_str().unwrap();
        let fix = f.fix.as_deref().unwrap();
        if unit == "agent.service" {
            assert_eq!(f.severity, Severity::High);
            assert!(fix.contains("svcacct apply"), "{fix}");
        } else {
            assert_eq!(f.severity, Severity::Medium, "{unit}");
            assert!(
                fix.contains("drop-in") && !fix.contains("svcacct apply"),
                "{unit}: {fix}"
            );
        }
    }
    assert_eq!(
        stream
            .findings
            .iter()
            .filter(|f| f.id == "svcacct/runs-as-root")
            .count(),
        5
    );
}

/// A unit with no User= runs as root even when an account of its name
/// exists: what that account may rewrite is judged as a way to root
/// (issue 19): its drop-in writable by `agent` is critical and says the
/// service runs as root, and a world-writable working directory of a root
/// service is critical (high with the sticky bit).
#[test]
fn a_root_services_writable_unit_and_directories_are_judged_as_root() {
    if !require_root("svcacct::a_root_services_writable_unit_and_directories_are_judged_as_root") {
        return;
    }
    let t = tree();
    let r = t.path();
    append(
        r,
        "/etc/passwd",
        "agent:x:991:991::/home/agent:/usr/sbin/nologin\n",
    );
    append(r, "/etc/group", "agent:x:991:\n");
    write(
        r,
        "/etc/systemd/system/agent.service",
        "[Service]\nExecStart=/usr/bin/true\nWorkingDirectory=/srv/agent\n",
    );
    write(
        r,
        "/etc/systemd/system/agent.service.d/override.conf",
        "[Service]\nNice=5\n",
    );
    std::os::unix::fs::chown(
        r.join("etc/systemd/system/agent.service.d/override.conf"),
        Some(991),
        Some(991),
    )
    .unwrap();
    fs::create_dir_all(r.join("srv/agent")).unwrap();
    fs::set_permissions(r.join("srv/agent"), fs::Permissions::from_mode(0o777)).unwrap();
    let out = svcacct(r, &["audit", "agent", "--json"]);
    let s = parse(&out.stdout);
    let find = |id: &str| {
        s.findings
            .iter()
            .find(|f| f.id == id)
            .unwrap_or_else(|| panic!("no {id}: {:#?}", s.findings))
    };
    let unit = find("svcacct/unit-writable");
    assert_eq!(unit.severity, Severity::Critical);
    assert!(unit.detail.contains("runs as root"), "{}", unit.detail);
    assert!(
        !unit.detail.contains("the account agent.service runs as"),
        "{}",
        unit.detail
    );
    assert_eq!(
        find("svcacct/world-writable-dir").severity,
        Severity::Critical
    );
    // With the sticky bit, other users cannot replace what is there: high.
    fs::set_permissions(r.join("srv/agent"), fs::Permissions::from_mode(0o1777)).unwrap();
    let s = parse(&svcacct(r, &["audit", "agent", "--json"]).stdout);
    let dir = s
        .findings
        .iter()
        .find(|f| f.id == "svcacct/world-writable-dir")
        .unwrap();
    assert_eq!(dir.severity, Severity::High);
}

/// User units (issue 21): a unit in a user unit directory, or named with
/// --user, runs as the user whose manager starts it: never a runs-as-root
/// finding, no advice to give it an account, the exposure record says
/// `user`; --user --all finds them in the user unit directories and in
/// each home's ~/.config/systemd/user.
#[test]
fn user_units_are_judged_as_user_units() {
    let t = tree();
    let unit = "[Service]\nExecStart=/home/dev/vllm-env/bin/vllm serve Qwen/Qwen2.5-7B-Instruct\n";
    write(t.path(), "home/dev/.config/systemd/user/vllm.service", unit);
    write(t.path(), "usr/lib/systemd/user/litellm.service", unit);
    append(
        t.path(),
        "etc/passwd",
        "dev:x:1000:1000:dev:/home/dev:/bin/bash\n",
    );
    // The same text as a system unit is root's.
    write(t.path(), "etc/systemd/system/vllm.service", unit);
    let system = parse(&svcacct(t.path(), &["audit", "vllm", "--json", "--systemd", "252"]).stdout);
    assert!(system
        .findings
        .iter()
        .any(|f| f.id == "svcacct/runs-as-root"));
    assert!(!system.exposures[0].user);

    let by_path = t.path().join("home/dev/.config/systemd/user/vllm.service");
    for args in [
        vec![
            "audit",
            by_path.to_str().unwrap(),
            "--json",
            "--systemd",
            "252",
        ],
        vec!["audit", "--user", "litellm", "--json", "--systemd", "252"],
    ] {
        let s = parse(&svcacct(t.path(), &args).stdout);
        assert_eq!(s.exposures.len(), 1, "{args:?}");
        assert!(s.exposures[0].user, "{args:?}");
        // 252 scores a user unit as root would run it, but with a user
        // manager's KeyringMode=inherit: 9.8 where the system unit is 9.6.
        assert_eq!(s.exposures[0].score, "9.8", "{args:?}");
        assert!(
            !s.findings.iter().any(|f| f.id == "svcacct/runs-as-root"),
            "{args:?}: {:?}",
            s.findings
        );
    }
    // systemd 262 knows it runs as the caller.
    let s = parse(
        &svcacct(
            t.path(),
            &["audit", "--user", "litellm", "--json", "--systemd", "262"],
        )
        .stdout,
    );
    assert_eq!(s.exposures[0].score, "9.2");
    let out = svcacct(t.path(), &["audit", "--user", "--all", "--json"]);
    let s = parse(&out.stdout);
    let paths: Vec<String> = s
        .exposures
        .iter()
        .map(|e| e.path.as_path().display().to_string())
        .collect();
    assert_eq!(s.exposures.len(), 2, "{paths:?}");
    assert!(s.exposures.iter().all(|e| e.user));
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with("home/dev/.config/systemd/user/vllm.service")),
        "{paths:?}"
    );
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with("usr/lib/systemd/user/litellm.service")),
        "{paths:?}"
    );
    // The human report says so.
    let text = String::from_utf8_lossy(&svcacct(t.path(), &["audit", "--user", "litellm"]).stdout)
        .into_owned();
    assert!(text.contains("litellm.service (user unit)"), "{text}");
}

/// A unit systemd would not load gets a finding saying why, at its line,
/// and no score (systemd-analyze prints none); a User= that names no
/// account loads but never starts (issue 21).
#[test]
fn units_systemd_refuses_or_cannot_start_are_said() {
    let t = tree();
    write(
        t.path(),
        "etc/systemd/system/norun.service",
        "[Unit]\nDescription=x\n[Service]\nType=simple\nUser=nobody\n",
    );
    write(
        t.path(),
        "etc/systemd/system/reldir.service",
        "[Service]\nExecStart=/usr/bin/python3 loop.py\nWorkingDirectory=app\n",
    );
    write(
        t.path(),
        "etc/systemd/system/shelluser.service",
        "[Service]\nExecStart=/bin/true\nUser=$(whoami)\n",
    );
    write(
        t.path(),
        "etc/systemd/system/ok.service",
        "[Service]\nExecStart=/bin/true\nUser=root\n",
    );
    let s = parse(
        &svcacct(
            t.path(),
            &["audit", "norun", "reldir", "shelluser", "ok", "--json"],
        )
        .stdout,
    );
    let units: Vec<&str> = s.exposures.iter().map(|e| e.unit.as_str()).collect();
    assert_eq!(units, ["shelluser.service", "ok.service"]);
    let refused: Vec<(String, Option<u64>)> = s
        .findings
        .iter()
        .filter(|f| f.id == "svcacct/unit-refused")
        .map(|f| {
            let l = f.location.as_ref().unwrap();
            (l.path.as_path().display().to_string(), l.line)
        })
        .collect();
    assert_eq!(
        refused,
        [
            ("/etc/systemd/system/norun.service".to_string(), None),
            ("/etc/systemd/system/reldir.service".to_string(), Some(3)),
        ]
    );
    let missing: Vec<&hardkit_core::Finding> = s
        .findings
        .iter()
        .filter(|f| f.id == "svcacct/user-missing")
        .collect();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].location.as_ref().unwrap().line, Some(3));
    assert!(missing[0].fix.as_deref().unwrap().contains("shell code"));
}
