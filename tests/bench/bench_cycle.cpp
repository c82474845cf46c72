// bench_cycle: the cost of flowdrift's poll cycle at reference scale. Not a test: it prints
// numbers. Two simulated Prism Centrals (pcsim processes, over loopback HTTPS): the source from
// a generated site, the replica the same site with ~1.5% of its policies drifted (ports
// widened, a rule removed, a mode weakened, text edited, an address group widened, a policy
// deleted), so that the comparison compiles flows (lib/flows) and finds real items.
// flowdriftd's App polls both concurrently (App::poll_all_once), stores, and compares.
//   full cycle    : first poll of both sites (every page fetched and canonicalized, stored,
//                   compared with the behavioural diff)
//   changed cycle : both sites changed one policy since the last poll (pcsim churn): fetch,
//                   canonicalize, store the new snapshots, compare again
//   quiet cycle   : nothing changed: fetch, canonicalize, one poll row per site; the pair is
//                   skipped because both snapshot hashes are the ones already compared
// For each: wall time, flowdrift's CPU (this process) and the simulators' CPU (the pcsim
// processes share the same cores, so their time is inside the wall time).
// Usage: bench_cycle [policies per site, default 5000] [quiet cycles, default 10]
//                    [API modes PRIMARY:DR, each v3|v4|both, default both:both]
//                    [changed cycles, default 3]
// flowdrift detects each site's API (`api: auto`): a `both` site is polled over v4, so
// `v3:v4` is a pair in the middle of an upgrade (v3 primary, v4-only DR).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "app/app.hpp"
#include "config/config.hpp"
#include "drift/rules.hpp"
#include "core/log.hpp"
#include "http/client.hpp"
#include "pcsim/site.hpp"
#include "store/db.hpp"
#include "drift_site.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
using bench::drift_replica;
using bench::rule_body;

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

