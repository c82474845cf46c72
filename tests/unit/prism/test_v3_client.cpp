// fetch_v3_site against a FakeSite: paging, completeness rules, status mapping, retries and
// deadlines, and that no error message leaks credentials.
#include <catch2/catch.hpp>

#include <set>

#include "fake_site.hpp"
#include "http/types.hpp"
#include "policy/normalize_v3.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using namespace flowdrift::test;
using namespace std::chrono_literals;

namespace {

const std::string kRules = "network_security_rules/list";

std::optional<Result<http::HttpResponse>> respond(http::HttpResponse r) {
  return Result<http::HttpResponse>(std::move(r));
}

std::optional<Result<http::HttpResponse>> fail(ErrorReason reason, std::string message,
                                               bool retryable) {
  return Result<http::HttpResponse>(make_error(reason, std::move(message), retryable));
}

// Fault on the first `times` requests to `endpoint` (all of them if times < 0).
FakeSite::Hook fault_on(std::string endpoint, int times,
                        std::function<std::optional<Result<http::HttpResponse>>()> make) {
  return [endpoint = std::move(endpoint), times, make = std::move(make)](
             FakeSite&, const ListCall& call) -> std::optional<Result<http::HttpResponse>> {
    if (call.endpoint == endpoint && (times < 0 || call.index < times)) return make();
    return std::nullopt;
  };
}

std::vector<std::string> names_of(const std::vector<nlohmann::json>& rules) {
  std::vector<std::string> out;
  for (const auto& r : rules) out.push_back(r.at("spec").at("name").get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("pages past 500 with correct offsets and returns every entity", "[prism][paging]") {
  FakeSite site = make_site(1234);
  ScriptedTransport transport(site.responder());
  auto options = test_options();
  options.base_path = "/pc";
  site.prefix = "/pc/api/nutanix/v3/";
  auto out = fetch(transport, options);
  REQUIRE(out.result->has_value());
  const auto& data = out.result->value();

  auto rule_requests = FakeSite::requests_to(transport, kRules);
  REQUIRE(rule_requests.size() == 3);
  std::vector<std::int64_t> offsets;
  for (const auto* r : rule_requests) {
    CHECK(r->method == "POST");
    CHECK(r->path() == "/pc/api/nutanix/v3/network_security_rules/list");
    auto body = nlohmann::json::parse(r->body);
    CHECK(body.at("kind") == "network_security_rule");
    CHECK(body.at("length") == 500);
    CHECK(body.at("sort_attribute") == "name");
    CHECK(body.at("sort_order") == "ASCENDING");
    offsets.push_back(body.at("offset").get<std::int64_t>());
    auto auth = r->header("Authorization");
    REQUIRE(auth);
    auto creds = http::parse_basic_auth(*auth);
    REQUIRE(creds);
    CHECK(creds->user == "admin");
    CHECK(creds->password == kPassword);
    CHECK(r->header("Content-Type") == std::optional<std::string_view>("application/json"));
    CHECK(r->header("Accept") == std::optional<std::string_view>("application/json"));
  }
  CHECK(offsets == std::vector<std::int64_t>{0, 500, 1000});

  REQUIRE(data.rules.size() == 1234);
  CHECK(names_of(data.rules) == names_of(site.lists[kRules]));
  CHECK(data.address_groups.size() == 3);
  CHECK(data.service_groups.size() == 2);
  CHECK(data.category_keys.size() == 4);

  // Every kind is listed with its own `kind`.
  for (const auto& [endpoint, kind] :
       std::vector<std::pair<std::string, std::string>>{{"address_groups/list", "address_group"},
                                                        {"service_groups/list", "service_group"},
                                                        {"categories/list", "category"}}) {
    auto reqs = FakeSite::requests_to(transport, "/v3/" + endpoint);
    REQUIRE(reqs.size() == 1);
    CHECK(nlohmann::json::parse(reqs[0]->body).at("kind") == kind);
  }
  CHECK(out.stats.requests == static_cast<int>(transport.requests.size()));
  CHECK(out.stats.requests == 3 + 1 + 1 + 1 + 2);
  CHECK(out.stats.retries == 0);
}

TEST_CASE("smaller page sizes and a server that caps pages still give complete lists",
          "[prism][paging]") {
  FakeSite site = make_site(95, 601);
  site.page_cap = 40;  // the server answers at most 40 per page whatever `length` says
  ScriptedTransport transport(site.responder());
  auto options = test_options();
  options.page_size = 100;
  auto out = fetch(transport, options);
  REQUIRE(out.result->has_value());
  CHECK(out.result->value().rules.size() == 95);
  CHECK(out.result->value().address_groups.size() == 601);
  auto ag = FakeSite::requests_to(transport, "address_groups/list");
  REQUIRE(ag.size() == 16);  // ceil(601 / 40)
  CHECK(nlohmann::json::parse(ag[1]->body).at("offset") == 40);
  CHECK(nlohmann::json::parse(ag[1]->body).at("length") == 100);
  std::set<std::string> uuids;
  for (const auto& g : out.result->value().address_groups) uuids.insert(g.at("uuid"));
  CHECK(uuids.size() == 601);
}

TEST_CASE("category values are fetched for exactly the referenced keys", "[prism][categories]") {
  FakeSite site = make_site(10);
  // One rule secures a key with a space, which must be percent-encoded in the path.
  site.lists[kRules].push_back(make_rule(99, "App Tier", "Environment"));
  ScriptedTransport transport(site.responder());
  auto out = fetch(transport, test_options());
  REQUIRE(out.result->has_value());
  const auto& data = out.result->value();

  std::set<std::string> value_paths;
  for (const auto& r : transport.requests) {
    std::string p(r.path());
    if (p.rfind("/api/nutanix/v3/categories/", 0) == 0 && p != "/api/nutanix/v3/categories/list") {
      value_paths.insert(p);
      CHECK(nlohmann::json::parse(r.body).at("kind") == "category");
    }
  }
  CHECK(value_paths == std::set<std::string>{"/api/nutanix/v3/categories/AppType/list",
                                             "/api/nutanix/v3/categories/Environment/list",
                                             "/api/nutanix/v3/categories/App%20Tier/list"});
  auto expected_keys = policy::referenced_category_keys(data.rules);
  CHECK(std::set<std::string>(expected_keys.begin(), expected_keys.end()) ==
        std::set<std::string>{"AppType", "Environment", "App Tier"});
  REQUIRE(data.category_values.size() == 3);
  CHECK(data.category_values.at("AppType").size() == 7);
  CHECK(data.category_values.at("Environment").size() == 2);
  CHECK(data.category_values.at("App Tier").size() == 1);
  CHECK(data.category_values.count("Unused") == 0);
}

TEST_CASE("HTTP 401 is Auth, not retried", "[prism][status]") {
  FakeSite site = make_site(3);
  site.hook = fault_on(kRules, -1, [] { return respond(text_response(401, "Unauthorized")); });
  ScriptedTransport transport(site.responder());
  auto out = fetch(transport, test_options());
  REQUIRE_FALSE(out.result->has_value());
  const auto& e = out.result->error();
  CHECK(e.reason == ErrorReason::Auth);
  CHECK(e.http_status == 401);
  CHECK_FALSE(e.retryable);
  CHECK(e.message.find("network_security_rules/list offset 0") != std::string::npos);
  CHECK(out.stats.requests == 1);
  CHECK(out.stats.retries == 0);
}

TEST_CASE("HTTP 403 is Forbidden", "[prism][status]") {
  FakeSite site = make_site(3);
  site.hook = fault_on("service_groups/list", -1, [] {
    return respond(json_response(403, {{"state", "ERROR"},
                                       {"message_list", json::array({json{
                                                            {"reason", "ACCESS_DENIED"},
                                                            {"message", "not allowed"}}})}}));
  });
  ScriptedTransport transport(site.responder());
  auto out = fetch(transport, test_options());
  REQUIRE_FALSE(out.result->has_value());
  CHECK(out.result->error().reason == ErrorReason::Forbidden);
  CHECK(out.result->error().message.find("service_groups/list offset 0") != std::string::npos);
  CHECK(out.result->error().message.find("ACCESS_DENIED") != std::string::npos);
  CHECK(out.stats.requests == 3);  // rules, address groups, then the 403 once
}

TEST_CASE("HTTP 410 is Gone and quotes the v3 error envelope", "[prism][status]") {
  const std::string envelope =
      read_file(std::string(FLOWDRIFT_PUBLIC_FIXTURES) + "/v3_error_410_gone_fns_ng.json");
  FakeSite site = make_site(3);
  site.hook = fault_on(kRules, -1, [envelope] {
    http::HttpResponse r;
    r.status = 410;
    r.body = envelope;
    return respond(r);
  });
  ScriptedTransport transport(site.responder());
  auto out = fetch(transport, test_options());
  REQUIRE_FALSE(out.result->has_value());
  const auto& e = out.result->error();
  CHECK(e.reason == ErrorReason::Gone);
  CHECK(e.http_status == 410);
  CHECK_FALSE(e.retryable);
  CHECK(e.message.find("GONE_ERROR") != std::string::npos);
  CHECK(e.message.find("no longer supported") != std::string::npos);
  CHECK(out.stats.requests == 1);
}

TEST_CASE("other non-2xx statuses are Http and not retried", "[prism][status]") {
  FakeSite site = make_site(3);
  site.hook = fault_on("categories/list", -1, [] { return respond(text_response(422, "bad")); });
  ScriptedTransport transport(site.responder());
  auto out = fetch(transport, test_options());
  REQUIRE_FALSE(out.result->has_value());
  CHECK(out.result->error().reason == ErrorReason::Http);
  CHECK(out.result->error().http_status == 422);
  CHECK(FakeSite::requests_to(transport, "/v3/categories/list").size() == 1);
}

TEST_CASE("429 honours Retry-After and then succeeds", "[prism][retry]") {
  FakeSite site = make_site(3);
  site.hook = fault_on(kRules, 1, [] {
    auto r = text_response(429, "slow down");
    r.headers.push_back({"Retry-After", "1"});
    return respond(r);
  });
  ScriptedTransport transport(site.responder());
  auto out = fetch(transport, test_options());
  REQUIRE(out.result->has_value());
  CHECK(out.result->value().rules.size() == 3);
  CHECK(out.elapsed >= 950ms);
  CHECK(out.stats.retries == 1);
  CHECK(FakeSite::requests_to(transport, kRules).size() == 2);
}

TEST_CASE("500 then 503 then success is retried and counted", "[prism][retry]") {
  FakeSite site = make_site(700);
  // The second page fails twice: retries resume at the same offset.
  site.hook = [](FakeSite&, const ListCall& call) -> std::optional<Result<http::HttpResponse>> {
    if (call.endpoint == kRules && call.offset == 500 && call.index == 1) {
      return respond(text_response(500, "boom"));
    }
    if (call.endpoint == kRules && call.offset == 500 && call.index == 2) {
      return respond(text_response(503, "busy"));
    }
    return std::nullopt;
  };
  ScriptedTransport transport(site.responder());
  auto out = fetch(transport, test_options());
  REQUIRE(out.result->has_value());
  CHECK(out.result->value().rules.size() == 700);
  CHECK(out.stats.retries == 2);
  auto reqs = FakeSite::requests_to(transport, kRules);
  REQUIRE(reqs.size() == 4);
  for (std::size_t i = 1; i < 4; ++i) {
    CHECK(nlohmann::json::parse(reqs[i]->body).at("offset") == 500);
  }
  CHECK(out.stats.requests == 4 + 1 + 1 + 1 + 2);
}

TEST_CASE("503 forever is ServerError after retries + 1 requests", "[prism][retry]") {
  FakeSite site = make_site(3);
  site.hook = fault_on(kRules, -1, [] { return respond(text_response(503, "busy")); });
  ScriptedTransport transport(site.responder());
  auto options = test_options();
  options.retries = 3;
  auto out = fetch(transport, options);
  REQUIRE_FALSE(out.result->has_value());
  CHECK(out.result->error().reason == ErrorReason::ServerError);
  CHECK(out.result->error().http_status == 503);
  CHECK(out.result->error().retryable);
  CHECK(out.stats.requests == 4);
  CHECK(out.stats.retries == 3);
}

TEST_CASE("unparsable JSON in a 200 is Malformed and not retried", "[prism][shape]") {
  FakeSite site = make_site(3);
  site.hook = fault_on("address_groups/list", -1, [] {
    http::HttpResponse r;
    r.body = "{\"entities\": [";
    return respond(r);
  });
  ScriptedTransport transport(site.responder());
  auto out = fetch(transport, test_options());
  REQUIRE_FALSE(out.result->has_value());
  CHECK(out.result->error().reason == ErrorReason::Malformed);
  CHECK(out.result->error().message.find("address_groups/list offset 0") != std::string::npos);
  CHECK(FakeSite::requests_to(transport, "address_groups/list").size() == 1);
}

TEST_CASE("missing or mistyped envelope fields are Malformed, naming endpoint and offset",
          "[prism][shape]") {
  struct Case {
    const char* name;
    std::function<void(json&)> mangle;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"total_matches missing", [](json& p) { p["metadata"].erase("total_matches"); },
       "network_security_rules/list offset 500: metadata.total_matches missing"},
      {"total_matches a string", [](json& p) { p["metadata"]["total_matches"] = "600"; },
       "network_security_rules/list offset 500: metadata.total_matches is not"},
      {"metadata missing", [](json& p) { p.erase("metadata"); },
       "network_security_rules/list offset 500: metadata missing"},
      {"entities missing", [](json& p) { p.erase("entities"); },
       "network_security_rules/list offset 500: entities missing"},
      {"entities an object", [](json& p) { p["entities"] = json::object(); },
       "network_security_rules/list offset 500: entities is not an array"},
      {"entity not an object", [](json& p) { p["entities"][3] = 7; },
       "network_security_rules/list offset 500: entities[3] is not an object"},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      FakeSite site = make_site(600);
      site.mangle = [&c](const ListCall& call, json& page) {
        if (call.endpoint == kRules && call.offset == 500) c.mangle(page);
      };
      ScriptedTransport transport(site.responder());
      auto out = fetch(transport, test_options());
      REQUIRE_FALSE(out.result->has_value());
      CHECK(out.result->error().reason == ErrorReason::Malformed);
      CHECK_THAT(out.result->error().message, Catch::Contains(c.expected));
      CHECK(out.stats.retries == 0);
    }
  }
}

TEST_CASE("an empty page before the total is reached is Truncated", "[prism][completeness]") {
  SECTION("the server stops answering entities mid-list") {
    FakeSite site = make_site(250);
    site.mangle = [](const ListCall& call, json& page) {
      if (call.endpoint == kRules && call.offset >= 200) page["entities"] = json::array();
    };
    ScriptedTransport transport(site.responder());
    auto options = test_options();
    options.page_size = 100;
    auto out = fetch(transport, options);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Truncated);
    CHECK_THAT(out.result->error().message,
               Catch::Contains("network_security_rules/list offset 200"));
  }
  SECTION("the total claims more entities than the list has") {
    FakeSite site = make_site(8);
    site.mangle = [](const ListCall& call, json& page) {
      if (call.endpoint == kRules) page["metadata"]["total_matches"] = 10;
    };
    ScriptedTransport transport(site.responder());
    auto out = fetch(transport, test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Truncated);
    CHECK_THAT(out.result->error().message, Catch::Contains("offset 8"));
    CHECK(FakeSite::requests_to(transport, kRules).size() == 2);
  }
}

