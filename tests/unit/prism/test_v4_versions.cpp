// v4 version negotiation against a simulated PC whose namespaces serve chosen versions
// (pcsim's v4_namespace_versions): detection by 1-item probes (newest first), remembered
// versions used without a probe, upgrades seen by probing the newer versions, downgrades
// detected again within the fetch; and the lists that come with the newer versions: entity
// groups (v4.1 and later) and VPCs (networking), complete or refused.
#include <catch2/catch.hpp>

#include "prism_pc.hpp"

using namespace flowdrift;
using namespace flowdrift::test;
using nlohmann::json;

namespace {

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

pcsim::SiteData site_with_entity_groups(int n, int policies = 3) {
  auto site = site_data(policies);
  add_entity_groups(site, n);
  return site;
}

// A PC serving site_data(3) whose `ns` namespace serves up to `version` ("none": not at all).
struct LaggingPc : Pc {
  LaggingPc(const std::string& ns, const std::string& version) : Pc(3) {
    sim.set_v4_namespace_version(ns, version);
  }
};

}  // namespace

TEST_CASE("v4 versions: detection picks v4.3 when it is served", "[prism][v4][versions]") {
  Pc pc(site_with_entity_groups(2));
  auto out = pc.poll_v4(remembering({}));
  INFO((out.result->has_value() ? std::string() : out.result->error().message));
  REQUIRE(out.result->has_value());
  CHECK(text(out.stats.v4_versions) == text(kAllV4_3));
  CHECK(probes(pc.transport) == std::vector<std::string>{microseg("v4.3", "policies"),
                                                         v4_path("prism", "v4.3", "categories"),
                                                         v4_path("networking", "v4.3", "vpcs")});
  CHECK(out.result->value().entity_groups.size() == 2);
  CHECK(requests_to(pc.transport, kV4Policies).size() == 2);  // the probe, the page
}

TEST_CASE("v4 versions: detection falls back to v4.1 when v4.3 and v4.2 answer 404",
          "[prism][v4][versions]") {
  Pc pc(site_with_entity_groups(2));
  pc.sim.set_v4_namespace_version("microseg", "v4.1");
  auto out = pc.poll_v4(remembering({}));
  INFO((out.result->has_value() ? std::string() : out.result->error().message));
  REQUIRE(out.result->has_value());
  CHECK(text(out.stats.v4_versions) == text({"v4.1", "v4.3", "v4.3"}));
  const auto seen = probes(pc.transport);
  REQUIRE(seen.size() >= 3);
  CHECK(std::vector<std::string>(seen.begin(), seen.begin() + 3) ==
        std::vector<std::string>{microseg("v4.3", "policies"), microseg("v4.2", "policies"),
                                 microseg("v4.1", "policies")});
  CHECK(requests_to(pc.transport, microseg("v4.1", "address-groups")).size() == 1);
  CHECK(requests_to(pc.transport, microseg("v4.1", "entity-groups")).size() == 1);
  CHECK(out.result->value().entity_groups.size() == 2);
  CHECK(out.result->value().policies.size() == 3);
}

TEST_CASE("v4 versions: a remembered version is used without probing it", "[prism][v4][versions]") {
  SECTION("remembered v4.3, the newest: no probe at all") {
    Pc pc(3);
    auto out = pc.poll_v4(remembering(kAllV4_3));
    REQUIRE(out.result->has_value());
    CHECK(probes(pc.transport).empty());
    CHECK(text(out.stats.v4_versions) == text(kAllV4_3));
    CHECK(out.stats.requests == 6);
  }
  SECTION("remembered v4.1: only the newer versions are probed") {
    LaggingPc pc("microseg", "v4.1");
    auto out = pc.poll_v4(remembering({"v4.1", "v4.3", "v4.3"}));
    REQUIRE(out.result->has_value());
    CHECK(probes(pc.transport) ==
          std::vector<std::string>{microseg("v4.3", "policies"), microseg("v4.2", "policies")});
    CHECK(out.stats.v4_versions.microseg == "v4.1");
  }
}

