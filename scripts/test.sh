#!/usr/bin/env bash
# The README's test command: installs what is missing, builds (Release with debug info,
# warnings as errors) and runs the whole test suite through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLOWDRIFT_WERROR=ON >/dev/null
cmake --build "$build" -j"${JOBS:-2}"
cd "$build"
ctest --output-on-failure -j"${JOBS:-2}" --timeout 600 "$@"
