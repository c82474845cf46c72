// How a site is reached. A Prism Central service account's API key (X-ntnx-api-key, PC 2024.3
// and later) instead of a user and password: pcsim accepts the key and nothing else for it, the
// daemon polls over v3 and flowdriftctl dumps over v4 with it, and the key appears in no log,
// message or file. An HTTP CONNECT proxy on loopback: a site's `proxy:`, or HTTPS_PROXY unless
// NO_PROXY exempts the host, routes every request through it; `proxy: none` goes direct.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "live.hpp"
#include "support/connect_proxy.hpp"

using namespace flowdrift;
using namespace flowdrift::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kKey = "ntnx-svc-7f3a9c0e5b1d4e2f8a6c";
constexpr const char* kWrongKey = "ntnx-svc-0000000000000000dead";

// A config whose only site is `site`, logging in with the key in `key_file`.
std::string keyed_site_config(LiveSite& site, const std::string& key_file, const char* api) {
  return "sites:\n  - name: dr\n    url: https://127.0.0.1:" + std::to_string(site.port()) +
         "\n    api_key_file: " + key_file + "\n    ca_file: " + site.ca_file() +
         "\n    api: " + api + "\n    retries: 0\n"
         "pairs: []\nstorage:\n  path: ctl.db\n";
}

}  // namespace

TEST_CASE("a site with an API key is polled with X-ntnx-api-key over v3 and v4 and the key is "
          "never shown",
          "[integration][auth]") {
  TempDir dir;
  write_file(dir.file("pc-key"), std::string(kKey) + "\n");
  write_file(dir.file("wrong-key"), std::string(kWrongKey) + "\n");
  LiveSite primary{dir, "primary", 20, 7};
  LiveSite dr{dir, "dr", 20, 7, {"--api-key-file", dir.file("pc-key")}};
  LiveDaemon daemon{dir, primary, dr};
  // The DR site logs in with the key alone: no username, no password.
  auto config = read_file(daemon.config_path());
  const std::string password_login = "    username: admin\n    password_file: pc-password\n";
  const auto dr_at = config.find(password_login, config.find("- name: dr"));
  REQUIRE(dr_at != std::string::npos);
  config.replace(dr_at, password_login.size(), "    api_key_file: pc-key\n");
  write_file(daemon.config_path(), config);

  daemon.start();
  DbView db(daemon.db_path());
  REQUIRE(wait_until([&] { return pair_status(db) == "IN_SYNC"; }, 60s));
  CHECK(db.scalar("SELECT count(*) FROM polls p JOIN sites s ON s.id = p.site_id "
                  "WHERE s.name = 'dr' AND p.outcome = 'complete'")
            .value_or("0") != "0");
  daemon.stop();
  CHECK_THAT(daemon.log(), !Catch::Contains(kKey));

  // The v4 client sends it too.
  write_file(dir.file("v4.yaml"), keyed_site_config(dr, dir.file("pc-key"), "v4"));
  auto dumped = run_ctl(dir, {"dump", "--config", dir.file("v4.yaml"), "--site", "dr", "--out",
                              dir.file("dr-v4.json")});
  INFO(dumped.out);
  REQUIRE(dumped.status == 0);
  CHECK_THAT(dumped.out, Catch::Contains("over v4"));
  CHECK_THAT(read_file(dir.file("dr-v4.json")), !Catch::Contains(kKey));

  // A wrong key is a 401, named as an authentication failure, without either key.
  write_file(dir.file("wrong.yaml"), keyed_site_config(dr, dir.file("wrong-key"), "v3"));
  auto refused = run_ctl(dir, {"dump", "--config", dir.file("wrong.yaml"), "--site", "dr"});
  CHECK(refused.status == 2);
  CHECK_THAT(refused.out, Catch::Contains("401") || Catch::Contains("auth"));
  CHECK_THAT(refused.out, !Catch::Contains(kWrongKey) && !Catch::Contains(kKey));
  // The password of the read account still works where the key is configured on pcsim.
  CHECK(run_ctl(dir, {"dump", "--config", daemon.config_path(), "--site", "primary", "--out",
                      dir.file("p.json")})
            .status == 0);
}

