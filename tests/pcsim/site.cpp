#include "pcsim/site.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "support/rng.hpp"

namespace flowdrift::pcsim {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::runtime_error("pcsim data: " + where + ": " + what);
}

std::string string_field(const json& obj, const char* key, const std::string& where,
                         bool required) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) fail(where, std::string("missing '") + key + "'");
    return {};
  }
  if (!it->is_string()) fail(where, std::string("'") + key + "' must be a string");
  return it->get<std::string>();
}

SiteRule parse_rule(const json& item, const std::string& where) {
  if (!item.is_object()) fail(where, "must be an object");
  SiteRule rule;
  auto spec = item.find("spec");
  if (spec != item.end()) {
    rule.spec = *spec;
    // A full entity as listed by a real PC: take its own categories along.
    auto md = item.find("metadata");
    if (md != item.end() && md->is_object()) {
      auto cats = md->find("categories");
      if (cats != md->end() && cats->is_object()) rule.categories = *cats;
    }
  } else {
    rule.spec = item;  // a bare spec
  }
  auto cats = item.find("categories");
  if (cats != item.end() && spec != item.end()) {
    if (!cats->is_object()) fail(where, "'categories' must be an object");
    rule.categories = *cats;
  }
  if (!rule.spec.is_object()) fail(where, "spec must be an object");
  string_field(rule.spec, "name", where + ".spec", true);
  auto res = rule.spec.find("resources");
  if (res == rule.spec.end() || !res->is_object()) {
    fail(where + ".spec", "missing object 'resources'");
  }
  return rule;
}

AddressGroup parse_address_group(const json& item, const std::string& where) {
  const json* obj = &item;
  if (item.is_object() && item.contains("address_group")) obj = &item.at("address_group");
  if (!obj->is_object()) fail(where, "must be an object");
  AddressGroup ag;
  ag.name = string_field(*obj, "name", where, true);
  ag.description = string_field(*obj, "description", where, false);
  auto list = obj->find("ip_address_block_list");
  if (list != obj->end()) {
    if (!list->is_array()) fail(where, "'ip_address_block_list' must be an array");
    for (const auto& b : *list) {
      if (!b.is_object() || !b.contains("ip") || !b.contains("prefix_length")) {
        fail(where, "ip_address_block_list entries need ip and prefix_length");
      }
    }
    ag.ip_address_block_list = *list;
  }
  return ag;
}

ServiceGroup parse_service_group(const json& item, const std::string& where) {
  const json* obj = &item;
  if (item.is_object() && item.contains("service_group")) obj = &item.at("service_group");
  if (!obj->is_object()) fail(where, "must be an object");
  ServiceGroup sg;
  sg.name = string_field(*obj, "name", where, true);
  sg.description = string_field(*obj, "description", where, false);
  auto sys = obj->find("is_system_defined");
  if (sys != obj->end()) {
    if (!sys->is_boolean()) fail(where, "'is_system_defined' must be a boolean");
    sg.is_system_defined = sys->get<bool>();
  }
  auto list = obj->find("service_list");
  if (list != obj->end()) {
    if (!list->is_array()) fail(where, "'service_list' must be an array");
    sg.service_list = *list;
  }
  return sg;
}

CategoryKey parse_category(const std::string& key, const json& item, const std::string& where) {
  CategoryKey cat;
  cat.name = key;
  const json* values = &item;
  if (item.is_object()) {
    cat.description = string_field(item, "description", where, false);
    auto sys = item.find("system_defined");
    if (sys != item.end()) {
      if (!sys->is_boolean()) fail(where, "'system_defined' must be a boolean");
      cat.system_defined = sys->get<bool>();
    }
    auto it = item.find("values");
    if (it == item.end()) fail(where, "missing 'values'");
    values = &*it;
  }
  if (!values->is_array()) fail(where, "values must be an array of strings");
  for (const auto& v : *values) {
    if (!v.is_string()) fail(where, "values must be an array of strings");
    cat.values.push_back(v.get<std::string>());
  }
  return cat;
}

// An array of objects with a non-empty string `name` (unique when `unique_names`).
void check_named_list(const json& list, const std::string& where, bool unique_names) {
  if (!list.is_array()) fail(where, "must be an array");
  std::set<std::string> names;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!list[i].is_object()) fail(at, "must be an object");
    const std::string name = string_field(list[i], "name", at, true);
    if (name.empty()) fail(at, "'name' must not be empty");
    if (unique_names && !names.insert(name).second) fail(at, "duplicate name '" + name + "'");
  }
}

