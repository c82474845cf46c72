#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "core/sha256.hpp"
#include "diff/diff.hpp"
#include "support/canonical.hpp"

using namespace flowdrift;
using namespace flowdrift::diff;
using nlohmann::json;

namespace {

json app_policy(const std::string& name, const std::string& mode = "enforce") {
  return flowdrift::test::app_policy_json(name, {{"subnet", "10.0.0.0/24"}}, "AppType:Web",
                                          "web tier", mode);
}

policy::CanonicalObject obj(const json& p) {
  return flowdrift::test::canonical_object(policy::ObjectKind::Policy, p);
}

policy::Snapshot snap(std::initializer_list<json> policies) {
  std::vector<policy::CanonicalObject> objects;
  for (const auto& p : policies) objects.push_back(obj(p));
  return flowdrift::test::canonical_snapshot(std::move(objects));
}

const DriftItem& only(const PairResult& r) {
  REQUIRE(r.items.size() == 1);
  return r.items.front();
}

// ... and checks its kind, direction and severity.
const DriftItem& only(const PairResult& r, DriftKind kind, Direction direction, Severity severity) {
  const DriftItem& item = only(r);
  CHECK(item.kind == kind);
  CHECK(item.direction == direction);
  CHECK(item.severity == severity);
  return item;
}

}  // namespace

TEST_CASE("identical snapshots are in sync", "[unit][diff]") {
  auto r = diff_snapshots(snap({app_policy("web"), app_policy("db")}),
                          snap({app_policy("db"), app_policy("web")}));
  CHECK(r.status == PairStatus::InSync);
  CHECK(r.items.empty());
}

TEST_CASE("missing: critical when enforced, warning when monitored", "[unit][diff]") {
  auto r = diff_snapshots(snap({app_policy("web"), app_policy("mon", "monitor")}), snap({}));
  REQUIRE(r.items.size() == 2);
  CHECK(r.status == PairStatus::Drifted);
  CHECK(r.items[0].object == "mon");
  CHECK(r.items[0].kind == DriftKind::Missing);
  CHECK(r.items[0].severity == Severity::Warning);
  CHECK(r.items[1].object == "web");
  CHECK(r.items[1].severity == Severity::Critical);
}

TEST_CASE("missing quarantine or isolation policy is always critical", "[unit][diff]") {
  auto q = app_policy("quarantine", "monitor");
  q["type"] = "quarantine";
  auto r = diff_snapshots(snap({q}), snap({}));
  CHECK(only(r).severity == Severity::Critical);
}

TEST_CASE("extra: warning when enforced on the replica, info otherwise", "[unit][diff]") {
  auto r = diff_snapshots(snap({}), snap({app_policy("a"), app_policy("b", "monitor")}));
  REQUIRE(r.items.size() == 2);
  CHECK(r.items[0].kind == DriftKind::Extra);
  CHECK(r.items[0].severity == Severity::Warning);
  CHECK(r.items[1].severity == Severity::Info);
}

TEST_CASE("enforcement_mode: weaker mode on the replica is critical", "[unit][diff]") {
  auto r = diff_snapshots(snap({app_policy("web")}), snap({app_policy("web", "monitor")}));
  const auto& item = only(r);
  CHECK(item.kind == DriftKind::EnforcementMode);
  CHECK(item.severity == Severity::Critical);
  REQUIRE(item.fields.size() == 1);
  CHECK(item.fields[0].path == "mode");
  CHECK(item.fields[0].source == "\"enforce\"");
  CHECK(item.fields[0].replica == "\"monitor\"");
}

TEST_CASE("a stronger mode on the replica is a more restrictive modification", "[unit][diff]") {
  auto r = diff_snapshots(snap({app_policy("web", "monitor")}), snap({app_policy("web")}));
  only(r, DriftKind::Modified, Direction::MoreRestrictive, Severity::Warning);
}

