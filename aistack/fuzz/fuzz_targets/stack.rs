//! Fuzz everything `aistack` reads of a system: a compose file, its .env,
//! an env_file, a cloudflared config.yml, a systemd unit and a
//! container's files under /var/lib/docker; then the
//! stack, every check and the plan of fixes. The input is cut at NUL bytes into those files.
//! Any panic or hang is a bug.
#![no_main]

#[path = "../../../fuzz-support/tree.rs"]
mod tree;

use hardkit_core::Root;
use libfuzzer_sys::fuzz_target;

const FILES: &[&str] = &[
    "/opt/ai/compose.yaml",
    "/opt/ai/.env",
    "/opt/ai/app.env",
    "/etc/cloudflared/config.yml",
    "/etc/systemd/system/ollama.service",
    "/var/lib/docker/containers/c1/config.v2.json",
    "/var/lib/docker/containers/c1/hostconfig.json",
];

fuzz_target!(|data: &[u8]| {
    tree::write(FILES, data);
    let Ok(root) = Root::new(tree::scratch()) else {
        return;
    };
    let stack = aistack::stack::Stack::load(&root, &aistack::stack::Options { compose_files: Vec::new(), containers: Vec::new() });
    let _ = aistack::audit::audit(&stack, &root);
    // The fixes' line edits, planned (nothing is written).
    let _ = aistack::fix::plan(&stack, &root);
});
