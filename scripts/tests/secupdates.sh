#!/usr/bin/env bash
# shellcheck disable=SC2016 # jq filters and apt.conf text are single-quoted on purpose
# secupdates against the programs it models, on Debian 12, 13 and testing:
# in a copy of each cached root (unattended-upgrades as Debian installs it,
# no security archive), `secupdates apply` writes the security source and
# the root's own apt fetches from it and installs the package again; then
#   - apt's own reading: `apt-config dump` of the periodic and
#     unattended-upgrade trees equals `secupdates dump`, for the package's
#     files, hardkit's drop-in, and a corpus of tricky syntax
#     (tests/corpus/apt-conf), names apt skips included; a syntax error is
#     reported at the same file and line as apt reports it;
#   - unattended-upgrade --dry-run --debug: the origins it allows after
#     `secupdates apply` are the security archive only, and the packages it
#     would upgrade are exactly `secupdates pending`; an origin it stops on,
#     and origins that miss the security archive, are findings;
#   - systemctl: a masked timer is a finding;
#   - apply refuses when a later file switches the job off, writing nothing.
# Needs root (overlay mounts, chroot) and the network to Debian's archive.
set -euo pipefail
# shellcheck source=scripts/tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $(id -u) -eq 0 ]] || not_run secupdates "needs root (overlay mounts and chroot into the Debian roots)"
command -v debootstrap >/dev/null || not_run secupdates "debootstrap is not installed (scripts/test --install-oracles)"
build_tools
S=$HARDKIT_BIN_DIR/secupdates
SOURCE=/etc/apt/sources.list.d/debian-security.sources
corpus=$top/tests/corpus/apt-conf

tmp=$(mktemp -d)
cleanup() {
    debian_base_cleanup
    rm -rf "$tmp"
}
trap cleanup EXIT

