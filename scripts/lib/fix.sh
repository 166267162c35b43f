# shellcheck shell=bash disable=SC2154 # the options come from scripts/first-five
# first-five --plan and --apply. Sourced by scripts/first-five after it has
# parsed its options (root, plan_dir, ssh_port, opens, admin_nets, services,
# exec_cmd, listen_port, egress, egress_dns, audit_agent, assume_yes, json) and found the tools.
#
# One set of steps, run twice: first on a scratch copy of the files the fix
# touches (that is the plan: the lockout guard and every validation run
# there, the changed files are collected into the plan directory), then, for
# --apply, on the root itself, in an order that cannot lock the operator
# out: sshd (checked by sshd -t, then reloaded), fail2ban (checked by
# fail2ban-client -t, then reloaded), the firewall (nft -c; on a running
# system fwplan apply --confirm with a rollback timer, confirmed from a
# second session), the service account and unit (svcacct), and last the fim
# baseline, so that it includes every change above.

# shellcheck source=scripts/lib/units.sh
. "$here/lib/units.sh"

fix_die() {
    echo "first-five: $*" >&2
    exit 2
}

# --- plan_step records --------------------------------------------------------
# Every step appends `plan_step` records to $actions: first-five's own, and
# one for each `action` record of a tool (svcacct, jailgen, fwplan), whose
# name is kept in `by`; human lines go to stderr as they happen.
actions=$work/plan.jsonl
: >"$actions"
# How many steps changed something (install_text may run in a pipeline's
# subshell, so this counts the records, not a variable).
changes() {
    jq -s '[.[] | select(.type == "plan_step" and .changed == true)] | length' "$actions"
}
# step_changed STEP: some record of STEP so far changed something.
step_changed() {
    jq -e -s --arg step "$1" 'any(.[]; .type == "plan_step" and .step == $step and .changed == true)' "$actions" >/dev/null
}
act() { # STEP OP PATH CHANGED [DETAIL]
    act_by first-five "$@"
}
# act_by BY STEP OP PATH CHANGED [DETAIL]: a step a tool carries out (the
# plan's forecast of what it will report on this machine).
act_by() {
    local by=$1
    shift
    local changed=$4 detail=""
    [[ -n ${5:-} ]] && detail=",\"detail\":$(hardkit_json_str "$5")"
    printf '{"type":"plan_step","tool":"first-five","step":"%s","by":"%s","op":"%s","path":%s,"changed":%s%s}\n' \
        "$1" "$by" "$2" "$(hardkit_json_str "$3")" "$changed" "$detail" >>"$actions"
    if ((!json)); then
        printf '  %-8s %-9s %-8s %s%s\n' "$([[ $changed == true ]] && echo change || echo ok)" "$1" "$2" "$3" "${5:+  ($5)}" >&2
    fi
}
# A tool's action records as plan_step records of STEP: its op, path,
# changed and diff; its other fields (svcacct's mode and owner, fwplan's
# rule) in detail.
tool_actions() { # STEP FILE
    jq -c --arg step "$1" 'select(.type == "action") |
        ([to_entries[] | select(.key | IN("type", "tool", "op", "path", "changed", "diff") | not)
          | "\(.key) \(.value | if type == "string" then . else tojson end)"] | join(", ")) as $detail
        | {type: "plan_step", tool: "first-five", step: $step, by: .tool, op, path, changed}
        + (if $detail == "" then {} else {detail: $detail} end)
        + (if .diff then {diff} else {} end)' "$2" >>"$actions"
    if ((!json)); then
        jq -r --arg step "$1" 'select(.type == "action") |
            "  \(if .changed then "change  " else "ok      " end) \($step + "          " | .[0:9]) \(.op + "        " | .[0:8]) \(.path)"' "$2" >&2
    fi
}

# one_line < TEXT: a tool's multi-line message as one line: lines joined
# with "; " (after a line ending in ":" with a space), a line repeated N
# times kept once with "(N times)".
one_line() {
    awk '
        { sub(/[ \t]+$/, "") }
        $0 == "" { next }
        !($0 in count) { order[++n] = $0 }
        { count[$0]++ }
        END {
            for (i = 1; i <= n; i++) {
                line = order[i]
                if (count[line] > 1) line = line " (" count[line] " times)"
                sep = (i == 1) ? "" : (order[i - 1] ~ /:$/ ? " " : "; ")
                printf "%s%s", sep, line
            }
            print ""
        }'
}

# --- files -----------------------------------------------------------------
# Every file of a target (the root, its scratch copy, the plan directory)
# is written, read and removed with hardkit-write ($HKWRITE): through
# core's writer, in the tree as its own programs see it, never through a
# link another user or the image controls. $work is this run's own
# (mktemp -d, root's alone): plain shell writes stay there.

# install_text STEP TARGET SYSTEM-PATH MODE < content: replace the file under
# TARGET when its content or mode differs, atomically. The first version
# ever replaced stays as NAME.hardkit-bak~ (the operator's own); the
# version this run replaced is kept under $work/prev for restore_backup.
install_text() {
    local step=$1 target=$2 path=$3 mode=$4 tmp rc=0 changed
    tmp=$work/install.new
    cat >"$work/install.new"
    if [[ ! -e $work/prev$path && ! -e $work/prev$path.absent ]]; then
        mkdir -p "$work/prev$(dirname "$path")"
        "$HKWRITE" --root "$target" read "$path" >"$work/prev$path" 2>"$work/read.err" || rc=$?
        case $rc in
        0) stat -c %04a "$target$path" >"$work/prev$path.mode" 2>/dev/null || echo 0644 >"$work/prev$path.mode" ;;
        1) rm -f "$work/prev$path" && : >"$work/prev$path.absent" ;;
        *) fix_die "cannot read $path under $target: $(one_line <"$work/read.err")" ;;
        esac
    fi
    changed=$("$HKWRITE" --root "$target" --json put "$path" --mode "$mode" --keep-original --from "$tmp" 2>"$work/put.err" |
        jq -r 'select(.type == "action") | .changed') ||
        fix_die "cannot write $path under $target: $(one_line <"$work/put.err")"
    [[ $changed == true || $changed == false ]] || fix_die "cannot write $path under $target: $(one_line <"$work/put.err")"
    act "$step" write "$path" "$changed"
}

# tree_cat TARGET SYSTEM-PATH: the file's bytes, read in the tree as its own
# programs would (a link in an image to /etc/shadow is the image's file,
# never this machine's); status 1 when there is no such file. What the
# steps read of a target to write it back changed goes through here, so no
# file of this machine can be copied into a tree.
tree_cat() {
    "$HKWRITE" --root "$1" read "$2" 2>/dev/null
}

# restore_backup TARGET SYSTEM-PATH: undo what install_text did to the file
# in this run (the version before it, or no file); untouched files stay.
restore_backup() {
    if [[ -f $work/prev$2 ]]; then
        "$HKWRITE" --root "$1" -q put "$2" --mode "$(cat "$work/prev$2.mode")" --from "$work/prev$2" >/dev/null
    elif [[ -e $work/prev$2.absent ]]; then
        "$HKWRITE" --root "$1" -q remove "$2" >/dev/null
    fi
}

