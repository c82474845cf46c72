#include <catch2/catch.hpp>

#include "flows_test_support.hpp"
#include "policy/normalize_v3.hpp"
#include "support/canonical.hpp"

using namespace flowdrift;
using namespace flowdrift::flows;
using namespace flowdrift::flows::test;

namespace {

void check_cosmetic(const Comparison& c) {
  INFO("source-only example: " << c.source_example_text);
  INFO("replica-only example: " << c.replica_example_text);
  CHECK(c.classification == Classification::Cosmetic);
  CHECK(c.only_source.empty());
  CHECK(c.only_replica.empty());
  CHECK_FALSE(c.source_example.has_value());
  CHECK_FALSE(c.replica_example.has_value());
}

const std::string kDbSuffix = " (secured group categories AppTier:DB)";

}  // namespace

// ---- cosmetic cases of issue #5 item 1 ----

TEST_CASE("split-but-equal port ranges are cosmetic", "[unit][flows]") {
  const json whole = app({rule("inbound", any_peer(), tcp({{80, 90}}))});
  check_cosmetic(compared(whole, app({rule("inbound", any_peer(), tcp({{80, 80}, {81, 90}}))})));
  // Split across two rules, overlapping.
  check_cosmetic(compared(whole, app({rule("inbound", any_peer(), tcp({{80, 85}})),
                                      rule("inbound", any_peer(), tcp({{83, 90}}))})));
  // The same flows compile to the same set, not only to an empty difference.
  CHECK(compiled(whole) == compiled(app({rule("inbound", any_peer(), tcp({{80, 80}, {81, 90}}))})));
}

TEST_CASE("a /24 equals two /25s and an address group of the same CIDRs", "[unit][flows]") {
  Groups g;
  g.address_group("halves", {"10.1.2.0/25", "10.1.2.128/25"});
  const json one = app({rule("outbound", subnet("10.1.2.0/24"), udp({{53, 53}}))});
  check_cosmetic(compared(one, app({rule("outbound", subnet("10.1.2.0/25"), udp({{53, 53}})),
                                    rule("outbound", subnet("10.1.2.128/25"), udp({{53, 53}}))})));
  check_cosmetic(compared(one, app({rule("outbound", ag("halves"), udp({{53, 53}}))}), g));
  // Peer any is every IPv4 address.
  check_cosmetic(compared(app({rule("inbound", any_peer(), tcp({{22, 22}}))}),
                          app({rule("inbound", subnet("0.0.0.0/1"), tcp({{22, 22}})),
                               rule("inbound", subnet("128.0.0.0/1"), tcp({{22, 22}}))})));
}

TEST_CASE("duplicate rules and rule order are cosmetic", "[unit][flows]") {
  const json r1 = rule("inbound", cats({"AppType:Web"}), tcp({{8443, 8443}}));
  const json r2 = rule("outbound", subnet("10.0.0.0/8"), udp({{53, 53}}));
  const json r3 = rule("inbound", any_peer(), icmp({{{"type", 8}}}));
  check_cosmetic(compared(app({r1, r2, r3}), app({r3, r1, r2, r1, r3})));
  // Descriptions carry no behaviour.
  check_cosmetic(compared(app({r1}), app({rule("inbound", cats({"AppType:Web"}),
                                               tcp({{8443, 8443}}), "web to db")})));
}

TEST_CASE("a service group equals the same ports inline", "[unit][flows]") {
  Groups g;
  g.service_group("web", {tcp({{80, 80}, {443, 443}}), udp({{443, 443}})});
  check_cosmetic(compared(app({rule("inbound", cats({"AppType:Web"}), svc_group("web"))}),
                          app({rule("inbound", cats({"AppType:Web"}), tcp({{443, 443}, {80, 80}})),
                               rule("inbound", cats({"AppType:Web"}), udp({{443, 443}}))}),
                          g));
}

