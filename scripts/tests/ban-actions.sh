#!/usr/bin/env bash
# shellcheck disable=SC2016 # bash -c programs take their arguments as $1
# The premise of jailgen's ban-action judgement (issue 22), proven with
# packets: a ban action works when its commands can run, whatever the
# firewall in use. On an nftables host (Debian's stock accept-all table,
# then fwplan's drop-by-default ruleset admitting the SSH port), fail2ban's
# own iptables-multiport commands (taken from `fail2ban-client -d` of this
# machine's fail2ban, their tags resolved as fail2ban's server does) ban an
# address: a new connection from it is refused, another address still gets
# in. Then nftables-multiport, the same. All of it in a network namespace
# of its own (loopback only); nothing of this machine's firewall is touched.
# And jailgen's verdict for such a host: no banaction finding.
set -euo pipefail
# shellcheck source=scripts/tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

((EUID == 0)) || not_run ban-actions "needs root (network namespaces, iptables, nft)"
for p in fail2ban-client iptables nft unshare python3; do
    command -v "$p" >/dev/null || not_run ban-actions "$p is not installed"
done
[[ -f /etc/fail2ban/action.d/iptables-multiport.conf ]] || not_run ban-actions "fail2ban's stock action.d is missing"
build_tools
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"

# fail2ban's configuration with an sshd jail on port 2222 banning with ACTION.
commands() { # ACTION -> actionstart and actionban (ip 127.0.0.2), one per file
    rm -rf "$tmp/f2b"
    cp -a /etc/fail2ban "$tmp/f2b"
    printf '[sshd]\nenabled = true\nport = 2222\nbackend = systemd\nbanaction = %s\n' "$1" >"$tmp/f2b/jail.d/zz-test.local"
    fail2ban-client -c "$tmp/f2b" -d >"$tmp/dump" 2>"$tmp/dump.err" || {
        echo "fail2ban-client -d failed: $(head -c 300 "$tmp/dump.err")" >&2
        return 1
    }
    /usr/bin/python3 - "$tmp/dump" "$1" "$tmp/start.sh" "$tmp/ban.sh" <<'EOF'
import ast, re, sys
dump, action, start_out, ban_out = sys.argv[1:]
props = {}
for line in open(dump):
    line = line.strip()
    if not line.startswith("["):
        continue
    rec = ast.literal_eval(line)
    if rec[:4] == ["multi-set", "sshd", "action", action]:
        for k, v in rec[4]:
            if "?" not in k:
                props[k] = v
props["ip"] = "127.0.0.2"
props["family"] = "inet4"
def resolve(s, depth=0):
    # fail2ban's replaceTag: <tag> from the action's own properties, again
    # until nothing is left (a bounded number of rounds).
    out = re.sub(r"<([^<> ]+)>", lambda m: props.get(m.group(1), m.group(0)), s)
    return out if out == s or depth > 10 else resolve(out, depth + 1)
for key, path in (("actionstart", start_out), ("actionban", ban_out)):
    cmd = resolve(props[key])
    if re.search(r"<[a-z]", cmd):
        sys.exit(f"{key}: unresolved tag in {cmd!r}")
    open(path, "w").write(cmd + "\n")
EOF
}

# In a namespace of its own: the nft ruleset, then the action's start and
# ban, probed with connects (ban-probe.sh).
probe() { # RULESET-FILE -> prints "before=... banned=... other=..."
    unshare --net bash "$top/scripts/tests/ban-probe.sh" "$tmp/start.sh" "$tmp/ban.sh" "$1"
}

# The nftables hosts: Debian's stock accept-all nftables.conf, and what
# fwplan renders (input dropped by default, the SSH port admitted).
printf 'flush ruleset\ntable inet filter {\n  chain input { type filter hook input priority filter; }\n  chain forward { type filter hook forward priority filter; }\n  chain output { type filter hook output priority filter; }\n}\n' >"$tmp/stock.nft"
"$HARDKIT_BIN_DIR/fwplan" render --allow 2222/tcp --ssh-port 2222 >"$tmp/fwplan.nft"
for action in iptables-multiport nftables-multiport; do
    check "fail2ban's $action commands, from fail2ban-client -d" commands "$action"
    for ruleset in stock fwplan; do
        got=$(probe "$tmp/$ruleset.nft" 2>"$tmp/probe.err") || true
        check "$action on an nftables host ($ruleset ruleset) bans 127.0.0.2 and no one else (got: $got $(head -c 200 "$tmp/probe.err"))" \
            [ "$got" == "before=open banned=blocked other=open" ]
    done
done

# jailgen's verdict for such a host: iptables-multiport on an nftables host
# with iptables installed is no finding.
t=$tmp/tree
mkdir -p "$t/etc" "$t/usr/sbin" "$t/lib/systemd/system" "$t/etc/systemd/system/sysinit.target.wants"
cp -a /etc/fail2ban "$t/etc/fail2ban"
printf '[sshd]\nenabled = true\nport = 2222\nbackend = systemd\nbanaction = iptables-multiport\njournalmatch = _SYSTEMD_UNIT=ssh.service + _COMM=sshd _UID=0\n' >"$t/etc/fail2ban/jail.d/zz-test.local"
: >"$t/lib/systemd/system/ssh.service"
: >"$t/etc/nftables.conf"
: >"$t/usr/sbin/nft"
: >"$t/usr/sbin/iptables"
ln -s /lib/systemd/system/nftables.service "$t/etc/systemd/system/sysinit.target.wants/nftables.service"
rc=0
"$HARDKIT_BIN_DIR/jailgen" audit --root "$t" --json >"$tmp/audit.jsonl" 2>&1 || rc=$?
check "jailgen audit ran (exit $rc)" [ "$rc" -le 1 ]
check "jailgen audit: no banaction finding for iptables-multiport on this nftables host (got: $(grep -o '"id":"[^"]*"' "$tmp/audit.jsonl" | tr '\n' ' '))" \
    bash -c '! grep -q "jailgen/banaction-firewall" "$1"' _ "$tmp/audit.jsonl"
rm "$t/usr/sbin/iptables"
"$HARDKIT_BIN_DIR/jailgen" audit --root "$t" --json >"$tmp/audit2.jsonl" 2>&1 || true
check "... and one when iptables is not installed" grep -q 'iptables is not installed' "$tmp/audit2.jsonl"

finish ban-actions
