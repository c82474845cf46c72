#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "core/sha256.hpp"
#include "store/db.hpp"
#include "store/store.hpp"
#include "store_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift::store;
using namespace flowdrift::store::test;
using flowdrift::ErrorReason;
using flowdrift::policy::ObjectKind;
using flowdrift::test::TempDir;

namespace {

struct Counts {
  std::int64_t sites, objects, snapshots, members, findings, polls;
  bool operator==(const Counts&) const = default;
};

Counts counts(Database& db) {
  return {count_rows(db, "sites"),    count_rows(db, "objects"),
          count_rows(db, "snapshots"), count_rows(db, "snapshot_objects"),
          count_rows(db, "findings"),  count_rows(db, "polls")};
}

flowdrift::policy::Snapshot with_changed_policy(flowdrift::policy::Snapshot s,
                                                const std::string& name,
                                                const std::string& body) {
  for (auto& o : s.objects) {
    if (o.name == name) o = make_policy(name, body);
  }
  return make_snapshot(std::move(s.objects), std::move(s.findings));
}

// A store holding one complete poll of "primary" at 1 s (v1: `policies` numbered policies),
// the counts after it, and v2: v1 with policy `changed` changed.
struct AfterOnePoll {
  AfterOnePoll(int policies, const std::string& changed)
      : v1(numbered_snapshot(policies)), v2(with_changed_policy(v1, changed, "v2")) {
    auto r = store.record_poll(complete_poll("primary", 1000), &v1);
    REQUIRE(r.has_value());
    REQUIRE(r->snapshot_id.has_value());
    snapshot_id = *r->snapshot_id;
    before = counts(store.db());
  }
  TempDir dir;
  Store store{dir.file("store.db")};
  flowdrift::policy::Snapshot v1, v2;
  std::int64_t snapshot_id = 0;  // of the poll
  Counts before{};
};

std::int64_t db_bytes(Database& db) {
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return db.query_int64("PRAGMA page_count").value() * db.query_int64("PRAGMA page_size").value();
}

}  // namespace

TEST_CASE("Identical snapshots are stored once, a change adds only the changed object",
          "[store]") {
  TempDir dir;
  Store store(dir.file("dedup.db"));
  Database& db = store.db();
  const auto v1 = numbered_snapshot(10);

  auto r1 = store.record_poll(complete_poll("primary", 1000), &v1);
  REQUIRE(r1.has_value());
  CHECK(r1->changed);
  REQUIRE(r1->snapshot_id.has_value());
  CHECK(counts(db) == Counts{1, 11, 1, 11, 0, 1});

  auto r2 = store.record_poll(complete_poll("primary", 2000), &v1);
  REQUIRE(r2.has_value());
  CHECK_FALSE(r2->changed);
  CHECK(r2->snapshot_id == r1->snapshot_id);
  CHECK(r2->poll_id != r1->poll_id);
  CHECK(counts(db) == Counts{1, 11, 1, 11, 0, 2});

  const auto v2 = with_changed_policy(v1, "p0003", "v2");
  REQUIRE(v2.hash != v1.hash);
  auto r3 = store.record_poll(complete_poll("primary", 3000), &v2);
  REQUIRE(r3.has_value());
  CHECK(r3->changed);
  CHECK(r3->snapshot_id != r1->snapshot_id);
  CHECK(counts(db) == Counts{1, 12, 2, 22, 0, 3});  // exactly one new object row
  CHECK(db.query_int64("SELECT count(*) FROM objects WHERE name = 'p0003'") == 2);

  // Back to the first state: the old snapshot row is reused, nothing but the poll is added.
  auto r4 = store.record_poll(complete_poll("primary", 4000), &v1);
  REQUIRE(r4.has_value());
  CHECK(r4->changed);
  CHECK(r4->snapshot_id == r1->snapshot_id);
  CHECK(counts(db) == Counts{1, 12, 2, 22, 0, 4});

  // Another site with the same content gets its own snapshot row but shares the objects.
  auto r5 = store.record_poll(complete_poll("dr", 4100), &v1);
  REQUIRE(r5.has_value());
  CHECK(r5->changed);
  CHECK(r5->snapshot_id != r1->snapshot_id);
  CHECK(counts(db) == Counts{2, 12, 3, 33, 0, 5});

  auto ch = db.prepare("SELECT group_concat(changed, '') FROM (SELECT changed FROM polls ORDER BY id)");
  CHECK(ch.query_text() == "10111");
  auto latest = store.latest_complete_snapshot("primary");
  REQUIRE(latest.has_value());
  CHECK(latest->id == *r1->snapshot_id);
  CHECK(latest->hash == v1.hash);
  CHECK(latest->first_seen_ms == 1000);
  CHECK(latest->last_poll_ms == 4000);
  CHECK(latest->policy_count == 10);
  CHECK_FALSE(store.latest_complete_snapshot("nowhere").has_value());
}

