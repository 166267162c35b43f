#!/usr/bin/env bash
# Progress for long work (fim init/check, logscan): drawn on stderr only
# when stderr is a terminal, never with --json or -q, never into a file or
# a pipe. script(1) gives a run a pseudo-terminal.
set -euo pipefail
# shellcheck source=scripts/tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build_tools
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fim=$HARDKIT_BIN_DIR/fim
logscan=$HARDKIT_BIN_DIR/logscan

mkdir -p "$tmp/root/data"
for i in $(seq 1 50); do
    head -c 20000 /dev/urandom >"$tmp/root/data/f$i"
done
log=$top/examples/logscan/auth.log

# on_terminal COMMAND...: COMMAND's stdout and stderr as a terminal shows
# them. (script(1) needs an open stdin, or it runs nothing: CI has none.)
on_terminal() {
    script -qec "$(printf '%q ' "$@")" /dev/null </dev/null
}
fim_line='files hashed'
logscan_line='logscan: [1/1]'
esc=$'\e['
lacks() { ! grep -qF "$1" "$2"; }
contains() { grep -qF "$1" "$2"; }

# Not a terminal: stderr carries the usual lines and nothing else.
"$fim" init --root "$tmp/root" /data >"$tmp/out" 2>"$tmp/err"
check "fim init, stderr a file: no progress" lacks "$fim_line" "$tmp/err"
check "fim init, stderr a file: no escape sequences" lacks "$esc" "$tmp/err"
check "fim init, stderr a file: no carriage returns" lacks $'\r' "$tmp/err"
"$fim" check --root "$tmp/root" >"$tmp/out" 2>"$tmp/err"
check "fim check, stderr a file: nothing on stderr" [ ! -s "$tmp/err" ]
"$logscan" summary "$log" >"$tmp/out" 2>"$tmp/err" || true
check "logscan summary, stderr a file: nothing on stderr" [ ! -s "$tmp/err" ]
"$logscan" "$log" 2>&1 >/dev/null | cat >"$tmp/err"
check "logscan, stderr a pipe: nothing on stderr" [ ! -s "$tmp/err" ]

# A terminal: progress is drawn (and cleared), except with --json or -q.
on_terminal "$fim" init --root "$tmp/root" /data >"$tmp/tty"
check "fim init on a terminal shows progress" contains "$fim_line" "$tmp/tty"
on_terminal "$fim" check --root "$tmp/root" >"$tmp/tty"
check "fim check on a terminal shows progress" contains "$fim_line" "$tmp/tty"
on_terminal "$fim" --json init --root "$tmp/root" /data >"$tmp/tty"
check "fim --json init on a terminal: no progress" lacks "$fim_line" "$tmp/tty"
check "fim --json init on a terminal: no escape sequences" lacks "$esc" "$tmp/tty"
on_terminal "$fim" --json check --root "$tmp/root" >"$tmp/tty"
check "fim --json check on a terminal: no progress" lacks "$fim_line" "$tmp/tty"
on_terminal "$fim" -q init --root "$tmp/root" /data >"$tmp/tty"
check "fim -q init on a terminal: no progress" lacks "$fim_line" "$tmp/tty"
on_terminal "$logscan" summary "$log" >"$tmp/tty" || true
check "logscan summary on a terminal shows progress" contains "$logscan_line" "$tmp/tty"
on_terminal "$logscan" offenders "$log" >"$tmp/tty" || true
check "logscan offenders on a terminal shows progress" contains "$logscan_line" "$tmp/tty"
on_terminal "$logscan" --json summary "$log" >"$tmp/tty" || true
check "logscan --json summary on a terminal: no progress" lacks "$logscan_line" "$tmp/tty"
check "logscan --json summary on a terminal: no escape sequences" lacks "$esc" "$tmp/tty"
on_terminal "$logscan" -q summary "$log" >"$tmp/tty" || true
check "logscan -q summary on a terminal: no progress" lacks "$logscan_line" "$tmp/tty"
# Events as text stream onto the terminal: no progress line over them;
# with stdout redirected (only stderr a terminal) it is drawn.
on_terminal "$logscan" "$log" >"$tmp/tty"
check "logscan events onto a terminal: no progress" lacks "$logscan_line" "$tmp/tty"
SHELL=/bin/bash script -qec "$(printf '%q ' "$logscan" "$log") >$(printf '%q' "$tmp/events")" /dev/null </dev/null >"$tmp/tty"
check "logscan events into a file, stderr a terminal: progress" contains "$logscan_line" "$tmp/tty"
check "logscan events into a file: the file has no progress" lacks "$logscan_line" "$tmp/events"
check "logscan events into a file: the events are there" grep -q 'auth_failure' "$tmp/events"

finish progress
