// fetch_v3_snapshot / fetch_v4_snapshot: the collector's page-by-page path gives exactly the
// snapshot of canonicalizing the whole fetched site, keeps the completeness rules, and forgets
// what it built when a listing restarts.
#include <catch2/catch.hpp>

#include "fake_site.hpp"
#include "fake_v4_site.hpp"
#include "http/work_pool.hpp"
#include "policy/normalize_v3.hpp"
#include "policy/normalize_v4.hpp"

using namespace flowdrift;
using namespace flowdrift::test;

namespace {

bool has_duplicate_finding(const policy::Snapshot& s) {
  for (const auto& f : s.findings) {
    if (f.kind == "duplicate_name") return true;
  }
  return false;
}

// A v3 rule that also allows traffic from address group `ag`.
nlohmann::json rule_with_group(int i, const std::string& ag) {
  auto r = make_rule(i);
  r["spec"]["resources"]["app_rule"]["inbound_allow_list"].push_back(
      {{"peer_specification_type", "IP_SUBNET"},
       {"address_group_inclusion_list", {{{"kind", "address_group"}, {"uuid", ag}}}}});
  return r;
}

}  // namespace

TEST_CASE("v3: the page-by-page snapshot equals canonicalizing the whole site",
          "[prism][snapshot]") {
  FakeSite site = make_site(1234);
  site.lists["network_security_rules/list"][3] =
      rule_with_group(3, site.lists["address_groups/list"][0].at("uuid").get<std::string>());
  ScriptedTransport raw_transport(site.responder());
  auto raw = fetch(raw_transport, test_options());
  REQUIRE(raw.result->has_value());
  auto expected = policy::canonicalize_v3(raw.result->value());
  REQUIRE(expected.has_value());

  ScriptedTransport transport(site.responder());
  auto out = fetch_snapshot(transport, test_options(), false);
  REQUIRE(out.result->has_value());
  const auto& snap = out.result->value();
  CHECK(snap.hash == expected->hash);
  CHECK(snap.count(policy::ObjectKind::Policy) == 1234);
  CHECK(snap.count(policy::ObjectKind::AddressGroup) == 1);
  CHECK(snap.findings == expected->findings);
  CHECK(FakeSite::requests_to(transport, "network_security_rules/list").size() == 3);
  // Only the values of referenced keys; the key list itself is not needed for a snapshot.
  CHECK(FakeSite::requests_to(transport, "categories/AppType/list").size() == 1);
  CHECK(FakeSite::requests_to(transport, "categories/Unused/list").empty());
  CHECK(FakeSite::requests_to(transport, "categories/list").empty());
}

TEST_CASE("v3: a restarted rule listing does not keep the policies of the first pass",
          "[prism][snapshot][completeness]") {
  FakeSite site = make_site(600);
  site.hook = [](FakeSite& s, const ListCall& call) -> std::optional<Result<http::HttpResponse>> {
    if (call.endpoint == "network_security_rules/list" && call.index == 1) {
      s.lists["network_security_rules/list"].push_back(make_rule(5000));
    }
    return std::nullopt;
  };
  ScriptedTransport transport(site.responder());
  auto out = fetch_snapshot(transport, test_options(), false);
  REQUIRE(out.result->has_value());
  CHECK(out.result->value().count(policy::ObjectKind::Policy) == 601);
  CHECK_FALSE(has_duplicate_finding(out.result->value()));
  CHECK(FakeSite::requests_to(transport, "network_security_rules/list").size() == 4);
}

