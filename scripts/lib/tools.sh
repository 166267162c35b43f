# shellcheck shell=bash
# Shared by scripts/first-five and scripts/monitor: finding the hardkit
# binaries and trimming their human reports. Sourced, not run.

hardkit_tools=(sshd-lint jailgen fwplan svcacct fim logscan secupdates aistack hardkit-write)

# Set SSHD_LINT, JAILGEN, FWPLAN, SVCACCT, FIM, LOGSCAN, SECUPDATES, AISTACK to the tools and
# HKWRITE to hardkit-write (how the scripts write a system's files: through
# core's writer, never with cp, mv or mkdir) from
# $HARDKIT_BIN_DIR when set (tests use the debug build this way), from PATH
# when all are installed, else from this checkout's target/release
# ($CARGO_TARGET_DIR/release when set), building
# them there when they are missing or older than the sources. The build
# takes minutes the first time: cargo's own progress is shown (its progress
# bar on a terminal, its Compiling lines otherwise), on stderr.
hardkit_find_tools() {
    local top dir t missing=0
    top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    for t in "${hardkit_tools[@]}"; do
        command -v "$t" >/dev/null || missing=1
    done
    if [[ -n ${HARDKIT_BIN_DIR:-} ]]; then
        dir="${HARDKIT_BIN_DIR%/}/"
        for t in "${hardkit_tools[@]}"; do
            [[ -x "$dir$t" ]] || {
                echo "hardkit: HARDKIT_BIN_DIR=$HARDKIT_BIN_DIR has no executable $t" >&2
                exit 2
            }
        done
    elif ((missing == 0)); then
        dir=""
    else
        dir="${CARGO_TARGET_DIR:-$top/target}/release/"
        local stale=0
        for t in "${hardkit_tools[@]}"; do
            if [[ ! -x "$dir$t" ]] || [[ -n $(find "$top/core" "$top/aiapps" "$top/${t#hardkit-}" -name '*.rs' -newer "$dir$t" -print -quit 2>/dev/null) ]]; then
                stale=1
            fi
        done
        if ((stale)); then
            command -v cargo >/dev/null || {
                echo "hardkit: the tools are not installed and cargo is missing (install Rust, or scripts/install)" >&2
                exit 2
            }
            echo "hardkit: building the tools with cargo build --release (the first run takes a few minutes) ..." >&2
            (cd "$top" && cargo build --release >&2) || {
                echo "hardkit: cargo build --release failed" >&2
                exit 2
            }
        fi
    fi
    SSHD_LINT="${dir}sshd-lint"
    JAILGEN="${dir}jailgen"
    FWPLAN="${dir}fwplan"
    SVCACCT="${dir}svcacct"
    FIM="${dir}fim"
    LOGSCAN="${dir}logscan"
    SECUPDATES="${dir}secupdates"
    AISTACK="${dir}aistack"
    HKWRITE="${dir}hardkit-write"
    export SSHD_LINT JAILGEN FWPLAN SVCACCT FIM LOGSCAN SECUPDATES AISTACK HKWRITE
}

# Progress on a terminal: "[2/5] Brute-force protection (jailgen) ..." on
# stderr while a step runs. Only when both stdout and stderr are terminals
# and the output is not --json (a pipe or a log file gets the report
# alone). Style "transient" overwrites each line with the next and clears
# the last (for steps that print nothing themselves; a dumb terminal gets
# whole lines), "lines" keeps each as a heading.
hardkit_progress_on=0
hardkit_progress_transient=0
hardkit_progress_init() { # JSON(0/1) STYLE
    hardkit_progress_on=0
    hardkit_progress_transient=0
    if (($1 == 0)) && [[ -t 1 && -t 2 ]]; then
        hardkit_progress_on=1
        [[ $2 == transient && ${TERM:-dumb} != dumb ]] && hardkit_progress_transient=1
    fi
    return 0
}
hardkit_progress() { # N TOTAL WHAT
    ((hardkit_progress_on)) || return 0
    if ((hardkit_progress_transient)); then
        printf '\r\033[K[%d/%d] %s ...' "$1" "$2" "$3" >&2
    else
        printf '[%d/%d] %s ...\n' "$1" "$2" "$3" >&2
    fi
}
hardkit_progress_done() {
    if ((hardkit_progress_transient)); then
        printf '\r\033[K' >&2
    fi
}

# Keep a tool's human report short for the checklist: its one-line
# summaries (unindented lines with a figure in them: "13 findings: ...",
# "agent.service  9.6 UNSAFE", fwplan's listener lines), not its tables,
# then the first N findings (the tools print them worst first; a finding
# starts with its severity in capitals) with their detail and fix lines,
# then a count of the rest. With a second argument "all", indented lines
# before the findings are kept too (fim's list of changed files), at most 12.
hardkit_top_findings() {
    # Several reports may follow each other (svcacct audit, then svcacct
    # containers; fim, then fim perms): their header lines first, then the
    # worst MAX findings of all of them (each report lists its own worst
    # first; equal severities keep their order).
    awk -v max="$1" -v keep="${2:-}" '
        function rank(s) { return s == "CRITICAL" ? 4 : s == "HIGH" ? 3 : s == "MEDIUM" ? 2 : s == "LOW" ? 1 : 0 }
        /^(CRITICAL|HIGH|MEDIUM|LOW|INFO) / { n++; sev[n] = rank($1); body[n] = $0; cur = n; next }
        cur && /^ / { body[cur] = body[cur] "\n" $0; next }
        { cur = 0 }
        /^[^ \t].*[0-9]/ { print; next }
        keep == "all" && /^[ \t]+[^ \t]/ && kept < 12 { print; kept++ }
        END {
            shown = 0
            for (r = 4; r >= 0; r--)
                for (i = 1; i <= n; i++)
                    if (sev[i] == r && shown < max) { print body[i]; shown++ }
            if (n > shown) printf "... and %d more (run the tool alone for all)\n", n - shown
        }
    '
}

