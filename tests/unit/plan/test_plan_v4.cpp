// Plans against a v4 target (render_v4): performing a plan's v4 requests on an empty v4 site (a
// small in-memory v4 applier below, re-rendering each write from the site as it is by then, as
// apply does) gives the source's canonical snapshot, for v4 sources (v4.0 and the v4.3
// constructs) and for generated v3 sources; what v4 cannot express is blocked, never dropped.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>

#include "../policy/policy_test_support.hpp"
#include "../policy/v3_site_gen.hpp"
#include "plan/plan.hpp"
#include "plan_test_support.hpp"
#include "plan/render.hpp"

using namespace flowdrift;
using namespace flowdrift::plan;
using flowdrift::policy::ObjectKind;
using flowdrift::policy::V4SiteData;
using nlohmann::json;

namespace {

constexpr std::int64_t kNow = 1796515200000;  // 2026-12-05T00:00:00Z

const std::string kWeb = "44444444-0000-4000-8000-0000000000f1";   // AppType:Web
const std::string kProd = "44444444-0000-4000-8000-0000000000f2";  // Environment:Prod
const std::string kLb = "44444444-0000-4000-8000-0000000000f3";    // AppType:LB
const std::string kEgWeb = "55555555-0000-4000-8000-0000000000e1";
const std::string kVpcA = "66666666-0000-4000-8000-0000000000c1";

policy::Snapshot canon4(const V4SiteData& site) {
  auto s = policy::canonicalize_v4(site);
  if (!s) FAIL(s.error().message);
  return std::move(*s);
}

Plan plan_to_v4(const policy::Snapshot& src, const V4SiteData& target) {
  const auto tgt = v4_target("dr", target, canon4(target));
  PlanInput in;
  in.source = &src;
  in.target = &tgt;
  in.now_ms = kNow;
  return make_plan(in);
}

// The v4 site a request leaves behind, as a Prism Central would (extIds made up).
class V4Applier {
 public:
  explicit V4Applier(V4SiteData site) : site_(std::move(site)) {}
  const V4SiteData& site() const { return site_; }

  void perform(const Request& r) {
    INFO(r.method << " " << r.path << " " << r.body.dump());
    REQUIRE(r.body.dump().find(kKnownAfterApply) == std::string::npos);
    if (r.path == "/api/prism/v4.0/config/categories") {
      REQUIRE(r.method == "POST");
      json c = r.body;
      c["extId"] = next_id();
      site_.categories.push_back(std::move(c));
      return;
    }
    const std::string prefix = "/api/microseg/v4.0/config/";
    REQUIRE(r.path.compare(0, prefix.size(), prefix) == 0);
    const std::string rest = r.path.substr(prefix.size());
    const auto slash = rest.find('/');
    auto& list = collection(rest.substr(0, slash));
    const std::string id = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (r.method == "POST") {
      json o = r.body;
      o["extId"] = next_id();
      list.push_back(std::move(o));
      return;
    }
    auto it = std::find_if(list.begin(), list.end(), [&](const json& o) { return o.value("extId", "") == id; });
    REQUIRE(it != list.end());
    if (r.method == "DELETE") {
      CHECK(r.body.is_null());
      list.erase(it);
    } else {
      REQUIRE(r.method == "PUT");
      CHECK(r.body.at("extId") == id);
      *it = r.body;
    }
  }

 private:
  std::vector<json>& collection(const std::string& name) {
    if (name == "policies") return site_.policies;
    if (name == "address-groups") return site_.address_groups;
    if (name == "service-groups") return site_.service_groups;
    REQUIRE(name == "entity-groups");
    return site_.entity_groups;
  }
  std::string next_id() { return "00000000-0000-4000-8000-" + std::to_string(200000000000 + ++n_); }

