#include "core/build_info.hpp"

#include "build_revision.h"  // generated: FLOWDRIFT_REVISION, FLOWDRIFT_BRANCH

namespace flowdrift {

namespace {

std::string compiler() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

}  // namespace

const BuildInfo& build_info() {
  static const BuildInfo info{FLOWDRIFT_VERSION, FLOWDRIFT_REVISION, FLOWDRIFT_BRANCH, compiler()};
  return info;
}

std::string version_line() {
  const auto& b = build_info();
  return b.version + " (revision " + b.revision + ", branch " + b.branch + ", " + b.compiler + ")";
}

}  // namespace flowdrift
