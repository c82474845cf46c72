// fetch_v4_site against a simulated PC (pcsim behind a ScriptedTransport): $page/$limit paging,
// the six listings, completeness rules, status mapping with v4 error bodies, retries and
// deadlines, and credential redaction. Where a test needs a page no pcsim knob produces, it
// rewrites that one reply.
#include <catch2/catch.hpp>

#include <set>

#include "prism_pc.hpp"

using namespace flowdrift;
using namespace flowdrift::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The reference lists, one page each at the sites below, listed before the policies.
const std::vector<std::string> kReferenceLists = {kV4AddressGroups, kV4ServiceGroups,
                                                  kV4EntityGroups, kV4Categories, kV4Vpcs};
constexpr int kListRequests = 5;

// site_data()'s categories: AppType App0..6, Environment Prod and Dev, Unused x, App Tier web.
constexpr std::size_t kCategories = 11;

std::vector<std::string> v4_names(const std::vector<json>& items) {
  std::vector<std::string> out;
  for (const auto& p : items) out.push_back(p.at("name").get<std::string>());
  return out;
}

std::set<std::string> ext_ids(const std::vector<json>& items) {
  std::set<std::string> out;
  for (const auto& p : items) out.insert(p.at("extId").get<std::string>());
  return out;
}

std::string query(const http::HttpRequest* r, const char* name) {
  return std::string(r->query_param(name).value_or("<none>"));
}

std::vector<std::string> pages_asked(const ScriptedTransport& transport,
                                     const std::string& endpoint) {
  std::vector<std::string> pages;
  for (const auto* r : requests_to(transport, endpoint)) pages.push_back(query(r, "$page"));
  return pages;
}

// Every policy page of `pc` rewritten by edit(page).
void edit_policy_pages(Pc& pc, std::function<void(json&)> edit) {
  pc.rewrite = edit_v4_pages(kV4Policies,
                             [edit = std::move(edit)](std::int64_t, json& page) { edit(page); });
}

// A server that quotes the request's credentials in the error body of its `status` answer.
SimulatedPc::Rewrite echo_credentials(int status) {
  return [status](const http::HttpRequest& r, http::HttpResponse& response) {
    if (!is_list(r, kV4Policies)) return;
    const std::string echoed(r.header("Authorization").value_or(""));
    response = json_answer(status, v4_error_body("E" + std::to_string(status),
                                                 "bad header " + echoed + " for " + kPassword));
  };
}

}  // namespace

TEST_CASE("v4: pages past 100 with $page/$limit and fetches every listing", "[prism][v4][paging]") {
  Pc pc(250);
  pc.base_path = "/pc";
  auto options = v4_test_options();
  options.base_path = "/pc";
  options.page_size = 500;  // above the v4 maximum: clamped to 100
  auto out = pc.poll_v4(options);
  REQUIRE(out.result->has_value());
  const auto& data = out.result->value();

  auto policy_requests = requests_to(pc.transport, kV4Policies);
  REQUIRE(policy_requests.size() == 3);
  for (const auto* r : policy_requests) {
    CHECK(r->method == "GET");
    CHECK(r->path() == "/pc" + kV4Policies);
    CHECK(r->body.empty());
    CHECK(query(r, "$limit") == "100");
    check_request_headers(*r);
  }
  CHECK(pages_asked(pc.transport, kV4Policies) == std::vector<std::string>{"0", "1", "2"});

  REQUIRE(data.policies.size() == 250);
  CHECK(v4_names(data.policies) == pc.sim.rule_names());
  CHECK(data.policies.front().at("extId") == rule_uuid(pc.sim, 0));
  CHECK(data.policies.back().at("extId") == rule_uuid(pc.sim, 249));
  CHECK(data.address_groups.size() == 3);
  CHECK(data.address_groups.at(2).at("extId") == *pc.sim.address_group_uuid("ag-2"));
  CHECK(data.service_groups.size() == 2);
  CHECK(data.categories.size() == kCategories);
  CHECK(ext_ids(data.categories).count(*pc.sim.v4_ext_id("category", "Environment:Prod")) == 1);
  for (const auto& list : kReferenceLists) {
    INFO(list);
    CHECK(requests_to(pc.transport, list).size() == 1);
  }
  CHECK(out.stats.requests == kListRequests + 3);
  CHECK(out.stats.retries == 0);
}

