// flowdriftd behind a web config (TLS + basic auth with a bcrypt hash made here): clients
// without or with wrong credentials get 401 and nothing else, the JSON API answers behind the
// same check, bcrypt runs once per credential, and oversized, header-stuffed and slow-loris
// clients are refused while a good client keeps scraping /metrics.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <thread>

#include "http/asio.hpp"
#include "http/basic_auth.hpp"
#include "http/client.hpp"
#include "live.hpp"
#include "support/selfsigned.hpp"

using namespace flowdrift;
using namespace flowdrift::test;
using namespace std::chrono_literals;
using tcp = boost::asio::ip::tcp;
namespace ssl = boost::asio::ssl;

namespace {

constexpr const char* kUser = "prometheus";
constexpr const char* kPassword = "scrape-pw-7";

awaitable<void> send_into(http::BeastTransport* t, http::HttpRequest req,
                          std::optional<Result<http::HttpResponse>>* out) {
  out->emplace(co_await t->send(std::move(req), std::chrono::seconds(20)));
}

// One request on a fresh HTTPS connection that trusts only the test CA.
Result<http::HttpResponse> send(std::uint16_t port, const std::string& ca_file,
                                http::HttpRequest req, bool tls = true) {
  asio::io_context io;
  http::ClientOptions o;
  o.host = "127.0.0.1";
  o.port = std::to_string(port);
  o.tls = tls;
  o.ca_file = ca_file;
  http::BeastTransport transport(io.get_executor(), o);
  std::optional<Result<http::HttpResponse>> out;
  asio::co_spawn(io, send_into(&transport, std::move(req), &out), asio::detached);
  io.run_for(30s);
  REQUIRE(out.has_value());
  return std::move(*out);
}

http::HttpRequest get(const std::string& target, std::optional<std::string> password = kPassword,
                      const std::string& user = kUser) {
  http::HttpRequest r{"GET", target, {}, ""};
  if (password) r.headers.push_back({"Authorization", http::basic_auth_header(user, *password)});
  return r;
}

// pcsim primary and DR, and flowdriftd with TLS and basic auth from a web config whose paths
// are relative to its own directory.
struct SecuredRig {
  TempDir dir;
  LiveSite primary{dir, "primary", 20, 7};
  LiveSite dr{dir, "dr", 20, 7};
  LiveDaemon daemon{dir, primary, dr};
  std::string web_dir = dir.file("web");
  GeneratedPki pki;