TEST_CASE("A re-opened store knows each site's latest snapshot", "[store]") {
  TempDir dir;
  const std::string path = dir.file("cold.db");
  const auto v1 = numbered_snapshot(5);
  const auto v2 = with_changed_policy(v1, "p0001", "v2");
  std::int64_t v2_id = 0;
  {
    Store store(path);
    REQUIRE(store.record_poll(complete_poll("primary", 1000), &v1).has_value());
    auto r = store.record_poll(complete_poll("primary", 2000), &v2);
    REQUIRE(r.has_value());
    v2_id = *r->snapshot_id;
    REQUIRE(store.record_poll(failed_poll("primary", 3000), nullptr).has_value());
  }
  Store store(path);
  auto latest = store.latest_complete_snapshot("primary");
  REQUIRE(latest.has_value());
  CHECK(latest->id == v2_id);
  CHECK(latest->last_poll_ms == 2000);
  auto quiet = store.record_poll(complete_poll("primary", 4000), &v2);
  REQUIRE(quiet.has_value());
  CHECK_FALSE(quiet->changed);
  CHECK(test::count_rows(store.db(), "snapshots") == 2);
  auto back = store.record_poll(complete_poll("primary", 5000), &v1);
  REQUIRE(back.has_value());
  CHECK(back->changed);
}

TEST_CASE("A failed poll writes its poll row only and never changes the latest snapshot",
          "[store]") {
  AfterOnePoll f(4, "p0000");
  auto& [dir, store, v1, v2, snapshot_id, before] = f;
  Database& db = store.db();

  // Even if a caller passes a snapshot with a failed poll, it is not stored.
  auto failed = store.record_poll(failed_poll("primary", 2000, "truncated"), &v2);
  REQUIRE(failed.has_value());
  CHECK_FALSE(failed->snapshot_id.has_value());
  CHECK_FALSE(failed->changed);
  Counts after = before;
  after.polls += 1;
  CHECK(counts(db) == after);

  auto latest = store.latest_complete_snapshot("primary");
  REQUIRE(latest.has_value());
  CHECK(latest->id == snapshot_id);
  CHECK(latest->last_poll_ms == 1000);

  auto row = db.prepare(
      "SELECT outcome, reason, message, snapshot_id IS NULL, changed FROM polls WHERE id = ?1");
  row.bind(1, failed->poll_id);
  REQUIRE(row.step());
  CHECK(row.column_text(0) == "failed");
  CHECK(row.column_text(1) == "truncated");
  CHECK(row.column_text(2) == "request timed out after 30s");
  CHECK(row.column_int(3) == 1);
  CHECK(row.column_int(4) == 0);
  row.reset();

  // The next complete poll with the old content is not a change: failures are not states.
  auto again = store.record_poll(complete_poll("primary", 3000), &v1);
  REQUIRE(again.has_value());
  CHECK_FALSE(again->changed);

  // A site whose first poll fails has a site row and no snapshot.
  REQUIRE(store.record_poll(failed_poll("dr", 3100, "auth"), nullptr).has_value());
  CHECK_FALSE(store.latest_complete_snapshot("dr").has_value());
  CHECK(test::count_rows(db, "snapshots") == 1);
}

