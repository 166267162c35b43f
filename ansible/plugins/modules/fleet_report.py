#!/usr/bin/python
# hardkit.hardening.fleet_report: one report for the whole fleet.
# Copyright: hardkit developers; MIT OR Apache-2.0.

DOCUMENTATION = r"""
module: fleet_report
short_description: Write the fleet report (report.jsonl, report.html) and keep the run for the trend
description:
  - Runs on the controller (delegate_to localhost). Writes every host's records, each
    tagged with its host, to DEST/report.jsonl (one file per run, the run's own
    C(fleet_run) record first), and DEST/report.html, one static page (no scripts, no
    network access, inline CSS and SVG) ranking the hosts worst first, with their
    findings by severity and the trend of the last runs. The run's counts are appended
    to DEST/history.jsonl, which keeps the last KEEP runs.
  - Everything a host wrote is untrusted: it is escaped in the page, never interpreted.
options:
  records:
    description: Every host's records (the hardkit_records filter's output, joined).
    type: list
    elements: dict
    required: true
  hosts:
    description: Every host of the run, with its state (C(ok), C(failed), C(unreachable)).
    type: dict
    required: true
  dest:
    description: The directory of the report on the controller.
    type: path
    required: true
  keep:
    description: Runs kept in history.jsonl for the trend.
    type: int
    default: 30
  run_time:
    description: The run's time (ISO 8601, UTC); default now.
    type: str
"""

import datetime
import html
import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

SEVERITIES = ["critical", "high", "medium", "low", "info"]
COLOURS = {
    "critical": "#7f1d1d",
    "high": "#c2410c",
    "medium": "#a16207",
    "low": "#1d4ed8",
    "info": "#475569",
}


def counts_of(records):
    """Findings per severity for one host's records."""
    counts = dict.fromkeys(SEVERITIES, 0)
    for r in records:
        if r.get("type") == "finding" and r.get("severity") in counts:
            counts[r["severity"]] += 1
    return counts


def weight(counts, state):
    """Worst first: a host that could not be audited, then by severity."""
    return (
        1 if state != "ok" else 0,
        counts["critical"],
        counts["high"],
        counts["medium"],
        counts["low"],
        counts["info"],
    )


def write_atomic(path, text):
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".fleet-report.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def sparkline(values, width=160, height=28):
    """An inline SVG line of the values (critical + high per run)."""
    if not values:
        return ""
    top = max(max(values), 1)
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        "%.1f,%.1f" % (i * step, height - 2 - (v / top) * (height - 4))
        for i, v in enumerate(values)
    )
    last = values[-1]
    return (
        '<svg width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="critical and high findings over the last %d runs">'
        '<polyline fill="none" stroke="#c2410c" stroke-width="2" points="%s"/>'
        '<circle cx="%.1f" cy="%.1f" r="3" fill="#7f1d1d"/></svg>'
        % (
            width,
            height,
            width,
            height,
            len(values),
            points,
            (len(values) - 1) * step,
            height - 2 - (last / top) * (height - 4),
        )
    )


def page(run_time, ranked, by_host, states, history):
    e = html.escape
    rows = []
    details = []
    for host in ranked:
        counts = counts_of(by_host.get(host, []))
        state = states.get(host, "ok")
        trend = [run["hosts"].get(host, {}).get("critical", 0) + run["hosts"].get(host, {}).get("high", 0)
                 for run in history if host in run.get("hosts", {})]
        cells = "".join(
            '<td class="n%s">%d</td>' % (" zero" if counts[s] == 0 else " " + s, counts[s])
            for s in SEVERITIES
        )
        rows.append(
            '<tr><th scope="row"><a href="#h-%s">%s</a></th><td class="state %s">%s</td>%s<td>%s</td></tr>'
            % (e(host), e(host), e(state), e(state), cells, sparkline(trend))
        )
        findings = [r for r in by_host.get(host, []) if r.get("type") == "finding"]
        findings.sort(key=lambda r: SEVERITIES.index(r.get("severity", "info")) if r.get("severity") in SEVERITIES else 5)
        items = []
        for f in findings:
            loc = f.get("location") or {}
            where = loc.get("path", "")
            if isinstance(where, dict):
                where = where.get("text") or where.get("b64", "")
            if loc.get("line"):
                where = "%s:%s" % (where, loc["line"])
            items.append(
                '<li><span class="sev %s">%s</span> <code>%s</code> %s%s%s</li>'
                % (
                    e(str(f.get("severity", ""))),
                    e(str(f.get("severity", "")).upper()),
                    e(str(f.get("id", ""))),
                    e(str(f.get("title", ""))),
                    ' <span class="where">%s</span>' % e(str(where)) if where else "",
                    '<div class="fix">fix: %s</div>' % e(str(f["fix"])) if f.get("fix") else "",
                )
            )
        changes = [r for r in by_host.get(host, []) if r.get("type") == "change"]
        for c in changes[:200]:
            path = c.get("path", "")
            if isinstance(path, dict):
                path = path.get("text") or path.get("b64", "")
            attrs = c.get("attrs") or []
            items.append(
                '<li><span class="sev change">CHANGE</span> <code>%s</code> %s%s</li>'
                % (e(str(c.get("kind", c.get("change", "")))), e(str(path)), (" (%s)" % e(", ".join(map(str, attrs)))) if attrs else "")
            )
        if len(changes) > 200:
            items.append("<li>... and %d more changes (report.jsonl has them all)</li>" % (len(changes) - 200))
        errors = [r for r in by_host.get(host, []) if r.get("type") == "error"]
        for r in errors:
            items.append('<li><span class="sev error">ERROR</span> %s</li>' % e(str(r.get("message", ""))))
        details.append(
            '<section id="h-%s"><h2>%s <small>%s</small></h2><ul>%s</ul></section>'
            % (e(host), e(host), e(state), "".join(items) or "<li>no finding</li>")
        )
    totals = [sum(run["hosts"][h].get("critical", 0) + run["hosts"][h].get("high", 0) for h in run.get("hosts", {}))
              for run in history]
    head = "".join("<th>%s</th>" % s for s in SEVERITIES)
    style = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#0f172a;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:20px 0 6px}
