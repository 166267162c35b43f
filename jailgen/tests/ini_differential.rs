//! The INI reader against fail2ban's own parser (SafeConfigParserWithIncludes,
//! Python's configparser with fail2ban's settings) on generated files full
//! of the awkward cases: continuation lines, inline and full-line comments,
//! `:` separators, empty lines inside values, indented headers, headers
//! with trailing text, duplicate sections and options, keys in capitals.

mod common;

use hardkit_core::rng::Rng;
use std::collections::BTreeMap;

use common::*;

const LINES: &[&str] = &[
    "[sshd]",
    "[DEFAULT]",
    "[nginx-http-auth]",
    "  [indented]",
    "[a]b]",
    "[sec] trailing text",
    "port = 22",
    "Port=2222",
    "maxretry: 5",
    "bantime = 1h ; one hour",
    "bantime = 1h;no-space",
    "logpath = /var/log/a.log # not a comment",
    "# full comment",
    "; full comment",
    "   ; indented comment",
    "    /var/log/continued.log",
    "\tcontinued = with equals",
    "",
    "   ",
    "empty =",
    "Key With Spaces = v",
    "ignoreip = 127.0.0.1/8 ::1",
    "enabled = true",
    "x = %(port)s",
    "action = %(action_)s",
    "  indented = option",
    "key = a = b : c",
];

/// Lines fail2ban's parser refuses, mixed in rarely.
const BAD_LINES: &[&str] = &["[]", "just a word", "= no key"];

const PYTHON: &str = r#"
import json, sys
from fail2ban.client.configparserinc import SafeConfigParserWithIncludes
for path in sys.argv[1:]:
    p = SafeConfigParserWithIncludes()
    try:
        p.read(path, get_includes=False)
    except Exception as e:
        print(json.dumps({"ok": False}))
        continue
    secs = {}
    for name in p.sections():
        secs[name] = {k: v for k, v in p._sections[name].items() if k != '__name__'}
    print(json.dumps({"ok": True, "defaults": dict(p._defaults), "sections": secs}))
"#;

#[test]
fn ini_reader_matches_fail2ban_parser() {
    if !stock_ready("jailgen::ini_reader_matches_fail2ban_parser")
        || hardkit_core::oracle::oracle(
            "jailgen::ini_reader_matches_fail2ban_parser",
            "fail2ban-client",
        )
        .is_none()
    {
        return;
    }
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let cases = 1000;
    let parent = tempfile::tempdir().unwrap();
    let mut trees = Vec::new();
    for _ in 0..cases {
        let n = 1 + rng.below(14);
        let mut text = String::from("[sshd]\n");
        for _ in 0..n {
            let line = if rng.one_in(25) {
                *rng.pick(BAD_LINES)
            } else {
                *rng.pick(LINES)
            };
            text.push_str(line);
            text.push('\n');
        }
        let tree = Tree::new_in(parent.path());
        tree.file("/etc/fail2ban/jail.conf", &text);
        trees.push((tree, text));
    }
    let paths: Vec<_> = trees
        .iter()
        .map(|(t, _)| t.host("/etc/fail2ban/jail.conf"))
        .collect();
    for (release, suite_root) in fail2ban_pythons("jailgen::ini_reader_matches_fail2ban_parser") {
        let out = fail2ban_python(suite_root.as_deref(), PYTHON, parent.path(), &paths);
        let results: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(results.len(), cases);
        let (mut rejected, mut compared) = (0, 0);
        for ((tree, text), theirs) in trees.iter().zip(&results) {
            let root = hardkit_core::Root::new(tree.path()).unwrap();
            let ours = jailgen::fail2ban_config::load(&root, "jail");
            if theirs["ok"] == false {
                rejected += 1;
                assert!(
                    !ours.problems.is_empty(),
                    "{release}'s fail2ban rejects this file, we did not:\n{text}"
                );
                continue;
            }
            assert!(
                ours.problems.is_empty(),
                "we rejected a file {release}'s fail2ban reads: {:?}\n{text}",
                ours.problems
            );
            let as_map =
            |opts: &BTreeMap<String, jailgen::fail2ban_config::Value>| -> BTreeMap<String, String> {
                opts.iter()
                    .map(|(k, v)| (k.clone(), v.raw.clone()))
                    .collect()
            };
            let their_map = |v: &serde_json::Value| -> BTreeMap<String, String> {
                v.as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            };
            assert_eq!(
                as_map(&ours.defaults),
                their_map(&theirs["defaults"]),
                "{release}: [DEFAULT] of\n{text}"
            );
            let their_sections = theirs["sections"].as_object().unwrap();
            let our_sections: Vec<&str> = ours.sections().collect();
            assert_eq!(
                our_sections.len(),
                their_sections.len(),
                "{release}: sections of\n{text}"
            );
            for (name, opts) in their_sections {
                let mine = ours
                    .section_options(name)
                    .unwrap_or_else(|| panic!("no [{name}] in ours:\n{text}"));
                assert_eq!(
                    as_map(mine),
                    their_map(opts),
                    "{release}: [{name}] of\n{text}"
                );
            }
            compared += 1;
        }
        eprintln!(
        "ini reader vs {release}: {compared} files read identically, {rejected} rejected by both, of {cases}"
    );
        assert!(compared > 300 && rejected > 50, "{compared} {rejected}");
    }
}

