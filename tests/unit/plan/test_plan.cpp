// Remediation plans (issue #17, point 3): which writes, why, in what order, and what requests.
// The round trip is the property that matters: for generated v3 sites, performing a plan's
// requests on an empty target (a small in-memory v3 applier below, re-rendering each write with
// the identifiers created so far, as apply does) gives the source's canonical snapshot, and a
// new plan is empty.
#include <catch2/catch.hpp>

#include <algorithm>

#include "../policy/policy_test_support.hpp"
#include "../policy/v3_site_gen.hpp"
#include "plan/plan.hpp"
#include "plan_test_support.hpp"

using namespace flowdrift;
using namespace flowdrift::plan;
using flowdrift::policy::ObjectKind;
using flowdrift::policy::V3SiteData;
using nlohmann::json;

namespace {

constexpr std::int64_t kNow = 1796515200000;  // 2026-12-05T00:00:00Z

policy::Snapshot canon(const V3SiteData& site) {
  auto s = policy::canonicalize_v3(site);
  if (!s) FAIL(s.error().message);
  return std::move(*s);
}

Plan plan_for(const V3SiteData& source, const V3SiteData& target, const PlanInput& extra = {}) {
  const auto src = canon(source);
  const auto tgt = v3_target("dr", target, canon(target));
  PlanInput in;
  in.source = &src;
  in.target = &tgt;
  in.mapping = extra.mapping;
  in.expected = extra.expected;
  in.now_ms = kNow;
  Plan p = make_plan(in);
  p.source = "primary";
  return p;
}

// The v3 site a request leaves behind, as a Prism Central would (ids made up).
class V3Applier {
 public:
  explicit V3Applier(V3SiteData site) : site_(std::move(site)) {}
  const V3SiteData& site() const { return site_; }

  void perform(const Request& r) {
    INFO(r.method << " " << r.path << " " << r.body.dump());
    REQUIRE(r.body.dump().find("(known after apply)") == std::string::npos);
    const std::string rest = r.path.substr(std::string("/api/nutanix/v3/").size());
    const auto slash = rest.find('/');
    const std::string collection = rest.substr(0, slash);
    const std::string id = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (collection == "categories") return category(id, r);
    if (collection == "network_security_rules") return rule(id, r);
    auto& list = collection == "address_groups" ? site_.address_groups : site_.service_groups;
    const char* member = collection == "address_groups" ? "address_group" : "service_group";
    if (r.method == "POST") {
      list.push_back({{"uuid", next_id()}, {member, r.body}});
    } else {
      auto it = find(list, id);
      (*it)[member] = r.body;
    }
  }

 private:
  std::string next_id() { return "00000000-0000-4000-8000-" + std::to_string(100000000000 + ++n_); }

  static std::vector<json>::iterator find(std::vector<json>& list, const std::string& id) {
    auto it = std::find_if(list.begin(), list.end(), [&](const json& e) {
      return e.value("uuid", "") == id || e["metadata"].value("uuid", "") == id;
    });
    REQUIRE(it != list.end());
    return it;
  }

  void rule(const std::string& id, const Request& r) {
    if (r.method == "POST") {
      site_.rules.push_back({{"metadata", {{"uuid", next_id()}, {"spec_version", 0}}},
                             {"spec", r.body.at("spec")}});
    } else if (r.method == "PUT") {
      auto it = find(site_.rules, id);
      CHECK(r.body["metadata"]["spec_version"] == (*it)["metadata"]["spec_version"]);
      (*it)["spec"] = r.body.at("spec");
      (*it)["metadata"]["spec_version"] = (*it)["metadata"]["spec_version"].get<int>() + 1;
    } else {
      site_.rules.erase(find(site_.rules, id));
    }
  }

  void category(const std::string& path, const Request& r) {
    REQUIRE(r.method == "PUT");
    const auto slash = path.find('/');
    if (slash == std::string::npos) {
      site_.category_keys.push_back({{"name", r.body.at("name")}});
      return;
    }
    const std::string key = r.body.contains("value") ? decoded(path.substr(0, slash)) : "";
    site_.category_values[key].push_back(
        policy::test::category_value(key, r.body.at("value").get<std::string>()));
  }

  static std::string decoded(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size() + 0) {
        out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  }

  V3SiteData site_;
  int n_ = 0;
};

// Performs `plan` write by write, rendering each request again from the site as it is by then
// (what flowdriftctl apply does, so names created earlier have their identifiers).
V3SiteData perform(const Plan& plan, const V3SiteData& target) {
  V3Applier applier(target);
  return plan::test::perform_plan(plan, applier,
                            [](const V3SiteData& site) { return v3_target("dr", site, canon(site)); });
}

bool clean(const policy::Snapshot& s) { return s.findings.empty(); }

std::vector<std::string> steps(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& w : p.writes) {
    out.push_back(std::string(to_string(w.op)) + " " + std::string(policy::to_string(w.kind)) +
                  " " + w.name);
  }
  return out;
}

}  // namespace