TEST_CASE("swapped isolation groups are cosmetic", "[unit][flows]") {
  const json prod = group({"Environment:Prod"});
  const json dev = group({"Environment:Dev"});
  check_cosmetic(compared(isolation(prod, dev), isolation(dev, prod)));
}

TEST_CASE("ICMP any covers every type and code", "[unit][flows]") {
  check_cosmetic(compared(app({rule("inbound", any_peer(), icmp({json::object()}))}),
                          app({rule("inbound", any_peer(),
                                    icmp({json::object(), {{"type", 8}, {"code", 0}}, {{"type", 3}}}))})));
  // Every code of type 3, listed one by one, is type 3.
  json codes = json::array();
  for (int c = 255; c >= 0; --c) codes.push_back({{"type", 3}, {"code", c}});
  check_cosmetic(compared(app({rule("inbound", any_peer(), icmp({{{"type", 3}}}))}),
                          app({rule("inbound", any_peer(), icmp(codes))})));
}

TEST_CASE("a category rule already allowed from any is cosmetic", "[unit][flows]") {
  const json base = app({rule("inbound", any_peer(), tcp({{443, 443}}))});
  check_cosmetic(compared(
      base, app({rule("inbound", any_peer(), tcp({{443, 443}})),
                 rule("inbound", cats({"AppType:Web"}), tcp({{443, 443}}))})));
}

namespace {

// A minimal v3 app_rule entity: secured group AppTier:DB, one inbound TCP/22 entry from
// 10.0.0.0/8, and the given outbound allow list (absent when null).
json v3_entity(const json& outbound) {
  json app_rule = {
      {"action", "APPLY"},
      {"target_group",
       {{"default_internal_policy", "DENY_ALL"},
        {"peer_specification_type", "FILTER"},
        {"filter",
         {{"type", "CATEGORIES_MATCH_ALL"}, {"kind_list", {"vm"}}, {"params", {{"AppTier", {"DB"}}}}}}}},
      {"inbound_allow_list",
       {{{"peer_specification_type", "IP_SUBNET"},
         {"ip_subnet", {{"ip", "10.0.0.0"}, {"prefix_length", 8}}},
         {"protocol", "TCP"},
         {"tcp_port_range_list", {{{"start_port", 22}, {"end_port", 22}}}}}}}};
  if (!outbound.is_null()) app_rule["outbound_allow_list"] = outbound;
  return json{{"metadata", {{"kind", "network_security_rule"}, {"uuid", "11111111-0000-4000-8000-000000000001"}}},
              {"spec", {{"name", "db-tier"}, {"resources", {{"app_rule", app_rule}}}}}};
}

json v3_canonical(const json& outbound) {
  policy::V3SiteData site;
  site.rules.push_back(v3_entity(outbound));
  site.category_values["AppTier"] = {
      json{{"name", "AppTier"}, {"value", "DB"}, {"system_defined", false}}};
  auto snap = policy::canonicalize_v3(site);
  if (!snap) {
    FAIL("canonicalize_v3: " << snap.error().message);
  }
  for (const auto& o : snap->objects) {
    if (o.kind == policy::ObjectKind::Policy) return json::parse(o.json);
  }
  FAIL("no policy in the snapshot");
  return {};
}

}  // namespace

TEST_CASE("v3 no protocol means all protocols, as canonicalized", "[unit][flows]") {
  // An outbound entry to any peer without a protocol, and an empty outbound list, both allow
  // everything out (v3 semantics kept by the canonical model).
  const json no_protocol = v3_canonical(json::array({{{"peer_specification_type", "ALL"}}}));
  const json empty_list = v3_canonical(json::array());
  const json absent_list = v3_canonical(json());
  check_cosmetic(compare(compiled(no_protocol), compiled(empty_list)));
  check_cosmetic(compare(compiled(no_protocol), compiled(absent_list)));

  // "All" is more than TCP+UDP+ICMP: a replica listing those three lacks the other protocols.
  const json three = v3_canonical(json::array(
      {{{"peer_specification_type", "ALL"}, {"protocol", "TCP"}},
       {{"peer_specification_type", "ALL"}, {"protocol", "UDP"}},
       {{"peer_specification_type", "ALL"}, {"protocol", "ICMP"}}}));
  const Comparison c = compare(compiled(no_protocol), compiled(three));
  CHECK(c.classification == Classification::MoreRestrictive);
  CHECK(c.source_example_text == "outbound IP protocols other than TCP/UDP/ICMP to any" + kDbSuffix);
}

