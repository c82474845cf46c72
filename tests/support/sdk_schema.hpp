// Checks JSON against the public Nutanix v4 SDK models of one API version, for tests.
//
// The models are facts extracted from the Go SDK (github.com/nutanix/ntnx-api-golang-clients)
// by scripts/extract-sdk-models.py into tests/fixtures/v4-sdk/<namespace>-v4.<minor>.json; that
// directory's README describes the format. validate() returns every violation, each starting
// with the JSON pointer of the place ("<root>" for the value itself):
//   - a key that is not a field of the struct ($objectType, $reserved, $unknownFields are always
//     allowed), a missing required field, a $objectType other than the struct's;
//   - a wrong JSON type (null included: the SDK omits unset fields), a datetime that is not
//     RFC 3339, an enum value not in the enum ("$UNKNOWN" and "$REDACTED" are SDK placeholders,
//     never valid on the wire);
//   - a oneOf value that matches no member. A value with a $objectType is checked against the
//     member struct of that $objectType; any other value must match one member cleanly.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace flowdrift::test::sdk {

class Models {
 public:
  // Reads one data file; throws std::runtime_error when it cannot be read or is malformed.
  static Models load(const std::string& path);

  // Every violation of `value` against the struct, enum or oneOf `qualified_type` (e.g.
  // "microseg.v4.config.ListNetworkSecurityPoliciesApiResponse"); empty when it conforms.
  // Throws std::out_of_range when the type is not in the file.
  std::vector<std::string> validate(const nlohmann::json& value,
                                    std::string_view qualified_type) const;

  // Wire values of an enum, in SDK order; throws std::out_of_range for an unknown enum.
  std::vector<std::string> enum_values(std::string_view qualified_enum) const;
  // JSON field names of a struct, sorted; throws std::out_of_range for an unknown struct.
  std::vector<std::string> fields(std::string_view qualified_struct) const;
  // Whether the file defines this struct, enum or oneOf.
  bool contains(std::string_view qualified_type) const;
  // The file's "provenance" object (repository, commit, sdkVersion, apiVersion, ...).
  const nlohmann::json& provenance() const;

 private:
  explicit Models(nlohmann::json doc) : doc_(std::move(doc)) {}
  nlohmann::json doc_;
};

}  // namespace flowdrift::test::sdk
