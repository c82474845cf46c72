// VM coverage as stored (coverage_reads, coverage_inputs, coverage_gaps; schema version 11):
// inputs kept once per content, a failed read never taken as no VMs, gaps opening and resolving
// under the audit chain, and retention.
#include <catch2/catch.hpp>

#include "core/sha256.hpp"
#include "store/audit.hpp"
#include "store/coverage.hpp"
#include "store/retention.hpp"
#include "store/store.hpp"

using namespace flowdrift;
using namespace flowdrift::store;
using State = drift::CoverageRead::State;
using Kind = drift::CoverageGap::Kind;

namespace {

drift::CoverageRead complete(std::vector<drift::VmRecord> vms, std::int64_t listed = 10) {
  drift::CoverageRead r;
  r.state = State::Complete;
  r.api = "v3";
  r.vms = listed;
  r.data.vms = std::move(vms);
  r.data.protections = {{"protection_policy", "gold", {"Env:Prod"}, false, {}}};
  return r;
}

drift::CoverageRead failed() {
  drift::CoverageRead r;
  r.state = State::Failed;
  r.reason = "timeout";
  r.message = "vms/list offset 500: timed out";
  return r;
}

drift::CoverageRead not_served() {
  drift::CoverageRead r;
  r.state = State::NotServed;
  return r;
}

const drift::VmRecord kWeb{"u-1", "web-01", {"AppType:Web", "Env:Prod"}};
const drift::VmRecord kDb{"u-2", "db-01", {"AppType:DB", "Env:Prod"}};

std::int64_t count(Database& db, const char* table) {
  return db.query_int64(std::string("SELECT count(*) FROM ") + table).value_or(-1);
}

drift::CoverageGap gap(std::string id, std::string vm, Kind kind = Kind::Unprotected,
                       std::string detail = "selected by web now, by none after failover") {
  drift::CoverageGap g;
  g.vm_id = std::move(id);
  g.vm = std::move(vm);
  g.kind = kind;
  g.protected_by = "protection_policy gold";
  g.selected_now = {"web"};
  g.missing_categories = {"AppType:Web"};
  g.detail = std::move(detail);
  return g;
}

}  // namespace

TEST_CASE("coverage reads: one input per content, a failed read keeps it, not served drops it",
          "[unit][store][coverage]") {
  Store store(":memory:");
  auto& db = store.db();
  CHECK_FALSE(coverage(db, "primary"));
  CHECK_FALSE(record_coverage(db, "primary", drift::CoverageRead{}, 1000));  // NotRead
  CHECK_FALSE(coverage(db, "primary"));

  CHECK(record_coverage(db, "primary", complete({kWeb, kDb}), 1000));
  auto c = coverage(db, "primary");
  REQUIRE(c);
  CHECK(c->state == State::Complete);
  CHECK(c->api == "v3");
  CHECK(c->vms == 10);
  CHECK(c->complete_ms == 1000);
  CHECK(c->data.vms == std::vector<drift::VmRecord>{kWeb, kDb});
  CHECK(c->input_sha256 == sha256_hex(drift::coverage_text(c->data)));
  CHECK(count(db, "coverage_inputs") == 1);

  // The same content again: nothing new stored, nothing the check reads changed.
  CHECK_FALSE(record_coverage(db, "primary", complete({kWeb, kDb}), 2000));
  CHECK(count(db, "coverage_inputs") == 1);
  CHECK(coverage(db, "primary")->read_ms == 2000);
  // Another site with the same content shares the input.
  CHECK(record_coverage(db, "dr", complete({kWeb, kDb}), 2000));
  CHECK(count(db, "coverage_inputs") == 1);

  // A failed read keeps the last complete input and says nothing changed.
  CHECK_FALSE(record_coverage(db, "primary", failed(), 3000));
  c = coverage(db, "primary");
  CHECK(c->state == State::Failed);
  CHECK(c->reason == "timeout");
  CHECK(c->complete_ms == 2000);  // the last complete read
  CHECK(c->data.vms.size() == 2);
  CHECK(c->vms == 10);

  // New content: a second input; the old one stays while "dr" points at it.
  CHECK(record_coverage(db, "primary", complete({kWeb}), 4000));
  CHECK(count(db, "coverage_inputs") == 2);
  CHECK(coverage(db, "primary")->data.vms == std::vector<drift::VmRecord>{kWeb});
  // Not served: no input; one no site points at is removed.
  CHECK(record_coverage(db, "dr", not_served(), 5000));
  CHECK(count(db, "coverage_inputs") == 1);
  c = coverage(db, "dr");
  CHECK(c->state == State::NotServed);
  CHECK(c->data.vms.empty());
  CHECK(c->input_sha256.empty());
}

