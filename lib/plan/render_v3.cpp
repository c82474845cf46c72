// A write as a v3 request (docs/prism-api.md §2): the canonical object written back in the
// v3 shape that canonicalizes to it again (tests/unit/plan checks that round trip), with the
// target's UUIDs for what it references.
#include "plan/render.hpp"

#include <map>
#include <set>

#include "core/percent.hpp"

namespace flowdrift::plan {
namespace {

using nlohmann::json;
using policy::ObjectKind;

constexpr const char* kRoot = "/api/nutanix/v3";

Error cannot(const std::string& what) {
  return make_error(ErrorReason::Other, "the v3 API cannot express " + what);
}

// {"categories":["k:v",...],"match":...} -> a v3 category filter.
json filter_of(const json& group, bool with_kinds) {
  json params = json::object();
  for (const auto& kv : group.value("categories", json::array())) {
    const std::string s = kv.get<std::string>();
    const auto colon = s.find(':');
    params[s.substr(0, colon)].push_back(s.substr(colon + 1));
  }
  json f{{"type", group.value("match", "any") == "all" ? "CATEGORIES_MATCH_ALL"
                                                       : "CATEGORIES_MATCH_ANY"},
         {"params", params}};
  if (with_kinds) f["kind_list"] = group.value("kinds", json::array());
  return f;
}

class V3Writer {
 public:
  explicit V3Writer(const Target& target) : target_(target) {}

  Result<json> policy_spec(const json& p) {
    static const std::map<std::string, const char*> kRuleKeys{
        {"application", "app_rule"}, {"isolation", "isolation_rule"},
        {"quarantine", "quarantine_rule"}, {"vdi", "ad_rule"}};
    static const std::set<std::string> kKnown{"allow_ipv6", "description", "hitlog",
                                              "intra_group", "isolation", "mode", "name",
                                              "rules", "secured_group", "type"};
    for (const auto& [k, v] : p.items()) {
      if (!kKnown.count(k)) return cannot("the policy's " + k);
    }
    const std::string type = p.value("type", "");
    auto rule_key = kRuleKeys.find(type);
    if (rule_key == kRuleKeys.end()) return cannot("a policy of type " + type);
    const std::string mode = p.value("mode", "");
    if (mode != "enforce" && mode != "monitor") return cannot("the policy mode " + mode);
    json rule{{"action", mode == "enforce" ? "APPLY" : "MONITOR"}};
    if (type == "isolation") {
      const json& groups = p.at("isolation");
      rule["first_entity_filter"] = filter_of(groups.at(0), true);
      rule["second_entity_filter"] = filter_of(groups.at(1), true);
    } else {
      auto lists = allow_lists(p, type);
      if (!lists) return lists.error();
      rule = std::move(*lists);
      rule["action"] = mode == "enforce" ? "APPLY" : "MONITOR";
      json target{{"filter", filter_of(p.at("secured_group"), true)}};
      if (p.contains("intra_group")) {
        target["default_internal_policy"] = p["intra_group"] == "allow" ? "ALLOW_ALL" : "DENY_ALL";
      }
      rule["target_group"] = std::move(target);
    }
    json resources{{rule_key->second, std::move(rule)},
                   {"allow_ipv6_traffic", p.value("allow_ipv6", false)},
                   {"is_policy_hitlog_enabled", p.value("hitlog", false)}};
    return json{{"name", p.at("name")},
                {"description", p.value("description", "")},
                {"resources", std::move(resources)}};
  }

  Result<json> address_group(const json& g) {
    json blocks = json::array();
    for (const auto& a : g.value("addresses", json::array())) {
      const std::string s = a.is_string() ? a.get<std::string>() : std::string();
      const auto slash = s.find('/');
      if (slash == std::string::npos) return cannot("the address " + a.dump() + " (v3: CIDRs only)");
      blocks.push_back({{"ip", s.substr(0, slash)}, {"prefix_length", std::stoi(s.substr(slash + 1))}});
    }
    for (const auto& [k, v] : g.items()) {
      if (k != "addresses" && k != "description" && k != "name") return cannot("an address group's " + k);
    }
    return json{{"name", g.at("name")}, {"description", g.value("description", "")},
                {"ip_address_block_list", std::move(blocks)}};
  }

  Result<json> service_group(const json& g) {
    json list = json::array();
    for (const auto& s : g.value("services", json::array())) {
      auto entry = service_entry(s);
      if (!entry) return entry.error();
      if (entry->empty()) entry = json{{"protocol", "ALL"}};
      list.push_back(std::move(*entry));
    }
    for (const auto& [k, v] : g.items()) {
      if (k != "services" && k != "description" && k != "name") return cannot("a service group's " + k);
    }
    return json{{"name", g.at("name")}, {"description", g.value("description", "")},
                {"service_list", std::move(list)}};
  }

 private:
  // The rules as v3 allow lists: one entry per canonical rule (one peer, one service), which
  // canonicalizes to that rule again.
  Result<json> allow_lists(const json& p, const std::string& type) {
    json rule{{"inbound_allow_list", json::array()}, {"outbound_allow_list", json::array()}};
    bool outbound = false;
    for (const auto& r : p.value("rules", json::array())) {
      auto entry = rule_entry(r);
      if (!entry) return entry.error();
      const bool in = r.value("direction", "") == "inbound";
      outbound = outbound || !in;
      rule[in ? "inbound_allow_list" : "outbound_allow_list"].push_back(std::move(*entry));
    }
    // v3 reads an empty outbound list of an app or VDI rule as "allow everything out".
    if (!outbound && type != "quarantine") {
      return cannot("a " + type + " policy that allows nothing out");
    }
    return rule;
  }

