#!/usr/bin/env bash
# shellcheck disable=SC2016 # jq filters are single-quoted on purpose
# The fleet (issue 16): the Ansible collection in ansible/ drives hardkit on
# three hosts, each a booted Debian 12 root (systemd-nspawn) in a network
# namespace of its own, reached over SSH on its own address, with different
# defects. The collection is built with ansible-galaxy and installed into a
# scratch collections path; hardkit is installed on each host from the .deb
# (copied from the controller; the hosts have no route anywhere); the audit
# brings every host's records back as facts tagged with the host, and the
# controller writes one report (report.jsonl, report.html), rendered here
# with headless Chromium. HARDKIT_FLEET_REPORT_DIR keeps the report.
# Needs root (namespaces, nspawn), the cached Debian 12 root, ansible-core
# (a virtualenv in the test cache) and chromium.
set -euo pipefail
# shellcheck source=scripts/tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $(id -u) == 0 ]] || not_run fleet "needs root (network namespaces, systemd-nspawn)"
for p in systemd-nspawn ip ssh-keygen jq; do
    command -v "$p" >/dev/null || not_run fleet "$p is not installed (scripts/test --install-oracles)"
done
chromium=$(command -v chromium || true)
[[ -n $chromium ]] || not_run fleet "chromium is not installed (scripts/test --install-oracles)"
tmp=$(mktemp -d)
hosts=(h1 h2 h3)
declare -A nspawn_pid=()
cleanup() {
    local h
    for h in "${!nspawn_pid[@]}"; do
        kill -TERM "${nspawn_pid[$h]}" 2>/dev/null || true
    done
    for h in "${!nspawn_pid[@]}"; do
        # shellcheck disable=SC2046 # one pid
        timeout 30 tail --pid="${nspawn_pid[$h]}" -f /dev/null 2>/dev/null || kill -KILL "${nspawn_pid[$h]}" 2>/dev/null || true
    done
    for h in "${hosts[@]}"; do
        ip netns del "hk-fleet-$h" 2>/dev/null || true
    done
    debian_base_cleanup
    rm -rf "$tmp"
}
trap cleanup EXIT

build_tools
ansible_bin=$(ansible_ensure) || not_run fleet "ansible-core could not be installed into $hardkit_test_cache (pip): see $hardkit_test_cache/ansible-core-$ansible_core_version.log"
deb=$(hardkit_deb_ensure "$tmp/package.out") || { tail -n 20 "$tmp/package.out" >&2; fail "scripts/package"; finish fleet; }

# --- the collection, built and installed as a user would ------------------------
rc=0
(cd "$tmp" && "$ansible_bin/ansible-galaxy" collection build "$top/ansible" --output-path "$tmp/dist") >"$tmp/build.out" 2>&1 || rc=$?
expect_status 0 "$rc" "ansible-galaxy collection build ansible/"
tarball=$(find "$tmp/dist" -name 'hardkit-hardening-*.tar.gz' | head -n 1)
check "the collection's tarball is hardkit-hardening-VERSION.tar.gz" [ -n "$tarball" ]
"$ansible_bin/ansible-galaxy" collection install "$tarball" -p "$tmp/collections" >"$tmp/install.out" 2>&1 ||
    { cat "$tmp/install.out" >&2; fail "ansible-galaxy collection install"; finish fleet; }

# --- three hosts ------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C fleet-controller -f "$tmp/id_ed25519"
i=0
for h in "${hosts[@]}"; do
    i=$((i + 1))
    m=$tmp/root-$h
    debian_base bookworm "$m" || not_run fleet "no Debian 12 root: see $hardkit_test_cache/bookworm-base.log"
    install -d -m 0700 "$m/root/.ssh"
    install -m 0600 "$tmp/id_ed25519.pub" "$m/root/.ssh/authorized_keys"
    echo "$h" >"$m/etc/hostname"
    # Each host's own defects.
    case $h in
        h1) printf 'PermitRootLogin yes\nPasswordAuthentication yes\n' >"$m/etc/ssh/sshd_config.d/50-cloud-init.conf" ;;
        h2) printf 'X11Forwarding yes\n' >"$m/etc/ssh/sshd_config.d/10-x11.conf" ;;
        h3) printf 'PasswordAuthentication no\nKbdInteractiveAuthentication no\n' >"$m/etc/ssh/sshd_config.d/10-keys-only.conf" ;;
    esac
    # Its own network namespace, one veth to the controller: 10.77.N.2.
    ns=hk-fleet-$h
    ip netns del "$ns" 2>/dev/null || true
    ip link del "hkf$i" 2>/dev/null || true
    ip netns add "$ns"
    ip link add "hkf$i" type veth peer name eth0 netns "$ns"
    ip addr add "10.77.$i.1/24" dev "hkf$i"
    ip link set "hkf$i" up
    ip -n "$ns" addr add "10.77.$i.2/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn -q -D "$m" --machine="hk-fleet-$h" --boot --register=no --keep-unit \
        --network-namespace-path="/run/netns/$ns" --capability=CAP_NET_ADMIN >"$tmp/$h.console" 2>&1 &
    nspawn_pid[$h]=$!