TEST_CASE("Poll messages are cut to fit 512 bytes on a UTF-8 boundary", "[store]") {
  TempDir dir;
  Store store(dir.file("message.db"));
  auto poll = failed_poll("primary", 1000, "malformed");
  poll.message = "x";
  for (int i = 0; i < 400; ++i) poll.message += "\xc3\xa9";  // é, two bytes each
  auto r = store.record_poll(poll, nullptr);
  REQUIRE(r.has_value());
  auto st = store.db().prepare("SELECT message FROM polls WHERE id = ?1");
  const auto stored = st.bind(1, r->poll_id).query_text().value();
  // 480 bytes of the message (an odd count would split the last é), then how much was cut.
  CHECK(stored == poll.message.substr(0, 479) + "...(+322 bytes)");
  CHECK(stored.size() <= 512);
}

TEST_CASE("Poll messages are made printable before they are stored", "[store][hostile]") {
  TempDir dir;
  Store store(dir.file("printable.db"));
  auto poll = failed_poll("primary", 1000, "malformed");
  poll.message = std::string("policies[0] (a\x1b[2J\r\nb\xff): bad", 28);
  auto r = store.record_poll(poll, nullptr);
  REQUIRE(r.has_value());
  auto st = store.db().prepare("SELECT message FROM polls WHERE id = ?1");
  CHECK(st.bind(1, r->poll_id).query_text().value() == "policies[0] (a\\x1b[2J\\r\\nb\\xff): bad");
}

TEST_CASE("An exception in `extra` rolls back everything of the poll", "[store]") {
  AfterOnePoll f(6, "p0002");
  auto& [dir, store, v1, v2, snapshot_id, before] = f;
  Database& db = store.db();

  bool saw_poll_row = false;
  auto failing = [&](Database& d, const PollOutcome& o) {
    // `extra` runs after the poll row, inside the same transaction.
    saw_poll_row =
        d.cached("SELECT count(*) FROM polls WHERE id = ?1").bind(1, o.poll_id).query_int64() == 1;
    throw std::runtime_error("drift bookkeeping failed");
  };
  auto r = store.record_poll(complete_poll("primary", 2000), &v2, failing);
  REQUIRE_FALSE(r.has_value());
  CHECK(saw_poll_row);
  CHECK(r.error().reason == ErrorReason::Store);
  CHECK_THAT(r.error().message, Catch::Contains("drift bookkeeping failed"));
  CHECK_THAT(r.error().message, Catch::Contains("primary"));
  CHECK(counts(db) == before);
  CHECK_FALSE(db.in_transaction());
  CHECK(store.latest_complete_snapshot("primary")->id == snapshot_id);

  // A brand-new site whose first poll is rolled back leaves no site row either.
  auto r_new = store.record_poll(complete_poll("dr", 2100), &v2, failing);
  REQUIRE_FALSE(r_new.has_value());
  CHECK(counts(db) == before);

  // The in-memory state was not touched: the same polls succeed afterwards.
  auto retry = store.record_poll(complete_poll("primary", 3000), &v2);
  REQUIRE(retry.has_value());
  CHECK(retry->changed);
  auto retry_dr = store.record_poll(complete_poll("dr", 3100), &v2);
  REQUIRE(retry_dr.has_value());
  CHECK(retry_dr->changed);
  CHECK(counts(db).sites == 2);
}

TEST_CASE("A store error in the middle of a snapshot leaves nothing partial", "[store]") {
  TempDir dir;
  Store store(dir.file("partial.db"));
  Database& db = store.db();
  auto snap = numbered_snapshot(5);
  // A duplicate member violates the snapshot_objects primary key after several inserts.
  snap.objects.push_back(snap.objects.front());
  auto r = store.record_poll(complete_poll("primary", 1000), &snap);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().reason == ErrorReason::Store);
  CHECK(counts(db) == Counts{0, 0, 0, 0, 0, 0});
  CHECK_FALSE(store.latest_complete_snapshot("primary").has_value());
}