TEST_CASE("v4: small limits and exact multiples page correctly", "[prism][v4][paging]") {
  SECTION("limit 7 over 30 categories-sized lists") {
    Pc pc(30);
    auto options = v4_test_options();
    options.page_size = 7;
    auto out = pc.poll_v4(options);
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().policies.size() == 30);
    CHECK(requests_to(pc.transport, kV4Policies).size() == 5);  // 7*4 + 2
    CHECK(out.result->value().categories.size() == kCategories);
    CHECK(requests_to(pc.transport, kV4Categories).size() == 2);  // 7 + 4
    for (const auto* r : requests_to(pc.transport, kV4Policies)) CHECK(query(r, "$limit") == "7");
  }
  SECTION("200 policies at limit 100 take exactly 2 requests") {
    Pc pc(200);
    auto out = pc.poll_v4();
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().policies.size() == 200);
    CHECK(requests_to(pc.transport, kV4Policies).size() == 2);
  }
  SECTION("page_size 0 still sends a valid $limit") {
    Pc pc(3);
    auto options = v4_test_options();
    options.page_size = 0;
    auto out = pc.poll_v4(options);
    REQUIRE(out.result->has_value());
    REQUIRE_FALSE(pc.transport.requests.empty());
    CHECK(query(&pc.transport.requests.front(), "$limit") == "1");
  }
  SECTION("an empty site with no history is complete") {
    auto site = site_data(0, 0, 0);
    site.categories.clear();
    Pc pc(site);
    auto out = pc.poll_v4();
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().policies.empty());
    CHECK(out.stats.requests == kListRequests + 1);
  }
}

TEST_CASE("v4: status mapping and v4 error bodies", "[prism][v4][status]") {
  SECTION("401 is Auth, not retried") {
    Pc pc(3, "v4_policies:status=401");
    auto out = pc.poll_v4();
    const Error e = failure(out, ErrorReason::Auth);
    CHECK(e.http_status == 401);
    CHECK_THAT(e.message, Catch::Contains(kV4Policies + " page 0"));
    CHECK(out.stats.requests == kListRequests + 1);
  }
  SECTION("403 is Forbidden and quotes the AppMessage") {
    Pc pc(3, "v4_service_groups:status=403");
    const Error e = failure(pc.poll_v4(), ErrorReason::Forbidden);
    CHECK_THAT(e.message, Catch::Contains(kV4ServiceGroups) &&
                              Catch::Contains("MIC-5403: Injected error 403."));
  }
  SECTION("404 on the v4 path is Http 404 with the message") {
    Pc pc(3, "v4_policies:status=404");
    auto out = pc.poll_v4();
    const Error e = failure(out, ErrorReason::Http);
    CHECK(e.http_status == 404);
    CHECK_THAT(e.message, Catch::Contains("Injected error 404."));
    CHECK(out.stats.requests == kListRequests + 1);
  }
  SECTION("a SchemaValidationError body is quoted") {
    Pc pc(3);
    const json messages =
        json::array({json{{"attributePath", "$page"}, {"message", "must be >= 0"}},
                     json{{"attributePath", "$limit"}, {"message", "too big"}}});
    const json body{{"data", json{{"$objectType", "prism.v4.error.ErrorResponse"},
                                  {"error", json{{"statusCode", 400},
                                                 {"error", "Bad Request"},
                                                 {"validationErrorMessages", messages}}}}}};
    pc.before = answer(kV4Categories, ScriptedReply{json_answer(400, body), {}});
    const Error e = failure(pc.poll_v4(), ErrorReason::Http);
    CHECK(e.http_status == 400);
    CHECK_THAT(e.message, Catch::Contains("Bad Request: $page: must be >= 0 (+1 more)"));
  }
  SECTION("an ErrorResponse inside a 200 is an error with its message") {
    Pc pc(3);
    pc.rewrite = edit_v4_pages(kV4AddressGroups, [](std::int64_t, json& page) {
      page = v4_error_body("MIC-30142", "internal lookup failed");
    });
    auto out = pc.poll_v4();
    const Error e = failure(out, ErrorReason::Http);
    CHECK_THAT(e.message, Catch::Contains(kV4AddressGroups + " page 0") &&
                              Catch::Contains("MIC-30142: internal lookup failed"));
    CHECK(out.stats.retries == 0);
  }
}

