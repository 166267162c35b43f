# shellcheck shell=bash disable=SC2016 # jq filters are single-quoted on purpose
# Shared by the script tests: where the debug binaries are, and assertions
# that say what they expected. Sourced, not run.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The binaries (hardkit_tools): one list, the scripts' own.
# shellcheck source=scripts/lib/tools.sh
. "$top/scripts/lib/tools.sh"
# The tests run the debug build (what `cargo test` builds), never PATH.
HARDKIT_BIN_DIR="${CARGO_TARGET_DIR:-$top/target}/debug"
export HARDKIT_BIN_DIR
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

ok() {
    echo "ok: $*"
}

# Build the tools once (a no-op after cargo test built them).
build_tools() {
    (cd "$top" && cargo build --workspace --quiet --bins) || {
        echo "cargo build failed" >&2
        exit 1
    }
}

# check WHAT COMMAND...: COMMAND succeeds.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}

# expect_status WANT GOT WHAT
expect_status() {
    if [[ $1 == "$2" ]]; then ok "$3: exit $2"; else fail "$3: exit $2, expected $1"; fi
}

# Every line of FILE is a JSON object with string fields type and tool.
expect_jsonl() {
    local file=$1 what=$2 bad
    [[ -s $file ]] || { fail "$what: no output at all"; return; }
    bad=$(jq -R 'fromjson? // "unparsable" | if type == "object" and (.type|type) == "string" and (.tool|type) == "string" then empty else . end' "$file" | head -3)
    if [[ -n $bad ]]; then fail "$what: lines that are not {type, tool} JSON objects: $bad"; else ok "$what: every line is a JSON record with type and tool"; fi
}

# has FILE [JQ-ARGS...] FILTER: some record of FILE satisfies FILTER. (Slurped:
# jq 1.6's -e looks only at the last output, which select() leaves empty.)
has() {
    local file=$1
    shift
    local filter=${*: -1}
    jq -s -e "${@:1:$#-1}" "any(.[]; $filter)" "$file" >/dev/null
}

# expect_ids FILE WHAT ID... : each ID is the id of a finding record in FILE.
expect_ids() {
    local file=$1 what=$2 id
    shift 2
    for id in "$@"; do
        if has "$file" --arg id "$id" '.type == "finding" and .id == $id'; then
            ok "$what: finding $id"
        else
            fail "$what: no finding $id in $file"
        fi
    done
}

finish() {
    if ((failures)); then
        echo "$1: $failures failure(s)" >&2
        exit 1
    fi
    echo "$1: all passed"
}

# jq with its output dropped (for check, which only looks at the status).
jq_quiet() {
    jq "$@" >/dev/null
}

# Seed a Debian root (a copy of the debootstrap cache) with the demo server's
# bad configuration: sshd allowing root and passwords (cloud-init drop-in),
# the stock jail on the wrong port, an accept-all nftables.conf, the agent
# unit running as root with its key in Environment=, sudo ALL for agent, an
# agent account in docker, and an admin with a key in sudo. The auth log is empty.
seed_demo_config() {
    local r=$1 demo=$top/examples/compromised-agent-host
    cp "$demo/etc/ssh/sshd_config" "$r/etc/ssh/sshd_config"
    cp "$demo/etc/ssh/sshd_config.d/50-cloud-init.conf" "$r/etc/ssh/sshd_config.d/"
    cp "$demo/etc/fail2ban/jail.local" "$r/etc/fail2ban/jail.local"
    cp "$demo/etc/nftables.conf" "$r/etc/nftables.conf"
    install -m 0440 "$demo/etc/sudoers.d/agent" "$r/etc/sudoers.d/agent"
    install -D -m 0755 "$demo/opt/agent/bin/agent" "$r/opt/agent/bin/agent"
    cp "$demo/etc/systemd/system/agent.service" "$r/etc/systemd/system/agent.service"
    chroot "$r" useradd -m -s /bin/bash admin
    # (as on the demo server: the admin's way to root; its own group named
    # admin is none)
    chroot "$r" gpasswd -a admin sudo >/dev/null
    chroot "$r" useradd -r -d /opt/agent -s /bin/bash agent
    chroot "$r" groupadd -f docker
    chroot "$r" gpasswd -a agent docker >/dev/null
    install -d -m 0700 "$r/home/admin/.ssh"
    install -m 0600 "$demo/home/admin/.ssh/authorized_keys" "$r/home/admin/.ssh/authorized_keys"
    chroot "$r" chown -R admin:admin /home/admin/.ssh
    : >"$r/var/log/auth.log"
}