TEST_CASE("load_snapshot reconstructs the stored snapshot exactly", "[store]") {
  TempDir dir;
  Store store(dir.file("load.db"));
  std::vector<flowdrift::policy::CanonicalObject> objs = {
      make_object(ObjectKind::Category, "Environment:Prod", "prod"),
      make_policy("web-to-db", "allow tcp 5432"),
      make_object(ObjectKind::ServiceGroup, "postgres", "tcp/5432"),
      make_object(ObjectKind::AddressGroup, "dmz", "192.0.2.0/24"),
      make_policy("app-isolation", "isolate"),
  };
  objs[4].policy_type = "isolation";
  objs[4].mode = "monitor";
  auto snap = make_snapshot(objs, {{"dangling_reference", "web-to-db", "address_group uuid 12 not found"},
                                   {"duplicate_name", "app-isolation", "2 policies share the name"}});
  auto r = store.record_poll(complete_poll("primary", 1000), &snap);
  REQUIRE(r.has_value());

  const auto loaded = store.load_snapshot(*r->snapshot_id);
  CHECK(loaded.hash == snap.hash);
  CHECK(loaded.canon_version == snap.canon_version);
  CHECK(flowdrift::policy::snapshot_hash(loaded.objects, loaded.canon_version) == snap.hash);
  REQUIRE(loaded.objects.size() == snap.objects.size());
  for (std::size_t i = 0; i < snap.objects.size(); ++i) {
    INFO(i);
    CHECK(loaded.objects[i].kind == snap.objects[i].kind);
    CHECK(loaded.objects[i].name == snap.objects[i].name);
    CHECK(loaded.objects[i].json == snap.objects[i].json);
    CHECK(loaded.objects[i].hash == snap.objects[i].hash);
    CHECK(loaded.objects[i].policy_type == snap.objects[i].policy_type);
    CHECK(loaded.objects[i].mode == snap.objects[i].mode);
  }
  CHECK(loaded.objects.front().kind == ObjectKind::Policy);
  CHECK(loaded.objects.front().name == "app-isolation");
  CHECK(loaded.objects.back().kind == ObjectKind::Category);
  REQUIRE(loaded.findings.size() == 2);
  CHECK(loaded.findings[0].kind == "dangling_reference");
  CHECK(loaded.findings[0].object == "web-to-db");
  CHECK(loaded.findings[0].detail == "address_group uuid 12 not found");
  CHECK(loaded.findings[1].kind == "duplicate_name");
  CHECK(loaded.count(ObjectKind::Policy) == 2);
  CHECK(store.latest_complete_snapshot("primary")->policy_count == 2);

  CHECK_THROWS_AS(store.load_snapshot(*r->snapshot_id + 100), StoreError);
}