TEST_CASE("a total that moves once restarts the listing and recovers", "[prism][completeness]") {
  FakeSite site = make_site(600);
  // Someone adds a policy while the second page is requested.
  site.hook = [](FakeSite& s, const ListCall& call) -> std::optional<Result<http::HttpResponse>> {
    if (call.endpoint == kRules && call.index == 1) s.lists[kRules].push_back(make_rule(5000));
    return std::nullopt;
  };
  ScriptedTransport transport(site.responder());
  auto out = fetch(transport, test_options());
  REQUIRE(out.result->has_value());
  CHECK(out.result->value().rules.size() == 601);
  auto reqs = FakeSite::requests_to(transport, kRules);
  REQUIRE(reqs.size() == 2 + 2);
  std::vector<std::int64_t> offsets;
  for (const auto* r : reqs) offsets.push_back(nlohmann::json::parse(r->body).at("offset"));
  CHECK(offsets == std::vector<std::int64_t>{0, 500, 0, 500});
  std::set<std::string> uuids;
  for (const auto& r : out.result->value().rules) uuids.insert(r.at("metadata").at("uuid"));
  CHECK(uuids.size() == 601);
}

TEST_CASE("a total that keeps moving is TotalMoved", "[prism][completeness]") {
  FakeSite site = make_site(600);
  int added = 0;
  site.hook = [&added](FakeSite& s,
                       const ListCall& call) -> std::optional<Result<http::HttpResponse>> {
    if (call.endpoint == kRules && call.offset > 0) {
      s.lists[kRules].push_back(make_rule(6000 + added++));
    }
    return std::nullopt;
  };
  ScriptedTransport transport(site.responder());
  auto out = fetch(transport, test_options());
  REQUIRE_FALSE(out.result->has_value());
  CHECK(out.result->error().reason == ErrorReason::TotalMoved);
  CHECK_THAT(out.result->error().message, Catch::Contains("network_security_rules/list offset 500"));
  CHECK(FakeSite::requests_to(transport, kRules).size() == 4);  // two passes of two pages
}

