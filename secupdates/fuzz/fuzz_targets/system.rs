//! Fuzz everything `secupdates` reads of a system: two files of apt.conf.d
//! and apt.conf (apt's syntax, #clear, #include), a sources list and a
//! deb822 source, os-release, dpkg's status file, and a Release and a
//! Packages list of a security archive; then the audit, the pending
//! updates, apply's plan (--check: nothing written) and the dump. The
//! input is cut at NUL bytes into those files. Any panic or hang is a bug.
#![no_main]

#[path = "../../../fuzz-support/tree.rs"]
mod tree;

use hardkit_core::Root;
use libfuzzer_sys::fuzz_target;
use secupdates::target::Target;

const FILES: &[&str] = &[
    "/etc/apt/apt.conf.d/50unattended-upgrades",
    "/etc/apt/apt.conf.d/60local",
    "/etc/apt/apt.conf",
    "/etc/apt/sources.list",
    "/etc/apt/sources.list.d/debian.sources",
    "/etc/os-release",
    "/var/lib/dpkg/status",
    "/var/lib/apt/lists/deb.debian.org_debian-security_dists_bookworm-security_InRelease",
    "/var/lib/apt/lists/deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages",
];

fuzz_target!(|data: &[u8]| {
    tree::write(FILES, data);
    let Ok(root) = Root::new(tree::scratch()) else {
        return;
    };
    let target = Target::load(&root);
    let _ = secupdates::audit::audit(&target);
    let _ = secupdates::pending::pending(&target);
    let opts = secupdates::apply::Options {
        check: true,
        diff: true,
        ..Default::default()
    };
    let _ = secupdates::apply::apply(&root, &opts);
    if let Ok(config) = &target.config {
        let _ = config.dump("Unattended-Upgrade");
        let _ = config.dump("APT");
    }
});
