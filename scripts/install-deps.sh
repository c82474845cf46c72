#!/usr/bin/env bash
# Installs the Debian 12 packages flowdrift needs to build and test, only those missing.
# Usage: scripts/install-deps.sh [--test]   (--test adds what the test suite runs)
set -euo pipefail
pkgs=(build-essential cmake pkg-config libboost1.74-dev libssl-dev nlohmann-json3-dev
      libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev prometheus-cpp-dev libsqlite3-dev
      libsystemd-dev libcrypt-dev catch2 sqlite3 openssl curl ca-certificates python3
      help2man go-md2man)  # the man pages (cmake/Manpages.cmake)
if [[ "${1:-}" == "--test" ]]; then
  pkgs+=(prometheus prometheus-alertmanager
         systemd  # systemd-analyze: the unit's verify and security checks (CTest label systemd)
         git  # baselines kept in git (tests/integration/test_baseline.cpp)
         man-db  # the man pages render without warnings (CTest manpages.render)
         zsh  # shell completion under zsh (CTest completion.zsh)
         clang libclang-rt-14-dev)  # libFuzzer, ASan, UBSan: scripts/fuzz.sh (CTest label fuzz)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then echo "install-deps: need root to apt-get install" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