# The scratch copy the plan runs on: the configuration (all of /etc), the
# key files the lockout guard reads, the auth logs' names (jailgen's backend
# choice), the socket tables and the fim state. Small, and never the host.
make_scratch() {
    local s=$1 rel
    mkdir -p "$s/proc/net"
    (
        cd "$root" || exit 2
        # (and what secupdates apply reads: the release, the packages, the
        # Release files of apt's lists and the daily timers' units)
        for rel in etc var/lib/hardkit var/log/auth.log var/log/secure var/log/fail2ban.log \
            usr/lib/os-release var/lib/dpkg/status var/lib/apt/lists/*Release usr/share/keyrings/debian-archive-keyring.gpg \
            usr/lib/systemd/system/apt-daily.timer usr/lib/systemd/system/apt-daily-upgrade.timer; do
            if [[ -e $rel ]]; then printf '%s\0' "$rel"; fi
        done
    ) | (cd "$root" && tar --null --sparse -T - -cf -) | tar -C "$s" -xf - ||
        fix_die "could not copy the configuration of $root into the scratch directory"
    # The users' ~/.ssh belong to the users: of them only what the lockout
    # guard reads (the directories, for their modes, and regular files up
    # to 1 MiB: authorized_keys), never a link, a device or a file a user
    # made huge (or sparse: 3 GB of no blocks would become 3 GB here).
    (
        cd "$root" || exit 2
        for rel in root/.ssh home/*/.ssh; do
            [[ -d $rel && ! -L $rel && ! -L ${rel%/.ssh} ]] || continue
            find "$rel" -maxdepth 1 \( -type d -o -type f -size -1025k \) -print0
        done
    ) | (cd "$root" && tar --null --no-recursion --sparse -T - -cf -) | tar -C "$s" -xf - ||
        fix_die "could not copy the users' ~/.ssh of $root into the scratch directory"
    # The directories (not their contents) of /var/lib and /var/log, with
    # their owners and modes: svcacct makes the service's state and log
    # directories there, and the plan must see the ones that exist. So the
    # system directories its audit rules watch (AUDITED_WRITE_DIRS in
    # svcacct/src/generated_files.rs: a rule only for those that exist).
    (
        cd "$root" || exit 2
        find var/lib var/log -mindepth 1 -maxdepth 1 -type d -print0 2>/dev/null
        find usr boot root home var/spool/cron opt srv -maxdepth 0 -type d -print0 2>/dev/null
        true
    ) | (cd "$root" && tar --null --no-recursion -T - -cf -) | tar -C "$s" -xf - ||
        fix_die "could not copy the directories of $root/var into the scratch directory"
    # Logs only need to exist (and stay small); the socket tables of a live
    # system change while they are read, so they are copied with cat.
    for rel in var/log/auth.log var/log/secure var/log/fail2ban.log; do
        if [[ -f $s/$rel ]]; then : >"$s/$rel"; fi
    done
    for rel in tcp tcp6 udp udp6; do
        if [[ -r $root/proc/net/$rel ]]; then cat "$root/proc/net/$rel" >"$s/proc/net/$rel"; fi
    done
}

# On this machine with systemd running, --apply also reloads and restarts
# services and loads the firewall; the plan lists those steps too (with
# "would run: ..."), so plan and apply agree on a live system as on a tree.
live_systemd() {
    [[ $root == / && -d /run/systemd/system ]]
}

# --- 1. SSH ------------------------------------------------------------------
ssh_ports_now() { # TARGET
    "$SSHD_LINT" --root "$1" --effective --json 2>/dev/null |
        jq -r 'select(.type == "setting" and .key == "port") | .value' | tr ' ' '\n' | sed '/^$/d' | sort -un
}

