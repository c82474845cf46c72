#!/usr/bin/env bash
# CTest completion.bash and completion.zsh: completion/flowdrift.bash offers what the built
# binaries accept, run by bash itself or by zsh through bashcompinit (which is how
# completion/_flowdrift runs it).
# Usage: test_completion.sh bash|zsh COMPLETION_SCRIPT FLOWDRIFTCTL FLOWDRIFTD
set -uo pipefail
shell=${1:?} script=${2:?} ctl=${3:?} daemon=${4:?}
case $shell in
  bash) # shellcheck source=/dev/null
        source "$script" ;;
  zsh) command -v zsh >/dev/null || { echo "FAIL: zsh not found: scripts/install-deps.sh --test installs it"; exit 1; } ;;
  *) echo "usage: test_completion.sh bash|zsh ..."; exit 2 ;;
esac
failures=0

# The completions for a command line whose last word is being completed.
complete_line() {
  if [[ $shell == zsh ]]; then
    # As zsh's _bash_complete calls it: 0-based arrays (ksharrays), COMP_WORDS, COMP_CWORD and
    # zsh's PREFIX (the word so far) set. zsh's compgen leaves matching the word to compadd,
    # which keeps the candidates that start with it: so does the awk.
    local cur=${*: -1}
    # compdef (which bashcompinit's `complete` calls) is compinit's: a no-op here, since this
    # calls the function directly (test_zsh_interactive.zsh goes through compinit).
    zsh -f -c 'compdef() { :; }
               autoload -U +X bashcompinit && bashcompinit
               source "$1"; shift
               setopt ksharrays
               COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=()
               PREFIX=${COMP_WORDS[COMP_CWORD]}
               _flowdrift_bash
               (( ${#COMPREPLY[@]} )) && print -rl -- "${COMPREPLY[@]}"' zsh "$script" "$@" |
      awk -v cur="$cur" 'index($0, cur) == 1' | sort
    return
  fi
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _flowdrift_bash
  printf '%s\n' "${COMPREPLY[@]}" | sort
}
expect() {  # expect "WHAT" EXPECTED_LINES -- WORDS...
  local what=$1 want=$2
  shift 3
  local got
  got=$(complete_line "$@")
  if [[ $got != "$want" ]]; then
    echo "FAIL: $what: completing '$*'"$'\n'"  want: ${want//$'\n'/ }"$'\n'"  got:  ${got//$'\n'/ }"
    failures=$((failures + 1))
  else
    echo "ok: $what"
  fi
}

subs=$("$ctl" --help | awk '/^Subcommands:/ { on = 1; next } on && /^  [^ ]/ { print $1; next } on && NF { exit }' | sort)
[[ $(wc -l <<<"$subs") -ge 10 ]] || { echo "FAIL: flowdriftctl --help lists too few subcommands"; exit 1; }
expect "every subcommand" "$subs" -- "$ctl" ""
expect "a subcommand by prefix" "status" -- "$ctl" "stat"
expect "a subcommand's flag" "--exit-code" -- "$ctl" status --exit
expect "an option's choices" $'json\ntext\nyaml' -- "$ctl" status --output ""
expect "a choice by prefix" "json" -- "$ctl" drift --format j
expect "flowdriftd's flags" $'--log.format\n--log.level' -- "$daemon" --log.
expect "flowdriftd's --log.format is free text" "" -- "$daemon" --log.format zz-no-such

# An option that takes a file: the files there.
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
touch "$dir/flowdrift.yaml" "$dir/other.txt"
expect "a file for --config" "$dir/flowdrift.yaml" -- "$ctl" status --config "$dir/flow"
# Options of one subcommand are not offered for another.
expect "no --exit-code for drift" "" -- "$ctl" drift --exit-c

((failures == 0)) || { echo "$failures completion check(s) failed"; exit 1; }
echo "completion ($shell): all checks passed"
