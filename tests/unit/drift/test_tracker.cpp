// drift::Tracker without a database or a clock: when a pair is compared, refused for skew,
// marked UNKNOWN, or left alone, and what it remembers once a decision is committed.
#include <catch2/catch.hpp>

#include "drift/rules.hpp"
#include "drift/tracker.hpp"

using namespace flowdrift;
using drift::Decision;
using Action = drift::Decision::Action;

namespace {

constexpr std::int64_t kT0 = 1'800'000'000'000;

config::Config two_sites(const std::string& pair_extra) {
  auto site = [](const char* name) {
    return std::string("  - name: ") + name +
           "\n    url: https://pc.example\n    username: u\n    password_env: X\n";
  };
  return drift::parse_config("sites:\n" + site("primary") + site("dr") +
                                 "pairs:\n  - name: prod\n    source: primary\n"
                                 "    replica: dr\n" + pair_extra,
                             "t");
}

struct Rig {
  config::Config config;
  drift::Tracker tracker;
  std::int64_t poll_id = 0;

  explicit Rig(const std::string& extra = "    max_skew: 5m\n") : config(two_sites(extra)) {
    for (const auto& s : config.sites) tracker.add_site(s.name);
    tracker.add_pair(config.pairs.at(0), std::nullopt);
  }

  drift::SitePoll complete(const std::string& site, std::int64_t at, std::int64_t snapshot) {
    return {site, true, "ok", snapshot, at, ++poll_id};
  }
  // Decides and commits, each Compare storing `status` with `pending` items.
  std::vector<Decision> poll(const drift::SitePoll& p, std::int64_t now,
                             diff::PairStatus status = diff::PairStatus::InSync,
                             int pending = 0) {
    auto ds = tracker.decide(p, now);
    std::vector<drift::Compared> compared;
    for (const auto& d : ds) {
      if (d.action == Action::Compare) compared.push_back({status, pending, {}});
    }
    tracker.commit(p, ds, compared);
    return ds;
  }
  const drift::Tracker::Pair& pair() const { return tracker.pair("prod"); }
};

}  // namespace

TEST_CASE("tracker: nothing is decided until both sites were polled since start",
          "[unit][drift][tracker]") {
  Rig rig;
  CHECK(rig.pair().status == diff::PairStatus::Unknown);
  CHECK(rig.pair().reason == "not compared yet");
  CHECK(rig.poll(rig.complete("primary", kT0, 1), kT0).empty());
  auto ds = rig.poll(rig.complete("dr", kT0 + 1'000, 2), kT0 + 1'000);
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].action == Action::Compare);
  CHECK(ds[0].source_snapshot == 1);
  CHECK(ds[0].replica_snapshot == 2);
  CHECK_FALSE(ds[0].polled_source);
  CHECK(ds[0].skew_ms == 1'000);
  CHECK(ds[0].comparison.polls.source_poll == 1);
  CHECK(ds[0].comparison.polls.replica_poll == 2);
  CHECK(ds[0].comparison.debounce.comparisons == 2);
  CHECK(rig.pair().status == diff::PairStatus::InSync);
}

