#include "live.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/asio.hpp"

namespace flowdrift::test {

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

struct SyncClient::Impl {
  asio::io_context io;
  std::unique_ptr<http::BeastTransport> transport;
};

namespace {
awaitable<void> send_one(http::HttpTransport* t, http::HttpRequest req,
                         std::optional<Result<http::HttpResponse>>* out) {
  out->emplace(co_await t->send(std::move(req), std::chrono::seconds(20)));
}
}  // namespace

SyncClient::SyncClient(std::uint16_t port, std::string ca_file, bool tls)
    : impl_(std::make_unique<Impl>()) {
  http::ClientOptions o;
  o.host = "127.0.0.1";
  o.port = std::to_string(port);
  o.tls = tls;
  o.ca_file = std::move(ca_file);
  impl_->transport = std::make_unique<http::BeastTransport>(impl_->io.get_executor(), o);
}

SyncClient::~SyncClient() = default;

http::HttpResponse SyncClient::request(const std::string& method, const std::string& target,
                                       const std::string& body, bool auth) {
  http::HttpRequest req{method, target, {{"Accept", "application/json"}}, body};
  if (!body.empty()) req.headers.push_back({"Content-Type", "application/json"});
  if (auth) req.headers.push_back({"Authorization", http::basic_auth_header("admin", kLivePassword)});
  std::optional<Result<http::HttpResponse>> out;
  impl_->io.restart();
  asio::co_spawn(impl_->io, send_one(impl_->transport.get(), std::move(req), &out), asio::detached);
  impl_->io.run();
  if (!out || !*out) {
    throw std::runtime_error(method + " " + target + ": " +
                             (out ? out->error().message : std::string("no result")));
  }
  return std::move(**out);
}

nlohmann::json SyncClient::json(const std::string& method, const std::string& target,
                                const nlohmann::json& body) {
  auto r = request(method, target, body.is_null() ? "" : body.dump());
  INFO(method << " " << target << " -> " << r.status << " " << r.body.substr(0, 300));
  REQUIRE(r.status / 100 == 2);
  return nlohmann::json::parse(r.body);
}

namespace {

std::vector<std::string> pcsim_command(const std::string& dir, std::vector<std::string> site_args) {
  std::vector<std::string> cmd{build_dir() + "/tests/pcsim/pcsim", "--listen", "127.0.0.1:0",
                               "--tls-dir", dir, "--port-file", dir + "/port"};
  cmd.insert(cmd.end(), site_args.begin(), site_args.end());
  return cmd;
}

}  // namespace

LiveSite::LiveSite(const TempDir& dir, const std::string& name, int policies, int seed,
                   const std::vector<std::string>& extra_args)
    : LiveSite(dir, name, nullptr, [&] {
        std::vector<std::string> args{"--generate", std::to_string(policies), "--seed",
                                      std::to_string(seed)};
        args.insert(args.end(), extra_args.begin(), extra_args.end());
        return args;
      }()) {}

LiveSite::LiveSite(const TempDir& dir, const std::string& name, const nlohmann::json& data,
                   const std::vector<std::string>& extra_args)
    : dir_(dir.file(name)) {
  std::filesystem::create_directories(dir_);
  std::vector<std::string> site_args = extra_args;
  if (!data.is_null()) {
    write_file(dir_ + "/site.json", data.dump());
    site_args.insert(site_args.end(), {"--data", dir_ + "/site.json"});
  }
  proc_ = std::make_unique<Process>(pcsim_command(dir_, site_args), dir_ + "/pcsim.log",
                                    std::vector<std::string>{std::string("PCSIM_PASSWORD=") +
                                                             kLivePassword});
  auto port = wait_for_file(dir_ + "/port", std::chrono::seconds(20));
  REQUIRE(port.has_value());
  port_ = static_cast<std::uint16_t>(std::stoi(*port));
  client_ = std::make_unique<SyncClient>(port_, ca_file(), true);
}

nlohmann::json LiveSite::rules() {
  return client_->json("POST", "/api/nutanix/v3/network_security_rules/list",
                       {{"kind", "network_security_rule"}, {"length", 500}})
      .at("entities");
}

nlohmann::json LiveSite::enforced_app_rules() {
  auto out = nlohmann::json::array();
  for (const auto& e : rules()) {
    const auto& res = e.at("spec").at("resources");
    if (res.contains("app_rule") && res.at("app_rule").value("action", "") == "APPLY") out.push_back(e);
  }
  return out;
}

nlohmann::json LiveSite::enforced_app_rule() {
  auto all = enforced_app_rules();
  if (all.empty()) FAIL("no enforced app rule in the generated site");
  return all.at(0);
}

nlohmann::json LiveSite::rule(const std::string& uuid) {
  return client_->json("GET", "/api/nutanix/v3/network_security_rules/" + uuid);
}

void LiveSite::put_spec(const std::string& uuid, const nlohmann::json& spec) {
  auto current = rule(uuid);
  nlohmann::json body{{"api_version", "3.1"}, {"metadata", current.at("metadata")}, {"spec", spec}};
  client_->json("PUT", "/api/nutanix/v3/network_security_rules/" + uuid, body);
}

nlohmann::json LiveSite::monitor_enforced_rule() {
  auto rule = enforced_app_rule();
  nlohmann::json monitor = rule.at("spec");
  monitor["resources"]["app_rule"]["action"] = "MONITOR";
  put_spec(rule.at("metadata").at("uuid"), monitor);
  return rule;
}

void LiveSite::add_fault(const std::string& spec) {
  auto r = client_->request("POST", "/_pcsim/faults", nlohmann::json(spec).dump());
  INFO(r.body);
  REQUIRE(r.status / 100 == 2);
}

void LiveSite::clear_faults() {
  auto r = client_->request("DELETE", "/_pcsim/faults");
  REQUIRE(r.status / 100 == 2);
}

std::vector<std::vector<std::string>> DbView::rows(const std::string& sql) {
  sqlite3* db = nullptr;
  std::vector<std::vector<std::string>> out;
  if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return out;
  }
  sqlite3_busy_timeout(db, 2000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const auto* t = sqlite3_column_text(st, i);
        row.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
      }
      out.push_back(std::move(row));
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

std::set<std::vector<std::string>> DbView::row_set(const std::string& sql) {
  auto r = rows(sql);
  return {r.begin(), r.end()};
}

std::optional<std::string> DbView::scalar(const std::string& sql) {
  auto r = rows(sql);
  if (r.empty() || r[0].empty()) return std::nullopt;
  return r[0][0];
}

LiveDaemon::LiveDaemon(const TempDir& dir, LiveSite& primary, LiveSite& dr,
                       const std::string& pair_extra)
    : dir_(dir.path().string()),
      config_(dir.file("flowdrift.yaml")),
      db_(dir.file("flowdrift.db")),
      port_(free_port()) {
  write_file(dir.file("pc-password"), std::string(kLivePassword) + "\n");
  auto site = [&](const char* name, LiveSite& s) {
    return std::string("  - name: ") + name + "\n    url: https://127.0.0.1:" +
           std::to_string(s.port()) +
           "\n    username: admin\n    password_file: pc-password\n    ca_file: " + s.ca_file() +
           "\n    api: v3\n    interval: 1s\n    jitter: 0\n    retries: 0\n";
  };
  write_file(config_, "sites:\n" + site("primary", primary) + site("dr", dr) +
                          "pairs:\n  - name: prod\n    source: primary\n    replica: dr\n" +
                          pair_extra +
                          "storage:\n  path: flowdrift.db\n"
                          "server:\n  listen: 127.0.0.1:" + std::to_string(port_) +
                          "\nlog:\n  level: info\n  format: plain\n");
}

LiveDaemon::~LiveDaemon() { stop(); }

void LiveDaemon::start(const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv{build_dir() + "/daemon/flowdriftd", "--config", config_};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  proc_ = std::make_unique<Process>(std::move(argv), dir_ + "/flowdriftd.log");
}

void LiveDaemon::stop() {
  if (!proc_) return;
  proc_->signal(SIGTERM);
  auto rc = proc_->wait(std::chrono::seconds(15));
  CHECK(rc == std::optional<int>(0));
  proc_.reset();
}

void LiveDaemon::signal(int sig) {
  REQUIRE(proc_);
  proc_->signal(sig);
}

std::string LiveDaemon::log() const { return read_file(dir_ + "/flowdriftd.log"); }

std::string LiveDaemon::scrape() {
  SyncClient c(port_, "", false);
  auto r = c.request("GET", "/metrics", "", false);
  REQUIRE(r.status == 200);
  return r.body;
}

std::string pair_status(DbView& db, const std::string& pair) {
  return db.scalar("SELECT s.status FROM pair_states s JOIN pairs p ON p.id = s.pair_id "
                   "WHERE p.name = '" + pair + "'").value_or("");
}

CtlRun run_ctl(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), build_dir() + "/daemon/flowdriftctl");
  const auto log = dir.file("ctl.out");
  std::filesystem::remove(log);
  Process p(args, log);
  auto rc = p.wait(std::chrono::seconds(60));
  REQUIRE(rc.has_value());
  return {*rc, read_file(log)};
}

DbView LivePair::start_in_sync(const std::vector<std::string>& extra_args) {
  daemon.start(extra_args);
  DbView db(daemon.db_path());
  REQUIRE(wait_until([&] { return pair_status(db) == "IN_SYNC"; }, std::chrono::seconds(60)));
  return db;
}

}  // namespace flowdrift::test