done
# Each host's sshd answers (at most 60 s).
cat >"$tmp/inventory.ini" <<EOF
[fleet]
h1 ansible_host=10.77.1.2
h2 ansible_host=10.77.2.2
h3 ansible_host=10.77.3.2

[fleet:vars]
ansible_user=root
ansible_ssh_private_key_file=$tmp/id_ed25519
ansible_ssh_common_args=-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
ansible_python_interpreter=/usr/bin/python3
EOF
for h in "${hosts[@]}"; do
    up=0
    for _ in $(seq 60); do
        if timeout 5 ssh -i "$tmp/id_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
            "root@10.77.${h#h}.2" true 2>/dev/null; then
            up=1
            break
        fi
        sleep 1
    done
    check "$h: its sshd answers on 10.77.${h#h}.2" [ "$up" == 1 ]
    ((up)) || { tail -n 20 "$tmp/$h.console" >&2; finish fleet; }
done

export ANSIBLE_COLLECTIONS_PATH=$tmp/collections ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=False
export ANSIBLE_LOCAL_TEMP=$tmp/ansible-local ANSIBLE_FORKS=3
state=$tmp/fleet-state
playbook() {
    "$ansible_bin/ansible-playbook" -i "$tmp/inventory.ini" -e "hardkit_deb=$deb" -e "hardkit_fleet_dir=$state" "$@"
}
# in_host H CMD...: run CMD on host H as its root (the test's own view, not Ansible's).
in_host() {
    local h=$1
    shift
    ssh -i "$tmp/id_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
        -p "${ssh_port:-22}" "${ssh_user:-root}@10.77.${h#h}.2" "$@"
}

# --- audit ------------------------------------------------------------------------
report=$tmp/report
rc=0
playbook hardkit.hardening.audit -e "hardkit_report_dir=$report" >"$tmp/audit.out" 2>&1 || rc=$?
expect_status 0 "$rc" "the audit playbook (findings are not task failures)"
((rc == 0)) || tail -n 40 "$tmp/audit.out" >&2
for h in "${hosts[@]}"; do
    check "$h: hardkit installed from the .deb (dpkg says so)" grep -qx 'Package: hardkit' "$tmp/root-$h/var/lib/dpkg/status"
done
jsonl=$report/report.jsonl
check "report.jsonl: every line a record with a type" jq_quiet -e -s 'length > 10 and all(.[]; has("type"))' "$jsonl"
check "report.jsonl: the run's record first, naming the three hosts" \
    jq_quiet -e -s '.[0].type == "fleet_run" and (.[0].hosts | keys) == ["h1", "h2", "h3"]' "$jsonl"
check "report.jsonl: every host record tagged with its host" jq_quiet -e -s '[.[1:][] | .host] | unique == ["h1", "h2", "h3"]' "$jsonl"
check "h1: PermitRootLogin yes and passwords found" \
    jq_quiet -e -s 'any(.[]; .host == "h1" and .type == "finding" and .id == "sshd/permit-root-login") and any(.[]; .host == "h1" and .id == "sshd/password-authentication")' "$jsonl"
check "h2: root may log in with a key only (medium), X11 forwarding on" \
    jq_quiet -e -s 'any(.[]; .host == "h2" and .id == "sshd/permit-root-login" and .severity == "medium") and any(.[]; .host == "h2" and .id == "sshd/x11-forwarding")' "$jsonl"
check "h3: no password login, so no such finding" \
    jq_quiet -e -s 'all(.[]; (.host == "h3" and .id == "sshd/password-authentication") | not) and any(.[]; .host == "h3" and .type == "finding")' "$jsonl"
check "each host's verdict is there" jq_quiet -e -s '[.[] | select(.type == "first_five_verdict") | .host] | sort == ["h1", "h2", "h3"]' "$jsonl"
check "h1 (the worst) is ranked first" jq_quiet -e -s '[.[1:][] | .host] | first == "h1"' "$jsonl"

