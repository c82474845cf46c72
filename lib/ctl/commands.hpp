// flowdriftctl's subcommands, each returning the process exit status (0 in sync / ok,
// 1 drift, 2 error or incomplete input). Output goes to `out`, problems to `err`.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctl/live.hpp"
#include "ctl/remote.hpp"
#include "ctl/report.hpp"
#include "ctl/site_file.hpp"

namespace flowdrift::config {
struct Config;
struct PairConfig;
}  // namespace flowdrift::config

namespace flowdrift::store {
class Database;
struct PairRecord;
}  // namespace flowdrift::store

namespace flowdrift::ctl {

// Shared by the subcommands. The configuration, or every problem in it reported to `err`.
std::optional<config::Config> load_config_or_report(const std::string& path, std::ostream& err);
// The pair named `name`, or null with the pairs that exist reported to `err`.
const config::PairConfig* find_pair(const config::Config& cfg, const std::string& name,
                                    const std::string& file, std::ostream& err);
// The daemon's database opened read-only (never created or migrated), or null with the
// reason reported to `err`.
std::unique_ptr<store::Database> open_db_file(const std::string& path, std::ostream& err);
// Who runs this command, for the audit trail: "alice", or "root (sudo from alice)".
std::string os_user();

struct DiffArgs {
  std::string source;
  std::string replica;
  std::string format = "text";
  // Lists a v4 policies file references, given alongside it (--source-categories, ...).
  V4References source_refs{{}, {}, {}, "--source-"};
  V4References replica_refs{{}, {}, {}, "--replica-"};
  // With both: the pair's mappings are applied to REPLICA and its expected differences mark
  // items as expected (shown, not drift for the exit status), as the daemon does.
  std::string config{};  // initialized: callers aggregate-initialize the leading fields only
  std::string pair{};
};
int run_diff(const DiffArgs& args, std::ostream& out, std::ostream& err);

// Fetches the site over the API its config names (`api: v3|v4|auto`, detected as the daemon
// does) and writes a dump that records which API answered.
struct DumpArgs {
  std::string config;
  std::string site;
  std::string output;  // empty: standard output
  Progress progress{};
};
int run_dump(const DumpArgs& args, std::ostream& out, std::ostream& err);

// flowdriftctl export: a site's canonical content as a baseline (policy/baseline.hpp), from the
// live site (`config` + `site`) or offline from a site file, dump or baseline (`from`).
struct ExportArgs {
  std::string config;
  std::string site;
  std::string from;
  std::string output;             // empty: standard output; a directory or "DIR/": the directory form
  std::string format = "json";    // or "yaml"
  std::string version;            // flowdrift's, for the header
  std::int64_t now_ms = 0;        // the export time (0: now)
  Progress progress{};
};
int run_export(const ExportArgs& args, std::ostream& out, std::ostream& err);

struct DbArgs {
  std::string config;  // take storage.path from this config
  std::string db;      // or this database file
  std::string format = "text";  // text, json or yaml (ctl/output.hpp)
  std::string pair;
  bool open_only = false;
  std::string since;
  std::string site;    // history: only this site
  std::string policy;  // history: only this policy
  bool applies = false;  // history: flowdriftctl apply's audit trail instead
  bool exit_code = false;  // status: the exit status says the pairs' state (status_exit_code)
  std::size_t limit = 10000;  // drift: at most this many items (the document says how many matched)
  // status, drift and history: read the document from this flowdriftd instead of a database
  // file (ctl/remote.hpp).
  ServerArgs server{};
};
// Exit 0 after printing, or with `exit_code` the pairs' state as status_exit_code says; 2 on
// error either way.
int run_status(const DbArgs& args, std::ostream& out, std::ostream& err);
// `status --exit-code`, for scripts: 0 when every pair is IN_SYNC, 1 when a pair is DRIFTED and
// none is UNKNOWN, 2 when any is UNKNOWN or no pair was compared yet (or on error).
// `pairs` is the status document's list (report/documents.hpp).
int status_exit_code(const nlohmann::json& pairs);
// flowdriftctl failover|failback --config F --pair P --reason TEXT (docs/failover.md): records
// the flip in the daemon's database (audited) and waits up to `wait_seconds` for flowdriftd to
// apply it. Exit 0 applied (or recorded and still waiting: flowdriftd applies it when it runs),
// 2 refused (already so, one pending, no reason) or on error.
struct FlipArgs {
  std::string config;
  std::string pair;
  std::string action;  // "failover" | "failback"
  std::string reason;
  std::string format = "text";
  int wait_seconds = 10;
};
int run_flip(const FlipArgs& args, std::ostream& out, std::ostream& err);

// The audit trail's hash chain and every audited row (store/audit.hpp): exit 0 intact, 1 broken
// (the first broken link first), 2 on error.
int run_verify(const DbArgs& args, std::ostream& out, std::ostream& err);
int run_drift(const DbArgs& args, std::ostream& out, std::ostream& err);
// Every version of each policy (per site) with when it was first and last seen.
int run_history(const DbArgs& args, std::ostream& out, std::ostream& err);

// One policy of one pair from the daemon's database (report/explain.hpp): the pair's last compared
// snapshots diffed again with the pair's mappings and expectations (from `config`; with only
// `db`, neither is applied and the report says so). Exit 0 in sync or every item expected,
// 1 drift, 2 error (unknown pair or policy, no snapshot).
struct ExplainArgs {
  std::string config;  // the pair's mappings and expectations, and storage.path unless `db`
  std::string db;      // the database file; without `config`, mappings/expectations are not applied
  std::string pair;
  std::string policy;
  std::string format = "text";
  // Read the report from this flowdriftd instead: the daemon's own mappings and expectations
  // apply (ctl/remote.hpp).
  ServerArgs server{};
};
int run_explain(const ExplainArgs& args, std::ostream& out, std::ostream& err);

// "1764064800", "2026-11-25T10:00:00Z" or an age ("24h", "30m") before `now_ms`; unix ms.
// The other way round is format_time (core/time_format.hpp).
std::optional<std::int64_t> parse_time(const std::string& text, std::int64_t now_ms);

}  // namespace flowdrift::ctl
