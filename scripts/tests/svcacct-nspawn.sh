#!/usr/bin/env bash
# shellcheck disable=SC2016 # bash -c programs are single-quoted on purpose
# Hardened units that keep AI services working (issue 21): boot a Debian
# root with systemd-nspawn and run, under the units `svcacct apply` writes
# for each workload profile, a stand-in program that does what the service
# does (svcacct/tests/standin/standin.py: reads /proc/meminfo, opens the GPU
# device nodes, writes its models or state directory, listens on its port,
# maps W+X memory, pins its CPUs). Every step must work under the profile's
# unit, and what the profile keeps tight must stay refused (an agent cannot
# rewrite its own code). The same stand-ins under the unit svcacct wrote
# before profiles (`--profile none`) show what broke: /proc/meminfo hidden,
# ollama's models directory read-only, no GPU, no JIT.
# Needs root, systemd-nspawn and overlayfs; the cached Debian 12, 13 and
# testing roots, each booted with its own systemd (252, 257, 262).
set -euo pipefail
# shellcheck source=scripts/tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $(id -u) == 0 ]] || not_run svcacct-nspawn "needs root (systemd-nspawn)"
command -v systemd-nspawn >/dev/null || not_run svcacct-nspawn "systemd-nspawn is not installed (apt-get install systemd-container)"
build_tools
tmp=$(mktemp -d)
trap 'debian_base_cleanup; rm -rf "$tmp"' EXIT
svcacct=$HARDKIT_BIN_DIR/svcacct
standin=$top/svcacct/tests/standin/standin.py

# The services: NAME, the command (a stand-in installed at the program's
# path), extra apply options, the stand-in's steps.
services=(ollama vllm pyagent jupyter)
declare -A exec_of opts_of steps_of
exec_of[ollama]='/usr/local/bin/ollama serve'
opts_of[ollama]='--listen 11434 --gpu'
steps_of[ollama]=$'meminfo\nwrite /usr/share/ollama/.ollama/models\ndevice /dev/kfd\ndevice /dev/dri/renderD128\nwx\nlisten 11434'
exec_of[vllm]='/opt/vllm/bin/vllm serve Qwen/Qwen2.5-7B-Instruct'
opts_of[vllm]='--listen 8000'
steps_of[vllm]=$'meminfo\ndevice /dev/kfd\ndevice /dev/dri/renderD128\nwx\naffinity\nwrite /var/lib/vllm\nlisten 8000'
exec_of[pyagent]='/usr/bin/python3 /var/lib/pyagent/app/loop.py'
opts_of[pyagent]='--egress 10.9.0.1/32'
steps_of[pyagent]=$'write /var/lib/pyagent\nnowrite /var/lib/pyagent/app\nlisten 8090\nconnect 10.9.0.1:8081\nnoconnect 10.9.0.2:8081'
exec_of[jupyter]='/opt/jupyter/bin/jupyter-lab --no-browser'
opts_of[jupyter]='--listen 8888'
steps_of[jupyter]=$'meminfo\nwx\nwrite /var/lib/jupyter\nlisten 8888'

