// fetch_v3_site against a simulated PC (pcsim behind a ScriptedTransport): paging,
// completeness rules, status mapping, retries and deadlines, and that no error message leaks
// credentials. Where a test needs a page no pcsim knob produces, it rewrites that one reply.
#include <catch2/catch.hpp>

#include <set>

#include "http/types.hpp"
#include "policy/normalize_v3.hpp"
#include "prism_pc.hpp"

using namespace flowdrift;
using namespace flowdrift::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kRules = "network_security_rules/list";

std::vector<std::string> names_of(const std::vector<nlohmann::json>& rules) {
  std::vector<std::string> out;
  for (const auto& r : rules) out.push_back(r.at("spec").at("name").get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("pages past 500 with correct offsets and returns every entity", "[prism][paging]") {
  Pc pc(1234);
  pc.base_path = "/pc";
  auto options = test_options();
  options.base_path = "/pc";
  auto out = pc.poll(options);
  REQUIRE(out.result->has_value());
  const auto& data = out.result->value();

  auto rule_requests = requests_to(pc.transport, kRules);
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
    check_request_headers(*r);
    CHECK(r->header("Content-Type") == std::optional<std::string_view>("application/json"));
  }
  CHECK(offsets == std::vector<std::int64_t>{0, 500, 1000});

  REQUIRE(data.rules.size() == 1234);
  CHECK(names_of(data.rules) == pc.sim.rule_names());
  CHECK(data.address_groups.size() == 3);
  CHECK(data.service_groups.size() == 2);
  CHECK(data.category_keys.size() == 4);

  // Every kind is listed with its own `kind`.
  for (const auto& [endpoint, kind] :
       std::vector<std::pair<std::string, std::string>>{{"address_groups/list", "address_group"},
                                                        {"service_groups/list", "service_group"},
                                                        {"categories/list", "category"}}) {
    auto reqs = requests_to(pc.transport, "/v3/" + endpoint);
    REQUIRE(reqs.size() == 1);
    CHECK(nlohmann::json::parse(reqs[0]->body).at("kind") == kind);
  }
  CHECK(out.stats.requests == static_cast<int>(pc.transport.requests.size()));
  CHECK(out.stats.requests == 3 + 1 + 1 + 1 + 2);
  CHECK(out.stats.retries == 0);
}

TEST_CASE("smaller page sizes and a server that caps pages still give complete lists",
          "[prism][paging]") {
  auto sim_options = pc_options();
  // The server answers at most 40 per page whatever `length` says.
  sim_options.max_page_length = 40;
  Pc pc(95, 601, 2, sim_options);
  auto options = test_options();
  options.page_size = 100;
  auto out = pc.poll(options);
  REQUIRE(out.result->has_value());
  CHECK(out.result->value().rules.size() == 95);
  CHECK(out.result->value().address_groups.size() == 601);
  auto ag = requests_to(pc.transport, "address_groups/list");
  REQUIRE(ag.size() == 16);  // ceil(601 / 40)
  CHECK(nlohmann::json::parse(ag[1]->body).at("offset") == 40);
  CHECK(nlohmann::json::parse(ag[1]->body).at("length") == 100);
  std::set<std::string> uuids;
  for (const auto& g : out.result->value().address_groups) uuids.insert(g.at("uuid"));
  CHECK(uuids.size() == 601);
}

TEST_CASE("category values are fetched for exactly the referenced keys", "[prism][categories]") {
  Pc pc(10);
  // One rule secures a key with a space, which must be percent-encoded in the path.
  pc.sim.add_rule(site_rule(99, "App Tier", "Environment"));
  auto out = pc.poll();
  REQUIRE(out.result->has_value());
  const auto& data = out.result->value();

  std::set<std::string> value_paths;
  for (const auto& r : pc.transport.requests) {
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
  Pc pc(3, "rules_list:status=401");
  auto out = pc.poll();
  const Error e = failure(out, ErrorReason::Auth);
  CHECK(e.http_status == 401);
  CHECK_FALSE(e.retryable);
  CHECK_THAT(e.message, Catch::Contains("network_security_rules/list offset 0"));
  CHECK(out.stats.requests == 1);
  CHECK(out.stats.retries == 0);
}

TEST_CASE("HTTP 403 is Forbidden", "[prism][status]") {
  Pc pc(3, "service_groups_list:status=403");
  auto out = pc.poll();
  const Error e = failure(out, ErrorReason::Forbidden);
  CHECK_THAT(e.message, Catch::Contains("service_groups/list offset 0"));
  CHECK_THAT(e.message, Catch::Contains("ACCESS_DENIED"));
  CHECK(out.stats.requests == 3);  // rules, address groups, then the 403 once
}

TEST_CASE("HTTP 410 is Gone and quotes the v3 error envelope", "[prism][status]") {
  Pc pc(3, "rules_list:status=410");  // pcsim answers v3_error_410_gone_fns_ng.json
  auto out = pc.poll();
  const Error e = failure(out, ErrorReason::Gone);
  CHECK(e.http_status == 410);
  CHECK_FALSE(e.retryable);
  CHECK_THAT(e.message, Catch::Contains("GONE_ERROR"));
  CHECK_THAT(e.message, Catch::Contains("no longer supported"));
  CHECK(out.stats.requests == 1);
}

TEST_CASE("other non-2xx statuses are Http and not retried", "[prism][status]") {
  Pc pc(3, "categories_list:status=422");
  auto out = pc.poll();
  const Error e = failure(out, ErrorReason::Http);
  CHECK(e.http_status == 422);
  CHECK(requests_to(pc.transport, "/v3/categories/list").size() == 1);
}

TEST_CASE("429 honours Retry-After and then succeeds", "[prism][retry]") {
  Pc pc(3, "rules_list:status=429,retry_after=1,count=1");
  auto out = pc.poll();
  REQUIRE(out.result->has_value());
  CHECK(out.result->value().rules.size() == 3);
  CHECK(out.elapsed >= 950ms);
  CHECK(out.stats.retries == 1);
  CHECK(requests_to(pc.transport, kRules).size() == 2);
}

TEST_CASE("500 then 503 then success is retried and counted", "[prism][retry]") {
  Pc pc(700);
  // The second page fails twice: retries resume at the same offset. (A fault that answers a
  // request hides it from the faults after it: the 503's second match is the third request.)
  pc.fault("rules_list:status=500,after=1,count=1");
  pc.fault("rules_list:status=503,after=1,count=1");
  auto out = pc.poll();
  REQUIRE(out.result->has_value());
  CHECK(out.result->value().rules.size() == 700);
  CHECK(out.stats.retries == 2);
  auto reqs = requests_to(pc.transport, kRules);
  REQUIRE(reqs.size() == 4);
  for (std::size_t i = 1; i < 4; ++i) {
    CHECK(nlohmann::json::parse(reqs[i]->body).at("offset") == 500);
  }
  CHECK(out.stats.requests == 4 + 1 + 1 + 1 + 2);
}

TEST_CASE("503 forever is ServerError after retries + 1 requests", "[prism][retry]") {
  Pc pc(3, "rules_list:status=503");
  auto options = test_options();
  options.retries = 3;
  auto out = pc.poll(options);
  const Error e = failure(out, ErrorReason::ServerError);
  CHECK(e.http_status == 503);
  CHECK(e.retryable);
  CHECK(out.stats.requests == 4);
  CHECK(out.stats.retries == 3);
}

TEST_CASE("unparsable JSON in a 200 is Malformed and not retried", "[prism][shape]") {
  Pc pc(3, "address_groups_list:malformed");
  auto out = pc.poll();
  const Error e = failure(out, ErrorReason::Malformed);
  CHECK_THAT(e.message, Catch::Contains("address_groups/list offset 0"));
  CHECK(requests_to(pc.transport, "address_groups/list").size() == 1);
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
      Pc pc(600);
      pc.rewrite = edit_pages(kRules, [&c](std::int64_t offset, json& page) {
        if (offset == 500) c.mangle(page);
      });
      auto out = pc.poll();
      const Error e = failure(out, ErrorReason::Malformed);
      CHECK_THAT(e.message, Catch::Contains(c.expected));
      CHECK(out.stats.retries == 0);
    }
  }
}

