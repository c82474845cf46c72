// A plan as text for people and as the JSON a plan file holds (docs/plan.md "Plan files").
#include <sstream>

#include "core/sha256.hpp"
#include "core/time_format.hpp"
#include "plan/plan.hpp"

namespace flowdrift::plan {
namespace {

using nlohmann::json;

std::string kind_text(policy::ObjectKind k, const std::string& name) {
  if (k == policy::ObjectKind::Category && name.find(':') == std::string::npos) return "category key";
  return std::string(policy::to_string(k));
}

json canonical(const std::string& text) {
  return text.empty() ? json() : json::parse(text, nullptr, false);
}

int count(const Plan& p, Op op) {
  int n = 0;
  for (const auto& w : p.writes) n += w.op == op ? 1 : 0;
  return n;
}

json write_json(const Write& w, std::size_t step) {
  json reasons = json::array();
  for (const auto& r : w.reasons) {
    reasons.push_back({{"policy", r.policy}, {"kind", r.kind}, {"severity", r.severity},
                       {"summary", r.summary}});
  }
  return json{{"step", step},
              {"op", std::string(to_string(w.op))},
              {"kind", std::string(policy::to_string(w.kind))},
              {"name", w.name},
              {"target_id", w.target_id},
              {"reasons", std::move(reasons)},
              {"request", {{"method", w.request.method}, {"path", w.request.path},
                           {"body", w.request.body}, {"precondition", w.request.precondition}}},
              {"desired", canonical(w.desired)},
              {"current", canonical(w.current)}};
}

template <class T>
json left_alone(const std::vector<T>& list) {
  json out = json::array();
  for (const auto& s : list) {
    out.push_back({{"kind", std::string(policy::to_string(s.kind))}, {"name", s.name}, {"why", s.why}});
  }
  return out;
}

Error bad(const std::string& name, const std::string& what) {
  return make_error(ErrorReason::Malformed, name + ": " + what);
}

std::optional<policy::ObjectKind> kind_named(const std::string& s) {
  for (auto k : {policy::ObjectKind::Policy, policy::ObjectKind::AddressGroup,
                 policy::ObjectKind::ServiceGroup, policy::ObjectKind::Category,
                 policy::ObjectKind::EntityGroup}) {
    if (policy::to_string(k) == s) return k;
  }
  return std::nullopt;
}

std::string text_of(const json& j) { return j.is_null() ? std::string() : j.dump(); }

// A plan file is edited by people: a member of the wrong type is an error naming its place,
// never an exception out of the reader. Members read this way, thrown to plan_from_json.
struct WrongShape {
  std::string where;
  std::string expected;
};

const json* member(const json& j, const char* key, const std::string& where) {
  if (!j.is_object()) throw WrongShape{where, "an object"};
  const auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::string string_at(const json& j, const char* key, const std::string& where) {
  const json* m = member(j, key, where);
  if (!m) return {};
  if (!m->is_string()) throw WrongShape{where + "/" + key, "a string"};
  return m->get<std::string>();
}

std::int64_t integer_at(const json& j, const char* key, const std::string& where) {
  const json* m = member(j, key, where);
  if (!m) return 0;
  if (!m->is_number_integer()) throw WrongShape{where + "/" + key, "an integer"};
  return m->get<std::int64_t>();
}

// An object or array member ("" when absent); `object` says which.
json part_at(const json& j, const char* key, const std::string& where, bool object) {
  const json* m = member(j, key, where);
  if (!m) return object ? json::object() : json::array();
  if (object ? !m->is_object() : !m->is_array()) {
    throw WrongShape{where + "/" + key, object ? "an object" : "an array"};
  }
  return *m;
}

json value_at(const json& j, const char* key, const std::string& where) {
  const json* m = member(j, key, where);
  return m ? *m : json();
}

Write write_from(const json& j, const std::string& where) {
  if (!j.is_object()) throw WrongShape{where, "an object"};
  auto op = parse_op(string_at(j, "op", where));
  if (!op) throw WrongShape{where + "/op", "create, update or delete"};
  auto kind = kind_named(string_at(j, "kind", where));
  if (!kind) throw WrongShape{where + "/kind", "an object kind"};
  Write w;
  w.op = *op;
  w.kind = *kind;
  w.name = string_at(j, "name", where);
  w.target_id = string_at(j, "target_id", where);
  w.desired = text_of(value_at(j, "desired", where));
  w.current = text_of(value_at(j, "current", where));
  if (w.name.empty()) throw WrongShape{where + "/name", "a non-empty string"};
  if ((w.op == Op::Delete) != w.desired.empty()) {
    throw WrongShape{where + "/desired", w.op == Op::Delete ? "none for a delete" : "the desired object"};
  }
  const auto reasons = part_at(j, "reasons", where, false);
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    const std::string at = where + "/reasons/" + std::to_string(i);
    w.reasons.push_back({string_at(reasons[i], "policy", at), string_at(reasons[i], "kind", at),
                         string_at(reasons[i], "severity", at), string_at(reasons[i], "summary", at)});
  }
  const std::string at = where + "/request";
  const json req = part_at(j, "request", where, true);
  w.request = {string_at(req, "method", at), string_at(req, "path", at), value_at(req, "body", at),
               string_at(req, "precondition", at)};
  return w;
}

// The objects a plan lists but does not write (blocked, skipped).
template <class T>
std::vector<T> left_alone_from(const json& doc, const char* key) {
  std::vector<T> out;
  const auto list = part_at(doc, key, "", false);
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string at = std::string("/") + key + "/" + std::to_string(i);
    out.push_back({kind_named(string_at(list[i], "kind", at)).value_or(policy::ObjectKind::Policy),
                   string_at(list[i], "name", at), string_at(list[i], "why", at)});
  }
  return out;
}

Plan read_plan(const json& doc) {
  Plan p;
  p.pair = string_at(doc, "pair", "");
  const json source = part_at(doc, "source", "", true);
  const json target = part_at(doc, "target", "", true);
  p.source = string_at(source, "name", "/source");
  p.source_hash = string_at(source, "snapshot", "/source");
  p.target = string_at(target, "name", "/target");
  p.target_api = string_at(target, "api", "/target") == "v4" ? config::Api::V4 : config::Api::V3;
  p.target_hash = string_at(target, "snapshot", "/target");
  p.planned_ms = integer_at(doc, "planned_ms", "");
  if (p.target.empty() || p.target_hash.empty()) throw WrongShape{"/target", "a name and a snapshot"};
  const json writes = part_at(doc, "writes", "", false);
  for (std::size_t i = 0; i < writes.size(); ++i) {
    p.writes.push_back(write_from(writes[i], "/writes/" + std::to_string(i)));
  }
  p.blocked = left_alone_from<Blocked>(doc, "blocked");
  p.skipped = left_alone_from<Skipped>(doc, "skipped");
  p.drift_items = static_cast<int>(integer_at(doc, "drift_items", ""));
  const std::string status = string_at(doc, "status", "");
  for (auto st : {diff::PairStatus::InSync, diff::PairStatus::Drifted, diff::PairStatus::Unknown}) {
    if (diff::to_string(st) == status) p.status = st;
  }
  return p;
}

}  // namespace

