// PairTracker: when a pair is compared, refused (time skew) or left alone (quiet cycle), and
// how debounce and expected differences play out over cycles in which nothing changed.
#include <catch2/catch.hpp>

#include <ctime>
#include <variant>

#include "../store/store_test_util.hpp"
#include "app/pairs.hpp"
#include "config/config.hpp"
#include "drift/rules.hpp"
#include "metrics/metrics.hpp"
#include "store/db.hpp"
#include "store/drift.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"
#include "support/canonical.hpp"
#include "support/metrics_text.hpp"

using namespace flowdrift;
namespace st = flowdrift::store::test;

namespace {

std::string site_yaml(const char* name) {
  return std::string("  - name: ") + name +
         "\n    url: https://pc.example\n    username: u\n    password_env: X\n";
}

struct Rig {
  flowdrift::test::TempDir dir;
  std::int64_t now_ms = 1'800'000'000'000;  // the tracker's clock: no test waits for real time
  config::Config config;
  store::Store store;
  metrics::Metrics metrics;
  app::PairTracker tracker;
  // Two sites alike but for one enforced policy missing on the replica: one critical item.
  policy::Snapshot full = st::numbered_snapshot(2);
  policy::Snapshot short_one = st::numbered_snapshot(1);

  explicit Rig(const std::string& pair_extra)
      : config(drift::parse_config("sites:\n" + site_yaml("primary") + site_yaml("dr") +
                                        "pairs:\n  - name: prod\n    source: primary\n"
                                        "    replica: dr\n" + pair_extra,
                                    "t")),
        store(dir.file("db.sqlite")),
        metrics({"primary", "dr"}, {{"prod", "primary", "dr"}}, 100, {{"test", "r", "b", "c"}, "s"}),
        tracker(config, store, metrics, [this] { return now_ms; }) {}

