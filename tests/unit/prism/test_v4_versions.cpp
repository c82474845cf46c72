// v4 version negotiation against a FakeV4Site serving chosen versions: detection by 1-item
// probes (newest first), remembered versions used without a probe, upgrades seen by probing the
// newer versions, downgrades detected again within the fetch; and the lists that come with the
// newer versions: entity groups (v4.1 and later) and VPCs (networking), complete or refused.
#include <catch2/catch.hpp>

#include "fake_v4_site.hpp"

using namespace flowdrift;
using namespace flowdrift::test;

namespace {

const std::vector<std::string> kEveryVersion{"v4.3", "v4.2", "v4.1", "v4.0"};

std::string text(const prism::V4Versions& v) {
  return "microseg=" + v.microseg + " prism=" + v.prism + " networking=" + v.networking;
}

bool is_probe(const http::HttpRequest& r) {
  return r.query_param("$page") == std::optional<std::string_view>("0") &&
         r.query_param("$limit") == std::optional<std::string_view>("1");
}

// The paths of the version probes the transport saw, in order.
std::vector<std::string> probes(const ScriptedTransport& t) {
  std::vector<std::string> out;
  for (const auto& r : t.requests) {
    if (is_probe(r)) out.emplace_back(r.path());
  }
  return out;
}

// How many requests went to a path containing `part`.
std::size_t requests_containing(const ScriptedTransport& t, const std::string& part) {
  std::size_t n = 0;
  for (const auto& r : t.requests) n += r.path().find(part) != std::string_view::npos ? 1 : 0;
  return n;
}

prism::FetchOptions remembering(prism::V4Versions versions) {
  auto o = v4_test_options();
  o.v4_versions = std::move(versions);
  return o;
}

std::string microseg(const std::string& version, const std::string& list) {
  return v4_path("microseg", version, list);
}

template <class T>
Error failure(const std::optional<Result<T>>& result) {
  REQUIRE_FALSE(result->has_value());
  return result->error();
}

FakeV4Site site_with_entity_groups(int n) {
  FakeV4Site site = make_v4_site(3);
  for (int i = 0; i < n; ++i) site.lists[kV4EntityGroups].push_back(make_v4_entity_group(i));
  return site;
}

}  // namespace

TEST_CASE("v4 versions: detection picks v4.3 when it is served", "[prism][v4][versions]") {
  FakeV4Site site = site_with_entity_groups(2);
  ScriptedTransport transport(site.responder());
  auto out = fetch_v4(transport, remembering({}));
  INFO((out.result->has_value() ? std::string() : out.result->error().message));
  REQUIRE(out.result->has_value());
  CHECK(text(out.stats.v4_versions) == text(kAllV4_3));
  CHECK(probes(transport) == std::vector<std::string>{microseg("v4.3", "policies"),
                                                      v4_path("prism", "v4.3", "categories"),
                                                      v4_path("networking", "v4.3", "vpcs")});
  CHECK(out.result->value().entity_groups.size() == 2);
  CHECK(FakeV4Site::requests_to(transport, kV4Policies).size() == 2);  // the probe, the page
}

TEST_CASE("v4 versions: detection falls back to v4.1 when v4.3 and v4.2 answer 404",
          "[prism][v4][versions]") {
  FakeV4Site site = site_with_entity_groups(2);
  site.served["microseg"] = {"v4.1", "v4.0"};
  ScriptedTransport transport(site.responder());
  auto out = fetch_v4(transport, remembering({}));
  INFO((out.result->has_value() ? std::string() : out.result->error().message));
  REQUIRE(out.result->has_value());
  CHECK(text(out.stats.v4_versions) == text({"v4.1", "v4.3", "v4.3"}));
  const auto seen = probes(transport);
  REQUIRE(seen.size() >= 3);
  CHECK(std::vector<std::string>(seen.begin(), seen.begin() + 3) ==
        std::vector<std::string>{microseg("v4.3", "policies"), microseg("v4.2", "policies"),
                                 microseg("v4.1", "policies")});
  CHECK(FakeV4Site::requests_to(transport, microseg("v4.1", "address-groups")).size() == 1);
  CHECK(FakeV4Site::requests_to(transport, microseg("v4.1", "entity-groups")).size() == 1);
  CHECK(out.result->value().entity_groups.size() == 2);
  CHECK(out.result->value().policies.size() == 3);
}

