#include "diff/diff.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "flows/flows.hpp"
#include "core/json_scan.hpp"

namespace flowdrift::diff {
namespace {

using nlohmann::json;
using policy::CanonicalObject;
using policy::ObjectKind;

int mode_rank(std::string_view mode) {
  if (mode == "enforce") return 2;
  if (mode == "monitor") return 1;
  return 0;  // save / unknown: enforces nothing
}

bool is_incident_policy(std::string_view type) {
  // Quarantine and isolation policies are what people rely on in an incident.
  return type == "quarantine" || type == "isolation";
}

std::string compact(const json& j) { return j.dump(); }

// One side's change, classified by what it does to allowed traffic. Unknown: what it does
// cannot be established (a construct the flows model does not know).
enum class Effect { Cosmetic, Permissive, Restrictive, Both, Unknown };

Effect combine(Effect a, Effect b) {
  if (a == b) return a;
  if (a == Effect::Cosmetic) return b;
  if (b == Effect::Cosmetic) return a;
  // A known wider change stays what it is; next to an unknown one, a narrower one is unknown.
  if (a == Effect::Unknown) return b == Effect::Restrictive ? a : b;
  if (b == Effect::Unknown) return a == Effect::Restrictive ? b : a;
  return Effect::Both;
}

// A canonical rule the flows model reads: an allow rule with a direction, a peer, a service.
// Any other (FLEX, an unknown rule type, extra members) has an allowed-flow meaning the model
// cannot establish.
bool is_flow_rule(const json& rule) {
  if (!rule.is_object()) return false;
  for (const auto& [k, v] : rule.items()) {
    if (!flows::reads_rule_member(k)) return false;
  }
  const json direction = rule.value("direction", json());
  return direction == "inbound" || direction == "outbound";
}

json strip_description(json rule) {
  if (rule.is_object()) rule.erase("description");
  return rule;
}

// Set difference of two arrays (canonical arrays are sorted sets) by value.
void set_diff(const json& a, const json& b, std::vector<json>& only_a, std::vector<json>& only_b) {
  std::set<std::string> sa, sb;
  for (const auto& e : a) sa.insert(compact(e));
  for (const auto& e : b) sb.insert(compact(e));
  for (const auto& e : a) {
    if (!sb.count(compact(e))) only_a.push_back(e);
  }
  for (const auto& e : b) {
    if (!sa.count(compact(e))) only_b.push_back(e);
  }
}

struct Comparison {
  std::vector<FieldDiff> fields;
  Effect effect = Effect::Cosmetic;
  bool any = false;
  void add(FieldDiff f, Effect e) {
    fields.push_back(std::move(f));
    effect = any ? combine(effect, e) : e;
    any = true;
  }
};

Effect bool_effect(const json& src, const json& rep) {
  // allow_ipv6 true on the replica only: it lets more through.
  const bool s = src.is_boolean() && src.get<bool>();
  const bool r = rep.is_boolean() && rep.get<bool>();
  if (s == r) return Effect::Cosmetic;
  return r ? Effect::Permissive : Effect::Restrictive;
}

Effect intra_effect(const json& src, const json& rep) {
  const bool s = src.is_string() && src.get<std::string>() == "allow";
  const bool r = rep.is_string() && rep.get<std::string>() == "allow";
  if (s == r) return Effect::Both;  // other values changed: cannot tell
  return r ? Effect::Permissive : Effect::Restrictive;
}

void compare_rules(const json& src, const json& rep, Comparison& out) {
  const json empty = json::array();
  const json& a = src.is_array() ? src : empty;
  const json& b = rep.is_array() ? rep : empty;
  std::vector<json> only_src, only_rep;
  set_diff(a, b, only_src, only_rep);
  if (only_src.empty() && only_rep.empty()) return;
  // Rules that differ only in their description are cosmetic.
  std::map<std::string, json> src_stripped, rep_stripped;
  for (const auto& r : only_src) src_stripped.emplace(compact(strip_description(r)), r);
  for (const auto& r : only_rep) rep_stripped.emplace(compact(strip_description(r)), r);
  for (const auto& [key, rule] : src_stripped) {
    if (auto it = rep_stripped.find(key); it != rep_stripped.end()) {
      out.add({"rules[" + key + "].description", compact(rule.value("description", json(""))),
               compact(it->second.value("description", json("")))},
              Effect::Cosmetic);
    } else {
      out.add({"rules[- " + key + "]", compact(rule), ""},
              is_flow_rule(rule) ? Effect::Restrictive : Effect::Unknown);
    }
  }
  for (const auto& [key, rule] : rep_stripped) {
    if (!src_stripped.count(key)) {
      out.add({"rules[+ " + key + "]", "", compact(rule)},
              is_flow_rule(rule) ? Effect::Permissive : Effect::Unknown);
    }
  }
}

Direction to_direction(Effect e) {
  switch (e) {
    case Effect::Cosmetic: return Direction::Cosmetic;
    case Effect::Permissive: return Direction::MorePermissive;
    case Effect::Restrictive: return Direction::MoreRestrictive;
    case Effect::Both: return Direction::Both;
    case Effect::Unknown: return Direction::Unknown;
  }
  return Direction::None;
}

Severity severity_of(Effect e, std::string_view type) {
  switch (e) {
    case Effect::Cosmetic: return Severity::Info;
    case Effect::Restrictive:
      return is_incident_policy(type) ? Severity::Critical : Severity::Warning;
    case Effect::Permissive:
    case Effect::Both: return Severity::Critical;
    case Effect::Unknown: return Severity::Warning;
  }
  return Severity::Critical;
}

// A weaker mode on the replica is its own item: it is what on-call must see first.
void compare_modes(const CanonicalObject& s, const CanonicalObject& r,
                   std::vector<DriftItem>& items) {
  if (mode_rank(r.mode) >= mode_rank(s.mode)) return;
  DriftItem item;
  item.object = s.name;
  item.kind = DriftKind::EnforcementMode;
  item.severity = Severity::Critical;
  item.direction = Direction::MorePermissive;
  item.fields.push_back({"mode", compact(json(s.mode)), compact(json(r.mode))});
  item.summary = "mode " + s.mode + " on source, " + r.mode + " on replica";
  items.push_back(std::move(item));
}

// Fields whose meaning is the set of flows the policy allows (lib/flows compares them).
bool is_flow_field(std::string_view key) {
  return key == "rules" || key == "secured_group" || key == "intra_group" ||
         key == "allow_ipv6" || key == "isolation" || key == "scope" || key == "vpcs" ||
         key == "scope_categories";
}

Effect to_effect(flows::Classification c) {
  switch (c) {
    case flows::Classification::Cosmetic: return Effect::Cosmetic;
    case flows::Classification::MorePermissive: return Effect::Permissive;
    case flows::Classification::MoreRestrictive: return Effect::Restrictive;
    case flows::Classification::Both: return Effect::Both;
  }
  return Effect::Both;
}

// One concrete flow per direction, the evidence on-call acts on: appended to `fields`;
// returns the text for the item's summary.
std::string add_example_flows(const flows::Comparison& behaviour, std::vector<FieldDiff>& fields) {
  std::string summary;
  if (!behaviour.replica_example_text.empty()) {
    fields.push_back({"flows[replica only]", "", compact(json(behaviour.replica_example_text))});
    summary += "; replica allows " + behaviour.replica_example_text + ", source does not";
  }
  if (!behaviour.source_example_text.empty()) {
    fields.push_back({"flows[source only]", compact(json(behaviour.source_example_text)), ""});
    summary += "; source allows " + behaviour.source_example_text + ", replica does not";
  }
  return summary;
}

// `src` and `rep` are the parsed policies, the replica's with renamed references already
// translated to the source's names (so a rename alone is not a modification). With
// `behaviour`, the flow fields are judged by the flows they allow, not by their text: split
// port ranges, duplicates or a group versus the same ports inline are cosmetic.
void compare_policies(const CanonicalObject& s, const CanonicalObject& r, const json& src,
                      const json& rep, const flows::Comparison* behaviour,
                      std::vector<DriftItem>& items) {
  const int src_rank = mode_rank(s.mode);
  const int rep_rank = mode_rank(r.mode);
  Comparison cmp;
  if (!src.is_object() || !rep.is_object()) {
    if (src != rep) cmp.add({"", s.json, r.json}, Effect::Both);
  } else {
    std::set<std::string> keys;
    for (const auto& [k, v] : src.items()) keys.insert(k);
    for (const auto& [k, v] : rep.items()) keys.insert(k);
    for (const auto& k : keys) {
      const json sv = src.contains(k) ? src.at(k) : json();
      const json rv = rep.contains(k) ? rep.at(k) : json();
      if (sv == rv) continue;
      if (k == "mode") {
        if (rep_rank > src_rank) {
          cmp.add({"mode", compact(sv), compact(rv)}, Effect::Restrictive);
        }
        continue;  // a weaker mode is its own enforcement_mode item
      }
      if (behaviour && is_flow_field(k)) {
        // Listed as evidence; what it does is the behaviour's verdict below.
        if (k == "rules") {
          Comparison text;
          compare_rules(sv, rv, text);
          for (auto& f : text.fields) cmp.add(std::move(f), Effect::Cosmetic);
        } else {
          cmp.add({k, sv.is_null() ? "" : compact(sv), rv.is_null() ? "" : compact(rv)},
                  Effect::Cosmetic);
        }
        continue;
      }
      if (k == "rules") {
        compare_rules(sv, rv, cmp);
        continue;
      }
      Effect e = Effect::Both;
      if (k == "description" || k == "hitlog" || k == "name") {
        e = Effect::Cosmetic;
      } else if (k == "allow_ipv6") {
        e = bool_effect(sv, rv);
      } else if (k == "intra_group") {
        e = intra_effect(sv, rv);
      } else if (!flows::reads_policy_member(k)) {
        e = Effect::Unknown;  // a member whose allowed-flow meaning the model cannot establish
      }
      cmp.add({k, sv.is_null() ? "" : compact(sv), rv.is_null() ? "" : compact(rv)}, e);
    }
  }
  if (!cmp.any) return;
  // Counted before the example flows are appended: they are evidence, not differing fields.
  const auto differing = cmp.fields.size();
  std::string examples;
  if (behaviour) {
    cmp.effect = combine(cmp.effect, to_effect(behaviour->classification));
    examples = add_example_flows(*behaviour, cmp.fields);
  }
  DriftItem item;
  item.object = s.name;
  item.kind = DriftKind::Modified;
  item.direction = to_direction(cmp.effect);
  item.severity = severity_of(cmp.effect, s.policy_type);
  item.fields = std::move(cmp.fields);
  item.summary = std::to_string(differing) + " field(s) differ, replica " +
                 std::string(to_string(item.direction)) + examples;
  items.push_back(std::move(item));
}

using ObjectKey = std::pair<ObjectKind, std::string>;

std::string key_label(const ObjectKey& key) {
  return std::string(policy::to_string(key.first)) + "[" + key.second + "]";
}

std::string category_key(const std::string& kv) { return kv.substr(0, kv.find(':')); }

// What one side's snapshot holds besides policies, and which policies it could not resolve.
struct SideIndex {
  std::map<ObjectKey, const CanonicalObject*> objects;  // groups and category values
  std::set<std::string> category_keys;  // keys whose values are all in the snapshot
  std::map<std::string, std::vector<std::string>> dangling;  // policy -> finding details
  mutable flows::Compiler compiler;  // parses each referenced group once

