#!/usr/bin/env python3
"""Records what the Grafana dashboard's panels show from a live Prometheus, and draws it as a PNG.

    # 1. record: run every panel query of the dashboard against a Prometheus that scrapes a real
    #    flowdriftd (the e2e rig does this: see docs/alerting.md) and save the answers
    python3 scripts/render_dashboard.py record --prometheus http://127.0.0.1:9090 \
        --start UNIX_TIME [--end UNIX_TIME] [--step 2] --out docs/dashboard-recording.json
    # 2. render: draw the panels from the recording (python3-matplotlib, a dev-time tool)
    python3 scripts/render_dashboard.py render docs/dashboard-recording.json -o docs/dashboard.png

The recording holds the dashboard's panels (titles, layout, units, mappings, queries) and, per
query, Prometheus' answer: a range query for time series panels, an instant query at the end for
stat and table panels. Template variables are set to All (`.*`); $__rate_interval is 4 scrape
intervals, as Grafana computes it. Recording needs only the standard library.
"""
import argparse
import datetime
import json
import os
import re
import sys
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- record ------------------------------------------------------------------------------------

def prom(base, path, params):
    url = base.rstrip("/") + path + "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=30) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"{url}: {body}")
    return body["data"]


def substitute(expr, rate_interval, range_s):
    values = {"__rate_interval": rate_interval, "__interval": rate_interval,
              "__range": f"{range_s}s", "__range_s": str(range_s)}
    return re.sub(r"\$\{(\w+)\}|\$(\w+)",
                  lambda m: values.get(m.group(1) or m.group(2), ".*"), expr)


def record(args):
    with open(args.dashboard, encoding="utf-8") as f:
        dash = json.load(f)
    end = args.end or int(datetime.datetime.now().timestamp())
    start = args.start
    if start >= end:
        sys.exit(f"record: --start {start} is not before --end {end}")
    panels = []
    for p in dash["panels"]:
        p = dict(p)
        for t in p.get("targets", []):
            expr = substitute(t["expr"], args.rate_interval, end - start)
            if p["type"] == "timeseries":
                data = prom(args.prometheus, "/api/v1/query_range",
                            {"query": expr, "start": start, "end": end, "step": args.step})
            else:
                data = prom(args.prometheus, "/api/v1/query", {"query": expr, "time": end})
            t["recorded_expr"] = expr
            t["result"] = data["result"]
        panels.append(p)
    out = {"title": dash["title"], "uid": dash["uid"], "start": start, "end": end,
           "step": args.step, "rate_interval": args.rate_interval,
           "recorded_from": "flowdriftd with two pcsim sites (tests/e2e, [.record])",
           "panels": panels}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    n = sum(len(t["result"]) for p in panels for t in p.get("targets", []))
    print(f"recorded {len(panels)} panels, {n} series, {end - start}s into {args.out}")


# --- render ------------------------------------------------------------------------------------

COLORS = {"green": "#73bf69", "red": "#f2495c", "orange": "#ff9830", "blue": "#5794f2",
          "text": "#ccccdc", "yellow": "#fade2a", "purple": "#b877d9"}
BG, PANEL_BG, GRID, TEXT, MUTED = "#111217", "#181b1f", "#2c3235", "#ccccdc", "#8e8e8e"
PALETTE = ["#73bf69", "#f2cc0c", "#5794f2", "#ff9830", "#f2495c", "#b877d9", "#8ab8ff",
           "#ca95e5", "#fade2a", "#96d98d"]


def color(name):
    return COLORS.get(name, name or TEXT)


def legend(fmt, metric):
    if not fmt or fmt == "__auto":
        return ",".join(f"{k}={v}" for k, v in sorted(metric.items()) if k != "__name__")
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: metric.get(m.group(1), ""), fmt).strip()