namespace {

// A config whose only site is `site` (password login), with `extra` lines for it.
std::string site_config(LiveSite& site, const TempDir& dir, const std::string& extra = "") {
  write_file(dir.file("pc-password"), std::string(kLivePassword) + "\n");
  return "sites:\n  - name: dr\n    url: https://127.0.0.1:" + std::to_string(site.port()) +
         "\n    username: admin\n    password_file: pc-password\n    ca_file: " + site.ca_file() +
         "\n    api: v3\n    retries: 0\n" + extra + "pairs: []\nstorage:\n  path: ctl.db\n";
}

}  // namespace

TEST_CASE("a site's proxy and HTTPS_PROXY route requests through a CONNECT proxy and NO_PROXY "
          "and proxy none go direct",
          "[integration][proxy]") {
  for (const char* name : {"https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"}) ::unsetenv(name);
  TempDir dir;
  LiveSite dr{dir, "dr", 20, 7};
  ConnectProxy proxy;
  const std::string target = "127.0.0.1:" + std::to_string(dr.port());
  auto dump = [&](const std::string& extra) {
    write_file(dir.file("c.yaml"), site_config(dr, dir, extra));
    return run_ctl(dir, {"dump", "--config", dir.file("c.yaml"), "--site", "dr", "--out",
                         dir.file("dr.json")});
  };

  // The site's own proxy: every request goes through one tunnel to the site.
  auto via_config = dump("    proxy: " + proxy.url() + "\n");
  INFO(via_config.out);
  REQUIRE(via_config.status == 0);
  REQUIRE_FALSE(proxy.targets().empty());
  for (const auto& t : proxy.targets()) CHECK(t == target);
  const auto through_config = proxy.targets().size();

  // HTTPS_PROXY from the environment, as curl reads it.
  ::setenv("HTTPS_PROXY", proxy.url().c_str(), 1);
  REQUIRE(dump("").status == 0);
  CHECK(proxy.targets().size() > through_config);
  // NO_PROXY exempts the host, and proxy: none ignores the environment.
  const auto before_exempt = proxy.targets().size();
  ::setenv("NO_PROXY", "localhost,127.0.0.1", 1);
  REQUIRE(dump("").status == 0);
  ::unsetenv("NO_PROXY");
  REQUIRE(dump("    proxy: none\n").status == 0);
  CHECK(proxy.targets().size() == before_exempt);

  // The daemon polls through it too, and says which proxy each site uses.
  LiveSite primary{dir, "primary", 20, 7};
  LiveDaemon daemon{dir, primary, dr};
  daemon.start();
  DbView db(daemon.db_path());
  REQUIRE(wait_until([&] { return pair_status(db) == "IN_SYNC"; }, 60s));
  daemon.stop();
  const auto targets = proxy.targets();
  CHECK(std::count(targets.begin(), targets.end(),
                   "127.0.0.1:" + std::to_string(primary.port())) > 0);
  CHECK_THAT(daemon.log(), Catch::Contains("event=site.proxy site=primary proxy=127.0.0.1:" +
                                           std::to_string(proxy.port()) + " from=HTTPS_PROXY"));
  ::unsetenv("HTTPS_PROXY");

  // A proxy that refuses the tunnel is named with its answer; an unusable one is refused.
  ConnectProxy refusing(403);
  auto refused = dump("    proxy: " + refusing.url() + "\n");
  CHECK(refused.status == 2);
  CHECK_THAT(refused.out, Catch::Contains("proxy 127.0.0.1:" + std::to_string(refusing.port()) +
                                          " refused a tunnel to " + target + ": 403"));
  ::setenv("HTTPS_PROXY", "https://user:secret@proxy.example:3128", 1);
  auto unusable = dump("");
  ::unsetenv("HTTPS_PROXY");
  CHECK(unusable.status == 2);
  CHECK_THAT(unusable.out, Catch::Contains("HTTPS_PROXY is not an http://HOST[:PORT] proxy"));
  CHECK_THAT(unusable.out, !Catch::Contains("secret"));
}