// CPU time of a child process so far (utime + stime of /proc/PID/stat).
double process_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(paren + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt (fields 3..13)
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long peak_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

void run_cycle(app::App& a) {
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

awaitable<void> post_churn(http::HttpTransport* t, std::string auth, bool on, int* status) {
  http::HttpRequest r;
  r.method = "POST";
  r.target = "/_pcsim/churn";
  r.headers = {{"Authorization", auth}, {"Content-Type", "application/json"}};
  r.body = on ? R"({"enabled":true})" : R"({"enabled":false})";
  auto res = co_await t->send(std::move(r), std::chrono::seconds(10));
  *status = res ? res->status : -1;
}

// Turns pcsim's churn (one policy edited per policy listing) on or off.
void set_churn(app::App& a, std::uint16_t port, const std::string& ca, bool on) {
  http::ClientOptions o;
  o.host = "127.0.0.1";
  o.port = std::to_string(port);
  o.ca_file = ca;
  http::BeastTransport t(a.io().get_executor(), o);
  int status = 0;
  asio::co_spawn(a.io(), post_churn(&t, http::basic_auth_header("admin", "bench-pw"), on, &status),
                 asio::detached);
  a.io().restart();
  a.io().run();
  if (status != 200) throw std::runtime_error("pcsim churn request: HTTP " + std::to_string(status));
}

std::uintmax_t db_bytes(app::App& a, const std::string& path) {
  a.store().db().exec("PRAGMA wal_checkpoint(TRUNCATE)");
  std::uintmax_t total = std::filesystem::file_size(path);
  std::error_code ec;
  auto wal = std::filesystem::file_size(path + "-wal", ec);
  return total + (ec ? 0 : wal);
}

std::int64_t count_rows(app::App& a, const std::string& sql) {
  return a.store().db().prepare(sql).query_int64().value_or(0);
}

// Rows of the audit trail: what a cycle wrote.
struct Rows {
  std::int64_t polls = 0, snapshots = 0, objects = 0, drift_events = 0;
  std::int64_t compared_ms = 0;  // pair_states.updated_ms: moves on every comparison
};
Rows rows(app::App& a) {
  Rows r;
  r.polls = count_rows(a, "SELECT count(*) FROM polls");
  r.snapshots = count_rows(a, "SELECT count(*) FROM snapshots");
  r.objects = count_rows(a, "SELECT count(*) FROM objects");
  r.drift_events = count_rows(a, "SELECT count(*) FROM drift_events");
  r.compared_ms = count_rows(a, "SELECT max(updated_ms) FROM pair_states");
  return r;
}

std::string open_items_by_kind(app::App& a) {
  auto st = a.store().db().prepare(
      "SELECT kind, count(*) FROM drift_items WHERE resolved_ms IS NULL GROUP BY kind ORDER BY kind");
  std::string out;
  std::int64_t total = 0;
  while (st.step()) {
    out += (out.empty() ? "" : ", ") + st.column_text(0) + "=" + std::to_string(st.column_int64(1));
    total += st.column_int64(1);
  }
  return std::to_string(total) + " (" + out + ")";
}

struct Phase {
  double wall = 0, cpu = 0, sim_cpu = 0;
};

// Profiling one phase: with BENCH_PROFILE=full|changed|quiet and PERF_CTL_FIFO naming the
// control fifo of `perf record --control=fifo:PATH -D -1`, only that phase is recorded.
void perf_control(const char* phase, const char* command) {
  const char* wanted = std::getenv("BENCH_PROFILE");
  const char* fifo = std::getenv("PERF_CTL_FIFO");
  if (wanted == nullptr || fifo == nullptr || std::string(wanted) != phase) return;
  std::ofstream(fifo) << command << '\n' << std::flush;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t policies = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 5000;
  const int quiet_cycles = argc > 2 ? std::max(1, std::atoi(argv[2])) : 10;
  const std::string modes = argc > 3 ? argv[3] : "both:both";
  const int changed_cycles = argc > 4 ? std::max(1, std::atoi(argv[4])) : 3;
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

  // The two sites' data files: the generated site, and the replica with drift. Made in a
  // child process so that the peak RSS measured below is the daemon's alone.
  std::size_t rules_total = 0;
  std::size_t drifted = 0;
  {
    const pid_t child = fork();
    if (child == 0) {
      pcsim::SiteData source = pcsim::generate_site(policies, 42);
      std::size_t rules = 0;
      for (auto& r : source.rules) {
        if (json* body = rule_body(r.spec)) {
          for (const char* l : {"inbound_allow_list", "outbound_allow_list"}) {
            auto it = body->find(l);
            if (it != body->end() && it->is_array()) rules += it->size();
          }
        }
      }
      pcsim::write_site_file(dir.file("source.json"), source);
      pcsim::SiteData replica = source;
      const std::size_t n = drift_replica(replica, 67);
      pcsim::write_site_file(dir.file("replica.json"), replica);
      std::ofstream(dir.file("counts")) << rules << ' ' << n << '\n';
      _exit(0);
    }
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "bench_cycle: generating the site data failed\n");
      return 1;
    }
    std::ifstream(dir.file("counts")) >> rules_total >> drifted;
  }

  // The simulated sites are pcsim processes, so the RSS measured here is flowdrift's own.
  auto start_site = [&](const std::string& name, const std::string& data, const std::string& mode) {
    std::filesystem::create_directories(dir.file(name));
    return std::make_unique<test::Process>(
        std::vector<std::string>{test::build_dir() + "/tests/pcsim/pcsim", "--listen",
                                 "127.0.0.1:0", "--tls-dir", dir.file(name), "--port-file",
                                 dir.file(name) + "/port", "--data", data, "--api-mode", mode,
                                 "--log-level", "warn"},
        dir.file(name) + "/pcsim.log", std::vector<std::string>{"PCSIM_PASSWORD=bench-pw"});
  };
  auto sim_p = start_site("p", dir.file("source.json"), mode_p);
  auto sim_d = start_site("d", dir.file("replica.json"), mode_d);
  auto port_p = test::wait_for_file(dir.file("p") + "/port", std::chrono::seconds(120));
  auto port_d = test::wait_for_file(dir.file("d") + "/port", std::chrono::seconds(120));
  if (!port_p || !port_d) {
    std::fprintf(stderr, "bench_cycle: pcsim did not start\n");
    return 1;
  }
  const auto pport = static_cast<std::uint16_t>(std::stoi(*port_p));
  const auto dport = static_cast<std::uint16_t>(std::stoi(*port_d));

  // Configured as an operator would (the loader's defaults: interval, max_skew, debounce).
  setenv("BENCH_PC_PASSWORD", "bench-pw", 1);
  auto site_yaml = [&](const std::string& name, std::uint16_t port, const std::string& ca) {
    return "  - name: " + name + "\n    url: https://127.0.0.1:" + std::to_string(port) +
           "\n    username: admin\n    password_env: BENCH_PC_PASSWORD\n    ca_file: " + ca +
           "\n    interval: 60s\n    request_timeout: 60s\n    poll_timeout: 60s\n";
  };
  const std::string yaml = "sites:\n" + site_yaml("primary", pport, dir.file("p") + "/ca.pem") +
                           site_yaml("dr", dport, dir.file("d") + "/ca.pem") +
                           "pairs:\n  - name: prod\n    source: primary\n    replica: dr\n"
                           "storage:\n  path: " + dir.file("bench.db") +
                           "\nserver:\n  listen: 127.0.0.1:0\n";
  const config::Config cfg = drift::parse_config(yaml, "bench.yaml");
  {
    app::App a(cfg);
    auto measure = [&](int cycles, const char* phase) {
      perf_control(phase, "enable");
      Phase p;
      const auto t0 = Clock::now();
      const double c0 = cpu_seconds();
      const double s0 = process_cpu_seconds(sim_p->pid()) + process_cpu_seconds(sim_d->pid());
      for (int i = 0; i < cycles; ++i) run_cycle(a);
      p.wall = secs(Clock::now() - t0) / cycles;
      p.cpu = (cpu_seconds() - c0) / cycles;
      p.sim_cpu =
          (process_cpu_seconds(sim_p->pid()) + process_cpu_seconds(sim_d->pid()) - s0) / cycles;
      perf_control(phase, "disable");
      return p;
    };

    const Phase full = measure(1, "full");
    const std::string items_full = open_items_by_kind(a);
    const long rss_full = peak_rss_kib();
    const auto bytes_full = db_bytes(a, cfg.storage.path);

    set_churn(a, pport, dir.file("p") + "/ca.pem", true);
    set_churn(a, dport, dir.file("d") + "/ca.pem", true);
    const Rows before_changed = rows(a);
    const Phase changed = measure(changed_cycles, "changed");
    const Rows after_changed = rows(a);
    set_churn(a, pport, dir.file("p") + "/ca.pem", false);
    set_churn(a, dport, dir.file("d") + "/ca.pem", false);
    run_cycle(a);  // picks up the last churned edits; from here on nothing changes

    const auto bytes0 = db_bytes(a, cfg.storage.path);
    const Rows before_quiet = rows(a);
    const Phase quiet = measure(quiet_cycles, "quiet");
    const Rows after_quiet = rows(a);
    const auto bytes1 = db_bytes(a, cfg.storage.path);

    const auto t0 = Clock::now();
    std::size_t size = 0;
    for (int i = 0; i < 100; ++i) size = a.metrics().render().size();
    const double scrape = secs(Clock::now() - t0) / 100;

    const double policy_bytes = static_cast<double>(count_rows(
        a, "SELECT sum(length(json)) FROM objects WHERE kind = 'policy'"));
    const double policy_rows = static_cast<double>(count_rows(
        a, "SELECT count(*) FROM objects WHERE kind = 'policy'"));

    std::printf("bench_cycle: 2 sites x %zu policies (%.1f rules each on average) over loopback "
                "HTTPS, polled concurrently, API modes primary=%s dr=%s\n",
                policies, static_cast<double>(rules_total) / static_cast<double>(policies),
                mode_p.c_str(), mode_d.c_str());
    std::printf("  replica drifted in %zu policies (%.1f%%) and one address group\n", drifted,
                100.0 * static_cast<double>(drifted) / static_cast<double>(policies));
    auto line = [](const char* what, const Phase& p) {
      std::printf("  %-44s %7.3f s wall  flowdrift CPU %6.3f s  pcsim CPU %6.3f s\n", what, p.wall,
                  p.cpu, p.sim_cpu);
    };
    line("full cycle (first poll, store, diff):", full);
    std::printf("    open drift items after it: %s\n", items_full.c_str());
    std::printf("    peak RSS of flowdrift after it: %ld MiB; database %.1f MiB\n", rss_full / 1024,
                static_cast<double>(bytes_full) / (1 << 20));
    char what[64];
    std::snprintf(what, sizeof what, "changed cycle (both sites), mean of %d:", changed_cycles);
    line(what, changed);
    std::printf("    per cycle: %.1f snapshots stored, comparisons ran: %s\n",
                static_cast<double>(after_changed.snapshots - before_changed.snapshots) / changed_cycles,
                after_changed.compared_ms != before_changed.compared_ms ? "yes" : "no");
    std::snprintf(what, sizeof what, "quiet cycle (nothing changed), mean of %d:", quiet_cycles);
    line(what, quiet);
    std::printf("    per cycle: %.1f poll rows, %lld snapshots, %lld objects, %lld drift events; "
                "comparison skipped by hash: %s\n",
                static_cast<double>(after_quiet.polls - before_quiet.polls) / quiet_cycles,
                static_cast<long long>(after_quiet.snapshots - before_quiet.snapshots),
                static_cast<long long>(after_quiet.objects - before_quiet.objects),
                static_cast<long long>(after_quiet.drift_events - before_quiet.drift_events),
                after_quiet.compared_ms == before_quiet.compared_ms ? "yes" : "NO");
    std::printf("    bytes a quiet cycle adds to the database (after checkpoint): %.1f B\n",
                static_cast<double>(bytes1 - bytes0) / quiet_cycles);
    std::printf("  canonical policy text: %.0f B per policy on average\n",
                policy_rows > 0 ? policy_bytes / policy_rows : 0.0);
    std::printf("  /metrics render (%zu bytes): %.3f ms\n", size, scrape * 1000);
    std::printf("  peak RSS of flowdrift: %ld MiB\n", peak_rss_kib() / 1024);
  }
  return 0;
}
