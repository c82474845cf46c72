// flowdriftd's read-only JSON API (docs/api.md): the current state of every pair, site and open
// drift item, read from the store on the event-loop thread that owns it. Tested without sockets.
//   GET /api/v1/pairs   status, reason, since, open items by state, snapshot skew
//   GET /api/v1/sites   last poll and last complete poll, API, policies, current snapshot
//   GET /api/v1/drift   open items; ?pair=P ?state=pending|raised|expected ?all=1 ?since=T ?limit=N
//   GET /api/v1/status  what `flowdriftctl status` prints (report/documents.hpp), as stored
//   GET /api/v1/history every stored version of each policy; ?site=S ?policy=P
//   GET /api/v1/applies flowdriftctl apply's audit trail
//   GET /api/v1/explain one policy of a pair (report/explain.hpp), with the daemon's own
//                       mappings and expectations; ?pair=P&policy=N
// Every body names its schema ("flowdrift.pairs/v1", ...).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "http/server.hpp"
#include "http/types.hpp"
#include "store/store.hpp"

namespace flowdrift::app {

class Api {
 public:
  static constexpr std::size_t kDefaultLimit = 1000;
  static constexpr std::size_t kMaxLimit = 10000;
  static constexpr const char* kPairsSchema = "flowdrift.pairs/v1";
  static constexpr const char* kSitesSchema = "flowdrift.sites/v1";

  // Whether a site is up: the daemon's live view, the one flowdrift_site_up exports (false
  // until the site is polled after a start, and when a poll's result could not be stored), so
  // that /api/v1/sites and /metrics never disagree.
  using SiteUp = std::function<bool(const std::string& site)>;

  // config and store must outlive the Api.
  Api(const config::Config& config, store::Store& store, SiteUp site_up);

  // Whether `path` belongs to the API (everything under /api/).
  static bool owns(std::string_view path);
  // Answers a GET or HEAD under /api/ (the router checks the method): 200 with JSON, 400 for a
  // bad query parameter, 404 for an unknown endpoint or pair. Every body is JSON.
  http::ServerReply handle(const http::HttpRequest& request);

 private:
  http::ServerReply pairs();
  http::ServerReply sites();
  http::ServerReply drift(const std::map<std::string, std::string>& query);
  http::ServerReply history(const std::map<std::string, std::string>& query);
  http::ServerReply explain(const std::map<std::string, std::string>& query);

  const config::Config& config_;
  store::Store& store_;
  SiteUp site_up_;
};

}  // namespace flowdrift::app
