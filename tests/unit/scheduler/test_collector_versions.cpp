// The collector and v4 versions, against a simulated PC (pcsim) and a real store: what a
// complete poll detected is kept per site and read again without probes, an upgrade is seen on
// the next poll, a downgrade within the poll, each change is logged as api.version, and the
// poll reports the version flowdrift_site_api_info exports.
#include <catch2/catch.hpp>

#include <spdlog/sinks/ringbuffer_sink.h>

#include "core/log.hpp"
#include "scheduler/collector.hpp"
#include "store/coverage.hpp"
#include "store/entity_sync.hpp"
#include "store/store.hpp"
#include "support/simulated_pc.hpp"
#include "support/temp_dir.hpp"
#include "unit/prism/fetch_runners.hpp"
#include "unit/prism/pc_sites.hpp"

using namespace flowdrift;
using namespace flowdrift::test;

namespace {

awaitable<void> run_poll(scheduler::Collector* collector, scheduler::PollReport* out) {
  *out = co_await collector->poll_once();
}

// One site's collector over a simulated PC with 3 policies (v3 and v4 alike).
struct Rig {
  asio::io_context io;
  TempDir dir;
  store::Store store{dir.file("flowdrift.db")};
  SimulatedPc pc{site_data(3), pc_options()};
  ScriptedTransport* transport = nullptr;  // owned by the collector
  std::unique_ptr<scheduler::Collector> collector;

  Rig() {
    config::SiteConfig cfg;
    cfg.name = "primary";
    cfg.url = "https://pc.example:9440";
    cfg.credentials.username = "admin";
    auto t = pc.new_transport();
    transport = t.get();
    collector = std::make_unique<scheduler::Collector>(io.get_executor(), cfg, kPassword,
                                                       std::move(t), store);
  }