// ---- directional cases, with the example flow ----

TEST_CASE("a port only the replica allows is more permissive", "[unit][flows]") {
  const json source = app({rule("inbound", cats({"AppType:Web"}), tcp({{443, 443}}))});
  const json replica = app({rule("inbound", cats({"AppType:Web"}), tcp({{443, 443}, {8443, 8443}}))});
  const Comparison c = compared(source, replica);
  CHECK(c.classification == Classification::MorePermissive);
  CHECK(c.only_source.empty());
  REQUIRE(c.replica_example.has_value());
  CHECK(c.replica_example_text == "inbound TCP/8443 from categories AppType:Web" + kDbSuffix);
  CHECK(allows(compiled(replica), *c.replica_example));
  CHECK_FALSE(allows(compiled(source), *c.replica_example));
  // The same pair the other way round is more restrictive.
  CHECK(compared(replica, source).classification == Classification::MoreRestrictive);
}

TEST_CASE("a narrower subnet on the replica is more restrictive, example in the gap",
          "[unit][flows]") {
  const json source = app({rule("outbound", subnet("10.1.2.0/23"), udp({{53, 53}}))});
  const json replica = app({rule("outbound", subnet("10.1.3.0/24"), udp({{53, 53}}))});
  const Comparison c = compared(source, replica);
  CHECK(c.classification == Classification::MoreRestrictive);
  CHECK(c.only_replica.empty());
  CHECK(c.source_example_text == "outbound UDP/53 to 10.1.2.0/24" + kDbSuffix);
  REQUIRE(c.source_example.has_value());
  CHECK(c.source_example->prefix == 24);
}

TEST_CASE("different ports on each side are both, with an example each way", "[unit][flows]") {
  const Comparison c = compared(app({rule("inbound", subnet("192.168.0.0/16"), tcp({{80, 90}}))}),
                                app({rule("inbound", subnet("192.168.0.0/16"), tcp({{85, 100}}))}));
  CHECK(c.classification == Classification::Both);
  CHECK(c.source_example_text == "inbound TCP/80 from 192.168.0.0/16" + kDbSuffix);
  CHECK(c.replica_example_text == "inbound TCP/91 from 192.168.0.0/16" + kDbSuffix);
}

TEST_CASE("a widened address group is more permissive", "[unit][flows]") {
  Groups src, rep;
  src.address_group("lb", {"10.0.0.0/24"});
  rep.address_group("lb", {"10.0.0.0/24", "10.9.9.9/32"});
  const json p = app({rule("inbound", ag("lb"), tcp({{443, 443}}))});
  const Comparison c = compare(compiled(p, src), compiled(p, rep));
  CHECK(c.classification == Classification::MorePermissive);
  CHECK(c.replica_example_text == "inbound TCP/443 from 10.9.9.9" + kDbSuffix);
}

TEST_CASE("a category peer is covered only by itself or by any", "[unit][flows]") {
  // Half of the address space does not certainly contain the Web VMs: more restrictive.
  const json by_category = app({rule("inbound", cats({"AppType:Web"}), tcp({{80, 80}}))});
  const Comparison c = compared(by_category, app({rule("inbound", subnet("0.0.0.0/1"), tcp({{80, 80}}))}));
  CHECK(c.classification == Classification::Both);
  CHECK(c.source_example_text == "inbound TCP/80 from categories AppType:Web" + kDbSuffix);
  // Any covers it.
  CHECK(compared(by_category, app({rule("inbound", any_peer(), tcp({{80, 80}}))})).classification ==
        Classification::MorePermissive);
  // match all vs any over two keys are different peers.
  const Comparison m = compared(app({rule("inbound", cats({"A:x", "B:y"}, "all"), tcp({{80, 80}}))}),
                                app({rule("inbound", cats({"A:x", "B:y"}, "any"), tcp({{80, 80}}))}));
  CHECK(m.classification == Classification::Both);
  CHECK(m.replica_example_text ==
        "inbound TCP/80 from categories A:x, B:y (match any)" + kDbSuffix);
}

