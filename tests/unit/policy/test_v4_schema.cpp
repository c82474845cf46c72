// The canonical model's view of the v4 objects (lib/policy/v4_schema.cpp) against the v4.3 SDK
// models (tests/fixtures/v4-sdk): every member the SDK describes is either mapped or knowingly
// left out as bookkeeping, and every member the tables name exists. A new SDK field fails here
// until someone decides what it means; until then normalize_v4 keeps it as unmodelled.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "policy/v4_schema.hpp"
#include "support/sdk_schema.hpp"

using namespace flowdrift;

namespace {

test::sdk::Models microseg_v43() {
  return test::sdk::Models::load(std::string(FLOWDRIFT_SOURCE_DIR) +
                                 "/tests/fixtures/v4-sdk/microseg-v4.3.json");
}

std::set<std::string> schema_keys(const policy::v4::Schema& s) {
  std::set<std::string> out;
  for (const auto& f : s.fields) out.emplace(f.key);
  return out;
}

}  // namespace

TEST_CASE("the canonical model knows every member of the v4.3 SDK models it reads",
          "[unit][policy][v43][sdk]") {
  const auto sdk = microseg_v43();
  for (const policy::v4::Schema* schema : policy::v4::all_schemas()) {
    const std::string type(schema->sdk_type);
    INFO(type);
    REQUIRE(sdk.contains(type));
    std::set<std::string> sdk_fields;
    for (const auto& f : sdk.fields(type)) sdk_fields.insert(f);
    const std::set<std::string> ours = schema_keys(*schema);
    for (const auto& f : sdk_fields) {
      INFO("SDK field " << f);
      CHECK(ours.count(f) == 1);
    }
    for (const auto& f : ours) {
      INFO("model field " << f);
      CHECK(sdk_fields.count(f) == 1);
    }
  }
}

TEST_CASE("every v4.3 rule type has a spec schema", "[unit][policy][v43][sdk]") {
  for (const auto& type : microseg_v43().enum_values("microseg.v4.config.RuleType")) {
    INFO(type);
    CHECK(policy::v4::rule_spec_schema(type) != nullptr);
  }
  CHECK(policy::v4::rule_spec_schema("FUTURE_RULE") == nullptr);
}
