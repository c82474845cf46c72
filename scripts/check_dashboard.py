#!/usr/bin/env python3
"""Checks the Grafana dashboard shipped in config/grafana/ without Grafana.

    python3 scripts/check_dashboard.py [--promtool PATH] [DASHBOARD.json]

Structure: valid JSON; uid, title, integer schemaVersion; no __inputs (the data source is the
DS_PROMETHEUS template variable of type datasource, which works for import and provisioning
alike); unique panel ids; every panel has a gridPos inside the 24-column grid and no two panels
overlap; every panel, target and query variable uses the datasource ${DS_PROMETHEUS}; every
$variable used is defined. Queries: every metric name a query uses is exported by flowdriftd
(named in lib/metrics/metrics.cpp and documented in docs/metrics.md; `up` is Prometheus' own),
and every panel and variable query parses: they are written as recording rules into a temporary
file checked by `promtool check rules`.

Exit 0 when everything passes, 1 with one line per problem otherwise, 2 on bad usage.
Standard library only (runs in CI next to promtool).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DS_UID = "${DS_PROMETHEUS}"
# Grafana's built-in variables, and what a range-vector selector gets instead for the check.
BUILTIN = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h", "__range_s": "3600",
           "__interval_ms": "60000", "__range_ms": "3600000"}
# Series Prometheus adds itself for every target.
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
                   "or", "unless", "offset", "inf", "nan"}
VAR_RE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


def exported_metrics():
    """Names in lib/metrics/metrics.cpp that docs/metrics.md also documents, with the
    _bucket/_sum/_count series of histograms."""
    cpp = open(os.path.join(ROOT, "lib/metrics/metrics.cpp"), encoding="utf-8").read()
    in_code = set(re.findall(r'"((?:flowdrift|process)_[a-z0-9_]+)"', cpp))
    doc = open(os.path.join(ROOT, "docs/metrics.md"), encoding="utf-8").read()
    documented, histograms = set(), set()
    for line in doc.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 4 or not cells[1].startswith("`"):
            continue
        names = re.findall(r"`([a-z_:][a-z0-9_:]*)`", cells[1])
        documented.update(names)
        if cells[2] == "histogram":
            histograms.update(names)
    names = in_code & documented
    for h in histograms & names:
        names |= {h + "_bucket", h + "_sum", h + "_count"}
    return names, in_code, documented


def substitute(expr):
    """The query as Prometheus would get it: built-ins become durations, other variables 'x'."""
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        return BUILTIN.get(name, "x")
    return VAR_RE.sub(repl, expr)


def metric_names(expr):
    """Metric names a PromQL expression selects (after substitute())."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # strings
    s = re.sub(r"\{[^}]*\}", " ", s)           # label matchers
    s = re.sub(r"\[[^\]]*\]", " ", s)          # ranges and subqueries
    s = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    out = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", s):
        name, call = m.group(1), m.group(2)
        if call or name.lower() in PROMQL_KEYWORDS:
            continue
        out.add(name)
    return out


def walk_panels(panels):
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels", []))


