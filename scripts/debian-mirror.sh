#!/usr/bin/env bash
# Prints the Debian mirror this host's own apt uses for bookworm (or, failing that, for any
# Debian suite), so that a debootstrapped root fetches from the same place as the host: no
# hard-coded mirror. MIRROR in the environment wins. Exit 1, with the files read named, when
# no mirror is found.
#
# Reads deb822 sources (/etc/apt/sources.list.d/*.sources: Types/URIs/Suites/Enabled) and
# one-line sources (/etc/apt/sources.list, /etc/apt/sources.list.d/*.list).
set -euo pipefail
if [[ -n ${MIRROR:-} ]]; then echo "$MIRROR"; exit 0; fi
dir=${APT_SOURCES_DIR:-/etc/apt}

# One "suite<TAB>uri" line per enabled deb source.
candidates() {
  local f
  for f in "$dir"/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    # A stanza ends at a blank line; continuation lines (leading space) are not used here.
    awk 'function flush() { if (types ~ /(^| )deb( |$)/ && enabled !~ /^(no|false)$/)
                              for (i = 1; i <= ns; i++) for (j = 1; j <= nu; j++)
                                print suites[i] "\t" uris[j]
                            types = ""; enabled = ""; ns = 0; nu = 0 }
         /^[ \t]*#/ { next }
         /^[ \t]*$/ { flush(); next }
         tolower($1) == "types:"   { types = $0; sub(/^[^:]*:[ \t]*/, "", types) }
         tolower($1) == "enabled:" { enabled = tolower($2) }
         tolower($1) == "uris:"    { for (k = 2; k <= NF; k++) uris[++nu] = $k }
         tolower($1) == "suites:"  { for (k = 2; k <= NF; k++) suites[++ns] = $k }
         END { flush() }' "$f"
  done
  for f in "$dir"/sources.list "$dir"/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    # deb [options] uri suite components...
    sed -E 's/#.*//; s/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 3 { print $3 "\t" $2 }'
  done
}

list=$(candidates)
pick() { awk -F'\t' -v want="$1" '$1 ~ want { print $2; exit }' <<<"$list"; }
mirror=$(pick '^bookworm$')
[[ -n $mirror ]] || mirror=$(pick '^(bookworm|trixie|bullseye|stable|testing|sid|unstable)$')
if [[ -z $mirror ]]; then
  echo "debian-mirror: no Debian 'deb' source in $dir/sources.list or $dir/sources.list.d/;" \
       "set MIRROR=<url of a Debian mirror>" >&2
  exit 1
fi
echo "${mirror%/}"
