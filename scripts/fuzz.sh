#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/: PC pages of both APIs, site files, HTTP request
# targets, the web config, flowdrift.yaml) with clang, ASan and UBSan into ${FUZZ_BUILD_DIR:-build-fuzz}
# and runs each for FUZZ_SECONDS (default 30) from its committed seed corpus through CTest
# (label `fuzz`). A crash, leak, sanitizer report or timeout fails the run; libFuzzer leaves
# the input in build-fuzz/tests/fuzz/work/<target>/artifacts/, and it becomes a unit test.
# .ci/run runs it on every landing. Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
build=${FUZZ_BUILD_DIR:-build-fuzz}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
      -DFLOWDRIFT_FUZZ=ON -DFLOWDRIFT_BUILD_TESTS=OFF \
      -DFLOWDRIFT_FUZZ_SECONDS="${FUZZ_SECONDS:-30}" >/dev/null
cmake --build "$build" -j"${JOBS:-2}" --target fuzz_targets
cd "$build"
ctest --output-on-failure -L fuzz "$@"