const INTERPOLATION_LINES: &[&str] = &[
    "port = 22",
    "port = %(known/port)s,2222",
    "a = %(port)s",
    "b = %(a)s-%(port)s",
    "c = %(missing)s",
    "d = 100%%",
    "e = 50%",
    "f = %(sshd/port)s",
    "g = %(default/port)s",
    "h = %(__name__)s",
    "i = %(b)s %(h)s",
    "loop = %(loop)s",
    "j = %(A)s",
    "A = upper",
    "k = %(nginx/x)s",
    "n = %(nosuch/x)s",
    "x = from-here",
    "l = %(port)",
    "m = %(x)s/%(g)s",
    "o = %(f)s %(k)s",
];

const PYTHON_GET: &str = r#"
import json, sys
from fail2ban.client.configparserinc import SafeConfigParserWithIncludes
for path in sys.argv[1:]:
    p = SafeConfigParserWithIncludes()
    p.read(path, get_includes=False)
    out = {}
    for sec in p.sections():
        for key in sorted(p.options(sec)):
            try:
                out[sec + "." + key] = p.get(sec, key)
            except Exception:
                out[sec + "." + key] = None
    print(json.dumps(out))
"#;

#[test]
fn interpolation_matches_fail2ban_parser() {
    if !stock_ready("jailgen::interpolation_matches_fail2ban_parser")
        || hardkit_core::oracle::oracle(
            "jailgen::interpolation_matches_fail2ban_parser",
            "fail2ban-client",
        )
        .is_none()
    {
        return;
    }
    let mut rng = Rng::new(0x2545_f491_4f6c_dd1d);
    let cases = 300;
    let parent = tempfile::tempdir().unwrap();
    let mut trees = Vec::new();
    for _ in 0..cases {
        let mut text = String::new();
        for section in ["DEFAULT", "sshd", "nginx"] {
            text.push_str(&format!("[{section}]\n"));
            let mut used = std::collections::BTreeSet::new();
            for _ in 0..rng.below(7) {
                let line = *rng.pick(INTERPOLATION_LINES);
                // One of each option per section: duplicates are refused.
                if used.insert(line.split(" =").next().unwrap().to_lowercase()) {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
        let tree = Tree::new_in(parent.path());
        tree.file("/etc/fail2ban/jail.conf", &text);
        trees.push((tree, text));
    }
    let paths: Vec<_> = trees
        .iter()
        .map(|(t, _)| t.host("/etc/fail2ban/jail.conf"))
        .collect();
    for (release, suite_root) in fail2ban_pythons("jailgen::interpolation_matches_fail2ban_parser")
    {
        let out = fail2ban_python(suite_root.as_deref(), PYTHON_GET, parent.path(), &paths);
        let results: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(results.len(), cases);
        let (mut values, mut errors) = (0, 0);
        for ((tree, text), theirs) in trees.iter().zip(&results) {
            let root = hardkit_core::Root::new(tree.path()).unwrap();
            let ours = jailgen::fail2ban_config::load(&root, "jail");
            for (qualified, their) in theirs.as_object().unwrap() {
                let (section, key) = qualified.split_once('.').unwrap();
                let mine = ours.get(section, key);
                match their.as_str() {
                    Some(v) => {
                        assert_eq!(
                            mine,
                            Ok(Some(v.to_string())),
                            "{release}: {qualified} in\n{text}"
                        );
                        values += 1;
                    }
                    None => {
                        assert!(
                        mine.is_err(),
                        "{release}: {qualified}: fail2ban cannot interpolate, we gave {mine:?} in\n{text}"
                    );
                        errors += 1;
                    }
                }
            }
        }
        eprintln!("interpolation vs {release}: {values} values equal, {errors} refused by both");
        assert!(values > 500 && errors > 100, "{values} {errors}");
    }
}

/// Files of a generated configuration directory and the lines they may hold.
const TREE_FILES: &[&str] = &[
    "jail.conf",
    "jail.d/10-a.conf",
    "jail.d/20-b.conf",
    "jail.local",
    "jail.d/10-a.local",
    "jail.d/30-c.local",
    "paths.conf",
    "paths.local",
    "after.conf",
];

const TREE_LINES: &[&str] = &[
    "port = 22",
    "port = %(known/port)s,2222",
    "bantime = 1h",
    "bantime = %(known/bantime)s",
    "maxretry = 3",
    "maxretry = %(default/maxretry)s",
    "logpath = %(sshd_log)s",
    "sshd_log = /var/log/auth.log",
    "sshd_log = /var/log/secure",
    "findtime = %(sshd/bantime)s",
    "enabled = true",
];

const PYTHON_TREE: &str = r#"
import json, sys
from fail2ban.client.configreader import ConfigReaderUnshared
for base in sys.argv[1:]:
    r = ConfigReaderUnshared(basedir=base)
    try:
        r.read('jail')
    except Exception:
        print(json.dumps(None))
        continue
    out = {}
    for sec in r.sections():
        if sec.startswith('KNOWN/') or sec == 'INCLUDES':
            continue
        for key in sorted(r.options(sec)):
            try:
                out[sec + "." + key] = r.get(sec, key)
            except Exception:
                out[sec + "." + key] = None
    print(json.dumps(out))
"#;

#[test]
fn file_order_includes_and_known_match_fail2ban() {
    if !stock_ready("jailgen::file_order_includes_and_known_match_fail2ban")
        || hardkit_core::oracle::oracle(
            "jailgen::file_order_includes_and_known_match_fail2ban",
            "fail2ban-client",
        )
        .is_none()
    {
        return;
    }
    let mut rng = Rng::new(0xdead_beef_cafe_f00d);
    let cases = 200;
    let parent = tempfile::tempdir().unwrap();
    let mut trees = Vec::new();
    for _ in 0..cases {
        let tree = Tree::new_in(parent.path());
        let mut listing = String::new();
        for file in TREE_FILES {
            if rng.one_in(3) {
                continue;
            }
            let mut text = String::new();
            if *file == "jail.conf" && rng.one_in(2) {
                text.push_str("[INCLUDES]\nbefore = paths.conf\nafter = after.conf\n");
            }
            for section in ["DEFAULT", "sshd", "nginx"] {
                if rng.one_in(3) {
                    continue;
                }
                text.push_str(&format!("[{section}]\n"));
                let mut used = std::collections::BTreeSet::new();
                for _ in 0..rng.below(4) {
                    let line = *rng.pick(TREE_LINES);
                    if used.insert(line.split(" =").next().unwrap()) {
                        text.push_str(line);
                        text.push('\n');
                    }
                }
            }
            tree.file(&format!("/etc/fail2ban/{file}"), &text);
            listing.push_str(&format!("== {file}\n{text}"));
        }
        trees.push((tree, listing));
    }
    let paths: Vec<_> = trees.iter().map(|(t, _)| t.host("/etc/fail2ban")).collect();
    for (release, suite_root) in
        fail2ban_pythons("jailgen::file_order_includes_and_known_match_fail2ban")
    {
        let out = fail2ban_python(suite_root.as_deref(), PYTHON_TREE, parent.path(), &paths);
        let results: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(results.len(), cases);
        let mut values = 0;
        for ((tree, listing), theirs) in trees.iter().zip(&results) {
            let Some(theirs) = theirs.as_object() else {
                continue;
            };
            let root = hardkit_core::Root::new(tree.path()).unwrap();
            let ours = jailgen::fail2ban_config::load(&root, "jail");
            let our_keys: usize = ours
                .sections()
                .map(|s| {
                    let own = ours.section_options(s).map_or(0, |o| o.len());
                    let inherited = ours
                        .defaults
                        .keys()
                        .filter(|k| !ours.has_option(s, k))
                        .count();
                    own + inherited
                })
                .sum();
            assert_eq!(
                our_keys,
                theirs.len(),
                "{release}: option count in\n{listing}"
            );
            for (qualified, their) in theirs {
                let (section, key) = qualified.split_once('.').unwrap();
                let mine = ours.get(section, key).ok().flatten();
                assert_eq!(
                    mine.as_deref(),
                    their.as_str(),
                    "{release}: {qualified} in\n{listing}"
                );
                values += 1;
            }
        }
        eprintln!("configuration trees vs {release}: {values} values equal over {cases} trees");
        assert!(values > 1000, "{values}");
    }
}