TEST_CASE("v3: the snapshot path keeps the completeness rules", "[prism][snapshot][completeness]") {
  SECTION("an empty policy list after a non-empty snapshot") {
    FakeSite site = make_site(0);
    ScriptedTransport transport(site.responder());
    auto options = test_options();
    options.previous_policy_count = 42;
    auto out = fetch_snapshot(transport, options, false);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::EmptyList);
    CHECK_THAT(out.result->error().message, Catch::Contains("42"));
  }
  SECTION("no address groups while rules reference one") {
    FakeSite site = make_site(10, 0);
    site.lists["network_security_rules/list"][2] = rule_with_group(2, uuid_for('a', 1));
    ScriptedTransport transport(site.responder());
    auto out = fetch_snapshot(transport, test_options(), false);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::EmptyList);
    CHECK_THAT(out.result->error().message,
               Catch::Contains("address_groups/list") && Catch::Contains("1 policy references"));
  }
  SECTION("a malformed rule names the rule and the path") {
    FakeSite site = make_site(700);
    site.lists["network_security_rules/list"][650]["spec"]["resources"]["app_rule"]["action"] = 7;
    ScriptedTransport transport(site.responder());
    auto out = fetch_snapshot(transport, test_options(), false);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Malformed);
    CHECK_THAT(out.result->error().message, Catch::Contains("rules[650]"));
  }
  SECTION("a dangling group reference is a finding, not an error") {
    FakeSite site = make_site(10);
    site.lists["network_security_rules/list"][4] = rule_with_group(4, uuid_for('a', 99));
    ScriptedTransport transport(site.responder());
    auto out = fetch_snapshot(transport, test_options(), false);
    REQUIRE(out.result->has_value());
    REQUIRE(out.result->value().findings.size() == 1);
    CHECK(out.result->value().findings[0].kind == "dangling_reference");
    CHECK(out.result->value().findings[0].object == "rule-00004");
  }
}

TEST_CASE("v4: the page-by-page snapshot equals canonicalizing the whole site",
          "[prism][snapshot][v4]") {
  FakeV4Site site = make_v4_site(345, 3, 2, 10);
  ScriptedTransport raw_transport(site.responder());
  auto raw = fetch_v4(raw_transport, v4_test_options());
  REQUIRE(raw.result->has_value());
  auto expected = policy::canonicalize_v4(raw.result->value());
  REQUIRE(expected.has_value());

  ScriptedTransport transport(site.responder());
  auto out = fetch_snapshot(transport, v4_test_options(), true);
  REQUIRE(out.result->has_value());
  CHECK(out.result->value().hash == expected->hash);
  CHECK(out.result->value().count(policy::ObjectKind::Policy) == 345);
  CHECK(out.result->value().findings == expected->findings);
}

TEST_CASE("v4: the snapshot path restarts cleanly and keeps the completeness rules",
          "[prism][snapshot][v4][completeness]") {
  SECTION("a total that moves once") {
    FakeV4Site site = make_v4_site(250);
    site.hook = [](FakeV4Site& s, const V4Call& call) -> std::optional<Result<http::HttpResponse>> {
      if (call.endpoint == kV4Policies && call.index == 1) {
        s.lists[kV4Policies].push_back(make_v4_policy(9000));
      }
      return std::nullopt;
    };
    ScriptedTransport transport(site.responder());
    auto out = fetch_snapshot(transport, v4_test_options(), true);
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().count(policy::ObjectKind::Policy) == 251);
    CHECK_FALSE(has_duplicate_finding(out.result->value()));
  }
  SECTION("no policies after a non-empty snapshot") {
    FakeV4Site site = make_v4_site(0);
    ScriptedTransport transport(site.responder());
    auto options = v4_test_options();
    options.previous_policy_count = 12;
    auto out = fetch_snapshot(transport, options, true);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::EmptyList);
  }
  SECTION("no address groups while policies reference some") {
    FakeV4Site site = make_v4_site(5, 0, 2, 2);
    ScriptedTransport transport(site.responder());
    auto out = fetch_snapshot(transport, v4_test_options(), true);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::EmptyList);
    CHECK_THAT(out.result->error().message,
               Catch::Contains(kV4AddressGroups) && Catch::Contains("2 policies reference"));
  }
}

