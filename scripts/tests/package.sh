#!/usr/bin/env bash
# shellcheck disable=SC2016 # jq filters and inner shells' $1 are single-quoted on purpose
# The Debian package, end to end. scripts/package builds
# target/debian/hardkit_VERSION_amd64.deb (reused when no file of the checkout
# is newer). Then, in a Debian 12 (bookworm) and a Debian 13 (trixie) root
# without Rust (copies of the machine-wide cache: lib.sh debian_base), the
# root's own apt installs it, with no download (the roots have its
# dependencies and recommendations); every tool answers --version, hardkit-first-five --demo
# gives the demo's five FAIL sections from the installed copy, man finds the
# pages, the monitor's units are installed but not enabled; first-five
# --apply on the root enables the packaged timer instead of writing units of
# its own (and removes the copies an earlier first-five wrote); apt-get
# remove --purge leaves no file of the package and the timer disabled.
#
# Needs root (chroot, apt and dpkg inside the roots).
set -euo pipefail
# shellcheck source=scripts/tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

((EUID == 0)) || not_run package "needs root (chroot, apt inside Debian roots)"
for p in debootstrap chroot unshare flock jq objdump dpkg-deb; do
    command -v "$p" >/dev/null || not_run package "$p is not installed (scripts/test --install-oracles)"
done

tmp=$(mktemp -d)
trap 'debian_base_cleanup; rm -rf "$tmp"' EXIT
suites=(bookworm trixie)
for suite in "${suites[@]}"; do
    debian_base "$suite" "$tmp/$suite" ||
        not_run package "debootstrap of $suite failed (network?): see $hardkit_test_cache/$suite-base.log"
done

# --- the .deb --------------------------------------------------------------------
rc=0
deb=$(hardkit_deb_ensure "$tmp/package.out") || rc=$?
expect_status 0 "$rc" "scripts/package"
if [[ $rc != 0 ]]; then
    tail -n 30 "$tmp/package.out" >&2
    finish package
fi
ok "$(head -n 1 "$tmp/package.out")"
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$top/Cargo.toml")
# A binary that needs a newer glibc than the oldest target's is refused.
rc=0
HARDKIT_MAX_GLIBC=2.17 "$top/scripts/package" >"$tmp/old-glibc.out" 2>&1 || rc=$?
expect_status 1 "$rc" "scripts/package for a glibc 2.17 target"
check "it names the binary and the symbol version it needs" grep -q 'release/sshd-lint needs GLIBC_2\.[0-9]*, newer than GLIBC_2.17' "$tmp/old-glibc.out"
check "exactly one hardkit .deb in $(dirname "$deb")" [ "$(find "$(dirname "$deb")" -maxdepth 1 -name 'hardkit_*.deb' | wc -l)" == 1 ]

dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$tmp/contents"
for t in "${hardkit_tools[@]}"; do
    check "the package has /usr/bin/$t, its man page and completions" bash -c \
        'grep -qx "/usr/bin/$2" "$1" && grep -qx "/usr/share/man/man1/$2.1.gz" "$1" &&
         grep -qx "/usr/share/bash-completion/completions/$2" "$1" &&
         grep -qx "/usr/share/zsh/vendor-completions/_$2" "$1" && grep -qx "/usr/share/fish/vendor_completions.d/$2.fish" "$1"' _ "$tmp/contents" "$t"
done
for f in /usr/bin/hardkit-first-five /usr/bin/hardkit-monitor /usr/lib/systemd/system/hardkit-monitor.service \
    /usr/lib/systemd/system/hardkit-monitor.timer /usr/share/doc/hardkit/copyright \
    /usr/lib/hardkit/scripts/lib/fix.sh /usr/lib/hardkit/examples/compromised-agent-host/etc/ssh/sshd_config; do
    check "the package has $f" grep -qx "$f" "$tmp/contents"
done
dpkg-deb -f "$deb" Depends >"$tmp/depends"
check "it depends on jq and iproute2 (Depends: $(cat "$tmp/depends"))" bash -c 'grep -qw jq "$1" && grep -qw iproute2 "$1"' _ "$tmp/depends"
check "it recommends openssh-server, fail2ban and nftables" bash -c 'dpkg-deb -f "$1" Recommends | grep -q "openssh-server.*fail2ban.*nftables"' _ "$deb"
dpkg-deb -e "$deb" "$tmp/control"
check "its only maintainer script is prerm (nothing is enabled or started on install)" \
    [ "$(cd "$tmp/control" && find . -type f -perm -100 -printf '%f\n')" == prerm ]
