// Retention: pruning rows older than the window never changes an answer inside the window,
// never touches the live snapshot or what an open drift item needs, leaves no dangling
// reference, and a second pass finds nothing.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "store/db.hpp"
#include "store/drift.hpp"
#include "store/retention.hpp"
#include "store/store.hpp"
#include "store_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using namespace flowdrift::store;
namespace st = flowdrift::store::test;

namespace {

constexpr std::int64_t kDay = 86'400'000;
constexpr std::int64_t kT0 = 1'800'000'000'000;

// schema.md query 1: the policies of `site` at time `t` (name|hash lines).
std::string policies_at(Database& db, const std::string& site, std::int64_t t) {
  auto q = db.prepare(
      "SELECT o.name, o.hash FROM snapshot_objects AS so JOIN objects AS o ON o.id = so.object_id "
      "WHERE o.kind = 'policy' AND so.snapshot_id = (SELECT p.snapshot_id FROM polls AS p "
      "JOIN sites AS s ON s.id = p.site_id WHERE s.name = ?1 AND p.outcome = 'complete' "
      "AND p.finished_ms <= ?2 ORDER BY p.finished_ms DESC, p.id DESC LIMIT 1) ORDER BY o.name");
  q.bind(1, site).bind(2, t);
  std::string out;
  while (q.step()) out += q.column_text(0) + "|" + q.column_text(1) + "\n";
  return out;
}

diff::DriftItem missing(const std::string& policy) {
  diff::DriftItem d;
  d.object = policy;
  d.kind = diff::DriftKind::Missing;
  d.severity = diff::Severity::Critical;
  d.summary = policy + " missing";
  return d;
}

struct History {
  flowdrift::test::TempDir dir;
  Store store{dir.file("db.sqlite")};
  policy::Snapshot v1 = st::numbered_snapshot(3, "v1");
  policy::Snapshot v2 = st::numbered_snapshot(3, "v2");
  policy::Snapshot dr_only = st::make_snapshot({st::make_policy("only-in-march", "x")});
  std::map<std::string, std::map<int, std::int64_t>> poll_ids;  // site -> day -> poll id
  std::map<std::string, std::map<int, std::int64_t>> snap_ids;

  // 100 days, one complete and one failed poll per site per day. The primary changes on day
  // 50; the DR site holds a one-off snapshot on days 30-39.
  History() {
    for (int day = 0; day < 100; ++day) {
      for (const std::string site : {"primary", "dr"}) {
        const policy::Snapshot* s = &v1;
        if (site == "primary" && day >= 50) s = &v2;
        if (site == "dr" && day >= 30 && day < 40) s = &dr_only;
        auto o = store.record_poll(st::complete_poll(site, kT0 + day * kDay), s);
        REQUIRE(o.has_value());
        poll_ids[site][day] = o->poll_id;
        snap_ids[site][day] = *o->snapshot_id;
        REQUIRE(store.record_poll(st::failed_poll(site, kT0 + day * kDay + 1000), nullptr));
      }
    }
  }
  void drift(const std::vector<diff::DriftItem>& items, int day) {
    diff::PairResult r;
    r.items = items;
    ComparisonContext ctx;
    ctx.poll_id = poll_ids["dr"][day];
    ctx.source_snapshot_id = snap_ids["primary"][day];
    ctx.replica_snapshot_id = snap_ids["dr"][day];
    ctx.now_ms = kT0 + day * kDay;
    Transaction tx(store.db());
    st::store_comparison(store.db(), {"prod", "primary", "dr"}, r, ctx, {});
    tx.commit();
  }
  std::int64_t rows(const std::string& table) { return st::count_rows(store.db(), table); }
};

}  // namespace