  V4SiteData site_;
  int n_ = 0;
};

V4SiteData perform(const Plan& plan, const V4SiteData& target) {
  V4Applier applier(target);
  return plan::test::perform_plan(plan, applier,
                            [](const V4SiteData& site) { return v4_target("dr", site, canon4(site)); });
}

std::vector<json> items(const json& list) { return {list.begin(), list.end()}; }

// The v4 site of tests/unit/fixtures/policy/v4_same_intent.json with an entity group and VPCs
// (as tests/unit/policy/test_normalize_v43.cpp builds it).
V4SiteData base_site() {
  const json s = policy::test::same_intent().at("v4");
  V4SiteData site;
  site.policies = items(s.at("policies"));
  site.address_groups = items(s.at("address_groups"));
  site.service_groups = items(s.at("service_groups"));
  site.categories = items(s.at("categories"));
  site.vpcs = {json{{"extId", kVpcA}, {"name", "vpc-prod"}}};
  site.entity_groups = {json{
      {"extId", kEgWeb},
      {"name", "eg-web"},
      {"description", "web VMs"},
      {"allowedConfig",
       {{"entities",
         {{{"type", "VM"}, {"selectBy", "CATEGORY_EXT_ID"}, {"referenceExtIds", {kWeb}}}}}}}}};
  return site;
}

json& policy_named(V4SiteData& site, const std::string& name) {
  for (auto& p : site.policies) {
    if (p.at("name") == name) return p;
  }
  FAIL("no policy " << name);
  return site.policies.front();
}

// The v4.1-v4.3 variants of the base site, by what they add.
std::vector<std::pair<std::string, std::function<void(V4SiteData&)>>> v43_variants() {
  return {
      {"v4.0 as is", [](V4SiteData&) {}},
      {"entity groups secured and as a peer",
       [](V4SiteData& s) {
         json& web = policy_named(s, "web-app");
         web["securedEntityGroupReferences"] = {kEgWeb};
         web.at("rules").at(1).at("spec")["srcEntityGroupReference"] = kEgWeb;
       }},
      {"a SHARED_SERVICE rule, named and logged",
       [](V4SiteData& s) {
         json& rule = policy_named(s, "web-app").at("rules").at(1);
         rule["type"] = "SHARED_SERVICE";
         rule["name"] = "lb-in";
         rule["isLoggingEnabled"] = true;
       }},
      {"subnet-kind category peers",
       [](V4SiteData& s) {
         for (auto& r : policy_named(s, "web-app").at("rules")) {
           if (r.at("spec").contains("srcCategoryReferences")) {
             r.at("spec")["srcCategoryAssociatedEntityType"] = "SUBNET";
           }
         }
       }},
      {"IPv6 subnet and ICMPv6",
       [](V4SiteData& s) {
         json& spec = policy_named(s, "web-app").at("rules").at(2).at("spec");
         spec.erase("srcSubnet");
         spec["srcIpv6Subnet"] = {{"value", "2001:DB8:0:0:1::1"}, {"prefixLength", 64}};
         spec["icmpV6Services"] = {{{"type", 128}}};
       }},
      {"policy-level secured groups that say more, priority, address scope",
       [](V4SiteData& s) {
         json& web = policy_named(s, "web-app");
         web["securedGroups"] = {kWeb, kProd, kLb};
         web["priority"] = 5;
         web["isIpv6AddressScope"] = true;
         web["isIpv4AddressScope"] = false;
       }},
      {"a ZONE policy with a FLEX rule",
       [](V4SiteData& s) {
         s.policies.push_back(
             {{"extId", "77777777-0000-4000-8000-000000000001"},
              {"name", "zone-web"},
              {"type", "ZONE"},
              {"state", "ENFORCE"},
              {"rules",
               {{{"type", "FLEX"},
                 {"name", "web-to-lb"},
                 {"spec",
                  {{"action", "DENY"},
                   {"direction", "OUT"},
                   {"appliedToEntityGroupReferences", {kEgWeb}},
                   {"shouldAllowAnySrc", true},
                   {"destSubnet", {{"value", "10.2.0.9"}, {"prefixLength", 16}}},
                   {"tcpServices", {{{"startPort", 443}, {"endPort", 443}}}},
                   {"priority", 10}}}}}}});
       }},
      {"a MULTI_ENV_ISOLATION rule of three groups, one of subnets, one with an entity group",
       [](V4SiteData& s) {
         json& iso = policy_named(s, "iso");
         iso["rules"] = {{{"type", "MULTI_ENV_ISOLATION"},
                          {"spec",
                           {{"spec",
                             {{"isolationGroups",
                               {{{"groupCategoryReferences", {kWeb}}},
                                {{"groupCategoryReferences", {kLb}},
                                 {"groupCategoryAssociatedEntityType", "SUBNET"}},
                                {{"groupCategoryReferences", {kProd}},
                                 {"groupEntityGroupReference", kEgWeb}}}}}}}}}};
       }},
      {"intra-group services, a named intra-group rule, SAVE state",
       [](V4SiteData& s) {
         json& web = policy_named(s, "web-app");
         web["state"] = "SAVE";
         for (auto& r : web.at("rules")) {
           if (r.at("type") != "INTRA_GROUP") continue;
           r["name"] = "intra";
           r.at("spec")["tcpServices"] = {{{"startPort", 22}, {"endPort", 22}}};
           r.at("spec")["icmpServices"] = {{{"isAllAllowed", true}}};
         }
       }},
      {"an entity group with exceptions by address and range, category scope",
       [](V4SiteData& s) {
         s.entity_groups.at(0)["exceptConfig"] = {
             {"entities",
              {{{"type", "ADDRESS"},
                {"addresses", {{"ipv4Addresses", {{{"value", "10.9.0.0"}, {"prefixLength", 24}}}}}},
                {"ipRanges", {{"ipv4Ranges", {{{"startIp", "10.8.0.1"}, {"endIp", "10.8.0.9"}}}}}}}}}};
         json& web = policy_named(s, "web-app");
         web["securedEntityGroupReferences"] = {kEgWeb};
         web["scope"] = "ALL_VPC";
         web["scopeReferences"] = {kProd};
       }},
      {"an IPv6 address group range",
       [](V4SiteData& s) {
         for (auto& g : s.address_groups) {
           g["ipv6Ranges"] = {{{"startIp", "2001:db8::1"}, {"endIp", "2001:db8::9"}}};
         }
       }},
  };
}

// Plans `source` onto an empty v4 site and performs it: the result must canonicalize to the
// source's snapshot, and a second plan must be empty.
void require_round_trip(const policy::Snapshot& src) {
  const Plan plan = plan_to_v4(src, V4SiteData{});
  std::string blocked;
  for (const auto& b : plan.blocked) blocked += b.name + ": " + b.why + "\n";
  INFO(blocked);
  REQUIRE(plan.blocked.empty());
  REQUIRE_FALSE(plan.writes.empty());
  const V4SiteData after = perform(plan, V4SiteData{});
  const auto result = canon4(after);
  INFO(src.objects.size() << " objects");
  REQUIRE(result.hash == src.hash);
  CHECK(plan_to_v4(src, after).writes.empty());
}

bool clean(const policy::Snapshot& s) { return s.findings.empty(); }

std::string blocked_why(const Plan& p, const std::string& name) {
  for (const auto& b : p.blocked) {
    if (b.name == name) return b.why;
  }
  return "";
}

}  // namespace

