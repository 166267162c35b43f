//! Garbage in, a clear error out: random bytes and mutated configs go
//! through the whole pipeline (lex, parse, both passes, print, lint) in
//! process; every outcome must be Ok or an error naming a file, never a
//! panic. The cargo-fuzz target in fuzz/ runs the same pipeline unbounded.

use hardkit_core::rng::Rng;
use std::path::Path;

use sshd_lint::accounts::Accounts;
use sshd_lint::effective::{read, ConfigError};
use sshd_lint::include::Loader;
use sshd_lint::matching::Context;
use sshd_lint::version::Version;

const SEED_CONFIG: &str = "Include /etc/ssh/sshd_config.d/*.conf\nPort 22\nListenAddress [::1]:2222\n\
PermitRootLogin prohibit-password\nAllowUsers \"a b\" c@10.0.0.0/8\nCiphers +aes128-cbc\nMACs -*sha1*\n\
AuthorizedKeysFile .ssh/authorized_keys %h/.ssh/k_%u\nMaxStartups 10:30:60\nRekeyLimit 1G 1h\nIPQoS af21 cs1\n\
Subsystem sftp internal-sftp -l INFO\nMatch User alice,!bob Address 10.0.0.0/8\n  PasswordAuthentication yes\n\
  ForceCommand /bin/echo \"hi\" # x\nMatch all\n  X11Forwarding no\n";

/// Run the pipeline; Ok(()) or a ConfigError. Panics propagate and fail.
fn pipeline(root: &Path, data: Vec<u8>, v: Version) -> Result<(), ConfigError> {
    let mut loader = Loader::new(hardkit_core::Root::new(root).unwrap());
    let accounts = Accounts::default();
    let release = sshd_lint::version::Release::debian(v);
    let reading = read(
        &mut loader,
        Path::new("/etc/ssh/sshd_config"),
        Some(data),
        &release,
        &accounts,
    )?;
    let ctx: Context = "user=alice,host=h.example.com,addr=10.1.2.3,laddr=10.0.0.1,lport=22"
        .parse()
        .unwrap();
    for c in [None, Some(&ctx)] {
        let store = reading.effective(&mut loader, c, &accounts)?;
        let lines = sshd_lint::print::render(&store, &release)?;
        let findings = sshd_lint::rules::lint(
            &reading,
            &store,
            &lines,
            &sshd_lint::rules::LintOptions { nist_is_weak: true },
        );
        // The fix planner and the diff see the same odd text.
        let fix_lines = sshd_lint::fix::fix_lines(&findings, true);
        for change in sshd_lint::fix::plan(&reading, &fix_lines) {
            let _ = sshd_lint::fix::diff(&change);
        }
    }
    Ok(())
}

fn check(result: Result<(), ConfigError>) {
    if let Err(e) = result {
        let text = e.to_string();
        assert!(!text.is_empty());
        if let Some(loc) = e.loc() {
            assert!(loc.line >= 1, "{text}");
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let root = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(0x2545_f491_4f6c_dd1d);
    for round in 0..400 {
        let len = rng.below(if round % 10 == 0 { 8192 } else { 256 });
        let data: Vec<u8> = (0..len).map(|_| (rng.next_u64() >> 32) as u8).collect();
        check(pipeline(root.path(), data, Version::new(9, 2)));
    }
}

#[test]
fn mutated_configs_never_panic() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc/ssh/sshd_config.d")).unwrap();
    std::fs::write(
        root.path().join("etc/ssh/sshd_config.d/a.conf"),
        "MaxAuthTries 3\n",
    )
    .unwrap();
    std::fs::write(root.path().join("etc/ssh/loop.conf"), "Include loop.conf\n").unwrap();
    let specials = [
        b'"', b'\'', b'=', b'#', b'\0', b'\r', b'\n', b'\\', b' ', b'\t', b',', b'!', b'*', b'[',
        b':', b'%', 0xff,
    ];
    let versions = [
        Version::new(9, 0),
        Version::new(9, 2),
        Version::new(9, 6),
        Version::new(10, 0),
        Version::new(10, 2),
    ];
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let mut ok = 0;
    for round in 0..1500 {
        let mut data = SEED_CONFIG.as_bytes().to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(data.len() + 1);
            match rng.below(3) {
                0 => data.insert(at, specials[rng.below(specials.len())]),
                1 if at < data.len() => {
                    data.remove(at);
                }
                _ if at < data.len() => data[at] = specials[rng.below(specials.len())],
                _ => {}
            }
        }
        let result = pipeline(root.path(), data, versions[round % versions.len()]);
        ok += usize::from(result.is_ok());
        check(result);
    }
    // The mutations must leave many configs valid, or this test would only
    // ever exercise the error paths.
    assert!(ok > 100, "only {ok} mutated configs were valid");
}
