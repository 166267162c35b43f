#!/usr/bin/env bash
# Every example command line a reader can copy, run as written: the
# "Examples:" of each tool's --help and of its subcommands' help (the man
# pages xtask writes are rendered from the same clap text, so they hold the
# same lines), the ```sh blocks of README.md and docs/*.md, and in their
# other code blocks the lines that start with `$ ` or with a tool's name.
# A broken example (a flag or subcommand that does not exist, a pipe whose
# reader refuses what the writer sends, a path the fixture lacks) is
# reported with the FILE:LINE it is written at.
#
# How the examples cannot touch this machine: the examples of one source
# (one file, or one tool's help) run in order, each in a chroot whose root
# is an overlay of a fixture layer (examples/compromised-agent-host plus
# the files the examples name, such as /etc/hardkit/fw.json and
# /var/log/auth.log) over this machine's / as a read-only lower layer, with
# a tmpfs upper layer: every write lands in the tmpfs and is gone after
# the source. The chroot runs in new mount, network and PID namespaces
# (unshare): a firewall an example applies is the namespace's, a process it
# leaves behind (fwplan's rollback timer) dies with the namespace, and /run
# is an empty tmpfs, so systemctl, fail2ban-client and D-Bus cannot reach
# this machine's daemons.
#
# An example fails when a command in it exits 2 or more (usage error,
# refused input, panic, 126/127 not runnable), when it prints a usage error,
# or when it runs past the time limit. Exit 1 means findings, which is what
# the fixture is for; 141 is a reader such as `head` closing the pipe.
set -euo pipefail
# shellcheck source=scripts/tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ $(id -u) -ne 0 ]] || ! unshare --mount --net --pid --fork true 2>/dev/null; then
    echo "NOT RUN: scripts/tests/examples.sh: needs root and namespaces (unshare)" >>"${HARDKIT_NOT_RUN_LOG:-/dev/stderr}"
    echo "examples: NOT RUN (needs root and unshare)" >&2
    [[ "${CI:-}" == "true" ]] && exit 1
    exit 0
