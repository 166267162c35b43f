//! Fuzz sudoers reading as `svcacct audit` does it: /etc/sudoers with its
//! `@includedir`, two drop-ins, aliases and continuation lines, then every
//! grant to every account (and the account databases themselves). The input
//! is cut at NUL bytes into those files. Any panic or hang is a bug.
#![no_main]

#[path = "../../../fuzz-support/tree.rs"]
mod tree;

use hardkit_core::Root;
use libfuzzer_sys::fuzz_target;
use svcacct::accounts::Accounts;
use svcacct::sudoers::{self, Sudoers};

const FILES: &[&str] = &[
    "/etc/sudoers",
    "/etc/sudoers.d/agent",
    "/etc/sudoers.d/ops",
    "/etc/passwd",
    "/etc/group",
];

fuzz_target!(|data: &[u8]| {
    tree::write(FILES, data);
    let Ok(root) = Root::new(tree::scratch()) else {
        return;
    };
    let rules = Sudoers::load(&root);
    let _ = svcacct::audit::ignored_sudoers_files(&rules);
    let Ok(accounts) = Accounts::load(&root) else {
        return;
    };
    for user in &accounts.passwd {
        for granted in rules.granted_to(user, &accounts) {
            let _ = sudoers::judge(&granted.command);
        }
    }
});
