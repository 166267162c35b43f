#!/usr/bin/env bash
# shellcheck disable=SC2016 # jq filters are single-quoted on purpose
# A server with no auth.log (Debian 13 logs sshd only to the journal): a root
# tree whose brute force that ended in a root login is recorded only in its
# var/log/journal, as OpenSSH 10 writes it (sshd-session). first-five --root
# and monitor --root must both report it, from the tree's journal files read
# as data, and say that is where they read it.
set -euo pipefail
# shellcheck source=scripts/tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for p in jq journalctl; do
    command -v "$p" >/dev/null || not_run journal-root "$p is not installed"
done
remote=/lib/systemd/systemd-journal-remote
[[ -x $remote ]] || not_run journal-root "systemd-journal-remote is not installed (scripts/test --install-oracles)"
build_tools
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
r=$tmp/root
cp -a "$top/examples/compromised-agent-host" "$r"
rm -f "$r"/var/log/auth.log*

# The journal: six failures, then the password login, an hour ago, in
# journal export format turned into a journal file by systemd's own tool.
now=$(($(date +%s) - 3600))
boot=0123456789abcdef0123456789abcdef
entry() { # SECONDS-OFFSET PID MESSAGE
    printf '__REALTIME_TIMESTAMP=%s000000\n__MONOTONIC_TIMESTAMP=%s000000\n_BOOT_ID=%s\n_HOSTNAME=agent-01\n_UID=0\n_COMM=sshd-session\nSYSLOG_IDENTIFIER=sshd-session\n_SYSTEMD_UNIT=ssh.service\n_PID=%s\nPRIORITY=6\nMESSAGE=%s\n\n' \
        "$((now + $1))" "$((100 + $1))" "$boot" "$2" "$3"
}
# What an unprivileged user writes with a copy of logger named sshd
# (issue 15 item 4): it must not count.
forged() { # SECONDS-OFFSET MESSAGE
    printf '__REALTIME_TIMESTAMP=%s000000\n__MONOTONIC_TIMESTAMP=%s000000\n_BOOT_ID=%s\n_HOSTNAME=agent-01\n_UID=1000\n_COMM=sshd\n_EXE=/home/mallory/sshd\nSYSLOG_IDENTIFIER=sshd\n_SYSTEMD_UNIT=session-3.scope\n_PID=999\nPRIORITY=6\nMESSAGE=%s\n\n' \
        "$((now + $1))" "$((100 + $1))" "$boot" "$2"
}
{
    for i in 1 2 3 4 5 6; do
        entry "$i" "70$i" "Failed password for root from 203.0.113.45 port 5100$i ssh2"
    done
    entry 10 800 "Accepted password for root from 203.0.113.45 port 51100 ssh2"
    for i in 11 12 13 14 15 16; do
        forged "$i" "Failed password for admin from 10.1.0.10 port 5100 ssh2"
    done
    forged 17 "Accepted password for admin from 10.1.0.10 port 5100 ssh2"
} >"$tmp/export"
machine=00000000000000000000000000000001
[[ -s $r/etc/machine-id ]] && machine=$(tr -d '\n' <"$r/etc/machine-id")
mkdir -p "$r/var/log/journal/$machine"
"$remote" -o "$r/var/log/journal/$machine/system.journal" "$tmp/export" 2>/dev/null
check "the tree's journal holds the entries" \
    bash -c '[[ $(journalctl --directory "$1" -o json _COMM=sshd-session | wc -l) == 7 ]]' _ "$r/var/log/journal"

# first-five: section 5 reports the brute force, from the tree's journal.
rc=0
"$top/scripts/first-five" --root "$r" --since 2d --json >"$tmp/ff.jsonl" 2>"$tmp/ff.err" || rc=$?
expect_status 1 "$rc" "first-five --root on a tree with only a journal"
expect_ids "$tmp/ff.jsonl" "first-five" logscan/brute-force-success
check "first-five does not count a local user's forged sshd entries" bash -c '! grep -q 10.1.0.10 "$1"' _ "$tmp/ff.jsonl"
check "first-five names the tree's journal as its source" grep -q "journal in $r/var/log/journal" "$tmp/ff.jsonl"

# monitor: the same login, and the same source, in its verdict.
rc=0
"$top/scripts/monitor" --root "$r" --json >"$tmp/mon.jsonl" 2>"$tmp/mon.err" || rc=$?
expect_status 1 "$rc" "monitor --root on a tree with only a journal"
expect_ids "$tmp/mon.jsonl" "monitor" logscan/brute-force-success
check "monitor does not count a local user's forged sshd entries" bash -c '! grep -q 10.1.0.10 "$1"' _ "$tmp/mon.jsonl"
check "monitor's verdict names the tree's journal" \
    has "$tmp/mon.jsonl" --arg d "$r/var/log/journal" '.type == "monitor_verdict" and (.logs | contains($d))'
# The human report of a first run (the run above remembered the login).
rm -rf "$r/var/lib/hardkit/monitor"
rc=0
"$top/scripts/monitor" --root "$r" >"$tmp/mon.txt" 2>&1 || rc=$?
check "monitor's report says where it read the login (got: $(tail -3 "$tmp/mon.txt"))" grep -q "read from the auth log: the journal in" "$tmp/mon.txt"

# fail2ban itself, on the same journal (issue 15 item 4): the jail jailgen
# writes for this tree reads sshd's entries only as root, so the forged
# ones frame nobody; the stock journal match (Debian 13's fail2ban 1.1.0
# sshd filter: _COMM alone) counts them, and bans the innocent 10.1.0.10.
if command -v fail2ban-regex >/dev/null && /usr/bin/python3 -c 'import systemd.journal' 2>/dev/null; then
    ours=$("$HARDKIT_BIN_DIR/jailgen" --root "$r" --json | jq -r 'select(.type == "jail" and .name == "sshd") | .journalmatch')
    check "jailgen's sshd jail reads the journal only as root (got: $ours)" grep -q '_COMM=sshd _UID=0' <<<"$ours"
    f2b() { fail2ban-regex -v -m "$1" "systemd-journal[journalpath=$r/var/log/journal/$machine]" sshd 2>&1; }
    f2b "_SYSTEMD_UNIT=ssh.service + _COMM=sshd + _COMM=sshd-session" >"$tmp/f2b-stock.txt"
    f2b "$ours" >"$tmp/f2b-ours.txt"
    check "fail2ban with the stock match counts the forged failures against 10.1.0.10 (the attack is real)" \
        grep -qE '^\|[[:space:]]+10\.1\.0\.10' "$tmp/f2b-stock.txt"
    check "fail2ban with jailgen's match never sees them (got: $(grep -E '^Lines:' "$tmp/f2b-ours.txt"))" \
        bash -c '! grep -q 10.1.0.10 "$1" && grep -q "^Lines: 7 lines" "$1"' _ "$tmp/f2b-ours.txt"
else
    not_run journal-root "fail2ban-regex with python3-systemd is needed for the fail2ban half (apt-get install fail2ban python3-systemd)"
fi

finish journal-root
