#!/usr/bin/env bash
# The README's main-job command: installs what is missing, builds, starts two simulated Prism
# Centrals (pcsim) seeded with the same generated policies, and runs flowdriftd against them in
# the foreground. Ctrl-C stops everything cleanly. Everything lives under ${DEMO_DIR:-demo-run}.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/install-deps.sh
scripts/build.sh
bin="$root/${BUILD_DIR:-build}"
demo="$root/${DEMO_DIR:-demo-run}"
policies=${DEMO_POLICIES:-300}
interval=${DEMO_INTERVAL:-10s}
rm -rf "$demo"
mkdir -p "$demo/primary" "$demo/dr"
umask 077
head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$demo/pc-password"
export PCSIM_PASSWORD
PCSIM_PASSWORD=$(cat "$demo/pc-password")

pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo: stopped; database kept at $demo/flowdrift.db"
}
trap cleanup INT TERM EXIT

start_site() {  # name
  "$bin/tests/pcsim/pcsim" --listen 127.0.0.1:0 --tls-dir "$demo/$1" \
    --port-file "$demo/$1/port" --generate "$policies" --seed 42 \
    >"$demo/$1/pcsim.log" 2>&1 &
  pids+=($!)
}
start_site primary
start_site dr
for s in primary dr; do
  for _ in $(seq 100); do [[ -s "$demo/$s/port" ]] && break; sleep 0.1; done
  [[ -s "$demo/$s/port" ]] || { echo "demo: pcsim $s did not start:"; cat "$demo/$s/pcsim.log"; exit 1; }
done
pport=$(cat "$demo/primary/port"); dport=$(cat "$demo/dr/port")

cat > "$demo/flowdrift.yaml" <<YAML
# Written by scripts/demo.sh: two simulated Prism Centrals on loopback.
sites:
  - name: primary
    url: https://127.0.0.1:$pport
    username: admin
    password_file: pc-password
    ca_file: primary/ca.pem
    interval: $interval
  - name: dr
    url: https://127.0.0.1:$dport
    username: admin
    password_file: pc-password
    ca_file: dr/ca.pem
    interval: $interval
pairs:
  - name: prod
    source: primary
    replica: dr
storage:
  path: flowdrift.db
server:
  listen: 127.0.0.1:0
log:
  level: info
  format: plain
YAML

cat <<INFO
demo: two simulated Prism Centrals with $policies generated policies each
  primary  https://127.0.0.1:$pport   (CA $demo/primary/ca.pem)
  dr       https://127.0.0.1:$dport   (CA $demo/dr/ca.pem)
  config   $demo/flowdrift.yaml
  database $demo/flowdrift.db
Look at the audit trail while it runs, e.g.:
  sqlite3 $demo/flowdrift.db "SELECT s.name, p.outcome, p.reason, p.changed, datetime(p.finished_ms/1000,'unixepoch') FROM polls p JOIN sites s ON s.id=p.site_id ORDER BY p.id DESC LIMIT 10;"
Ctrl-C stops the demo.
INFO
"$bin/daemon/flowdriftd" --config "$demo/flowdrift.yaml" &
pids+=($!)
wait "${pids[-1]}" || true
