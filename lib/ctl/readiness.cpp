#include "ctl/readiness.hpp"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/clock.hpp"
#include "core/time_format.hpp"
#include "ctl/commands.hpp"
#include "diff/diff.hpp"
#include "diff/mapping.hpp"
#include "drift/expect.hpp"
#include "drift/rules.hpp"
#include "policy/view.hpp"
#include "store/db.hpp"

namespace flowdrift::ctl {
namespace {

using nlohmann::json;
using policy::ObjectKind;
using policy::SnapshotView;


std::string field_value(const diff::DriftItem& item, const std::string& path, bool replica) {
  for (const auto& f : item.fields) {
    if (f.path != path) continue;
    const auto v = json::parse(replica ? f.replica : f.source, nullptr, false);
    return v.is_string() ? v.get<std::string>() : "";
  }
  return "";
}

// The application a policy secures: its secured group's categories ("AppType:Web"), else its
// type (isolation, quarantine).
std::string application_of(const SnapshotView& view, const std::string& name) {
  const auto* p = view.policy(name);
  if (!p) return "";
  const auto doc = json::parse(p->json(), nullptr, false);
  const auto cats = doc.is_object() && doc.contains("secured_group") &&
                            doc["secured_group"].is_object()
                        ? doc["secured_group"].value("categories", json::array())
                        : json::array();
  std::string out;
  for (const auto& c : cats) {
    if (c.is_string()) out += (out.empty() ? "" : " + ") + c.get<std::string>();
  }
  return out.empty() ? "(" + p->object().policy_type + " policy)" : out;
}

// What one item does to traffic if the pair fails over now: the flows the replica would block
// and those it would newly allow, each with an example when the comparison has one.
struct Effect {
  std::string blocks, allows;  // a sentence each, empty when none
};

Effect effect_of(const diff::DriftItem& item, const std::string& replica) {
  using K = diff::DriftKind;
  using D = diff::Direction;
  Effect e;
  const bool wider = item.direction == D::MorePermissive || item.direction == D::Both;
  const bool narrower = item.direction == D::MoreRestrictive || item.direction == D::Both;
  switch (item.kind) {
    case K::Missing:
      e.allows = "no such policy on " + replica + ": what it blocks would flow";
      break;
    case K::Extra:
      e.blocks = "only on " + replica + " (" + item.summary + ")";
      break;
    case K::EnforcementMode:
      if (wider) e.allows = item.summary + ": what it blocks would flow";
      if (narrower) e.blocks = item.summary;
      break;
    default: {
      const auto allowed = field_value(item, "flows[replica only]", true);
      const auto blocked = field_value(item, "flows[source only]", false);
      if (!allowed.empty()) e.allows = allowed;
      if (!blocked.empty()) e.blocks = blocked;
      if (allowed.empty() && wider) e.allows = item.summary;
      if (blocked.empty() && narrower) e.blocks = item.summary;
      if (item.direction == D::Unknown) e.blocks = e.allows = item.summary;
    }
  }
  return e;
}

std::string kind_name(ObjectKind k) { return std::string(policy::to_string(k)); }

// Referenced objects (category values, groups) the current source's policies use and the
// current replica lacks, after mappings: each with the policies that use it.
json missing_references(const ExplainInput& in) {
  const diff::PairMapping none;
  const auto translated = diff::translate_replica(*in.replica, *in.source,
                                                  in.rules ? in.rules->mapping : none);
  const SnapshotView configured_source(*in.source);
  const SnapshotView configured_replica(translated);
  const SnapshotView& src = in.flipped ? configured_replica : configured_source;
  const SnapshotView& rep = in.flipped ? configured_source : configured_replica;
  std::map<policy::ObjectKey, std::set<std::string>> missing;
  for (const auto& [name, p] : src.policies()) {
    for (const auto& key : p.references()) {
      if (src.find(key) && !rep.find(key)) missing[key].insert(name);
    }
  }
  json out = json::array();
  for (const auto& [key, users] : missing) {
    out.push_back({{"kind", kind_name(key.first)}, {"name", key.second}, {"used_by", users}});
  }
  return out;
}

// The replica's policies that enforce nothing, with the source's mode of the same name.
json monitor_on_replica(const ExplainInput& in) {
  const SnapshotView rep(in.flipped ? *in.source : *in.replica);
  const SnapshotView src(in.flipped ? *in.replica : *in.source);
  json out = json::array();
  for (const auto& [name, p] : rep.policies()) {
    if (p.object().mode == "enforce") continue;
    const auto* s = src.policy(name);
    out.push_back({{"policy", name}, {"mode", p.object().mode}, {"type", p.object().policy_type},
                   {"source_mode", s ? s->object().mode : "-"}});
  }
  return out;
}

struct Sides {
  std::string source, replica;
};

Sides sides(const ExplainInput& in) {
  return in.flipped ? Sides{in.replica_site, in.source_site} : Sides{in.source_site, in.replica_site};
}

json item_json(const diff::DriftItem& d) {
  return {{"policy", d.object},
          {"kind", std::string(diff::to_string(d.kind))},
          {"severity", std::string(diff::to_string(d.severity))},
          {"direction", std::string(diff::to_string(d.direction))},
          {"summary", d.summary}};
}

// Per application: the flows the replica would block and newly allow; and the reasons the pair
// is not ready (every difference that is not expected and not cosmetic).
void judge_items(const ExplainInput& in, const diff::PairResult& result, json& report) {
  const SnapshotView src(in.flipped ? *in.replica : *in.source);
  const SnapshotView rep(in.flipped ? *in.source : *in.replica);
  const auto s = sides(in);
  std::map<std::string, json> apps;
  for (const auto& d : result.items) {
    if (d.expected) continue;
    if (d.severity == diff::Severity::Info) {
      report["cosmetic"].push_back(item_json(d));  // listed, not a reason: no traffic changes
      continue;
    }
    std::string app = application_of(src, d.object);
    if (app.empty()) app = application_of(rep, d.object);
    auto& a = apps[app];
    if (a.is_null()) a = {{"application", app}, {"would_block", json::array()}, {"would_allow", json::array()}};
    const auto e = effect_of(d, s.replica);
    if (!e.blocks.empty()) a["would_block"].push_back({{"policy", d.object}, {"example", e.blocks}});
    if (!e.allows.empty()) a["would_allow"].push_back({{"policy", d.object}, {"example", e.allows}});
    auto reason = item_json(d);
    reason["application"] = app;
    report["reasons"].push_back(std::move(reason));
  }
  for (auto& [name, a] : apps) report["applications"].push_back(std::move(a));
}

json expectations_json(const ExplainInput& in, std::int64_t now_ms) {
  json out = json::array();
  if (!in.rules) return out;
  for (const auto& e : in.rules->expected) {
    out.push_back({{"selector", e.selector()}, {"owner", e.owner}, {"reason", e.reason},
                   {"expires", e.expires}, {"live", e.live(now_ms)}});
  }
  return out;
}

json open_items_json(const std::vector<drift::Item>& open) {
  json out = json::array();
  for (const auto& it : open) {
    out.push_back({{"policy", it.object}, {"kind", it.kind}, {"severity", it.severity},
                   {"state", it.open_state()}, {"opened", format_time(it.opened_ms)},
                   {"summary", it.summary}});
  }
  return out;
}

json history_json(const ReadinessInput& in) {
  json out = json::array();
  for (const auto& h : in.history) {
    out.push_back({{"at", format_time(h.at_ms)}, {"event", h.event}, {"policy", h.policy},
                   {"kind", h.kind}, {"detail", h.detail}});
  }
  return out;
}

json status_history_json(const std::vector<store::StatusChange>& changes) {
  json out = json::array();
  for (const auto& c : changes) {
    out.push_back({{"at", format_time(c.at_ms)}, {"status", c.status},
                   {"was", c.was.empty() ? json() : json(c.was)}, {"reason", c.reason}});
  }
  return out;
}

json applies_json(const std::vector<store::ApplyRecord>& applies) {
  json out = json::array();
  for (const auto& a : applies) {
    out.push_back({{"id", a.id}, {"started", format_time(a.started_ms)}, {"user", a.os_user},
                   {"target", a.target_site}, {"outcome", a.outcome},
                   {"writes", std::to_string(a.writes_done) + "/" + std::to_string(a.writes_planned)},
                   {"message", a.message}});
  }
  return out;
}

json audit_json(const std::optional<store::AuditReport>& audit) {
  if (!audit) return {{"checked", false}, {"intact", nullptr}};
  json j{{"checked", true}, {"intact", audit->intact()}, {"entries", audit->entries},
         {"rows", audit->rows}, {"head_seq", audit->head_seq}};
  if (!audit->intact()) j["first_broken_link"] = audit->problems.front().message;
  return j;
}

std::string time_or_dash(const std::optional<std::int64_t>& ms) {
  return ms ? format_time(*ms) : "-";
}

json status_json(const ExplainInput& in) {
  if (!in.record) return {{"status", "UNKNOWN"}, {"reason", "not compared yet"}, {"since", nullptr}};
  return {{"status", in.record->status}, {"reason", in.record->reason},
          {"since", format_time(in.record->since_ms)}};
}

std::string whole_seconds(std::int64_t ms) { return format_time(ms); }

// The VMs the serving site protects that would land unprotected, or be protected differently,
// on the other site: checked as the daemon checks them, from the site's last complete read.
json vms_json(const ReadinessInput& in, const Sides& s) {
  using State = drift::CoverageRead::State;
  const ExplainInput& p = *in.pair;
  json out{{"source", s.source}, {"read", store::coverage_json(in.coverage, whole_seconds)},
           {"gaps", json::array()}};
  if (!in.coverage || in.coverage->complete_ms == std::nullopt) {
    out["assessed"] = false;
    out["note"] = in.coverage ? "no complete read of the VMs of " + s.source + " yet"
                              : "the VMs of " + s.source + " were never read (vm_coverage off, or no complete poll yet)";
    return out;
  }
  out["assessed"] = true;
  out["note"] = in.coverage->state == State::Failed
                    ? "as of the last complete read; the latest read failed: " + in.coverage->message
                    : "as of the last complete read";
  drift::CoverageInput check;
  check.vms = &in.coverage->data.vms;
  check.protections = &in.coverage->data.protections;
  check.source = p.flipped ? p.replica : p.source;
  check.replica = p.flipped ? p.source : p.replica;
  check.mapping = p.rules ? &p.rules->mapping : nullptr;
  check.flipped = p.flipped;
  for (const auto& g : drift::check_coverage(check)) out["gaps"].push_back(store::gap_json(g));
  return out;
}

}  // namespace

json readiness_report(const ReadinessInput& in) {
  const ExplainInput& p = *in.pair;
  const auto s = sides(p);
  json report{{"schema", "flowdrift-readiness"},
              {"version", 1},
              {"generated", format_time(in.generated_ms)},
              {"pair", p.pair},
              {"source", s.source},
              {"replica", s.replica},
              {"failed_over", p.flipped},
              {"snapshots",
               {{"source", {{"site", p.source_ref.site}, {"id", p.source_ref.id},
                            {"polled", time_or_dash(p.source_ref.polled_ms)}}},
                {"replica", {{"site", p.replica_ref.site}, {"id", p.replica_ref.id},
                             {"polled", time_or_dash(p.replica_ref.polled_ms)}}}}},
              {"notes", p.notes},
              {"reasons", json::array()},
              {"cosmetic", json::array()},
              {"applications", json::array()}};
  judge_items(p, drift::compare_pair(*p.source, *p.replica, p.rules, p.flipped, in.generated_ms),
              report);
  report["monitor_on_replica"] = monitor_on_replica(p);
  report["missing_on_replica"] = missing_references(p);
  for (const auto& m : report["missing_on_replica"]) {
    report["reasons"].push_back({{"kind", "missing_" + m["kind"].get<std::string>()},
                                 {"policy", m["used_by"][0]},
                                 {"severity", "critical"},
                                 {"summary", m["kind"].get<std::string>() + " " +
                                                 m["name"].get<std::string>() + " missing on " +
                                                 s.replica}});
  }
  report["vms"] = vms_json(in, s);
  for (const auto& g : report["vms"]["gaps"]) {
    const bool lost = g["kind"] == "unprotected";
    report["reasons"].push_back(
        {{"kind", "vm_" + g["kind"].get<std::string>()},
         {"policy", g["selected_now"].empty() ? json("-") : g["selected_now"][0]},
         {"severity", lost ? "critical" : "warning"},
         {"summary", "VM " + g["vm"].get<std::string>() + " (" + g["protected_by"].get<std::string>() +
                         ") would be " + (lost ? "unprotected" : "protected differently") + " on " +
                         s.replica + ": " + g["detail"].get<std::string>()}});
  }
  report["ready"] = report["reasons"].empty();
  report["status"] = status_json(p);
  report["open_items"] = open_items_json(in.open);
  report["expected_differences"] = expectations_json(p, in.generated_ms);
  report["history"] = history_json(in);
  report["status_history"] = status_history_json(in.status_history);
  json flips = json::array();
  for (const auto& f : in.flips) flips.push_back(store::flip_json(f));
  report["flips"] = std::move(flips);
  report["applies"] = applies_json(in.applies);
  report["audit"] = audit_json(in.audit);
  return report;
}

}  // namespace flowdrift::ctl
