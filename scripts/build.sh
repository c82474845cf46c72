#!/usr/bin/env bash
# Configures and builds flowdrift into ${BUILD_DIR:-build} (RelWithDebInfo, warnings as errors).
# Shared by the README's two commands so they reuse one build.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLOWDRIFT_WERROR=ON >/dev/null
cmake --build "$build" -j"${JOBS:-2}"
