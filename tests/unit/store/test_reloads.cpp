// The configuration audit trail (config_reloads, schema version 4).
#include <catch2/catch.hpp>

#include "store/db.hpp"
#include "store/reloads.hpp"
#include "store/retention.hpp"
#include "store/store.hpp"
#include "store_test_util.hpp"

using namespace flowdrift::store;

TEST_CASE("config reload rows round-trip in order, hash optional", "[unit][store][reload]") {
  Store store(":memory:");
  ConfigReload start;
  start.at_ms = 1000;
  start.trigger = "start";
  start.ok = true;
  start.file = "/etc/flowdrift/flowdrift.yaml";
  start.sha256 = std::string(64, 'a');
  start.summary = "2 sites, 1 pairs";
  ConfigReload failed = start;
  failed.at_ms = 2000;
  failed.trigger = "SIGHUP";
  failed.ok = false;
  failed.sha256.reset();
  failed.summary = "flowdrift.yaml:7:13: sites[0].jitter: must be a number\nsecond problem";
  const auto id1 = record_config_reload(store.db(), start);
  const auto id2 = record_config_reload(store.db(), failed);
  CHECK(id2 > id1);

  const auto rows = config_reloads(store.db());
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].id == id1);
  CHECK(rows[0].trigger == "start");
  CHECK(rows[0].ok);
  CHECK(rows[0].sha256 == start.sha256);
  CHECK(rows[0].summary == start.summary);
  CHECK(rows[1].at_ms == 2000);
  CHECK(rows[1].trigger == "SIGHUP");
  CHECK_FALSE(rows[1].ok);
  CHECK_FALSE(rows[1].sha256.has_value());
  CHECK(rows[1].summary == failed.summary);
  CHECK(rows[1].file == start.file);
}

TEST_CASE("config reload rows refuse an unknown trigger", "[unit][store][reload]") {
  Store store(":memory:");
  ConfigReload r;
  r.trigger = "cron";
  r.file = "x";
  CHECK_THROWS_AS(record_config_reload(store.db(), r), StoreError);
  CHECK(test::count_rows(store.db(), "config_reloads") == 0);
}

TEST_CASE("retention prunes old config reload rows but keeps the latest",
          "[unit][store][reload][retention]") {
  Store store(":memory:");
  ConfigReload r;
  r.trigger = "http";
  r.ok = true;
  r.file = "flowdrift.yaml";
  r.summary = "no changes";
  for (std::int64_t t : {1000, 2000, 3000, 4000}) {
    r.at_ms = t;
    record_config_reload(store.db(), r);
  }
  // A cutoff past every row: all but the newest go (it says how the running config came about).
  auto stats = prune(store.db(), 10000, 2);
  CHECK(stats.deleted["config_reloads"] == 3);
  auto rows = config_reloads(store.db());
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].at_ms == 4000);
  // Rows inside the window stay; the old one goes once a newer row says what runs.
  for (std::int64_t t : {20000, 30000}) {
    r.at_ms = t;
    record_config_reload(store.db(), r);
  }
  CHECK(prune(store.db(), 10000, 2).deleted["config_reloads"] == 1);
  rows = config_reloads(store.db());
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].at_ms == 20000);
}
