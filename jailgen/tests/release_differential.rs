//! jailgen's view of every enabled jail (what `fail2ban-client -d` sends
//! for it: backend, each option of the table typed as fail2ban types it,
//! log files, journal matches, ignore list, actions and the ports the first
//! one blocks) against each Debian release's own `fail2ban-client -d`, run
//! in the sandbox on the cached root (bookworm 1.0.2, trixie 1.1.0,
//! forky's); and `fail2ban-client -t` accepting exactly the configurations
//! in which jailgen finds no jail fail2ban refuses. The configurations: the
//! root's stock one, stock plus typical jail.local files, every stock jail
//! enabled (on the journal, and on log files), and jailgen's own output.

mod common;

use std::collections::BTreeMap;

use common::*;
use jailgen::view::{JailView, Refusal};
use serde_json::Value;

/// Agreement of one configuration.
#[derive(Default)]
struct Tally {
    jails: usize,
    jails_equal: usize,
    values: usize,
    values_equal: usize,
    differences: Vec<String>,
}

/// `test_refused`: `fail2ban-client -t` refused the configuration (-d
/// does not check logs, so a jail refused for want of one is judged by -t).
fn compare(
    view: &BTreeMap<String, Result<JailView, Refusal>>,
    dumped: &BTreeMap<String, DumpedJail>,
    model: jailgen::release::Version,
    test_refused: bool,
    tally: &mut Tally,
) {
    for (name, v) in view {
        tally.jails += 1;
        let Ok(v) = v else {
            if test_refused {
                tally.jails_equal += 1;
            } else {
                tally.differences.push(format!(
                    "{name}: jailgen refuses it ({v:?}), fail2ban runs it"
                ));
            }
            continue;
        };
        let Some(d) = dumped.get(name) else {
            tally
                .differences
                .push(format!("{name}: jailgen runs it, fail2ban does not"));
            continue;
        };
        let mut pairs: Vec<(String, Value, Value)> = vec![(
            "backend".into(),
            Value::from(v.backend.clone()),
            Value::from(d.backend.clone()),
        )];
        for row in jailgen::options::sent_as_set(model) {
            let key = row.key.to_string();
            pairs.push((
                key.clone(),
                v.options.get(&key).cloned().unwrap_or(Value::Null),
                d.options.get(&key).cloned().unwrap_or(Value::Null),
            ));
        }
        let mut logs = d.logpaths.clone();
        logs.sort();
        pairs.push((
            "logpath".into(),
            Value::from(v.logpaths.clone()),
            Value::from(logs),
        ));
        pairs.push((
            "journalmatch".into(),
            serde_json::json!(v.journalmatch),
            serde_json::json!(d.journalmatches),
        ));
        pairs.push((
            "ignoreip".into(),
            serde_json::json!(v.ignoreip),
            serde_json::json!(d.ignoreip_sent),
        ));
        pairs.push((
            "action".into(),
            serde_json::json!(v.actions),
            serde_json::json!(d.actions),
        ));
        let d_port = d
            .actions
            .first()
            .and_then(|a| d.action_params.get(a))
            .and_then(|p| p.get("port"))
            .cloned();
        pairs.push((
            "action port".into(),
            serde_json::json!(v.action_port),
            serde_json::json!(d_port),
        ));
        let before = tally.differences.len();
        for (key, ours, theirs) in pairs {
            tally.values += 1;
            if ours == theirs {
                tally.values_equal += 1;
            } else {
                tally
                    .differences
                    .push(format!("{name}.{key}: jailgen {ours}, fail2ban {theirs}"));
            }
        }
        if tally.differences.len() == before {
            tally.jails_equal += 1;
        }
    }
    for name in dumped.keys().filter(|n| !view.contains_key(*n)) {
        tally.jails += 1;
        tally.differences.push(format!(
            "{name}: fail2ban runs it, jailgen does not see it enabled"
        ));
    }
}