check "the copyright file names both licences" bash -c \
    'dpkg-deb --fsys-tarfile "$1" | tar -xOf - ./usr/share/doc/hardkit/copyright | grep -q "^License: Expat or Apache-2.0$"' _ "$deb"
dpkg-deb -x "$deb" "$tmp/x"
need=$(for t in "${hardkit_tools[@]}"; do objdump -T "$tmp/x/usr/bin/$t"; done | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1)
check "no packaged binary needs a glibc newer than Debian 12's 2.36 (newest: $need)" \
    [ "$(printf '%s\n' "$need" 2.36 | sort -V | tail -n1)" == 2.36 ]

# --- installed with apt in each root ---------------------------------------------------
for suite in "${suites[@]}"; do
    r=$tmp/$suite
    check "$suite: no Rust in the root" in_chroot "$r" sh -c '! command -v cargo && ! command -v rustc'
    cp "$deb" "$r/tmp/"
    rc=0
    in_chroot "$r" DEBIAN_FRONTEND=noninteractive apt-get install -y "/tmp/$(basename "$deb")" \
        >"$tmp/$suite.apt" 2>&1 || rc=$?
    expect_status 0 "$rc" "$suite: apt-get install ./$(basename "$deb")"
    if [[ $rc != 0 ]]; then
        tail -n 20 "$tmp/$suite.apt" >&2
        continue
    fi
    # (apt-get --no-download refuses a local .deb: the output says it instead)
    check "$suite: apt installed hardkit alone, nothing downloaded (the root has its Depends and Recommends)" \
        bash -c 'grep -q "^0 upgraded, 1 newly installed" "$1" && ! grep -q "^Get:.*://" "$1"' _ "$tmp/$suite.apt"
    in_chroot "$r" dpkg -L hardkit >"$tmp/$suite.files"
    check "$suite: dpkg -L hardkit lists the binaries" grep -qx /usr/bin/sshd-lint "$tmp/$suite.files"

    for t in "${hardkit_tools[@]}"; do
        got=$(in_chroot "$r" "$t" --version 2>&1 || true)
        check "$suite: $t --version (got: $got)" [ "$got" == "$t $version" ]
    done
    rc=0
    in_chroot "$r" hardkit-first-five --demo >"$tmp/$suite.demo" 2>&1 || rc=$?
    expect_status 1 "$rc" "$suite: hardkit-first-five --demo"
    n=$(grep -c '^\[FAIL\] ' "$tmp/$suite.demo" || true)
    check "$suite: first-five --demo: 7 sections FAIL (got $n)" [ "$n" == 7 ]
    check "$suite: first-five --demo shows the unpackaged set-uid file (modes applied to its copy)" grep -q 'CRITICAL fim/setuid-unpackaged  /usr/local/bin/.sysupd' "$tmp/$suite.demo"
    check "$suite: first-five used the installed tools (no build)" bash -c '! grep -qi "cargo\|building" "$1"' _ "$tmp/$suite.demo"
    rc=0
    in_chroot "$r" hardkit-monitor --help >/dev/null 2>&1 || rc=$?
    expect_status 0 "$rc" "$suite: hardkit-monitor --help"
    got=$(in_chroot "$r" man -w sshd-lint 2>&1 || true)
    check "$suite: man -w sshd-lint finds the page (got: $got)" [ "$got" == /usr/share/man/man1/sshd-lint.1.gz ]
    man_text=$(in_chroot "$r" sh -c 'MANPAGER=cat man fim-check 2>/dev/null' || true)
    check "$suite: man fim-check renders" grep -q 'fim-check' <<<"$man_text"
    got=$(in_chroot "$r" systemctl is-enabled hardkit-monitor.timer 2>&1 || true)
    check "$suite: the monitor timer is installed, not enabled (got: $got)" [ "$got" == disabled ]
    check "$suite: the packaged service runs the installed monitor" \
        grep -qx 'ExecStart=/usr/bin/hardkit-monitor' "$r/usr/lib/systemd/system/hardkit-monitor.service"

    # first-five --apply on the root (from outside, as e2e-debian.sh does;
    # the installed script with the installed tools) enables the packaged
    # timer, and drops the unit an earlier first-five wrote to /etc.
    # (bookworm: a unit an earlier first-five wrote, which goes; trixie: the
    # operator's own drop-in override, which stays)
    seed_demo_config "$r"
    if [[ $suite == bookworm ]]; then
        printf '# Written by hardkit first-five: the daily watch (docs/monitor.md).\n[Service]\nExecStart=/usr/local/bin/hardkit-monitor\n' \
            >"$r/etc/systemd/system/hardkit-monitor.service"
    else
        mkdir -p "$r/etc/systemd/system/hardkit-monitor.service.d"
        printf '# mine\n[Service]\nNice=5\n' >"$r/etc/systemd/system/hardkit-monitor.service.d/local.conf"
        printf '# my own copy\n[Service]\nExecStart=/usr/bin/hardkit-monitor\n' >"$r/etc/systemd/system/hardkit-monitor.service"
    fi
    for run in 1 2; do
        rc=0
        HARDKIT_BIN_DIR=$r/usr/bin "$r/usr/lib/hardkit/scripts/first-five" --root "$r" --apply --yes --json \
            >"$tmp/$suite.apply$run" 2>"$tmp/$suite.apply$run.err" || rc=$?
        expect_status 0 "$rc" "$suite: first-five --root --apply (run $run)"
        [[ $rc == 0 ]] || tail -n 20 "$tmp/$suite.apply$run.err" >&2
    done
    if [[ $suite == bookworm ]]; then
        check "$suite: --apply removed first-five's earlier /etc unit" \
            has "$tmp/$suite.apply1" '.step == "monitor" and .op == "remove" and .path == "/etc/systemd/system/hardkit-monitor.service" and .changed'
        check "$suite: no hardkit-monitor unit left in /etc/systemd/system" \
            bash -c '! ls -d "$1"/etc/systemd/system/hardkit-monitor.* 2>/dev/null' _ "$r"
    else
        check "$suite: --apply left the operator's own unit and drop-in" \
            bash -c 'grep -qx "# my own copy" "$1/hardkit-monitor.service" && [ -s "$1/hardkit-monitor.service.d/local.conf" ]' _ "$r/etc/systemd/system"
    fi
    check "$suite: --apply wrote no unit of its own" \
        bash -c '! jq -e -s "any(.[]; .step == \"monitor\" and .op == \"write\")" "$1" >/dev/null' _ "$tmp/$suite.apply1"
    got=$(in_chroot "$r" systemctl is-enabled hardkit-monitor.timer 2>&1 || true)
    check "$suite: --apply enabled the packaged timer (got: $got)" [ "$got" == enabled ]
    check "$suite: a second --apply changes nothing of the monitor" \
        bash -c '! jq -e -s "any(.[]; .type == \"action\" and .step == \"monitor\" and .changed)" "$1" >/dev/null' _ "$tmp/$suite.apply2"
    # On the machine itself (first-five run inside the root) with
    # --fim-key: the packaged unit gets the key through first-five's drop-in.
    head -c 32 /dev/urandom >"$r/root/fim.key"
    chmod 0600 "$r/root/fim.key"
    rc=0
    in_chroot "$r" hardkit-first-five --plan /root/fk-plan --fim-key /root/fim.key >"$tmp/$suite.fk" 2>&1 || rc=$?
    expect_status 0 "$rc" "$suite: hardkit-first-five --plan --fim-key (inside the root)"
    [[ $rc == 0 ]] || tail -n 20 "$tmp/$suite.fk" >&2
    check "$suite: the plan gives the packaged monitor the key in a drop-in" \
        grep -qx 'ExecStart=/usr/bin/hardkit-monitor --fim-key /root/fim.key' "$r/root/fk-plan/files/etc/systemd/system/hardkit-monitor.service.d/hardkit-fim-key.conf"
    rm -rf "$r/root/fk-plan" "$r/root/fim.key"

    # Removed and purged: no file of the package is left (a directory other
    # packages own too stays, as it should), nor the timer's enabling link.
    rc=0
    in_chroot "$r" DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y hardkit >"$tmp/$suite.purge" 2>&1 || rc=$?
    expect_status 0 "$rc" "$suite: apt-get remove --purge hardkit"
    [[ $rc == 0 ]] || tail -n 20 "$tmp/$suite.purge" >&2
    check "$suite: dpkg no longer knows hardkit" bash -c '! grep -q "^Status: install ok installed" < <(chroot "$1" dpkg -s hardkit 2>/dev/null)' _ "$r"
    mapfile -t files <"$tmp/$suite.files"
    in_chroot "$r" sh -c 'for p; do
        if [ -e "$p" ] || [ -L "$p" ]; then
            if [ -d "$p" ] && [ ! -L "$p" ] && dpkg -S "$p" >/dev/null 2>&1; then continue; fi
            echo "$p"
        fi
    done' sh "${files[@]}" >"$tmp/$suite.left"
    check "$suite: no file of the package is left ($(wc -l <"$tmp/$suite.files") listed; left: $(head -c 300 "$tmp/$suite.left"))" \
        [ ! -s "$tmp/$suite.left" ]
    check "$suite: the timer's enabling link is gone" [ ! -L "$r/etc/systemd/system/timers.target.wants/hardkit-monitor.timer" ]
done

finish package