TEST_CASE("v4 versions: a remembered version is used without probing it",
          "[prism][v4][versions]") {
  SECTION("remembered v4.3, the newest: no probe at all") {
    FakeV4Site site = make_v4_site(3);
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, remembering(kAllV4_3));
    REQUIRE(out.result->has_value());
    CHECK(probes(transport).empty());
    CHECK(text(out.stats.v4_versions) == text(kAllV4_3));
    CHECK(out.stats.requests == 6);
  }
  SECTION("remembered v4.1: only the newer versions are probed") {
    FakeV4Site site = make_v4_site(3);
    site.served["microseg"] = {"v4.1", "v4.0"};
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, remembering({"v4.1", "v4.3", "v4.3"}));
    REQUIRE(out.result->has_value());
    CHECK(probes(transport) ==
          std::vector<std::string>{microseg("v4.3", "policies"), microseg("v4.2", "policies")});
    CHECK(out.stats.v4_versions.microseg == "v4.1");
  }
}

TEST_CASE("v4 versions: an upgrade is noticed on the next poll", "[prism][v4][versions]") {
  FakeV4Site site = make_v4_site(3);
  site.served["microseg"] = {"v4.1", "v4.0"};
  ScriptedTransport first_transport(site.responder());
  auto first = fetch_v4(first_transport, remembering({}));
  REQUIRE(first.result->has_value());
  REQUIRE(first.stats.v4_versions.microseg == "v4.1");

  site.served["microseg"] = kEveryVersion;  // the PC was upgraded
  ScriptedTransport second_transport(site.responder());
  auto second = fetch_v4(second_transport, remembering(first.stats.v4_versions));
  REQUIRE(second.result->has_value());
  CHECK(second.stats.v4_versions.microseg == "v4.3");
  CHECK(probes(second_transport) == std::vector<std::string>{microseg("v4.3", "policies")});
  CHECK(FakeV4Site::requests_to(second_transport, kV4Policies).size() == 2);

  ScriptedTransport third_transport(site.responder());
  auto third = fetch_v4(third_transport, remembering(second.stats.v4_versions));
  REQUIRE(third.result->has_value());
  CHECK(probes(third_transport).empty());
}

TEST_CASE("v4 versions: a remembered version that answers 404 is detected again in the poll",
          "[prism][v4][versions]") {
  SECTION("a downgrade to v4.1") {
    FakeV4Site site = make_v4_site(3);
    site.served["microseg"] = {"v4.1", "v4.0"};  // restored from an older backup
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, remembering(kAllV4_3));
    INFO((out.result->has_value() ? std::string() : out.result->error().message));
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().policies.size() == 3);
    CHECK(text(out.stats.v4_versions) == text({"v4.1", "v4.3", "v4.3"}));
    REQUIRE_FALSE(transport.requests.empty());
    CHECK(transport.requests.front().path() == microseg("v4.3", "address-groups"));
    CHECK_FALSE(is_probe(transport.requests.front()));
    CHECK(probes(transport) == std::vector<std::string>{microseg("v4.3", "policies"),
                                                        microseg("v4.2", "policies"),
                                                        microseg("v4.1", "policies")});
  }
  SECTION("networking gone: complete without VPCs when no policy references one") {
    FakeV4Site site = make_v4_site(3);
    site.served.erase("networking");
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, remembering(kAllV4_3));
    REQUIRE(out.result->has_value());
    CHECK(out.stats.v4_versions.networking.empty());
    CHECK(requests_containing(transport, "/api/networking/") == 1 + 4);
  }
  SECTION("a 404 after a fresh detection is an error, not another detection") {
    FakeV4Site site = make_v4_site(3);
    site.lists.erase(kV4AddressGroups);
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, remembering(kAllV4_3));
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().http_status == 404);
    CHECK_THAT(out.result->error().message, Catch::Contains(kV4AddressGroups));
    CHECK(FakeV4Site::requests_to(transport, kV4AddressGroups).size() == 2);
    CHECK(probes(transport) == std::vector<std::string>{kV4Policies});
  }
}

TEST_CASE("v4 versions: a namespace served on no version", "[prism][v4][versions]") {
  SECTION("no microseg: the Http 404 that api: auto falls back to v3 on") {
    const bool remembered = GENERATE(false, true);
    CAPTURE(remembered);
    FakeV4Site site = make_v4_site(3);
    site.served.erase("microseg");
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, remembering(remembered ? kAllV4_3 : prism::V4Versions{}));
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Http);
    CHECK(out.result->error().http_status == 404);
    CHECK_THAT(out.result->error().message, Catch::Contains(microseg("v4.0", "policies")));
    CHECK(probes(transport).size() == 4);
  }
  SECTION("no prism categories: an error") {
    FakeV4Site site = make_v4_site(3);
    site.served.erase("prism");
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, remembering({}));
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().http_status == 404);
    CHECK_THAT(out.result->error().message, Catch::Contains("/api/prism/v4.0/config/categories"));
  }
}

