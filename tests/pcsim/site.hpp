// pcsim site content: the intent one simulated Prism Central holds (security rules, address
// groups, service groups, categories) with no per-instance identifiers. Read from and written
// to the data-file format documented in tests/pcsim/README.md, or generated from a seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace flowdrift::pcsim {

struct AddressGroup {
  std::string name;
  std::string description;
  nlohmann::json ip_address_block_list = nlohmann::json::array();  // [{ip, prefix_length}]
};

struct ServiceGroup {
  std::string name;
  std::string description;
  bool is_system_defined = false;
  nlohmann::json service_list = nlohmann::json::array();  // [{protocol, *_list}]
};

struct CategoryKey {
  std::string name;
  std::string description;
  bool system_defined = false;
  std::vector<std::string> values;
};

struct SiteRule {
  // v3 `spec` ({name, description?, resources}). Group references inside the allow lists may
  // name the group ({"kind":"address_group","name":"ag-x"}); loading turns them into the
  // instance's uuid. A reference that already carries a uuid is kept as is (dangling tests).
  nlohmann::json spec;
  nlohmann::json categories = nlohmann::json::object();  // metadata.categories of the rule
};

// v4-only content (the data file's "v4" section), kept as written: strings "@<kind>:<name>" are
// references that each Simulator resolves to its own extIds. Items of vpcs, entity_groups and
// policies are objects with a string `name` (unique among vpcs, among entity groups);
// policy_fields maps the name of a v3-stored policy to members merged into its v4 form.
struct SiteV4 {
  nlohmann::json vpcs = nlohmann::json::array();
  nlohmann::json entity_groups = nlohmann::json::array();
  nlohmann::json policies = nlohmann::json::array();
  nlohmann::json policy_fields = nlohmann::json::object();
  bool empty() const {
    return vpcs.empty() && entity_groups.empty() && policies.empty() && policy_fields.empty();
  }
};

struct SiteData {
  std::vector<SiteRule> rules;
  std::vector<AddressGroup> address_groups;
  std::vector<ServiceGroup> service_groups;
  std::vector<CategoryKey> categories;
  SiteV4 v4;
};

// Data-file document <-> SiteData. Parsing throws std::runtime_error naming the bad element.
SiteData site_from_json(const nlohmann::json& doc);
nlohmann::json site_to_json(const SiteData& site);
SiteData load_site_file(const std::string& path);
// Throws std::runtime_error ("pcsim data: v4.<place>: ...") unless `v4` has the shapes above.
// References are checked when a Simulator resolves them.
void validate_site_v4(const SiteV4& v4);
void write_site_file(const std::string& path, const SiteData& site);

// Deterministic realistic site: same (n_policies, seed) -> identical SiteData. Mostly app rules
// (AppType/AppTier targets, ~20 inbound+outbound entries), some isolation (Environment) and
// quarantine (Quarantine:Strict/Forensic) rules, APPLY and MONITOR, plus every address group,
// service group and category value they reference.
SiteData generate_site(std::size_t n_policies, std::uint64_t seed);

}  // namespace flowdrift::pcsim