  explicit SideIndex(const policy::Snapshot& s) : compiler(flows::snapshot_resolver(s)) {
    for (const auto& o : s.objects) {
      if (o.kind == ObjectKind::Policy) continue;
      objects.emplace(ObjectKey{o.kind, o.name}, &o);
      if (o.kind == ObjectKind::Category) category_keys.insert(category_key(o.name));
    }
    for (const auto& f : s.findings) {
      if (f.kind == "dangling_reference") dangling[f.object].push_back(f.detail);
    }
  }
  const CanonicalObject* find(const ObjectKey& key) const {
    auto it = objects.find(key);
    return it == objects.end() ? nullptr : it->second;
  }
  // Whether the snapshot can say that `key` is absent from the site (not merely unused):
  // every value of a referenced category key is in the snapshot; groups only when used.
  bool knows_absent(const ObjectKey& key) const {
    if (key.first == ObjectKind::Category) return category_keys.count(category_key(key.second)) != 0;
    return true;
  }
};

// Every reference a canonical policy makes: groups named by rules, category values anywhere
// ("categories" arrays of the secured group, isolation groups and peers).
void collect_references(const json& j, std::set<ObjectKey>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (k == "categories" && v.is_array()) {
        for (const auto& c : v) {
          if (c.is_string()) out.insert({ObjectKind::Category, c.get<std::string>()});
        }
      } else if (k == "address_group" && v.is_string()) {
        out.insert({ObjectKind::AddressGroup, v.get<std::string>()});
      } else if (k == "service_group" && v.is_string()) {
        out.insert({ObjectKind::ServiceGroup, v.get<std::string>()});
      } else if (k == "entity_group" && v.is_string()) {
        out.insert({ObjectKind::EntityGroup, v.get<std::string>()});
      } else if (k == "entity_groups" && v.is_array()) {
        for (const auto& g : v) {
          if (g.is_string()) out.insert({ObjectKind::EntityGroup, g.get<std::string>()});
        }
      } else {
        collect_references(v, out);
      }
    }
  } else if (j.is_array()) {
    for (const auto& e : j) collect_references(e, out);
  }
}