TEST_CASE("v4 versions: networking denied (403) is listed as not served, never guessed empty",
          "[prism][v4][versions]") {
  const bool referenced = GENERATE(false, true);
  CAPTURE(referenced);
  FakeV4Site site = make_v4_site(3);
  if (referenced) site.lists[kV4Policies].push_back(make_v4_vpc_policy(3));
  site.hook = [](FakeV4Site&, const V4Call& call) -> std::optional<Result<http::HttpResponse>> {
    if (call.endpoint == kV4Vpcs) return text_response(403, "denied");
    return std::nullopt;
  };
  ScriptedTransport transport(site.responder());
  auto out = fetch_v4(transport, remembering({}));
  if (referenced) {
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::EmptyList);
    CHECK_THAT(out.result->error().message, Catch::Contains("not served"));
  } else {
    REQUIRE(out.result->has_value());
    CHECK(out.stats.v4_versions.networking.empty());
  }
  // One probe: permission does not depend on the version.
  CHECK(FakeV4Site::requests_to(transport, kV4Vpcs).size() == 1);
}

TEST_CASE("v4 versions: a probe failing otherwise than 404 fails the fetch",
          "[prism][v4][versions]") {
  FakeV4Site site = make_v4_site(3);
  site.hook = [](FakeV4Site&, const V4Call& call) -> std::optional<Result<http::HttpResponse>> {
    if (call.endpoint == kV4Policies && call.version == "v4.3") return text_response(401, "no");
    return std::nullopt;
  };
  ScriptedTransport transport(site.responder());
  auto out = fetch_v4(transport, remembering({}));
  REQUIRE_FALSE(out.result->has_value());
  CHECK(out.result->error().reason == ErrorReason::Auth);
  CHECK(transport.requests.size() == 1);
}

TEST_CASE("v4 entity groups are listed from v4.1 on, not on v4.0", "[prism][v4][versions]") {
  FakeV4Site site = site_with_entity_groups(4);
  SECTION("v4.1") {
    site.served["microseg"] = {"v4.1"};
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, remembering({}));
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().entity_groups.size() == 4);
    CHECK(out.result->value().entity_groups.at(3) == make_v4_entity_group(3));
  }
  SECTION("v4.0") {
    site.served["microseg"] = {"v4.0"};
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, remembering({}));
    REQUIRE(out.result->has_value());
    CHECK(out.stats.v4_versions.microseg == "v4.0");
    CHECK(out.result->value().entity_groups.empty());
    CHECK(requests_containing(transport, "entity-groups") == 0);
    CHECK(out.result->value().address_groups.size() == 3);
  }
}

namespace {

// A reference listing and how to make its n-th item.
struct Listing {
  std::string endpoint;
  json (*make)(int);
};

json make_category(int i) { return make_v4_category(i, "Key" + std::to_string(i), "value"); }

const Listing kListings[] = {{kV4AddressGroups, &make_v4_address_group},
                             {kV4ServiceGroups, &make_v4_service_group},
                             {kV4EntityGroups, &make_v4_entity_group},
                             {kV4Categories, &make_category},
                             {kV4Vpcs, &make_v4_vpc}};

// make_v4_site(3) with `n` items in `listing`.
FakeV4Site site_listing(const Listing& listing, int n) {
  FakeV4Site site = make_v4_site(3);
  auto& items = site.lists[listing.endpoint];
  items.clear();
  for (int i = 0; i < n; ++i) items.push_back(listing.make(i));
  return site;
}

}  // namespace