def fmt_value(v, unit, decimals=None):
    if v != v:  # NaN
        return "NaN"
    if unit == "s":
        a = abs(v)
        for limit, div, suffix in ((60, 1, " s"), (3600, 60, " min"), (86400, 3600, " h"),
                                   (float("inf"), 86400, " day")):
            if a < limit:
                x = v / div
                if div == 1 and a < 1:
                    return f"{v * 1000:.0f} ms"
                return f"{x:.1f}{suffix}" if x != int(x) else f"{int(x)}{suffix}"
    if unit == "bytes":
        for div, suffix in ((1 << 30, " GiB"), (1 << 20, " MiB"), (1 << 10, " KiB")):
            if abs(v) >= div:
                return f"{v / div:.1f}{suffix}"
        return f"{v:.0f} B"
    if unit == "reqps":
        return f"{v:.2f} req/s"
    if decimals is not None:
        return f"{v:.{decimals}f}"
    return f"{v:.0f}" if v == int(v) else f"{v:.2f}"


def mapped(v, defaults):
    """(text, color) of a value through the panel's value mappings and thresholds."""
    for m in defaults.get("mappings", []):
        if m.get("type") == "value":
            key = f"{v:g}" if isinstance(v, float) else str(v)
            hit = m["options"].get(key)
            if hit:
                return hit.get("text"), hit.get("color")
    steps = defaults.get("thresholds", {}).get("steps", [])
    c = None
    for s in steps:
        if s["value"] is None or (isinstance(v, float) and v >= s["value"]):
            c = s["color"]
    if defaults.get("color", {}).get("mode") == "fixed":
        c = defaults["color"].get("fixedColor")
    return None, c


def draw_timeseries(ax, p, rec):
    import matplotlib.dates as mdates
    defaults = p.get("fieldConfig", {}).get("defaults", {})
    unit = defaults.get("unit", "short")
    stacked = defaults.get("custom", {}).get("stacking", {}).get("mode") == "normal"
    series = []
    for t in p.get("targets", []):
        for s in t["result"]:
            series.append((legend(t.get("legendFormat"), s["metric"]),
                           {float(ts): float(v) for ts, v in s["values"]}))
    base = {}  # stacking: the top of the series drawn so far, per timestamp
    gap = 1.5 * rec["step"]
    for i, (name, points) in enumerate(series):
        xs = sorted(points)
        # Like Grafana: a line breaks where samples are missing, an isolated sample is a dot,
        # and with normal stacking each series sits on top of the ones before it.
        when, lows, highs, isolated = [], [], [], []
        for j, x in enumerate(xs):
            if j and x - xs[j - 1] > gap:
                when.append(datetime.datetime.fromtimestamp(xs[j - 1] + rec["step"] / 2))
                lows.append(float("nan"))
                highs.append(float("nan"))
            low = base.get(x, 0.0) if stacked else 0.0
            high = low + points[x]
            if stacked:
                base[x] = high
            when.append(datetime.datetime.fromtimestamp(x))
            lows.append(low)
            highs.append(high)
            before = j > 0 and x - xs[j - 1] <= gap
            after = j + 1 < len(xs) and xs[j + 1] - x <= gap
            if not before and not after:
                isolated.append((when[-1], high))
        c = PALETTE[i % len(PALETTE)]
        ax.plot(when, highs, color=c, lw=1.4, label=name)
        if isolated:
            ax.plot([w for w, _ in isolated], [y for _, y in isolated], "o", color=c, ms=3.5)
        if stacked:
            ax.fill_between(when, lows, highs, color=c, alpha=0.25, lw=0)
    ax.set_xlim(datetime.datetime.fromtimestamp(rec["start"]),
                datetime.datetime.fromtimestamp(rec["end"]))
    if defaults.get("min") is not None:
        ax.set_ylim(bottom=defaults["min"])
    if series:
        top = max(max(pts.values(), default=0) for _, pts in series)
        if stacked:
            top = max(base.values(), default=top)
        if unit == "short" and top <= 10:  # counts: whole-number ticks
            ax.yaxis.set_major_locator(__import__("matplotlib.ticker", fromlist=["x"]).MaxNLocator(
                integer=True))
        ax.set_ylim(top=top * 1.15 if top > 0 else 1)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
    ax.yaxis.set_major_formatter(lambda v, _: fmt_value(v, unit))
    ax.tick_params(colors=MUTED, labelsize=7)
    ax.grid(color=GRID, lw=0.5)
    for sp in ax.spines.values():
        sp.set_visible(False)
    if series:
        ax.legend(loc="upper left", fontsize=6.5, frameon=False, labelcolor=TEXT,
                  ncol=2 if len(series) > 4 else 1)
    else:
        ax.text(0.5, 0.5, "No data", color=MUTED, ha="center", va="center",
                transform=ax.transAxes)


