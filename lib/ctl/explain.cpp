#include "ctl/explain.hpp"

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

namespace flowdrift::ctl {
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

std::string or_absent(const std::string& compact) { return compact.empty() ? "(absent)" : compact; }

std::string text_of(const json& v) {
  if (v.is_null()) return "absent";
  return v.is_string() ? v.get<std::string>() : v.dump();
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

namespace {

void text_header(std::ostream& out, const json& r) {
  out << "policy " << r.at("policy").get<std::string>();
  if (r.at("replica_policy") != r.at("policy")) {
    out << " (" << r.at("replica_policy").get<std::string>() << " on the replica)";
  }
  out << " of pair " << r.at("pair").get<std::string>() << " (" << r.at("source_site").get<std::string>()
      << " -> " << r.at("replica_site").get<std::string>() << ")\n";
  for (const auto& n : r.at("notes")) out << "note: " << n.get<std::string>() << "\n";
  for (const char* side : {"source", "replica"}) {
    const auto& s = r.at("snapshots").at(side);
    out << side << ": " << s.at("site").get<std::string>() << " snapshot " << s.at("id") << " ("
        << s.at("hash").get<std::string>().substr(0, 12) << ", " << s.at("policies") << " policies"
        << (s.at("polled").is_null() ? "" : ", polled " + s.at("polled").get<std::string>()) << ", "
        << (s.at("origin") == "last_comparison" ? "the pair's last comparison" : "latest complete")
        << ")" << (r.at(std::string("on_") + side).get<bool>() ? "" : ": policy absent") << "\n";
  }
  if (const auto& ps = r.at("pair_status"); !ps.is_null()) {
    out << "daemon: pair " << ps.at("status").get<std::string>() << " since "
        << ps.at("since").get<std::string>();
    if (!ps.at("reason").get<std::string>().empty()) out << " (" << ps.at("reason").get<std::string>() << ")";
    if (!ps.at("skew_ms").is_null()) out << ", snapshot skew " << ps.at("skew_ms").get<std::int64_t>() / 1000 << "s";
    out << "\n";
  }
  out << "\n";
}

void text_item(std::ostream& out, const json& it) {
  out << "  " << it.at("severity").get<std::string>() << "  " << it.at("kind").get<std::string>()
      << "  " << it.at("direction").get<std::string>()
      << (it.at("expected").is_null() ? "" : "  (expected)") << "\n";
  out << "    " << it.at("summary").get<std::string>() << "\n";
  for (const auto& f : it.at("fields")) {
    out << "    " << f.at("path").get<std::string>() << ": "
        << or_absent(f.at("source").get<std::string>()) << " -> "
        << or_absent(f.at("replica").get<std::string>()) << "\n";
  }
  const auto& ex = it.at("example_flows");
  if (ex.contains("replica_only")) {
    out << "    example flow only the replica allows: " << ex.at("replica_only").get<std::string>() << "\n";
  }
  if (ex.contains("source_only")) {
    out << "    example flow only the source allows: " << ex.at("source_only").get<std::string>() << "\n";
  }
  if (const auto& e = it.at("expected"); !e.is_null()) {
    out << "    expected by " << e.at("selector").get<std::string>() << ": "
        << e.at("owner").get<std::string>() << " until " << e.at("expires").get<std::string>()
        << ": " << e.at("reason").get<std::string>() << "\n";
  }
}

void text_items(std::ostream& out, const json& r) {
  const std::string policy = r.at("policy");
  const std::string status = r.at("status");
  const auto& items = r.at("items");
  std::size_t expected = 0;
  for (const auto& it : items) expected += !it.at("expected").is_null();
  if (status == "in_sync") {
    out << "IN SYNC: no drift for " << policy << "\n";
  } else if (status == "expected") {
    out << "EXPECTED: " << items.size() << " item(s), every one covered by a live expected difference\n";
  } else {
    out << "DRIFTED: " << items.size() << " item(s)";
    if (expected != 0) out << ", " << expected << " of them expected";
    out << "\n";
  }
  for (const auto& it : items) text_item(out, it);
}

void text_references(std::ostream& out, const json& r) {
  out << "\nreferences:";
  if (r.at("references").empty()) out << " none";
  out << "\n";
  for (const auto& ref : r.at("references")) {
    const std::string state = ref.at("state");
    out << "  " << ref.at("label").get<std::string>();
    if (ref.contains("replica_name")) out << " (" << ref.at("replica_name").get<std::string>() << " on the replica)";
    out << ": " << state << " (used by";
    for (const auto& u : ref.at("used_by")) out << " " << u.get<std::string>();
    out << ")\n";
    if (state == "dangling") continue;
    if (state == "same") {
      out << "      both:    " << text_of(ref.at("source")) << "\n";
      continue;
    }
    out << "      source:  " << text_of(ref.at("source"))
        << (ref.contains("source_note") ? " (" + ref.at("source_note").get<std::string>() + ")" : "") << "\n";
    out << "      replica: " << text_of(ref.at("replica"))
        << (ref.contains("replica_note") ? " (" + ref.at("replica_note").get<std::string>() + ")" : "") << "\n";
  }
  for (const auto& f : r.at("findings")) {
    out << "finding on the " << f.at("side").get<std::string>() << ": " << f.at("kind").get<std::string>()
        << ": " << f.at("detail").get<std::string>() << "\n";
  }
}

void text_expectation(std::ostream& out, const json& e) {
  out << "  " << e.at("selector").get<std::string>() << " (" << e.at("declared").get<std::string>()
      << "): " << e.at("owner").get<std::string>() << ", expires " << e.at("expires").get<std::string>()
      << (e.at("live").get<bool>() ? " (live)" : " (EXPIRED)") << ": " << e.at("reason").get<std::string>()
      << "\n      ";
  if (!e.at("covers").empty()) {
    out << "covers";
    for (const auto& k : e.at("covers")) out << " " << k.get<std::string>();
  } else if (!e.at("selects").empty()) {
    out << "selects";
    for (const auto& k : e.at("selects")) out << " " << k.get<std::string>();
    out << (e.at("live").get<bool>() ? " (an earlier expectation covers it)" : " but has expired");
  } else {
    out << "selects no current item (kind or field do not match)";
  }
  out << "\n";
}

void text_rules(std::ostream& out, const json& r) {
  if (r.at("mapping_rules").is_null()) {
    out << "\nmappings and expected differences: not applied (no --config)\n";
    return;
  }
  out << "\nmapping rules that touch it:";
  if (r.at("mapping_rules").empty()) out << " none";
  out << "\n";
  for (const auto& m : r.at("mapping_rules")) {
    out << "  " << m.at("rule").get<std::string>() << ": " << m.at("text").get<std::string>() << " ("
        << m.at("effect").get<std::string>() << ")\n";
  }
  out << "expected differences that name it:";
  if (r.at("expectations").empty()) out << " none";
  out << "\n";
  for (const auto& e : r.at("expectations")) text_expectation(out, e);
}

void text_stored(std::ostream& out, const json& r) {
  out << "\nstored drift items:";
  if (r.at("stored_items").empty()) out << " none";
  out << "\n";
  for (const auto& s : r.at("stored_items")) {
    out << "  #" << s.at("id") << " " << s.at("kind").get<std::string>() << " "
        << (s.at("resolved").is_null() ? s.at("state").get<std::string>() : "resolved") << ", opened "
        << s.at("opened").get<std::string>();
    if (!s.at("raised").is_null()) out << ", raised " << s.at("raised").get<std::string>();
    if (!s.at("resolved").is_null()) out << ", resolved " << s.at("resolved").get<std::string>();
    out << "\n";
    for (const auto& e : s.at("events")) {
      out << "      " << e.at("at").get<std::string>() << "  " << e.at("event").get<std::string>();
      if (!e.at("detail").get<std::string>().empty()) out << "  " << e.at("detail").get<std::string>();
      out << "\n";
    }
  }
}

void text_entity_sync(std::ostream& out, const json& r) {
  const auto& s = r.at("nutanix_entity_sync");
  out << "\nNutanix entity sync of the source: ";
  if (s.is_null()) {
    out << "never read (a v3 or baseline source, or not polled yet)\n";
    return;
  }
  const std::string read = s.at("read");
  if (read == "not_served") {
    out << "not served by the source's Prism Central\n";
    return;
  }
  out << "datapolicies " << s.at("version").get<std::string>() << ", read completely "
      << (s.at("complete").is_null() ? std::string("never") : s.at("complete").get<std::string>())
      << (read == "failed" ? " (the last read failed)" : "") << "\n";
  if (s.at("entries").empty()) out << "  the policy is not in it (not synced by Nutanix)\n";
  for (const auto& e : s.at("entries")) {
    out << "  " << e.at("status").get<std::string>() << " to "
        << printable(e.at("remote").get<std::string>(), 80) << "\n";
  }
  if (const auto& d = s.at("disagreement"); !d.is_null()) {
    out << "  DISAGREES since " << d.at("since").get<std::string>() << ": Nutanix says "
        << d.at("nutanix").get<std::string>() << ", flowdrift finds it "
        << d.at("flowdrift").get<std::string>() << " (" << d.at("detail").get<std::string>()
        << ")\n";
  }
}

}  // namespace

std::string explain_text(const json& r) {
  std::ostringstream out;
  text_header(out, r);
  text_items(out, r);
  text_references(out, r);
  text_rules(out, r);
  text_stored(out, r);
  text_entity_sync(out, r);
  return out.str();
}

}  // namespace flowdrift::ctl