std::set<ObjectKey> references_of(const json& policy) {
  std::set<ObjectKey> out;
  collect_references(policy, out);
  return out;
}

// collect_references over the flat scanner: most policies are equal on both sides and need
// their references only, and a DOM parse of every policy was most of a 5,000-policy diff.
void collect_references(json_scan::JsonRef j, std::set<ObjectKey>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.members()) {
      if (k.str_equals("categories") && v.is_array()) {
        for (const auto& c : v.elements()) {
          if (c.is_string()) out.insert({ObjectKind::Category, c.str()});
        }
      } else if (k.str_equals("address_group") && v.is_string()) {
        out.insert({ObjectKind::AddressGroup, v.str()});
      } else if (k.str_equals("service_group") && v.is_string()) {
        out.insert({ObjectKind::ServiceGroup, v.str()});
      } else if (k.str_equals("entity_group") && v.is_string()) {
        out.insert({ObjectKind::EntityGroup, v.str()});
      } else if (k.str_equals("entity_groups") && v.is_array()) {
        for (const auto& g : v.elements()) {
          if (g.is_string()) out.insert({ObjectKind::EntityGroup, g.str()});
        }
      } else {
        collect_references(v, out);
      }
    }
  } else if (j.is_array()) {
    for (const auto& e : j.elements()) collect_references(e, out);
  }
}