TEST_CASE("v4: retries of 429 and 5xx", "[prism][v4][retry]") {
  SECTION("429 honours Retry-After and then succeeds") {
    Pc pc(3, "v4_policies:status=429,retry_after=1,count=1");
    auto out = pc.poll_v4();
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().policies.size() == 3);
    CHECK(out.elapsed >= 950ms);
    CHECK(out.stats.retries == 1);
    CHECK(requests_to(pc.transport, kV4Policies).size() == 2);
  }
  SECTION("500 then 503 then success is retried and counted") {
    Pc pc(150);
    // The second page fails twice; the retry asks for the same page again. (A fault that
    // answers a request hides it from the faults after it.)
    pc.fault("v4_policies:status=500,after=1,count=1");
    pc.fault("v4_policies:status=503,after=1,count=1");
    auto out = pc.poll_v4();
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().policies.size() == 150);
    CHECK(out.stats.retries == 2);
    CHECK(out.stats.requests == 4 + kListRequests);
    CHECK(pages_asked(pc.transport, kV4Policies) == std::vector<std::string>{"0", "1", "1", "1"});
  }
  SECTION("503 forever is ServerError after retries + 1 requests") {
    Pc pc(3, "v4_policies:status=503");
    auto out = pc.poll_v4();
    const Error e = failure(out, ErrorReason::ServerError);
    CHECK(e.retryable);
    CHECK(out.stats.requests == kListRequests + 4);
    CHECK(out.stats.retries == 3);
  }
}

TEST_CASE("v4: malformed bodies and envelopes", "[prism][v4][shape]") {
  SECTION("unparsable JSON in a 200 is Malformed and not retried") {
    Pc pc(3, "v4_policies:malformed");
    auto out = pc.poll_v4();
    CHECK(failure(out).reason == ErrorReason::Malformed);
    CHECK(out.stats.requests == kListRequests + 1);
  }
  using MangleCase = std::pair<const char*, std::function<void(json&)>>;
  std::vector<MangleCase> cases = {
      {"totalAvailableResults missing",
       [](json& p) { p["metadata"].erase("totalAvailableResults"); }},
      {"totalAvailableResults is not a non-negative integer",
       [](json& p) { p["metadata"]["totalAvailableResults"] = "3"; }},
      {"totalAvailableResults is not a non-negative integer",
       [](json& p) { p["metadata"]["totalAvailableResults"] = -1; }},
      {"metadata missing", [](json& p) { p.erase("metadata"); }},
      {"metadata is not an object", [](json& p) { p["metadata"] = json::array(); }},
      {"data is not an array", [](json& p) { p["data"] = "x"; }},
      {"data[1] is not an object", [](json& p) { p["data"][1] = 5; }},
      {"body is not an object", [](json& p) { p = json::array(); }},
  };
  for (const auto& [expected, mangle] : cases) {
    Pc pc(3);
    edit_policy_pages(pc, mangle);
    const Error e = failure(pc.poll_v4());
    INFO(expected);
    CHECK(e.reason == ErrorReason::Malformed);
    CHECK_THAT(e.message, Catch::Contains(kV4Policies + " page 0") && Catch::Contains(expected));
  }
}

