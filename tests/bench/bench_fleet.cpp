// bench_fleet: flowdrift at the reference scale on this machine (issue #19, point 5). Not a
// test: it prints numbers. SITES simulated Prism Centrals (one pcsim process each, over loopback
// HTTPS) make SITES/2 pairs; each pair's replica is its source with ~1.5% of its policies
// drifted (tests/bench/drift_site.hpp), each pair generated from its own seed. flowdriftd's App
// polls every site once per cycle, through the poll gate (polling.max_concurrent), stores and
// compares; the cycles run back to back, so a cycle's wall time is what it takes out of the
// configured 60 s interval.
//   cycle 1        : the first poll of every site (all pages canonicalized, stored, compared)
//   the middle one : pair-00's replica changes one policy during it (pcsim churn): the time from
//                    that change to drift.opened is measured
//   the others     : quiet (nothing changed)
// Per cycle: wall and CPU time of this process (the daemon's App), its peak and current RSS,
// the database's size and growth, the /metrics render time and size, and the open drift items.
// The last line (`fleet: ...`) sums it up for scripts/plot_fleet.py.
// Usage: bench_fleet [sites, default 50] [policies per site, default 5000] [cycles, default 10]
//                    [API mode v3|v4|both, default v4] [polling.max_concurrent, default 4]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "drift/rules.hpp"
#include "pcsim/site.hpp"
#include "bench_support.hpp"
#include "drift_site.hpp"

using namespace flowdrift;
using namespace flowdrift::bench;

namespace {

constexpr const char* kPassword = "bench-pw";

struct Args {
  int sites = 50;
  std::size_t policies = 5000;
  int cycles = 10;
  std::string mode = "v4";
  int max_concurrent = 4;
};

Args parse_args(int argc, char** argv) {
  Args a;
  if (argc > 1) a.sites = std::max(2, std::atoi(argv[1]) / 2 * 2);
  if (argc > 2) a.policies = std::strtoul(argv[2], nullptr, 10);
  if (argc > 3) a.cycles = std::max(4, std::atoi(argv[3]));
  if (argc > 4) a.mode = argv[4];
  if (argc > 5) a.max_concurrent = std::max(1, std::atoi(argv[5]));
  if (a.mode != "v3" && a.mode != "v4" && a.mode != "both") {
    throw std::invalid_argument("API mode '" + a.mode + "' is not v3, v4 or both");
  }
  return a;
}

std::string pair_name(int p) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "pair-%02d", p);
  return buf;
}
std::string site_name(int p, bool replica) { return pair_name(p) + (replica ? "-dr" : "-pri"); }

// Every pair's two data files, made in a child process (its memory is not the daemon's).
bool generate(const test::TempDir& dir, const Args& args) {
  return in_child([&] {
    for (int p = 0; p < args.sites / 2; ++p) {
      pcsim::SiteData source = pcsim::generate_site(args.policies, 1000 + static_cast<unsigned>(p));
      pcsim::write_site_file(dir.file(site_name(p, false) + ".json"), source);
      drift_replica(source, 67);
      pcsim::write_site_file(dir.file(site_name(p, true) + ".json"), source);
    }
  });
}

struct Fleet {
  std::vector<std::unique_ptr<test::Process>> sims;
  std::vector<std::uint16_t> ports;
};

Fleet start_fleet(const test::TempDir& dir, const Args& args) {
  Fleet f;
  for (int p = 0; p < args.sites / 2; ++p) {
    for (bool replica : {false, true}) {
      const std::string name = site_name(p, replica);
      f.sims.push_back(start_pcsim(dir, name, dir.file(name + ".json"), args.mode, kPassword));
    }
  }
  for (int i = 0; i < args.sites; ++i) {
    const std::string name = site_name(i / 2, i % 2 == 1);
    auto port = test::wait_for_file(dir.file(name) + "/port", std::chrono::seconds(600));
    if (!port) throw std::runtime_error("pcsim " + name + " did not start");
    f.ports.push_back(static_cast<std::uint16_t>(std::stoi(*port)));
  }
  return f;
}

std::string fleet_yaml(const test::TempDir& dir, const Args& args, const Fleet& f) {
  std::string yaml = "sites:\n";
  for (int i = 0; i < args.sites; ++i) {
    const std::string name = site_name(i / 2, i % 2 == 1);
    yaml += site_yaml(name, f.ports[static_cast<std::size_t>(i)], dir.file(name) + "/ca.pem", "60s");
  }
  yaml += "pairs:\n";
  for (int p = 0; p < args.sites / 2; ++p) {
    yaml += "  - name: " + pair_name(p) + "\n    source: " + site_name(p, false) +
            "\n    replica: " + site_name(p, true) + "\n";
  }
  yaml += "polling:\n  max_concurrent: " + std::to_string(args.max_concurrent) + "\n";
  yaml += "storage:\n  path: " + dir.file("fleet.db") + "\nserver:\n  listen: 127.0.0.1:0\n";
  return yaml;
}

struct Cycle {
  double wall = 0, cpu = 0;
  long peak_rss = 0, rss = 0, heap = 0;  // KiB
  double db_mib = 0, growth_kib = 0;
  double scrape_ms = 0;
  std::size_t scrape_bytes = 0;
  std::int64_t complete_polls = 0, open_items = 0;
};

// The /metrics page rendered as a scrape would, 20 times: the mean time and its size.
void measure_scrape(app::App& a, Cycle& c) {
  const auto t0 = Clock::now();
  for (int i = 0; i < 20; ++i) c.scrape_bytes = a.metrics().render().size();
  c.scrape_ms = secs(Clock::now() - t0) / 20 * 1000;
}