TEST_CASE("modified: a rule only on the replica is more permissive, named by content",
          "[unit][diff]") {
  auto wide = app_policy("web");
  wide["rules"].push_back({{"direction", "inbound"},
                           {"peer", {{"any", true}}},
                           {"service", {{"protocol", "tcp"}, {"ports", {{8443, 8443}}}}},
                           {"description", ""}});
  auto r = diff_snapshots(snap({app_policy("web")}), snap({wide}));
  const auto& item = only(r, DriftKind::Modified, Direction::MorePermissive, Severity::Critical);
  REQUIRE(item.fields.size() == 2);
  CHECK_THAT(item.fields[0].path, Catch::StartsWith("rules[+ "));
  CHECK_THAT(item.fields[0].path, Catch::Contains("8443"));
  CHECK(item.fields[0].source.empty());
  // The evidence: one concrete flow the replica allows and the source does not.
  CHECK(item.fields[1].path == "flows[replica only]");
  CHECK_THAT(item.fields[1].replica, Catch::Contains("inbound TCP/8443"));
  CHECK_THAT(item.summary, Catch::Contains("replica allows inbound TCP/8443"));

  // And the other way round: the replica lost a rule.
  auto back = diff_snapshots(snap({wide}), snap({app_policy("web")}));
  CHECK(only(back).direction == Direction::MoreRestrictive);
  CHECK(only(back).severity == Severity::Warning);
  CHECK_THAT(only(back).fields[0].path, Catch::StartsWith("rules[- "));
  CHECK(only(back).fields[1].path == "flows[source only]");
}

TEST_CASE("modified: rules that differ in text but allow the same flows are cosmetic",
          "[unit][diff][behaviour]") {
  // Split-but-equal port ranges and a duplicated rule.
  auto split = app_policy("web");
  split["rules"][0]["service"]["ports"] = {{443, 443}};
  auto joined = split;
  split["rules"][0]["service"]["ports"] = {{443, 443}, {444, 450}};
  joined["rules"][0]["service"]["ports"] = {{443, 450}};
  joined["rules"].push_back(joined["rules"][0]);
  joined["rules"][1]["description"] = "same again";
  auto r = diff_snapshots(snap({split}), snap({joined}));
  const auto& item = only(r, DriftKind::Modified, Direction::Cosmetic, Severity::Info);
  CHECK_FALSE(item.fields.empty());  // the text differences stay visible as evidence

  // A /24 written as two /25s.
  auto halves = app_policy("web");
  halves["rules"][0]["peer"] = {{"subnet", "10.0.0.0/25"}};
  halves["rules"].push_back(halves["rules"][0]);
  halves["rules"][1]["peer"] = {{"subnet", "10.0.0.128/25"}};
  auto rh = diff_snapshots(snap({app_policy("web")}), snap({halves}));
  CHECK(only(rh).direction == Direction::Cosmetic);

  // One port more is not cosmetic.
  auto wider = app_policy("web");
  wider["rules"][0]["service"]["ports"] = {{443, 444}};
  auto rw = diff_snapshots(snap({app_policy("web")}), snap({wider}));
  CHECK(only(rw).direction == Direction::MorePermissive);
  CHECK_THAT(only(rw).summary, Catch::Contains("TCP/444"));
}

TEST_CASE("modified: description-only changes are cosmetic info", "[unit][diff]") {
  auto other = app_policy("web");
  other["description"] = "changed";
  other["rules"][0]["description"] = "note";
  auto r = diff_snapshots(snap({app_policy("web")}), snap({other}));
  const auto& item = only(r, DriftKind::Modified, Direction::Cosmetic, Severity::Info);
  CHECK(item.fields.size() == 2);
}

TEST_CASE("modified: allow_ipv6 and intra_group switches have a direction", "[unit][diff]") {
  auto open = app_policy("web");
  open["allow_ipv6"] = true;
  CHECK(only(diff_snapshots(snap({app_policy("web")}), snap({open}))).direction ==
        Direction::MorePermissive);
  auto intra = app_policy("web");
  intra["intra_group"] = "allow";
  CHECK(only(diff_snapshots(snap({app_policy("web")}), snap({intra}))).severity ==
        Severity::Critical);
  CHECK(only(diff_snapshots(snap({intra}), snap({app_policy("web")}))).direction ==
        Direction::MoreRestrictive);
}

