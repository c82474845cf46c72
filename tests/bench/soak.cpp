// soak: flowdriftd as it runs for months, compressed. Not a test: it prints numbers.
// Two pcsim sites (HTTPS on loopback) generated alike, the real flowdriftd binary polling both
// every second, and for the whole run a driver that every 2 s may
//   - flip one of a few DR policies between ENFORCE and MONITOR (drift opens, resolves, and the
//     same contents come back: content-addressed storage must reuse them), or
//   - inject a one-shot fault on either site (503, malformed or truncated body, a total that
//     moves, an empty list, latency): the pair goes UNKNOWN and nothing may open or resolve.
// Retention is short (storage.retention 2m, pruned every 30 s) so that what the daemon keeps
// settles within the run. Every 30 s it samples flowdriftd's resident memory (VmRSS), the
// database size (file + WAL) and the polls so far; at the end it prints the first sample
// taken after the first snapshots are stored against the last one, and what `flowdriftctl
// verify` says of the audit chain after retention has pruned under it.
// Usage: soak [seconds, default 600] [policies per site, default 5000] [interval, default 1s]
//             [API, default both]
// API `both`: the sites serve v3 and v4 (a current Prism Central) and flowdriftd, detecting,
// polls v4; faults hit the v4 policy listing. `v3`: the sites serve v3 only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/asio.hpp"
#include "http/client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kPassword = "soak-pw";

awaitable<void> send_one(http::HttpTransport* t, http::HttpRequest r, Result<http::HttpResponse>* out) {
  *out = co_await t->send(std::move(r), std::chrono::seconds(30));
}

// One request on its own event loop (the daemon under test is another process).
Result<http::HttpResponse> request(std::uint16_t port, const std::string& ca,
                                   const std::string& method, const std::string& target,
                                   const std::string& body = "") {
  asio::io_context io;
  http::ClientOptions o;
  o.host = "127.0.0.1";
  o.port = std::to_string(port);
  o.tls = !ca.empty();
  o.ca_file = ca;
  http::BeastTransport t(io.get_executor(), o);
  http::HttpRequest r;
  r.method = method;
  r.target = target;
  if (!ca.empty()) r.headers.push_back({"Authorization", http::basic_auth_header("admin", kPassword)});
  if (!body.empty()) r.headers.push_back({"Content-Type", "application/json"});
  r.body = body;
  Result<http::HttpResponse> out = make_error(ErrorReason::Other, "not sent");
  asio::co_spawn(io, send_one(&t, std::move(r), &out), asio::detached);
  io.run();
  return out;
}

struct Site {
  std::string dir;
  std::unique_ptr<test::Process> proc;
  std::uint16_t port = 0;
  std::string ca() const { return dir + "/ca.pem"; }
};

