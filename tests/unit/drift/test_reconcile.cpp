// drift::reconcile without a database or a clock: what opens, raises, changes and resolves,
// and when a comparison counts toward debounce.
#include <catch2/catch.hpp>

#include "drift/reconcile.hpp"

using namespace flowdrift;
using drift::Debounce;
using drift::Item;
using drift::PollMarks;
using drift::Reconciled;
using Event = drift::Transition::Event;

namespace {

const drift::PairIdentity kPair{"prod", "primary", "dr"};

diff::DriftItem found(const std::string& policy, diff::Severity sev = diff::Severity::Critical,
                      bool expected = false) {
  diff::DriftItem d;
  d.object = policy;
  d.kind = diff::DriftKind::Missing;
  d.severity = sev;
  d.direction = diff::Direction::MorePermissive;
  d.summary = policy + " missing";
  d.fields.push_back({"mode", "\"enforce\"", ""});
  if (expected) d.expected = diff::ExpectedBy{"policy=" + policy, "alice", "CHG-1", "2030-01-01"};
  return d;
}

diff::PairResult result(std::vector<diff::DriftItem> items) {
  diff::PairResult r;
  r.items = std::move(items);
  return r;
}

// A pair's open items and counted-at marks carried from one comparison to the next, as the
// store and the tracker carry them.
struct Pair {
  std::vector<Item> open;
  drift::CountedAt counted;
  std::int64_t next_id = 1;

  Reconciled compare(std::vector<diff::DriftItem> items, std::int64_t now, PollMarks polls,
                     Debounce debounce = {2, 0}) {
    auto r = drift::reconcile(kPair, open, counted, result(std::move(items)),
                              {now, polls, debounce});
    std::map<drift::ItemKey, Item> by_key;
    for (auto& it : open) by_key[{it.object, it.kind}] = it;
    for (auto w : r.writes) {
      if (w.op == drift::Write::Op::Insert) w.item.id = next_id++;
      if (w.op == drift::Write::Op::Resolve) {
        by_key.erase({w.item.object, w.item.kind});
      } else {
        by_key[{w.item.object, w.item.kind}] = w.item;
      }
    }
    open.clear();
    for (auto& [k, it] : by_key) open.push_back(it);
    counted = r.counted;
    return r;
  }
};

std::vector<Event> events(const Reconciled& r) {
  std::vector<Event> out;
  for (const auto& w : r.writes) {
    for (const auto& e : w.events) out.push_back(e.event);
  }
  return out;
}

}  // namespace

