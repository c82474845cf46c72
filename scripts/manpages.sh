#!/usr/bin/env bash
# Builds the man pages into OUT_DIR, gzipped as Debian installs them (cmake/Manpages.cmake runs
# it at build time; `cmake --install` and the .deb install the results):
#   flowdriftd.8.gz       help2man from `flowdriftd --help`, with docs/man/flowdriftd.h2m
#   flowdriftctl.1.gz     the same, plus a COMMANDS section from each subcommand's --help
#   flowdrift.yaml.5.gz   go-md2man from docs/configuration.md under docs/man/flowdrift.yaml.5.head.md
# So the pages say what the binaries and docs/ say, with nothing to keep in step by hand.
# Usage: scripts/manpages.sh OUT_DIR FLOWDRIFTD FLOWDRIFTCTL VERSION
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: manpages.sh OUT_DIR FLOWDRIFTD FLOWDRIFTCTL VERSION}
daemon=${2:?} ctl=${3:?} version=${4:?}
fail() { echo "manpages: $*" >&2; exit 1; }
for tool in help2man go-md2man gzip; do
  command -v "$tool" >/dev/null || fail "$tool not found: scripts/install-deps.sh installs it"
done
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Reproducible: the date in the pages is the last commit's (help2man and gzip -n honour this),
# else a fixed one, never the build time.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$src" log -1 --format=%ct 2>/dev/null || echo 1764547200)}

# Text as roff that shows it verbatim: backslashes escaped, a leading '.' or "'" neutralized.
roff_literal() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

# flowdriftctl's COMMANDS: the subcommands listed by its --help, each with its own --help.
PATH=$(dirname "$ctl"):$PATH
{
  cat "$src/docs/man/flowdriftctl.h2m"
  echo "[COMMANDS]"
  "$ctl" --help | awk '/^Subcommands:/ { on = 1; next } on && /^  [^ ]/ { print $1; next } on && NF { exit }' > "$work/subcommands"
  [[ -s $work/subcommands ]] || fail "$ctl --help lists no subcommands"
  while read -r sub; do
    echo ".SS $sub"
    echo ".nf"
    # By its name, so the usage line says "flowdriftctl", not the build path; without the
    # documentation footer every command repeats.
    flowdriftctl "$sub" --help | sed '/^Documentation: /d' | roff_literal
    echo ".fi"
  done < "$work/subcommands"
} > "$work/flowdriftctl.h2m"

help2man --no-info --section 8 --version-string="$version" --include "$src/docs/man/flowdriftd.h2m" \
         --output "$work/flowdriftd.8" "$daemon"
help2man --no-info --section 1 --version-string="$version" --include "$work/flowdriftctl.h2m" \
         --output "$work/flowdriftctl.1" "$ctl"

# Markdown tables as lists: a man page is 80 columns wide, and tbl cannot wrap go-md2man's table
# cells, so each row becomes "- FIRST CELL: HEADER: CELL; HEADER: CELL; ...".
tables_as_lists() {
  awk -F'|' '
    function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
    /^\|/ {
      if (!intable) { intable = 1; for (i = 2; i < NF; i++) head[i] = trim($i); next }
      if ($2 ~ /^ *:?-+:? *$/) next
      line = "- " trim($2) ":"
      sep = " "
      for (i = 3; i < NF; i++) { cell = trim($i); if (cell != "") { line = line sep head[i] ": " cell; sep = "; " } }
      print line
      next
    }
    { intable = 0; print }'
}

# The config page: the head (title, NAME, SYNOPSIS), then configuration.md without its title.
{
  sed "s/@VERSION@/$version/" "$src/docs/man/flowdrift.yaml.5.head.md"
  tail -n +2 "$src/docs/configuration.md" | tables_as_lists
} > "$work/flowdrift.yaml.5.md"
go-md2man -in "$work/flowdrift.yaml.5.md" -out "$work/flowdrift.yaml.5"

for page in flowdriftd.8 flowdriftctl.1 flowdrift.yaml.5; do
  grep -q '^\.SH' "$work/$page" || fail "$page has no sections"
  gzip -9n < "$work/$page" > "$out/$page.gz.tmp"
  mv "$out/$page.gz.tmp" "$out/$page.gz"
done