TEST_CASE("more entities than the total is TotalMoved", "[prism][completeness]") {
  FakeSite site = make_site(5);
  site.mangle = [](const ListCall& call, json& page) {
    if (call.endpoint == kRules) page["metadata"]["total_matches"] = 3;
  };
  ScriptedTransport transport(site.responder());
  auto out = fetch(transport, test_options());
  REQUIRE_FALSE(out.result->has_value());
  CHECK(out.result->error().reason == ErrorReason::TotalMoved);
}

TEST_CASE("duplicate uuids across pages are rejected", "[prism][completeness]") {
  SECTION("rules (metadata.uuid): overlapping pages") {
    FakeSite site = make_site(600);
    // The second page starts one entity early, as if a policy before it had been deleted and
    // another added: the count adds up but one policy was never seen.
    site.mangle = [&site](const ListCall& call, json& page) {
      if (call.endpoint == kRules && call.offset == 500) {
        page["entities"].erase(page["entities"].size() - 1);
        page["entities"].insert(page["entities"].begin(), site.lists[kRules][499]);
      }
    };
    ScriptedTransport transport(site.responder());
    auto out = fetch(transport, test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Truncated);
    CHECK_THAT(out.result->error().message, Catch::Contains("duplicate uuid " + uuid_for('r', 499)));
  }
  SECTION("address groups (top-level uuid) within one page") {
    FakeSite site = make_site(2, 4);
    site.lists["address_groups/list"][3]["uuid"] = uuid_for('a', 1);
    ScriptedTransport transport(site.responder());
    auto out = fetch(transport, test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Truncated);
    CHECK_THAT(out.result->error().message, Catch::Contains("address_groups/list offset 0"));
  }
}

