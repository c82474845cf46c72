#!/usr/bin/env bash
# Writes each audit query of docs/schema.md ("### N. Title" and its ```sql block, under
# "## Audit queries") to OUT_DIR/NN-title.sql, with a header saying how to run it in the sqlite3
# shell. cmake/Manpages.cmake runs it at build time and installs the files in
# <prefix>/share/flowdrift/queries/; the schema doc test runs every file it writes.
# Usage: scripts/audit-queries.sh SCHEMA_MD OUT_DIR [INSTALLED_DIR]
#   INSTALLED_DIR: where the files will be, for the header (default /usr/share/flowdrift/queries)
set -euo pipefail
usage="usage: audit-queries.sh SCHEMA_MD OUT_DIR [INSTALLED_DIR]"
doc=${1:?$usage} out=${2:?$usage} installed=${3:-/usr/share/flowdrift/queries}
mkdir -p "$out"
rm -f "$out"/[0-9][0-9]-*.sql
awk -v out="$out" -v installed="$installed" '
  function slug(t,   s) {
    s = tolower(t)
    gsub(/[^a-z0-9]+/, "-", s)
    gsub(/^-+|-+$/, "", s)
    if (length(s) > 48) { s = substr(s, 1, 49); sub(/-[^-]*$/, "", s) }  # whole words
    return s
  }
  function params(sql,   rest, seen, list, m) {
    rest = sql; list = ""
    while (match(rest, /:[a-z_]+/)) {
      m = substr(rest, RSTART, RLENGTH)
      if (!(m in seen)) { seen[m] = 1; list = list " " m }
      rest = substr(rest, RSTART + RLENGTH)
    }
    return list
  }
  /^## / { inqueries = ($0 == "## Audit queries"); next }
  !inqueries { next }
  /^### [0-9]+\. / {
    n = $2; sub(/\.$/, "", n)
    title = substr($0, 5 + length($2) + 1)
    plain = title; gsub(/`/, "", plain)
    file = sprintf("%s/%02d-%s.sql", out, n, slug(plain))
    next
  }
  /^```sql$/ && file != "" { insql = 1; sql = ""; next }
  /^```$/ && insql {
    insql = 0
    p = params(sql)
    printf "-- flowdrift audit query %d: %s\n", n, plain > file
    print "-- From /usr/share/doc/flowdrift/schema.md (\"Audit queries\"), which explains it. In the shell:" > file
    print "--   sqlite3 -readonly /var/lib/flowdrift/flowdrift.db" > file
    if (p != "") {
      printf "--   .parameter set NAME VALUE   for each of:%s (times in unix milliseconds)\n", p > file
    }
    printf "--   .read %s/%s\n", installed, substr(file, length(out) + 2) > file
    printf "%s", sql > file
    close(file)
    file = ""; written++
    next
  }
  insql { sql = sql $0 "\n" }
  END { if (written == 0) { print "audit-queries: no queries found in " FILENAME > "/dev/stderr"; exit 1 } }
' "$doc"
