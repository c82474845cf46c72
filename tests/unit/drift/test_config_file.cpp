// The configuration file as the daemon and flowdriftctl load it (drift::load_config: config's
// checks and the drift rules' together): the shipped examples load, every class of mistake is
// reported with the right file:line:col and key path, problems are collected together, and
// secrets never leak.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/units.hpp"
#include "drift/rules.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using namespace flowdrift::config;
using flowdrift::drift::load_config;
using flowdrift::drift::parse_config;
using namespace std::chrono_literals;
using flowdrift::test::TempDir;
using flowdrift::test::write_file;

namespace {

// Absolute, from the source tree CMake names, so the tests run from any working directory
// (__FILE__ may be relative, e.g. under a compiler cache).
const std::filesystem::path kHere = std::filesystem::path(FLOWDRIFT_SOURCE_DIR) / "tests/unit/drift";
const std::string kFixtures = (kHere / "../fixtures/config").lexically_normal().string();
const std::string kConfigDir = (kHere / "../../../config").lexically_normal().string();

const char* const kSite =
    "sites:\n"
    "  - name: primary\n"
    "    url: https://pc.example.com\n"
    "    username: admin\n"
    "    password_env: PC_PASSWORD\n";

// The problems parse_config reports for `text`; fails the test if it does not throw.
std::vector<std::string> problems_of(const std::string& text, const std::string& name = "t.yaml") {
  try {
    (void)parse_config(text, name);
  } catch (const ConfigError& e) {
    return e.problems();
  }
  FAIL("expected a ConfigError for:\n" << text);
  return {};
}

std::vector<std::string> load_problems(const std::string& path) {
  try {
    (void)load_config(path);
  } catch (const ConfigError& e) {
    return e.problems();
  }
  FAIL("expected a ConfigError for " << path);
  return {};
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Sets an environment variable for one test and restores the previous state afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("the example configuration loads with every key applied", "[unit][config]") {
  const auto path = kConfigDir + "/flowdrift.example.yaml";
  Config c = load_config(path);
  CHECK(c.file == path);
  REQUIRE(c.sites.size() == 2);
  const auto& primary = c.sites[0];
  CHECK(primary.name == "primary");
  CHECK(primary.url == "https://pc-primary.example.com:9440");
  CHECK(primary.api == Api::Auto);
  CHECK(primary.credentials.username == "flowdrift-ro");
  // Relative to the example's directory, whatever the test's working directory is.
  CHECK(
      primary.credentials.password_file ==
      (std::filesystem::path(kConfigDir) / "secrets/primary.password").lexically_normal().string());
  CHECK(primary.credentials.password_env.empty());
  CHECK(primary.ca_file == "/etc/ssl/certs/ca-certificates.crt");
  CHECK_FALSE(primary.insecure_skip_verify);
  CHECK(primary.interval == 60s);
  CHECK(primary.jitter == Approx(0.1));
  CHECK(primary.connect_timeout == 5s);
  CHECK(primary.request_timeout == 30s);
  CHECK(primary.poll_timeout == 60s);
  CHECK(primary.retries == 3);
  CHECK(primary.retry_backoff == 500ms);
  CHECK(primary.page_size == 500);
  CHECK(primary.max_response_bytes == 64u * 1024u * 1024u);
  CHECK_FALSE(primary.allow_empty);
  CHECK(primary.vm_coverage);
  CHECK(primary.vm_coverage_interval == 5min);
  CHECK(primary.max_backoff == 15min);
  CHECK(c.polling.max_concurrent == 4);
  CHECK(primary.line > 0);

  const auto& dr = c.sites[1];
  CHECK(dr.name == "dr");
  CHECK(dr.url == "https://pc-dr.example.com:9440");  // default port filled in
  CHECK(dr.credentials.password_env == "FLOWDRIFT_DR_PASSWORD");
  CHECK(dr.credentials.password_file.empty());
  CHECK(dr.interval == 5min);
  CHECK(dr.jitter == Approx(0.2));
  CHECK(dr.connect_timeout == 10s);
  CHECK(dr.request_timeout == 1min);
  CHECK(dr.poll_timeout == 2min);
  CHECK(dr.retries == 5);
  CHECK(dr.retry_backoff == 1s);
  CHECK(dr.page_size == 250);
  CHECK(dr.max_response_bytes == 128u * 1024u * 1024u);
  CHECK(dr.line > primary.line);

  REQUIRE(c.pairs.size() == 1);
  CHECK(c.pairs[0].name == "prod");
  CHECK(c.pairs[0].source == "primary");
  CHECK(c.pairs[0].replica == "dr");
  CHECK(c.storage.path == "/var/lib/flowdrift/flowdrift.db");
  CHECK(c.server.listen == "127.0.0.1:9944");
  CHECK(c.log.level == "info");
  CHECK(c.log.format == "auto");

  REQUIRE(c.find_site("dr") != nullptr);
  CHECK(c.find_site("dr")->name == "dr");
  CHECK(c.find_site("nope") == nullptr);
}

TEST_CASE("the minimal configuration loads and gets the defaults", "[unit][config]") {
  Config c = load_config(kConfigDir + "/minimal.yaml");
  REQUIRE(c.sites.size() == 1);
  const auto& s = c.sites[0];
  const SiteConfig defaults;
  CHECK(s.url == "https://pc.example.com:9440");
  CHECK(s.api == Api::Auto);
  CHECK(s.interval == defaults.interval);
  CHECK(s.jitter == defaults.jitter);
  CHECK(s.connect_timeout == defaults.connect_timeout);
  CHECK(s.request_timeout == defaults.request_timeout);
  CHECK(s.poll_timeout == 60s);  // min(120s, interval)
  CHECK(s.retries == defaults.retries);
  CHECK(s.retry_backoff == defaults.retry_backoff);
  CHECK(s.page_size == defaults.page_size);
  CHECK(s.max_response_bytes == defaults.max_response_bytes);
  CHECK(s.ca_file.empty());
  CHECK(c.pairs.empty());
  CHECK(c.storage.path == StorageConfig{}.path);
  CHECK(c.server.listen == ServerConfig{}.listen);
  CHECK(c.log.level == "info");
  CHECK(c.log.format == "auto");
}

TEST_CASE("each invalid fixture reports exactly its expected problems", "[unit][config]") {
  const std::string file =
      GENERATE(as<std::string>{}, "invalid_keys.yaml", "invalid_values.yaml", "invalid_types.yaml",
               "invalid_pairs.yaml", "invalid_syntax.yaml");
  const auto path = kFixtures + "/" + file;
  std::vector<std::string> expected;
  {
    std::istringstream in(flowdrift::test::read_file(path));
    const std::string marker = "# expect: ";
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(marker, 0) == 0) expected.push_back(path + ":" + line.substr(marker.size()));
    }
  }
  INFO(file);
  REQUIRE_FALSE(expected.empty());
  CHECK(load_problems(path) == expected);
}

