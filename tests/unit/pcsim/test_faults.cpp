// pcsim fault injection: every fault type, count/after windows, endpoint scoping, the admin
// API and the spec parsers.
#include <catch2/catch.hpp>

#include "pcsim_test_helpers.hpp"

using namespace flowdrift;
using namespace flowdrift::pcsim;
using namespace flowdrift::pcsim::testing;

namespace {

const std::string kRulesList = "/network_security_rules/list";

int status_of(Simulator& sim, const std::string& path = kRulesList, const json& body = json::object()) {
  return post(sim, path, body).response.status;
}

}  // namespace

TEST_CASE("parse_fault reads the CLI text form and JSON", "[unit][pcsim]") {
  auto f = parse_fault("rules_list:status=503,count=2");
  CHECK(f.endpoint == "rules_list");
  CHECK(f.kind == FaultKind::Status);
  CHECK(f.status == 503);
  CHECK(f.count == 2);
  CHECK(f.after == 0);

  f = parse_fault("*:status=429,retry_after=9,after=3");
  CHECK(f.endpoint == "*");
  CHECK(f.retry_after_s == 9);
  CHECK(f.after == 3);
  CHECK(f.count == -1);

  CHECK(parse_fault("rules_list:truncated").kind == FaultKind::Truncate);
  CHECK(parse_fault("rules_list:drop,count=1").kind == FaultKind::Drop);
  CHECK(parse_fault("address_groups_list:empty").kind == FaultKind::Empty);
  CHECK(parse_fault("rules_list:total_moved").kind == FaultKind::TotalMoved);
  CHECK(parse_fault("rules_crud:malformed").kind == FaultKind::Malformed);
  f = parse_fault("categories_list:latency_ms=150");
  CHECK(f.kind == FaultKind::None);
  CHECK(f.latency_ms == 150);
  f = parse_fault(R"({"endpoint":"category_values_list","type":"status","status":410,"count":1})");
  CHECK(f.endpoint == "category_values_list");
  CHECK(f.status == 410);
  CHECK(f.count == 1);

  auto list = parse_faults_json(json::parse(R"([{"endpoint":"rules_list","status":500},"*:drop"])"));
  REQUIRE(list.size() == 2);
  CHECK(list[1].kind == FaultKind::Drop);

  CHECK_THROWS_AS(parse_fault("images_list:status=500"), std::invalid_argument);
  CHECK_THROWS_AS(parse_fault("rules_list:status=200"), std::invalid_argument);
  CHECK_THROWS_AS(parse_fault("rules_list:status=abc"), std::invalid_argument);
  CHECK_THROWS_AS(parse_fault("rules_list:explode"), std::invalid_argument);
  CHECK_THROWS_AS(parse_fault("rules_list"), std::invalid_argument);
  CHECK_THROWS_AS(parse_fault("rules_list:count=2"), std::invalid_argument);  // no effect
  CHECK_THROWS_AS(parse_fault(R"({"endpoint":"rules_list","status":"503"})"), std::invalid_argument);
}

TEST_CASE("status faults: envelopes, 401 text, 410 fixture body, 429 Retry-After", "[unit][pcsim]") {
  Simulator sim(small_site(3));
  auto fault_reply = [&](const std::string& spec) {
    sim.clear_faults();
    sim.add_fault(parse_fault(spec));
    return post(sim, kRulesList, json::object());
  };

  auto r401 = fault_reply("rules_list:status=401");
  CHECK(r401.response.status == 401);
  CHECK(json::parse(r401.response.body, nullptr, false).is_discarded());

  auto r410 = fault_reply("rules_list:status=410");
  CHECK(r410.response.status == 410);
  const auto fx410 = fixture("v3_error_410_gone_fns_ng.json");
  CHECK(json::parse(r410.response.body) == fx410);
  CHECK(r410.response.body == fx410.dump());

  auto r429 = fault_reply("rules_list:status=429,retry_after=7");
  CHECK(r429.response.status == 429);
  CHECK(r429.response.header("Retry-After") == std::optional<std::string_view>("7"));
  CHECK(json::parse(r429.response.body).at("message_list")[0].at("reason") == "TOO_MANY_REQUESTS");

  for (auto [code, reason] : {std::pair{403, "ACCESS_DENIED"}, std::pair{500, "INTERNAL_ERROR"},
                              std::pair{503, "SERVICE_UNAVAILABLE"}}) {
    auto r = fault_reply("rules_list:status=" + std::to_string(code));
    CHECK(r.response.status == code);
    auto body = json::parse(r.response.body);
    CHECK(body.at("state") == "ERROR");
    CHECK(body.at("code") == code);
    CHECK(body.at("api_version") == "3.1");
    CHECK(body.at("message_list")[0].at("reason") == reason);
  }
}