TEST_CASE("v4 versions: an upgrade is noticed on the next poll", "[prism][v4][versions]") {
  LaggingPc pc("microseg", "v4.1");
  auto first = pc.poll_v4(remembering({}));
  REQUIRE(first.result->has_value());
  REQUIRE(first.stats.v4_versions.microseg == "v4.1");

  pc.sim.set_v4_namespace_version("microseg", "");  // the PC was upgraded
  auto second_transport = pc.new_transport();
  auto second = fetch_v4(*second_transport, remembering(first.stats.v4_versions));
  REQUIRE(second.result->has_value());
  CHECK(second.stats.v4_versions.microseg == "v4.3");
  CHECK(probes(*second_transport) == std::vector<std::string>{microseg("v4.3", "policies")});
  CHECK(requests_to(*second_transport, kV4Policies).size() == 2);

  auto third_transport = pc.new_transport();
  auto third = fetch_v4(*third_transport, remembering(second.stats.v4_versions));
  REQUIRE(third.result->has_value());
  CHECK(probes(*third_transport).empty());
}

TEST_CASE("v4 versions: a remembered version that answers 404 is detected again in the poll",
          "[prism][v4][versions]") {
  SECTION("a downgrade to v4.1") {
    LaggingPc pc("microseg", "v4.1");  // restored from an older backup
    auto out = pc.poll_v4(remembering(kAllV4_3));
    INFO((out.result->has_value() ? std::string() : out.result->error().message));
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().policies.size() == 3);
    CHECK(text(out.stats.v4_versions) == text({"v4.1", "v4.3", "v4.3"}));
    REQUIRE_FALSE(pc.transport.requests.empty());
    CHECK(pc.transport.requests.front().path() == microseg("v4.3", "address-groups"));
    CHECK_FALSE(is_probe(pc.transport.requests.front()));
    CHECK(probes(pc.transport) == std::vector<std::string>{microseg("v4.3", "policies"),
                                                           microseg("v4.2", "policies"),
                                                           microseg("v4.1", "policies")});
  }
  SECTION("networking gone: complete without VPCs when no policy references one") {
    LaggingPc pc("networking", "none");
    auto out = pc.poll_v4(remembering(kAllV4_3));
    REQUIRE(out.result->has_value());
    CHECK(out.stats.v4_versions.networking.empty());
    CHECK(requests_containing(pc.transport, "/api/networking/") == 1 + 4);
  }
  SECTION("a 404 after a fresh detection is an error, not another detection") {
    Pc pc(3, "v4_address_groups:status=404");
    const Error e = failure(pc.poll_v4(remembering(kAllV4_3)));
    CHECK(e.http_status == 404);
    CHECK_THAT(e.message, Catch::Contains(kV4AddressGroups));
    CHECK(requests_to(pc.transport, kV4AddressGroups).size() == 2);
    CHECK(probes(pc.transport) == std::vector<std::string>{kV4Policies});
  }
}

TEST_CASE("v4 versions: a namespace served on no version", "[prism][v4][versions]") {
  SECTION("no microseg: the Http 404 that api: auto falls back to v3 on") {
    const bool remembered = GENERATE(false, true);
    CAPTURE(remembered);
    LaggingPc pc("microseg", "none");
    const Error e = failure(pc.poll_v4(remembering(remembered ? kAllV4_3 : prism::V4Versions{})));
    CHECK(e.reason == ErrorReason::Http);
    CHECK(e.http_status == 404);
    CHECK_THAT(e.message, Catch::Contains(microseg("v4.0", "policies")));
    CHECK(probes(pc.transport).size() == 4);
  }
  SECTION("no prism categories: an error") {
    LaggingPc pc("prism", "none");
    const Error e = failure(pc.poll_v4(remembering({})));
    CHECK(e.http_status == 404);
    CHECK_THAT(e.message, Catch::Contains("/api/prism/v4.0/config/categories"));
  }
}

