// bench_audit: what the tamper-evident audit trail costs a quiet poll, and what verifying it
// costs. Not a test: it prints numbers. A file database gets N quiet polls (a complete poll of
// an unchanged 100-policy snapshot: the polls row and its audit_log entry, as in a quiet cycle)
// in one site, timed; then the bytes the audit_log and polls tables take (SQLite's dbstat), and
// the time flowdriftctl verify's walk takes over all of it.
// Usage: bench_audit [polls, default 20000]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/sha256.hpp"
#include "policy/model.hpp"
#include "store/audit.hpp"
#include "store/db.hpp"
#include "store/store.hpp"
#include "support/canonical.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;

namespace {

policy::Snapshot snapshot(int policies) {
  std::vector<policy::CanonicalObject> objects;
  for (int i = 0; i < policies; ++i) {
    const std::string name = "policy-" + std::to_string(i);
    objects.push_back(test::canonical_object(policy::ObjectKind::Policy, name,
                                             test::app_policy_json(name, {{"subnet", "10.0.0.0/24"}})));
  }
  return test::canonical_snapshot(std::move(objects));
}

double table_bytes(store::Database& db, const std::string& table) {
  auto st = db.prepare("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ?1 OR name IN "
                       "(SELECT name FROM sqlite_schema WHERE tbl_name = ?1 AND type = 'index')");
  st.bind(1, table);
  return st.step() ? static_cast<double>(st.column_int64(0)) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int polls = argc > 1 ? std::atoi(argv[1]) : 20000;
  test::TempDir dir;
  store::Store store(dir.file("bench.db"));
  const auto snap = snapshot(100);
  store::PollRecord rec;
  rec.site = "primary";
  rec.complete = true;
  rec.reason = "ok";
  rec.api = "v4";
  rec.requests = 5;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < polls; ++i) {
    rec.started_ms = 1'700'000'000'000 + 60'000LL * i;
    rec.finished_ms = rec.started_ms + 800;
    if (!store.record_poll(rec, &snap)) {
      std::fprintf(stderr, "record_poll failed\n");
      return 1;
    }
  }
  const double record_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto& db = store.db();
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const double audit = table_bytes(db, "audit_log");
  const double poll_rows = table_bytes(db, "polls");
  const auto t1 = std::chrono::steady_clock::now();
  const auto report = store::verify_audit(db);
  const double verify_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  std::printf("quiet polls recorded: %d in %.2f s (%.1f us per poll, audit entry included)\n", polls,
              record_s, 1e6 * record_s / polls);
  std::printf("bytes per poll: polls table %.0f, audit_log %.0f\n", poll_rows / polls, audit / polls);
  std::printf("verify: %lld entries, %lld rows in %.2f s (%.1f us per row), intact %s\n",
              static_cast<long long>(report.entries), static_cast<long long>(report.rows), verify_s,
              1e6 * verify_s / static_cast<double>(report.rows), report.intact() ? "yes" : "NO");
  return report.intact() ? 0 : 1;
}
