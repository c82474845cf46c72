// Drift in the v4.3 constructs (docs/canonical-model.md "v4.3 constructs"): what the flows
// model cannot read is compared structurally and its direction is unknown; entity groups are
// referenced objects like address groups.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/sha256.hpp"
#include "diff/diff.hpp"
#include "support/canonical.hpp"

using namespace flowdrift;
using namespace flowdrift::diff;
using nlohmann::json;

namespace {

json flex_rule(const std::string& action) {
  return {{"action", action},
          {"applied_to", {{"entity_groups", {"eg-web"}}}},
          {"description", ""},
          {"destinations", {{{"subnet", "10.2.0.0/16"}}}},
          {"direction", "flex"},
          {"flow", "out"},
          {"priority", 10},
          {"services", {{{"protocol", "tcp"}, {"ports", {{443, 443}}}}}},
          {"sources", json::array()}};
}

json zone_policy(const std::string& action) {
  return {{"name", "zone-web"},
          {"description", ""},
          {"type", "zone"},
          {"mode", "enforce"},
          {"allow_ipv6", false},
          {"hitlog", false},
          {"secured_group", {{"match", "all"}, {"categories", json::array()}, {"kinds", {"vm"}}}},
          {"rules", {flex_rule(action)}}};
}

json app_policy() { return flowdrift::test::app_policy_json("web", {{"entity_group", "eg-lb"}}); }

policy::CanonicalObject object(policy::ObjectKind kind, const json& j) {
  return flowdrift::test::canonical_object(kind, j);
}

policy::Snapshot snap(std::vector<policy::CanonicalObject> objects) {
  return flowdrift::test::canonical_snapshot(std::move(objects));
}

json entity_group(const std::string& name, std::vector<std::string> refs) {
  return {{"name", name},
          {"description", ""},
          {"allowed", {{{"references", refs}, {"select_by", "category_ext_id"}, {"type", "vm"}}}},
          {"except", json::array()}};
}

}  // namespace

TEST_CASE("the same FLEX rule on both sides is in sync", "[unit][diff][v43]") {
  const auto p = object(policy::ObjectKind::Policy, zone_policy("allow"));
  auto r = diff_snapshots(snap({p}), snap({p}));
  CHECK(r.status == PairStatus::InSync);
}

TEST_CASE("a changed FLEX rule is drift of unknown direction, severity warning",
          "[unit][diff][v43]") {
  auto r = diff_snapshots(snap({object(policy::ObjectKind::Policy, zone_policy("allow"))}),
                          snap({object(policy::ObjectKind::Policy, zone_policy("deny"))}));
  REQUIRE(r.items.size() == 1);
  const DriftItem& item = r.items.front();
  CHECK(item.kind == DriftKind::Modified);
  CHECK(item.direction == Direction::Unknown);
  CHECK(item.severity == Severity::Warning);
  CHECK(to_string(item.direction) == "unknown");
}

TEST_CASE("an unmodelled member that differs is drift of unknown direction", "[unit][diff][v43]") {
  json replica = app_policy();
  replica["unmodelled"] = {{"futureField", {{"x", 1}}}};
  const auto eg = object(policy::ObjectKind::EntityGroup, entity_group("eg-lb", {"category:AppType:LB"}));
  auto r = diff_snapshots(snap({object(policy::ObjectKind::Policy, app_policy()), eg}),
                          snap({object(policy::ObjectKind::Policy, replica), eg}));
  REQUIRE(r.items.size() == 1);
  CHECK(r.items.front().direction == Direction::Unknown);
  CHECK(r.items.front().fields.at(0).path == "unmodelled");
}

TEST_CASE("an entity group widened on the replica is reference drift on the policy using it",
          "[unit][diff][v43]") {
  const auto p = object(policy::ObjectKind::Policy, app_policy());
  auto r = diff_snapshots(
      snap({p, object(policy::ObjectKind::EntityGroup, entity_group("eg-lb", {"category:AppType:LB"}))}),
      snap({p, object(policy::ObjectKind::EntityGroup,
                      entity_group("eg-lb", {"category:AppType:LB", "category:AppType:DB"}))}));
  REQUIRE(r.items.size() == 1);
  CHECK(r.items.front().object == "web");
  CHECK(r.items.front().kind == DriftKind::Reference);
  // What an entity group selects is not in the flows: either way, critical.
  CHECK(r.items.front().direction == Direction::Both);
  CHECK(r.items.front().severity == Severity::Critical);
}