# not_run TEST REASON: say loudly that TEST did not run (and why), record it
# for scripts/test's banner, and stop; under CI=true that is a failure.
not_run() {
    echo "!!! NOT RUN: $1: $2" >&2
    [[ -n ${HARDKIT_NOT_RUN_LOG:-} ]] && echo "NOT RUN: scripts/tests/$1.sh: $2" >>"$HARDKIT_NOT_RUN_LOG"
    if [[ ${CI:-} == true ]]; then
        echo "$1: CI=true requires this test to run" >&2
        exit 1
    fi
    exit 0
}

# debian_root TEST: print the path of a Debian 12 root with the programs
# hardkit configures: the machine-wide cached base root (debian_base_ensure
# below: built once per machine with debootstrap, shared by every suite and
# every fresh clone). Tests copy it, never change it. Status 1 when it
# could not be built.
debian_root() {
    debian_base_ensure bookworm
}

# --- Debian roots, cached machine-wide ------------------------------------
# CI runs each time from a fresh clone, so the roots are kept outside the
# checkout: $HARDKIT_TEST_CACHE, default /var/cache/hardkit-tests.
hardkit_test_cache=${HARDKIT_TEST_CACHE:-/var/cache/hardkit-tests}
# The mirror this machine's apt sources name.
debian_mirror=http://deb.debian.org/debian
# What a base root has beyond debootstrap's minbase: the programs hardkit
# configures and judges with (the package's Depends and Recommends, so that
# `apt-get install ./hardkit_*.deb` needs no download), jq and man, AIDE
# (each release's own judges fim: fim/tests/mutations.rs) and
# unattended-upgrades (judges secupdates; first-five --apply configures it).
debian_base_packages=(systemd openssh-server fail2ban python3-systemd sudo nftables logrotate jq iproute2 man-db aide unattended-upgrades)
# Bump when the way a root is built changes: every cached root is rebuilt.
debian_base_version=1

# in_chroot ROOT COMMAND...: run COMMAND in ROOT (chroot) with its own /proc,
# in a private mount namespace (so the mount goes away with the command, and
# bash finds /dev/fd), with a clean environment.
in_chroot() {
    local r=$1
    shift
    unshare --mount --fork sh -c 'mount -t proc proc "$1/proc" && shift && exec chroot "$@"' sh "$r" "$r" \
        env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}

# root_apt_install ROOT LOG PACKAGE...: install PACKAGEs with ROOT's own
# apt, chrooted (no service starts: policy-rc.d says no), without
# recommends; apt's output in LOG. Status: apt's.
root_apt_install() {
    local r=$1 log=$2
    shift 2
    printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
    chmod 755 "$r/usr/sbin/policy-rc.d"
    in_chroot "$r" sh -c 'apt-get -o Acquire::Check-Valid-Until=false update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"' sh "$@" >"$log" 2>&1
}

# debian_base_build SUITE DIR: debootstrap SUITE into DIR (minbase), then the
# extra packages with the root's own apt. (Not debootstrap --include: for
# trixie it fails on systemd's pre-dependency order.) Daemons do not start
# (policy-rc.d while installing).
debian_base_build() {
    local suite=$1 dir=$2
    rm -rf "$dir"
    # A debootstrap older than the suite has no script named for it (Debian
    # 12's knows nothing of forky): testing's suites bootstrap as sid does.
    local script=()
    if [[ ! -e /usr/share/debootstrap/scripts/$suite ]]; then
        script=(/usr/share/debootstrap/scripts/sid)
    fi
    debootstrap --variant=minbase "$suite" "$dir" "$debian_mirror" "${script[@]}" || return 1
    printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
    chmod 755 "$dir/usr/sbin/policy-rc.d"
    # The archive's Release file for testing carries a Valid-Until that a
    # mirror snapshot may have passed; these roots are test oracles, not
    # servers, so an expired (but signed) Release is accepted.
    in_chroot "$dir" sh -c 'apt-get -o Acquire::Check-Valid-Until=false update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" && apt-get clean' \
        sh "${debian_base_packages[@]}" || return 1
    rm -f "$dir/usr/sbin/policy-rc.d"
}

