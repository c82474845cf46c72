// PollGate (scheduler/gate.hpp): at most `limit` polls in flight, the others waiting first come
// first served; and collectors over simulated PCs that never poll more sites at once than that.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>

#include "scheduler/collector.hpp"
#include "scheduler/gate.hpp"
#include "http/client.hpp"
#include "store/store.hpp"
#include "support/simulated_pc.hpp"
#include "support/temp_dir.hpp"
#include "unit/prism/fetch_runners.hpp"
#include "unit/prism/pc_sites.hpp"

using namespace flowdrift;
using namespace flowdrift::test;
using scheduler::PollGate;

TEST_CASE("poll gate: a slot each up to the limit, the rest wait in order", "[unit][scheduler][gate]") {
  asio::io_context io;
  std::vector<std::unique_ptr<asio::steady_timer>> timers;
  std::vector<PollGate::Waiter> w(5);
  for (auto& x : w) {
    timers.push_back(std::make_unique<asio::steady_timer>(io));
    x.timer = timers.back().get();
  }
  PollGate gate(2);
  int changes = 0;
  gate.on_change = [&](const PollGate&) { ++changes; };
  CHECK(gate.try_enter(&w[0]));
  CHECK(gate.try_enter(&w[1]));
  CHECK_FALSE(gate.try_enter(&w[2]));
  CHECK_FALSE(gate.try_enter(&w[3]));
  CHECK_FALSE(gate.try_enter(&w[2]));  // asking again does not queue twice
  CHECK(gate.in_flight() == 2);
  CHECK(gate.waiting() == 2);
  CHECK(changes == 4);

  // A finished poll hands its slot to the oldest waiter.
  gate.release();
  CHECK(w[2].granted);
  CHECK_FALSE(w[3].granted);
  CHECK(gate.in_flight() == 2);
  CHECK(gate.waiting() == 1);
  // Nobody jumps the queue: a newcomer waits while others do.
  CHECK_FALSE(gate.try_enter(&w[4]));
  // A waiter that gives up leaves the queue; one granted meanwhile gives its slot back.
  gate.withdraw(&w[3]);
  CHECK(gate.waiting() == 1);
  gate.withdraw(&w[2]);
  CHECK(w[4].granted);
  CHECK(gate.in_flight() == 2);
  CHECK(gate.waiting() == 0);

  // A larger limit admits at once; a smaller one waits for polls to finish.
  w[3].granted = false;
  CHECK_FALSE(gate.try_enter(&w[3]));
  gate.set_limit(3);
  CHECK(w[3].granted);
  CHECK(gate.in_flight() == 3);
  gate.set_limit(1);
  gate.release();
  gate.release();
  CHECK(gate.in_flight() == 1);
  w[0].granted = false;
  CHECK_FALSE(gate.try_enter(&w[0]));
  gate.release();
  CHECK(w[0].granted);
  // Closed (the daemon going): nothing admitted, nothing reported.
  w[1].granted = false;
  CHECK_FALSE(gate.try_enter(&w[1]));
  const int before = changes;
  gate.close();
  gate.release();
  CHECK_FALSE(w[1].granted);
  CHECK(changes == before);
}

namespace {

// Three sites due at once, each poll slow (every request waits 20 ms), one slot.
struct Fleet {
  asio::io_context io;
  TempDir dir;
  store::Store store{dir.file("flowdrift.db")};
  PollGate gate{1};
  std::vector<std::unique_ptr<SimulatedPc>> pcs;
  std::vector<std::unique_ptr<scheduler::Collector>> collectors;
  std::size_t most_in_flight = 0;
  std::size_t most_waiting = 0;
  int polls = 0;

  Fleet() {
    gate.on_change = [this](const PollGate& g) {
      most_in_flight = std::max(most_in_flight, g.in_flight());
      most_waiting = std::max(most_waiting, g.waiting());
    };
    for (int i = 0; i < 3; ++i) {
      pcs.push_back(std::make_unique<SimulatedPc>(site_data(3), pc_options()));
      config::SiteConfig cfg;
      cfg.name = "site" + std::to_string(i);
      cfg.url = "https://pc.example:9440";
      cfg.credentials.username = "admin";
      cfg.interval = std::chrono::milliseconds(100);
      cfg.vm_coverage = false;
      auto t = pcs.back()->new_transport();
      t->latency = std::chrono::milliseconds(20);
      scheduler::PollHooks hooks;
      hooks.after = [this](const scheduler::PollReport&) { ++polls; };
      collectors.push_back(std::make_unique<scheduler::Collector>(
          io.get_executor(), cfg, kPassword, std::move(t), store, std::move(hooks)));
      collectors.back()->set_gate(&gate);
    }
  }
};

}  // namespace