  void poll(const std::string& site, std::int64_t finished_ms, const policy::Snapshot& snap) {
    const auto rec = st::complete_poll(site, finished_ms);
    auto r = store.record_poll(rec, &snap, [&](store::Database& db, const store::PollOutcome& o) {
      tracker.in_transaction(db, rec, o, &snap);
    });
    REQUIRE(r.has_value());
    tracker.after_poll(true);
  }
  store::PairRecord pair() {
    auto r = store::pair_record(store.db(), "prod");
    REQUIRE(r.has_value());
    return *r;
  }
  std::vector<drift::Item> open_items() {
    store::DriftQuery q;
    q.open_only = true;
    return store::drift_items(store.db(), q);
  }
  std::int64_t events() { return st::count_rows(store.db(), "drift_events"); }
  // The primary polled with both policies, the DR a second later with one missing (the item);
  // returns the primary's poll time.
  std::int64_t diverge() {
    const std::int64_t t0 = 1'800'000'000'000;
    poll("primary", t0, full);
    poll("dr", t0 + 1'000, short_one);
    return t0;
  }
};

std::string utc(std::int64_t unix_ms) {
  const std::time_t t = unix_ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

TEST_CASE("snapshots polled further apart than max_skew are not compared", "[unit][app][pairs]") {
  Rig rig("    max_skew: 5m\n");
  const std::int64_t t0 = 1'800'000'000'000;
  rig.poll("primary", t0, rig.full);
  rig.poll("dr", t0 + 400'000, rig.short_one);  // 400 s after the primary's snapshot
  auto p = rig.pair();
  CHECK(p.status == "UNKNOWN");
  CHECK(p.reason == "snapshots polled more than max_skew (300.0s) apart");
  CHECK(p.skew_ms == 400'000);
  CHECK(rig.open_items().empty());  // nothing opens on snapshots of different moments
  CHECK(flowdrift::test::has_series(rig.metrics.render(), "flowdrift_pair_snapshot_skew_seconds{pair=\"prod\"}", 400));

  // The primary is polled again, close to the replica's poll: compared.
  rig.poll("primary", t0 + 401'500, rig.full);
  p = rig.pair();
  CHECK(p.status == "IN_SYNC");  // the item is pending (debounce 2)
  CHECK(p.skew_ms == 1'500);
  REQUIRE(rig.open_items().size() == 1);
  CHECK(rig.open_items()[0].pending());
}

TEST_CASE("debounce counts a comparison once both sites were polled again, then quiet cycles write nothing",
          "[unit][app][pairs]") {
  Rig rig("");
  const std::int64_t t0 = rig.diverge();
  REQUIRE(rig.open_items().size() == 1);
  CHECK(rig.open_items()[0].pending());
  CHECK(rig.pair().status == "IN_SYNC");
  auto text = rig.metrics.render();
  CHECK(flowdrift::test::has_series(text, "flowdrift_drift_pending_items{kind=\"missing\",pair=\"prod\",severity=\"critical\"}", 1));

  // The primary's next poll says nothing new about the DR side: still pending, seen once.
  rig.poll("primary", t0 + 2'000, rig.full);
  REQUIRE(rig.open_items().size() == 1);
  CHECK(rig.open_items()[0].pending());
  CHECK(rig.open_items()[0].seen == 1);
  // Both sites polled again since it opened, and it is still there: raised.
  rig.poll("dr", t0 + 3'000, rig.short_one);
  REQUIRE(rig.open_items().size() == 1);
  CHECK(rig.open_items()[0].alerting());
  CHECK(rig.open_items()[0].seen == 2);
  CHECK(rig.pair().status == "DRIFTED");
  text = rig.metrics.render();
  CHECK(flowdrift::test::has_series(text, "flowdrift_drift_items{kind=\"missing\",pair=\"prod\",severity=\"critical\"}", 1));

  // From now on quiet cycles write nothing: no event, no pair-state update.
  const auto events = rig.events();
  const auto updated = rig.pair().updated_ms;
  rig.poll("primary", t0 + 4'000, rig.full);
  rig.poll("dr", t0 + 5'000, rig.short_one);
  CHECK(rig.events() == events);
  CHECK(rig.pair().updated_ms == updated);
}

TEST_CASE("debounce: a one-poll flap on the DR site is never raised (the demo's timing)",
          "[unit][app][pairs]") {
  // The demo polls both sites every 2 s, the DR about 200 ms after the primary. The DR changes
  // for one poll only: the primary's poll 208 ms later is not a second sighting.
  Rig rig("");
  const std::int64_t t0 = 1'800'000'000'000;
  rig.poll("primary", t0, rig.full);
  rig.poll("dr", t0 + 200, rig.full);
  CHECK(rig.pair().status == "IN_SYNC");
  rig.poll("primary", t0 + 2'000, rig.full);
  rig.poll("dr", t0 + 2'200, rig.short_one);  // the flap: opened, pending
  REQUIRE(rig.open_items().size() == 1);
  rig.poll("primary", t0 + 2'408, rig.full);  // 208 ms later
  REQUIRE(rig.open_items().size() == 1);
  CHECK(rig.open_items()[0].pending());
  rig.poll("primary", t0 + 4'000, rig.full);
  CHECK(rig.open_items()[0].pending());
  rig.poll("dr", t0 + 4'200, rig.full);  // back as it was: resolved, never raised
  CHECK(rig.open_items().empty());
  CHECK(rig.pair().status == "IN_SYNC");
  const auto text = rig.metrics.render();
  CHECK(flowdrift::test::has_series(text, "flowdrift_drift_detected_total{kind=\"missing\",pair=\"prod\"}", 0));
  store::DriftQuery all;
  const auto items = store::drift_items(rig.store.db(), all);
  REQUIRE(items.size() == 1);
  CHECK_FALSE(items[0].raised_ms.has_value());
}

TEST_CASE("an expectation that expires turns its item into drift on a quiet cycle",
          "[unit][app][pairs]") {
  const std::int64_t expires_ms = 1'800'000'003'000;
  Rig rig("    debounce: {comparisons: 1}\n    expected:\n      - policy: p0001\n"
          "        kind: missing\n        owner: dr-team\n        reason: CHG-7\n"
          "        expires: " + utc(expires_ms) + "\n");
  const std::int64_t t0 = rig.diverge();
  REQUIRE(rig.open_items().size() == 1);
  CHECK(rig.open_items()[0].expected());
  CHECK(rig.pair().status == "IN_SYNC");
  auto text = rig.metrics.render();
  CHECK(flowdrift::test::has_series(text, "flowdrift_drift_expected_items{kind=\"missing\",pair=\"prod\",severity=\"critical\"}", 1));
  CHECK(flowdrift::test::has_series(text, "flowdrift_drift_items{kind=\"missing\",pair=\"prod\",severity=\"critical\"}", 0));
  const auto opened = rig.open_items()[0].opened_ms;

  // Still live: a quiet cycle changes nothing.
  const auto events = rig.events();
  rig.poll("primary", t0 + 2'000, rig.full);
  CHECK(rig.events() == events);

  rig.now_ms = expires_ms;                     // the expectation has just expired
  rig.poll("primary", t0 + 3'000, rig.full);  // nothing changed on either site
  REQUIRE(rig.open_items().size() == 1);
  CHECK(rig.open_items()[0].alerting());
  CHECK(rig.open_items()[0].opened_ms == opened);  // the same item, its history kept
  CHECK(rig.pair().status == "DRIFTED");
  auto ev = store::drift_events(rig.store.db(), rig.open_items()[0].id);
  REQUIRE_FALSE(ev.empty());
  CHECK(ev.back().event == "unexpected");
  CHECK(ev.back().detail.find("CHG-7") != std::string::npos);
}

TEST_CASE("reconfigure: a new expectation applies at the next poll though no snapshot changed",
          "[unit][app][pairs][reload]") {
  Rig rig("    debounce: {comparisons: 1}\n");
  const std::int64_t t0 = rig.diverge();
  REQUIRE(rig.open_items().size() == 1);
  CHECK(rig.open_items()[0].alerting());
  const auto item = rig.open_items()[0].id;

  auto next = drift::parse_config(
      "sites:\n" + site_yaml("primary") + site_yaml("dr") +
          "pairs:\n  - name: prod\n    source: primary\n    replica: dr\n"
          "    debounce: {comparisons: 1}\n    expected:\n      - policy: p0001\n"
          "        owner: dr-team\n        reason: CHG-9\n        expires: 2099-01-01\n",
      "t");
  rig.tracker.reconfigure(next, {}, {"prod"});
  CHECK(rig.metrics.render().find("flowdrift_expected_difference_expiry_timestamp_seconds{pair=\"prod\"") !=
        std::string::npos);
  rig.poll("primary", t0 + 2'000, rig.full);  // the same snapshot as before
  REQUIRE(rig.open_items().size() == 1);
  CHECK(rig.open_items()[0].id == item);  // the same item, now covered
  CHECK(rig.open_items()[0].expected());
  CHECK(rig.pair().status == "IN_SYNC");
}

TEST_CASE("reconfigure: an unchanged pair stays quiet, a reset site is not compared until polled",
          "[unit][app][pairs][reload]") {
  Rig rig("    debounce: {comparisons: 1}\n");
  const std::int64_t t0 = rig.diverge();
  REQUIRE(rig.pair().status == "DRIFTED");
  const auto updated = rig.pair().updated_ms;
  const auto events = rig.events();

  // Nothing about the pair changed: quiet cycles stay quiet after the reload.
  rig.tracker.reconfigure(rig.config, {}, {});
  rig.poll("primary", t0 + 2'000, rig.full);
  CHECK(rig.events() == events);
  CHECK(rig.pair().updated_ms == updated);

  // dr's connection changed (a new PC behind it, say): until dr is polled anew, a primary
  // poll must not be compared with dr's snapshot from before the change (here it would
  // match it and resolve the item).
  rig.tracker.reconfigure(rig.config, {"dr"}, {});
  rig.poll("primary", t0 + 3'000, rig.short_one);
  CHECK(rig.events() == events);
  CHECK(rig.pair().status == "DRIFTED");
  // dr polled as newly configured: compared again, now in sync.
  rig.poll("dr", t0 + 4'000, rig.short_one);
  CHECK(rig.pair().status == "IN_SYNC");
  CHECK(rig.open_items().empty());
}

TEST_CASE("VM coverage: a comparison opens a gap for a protected VM the replica would not secure and "
          "a flip checks from the site serving then",
          "[unit][app][pairs][coverage]") {
  Rig rig("");
  auto category = [](const std::string& kv) {
    return flowdrift::test::canonical_object(policy::ObjectKind::Category, kv, nlohmann::json{{"name", kv}});
  };
  auto policy = [](const std::string& name) {
    return flowdrift::test::canonical_object(
        policy::ObjectKind::Policy,
        flowdrift::test::app_policy_json(name, {{"subnet", "10.0.0.0/24"}}, "AppType:Web"));
  };
  // The DR site lost the category value its web policy secures.
  const auto primary = flowdrift::test::canonical_snapshot({policy("web"), category("AppType:Web")});
  const auto dr = flowdrift::test::canonical_snapshot({policy("web")});
  drift::CoverageRead read;
  read.state = drift::CoverageRead::State::Complete;
  read.api = "v3";
  read.vms = 2;
  read.data = drift::protected_only({{{"u-1", "web-01", {"AppType:Web", "DR:Gold"}}, {"u-2", "other", {}}},
                                     {{"protection_policy", "gold", {"DR:Gold"}, false, {}}}});
  store::record_coverage(rig.store.db(), "primary", read, rig.now_ms);
  rig.poll("primary", rig.now_ms, primary);
  rig.poll("dr", rig.now_ms + 1'000, dr);
  auto gaps = store::open_gaps(rig.store.db(), "prod");
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].gap.vm == "web-01");
  CHECK(gaps[0].gap.kind == drift::CoverageGap::Kind::Unprotected);
  CHECK(gaps[0].gap.missing_categories == std::vector<std::string>{"AppType:Web"});
  CHECK(flowdrift::test::has_series(rig.metrics.render(),
                                    "flowdrift_vm_coverage_gaps{kind=\"unprotected\",pair=\"prod\"}", 1));
  // Quiet cycles: the same gap, no new row.
  rig.poll("primary", rig.now_ms + 2'000, primary);
  CHECK(st::count_rows(rig.store.db(), "coverage_gaps") == 1);

  // Failed over, the DR site serves: it has no coverage read, so no gap; failing back brings
  // the primary's VMs back into the check.
  auto flip = [&](const std::string& action) {
    const auto asked = store::check_flip(rig.store.db(), rig.config.pairs[0],
                                         {action, "drill", "sre", "cli", rig.now_ms});
    REQUIRE(std::holds_alternative<store::FlipRecord>(asked));
    store::request_flip(rig.store.db(), std::get<store::FlipRecord>(asked));
    const auto done = rig.tracker.apply_flips();
    REQUIRE(done.size() == 1);
    CHECK(done[0].outcome == "applied");
  };
  flip("failover");
  CHECK(store::open_gaps(rig.store.db(), "prod").empty());
  CHECK(flowdrift::test::has_series(rig.metrics.render(),
                                    "flowdrift_vm_coverage_gaps{kind=\"unprotected\",pair=\"prod\"}", 0));
  flip("failback");
  REQUIRE(store::open_gaps(rig.store.db(), "prod").size() == 1);
  CHECK(st::count_rows(rig.store.db(), "coverage_gaps") == 2);
}