# debian_base SUITE DEST: a writable copy of a minimal Debian SUITE root
# (bookworm, trixie) with debian_base_packages, at DEST (which must not exist
# yet). The root is built once per machine into
# $hardkit_test_cache/SUITE-base (debootstrap and apt: about 100 s, 320 MB)
# and rebuilt when its stamp (SUITE-base.stamp: cache version, mirror,
# packages) differs: built into SUITE-base.tmp, then renamed. An exclusive
# lock (SUITE-base.lock) while it is checked or built, so two suites never
# build it at once; then a shared one, held until this shell exits, so it is
# not rebuilt under a test using it. The copy is an overlay mount (the
# cache is its read-only lower layer; DEST.upper holds the changes), or,
# where overlayfs is missing, cp -a (30 s). Tests change their copy, never
# the cache; call debian_base_cleanup (in the EXIT trap, before removing
# DEST's directory) to unmount. Status 1 when the build failed (its log:
# SUITE-base.log).
debian_base_mounts=()
declare -A debian_base_held=()
debian_base() {
    local suite=$1 dest=$2 cache=$hardkit_test_cache/$1-base lock
    # A second copy in the same shell: the shared lock it holds already
    # keeps the root checked and in place (asking again would wait on it).
    if [[ -z ${debian_base_held[$suite]:-} ]]; then
        debian_base_ensure "$suite" >/dev/null || return 1
        exec {lock}>"$cache.lock"
        flock -s "$lock"
        debian_base_held[$suite]=1
    fi
    mkdir -p "$dest" "$dest.upper" "$dest.work"
    if mount -t overlay overlay -o "lowerdir=$cache,upperdir=$dest.upper,workdir=$dest.work" "$dest" 2>/dev/null; then
        debian_base_mounts+=("$dest")
    else
        rmdir "$dest" "$dest.upper" "$dest.work"
        cp -a "$cache" "$dest" || return 1
    fi
}

# debian_base_ensure SUITE: build the cached root of SUITE if it is missing
# or stale (see debian_base) and print its path. The Rust suites read these
# roots in place, through hardkit_core::sandbox, never writing them.
debian_base_ensure() {
    local suite=$1 cache=$hardkit_test_cache/$1-base stamp lock
    stamp="hardkit debian_base v$debian_base_version $suite $debian_mirror ${debian_base_packages[*]}"
    mkdir -p "$hardkit_test_cache" || return 1
    exec {lock}>"$cache.lock"
    flock -x "$lock"
    if [[ ! -d $cache || $(cat "$cache.stamp" 2>/dev/null) != "$stamp" ]]; then
        echo "debootstrap of Debian $suite into $cache (once per machine, about 100 s) ..." >&2
        if ! debian_base_build "$suite" "$cache.tmp" >"$cache.log" 2>&1; then
            echo "debootstrap of Debian $suite failed: see $cache.log" >&2
            exec {lock}>&-
            return 1
        fi
        rm -f "$cache.stamp"
        rm -rf "$cache.old"
        if [[ -e $cache ]]; then mv "$cache" "$cache.old"; fi
        mv "$cache.tmp" "$cache"
        rm -rf "$cache.old"
        echo "$stamp" >"$cache.stamp"
    fi
    exec {lock}>&-
    echo "$cache"
}

# debian_base_cleanup: unmount every copy debian_base mounted in this shell.
debian_base_cleanup() {
    local m
    for m in "${debian_base_mounts[@]}"; do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
    debian_base_mounts=()
}

