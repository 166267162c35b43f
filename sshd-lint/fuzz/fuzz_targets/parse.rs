//! Fuzz the whole reading pipeline: lex, parse, Include (against an empty
//! root), both Match passes, `sshd -T` rendering and the lint. Any panic is
//! a bug; errors are expected.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sshd_lint::accounts::Accounts;
use sshd_lint::include::Loader;
use sshd_lint::matching::Context;
use sshd_lint::version::Version;

fn root() -> &'static Path {
    static ROOT: OnceLock<std::path::PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = std::env::temp_dir().join("sshd-lint-fuzz-root");
        std::fs::create_dir_all(dir.join("etc/ssh")).expect("fuzz root");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(root) = hardkit_core::Root::new(root()) else { return };
    let mut loader = Loader::new(root);
    let accounts = Accounts::default();
    let v = Version::new(9, 2);
    let Ok(reading) = sshd_lint::effective::read(&mut loader, Path::new("/etc/ssh/sshd_config"), Some(data.to_vec()), v, &accounts) else {
        return;
    };
    let ctx = Context { user: Some("alice".into()), addr: Some("10.0.0.1".into()), lport: Some(22), ..Context::default() };
    if let Ok(store) = reading.effective(&mut loader, Some(&ctx), &accounts) {
        if let Ok(lines) = sshd_lint::print::render(&store, v) {
            let _ = sshd_lint::rules::lint(&reading, &store, &lines, &sshd_lint::rules::LintOptions { nist_is_weak: false });
        }
    }
});