SiteV4 parse_v4(const json& section) {
  if (!section.is_object()) fail("v4", "must be an object");
  SiteV4 v4;
  for (const auto& [key, value] : section.items()) {
    if (key == "vpcs") {
      v4.vpcs = value;
    } else if (key == "entity_groups") {
      v4.entity_groups = value;
    } else if (key == "policies") {
      v4.policies = value;
    } else if (key == "policy_fields") {
      v4.policy_fields = value;
    } else {
      fail("v4." + key, "unknown key (vpcs, entity_groups, policies, policy_fields)");
    }
  }
  validate_site_v4(v4);
  return v4;
}

// ---- generator -------------------------------------------------------------------------------

using test::Rng;  // splitmix64: identical on every platform, unlike std:: distributions

constexpr std::array<std::string_view, 30> kAppBases = {
    "Apache_Spark", "Exchange",   "Hadoop",     "Kubernetes", "Oracle_DB",     "SAP_HANA",
    "SharePoint",   "SQL_Server", "Splunk",     "Tomcat",     "Jenkins",       "GitLab",
    "Elasticsearch", "Kafka",     "Redis",      "PostgreSQL", "MongoDB",       "Nginx",
    "HAProxy",      "Active_Directory", "Citrix", "Horizon",  "Jira",          "Confluence",
    "Grafana",      "Prometheus", "RabbitMQ",   "Cassandra",  "Zookeeper",     "Vault"};

struct Tier {
  const char* name;
  std::vector<std::pair<int, int>> ports;  // what the tier serves
};

const std::vector<Tier>& tiers() {
  static const std::vector<Tier> k = {
      {"Web", {{80, 80}, {443, 443}}},
      {"App", {{8080, 8090}, {8443, 8443}}},
      {"DB", {{1521, 1521}, {5432, 5432}, {3306, 3306}}},
      {"Cache", {{6379, 6379}, {11211, 11211}}},
      {"Queue", {{5672, 5672}, {9092, 9094}}},
  };
  return k;
}

const std::vector<std::string> kEnvironments = {"Production", "Staging", "Dev", "Test", "DR"};
const std::vector<std::string> kFamilies = {"Databases", "DevOps", "Networking", "Analytics",
                                            "Backup"};
const std::vector<std::string> kAgPurposes = {"backup-servers", "monitoring", "jump-hosts",
                                              "partner-net",    "dns-servers", "ntp-servers",
                                              "ldap",           "scanners",    "vpn-pool",
                                              "ci-runners"};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string pad3(std::size_t n) {
  std::string s = std::to_string(n);
  while (s.size() < 3) s.insert(s.begin(), '0');
  return s;
}

json category_filter(json params, bool match_any = false) {
  return {{"type", match_any ? "CATEGORIES_MATCH_ANY" : "CATEGORIES_MATCH_ALL"},
          {"kind_list", json::array({"vm"})},
          {"params", std::move(params)}};
}

json port_list(const std::vector<std::pair<int, int>>& ranges) {
  json out = json::array();
  for (const auto& [lo, hi] : ranges) out.push_back({{"start_port", lo}, {"end_port", hi}});
  return out;
}

std::string random_subnet(Rng& rng, int* prefix) {
  static const int kPrefixes[] = {32, 24, 24, 24, 16, 28};
  *prefix = kPrefixes[rng.below(6)];
  int a = rng.percent(70) ? 10 : 172;
  int b = a == 10 ? rng.between(0, 255) : rng.between(16, 31);
  int c = *prefix <= 16 ? 0 : rng.between(0, 255);
  int d = *prefix == 32 ? rng.between(1, 254) : (*prefix == 28 ? rng.between(0, 15) * 16 : 0);
  return std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c) + "." +
         std::to_string(d);
}

struct Catalog {
  std::vector<std::string> apps;
  std::vector<std::string> address_groups;
  std::vector<std::string> service_groups;
};

