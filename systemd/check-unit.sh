#!/usr/bin/env bash
# Checks the service unit offline (CTest label `systemd`; takes well under a second):
#   1. `systemd-analyze verify` finds nothing to say about it: no error and no warning (an
#      unknown or misspelt key is only a warning, so any output fails the check);
#   2. `systemd-analyze security --offline=true` rates its exposure below MAX (default 2.0);
#   3. it reads /etc/default/flowdrift and passes $FLOWDRIFTD_ARGS;
#   4. each example drop-in in examples/ beside the unit verifies as cleanly when applied, and
#      docs/install.md shows it byte for byte (so the documented drop-in is the shipped one).
# verify insists that ExecStart= binaries exist, so it checks a copy whose /usr/bin/flowdriftd is
# the binary given here (the build's); everything else is the shipped file byte for byte.
# Usage: systemd/check-unit.sh UNIT_FILE FLOWDRIFTD_BINARY [MAX]
set -euo pipefail
unit=${1:?usage: check-unit.sh UNIT_FILE FLOWDRIFTD_BINARY [MAX]}
binary=${2:?usage: check-unit.sh UNIT_FILE FLOWDRIFTD_BINARY [MAX]}
max=${3:-2.0}

fail() { echo "check-unit: FAIL: $*" >&2; exit 1; }

command -v systemd-analyze >/dev/null ||
  fail "systemd-analyze not found; install the 'systemd' package (scripts/install-deps.sh --test)"
[[ -f $unit ]] || fail "$unit: no such unit file"
[[ -x $binary ]] || fail "$binary: not an executable (build flowdriftd first)"
grep -q '^ExecStart=/usr/bin/flowdriftd ' "$unit" || fail "$unit: no ExecStart=/usr/bin/flowdriftd line"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
copy=$work/$(basename "$unit")   # same name: verify checks the name against the unit type
sed "s|/usr/bin/flowdriftd|$binary|g" "$unit" >"$copy"

echo "check-unit: systemd-analyze verify $unit (ExecStart binary: $binary)"
if ! out=$(systemd-analyze verify --man=no "$copy" 2>&1); then
  fail "systemd-analyze verify failed:"$'\n'"${out//$copy/$unit}"
fi
[[ -z $out ]] || fail "systemd-analyze verify warns:"$'\n'"${out//$copy/$unit}"

grep -qx 'EnvironmentFile=-/etc/default/flowdrift' "$unit" || fail "$unit: does not read /etc/default/flowdrift"
grep -q '^ExecStart=/usr/bin/flowdriftd .* $FLOWDRIFTD_ARGS$' "$unit" || fail "$unit: ExecStart does not pass \$FLOWDRIFTD_ARGS"

# A drop-in's lines appended to the unit mean what they mean in flowdriftd.service.d/ (an empty
# ExecStart= resets the list in either place).
install_md=$(dirname "$unit")/../docs/install.md
for dropin in "$(dirname "$unit")"/examples/*.conf; do
  [[ -e $dropin ]] || continue
  echo "check-unit: systemd-analyze verify $unit + $dropin"
  sed "s|/usr/bin/flowdriftd|$binary|g" "$unit" "$dropin" >"$copy"
  out=$(systemd-analyze verify --man=no "$copy" 2>&1) || fail "with $dropin: systemd-analyze verify failed:"$'\n'"${out//$copy/$unit}"
  [[ -z $out ]] || fail "with $dropin: systemd-analyze verify warns:"$'\n'"${out//$copy/$unit}"
  [[ $(<"$install_md") == *"$(<"$dropin")"* ]] || fail "$install_md does not show $dropin as shipped"
done

echo "check-unit: systemd-analyze security --offline=true $unit"
# --threshold is in tenths and fails only when the exposure is *over* it: 10*MAX-1 makes the
# command itself fail at MAX or above; the parsed value is checked below as well, so a change in
# how systemd-analyze reports cannot turn this into a silent pass.
threshold=$(awk -v m="$max" 'BEGIN { printf "%d", m * 10 - 1 }')
set +e
report=$(systemd-analyze security --offline=true --threshold="$threshold" --no-pager "$unit" 2>&1)
rc=$?
set -e
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p' <<<"$report")
[[ -n $score ]] || fail "no 'Overall exposure level' in the output of systemd-analyze security:"$'\n'"$report"
grep '✗' <<<"$report" || true   # what is still exposed, for the log
if awk -v s="$score" -v m="$max" 'BEGIN { exit !(s >= m) }'; then
  fail "exposure $score is not below $max (see the ✗ lines above)"
fi
((rc == 0)) || fail "systemd-analyze security exited $rc (threshold $threshold):"$'\n'"$report"
echo "check-unit: OK: verify clean, exposure $score (< $max)"
