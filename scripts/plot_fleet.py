#!/usr/bin/env python3
"""Plots bench_fleet's cost against sites and against policies (issue #19, point 5).

Reads the `fleet: key=value ...` lines that build/tests/bench/bench_fleet prints (one per run,
in any order) from the files given, and writes an HTML page holding two SVG charts:
  - CPU per cycle (the first cycle and the mean quiet cycle) and peak RSS against the number
    of sites, for the runs that share the most common policy count;
  - the same against policies per site, for the runs that share the most common site count.
Each series gets its least-squares line (fixed cost + slope x) and R^2, so "is it linear?"
has a number. scripts/plot-fleet.sh turns the page into docs/fleet.png with headless Chromium.
Standard library only.
Usage: plot_fleet.py OUT.html RESULTS...
"""
import collections
import sys

WIDTH, HEIGHT, PAD = 520, 340, 56
SERIES = [("first_cpu", "first cycle CPU (s)", "#c0392b"),
          ("quiet_cpu", "quiet cycle CPU (s)", "#2471a3"),
          ("peak_rss_mib", "peak RSS (MiB, right axis)", "#1e8449")]


def read_runs(paths):
    runs = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.startswith("fleet: "):
                    continue
                fields = dict(kv.split("=", 1) for kv in line[len("fleet: "):].split())
                runs.append({k: (v if k == "mode" else float(v)) for k, v in fields.items()})
    if not runs:
        sys.exit("plot_fleet: no 'fleet:' lines in " + ", ".join(paths))
    return runs


def fit(points):
    """Least squares y = a + b*x: (a, b, R^2)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for _, y in points)
    ss_res = sum((y - a - b * x) ** 2 for x, y in points)
    return a, b, (1 - ss_res / ss_tot) if ss_tot else 1.0


def chart(title, xlabel, runs, xkey):
    xlabel_short = "site" if xkey == "sites" else "policy"
    xs = [r[xkey] for r in runs]
    xmax = max(xs) * 1.1
    left_max = max(max(r["first_cpu"], r["quiet_cpu"]) for r in runs) * 1.15 or 1
    right_max = max(r["peak_rss_mib"] for r in runs) * 1.15 or 1
    sx = lambda x: PAD + x / xmax * (WIDTH - 2 * PAD)
    sy = lambda y, top: HEIGHT - PAD + 0 - y / top * (HEIGHT - 2 * PAD)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           'font-family="sans-serif" font-size="11">',
           f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="13">{title}</text>',
           f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#333"/>',
           f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#333"/>',
           f'<line x1="{WIDTH - PAD}" y1="{PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#333"/>',
           f'<text x="{WIDTH / 2}" y="{HEIGHT - 14}" text-anchor="middle">{xlabel}</text>']
    for i in range(5):
        v = left_max * i / 4
        r = right_max * i / 4
        y = sy(v, left_max)
        out.append(f'<text x="{PAD - 6}" y="{y + 4}" text-anchor="end">{v:.1f}</text>')
        out.append(f'<text x="{WIDTH - PAD + 6}" y="{y + 4}">{r:.0f}</text>')
    for x in sorted(set(xs)):
        out.append(f'<text x="{sx(x)}" y="{HEIGHT - PAD + 16}" text-anchor="middle">{x:g}</text>')
    legend_y = PAD - 22
    for key, label, colour in SERIES:
        top = right_max if key == "peak_rss_mib" else left_max
        points = sorted((r[xkey], r[key]) for r in runs)
        a, b, r2 = fit(points)
        out.append(f'<line x1="{sx(0)}" y1="{sy(a, top)}" x2="{sx(xmax)}" y2="{sy(a + b * xmax, top)}" '
                   f'stroke="{colour}" stroke-dasharray="4 3" stroke-width="1"/>')
        path = " ".join(f"{sx(x)},{sy(y, top)}" for x, y in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in points:
            out.append(f'<circle cx="{sx(x)}" cy="{sy(y, top)}" r="3" fill="{colour}"/>')
        out.append(f'<text x="{PAD + 4}" y="{legend_y}" fill="{colour}">{label}: '
                   f'{a:.3g} + {b:.3g} per {xlabel_short}, R\u00b2 = {r2:.3f}</text>')
        legend_y += 13
    out.append("</svg>")
    return "\n".join(out)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    runs = read_runs(sys.argv[2:])
    policies = collections.Counter(r["policies"] for r in runs).most_common(1)[0][0]
    sites = collections.Counter(r["sites"] for r in runs).most_common(1)[0][0]
    by_sites = [r for r in runs if r["policies"] == policies]
    by_policies = [r for r in runs if r["sites"] == sites]
    html = ["<!doctype html><html><body style='margin:8px;background:#fff'>",
            chart(f"bench_fleet: {policies:g} policies per site", "sites", by_sites, "sites"),
            chart(f"bench_fleet: {sites:g} sites", "policies per site", by_policies, "policies"),
            "</body></html>"]
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        f.write("\n".join(html))


if __name__ == "__main__":
    main()