void set_service(Rng& rng, json& entry, const std::vector<std::pair<int, int>>& tcp_ports) {
  int roll = static_cast<int>(rng.below(100));
  if (roll < 55) {
    entry["protocol"] = "TCP";
    std::vector<std::pair<int, int>> ranges;
    ranges.push_back(tcp_ports[rng.below(tcp_ports.size())]);
    if (rng.percent(30)) ranges.push_back({22, 22});
    entry["tcp_port_range_list"] = port_list(ranges);
  } else if (roll < 70) {
    entry["protocol"] = "UDP";
    static const std::vector<std::pair<int, int>> kUdp = {
        {53, 53}, {123, 123}, {161, 162}, {514, 514}, {4789, 4789}, {30000, 32767}};
    entry["udp_port_range_list"] = port_list({kUdp[rng.below(kUdp.size())]});
  } else if (roll < 80) {
    entry["protocol"] = "ICMP";
    json codes = json::array();
    if (rng.percent(50)) {
      codes.push_back({{"type", 8}, {"code", 0}});
    } else {
      codes.push_back({{"type", rng.percent(50) ? 0 : 3}});
    }
    entry["icmp_type_code_list"] = codes;
  } else if (roll < 88) {
    entry["protocol"] = "ALL";
  } else {
    entry["protocol"] = "TCP";
    int lo = rng.between(1024, 60000);
    entry["tcp_port_range_list"] = port_list({{lo, lo + rng.between(0, 100)}});
  }
}

json make_entry(Rng& rng, const Catalog& cat, const std::string& app, const Tier& tier,
                bool inbound) {
  json e = json::object();
  int roll = static_cast<int>(rng.below(100));
  const Tier& other_tier = tiers()[rng.below(tiers().size())];
  const auto& serve_ports = inbound ? tier.ports : other_tier.ports;
  if (roll < 35) {
    // same application, another tier
    e["peer_specification_type"] = "FILTER";
    e["filter"] = category_filter({{"AppType", json::array({app})},
                                   {"AppTier", json::array({other_tier.name})}});
    set_service(rng, e, serve_ports);
  } else if (roll < 50) {
    // another application, or a family / environment match
    e["peer_specification_type"] = "FILTER";
    if (rng.percent(60)) {
      e["filter"] = category_filter({{"AppType", json::array({rng.pick(cat.apps)})}});
    } else if (rng.percent(50)) {
      std::string a = rng.pick(kFamilies), b = rng.pick(kFamilies);
      json vals = a == b ? json::array({a}) : json::array({a, b});
      e["filter"] = category_filter({{"AppFamily", vals}}, vals.size() > 1);
    } else {
      e["filter"] = category_filter({{"Environment", json::array({rng.pick(kEnvironments)})}});
    }
    set_service(rng, e, serve_ports);
  } else if (roll < 68) {
    int prefix = 0;
    std::string ip = random_subnet(rng, &prefix);
    e["peer_specification_type"] = "IP_SUBNET";
    e["ip_subnet"] = {{"ip", ip}, {"prefix_length", prefix}};
    set_service(rng, e, serve_ports);
  } else if (roll < 82) {
    e["peer_specification_type"] = "IP_SUBNET";
    json ags = json::array({{{"kind", "address_group"}, {"name", rng.pick(cat.address_groups)}}});
    e["address_group_inclusion_list"] = ags;
    if (rng.percent(40)) {
      e["service_group_list"] =
          json::array({{{"kind", "service_group"}, {"name", rng.pick(cat.service_groups)}}});
    } else {
      set_service(rng, e, serve_ports);
    }
  } else if (roll < 94) {
    e["peer_specification_type"] = "FILTER";
    e["filter"] = category_filter({{"AppType", json::array({rng.pick(cat.apps)})}});
    json sgs = json::array({{{"kind", "service_group"}, {"name", rng.pick(cat.service_groups)}}});
    if (rng.percent(25)) sgs.push_back({{"kind", "service_group"}, {"name", rng.pick(cat.service_groups)}});
    e["service_group_list"] = sgs;
  } else {
    e["peer_specification_type"] = "ALL";
    set_service(rng, e, serve_ports);
  }
  if (rng.percent(30)) {
    e["description"] = std::string(inbound ? "from " : "to ") +
                       e.at("peer_specification_type").get<std::string>() + " peer";
  }
  return e;
}

