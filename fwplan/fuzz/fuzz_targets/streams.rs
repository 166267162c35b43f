//! Fuzz the two streams fwplan reads from other tools or lists: the
//! `--block-from` list (addresses, CIDRs, logscan `offender` records) and
//! sshd-lint's `setting` records (`--sshd`). The first byte picks which.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn path() -> &'static std::path::Path {
    static PATH: OnceLock<std::path::PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::path::Path::new("/dev/shm")
            .join(format!("hardkit-fuzz-stream-{}.jsonl", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    std::fs::write(path(), rest).expect("write");
    if which % 2 == 0 {
        let _ = fwplan::blocklist::read_blocklist(path());
    } else {
        let _ = fwplan::sshd_input::read_sshd_ports(path());
    }
});
