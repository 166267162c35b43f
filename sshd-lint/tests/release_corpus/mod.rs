//! The (config, context) corpus the release differential suite runs on each
//! Debian release's own sshd: the hand-made configs of tests/configs, every
//! value line (9.x and 10.x keywords, valid and invalid), each release's
//! stock config with cloud-image drop-ins, published hardening guides,
//! every Match criterion with matching and non-matching connections, and
//! seeded random trees.

use std::path::Path;

/// One config tree (files relative to the tree's top) and the contexts it
/// is read with (`""`: sshd -T without -C).
pub struct Case {
    pub name: String,
    pub files: Vec<(String, Vec<u8>)>,
    pub contexts: Vec<String>,
    /// Give the tree a DSA host key (and no other key file).
    pub dsa_only: bool,
}

impl Case {
    fn new(name: impl Into<String>, files: Vec<(String, Vec<u8>)>, contexts: &[&str]) -> Case {
        Case {
            name: name.into(),
            files,
            contexts: contexts.iter().map(|c| c.to_string()).collect(),
            dsa_only: false,
        }
    }
}

/// Connections that match and miss each criterion of the corpus.
pub const CONTEXTS: &[&str] = &[
    "",
    "user=root,host=host.example.com,addr=10.1.2.3,laddr=192.0.2.10,lport=22,rdomain=rd0",
    "user=alice,host=Office.Example.COM,addr=192.168.1.50,laddr=192.168.1.1,lport=2222",
    "user=deploy,host=ci.internal,addr=2001:db8::5,laddr=2001:db8::1,lport=22",
    "user=bob,host=bad.example.com,addr=10.9.1.1,laddr=10.0.0.1,lport=2200,rdomain=vrf",
    "user=carol,addr=10.0.0.5",
    "user=ALICE,host=WWW.Example.com,addr=192.168.7.7,laddr=::1,lport=2201",
    "user=bob,host=bad.EXAMPLE.com,addr=2001:db8::9,laddr=127.0.0.1,lport=22,rdomain=rd1",
];

/// A user with no account, without and with the `invalid-user` flag that
/// OpenSSH 10.0 added to `-C` (9.2 refuses the flag).
pub const INVALID_USER_CONTEXTS: &[&str] = &[
    "user=ghost,host=x.example.com,addr=10.3.3.3,laddr=192.0.2.10,lport=22",
    "user=ghost,host=x.example.com,addr=10.3.3.3,laddr=192.0.2.10,lport=22,invalid-user",
    "user=alice,addr=10.3.3.3,invalid-user",
];

fn read_tree(dir: &Path, top: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            read_tree(&p, top, out);
        } else {
            let rel = p.strip_prefix(top).unwrap().to_string_lossy().into_owned();
            out.push((rel, std::fs::read(&p).unwrap()));
        }
    }
}

fn one_file(path: &str, text: &str) -> Vec<(String, Vec<u8>)> {
    vec![(path.to_string(), text.as_bytes().to_vec())]
}

/// tests/configs: each directory is a tree.
pub fn hand_made(tests: &Path) -> Vec<Case> {
    let dir = tests.join("configs");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let mut files = Vec::new();
            read_tree(&dir.join(&name), &dir.join(&name), &mut files);
            Case::new(format!("configs/{name}"), files, CONTEXTS)
        })
        .collect()
}

