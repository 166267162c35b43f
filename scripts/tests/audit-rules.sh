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
# not). Needs root and the network to Debian's archive.
set -euo pipefail
# shellcheck source=scripts/tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $(id -u) -eq 0 ]] || not_run audit-rules "needs root (chroot, the kernel's audit rules)"
command -v debootstrap >/dev/null || not_run audit-rules "debootstrap is not installed (scripts/test --install-oracles)"
build_tools

tmp=$(mktemp -d)
key=hardkit-test-$$
loaded=()
cleanup() {
    local r
    for r in "${loaded[@]}"; do
        in_chroot "$r" auditctl -D -k "$key-exec" >/dev/null 2>&1 || true
        in_chroot "$r" auditctl -D -k "$key-write" >/dev/null 2>&1 || true
    done
    debian_base_cleanup
    rm -rf "$tmp"
}
trap cleanup EXIT

for suite in bookworm trixie forky; do
    r=$tmp/$suite
    debian_base "$suite" "$r" || { fail "$suite: no cached root"; continue; }
    printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
    chmod 755 "$r/usr/sbin/policy-rc.d"
    if ! in_chroot "$r" sh -c 'apt-get -o Acquire::Check-Valid-Until=false update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends auditd' >"$tmp/install.log" 2>&1; then
        fail "$suite: apt-get install auditd failed: $(tail -n3 "$tmp/install.log")"
        continue
    fi
    if ! in_chroot "$r" auditctl -s >/dev/null 2>&1; then
        not_run audit-rules "the kernel has no audit support here (auditctl -s fails)"
    fi
    version=$(in_chroot "$r" dpkg-query -W -f '${Version}' auditd)
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
