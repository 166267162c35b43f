#!/usr/bin/env bash
# shellcheck disable=SC2016 # jq filters are single-quoted on purpose
# aistack's fixes judged by the real Docker Compose: Debian 12's
# docker-compose 1.29 (Compose v1), 13's 2.26 and testing's 2.40, each
# installed with its root's apt in a copy of the cached root. In each root,
# the demo's AI stack (Open WebUI with WEBUI_AUTH=False published on every
# address, Ollama on the host's network) and n8n's self-hosted AI starter
# kit (Ollama and Qdrant published on every address, from an x-ollama
# anchor) are put under /opt, and `aistack apply --root` runs: it must have
# the root's own docker-compose accept each changed file (in hardkit's
# sandbox) before writing it, and write what Compose then reads as ports on
# 127.0.0.1 and WEBUI_AUTH=True (`docker-compose config --format json` of
# 2.x, chrooted: the judge). A compose file Compose refuses (an env_file
# that does not exist) makes apply write nothing and exit 2.
#
# Then the packets: where Compose says the demo's Open WebUI is published,
# before and after the fix, a stand-in service listens in a network
# namespace of its own, and a second namespace, the internet, connects to
# it: reachable before, refused after, and still reachable through
# loopback (where a tunnel or proxy on the host reaches it).
#
# Needs root, debootstrap and the network to Debian's archive.
set -euo pipefail
# shellcheck source=scripts/tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $(id -u) -eq 0 ]] || not_run aistack "needs root (chroot, network namespaces)"
for p in debootstrap ip python3 jq; do
    command -v "$p" >/dev/null || not_run aistack "$p is not installed (scripts/test --install-oracles)"
done
build_tools

tmp=$(mktemp -d)
ns_host=hk-ai-host-$$
ns_out=hk-ai-out-$$
standin=""
cleanup() {
    [[ -n $standin ]] && kill "$standin" 2>/dev/null
    ip netns delete "$ns_host" 2>/dev/null || true
    ip netns delete "$ns_out" 2>/dev/null || true
    debian_base_cleanup
    rm -rf "$tmp"
}
trap cleanup EXIT

demo=$top/examples/compromised-agent-host
kit=$top/aistack/tests/fixtures/public/self-hosted-ai-starter-kit.docker-compose.yml

# compose_json ROOT FILE [ARGS]: the root's docker-compose's own reading of
# FILE (the kit's Ollama runs under `--profile cpu`).
compose_json() {
    in_chroot "$1" env HOME=/tmp docker-compose -f "$2" "${@:3}" config --format json 2>"$tmp/compose.err"
}

