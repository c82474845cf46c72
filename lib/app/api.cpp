#include "app/api.hpp"

#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "core/printable.hpp"
#include "core/time_format.hpp"
#include "store/db.hpp"
#include "store/drift.hpp"
#include "store/coverage.hpp"
#include "store/entity_sync.hpp"
#include "store/flips.hpp"

namespace flowdrift::app {
namespace {

using nlohmann::json;

// RFC 3339 UTC with milliseconds, e.g. "2024-05-01T12:00:00.250Z".
std::string rfc3339(std::int64_t unix_ms) { return format_time_ms(unix_ms); }

json time_or_null(const std::optional<std::int64_t>& ms) {
  return ms ? json(rfc3339(*ms)) : json(nullptr);
}

json disagreements_json(const std::vector<store::DisagreementRecord>& open) {
  json out = json::array();
  for (const auto& r : open) out.push_back(store::disagreement_json(r, format_time_ms));
  return out;
}

json gaps_json(const std::vector<store::GapRecord>& open) {
  json out = json::array();
  for (const auto& r : open) {
    auto j = store::gap_json(r.gap);
    j["since"] = rfc3339(r.opened_ms);
    out.push_back(std::move(j));
  }
  return out;
}

http::ServerReply json_reply(int status, const json& body) {
  http::ServerReply r;
  r.response.status = status;
  r.response.headers.push_back({"Content-Type", "application/json"});
  // Whatever was stored, the answer is valid JSON: bytes that are not UTF-8 become U+FFFD.
  r.response.body = body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  return r;
}

http::ServerReply error_reply(int status, const std::string& message) {
  return json_reply(status, json{{"error", message}});
}


// A stored JSON column, or the text itself if it does not parse (never fail a read for it).
json embedded(const std::string& text) {
  if (text.empty()) return nullptr;
  auto parsed = json::parse(text, nullptr, false);
  return parsed.is_discarded() ? json(text) : parsed;
}

}  // namespace

Api::Api(const config::Config& config, store::Store& store, SiteUp site_up)
    : config_(config), store_(store), site_up_(std::move(site_up)) {}

bool Api::owns(std::string_view path) { return path.rfind("/api/", 0) == 0 || path == "/api"; }

http::ServerReply Api::handle(const http::HttpRequest& request) {
  std::string error;
  const auto query = http::parse_query(request.target, error);
  if (!query) return error_reply(400, error);
  const auto path = request.path();
  if (path == "/api/v1/drift") return drift(*query);
  const bool known = path == "/api/v1/pairs" || path == "/api/v1/sites";
  if (!known) {
    return error_reply(404, "unknown API endpoint " + std::string(path) +
                                " (/api/v1/pairs, /api/v1/sites, /api/v1/drift)");
  }
  if (!query->empty()) {
    return error_reply(400, "unknown query parameter '" + printable(query->begin()->first, 64) +
                                "' (" + std::string(path) + " takes none)");
  }
  return path == "/api/v1/pairs" ? pairs() : sites();
}

http::ServerReply Api::pairs() {
  auto& db = store_.db();
  std::map<std::string, store::PairRecord> records;
  for (auto& r : store::pair_records(db)) records.emplace(r.pair, std::move(r));
  struct Counts {
    int raised = 0, pending = 0, expected = 0;
  };
  std::map<std::string, Counts> counts;
  store::DriftQuery open;
  open.open_only = true;
  for (const auto& it : store::drift_items(db, open)) {
    auto& c = counts[it.pair];
    const std::string state = it.state();
    if (state == "expected") {
      ++c.expected;
    } else if (state == "pending") {
      ++c.pending;
    } else {
      ++c.raised;
    }
  }
  json out = json::array();
  for (const auto& p : config_.pairs) {
    const auto last_flip = store::last_applied_flip(db, p.name);
    const bool over = last_flip && last_flip->source_site == p.replica;
    json j{{"name", p.name},
           {"source", over ? p.replica : p.source},
           {"replica", over ? p.source : p.replica},
           {"failed_over", over},
           {"last_flip", last_flip ? store::flip_json(*last_flip) : json()}};
    auto rec = records.find(p.name);
    if (rec == records.end()) {
      j["status"] = "UNKNOWN";
      j["reason"] = "not compared yet";
      j["since"] = nullptr;
      j["updated"] = nullptr;
      j["skew_seconds"] = nullptr;
      j["source_snapshot"] = nullptr;
      j["replica_snapshot"] = nullptr;
    } else {
      const auto& r = rec->second;
      j["status"] = r.status;
      j["reason"] = r.reason;
      j["since"] = rfc3339(r.since_ms);
      j["updated"] = rfc3339(r.updated_ms);
      j["skew_seconds"] = r.skew_ms ? json(static_cast<double>(*r.skew_ms) / 1000.0) : json();
      j["source_snapshot"] = r.source_snapshot_id ? json(*r.source_snapshot_id) : json();
      j["replica_snapshot"] = r.replica_snapshot_id ? json(*r.replica_snapshot_id) : json();
    }
    const auto& c = counts[p.name];
    j["open"] = {{"alerting", c.raised}, {"pending", c.pending}, {"expected", c.expected}};
    j["sync_disagreements"] = disagreements_json(store::open_disagreements(db, p.name));
    j["vm_coverage_gaps"] = gaps_json(store::open_gaps(db, p.name));
    out.push_back(std::move(j));
  }
  return json_reply(200, json{{"pairs", std::move(out)}});
}

http::ServerReply Api::sites() {
  std::map<std::string, store::SiteState> states;
  for (auto& s : store_.site_states()) states.emplace(s.site, std::move(s));
  // The API of each site's latest poll (polls_site index: one row per site).
  auto& last_api = store_.db().cached(
      "SELECT p.api FROM polls p JOIN sites s ON s.id = p.site_id WHERE s.name = ?1 "
      "ORDER BY p.id DESC LIMIT 1");
  json out = json::array();
  for (const auto& site : config_.sites) {
    json j{{"name", site.name},
           {"api_configured", std::string(config::to_string(site.api))},
           {"up", site_up_(site.name)}};
    if (config::is_baseline(site)) {
      j["api_configured"] = "baseline";
      j["baseline"] = site.baseline;
    }
    auto st = states.find(site.name);
    if (st == states.end()) {
      j["api"] = nullptr;
      j["last_poll"] = nullptr;
      j["last_outcome"] = nullptr;
      j["last_reason"] = nullptr;
      j["last_message"] = nullptr;
      j["last_complete_poll"] = nullptr;
      j["policies"] = nullptr;
      j["snapshot"] = nullptr;
    } else {
      const auto& s = st->second;
      last_api.reset();
      last_api.bind(1, site.name);
      auto api = last_api.query_text();
      j["api"] = api ? json(*api) : json();
      j["last_poll"] = rfc3339(s.last_poll_ms);
      j["last_outcome"] = s.last_outcome;
      j["last_reason"] = s.last_reason;
      j["last_message"] = s.last_message;
      if (s.current) {
        j["last_complete_poll"] = rfc3339(s.current->last_poll_ms);
        j["policies"] = s.current->policy_count;
        j["snapshot"] = {{"id", s.current->id},
                         {"hash", s.current->hash},
                         {"first_seen", rfc3339(s.current->first_seen_ms)}};
      } else {
        j["last_complete_poll"] = nullptr;
        j["policies"] = nullptr;
        j["snapshot"] = nullptr;
      }
    }
    j["entity_sync"] = store::entity_sync_json(store::entity_sync(store_.db(), site.name), format_time_ms);
    j["vm_coverage"] = store::coverage_json(store::coverage(store_.db(), site.name), format_time_ms);
    out.push_back(std::move(j));
  }
  return json_reply(200, json{{"sites", std::move(out)}});
}

http::ServerReply Api::drift(const std::map<std::string, std::string>& query) {
  static const std::set<std::string> kKnown = {"pair", "state", "all", "limit"};
  for (const auto& [name, value] : query) {
    if (kKnown.count(name) == 0) {
      return error_reply(400, "unknown query parameter '" + printable(name, 64) +
                                  "' (pair, state, all, limit)");
    }
  }
  const auto param = [&](const char* name) -> std::optional<std::string> {
    const auto it = query.find(name);
    if (it == query.end()) return std::nullopt;
    return it->second;
  };
  store::DriftQuery q;
  q.open_only = true;
  if (auto all = param("all")) {
    if (*all == "1" || *all == "true") {
      q.open_only = false;
    } else if (*all != "0" && *all != "false") {
      return error_reply(400, "all must be 1, true, 0 or false");
    }
  }
  std::optional<std::string> state = param("state");
  if (state && *state != "pending" && *state != "raised" && *state != "expected" &&
      !(*state == "resolved" && !q.open_only)) {
    return error_reply(400, "state must be pending, raised or expected (or resolved with all=1)");
  }
  if (auto pair = param("pair")) {
    bool known = false;
    for (const auto& p : config_.pairs) known = known || p.name == *pair;
    if (!known) return error_reply(404, "unknown pair '" + printable(*pair, 64) + "'");
    q.pair = *pair;
  }
  std::size_t limit = kDefaultLimit;
  if (auto text = param("limit")) {
    std::size_t value = 0;
    bool digits = !text->empty() && text->size() <= 6;
    for (char c : *text) {
      digits = digits && c >= '0' && c <= '9';
      if (digits) value = value * 10 + static_cast<std::size_t>(c - '0');
    }
    if (!digits || value == 0 || value > kMaxLimit) {
      return error_reply(400, "limit must be an integer from 1 to " + std::to_string(kMaxLimit));
    }
    limit = value;
  }

  json items = json::array();
  std::size_t matched = 0;
  for (const auto& it : store::drift_items(store_.db(), q)) {
    const std::string s = it.state();
    if (state && s != *state) continue;
    if (++matched > limit) continue;  // keep counting: `total` tells how many were left out
    items.push_back({{"id", it.id},
                     {"pair", it.pair},
                     {"source", it.source_site},
                     {"replica", it.replica_site},
                     {"policy", it.object},
                     {"kind", it.kind},
                     {"severity", it.severity},
                     {"direction", it.direction},
                     {"summary", it.summary},
                     {"state", s},
                     {"opened", rfc3339(it.opened_ms)},
                     {"raised", time_or_null(it.raised_ms)},
                     {"resolved", time_or_null(it.resolved_ms)},
                     {"updated", rfc3339(it.updated_ms)},
                     {"seen", it.seen},
                     {"expectation", embedded(it.expectation_json)},
                     {"fields", embedded(it.fields_json)}});
  }
  return json_reply(200, json{{"items", std::move(items)},
                              {"total", matched},
                              {"limit", limit},
                              {"truncated", matched > limit}});
}

}  // namespace flowdrift::app