json app_rule(Rng& rng, const Catalog& cat, const std::string& app, const Tier& tier) {
  json inbound = json::array(), outbound = json::array();
  int n_in = rng.between(9, 13), n_out = rng.between(7, 11);
  for (int i = 0; i < n_in; ++i) inbound.push_back(make_entry(rng, cat, app, tier, true));
  for (int i = 0; i < n_out; ++i) outbound.push_back(make_entry(rng, cat, app, tier, false));
  json target = {{"peer_specification_type", "FILTER"},
                 {"default_internal_policy", rng.percent(75) ? "DENY_ALL" : "ALLOW_ALL"},
                 {"filter", category_filter({{"AppType", json::array({app})},
                                             {"AppTier", json::array({tier.name})}})}};
  json spec = {
      {"name", "app-" + lower(app) + "-" + lower(tier.name)},
      {"description", "Application policy for " + app + " " + tier.name + " tier"},
      {"resources",
       {{"allow_ipv6_traffic", rng.percent(20)},
        {"is_policy_hitlog_enabled", rng.percent(40)},
        {"app_rule",
         {{"action", rng.percent(70) ? "APPLY" : "MONITOR"},
          {"target_group", target},
          {"inbound_allow_list", inbound},
          {"outbound_allow_list", outbound}}}}}};
  return spec;
}

json isolation_rule(Rng& rng, const Catalog& cat, std::size_t k) {
  static const std::pair<const char*, const char*> kPairs[] = {
      {"Dev", "Production"}, {"Test", "Production"}, {"Staging", "Production"}, {"Dev", "Staging"},
      {"Test", "DR"}};
  const auto& [a, b] = kPairs[k % 5];
  json first = {{"Environment", json::array({a})}};
  json second = {{"Environment", json::array({b})}};
  std::string name = "isolate-" + lower(a) + "-" + lower(b);
  if (k >= 5) {
    // later ones isolate one application's environments
    std::string app = rng.pick(cat.apps);
    first["AppType"] = json::array({app});
    second["AppType"] = json::array({app});
    name += "-" + lower(app) + "-" + pad3(k);
  }
  return {{"name", name},
          {"description", std::string("Isolate ") + a + " from " + b},
          {"resources",
           {{"is_policy_hitlog_enabled", rng.percent(30)},
            {"isolation_rule",
             {{"action", rng.percent(60) ? "APPLY" : "MONITOR"},
              {"first_entity_filter", category_filter(first)},
              {"second_entity_filter", category_filter(second)}}}}}};
}

json quarantine_rule(Rng& rng, const Catalog& cat, std::size_t k) {
  bool forensic = k % 2 == 1;
  json inbound = json::array(), outbound = json::array();
  if (forensic) {
    // forensic tools may still reach a quarantined VM
    json tools = {{"peer_specification_type", "IP_SUBNET"},
                  {"address_group_inclusion_list",
                   json::array({{{"kind", "address_group"}, {"name", rng.pick(cat.address_groups)}}})},
                  {"protocol", "TCP"},
                  {"tcp_port_range_list", port_list({{22, 22}, {3389, 3389}})},
                  {"description", "forensic tools"}};
    inbound.push_back(tools);
    int prefix = 0;
    std::string ip = random_subnet(rng, &prefix);
    inbound.push_back({{"peer_specification_type", "IP_SUBNET"},
                       {"ip_subnet", {{"ip", ip}, {"prefix_length", prefix}}},
                       {"protocol", "ICMP"},
                       {"icmp_type_code_list", json::array({{{"type", 8}, {"code", 0}}})}});
    outbound.push_back({{"peer_specification_type", "IP_SUBNET"},
                        {"ip_subnet", {{"ip", ip}, {"prefix_length", prefix}}},
                        {"protocol", "TCP"},
                        {"tcp_port_range_list", port_list({{514, 514}})}});
  }
  std::string value = forensic ? "Forensic" : "Strict";
  std::string name = "quarantine-" + lower(value) + (k >= 2 ? "-" + pad3(k) : "");
  return {{"name", name},
          {"description", "Quarantine " + value},
          {"resources",
           {{"allow_ipv6_traffic", false},
            {"is_policy_hitlog_enabled", true},
            {"quarantine_rule",
             {{"action", rng.percent(85) ? "APPLY" : "MONITOR"},
              {"target_group",
               {{"peer_specification_type", "FILTER"},
                {"default_internal_policy", "DENY_ALL"},
                {"filter", category_filter({{"Quarantine", json::array({value})}})}}},
              {"inbound_allow_list", inbound},
              {"outbound_allow_list", outbound}}}}}};
}

}  // namespace