TEST_CASE("collectors due together poll one at a time through a gate of one, and stop while waiting",
          "[unit][scheduler][gate]") {
  Fleet f;
  for (auto& c : f.collectors) c->start(std::chrono::milliseconds(0));
  for (int i = 0; i < 400 && f.polls < 6; ++i) f.io.run_for(std::chrono::milliseconds(20));
  CHECK(f.polls >= 6);
  CHECK(f.most_in_flight == 1);
  CHECK(f.most_waiting >= 1);  // they did meet at the gate
  // Stopped while polling or waiting, every loop ends and every slot comes back.
  for (auto& c : f.collectors) c->stop();
  for (int i = 0; i < 200; ++i) {
    if (std::none_of(f.collectors.begin(), f.collectors.end(), [](const auto& c) { return c->running(); })) break;
    f.io.run_for(std::chrono::milliseconds(20));
  }
  for (const auto& c : f.collectors) CHECK_FALSE(c->running());
  CHECK(f.gate.in_flight() == 0);
  CHECK(f.gate.waiting() == 0);
}

namespace {

awaitable<void> run_poll(scheduler::Collector* collector, scheduler::PollReport* out) {
  *out = co_await collector->poll_once();
}

scheduler::PollReport poll(asio::io_context& io, scheduler::Collector& c) {
  scheduler::PollReport report;
  io.restart();
  asio::co_spawn(io, run_poll(&c, &report), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  return report;
}

}  // namespace

TEST_CASE("a site whose polls keep failing is polled later each time, up to max_backoff",
          "[unit][scheduler][backoff]") {
  asio::io_context io;
  TempDir dir;
  store::Store store{dir.file("flowdrift.db")};
  SimulatedPc pc(site_data(3), pc_options());
  config::SiteConfig cfg;
  cfg.name = "primary";
  cfg.url = "https://pc.example:9440";
  cfg.credentials.username = "admin";
  cfg.interval = std::chrono::seconds(60);
  cfg.max_backoff = std::chrono::seconds(150);
  cfg.retries = 0;
  scheduler::Collector c(io.get_executor(), cfg, kPassword, pc.new_transport(), store);
  pc.sim.add_fault(pcsim::parse_fault("*:status=503"));
  auto r = poll(io, c);
  CHECK_FALSE(r.complete);
  CHECK(r.consecutive_failures == 1);
  CHECK(r.backoff == std::chrono::milliseconds(0));  // one failure: the interval alone
  r = poll(io, c);
  CHECK(r.consecutive_failures == 2);
  CHECK(r.backoff >= std::chrono::seconds(30));
  CHECK(r.backoff <= std::chrono::seconds(60));
  r = poll(io, c);
  r = poll(io, c);
  CHECK(r.consecutive_failures == 4);
  CHECK(r.backoff >= std::chrono::seconds(75));  // capped: interval * 7 is past 150 s
  CHECK(r.backoff <= std::chrono::seconds(150));
  pc.sim.clear_faults();
  r = poll(io, c);
  CHECK(r.complete);
  CHECK(r.consecutive_failures == 0);
  CHECK(r.backoff == std::chrono::milliseconds(0));
}

TEST_CASE("site_proxy: the site's proxy, else HTTPS_PROXY unless NO_PROXY exempts the host",
          "[unit][scheduler][proxy]") {
  std::map<std::string, std::string> env;
  const auto lookup = [&env](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  config::SiteConfig site;
  site.name = "dr";
  site.url = "https://pc.dr.example:9440";
  const auto url = *http::parse_url(site.url);
  CHECK_FALSE(scheduler::site_proxy(site, url, lookup).has_value());

  env["HTTPS_PROXY"] = "http://proxy.corp:3128/";
  auto p = scheduler::site_proxy(site, url, lookup);
  REQUIRE(p.has_value());
  CHECK(p->options.host == "proxy.corp");
  CHECK(p->options.port == "3128");
  CHECK(p->from == "HTTPS_PROXY");
  env["https_proxy"] = "http://lower.corp:8080";  // curl's order: the lower-case name first
  CHECK(scheduler::site_proxy(site, url, lookup)->options.host == "lower.corp");
  env["NO_PROXY"] = "localhost,.example";
  CHECK_FALSE(scheduler::site_proxy(site, url, lookup).has_value());
  env["no_proxy"] = "localhost";  // the lower-case name wins here too
  CHECK(scheduler::site_proxy(site, url, lookup).has_value());
  env["HTTP_PROXY"] = "http://plain.corp:80";  // never read for an https:// site
  env.erase("https_proxy");
  env.erase("HTTPS_PROXY");
  CHECK_FALSE(scheduler::site_proxy(site, url, lookup).has_value());

  site.proxy = "http://site.proxy:3128";  // the site's own wins over the environment
  env["HTTPS_PROXY"] = "http://proxy.corp:3128";
  env.erase("no_proxy");
  p = scheduler::site_proxy(site, url, lookup);
  REQUIRE(p.has_value());
  CHECK(p->options.host == "site.proxy");
  CHECK(p->from == "proxy");
  site.proxy = "none";
  CHECK_FALSE(scheduler::site_proxy(site, url, lookup).has_value());

  site.proxy.clear();
  env.erase("NO_PROXY");
  env["HTTPS_PROXY"] = "http://user:pw@proxy.corp:3128";
  CHECK_THROWS_WITH(scheduler::site_proxy(site, url, lookup),
                    Catch::Contains("site dr: HTTPS_PROXY is not an http://HOST[:PORT] proxy") &&
                        !Catch::Contains("pw"));
}
