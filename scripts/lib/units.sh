# shellcheck shell=bash
# The daily watch's systemd units, in one place: first-five --apply writes
# them into /etc/systemd/system (scripts/lib/fix.sh), scripts/package ships
# them in /usr/lib/systemd/system. Sourced, not run.

# hardkit_monitor_service HEADER MONITOR [BIN-DIR]: the service running
# MONITOR (the path of scripts/monitor) once; with BIN-DIR, the tools are
# taken from there (HARDKIT_BIN_DIR). A run that finds something fails the
# unit (systemctl --failed); its report is in journalctl -u hardkit-monitor.
# It reads everything and writes only its state.
hardkit_monitor_service() {
    cat <<EOF
$1
[Unit]
Description=hardkit monitor: logins, file changes, services, listeners
Documentation=man:fim(1) man:logscan(1)

[Service]
Type=oneshot
ExecStart=$2
EOF
    if [[ -n ${3:-} ]]; then
        echo "Environment=HARDKIT_BIN_DIR=$3"
    fi
    cat <<'EOF'
Nice=10
IOSchedulingClass=idle
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
ProtectHome=read-only
ReadWritePaths=/var/lib/hardkit -/run/fail2ban
EOF
}

# hardkit_monitor_timer HEADER: the timer running hardkit-monitor.service
# every day.
hardkit_monitor_timer() {
    cat <<EOF
$1
[Unit]
Description=Run hardkit monitor every day

[Timer]
OnCalendar=daily
RandomizedDelaySec=30m
Persistent=true

[Install]
WantedBy=timers.target
EOF
}