TEST_CASE("a v4 plan performed on an empty v4 site gives the v4 source's snapshot",
          "[unit][plan][v4]") {
  int fixtures = 0;
  SECTION("the same-intent fixture") {
    const auto src = canon4(policy::test::v4_site(policy::test::same_intent()));
    REQUIRE(clean(src));
    require_round_trip(src);
  }
  SECTION("the v4.1-v4.3 constructs") {
    const auto plain = canon4(base_site());
    for (const auto& [what, change] : v43_variants()) {
      INFO(what);
      V4SiteData site = base_site();
      change(site);
      const auto src = canon4(site);
      REQUIRE(clean(src));
      if (fixtures > 0) CHECK(src.hash != plain.hash);  // each variant says something new
      require_round_trip(src);
      ++fixtures;
    }
    CHECK(fixtures == static_cast<int>(v43_variants().size()));
  }
}

TEST_CASE("a plan from a generated v3 source performed on an empty v4 site gives its snapshot",
          "[unit][plan][v4][property]") {
  // What a v3 site can hold and v4 cannot say: VDI (identity-based) policies, groups of no
  // categories, of no or several kinds, matching any of several keys, service groups of all
  // protocols. Such a site's plan is blocked naming it; nothing else may be.
  const std::vector<std::string> inexpressible{
      "a policy of type vdi", "an isolation group of no categories",
      "an isolation group selecting several kinds", "the secured group selecting several kinds",
      "an isolation group selecting no kinds", "the secured group selecting no kinds",
      "the secured group of kinds",
      "the secured group matching any of several keys", "a service group of all protocols"};
  std::map<std::string, int> by_construct;  // blocked writes per inexpressible construct
  auto known = [&](const std::string& why) {
    return std::any_of(inexpressible.begin(), inexpressible.end(), [&](const std::string& what) {
      const bool is = why.rfind("the v4 API cannot express " + what, 0) == 0;
      by_construct[what] += is ? 1 : 0;
      return is;
    });
  };
  int planned = 0;
  int blocked = 0;
  for (std::uint64_t seed = 1; seed <= 700; ++seed) {
    const auto source = policy::test::generated_site(seed, false);
    auto s = policy::canonicalize_v3(source);
    if (!s || !clean(*s)) continue;  // malformed, dangling or duplicate names: not a source
    INFO("seed " << seed);
    const Plan plan = plan_to_v4(*s, V4SiteData{});
    if (!plan.blocked.empty()) {
      for (const auto& b : plan.blocked) {
        INFO(b.name << ": " << b.why);
        CHECK(known(b.why));
      }
      ++blocked;
      continue;
    }
    const V4SiteData after = perform(plan, V4SiteData{});
    REQUIRE(canon4(after).hash == s->hash);
    CHECK(plan_to_v4(*s, after).writes.empty());
    ++planned;
  }
  std::string report;
  for (const auto& [what, n] : by_construct) report += "\n  " + std::to_string(n) + " x " + what;
  WARN(planned << " generated v3 sites written as v4, " << blocked << " blocked:" << report);
  CHECK(planned >= 50);
  CHECK(blocked < planned);
}

