// fetch_v4_site against a FakeV4Site: $page/$limit paging, the six listings, completeness
// rules, status mapping with v4 error bodies, retries and deadlines, and credential redaction.
#include <catch2/catch.hpp>
#include <set>

#include "fake_v4_site.hpp"
#include "http/types.hpp"

using namespace flowdrift;
using namespace flowdrift::test;
using namespace std::chrono_literals;

namespace {

std::optional<Result<http::HttpResponse>> respond_v4(http::HttpResponse r) {
  return Result<http::HttpResponse>(std::move(r));
}

std::optional<Result<http::HttpResponse>> fail_v4(ErrorReason reason, std::string message,
                                                  bool retryable) {
  return Result<http::HttpResponse>(make_error(reason, std::move(message), retryable));
}

// Fault on the first `times` requests to `endpoint` (all of them if times < 0).
FakeV4Site::Hook fault_v4(std::string endpoint, int times,
                          std::function<std::optional<Result<http::HttpResponse>>()> make) {
  return [endpoint = std::move(endpoint), times, make = std::move(make)](
             FakeV4Site&, const V4Call& call) -> std::optional<Result<http::HttpResponse>> {
    if (call.endpoint == endpoint && (times < 0 || call.index < times)) return make();
    return std::nullopt;
  };
}

std::vector<std::string> v4_names(const std::vector<nlohmann::json>& items) {
  std::vector<std::string> out;
  for (const auto& p : items) out.push_back(p.at("name").get<std::string>());
  return out;
}

std::string query(const http::HttpRequest* r, const char* name) {
  return r->query_param(name).value_or("<none>");
}

// The reference lists of make_v4_site, one page each, listed before the policies: address,
// service and entity groups, categories, VPCs.
constexpr int kListRequests = 5;

// Answers only requests to the policies; the others are served.
FakeV4Site::Hook on_policies(FakeV4Site::Hook hook) {
  return [hook = std::move(hook)](FakeV4Site& site,
                                  const V4Call& call) -> std::optional<Result<http::HttpResponse>> {
    if (call.endpoint != kV4Policies) return std::nullopt;
    return hook(site, call);
  };
}

}  // namespace

TEST_CASE("v4: pages past 100 with $page/$limit and fetches every listing", "[prism][v4][paging]") {
  FakeV4Site site = make_v4_site(250);
  site.base = "/pc";
  ScriptedTransport transport(site.responder());
  auto options = v4_test_options();
  options.base_path = "/pc";
  options.page_size = 500;  // above the v4 maximum: clamped to 100
  auto out = fetch_v4(transport, options);
  REQUIRE(out.result->has_value());
  const auto& data = out.result->value();

  auto policy_requests = FakeV4Site::requests_to(transport, kV4Policies);
  REQUIRE(policy_requests.size() == 3);
  std::vector<std::string> pages;
  for (const auto* r : policy_requests) {
    CHECK(r->method == "GET");
    CHECK(r->path() == "/pc" + kV4Policies);
    CHECK(r->body.empty());
    CHECK(query(r, "$limit") == "100");
    pages.push_back(query(r, "$page"));
    auto auth = r->header("Authorization");
    REQUIRE(auth);
    auto creds = http::parse_basic_auth(*auth);
    REQUIRE(creds);
    CHECK(creds->user == "admin");
    CHECK(creds->password == kPassword);
    CHECK(r->header("Accept") == std::optional<std::string_view>("application/json"));
  }
  CHECK(pages == std::vector<std::string>{"0", "1", "2"});

  REQUIRE(data.policies.size() == 250);
  std::set<std::string> names;
  for (const auto& n : v4_names(data.policies)) names.insert(n);
  CHECK(names.size() == 250);
  CHECK(data.policies.front() == make_v4_policy(0));
  CHECK(data.policies.back() == make_v4_policy(249));
  CHECK(data.address_groups.size() == 3);
  CHECK(data.address_groups.at(2) == make_v4_address_group(2));
  CHECK(data.service_groups.size() == 2);
  CHECK(data.categories.size() == 9);
  CHECK(data.categories.at(7).at("key") == "Environment");
  CHECK(FakeV4Site::requests_to(transport, kV4AddressGroups).size() == 1);
  CHECK(FakeV4Site::requests_to(transport, kV4ServiceGroups).size() == 1);
  CHECK(FakeV4Site::requests_to(transport, kV4Categories).size() == 1);
  CHECK(FakeV4Site::requests_to(transport, kV4EntityGroups).size() == 1);
  CHECK(FakeV4Site::requests_to(transport, kV4Vpcs).size() == 1);
  CHECK(out.stats.requests == kListRequests + 3);
  CHECK(out.stats.retries == 0);
}