# Print $1 as a JSON string (quotes included): backslash, quote and control
# characters escaped, so error messages and paths cannot break the stream.
hardkit_json_str() {
    local s=$1 out="" c i code
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case "$c" in
            '"') out+='\"' ;;
            "\\") out+="\\\\" ;;
            $'\n') out+='\n' ;;
            $'\t') out+='\t' ;;
            *)
                printf -v code '%d' "'$c"
                if ((code >= 0 && code < 32)); then
                    printf -v c '\\u%04x' "$code"
                fi
                out+=$c
                ;;
        esac
    done
    printf '"%s"' "$out"
}

# jq definitions for text that came from the system (file, unit, user and
# process names, error messages) on its way to a terminal: `esc` escapes
# control characters (\n \r \t \xNN), C1 controls and bidi controls
# (\u{NN}) and the backslash, as hardkit-core's escape_untrusted does for
# the tools' own human output, so a name cannot rewrite the screen or make
# `evil` read as `live`. Use: jq -r "$hardkit_jq_esc ... | esc".
# shellcheck disable=SC2016 # a jq program, not shell
hardkit_jq_esc='
def hardkit_hex: if . < 16 then "0123456789abcdef"[.:.+1]
    else (. / 16 | floor | hardkit_hex) + "0123456789abcdef"[(. % 16):(. % 16) + 1] end;
def esc: tostring | gsub("(?<c>[\\x{0}-\\x{1f}\\x{7f}-\\x{9f}\\x{61c}\\x{200e}\\x{200f}\\x{202a}-\\x{202e}\\x{2066}-\\x{2069}\\\\])";
    .c | explode[0] |
    if . == 10 then "\\n" elif . == 13 then "\\r" elif . == 9 then "\\t" elif . == 92 then "\\\\"
    elif . < 32 or . == 127 then "\\x" + (if . < 16 then "0" else "" end) + hardkit_hex
    else "\\u{" + hardkit_hex + "}" end);
'

# Print $1 escaped for a terminal (see hardkit_jq_esc), without a newline.
hardkit_escape() {
    jq -njr --arg s "$1" "$hardkit_jq_esc"' $s | esc'
}

# A finding record of the scripts themselves (tool "first-five" or
# "monitor"), for what no tool reports: hardkit_finding TOOL ID SEVERITY
# TITLE DETAIL FIX [PATH]
hardkit_finding() {
    local loc=""
    [[ -n ${7:-} ]] && loc=",\"location\":{\"path\":$(hardkit_json_str "$7")}"
    printf '{"type":"finding","tool":"%s","id":"%s","severity":"%s","title":%s,"detail":%s%s,"fix":%s,"refs":[]}\n' \
        "$1" "$2" "$3" "$(hardkit_json_str "$4")" "$(hardkit_json_str "$5")" "$loc" "$(hardkit_json_str "$6")"
}

# An error record of the scripts: hardkit_error TOOL MESSAGE
hardkit_error() {
    printf '{"type":"error","tool":"%s","message":%s}\n' "$1" "$(hardkit_json_str "$2")"
}

# Severity rank, to compare with --fail-on: info 0 ... critical 4.
hardkit_severity_rank() {
    case "$1" in
        info) echo 0 ;;
        low) echo 1 ;;
        medium) echo 2 ;;
        high) echo 3 ;;
        critical) echo 4 ;;
        *) echo -1 ;;
    esac
}

# The services to audit when none is named: every enabled service (a link
# in a *.wants or *.requires directory of ROOT/etc/systemd/system, where
# systemctl enable puts it) and every unit installed by hand in
# /etc/systemd/system (what the operator deployed, like the agent, enabled
# or not). Template instances (getty@tty1) and masked units (links to
# /dev/null) are left out. One name per line, sorted.
hardkit_default_services() {
    local etc=$1/etc/systemd/system
    {
        find "$etc" -mindepth 2 -maxdepth 2 \( -path '*.wants/*' -o -path '*.requires/*' \) -name '*.service' 2>/dev/null
        find "$etc" -maxdepth 1 -type f -name '*.service' 2>/dev/null
    } | sed 's|.*/||' | grep -v '@' | LC_ALL=C sort -u
}

# The SSH connection this command runs in, as $SSH_CONNECTION ("CLIENT
# CLIENT-PORT SERVER SERVER-PORT"): the variable when it is set (empty: no
# connection), else, under sudo (whose env_reset drops it), the one in the
# environment of the login shell sshd started, an ancestor of this shell.
hardkit_ssh_connection() {
    if [[ -n ${SSH_CONNECTION+set} ]]; then
        echo "$SSH_CONNECTION"
        return 0
    fi
    local pid=$$ value
    for _ in $(seq 256); do
        pid=$(awk '{ sub(/.*\) /, ""); print $2 }' "/proc/$pid/stat" 2>/dev/null) || return 0
        [[ -n $pid && $pid -gt 1 ]] || return 0
        value=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | sed -n 's/^SSH_CONNECTION=//p' | head -n1)
        if [[ -n $value ]]; then
            echo "$value"
            return 0
        fi
    done
}
