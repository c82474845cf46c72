// What the canonical model knows of each v4 object, member by member (docs/canonical-model.md
// "v4 mapping"): the v4.3 SDK models' fields that the mapping reads, and the bookkeeping it
// leaves out on purpose. A member in neither list is unmodelled: normalize_v4 keeps it in the
// canonical form as opaque JSON and reports it, so nothing a Prism Central says is dropped
// silently. A unit test checks these tables against the SDK models (tests/fixtures/v4-sdk).
#pragma once

#include <span>
#include <string_view>

namespace flowdrift::policy::v4 {

struct Schema;

struct Field {
  std::string_view key;
  const Schema* nested = nullptr;  // the object (or array items) below it, when walked
  bool bookkeeping = false;        // identity, timestamps, links: not intent, left out
};

struct Schema {
  std::string_view sdk_type;  // "microseg.v4.config.NetworkSecurityPolicy"
  std::span<const Field> fields;

  const Field* find(std::string_view key) const;
};

// `$objectType`, `$reserved`, `$unknownFields`: the SDK envelope every object may carry.
bool is_envelope_key(std::string_view key);

extern const Schema kPolicy;           // NetworkSecurityPolicy, without walking `rules`
extern const Schema kRule;             // NetworkSecurityPolicyRule, without walking `spec`
extern const Schema kAddressGroup;
extern const Schema kServiceGroup;
extern const Schema kEntityGroup;

// The spec schema of a rule type (APPLICATION, QUARANTINE, SHARED_SERVICE, INTRA_GROUP,
// TWO_ENV_ISOLATION, MULTI_ENV_ISOLATION, FLEX); nullptr for a type the model does not know.
const Schema* rule_spec_schema(std::string_view rule_type);

// Every schema above and below them, for the SDK comparison test.
std::span<const Schema* const> all_schemas();

}  // namespace flowdrift::policy::v4
