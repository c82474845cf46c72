// pcsim's VM coverage over v4 (tests/pcsim/coverage.cpp): the PUT /_pcsim/coverage document
// served as vmm VMs, datapolicies protection policies and (v4.2+) recovery plans with their
// stages, with the site's category extIds, the v4 list envelope, paging, versions and faults.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "pcsim_v4_helpers.hpp"

using namespace flowdrift;
using namespace flowdrift::pcsim;
using namespace flowdrift::pcsim::testing;

namespace {

std::string vms_url(int minor) {
  return "/api/vmm/v4." + std::to_string(minor) + "/ahv/config/vms";
}

std::string dp_url(int minor, const std::string& tail) {
  return "/api/datapolicies/v4." + std::to_string(minor) + "/config/" + tail;
}

// small_site's categories: AppType:Web/DB, AppTier:Front.
json coverage_doc() {
  return {{"vms",
           {{{"name", "web-01"}, {"categories", {{"AppType", "Web"}, {"AppTier", "Front"}}}},
            {{"name", "db-01"}, {"categories", {{"AppType", "DB"}}}},
            {{"name", "ghost-01"}, {"categories", {{"Ghost", "boo"}}}}}},
          {"protection_rules", {{{"name", "gold"}, {"categories", {{"AppType", {"Web", "DB"}}}}}}},
          {"recovery_plans",
           {{{"name", "rp-web"},
             {"vms", {"db-01"}},
             {"categories", {{{"AppTier", "Front"}}, {{"AppType", "Web"}}}}},
            {{"name", "rp-empty"}}}}};
}

void put_coverage(Simulator& sim, const json& doc) {
  REQUIRE(sim.handle(request("PUT", "/_pcsim/coverage", doc.dump())).response.status == 200);
}

// The v3 uuid of the VM `name` (vms/list).
std::string v3_vm_uuid(Simulator& sim, const std::string& name) {
  const json listed = post_json(sim, "/vms/list", json::object());
  for (const auto& e : listed.at("entities")) {
    if (e.at("spec").at("name") == name) return e.at("metadata").at("uuid");
  }
  return "";
}

}  // namespace

TEST_CASE("pcsim serves the coverage document as v4 VMs, protection policies and recovery plans",
          "[unit][pcsim][coverage]") {
  Simulator sim(small_site(1), seeded(5));
  put_coverage(sim, coverage_doc());
  const std::string web = *sim.v4_ext_id("category", "AppType:Web");
  const std::string db = *sim.v4_ext_id("category", "AppType:DB");
  const std::string front = *sim.v4_ext_id("category", "AppTier:Front");

  const json vms = get_json(sim, vms_url(3));
  CHECK(vms.at("$objectType") == "vmm.v4.ahv.config.ListVmsApiResponse");
  CHECK(vms.at("$dataItemDiscriminator") == "List<vmm.v4.ahv.config.Vm>");
  CHECK(vms.at("metadata").at("totalAvailableResults") == 3);
  const json& data = vms.at("data");
  REQUIRE(data.size() == 3);
  CHECK(data[0].at("name") == "db-01");  // sorted by name
  CHECK(data[0].at("$objectType") == "vmm.v4.ahv.config.Vm");
  CHECK(data[0].at("extId") == v3_vm_uuid(sim, "db-01"));
  CHECK(data[2].at("name") == "web-01");
  std::vector<std::string> web_cats;
  for (const auto& c : data[2].at("categories")) web_cats.push_back(c.at("extId"));
  CHECK(web_cats == std::vector<std::string>{front, web});  // AppTier, AppType
  // A category the site does not define: a stable id no category list has.
  const std::string ghost = data[1].at("categories")[0].at("extId");
  CHECK(ghost.size() == 36);
  CHECK(get_json(sim, vms_url(3)).at("data")[1].at("categories")[0].at("extId") == ghost);
  for (const auto& c : get_all(sim, "/api/prism/v4.3/config/categories")) {
    CHECK(c.at("extId") != ghost);
  }

  const json policies = get_json(sim, dp_url(0, "protection-policies"));
  CHECK(policies.at("$dataItemDiscriminator") == "List<datapolicies.v4.config.ProtectionPolicy>");
  REQUIRE(policies.at("data").size() == 1);
  CHECK(policies.at("data")[0].at("name") == "gold");
  CHECK(policies.at("data")[0].at("categoryIds") == json::array({web, db}));

  const json plans = get_json(sim, dp_url(2, "recovery-plans"));
  REQUIRE(plans.at("data").size() == 2);
  CHECK(plans.at("data")[0].at("name") == "rp-empty");
  const std::string rp = plans.at("data")[1].at("extId");
  const json stages = get_json(sim, dp_url(3, "recovery-plans/" + rp + "/stages"));
  CHECK(stages.at("$objectType") == "datapolicies.v4.config.ListRecoveryStagesApiResponse");
  REQUIRE(stages.at("data").size() == 3);
  CHECK(stages.at("data")[0].at("entityType") == "VM");
  CHECK(stages.at("data")[0].at("entities") == json::array({{{"extId", data[0].at("extId")}}}));
  CHECK(stages.at("data")[1].at("categoryExtIds") == json::array({front}));
  CHECK(stages.at("data")[2].at("categoryExtIds") == json::array({web}));
  const std::string empty_plan = plans.at("data")[0].at("extId");
  const json none = get_json(sim, dp_url(3, "recovery-plans/" + empty_plan + "/stages"));
  CHECK_FALSE(none.contains("data"));
  CHECK(none.at("metadata").at("totalAvailableResults") == 0);
}

