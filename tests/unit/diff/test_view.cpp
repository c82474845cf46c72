// policy::SnapshotView, the typed view a comparison reads (each object parsed at most once), and
// what the diff parses through it.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "diff/diff.hpp"
#include "policy/view.hpp"
#include "support/canonical.hpp"

using namespace flowdrift;
using flowdrift::test::canonical_object;
using flowdrift::test::canonical_snapshot;
using nlohmann::json;
using policy::ObjectKind;

namespace {

json app_policy(const std::string& name, const std::string& group, const std::string& tier) {
  return json{{"mode", "enforce"},
              {"name", name},
              {"rules",
               {{{"direction", "inbound"},
                 {"peer", {{"address_group", group}}},
                 {"service", {{"all", true}}}}}},
              {"secured_group", {{"categories", {tier}}, {"kinds", {"vm"}}, {"match", "all"}}},
              {"type", "application"}};
}

policy::CanonicalObject address_group(const std::string& name, std::vector<std::string> cidrs) {
  return canonical_object(ObjectKind::AddressGroup, name,
                          json{{"addresses", std::move(cidrs)}, {"description", ""}, {"name", name}});
}

policy::CanonicalObject category(const std::string& kv) {
  const auto colon = kv.find(':');
  return canonical_object(ObjectKind::Category, kv,
                          json{{"key", kv.substr(0, colon)}, {"value", kv.substr(colon + 1)}});
}

// Two policies and their groups; `lb_cidr` is the lb group's network.
policy::Snapshot site(const std::string& lb_cidr) {
  return canonical_snapshot(
      {canonical_object(ObjectKind::Policy, app_policy("web", "lb", "AppTier:Web")),
       canonical_object(ObjectKind::Policy, app_policy("db", "dba", "AppTier:DB")),
       address_group("lb", {lb_cidr}), address_group("dba", {"10.9.0.0/24"}),
       category("AppTier:Web"), category("AppTier:DB")});
}

}  // namespace

TEST_CASE("a snapshot view finds policies and referenced objects by name", "[unit][policy]") {
  auto snap = site("10.1.0.0/24");
  snap.findings.push_back({"dangling_reference", "db", "address_group uuid 1234 not found"});
  const policy::SnapshotView view(snap);
  REQUIRE(view.policy("web") != nullptr);
  CHECK(view.policy("web")->object().kind == ObjectKind::Policy);
  CHECK(view.policy("lb") == nullptr);  // a group is not a policy
  REQUIRE(view.find(ObjectKind::AddressGroup, "lb") != nullptr);
  CHECK(view.find(ObjectKind::ServiceGroup, "lb") == nullptr);
  CHECK(view.policies().size() == 2);
  CHECK(view.referenced().size() == 4);
  // Every value of AppTier is in the snapshot; of Environment none is known.
  CHECK(view.knows_absent({ObjectKind::Category, "AppTier:App"}));
  CHECK_FALSE(view.knows_absent({ObjectKind::Category, "Environment:Prod"}));
  CHECK(view.knows_absent({ObjectKind::AddressGroup, "anything"}));
  REQUIRE(view.dangling("db") != nullptr);
  CHECK(view.dangling("db")->front() == "address_group uuid 1234 not found");
  CHECK(view.dangling("db")->front().data() == snap.findings.back().detail.data());  // not copied
  CHECK(view.dangling("web") == nullptr);
}

TEST_CASE("an object is parsed when first needed, and its references found once", "[unit][policy]") {
  const auto snap = site("10.1.0.0/24");
  const policy::SnapshotView view(snap);
  const auto& web = *view.policy("web");
  CHECK_FALSE(web.parsed());
  const auto& refs = web.references();
  CHECK(web.parsed());
  CHECK(refs == policy::References{{ObjectKind::Category, "AppTier:Web"},
                                   {ObjectKind::AddressGroup, "lb"}});
  CHECK(&web.references() == &refs);
  REQUIRE(web.root().has_value());
  CHECK(web.root()->text() == web.json());
  CHECK(policy::references_in(web.json()) == refs);
}

TEST_CASE("an object whose text is not JSON has no root and says why", "[unit][policy]") {
  const auto snap = canonical_snapshot({canonical_object(ObjectKind::Policy, "bad", std::string("{\"name\":"))});
  const policy::SnapshotView view(snap);
  const auto& bad = *view.policy("bad");
  CHECK_FALSE(bad.root().has_value());
  CHECK_FALSE(bad.error().empty());
  CHECK(bad.references().empty());
  CHECK(policy::references_in("not json").empty());
}

TEST_CASE("a comparison parses only what can differ", "[unit][policy][diff]") {
  // The lb group is widened on the replica: web uses it, db uses nothing that changed.
  const auto source = site("10.1.0.0/24");
  const auto replica = site("10.1.0.0/23");
  const policy::SnapshotView src(source);
  const policy::SnapshotView rep(replica);
  const auto result = diff::diff_snapshots(src, rep);
  REQUIRE(result.items.size() == 1);
  CHECK(result.items[0].object == "web");
  CHECK(result.items[0].kind == diff::DriftKind::Reference);
  CHECK(result.items[0].direction == diff::Direction::MorePermissive);
  CHECK(src.policy("web")->parsed());
  CHECK(src.find(ObjectKind::AddressGroup, "lb")->parsed());
  CHECK_FALSE(src.policy("db")->parsed());
  CHECK_FALSE(rep.policy("db")->parsed());
  CHECK_FALSE(src.find(ObjectKind::AddressGroup, "dba")->parsed());
}

TEST_CASE("rewritten keeps canonical text and replaces the members asked for", "[unit][policy]") {
  const std::string text = app_policy("web", "lb", "AppTier:Web").dump();
  std::string error;
  const auto doc = json_scan::JsonDoc::parse(text, error);
  REQUIRE(doc.has_value());
  const auto keep = [](std::string_view, json_scan::JsonRef) -> std::optional<std::string> {
    return std::nullopt;
  };
  CHECK(policy::rewritten(doc->root(), keep) == text);
  const auto rename = [](std::string_view key, json_scan::JsonRef v) -> std::optional<std::string> {
    if (key == "address_group" && v.str_equals("lb")) return policy::json_string("lb-dr \"2\"");
    return std::nullopt;
  };
  auto expected = app_policy("web", "lb-dr \"2\"", "AppTier:Web");
  CHECK(policy::rewritten(doc->root(), rename) == expected.dump());
}
