// The drift corpus of issue #5 ("Must show", first bullet): small source/replica pairs, each
// with the complete list of drift items the pair diff must report as (policy, kind, severity,
// direction). The expectations are the tables of docs/domain.md ("Kinds and severity
// of drift") and docs/drift.md, not what the code happens to do.
//
// Snapshots are built from compact canonical JSON (docs/canonical-model.md) with the helpers
// below, or from raw v3 / v4 API JSON through canonicalize_v3 / canonicalize_v4 so that "v3
// against v4" goes through the real normalizers.
//
// Expected differences (config pairs[].expected) are applied as the daemon does, at a fixed
// "now" (kNow): a live expectation marks the items it selects expected (stored, not alerted),
// an expired one leaves them drift.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "../policy/policy_test_support.hpp"
#include "core/sha256.hpp"
#include "diff/diff.hpp"
#include "drift/expect.hpp"
#include "policy/normalize_v3.hpp"
#include "policy/normalize_v4.hpp"
#include "support/canonical.hpp"

using namespace flowdrift;
using namespace flowdrift::diff;
using namespace flowdrift::drift;
using nlohmann::json;
using policy::ObjectKind;

namespace {

// ---------------------------------------------------------------------------------------
// Canonical building blocks (docs/canonical-model.md §2-4).

json any_peer() { return {{"any", true}}; }
json subnet(const std::string& cidr) { return {{"subnet", cidr}}; }
json cats(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  return {{"categories", values}, {"match", "all"}};
}
json ag(const std::string& name) { return {{"address_group", name}}; }

json tcp(std::vector<std::pair<int, int>> ranges) {
  json ports = json::array();
  for (auto [a, b] : ranges) ports.push_back({a, b});
  return {{"protocol", "tcp"}, {"ports", ports}};
}
json udp(std::vector<std::pair<int, int>> ranges) {
  json s = tcp(std::move(ranges));
  s["protocol"] = "udp";
  return s;
}
json icmp_all() { return {{"protocol", "icmp"}, {"icmp", json::array({json::object()})}}; }
json icmp_type(int type) {
  return {{"protocol", "icmp"}, {"icmp", json::array({{{"type", type}}})}};
}
json all_services() { return {{"all", true}}; }
json sg(const std::string& name) { return {{"service_group", name}}; }

json in(json peer, json service, const std::string& description = "") {
  return {{"direction", "inbound"},
          {"peer", std::move(peer)},
          {"service", std::move(service)},
          {"description", description}};
}
json out(json peer, json service, const std::string& description = "") {
  json r = in(std::move(peer), std::move(service), description);
  r["direction"] = "outbound";
  return r;
}

json group(std::vector<std::string> categories) {
  std::sort(categories.begin(), categories.end());
  return {{"categories", categories}, {"kinds", {"vm"}}, {"match", "all"}};
}

// Rules sorted by canonical text, as the canonical model holds them (a set).
json rule_set(std::vector<json> rules) {
  std::vector<std::string> texts;
  for (const auto& r : rules) texts.push_back(r.dump());
  std::sort(texts.begin(), texts.end());
  texts.erase(std::unique(texts.begin(), texts.end()), texts.end());
  json out = json::array();
  for (const auto& t : texts) out.push_back(json::parse(t));
  return out;
}

// An application (or quarantine) policy securing AppType:Web: by default TCP/443 in from
// 10.0.0.0/24 and DNS out to anywhere.
struct Pol {
  std::string name = "web";
  std::string type = "application";
  std::string mode = "enforce";
  std::string description = "web tier";
  std::vector<std::string> secured = {"AppType:Web"};
  std::vector<json> rules = {in(subnet("10.0.0.0/24"), tcp({{443, 443}})),
                             out(any_peer(), udp({{53, 53}}))};
  std::string intra = "deny";
  bool ipv6 = false;

  json canonical() const {
    return {{"name", name},           {"description", description}, {"type", type},
            {"mode", mode},           {"allow_ipv6", ipv6},         {"hitlog", false},
            {"intra_group", intra},   {"secured_group", group(secured)},
            {"rules", rule_set(rules)}};
  }
};

json isolation_policy(const std::string& name, const std::string& mode,
                      std::vector<std::vector<std::string>> groups) {
  std::vector<std::string> texts;
  for (auto& g : groups) texts.push_back(group(g).dump());
  std::sort(texts.begin(), texts.end());
  json iso = json::array();
  for (const auto& t : texts) iso.push_back(json::parse(t));
  return {{"name", name}, {"description", ""},     {"type", "isolation"}, {"mode", mode},
          {"allow_ipv6", false}, {"hitlog", false}, {"isolation", iso}};
}

policy::CanonicalObject policy_object(const json& p) {
  return flowdrift::test::canonical_object(ObjectKind::Policy, p);
}

policy::CanonicalObject plain_object(ObjectKind kind, const std::string& name, const json& j) {
  return flowdrift::test::canonical_object(kind, name, j);
}

// One site's snapshot: policies plus the groups and category values they reference, as
// canonicalization emits them (every value of each referenced category key).
struct Site {
  std::vector<json> policies;
  std::map<std::string, std::vector<std::string>> address_groups;  // name -> CIDRs
  std::map<std::string, std::vector<json>> service_groups;         // name -> services
  std::vector<std::string> categories = {"AppType:DB", "AppType:LB", "AppType:Web"};
  std::vector<policy::Finding> findings;

  Site& add(json p) {
    policies.push_back(std::move(p));
    return *this;
  }