Cycle run_one(app::App& a, const std::string& db, std::uintmax_t* bytes_before) {
  Cycle c;
  const auto polls0 = count_rows(a, "SELECT count(*) FROM polls WHERE outcome = 'complete'");
  const auto t0 = Clock::now();
  const double c0 = cpu_seconds();
  run_cycle(a);
  c.wall = secs(Clock::now() - t0);
  c.cpu = cpu_seconds() - c0;
  c.peak_rss = peak_rss_kib();
  c.rss = rss_kib();
  c.heap = heap_in_use_kib();
  c.heap = heap_in_use_kib();
  const auto bytes = db_bytes(a, db);
  c.db_mib = static_cast<double>(bytes) / (1 << 20);
  c.growth_kib = (static_cast<double>(bytes) - static_cast<double>(*bytes_before)) / 1024;
  *bytes_before = bytes;
  measure_scrape(a, c);
  c.complete_polls =
      count_rows(a, "SELECT count(*) FROM polls WHERE outcome = 'complete'") - polls0;
  c.open_items = count_rows(a, "SELECT count(*) FROM drift_items WHERE resolved_ms IS NULL");
  return c;
}

void print_row(int n, const char* what, const Cycle& c) {
  std::printf("  %2d %-7s %7.2f s %7.2f s %6.2f %7ld %7ld %6ld %8.1f %9.1f %7.3f ms %7zu %4lld %6lld\n",
              n, what, c.wall, c.cpu, c.cpu / c.wall, c.peak_rss / 1024, c.rss / 1024,
              c.heap / 1024, c.db_mib,
              c.growth_kib, c.scrape_ms, c.scrape_bytes, static_cast<long long>(c.complete_polls),
              static_cast<long long>(c.open_items));
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  try {
    args = parse_args(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_fleet: %s\n", e.what());
    return 2;
  }
  log::setup("warn", log::Format::Logfmt);
  test::TempDir dir;
  std::printf("bench_fleet: %d sites x %zu policies, %d pairs, API mode %s, max_concurrent %d\n",
              args.sites, args.policies, args.sites / 2, args.mode.c_str(), args.max_concurrent);
  std::fflush(stdout);
  if (!generate(dir, args)) {
    std::fprintf(stderr, "bench_fleet: generating the site data failed\n");
    return 1;
  }
  Fleet fleet = start_fleet(dir, args);
  setenv("BENCH_PC_PASSWORD", kPassword, 1);
  const config::Config cfg = drift::parse_config(fleet_yaml(dir, args, fleet), "fleet.yaml");
  const long idle_rss = rss_kib();

  app::App a(cfg);
  std::printf("  RSS before the App: %ld MiB; after its start: %ld MiB\n", idle_rss / 1024,
              rss_kib() / 1024);
  std::printf("   # cycle       wall      CPU  cores peakRSS  RSSnow   heap  DB MiB  grow KiB    scrape"
              "   bytes polls  items\n");
  std::uintmax_t bytes = db_bytes(a, cfg.storage.path);
  std::vector<Cycle> quiet;
  Cycle first;
  double latency = -1;
  const int changed_at = args.cycles / 2;
  const std::string dr = site_name(0, true);
  for (int i = 0; i < args.cycles; ++i) {
    const bool changed = i == changed_at;
    std::int64_t change_ms = 0;
    if (changed) {
      set_churn(a, fleet.ports[1], dir.file(dr) + "/ca.pem", kPassword, true);
      change_ms = unix_now_ms();
    }
    const Cycle c = run_one(a, cfg.storage.path, &bytes);
    if (changed) {
      set_churn(a, fleet.ports[1], dir.file(dr) + "/ca.pem", kPassword, false);
      const auto opened = count_rows(
          a, "SELECT min(opened_ms) FROM drift_items JOIN pairs ON pairs.id = pair_id WHERE "
             "pairs.name = '" + pair_name(0) + "' AND opened_ms >= " + std::to_string(change_ms));
      if (opened > 0) latency = static_cast<double>(opened - change_ms) / 1000;
    }
    print_row(i + 1, i == 0 ? "first" : changed ? "changed" : "quiet", c);
    std::fflush(stdout);
    if (i == 0) first = c;
    if (i > 0 && !changed) quiet.push_back(c);
  }
  double qwall = 0, qcpu = 0, qgrowth = 0, scrape = 0;
  long peak = 0;
  for (const auto& c : quiet) {
    qwall += c.wall / static_cast<double>(quiet.size());
    qcpu += c.cpu / static_cast<double>(quiet.size());
    qgrowth += c.growth_kib / static_cast<double>(quiet.size());
    scrape = std::max(scrape, c.scrape_ms);
  }
  peak = peak_rss_kib();
  std::printf("  time from pair-00's DR change to drift.opened: %.2f s (the change made as the "
              "cycle began; a scheduled poll adds up to one interval of waiting)\n",
              latency);
  std::printf("fleet: sites=%d policies=%zu mode=%s first_wall=%.2f first_cpu=%.2f "
              "quiet_wall=%.2f quiet_cpu=%.2f quiet_growth_kib=%.1f peak_rss_mib=%ld "
              "scrape_ms=%.3f latency_s=%.2f\n",
              args.sites, args.policies, args.mode.c_str(), first.wall, first.cpu, qwall, qcpu,
              qgrowth, peak / 1024, scrape, latency);
  return 0;
}
