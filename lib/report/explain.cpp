#include "report/explain.hpp"

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <utility>

#include "core/printable.hpp"
#include "core/time_format.hpp"
#include "diff/diff.hpp"
#include "drift/expect.hpp"
#include "diff/mapping.hpp"

namespace flowdrift::report {
namespace {

using nlohmann::json;
using policy::CanonicalObject;
using policy::ObjectKind;
using RefKey = std::pair<ObjectKind, std::string>;

const CanonicalObject* find_object(const policy::Snapshot& s, ObjectKind kind,
                                   const std::string& name) {
  for (const auto& o : s.objects) {
    if (o.kind == kind && o.name == name) return &o;
  }
  return nullptr;
}

// The replica's name for a source policy: the first name rule matching it (mapping.cpp).
std::optional<std::size_t> name_rule_for(const std::string& source_name,
                                         const diff::PairMapping& mapping) {
  for (std::size_t i = 0; i < mapping.names.size(); ++i) {
    if (std::regex_match(source_name, mapping.names[i].re)) return i;
  }
  return std::nullopt;
}

std::string replica_name_for(const std::string& source_name, const diff::PairMapping& mapping) {
  auto i = name_rule_for(source_name, mapping);
  if (!i) return source_name;
  return std::regex_replace(source_name, mapping.names[*i].re, mapping.names[*i].replica);
}

std::set<RefKey> references_of(const CanonicalObject* policy) {
  std::set<RefKey> out;
  if (policy) out = policy::references_in(policy->json);
  return out;
}

std::set<std::string> category_keys(const policy::Snapshot& s) {
  std::set<std::string> keys;
  for (const auto& o : s.objects) {
    if (o.kind == ObjectKind::Category) keys.insert(o.name.substr(0, o.name.find(':')));
  }
  return keys;
}

json parsed(const CanonicalObject* o) {
  if (!o) return nullptr;
  auto j = json::parse(o->json, nullptr, false);
  return j.is_discarded() ? json(o->json) : j;
}

// A compact JSON string field value ("\"tcp ...\"") as its text.
std::string unquote(const std::string& compact) {
  auto j = json::parse(compact, nullptr, false);
  return j.is_string() ? j.get<std::string>() : compact;
}

json item_json(const diff::DriftItem& it) {
  json fields = json::array();
  json examples = json::object();
  for (const auto& f : it.fields) {
    if (f.path == "flows[replica only]") {
      examples["replica_only"] = unquote(f.replica);
    } else if (f.path == "flows[source only]") {
      examples["source_only"] = unquote(f.source);
    } else {
      fields.push_back({{"path", f.path}, {"source", f.source}, {"replica", f.replica}});
    }
  }
  json expected = nullptr;
  if (it.expected) {
    expected = {{"selector", it.expected->selector}, {"owner", it.expected->owner},
                {"reason", it.expected->reason}, {"expires", it.expected->expires}};
  }
  return {{"kind", std::string(diff::to_string(it.kind))},
          {"severity", std::string(diff::to_string(it.severity))},
          {"direction", std::string(diff::to_string(it.direction))},
          {"summary", it.summary},
          {"fields", fields},
          {"example_flows", examples},
          {"expected", expected}};
}

// Which mapping rules change this policy or what it references on the replica: each category
// and subnet rule is applied alone to the replica's policy and its objects, and counts when it
// changes one of them. Name rules: the first one matching the source's name.
json mapping_rules(const diff::PairMapping& mapping, const CanonicalObject* src_policy,
                   const CanonicalObject* rep_policy, const policy::Snapshot& replica) {
  json out = json::array();
  if (src_policy) {
    if (auto i = name_rule_for(src_policy->name, mapping)) {
      const auto& r = mapping.names[*i];
      out.push_back({{"rule", "names[" + std::to_string(*i) + "]"},
                     {"text", r.match + " -> " + r.replica},
                     {"effect", "source name " + src_policy->name + " is " +
                                    replica_name_for(src_policy->name, mapping) + " on the replica"}});
    }
  }
  if (!rep_policy) return out;
  policy::Snapshot mini_rep;
  mini_rep.objects.push_back(*rep_policy);
  for (const auto& [kind, name] : references_of(rep_policy)) {
    if (const auto* o = find_object(replica, kind, name)) mini_rep.objects.push_back(*o);
  }
  policy::Snapshot mini_src;  // no source policies: names stay as they are
  auto touches = [&](const diff::PairMapping& one) {
    const auto t = diff::translate_replica(mini_rep, mini_src, one);
    std::set<std::pair<std::string, std::string>> before, after;
    for (const auto& o : mini_rep.objects) before.insert({o.name, o.json});
    for (const auto& o : t.objects) after.insert({o.name, o.json});
    return before != after;
  };
  for (const auto& [src, rep] : mapping.categories) {
    diff::PairMapping one;
    one.categories.emplace(src, rep);
    if (touches(one)) {
      out.push_back({{"rule", "categories[" + src + "]"},
                     {"text", src + " -> " + rep},
                     {"effect", "replica's " + rep + " is read as " + src}});
    }
  }
  for (std::size_t i = 0; i < mapping.subnets.size(); ++i) {
    diff::PairMapping one;
    one.subnets.push_back(mapping.subnets[i]);
    if (touches(one)) {
      out.push_back({{"rule", "subnets[" + std::to_string(i) + "]"},
                     {"text", mapping.subnets[i].text},
                     {"effect", "replica addresses in the replica network are read in the source's"}});
    }
  }
  return out;
}

std::string ref_label(const RefKey& k) {
  return std::string(policy::to_string(k.first)) + "[" + k.second + "]";
}

json references(const CanonicalObject* src_policy, const CanonicalObject* rep_policy,
                const policy::Snapshot& source, const policy::Snapshot& translated,
                const diff::PairMapping* mapping) {
  const auto used_src = references_of(src_policy);
  const auto used_rep = references_of(rep_policy);
  std::set<RefKey> all = used_src;
  all.insert(used_rep.begin(), used_rep.end());
  const auto src_keys = category_keys(source);
  const auto rep_keys = category_keys(translated);
  json out = json::array();
  for (const auto& key : all) {
    const auto* so = find_object(source, key.first, key.second);
    const auto* ro = find_object(translated, key.first, key.second);
    json used = json::array();
    if (used_src.count(key)) used.push_back("source");
    if (used_rep.count(key)) used.push_back("replica");
    std::string state;
    if (key.second.rfind("dangling:", 0) == 0) {
      state = "dangling";  // an id its own site did not have (see findings)
    } else if (so && ro) {
      state = so->json == ro->json ? "same" : "differs";
    } else if (!so && !ro) {
      state = "absent on both";
    } else {
      state = so ? "absent on replica" : "absent on source";
    }
    json r{{"kind", std::string(policy::to_string(key.first))},
           {"name", key.second},
           {"label", ref_label(key)},
           {"used_by", used},
           {"state", state},
           {"source", parsed(so)},
           {"replica", parsed(ro)}};
    if (key.first == ObjectKind::Category) {
      // A snapshot holds the values of the category keys its policies reference only: a key
      // no policy uses on that site cannot be told absent from merely not collected.
      const auto ckey = key.second.substr(0, key.second.find(':'));
      if (!so && !src_keys.count(ckey)) r["source_note"] = "no policy on the source uses key " + ckey;
      if (!ro && !rep_keys.count(ckey)) r["replica_note"] = "no policy on the replica uses key " + ckey;
      if (mapping) {
        if (auto it = mapping->categories.find(key.second); it != mapping->categories.end()) {
          r["replica_name"] = it->second;
        }
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::string status_of(const std::vector<const diff::DriftItem*>& items) {
  if (items.empty()) return "in_sync";
  for (const auto* it : items) {
    if (!it->expected) return "drifted";
  }
  return "expected";
}

json snapshot_json(const SnapshotRef& ref, const policy::Snapshot& s) {
  json j{{"id", ref.id}, {"site", ref.site}, {"hash", s.hash}, {"origin", ref.origin},
         {"policies", s.count(ObjectKind::Policy)}, {"canon_version", s.canon_version}};
  j["polled"] = ref.polled_ms ? json(format_time(*ref.polled_ms)) : json();
  return j;
}

}  // namespace


namespace {

// The source's name is the item's name; a replica name before name mapping is accepted too.
// Empty when neither snapshot has the policy.
std::string source_name(const ExplainInput& in, const diff::PairMapping& mapping,
                        const std::string& name) {
  const auto& source = *in.source;
  const auto& replica = *in.replica;
  if (find_object(source, ObjectKind::Policy, name)) return name;
  for (const auto& o : source.objects) {
    if (o.kind == ObjectKind::Policy && !mapping.names.empty() &&
        replica_name_for(o.name, mapping) == name &&
        find_object(replica, ObjectKind::Policy, name)) {
      return o.name;
    }
  }
  return find_object(replica, ObjectKind::Policy, name) ? name : "";
}

Error no_such_policy(const ExplainInput& in, const std::string& name) {
  std::size_t stored = 0;
  for (const auto& s : in.stored) stored += s.object == name;
  std::string msg = "pair " + in.pair + ": no policy named '" + name + "' on the source (" +
                    in.source_site + ", snapshot " + std::to_string(in.source_ref.id) +
                    ") or the replica (" + in.replica_site + ", snapshot " +
                    std::to_string(in.replica_ref.id) + ")";
  if (stored != 0) {
    msg += "; " + std::to_string(stored) + " stored drift item(s) name it: flowdriftctl drift --pair " +
           in.pair;
  }
  return make_error(ErrorReason::Other, msg);
}

json pair_status_json(const ExplainInput& in) {
  if (!in.record) return nullptr;
  return {{"status", in.record->status},
          {"reason", in.record->reason},
          {"since", format_time(in.record->since_ms)},
          {"skew_ms", in.record->skew_ms ? json(*in.record->skew_ms) : json()}};
}

json findings_json(const ExplainInput& in, const std::string& src_name,
                   const std::string& rep_name) {
  json findings = json::array();
  for (const auto& f : in.source->findings) {
    if (f.object == src_name) findings.push_back({{"side", "source"}, {"kind", f.kind}, {"detail", f.detail}});
  }
  for (const auto& f : in.replica->findings) {
    if (f.object == rep_name) findings.push_back({{"side", "replica"}, {"kind", f.kind}, {"detail", f.detail}});
  }
  return findings;
}

// The pair's expected differences whose policy glob matches, with the items each selects and
// covers.
json expectations_json(const ExplainInput& in, const std::string& src_name,
                       const std::vector<const diff::DriftItem*>& items) {
  json expectations = json::array();
  for (const auto& e : in.rules->expected) {
    if (!drift::glob_match(e.policy, src_name)) continue;
    json selects = json::array(), covers = json::array();
    for (const auto* it : items) {
      if (!e.selects(*it)) continue;
      selects.push_back(std::string(diff::to_string(it->kind)));
      if (it->expected && it->expected->selector == e.selector()) {
        covers.push_back(std::string(diff::to_string(it->kind)));
      }
    }
    expectations.push_back({{"selector", e.selector()},
                            {"owner", e.owner},
                            {"reason", e.reason},
                            {"expires", e.expires},
                            {"live", e.live(in.now_ms)},
                            {"declared", in.config_file + ":" + std::to_string(e.line)},
                            {"selects", selects},
                            {"covers", covers}});
  }
  return expectations;
}

json stored_item_json(const ExplainInput& in, const drift::Item& s) {
  json events = json::array();
  if (in.events) {
    for (const auto& e : in.events(s.id)) {
      events.push_back({{"at", format_time(e.at_ms)}, {"event", e.event}, {"detail", e.detail}});
    }
  }
  return {{"id", s.id},
          {"kind", s.kind},
          {"state", s.open_state()},
          {"severity", s.severity},
          {"direction", s.direction},
          {"summary", s.summary},
          {"opened", format_time(s.opened_ms)},
          {"raised", s.raised_ms ? json(format_time(*s.raised_ms)) : json()},
          {"resolved", s.resolved_ms ? json(format_time(*s.resolved_ms)) : json()},
          {"seen", s.seen},
          {"expectation", s.expectation_json.empty()
                              ? json()
                              : json::parse(s.expectation_json, nullptr, false)},
          {"events", events}};
}

}  // namespace

namespace {

// What Nutanix's entity sync of the source says of the policy, and whether flowdrift agrees
// (drift/entity_sync.hpp). Null when the source's entity sync was never read.
json entity_sync_json(const ExplainInput& in, const std::string& policy) {
  if (!in.entity_sync) return nullptr;
  const auto& s = *in.entity_sync;
  json j{{"read", std::string(drift::to_string(s.state))},
         {"version", s.version},
         {"complete", s.complete_ms ? json(format_time(*s.complete_ms)) : json()},
         {"entries", json::array()},
         {"disagreement", nullptr}};
  for (const auto& e : s.entries) {
    if (e.entity_type != "SECURITY_POLICY" || e.entity_name != policy) continue;
    j["entries"].push_back({{"status", e.status}, {"remote", e.remote_ext_id}, {"ext_id", e.ext_id}});
  }
  for (const auto& r : in.disagreements) {
    const auto& d = r.disagreement;
    if (d.entity_type != "SECURITY_POLICY" || d.entity_name != policy) continue;
    j["disagreement"] = {{"kind", std::string(d.kind())}, {"nutanix", d.nutanix},
                         {"flowdrift", d.flowdrift}, {"detail", d.detail},
                         {"since", format_time(r.opened_ms)}};
  }
  return j;
}

}  // namespace

Result<json> explain_policy(const ExplainInput& in, const std::string& name) {
  const auto& source = *in.source;
  const auto& replica = *in.replica;
  const diff::PairMapping empty_mapping;
  const auto& mapping = in.rules ? in.rules->mapping : empty_mapping;
  const std::string src_name = source_name(in, mapping, name);
  if (src_name.empty()) return no_such_policy(in, name);
  const auto* src_policy = find_object(source, ObjectKind::Policy, src_name);
  const std::string rep_name = src_policy ? replica_name_for(src_name, mapping) : src_name;
  const auto* rep_policy = find_object(replica, ObjectKind::Policy, rep_name);

  // The comparison the daemon makes: mapping, then expectations at `now`.
  const auto result = drift::compare_pair(source, replica, in.rules, in.flipped, in.now_ms);
  const policy::Snapshot translated =
      mapping.empty() ? replica : diff::translate_replica(replica, source, mapping);
  const auto* rep_translated = find_object(translated, ObjectKind::Policy, src_name);
  std::vector<const diff::DriftItem*> items;
  for (const auto& it : result.items) {
    if (it.object == src_name) items.push_back(&it);
  }

  json j;
  j["schema"] = kExplainSchema;
  j["pair"] = in.pair;
  j["source_site"] = in.source_site;
  j["replica_site"] = in.replica_site;
  j["policy"] = src_name;
  j["replica_policy"] = rep_name;
  j["on_source"] = src_policy != nullptr;
  j["on_replica"] = rep_policy != nullptr;
  j["status"] = status_of(items);
  j["notes"] = in.notes;
  j["snapshots"] = {{"source", snapshot_json(in.source_ref, source)},
                    {"replica", snapshot_json(in.replica_ref, replica)}};
  j["pair_status"] = pair_status_json(in);
  j["config"] = in.rules ? json(in.config_file) : json();
  j["items"] = json::array();
  for (const auto* it : items) j["items"].push_back(item_json(*it));
  j["references"] = references(src_policy, rep_translated, source, translated,
                               in.rules ? &mapping : nullptr);
  j["findings"] = findings_json(in, src_name, rep_name);
  j["mapping_rules"] =
      in.rules ? mapping_rules(mapping, src_policy, rep_policy, replica) : json(nullptr);
  j["expectations"] = in.rules ? expectations_json(in, src_name, items) : json(nullptr);
  j["stored_items"] = json::array();
  for (const auto& s : in.stored) {
    if (s.object == src_name) j["stored_items"].push_back(stored_item_json(in, s));
  }
  j["nutanix_entity_sync"] = entity_sync_json(in, src_name);
  return j;
}

}  // namespace flowdrift::report