  policy::Snapshot snapshot() const {
    policy::Snapshot s;
    for (const auto& p : policies) s.objects.push_back(policy_object(p));
    for (const auto& [name, cidrs] : address_groups) {
      s.objects.push_back(plain_object(ObjectKind::AddressGroup, name,
                                       {{"addresses", cidrs}, {"description", ""}, {"name", name}}));
    }
    for (const auto& [name, services] : service_groups) {
      std::vector<std::string> texts;
      for (const auto& sv : services) texts.push_back(sv.dump());
      std::sort(texts.begin(), texts.end());
      json list = json::array();
      for (const auto& t : texts) list.push_back(json::parse(t));
      s.objects.push_back(plain_object(ObjectKind::ServiceGroup, name,
                                       {{"description", ""}, {"name", name}, {"services", list}}));
    }
    for (const auto& kv : categories) {
      const auto colon = kv.find(':');
      s.objects.push_back(plain_object(
          ObjectKind::Category, kv, {{"key", kv.substr(0, colon)}, {"value", kv.substr(colon + 1)}}));
    }
    std::sort(s.objects.begin(), s.objects.end(), [](const auto& a, const auto& b) {
      return std::tie(a.kind, a.name) < std::tie(b.kind, b.name);
    });
    s.findings = findings;
    std::sort(s.findings.begin(), s.findings.end());
    s.hash = policy::snapshot_hash(s.objects, s.canon_version);
    return s;
  }
};

Site site_with(std::initializer_list<json> policies) {
  Site s;
  for (const auto& p : policies) s.add(p);
  return s;
}

// ---------------------------------------------------------------------------------------
// Raw API JSON (docs/prism-api.md), canonicalized by the real normalizers.

json v3_filter(const std::string& key, const std::string& value) {
  return {{"type", "CATEGORIES_MATCH_ALL"}, {"kind_list", {"vm"}}, {"params", {{key, {value}}}}};
}

// A v3 network_security_rule entity. `rule_type` is app_rule / quarantine_rule.
json v3_policy(const std::string& name, const std::string& rule_type, json inbound,
               json outbound, const std::string& uuid = "33333333-0000-4000-8000-000000000001") {
  json rule = {{"action", "APPLY"},
               {"target_group",
                {{"peer_specification_type", "FILTER"}, {"filter", v3_filter("AppType", "Web")}}},
               {"inbound_allow_list", std::move(inbound)}};
  if (!outbound.is_null()) rule["outbound_allow_list"] = std::move(outbound);
  return {{"metadata", {{"kind", "network_security_rule"}, {"uuid", uuid}}},
          {"spec", {{"name", name}, {"description", ""}, {"resources", {{rule_type, rule}}}}}};
}

json v3_isolation(const std::string& name, const std::string& first, const std::string& second) {
  return {{"metadata", {{"kind", "network_security_rule"}, {"uuid", "33333333-0000-4000-8000-0000000000e1"}}},
          {"spec",
           {{"name", name},
            {"resources",
             {{"isolation_rule",
               {{"action", "APPLY"},
                {"first_entity_filter", v3_filter("Environment", first)},
                {"second_entity_filter", v3_filter("Environment", second)}}}}}}}};
}

json v3_tcp_entry(std::vector<std::pair<int, int>> ranges) {
  json list = json::array();
  for (auto [a, b] : ranges) list.push_back({{"start_port", a}, {"end_port", b}});
  return {{"peer_specification_type", "IP_SUBNET"},
          {"ip_subnet", {{"ip", "10.0.0.0"}, {"prefix_length", 24}}},
          {"protocol", "TCP"},
          {"tcp_port_range_list", list}};
}

policy::Snapshot v3_snapshot(std::vector<json> rules) {
  policy::V3SiteData site;
  site.rules = std::move(rules);
  for (const char* v : {"Web", "DB"}) site.category_values["AppType"].push_back({{"value", v}});
  for (const char* v : {"Prod", "Dev"}) site.category_values["Environment"].push_back({{"value", v}});
  auto r = policy::canonicalize_v3(site);
  if (!r) FAIL("canonicalize_v3: " << r.error().message);
  return std::move(r).value();
}

const std::string kWeb = "44444444-0000-4000-8000-0000000000f1";
const std::string kDb = "44444444-0000-4000-8000-0000000000f2";
const std::string kProd = "44444444-0000-4000-8000-0000000000f3";
const std::string kDev = "44444444-0000-4000-8000-0000000000f4";

// A v4 NetworkSecurityPolicy securing AppType:Web with the given rule specs (each gets the
// secured group reference).
json v4_policy(const std::string& name, const std::string& type, std::vector<json> specs) {
  json rules = json::array();
  int n = 0;
  for (auto& spec : specs) {
    spec["securedGroupCategoryReferences"] = {kWeb};
    rules.push_back({{"extId", "r" + std::to_string(++n)},
                     {"type", type == "QUARANTINE" ? "QUARANTINE" : "APPLICATION"},
                     {"spec", spec}});
  }
  return {{"extId", "44444444-0000-4000-8000-000000000001"},
          {"name", name},
          {"type", type},
          {"state", "ENFORCE"},
          {"scope", "ALL_VLAN"},
          {"rules", rules}};
}

policy::Snapshot v4_snapshot(std::vector<json> policies) {
  policy::V4SiteData site;
  site.policies = std::move(policies);
  site.categories = {{{"extId", kWeb}, {"key", "AppType"}, {"value", "Web"}},
                     {{"extId", kDb}, {"key", "AppType"}, {"value", "DB"}},
                     {{"extId", kProd}, {"key", "Environment"}, {"value", "Prod"}},
                     {{"extId", kDev}, {"key", "Environment"}, {"value", "Dev"}}};
  auto r = policy::canonicalize_v4(site);
  if (!r) FAIL("canonicalize_v4: " << r.error().message);
  return std::move(r).value();
}

// tests/unit/fixtures/policy/v4_same_intent.json: one intent on a v3 and a v4 site.
std::vector<json> items(const json& list) {
  std::vector<json> out;
  for (const auto& e : list) out.push_back(e);
  return out;
}
json same_intent() { return policy::test::load_local("v4_same_intent.json"); }
policy::Snapshot same_intent_v3(const json& doc) {
  const json& s = doc.at("v3");
  policy::V3SiteData site;
  site.rules = items(s.at("rules"));
  site.address_groups = items(s.at("address_groups"));
  site.service_groups = items(s.at("service_groups"));
  for (const auto& [key, values] : s.at("category_values").items()) {
    site.category_values[key] = items(values);
  }
  auto r = policy::canonicalize_v3(site);
  if (!r) FAIL("canonicalize_v3: " << r.error().message);
  return std::move(r).value();
}
policy::V4SiteData same_intent_v4_data(const json& doc) {
  const json& s = doc.at("v4");
  policy::V4SiteData site;
  site.policies = items(s.at("policies"));
  site.address_groups = items(s.at("address_groups"));
  site.service_groups = items(s.at("service_groups"));
  site.categories = items(s.at("categories"));
  return site;
}
policy::Snapshot canon_v4(const policy::V4SiteData& site) {
  auto r = policy::canonicalize_v4(site);
  if (!r) FAIL("canonicalize_v4: " << r.error().message);
  return std::move(r).value();
}

// ---------------------------------------------------------------------------------------
// The table.

struct Expected {
  std::string policy;
  DriftKind kind;
  Severity severity;
  Direction direction;
  bool expected = false;  // covered by a live expected difference
};

constexpr std::int64_t kNow = 1'800'000'000'000;  // 2027-01-15T08:00:00Z

struct Case {
  std::string name;
  std::function<policy::Snapshot()> source;
  std::function<policy::Snapshot()> replica;
  std::vector<Expected> expected;  // every item, in any order; empty = IN_SYNC
  // Optional: text the first item's summary must contain (example flow evidence).
  std::string summary_has = {};
  // Optional: the pair's declared mappings (config pairs[].mappings).
  std::function<PairMapping()> mapping = [] { return PairMapping{}; };
  // Optional: the pair's expected differences (config pairs[].expected).
  std::vector<Expectation> expectations = {};
};

Expectation expectation(std::string policy, std::optional<DriftKind> kind, std::string field,
                        const std::string& expires) {
  Expectation e;
  e.policy = std::move(policy);
  e.kind = kind;
  e.field = std::move(field);
  e.owner = "dr-team@example.com";
  e.reason = "CHG-1234";
  e.expires = expires;
  auto t = parse_expiry(expires);
  REQUIRE(t.has_value());
  e.expires_ms = *t;
  return e;
}

constexpr auto Missing = DriftKind::Missing;
constexpr auto Extra = DriftKind::Extra;
constexpr auto Mode = DriftKind::EnforcementMode;
constexpr auto Modified = DriftKind::Modified;
constexpr auto Reference = DriftKind::Reference;
constexpr auto Dangling = DriftKind::DanglingReference;
constexpr auto Info = Severity::Info;
constexpr auto Warning = Severity::Warning;
constexpr auto Critical = Severity::Critical;
constexpr auto None = Direction::None;
constexpr auto Permissive = Direction::MorePermissive;
constexpr auto Restrictive = Direction::MoreRestrictive;
constexpr auto Both = Direction::Both;
constexpr auto Cosmetic = Direction::Cosmetic;

std::function<policy::Snapshot()> of(Site s) {
  return [s] { return s.snapshot(); };
}

Pol with(std::function<void(Pol&)> change) {
  Pol p;
  change(p);
  return p;
}

std::vector<Case> corpus() {
  std::vector<Case> c;
  const json base = Pol{}.canonical();
  const Site base_site = site_with({base});
  auto one = [&](std::string name, Pol src, Pol rep, std::vector<Expected> exp,
                 std::string summary = {}) {
    c.push_back({std::move(name), of(site_with({src.canonical()})),
                 of(site_with({rep.canonical()})), std::move(exp), std::move(summary)});
  };

  // --- in sync ------------------------------------------------------------------------
  c.push_back({"identical sites are in sync", of(base_site), of(base_site), {}});

  // --- missing / extra (domain.md rows 1-2) --------------------------------------------
  c.push_back({"missing enforced policy", of(base_site), of(Site{}),
               {{"web", Missing, Critical, Permissive}}});
  c.push_back({"missing monitored policy",
               of(site_with({with([](Pol& p) { p.mode = "monitor"; }).canonical()})), of(Site{}),
               {{"web", Missing, Warning, Permissive}}});
  c.push_back({"missing saved policy",
               of(site_with({with([](Pol& p) { p.mode = "save"; }).canonical()})), of(Site{}),
               {{"web", Missing, Warning, Permissive}}});
  c.push_back({"missing quarantine policy in monitor mode is critical",
               of(site_with({with([](Pol& p) {
                               p.name = "quarantine";
                               p.type = "quarantine";
                               p.mode = "monitor";
                             }).canonical()})),
               of(Site{}), {{"quarantine", Missing, Critical, Permissive}}});
  c.push_back({"missing isolation policy in monitor mode is critical",
               of(site_with({isolation_policy("iso", "monitor",
                                              {{"Environment:Prod"}, {"Environment:Dev"}})})),
               of(Site{}), {{"iso", Missing, Critical, Permissive}}});
  c.push_back({"extra enforced policy", of(Site{}), of(base_site),
               {{"web", Extra, Warning, None}}});
  c.push_back({"extra saved policy", of(Site{}),
               of(site_with({with([](Pol& p) { p.mode = "save"; }).canonical()})),
               {{"web", Extra, Info, None}}});
  c.push_back({"extra monitored policy", of(Site{}),
               of(site_with({with([](Pol& p) { p.mode = "monitor"; }).canonical()})),
               {{"web", Extra, Info, None}}});
  c.push_back({"missing and extra on one pair (a renamed policy is both)", of(base_site),
               of(site_with({with([](Pol& p) { p.name = "web-dr"; }).canonical()})),
               {{"web", Missing, Critical, Permissive}, {"web-dr", Extra, Warning, None}}});

  // --- enforcement mode (row 3) ----------------------------------------------------------
  one("enforce on source, monitor on replica", Pol{}, with([](Pol& p) { p.mode = "monitor"; }),
      {{"web", Mode, Critical, Permissive}});
  one("enforce on source, save on replica", Pol{}, with([](Pol& p) { p.mode = "save"; }),
      {{"web", Mode, Critical, Permissive}});
  one("quarantine enforce on source, monitor on replica",
      with([](Pol& p) { p.type = "quarantine"; }), with([](Pol& p) {
        p.type = "quarantine";
        p.mode = "monitor";
      }),
      {{"web", Mode, Critical, Permissive}});
  one("stronger mode on the replica is more restrictive",
      with([](Pol& p) { p.mode = "monitor"; }), Pol{}, {{"web", Modified, Warning, Restrictive}});
  one("stronger mode and a wider rule on the replica is both",
      with([](Pol& p) { p.mode = "monitor"; }), with([](Pol& p) {
        p.rules.push_back(in(any_peer(), tcp({{22, 22}})));
      }),
      {{"web", Modified, Critical, Both}});
  one("weaker mode and a wider rule are two items", Pol{}, with([](Pol& p) {
        p.mode = "monitor";
        p.rules.push_back(in(any_peer(), tcp({{22, 22}})));
      }),
      {{"web", Mode, Critical, Permissive}, {"web", Modified, Critical, Permissive}});

  // --- modified, behavioural (rows 4-6) -------------------------------------------------
  one("replica allows one more port", Pol{},
      with([](Pol& p) { p.rules[0] = in(subnet("10.0.0.0/24"), tcp({{443, 443}, {8443, 8443}})); }),
      {{"web", Modified, Critical, Permissive}}, "replica allows inbound TCP/8443");
  one("replica allows one port fewer",
      with([](Pol& p) { p.rules[0] = in(subnet("10.0.0.0/24"), tcp({{443, 443}, {8443, 8443}})); }),
      Pol{}, {{"web", Modified, Warning, Restrictive}}, "source allows inbound TCP/8443");
  one("replica allows another port instead (both)", Pol{},
      with([](Pol& p) { p.rules[0] = in(subnet("10.0.0.0/24"), tcp({{8443, 8443}})); }),
      {{"web", Modified, Critical, Both}});
  one("replica peer subnet is wider", Pol{},
      with([](Pol& p) { p.rules[0] = in(subnet("10.0.0.0/16"), tcp({{443, 443}})); }),
      {{"web", Modified, Critical, Permissive}});
  one("replica rule lost entirely", Pol{}, with([](Pol& p) { p.rules.pop_back(); }),
      {{"web", Modified, Warning, Restrictive}}, "source allows outbound UDP/53");
  one("replica allows all protocols instead of TCP/443", Pol{},
      with([](Pol& p) { p.rules[0] = in(subnet("10.0.0.0/24"), all_services()); }),
      {{"web", Modified, Critical, Permissive}});
  one("all protocols vs TCP+UDP+ICMP in full: replica blocks other IP protocols",
      with([](Pol& p) { p.rules = {in(any_peer(), all_services())}; }), with([](Pol& p) {
        p.rules = {in(any_peer(), tcp({{0, 65535}})), in(any_peer(), udp({{0, 65535}})),
                   in(any_peer(), icmp_all())};
      }),
      {{"web", Modified, Warning, Restrictive}});
  one("ICMP echo only vs every ICMP type", with([](Pol& p) {
        p.rules.push_back(in(any_peer(), icmp_type(8)));
      }),
      with([](Pol& p) { p.rules.push_back(in(any_peer(), icmp_all())); }),
      {{"web", Modified, Critical, Permissive}});
  one("category peer replaced by a subnet is both",
      with([](Pol& p) { p.rules[0] = in(cats({"AppType:LB"}), tcp({{443, 443}})); }),
      with([](Pol& p) { p.rules[0] = in(subnet("10.0.0.0/8"), tcp({{443, 443}})); }),
      {{"web", Modified, Critical, Both}});
  one("another secured group is both", Pol{}, with([](Pol& p) { p.secured = {"AppType:DB"}; }),
      {{"web", Modified, Critical, Both}});
  one("allow_ipv6 only on the replica", Pol{}, with([](Pol& p) { p.ipv6 = true; }),
      {{"web", Modified, Critical, Permissive}});
  one("intra-group allow on the replica, deny on the source", Pol{},
      with([](Pol& p) { p.intra = "allow"; }), {{"web", Modified, Critical, Permissive}});
  one("intra-group deny on the replica, allow on the source",
      with([](Pol& p) { p.intra = "allow"; }), Pol{}, {{"web", Modified, Warning, Restrictive}});
  one("more restrictive quarantine policy is critical",
      with([](Pol& p) {
        p.type = "quarantine";
        p.rules = {in(subnet("10.50.0.1/32"), tcp({{22, 22}}))};
      }),
      with([](Pol& p) {
        p.type = "quarantine";
        p.rules = {};
      }),
      {{"web", Modified, Critical, Restrictive}});
  one("more permissive quarantine policy is critical",
      with([](Pol& p) {
        p.type = "quarantine";
        p.rules = {in(subnet("10.50.0.1/32"), tcp({{22, 22}}))};
      }),
      with([](Pol& p) {
        p.type = "quarantine";
        p.rules = {in(subnet("10.50.0.0/24"), tcp({{22, 22}}))};
      }),
      {{"web", Modified, Critical, Permissive}});
  c.push_back({"isolation policy that separates fewer groups on the replica",
               of(site_with({isolation_policy("iso", "enforce",
                                              {{"Environment:Prod"}, {"Environment:Dev"},
                                               {"Environment:Test"}})})),
               of(site_with({isolation_policy("iso", "enforce",
                                              {{"Environment:Prod"}, {"Environment:Dev"}})})),
               {{"iso", Modified, Critical, Permissive}}});
  c.push_back({"isolation policy that separates more groups on the replica is critical",
               of(site_with({isolation_policy("iso", "enforce",
                                              {{"Environment:Prod"}, {"Environment:Dev"}})})),
               of(site_with({isolation_policy("iso", "enforce",
                                              {{"Environment:Prod"}, {"Environment:Dev"},
                                               {"Environment:Test"}})})),
               {{"iso", Modified, Critical, Restrictive}}});

  // --- cosmetic (row 6 and issue #5 item 1) ------------------------------------------------
  one("description only", Pol{}, with([](Pol& p) { p.description = "web tier (DR)"; }),
      {{"web", Modified, Info, Cosmetic}});
  one("rule description only", Pol{},
      with([](Pol& p) { p.rules[0]["description"] = "from the office"; }),
      {{"web", Modified, Info, Cosmetic}});
  one("split-but-equal port ranges",
      with([](Pol& p) { p.rules[0] = in(subnet("10.0.0.0/24"), tcp({{80, 90}})); }),
      with([](Pol& p) { p.rules[0] = in(subnet("10.0.0.0/24"), tcp({{80, 84}, {85, 90}})); }),
      {{"web", Modified, Info, Cosmetic}});
  one("duplicate rules (overlapping rule adds nothing)",
      with([](Pol& p) { p.rules[0] = in(subnet("10.0.0.0/24"), tcp({{80, 90}})); }),
      with([](Pol& p) {
        p.rules[0] = in(subnet("10.0.0.0/24"), tcp({{80, 90}}));
        p.rules.push_back(in(subnet("10.0.0.0/24"), tcp({{85, 85}}), "again"));
      }),
      {{"web", Modified, Info, Cosmetic}});
  one("a /24 written as two /25s", Pol{}, with([](Pol& p) {
        p.rules[0] = in(subnet("10.0.0.0/25"), tcp({{443, 443}}));
        p.rules.push_back(in(subnet("10.0.0.128/25"), tcp({{443, 443}})));
      }),
      {{"web", Modified, Info, Cosmetic}});
  {
    Site src = site_with({with([](Pol& p) { p.rules[0] = in(subnet("10.0.0.0/24"), sg("web-ports")); })
                              .canonical()});
    src.service_groups["web-ports"] = {tcp({{443, 443}}), udp({{4433, 4433}})};
    Site rep = site_with({with([](Pol& p) {
                            p.rules[0] = in(subnet("10.0.0.0/24"), tcp({{443, 443}}));
                            p.rules.push_back(in(subnet("10.0.0.0/24"), udp({{4433, 4433}})));
                          }).canonical()});
    c.push_back({"service group vs the same ports inline", of(src), of(rep),
                 {{"web", Modified, Info, Cosmetic}}});
    c.push_back({"the same ports inline vs a service group", of(rep), of(src),
                 {{"web", Modified, Info, Cosmetic}}});
  }
  {
    Site src = site_with({with([](Pol& p) { p.rules[0] = in(ag("office"), tcp({{443, 443}})); })
                              .canonical()});
    src.address_groups["office"] = {"10.0.0.0/24", "192.168.1.5/32"};
    Site rep = site_with({with([](Pol& p) {
                            p.rules[0] = in(subnet("10.0.0.0/24"), tcp({{443, 443}}));
                            p.rules.push_back(in(subnet("192.168.1.5/32"), tcp({{443, 443}})));
                          }).canonical()});
    c.push_back({"address group vs the same subnets inline", of(src), of(rep),
                 {{"web", Modified, Info, Cosmetic}}});
  }
  {
    // Rule order, port-range order and isolation group order in the API: the canonical
    // form already sorts them, so the pair is in sync (not even a cosmetic item).
    json a = v3_policy("web", "app_rule",
                       {v3_tcp_entry({{80, 80}, {443, 443}}),
                        {{"peer_specification_type", "ALL"}, {"protocol", "UDP"},
                         {"udp_port_range_list", {{{"start_port", 53}, {"end_port", 53}}}}}},
                       json::array());
    json b = a;
    auto& list = b["spec"]["resources"]["app_rule"]["inbound_allow_list"];
    std::reverse(list.begin(), list.end());
    auto& ports = list[1]["tcp_port_range_list"];
    std::reverse(ports.begin(), ports.end());
    b["metadata"]["uuid"] = "dddddddd-0000-4000-8000-000000000001";
    c.push_back({"v3 rule order and port order", [a] { return v3_snapshot({a}); },
                 [b] { return v3_snapshot({b}); }, {}});
    json dup = a;
    auto& dlist = dup["spec"]["resources"]["app_rule"]["inbound_allow_list"];
    dlist.push_back(dlist[0]);
    c.push_back({"v3 duplicate allow-list entries", [a] { return v3_snapshot({a}); },
                 [dup] { return v3_snapshot({dup}); }, {}});
    c.push_back({"v3 swapped isolation groups",
                 [] { return v3_snapshot({v3_isolation("iso", "Prod", "Dev")}); },
                 [] { return v3_snapshot({v3_isolation("iso", "Dev", "Prod")}); }, {}});
    c.push_back({"v3 isolation against v4 with the groups swapped",
                 [] { return v3_snapshot({v3_isolation("iso", "Prod", "Dev")}); },
                 [] {
                   json p = {{"extId", "44444444-0000-4000-8000-0000000000e1"},
                             {"name", "iso"},
                             {"type", "ISOLATION"},
                             {"state", "ENFORCE"},
                             {"rules",
                              {{{"extId", "r1"},
                                {"type", "TWO_ENV_ISOLATION"},
                                {"spec",
                                 {{"firstIsolationGroup", {kDev}},
                                  {"secondIsolationGroup", {kProd}}}}}}}};
                   return v4_snapshot({p});
                 },
                 {}});
  }

  // --- v3 against v4 ------------------------------------------------------------------------
  {
    // v3: no protocol means all protocols; v4: isAllProtocolAllowed.
    json v3 = v3_policy("web", "app_rule",
                        {{{"peer_specification_type", "IP_SUBNET"},
                          {"ip_subnet", {{"ip", "10.0.0.0"}, {"prefix_length", 24}}}}},
                        json::array());
    json v4 = v4_policy("web", "APPLICATION",
                        {{{"srcSubnet", {{"value", "10.0.0.0"}, {"prefixLength", 24}}},
                          {"isAllProtocolAllowed", true}},
                         {{"destAllowSpec", "ALL"}, {"isAllProtocolAllowed", true}}});
    c.push_back({"v3 no protocol means all, against v4 all protocols",
                 [v3] { return v3_snapshot({v3}); }, [v4] { return v4_snapshot({v4}); }, {}});
    json v4_tcp = v4_policy("web", "APPLICATION",
                            {{{"srcSubnet", {{"value", "10.0.0.0"}, {"prefixLength", 24}}},
                              {"tcpServices", {{{"startPort", 0}, {"endPort", 65535}}}}},
                             {{"destAllowSpec", "ALL"}, {"isAllProtocolAllowed", true}}});
    c.push_back({"v3 no protocol (all) against v4 TCP only: replica more restrictive",
                 [v3] { return v3_snapshot({v3}); }, [v4_tcp] { return v4_snapshot({v4_tcp}); },
                 {{"web", Modified, Warning, Restrictive}}});
  }
  {
    // v3 empty inbound list allows nothing in, empty outbound list allows everything out.
    json v3 = v3_policy("web", "app_rule", json::array(), json::array());
    json v4_same = v4_policy("web", "APPLICATION",
                             {{{"destAllowSpec", "ALL"}, {"isAllProtocolAllowed", true}}});
    c.push_back({"v3 empty inbound and outbound lists against the v4 equivalent",
                 [v3] { return v3_snapshot({v3}); }, [v4_same] { return v4_snapshot({v4_same}); },
                 {}});
    json v4_open = v4_policy("web", "APPLICATION",
                             {{{"destAllowSpec", "ALL"}, {"isAllProtocolAllowed", true}},
                              {{"srcAllowSpec", "ALL"}, {"tcpServices", {{{"startPort", 22}}}}}});
    c.push_back({"v3 empty inbound against v4 allowing TCP/22 in: more permissive",
                 [v3] { return v3_snapshot({v3}); }, [v4_open] { return v4_snapshot({v4_open}); },
                 {{"web", Modified, Critical, Permissive}}, "inbound TCP/22"});
    json v4_closed = v4_policy("web", "APPLICATION",
                               {{{"destCategoryReferences", {kDb}},
                                 {"tcpServices", {{{"startPort", 5432}}}}}});
    c.push_back({"v3 empty outbound (everything out) against v4 with one outbound rule",
                 [v3] { return v3_snapshot({v3}); },
                 [v4_closed] { return v4_snapshot({v4_closed}); },
                 {{"web", Modified, Warning, Restrictive}}});
    json q3 = v3_policy("quarantine", "quarantine_rule", json::array(), json::array());
    json q4 = v4_policy("quarantine", "QUARANTINE", {});
    q4["rules"] = {{{"extId", "r1"},
                    {"type", "INTRA_GROUP"},
                    {"spec", {{"securedGroupAction", "DENY"}, {"securedGroupCategoryReferences", {kWeb}}}}}};
    json q3_deny = q3;
    q3_deny["spec"]["resources"]["quarantine_rule"]["target_group"]["default_internal_policy"] =
        "DENY_ALL";
    c.push_back({"v3 quarantine with empty lists (nothing in or out) against v4 strict quarantine",
                 [q3_deny] { return v3_snapshot({q3_deny}); }, [q4] { return v4_snapshot({q4}); },
                 {}});
  }
  {
    const json doc = same_intent();
    c.push_back({"v3 site against v4 site holding the same intent",
                 [doc] { return same_intent_v3(doc); },
                 [doc] { return canon_v4(same_intent_v4_data(doc)); }, {}});
    policy::V4SiteData wider = same_intent_v4_data(doc);
    for (auto& p : wider.policies) {
      if (p.at("name") == "web-app") p.at("rules").at(1).at("spec").at("tcpServices").at(0).at("endPort") = 444;
    }
    c.push_back({"v3 site against v4 site with one port more", [doc] { return same_intent_v3(doc); },
                 [wider] { return canon_v4(wider); },
                 {{"web-app", Modified, Critical, Permissive}}, "TCP/444"});
  }

  // --- references --------------------------------------------------------------------------
  {
    Pol uses = with([](Pol& p) { p.rules[0] = in(ag("lb"), sg("web-ports")); });
    auto grouped = [&](std::vector<std::string> cidrs, std::vector<json> services,
                       std::vector<json> policies) {
      Site s;
      for (auto& p : policies) s.add(p);
      s.address_groups["lb"] = std::move(cidrs);
      s.service_groups["web-ports"] = std::move(services);
      return s;
    };
    const std::vector<json> ports = {tcp({{443, 443}})};
    Site src = grouped({"10.0.0.0/24"}, ports, {uses.canonical()});
    c.push_back({"address group with more CIDRs on the replica", of(src),
                 of(grouped({"10.0.0.0/24", "10.9.0.0/16"}, ports, {uses.canonical()})),
                 {{"web", Reference, Critical, Permissive}}});
    c.push_back({"address group with fewer CIDRs on the replica", of(src),
                 of(grouped({}, ports, {uses.canonical()})),
                 {{"web", Reference, Warning, Restrictive}}});
    c.push_back({"address group with other CIDRs on the replica", of(src),
                 of(grouped({"10.0.1.0/24"}, ports, {uses.canonical()})),
                 {{"web", Reference, Critical, Both}}});
    Pol quarantine = uses;
    quarantine.type = "quarantine";
    c.push_back({"address group narrower on the replica under a quarantine policy",
                 of(grouped({"10.0.0.0/24"}, ports, {quarantine.canonical()})),
                 of(grouped({}, ports, {quarantine.canonical()})),
                 {{"web", Reference, Critical, Restrictive}}});
    Pol second = uses;
    second.name = "api";
    c.push_back({"a widened group is attributed to every policy using it",
                 of(grouped({"10.0.0.0/24"}, ports, {uses.canonical(), second.canonical()})),
                 of(grouped({"0.0.0.0/0", "10.0.0.0/24"}, ports,
                            {uses.canonical(), second.canonical()})),
                 {{"api", Reference, Critical, Permissive}, {"web", Reference, Critical, Permissive}}});
    c.push_back({"service group with more ports on the replica", of(src),
                 of(grouped({"10.0.0.0/24"}, {tcp({{443, 443}}), tcp({{8443, 8443}})},
                            {uses.canonical()})),
                 {{"web", Reference, Critical, Permissive}}});
    Site no_sg = src;
    no_sg.service_groups.clear();
    c.push_back({"service group missing on the replica", of(src), of(no_sg),
                 {{"web", Reference, Critical, Both}}});
    Pol renamed = with([](Pol& p) { p.rules[0] = in(ag("lb-dr"), sg("web-ports")); });
    Site rn = grouped({}, ports, {renamed.canonical()});
    rn.address_groups.clear();
    rn.address_groups["lb-dr"] = {"10.0.0.0/24"};
    c.push_back({"group renamed on the replica with the same members", of(src), of(rn),
                 {{"web", Reference, Info, Cosmetic}}});
    rn.address_groups["lb-dr"] = {"10.0.0.0/24", "10.7.0.0/16"};
    c.push_back({"group renamed on the replica with more members", of(src), of(rn),
                 {{"web", Reference, Critical, Permissive}}});
  }
  {
    Site src = site_with({with([](Pol& p) { p.secured = {"Environment:Prod"}; }).canonical()});
    src.categories = {"Environment:Dev", "Environment:Prod"};
    Site rep = site_with({with([](Pol& p) { p.secured = {"Environment:Production"}; }).canonical()});
    rep.categories = {"Environment:Dev", "Environment:Production"};
    c.push_back({"category value renamed on the replica", of(src), of(rep),
                 {{"web", Reference, Critical, Both}}});
    Site moved = site_with({with([](Pol& p) { p.secured = {"Environment:Dev"}; }).canonical()});
    moved.categories = {"Environment:Dev"};
    c.push_back({"category value gone from the replica, policy secures another value", of(src),
                 of(moved),
                 {{"web", Modified, Critical, Both}, {"web", Reference, Critical, Both}}});
  }

  // --- dangling references -------------------------------------------------------------------
  {
    Pol uses = with([](Pol& p) { p.rules[0] = in(ag("lb"), tcp({{443, 443}})); });
    Site ok = site_with({uses.canonical()});
    ok.address_groups["lb"] = {"10.0.0.0/24"};
    Site broken = site_with(
        {with([](Pol& p) { p.rules[0] = in(ag("dangling:dead"), tcp({{443, 443}})); }).canonical()});
    broken.findings = {{"dangling_reference", "web", "address_group uuid dead not found on site"}};
    c.push_back({"dangling reference on the replica", of(ok), of(broken),
                 {{"web", Dangling, Critical, Both}}});
    c.push_back({"dangling reference on the source only", of(broken), of(ok),
                 {{"web", Dangling, Warning, None}}});
    c.push_back({"dangling reference on both sides", of(broken), of(broken),
                 {{"web", Dangling, Critical, Both}}});
    Site broken_monitor = broken;
    broken_monitor.policies[0]["mode"] = "monitor";
    c.push_back({"dangling reference on the replica with a weaker mode", of(ok), of(broken_monitor),
                 {{"web", Mode, Critical, Permissive}, {"web", Dangling, Critical, Both}}});
    Site undefined = site_with({with([](Pol& p) {
                                  p.rules[0] = in(cats({"AppType:Gone"}), tcp({{443, 443}}));
                                }).canonical()});
    undefined.findings = {{"dangling_reference", "web", "category AppType:Gone not defined on site"}};
    c.push_back({"replica policy uses a category value its site does not define", of(base_site),
                 of(undefined), {{"web", Dangling, Critical, Both}}});
  }
  // Mappings declared for the pair (config pairs[].mappings).
  {
    auto m = [] {
      auto r = make_mapping({{"AppType:Web", "AppType:Web-DR"}}, {{"^(.*)-prod$", "$1-dr"}},
                            {{"10.0.0.0/16", "10.200.0.0/16"}});
      REQUIRE(r.has_value());
      return *r;
    };
    Site dr_site;
    dr_site.categories = {"AppType:DB", "AppType:LB", "AppType:Web-DR"};
    dr_site.add(with([](Pol& p) {
                  p.secured = {"AppType:Web-DR"};
                  p.rules[0] = in(subnet("10.200.0.0/24"), tcp({{443, 443}}));
                }).canonical());
    c.push_back({"mapped category value and subnet: in sync", of(base_site), of(dr_site), {}, "", m});
    Site named = site_with({with([](Pol& p) { p.name = "web-prod"; }).canonical()});
    Site named_dr = site_with({with([](Pol& p) { p.name = "web-dr"; }).canonical()});
    c.push_back({"mapped policy name: in sync, no missing or extra", of(named), of(named_dr), {}, "", m});
    c.push_back({"the same names without the mapping: missing and extra", of(named), of(named_dr),
                 {{"web-dr", Extra, Warning, None}, {"web-prod", Missing, Critical, Permissive}}});
    Site wider = dr_site;
    wider.policies[0] = with([](Pol& p) {
                          p.secured = {"AppType:Web-DR"};
                          p.rules[0] = in(subnet("10.200.0.0/23"), tcp({{443, 443}}));
                        }).canonical();
    c.push_back({"mapped subnet, but wider on the replica: more permissive", of(base_site), of(wider),
                 {{"web", Modified, Critical, Permissive}}, "", m});
    Site unmapped = dr_site;
    unmapped.policies[0] = with([](Pol& p) {
                             p.secured = {"AppType:Web-DR"};
                             p.rules[0] = in(subnet("10.99.0.0/24"), tcp({{443, 443}}));
                           }).canonical();
    c.push_back({"a subnet outside every mapping is still drift", of(base_site), of(unmapped),
                 {{"web", Modified, Critical, Both}}, "", m});
  }
  // Expected differences declared for the pair (config pairs[].expected), at kNow.
  {
    const auto none = [] { return PairMapping{}; };
    Site wider = site_with({with([](Pol& p) {
                              p.rules[0] = in(subnet("10.0.0.0/16"), tcp({{443, 443}}));
                            }).canonical()});
    c.push_back({"live expectation on the policy's rules: expected, not drift", of(base_site),
                 of(wider), {{"web", Modified, Critical, Permissive, true}}, "", none,
                 {expectation("web", Modified, "rules", "2027-03-31")}});
    c.push_back({"expired expectation: drift again", of(base_site), of(wider),
                 {{"web", Modified, Critical, Permissive}}, "", none,
                 {expectation("web", Modified, "rules", "2027-01-14")}});
    c.push_back({"expectation expiring later today is still live", of(base_site), of(wider),
                 {{"web", Modified, Critical, Permissive, true}}, "", none,
                 {expectation("web", std::nullopt, "", "2027-01-15T09:00:00Z")}});
    Site wider_and_described = site_with({with([](Pol& p) {
                                            p.description = "web tier (DR)";
                                            p.rules[0] = in(subnet("10.0.0.0/16"), tcp({{443, 443}}));
                                          }).canonical()});
    c.push_back({"expectation on the description does not hide a widened rule", of(base_site),
                 of(wider_and_described), {{"web", Modified, Critical, Permissive}}, "", none,
                 {expectation("web", Modified, "description", "2027-03-31")}});
    Site described = site_with({with([](Pol& p) { p.description = "web tier (DR)"; }).canonical()});
    c.push_back({"expectation on the description covers a description-only change",
                 of(base_site), of(described), {{"web", Modified, Info, Cosmetic, true}}, "", none,
                 {expectation("web", Modified, "description", "2027-03-31")}});
    Site two = site_with({base, with([](Pol& p) { p.name = "legacy-ftp"; }).canonical(),
                          with([](Pol& p) { p.name = "billing"; }).canonical()});
    c.push_back({"glob expectation for policies retired on DR covers only those",
                 of(two), of(base_site),
                 {{"legacy-ftp", Missing, Critical, Permissive, true},
                  {"billing", Missing, Critical, Permissive}},
                 "", none, {expectation("legacy-*", Missing, "", "2027-03-31")}});
    c.push_back({"expectation of another kind does not apply", of(two), of(base_site),
                 {{"legacy-ftp", Missing, Critical, Permissive},
                  {"billing", Missing, Critical, Permissive}},
                 "", none, {expectation("legacy-*", Extra, "", "2027-03-31")}});
  }
  return c;
}

// Group contents that allow the same flows (or only more) in other text: judged by behaviour
// since the diff expands groups through lib/flows (they were judged by member text before).
std::vector<Case> group_behaviour_cases() {
  std::vector<Case> c;
  Pol uses = with([](Pol& p) { p.rules[0] = in(ag("lb"), sg("web-ports")); });
  auto grouped = [&](std::vector<std::string> cidrs, std::vector<json> services) {
    Site s = site_with({uses.canonical()});
    s.address_groups["lb"] = std::move(cidrs);
    s.service_groups["web-ports"] = std::move(services);
    return s;
  };
  const std::vector<json> ports = {tcp({{443, 443}})};
  // KNOWN: reference direction is judged from the group's member text, not from the flows
  // the members allow. A /24 replaced by the /16 that contains it only widens the group:
  // drift.md says "more members on the replica -> more_permissive" and domain.md "severity
  // of the flow change it causes"; the diff says both (one member removed, one added).
  c.push_back({"address group member replaced by a covering CIDR", of(grouped({"10.0.0.0/24"}, ports)),
               of(grouped({"10.0.0.0/16"}, ports)), {{"web", Reference, Critical, Permissive}}});
  // KNOWN: drift.md lists "a /24 as two /25s" as text that allows the same flows, i.e.
  // cosmetic; inside an address group the diff reports it as other contents.
  c.push_back({"address group holding a /24 as two /25s", of(grouped({"10.0.0.0/24"}, ports)),
               of(grouped({"10.0.0.0/25", "10.0.0.128/25"}, ports)),
               {{"web", Reference, Info, Cosmetic}}});
  // KNOWN: split-but-equal port ranges are cosmetic (domain.md), also inside a service group.
  c.push_back({"service group holding split-but-equal port ranges",
               of(grouped({"10.0.0.0/24"}, {tcp({{80, 90}})})),
               of(grouped({"10.0.0.0/24"}, {tcp({{80, 84}, {85, 90}})})),
               {{"web", Reference, Info, Cosmetic}}});
  // KNOWN, v3 against v4: a v4 address group may hold an IP range; the same addresses as a
  // v3 CIDR allow the same flows (flows.md), so this is cosmetic, not other contents.
  c.push_back({"v3 CIDR group against v4 range group with the same addresses",
               of(grouped({"10.0.0.0/24"}, ports)),
               of(grouped({"10.0.0.0-10.0.0.255"}, ports)), {{"web", Reference, Info, Cosmetic}}});
  return c;
}

std::string render(const std::string& policy, DriftKind k, Severity s, Direction d,
                   bool expected) {
  return policy + " " + std::string(to_string(k)) + " " + std::string(to_string(s)) + " " +
         std::string(to_string(d)) + (expected ? " (expected)" : "");
}

void run(const Case& c) {
  const auto source = c.source();
  const auto replica = c.replica();
  // An in-sync verdict must come from comparing something, not from two empty sites.
  CHECK(source.count(ObjectKind::Policy) + replica.count(ObjectKind::Policy) > 0);
  PairResult r = diff_snapshots(source, replica, c.mapping());
  apply_expectations(r, c.expectations, kNow);
  std::vector<std::string> actual, expected;
  for (const auto& item : r.items) {
    actual.push_back(render(item.object, item.kind, item.severity, item.direction,
                            item.expected.has_value()));
  }
  for (const auto& e : c.expected) {
    expected.push_back(render(e.policy, e.kind, e.severity, e.direction, e.expected));
  }
  std::sort(actual.begin(), actual.end());
  std::sort(expected.begin(), expected.end());
  std::string summaries;
  for (const auto& item : r.items) summaries += "\n  " + item.object + ": " + item.summary;
  INFO("summaries:" << summaries);
  CHECK(actual == expected);
  CHECK(r.status == (c.expected.empty() ? PairStatus::InSync : PairStatus::Drifted));
  if (!c.summary_has.empty()) {
    REQUIRE_FALSE(r.items.empty());
    CHECK_THAT(r.items.front().summary, Catch::Contains(c.summary_has));
  }
  // Behavioural modifications carry their evidence: one example flow per side that allows more.
  for (const auto& item : r.items) {
    if (item.kind != DriftKind::Modified) continue;
    bool replica_flow = false, source_flow = false;
    for (const auto& f : item.fields) {
      replica_flow = replica_flow || f.path == "flows[replica only]";
      source_flow = source_flow || f.path == "flows[source only]";
    }
    INFO(item.object << ": " << item.summary);
    if (item.direction == Direction::Cosmetic) {
      CHECK_FALSE(replica_flow);
      CHECK_FALSE(source_flow);
    }
    if (item.direction == Direction::MorePermissive && !item.fields.empty() &&
        item.fields.front().path != "mode") {
      CHECK(replica_flow);
    }
  }
}

}  // namespace

TEST_CASE("drift corpus: every case gives exactly its expected items", "[unit][diff][corpus]") {
  auto cases = corpus();
  for (auto& c : group_behaviour_cases()) cases.push_back(std::move(c));
  REQUIRE(cases.size() >= 40);
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) { run(c); }
  }
}


