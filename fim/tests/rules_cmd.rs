//! `fim rules`: the rules `fim init` would use, checked and printed, so an
//! operator (or first-five) can start a config from them.

use std::process::Command;

fn fim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fim"))
}

#[test]
fn builtin_rules_round_trip_through_a_config() {
    let out = fim().args(["rules", "--builtin"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().any(|l| l.starts_with("/etc ")), "{text}");
    assert_eq!(text, fim::rules::DEFAULT_RULES);

    // The printed rules, given back as a config, are what an empty root uses.
    let root = tempfile::tempdir().unwrap();
    let conf = root.path().join("etc/hardkit/fim.conf");
    std::fs::create_dir_all(conf.parent().unwrap()).unwrap();
    std::fs::write(&conf, &text).unwrap();
    let out = fim()
        .args(["rules", "--root"])
        .arg(root.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), text);

    // A config of one's own wins over the built-in rules.
    std::fs::write(&conf, "/srv all\n").unwrap();
    let out = fim()
        .args(["rules", "--root"])
        .arg(root.path())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "/srv all\n");
}

#[test]
fn a_bad_config_is_refused_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("fim.conf");
    std::fs::write(&conf, "/etc all\n/usr blake2\n").unwrap();
    let out = fim()
        .args(["rules", "--config"])
        .arg(&conf)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with(&format!(
            "fim: {}:2: unknown attribute or group 'blake2'",
            conf.display()
        )),
        "{err}"
    );
}