TEST_CASE("v4: small limits and exact multiples page correctly", "[prism][v4][paging]") {
  SECTION("limit 7 over 30 categories-sized lists") {
    FakeV4Site site = make_v4_site(30);
    ScriptedTransport transport(site.responder());
    auto options = v4_test_options();
    options.page_size = 7;
    auto out = fetch_v4(transport, options);
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().policies.size() == 30);
    CHECK(FakeV4Site::requests_to(transport, kV4Policies).size() == 5);  // 7*4 + 2
    CHECK(out.result->value().categories.size() == 9);
    CHECK(FakeV4Site::requests_to(transport, kV4Categories).size() == 2);
    for (const auto* r : FakeV4Site::requests_to(transport, kV4Policies)) {
      CHECK(query(r, "$limit") == "7");
    }
  }
  SECTION("200 policies at limit 100 take exactly 2 requests") {
    FakeV4Site site = make_v4_site(200);
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().policies.size() == 200);
    CHECK(FakeV4Site::requests_to(transport, kV4Policies).size() == 2);
  }
  SECTION("page_size 0 still sends a valid $limit") {
    FakeV4Site site = make_v4_site(3);
    ScriptedTransport transport(site.responder());
    auto options = v4_test_options();
    options.page_size = 0;
    auto out = fetch_v4(transport, options);
    REQUIRE(out.result->has_value());
    REQUIRE_FALSE(transport.requests.empty());
    CHECK(query(&transport.requests.front(), "$limit") == "1");
  }
  SECTION("an empty site with no history is complete") {
    FakeV4Site site = make_v4_site(0, 0, 0);
    site.lists[kV4Categories].clear();
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().policies.empty());
    CHECK(out.stats.requests == kListRequests + 1);
  }
}

