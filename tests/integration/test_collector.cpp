// The collector against pcsim over verified HTTPS: complete polls, paging past 500, every
// injected fault, wrong CA and bad password. The invariant under test: no fault ever stores an
// incomplete snapshot as complete or loses a stored one.
#include <catch2/catch.hpp>

#include "core/printable.hpp"
#include "harness.hpp"
#include "pcsim/site.hpp"
#include "scheduler/collector.hpp"
#include "store/db.hpp"
#include "store/store.hpp"

using namespace flowdrift;
using namespace flowdrift::test;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  asio::io_context io;
  TempDir dir;
  SimSite site;
  store::Store store;
  std::unique_ptr<scheduler::Collector> collector;

  explicit Fixture(std::size_t policies = 60, std::uint64_t seed = 11)
      : site(io, dir.path().string(), pcsim::generate_site(policies, seed), "primary"),
        store(dir.file("flowdrift.db")) {
    make_collector(site.site_config("primary"), kSimPassword);
  }

  void make_collector(const config::SiteConfig& cfg, const std::string& password) {
    collector = std::make_unique<scheduler::Collector>(
        io.get_executor(), cfg, password, scheduler::make_site_transport(io.get_executor(), cfg),
        store);
  }

  scheduler::PollReport poll() { return run_until(io, collector->poll_once()); }

  std::int64_t count(const std::string& sql) {
    auto st = store.db().prepare(sql);
    REQUIRE(st.step());
    return st.column_int64(0);
  }
  std::string db_text(const std::string& sql) {
    auto st = store.db().prepare(sql);
    REQUIRE(st.step());
    return st.column_text(0);
  }
};

struct FaultCase {
  const char* spec;
  const char* reason;
};

// Each fault of `cases` on its own, after `good` (a complete poll of `f`): the poll fails with
// the case's reason, is stored, and keeps the site's current snapshot (the last complete one,
// with all its policies); nothing new is stored. Once the fault is cleared, the next poll is
// complete and finds nothing changed.
void check_faults_keep_snapshot(Fixture& f, const scheduler::PollReport& good,
                                const std::vector<FaultCase>& cases) {
  const auto snapshots = f.count("SELECT count(*) FROM snapshots");
  const auto objects = f.count("SELECT count(*) FROM objects");
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.spec) {
      f.site.sim.clear_faults();
      f.site.sim.add_fault(pcsim::parse_fault(c.spec));
      auto r = f.poll();
      INFO(c.spec << " -> " << r.reason << ": " << r.message);
      CHECK_FALSE(r.complete);
      CHECK(r.reason == c.reason);
      CHECK(r.stored);
      CHECK(r.snapshot_id == good.snapshot_id);
      CHECK(r.policy_count == good.policy_count);
      CHECK(f.count("SELECT count(*) FROM snapshots") == snapshots);
      CHECK(f.count("SELECT count(*) FROM objects") == objects);
      CHECK(f.count("SELECT count(*) FROM polls WHERE outcome='complete' AND reason <> 'ok'") == 0);
      f.site.sim.clear_faults();
      auto again = f.poll();
      CHECK(again.complete);
      CHECK_FALSE(again.snapshot_changed);
    }
  }
}

}  // namespace

TEST_CASE("collector stores a complete snapshot over verified HTTPS, paging past 500",
          "[integration][collector]") {
  Fixture f(1234, 5);
  auto r = f.poll();
  INFO(r.message);
  REQUIRE(r.complete);
  CHECK(r.reason == "ok");
  CHECK(r.snapshot_changed);
  CHECK(r.policy_count == 1234);
  auto stats = f.site.sim.stats();
  INFO(stats.dump());
  // 1,234 rules at 500 a page: exactly three rule-list requests.
  CHECK(stats.at("endpoints").at("rules_list").at("total").get<int>() == 3);

  // A quiet poll: one more poll row, same snapshot, no new objects.
  const auto objects = f.count("SELECT count(*) FROM objects");
  auto quiet = f.poll();
  REQUIRE(quiet.complete);
  CHECK_FALSE(quiet.snapshot_changed);
  CHECK(quiet.snapshot_id == r.snapshot_id);
  CHECK(f.count("SELECT count(*) FROM objects") == objects);
  CHECK(f.count("SELECT count(*) FROM snapshots") == 1);
  CHECK(f.count("SELECT count(*) FROM polls") == 2);
}

TEST_CASE("a change made through the site's API becomes a new version",
          "[integration][collector]") {
  Fixture f;
  auto first = f.poll();
  REQUIRE(first.complete);
  auto names = f.site.sim.rule_names();
  REQUIRE_FALSE(names.empty());
  REQUIRE(f.site.sim.edit_rule(names.front(), [](nlohmann::json& spec) {
    spec["description"] = "changed through the API";
  }));
  auto second = f.poll();
  REQUIRE(second.complete);
  CHECK(second.snapshot_changed);
  CHECK(second.snapshot_id != first.snapshot_id);
  auto history = f.store.object_history("primary", policy::ObjectKind::Policy, names.front());
  REQUIRE(history.size() == 2);
  CHECK_THAT(history[1].json, Catch::Contains("changed through the API"));
}

