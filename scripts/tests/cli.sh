#!/usr/bin/env bash
# The command-line contract every tool shares: a usage error is `tool: ...`
# on stderr with exit 2 (never clap's bare `error:`), nothing on stdout;
# --help and --version print on stdout and exit 0, --help with an example.
set -euo pipefail
# shellcheck source=scripts/tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build_tools
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for t in "${hardkit_tools[@]}"; do
    bin=$HARDKIT_BIN_DIR/$t
    rc=0
    "$bin" --no-such-flag >"$tmp/out" 2>"$tmp/err" || rc=$?
    expect_status 2 "$rc" "$t --no-such-flag"
    check "$t: the usage error starts with '$t: ' (got: $(head -n1 "$tmp/err"))" grep -q "^$t: unexpected argument '--no-such-flag'" "$tmp/err"
    check "$t: nothing on stdout after a usage error" [ ! -s "$tmp/out" ]
    rc=0
    "$bin" --fail-on severe >/dev/null 2>"$tmp/err" || rc=$?
    expect_status 2 "$rc" "$t --fail-on severe"
    check "$t: a bad value names the flag" grep -q "^$t: invalid value 'severe' for '--fail-on" "$tmp/err"
    rc=0
    "$bin" --help >"$tmp/help" 2>&1 || rc=$?
    expect_status 0 "$rc" "$t --help"
    check "$t --help shows an example" grep -qi 'example' "$tmp/help"
    got=$("$bin" --version)
    check "$t --version (got: $got)" [ "${got%% *}" == "$t" ]
done

# --color WHEN: `always` colours even into a pipe (never JSON), `never`
# never, `auto` (the default) only on a terminal and not under NO_COLOR.
demo=$top/examples/compromised-agent-host
mkdir -p "$tmp/fimroot/etc"
echo one >"$tmp/fimroot/etc/watched"
"$HARDKIT_BIN_DIR/fim" init --root "$tmp/fimroot" -q /etc 2>/dev/null
echo two >>"$tmp/fimroot/etc/watched"
# coloured_run TOOL ARGS...: a run of TOOL with something to colour
# (findings; fim's changes).
coloured_run() {
    local t=$1
    shift
    case $t in
        sshd-lint) "$HARDKIT_BIN_DIR/sshd-lint" --root "$demo" "$@" ;;
        jailgen | fwplan | svcacct) "$HARDKIT_BIN_DIR/$t" audit --root "$demo" "$@" ;;
        fim) "$HARDKIT_BIN_DIR/fim" check --root "$tmp/fimroot" "$@" ;;
        logscan) "$HARDKIT_BIN_DIR/logscan" summary "$top/examples/logscan/auth.log" "$@" ;;
    esac
}
# on_terminal TOOL ARGS...: the same under a pseudo-terminal (script(1);
# its stdin must be open, or it runs nothing: CI has no standard input).
on_terminal() {
    SHELL=/bin/bash script -qec "$(declare -f coloured_run); $(printf '%q ' demo="$demo" tmp="$tmp" top="$top" HARDKIT_BIN_DIR="$HARDKIT_BIN_DIR"); coloured_run $(printf '%q ' "$@")" /dev/null </dev/null
}
# A colour (SGR) sequence; fim's and logscan's progress line on a terminal
# uses other sequences (erase line), which are not colour.
sgr=$'\e\\[[0-9;]*m'
has_escape() { grep -qE "$sgr" "$1"; }
lacks_escape() { ! grep -qE "$sgr" "$1"; }
for t in sshd-lint jailgen fwplan svcacct fim logscan; do
    coloured_run "$t" --color always >"$tmp/out" 2>/dev/null || true
    check "$t --color always colours into a pipe" has_escape "$tmp/out"
    NO_COLOR=1 coloured_run "$t" --color always >"$tmp/out" 2>/dev/null || true
    check "$t --color always outranks NO_COLOR" has_escape "$tmp/out"
    coloured_run "$t" --color always --json >"$tmp/out" 2>/dev/null || true
    check "$t --color always --json: no colour in JSON" lacks_escape "$tmp/out"
    coloured_run "$t" >"$tmp/out" 2>/dev/null || true
    check "$t: no colour into a pipe by default" lacks_escape "$tmp/out"
    on_terminal "$t" >"$tmp/out" 2>&1 || true
    check "$t: colour on a terminal by default" has_escape "$tmp/out"
    NO_COLOR=1 on_terminal "$t" >"$tmp/out" 2>&1 || true
    check "$t: no colour on a terminal under NO_COLOR" lacks_escape "$tmp/out"
    on_terminal "$t" --color never >"$tmp/out" 2>&1 || true
    check "$t --color never: no colour on a terminal" lacks_escape "$tmp/out"
    rc=0
    "$HARDKIT_BIN_DIR/$t" --color sometimes >/dev/null 2>"$tmp/err" || rc=$?
    expect_status 2 "$rc" "$t --color sometimes"
    check "$t: a bad --color names the flag" grep -q "^$t: invalid value 'sometimes' for '--color" "$tmp/err"