TEST_CASE("an empty page before the total is reached is Truncated", "[prism][completeness]") {
  SECTION("the server stops answering entities mid-list") {
    Pc pc(250);
    pc.rewrite = edit_pages(kRules, [](std::int64_t offset, json& page) {
      if (offset >= 200) page["entities"] = json::array();
    });
    auto options = test_options();
    options.page_size = 100;
    auto out = pc.poll(options);
    const Error e = failure(out, ErrorReason::Truncated);
    CHECK_THAT(e.message, Catch::Contains("network_security_rules/list offset 200"));
  }
  SECTION("the total claims more entities than the list has") {
    Pc pc(8);
    pc.rewrite = edit_pages(
        kRules, [](std::int64_t, json& page) { page["metadata"]["total_matches"] = 10; });
    auto out = pc.poll();
    const Error e = failure(out, ErrorReason::Truncated);
    CHECK_THAT(e.message, Catch::Contains("offset 8"));
    CHECK(requests_to(pc.transport, kRules).size() == 2);
  }
}

TEST_CASE("a total that moves once restarts the listing and recovers", "[prism][completeness]") {
  Pc pc(600);
  // Someone adds a policy while the second page is requested.
  pc.before = change_at(kRules, 1, [](pcsim::Simulator& sim) { sim.add_rule(site_rule(5000)); });
  auto out = pc.poll();
  REQUIRE(out.result->has_value());
  CHECK(out.result->value().rules.size() == 601);
  auto reqs = requests_to(pc.transport, kRules);
  REQUIRE(reqs.size() == 2 + 2);
  std::vector<std::int64_t> offsets;
  for (const auto* r : reqs) offsets.push_back(nlohmann::json::parse(r->body).at("offset"));
  CHECK(offsets == std::vector<std::int64_t>{0, 500, 0, 500});
  std::set<std::string> uuids;
  for (const auto& r : out.result->value().rules) uuids.insert(r.at("metadata").at("uuid"));
  CHECK(uuids.size() == 601);
}