TEST_CASE("an empty policy list is refused when the site had policies", "[prism][completeness]") {
  FakeSite site = make_site(0);
  ScriptedTransport transport(site.responder());
  auto options = test_options();
  options.previous_policy_count = 42;
  auto out = fetch(transport, options);
  REQUIRE_FALSE(out.result->has_value());
  CHECK(out.result->error().reason == ErrorReason::EmptyList);
  CHECK_FALSE(out.result->error().retryable);
  CHECK_THAT(out.result->error().message, Catch::Contains("42"));
  CHECK(out.stats.requests == 1);
}

TEST_CASE("an empty policy list is accepted without history or when allowed",
          "[prism][completeness]") {
  auto options = test_options();
  SECTION("no previous snapshot") { options.previous_policy_count.reset(); }
  SECTION("previous snapshot was empty") { options.previous_policy_count = 0; }
  SECTION("allow_empty") {
    options.previous_policy_count = 42;
    options.allow_empty = true;
  }
  FakeSite site = make_site(0);
  ScriptedTransport transport(site.responder());
  auto out = fetch(transport, options);
  REQUIRE(out.result->has_value());
  CHECK(out.result->value().rules.empty());
  CHECK(out.result->value().category_values.empty());
  CHECK(out.result->value().category_keys.size() == 4);
  CHECK(out.stats.requests == 4);
}

