#!/usr/bin/env bash
# scripts/check-modules.sh must fail on what it is there to catch (CTest: modules.check_catches):
#   bash tests/modules/test_check_modules.sh SCRIPT
# Each case is a small lib/ tree in a temporary directory; the check's exit status and the
# problem it names are compared with what is expected.
set -euo pipefail

check=${1:?usage: test_check_modules.sh PATH/TO/check-modules.sh}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

order=(--order core config diff drift store http --pure core config diff drift)
failed=0

# A tree where everything is in order: each module includes an earlier one, store SQLite,
# http Asio, and drift is listed without a folder.
fresh() {
  rm -rf "$tmp/lib"
  mkdir -p "$tmp/lib"/{core,config,diff,store,http}
  printf '#pragma once\n#include <string>\n#include <nlohmann/json.hpp>\n' >"$tmp/lib/core/a.hpp"
  printf '#pragma once\n#include "core/a.hpp"\n' >"$tmp/lib/config/b.hpp"
  printf '#include "config/b.hpp"\n#include "diff/c.hpp"\n' >"$tmp/lib/diff/c.cpp"
  printf '#pragma once\n#include "core/a.hpp"\n' >"$tmp/lib/diff/c.hpp"
  printf '#include <sqlite3.h>\n#include "diff/c.hpp"\n' >"$tmp/lib/store/s.cpp"
  printf '#pragma once\n#include <boost/asio.hpp>\n#include "store/s.hpp"\n' >"$tmp/lib/http/h.hpp"
  printf '#pragma once\n' >"$tmp/lib/store/s.hpp"
}

# expect NAME STATUS PATTERN [ARGS...]: the check on $tmp/lib exits STATUS, its output matches
# PATTERN (grep -E).
expect() {
  local name=$1 want=$2 pattern=$3
  shift 3
  local out rc=0
  out=$("$check" "$tmp/lib" "${order[@]}" "$@" 2>&1) || rc=$?
  if [ "$rc" -ne "$want" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL: $name: exit $rc (want $want), output should match /$pattern/:"
    sed 's/^/    /' <<<"$out"
    failed=1
  else
    echo "ok: $name"
  fi
}

fresh
expect "a tree in order passes (drift has no folder)" 0 '^check-modules: ok'

fresh
printf '#pragma once\n#include <vector>\n#include "store/s.hpp"\n' >"$tmp/lib/config/b.hpp"
expect "a backward include fails with file:line" 1 \
  'lib/config/b.hpp:3: #include "store/s.hpp" -- config may not include store: store is listed'

fresh
printf '#include "diff/c.hpp"\n' >"$tmp/lib/core/z.cpp"
expect "core including a later module fails" 1 'core may not include diff'

fresh
printf '#include "nosuch/x.hpp"\n' >"$tmp/lib/diff/x.cpp"
expect "an unknown module fails" 1 "'nosuch' is not a module"

fresh
printf '#include "../store/s.hpp"\n' >"$tmp/lib/config/x.cpp"
expect "a ../ include fails" 1 'not with \.\./'

fresh
printf '#include <boost/beast/http.hpp>\n' >"$tmp/lib/diff/net.cpp"
expect "Beast in a pure module fails" 1 'diff is a pure module'

fresh
printf '  #  include <sqlite3.h>\n' >"$tmp/lib/core/db.cpp"
expect "SQLite in a pure module fails" 1 'core is a pure module'

fresh
printf '#include "http/asio.hpp"\n' >"$tmp/lib/config/io.cpp"
expect "http/asio.hpp in a pure module fails" 1 'config is a pure module'

fresh
mkdir "$tmp/lib/extra"
expect "a folder missing from the order fails" 1 "'extra' is not in the module order"

fresh
printf '#pragma once\n#include "diff/c.hpp"\n' >"$tmp/lib/config/b.hpp"
expect "an include an exception allows passes" 0 'exceptions: config->diff' --except 'config->diff'
expect "without the exception it fails" 1 'config may not include diff'

fresh
expect "an exception no longer needed fails" 1 'EXCEPTIONS: config->diff -- .*delete the exception' \
  --except 'config->diff'

fresh
expect "a malformed exception is a usage error" 2 'not FROM->TO' --except 'config-diff'

exit "$failed"