# comment_out_pinned KEYWORDS < FILE: FILE with its global lines (before
# its first Match) that set one of KEYWORDS (lowercase), and its lines
# anywhere that turn root logins or passwords back on, commented out.
comment_out_pinned() {
    awk -v pinned="$1" '
        BEGIN { n = split(pinned, k, " "); for (i = 1; i <= n; i++) pin[k[i]] = 1 }
        match($0, /^[ \t]*[A-Za-z0-9]+([ \t]|=)/) {
            kw = tolower(substr($0, RSTART, RLENGTH))
            gsub(/[ \t=]/, "", kw)
            if (kw == "match") inmatch = 1
            value = tolower(substr($0, RSTART + RLENGTH))
            sub(/^[ \t=]+/, "", value)
            sub(/[ \t#].*/, "", value)
            reenables = value == "yes" && kw ~ /^(permitrootlogin|passwordauthentication|kbdinteractiveauthentication|challengeresponseauthentication)$/
            if ((!inmatch && (kw in pin)) || reenables) {
                line = $0
                sub(/^[ \t]*/, "&# ", line)
                print line "  # hardkit first-five: see 00-hardkit.conf"
                next
            }
        }
        { print }'
}

step_ssh() { # TARGET REAL(0/1)
    local t=$1 real=$2 port dropin=/etc/ssh/sshd_config.d/00-hardkit.conf f
    [[ -f $t/etc/ssh/sshd_config ]] || { act ssh skip /etc/ssh/sshd_config false "sshd is not installed"; return 0; }
    mapfile -t current < <(ssh_ports_now "$t")
    port=${ssh_port:-${current[0]:-22}}
    touched=()
    # The drop-in's settings win (sshd keeps the first value it reads), so
    # the global lines of the other files that set the same keywords are
    # dead: they are commented out, so the files say what sshd does and
    # sshd-lint has no shadowed line to report (its fix for one would be
    # "change or remove 00-hardkit.conf line N", the fix itself). Port is
    # the one keyword sshd adds up instead of keeping the first value, so
    # its lines go only when the port changes. Lines that turn root logins
    # or passwords back on go everywhere: inside a Match block they would
    # re-enable passwords for some users.
    local pinned="permitrootlogin passwordauthentication kbdinteractiveauthentication challengeresponseauthentication x11forwarding maxauthtries logingracetime"
    [[ " ${current[*]} " != " $port " ]] && pinned+=" port"
    for f in /etc/ssh/sshd_config "${t%/}"/etc/ssh/sshd_config.d/*.conf; do
        f=${f#"${t%/}"}
        [[ $f == "$dropin" || ! -f $t$f ]] && continue
        tree_cat "$t" "$f" >"$work/sshd-orig" || continue
        comment_out_pinned "$pinned" <"$work/sshd-orig" >"$work/sshd-file"
        cmp -s "$work/sshd-file" "$work/sshd-orig" && continue
        install_text ssh "$t" "$f" 0644 <"$work/sshd-file"
        touched+=("$f")
    done
    # The drop-in sorts first and sshd keeps the first value it reads; the
    # Match block (ended by the end of the file) comes before every Match of
    # sshd_config, so `Match User deploy / PasswordAuthentication yes` can no
    # longer turn passwords back on.
    install_text ssh "$t" "$dropin" 0644 <<EOF
# Written by hardkit first-five. This file sorts first, and sshd keeps the
# first value it reads, so these settings win over the files after it.
Port $port
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
X11Forwarding no
MaxAuthTries 3
LoginGraceTime 30

# Applies to every connection and comes before any other Match block.
Match all
    PasswordAuthentication no
    KbdInteractiveAuthentication no
EOF
    touched+=("$dropin")
    # Lockout guard: with passwords and root logins off, someone must still
    # get in with a key and then become root: sshd-lint's rule (the one its
    # --fix refuses by), judged on the configuration after the change.
    # (sshd-lint exits 1 on findings: its output is read from a file, not
    # through a pipe whose status pipefail would take.)
    "$SSHD_LINT" --root "$t" --json >"$work/sshd-after.json" 2>/dev/null || true
    if jq -e -s 'any(.[]; .type == "finding" and .id == "sshd/lockout")' "$work/sshd-after.json" >/dev/null; then
        for f in "${touched[@]}"; do restore_backup "$t" "$f"; done
        fix_die "refusing: after the fix no account could log in with a key (sshd/lockout). Install a key for an admin account (ssh-copy-id), then run this again."
    fi
    if jq -e -s 'any(.[]; .type == "finding" and .id == "sshd/no-root-route")' "$work/sshd-after.json" >/dev/null; then
        local who
        who=$(jq -r -s '[.[] | select(.type == "finding" and .id == "sshd/no-root-route") | .evidence.key_logins[]?] | join(", ")' "$work/sshd-after.json")
        for f in "${touched[@]}"; do restore_backup "$t" "$f"; done
        fix_die "refusing: after the fix (PermitRootLogin no) no account that logs in with a key could become root (sshd/no-root-route; key logins: ${who:-none}). Give an admin account a key and a way to root (usermod -aG sudo NAME), then run this again."
    fi
    if ((!real)); then
        if live_systemd; then ssh_reload 0; fi
        return 0
    fi
    # The real sshd judges the result before anything is reloaded: this
    # machine's. A tree's own sshd is never run (as root, chroot contains
    # nothing): under --root, sshd-lint's reading is the judge.
    local check=()
    if [[ $t == / ]]; then
        check=(sshd -t)
    fi
    if ((${#check[@]})); then
        if ! "${check[@]}" 2>"$work/sshd-t.err"; then
            for f in "${touched[@]}"; do restore_backup "$t" "$f"; done
            fix_die "sshd -t rejected the new configuration, the old one is back: $(cat "$work/sshd-t.err")"
        fi
        act ssh validate /etc/ssh/sshd_config false "sshd -t accepted it"
    else
        act ssh validate /etc/ssh/sshd_config false "under --root: checked by sshd-lint only (the tree's own sshd is not run)"
    fi
    if live_systemd; then ssh_reload 1; fi
}

# ssh_reload REAL: on this machine, make sshd read the new settings (or, in
# the plan, say it will).
ssh_reload() {
    local real=$1 unit
    if ! step_changed ssh; then
        act ssh reload ssh.service false "the configuration did not change"
        return 0
    fi
    # Existing sessions survive both; new connections meet the new settings.
    if systemctl is-active --quiet ssh.socket 2>/dev/null; then
        # Socket activation (Ubuntu 22.10+): systemd listens, and its
        # generator takes the ports from sshd_config on daemon-reload.
        if ((real)); then
            systemctl daemon-reload
            systemctl restart ssh.socket
            act ssh restart ssh.socket true "socket activation: the listening port comes from the generator"
        else
            act ssh restart ssh.socket true "would run: systemctl daemon-reload; systemctl restart ssh.socket"
        fi
        return 0
    fi
    for unit in ssh.service sshd.service; do
        if systemctl is-active --quiet "$unit" 2>/dev/null; then
            if ((real)); then
                systemctl reload "$unit" || fix_die "systemctl reload $unit failed (the configuration passed sshd -t; see journalctl -u $unit)"
                act ssh reload "$unit" true
            else
                act ssh reload "$unit" true "would run: systemctl reload $unit"
            fi
            return 0
        fi
    done
    act ssh reload ssh.service false "sshd is not running: the new settings apply when it starts"
}

# --- 2. fail2ban ---------------------------------------------------------------
step_jail() { # TARGET REAL
    local t=$1 real=$2 port ignore
    port=${ssh_port:-$(ssh_ports_now "$t" | paste -sd, -)}
    port=${port:-22}
    # Never ban the machine itself or the admins' network.
    ignore="127.0.0.0/8 ::1${admin_nets[*]:+ ${admin_nets[*]}}"
    local args=(--root "$t" --ssh-port "$port" --ignoreip "$ignore" --bantime-increment --jail sshd)
    # recidive (long bans for repeat offenders) reads fail2ban's own log,
    # which exists once fail2ban has run.
    [[ -f $t/var/log/fail2ban.log ]] && args+=(--jail recidive)
    # jailgen's header comment names the firewall's state ("nftables is
    # installed" / "nftables.service is enabled"), which the firewall step
    # changes: a file that differs only in comments is left alone, so a
    # second --apply changes nothing.
    local jail=$t/etc/fail2ban/jail.d/hardkit.local
    "$JAILGEN" "${args[@]}" >"$work/jail.preview" 2>/dev/null || true
    if [[ -s $work/jail.preview && -f $jail ]] &&
        cmp -s <(grep -v '^#' "$work/jail.preview") <(grep -v '^#' "$jail"); then
        act jail write /etc/fail2ban/jail.d/hardkit.local false "unchanged but for jailgen's comments"
    elif "$JAILGEN" "${args[@]}" --write --json >"$work/jail.json" 2>"$work/jail.err"; then
        tool_actions jail "$work/jail.json"
    elif ((real)) || [[ -f $t/etc/fail2ban/fail2ban.conf ]]; then
        # fail2ban is installed and refuses the jail: the plan stops here as
        # --apply would, with fail2ban's whole answer.
        fix_die "jailgen could not write a jail fail2ban accepts: $(cat "$work/jail.err")"
    else
        # The plan of a tree without fail2ban's own files (no
        # fail2ban.conf, filter.d, action.d: like the demo's partial
        # /etc/fail2ban): the jail file as jailgen renders it, not
        # validated, and fail2ban-client's whole answer (one line, repeats
        # counted), which is about the missing files.
        [[ -s $work/jail.preview ]] || fix_die "jailgen: $(cat "$work/jail.err")"
        install_text jail "$t" /etc/fail2ban/jail.d/hardkit.local 0644 <"$work/jail.preview"
        act jail validate /etc/fail2ban/jail.d/hardkit.local false \
            "NOT validated: fail2ban is not installed under $root (no /etc/fail2ban/fail2ban.conf), so --apply stops at this step until it is (apt-get install fail2ban). $(one_line <"$work/jail.err")"
    fi
    if live_systemd && command -v fail2ban-client >/dev/null && ((!real)); then
        if systemctl is-active --quiet fail2ban.service && ! step_changed jail; then
            act jail reload fail2ban.service false "running, and the jail did not change"
        elif systemctl is-active --quiet fail2ban.service; then
            act jail reload fail2ban.service true "would run: fail2ban-client reload"
        else
            act jail start fail2ban.service true "would run: systemctl enable fail2ban; systemctl restart fail2ban (it is not running)"
        fi
    elif live_systemd && command -v fail2ban-client >/dev/null; then
        if systemctl is-active --quiet fail2ban.service && ! step_changed jail; then
            act jail reload fail2ban.service false "running, and the jail did not change"
        elif systemctl is-active --quiet fail2ban.service; then
            fail2ban-client reload >/dev/null 2>"$work/f2b.err" || fix_die "fail2ban-client reload: $(cat "$work/f2b.err")"
            act jail reload fail2ban.service true
        else
            # Not running: often Debian 12's own jail, which looks for an
            # auth.log that no syslog daemon writes, stopped it at boot.
            systemctl enable --quiet fail2ban.service 2>/dev/null || true
            systemctl restart fail2ban.service || fix_die "systemctl restart fail2ban.service failed (see journalctl -u fail2ban)"
            act jail start fail2ban.service true "it was not running"
        fi
        # The server is up when it answers; a jail it cannot start stops it.
        for _ in $(seq 50); do
            fail2ban-client ping >/dev/null 2>&1 && break
            sleep 0.2
        done
        fail2ban-client status sshd >/dev/null 2>&1 ||
            fix_die "fail2ban is not running the sshd jail after the reload (see journalctl -u fail2ban)"
    fi
}

# --- 3. firewall -----------------------------------------------------------------
fw_policy_args() { # TARGET
    local port spec
    port=${ssh_port:-$(ssh_ports_now "$1" | head -n1)}
    port=${port:-22}
    if ((${#admin_nets[@]})); then
        local nets
        nets=$(IFS=,; echo "${admin_nets[*]}")
        echo "--allow"
        echo "$port/tcp@$nets#ssh from the admin network"
    else
        echo "--limit"
        echo "$port/tcp#ssh"
    fi
    echo "--ssh-port"
    echo "$port"
    # Moving sshd to a new port from an SSH session: fwplan apply refuses a
    # ruleset that would drop the connection first-five runs in, so that
    # connection's address keeps the old port until the next run.
    local conn
    conn=$(hardkit_ssh_connection)
    if [[ $root == / && -n $conn ]]; then
        local client server_port
        read -r client _ _ server_port <<<"$conn"
        if [[ -n $server_port && $server_port != "$port" ]]; then
            echo "--allow"
            echo "$server_port/tcp@$client#the session that ran first-five, old ssh port"
        fi
    fi
    # --open PORT[/PROTO][@SOURCES]: tcp unless a protocol is given (the
    # sources may hold a "/" of their own: 8000@10.0.0.0/8).
    local ports sources
    for spec in "${opens[@]}"; do
        ports=${spec%%@*}
        sources=""
        [[ $spec == *@* ]] && sources="@${spec#*@}"
        [[ $ports == */* ]] || ports="$ports/tcp"
        echo "--allow"
        echo "$ports$sources"
    done
}