TEST_CASE("v4 requests: paths, methods, references, updates and no category key writes",
          "[unit][plan][v4]") {
  V4SiteData source = base_site();
  const auto src = canon4(source);
  const Plan plan = plan_to_v4(src, V4SiteData{});
  REQUIRE(plan.blocked.empty());
  for (const auto& w : plan.writes) {
    INFO(w.name);
    CHECK_FALSE((w.kind == ObjectKind::Category && w.name.find(':') == std::string::npos));
    if (w.kind == ObjectKind::Category) {
      CHECK(w.request.path == "/api/prism/v4.0/config/categories");
      CHECK(w.request.body.contains("key"));
    }
  }
  auto policy = std::find_if(plan.writes.begin(), plan.writes.end(),
                             [](const Write& w) { return w.name == "web-app"; });
  REQUIRE(policy != plan.writes.end());
  CHECK(policy->request.method == "POST");
  CHECK(policy->request.path == "/api/microseg/v4.0/config/policies");
  CHECK(policy->request.body.dump().find(kKnownAfterApply) != std::string::npos);
  // As pcsim and Prism Central want them: a quarantine policy's rules are QUARANTINE rules,
  // every application rule names the secured group.
  auto quarantine = std::find_if(plan.writes.begin(), plan.writes.end(), [](const Write& w) {
    return w.kind == ObjectKind::Policy && w.request.body.value("type", "") == "QUARANTINE";
  });
  REQUIRE(quarantine != plan.writes.end());
  for (const auto& r : quarantine->request.body.at("rules")) {
    CHECK((r.at("type") == "QUARANTINE" || r.at("type") == "INTRA_GROUP"));
  }
  for (const auto& r : policy->request.body.at("rules")) {
    if (r.at("type") == "APPLICATION") CHECK(r.at("spec").contains("securedGroupCategoryReferences"));
  }

  SECTION("an update is the whole object with its extId, guarded by the ETag") {
    V4SiteData drifted = source;
    policy_named(drifted, "web-app")["state"] = "MONITOR";
    const Plan p = plan_to_v4(src, drifted);
    REQUIRE(p.writes.size() == 1);
    const Request& r = p.writes[0].request;
    const std::string id = policy_named(drifted, "web-app").at("extId");
    CHECK(r.method == "PUT");
    CHECK(r.path == "/api/microseg/v4.0/config/policies/" + id);
    CHECK(r.body.at("extId") == id);
    CHECK(r.body.at("state") == "ENFORCE");
    CHECK(r.precondition == "If-Match: the ETag read before the write");
    // Every reference is the target's own extId.
    CHECK(r.body.dump().find(kKnownAfterApply) == std::string::npos);
    CHECK(r.body.dump().find(kWeb) != std::string::npos);
    CHECK(canon4(perform(p, drifted)).hash == src.hash);
  }
  SECTION("paths name the API versions the target was polled with") {
    Target t = v4_target("dr", V4SiteData{}, canon4(V4SiteData{}));
    t.microseg_version = "v4.3";
    t.prism_version = "v4.1";
    auto category = std::find_if(plan.writes.begin(), plan.writes.end(),
                                 [](const Write& w) { return w.kind == ObjectKind::Category; });
    REQUIRE(category != plan.writes.end());
    auto c = render_request(*category, t);
    REQUIRE(c);
    CHECK(c->path == "/api/prism/v4.1/config/categories");
    auto ag = std::find_if(plan.writes.begin(), plan.writes.end(),
                           [](const Write& w) { return w.kind == ObjectKind::AddressGroup; });
    REQUIRE(ag != plan.writes.end());
    auto a = render_request(*ag, t);
    REQUIRE(a);
    CHECK(a->path == "/api/microseg/v4.3/config/address-groups");
    CHECK(a->body.contains("ipv4Addresses"));
  }
  SECTION("a policy the source lacks is deleted, without a body") {
    V4SiteData extra = source;
    json legacy = policy_named(extra, "web-app");
    legacy["name"] = "legacy";
    legacy["extId"] = "legacy-id";
    extra.policies.push_back(legacy);
    const Plan p = plan_to_v4(src, extra);
    REQUIRE(p.writes.size() == 1);
    CHECK(p.writes[0].request.method == "DELETE");
    CHECK(p.writes[0].request.path == "/api/microseg/v4.0/config/policies/legacy-id");
    CHECK(p.writes[0].request.body.is_null());
    CHECK(p.writes[0].request.precondition == "If-Match: the ETag read before the write");
  }
}