TEST_CASE("v4: completeness of a listing", "[prism][v4][completeness]") {
  SECTION("a short page before the total is Truncated") {
    Pc pc(250, 3, 2, capped_v4_pages(60));  // the server returns 60 of the 100 asked for
    const Error e = failure(pc.poll_v4(), ErrorReason::Truncated);
    CHECK_THAT(e.message, Catch::Contains("short page of 60") && Catch::Contains("is 250"));
  }
  SECTION("an empty page before the total is Truncated") {
    Pc pc(250);
    pc.rewrite = edit_v4_page(kV4Policies, 1, [](json& page) { page.erase("data"); });
    const Error e = failure(pc.poll_v4(), ErrorReason::Truncated);
    CHECK_THAT(e.message,
               Catch::Contains(kV4Policies + " page 1") && Catch::Contains("empty page"));
  }
  SECTION("data: [] counts as an empty page too") {
    Pc pc(5);
    edit_policy_pages(pc, [](json& page) { page["data"] = json::array(); });
    CHECK(failure(pc.poll_v4()).reason == ErrorReason::Truncated);
  }
  SECTION("a total that moves once restarts the listing and recovers") {
    Pc pc(250);
    // A policy is created while page 1 is being fetched, the first time only.
    pc.before =
        change_at(kV4Policies, 1, [](pcsim::Simulator& sim) { sim.add_rule(site_rule(250)); });
    auto out = pc.poll_v4();
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().policies.size() == 251);
    CHECK(pages_asked(pc.transport, kV4Policies) ==
          std::vector<std::string>{"0", "1", "0", "1", "2"});
  }
  SECTION("a total that keeps moving is TotalMoved") {
    Pc pc(250, "v4_policies:total_moved");  // every page after the first: one policy more
    const Error e = failure(pc.poll_v4(), ErrorReason::TotalMoved);
    CHECK_THAT(e.message, Catch::Contains("again after restarting"));
    CHECK(requests_to(pc.transport, kV4Policies).size() == 4);
  }
  SECTION("more items than the total is TotalMoved") {
    Pc pc(5);
    edit_policy_pages(pc, [](json& page) { page["metadata"]["totalAvailableResults"] = 4; });
    const Error e = failure(pc.poll_v4(), ErrorReason::TotalMoved);
    CHECK_THAT(e.message, Catch::Contains("more than"));
  }
  SECTION("duplicate extIds across pages are Truncated") {
    Pc pc(150);
    // Policy 120 is sent as a second copy of policy 3's extId: the count still adds up.
    auto repeated = std::make_shared<std::string>();
    pc.rewrite = repeat_ext_id(kV4Policies, repeated);
    const Error e = failure(pc.poll_v4());
    CHECK(*repeated == rule_uuid(pc.sim, 3));
    CHECK(e.reason == ErrorReason::Truncated);
    CHECK_THAT(e.message, Catch::Contains("duplicate extId " + rule_uuid(pc.sim, 3)) &&
                              Catch::Contains(kV4Policies + " page 1"));
  }
  SECTION("duplicate category extIds are caught too") {
    Pc pc(3);
    pc.rewrite = edit_v4_pages(kV4Categories, [](std::int64_t, json& page) {
      page["data"][3]["extId"] = page["data"][2]["extId"];
    });
    const Error e = failure(pc.poll_v4(), ErrorReason::Truncated);
    CHECK_THAT(e.message, Catch::Contains(kV4Categories));
  }
}