TEST_CASE("policy switches: intra-group, IPv6, secured group", "[unit][flows]") {
  const json r = rule("inbound", any_peer(), tcp({{443, 443}}));
  json allow = app({r});
  allow["intra_group"] = "allow";
  const Comparison c = compared(app({r}), allow);
  CHECK(c.classification == Classification::MorePermissive);
  CHECK(c.replica_example_text == "traffic within the secured group categories AppTier:DB");

  // Absent intra_group is the PC default: only possibly different.
  json unspecified = app({r});
  unspecified.erase("intra_group");
  const Comparison u = compared(unspecified, allow);
  CHECK(u.classification == Classification::MorePermissive);
  CHECK(u.only_replica.intra_uncertain);
  CHECK_FALSE(u.only_replica.intra);
  check_cosmetic(compared(unspecified, unspecified));

  json v6 = app({r});
  v6["allow_ipv6"] = true;
  const Comparison i = compared(v6, app({r}));
  CHECK(i.classification == Classification::MoreRestrictive);
  CHECK(i.source_example_text == "IPv6 traffic" + kDbSuffix);

  // Another secured group: the same rules protect other VMs, so no flow is shared.
  json other = app({r});
  other["secured_group"] = group({"AppTier:App"});
  const Comparison t = compared(app({r}), other);
  CHECK(t.classification == Classification::Both);
  CHECK(t.replica_example_text ==
        "inbound TCP/443 from any (secured group categories AppTier:App)");
}

TEST_CASE("a missing isolation lets traffic between the groups through", "[unit][flows]") {
  const json prod = group({"Environment:Prod"});
  const json dev = group({"Environment:Dev"});
  json none = isolation(prod, dev);
  none["isolation"] = json::array();
  const Comparison c = compared(isolation(prod, dev), none);
  CHECK(c.classification == Classification::MorePermissive);
  CHECK(c.replica_example_text ==
        "traffic between categories Environment:Dev and categories Environment:Prod (isolation)");
  REQUIRE(c.replica_example.has_value());
  CHECK(allows(compiled(none), *c.replica_example));
  CHECK_FALSE(allows(compiled(isolation(dev, prod)), *c.replica_example));
}

TEST_CASE("the view resolver finds referenced groups by kind and name", "[unit][flows]") {
  policy::Snapshot snap;
  auto add = [&](policy::ObjectKind k, std::string name, std::string text) {
    snap.objects.push_back(flowdrift::test::canonical_object(k, std::move(name), std::move(text)));
  };
  add(policy::ObjectKind::Policy, "db-tier", "{}");
  add(policy::ObjectKind::AddressGroup, "lb", R"({"addresses":["10.0.0.0/24"],"description":"","name":"lb"})");
  add(policy::ObjectKind::ServiceGroup, "lb",
      R"({"description":"","name":"lb","services":[{"ports":[[443,443]],"protocol":"tcp"}]})");
  const policy::SnapshotView view(snap);
  const Resolver resolve = view_resolver(view);
  const auto* lb = resolve(policy::ObjectKind::AddressGroup, "lb");
  REQUIRE(lb != nullptr);
  CHECK(lb->json().find("10.0.0.0/24") != std::string::npos);
  CHECK(resolve(policy::ObjectKind::AddressGroup, "db-tier") == nullptr);
  auto set = compile_policy(app({rule("inbound", ag("lb"), svc_group("lb"))}).dump(), resolve);
  REQUIRE(set.has_value());
  Flow f;
  f.target = set->target;
  f.address = (10u << 24) + 7;
  f.value = 443;
  CHECK(allows(*set, f));
  f.value = 444;
  CHECK_FALSE(allows(*set, f));
}