TEST_CASE("count and after select which matching requests fail", "[unit][pcsim]") {
  Simulator sim(small_site(3));
  SECTION("count=2: the first two, then healthy") {
    sim.add_fault(parse_fault("rules_list:status=503,count=2"));
    CHECK(status_of(sim) == 503);
    CHECK(status_of(sim) == 503);
    CHECK(status_of(sim) == 200);
    CHECK(status_of(sim) == 200);
  }
  SECTION("after=1,count=1: only the second") {
    sim.add_fault(parse_fault("rules_list:status=500,after=1,count=1"));
    CHECK(status_of(sim) == 200);
    CHECK(status_of(sim) == 500);
    CHECK(status_of(sim) == 200);
  }
  SECTION("count=-1 lasts until cleared") {
    sim.add_fault(parse_fault("rules_list:status=403"));
    for (int i = 0; i < 5; ++i) CHECK(status_of(sim) == 403);
    sim.clear_faults();
    CHECK(status_of(sim) == 200);
  }
  SECTION("requests to other endpoints do not count") {
    sim.add_fault(parse_fault("rules_list:status=503,after=1,count=1"));
    CHECK(status_of(sim, "/address_groups/list") == 200);
    CHECK(status_of(sim, "/address_groups/list") == 200);
    CHECK(status_of(sim) == 200);  // first matching request: skipped by after=1
    CHECK(status_of(sim) == 503);
  }
  SECTION("writes: only what changes the site counts, on any object endpoint") {
    sim.add_fault(parse_fault("writes:status=500,after=1,count=1"));
    const std::string ag = R"({"name":"ops","ip_address_block_list":[{"ip":"10.0.0.0","prefix_length":8}]})";
    CHECK(status_of(sim) == 200);  // a listing is a read, POST or not
    CHECK(sim.handle(request("POST", "/api/nutanix/v3/address_groups", ag)).response.status == 200);
    CHECK(sim.handle(request("GET", "/api/nutanix/v3/network_security_rules/x")).response.status == 404);
    CHECK(sim.handle(request("PUT", "/api/nutanix/v3/categories/AppType/New", R"({"value":"New"})"))
              .response.status == 500);  // the second write
    CHECK(sim.handle(request("PUT", "/api/nutanix/v3/categories/AppType/New", R"({"value":"New"})"))
              .response.status / 100 == 2);
  }
  SECTION("* matches every API endpoint") {
    sim.add_fault(parse_fault("*:status=500"));
    CHECK(status_of(sim) == 500);
    CHECK(status_of(sim, "/service_groups/list") == 500);
    CHECK(status_of(sim, "/categories/AppType/list") == 500);
    CHECK(sim.handle(request("GET", "/api/nutanix/v3/network_security_rules/x")).response.status == 500);
    CHECK(sim.handle(request("GET", "/_pcsim/stats")).response.status == 200);  // admin never faults
  }
  SECTION("one outcome per request; the next fault waits its turn") {
    sim.add_fault(parse_fault("rules_list:status=500,count=1"));
    sim.add_fault(parse_fault("rules_list:status=503,count=1"));
    CHECK(status_of(sim) == 500);
    CHECK(status_of(sim) == 503);
    CHECK(status_of(sim) == 200);
  }
}

TEST_CASE("body faults: malformed, truncated, dropped, latency", "[unit][pcsim]") {
  Simulator sim(small_site(3));
  sim.add_fault(parse_fault("rules_list:malformed,count=1"));
  auto bad = post(sim, kRulesList, json::object());
  CHECK(bad.response.status == 200);
  CHECK(json::parse(bad.response.body, nullptr, false).is_discarded());

  sim.add_fault(parse_fault("rules_list:truncate,count=1"));
  auto cut = post(sim, kRulesList, json::object());
  CHECK(cut.fault == http::ServerReply::Fault::TruncateBody);
  CHECK(json::parse(cut.response.body).at("entities").size() == 3);  // the server cuts it

  sim.add_fault(parse_fault("rules_list:drop,count=1"));
  CHECK(post(sim, kRulesList, json::object()).fault == http::ServerReply::Fault::DropConnection);

  sim.add_fault(parse_fault("rules_list:latency_ms=250,count=1"));
  auto slow = post(sim, kRulesList, json::object());
  CHECK(slow.delay == std::chrono::milliseconds(250));
  CHECK(slow.response.status == 200);

  auto normal = post(sim, kRulesList, json::object());
  CHECK(normal.fault == http::ServerReply::Fault::None);
  CHECK(normal.delay == std::chrono::milliseconds(0));

  auto stats = sim.stats();
  CHECK(stats.at("endpoints").at("rules_list").at("dropped") == 1);
  CHECK(stats.at("faults_applied").at("malformed") == 1);
  CHECK(stats.at("faults_applied").at("truncate") == 1);
  CHECK(stats.at("faults_applied").at("latency") == 1);
}