TEST_CASE("a weaker mode and a changed rule are two items", "[unit][diff]") {
  auto both = app_policy("web", "monitor");
  both["rules"] = json::array();
  auto r = diff_snapshots(snap({app_policy("web")}), snap({both}));
  REQUIRE(r.items.size() == 2);
  CHECK(r.items[0].kind == DriftKind::EnforcementMode);
  CHECK(r.items[1].kind == DriftKind::Modified);
}

TEST_CASE("unknown result carries the reason and no items", "[unit][diff]") {
  auto r = unknown_result("site dr: timeout");
  CHECK(r.status == PairStatus::Unknown);
  CHECK(r.unknown_reason == "site dr: timeout");
  CHECK(r.items.empty());
  CHECK(to_string(PairStatus::Unknown) == "UNKNOWN");
}

namespace {

policy::CanonicalObject group(policy::ObjectKind kind, const std::string& name, json members) {
  const char* key = kind == policy::ObjectKind::AddressGroup ? "addresses" : "services";
  json j{{"name", name}, {"description", ""}, {key, std::move(members)}};
  return flowdrift::test::canonical_object(kind, name, j);
}

json grouped_policy() {
  auto p = app_policy("web");
  p["rules"] = json::array({{{"direction", "inbound"},
                             {"peer", {{"address_group", "lb"}}},
                             {"service", {{"service_group", "web-ports"}}},
                             {"description", ""}}});
  return p;
}

policy::Snapshot grouped_snap(json addresses, json services, bool with_ag = true) {
  policy::Snapshot s;
  s.objects.push_back(obj(grouped_policy()));
  if (with_ag) s.objects.push_back(group(policy::ObjectKind::AddressGroup, "lb", std::move(addresses)));
  s.objects.push_back(group(policy::ObjectKind::ServiceGroup, "web-ports", std::move(services)));
  s.hash = policy::snapshot_hash(s.objects, s.canon_version);
  return s;
}

const json kWebPorts = json::array({{{"protocol", "tcp"}, {"ports", {{443, 443}}}}});

}  // namespace

// flowdriftctl diff keeps one copy of a text both files hold: a replica policy equal to the
// source's lets its text go, and the comparison reads the source's. A group it uses that
// differs still needs the replica policy's references, read from that text.
TEST_CASE("reference: a replica policy without its text reads the source's equal one",
          "[unit][diff][reference]") {
  const auto src = grouped_snap({"10.0.0.0/24"}, kWebPorts);
  const auto wider = grouped_snap({"10.0.0.0/24", "0.0.0.0/0"}, kWebPorts);
  auto stripped = wider;
  for (auto& o : stripped.objects) {
    if (o.kind != policy::ObjectKind::Policy) continue;
    o.json.clear();
    o.has_text = false;
  }
  REQUIRE(policy::texts_missing(stripped, src) == 0);
  const auto want = diff_snapshots(src, wider);
  const auto got = diff_snapshots(src, stripped);
  const auto& item = only(got);
  CHECK(item.kind == DriftKind::Reference);
  CHECK(item.severity == Severity::Critical);
  CHECK(item.summary == only(want).summary);
  REQUIRE(item.fields.size() == only(want).fields.size());
  CHECK(item.fields[1].path == "flows[replica only]");
}

TEST_CASE("reference: same group name with other CIDRs is drift of every policy using it",
          "[unit][diff][reference]") {
  auto src = grouped_snap({"10.0.0.0/24"}, kWebPorts);
  auto wider = grouped_snap({"10.0.0.0/24", "0.0.0.0/0"}, kWebPorts);
  const auto r = diff_snapshots(src, wider);
  const auto& item = only(r);
  CHECK(item.object == "web");
  CHECK(item.kind == DriftKind::Reference);
  CHECK(item.direction == Direction::MorePermissive);
  CHECK(item.severity == Severity::Critical);
  REQUIRE(item.fields.size() == 2);
  CHECK(item.fields[0].path == "address_group[lb]");
  CHECK_THAT(item.fields[0].replica, Catch::Contains("0.0.0.0/0"));
  CHECK(item.fields[1].path == "flows[replica only]");  // a flow the wider group lets in

  auto narrower = grouped_snap(json::array(), kWebPorts);
  const auto rn = diff_snapshots(src, narrower);
  CHECK(only(rn).direction == Direction::MoreRestrictive);
  CHECK(only(rn).severity == Severity::Warning);
}

