//! aistack on real compose files and cloudflared configurations taken from
//! the projects' own examples (tests/fixtures/public, PROVENANCE.md), each
//! put where a server keeps it in a temporary root.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/public")
        .join(name)
}

/// A root with `fixture` as /opt/stack/compose.yaml and `env` as its .env.
fn compose_root(fixture_name: &str, env: &str) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("opt/stack");
    fs::create_dir_all(&dir).unwrap();
    fs::copy(fixture(fixture_name), dir.join("compose.yaml")).unwrap();
    fs::write(dir.join(".env"), env).unwrap();
    t
}

#[test]
fn n8n_self_hosted_ai_starter_kit() {
    let t = compose_root(
        "self-hosted-ai-starter-kit.docker-compose.yml",
        "POSTGRES_USER=root\n",
    );
    let a = audit(t.path(), &[]);
    assert_eq!(a.code, 1, "{}", a.stderr);
    // The import and model-pull jobs (a shell entrypoint, nothing
    // published) are not services; postgres is not an AI service.
    let names: Vec<&str> = a
        .of_type("ai_service")
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "n8n",
            "qdrant",
            "ollama-cpu",
            "ollama-gpu",
            "ollama-gpu-amd"
        ]
    );
    // n8n:latest is 1.x: it always asks for its owner's account.
    let n8n = a.service("n8n");
    assert_eq!(
        (n8n["auth"].as_str(), n8n["reach"].as_str()),
        (Some("required"), Some("outside"))
    );
    // Ollama's ports come from the x-ollama anchor (merged with <<:), and
    // the finding names the anchor's line.
    let f = a.findings();
    let c = "/opt/stack/compose.yaml";
    assert!(
        f.contains(&(
            "aistack/no-auth-exposed".into(),
            "critical".into(),
            format!("{c}:33"),
            "ollama-cpu".into()
        )),
        "{f:#?}"
    );
    assert!(
        f.contains(&(
            "aistack/no-auth-exposed".into(),
            "critical".into(),
            format!("{c}:106"),
            "qdrant".into()
        )),
        "{f:#?}"
    );
    assert!(
        f.contains(&(
            "aistack/backend-network-not-internal".into(),
            "medium".into(),
            format!("{c}:99"),
            "qdrant".into()
        )),
        "{f:#?}"
    );
    // n8n asks for a login: publishing a front end is not a finding here.
    assert!(!f.iter().any(|x| x.3 == "n8n"), "{f:#?}");
}

#[test]
fn open_webuis_own_compose_file() {
    let t = compose_root("open-webui.docker-compose.yaml", "");
    let a = audit(t.path(), &[]);
    let webui = a.service("open-webui");
    // ${OPEN_WEBUI_PORT-3000}: unset, so 3000, on every address.
    assert_eq!(webui["listeners"][0]["port"], 3000);
    assert_eq!(webui["listeners"][0]["reach"], "outside");
    assert_eq!(webui["auth"], "required");
    let ollama = a.service("ollama");
    assert_eq!(
        (ollama["auth"].as_str(), ollama["reach"].as_str()),
        (Some("none"), Some("containers"))
    );
    let ids: Vec<String> = a.findings().into_iter().map(|f| f.0).collect();
    assert_eq!(
        ids,
        [
            "aistack/open-signup",
            "aistack/backend-network-not-internal"
        ]
    );

    // The same file with authentication switched off in its .env-driven
    // environment, as the guides that "skip the login" do.
    let dir = t.path().join("opt/stack");
    let text = fs::read_to_string(dir.join("compose.yaml")).unwrap();
    fs::write(
        dir.join("compose.yaml"),
        text.replace(
            "      - 'WEBUI_SECRET_KEY='",
            "      - 'WEBUI_SECRET_KEY='\n      - WEBUI_AUTH=${WEBUI_AUTH}",
        ),
    )
    .unwrap();
    fs::write(dir.join(".env"), "WEBUI_AUTH=False\n").unwrap();
    let a = audit(t.path(), &[]);
    let f = a.findings();
    assert_eq!(f[0].0, "aistack/no-auth-exposed");
    assert_eq!(
        (f[0].1.as_str(), f[0].2.as_str()),
        ("critical", "/opt/stack/compose.yaml:30")
    );
}

#[test]
fn langflow_flowise_and_n8n_hosting_examples() {
    // Langflow's example: LANGFLOW_AUTO_LOGIN is left at its default (true).
    let t = compose_root("langflow.docker-compose.yml", "");
    let a = audit(t.path(), &[]);
    assert_eq!(a.service("langflow")["auth"], "off");
    assert_eq!(a.findings()[0].0, "aistack/no-auth-exposed");
    assert_eq!(a.findings()[0].1, "critical");

    // Flowise's: the port from .env through ${PORT}:${PORT}.
    let t = compose_root("flowise.docker-compose.yml", "PORT=3001\n");
    let a = audit(t.path(), &[]);
    let flowise = a.service("flowise");
    assert_eq!(flowise["listeners"][0]["port"], 3001);
    assert_eq!(flowise["auth"], "required");

    // n8n-hosting's subfolder example publishes on 127.0.0.1 only.
    let t = compose_root("n8n-hosting.subfolderWithSSL.docker-compose.yml", "");
    let a = audit(t.path(), &[]);
    assert_eq!(a.service("n8n")["reach"], "loopback");
    assert_eq!(a.code, 0, "{:#?}", a.findings());
}

