#!/usr/bin/env zsh
# CTest completion.zsh_interactive: completion/_flowdrift as zsh loads it, in an interactive zsh
# on a pseudo-terminal (zsh/zpty) with compinit: "flowdriftctl stat<TAB>" must become
# "flowdriftctl status". The bash completion it sources is a copy of completion/flowdrift.bash at
# a temporary path (the installed file's path rewritten). CTest's TIMEOUT bounds the waits.
# Usage: test_zsh_interactive.zsh COMPLETION_DIR FLOWDRIFTCTL
emulate -L zsh
setopt err_exit
local src=${1:?usage: test_zsh_interactive.zsh COMPLETION_DIR FLOWDRIFTCTL} ctl=${2:?}
local tmp=$(mktemp -d)
trap 'zpty -d z 2>/dev/null; rm -rf $tmp' EXIT
mkdir -p $tmp/fn $tmp/bin
cp $src/flowdrift.bash $tmp/flowdrift.bash
sed "s|/usr/share/bash-completion/completions/flowdriftctl|$tmp/flowdrift.bash|" $src/_flowdrift >$tmp/fn/_flowdrift
ln -s ${ctl:A} $tmp/bin/flowdriftctl

zmodload zsh/zpty
zpty -b z "env -i HOME=$tmp PATH=$tmp/bin:/usr/bin:/bin TERM=dumb zsh -f -i"
zpty -w z "fpath=($tmp/fn \$fpath); autoload -Uz compinit; compinit -u -D; setopt nobeep; PS1='READY%% '"
# Reads what the terminal shows until it matches PATTERN, for at most 20 s.
local out
wait_for() {
  local chunk deadline=$((SECONDS + 20))
  out=
  while (( SECONDS < deadline )); do
    if zpty -r -t z chunk; then
      out+=$chunk
      [[ $out == ${~1} ]] && return 0
    else
      sleep 0.05
    fi
  done
  print -r -- "FAIL: waited 20 s for '$1'; the terminal shows:"$'\n'"${out//$'\r'/}"
  return 1
}
wait_for '*READY% *'
zpty -w -n z $'flowdriftctl stat\t'
wait_for '*status*'   # the typed text does not hold it: only the completion can
print -r -- "zsh completed: ${${out//$'\r'/}##*$'\n'}"
print "completion (zsh, interactive): ok"
