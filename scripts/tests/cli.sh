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

finish cli