# nft_check FILE -> 0 accepted (how, in $nft_by), 1 rejected (the message
# in $work/nft.err), 3 could not check (why, in $work/nft.err). fwplan check
# runs the target's own nft -c (the tree's, of the tree's release, with the
# tree's includes) in its sandbox: never a tree's program as root.
nft_by=""
nft_check() {
    local file=$1 rc=0
    "$FWPLAN" --root "$root" --json check "$file" >"$work/nft.json" 2>"$work/nft.err" || rc=$?
    case $rc in
    0)
        nft_by=$(jq -r 'select(.type == "action") | .comment // empty' "$work/nft.json")
        return 0
        ;;
    1)
        jq -r 'select(.type == "finding") | .detail' "$work/nft.json" >"$work/nft.err"
        return 1
        ;;
    *) return 3 ;;
    esac
}

step_firewall() { # TARGET REAL
    local t=$1 real=$2 conf=/etc/nftables.conf rc=0
    mapfile -t policy < <(fw_policy_args "$t")
    mkdir -p "$work/fw"
    # The AI stack as aistack finds it: fwplan refuses an --open from
    # anywhere to an AI service without a login, or to one a tunnel fronts.
    "$AISTACK" audit --root "$root" --json "${compose_args[@]}" >"$work/stack-audit.jsonl" 2>/dev/null || true
    "$FWPLAN" render "${policy[@]}" --stack "$work/stack-audit.jsonl" --out "$work/fw" >/dev/null 2>"$work/fw.err" ||
        fix_die "fwplan render refused the firewall policy: $(cat "$work/fw.err")"
    # nftables.service loads /etc/nftables.conf at boot: keep what is there
    # and put fwplan's table after it, between markers (replaced next time).
    # A drop in table inet hardkit is final even if another table accepts.
    {
        if tree_cat "$t" "$conf" >"$work/nftables.orig"; then
            sed '/^# BEGIN hardkit firewall/,/^# END hardkit firewall/d; /^# BEGIN hardkit egress/,/^# END hardkit egress/d' "$work/nftables.orig"
        else
            rm -f "$work/nftables.orig"
            printf '#!/usr/sbin/nft -f\n\nflush ruleset\n'
        fi
        echo "# BEGIN hardkit firewall (fwplan render; first-five writes this block)"
        grep -v '^#!' "$work/fw/hardkit.nft"
        echo "# END hardkit firewall"
        # The service's outbound rules (step_service) stay, after it.
        [[ -f $work/nftables.orig ]] && sed -n '/^# BEGIN hardkit egress/,/^# END hardkit egress/p' "$work/nftables.orig"
    } >"$work/nftables.conf"
    nft_check "$work/nftables.conf" || rc=$?
    if ((rc == 1)); then
        if ((real)); then
            fix_die "nft -c rejected the firewall; the firewall is unchanged (the steps before it were applied): $(cat "$work/nft.err")"
        fi
        fix_die "nft -c rejected the firewall, nothing changed: $(cat "$work/nft.err")"
    fi
    local conf_changed=1
    [[ -f $work/nftables.orig ]] && cmp -s "$work/nftables.conf" "$work/nftables.orig" && conf_changed=0
    act firewall validate "$conf" false "$( ((rc == 0)) && echo "$nft_by" || echo "NOT validated: $(one_line <"$work/nft.err")")"
    # A tree only gets its nftables.conf (fwplan apply loads into the
    # kernel of this machine even with --root); the same when the ruleset
    # is already loaded here.
    if [[ $root != / ]] || { ((conf_changed == 0)) && nft list table inet hardkit >/dev/null 2>&1; }; then
        firewall_persist "$t" "$real"
        if [[ $root != / ]]; then
            ((real)) && act firewall load "$conf" false "not loaded: --root (nftables.service loads it at boot)"
        else
            act firewall load "table inet hardkit" false "already loaded"
        fi
        return 0
    fi
    # This machine: load it with a rollback timer, then ask for the proof
    # that a new SSH connection still gets in. nftables.conf is written and
    # nftables.service enabled only after that answer: a first-five killed
    # while it waits leaves the old table back in the kernel (the timer)
    # and nothing unconfirmed that would load at every boot.
    if ((!real)); then
        # What --apply below will do and report (fwplan's apply keeps
        # the table it replaces in /var/lib/hardkit/fwplan, docs/fwplan.md).
        act_by fwplan firewall save /var/lib/hardkit/fwplan/previous.nft true "would run: fwplan apply --confirm 120s (the table it replaces)"
        act_by fwplan firewall load /var/lib/hardkit/fwplan/applied.nft true "would run: fwplan apply --confirm 120s"
        act firewall confirm "table inet hardkit" true "asked: does a new SSH session get in? (--yes answers)"
        firewall_persist "$t" 0
        return 0
    fi
    # fwplan refuses a ruleset that would drop the SSH session this runs in
    # or leave sshd's port closed; then the firewall is as it was, the
    # steps before it stay.
    if ! "$FWPLAN" apply "${policy[@]}" --confirm 120s --json >"$work/fw-apply.json" 2>"$work/fw-apply.err"; then
        fix_die "fwplan apply: $(cat "$work/fw-apply.err"); the firewall and nftables.conf are unchanged (the steps before it were applied)"
    fi
    tool_actions firewall "$work/fw-apply.json"
    local answer=n
    if ((assume_yes)); then
        answer=y
    elif [[ -r /dev/tty ]]; then
        printf '\nThe firewall is loaded and rolls back in 120 s unless confirmed.\nOpen a NEW SSH session to this server now (port %s). Did it log in? [y/N] ' "${policy[3]}" >/dev/tty
        read -r -t 110 answer </dev/tty || answer=n
    fi
    if [[ $answer == [yY]* ]]; then
        "$FWPLAN" confirm >/dev/null
        act firewall confirm "table inet hardkit" true "kept"
        firewall_persist "$t" 1
    else
        "$FWPLAN" rollback >/dev/null 2>&1 || true
        fix_die "the firewall was rolled back (not confirmed from a second session); nftables.conf is unchanged and nothing after it was applied"
    fi
}

# firewall_persist TARGET REAL: the checked ruleset ($work/nftables.conf)
# becomes TARGET's /etc/nftables.conf, and nftables.service loads it at
# boot. (The unit file is the package's, under /lib: the root's, which the
# plan's scratch copy of /etc does not have.)
firewall_persist() {
    local t=$1 real=$2 conf=/etc/nftables.conf
    install_text firewall "$t" "$conf" 0755 <"$work/nftables.conf"
    if [[ -f $root/lib/systemd/system/nftables.service || -f $root/usr/lib/systemd/system/nftables.service ]]; then
        if [[ -e $t/etc/systemd/system/sysinit.target.wants/nftables.service ]]; then
            act firewall enable nftables.service false
        elif ((real)); then
            if [[ $t == / ]]; then systemctl enable nftables.service 2>/dev/null; else systemctl --root="$t" enable nftables.service 2>/dev/null; fi
            act firewall enable nftables.service true
        else
            act firewall enable nftables.service true "would run: systemctl enable nftables.service"
        fi
    fi
}