  // One poll, and the version probes it sent.
  scheduler::PollReport poll(std::vector<std::string>* probes = nullptr) {
    const std::size_t before = transport->requests.size();
    scheduler::PollReport report;
    io.restart();
    asio::co_spawn(io, run_poll(collector.get(), &report), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    io.run();
    for (std::size_t i = before; probes != nullptr && i < transport->requests.size(); ++i) {
      const auto& r = transport->requests[i];
      if (r.query_param("$limit") == std::optional<std::string_view>("1")) {
        probes->emplace_back(r.path());
      }
    }
    INFO(report.message);
    REQUIRE(report.complete);
    return report;
  }
};

// The collector's log lines while it lives.
class LogCapture {
 public:
  LogCapture() : logger_(log::get("collector")), level_(logger_->level()) {
    logger_->sinks().push_back(sink_);
    logger_->set_level(spdlog::level::info);
  }
  ~LogCapture() {
    logger_->sinks().pop_back();
    logger_->set_level(level_);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // Lines containing `text`.
  std::vector<std::string> lines(const std::string& text) const {
    std::vector<std::string> out;
    for (auto& line : sink_->last_formatted()) {
      if (line.find(text) != std::string::npos) out.push_back(line);
    }
    return out;
  }

 private:
  std::shared_ptr<spdlog::logger> logger_;
  spdlog::level::level_enum level_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_ =
      std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256);
};

std::string microseg_probe(const std::string& version) {
  return "/api/microseg/" + version + "/config/policies";
}

}  // namespace

TEST_CASE("collector: detected v4 versions are kept, and an upgrade is seen on the next poll",
          "[unit][collector][versions]") {
  Rig rig;
  rig.pc.sim.set_v4_namespace_version("microseg", "v4.1");
  std::vector<std::string> first_probes;
  auto first = rig.poll(&first_probes);
  CHECK(first.api == config::Api::V4);
  CHECK(first.api_version == "v4.1");
  CHECK(first_probes.size() == 3 + 1 + 1);  // microseg v4.3, v4.2, v4.1; prism, networking

  std::vector<std::string> second_probes;
  auto second = rig.poll(&second_probes);
  CHECK(second.api_version == "v4.1");
  CHECK(second_probes == std::vector<std::string>{microseg_probe("v4.3"), microseg_probe("v4.2")});

  rig.pc.sim.set_v4_namespace_version("microseg", "");  // upgraded to v4.3
  std::vector<std::string> third_probes;
  auto third = rig.poll(&third_probes);
  CHECK(third.api_version == "v4.3");
  CHECK(third_probes == std::vector<std::string>{microseg_probe("v4.3")});

  std::vector<std::string> fourth_probes;
  rig.poll(&fourth_probes);
  CHECK(fourth_probes.empty());
}

TEST_CASE("collector: a downgraded site is detected again within the poll",
          "[unit][collector][versions]") {
  Rig rig;
  CHECK(rig.poll().api_version == "v4.3");
  rig.pc.sim.set_v4_namespace_version("microseg", "v4.0");
  auto downgraded = rig.poll();
  CHECK(downgraded.api_version == "v4.0");
  CHECK(downgraded.policy_count == 3);
  std::vector<std::string> probes;
  CHECK(rig.poll(&probes).api_version == "v4.0");
  CHECK(probes == std::vector<std::string>{microseg_probe("v4.3"), microseg_probe("v4.2"),
                                           microseg_probe("v4.1")});
}

TEST_CASE("collector: each version change is logged as api.version", "[unit][collector][versions]") {
  LogCapture logs;
  Rig rig;
  rig.pc.sim.set_v4_namespace_version("microseg", "v4.1");
  rig.pc.sim.set_v4_namespace_version("networking", "none");
  rig.poll();
  CHECK(logs.lines("api.version").size() == 2);
  CHECK(logs.lines("api.version site=primary namespace=microseg from=none to=v4.1").size() == 1);
  CHECK(logs.lines("api.version site=primary namespace=prism from=none to=v4.3").size() == 1);

  rig.poll();
  CHECK(logs.lines("api.version").size() == 2);  // nothing changed

  rig.pc.sim.set_v4_namespace_version("microseg", "");
  rig.pc.sim.set_v4_namespace_version("networking", "");
  rig.poll();
  CHECK(logs.lines("api.version").size() == 4);
  CHECK(logs.lines("namespace=microseg from=v4.1 to=v4.3").size() == 1);
  CHECK(logs.lines("namespace=networking from=none to=v4.3").size() == 1);
}

TEST_CASE("collector: a PC without the v4 microseg API is polled over v3 and reported as v3",
          "[unit][collector][versions]") {
  Rig rig;
  rig.pc.sim.set_v4_namespace_version("microseg", "none");
  auto report = rig.poll();
  CHECK(report.api == config::Api::V3);
  CHECK(report.api_version == "v3");
  CHECK(report.policy_count == 3);
}

namespace {

// The datapolicies requests among those the rig's transport sent since `from`.
std::vector<std::string> entity_sync_requests(const Rig& rig, std::size_t from) {
  std::vector<std::string> out;
  for (std::size_t i = from; i < rig.transport->requests.size(); ++i) {
    const std::string path(rig.transport->requests[i].path());
    if (path.find("/api/datapolicies/") == 0 && path.find("/entity-sync-policies") != std::string::npos) {
      out.push_back(path);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("collector: Nutanix's entity sync is read after each complete v4 poll and stored",
          "[unit][collector][entity_sync]") {
  LogCapture logs;
  Rig rig;
  auto first = rig.poll();
  CHECK(first.entity_sync.state == drift::EntitySyncRead::State::Complete);
  CHECK(first.entity_sync.version == "v4.3");
  CHECK(logs.lines("entity_sync.version site=primary version=v4.3").size() == 1);
  auto stored = store::entity_sync(rig.store.db(), "primary");
  REQUIRE(stored);
  CHECK(stored->state == drift::EntitySyncRead::State::Complete);

  // Every poll reads it again, at the version it found, counted in the poll's requests.
  const auto before = rig.transport->requests.size();
  auto second = rig.poll();
  CHECK(entity_sync_requests(rig, before) ==
        std::vector<std::string>{"/api/datapolicies/v4.3/config/entity-sync-policies"});
  CHECK(second.requests == static_cast<int>(rig.transport->requests.size() - before));
  CHECK(logs.lines("entity_sync.version").size() == 1);

  // A failed read leaves the poll complete.
  rig.pc.sim.add_fault(pcsim::parse_fault("v4_entity_sync_policies:status=500"));
  auto failed = rig.poll();
  CHECK(failed.complete);
  CHECK(failed.entity_sync.state == drift::EntitySyncRead::State::Failed);
  CHECK(logs.lines("entity_sync.failed site=primary reason=server_error").size() == 1);
  CHECK(store::entity_sync(rig.store.db(), "primary")->state == drift::EntitySyncRead::State::Failed);
}

TEST_CASE("collector: a site that serves no entity sync is looked at again only after a while",
          "[unit][collector][entity_sync]") {
  Rig rig;
  rig.pc.sim.set_v4_namespace_version("datapolicies", "v4.0");
  auto first = rig.poll();
  CHECK(first.entity_sync.state == drift::EntitySyncRead::State::NotServed);
  CHECK(entity_sync_requests(rig, 0).size() == 3);  // v4.3, v4.2, v4.1

  auto before = rig.transport->requests.size();
  auto second = rig.poll();
  CHECK(second.entity_sync.state == drift::EntitySyncRead::State::NotRead);
  CHECK(entity_sync_requests(rig, before).empty());

  // Upgraded, and the wait over: found.
  rig.pc.sim.set_v4_namespace_version("datapolicies", "");
  rig.collector->entity_sync_recheck = std::chrono::milliseconds(0);
  auto third = rig.poll();
  CHECK(third.entity_sync.state == drift::EntitySyncRead::State::Complete);
  CHECK(third.entity_sync.version == "v4.3");
}

TEST_CASE("collector: v3 polls read no entity sync", "[unit][collector][entity_sync]") {
  Rig rig;
  rig.pc.sim.set_v4_namespace_version("microseg", "none");
  auto report = rig.poll();
  CHECK(report.api == config::Api::V3);
  CHECK(report.entity_sync.state == drift::EntitySyncRead::State::NotRead);
  CHECK(entity_sync_requests(rig, 0).empty());
  CHECK_FALSE(store::entity_sync(rig.store.db(), "primary"));
}

namespace {


// The rig's collector again, reading VM coverage after every complete poll.
void read_coverage_every_poll(Rig& rig) {
  auto site = rig.collector->site();
  site.vm_coverage_interval = std::chrono::milliseconds(0);
  auto t = rig.pc.new_transport();
  rig.transport = t.get();
  rig.collector = std::make_unique<scheduler::Collector>(rig.io.get_executor(), site, kPassword,
                                                         std::move(t), rig.store);
}

std::size_t vm_list_requests(const Rig& rig, std::size_t from) {
  std::size_t n = 0;
  for (std::size_t i = from; i < rig.transport->requests.size(); ++i) {
    const std::string path(rig.transport->requests[i].path());
    if (path.find("/ahv/config/vms") != std::string::npos || path.find("/vms/list") != std::string::npos) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("collector: VM coverage is read after a complete poll when due, stored, and a failed "
          "read keeps what was read",
          "[unit][collector][coverage]") {
  using State = drift::CoverageRead::State;
  Rig rig;
  set_coverage(rig.pc.sim, nlohmann::json::parse(R"({
    "vms": [{"name": "vm-a", "categories": {}}, {"name": "vm-b", "categories": {}}],
    "recovery_plans": [{"name": "rp", "vms": ["vm-a"]}]})"));
  auto first = rig.poll();
  REQUIRE(first.coverage.state == State::Complete);
  CHECK(first.coverage.api == "vmm v4.3, datapolicies v4.3");
  CHECK(first.coverage.vms == 2);
  REQUIRE(first.coverage.data.vms.size() == 1);  // only the protected one is kept
  CHECK(first.coverage.data.vms[0].name == "vm-a");
  auto stored = store::coverage(rig.store.db(), "primary");
  REQUIRE(stored);
  CHECK(stored->data == first.coverage.data);

  // Not due again within vm_coverage_interval (5 min by default): no VM list requested.
  auto before = rig.transport->requests.size();
  CHECK(rig.poll().coverage.state == State::NotRead);
  CHECK(vm_list_requests(rig, before) == 0);

  // Due after every poll with an interval of 0; a failed read changes nothing stored.
  read_coverage_every_poll(rig);
  rig.pc.sim.add_fault(pcsim::parse_fault("v4_vms:status=500"));
  auto failed = rig.poll();
  CHECK(failed.complete);
  CHECK(failed.coverage.state == State::Failed);
  CHECK(failed.coverage.reason == "server_error");
  stored = store::coverage(rig.store.db(), "primary");
  CHECK(stored->state == State::Failed);
  CHECK(stored->data == first.coverage.data);
  rig.pc.sim.clear_faults();
  CHECK(rig.poll().coverage.state == State::Complete);
}

TEST_CASE("collector: where v4 serves no VM list, VM coverage is read over v3 and none at all is "
          "not served",
          "[unit][collector][coverage]") {
  using State = drift::CoverageRead::State;
  Rig rig;
  rig.pc.sim.set_v4_namespace_version("vmm", "none");
  set_coverage(rig.pc.sim, nlohmann::json::parse(R"({
    "vms": [{"name": "vm-a", "categories": {"Env": "Prod"}}],
    "protection_rules": [{"name": "gold", "categories": {"Env": ["Prod"]}}]})"));
  auto first = rig.poll();
  REQUIRE(first.coverage.state == State::Complete);
  CHECK(first.coverage.api == "v3");
  REQUIRE(first.coverage.data.vms.size() == 1);
  CHECK(first.coverage.data.vms[0].categories == std::vector<std::string>{"Env:Prod"});

  // Neither served (the v3 list answers 404 too): not served, and nothing stored is kept.
  read_coverage_every_poll(rig);
  rig.pc.sim.add_fault(pcsim::parse_fault("vms_list:status=404"));
  CHECK(rig.poll().coverage.state == State::NotServed);
  const auto stored = store::coverage(rig.store.db(), "primary");
  REQUIRE(stored);
  CHECK(stored->state == State::NotServed);
  CHECK(stored->data.vms.empty());
}