/// One-line configs: every value syntax of 9.x and 10.x.
pub fn value_lines(tests: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    for file in ["value-lines.txt", "value-lines-10.txt"] {
        let text = std::fs::read_to_string(tests.join(file)).unwrap();
        for (i, line) in text.lines().enumerate() {
            let mut body = format!("{line}\n");
            if line.starts_with("Match") {
                body.push_str("  PasswordAuthentication no\n");
                out.push(Case::new(
                    format!("{file}:{}", i + 1),
                    one_file("etc/ssh/sshd_config", &body),
                    &[
                        "",
                        CONTEXTS[1],
                        INVALID_USER_CONTEXTS[0],
                        INVALID_USER_CONTEXTS[1],
                    ],
                ));
            } else {
                out.push(Case::new(
                    format!("{file}:{}", i + 1),
                    one_file("etc/ssh/sshd_config", &body),
                    &[""],
                ));
            }
        }
    }
    let dsa = "HostKey /etc/ssh/ssh_host_dsa_key\nPasswordAuthentication no\n";
    let mut c = Case::new(
        "dsa-only-host-key",
        one_file("etc/ssh/sshd_config", dsa),
        &["", CONTEXTS[1]],
    );
    c.dsa_only = true;
    out.push(c);
    // Several unknown keywords: sshd names every one of the file, then
    // stops; one in an included file stops at the end of that file.
    out.push(Case::new(
        "several-bad-options",
        one_file(
            "etc/ssh/sshd_config",
            "FooBar yes\nPort 22\nBazQux 1\nPermitRootLogin no\nNoSuchThing x\n",
        ),
        &[""],
    ));
    out.push(Case::new(
        "bad-options-then-a-bad-value",
        one_file(
            "etc/ssh/sshd_config",
            "FooBar yes\nPermitRootLogin perhaps\nBazQux 1\n",
        ),
        &[""],
    ));
    out.push(Case::new(
        "bad-options-in-an-include",
        vec![
            (
                "etc/ssh/sshd_config".into(),
                b"Include /etc/ssh/sshd_config.d/*.conf\nOuterBad 1\n".to_vec(),
            ),
            (
                "etc/ssh/sshd_config.d/10-x.conf".into(),
                b"InnerBad yes\nAlsoBad no\n".to_vec(),
            ),
        ],
        &[""],
    ));
    // No HostKey file exists: sshd -T exits ("no hostkeys available"), and
    // so must --effective (issue 22).
    out.push(Case::new(
        "no-host-key-file",
        one_file(
            "etc/ssh/sshd_config",
            "HostKey /etc/ssh/ssh_host_missing_key\nPasswordAuthentication no\n",
        ),
        &["", CONTEXTS[1]],
    ));
    out
}

/// The stock config of a release's root (its sshd_config and drop-ins),
/// alone and as cloud images ship it.
pub fn stock(suite: &str, root: &Path) -> Vec<Case> {
    let mut base = Vec::new();
    let ssh = root.join("etc/ssh");
    base.push((
        "etc/ssh/sshd_config".to_string(),
        std::fs::read(ssh.join("sshd_config")).unwrap(),
    ));
    if let Ok(entries) = std::fs::read_dir(ssh.join("sshd_config.d")) {
        for e in entries.flatten() {
            base.push((
                format!("etc/ssh/sshd_config.d/{}", e.file_name().to_string_lossy()),
                std::fs::read(e.path()).unwrap(),
            ));
        }
    }
    let drop_in = |name: &str, text: &str| {
        let mut f = base.clone();
        f.push((
            format!("etc/ssh/sshd_config.d/{name}"),
            text.as_bytes().to_vec(),
        ));
        f
    };
    let cloud = "PasswordAuthentication yes\n";
    let mut with_cloud_and_hardening = drop_in("50-cloud-init.conf", cloud);
    with_cloud_and_hardening.push((
        "etc/ssh/sshd_config.d/99-hardening.conf".into(),
        b"PasswordAuthentication no\nPermitRootLogin no\nKbdInteractiveAuthentication no\n"
            .to_vec(),
    ));
    let mut cloud_match = drop_in("50-cloud-init.conf", cloud);
    cloud_match.push((
        "etc/ssh/sshd_config.d/60-admins.conf".into(),
        b"Match Group wheel Address 10.0.0.0/8,192.168.0.0/16\n  PasswordAuthentication no\n  PermitRootLogin prohibit-password\nMatch User deploy\n  AllowTcpForwarding no\n  X11Forwarding no\n"
            .to_vec(),
    ));
    vec![
        Case::new(format!("stock/{suite}"), base.clone(), CONTEXTS),
        Case::new(
            format!("stock/{suite}+50-cloud-init"),
            drop_in("50-cloud-init.conf", cloud),
            CONTEXTS,
        ),
        Case::new(
            format!("stock/{suite}+60-cloudimg-settings"),
            drop_in("60-cloudimg-settings.conf", "PasswordAuthentication no\n"),
            CONTEXTS,
        ),
        Case::new(
            format!("stock/{suite}+cloud-init+99-hardening"),
            with_cloud_and_hardening,
            CONTEXTS,
        ),
        Case::new(
            format!("stock/{suite}+cloud-init+match"),
            cloud_match,
            CONTEXTS,
        ),
    ]
}

/// Hardening guides: whole config, and drop-in under a stock config.
pub fn guides(tests: &Path, stock_root: &Path) -> Vec<Case> {
    let stock_main = std::fs::read(stock_root.join("etc/ssh/sshd_config")).unwrap();
    let mut out = Vec::new();
    for guide in ["devsec", "mozilla-modern", "ssh-audit-9", "ssh-audit-10"] {
        let text = std::fs::read(tests.join("guides").join(format!("{guide}.conf"))).unwrap();
        out.push(Case::new(
            format!("guide/{guide}"),
            vec![("etc/ssh/sshd_config".into(), text.clone())],
            CONTEXTS,
        ));
        out.push(Case::new(
            format!("guide/{guide}-drop-in"),
            vec![
                ("etc/ssh/sshd_config".into(), stock_main.clone()),
                (format!("etc/ssh/sshd_config.d/{guide}.conf"), text),
            ],
            CONTEXTS,
        ));
    }
    out
}