TEST_CASE("total_moved changes total_matches on pages after the first", "[unit][pcsim]") {
  Simulator sim(small_site(45));
  sim.add_fault(parse_fault("rules_list:total_moved,count=1"));
  auto p1 = post_json(sim, kRulesList, {{"offset", 0}, {"length", 20}});
  auto p2 = post_json(sim, kRulesList, {{"offset", 20}, {"length", 20}});
  auto p3 = post_json(sim, kRulesList, {{"offset", 40}, {"length", 20}});
  CHECK(p1.at("metadata").at("total_matches") == 45);
  CHECK(p2.at("metadata").at("total_matches") == 46);
  CHECK(p3.at("metadata").at("total_matches") == 45);  // count=1 spent on the first later page
  CHECK(p2.at("entities").size() == 20);
}

TEST_CASE("empty fault returns a 200 empty list", "[unit][pcsim]") {
  Simulator sim(small_site(10));
  sim.add_fault(parse_fault("address_groups_list:empty"));
  auto ags = post_json(sim, "/address_groups/list", json::object());
  CHECK(ags.at("entities").empty());
  CHECK(ags.at("metadata").at("total_matches") == 0);
  // Scoped to its endpoint.
  CHECK(post_json(sim, kRulesList, json::object()).at("metadata").at("total_matches") == 10);
  sim.add_fault(parse_fault("rules_list:empty,count=1"));
  auto rules = post_json(sim, kRulesList, json::object());
  CHECK(rules.at("entities").empty());
  CHECK(rules.at("metadata").at("total_matches") == 0);
  CHECK(post_json(sim, kRulesList, json::object()).at("metadata").at("total_matches") == 10);
}

TEST_CASE("faults set at construction apply from the first request", "[unit][pcsim]") {
  SimulatorOptions opts;
  opts.faults.push_back(parse_fault("rules_list:status=410"));
  Simulator sim(small_site(2), opts);
  CHECK(status_of(sim) == 410);
  CHECK(status_of(sim, "/address_groups/list") == 200);
}

TEST_CASE("admin API: faults and stats over HTTP", "[unit][pcsim]") {
  Simulator sim(small_site(2));
  auto added = sim.handle(request("POST", "/_pcsim/faults",
                                  R"([{"endpoint":"rules_list","status":503,"count":1},
                                      {"endpoint":"service_groups_list","type":"empty"}])"));
  REQUIRE(added.response.status == 200);
  CHECK(json::parse(added.response.body).at("faults").size() == 2);
  CHECK(sim.handle(request("POST", "/_pcsim/faults", "categories_list:status=500,count=1")).response.status == 200);
  CHECK(sim.handle(request("POST", "/_pcsim/faults", R"({"endpoint":"nope","status":500})")).response.status == 400);
  CHECK(sim.faults().size() == 3);

  CHECK(status_of(sim) == 503);
  CHECK(status_of(sim) == 200);
  CHECK(post_json(sim, "/service_groups/list", json::object()).at("entities").empty());
  CHECK(status_of(sim, "/categories/list") == 500);

  auto listed = json::parse(sim.handle(request("GET", "/_pcsim/faults")).response.body);
  CHECK(listed.at("faults")[0].at("applied") == 1);
  CHECK(listed.at("faults")[0].at("seen") == 2);

  auto stats = json::parse(sim.handle(request("GET", "/_pcsim/stats")).response.body);
  CHECK(stats.at("endpoints").at("rules_list").at("total") == 2);
  CHECK(stats.at("endpoints").at("rules_list").at("503") == 1);
  CHECK(stats.at("endpoints").at("rules_list").at("200") == 1);
  CHECK(stats.at("endpoints").at("categories_list").at("500") == 1);
  CHECK(stats.at("status").at("503") == 1);
  CHECK(stats.at("faults_applied").at("status") == 2);

  auto cleared = sim.handle(request("DELETE", "/_pcsim/faults"));
  CHECK(json::parse(cleared.response.body).at("faults").empty());
  CHECK(post_json(sim, "/service_groups/list", json::object()).at("entities").size() == 1);

  CHECK(sim.handle(request("DELETE", "/_pcsim/stats")).response.status == 200);
  auto reset = sim.stats();  // only the reset request itself is counted after the reset
  CHECK(reset.at("total") == 1);
  CHECK(reset.at("endpoints").size() == 1);
  CHECK(reset.at("endpoints").at("admin").at("200") == 1);
  CHECK(sim.handle(request("GET", "/_pcsim/nothing")).response.status == 404);
}