json plan_json(const Plan& p) {
  json writes = json::array();
  for (std::size_t i = 0; i < p.writes.size(); ++i) writes.push_back(write_json(p.writes[i], i + 1));
  return json{{"schema", kPlanSchema},
              {"version", kPlanVersion},
              {"pair", p.pair},
              {"source", {{"name", p.source}, {"snapshot", p.source_hash}}},
              {"target", {{"name", p.target}, {"api", std::string(config::to_string(p.target_api))},
                          {"snapshot", p.target_hash}}},
              {"planned", format_time(p.planned_ms)},
              {"planned_ms", p.planned_ms},
              {"status", std::string(diff::to_string(p.status))},
              {"drift_items", p.drift_items},
              {"summary", {{"create", count(p, Op::Create)}, {"update", count(p, Op::Update)},
                           {"delete", count(p, Op::Delete)}, {"skipped", p.skipped.size()},
                           {"blocked", p.blocked.size()}}},
              {"writes", std::move(writes)},
              {"skipped", left_alone(p.skipped)},
              {"blocked", left_alone(p.blocked)}};
}

std::string plan_hash(const Plan& p) { return sha256_hex(plan_json(p).dump()); }

Result<Plan> plan_from_json(const json& doc, const std::string& name) {
  const bool is_plan =
      doc.is_object() && doc.contains("schema") && doc["schema"] == json(kPlanSchema);
  if (!is_plan) {
    return bad(name, std::string("not a flowdrift plan (no \"schema\": \"") + kPlanSchema + "\")");
  }
  if (!doc.contains("version") || doc["version"] != json(kPlanVersion)) {
    return bad(name + ": /version", "this flowdriftctl reads plan version " +
                                        std::to_string(kPlanVersion));
  }
  try {
    return read_plan(doc);
  } catch (const WrongShape& e) {
    return bad(name + ": " + (e.where.empty() ? "/" : e.where), "expected " + e.expected);
  }
}

std::string plan_text(const Plan& p) {
  std::ostringstream out;
  out << "Plan" << (p.pair.empty() ? "" : " for pair " + p.pair) << ": make " << p.target << " ("
      << config::to_string(p.target_api) << ") match " << p.source << "\n";
  out << "  target snapshot " << p.target_hash.substr(0, 12) << ", source snapshot "
      << p.source_hash.substr(0, 12) << ", planned " << format_time(p.planned_ms) << "\n";
  out << "  " << p.writes.size() << " write(s): " << count(p, Op::Create) << " to create, "
      << count(p, Op::Update) << " to update, " << count(p, Op::Delete) << " to delete; "
      << p.skipped.size() << " skipped, " << p.blocked.size() << " blocked\n";
  for (std::size_t i = 0; i < p.writes.size(); ++i) {
    const auto& w = p.writes[i];
    out << "\n  " << (i + 1) << ". " << to_string(w.op) << " " << kind_text(w.kind, w.name) << " \""
        << w.name << "\"" << (w.target_id.empty() ? "" : " (" + w.target_id + ")") << "\n";
    for (const auto& r : w.reasons) {
      out << "     why: " << r.kind << " (" << r.severity << ")"
          << (r.policy.empty() ? "" : " on policy \"" + r.policy + "\"") << ": " << r.summary
          << "\n";
    }
    out << "     request: " << w.request.method << " " << w.request.path
        << (w.request.precondition.empty() ? "" : " [" + w.request.precondition + "]") << "\n";
    if (!w.request.body.is_null()) out << "     body: " << w.request.body.dump() << "\n";
  }
  if (!p.skipped.empty()) out << "\n  Skipped:\n";
  for (const auto& s : p.skipped) {
    out << "  - " << kind_text(s.kind, s.name) << " \"" << s.name << "\": " << s.why << "\n";
  }
  if (!p.blocked.empty()) out << "\n  Blocked (the plan cannot be applied):\n";
  for (const auto& b : p.blocked) {
    out << "  - " << kind_text(b.kind, b.name) << " \"" << b.name << "\": " << b.why << "\n";
  }
  if (p.writes.empty() && p.blocked.empty()) out << "\n  Nothing to do: the target matches.\n";
  return out.str();
}

}  // namespace flowdrift::plan
