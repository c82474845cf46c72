#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs the whole suite
# (unit, integration, end-to-end) through CTest. Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j"${JOBS:-2}" --timeout 900 "$@"
