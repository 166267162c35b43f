//! Fuzz the JSON policy file (`--policy FILE`, see policy_file.rs): load it,
//! plan it and render it for all three backends. Any panic is a bug;
//! errors are expected.
#![no_main]

use std::sync::OnceLock;

use fwplan::policy::Policy;
use fwplan::render_iptables::Family;
use libfuzzer_sys::fuzz_target;

fn path() -> &'static std::path::Path {
    static PATH: OnceLock<std::path::PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::path::Path::new("/dev/shm")
            .join(format!("hardkit-fuzz-policy-{}.json", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    std::fs::write(path(), data).expect("write");
    let mut policy = Policy::default();
    if fwplan::policy_file::load_policy_file(path(), &mut policy).is_err() {
        return;
    }
    if let Ok(plan) = fwplan::plan::build(&policy) {
        let _ = fwplan::render_nft::render(&plan);
        let _ = fwplan::render_ufw::render(&plan);
        let _ = fwplan::render_iptables::render(&plan, Family::V4);
        let _ = fwplan::render_iptables::render(&plan, Family::V6);
    }
});