/// Real configurations as Debian packages ship them (tests/real-configs,
/// see its PROVENANCE.md): each as written, and each with a loadable host
/// key listed first (their own keys do not exist in the test tree, so as
/// written sshd stops at "no hostkeys available" before judging the rest).
pub fn real_configs(tests: &Path) -> Vec<Case> {
    let dir = tests.join("real-configs");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let text = std::fs::read(dir.join(&name).join("etc/ssh/sshd_config")).unwrap();
        out.push(Case::new(
            format!("real/{name}"),
            vec![("etc/ssh/sshd_config".into(), text.clone())],
            CONTEXTS,
        ));
        let mut keyed = b"HostKey /etc/ssh/ssh_host_ed25519_key\n".to_vec();
        keyed.extend_from_slice(&text);
        out.push(Case::new(
            format!("real/{name}-with-a-host-key"),
            vec![("etc/ssh/sshd_config".into(), keyed)],
            CONTEXTS,
        ));
    }
    out
}

/// Every Match criterion, each with lines that show whether it matched.
pub fn match_criteria() -> Vec<Case> {
    const CRITERIA: &[&str] = &[
        "User alice",
        "User !root,*",
        "User ALICE",
        "Group wheel",
        "Group staff,!wheel",
        "Group nosuchgroup",
        "Host *.example.com",
        "Host !bad.example.com,*.example.com",
        "Address 10.0.0.0/8",
        "Address 2001:db8::/32,!2001:db8::9",
        "Address 192.168.1.0/24 User alice",
        "LocalAddress 192.0.2.10",
        "LocalAddress ::1,127.0.0.1",
        "LocalPort 2222",
        "LocalPort 22,2200",
        "RDomain rd0",
        "RDomain !vrf,*",
        "All",
        "Invalid-User",
        "Invalid-User Address 10.0.0.0/8",
        "Version OpenSSH_10.*",
        "Version OpenSSH_9.*",
        "Version *",
    ];
    let mut contexts: Vec<&str> = CONTEXTS.to_vec();
    contexts.extend(INVALID_USER_CONTEXTS);
    CRITERIA
        .iter()
        .map(|c| {
            let body = format!(
                "PasswordAuthentication no\nMaxAuthTries 3\nMatch {c}\n  PasswordAuthentication yes\n  MaxAuthTries 5\n  Banner /etc/issue.net\n  AllowUsers alice bob\n"
            );
            Case::new(
                format!("match/{c}"),
                one_file("etc/ssh/sshd_config", &body),
                &contexts,
            )
        })
        .collect()
}

/// Keywords new in 10.x inside Match blocks and the global section.
pub fn ten_x_keywords() -> Vec<Case> {
    let configs: &[(&str, &str)] = &[
        (
            "refuse-in-match",
            "Match Address 10.0.0.0/8\n  RefuseConnection yes\n",
        ),
        ("refuse-global", "RefuseConnection yes\n"),
        (
            "pam-service-name",
            "UsePAM yes\nPAMServiceName sshd-custom\nMatch User alice\n  PAMServiceName alice-pam\n",
        ),
        (
            "penalties",
            "PerSourcePenalties authfail:1m noauth:10s max:1h\nPerSourcePenaltyExemptList 10.0.0.0/8,2001:db8::/32\n",
        ),
        ("penalties-off", "PerSourcePenalties no\n"),
        (
            "penalties-twice",
            "PerSourcePenalties authfail:1m\nPerSourcePenalties noauth:2m\n",
        ),
        (
            "ipqos-and-maxstartups",
            "IPQoS af21 cs1\nIPQoS ef\nMaxStartups 5\nMaxStartups 20:30:100\nPerSourceNetBlockSize 24\nPerSourceNetBlockSize 16:64\n",
        ),
        (
            "gssapi-kex",
            "GSSAPIAuthentication yes\nGSSAPIKeyExchange yes\nGSSAPIKexAlgorithms gss-curve25519-sha256-\n",
        ),
    ];
    let mut contexts: Vec<&str> = CONTEXTS.to_vec();
    contexts.push(INVALID_USER_CONTEXTS[1]);
    configs
        .iter()
        .map(|(name, body)| {
            Case::new(
                format!("10.x/{name}"),
                one_file("etc/ssh/sshd_config", body),
                &contexts,
            )
        })
        .collect()
}