# --- the page ---------------------------------------------------------------------
html=$report/report.html
check "report.html has no script, no external resource" bash -c '! grep -qiE "<script|src=\"(https?:)?//|href=\"https?:|@import|url\(" "$1"' _ "$html"
check "report.html names each host, worst first" bash -c 'grep -o "<th scope=\"row\"><a href=\"#h-h[0-9]\">h[0-9]" "$1" | sed "s/.*>//" | head -n 1 | grep -qx h1' _ "$html"
check "report.html lists h1's findings by severity" grep -q 'sshd/permit-root-login' "$html"
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --no-first-run --disable-dev-shm-usage \
    --user-data-dir="$tmp/chromium" --screenshot="$tmp/report.png" --window-size=1200,1600 "file://$html" >"$tmp/chromium.out" 2>&1 || true
check "Chromium renders report.html to a PNG" bash -c '[ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d " \n")" == 89504e470d0a1a0a ] && [ "$(stat -c %s "$1")" -gt 20000 ]' _ "$tmp/report.png"

# --- apply, the canary refuses: only root logs in, with a key ----------------------
# first-five turns root logins off; the lockout guard sees that no account
# would then log in and become root, and refuses on the canary. The
# rollout stops there: the other hosts are untouched.
for h in "${hosts[@]}"; do
    find "$tmp/root-$h/etc" -type f -exec sha256sum {} + 2>/dev/null | sort >"$tmp/$h.etc.before"
done
rc=0
playbook hardkit.hardening.apply -e '{"hardkit_admin_nets": ["10.77.0.0/16"]}' -e hardkit_ssh_port=2222 >"$tmp/apply1.out" 2>&1 || rc=$?
check "apply with only root's key: the playbook fails (exit $rc)" [ "$rc" != 0 ]
check "... on the canary, h1, whose lockout guard refused" grep -qE 'first-five --apply refused on h1 .*(sshd/no-root-route|lockout)' "$tmp/apply1.out"
check "... and no other host was started" bash -c '! grep -qE "^(ok|changed|fatal): \[h[23]\]" <(sed -n "/first-five --apply/,\$p" "$1")' _ "$tmp/apply1.out"
check "h1: the new sshd drop-in did not stay on disk" [ ! -e "$tmp/root-h1/etc/ssh/sshd_config.d/00-hardkit.conf" ]
for h in h2 h3; do
    find "$tmp/root-$h/etc" -type f -exec sha256sum {} + 2>/dev/null | sort >"$tmp/$h.etc.after"
    check "$h: untouched (every file of /etc as before)" cmp -s "$tmp/$h.etc.before" "$tmp/$h.etc.after"
done
check "h1: sshd still answers on 22" in_host h1 true

# --- an admin account with the key and sudo: then plan, apply ------------------
"$ansible_bin/ansible" -i "$tmp/inventory.ini" fleet -m ansible.builtin.user -a 'name=admin shell=/bin/bash groups=sudo append=true' >"$tmp/admin.out" 2>&1 ||
    { tail -n 20 "$tmp/admin.out" >&2; fail "the admin account"; finish fleet; }
"$ansible_bin/ansible" -i "$tmp/inventory.ini" fleet -m ansible.builtin.shell -a \
    'install -d -o admin -g admin -m 0700 /home/admin/.ssh && install -o admin -g admin -m 0600 /root/.ssh/authorized_keys /home/admin/.ssh/authorized_keys && echo "admin ALL=(ALL) NOPASSWD: ALL" >/etc/sudoers.d/admin && chmod 0440 /etc/sudoers.d/admin && visudo -cq' \
    >>"$tmp/admin.out" 2>&1 || { tail -n 20 "$tmp/admin.out" >&2; fail "the admin's key and sudo"; finish fleet; }
sed -i 's/^ansible_user=root$/ansible_user=admin/' "$tmp/inventory.ini"

for h in "${hosts[@]}"; do
    find "$tmp/root-$h/etc" -type f -exec sha256sum {} + 2>/dev/null | sort >"$tmp/$h.etc.before"
done
rc=0
playbook hardkit.hardening.apply --check --diff -e '{"hardkit_admin_nets": ["10.77.0.0/16"]}' -e hardkit_ssh_port=2222 >"$tmp/plan.out" 2>&1 || rc=$?
expect_status 0 "$rc" "the plan (--check --diff)"
((rc == 0)) || tail -n 30 "$tmp/plan.out" >&2
check "the plan shows first-five's diffs (the new sshd drop-in)" grep -q '00-hardkit.conf' "$tmp/plan.out"
for h in "${hosts[@]}"; do
    find "$tmp/root-$h/etc" -type f -exec sha256sum {} + 2>/dev/null | sort >"$tmp/$h.etc.after"
    check "$h: the plan changed nothing in /etc" cmp -s "$tmp/$h.etc.before" "$tmp/$h.etc.after"
