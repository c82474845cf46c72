// Nutanix's entity sync as stored (entity_sync_reads, entity_sync; schema version 7) and the
// lifecycle of sync disagreements.
#include <catch2/catch.hpp>

#include "store/entity_sync.hpp"
#include "store/retention.hpp"
#include "store/store.hpp"

using namespace flowdrift;
using namespace flowdrift::store;
using State = drift::EntitySyncRead::State;

namespace {

drift::EntitySyncRead complete(std::vector<drift::EntitySync> entries, std::string version = "v4.3") {
  drift::EntitySyncRead r;
  r.state = State::Complete;
  r.version = std::move(version);
  r.entries = std::move(entries);
  return r;
}

drift::EntitySyncRead failed() {
  drift::EntitySyncRead r;
  r.state = State::Failed;
  r.reason = "timeout";
  r.message = "/api/datapolicies/v4.3/config/entity-sync-policies page 2: timed out";
  return r;
}

const drift::EntitySync kWeb{"s-1", "SECURITY_POLICY", "web", "p-1", "pc-dr", "IN_SYNC"};
const drift::EntitySync kIps{"s-2", "ADDRESS_GROUP", "ips", "g-1", "pc-dr", "OUT_OF_SYNC"};

drift::SyncDisagreement disagreement(std::string name, std::string nutanix = "IN_SYNC",
                                     std::string flowdrift = "drifted") {
  return {"SECURITY_POLICY", std::move(name), std::move(nutanix), std::move(flowdrift),
          "open drift item(s): modified"};
}

}  // namespace

TEST_CASE("entity sync reads: a complete one replaces, a failed one keeps, not served removes",
          "[unit][store][entity_sync]") {
  Store store(":memory:");
  auto& db = store.db();
  CHECK_FALSE(entity_sync(db, "primary"));
  CHECK_FALSE(record_entity_sync(db, "primary", drift::EntitySyncRead{}, 1000));  // NotRead
  CHECK_FALSE(entity_sync(db, "primary"));

  CHECK(record_entity_sync(db, "primary", complete({kWeb, kIps}), 1000));
  auto s = entity_sync(db, "primary");
  REQUIRE(s);
  CHECK(s->state == State::Complete);
  CHECK(s->version == "v4.3");
  CHECK(s->complete_ms == 1000);
  REQUIRE(s->entries.size() == 2);
  CHECK(s->entries[0] == kIps);  // sorted by type, then name
  CHECK(s->entries[1] == kWeb);

  // The same entries again change nothing the cross-check reads.
  CHECK_FALSE(record_entity_sync(db, "primary", complete({kIps, kWeb}), 2000));

  CHECK_FALSE(record_entity_sync(db, "primary", failed(), 3000));
  s = entity_sync(db, "primary");
  CHECK(s->state == State::Failed);
  CHECK(s->reason == "timeout");
  CHECK(s->read_ms == 3000);
  CHECK(s->complete_ms == 2000);
  CHECK(s->version == "v4.3");
  CHECK(s->entries.size() == 2);

  // Usable again after a failure, with the same entries: a change for the cross-check.
  CHECK(record_entity_sync(db, "primary", complete({kWeb, kIps}), 4000));
  auto changed = kWeb;
  changed.status = "OUT_OF_SYNC";
  CHECK(record_entity_sync(db, "primary", complete({changed, kIps}), 5000));
  CHECK(entity_sync(db, "primary")->entries[1].status == "OUT_OF_SYNC");

  drift::EntitySyncRead gone;
  gone.state = State::NotServed;
  CHECK(record_entity_sync(db, "primary", gone, 6000));
  s = entity_sync(db, "primary");
  CHECK(s->state == State::NotServed);
  CHECK(s->entries.empty());
  CHECK_FALSE(s->complete_ms);
  CHECK_FALSE(record_entity_sync(db, "primary", gone, 7000));
  CHECK_FALSE(entity_sync(db, "dr"));
}

TEST_CASE("sync disagreements open, stay, change kind and resolve", "[unit][store][entity_sync]") {
  Store store(":memory:");
  auto& db = store.db();
  auto c = write_disagreements(db, "prod", {disagreement("web"), disagreement("db")}, 1000);
  CHECK(c.opened.size() == 2);
  CHECK(c.resolved.empty());
  CHECK(open_disagreements(db, "prod").size() == 2);

  // The same again: nothing opens or resolves, and opened_ms stays.
  auto web = disagreement("web", "IN_SYNC", "pending");
  c = write_disagreements(db, "prod", {web, disagreement("db")}, 2000);
  CHECK(c.opened.empty());
  CHECK(c.resolved.empty());
  auto open = open_disagreements(db, "prod");
  REQUIRE(open.size() == 2);
  CHECK(open[1].disagreement.entity_name == "web");
  CHECK(open[1].disagreement.flowdrift == "pending");
  CHECK(open[1].opened_ms == 1000);
  CHECK(open[1].updated_ms == 2000);

  // Another kind for the same entity: the old one resolves, a new one opens.
  c = write_disagreements(db, "prod", {disagreement("web", "OUT_OF_SYNC", "equal")}, 3000);
  REQUIRE(c.opened.size() == 1);
  CHECK(c.opened[0].disagreement.kind() == "nutanix_out_of_sync_flowdrift_equal");
  CHECK(c.resolved.size() == 2);
  open = open_disagreements(db);
  REQUIRE(open.size() == 1);
  CHECK(open[0].opened_ms == 3000);

  write_disagreements(db, "other", {disagreement("web")}, 3000);
  CHECK(open_disagreements(db).size() == 2);
  c = write_disagreements(db, "prod", {}, 4000);
  CHECK(c.resolved.size() == 1);
  CHECK(c.resolved[0].resolved_ms == 4000);
  CHECK(open_disagreements(db, "prod").empty());
  CHECK(open_disagreements(db, "other").size() == 1);
  CHECK(db.query_int64("SELECT count(*) FROM sync_disagreements").value_or(-1) == 4);

  // Retention removes what resolved before the window, never what is open.
  auto stats = prune(db, 3500, 100);
  CHECK(stats.deleted["sync_disagreements"] == 2);
  CHECK(db.query_int64("SELECT count(*) FROM sync_disagreements").value_or(-1) == 2);
  CHECK(open_disagreements(db, "other").size() == 1);
}
