#!/bin/bash
# Writes the alert rules with another runbook location and another job selector, for sites that
# cannot reach GitHub or scrape flowdrift under another job name, and the Grafana dashboard with
# its panel links moved the same way:
#   scripts/render-rules.sh [--runbook-base URL] [--docs-base URL] [--job-selector MATCHERS]
#       [--dashboard FILE --dashboard-out FILE] [RULES] > flowdrift-rules.yml
# Installed as /usr/share/flowdrift/render-rules.sh. RULES defaults to the checkout's
# config/prometheus/flowdrift-rules.yml, else the installed
# /usr/share/doc/flowdrift/examples/prometheus/flowdrift-rules.yml. The file itself holds the one
# value of each: every runbook_url is BASE#<lowercase alert name> with the same BASE (CTest
# rules.promtool_and_amtool enforces it), and MATCHERS is what selects flowdrift's scrape jobs
# in FlowdriftTargetDown's `up{MATCHERS} == 0`. This replaces exactly those and nothing else.
#   --runbook-base URL      where docs/runbooks.md is served, e.g.
#                           https://wiki.example.net/ops/flowdrift/runbooks.html
#   --docs-base URL         where the other docs pages the dashboard links to (metrics.md,
#                           operations.md, ...) are served under their own names; default: the
#                           directory of --runbook-base when that ends in /runbooks.md, else those
#                           links stay (with a note on stderr)
#   --job-selector MATCHERS label matchers, e.g. 'job="flowdrift"' or 'job=~"flowdrift-.*",env="prod"'
#   --dashboard FILE        also write this Grafana dashboard (config/grafana/flowdrift.json, installed
#   --dashboard-out FILE    as .../examples/grafana/flowdrift.json) to --dashboard-out (may be FILE)
#                           with its links moved: every "url" that is the rules' runbook base
#                           followed by #anchor gets the new base; every other "url" of the form
#                           <dir>/<page>.md#anchor (the other docs pages; one <dir> for all) gets
#                           the docs base. Nothing else changes. The dashboard's runbook links must
#                           use the same base as RULES.
# Exit 2 on a bad argument, naming it; 1 when RULES or the dashboard does not have the expected
# shape (nothing is written to --dashboard-out then).
set -euo pipefail
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
bad() { echo "render-rules: $*" >&2; exit 2; }

base='' docs_base='' selector='' rules='' dashboard='' dashboard_out=''
while (($#)); do
  case $1 in
    --runbook-base) (($# >= 2)) || bad "--runbook-base needs a URL"; base=$2; shift 2 ;;
    --docs-base) (($# >= 2)) || bad "--docs-base needs a URL"; docs_base=$2; shift 2 ;;
    --job-selector) (($# >= 2)) || bad "--job-selector needs label matchers"; selector=$2; shift 2 ;;
    --dashboard) (($# >= 2)) || bad "--dashboard needs a file"; dashboard=$2; shift 2 ;;
    --dashboard-out) (($# >= 2)) || bad "--dashboard-out needs a file"; dashboard_out=$2; shift 2 ;;
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
if [[ -n $dashboard && -z $dashboard_out ]]; then bad "--dashboard needs --dashboard-out FILE"; fi
if [[ -z $dashboard && -n $dashboard_out ]]; then bad "--dashboard-out needs --dashboard FILE"; fi
[[ -z $dashboard || -r $dashboard ]] || bad "--dashboard: $dashboard: cannot read"

# The URLs go into a single-quoted YAML string, Alertmanager links and JSON strings: no quotes,
# spaces, '#' (the anchor is appended), backslashes or control characters.
url_re='^https?://[^[:space:][:cntrl:]'\''"#\\]+$'
if [[ -n $base && ! $base =~ $url_re ]]; then
  bad "--runbook-base: must be an http(s) URL without quotes, spaces, backslashes or '#', got '$base'"
fi
if [[ -n $docs_base && ! $docs_base =~ $url_re ]]; then
  bad "--docs-base: must be an http(s) URL without quotes, spaces, backslashes or '#', got '$docs_base'"
fi
docs_base=${docs_base%/}
if [[ -z $docs_base && $base == */runbooks.md ]]; then docs_base=${base%/runbooks.md}; fi
# PromQL label matchers: name op "value", comma-separated; values without '"' or '\'.
matcher='[a-zA-Z_][a-zA-Z0-9_]*[[:space:]]*(=|!=|=~|!~)[[:space:]]*"[^"\\]*"'
if [[ -n $selector && ! $selector =~ ^$matcher([[:space:]]*,[[:space:]]*$matcher)*$ ]]; then
  bad "--job-selector: must be PromQL label matchers like 'job=\"flowdrift\"', got '$selector'"
fi

if [[ -n $dashboard ]]; then
  # The rules' one runbook base (the rules awk below checks that every runbook_url has it).
  old_base=$(awk '/^[[:space:]]*runbook_url:/ { u = $0; sub(/^[^\x27]*\x27/, "", u); sub(/#.*/, "", u); print u; exit }' "$rules")
  [[ -n $old_base ]] || { echo "render-rules: $rules: no runbook_url" >&2; exit 1; }
  out_dir=$(dirname -- "$dashboard_out")
  [[ -d $out_dir && -w $out_dir ]] || bad "--dashboard-out: $out_dir is not a writable directory"
  tmp=$(mktemp "$out_dir/.render-rules.XXXXXX")
  trap 'rm -f "$tmp"' EXIT
  # Line by line: Grafana and json.dump write one key per line, so a link is a line
  # `"url": "..."`. Links that are neither a runbook nor a docs page are left alone.
  awk -v old_base="$old_base" -v base="$base" -v docs_base="$docs_base" -v file="$dashboard" -v rules="$rules" '
    function fail(msg) { print "render-rules: " file ": " msg > "/dev/stderr"; failed = 1; exit 1 }
    function literal(line, from, to,   at) {
      at = index(line, from)
      return at ? substr(line, 1, at - 1) to substr(line, at + length(from)) : line
    }
    /^[[:space:]]*"url":[[:space:]]*"[^"\\]*",?[[:space:]]*$/ {
      url = $0; sub(/^[[:space:]]*"url":[[:space:]]*"/, "", url); sub(/",?[[:space:]]*$/, "", url)
      if (index(url, old_base "#") == 1) {
        ++runbook
        if (base != "") $0 = literal($0, "\"" old_base "#", "\"" base "#")
      } else if (match(url, /\/[A-Za-z0-9_.-]+\.md#/)) {
        dir = substr(url, 1, RSTART - 1)
        if (old_docs == "") old_docs = dir
        else if (dir != old_docs) fail("line " NR ": docs link under " dir ", expected " old_docs)
        ++docs
        if (docs_base != "") $0 = literal($0, "\"" dir "/", "\"" docs_base "/")
      }
    }
    { print }
    END {
      if (failed) exit 1
      if (!runbook) fail("no link to " old_base "#...: the dashboard does not belong to " rules)
      if (base != "" && docs && docs_base == "")
        print "render-rules: note: " docs " dashboard links to other docs pages stay under " old_docs \
              " (give --docs-base to move them)" > "/dev/stderr"
    }' "$dashboard" >"$tmp"
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

if [[ -n $dashboard ]]; then
  chmod --reference="$dashboard" "$tmp" 2>/dev/null || chmod 644 "$tmp"
  mv -f -- "$tmp" "$dashboard_out"
  trap - EXIT
fi