TEST_CASE("pcsim v4 coverage lists: paging, versions, errors and faults",
          "[unit][pcsim][coverage]") {
  Simulator sim(small_site(1), seeded(6));
  put_coverage(sim, coverage_doc());

  SECTION("pages follow $page and $limit") {
    const json second = get_json(sim, vms_url(3) + "?$page=1&$limit=2");
    REQUIRE(second.at("data").size() == 1);
    CHECK(second.at("data")[0].at("name") == "web-01");
    CHECK(second.at("metadata").at("totalAvailableResults") == 3);
    CHECK(get(sim, vms_url(3) + "?$limit=101").response.status == 400);
  }
  SECTION("recovery plans only from v4.2; an unknown plan's stages are not found") {
    CHECK(get(sim, dp_url(1, "recovery-plans")).response.status == 404);
    CHECK(get(sim, dp_url(0, "recovery-plans")).response.status == 404);
    CHECK(get(sim, dp_url(1, "protection-policies")).response.status == 200);
    const auto unknown =
        get(sim, dp_url(3, "recovery-plans/00000000-0000-4000-8000-000000000000/stages"));
    CHECK(unknown.response.status == 404);
    CHECK(json::parse(unknown.response.body).at("data").at("$objectType") ==
          "datapolicies.v4.error.ErrorResponse");
    const std::string db_vm = v3_vm_uuid(sim, "db-01");
    CHECK(get(sim, vms_url(3) + "/" + db_vm).response.status == 404);  // lists only: no GET one
    CHECK(send(sim, "POST", vms_url(3), json::object()).response.status == 405);
    CHECK(get(sim, "/api/vmm/v4.3/config/vms").response.status == 404);  // vmm is ahv/config
  }
  SECTION("vmm is a namespace whose version can lag or be none") {
    sim.set_v4_namespace_version("vmm", "v4.1");
    CHECK(get(sim, vms_url(2)).response.status == 404);
    CHECK(get(sim, vms_url(1)).response.status == 200);
    sim.set_v4_namespace_version("vmm", "none");
    for (int minor = 0; minor <= 3; ++minor) {
      const auto r = get(sim, vms_url(minor));
      CHECK(r.response.status == 404);
      CHECK(json::parse(r.response.body).at("data").at("$objectType") ==
            "vmm.v4.error.ErrorResponse");
    }
    sim.set_v4_namespace_version("datapolicies", "v4.1");
    CHECK(get(sim, dp_url(2, "recovery-plans")).response.status == 404);
    CHECK(get(sim, dp_url(1, "protection-policies")).response.status == 200);
  }
  SECTION("faults by endpoint name") {
    sim.add_fault(parse_fault("v4_vms:status=503,count=1"));
    const auto failed = get(sim, vms_url(3));
    CHECK(failed.response.status == 503);
    CHECK_THAT(failed.response.body, Catch::Contains("VMM-5503"));
    CHECK(get(sim, vms_url(3)).response.status == 200);
    sim.add_fault(parse_fault("v4_recovery_stages:empty"));
    const std::string rp = get_json(sim, dp_url(3, "recovery-plans")).at("data")[1].at("extId");
    CHECK(get_json(sim, dp_url(3, "recovery-plans/" + rp + "/stages"))
              .at("metadata")
              .at("totalAvailableResults") == 0);
    CHECK_NOTHROW(parse_fault("v4_protection_policies:drop"));
    CHECK_NOTHROW(parse_fault("v4_recovery_plans:status=500"));
  }
  SECTION("a bad recovery plan is refused") {
    json bad = coverage_doc();
    bad["recovery_plans"][0]["vms"] = json::array({7});
    CHECK(sim.handle(request("PUT", "/_pcsim/coverage", bad.dump())).response.status == 400);
  }
}
