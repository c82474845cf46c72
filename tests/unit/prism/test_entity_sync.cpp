// prism::fetch_entity_sync against a simulated PC: the datapolicies entity-sync-policies read
// completely and paged at the version the PC serves, "not served" only on 404 everywhere, and
// every other failure Failed with its reason (never an empty list).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "http/types.hpp"
#include "support/simulated_pc.hpp"
#include "unit/prism/fetch_runners.hpp"
#include "unit/prism/pc_sites.hpp"

using namespace flowdrift;
using namespace flowdrift::test;
using nlohmann::json;
using State = drift::EntitySyncRead::State;

namespace {

struct SyncOutcome {
  drift::EntitySyncRead read;
  prism::FetchStats stats;
};

awaitable<void> run_sync(http::HttpTransport* transport, prism::FetchOptions options,
                         std::string version, SyncOutcome* out) {
  out->read = co_await prism::fetch_entity_sync(*transport, std::move(options), std::move(version),
                                                out->stats);
}

SyncOutcome read_sync(SimulatedPc& pc, std::string version = "", int page_size = 100) {
  SyncOutcome out;
  auto options = test_options();
  options.page_size = page_size;
  asio::io_context io;
  asio::co_spawn(io, run_sync(&pc.transport, options, std::move(version), &out),
                 [](std::exception_ptr e) {
                   if (e) std::rethrow_exception(e);
                 });
  io.run_for(std::chrono::seconds(30));
  return out;
}

// `n` security policies synced, named as the PC's own.
void set_synced(SimulatedPc& pc, int n, const std::string& status = "IN_SYNC") {
  json entries = json::array();
  for (int i = 0; i < n; ++i) {
    entries.push_back({{"entityType", "SECURITY_POLICY"},
                       {"entityName", "policy-" + std::to_string(i)},
                       {"status", status}});
  }
  http::HttpRequest put;
  put.method = "PUT";
  put.target = "/_pcsim/entity_sync";
  put.body = entries.dump();
  put.headers.push_back({"Authorization", http::basic_auth_header("admin", kPassword)});
  REQUIRE(pc.sim.handle(put).response.status == 200);
}

std::vector<std::string> paths(const SimulatedPc& pc) {
  std::vector<std::string> out;
  for (const auto& r : pc.transport.requests) out.emplace_back(r.path());
  return out;
}

}  // namespace

TEST_CASE("entity sync is read completely, page by page, at the newest version served",
          "[unit][prism][entity_sync]") {
  SimulatedPc pc(site_data(3), pc_options());
  set_synced(pc, 7);
  const auto out = read_sync(pc, "", 3);
  REQUIRE(out.read.state == State::Complete);
  CHECK(out.read.version == "v4.3");
  REQUIRE(out.read.entries.size() == 7);
  CHECK(out.read.entries[0].entity_type == "SECURITY_POLICY");
  CHECK(out.read.entries[0].status == "IN_SYNC");
  CHECK(out.stats.requests == 3);  // pages of 3, 3 and 1
  CHECK(paths(pc)[0] == "/api/datapolicies/v4.3/config/entity-sync-policies");
}

TEST_CASE("entity sync: the remembered version first, older PCs found, none served",
          "[unit][prism][entity_sync]") {
  SECTION("a PC at v4.1 is found after two 404s, and read at once when remembered") {
    auto options = pc_options();
    options.v4_version = "v4.1";
    SimulatedPc pc(site_data(3), options);
    set_synced(pc, 2, "OUT_OF_SYNC");
    auto out = read_sync(pc);
    REQUIRE(out.read.state == State::Complete);
    CHECK(out.read.version == "v4.1");
    CHECK(out.stats.requests == 3);
    pc.transport.requests.clear();
    out = read_sync(pc, "v4.1");
    CHECK(out.read.version == "v4.1");
    CHECK(out.stats.requests == 1);
    CHECK(out.read.entries.size() == 2);
  }
  SECTION("a PC without datapolicies v4.1: not served, after v4.3 to v4.1 answered 404") {
    auto options = pc_options();
    options.v4_version = "v4.0";
    SimulatedPc pc(site_data(3), options);
    const auto out = read_sync(pc, "v4.2");  // remembered, then gone (a restore)
    CHECK(out.read.state == State::NotServed);
    CHECK(out.read.entries.empty());
    CHECK(out.stats.requests == 3);
    CHECK(paths(pc) == std::vector<std::string>{
                           "/api/datapolicies/v4.2/config/entity-sync-policies",
                           "/api/datapolicies/v4.3/config/entity-sync-policies",
                           "/api/datapolicies/v4.1/config/entity-sync-policies"});
  }
}

TEST_CASE("a failed or shifting entity sync listing is Failed, never an empty list",
          "[unit][prism][entity_sync]") {
  SimulatedPc pc(site_data(3), pc_options());
  set_synced(pc, 5);
  SECTION("a server error past the retries") {
    pc.sim.add_fault(pcsim::parse_fault("v4_entity_sync_policies:status=503"));
    const auto out = read_sync(pc);
    CHECK(out.read.state == State::Failed);
    CHECK(out.read.reason == "server_error");
    CHECK(out.read.entries.empty());
    CHECK_THAT(out.read.message, Catch::Contains("entity-sync-policies"));
  }
  SECTION("forbidden: reported, not taken as not served") {
    pc.sim.add_fault(pcsim::parse_fault("v4_entity_sync_policies:status=403"));
    const auto out = read_sync(pc);
    CHECK(out.read.state == State::Failed);
    CHECK(out.read.reason == "forbidden");
  }
  SECTION("an item of the wrong shape names the place") {
    pc.rewrite = [](const http::HttpRequest& r, http::HttpResponse& response) {
      if (r.path().find("entity-sync-policies") == std::string::npos) return;
      auto doc = json::parse(response.body);
      doc["data"][1]["status"] = 7;
      response.body = doc.dump();
    };
    const auto out = read_sync(pc);
    CHECK(out.read.state == State::Failed);
    CHECK(out.read.reason == "malformed");
    CHECK_THAT(out.read.message, Catch::Contains("item 1") && Catch::Contains("status"));
  }
  SECTION("a short page before the total is truncated") {
    pc.rewrite = [](const http::HttpRequest& r, http::HttpResponse& response) {
      if (r.path().find("entity-sync-policies") == std::string::npos) return;
      auto doc = json::parse(response.body);
      doc["data"].erase(doc["data"].begin());
      response.body = doc.dump();
    };
    const auto out = read_sync(pc);
    CHECK(out.read.state == State::Failed);
    CHECK(out.read.reason == "truncated");
  }
}
