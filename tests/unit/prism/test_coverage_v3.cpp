// prism::fetch_v3_coverage against a simulated PC: VMs, protection rules and recovery plans
// read completely, page by page, into the coverage check's records; a malformed entity is an
// error naming it, a failed page an error, never an empty list.
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
};

awaitable<void> run_fetch(http::HttpTransport* transport, prism::FetchOptions options, Fetched* out) {
  out->result.emplace(co_await prism::fetch_v3_coverage(*transport, std::move(options), out->stats));
}

Fetched fetch(SimulatedPc& pc, int page_size = 100) {
  Fetched out;
  auto options = test_options();
  options.page_size = page_size;
  asio::io_context io;
  asio::co_spawn(io, run_fetch(&pc.transport, options, &out), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run_for(std::chrono::seconds(30));
  REQUIRE(out.result.has_value());
  return out;
}

void set_coverage(SimulatedPc& pc, const json& doc, int status = 200) {
  http::HttpRequest put;
  put.method = "PUT";
  put.target = "/_pcsim/coverage";
  put.body = doc.dump();
  put.headers.push_back({"Authorization", http::basic_auth_header("admin", kPassword)});
  REQUIRE(pc.sim.handle(put).response.status == status);
}

json three_vms() {
  return {{"vms", {{{"name", "web-01"}, {"categories", {{"AppType", "Web"}, {"Env", "Prod"}}}},
                   {{"name", "web-02"}, {"categories", {{"AppType", "Web"}}}},
                   {{"name", "db-01"}, {"categories", {{"AppType", "DB"}}}}}},
          {"protection_rules", {{{"name", "gold"}, {"categories", {{"Env", {"Prod", "Stage"}}}}},
                                {{"name", "all-db"}, {"categories", {{"AppType", {"DB"}}}},
                                 {"match", "CATEGORIES_MATCH_ALL"}}}},
          {"recovery_plans", {{{"name", "rp-web"}, {"vms", {"web-02"}},
                               {"categories", {{{"AppTier", "Web"}}}}}}}};
}

}  // namespace

TEST_CASE("v3 coverage: VMs and what protects them, read page by page",
          "[unit][prism][coverage]") {
  SimulatedPc pc(site_data(3), pc_options());
  set_coverage(pc, three_vms());
  const auto out = fetch(pc, 2);
  REQUIRE(out.result->has_value());
  const auto& data = out.result->value();
  REQUIRE(data.vms.size() == 3);
  CHECK(data.vms[0].name == "db-01");  // listed sorted by name
  CHECK(data.vms[1].name == "web-01");
  CHECK(data.vms[1].categories == std::vector<std::string>{"AppType:Web", "Env:Prod"});
  CHECK(data.vms[1].id.size() == 36);
  REQUIRE(data.protections.size() == 4);  // two rules, the plan's category set and its VMs
  CHECK(data.protections[0].name == "all-db");
  CHECK(data.protections[0].match_all);
  CHECK(data.protections[1].categories == std::vector<std::string>{"Env:Prod", "Env:Stage"});
  CHECK_FALSE(data.protections[1].match_all);
  CHECK(data.protections[2].kind == "recovery_plan");
  CHECK(data.protections[2].categories == std::vector<std::string>{"AppTier:Web"});
  CHECK(data.protections[3].vm_ids == std::vector<std::string>{data.vms[2].id});  // web-02
  CHECK(out.stats.requests == 2 + 1 + 1);  // VMs in pages of 2
}