SiteData site_from_json(const json& doc) {
  if (!doc.is_object()) fail("document", "must be a JSON object");
  SiteData site;
  for (const auto& [key, value] : doc.items()) {
    if (key == "network_security_rules") {
      if (!value.is_array()) fail(key, "must be an array");
      for (std::size_t i = 0; i < value.size(); ++i) {
        site.rules.push_back(parse_rule(value[i], key + "[" + std::to_string(i) + "]"));
      }
    } else if (key == "address_groups") {
      if (!value.is_array()) fail(key, "must be an array");
      for (std::size_t i = 0; i < value.size(); ++i) {
        site.address_groups.push_back(
            parse_address_group(value[i], key + "[" + std::to_string(i) + "]"));
      }
    } else if (key == "service_groups") {
      if (!value.is_array()) fail(key, "must be an array");
      for (std::size_t i = 0; i < value.size(); ++i) {
        site.service_groups.push_back(
            parse_service_group(value[i], key + "[" + std::to_string(i) + "]"));
      }
    } else if (key == "categories") {
      if (!value.is_object()) fail(key, "must be an object of key -> values");
      for (const auto& [cat_key, cat_value] : value.items()) {
        site.categories.push_back(parse_category(cat_key, cat_value, key + "." + cat_key));
      }
    } else if (key == "v4") {
      site.v4 = parse_v4(value);
    } else {
      fail(key, "unknown top-level key");
    }
  }
  return site;
}

json site_to_json(const SiteData& site) {
  json rules = json::array();
  for (const auto& r : site.rules) {
    json item = {{"spec", r.spec}};
    if (!r.categories.empty()) item["categories"] = r.categories;
    rules.push_back(std::move(item));
  }
  json ags = json::array();
  for (const auto& ag : site.address_groups) {
    ags.push_back({{"name", ag.name},
                   {"description", ag.description},
                   {"ip_address_block_list", ag.ip_address_block_list}});
  }
  json sgs = json::array();
  for (const auto& sg : site.service_groups) {
    sgs.push_back({{"name", sg.name},
                   {"description", sg.description},
                   {"is_system_defined", sg.is_system_defined},
                   {"service_list", sg.service_list}});
  }
  json cats = json::object();
  for (const auto& c : site.categories) {
    cats[c.name] = {{"description", c.description},
                    {"system_defined", c.system_defined},
                    {"values", c.values}};
  }
  json doc = {{"network_security_rules", rules},
              {"address_groups", ags},
              {"service_groups", sgs},
              {"categories", cats}};
  if (!site.v4.empty()) {
    doc["v4"] = {{"vpcs", site.v4.vpcs},
                 {"entity_groups", site.v4.entity_groups},
                 {"policies", site.v4.policies},
                 {"policy_fields", site.v4.policy_fields}};
  }
  return doc;
}

void validate_site_v4(const SiteV4& v4) {
  check_named_list(v4.vpcs, "v4.vpcs", true);
  check_named_list(v4.entity_groups, "v4.entity_groups", true);
  check_named_list(v4.policies, "v4.policies", false);
  if (!v4.policy_fields.is_object()) {
    fail("v4.policy_fields", "must be an object of policy name -> members");
  }
  for (const auto& [name, members] : v4.policy_fields.items()) {
    if (!members.is_object()) fail("v4.policy_fields." + name, "must be an object");
  }
}

SiteData load_site_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("pcsim data: cannot open " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  auto doc = json::parse(buf.str(), nullptr, false);
  if (doc.is_discarded()) throw std::runtime_error("pcsim data: " + path + " is not valid JSON");
  return site_from_json(doc);
}

void write_site_file(const std::string& path, const SiteData& site) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("pcsim data: cannot write " + path);
  out << site_to_json(site).dump(1) << '\n';
  if (!out.flush()) throw std::runtime_error("pcsim data: write failed for " + path);
}