TEST_CASE("v4 versions: networking denied (403) is listed as not served, never guessed empty",
          "[prism][v4][versions]") {
  const bool referenced = GENERATE(false, true);
  CAPTURE(referenced);
  auto site = site_data(referenced ? 4 : 3);
  if (referenced) scope_to_vpc(site, 3);
  Pc pc(site);
  pc.fault("v4_vpcs:status=403");
  auto out = pc.poll_v4(remembering({}));
  if (referenced) {
    const Error e = failure(out, ErrorReason::EmptyList);
    CHECK_THAT(e.message, Catch::Contains("not served"));
  } else {
    REQUIRE(out.result->has_value());
    CHECK(out.stats.v4_versions.networking.empty());
  }
  // One probe: permission does not depend on the version.
  CHECK(requests_to(pc.transport, kV4Vpcs).size() == 1);
}

TEST_CASE("v4 versions: a probe failing otherwise than 404 fails the fetch",
          "[prism][v4][versions]") {
  Pc pc(3, "v4_policies:status=401");  // the first request: the v4.3 probe
  CHECK(failure(pc.poll_v4(remembering({}))).reason == ErrorReason::Auth);
  CHECK(pc.transport.requests.size() == 1);
}

TEST_CASE("v4 entity groups are listed from v4.1 on, not on v4.0", "[prism][v4][versions]") {
  Pc pc(site_with_entity_groups(4));
  SECTION("v4.1") {
    pc.sim.set_v4_namespace_version("microseg", "v4.1");
    auto out = pc.poll_v4(remembering({}));
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().entity_groups.size() == 4);
    CHECK(out.result->value().entity_groups.at(3).at("extId") ==
          *pc.sim.v4_ext_id("entity_group", "eg-003"));
  }
  SECTION("v4.0") {
    pc.sim.set_v4_namespace_version("microseg", "v4.0");
    auto out = pc.poll_v4(remembering({}));
    REQUIRE(out.result->has_value());
    CHECK(out.stats.v4_versions.microseg == "v4.0");
    CHECK(out.result->value().entity_groups.empty());
    CHECK(requests_containing(pc.transport, "entity-groups") == 0);
    CHECK(out.result->value().address_groups.size() == 3);
  }
}

namespace {

// A reference listing: where it is listed, its pcsim fault endpoint, and how a site gets n
// items in it.
struct Listing {
  std::string endpoint;
  const char* fault;
  void (*fill)(pcsim::SiteData&, int n);
};

const Listing kListings[] = {
    {kV4AddressGroups, "v4_address_groups",
     [](pcsim::SiteData& s, int n) { s.address_groups = site_data(0, n, 0).address_groups; }},
    {kV4ServiceGroups, "v4_service_groups",
     [](pcsim::SiteData& s, int n) { s.service_groups = site_data(0, 0, n).service_groups; }},
    {kV4EntityGroups, "v4_entity_groups", &add_entity_groups},
    {kV4Categories, "v4_categories",
     [](pcsim::SiteData& s, int n) {
       pcsim::CategoryKey bulk{"Bulk", "", false, {}};
       for (int i = 0; i < n; ++i) bulk.values.push_back(numbered("value", i));
       s.categories = {bulk};
     }},
    {kV4Vpcs, "v4_vpcs", &add_vpcs}};

// site_data(3) with `n` items in `listing`.
pcsim::SiteData site_listing(const Listing& listing, int n) {
  auto site = site_data(3);
  listing.fill(site, n);
  return site;
}

}  // namespace

TEST_CASE("v4 reference listings, entity groups and VPCs included, are paged and complete",
          "[prism][v4][versions][completeness]") {
  const Listing& listing = kListings[GENERATE(range(0, 5))];
  CAPTURE(listing.endpoint);
  SECTION("every page") {
    Pc pc(site_listing(listing, 250));
    auto out = pc.poll_v4();
    REQUIRE(out.result->has_value());
    std::vector<std::string> pages;
    for (const auto* r : requests_to(pc.transport, listing.endpoint)) {
      pages.emplace_back(r->query_param("$page").value_or("?"));
    }
    CHECK(pages == std::vector<std::string>{"0", "1", "2"});
  }
  SECTION("a short page before the total is Truncated") {
    Pc pc(site_listing(listing, 250), capped_v4_pages(60));
    const Error e = failure(pc.poll_v4(), ErrorReason::Truncated);
    CHECK_THAT(e.message, Catch::Contains(listing.endpoint + " page 0"));
  }
  SECTION("a total that moves once restarts the listing") {
    Pc pc(site_listing(listing, 150));
    pc.fault(std::string(listing.fault) + ":total_moved,count=1");  // page 1 counts one more
    auto out = pc.poll_v4();
    REQUIRE(out.result->has_value());
    CHECK(requests_to(pc.transport, listing.endpoint).size() == 4);
  }
  SECTION("a duplicate extId is Truncated") {
    Pc pc(site_listing(listing, 150));
    auto repeated = std::make_shared<std::string>();
    pc.rewrite = repeat_ext_id(listing.endpoint, repeated);
    const Error e = failure(pc.poll_v4());
    CHECK_FALSE(repeated->empty());
    CHECK(e.reason == ErrorReason::Truncated);
    CHECK_THAT(e.message, Catch::Contains("duplicate extId " + *repeated));
  }
}