  Result<json> rule_entry(const json& r) {
    static const std::set<std::string> kKnown{"description", "direction", "peer", "service"};
    for (const auto& [k, v] : r.items()) {
      if (!kKnown.count(k)) return cannot("a rule's " + k);
    }
    auto entry = peer_entry(r.at("peer"));
    if (!entry) return entry.error();
    auto service = service_entry(r.at("service"));
    if (!service) return service.error();
    entry->update(*service);
    entry->emplace("description", r.value("description", ""));
    return entry;
  }

  Result<json> peer_entry(const json& peer) {
    if (peer.value("any", false)) return json{{"peer_specification_type", "ALL"}};
    if (peer.contains("categories")) {
      return json{{"peer_specification_type", "FILTER"}, {"filter", filter_of(peer, false)}};
    }
    if (peer.contains("subnet")) {
      const std::string s = peer["subnet"].get<std::string>();
      const auto slash = s.find('/');
      return json{{"peer_specification_type", "IP_SUBNET"},
                  {"ip_subnet", {{"ip", s.substr(0, slash)},
                                 {"prefix_length", std::stoi(s.substr(slash + 1))}}}};
    }
    if (peer.contains("address_group")) {
      const std::string name = peer["address_group"].get<std::string>();
      return json{{"peer_specification_type", "IP_SUBNET"},
                  {"address_group_inclusion_list",
                   json::array({reference(ObjectKind::AddressGroup, "address_group", name)})}};
    }
    return cannot("the peer " + peer.dump());
  }

  // {} for "all" (no protocol); a service group reference; a protocol with its ranges.
  Result<json> service_entry(const json& s) {
    if (s.value("all", false)) return json::object();
    if (s.contains("service_group")) {
      const std::string name = s["service_group"].get<std::string>();
      return json{{"service_group_list",
                   json::array({reference(ObjectKind::ServiceGroup, "service_group", name)})}};
    }
    const std::string protocol = s.value("protocol", "");
    if (protocol == "tcp" || protocol == "udp") {
      json ranges = json::array();
      for (const auto& r : s.value("ports", json::array())) {
        ranges.push_back({{"start_port", r.at(0)}, {"end_port", r.at(1)}});
      }
      return json{{"protocol", protocol == "tcp" ? "TCP" : "UDP"},
                  {protocol == "tcp" ? "tcp_port_range_list" : "udp_port_range_list", ranges}};
    }
    if (protocol == "icmp") {
      return json{{"protocol", "ICMP"}, {"icmp_type_code_list", s.value("icmp", json::array())}};
    }
    return cannot("the service " + s.dump());
  }

  json reference(ObjectKind kind, const char* v3_kind, const std::string& name) {
    auto it = target_.objects.find({kind, name});
    return json{{"kind", v3_kind},
                {"uuid", it == target_.objects.end() ? kKnownAfterApply : it->second.id}};
  }

  const Target& target_;
};

// A category key (named alone) or value, by path: PUT creates it.
Result<Request> category_request(const Write& w) {
  if (w.op != Op::Create) return cannot("a change to a category value other than creating it");
  Request r;
  r.method = "PUT";
  const auto colon = w.name.find(':');
  if (colon == std::string::npos) {
    r.path = std::string(kRoot) + "/categories/" + percent_encode_segment(w.name);
    r.body = json{{"name", w.name}, {"description", ""}};
    return r;
  }
  const std::string value = w.name.substr(colon + 1);
  r.path = std::string(kRoot) + "/categories/" + percent_encode_segment(w.name.substr(0, colon)) + "/" +
           percent_encode_segment(value);
  r.body = json{{"value", value}, {"description", ""}};
  return r;
}

}  // namespace

Result<Request> render_v3(const Write& w, const Target& target) {
  static const std::map<ObjectKind, std::string> kCollections{
      {ObjectKind::Policy, "network_security_rules"},
      {ObjectKind::AddressGroup, "address_groups"},
      {ObjectKind::ServiceGroup, "service_groups"}};
  if (w.kind == ObjectKind::Category) return category_request(w);
  auto collection = kCollections.find(w.kind);
  if (collection == kCollections.end()) {
    return cannot(std::string("a ") + std::string(policy::to_string(w.kind)));
  }
  Request r;
  r.path = std::string(kRoot) + "/" + collection->second;
  if (w.op == Op::Delete) {
    r.method = "DELETE";
    r.path += "/" + w.target_id;
    return r;
  }
  const json desired = json::parse(w.desired);
  V3Writer writer(target);
  auto body = w.kind == ObjectKind::Policy         ? writer.policy_spec(desired)
              : w.kind == ObjectKind::AddressGroup ? writer.address_group(desired)
                                                   : writer.service_group(desired);
  if (!body) return body.error();
  if (w.kind != ObjectKind::Policy) {
    r.body = std::move(*body);
  } else {
    json metadata{{"kind", "network_security_rule"}};
    if (w.op == Op::Update) {
      auto it = target.objects.find({w.kind, w.name});
      metadata["uuid"] = w.target_id;
      const auto version = it == target.objects.end() ? -1 : it->second.spec_version;
      metadata["spec_version"] = version;
      r.precondition = "spec_version " + std::to_string(version);
    }
    r.body = json{{"spec", std::move(*body)}, {"metadata", std::move(metadata)}};
  }
  r.method = w.op == Op::Create ? "POST" : "PUT";
  if (w.op == Op::Update) r.path += "/" + w.target_id;
  return r;
}

}  // namespace flowdrift::plan