# install_jq ROOT: this machine's jq and the libraries it links, into ROOT
# (for the scripts run inside a Debian root; host and root are both Debian 12).
install_jq() {
    local lib
    install -m 0755 "$(command -v jq)" "$1/usr/bin/jq"
    ldd "$(command -v jq)" | awk '$3 ~ /^\// { print $3 }' | while read -r lib; do
        [[ -e $1$lib ]] || install -D -m 0644 "$lib" "$1$lib"
    done
}

# --- Upstream OpenSSH releases, built from Debian's archive ---------------
# The portable release tarballs Debian's archive carries as its
# `openssh_VERSION.orig.tar.gz` (the upstream release, unpatched), built as
# upstream ships them, with Debian's install paths so that the paths sshd -T
# prints are those of a packaged sshd, and with PAM and Kerberos/GSS-API as
# most distributions build it. sshd-lint's `--openssh VERSION-upstream`
# model is judged by their `sshd -T` (sshd-lint/tests/differential.rs).
# Kept in $hardkit_test_cache/openssh-upstream-VERSION (usr/sbin/sshd,
# usr/lib/openssh/...), with a stamp; rebuilt when the stamp differs.
# VERSION and the SHA-256 of its tarball, as the archive's Sources index
# lists it (the same upstream tarball under every Debian revision).
declare -A openssh_upstream_sha256=(
    [9.2p1]=3f66dbf1655fb45f50e1c56da62ab01218c228807b21338d634ebcdf9d71cf46
    [10.0p1]=021a2e709a0edf4250b1256bd5a9e500411a90dddabea830ed59cef90eb9d85c
    [10.3p1]=56682a36bb92dcf4b4f016fd8ec8e74059b79a8de25c15d670d731e7d18e45f4
)
openssh_upstream_releases=(9.2p1 10.0p1 10.3p1)
openssh_upstream_configure=(
    --prefix=/usr --sysconfdir=/etc/ssh --libexecdir=/usr/lib/openssh
    --with-privsep-path=/run/sshd --with-pid-dir=/run --with-xauth=/usr/bin/xauth
    --with-pam --with-kerberos5=/usr
)
# What building them needs on this machine is in scripts/test's oracles.

# openssh_upstream_source VERSION DIR: the release tarball into DIR, with
# apt-get source from a private list of deb-src lines (this machine's apt
# configuration is not changed), checked against its pinned SHA-256.
openssh_upstream_source() {
    local version=$1 dir=$2 apt suite deb tarball
    apt=$dir/apt
    mkdir -p "$apt/lists/partial"
    for suite in bookworm bookworm-backports trixie trixie-backports forky sid; do
        echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $debian_mirror $suite main"
    done >"$apt/sources.list"
    local opts=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o Dir::Etc::sourceparts=-
        -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root
        -o Acquire::Check-Valid-Until=false)
    apt-get "${opts[@]}" update -q || return 1
    # Any Debian revision of that upstream release carries the same tarball.
    deb=$(apt-cache "${opts[@]}" showsrc openssh | awk -v v="$version" '
        /^Version: /{ ver=$2; up=ver; sub(/^[0-9]+:/, "", up); sub(/-[^-]*$/, "", up); if (up == v) print ver }' | head -n1)
    if [[ -z $deb ]]; then
        echo "no source of openssh $version in the archive's Sources" >&2
        return 1
    fi
    (cd "$dir" && apt-get "${opts[@]}" source --tar-only --download-only "openssh=$deb") || return 1
    tarball=$dir/openssh_$version.orig.tar.gz
    if ! echo "${openssh_upstream_sha256[$version]}  $tarball" | sha256sum -c --quiet; then
        echo "openssh_$version.orig.tar.gz: SHA-256 differs from the pinned one" >&2
        return 1
    fi
}

