//! AI services run by systemd units: where each binds by itself (its
//! options, variables and defaults, from the app's row) and what its unit
//! says of its login; a cloudflared unit run with --token is a tunnel
//! managed in Cloudflare's dashboard.

mod common;

use std::fs;
use std::path::Path;

use serde_json::Value;

fn unit(root: &Path, name: &str, text: &str) {
    let dir = root.join("etc/systemd/system");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), text).unwrap();
}

#[test]
fn units_bind_where_their_settings_say() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    // Ollama's installer's unit, with the line the guides add.
    unit(r, "ollama.service", "[Service]\nExecStart=/usr/local/bin/ollama serve\nUser=ollama\nEnvironment=\"PATH=/usr/bin\" \"OLLAMA_HOST=0.0.0.0\"\n");
    // A drop-in that moves it back to loopback wins (later assignment).
    fs::create_dir_all(r.join("etc/systemd/system/ollama.service.d")).unwrap();
    fs::write(
        r.join("etc/systemd/system/ollama.service.d/local.conf"),
        "[Service]\nEnvironment=OLLAMA_HOST=127.0.0.1:11500\n",
    )
    .unwrap();
    unit(r, "notebook.service", "[Service]\nExecStart=/opt/venv/bin/jupyter-lab --ip=0.0.0.0 --IdentityProvider.token= --port 8899\n");
    unit(
        r,
        "comfy.service",
        "[Service]\nExecStart=/opt/comfy/venv/bin/python -m comfyui --listen --port 8190\n",
    );
    unit(
        r,
        "cloudflared.service",
        "[Service]\nExecStart=/usr/bin/cloudflared --no-autoupdate tunnel run --token eyJhIjoi\n",
    );
    let recs: Vec<Value> = common::audit(r, &[]).records;
    let svc = |name: &str| {
        recs.iter()
            .find(|x| x["type"] == "ai_service" && x["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {recs:#?}"))
            .clone()
    };
    let o = svc("ollama");
    assert_eq!(
        (
            o["listeners"][0]["address"].as_str(),
            o["listeners"][0]["port"].as_u64(),
            o["reach"].as_str()
        ),
        (Some("127.0.0.1"), Some(11500), Some("loopback"))
    );
    let j = svc("notebook");
    assert_eq!(
        (
            j["auth"].as_str(),
            j["listeners"][0]["port"].as_u64(),
            j["reach"].as_str()
        ),
        (Some("off"), Some(8899), Some("host-firewall"))
    );
    let c = svc("comfy");
    assert_eq!(
        (
            c["listeners"][0]["address"].as_str(),
            c["listeners"][0]["port"].as_u64()
        ),
        (Some("0.0.0.0"), Some(8190))
    );
    let ids: Vec<(&str, &str, &str)> = recs
        .iter()
        .filter(|x| x["type"] == "finding")
        .map(|f| {
            (
                f["id"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                f["location"]["path"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        ids.contains(&(
            "aistack/no-auth-exposed",
            "high",
            "/etc/systemd/system/notebook.service"
        )),
        "{ids:?}"
    );
    assert!(
        ids.contains(&(
            "aistack/no-auth-exposed",
            "high",
            "/etc/systemd/system/comfy.service"
        )),
        "{ids:?}"
    );
    assert!(
        ids.contains(&(
            "aistack/tunnel-remote-managed",
            "info",
            "/etc/systemd/system/cloudflared.service"
        )),
        "{ids:?}"
    );
    assert!(!ids.iter().any(|(_, _, p)| p.contains("ollama")), "{ids:?}");
}
