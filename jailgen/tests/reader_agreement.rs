//! jailgen's fail2ban configuration reader against fail2ban itself, on
//! every jail Debian's jail.conf defines: all of them are enabled, every log
//! file the reader says they read is created, and `fail2ban-client -d` must
//! run each jail with the options the reader computed.

mod common;

use common::*;

#[test]
fn every_stock_jail_reads_as_fail2ban_reads_it() {
    if !oracle_ready("jailgen::every_stock_jail_reads_as_fail2ban_reads_it") {
        return;
    }
    let tree = Tree::new();
    tree.stock_fail2ban().file(
        "/etc/fail2ban/jail.local",
        "[DEFAULT]\nenabled = true\nbanaction = nftables-multiport\n",
    );
    let root = hardkit_core::Root::new(tree.path()).unwrap();
    let config = jailgen::fail2ban_config::load(&root, "jail");
    let sections: Vec<String> = config.sections().map(str::to_string).collect();
    assert!(sections.len() > 80, "{}", sections.len());
    // Create every log file the reader says an enabled file-backend jail reads.
    for name in &sections {
        if config
            .get(name, "backend")
            .unwrap()
            .unwrap_or_default()
            .starts_with("systemd")
        {
            continue;
        }
        let logpath = config.get(name, "logpath").unwrap().unwrap_or_default();
        for path in logpath.lines().map(str::trim).filter(|p| !p.is_empty()) {
            tree.file(&path.replace('*', ""), "");
        }
    }
    let dumped = jails_of(&dump(&tree));
    let mut agree = 0;
    let mut disagreements = Vec::new();
    for name in &sections {
        let Some(d) = dumped.get(name) else {
            disagreements.push(format!("{name}: not run by fail2ban"));
            continue;
        };
        let get = |k: &str| config.get(name, k).unwrap().unwrap_or_default();
        let mut ours = vec![
            ("backend", get("backend"), d.backend.clone()),
            (
                "maxretry",
                get("maxretry"),
                d.options["maxretry"].to_string(),
            ),
            (
                "findtime",
                get("findtime"),
                d.options["findtime"].as_str().unwrap_or("").to_string(),
            ),
            (
                "bantime",
                get("bantime"),
                d.options["bantime"].as_str().unwrap_or("").to_string(),
            ),
        ];
        let refs = jailgen::fail2ban_actions::split_actions(&get("action"));
        let actions: Vec<String> = refs.iter().map(|a| a.instance_name(name)).collect();
        ours.push(("action", actions.join(","), d.actions.join(",")));
        if let (Some(first), Some(r)) = (actions.first(), refs.first()) {
            if let Some(port) = d.action_params.get(first).and_then(|p| p.get("port")) {
                // The action's own port= option wins over the jail's port.
                let want = r
                    .options
                    .iter()
                    .rev()
                    .find(|(k, _)| k == "port")
                    .map_or_else(|| get("port"), |(_, v)| v.clone());
                ours.push(("port", want, port.clone()));
            }
        }
        if !d.backend.starts_with("systemd") {
            // fail2ban is shown the tree's /var/log only (the mount
            // namespace); logs elsewhere cannot be compared.
            let want: Vec<String> = get("logpath")
                .lines()
                .map(|p| p.trim().replace('*', ""))
                .filter(|p| p.starts_with("/var/log/"))
                .collect();
            ours.push(("logpath", want.join(","), d.logpaths.join(",")));
        }
        let bad: Vec<String> = ours
            .iter()
            .filter(|(_, a, b)| a != b)
            .map(|(k, a, b)| format!("{name}.{k}: ours {a:?}, fail2ban {b:?}"))
            .collect();
        if bad.is_empty() {
            agree += 1;
        } else {
            disagreements.extend(bad);
        }
    }
    eprintln!("reader agreement: {agree}/{} stock jails", sections.len());
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    assert_eq!(dumped.len(), sections.len());
}

/// jailgen's reading of time values against fail2ban's own MyTime.str2seconds.
#[test]
fn time_values_as_fail2ban_computes_them() {
    if !oracle_ready("jailgen::time_values_as_fail2ban_computes_them") {
        return;
    }
    let values = [
        "600",
        "10m",
        "1h",
        "1h 30m",
        "1h30m",
        "1d12h",
        "2w",
        "1mo",
        "1y",
        "-1",
        "10 m",
        "1hour",
        "3 days",
        "5M",
        "1.5h",
        "2weeks",
        "1x",
        "",
        "h",
        "1 fortnight",
        "10mins",
        "1w2d",
        "0",
    ];
    let script = "from fail2ban.server.mytime import MyTime\nimport sys\nfor v in sys.argv[1:]:\n  try: print(float(MyTime.str2seconds(v)))\n  except Exception: print('ERR')";
    // fail2ban's own interpreter: the package lives in Debian's python3.
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", script])
        .args(values)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(theirs.len(), values.len());
    let mut agree = 0;
    for (value, theirs) in values.iter().zip(&theirs) {
        let ours = jailgen::fail2ban_values::fail2ban_seconds(value).map(|s| format!("{s:?}"));
        let theirs = (theirs != "ERR").then(|| theirs.clone());
        assert_eq!(ours, theirs, "{value:?}");
        agree += 1;
    }
    eprintln!(
        "time values: {agree}/{} agree with MyTime.str2seconds",
        values.len()
    );
}