TEST_CASE("v3 coverage: an empty site is empty, a failed page or a malformed entity is an error",
          "[unit][prism][coverage]") {
  SimulatedPc pc(site_data(3), pc_options());
  auto empty = fetch(pc);
  REQUIRE(empty.result->has_value());
  CHECK(empty.result->value().vms.empty());

  set_coverage(pc, three_vms());
  pc.sim.add_fault(pcsim::parse_fault("vms_list:status=503"));
  auto failed = fetch(pc);
  REQUIRE_FALSE(failed.result->has_value());
  CHECK_THAT(failed.result->error().message, Catch::Contains("vms/list"));
  pc.sim.clear_faults();

  // A VM whose categories are not strings, as a broken proxy might serve it.
  pc.before = [](pcsim::Simulator&, const http::HttpRequest& r) -> std::optional<ScriptedReply> {
    if (r.path().find("vms/list") == std::string_view::npos) return std::nullopt;
    http::HttpResponse resp;
    resp.status = 200;
    resp.body = R"({"metadata":{"kind":"vm","total_matches":1},"entities":[)"
                R"({"metadata":{"uuid":"u1","categories":{"AppType":7}},"spec":{"name":"x"}}]})";
    return ScriptedReply{std::move(resp), {}};
  };
  auto bad = fetch(pc);
  REQUIRE_FALSE(bad.result->has_value());
  CHECK(bad.result->error().reason == ErrorReason::Malformed);
  CHECK_THAT(bad.result->error().message,
             Catch::Contains("vms/list entities[0].metadata.categories.AppType"));
}

TEST_CASE("v3 coverage parsers name the place of every shape problem", "[unit][prism][coverage]") {
  CHECK_FALSE(drift::parse_v3_vm(json::array(), "vm").has_value());
  const auto no_uuid = drift::parse_v3_vm(json{{"metadata", json::object()}, {"spec", {{"name", "a"}}}}, "vm");
  REQUIRE_FALSE(no_uuid.has_value());
  CHECK(no_uuid.error().message == "vm.metadata: uuid is not a string");
  const auto odd = drift::parse_v3_protection_rule(
      json::parse(R"({"spec": {"name": "r", "resources": {"category_filter": {"type": "SOMETHING"}}}})"), "r");
  REQUIRE_FALSE(odd.has_value());
  CHECK_THAT(odd.error().message, Catch::Contains("SOMETHING"));
  // Not protecting VMs: no categories, not an error.
  const auto volumes = drift::parse_v3_protection_rule(json::parse(R"({"spec": {"name": "vg",
      "resources": {"category_filter": {"kind_list": ["volume_group"], "params": {"A": ["b"]}}}}})"),
                                                       "r");
  REQUIRE(volumes.has_value());
  CHECK(volumes->categories.empty());
  const auto plan = drift::parse_v3_recovery_plan(json::parse(R"({"spec": {"name": "p",
      "resources": {"stage_list": [{"stage_work": {"recover_entities": {"entity_info_list": [{}]}}}]}}})"),
                                                  "p");
  REQUIRE_FALSE(plan.has_value());
  CHECK(plan.error().message ==
        "p.stage_list[0].entity_info_list[0]: neither any_entity_reference nor categories");
}

TEST_CASE("v3 coverage parsers refuse members of the wrong type by name and never throw",
          "[unit][prism][coverage]") {
  const auto filter = drift::parse_v3_protection_rule(
      json::parse(R"({"spec": {"name": "r", "resources": "gold"}})"), "r");
  REQUIRE_FALSE(filter.has_value());
  CHECK(filter.error().message == "r.spec.resources: is not an object");
  const auto type = drift::parse_v3_protection_rule(
      json::parse(R"({"spec": {"name": "r", "resources": {"category_filter": {"type": ["ALL"]}}}})"), "r");
  REQUIRE_FALSE(type.has_value());
  CHECK(type.error().message == "r.spec.resources.category_filter: type is not a string");
  const auto stages = drift::parse_v3_recovery_plan(
      json::parse(R"({"spec": {"name": "p", "resources": {"stage_list": [{"stage_work": 7}]}}})"), "p");
  REQUIRE_FALSE(stages.has_value());
  CHECK(stages.error().message == "p.stage_list[0].stage_work: is not an object");
  const auto kind = drift::parse_v3_recovery_plan(json::parse(R"({"spec": {"name": "p", "resources":
      {"stage_list": [{"stage_work": {"recover_entities": {"entity_info_list":
      [{"any_entity_reference": {"uuid": "u", "kind": 3}}]}}}]}}})"), "p");
  REQUIRE_FALSE(kind.has_value());
  CHECK(kind.error().message == "p.stage_list[0].entity_info_list[0].any_entity_reference: kind is not a string");
  // Absent members keep their defaults.
  const auto bare = drift::parse_v3_recovery_plan(json::parse(R"({"spec": {"name": "p"}})"), "p");
  REQUIRE(bare.has_value());
  CHECK(bare->empty());
}