TEST_CASE("no injected fault stores an incomplete snapshot or loses the stored one",
          "[integration][collector][faults]") {
  // Every fault pcsim can inject, on the endpoints a poll uses. Faults last until cleared, so
  // retries see them too.
  const std::vector<FaultCase> cases = {
      {"rules_list:status=401", "auth"},
      {"rules_list:status=403", "forbidden"},
      {"rules_list:status=410", "gone"},
      {"rules_list:status=429,retry_after=1", "rate_limited"},
      {"rules_list:status=500", "server_error"},
      {"rules_list:status=503", "server_error"},
      {"rules_list:malformed", "malformed"},
      {"rules_list:truncate", "truncated"},
      {"rules_list:drop", "connect"},
      {"rules_list:total_moved", "total_moved"},
      {"rules_list:empty", "empty_list"},
      {"rules_list:latency_ms=7000", "timeout"},
      {"address_groups_list:status=503", "server_error"},
      {"service_groups_list:malformed", "malformed"},
      {"category_values_list:truncate", "truncated"},  // categories/list itself is not polled
      {"category_values_list:status=500", "server_error"},
      {"address_groups_list:empty", "empty_list"},
      {"service_groups_list:empty", "empty_list"},
      // Hostile answers (issue #14): refused whole, never read in part.
      {"rules_list:duplicate_key", "malformed"},
      {"rules_list:oversized", "malformed"},
      {"rules_list:invalid_utf8", "malformed"},
      {"rules_list:huge_number", "malformed"},
      {"address_groups_list:duplicate_key", "malformed"},
  };
  Fixture f(700, 3);  // two pages of rules at 500, so total_moved has a second page
  auto good = f.poll();
  REQUIRE(good.complete);
  check_faults_keep_snapshot(f, good, cases);
}

TEST_CASE("a transient fault within the retry budget still gives a complete poll",
          "[integration][collector][faults]") {
  Fixture f;
  f.site.sim.add_fault(pcsim::parse_fault("rules_list:status=503,count=1"));
  auto r = f.poll();
  INFO(r.message);
  CHECK(r.complete);
  CHECK(r.requests >= 2);
}

TEST_CASE("a wrong CA fails with a clear TLS reason", "[integration][collector][tls]") {
  Fixture f;
  TempDir other;
  auto wrong = generate_test_pki(other.path().string(), "impostor");
  auto cfg = f.site.site_config("primary");
  cfg.ca_file = wrong.ca_file;
  f.make_collector(cfg, kSimPassword);
  auto r = f.poll();
  CHECK_FALSE(r.complete);
  CHECK(r.reason == "tls");
  CHECK_THAT(r.message, Catch::Contains("verif"));
  CHECK(f.count("SELECT count(*) FROM snapshots") == 0);
}

TEST_CASE("a bad password fails with auth and never shows the password",
          "[integration][collector][auth]") {
  Fixture f;
  const std::string wrong = "Wr0ng-P4ssw0rd-xyz";
  f.make_collector(f.site.site_config("primary"), wrong);
  auto r = f.poll();
  CHECK_FALSE(r.complete);
  CHECK(r.reason == "auth");
  CHECK_THAT(r.message, !Catch::Contains(wrong));
  CHECK_THAT(r.message, !Catch::Contains(http::base64_encode("admin:" + wrong)));
  CHECK(f.count("SELECT count(*) FROM polls WHERE message LIKE '%" + wrong + "%'") == 0);
}

namespace {
config::SiteConfig with_api(config::SiteConfig s, config::Api api) {
  s.api = api;
  // 1,234 policies canonicalized within the poll, in a Debug build on a loaded machine.
  s.poll_timeout = std::chrono::seconds(90);
  return s;
}
}  // namespace

TEST_CASE("the same site served as v3 and as v4 gives the same snapshot hash",
          "[integration][collector][v4]") {
  Fixture f(1234, 21);
  f.make_collector(with_api(f.site.site_config("as-v3"), config::Api::V3), kSimPassword);
  auto v3 = f.poll();
  INFO(v3.message);
  REQUIRE(v3.complete);
  CHECK(v3.api == config::Api::V3);
  f.make_collector(with_api(f.site.site_config("as-v4"), config::Api::V4), kSimPassword);
  auto v4 = f.poll();
  INFO(v4.message);
  REQUIRE(v4.complete);
  CHECK(v4.api == config::Api::V4);
  CHECK(v4.policy_count == 1234);
  auto a = f.store.latest_complete_snapshot("as-v3");
  auto b = f.store.latest_complete_snapshot("as-v4");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->hash == b->hash);
  // Content addressing: the v4 site stored no object version the v3 site had not stored.
  CHECK(f.count("SELECT count(*) FROM snapshots") == 2);
  CHECK(f.count("SELECT count(DISTINCT hash) FROM snapshots") == 1);
}