// references_of(json::parse(text)), without the DOM.
std::set<ObjectKey> references_in(const std::string& text) {
  std::string error;
  try {
    if (const auto doc = json_scan::JsonDoc::parse(text, error)) {
      std::set<ObjectKey> out;
      collect_references(doc->root(), out);
      return out;
    }
  } catch (const json::exception&) {
    // An escape the scanner accepts and nlohmann refuses: let the DOM path decide.
  }
  return references_of(json::parse(text, nullptr, false));
}

// Replica name -> source name of objects a policy refers to under another name on each side.
using Renames = std::map<ObjectKey, std::string>;

// A reference is renamed when, for one policy, exactly one object of a kind (and, for
// categories, of a key) is used only on the source and absent from the replica's site, and
// exactly one is used only on the replica and absent from the source's site: the same slot,
// another name (a category value renamed on the DR site, a group recreated under a new name).
Renames find_renames(const std::set<ObjectKey>& used_src, const std::set<ObjectKey>& used_rep,
                     const SideIndex& src, const SideIndex& rep) {
  // Slot: kind plus, for categories, the key.
  using Slot = std::pair<ObjectKind, std::string>;
  auto slot_of = [](const ObjectKey& k) {
    return Slot{k.first, k.first == ObjectKind::Category ? category_key(k.second) : ""};
  };
  std::map<Slot, std::vector<ObjectKey>> gone, added;
  for (const auto& k : used_src) {
    if (!used_rep.count(k) && rep.knows_absent(k) && !rep.find(k)) gone[slot_of(k)].push_back(k);
  }
  for (const auto& k : used_rep) {
    if (!used_src.count(k) && src.knows_absent(k) && !src.find(k)) added[slot_of(k)].push_back(k);
  }
  Renames renames;
  for (const auto& [slot, from] : gone) {
    auto it = added.find(slot);
    if (from.size() == 1 && it != added.end() && it->second.size() == 1) {
      renames.emplace(it->second.front(), from.front().second);
    }
  }
  return renames;
}

