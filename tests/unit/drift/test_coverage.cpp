// VM coverage (drift/coverage.hpp): a protected VM the source's policies select must be
// selected alike once recovered on the replica; a category removed there, or spelled otherwise
// there, makes it a gap.
#include <catch2/catch.hpp>

#include <algorithm>

#include "diff/mapping.hpp"
#include "drift/coverage.hpp"
#include "support/canonical.hpp"

using namespace flowdrift;
using drift::CoverageGap;

namespace {

policy::CanonicalObject policy_securing(const std::string& name, const std::string& category) {
  return test::canonical_object(policy::ObjectKind::Policy,
                                test::app_policy_json(name, {{"subnet", "10.0.0.0/24"}}, category));
}

policy::CanonicalObject category(const std::string& kv) {
  return test::canonical_object(policy::ObjectKind::Category, kv, nlohmann::json{{"name", kv}});
}

// A site whose policies secure AppType:Web and AppType:DB (both category values exist).
policy::Snapshot site(bool with_web_category = true, const std::string& web = "AppType:Web") {
  std::vector<policy::CanonicalObject> objects{policy_securing("web", web),
                                               policy_securing("db", "AppType:DB"),
                                               category("AppType:DB")};
  if (with_web_category) objects.push_back(category(web));
  return test::canonical_snapshot(std::move(objects));
}

struct Rig {
  std::vector<drift::VmRecord> vms{{"1", "web-01", {"AppType:Web", "Env:Prod"}},
                                   {"2", "db-01", {"AppType:DB"}},
                                   {"3", "scratch", {"Env:Dev"}}};
  std::vector<drift::ProtectionRecord> protections{
      {"protection_policy", "gold", {"Env:Prod", "AppType:DB"}, false, {}}};
  policy::Snapshot source = site();
  policy::Snapshot replica = site();
  diff::PairMapping mapping;

  std::vector<CoverageGap> check() {
    return drift::check_coverage({&vms, &protections, &source, &replica, &mapping});
  }
};

}  // namespace

TEST_CASE("coverage: the same categories and policies on the replica leave no gap",
          "[unit][drift][coverage]") {
  Rig rig;
  CHECK(rig.check().empty());
}

TEST_CASE("coverage: a category removed on the replica leaves its protected VMs unprotected",
          "[unit][drift][coverage]") {
  Rig rig;
  rig.replica = site(false);  // AppType:Web is gone on the DR site
  const auto gaps = rig.check();
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].vm == "web-01");
  CHECK(gaps[0].kind == CoverageGap::Kind::Unprotected);
  CHECK(gaps[0].protected_by == "protection_policy gold");
  CHECK(gaps[0].selected_now == std::vector<std::string>{"web"});
  CHECK(gaps[0].selected_after.empty());
  CHECK(gaps[0].missing_categories == std::vector<std::string>{"AppType:Web"});
  CHECK_THAT(gaps[0].detail, Catch::Contains("missing on the replica: AppType:Web"));
  CHECK(drift::to_string(gaps[0].kind) == "unprotected");
}

TEST_CASE("coverage: a VM nothing sends to the replica, or nothing secures today, is no gap",
          "[unit][drift][coverage]") {
  Rig rig;
  rig.replica = site(false);
  rig.protections = {{"recovery_plan", "rp-db", {}, false, {"2"}}};  // db-01 by id only
  CHECK(rig.check().empty());
  rig.protections = {{"recovery_plan", "rp-all", {}, false, {"1", "2", "3"}}};
  const auto gaps = rig.check();
  REQUIRE(gaps.size() == 1);  // scratch is secured by nothing on either site
  CHECK(gaps[0].vm == "web-01");
  CHECK(gaps[0].protected_by == "recovery_plan rp-all");
}

TEST_CASE("coverage: a category the replica spells otherwise selects nothing the VM carries",
          "[unit][drift][coverage]") {
  Rig rig;
  // The DR site secures web by AppType:Web-DR (declared as a mapping): the recovered VM still
  // carries AppType:Web, so the DR policy does not select it.
  rig.replica = site(true, "AppType:Web-DR");
  auto mapping = diff::make_mapping({{"AppType:Web", "AppType:Web-DR"}}, {}, {});
  REQUIRE(mapping);
  rig.mapping = *mapping;
  auto gaps = rig.check();
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].kind == CoverageGap::Kind::Unprotected);
  CHECK(gaps[0].missing_categories.empty());  // the value exists, in its DR spelling
  // A VM carrying both spellings is selected on both sites.
  rig.vms[0].categories.push_back("AppType:Web-DR");
  CHECK(rig.check().empty());
}

