#!/usr/bin/env bash
# shellcheck disable=SC2016 # inner shells' $1 are single-quoted on purpose
# scripts/install, end to end, into a copy of the Debian 12 root: DESTDIR=ROOT
# with the default PREFIX /usr/local, as a package build would stage it.
# Then, inside the root (chroot), the installed tools and scripts are used
# the way a person would after `scripts/install`: the binaries on PATH, the
# man pages rendered by man, the bash completion completing, and
# `hardkit-first-five --demo` giving the demo's checklist from the installed
# copy. A second install changes no file.
#
# Needs root (chroot). Builds the release binaries, as scripts/install does.
set -euo pipefail
# shellcheck source=scripts/tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

((EUID == 0)) || not_run install "needs root (chroot into a Debian root)"
for p in debootstrap chroot unshare jq man; do
    command -v "$p" >/dev/null || not_run install "$p is not installed (scripts/test --install-oracles)"
done
cache=$(debian_root install) || not_run install "the Debian 12 root could not be built (network?): see ${HARDKIT_TEST_CACHE:-/var/cache/hardkit-tests}/bookworm-base.log"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
r=$tmp/root
cp -a "$cache" "$r"

rc=0
DESTDIR=$r "$top/scripts/install" >"$tmp/install.out" 2>&1 || rc=$?
expect_status 0 "$rc" "DESTDIR=ROOT scripts/install"
[[ $rc == 0 ]] || cat "$tmp/install.out" >&2
# (the installed scripts link to PREFIX/lib/hardkit: judged inside the root)
p=$r/usr/local
tools=("${hardkit_tools[@]}")
for t in "${tools[@]}"; do
    check "$t installed and executable" [ -x "$p/bin/$t" ]
    check "$t: man page" [ -s "$p/share/man/man1/$t.1" ]
    check "$t: bash, zsh and fish completions" \
        bash -c '[[ -s $1/share/bash-completion/completions/$2 && -s $1/share/zsh/site-functions/_$2 && -s $1/share/fish/vendor_completions.d/$2.fish ]]' _ "$p" "$t"
done

# In the root, as a person would use them.
# (with its own /proc, in a private mount namespace: bash needs /dev/fd)
in_root() {
    unshare --mount --fork sh -c 'mount -t proc proc "$1/proc" && shift && exec chroot "$@"' sh "$r" "$r" \
        env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}
check "hardkit-first-five and hardkit-monitor are on PATH" in_root sh -c 'command -v hardkit-first-five && command -v hardkit-monitor' >/dev/null
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$top/Cargo.toml" | head -n1)
for t in "${tools[@]}"; do
    got=$(in_root "$t" --version 2>&1 || true)
    check "$t --version on PATH in the root (got: $got)" [ "$got" == "$t $version" ]
done
# The man pages: what man renders (on this machine, from the installed file).
man -P cat -l "$p/share/man/man1/sshd-lint.1" >"$tmp/man.txt" 2>/dev/null || true
check "man renders sshd-lint(1) with its options" grep -q -- '--effective' "$tmp/man.txt"
n=$(find "$p/share/man/man1" -name '*.1' | wc -l)
check "a man page per tool and subcommand ($n)" [ "$n" -ge 12 ]
# The bash completion completes an option.
got=$(bash -c '. "$1"; COMP_WORDS=(sshd-lint --eff); COMP_CWORD=1; COMP_LINE="sshd-lint --eff"; COMP_POINT=${#COMP_LINE}; "$(complete -p sshd-lint | sed "s/.*-F \([^ ]*\).*/\1/")" sshd-lint --eff sshd-lint; echo "${COMPREPLY[*]}"' _ "$p/share/bash-completion/completions/sshd-lint" 2>&1 || true)
check "bash completes sshd-lint --eff to --effective (got: $got)" bash -c '[[ " $1 " == *" --effective "* ]]' _ "$got"

# The installed checklist, from the installed copy of the demo (jq from this
# machine: host and root are both Debian 12).
install_jq "$r"
rc=0
in_root hardkit-first-five --demo >"$tmp/demo.txt" 2>&1 || rc=$?
expect_status 1 "$rc" "hardkit-first-five --demo (installed)"
n=$(grep -c '^\[FAIL\] ' "$tmp/demo.txt" || true)
check "installed first-five --demo: 7 sections FAIL (got $n)" [ "$n" == 7 ]
check "installed first-five --demo shows the unpackaged set-uid file" grep -q 'CRITICAL fim/setuid-unpackaged  /usr/local/bin/.sysupd' "$tmp/demo.txt"
check "installed first-five used the installed tools (no build)" bash -c '! grep -qi "cargo\|building" "$1"' _ "$tmp/demo.txt"
rc=0
in_root hardkit-monitor --help >/dev/null 2>&1 || rc=$?
expect_status 0 "$rc" "hardkit-monitor --help (installed)"

# first-five on a tree where hardkit is installed plans the daily timer
# with the installed monitor.
seed_demo_config "$r"
rc=0
HARDKIT_BIN_DIR=$p/bin "$top/scripts/first-five" --root "$r" --plan "$tmp/plan" >/dev/null 2>"$tmp/plan.err" || rc=$?
expect_status 0 "$rc" "first-five --root (hardkit installed) --plan"
[[ $rc == 0 ]] || cat "$tmp/plan.err" >&2
check "the plan runs /usr/local/bin/hardkit-monitor from a timer" \
    grep -qx 'ExecStart=/usr/local/bin/hardkit-monitor' "$tmp/plan/files/etc/systemd/system/hardkit-monitor.service"
check "the plan has the daily timer" grep -qx 'OnCalendar=daily' "$tmp/plan/files/etc/systemd/system/hardkit-monitor.timer"
check "the unit names no path of this machine" bash -c '! grep -q HARDKIT_BIN_DIR "$1"' _ "$tmp/plan/files/etc/systemd/system/hardkit-monitor.service"
check "the plan enables it" has "$tmp/plan/plan.jsonl" '.step == "monitor" and .op == "enable" and .changed == true'

# A second install changes no file (the same bytes, modes and links).
fingerprint() { find "$p" -printf '%p %m %l\n' -type f -exec sha256sum {} + | sort | sha256sum; }
before=$(fingerprint)
DESTDIR=$r "$top/scripts/install" >/dev/null 2>&1 || fail "second scripts/install failed"
check "a second install leaves the same files" [ "$(fingerprint)" == "$before" ]

finish install