Site start_site(const test::TempDir& tmp, const std::string& name, int policies,
                const std::string& api) {
  Site s;
  s.dir = tmp.file(name);
  std::filesystem::create_directories(s.dir);
  s.proc = std::make_unique<test::Process>(
      std::vector<std::string>{test::build_dir() + "/tests/pcsim/pcsim", "--listen",
                               "127.0.0.1:0", "--tls-dir", s.dir, "--port-file",
                               s.dir + "/port", "--generate", std::to_string(policies), "--seed",
                               "42", "--api-mode", api, "--log-level", "warn"},
      s.dir + "/pcsim.log", std::vector<std::string>{std::string("PCSIM_PASSWORD=") + kPassword});
  auto port = test::wait_for_file(s.dir + "/port", std::chrono::seconds(60));
  if (!port) throw std::runtime_error("pcsim " + name + " did not start");
  s.port = static_cast<std::uint16_t>(std::stoi(*port));
  return s;
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

std::uintmax_t db_bytes(const std::string& path) {
  std::error_code ec;
  std::uintmax_t n = std::filesystem::file_size(path, ec);
  if (ec) n = 0;
  auto wal = std::filesystem::file_size(path + "-wal", ec);
  return n + (ec ? 0 : wal);
}

// Sum of a counter's series in a scrape.
double metric_sum(const std::string& scrape, const std::string& name) {
  double sum = 0;
  std::regex re("\n" + name + "(\\{[^}]*\\})? ([0-9.e+]+)");
  for (std::sregex_iterator it(scrape.begin(), scrape.end(), re), end; it != end; ++it) {
    sum += std::stod((*it)[2]);
  }
  return sum;
}

struct Sample {
  double t = 0;
  long rss = 0;
  std::uintmax_t db = 0;
  double polls = 0, failures = 0, raised = 0, pruned = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::stoi(argv[1]) : 600;
  const int policies = argc > 2 ? std::stoi(argv[2]) : 5000;
  const std::string interval = argc > 3 ? argv[3] : "1s";  // flowdrift duration syntax
  const std::string api = argc > 4 ? argv[4] : "both";
  if (api != "both" && api != "v3") {
    std::fprintf(stderr, "soak: API must be both or v3\n");
    return 2;
  }
  test::TempDir tmp;
  std::printf("soak: %d s, 2 sites x %d policies, %s interval, API %s, retention 2m\n", seconds,
              policies, interval.c_str(), api.c_str());
  Site primary = start_site(tmp, "primary", policies, api);
  Site dr = start_site(tmp, "dr", policies, api);

  // A few enforced application policies of the DR site to flip between ENFORCE and MONITOR.
  std::vector<std::string> flip;
  {
    auto r = request(dr.port, dr.ca(), "POST", "/api/nutanix/v3/network_security_rules/list",
                     R"({"kind":"network_security_rule","length":500,"offset":0})");
    if (!r || r->status != 200) throw std::runtime_error("listing DR rules failed");
    const auto listed = json::parse(r->body);
    for (const auto& e : listed.at("entities")) {
      const auto& res = e.at("spec").at("resources");
      if (res.contains("app_rule") && res.at("app_rule").value("action", "") == "APPLY" &&
          flip.size() < 5) {
        flip.push_back(e.at("metadata").at("uuid"));
      }
    }
  }

  std::printf("flipping %zu DR policies between APPLY and MONITOR\n", flip.size());
  const std::string db = tmp.file("flowdrift.db");
  const auto port = free_port();
  {
    std::ofstream pw(tmp.file("pc-password"));
    pw << kPassword << "\n";
    std::ofstream cfg(tmp.file("flowdrift.yaml"));
    cfg << "sites:\n";
    for (auto* s : {&primary, &dr}) {
      cfg << "  - name: " << (s == &primary ? "primary" : "dr") << "\n"
          << "    url: https://127.0.0.1:" << s->port << "\n"
          << "    username: admin\n    password_file: pc-password\n"
          << "    ca_file: " << s->ca() << "\n"
          << "    interval: " << interval << "\n    jitter: 0\n    retries: 0\n";
    }
    cfg << "pairs:\n  - name: prod\n    source: primary\n    replica: dr\n"
        << "storage:\n  path: flowdrift.db\n  retention: 2m\n  prune_interval: 30s\n"
        << "server:\n  listen: 127.0.0.1:" << port << "\n"
        << "log:\n  level: warn\n  format: plain\n";
  }
  test::Process daemon({test::build_dir() + "/daemon/flowdriftd", "--config",
                        tmp.file("flowdrift.yaml")},
                       tmp.file("flowdriftd.log"));

  std::mt19937 rng(7);
  std::vector<bool> monitored(flip.size(), false);
  // Against the policy listing the daemon polls.
  const std::string listing = api == "v3" ? "rules_list" : "v4_policies";
  const std::string faults[] = {listing + ":status=503,count=1", listing + ":malformed,count=1",
                                listing + ":truncate,count=1",   listing + ":total_moved,count=1",
                                listing + ":empty,count=1",      "*:latency_ms=1500,count=2"};
  int flips = 0, injected = 0;
  std::vector<Sample> samples;
  const auto start = Clock::now();
  auto next_sample = start;
  while (Clock::now() - start < std::chrono::seconds(seconds)) {
    if (!daemon.running()) {
      std::printf("flowdriftd exited early; see %s\n", tmp.file("flowdriftd.log").c_str());
      return 1;
    }
    const int roll = static_cast<int>(rng() % 100);
    if (roll < 30 && !flip.empty()) {
      const auto i = rng() % flip.size();
      auto got = request(dr.port, dr.ca(), "GET", "/api/nutanix/v3/network_security_rules/" + flip[i]);
      if (got && got->status == 200) {
        auto ent = json::parse(got->body);
        monitored[i] = !monitored[i];
        ent["spec"]["resources"]["app_rule"]["action"] = monitored[i] ? "MONITOR" : "APPLY";
        json body{{"api_version", "3.1"}, {"metadata", ent.at("metadata")}, {"spec", ent.at("spec")}};
        auto put = request(dr.port, dr.ca(), "PUT",
                           "/api/nutanix/v3/network_security_rules/" + flip[i], body.dump());
        if (put && put->status / 100 == 2) ++flips;
      }
    } else if (roll < 45) {
      Site& s = rng() % 2 ? primary : dr;
      auto r = request(s.port, s.ca(), "POST", "/_pcsim/faults", faults[rng() % std::size(faults)]);
      if (r && r->status / 100 == 2) ++injected;
    }
    if (Clock::now() >= next_sample) {
      Sample s;
      s.t = std::chrono::duration<double>(Clock::now() - start).count();
      s.rss = rss_kib(daemon.pid());
      s.db = db_bytes(db);
      auto m = request(port, "", "GET", "/metrics");
      if (m && m->status == 200) {
        s.polls = metric_sum(m->body, "flowdrift_site_polls_total");
        s.failures = metric_sum(m->body, "flowdrift_site_poll_failures_total");
        s.raised = metric_sum(m->body, "flowdrift_drift_detected_total");
        s.pruned = metric_sum(m->body, "flowdrift_store_pruned_rows_total");
      }
      samples.push_back(s);
      std::printf("t=%5.0fs rss=%6ld KiB db=%9ju B polls=%6.0f failed=%5.0f raised=%4.0f pruned=%8.0f\n",
                  s.t, s.rss, s.db, s.polls, s.failures, s.raised, s.pruned);
      std::fflush(stdout);
      next_sample += std::chrono::seconds(30);
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  // Why polls failed (each should be an injected fault, or the timeout a latency fault causes).
  if (auto m = request(port, "", "GET", "/metrics"); m && m->status == 200) {
    std::regex re("\nflowdrift_site_poll_failures_total\\{([^}]*)\\} ([0-9.e+]+)");
    for (std::sregex_iterator it(m->body.begin(), m->body.end(), re), end; it != end; ++it) {
      if (std::stod((*it)[2]) > 0) std::printf("  failures {%s}: %s\n", (*it)[1].str().c_str(), (*it)[2].str().c_str());
    }
  }
  daemon.signal(SIGTERM);
  const auto rc = daemon.wait(std::chrono::seconds(30));
  // The baseline: the first sample after both sites' first snapshots are stored and the first
  // retention window has passed (2 min of polls, then 30 s for the pass to run).
  const Sample* base = nullptr;
  for (const auto& s : samples) {
    if (s.t >= 150) {
      base = &s;
      break;
    }
  }
  if (!base && !samples.empty()) base = &samples.front();
  const Sample& last = samples.back();
  std::printf("\nsoak summary: %d DR policy flips, %d faults injected, flowdriftd exit %d\n", flips,
              injected, rc ? *rc : -1);
  if (base) {
    std::printf("  baseline t=%.0fs: rss %ld KiB, db %ju B, polls %.0f\n", base->t, base->rss,
                base->db, base->polls);
  }
  std::printf("  end      t=%.0fs: rss %ld KiB, db %ju B, polls %.0f (failed %.0f), raised %.0f, pruned rows %.0f\n",
              last.t, last.rss, last.db, last.polls, last.failures, last.raised, last.pruned);
  if (base) {
    std::printf("  growth: rss %+ld KiB, db %+jd B over %.0f polls\n", last.rss - base->rss,
                static_cast<std::intmax_t>(last.db) - static_cast<std::intmax_t>(base->db),
                last.polls - base->polls);
  }
  // The audit chain after months compressed: every poll, drift event and reload chained, and
  // retention's checkpoints and bridges across what it pruned.
  const std::string verify = test::build_dir() + "/daemon/flowdriftctl verify --db " +
                             tmp.file("flowdrift.db") + " > " + tmp.file("verify.txt") + " 2>&1";
  const int verified = std::system(verify.c_str());
  std::ifstream report(tmp.file("verify.txt"));
  std::printf("  flowdriftctl verify (exit %d): %s", WEXITSTATUS(verified),
              std::string(std::istreambuf_iterator<char>(report), {}).c_str());
  return rc == std::optional<int>(0) && WEXITSTATUS(verified) == 0 ? 0 : 1;
}