TEST_CASE("v4 reference listings, entity groups and VPCs included, are paged and complete",
          "[prism][v4][versions][completeness]") {
  const Listing& listing = kListings[GENERATE(range(0, 5))];
  CAPTURE(listing.endpoint);
  SECTION("every page") {
    FakeV4Site site = site_listing(listing, 250);
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE(out.result->has_value());
    std::vector<std::string> pages;
    for (const auto* r : FakeV4Site::requests_to(transport, listing.endpoint)) {
      pages.emplace_back(r->query_param("$page").value_or("?"));
    }
    CHECK(pages == std::vector<std::string>{"0", "1", "2"});
  }
  SECTION("a short page before the total is Truncated") {
    FakeV4Site site = site_listing(listing, 250);
    site.page_cap = 60;
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Truncated);
    CHECK_THAT(out.result->error().message, Catch::Contains(listing.endpoint + " page 0"));
  }
  SECTION("a total that moves once restarts the listing") {
    FakeV4Site site = site_listing(listing, 150);
    site.hook = [&listing](FakeV4Site& s, const V4Call& call) -> std::optional<Result<http::HttpResponse>> {
      if (call.endpoint == listing.endpoint && call.index == 1) {
        s.lists[listing.endpoint].push_back(listing.make(150));
      }
      return std::nullopt;
    };
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE(out.result->has_value());
    CHECK(FakeV4Site::requests_to(transport, listing.endpoint).size() == 4);
  }
  SECTION("a duplicate extId is Truncated") {
    FakeV4Site site = site_listing(listing, 150);
    site.lists[listing.endpoint][120] = listing.make(3);
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Truncated);
    CHECK_THAT(out.result->error().message, Catch::Contains("duplicate extId"));
  }
}

TEST_CASE("v4 entity groups and VPCs come back whole", "[prism][v4][versions]") {
  FakeV4Site site = site_with_entity_groups(150);
  site.lists[kV4Vpcs] = {make_v4_vpc(0), make_v4_vpc(1)};
  site.lists[kV4Policies].push_back(make_v4_vpc_policy(3));
  ScriptedTransport transport(site.responder());
  auto out = fetch_v4(transport, v4_test_options());
  REQUIRE(out.result->has_value());
  CHECK(out.result->value().entity_groups.size() == 150);
  CHECK(out.result->value().entity_groups.at(149) == make_v4_entity_group(149));
  CHECK(out.result->value().vpcs.size() == 2);
  CHECK(out.result->value().vpcs.at(1) == make_v4_vpc(1));
}

TEST_CASE("v4 entity groups or VPCs referenced but not listed are EmptyList",
          "[prism][v4][versions][completeness]") {
  FakeV4Site site = make_v4_site(3);
  SECTION("no entity groups") {
    site.lists[kV4Policies].push_back(make_v4_entity_group_policy(3));
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::EmptyList);
    CHECK_THAT(out.result->error().message,
               Catch::Contains(kV4EntityGroups) && Catch::Contains("1 policy references"));
  }
  SECTION("VPCs not served, or served empty, on either fetch path") {
    const bool served = GENERATE(false, true);
    const bool snapshot = GENERATE(false, true);
    CAPTURE(served, snapshot);
    if (!served) site.served.erase("networking");
    site.lists[kV4Policies].push_back(make_v4_vpc_policy(3));
    site.lists[kV4Policies].push_back(make_v4_vpc_policy(4));
    ScriptedTransport transport(site.responder());
    const Error out = snapshot ? failure(fetch_snapshot(transport, remembering({}), true).result)
                               : failure(fetch_v4(transport, remembering({})).result);
    CHECK(out.reason == ErrorReason::EmptyList);
    CHECK_THAT(out.message, Catch::Contains(served ? kV4Vpcs : "/api/networking/v4.x/config/vpcs") &&
                                Catch::Contains(served ? "no VPCs, but" : "not served") &&
                                Catch::Contains("2 policies reference"));
  }
  SECTION("VPCs not served and not referenced: complete without them") {
    site.served.erase("networking");
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, remembering({}));
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().vpcs.empty());
    CHECK(out.stats.v4_versions.networking.empty());
  }
}

TEST_CASE("v4 versions: the snapshot path detects and reports versions as the raw fetch does",
          "[prism][v4][versions][snapshot]") {
  FakeV4Site site = make_v4_site(5);
  site.served["microseg"] = {"v4.2", "v4.1", "v4.0"};
  ScriptedTransport transport(site.responder());
  auto out = fetch_snapshot(transport, remembering({}), true);
  INFO((out.result->has_value() ? std::string() : out.result->error().message));
  REQUIRE(out.result->has_value());
  CHECK(out.result->value().count(policy::ObjectKind::Policy) == 5);
  CHECK(text(out.stats.v4_versions) == text({"v4.2", "v4.3", "v4.3"}));
  CHECK(FakeV4Site::requests_to(transport, microseg("v4.2", "policies")).size() == 2);
}