/// One configuration in one release: -d and -t against jailgen's view.
fn judge(suite: &str, suite_root: &std::path::Path, label: &str, tree: &Tree) -> Tally {
    let root = hardkit_core::Root::new(tree.path()).unwrap();
    let release = jailgen::release::Release::detect(&root, None).unwrap();
    let config = jailgen::fail2ban_config::load_jails(&root, &release.model.to_string());
    let view = jailgen::view::enabled_jails(&root, &config, release.model);
    let refused = view.values().any(Result::is_err);
    let mut tally = Tally::default();

    let t = release_client(suite_root, tree, &["-t"]);
    if t.status.success() == refused {
        tally.differences.push(format!(
            "-t {} but jailgen {}: {}",
            if t.status.success() {
                "accepts"
            } else {
                "refuses"
            },
            if refused {
                "refuses a jail"
            } else {
                "refuses none"
            },
            String::from_utf8_lossy(&t.stderr)
                .lines()
                .filter(|l| l.contains("ERROR"))
                .collect::<Vec<_>>()
                .join(" | ")
        ));
    }
    // The audit explains every refusal: what -t refuses has a finding that
    // says so (a whole-configuration refusal, or a jail's missing log),
    // and what -t accepts has no whole-configuration refusal.
    let audit = jailgen(tree.path(), &["audit", "--json"], None);
    let ids: Vec<String> = stdout(&audit)
        .lines()
        .filter(|l| l.starts_with("{\"type\":\"finding\""))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|f| f["id"].as_str().map(str::to_string))
        .collect();
    const WHOLE: &[&str] = &[
        "jailgen/syntax",
        "jailgen/jail-file-missing",
        "jailgen/interpolation",
    ];
    let whole = ids.iter().any(|i| WHOLE.contains(&i.as_str()));
    let explained = whole || ids.iter().any(|i| i == "jailgen/logpath-missing");
    if !t.status.success() && !explained {
        tally.differences.push(format!(
            "-t refuses and the audit says nothing of it: {ids:?}"
        ));
    }
    if t.status.success() && whole {
        tally.differences.push(format!(
            "-t accepts but the audit reports a whole-configuration refusal: {ids:?}"
        ));
    }
    let d = release_client(suite_root, tree, &["-d"]);
    if d.status.success() {
        let dumped = jails_of(&parse_dump(&d.stdout));
        compare(
            &view,
            &dumped,
            release.model,
            !t.status.success(),
            &mut tally,
        );
    } else if !refused {
        tally.differences.push(format!(
            "-d fails but jailgen runs every jail: {}",
            String::from_utf8_lossy(&d.stderr)
        ));
    }
    eprintln!(
        "{suite} ({}) {label}: -t {}, jails {}/{} equal, values {}/{} equal",
        release.record.version,
        if t.status.success() {
            "accepts"
        } else {
            "refuses"
        },
        tally.jails_equal,
        tally.jails,
        tally.values_equal,
        tally.values,
    );
    tally
}

/// Create every log file an enabled file-backend jail reads (as jailgen
/// reads the configuration) under /var/log; jails whose logs all lie
/// elsewhere (only /var/log is shown to the release's fail2ban) are
/// switched off in jail.local.
fn create_logs(tree: &Tree, local: &mut String) {
    let root = hardkit_core::Root::new(tree.path()).unwrap();
    let config = jailgen::fail2ban_config::load(&root, "jail");
    let names: Vec<String> = config.sections().map(str::to_string).collect();
    for name in names.iter().filter(|n| *n != "DEFAULT") {
        let get = |k: &str| config.get(name, k).ok().flatten().unwrap_or_default();
        if get("backend").starts_with("systemd") {
            continue;
        }
        let logs: Vec<String> = get("logpath")
            .lines()
            .map(|l| {
                l.trim()
                    .rsplit_once(' ')
                    .map_or(l.trim(), |(p, _)| p)
                    .to_string()
            })
            .filter(|p| p.starts_with("/var/log/"))
            .collect();
        if logs.is_empty() {
            local.push_str(&format!("\n[{name}]\nenabled = false\n"));
        }
        for path in logs {
            tree.file(&path.replace('*', "x"), "");
        }
    }
}