TEST_CASE("transport errors keep their reason and retryability", "[prism][transport]") {
  SECTION("Timeout forever: retried, then Timeout") {
    FakeSite site = make_site(3);
    site.hook = fault_on(kRules, -1, [] {
      return fail(ErrorReason::Timeout, "read timed out", true);
    });
    ScriptedTransport transport(site.responder());
    auto out = fetch(transport, test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Timeout);
    CHECK(out.result->error().retryable);
    CHECK_THAT(out.result->error().message,
               Catch::Contains("network_security_rules/list offset 0") &&
                   Catch::Contains("read timed out"));
    CHECK(out.stats.requests == 4);
    CHECK(out.stats.retries == 3);
  }
  SECTION("Connect once, then success") {
    FakeSite site = make_site(3);
    site.hook = fault_on("categories/list", 1, [] {
      return fail(ErrorReason::Connect, "connection refused", true);
    });
    ScriptedTransport transport(site.responder());
    auto out = fetch(transport, test_options());
    REQUIRE(out.result->has_value());
    CHECK(out.stats.retries == 1);
  }
  SECTION("Tls is not retried") {
    FakeSite site = make_site(3);
    site.hook = fault_on(kRules, -1, [] {
      return fail(ErrorReason::Tls, "certificate verify failed", false);
    });
    ScriptedTransport transport(site.responder());
    auto out = fetch(transport, test_options());
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Tls);
    CHECK(out.stats.requests == 1);
  }
}