TEST_CASE("tracker: snapshots polled further apart than max_skew are refused, once",
          "[unit][drift][tracker]") {
  Rig rig;
  rig.poll(rig.complete("primary", kT0, 1), kT0);
  auto ds = rig.poll(rig.complete("dr", kT0 + 400'000, 2), kT0 + 400'000);
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].action == Action::Unknown);
  CHECK(ds[0].reason == "snapshots polled more than max_skew (300.0s) apart");
  CHECK(ds[0].skew_ms == 400'000);
  CHECK(rig.pair().status == diff::PairStatus::Unknown);
  // Still skewed at the next poll of the replica: the same refusal is not decided again.
  CHECK(rig.poll(rig.complete("dr", kT0 + 460'000, 2), kT0 + 460'000).empty());
  // The primary is polled close to the replica's poll: compared.
  ds = rig.poll(rig.complete("primary", kT0 + 461'500, 1), kT0 + 461'500);
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].action == Action::Compare);
  CHECK(ds[0].skew_ms == 1'500);
  CHECK(ds[0].polled_source);
}

TEST_CASE("tracker: a failed poll makes the pair UNKNOWN with the site's reason",
          "[unit][drift][tracker]") {
  Rig rig;
  rig.poll(rig.complete("primary", kT0, 1), kT0);
  rig.poll(rig.complete("dr", kT0 + 1'000, 2), kT0 + 1'000);
  const drift::SitePoll failed{"dr", false, "timeout", std::nullopt, kT0 + 61'000, 9};
  auto ds = rig.poll(failed, kT0 + 61'000);
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].action == Action::Unknown);
  CHECK(ds[0].reason == "site dr: timeout");
  // The other side's complete poll still cannot be compared with a failed one.
  ds = rig.poll(rig.complete("primary", kT0 + 62'000, 1), kT0 + 62'000);
  CHECK(ds.empty());  // same reason: nothing new to write
  CHECK(rig.pair().reason == "site dr: timeout");
}

TEST_CASE("tracker: quiet cycles are skipped unless an item is pending or an expectation "
          "changes liveness",
          "[unit][drift][tracker]") {
  Rig rig("    max_skew: 5m\n    expected:\n      - policy: web\n        owner: a\n"
          "        reason: r\n        expires: 2027-01-15\n");
  REQUIRE(rig.pair().rules.expected.size() == 1);
  const auto end = rig.pair().rules.expected[0].expires_ms;  // 2027-01-16T00:00:00Z
  REQUIRE(end > kT0 + 3'000);
  rig.poll(rig.complete("primary", kT0, 1), kT0);
  REQUIRE(rig.poll(rig.complete("dr", kT0 + 1'000, 2), kT0 + 1'000, diff::PairStatus::InSync, 1)
              .size() == 1);
  // A pending item: the next poll compares again though nothing changed.
  REQUIRE(rig.poll(rig.complete("primary", kT0 + 2'000, 1), kT0 + 2'000).size() == 1);
  // Nothing pending, nothing changed: quiet.
  CHECK(rig.poll(rig.complete("dr", kT0 + 3'000, 2), kT0 + 3'000).empty());
  // Liveness is judged at `now`, the skew by when the polls finished.
  CHECK(rig.poll(rig.complete("primary", kT0 + 4'000, 1), end - 1).empty());
  // The expectation expires: compared again with nothing else changed.
  auto ds = rig.poll(rig.complete("dr", kT0 + 5'000, 2), end);
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].live == std::vector<bool>{false});
  CHECK(ds[0].comparison.now_ms == end);
  // A changed snapshot is compared.
  CHECK(rig.poll(rig.complete("primary", kT0 + 6'000, 3), end + 1).size() == 1);
}

TEST_CASE("tracker: reconfigure resets sites and restarts reversed pairs",
          "[unit][drift][tracker]") {
  Rig rig;
  rig.poll(rig.complete("primary", kT0, 1), kT0);
  rig.poll(rig.complete("dr", kT0 + 1'000, 2), kT0 + 1'000);
  auto touched = rig.tracker.reconfigure(rig.config, {"dr"}, {}, [](const std::string&) {
    return std::optional<drift::StoredPair>{};
  });
  CHECK(touched.empty());
  // The reset site counts as not polled: no decision until it is polled again.
  CHECK(rig.poll(rig.complete("primary", kT0 + 2'000, 5), kT0 + 2'000).empty());
  CHECK(rig.poll(rig.complete("dr", kT0 + 3'000, 2), kT0 + 3'000).size() == 1);

  auto reversed = two_sites("    max_skew: 5m\n");
  std::swap(reversed.pairs[0].source, reversed.pairs[0].replica);
  touched = rig.tracker.reconfigure(reversed, {}, {}, [](const std::string&) {
    return std::optional<drift::StoredPair>{};
  });
  CHECK(touched == std::vector<std::string>{"prod"});
  CHECK(rig.pair().id.source_site == "dr");
  CHECK(rig.pair().status == diff::PairStatus::Unknown);
}
