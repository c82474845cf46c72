// What this binary was built from, for `--version` and flowdrift_build_info. The revision and
// branch are read from git at build time (cmake/BuildRevision.cmake), "unknown" outside a git
// checkout; the compiler is the one that compiled this file.
#pragma once

#include <string>

namespace flowdrift {

struct BuildInfo {
  std::string version;   // the project's version, "0.1.0"
  std::string revision;  // abbreviated commit, "+dirty" after it when the tree had changes
  std::string branch;    // "main", or "HEAD" on a detached checkout
  std::string compiler;  // "gcc 12.2.0"
};

const BuildInfo& build_info();

// "0.1.0 (revision 14e0839b1f2a, branch main, gcc 12.2.0)"
std::string version_line();

}  // namespace flowdrift
