// The collector and its memo's texts (docs/design/memory.md), against a simulated PC and a real
// store: once a poll is stored the memo lets its canonical texts go, so later snapshots reach
// the store and the pair hook without the texts of unchanged policies; the store still has
// every text, and a store that lost them refuses one poll and the memo is built anew.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "core/sha256.hpp"
#include "scheduler/collector.hpp"
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

// What the pair hook saw of a snapshot: the policies that came with their text.
struct Seen {
  std::string hash;
  std::vector<std::string> with_text;
  std::size_t policies = 0;
};

struct Rig {
  asio::io_context io;
  TempDir dir;
  store::Store store{dir.file("flowdrift.db")};
  SimulatedPc pc{site_data(5), pc_options()};
  std::unique_ptr<scheduler::Collector> collector;
  std::vector<Seen> seen;  // per complete poll, as the hook got it

  explicit Rig(config::Api api) {
    config::SiteConfig cfg;
    cfg.name = "primary";
    cfg.url = "https://pc.example:9440";
    cfg.api = api;
    cfg.credentials.username = "admin";
    scheduler::PollHooks hooks;
    hooks.in_transaction = [this](store::Database&, const store::PollRecord&,
                                  const store::PollOutcome&, const policy::Snapshot* snap) {
      if (snap == nullptr) return;
      Seen s{snap->hash, {}, snap->count(policy::ObjectKind::Policy)};
      for (const auto& o : snap->objects) {
        if (o.kind == policy::ObjectKind::Policy && o.has_text) s.with_text.push_back(o.name);
      }
      seen.push_back(std::move(s));
    };
    collector = std::make_unique<scheduler::Collector>(io.get_executor(), cfg, kPassword,
                                                       pc.new_transport(), store, hooks);
  }

  scheduler::PollReport poll() {
    scheduler::PollReport report;
    io.restart();
    asio::co_spawn(io, run_poll(collector.get(), &report), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    io.run();
    return report;
  }

  // The stored snapshot of the latest complete poll, every text loaded.
  policy::Snapshot latest() {
    return store.load_snapshot(store.latest_complete_snapshot("primary")->id);
  }
};

}  // namespace

TEST_CASE("collector: a stored poll's texts are let go, later snapshots carry only new ones",
          "[unit][collector][memory]") {
  const auto api = GENERATE(config::Api::V3, config::Api::V4);
  CAPTURE(config::to_string(api));
  Rig rig(api);
  REQUIRE(rig.poll().stored);
  REQUIRE(rig.seen.size() == 1);
  CHECK(rig.seen[0].with_text.size() == 5);  // the first poll canonicalized everything

  REQUIRE(rig.poll().stored);  // quiet
  REQUIRE(rig.seen.size() == 2);
  CHECK(rig.seen[1].hash == rig.seen[0].hash);
  CHECK(rig.seen[1].with_text.empty());
  CHECK(rig.seen[1].policies == 5);

  REQUIRE(rig.pc.sim.edit_rule("rule-00002",
                               [](nlohmann::json& spec) { spec["description"] = "changed"; }));
  const auto changed = rig.poll();
  REQUIRE(changed.stored);
  CHECK(changed.snapshot_changed);
  REQUIRE(rig.seen.size() == 3);
  CHECK(rig.seen[2].with_text == std::vector<std::string>{"rule-00002"});

  // The store has every text of the snapshot the hook saw without them.
  const auto stored = rig.latest();
  CHECK(stored.hash == rig.seen[2].hash);
  CHECK(stored.has_all_texts());
  for (const auto& o : stored.objects) {
    INFO(o.name);
    CHECK(sha256_hex(o.json) == o.hash);
  }
  const auto it = std::find_if(stored.objects.begin(), stored.objects.end(),
                               [](const auto& o) { return o.name == "rule-00002"; });
  REQUIRE(it != stored.objects.end());
  CHECK(it->json.find("changed") != std::string::npos);
}

TEST_CASE("collector: a store that lost the texts refuses one poll, and the memo is built anew",
          "[unit][collector][memory]") {
  const auto api = GENERATE(config::Api::V3, config::Api::V4);
  CAPTURE(config::to_string(api));
  Rig rig(api);
  REQUIRE(rig.poll().stored);
  const auto before = rig.latest();
  // A hand-edited database: the stored policies are gone, snapshots and all.
  auto& db = rig.store.db();
  db.exec("PRAGMA foreign_keys = OFF");
  db.exec("DELETE FROM snapshot_objects");
  db.exec("DELETE FROM objects");
  db.exec("PRAGMA foreign_keys = ON");
  REQUIRE(rig.pc.sim.edit_rule("rule-00001",
                               [](nlohmann::json& spec) { spec["description"] = "changed"; }));

  const auto refused = rig.poll();
  CHECK(refused.complete);
  CHECK_FALSE(refused.stored);

  const auto rebuilt = rig.poll();
  REQUIRE(rebuilt.stored);
  REQUIRE(rig.seen.size() == 2);  // the refused poll never reached the hook
  CHECK(rig.seen[1].with_text.size() == 5);
  const auto stored = rig.latest();
  CHECK(stored.hash == rig.seen[1].hash);
  CHECK(stored.hash != before.hash);
  CHECK(stored.count(policy::ObjectKind::Policy) == 5);
}