def draw_stat(ax, p):
    defaults = p.get("fieldConfig", {}).get("defaults", {})
    unit, decimals = defaults.get("unit", "short"), defaults.get("decimals")
    show_name = p.get("options", {}).get("textMode") == "value_and_name"
    items = []
    for t in p.get("targets", []):
        for s in t["result"]:
            v = float(s["value"][1])
            text, c = mapped(v, defaults)
            for o in p.get("fieldConfig", {}).get("overrides", []):
                name = legend(t.get("legendFormat"), s["metric"])
                if o["matcher"].get("options") == name:
                    for prop in o["properties"]:
                        if prop["id"] == "thresholds":
                            _, c = mapped(v, {"thresholds": prop["value"]})
                        if prop["id"] == "color":
                            c = prop["value"].get("fixedColor")
            items.append((legend(t.get("legendFormat"), s["metric"]),
                          text or fmt_value(v, unit, decimals), c))
    ax.set_axis_off()
    if not items:
        ax.text(0.5, 0.45, "No data", color=MUTED, ha="center", va="center", fontsize=12)
        return
    background = p.get("options", {}).get("colorMode") == "background"
    n = len(items)
    for i, (name, value, c) in enumerate(sorted(items)):
        x0, w = i / n, 1 / n
        if background:
            ax.add_patch(__import__("matplotlib.patches", fromlist=["x"]).FancyBboxPatch(
                (x0 + 0.01, 0.05), w - 0.02, 0.85, boxstyle="round,pad=0,rounding_size=0.02",
                color=color(c), transform=ax.transAxes))
        fg = "#ffffff" if background else color(c)
        ax.text(x0 + w / 2, 0.42, value, color=fg, ha="center", va="center",
                fontsize=15 if n < 4 else 12, weight="bold", transform=ax.transAxes)
        if show_name:
            ax.text(x0 + w / 2, 0.78, name, color=fg if background else TEXT, ha="center",
                    va="center", fontsize=8, transform=ax.transAxes)


def draw_table(ax, p):
    org = next((t["options"] for t in p.get("transformations", []) if t["id"] == "organize"), {})
    hidden = {k for k, v in org.get("excludeByName", {}).items() if v}
    order = org.get("indexByName", {})
    rows = []
    cols = set()
    for t in p.get("targets", []):
        for s in t["result"]:
            m = {k: v for k, v in s["metric"].items() if k not in hidden}
            cols |= set(m)
            rows.append(m)
    cols = sorted(cols, key=lambda c: (order.get(c, 99), c))
    sev_rank = {"critical": 0, "warning": 1, "info": 2}
    rows.sort(key=lambda r: (sev_rank.get(r.get("severity"), 9), r.get("pair", ""), r.get("policy", "")))
    ax.set_axis_off()
    if not rows:
        ax.text(0.5, 0.5, "No data", color=MUTED, ha="center", va="center", transform=ax.transAxes)
        return
    line_h = min(0.13, 0.9 / (len(rows) + 1))
    xs = [i / len(cols) for i in range(len(cols))]
    for x, c in zip(xs, cols):
        ax.text(x + 0.01, 0.95, c, color=MUTED, fontsize=8, weight="bold", va="top",
                transform=ax.transAxes)
    sev_color = {"critical": "red", "warning": "orange", "info": "blue"}
    for r_i, r in enumerate(rows):
        y = 0.95 - (r_i + 1) * line_h
        ax.axhline(y + line_h * 0.15, color=GRID, lw=0.5)
        for x, c in zip(xs, cols):
            fg = color(sev_color.get(r.get(c))) if c == "severity" else TEXT
            ax.text(x + 0.01, y, r.get(c, ""), color=fg, fontsize=8, va="top",
                    transform=ax.transAxes)


