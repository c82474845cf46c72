// Generated v3 sites that reach every branch of normalize_v3.cpp: every rule type, peer and
// service form, odd IPv4 spellings, duplicate and dangling names, escapes in texts, and (with
// `allow_bad`) malformed entities. Deterministic per seed. Used by the canonical golden test and
// by the plan round trip (tests/unit/plan).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/normalize_v3.hpp"
#include "policy_test_support.hpp"
#include "support/rng.hpp"

namespace flowdrift::policy::test {
namespace gen {

using nlohmann::json;
using flowdrift::test::Rng;  // splitmix64: the same sequence on every platform

const std::vector<std::string> kKeys = {"AppType", "Environment", "Tier", "Owner/Team"};
const std::vector<std::string> kValues = {"Web", "DB", "Prod", "Dev", "a:b", "ünï", "x\"y"};
const std::vector<std::string> kTexts = {
    "",        "web",           "web servers", "ünïcödé ✓",   "quote \" and \\ backslash",
    "tab\tnl\n", "{\"rules\":[]}", "\"rules\":null", "<b>&amp;</b>", "dup"};
const std::vector<std::string> kNames = {"web", "db", "app", "dup", "ünï", "x\"y", "{\"a\":1}"};
// Valid and invalid IPv4 spellings (the invalid ones make the site malformed).
const std::vector<std::string> kGoodIps = {"10.1.2.3",   "0.0.0.0",     "255.255.255.255",
                                           "192.168.7.77", "010.001.000.009", "172.16.254.1",
                                           "1.2.3.4",    "100.64.0.1"};
const std::vector<std::string> kBadIps = {"256.1.1.1", "1.2.3",    "1.2.3.4.5", "1..2.3",
                                          "1.2.3.",    " 1.2.3.4", "1.2.3.4 ",  "0001.2.3.4",
                                          "+1.2.3.4",  "1.2.3.-4", "0x1.2.3.4", "",
                                          "1234.1.1.1", "::1",     "1.2.3.4/24"};

// A site-wide pool of group uuids, some of them never defined (dangling references).
struct Pools {
  std::vector<std::string> ag_uuids;
  std::vector<std::string> sg_uuids;
};

inline std::string uuid(const char* prefix, int i) {
  return std::string(prefix) + "-0000-4000-8000-" + std::to_string(100000000000 + i);
}

inline json maybe_null(Rng& r, json value) { return r.percent(5) ? json(nullptr) : std::move(value); }

inline json filter(Rng& r) {
  json f = json::object();
  const int t = r.below(4);
  if (t == 0) f["type"] = "CATEGORIES_MATCH_ALL";
  if (t == 1) f["type"] = "CATEGORIES_MATCH_ANY";
  if (t == 2 && r.percent(50)) f["type"] = nullptr;
  if (r.percent(60)) {
    json kinds = json::array({"vm"});
    if (r.percent(20)) kinds.push_back("subnet");
    f["kind_list"] = kinds;
  }
  json params = json::object();
  const int keys = 1 + r.below(3);
  for (int k = 0; k < keys; ++k) {
    json values = json::array();
    const int n = r.below(3);
    for (int v = 0; v < n; ++v) values.push_back(r.pick(kValues));
    params[r.pick(kKeys)] = r.percent(5) ? json(nullptr) : values;
  }
  f["params"] = params;
  return f;
}

inline json ip(Rng& r, bool allow_bad) {
  return allow_bad && r.percent(3) ? r.pick(kBadIps) : r.pick(kGoodIps);
}

inline json subnet(Rng& r, bool allow_bad) {
  int prefix = r.below(33);
  if (allow_bad && r.percent(2)) prefix = 33;
  return json{{"ip", ip(r, allow_bad)}, {"prefix_length", prefix}};
}

inline json ranges(Rng& r, bool allow_bad) {
  json list = json::array();
  const int n = r.below(4);
  const std::vector<int> ports = {0, 22, 53, 80, 443, 8080, 65535};
  for (int i = 0; i < n; ++i) {
    int a = r.pick(ports);
    int b = r.pick(ports);
    if (a > b && !(allow_bad && r.percent(10))) std::swap(a, b);
    list.push_back({{"start_port", a}, {"end_port", b}});
  }
  return list;
}

inline json icmp(Rng& r) {
  json list = json::array();
  const int n = r.below(3);
  for (int i = 0; i < n; ++i) {
    json e = json::object();
    if (r.percent(60)) e["type"] = r.pick(std::vector<int>{0, 3, 8, 255});
    if (r.percent(40)) e["code"] = r.pick(std::vector<int>{0, 4, 13});
    list.push_back(e);
  }
  return list;
}

inline void add_protocol(Rng& r, json& e, bool allow_bad) {
  const int p = r.below(7);
  if (p == 0) {
    e["protocol"] = "TCP";
    if (r.percent(80)) e["tcp_port_range_list"] = ranges(r, allow_bad);
  } else if (p == 1) {
    e["protocol"] = "UDP";
    if (r.percent(80)) e["udp_port_range_list"] = ranges(r, allow_bad);
  } else if (p == 2) {
    e["protocol"] = "ICMP";
    if (r.percent(80)) e["icmp_type_code_list"] = icmp(r);
  } else if (p == 3) {
    e["protocol"] = "ALL";
    if (r.percent(30)) e["tcp_port_range_list"] = ranges(r, false);
  } else if (p == 4 && allow_bad && r.percent(20)) {
    e["protocol"] = "SCTP";
  }  // otherwise no protocol
}

inline json entry(Rng& r, const Pools& pools, bool allow_bad) {
  json e = json::object();
  const int kind = r.below(4);
  const bool typed = !r.percent(15);  // older payloads omit the type (it is inferred)
  if (kind == 0) {
    if (typed || allow_bad) e["peer_specification_type"] = "ALL";
  } else if (kind == 1) {
    if (typed) e["peer_specification_type"] = "FILTER";
    e["filter"] = filter(r);
  } else {
    if (typed) e["peer_specification_type"] = "IP_SUBNET";
    if (kind == 2 || r.percent(30)) e["ip_subnet"] = subnet(r, allow_bad);
    if (kind == 3 || r.percent(20)) {
      json refs = json::array();
      const int n = 1 + r.below(2);
      for (int i = 0; i < n; ++i) {
        refs.push_back({{"kind", "address_group"}, {"uuid", r.pick(pools.ag_uuids)}});
      }
      e["address_group_inclusion_list"] = refs;
    }
  }
  add_protocol(r, e, allow_bad);
  if (r.percent(25)) {
    json refs = json::array();
    const int n = 1 + r.below(2);
    for (int i = 0; i < n; ++i) {
      refs.push_back({{"kind", "service_group"}, {"uuid", r.pick(pools.sg_uuids)}});
    }
    e["service_group_list"] = refs;
  }
  if (r.percent(50)) e["description"] = maybe_null(r, r.pick(kTexts));
  e["rule_id"] = static_cast<int>(r.below(1000));
  return e;
}

inline json allow_list(Rng& r, const Pools& pools, bool allow_bad) {
  json list = json::array();
  const int n = r.below(5);
  for (int i = 0; i < n; ++i) list.push_back(entry(r, pools, allow_bad));
  return list;
}

inline json rule_entity(Rng& r, const Pools& pools, int index, bool allow_bad) {
  static const std::vector<std::string> kTypes = {"app_rule", "isolation_rule", "quarantine_rule",
                                                  "ad_rule"};
  const std::string type = r.pick(kTypes);
  json rule = json::object();
  rule["action"] = r.percent(50) ? "APPLY" : "MONITOR";
  if (allow_bad && r.percent(3)) rule["action"] = "ENFORCE";
  if (type == "isolation_rule") {
    rule["first_entity_filter"] = filter(r);
    rule["second_entity_filter"] = filter(r);
  } else {
    json target = {{"peer_specification_type", "FILTER"}, {"filter", filter(r)}};
    const int intra = r.below(3);
    if (intra == 0) target["default_internal_policy"] = "ALLOW_ALL";
    if (intra == 1) target["default_internal_policy"] = "DENY_ALL";
    rule["target_group"] = target;
    for (const char* list : {"inbound_allow_list", "outbound_allow_list"}) {
      const int shape = r.below(6);
      if (shape == 0) continue;  // absent
      if (shape == 1) {
        rule[list] = nullptr;
      } else if (shape == 2) {
        rule[list] = json::array();
      } else {
        rule[list] = allow_list(r, pools, allow_bad);
      }
    }
  }
  json resources = {{type, rule}};
  if (r.percent(70)) resources["allow_ipv6_traffic"] = maybe_null(r, r.percent(50));
  if (r.percent(70)) resources["is_policy_hitlog_enabled"] = maybe_null(r, r.percent(50));
  json spec = {{"name", r.pick(kNames)}, {"resources", resources}};
  if (r.percent(70)) spec["description"] = maybe_null(r, r.pick(kTexts));
  return json{{"metadata",
               {{"kind", "network_security_rule"},
                {"uuid", uuid("eeeeeeee", index)},
                {"spec_version", static_cast<int>(r.below(9))}}},
              {"spec", spec}};
}

inline json address_group(Rng& r, const std::string& id, bool allow_bad) {
  json blocks = json::array();
  const int n = r.below(4);
  for (int i = 0; i < n; ++i) blocks.push_back(subnet(r, allow_bad));
  json ag = {{"name", r.pick(kNames)}, {"ip_address_block_list", blocks}};
  if (r.percent(60)) ag["description"] = r.pick(kTexts);
  return json{{"uuid", id}, {"address_group", ag}};
}

inline json service_group(Rng& r, const std::string& id, bool allow_bad) {
  json list = json::array();
  const int n = r.below(4);
  for (int i = 0; i < n; ++i) {
    json s = json::object();
    add_protocol(r, s, allow_bad);
    if (!s.contains("protocol")) s["protocol"] = "ALL";
    list.push_back(s);
  }
  json sg = {{"name", r.pick(kNames)}, {"service_list", list}};
  if (r.percent(60)) sg["description"] = r.pick(kTexts);
  return json{{"uuid", id}, {"service_group", sg}};
}

}  // namespace gen

// One generated site; `allow_bad` lets a few fields take invalid values.
inline V3SiteData generated_site(std::uint64_t seed, bool allow_bad) {
  using namespace gen;
  Rng r(seed);
  Pools pools;
  V3SiteData site;
  const int ags = r.below(4);
  const int sgs = r.below(4);
  for (int i = 0; i < ags + 1; ++i) pools.ag_uuids.push_back(uuid("aaaaaaaa", i));
  for (int i = 0; i < sgs + 1; ++i) pools.sg_uuids.push_back(uuid("bbbbbbbb", i));
  // The last uuid of each pool is never defined: references to it dangle.
  for (int i = 0; i < ags; ++i) {
    site.address_groups.push_back(address_group(r, pools.ag_uuids[static_cast<std::size_t>(i)],
                                                allow_bad));
  }
  for (int i = 0; i < sgs; ++i) {
    site.service_groups.push_back(service_group(r, pools.sg_uuids[static_cast<std::size_t>(i)],
                                                allow_bad));
  }
  const int rules = r.below(6);
  for (int i = 0; i < rules; ++i) site.rules.push_back(rule_entity(r, pools, i, allow_bad));
  // Values for most of the referenced keys; whatever is missing is a dangling category.
  for (const auto& key : referenced_category_keys(site.rules)) {
    if (r.percent(15)) continue;
    for (const auto& v : kValues) {
      if (r.percent(70)) site.category_values[key].push_back(category_value(key, v));
    }
  }
  return site;
}

}  // namespace flowdrift::policy::test
