#include "ctl/commands.hpp"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>
#include <tuple>

#include "config/config.hpp"
#include "config/units.hpp"
#include "core/clock.hpp"
#include "core/printable.hpp"
#include "core/time_format.hpp"
#include "policy/baseline.hpp"
#include "ctl/explain.hpp"
#include "ctl/live.hpp"
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
using policy::read_text;

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

// The snapshot of the site's latest complete poll and that poll's finish time.
std::optional<std::pair<std::int64_t, std::int64_t>> latest_complete(store::Database& db,
                                                                     const std::string& site) {
  auto st = db.prepare(
      "SELECT c.snapshot_id, c.finished_ms FROM polls c JOIN sites s ON s.id = c.site_id "
      "WHERE s.name = ?1 AND c.outcome = 'complete' ORDER BY c.id DESC LIMIT 1");
  st.bind(1, site);
  if (!st.step()) return std::nullopt;
  return std::make_pair(st.column_int64(0), st.column_int64(1));
}

std::optional<std::int64_t> last_polled(store::Database& db, std::int64_t snapshot_id) {
  auto st = db.prepare(
      "SELECT max(finished_ms) FROM polls WHERE snapshot_id = ?1 AND outcome = 'complete'");
  st.bind(1, snapshot_id);
  if (!st.step()) return std::nullopt;
  return st.column_optional_int64(0);
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
  SiteFileReader reader;
  auto source = reader.load(args.source, args.source_refs);
  if (!source) {
    err << "flowdriftctl: " << source.error().message << "\n";
    return kExitError;
  }
  auto replica = reader.load(args.replica, args.replica_refs, &*source);
  if (!replica) {
    err << "flowdriftctl: " << replica.error().message << "\n";
    return kExitError;
  }
  diff::PairResult result;
  std::optional<DiffPair> ctx;
  if (pair) {
    // What the daemon does for the pair: mappings first, then the expectations live now.
    const auto rules = drift::make_rules(*pair);
    result = diff::diff_snapshots(source->snapshot, replica->snapshot, rules.mapping);
    drift::apply_expectations(result, rules.expected, unix_now_ms());
    ctx = DiffPair{pair->name, args.config, !pair->mapping.empty(), pair->expected.size()};
  } else {
    result = diff::diff_snapshots(source->snapshot, replica->snapshot);
  }
  const DiffPair* p = ctx ? &*ctx : nullptr;
  if (args.format == "json") {
    out << diff_json(*source, *replica, result, p).dump(2) << "\n";
  } else {
    diff_text(out, *source, *replica, result, p);
  }
  return unexpected_items(result) == 0 ? kExitInSync : kExitDrift;
}


int run_dump(const DumpArgs& args, std::ostream& out, std::ostream& err) {
  auto live = fetch_live_dump(args.config, args.site, err);
  if (!live) return kExitError;
  if (args.output.empty()) {
    out << live->doc.dump(1) << "\n";
    return 0;
  }
  if (!write_text_file(args.output, live->doc.dump(1) + "\n", err)) return kExitError;
  err << "flowdriftctl: wrote " << args.output << " (" << live->summary << ")\n";
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
    auto live = fetch_live_dump(args.config, args.site, err);
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
  err << "flowdriftctl: exported " << snap.count(policy::ObjectKind::Policy) << " policies and "
      << snap.objects.size() - snap.count(policy::ObjectKind::Policy) << " referenced objects to "
      << args.output << " (snapshot " << snap.hash.substr(0, 12) << ")\n";
  return 0;
}

