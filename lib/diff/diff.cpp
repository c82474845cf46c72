#include "diff/diff.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

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

// One side's change, classified by what it does to allowed traffic.
enum class Effect { Cosmetic, Permissive, Restrictive, Both };

Effect combine(Effect a, Effect b) {
  if (a == b) return a;
  if (a == Effect::Cosmetic) return b;
  if (b == Effect::Cosmetic) return a;
  return Effect::Both;
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
      out.add({"rules[- " + key + "]", compact(rule), ""}, Effect::Restrictive);
    }
  }
  for (const auto& [key, rule] : rep_stripped) {
    if (!src_stripped.count(key)) out.add({"rules[+ " + key + "]", "", compact(rule)}, Effect::Permissive);
  }
}

Direction to_direction(Effect e) {
  switch (e) {
    case Effect::Cosmetic: return Direction::Cosmetic;
    case Effect::Permissive: return Direction::MorePermissive;
    case Effect::Restrictive: return Direction::MoreRestrictive;
    case Effect::Both: return Direction::Both;
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
  }
  return Severity::Critical;
}

void compare_policies(const CanonicalObject& s, const CanonicalObject& r,
                      std::vector<DriftItem>& items) {
  const json src = json::parse(s.json, nullptr, false);
  const json rep = json::parse(r.json, nullptr, false);
  const int src_rank = mode_rank(s.mode);
  const int rep_rank = mode_rank(r.mode);
  if (rep_rank < src_rank) {
    DriftItem item;
    item.object = s.name;
    item.kind = DriftKind::EnforcementMode;
    item.severity = Severity::Critical;
    item.direction = Direction::MorePermissive;
    item.fields.push_back({"mode", compact(json(s.mode)), compact(json(r.mode))});
    item.summary = "mode " + s.mode + " on source, " + r.mode + " on replica";
    items.push_back(std::move(item));
  }

  Comparison cmp;
  if (!src.is_object() || !rep.is_object()) {
    cmp.add({"", s.json, r.json}, Effect::Both);
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
      }
      cmp.add({k, sv.is_null() ? "" : compact(sv), rv.is_null() ? "" : compact(rv)}, e);
    }
  }
  if (!cmp.any) return;
  DriftItem item;
  item.object = s.name;
  item.kind = DriftKind::Modified;
  item.direction = to_direction(cmp.effect);
  item.severity = severity_of(cmp.effect, s.policy_type);
  item.fields = std::move(cmp.fields);
  item.summary = std::to_string(item.fields.size()) + " field(s) differ, replica " +
                 std::string(to_string(item.direction));
  items.push_back(std::move(item));
}

using ObjectKey = std::pair<ObjectKind, std::string>;

std::map<ObjectKey, const CanonicalObject*> referenced_by_key(const policy::Snapshot& s) {
  std::map<ObjectKey, const CanonicalObject*> out;
  for (const auto& o : s.objects) {
    if (o.kind != ObjectKind::Policy) out.emplace(ObjectKey{o.kind, o.name}, &o);
  }
  return out;
}

// The address groups and service groups a canonical policy's rules name.
std::set<ObjectKey> group_references(const json& policy) {
  std::set<ObjectKey> out;
  if (!policy.is_object() || !policy.contains("rules") || !policy.at("rules").is_array()) return out;
  for (const auto& rule : policy.at("rules")) {
    if (!rule.is_object()) continue;
    if (auto p = rule.find("peer"); p != rule.end() && p->is_object()) {
      if (auto ag = p->find("address_group"); ag != p->end() && ag->is_string()) {
        out.insert({ObjectKind::AddressGroup, ag->get<std::string>()});
      }
    }
    if (auto sv = rule.find("service"); sv != rule.end() && sv->is_object()) {
      if (auto sg = sv->find("service_group"); sg != sv->end() && sg->is_string()) {
        out.insert({ObjectKind::ServiceGroup, sg->get<std::string>()});
      }
    }
  }
  return out;
}

// What a change of a group's member set does: more members on the replica lets more through.
Effect member_effect(const json& src, const json& rep, const char* key) {
  const json empty = json::array();
  const json& a = src.is_object() && src.contains(key) ? src.at(key) : empty;
  const json& b = rep.is_object() && rep.contains(key) ? rep.at(key) : empty;
  std::vector<json> only_src, only_rep;
  set_diff(a, b, only_src, only_rep);
  if (only_src.empty() && only_rep.empty()) return Effect::Cosmetic;  // description only
  if (only_src.empty()) return Effect::Permissive;
  if (only_rep.empty()) return Effect::Restrictive;
  return Effect::Both;
}

// Reference drift: a group a policy uses is missing on the replica or has other contents
// there. One item per policy, attributed to every policy that uses the group.
void compare_references(const CanonicalObject& s, const CanonicalObject& r,
                        const std::map<ObjectKey, const CanonicalObject*>& src_refs,
                        const std::map<ObjectKey, const CanonicalObject*>& rep_refs,
                        std::vector<DriftItem>& items) {
  const json sp = json::parse(s.json, nullptr, false);
  const json rp = json::parse(r.json, nullptr, false);
  const auto used = group_references(sp);
  const auto used_on_replica = group_references(rp);
  Comparison cmp;
  for (const auto& key : used) {
    if (!used_on_replica.count(key)) continue;  // the rule itself changed: a modification
    auto si = src_refs.find(key);
    if (si == src_refs.end()) continue;  // dangling on the source: a finding, not drift
    const std::string label = std::string(policy::to_string(key.first)) + "[" + key.second + "]";
    auto ri = rep_refs.find(key);
    if (ri == rep_refs.end()) {
      // The replica's policy names a group its site does not have: rules using it match
      // nothing there, and nobody can say what that does after failover.
      cmp.add({label, si->second->json, ""}, Effect::Both);
      continue;
    }
    if (si->second->hash == ri->second->hash) continue;
    const json sj = json::parse(si->second->json, nullptr, false);
    const json rj = json::parse(ri->second->json, nullptr, false);
    const char* members = key.first == ObjectKind::AddressGroup ? "addresses" : "services";
    cmp.add({label, si->second->json, ri->second->json}, member_effect(sj, rj, members));
  }
  if (!cmp.any) return;
  DriftItem item;
  item.object = s.name;
  item.kind = DriftKind::Reference;
  item.direction = to_direction(cmp.effect);
  item.severity = severity_of(cmp.effect, s.policy_type);
  item.fields = std::move(cmp.fields);
  item.summary = std::to_string(item.fields.size()) + " referenced group(s) differ, replica " +
                 std::string(to_string(item.direction));
  items.push_back(std::move(item));
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
  const auto src_refs = referenced_by_key(source);
  const auto rep_refs = referenced_by_key(replica);
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
    if (s->hash != it->second->hash) compare_policies(*s, *it->second, result.items);
    compare_references(*s, *it->second, src_refs, rep_refs, result.items);
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

PairResult unknown_result(std::string reason) {
  PairResult r;
  r.status = PairStatus::Unknown;
  r.unknown_reason = std::move(reason);
  return r;
}

}  // namespace flowdrift::diff
