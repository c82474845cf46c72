#!/usr/bin/env bash
# Renders docs/fleet.png from bench_fleet results: scripts/plot_fleet.py draws the charts as
# HTML, headless Chromium (Debian's `chromium`, installed here if missing) takes the picture.
# Not part of CI: run it after new bench_fleet runs (docs/performance.md says which).
# Usage: scripts/plot-fleet.sh RESULTS...   (files holding bench_fleet's output)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$#" -ge 1 ] || { echo "usage: $0 RESULTS..." >&2; exit 2; }
command -v chromium >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 scripts/plot_fleet.py "$work/fleet.html" "$@"
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1080,370 \
  --screenshot="$PWD/docs/fleet.png" "file://$work/fleet.html" >/dev/null 2>&1
echo "docs/fleet.png written"