TEST_CASE("reference: an address group missing on the replica", "[unit][diff][reference]") {
  auto src = grouped_snap({"10.0.0.0/24"}, kWebPorts);
  auto rep = grouped_snap({"10.0.0.0/24"}, kWebPorts, /*with_ag=*/false);
  const auto r = diff_snapshots(src, rep);
  const auto& item = only(r);
  CHECK(item.kind == DriftKind::Reference);
  CHECK(item.severity == Severity::Critical);
  CHECK(item.fields[0].path == "address_group[lb]");
  CHECK(item.fields[0].replica.empty());
}

TEST_CASE("reference: among equal policies, exactly those using a changed group drift",
          "[unit][diff][reference]") {
  // Equal policies are checked only when their text names a changed object: names that share
  // a prefix, or that JSON must escape, must neither hide nor invent drift.
  auto policy_using = [](const std::string& name, const std::string& group_name) {
    auto p = app_policy(name);
    p["rules"][0]["peer"] = {{"address_group", group_name}};
    return p;
  };
  auto site = [&](json lb, json quoted) {
    policy::Snapshot s;
    s.objects.push_back(obj(policy_using("a-uses-lb", "lb")));
    s.objects.push_back(obj(policy_using("b-uses-lb-2", "lb-2")));
    s.objects.push_back(obj(policy_using("c-uses-quoted", "q\"lb")));
    s.objects.push_back(obj(policy_using("d-uses-lb-too", "lb")));
    s.objects.push_back(group(policy::ObjectKind::AddressGroup, "lb", std::move(lb)));
    s.objects.push_back(group(policy::ObjectKind::AddressGroup, "lb-2", {"10.2.0.0/24"}));
    s.objects.push_back(group(policy::ObjectKind::AddressGroup, "q\"lb", std::move(quoted)));
    std::sort(s.objects.begin(), s.objects.end(), [](const auto& x, const auto& y) {
      return std::tie(x.kind, x.name) < std::tie(y.kind, y.name);
    });
    s.hash = policy::snapshot_hash(s.objects, s.canon_version);
    return s;
  };
  const auto src = site({"10.0.0.0/24"}, {"10.3.0.0/24"});
  CHECK(diff_snapshots(src, site({"10.0.0.0/24"}, {"10.3.0.0/24"})).items.empty());

  const auto lb_wider = diff_snapshots(src, site({"10.0.0.0/16"}, {"10.3.0.0/24"}));
  REQUIRE(lb_wider.items.size() == 2);
  CHECK(lb_wider.items[0].object == "a-uses-lb");
  CHECK(lb_wider.items[1].object == "d-uses-lb-too");
  for (const auto& item : lb_wider.items) {
    CHECK(item.kind == DriftKind::Reference);
    CHECK(item.direction == Direction::MorePermissive);
  }

  const auto quoted_wider = diff_snapshots(src, site({"10.0.0.0/24"}, {"10.3.0.0/16"}));
  const auto& item = only(quoted_wider);
  CHECK(item.object == "c-uses-quoted");
  CHECK(item.kind == DriftKind::Reference);
  CHECK(item.fields[0].path == "address_group[q\"lb]");
}

TEST_CASE("reference: identical groups and a group only a modified rule uses are not reference drift",
          "[unit][diff][reference]") {
  auto src = grouped_snap({"10.0.0.0/24"}, kWebPorts);
  CHECK(diff_snapshots(src, grouped_snap({"10.0.0.0/24"}, kWebPorts)).items.empty());
  // Other service ports in the group: reference drift, more permissive.
  auto more = grouped_snap({"10.0.0.0/24"},
                           json::array({{{"protocol", "tcp"}, {"ports", {{443, 443}}}},
                                        {{"protocol", "tcp"}, {"ports", {{8443, 8443}}}}}));
  const auto rm = diff_snapshots(src, more);
  CHECK(only(rm).fields[0].path == "service_group[web-ports]");
  CHECK(only(rm).direction == Direction::MorePermissive);
}

