#!/usr/bin/env python3
"""Checks the Grafana dashboard shipped in config/grafana/ without Grafana.

    python3 scripts/check_dashboard.py [--promtool PATH] [--root REPO] [DASHBOARD.json]

Structure: valid JSON; uid, title, integer schemaVersion; no __inputs (the data source is the
DS_PROMETHEUS template variable of type datasource, which works for import and provisioning
alike); unique panel ids; every panel has a gridPos inside the 24-column grid and no two panels
overlap; every panel, target, query variable and annotation query uses the datasource
${DS_PROMETHEUS}; every $variable used is defined, a variable's query only uses variables
defined before it. Instances: a query variable `instance`, and every query (panel, variable,
annotation) that filters job=~"$job" also filters instance=~"$instance" in the same selector.
Annotations: "Failover / failback", "Config reloads", "Drift opened" and "Drift resolved" exist,
each with an expr over its metric (documented in docs/metrics.md; a timestamp with
useValueForTime and * 1000). Links: every panel that is not a row links to at least one section
of the docs, and every link (panel or dashboard) is <docs>/<page>.md#<anchor>, where <docs> is
the directory of the one runbook base of config/prometheus/flowdrift-rules.yml (so
scripts/render-rules.sh moves them with the rules) and <anchor> is a heading of docs/<page>.md
in the checkout (GitHub's anchors). Queries: every metric name a query uses is exported by
flowdriftd (named in lib/metrics/metrics.cpp and documented in docs/metrics.md; `up` is
Prometheus' own), and every panel, variable and annotation query parses: they are written as
recording rules into a temporary file checked by `promtool check rules`.

--root is the checkout whose lib/metrics, docs/ and config/prometheus are read (default: the
one this script is in).

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
# The annotations the dashboard must have, with the metric each one is drawn from.
ANNOTATIONS = {
    "Failover / failback": "flowdrift_pair_last_flip_timestamp_seconds",
    "Config reloads": "flowdrift_config_last_reload_success_timestamp_seconds",
    "Drift opened": "flowdrift_drift_detected_total",
    "Drift resolved": "flowdrift_drift_resolved_total",
}
INSTANCE_QUERY = 'label_values(flowdrift_build_info{job=~"$job"}, instance)'
JOB_MATCHER = re.compile(r'\bjob\s*=~\s*"\$job"')
INSTANCE_MATCHER = re.compile(r'\binstance\s*=~\s*"\$instance"')
RULES = "config/prometheus/flowdrift-rules.yml"
# Series Prometheus adds itself for every target.
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
                   "or", "unless", "offset", "inf", "nan"}
VAR_RE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


def exported_metrics(root):
    """Names in lib/metrics/metrics.cpp that docs/metrics.md also documents, with the
    _bucket/_sum/_count series of histograms."""
    cpp = open(os.path.join(root, "lib/metrics/metrics.cpp"), encoding="utf-8").read()
    in_code = set(re.findall(r'"((?:flowdrift|process)_[a-z0-9_]+)"', cpp))
    doc = open(os.path.join(root, "docs/metrics.md"), encoding="utf-8").read()
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


def runbook_base(root):
    """The one base of every runbook_url in the alert rules (tests/rules/check_rules.sh checks
    that they all share it), or None."""
    try:
        text = open(os.path.join(root, RULES), encoding="utf-8").read()
    except OSError:
        return None
    m = re.search(r"^\s*runbook_url:\s*['\"]?([^'\"#\s]+)#", text, re.M)
    return m.group(1) if m else None


def github_anchors(md_path):
    """The anchors GitHub gives the headings of a Markdown file: the heading's text without
    markup, lowercased, punctuation other than '-' and '_' dropped, spaces turned into '-';
    a repeated anchor gets -1, -2, ... Headings in fenced code blocks do not count."""
    anchors, seen, fence = set(), {}, None
    with open(md_path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\s{0,3}(`{3,}|~{3,})", line)
            if m:
                if fence is None:
                    fence = m.group(1)
                elif m.group(1).startswith(fence):
                    fence = None
                continue
            if fence is not None:
                continue
            m = re.match(r"\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$", line)
            if not m:
                continue
            text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1))  # [text](url)
            text = re.sub(r"<[^>]+>", "", text)                               # inline HTML
            slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


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


def check(path, promtool, root):
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
    order = {v.get("name"): i for i, v in enumerate(variables)}
    ds_vars = [v for v in variables if v.get("name") == "DS_PROMETHEUS"]
    if not ds_vars or ds_vars[0].get("type") != "datasource" or ds_vars[0].get("query") != "prometheus":
        err(f"{path}: templating needs a variable DS_PROMETHEUS of type datasource, query prometheus")

    queries = []  # (where, expr)
    own_filter = set()  # wheres exempt from the instance filter: the instance variable's own query

    inst = [v for v in variables if v.get("name") == "instance"]
    if not inst:
        err(f"{path}: templating has no variable 'instance' (type query, {INSTANCE_QUERY}, "
            "multi, include All): every query filtered by job must be filterable by instance too")
    elif inst[0].get("type") != "query":
        err(f"{path}: variable instance must be of type query, got {inst[0].get('type')!r}")

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
        for m in VAR_RE.finditer(q or ""):
            name = m.group(1) or m.group(2) or m.group(3)
            if name in order and order[name] > order[v.get("name")]:
                err(f"{where}: uses ${name}, which is defined after it (Grafana resolves "
                    "variables in order)")
        if v.get("name") == "instance":
            own_filter.add(where)
        m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", q or "")
        if m:
            queries.append((where, m.group(1)))
        elif not re.fullmatch(r"\s*label_values\(\s*\w+\s*\)\s*", q or ""):
            queries.append((where, q or ""))

    # Annotations: the Prometheus ones are queries like the panels'.
    annotations = dash.get("annotations", {}).get("list", [])
    by_name = {}
    for a in annotations:
        by_name.setdefault(a.get("name"), a)
        if "expr" not in a:
            continue
        where = f"annotation {a.get('name')!r}"
        check_ds(where, a.get("datasource"))
        if not a.get("expr"):
            err(f"{where}: empty expr")
            continue
        queries.append((where, a["expr"]))

    ids = {}
    boxes = []
    links = []  # (where, link)
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
        plinks = p.get("links")
        if not isinstance(plinks, list) or not plinks:
            err(f"{where}: no links: every panel links to its runbook or docs section "
                '("links": [{"title": ..., "url": ..., "targetBlank": true}])')
        else:
            links += [(f"{where} link {i}", link) for i, link in enumerate(plinks)]
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

    links += [(f"{path}: dashboard link {i}", link)
              for i, link in enumerate(dash.get("links") or [])]
    check_links(links, root, err)

    allowed, in_code, documented = exported_metrics(root)
    for name, metric in ANNOTATIONS.items():
        a = by_name.get(name)
        if a is None:
            err(f"{path}: annotations.list has no annotation named {name!r} (from {metric})")
            continue
        where = f"annotation {name!r}"
        expr = a.get("expr") or ""
        if metric not in metric_names(substitute(expr)):
            err(f"{where}: expr does not use {metric}, got {expr!r}")
        if metric not in documented:
            err(f"{where}: {metric} is not documented in docs/metrics.md")
        if metric.endswith("_timestamp_seconds") and (a.get("useValueForTime") is not True or
                                                      not re.search(r"\*\s*1000\b", expr)):
            err(f"{where}: {metric} is a time in seconds: set useValueForTime and multiply "
                "by 1000 (Grafana takes the value as milliseconds)")

    for where, expr in queries:
        if where in own_filter:
            continue
        for sel in re.findall(r"\{[^}]*\}", expr):
            if JOB_MATCHER.search(sel) and not INSTANCE_MATCHER.search(sel):
                err(f'{where}: selector {sel} filters job=~"$job" but not instance=~"$instance"')

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


def check_links(links, root, err):
    """Every link is <docs>/<page>.md#<anchor> under the directory of the rules' runbook base,
    runbooks.md by that base exactly, and the anchor is a heading of docs/<page>.md."""
    base = runbook_base(root)
    if base is None:
        err(f"{os.path.join(root, RULES)}: no runbook_url, so no runbook base for the links")
        return
    docs_url = base.rsplit("/", 1)[0]
    anchors = {}
    for where, link in links:
        if not isinstance(link, dict) or not link.get("title") or not link.get("url"):
            err(f"{where}: a link needs a title and a url, got {link!r}")
            continue
        url = link["url"]
        m = re.fullmatch(re.escape(docs_url) + r"/([A-Za-z0-9_.-]+\.md)#([^#\s]+)", url)
        if not m:
            err(f"{where}: url {url} is not {docs_url}/<page>.md#<anchor> (the runbook base "
                f"{base} of {RULES} without its file name, so scripts/render-rules.sh moves it)")
            continue
        page, anchor = m.groups()
        md = os.path.join(root, "docs", page)
        if page not in anchors:
            try:
                anchors[page] = github_anchors(md)
            except OSError as e:
                err(f"{where}: url {url}: cannot read {md}: {e.strerror}")
                anchors[page] = None
        if anchors[page] is not None and anchor not in anchors[page]:
            err(f"{where}: url {url}: docs/{page} has no heading with anchor #{anchor}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dashboard", nargs="?",
                    default=os.path.join(ROOT, "config/grafana/flowdrift.json"))
    ap.add_argument("--promtool", default="promtool")
    ap.add_argument("--root", default=ROOT,
                    help="checkout with lib/metrics, docs/ and config/prometheus "
                         "(default: %(default)s)")
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(args.root, "docs/metrics.md")):
        ap.error(f"--root {args.root}: no docs/metrics.md there")
    problems = check(args.dashboard, args.promtool, args.root)
    for p in problems:
        print(f"FAIL: {p}")
    if problems:
        return 1
    print("dashboard OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
