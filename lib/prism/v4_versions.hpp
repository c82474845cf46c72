// The versions of the v4 APIs a site fetch reads: one per namespace (microseg for policies and
// groups, prism for categories, networking for VPCs), each "v4.3" .. "v4.0". The fetch uses the
// newest a Prism Central serves (prism/v4_client.hpp detects it); the caller keeps what a site
// served from one poll to the next (FetchOptions::v4_versions), so detection costs nothing on a
// site already on the newest version.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace flowdrift::prism {

// The v4 versions flowdrift knows, newest first.
inline constexpr std::array<std::string_view, 4> kV4Versions{"v4.3", "v4.2", "v4.1", "v4.0"};

// The first datapolicies version serving entity-sync-policies (prism/v4_client.hpp
// fetch_entity_sync): read apart from the site fetch, so it is not one of V4Versions.
inline constexpr std::string_view kEntitySyncSince = "v4.1";

// One version per namespace. "" in FetchOptions: not known (detect it); in FetchStats: not
// served (networking only: a fetch without microseg or prism fails) or not reached by a fetch
// that failed first.
struct V4Versions {
  std::string microseg;
  std::string prism;
  std::string networking;

  bool operator==(const V4Versions&) const = default;
};

// Each namespace by name, for logs and files.
struct V4Namespace {
  std::string_view name;
  std::string V4Versions::*version;
};
inline constexpr V4Namespace kV4Namespaces[] = {{"microseg", &V4Versions::microseg},
                                                {"prism", &V4Versions::prism},
                                                {"networking", &V4Versions::networking}};

// Whether `version` is `since` or newer (false for "" or a version not in kV4Versions).
constexpr bool v4_version_at_least(std::string_view version, std::string_view since) {
  for (std::string_view v : kV4Versions) {
    if (v == version) return true;
    if (v == since) return false;
  }
  return false;
}

}  // namespace flowdrift::prism
