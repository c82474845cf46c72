#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/sha256.hpp"
#include "diff/diff.hpp"
#include "support/canonical.hpp"

using namespace flowdrift;
using namespace flowdrift::diff;
using nlohmann::json;

namespace {

json policy_json(const std::string& name, const std::string& secured, const std::string& subnet) {
  return flowdrift::test::app_policy_json(name, {{"subnet", subnet}}, secured);
}

policy::CanonicalObject object(policy::ObjectKind kind, const std::string& name, const json& j) {
  return flowdrift::test::canonical_object(kind, name, j);
}

policy::Snapshot site(const std::string& name, const std::string& kv, const std::string& subnet) {
  policy::Snapshot s;
  s.objects.push_back(object(policy::ObjectKind::Policy, name, policy_json(name, kv, subnet)));
  const auto colon = kv.find(':');
  s.objects.push_back(object(policy::ObjectKind::Category, kv,
                             json{{"key", kv.substr(0, colon)}, {"value", kv.substr(colon + 1)}}));
  s.hash = policy::snapshot_hash(s.objects, s.canon_version);
  return s;
}

PairMapping mapping(std::map<std::string, std::string> categories,
                    std::vector<std::pair<std::string, std::string>> names,
                    std::vector<std::pair<std::string, std::string>> subnets) {
  auto m = make_mapping(categories, names, subnets);
  REQUIRE(m.has_value());
  return std::move(*m);
}

}  // namespace

TEST_CASE("mapping: mapped categories, names and subnets are not drift", "[unit][diff][mapping]") {
  const auto primary = site("web-prod", "Environment:Prod", "10.1.2.0/24");
  const auto dr = site("web-dr", "Environment:Prod-DR", "10.201.2.0/24");
  // Unmapped, the DR copy looks missing and an extra policy appears.
  const auto raw = diff_snapshots(primary, dr);
  REQUIRE(raw.items.size() == 2);
  CHECK(raw.items[0].kind == DriftKind::Extra);
  CHECK(raw.items[1].kind == DriftKind::Missing);

  const auto m = mapping({{"Environment:Prod", "Environment:Prod-DR"}},
                         {{"^(.*)-prod$", "$1-dr"}}, {{"10.1.0.0/16", "10.201.0.0/16"}});
  const auto r = diff_snapshots(primary, dr, m);
  INFO((r.items.empty() ? std::string() : r.items[0].summary));
  CHECK(r.items.empty());
  CHECK(r.status == PairStatus::InSync);
}

TEST_CASE("mapping: what the mapping does not cover is still drift", "[unit][diff][mapping]") {
  const auto m = mapping({{"Environment:Prod", "Environment:Prod-DR"}},
                         {{"^(.*)-prod$", "$1-dr"}}, {{"10.1.0.0/16", "10.201.0.0/16"}});
  const auto primary = site("web-prod", "Environment:Prod", "10.1.2.0/24");
  SECTION("a subnet outside the mapped one") {
    const auto r = diff_snapshots(primary, site("web-dr", "Environment:Prod-DR", "10.202.2.0/24"), m);
    REQUIRE(r.items.size() == 1);
    CHECK(r.items[0].object == "web-prod");  // reported under the source's name
    CHECK(r.items[0].kind == DriftKind::Modified);
  }
  SECTION("an unmapped category value") {
    const auto r = diff_snapshots(primary, site("web-dr", "Environment:Staging", "10.201.2.0/24"), m);
    REQUIRE_FALSE(r.items.empty());
    CHECK(r.items[0].object == "web-prod");
  }
  SECTION("a name the rule does not produce") {
    const auto r = diff_snapshots(primary, site("web-drsite", "Environment:Prod-DR", "10.201.2.0/24"), m);
    REQUIRE(r.items.size() == 2);
    CHECK(r.items[1].kind == DriftKind::Missing);
  }
}

