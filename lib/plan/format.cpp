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

Result<Write> write_from(const json& j, const std::string& where) {
  if (!j.is_object()) return bad(where, "expected an object");
  auto op = parse_op(j.value("op", ""));
  if (!op) return bad(where + "/op", "expected create, update or delete");
  auto kind = kind_named(j.value("kind", ""));
  if (!kind) return bad(where + "/kind", "expected an object kind");
  Write w;
  w.op = *op;
  w.kind = *kind;
  w.name = j.value("name", "");
  w.target_id = j.value("target_id", "");
  w.desired = text_of(j.value("desired", json()));
  w.current = text_of(j.value("current", json()));
  if (w.name.empty()) return bad(where + "/name", "expected a non-empty string");
  if ((w.op == Op::Delete) != w.desired.empty()) {
    return bad(where + "/desired", w.op == Op::Delete ? "a delete has none" : "missing");
  }
  for (const auto& r : j.value("reasons", json::array())) {
    w.reasons.push_back({r.value("policy", ""), r.value("kind", ""), r.value("severity", ""),
                         r.value("summary", "")});
  }
  const json req = j.value("request", json::object());
  w.request = {req.value("method", ""), req.value("path", ""), req.value("body", json()),
               req.value("precondition", "")};
  return w;
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
  if (!doc.is_object() || doc.value("schema", "") != kPlanSchema) {
    return bad(name, std::string("not a flowdrift plan (no \"schema\": \"") + kPlanSchema + "\")");
  }
  if (doc.value("version", 0) != kPlanVersion) {
    return bad(name + ": /version", "this flowdriftctl reads plan version " +
                                        std::to_string(kPlanVersion));
  }
  Plan p;
  p.pair = doc.value("pair", "");
  const json source = doc.value("source", json::object());
  const json target = doc.value("target", json::object());
  p.source = source.value("name", "");
  p.source_hash = source.value("snapshot", "");
  p.target = target.value("name", "");
  p.target_api = target.value("api", "") == "v4" ? config::Api::V4 : config::Api::V3;
  p.target_hash = target.value("snapshot", "");
  p.planned_ms = doc.value("planned_ms", std::int64_t{0});
  if (p.target.empty() || p.target_hash.empty()) return bad(name + ": /target", "name and snapshot required");
  const json writes = doc.value("writes", json::array());
  for (std::size_t i = 0; i < writes.size(); ++i) {
    auto w = write_from(writes[i], name + ": /writes/" + std::to_string(i));
    if (!w) return w.error();
    p.writes.push_back(std::move(*w));
  }
  for (const auto& b : doc.value("blocked", json::array())) {
    p.blocked.push_back({kind_named(b.value("kind", "")).value_or(policy::ObjectKind::Policy),
                         b.value("name", ""), b.value("why", "")});
  }
  for (const auto& b : doc.value("skipped", json::array())) {
    p.skipped.push_back({kind_named(b.value("kind", "")).value_or(policy::ObjectKind::Policy),
                         b.value("name", ""), b.value("why", "")});
  }
  p.drift_items = doc.value("drift_items", 0);
  const std::string status = doc.value("status", "");
  for (auto st : {diff::PairStatus::InSync, diff::PairStatus::Drifted, diff::PairStatus::Unknown}) {
    if (diff::to_string(st) == status) p.status = st;
  }
  return p;
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
