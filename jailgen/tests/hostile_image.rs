//! Under `--root`, `--check` and `--write` are judged by the tree's own
//! fail2ban-client, and that program is the image's: it runs in the
//! sandbox, a stranger on a read-only tree, and cannot write anything.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::*;

const PROBE: &str = r#"#!/bin/bash
r=""
for f in /etc/fail2ban/jail.d/pwned /etc/fail2ban/jail.conf /usr/bin/pwned /var/log/pwned /pwned /root/pwned; do
  if echo pwned >> "$f" 2>/dev/null; then r="$r wrote:$f"; else r="$r refused:$f"; fi
done
echo "ERROR probe$r" >&2
exit 1
"#;

#[test]
fn the_trees_fail2ban_client_judges_and_cannot_write() {
    if !stock_ready("jailgen::the_trees_fail2ban_client_judges_and_cannot_write")
        || !hardkit_core::oracle::require_root(
            "jailgen::the_trees_fail2ban_client_judges_and_cannot_write",
        )
    {
        return;
    }
    let tree = Tree::new();
    fs::set_permissions(tree.path(), fs::Permissions::from_mode(0o755)).unwrap();
    tree.debian12().nftables_host();
    for d in ["/tmp", "/run", "/dev", "/root"] {
        fs::create_dir_all(tree.host(d)).unwrap();
    }
    install_program(&tree, "/bin/bash");
    tree.file("/usr/bin/fail2ban-client", PROBE);
    fs::set_permissions(
        tree.host("/usr/bin/fail2ban-client"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let before = all_files(tree.path());
    let jail_conf = tree.read("/etc/fail2ban/jail.conf").unwrap();
    for mode in ["--check", "--write"] {
        let out = jailgen(tree.path(), &["--jail", "sshd", mode], None);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{mode}: {}{err}", stdout(&out));
        // The tree's program ran (this machine's fail2ban would accept the file)...
        assert!(err.contains("probe"), "{mode}: {err}");
        // ...and every write it tried was refused.
        assert!(!err.contains("wrote:"), "{mode}: {err}");
        assert_eq!(err.matches("refused:").count(), 6, "{mode}: {err}");
    }
    assert_eq!(all_files(tree.path()), before, "the tree changed");
    assert_eq!(tree.read("/etc/fail2ban/jail.conf").unwrap(), jail_conf);
    assert!(tree.read("/etc/fail2ban/jail.d/hardkit.local").is_none());
}
