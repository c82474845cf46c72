// Helpers shared by the policy unit tests: fixture loading, golden-file comparison and a
// realistic v3 app_rule entity whose site-specific fields can be varied.
#pragma once

#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/sha256.hpp"
#include "policy/normalize_v3.hpp"
#include "policy/normalize_v4.hpp"
#include "support/temp_dir.hpp"

namespace flowdrift::policy::test {

using nlohmann::json;

inline json load_public(const std::string& name) {
  return json::parse(
      flowdrift::test::read_file(std::string(FLOWDRIFT_PUBLIC_FIXTURES) + "/" + name));
}

// The elements of a JSON array, copied.
inline std::vector<json> array_items(const json& list) {
  std::vector<json> out;
  for (const auto& e : list) out.push_back(e);
  return out;
}

// tests/unit/fixtures/policy.
inline std::string local_fixture(const std::string& name) {
  return (std::filesystem::path(FLOWDRIFT_TEST_FIXTURES) / "policy" / name).string();
}

inline json load_local(const std::string& name) {
  return json::parse(flowdrift::test::read_file(local_fixture(name)));
}

// The `entities` of a list response, copied (the parsed document is a temporary).
inline std::vector<json> entities_of(const json& list) { return array_items(list.at("entities")); }

// tests/unit/fixtures/policy/v4_same_intent.json: one intent as a v3 site and as a v4 site.
inline json same_intent() { return load_local("v4_same_intent.json"); }

// Each list member of `site` from the array of the same name in `from`.
template <class Site>
void fill_lists(Site& site, const json& from,
                std::initializer_list<std::pair<const char*, std::vector<json> Site::*>> lists) {
  for (const auto& [key, member] : lists) site.*member = array_items(from.at(key));
}

inline V3SiteData v3_site(const json& doc) {
  V3SiteData site;
  fill_lists(site, doc.at("v3"),
             {{"rules", &V3SiteData::rules},
              {"address_groups", &V3SiteData::address_groups},
              {"service_groups", &V3SiteData::service_groups}});
  for (const auto& [key, values] : doc.at("v3").at("category_values").items()) {
    site.category_values[key] = array_items(values);
  }
  return site;
}

inline V4SiteData v4_site(const json& doc) {
  V4SiteData site;
  fill_lists(site, doc.at("v4"),
             {{"policies", &V4SiteData::policies},
              {"address_groups", &V4SiteData::address_groups},
              {"service_groups", &V4SiteData::service_groups},
              {"categories", &V4SiteData::categories}});
  return site;
}

// Text form of a snapshot for golden files: stable, line-oriented, diffable; carries every
// object's exact canonical JSON bytes.
inline std::string render(const Snapshot& s) {
  std::string out =
      "snapshot " + s.hash + " canon_version=" + std::to_string(s.canon_version) + "\n";
  for (const auto& o : s.objects) {
    out += "object " + std::string(to_string(o.kind)) + " " + o.name + " " + o.hash;
    if (o.kind == ObjectKind::Policy) out += " type=" + o.policy_type + " mode=" + o.mode;
    out += "\n" + o.json + "\n";
  }
  for (const auto& f : s.findings) {
    out += "finding " + f.kind + " | " + f.object + " | " + f.detail + "\n";
  }
  return out;
}

// Compares `actual` with tests/unit/fixtures/policy/<name> as text; UPDATE_GOLDEN=1 rewrites it.
inline void check_golden(const std::string& name, const std::string& actual) {
  const std::string path = local_fixture(name);
  const char* update = std::getenv("UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    flowdrift::test::write_file(path, actual);
    WARN("golden file rewritten: " << path);
    return;
  }
  INFO("golden file " << path << " (run with UPDATE_GOLDEN=1 to regenerate)");
  REQUIRE(std::filesystem::exists(path));
  CHECK(flowdrift::test::read_file(path) == actual);
}

// Knobs for the site-specific parts of the standard test site; the defaults describe site A.
struct SiteVariant {
  std::string policy_uuid = "aaaaaaaa-0000-4000-8000-000000000001";
  std::string ag_uuid = "aaaaaaaa-0000-4000-8000-0000000000a1";
  std::string sg_uuid = "aaaaaaaa-0000-4000-8000-0000000000b1";
  std::string timestamp = "2024-03-01T10:00:00Z";
  std::string owner_uuid = "aaaaaaaa-0000-4000-8000-0000000000c1";
  int spec_version = 3;
  int rule_id_base = 1;
  bool reverse_orders = false;  // rule order, category-value order, port-range order, ...
};

// A realistic app_rule covering every peer and service form.
inline json app_entity(const SiteVariant& v = {}) {
  auto maybe_reverse = [&v](json arr) {
    if (v.reverse_orders) std::reverse(arr.begin(), arr.end());
    return arr;
  };
  json inbound = json::array({
      {{"rule_id", v.rule_id_base},
       {"peer_specification_type", "FILTER"},
       {"filter",
        {{"type", "CATEGORIES_MATCH_ANY"},
         {"kind_list", {"vm"}},
         {"params", {{"AppType", maybe_reverse({"LB", "Proxy"})}}}}},
       {"protocol", "TCP"},
       {"tcp_port_range_list", maybe_reverse({{{"start_port", 443}, {"end_port", 443}},
                                              {{"start_port", 80}, {"end_port", 80}}})},
       {"description", "from the load balancers"}},
      {{"rule_id", v.rule_id_base + 1},
       {"peer_specification_type", "IP_SUBNET"},
       {"ip_subnet", {{"ip", "10.1.0.7"}, {"prefix_length", 24}}},
       {"protocol", "UDP"},
       {"udp_port_range_list", {{{"start_port", 53}, {"end_port", 53}}}}},
      {{"rule_id", v.rule_id_base + 2},
       {"peer_specification_type", "IP_SUBNET"},
       {"address_group_inclusion_list", {{{"kind", "address_group"}, {"uuid", v.ag_uuid}}}},
       {"service_group_list", {{{"kind", "service_group"}, {"uuid", v.sg_uuid}}}}},
      {{"rule_id", v.rule_id_base + 3},
       {"peer_specification_type", "ALL"},
       {"protocol", "ICMP"},
       {"icmp_type_code_list", maybe_reverse({{{"type", 8}}, {{"type", 3}, {"code", 4}}})}},
  });
  json outbound = json::array({
      {{"rule_id", v.rule_id_base + 4},
       {"peer_specification_type", "FILTER"},
       {"filter",
        {{"type", "CATEGORIES_MATCH_ALL"},
         {"kind_list", {"vm"}},
         {"params", {{"AppType", {"DB"}}}}}},
       {"protocol", "TCP"},
       {"tcp_port_range_list", {{{"start_port", 5432}, {"end_port", 5432}}}}},
  });
  json resources = {{"allow_ipv6_traffic", false},
                    {"is_policy_hitlog_enabled", true},
                    {"app_rule",
                     {{"action", "APPLY"},
                      {"target_group",
                       {{"default_internal_policy", "DENY_ALL"},
                        {"peer_specification_type", "FILTER"},
                        {"filter",
                         {{"type", "CATEGORIES_MATCH_ALL"},
                          {"kind_list", {"vm"}},
                          {"params", {{"AppType", {"Web"}}, {"Environment", {"Prod"}}}}}}}},
                      {"inbound_allow_list", maybe_reverse(inbound)},
                      {"outbound_allow_list", outbound}}}};
  return json{
      {"metadata",
       {{"kind", "network_security_rule"},
        {"uuid", v.policy_uuid},
        {"spec_version", v.spec_version},
        {"spec_hash", "00000000000000000000000000000000000000000000000000"},
        {"creation_time", v.timestamp},
        {"last_update_time", v.timestamp},
        {"categories", {{"Project", "default"}}},
        {"owner_reference", {{"kind", "user"}, {"name", "admin"}, {"uuid", v.owner_uuid}}}}},
      {"spec", {{"name", "web-tier"}, {"description", "web servers"}, {"resources", resources}}},
      {"status",
       {{"state", "COMPLETE"},
        {"execution_context", {{"task_uuid", {v.policy_uuid}}}},
        {"resources", resources}}}};
}

inline json address_group_entity(const std::string& uuid, const std::string& name,
                                 std::vector<std::pair<std::string, int>> blocks) {
  json list = json::array();
  for (const auto& [ip, prefix] : blocks) list.push_back({{"ip", ip}, {"prefix_length", prefix}});
  return json{{"uuid", uuid},
              {"address_group",
               {{"name", name},
                {"description", "monitoring hosts"},
                {"address_group_string", ""},
                {"ip_address_block_list", list}}}};
}

inline json service_group_entity(const std::string& uuid, const std::string& name) {
  return json{{"uuid", uuid},
              {"service_group",
               {{"name", name},
                {"description", "web ports"},
                {"is_system_defined", false},
                {"service_list",
                 {{{"protocol", "TCP"},
                   {"tcp_port_range_list", {{{"start_port", 8080}, {"end_port", 8081}}}}},
                  {{"protocol", "ICMP"}}}}}}};
}

inline json category_value(const std::string& key, const std::string& value) {
  return json{{"name", key}, {"value", value}, {"system_defined", false}, {"description", nullptr}};
}

// The standard test site: the app entity plus the groups and category values it references
// (and one unreferenced group of each kind, which must not appear in the snapshot).
inline V3SiteData standard_site(const SiteVariant& v = {}) {
  V3SiteData site;
  site.rules.push_back(app_entity(v));
  site.address_groups.push_back(
      address_group_entity(v.ag_uuid, "monitoring", {{"10.9.9.9", 32}, {"10.8.1.77", 24}}));
  site.address_groups.push_back(
      address_group_entity("unreferenced-ag", "unused-ag", {{"1.2.3.4", 32}}));
  site.service_groups.push_back(service_group_entity(v.sg_uuid, "web-ports"));
  site.service_groups.push_back(service_group_entity("unreferenced-sg", "unused-sg"));
  std::vector<std::string> app_types = {"Web", "LB", "Proxy", "DB", "Unused"};
  if (v.reverse_orders) std::reverse(app_types.begin(), app_types.end());
  for (const auto& t : app_types)
    site.category_values["AppType"].push_back(category_value("AppType", t));
  site.category_values["Environment"].push_back(category_value("Environment", "Prod"));
  return site;
}

// Every object's text must be what nlohmann dump() gives for it (compact, keys sorted) and its
// hash the SHA-256 of that text.
inline void check_canonical(const CanonicalObject& o) {
  INFO(to_string(o.kind) << " " << o.name);
  CHECK(json::parse(o.json).dump() == o.json);
  CHECK(o.hash == sha256_hex(o.json));
}

// The site as a poll reads it: each rule's raw text (`indent` as nlohmann dumps it) scanned and
// canonicalized from the flat JsonDoc, in pages of three, not from the nlohmann DOM that
// canonicalize_v3 reads.
inline Result<Snapshot> canonicalize_v3_as_listed(const V3SiteData& site, int indent = -1) {
  V3SiteBuilder builder;
  if (auto r = builder.set_groups(site.address_groups, site.service_groups); !r) return r.error();
  std::vector<std::string> texts;
  for (const auto& rule : site.rules) texts.push_back(rule.dump(indent));
  for (std::size_t k = 0; k < texts.size(); k += 3) {
    const std::vector<std::string_view> page(texts.begin() + static_cast<std::ptrdiff_t>(k),
                                             texts.begin() + static_cast<std::ptrdiff_t>(std::min(k + 3, texts.size())));
    if (auto r = builder.end_page(builder.begin_page(page)); !r) return r.error();
  }
  for (const auto& [key, values] : site.category_values) {
    if (auto r = builder.add_category_values(key, values); !r) return r.error();
  }
  return builder.finish();
}

// canonicalize_v3, checked against the raw-text path: the same snapshot either way.
inline Snapshot canon_ok(const V3SiteData& site, bool verify_every_object = true) {
  auto r = canonicalize_v3(site);
  if (!r) FAIL("canonicalize_v3 failed: " << r.error().message);
  if (verify_every_object) {
    for (const auto& o : r->objects) check_canonical(o);
  }
  auto listed = canonicalize_v3_as_listed(site, 2);
  if (!listed) FAIL("the raw-text path failed: " << listed.error().message);
  CHECK(listed->hash == r->hash);
  CHECK(listed->findings.size() == r->findings.size());
  return std::move(r).value();
}

inline const CanonicalObject& object(const Snapshot& s, ObjectKind kind, const std::string& name) {
  for (const auto& o : s.objects) {
    if (o.kind == kind && o.name == name) return o;
  }
  FAIL("no " << to_string(kind) << " named " << name);
  throw std::logic_error("unreachable");
}

}  // namespace flowdrift::policy::test
