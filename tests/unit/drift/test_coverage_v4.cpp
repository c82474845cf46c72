// drift/coverage_v4: v4 VMs, protection policies and recovery stages read strictly, their
// category extIds resolved through the site's categories, every problem named by place.
#include <catch2/catch.hpp>

#include "drift/coverage_v4.hpp"

using namespace flowdrift;
using nlohmann::json;

namespace {

const drift::CategoryNames kCategories{{"c-web", "AppType:Web"}, {"c-prod", "Env:Prod"}};

}  // namespace

TEST_CASE("v4 coverage: a VM's category references resolve to key:value", "[unit][drift][coverage]") {
  const auto vm = drift::parse_v4_vm(json::parse(R"({"$objectType": "vmm.v4.ahv.config.Vm",
      "extId": "vm-1", "name": "web-01", "categories": [{"extId": "c-web"}, {"extId": "c-prod"}],
      "protectionType": "RULE_PROTECTED"})"), "vms data[0]", kCategories);
  REQUIRE(vm.has_value());
  CHECK(vm->id == "vm-1");
  CHECK(vm->categories == std::vector<std::string>{"AppType:Web", "Env:Prod"});
  const auto bare = drift::parse_v4_vm(json{{"extId", "vm-2"}, {"name", "x"}}, "vm", kCategories);
  REQUIRE(bare.has_value());
  CHECK(bare->categories.empty());
  const auto unknown = drift::parse_v4_vm(
      json::parse(R"({"extId": "vm-3", "name": "y", "categories": [{"extId": "c-gone"}]})"),
      "vms data[2]", kCategories);
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().message ==
        "vms data[2].categories[0].extId: category c-gone is not among the site's categories");
  CHECK_FALSE(drift::parse_v4_vm(json{{"name", "z"}}, "vm", kCategories).has_value());
}

TEST_CASE("v4 coverage: protection policies by category, recovery stages by VM and category",
          "[unit][drift][coverage]") {
  const auto policy = drift::parse_v4_protection_policy(
      json::parse(R"({"extId": "pp-1", "name": "gold", "categoryIds": ["c-prod"]})"), "p", kCategories);
  REQUIRE(policy.has_value());
  CHECK(policy->categories == std::vector<std::string>{"Env:Prod"});
  CHECK_FALSE(policy->match_all);
  const auto stage = drift::parse_v4_recovery_stage(
      json::parse(R"({"entityType": "VM", "categoryExtIds": ["c-web"],
                      "entities": [{"extId": "vm-9"}], "priority": 1})"), "s", "rp-web", kCategories);
  REQUIRE(stage.has_value());
  REQUIRE(stage->size() == 2);
  CHECK((*stage)[0].categories == std::vector<std::string>{"AppType:Web"});
  CHECK((*stage)[1].vm_ids == std::vector<std::string>{"vm-9"});
  CHECK((*stage)[1].name == "rp-web");
  const auto volumes = drift::parse_v4_recovery_stage(
      json{{"entityType", "VOLUME_GROUP"}, {"entities", {{{"extId", "vg"}}}}}, "s", "rp", kCategories);
  REQUIRE(volumes.has_value());
  CHECK(volumes->empty());
  const auto broken = drift::parse_v4_recovery_stage(json{{"entities", {7}}}, "stages data[1]", "rp", kCategories);
  REQUIRE_FALSE(broken.has_value());
  CHECK(broken.error().message == "stages data[1].entities[0]: is not an object");
}

TEST_CASE("v4 coverage: a recovery stage whose entityType is not a string is refused by name",
          "[unit][drift][coverage]") {
  // Found by fuzz_v4_page: value("entityType", "VM") threw on an array.
  const auto odd = drift::parse_v4_recovery_stage(json::parse(R"({"entityType": ["c-web"]})"),
                                                  "stages data[2]", "rp", kCategories);
  REQUIRE_FALSE(odd.has_value());
  CHECK(odd.error().message == "stages data[2]: entityType is not a string");
  const auto absent = drift::parse_v4_recovery_stage(json::parse(R"({"entities": [{"extId": "vm-1"}]})"),
                                                     "s", "rp", kCategories);
  REQUIRE(absent.has_value());
  REQUIRE(absent->size() == 1);
  CHECK((*absent)[0].vm_ids == std::vector<std::string>{"vm-1"});
}