done

# Errors under --json: the reader of the stream gets an `error` record and
# the stream still ends with a `summary` (exit 2); a human gets
# `tool: context: cause` on stderr. For an error that stops the run (a
# missing --root), a usage error, and (logscan, sshd-lint) one that does not.
# json_error_contract WHAT WANT-STDERR-LINE: check $tmp/out and $tmp/err.
json_error_contract() {
    expect_jsonl "$tmp/out" "$1"
    check "$1: an error record on stdout" has "$tmp/out" '.type == "error"'
    check "$1: the last line is a summary with exit 2" jq_quiet -s -e '.[-1] | .type == "summary" and .exit == 2 and .counts.error >= 1' "$tmp/out"
    check "$1: '$2' on stderr" grep -qF "$2" "$tmp/err"
}
for t in "${hardkit_tools[@]}"; do
    case $t in
        sshd-lint | jailgen) args=(--root "$tmp/no-such-root") ;;
        fwplan | svcacct | secupdates | aistack) args=(audit --root "$tmp/no-such-root") ;;
        fim) args=(check --root "$tmp/no-such-root") ;;
        logscan) args=(summary --root "$tmp/no-such-root" /var/log/auth.log) ;;
        hardkit-write) args=(mkdir --root "$tmp/no-such-root" /var/lib/x) ;;
    esac
    rc=0
    "$HARDKIT_BIN_DIR/$t" "${args[@]}" --json >"$tmp/out" 2>"$tmp/err" || rc=$?
    expect_status 2 "$rc" "$t --json --root missing"
    json_error_contract "$t --json --root missing" "$t: --root"
    rc=0
    "$HARDKIT_BIN_DIR/$t" --json --fail-on severe >"$tmp/out" 2>"$tmp/err" || rc=$?
    expect_status 2 "$rc" "$t --json --fail-on severe"
    json_error_contract "$t --json --fail-on severe" "$t: invalid value 'severe' for '--fail-on"
    check "$t: the usage error record names the flag" has "$tmp/out" '.type == "error" and (.message | startswith("invalid value '"'"'severe'"'"' for '"'"'--fail-on"))'
done
rc=0
"$HARDKIT_BIN_DIR/logscan" --json "$top/examples/logscan/auth.log" "$tmp/no-such.log" >"$tmp/out" 2>"$tmp/err" || rc=$?
expect_status 2 "$rc" "logscan --json with a missing log"
json_error_contract "logscan --json with a missing log" "logscan: $tmp/no-such.log: no such file"
check "logscan: the events of the readable log are there too" has "$tmp/out" '.type == "event"'
mkdir -p "$tmp/badsshd/etc/ssh"
printf 'Port 22\nNoSuchKeyword yes\n' >"$tmp/badsshd/etc/ssh/sshd_config"
rc=0
"$HARDKIT_BIN_DIR/sshd-lint" --root "$tmp/badsshd" --json >"$tmp/out" 2>"$tmp/err" || rc=$?
expect_status 2 "$rc" "sshd-lint --json on a config sshd refuses"
json_error_contract "sshd-lint --json on a config sshd refuses" "Bad configuration option: NoSuchKeyword"

finish cli