namespace {

// Open items of each pair by state (explain.hpp item_state): what alerts, what is still
// debouncing, what a live expectation covers.
struct OpenCounts {
  std::size_t open = 0, raised = 0, pending = 0, expected = 0;
};

std::string skew_text(const std::optional<std::int64_t>& ms) {
  if (!ms) return "-";
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << static_cast<double>(*ms) / 1000.0 << "s";
  return s.str();
}

// Nutanix's entity sync, as the daemon last read it (schema 7 and later; an older database
// has none to show).
bool has_entity_sync(store::Database& db) { return db.has_table("entity_sync_reads"); }

std::string entity_sync_text(const std::optional<store::EntitySyncStored>& s) {
  if (!s) return "-";
  using State = drift::EntitySyncRead::State;
  if (s->state == State::NotServed) return "not served";
  std::string text = s->complete_ms ? s->version + " " + std::to_string(s->entries.size()) +
                                          " entities"
                                    : std::string("never complete");
  if (s->state == State::Failed) text += " (last read failed: " + s->reason + ")";
  return text;
}


void print_disagreements(std::ostream& out, const std::vector<store::DisagreementRecord>& open) {
  if (open.empty()) return;
  out << "\nNutanix entity sync disagrees with flowdrift:\n";
  std::vector<std::vector<std::string>> rows{
      {"PAIR", "ENTITY TYPE", "ENTITY", "NUTANIX", "FLOWDRIFT", "SINCE", "DETAIL"}};
  for (const auto& r : open) {
    const auto& d = r.disagreement;
    rows.push_back({r.pair, printable(d.entity_type, 40), printable(d.entity_name, 120), d.nutanix,
                    d.flowdrift, format_time(r.opened_ms), printable(d.detail, 200)});
  }
  print_table(out, rows);
}

// VM coverage, as the daemon last read it (schema 11 and later).
bool has_coverage(store::Database& db) { return db.has_table("coverage_reads"); }

std::string coverage_text(const std::optional<store::CoverageStored>& s) {
  if (!s) return "-";
  using State = drift::CoverageRead::State;
  if (s->state == State::NotServed) return "not served";
  std::string text = s->complete_ms ? s->api + " " + std::to_string(s->data.vms.size()) + "/" +
                                          std::to_string(s->vms) + " VMs protected"
                                    : std::string("never complete");
  if (s->state == State::Failed) text += " (last read failed: " + s->reason + ")";
  return text;
}

void print_gaps(std::ostream& out, const std::vector<store::GapRecord>& open) {
  if (open.empty()) return;
  out << "\nProtected VMs the replica would not secure alike after a failover:\n";
  std::vector<std::vector<std::string>> rows{{"PAIR", "VM", "KIND", "PROTECTED BY", "SINCE", "DETAIL"}};
  for (const auto& r : open) {
    const auto& g = r.gap;
    rows.push_back({r.pair, printable(g.vm, 80), std::string(drift::to_string(g.kind)),
                    printable(g.protected_by, 80), format_time(r.opened_ms), printable(g.detail, 200)});
  }
  print_table(out, rows);
}

}  // namespace

namespace {

// The latest failovers and failbacks (docs/failover.md), newest first.
void print_flips(std::ostream& out, const std::vector<store::FlipRecord>& flips) {
  if (flips.empty()) return;
  out << "\nLatest flips:\n";
  std::vector<std::vector<std::string>> rows{
      {"FLIP", "PAIR", "ACTION", "SOURCE", "REQUESTED", "BY", "OUTCOME", "REASON"}};
  for (const auto& f : flips) {
    rows.push_back({std::to_string(f.id), f.pair, f.action, f.source_site,
                    format_time(f.requested_ms), f.requested_by, f.outcome,
                    printable(f.reason, 60)});
  }
  print_table(out, rows);
}

}  // namespace

int status_exit_code(const std::vector<store::PairRecord>& pairs) {
  if (pairs.empty()) return kExitError;
  int rc = kExitInSync;
  for (const auto& p : pairs) {
    if (p.status == "DRIFTED") rc = kExitDrift;
    else if (p.status != "IN_SYNC") return kExitError;
  }
  return rc;
}