SiteData generate_site(std::size_t n_policies, std::uint64_t seed) {
  Rng rng(seed);
  SiteData site;

  // Policy mix: one isolation rule in 12, one quarantine rule in 40, the rest app rules.
  std::vector<int> kinds(n_policies, 0);  // 0 app, 1 isolation, 2 quarantine
  std::size_t n_app = 0;
  for (std::size_t i = 0; i < n_policies; ++i) {
    if (i % 12 == 1) {
      kinds[i] = 1;
    } else if (i % 40 == 3) {
      kinds[i] = 2;
    } else {
      ++n_app;
    }
  }

  Catalog cat;
  const std::size_t n_apps = std::max<std::size_t>(4, (n_app + tiers().size() - 1) / tiers().size());
  for (std::size_t i = 0; i < n_apps; ++i) {
    std::string base(kAppBases[i % kAppBases.size()]);
    std::size_t round = i / kAppBases.size();
    cat.apps.push_back(round == 0 ? base : base + "_" + pad3(round + 1));
  }

  const std::size_t n_ag = std::max<std::size_t>(4, n_policies / 25);
  for (std::size_t i = 0; i < n_ag; ++i) {
    AddressGroup ag;
    ag.name = "ag-" + kAgPurposes[i % kAgPurposes.size()] + "-" + pad3(i + 1);
    ag.description = "Managed " + kAgPurposes[i % kAgPurposes.size()] + " addresses";
    int blocks = rng.between(1, 5);
    for (int b = 0; b < blocks; ++b) {
      int prefix = 0;
      std::string ip = random_subnet(rng, &prefix);
      ag.ip_address_block_list.push_back({{"ip", ip}, {"prefix_length", prefix}});
    }
    cat.address_groups.push_back(ag.name);
    site.address_groups.push_back(std::move(ag));
  }

  struct SystemSg {
    const char* name;
    const char* proto;
    int lo, hi;
  };
  static const SystemSg kSystem[] = {{"dns", "UDP", 53, 53},   {"http", "TCP", 80, 80},
                                     {"https", "TCP", 443, 443}, {"ntp", "UDP", 123, 123},
                                     {"ssh", "TCP", 22, 22},     {"ldap", "TCP", 389, 389},
                                     {"smtp", "TCP", 25, 25},    {"6a44", "UDP", 1027, 1027}};
  for (const auto& s : kSystem) {
    ServiceGroup sg;
    sg.name = s.name;
    sg.is_system_defined = true;
    const std::string proto = s.proto;
    json svc = {{"protocol", proto}};
    svc[proto == "TCP" ? "tcp_port_range_list" : "udp_port_range_list"] = port_list({{s.lo, s.hi}});
    sg.service_list.push_back(svc);
    cat.service_groups.push_back(sg.name);
    site.service_groups.push_back(std::move(sg));
  }
  {
    ServiceGroup icmp;
    icmp.name = "icmp-echo";
    icmp.description = "Ping";
    icmp.service_list.push_back(
        {{"protocol", "ICMP"}, {"icmp_type_code_list", json::array({{{"type", 8}, {"code", 0}}, {{"type", 0}}})}});
    cat.service_groups.push_back(icmp.name);
    site.service_groups.push_back(std::move(icmp));
  }
  const std::size_t n_sg = std::max<std::size_t>(3, n_policies / 25);
  for (std::size_t i = 0; i < n_sg; ++i) {
    ServiceGroup sg;
    sg.name = "sg-" + lower(cat.apps[i % cat.apps.size()]) + "-" + pad3(i + 1);
    sg.description = "Service ports of " + cat.apps[i % cat.apps.size()];
    int lo = rng.between(2000, 60000);
    sg.service_list.push_back(
        {{"protocol", "TCP"}, {"tcp_port_range_list", port_list({{lo, lo + rng.between(0, 20)}})}});
    if (rng.percent(40)) {
      sg.service_list.push_back(
          {{"protocol", "UDP"}, {"udp_port_range_list", port_list({{lo, lo}})}});
    }
    cat.service_groups.push_back(sg.name);
    site.service_groups.push_back(std::move(sg));
  }

  std::size_t app_index = 0, iso_index = 0, quar_index = 0;
  for (std::size_t i = 0; i < n_policies; ++i) {
    SiteRule rule;
    if (kinds[i] == 1) {
      rule.spec = isolation_rule(rng, cat, iso_index++);
    } else if (kinds[i] == 2) {
      rule.spec = quarantine_rule(rng, cat, quar_index++);
    } else {
      const auto& app = cat.apps[app_index / tiers().size()];
      const auto& tier = tiers()[app_index % tiers().size()];
      ++app_index;
      rule.spec = app_rule(rng, cat, app, tier);
    }
    site.rules.push_back(std::move(rule));
  }

  site.categories.push_back({"AppType", "Application type.", true, cat.apps});
  std::vector<std::string> tier_names;
  for (const auto& t : tiers()) tier_names.push_back(t.name);
  site.categories.push_back({"AppTier", "Application tier.", true, tier_names});
  site.categories.push_back({"AppFamily", "Application family.", true, kFamilies});
  site.categories.push_back({"Environment", "Environment type.", true, kEnvironments});
  site.categories.push_back({"Quarantine", "Quarantine state.", true, {"Strict", "Forensic"}});
  return site;
}

}  // namespace flowdrift::pcsim