done

rc=0
playbook hardkit.hardening.apply -e '{"hardkit_admin_nets": ["10.77.0.0/16"]}' -e hardkit_ssh_port=2222 -e "hardkit_report_dir=$report" >"$tmp/apply2.out" 2>&1 || rc=$?
expect_status 0 "$rc" "apply on all three, a canary first"
((rc == 0)) || tail -n 40 "$tmp/apply2.out" >&2
check "the canary ran alone first, then the batches" bash -c 'grep -E "^PLAY \[hardkit apply\]" "$1" | wc -l | grep -qx 3' _ "$tmp/apply2.out"
check "each host was reached again on port 2222 before the next one started" bash -c '[ "$(grep -c "TASK \[hardkit.hardening.apply : A login there succeeds\]" "$1")" -ge 2 ] && ! grep -q "fatal" "$1"' _ "$tmp/apply2.out"
sed -i 's/^ansible_user=admin$/ansible_user=admin\nansible_port=2222/' "$tmp/inventory.ini"
ssh_port=2222 ssh_user=admin
for h in "${hosts[@]}"; do
    check "$h: admin logs in on 2222" in_host "$h" true
    check "$h: root does not" bash -c '! ssh -i "$1" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p 2222 "root@$2" true 2>/dev/null' _ "$tmp/id_ed25519" "10.77.${h#h}.2"
    check "$h: the fleet baseline is on the controller, not its key on the host" \
        bash -c '[ -s "$1/$2/fleet-fim.db" ] && [ -s "$1/$2/key.generation" ] && [ ! -e "$3/run/hardkit-fleet" ]' _ "$state" "$h" "$tmp/root-$h"
done
check "the audit after the apply: no sshd finding at high on any host" \
    jq_quiet -e -s 'all(.[]; (.type == "finding" and (.id | startswith("sshd/")) and (.severity == "high" or .severity == "critical")) | not)' "$jsonl"

rc=0
playbook hardkit.hardening.apply -e '{"hardkit_admin_nets": ["10.77.0.0/16"]}' -e hardkit_ssh_port=2222 -e "hardkit_report_dir=$report" >"$tmp/apply3.out" 2>&1 || rc=$?
expect_status 0 "$rc" "a second apply"
# The tasks that reported a change, other than copying the run's key in.
changed_tasks=$(awk '/^TASK \[/ { task = $0; next } /^changed:/ { print task " " $2 }' "$tmp/apply3.out" |
    grep -v -e 'The key and its generation record' -e "The controller's copy, for this run" -e 'A directory for it' -e 'Nothing of the key stays' -e 'The report' -e 'One fleet report' | sort -u || true)
check "a second apply changes nothing on the hosts (got: ${changed_tasks:-nothing}; $(grep '"msg":' "$tmp/apply3.out" | sort -u | head -c 900))" [ -z "$changed_tasks" ]

# --- a host rewrites its own baseline -----------------------------------------------
# An intruder on h2 adds a backdoor account and re-makes the fleet baseline
# without the key (fim init, as root on h2).
echo 'sysupd:x:0:0::/root:/bin/bash' >>"$tmp/root-h2/etc/passwd"
"$HARDKIT_BIN_DIR/fim" init -q --root "$tmp/root-h2" --db /var/lib/hardkit/fleet-fim.db
rc=0
playbook hardkit.hardening.audit -e "hardkit_report_dir=$report" >"$tmp/audit3.out" 2>&1 || rc=$?
expect_status 0 "$rc" "the audit after the intrusion"
check "h2: the controller reports the rewritten baseline (critical)" \
    jq_quiet -e -s 'any(.[]; .host == "h2" and .id == "fleet/baseline-rewritten" and .severity == "critical")' "$jsonl"
check "h2: and the backdoor line in /etc/passwd, from the controller's copy" \
    jq_quiet -e -s 'any(.[]; .host == "h2" and .type == "change" and ((.path | tostring) | contains("/etc/passwd")))' "$jsonl"
