#!/usr/bin/env bash
# The module graph, checked on the include lines (CTest: modules.order). lib/CMakeLists.txt
# states the order and passes it here; nothing else lists it:
#
#   scripts/check-modules.sh LIB_DIR --order MODULE... [--pure MODULE...] [--except FROM->TO...]
#
# Every lib/<module>/ file (.hpp, .cpp) may include headers of its own module and of modules
# listed before it. It fails (exit 1), naming file:line, the include and why, when a file
#   - includes "<other>/..." (or <other/...>) where <other> is listed after its own module,
#     unless FROM->TO is a known exception (--except),
#   - includes "<other>/..." where <other> is not a module, or uses "../" to leave its folder,
#   - is in a pure module (--pure) and includes Boost.Asio, Beast, "http/asio.hpp" or SQLite.
# It also fails when a folder of LIB_DIR is not in the order, and when an exception is no longer
# needed (so it is deleted as soon as it can be). A listed module without a folder is skipped.
# Exit 2: wrong arguments.
set -euo pipefail

usage() {
  echo "usage: $0 LIB_DIR --order MODULE... [--pure MODULE...] [--except FROM->TO...]" >&2
  exit 2
}

[ $# -ge 1 ] || usage
lib=$1
shift
[ -d "$lib" ] || { echo "check-modules: $lib is not a directory" >&2; exit 2; }

order=() pure=() except=()
list=
for arg in "$@"; do
  case $arg in
    --order) list=order ;;
    --pure) list=pure ;;
    --except) list=except ;;
    -*) usage ;;
    *)
      case $list in
        order) order+=("$arg") ;;
        pure) pure+=("$arg") ;;
        except) except+=("$arg") ;;
        *) usage ;;
      esac ;;
  esac
done
[ ${#order[@]} -gt 0 ] || usage

declare -A rank=() is_pure=() allowed=() used=()
for i in "${!order[@]}"; do rank[${order[$i]}]=$i; done
for m in "${pure[@]}"; do
  [ -n "${rank[$m]+x}" ] || { echo "check-modules: pure module '$m' is not in the order" >&2; exit 2; }
  is_pure[$m]=1
done
for e in "${except[@]}"; do
  from=${e%%->*} to=${e#*->}
  if [ "$from" = "$e" ] || [ -z "${rank[$from]+x}" ] || [ -z "${rank[$to]+x}" ]; then
    echo "check-modules: exception '$e' is not FROM->TO with two listed modules" >&2
    exit 2
  fi
  allowed[$e]=1
done

problems=0
include_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*(["<])([^">]*)[">]'
problem() {  # file:line, the include, why: one line each
  printf '%s: %s -- %s\n' "$1" "$2" "$3"
  problems=$((problems + 1))
}

for dir in "$lib"/*/; do
  folder=$(basename "$dir")
  [ -n "${rank[$folder]+x}" ] || problem "$lib/$folder" "(folder)" \
    "'$folder' is not in the module order (FLOWDRIFT_MODULES in lib/CMakeLists.txt)"
done

for module in "${order[@]}"; do
  [ -d "$lib/$module" ] || continue
  # "file:line:text" for every #include line, in a stable order.
  while IFS= read -r hit; do
    file=${hit%%:*} rest=${hit#*:}
    line=${rest%%:*} text=${rest#*:}
    where="$file:$line"
    [[ $text =~ $include_re ]] || continue
    path=${BASH_REMATCH[2]}
    if [ "${BASH_REMATCH[1]}" = '"' ]; then
      quoted=1 include="#include \"$path\""
    else
      quoted=0 include="#include <$path>"
    fi

    if [ -n "${is_pure[$module]+x}" ]; then
      case $path in
        boost/asio*|boost/beast*|http/asio.hpp|sqlite3.h)
          problem "$where" "$include" \
            "$module is a pure module: no Boost.Asio, Beast or SQLite (FLOWDRIFT_PURE_MODULES)" ;;
      esac
    fi

    if [[ $path == ../* || $path == */../* ]]; then
      problem "$where" "$include" "includes leave their folder by module name, not with ../"
      continue
    fi
    [[ $path == */* ]] || continue  # <vector>, "sqlite3.h": not a module's header
    other=${path%%/*}
    if [ -z "${rank[$other]+x}" ]; then
      # <nlohmann/json.hpp> and the like are libraries; a quoted one must be a module.
      [ $quoted = 1 ] && problem "$where" "$include" "'$other' is not a module of lib/"
      continue
    fi
    [ "$other" = "$module" ] && continue
    if [ "${rank[$other]}" -gt "${rank[$module]}" ]; then
      if [ -n "${allowed[$module->$other]+x}" ]; then
        used[$module->$other]=1
      else
        problem "$where" "$include" \
          "$module may not include $other: $other is listed after $module (FLOWDRIFT_MODULES)"
      fi
    fi
  done < <(find "$lib/$module" -type f \( -name '*.hpp' -o -name '*.cpp' \) -print0 | sort -z |
             xargs -0 -r grep -nH -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]' || true)
done

for e in "${except[@]}"; do
  from=${e%%->*}
  # An exception for a module that is not there cannot be judged.
  [ -d "$lib/$from" ] || continue
  [ -n "${used[$e]+x}" ] || problem "$lib/CMakeLists.txt" "FLOWDRIFT_MODULE_EXCEPTIONS: $e" \
    "no file includes that way any more: delete the exception"
done

if [ "$problems" -gt 0 ]; then
  echo "check-modules: $problems problem(s); the order is: ${order[*]}"
  exit 1
fi
echo "check-modules: ok (${order[*]}; pure: ${pure[*]:-none}; exceptions: ${except[*]:-none})"
