#!/bin/bash
# Writes the alert rules with another runbook location and another job selector, for sites that
# cannot reach GitHub or scrape flowdrift under another job name:
#   scripts/render-rules.sh [--runbook-base URL] [--job-selector MATCHERS] [RULES] > flowdrift-rules.yml
# Installed as /usr/share/flowdrift/render-rules.sh. RULES defaults to the checkout's
# config/prometheus/flowdrift-rules.yml, else the installed
# /usr/share/doc/flowdrift/examples/prometheus/flowdrift-rules.yml. The file itself holds the one
# value of each: every runbook_url is BASE#<lowercase alert name> with the same BASE (CTest
# rules.promtool_and_amtool enforces it), and MATCHERS is what selects flowdrift's scrape jobs
# in FlowdriftTargetDown's `up{MATCHERS} == 0`. This replaces exactly those and nothing else.
#   --runbook-base URL      where docs/runbooks.md is served, e.g.
#                           https://wiki.example.net/ops/flowdrift/runbooks.html
#   --job-selector MATCHERS label matchers, e.g. 'job="flowdrift"' or 'job=~"flowdrift-.*",env="prod"'
# Exit 2 on a bad argument, naming it; 1 when RULES does not have the expected shape.
set -euo pipefail
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
bad() { echo "render-rules: $*" >&2; exit 2; }

base= selector= rules=
while (($#)); do
  case $1 in
    --runbook-base) (($# >= 2)) || bad "--runbook-base needs a URL"; base=$2; shift 2 ;;
    --job-selector) (($# >= 2)) || bad "--job-selector needs label matchers"; selector=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) bad "unknown option '$1'" ;;
    *) [[ -z $rules ]] || bad "one rules file only (got '$rules' and '$1')"; rules=$1; shift ;;
  esac
done
if [[ -z $rules ]]; then
  rules=$(dirname "$0")/../config/prometheus/flowdrift-rules.yml
  [[ -e $rules ]] || rules=/usr/share/doc/flowdrift/examples/prometheus/flowdrift-rules.yml
fi
[[ -r $rules ]] || bad "$rules: cannot read"

# The URL goes into a single-quoted YAML string and Alertmanager links: no quotes, spaces,
# '#' (the anchor is appended) or control characters.
if [[ -n $base && ! $base =~ ^https?://[^[:space:][:cntrl:]\'\"#]+$ ]]; then
  bad "--runbook-base: must be an http(s) URL without quotes, spaces or '#', got '$base'"
fi
# PromQL label matchers: name op "value", comma-separated; values without '"' or '\'.
matcher='[a-zA-Z_][a-zA-Z0-9_]*[[:space:]]*(=|!=|=~|!~)[[:space:]]*"[^"\\]*"'
if [[ -n $selector && ! $selector =~ ^$matcher([[:space:]]*,[[:space:]]*$matcher)*$ ]]; then
  bad "--job-selector: must be PromQL label matchers like 'job=\"flowdrift\"', got '$selector'"
fi

awk -v base="$base" -v selector="$selector" -v file="$rules" '
  function fail(msg) { print "render-rules: " file ": " msg > "/dev/stderr"; failed = 1; exit 1 }
  # Replaces the literal `from` in the line by `to` (no regex, no & or \ expansion).
  function literal(line, from, to,   at) {
    at = index(line, from)
    return at ? substr(line, 1, at - 1) to substr(line, at + length(from)) : line
  }
  /^[[:space:]]*runbook_url:/ {
    url = $0
    sub(/^[^\x27]*\x27/, "", url); sub(/#.*/, "", url)
    if (old_base == "") old_base = url
    else if (url != old_base) fail("line " NR ": runbook_url base " url ", expected " old_base)
    if (base != "") $0 = literal($0, old_base "#", base "#")
  }
  /^[[:space:]]*expr: up\{.*\} == 0[[:space:]]*$/ {
    m = $0; sub(/^[^{]*\{/, "", m); sub(/\}[^}]*$/, "", m)
    if (selector != "") $0 = literal($0, "up{" m "}", "up{" selector "}")
    ++up
  }
  { print }
  END {
    if (failed) exit 1
    if (old_base == "") fail("no runbook_url")
    if (up != 1) fail(up + 0 " `expr: up{...} == 0` lines, expected 1")
  }' "$rules"
