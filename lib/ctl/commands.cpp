#include "ctl/commands.hpp"

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

#include "config/config.hpp"
#include "config/units.hpp"
#include "core/clock.hpp"
#include "http/asio.hpp"
#include "http/client.hpp"
#include "scheduler/collector.hpp"
#include "store/db.hpp"
#include "store/drift.hpp"
#include "store/history.hpp"
#include "store/store.hpp"

namespace flowdrift::ctl {
namespace {

using nlohmann::json;

// Boost 1.74's co_spawn needs a default-constructible result: hand it back through `out`.
awaitable<void> fetch_site(http::HttpTransport* transport, std::string api,
                           prism::FetchOptions options, prism::FetchStats* stats,
                           std::optional<Result<scheduler::FetchedSite>>* out) {
  out->emplace(co_await scheduler::fetch_site_data(*transport, std::move(api), "",
                                                   std::move(options), stats));
}

// Opens the database read-only; never creates or migrates it.
std::unique_ptr<store::Database> open_db(const DbArgs& args, std::ostream& err) {
  std::string path = args.db;
  if (path.empty()) {
    try {
      path = config::load_config(args.config.empty() ? "/etc/flowdrift/flowdrift.yaml"
                                                     : args.config)
                 .storage.path;
    } catch (const config::ConfigError& e) {
      err << "flowdriftctl: invalid configuration:\n" << e.what() << "\n";
      return nullptr;
    }
  }
  if (!std::filesystem::exists(path)) {
    err << "flowdriftctl: " << path << ": no such database (has flowdriftd run yet?)\n";
    return nullptr;
  }
  try {
    auto db = std::make_unique<store::Database>(path, store::Database::Mode::ReadOnly);
    db->set_busy_timeout(5000);
    if (db->query_int64("PRAGMA application_id").value_or(0) != 0x466C4472) {
      err << "flowdriftctl: " << path << ": not a flowdrift database\n";
      return nullptr;
    }
    return db;
  } catch (const store::StoreError& e) {
    err << "flowdriftctl: " << path << ": " << e.what() << "\n";
    return nullptr;
  }
}

std::string pad(const std::string& s, std::size_t w) {
  return s.size() >= w ? s + " " : s + std::string(w - s.size(), ' ');
}

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> w;
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], r[i].size() + 1);
    }
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) line += i + 1 < r.size() ? pad(r[i], w[i]) : r[i];
    out << line << "\n";
  }
}

}  // namespace