TEST_CASE("reconcile: a new item opens pending and is raised by the next counted comparison",
          "[unit][drift][reconcile]") {
  Pair p;
  auto r1 = p.compare({found("web")}, 10'000, {1, 2});
  REQUIRE(r1.writes.size() == 1);
  CHECK(r1.writes[0].op == drift::Write::Op::Insert);
  CHECK(events(r1) == std::vector<Event>{Event::Opened});
  CHECK(r1.writes[0].item.opened_ms == 10'000);
  CHECK(r1.writes[0].item.seen == 1);
  CHECK(r1.pending == 1);
  CHECK(r1.status == diff::PairStatus::InSync);

  auto r2 = p.compare({found("web")}, 20'000, {3, 4});
  CHECK(events(r2) == std::vector<Event>{Event::Raised});
  REQUIRE(r2.writes.size() == 1);
  CHECK(r2.writes[0].op == drift::Write::Op::Update);
  CHECK(r2.writes[0].item.seen == 2);
  CHECK(r2.writes[0].item.raised_ms == 20'000);
  CHECK(r2.writes[0].item.opened_ms == 10'000);
  CHECK(r2.writes[0].events[0].detail == "seen 2 times");
  CHECK(r2.status == diff::PairStatus::Drifted);
  CHECK(r2.pending == 0);

  // Raised and unchanged: nothing to write, still drifted.
  auto r3 = p.compare({found("web")}, 30'000, {5, 6});
  CHECK(r3.writes.empty());
  CHECK(r3.status == diff::PairStatus::Drifted);
}

TEST_CASE("reconcile: a comparison counts only after both sites were polled again",
          "[unit][drift][reconcile]") {
  Pair p;
  p.compare({found("web")}, 10'000, {1, 2});
  // Only the source was polled since: not a second sighting; nothing to write.
  auto r = p.compare({found("web")}, 10'208, {3, 2});
  CHECK(r.writes.empty());
  CHECK(r.pending == 1);
  CHECK(p.open.at(0).seen == 1);
  REQUIRE(p.counted.count({"web", "missing"}) == 1);
  CHECK(p.counted.at({"web", "missing"}).replica_poll == 2);
  // Again only the source: still not.
  CHECK(p.compare({found("web")}, 12'000, {5, 2}).writes.empty());
  // Now the replica too: counted, raised.
  auto raised = p.compare({found("web")}, 12'200, {5, 6});
  CHECK(events(raised) == std::vector<Event>{Event::Raised});
}

TEST_CASE("reconcile: a one-poll flap resolves, never raised", "[unit][drift][reconcile]") {
  Pair p;
  p.compare({found("web")}, 10'000, {1, 2});
  p.compare({found("web")}, 10'208, {3, 2});
  auto r = p.compare({}, 12'000, {3, 4});
  REQUIRE(r.writes.size() == 1);
  CHECK(r.writes[0].op == drift::Write::Op::Resolve);
  CHECK(r.writes[0].item.resolved_ms == 12'000);
  CHECK(r.writes[0].events[0].detail == "never raised");
  CHECK(r.status == diff::PairStatus::InSync);
  CHECK(r.counted.empty());
  CHECK(p.open.empty());
}

TEST_CASE("reconcile: without counted-at marks (after a restart) a pending item counts",
          "[unit][drift][reconcile]") {
  Pair p;
  p.compare({found("web")}, 10'000, {1, 2});
  p.counted.clear();  // restarted: marks are kept in memory only
  auto r = p.compare({found("web")}, 20'000, {1, 2});
  CHECK(events(r) == std::vector<Event>{Event::Raised});
}

TEST_CASE("reconcile: debounce by time raises once the item is old enough",
          "[unit][drift][reconcile]") {
  Pair p;
  const Debounce minute{1, 60'000};
  CHECK(events(p.compare({found("web")}, 10'000, {1, 1}, minute)) ==
        std::vector<Event>{Event::Opened});
  CHECK(p.compare({found("web")}, 69'999, {2, 2}, minute).pending == 1);
  // Time alone raises it, even at a comparison that does not count.
  auto r = p.compare({found("web")}, 70'000, {3, 2}, minute);
  CHECK(events(r) == std::vector<Event>{Event::Raised});
  CHECK(r.status == diff::PairStatus::Drifted);
}

TEST_CASE("reconcile: debounce of one raises at once", "[unit][drift][reconcile]") {
  Pair p;
  auto r = p.compare({found("web")}, 10'000, {1, 1}, {1, 0});
  CHECK(events(r) == (std::vector<Event>{Event::Opened, Event::Raised}));
  CHECK(r.status == diff::PairStatus::Drifted);
}

TEST_CASE("reconcile: evidence changes are updates, keeping the open time",
          "[unit][drift][reconcile]") {
  Pair p;
  p.compare({found("web")}, 10'000, {1, 1}, {1, 0});
  auto r = p.compare({found("web", diff::Severity::Warning)}, 20'000, {2, 2}, {1, 0});
  REQUIRE(r.writes.size() == 1);
  CHECK(events(r) == std::vector<Event>{Event::Updated});
  CHECK(r.writes[0].events[0].detail == "warning more_permissive");
  CHECK(r.writes[0].item.updated_ms == 20'000);
  CHECK(r.writes[0].item.opened_ms == 10'000);
}

TEST_CASE("reconcile: expected items do not alert, and alert once the expectation ends",
          "[unit][drift][reconcile]") {
  Pair p;
  auto r1 = p.compare({found("web", diff::Severity::Critical, true)}, 10'000, {1, 1}, {1, 0});
  CHECK(events(r1) == (std::vector<Event>{Event::Opened, Event::Expected, Event::Raised}));
  CHECK(r1.status == diff::PairStatus::InSync);
  CHECK(p.open.at(0).state() == std::string("expected"));

  CHECK(p.compare({found("web", diff::Severity::Critical, true)}, 20'000, {2, 2}, {1, 0})
            .writes.empty());

  auto r3 = p.compare({found("web")}, 30'000, {3, 3}, {1, 0});
  CHECK(events(r3) == std::vector<Event>{Event::Unexpected});
  CHECK(r3.writes[0].events[0].detail.find("CHG-1") != std::string::npos);
  CHECK(r3.status == diff::PairStatus::Drifted);
  CHECK(p.open.at(0).state() == std::string("raised"));
  CHECK(p.open.at(0).opened_ms == 10'000);
}