check "report.html shows h2's changed /etc/passwd" grep -q 'CHANGE</span> <code>changed</code> /etc/passwd' "$html"
check "h1, h3: neither" jq_quiet -e -s 'all(.[]; (.host != "h2" and (.id == "fleet/baseline-rewritten" or .type == "change")) | not)' "$jsonl"
check "h2 is ranked first now" jq_quiet -e -s '[.[1:][] | .host] | first == "h2"' "$jsonl"
check "the controller keeps the runs for the trend (4 in history.jsonl)" [ "$(wc -l <"$report/history.jsonl")" == 4 ]
check "report.jsonl is this run's only (one fleet_run record)" jq_quiet -e -s '[.[] | select(.type == "fleet_run")] | length == 1' "$jsonl"
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --no-first-run --disable-dev-shm-usage \
    --user-data-dir="$tmp/chromium" --screenshot="$tmp/report.png" --window-size=1200,1600 "file://$html" >"$tmp/chromium.out" 2>&1 || true
check "Chromium renders the last report" bash -c '[ -s "$1" ] && [ "$(stat -c %s "$1")" -gt 20000 ]' _ "$tmp/report.png"

# Every reader takes a record tagged with its host: jailgen the sshd
# settings of sshd-lint, fwplan logscan's offenders.
demo=$top/examples/compromised-agent-host
"$HARDKIT_BIN_DIR/sshd-lint" --root "$demo" --json 2>/dev/null | jq -c '. + {host: "h1"}' >"$tmp/tagged-settings.jsonl" || true
rc=0
"$HARDKIT_BIN_DIR/jailgen" audit --root "$demo" --sshd "$tmp/tagged-settings.jsonl" --json >"$tmp/tagged-jail.jsonl" 2>"$tmp/tagged-jail.err" || rc=$?
check "jailgen reads host-tagged sshd-lint records (exit $rc: $(head -c 200 "$tmp/tagged-jail.err"))" [ "$rc" -le 1 ]
check "... and uses them (the demo's port mismatch)" grep -q 'jailgen/sshd-port-mismatch' "$tmp/tagged-jail.jsonl"
"$HARDKIT_BIN_DIR/logscan" offenders --root "$demo" /var/log/auth.log --json 2>/dev/null | jq -c 'select(.type == "offender") | . + {host: "h1"}' >"$tmp/tagged-offenders.jsonl" || true
rc=0
"$HARDKIT_BIN_DIR/fwplan" render --backend nft --allow 22/tcp --block-from - <"$tmp/tagged-offenders.jsonl" >"$tmp/tagged.nft" 2>"$tmp/tagged.err" || rc=$?
check "fwplan reads host-tagged logscan offenders (exit $rc: $(head -c 200 "$tmp/tagged.err"))" [ "$rc" == 0 ]
check "... and blocks them" grep -q '203.0.113.45' "$tmp/tagged.nft"

# Timing (docs/fleet.md's figures): HARDKIT_FLEET_TIMING=1 times the
# audit with one fork and with three.
if [[ -n ${HARDKIT_FLEET_TIMING:-} ]]; then
    for forks in 1 3; do
        ANSIBLE_FORKS=$forks /usr/bin/time -f "fleet timing: audit of 3 hosts with forks=$forks: %e s wall, controller %U s user + %S s system, %M KB" \
            "$ansible_bin/ansible-playbook" -i "$tmp/inventory.ini" -e "hardkit_deb=$deb" -e "hardkit_fleet_dir=$state" \
            hardkit.hardening.audit -e "hardkit_report_dir=$report" >/dev/null 2>"$tmp/time.err" || true
        tail -n 1 "$tmp/time.err"
    done
    /usr/bin/time -f "fleet timing: an apply that changes nothing, 3 hosts (canary, then one by one): %e s wall, controller %U s user + %S s system" \
        "$ansible_bin/ansible-playbook" -i "$tmp/inventory.ini" -e "hardkit_deb=$deb" -e "hardkit_fleet_dir=$state" \
        hardkit.hardening.apply -e '{"hardkit_admin_nets": ["10.77.0.0/16"]}' -e hardkit_ssh_port=2222 -e "hardkit_report_dir=$report" >/dev/null 2>"$tmp/time.err" || true
    tail -n 1 "$tmp/time.err"
    find "$state/h1" "$report" -type f -printf 'fleet storage: %s bytes %p\n'
    wc -c "$report/history.jsonl" | sed 's/^/fleet storage: /' 
fi

if [[ -n ${HARDKIT_FLEET_REPORT_DIR:-} ]]; then
    mkdir -p "$HARDKIT_FLEET_REPORT_DIR"
    cp "$report/report.jsonl" "$report/report.html" "$tmp/report.png" "$HARDKIT_FLEET_REPORT_DIR/"
fi
finish fleet
