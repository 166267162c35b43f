//! Containers as AI services: from Docker's own files under the root and
//! from `docker inspect` output. A container compose made from a file
//! aistack read is that file's service (its labels say so), not a second
//! one; a container started by hand is judged by its published ports and
//! environment.

mod common;

use std::fs;
use std::path::Path;

use common::audit;
use serde_json::Value;

fn services(records: &[Value]) -> Vec<(String, String, String)> {
    records
        .iter()
        .filter(|r| r["type"] == "ai_service")
        .map(|r| {
            (
                r["name"].as_str().unwrap().into(),
                r["auth"].as_str().unwrap().into(),
                r["reach"].as_str().unwrap_or("").into(),
            )
        })
        .collect()
}

#[test]
fn compose_made_containers_are_their_services_and_others_are_judged() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/compromised-agent-host");
    // The demo's two containers carry compose's labels for
    // /opt/ai/docker-compose.yml: two services, not four.
    let recs = audit(&demo, &[]).records;
    assert_eq!(
        services(&recs),
        [
            ("ollama".into(), "none".into(), "host-firewall".into()),
            ("open-webui".into(), "off".into(), "outside".into())
        ]
    );

    // A container started by hand with `docker run -p 11434:11434`.
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("var/lib/docker/containers/abc");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("config.v2.json"),
        r#"{"Name":"/llm","Config":{"Image":"ollama/ollama:0.6.2","Env":["PATH=/usr/bin","OLLAMA_HOST=0.0.0.0:11434"]},"NetworkSettings":{"Networks":{"bridge":{}}}}"#,
    )
    .unwrap();
    fs::write(dir.join("hostconfig.json"), r#"{"NetworkMode":"bridge","PortBindings":{"11434/tcp":[{"HostIp":"","HostPort":"11434"}]}}"#).unwrap();
    let recs = audit(t.path(), &[]).records;
    assert_eq!(
        services(&recs),
        [("llm".into(), "none".into(), "outside".into())]
    );
    let f = recs.iter().find(|r| r["type"] == "finding").unwrap();
    assert_eq!(f["id"], "aistack/no-auth-exposed");
    assert_eq!(f["severity"], "critical");
    assert_eq!(
        f["location"]["path"],
        "/var/lib/docker/containers/abc/hostconfig.json"
    );

    // docker inspect output (svcacct's fixture: a compose stack named
    // "stack"): Open WebUI on 127.0.0.1 with its login, Ollama and Qdrant
    // published nowhere.
    let inspect =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../svcacct/tests/fixtures/docker-inspect.json");
    let recs = audit(t.path(), &["--inspect", inspect.to_str().unwrap()]).records;
    let got = services(&recs);
    assert!(
        got.contains(&("stack-webui-1".into(), "required".into(), "loopback".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("stack-qdrant-1".into(), "none".into(), "containers".into())),
        "{got:?}"
    );
}
