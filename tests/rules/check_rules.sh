#!/bin/bash
# Checks the Prometheus alert rules and the Alertmanager example config shipped in config/:
#   bash tests/rules/check_rules.sh REPO_ROOT
# Needs promtool (prometheus) and amtool (prometheus-alertmanager) on PATH. Exits non-zero
# on the first failure.
set -euo pipefail

root=${1:?usage: check_rules.sh REPO_ROOT}
rules=$root/config/prometheus/flowdrift-rules.yml
tests=$root/config/prometheus/flowdrift-rules.test.yml
am=$root/config/alertmanager/alertmanager.yml
routes=$root/config/alertmanager/routes.test
runbooks=$root/docs/runbooks.md
# The one runbook base every rule's runbook_url must use, followed by #<lowercase alert name>.
runbook_base=https://github.com/flowdrift/flowdrift/blob/main/docs/runbooks.md

step() { echo; echo "== $*"; }

step "promtool check rules --lint=all --lint-fatal $rules"
promtool check rules --lint=all --lint-fatal "$rules"

step "promtool test rules $tests"
promtool test rules "$tests"

step "every alert: runbook_url is $runbook_base#<lowercase name>, docs/runbooks.md has its section, tests fire and not fire it"
# "alert runbook_url" per rule, in file order.
mapfile -t alerts < <(awk '
  /^[[:space:]]*- alert:/ { name = $3 }
  /^[[:space:]]*runbook_url:/ { url = $2; gsub(/["\047]/, "", url); print name, url }' "$rules")
[ "${#alerts[@]}" -gt 0 ] || { echo "FAIL: no alert with a runbook_url in $rules"; exit 1; }
n_rules=$(grep -c '^[[:space:]]*- alert:' "$rules")
[ "${#alerts[@]}" -eq "$n_rules" ] || { echo "FAIL: $n_rules alerts but ${#alerts[@]} runbook_url annotations"; exit 1; }
# "alert fire|nofire" for each alert_rule_test case. A YAML anchor (`exp_alerts: &name`, the
# list follows) counts like the list itself; an alias (`exp_alerts: *name`) repeats a case
# already counted where its anchor is, so it is not counted again.
cases=$(awk '
  /^[[:space:]]*alertname:/ { name = $2 }
  /^[[:space:]]*exp_alerts:[[:space:]]*(&[^[:space:]]+[[:space:]]*)?\[\][[:space:]]*$/ { print name, "nofire"; next }
  /^[[:space:]]*exp_alerts:[[:space:]]*(&[^[:space:]]+[[:space:]]*)?$/ { print name, "fire" }' "$tests")
bad=0
for entry in "${alerts[@]}"; do
  name=${entry%% *} url=${entry#* } before=$bad bad=0
  anchor=$(tr '[:upper:]' '[:lower:]' <<<"$name")
  [ "$url" = "$runbook_base#$anchor" ] || { echo "FAIL: $name: runbook_url $url, want $runbook_base#$anchor"; bad=1; }
  grep -qx "## $name" "$runbooks" || { echo "FAIL: $name: no '## $name' section in $runbooks"; bad=1; }
  grep -qx "$name fire" <<<"$cases" || { echo "FAIL: $name: no firing test case"; bad=1; }
  grep -qx "$name nofire" <<<"$cases" || { echo "FAIL: $name: no non-firing test case"; bad=1; }
  [ "$bad" -ne 0 ] || echo "ok    $name"
  [ "$before" -eq 0 ] || bad=1
done
[ "$bad" -eq 0 ]

step "amtool check-config $am"
amtool check-config "$am"

step "routes: bash $routes $am"
bash "$routes" "$am"

echo
echo "all rule and Alertmanager checks passed"
