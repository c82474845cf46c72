#include "diff/diff.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string.h>  // memmem (GNU; g++ defines _GNU_SOURCE)

#include <nlohmann/json.hpp>

#include "core/json_scan.hpp"
#include "flows/flows.hpp"

namespace flowdrift::diff {
namespace {

using json_scan::JsonRef;
using policy::CanonicalObject;
using policy::ObjectKey;
using policy::ObjectKind;
using policy::ObjectView;
using policy::References;
using policy::SnapshotView;
using MaybeRef = std::optional<JsonRef>;

int mode_rank(std::string_view mode) {
  if (mode == "enforce") return 2;
  if (mode == "monitor") return 1;
  return 0;  // save / unknown: enforces nothing
}

bool is_incident_policy(std::string_view type) {
  // Quarantine and isolation policies are what people rely on in an incident.
  return type == "quarantine" || type == "isolation";
}

std::string as_json(std::string_view s) { return policy::json_string(s); }

// Canonical JSON is compact with sorted keys, so a value's text is its canonical text and two
// values are equal exactly when their texts are. Absent and null are the same to the diff: "".
std::string text_of(const MaybeRef& v) {
  if (!v || v->type() == JsonRef::Type::Null) return "";
  return std::string(v->text());
}

std::vector<JsonRef> elements_of(const MaybeRef& v) { return v ? v->elements() : std::vector<JsonRef>{}; }

MaybeRef member(const MaybeRef& object, std::string_view key) {
  return object ? object->find(key) : std::nullopt;
}

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
bool is_flow_rule(JsonRef rule) {
  if (!rule.is_object()) return false;
  for (const auto& [k, v] : rule.members()) {
    if (!flows::reads_rule_member(k.str())) return false;
  }
  const auto direction = rule.find("direction");
  return direction && (direction->str_equals("inbound") || direction->str_equals("outbound"));
}

// A rule's canonical text without its description.
std::string without_description(JsonRef rule) {
  if (!rule.is_object()) return std::string(rule.text());
  std::string out = "{";
  for (const auto& [k, v] : rule.members()) {
    if (k.str_equals("description")) continue;
    if (out.size() > 1) out += ',';
    out.append(k.text()).append(":").append(v.text());
  }
  return out + "}";
}

std::string description_of(JsonRef rule) {
  const auto d = rule.find("description");
  return d ? std::string(d->text()) : as_json("");
}

// Set difference of two canonical arrays (sorted sets) by value.
void set_diff(const std::vector<JsonRef>& a, const std::vector<JsonRef>& b,
              std::vector<JsonRef>& only_a, std::vector<JsonRef>& only_b) {
  std::set<std::string_view> sa, sb;
  for (const auto& e : a) sa.insert(e.text());
  for (const auto& e : b) sb.insert(e.text());
  for (const auto& e : a) {
    if (!sb.count(e.text())) only_a.push_back(e);
  }
  for (const auto& e : b) {
    if (!sa.count(e.text())) only_b.push_back(e);
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

Effect bool_effect(const MaybeRef& src, const MaybeRef& rep) {
  // allow_ipv6 true on the replica only: it lets more through.
  const bool s = src && src->is_true();
  const bool r = rep && rep->is_true();
  if (s == r) return Effect::Cosmetic;
  return r ? Effect::Permissive : Effect::Restrictive;
}

Effect intra_effect(const MaybeRef& src, const MaybeRef& rep) {
  const bool s = src && src->str_equals("allow");
  const bool r = rep && rep->str_equals("allow");
  if (s == r) return Effect::Both;  // other values changed: cannot tell
  return r ? Effect::Permissive : Effect::Restrictive;
}

void compare_rules(const MaybeRef& src, const MaybeRef& rep, Comparison& out) {
  std::vector<JsonRef> only_src, only_rep;
  set_diff(elements_of(src), elements_of(rep), only_src, only_rep);
  if (only_src.empty() && only_rep.empty()) return;
  // Rules that differ only in their description are cosmetic.
  std::map<std::string, JsonRef> src_stripped, rep_stripped;
  for (const auto& r : only_src) src_stripped.emplace(without_description(r), r);
  for (const auto& r : only_rep) rep_stripped.emplace(without_description(r), r);
  for (const auto& [key, rule] : src_stripped) {
    if (auto it = rep_stripped.find(key); it != rep_stripped.end()) {
      out.add({"rules[" + key + "].description", description_of(rule), description_of(it->second)},
              Effect::Cosmetic);
    } else {
      out.add({"rules[- " + key + "]", std::string(rule.text()), ""},
              is_flow_rule(rule) ? Effect::Restrictive : Effect::Unknown);
    }
  }
  for (const auto& [key, rule] : rep_stripped) {
    if (!src_stripped.count(key)) {
      out.add({"rules[+ " + key + "]", "", std::string(rule.text())},
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
  item.policy_type = s.policy_type;
  item.policy_mode = s.mode;
  item.severity = Severity::Critical;
  item.direction = Direction::MorePermissive;
  item.fields.push_back({"mode", as_json(s.mode), as_json(r.mode)});
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

// A string field's value as written in canonical JSON, unquoted.
std::string unquoted(const std::string& json_text) {
  try {
    const auto v = nlohmann::json::parse(json_text);
    if (v.is_string()) return v.get<std::string>();
  } catch (const nlohmann::json::exception&) {
  }
  return json_text;
}

// The example flows among `fields`, as the item's summary tells them.
std::string examples_text(const std::vector<FieldDiff>& fields) {
  std::string summary;
  for (const auto& f : fields) {
    if (f.path == "flows[replica only]") {
      summary += "; replica allows " + unquoted(f.replica) + ", source does not";
    } else if (f.path == "flows[source only]") {
      summary += "; source allows " + unquoted(f.source) + ", replica does not";
    }
  }
  return summary;
}

// One concrete flow per direction, the evidence on-call acts on: appended to `fields`;
// returns the text for the item's summary.
std::string add_example_flows(const flows::Comparison& behaviour, std::vector<FieldDiff>& fields) {
  const auto first = fields.size();
  if (!behaviour.replica_example_text.empty()) {
    fields.push_back({"flows[replica only]", "", as_json(behaviour.replica_example_text)});
  }
  if (!behaviour.source_example_text.empty()) {
    fields.push_back({"flows[source only]", as_json(behaviour.source_example_text), ""});
  }
  return examples_text({fields.begin() + static_cast<std::ptrdiff_t>(first), fields.end()});
}

// What a differing member other than the mode and the rules does to allowed traffic.
Effect member_change_effect(const std::string& k, const MaybeRef& sv, const MaybeRef& rv) {
  if (k == "description" || k == "hitlog" || k == "name") return Effect::Cosmetic;
  if (k == "allow_ipv6") return bool_effect(sv, rv);
  if (k == "intra_group") return intra_effect(sv, rv);
  // A member whose allowed-flow meaning the model cannot establish.
  if (!flows::reads_policy_member(k)) return Effect::Unknown;
  return Effect::Both;
}

std::map<std::string, JsonRef> members_by_key(JsonRef object) {
  std::map<std::string, JsonRef> out;
  for (const auto& [k, v] : object.members()) out.emplace(k.str(), v);
  return out;
}

// One differing member of a policy, added to `cmp`. With `judged_by_flows`, a flow field is
// listed as evidence only: what it does is the behaviour's verdict.
void compare_member(const std::string& k, const MaybeRef& sv, const MaybeRef& rv,
                    bool judged_by_flows, int src_rank, int rep_rank, Comparison& cmp) {
  if (k == "mode") {
    // A weaker mode is its own enforcement_mode item.
    if (rep_rank > src_rank) {
      cmp.add({"mode", sv ? std::string(sv->text()) : "null", rv ? std::string(rv->text()) : "null"},
              Effect::Restrictive);
    }
    return;
  }
  if (k == "rules") {
    if (!judged_by_flows) return compare_rules(sv, rv, cmp);
    Comparison text;
    compare_rules(sv, rv, text);
    for (auto& f : text.fields) cmp.add(std::move(f), Effect::Cosmetic);
    return;
  }
  const Effect e = judged_by_flows && is_flow_field(k) ? Effect::Cosmetic
                                                       : member_change_effect(k, sv, rv);
  cmp.add({k, text_of(sv), text_of(rv)}, e);
}

// `src` and `rep` are the parsed policies, the replica's with renamed references already
// translated to the source's names (so a rename alone is not a modification). With
// `behaviour`, the flow fields are judged by the flows they allow, not by their text: split
// port ranges, duplicates or a group versus the same ports inline are cosmetic.
void compare_policies(const ObjectView& s_view, const ObjectView& r_view, const MaybeRef& src,
                      const MaybeRef& rep, const flows::Comparison* behaviour,
                      std::vector<DriftItem>& items) {
  const CanonicalObject& s = s_view.object();
  const CanonicalObject& r = r_view.object();
  Comparison cmp;
  if (!src || !rep || !src->is_object() || !rep->is_object()) {
    const std::string_view st = src ? src->text() : std::string_view(s_view.json());
    const std::string_view rt = rep ? rep->text() : std::string_view(r_view.json());
    if (st != rt) cmp.add({"", s_view.json(), r_view.json()}, Effect::Both);
  } else {
    const auto src_members = members_by_key(*src);
    const auto rep_members = members_by_key(*rep);
    std::set<std::string> keys;
    for (const auto& m : src_members) keys.insert(m.first);
    for (const auto& m : rep_members) keys.insert(m.first);
    auto lookup = [](const std::map<std::string, JsonRef>& members, const std::string& k) {
      auto it = members.find(k);
      return it == members.end() ? MaybeRef() : MaybeRef(it->second);
    };
    for (const auto& k : keys) {
      const MaybeRef sv = lookup(src_members, k);
      const MaybeRef rv = lookup(rep_members, k);
      if (text_of(sv) == text_of(rv)) continue;
      compare_member(k, sv, rv, behaviour != nullptr, mode_rank(s.mode), mode_rank(r.mode), cmp);
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
  item.policy_type = s.policy_type;
  item.policy_mode = s.mode;
  item.direction = to_direction(cmp.effect);
  item.severity = severity_of(cmp.effect, s.policy_type);
  item.fields = std::move(cmp.fields);
  item.summary = std::to_string(differing) + " field(s) differ, replica " +
                 std::string(to_string(item.direction)) + examples;
  items.push_back(std::move(item));
}

std::string key_label(const ObjectKey& key) {
  return std::string(policy::to_string(key.first)) + "[" + key.second + "]";
}

// One side of the comparison: its snapshot's view and a flow compiler over it, which expands
// each referenced group once.
struct Side {
  const SnapshotView& view;
  mutable flows::Compiler compiler;
  explicit Side(const SnapshotView& v) : view(v), compiler(flows::view_resolver(v)) {}
};

// Replica name -> source name of objects a policy refers to under another name on each side.
using Renames = std::map<ObjectKey, std::string>;

// A reference is renamed when, for one policy, exactly one object of a kind (and, for
// categories, of a key) is used only on the source and absent from the replica's site, and
// exactly one is used only on the replica and absent from the source's site: the same slot,
// another name (a category value renamed on the DR site, a group recreated under a new name).
Renames find_renames(const References& used_src, const References& used_rep,
                     const SnapshotView& src, const SnapshotView& rep) {
  // Slot: kind plus, for categories, the key.
  using Slot = std::pair<ObjectKind, std::string>;
  auto slot_of = [](const ObjectKey& k) {
    return Slot{k.first,
                k.first == ObjectKind::Category ? std::string(policy::category_key(k.second)) : ""};
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

std::optional<std::string> renamed_categories(JsonRef list, const Renames& renames) {
  std::set<std::string> categories;  // re-sorted, so that they stay a canonical set
  for (const auto& c : list) {
    if (!c.is_string()) return std::nullopt;
    auto it = renames.find({ObjectKind::Category, c.str()});
    categories.insert(it == renames.end() ? c.str() : it->second);
  }
  return nlohmann::json(categories).dump();
}

// The replica's policy text with renamed references written under the source's names.
std::string renamed(JsonRef policy, const Renames& renames) {
  return policy::rewritten(policy, [&](std::string_view key, JsonRef v) -> std::optional<std::string> {
    if (key == "categories" && v.is_array()) return renamed_categories(v, renames);
    if ((key != "address_group" && key != "service_group") || !v.is_string()) return std::nullopt;
    const ObjectKind kind = key == "address_group" ? ObjectKind::AddressGroup : ObjectKind::ServiceGroup;
    auto it = renames.find({kind, v.str()});
    if (it == renames.end()) return std::nullopt;
    return as_json(it->second);
  });
}

// What a change of a group's member set does: more members on the replica lets more through.
Effect member_effect(const MaybeRef& src, const MaybeRef& rep, const char* key) {
  std::vector<JsonRef> only_src, only_rep;
  set_diff(elements_of(member(src, key)), elements_of(member(rep, key)), only_src, only_rep);
  if (only_src.empty() && only_rep.empty()) return Effect::Cosmetic;  // name or description only
  if (only_src.empty()) return Effect::Permissive;
  if (only_rep.empty()) return Effect::Restrictive;
  return Effect::Both;
}

// A group with other contents (or another name) on the replica: more addresses or services is
// more permissive, fewer more restrictive. A category value is "both": which VMs carry it
// cannot be seen. An entity group selects members we cannot see (VMs by category, subnets,
// VPCs, ...), and it may be a secured group as well as a peer: either way.
Effect changed_group_effect(ObjectKind kind, const ObjectView& so, const ObjectView* ro) {
  const MaybeRef rep = ro ? ro->root() : std::nullopt;
  if (kind == ObjectKind::AddressGroup) return member_effect(so.root(), rep, "addresses");
  if (kind == ObjectKind::ServiceGroup) return member_effect(so.root(), rep, "services");
  return Effect::Both;
}

// Flows name category sets and entity groups symbolically: a change of what they select is
// not in the flows, so it counts on its own.
bool symbolic_reference_differs(const std::vector<FieldDiff>& fields) {
  for (const auto& f : fields) {
    if (f.path.rfind("category[", 0) == 0 || f.path.rfind("entity_group[", 0) == 0) return true;
  }
  return false;
}

// How one object the source's policy uses differs on the replica, if it does.
void compare_reference(const ObjectKey& key, const ObjectView& so, const References& used_rep,
                       const std::map<std::string, ObjectKey>& renamed_to, const SnapshotView& rep,
                       Comparison& cmp, std::size_t& renamed) {
  if (auto rn = renamed_to.find(key.second); rn != renamed_to.end() && rn->second.first == key.first) {
    const ObjectView* ro = rep.find(rn->second);
    cmp.add({key_label(key) + " renamed " + rn->second.second, so.json(), ro ? ro->json() : ""},
            changed_group_effect(key.first, so, ro));
    ++renamed;
    return;
  }
  if (!used_rep.count(key)) {
    // The replica's policy does not use it. Absent from the replica's site as well is
    // reference drift; present but unused there is a plain modification of the policy.
    if (key.first == ObjectKind::Category && rep.knows_absent(key) && !rep.find(key)) {
      cmp.add({key_label(key), so.json(), ""}, Effect::Both);
    }
    return;
  }
  const ObjectView* ro = rep.find(key);
  if (!ro) {
    // The replica's policy names an object its snapshot lacks: rules using it match
    // nothing there, and nobody can say what that does after failover.
    cmp.add({key_label(key), so.json(), ""}, Effect::Both);
    return;
  }
  if (so.hash() == ro->hash()) return;
  cmp.add({key_label(key), so.json(), ro->json()}, changed_group_effect(key.first, so, ro));
}

// Reference drift: an object a policy uses is missing on the replica, renamed there, or has
// other contents there. One item per policy, so it is attributed to every policy using it.
// With `behaviour` (the policy compared by its flows, each side's groups expanded, and no
// `modified` item for it), a group change is judged by what it does: a /24 as two /25s is
// cosmetic, a covering CIDR more permissive.
void compare_references(const CanonicalObject& s, const References& used_src,
                        const References& used_rep, const Renames& renames,
                        const SnapshotView& src, const SnapshotView& rep,
                        const flows::Comparison* behaviour, std::vector<DriftItem>& items) {
  std::map<std::string, ObjectKey> renamed_to;  // source name -> replica key
  for (const auto& [rep_key, src_name] : renames) renamed_to.emplace(src_name, rep_key);
  Comparison cmp;
  std::size_t renamed = 0;
  for (const auto& key : used_src) {
    // Not on the source's own site: a dangling reference, handled before.
    if (const ObjectView* so = src.find(key)) {
      compare_reference(key, *so, used_rep, renamed_to, rep, cmp, renamed);
    }
  }
  if (!cmp.any) return;
  const auto differing = cmp.fields.size();  // before the example flows (evidence) are added
  std::string examples;
  if (behaviour) {
    cmp.effect = to_effect(behaviour->classification);
    if (symbolic_reference_differs(cmp.fields)) cmp.effect = combine(cmp.effect, Effect::Both);
    examples = add_example_flows(*behaviour, cmp.fields);
  }
  DriftItem item;
  item.object = s.name;
  item.kind = DriftKind::Reference;
  item.policy_type = s.policy_type;
  item.policy_mode = s.mode;
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
bool compare_dangling(const std::string& name, const SnapshotView& src, const SnapshotView& rep,
                      std::vector<DriftItem>& items) {
  const auto* on_src = src.dangling(name);
  const auto* on_rep = rep.dangling(name);
  if (!on_src && !on_rep) return false;
  DriftItem item;
  item.object = name;
  item.kind = DriftKind::DanglingReference;
  if (on_src) {
    for (const auto& d : *on_src) item.fields.push_back({"source", as_json(d), ""});
  }
  if (on_rep) {
    for (const auto& d : *on_rep) item.fields.push_back({"replica", "", as_json(d)});
  }
  // Broken on the replica: after failover the policy does not do what the source does.
  // Broken only on the source: the source of truth needs fixing; the replica is not at fault.
  item.severity = on_rep ? Severity::Critical : Severity::Warning;
  item.direction = on_rep ? Direction::Both : Direction::None;
  const std::string_view first = (on_rep ? *on_rep : *on_src).front();
  item.summary = std::string(on_rep ? "replica" : "source") +
                 " references what its site lacks: " + std::string(first);
  items.push_back(std::move(item));
  return true;
}

// Whether a group the policy uses has other contents (or another name) on the replica.
bool groups_differ(const References& used, const SnapshotView& src, const SnapshotView& rep) {
  for (const auto& key : used) {
    if (key.first == ObjectKind::Category) continue;
    const ObjectView* so = src.find(key);
    const ObjectView* ro = rep.find(key);
    if (so && ro && so->hash() != ro->hash()) return true;
  }
  return false;
}

// The policy compared by the flows each side allows, or nullopt when a side does not compile
// (judged by text instead). The replica's groups resolve on its own site under their own
// names; only renamed category values (symbolic peers) are translated.
std::optional<flows::Comparison> compare_behaviour(const ObjectView& s, const ObjectView& r,
                                                   const Renames& renames, const Side& src,
                                                   const Side& rep) {
  Renames category_renames;
  for (const auto& [key, to] : renames) {
    if (key.first == ObjectKind::Category) category_renames.emplace(key, to);
  }
  auto src_flows = src.compiler.compile(s);
  const auto r_root = r.root();
  auto rep_flows = category_renames.empty() || !r_root
                       ? rep.compiler.compile(r)
                       : rep.compiler.compile(renamed(*r_root, category_renames));
  if (!src_flows || !rep_flows) return std::nullopt;
  return flows::compare(*src_flows, *rep_flows);
}

// A policy whose text differs: the `modified` item, if any field differs once renamed
// references are written under the source's names. Returns whether it added one.
bool compare_modified(const ObjectView& s, const ObjectView& r, const Renames& renames,
                      const flows::Comparison* behaviour, std::vector<DriftItem>& items) {
  const auto before = items.size();
  const MaybeRef r_root = r.root();
  if (renames.empty() || !r_root) {
    compare_policies(s, r, s.root(), r_root, behaviour, items);
    return items.size() != before;
  }
  const std::string text = renamed(*r_root, renames);
  std::string error;
  const auto doc = json_scan::JsonDoc::parse(text, error);
  const MaybeRef rep = doc ? MaybeRef(doc->root()) : std::nullopt;
  compare_policies(s, r, s.root(), rep, behaviour, items);
  return items.size() != before;
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

  ChangedReferences(const SnapshotView& src, const SnapshotView& rep) {
    for (const auto& [key, so] : src.referenced()) {
      const ObjectView* ro = rep.find(key);
      if (ro && ro->hash() == so.hash()) continue;
      // Canonical JSON is nlohmann's dump(): a name written as a JSON string. One that needs
      // escaping could be spelt otherwise in some text; too rare to be worth reasoning about.
      std::string needle = as_json(key.second);
      if (needle.size() != key.second.size() + 2) usable = false;
      needles.push_back(std::move(needle));
    }
    // Past a few, scanning each policy's text for every name costs more than it saves.
    if (needles.size() > 64) usable = false;
  }
  // False only when `text` cannot refer to any changed object.
  bool may_be_used_by(const std::string& text) const {
    if (!usable) return true;
    // memmem, not std::string::find: find stops at every byte equal to the needle's first, and
    // that is a quote, every few bytes of JSON. This scan reads every equal policy of a pair
    // whose referenced objects changed: 16 MB at 5,000 policies.
    for (const auto& n : needles) {
      if (memmem(text.data(), text.size(), n.data(), n.size()) != nullptr) return true;
    }
    return false;
  }
};

// Everything about one policy present on both sides.
void compare_present(const ObjectView& s, const ObjectView& r, const Side& src, const Side& rep,
                     const ChangedReferences& changed, std::vector<DriftItem>& items) {
  compare_modes(s.object(), r.object(), items);
  if (compare_dangling(s.name(), src.view, rep.view, items)) return;
  const bool same_text = s.hash() == r.hash();
  // Same text, and none of the objects it could name differs: nothing more can be found.
  if (same_text && !changed.may_be_used_by(s.json())) return;
  const References& used_src = s.references();
  const References& used_rep = same_text ? used_src : r.references();
  Renames renames;
  std::optional<flows::Comparison> behaviour;
  bool modified = false;
  if (!same_text) {
    renames = find_renames(used_src, used_rep, src.view, rep.view);
    behaviour = compare_behaviour(s, r, renames, src, rep);
    modified = compare_modified(s, r, renames, behaviour ? &*behaviour : nullptr, items);
  } else if (groups_differ(used_src, src.view, rep.view)) {
    behaviour = compare_behaviour(s, r, {}, src, rep);
  }
  // Behaviour judges the references only when no `modified` item already carries it.
  compare_references(s.object(), used_src, used_rep, renames, src.view, rep.view,
                     behaviour && !modified ? &*behaviour : nullptr, items);
}

DriftItem missing_item(const std::string& name, const std::string& type, const std::string& mode) {
  DriftItem item;
  item.object = name;
  item.kind = DriftKind::Missing;
  item.policy_type = type;
  item.policy_mode = mode;
  item.severity = (mode_rank(mode) == 2 || is_incident_policy(type)) ? Severity::Critical
                                                                     : Severity::Warning;
  item.direction = Direction::MorePermissive;
  item.summary = type + " policy (" + mode + ") absent on replica";
  return item;
}

DriftItem extra_item(const std::string& name, const std::string& type, const std::string& mode) {
  DriftItem item;
  item.object = name;
  item.kind = DriftKind::Extra;
  item.policy_type = type;
  item.policy_mode = mode;
  item.severity = mode_rank(mode) == 2 ? Severity::Warning : Severity::Info;
  item.direction = Direction::None;
  item.summary = type + " policy (" + mode + ") only on replica";
  return item;
}

// --- Seen from the other side (flipped()) ---

Direction inverted(Direction d) {
  if (d == Direction::MorePermissive) return Direction::MoreRestrictive;
  if (d == Direction::MoreRestrictive) return Direction::MorePermissive;
  return d;
}

Effect effect_of(Direction d) {
  switch (d) {
    case Direction::Cosmetic: return Effect::Cosmetic;
    case Direction::MorePermissive: return Effect::Permissive;
    case Direction::MoreRestrictive: return Effect::Restrictive;
    case Direction::Unknown: return Effect::Unknown;
    case Direction::None:
    case Direction::Both: return Effect::Both;
  }
  return Effect::Both;
}

std::string flipped_path(const std::string& path) {
  if (path == "source") return "replica";  // dangling_reference sides
  if (path == "replica") return "source";
  if (path == "flows[replica only]") return "flows[source only]";
  if (path == "flows[source only]") return "flows[replica only]";
  if (path.rfind("rules[+ ", 0) == 0) return "rules[- " + path.substr(8);
  if (path.rfind("rules[- ", 0) == 0) return "rules[+ " + path.substr(8);
  return path;
}

// A missing item is an extra one seen from the other side, and the other way round.
DriftItem flipped_presence(const DriftItem& item) {
  const bool was_missing = item.kind == DriftKind::Missing;
  if (!item.policy_type.empty() || !item.policy_mode.empty()) {
    return was_missing ? extra_item(item.object, item.policy_type, item.policy_mode)
                       : missing_item(item.object, item.policy_type, item.policy_mode);
  }
  // Read back from the database: the policy's mode is not known, the severity stays.
  DriftItem out = item;
  out.kind = was_missing ? DriftKind::Extra : DriftKind::Missing;
  out.direction = was_missing ? Direction::None : Direction::MorePermissive;
  const std::string from = was_missing ? " absent on replica" : " only on replica";
  const std::string to = was_missing ? " only on replica" : " absent on replica";
  if (out.summary.size() >= from.size() &&
      out.summary.compare(out.summary.size() - from.size(), from.size(), from) == 0) {
    out.summary.replace(out.summary.size() - from.size(), from.size(), to);
  }
  return out;
}

// The summary of a dangling_reference item, from its (already flipped) fields.
std::string dangling_summary(const DriftItem& item) {
  const FieldDiff* first_rep = nullptr;
  const FieldDiff* first_src = nullptr;
  for (const auto& f : item.fields) {
    if (f.path == "replica" && !first_rep) first_rep = &f;
    if (f.path == "source" && !first_src) first_src = &f;
  }
  if (first_rep) return "replica references what its site lacks: " + unquoted(first_rep->replica);
  if (first_src) return "source references what its site lacks: " + unquoted(first_src->source);
  return item.summary;
}

}  // namespace

DriftItem flipped(DriftItem item) {
  if (item.kind == DriftKind::Missing || item.kind == DriftKind::Extra) {
    DriftItem out = flipped_presence(item);
    out.expected = std::move(item.expected);
    return out;
  }
  for (auto& f : item.fields) {
    f.path = flipped_path(f.path);
    std::swap(f.source, f.replica);
  }
  if (item.kind == DriftKind::DanglingReference) {
    const bool on_rep = std::any_of(item.fields.begin(), item.fields.end(),
                                    [](const FieldDiff& f) { return f.path == "replica"; });
    item.severity = on_rep ? Severity::Critical : Severity::Warning;
    item.direction = on_rep ? Direction::Both : Direction::None;
    item.summary = dangling_summary(item);
    return item;
  }
  item.direction = inverted(item.direction);
  item.severity = severity_of(effect_of(item.direction), item.policy_type);
  if (item.kind == DriftKind::EnforcementMode && !item.fields.empty()) {
    const auto& mode = item.fields.front();
    item.summary = "mode " + unquoted(mode.source) + " on source, " + unquoted(mode.replica) +
                   " on replica";
    return item;
  }
  // modified and reference: "<what differs>, replica <direction>" and the example flows.
  const auto head = item.summary.find(", replica ");
  if (head != std::string::npos) {
    item.summary = item.summary.substr(0, head) + ", replica " +
                   std::string(to_string(item.direction)) + examples_text(item.fields);
  }
  return item;
}

void flip(PairResult& result) {
  for (auto& item : result.items) item = flipped(std::move(item));
  std::sort(result.items.begin(), result.items.end(), [](const DriftItem& a, const DriftItem& b) {
    return std::tie(a.object, a.kind) < std::tie(b.object, b.kind);
  });
}


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

PairResult diff_snapshots(const SnapshotView& source, const SnapshotView& replica) {
  PairResult result;
  const Side src(source);
  const Side rep(replica);
  const ChangedReferences changed(source, replica);
  for (const auto& [name, s] : source.policies()) {
    if (const ObjectView* r = replica.policy(name)) {
      compare_present(s, *r, src, rep, changed, result.items);
    } else {
      result.items.push_back(missing_item(s.name(), s.object().policy_type, s.object().mode));
    }
  }
  for (const auto& [name, r] : replica.policies()) {
    if (!source.policy(name)) {
      result.items.push_back(extra_item(r.name(), r.object().policy_type, r.object().mode));
    }
  }
  std::sort(result.items.begin(), result.items.end(), [](const DriftItem& a, const DriftItem& b) {
    return std::tie(a.object, a.kind) < std::tie(b.object, b.kind);
  });
  result.status = result.items.empty() ? PairStatus::InSync : PairStatus::Drifted;
  return result;
}

PairResult diff_snapshots(const SnapshotView& source, const SnapshotView& replica,
                          const PairMapping& mapping) {
  if (mapping.empty()) return diff_snapshots(source, replica);
  const policy::Snapshot translated = translate_replica(replica, source, mapping);
  return diff_snapshots(source, SnapshotView(translated));
}

// An object that let its text go takes it from the other side's equal object, if any.
PairResult diff_snapshots(const policy::Snapshot& source, const policy::Snapshot& replica) {
  return diff_snapshots(SnapshotView(source, &replica), SnapshotView(replica, &source));
}

PairResult diff_snapshots(const policy::Snapshot& source, const policy::Snapshot& replica,
                          const PairMapping& mapping) {
  return diff_snapshots(SnapshotView(source, &replica), SnapshotView(replica, &source), mapping);
}

PairResult unknown_result(std::string reason) {
  PairResult r;
  r.status = PairStatus::Unknown;
  r.unknown_reason = std::move(reason);
  return r;
}

}  // namespace flowdrift::diff