TEST_CASE("a plan performed on an empty v3 site gives the source's snapshot (generated sites)",
          "[unit][plan][property]") {
  int planned = 0;
  for (std::uint64_t seed = 1; seed <= 700; ++seed) {
    const V3SiteData source = policy::test::generated_site(seed, false);
    auto s = policy::canonicalize_v3(source);
    if (!s || !clean(*s)) continue;  // malformed, dangling or duplicate names: not a source
    INFO("seed " << seed);
    const Plan plan = plan_for(source, V3SiteData{});
    REQUIRE(plan.blocked.empty());
    const V3SiteData after = perform(plan, V3SiteData{});
    const auto result = canon(after);
    REQUIRE(result.hash == s->hash);
    CHECK(plan_for(source, after).writes.empty());
    ++planned;
  }
  CHECK(planned >= 100);
}

TEST_CASE("a plan writes what the drift items need, in dependency order, deletes last",
          "[unit][plan]") {
  using policy::test::standard_site;
  V3SiteData source = standard_site();
  V3SiteData target;  // the DR lost everything but a policy of its own
  json extra = policy::test::app_entity();
  extra["metadata"]["uuid"] = "extra-uuid";
  extra["metadata"]["spec_version"] = 4;
  extra["spec"]["name"] = "legacy";
  target.rules.push_back(extra);
  target.category_values["AppType"].push_back(policy::test::category_value("AppType", "Web"));
  target.category_values["AppType"].push_back(policy::test::category_value("AppType", "LB"));
  target.category_values["AppType"].push_back(policy::test::category_value("AppType", "Proxy"));
  target.category_values["AppType"].push_back(policy::test::category_value("AppType", "DB"));
  target.category_values["AppType"].push_back(policy::test::category_value("AppType", "Unused"));

  const Plan plan = plan_for(source, target);
  CHECK(steps(plan) == std::vector<std::string>{
                           "create category Environment",
                           "create category Environment:Prod",
                           "create address_group monitoring",
                           "create service_group web-ports",
                           "create policy web-tier",
                           "delete policy legacy",
                       });
  CHECK(plan.status == diff::PairStatus::Drifted);
  CHECK(plan.blocked.empty());
  const Write& create = plan.writes[4];
  REQUIRE_FALSE(create.reasons.empty());
  CHECK(create.reasons[0].policy == "web-tier");
  CHECK(create.reasons[0].kind == "missing");
  CHECK(create.request.method == "POST");
  CHECK(create.request.path == "/api/nutanix/v3/network_security_rules");
  // Groups created by this plan are named by a placeholder until apply knows their uuid.
  CHECK(create.request.body.dump().find("(known after apply)") != std::string::npos);
  const Write& del = plan.writes[5];
  CHECK(del.request.method == "DELETE");
  CHECK(del.request.path == "/api/nutanix/v3/network_security_rules/extra-uuid");
  CHECK(del.reasons.at(0).kind == "extra");
  // The group writes are justified by the policy that needs them.
  CHECK(plan.writes[2].reasons.at(0).policy == "web-tier");

  SECTION("an update carries the target's uuid and spec_version") {
    V3SiteData drifted = source;
    drifted.rules[0]["metadata"]["spec_version"] = 7;
    drifted.rules[0]["spec"]["resources"]["app_rule"]["action"] = "MONITOR";
    const Plan p = plan_for(source, drifted);
    REQUIRE(steps(p) == std::vector<std::string>{"update policy web-tier"});
    const auto& w = p.writes[0];
    CHECK(w.reasons.at(0).kind == "enforcement_mode");
    CHECK(w.request.method == "PUT");
    CHECK(w.request.precondition == "spec_version 7");
    CHECK(w.request.body["metadata"]["spec_version"] == 7);
    CHECK(w.request.body["spec"]["resources"]["app_rule"]["action"] == "APPLY");
    CHECK(canon(perform(p, drifted)).hash == canon(source).hash);
  }
  SECTION("a live expected difference is skipped, saying by what") {
    drift::Expectation e;
    e.policy = "legacy";
    e.owner = "dr-team";
    e.reason = "kept until the migration";
    e.expires = "2027-01-31";
    e.expires_ms = kNow + 86'400'000;
    PlanInput extra_in;
    extra_in.expected = {e};
    const Plan p = plan_for(source, target, extra_in);
    const auto st = steps(p);
    CHECK(std::find(st.begin(), st.end(), "delete policy legacy") == st.end());
    REQUIRE(p.skipped.size() == 1);
    CHECK(p.skipped[0].name == "legacy");
    CHECK(p.skipped[0].why.find("dr-team") != std::string::npos);
  }
  SECTION("nothing to do when the target matches") {
    const Plan p = plan_for(source, source);
    CHECK(p.writes.empty());
    CHECK(p.skipped.empty());
    CHECK(p.status == diff::PairStatus::InSync);
  }
}