TEST_CASE("a total that keeps moving is TotalMoved", "[prism][completeness]") {
  Pc pc(600);
  int added = 0;
  pc.before = [&added](pcsim::Simulator& sim,
                       const http::HttpRequest& r) -> std::optional<ScriptedReply> {
    if (is_list(r, kRules) && offset_of(r) > 0) sim.add_rule(site_rule(6000 + added++));
    return std::nullopt;
  };
  auto out = pc.poll();
  const Error e = failure(out, ErrorReason::TotalMoved);
  CHECK_THAT(e.message, Catch::Contains("network_security_rules/list offset 500"));
  CHECK(requests_to(pc.transport, kRules).size() == 4);  // two passes of two pages
}

TEST_CASE("more entities than the total is TotalMoved", "[prism][completeness]") {
  Pc pc(5);
  pc.rewrite =
      edit_pages(kRules, [](std::int64_t, json& page) { page["metadata"]["total_matches"] = 3; });
  auto out = pc.poll();
  CHECK(failure(out).reason == ErrorReason::TotalMoved);
}

TEST_CASE("duplicate uuids across pages are rejected", "[prism][completeness]") {
  SECTION("rules (metadata.uuid): overlapping pages") {
    Pc pc(600);
    // The second page starts one entity early, as if a policy before it had been deleted and
    // another added: the count adds up but one policy was never seen.
    const json rule_499 = *pc.sim.rule_by_name("rule-00499");
    pc.rewrite = edit_pages(kRules, [&rule_499](std::int64_t offset, json& page) {
      if (offset == 500) {
        page["entities"].erase(page["entities"].size() - 1);
        page["entities"].insert(page["entities"].begin(), rule_499);
      }
    });
    auto out = pc.poll();
    const Error e = failure(out, ErrorReason::Truncated);
    CHECK_THAT(e.message, Catch::Contains("duplicate uuid " +
                                          rule_499.at("metadata").at("uuid").get<std::string>()));
  }
  SECTION("address groups (top-level uuid) within one page") {
    Pc pc(2, 4);
    pc.rewrite = edit_pages("address_groups/list", [](std::int64_t, json& page) {
      page["entities"][3]["uuid"] = page["entities"][1]["uuid"];
    });
    auto out = pc.poll();
    const Error e = failure(out, ErrorReason::Truncated);
    CHECK_THAT(e.message, Catch::Contains("address_groups/list offset 0"));
  }
}

TEST_CASE("an empty policy list is refused when the site had policies", "[prism][completeness]") {
  Pc pc(0);
  auto options = test_options();
  options.previous_policy_count = 42;
  auto out = pc.poll(options);
  const Error e = failure(out, ErrorReason::EmptyList);
  CHECK_FALSE(e.retryable);
  CHECK_THAT(e.message, Catch::Contains("42"));
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
  Pc pc(0);
  auto out = pc.poll(options);
  REQUIRE(out.result->has_value());
  CHECK(out.result->value().rules.empty());
  CHECK(out.result->value().category_values.empty());
  CHECK(out.result->value().category_keys.size() == 4);
  CHECK(out.stats.requests == 4);
}

