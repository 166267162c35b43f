//! Fuzz the reader of a jail's `action` value (fail2ban's splitWithOptions):
//! brackets, quotes, `][` option groups, and the instance name it gives.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for action in jailgen::fail2ban_actions::split_actions(text) {
        let _ = action.instance_name("sshd");
        let _ = jailgen::host::Firewall::of_action(&action.file);
    }
});
