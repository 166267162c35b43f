//! Bad input: a clear error naming the flag, exit 2, nothing written.

mod common;

use common::*;

fn refused(args: &[&str], stdin: Option<&str>, flag: &str) {
    let tree = Tree::new();
    tree.debian12().nftables_host().nginx_logs();
    let mut all = args.to_vec();
    all.push("--write");
    let out = jailgen(tree.path(), &all, stdin);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        err.starts_with(&format!("jailgen: {flag}")),
        "{args:?}: {err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(tree.read("/etc/fail2ban/jail.d/hardkit.local").is_none());
    assert!(tree
        .read("/etc/fail2ban/filter.d/hardkit-api-abuse.conf")
        .is_none());
}

#[test]
fn bad_durations() {
    refused(
        &["--bantime", "1x"],
        None,
        "--bantime: \"1x\" is not a fail2ban duration",
    );
    refused(&["--findtime", "0"], None, "--findtime: ");
    refused(
        &["--bantime-maxtime", "1 week"],
        None,
        "--bantime-maxtime: ",
    );
    refused(
        &["--set", "recidive.bantime=forever"],
        None,
        "--set recidive.bantime: ",
    );
}

#[test]
fn bad_ports() {
    refused(
        &["--ssh-port", "0"],
        None,
        "--ssh-port: \"0\" is not a TCP port",
    );
    refused(&["--ssh-port", "70000"], None, "--ssh-port: \"70000\"");
    refused(&["--ssh-port", "22,ssh"], None, "--ssh-port: ");
    let zero = sshd_lint_ports(&[0]);
    refused(&["--sshd", "-"], Some(&zero), "--sshd <stdin>:2: ");
}

#[test]
fn bad_addresses() {
    refused(
        &["--ignoreip", "10.0.0.0/33"],
        None,
        "--ignoreip: \"10.0.0.0/33\" is not an IP address",
    );
    refused(
        &["--ignoreip", "10.0.0.1/8"],
        None,
        "--ignoreip: \"10.0.0.1/8\" has host bits set",
    );
}

#[test]
fn newlines_and_fail2ban_syntax_in_values() {
    refused(
        &["--ignoreip", "10.0.0.1\n[recidive]\nenabled = false"],
        None,
        "--ignoreip: ",
    );
    refused(&["--bantime", "1h\nbanaction = dummy"], None, "--bantime: ");
    refused(&["--ssh-port", "22\n"], None, "--ssh-port: ");
    refused(&["--banaction", "iptables[port=1]"], None, "--banaction: ");
    refused(&["--banaction", "%(action_mwl)s"], None, "--banaction: ");
    refused(
        &[
            "--nginx-access-log",
            "/var/log/<HOST>.log",
            "--jail",
            "api-abuse",
            "--jail",
            "sshd",
        ],
        None,
        "--nginx-access-log: ",
    );
    refused(
        &[
            "--api-path",
            "/v1/(.*)",
            "--jail",
            "api-abuse",
            "--jail",
            "sshd",
        ],
        None,
        "--api-path: ",
    );
    refused(
        &[
            "--api-status",
            "200",
            "--jail",
            "api-abuse",
            "--jail",
            "sshd",
        ],
        None,
        "--api-status: ",
    );
    refused(&["--maxretry", "3\n"], None, "--maxretry: ");
}

#[test]
fn unknown_jail_and_bad_overrides() {
    refused(
        &["--jail", "postfix"],
        None,
        "--jail: unknown jail \"postfix\"",
    );
    refused(&["--set", "sshd.action=dummy"], None, "--set: ");
    refused(&["--set", "nosuch.maxretry=3"], None, "--set: unknown jail");
    // A value outside the list is clap's usage error (the list is what
    // shell completion offers), naming the flag and the accepted values.
    let tree = Tree::new();
    tree.debian12().nftables_host();
    let out = jailgen(tree.path(), &["--ssh-backend", "polling", "--write"], None);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("jailgen: invalid value 'polling' for '--ssh-backend")
            && err.contains("auto, systemd, file"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
    assert!(tree.read("/etc/fail2ban/jail.d/hardkit.local").is_none());
}

#[test]
fn host_problems_name_the_jail() {
    // No nginx log: the nginx jails cannot be written for this host.
    let tree = Tree::new();
    tree.debian12().nftables_host();
    let out = jailgen(tree.path(), &["--jail", "nginx-limit-req", "--write"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("jailgen: --jail nginx-limit-req: /var/log/nginx/error.log does not exist"),
        "{err}"
    );
    // No firewall at all: the ban action must be named.
    let tree = Tree::new();
    tree.debian12();
    let out = jailgen(tree.path(), &["--write"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("jailgen: --banaction: no firewall found"),
        "{}",
        stderr(&out)
    );
    assert!(tree.read("/etc/fail2ban/jail.d/hardkit.local").is_none());
    // fail2ban not installed under the root.
    let tree = Tree::new();
    tree.nftables_host();
    let out = jailgen(tree.path(), &["--write"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("fail2ban is not installed"),
        "{}",
        stderr(&out)
    );
}