TEST_CASE("retention prunes old rows without changing any answer inside the window",
          "[unit][store][retention]") {
  History h;
  // "old": open day 5, resolved day 10 (before the window). "long": open day 5, still open.
  // "recent": open day 60, resolved day 95.
  h.drift({missing("old"), missing("long")}, 5);
  h.drift({missing("long")}, 10);
  h.drift({missing("long"), missing("recent")}, 60);
  h.drift({missing("long")}, 95);
  const std::int64_t cutoff = kT0 + 70 * kDay + 500;  // window: the last 30 days

  std::map<std::int64_t, std::string> before;
  for (std::int64_t t = cutoff; t <= kT0 + 100 * kDay; t += kDay / 4) {
    before[t] = policies_at(h.store.db(), "primary", t) + "/" + policies_at(h.store.db(), "dr", t);
  }
  const auto polls_before = h.rows("polls");
  const auto objects_before = h.rows("objects");
  REQUIRE(polls_before == 400);

  const auto stats = prune(h.store.db(), cutoff, 50);
  CHECK(stats.transactions > 4);  // small batches, many transactions

  // Every answer inside the window is unchanged.
  for (const auto& [t, answer] : before) {
    INFO("t = " << t);
    CHECK(policies_at(h.store.db(), "primary", t) + "/" + policies_at(h.store.db(), "dr", t) ==
          answer);
  }
  // Polls: the window's 2 x 30 x 2, each site's last complete poll before the cutoff, and the
  // polls the kept drift items name (day 5 and 60 openings, day 95 resolution, and events).
  CHECK(h.rows("polls") < polls_before);
  CHECK(stats.deleted.at("polls") == polls_before - h.rows("polls"));
  CHECK(h.rows("polls") >= 120 + 2);
  CHECK(h.rows("polls") <= 120 + 2 + 4);
  // The old resolved item is gone with its events; the others are intact.
  DriftQuery all;
  std::set<std::string> kept;
  for (const auto& it : drift_items(h.store.db(), all)) kept.insert(it.object);
  CHECK(kept == std::set<std::string>{"long", "recent"});
  CHECK(h.store.db().query_int64("SELECT count(*) FROM drift_events e LEFT JOIN drift_items d "
                                 "ON d.id = e.item_id WHERE d.id IS NULL") == 0);
  // The open item still finds its opening poll and its snapshots.
  CHECK(h.store.db().query_int64(
            "SELECT count(*) FROM drift_items d JOIN polls p ON p.id = d.opened_poll_id "
            "JOIN snapshots s ON s.id = d.source_snapshot_id "
            "WHERE d.object = 'long' AND d.resolved_ms IS NULL") == 1);
  // The DR's one-off March snapshot and the policy version only it held are gone.
  CHECK(h.store.db().query_int64("SELECT count(*) FROM objects WHERE name = 'only-in-march'") == 0);
  CHECK(h.rows("objects") < objects_before);
  // Nothing dangles.
  CHECK(h.store.db().query_int64("SELECT count(*) FROM pragma_foreign_key_check") == 0);
  // The live snapshots load as before, also after a restart.
  CHECK(h.store.load_snapshot(h.store.latest_complete_snapshot("primary")->id).hash == h.v2.hash);
  {
    Store again(h.dir.file("db.sqlite"));
    CHECK(again.latest_complete_snapshot("dr")->hash == h.v1.hash);
    // The pruned content can come back: stored anew.
    REQUIRE(again.record_poll(st::complete_poll("dr", kT0 + 101 * kDay), &h.dr_only));
    CHECK(again.latest_complete_snapshot("dr")->hash == h.dr_only.hash);
  }
  // A second pass finds nothing left to prune.
  CHECK(prune(h.store.db(), cutoff, 50).total() == 0);
}

TEST_CASE("retention keeps a silent site's last snapshot however old", "[unit][store][retention]") {
  History h;
  // Cutoff after every poll: only each site's latest complete poll (and its snapshot) stays.
  prune(h.store.db(), kT0 + 200 * kDay);
  CHECK(h.rows("polls") == 2);
  CHECK(h.rows("snapshots") == 2);
  CHECK(policies_at(h.store.db(), "primary", kT0 + 200 * kDay) ==
        policies_at(h.store.db(), "primary", kT0 + 99 * kDay));
  CHECK(h.store.load_snapshot(h.store.latest_complete_snapshot("primary")->id).hash == h.v2.hash);
  CHECK(h.store.db().query_int64("SELECT count(*) FROM pragma_foreign_key_check") == 0);
}
