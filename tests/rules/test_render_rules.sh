#!/usr/bin/env bash
# CTest rules.render: scripts/render-rules.sh moves every runbook_url to another base and
# FlowdriftTargetDown to another job selector, changes nothing else, keeps the rules valid
# (promtool --lint), round-trips, and refuses bad arguments by name. With --dashboard it moves
# the Grafana dashboard's links too (runbook links to the new base, the other docs pages to the
# docs base), changes nothing else, round-trips, and refuses a dashboard of other rules.
# Usage: test_render_rules.sh REPO_ROOT
set -uo pipefail
root=${1:?usage: test_render_rules.sh REPO_ROOT}
render=$root/scripts/render-rules.sh
rules=$root/config/prometheus/flowdrift-rules.yml
dashboard=$root/config/grafana/flowdrift.json
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

# The dashboard: every "url" line moves, nothing else; the rules on stdout are the same as without.
docs=https://wiki.example.net/ops/flowdrift/docs
n_links=$(grep -c '^[[:space:]]*"url":' "$dashboard")
((n_links > 0)) || fail "no \"url\" lines in $dashboard"
"$render" --runbook-base "$base" --docs-base "$docs/" --job-selector "$selector" \
  --dashboard "$dashboard" --dashboard-out "$work/d.json" "$rules" >"$work/r2.yml" ||
  fail "render --dashboard exited $?"
cmp -s "$work/r.yml" "$work/r2.yml" || fail "the rules differ when the dashboard is rendered too"
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$work/d.json" ||
  fail "the rendered dashboard is not JSON"
changed=$(diff "$dashboard" "$work/d.json" | grep -c '^>')
((changed == n_links)) || fail "$changed dashboard lines changed, expected its $n_links links"
n_runbook=$(grep -cF "\"url\": \"$orig_base#" "$dashboard")
((n_runbook > 0)) || fail "no dashboard link starts with the rules' runbook base $orig_base#"
((n_runbook == $(grep -cF "\"url\": \"$base#" "$work/d.json"))) ||
  fail "not every runbook link moved to $base#"
((n_links - n_runbook == $(grep -cF "\"url\": \"$docs/" "$work/d.json"))) ||
  fail "not every docs link moved to $docs/"
# The anchors and page names stay: the URLs' tails are the same.
tails() {
  sed -n 's/^[[:space:]]*"url": "[^"#]*\/\([^"/#]*#[^"]*\)".*/\1/p' "$1" | sed 's/^runbooks[.]html#/runbooks.md#/'
}
[[ $(tails "$dashboard") == "$(tails "$work/d.json")" ]] ||
  fail "the dashboard links' pages or anchors changed"
# A base ending in /runbooks.md moves the docs links to its directory without --docs-base.
fork=https://github.com/acme/flowdrift/blob/v1.0/docs
"$render" --runbook-base "$fork/runbooks.md" --dashboard "$dashboard" --dashboard-out "$work/fork.json" \
  "$rules" >"$work/fork.yml" || fail "render --runbook-base $fork/runbooks.md --dashboard exited $?"
((n_links == $(grep -cF "\"url\": \"$fork/" "$work/fork.json"))) || fail "not every link moved to $fork/"
# Another base without --docs-base: the docs links stay, with a note.
"$render" --runbook-base "$base" --dashboard "$dashboard" --dashboard-out "$work/d3.json" "$rules" \
  2>"$work/note" >/dev/null || fail "render --runbook-base $base --dashboard exited $?"
grep -q -- '--docs-base' "$work/note" || fail "no note that the docs links stay: '$(cat "$work/note")'"
((n_runbook == $(diff "$dashboard" "$work/d3.json" | grep -c '^>'))) ||
  fail "without --docs-base, other lines than the runbook links changed"
# No options: the dashboard as it is, byte for byte. Back from rendered rules and dashboard: the
# shipped ones.
{ "$render" --dashboard "$dashboard" --dashboard-out "$work/same.json" "$rules" >/dev/null &&
  cmp -s "$dashboard" "$work/same.json"; } || fail "rendering the dashboard without options changed it"
{ "$render" --runbook-base "$orig_base" --dashboard "$work/d.json" --dashboard-out "$work/back.json" \
    "$work/r.yml" >/dev/null && cmp -s "$dashboard" "$work/back.json"; } ||
  fail "rendering the dashboard back to $orig_base does not give the shipped file"
{ "$render" --runbook-base "$orig_base" --dashboard "$work/fork.json" --dashboard-out "$work/back2.json" \
    "$work/fork.yml" >/dev/null && cmp -s "$dashboard" "$work/back2.json"; } ||
  fail "rendering the dashboard back from $fork does not give the shipped file"
# In place (--dashboard-out the same file).
cp "$dashboard" "$work/inplace.json"
{ "$render" --runbook-base "$base" --docs-base "$docs" --dashboard "$work/inplace.json" \
    --dashboard-out "$work/inplace.json" "$rules" >/dev/null && cmp -s "$work/d.json" "$work/inplace.json"; } ||
  fail "rendering the dashboard in place differs"
# A dashboard whose runbook links are not the rules' base: exit 1, nothing written.
out=$("$render" --dashboard "$dashboard" --dashboard-out "$work/mismatch.json" "$work/r.yml" 2>&1 >/dev/null)
rc=$?
((rc == 1)) || fail "the shipped dashboard with rendered rules: exit $rc, expected 1"
[[ $out == *"no link to $base#"* ]] || fail "the shipped dashboard with rendered rules: message '$out'"
[[ ! -e $work/mismatch.json ]] || fail "the refused dashboard was written"

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
expect_refused --runbook-base --runbook-base 'https://wiki.example.net/a\b'
expect_refused --docs-base --docs-base "https://wiki.example.net/run books"
expect_refused --docs-base --docs-base 'https://wiki.example.net/docs#x'
expect_refused --dashboard-out --dashboard "$dashboard"
expect_refused --dashboard --dashboard-out "$work/x.json"
expect_refused --dashboard --dashboard "$work/none.json" --dashboard-out "$work/x.json"
expect_refused --dashboard-out --dashboard "$dashboard" --dashboard-out "$work/none/x.json"

((failures == 0)) || { echo "$failures check(s) failed"; exit 1; }
echo "render-rules: all checks passed"