std::string format_time(std::int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::int64_t> parse_time(const std::string& text, std::int64_t now_ms) {
  if (text.empty()) return std::nullopt;
  if (text.find_first_not_of("0123456789") == std::string::npos) {
    try {
      return std::stoll(text) * 1000;
    } catch (...) {
      return std::nullopt;
    }
  }
  std::tm tm{};
  std::istringstream in(text);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  if (!in.fail()) {
    std::string rest;
    in >> rest;
    if (rest == "Z" || rest.empty()) return static_cast<std::int64_t>(timegm(&tm)) * 1000;
    return std::nullopt;
  }
  if (auto age = config::parse_duration(text)) return now_ms - age->count();
  return std::nullopt;
}

int run_diff(const DiffArgs& args, std::ostream& out, std::ostream& err) {
  auto source = load_site_file(args.source, args.source_refs);
  if (!source) {
    err << "flowdriftctl: " << source.error().message << "\n";
    return kExitError;
  }
  auto replica = load_site_file(args.replica, args.replica_refs);
  if (!replica) {
    err << "flowdriftctl: " << replica.error().message << "\n";
    return kExitError;
  }
  auto result = diff::diff_snapshots(source->snapshot, replica->snapshot);
  if (args.format == "json") {
    out << diff_json(*source, *replica, result).dump(2) << "\n";
  } else {
    out << diff_text(*source, *replica, result);
  }
  return result.items.empty() ? kExitInSync : kExitDrift;
}

int run_dump(const DumpArgs& args, std::ostream& out, std::ostream& err) {
  config::Config cfg;
  try {
    cfg = config::load_config(args.config);
  } catch (const config::ConfigError& e) {
    err << "flowdriftctl: invalid configuration:\n" << e.what() << "\n";
    return kExitError;
  }
  const auto* site = cfg.find_site(args.site);
  if (!site) {
    err << "flowdriftctl: no site named '" << args.site << "' in " << args.config << "\n";
    return kExitError;
  }
  asio::io_context io;
  std::string password;
  std::unique_ptr<http::HttpTransport> transport;
  try {
    password = config::read_password(*site);
    transport = scheduler::make_site_transport(io.get_executor(), *site);
  } catch (const std::exception& e) {
    err << "flowdriftctl: " << e.what() << "\n";
    return kExitError;
  }
  auto opts = scheduler::fetch_options(*site, password);
  opts.allow_empty = true;  // a dump reports what the site says; diff decides what it means
  prism::FetchStats stats;
  std::optional<Result<scheduler::FetchedSite>> result;
  asio::co_spawn(io, fetch_site(transport.get(), site->api, std::move(opts), &stats, &result),
                 [&](std::exception_ptr e) {
                   if (e) result.emplace(make_error(ErrorReason::Other, "internal error"));
                 });
  io.run();
  if (!result || !*result) {
    err << "flowdriftctl: site " << site->name << ": "
        << (result ? std::string(to_string(result->error().reason)) + ": " + result->error().message
                   : "fetch did not complete")
        << "\n";
    return kExitError;
  }
  const auto& fetched = **result;
  const auto now = unix_now_ms();
  auto doc = fetched.v4 ? make_dump(*fetched.v4, site->name, site->url, now)
                        : make_dump(*fetched.v3, site->name, site->url, now);
  const auto policies = fetched.v4 ? fetched.v4->policies.size() : fetched.v3->rules.size();
  if (args.output.empty()) {
    out << doc.dump(1) << "\n";
  } else {
    std::ofstream f(args.output, std::ios::trunc);
    f << doc.dump(1) << "\n";
    if (!f.flush()) {
      err << "flowdriftctl: cannot write " << args.output << "\n";
      return kExitError;
    }
    err << "flowdriftctl: wrote " << args.output << " (" << policies << " policies over "
        << fetched.api << ", " << stats.requests << " requests)\n";
  }
  return 0;
}

int run_status(const DbArgs& args, std::ostream& out, std::ostream& err) {
  auto db = open_db(args, err);
  if (!db) return kExitError;
  try {
    auto pairs = store::pair_records(*db);
    std::map<std::string, std::size_t> open_counts;
    store::DriftQuery q;
    q.open_only = true;
    for (const auto& it : store::drift_items(*db, q)) ++open_counts[it.pair];
    auto sites = db->prepare(
        "SELECT s.name, p.finished_ms, p.outcome, p.reason, p.message, "
        " (SELECT sn.policy_count || ' ' || substr(sn.hash, 1, 12) FROM polls c "
        "  JOIN snapshots sn ON sn.id = c.snapshot_id WHERE c.site_id = s.id AND "
        "  c.outcome = 'complete' ORDER BY c.id DESC LIMIT 1) "
        "FROM sites s JOIN polls p ON p.id = (SELECT max(id) FROM polls WHERE site_id = s.id) "
        "ORDER BY s.name");
    if (args.format == "json") {
      json j{{"pairs", json::array()}, {"sites", json::array()}};
      for (const auto& p : pairs) {
        j["pairs"].push_back({{"pair", p.pair}, {"source", p.source_site}, {"replica", p.replica_site},
                              {"status", p.status}, {"reason", p.reason},
                              {"since", format_time(p.since_ms)}, {"open_items", open_counts[p.pair]}});
      }
      while (sites.step()) {
        j["sites"].push_back({{"site", sites.column_text(0)}, {"last_poll", format_time(sites.column_int64(1))},
                              {"outcome", sites.column_text(2)}, {"reason", sites.column_text(3)},
                              {"message", sites.column_text(4)}, {"snapshot", sites.column_text(5)}});
      }
      out << j.dump(2) << "\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows{{"PAIR", "SOURCE", "REPLICA", "STATUS", "SINCE", "OPEN", "REASON"}};
    for (const auto& p : pairs) {
      rows.push_back({p.pair, p.source_site, p.replica_site, p.status, format_time(p.since_ms),
                      std::to_string(open_counts[p.pair]), p.reason});
    }
    print_table(out, rows);
    out << "\n";
    std::vector<std::vector<std::string>> srows{{"SITE", "LAST POLL", "OUTCOME", "REASON", "POLICIES SNAPSHOT"}};
    while (sites.step()) {
      srows.push_back({sites.column_text(0), format_time(sites.column_int64(1)), sites.column_text(2),
                       sites.column_text(3), sites.column_text(5)});
    }
    print_table(out, srows);
  } catch (const store::StoreError& e) {
    err << "flowdriftctl: " << e.what() << "\n";
    return kExitError;
  }
  return 0;
}

int run_drift(const DbArgs& args, std::ostream& out, std::ostream& err) {
  store::DriftQuery q;
  if (!args.pair.empty()) q.pair = args.pair;
  q.open_only = args.open_only;
  if (!args.since.empty()) {
    q.since_ms = parse_time(args.since, unix_now_ms());
    if (!q.since_ms) {
      err << "flowdriftctl: --since " << args.since
          << ": expected unix seconds, 2026-11-25T10:00:00Z, or an age like 24h\n";
      return kExitError;
    }
  }
  auto db = open_db(args, err);
  if (!db) return kExitError;
  try {
    auto items = store::drift_items(*db, q);
    if (args.format == "json") {
      json arr = json::array();
      for (const auto& it : items) {
        arr.push_back({{"pair", it.pair}, {"source", it.source_site}, {"replica", it.replica_site},
                       {"policy", it.object}, {"kind", it.kind}, {"severity", it.severity},
                       {"direction", it.direction}, {"summary", it.summary},
                       {"fields", json::parse(it.fields_json, nullptr, false)},
                       {"opened", format_time(it.opened_ms)},
                       {"resolved", it.resolved_ms ? json(format_time(*it.resolved_ms)) : json()}});
      }
      out << arr.dump(2) << "\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows{
        {"PAIR", "POLICY", "KIND", "SEVERITY", "OPENED", "RESOLVED", "SUMMARY"}};
    for (const auto& it : items) {
      rows.push_back({it.pair, it.object, it.kind, it.severity, format_time(it.opened_ms),
                      it.resolved_ms ? format_time(*it.resolved_ms) : "open", it.summary});
    }
    print_table(out, rows);
  } catch (const store::StoreError& e) {
    err << "flowdriftctl: " << e.what() << "\n";
    return kExitError;
  }
  return 0;
}

int run_history(const DbArgs& args, std::ostream& out, std::ostream& err) {
  store::HistoryQuery q;
  if (!args.site.empty()) q.site = args.site;
  if (!args.policy.empty()) q.policy = args.policy;
  auto db = open_db(args, err);
  if (!db) return kExitError;
  try {
    const auto versions = store::policy_history(*db, q);
    if (args.format == "json") {
      json arr = json::array();
      for (const auto& v : versions) {
        arr.push_back({{"site", v.site}, {"policy", v.policy}, {"hash", v.hash},
                       {"type", v.policy_type}, {"mode", v.mode},
                       {"first_seen", format_time(v.first_seen_ms)},
                       {"last_seen", format_time(v.last_seen_ms)}, {"current", v.current}});
      }
      out << arr.dump(2) << "\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows{
        {"SITE", "POLICY", "VERSION", "MODE", "FIRST SEEN", "LAST SEEN", ""}};
    for (const auto& v : versions) {
      rows.push_back({v.site, v.policy, v.hash.substr(0, 12), v.mode,
                      format_time(v.first_seen_ms), format_time(v.last_seen_ms),
                      v.current ? "current" : ""});
    }
    print_table(out, rows);
    if (versions.empty()) err << "flowdriftctl: no stored versions match\n";
  } catch (const store::StoreError& e) {
    err << "flowdriftctl: " << e.what() << "\n";
    return kExitError;
  }
  return 0;
}

}  // namespace flowdrift::ctl