TEST_CASE("mapping: bad rules are refused with the rule named", "[unit][diff][mapping]") {
  auto bad_cat = make_mapping({{"Environment", "Environment:DR"}}, {}, {});
  REQUIRE_FALSE(bad_cat.has_value());
  CHECK_THAT(bad_cat.error().message, Catch::Contains("categories[Environment]"));
  auto dup = make_mapping({{"A:1", "A:x"}, {"A:2", "A:x"}}, {}, {});
  REQUIRE_FALSE(dup.has_value());
  CHECK_THAT(dup.error().message, Catch::Contains("A:x"));
  auto bad_re = make_mapping({}, {{"web-(", "x"}}, {});
  REQUIRE_FALSE(bad_re.has_value());
  CHECK_THAT(bad_re.error().message, Catch::Contains("names[0].match"));
  auto bad_net = make_mapping({}, {}, {{"10.1.0.0/16", "10.2.0.0/24"}});
  REQUIRE_FALSE(bad_net.has_value());
  CHECK_THAT(bad_net.error().message, Catch::Contains("subnets[0]") && Catch::Contains("prefix"));
  auto host_bits = make_mapping({}, {}, {{"10.1.0.1/16", "10.2.0.0/16"}});
  REQUIRE_FALSE(host_bits.has_value());
  CHECK_THAT(host_bits.error().message, Catch::Contains("10.1.0.1/16"));
}

// flowdriftctl diff keeps one copy of a text both files hold: the replica's object lets it go
// (has_text false) and the comparison reads the source's object of the same hash. Mapped or
// not, the result is the one the replica with its own texts gives.
TEST_CASE("mapping: objects without their text read the other side's, mapped or not",
          "[unit][diff][mapping]") {
  policy::Snapshot primary = site("web-prod", "Environment:Prod", "10.1.2.0/24");
  primary.objects.push_back(
      object(policy::ObjectKind::Policy, "db-prod", policy_json("db-prod", "Environment:Prod",
                                                                "10.1.3.0/24")));
  // The same text on both sides, in the replica's terms: mapped, the replica's copy reads as
  // 10.1.4.0/24, which is drift, and only its text can say so.
  primary.objects.push_back(
      object(policy::ObjectKind::Policy, "mq-prod", policy_json("mq-prod", "Environment:Prod",
                                                                "10.201.4.0/24")));
  primary.hash = policy::snapshot_hash(primary.objects, primary.canon_version);
  policy::Snapshot dr = primary;
  for (auto& o : dr.objects) {
    if (o.name == "db-prod") o = object(o.kind, o.name, policy_json("db-prod", "Environment:Prod",
                                                                    "10.9.9.0/24"));
  }
  policy::Snapshot stripped = dr;
  std::size_t let_go = 0;
  for (auto& o : stripped.objects) {
    if (o.name == "db-prod") continue;  // its own text: it differs from the source's
    o.json.clear();
    o.has_text = false;
    ++let_go;
  }
  REQUIRE(let_go == 3);
  REQUIRE(policy::texts_missing(stripped, primary) == 0);
  const auto m = mapping({{"Environment:Prod", "Environment:Prod-DR"}}, {},
                         {{"10.1.0.0/16", "10.201.0.0/16"}});
  for (const bool mapped : {false, true}) {
    INFO("mapped " << mapped);
    const auto want = mapped ? diff_snapshots(primary, dr, m) : diff_snapshots(primary, dr);
    const auto got =
        mapped ? diff_snapshots(primary, stripped, m) : diff_snapshots(primary, stripped);
    REQUIRE_FALSE(want.items.empty());
    const bool mq_drifts = std::any_of(want.items.begin(), want.items.end(),
                                       [](const DriftItem& i) { return i.object == "mq-prod"; });
    CHECK(mq_drifts == mapped);
    REQUIRE(got.items.size() == want.items.size());
    CHECK(got.status == want.status);
    for (std::size_t i = 0; i < want.items.size(); ++i) {
      CHECK(got.items[i].object == want.items[i].object);
      CHECK(got.items[i].kind == want.items[i].kind);
      CHECK(got.items[i].summary == want.items[i].summary);
      REQUIRE(got.items[i].fields.size() == want.items[i].fields.size());
      for (std::size_t f = 0; f < want.items[i].fields.size(); ++f) {
        CHECK(got.items[i].fields[f].source == want.items[i].fields[f].source);
        CHECK(got.items[i].fields[f].replica == want.items[i].fields[f].replica);
      }
    }
  }
}
