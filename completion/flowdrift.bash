# bash completion for flowdriftctl and flowdriftd (installed under both names). The subcommands,
# options and option values come from the binary's own --help, in CLI11's layout, so they stay
# in step with the binary by construction. tests/completion/test_completion.sh checks it.

# One line per option name: "NAME<TAB>VALUE", VALUE empty for a flag, else CLI11's type
# ("TEXT", "TEXT:{text,json}", ...).
_flowdrift_options() {
  "$@" --help 2>/dev/null | awk '
    /^  +-/ {
      value = ($2 ~ /^[A-Z]/) ? $2 : ""
      n = split($1, names, ",")
      for (i = 1; i <= n; i++) print names[i] "\t" value
    }'
}

# Written for bash and for zsh's bashcompinit (which runs it with 0-based arrays), so no
# mapfile: results are split on newlines only.
_flowdrift_bash() {
  local IFS=$'\n'
  local cur=${COMP_WORDS[COMP_CWORD]} prev=
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  local cmd=${COMP_WORDS[0]} sub= subs= i
  if [[ ${cmd##*/} == flowdriftctl ]]; then
    subs=$("$cmd" --help 2>/dev/null | awk '/^Subcommands:/ { on = 1; next } on && /^  [^ ]/ { print $1; next } on && NF { exit }')
    for ((i = 1; i < COMP_CWORD; i++)); do
      if [[ " ${subs//$'\n'/ } " == *" ${COMP_WORDS[i]} "* ]]; then
        sub=${COMP_WORDS[i]}
        break
      fi
    done
    if [[ -z $sub && $cur != -* ]]; then
      COMPREPLY=($(compgen -W "$subs" -- "$cur"))
      return
    fi
  fi
  local options value
  options=$(_flowdrift_options "$cmd" ${sub:+"$sub"})
  value=$(awk -F'\t' -v name="$prev" '$1 == name { print $2; exit }' <<<"$options")
  if [[ -n $value ]]; then
    # The word is the value of the option before it: one of its choices, else a file name.
    if [[ $value == *:{*}* ]]; then
      local choices=${value#*:\{}
      choices=${choices%%\}*}
      COMPREPLY=($(compgen -W "${choices//,/$'\n'}" -- "$cur"))
    else
      COMPREPLY=($(compgen -f -- "$cur"))
    fi
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(cut -f1 <<<"$options")" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}

complete -o filenames -F _flowdrift_bash flowdriftctl flowdriftd
