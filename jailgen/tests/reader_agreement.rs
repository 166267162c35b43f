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
        let refs = jailgen::fail2ban_config::split_actions(&get("action"));
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
