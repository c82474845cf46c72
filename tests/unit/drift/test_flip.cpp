// A flip in drift's pure parts: reorient re-describes a pair's open items from the new source
// (from a fresh flipped comparison when there is one, else from what was stored), and the
// tracker keeps comparing as configured while presenting the pair turned round.
#include <catch2/catch.hpp>

#include "diff/diff.hpp"
#include "drift/reconcile.hpp"
#include "drift/rules.hpp"
#include "drift/tracker.hpp"

using namespace flowdrift;

namespace {

drift::Item stored(std::int64_t id, const std::string& object, const std::string& kind,
                   const std::string& severity, const std::string& direction,
                   const std::string& summary, const std::string& fields) {
  drift::Item it;
  it.id = id;
  it.pair = "prod";
  it.source_site = "primary";
  it.replica_site = "dr";
  it.object = object;
  it.kind = kind;
  it.severity = severity;
  it.direction = direction;
  it.summary = summary;
  it.fields_json = fields;
  it.opened_ms = 1000;
  it.raised_ms = 2000;
  it.seen = 3;
  return it;
}

config::Config prod_config() {
  return drift::parse_config(
      "sites:\n"
      "  - name: primary\n    url: https://pc.example\n    username: u\n    password_env: X\n"
      "  - name: dr\n    url: https://dr.example\n    username: u\n    password_env: X\n"
      "pairs:\n  - name: prod\n    source: primary\n    replica: dr\n",
      "t");
}

}  // namespace

TEST_CASE("reorient: open items seen from the new source, in place, each with a flipped event",
          "[unit][drift][flip]") {
  const drift::PairIdentity now{"prod", "dr", "primary"};
  std::vector<drift::Item> open{
      stored(1, "web", "missing", "critical", "more_permissive",
             "application policy (enforce) absent on replica", "[]"),
      stored(2, "db", "enforcement_mode", "critical", "more_permissive",
             "mode enforce on source, monitor on replica",
             R"([{"path":"mode","source":"\"enforce\"","replica":"\"monitor\""}])")};
  // The fresh comparison knows the policy's mode: an enforced policy only on the new replica
  // is a warning.
  diff::PairResult fresh;
  diff::DriftItem extra;
  extra.object = "web";
  extra.kind = diff::DriftKind::Extra;
  extra.severity = diff::Severity::Warning;
  extra.summary = "application policy (enforce) only on replica";
  fresh.items.push_back(extra);

  const auto writes = drift::reorient(now, open, &fresh, 5000, "failover (flip 1)");
  REQUIRE(writes.size() == 2);
  for (const auto& w : writes) {
    CHECK(w.op == drift::Write::Op::Update);
    REQUIRE(w.events.size() == 1);
    CHECK(w.events[0].event == drift::Transition::Event::Flipped);
    CHECK(w.events[0].detail == "failover (flip 1)");
    CHECK(w.item.source_site == "dr");
    CHECK(w.item.replica_site == "primary");
    CHECK(w.item.raised_ms == 2000);  // debounce and open time as they were
    CHECK(w.item.seen == 3);
    CHECK(w.item.updated_ms == 5000);
  }
  CHECK(writes[0].item.id == 1);
  CHECK(writes[0].item.kind == "extra");
  CHECK(writes[0].item.severity == "warning");  // as the fresh comparison says
  // Not in the fresh comparison: turned round from what was stored.
  CHECK(writes[1].item.kind == "enforcement_mode");
  CHECK(writes[1].item.direction == "more_restrictive");
  CHECK(writes[1].item.severity == "warning");
  CHECK(writes[1].item.summary == "mode monitor on source, enforce on replica");
  CHECK(writes[1].item.fields_json ==
        R"([{"path":"mode","replica":"\"enforce\"","source":"\"monitor\""}])");

  // Without a comparison, a missing item keeps its severity (the mode is not stored).
  const auto blind = drift::reorient(now, {open[0]}, nullptr, 5000, "x");
  CHECK(blind[0].item.kind == "extra");
  CHECK(blind[0].item.severity == "critical");
  CHECK(blind[0].item.summary == "application policy (enforce) only on replica");
  CHECK(drift::flipped_kind("missing") == "extra");
  CHECK(drift::flipped_kind("extra") == "missing");
  CHECK(drift::flipped_kind("modified") == "modified");
}

TEST_CASE("tracker: a pair failed over compares as configured and is presented turned round",
          "[unit][drift][flip]") {
  const auto config = prod_config();
  drift::StoredPair st;
  // Stored in its current direction (dr -> primary), snapshots by side.
  st.source_site = "dr";
  st.replica_site = "primary";
  st.status = diff::PairStatus::Drifted;
  st.source_snapshot_id = 20;
  st.replica_snapshot_id = 10;
  drift::Tracker t;
  t.add_site("primary");
  t.add_site("dr");
  t.add_pair(config.pairs[0], st, std::string("dr"));
  const auto& run = t.pair("prod");
  CHECK(run.flipped);
  CHECK(run.id.source_site == "primary");
  CHECK(run.current().source_site == "dr");
  CHECK(run.current().replica_site == "primary");
  CHECK(run.status == diff::PairStatus::Drifted);  // restored: the direction matches
  CHECK(run.compared_source == 10);                // the configured source's snapshot
  CHECK(run.compared_replica == 20);

  // Debounce marks follow the items' kinds.
  t.pair("prod").counted[{"web", "extra"}] = drift::PollMarks{3, 4};
  t.set_flipped("prod", false);
  CHECK_FALSE(t.pair("prod").flipped);
  CHECK(t.pair("prod").counted.count({"web", "missing"}) == 1);
  CHECK(t.pair("prod").current().source_site == "primary");

  // Stored in the configured direction while the flips say failed over: started afresh.
  drift::Tracker fresh;
  st.source_site = "primary";
  st.replica_site = "dr";
  fresh.add_pair(config.pairs[0], st, std::string("dr"));
  CHECK(fresh.pair("prod").status == diff::PairStatus::Unknown);
  CHECK_FALSE(fresh.pair("prod").compared_source.has_value());
}
