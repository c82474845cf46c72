#include <catch2/catch.hpp>

#include "store/history.hpp"
#include "store/store.hpp"
#include "store_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift::store;
using namespace flowdrift::store::test;
using flowdrift::test::TempDir;

namespace {

flowdrift::policy::Snapshot site_with(const std::string& web_body, bool with_db = true) {
  std::vector<flowdrift::policy::CanonicalObject> objs{make_policy("web", web_body)};
  if (with_db) objs.push_back(make_policy("db", "db-v1"));
  return make_snapshot(std::move(objs));
}

}  // namespace

TEST_CASE("history: every version of a policy with first and last seen, a return to an old version spans it",
          "[store][history]") {
  TempDir dir;
  Store store(dir.file("history.db"));
  const auto v1 = site_with("v1");
  const auto v2 = site_with("v2");
  const auto v2_without_db = site_with("v2", false);
  REQUIRE(store.record_poll(complete_poll("primary", 1000), &v1).has_value());
  REQUIRE(store.record_poll(complete_poll("primary", 2000), &v1).has_value());
  REQUIRE(store.record_poll(complete_poll("primary", 3000), &v2).has_value());
  REQUIRE(store.record_poll(failed_poll("primary", 3500), nullptr).has_value());  // not a state
  REQUIRE(store.record_poll(complete_poll("primary", 4000), &v1).has_value());    // back to v1
  REQUIRE(store.record_poll(complete_poll("primary", 5000), &v2_without_db).has_value());
  REQUIRE(store.record_poll(complete_poll("dr", 1500), &v1).has_value());

  auto all = policy_history(store.db(), {});
  REQUIRE(all.size() == 5);  // dr: db, web (v1); primary: db, web v1, web v2

  HistoryQuery q;
  q.site = "primary";
  q.policy = "web";
  auto web = policy_history(store.db(), q);
  REQUIRE(web.size() == 2);
  CHECK(web[0].hash == v1.objects[1].hash);  // objects sorted by name: db, web
  CHECK(web[0].first_seen_ms == 1000);
  CHECK(web[0].last_seen_ms == 4000);
  CHECK_FALSE(web[0].current);
  CHECK(web[1].first_seen_ms == 3000);
  CHECK(web[1].last_seen_ms == 5000);
  CHECK(web[1].current);
  CHECK(web[1].mode == "enforce");

  q.policy = "db";
  auto db = policy_history(store.db(), q);
  REQUIRE(db.size() == 1);
  CHECK(db[0].last_seen_ms == 4000);
  CHECK_FALSE(db[0].current);  // gone from the latest snapshot

  HistoryQuery dr;
  dr.site = "dr";
  auto on_dr = policy_history(store.db(), dr);
  REQUIRE(on_dr.size() == 2);
  CHECK(on_dr[0].policy == "db");
  CHECK(on_dr[1].current);
  CHECK(on_dr[1].first_seen_ms == 1500);

  HistoryQuery none;
  none.policy = "no-such-policy";
  CHECK(policy_history(store.db(), none).empty());
}