/// Every stock jail on the journal: the journal match the audit judges
/// (the jail's, else its filter's) must be the one fail2ban uses.
#[test]
fn every_stock_jail_journal_match_as_fail2ban() {
    if !oracle_ready("jailgen::every_stock_jail_journal_match_as_fail2ban") {
        return;
    }
    let tree = Tree::new();
    tree.stock_fail2ban().file(
        "/etc/fail2ban/jail.local",
        "[DEFAULT]\nenabled = true\nbackend = systemd\nbanaction = nftables-multiport\n\n[sshd]\njournalmatch = _SYSTEMD_UNIT=ssh.service + _COMM=sshd _UID=0\n",
    );
    let root = hardkit_core::Root::new(tree.path()).unwrap();
    let config = jailgen::fail2ban_config::load(&root, "jail");
    let dumped = jails_of(&dump(&tree));
    let sections: Vec<String> = config.sections().map(str::to_string).collect();
    let mut with_match = 0;
    for name in &sections {
        let d = &dumped[name];
        assert_eq!(d.backend, "systemd", "{name}");
        let (ours, _) = jailgen::audit::journalmatch(&root, &config, name);
        let ours: Vec<String> = ours.split_whitespace().map(str::to_string).collect();
        assert_eq!(ours, d.journalmatch, "{name}");
        with_match += usize::from(!ours.is_empty());
    }
    eprintln!(
        "journal match: {}/{} jails agree ({with_match} with a match)",
        sections.len(),
        sections.len()
    );
    assert!(with_match >= 15, "{with_match}");
    assert_eq!(dumped.len(), sections.len());
}

/// Log path globs as Python's fnmatch (fail2ban's glob) matches file names.
#[test]
fn log_globs_as_python_fnmatch() {
    if !oracle_ready("jailgen::log_globs_as_python_fnmatch") {
        return;
    }
    let patterns = [
        "*error.log",
        "L[0-9].log",
        "L[!0-9].log",
        "*.log",
        "a?c",
        "[a-c]*",
        "[]]x",
        "a[b",
        "*access*.log",
        "x[!]]y",
    ];
    let names = [
        "error.log",
        "site-error.log",
        "L7.log",
        "Lx.log",
        "abc",
        "a.log",
        "c",
        "]x",
        "a[b",
        "api.access.log",
        "access.log.1",
        "xay",
        "x]y",
        ".hidden.log",
    ];
    let mut script = String::from("import fnmatch, json\nout = []\n");
    script.push_str(&format!(
        "for p in {}:\n  for n in {}:\n    out.append(fnmatch.fnmatchcase(n, p) and not (n.startswith('.') and not p.startswith('.')))\nprint(json.dumps(out))\n",
        serde_json::to_string(&patterns).unwrap(),
        serde_json::to_string(&names).unwrap()
    ));
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<bool> = serde_json::from_slice(&out.stdout).unwrap();
    let mut k = 0;
    for p in patterns {
        for n in names {
            assert_eq!(jailgen::host::glob_match(p, n), theirs[k], "{p} vs {n}");
            k += 1;
        }
    }
}

/// Whether a jail's log exists, as the audit decides it and as fail2ban
/// finds it, for every stock jail with logs under /var/log, half of them
/// created.
#[test]
fn log_existence_as_fail2ban_finds_it() {
    if !oracle_ready("jailgen::log_existence_as_fail2ban_finds_it") {
        return;
    }
    let tree = Tree::new();
    tree.stock_fail2ban().file(
        "/etc/fail2ban/jail.local",
        "[DEFAULT]\nenabled = true\nbanaction = nftables-multiport\n",
    );
    let root = hardkit_core::Root::new(tree.path()).unwrap();
    let config = jailgen::fail2ban_config::load(&root, "jail");
    let sections: Vec<String> = config.sections().map(str::to_string).collect();
    let logs = |name: &str| -> Vec<String> {
        config
            .get(name, "logpath")
            .unwrap()
            .unwrap_or_default()
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    };
    for (i, name) in sections.iter().enumerate() {
        if i % 2 == 0 {
            for path in logs(name) {
                // A name the glob matches: drop the wildcards' text.
                tree.file(&path.replace('*', "x").replace("[0-9]", "1"), "");
            }
        }
    }
    let dumped = jails_of(&dump(&tree));
    let mut compared = 0;
    for name in &sections {
        let paths = logs(name);
        if paths.is_empty() || !paths.iter().all(|p| p.starts_with("/var/log/")) {
            continue;
        }
        let ours = paths.iter().any(|p| jailgen::host::log_exists(&root, p));
        let theirs = !dumped[name].logpaths.is_empty();
        assert_eq!(ours, theirs, "{name}: {paths:?}");
        compared += 1;
    }
    eprintln!("log existence: {compared}/{compared} jails agree");
    assert!(compared > 60, "{compared}");
}
