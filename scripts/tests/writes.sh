#!/usr/bin/env bash
# shellcheck disable=SC2016 # sed and grep patterns name shell variables on purpose
# One way to write as root (issue 14): the scripts order steps and leave
# every write of a system's file (a target tree, its plan directory, the
# monitor's state) to hardkit-write, core's writer through directory
# descriptors. What the scripts may still write themselves is their own
# run's scratch space: $work (mktemp -d, root's alone) and what lives in it
# ($actions, the scratch copy $s/$scratch). This reads the scripts and
# fails on any other file-writing command or redirection, naming it at its
# FILE:LINE; scripts/tests/first-five-demo.sh and monitor.sh perform the
# attacks the rule stops.
set -euo pipefail
# shellcheck source=scripts/tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$top"

scripts=(scripts/first-five scripts/monitor scripts/lib/fix.sh scripts/lib/tools.sh scripts/lib/units.sh)
# Where a write may go: the run's own scratch space, or nowhere.
own='"?\$\{?(work|s|scratch|actions)\b|/dev/(null|tty|stderr|stdout)'
cmds='cp|mv|install|mkdir|chown|chmod|chgrp|tee|ln|touch|rm|truncate|dd|rsync|sed -i'
bad=$(
    for f in "${scripts[@]}"; do
        # Commands only: no comments, messages (the arguments of die, echo,
        # act ...) or single-quoted text (awk and jq programs), where ">"
        # and these words are not shell.
        awk -v f="$f" '
            /^[[:space:]]*#/ { next }
            /^[[:space:]]*"/ { next }
            { line = $0
              sub(/(fix_die|die|echo|printf|problem|act|act_by|say)[[:space:]][^"]*".*/, "", line)
              gsub(/\x27[^\x27]*\x27/, "\x27\x27", line)
              gsub(/"[^"$]*"/, "\"\"", line)
              print f ":" NR ":" line }' "$f"
    done | grep -E "(^|[;&|({[:space:]])($cmds)[[:space:]]|[0-9]?>>?[[:space:]]*\"?\\\$" |
        grep -vE "(^|[;&|({[:space:]])($cmds)[[:space:]]+(-[a-zA-Z]+[[:space:]]+)*($own)|(^|[;&|({[:space:]])(chmod|chown|chgrp)[[:space:]]+(-[a-zA-Z]+[[:space:]]+)*(\"[^\"]*\"|[^-[:space:]\"][^[:space:]\"]*)[[:space:]]*($own)|[0-9]?>>?[[:space:]]*($own)" |
        # (apt-get installing a package on this machine: dpkg's writes, the
        # package manager's own, as root on the running system only)
        grep -vE "(^|[;&|({[:space:]])apt_get[[:space:]]+install[[:space:]]" || true
)
# What is left must be a line whose every write is to the scratch space
# (chmod, chown and chgrp: after their mode or owner).
check "no script writes a system's file itself (got: ${bad:-none})" [ -z "$bad" ]

# And the other side: the writes that matter go through hardkit-write.
for what in 'install_text' 'restore_backup' 'write_plan' 'plan_dir_make'; do
    check "$what uses hardkit-write" bash -c 'sed -n "/^$1() {/,/^}/p" scripts/lib/fix.sh scripts/first-five | grep -q "HKWRITE"' _ "$what"
done
check "monitor writes its state with hardkit-write" grep -q '"$HKWRITE" -q put "$state/' scripts/monitor

finish writes
