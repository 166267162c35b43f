//! Fuzz the nft include rewriter: a tree's nftables.conf and the files it
//! may include (the input cut at NUL bytes), copied with their `include`
//! statements rewritten; the last part is an nft message mapped back to
//! the tree's paths. Any panic or hang is a bug.
#![no_main]

#[path = "../../../fuzz-support/tree.rs"]
mod tree;

use std::path::Path;

use hardkit_core::Root;
use libfuzzer_sys::fuzz_target;

const FILES: &[&str] = &[
    "/etc/nftables.conf",
    "/etc/nftables.d/10-a.nft",
    "/etc/nftables.d/20-b.nft",
    "/etc/extra.nft",
];

fuzz_target!(|data: &[u8]| {
    tree::write(FILES, data);
    let Ok(root) = Root::new(tree::scratch()) else {
        return;
    };
    let Ok(prepared) = fwplan::nft_include::prepare(&root, Path::new("/etc/nftables.conf")) else {
        return;
    };
    let message = data.rsplit(|&b| b == 0).next().unwrap_or_default();
    let message = String::from_utf8_lossy(message);
    let mapped = prepared.map_message(&format!(
        "{}:3:1-4: Error: {message}",
        prepared.main().display()
    ));
    let _ = prepared.first_location(&mapped);
});
