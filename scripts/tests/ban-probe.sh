#!/usr/bin/env bash
# Does a ban work? Run inside a network namespace of its own (unshare --net
# bash ban-probe.sh START BAN [RULESET]): loopback up, the nft RULESET when
# given, a listener on 127.0.0.1:2222, a connect from 127.0.0.2, then the
# action's START and BAN scripts (with PROBE_PATH, when set, first on PATH:
# the programs they may use), a connect from 127.0.0.2 (banned) and one from
# 127.0.0.1 (not). Prints "before=... banned=... other=...", each open or
# blocked; the scripts' own output goes to stderr. Not a test of its own
# (not executable): scripts/tests/ban-actions.sh and jailgen's
# release_audit.rs run it.
set -u
ip link set lo up
if [[ -n ${3:-} ]]; then
    nft -f "$3" || exit 3
fi
/usr/bin/python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 2222)); s.listen(16)
while True:
    c, _ = s.accept(); c.close()
' &
listener=$!
sleep 0.3
conn() {
    /usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.settimeout(2); s.bind((sys.argv[1], 0))
try:
    s.connect(("127.0.0.1", 2222)); print("open")
except Exception:
    print("blocked")
' "$1"
}
before=$(conn 127.0.0.2)
PATH="${PROBE_PATH:+$PROBE_PATH:}$PATH" bash "$1" >&2
PATH="${PROBE_PATH:+$PROBE_PATH:}$PATH" bash "$2" >&2
banned=$(conn 127.0.0.2)
other=$(conn 127.0.0.1)
kill "$listener"
echo "before=$before banned=$banned other=$other"
