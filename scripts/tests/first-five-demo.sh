#!/usr/bin/env bash
# shellcheck disable=SC2016 # jq filters are single-quoted on purpose
# scripts/first-five --demo: every section fails with the expected finding
# ids, in the human checklist and in the --json stream. Runs without root.
set -euo pipefail
# shellcheck source=scripts/tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v jq >/dev/null || { echo "first-five-demo: jq is needed (apt-get install jq)" >&2; exit 1; }
build_tools
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rc=0
"$top/scripts/first-five" --demo --json >"$tmp/demo.jsonl" 2>"$tmp/demo.err" || rc=$?
expect_status 1 "$rc" "first-five --demo --json"
expect_jsonl "$tmp/demo.jsonl" "first-five --demo --json"
expect_ids "$tmp/demo.jsonl" "SSH" sshd/permit-root-login sshd/password-authentication sshd/shadowed-setting
expect_ids "$tmp/demo.jsonl" "brute force" jailgen/sshd-port-mismatch
expect_ids "$tmp/demo.jsonl" "firewall" fwplan/no-firewall
expect_ids "$tmp/demo.jsonl" "service" svcacct/runs-as-root svcacct/sudo-all svcacct/secret-in-environment
expect_ids "$tmp/demo.jsonl" "monitoring" first-five/no-fim-baseline logscan/brute-force-success logscan/root-login
# No baseline: the packages' files are checked against dpkg's records
# instead, and the intruder's start-stop-daemon shows (issue 19).
check "monitoring: the replaced start-stop-daemon, a high fim/package-file-changed" \
    has "$tmp/demo.jsonl" '.type == "finding" and .id == "fim/package-file-changed" and .severity == "high" and .location.path == "/usr/sbin/start-stop-daemon"'
# The listeners the firewall section is about: sshd's 2222 and the agent's
# 8000 on all interfaces.
for port in 2222 8000; do
    if has "$tmp/demo.jsonl" --argjson p "$port" '.type == "socket" and .port == $p and .exposure == "all"'; then
        ok "firewall: listener $port on all interfaces"
    else
        fail "firewall: no socket record for $port on all interfaces"
    fi
