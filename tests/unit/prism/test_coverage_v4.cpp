// prism::fetch_v4_coverage against a simulated PC: vmm VMs, datapolicies protection policies and
// (from v4.2) recovery plan stages read completely, page by page, with category extIds resolved
// to "key:value"; each namespace at the remembered version first, then newest first; a failed
// page, a namespace not served or an unknown category an error, never an empty inventory.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "http/types.hpp"
#include "prism/coverage.hpp"
#include "support/simulated_pc.hpp"
#include "unit/prism/fetch_runners.hpp"
#include "unit/prism/pc_sites.hpp"

using namespace flowdrift;
using namespace flowdrift::test;
using nlohmann::json;

namespace {

struct Fetched {
  std::optional<Result<drift::CoverageData>> result;
  prism::FetchStats stats;
  prism::CoverageVersions versions;
};

awaitable<void> run_fetch(http::HttpTransport* transport, prism::FetchOptions options,
                          Fetched* out) {
  out->result.emplace(co_await prism::fetch_v4_coverage(*transport, std::move(options), out->stats,
                                                        &out->versions));
}

Fetched fetch(SimulatedPc& pc, int page_size = 100, prism::CoverageVersions versions = {},
              std::string prism_version = "") {
  Fetched out;
  out.versions = std::move(versions);
  auto options = test_options();
  options.page_size = page_size;
  options.v4_versions.prism = std::move(prism_version);
  asio::io_context io;
  asio::co_spawn(io, run_fetch(&pc.transport, options, &out), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run_for(std::chrono::seconds(30));
  REQUIRE(out.result.has_value());
  return out;
}


// site_data's categories: AppType:App0..App6, Environment:Prod/Dev, Unused:x, "App Tier":web.
json three_vms() {
  return {{"vms",
           {{{"name", "web-01"}, {"categories", {{"AppType", "App1"}, {"Environment", "Prod"}}}},
            {{"name", "web-02"}, {"categories", {{"AppType", "App2"}}}},
            {{"name", "db-01"}, {"categories", {{"AppType", "App3"}}}}}},
          {"protection_rules",
           {{{"name", "gold"}, {"categories", {{"Environment", {"Prod", "Dev"}}}}}}},
          {"recovery_plans",
           {{{"name", "rp-web"}, {"vms", {"web-02"}}, {"categories", {{{"App Tier", "web"}}}}}}}};
}

std::vector<std::string> paths(const SimulatedPc& pc) {
  std::vector<std::string> out;
  for (const auto& r : pc.transport.requests) out.emplace_back(r.path());
  return out;
}

std::size_t count_containing(const std::vector<std::string>& paths, const std::string& part) {
  std::size_t n = 0;
  for (const auto& p : paths) n += p.find(part) != std::string::npos ? 1 : 0;
  return n;
}

// The checks of a complete read of three_vms().
void check_three_vms(const drift::CoverageData& data) {
  REQUIRE(data.vms.size() == 3);
  CHECK(data.vms[0].name == "db-01");  // listed sorted by name
  CHECK(data.vms[0].categories == std::vector<std::string>{"AppType:App3"});
  CHECK(data.vms[1].name == "web-01");
  CHECK(data.vms[1].categories == std::vector<std::string>{"AppType:App1", "Environment:Prod"});
  CHECK(data.vms[1].id.size() == 36);
  REQUIRE(data.protections.size() == 3);  // the policy, the plan's VM stage and category stage
  CHECK(data.protections[0].kind == "protection_policy");
  CHECK(data.protections[0].name == "gold");
  CHECK(data.protections[0].categories ==
        std::vector<std::string>{"Environment:Dev", "Environment:Prod"});
  CHECK_FALSE(data.protections[0].match_all);
  CHECK(data.protections[1].kind == "recovery_plan");
  CHECK(data.protections[1].name == "rp-web");
  CHECK(data.protections[1].vm_ids == std::vector<std::string>{data.vms[2].id});  // web-02
  CHECK(data.protections[1].categories.empty());
  CHECK(data.protections[2].categories == std::vector<std::string>{"App Tier:web"});
  CHECK(data.protections[2].vm_ids.empty());
}

}  // namespace

TEST_CASE("v4 coverage: VMs, protection policies and recovery plan stages at v4.3",
          "[unit][prism][coverage]") {
  SimulatedPc pc(site_data(3), pc_options());
  set_coverage(pc.sim, three_vms());
  const auto out = fetch(pc);
  REQUIRE(out.result->has_value());
  check_three_vms(out.result->value());
  // web-01 is protected by category (gold: Environment:Prod), web-02 named by rp-web's stage.
  CHECK(out.versions == prism::CoverageVersions{"v4.3", "v4.3"});
  CHECK(out.stats.v4_versions.prism == "v4.3");
  const auto p = paths(pc);
  REQUIRE(p.size() == 5);  // categories, VMs, policies, plans, one plan's stages
  CHECK(p[0] == "/api/prism/v4.3/config/categories");
  CHECK(p[1] == "/api/vmm/v4.3/ahv/config/vms");
  CHECK(p[2] == "/api/datapolicies/v4.3/config/protection-policies");
  CHECK(p[3] == "/api/datapolicies/v4.3/config/recovery-plans");
  CHECK(p[4].find("/api/datapolicies/v4.3/config/recovery-plans/") == 0);
  CHECK(p[4].size() > p[3].size() + 1 + 36);
  CHECK(p[4].substr(p[4].size() - 7) == "/stages");
}

TEST_CASE("v4 coverage: every page of every list, with a small page size",
          "[unit][prism][coverage]") {
  SimulatedPc pc(site_data(3), pc_options());
  set_coverage(pc.sim, three_vms());
  const auto out = fetch(pc, 1);
  REQUIRE(out.result->has_value());
  check_three_vms(out.result->value());
  const auto p = paths(pc);
  CHECK(count_containing(p, "/config/categories") == 11);  // 7 + 2 + 1 + 1 values
  CHECK(count_containing(p, "/ahv/config/vms") == 3);
  CHECK(count_containing(p, "/protection-policies") == 1);
  CHECK(count_containing(p, "/stages") == 2);
  for (const auto& r : pc.transport.requests) CHECK(r.target.find("$limit=1") != std::string::npos);
}

TEST_CASE("v4 coverage: datapolicies v4.1 has no recovery plans, protection policies still read",
          "[unit][prism][coverage]") {
  SimulatedPc pc(site_data(3), pc_options());
  pc.sim.set_v4_namespace_version("datapolicies", "v4.1");
  set_coverage(pc.sim, three_vms());
  const auto out = fetch(pc);
  REQUIRE(out.result->has_value());
  const auto& data = out.result->value();
  CHECK(data.vms.size() == 3);
  REQUIRE(data.protections.size() == 1);
  CHECK(data.protections[0].name == "gold");
  CHECK(out.versions.datapolicies == "v4.1");
  CHECK(out.versions.vmm == "v4.3");
  const auto p = paths(pc);
  CHECK(count_containing(p, "recovery-plans") == 0);
  CHECK(count_containing(p, "/api/datapolicies/v4.3/config/protection-policies") == 1);  // 404
  CHECK(count_containing(p, "/api/datapolicies/v4.2/config/protection-policies") == 1);  // 404
  CHECK(count_containing(p, "/api/datapolicies/v4.1/config/protection-policies") == 1);
}

TEST_CASE("v4 coverage: vmm not served is that Http 404, and the version is forgotten",
          "[unit][prism][coverage]") {
  SimulatedPc pc(site_data(3), pc_options());
  pc.sim.set_v4_namespace_version("vmm", "none");
  set_coverage(pc.sim, three_vms());
  const auto out = fetch(pc, 100, prism::CoverageVersions{"v4.3", "v4.3"});
  REQUIRE_FALSE(out.result->has_value());
  const Error& e = out.result->error();
  CHECK(e.reason == ErrorReason::Http);
  CHECK(e.http_status == 404);
  CHECK_THAT(e.message, Catch::Contains("/api/vmm/v4.0/ahv/config/vms"));
  CHECK(out.versions.vmm.empty());
  CHECK(out.versions.datapolicies == "v4.3");  // not reached: kept
  CHECK(count_containing(paths(pc), "/ahv/config/vms") == 4);
  CHECK(count_containing(paths(pc), "datapolicies") == 0);
}

TEST_CASE("v4 coverage: a failed page is an error, never an empty or partial inventory",
          "[unit][prism][coverage]") {
  SimulatedPc pc(site_data(3), pc_options());
  set_coverage(pc.sim, three_vms());
  SECTION("the second page of VMs fails past the retries") {
    pc.sim.add_fault(pcsim::parse_fault("v4_vms:status=503,after=1"));
    const auto out = fetch(pc, 1);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::ServerError);
    CHECK_THAT(out.result->error().message, Catch::Contains("/api/vmm/v4.3/ahv/config/vms page 1"));
  }
  SECTION("a recovery plan's stages fail") {
    pc.sim.add_fault(pcsim::parse_fault("v4_recovery_stages:status=503"));
    const auto out = fetch(pc);
    REQUIRE_FALSE(out.result->has_value());
    CHECK_THAT(out.result->error().message, Catch::Contains("/stages"));
  }
  SECTION("an empty page where the total promised items is truncated") {
    pc.rewrite = [](const http::HttpRequest& r, http::HttpResponse& response) {
      if (r.path().find("protection-policies") == std::string::npos) return;
      auto doc = json::parse(response.body);
      doc.erase("data");
      response.body = doc.dump();
    };
    const auto out = fetch(pc);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Truncated);
  }
  SECTION("a stage of the wrong shape names the endpoint and the item") {
    pc.rewrite = [](const http::HttpRequest& r, http::HttpResponse& response) {
      if (r.path().find("/stages") == std::string::npos) return;
      auto doc = json::parse(response.body);
      doc["data"][0]["entities"][0]["extId"] = 7;
      response.body = doc.dump();
    };
    const auto out = fetch(pc);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Malformed);
    CHECK_THAT(out.result->error().message,
               Catch::Contains("/stages item 0.entities[0]") && Catch::Contains("extId"));
  }
}