// ---- bad input ----

TEST_CASE("unresolvable references and malformed fields are errors naming the place",
          "[unit][flows]") {
  auto err = [](const json& p, const Groups& g = {}) {
    auto r = compile_policy(p.dump(), g.resolver());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().reason == ErrorReason::Malformed);
    return r.error().message;
  };
  CHECK(err(app({rule("inbound", ag("dangling:dead"), all_services())})) ==
        "policy 'db-tier': /rules/0/peer/address_group: address_group 'dangling:dead' cannot be "
        "resolved");
  CHECK(err(app({rule("inbound", any_peer(), tcp({{80, 80}})),
                 rule("outbound", any_peer(), svc_group("nope"))})) ==
        "policy 'db-tier': /rules/1/service/service_group: service_group 'nope' cannot be resolved");
  CHECK(err(app({rule("inbound", subnet("10.0.0.0/33"), all_services())})) ==
        "policy 'db-tier': /rules/0/peer/subnet: expected CIDR a.b.c.d/n, got string "
        "\"10.0.0.0/33\"");
  CHECK(err(app({rule("inbound", any_peer(), tcp({{90, 80}}))})) ==
        "policy 'db-tier': /rules/0/service/ports/0: expected ports 0..65535 with start <= end, "
        "got array [90,80]");
  Groups g;
  g.address_group("bad", {"10.0.0.300/32"});
  CHECK(err(app({rule("inbound", ag("bad"), all_services())}), g) ==
        "policy 'db-tier': /rules/0/peer/address_group: address_group 'bad': /addresses/0: expected a.b.c.d/n or a.b.c.d-e.f.g.h, got string "
        "\"10.0.0.300/32\"");
  CHECK(compile_policy("{not json", Groups{}.resolver()).error().message ==
        "policy: not valid JSON: expected object key at offset 1");
  CHECK(compile_policy("[1,2]", Groups{}.resolver()).error().message ==
        "policy: not a JSON object");
  CHECK(compile_policy(R"({"name":"x","rules":[]} trailing)", Groups{}.resolver()).error().message ==
        "policy: not valid JSON: trailing characters at offset 24");
  // Ports must be integers in range: no fractions, no negatives.
  CHECK(err(app({rule("inbound", any_peer(), tcp({{80.0, 81}}))})) ==
        "policy 'db-tier': /rules/0/service/ports/0: expected ports 0..65535 with start <= end, "
        "got array [80.0,81]");
  CHECK(err(app({rule("inbound", any_peer(), tcp({{-1, 81}}))})) ==
        "policy 'db-tier': /rules/0/service/ports/0: expected ports 0..65535 with start <= end, "
        "got array [-1,81]");
}

TEST_CASE("escaped and non-ASCII category names are read exactly", "[unit][flows]") {
  const json quoted = app({rule("inbound", cats({"App\"Type:W\u00e9b"}), tcp({{80, 80}}))});
  const FlowSet set = compiled(quoted);
  const auto& cats_in = set.planes[plane_index(Direction::Inbound, Protocol::Tcp)].categories;
  REQUIRE(cats_in.size() == 1);
  CHECK(json::parse(cats_in.front().peer) == cats({"App\"Type:W\u00e9b"}));
  const Comparison c = compared(app(json::array()), quoted);
  CHECK(c.replica_example_text == "inbound TCP/80 from categories App\"Type:W\u00e9b" + kDbSuffix);
  // Escaped keys are found too.
  CHECK(compile_policy(R"({"n\u0061me":"esc","rules":[{"direction":"sideways"}]})",
                       Groups{}.resolver())
            .error()
            .message == "policy 'esc': /rules/0/direction: expected inbound or outbound, got "
                        "string \"sideways\"");
}