TEST_CASE("a plan translates the source through the pair's mappings into the target's terms",
          "[unit][plan][mapping]") {
  using policy::test::standard_site;
  V3SiteData source = standard_site();
  V3SiteData target = standard_site();
  // On the DR the environment is spelled DR-Prod by design, and the policy is called dr-web.
  target.category_values["Environment"][0] = policy::test::category_value("Environment", "DR-Prod");
  auto& spec = target.rules[0]["spec"];
  spec["name"] = "dr-web";
  const std::string text = target.rules[0].dump();
  target.rules[0] = json::parse(
      [&] {
        std::string t = text;
        for (auto at = t.find("\"Prod\""); at != std::string::npos; at = t.find("\"Prod\"", at)) {
          t.replace(at, 6, "\"DR-Prod\"");
        }
        return t;
      }());
  PlanInput in;
  auto mapping = diff::make_mapping({{"Environment:Prod", "Environment:DR-Prod"}},
                                    {{"web-(.*)", "dr-web"}}, {});
  REQUIRE(mapping);
  in.mapping = *mapping;
  CHECK(plan_for(source, target, in).writes.empty());

  // A change on the DR is planned back in the DR's own terms.
  target.rules[0]["spec"]["resources"]["app_rule"]["action"] = "MONITOR";
  const Plan p = plan_for(source, target, in);
  REQUIRE(steps(p) == std::vector<std::string>{"update policy dr-web"});
  CHECK(p.writes[0].reasons.at(0).policy == "web-tier");
  const std::string body = p.writes[0].request.body.dump();
  CHECK(body.find("DR-Prod") != std::string::npos);
  CHECK(body.find("\"dr-web\"") != std::string::npos);
  CHECK(canon(perform(p, target)).hash != canon(target).hash);
  CHECK(plan_for(source, perform(p, target), in).writes.empty());
}

TEST_CASE("a plan file reads back as the same plan, bad files are named", "[unit][plan]") {
  const Plan plan = plan_for(policy::test::standard_site(), V3SiteData{});
  REQUIRE_FALSE(plan.writes.empty());
  const json doc = plan_json(plan);
  CHECK(doc["schema"] == kPlanSchema);
  CHECK(doc["version"] == kPlanVersion);
  CHECK(doc["summary"]["create"] == plan.writes.size());
  auto back = plan_from_json(doc, "p.json");
  REQUIRE(back);
  CHECK(plan_json(*back) == doc);
  CHECK(plan_hash(*back) == plan_hash(plan));
  CHECK(plan_text(plan).find("1. create category key \"AppType\"") != std::string::npos);

  auto not_plan = plan_from_json(json{{"schema", "other"}}, "x.json");
  REQUIRE_FALSE(not_plan);
  CHECK(not_plan.error().message.find("x.json: not a flowdrift plan") == 0);
  json bad = doc;
  bad["writes"][0]["op"] = "replace";
  auto bad_op = plan_from_json(bad, "p.json");
  REQUIRE_FALSE(bad_op);
  CHECK(bad_op.error().message == "p.json: /writes/0/op: expected create, update or delete");

  // A member of the wrong type is named, never thrown (found by fuzz_plan_file).
  const std::vector<std::pair<json, std::string>> wrong{
      {json::object(), "/version"},
      {json{{"source", 7}}, "/source: expected an object"},
      {json{{"target", {{"name", 3}}}}, "/target/name: expected a string"},
      {json{{"planned_ms", "soon"}}, "/planned_ms: expected an integer"},
      {json{{"writes", {{"op", "create"}}}}, "/writes: expected an array"},
      {json{{"blocked", {1}}}, "/blocked/0: expected an object"},
  };
  for (const auto& [patch, message] : wrong) {
    json edited = doc;
    if (patch.empty()) {
      edited["version"] = json::object();
    } else {
      edited.merge_patch(patch);
    }
    auto read = plan_from_json(edited, "p.json");
    REQUIRE_FALSE(read);
    CHECK_THAT(read.error().message, Catch::Contains("p.json: " + message));
  }
  json reason = doc;
  reason["writes"][0]["reasons"] = json::array({5});
  auto bad_reason = plan_from_json(reason, "p.json");
  REQUIRE_FALSE(bad_reason);
  CHECK(bad_reason.error().message == "p.json: /writes/0/reasons/0: expected an object");
}