namespace {

policy::CanonicalObject category(const std::string& kv) {
  const auto colon = kv.find(':');
  return flowdrift::test::canonical_object(
      policy::ObjectKind::Category, kv,
      json{{"key", kv.substr(0, colon)}, {"value", kv.substr(colon + 1)}});
}

json secured_by(const std::string& name, const std::string& kv) {
  auto p = app_policy(name);
  p["secured_group"]["categories"] = json::array({kv});
  return p;
}

// A site: policies plus the category values defined for the keys they use.
policy::Snapshot site(std::vector<json> policies, std::vector<std::string> values,
                      std::vector<policy::Finding> findings = {}) {
  policy::Snapshot s;
  for (const auto& p : policies) s.objects.push_back(obj(p));
  for (const auto& v : values) s.objects.push_back(category(v));
  s.findings = std::move(findings);
  s.hash = policy::snapshot_hash(s.objects, s.canon_version);
  return s;
}

}  // namespace

TEST_CASE("reference: a category value renamed on the replica is one reference item per policy",
          "[unit][diff][reference]") {
  // Environment:Prod on the primary was renamed Environment:Production on the DR site, and
  // both policies that secure it follow the rename there.
  auto src = site({secured_by("web", "Environment:Prod"), secured_by("db", "Environment:Prod")},
                  {"AppType:Web", "Environment:Dev", "Environment:Prod"});
  auto rep = site({secured_by("web", "Environment:Production"),
                   secured_by("db", "Environment:Production")},
                  {"AppType:Web", "Environment:Dev", "Environment:Production"});
  const auto r = diff_snapshots(src, rep);
  REQUIRE(r.items.size() == 2);  // no "modified" item: the rename explains the difference
  for (const auto& item : r.items) {
    INFO(item.object);
    CHECK(item.kind == DriftKind::Reference);
    CHECK(item.severity == Severity::Critical);  // which VMs carry the value is unknowable
    REQUIRE(item.fields.size() == 1);
    CHECK(item.fields[0].path == "category[Environment:Prod] renamed Environment:Production");
    CHECK(item.fields[0].source == R"({"key":"Environment","value":"Prod"})");
    CHECK(item.fields[0].replica == R"({"key":"Environment","value":"Production"})");
    CHECK_THAT(item.summary, Catch::Contains("renamed"));
  }
  CHECK(r.items[0].object == "db");
  CHECK(r.items[1].object == "web");
}

TEST_CASE("reference: a rename plus a real change keeps the real change as a modification",
          "[unit][diff][reference]") {
  auto src = site({secured_by("web", "Environment:Prod")}, {"Environment:Prod"});
  auto changed = secured_by("web", "Environment:Production");
  changed["allow_ipv6"] = true;
  auto rep = site({changed}, {"Environment:Production"});
  const auto r = diff_snapshots(src, rep);
  REQUIRE(r.items.size() == 2);
  CHECK(r.items[0].kind == DriftKind::Modified);
  REQUIRE(r.items[0].fields.size() == 2);
  CHECK(r.items[0].fields[0].path == "allow_ipv6");
  CHECK(r.items[0].fields[1].path == "flows[replica only]");
  CHECK(r.items[0].direction == Direction::MorePermissive);
  CHECK(r.items[1].kind == DriftKind::Reference);
}

TEST_CASE("reference: a value used on the source and absent on the replica's site",
          "[unit][diff][reference]") {
  // The DR policy secures Environment:Dev instead (which exists on both sites): a real
  // modification, and Environment:Prod is missing on the replica.
  auto src = site({secured_by("web", "Environment:Prod")}, {"Environment:Dev", "Environment:Prod"});
  auto rep = site({secured_by("web", "Environment:Dev")}, {"Environment:Dev"});
  const auto r = diff_snapshots(src, rep);
  REQUIRE(r.items.size() == 2);
  CHECK(r.items[0].kind == DriftKind::Modified);
  CHECK(r.items[0].fields[0].path == "secured_group");
  CHECK(r.items[1].kind == DriftKind::Reference);
  REQUIRE(r.items[1].fields.size() == 1);
  CHECK(r.items[1].fields[0].path == "category[Environment:Prod]");
  CHECK(r.items[1].fields[0].replica.empty());

  // Present on the replica's site but not used by its policy: only the modification.
  auto rep2 = site({secured_by("web", "Environment:Dev")}, {"Environment:Dev", "Environment:Prod"});
  const auto r2 = diff_snapshots(src, rep2);
  REQUIRE(r2.items.size() == 1);
  CHECK(r2.items[0].kind == DriftKind::Modified);
}