// With a memo (as the collector polls): policy pages are read without a DOM and unchanged
// policies are reused, with the same snapshot and the same completeness verdicts.
TEST_CASE("v4: the snapshot path with a policy memo equals the path without",
          "[prism][snapshot][v4]") {
  FakeV4Site site = make_v4_site(345, 3, 2, 10);
  auto options = v4_test_options();
  options.v4_memo = std::make_shared<policy::V4PolicyMemo>();
  // As the daemon polls: pages canonicalized on a work pool, pipelined with the next fetch.
  const bool pooled = GENERATE(false, true);
  http::WorkPool pool(2);
  if (pooled) options.work_pool = &pool;
  CAPTURE(pooled);

  ScriptedTransport plain_transport(site.responder());
  auto plain = fetch_snapshot(plain_transport, v4_test_options(), true);
  REQUIRE(plain.result->has_value());

  ScriptedTransport transport(site.responder());
  auto first = fetch_snapshot(transport, options, true);
  REQUIRE(first.result->has_value());
  CHECK(first.result->value().hash == plain.result->value().hash);
  CHECK(first.result->value().findings == plain.result->value().findings);
  CHECK(options.v4_memo->misses() == 345);

  auto second = fetch_snapshot(transport, options, true);
  REQUIRE(second.result->has_value());
  CHECK(second.result->value().hash == plain.result->value().hash);
  CHECK(options.v4_memo->hits() == 345);

  SECTION("a changed policy is seen") {
    site.lists[kV4Policies][7]["description"] = "changed";
    auto third = fetch_snapshot(transport, options, true);
    REQUIRE(third.result->has_value());
    CHECK(third.result->value().hash != plain.result->value().hash);
    CHECK(options.v4_memo->misses() == 346);
    ScriptedTransport check_transport(site.responder());
    auto fresh = fetch_snapshot(check_transport, v4_test_options(), true);
    REQUIRE(fresh.result->has_value());
    CHECK(third.result->value().hash == fresh.result->value().hash);
  }
  SECTION("a changed policy that does not canonicalize is named by its place in the listing") {
    site.lists[kV4Policies][250]["state"] = "";
    auto out = fetch_snapshot(transport, options, true);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Malformed);
    CHECK_THAT(out.result->error().message,
               Catch::StartsWith("policies[250]") && Catch::Contains("/state"));
  }
  SECTION("a page that is not JSON is malformed") {
    site.hook = [](FakeV4Site&, const V4Call& call) -> std::optional<Result<http::HttpResponse>> {
      if (call.endpoint == kV4Policies && call.page == 1) return text_response(200, "<html>");
      return std::nullopt;
    };
    auto out = fetch_snapshot(transport, options, true);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Malformed);
    CHECK_THAT(out.result->error().message,
               Catch::StartsWith(kV4Policies + " page 1: HTTP 200 body is not valid JSON: "));
  }
  SECTION("an ErrorResponse in a 2xx answer is still an HTTP error") {
    site.hook = [](FakeV4Site&, const V4Call& call) -> std::optional<Result<http::HttpResponse>> {
      if (call.endpoint != kV4Policies || call.page != 1) return std::nullopt;
      return json_response(
          200, {{"data",
                 {{"$objectType", "microseg.v4.error.ErrorResponse"},
                  {"error", json::array({{{"code", "MSEG-1"}, {"message", "nope"}}})}}}});
    };
    auto out = fetch_snapshot(transport, options, true);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Http);
    CHECK_THAT(out.result->error().message, Catch::Contains("MSEG-1: nope"));
  }
  SECTION("the same extId twice is a shifted listing") {
    site.mangle = [](const V4Call& call, json& page) {
      if (call.endpoint == kV4Policies && call.page == 2) page["data"][1]["extId"] = page["data"][0]["extId"];
    };
    auto out = fetch_snapshot(transport, options, true);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Truncated);
    CHECK_THAT(out.result->error().message, Catch::Contains("duplicate extId"));
  }
  SECTION("a short page before the total is truncated") {
    site.mangle = [](const V4Call& call, json& page) {
      if (call.endpoint == kV4Policies && call.page == 1) page["data"].erase(page["data"].size() - 1);
    };
    auto out = fetch_snapshot(transport, options, true);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Truncated);
  }
  SECTION("policies referencing address groups while the site lists none") {
    site.lists[kV4AddressGroups].clear();
    auto out = fetch_snapshot(transport, options, true);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::EmptyList);
  }
}
