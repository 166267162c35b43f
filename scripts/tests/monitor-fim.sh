#!/usr/bin/env bash
# shellcheck disable=SC2016 # jq filters are single-quoted on purpose
# scripts/monitor and fim against someone hiding changes (issue 15 item
# 14): a file name with terminal escapes is printed escaped, as the tools
# print it; and a file fim cannot read (any user can make one in a watched
# home) is reported as an error beside every change, not instead of them.
# As root the monitor runs as nobody over a tree nobody owns, so the
# root-only file is really unreadable; as another user a mode-000 file is.
set -euo pipefail
# shellcheck source=scripts/tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v jq >/dev/null || { echo "monitor-fim: jq is needed (apt-get install jq)" >&2; exit 1; }
build_tools
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
r=$tmp/root
cp -a "$top/examples/compromised-agent-host" "$r"
: >"$r/var/log/auth.log"
secret=$r/etc/ssh/ssh_host_ed25519_key
echo "private key" >"$secret"
chmod 600 "$secret"
as_user=()
if ((EUID == 0)); then
    command -v setpriv >/dev/null || { echo "monitor-fim: setpriv is needed as root (util-linux)" >&2; exit 1; }
    chown -R nobody:nogroup "$r"
    chown root:root "$secret"
    as_user=(setpriv --reuid nobody --regid nogroup --clear-groups)
    # The monitor and the tools as nobody can run them: the checkout may be
    # where nobody cannot read (a clone under /root, CI's 0700 directory).
    mkdir -p "$tmp/hk/bin"
    cp -r "$top/scripts" "$tmp/hk/scripts"
    for t in "${hardkit_tools[@]}"; do
        cp "$HARDKIT_BIN_DIR/$t" "$tmp/hk/bin/"
    done
    chmod -R a+rX "$tmp/hk"
fi
"$HARDKIT_BIN_DIR/fim" init --root "$r" -q 2>/dev/null
[[ $EUID == 0 ]] && chown -R nobody:nogroup "$r/var/lib/hardkit"
if ((EUID == 0)); then
    monitor() { HARDKIT_BIN_DIR=$tmp/hk/bin "${as_user[@]}" "$tmp/hk/scripts/monitor" --root "$r" "$@"; }
else
    monitor() { "$top/scripts/monitor" --root "$r" "$@"; }
fi

# A changed file and a file whose name clears the screen and sets the
# terminal's title.
echo "evil:x:0:0::/root:/bin/bash" >>"$r/etc/passwd"
evil=$'\e]2;all is well\a\e[2Jx'
"${as_user[@]}" touch "$r/etc/$evil" 2>/dev/null || touch "$r/etc/$evil"
rc=0
monitor >"$tmp/out" 2>&1 || rc=$?
check "the changed file is reported" grep -q 'changed /etc/passwd' "$tmp/out"
check "no raw escape character reaches the terminal" bash -c '! grep -q $'"'"'\e'"'"' "$1"' _ "$tmp/out"
check "the escaped name is shown as the tools show it" grep -qF 'added /etc/\x1b]2;all is well\x07\x1b[2Jx' "$tmp/out"

# Now fim cannot read one file: an error, and still every change.
((EUID == 0)) || chmod 000 "$secret"
echo "echo pwned" >>"$r/etc/profile"
rc=0
monitor >"$tmp/out" 2>&1 || rc=$?
expect_status 2 "$rc" "monitor with an unreadable watched file"
check "the fim error names the file ($(grep ERROR "$tmp/out" | head -3))" grep -q '^ERROR    fim: /etc/ssh/ssh_host_ed25519_key: .*ermission denied' "$tmp/out"
check "changes are reported beside the error" grep -qE "(added|changed) /etc/profile" "$tmp/out"
check "... all of them" grep -q 'changed /etc/passwd' "$tmp/out"
check "no empty fim error line" bash -c '! grep -qx "ERROR    fim: *" "$1"' _ "$tmp/out"
rc=0
monitor --json >"$tmp/out.jsonl" 2>/dev/null || rc=$?
expect_status 2 "$rc" "monitor --json with an unreadable watched file"
expect_jsonl "$tmp/out.jsonl" "monitor --json"
check "the fim error record keeps its path" has "$tmp/out.jsonl" '.type == "error" and .tool == "fim" and .path == "/etc/ssh/ssh_host_ed25519_key"'
check "the change records are there" has "$tmp/out.jsonl" '.type == "change" and .path == "/etc/profile"'
check "the verdict counts the error" has "$tmp/out.jsonl" '.type == "monitor_verdict" and .errors >= 1 and .exit == 2'

finish monitor-fim