  SecuredRig() {
    std::filesystem::create_directories(web_dir);
    pki = generate_test_pki(web_dir, "flowdriftd");
    write_file(web_dir + "/web.yml",
               "tls_server_config:\n"
               "  cert_file: cert.pem\n"
               "  key_file: key.pem\n"
               "  min_version: TLS12\n"
               "http_server_config:\n"
               "  headers:\n"
               "    X-Content-Type-Options: nosniff\n"
               "basic_auth_users:\n"
               "  " + std::string(kUser) + ": " + http::bcrypt_hash(kPassword, 5) + "\n"
               "  ops: $2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze\n");
    daemon.start({"--web.config.file", web_dir + "/web.yml", "--web.read-timeout", "2s"});
    REQUIRE(wait_until(
        [&] {
          auto r = send(daemon.port(), pki.ca_file, get("/-/ready"));
          return r.has_value() && r->status == 200;
        },
        40s));
  }
  Result<http::HttpResponse> request(http::HttpRequest r) {
    return send(daemon.port(), pki.ca_file, std::move(r));
  }
  int status(http::HttpRequest r) {
    auto out = request(std::move(r));
    INFO((out ? std::string() : out.error().message));
    REQUIRE(out.has_value());
    return out->status;
  }
  std::size_t log_count(const std::string& needle) {
    const auto log = daemon.log();
    std::size_t n = 0;
    for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  }
};

struct SlowLoris {
  std::size_t answer_bytes = 0;
  std::string error;
  std::chrono::milliseconds held{0};
};

// A TLS client that completes the handshake, sends part of a request's headers and never the
// rest, then waits (at most 20 s, SO_RCVTIMEO, so a server that never closes fails the test
// instead of hanging it) for the server to give up.
SlowLoris slow_loris(std::uint16_t port, const std::string& ca_file, std::atomic<int>* started) {
  SlowLoris out;
  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(ca_file);
  ctx.set_verify_mode(ssl::verify_peer);
  ssl::stream<tcp::socket> stream(io, ctx);
  stream.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  timeval tv{20, 0};
  ::setsockopt(stream.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  stream.handshake(ssl::stream_base::client);
  std::string part = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic ";
  asio::write(stream, asio::buffer(part));
  ++*started;
  const auto start = std::chrono::steady_clock::now();
  std::array<char, 512> buf{};
  boost::system::error_code ec;
  while (!ec) out.answer_bytes += stream.read_some(asio::buffer(buf), ec);
  out.held = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  out.error = ec.message();
  return out;
}

}  // namespace

TEST_CASE("web config: 401 without or with wrong credentials, metrics and API with good ones, "
          "bcrypt once",
          "[integration][web]") {
  SecuredRig rig;
  const auto port = rig.daemon.port();

  for (const auto& path : {"/metrics", "/api/v1/pairs", "/-/healthy", "/", "/missing"}) {
    INFO(path);
    for (auto req : {get(path, std::nullopt), get(path, "wrong-pw"), get(path, kPassword, "eve"),
                     get(path, "scrape-pw-7 ")}) {
      auto r = rig.request(req);
      REQUIRE(r.has_value());
      CHECK(r->status == 401);
      CHECK(r->header("WWW-Authenticate").value_or("") == "Basic realm=\"flowdrift\"");
      CHECK(r->body == "Unauthorized\n");
    }
  }
  // Plain HTTP on the TLS port gets nothing at all.
  auto plain = send(port, "", get("/metrics"), false);
  CHECK((!plain.has_value() || plain->status == 400));
  if (plain.has_value()) CHECK(plain->body.find("flowdrift_") == std::string::npos);

  for (int i = 0; i < 5; ++i) {
    auto m = rig.request(get("/metrics"));
    REQUIRE(m.has_value());
    CHECK(m->status == 200);
    CHECK_THAT(m->body, Catch::Contains("flowdrift_pair_status"));
    CHECK(m->header("X-Content-Type-Options").value_or("") == "nosniff");
  }
  // Five scrapes (each on a new connection), one bcrypt check; each distinct wrong credential
  // was checked once as well, the repeats answered from the cache.
  CHECK(rig.log_count("http.auth_checked user=prometheus result=ok") == 1);
  CHECK(rig.log_count("http.auth_checked user=prometheus result=denied") == 2);
  CHECK(rig.log_count("http.auth_checked user=eve result=denied") == 1);
  CHECK_THAT(rig.daemon.log(), Catch::Contains("web.config_loaded"));
  CHECK_THAT(rig.daemon.log(), !Catch::Contains(kPassword));

  // The API, behind the same check.
  REQUIRE(wait_until(
      [&] {
        auto r = rig.request(get("/api/v1/pairs"));
        return r && r->status == 200 &&
               nlohmann::json::parse(r->body)["pairs"][0]["status"] == "IN_SYNC";
      },
      30s));
  auto pairs = rig.request(get("/api/v1/pairs"));
  REQUIRE(pairs.has_value());
  CHECK(pairs->header("Content-Type").value_or("") == "application/json");
  auto pj = nlohmann::json::parse(pairs->body);
  REQUIRE(pj["pairs"].size() == 1);
  CHECK(pj["pairs"][0]["name"] == "prod");
  CHECK(pj["pairs"][0]["source"] == "primary");
  CHECK(pj["pairs"][0]["replica"] == "dr");
  CHECK(pj["pairs"][0]["open"] == nlohmann::json{{"alerting", 0}, {"pending", 0}, {"expected", 0}});
  CHECK(pj["pairs"][0]["skew_seconds"].is_number());

  auto sites = rig.request(get("/api/v1/sites"));
  REQUIRE(sites.has_value());
  auto sj = nlohmann::json::parse(sites->body);
  REQUIRE(sj["sites"].size() == 2);
  for (const auto& s : sj["sites"]) {
    CHECK(s["up"] == true);
    CHECK(s["api"] == "v3");
    CHECK(s["policies"].get<int>() > 0);
    CHECK(s["snapshot"]["hash"].get<std::string>().size() == 64);
  }
  // Both sites were generated from the same seed: the same canonical snapshot.
  CHECK(sj["sites"][0]["snapshot"]["hash"] == sj["sites"][1]["snapshot"]["hash"]);

  auto drift = rig.request(get("/api/v1/drift?pair=prod&all=1"));
  REQUIRE(drift.has_value());
  CHECK(drift->status == 200);
  auto dj = nlohmann::json::parse(drift->body);
  CHECK(dj["items"].is_array());
  CHECK(dj["truncated"] == false);
  CHECK(rig.status(get("/api/v1/drift?pair=nope")) == 404);
  http::HttpRequest post = get("/api/v1/pairs");
  post.method = "POST";
  CHECK(rig.status(post) == 405);
  CHECK(rig.log_count("http.auth_checked user=prometheus result=ok") == 1);
}

namespace {

// A status document without what changes from one poll to the next.
nlohmann::json steady(nlohmann::json doc) {
  for (auto& p : doc.at("pairs")) {
    p.erase("updated");
    p.erase("skew_seconds");
  }
  for (auto& s : doc.at("sites")) {
    for (const char* k : {"last_poll", "last_complete_poll", "entity_sync", "vm_coverage"}) s.erase(k);
  }
  return doc;
}

// An explain document without the time its snapshots were last polled, which moves on.
nlohmann::json steady_explain(nlohmann::json doc) {
  for (auto& [side, snapshot] : doc.at("snapshots").items()) snapshot.erase("polled");
  return doc;
}

}  // namespace

TEST_CASE("flowdriftctl status drift history and explain --server read the daemon over TLS with basic "
          "auth from a file and say what the database file says",
          "[integration][web][ctl]") {
  SecuredRig rig;
  const auto& dir = rig.dir;
  write_file(dir.file("auth"), std::string(kUser) + ":" + kPassword + "\n");
  write_file(dir.file("wrong-auth"), std::string(kUser) + ":not-it\n");
  write_file(dir.file("no-user"), "just-a-password\n");
  const std::string url = "https://127.0.0.1:" + std::to_string(rig.daemon.port());
  const std::vector<std::string> remote{"--server", url, "--ca-file", rig.pki.ca_file,
                                        "--auth-file", dir.file("auth")};
  auto ctl = [&](std::vector<std::string> args, const std::vector<std::string>& from) {
    args.insert(args.end(), from.begin(), from.end());
    return run_ctl(dir, args);
  };
  const std::vector<std::string> local{"--db", rig.daemon.db_path()};
  REQUIRE(wait_until([&] { return ctl({"status", "--exit-code"}, remote).status == 0; }, 60s));

  // The same document either way (less the times of the latest poll, which move on).
  auto over_tls = ctl({"status", "-o", "json"}, remote);
  INFO(over_tls.out);
  REQUIRE(over_tls.status == 0);
  auto from_file = ctl({"status", "-o", "json"}, local);
  REQUIRE(from_file.status == 0);
  const auto doc = nlohmann::json::parse(over_tls.out);
  CHECK(doc.at("schema") == "flowdrift.status/v1");
  CHECK(doc.at("pairs")[0].at("name") == "prod");
  CHECK(doc.at("pairs")[0].at("status") == "IN_SYNC");
  CHECK(doc.at("sites")[0].at("snapshot").at("hash").get<std::string>().size() == 64);
  CHECK(doc.at("sites")[0].at("policies").get<int>() > 0);
  CHECK(steady(doc) == steady(nlohmann::json::parse(from_file.out)));
  auto table = ctl({"status"}, remote);
  CHECK(table.status == 0);
  CHECK_THAT(table.out, Catch::Contains("prod primary dr      IN_SYNC"));
  CHECK_THAT(table.out, Catch::Contains("POLICIES SNAPSHOT"));

  auto drift_remote = ctl({"drift", "--pair", "prod", "-o", "json"}, remote);
  auto drift_local = ctl({"drift", "--pair", "prod", "-o", "json"}, local);
  REQUIRE(drift_remote.status == 0);
  CHECK(nlohmann::json::parse(drift_remote.out) == nlohmann::json::parse(drift_local.out));
  auto history_remote = ctl({"history", "--site", "dr", "-o", "yaml"}, remote);
  auto history_local = ctl({"history", "--site", "dr", "-o", "yaml"}, local);
  REQUIRE(history_remote.status == 0);
  CHECK_THAT(history_remote.out, Catch::StartsWith("schema: flowdrift.history/v1"));
  CHECK(history_remote.out == history_local.out);

  // explain: the daemon applies its own config's rules, as --config does with the same file.
  auto versions = ctl({"history", "--site", "dr", "-o", "json"}, local);
  REQUIRE(versions.status == 0);
  const std::string policy = nlohmann::json::parse(versions.out).at("versions")[0].at("policy");
  auto explain_remote = ctl({"explain", "prod", policy, "-o", "json"}, remote);
  INFO(explain_remote.out);
  REQUIRE(explain_remote.status == 0);
  auto explain_local = ctl({"explain", "prod", policy, "-o", "json", "--config",
                            rig.daemon.config_path()}, {});
  REQUIRE(explain_local.status == 0);
  const auto explained = nlohmann::json::parse(explain_remote.out);
  CHECK(explained.at("schema") == "flowdrift.explain/v1");
  CHECK(explained.at("status") == "in_sync");
  CHECK(explained.at("config") == rig.daemon.config_path());
  CHECK(steady_explain(explained) == steady_explain(nlohmann::json::parse(explain_local.out)));
  auto explain_text = ctl({"explain", "prod", policy}, remote);
  CHECK(explain_text.status == 0);
  CHECK_THAT(explain_text.out, Catch::StartsWith("policy " + policy + " of pair prod (primary -> dr)"));
  auto no_policy = ctl({"explain", "prod", "no-such-policy"}, remote);
  CHECK(no_policy.status == 2);
  CHECK_THAT(no_policy.out, Catch::Contains("HTTP 404") &&
                                Catch::Contains("no policy named 'no-such-policy'"));

  // Refusals are named, and nothing is printed as if it were an answer.
  auto wrong = ctl({"status", "--server", url, "--ca-file", rig.pki.ca_file, "--auth-file",
                    dir.file("wrong-auth")}, {});
  CHECK(wrong.status == 2);
  CHECK_THAT(wrong.out, Catch::Contains("HTTP 401") && Catch::Contains("--auth-file"));
  CHECK_THAT(wrong.out, !Catch::Contains("not-it"));
  auto malformed = ctl({"status", "--server", url, "--ca-file", rig.pki.ca_file, "--auth-file",
                        dir.file("no-user")}, {});
  CHECK(malformed.status == 2);
  CHECK_THAT(malformed.out, Catch::Contains("expected one line \"user:password\""));
  CHECK_THAT(malformed.out, !Catch::Contains("just-a-password"));
  auto untrusted = ctl({"status", "--server", url, "--auth-file", dir.file("auth")}, {});
  CHECK(untrusted.status == 2);
  CHECK_THAT(untrusted.out, Catch::Contains(url + "/api/v1/status"));
  auto both = ctl({"status", "--db", rig.daemon.db_path()}, remote);
  CHECK(both.status == 2);
  CHECK_THAT(both.out, Catch::Contains("excludes"));
}

TEST_CASE("web limits: oversized, header-stuffed and slow clients are refused while a good "
          "client keeps scraping",
          "[integration][web]") {
  SecuredRig rig;
  const auto port = rig.daemon.port();

  // Three slow-loris connections hold their slots while everything else happens.
  std::vector<std::thread> threads;
  std::vector<SlowLoris> lorises(3);
  std::atomic<int> started{0};
  for (auto& l : lorises) {
    threads.emplace_back([&l, &started, port, ca = rig.pki.ca_file] {
      try {
        l = slow_loris(port, ca, &started);
      } catch (const std::exception& e) {
        l.error = std::string("client failed: ") + e.what();
        l.answer_bytes = 1;  // fails the checks below
        started += 100;
      }
    });
  }
  // Everything below happens while they hold their half-sent requests.
  REQUIRE(wait_until([&] { return started.load() >= 3; }, 10s));

  http::HttpRequest big{"POST", "/metrics", {}, std::string(256 * 1024, 'x')};
  CHECK(rig.status(big) == 413);  // unauthenticated: the limit comes first
  big.headers.push_back({"Authorization", http::basic_auth_header(kUser, kPassword)});
  CHECK(rig.status(big) == 413);
  CHECK(rig.status(get("/metrics")) == 200);

  auto stuffed = get("/metrics");
  for (int i = 0; i < 150; ++i) stuffed.headers.push_back({"X-F" + std::to_string(i), "1"});
  CHECK(rig.status(stuffed) == 431);
  auto fat = get("/metrics");
  fat.headers.push_back({"X-Padding", std::string(16 * 1024, 'p')});
  CHECK(rig.status(fat) == 431);

  for (int i = 0; i < 3; ++i) {
    auto m = rig.request(get("/metrics"));
    REQUIRE(m.has_value());
    CHECK(m->status == 200);
    CHECK_THAT(m->body, Catch::Contains("flowdrift_site_up"));
  }

  for (auto& t : threads) t.join();
  for (const auto& l : lorises) {
    INFO("slow loris ended with: " << l.error << " after " << l.held.count() << " ms");
    CHECK(l.answer_bytes == 0);  // closed without a single byte of answer
    CHECK(l.held >= 1000ms);     // held for --web.read-timeout (2s), not cut at once
    CHECK(l.error != "Resource temporarily unavailable");  // not our own 20 s guard
  }
  // And after them the good client is still served.
  CHECK(rig.status(get("/metrics")) == 200);
  CHECK(rig.log_count("http.auth_checked user=prometheus result=ok") == 1);
}

namespace {

int run_daemon(const TempDir& dir, std::vector<std::string> args, std::string* output) {
  const auto log = dir.file("out.log");
  std::filesystem::remove(log);
  args.insert(args.begin(), build_dir() + "/daemon/flowdriftd");
  Process p(std::move(args), log);
  auto status = p.wait(20s);
  REQUIRE(status.has_value());
  *output = read_file(log);
  return *status;
}

}  // namespace

TEST_CASE("flowdriftd --check-config validates the web config too, and a bad one stops the "
          "daemon with 78",
          "[integration][web][cli]") {
  TempDir dir;
  write_file(dir.file("pw"), "secret\n");
  write_file(dir.file("flowdrift.yaml"),
             "sites:\n  - name: primary\n    url: https://127.0.0.1:9440\n    username: admin\n"
             "    password_file: pw\nstorage:\n  path: db.sqlite\nserver:\n  listen: 127.0.0.1:" +
                 std::to_string(free_port()) + "\n");
  generate_test_pki(dir.path().string(), "flowdriftd");  // cert.pem, key.pem
  const std::string tls = "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n";
  write_file(dir.file("good.yml"),
             tls + "basic_auth_users:\n  u: " + http::bcrypt_hash("pw", 4) + "\n");
  write_file(dir.file("bad.yml"), tls + "basic_auth_users:\n  u: plaintext-password\n");
  std::string out;
  CHECK(run_daemon(dir, {"--config", dir.file("flowdrift.yaml"), "--web.config.file",
                         dir.file("good.yml"), "--check-config"},
                   &out) == 0);
  CHECK_THAT(out, Catch::Contains("web configuration " + dir.file("good.yml") +
                                  " is valid (TLS on, 1 basic auth users)"));

  CHECK(run_daemon(dir, {"--config", dir.file("flowdrift.yaml"), "--web.config.file",
                         dir.file("bad.yml"), "--check-config"},
                   &out) == 78);
  CHECK_THAT(out, Catch::Contains(dir.file("bad.yml") + ":5:6: basic_auth_users.u: not a bcrypt "
                                                         "hash"));
  CHECK_THAT(out, !Catch::Contains("plaintext-password"));

  // Without --check-config the daemon refuses to start on it, before opening the database.
  CHECK(run_daemon(dir, {"--config", dir.file("flowdrift.yaml"), "--web.config.file",
                         dir.file("bad.yml")},
                   &out) == 78);
  CHECK_FALSE(std::filesystem::exists(dir.file("db.sqlite")));

  CHECK(run_daemon(dir, {"--config", dir.file("flowdrift.yaml"), "--web.config.file",
                         dir.file("absent.yml"), "--check-config"},
                   &out) == 78);
  CHECK_THAT(out, Catch::Contains("absent.yml: cannot read web config file"));

  CHECK(run_daemon(dir, {"--config", dir.file("flowdrift.yaml"), "--web.read-timeout", "soon",
                         "--check-config"},
                   &out) == 2);
  CHECK_THAT(out, Catch::Contains("--web.read-timeout soon"));
}

namespace {

http::HttpRequest post_flip(const std::string& pair, const std::string& action,
                            const std::string& body, std::optional<std::string> password = kPassword) {
  auto r = get("/api/v1/pairs/" + pair + "/" + action, std::move(password));
  r.method = "POST";
  r.body = body;
  r.headers.push_back({"Content-Type", "application/json"});
  return r;
}

}  // namespace

TEST_CASE("failover over HTTP: only with authentication, audited with the web user, refused "
          "twice",
          "[integration][web][failover]") {
  SecuredRig rig;
  DbView db(rig.daemon.db_path());
  REQUIRE(wait_until([&] { return pair_status(db) == "IN_SYNC"; }, 40s));

  CHECK(rig.status(post_flip("prod", "failover", R"({"reason":"x"})", std::nullopt)) == 401);
  CHECK(rig.status(get("/api/v1/pairs/prod/failover")) == 405);
  CHECK(rig.status(post_flip("prod", "failover", "{}")) == 400);
  CHECK(rig.status(post_flip("prod", "failover", "not json")) == 400);
  CHECK(rig.status(post_flip("nope", "failover", R"({"reason":"x"})")) == 404);
  auto forged = post_flip("prod", "failover", R"({"reason":"x"})");
  forged.headers.push_back({"Origin", "https://evil.example"});
  CHECK(rig.status(forged) == 403);
  CHECK(db.scalar("SELECT count(*) FROM pair_flips") == "0");

  auto r = rig.request(post_flip("prod", "failover", R"j({"reason":"DC1 down (INC-9)"})j"));
  REQUIRE(r.has_value());
  INFO(r->body);
  REQUIRE(r->status == 200);
  auto j = nlohmann::json::parse(r->body);
  CHECK(j["schema"] == "flowdrift.flip/v1");
  CHECK(j["outcome"] == "applied");
  CHECK(j["source"] == "dr");
  CHECK(j["replica"] == "primary");
  CHECK(j["requested_by"] == kUser);
  CHECK(j["via"] == "api");
  CHECK(db.rows("SELECT requested_by, via, reason FROM pair_flips") ==
        std::vector<std::vector<std::string>>{{kUser, "api", "DC1 down (INC-9)"}});

  auto again = rig.request(post_flip("prod", "failover", R"({"reason":"again"})"));
  REQUIRE(again.has_value());
  CHECK(again->status == 409);
  CHECK_THAT(again->body, Catch::Contains("already failed over"));

  auto pairs = nlohmann::json::parse(rig.request(get("/api/v1/pairs"))->body);
  CHECK(pairs["pairs"][0]["source"] == "dr");
  CHECK(pairs["pairs"][0]["failed_over"] == true);
  CHECK(pairs["pairs"][0]["last_flip"]["reason"] == "DC1 down (INC-9)");

  auto back = rig.request(post_flip("prod", "failback", R"({"reason":"DC1 back"})"));
  REQUIRE(back.has_value());
  CHECK(back->status == 200);
  CHECK(nlohmann::json::parse(back->body)["source"] == "primary");
}

TEST_CASE("failover over HTTP is refused when the web config requires no authentication",
          "[integration][web][failover]") {
  TempDir dir;
  LiveSite primary(dir, "primary", 4, 3);
  LiveSite dr(dir, "dr", 4, 3);
  LiveDaemon daemon(dir, primary, dr);
  daemon.start();
  auto req = post_flip("prod", "failover", R"({"reason":"x"})", std::nullopt);
  Result<http::HttpResponse> r = make_error(ErrorReason::Other, "not sent");
  REQUIRE(wait_until([&] {
    r = send(daemon.port(), "", req, false);
    return r.has_value();
  }, 20s));
  CHECK(r->status == 403);
  CHECK_THAT(r->body, Catch::Contains("need authentication"));
  DbView db(daemon.db_path());
  CHECK(db.scalar("SELECT count(*) FROM pair_flips").value_or("0") == "0");
}