fi
build_tools
cd "$top"
tools=("${hardkit_tools[@]}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Examples that are not run, each with the reason and the check that is
# run instead (read-only, from the repository). Keyed by the command
# without its trailing `# comment`.
declare -A allowed_reason allowed_check
allow() {
    allowed_reason[$1]=$2
    allowed_check[$1]=$3
}
# Examples the fixture refuses on purpose, with the refusal they must get:
# it comes after the command line was parsed, so the flags are checked.
declare -A refused_reason refused_message
refused_on_fixture() {
    refused_reason[$1]=$2
    refused_message[$1]=$3
}
# The command without a trailing comment (a `#` after a blank, outside quotes).
bare() {
    sed -E "s/[[:space:]]+#[^'\"]*\$//" <<<"$1"
}
allow 'scripts/test' \
    'the whole test suite, this test included: it would run itself' \
    'bash -n scripts/test'
allow 'scripts/install' \
    'a release build (minutes) installed under /usr/local; scripts/tests/install.sh runs it on a temp prefix' \
    'scripts/install --help'
allow 'cargo install --path sshd-lint' \
    'a release build of one tool into ~/.cargo (minutes), the build scripts/install makes' \
    'test -f sshd-lint/Cargo.toml && grep -q "^name = \"sshd-lint\"" sshd-lint/Cargo.toml'
allow 'scripts/package' \
    'a release build (minutes) packed by cargo-deb; scripts/tests/package.sh builds it and installs it in Debian roots' \
    'scripts/package --help'
for deb in ./hardkit_0.1.0_amd64.deb ./target/debian/hardkit_0.1.0_amd64.deb; do
    allow "apt install $deb" \
        'installs the package on this machine; scripts/tests/package.sh installs it with apt in Debian 12 and 13 roots' \
        'test -x scripts/package && grep -q "apt-get install" scripts/tests/package.sh'
done
# docs/fleet.md: Ansible against a fleet; scripts/tests/fleet.sh runs the
# same playbooks against three booted hosts.
allow 'ansible-playbook -i inventory.ini hardkit.hardening.audit -e hardkit_deb=target/debian/hardkit_0.1.0_amd64.deb' \
    'needs ansible-core and hosts to reach; scripts/tests/fleet.sh runs the audit playbook on three booted Debian hosts' \
    'test -f ansible/playbooks/audit.yml && grep -q "hardkit.hardening.audit" scripts/tests/fleet.sh'
allow "ansible-playbook -i inventory.ini hardkit.hardening.apply --check --diff -e hardkit_deb=... -e '{\"hardkit_admin_nets\": [\"198.51.100.0/24\"]}' -e hardkit_ssh_port=2222" \
    'needs ansible-core and hosts to reach; scripts/tests/fleet.sh runs the plan (--check --diff) on three booted Debian hosts' \
    'test -f ansible/playbooks/apply.yml && grep -q -- "--check --diff" scripts/tests/fleet.sh'
allow "ansible-playbook -i inventory.ini hardkit.hardening.apply -e hardkit_deb=... -e '{\"hardkit_admin_nets\": [\"198.51.100.0/24\"]}' -e hardkit_ssh_port=2222" \
    'needs ansible-core and hosts to reach; scripts/tests/fleet.sh applies on three booted Debian hosts, a canary first' \
    'test -f ansible/playbooks/apply.yml && grep -q "hardkit.hardening.apply" scripts/tests/fleet.sh'
allow 'apt remove --purge hardkit' \
    'removes the package from this machine; scripts/tests/package.sh purges it in Debian roots and checks nothing is left' \
    'grep -q -- "--purge" scripts/tests/package.sh'
refused_on_fixture 'svcacct apply agent --exec /opt/agent/bin/agent --no-network --diff' \
    "the fixture's agent.service is hand-written (the compromised host); apply refuses it without --force" \
    'agent.service: exists and was not written by svcacct'
refused_on_fixture 'svcacct apply agent --exec /opt/agent/bin/agent --listen 8000 --allow-restart --diff' \
    "the fixture's agent.service is hand-written (the compromised host); apply refuses it without --force" \
    'agent.service: exists and was not written by svcacct'

# ---------------------------------------------------------------- extraction
# One line per example: SOURCE <TAB> FILE:LINE <TAB> COMMAND.
list=$tmp/examples.tsv
: >"$list"

# Where a help example is written in the tool's source (its after_help).
locate() {
    local tool=$1 text=$2 hit n
    for n in 0 40 20; do
        local needle=$text
        ((n)) && needle=${text:0:n}
        hit=$(grep -rnF -- "$needle" "$tool/src" 2>/dev/null | head -n1 | cut -d: -f1,2) || true
        if [[ -n $hit ]]; then
            echo "$hit"
            return
        fi
    done
    echo "$tool/src/cli.rs"
}

# The lines under "Examples:" in a help text (wide, so clap does not wrap).
help_examples() {
    COLUMNS=1000 "$@" --help 2>/dev/null |
        awk '/^Examples:/ { on = 1; next } on && /^  [^ ]/ { sub(/^  /, ""); print; next } on && !/^ *$/ { on = 0 }'
}

for tool in "${tools[@]}"; do
    bin=$HARDKIT_BIN_DIR/$tool
    subs=$(COLUMNS=1000 "$bin" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1; next } on { on = 0 }' | grep -vx help || true)
    {
        help_examples "$bin"
        for sub in $subs; do
            help_examples "$bin" "$sub"
        done
    } | awk '!seen[$0]++' | while IFS= read -r example; do
        printf '%s\t%s\t%s\n' "$tool --help" "$(locate "$tool" "$example")" "$example" >>"$list"
    done
done

# Code blocks: every command of a sh block (with its continuation lines);
# elsewhere `$ COMMAND` lines and lines that start with a tool's name,
# except synopses (`[--json]`, `[FILE...]`, `[options]`).
for doc in README.md docs/*.md; do
    awk -v doc="$doc" '
        function tool_line(s) { return s ~ /^(sshd-lint|jailgen|fwplan|svcacct|fim|logscan|secupdates|aistack|scripts\/[a-z-]+)( |$)/ }
        function synopsis(s) { return s ~ /\[(-|[A-Z]|options)/ }
        /^```/ {
            if (inblock) { inblock = 0 } else { inblock = 1; first = 1; lang = substr($0, 4) }
            next
        }
        !inblock { next }
        # A block that opens with a synopsis is a synopsis (`fwplan confirm`
        # on its own line there is the syntax, not an example).
        first { first = 0; skip = (lang !~ /^(sh|bash|shell)$/ && synopsis($0)) }
        skip { next }
        pending != "" {
            line = $0; sub(/^ +/, "", line)
            pending = pending " " line
            if (pending ~ /\\$/) { sub(/ *\\$/, "", pending); next }
            print doc "\t" doc ":" start "\t" pending; pending = ""; next
        }
        {
            cmd = ""
            if (lang ~ /^(sh|bash|shell)$/) {
                if ($0 !~ /^[ \t]*(#|$)/) cmd = $0
            } else if ($0 ~ /^\$ /) {
                cmd = substr($0, 3)
            } else if (tool_line($0) && !synopsis($0)) {
                cmd = $0
            }
            if (cmd == "") next
            if (cmd ~ /\\$/) { sub(/ *\\$/, "", cmd); pending = cmd; start = FNR; next }
            print doc "\t" doc ":" FNR "\t" cmd
        }
    ' "$doc" >>"$list"
done

count=$(wc -l <"$list")
if ((count < 40)); then
    fail "only $count examples found: the extraction is broken"
fi
echo "examples: $count command lines from --help, README.md and docs/*.md"

# ---------------------------------------------------------------- the sandbox
# Runs inside `unshare --mount --net --pid --fork`: $1 the scratch dir
# (this machine's, empty), $2 the repository, $3 the bin dir, $4 the
# source's examples (FILE:LINE <TAB> COMMAND), $5 where results go.
cat >"$tmp/sandbox.sh" <<'EOF'
set -euo pipefail
sb=$1 top=$2 bin=$3 examples=$4 results=$5
mount --make-rprivate /
mount -t tmpfs -o mode=0755 hardkit-examples "$sb"
mkdir -p "$sb"/{fixture,upper,work,merged}
fx=$sb/fixture
cp -a "$top/examples/compromised-agent-host/." "$fx/"
rm -rf "$fx/proc" "$fx/README.md"
# The fixture's directories replace this machine's, not merge with them
# (/etc/fail2ban merges: its filter.d and action.d are the installed
# fail2ban's, which jailgen --write validates with).
for d in etc/ssh etc/systemd/system; do
    setfattr -n trusted.overlay.opaque -v y "$fx/$d"
done
# As the openssh-server package leaves them (git keeps no modes).
chmod 600 "$fx"/etc/ssh/ssh_host_*_key
# What the examples name: a firewall policy, logs (one rotated and
# compressed), a fim key and its USB stick, images under /mnt and /srv,
# and the scratch tree docs/svcacct.md creates a service in.
mkdir -p "$fx/etc/hardkit" "$fx/var/log/nginx" "$fx/root" "$fx/media/usb" "$fx/media/fim-key" "$fx/mnt" "$fx/srv" "$fx/tmp/t1/etc"
cp "$top/examples/fwplan/policy.json" "$fx/etc/hardkit/fw.json"
gzip -c "$top/examples/logscan/auth.log" >"$fx/var/log/auth.log.2.gz"
cp "$top/examples/logscan/auth.log" "$fx/var/log/auth.log.1"
: >"$fx/var/log/nginx/error.log"
: >"$fx/var/log/nginx/access.log"
# Units the examples name: Debian 12's cron.service (audited by path) and
# nginx.service in the image (audited by name).
mkdir -p "$fx/usr/lib/systemd/system" "$fx/mnt/image/lib/systemd/system"
printf '%s\n' '[Unit]' 'Description=Regular background program processing daemon' \
    'Documentation=man:cron(8)' 'After=remote-fs.target nss-user-lookup.target' '' \
    '[Service]' 'EnvironmentFile=-/etc/default/cron' 'ExecStart=/usr/sbin/cron -f -P $EXTRA_OPTS' \
    'IgnoreSIGPIPE=false' 'KillMode=process' 'Restart=on-failure' '' \
    '[Install]' 'WantedBy=multi-user.target' >"$fx/usr/lib/systemd/system/cron.service"
head -c 32 /dev/urandom >"$fx/root/fim.key"
chmod 600 "$fx/root/fim.key"
cp "$fx/root/fim.key" "$fx/media/fim-key/fim.key"
# fim's default scope includes /usr/lib (gigabytes here); the fixture's
# rules keep each example to seconds. `fim rules --builtin` still prints
# the built-in ones.
printf '/etc all\n/opt all\n' >"$fx/etc/hardkit/fim.conf"
mkdir -p "$fx/mnt/image" "$fx/srv/image"
cp -a "$top/examples/compromised-agent-host/." "$fx/mnt/image/"
cp -a "$top/examples/compromised-agent-host/." "$fx/srv/image/"
printf '%s\n' '[Unit]' 'Description=A high performance web server and a reverse proxy server' \
    'After=network.target nss-lookup.target' '' '[Service]' 'Type=forking' 'PIDFile=/run/nginx.pid' \
    "ExecStart=/usr/sbin/nginx -g 'daemon on; master_process on;'" 'KillMode=mixed' '' \
    '[Install]' 'WantedBy=multi-user.target' >"$fx/mnt/image/lib/systemd/system/nginx.service"
for f in passwd group shadow; do cp -a "$fx/etc/$f" "$fx/tmp/t1/etc/$f"; done
setfattr -n trusted.overlay.opaque -v y "$fx/tmp"
mount -t overlay overlay -o "lowerdir=$fx:/,upperdir=$sb/upper,workdir=$sb/work" "$sb/merged"
root=$sb/merged
for d in proc sys dev; do mount --rbind "/$d" "$root/$d"; done
mount -t tmpfs -o mode=0755 run "$root/run"
# The repository and the binaries, wherever they are (a clone under /tmp,
# which the fixture's own /tmp hides): read-only, at the same paths.
for d in "$top" "$bin"; do
    if [[ ! -d $root$d || ! $root$d -ef $d ]]; then
        mkdir -p "$root$d"
        mount --bind "$d" "$root$d"
        mount -o remount,bind,ro "$root$d"
    fi
done
mkdir -m 755 "$root/run/sshd"
ip link set lo up
# The example root moved over / and entered with `chroot .` (switch_root's
# way), not a plain chroot: a process in a plain chroot may not create a
# user namespace, and the tools run a target's programs in one
# (hardkit_core::sandbox). This shell keeps its own root; its working
# directory is the moved tree.
cd "$root"
mount --move . /
n=0
while IFS=$'\t' read -r where cmd; do
    n=$((n + 1))
    limit=300
    [[ $cmd == *--follow* ]] && limit=3
    rc=0
    # fd 3: the exit status of every command of the last pipeline.
    timeout --kill-after=5 "$limit" chroot . /usr/bin/env -i \
        PATH="$bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        HOME=/root TERM=dumb NO_COLOR=1 LANG=C.UTF-8 \
        bash -o pipefail -c "cd \"\$1\" || exit 99
$cmd
echo \"\${PIPESTATUS[*]}\" >&3" sh "$top" \
        </dev/null >"$results/$n.out" 2>"$results/$n.err" 3>"$results/$n.status" || rc=$?
    printf '%s\t%s\t%s\t%s\n' "$n" "$rc" "$where" "$cmd" >>"$results/index"
done <"$examples"
EOF

# ---------------------------------------------------------------- running
usage_error='unexpected argument|unrecognized subcommand|invalid value|required arguments were not provided|unexpected value|panicked at|command not found'
run_source() {
    local source=$1 dir
    dir=$tmp/run.$(echo "$source" | tr -c 'a-zA-Z0-9' _)
    mkdir -p "$dir/scratch" "$dir/results"
    : >"$dir/results/index"
    awk -F '\t' -v s="$source" '$1 == s { print $2 "\t" $3 }' "$list" >"$dir/examples"
    local rest=$dir/examples.run
    : >"$rest"
    local where cmd
    local key
    while IFS=$'\t' read -r where cmd; do
        key=$(bare "$cmd")
        if [[ -n ${allowed_reason[$key]:-} ]]; then
            if bash -c "${allowed_check[$key]}" >/dev/null 2>&1; then
                ok "$where: not run (${allowed_reason[$key]}); checked with '${allowed_check[$key]}': $cmd"
            else
                fail "$where: the check '${allowed_check[$key]}' of a listed example failed: $cmd"
            fi
            continue
        fi
        printf '%s\t%s\n' "$where" "$cmd" >>"$rest"
    done <"$dir/examples"
    if ! unshare --mount --net --pid --fork --kill-child bash "$tmp/sandbox.sh" \
        "$dir/scratch" "$top" "$HARDKIT_BIN_DIR" "$rest" "$dir/results" 2>"$dir/sandbox.err"; then
        fail "$source: the sandbox could not be set up: $(tail -n3 "$dir/sandbox.err")"
        return
    fi
    local n rc statuses s bad
    while IFS=$'\t' read -r n rc where cmd; do
        bad=""
        statuses=$(cat "$dir/results/$n.status" 2>/dev/null || true)
        if [[ $rc == 124 || $rc == 137 ]] && [[ $cmd == *--follow* ]]; then
            # `--follow` reads forever, like tail -F: it must still be
            # running when the time is up.
            statuses=""
        elif [[ $rc == 124 || $rc == 137 ]]; then
            bad="ran past the time limit"
        elif [[ -z $statuses ]]; then
            bad="exit $rc before it finished"
        fi
        for s in $statuses; do
            if ((s >= 2 && s != 141)); then
                bad="exit statuses $statuses"
            fi
        done
        if [[ -z $bad ]] && grep -qE "$usage_error" "$dir/results/$n.err"; then
            bad="usage error on stderr"
        fi
        key=$(bare "$cmd")
        if [[ -n ${refused_reason[$key]:-} ]]; then
            if [[ $bad == "exit statuses 2" ]] && grep -qF -- "${refused_message[$key]}" "$dir/results/$n.err"; then
                ok "$where: refused as expected (${refused_reason[$key]}): $cmd"
            else
                fail "$where: expected the refusal '${refused_message[$key]}' (${refused_reason[$key]}), got ${bad:-success}: $cmd"
            fi
            continue
        fi
        if [[ -n $bad ]]; then
            fail "$where: $bad: $cmd
$(tail -n 4 "$dir/results/$n.err" | sed 's/^/    | /')"
        else
            ok "$where: $cmd"
        fi
    done <"$dir/results/index"
}

while IFS= read -r source; do
    run_source "$source"
done < <(cut -f1 "$list" | awk '!seen[$0]++')

finish examples
