#include "report/documents.hpp"

#include <map>

#include "core/time_format.hpp"
#include "store/applies.hpp"
#include "store/coverage.hpp"
#include "store/db.hpp"
#include "store/entity_sync.hpp"
#include "store/flips.hpp"

namespace flowdrift::report {
namespace {

using nlohmann::json;

json time_json(std::int64_t ms) { return format_time_ms(ms); }
json time_json(const std::optional<std::int64_t>& ms) {
  return ms ? json(format_time_ms(*ms)) : json(nullptr);
}
json id_json(const std::optional<std::int64_t>& id) { return id ? json(*id) : json(nullptr); }

// A stored JSON column, or the text itself if it does not parse (a read never fails for it).
json embedded(const std::string& text) {
  if (text.empty()) return nullptr;
  auto parsed = json::parse(text, nullptr, false);
  return parsed.is_discarded() ? json(text) : parsed;
}

json pairs_json(store::Database& db) {
  const auto counts = open_counts(db);
  json out = json::array();
  for (const auto& p : store::pair_records(db)) {
    const auto last = store::flips(db, p.pair, 1);
    const auto c = counts.find(p.pair);
    out.push_back({{"name", p.pair},
                   {"source", p.source_site},
                   {"replica", p.replica_site},
                   {"status", p.status},
                   {"reason", p.reason},
                   {"since", time_json(p.since_ms)},
                   {"updated", time_json(p.updated_ms)},
                   {"skew_seconds", p.skew_ms ? json(static_cast<double>(*p.skew_ms) / 1000.0)
                                              : json(nullptr)},
                   {"source_snapshot", id_json(p.source_snapshot_id)},
                   {"replica_snapshot", id_json(p.replica_snapshot_id)},
                   {"open", c != counts.end() ? c->second : no_open_items()},
                   {"last_flip", last.empty() ? json(nullptr) : store::flip_json(last.front())}});
  }
  return out;
}

// The latest poll of each site and the snapshot of its latest complete one.
json sites_json(store::Database& db) {
  auto st = db.prepare(
      "SELECT s.name, p.finished_ms, p.outcome, p.reason, p.message, p.api, c.finished_ms, "
      "       sn.id, sn.hash, sn.first_seen_ms, sn.policy_count "
      "FROM sites s JOIN polls p ON p.id = (SELECT max(id) FROM polls WHERE site_id = s.id) "
      "LEFT JOIN polls c ON c.id = (SELECT max(id) FROM polls WHERE site_id = s.id AND "
      "                             outcome = 'complete') "
      "LEFT JOIN snapshots sn ON sn.id = c.snapshot_id "
      "ORDER BY s.name");
  const bool sync = db.has_table("entity_sync_reads");
  const bool coverage = db.has_table("coverage_reads");
  json out = json::array();
  while (st.step()) {
    const std::string name = st.column_text(0);
    const auto complete = st.column_optional_int64(6);
    json s{{"name", name},
           {"api", st.column_text(5)},
           {"last_poll", time_json(st.column_int64(1))},
           {"last_outcome", st.column_text(2)},
           {"last_reason", st.column_text(3)},
           {"last_message", st.column_text(4)},
           {"last_complete_poll", time_json(complete)},
           {"policies", complete ? json(st.column_int64(10)) : json(nullptr)},
           {"snapshot", complete ? json{{"id", st.column_int64(7)},
                                        {"hash", st.column_text(8)},
                                        {"first_seen", time_json(st.column_int64(9))}}
                                 : json(nullptr)}};
    s["entity_sync"] = store::entity_sync_json(
        sync ? store::entity_sync(db, name) : std::nullopt, format_time_ms);
    s["vm_coverage"] =
        store::coverage_json(coverage ? store::coverage(db, name) : std::nullopt, format_time_ms);
    out.push_back(std::move(s));
  }
  return out;
}

json disagreements_json(store::Database& db) {
  json out = json::array();
  if (!db.has_table("entity_sync_reads")) return out;
  for (const auto& r : store::open_disagreements(db)) {
    out.push_back(store::disagreement_json(r, format_time_ms));
  }
  return out;
}

json gaps_json(store::Database& db) {
  json out = json::array();
  if (!db.has_table("coverage_reads")) return out;
  for (const auto& r : store::open_gaps(db)) {
    auto j = store::gap_json(r.gap);
    j["pair"] = r.pair;
    j["since"] = time_json(r.opened_ms);
    out.push_back(std::move(j));
  }
  return out;
}

json flips_json(store::Database& db) {
  json out = json::array();
  for (const auto& f : store::flips(db, "", 5)) out.push_back(store::flip_json(f));
  return out;
}

}  // namespace

json no_open_items() { return json{{"alerting", 0}, {"pending", 0}, {"expected", 0}}; }

std::map<std::string, json> open_counts(store::Database& db) {
  store::DriftQuery q;
  q.open_only = true;
  std::map<std::string, json> counts;
  for (const auto& it : store::drift_items(db, q)) {
    auto& c = counts.try_emplace(it.pair, no_open_items()).first->second;
    const std::string state = it.open_state();
    auto& n = c[state == "raised" ? "alerting" : state];
    n = n.get<int>() + 1;
  }
  return counts;
}

json status_document(store::Database& db) {
  return json{{"schema", kStatusSchema},
              {"pairs", pairs_json(db)},
              {"sites", sites_json(db)},
              {"sync_disagreements", disagreements_json(db)},
              {"vm_coverage_gaps", gaps_json(db)},
              {"flips", flips_json(db)}};
}

json drift_item_json(const drift::Item& it) {
  return json{{"id", it.id},
              {"pair", it.pair},
              {"source", it.source_site},
              {"replica", it.replica_site},
              {"policy", it.object},
              {"kind", it.kind},
              {"severity", it.severity},
              {"direction", it.direction},
              {"summary", it.summary},
              {"state", it.state()},
              {"opened", time_json(it.opened_ms)},
              {"raised", time_json(it.raised_ms)},
              {"resolved", time_json(it.resolved_ms)},
              {"updated", time_json(it.updated_ms)},
              {"seen", it.seen},
              {"expectation", embedded(it.expectation_json)},
              {"fields", embedded(it.fields_json)}};
}

json drift_document(store::Database& db, const DriftFilter& filter) {
  json items = json::array();
  std::size_t matched = 0;
  for (const auto& it : store::drift_items(db, filter.query)) {
    if (filter.state && it.state() != *filter.state) continue;
    if (++matched > filter.limit) continue;  // keep counting: `total` says how many were left out
    items.push_back(drift_item_json(it));
  }
  return json{{"schema", kDriftSchema},
              {"items", std::move(items)},
              {"total", matched},
              {"limit", filter.limit},
              {"truncated", matched > filter.limit}};
}

json history_document(store::Database& db, const store::HistoryQuery& query) {
  json versions = json::array();
  for (const auto& v : store::policy_history(db, query)) {
    versions.push_back({{"site", v.site},
                        {"policy", v.policy},
                        {"hash", v.hash},
                        {"type", v.policy_type},
                        {"mode", v.mode},
                        {"first_seen", time_json(v.first_seen_ms)},
                        {"last_seen", time_json(v.last_seen_ms)},
                        {"current", v.current}});
  }
  return json{{"schema", kHistorySchema}, {"versions", std::move(versions)}};
}

json applies_document(store::Database& db) {
  json list = json::array();
  for (const auto& a : store::applies(db)) {
    json requests = json::array();
    for (const auto& r : store::apply_requests(db, a.id)) {
      requests.push_back({{"step", r.step}, {"op", r.op}, {"kind", r.kind}, {"name", r.name},
                          {"method", r.method}, {"path", r.path}, {"status", r.status},
                          {"sent", time_json(r.sent_ms)}, {"duration_ms", r.duration_ms}});
    }
    list.push_back({{"id", a.id}, {"started", time_json(a.started_ms)},
                    {"finished", time_json(a.finished_ms)}, {"user", a.os_user},
                    {"plan_hash", a.plan_hash}, {"pair", a.pair}, {"target", a.target_site},
                    {"target_snapshot", a.target_snapshot}, {"writes_planned", a.writes_planned},
                    {"writes_done", a.writes_done}, {"outcome", a.outcome},
                    {"message", a.message}, {"after_snapshot", a.after_snapshot ? json(*a.after_snapshot) : json(nullptr)},
                    {"requests", std::move(requests)}});
  }
  return json{{"schema", kAppliesSchema}, {"applies", std::move(list)}};
}

json flip_document(const store::FlipRecord& flip) {
  auto doc = store::flip_json(flip);
  doc["schema"] = kFlipSchema;
  return doc;
}

std::string short_time(const json& time) {
  if (!time.is_string()) return "";
  std::string text = time.get<std::string>();
  const auto dot = text.find('.');
  if (dot != std::string::npos && text.back() == 'Z') text.erase(dot, text.size() - 1 - dot);
  return text;
}

}  // namespace flowdrift::report