TEST_CASE("transport errors keep their reason and retryability", "[prism][transport]") {
  SECTION("Timeout forever: retried, then Timeout") {
    Pc pc(3, "rules_list:latency_ms=2000");  // past every request timeout
    auto options = test_options();
    options.request_timeout = 50ms;
    auto out = pc.poll(options);
    const Error e = failure(out, ErrorReason::Timeout);
    CHECK(e.retryable);
    CHECK_THAT(e.message, Catch::Contains("network_security_rules/list offset 0") &&
                              Catch::Contains("request timed out (scripted delay)"));
    CHECK(out.stats.requests == 4);
    CHECK(out.stats.retries == 3);
  }
  SECTION("Connect once, then success") {
    Pc pc(3, "categories_list:drop,count=1");  // closed before an answer: Connect
    auto out = pc.poll();
    REQUIRE(out.result->has_value());
    CHECK(out.stats.retries == 1);
  }
  SECTION("Tls is not retried") {
    Pc pc(3);
    pc.before = transport_error(kRules, ErrorReason::Tls, "certificate verify failed", false);
    auto out = pc.poll();
    CHECK(failure(out).reason == ErrorReason::Tls);
    CHECK(out.stats.requests == 1);
  }
}

TEST_CASE("the poll deadline bounds retries and requests", "[prism][deadline]") {
  SECTION("a Retry-After past the deadline is not slept: Timeout at once") {
    Pc pc(3, "rules_list:status=429,retry_after=5");
    auto options = test_options();
    options.poll_timeout = 300ms;
    auto out = pc.poll(options);
    const Error e = failure(out, ErrorReason::Timeout);
    CHECK_THAT(e.message, Catch::Contains("rate_limited"));
    CHECK(out.elapsed < 2500ms);  // did not sleep the 5 s Retry-After
    CHECK(out.stats.requests == 1);
    CHECK(out.stats.retries == 0);
  }
  SECTION("a slow server: per-request timeouts shrink to the time left") {
    // 40 one-entity pages at 120 ms each would take 4.8 s; the poll has 400 ms.
    Pc pc(40, "*:latency_ms=120");
    auto options = test_options();
    options.page_size = 1;
    options.request_timeout = 5000ms;
    options.poll_timeout = 400ms;
    auto out = pc.poll(options);
    const auto& timeouts = pc.transport.timeouts;
    CHECK(failure(out).reason == ErrorReason::Timeout);
    CHECK(out.elapsed >= 380ms);
    CHECK(out.elapsed < 2000ms);
    REQUIRE(timeouts.size() >= 2);
    CHECK(timeouts.size() < 10);
    CHECK(timeouts[0] <= 400ms);
    CHECK(timeouts[0] > 300ms);
    for (std::size_t i = 1; i < timeouts.size(); ++i) CHECK(timeouts[i] < timeouts[i - 1]);
    CHECK(timeouts.back() <= 400ms - 120ms);
  }
  SECTION("request_timeout applies when it is the smaller") {
    Pc pc(3);
    auto options = test_options();
    options.request_timeout = 750ms;
    auto out = pc.poll(options);
    REQUIRE(out.result->has_value());
    for (auto t : pc.transport.timeouts) CHECK(t == 750ms);
  }
}

TEST_CASE("no error message contains the password or the Authorization header",
          "[prism][secrets]") {
  std::vector<std::function<void(Pc&)>> faults = {
      [](Pc& pc) { pc.fault("rules_list:status=401"); },
      [](Pc& pc) { pc.fault("rules_list:status=403"); },
      [](Pc& pc) { pc.fault("rules_list:status=503"); },
      [](Pc& pc) { pc.fault("rules_list:malformed"); },
      [](Pc& pc) { pc.fault("rules_list:drop"); },
      // A hostile or buggy server echoing the credentials back must not get them logged.
      [](Pc& pc) {
        pc.fault("rules_list:status=500");
        pc.rewrite = [](const http::HttpRequest& r, http::HttpResponse& response) {
          const std::string echoed(r.header("Authorization").value_or(""));
          response.body =
              json{{"message_list",
                    json::array({json{{"reason", "INTERNAL_ERROR"},
                                      {"message", "bad header " + echoed + " for " + kPassword}}})}}
                  .dump();
        };
      },
      [](Pc& pc) {
        pc.before = transport_error(kRules, ErrorReason::Tls,
                                    std::string("handshake with password ") + kPassword, false);
      },
  };
  int checked = 0;
  for (auto& setup : faults) {
    Pc pc(3);
    setup(pc);
    auto out = pc.poll();
    REQUIRE_FALSE(out.result->has_value());
    CHECK_THAT(out.result->error().message,
               Catch::Contains("network_security_rules/list offset 0"));
    check_redacted(out.result->error().message);
    ++checked;
  }
  CHECK(checked == 7);
}
