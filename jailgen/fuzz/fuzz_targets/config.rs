//! Fuzz fail2ban configuration reading the way `jailgen audit` does it:
//! jail.conf, jail.d, jail.local, an `[INCLUDES]`-able paths file and the
//! sshd filter, then every interpolation and check of the audit. The input
//! is cut at NUL bytes into those files. Any panic or hang is a bug.
#![no_main]

#[path = "../../../fuzz-support/tree.rs"]
mod tree;

use hardkit_core::Root;
use jailgen::host::Host;
use jailgen::values::Port;
use libfuzzer_sys::fuzz_target;

const FILES: &[&str] = &[
    "/etc/fail2ban/jail.conf",
    "/etc/fail2ban/jail.local",
    "/etc/fail2ban/jail.d/hardkit.local",
    "/etc/fail2ban/paths-common.conf",
    "/etc/fail2ban/filter.d/sshd.conf",
    "/etc/fail2ban/filter.d/sshd.local",
];

fuzz_target!(|data: &[u8]| {
    tree::write(FILES, data);
    let Ok(root) = Root::new(tree::scratch()) else {
        return;
    };
    let host = Host::inspect(&root);
    let ports = [Port::new(22).expect("port"), Port::new(2222).expect("port")];
    let _ = jailgen::audit::audit(&root, &host, jailgen::release::newest(), Some(&ports));
    let config = jailgen::fail2ban_config::load(&root, "jail");
    let sections: Vec<String> = config.sections().map(str::to_string).collect();
    for section in &sections {
        if let Some(options) = config.section_options(section) {
            for key in options.keys() {
                let _ = config.get(section, key);
            }
        }
    }
});