// The replica's policy with renamed references written under the source's names; category
// arrays are re-sorted so that they stay canonical sets.
void apply_renames(json& j, const Renames& renames) {
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      if (k == "categories" && v.is_array()) {
        std::set<std::string> cats;
        for (const auto& c : v) {
          if (!c.is_string()) return;
          auto it = renames.find({ObjectKind::Category, c.get<std::string>()});
          cats.insert(it == renames.end() ? c.get<std::string>() : it->second);
        }
        v = json(cats);
      } else if ((k == "address_group" || k == "service_group") && v.is_string()) {
        const ObjectKind kind =
            k == "address_group" ? ObjectKind::AddressGroup : ObjectKind::ServiceGroup;
        if (auto it = renames.find({kind, v.get<std::string>()}); it != renames.end()) v = it->second;
      } else {
        apply_renames(v, renames);
      }
    }
  } else if (j.is_array()) {
    for (auto& e : j) apply_renames(e, renames);
  }
}

// What a change of a group's member set does: more members on the replica lets more through.
Effect member_effect(const json& src, const json& rep, const char* key) {
  const json empty = json::array();
  const json& a = src.is_object() && src.contains(key) ? src.at(key) : empty;
  const json& b = rep.is_object() && rep.contains(key) ? rep.at(key) : empty;
  std::vector<json> only_src, only_rep;
  set_diff(a, b, only_src, only_rep);
  if (only_src.empty() && only_rep.empty()) return Effect::Cosmetic;  // name or description only
  if (only_src.empty()) return Effect::Permissive;
  if (only_rep.empty()) return Effect::Restrictive;
  return Effect::Both;
}

// Reference drift: an object a policy uses is missing on the replica, renamed there, or has
// other contents there. One item per policy, so it is attributed to every policy using it.
// With `behaviour` (the policy compared by its flows, each side's groups expanded, and no
// `modified` item for it), a group change is judged by what it does: a /24 as two /25s is
// cosmetic, a covering CIDR more permissive. Category values stay "both": which VMs carry a
// value cannot be seen.
// A group with other contents on the replica: more addresses or services is more permissive,
// fewer more restrictive. An entity group selects members we cannot see (VMs by category,
// subnets, VPCs, ...), and it may be a secured group as well as a peer: either way.
Effect changed_group_effect(ObjectKind kind, const CanonicalObject& so, const CanonicalObject& ro) {
  if (kind == ObjectKind::EntityGroup) return Effect::Both;
  const json sj = json::parse(so.json, nullptr, false);
  const json rj = json::parse(ro.json, nullptr, false);
  return member_effect(sj, rj, kind == ObjectKind::AddressGroup ? "addresses" : "services");
}