TEST_CASE("the poll deadline bounds retries and requests", "[prism][deadline]") {
  SECTION("a Retry-After past the deadline is not slept: Timeout at once") {
    FakeSite site = make_site(3);
    site.hook = fault_on(kRules, -1, [] {
      auto r = text_response(429, "slow down");
      r.headers.push_back({"Retry-After", "5"});
      return respond(r);
    });
    ScriptedTransport transport(site.responder());
    auto options = test_options();
    options.poll_timeout = 300ms;
    auto out = fetch(transport, options);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Timeout);
    CHECK_THAT(out.result->error().message, Catch::Contains("rate_limited"));
    CHECK(out.elapsed < 2500ms);  // did not sleep the 5 s Retry-After
    CHECK(out.stats.requests == 1);
    CHECK(out.stats.retries == 0);
  }
  SECTION("a slow server: per-request timeouts shrink to the time left") {
    // 40 one-entity pages at 120 ms each would take 4.8 s; the poll has 400 ms.
    FakeSite site = make_site(40);
    ScriptedTransport transport(site.responder());
    transport.latency = 120ms;
    auto options = test_options();
    options.page_size = 1;
    options.request_timeout = 5000ms;
    options.poll_timeout = 400ms;
    auto out = fetch(transport, options);
    REQUIRE_FALSE(out.result->has_value());
    CHECK(out.result->error().reason == ErrorReason::Timeout);
    CHECK(out.elapsed >= 380ms);
    CHECK(out.elapsed < 2000ms);
    REQUIRE(transport.timeouts.size() >= 2);
    CHECK(transport.timeouts.size() < 10);
    CHECK(transport.timeouts[0] <= 400ms);
    CHECK(transport.timeouts[0] > 300ms);
    for (std::size_t i = 1; i < transport.timeouts.size(); ++i) {
      CHECK(transport.timeouts[i] < transport.timeouts[i - 1]);
    }
    CHECK(transport.timeouts.back() <= 400ms - 120ms);
  }
  SECTION("request_timeout applies when it is the smaller") {
    FakeSite site = make_site(3);
    ScriptedTransport transport(site.responder());
    auto options = test_options();
    options.request_timeout = 750ms;
    auto out = fetch(transport, options);
    REQUIRE(out.result->has_value());
    for (auto t : transport.timeouts) CHECK(t == 750ms);
  }
}

TEST_CASE("no error message contains the password or the Authorization header",
          "[prism][secrets]") {
  const std::string auth = http::basic_auth_header("admin", kPassword);
  const std::string token = auth.substr(auth.find(' ') + 1);
  std::vector<FakeSite::Hook> faults = {
      fault_on(kRules, -1, [] { return respond(text_response(401, "Unauthorized")); }),
      fault_on(kRules, -1, [] { return respond(text_response(403, "Forbidden")); }),
      fault_on(kRules, -1, [] { return respond(text_response(503, "busy")); }),
      fault_on(kRules, -1, [] { return respond(text_response(200, "not json")); }),
      fault_on(kRules, -1, [] { return fail(ErrorReason::Connect, "refused", true); }),
      // A hostile or buggy server echoing the credentials back must not get them logged.
      [](FakeSite&, const ListCall& call) -> std::optional<Result<http::HttpResponse>> {
        const std::string echoed(call.request->header("Authorization").value_or(""));
        return respond(json_response(
            500, {{"message_list", json::array({json{{"reason", "INTERNAL_ERROR"},
                                                     {"message", "bad header " + echoed +
                                                                     " for " + kPassword}}})}}));
      },
      [](FakeSite&, const ListCall&) -> std::optional<Result<http::HttpResponse>> {
        return fail(ErrorReason::Tls, std::string("handshake with password ") + kPassword, false);
      },
  };
  int checked = 0;
  for (auto& hook : faults) {
    FakeSite site = make_site(3);
    site.hook = hook;
    ScriptedTransport transport(site.responder());
    auto out = fetch(transport, test_options());
    REQUIRE_FALSE(out.result->has_value());
    const auto& message = out.result->error().message;
    INFO(message);
    CHECK_THAT(message, Catch::Contains("network_security_rules/list offset 0"));
    CHECK(message.find(kPassword) == std::string::npos);
    CHECK(message.find(token) == std::string::npos);
    ++checked;
  }
  CHECK(checked == 7);
}
