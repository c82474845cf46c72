#!/usr/bin/env bash
# CTest manpages.render: the built man pages render without a groff or man warning (what lintian
# checks), and say what the binaries and docs say.
# Usage: test_manpages.sh MAN_DIR FLOWDRIFTCTL
set -uo pipefail
dir=${1:?} ctl=${2:?}
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
command -v man >/dev/null || { echo "FAIL: man not found: scripts/install-deps.sh --test installs man-db"; exit 1; }

for page in flowdriftd.8 flowdriftctl.1 flowdrift.yaml.5; do
  f=$dir/$page.gz
  [[ -s $f ]] || { fail "$f missing"; continue; }
  # -Tutf8 with warnings on: groff's and man's complaints go to stderr.
  warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l "$f" 2>&1 >/dev/null)
  [[ -z $warnings ]] || fail "$page: man --warnings says:"$'\n'"$warnings"
  text=$(LC_ALL=C.UTF-8 MANWIDTH=200 man -E UTF-8 -l "$f" 2>/dev/null | col -b)
  printf -v "text_${page//./_}" '%s' "$text"
  grep -q '^NAME' <<<"$text" || fail "$page: no NAME section"
done

# flowdriftd(8): the flags from --help, the files from the h2m include.
for want in --web.listen-address --log.format --check-config /etc/default/flowdrift "EXIT STATUS"; do
  grep -qF -- "$want" <<<"$text_flowdriftd_8" || fail "flowdriftd.8 does not mention $want"
done
# flowdriftctl(1): one subsection per subcommand, with its options.
while read -r sub; do
  grep -qE "^   $sub\$" <<<"$text_flowdriftctl_1" || fail "flowdriftctl.1 has no section for '$sub'"
done < <("$ctl" --help | awk '/^Subcommands:/ { on = 1; next } on && /^  [^ ]/ { print $1; next } on && NF { exit }')
grep -qF -- "--exit-code" <<<"$text_flowdriftctl_1" || fail "flowdriftctl.1 does not show status --exit-code"
# flowdrift.yaml(5): the configuration reference.
for want in "sites[]" "pairs[]" password_file "Value syntax"; do
  grep -qF -- "$want" <<<"$text_flowdrift_yaml_5" || fail "flowdrift.yaml.5 does not mention $want"
done

((failures == 0)) || { echo "$failures man page check(s) failed"; exit 1; }
echo "manpages: all checks passed"