void compare_references(const CanonicalObject& s, const std::set<ObjectKey>& used_src,
                        const std::set<ObjectKey>& used_rep, const Renames& renames,
                        const SideIndex& src, const SideIndex& rep,
                        const flows::Comparison* behaviour, std::vector<DriftItem>& items) {
  std::map<std::string, ObjectKey> renamed_to;  // source name -> replica key
  for (const auto& [rep_key, src_name] : renames) renamed_to.emplace(src_name, rep_key);
  Comparison cmp;
  std::size_t renamed = 0;
  for (const auto& key : used_src) {
    const CanonicalObject* so = src.find(key);
    if (!so) continue;  // not on the source's own site: a dangling reference, handled before
    if (auto rn = renamed_to.find(key.second); rn != renamed_to.end() && rn->second.first == key.first) {
      const CanonicalObject* ro = rep.find(rn->second);
      const json sj = json::parse(so->json, nullptr, false);
      const json rj = ro ? json::parse(ro->json, nullptr, false) : json();
      Effect e = Effect::Both;  // a category value: which VMs carry it is not ours to see
      if (key.first == ObjectKind::AddressGroup) e = member_effect(sj, rj, "addresses");
      if (key.first == ObjectKind::ServiceGroup) e = member_effect(sj, rj, "services");
      cmp.add({key_label(key) + " renamed " + rn->second.second, so->json, ro ? ro->json : ""}, e);
      ++renamed;
      continue;
    }
    if (!used_rep.count(key)) {
      // The replica's policy does not use it. Absent from the replica's site as well is
      // reference drift; present but unused there is a plain modification of the policy.
      if (key.first == ObjectKind::Category && rep.knows_absent(key) && !rep.find(key)) {
        cmp.add({key_label(key), so->json, ""}, Effect::Both);
      }
      continue;
    }
    const CanonicalObject* ro = rep.find(key);
    if (!ro) {
      // The replica's policy names an object its snapshot lacks: rules using it match
      // nothing there, and nobody can say what that does after failover.
      cmp.add({key_label(key), so->json, ""}, Effect::Both);
      continue;
    }
    if (so->hash == ro->hash) continue;
    cmp.add({key_label(key), so->json, ro->json}, changed_group_effect(key.first, *so, *ro));
  }
  if (!cmp.any) return;
  const auto differing = cmp.fields.size();  // before the example flows (evidence) are added
  std::string examples;
  if (behaviour) {
    // Flows name category sets and entity groups symbolically: a change of what they select
    // is not in the flows, so it counts on its own.
    bool categories_differ = false;
    for (const auto& f : cmp.fields) {
      categories_differ |= f.path.rfind("category[", 0) == 0 || f.path.rfind("entity_group[", 0) == 0;
    }
    cmp.effect = to_effect(behaviour->classification);
    if (categories_differ) cmp.effect = combine(cmp.effect, Effect::Both);
    examples = add_example_flows(*behaviour, cmp.fields);
  }
  DriftItem item;
  item.object = s.name;
  item.kind = DriftKind::Reference;
  item.direction = to_direction(cmp.effect);
  item.severity = severity_of(cmp.effect, s.policy_type);
  item.summary = std::to_string(differing) + " referenced object(s) differ";
  item.fields = std::move(cmp.fields);
  if (renamed != 0) item.summary += " (" + std::to_string(renamed) + " renamed)";
  item.summary += ", replica " + std::string(to_string(item.direction)) + examples;
  items.push_back(std::move(item));
}

// A policy that references something its own site does not have cannot be compared: what
// its rules do is unknowable. One finding per policy, never a crash or a silent skip.
bool compare_dangling(const CanonicalObject& s, const SideIndex& src, const SideIndex& rep,
                      std::vector<DriftItem>& items) {
  auto si = src.dangling.find(s.name);
  auto ri = rep.dangling.find(s.name);
  if (si == src.dangling.end() && ri == rep.dangling.end()) return false;
  DriftItem item;
  item.object = s.name;
  item.kind = DriftKind::DanglingReference;
  if (si != src.dangling.end()) {
    for (const auto& d : si->second) item.fields.push_back({"source", compact(json(d)), ""});
  }
  if (ri != rep.dangling.end()) {
    for (const auto& d : ri->second) item.fields.push_back({"replica", "", compact(json(d))});
  }
  // Broken on the replica: after failover the policy does not do what the source does.
  // Broken only on the source: the source of truth needs fixing; the replica is not at fault.
  item.severity = ri != rep.dangling.end() ? Severity::Critical : Severity::Warning;
  item.direction = ri != rep.dangling.end() ? Direction::Both : Direction::None;
  const auto& first = ri != rep.dangling.end() ? ri->second.front() : si->second.front();
  item.summary = std::string(ri != rep.dangling.end() ? "replica" : "source") +
                 " references what its site lacks: " + first;
  items.push_back(std::move(item));
  return true;
}

// Whether a group the policy uses has other contents (or another name) on the replica.
bool groups_differ(const std::set<ObjectKey>& used, const SideIndex& src, const SideIndex& rep) {
  for (const auto& key : used) {
    if (key.first == ObjectKind::Category) continue;
    const CanonicalObject* so = src.find(key);
    const CanonicalObject* ro = rep.find(key);
    if (so && ro && so->hash != ro->hash) return true;
  }
  return false;
}

