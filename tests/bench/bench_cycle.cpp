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
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "app/app.hpp"
#include "config/config.hpp"
#include "drift/rules.hpp"
#include "core/log.hpp"
#include "pcsim/site.hpp"
#include "store/db.hpp"
#include "bench_support.hpp"
#include "drift_site.hpp"

using namespace flowdrift;
using namespace flowdrift::bench;
using nlohmann::json;

namespace {

constexpr const char* kPassword = "bench-pw";

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
  log::setup("warn", log::Format::Logfmt);
  test::TempDir dir;

  // The two sites' data files: the generated site, and the replica with drift. Made in a
  // child process so that the peak RSS measured below is the daemon's alone.
  std::size_t rules_total = 0;
  std::size_t drifted = 0;
  const bool generated = in_child([&] {
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
  });
  if (!generated) {
    std::fprintf(stderr, "bench_cycle: generating the site data failed\n");
    return 1;
  }
  std::ifstream(dir.file("counts")) >> rules_total >> drifted;

  // The simulated sites are pcsim processes, so the RSS measured here is flowdrift's own.
  auto sim_p = start_pcsim(dir, "p", dir.file("source.json"), mode_p, kPassword);
  auto sim_d = start_pcsim(dir, "d", dir.file("replica.json"), mode_d, kPassword);
  auto port_p = test::wait_for_file(dir.file("p") + "/port", std::chrono::seconds(120));
  auto port_d = test::wait_for_file(dir.file("d") + "/port", std::chrono::seconds(120));
  if (!port_p || !port_d) {
    std::fprintf(stderr, "bench_cycle: pcsim did not start\n");
    return 1;
  }
  const auto pport = static_cast<std::uint16_t>(std::stoi(*port_p));
  const auto dport = static_cast<std::uint16_t>(std::stoi(*port_d));

  // Configured as an operator would (the loader's defaults: interval, max_skew, debounce).
  setenv("BENCH_PC_PASSWORD", kPassword, 1);
  const std::string yaml = "sites:\n" + site_yaml("primary", pport, dir.file("p") + "/ca.pem", "60s") +
                           site_yaml("dr", dport, dir.file("d") + "/ca.pem", "60s") +
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

    set_churn(a, pport, dir.file("p") + "/ca.pem", kPassword, true);
    set_churn(a, dport, dir.file("d") + "/ca.pem", kPassword, true);
    const Rows before_changed = rows(a);
    const Phase changed = measure(changed_cycles, "changed");
    const Rows after_changed = rows(a);
    set_churn(a, pport, dir.file("p") + "/ca.pem", kPassword, false);
    set_churn(a, dport, dir.file("d") + "/ca.pem", kPassword, false);
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
