#include "app/api.hpp"

#include <algorithm>
#include <ctime>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "core/clock.hpp"
#include "core/printable.hpp"
#include "core/time_format.hpp"
#include "report/documents.hpp"
#include "report/explain.hpp"
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



std::optional<std::string> param(const std::map<std::string, std::string>& query,
                                 const char* name) {
  const auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

std::optional<http::ServerReply> unknown_parameter(const std::map<std::string, std::string>& query,
                                                   std::initializer_list<const char*> known) {
  std::string names;
  for (const char* k : known) names += (names.empty() ? "" : ", ") + std::string(k);
  for (const auto& [name, value] : query) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return error_reply(400, "unknown query parameter '" + printable(name, 64) + "' (" + names + ")");
    }
  }
  return std::nullopt;
}

// Decimal digits only, at most `max_digits` of them.
std::optional<std::size_t> small_number(const std::string& text, std::size_t max_digits) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  std::size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  return value;
}

const config::PairConfig* configured_pair(const config::Config& config, const std::string& name) {
  for (const auto& p : config.pairs) {
    if (p.name == name) return &p;
  }
  return nullptr;
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
  if (path == "/api/v1/history") return history(*query);
  if (path == "/api/v1/explain") return explain(*query);
  static const std::set<std::string_view> kPlain = {"/api/v1/pairs", "/api/v1/sites",
                                                    "/api/v1/status", "/api/v1/applies"};
  if (kPlain.count(path) == 0) {
    return error_reply(404, "unknown API endpoint " + printable(path, 200) +
                                " (/api/v1/pairs, /api/v1/sites, /api/v1/status, /api/v1/drift, "
                                "/api/v1/history, /api/v1/applies, /api/v1/explain)");
  }
  if (!query->empty()) {
    return error_reply(400, "unknown query parameter '" + printable(query->begin()->first, 64) +
                                "' (" + std::string(path) + " takes none)");
  }
  if (path == "/api/v1/pairs") return pairs();
  if (path == "/api/v1/sites") return sites();
  if (path == "/api/v1/status") return json_reply(200, report::status_document(store_.db()));
  return json_reply(200, report::applies_document(store_.db()));
}

http::ServerReply Api::pairs() {
  auto& db = store_.db();
  std::map<std::string, store::PairRecord> records;
  for (auto& r : store::pair_records(db)) records.emplace(r.pair, std::move(r));
  const auto counts = report::open_counts(db);
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
    const auto c = counts.find(p.name);
    j["open"] = c != counts.end() ? c->second : report::no_open_items();
    j["sync_disagreements"] = disagreements_json(store::open_disagreements(db, p.name));
    j["vm_coverage_gaps"] = gaps_json(store::open_gaps(db, p.name));
    out.push_back(std::move(j));
  }
  return json_reply(200, json{{"schema", kPairsSchema}, {"pairs", std::move(out)}});
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
  return json_reply(200, json{{"schema", kSitesSchema}, {"sites", std::move(out)}});
}

http::ServerReply Api::drift(const std::map<std::string, std::string>& query) {
  if (auto bad = unknown_parameter(query, {"pair", "state", "all", "since", "limit"})) return *bad;
  report::DriftFilter f;
  f.query.open_only = true;
  if (auto all = param(query, "all")) {
    if (*all == "1" || *all == "true") {
      f.query.open_only = false;
    } else if (*all != "0" && *all != "false") {
      return error_reply(400, "all must be 1, true, 0 or false");
    }
  }
  f.state = param(query, "state");
  if (f.state && *f.state != "pending" && *f.state != "raised" && *f.state != "expected" &&
      !(*f.state == "resolved" && !f.query.open_only)) {
    return error_reply(400, "state must be pending, raised or expected (or resolved with all=1)");
  }
  if (auto pair = param(query, "pair")) {
    if (!configured_pair(config_, *pair)) return error_reply(404, "unknown pair '" + printable(*pair, 64) + "'");
    f.query.pair = *pair;
  }
  if (auto since = param(query, "since")) {
    const auto seconds = small_number(*since, 12);
    if (!seconds) return error_reply(400, "since must be unix seconds");
    f.query.since_ms = static_cast<std::int64_t>(*seconds) * 1000;
  }
  if (auto text = param(query, "limit")) {
    const auto value = small_number(*text, 6);
    if (!value || *value == 0 || *value > kMaxLimit) {
      return error_reply(400, "limit must be an integer from 1 to " + std::to_string(kMaxLimit));
    }
    f.limit = *value;
  }
  return json_reply(200, report::drift_document(store_.db(), f));
}

http::ServerReply Api::history(const std::map<std::string, std::string>& query) {
  if (auto bad = unknown_parameter(query, {"site", "policy"})) return *bad;
  store::HistoryQuery q;
  q.site = param(query, "site");
  q.policy = param(query, "policy");
  return json_reply(200, report::history_document(store_.db(), q));
}

http::ServerReply Api::explain(const std::map<std::string, std::string>& query) {
  if (auto bad = unknown_parameter(query, {"pair", "policy"})) return *bad;
  const auto pair = param(query, "pair");
  const auto policy = param(query, "policy");
  if (!pair || !policy) return error_reply(400, "explain takes pair and policy");
  const auto* configured = configured_pair(config_, *pair);
  if (!configured) return error_reply(404, "unknown pair '" + printable(*pair, 64) + "'");
  const report::ExplainRequest request{*pair, *policy, configured, config_.file, unix_now_ms()};
  auto doc = report::explain_document(store_.db(), request);
  if (!doc) return error_reply(doc.error().http_status, doc.error().message);
  return json_reply(200, *doc);
}

}  // namespace flowdrift::app
