// Process-level test rig: pcsim sites and flowdriftd as real processes on 127.0.0.1, a
// synchronous HTTP(S) client to change sites through their API and to scrape /metrics, and a
// read-only view of the daemon's database.
#pragma once

#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace flowdrift::test {

inline constexpr const char* kLivePassword = "live-test-pw";

// A free TCP port on 127.0.0.1 (bound and released; fine for tests).
std::uint16_t free_port();

// Polls `pred` every 100 ms until it is true or `timeout` passes.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// One request at a time over BeastTransport, run on its own io_context.
class SyncClient {
 public:
  SyncClient(std::uint16_t port, std::string ca_file, bool tls);
  ~SyncClient();
  // Throws std::runtime_error on a transport failure.
  http::HttpResponse request(const std::string& method, const std::string& target,
                             const std::string& body = "", bool auth = true);
  nlohmann::json json(const std::string& method, const std::string& target,
                      const nlohmann::json& body = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A pcsim process serving a generated site over HTTPS.
class LiveSite {
 public:
  LiveSite(const TempDir& dir, const std::string& name, int policies, int seed,
           const std::vector<std::string>& extra_args = {});
  // pcsim serving `data` (a site data file's JSON, written into the site's directory), with
  // extra pcsim arguments such as {"--v4-version", "v4.1"}.
  LiveSite(const TempDir& dir, const std::string& name, const nlohmann::json& data,
           const std::vector<std::string>& extra_args = {});
  std::uint16_t port() const { return port_; }
  std::string ca_file() const { return dir_ + "/ca.pem"; }
  SyncClient& api() { return *client_; }
  // Every rule (v3 list entities, up to 500), and those whose spec.resources.app_rule.action is
  // APPLY; the first of them.
  nlohmann::json rules();
  nlohmann::json enforced_app_rules();
  nlohmann::json enforced_app_rule();
  nlohmann::json rule(const std::string& uuid);
  // PUT the rule back with `spec` (metadata from a fresh GET, so spec_version matches).
  void put_spec(const std::string& uuid, const nlohmann::json& spec);
  // Switches enforced_app_rule() to MONITOR (put_spec); returns that rule as it was before.
  nlohmann::json monitor_enforced_rule();
  void add_fault(const std::string& spec);
  void clear_faults();

 private:
  std::string dir_;
  std::unique_ptr<Process> proc_;
  std::uint16_t port_ = 0;
  std::unique_ptr<SyncClient> client_;
};

// Read-only SQLite view (opened fresh per query so it sees the daemon's latest commits).
class DbView {
 public:
  explicit DbView(std::string path) : path_(std::move(path)) {}
  std::vector<std::vector<std::string>> rows(const std::string& sql);
  std::optional<std::string> scalar(const std::string& sql);
  // rows() as a set: for comparisons where order and repeats do not matter.
  std::set<std::vector<std::string>> row_set(const std::string& sql);

 private:
  std::string path_;
};

// The stored status of pair `pair` (IN_SYNC, DRIFTED, UNKNOWN; "" before its first comparison).
std::string pair_status(DbView& db, const std::string& pair = "prod");

// flowdriftctl run with `args`: its exit status, and its stdout and stderr together. REQUIREs
// it to end within 60 s.
struct CtlRun {
  int status;
  std::string out;
};
CtlRun run_ctl(const TempDir& dir, std::vector<std::string> args);

// flowdriftd with a two-site, one-pair config ("prod": primary -> dr), 1 s intervals.
// `pair_extra`: YAML lines appended to the pair (indented by four spaces), e.g. "expected:".
class LiveDaemon {
 public:
  LiveDaemon(const TempDir& dir, LiveSite& primary, LiveSite& dr,
             const std::string& pair_extra = "");
  ~LiveDaemon();
  // `extra_args` go after --config, e.g. {"--web.config.file", path}.
  void start(const std::vector<std::string>& extra_args = {});
  void stop();  // SIGTERM, waits
  void signal(int sig);  // e.g. SIGHUP: reload the configuration
  std::string config_path() const { return config_; }
  std::uint16_t port() const { return port_; }
  std::string db_path() const { return db_; }
  std::string log() const;
  std::string scrape();

 private:
  std::string dir_;
  std::string config_;
  std::string db_;
  std::uint16_t port_;
  std::unique_ptr<Process> proc_;
};

// The usual rig in a directory of its own: two pcsim sites generated alike (the same intent
// under different UUIDs) and flowdriftd watching them as pair "prod" (not started yet).
// Members go down daemon first.
struct LivePair {
  LivePair(int policies, int seed, const std::string& pair_extra = "")
      : primary(dir, "primary", policies, seed),
        dr(dir, "dr", policies, seed),
        daemon(dir, primary, dr, pair_extra) {}
  // Starts the daemon with `extra_args` and REQUIREs pair "prod" to come up IN_SYNC within
  // 60 s; returns the view of its database.
  DbView start_in_sync(const std::vector<std::string>& extra_args = {});

  TempDir dir;
  LiveSite primary;
  LiveSite dr;
  LiveDaemon daemon;
};

}  // namespace flowdrift::test