TEST_CASE("v4: status mapping and v4 error bodies", "[prism][v4][status]") {
  SECTION("401 is Auth, not retried") {
    FakeV4Site site = make_v4_site(3);
    site.hook =
        fault_v4(kV4Policies, -1, [] { return respond_v4(text_response(401, "Unauthorized")); });
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Auth);
    CHECK(out.result->error().http_status == 401);
    CHECK_THAT(out.result->error().message, Catch::Contains(kV4Policies + " page 0"));
    CHECK(out.stats.requests == kListRequests + 1);
  }
  SECTION("403 is Forbidden and quotes the AppMessage") {
    FakeV4Site site = make_v4_site(3);
    site.hook = fault_v4(kV4ServiceGroups, -1, [] {
      return respond_v4(json_response(403, v4_error_body("MIC-10403", "user lacks permission")));
    });
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Forbidden);
    CHECK_THAT(
        out.result->error().message,
        Catch::Contains(kV4ServiceGroups) && Catch::Contains("MIC-10403: user lacks permission"));
  }
  SECTION("404 on the v4 path is Http 404 with the message") {
    FakeV4Site site = make_v4_site(3);
    site.lists.erase(kV4Policies);
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Http);
    CHECK(out.result->error().http_status == 404);
    CHECK_THAT(out.result->error().message, Catch::Contains("no such list"));
    CHECK(out.stats.requests == kListRequests + 1);
  }
  SECTION("a SchemaValidationError body is quoted") {
    FakeV4Site site = make_v4_site(3);
    site.hook = fault_v4(kV4Categories, -1, [] {
      return respond_v4(json_response(
          400,
          json{{"data", json{{"$objectType", "prism.v4.error.ErrorResponse"},
                             {"error", json{{"statusCode", 400},
                                            {"error", "Bad Request"},
                                            {"validationErrorMessages",
                                             json::array({json{{"attributePath", "$page"},
                                                               {"message", "must be >= 0"}},
                                                          json{{"attributePath", "$limit"},
                                                               {"message", "too big"}}})}}}}}}));
    });
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Http);
    CHECK(out.result->error().http_status == 400);
    CHECK_THAT(out.result->error().message,
               Catch::Contains("Bad Request: $page: must be >= 0 (+1 more)"));
  }
  SECTION("an ErrorResponse inside a 200 is an error with its message") {
    FakeV4Site site = make_v4_site(3);
    site.hook = fault_v4(kV4AddressGroups, -1, [] {
      return respond_v4(json_response(200, v4_error_body("MIC-30142", "internal lookup failed")));
    });
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Http);
    CHECK_THAT(out.result->error().message,
               Catch::Contains(kV4AddressGroups + " page 0") &&
                   Catch::Contains("MIC-30142: internal lookup failed"));
    CHECK(out.stats.retries == 0);
  }
}

TEST_CASE("v4: retries of 429 and 5xx", "[prism][v4][retry]") {
  SECTION("429 honours Retry-After and then succeeds") {
    FakeV4Site site = make_v4_site(3);
    site.hook = fault_v4(kV4Policies, 1, [] {
      auto r = json_response(429, v4_error_body("PLAT-429", "too many requests"));
      r.headers.push_back({"Retry-After", "1"});
      return respond_v4(r);
    });
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().policies.size() == 3);
    CHECK(out.elapsed >= 950ms);
    CHECK(out.stats.retries == 1);
    CHECK(FakeV4Site::requests_to(transport, kV4Policies).size() == 2);
  }
  SECTION("500 then 503 then success is retried and counted") {
    FakeV4Site site = make_v4_site(150);
    site.hook = [](FakeV4Site&, const V4Call& call) -> std::optional<Result<http::HttpResponse>> {
      // The second page fails twice; the retry asks for the same page again.
      if (call.endpoint == kV4Policies && call.page == 1 && call.index == 1) {
        return respond_v4(text_response(500, "oops"));
      }
      if (call.endpoint == kV4Policies && call.page == 1 && call.index == 2) {
        return respond_v4(text_response(503, "busy"));
      }
      return std::nullopt;
    };
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().policies.size() == 150);
    CHECK(out.stats.retries == 2);
    CHECK(out.stats.requests == 4 + kListRequests);
    std::vector<std::string> pages;
    for (const auto* r : FakeV4Site::requests_to(transport, kV4Policies))
      pages.push_back(query(r, "$page"));
    CHECK(pages == std::vector<std::string>{"0", "1", "1", "1"});
  }
  SECTION("503 forever is ServerError after retries + 1 requests") {
    FakeV4Site site = make_v4_site(3);
    site.hook = fault_v4(kV4Policies, -1, [] { return respond_v4(text_response(503, "busy")); });
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::ServerError);
    CHECK(out.result->error().retryable);
    CHECK(out.stats.requests == kListRequests + 4);
    CHECK(out.stats.retries == 3);
  }
}

