#include "ctl/commands.hpp"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>
#include <thread>
#include <tuple>

#include "config/config.hpp"
#include "config/units.hpp"
#include "core/clock.hpp"
#include "core/printable.hpp"
#include "core/time_format.hpp"
#include "policy/baseline.hpp"
#include "ctl/live.hpp"
#include "ctl/output.hpp"
#include "ctl/remote.hpp"
#include "core/percent.hpp"
#include "report/documents.hpp"
#include "report/explain.hpp"
#include "drift/rules.hpp"
#include "http/asio.hpp"
#include "http/client.hpp"
#include "scheduler/collector.hpp"
#include "store/applies.hpp"
#include "store/audit.hpp"
#include "store/db.hpp"
#include "store/drift.hpp"
#include "store/coverage.hpp"
#include "store/entity_sync.hpp"
#include "store/flips.hpp"
#include "store/history.hpp"
#include "store/store.hpp"

namespace flowdrift::ctl {
using policy::BaselineInfo;
using policy::BaselineFormat;
using policy::baseline_text;
using policy::baseline_document;
using policy::baseline_files;
using policy::baseline_folders;
using policy::is_yaml_path;

std::optional<config::Config> load_config_or_report(const std::string& path, std::ostream& err) {
  try {
    return drift::load_config(path);
  } catch (const config::ConfigError& e) {
    err << "flowdriftctl: invalid configuration:\n" << e.what() << "\n";
    return std::nullopt;
  }
}

// Opens the database read-only; never creates or migrates it.
std::unique_ptr<store::Database> open_db_file(const std::string& path, std::ostream& err) {
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

const config::PairConfig* find_pair(const config::Config& cfg, const std::string& name,
                                    const std::string& file, std::ostream& err) {
  std::string names;
  for (const auto& p : cfg.pairs) {
    if (p.name == name) return &p;
    names += (names.empty() ? "" : ", ") + p.name;
  }
  err << "flowdriftctl: no pair named '" << name << "' in " << file
      << (names.empty() ? " (it declares no pairs)" : " (pairs: " + names + ")") << "\n";
  return nullptr;
}

namespace {

using nlohmann::json;

constexpr const char* kDefaultConfig = "/etc/flowdrift/flowdrift.yaml";

std::unique_ptr<store::Database> open_db(const DbArgs& args, std::ostream& err) {
  std::string path = args.db;
  if (path.empty()) {
    auto cfg = load_config_or_report(args.config.empty() ? kDefaultConfig : args.config, err);
    if (!cfg) return nullptr;
    path = cfg->storage.path;
  }
  return open_db_file(path, err);
}

// The two files of a diff, read by one reader (a rule the replica lists as the source does is
// not canonicalized twice). Its memo is not needed once both are read: another thread frees it
// while they are compared (`release`, joined when the caller returns).
Result<std::pair<LoadedSite, LoadedSite>> load_diffed(const DiffArgs& args,
                                                      std::jthread& release) {
  auto reader = std::make_unique<SiteFileReader>();
  auto source = reader->load(args.source, args.source_refs);
  if (!source) return source.error();
  auto replica = reader->load(args.replica, args.replica_refs, &*source);
  if (!replica) return replica.error();
  release = std::jthread([r = std::move(reader)]() mutable { r.reset(); });
  return std::pair{std::move(*source), std::move(*replica)};
}

}  // namespace

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
  if (args.config.empty() != args.pair.empty()) {
    err << "flowdriftctl: diff: --config and --pair go together (the pair's mappings and "
           "expected differences come from that configuration)\n";
    return kExitError;
  }
  std::optional<config::Config> cfg;
  const config::PairConfig* pair = nullptr;
  if (!args.config.empty()) {
    cfg = load_config_or_report(args.config, err);
    if (!cfg) return kExitError;
    pair = find_pair(*cfg, args.pair, args.config, err);
    if (!pair) return kExitError;
  }
  std::jthread release;
  auto sites = load_diffed(args, release);
  if (!sites) {
    err << "flowdriftctl: " << sites.error().message << "\n";
    return kExitError;
  }
  const auto& [source, replica] = *sites;
  diff::PairResult result;
  std::optional<DiffPair> ctx;
  if (pair) {
    // What the daemon does for the pair: mappings first, then the expectations live now.
    const auto rules = drift::make_rules(*pair);
    result = diff::diff_snapshots(source.snapshot, replica.snapshot, rules.mapping);
    drift::apply_expectations(result, rules.expected, unix_now_ms());
    ctx = DiffPair{pair->name, args.config, !pair->mapping.empty(), pair->expected.size()};
  } else {
    result = diff::diff_snapshots(source.snapshot, replica.snapshot);
  }
  const DiffPair* p = ctx ? &*ctx : nullptr;
  if (args.format == "text") {
    diff_text(out, source, replica, result, p);
  } else {
    print_document(out, diff_json(source, replica, result, p), args.format, {});
  }
  return unexpected_items(result) == 0 ? kExitInSync : kExitDrift;
}


int run_dump(const DumpArgs& args, std::ostream& out, std::ostream& err) {
  auto live = fetch_live_dump(args.config, args.site, err, args.progress);
  if (!live) return kExitError;
  if (args.output.empty()) {
    out << live->doc.dump(1) << "\n";
    return 0;
  }
  if (!write_text_file(args.output, live->doc.dump(1) + "\n", err)) return kExitError;
  if (!args.progress.quiet) {
    err << "flowdriftctl: wrote " << args.output << " (" << live->summary << ")\n";
  }
  return 0;
}

namespace {

namespace fs = std::filesystem;

// The directory form, written into `dir`. Object files of an earlier export that this one no
// longer holds are removed, so that a deleted policy leaves the tree (and `git diff` says so).
bool write_baseline_dir(const std::string& dir, const std::map<std::string, std::string>& files,
                        std::ostream& err) {
  std::error_code ec;
  for (const auto& folder : baseline_folders()) {
    fs::create_directories(fs::path(dir) / folder, ec);
    if (ec) {
      err << "flowdriftctl: cannot create " << (fs::path(dir) / folder).string() << ": "
          << ec.message() << "\n";
      return false;
    }
    for (const auto& f : fs::directory_iterator(fs::path(dir) / folder)) {
      const auto rel = folder + "/" + f.path().filename().string();
      const bool object_file = f.path().extension() == ".json" || is_yaml_path(rel);
      if (object_file && !files.count(rel)) fs::remove(f.path(), ec);
    }
  }
  for (const char* header : {"baseline.json", "baseline.yaml"}) {  // one header: this format's
    if (!files.count(header)) fs::remove(fs::path(dir) / header, ec);
  }
  for (const auto& [rel, text] : files) {
    if (!write_text_file((fs::path(dir) / rel).string(), text, err)) return false;
  }
  return true;
}

// -o names the directory form when it is a directory already or ends in '/'.
bool is_directory_target(const std::string& output) {
  std::error_code ec;
  return output.back() == '/' || fs::is_directory(output, ec);
}

}  // namespace

int run_export(const ExportArgs& args, std::ostream& out, std::ostream& err) {
  Result<LoadedSite> site = make_error(ErrorReason::Other, "no site");
  BaselineInfo info;
  if (!args.from.empty()) {
    site = load_site_file(args.from);
    info.site = args.from;
  } else {
    auto live = fetch_live_dump(args.config, args.site, err, args.progress);
    if (!live) return kExitError;
    site = parse_site_text(live->doc.dump(), "site " + args.site);
    info.site = args.site;
  }
  if (!site) {
    err << "flowdriftctl: " << site.error().message << "\n";
    return kExitError;
  }
  info.api = std::string(config::to_string(site->api));
  info.exported_ms = args.now_ms ? args.now_ms : unix_now_ms();
  info.flowdrift_version = args.version;
  const auto& snap = site->snapshot;
  const auto format = args.format == "yaml" ? BaselineFormat::Yaml : BaselineFormat::Json;
  if (args.output.empty()) {
    out << baseline_text(baseline_document(snap, info), format);
    return 0;
  }
  const bool ok =
      is_directory_target(args.output)
          ? write_baseline_dir(args.output, baseline_files(snap, info, format), err)
          : write_text_file(args.output, baseline_text(baseline_document(snap, info), format), err);
  if (!ok) return kExitError;
  if (!args.progress.quiet) {
    err << "flowdriftctl: exported " << snap.count(policy::ObjectKind::Policy) << " policies and "
        << snap.objects.size() - snap.count(policy::ObjectKind::Policy) << " referenced objects to "
        << args.output << " (snapshot " << snap.hash.substr(0, 12) << ")\n";
  }
  return 0;
}

namespace {

void verify_text(const store::AuditReport& report, std::ostream& out) {
  if (report.intact()) {
    out << "audit trail intact: " << report.entries << " entries, " << report.rows
        << " audited rows (" << report.unchained << " from before the chain), "
        << report.checkpoints << " retention checkpoints\nhead: seq " << report.head_seq
        << " chain " << report.head << "\n";
    return;
  }
  out << "audit trail BROKEN: " << report.problems.size() << " problem(s); the first broken link:\n  "
      << printable(report.problems.front().message, 400) << "\n";
  for (std::size_t i = 1; i < report.problems.size(); ++i) {
    out << "  " << printable(report.problems[i].message, 400) << "\n";
  }
}

// The document from flowdriftd (--server) or built from the database file.
std::optional<json> read_document(const DbArgs& args, const std::string& target,
                                  const char* schema,
                                  const std::function<json(store::Database&)>& build,
                                  std::ostream& err) {
  if (!args.server.url.empty()) return fetch_document(args.server, target, schema, err);
  auto db = open_db(args, err);
  if (!db) return std::nullopt;
  try {
    return build(*db);
  } catch (const store::StoreError& e) {
    err << "flowdriftctl: " << e.what() << "\n";
    return std::nullopt;
  }
}

std::string query_string(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string q;
  for (const auto& [name, value] : params) {
    q += (q.empty() ? "?" : "&") + name + "=" + percent_encode_segment(value);
  }
  return q;
}

}  // namespace

int status_exit_code(const json& pairs) {
  if (!pairs.is_array() || pairs.empty()) return kExitError;
  int rc = kExitInSync;
  for (const auto& p : pairs) {
    const auto status = p.is_object() ? p.value("status", json()) : json();
    if (status == "DRIFTED") rc = kExitDrift;
    else if (status != "IN_SYNC") return kExitError;
  }
  return rc;
}

int run_status(const DbArgs& args, std::ostream& out, std::ostream& err) {
  const auto doc = read_document(args, "/api/v1/status", report::kStatusSchema,
                                 report::status_document, err);
  if (!doc) return kExitError;
  print_document(out, *doc, args.format, status_text);
  return args.exit_code ? status_exit_code(doc->value("pairs", json())) : kExitInSync;
}

int run_verify(const DbArgs& args, std::ostream& out, std::ostream& err) {
  auto db = open_db(args, err);
  if (!db) return kExitError;
  try {
    if (db->query_int64("PRAGMA user_version").value_or(0) < 8) {
      err << "flowdriftctl: this database has no audit chain yet (schema version 8): start "
             "flowdriftd once to migrate it\n";
      return kExitError;
    }
    const auto report = store::verify_audit(*db);
    json problems = json::array();
    for (const auto& p : report.problems) problems.push_back({{"seq", p.seq}, {"problem", p.message}});
    const json doc{{"schema", "flowdrift.verify/v1"}, {"intact", report.intact()},
                   {"entries", report.entries}, {"rows", report.rows},
                   {"unchained_rows", report.unchained}, {"checkpoints", report.checkpoints},
                   {"head_seq", report.head_seq}, {"head", report.head},
                   {"problems", std::move(problems)}};
    print_document(out, doc, args.format, [&report](const json&, std::ostream& o) {
      verify_text(report, o);
    });
    return report.intact() ? 0 : 1;
  } catch (const store::StoreError& e) {
    err << "flowdriftctl: " << e.what() << "\n";
    return kExitError;
  }
}

int run_drift(const DbArgs& args, std::ostream& out, std::ostream& err) {
  report::DriftFilter f;
  std::vector<std::pair<std::string, std::string>> params{{"all", args.open_only ? "0" : "1"}};
  if (!args.pair.empty()) {
    f.query.pair = args.pair;
    params.emplace_back("pair", args.pair);
  }
  f.query.open_only = args.open_only;
  if (!args.since.empty()) {
    f.query.since_ms = parse_time(args.since, unix_now_ms());
    if (!f.query.since_ms) {
      err << "flowdriftctl: --since " << args.since
          << ": expected unix seconds, 2026-11-25T10:00:00Z, or an age like 24h\n";
      return kExitError;
    }
    params.emplace_back("since", std::to_string(*f.query.since_ms / 1000));
  }
  f.limit = args.limit;
  params.emplace_back("limit", std::to_string(args.limit));
  const auto doc = read_document(
      args, "/api/v1/drift" + query_string(params), report::kDriftSchema,
      [&f](store::Database& db) { return report::drift_document(db, f); }, err);
  if (!doc) return kExitError;
  print_document(out, *doc, args.format, drift_text);
  return 0;
}

int run_history(const DbArgs& args, std::ostream& out, std::ostream& err) {
  if (args.applies) {
    const auto doc = read_document(args, "/api/v1/applies", report::kAppliesSchema,
                                   report::applies_document, err);
    if (!doc) return kExitError;
    print_document(out, *doc, args.format, applies_text);
    return 0;
  }
  store::HistoryQuery q;
  std::vector<std::pair<std::string, std::string>> params;
  if (!args.site.empty()) {
    q.site = args.site;
    params.emplace_back("site", args.site);
  }
  if (!args.policy.empty()) {
    q.policy = args.policy;
    params.emplace_back("policy", args.policy);
  }
  const auto doc = read_document(
      args, "/api/v1/history" + query_string(params), report::kHistorySchema,
      [&q](store::Database& db) { return report::history_document(db, q); }, err);
  if (!doc) return kExitError;
  print_document(out, *doc, args.format, history_text);
  if (doc->value("versions", json::array()).empty()) err << "flowdriftctl: no stored versions match\n";
  return 0;
}

namespace {

// The explain document from flowdriftd (--server: with the daemon's own mappings and
// expectations), or built from the database with --config's.
std::optional<json> read_explained(const ExplainArgs& args, std::ostream& err) {
  if (!args.server.url.empty()) {
    const auto target =
        "/api/v1/explain" + query_string({{"pair", args.pair}, {"policy", args.policy}});
    return fetch_document(args.server, target, report::kExplainSchema, err);
  }
  std::optional<config::Config> cfg;
  std::string config_file = args.config;
  if (config_file.empty() && args.db.empty()) config_file = kDefaultConfig;
  if (!config_file.empty()) {
    cfg = load_config_or_report(config_file, err);
    if (!cfg) return std::nullopt;
  }
  report::ExplainRequest request{args.pair, args.policy, nullptr, config_file, unix_now_ms()};
  if (cfg) {
    request.config_pair = find_pair(*cfg, args.pair, config_file, err);
    if (!request.config_pair) return std::nullopt;
  }
  auto db = open_db_file(args.db.empty() ? cfg->storage.path : args.db, err);
  if (!db) return std::nullopt;
  auto doc = report::explain_document(*db, request);
  if (!doc) {
    err << "flowdriftctl: " << doc.error().message << "\n";
    return std::nullopt;
  }
  return std::move(*doc);
}

}  // namespace

int run_explain(const ExplainArgs& args, std::ostream& out, std::ostream& err) {
  const auto doc = read_explained(args, err);
  if (!doc) return kExitError;
  print_document(out, *doc, args.format,
                 [](const json& d, std::ostream& o) { o << explain_text(d); });
  return doc->value("status", "") == "drifted" ? kExitDrift : kExitInSync;
}

}  // namespace flowdrift::ctl
