// Validated, immutable configuration (docs/configuration.md). Built once by load_config();
// every value has been range-checked and cross-checked; defaults are the initializers below
// (except poll_timeout/request_timeout/connect_timeout, which shrink to fit a short interval).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/api.hpp"

namespace flowdrift::config {

using Millis = std::chrono::milliseconds;

struct Credentials {
  std::string username;  // empty with an API key
  // Exactly one source of the read secret, never the secret itself: a password (with
  // `username`, sent as Basic auth), or a Prism Central service account's API key (sent as
  // X-ntnx-api-key, PC 2024.3 and later).
  std::string password_file;  // path to a file holding the password (trailing newline ignored)
  std::string password_env;   // name of an environment variable holding the password
  std::string api_key_file;
  std::string api_key_env;
  // A separate credential for flowdriftctl apply's writes (docs/plan.md); without one the site
  // is read-only. The daemon never reads it.
  std::string write_username;       // empty: `username`
  std::string write_password_file;
  std::string write_password_env;
};

struct SiteConfig {
  std::string name;
  // Set for a baseline (a pair's `source: {baseline: PATH}`): the absolute path of the file or
  // directory it is read from, which stands in for a Prism Central. Such a site is named
  // "baseline:PATH" (a name no declared site can have) and has no url or credentials.
  std::string baseline;
  std::string url;        // normalized: https://host:port[/base], port always explicit
  Api api = Api::Auto;    // v3 | v4 | auto (v4 first, v3 where v4 is absent)
  Credentials credentials;
  std::string ca_file;    // PEM CA bundle to verify the PC's certificate; empty = system store
  bool insecure_skip_verify = false;
  // The HTTP proxy to reach the PC through (CONNECT): "" takes HTTPS_PROXY and NO_PROXY from
  // the environment, "none" goes direct whatever they say, else "http://HOST[:PORT]".
  std::string proxy;
  Millis interval{60000};
  double jitter = 0.1;    // fraction of the interval, each poll starts up to this much later
  Millis connect_timeout{5000};
  Millis request_timeout{30000};  // one HTTP request
  Millis poll_timeout{120000};    // the whole poll, every page and retry
  int retries = 3;                // retries of one request after a transient failure
  Millis retry_backoff{500};      // first backoff; doubles each retry, with jitter
  int page_size = 500;            // v3 `length`, 1..500
  std::size_t max_response_bytes = 64u * 1024u * 1024u;
  bool allow_empty = false;       // accept an empty policy list after a non-empty one
  // VM coverage (docs/vm-coverage.md): read the site's VMs and their DR protection after a
  // complete poll, at most once per vm_coverage_interval (0: after every complete poll).
  bool vm_coverage = true;
  Millis vm_coverage_interval{300000};
  // After polls that failed in a row, the next waits longer than `interval`: doubling per
  // failure, by at most this much (scheduler::failure_backoff); 0 turns it off.
  Millis max_backoff{900000};
  int line = 0;                   // where the site was declared, for messages
};

// Where something was written in the file, for messages.
struct Position {
  int line = 0;
  int column = 0;
};

// A pair's intended differences as written (docs/configuration.md "mappings"): plain text whose
// shape is checked here. lib/drift checks the values and turns them into matchers.
struct MappingConfig {
  std::map<std::string, std::string> categories;             // source key:value -> replica's
  std::vector<std::pair<std::string, std::string>> names;    // {match, replica}
  std::vector<std::pair<std::string, std::string>> subnets;  // {source, replica}
  Position at;  // the `mappings` value
  bool empty() const { return categories.empty() && names.empty() && subnets.empty(); }
};

// An expected difference as written (docs/configuration.md "expected"): policy, owner, reason
// and expires are present; lib/drift checks the kind and the expiry and builds the matcher.
struct ExpectedConfig {
  std::string policy;  // glob over policy names
  std::string kind;    // a drift kind, or empty for any
  std::string field;
  std::string owner;
  std::string reason;
  std::string expires;  // as written
  std::size_t index = 0;  // in the pair's `expected` list
  Position at;            // the entry
  Position kind_at;
  Position expires_at;
};

struct PairConfig {
  std::string name;
  std::string source;   // site name
  std::string replica;  // site name
  // Intended differences between the two sites (category values, policy names, subnets).
  MappingConfig mapping;
  // Declared drift, each with owner, reason and expiry (docs/configuration.md "expected").
  std::vector<ExpectedConfig> expected;
  // Debounce: an item is raised (alerts) only once it was found by this many counted
  // comparisons (one counts once both sites were polled again; drift/reconcile.hpp) and has
  // been seen for at least `debounce_for`.
  int debounce_comparisons = 2;
  Millis debounce_for{0};
  // Snapshots polled further apart than this are not compared (the pair is UNKNOWN).
  // Default: three times the longer poll interval of the two sites.
  Millis max_skew{0};
  int line = 0;
};

struct StorageConfig {
  std::string path = "/var/lib/flowdrift/flowdrift.db";
  // Audit rows older than this are pruned (lib/store/retention.hpp); 0 keeps everything.
  Millis retention{90LL * 86'400'000};
  Millis prune_interval{3'600'000};  // how often a pruning pass runs
};

struct ServerConfig {
  std::string listen = "127.0.0.1:9944";  // host:port
  std::size_t policy_series_cap = 500;    // max flowdrift_policy_drift series per scrape
};

struct PollingConfig {
  // Site polls in flight at once across the daemon (scheduler/gate.hpp); the others wait.
  int max_concurrent = 4;
};

struct LogConfig {
  std::string level = "info";   // debug | info | warn | error
  std::string format = "auto";  // auto | logfmt | json | journal (plain: logfmt)
};

// flowdriftd's flags that override the file, as exporters' flags do (--web.listen-address,
// --log.level, --log.format). Kept in the Config and applied after every load, so that a reload
// of the file keeps them.
struct Flags {
  std::optional<std::string> listen;      // server.listen
  std::optional<std::string> log_level;   // log.level
  std::optional<std::string> log_format;  // log.format
};

struct Config {
  std::string file;  // path it was loaded from
  Flags flags;       // applied over the file by apply_flags()
  std::vector<SiteConfig> sites;
  std::vector<PairConfig> pairs;
  StorageConfig storage;
  ServerConfig server;
  PollingConfig polling;
  LogConfig log;