TEST_CASE("v4: malformed bodies and envelopes", "[prism][v4][shape]") {
  SECTION("unparsable JSON in a 200 is Malformed and not retried") {
    FakeV4Site site = make_v4_site(3);
    site.hook =
        fault_v4(kV4Policies, -1, [] { return respond_v4(text_response(200, "{\"data\": [")); });
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Malformed);
    CHECK(out.stats.requests == kListRequests + 1);
  }
  using MangleCase = std::pair<const char*, FakeV4Site::Mangle>;
  std::vector<MangleCase> cases = {
      {"totalAvailableResults missing",
       [](const V4Call&, json& p) { p["metadata"].erase("totalAvailableResults"); }},
      {"totalAvailableResults is not a non-negative integer",
       [](const V4Call&, json& p) { p["metadata"]["totalAvailableResults"] = "3"; }},
      {"totalAvailableResults is not a non-negative integer",
       [](const V4Call&, json& p) { p["metadata"]["totalAvailableResults"] = -1; }},
      {"metadata missing", [](const V4Call&, json& p) { p.erase("metadata"); }},
      {"metadata is not an object", [](const V4Call&, json& p) { p["metadata"] = json::array(); }},
      {"data is not an array", [](const V4Call&, json& p) { p["data"] = "x"; }},
      {"data[1] is not an object", [](const V4Call&, json& p) { p["data"][1] = 5; }},
      {"body is not an object", [](const V4Call&, json& p) { p = json::array(); }},
  };
  for (const auto& [expected, mangle] : cases) {
    FakeV4Site site = make_v4_site(3);
    site.mangle = [mangle = mangle](const V4Call& call, json& p) {
      if (call.endpoint == kV4Policies) mangle(call, p);
    };
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    INFO(expected);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Malformed);
    CHECK_THAT(out.result->error().message,
               Catch::Contains(kV4Policies + " page 0") && Catch::Contains(expected));
  }
}

TEST_CASE("v4: completeness of a listing", "[prism][v4][completeness]") {
  SECTION("a short page before the total is Truncated") {
    FakeV4Site site = make_v4_site(250);
    site.page_cap = 60;  // the server returns 60 of the 100 asked for
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Truncated);
    CHECK_THAT(out.result->error().message,
               Catch::Contains("short page of 60") && Catch::Contains("is 250"));
  }
  SECTION("an empty page before the total is Truncated") {
    FakeV4Site site = make_v4_site(250);
    site.mangle = [](const V4Call& call, json& p) {
      if (call.endpoint == kV4Policies && call.page == 1) p.erase("data");
    };
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Truncated);
    CHECK_THAT(out.result->error().message,
               Catch::Contains(kV4Policies + " page 1") && Catch::Contains("empty page"));
  }
  SECTION("data: [] counts as an empty page too") {
    FakeV4Site site = make_v4_site(5);
    site.mangle = [](const V4Call& call, json& p) {
      if (call.endpoint == kV4Policies) p["data"] = json::array();
    };
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Truncated);
  }
  SECTION("a total that moves once restarts the listing and recovers") {
    FakeV4Site site = make_v4_site(250);
    site.hook = [](FakeV4Site& s, const V4Call& call) -> std::optional<Result<http::HttpResponse>> {
      // A policy is created while page 1 is being fetched, the first time only.
      if (call.endpoint == kV4Policies && call.index == 1) {
        s.lists[kV4Policies].push_back(make_v4_policy(250));
      }
      return std::nullopt;
    };
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().policies.size() == 251);
    std::vector<std::string> pages;
    for (const auto* r : FakeV4Site::requests_to(transport, kV4Policies))
      pages.push_back(query(r, "$page"));
    CHECK(pages == std::vector<std::string>{"0", "1", "0", "1", "2"});
  }
  SECTION("a total that keeps moving is TotalMoved") {
    FakeV4Site site = make_v4_site(250);
    site.hook = [](FakeV4Site& s, const V4Call& call) -> std::optional<Result<http::HttpResponse>> {
      if (call.endpoint == kV4Policies && call.page > 0) {
        s.lists[kV4Policies].push_back(make_v4_policy(1000 + call.index));
      }
      return std::nullopt;
    };
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::TotalMoved);
    CHECK_THAT(out.result->error().message, Catch::Contains("again after restarting"));
    CHECK(FakeV4Site::requests_to(transport, kV4Policies).size() == 4);
  }
  SECTION("more items than the total is TotalMoved") {
    FakeV4Site site = make_v4_site(5);
    site.mangle = [](const V4Call& call, json& p) {
      if (call.endpoint == kV4Policies) p["metadata"]["totalAvailableResults"] = 4;
    };
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::TotalMoved);
    CHECK_THAT(out.result->error().message, Catch::Contains("more than"));
  }
  SECTION("duplicate extIds across pages are Truncated") {
    FakeV4Site site = make_v4_site(150);
    // Policy 120 is replaced by a second copy of policy 3: the count still adds up.
    site.lists[kV4Policies][120] = make_v4_policy(3);
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Truncated);
    CHECK_THAT(out.result->error().message,
               Catch::Contains("duplicate extId " + uuid_for('p', 3)) &&
                   Catch::Contains(kV4Policies + " page 1"));
  }
  SECTION("duplicate category extIds are caught too") {
    FakeV4Site site = make_v4_site(3);
    site.lists[kV4Categories].push_back(make_v4_category(2, "AppType", "again"));
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Truncated);
    CHECK_THAT(out.result->error().message, Catch::Contains(kV4Categories));
  }
}

