// drift::cross_check and parse_entity_sync: what Nutanix's entity sync claims against what
// flowdrift's comparison of the pair holds, without a database.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "drift/entity_sync.hpp"
#include "support/canonical.hpp"

using namespace flowdrift;
using drift::EntitySync;
using drift::SyncDisagreement;
using nlohmann::json;
using policy::ObjectKind;

namespace {

EntitySync entry(std::string type, std::string name, std::string status,
                 std::string remote = "pc-dr") {
  static int n = 0;
  return {"sync-" + std::to_string(++n), std::move(type), std::move(name), "e-1",
          std::move(remote), std::move(status)};
}

drift::Item open_item(const std::string& policy, bool raised = true, bool expected = false) {
  drift::Item it;
  it.object = policy;
  it.kind = "modified";
  if (raised) it.raised_ms = 1000;
  if (expected) it.expectation_json = R"({"selector":"policy=x"})";
  return it;
}

policy::Snapshot site(const std::string& group_cidr) {
  return test::canonical_snapshot(
      {test::canonical_object(ObjectKind::Policy, "web", test::app_policy_json("web", {{"subnet", "10.0.0.0/24"}})),
       test::canonical_object(ObjectKind::Policy, "db", test::app_policy_json("db", {{"subnet", "10.1.0.0/24"}})),
       test::canonical_object(ObjectKind::AddressGroup, "ips",
                              json{{"name", "ips"}, {"subnets", {group_cidr}}})});
}

std::vector<SyncDisagreement> check(const std::vector<EntitySync>& entries,
                                    const std::vector<drift::Item>& open,
                                    const std::string& replica_cidr = "10.9.0.0/24") {
  const auto source = site("10.9.0.0/24");
  const auto replica = site(replica_cidr);
  return drift::cross_check({&entries, &open, &source, &replica, nullptr});
}

}  // namespace

TEST_CASE("Nutanix IN_SYNC on a policy flowdrift has an open item on is a disagreement",
          "[unit][drift][entity_sync]") {
  const auto found = check({entry("SECURITY_POLICY", "web", "IN_SYNC"),
                            entry("SECURITY_POLICY", "db", "IN_SYNC")},
                           {open_item("web")});
  REQUIRE(found.size() == 1);
  CHECK(found[0].entity_name == "web");
  CHECK(found[0].nutanix == "IN_SYNC");
  CHECK(found[0].flowdrift == "drifted");
  CHECK(found[0].kind() == "nutanix_in_sync_flowdrift_differs");
  CHECK_THAT(found[0].detail, Catch::Contains("modified"));
}

TEST_CASE("Nutanix OUT_OF_SYNC on a policy flowdrift finds equal is a disagreement",
          "[unit][drift][entity_sync]") {
  const auto found = check({entry("SECURITY_POLICY", "db", "OUT_OF_SYNC"),
                            entry("SECURITY_POLICY", "web", "OUT_OF_SYNC")},
                           {open_item("web")});
  REQUIRE(found.size() == 1);
  CHECK(found[0].entity_name == "db");
  CHECK(found[0].flowdrift == "equal");
  CHECK(found[0].kind() == "nutanix_out_of_sync_flowdrift_equal");
}

TEST_CASE("the state of the policy's open items is flowdrift's view of it",
          "[unit][drift][entity_sync]") {
  CHECK(check({entry("SECURITY_POLICY", "web", "IN_SYNC")}, {open_item("web", false)})[0].flowdrift ==
        "pending");
  CHECK(check({entry("SECURITY_POLICY", "web", "IN_SYNC")}, {open_item("web", true, true)})[0].flowdrift ==
        "expected");
  CHECK(check({entry("SECURITY_POLICY", "web", "IN_SYNC")},
              {open_item("web", true, true), open_item("web")})[0].flowdrift == "drifted");
}