TEST_CASE("reference: a service group missing on the replica", "[unit][diff][reference]") {
  auto src = grouped_snap({"10.0.0.0/24"}, kWebPorts);
  policy::Snapshot rep;
  rep.objects.push_back(obj(grouped_policy()));
  rep.objects.push_back(group(policy::ObjectKind::AddressGroup, "lb", {"10.0.0.0/24"}));
  rep.hash = policy::snapshot_hash(rep.objects, rep.canon_version);
  const auto r = diff_snapshots(src, rep);
  const auto& item = only(r);
  CHECK(item.kind == DriftKind::Reference);
  CHECK(item.severity == Severity::Critical);
  REQUIRE(item.fields.size() == 1);
  CHECK(item.fields[0].path == "service_group[web-ports]");
  CHECK_THAT(item.fields[0].source, Catch::Contains("443"));
  CHECK(item.fields[0].replica.empty());
}

TEST_CASE("reference: a group recreated under another name with the same members is cosmetic",
          "[unit][diff][reference]") {
  auto src = grouped_snap({"10.0.0.0/24"}, kWebPorts);
  auto p = grouped_policy();
  p["rules"][0]["peer"]["address_group"] = "lb-dr";
  policy::Snapshot rep;
  rep.objects.push_back(obj(p));
  rep.objects.push_back(group(policy::ObjectKind::AddressGroup, "lb-dr", {"10.0.0.0/24"}));
  rep.objects.push_back(group(policy::ObjectKind::ServiceGroup, "web-ports", kWebPorts));
  rep.hash = policy::snapshot_hash(rep.objects, rep.canon_version);
  const auto r = diff_snapshots(src, rep);
  const auto& item = only(r, DriftKind::Reference, Direction::Cosmetic, Severity::Info);
  CHECK(item.fields[0].path == "address_group[lb] renamed lb-dr");

  // Renamed and widened: more permissive.
  rep.objects[1] = group(policy::ObjectKind::AddressGroup, "lb-dr", {"10.0.0.0/24", "10.9.0.0/16"});
  CHECK(only(diff_snapshots(src, rep)).direction == Direction::MorePermissive);
}

TEST_CASE("dangling reference: the policy's comparison is a finding, never a crash or a skip",
          "[unit][diff][dangling]") {
  auto src = grouped_snap({"10.0.0.0/24"}, kWebPorts);
  // The replica's policy names an address group uuid its own site does not have.
  auto p = grouped_policy();
  p["rules"][0]["peer"]["address_group"] = "dangling:deadbeef";
  p["mode"] = "monitor";
  policy::Snapshot rep;
  rep.objects.push_back(obj(p));
  rep.objects.push_back(group(policy::ObjectKind::ServiceGroup, "web-ports", kWebPorts));
  rep.findings.push_back({"dangling_reference", "web", "address_group uuid deadbeef not found on site"});
  rep.hash = policy::snapshot_hash(rep.objects, rep.canon_version);
  const auto r = diff_snapshots(src, rep);
  REQUIRE(r.items.size() == 2);
  // The weaker mode is still reported: it does not depend on references.
  CHECK(r.items[0].kind == DriftKind::EnforcementMode);
  const auto& d = r.items[1];
  CHECK(d.object == "web");
  CHECK(d.kind == DriftKind::DanglingReference);
  CHECK(d.severity == Severity::Critical);
  CHECK(d.direction == Direction::Both);
  REQUIRE(d.fields.size() == 1);
  CHECK(d.fields[0].path == "replica");
  CHECK(d.fields[0].replica == R"("address_group uuid deadbeef not found on site")");
  CHECK_THAT(d.summary, Catch::Contains("replica references what its site lacks"));
  CHECK(to_string(d.kind) == "dangling_reference");
  CHECK(parse_kind("dangling_reference") == DriftKind::DanglingReference);

  // Dangling only on the source: the source of truth is broken; a warning for its owner.
  const auto back = diff_snapshots(rep, src);
  const auto& b = back.items.back();
  CHECK(b.kind == DriftKind::DanglingReference);
  CHECK(b.severity == Severity::Warning);
  CHECK(b.fields[0].path == "source");
}