fn tunnel_root(fixture_name: &str) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    fs::create_dir_all(t.path().join("etc/cloudflared")).unwrap();
    fs::copy(
        fixture(fixture_name),
        t.path().join("etc/cloudflared/config.yml"),
    )
    .unwrap();
    t
}

#[test]
fn cloudflareds_documented_configurations() {
    // Two hostnames and the catch-all: both routes, the credentials file
    // missing (cloudflared cannot start without it).
    let t = tunnel_root("cloudflared.docs-public-hostnames.config.yml");
    let a = audit(t.path(), &[]);
    let routes: Vec<(&str, &str)> = a
        .of_type("tunnel_route")
        .iter()
        .map(|r| {
            (
                r["hostname"].as_str().unwrap(),
                r["service"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        routes,
        [
            ("gitlab.widgetcorp.tech", "http://localhost:80"),
            ("gitlab-ssh.widgetcorp.tech", "ssh://localhost:22")
        ]
    );
    assert_eq!(a.findings()[0].0, "aistack/tunnel-credentials");
    assert_eq!(a.findings()[0].2, "/etc/cloudflared/config.yml:2");

    // The origin-settings example: its services have no scheme, which
    // cloudflared refuses.
    let t = tunnel_root("cloudflared.docs-origin-request.config.yml");
    let a = audit(t.path(), &[]);
    assert!(
        a.findings()
            .iter()
            .any(|f| f.0 == "aistack/tunnel-config-refused"
                && f.2 == "/etc/cloudflared/config.yml:9"),
        "{:#?}",
        a.findings()
    );

    // The path-rules example ends in a catch-all with a service: valid.
    let t = tunnel_root("cloudflared.docs-path-rules.config.yml");
    let a = audit(t.path(), &[]);
    assert!(
        !a.findings()
            .iter()
            .any(|f| f.0 == "aistack/tunnel-config-refused"),
        "{:#?}",
        a.findings()
    );
    assert_eq!(a.of_type("tunnel_route").len(), 4);
}

#[test]
fn a_tunnel_in_front_of_open_webui_with_and_without_access() {
    let t = compose_root(
        "open-webui.docker-compose.yaml",
        "OPEN_WEBUI_PORT=127.0.0.1:3000\n",
    );
    // (WEBUI_AUTH off: the tunnel is the only door)
    let dir = t.path().join("opt/stack");
    let text = fs::read_to_string(dir.join("compose.yaml")).unwrap();
    fs::write(
        dir.join("compose.yaml"),
        text.replace(
            "      - 'WEBUI_SECRET_KEY='",
            "      - 'WEBUI_SECRET_KEY='\n      - WEBUI_AUTH=false",
        ),
    )
    .unwrap();
    let cf = t.path().join("etc/cloudflared");
    fs::create_dir_all(&cf).unwrap();
    let open = "tunnel: t\ningress:\n  - hostname: chat.example.com\n    service: http://localhost:3000\n  - service: http_status:404\n";
    fs::write(cf.join("config.yml"), open).unwrap();
    let a = audit(t.path(), &[]);
    assert_eq!(a.service("open-webui")["reach"], "loopback");
    assert_eq!(a.service("open-webui")["tunnel"][0], "chat.example.com");
    let f = a.findings();
    assert_eq!(
        (f[0].0.as_str(), f[0].1.as_str(), f[0].2.as_str()),
        (
            "aistack/tunnel-no-access",
            "critical",
            "/etc/cloudflared/config.yml:3"
        )
    );

    // Access required at the origin, with team and audience: no finding
    // but the login being off (only the tunnel's Access lets anyone in).
    let guarded = "tunnel: t\ningress:\n  - hostname: chat.example.com\n    service: http://localhost:3000\n    originRequest:\n      access:\n        required: true\n        teamName: acme\n        audTag: [a1b2c3]\n  - service: http_status:404\n";
    fs::write(cf.join("config.yml"), guarded).unwrap();
    let a = audit(t.path(), &[]);
    let ids: Vec<String> = a.findings().into_iter().map(|f| f.0).collect();
    assert_eq!(
        ids,
        ["aistack/auth-off", "aistack/backend-network-not-internal"],
        "{:#?}",
        a.findings()
    );
    assert_eq!(a.of_type("tunnel_route")[0]["access_enforced"], true);

    // The same access block at the file's top level protects nothing.
    let top = "tunnel: t\noriginRequest:\n  access:\n    required: true\n    teamName: acme\n    audTag: [a1b2c3]\ningress:\n  - hostname: chat.example.com\n    service: http://localhost:3000\n  - service: http_status:404\n";
    fs::write(cf.join("config.yml"), top).unwrap();
    let a = audit(t.path(), &[]);
    let f = a.findings();
    assert!(
        f.contains(&(
            "aistack/tunnel-no-access".into(),
            "critical".into(),
            "/etc/cloudflared/config.yml:8".into(),
            "open-webui".into()
        )),
        "{f:#?}"
    );
    assert!(
        f.iter()
            .any(|x| x.0 == "aistack/tunnel-access-incomplete"
                && x.2 == "/etc/cloudflared/config.yml:4"),
        "{f:#?}"
    );
}

/// `aistack apply` on Open WebUI's own compose file: Ollama (a back end
/// that publishes nothing) moves to an internal network that Open WebUI
/// joins too; the audit afterwards no longer finds it on an open network;
/// a second apply changes nothing.
#[test]
fn apply_moves_a_back_end_to_an_internal_network() {
    let t = compose_root("open-webui.docker-compose.yaml", "");
    let run = |args: &[&str]| {
        let out = aistack()
            .args(args)
            .arg("--root")
            .arg(t.path())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, text) = run(&["apply"]);
    assert_eq!(code, 0, "{text}");
    let file = fs::read_to_string(t.path().join("opt/stack/compose.yaml")).unwrap();
    assert!(
        file.contains("  ollama:\n    networks: [ai-internal]\n"),
        "{file}"
    );
    assert!(
        file.contains("  open-webui:\n    networks: [default, ai-internal]\n"),
        "{file}"
    );
    assert!(
        file.ends_with("networks:\n  ai-internal:\n    internal: true\n"),
        "{file}"
    );
    let a = audit(t.path(), &[]);
    assert_eq!(
        a.service("ollama")["networks"],
        serde_json::json!(["ai-internal"])
    );
    let ids: Vec<String> = a.findings().into_iter().map(|f| f.0).collect();
    assert_eq!(ids, ["aistack/open-signup"], "{:#?}", a.findings());
    let (code, text) = run(&["apply"]);
    assert_eq!(
        (code, text.contains("nothing to change")),
        (0, true),
        "{text}"
    );
}

/// Compose merges an override file over the main one (and `-f a -f b`
/// files in order): Open WebUI's own API overlay publishes Ollama on every
/// address, and the finding names the overlay's line. As the override
/// beside the main file, and as two --compose files; `apply` binds the
/// port in the overlay and recreates the project once.
#[test]
fn override_files_are_merged_as_compose_merges_them() {
    let t = compose_root("open-webui.docker-compose.yaml", "");
    let dir = t.path().join("opt/stack");
    fs::copy(
        fixture("open-webui.docker-compose.api.yaml"),
        dir.join("compose.override.yaml"),
    )
    .unwrap();
    let a = audit(t.path(), &[]);
    let ollama = a.service("ollama");
    assert_eq!(
        (
            ollama["reach"].as_str(),
            ollama["listeners"][0]["port"].as_u64()
        ),
        (Some("outside"), Some(11434))
    );
    let f = a.findings();
    assert!(
        f.contains(&(
            "aistack/no-auth-exposed".into(),
            "critical".into(),
            "/opt/stack/compose.override.yaml:5".into(),
            "ollama".into()
        )),
        "{f:#?}"
    );

    // The same overlay named with --compose after the main file.
    fs::rename(dir.join("compose.override.yaml"), dir.join("api.yaml")).unwrap();
    let a = audit(
        t.path(),
        &[
            "--compose",
            "/opt/stack/compose.yaml",
            "--compose",
            "/opt/stack/api.yaml",
        ],
    );
    assert_eq!(a.service("ollama")["reach"], "outside");
    assert_eq!(a.of_type("ai_service").len(), 2, "one project, not two");

    // apply: the overlay's line is bound; one restart for the project.
    fs::rename(dir.join("api.yaml"), dir.join("compose.override.yaml")).unwrap();
    let out = aistack()
        .args(["apply", "--json", "--root"])
        .arg(t.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let over = fs::read_to_string(dir.join("compose.override.yaml")).unwrap();
    assert!(
        over.contains("      - \"127.0.0.1:${OLLAMA_WEBAPI_PORT-11434}:11434\""),
        "{over}"
    );
    let restarts: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["op"] == "restart")
        .collect();
    assert_eq!(restarts.len(), 1, "{restarts:?}");
    assert_eq!(restarts[0]["path"], "/opt/stack/compose.yaml");
    assert_eq!(audit(t.path(), &[]).service("ollama")["reach"], "loopback");
}