TEST_CASE("v4 coverage: a VM category the site does not define is an error naming it",
          "[unit][prism][coverage]") {
  SimulatedPc pc(site_data(3), pc_options());
  json doc = three_vms();
  doc["vms"].push_back({{"name", "ghost-01"}, {"categories", {{"Ghost", "boo"}}}});
  set_coverage(pc.sim, doc);
  const auto out = fetch(pc);
  REQUIRE_FALSE(out.result->has_value());
  CHECK(out.result->error().reason == ErrorReason::Malformed);
  // db-01, ghost-01, web-01, web-02: item 1.
  CHECK_THAT(out.result->error().message,
             Catch::Contains("/api/vmm/v4.3/ahv/config/vms item 1.categories[0].extId") &&
                 Catch::Contains("is not among the site's categories"));
}

TEST_CASE("v4 coverage: remembered versions are listed first, a gone one found again",
          "[unit][prism][coverage]") {
  SimulatedPc pc(site_data(3), pc_options());
  set_coverage(pc.sim, three_vms());
  SECTION("remembered versions the PC still serves are read without trying newer ones") {
    const auto out = fetch(pc, 100, prism::CoverageVersions{"v4.1", "v4.2"}, "v4.0");
    REQUIRE(out.result->has_value());
    check_three_vms(out.result->value());  // recovery plans read at v4.2
    CHECK(out.versions == prism::CoverageVersions{"v4.1", "v4.2"});
    CHECK(out.stats.v4_versions.prism == "v4.0");
    const auto p = paths(pc);
    REQUIRE(p.size() == 5);
    CHECK(p[0] == "/api/prism/v4.0/config/categories");
    CHECK(p[1] == "/api/vmm/v4.1/ahv/config/vms");
    CHECK(p[2] == "/api/datapolicies/v4.2/config/protection-policies");
    CHECK(p[3] == "/api/datapolicies/v4.2/config/recovery-plans");
  }
  SECTION("a remembered version now answering 404 (a downgrade): the others newest first") {
    pc.sim.set_v4_namespace_version("vmm", "v4.1");
    const auto out = fetch(pc, 100, prism::CoverageVersions{"v4.2", "v4.3"});
    REQUIRE(out.result->has_value());
    CHECK(out.versions == prism::CoverageVersions{"v4.1", "v4.3"});
    const auto p = paths(pc);
    REQUIRE(p.size() >= 4);
    CHECK(p[1] == "/api/vmm/v4.2/ahv/config/vms");
    CHECK(p[2] == "/api/vmm/v4.3/ahv/config/vms");
    CHECK(p[3] == "/api/vmm/v4.1/ahv/config/vms");
  }
}
