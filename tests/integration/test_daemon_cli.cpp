// flowdriftd as an operator runs it: --check-config exit codes and messages.
#include <catch2/catch.hpp>

#include <signal.h>

#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "live.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift::test;
using namespace std::chrono_literals;

namespace {

int run_check(const TempDir& dir, const std::string& yaml, std::string* output,
              const std::vector<std::string>& extra_args = {}) {
  write_file(dir.file("flowdrift.yaml"), yaml);
  const auto log = dir.file("out.log");
  std::filesystem::remove(log);
  std::vector<std::string> argv{build_dir() + "/daemon/flowdriftd", "--config",
                                dir.file("flowdrift.yaml"), "--check-config"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  Process p(std::move(argv), log);
  auto status = p.wait(20s);
  REQUIRE(status.has_value());
  *output = read_file(log);
  return *status;
}

// A config of one site, primary at 127.0.0.1:9440, whose lines end with `username` and then
// `rest` (the site's further lines and anything after them).
std::string primary_site(const std::string& rest, const std::string& username = "admin") {
  return "sites:\n"
         "  - name: primary\n"
         "    url: https://127.0.0.1:9440\n"
         "    username: " + username + "\n" + rest;
}

}  // namespace

TEST_CASE("flowdriftd --check-config accepts a valid config and exits 0", "[integration][cli]") {
  TempDir dir;
  write_file(dir.file("pw"), "secret\n");
  std::string out;
  int rc = run_check(dir, primary_site("    password_file: pw\nstorage:\n  path: db.sqlite\n"), &out);
  CHECK(rc == 0);
  CHECK_THAT(out, Catch::Contains("is valid"));
  CHECK_THAT(out, !Catch::Contains("secret"));
}

TEST_CASE("flowdriftd --check-config names file, line and key and exits 78", "[integration][cli]") {
  TempDir dir;
  std::string out;
  int rc = run_check(
      dir, primary_site("    password_env: FLOWDRIFT_TEST_UNSET\n    intervall: 30s\n"), &out);
  CHECK(rc == 78);
  CHECK_THAT(out, Catch::Contains("flowdrift.yaml:6:"));
  CHECK_THAT(out, Catch::Contains("intervall"));
}

TEST_CASE("flowdriftd --check-config fails on unreadable credentials", "[integration][cli]") {
  TempDir dir;
  std::string out;
  int rc = run_check(dir, primary_site("    password_file: does-not-exist\n"), &out);
  CHECK(rc == 78);
  CHECK_THAT(out, Catch::Contains("primary"));
}

TEST_CASE("flowdriftd refuses a control character in a username with file:line:col",
          "[integration][cli][hostile]") {
  TempDir dir;
  write_file(dir.file("pw"), "secret\n");
  std::string out;
  int rc = run_check(dir, primary_site("    password_file: pw\n", "\"ad\\x1bmin\""), &out);
  CHECK(rc == 78);
  CHECK_THAT(out, Catch::Contains("flowdrift.yaml:4:15"));
  CHECK_THAT(out, Catch::Contains("username"));
  CHECK(out.find('\x1b') == std::string::npos);  // not echoed raw
}

TEST_CASE("flowdriftd refuses --web.enable-lifecycle with a web config that has no users",
          "[integration][cli][hostile]") {
  TempDir dir;
  write_file(dir.file("pw"), "secret\n");
  write_file(dir.file("web.yml"), "http_server_config:\n  headers:\n    X-Frame-Options: deny\n");
  std::string out;
  const int rc = run_check(dir, primary_site("    password_file: pw\n"),
                           &out, {"--web.config.file", dir.file("web.yml"), "--web.enable-lifecycle"});
  CHECK(rc == 2);
  CHECK_THAT(out, Catch::Contains("no basic_auth_users"));
}

TEST_CASE("flowdriftd refuses a bad --log.level, --log.format or --web.listen-address by name",
          "[integration][cli]") {
  TempDir dir;
  write_file(dir.file("pw"), "secret\n");
  std::string out;
  const std::string yaml = primary_site("    password_file: pw\n");
  CHECK(run_check(dir, yaml, &out, {"--log.level", "loud"}) == 2);
  CHECK_THAT(out, Catch::Contains("--log.level: must be one of debug, info, warn, error, got 'loud'"));
  CHECK(run_check(dir, yaml, &out, {"--log.format", "text"}) == 2);
  CHECK_THAT(out, Catch::Contains("--log.format: must be one of auto, logfmt, json, journal"));
  CHECK(run_check(dir, yaml, &out, {"--web.listen-address", "9944"}) == 2);
  CHECK_THAT(out, Catch::Contains("--web.listen-address: must be host:port"));
  CHECK(run_check(dir, yaml, &out, {"--log.level", "debug", "--log.format", "json",
                                    "--web.listen-address", "127.0.0.1:0"}) == 0);
}

// The flags win over the file, as exporters' do, and a reload of the file keeps them: the
// listener stays where the flag put it (a changed server.listen would refuse the reload) and
// the lines stay JSON.
TEST_CASE("flowdriftd's --web.listen-address and --log.format override the file, across a reload",
          "[integration][cli]") {
  TempDir dir;
  write_file(dir.file("pw"), "secret\n");
  const auto port = free_port();
  write_file(dir.file("flowdrift.yaml"),
             primary_site("    password_file: pw\n    interval: 1s\n    retries: 0\n") +
                 "storage:\n  path: flowdrift.db\nserver:\n  listen: 127.0.0.1:1\n"
                 "log:\n  level: warn\n  format: logfmt\n");
  Process daemon({build_dir() + "/daemon/flowdriftd", "--config", dir.file("flowdrift.yaml"),
                  "--web.listen-address", "127.0.0.1:" + std::to_string(port), "--log.format",
                  "json", "--log.level", "info"},
                 dir.file("flowdriftd.log"));
  const auto log = [&] { return read_file(dir.file("flowdriftd.log")); };
  REQUIRE(wait_until([&] { return log().find("daemon.started") != std::string::npos; }, 30s));
  CHECK_THAT(log(), Catch::Contains("\"port\":" + std::to_string(port)));
  daemon.signal(SIGHUP);
  REQUIRE(wait_until([&] { return log().find("config.reload") != std::string::npos; }, 20s));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait(20s) == std::optional<int>(0));
  // Every line is a JSON object at info or above: the file's format and level never applied.
  std::istringstream lines(log());
  int n = 0;
  bool reloaded = false;
  for (std::string line; std::getline(lines, line); ++n) {
    CAPTURE(line);
    const auto j = nlohmann::json::parse(line);
    CHECK(j.at("level") != "debug");
    if (j.at("event") == "config.reloaded") reloaded = true;
  }
  CHECK(n > 3);
  CHECK(reloaded);
}

