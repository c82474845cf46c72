// VM coverage (drift/coverage.hpp): a protected VM the source's policies select must be
// selected alike once recovered on the replica; a category removed there, or spelled otherwise
// there, makes it a gap.
#include <catch2/catch.hpp>

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