for suite in bookworm trixie forky; do
    r=$tmp/$suite
    debian_base "$suite" "$r" || { fail "$suite: no cached root"; continue; }
    conf=$r/etc/apt/apt.conf.d

    # The cached root: unattended-upgrades as Debian installs it, and no
    # security archive (debootstrap's sources.list names the release only).
    "$S" audit --root "$r" --json >"$tmp/before.jsonl" || true
    expect_ids "$tmp/before.jsonl" "$suite as debootstrap leaves it" secupdates/no-security-source
    check "$suite: ... and nothing else high" \
        jq_quiet -s -e '[.[] | select(.type == "finding" and (.severity == "high" or .severity == "critical")) | .id] == ["secupdates/no-security-source"]' "$tmp/before.jsonl"
    # Removed (its configuration kept, as dpkg --remove leaves it).
    in_chroot "$r" dpkg --remove unattended-upgrades >/dev/null 2>&1 || fail "$suite: dpkg --remove unattended-upgrades failed"
    "$S" audit --root "$r" --json >"$tmp/removed.jsonl" || true
    expect_ids "$tmp/removed.jsonl" "$suite without the package" secupdates/not-installed

    # apply writes the security source; the root's own apt fetches from it
    # and installs the package again.
    "$S" apply --root "$r" --json >"$tmp/apply.jsonl"
    check "$suite: apply writes $SOURCE (no security source)" \
        has "$tmp/apply.jsonl" --arg p "$SOURCE" '.type == "action" and .op == "write" and .path == $p and .changed'
    check "$suite: apply says the package is to be installed" \
        has "$tmp/apply.jsonl" '.type == "action" and .op == "install" and .path == "unattended-upgrades" and .changed'
    if ! root_apt_install "$r" "$tmp/install.log" unattended-upgrades; then
        fail "$suite: apt-get update and install with hardkit's source failed: $(tail -n3 "$tmp/install.log")"
        continue
    fi
    check "$suite: apt fetched $suite-security from hardkit's source" \
        compgen -G "$r/var/lib/apt/lists/*_dists_$suite-security_*Release" >/dev/null
    version=$(in_chroot "$r" dpkg-query -W -f '${Version}' unattended-upgrades)

    # Installed again: the release named; a second apply changes nothing.
    "$S" audit --root "$r" --json >"$tmp/installed.jsonl" || true
    check "$suite: the release record names unattended-upgrades $version" \
        has "$tmp/installed.jsonl" --arg v "$version" '.type == "release" and .program == "unattended-upgrades" and .version == $v and .source == "dpkg"'
    "$S" apply --root "$r" --json >"$tmp/apply2.jsonl"
    check "$suite: a second apply changes nothing" \
        jq_quiet -s -e '[.[] | select(.type == "action" and .op == "write")] | length == 2 and all(.[]; .changed == false)' "$tmp/apply2.jsonl"
    keys=(APT::Periodic Unattended-Upgrade)
    in_chroot "$r" apt-config dump "${keys[@]}" >"$tmp/apt.dump"
    "$S" dump --root "$r" "${keys[@]}" >"$tmp/ours.dump"
    if diff -u "$tmp/apt.dump" "$tmp/ours.dump" >"$tmp/dump.diff"; then
        ok "$suite: apt-config dump ${keys[*]} equals secupdates dump ($(wc -l <"$tmp/apt.dump") lines)"
    else
        fail "$suite: apt-config dump and secupdates dump differ: $(head -n 20 "$tmp/dump.diff")"
    fi

    # unattended-upgrade's own verdict: the origins, and what it would install.
    uu() { in_chroot "$r" unattended-upgrade --dry-run --debug >"$tmp/uu.out" 2>&1; }
    if uu; then ok "$suite: unattended-upgrade --dry-run runs with hardkit's configuration"; else fail "$suite: unattended-upgrade --dry-run failed: $(tail -n5 "$tmp/uu.out")"; fi
    allowed=$(sed -n 's/^Allowed origins are: //p' "$tmp/uu.out")
    check "$suite: unattended-upgrade allows the security archive only (got: $allowed)" \
        [ "$allowed" == "origin=Debian,codename=$suite-security,label=Debian-Security" ]
    theirs=$(sed -n 's/^Packages that will be upgraded: //p' "$tmp/uu.out" | tr ' ' '\n' | sed '/^$/d' | sort -u | paste -sd' ')
    ours=$("$S" pending --root "$r" --json | jq -r 'select(.type == "pending_update") | .package' | sort -u | paste -sd' ')
    check "$suite: secupdates pending equals what unattended-upgrade would upgrade ($(wc -w <<<"$ours") package(s): $ours | theirs: $theirs)" \
        [ "$ours" == "$theirs" ]
    "$S" audit --root "$r" --json >"$tmp/applied.jsonl" || true
    # (lists-stale only where the archive apt fetched has expired: Debian
    # testing's security archive is often left so; the test's apt took it
    # with Check-Valid-Until=false, a server's apt would refuse it)
    until=$(grep -m1 '^Valid-Until:' "$r"/var/lib/apt/lists/*_dists_"$suite"-security_InRelease | cut -d' ' -f2-)
    expired=false
    [[ -n $until ]] && (($(date -d "$until" +%s) < $(date +%s))) && expired=true
    check "$suite: after apply, no finding but pending updates (and lists-stale: $expired, valid until $until)" \
        jq_quiet -s -e --argjson expired "$expired" 'all(.[]; .type != "finding" or .id == "secupdates/pending" or (.id == "secupdates/lists-stale" and $expired))
            and (($expired | not) or any(.[]; .type == "finding" and .id == "secupdates/lists-stale"))' "$tmp/applied.jsonl"

    # An origin unattended-upgrade stops on.
    printf 'Unattended-Upgrade::Origins-Pattern { "org=Debian"; };\n' >"$conf/60hardkit-test"
    "$S" audit --root "$r" --json >"$tmp/stops.jsonl" || true
    check "$suite: 'org=Debian' is a finding at 60hardkit-test:1" \
        has "$tmp/stops.jsonl" '.type == "finding" and .id == "secupdates/pattern-stops" and .location.path == "/etc/apt/apt.conf.d/60hardkit-test" and .location.line == 1'
    if uu; then
        fail "$suite: unattended-upgrade ran with origin 'org=Debian' (expected it to stop)"
    else
        check "$suite: ... and unattended-upgrade stops on it" grep -q 'Unknown whitelist entry for matcher org' "$tmp/uu.out"
    fi

    # Origins that miss the security archive (the point releases only).
    printf '#clear Unattended-Upgrade::Origins-Pattern;\nUnattended-Upgrade::Origins-Pattern {\n "origin=Debian,codename=${distro_codename},label=Debian";\n};\n' >"$conf/60hardkit-test"
    "$S" audit --root "$r" --json >"$tmp/narrow.jsonl" || true
    expect_ids "$tmp/narrow.jsonl" "$suite: point releases only" secupdates/security-not-covered
    uu || true
    allowed=$(sed -n 's/^Allowed origins are: //p' "$tmp/uu.out")
    theirs=$(sed -n 's/^Packages that will be upgraded: //p' "$tmp/uu.out" | tr ' ' '\n' | sed '/^$/d' | sort -u)
    missed=$(comm -12 <(tr ' ' '\n' <<<"$ours" | sed '/^$/d') <(printf '%s\n' "$theirs" | sed '/^$/d') | paste -sd' ')
    check "$suite: ... unattended-upgrade allows only $allowed and would install none of the pending security updates (got: $missed)" \
        [ "$allowed" == "origin=Debian,codename=$suite,label=Debian" -a -z "$missed" ]

    # The job switched off after hardkit's file: a finding at that line,
    # apt reads it so, and apply refuses, writing nothing.
    printf 'APT::Periodic::Unattended-Upgrade "0";\n' >"$conf/60hardkit-test"
    "$S" audit --root "$r" --json >"$tmp/off.jsonl" || true
    check "$suite: Unattended-Upgrade \"0\" in a later file is a finding at its line" \
        has "$tmp/off.jsonl" '.type == "finding" and .id == "secupdates/interval-off" and .location.path == "/etc/apt/apt.conf.d/60hardkit-test" and .location.line == 1'
    shell=$(in_chroot "$r" apt-config shell X APT::Periodic::Unattended-Upgrade)
    check "$suite: ... as apt.systemd.daily reads it (apt-config shell: $shell)" [ "$shell" == "X='0'" ]
    sum=$(md5sum <"$conf/52hardkit-security-updates")
    rc=0
    "$S" apply --root "$r" --reboot-at 03:30 >"$tmp/refused.out" 2>&1 || rc=$?
    expect_status 2 "$rc" "$suite: apply under a later Unattended-Upgrade \"0\""
    check "$suite: ... names the file and line that wins" grep -q '60hardkit-test:1 sets APT::Periodic::Unattended-Upgrade "0"' "$tmp/refused.out"
    check "$suite: ... and writes nothing" [ "$(md5sum <"$conf/52hardkit-security-updates")" == "$sum" ]

    # A syntax error: the same file and line as apt says.
    printf '// a comment\nAPT::Periodic::Unattended-Upgrade "1" junk;\n' >"$conf/60hardkit-test"
    "$S" audit --root "$r" --json >"$tmp/broken.jsonl" || true
    apt_err=$(in_chroot "$r" apt-config dump 2>&1 >/dev/null | grep -o 'Syntax error [^ ]*: Extra junk after value' | head -n1) || true
    check "$suite: a syntax error is critical at 60hardkit-test:2, as apt says ($apt_err)" \
        has "$tmp/broken.jsonl" --arg e "$apt_err" '.type == "finding" and .id == "secupdates/apt-config-broken" and .severity == "critical" and .location.line == 2 and (.detail | startswith($e))'
    rm -f "$conf/60hardkit-test"

    # A masked timer.
    ln -s /dev/null "$r/etc/systemd/system/apt-daily-upgrade.timer"
    "$S" audit --root "$r" --json >"$tmp/masked.jsonl" || true
    state=$(systemctl --root "$r" is-enabled apt-daily-upgrade.timer 2>/dev/null) || true
    check "$suite: a masked apt-daily-upgrade.timer ($state for systemctl) is a finding" \
        has "$tmp/masked.jsonl" '.type == "finding" and .id == "secupdates/timer-off" and (.title | contains("apt-daily-upgrade.timer is masked"))'
    rm -f "$r/etc/systemd/system/apt-daily-upgrade.timer"

    # apt's syntax, file by file: what apt-config dumps of Test, secupdates
    # dumps too; names apt skips are skipped.
    for f in "$corpus"/*.conf; do
        name=$(basename "$f" .conf)
        cp "$f" "$conf/90hardkit-corpus"
        got_apt=$(in_chroot "$r" apt-config dump Test 2>&1) || got_apt="failed: $(grep -o 'Syntax error [^ ]*: .*' <<<"$got_apt" | head -n1)"
        got_ours=$("$S" dump --root "$r" Test 2>&1) || got_ours="failed: $(grep -o 'Syntax error [^ ]*: .*' <<<"$got_ours" | head -n1)"
        if [[ $got_apt == "$got_ours" ]]; then
            ok "$suite: corpus $name: the same as apt-config dump"
        else
            fail "$suite: corpus $name: apt-config dump says
$got_apt
secupdates dump says
$got_ours"
        fi
        rm -f "$conf/90hardkit-corpus"
    done
    for skipped in 90x.bak 90x.dpkg-old 90x~ 90x.conf.save .90x 90x.disabled 'a b'; do
        echo 'Test::Skipped "yes";' >"$conf/$skipped"
    done
    echo 'Test::Read "yes";' >"$conf/90x.conf"
    got_apt=$(in_chroot "$r" apt-config dump Test 2>/dev/null)
    got_ours=$("$S" dump --root "$r" Test)
    check "$suite: the names apt reads and skips in apt.conf.d (apt: $(paste -sd' ' <<<"$got_apt"))" [ "$got_apt" == "$got_ours" ]
    rm -f "$conf"/90x* "$conf/.90x" "$conf/a b"
done

finish secupdates