TEST_CASE("v4 entity groups and VPCs come back whole", "[prism][v4][versions]") {
  auto site = site_with_entity_groups(150, 4);
  add_vpcs(site, 2);
  scope_to_vpc(site, 3, true);
  Pc pc(site);
  auto out = pc.poll_v4();
  REQUIRE(out.result->has_value());
  const auto& data = out.result->value();
  CHECK(data.entity_groups.size() == 150);
  CHECK(data.entity_groups.at(149).at("extId") == *pc.sim.v4_ext_id("entity_group", "eg-149"));
  CHECK(data.vpcs.size() == 2);
  CHECK(data.vpcs.at(1).at("extId") == *pc.sim.v4_ext_id("vpc", "vpc-001"));
}

TEST_CASE("v4 entity groups or VPCs referenced but not listed are EmptyList",
          "[prism][v4][versions][completeness]") {
  SECTION("no entity groups") {
    auto site = site_data(4);
    add_policy_fields(site, 3,
                      {{"securedEntityGroupReferences",
                        json::array({"@dangling:00000000-0000-4000-8000-0000000000e9"})}});
    Pc pc(site);
    const Error e = failure(pc.poll_v4(), ErrorReason::EmptyList);
    CHECK_THAT(e.message,
               Catch::Contains(kV4EntityGroups) && Catch::Contains("1 policy references"));
  }
  SECTION("VPCs not served, or served empty, on either fetch path") {
    const bool served = GENERATE(false, true);
    const bool snapshot = GENERATE(false, true);
    CAPTURE(served, snapshot);
    auto site = site_data(5);
    scope_to_vpc(site, 3);
    scope_to_vpc(site, 4);
    Pc pc(site);
    if (!served) pc.sim.set_v4_namespace_version("networking", "none");
    const Error out = snapshot ? failure(pc.snapshot(true, remembering({})))
                               : failure(pc.poll_v4(remembering({})));
    CHECK(out.reason == ErrorReason::EmptyList);
    CHECK_THAT(out.message,
               Catch::Contains(served ? kV4Vpcs : "/api/networking/v4.x/config/vpcs") &&
                   Catch::Contains(served ? "no VPCs, but" : "not served") &&
                   Catch::Contains("2 policies reference"));
  }
  SECTION("VPCs not served and not referenced: complete without them") {
    LaggingPc pc("networking", "none");
    auto out = pc.poll_v4(remembering({}));
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().vpcs.empty());
    CHECK(out.stats.v4_versions.networking.empty());
  }
}

TEST_CASE("v4 versions: the snapshot path detects and reports versions as the raw fetch does",
          "[prism][v4][versions][snapshot]") {
  Pc pc(5);
  pc.sim.set_v4_namespace_version("microseg", "v4.2");
  auto out = pc.snapshot(true, remembering({}));
  INFO((out.result->has_value() ? std::string() : out.result->error().message));
  REQUIRE(out.result->has_value());
  CHECK(out.result->value().count(policy::ObjectKind::Policy) == 5);
  CHECK(text(out.stats.v4_versions) == text({"v4.2", "v4.3", "v4.3"}));
  CHECK(requests_to(pc.transport, microseg("v4.2", "policies")).size() == 2);
}