TEST_CASE("a site upgraded from v3 to v4 between polls: no false change, no lost snapshot",
          "[integration][collector][v4]") {
  Fixture f(300, 8);
  f.site.sim.set_api_mode("v3");
  f.make_collector(with_api(f.site.site_config("primary"), config::Api::Auto), kSimPassword);
  auto before = f.poll();  // v4 answers 404: detected as v3
  INFO(before.message);
  REQUIRE(before.complete);
  CHECK(before.api == config::Api::V3);
  f.site.sim.set_api_mode("v4");  // Flow Next-Gen enabled: v3 rules now answer 410
  auto after = f.poll();
  INFO(after.message);
  REQUIRE(after.complete);
  CHECK(after.api == config::Api::V4);
  CHECK_FALSE(after.snapshot_changed);
  CHECK(after.snapshot_id == before.snapshot_id);
  CHECK(f.count("SELECT count(*) FROM snapshots") == 1);
  CHECK(f.count("SELECT count(*) FROM polls WHERE outcome = 'failed'") == 0);
}

TEST_CASE("faults on the v4 endpoints never store an incomplete snapshot",
          "[integration][collector][v4][faults]") {
  const std::vector<FaultCase> cases = {
      {"v4_policies:status=401", "auth"},          {"v4_policies:status=403", "forbidden"},
      {"v4_policies:status=500", "server_error"},  {"v4_policies:status=503", "server_error"},
      {"v4_policies:status=429,retry_after=1", "rate_limited"},
      {"v4_policies:malformed", "malformed"},      {"v4_policies:truncate", "truncated"},
      {"v4_policies:drop", "connect"},             {"v4_policies:total_moved", "total_moved"},
      {"v4_policies:empty", "empty_list"},         {"v4_policies:latency_ms=7000", "timeout"},
      {"v4_address_groups:status=503", "server_error"},
      {"v4_service_groups:malformed", "malformed"},
      {"v4_categories:truncate", "truncated"},     {"v4_categories:empty", "empty_list"},
      {"v4_policies:duplicate_key", "malformed"},  {"v4_policies:oversized", "malformed"},
      {"v4_policies:invalid_utf8", "malformed"},   {"v4_policies:huge_number", "malformed"},
      {"v4_address_groups:duplicate_key", "malformed"},
  };
  Fixture f(260, 4);  // three v4 pages of 100
  f.make_collector(with_api(f.site.site_config("primary"), config::Api::V4), kSimPassword);
  auto good = f.poll();
  INFO(good.message);
  REQUIRE(good.complete);
  check_faults_keep_snapshot(f, good, cases);
}

TEST_CASE("a hostile answer fails the poll naming the place, in a short printable message",
          "[integration][collector][faults][hostile]") {
  struct Case {
    const char* spec;
    config::Api api;
    const char* where;
  };
  const Case cases[] = {
      {"rules_list:duplicate_key", config::Api::V3,
       "entities[0].spec.name: key given twice in one object"},
      {"rules_list:oversized", config::Api::V3, "entities[0].spec.name: string of 10485760 bytes"},
      {"rules_list:huge_number", config::Api::V3,
       "entities[0].spec.pcsimHugeNumber: number out of range"},
      {"rules_list:invalid_utf8", config::Api::V3, "entities[0].spec.name: syntax error"},
      {"v4_policies:duplicate_key", config::Api::V4, "data[0].name: key given twice in one object"},
      {"v4_policies:oversized", config::Api::V4, "data[0].name: string of 10485760 bytes"},
      {"v4_policies:huge_number", config::Api::V4, "data[0].pcsimHugeNumber: number out of range"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.spec) {
      Fixture f(30, 5);
      f.make_collector(with_api(f.site.site_config("primary"), c.api), kSimPassword);
      f.site.sim.add_fault(pcsim::parse_fault(c.spec));
      auto r = f.poll();
      INFO(r.message);
      CHECK_FALSE(r.complete);
      CHECK(r.reason == "malformed");
      CHECK_THAT(r.message, Catch::Contains(c.where));
      CHECK(r.message.size() < 1024);
      CHECK(is_printable(r.message));
      const auto stored = f.db_text("SELECT message FROM polls ORDER BY id DESC LIMIT 1");
      CHECK(stored.size() <= 512);
      CHECK(is_printable(stored));
    }
  }
}