done
# The firewall advice followed literally (issue 14 item 4) keeps the demo's
# sshd port (2222) open: its apply as a render of the same policy, with
# sshd-lint reading the demo.
advice=$(jq -r 'select(.id == "fwplan/no-firewall") | .fix' "$tmp/demo.jsonl")
advice=${advice%%  (*}
advice=${advice/sshd-lint --json/$HARDKIT_BIN_DIR/sshd-lint --root $top/examples/compromised-agent-host --json}
advice=${advice/fwplan apply --backend nft --confirm 60s/$HARDKIT_BIN_DIR/fwplan render --backend nft}
bash -c "$advice" >"$tmp/advice.nft" 2>&1 || true
check "the firewall advice admits sshd's port 2222 (advice: $advice)" grep -q 'tcp dport 2222 accept' "$tmp/advice.nft"
# A keyed fim baseline (issue 14 item 12): --fim-key FILE checks it (the
# key off the tree); without a key the section says the baseline is not
# protected.
cp -a "$top/examples/compromised-agent-host" "$tmp/keyed"
(umask 077 && head -c 32 /dev/urandom >"$tmp/fim.key")
"$HARDKIT_BIN_DIR/fim" init --root "$tmp/keyed" --key "$tmp/fim.key" -q >/dev/null
rc=0
"$top/scripts/first-five" --root "$tmp/keyed" --json --fim-key "$tmp/fim.key" >"$tmp/keyed.jsonl" 2>"$tmp/keyed.err" || rc=$?
check "first-five --fim-key: the keyed baseline is checked (got: $(jq -c 'select(.type == "error")' "$tmp/keyed.jsonl" 2>/dev/null | head -c 300)$(head -c 200 "$tmp/keyed.err"))" \
    jq_quiet -s -e 'any(.[]; .type == "first_five_section" and .section == "monitoring") and all(.[]; .type != "error")' "$tmp/keyed.jsonl"
cp -a "$top/examples/compromised-agent-host" "$tmp/unkeyed"
"$HARDKIT_BIN_DIR/fim" init --root "$tmp/unkeyed" -q >/dev/null 2>&1
"$top/scripts/first-five" --root "$tmp/unkeyed" >"$tmp/unkeyed.txt" 2>&1 || true
check "without --fim-key the checklist says the baseline is not protected" grep -q 'not protected by a key' "$tmp/unkeyed.txt"
marks=$(jq -r 'select(.type == "first_five_section") | "\(.section)=\(.mark)"' "$tmp/demo.jsonl" | tr '\n' ' ')
if [[ $marks == "ssh=FAIL brute-force=FAIL firewall=FAIL service=FAIL monitoring=FAIL updates=FAIL ai-stack=FAIL " ]]; then
    ok "every section FAIL"
else
    fail "section marks: $marks"
fi
if has "$tmp/demo.jsonl" '.type == "error"'; then
    fail "error records in the demo stream: $(jq -c 'select(.type == "error")' "$tmp/demo.jsonl")"
fi
# first-five's own records have their own type names (one name, one shape):
# only the shared finding and error, and first_five_*.
types=$(jq -r 'select(.tool == "first-five") | .type' "$tmp/demo.jsonl" | sort -u | tr '\n' ' ')
check "first-five's record types (got: $types)" [ "$types" == "finding first_five_note first_five_section first_five_verdict " ]
check "the stream ends with the verdict" jq_quiet -s -e '.[-1] | .type == "first_five_verdict" and .verdict == "FAIL" and .exit == 1 and .fail_on == "high"' "$tmp/demo.jsonl"
tools=$(jq -r '.tool' "$tmp/demo.jsonl" | sort -u | tr '\n' ' ')
# auditd's log of an agent (svcacct's audit rules): section 5 reads it.
cp -a "$top/examples/compromised-agent-host" "$tmp/audited"
mkdir -p "$tmp/audited/var/log/audit"
now_s=$(date +%s)
printf 'type=SYSCALL msg=audit(%s.100:901): arch=c000003e syscall=59 success=yes exit=0 uid=999 comm="bash" exe="/usr/bin/bash" key="hardkit-agent-exec"\ntype=EXECVE msg=audit(%s.100:901): argc=3 a0="bash" a1="-c" a2=6964\ntype=PROCTITLE msg=audit(%s.100:901): proctitle=6964\n' \
    "$now_s" "$now_s" "$now_s" >"$tmp/audited/var/log/audit/audit.log"
"$top/scripts/first-five" --root "$tmp/audited" --json >"$tmp/audited.jsonl" 2>&1 || true
check "section 5 reads auditd's log: the agent ran a shell" \
    has "$tmp/audited.jsonl" '.type == "finding" and .id == "logscan/agent-shell" and .location.path == "/var/log/audit/audit.log"'
expect_ids "$tmp/demo.jsonl" "the demo's audit trail (Debian 12's auditd)" logscan/agent-download logscan/agent-shell logscan/agent-system-write
check "the demo's audit trail: the refused cron job under /etc/cron.d" \
    has "$tmp/demo.jsonl" '.type == "agent_write" and .account == "agent" and .success == false and .paths == ["/etc/cron.d/"]'
expect_ids "$tmp/demo.jsonl" "the demo's AI stack" aistack/no-auth-exposed aistack/tunnel-no-access aistack/tunnel-credentials
check "the demo's AI stack: Open WebUI with WEBUI_AUTH=False published past ufw, critical, at the line that switches the login off" \
    has "$tmp/demo.jsonl" '.type == "finding" and .id == "aistack/no-auth-exposed" and .severity == "critical" and .evidence.service == "open-webui" and .location.path == "/opt/ai/docker-compose.yml" and .location.line == 22'
check "the demo's AI stack: Ollama on the host's network, 0.0.0.0:11434" \
    has "$tmp/demo.jsonl" '.type == "ai_service" and .name == "ollama" and .auth == "none" and .listeners[0].address == "0.0.0.0" and .listeners[0].port == 11434'
expect_ids "$tmp/demo.jsonl" "the demo's containers" svcacct/container-privileged svcacct/container-docker-socket svcacct/container-host-network
rc=0
"$top/scripts/first-five" --demo --json --docker-inspect "$top/svcacct/tests/fixtures/docker-inspect.json" >"$tmp/inspect.jsonl" 2>&1 || rc=$?
check "first-five --docker-inspect: the stack's qdrant on a network that reaches outside" \
    has "$tmp/inspect.jsonl" '.type == "finding" and .id == "svcacct/container-ai-network" and .evidence.container == "stack-qdrant-1"'
check "records of every tool (got: $tools)" [ "$tools" == "aistack fim first-five fwplan jailgen logscan secupdates sshd-lint svcacct " ]

# The human checklist: six FAIL marks, the fixes, the verdict.
rc=0
"$top/scripts/first-five" --demo >"$tmp/demo.txt" 2>&1 || rc=$?
expect_status 1 "$rc" "first-five --demo"
n=$(grep -c '^\[FAIL\] ' "$tmp/demo.txt" || true)
check "checklist: 7 sections FAIL (got $n)" [ "$n" == 7 ]
check "checklist shows the fix lines" grep -q 'fix: PermitRootLogin no' "$tmp/demo.txt"
check "FAIL verdict line" grep -q '^Verdict: FAIL' "$tmp/demo.txt"
# The listener table of section 3 has a header whose columns line up with
# fwplan's rows: the exposure word and the process start under their names.
head_line=$(grep -B1 -m1 -E '^    tcp +2222 ' "$tmp/demo.txt" | head -n1)
row=$(grep -m1 -E '^    tcp +8000 ' "$tmp/demo.txt")
check "listener table header (got: '$head_line')" grep -qE '^    proto +port +address +exposure +process' <<<"$head_line"
col() { awk -v w="$2" '{ print index($0, w) }' <<<"$1"; }
cols="$(col "$head_line" exposure) $(col "$head_line" process)"
check "the columns line up (header at $cols)" [ "$cols" == "$(($(col "$row" ' all ') + 1)) $(col "$row" '?')" ]
check "what the exposure words mean" grep -q '^    (exposure: all = every interface' "$tmp/demo.txt"

# --fail-on critical: still failing (brute force that succeeded, sudo ALL).
rc=0
"$top/scripts/first-five" --demo --fail-on critical >/dev/null 2>&1 || rc=$?
expect_status 1 "$rc" "first-five --demo --fail-on critical"

# --apply never runs on the example tree itself.
rc=0
"$top/scripts/first-five" --demo --apply --yes >/dev/null 2>"$tmp/demo-apply.err" || rc=$?
expect_status 2 "$rc" "first-five --demo --apply (refused)"
check "the refusal says to copy the demo" grep -q 'copy it' "$tmp/demo-apply.err"

# An empty root: no sshd (nothing to judge), no baseline, no firewall.
mkdir "$tmp/empty"
rc=0
"$top/scripts/first-five" --root "$tmp/empty" --json >"$tmp/empty.jsonl" 2>&1 || rc=$?
expect_status 1 "$rc" "first-five --root EMPTY --json"
expect_jsonl "$tmp/empty.jsonl" "first-five --root EMPTY"
expect_ids "$tmp/empty.jsonl" "empty root" fwplan/no-firewall first-five/no-fim-baseline

# Without --service: every enabled service and every unit installed in
# /etc/systemd/system, not template instances or masked units.
cp -a "$top/examples/compromised-agent-host" "$tmp/units"
u=$tmp/units
install -d "$u/lib/systemd/system" "$u/etc/systemd/system/multi-user.target.wants" "$u/etc/systemd/system/getty.target.wants"
printf '[Service]\nExecStart=/usr/sbin/nginx\nUser=www-data\n\n[Install]\nWantedBy=multi-user.target\n' >"$u/lib/systemd/system/web.service"
printf '[Service]\nExecStart=/usr/bin/idle\n' >"$u/lib/systemd/system/idle.service"
printf '[Service]\nExecStart=-/sbin/agetty %%I\n' >"$u/lib/systemd/system/getty@.service"
ln -s /lib/systemd/system/web.service "$u/etc/systemd/system/multi-user.target.wants/web.service"
ln -s /lib/systemd/system/getty@.service "$u/etc/systemd/system/getty.target.wants/getty@tty1.service"
ln -s /dev/null "$u/etc/systemd/system/idle.service"
"$top/scripts/first-five" --root "$u" --json >"$tmp/units.jsonl" 2>&1 || true
audited=$(jq -r 'select(.type == "exposure") | .unit' "$tmp/units.jsonl" | sort | tr '\n' ' ')
check "default services: the enabled and the installed ones (got: $audited)" [ "$audited" == "agent.service web.service " ]

# A service with an UNSAFE exposure does not PASS: web (the distribution's
# unit, enabled, not root) is medium, so WARN at the default --fail-on high
# and FAIL with --fail-on medium; own (installed by the operator) is high.
w=$tmp/unsafe
install -d "$w/lib/systemd/system" "$w/etc/systemd/system/multi-user.target.wants"
printf '[Service]\nExecStart=/usr/sbin/nginx\nUser=www-data\n\n[Install]\nWantedBy=multi-user.target\n' >"$w/lib/systemd/system/web.service"
ln -s /lib/systemd/system/web.service "$w/etc/systemd/system/multi-user.target.wants/web.service"
rc=0
"$top/scripts/first-five" --root "$w" --service web >"$tmp/unsafe.txt" 2>&1 || rc=$?
check "an UNSAFE service: [WARN] 4. Service account (got: $(grep '4. Service' "$tmp/unsafe.txt"))" grep -q '^\[WARN\] 4. Service account' "$tmp/unsafe.txt"
rc=0
"$top/scripts/first-five" --root "$w" --service web --json >"$tmp/unsafe.jsonl" 2>&1 || rc=$?
check "an UNSAFE enabled service: a medium first-five/unsafe-exposure finding" \
    has "$tmp/unsafe.jsonl" '.type == "finding" and .id == "first-five/unsafe-exposure" and .severity == "medium" and (.title | test("^web.service: exposure [0-9.]+ UNSAFE"))'
check "service section WARN in --json" has "$tmp/unsafe.jsonl" '.type == "first_five_section" and .section == "service" and .mark == "WARN"'
rc=0
"$top/scripts/first-five" --root "$w" --service web --fail-on medium --json >"$tmp/unsafe-m.jsonl" 2>&1 || rc=$?
expect_status 1 "$rc" "first-five --fail-on medium with an UNSAFE service"
check "service section FAIL with --fail-on medium" has "$tmp/unsafe-m.jsonl" '.type == "first_five_section" and .section == "service" and .mark == "FAIL"'
printf '[Service]\nExecStart=/opt/own/bin/own\nUser=nobody\n' >"$w/etc/systemd/system/own.service"
rc=0
"$top/scripts/first-five" --root "$w" --service own --json >"$tmp/own.jsonl" 2>&1 || rc=$?
check "an UNSAFE unit the operator installed is high" \
    has "$tmp/own.jsonl" '.type == "finding" and .id == "first-five/unsafe-exposure" and .severity == "high" and (.title | startswith("own.service"))'
check "... and its section FAILs" has "$tmp/own.jsonl" '.type == "first_five_section" and .section == "service" and .mark == "FAIL"'

# The demo tree enables no ssh unit: sshd is not started at boot.
check "the demo's sshd is not started at boot" has "$tmp/demo.jsonl" '.type == "finding" and .id == "first-five/sshd-not-enabled" and .severity == "low"'
check "... said at the top of section 1" bash -c 'grep -A1 "^\[FAIL\] 1. SSH" "$1" | grep -q "^    sshd is not started at boot in .*: no ssh unit is enabled"' _ "$tmp/demo.txt"

# The monitoring section says which auth log it read, and that it was empty.
check "the demo's auth log is named" has "$tmp/demo.jsonl" '.type == "first_five_note" and .part == "logs" and .message == "auth log: /var/log/auth.log (all of it)"'
# The permissions inventory (issue 19): the demo's unpackaged set-uid
# root shell is critical. git keeps no set-uid bit: --demo audits a copy
# with examples/compromised-agent-host.modes applied, and names the example.
check "--demo: the unpackaged set-uid file is a critical finding of section 5" \
    has "$tmp/demo.jsonl" '.type == "finding" and .id == "fim/setuid-unpackaged" and .severity == "critical" and .location.path == "/usr/local/bin/.sysupd"'
check "--demo: the report names the example, not the copy" \
    bash -c '! grep -q "/demo\b" "$1" && grep -q "systemctl --root $2 enable nftables" "$1"' _ "$tmp/demo.txt" "$top/examples/compromised-agent-host"
check "--demo left the checkout's example as git has it (no set-uid bit)" \
    bash -c '[[ $(stat -c %a "$1") == 755 ]]' _ "$top/examples/compromised-agent-host/usr/local/bin/.sysupd"
# A first audit (no fim baseline, no --since) reads all the history: the
# demo's 13-day-old break-in is found without --demo (issue 19); once a
# baseline exists the default window is 24 hours again.
cp -a "$top/examples/compromised-agent-host" "$tmp/first"
"$top/scripts/first-five" --root "$tmp/first" --json >"$tmp/first.jsonl" 2>&1 || true
check "a first audit finds the old break-in" has "$tmp/first.jsonl" '.type == "finding" and .id == "logscan/brute-force-success"'
check "... and says it read all of it" has "$tmp/first.jsonl" '.type == "first_five_note" and .part == "logs" and (.message | test("all of it, a first audit"))'
mkdir -p "$tmp/first/var/lib/hardkit"
: >"$tmp/first/var/lib/hardkit/fim.db"
"$top/scripts/first-five" --root "$tmp/first" --json >"$tmp/later.jsonl" 2>&1 || true
check "with a baseline, the default 24 hours miss it" bash -c '! jq -e "select(.id == \"logscan/brute-force-success\")" "$1" >/dev/null' _ "$tmp/later.jsonl"
cp -a "$top/examples/compromised-agent-host" "$tmp/emptylog"
: >"$tmp/emptylog/var/log/auth.log"
"$top/scripts/first-five" --root "$tmp/emptylog" >"$tmp/emptylog.txt" 2>&1 || true
check "an empty auth.log is said to be empty (got: $(grep 'auth log' "$tmp/emptylog.txt"))" \
    grep -qx '    auth log: /var/log/auth.log (all of it, a first audit with no fim baseline yet): empty (nothing was logged there)' "$tmp/emptylog.txt"

# Progress on a terminal: a [N/7] line per section on stderr, never in a
# pipe, never with --json (script(1) gives first-five a terminal).
script -qec "$(printf '%q ' "$top/scripts/first-five" --demo)" /dev/null >"$tmp/tty.txt" 2>&1 || true
check "on a terminal: [N/7] progress for each section" bash -c 'for n in 1 2 3 4 5 6 7; do grep -q "\[$n/7\] " "$1" || exit 1; done' _ "$tmp/tty.txt"
check "on a terminal: the checklist still follows" grep -q '^\[FAIL\] 5. Monitoring' "$tmp/tty.txt"
check "no progress in a pipe" bash -c '! grep -q "\[1/6\]" "$1"' _ "$tmp/demo.txt"
script -qec "$(printf '%q ' "$top/scripts/first-five" --demo --json)" /dev/null >"$tmp/tty.jsonl" 2>&1 || true
check "no progress with --json, even on a terminal" bash -c '! grep -q "\[1/5\]" "$1" && grep -q "first_five_verdict" "$1"' _ "$tmp/tty.jsonl"

# The first run builds the tools: cargo's progress is shown, not hidden
# behind one line (a stand-in cargo that, like cargo, is silent with
# --quiet).
fake=$tmp/fake
mkdir -p "$fake/bin"
cat >"$fake/bin/cargo" <<'EOF'
#!/bin/sh
case " $* " in *" --quiet "*) ;; *) echo "   Compiling hardkit-core v0.1.0 (stand-in cargo: $*)" >&2 ;; esac
mkdir -p "$CARGO_TARGET_DIR/release"
for t in sshd-lint jailgen fwplan svcacct fim logscan hardkit-write; do
    printf '#!/bin/sh\n' >"$CARGO_TARGET_DIR/release/$t"
    chmod +x "$CARGO_TARGET_DIR/release/$t"