int run_status(const DbArgs& args, std::ostream& out, std::ostream& err) {
  auto db = open_db(args, err);
  if (!db) return kExitError;
  int rc = kExitInSync;
  try {
    auto pairs = store::pair_records(*db);
    if (args.exit_code) rc = status_exit_code(pairs);
    std::map<std::string, OpenCounts> counts;
    store::DriftQuery q;
    q.open_only = true;
    for (const auto& it : store::drift_items(*db, q)) {
      auto& c = counts[it.pair];
      ++c.open;
      const std::string state = it.open_state();
      if (state == "expected") ++c.expected;
      else if (state == "pending") ++c.pending;
      else ++c.raised;
    }
    auto sites = db->prepare(
        "SELECT s.name, p.finished_ms, p.outcome, p.reason, p.message, "
        " (SELECT sn.policy_count || ' ' || substr(sn.hash, 1, 12) FROM polls c "
        "  JOIN snapshots sn ON sn.id = c.snapshot_id WHERE c.site_id = s.id AND "
        "  c.outcome = 'complete' ORDER BY c.id DESC LIMIT 1) "
        "FROM sites s JOIN polls p ON p.id = (SELECT max(id) FROM polls WHERE site_id = s.id) "
        "ORDER BY s.name");
    const bool sync = has_entity_sync(*db);
    const auto disagreements =
        sync ? store::open_disagreements(*db) : std::vector<store::DisagreementRecord>{};
    auto sync_of = [&](const std::string& site) {
      return sync ? store::entity_sync(*db, site) : std::nullopt;
    };
    const bool coverage = has_coverage(*db);
    const auto gaps = coverage ? store::open_gaps(*db) : std::vector<store::GapRecord>{};
    auto coverage_of = [&](const std::string& site) {
      return coverage ? store::coverage(*db, site) : std::nullopt;
    };
    if (args.format == "json") {
      json j{{"pairs", json::array()}, {"sites", json::array()}};
      for (const auto& p : pairs) {
        const auto& c = counts[p.pair];
        j["pairs"].push_back({{"pair", p.pair}, {"source", p.source_site}, {"replica", p.replica_site},
                              {"status", p.status}, {"reason", p.reason},
                              {"since", format_time(p.since_ms)}, {"open_items", c.open},
                              {"alerting", c.raised}, {"pending", c.pending},
                              {"expected", c.expected},
                              {"skew_ms", p.skew_ms ? json(*p.skew_ms) : json()}});
        const auto last = store::flips(*db, p.pair, 1);
        j["pairs"].back()["last_flip"] = last.empty() ? json() : store::flip_json(last.front());
      }
      while (sites.step()) {
        j["sites"].push_back({{"site", sites.column_text(0)}, {"last_poll", format_time(sites.column_int64(1))},
                              {"outcome", sites.column_text(2)}, {"reason", sites.column_text(3)},
                              {"message", sites.column_text(4)}, {"snapshot", sites.column_text(5)},
                              {"entity_sync", store::entity_sync_json(sync_of(sites.column_text(0)), format_time)},
                              {"vm_coverage", store::coverage_json(coverage_of(sites.column_text(0)), format_time)}});
      }
      j["sync_disagreements"] = json::array();
      for (const auto& r : disagreements) j["sync_disagreements"].push_back(store::disagreement_json(r, format_time));
      j["vm_coverage_gaps"] = json::array();
      for (const auto& r : gaps) {
        j["vm_coverage_gaps"].push_back(store::gap_json(r.gap));
        j["vm_coverage_gaps"].back()["pair"] = r.pair;
        j["vm_coverage_gaps"].back()["since"] = format_time(r.opened_ms);
      }
      out << j.dump(2) << "\n";
      return rc;
    }
    std::vector<std::vector<std::string>> rows{{"PAIR", "SOURCE", "REPLICA", "STATUS", "SINCE",
                                                "DRIFT", "PENDING", "EXPECTED", "SKEW", "REASON"}};
    for (const auto& p : pairs) {
      const auto& c = counts[p.pair];
      rows.push_back({p.pair, p.source_site, p.replica_site, p.status, format_time(p.since_ms),
                      std::to_string(c.raised), std::to_string(c.pending),
                      std::to_string(c.expected), skew_text(p.skew_ms), p.reason});
    }
    print_table(out, rows);
    print_flips(out, store::flips(*db, "", 5));
    out << "\n";
    std::vector<std::vector<std::string>> srows{
        {"SITE", "LAST POLL", "OUTCOME", "REASON", "POLICIES SNAPSHOT", "NUTANIX ENTITY SYNC",
         "VM COVERAGE"}};
    while (sites.step()) {
      srows.push_back({sites.column_text(0), format_time(sites.column_int64(1)), sites.column_text(2),
                       sites.column_text(3), sites.column_text(5),
                       entity_sync_text(sync_of(sites.column_text(0))),
                       coverage_text(coverage_of(sites.column_text(0)))});
    }
    print_table(out, srows);
    print_disagreements(out, disagreements);
    print_gaps(out, gaps);
  } catch (const store::StoreError& e) {
    err << "flowdriftctl: " << e.what() << "\n";
    return kExitError;
  }
  return rc;
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
    if (args.format == "json") {
      json problems = json::array();
      for (const auto& p : report.problems) problems.push_back({{"seq", p.seq}, {"problem", p.message}});
      out << json{{"intact", report.intact()}, {"entries", report.entries}, {"rows", report.rows},
                  {"unchained_rows", report.unchained}, {"checkpoints", report.checkpoints},
                  {"head_seq", report.head_seq}, {"head", report.head},
                  {"problems", problems}}.dump(2)
          << "\n";
    } else if (report.intact()) {
      out << "audit trail intact: " << report.entries << " entries, " << report.rows
          << " audited rows (" << report.unchained << " from before the chain), "
          << report.checkpoints << " retention checkpoints\nhead: seq " << report.head_seq
          << " chain " << report.head << "\n";
    } else {
      out << "audit trail BROKEN: " << report.problems.size() << " problem(s); the first broken link:\n  "
          << printable(report.problems.front().message, 400) << "\n";
      for (std::size_t i = 1; i < report.problems.size(); ++i) {
        out << "  " << printable(report.problems[i].message, 400) << "\n";
      }
    }
    return report.intact() ? 0 : 1;
  } catch (const store::StoreError& e) {
    err << "flowdriftctl: " << e.what() << "\n";
    return kExitError;
  }
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
                       {"state", it.open_state()}, {"seen", it.seen},
                       {"opened", format_time(it.opened_ms)},
                       {"raised", it.raised_ms ? json(format_time(*it.raised_ms)) : json()},
                       {"resolved", it.resolved_ms ? json(format_time(*it.resolved_ms)) : json()},
                       {"expectation", it.expectation_json.empty()
                                           ? json()
                                           : json::parse(it.expectation_json, nullptr, false)}});
      }
      out << arr.dump(2) << "\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows{
        {"PAIR", "POLICY", "KIND", "SEVERITY", "STATE", "OPENED", "RESOLVED", "SUMMARY"}};
    for (const auto& it : items) {
      rows.push_back({it.pair, it.object, it.kind, it.severity, it.open_state(),
                      format_time(it.opened_ms),
                      it.resolved_ms ? format_time(*it.resolved_ms) : "open", it.summary});
    }
    print_table(out, rows);
  } catch (const store::StoreError& e) {
    err << "flowdriftctl: " << e.what() << "\n";
    return kExitError;
  }
  return 0;
}

