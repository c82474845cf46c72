// Site files for flowdriftctl: a v3 `network_security_rules/list` response body (or a single
// rule's intent response), a v4 `GET /api/microseg/v4.x/config/policies` list response (or a
// single policy's GET response) with the category and group lists it references given
// alongside, or a site dump written by `flowdriftctl dump` (every policy and every referenced
// group, category and VPC of one live site, from the v3 or the v4 API). Loading checks
// completeness: a list whose total (total_matches, totalAvailableResults) exceeds its items is
// refused. Errors name the file and the place.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/api.hpp"
#include "core/json_stream.hpp"
#include "core/result.hpp"
#include "policy/model.hpp"
#include "policy/normalize_v3.hpp"
#include "policy/normalize_v4.hpp"
#include "prism/v4_versions.hpp"

namespace flowdrift::ctl {

inline constexpr const char* kDumpFormat = "flowdrift-site-dump";
// Version 2 added v4 dumps (`"api": "v4"`); version 1 dumps (always v3) are still read. v4
// dumps have since gained `api_versions` (the version of each API namespace the site was
// fetched with: {"microseg": "v4.3", "prism": "v4.3", "networking": "v4.3"}, "" for one not
// served), `entity_groups` and `vpcs`: written always, optional when read (older dumps).
inline constexpr int kDumpVersion = 2;

// The lists a v4 policies file references by extId, as v4 list response files (each one
// response, or a JSON array of the pages of one listing). Empty: not given.
struct V4References {
  std::string categories;      // GET /api/prism/v4.0/config/categories
  std::string address_groups;  // GET /api/microseg/v4.0/config/address-groups
  std::string service_groups;  // GET /api/microseg/v4.0/config/service-groups
  // How the caller's user gives them, for messages: "--replica-" gives "--replica-categories".
  std::string option_prefix;

  bool any() const {
    return !categories.empty() || !address_groups.empty() || !service_groups.empty();
  }
};

// What a site file holds.
enum class SiteFileKind { Dump, V3List, V3Entity, V4List, V4Entity, Baseline };
// "dump", "v3 list", "v3 entity", "v4 list", "v4 entity", "baseline": the diff report's "input".
std::string_view to_string(SiteFileKind kind);

struct LoadedSite {
  std::string file;
  SiteFileKind kind = SiteFileKind::Dump;
  config::Api api = config::Api::V3;  // V3 or V4: the API the data came from
  prism::V4Versions api_versions;  // v4 dumps: the versions fetched with ("" when not recorded)
  V4References references;
  policy::Snapshot snapshot;
};

// Reads and canonicalizes one site file, or reads a baseline (policy/baseline.hpp: a document, or
// a directory given as `path`) (and, for a policies file, the reference lists in `refs`:
// groups and categories for v4, groups for v3). Malformed or Truncated (incomplete list)
// errors carry a message starting with "<file>: " naming the file at fault; a v4 policies file that references categories or groups
// without the list given is Malformed, naming the option to give it with.
Result<LoadedSite> load_site_file(const std::string& path, const V4References& refs = {});
// Same, from text already read (`name` used in messages); reference lists are still files.
Result<LoadedSite> parse_site_text(const std::string& text, const std::string& name,
                                   const V4References& refs = {});
// The entities of a v3 address_groups/list response (`address_groups`), or of a
// service_groups/list response, as a v3 rules file takes them beside it (--X-address-groups).
Result<std::vector<nlohmann::json>> parse_v3_group_list(std::string_view text,
                                                        const std::string& name,
                                                        bool address_groups);

// Reads site files one after another as load_site_file does, sharing what they hold in common:
// a v3 rule whose exact text an earlier file held is not canonicalized again (a primary and
// its replica mostly list the same rules).
//
// The memo keeps no canonical text once a file is loaded (docs/design/memory.md), so a rule
// of a later file that equals one read before comes without its text (has_text false): it is
// in `earlier`, what an earlier load of this reader gave, by hash (checked here), and is read
// from there (diff::diff_snapshots of the two; policy::fill_texts copies it). `earlier` is
// needed from the second load on, and must outlive what this load gives.
class SiteFileReader {
 public:
  Result<LoadedSite> load(const std::string& path, const V4References& refs = {},
                          const LoadedSite* earlier = nullptr);
  Result<LoadedSite> parse(std::string_view text, const std::string& name,
                           const V4References& refs = {});
  // A v3 rules list read in pieces of `capacity` bytes, as load() reads a regular file: the
  // site, or nullopt when it is not a v3 list or has any fault (parse() then says which).
  std::optional<LoadedSite> read_v3_list_in_pieces(
      json_stream::Source source, const std::string& name, const V4References& refs = {},
      std::size_t capacity = json_stream::ArrayMemberStream::kDefaultCapacity);

 private:
  Result<LoadedSite> load_file(const std::string& path, const V4References& refs);
  policy::V3RuleMemo v3_rules_;
};

// A site dump with its raw site data kept beside the snapshot: the identifiers (UUIDs, extIds,
// spec_versions) a plan's writes address. Exactly one of v3/v4 is set. Anything but a dump is
// Malformed, saying why.
struct LoadedDump {
  LoadedSite site;
  std::optional<policy::V3SiteData> v3;
  std::optional<policy::V4SiteData> v4;
};
Result<LoadedDump> parse_dump(const nlohmann::json& doc, const std::string& name);

// The dump documents for data fetched from a site ("api": "v3" or "v4").
nlohmann::json make_dump(const policy::V3SiteData& data, const std::string& site,
                         const std::string& url, std::int64_t fetched_ms);
// `versions`: what the fetch used (prism::FetchStats::v4_versions).
nlohmann::json make_dump(const policy::V4SiteData& data, const std::string& site,
                         const std::string& url, std::int64_t fetched_ms,
                         const prism::V4Versions& versions = {});

// The site data of a v4 dump document (what parse_site_text canonicalizes); a dump without
// entity_groups or vpcs (written before flowdrift read them) has them empty.
Result<policy::V4SiteData> v4_dump_data(const nlohmann::json& dump, const std::string& name);

}  // namespace flowdrift::ctl