TEST_CASE("v4: empty lists", "[prism][v4][completeness]") {
  SECTION("no policies while the last snapshot had some is EmptyList") {
    FakeV4Site site = make_v4_site(0);
    ScriptedTransport transport(site.responder());
    auto options = v4_test_options();
    options.previous_policy_count = 12;
    auto out = fetch_v4(transport, options);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::EmptyList);
    CHECK_THAT(out.result->error().message, Catch::Contains("had 12"));
    CHECK(out.stats.requests == kListRequests + 1);
  }
  SECTION("no policies is fine without history, with history 0, or when allowed") {
    for (int variant = 0; variant < 3; ++variant) {
      FakeV4Site site = make_v4_site(0);
      ScriptedTransport transport(site.responder());
      auto options = v4_test_options();
      if (variant == 1) options.previous_policy_count = 0;
      if (variant == 2) {
        options.previous_policy_count = 12;
        options.allow_empty = true;
      }
      auto out = fetch_v4(transport, options);
      INFO(variant);
      REQUIRE(out.result->has_value());
      CHECK(out.result->value().policies.empty());
      CHECK(out.result->value().categories.size() == 9);
    }
  }
  SECTION("no address groups while policies reference some is EmptyList") {
    FakeV4Site site = make_v4_site(5, 0, 2, 2);
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::EmptyList);
    CHECK_THAT(out.result->error().message,
               Catch::Contains(kV4AddressGroups) && Catch::Contains("2 policies reference"));
  }
  SECTION("no service groups while a policy references one is EmptyList") {
    FakeV4Site site = make_v4_site(5, 3, 0, 1);
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::EmptyList);
    CHECK_THAT(out.result->error().message,
               Catch::Contains(kV4ServiceGroups) && Catch::Contains("1 policy references"));
  }
  SECTION("no categories while policies reference some is EmptyList") {
    FakeV4Site site = make_v4_site(5);
    site.lists[kV4Categories].clear();
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::EmptyList);
    CHECK_THAT(out.result->error().message, Catch::Contains(kV4Categories));
  }
  SECTION("empty group lists nobody references are fine") {
    FakeV4Site site = make_v4_site(5, 0, 0, 0);
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().address_groups.empty());
    CHECK(out.result->value().service_groups.empty());
  }
}