std::optional<flows::Comparison> compare_behaviour(const std::string& source_json,
                                                   const std::string& replica_json,
                                                   const SideIndex& src, const SideIndex& rep) {
  auto src_flows = src.compiler.compile(source_json);
  auto rep_flows = rep.compiler.compile(replica_json);
  if (!src_flows || !rep_flows) return std::nullopt;  // judged by text instead
  return flows::compare(*src_flows, *rep_flows);
}

// The referenced objects (groups, category values) that can make a policy with equal text on
// both sides drift: on the source's site and absent from, or other on, the replica's. For a
// policy equal on both sides (no renames; the same references on each side), groups_differ()
// and compare_references() find something only through one of these, so a policy whose text
// names none of them needs no reference scan. Typically empty or a handful, while a pair holds
// thousands of equal policies: scanning each for its references was most of a diff.
struct ChangedReferences {
  std::vector<std::string> needles;  // each object's name as it appears in canonical JSON
  bool usable = true;                // false: every equal policy takes the full path

  ChangedReferences(const SideIndex& src, const SideIndex& rep) {
    for (const auto& [key, so] : src.objects) {
      const CanonicalObject* ro = rep.find(key);
      if (ro && ro->hash == so->hash) continue;
      // Canonical JSON is nlohmann's dump(): a name written as a JSON string. One that needs
      // escaping could be spelt otherwise in some text; too rare to be worth reasoning about.
      std::string needle = json(key.second).dump();
      if (needle.size() != key.second.size() + 2) usable = false;
      needles.push_back(std::move(needle));
    }
    // Past a few, scanning each policy's text for every name costs more than it saves.
    if (needles.size() > 64) usable = false;
  }
  // False only when `text` cannot refer to any changed object.
  bool may_be_used_by(const std::string& text) const {
    if (!usable) return true;
    for (const auto& n : needles) {
      if (text.find(n) != std::string::npos) return true;
    }
    return false;
  }
};

// Everything about one policy present on both sides.
void compare_present(const CanonicalObject& s, const CanonicalObject& r, const SideIndex& src,
                     const SideIndex& rep, const ChangedReferences& changed,
                     std::vector<DriftItem>& items) {
  compare_modes(s, r, items);
  if (compare_dangling(s, src, rep, items)) return;
  // Same text, and none of the objects it could name differs: nothing more can be found.
  if (s.hash == r.hash && !changed.may_be_used_by(s.json)) return;
  const auto used_src = references_in(s.json);
  const auto used_rep = s.hash == r.hash ? used_src : references_in(r.json);
  Renames renames;
  std::optional<flows::Comparison> behaviour;
  bool modified = false;
  if (s.hash != r.hash) {
    const json sp = json::parse(s.json, nullptr, false);
    json rp = json::parse(r.json, nullptr, false);
    renames = find_renames(used_src, used_rep, src, rep);
    // Behaviour: the replica's groups resolve on its own site under their own names; only
    // renamed category values (symbolic peers) are translated.
    std::string replica_for_flows = r.json;
    Renames category_renames;
    for (const auto& [key, to] : renames) {
      if (key.first == ObjectKind::Category) category_renames.emplace(key, to);
    }
    if (!category_renames.empty()) {
      json translated = json::parse(r.json, nullptr, false);
      apply_renames(translated, category_renames);
      replica_for_flows = translated.dump();
    }
    behaviour = compare_behaviour(s.json, replica_for_flows, src, rep);
    if (!renames.empty()) apply_renames(rp, renames);
    const auto before = items.size();
    compare_policies(s, r, sp, rp, behaviour ? &*behaviour : nullptr, items);
    modified = items.size() != before;
  } else if (groups_differ(used_src, src, rep)) {
    behaviour = compare_behaviour(s.json, r.json, src, rep);
  }
  // Behaviour judges the references only when no `modified` item already carries it.
  compare_references(s, used_src, used_rep, renames, src, rep,
                     behaviour && !modified ? &*behaviour : nullptr, items);
}