for suite in bookworm trixie forky; do
    r=$tmp/$suite
    debian_base "$suite" "$r" || { fail "$suite: no cached root"; continue; }
    if ! root_apt_install "$r" "$tmp/install.log" docker-compose; then
        fail "$suite: apt-get install docker-compose failed: $(tail -n3 "$tmp/install.log")"
        continue
    fi
    version=$(in_chroot "$r" dpkg-query -W -f '${Version}' docker-compose)
    install -d "$r/opt/ai" "$r/opt/kit" "$r/etc/cloudflared" "$r/root/.cloudflared"
    cp "$demo/opt/ai/docker-compose.yml" "$r/opt/ai/"
    cp "$demo/etc/cloudflared/config.yml" "$r/etc/cloudflared/"
    cp "$demo"/root/.cloudflared/*.json "$r/root/.cloudflared/"
    chmod 0644 "$r"/root/.cloudflared/*.json
    cp "$kit" "$r/opt/kit/docker-compose.yml"
    # Open WebUI's own file: Ollama, a back end that publishes nothing, on
    # the default network with Open WebUI.
    install -d "$r/opt/webui"
    cp "$top/aistack/tests/fixtures/public/open-webui.docker-compose.yaml" "$r/opt/webui/docker-compose.yaml"
    # The same file with its API overlay as the override Compose merges:
    # the overlay publishes Ollama on every address.
    install -d "$r/opt/webui-api"
    cp "$top/aistack/tests/fixtures/public/open-webui.docker-compose.yaml" "$r/opt/webui-api/docker-compose.yaml"
    cp "$top/aistack/tests/fixtures/public/open-webui.docker-compose.api.yaml" "$r/opt/webui-api/docker-compose.override.yaml"
    printf 'POSTGRES_USER=root\nPOSTGRES_PASSWORD=secret\nPOSTGRES_DB=n8n\nN8N_ENCRYPTION_KEY=k\nN8N_USER_MANAGEMENT_JWT_SECRET=s\n' >"$r/opt/kit/.env"
    chmod 0600 "$r/opt/kit/.env" # (a secret: the sandboxed compose gets a copy it can read)
    if [[ $suite != bookworm ]]; then
        compose_json "$r" /opt/ai/docker-compose.yml >"$tmp/before.json" ||
            fail "$suite: docker-compose $version config of the demo: $(head -c 300 "$tmp/compose.err")"
    fi

    # --check first: the plan, each compose file checked by the root's own
    # docker-compose (in the sandbox), nothing written.
    rc=0
    "$HARDKIT_BIN_DIR/aistack" apply --root "$r" --check >"$tmp/check.txt" 2>&1 || rc=$?
    expect_status 1 "$rc" "$suite: aistack apply --check (changes to make)"
    check "$suite: --check: the demo's file accepted by the root's docker-compose $version" \
        grep -qF "ok      validate /opt/ai/docker-compose.yml (/usr/bin/docker-compose config accepted it)" "$tmp/check.txt"
    if [[ $suite == bookworm ]]; then
        # Compose v1 does not read the kit (env_file with path: and
        # required: is newer): the change cannot be judged by it, and
        # says so.
        check "$suite: --check: docker-compose $version cannot read the kit as it is, and apply says it did not check it" \
            grep -qF "ok      validate /opt/kit/docker-compose.yml (NOT checked: /usr/bin/docker-compose refuses the file as it is, too:" "$tmp/check.txt"
    else
        check "$suite: --check: the kit accepted by the root's docker-compose $version" \
            grep -qF "ok      validate /opt/kit/docker-compose.yml (/usr/bin/docker-compose config accepted it)" "$tmp/check.txt"
    fi
    rc=0
    "$HARDKIT_BIN_DIR/aistack" apply --root "$r" --json >"$tmp/apply.jsonl" 2>"$tmp/apply.err" || rc=$?
    expect_status 0 "$rc" "$suite: aistack apply ($(head -c 300 "$tmp/apply.err"))"
    for f in /opt/ai/docker-compose.yml /opt/kit/docker-compose.yml; do
        check "$suite: $f written, validated, and its containers left to the caller to recreate" \
            jq_quiet -s -e --arg p "$f" '[.[] | select(.type == "action" and .path == $p) | .op] == ["write", "validate", "restart"]' "$tmp/apply.jsonl"
    done
    rc=0
    "$HARDKIT_BIN_DIR/aistack" apply --root "$r" >"$tmp/apply.txt" 2>&1 || rc=$?
    check "$suite: a second apply changes nothing" grep -q 'aistack: nothing to change in files' "$tmp/apply.txt"
    check "$suite: the credentials file is root's alone" [ "$(stat -c %a "$r"/root/.cloudflared/*.json)" == 400 ]

    if [[ $suite != bookworm ]]; then
        compose_json "$r" /opt/ai/docker-compose.yml >"$tmp/after.json" ||
            fail "$suite: docker-compose $version config of the fixed demo: $(head -c 300 "$tmp/compose.err")"
        check "$suite: docker-compose $version reads Open WebUI's port on 127.0.0.1 (got: $(jq -c '.services["open-webui"].ports' "$tmp/after.json"))" \
            jq_quiet -e '.services["open-webui"].ports == [{"mode":"ingress","host_ip":"127.0.0.1","target":8080,"published":"3000","protocol":"tcp"}]' "$tmp/after.json"
        check "$suite: ... and WEBUI_AUTH=True" jq_quiet -e '.services["open-webui"].environment.WEBUI_AUTH == "True"' "$tmp/after.json"
        check "$suite: ... and Ollama (host network) untouched: bound by hand" \
            jq_quiet -e '.services.ollama.network_mode == "host" and .services.ollama.environment.OLLAMA_HOST == "0.0.0.0"' "$tmp/after.json"
        compose_json "$r" /opt/kit/docker-compose.yml --profile cpu >"$tmp/kit.json" ||
            fail "$suite: docker-compose $version config of the fixed kit: $(head -c 300 "$tmp/compose.err")"
        check "$suite: the kit's Ollama and Qdrant (through the x-ollama anchor) on 127.0.0.1 (got: $(jq -c '[.services[] | select(.ports) | {(.image): [.ports[].host_ip]}]' "$tmp/kit.json"))" \
            jq_quiet -e '[.services["ollama-cpu"], .services.qdrant] | all(.ports | all(.host_ip == "127.0.0.1"))' "$tmp/kit.json"
        check "$suite: ... and n8n (a login of its own) still published for its users" \
            jq_quiet -e '.services.n8n.ports | all(.host_ip == null or .host_ip == "" or .host_ip == "0.0.0.0")' "$tmp/kit.json"
        compose_json "$r" /opt/webui-api/docker-compose.yaml -f /opt/webui-api/docker-compose.override.yaml >"$tmp/webui-api.json" ||
            fail "$suite: docker-compose $version config of the fixed override: $(head -c 300 "$tmp/compose.err")"
        check "$suite: docker-compose $version reads the override's Ollama port on 127.0.0.1 (got: $(jq -c '.services.ollama.ports' "$tmp/webui-api.json"))" \
            jq_quiet -e '.services.ollama.ports | length == 1 and all(.host_ip == "127.0.0.1")' "$tmp/webui-api.json"
        compose_json "$r" /opt/webui/docker-compose.yaml >"$tmp/webui.json" ||
            fail "$suite: docker-compose $version config of the fixed Open WebUI file: $(head -c 300 "$tmp/compose.err")"
        check "$suite: docker-compose $version reads Ollama on the internal network only, Open WebUI on both (got: $(jq -c '[.services.ollama.networks, .services["open-webui"].networks, .networks["ai-internal"].internal]' "$tmp/webui.json"))" \
            jq_quiet -e '(.services.ollama.networks | keys) == ["ai-internal"] and (.services["open-webui"].networks | keys) == ["ai-internal", "default"] and .networks["ai-internal"].internal == true' "$tmp/webui.json"
        [[ $suite == forky ]] && cp "$tmp/before.json" "$tmp/judge-before.json" && cp "$tmp/after.json" "$tmp/judge-after.json"
    fi

    # A file this docker-compose refuses as it is (an env_file that does
    # not exist): the change cannot be judged by it; apply says so and
    # writes it, as where no docker compose is installed.
    install -d "$r/opt/broken"
    printf 'services:\n  ollama:\n    image: ollama/ollama\n    env_file: missing.env\n    ports:\n      - "11434:11434"\n' >"$r/opt/broken/compose.yaml"
    rc=0
    "$HARDKIT_BIN_DIR/aistack" apply --root "$r" >"$tmp/broken.txt" 2>&1 || rc=$?
    expect_status 0 "$rc" "$suite: apply beside a file docker-compose $version refuses as it is"
    check "$suite: ... it says it could not check that file ($(grep broken "$tmp/broken.txt" | head -c 300))" \
        grep -q 'validate /opt/broken/compose.yaml (NOT checked: /usr/bin/docker-compose refuses the file as it is, too' "$tmp/broken.txt"
    rm -r "$r/opt/broken"
    # A docker compose that refuses the change (a stand-in that refuses any
    # file publishing on 127.0.0.1): nothing at all is written, exit 2.
    printf 'services:\n  qdrant:\n    image: qdrant/qdrant\n    ports:\n      - "6333:6333"\n' >"$r/opt/kit/docker-compose.yml"
    before=$(md5sum <"$r/opt/kit/docker-compose.yml")
    mv "$r/usr/bin/docker-compose" "$r/usr/bin/docker-compose.real"
    printf '#!/bin/sh\nif grep -q 127.0.0.1 "$2"; then echo "refusing loopback (a test stand-in)" >&2; exit 1; fi\nexit 0\n' >"$r/usr/bin/docker-compose"
    chmod 755 "$r/usr/bin/docker-compose"
    rc=0
    "$HARDKIT_BIN_DIR/aistack" apply --root "$r" >"$tmp/refused.txt" 2>&1 || rc=$?
    expect_status 2 "$rc" "$suite: apply when docker compose refuses the change"
    check "$suite: ... it names the file and says nothing was written ($(head -c 300 "$tmp/refused.txt"))" \
        grep -q '/opt/kit/docker-compose.yml: /usr/bin/docker-compose config refused the change: refusing loopback.*nothing was written' "$tmp/refused.txt"
    check "$suite: ... and the file is unchanged" [ "$(md5sum <"$r/opt/kit/docker-compose.yml")" == "$before" ]
    mv "$r/usr/bin/docker-compose.real" "$r/usr/bin/docker-compose"
done

# --- packets: where Compose publishes the demo's Open WebUI, before and after -------------
if [[ -s $tmp/judge-before.json && -s $tmp/judge-after.json ]]; then
    ip netns add "$ns_host"
    ip netns add "$ns_out"
    ip -n "$ns_host" link set lo up
    ip -n "$ns_out" link set lo up
    ip link add hkai0 netns "$ns_host" type veth peer name hkai1 netns "$ns_out"
    ip -n "$ns_host" addr add 10.98.0.1/24 dev hkai0
    ip -n "$ns_out" addr add 10.98.0.2/24 dev hkai1
    ip -n "$ns_host" link set hkai0 up
    ip -n "$ns_out" link set hkai1 up
    # probe NS ADDR PORT: open or refused
    probe() {
        if ip netns exec "$1" timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$2" "$3" 2>/dev/null; then echo open; else echo refused; fi
    }
    for when in before after; do
        addr=$(jq -r '.services["open-webui"].ports[0].host_ip // "" | if . == "" then "0.0.0.0" else . end' "$tmp/judge-$when.json")
        port=$(jq -r '.services["open-webui"].ports[0].published' "$tmp/judge-$when.json")
        # The stand-in: a listener where Docker would publish the port.
        ip netns exec "$ns_host" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(16)
while True:
    c, _ = s.accept(); c.close()' "$addr" "$port" &
        standin=$!
        for _ in $(seq 50); do
            [[ $(probe "$ns_host" 127.0.0.1 "$port") == open ]] && break
            sleep 0.1
        done
        outside=$(probe "$ns_out" 10.98.0.1 "$port")
        local_=$(probe "$ns_host" 127.0.0.1 "$port")
        if [[ $when == before ]]; then
            check "packets: before the fix, Compose publishes Open WebUI on $addr:$port and the internet reaches it (got: $outside)" [ "$outside" == open ]
        else
            check "packets: after the fix, on $addr:$port: the internet is refused (got: $outside)" [ "$outside" == refused ]
            check "packets: ... and this machine (a tunnel, a proxy) still reaches it on loopback (got: $local_)" [ "$local_" == open ]
        fi
        kill "$standin" 2>/dev/null
        wait "$standin" 2>/dev/null || true
        standin=""
    done
else
    fail "packets: no docker-compose reading of the demo from Debian testing to take the addresses from"
fi

finish aistack