TEST_CASE("v4: transport errors and the poll deadline", "[prism][v4][transport]") {
  SECTION("Timeout forever: retried, then Timeout") {
    FakeV4Site site = make_v4_site(3);
    site.hook = fault_v4(kV4Policies, -1,
                         [] { return fail_v4(ErrorReason::Timeout, "read timed out", true); });
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Timeout);
    CHECK_THAT(out.result->error().message,
               Catch::Contains(kV4Policies + " page 0") && Catch::Contains("read timed out"));
    CHECK(out.stats.requests == kListRequests + 4);
    CHECK(out.stats.retries == 3);
  }
  SECTION("a slow server is cut off by the request timeout") {
    FakeV4Site site = make_v4_site(3);
    ScriptedTransport transport(site.responder());
    transport.latency = 200ms;
    auto options = v4_test_options();
    options.request_timeout = 50ms;
    options.retries = 1;
    auto out = fetch_v4(transport, options);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Timeout);
    CHECK(out.stats.requests == 2);
    for (auto t : transport.timeouts) CHECK(t == 50ms);
  }
  SECTION("a Retry-After past the deadline is not slept: Timeout at once") {
    FakeV4Site site = make_v4_site(3);
    site.hook = fault_v4(kV4Policies, -1, [] {
      auto r = text_response(429, "slow down");
      r.headers.push_back({"Retry-After", "5"});
      return respond_v4(r);
    });
    ScriptedTransport transport(site.responder());
    auto options = v4_test_options();
    options.poll_timeout = 300ms;
    auto out = fetch_v4(transport, options);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Timeout);
    CHECK_THAT(out.result->error().message, Catch::Contains("rate_limited"));
    CHECK(out.elapsed < 2500ms);
    CHECK(out.stats.requests == kListRequests + 1);
  }
}

TEST_CASE("v4: no error message contains the password or the Authorization header",
          "[prism][v4][secrets]") {
  const std::string auth = http::basic_auth_header("admin", kPassword);
  const std::string token = auth.substr(auth.find(' ') + 1);
  std::vector<FakeV4Site::Hook> faults = {
      fault_v4(kV4Policies, -1, [] { return respond_v4(text_response(401, "Unauthorized")); }),
      fault_v4(kV4Policies, -1, [] { return respond_v4(text_response(403, "Forbidden")); }),
      fault_v4(kV4Policies, -1, [] { return respond_v4(text_response(503, "busy")); }),
      fault_v4(kV4Policies, -1, [] { return respond_v4(text_response(200, "not json")); }),
      fault_v4(kV4Policies, -1, [] { return fail_v4(ErrorReason::Connect, "refused", true); }),
      // A hostile or buggy server echoing the credentials back must not get them logged.
      on_policies([](FakeV4Site&, const V4Call& call) -> std::optional<Result<http::HttpResponse>> {
        const std::string echoed(call.request->header("Authorization").value_or(""));
        return respond_v4(json_response(
            500, v4_error_body("E500", "bad header " + echoed + " for " + kPassword)));
      }),
      on_policies([](FakeV4Site&, const V4Call& call) -> std::optional<Result<http::HttpResponse>> {
        const std::string echoed(call.request->header("Authorization").value_or(""));
        return respond_v4(json_response(200, v4_error_body("E200", echoed + " / " + kPassword)));
      }),
      on_policies([](FakeV4Site&, const V4Call&) -> std::optional<Result<http::HttpResponse>> {
        return fail_v4(ErrorReason::Tls, std::string("handshake with password ") + kPassword,
                       false);
      }),
  };
  int checked = 0;
  for (auto& hook : faults) {
    FakeV4Site site = make_v4_site(3);
    site.hook = hook;
    ScriptedTransport transport(site.responder());
    auto out = fetch_v4(transport, v4_test_options());
    REQUIRE_FALSE(out.result->has_value());
    const auto& message = out.result->error().message;
    INFO(message);
    CHECK_THAT(message, Catch::Contains(kV4Policies + " page 0"));
    CHECK(message.find(kPassword) == std::string::npos);
    CHECK(message.find(token) == std::string::npos);
    ++checked;
  }
  CHECK(checked == 8);
}