TEST_CASE("problems carry file, 1-based line and column, and key path", "[unit][config]") {
  SECTION("the value's position for a bad value") {
    auto p = problems_of(std::string(kSite) + "    interval: 500ms\n", "flowdrift.yaml");
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "flowdrift.yaml:6:15: sites[0].interval: must be at least 1s, got 500ms");
  }
  SECTION("the key's position for an unknown key, with a suggestion") {
    auto p = problems_of(std::string(kSite) + "    poll-timeout: 30s\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "t.yaml:6:5: sites[0].poll-timeout: unknown key; did you mean 'poll_timeout'?");
  }
  SECTION("no suggestion when nothing is close") {
    auto p = problems_of(std::string(kSite) + "    colour: blue\n");
    REQUIRE(p.size() == 1);
    CHECK(contains(p[0], "t.yaml:6:5: sites[0].colour: unknown key (known keys: name, url"));
    CHECK_FALSE(contains(p[0], "did you mean"));
  }
  SECTION("the mapping's position for a missing key") {
    auto p = problems_of("sites:\n  - name: a\n    url: https://pc\n    password_env: X\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "t.yaml:2:5: sites[0].username: required key missing");
  }
  SECTION("a missing top-level sites") {
    auto p = problems_of("log:\n  level: debug\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "t.yaml:1:1: sites: required key missing; at least one site must be configured");
  }
  SECTION("an empty file") {
    auto p = problems_of("# nothing here\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "t.yaml:1:1: sites: required key missing; the configuration is empty");
  }
  SECTION("duplicate keys name the first occurrence") {
    auto p = problems_of(std::string(kSite) + "    username: root\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] == "t.yaml:6:5: sites[0].username: duplicate key (first defined at line 4)");
  }
  SECTION("a YAML syntax error") {
    auto p = problems_of("sites:\n  - name: [a, b\n");
    REQUIRE(p.size() == 1);
    CHECK(contains(p[0], "t.yaml:"));
    CHECK(contains(p[0], ": YAML syntax error: "));
  }
  SECTION("tabs are a syntax error, not a crash") {
    auto p = problems_of("sites:\n\t- name: a\n");
    REQUIRE(p.size() == 1);
    CHECK(contains(p[0], "YAML syntax error"));
  }
  SECTION("a second document") {
    auto p = problems_of(std::string(kSite) + "---\nsites: []\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] ==
          "t.yaml:6:1: YAML syntax error: more than one YAML document; the configuration "
          "must be a single document");
  }
}

TEST_CASE("all problems are reported at once, in document order", "[unit][config]") {
  try {
    (void)parse_config(
        "sites:\n"
        "  - name: a\n"
        "    url: ftp://pc\n"
        "    username: u\n"
        "    password_env: X\n"
        "    retries: 11\n"
        "pairs:\n"
        "  - name: p\n"
        "    source: a\n"
        "    replica: b\n"
        "log:\n"
        "  format: text\n",
        "many.yaml");
    FAIL("no ConfigError");
  } catch (const ConfigError& e) {
    const std::vector<std::string> expected = {
        "many.yaml:3:10: sites[0].url: scheme 'ftp' is not supported; Prism Central is reached "
        "over https://",
        "many.yaml:6:14: sites[0].retries: must be from 0 to 10, got 11",
        "many.yaml:10:14: pairs[0].replica: unknown site 'b' (sites: a)",
        "many.yaml:12:11: log.format: must be one of auto, logfmt, json, journal, plain, got 'text'",
    };
    CHECK(e.problems() == expected);
    // what() is every problem, one per line.
    CHECK(std::string(e.what()) ==
          expected[0] + "\n" + expected[1] + "\n" + expected[2] + "\n" + expected[3]);
  }
}

TEST_CASE("wrong node types are reported, never thrown through", "[unit][config]") {
  const std::string text = GENERATE(
      as<std::string>{}, "just a scalar\n", "- a\n- b\n", "sites: primary\n", "sites: {name: a}\n",
      "sites:\n  - [a, b]\n", "sites:\n  - name: {a: b}\n    url: [x]\n", "? [a]\n: b\nsites: []\n",
      "sites:\n  - &a {name: x}\n  - *a\n", "sites:\n  - <<: {name: x}\n", "sites: !!map {}\n",
      "{{{{{{{{{{{{{{{{{{{{", "sites:\n  - name: \"\\x01\"\n");
  INFO(text);
  auto p = problems_of(text);
  CHECK_FALSE(p.empty());
  for (const auto& line : p) CHECK(line.rfind("t.yaml:", 0) == 0);
}

TEST_CASE("required site keys and the password source", "[unit][config]") {
  SECTION("neither password source") {
    auto p = problems_of("sites:\n  - name: a\n    url: https://pc\n    username: u\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] ==
          "t.yaml:2:5: sites[0]: a credential is required: set password_file (a file "
          "holding the password) or password_env (an environment variable) with username, or "
          "api_key_file or api_key_env (a service account's API key)");
  }
  SECTION("both password sources") {
    auto p = problems_of(std::string(kSite) + "    password_file: pw\n");
    REQUIRE(p.size() == 1);
    CHECK(p[0] ==
          "t.yaml:6:5: sites[0].password_file: set only one of password_file and "
          "password_env");
  }
  SECTION("a password in the file is rejected without echoing it") {
    auto p = problems_of(std::string(kSite) + "    password: TopSecret123\n");
    REQUIRE(p.size() == 1);
    CHECK(contains(p[0], "t.yaml:6:5: sites[0].password: passwords must not be stored"));
    CHECK(contains(p[0], "password_file"));
    CHECK(contains(p[0], "password_env"));
    CHECK_FALSE(contains(p[0], "TopSecret123"));
  }
  SECTION("a password pasted into password_env is not echoed") {
    auto p = problems_of(
        "sites:\n  - name: a\n    url: https://pc\n    username: u\n    password_env: p@ss "
        "w0rd!\n");
    REQUIRE(p.size() == 1);
    CHECK(contains(p[0], "sites[0].password_env: must be the name of an environment variable"));
    CHECK_FALSE(contains(p[0], "p@ss"));
  }
  SECTION("credentials in the url are rejected without echoing them") {
    auto p = problems_of(
        "sites:\n  - name: a\n    url: https://admin:hunter2@pc\n    username: u\n"
        "    password_env: X\n");
    REQUIRE(p.size() == 1);
    CHECK(contains(p[0], "sites[0].url: must not contain credentials"));
    CHECK_FALSE(contains(p[0], "hunter2"));
  }
  SECTION("every required key missing at once") {
    auto p = problems_of("sites:\n  - api: v3\n");
    CHECK(p == std::vector<std::string>{
                   "t.yaml:2:5: sites[0].name: required key missing",
                   "t.yaml:2:5: sites[0].url: required key missing",
                   "t.yaml:2:5: sites[0].username: required key missing",
                   "t.yaml:2:5: sites[0]: a credential is required: set password_file (a file "
                   "holding the password) or password_env (an environment variable) with "
                   "username, or api_key_file or api_key_env (a service account's API key)"});
  }
  SECTION("sites must not be empty") {
    CHECK(problems_of("sites: []\n") ==
          std::vector<std::string>{"t.yaml:1:8: sites: must list at least one site"});
    CHECK(problems_of("sites:\n") ==
          std::vector<std::string>{"t.yaml:1:1: sites: must list at least one site"});
  }
}

TEST_CASE("site names and urls", "[unit][config]") {
  auto site_with = [](const std::string& key, const std::string& value) {
    return "sites:\n  - name: " + (key == "name" ? value : std::string("a")) + "\n    url: \"" +
           (key == "url" ? value : std::string("https://pc")) + "\"" +
           "\n    username: u\n    password_env: X\n";
  };
  SECTION("accepted names") {
    for (const char* n : {"a", "dr-1", "pc_2.example", "ABC"}) {
      CHECK(parse_config(site_with("name", n), "t").sites[0].name == n);
    }
    CHECK_NOTHROW(parse_config(site_with("name", std::string(64, 'x')), "t"));
  }
  SECTION("rejected names") {
    for (std::string n : {std::string("a b"), std::string("a/b"), std::string("\"\""),
                          std::string(65, 'x'), std::string("ü")}) {
      INFO(n);
      auto p = problems_of(site_with("name", n));
      REQUIRE(p.size() == 1);
      CHECK(contains(p[0], "sites[0].name: must"));
    }
  }
  SECTION("accepted urls are normalized with an explicit port") {
    const std::pair<const char*, const char*> cases[] = {
        {"https://pc", "https://pc:9440"},
        {"https://pc.example.com:443", "https://pc.example.com:443"},
        {"HTTPS://10.0.0.5:9440/", "https://10.0.0.5:9440"},
        {"https://[fd00::1]", "https://[fd00::1]:9440"},
        {"https://[fd00::1]:8443/prism/", "https://[fd00::1]:8443/prism"},
        {"https://127.0.0.1:1/api/nutanix", "https://127.0.0.1:1/api/nutanix"},
    };
    for (const auto& [in, out] : cases) {
      INFO(in);
      CHECK(parse_config(site_with("url", in), "t").sites[0].url == out);
    }
  }
  SECTION("rejected urls") {
    const std::pair<const char*, const char*> cases[] = {
        {"http://pc", "scheme 'http' is not supported"},
        {"pc.example.com", "must be https://host[:port][/base]"},
        {"https://", "has no host"},
        {"https://pc:0", "port must be a number from 1 to 65535, got '0'"},
        {"https://pc:65536", "port must be a number from 1 to 65535, got '65536'"},
        {"https://pc:", "port must be a number from 1 to 65535, got ''"},
        {"https://pc:abc", "port must be a number from 1 to 65535, got 'abc'"},
        {"https://fd00::1", "IPv6 addresses must be in brackets"},
        {"https://[nope]", "invalid IPv6 address 'nope'"},
        {"https://pc?x=1", "must not contain a query or fragment"},
        {"https://bad_host!", "invalid host 'bad_host!'"},
    };
    for (const auto& [in, why] : cases) {
      INFO(in);
      auto p = problems_of(site_with("url", in));
      REQUIRE(p.size() == 1);
      CHECK(contains(p[0], "t.yaml:3:10: sites[0].url: "));  // the quote's column
      CHECK(contains(p[0], why));
    }
  }
  SECTION("api") {
    const auto api_of = [](const std::string& yaml) {
      return parse_config(std::string(kSite) + yaml, "t.yaml").sites.at(0).api;
    };
    CHECK(api_of("    api: auto\n") == Api::Auto);
    CHECK(api_of("    api: v4\n") == Api::V4);
    CHECK(api_of("    api: v3\n") == Api::V3);
    CHECK(api_of("") == Api::Auto);
    // The YAML spelling is the log, label and database spelling.
    CHECK(to_string(Api::V3) == "v3");
    CHECK(to_string(Api::V4) == "v4");
    CHECK(to_string(Api::Auto) == "auto");
    for (Api a : {Api::V3, Api::V4, Api::Auto}) CHECK(parse_api(to_string(a)) == a);
    CHECK_FALSE(parse_api("V3").has_value());
    CHECK_FALSE(parse_api("").has_value());
    CHECK(problems_of(std::string(kSite) + "    api: v2\n") ==
          std::vector<std::string>{"t.yaml:6:10: sites[0].api: must be v3, v4 or auto, got 'v2'"});
  }
}

TEST_CASE("durations, sizes and numeric ranges", "[unit][config]") {
  SECTION("duration text") {
    CHECK(*parse_duration("250ms") == 250ms);
    CHECK(*parse_duration("30s") == 30s);
    CHECK(*parse_duration("5m") == 5min);
    CHECK(*parse_duration("1h") == 1h);
    CHECK(*parse_duration("45") == 45s);  // bare integer: seconds
    CHECK(*parse_duration("0") == 0ms);
    for (const char* bad : {"", "-1s", "1.5s", "s", "5 m", "5x", "5mins", "1h30m", "+5s",
                            "99999999999999999999", "9999999999999999h"}) {
      INFO(bad);
      CHECK_FALSE(parse_duration(bad).has_value());
    }
    CHECK(parse_duration("-1s").error().message == "must not be negative");
    CHECK(parse_duration("9999999999999999h").error().message == "too large");
    CHECK(format_duration(90s) == "90s");
    CHECK(format_duration(2min) == "2m");
    CHECK(format_duration(1500ms) == "1500ms");
    CHECK(format_duration(2h) == "2h");
  }
  SECTION("size text") {
    CHECK(*parse_size("1024") == 1024u);
    CHECK(*parse_size("512KiB") == 512u * 1024u);
    CHECK(*parse_size("64MiB") == 64u * 1024u * 1024u);
    CHECK(*parse_size("1GiB") == 1024u * 1024u * 1024u);
    for (const char* bad :
         {"", "-1", "64MB", "64 MiB", "1.5GiB", "MiB", "99999999999999999999", "99999999999GiB"}) {
      INFO(bad);
      CHECK_FALSE(parse_size(bad).has_value());
    }
    CHECK(format_size(64u * 1024u * 1024u) == "64MiB");
    CHECK(format_size(1000) == "1000");
  }
  SECTION("site values in and out of range") {
    struct Case {
      const char* line;
      const char* problem;  // empty: accepted
    };
    const Case cases[] = {
        {"interval: 1s", ""},
        {"interval: 999ms", "t.yaml:6:15: sites[0].interval: must be at least 1s, got 999ms"},
        {"interval: soon",
         "t.yaml:6:15: sites[0].interval: invalid duration 'soon': must start with a number "
         "(examples: 250ms, 30s, 5m, 1h; a bare number means seconds)"},
        {"retry_backoff: 10ms", ""},
        {"retry_backoff: 9ms",
         "t.yaml:6:20: sites[0].retry_backoff: must be at least 10ms, got 9ms"},
        {"jitter: 0", ""},
        {"jitter: 0.5", ""},
        {"jitter: -0.1", "t.yaml:6:13: sites[0].jitter: must be from 0 to 0.5, got -0.1"},
        {"jitter: lots",
         "t.yaml:6:13: sites[0].jitter: must be a number from 0 to 0.5, got 'lots'"},
        {"retries: 0", ""},
        {"retries: 10", ""},
        {"retries: -1", "t.yaml:6:14: sites[0].retries: must be from 0 to 10, got -1"},
        {"retries: 2.5",
         "t.yaml:6:14: sites[0].retries: must be an integer from 0 to 10, got '2.5'"},
        {"retries: 99999999999999999999",
         "t.yaml:6:14: sites[0].retries: must be from 0 to 10, got 99999999999999999999"},
        {"page_size: 1", ""},
        {"page_size: 0", "t.yaml:6:16: sites[0].page_size: must be from 1 to 500, got 0"},
        {"max_response_bytes: 1KiB", ""},
        {"max_response_bytes: 1GiB", ""},
        {"max_response_bytes: 1023",
         "t.yaml:6:25: sites[0].max_response_bytes: must be from 1KiB to 1GiB, got 1023"},
        {"max_response_bytes: 2GiB",
         "t.yaml:6:25: sites[0].max_response_bytes: must be from 1KiB to 1GiB, got 2GiB"},
        {"allow_empty: true", ""},
        {"allow_empty: 1", "t.yaml:6:18: sites[0].allow_empty: must be true or false, got '1'"},
        {"vm_coverage: false", ""},
        {"vm_coverage: no", "t.yaml:6:18: sites[0].vm_coverage: must be true or false, got 'no'"},
        {"vm_coverage_interval: 0s", ""},
        {"max_backoff: 0s", ""},
        {"max_backoff: 10m", ""},
        {"vm_coverage_interval: -5m",
         "t.yaml:6:27: sites[0].vm_coverage_interval: invalid duration '-5m': must not be negative "
         "(examples: 250ms, 30s, 5m, 1h; a bare number means seconds)"},
        {"insecure_skip_verify:",
         "t.yaml:6:5: sites[0].insecure_skip_verify: has no value; expected true or false"},
    };
    for (const auto& c : cases) {
      INFO(c.line);
      const std::string text = std::string(kSite) + "    " + c.line + "\n";
      if (*c.problem == '\0') {
        CHECK_NOTHROW(parse_config(text, "t.yaml"));
      } else {
        CHECK(problems_of(text) == std::vector<std::string>{c.problem});
      }
    }
  }
  SECTION("parsed values land in the config") {
    auto c = parse_config(std::string(kSite) +
                              "    interval: 2m\n    jitter: 0.25\n    retries: 0\n"
                              "    retry_backoff: 250ms\n    page_size: 100\n"
                              "    max_response_bytes: 512KiB\n    allow_empty: true\n"
                              "    insecure_skip_verify: True\n",
                          "t.yaml");
    const auto& s = c.sites[0];
    CHECK(s.interval == 2min);
    CHECK(s.jitter == Approx(0.25));
    CHECK(s.retries == 0);
    CHECK(s.retry_backoff == 250ms);
    CHECK(s.page_size == 100);
    CHECK(s.max_response_bytes == 512u * 1024u);
    CHECK(s.allow_empty);
    CHECK(s.insecure_skip_verify);
  }
}

TEST_CASE("timeouts nest inside the interval", "[unit][config]") {
  auto site = [](const std::string& extra) { return std::string(kSite) + extra; };
  SECTION("defaults shrink to fit a short interval") {
    auto s = parse_config(site("    interval: 3s\n"), "t").sites[0];
    CHECK(s.poll_timeout == 3s);
    CHECK(s.request_timeout == 3s);
    CHECK(s.connect_timeout == 3s);
    s = parse_config(site("    interval: 10m\n"), "t").sites[0];
    CHECK(s.poll_timeout == 120s);
    CHECK(s.request_timeout == 30s);
    CHECK(s.connect_timeout == 5s);
  }
  SECTION("explicit values that do not nest name both keys") {
    CHECK(problems_of(site("    interval: 30s\n    poll_timeout: 1m\n")) ==
          std::vector<std::string>{
              "t.yaml:7:19: sites[0].poll_timeout: must not exceed interval (30s), got 1m"});
    CHECK(problems_of(site("    request_timeout: 90s\n")) ==
          std::vector<std::string>{
              "t.yaml:6:22: sites[0].request_timeout: must not exceed poll_timeout (1m, default: "
              "min(120s, interval)), got 90s"});
    CHECK(problems_of(site("    connect_timeout: 10s\n    request_timeout: 5s\n")) ==
          std::vector<std::string>{
              "t.yaml:6:22: sites[0].connect_timeout: must not exceed request_timeout (5s), got "
              "10s"});
    CHECK(
        problems_of(site("    poll_timeout: 2m\n")) ==
        std::vector<std::string>{
            "t.yaml:6:19: sites[0].poll_timeout: must not exceed interval (1m, default), got 2m"});
  }
  SECTION("equal values are fine") {
    auto s =
        parse_config(site("    interval: 10s\n    poll_timeout: 10s\n    request_timeout: 10s\n"
                          "    connect_timeout: 10s\n"),
                     "t")
            .sites[0];
    CHECK(s.connect_timeout == 10s);
  }
}

TEST_CASE("pairs, storage, server and log sections", "[unit][config]") {
  const std::string two_sites = std::string(kSite) +
                                "  - name: dr\n    url: https://dr\n    username: u\n"
                                "    password_env: X\n";
  SECTION("a pair naming an unknown site") {
    CHECK(problems_of(two_sites + "pairs:\n  - name: p\n    source: primary\n    replica: drr\n") ==
          std::vector<std::string>{
              "t.yaml:13:14: pairs[0].replica: unknown site 'drr'; did you mean 'dr'? (sites: "
              "primary, dr)"});
  }
  SECTION("valid pairs, empty pairs") {
    auto c = parse_config(two_sites + "pairs:\n  - name: p\n    source: dr\n    replica: primary\n",
                          "t");
    REQUIRE(c.pairs.size() == 1);
    CHECK(c.pairs[0].source == "dr");
    CHECK(c.pairs[0].replica == "primary");
    CHECK(c.pairs[0].line == 11);
    CHECK(parse_config(two_sites + "pairs: []\n", "t").pairs.empty());
    CHECK(parse_config(two_sites + "pairs:\n", "t").pairs.empty());
  }
  SECTION("server.listen") {
    for (const char* ok : {"127.0.0.1:9944", "0.0.0.0:1", "[::1]:9944", "[::]:65535",
                           "localhost:8080", "127.0.0.1:0"}) {
      INFO(ok);
      CHECK(parse_config(std::string(kSite) + "server:\n  listen: \"" + ok + "\"\n", "t")
                .server.listen == ok);
    }
    for (const char* bad : {"9944", "example.com:80", "127.0.0.1:65536", "127.0.0.1:", "::1:9944",
                            "[::1]", "127.0.0.1:-1", "300.0.0.1:80"}) {
      INFO(bad);
      auto p = problems_of(std::string(kSite) + "server:\n  listen: \"" + bad + "\"\n");
      REQUIRE(p.size() == 1);
      CHECK(contains(p[0], "t.yaml:7:11: server.listen: "));
    }
  }
  SECTION("log") {
    auto c = parse_config(std::string(kSite) + "log:\n  level: debug\n  format: journal\n", "t");
    CHECK(c.log.level == "debug");
    CHECK(c.log.format == "journal");
    CHECK(problems_of(std::string(kSite) + "log:\n  level: warning\n") ==
          std::vector<std::string>{
              "t.yaml:7:10: log.level: must be one of debug, info, warn, error, got 'warning'; did "
              "you mean 'warn'?"});
  }
  SECTION("polling") {
    auto c = parse_config(std::string(kSite) + "polling:\n  max_concurrent: 8\n", "t");
    CHECK(c.polling.max_concurrent == 8);
    auto p = problems_of(std::string(kSite) + "polling:\n  max_concurrent: 0\n");
    REQUIRE(p.size() == 1);
    CHECK(contains(p[0], "t.yaml:7:19: polling.max_concurrent: "));
    p = problems_of(std::string(kSite) + "polling:\n  max_in_flight: 8\n");
    REQUIRE(p.size() == 1);
    CHECK(contains(p[0], "polling.max_in_flight: unknown key"));
  }
  SECTION("empty sections keep their defaults") {
    auto c = parse_config(std::string(kSite) + "storage:\nserver:\nlog:\n", "t");
    CHECK(c.storage.path == StorageConfig{}.path);
    CHECK(c.server.listen == ServerConfig{}.listen);
    CHECK(c.log.level == "info");
  }
  SECTION("in-memory storage is kept as written") {
    CHECK(parse_config(std::string(kSite) + "storage:\n  path: \":memory:\"\n", "t").storage.path ==
          ":memory:");
  }
}

TEST_CASE("relative paths resolve against the config file's directory", "[unit][config]") {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "etc" / "certs");
  write_file(dir.file("etc/certs/ca.pem"), "not really a PEM, but readable\n");
  const std::string text =
      "sites:\n"
      "  - name: a\n"
      "    url: https://pc\n"
      "    username: u\n"
      "    password_file: secrets/a.pw\n"
      "    ca_file: certs/ca.pem\n"
      "storage:\n"
      "  path: ../var/db.sqlite\n";
  write_file(dir.file("etc/flowdrift.yaml"), text);

  SECTION("load_config: the file's directory, whatever the working directory") {
    auto c = load_config(dir.file("etc/flowdrift.yaml"));
    const auto etc = dir.path() / "etc";
    CHECK(c.sites[0].credentials.password_file == (etc / "secrets/a.pw").string());
    CHECK(c.sites[0].ca_file == (etc / "certs/ca.pem").string());
    CHECK(c.storage.path == (dir.path() / "var/db.sqlite").string());
  }
  SECTION("parse_config: the current directory") {
    const auto old = std::filesystem::current_path();
    std::filesystem::current_path(dir.path() / "etc");
    Config c;
    try {
      c = parse_config(text, "inline");
    } catch (...) {
      std::filesystem::current_path(old);
      throw;
    }
    std::filesystem::current_path(old);
    CHECK(c.sites[0].ca_file == (dir.path() / "etc/certs/ca.pem").string());
  }
  SECTION("absolute paths are kept") {
    auto c = parse_config(std::string(kSite) + "storage:\n  path: /srv/x/../db.sqlite\n", "t");
    CHECK(c.storage.path == "/srv/db.sqlite");
  }
  SECTION("a missing ca_file is reported with its resolved path") {
    write_file(dir.file("etc/bad.yaml"),
               "sites:\n  - name: a\n    url: https://pc\n    username: u\n"
               "    password_env: X\n    ca_file: nope.pem\n");
    auto p = load_problems(dir.file("etc/bad.yaml"));
    CHECK(p == std::vector<std::string>{dir.file("etc/bad.yaml") +
                                        ":6:14: sites[0].ca_file: "
                                        "cannot read '" +
                                        dir.file("etc/nope.pem") + "': No such file or directory"});
  }
  SECTION("a directory is not a ca_file") {
    write_file(dir.file("etc/bad.yaml"),
               "sites:\n  - name: a\n    url: https://pc\n    username: u\n"
               "    password_env: X\n    ca_file: certs\n");
    auto p = load_problems(dir.file("etc/bad.yaml"));
    REQUIRE(p.size() == 1);
    CHECK(contains(p[0], "is a directory"));
  }
}

TEST_CASE("an unreadable config file is one problem naming the path", "[unit][config]") {
  TempDir dir;
  CHECK(load_problems(dir.file("missing.yaml")) ==
        std::vector<std::string>{dir.file("missing.yaml") +
                                 ": cannot read configuration file: No such file or directory"});
  CHECK(load_problems(dir.path().string()) ==
        std::vector<std::string>{dir.path().string() +
                                 ": cannot read configuration file: Is a directory"});
}

TEST_CASE("read_password reads the file or the environment, never leaking it", "[unit][config]") {
  TempDir dir;
  SiteConfig site;
  site.name = "primary";
  const std::string secret = "s3cr3t-Pa55";

  SECTION("from a file, trailing newline stripped") {
    write_file(dir.file("pw"), secret + "\r\n");
    site.credentials.password_file = dir.file("pw");
    CHECK(read_password(site) == secret);
    write_file(dir.file("pw"), secret);
    CHECK(read_password(site) == secret);
    write_file(dir.file("pw"), " " + secret + " \n\n");
    CHECK(read_password(site) == " " + secret + " ");  // only line endings are stripped
  }
  SECTION("from the environment") {
    ScopedEnv env("FLOWDRIFT_TEST_PW", secret.c_str());
    site.credentials.password_env = "FLOWDRIFT_TEST_PW";
    CHECK(read_password(site) == secret);
  }
  SECTION("errors name the site and the source, never the secret") {
    auto message = [&]() -> std::string {
      try {
        (void)read_password(site);
      } catch (const ConfigError& e) {
        REQUIRE(e.problems().size() == 1);
        return e.what();
      }
      FAIL("read_password did not throw");
      return {};
    };
    site.credentials.password_file = dir.file("missing");
    CHECK(message() == "site 'primary': cannot read password_file '" + dir.file("missing") +
                           "': No such file or directory");

    write_file(dir.file("empty"), "\n");
    site.credentials.password_file = dir.file("empty");
    CHECK(message() == "site 'primary': password_file '" + dir.file("empty") + "' is empty");

    site.credentials.password_file.clear();
    site.credentials.password_env = "FLOWDRIFT_TEST_UNSET_PW";
    {
      ScopedEnv env("FLOWDRIFT_TEST_UNSET_PW", nullptr);
      CHECK(message() ==
            "site 'primary': environment variable FLOWDRIFT_TEST_UNSET_PW (password_env) is not "
            "set");
    }
    {
      ScopedEnv env("FLOWDRIFT_TEST_UNSET_PW", "");
      CHECK(message() ==
            "site 'primary': environment variable FLOWDRIFT_TEST_UNSET_PW (password_env) is "
            "empty");
    }
    site.credentials.password_env.clear();
    CHECK(contains(message(), "site 'primary': no password source"));

    // A file that exists but is huge (a wrong path such as a log) fails without echoing it.
    write_file(dir.file("big"), std::string(100 * 1024, 'x') + secret);
    site.credentials.password_file = dir.file("big");
    const auto m = message();
    CHECK(contains(m, "larger than 64KiB"));
    CHECK_FALSE(contains(m, secret));
  }
  SECTION("a site loaded from a config file reads its relative password file") {
    write_file(dir.file("pw"), secret + "\n");
    write_file(dir.file("c.yaml"),
               "sites:\n  - name: a\n    url: https://pc\n    username: u\n"
               "    password_file: pw\n");
    auto c = load_config(dir.file("c.yaml"));
    CHECK(read_password(c.sites[0]) == secret);
  }
}

TEST_CASE("pair mappings: categories, names and subnets", "[unit][config][mapping]") {
  const std::string pair = std::string(kSite) +
                           "  - name: dr\n    url: https://dr\n    username: u\n"
                           "    password_env: X\n"
                           "pairs:\n  - name: p\n    source: primary\n    replica: dr\n";
  SECTION("a full mapping loads") {
    auto c = parse_config(pair +
                              "    mappings:\n"
                              "      categories:\n"
                              "        \"Environment:Prod\": \"Environment:Prod-DR\"\n"
                              "      names:\n"
                              "        - match: \"^(.*)-prod$\"\n"
                              "          replica: \"$1-dr\"\n"
                              "      subnets:\n"
                              "        - source: 10.1.0.0/16\n"
                              "          replica: 10.201.0.0/16\n",
                          "t");
    REQUIRE(c.pairs.size() == 1);
    const auto m = drift::make_rules(c.pairs[0]).mapping;
    CHECK(m.categories.at("Environment:Prod") == "Environment:Prod-DR");
    REQUIRE(m.names.size() == 1);
    CHECK(m.names[0].replica == "$1-dr");
    REQUIRE(m.subnets.size() == 1);
    CHECK(m.subnets[0].prefix == 16);
  }
  SECTION("bad rules name the place and the reason") {
    auto p = problems_of(pair +
                         "    mappings:\n"
                         "      subnets:\n"
                         "        - source: 10.1.0.0/16\n"
                         "          replica: 10.201.0.0/24\n");
    REQUIRE(p.size() == 1);
    CHECK(contains(p[0], "t.yaml:15:"));
    CHECK(contains(p[0], "pairs[0].mappings: subnets[0]: prefix lengths differ"));
    auto q = problems_of(pair +
                         "    mappings:\n"
                         "      names:\n"
                         "        - match: \"web-(\"\n");
    REQUIRE(q.size() == 1);
    CHECK(contains(q[0], "pairs[0].mappings.names[0].replica: required key missing"));
    auto r = problems_of(pair + "    mappings:\n      categoris: {}\n");
    REQUIRE(r.size() == 1);
    CHECK(contains(r[0], "did you mean 'categories'"));
  }
}

TEST_CASE("pair expected differences, debounce and max_skew", "[unit][config][expected]") {
  const std::string pair = std::string(kSite) +
                           "  - name: dr\n    url: https://dr\n    username: u\n"
                           "    password_env: X\n    interval: 2m\n"
                           "pairs:\n  - name: p\n    source: primary\n    replica: dr\n";
  SECTION("defaults: 2 comparisons, no minimum time, skew bound of three longest intervals") {
    auto c = parse_config(pair, "t");
    REQUIRE(c.pairs.size() == 1);
    CHECK(c.pairs[0].debounce_comparisons == 2);
    CHECK(c.pairs[0].debounce_for == Millis(0));
    CHECK(c.pairs[0].max_skew == Millis(360'000));
    CHECK(c.pairs[0].expected.empty());
  }
  SECTION("a full declaration loads") {
    auto c = parse_config(pair +
                              "    debounce: {comparisons: 3, for: 5m}\n"
                              "    max_skew: 10m\n"
                              "    expected:\n"
                              "      - policy: \"app-*\"\n"
                              "        kind: modified\n"
                              "        field: description\n"
                              "        owner: alice@example.com\n"
                              "        reason: CHG-1234 DR keeps the old wording\n"
                              "        expires: 2027-03-31\n",
                          "t");
    const auto& p = c.pairs.at(0);
    CHECK(p.debounce_comparisons == 3);
    CHECK(p.debounce_for == Millis(300'000));
    CHECK(p.max_skew == Millis(600'000));
    const auto rules = drift::make_rules(p);
    REQUIRE(rules.expected.size() == 1);
    const auto& e = rules.expected[0];
    CHECK(e.policy == "app-*");
    CHECK(e.kind == diff::DriftKind::Modified);
    CHECK(e.field == "description");
    CHECK(e.owner == "alice@example.com");
    CHECK(e.expires == "2027-03-31");
    CHECK(e.expires_ms == 1'806'537'600'000);
    CHECK(e.line == 18);
  }
  SECTION("an expectation without owner, reason or expiry is refused") {
    auto p = problems_of(pair +
                         "    expected:\n"
                         "      - policy: web\n"
                         "        kind: missing\n");
    REQUIRE(p.size() == 3);
    CHECK(contains(p[0], "t.yaml:16:"));
    CHECK(contains(p[0], "pairs[0].expected[0].owner: required key missing"));
    CHECK(contains(p[1], "pairs[0].expected[0].reason: required key missing"));
    CHECK(contains(p[2], "pairs[0].expected[0].expires: required key missing"));
  }
  SECTION("bad values name the place and the reason") {
    const std::string base = pair +
                             "    expected:\n"
                             "      - policy: web\n"
                             "        owner: a\n"
                             "        reason: r\n";
    auto p = problems_of(base + "        expires: 2027-02-30\n");
    REQUIRE(p.size() == 1);
    CHECK(contains(p[0], "pairs[0].expected[0].expires: \"2027-02-30\" is not a valid date"));
    auto q = problems_of(base + "        expires: 2027-01-01\n        kind: modifed\n");
    REQUIRE(q.size() == 1);
    CHECK(contains(q[0], "pairs[0].expected[0].kind: unknown drift kind 'modifed'"));
    auto r = problems_of(base + "        expires: 2027-01-01\n        onwer: b\n");
    REQUIRE(r.size() == 1);
    CHECK(contains(r[0], "did you mean 'owner'"));
    auto d = problems_of(base + "        expires: 2027-01-01\n" +
                         "      - policy: web\n        owner: b\n        reason: s\n"
                         "        expires: 2028-01-01\n");
    REQUIRE(d.size() == 1);
    CHECK(contains(d[0], "selects the same items as the entry at line 16"));
    auto z = problems_of(pair + "    debounce: {comparisons: 0}\n");
    REQUIRE(z.size() == 1);
    CHECK(contains(z[0], "pairs[0].debounce.comparisons: must be from 1 to 100"));
    auto s = problems_of(pair + "    max_skew: 0s\n");
    REQUIRE(s.size() == 1);
    CHECK(contains(s[0], "pairs[0].max_skew: must be at least 1s"));
  }
}

TEST_CASE("storage retention and prune interval", "[unit][config][retention]") {
  auto c = parse_config(std::string(kSite), "t");
  CHECK(c.storage.retention == Millis(90LL * 86'400'000));  // default: 90 days
  CHECK(c.storage.prune_interval == Millis(3'600'000));
  c = parse_config(std::string(kSite) + "storage:\n  retention: 400d\n  prune_interval: 30m\n", "t");
  CHECK(c.storage.retention == Millis(400LL * 86'400'000));
  CHECK(c.storage.prune_interval == Millis(1'800'000));
  CHECK(parse_config(std::string(kSite) + "storage:\n  retention: 0\n", "t").storage.retention ==
        Millis(0));
  auto p = problems_of(std::string(kSite) + "storage:\n  retention: 30s\n");
  REQUIRE(p.size() == 1);
  CHECK(contains(p[0], "storage.retention: must be at least 1m, got 30s"));
  auto q = problems_of(std::string(kSite) + "storage:\n  retention: 3w\n");
  REQUIRE(q.size() == 1);
  CHECK(contains(q[0], "unknown unit 'w' (use ms, s, m, h or d)"));
}

TEST_CASE("a pair's source may be a baseline: one site per path, read as often as its replica",
          "[unit][config][baseline]") {
  TempDir dir;
  const std::string sites =
      "sites:\n"
      "  - name: dr\n    url: https://dr\n    username: u\n    password_env: X\n"
      "    interval: 30s\n"
      "  - name: test\n    url: https://test\n    username: u\n    password_env: X\n"
      "    interval: 2m\n";
  const std::string pairs =
      "pairs:\n"
      "  - name: approved\n    source: {baseline: baselines/flow}\n    replica: dr\n"
      "  - name: rehearsal\n    source:\n      baseline: ./baselines/flow/\n    replica: test\n";
  std::filesystem::create_directories(dir.path() / "etc");
  write_file(dir.file("etc/flowdrift.yaml"), sites + pairs);
  const auto c = load_config(dir.file("etc/flowdrift.yaml"));
  const std::string path = (dir.path() / "etc/baselines/flow").string();
  REQUIRE(c.sites.size() == 3);
  const auto* b = c.find_site("baseline:" + path);
  REQUIRE(b != nullptr);
  CHECK(is_baseline(*b));
  CHECK(b->baseline == path);
  CHECK(b->interval == 30s);  // the most often polled replica compared with it
  CHECK(b->jitter == 0);
  CHECK(read_password(*b).empty());
  CHECK_FALSE(is_baseline(*c.find_site("dr")));
  REQUIRE(c.pairs.size() == 2);
  CHECK(c.pairs[0].source == b->name);
  CHECK(c.pairs[1].source == b->name);
  CHECK(c.pairs[0].max_skew == 90s);
  CHECK(c.pairs[1].max_skew == 6min);

  SECTION("a source map without a baseline, or with other keys, is reported") {
    auto p = problems_of(sites + "pairs:\n  - name: x\n    source: {path: a}\n    replica: dr\n");
    REQUIRE(p.size() == 2);
    CHECK(contains(p[0], "t.yaml:14:13: pairs[0].source.baseline: required key missing"));
    CHECK(contains(p[1], "t.yaml:14:14: pairs[0].source.path: unknown key"));
  }
  SECTION("a baseline is never a replica") {
    auto p = problems_of(sites + "pairs:\n  - name: x\n    source: dr\n"
                                 "    replica: {baseline: a}\n");
    REQUIRE(p.size() == 1);
    CHECK(contains(p[0], "pairs[0].replica: must be a string"));
  }
}

TEST_CASE("an API key instead of a user and password: alone, read as one printable line, never "
          "echoed",
          "[unit][config]") {
  const std::string site = "sites:\n  - name: dr\n    url: https://dr\n";
  const auto keyed = parse_config(site + "    api_key_env: FLOWDRIFT_TEST_API_KEY\n", "t.yaml");
  REQUIRE(uses_api_key(keyed.sites[0]));
  CHECK(keyed.sites[0].credentials.username.empty());
  ::setenv("FLOWDRIFT_TEST_API_KEY", "ntnx-Key.1/abc=", 1);
  CHECK(read_password(keyed.sites[0]) == "ntnx-Key.1/abc=");
  for (const char* bad : {"two\nlines", "with space", "tab\there", "\x1b[31m"}) {
    ::setenv("FLOWDRIFT_TEST_API_KEY", bad, 1);
    try {
      (void)read_password(keyed.sites[0]);
      FAIL("expected a ConfigError for " << bad);
    } catch (const ConfigError& e) {
      CHECK(contains(e.what(), "site 'dr': the API key (api_key_env) must be one line of printable"));
      CHECK_FALSE(contains(e.what(), bad));
    }
  }
  ::unsetenv("FLOWDRIFT_TEST_API_KEY");
  CHECK_FALSE(uses_api_key(parse_config(site + "    username: u\n    password_env: P\n", "t.yaml").sites[0]));

  auto both = problems_of(site + "    username: u\n    password_env: P\n    api_key_file: k\n");
  REQUIRE(both.size() == 1);
  CHECK(contains(both[0], "t.yaml:6:5: sites[0].api_key_file: set either a password"));
  auto two_keys = problems_of(site + "    api_key_file: k\n    api_key_env: K\n");
  REQUIRE(two_keys.size() == 1);
  CHECK(contains(two_keys[0], "set only one of api_key_file and api_key_env"));
  auto pasted = problems_of(site + "    api_key_env: 'abc def-1234'\n");
  REQUIRE(pasted.size() == 1);
  CHECK_FALSE(contains(pasted[0], "abc def"));
  // Writes are a user and password: with a key, the write user must be named.
  auto no_writer = problems_of(site + "    api_key_env: K\n    write_password_env: W\n");
  REQUIRE(no_writer.size() == 1);
  CHECK(contains(no_writer[0], "write_username is required with an API key"));
  CHECK(parse_config(site + "    api_key_env: K\n    write_username: w\n    write_password_env: W\n",
                     "t.yaml")
            .sites[0]
            .credentials.write_username == "w");
}

TEST_CASE("a site's proxy is none or http://HOST[:PORT], never with credentials", "[unit][config]") {
  const std::string site = std::string(kSite);
  CHECK(parse_config(site + "    proxy: http://proxy.corp:3128\n", "t.yaml").sites[0].proxy ==
        "http://proxy.corp:3128");
  CHECK(parse_config(site + "    proxy: none\n", "t.yaml").sites[0].proxy == "none");
  CHECK(parse_config(site, "t.yaml").sites[0].proxy.empty());
  for (const char* bad : {"https://proxy:3128", "proxy.corp:3128", "http://proxy/path", "http://"}) {
    auto p = problems_of(site + "    proxy: " + bad + "\n");
    INFO(bad);
    REQUIRE(p.size() == 1);
    CHECK(contains(p[0], "t.yaml:6:12: sites[0].proxy: must be none or an http://HOST[:PORT] proxy"));
  }
  auto secret = problems_of(site + "    proxy: http://me:hunter2@proxy:3128\n");
  REQUIRE(secret.size() == 1);
  CHECK(contains(secret[0], "a URL with credentials"));
  CHECK_FALSE(contains(secret[0], "hunter2"));
}

TEST_CASE("a separate write credential makes a site writable, without one it is read-only",
          "[unit][config][plan]") {
  const std::string base =
      "sites:\n  - name: dr\n    url: https://dr\n    username: reader\n    password_env: R_PW\n";
  const auto ro = parse_config(base, "t.yaml");
  CHECK_FALSE(is_writable(ro.sites[0]));
  try {
    (void)read_write_password(ro.sites[0]);
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    CHECK(contains(e.what(), "site 'dr': is read-only: no write credential"));
  }
  const auto rw = parse_config(base + "    write_username: flow-admin\n"
                                      "    write_password_env: FLOWDRIFT_TEST_WRITE_PW\n",
                               "t.yaml");
  REQUIRE(is_writable(rw.sites[0]));
  CHECK(rw.sites[0].credentials.write_username == "flow-admin");
  ::setenv("FLOWDRIFT_TEST_WRITE_PW", "w-secret", 1);
  CHECK(read_write_password(rw.sites[0]) == "w-secret");
  ::unsetenv("FLOWDRIFT_TEST_WRITE_PW");
  try {
    (void)read_write_password(rw.sites[0]);
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    CHECK(contains(e.what(), "FLOWDRIFT_TEST_WRITE_PW (write_password_env) is not set"));
  }
  auto p = problems_of(base + "    write_password_env: A\n    write_password_file: f\n");
  REQUIRE(p.size() == 1);
  CHECK(contains(p[0], "set only one of write_password_file and write_password_env"));
}
