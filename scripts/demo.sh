#!/usr/bin/env bash
# The README's main-job command: installs what is missing, builds, starts two simulated Prism
# Centrals (pcsim) seeded with the same generated policies, and runs flowdriftd against them in
# the foreground. Ctrl-C stops everything cleanly. Everything lives under ${DEMO_DIR:-demo-run}.
# DEMO_EXIT_AFTER=S makes it a smoke run that stops by itself: exit 0 once the pair came up
# IN_SYNC, the three DR changes opened exactly three alerting drift items, and removing the
# category of a protected VM on the DR site opened a VM coverage gap (checked through the JSON
# API), and flowdriftctl readiness lists all four; exit 1 if any does not happen within S seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/install-deps.sh
scripts/build.sh
bin="$root/${BUILD_DIR:-build}"
demo="$root/${DEMO_DIR:-demo-run}"
policies=${DEMO_POLICIES:-300}
interval=${DEMO_INTERVAL:-5s}
exit_after=${DEMO_EXIT_AFTER:-}
if [[ -n $exit_after && ! $exit_after =~ ^[1-9][0-9]*$ ]]; then
  echo "demo: DEMO_EXIT_AFTER must be a number of seconds, got '$exit_after'" >&2
  exit 2
fi
rm -rf "$demo"
mkdir -p "$demo/primary" "$demo/dr"
umask 077
head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$demo/pc-password"
export PCSIM_PASSWORD
PCSIM_PASSWORD=$(cat "$demo/pc-password")

pids=()
cleanup() {
  local rc=$?
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo: stopped; database kept at $demo/flowdrift.db"
  exit "$rc"
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
change() {  # site action [args...]
  local site=$1 port; shift
  port=$(cat "$demo/$site/port")
  python3 scripts/pc_change.py --url "https://127.0.0.1:$port" --ca-file "$demo/$site/ca.pem" \
    --password-file "$demo/pc-password" "$@"
}
# The primary's VMs, protected for DR (pcsim has none of its own), each secured by a policy of
# an application the three DR changes below (the first four enforced policies) leave alone.
read -r vm vm_policy vm_category < <(change primary protect-vms --nth 4)
echo "demo: $vm on primary is protected for DR and secured by $vm_policy ($vm_category)"

mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

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
  listen: 127.0.0.1:$mport
log:
  level: info
  format: logfmt
YAML

ctl="$bin/daemon/flowdriftctl"
cat <<INFO
demo: two simulated Prism Centrals with the same $policies generated policies (different UUIDs)
  primary   https://127.0.0.1:$pport   (CA $demo/primary/ca.pem)
  dr        https://127.0.0.1:$dport   (CA $demo/dr/ca.pem)
  metrics   http://127.0.0.1:$mport/metrics
  config    $demo/flowdrift.yaml
  database  $demo/flowdrift.db
In another terminal:
  $ctl status --config $demo/flowdrift.yaml
  $ctl drift --config $demo/flowdrift.yaml --open
  curl -s http://127.0.0.1:$mport/metrics | grep -E '^flowdrift_(pair_status|drift_items|policy_drift)'
  sqlite3 -readonly $demo/flowdrift.db 'SELECT object, kind, severity, datetime(opened_ms/1000,"unixepoch") FROM drift_items WHERE resolved_ms IS NULL'
Ctrl-C stops the demo (the database is kept).
INFO
"$bin/daemon/flowdriftd" --config "$demo/flowdrift.yaml" &
pids+=($!)

# Wait until flowdriftd has compared the two sites and found them in sync.
api="http://127.0.0.1:$mport"
await() {  # timeout what [KIND:POLICY ...]
  python3 scripts/demo_wait.py --url "$api" --pair prod --timeout "$@"
}
await "${exit_after:-300}" in-sync || exit 1
echo "demo: primary and dr are in sync; now making three changes on the DR site through its API"
deleted=$(change dr delete --nth 0); echo "demo: deleted enforced policy $deleted on dr"
monitored=$(change dr monitor --nth 0); echo "demo: switched $monitored to MONITOR on dr"
widened=$(change dr widen --nth 1); echo "demo: widened $widened on dr (TCP/8443 from anywhere)"
if [[ -n $exit_after ]]; then
  await "$exit_after" drift "missing:$deleted" "enforcement_mode:$monitored" "modified:$widened" ||
    exit 1
fi
change dr remove-category --category "$vm_category" >/dev/null
echo "demo: removed $vm_category on dr: $vm would land there secured by no policy"
readiness=("$ctl" readiness --config "$demo/flowdrift.yaml" --pair prod)
if [[ -n $exit_after ]]; then
  await "$exit_after" vm-gap "$vm" || exit 1
  "${readiness[@]}" --format json -o "$demo/readiness.json" && { echo "demo: readiness says ready"; exit 1; }
  python3 -c '
import json, sys
want = {(sys.argv[2], "missing"), (sys.argv[3], "enforcement_mode"), (sys.argv[4], "modified"),
        (sys.argv[5], "vm_unprotected")}
seen = {(r["policy"], r["kind"]) for r in json.load(open(sys.argv[1]))["reasons"]}
missing = want - seen
print("demo: readiness: NOT READY," + (" missing reasons %s" % sorted(missing) if missing else
      " with the three DR changes and the unprotected VM among its reasons"))
sys.exit(1 if missing else 0)
' "$demo/readiness.json" "$deleted" "$monitored" "$widened" "$vm_policy" || exit 1
  echo "demo: OK: in sync, three drift items, a VM coverage gap, readiness lists them; stopping (DEMO_EXIT_AFTER)"
  exit 0
fi
echo "demo: the readiness report: ${readiness[*]} --format html -o readiness.html"
echo "demo: watch the drift.opened lines below; Ctrl-C to stop"
wait "${pids[-1]}" || true