TEST_CASE("modified: a service group against the same ports inline is cosmetic",
          "[unit][diff][behaviour]") {
  auto src = grouped_snap({"10.0.0.0/24"}, kWebPorts);
  auto p = grouped_policy();
  p["rules"][0]["service"] = {{"protocol", "tcp"}, {"ports", {{443, 443}}}};
  policy::Snapshot rep;
  rep.objects.push_back(obj(p));
  rep.objects.push_back(group(policy::ObjectKind::AddressGroup, "lb", {"10.0.0.0/24"}));
  rep.hash = policy::snapshot_hash(rep.objects, rep.canon_version);
  const auto r = diff_snapshots(src, rep);
  only(r, DriftKind::Modified, Direction::Cosmetic, Severity::Info);
}

// --- After a failover: items seen from the other side (diff::flipped) ---

namespace {

void check_same(const DriftItem& a, const DriftItem& b) {
  CHECK(a.object == b.object);
  CHECK(a.kind == b.kind);
  CHECK(a.severity == b.severity);
  CHECK(a.direction == b.direction);
  CHECK(a.summary == b.summary);
  CHECK(a.expected == b.expected);
  REQUIRE(a.fields.size() == b.fields.size());
  for (std::size_t i = 0; i < a.fields.size(); ++i) {
    CHECK(a.fields[i].path == b.fields[i].path);
    CHECK(a.fields[i].source == b.fields[i].source);
    CHECK(a.fields[i].replica == b.fields[i].replica);
  }
}

// A result with every kind: a weaker mode, a widened rule (with its example flow), a changed
// group, a dangling reference, a missing and an extra policy.
PairResult every_kind() {
  auto src = grouped_snap({"10.0.0.0/24"}, kWebPorts);
  auto wide = app_policy("api");
  wide["rules"].push_back({{"direction", "inbound"},
                           {"peer", {{"any", true}}},
                           {"service", {{"protocol", "tcp"}, {"ports", {{8443, 8443}}}}},
                           {"description", ""}});
  auto broken = app_policy("db");
  broken["rules"][0]["peer"] = {{"address_group", "dangling:feed"}};
  src.objects.push_back(obj(app_policy("api")));
  src.objects.push_back(obj(app_policy("db")));
  src.objects.push_back(obj(app_policy("mon", "monitor")));
  src.objects.push_back(obj(app_policy("gone")));
  policy::Snapshot rep = grouped_snap({"10.0.0.0/24", "0.0.0.0/0"}, kWebPorts);
  rep.objects.push_back(obj(wide));
  rep.objects.push_back(obj(broken));
  rep.objects.push_back(obj(app_policy("mon", "save")));
  rep.objects.push_back(obj(app_policy("new", "monitor")));
  rep.findings.push_back({"dangling_reference", "db", "address_group uuid feed not found on site"});
  src.hash = policy::snapshot_hash(src.objects, src.canon_version);
  rep.hash = policy::snapshot_hash(rep.objects, rep.canon_version);
  return diff_snapshots(src, rep);
}

}  // namespace

TEST_CASE("flipped: every kind seen from the other side and back is the item it was",
          "[unit][diff][flip]") {
  const auto r = every_kind();
  std::set<DriftKind> kinds;
  for (const auto& item : r.items) kinds.insert(item.kind);
  REQUIRE(kinds.size() == 6);  // every kind is in the corpus
  for (const auto& item : r.items) {
    INFO(item.object << " " << to_string(item.kind) << ": " << item.summary);
    const auto once = flipped(item);
    const bool presence = item.kind == DriftKind::Missing || item.kind == DriftKind::Extra;
    CHECK((once.kind != item.kind) == presence);
    CHECK(once.object == item.object);
    check_same(flipped(once), item);
  }
}