def render(args):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    with open(args.recording, encoding="utf-8") as f:
        rec = json.load(f)
    panels = rec["panels"]
    rows_total = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    unit_w, unit_h = 0.75, 0.42  # inches per grid column / row
    header = 0.9
    fig_w, fig_h = 24 * unit_w, rows_total * unit_h + header
    fig = plt.figure(figsize=(fig_w, fig_h), facecolor=BG)
    t0 = datetime.datetime.fromtimestamp(rec["start"]).strftime("%Y-%m-%d %H:%M:%S")
    t1 = datetime.datetime.fromtimestamp(rec["end"]).strftime("%H:%M:%S")
    fig.text(0.006, 1 - 0.35 / fig_h, rec["title"], color=TEXT, fontsize=15, weight="bold", va="center")
    fig.text(0.006, 1 - 0.72 / fig_h,
             f"{t0} - {t1}, recorded from a live Prometheus scraping flowdriftd "
             f"(scripts/render_dashboard.py, {os.path.basename(args.recording)}); job, pair, site = All",
             color=MUTED, fontsize=8.5, va="center")
    pad = 0.06
    for p in panels:
        g = p["gridPos"]
        x = (g["x"] * unit_w + pad) / fig_w
        w = (g["w"] * unit_w - 2 * pad) / fig_w
        top = header + g["y"] * unit_h + pad
        h_in = g["h"] * unit_h - 2 * pad
        y = 1 - (top + h_in) / fig_h
        h = h_in / fig_h
        if p["type"] == "row":
            fig.text(x, y + h / 2, p["title"], color=TEXT, fontsize=11, weight="bold", va="center")
            continue
        box = fig.add_axes([x, y, w, h])
        box.set_axis_off()
        box.add_patch(FancyBboxPatch((0, 0), 1, 1, boxstyle="round,pad=0,rounding_size=0.01",
                                     color=PANEL_BG, transform=box.transAxes))
        title_h = 0.3 / fig_h
        fig.text(x + 0.004, y + h - title_h / 2 - 0.05 / fig_h, p["title"], color=TEXT,
                 fontsize=9, weight="bold", va="center")
        if p["type"] == "timeseries":  # room for tick labels: 0.6 inch left, 0.3 below
            left, bottom = 0.6 / fig_w, 0.3 / fig_h
            inner = [x + left, y + bottom, w - left - 0.1 / fig_w, h - title_h - bottom - 0.05 / fig_h]
        else:
            inner = [x + 0.005, y + 0.01, w * 0.99, h - title_h - 0.015]
        ax = fig.add_axes(inner, facecolor=PANEL_BG)
        if p["type"] == "timeseries":
            draw_timeseries(ax, p, rec)
        elif p["type"] == "stat":
            draw_stat(ax, p)
        elif p["type"] == "table":
            draw_table(ax, p)
        else:
            ax.set_axis_off()
            ax.text(0.5, 0.5, f"({p['type']} panel)", color=MUTED, ha="center")
    fig.savefig(args.out, dpi=args.dpi, facecolor=BG)
    print(f"wrote {args.out} ({len(panels)} panels)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record", help="run the panel queries against Prometheus, save answers")
    r.add_argument("--prometheus", required=True, help="base URL, e.g. http://127.0.0.1:9090")
    r.add_argument("--dashboard", default=os.path.join(ROOT, "config/grafana/flowdrift.json"))
    r.add_argument("--start", type=int, required=True, help="unix time")
    r.add_argument("--end", type=int, default=0, help="unix time (default: now)")
    r.add_argument("--step", type=int, default=2, help="seconds between points")
    r.add_argument("--rate-interval", default="4s",
                   help="$__rate_interval: 4 scrape intervals (default 4s for 1 s scrapes)")
    r.add_argument("--out", required=True)
    d = sub.add_parser("render", help="draw a recording as a PNG (needs matplotlib)")
    d.add_argument("recording")
    d.add_argument("-o", "--out", default=os.path.join(ROOT, "docs/dashboard.png"))
    d.add_argument("--dpi", type=int, default=80)
    args = ap.parse_args()
    if args.cmd == "record":
        record(args)
    else:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            sys.exit("render: needs matplotlib (Debian: apt-get install python3-matplotlib, then run "
                     "this script with /usr/bin/python3)")
        render(args)


if __name__ == "__main__":
    main()