TEST_CASE("v4: empty lists", "[prism][v4][completeness]") {
  SECTION("no policies while the last snapshot had some is EmptyList") {
    Pc pc(0);
    auto options = v4_test_options();
    options.previous_policy_count = 12;
    auto out = pc.poll_v4(options);
    const Error e = failure(out, ErrorReason::EmptyList);
    CHECK_THAT(e.message, Catch::Contains("had 12"));
    CHECK(out.stats.requests == kListRequests + 1);
  }
  SECTION("no policies is fine without history, with history 0, or when allowed") {
    for (int variant = 0; variant < 3; ++variant) {
      Pc pc(0);
      auto options = v4_test_options();
      if (variant == 1) options.previous_policy_count = 0;
      if (variant == 2) {
        options.previous_policy_count = 12;
        options.allow_empty = true;
      }
      auto out = pc.poll_v4(options);
      INFO(variant);
      REQUIRE(out.result->has_value());
      CHECK(out.result->value().policies.empty());
      CHECK(out.result->value().categories.size() == kCategories);
    }
  }
  SECTION("no address groups while policies reference some is EmptyList") {
    Pc pc(v4_site(5, 0, 2, 2));
    const Error e = failure(pc.poll_v4(), ErrorReason::EmptyList);
    CHECK_THAT(e.message,
               Catch::Contains(kV4AddressGroups) && Catch::Contains("2 policies reference"));
  }
  SECTION("no service groups while a policy references one is EmptyList") {
    Pc pc(v4_site(5, 3, 0, 1));
    const Error e = failure(pc.poll_v4(), ErrorReason::EmptyList);
    CHECK_THAT(e.message,
               Catch::Contains(kV4ServiceGroups) && Catch::Contains("1 policy references"));
  }
  SECTION("no categories while policies reference some is EmptyList") {
    auto site = site_data(5);
    site.categories.clear();
    Pc pc(site);
    const Error e = failure(pc.poll_v4(), ErrorReason::EmptyList);
    CHECK_THAT(e.message, Catch::Contains(kV4Categories));
  }
  SECTION("empty group lists nobody references are fine") {
    Pc pc(5, 0, 0);
    auto out = pc.poll_v4();
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().address_groups.empty());
    CHECK(out.result->value().service_groups.empty());
  }
}

TEST_CASE("v4: transport errors and the poll deadline", "[prism][v4][transport]") {
  SECTION("Timeout forever: retried, then Timeout") {
    Pc pc(3, "v4_policies:latency_ms=2000");  // past every request timeout
    auto options = v4_test_options();
    options.request_timeout = 50ms;
    auto out = pc.poll_v4(options);
    const Error e = failure(out, ErrorReason::Timeout);
    CHECK_THAT(e.message, Catch::Contains(kV4Policies + " page 0") &&
                              Catch::Contains("request timed out (scripted delay)"));
    CHECK(out.stats.requests == kListRequests + 4);
    CHECK(out.stats.retries == 3);
  }
  SECTION("a slow server is cut off by the request timeout") {
    Pc pc(3);
    pc.transport.latency = 200ms;
    auto options = v4_test_options();
    options.request_timeout = 50ms;
    options.retries = 1;
    auto out = pc.poll_v4(options);
    CHECK(failure(out).reason == ErrorReason::Timeout);
    CHECK(out.stats.requests == 2);
    for (auto t : pc.transport.timeouts) CHECK(t == 50ms);
  }
  SECTION("a Retry-After past the deadline is not slept: Timeout at once") {
    Pc pc(3, "v4_policies:status=429,retry_after=5");
    auto options = v4_test_options();
    options.poll_timeout = 300ms;
    auto out = pc.poll_v4(options);
    const Error e = failure(out, ErrorReason::Timeout);
    CHECK_THAT(e.message, Catch::Contains("rate_limited"));
    CHECK(out.elapsed < 2500ms);
    CHECK(out.stats.requests == kListRequests + 1);
  }
}

TEST_CASE("v4: no error message contains the password or the Authorization header",
          "[prism][v4][secrets]") {
  std::vector<std::function<void(Pc&)>> faults = {
      [](Pc& pc) { pc.fault("v4_policies:status=401"); },
      [](Pc& pc) { pc.fault("v4_policies:status=403"); },
      [](Pc& pc) { pc.fault("v4_policies:status=503"); },
      [](Pc& pc) { pc.fault("v4_policies:malformed"); },
      [](Pc& pc) { pc.fault("v4_policies:drop"); },
      // A hostile or buggy server echoing the credentials back must not get them logged.
      [](Pc& pc) { pc.rewrite = echo_credentials(500); },
      [](Pc& pc) { pc.rewrite = echo_credentials(200); },
      [](Pc& pc) {
        pc.before = transport_error(kV4Policies, ErrorReason::Tls,
                                    std::string("handshake with password ") + kPassword, false);
      },
  };
  int checked = 0;
  for (auto& setup : faults) {
    Pc pc(3);
    setup(pc);
    const Error e = failure(pc.poll_v4());
    CHECK_THAT(e.message, Catch::Contains(kV4Policies + " page 0"));
    check_redacted(e.message);
    ++checked;
  }
  CHECK(checked == 8);
}