# --- 4. service account and unit ---------------------------------------------------
step_service() { # TARGET REAL
    local t=$1 real=$2 name unit cmd envfile
    ((${#services[@]})) || return 0
    name=${services[0]%.service}
    unit=/etc/systemd/system/$name.service
    cmd=$exec_cmd
    local unit_text=""
    unit_text=$(tree_cat "$t" "$unit") || unit_text=""
    if [[ -z $cmd && -n $unit_text ]]; then
        # Keep what the unit runs today.
        cmd=$(sed -n 's/^ExecStart=[-@:+!]*//p' <<<"$unit_text" | tail -n1)
    fi
    [[ -n $cmd ]] || fix_die "--service $name needs --exec CMD (no ExecStart= in $unit to keep)"
    # Secrets in Environment= move to a root-only file systemd reads.
    envfile=/etc/hardkit/$name.env
    if [[ -n $unit_text ]] && ! tree_cat "$t" "$envfile" | grep -q . && grep -q '^Environment=' <<<"$unit_text"; then
        sed -n 's/^Environment=//p' <<<"$unit_text" | install_text service "$t" "$envfile" 0600
    fi
    local args=(apply --root "$t" "$name" --exec "$cmd" --force --env-file "$envfile" --json)
    [[ -n $listen_port ]] && args+=(--listen "$listen_port")
    local net
    for net in "${egress[@]}"; do args+=(--egress "$net"); done
    ((egress_dns)) && args+=(--egress-dns)
    # What it runs and writes, recorded by auditd (installed below when
    # missing).
    ((audit_agent)) && args+=(--audit-rules)
    # An existing sudoers rule is replaced by the one it may need (restart
    # itself), not kept.
    [[ -e $t/etc/sudoers.d/$name ]] && args+=(--allow-restart)
    "$SVCACCT" "${args[@]}" >"$work/svc.json" 2>"$work/svc.err" ||
        fix_die "svcacct apply: $(cat "$work/svc.err")"
    tool_actions service "$work/svc.json"
    step_egress_ports "$t" "$real"
    step_auditd "$t" "$real" "$name"
    if ((real)) && [[ -f $t/etc/sudoers.d/$name ]] && command -v visudo >/dev/null; then
        visudo -c -q -f "$t/etc/sudoers.d/$name" || fix_die "visudo rejected /etc/sudoers.d/$name"
        act service validate "/etc/sudoers.d/$name" false "visudo -c accepted it"
    fi
    # A running service keeps its old account and sandbox until it restarts
    # (svcacct has made systemd re-read the unit).
    if ((!real)) && live_systemd; then
        # svcacct apply on this machine follows a changed unit with
        # systemctl daemon-reload (its `reload` action); on the scratch copy
        # it cannot, so the plan says it.
        local unit_written
        unit_written=$(jq -r 'select(.type == "action" and .op == "write" and .changed == true and (.path | startswith("/etc/systemd/system"))) | .path' "$work/svc.json" | head -n1)
        [[ -n $unit_written ]] && act_by svcacct service reload "$unit_written" true "would run: systemctl daemon-reload"
    fi
    if live_systemd && jq -e -s 'any(.[]; .type == "action" and .changed == true)' "$work/svc.json" >/dev/null; then
        if systemctl is-active --quiet "$name.service" && ((!real)); then
            act service restart "$name.service" true "would run: systemctl restart $name.service"
        elif systemctl is-active --quiet "$name.service"; then
            systemctl restart "$name.service" || fix_die "systemctl restart $name.service failed (see journalctl -u $name)"
            act service restart "$name.service" true "now under its own account and sandbox"
        else
            act service restart "$name.service" false "not running: start it with systemctl enable --now $name"
        fi
    fi
}

# step_auditd TARGET REAL NAME: the service's audit rules (svcacct wrote
# /etc/audit/rules.d/hardkit-NAME.rules) are loaded by auditd: on this
# machine, augenrules --load when auditd is installed and the rules changed,
# else apt-get install auditd (its service runs augenrules --load as it
# starts; tried again on every run until it is there). A tree's packages
# are its own apt's to install (never run here as root): the step says so.
# A failed download does not stop the rest of the fix: svcacct audit keeps
# saying the agent is unaudited.
step_auditd() { # TARGET REAL NAME
    local t=$1 real=$2 rules=/etc/audit/rules.d/hardkit-$3.rules
    ((audit_agent)) || return 0
    tree_cat "$t" "$rules" >/dev/null 2>&1 || return 0
    local changed=false installed=false
    jq -e -s --arg p "$rules" 'any(.[]; .type == "action" and .path == $p and .changed == true)' "$work/svc.json" >/dev/null &&
        changed=true
    # (the packages of the system itself, not of the plan's scratch copy)
    if [[ -x $root/sbin/augenrules || -x $root/usr/sbin/augenrules ]]; then
        installed=true
    fi
    if [[ $root != / ]]; then
        $installed ||
            act service package auditd false \
                "NOT installed: a tree's packages are for its own apt, which hardkit does not run as root; install auditd in it (its image build, or apt-get install once booted); it loads $rules when it starts"
    elif $installed; then
        if [[ $changed != true ]]; then
            return 0
        elif ((!real)); then
            act service load "$rules" true "would run: augenrules --load"
        elif augenrules --load >"$work/augenrules.log" 2>&1; then
            act service load "$rules" true
        else
            act service load "$rules" false "FAILED: augenrules --load: $(tail -n 3 "$work/augenrules.log" | one_line) (they load at the next boot)"
        fi
    elif ((!real)); then
        act service package auditd true "would run: apt-get update; apt-get install auditd (it loads $rules when it starts)"
    elif apt_get update && apt_get install --no-install-recommends auditd; then
        act service package auditd true "it loads $rules when it starts"
    else
        act service package auditd false "FAILED: $(tail -n 3 "$work/apt.log" | one_line) (what the service runs is not recorded until auditd is installed; the next run tries again; the rest of the fix goes on)"
    fi
}

# step_egress_ports TARGET REAL: the ports of --egress NET:PORTS, which
# the unit's IP allow list cannot match: fwplan's per-account output rules
# (meta skuid) in a table of their own, inet hardkit_egress, written to
# nftables.conf between markers after the firewall's block, checked like it
# (the target's nft -c, sandboxed), loaded on this machine. Here, after
# svcacct apply: the account exists now. (The table has no input rule, so
# it cannot cut a session.)
step_egress_ports() {
    local t=$1 real=$2 rule conf=/etc/nftables.conf rc=0
    # (svcacct apply says them, as fwplan's --egress rules: it parsed --egress)
    local rules=()
    while IFS= read -r rule; do
        rules+=(--egress "$rule")
    done < <(jq -r 'select(.type == "egress_rule") | .rule' "$work/svc.json")
    ((${#rules[@]})) || return 0
    "$FWPLAN" --root "$t" render --egress-only "${rules[@]}" >"$work/egress.nft" 2>"$work/egress.err" ||
        fix_die "fwplan render --egress-only refused the ports of --egress: $(one_line <"$work/egress.err")"
    {
        if tree_cat "$t" "$conf" >"$work/nftables.eorig"; then
            sed '/^# BEGIN hardkit egress/,/^# END hardkit egress/d' "$work/nftables.eorig"
        else
            printf '#!/usr/sbin/nft -f\n\n'
        fi
        echo "# BEGIN hardkit egress (fwplan render --egress-only; first-five writes this block)"
        grep -v '^#!' "$work/egress.nft"
        echo "# END hardkit egress"
    } >"$work/nftables.egress"
    nft_check "$work/nftables.egress" || rc=$?
    ((rc == 1)) && fix_die "nft -c rejected the outbound rules of --egress: $(cat "$work/nft.err")"
    install_text service "$t" "$conf" 0644 <"$work/nftables.egress"
    local changed
    changed=$(jq -r -s '[.[] | select(.type == "plan_step" and .path == "/etc/nftables.conf")] | last | .changed' "$actions")
    if [[ $root == / && $changed == true ]]; then
        if ((!real)); then
            act service load "table inet hardkit_egress" true "would run: nft -f (the outbound rules of --egress)"
        else
            nft -f "$work/egress.nft" 2>"$work/egress-load.err" ||
                fix_die "nft -f of the outbound rules failed: $(one_line <"$work/egress-load.err")"
            act service load "table inet hardkit_egress" true
        fi
    fi
}

# --- 5. security updates installed by themselves --------------------------------------
# secupdates apply writes the files (its drop-in in apt.conf.d; the security
# source when apt fetches none); this step installs unattended-upgrades and
# enables apt's daily timers, on this machine. A tree's packages are its own
# apt's to install (never run here as root): the step says so, and the
# configuration takes effect once the package is there. A failed download
# does not stop the rest of the fix: the audit keeps saying what is missing.
step_updates() { # TARGET REAL
    local t=$1 real=$2
    if [[ ! -f $root/var/lib/dpkg/status ]]; then
        act updates skip /etc/apt/apt.conf.d false "not a Debian system (no /var/lib/dpkg/status)"
        return 0
    fi
    "$SECUPDATES" apply --root "$t" --json >"$work/upd.json" 2>"$work/upd.err" ||
        fix_die "secupdates apply: $(one_line <"$work/upd.err")"
    jq -c 'select(.type == "action" and .op == "write")' "$work/upd.json" >"$work/upd.writes"
    tool_actions updates "$work/upd.writes"
    local source_changed=false
    jq -e -s 'any(.[]; .path == "/etc/apt/sources.list.d/debian-security.sources" and .changed)' "$work/upd.writes" >/dev/null &&
        source_changed=true
    if jq -e -s 'any(.[]; .type == "action" and .op == "install" and .changed)' "$work/upd.json" >/dev/null; then
        if [[ $root != / ]]; then
            act updates package unattended-upgrades false \
                "NOT installed: a tree's packages are for its own apt, which hardkit does not run as root; install unattended-upgrades in it (its image build, or apt-get install once booted); the configuration above applies then"
        elif ((!real)); then
            act updates package unattended-upgrades true "would run: apt-get update; apt-get install unattended-upgrades"
        elif apt_get update && apt_get install --no-install-recommends unattended-upgrades; then
            act updates package unattended-upgrades true
        else
            act updates package unattended-upgrades false "FAILED: $(tail -n 3 "$work/apt.log" | one_line) (security updates stay manual until it is installed; the rest of the fix goes on)"
        fi
    elif [[ $root == / && $source_changed == true ]]; then
        if ((!real)); then
            act updates update /var/lib/apt/lists true "would run: apt-get update (the security archive is new)"
        elif apt_get update; then
            act updates update /var/lib/apt/lists true "the security archive is new"
        else
            act updates update /var/lib/apt/lists false "FAILED: $(tail -n 3 "$work/apt.log" | one_line)"
        fi
    fi
    local op timer changed
    while read -r op timer changed; do
        if [[ $changed != true ]]; then
            act updates enable "$timer" false
        elif ((!real)); then
            if [[ $op == unmask ]]; then
                act updates enable "$timer" true "would run: systemctl unmask $timer; systemctl enable --now $timer"
            else
                act updates enable "$timer" true "would run: systemctl enable --now $timer"
            fi
        elif [[ $t == / ]]; then
            [[ $op == unmask ]] && systemctl unmask --quiet "$timer"
            if [[ -d /run/systemd/system ]]; then
                systemctl enable --now --quiet "$timer"
            else
                systemctl enable --quiet "$timer"
            fi
            act updates enable "$timer" true
        else
            [[ $op == unmask ]] && systemctl --root="$t" unmask --quiet "$timer"
            systemctl --root="$t" enable --quiet "$timer"
            act updates enable "$timer" true
        fi
    done < <(jq -r 'select(.type == "action" and (.op == "enable" or .op == "unmask")) | "\(.op) \(.path) \(.changed)"' "$work/upd.json")
}

# step_stack TARGET REAL: the AI stack's fixes that are safe in files
# (aistack apply: back ends and apps without a login bound to 127.0.0.1 in
# their compose files, Open WebUI's login back on, the tunnel's credentials
# root's alone; each compose file checked by the system's own docker
# compose first). The compose files live beside the projects, not in the
# plan's scratch copy of /etc: the plan asks aistack on the system itself
# with --check (nothing written) and shows its diffs. The containers of a
# changed project are recreated on this machine (docker compose up -d),
# never in a tree, and never by the plan.
step_stack() { # TARGET REAL
    local real=$2 check_flag=(--check)
    ((real)) && check_flag=()
    local rc=0
    "$AISTACK" apply --root "$root" "${check_flag[@]}" --diff --json "${compose_args[@]}" >"$work/stack.json" 2>"$work/stack.err" || rc=$?
    # (--check: 1 when something would change)
    ((rc <= 1)) || fix_die "aistack apply: $(one_line <"$work/stack.err")"
    jq -c 'select(.type == "action" and .op != "restart")' "$work/stack.json" >"$work/stack.acts"
    tool_actions stack "$work/stack.acts"
    # (the Docker CLI's compose plugin, else Compose's own docker-compose)
    local compose=()
    if command -v docker >/dev/null && docker compose version >/dev/null 2>&1; then
        compose=(docker compose)
    elif command -v docker-compose >/dev/null; then
        compose=(docker-compose)
    fi
    local f g how
    while IFS= read -r f; do
        # The project as Compose reads it: run in its directory, with its
        # default file name and no -f (Compose then merges its override
        # itself), else with the --compose files of that directory in the
        # order given.
        how=()
        case ${f##*/} in
            compose.yaml | compose.yml | docker-compose.yml | docker-compose.yaml) ;;
            *)
                for g in "${compose_args[@]}"; do
                    [[ $g != --compose && ${g%/*} == "${f%/*}" ]] && how+=(-f "$g")
                done
                ;;
        esac
        if [[ $root != / ]]; then
            act stack restart "$f" false "NOT recreated: a tree's containers are not this machine's; once it runs: docker compose -f $f up -d"
        elif ((${#compose[@]} == 0)); then
            act stack restart "$f" false "docker compose is not installed here: recreate its containers with the tool that runs them (docker compose -f $f up -d)"
        elif ((!real)); then
            act stack restart "$f" true "would run: cd ${f%/*} && ${compose[*]} ${how[*]:+${how[*]} }up -d"
        elif (cd "${f%/*}" && "${compose[@]}" "${how[@]}" up -d) >"$work/compose.log" 2>&1; then
            act stack restart "$f" true "its containers run the new file"
        else
            act stack restart "$f" false "FAILED: docker compose up -d: $(tail -n 3 "$work/compose.log" | one_line) (the file is written; its containers still run the old one)"
        fi
    done < <(jq -r 'select(.type == "action" and .op == "restart") | .path' "$work/stack.json")
}

# apt_get ARGS...: apt-get on this machine, non-interactive, failing fast
# without a network; its output in $work/apt.log.
apt_get() {
    DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Acquire::Retries=0 -o Acquire::http::Timeout=20 "$@" >"$work/apt.log" 2>&1
}

# --- 6. the daily watch -------------------------------------------------------------
# scripts/monitor every day from a systemd timer (docs/monitor.md). The
# units come from scripts/lib/units.sh: the hardkit package ships them in
# /usr/lib/systemd/system (not enabled), and then this step only enables
# the packaged timer (and removes the copies an earlier first-five wrote to
# /etc/systemd/system, which would hide the packaged ones); otherwise it
# writes them to /etc/systemd/system for the monitor it found (this
# checkout, or scripts/install's /usr/local/bin/hardkit-monitor).
monitor_header_service="# Written by hardkit first-five: the daily watch (docs/monitor.md)."
monitor_header_timer="# Written by hardkit first-five: runs hardkit-monitor.service every day."

# packaged_monitor: the hardkit package is installed in the root.
packaged_monitor() {
    local d
    for d in usr/lib/systemd/system lib/systemd/system; do
        [[ -f $root/$d/hardkit-monitor.service && -f $root/$d/hardkit-monitor.timer ]] && return 0
    done
    return 1
}

# root_only_tree DIR: succeeds when no one but root can change DIR, a
# file or directory under it, or a directory above it (writable by others
# only if sticky, like /tmp); else says what, on stdout.
root_only_tree() {
    local d owner perm bad
    d=$(cd -P "$1" && pwd -P) || { echo "$1 cannot be entered"; return 1; }
    bad=$(find "$d" \( -path "$d/target" -o -path "$d/.git" \) -prune -o \
        ! -type l \( ! -user 0 -o -perm -o+w -o \( -perm -g+w ! -group 0 \) \) -print -quit 2>/dev/null)
    if [[ -n $bad ]]; then
        echo "$bad is $(stat -c 'owned by uid %u, mode %a' "$bad")"
        return 1
    fi
    while [[ $d != / ]]; do
        d=$(dirname "$d")
        read -r owner perm < <(stat -c '%u %a' "$d")
        if ((owner != 0)) || { ((8#$perm & 8#022)) && ! ((8#$perm & 8#1000)); }; then
            echo "$d is owned by uid $owner, mode $perm"
            return 1
        fi
    done
}

step_monitor() { # TARGET REAL
    local t=$1 real=$2 monitor="" unit
    [[ -d $t/etc/systemd/system ]] || { act monitor skip /etc/systemd/system/hardkit-monitor.timer false "no systemd"; return 0; }
    if packaged_monitor; then
        for unit in hardkit-monitor.service hardkit-monitor.timer; do
            # Only what first-five wrote (its first line says so): an
            # operator's own override stays.
            if "$HKWRITE" --root "$t" read "/etc/systemd/system/$unit" 2>/dev/null | head -n1 | grep -q '^# Written by hardkit first-five'; then
                "$HKWRITE" --root "$t" -q remove "/etc/systemd/system/$unit" >/dev/null || fix_die "cannot remove /etc/systemd/system/$unit"
                act monitor remove "/etc/systemd/system/$unit" true "the hardkit package ships /usr/lib/systemd/system/$unit"
            fi
        done
        # The packaged unit runs hardkit-monitor without a key: with
        # --fim-key, a drop-in gives it the key (on this machine only: a
        # tree's unit cannot name a file of the machine auditing it).
        if [[ $root == / && -n $fim_key ]]; then
            printf '%s\n' "# Written by hardkit first-five: the daily watch checks the fim baseline with its key." \
                "[Service]" "ExecStart=" "ExecStart=/usr/bin/hardkit-monitor --fim-key $fim_key" |
                install_text monitor "$t" /etc/systemd/system/hardkit-monitor.service.d/hardkit-fim-key.conf 0644
        fi
    elif [[ $root == / && -x /usr/local/bin/hardkit-monitor ]]; then
        monitor=/usr/local/bin/hardkit-monitor
    elif [[ $root == / ]]; then
        # This checkout, run as root every day: only when nobody but root
        # can change a file of it (or a directory on the way to it).
        local why
        if ! why=$(root_only_tree "$top"); then
            fix_die "refusing to install a daily root timer that runs $here/monitor: $why. Install hardkit (scripts/install, or the package), or use a checkout only root can write."
        fi
        monitor=$here/monitor
    elif [[ -x $root/usr/local/bin/hardkit-monitor || -L $root/usr/local/bin/hardkit-monitor ]]; then
        monitor=/usr/local/bin/hardkit-monitor
    else
        act monitor skip /etc/systemd/system/hardkit-monitor.timer false \
            "hardkit is not installed in $root (apt install ./hardkit_VERSION_amd64.deb, or DESTDIR=$root scripts/install), so no daily timer there"
        return 0
    fi
    if [[ -n $monitor ]]; then
        # The tools where first-five found them (this machine only).
        # The tools where first-five found them (this machine only), never
        # the caller's HARDKIT_BIN_DIR as such: the directory of the fim
        # it runs, when systemd's PATH would not find that fim, and only
        # when nobody but root can change it.
        local bin_dir="" found why
        if [[ $root == / && $FIM == */* ]]; then
            found=$(cd "$(dirname "$FIM")" && pwd -P)
            if [[ $(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin command -v fim 2>/dev/null) != "$found/fim" ]]; then
                why=$(root_only_tree "$found") ||
                    fix_die "refusing to install a daily root timer that runs the tools in $found: $why. Install hardkit (scripts/install, or the package)."
                bin_dir=$found
            fi
        fi
        # The key of the baseline, on this machine (a tree's unit cannot
        # name a file of the machine auditing it).
        [[ $root == / && -n $fim_key ]] && monitor+=" --fim-key $fim_key"
        hardkit_monitor_service "$monitor_header_service" "$monitor" "$bin_dir" |
            install_text monitor "$t" /etc/systemd/system/hardkit-monitor.service 0644
        hardkit_monitor_timer "$monitor_header_timer" |
            install_text monitor "$t" /etc/systemd/system/hardkit-monitor.timer 0644
    fi
    "$HKWRITE" --root "$t" -q mkdir /var/lib/hardkit >/dev/null || fix_die "cannot create /var/lib/hardkit under $t"
    if [[ -L $t/etc/systemd/system/timers.target.wants/hardkit-monitor.timer ]]; then
        act monitor enable hardkit-monitor.timer false
    elif ((!real)); then
        act monitor enable hardkit-monitor.timer true "would run: systemctl enable --now hardkit-monitor.timer"
    elif [[ $t == / ]]; then
        [[ -d /run/systemd/system ]] && systemctl daemon-reload
        if [[ -d /run/systemd/system ]]; then
            systemctl enable --now --quiet hardkit-monitor.timer
        else
            systemctl enable --quiet hardkit-monitor.timer
        fi
        act monitor enable hardkit-monitor.timer true
    else
        systemctl --root="$t" enable --quiet hardkit-monitor.timer
        act monitor enable hardkit-monitor.timer true
    fi
    if ((real)) && [[ $t == / && -d /run/systemd/system ]] && step_changed monitor; then
        systemctl daemon-reload
    fi
}

# --- 7. fim baseline, last ---------------------------------------------------------
# fim_rules TARGET: the rules for /etc/hardkit/fim.conf: fim's built-in
# rules (fim rules --builtin), plus where an intruder leaves a way back in (keys, crontabs,
# /usr/local) and the agent's own program when it lives elsewhere.
fim_rules() {
    local t=$1 home cmd
    cat <<'EOF'
# Written by hardkit first-five: what fim watches on this host.
# fim init reads this file; fim check and update use the rules stored in
# the (MAC-protected) baseline, so a change here takes effect with
#   fim update --config /etc/hardkit/fim.conf
# Syntax and attribute names: docs/fim.md.

EOF
    "$FIM" rules --builtin
    cat <<'EOF'

# Added by first-five: where an intruder leaves a way back in.
/usr/local  all          # scripts/install puts hardkit here, admins their own tools
/root/.ssh  all          # authorized_keys
/var/spool/cron all      # crontabs
EOF
    for home in "$t"/home/*/; do
        [[ -d $home ]] || continue
        home=${home#"${t%/}"}
        printf '%-11s all\n' "${home%/}/.ssh"
    done
    # The agent's program, when it is not under a watched tree.
    cmd=${exec_cmd:-}
    if [[ -z $cmd && ${#services[@]} -gt 0 ]]; then
        cmd=$(tree_cat "$t" "/etc/systemd/system/${services[0]%.service}.service" | sed -n 's/^ExecStart=[-@:+!]*//p' | tail -n1)
    fi
    cmd=${cmd%% *}
    if [[ $cmd == /* ]] && ! [[ $cmd =~ ^/(etc|boot|usr|opt)/ ]]; then
        printf '%-11s all      # what the agent runs\n' "$cmd"
    fi
}

step_fim() { # TARGET REAL
    local t=$1 real=$2 conf=/etc/hardkit/fim.conf
    fim_rules "$t" | install_text fim "$t" "$conf" 0644
    # The baseline is (re)taken when there is none, when this run changed
    # anything (its rules, or files it may watch), or when the files differ
    # from it. The plan asks the same of the root as it is now, which is
    # what --apply finds when the steps above change nothing; so plan and
    # apply agree.
    if [[ -f $t/var/lib/hardkit/fim.db ]] && (($(changes) == 0)) &&
        "$FIM" check --root "$root" -q ${fim_key:+--key "$fim_key"} >/dev/null 2>&1; then
        act fim init /var/lib/hardkit/fim.db false "the baseline matches"
        return 0
    fi
    # A first baseline starts from a verified state: with packaged programs
    # or libraries that differ from dpkg's records (fim verify-packages:
    # high), a baseline now would record the intruder's files as the norm.
    # (The packages are the target's own: its root, which --plan leaves as
    # it is.)
    if [[ ! -f $t/var/lib/hardkit/fim.db && -f $root/var/lib/dpkg/status ]]; then
        local vrc=0 differ
        "$FIM" verify-packages --root "$root" --json --fail-on high >"$work/verify.jsonl" 2>/dev/null || vrc=$?
        if ((vrc == 1)); then
            differ=$(grep -c '"id":"fim/package-file-changed","severity":"high"' "$work/verify.jsonl" || true)
            act fim init /var/lib/hardkit/fim.db false "not taken: $differ packaged files differ from dpkg's records (fim verify-packages --root $root); a baseline now would record them as they are. Reinstall those packages (apt-get install --reinstall), then run first-five --apply again"
            return 0
        fi
    fi
    if ((!real)); then
        act fim init /var/lib/hardkit/fim.db true "taken last, after every change above"
        return 0
    fi
    if [[ -f $t/var/lib/hardkit/fim.db ]]; then
        # (update exits 1 when it found changes: the point of running it)
        "$FIM" update --root "$t" --config "${t%/}$conf" -q ${fim_key:+--key "$fim_key"} >/dev/null 2>"$work/fim.err" || (($? == 1)) ||
            fix_die "fim update: $(cat "$work/fim.err")"
    else
        "$FIM" init --root "$t" -q ${fim_key:+--key "$fim_key"} >/dev/null 2>"$work/fim.err" || fix_die "fim init: $(cat "$work/fim.err")"
    fi
    act fim init /var/lib/hardkit/fim.db true "taken after every change above, with the rules of $conf"
}

# --- the plan directory ---------------------------------------------------------
# changed_files SCRATCH: every file the plan changes, one system path a
# line, sorted: the files of the scratch copy whose content differs from the
# root's, or that the root does not have. That is the files the steps wrote
# themselves and those the tools changed on the way (useradd's /etc/passwd,
# /etc/group, /etc/shadow, /etc/gshadow). Left out: the auth logs (emptied
# in the scratch copy), /proc and /etc/.pwd.lock. With "backups" as second argument: only
# the copies of the originals kept beside them (first-five's
# NAME.hardkit-bak, svcacct's NAME.hardkit-bak~, the shadow tools'
# /etc/passwd- ...), which the other list leaves out.
changed_files() {
    local s=$1 rel backup
    (cd "$s" && find . -path ./proc -prune -o -path ./var/log -prune -o -type f -print) |
        sed 's|^\.||' | LC_ALL=C sort | while IFS= read -r rel; do
            tree_cat "$root" "$rel" | cmp -s "$s$rel" - && continue
            # (the shadow tools' empty lock file)
            [[ $rel == /etc/.pwd.lock ]] && continue
            backup=0
            [[ $rel == *.hardkit-bak || $rel == *.hardkit-bak~ || $rel =~ ^/etc/(passwd|group|shadow|gshadow)-$ ]] && backup=1
            if [[ ${2:-} == backups ]]; then
                ((backup)) && printf '%s\n' "$rel"
            else
                ((backup)) || printf '%s\n' "$rel"
            fi
        done
}

# Account files carry password hashes: their diffs show <hash> instead.
mask_hashes() { # SYSTEM-PATH < FILE
    case "$1" in
        /etc/shadow | /etc/gshadow)
            awk -F: -v OFS=: 'length($2) > 2 { $2 = ($2 ~ /^!/ ? "!" : "") "<hash>" } { print }' ;;
        *) cat ;;
    esac
}

# file_diff SCRATCH SYSTEM-PATH: the unified diff of the file, as it is on
# the root (or /dev/null) against the planned one.
file_diff() {
    local s=$1 path=$2 rc=0
    diff -u --label "$path (now)" --label "$path (planned)" \
        <(tree_cat "$root" "$path" | mask_hashes "$path") <(mask_hashes "$path" <"$s$path") || rc=$?
    ((rc <= 1)) || fix_die "diff of $path failed"
}

# write_plan SCRATCH: DIR/files/ (every changed file at its system path),
# DIR/plan.diff (their diffs), DIR/plan.jsonl (the steps, then one
# plan_file record per changed file with its diff); the diffs also go to
# stdout (or the records with --json).
write_plan() {
    local s=$1 path n=0 status d f
    # (first-five made plan_dir root's and out of anyone else's reach; the
    # diffs and records carry the planned secrets, so root's alone)
    umask 077
    "$HKWRITE" -q mkdir "$plan_dir/files" --mode 0700 >/dev/null || fix_die "cannot create $plan_dir/files"
    : >"$work/plan.diff"
    cp "$actions" "$work/plan.out"
    while IFS= read -r path; do
        n=$((n + 1))
        "$HKWRITE" -q put "$plan_dir/files$path" --mode "$(stat -c %04a "$s$path")" --from "$s$path" >/dev/null ||
            fix_die "cannot write $plan_dir/files$path"
        d=$(file_diff "$s" "$path")
        printf '%s\n' "$d" >>"$work/plan.diff"
        status=changed
        tree_cat "$root" "$path" >/dev/null || status=new
        printf '{"type":"plan_file","tool":"first-five","path":%s,"status":"%s","mode":"%s","diff":%s}\n' \
            "$(hardkit_json_str "$path")" "$status" "$(stat -c %04a "$s$path")" "$(hardkit_json_str "$d"$'\n')" >>"$work/plan.out"
    done < <(changed_files "$s")
    for f in plan.out:plan.jsonl plan.diff:plan.diff; do
        "$HKWRITE" -q put "$plan_dir/${f#*:}" --mode 0600 --from "$work/${f%%:*}" >/dev/null ||
            fix_die "cannot write $plan_dir/${f#*:}"
    done
    if ((json)); then
        cat "$work/plan.out"
    else
        cat "$work/plan.diff"
        local backups
        backups=$(changed_files "$s" backups | paste -sd ' ')
        [[ -z $backups ]] || echo "first-five: the originals are also kept beside them: $backups" >&2
        echo "first-five: plan written to $plan_dir: $(changes) change(s), $n file(s) under $plan_dir/files, their diffs in plan.diff, the steps in plan.jsonl; nothing changed on $root" >&2
    fi
}

run_steps() { # TARGET REAL
    rm -rf "$work/prev"
    ((json)) || echo "==> ${3:-}" >&2
    # (whole lines: each step prints its own lines under its heading)
    hardkit_progress 1 8 "SSH (sshd_config, 00-hardkit.conf)"
    step_ssh "$1" "$2"
    hardkit_progress 2 8 "Brute-force protection (jailgen: the sshd jail)"
    step_jail "$1" "$2"
    hardkit_progress 3 8 "Firewall (fwplan: nftables.conf)"
    step_firewall "$1" "$2"
    hardkit_progress 4 8 "Service account (svcacct)"
    step_service "$1" "$2"
    hardkit_progress 5 8 "Security updates (secupdates, unattended-upgrades)"
    step_updates "$1" "$2"
    hardkit_progress 6 8 "AI stack (aistack: compose files, the tunnel's credentials)"
    step_stack "$1" "$2"
    hardkit_progress 7 8 "Daily watch (hardkit-monitor.timer)"
    step_monitor "$1" "$2"
    hardkit_progress 8 8 "File-integrity baseline (fim, last)"
    step_fim "$1" "$2"
}

fix_main() {
    command -v jq >/dev/null || fix_die "--plan and --apply need jq (apt-get install jq)"
    # Both need root: the plan runs useradd/groupadd --root on its scratch
    # copy and reads /etc/shadow (the lockout guard's locked accounts).
    ((EUID == 0)) || fix_die "--$mode needs root (the plan itself changes nothing outside its scratch copy)"
    # The plan, on the scratch copy: every file and every refusal, before
    # anything of the root is touched.
    local scratch=$work/scratch
    make_scratch "$scratch"
    run_steps "$scratch" 0 "plan (on a scratch copy of $root)"
    if [[ $mode == plan ]]; then
        write_plan "$scratch"
        return 0
    fi
    # --apply: the same steps on the root itself.
    : >"$actions"
    run_steps "$root" 1 "apply to $root"
    if ((json)); then
        cat "$actions"
    else
        local again=""
        [[ $root == / ]] || again=" --root $root"
        echo "first-five: applied to $root: $(changes) change(s). See the checklist now: first-five$again" >&2
    fi
    return 0
}