fn variants(suite_root: &std::path::Path) -> Vec<(String, Tree)> {
    let mut out = Vec::new();
    out.push(("stock".into(), tree_from_release(suite_root)));

    let t = tree_from_release(suite_root);
    t.file("/var/log/auth.log", "");
    out.push(("stock with rsyslog's auth.log".into(), t));

    let t = tree_from_release(suite_root);
    t.file(
        "/etc/fail2ban/jail.local",
        "[sshd]\nbackend = systemd\nport = 2222\nmaxretry = 3\nfindtime = 10m\nbantime = 1h\nignoreip = 127.0.0.1/8 ::1, 192.0.2.0/24\n",
    );
    out.push((
        "jail.local: sshd on the journal, port, times, ignoreip".into(),
        t,
    ));

    let t = tree_from_release(suite_root);
    t.file("/var/log/fail2ban.log", "").file(
        "/etc/fail2ban/jail.local",
        "[DEFAULT]\nbanaction = nftables-multiport\nbanaction_allports = nftables-allports\nbantime.increment = true\nbantime.factor = 2\nbantime.maxtime = 1w\nbantime.overalljails = yes\n\n[sshd]\nbackend = systemd\n\n[recidive]\nenabled = true\n",
    );
    out.push(("jail.local: increments, nftables, recidive".into(), t));

    let t = tree_from_release(suite_root);
    t.file("/var/log/auth.log", "")
        .file(
            "/etc/fail2ban/jail.local",
            "[sshd]\nbackend = auto\nlogpath = /var/log/auth.log tail\nmaxretry = 3x\nbantime.increment = perhaps\nignoreself = off\nmaxmatches = %(maxretry)s\n",
        )
        .file(
            "/etc/fail2ban/jail.d/zz-site.local",
            "[sshd]\nbantime = 2h\naction = %(action_mw)s\n         nftables[name=extra, port=\"22,2222\"]\n",
        );
    out.push((
        "jail.local + jail.d: file backend, unconvertible values, two actions".into(),
        t,
    ));

    let t = tree_from_release(suite_root);
    t.file(
        "/etc/fail2ban/jail.local",
        "[DEFAULT]\nenabled = true\nbackend = systemd\n",
    );
    out.push(("every stock jail on the journal".into(), t));

    let t = tree_from_release(suite_root);
    let mut local = "[DEFAULT]\nenabled = true\nbanaction = nftables-multiport\n".to_string();
    t.file("/etc/fail2ban/jail.local", &local);
    create_logs(&t, &mut local);
    t.file("/etc/fail2ban/jail.local", &local);
    out.push(("every stock jail on log files".into(), t));

    // jailgen's own output for a host of this release.
    let t = tree_from_release(suite_root);
    t.file("/lib/systemd/system/ssh.service", "[Unit]\n")
        .nftables_host()
        .nginx_logs()
        .file("/var/log/fail2ban.log", "");
    if suite_root.join("usr/lib/openssh/sshd-session").exists() {
        t.file("/usr/lib/openssh/sshd-session", "");
    }
    let out_gen = jailgen(
        t.path(),
        &[
            "--ssh-port",
            "2222",
            "--jail",
            "sshd",
            "--jail",
            "recidive",
            "--jail",
            "nginx-limit-req",
            "--jail",
            "nginx-botsearch",
            "--jail",
            "nginx-http-auth",
            "--jail",
            "api-abuse",
            "--bantime-increment",
            "--ignoreip",
            "192.0.2.0/24",
            "--write",
        ],
        None,
    );
    assert_eq!(out_gen.status.code(), Some(0), "{}", stderr(&out_gen));
    out.push(("jailgen's output (six jails)".into(), t));
    // Real configurations as Debian packages ship them (tests/real-configs,
    // see its PROVENANCE.md), laid over the release's own /etc/fail2ban.
    let here = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/real-configs");
    let mut names: Vec<String> = std::fs::read_dir(&here)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let t = tree_from_release(suite_root);
        for rel in all_files(&here.join(&name)) {
            let file = here.join(&name).join(&rel);
            if file.is_dir() {
                continue;
            }
            t.file(
                &format!("/{}", rel.display()),
                &std::fs::read_to_string(&file).unwrap(),
            );
        }
        // Their log files, empty; a jail reading logs outside /var/log is
        // switched off in a file of the test's own (the release's
        // fail2ban is shown only /var/log).
        let mut local = String::new();
        create_logs(&t, &mut local);
        if !local.is_empty() {
            t.file("/etc/fail2ban/jail.d/zzz-test-logs.local", &local);
        }
        out.push((format!("real/{name}"), t));
    }
    out
}

#[test]
fn jailgens_view_equals_each_releases_dump() {
    let test = "jailgen::jailgens_view_equals_each_releases_dump";
    if !hardkit_core::oracle::require_root(test) {
        return;
    }
    let mut all = Vec::new();
    for suite in SUITES {
        let Some(suite_root) =
            hardkit_core::oracle::debian_root(&format!("{test}::{suite}"), suite)
        else {
            continue;
        };
        let mut total = Tally::default();
        for (label, tree) in variants(&suite_root) {
            let t = judge(suite, &suite_root, &label, &tree);
            total.jails += t.jails;
            total.jails_equal += t.jails_equal;
            total.values += t.values;
            total.values_equal += t.values_equal;
            all.extend(
                t.differences
                    .into_iter()
                    .map(|d| format!("{suite} {label}: {d}")),
            );
        }
        eprintln!(
            "{suite} total: jails {}/{} equal, values {}/{} equal",
            total.jails_equal, total.jails, total.values_equal, total.values
        );
        assert!(total.jails > 150, "{suite}: too few jails compared");
    }
    assert!(all.is_empty(), "{}", all.join("\n"));
}
