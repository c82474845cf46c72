#!/usr/bin/env bash
# Renders docs/readiness.png: the demo (three DR changes) stopped after its check, its
# readiness report as HTML, and a screenshot of it in headless Chromium (Debian's `chromium`,
# installed here if missing). Not part of CI: run it when the report's layout changes.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
work=readiness-run  # the demo's directory, relative to the checkout
rm -rf "$work"
trap 'rm -rf "$work"' EXIT
DEMO_DIR="$work" DEMO_EXIT_AFTER=120 DEMO_INTERVAL=2s scripts/demo.sh >/tmp/readiness-demo.log 2>&1 || {
  tail -20 /tmp/readiness-demo.log; exit 1; }
demo="$PWD/$work"
rc=0
build/daemon/flowdriftctl readiness --config "$demo/flowdrift.yaml" --pair prod --format html \
  -o "$work/readiness.html" || rc=$?
[ "$rc" -eq 1 ] || { echo "readiness: expected exit 1 (not ready), got $rc" >&2; exit 1; }
python3 scripts/check_html.py "$work/readiness.html"
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1100,1800 \
  --screenshot="$PWD/docs/readiness.png" "file://$PWD/$work/readiness.html" >/dev/null 2>&1
echo "docs/readiness.png written"
