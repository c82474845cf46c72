#!/usr/bin/env bash
# flowdriftctl diff beside the DeepDiff script a user would write (scripts/deepdiff_sites.py),
# on two generated N-policy v3 list files (scripts/make_v3_lists.py), one run each: wall
# time and peak RSS (issue #19, point 3). Needs a build (build/) and Debian's python3-deepdiff
# (installed here if missing). Not part of CI: docs/performance.md records its figures.
# Usage: scripts/diff-vs-deepdiff.sh [POLICIES, default 2000]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
/usr/bin/python3 -c 'import deepdiff' 2>/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y python3-deepdiff >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 scripts/make_v3_lists.py build/tests/pcsim/pcsim "$n" "$work/a.json" "$work/b.json"
echo "two v3 lists of $n policies: $(du -h "$work/a.json" | cut -f1) and $(du -h "$work/b.json" | cut -f1)"
measure() {  # NAME COMMAND...: one run; exit 1 (differences found) is expected
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>&1 || true
  read -r secs kib < <(tail -n 1 "$work/time")  # after "Command exited with ..." if any
  printf '%-13s %8.2f s %8d MiB   %s\n' "$name" "$secs" $((kib / 1024)) "$(head -c 80 "$work/out" | head -1)"
  echo "$secs" >"$work/$name.secs"
}
measure deepdiff /usr/bin/python3 scripts/deepdiff_sites.py "$work/a.json" "$work/b.json"
measure flowdriftctl build/daemon/flowdriftctl diff "$work/a.json" "$work/b.json"
/usr/bin/python3 -c "import sys; d, f = (float(open(p).read()) for p in sys.argv[1:]); print(f'flowdriftctl is {d / f:.1f}x faster')" \
  "$work/deepdiff.secs" "$work/flowdriftctl.secs"