TEST_CASE("site_states reports the latest poll and the current snapshot per site", "[store]") {
  TempDir dir;
  const std::string path = dir.file("states.db");
  const auto v1 = numbered_snapshot(7);
  const auto dr = numbered_snapshot(3);
  std::int64_t primary_snapshot = 0;
  {
    Store store(path);
    CHECK(store.site_states().empty());
    primary_snapshot = *store.record_poll(complete_poll("primary", 1000), &v1)->snapshot_id;
    REQUIRE(store.record_poll(complete_poll("primary", 2000), &v1).has_value());
    auto f = failed_poll("primary", 3000, "auth");
    f.message = "HTTP 401";
    REQUIRE(store.record_poll(f, nullptr).has_value());
    REQUIRE(store.record_poll(complete_poll("dr", 2500), &dr).has_value());
    REQUIRE(store.record_poll(failed_poll("lab", 2600), nullptr).has_value());
  }
  for (int pass = 0; pass < 2; ++pass) {  // cold cache, then warm
    Store store(path);
    const auto states = store.site_states();
    REQUIRE(states.size() == 3);
    CHECK(states[0].site == "dr");
    CHECK(states[0].last_outcome == "complete");
    CHECK(states[0].last_reason == "ok");
    REQUIRE(states[0].current.has_value());
    CHECK(states[0].current->policy_count == 3);
    CHECK(states[0].current->hash == dr.hash);

    CHECK(states[1].site == "lab");
    CHECK(states[1].last_outcome == "failed");
    CHECK_FALSE(states[1].current.has_value());

    const auto& p = states[2];
    CHECK(p.site == "primary");
    CHECK(p.last_poll_ms == 3000);
    CHECK(p.last_outcome == "failed");
    CHECK(p.last_reason == "auth");
    CHECK(p.last_message == "HTTP 401");
    REQUIRE(p.current.has_value());
    CHECK(p.current->id == primary_snapshot);
    CHECK(p.current->last_poll_ms == 2000);
    CHECK(p.current->first_seen_ms == 1000);
    CHECK(p.current->policy_count == 7);
    CHECK(p.current->hash == v1.hash);
  }
}

TEST_CASE("object_history lists every version of an object with first and last sighting",
          "[store]") {
  TempDir dir;
  Store store(dir.file("history.db"));
  const auto v1 = numbered_snapshot(5);
  const auto v2 = with_changed_policy(v1, "p0003", "v2");
  const auto v1_other = with_changed_policy(v1, "p0001", "other");  // p0003 still at v1
  REQUIRE(store.record_poll(complete_poll("primary", 1000), &v1).has_value());
  REQUIRE(store.record_poll(complete_poll("primary", 2000), &v1).has_value());
  REQUIRE(store.record_poll(complete_poll("primary", 3000), &v2).has_value());
  REQUIRE(store.record_poll(failed_poll("primary", 3500), nullptr).has_value());
  REQUIRE(store.record_poll(complete_poll("primary", 4000), &v1_other).has_value());
  REQUIRE(store.record_poll(complete_poll("dr", 9000), &v1).has_value());  // other site

  const auto h = store.object_history("primary", ObjectKind::Policy, "p0003");
  REQUIRE(h.size() == 2);
  CHECK(h[0].hash == make_policy("p0003", "v1").hash);
  CHECK(h[0].json == make_policy("p0003", "v1").json);
  CHECK(h[0].policy_type == "application");
  CHECK(h[0].first_seen_ms == 1000);
  CHECK(h[0].last_seen_ms == 4000);  // seen again through a different snapshot
  CHECK(h[1].hash == make_policy("p0003", "v2").hash);
  CHECK(h[1].first_seen_ms == 3000);
  CHECK(h[1].last_seen_ms == 3000);

  const auto dr = store.object_history("dr", ObjectKind::Policy, "p0003");
  REQUIRE(dr.size() == 1);
  CHECK(dr[0].first_seen_ms == 9000);
  CHECK(store.object_history("primary", ObjectKind::AddressGroup, "p0003").empty());
  const auto ag = store.object_history("primary", ObjectKind::AddressGroup, "ag-web");
  REQUIRE(ag.size() == 1);
  CHECK(ag[0].policy_type.empty());
  CHECK(ag[0].last_seen_ms == 4000);
}

