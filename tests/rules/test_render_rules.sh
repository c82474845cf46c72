#!/usr/bin/env bash
# CTest rules.render: scripts/render-rules.sh moves every runbook_url to another base and
# FlowdriftTargetDown to another job selector, changes nothing else, keeps the rules valid
# (promtool --lint), round-trips, and refuses bad arguments by name.
# Usage: test_render_rules.sh REPO_ROOT
set -uo pipefail
root=${1:?usage: test_render_rules.sh REPO_ROOT}
render=$root/scripts/render-rules.sh
rules=$root/config/prometheus/flowdrift-rules.yml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

base=https://wiki.example.net/ops/flowdrift/runbooks.html
selector='job="flowdrift-dr", env="prod"'
"$render" --runbook-base "$base" --job-selector "$selector" "$rules" >"$work/r.yml" || fail "render exited $?"
promtool check rules --lint=all --lint-fatal "$work/r.yml" >/dev/null || fail "promtool rejects the rendered rules"
n_alerts=$(grep -c '^[[:space:]]*- alert:' "$rules")
changed=$(diff "$rules" "$work/r.yml" | grep -c '^>')
((changed == n_alerts + 1)) || fail "$changed lines changed, expected $n_alerts runbook_urls and 1 selector"
while read -r name url; do
  want="$base#$(tr '[:upper:]' '[:lower:]' <<<"$name")"
  [[ $url == "$want" ]] || fail "$name: runbook_url $url, want $want"
done < <(awk '/^[[:space:]]*- alert:/ { n = $3 } /^[[:space:]]*runbook_url:/ { u = $2; gsub(/\047/, "", u); print n, u }' "$work/r.yml")
grep -qF "expr: up{$selector} == 0" "$work/r.yml" || fail "FlowdriftTargetDown does not use the new selector"

# No options: the file as it is. Back to the shipped values: the shipped file, byte for byte.
"$render" "$rules" | cmp -s - "$rules" || fail "rendering without options changed the file"
orig_base=$(awk -F"'" '/runbook_url:/ { sub(/#.*/, "", $2); print $2; exit }' "$rules")
orig_selector=$(sed -n 's/^[[:space:]]*expr: up{\(.*\)} == 0[[:space:]]*$/\1/p' "$rules")
"$render" --runbook-base "$orig_base" --job-selector "$orig_selector" "$work/r.yml" | cmp -s - "$rules" ||
  fail "rendering back to $orig_base and $orig_selector does not give the shipped file"

# Bad arguments: exit 2, the option named.
expect_refused() {  # WANT_IN_MESSAGE ARGS...
  local want=$1 out rc
  shift
  out=$("$render" "$@" "$rules" 2>&1 >/dev/null)
  rc=$?
  ((rc == 2)) || fail "render $* exited $rc, expected 2"
  [[ $out == *"$want"* ]] || fail "render $*: message '$out' does not name $want"
}
expect_refused --runbook-base --runbook-base ftp://wiki.example.net/runbooks
expect_refused --runbook-base --runbook-base "https://wiki.example.net/run books"
expect_refused --runbook-base --runbook-base "https://wiki.example.net/x'y"
expect_refused --job-selector --job-selector 'job=flowdrift'
expect_refused --job-selector --job-selector 'job="a"} or vector(1) or up{x="b"'
expect_refused "unknown option '--runbook'" --runbook x

((failures == 0)) || { echo "$failures check(s) failed"; exit 1; }
echo "render-rules: all checks passed"