std::map<std::string, const CanonicalObject*> policies_by_name(const policy::Snapshot& s) {
  std::map<std::string, const CanonicalObject*> out;
  for (const auto& o : s.objects) {
    if (o.kind == ObjectKind::Policy) out.emplace(o.name, &o);
  }
  return out;
}

}  // namespace

std::string_view to_string(DriftKind k) {
  switch (k) {
    case DriftKind::Missing: return "missing";
    case DriftKind::Extra: return "extra";
    case DriftKind::EnforcementMode: return "enforcement_mode";
    case DriftKind::Modified: return "modified";
    case DriftKind::Reference: return "reference";
    case DriftKind::DanglingReference: return "dangling_reference";
  }
  return "modified";
}

std::string_view to_string(Severity s) {
  switch (s) {
    case Severity::Info: return "info";
    case Severity::Warning: return "warning";
    case Severity::Critical: return "critical";
  }
  return "critical";
}

std::string_view to_string(Direction d) {
  switch (d) {
    case Direction::None: return "none";
    case Direction::MorePermissive: return "more_permissive";
    case Direction::MoreRestrictive: return "more_restrictive";
    case Direction::Both: return "both";
    case Direction::Cosmetic: return "cosmetic";
    case Direction::Unknown: return "unknown";
  }
  return "none";
}

std::string_view to_string(PairStatus s) {
  switch (s) {
    case PairStatus::InSync: return "IN_SYNC";
    case PairStatus::Drifted: return "DRIFTED";
    case PairStatus::Unknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}

std::optional<DriftKind> parse_kind(std::string_view s) {
  for (auto k : kAllKinds) {
    if (to_string(k) == s) return k;
  }
  return std::nullopt;
}

std::optional<Severity> parse_severity(std::string_view s) {
  for (auto v : kAllSeverities) {
    if (to_string(v) == s) return v;
  }
  return std::nullopt;
}

PairResult diff_snapshots(const policy::Snapshot& source, const policy::Snapshot& replica) {
  PairResult result;
  const auto src = policies_by_name(source);
  const auto rep = policies_by_name(replica);
  const SideIndex src_index(source);
  const SideIndex rep_index(replica);
  const ChangedReferences changed(src_index, rep_index);
  for (const auto& [name, s] : src) {
    auto it = rep.find(name);
    if (it == rep.end()) {
      DriftItem item;
      item.object = name;
      item.kind = DriftKind::Missing;
      item.severity = (mode_rank(s->mode) == 2 || is_incident_policy(s->policy_type))
                          ? Severity::Critical
                          : Severity::Warning;
      item.direction = Direction::MorePermissive;
      item.summary = s->policy_type + " policy (" + s->mode + ") absent on replica";
      result.items.push_back(std::move(item));
      continue;
    }
    compare_present(*s, *it->second, src_index, rep_index, changed, result.items);
  }
  for (const auto& [name, r] : rep) {
    if (src.count(name)) continue;
    DriftItem item;
    item.object = name;
    item.kind = DriftKind::Extra;
    item.severity = mode_rank(r->mode) == 2 ? Severity::Warning : Severity::Info;
    item.direction = Direction::None;
    item.summary = r->policy_type + " policy (" + r->mode + ") only on replica";
    result.items.push_back(std::move(item));
  }
  std::sort(result.items.begin(), result.items.end(), [](const DriftItem& a, const DriftItem& b) {
    return std::tie(a.object, a.kind) < std::tie(b.object, b.kind);
  });
  result.status = result.items.empty() ? PairStatus::InSync : PairStatus::Drifted;
  return result;
}

PairResult diff_snapshots(const policy::Snapshot& source, const policy::Snapshot& replica,
                          const PairMapping& mapping) {
  if (mapping.empty()) return diff_snapshots(source, replica);
  return diff_snapshots(source, translate_replica(replica, source, mapping));
}

std::set<std::pair<policy::ObjectKind, std::string>> policy_references(
    const std::string& canonical_json) {
  return references_in(canonical_json);
}

PairResult unknown_result(std::string reason) {
  PairResult r;
  r.status = PairStatus::Unknown;
  r.unknown_reason = std::move(reason);
  return r;
}

}  // namespace flowdrift::diff