TEST_CASE("A quiet poll adds well under 1 KiB to the database", "[store]") {
  TempDir dir;
  Store store(dir.file("quiet.db"));
  const auto snap = numbered_snapshot(50);
  REQUIRE(store.record_poll(complete_poll("primary", 1000), &snap).has_value());
  REQUIRE(store.record_poll(complete_poll("dr", 1000), &snap).has_value());
  std::int64_t t = 2000;
  auto quiet_polls = [&](int n) {
    const std::int64_t before = db_bytes(store.db());
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      t += 30000;
      auto r = store.record_poll(complete_poll(i % 2 ? "dr" : "primary", t), &snap);
      REQUIRE(r.has_value());
      REQUIRE_FALSE(r->changed);
    }
    const double us = std::chrono::duration<double, std::micro>(
                          std::chrono::steady_clock::now() - t0).count() / n;
    const std::int64_t after = db_bytes(store.db());
    const double per_poll = static_cast<double>(after - before) / n;
    std::printf("store: %d quiet polls add %.1f bytes each (%lld -> %lld bytes), %.0f us each\n",
                n, per_poll, static_cast<long long>(before), static_cast<long long>(after), us);
    return per_poll;
  };
  // The brief's measure: 100 polls. Growth comes in whole pages, so 100 small rows may fit in
  // pages already allocated; the second, longer run gives the steady-state figure.
  CHECK(quiet_polls(100) < 1024.0);
  CHECK(quiet_polls(2000) < 1024.0);
  CHECK(test::count_rows(store.db(), "snapshots") == 2);
  CHECK(test::count_rows(store.db(), "polls") == 2102);
}

TEST_CASE("Measure: recording a 5,000-policy snapshot", "[store][measure]") {
  TempDir dir;
  Store store(dir.file("large.db"));
  // Policies of about 1.5 KB of canonical JSON (20 rules each), as at the reference scale.
  std::vector<flowdrift::policy::CanonicalObject> objs;
  const std::string rules(1500, 'r');
  for (int i = 0; i < 5000; ++i) {
    char name[24];
    std::snprintf(name, sizeof name, "policy-%05d", i);
    objs.push_back(make_policy(name, rules));
  }
  auto snap = make_snapshot(objs);
  using Clock = std::chrono::steady_clock;
  auto ms_since = [](Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };

  auto t0 = Clock::now();
  auto r1 = store.record_poll(complete_poll("primary", 1000), &snap);
  const double first_ms = ms_since(t0);
  REQUIRE(r1.has_value());

  // The first write after a large one restarts the WAL; later quiet polls are the steady state.
  t0 = Clock::now();
  auto r2 = store.record_poll(complete_poll("primary", 2000), &snap);
  const double first_quiet_ms = ms_since(t0);
  REQUIRE(r2.has_value());
  CHECK_FALSE(r2->changed);
  t0 = Clock::now();
  for (int i = 0; i < 10; ++i) {
    auto q = store.record_poll(complete_poll("primary", 2001 + i), &snap);
    REQUIRE(q.has_value());
    CHECK_FALSE(q->changed);
  }
  const double quiet_ms = ms_since(t0) / 10;

  auto changed = with_changed_policy(snap, "policy-02500", "changed");
  t0 = Clock::now();
  auto r3 = store.record_poll(complete_poll("primary", 3000), &changed);
  const double one_change_ms = ms_since(t0);
  REQUIRE(r3.has_value());
  CHECK(r3->changed);

  t0 = Clock::now();
  const auto loaded = store.load_snapshot(*r3->snapshot_id);
  const double load_ms = ms_since(t0);
  CHECK(loaded.objects.size() == 5000);
  CHECK(test::count_rows(store.db(), "objects") == 5001);

  std::printf(
      "store: 5,000-policy snapshot: first record %.1f ms, next quiet poll %.3f ms, later quiet "
      "polls %.3f ms, one policy changed %.1f ms, load %.1f ms, database %lld KiB\n",
      first_ms, first_quiet_ms, quiet_ms, one_change_ms, load_ms,
      static_cast<long long>(db_bytes(store.db()) / 1024));
}

namespace {

flowdrift::policy::CanonicalObject without_text(flowdrift::policy::CanonicalObject o) {
  o.json.clear();
  o.has_text = false;
  return o;
}

}  // namespace

