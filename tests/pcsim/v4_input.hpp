// pcsim's reading of v4 write bodies (POST/PUT of NetworkSecurityPolicy, AddressGroup,
// ServiceGroup, Category): validation that names the offending attribute, and conversion to the
// v3 shapes pcsim stores (the inverse of v4.hpp's mapping, docs/prism-api.md §3.5/§3.8). Pure.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "pcsim/site.hpp"

namespace flowdrift::pcsim::v4 {

// A rejected body: `attribute` is the JSON path of the bad member (e.g.
// "rules[2].spec.srcAddressGroupReferences[0]"), `message` says why. Empty attribute = fine.
struct InputError {
  std::string attribute;
  std::string message;
  bool ok() const { return attribute.empty(); }
};

// What the conversion asks the site.
struct InputLookup {
  // category extId -> (key, value) if the site defines it
  std::function<std::optional<std::pair<std::string, std::string>>(const std::string&)> category;
  std::function<bool(const std::string&)> address_group;  // extId exists
  std::function<bool(const std::string&)> service_group;  // extId exists
  // rule extId -> the v3 rule_id it came from (PUT keeps rule ids of unchanged rules); nullopt
  // for new rules.
  std::function<std::optional<long long>(const std::string&)> rule_id;
};

// NetworkSecurityPolicy -> v3 spec {name, description?, resources:{allow_ipv6_traffic,
// is_policy_hitlog_enabled, app_rule|isolation_rule|quarantine_rule}} with group references as
// {kind, uuid}. One v3 allow-list entry per v4 rule and protocol.
InputError policy_to_v3_spec(const nlohmann::json& body, const InputLookup& lookup,
                             nlohmann::json* spec);
// AddressGroup -> v3 address group (ipv4Addresses only; ipRanges are refused: v3 cannot hold them).
InputError address_group_from_v4(const nlohmann::json& body, AddressGroup* out);
// ServiceGroup -> v3 service group (one service_list item per protocol).
InputError service_group_from_v4(const nlohmann::json& body, ServiceGroup* out);
// A dotted quad of decimal parts 0-255 (both APIs' group writes check addresses with it).
bool valid_ipv4(const std::string& ip);
// Category {key, value, description?} (prism).
InputError category_from_v4(const nlohmann::json& body, std::string* key, std::string* value,
                            std::string* description);

}  // namespace flowdrift::pcsim::v4
