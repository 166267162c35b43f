# shellcheck shell=bash
# Shared by scripts/first-five and scripts/monitor: finding the hardkit
# binaries and trimming their human reports. Sourced, not run.

hardkit_tools=(sshd-lint jailgen fwplan svcacct fim logscan)

# Set SSHD_LINT, JAILGEN, FWPLAN, SVCACCT, FIM, LOGSCAN to the binaries: from
# $HARDKIT_BIN_DIR when set (tests use the debug build this way), from PATH
# when all are installed, else from this checkout's target/release, building
# them there (quietly, once) when they are missing or older than the sources.
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
        dir="$top/target/release/"
        local stale=0
        for t in "${hardkit_tools[@]}"; do
            if [[ ! -x "$dir$t" ]] || [[ -n $(find "$top/core" "$top/$t" -name '*.rs' -newer "$dir$t" -print -quit 2>/dev/null) ]]; then
                stale=1
            fi
        done
        if ((stale)); then
            command -v cargo >/dev/null || {
                echo "hardkit: the tools are not installed and cargo is missing (install Rust, or scripts/install)" >&2
                exit 2
            }
            echo "hardkit: building the tools (cargo build --release, first run only) ..." >&2
            (cd "$top" && cargo build --release --quiet) || {
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
    export SSHD_LINT JAILGEN FWPLAN SVCACCT FIM LOGSCAN
}

# Keep a tool's human report short: everything up to the first N findings
# (the tools print them worst first; a finding starts with its severity in
# capitals at the start of a line), then a count of the rest. At most 40 lines.
hardkit_top_findings() {
    awk -v max="$1" '
        /^(CRITICAL|HIGH|MEDIUM|LOW|INFO) / { n++ }
        n <= max && shown < 40 { print; shown++; next }
        n > max && /^(CRITICAL|HIGH|MEDIUM|LOW|INFO) / { rest++ }
        END { if (rest > 0) printf "... and %d more (run the tool alone for all)\n", rest }
    '
}