TEST_CASE("An object without its text is linked to the stored one of its name and hash",
          "[store][memory]") {
  AfterOnePoll s(3, "p0001");
  // v2 as a memo that let the unchanged texts go would send it: only p0001's text is new.
  auto v2 = s.v2;
  for (auto& o : v2.objects) {
    if (o.kind == ObjectKind::Policy && o.name != "p0001") o = without_text(o);
  }
  CHECK_FALSE(v2.has_all_texts());
  CHECK(s.v2.has_all_texts());
  auto r = s.store.record_poll(complete_poll("primary", 2000), &v2);
  REQUIRE(r.has_value());
  // One new object (p0001's new version), as for the snapshot with every text.
  CHECK(counts(s.store.db()).objects == s.before.objects + 1);
  const auto loaded = s.store.load_snapshot(*r->snapshot_id);
  CHECK(loaded.hash == s.v2.hash);
  REQUIRE(loaded.objects.size() == s.v2.objects.size());
  for (std::size_t i = 0; i < loaded.objects.size(); ++i) {
    INFO(loaded.objects[i].name);
    CHECK(loaded.objects[i].has_text);
    CHECK(loaded.objects[i].json == s.v2.objects[i].json);
  }
}

TEST_CASE("load_texts reads the texts a snapshot let go by hash, and names one not stored",
          "[store][memory]") {
  AfterOnePoll s(3, "p0001");
  auto hollow = s.v1;
  for (auto& o : hollow.objects) o = without_text(o);
  s.store.load_texts(hollow);
  REQUIRE(hollow.objects.size() == s.v1.objects.size());
  for (std::size_t i = 0; i < hollow.objects.size(); ++i) {
    INFO(hollow.objects[i].name);
    CHECK(hollow.objects[i].has_text);
    CHECK(hollow.objects[i].json == s.v1.objects[i].json);
  }
  // v2's p0001 was never stored: its hash finds nothing.
  auto unstored = s.v2;
  for (auto& o : unstored.objects) o = without_text(o);
  try {
    s.store.load_texts(unstored);
    FAIL("load_texts found a text that is not stored");
  } catch (const flowdrift::store::StoreError& e) {
    CHECK_THAT(e.what(), Catch::Contains("p0001"));
  }
}

TEST_CASE("An object without its text under a new name takes the text stored by its hash",
          "[store][memory]") {
  AfterOnePoll s(2, "p0000");
  // p0001 becomes "p0001 (duplicate 1)" with the same content: the name moved, not the text.
  auto v2 = s.v1;
  for (auto& o : v2.objects) {
    if (o.name == "p0001") {
      o = without_text(o);
      o.name = "p0001 (duplicate 1)";
    }
  }
  v2 = make_snapshot(std::move(v2.objects));
  auto r = s.store.record_poll(complete_poll("primary", 2000), &v2);
  REQUIRE(r.has_value());
  const auto loaded = s.store.load_snapshot(*r->snapshot_id);
  const auto it = std::find_if(loaded.objects.begin(), loaded.objects.end(),
                               [](const auto& o) { return o.name == "p0001 (duplicate 1)"; });
  REQUIRE(it != loaded.objects.end());
  const auto original = std::find_if(s.v1.objects.begin(), s.v1.objects.end(),
                                     [](const auto& o) { return o.name == "p0001"; });
  CHECK(it->json == original->json);
  CHECK(it->hash == original->hash);
  CHECK(flowdrift::sha256_hex(it->json) == it->hash);
}

TEST_CASE("An object without its text that nothing stored has refuses the poll whole",
          "[store][memory]") {
  AfterOnePoll s(2, "p0000");
  auto v2 = s.v2;
  for (auto& o : v2.objects) {
    if (o.name == "p0000") o = without_text(o);  // its new text was never stored
  }
  auto r = s.store.record_poll(complete_poll("primary", 2000), &v2);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().reason == ErrorReason::Store);
  CHECK_THAT(r.error().message,
             Catch::Contains("policy p0000: its text was let go") &&
                 Catch::Contains("no stored policy has hash " + v2.objects[0].hash));
  // Nothing of the poll stayed, and the latest snapshot is still v1's.
  CHECK(counts(s.store.db()) == s.before);
  CHECK(s.store.latest_complete_snapshot("primary")->id == s.snapshot_id);
}