TEST_CASE("a v4 address range equals the CIDRs it spans", "[unit][flows]") {
  Groups g;
  g.address_group("range", {"10.0.0.0-10.0.1.255", "192.168.1.1-192.168.1.1"});
  check_cosmetic(compared(app({rule("inbound", ag("range"), tcp({{443, 443}}))}),
                          app({rule("inbound", subnet("10.0.0.0/23"), tcp({{443, 443}})),
                               rule("inbound", subnet("192.168.1.1/32"), tcp({{443, 443}}))}),
                          g));
  // One address short is more restrictive, and the example is the missing address.
  Groups short_range;
  short_range.address_group("range", {"10.0.0.0-10.0.1.254", "192.168.1.1-192.168.1.1"});
  const json p = app({rule("inbound", ag("range"), tcp({{443, 443}}))});
  const Comparison c = compare(compiled(p, g), compiled(p, short_range));
  CHECK(c.classification == Classification::MoreRestrictive);
  CHECK(c.source_example_text == "inbound TCP/443 from 10.0.1.255" + kDbSuffix);
}

TEST_CASE("a Compiler reused across policies gives what compile_policy gives", "[unit][flows]") {
  Groups g;
  g.address_group("lb", {"10.0.0.0/24"});
  g.service_group("web", {tcp({{80, 80}, {443, 443}})});
  const std::vector<json> policies = {
      app({rule("inbound", ag("lb"), svc_group("web"))}),
      app({rule("outbound", ag("lb"), tcp({{22, 22}})), rule("inbound", any_peer(), svc_group("web"))}),
      app({rule("inbound", cats({"AppType:Web"}), svc_group("web"))})};
  Compiler compiler(g.resolver());
  for (const json& p : policies) {
    auto cached = compiler.compile(p.dump());
    REQUIRE(cached.has_value());
    CHECK(*cached == compiled(p, g));
  }
  // Errors are not cached away: an unknown group is still an error on the second policy.
  CHECK_FALSE(compiler.compile(app({rule("inbound", ag("nope"), all_services())}).dump()).has_value());
  CHECK_FALSE(compiler.compile(app({rule("inbound", ag("nope"), all_services())}).dump()).has_value());
}

TEST_CASE("an entity-group peer is symbolic, like a category set", "[unit][flows][v43]") {
  const json eg = json{{"entity_group", "eg-lb"}};
  const json a = app({rule("inbound", eg, tcp({{443, 443}}))});
  check_cosmetic(compared(a, app({rule("inbound", eg, tcp({{443, 443}})),
                                  rule("inbound", eg, tcp({{443, 443}}), "again")})));
  const auto other = compared(a, app({rule("inbound", json{{"entity_group", "eg-db"}}, tcp({{443, 443}}))}));
  CHECK(other.classification == Classification::Both);
}

TEST_CASE("a member the flows model does not know does not compile", "[unit][flows][v43]") {
  json p = app({rule("inbound", any_peer(), tcp({{22, 22}}))});
  p["unmodelled"] = {{"futureField", 1}};
  auto r = compile_policy(p.dump(), Groups{}.resolver());
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message == "policy 'db-tier': /unmodelled: a construct the flows model does not know");
  json q = app({rule("inbound", any_peer(), tcp({{22, 22}}))});
  q["rules"][0]["rule_type"] = "shared_service";
  auto rr = compile_policy(q.dump(), Groups{}.resolver());
  REQUIRE_FALSE(rr.has_value());
  CHECK(rr.error().message ==
        "policy 'db-tier': /rules/0/rule_type: a construct the flows model does not know");
  // VPC scope is where the policy applies: other VPCs, other target.
  json r1 = app({rule("inbound", any_peer(), tcp({{22, 22}}))});
  json r2 = r1;
  r1["vpcs"] = {"vpc-a"};
  r2["vpcs"] = {"vpc-b"};
  CHECK(compiled(r1).target != compiled(r2).target);
}