# boot SUITE VARIANT PROFILE_ARGS: a fresh copy of the Debian SUITE root, the
# services set up by svcacct apply (with PROFILE_ARGS, e.g. --profile none),
# booted until every stand-in said it was done; their lines in
# $tmp/VARIANT.log.
boot() {
    local suite=$1 variant=$2 profile_args=$3 m=$tmp/$2 name
    debian_base "$suite" "$m" || not_run svcacct-nspawn "no Debian $suite root: see $hardkit_test_cache/$suite-base.log"
    # As ollama's installer leaves a host: its account, home /usr/share/ollama
    # (models in .ollama/models), owned by it; a GPU host's render group.
    in_chroot "$m" groupadd -r render
    in_chroot "$m" useradd -r -s /bin/false -U -m -d /usr/share/ollama ollama
    for name in "${services[@]}"; do
        local program=${exec_of[$name]%% *}
        local apply_opts=${opts_of[$name]}
        # The units of before had no --egress either: the control shows the
        # agent reaching anything without it.
        [[ -n $profile_args ]] && apply_opts=${apply_opts//--egress 10.9.0.1\/32/}
        # shellcheck disable=SC2086 # the options are words
        "$svcacct" apply "$name" --root "$m" --exec "${exec_of[$name]}" $apply_opts $profile_args -q >"$tmp/$variant.$name.apply" 2>&1 ||
            { cat "$tmp/$variant.$name.apply" >&2; fail "$variant: svcacct apply $name"; return 1; }
        if [[ $program == /usr/bin/python3 ]]; then
            program=${exec_of[$name]#* }
            program=${program%% *}
        fi
        mkdir -p "$m$(dirname "$program")"
        install -m 0755 "$standin" "$m$program"
        mkdir -p "$m/etc/standin"
        printf '%s\n' "${steps_of[$name]}" >"$m/etc/standin/$name.conf"
        ln -sf "/etc/systemd/system/$name.service" "$m/etc/systemd/system/multi-user.target.wants/$name.service"
    done
    # The agent's own code, in its state directory and owned by it (as
    # `pip install --user` or a git checkout by the agent leaves it).
    chown --reference="$m/var/lib/pyagent" "$m/var/lib/pyagent/app"
    # The GPU's device nodes as a ROCm host has them (root:render 0660;
    # the null device's numbers, so a read-write open works without a GPU).
    cat >"$m/etc/systemd/system/standin-devices.service" <<'EOF'
[Unit]
DefaultDependencies=no
Before=sysinit.target
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'mknod -m 0660 /dev/kfd c 1 3 && mkdir -p /dev/dri && mknod -m 0660 /dev/dri/renderD128 c 1 3 && chgrp render /dev/kfd /dev/dri/renderD128'
[Install]
WantedBy=sysinit.target
EOF
    # Two hosts on the container's own network to reach: one the agent may
    # (--egress 10.9.0.1/32), one it may not; each accepts on 8081.
    cat >"$m/etc/systemd/system/standin-peers.service" <<'EOF'
[Unit]
Before=multi-user.target
[Service]
ExecStartPre=/bin/sh -c 'ip link set lo up; ip addr add 10.9.0.1/32 dev lo; ip addr add 10.9.0.2/32 dev lo'
ExecStart=/usr/bin/python3 -c 'import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 8081)); s.listen(16); [c.close() for c, _ in iter(s.accept, None)]'
[Install]
WantedBy=multi-user.target
EOF
    ln -sf /etc/systemd/system/standin-peers.service "$m/etc/systemd/system/multi-user.target.wants/"
    mkdir -p "$m/etc/systemd/system/sysinit.target.wants"
    ln -sf /etc/systemd/system/standin-devices.service "$m/etc/systemd/system/sysinit.target.wants/"
    # Waits for every stand-in (at most 60 s), keeps their lines, powers off.
    cat >"$m/usr/local/sbin/standin-collect" <<EOF
#!/bin/sh
for i in \$(seq 60); do
    n=0
    for s in ${services[*]}; do
        journalctl -q -o cat -u \$s.service | grep -q '^STANDIN done' && n=\$((n + 1))
    done
    [ \$n = ${#services[@]} ] && break
    sleep 1
done
for s in ${services[*]}; do
    journalctl -q -o cat -u \$s.service | sed -n "s/^STANDIN /\$s /p"
    systemctl is-failed -q \$s.service && systemctl status --no-pager -l \$s.service | sed "s/^/\$s status: /"
done >/root/standin.log 2>&1
systemctl poweroff --no-block
EOF
    chmod 755 "$m/usr/local/sbin/standin-collect"
    cat >"$m/etc/systemd/system/standin-collect.service" <<'EOF'
[Unit]
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/standin-collect
[Install]
WantedBy=default.target
EOF
    ln -sf /etc/systemd/system/standin-collect.service "$m/etc/systemd/system/multi-user.target.wants/"
    local rc=0
    # The container gets the unified cgroup hierarchy whatever the host
    # mounts (systemd 262 refuses to boot on cgroup v1), and no seccomp
    # filter of nspawn's own: it refuses bpf(), and without it the units'
    # IPAddressDeny= is not enforced (our own test roots; the units inside
    # keep their own filters).
    SYSTEMD_SECCOMP=0 SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 timeout 240 systemd-nspawn -q -D "$m" --boot --register=no --keep-unit --private-network ${HARDKIT_NSPAWN_DEBUG:+--setenv=SYSTEMD_LOG_LEVEL=debug} \
        >"$tmp/$variant.console" 2>&1 || rc=$?
    if [[ ! -s $m/root/standin.log ]]; then
        tail -n 30 "$tmp/$variant.console" >&2
        fail "$variant: the booted root wrote no stand-in results (nspawn exit $rc)"
        return 1
    fi
    cp "$m/root/standin.log" "$tmp/$variant.log"
    [[ -z ${HARDKIT_NSPAWN_DEBUG:-} ]] || cp "$tmp/$variant.console" "/tmp/nspawn-$variant.console"
    sed "s/^/$variant: /" "$tmp/$variant.log"
}

# expect_fail SERVICE STEP ERRNO WHY: under the generic unit, STEP failed with ERRNO.
expect_fail() {
    local got
    got=$(grep "^$1 $2 \(ok\|FAIL\)" "$tmp/$suite-generic.log" | tail -n 1)
    check "$suite generic: $1: $2 is refused with $3 ($4; got: ${got:-nothing})" bash -c '[[ $1 == *" FAIL $2" ]]' _ "$got" "$3"
}

# Each Debian release's own systemd: MemoryDenyWriteExecute= is a seccomp
# filter in 252 (mmap fails with EPERM) and the kernel's PR_SET_MDWE from
# 257 (Linux 6.3 and later: EACCES).
for suite in ${HARDKIT_NSPAWN_SUITES:-bookworm trixie forky}; do
    case $suite in
        bookworm) wx=EPERM ;;
        *) wx=EACCES ;;
    esac
    if boot "$suite" "$suite-profiles" ""; then
        for name in "${services[@]}"; do
            check "$suite profiles: $name's stand-in finished" grep -q "^$name done" "$tmp/$suite-profiles.log"
            while IFS= read -r step; do
                got=$(grep "^$name $step \(ok\|FAIL\)" "$tmp/$suite-profiles.log" | tail -n 1)
                check "$suite profiles: $name: $step works (got: ${got:-nothing})" bash -c '[[ $1 == *" ok"* ]]' _ "$got"
            done <<<"${steps_of[$name]}"
        done
        check "$suite profiles: the agent cannot rewrite its own code (read-only file system)" \
            grep -q '^pyagent nowrite /var/lib/pyagent/app ok EROFS' "$tmp/$suite-profiles.log"
        check "$suite profiles: the agent's connection outside --egress is dropped by the unit's IP filter" \
            grep -q '^pyagent noconnect 10.9.0.2:8081 ok \(EPERM\|TimeoutError\)' "$tmp/$suite-profiles.log"
    fi

    if boot "$suite" "$suite-generic" "--profile none"; then
        for name in "${services[@]}"; do
            check "$suite generic: $name's stand-in finished" grep -q "^$name done" "$tmp/$suite-generic.log"
        done
        # What the unit of before the profiles broke, each for its reason.
        expect_fail ollama meminfo ENOENT "ProcSubset=pid hides /proc/meminfo"
        expect_fail ollama "write /usr/share/ollama/.ollama/models" EROFS "ProtectSystem=strict, the models directory not in ReadWritePaths="
        expect_fail ollama "device /dev/kfd" EACCES "not in the render group"
        expect_fail ollama wx "$wx" "MemoryDenyWriteExecute=yes"
        expect_fail vllm meminfo ENOENT "ProcSubset=pid"
        expect_fail vllm "device /dev/kfd" ENOENT "PrivateDevices=yes: no GPU"
        expect_fail vllm wx "$wx" "MemoryDenyWriteExecute=yes"
        expect_fail vllm affinity EPERM "SystemCallFilter=~@resources"
        expect_fail jupyter wx "$wx" "MemoryDenyWriteExecute=yes"
        expect_fail jupyter meminfo ENOENT "ProcSubset=pid"
        got=$(grep "^pyagent noconnect 10.9.0.2:8081" "$tmp/$suite-generic.log" | tail -n 1)
        check "$suite generic: without --egress the agent reaches any host (got: ${got:-nothing})" bash -c '[[ $1 == *" FAIL EEXIST" ]]' _ "$got"
        got=$(grep "^pyagent nowrite /var/lib/pyagent/app" "$tmp/$suite-generic.log" | tail -n 1)
        check "$suite generic: the agent could rewrite its own code (got: ${got:-nothing})" bash -c '[[ $1 == *" FAIL EEXIST" ]]' _ "$got"
    fi
done
finish svcacct-nspawn