namespace {

// history --applies: every apply (newest first) with its requests.
void print_applies(store::Database& db, const std::string& format, std::ostream& out) {
  const auto list = store::applies(db);
  if (format == "json") {
    json arr = json::array();
    for (const auto& a : list) {
      json requests = json::array();
      for (const auto& r : store::apply_requests(db, a.id)) {
        requests.push_back({{"step", r.step}, {"op", r.op}, {"kind", r.kind}, {"name", r.name},
                            {"method", r.method}, {"path", r.path}, {"status", r.status},
                            {"sent", format_time(r.sent_ms)}, {"duration_ms", r.duration_ms}});
      }
      arr.push_back({{"id", a.id}, {"started", format_time(a.started_ms)},
                     {"finished", a.finished_ms ? json(format_time(*a.finished_ms)) : json()},
                     {"user", a.os_user}, {"plan_hash", a.plan_hash}, {"pair", a.pair},
                     {"target", a.target_site}, {"target_snapshot", a.target_snapshot},
                     {"writes_planned", a.writes_planned}, {"writes_done", a.writes_done},
                     {"outcome", a.outcome}, {"message", a.message},
                     {"after_snapshot", a.after_snapshot ? json(*a.after_snapshot) : json()},
                     {"requests", std::move(requests)}});
    }
    out << arr.dump(2) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows{
      {"ID", "STARTED", "USER", "PAIR", "TARGET", "WRITES", "OUTCOME", "PLAN", "MESSAGE"}};
  for (const auto& a : list) {
    rows.push_back({std::to_string(a.id), format_time(a.started_ms), a.os_user, a.pair,
                    a.target_site, std::to_string(a.writes_done) + "/" + std::to_string(a.writes_planned),
                    a.outcome, a.plan_hash.substr(0, 12), a.message.substr(0, 80)});
  }
  print_table(out, rows);
}

}  // namespace

int run_history(const DbArgs& args, std::ostream& out, std::ostream& err) {
  if (args.applies) {
    auto db = open_db(args, err);
    if (!db) return kExitError;
    try {
      print_applies(*db, args.format, out);
    } catch (const store::StoreError& e) {
      err << "flowdriftctl: " << e.what() << "\n";
      return kExitError;
    }
    return 0;
  }
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

namespace {

// The pair's sites: from the config, else as the daemon stored the pair.
bool explain_sites(ExplainInput& in, const config::PairConfig* pair, const store::Database& db,
                   std::ostream& err) {
  if (pair) {
    in.source_site = pair->source;
    in.replica_site = pair->replica;
  } else if (in.record) {
    in.source_site = in.record->source_site;
    in.replica_site = in.record->replica_site;
  } else {
    err << "flowdriftctl: pair " << in.pair << ": not in " << db.path()
        << " (has flowdriftd compared it yet?); give --config to name its sites\n";
    return false;
  }
  return true;
}

// The snapshot the daemon compared last (`compared`, when the direction is the same), else the
// site's latest complete one.
bool pick_snapshot(store::Database& db, const std::string& pair, const std::string& site,
                   std::optional<std::int64_t> compared, const char* role, SnapshotRef& ref,
                   std::ostream& err) {
  ref.site = site;
  if (compared) {
    ref.id = *compared;
    ref.origin = "last_comparison";
    ref.polled_ms = last_polled(db, ref.id);
    return true;
  }
  auto latest = latest_complete(db, site);
  if (!latest) {
    err << "flowdriftctl: pair " << pair << ": the " << role << " site " << site
        << " has no complete poll in " << db.path() << "\n";
    return false;
  }
  ref.id = latest->first;
  ref.origin = "latest_complete";
  ref.polled_ms = latest->second;
  return true;
}

bool explain_snapshots(ExplainInput& in, store::Database& db, std::ostream& err) {
  // Failed over, the daemon stores the pair turned round; explain compares as configured.
  const bool swapped = in.flipped && in.record && in.record->source_site == in.replica_site &&
                       in.record->replica_site == in.source_site;
  const bool same_direction = swapped || (in.record && in.record->source_site == in.source_site &&
                                          in.record->replica_site == in.replica_site);
  if (in.record && !same_direction) {
    in.notes.push_back("the database has the pair as " + in.record->source_site + " -> " +
                       in.record->replica_site + "; the configuration says " + in.source_site +
                       " -> " + in.replica_site + ": using each site's latest complete snapshot");
  }
  auto compared = [&](std::optional<std::int64_t> id) {
    return same_direction ? id : std::nullopt;
  };
  const auto src_id = !in.record ? std::nullopt
                     : swapped   ? in.record->replica_snapshot_id
                                 : in.record->source_snapshot_id;
  const auto rep_id = !in.record ? std::nullopt
                     : swapped   ? in.record->source_snapshot_id
                                 : in.record->replica_snapshot_id;
  if (!pick_snapshot(db, in.pair, in.source_site, compared(src_id), "source", in.source_ref, err) ||
      !pick_snapshot(db, in.pair, in.replica_site, compared(rep_id), "replica", in.replica_ref,
                     err)) {
    return false;
  }
  if (in.source_ref.origin == "latest_complete" && same_direction) {
    in.notes.push_back("the daemon has not compared this pair yet: using each site's latest "
                       "complete snapshot");
  } else if (in.source_ref.origin == "latest_complete" && !in.record) {
    in.notes.push_back("the pair is not in the database yet: using each site's latest complete "
                       "snapshot");
  }
  return true;
}

void canon_version_notes(ExplainInput& in, const policy::Snapshot& source,
                         const policy::Snapshot& replica) {
  for (const auto* s : {&source, &replica}) {
    if (s->canon_version != policy::kCanonVersion) {
      in.notes.push_back("snapshot " + std::string(s == &source ? "source" : "replica") +
                         " has canon version " + std::to_string(s->canon_version) +
                         " (this flowdriftctl: " + std::to_string(policy::kCanonVersion) +
                         "); the daemon re-reads it on its next poll");
    }
  }
}

int print_explained(const ExplainInput& in, const ExplainArgs& args, std::ostream& out,
                    std::ostream& err) {
  auto report = explain_policy(in, args.policy);
  if (!report) {
    err << "flowdriftctl: " << report.error().message << "\n";
    return kExitError;
  }
  if (args.format == "json") {
    out << report->dump(2) << "\n";
  } else {
    out << explain_text(*report);
  }
  return report->at("status") == "drifted" ? kExitDrift : kExitInSync;
}

}  // namespace

bool read_pair_snapshots(ExplainInput& in, const config::PairConfig* pair, store::Database& db,
                         std::ostream& err) {
  return explain_sites(in, pair, db, err) && explain_snapshots(in, db, err);
}

int run_explain(const ExplainArgs& args, std::ostream& out, std::ostream& err) {
  // The config gives the pair's mappings and expectations; --db alone reads the database
  // without them (the report says so).
  std::optional<config::Config> cfg;
  std::string config_file = args.config;
  if (config_file.empty() && args.db.empty()) config_file = kDefaultConfig;
  if (!config_file.empty()) {
    cfg = load_config_or_report(config_file, err);
    if (!cfg) return kExitError;
  }
  const config::PairConfig* pair = nullptr;
  if (cfg) {
    pair = find_pair(*cfg, args.pair, config_file, err);
    if (!pair) return kExitError;
  }
  auto db = open_db_file(args.db.empty() ? cfg->storage.path : args.db, err);
  if (!db) return kExitError;
  try {
    ExplainInput in;
    in.pair = args.pair;
    const auto rules = pair ? std::optional(drift::make_rules(*pair)) : std::nullopt;
    in.rules = rules ? &*rules : nullptr;
    in.config_file = config_file;
    in.now_ms = unix_now_ms();
    in.record = store::pair_record(*db, args.pair);
    in.flipped = pair && store::failed_over(*db, *pair);
    if (in.flipped) {
      in.notes.push_back("the pair is failed over: " + pair->replica + " is its source, and its "
                         "items are seen from there (docs/failover.md)");
    }
    if (!pair) {
      in.notes.push_back("no --config: the pair's mappings and expected differences are not "
                         "applied, so items may differ from the daemon's (its stored items are "
                         "below)");
    }
    if (!read_pair_snapshots(in, pair, *db, err)) return kExitError;
    const auto source = store::read_snapshot(*db, in.source_ref.id);
    const auto replica = store::read_snapshot(*db, in.replica_ref.id);
    canon_version_notes(in, source, replica);
    in.source = &source;
    in.replica = &replica;
    store::DriftQuery q;
    q.pair = args.pair;
    in.stored = store::drift_items(*db, q);
    auto* dbp = db.get();
    in.events = [dbp](std::int64_t id) { return store::drift_events(*dbp, id); };
    if (has_entity_sync(*db)) {
      in.entity_sync = store::entity_sync(*db, in.source_site);
      in.disagreements = store::open_disagreements(*db, args.pair);
    }
    return print_explained(in, args, out, err);
  } catch (const store::StoreError& e) {
    err << "flowdriftctl: " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace flowdrift::ctl