done
EOF
chmod +x "$fake/bin/cargo"
env -u HARDKIT_BIN_DIR CARGO_TARGET_DIR="$fake/target" PATH="$fake/bin:/usr/bin:/bin" \
    bash -c '. "$1/scripts/lib/tools.sh" && hardkit_find_tools' _ "$top" >"$tmp/build.out" 2>"$tmp/build.err" || true
check "the first run's build shows cargo's progress (got: $(tr '\n' ' ' <"$tmp/build.err"))" \
    grep -q '^   Compiling hardkit-core v0.1.0 (stand-in cargo: build --release)$' "$tmp/build.err"
check "... on stderr, nothing on stdout" [ ! -s "$tmp/build.out" ]

# Usage errors exit 2 and name the flag.
rc=0
"$top/scripts/first-five" --fail-on severe >/dev/null 2>"$tmp/usage.err" || rc=$?
expect_status 2 "$rc" "first-five --fail-on severe"
check "usage error names --fail-on" grep -q -- '--fail-on' "$tmp/usage.err"

# --plan on the demo: every file of the fix under DIR/files, action records
# in plan.jsonl, the demo tree untouched. (The plan runs useradd --root on
# its scratch copy, so it needs root.)
if ((EUID == 0)); then
    demo=$top/examples/compromised-agent-host
    fingerprint() { find "$demo" -printf '%p %s %m %T@\n' | sort | sha256sum; }
    before=$(fingerprint)
    rc=0
    "$top/scripts/first-five" --demo --plan "$tmp/plan" --service agent --listen 8000 --open 443/tcp --open 8000@10.0.0.0/8 --admin-net 198.51.100.0/24 >"$tmp/plan.out" 2>"$tmp/plan.err" || rc=$?
    expect_status 0 "$rc" "first-five --demo --plan"
    [[ $rc == 0 ]] || cat "$tmp/plan.err" >&2
    for f in /etc/ssh/sshd_config.d/00-hardkit.conf /etc/fail2ban/jail.d/hardkit.local /etc/nftables.conf \
        /etc/systemd/system/agent.service /etc/sudoers.d/agent /etc/hardkit/agent.env /etc/logrotate.d/agent \
        /etc/sysusers.d/agent.conf /etc/tmpfiles.d/agent.conf /etc/hardkit/fim.conf \
        /etc/passwd /etc/group /etc/shadow; do
        check "plan has $f" [ -s "$tmp/plan/files$f" ]
    done
    # svcacct takes the agent's login shell and its docker group: the
    # account files are part of the plan, with their diffs.
    check "plan: /etc/passwd gives agent no login shell" grep -q '^agent:.*:/usr/sbin/nologin$' "$tmp/plan/files/etc/passwd"
    check "plan: /etc/group takes agent out of docker" bash -c '! grep -qE "^docker:.*\bagent\b" "$1"' _ "$tmp/plan/files/etc/group"
    check "plan.diff: the passwd change" grep -qx '+agent:x:999:999:AI agent:/opt/agent:/usr/sbin/nologin' "$tmp/plan/plan.diff"
    nfiles=$(cd "$tmp/plan/files" && find . -type f | wc -l)
    check "plan.diff: one diff per file under files/ ($nfiles)" [ "$(grep -c '^+++ .* (planned)$' "$tmp/plan/plan.diff")" == "$nfiles" ]
    check "plan.diff: no password hash of /etc/shadow" bash -c '! grep -qE "^[-+ ][^:]*:\\$" "$1"' _ "$tmp/plan/plan.diff"
    check "the plan report shows the diffs" grep -q '^+++ /etc/ssh/sshd_config.d/00-hardkit.conf (planned)$' "$tmp/plan.out"
    check "plan.jsonl: one plan_file record with its diff per file" \
        [ "$(jq -s '[.[] | select(.type == "plan_file" and (.diff | startswith("--- ")))] | length' "$tmp/plan/plan.jsonl")" == "$nfiles" ]
    # Each diff turns the demo's file into the planned one (patch is the judge).
    bad=""
    while IFS= read -r f; do
        [[ $f == /etc/shadow ]] && continue
        if [[ -f $demo$f ]]; then cp "$demo$f" "$tmp/patched"; else : >"$tmp/patched"; fi
        jq -r --arg p "$f" 'select(.type == "plan_file" and .path == $p) | .diff' "$tmp/plan/plan.jsonl" |
            patch -s "$tmp/patched" >/dev/null 2>&1 && cmp -s "$tmp/patched" "$tmp/plan/files$f" || bad+=" $f"
    done < <(cd "$tmp/plan/files" && find . -type f | sed 's|^\.||')
    check "every diff of plan.jsonl patches the demo's file into the planned one (wrong:${bad:- none})" [ -z "$bad" ]
    check "plan: PermitRootLogin no in the drop-in" grep -qx 'PermitRootLogin no' "$tmp/plan/files/etc/ssh/sshd_config.d/00-hardkit.conf"
    check "plan: the jail watches 2222" grep -qx 'port = 2222' "$tmp/plan/files/etc/fail2ban/jail.d/hardkit.local"
    check "plan: ssh only from the admin network" grep -q 'ip saddr 198.51.100.0/24 tcp dport 2222 accept' "$tmp/plan/files/etc/nftables.conf"
    check "plan: --open 8000@10.0.0.0/8 is tcp from that network" grep -q 'ip saddr 10.0.0.0/8 tcp dport 8000 accept' "$tmp/plan/files/etc/nftables.conf"
    check "plan: the unit runs as agent" grep -qx 'User=agent' "$tmp/plan/files/etc/systemd/system/agent.service"
    check "plan: fim watches the admin's keys" grep -qE '^/home/admin/\.ssh +all' "$tmp/plan/files/etc/hardkit/fim.conf"
    check "plan: fim watches root's keys and the crontabs" bash -c 'grep -qE "^/root/\.ssh +all" "$1" && grep -qE "^/var/spool/cron +all" "$1"' _ "$tmp/plan/files/etc/hardkit/fim.conf"
    # The demo's /etc/fail2ban has no fail2ban.conf: the jail is not
    # validated, and the plan says why with fail2ban's whole answer.
    jail_why=$(jq -r 'select(.step == "jail" and .op == "validate") | .detail' "$tmp/plan/plan.jsonl")
    check "plan: the jail is NOT validated because fail2ban is not installed (got: $jail_why)" \
        grep -q 'NOT validated: fail2ban is not installed under .*no /etc/fail2ban/fail2ban.conf' <<<"$jail_why"
    check "plan: fail2ban's whole answer, not its first line (got: $jail_why)" \
        grep -qF "No section: 'Definition' (12 times); Found no accessible config files for 'action.d/nftables-multiport' under /etc/fail2ban; Unable to read action 'nftables-multiport'; Errors in jail 'sshd'." <<<"$jail_why"
    check "plan report: the reason is not cut off at the colon" bash -c '! grep -q "nothing written:)" "$1"' _ "$tmp/plan.err"
    # The planned files over a copy of the demo: sshd-lint has nothing to
    # say about the fix's own drop-in (no line of it to change or remove,
    # no line elsewhere that it shadows).
    cp -a "$demo" "$tmp/planned"
    cp -a "$tmp/plan/files/." "$tmp/planned/"
    "$HARDKIT_BIN_DIR/sshd-lint" --root "$tmp/planned" --json >"$tmp/planned-lint.jsonl" 2>&1 || true
    check "sshd-lint of the planned files: no finding about 00-hardkit.conf (got: $(jq -c 'select(.type == "finding" and ((.fix // "") + (.location.path // "") | test("00-hardkit"))) | [.id, .fix]' "$tmp/planned-lint.jsonl" | tr '\n' ' '))" \
        bash -c '! jq -e -s "any(.[]; .type == \"finding\" and ((.fix // \"\") + (.location.path // \"\") | test(\"00-hardkit\")))" "$1" >/dev/null' _ "$tmp/planned-lint.jsonl"
    check "sshd-lint of the planned files: no shadowed line" bash -c '! grep -q "sshd/shadowed-setting" "$1"' _ "$tmp/planned-lint.jsonl"
    expect_jsonl "$tmp/plan/plan.jsonl" "plan.jsonl"
    check "plan.jsonl: action records, then plan_file records" \
        jq_quiet -s -e '(map(.type) | . == (map(select(. == "plan_step")) + map(select(. == "plan_file"))))' "$tmp/plan/plan.jsonl"
    check "plan.jsonl: every plan_step has one shape" jq_quiet -s -e '
        all(.[] | select(.type == "plan_step");
            .tool == "first-five" and (.step | type) == "string" and (.by | IN("first-five", "svcacct", "jailgen", "fwplan", "secupdates", "aistack"))
            and (.op | type) == "string" and (.path | type) == "string" and (.changed | type) == "boolean"
            and (keys - ["type", "tool", "step", "by", "op", "path", "changed", "detail", "diff"] == []))' "$tmp/plan/plan.jsonl"
    check "plan.jsonl: the AI stack's fix: the compose file's diff binds Open WebUI to 127.0.0.1 and switches its login back on" \
        has "$tmp/plan/plan.jsonl" '.type == "plan_step" and .by == "aistack" and .op == "write" and .path == "/opt/ai/docker-compose.yml" and (.diff | contains("+      - \"127.0.0.1:3000:8080\"") and contains("+      - WEBUI_AUTH=True"))'
    check "plan.jsonl: ... the tunnel's credentials made root's alone, and no container recreated in a tree" \
        bash -c 'jq -e -s "any(.[]; .by == \"aistack\" and .op == \"chmod\") and any(.[]; .step == \"stack\" and .op == \"restart\" and .changed == false)" "$1" >/dev/null' _ "$tmp/plan/plan.jsonl"
    check "plan.jsonl: svcacct's steps keep its name and its mode and owner" \
        has "$tmp/plan/plan.jsonl" '.type == "plan_step" and .by == "svcacct" and .path == "/etc/sudoers.d/agent" and (.detail | test("mode 0440"))'
    check "plan.jsonl: the fim baseline comes last" [ "$(jq -r 'select(.step) | .step' "$tmp/plan/plan.jsonl" | tail -n1)" == fim ]
    # ... and is not taken over the demo's replaced start-stop-daemon: a
    # first baseline starts from a verified state (issue 19).
    check "plan.jsonl: no baseline over packaged files that differ from dpkg's records" \
        has "$tmp/plan/plan.jsonl" '.step == "fim" and .changed == false and (.detail | test("^not taken: 1 packaged files differ"))'

    check "the demo tree is unchanged by --plan" [ "$(fingerprint)" == "$before" ]

    # --egress (issue 17): the demo's agent can reach any host (a finding);
    # the plan confines it in its unit, and the planned tree has no finding.
    check "the demo's agent: svcacct/egress-unrestricted" \
        has "$tmp/demo.jsonl" '.type == "finding" and .id == "svcacct/egress-unrestricted"'
    rc=0
    "$top/scripts/first-five" --demo --plan "$tmp/egress-plan" --service agent --egress 203.0.113.0/24:443/tcp --egress 198.51.100.53/32 >/dev/null 2>"$tmp/egress.err" || rc=$?
    expect_status 0 "$rc" "first-five --demo --plan --service agent --egress 203.0.113.0/24:443/tcp --egress 198.51.100.53/32 ($(head -c 300 "$tmp/egress.err"))"
    check "the planned unit allows loopback and the two networks only" \
        bash -c 'grep -qx "IPAddressDeny=any" "$1" && grep -qx "IPAddressAllow=localhost 203.0.113.0/24 198.51.100.53/32" "$1"' _ "$tmp/egress-plan/files/etc/systemd/system/agent.service"
    agent_uid=$(awk -F: '$1 == "agent" { print $3 }' "$tmp/egress-plan/files/etc/passwd" 2>/dev/null || awk -F: '$1 == "agent" { print $3 }' "$top/examples/compromised-agent-host/etc/passwd")
    check "the planned nftables.conf: the agent's port 443 to 203.0.113.0/24, and nothing else it sends (uid $agent_uid)" \
        bash -c 'grep -q "^table inet hardkit_egress {" "$1" && grep -q "meta skuid $2 ip daddr 203.0.113.0/24 tcp dport 443 accept" "$1" &&
            grep -q "meta skuid $2 counter reject with icmpx type admin-prohibited" "$1" && [ "$(grep -c "^# BEGIN hardkit" "$1")" == 2 ]' _ "$tmp/egress-plan/files/etc/nftables.conf" "$agent_uid"
    cp -a "$top/examples/compromised-agent-host" "$tmp/egress-tree"
    cp -a "$tmp/egress-plan/files/." "$tmp/egress-tree/"
    "$HARDKIT_BIN_DIR/svcacct" audit --root "$tmp/egress-tree" --json agent >"$tmp/egress-audit.jsonl" 2>&1 || true
    check "the planned tree: no egress finding" \
        jq_quiet -s -e 'any(.[]; .type == "exposure") and all(.[]; .id != "svcacct/egress-unrestricted")' "$tmp/egress-audit.jsonl"
    rc=0
    "$top/scripts/first-five" --demo --plan "$tmp/egress-bad" --egress 203.0.113.0/24 >/dev/null 2>"$tmp/egress-bad.err" || rc=$?
    expect_status 2 "$rc" "first-five --plan --egress without --service"
    check "... says --egress needs --service" grep -q -- '--egress needs --service' "$tmp/egress-bad.err"

    # The plan directory (issue 14 item 1): root writes the plan there, so
    # a directory another user made (or a link planted as it) is refused,
    # and a fresh one is root's alone, like the planned secrets in it.
    check "plan directory: created mode 0700" [ "$(stat -c %a "$tmp/plan")" == 700 ]
    check "plan: agent.env (the API key) is 0600" [ "$(stat -c %a "$tmp/plan/files/etc/hardkit/agent.env")" == 600 ]
    check "plan.diff and plan.jsonl (the key's diff) are root's alone" \
        [ "$(stat -c %a "$tmp/plan/plan.diff") $(stat -c %a "$tmp/plan/plan.jsonl")" == "600 600" ]
    chmod 0711 "$tmp"
    mkdir -m 1777 "$tmp/pub"
    setpriv --reuid=4242 --regid=4242 --clear-groups mkdir "$tmp/pub/plan"
    setpriv --reuid=4242 --regid=4242 --clear-groups ln -s /etc "$tmp/pub/link"
    for d in plan link; do
        rc=0
        "$top/scripts/first-five" --demo --plan "$tmp/pub/$d" --service agent >/dev/null 2>"$tmp/pub-$d.err" || rc=$?
        expect_status 2 "$rc" "first-five --plan into a $d another user made"
    done
    check "the refusal names the other owner" grep -q 'owned by uid 4242' "$tmp/pub-plan.err"
    check "nothing written into the user's directory" [ -z "$(ls -A "$tmp/pub/plan")" ]
    check "nothing written through the planted link" [ ! -e /etc/files ] && [ ! -e /etc/plan.jsonl ]
    setpriv --reuid=4242 --regid=4242 --clear-groups mkdir -m 0755 "$tmp/pub/sub"
    mkdir "$tmp/pub/sub/plan" 2>/dev/null || true
    rc=0
    "$top/scripts/first-five" --demo --plan "$tmp/pub/sub/plan" --service agent >/dev/null 2>"$tmp/pub-sub.err" || rc=$?
    expect_status 2 "$rc" "first-five --plan under a directory another user owns"
    chmod 0700 "$tmp"

    # The scratch copy takes only what it needs of the users' ~/.ssh (issue
    # 14 item 8): a 3 GB sparse file there (no blocks) must not become 3 GB
    # of the plan's temporary directory (here a 64 MiB tmpfs).
    cp -a "$demo" "$tmp/sparse"
    truncate -s 3G "$tmp/sparse/home/admin/.ssh/big"
    mkdir "$tmp/small"
    mount -t tmpfs -o size=64m tmpfs "$tmp/small"
    rc=0
    TMPDIR=$tmp/small "$top/scripts/first-five" --root "$tmp/sparse" --plan "$tmp/sparse-plan" --service agent >/dev/null 2>"$tmp/sparse.err" || rc=$?
    umount "$tmp/small"
    expect_status 0 "$rc" "first-five --plan with a 3 GB sparse file in ~/.ssh (TMPDIR 64 MiB)"
    [[ $rc == 0 ]] || tail -n3 "$tmp/sparse.err" >&2

    # The daily root timer (issue 14 item 7) runs only code no one but root
    # can change: not a checkout a user owns, not tools from a directory a
    # user owns (the caller's HARDKIT_BIN_DIR). step_monitor for this
    # machine (root /), writing into a scratch target.
    monitor_step() { # CHECKOUT BIN-DIR TARGET
        mkdir -p "$3/etc/systemd/system"
        HARDKIT_BIN_DIR=$2 bash -c 'set -euo pipefail
            top=$1; here=$1/scripts; root=/; json=1; services=(); exec_cmd=""; fim_key=${FK:-}; work=$(mktemp -d)
            . "$here/lib/tools.sh"; hardkit_find_tools; . "$here/lib/fix.sh"
            step_monitor "$2" 1' _ "$1" "$3"
    }
    chmod 0711 "$tmp"
    mkdir -m 1777 "$tmp/pub7"
    # (copied by root and given to uid 4242: the checkout itself may be
    # where 4242 cannot read, a clone under /root)
    mkdir -p "$tmp/pub7/checkout" "$tmp/pub7/bin"
    cp -r "$top/scripts" "$tmp/pub7/checkout/scripts"
    for t in "${hardkit_tools[@]}"; do
        cp "$HARDKIT_BIN_DIR/$t" "$tmp/pub7/bin/"
    done
    chown -R 4242:4242 "$tmp/pub7/checkout" "$tmp/pub7/bin"
    rc=0
    monitor_step "$tmp/pub7/checkout" "$HARDKIT_BIN_DIR" "$tmp/t7a" >/dev/null 2>"$tmp/t7a.err" || rc=$?
    expect_status 2 "$rc" "the daily timer from a checkout uid 4242 owns"
    check "the refusal names the timer" grep -q 'refusing to install a daily root timer' "$tmp/t7a.err"
    check "no unit written for the user's checkout" [ ! -e "$tmp/t7a/etc/systemd/system/hardkit-monitor.service" ]
    rc=0
    monitor_step "$top" "$tmp/pub7/bin" "$tmp/t7b" >/dev/null 2>"$tmp/t7b.err" || rc=$?
    expect_status 2 "$rc" "the daily timer with HARDKIT_BIN_DIR a directory uid 4242 owns"
    check "no unit taking the user's tools" bash -c '! grep -q "pub7" "$1" 2>/dev/null' _ "$tmp/t7b/etc/systemd/system/hardkit-monitor.service"
    chmod 0700 "$tmp"
    # With --fim-key, the daily unit checks with the key (issue 14 item 12).
    FK=/root/fim.key monitor_step "$top" "$HARDKIT_BIN_DIR" "$tmp/t12" >/dev/null 2>"$tmp/t12.err" || true
    check "the monitor unit passes --fim-key" grep -q '^ExecStart=.*/monitor --fim-key /root/fim.key$' "$tmp/t12/etc/systemd/system/hardkit-monitor.service"

    # The lockout guard: without the admin's key nobody could log in once
    # passwords are off, so --apply refuses and changes nothing.
    cp -a "$demo" "$tmp/nokey"
    rm "$tmp/nokey/home/admin/.ssh/authorized_keys"
    cp -a "$tmp/nokey" "$tmp/nokey.orig"
    rc=0
    "$top/scripts/first-five" --root "$tmp/nokey" --apply --yes >/dev/null 2>"$tmp/nokey.err" || rc=$?
    expect_status 2 "$rc" "first-five --apply without any key"
    check "the refusal names the lockout" grep -q 'sshd/lockout' "$tmp/nokey.err"
    check "nothing changed after the refusal" diff -r --no-dereference "$tmp/nokey.orig" "$tmp/nokey"

    # An admin with a key who cannot become root (issue 14 item 4): once
    # root logins are off nobody could get root, so --apply refuses, as
    # sshd-lint --fix does, and changes nothing.
    cp -a "$demo" "$tmp/noroute"
    sed -i 's/^sudo:x:27:admin$/sudo:x:27:/' "$tmp/noroute/etc/group"
    cp -a "$tmp/noroute" "$tmp/noroute.orig"
    rc=0
    "$top/scripts/first-five" --root "$tmp/noroute" --apply --yes >/dev/null 2>"$tmp/noroute.err" || rc=$?
    expect_status 2 "$rc" "first-five --apply when the only key login cannot become root"
    check "the refusal names the missing way to root" grep -q 'sshd/no-root-route' "$tmp/noroute.err"
    check "nothing changed after that refusal" diff -r --no-dereference "$tmp/noroute.orig" "$tmp/noroute"

    # --apply --root never runs the tree's own sshd (issue 14 item 2): a
    # planted usr/sbin/sshd (dash with its libraries, so it would run if
    # chrooted into) leaves a mark when it runs.
    cp -a "$demo" "$tmp/planted"
    install -d "$tmp/planted/bin" "$tmp/planted/usr/sbin" "$tmp/planted/lib/x86_64-linux-gnu" "$tmp/planted/lib64"
    cp /bin/dash "$tmp/planted/bin/sh"
    cp /lib/x86_64-linux-gnu/libc.so.6 "$tmp/planted/lib/x86_64-linux-gnu/"
    cp /lib64/ld-linux-x86-64.so.2 "$tmp/planted/lib64/"
    printf '#!/bin/sh\necho ran >/pwned-sshd\n' >"$tmp/planted/usr/sbin/sshd"
    chmod 0755 "$tmp/planted/usr/sbin/sshd"
    # The tree's nft is the firewall's judge (its release, its includes),
    # but only in fwplan's sandbox: as a stranger, on the tree read-only.
    # Chrooted as root (the code before), it leaves its mark in the tree.
    printf '#!/bin/sh\necho ran >/pwned-nft\necho ran >/etc/pwned-nft\nexit 0\n' >"$tmp/planted/usr/sbin/nft"
    chmod 0755 "$tmp/planted/usr/sbin/nft"
    install -d "$tmp/planted/tmp"
    "$top/scripts/first-five" --root "$tmp/planted" --apply --yes >/dev/null 2>"$tmp/planted.err" || true
    check "the tree's own sshd did not run as root" [ ! -e "$tmp/planted/pwned-sshd" ]
    check "the ssh step says who checked it" grep -q "the tree's own sshd is not run" "$tmp/planted.err"
    check "the tree's own nft did not run as root" [ ! -e "$tmp/planted/pwned-nft" ] && [ ! -e "$tmp/planted/etc/pwned-nft" ]
    check "the firewall step says the tree's own nft judged it, in a sandbox" grep -q "own nft, nftables .* in a sandbox" "$tmp/planted.err"

    # A hostile image (issue 14: one way to write as root): its
    # sshd_config.d is an absolute link to a directory of this machine, and
    # a drop-in in it links to this machine's secret. Writes and reads
    # resolve inside the tree, as its own programs would see them: nothing
    # lands in the machine's directory, no byte of the secret reaches the
    # tree or the plan. (The code before wrote through the link, in --plan
    # too, and copied the secret into the tree.)
    cp -a "$demo" "$tmp/hostile"
    install -d -m 0755 "$tmp/machine-dir"
    printf 'TOP-SECRET-OF-THIS-MACHINE\n' >"$tmp/machine-secret"
    rm -rf "$tmp/hostile/etc/ssh/sshd_config.d"
    ln -s "$tmp/machine-dir" "$tmp/hostile/etc/ssh/sshd_config.d"
    install -d "$tmp/hostile$tmp/machine-dir"
    ln -s "$tmp/machine-secret" "$tmp/hostile$tmp/machine-dir/50-secret.conf"
    "$top/scripts/first-five" --root "$tmp/hostile" --plan "$tmp/hostile-plan" >"$tmp/hostile-plan.out" 2>&1 || true
    "$top/scripts/first-five" --root "$tmp/hostile" --apply --yes >"$tmp/hostile.out" 2>&1 || true
    check "nothing written into this machine's directory through the image's link" [ -z "$(ls -A "$tmp/machine-dir")" ]
    check "the drop-in landed inside the image" [ -f "$tmp/hostile$tmp/machine-dir/00-hardkit.conf" ]
    check "no byte of this machine's secret reached the image or the plan" \
        bash -c '! grep -rqs TOP-SECRET "$1" "$2" "$3" "$4"' _ "$tmp/hostile" "$tmp/hostile-plan" "$tmp/hostile-plan.out" "$tmp/hostile.out"
    check "the secret is untouched" grep -qx TOP-SECRET-OF-THIS-MACHINE "$tmp/machine-secret"
else
    echo "NOT RUN: scripts/tests/first-five-demo.sh --plan part: needs root" | tee -a "${HARDKIT_NOT_RUN_LOG:-/dev/null}" >&2
fi

finish first-five-demo