// /etc/default/flowdrift as packaged: the unit appends $FLOWDRIFTD_ARGS to flowdriftd's command
// line split on spaces (systemd/check-unit.sh checks the unit does). The active line and every
// documented example must be flags the daemon accepts, and there must be examples to try.
TEST_CASE("flowdriftd accepts the flags of the packaged /etc/default/flowdrift", "[integration][cli]") {
  TempDir dir;
  write_file(dir.file("pw"), "secret\n");
  const std::string yaml = primary_site("    password_file: pw\n");
  std::istringstream file(read_file(std::string(FLOWDRIFT_SOURCE_DIR) + "/systemd/flowdrift.default"));
  const std::string key = "FLOWDRIFTD_ARGS=\"";
  int examples = 0;
  for (std::string line; std::getline(file, line);) {
    const auto at = line.find(key);
    if (at == std::string::npos) continue;
    CAPTURE(line);
    REQUIRE(line.back() == '"');
    const bool active = at == 0;
    REQUIRE((active || line.rfind("#   ", 0) == 0));
    std::istringstream words(line.substr(at + key.size(), line.size() - at - key.size() - 1));
    std::vector<std::string> args;
    for (std::string w; words >> w;) args.push_back(w);
    if (!active) {
      REQUIRE(!args.empty());
      ++examples;
    }
    std::string out;
    CHECK(run_check(dir, yaml, &out, args) == 0);
    CHECK_THAT(out, Catch::Contains("is valid"));
  }
  CHECK(examples >= 2);
}