TEST_CASE("flipped: missing and extra trade places and are judged in the new direction",
          "[unit][diff][flip]") {
  auto q = app_policy("quarantine", "monitor");
  q["type"] = "quarantine";
  const auto primary = snap({app_policy("web"), app_policy("mon", "monitor"), q});
  const auto dr = snap({app_policy("dr-only")});
  auto seen = diff_snapshots(primary, dr);
  flip(seen);
  // The same as comparing the DR site, now the source, with the primary.
  const auto fresh = diff_snapshots(dr, primary);
  REQUIRE(seen.items.size() == fresh.items.size());
  for (std::size_t i = 0; i < seen.items.size(); ++i) check_same(seen.items[i], fresh.items[i]);
  // An enforced policy only on the primary is extra now: a warning, no longer critical.
  CHECK(seen.items.back().object == "web");
  CHECK(seen.items.back().kind == DriftKind::Extra);
  CHECK(seen.items.back().severity == Severity::Warning);
  CHECK(seen.items.back().summary == "application policy (enforce) only on replica");
  CHECK(seen.items.front().object == "dr-only");
  CHECK(seen.items.front().kind == DriftKind::Missing);
  CHECK(seen.items.front().severity == Severity::Critical);
}

TEST_CASE("flipped: a widened rule on the DR is a narrower primary, as a fresh diff says",
          "[unit][diff][flip]") {
  auto wide = app_policy("web");
  wide["rules"].push_back({{"direction", "inbound"},
                           {"peer", {{"any", true}}},
                           {"service", {{"protocol", "tcp"}, {"ports", {{8443, 8443}}}}},
                           {"description", ""}});
  const auto item = only(diff_snapshots(snap({app_policy("web")}), snap({wide})));
  const auto once = flipped(item);
  check_same(once, only(diff_snapshots(snap({wide}), snap({app_policy("web")}))));
  CHECK(once.direction == Direction::MoreRestrictive);
  CHECK(once.severity == Severity::Warning);
  CHECK_THAT(once.fields[0].path, Catch::StartsWith("rules[- "));
  CHECK_THAT(once.summary, Catch::Contains("replica more_restrictive; source allows inbound TCP/8443"));
}

TEST_CASE("flipped: a weaker DR mode is a stronger replica after failover",
          "[unit][diff][flip]") {
  auto quarantine = app_policy("q", "monitor");
  quarantine["type"] = "quarantine";
  auto enforced = quarantine;
  enforced["mode"] = "enforce";
  const auto r = diff_snapshots(snap({app_policy("web"), enforced}),
                                snap({app_policy("web", "monitor"), quarantine}));
  REQUIRE(r.items.size() == 2);
  const auto q = flipped(r.items[0]);
  CHECK(q.kind == DriftKind::EnforcementMode);
  CHECK(q.direction == Direction::MoreRestrictive);
  CHECK(q.severity == Severity::Critical);  // quarantine: always critical
  const auto web = flipped(r.items[1]);
  CHECK(web.severity == Severity::Warning);
  CHECK(web.summary == "mode monitor on source, enforce on replica");
  CHECK(web.fields[0].source == "\"monitor\"");
  CHECK(web.fields[0].replica == "\"enforce\"");
}

TEST_CASE("flipped: an item read back without its policy's mode keeps its severity",
          "[unit][diff][flip]") {
  DriftItem stored;
  stored.object = "web";
  stored.kind = DriftKind::Missing;
  stored.severity = Severity::Critical;
  stored.direction = Direction::MorePermissive;
  stored.summary = "application policy (enforce) absent on replica";
  stored.expected = ExpectedBy{"policy=web", "ops", "migration", "2099-01-01"};
  const auto once = flipped(stored);
  CHECK(once.kind == DriftKind::Extra);
  CHECK(once.severity == Severity::Critical);
  CHECK(once.direction == Direction::None);
  CHECK(once.summary == "application policy (enforce) only on replica");
  CHECK(once.expected == stored.expected);
  check_same(flipped(once), stored);
}