TEST_CASE("coverage reads: stored inputs edited by hand are an error, not an empty inventory",
          "[unit][store][coverage]") {
  Store store(":memory:");
  auto& db = store.db();
  record_coverage(db, "primary", complete({kWeb}), 1000);
  db.exec("UPDATE coverage_inputs SET text = replace(text, 'web-01', 'web-99')");
  CHECK_THROWS_WITH(coverage(db, "primary"),
                    Catch::Contains("stored VM coverage of site primary is damaged"));
  db.exec("UPDATE coverage_inputs SET text = '{\"vms\": 3}'");
  CHECK_THROWS_WITH(coverage(db, "primary"), Catch::Contains("vms is not a list"));
}

TEST_CASE("coverage gaps: open, update, resolve, a new kind reopens, audited and pruned",
          "[unit][store][coverage]") {
  Store store(":memory:");
  auto& db = store.db();
  auto c = write_gaps(db, "prod", {gap("u-1", "web-01"), gap("u-2", "db-01")}, 1000);
  CHECK(c.opened.size() == 2);
  auto open = open_gaps(db, "prod");
  REQUIRE(open.size() == 2);
  CHECK(open[0].gap.vm == "db-01");  // by VM name
  CHECK(open[1].gap == gap("u-1", "web-01"));
  CHECK(open[1].opened_ms == 1000);

  // The same gaps: no write. Changed detail: updated, same row, same opened time.
  c = write_gaps(db, "prod", {gap("u-1", "web-01"), gap("u-2", "db-01")}, 2000);
  CHECK((c.opened.empty() && c.updated.empty() && c.resolved.empty()));
  c = write_gaps(db, "prod", {gap("u-1", "web-01", Kind::Unprotected, "other"), gap("u-2", "db-01")}, 3000);
  REQUIRE(c.updated.size() == 1);
  CHECK(c.updated[0].id == open[1].id);
  CHECK(open_gaps(db, "prod")[1].gap.detail == "other");
  CHECK(open_gaps(db, "prod")[1].opened_ms == 1000);

  // Another kind for the same VM: the old row resolves and a new one opens.
  c = write_gaps(db, "prod", {gap("u-1", "web-01", Kind::ProtectedDifferently), gap("u-2", "db-01")}, 4000);
  CHECK(c.opened.size() == 1);
  CHECK(c.resolved.size() == 1);
  CHECK(open_gaps(db, "prod")[1].gap.kind == Kind::ProtectedDifferently);
  write_gaps(db, "other", {gap("u-1", "web-01")}, 4000);
  CHECK(open_gaps(db).size() == 3);
  c = write_gaps(db, "prod", {}, 5000);
  CHECK(c.resolved.size() == 2);
  CHECK(open_gaps(db, "prod").empty());
  CHECK(count(db, "coverage_gaps") == 4);

  // Every write is in the audit chain; an edit outside flowdrift is named.
  CHECK(verify_audit(db).intact());
  // Retention removes the gaps resolved before the window (4000 and 5000 < 6000), never open ones.
  auto stats = prune(db, 6000, 100);
  CHECK(stats.deleted["coverage_gaps"] == 3);
  CHECK(count(db, "coverage_gaps") == 1);
  CHECK(open_gaps(db, "other").size() == 1);
  CHECK(verify_audit(db).intact());
  db.exec("UPDATE coverage_gaps SET kind = 'protected_differently' WHERE pair = 'other'");
  const auto report = verify_audit(db);
  REQUIRE_FALSE(report.intact());
  CHECK_THAT(report.problems[0].message, Catch::Contains("coverage_gaps row"));
}
