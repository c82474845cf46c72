// flowdriftd as an operator runs it: --check-config exit codes and messages.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

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