  const SiteConfig* find_site(const std::string& name) const;
};

// Each flag checked as its key in the file is: the problems, naming the flag
// ("--log.level: must be one of debug, info, warn, error, got 'loud').
std::vector<std::string> check_flags(const Flags& flags);
// `config.flags` over the values read from the file.
void apply_flags(Config& config);

// The name of the site that reads the baseline at `path` (absolute).
inline std::string baseline_site_name(const std::string& path) { return "baseline:" + path; }

inline bool is_baseline(const SiteConfig& site) { return !site.baseline.empty(); }

// One problem in a file: "flowdrift.yaml:12:5: sites[1].interval: must be at least 1s".
struct Problem {
  int line = 0;
  int column = 0;
  std::string text;
};
Problem make_problem(const std::string& file, Position at, const std::string& path,
                     const std::string& reason);

// A value echoed in a message: quoted, control characters masked, long values cut.
std::string shown(std::string_view value);

// Thrown by load_config with every problem found, one per line, in document order.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<std::string> problems);
  // Sorted into document order.
  explicit ConfigError(std::vector<Problem> problems);
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<std::string> problems_;
};

// A parsed file and every problem found in it (the Config is partial when there are any).
struct Parsed {
  Config config;
  std::vector<Problem> problems;
};

// Parses and validates a YAML file: its shape, and every value that is plain data. The drift
// rules of a pair (mappings, expected differences) are checked by lib/drift, whose
// drift::load_config is what the daemon and flowdriftctl call. Throws ConfigError if the file is
// unreadable. Relative paths in it (ca_file, password_file, storage.path) are resolved against
// the file's directory and stored absolute.
Parsed read_config(const std::string& path);
// Same, from text (`name` is used in messages in place of the file name); relative paths are
// resolved against the current directory.
Parsed parse_text(const std::string& text, const std::string& name);


// Reads the password from the site's credentials source ("" for a baseline). Throws ConfigError naming the site and
// the source (never the secret) if it is unreadable or empty.
// The site's read secret: its password, or its API key when it has one (uses_api_key).
std::string read_password(const SiteConfig& site);
bool uses_api_key(const SiteConfig& site);
// Whether the site has a write credential; the write password itself (ConfigError, naming the
// site, when it has none or it cannot be read: the site is read-only).
bool is_writable(const SiteConfig& site);
std::string read_write_password(const SiteConfig& site);

}  // namespace flowdrift::config