TEST_CASE("what the v4 API cannot express is blocked with a message, never dropped",
          "[unit][plan][v4]") {
  SECTION("a VPC scope") {
    V4SiteData site = base_site();
    json& web = policy_named(site, "web-app");
    web["scope"] = "VPC_LIST";
    web["vpcReferences"] = {kVpcA};
    const Plan p = plan_to_v4(canon4(site), V4SiteData{});
    CHECK(blocked_why(p, "web-app") == "the v4 API cannot express a policy scoped to VPCs (vpc_list)");
    CHECK(std::none_of(p.writes.begin(), p.writes.end(), [](const Write& w) { return w.name == "web-app"; }));
  }
  SECTION("members flowdrift does not model") {
    V4SiteData site = base_site();
    policy_named(site, "web-app")["futureSwitch"] = true;
    const Plan p = plan_to_v4(canon4(site), V4SiteData{});
    CHECK(blocked_why(p, "web-app").find("the v4 API cannot express the members of web-app "
                                         "flowdrift does not model") == 0);
  }
  SECTION("a rule member flowdrift does not model") {
    V4SiteData site = base_site();
    policy_named(site, "web-app").at("rules").at(1).at("spec")["futureSpecField"] = 7;
    const Plan p = plan_to_v4(canon4(site), V4SiteData{});
    CHECK(blocked_why(p, "web-app") ==
          "the v4 API cannot express a rule's members flowdrift does not model ({\"spec/futureSpecField\":7})");
  }
  SECTION("a service group of all protocols, a peer matching any of several keys") {
    const Target empty = v4_target("dr", V4SiteData{}, canon4(V4SiteData{}));
    Write w{Op::Create, ObjectKind::ServiceGroup, "all", "", R"({"description":"","name":"all","services":[{"all":true}]})", "", {}, {}};
    auto r = render_request(w, empty);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "the v4 API cannot express a service group of all protocols");
    json p = json::parse(R"({"allow_ipv6":false,"description":"","hitlog":false,"mode":"enforce","name":"p","type":"application",
      "secured_group":{"categories":["A:1"],"kinds":["vm"],"match":"all"},
      "rules":[{"description":"","direction":"inbound","peer":{"categories":["A:1","B:2"],"match":"any"},"service":{"all":true}}]})");
    Write pw{Op::Create, ObjectKind::Policy, "p", "", p.dump(), "", {}, {}};
    auto pr = render_request(pw, empty);
    REQUIRE_FALSE(pr);
    CHECK(pr.error().message.find("matching any of several keys") != std::string::npos);
  }
}