def check(path, promtool):
    problems = []
    err = problems.append
    try:
        with open(path, encoding="utf-8") as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        return [f"{path}: not readable JSON: {e}"]
    if not isinstance(dash, dict):
        return [f"{path}: top level is not an object"]

    uid = dash.get("uid")
    if not isinstance(uid, str) or not 8 <= len(uid) <= 40:
        err(f"{path}: uid must be a string of 8 to 40 characters, got {uid!r}")
    if not dash.get("title"):
        err(f"{path}: no title")
    if not isinstance(dash.get("schemaVersion"), int):
        err(f"{path}: schemaVersion must be an integer")
    if "__inputs" in dash:
        err(f"{path}: has __inputs: use the DS_PROMETHEUS datasource variable instead "
            "(__inputs is resolved by the import wizard only, not by provisioning)")

    variables = dash.get("templating", {}).get("list", [])
    defined = {v.get("name") for v in variables}
    ds_vars = [v for v in variables if v.get("name") == "DS_PROMETHEUS"]
    if not ds_vars or ds_vars[0].get("type") != "datasource" or ds_vars[0].get("query") != "prometheus":
        err(f"{path}: templating needs a variable DS_PROMETHEUS of type datasource, query prometheus")

    queries = []  # (where, expr)

    def check_ds(where, ds):
        if not isinstance(ds, dict) or ds.get("uid") != DS_UID or ds.get("type") != "prometheus":
            err(f"{where}: datasource must be {{type: prometheus, uid: {DS_UID}}}, got {ds!r}")

    for v in variables:
        if v.get("type") != "query":
            continue
        where = f"variable {v.get('name')}"
        check_ds(where, v.get("datasource"))
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", q or "")
        if m:
            queries.append((where, m.group(1)))
        elif not re.fullmatch(r"\s*label_values\(\s*\w+\s*\)\s*", q or ""):
            queries.append((where, q or ""))

    ids = {}
    boxes = []
    panels = list(walk_panels(dash.get("panels", [])))
    if not panels:
        err(f"{path}: no panels")
    for p in panels:
        pid = p.get("id")
        where = f"panel {pid} {p.get('title')!r}"
        if not isinstance(pid, int):
            err(f"{where}: id must be an integer")
        elif pid in ids:
            err(f"{where}: id also used by panel {ids[pid]!r}")
        else:
            ids[pid] = p.get("title")
        g = p.get("gridPos")
        if not isinstance(g, dict) or not all(isinstance(g.get(k), int) for k in "hwxy"):
            err(f"{where}: gridPos needs integer h, w, x, y")
        elif g["w"] < 1 or g["h"] < 1 or g["x"] < 0 or g["y"] < 0 or g["x"] + g["w"] > 24:
            err(f"{where}: gridPos {g} is outside the 24-column grid")
        else:
            for other, og in boxes:
                if (g["x"] < og["x"] + og["w"] and og["x"] < g["x"] + g["w"] and
                        g["y"] < og["y"] + og["h"] and og["y"] < g["y"] + g["h"]):
                    err(f"{where}: gridPos overlaps {other}")
            boxes.append((where, g))
        if p.get("type") == "row":
            if p.get("targets"):
                err(f"{where}: a row has no queries")
            continue
        if not p.get("type"):
            err(f"{where}: no type")
        check_ds(where, p.get("datasource"))
        targets = p.get("targets") or []
        if not targets:
            err(f"{where}: no targets")
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs) or not all(refs):
            err(f"{where}: refIds must be present and unique, got {refs}")
        for t in targets:
            check_ds(f"{where} target {t.get('refId')}", t.get("datasource"))
            if not t.get("expr"):
                err(f"{where} target {t.get('refId')}: no expr")
                continue
            queries.append((f"{where} target {t.get('refId')}", t["expr"]))

    allowed, in_code, documented = exported_metrics()
    for where, expr in queries:
        for m in VAR_RE.finditer(expr):
            name = m.group(1) or m.group(2) or m.group(3)
            if name not in defined and name not in BUILTIN:
                err(f"{where}: uses ${name}, which is not a template variable")
        for name in sorted(metric_names(substitute(expr))):
            if name in allowed or name in PROMETHEUS_SERIES:
                continue
            why = []
            if name not in in_code:
                why.append("not in lib/metrics/metrics.cpp")
            if name not in documented:
                why.append("not in docs/metrics.md")
            err(f"{where}: metric {name} is not exported by flowdriftd ({', '.join(why)})")

    # Every query through promtool, as recording rules (JSON is YAML).
    rules = [{"record": f"dashboard:query_{i}", "expr": substitute(expr)}
             for i, (_, expr) in enumerate(queries)]
    with tempfile.TemporaryDirectory() as tmp:
        rules_file = os.path.join(tmp, "dashboard-queries.yml")
        with open(rules_file, "w", encoding="utf-8") as f:
            json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f, indent=1)
        try:
            r = subprocess.run([promtool, "check", "rules", rules_file], capture_output=True,
                               text=True, check=False)
        except OSError as e:
            err(f"cannot run {promtool}: {e} (install prometheus: scripts/install-deps.sh --test)")
        else:
            if r.returncode != 0:
                out = (r.stdout + r.stderr).strip()
                # Name the panel: promtool reports the rule index ("rule 3:" / "group ..., rule 4").
                for line in out.splitlines():
                    if not line.strip() or line.startswith("Checking "):
                        continue
                    m = re.search(r"rule (\d+)", line)
                    if m and 0 < int(m.group(1)) <= len(queries):
                        i = int(m.group(1)) - 1
                        line += f"  <- {queries[i][0]}: {queries[i][1]}"
                    err(f"promtool: {line}")
                if not out:
                    err(f"promtool check rules failed with exit {r.returncode}")
    print(f"{path}: {len(panels)} panels, {len(queries)} queries checked")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dashboard", nargs="?",
                    default=os.path.join(ROOT, "config/grafana/flowdrift.json"))
    ap.add_argument("--promtool", default="promtool")
    args = ap.parse_args()
    problems = check(args.dashboard, args.promtool)
    for p in problems:
        print(f"FAIL: {p}")
    if problems:
        return 1
    print("dashboard OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
