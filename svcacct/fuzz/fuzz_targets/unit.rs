//! Fuzz systemd unit reading as `svcacct audit NAME` does it: the unit file,
//! its own drop-in, a type-wide drop-in, then the exposure score and the
//! audit (which reads the account databases, also fuzzed). The input is cut
//! at NUL bytes into those files. Any panic or hang is a bug.
#![no_main]

#[path = "../../../fuzz-support/tree.rs"]
mod tree;

use hardkit_core::Root;
use libfuzzer_sys::fuzz_target;
use svcacct::accounts::Accounts;
use svcacct::sudoers::Sudoers;

const FILES: &[&str] = &[
    "/etc/systemd/system/agent.service",
    "/etc/systemd/system/agent.service.d/override.conf",
    "/usr/lib/systemd/system/service.d/10-all.conf",
    "/etc/passwd",
    "/etc/group",
];

fuzz_target!(|data: &[u8]| {
    tree::write(FILES, data);
    let Ok(root) = Root::new(tree::scratch()) else {
        return;
    };
    let Ok(unit) = svcacct::unit_file::load_by_name(&root, "agent", "i") else {
        return;
    };
    for release in svcacct::exposure::release::MODELLED {
        let _ = svcacct::exposure::exposure_of(&unit, *release);
    }
    let Ok(accounts) = Accounts::load(&root) else {
        return;
    };
    let _ = svcacct::audit::audit_unit(
        &unit,
        &root,
        &accounts,
        &Sudoers::default(),
        svcacct::exposure::Systemd::NEWEST,
    );
});