# openssh_upstream_build VERSION SRC DEST: configure, build and install
# (no host keys) the release in SRC into DEST.
openssh_upstream_build() {
    local version=$1 src=$2 dest=$3
    (cd "$src" && ./configure "${openssh_upstream_configure[@]}" >configure.log &&
        make -j"$(nproc)" >make.log 2>&1 && make install-nokeys DESTDIR="$dest" >install.log 2>&1) || {
        echo "building openssh $version failed: see $src/{configure,make,install}.log" >&2
        return 1
    }
}

# openssh_upstream_ensure VERSION: build the cached upstream release if it
# is missing or stale, print its directory. Status 1 when it could not be.
openssh_upstream_ensure() {
    local version=$1 cache=$hardkit_test_cache/openssh-upstream-$1 stamp lock work
    stamp="hardkit openssh-upstream v1 $version ${openssh_upstream_sha256[$version]:-} ${openssh_upstream_configure[*]}"
    mkdir -p "$hardkit_test_cache" || return 1
    exec {lock}>"$cache.lock"
    flock -x "$lock"
    if [[ ! -x $cache/usr/sbin/sshd || $(cat "$cache.stamp" 2>/dev/null) != "$stamp" ]]; then
        echo "building upstream OpenSSH $version into $cache (once per machine, about 2 min) ..." >&2
        work=$(mktemp -d)
        if ! {
            openssh_upstream_source "$version" "$work" &&
                tar -xzf "$work/openssh_$version.orig.tar.gz" -C "$work" &&
                rm -rf "$cache.tmp" &&
                openssh_upstream_build "$version" "$work/openssh-$version" "$cache.tmp"
        } >"$cache.log" 2>&1; then
            echo "upstream OpenSSH $version: not built, see $cache.log" >&2
            rm -rf "$work"
            exec {lock}>&-
            return 1
        fi
        rm -rf "$work" "$cache.stamp" "$cache"
        mv "$cache.tmp" "$cache"
        echo "$stamp" >"$cache.stamp"
    fi
    exec {lock}>&-
    echo "$cache"
}

# openssh_upstream_ensure_all: every release of openssh_upstream_releases.
openssh_upstream_ensure_all() {
    local v status=0
    for v in "${openssh_upstream_releases[@]}"; do
        openssh_upstream_ensure "$v" >/dev/null || status=1
    done
    return "$status"
}

# hardkit_deb_ensure LOG: build target/debian/hardkit_VERSION_amd64.deb with
# scripts/package unless it exists and no file of the checkout is newer;
# print its path. Status 1 (LOG holds scripts/package's output) when the
# build failed.
hardkit_deb_ensure() {
    local log=$1 target version deb newer=""
    target=${CARGO_TARGET_DIR:-$top/target}
    version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$top/Cargo.toml")
    deb=$target/debian/hardkit_${version}_amd64.deb
    if [[ -f $deb ]]; then
        newer=$(find "$top" \( -path "$target" -o -path "$top/target" -o -name .git -o -path '*/fuzz/target' \) -prune \
            -o -type f -newer "$deb" -print -quit)
    fi
    if [[ ! -f $deb || -n $newer ]]; then
        "$top/scripts/package" >"$log" 2>&1 || return 1
    else
        echo "reusing $deb (no file of the checkout is newer)" >"$log"
    fi
    echo "$deb"
}

# ansible_ensure: a virtualenv with ansible-core, built once per machine in
# $hardkit_test_cache (Debian's python3 and python3-venv; pip from PyPI);
# print its bin directory. Status 1 when it could not be built.
ansible_core_version=2.17.14
ansible_ensure() {
    local dir=$hardkit_test_cache/ansible-core-$ansible_core_version lock
    mkdir -p "$hardkit_test_cache" || return 1
    exec {lock}>"$dir.lock"
    flock -x "$lock"
    if [[ ! -x $dir/bin/ansible-playbook ]]; then
        rm -rf "$dir"
        if ! { /usr/bin/python3 -m venv "$dir" && "$dir/bin/pip" install -q "ansible-core==$ansible_core_version"; } >"$dir.log" 2>&1; then
            rm -rf "$dir"
            exec {lock}>&-
            return 1
        fi
    fi
    exec {lock}>&-
    echo "$dir/bin"
}
