// The rule pieces canonical_build writes as text must be the bytes nlohmann's dump() gave for
// the same values as DOMs (the form they were built in until 2026-12-07): every stored hash
// depends on them. The DOMs below are the old definitions, kept here as the reference.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>

#include "policy/canonical_build.hpp"

namespace b = flowdrift::policy::build;
using nlohmann::json;

namespace {

json ports_dom(const b::PortRanges& ranges) {
  json out = json::array();
  if (ranges.empty()) out.push_back(json::array({0, 65535}));
  for (const auto& [start, end] : ranges) out.push_back(json::array({start, end}));
  return out;
}

json icmp_dom(const b::IcmpSet& items, const std::string& protocol) {
  json list = json::array();
  if (items.empty()) list.push_back(json::object());
  for (const auto& [type, code] : items) {
    json item = json::object();
    if (type >= 0) item["type"] = type;
    if (code >= 0) item["code"] = code;
    list.push_back(std::move(item));
  }
  return json{{"protocol", protocol}, {"icmp", list}};
}

std::string old_match(const std::set<std::string>& categories, const std::string& match) {
  std::set<std::string> keys;
  for (const auto& c : categories) keys.insert(c.substr(0, c.find(':')));
  return keys.size() <= 1 ? std::string("all") : match;
}

}  // namespace

TEST_CASE("service texts are the dump() of their DOMs", "[unit][policy]") {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    b::PortRanges ranges;
    b::IcmpSet icmp;
    const int n = static_cast<int>(rng() % 4);
    for (int k = 0; k < n; ++k) {
      const std::int64_t start = rng() % 65536;
      ranges.emplace(start, start + rng() % (65536 - start));
      icmp.emplace(static_cast<std::int64_t>(rng() % 257) - 1,
                   static_cast<std::int64_t>(rng() % 257) - 1);
    }
    CHECK(b::tcp_service_text(ranges) ==
          json{{"protocol", "tcp"}, {"ports", ports_dom(ranges)}}.dump());
    CHECK(b::udp_service_text(ranges) ==
          json{{"protocol", "udp"}, {"ports", ports_dom(ranges)}}.dump());
    CHECK(b::icmp_service_text(icmp) == icmp_dom(icmp, "icmp").dump());
    CHECK(b::icmp_service_text(icmp, "icmp6") == icmp_dom(icmp, "icmp6").dump());
  }
  CHECK(b::tcp_service_text({}) == R"({"ports":[[0,65535]],"protocol":"tcp"})");
  CHECK(b::icmp_service_text({{-1, -1}, {8, -1}, {-1, 0}, {3, 4}}) ==
        // sorted by (type, code)
        R"({"icmp":[{},{"code":0},{"code":4,"type":3},{"type":8}],"protocol":"icmp"})");
  CHECK(b::all_service_text() == json{{"all", true}}.dump());
  CHECK(b::any_peer_text() == json{{"any", true}}.dump());
}

TEST_CASE("peer texts are the dump() of their DOMs", "[unit][policy]") {
  const std::set<std::string> one_key{"app:web", "app:db"};
  const std::set<std::string> two_keys{"app:web", "env:prod", "odd \"name\":\u00e9\t"};
  const std::set<std::string> no_colon{"a", "a-b:x", "a:y"};  // keys a, a-b, a
  for (const auto* cats : {&one_key, &two_keys, &no_colon}) {
    for (const std::string match : {"all", "any"}) {
      json peer{{"categories", *cats}, {"match", old_match(*cats, match)}};
      CHECK(b::category_peer_text(*cats, match) == peer.dump());
      peer["kinds"] = json::array({"pod"});
      CHECK(b::category_peer_text(*cats, match, "pod") == peer.dump());
      CHECK(b::effective_match(*cats, match) == old_match(*cats, match));
    }
  }
  CHECK(b::category_peer_text({}, "any") == R"({"categories":[],"match":"all"})");
  CHECK(b::effective_match(two_keys, "any") == "any");
  CHECK(b::effective_match(no_colon, "any") == "any");
  CHECK(b::named_text("address_group", "web \"tier\"") ==
        json{{"address_group", "web \"tier\""}}.dump());
  CHECK(b::named_text("subnet", "10.0.0.0/8") == R"({"subnet":"10.0.0.0/8"})");
}

TEST_CASE("a rule's text is the dump() of its DOM", "[unit][policy]") {
  b::RuleSet rules;
  const std::string peer = b::named_text("subnet", "10.0.0.0/8");
  const std::string service = b::tcp_service_text({{443, 443}});
  b::add_rule(rules, "inbound", peer, service, "line\nbreak \"quoted\" \x01");
  REQUIRE(rules.size() == 1);
  CHECK(*rules.begin() == json{{"description", "line\nbreak \"quoted\" \x01"},
                               {"direction", "inbound"},
                               {"peer", json::parse(peer)},
                               {"service", json::parse(service)}}
                              .dump());
}
