// A write as a v4 request (docs/prism-api.md §3): the canonical object written back in the v4
// shape that lib/policy/normalize_v4.cpp canonicalizes to it again (tests/unit/plan checks that
// round trip), with the target's extIds for what it references. What the canonical object holds
// that v4 cannot say (or that this renderer cannot write back exactly) is an error, never dropped.
#include "plan/render.hpp"

#include <cctype>
#include <map>
#include <set>
#include <tuple>

namespace flowdrift::plan {
namespace {

using nlohmann::json;
using policy::ObjectKind;

Error cannot(const std::string& what) {
  return make_error(ErrorReason::Other, "the v4 API cannot express " + what);
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Members of `obj` outside `known`, as the first one's name ("" if none); what the model keeps
// opaquely ("unmodelled") is named with its values.
std::string unknown_member(const json& obj, const std::set<std::string>& known) {
  for (const auto& [k, v] : obj.items()) {
    if (k == "unmodelled") return "members flowdrift does not model (" + v.dump() + ")";
    if (!known.count(k)) return k;
  }
  return {};
}

// "10.0.0.0/8" -> {value, prefixLength}; "" key when the text is not address/prefix.
json address_prefix(const std::string& s) {
  const auto slash = s.find('/');
  if (slash == std::string::npos) return json();
  return json{{"value", s.substr(0, slash)}, {"prefixLength", std::stoi(s.substr(slash + 1))}};
}

json port_list(const json& ports) {
  json out = json::array();
  for (const auto& r : ports) out.push_back({{"startPort", r.at(0)}, {"endPort", r.at(1)}});
  return out;
}

json icmp_list(const json& items) {
  json out = json::array();
  for (const auto& item : items) {
    out.push_back(item.empty() ? json{{"isAllAllowed", true}} : item);
  }
  return out;
}

// A protocol service {"protocol",...} as the v4 member that lists it, added to `spec`.
Result<void> add_protocol(const json& s, json& spec) {
  static const std::map<std::string, const char*> kKeys{{"tcp", "tcpServices"},
                                                        {"udp", "udpServices"},
                                                        {"icmp", "icmpServices"},
                                                        {"icmp6", "icmpV6Services"}};
  const std::string protocol = s.value("protocol", "");
  auto key = kKeys.find(protocol);
  if (key == kKeys.end() || !unknown_member(s, {"protocol", "ports", "icmp"}).empty()) {
    return cannot("the service " + s.dump());
  }
  json& list = spec[key->second];
  if (list.is_null()) list = json::array();
  const json items = protocol == "tcp" || protocol == "udp" ? port_list(s.value("ports", json::array()))
                                                            : icmp_list(s.value("icmp", json::array()));
  for (const auto& i : items) list.push_back(i);
  return {};
}

// A rule of `type`; its spec names its SDK type, which the API needs to tell the specs apart.
json make_rule(const std::string& type, const std::string& description, json spec) {
  static const std::map<std::string, const char*> kSpecTypes{
      {"APPLICATION", "ApplicationRuleSpec"}, {"QUARANTINE", "ApplicationRuleSpec"},
      {"SHARED_SERVICE", "ApplicationRuleSpec"}, {"INTRA_GROUP", "IntraEntityGroupRuleSpec"},
      {"TWO_ENV_ISOLATION", "TwoEnvIsolationRuleSpec"},
      {"MULTI_ENV_ISOLATION", "MultiEnvIsolationRuleSpec"}, {"FLEX", "FlexRuleSpec"}};
  spec["$objectType"] = std::string("microseg.v4.config.") + kSpecTypes.at(type);
  return json{{"type", type}, {"description", description}, {"spec", std::move(spec)}};
}

class V4Writer {
 public:
  explicit V4Writer(const Target& target) : target_(target) {}

  Result<json> policy(const json& p) {
    static const std::set<std::string> kKnown{
        "allow_ipv6", "description", "hitlog", "intra_group", "intra_group_rule",
        "intra_group_services", "isolation", "isolation_rule", "mode", "name", "rules",
        "secured_group", "type", "scope", "scope_categories", "ipv4_scope", "ipv6_scope",
        "priority", "applied_to", "sources", "destinations", "vpcs"};
    if (auto k = unknown_member(p, kKnown); !k.empty()) return cannot("the policy's " + k);
    auto type = policy_type(p.value("type", ""));
    if (!type) return type.error();
    // A quarantine policy's rules are QUARANTINE rules (same spec as APPLICATION ones).
    app_rule_type_ = *type == "QUARANTINE" ? "QUARANTINE" : "APPLICATION";
    auto state = policy_state(p.value("mode", ""));
    if (!state) return state.error();
    json body{{"name", p.at("name")},
              {"description", p.value("description", "")},
              {"type", *type},
              {"state", *state},
              {"isIpv6TrafficAllowed", p.value("allow_ipv6", false)},
              {"isHitlogEnabled", p.value("hitlog", false)}};
    if (auto r = scope(p, body); !r) return r.error();
    auto rules = policy_rules(p, body);
    if (!rules) return rules.error();
    body["rules"] = std::move(*rules);
    return body;
  }

  Result<json> address_group(const json& g) {
    if (auto k = unknown_member(g, {"addresses", "description", "name"}); !k.empty()) {
      return cannot("an address group's " + k);
    }
    json body{{"name", g.at("name")}, {"description", g.value("description", "")}};
    for (const auto& a : g.value("addresses", json::array())) {
      if (auto r = add_address(a.is_string() ? a.get<std::string>() : a.dump(), body, true); !r) {
        return r.error();
      }
    }
    return body;
  }

  Result<json> service_group(const json& g) {
    if (auto k = unknown_member(g, {"services", "description", "name"}); !k.empty()) {
      return cannot("a service group's " + k);
    }
    json body{{"name", g.at("name")}, {"description", g.value("description", "")}};
    for (const auto& s : g.value("services", json::array())) {
      if (s.value("all", false)) return cannot("a service group of all protocols");
      if (auto r = add_protocol(s, body); !r) return r.error();
    }
    return body;
  }

  Result<json> entity_group(const json& g) {
    if (auto k = unknown_member(g, {"allowed", "except", "description", "name"}); !k.empty()) {
      return cannot("an entity group's " + k);
    }
    json body{{"name", g.at("name")}, {"description", g.value("description", "")}};
    for (const auto& [canon, key] : {std::pair{"allowed", "allowedConfig"}, std::pair{"except", "exceptConfig"}}) {
      json entities = json::array();
      for (const auto& e : g.value(canon, json::array())) {
        auto entity = selector(e);
        if (!entity) return entity.error();
        entities.push_back(std::move(*entity));
      }
      if (!entities.empty()) body[key] = json{{"entities", std::move(entities)}};
    }
    return body;
  }

 private:
  static Result<std::string> policy_type(const std::string& type) {
    static const std::set<std::string> kTypes{"application", "isolation", "quarantine",
                                              "sharedservice", "critical", "coreinfrastructure",
                                              "zone", "workload"};
    if (!kTypes.count(type)) return cannot("a policy of type " + type);
    return upper(type);
  }

  static Result<std::string> policy_state(const std::string& mode) {
    if (mode != "enforce" && mode != "monitor" && mode != "save") return cannot("the policy mode " + mode);
    return upper(mode);
  }

  // What v4.1+ added at the policy level: address-family and category scope, priority, and
  // the policy-level entity-group lists (present in canonical form only when they say more
  // than the rules). A VPC scope names VPCs this plan cannot look up: not written.
  Result<void> scope(const json& p, json& body) {
    const std::string s = p.value("scope", "");
    if (s == "vpc_list" || s == "vpc_as_category" || p.contains("vpcs")) {
      return cannot("a policy scoped to VPCs (" + s + ")");
    }
    if (!s.empty()) body["scope"] = upper(s);
    if (p.contains("scope_categories")) body["scopeReferences"] = category_ids(p["scope_categories"]);
    if (p.contains("ipv4_scope")) body["isIpv4AddressScope"] = p["ipv4_scope"];
    if (p.contains("ipv6_scope")) body["isIpv6AddressScope"] = p["ipv6_scope"];
    if (p.contains("priority")) body["priority"] = p["priority"];
    for (const auto& [canon, key] : {std::pair{"applied_to", "appliedToEntityGroupReferences"},
                                     std::pair{"sources", "sourceEntityGroupReferences"},
                                     std::pair{"destinations", "destinationEntityGroupReferences"}}) {
      if (!p.contains(canon)) continue;
      if (auto k = unknown_member(p[canon], {"entity_groups"}); !k.empty()) {
        return cannot(std::string("the policy's ") + canon + " " + k);
      }
      body[key] = entity_group_ids(p[canon].value("entity_groups", json::array()));
    }
    return {};
  }

  Result<json> policy_rules(const json& p, json& body) {
    json rules = json::array();
    json secured = json::object();  // the secured-group members every rule carries
    if (p.contains("secured_group")) {
      auto s = secured_spec(p["secured_group"], body);
      if (!s) return s.error();
      secured = std::move(*s);
    }
    for (const auto& r : p.value("rules", json::array())) {
      auto rule = r.value("direction", "") == "flex" ? flex_rule(r) : application_rule(r, secured);
      if (!rule) return rule.error();
      rules.push_back(std::move(*rule));
    }
    if (p.contains("intra_group")) {
      auto rule = intra_rule(p, secured);
      if (!rule) return rule.error();
      rules.push_back(std::move(*rule));
    } else if (p.contains("intra_group_rule") || p.contains("intra_group_services")) {
      return cannot("intra-group rule members without an intra-group action");
    }
    if (auto r = spread_kinds(rules); !r) return r.error();
    if (p.contains("isolation")) {
      auto rule = isolation_rule(p);
      if (!rule) return rule.error();
      rules.push_back(std::move(*rule));
    } else if (p.contains("isolation_rule")) {
      return cannot("isolation rule members without isolation groups");
    }
    // Secured categories no rule carries (a policy without rules) go to securedGroups.
    if (rules.empty() && secured.contains("securedGroupCategoryReferences")) {
      if (secured.contains("securedGroupCategoryAssociatedEntityType")) {
        return cannot("a secured group of non-VM kinds in a policy without rules");
      }
      body["securedGroups"] = secured["securedGroupCategoryReferences"];
    }
    return rules;
  }

  // {categories, kinds, match, entity_groups?}: categories (of one kind) go into every rule;
  // entity groups into the policy's securedEntityGroupReferences.
  Result<json> secured_spec(const json& g, json& body) {
    if (auto k = unknown_member(g, {"categories", "kinds", "match", "entity_groups"}); !k.empty()) {
      return cannot("a secured group's " + k);
    }
    json spec = json::object();
    json one_kind = g;
    const json kinds = g.value("kinds", json::array());
    if (kinds.size() > 1 && !g.value("categories", json::array()).empty()) {
      spread_kinds_ = kinds;  // spread over the rules (spread_kinds)
      one_kind["kinds"] = json::array({"vm"});
    }
    auto ids = category_group(one_kind, "the secured group", spec, "securedGroup");
    if (!ids) return ids.error();
    if (g.contains("entity_groups")) body["securedEntityGroupReferences"] = entity_group_ids(g["entity_groups"]);
    return spec;
  }

  // A secured group of several kinds: v4 reads the union of what each rule's secured
  // categories select, so the rules that carry them take the kinds in turn. With fewer such
  // rules than kinds, one is repeated: the same canonical rules, one more kind.
  Result<void> spread_kinds(json& rules) const {
    if (spread_kinds_.empty()) return {};
    std::vector<std::size_t> carriers;
    for (std::size_t i = 0; i < rules.size(); ++i) {
      if (rules[i]["spec"].contains("securedGroupCategoryReferences")) carriers.push_back(i);
    }
    if (carriers.empty()) {
      return cannot("the secured group selecting several kinds " + spread_kinds_.dump() + " without rules");
    }
    while (carriers.size() < spread_kinds_.size()) {
      rules.push_back(rules[carriers.front()]);
      carriers.push_back(rules.size() - 1);
    }
    for (std::size_t k = 0; k < carriers.size(); ++k) {
      json& spec = rules[carriers[k]]["spec"];
      const std::string kind = spread_kinds_[k % spread_kinds_.size()].get<std::string>();
      spec.erase("securedGroupCategoryAssociatedEntityType");
      if (kind != "vm") spec["securedGroupCategoryAssociatedEntityType"] = upper(kind);
    }
    return {};
  }

  // A category group's categories as `prefix`CategoryReferences (and its associated entity
  // type unless VM), as v4 reads them back: match `all`, one kind.
  Result<void> category_group(const json& g, const std::string& what, json& spec,
                              const std::string& prefix) {
    const json& categories = g.value("categories", json::array());
    const json kinds = g.value("kinds", json::array({"vm"}));
    if (kinds.empty()) return cannot(what + " selecting no kinds (a v3 filter without kind_list)");
    // Without categories v4 says nothing of kinds: it reads ["vm"] back.
    if (categories.empty() && kinds != json::array({"vm"})) {
      return cannot(what + " of kinds " + kinds.dump() + " without categories");
    }
    if (kinds.size() != 1) return cannot(what + " selecting several kinds " + kinds.dump());
    if (g.value("match", "all") != "all") return cannot(what + " matching any of several keys");
    if (categories.empty()) return {};
    spec[prefix + "CategoryReferences"] = category_ids(categories);
    if (kinds[0] != "vm") spec[prefix + "CategoryAssociatedEntityType"] = upper(kinds[0].get<std::string>());
    return {};
  }

  // One canonical rule (one peer, one service) as one APPLICATION or SHARED_SERVICE rule.
  Result<json> application_rule(const json& r, const json& secured) {
    static const std::set<std::string> kKnown{"description", "direction", "peer", "service",
                                              "name", "logging", "rule_type"};
    if (auto k = unknown_member(r, kKnown); !k.empty()) return cannot("a rule's " + k);
    const std::string direction = r.value("direction", "");
    if (direction != "inbound" && direction != "outbound") return cannot("a rule of direction " + direction);
    json spec = secured;
    auto peer = add_peer(r.at("peer"), direction == "inbound" ? "src" : "dest", spec);
    if (!peer) return peer.error();
    if (auto s = add_service(r.at("service"), spec); !s) return s.error();
    const std::string rule_type = r.value("rule_type", "");
    if (!rule_type.empty() && rule_type != "shared_service") return cannot("a rule of type " + rule_type);
    json rule = make_rule(rule_type.empty() ? app_rule_type_ : "SHARED_SERVICE",
                          r.value("description", ""), std::move(spec));
    add_rule_switches(r, rule);
    return rule;
  }

  static void add_rule_switches(const json& extras, json& rule) {
    if (extras.contains("name")) rule["name"] = extras["name"];
    if (extras.value("logging", false)) rule["isLoggingEnabled"] = true;
  }

  Result<void> add_peer(const json& peer, const std::string& side, json& spec) {
    if (peer.value("any", false) && peer.size() == 1) {
      spec[side + "AllowSpec"] = "ALL";
    } else if (peer.contains("categories")) {
      if (auto k = unknown_member(peer, {"categories", "match", "kinds"}); !k.empty()) {
        return cannot("the peer " + peer.dump());
      }
      // v4 says a peer's kind only when it is not VM (VM is what a peer without kinds means).
      if (peer["categories"].empty() || peer.value("kinds", json::array()) == json::array({"vm"})) {
        return cannot("the peer " + peer.dump());
      }
      return category_group(peer, "the peer " + peer.dump(), spec, side);
    } else if (peer.contains("subnet") && peer.size() == 1) {
      spec[side + "Subnet"] = address_prefix(peer["subnet"].get<std::string>());
    } else if (peer.contains("subnet6") && peer.size() == 1) {
      spec[side + "Ipv6Subnet"] = address_prefix(peer["subnet6"].get<std::string>());
    } else if (peer.contains("address_group") && peer.size() == 1) {
      spec[side + "AddressGroupReferences"] =
          json::array({id_of(ObjectKind::AddressGroup, peer["address_group"].get<std::string>())});
    } else if (peer.contains("entity_group") && peer.size() == 1) {
      spec[side + "EntityGroupReference"] = id_of(ObjectKind::EntityGroup, peer["entity_group"].get<std::string>());
    } else {
      return cannot("the peer " + peer.dump());
    }
    return {};
  }

  // {"all":true}, a service group, or a protocol with its ranges.
  Result<void> add_service(const json& s, json& spec, const char* groups_key = "serviceGroupReferences") {
    if (s.value("all", false) && s.size() == 1) {
      spec["isAllProtocolAllowed"] = true;
      return {};
    }
    if (s.contains("service_group") && s.size() == 1) {
      json& list = spec[groups_key];
      if (list.is_null()) list = json::array();
      list.push_back(id_of(ObjectKind::ServiceGroup, s["service_group"].get<std::string>()));
      return {};
    }
    return add_protocol(s, spec);
  }

  Result<json> intra_rule(const json& p, const json& secured) {
    const std::string action = p["intra_group"].get<std::string>();
    if (action != "allow" && action != "deny") return cannot("the intra-group action " + action);
    json spec = secured;
    spec["securedGroupAction"] = upper(action);
    const json services = p.value("intra_group_services", json::array());
    for (const auto& s : services) {
      if (s.value("all", false)) {
        if (services.size() != 1) return cannot("intra-group services " + services.dump());
        spec["tcpServices"] = json::array();  // says "services listed"; none: all of them
        break;
      }
      if (auto r = add_service(s, spec, "securedGroupServiceReferences"); !r) return r.error();
    }
    json rule = make_rule("INTRA_GROUP", "", std::move(spec));
    if (auto r = rule_extras(p.value("intra_group_rule", json::object()), "the intra-group rule", rule); !r) {
      return r.error();
    }
    return rule;
  }

  static Result<void> rule_extras(const json& extras, const std::string& what, json& rule) {
    if (auto k = unknown_member(extras, {"name", "logging"}); !k.empty()) return cannot(what + "'s " + k);
    add_rule_switches(extras, rule);
    return {};
  }

  // Two VM groups of categories: TWO_ENV_ISOLATION; anything else: MULTI_ENV_ISOLATION.
  Result<json> isolation_rule(const json& p) {
    const json& groups = p["isolation"];
    bool two = groups.size() == 2;
    for (const auto& g : groups) {
      if (auto k = unknown_member(g, {"categories", "kinds", "match", "entity_groups"}); !k.empty()) {
        return cannot("an isolation group's " + k);
      }
      two = two && !g.contains("entity_groups") && g.value("match", "all") == "all" && g.value("kinds", json::array({"vm"})) == json::array({"vm"}) &&
            !g.value("categories", json::array()).empty();
    }
    json spec = json::object();
    if (two) {
      spec["firstIsolationGroup"] = category_ids(groups[0].at("categories"));
      spec["secondIsolationGroup"] = category_ids(groups[1].at("categories"));
    } else {
      json list = json::array();
      for (const auto& g : groups) {
        auto group = isolation_group(g);
        if (!group) return group.error();
        list.push_back(std::move(*group));
      }
      spec["spec"] = json{{"$objectType", "microseg.v4.config.AllToAllIsolationGroup"},
                          {"isolationGroups", std::move(list)}};
    }
    json rule = make_rule(two ? "TWO_ENV_ISOLATION" : "MULTI_ENV_ISOLATION", "", std::move(spec));
    if (auto r = rule_extras(p.value("isolation_rule", json::object()), "the isolation rule", rule); !r) {
      return r.error();
    }
    return rule;
  }

  Result<json> isolation_group(const json& g) {
    json group = json::object();
    if (auto r = category_group(g, "an isolation group", group, "group"); !r) return r.error();
    const json egs = g.value("entity_groups", json::array());
    if (egs.empty() && g.value("categories", json::array()).empty()) {
      return cannot("an isolation group of no categories");
    }
    if (egs.size() > 1) return cannot("an isolation group of several entity groups");
    if (egs.size() == 1) group["groupEntityGroupReference"] = id_of(ObjectKind::EntityGroup, egs[0]);
    return group;
  }

  // FLEX (v4.3): one structural rule, written back member by member.
  Result<json> flex_rule(const json& r) {
    static const std::set<std::string> kKnown{
        "action", "applied_to", "description", "destinations", "direction", "flow", "services",
        "sources", "name", "logging", "priority", "ip_version", "system"};
    if (auto k = unknown_member(r, kKnown); !k.empty()) return cannot("a FLEX rule's " + k);
    json spec{{"action", upper(r.value("action", ""))}, {"direction", upper(r.value("flow", ""))}};
    if (auto k = unknown_member(r.value("applied_to", json::object()), {"entity_groups"}); !k.empty()) {
      return cannot("a FLEX rule's applied_to " + k);
    }
    spec["appliedToEntityGroupReferences"] =
        entity_group_ids(r.value("applied_to", json::object()).value("entity_groups", json::array()));
    for (const auto& [canon, side, any] : {std::tuple{"sources", "src", "shouldAllowAnySrc"},
                                           std::tuple{"destinations", "dest", "shouldAllowAnyDst"}}) {
      if (auto p = flex_peers(r.value(canon, json::array()), side, any, spec); !p) return p.error();
    }
    for (const auto& s : r.value("services", json::array())) {
      if (auto x = add_service(s, spec); !x) return x.error();
    }
    if (r.contains("priority")) spec["priority"] = r["priority"];
    if (r.contains("ip_version")) spec["ipVersion"] = upper(r["ip_version"].get<std::string>());
    if (r.value("system", false)) spec["isSystemRule"] = true;
    json rule = make_rule("FLEX", r.value("description", ""), std::move(spec));
    add_rule_switches(r, rule);
    return rule;
  }

  Result<void> flex_peers(const json& peers, const std::string& side, const char* any, json& spec) {
    json groups = json::array();
    for (const auto& peer : peers) {
      if (peer.value("any", false) && peer.size() == 1) {
        spec[any] = true;
      } else if (peer.contains("entity_group") && peer.size() == 1) {
        groups.push_back(id_of(ObjectKind::EntityGroup, peer["entity_group"].get<std::string>()));
      } else if (peer.contains("subnet") && peer.size() == 1 && !spec.contains(side + "Subnet")) {
        spec[side + "Subnet"] = address_prefix(peer["subnet"].get<std::string>());
      } else {
        return cannot("the FLEX peer " + peer.dump());
      }
    }
    if (!groups.empty()) spec[side + "EntityGroupReferences"] = std::move(groups);
    return {};
  }

  // An entity group's selector, its canonical members back in their SDK names.
  Result<json> selector(const json& e) {
    static const std::set<std::string> kKnown{"type", "select_by", "match", "references",
                                              "pattern", "kube_entities", "fqdns", "addresses"};
    if (auto k = unknown_member(e, kKnown); !k.empty()) return cannot("an entity group selector's " + k);
    json out = json::object();
    for (const auto& [canon, key] : {std::pair{"type", "type"}, std::pair{"select_by", "selectBy"},
                                     std::pair{"match", "matchCriteria"}}) {
      if (e.contains(canon)) out[key] = upper(e[canon].get<std::string>());
    }
    if (e.contains("references")) {
      json ids = json::array();
      for (const auto& ref : e["references"]) {
        const std::string text = ref.get<std::string>();
        if (text.rfind("vpc:", 0) == 0) return cannot("an entity group selecting the VPC " + text.substr(4));
        ids.push_back(reference_id(text));
      }
      out["referenceExtIds"] = std::move(ids);
    }
    if (e.contains("pattern")) out["referenceString"] = e["pattern"];
    if (e.contains("kube_entities")) out["kubeEntities"] = e["kube_entities"];
    if (e.contains("fqdns")) out["fqdns"] = e["fqdns"];
    for (const auto& a : e.value("addresses", json::array())) {
      if (auto r = add_address(a.get<std::string>(), out, false); !r) return r.error();
    }
    return out;
  }

  // "category:K:V", "address_group:name", ... -> the target's extId; anything else (a VM or
  // subnet extId) as it is.
  std::string reference_id(const std::string& ref) {
    static const std::map<std::string, ObjectKind> kKinds{
        {"category", ObjectKind::Category}, {"address_group", ObjectKind::AddressGroup},
        {"service_group", ObjectKind::ServiceGroup}, {"entity_group", ObjectKind::EntityGroup}};
    const auto colon = ref.find(':');
    auto kind = colon == std::string::npos ? kKinds.end() : kKinds.find(ref.substr(0, colon));
    return kind == kKinds.end() ? ref : id_of(kind->second, ref.substr(colon + 1));
  }

  // An address group's address ("a/n", "a-b", IPv6 alike) into its v4 list; `group` false: an
  // entity group selector's addresses {ipv4Addresses} and ipRanges {ipv4Ranges}.
  static Result<void> add_address(const std::string& a, json& out, bool group) {
    const bool v6 = a.find(':') != std::string::npos;
    const auto dash = a.find('-');
    if (group) {
      if (dash != std::string::npos) {
        out[v6 ? "ipv6Ranges" : "ipRanges"].push_back({{"startIp", a.substr(0, dash)}, {"endIp", a.substr(dash + 1)}});
      } else if (json p = address_prefix(a); !p.is_null()) {
        out[v6 ? "ipv6Addresses" : "ipv4Addresses"].push_back(std::move(p));
      } else {
        return cannot("the address " + a);
      }
      return {};
    }
    if (v6) return cannot("the IPv6 address " + a + " in an entity group");
    if (dash != std::string::npos) {
      out["ipRanges"]["ipv4Ranges"].push_back({{"startIp", a.substr(0, dash)}, {"endIp", a.substr(dash + 1)}});
    } else if (json p = address_prefix(a); !p.is_null()) {
      out["addresses"]["ipv4Addresses"].push_back(std::move(p));
    } else {
      return cannot("the address " + a);
    }
    return {};
  }

  json category_ids(const json& categories) {
    json ids = json::array();
    for (const auto& c : categories) ids.push_back(id_of(ObjectKind::Category, c.get<std::string>()));
    return ids;
  }

  json entity_group_ids(const json& names) {
    json ids = json::array();
    for (const auto& n : names) ids.push_back(id_of(ObjectKind::EntityGroup, n.get<std::string>()));
    return ids;
  }

  std::string id_of(ObjectKind kind, const std::string& name) {
    auto it = target_.objects.find({kind, name});
    return it == target_.objects.end() || it->second.id.empty() ? kKnownAfterApply : it->second.id;
  }

  const Target& target_;
  json spread_kinds_ = json::array();  // the secured group's kinds, when several
  std::string app_rule_type_ = "APPLICATION";  // of the policy being written
};

// A category value: POST {key, value, description}. A key alone is never planned for v4
// (plan.cpp): the first value's create makes its key.
Result<Request> category_request(const Write& w, const Target& target) {
  if (w.op != Op::Create) return cannot("a change to a category value other than creating it");
  const auto colon = w.name.find(':');
  if (colon == std::string::npos) return cannot("a category key without a value");
  Request r;
  r.method = "POST";
  r.path = "/api/prism/" + target.prism_version + "/config/categories";
  r.body = json{{"key", w.name.substr(0, colon)}, {"value", w.name.substr(colon + 1)}, {"description", ""}};
  return r;
}

Result<json> body_of(const Write& w, const Target& target) {
  const json desired = json::parse(w.desired);
  if (desired.contains("unmodelled")) {
    return cannot("the members of " + w.name + " flowdrift does not model (" +
                  desired["unmodelled"].dump() + ")");
  }
  V4Writer writer(target);
  switch (w.kind) {
    case ObjectKind::Policy: return writer.policy(desired);
    case ObjectKind::AddressGroup: return writer.address_group(desired);
    case ObjectKind::ServiceGroup: return writer.service_group(desired);
    case ObjectKind::EntityGroup: return writer.entity_group(desired);
    case ObjectKind::Category: break;
  }
  return cannot(std::string("a ") + std::string(policy::to_string(w.kind)));
}

}  // namespace

Result<Request> render_v4(const Write& w, const Target& target) {
  static const std::map<ObjectKind, std::string> kCollections{
      {ObjectKind::Policy, "policies"},
      {ObjectKind::AddressGroup, "address-groups"},
      {ObjectKind::ServiceGroup, "service-groups"},
      {ObjectKind::EntityGroup, "entity-groups"}};
  if (w.kind == ObjectKind::Category) return category_request(w, target);
  auto collection = kCollections.find(w.kind);
  if (collection == kCollections.end()) {
    return cannot(std::string("a ") + std::string(policy::to_string(w.kind)));
  }
  Request r;
  r.path = "/api/microseg/" + target.microseg_version + "/config/" + collection->second;
  if (w.op == Op::Delete) {  // a delete needs the ETag too (docs/prism-api.md §3.2)
    r.method = "DELETE";
    r.path += "/" + w.target_id;
    r.precondition = "If-Match: the ETag read before the write";
    return r;
  }
  auto body = body_of(w, target);
  if (!body) return body.error();
  r.body = std::move(*body);
  r.method = w.op == Op::Create ? "POST" : "PUT";
  if (w.op == Op::Update) {
    r.path += "/" + w.target_id;
    r.body["extId"] = w.target_id;
    r.precondition = "If-Match: the ETag read before the write";
  }
  return r;
}

}  // namespace flowdrift::plan
