// A baseline site's collector (a pair's `source: {baseline: PATH}`): it reads the files instead
// of a Prism Central, reads them again as soon as they change (long before its interval), and
// on poll_now() (a reload); a broken file is a failed poll naming the file, never a snapshot.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <functional>

#include "policy/baseline.hpp"
#include "scheduler/collector.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using namespace std::chrono_literals;
using flowdrift::test::TempDir;

namespace {

policy::CanonicalObject category(const std::string& key, const std::string& value) {
  policy::CanonicalObject o;
  o.kind = policy::ObjectKind::Category;
  o.name = key + ":" + value;
  o.json = R"({"key":")" + key + R"(","value":")" + value + R"("})";
  return o;
}

// Writes a baseline directory holding `objects` (sorted by name, as a snapshot is).
void write_baseline(const std::string& dir, std::vector<policy::CanonicalObject> objects) {
  policy::Snapshot snap;
  snap.objects = std::move(objects);
  snap.hash = policy::snapshot_hash(snap.objects, snap.canon_version);
  for (const auto& [rel, text] : policy::baseline_files(snap, {"primary", "v4", 0, "test"})) {
    std::filesystem::create_directories(std::filesystem::path(dir + "/" + rel).parent_path());
    flowdrift::test::write_file(dir + "/" + rel, text);
  }
}

struct Rig {
  asio::io_context io;
  TempDir dir;
  store::Store store{dir.file("flowdrift.db")};
  std::string path = dir.file("flow");
  std::vector<scheduler::PollReport> reports;
  std::unique_ptr<scheduler::Collector> collector;

  Rig() {
    write_baseline(path, {category("Env", "Prod")});
    config::SiteConfig cfg;
    cfg.name = config::baseline_site_name(path);
    cfg.baseline = path;
    cfg.interval = std::chrono::hours(1);
    cfg.jitter = 0;
    scheduler::PollHooks hooks;
    hooks.after = [this](const scheduler::PollReport& r) { reports.push_back(r); };
    collector = std::make_unique<scheduler::Collector>(io.get_executor(), cfg, "", nullptr,
                                                       store, std::move(hooks));
    collector->baseline_check = 20ms;
  }

  // Runs the loop until `n` polls were reported (REQUIREd within 10 s).
  const scheduler::PollReport& until_polls(std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (reports.size() < n && std::chrono::steady_clock::now() < deadline) io.run_for(10ms);
    REQUIRE(reports.size() == n);
    return reports.back();
  }
};

}  // namespace

TEST_CASE("a baseline site is read from its files, again when they change, and on poll_now",
          "[unit][scheduler][baseline]") {
  Rig rig;
  rig.collector->start(0ms);
  const auto first = rig.until_polls(1);
  INFO(first.message);
  REQUIRE(first.complete);
  CHECK(first.api_version == "baseline");
  CHECK(first.requests == 0);
  REQUIRE(first.snapshot_id);
  CHECK(rig.store.db().cached("SELECT api FROM polls ORDER BY id DESC LIMIT 1").query_text() ==
        std::optional<std::string>("baseline"));

  // A file added: read again within the check period, not the hour-long interval.
  write_baseline(rig.path, {category("Env", "Prod"), category("Env", "Test")});
  const auto second = rig.until_polls(2);
  REQUIRE(second.complete);
  CHECK(second.snapshot_changed);
  CHECK(second.snapshot_id != first.snapshot_id);

  // Nothing changed: no read until asked.
  rig.io.run_for(200ms);
  CHECK(rig.reports.size() == 2);
  rig.collector->poll_now();
  const auto third = rig.until_polls(3);
  REQUIRE(third.complete);
  CHECK_FALSE(third.snapshot_changed);

  // A broken file: a failed poll that names it; the stored snapshot stays the last good one.
  flowdrift::test::write_file(rig.path + "/baseline.json", "{\"format\": ");
  const auto broken = rig.until_polls(4);
  CHECK_FALSE(broken.complete);
  CHECK(broken.reason == "malformed");
  CHECK(broken.message.find(rig.path + "/baseline.json") != std::string::npos);
  CHECK(broken.snapshot_id == second.snapshot_id);

  // The path gone: failed too, naming it.
  std::filesystem::remove_all(rig.path);
  const auto gone = rig.until_polls(5);
  CHECK_FALSE(gone.complete);
  CHECK(gone.message.find(rig.path) != std::string::npos);

  rig.collector->stop();
  rig.io.run_for(100ms);
  CHECK_FALSE(rig.collector->running());
}
