// bench_cycle: the cost of flowdrift's poll cycle at reference scale. Not a test: it prints
// numbers. Two simulated Prism Centrals (pcsim, in a thread of their own, over loopback HTTPS)
// with the same generated policies; flowdriftd's App polls both, stores, and compares.
//   full cycle  : first poll of both sites (fetch every page, canonicalize, store, diff)
//   quiet cycle : nothing changed (fetch, canonicalize, one poll row per site, no diff)
//   bytes/quiet : database growth per quiet cycle (after a WAL checkpoint)
//   peak RSS, and the time to render /metrics.
// Usage: bench_cycle [policies per site, default 5000] [quiet cycles, default 20]
//                    [API modes PRIMARY:DR, each v3|v4|both, default both:both]
// flowdrift detects each site's API (`api: auto`): a `both` site is polled over v4, so
// `v3:v4` is a pair in the middle of an upgrade (v3 primary, v4-only DR).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "app/app.hpp"
#include "core/log.hpp"
#include "store/db.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using Clock = std::chrono::steady_clock;

namespace {

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU time (user + system) this process has used: flowdrift's own cost, whatever the
// simulated sites (separate processes on the same cores) take.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long peak_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

void run(app::App& a) {
  bool done = false;
  asio::co_spawn(a.io(), a.poll_all_once(), [&](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
    done = true;
    a.io().stop();
  });
  a.io().restart();
  a.io().run();
  if (!done) throw std::runtime_error("cycle did not complete");
}

std::uintmax_t db_bytes(app::App& a, const std::string& path) {
  a.store().db().exec("PRAGMA wal_checkpoint(TRUNCATE)");
  std::uintmax_t total = std::filesystem::file_size(path);
  std::error_code ec;
  auto wal = std::filesystem::file_size(path + "-wal", ec);
  return total + (ec ? 0 : wal);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t policies = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 5000;
  const int quiet_cycles = argc > 2 ? std::atoi(argv[2]) : 20;
  const std::string modes = argc > 3 ? argv[3] : "both:both";
  const auto colon = modes.find(':');
  const std::string mode_p = modes.substr(0, colon);
  const std::string mode_d = colon == std::string::npos ? mode_p : modes.substr(colon + 1);
  for (const auto& m : {mode_p, mode_d}) {
    if (m != "v3" && m != "v4" && m != "both") {
      std::fprintf(stderr, "bench_cycle: API mode '%s' is not v3, v4 or both\n", m.c_str());
      return 2;
    }
  }
  log::setup("warn", log::Format::Plain);
  test::TempDir dir;

  // The simulated sites are pcsim processes, so the RSS measured here is flowdrift's own.
  auto start_site = [&](const std::string& name, const std::string& mode) {
    std::filesystem::create_directories(dir.file(name));
    return std::make_unique<test::Process>(
        std::vector<std::string>{test::build_dir() + "/tests/pcsim/pcsim", "--listen",
                                 "127.0.0.1:0", "--tls-dir", dir.file(name), "--port-file",
                                 dir.file(name) + "/port", "--generate", std::to_string(policies),
                                 "--seed", "42", "--api-mode", mode, "--log-level", "warn"},
        dir.file(name) + "/pcsim.log", std::vector<std::string>{"PCSIM_PASSWORD=bench-pw"});
  };
  auto sim_p = start_site("p", mode_p);
  auto sim_d = start_site("d", mode_d);
  auto port_p = test::wait_for_file(dir.file("p") + "/port", std::chrono::seconds(120));
  auto port_d = test::wait_for_file(dir.file("d") + "/port", std::chrono::seconds(120));
  if (!port_p || !port_d) {
    std::fprintf(stderr, "bench_cycle: pcsim did not start\n");
    return 1;
  }

  setenv("BENCH_PC_PASSWORD", "bench-pw", 1);
  config::Config cfg;
  auto site = [](const std::string& name, std::uint16_t port, const std::string& ca) {
    config::SiteConfig s;
    s.name = name;
    s.url = "https://127.0.0.1:" + std::to_string(port);
    s.credentials.username = "admin";
    s.credentials.password_env = "BENCH_PC_PASSWORD";
    s.ca_file = ca;
    s.request_timeout = std::chrono::seconds(60);
    s.poll_timeout = std::chrono::seconds(60);
    return s;
  };
  cfg.sites = {site("primary", static_cast<std::uint16_t>(std::stoi(*port_p)), dir.file("p") + "/ca.pem"),
               site("dr", static_cast<std::uint16_t>(std::stoi(*port_d)), dir.file("d") + "/ca.pem")};
  config::PairConfig pair;
  pair.name = "prod";
  pair.source = "primary";
  pair.replica = "dr";
  cfg.pairs = {pair};
  cfg.storage.path = dir.file("bench.db");
  cfg.server.listen = "127.0.0.1:0";
  {
    app::App a(cfg);
    auto t0 = Clock::now();
    double c0 = cpu_seconds();
    run(a);
    const double full = secs(Clock::now() - t0);
    const double full_cpu = cpu_seconds() - c0;
    const auto bytes0 = db_bytes(a, cfg.storage.path);

    t0 = Clock::now();
    c0 = cpu_seconds();
    for (int i = 0; i < quiet_cycles; ++i) run(a);
    const double quiet = secs(Clock::now() - t0) / quiet_cycles;
    const double quiet_cpu = (cpu_seconds() - c0) / quiet_cycles;
    const auto bytes1 = db_bytes(a, cfg.storage.path);

    t0 = Clock::now();
    std::size_t size = 0;
    for (int i = 0; i < 100; ++i) size = a.metrics().render().size();
    const double scrape = secs(Clock::now() - t0) / 100;

    std::printf("bench_cycle: 2 sites x %zu policies over loopback HTTPS (polled concurrently), API modes primary=%s dr=%s\n",
                policies, mode_p.c_str(), mode_d.c_str());
    std::printf("  full cycle (fetch, canonicalize, store, diff): %8.3f s  (flowdrift CPU %.3f s)\n", full, full_cpu);
    std::printf("  quiet cycle (nothing changed), mean of %d:     %8.3f s  (flowdrift CPU %.3f s)\n", quiet_cycles, quiet, quiet_cpu);
    std::printf("  bytes a quiet cycle adds to the database:      %8.1f B\n",
                static_cast<double>(bytes1 - bytes0) / quiet_cycles);
    std::printf("  database after first cycle:                    %8.1f MiB\n", static_cast<double>(bytes0) / (1 << 20));
    std::printf("  /metrics render (%zu bytes):                 %8.3f ms\n", size, scrape * 1000);
    std::printf("  peak RSS of flowdrift:                         %8ld MiB\n", peak_rss_kib() / 1024);
  }
  return 0;
}