TEST_CASE("nothing to say: SYNCING, remotes that disagree, unmodelled types, unknown entities",
          "[unit][drift][entity_sync]") {
  const std::vector<drift::Item> web_drifted{open_item("web")};
  CHECK(check({entry("SECURITY_POLICY", "web", "SYNCING")}, web_drifted).empty());
  CHECK(check({entry("SECURITY_POLICY", "web", "IN_SYNC", "pc-dr"),
               entry("SECURITY_POLICY", "web", "OUT_OF_SYNC", "pc-other")},
              web_drifted)
            .empty());
  CHECK(check({entry("PROTECTION_POLICY", "web", "OUT_OF_SYNC"),
               entry("STORAGE_POLICY", "gold", "OUT_OF_SYNC")},
              {})
            .empty());
  CHECK(check({entry("SECURITY_POLICY", "not-on-the-source", "OUT_OF_SYNC")}, {}).empty());
  CHECK(check({entry("SECURITY_POLICY", "web", "NEWER_STATUS")}, web_drifted).empty());
  CHECK(check({entry("SECURITY_POLICY", "", "IN_SYNC")}, web_drifted).empty());
  // Two remotes that agree are one claim.
  CHECK(check({entry("SECURITY_POLICY", "web", "IN_SYNC", "pc-dr"),
               entry("SECURITY_POLICY", "web", "IN_SYNC", "pc-other")},
              web_drifted)
            .size() == 1);
}

TEST_CASE("a group is compared by its content on both sites", "[unit][drift][entity_sync]") {
  const auto differs = check({entry("ADDRESS_GROUP", "ips", "IN_SYNC")}, {}, "10.9.9.0/24");
  REQUIRE(differs.size() == 1);
  CHECK(differs[0].entity_type == "ADDRESS_GROUP");
  CHECK(differs[0].flowdrift == "drifted");
  CHECK_THAT(differs[0].detail, Catch::Contains("content differs"));
  CHECK(check({entry("ADDRESS_GROUP", "ips", "IN_SYNC")}, {}).empty());
  const auto equal = check({entry("ADDRESS_GROUP", "ips", "OUT_OF_SYNC")}, {});
  REQUIRE(equal.size() == 1);
  CHECK(equal[0].flowdrift == "equal");
}

TEST_CASE("an entity sync policy is read strictly, naming the place",
          "[unit][drift][entity_sync]") {
  const json good{{"extId", "s-1"},
                  {"entityType", "SECURITY_POLICY"},
                  {"entityName", "web"},
                  {"entityExtId", "p-1"},
                  {"remoteDomainManagerExtId", "pc-2"},
                  {"ownerExtId", "o-1"},
                  {"status", "IN_SYNC"},
                  {"$objectType", "datapolicies.v4.config.EntitySyncPolicy"}};
  auto e = drift::parse_entity_sync(good, "page 0 item 3");
  REQUIRE(e);
  CHECK(*e == EntitySync{"s-1", "SECURITY_POLICY", "web", "p-1", "pc-2", "IN_SYNC"});

  json no_status = good;
  no_status.erase("status");
  auto bad = drift::parse_entity_sync(no_status, "page 0 item 3");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().reason == ErrorReason::Malformed);
  CHECK_THAT(bad.error().message, Catch::Contains("page 0 item 3") && Catch::Contains("status"));

  json wrong = good;
  wrong["entityName"] = 42;
  auto bad_name = drift::parse_entity_sync(wrong, "here");
  REQUIRE_FALSE(bad_name);
  CHECK_THAT(bad_name.error().message, Catch::Contains("entityName"));
  CHECK_FALSE(drift::parse_entity_sync(json::array(), "here"));
  json empty_type = good;
  empty_type["entityType"] = "";
  CHECK_FALSE(drift::parse_entity_sync(empty_type, "here"));
  json null_name = good;
  null_name["entityName"] = nullptr;
  REQUIRE(drift::parse_entity_sync(null_name, "here"));
}

TEST_CASE("metric labels stay bounded", "[unit][drift][entity_sync]") {
  CHECK(drift::entity_sync_label("SECURITY_POLICY") == "SECURITY_POLICY");
  CHECK(drift::entity_sync_label("OUT_OF_SYNC") == "OUT_OF_SYNC");
  CHECK(drift::entity_sync_label("VM") == "OTHER");
  CHECK(drift::entity_sync_label("in_sync") == "OTHER");
}