table{border-collapse:collapse;margin:12px 0}th,td{padding:4px 10px;border-bottom:1px solid #e2e8f0;text-align:left}
td.n{text-align:right;font-weight:600;color:#fff}td.zero{color:#94a3b8;background:#f8fafc}
td.critical{background:#7f1d1d}td.high{background:#c2410c}td.medium{background:#a16207}td.low{background:#1d4ed8}td.info{background:#475569}
td.state.ok{color:#166534}td.state.failed,td.state.unreachable{color:#b91c1c;font-weight:700}
.sev{display:inline-block;min-width:70px;font-weight:700;font-size:12px}
.sev.critical{color:#7f1d1d}.sev.high{color:#c2410c}.sev.medium{color:#a16207}.sev.low{color:#1d4ed8}.sev.info,.sev.error{color:#475569}.sev.change{color:#7c3aed}
ul{margin:0;padding-left:18px}li{margin:2px 0}.where{color:#64748b}.fix{color:#334155;font-size:12px;margin-left:74px}
.meta{color:#64748b}
"""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        "<title>hardkit fleet report</title><style>%s</style></head><body>"
        "<h1>hardkit fleet report</h1><p class=\"meta\">run %s &middot; %d hosts &middot; worst first</p>"
        "<table><thead><tr><th>host</th><th>state</th>%s<th>critical + high, last %d runs</th></tr></thead><tbody>%s</tbody></table>"
        "<p class=\"meta\">fleet, critical + high per run:</p><p>%s</p>%s</body></html>\n"
        % (style, e(run_time), len(ranked), head, len(history), "".join(rows), sparkline(totals, 320, 40), "".join(details))
    )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            records=dict(type="list", elements="dict", required=True),
            hosts=dict(type="dict", required=True),
            dest=dict(type="path", required=True),
            keep=dict(type="int", default=30),
            run_time=dict(type="str"),
        ),
        supports_check_mode=False,
    )
    p = module.params
    dest = p["dest"]
    run_time = p["run_time"] or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if p["keep"] < 1:
        module.fail_json(msg="keep: at least 1 run")
    try:
        os.makedirs(dest, mode=0o750, exist_ok=True)
    except OSError as err:
        module.fail_json(msg="dest %s: %s" % (dest, err))
    states = {str(h): str(s) for h, s in p["hosts"].items()}
    by_host = {h: [] for h in states}
    for r in p["records"]:
        host = str(r.get("host", ""))
        if host not in by_host:
            # The filter tags each record with the host it came from: a
            # record of no host in the run is not reported.
            continue
        by_host[host].append(r)
    summary = {h: counts_of(rs) for h, rs in by_host.items()}
    for h, state in states.items():
        summary[h]["state"] = state
    # Worst first; ties by name.
    ranked = sorted(states, key=lambda h: tuple(-x for x in weight(summary[h], states[h])) + (h,))
    history_path = os.path.join(dest, "history.jsonl")
    history = []
    if os.path.exists(history_path):
        with open(history_path, encoding="utf-8") as f:
            for line in f:
                try:
                    run = json.loads(line)
                except ValueError:
                    continue
                if isinstance(run, dict) and isinstance(run.get("hosts"), dict):
                    history.append(run)
    history.append({"time": run_time, "hosts": summary})
    history = history[-p["keep"]:]
    lines = [json.dumps({"type": "fleet_run", "tool": "fleet", "time": run_time, "hosts": summary}, sort_keys=True)]
    for h in ranked:
        lines.extend(json.dumps(r, sort_keys=True) for r in by_host[h])
    write_atomic(os.path.join(dest, "report.jsonl"), "\n".join(lines) + "\n")
    write_atomic(history_path, "".join(json.dumps(run, sort_keys=True) + "\n" for run in history))
    write_atomic(os.path.join(dest, "report.html"), page(run_time, ranked, by_host, states, history))
    module.exit_json(
        changed=True,
        report=os.path.join(dest, "report.html"),
        jsonl=os.path.join(dest, "report.jsonl"),
        ranked=ranked,
        summary=summary,
    )


if __name__ == "__main__":
    main()
