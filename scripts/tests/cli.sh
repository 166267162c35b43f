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

for t in sshd-lint jailgen fwplan svcacct fim logscan; do
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
# on_terminal TOOL ARGS...: the same under a pseudo-terminal (script(1)).
on_terminal() {
    SHELL=/bin/bash script -qec "$(declare -f coloured_run); $(printf '%q ' demo="$demo" tmp="$tmp" top="$top" HARDKIT_BIN_DIR="$HARDKIT_BIN_DIR"); coloured_run $(printf '%q ' "$@")" /dev/null
}
esc=$'\e['
has_escape() { grep -qF "$esc" "$1"; }
lacks_escape() { ! grep -qF "$esc" "$1"; }
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

finish cli