TEST_CASE("coverage: selected by other policies after failover is protected differently",
          "[unit][drift][coverage]") {
  Rig rig;
  // On the DR site, web's policy secures AppType:DB instead: web-01 lands with no policy, and
  // db-01 is selected by two.
  rig.replica = test::canonical_snapshot({policy_securing("web", "AppType:DB"),
                                          policy_securing("db", "AppType:DB"),
                                          category("AppType:DB"), category("AppType:Web")});
  const auto gaps = rig.check();
  REQUIRE(gaps.size() == 2);
  CHECK(gaps[0].vm == "db-01");
  CHECK(gaps[0].kind == CoverageGap::Kind::ProtectedDifferently);
  CHECK(gaps[0].selected_after == std::vector<std::string>{"db", "web"});
  CHECK(gaps[1].vm == "web-01");
  CHECK(gaps[1].kind == CoverageGap::Kind::Unprotected);
}

TEST_CASE("coverage: failed over, the serving site's VMs are checked against the configured source",
          "[unit][drift][coverage]") {
  Rig rig;
  // Declared primary -> DR: AppType:Web is AppType:Web-DR on the DR site. Failed over, the DR
  // site serves: its VMs carry AppType:Web-DR, and the primary secures AppType:Web.
  auto mapping = diff::make_mapping({{"AppType:Web", "AppType:Web-DR"}}, {}, {});
  REQUIRE(mapping);
  rig.mapping = *mapping;
  const auto primary = site(true, "AppType:Web");
  const auto dr = site(true, "AppType:Web-DR");
  rig.vms = {{"9", "web-01", {"AppType:Web-DR", "Env:Prod"}}};
  drift::CoverageInput in{&rig.vms, &rig.protections, &dr, &primary, &rig.mapping, true};
  auto gaps = drift::check_coverage(in);
  REQUIRE(gaps.size() == 1);  // recovered on the primary it carries no AppType:Web
  CHECK(gaps[0].kind == CoverageGap::Kind::Unprotected);
  CHECK(gaps[0].vm_id == "9");
  CHECK(gaps[0].selected_now == std::vector<std::string>{"web"});
  // The mapping turned round: the primary's spelling is the one it lacks, not "missing".
  CHECK(gaps[0].missing_categories.empty());
  rig.vms[0].categories.push_back("AppType:Web");
  CHECK(drift::check_coverage(in).empty());
  // Not failed over, the mapping reads forwards: a primary VM carrying only AppType:Web lands on
  // the DR site selected by nothing.
  in.flipped = false;
  in.source = &primary;
  in.replica = &dr;
  rig.vms = {{"9", "web-01", {"AppType:Web", "Env:Prod"}}};
  REQUIRE(drift::check_coverage(in).size() == 1);
}

TEST_CASE("coverage: only protected VMs are kept, sorted, and their text reads back the same",
          "[unit][drift][coverage]") {
  Rig rig;
  rig.vms.push_back({"0", "web-00", {"Env:Prod", "AppType:Web", "Env:Prod"}});
  const drift::CoverageData all{rig.vms, rig.protections};
  const auto kept = drift::protected_only(all);
  REQUIRE(kept.vms.size() == 3);  // scratch (Env:Dev) is protected by nothing
  CHECK(kept.vms[0].id == "0");
  CHECK(kept.vms[0].categories == std::vector<std::string>{"AppType:Web", "Env:Prod"});
  CHECK(kept.vms[2].name == "db-01");
  REQUIRE(kept.protections.size() == 1);
  CHECK(kept.protections[0].categories == std::vector<std::string>{"AppType:DB", "Env:Prod"});
  const auto text = drift::coverage_text(kept);
  auto back = drift::parse_coverage_text(text, "here");
  REQUIRE(back);
  CHECK(*back == kept);
  CHECK(drift::coverage_text(*back) == text);
  // Order in, same text out: the digest depends on content only.
  auto reversed = all;
  std::reverse(reversed.vms.begin(), reversed.vms.end());
  CHECK(drift::coverage_text(drift::protected_only(reversed)) == text);
}

TEST_CASE("coverage: stored text of the wrong shape is an error naming the place",
          "[unit][drift][coverage]") {
  auto bad = [](const std::string& text) {
    auto r = drift::parse_coverage_text(text, "coverage_inputs abc");
    REQUIRE_FALSE(r);
    CHECK(r.error().reason == ErrorReason::Malformed);
    return r.error().message;
  };
  CHECK_THAT(bad("[]"), Catch::Contains("coverage_inputs abc: is not a JSON object"));
  CHECK_THAT(bad(R"({"vms": [], "protections": {}})"), Catch::Contains("protections is not a list"));
  CHECK_THAT(bad(R"({"vms": [{"id": "1", "name": "a", "categories": [1]}], "protections": []})"),
             Catch::Contains("vms[0]: categories: an element is not a string"));
  CHECK_THAT(bad(R"({"vms": [], "protections": [{"kind": "rule", "name": "x", "categories": [],
                    "match_all": false, "vm_ids": []}]})"),
             Catch::Contains("protections[0]: kind is neither"));
  CHECK_THAT(bad(R"({"vms": [], "protections": [{"kind": "recovery_plan", "name": "x",
                    "categories": [], "vm_ids": []}]})"),
             Catch::Contains("match_all is not a boolean"));
}
