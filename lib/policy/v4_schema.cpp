#include "policy/v4_schema.hpp"

#include <array>

// Field names are the v4.3 SDK's json tags (microseg-go-client v4.3.1,
// models/microseg/v4/config/config_model.go and common/v1/config).

namespace flowdrift::policy::v4 {
namespace {

constexpr bool B = true;  // bookkeeping

constexpr Field kIpv4AddressFields[] = {{"value"}, {"prefixLength"}};
constexpr Schema kIpv4Address{"common.v1.config.IPv4Address", kIpv4AddressFields};
constexpr Field kIpv6AddressFields[] = {{"value"}, {"prefixLength"}};
constexpr Schema kIpv6Address{"common.v1.config.IPv6Address", kIpv6AddressFields};
constexpr Field kIpv4RangeFields[] = {{"startIp"}, {"endIp"}};
constexpr Schema kIpv4Range{"microseg.v4.config.IPv4Range", kIpv4RangeFields};
constexpr Field kIpv6RangeFields[] = {{"startIp"}, {"endIp"}};
constexpr Schema kIpv6Range{"microseg.v4.config.IPv6Range", kIpv6RangeFields};
constexpr Field kTcpFields[] = {{"startPort"}, {"endPort"}};
constexpr Schema kTcpRange{"microseg.v4.config.TcpPortRangeSpec", kTcpFields};
constexpr Field kUdpFields[] = {{"startPort"}, {"endPort"}};
constexpr Schema kUdpRange{"microseg.v4.config.UdpPortRangeSpec", kUdpFields};
constexpr Field kIcmpFields[] = {{"type"}, {"code"}, {"isAllAllowed"}};
constexpr Schema kIcmp{"microseg.v4.config.IcmpTypeCodeSpec", kIcmpFields};
constexpr Field kIcmpV6Fields[] = {{"type"}, {"code"}, {"isAllAllowed"}};
constexpr Schema kIcmpV6{"microseg.v4.config.IcmpV6TypeCodeSpec", kIcmpV6Fields};

#define FLOWDRIFT_SERVICES                                                              \
  {"tcpServices", &kTcpRange}, {"udpServices", &kUdpRange}, {"icmpServices", &kIcmp},    \
      {"icmpV6Services", &kIcmpV6}

constexpr Field kApplicationFields[] = {
    {"srcAllowSpec"}, {"srcCategoryReferences"}, {"srcCategoryAssociatedEntityType"},
    {"srcEntityGroupReference"}, {"srcSubnet", &kIpv4Address}, {"srcIpv6Subnet", &kIpv6Address},
    {"srcAddressGroupReferences"},
    {"destAllowSpec"}, {"destCategoryReferences"}, {"destCategoryAssociatedEntityType"},
    {"destEntityGroupReference"}, {"destSubnet", &kIpv4Address},
    {"destIpv6Subnet", &kIpv6Address}, {"destAddressGroupReferences"},
    {"securedGroupCategoryReferences"}, {"securedGroupCategoryAssociatedEntityType"},
    {"securedGroupEntityGroupReference"},
    FLOWDRIFT_SERVICES, {"serviceGroupReferences"}, {"isAllProtocolAllowed"},
    {"networkFunctionChainReference"}, {"networkFunctionReference"}};
constexpr Schema kApplicationSpec{"microseg.v4.config.ApplicationRuleSpec", kApplicationFields};

constexpr Field kIntraFields[] = {
    {"securedGroupAction"}, {"securedGroupCategoryReferences"},
    {"securedGroupCategoryAssociatedEntityType"}, {"securedGroupEntityGroupReference"},
    {"securedGroupServiceReferences"}, FLOWDRIFT_SERVICES};
constexpr Schema kIntraSpec{"microseg.v4.config.IntraEntityGroupRuleSpec", kIntraFields};

constexpr Field kTwoEnvFields[] = {{"firstIsolationGroup"}, {"secondIsolationGroup"}};
constexpr Schema kTwoEnvSpec{"microseg.v4.config.TwoEnvIsolationRuleSpec", kTwoEnvFields};

constexpr Field kIsolationGroupFields[] = {
    {"groupCategoryReferences"}, {"groupCategoryAssociatedEntityType"},
    {"groupEntityGroupReference"}};
constexpr Schema kIsolationGroup{"microseg.v4.config.IsolationGroup", kIsolationGroupFields};
constexpr Field kAllToAllFields[] = {{"isolationGroups", &kIsolationGroup}};
constexpr Schema kAllToAll{"microseg.v4.config.AllToAllIsolationGroup", kAllToAllFields};
constexpr Field kMultiEnvFields[] = {{"spec", &kAllToAll}, {"$specItemDiscriminator", nullptr, B}};
constexpr Schema kMultiEnvSpec{"microseg.v4.config.MultiEnvIsolationRuleSpec", kMultiEnvFields};

constexpr Field kFlexFields[] = {
    {"action"}, {"direction"}, {"appliedToEntityGroupReferences"},
    {"srcEntityGroupReferences"}, {"srcSubnet", &kIpv4Address}, {"shouldAllowAnySrc"},
    {"destEntityGroupReferences"}, {"destSubnet", &kIpv4Address}, {"shouldAllowAnyDst"},
    FLOWDRIFT_SERVICES, {"serviceGroupReferences"}, {"isAllProtocolAllowed"}, {"ipVersion"},
    {"isSystemRule"}, {"networkFunctionReference"}, {"priority"}};
constexpr Schema kFlexSpec{"microseg.v4.config.FlexRuleSpec", kFlexFields};

#undef FLOWDRIFT_SERVICES

constexpr Field kRuleFields[] = {
    {"type"}, {"spec"}, {"description"}, {"name"}, {"isLoggingEnabled"},
    {"extId", nullptr, B}, {"links", nullptr, B}, {"tenantId", nullptr, B},
    {"$specItemDiscriminator", nullptr, B}};

constexpr Field kPolicyFields[] = {
    {"name"}, {"description"}, {"type"}, {"state"}, {"rules"},
    {"isHitlogEnabled"}, {"isIpv6TrafficAllowed"}, {"isIpv4AddressScope"},
    {"isIpv6AddressScope"}, {"scope"}, {"scopeReferences"}, {"vpcReferences"},
    {"securedGroups"}, {"securedEntityGroupReferences"}, {"appliedToEntityGroupReferences"},
    {"sourceEntityGroupReferences"}, {"destinationEntityGroupReferences"}, {"priority"},
    {"networkFunctionReferences"},
    {"extId", nullptr, B}, {"links", nullptr, B}, {"tenantId", nullptr, B},
    {"createdBy", nullptr, B}, {"creationTime", nullptr, B}, {"lastUpdateTime", nullptr, B},
    {"isSystemDefined", nullptr, B}, {"projectExtId", nullptr, B},
    {"isSharedWithAllProjects", nullptr, B}};

constexpr Field kAddressGroupFields[] = {
    {"name"}, {"description"}, {"ipv4Addresses", &kIpv4Address}, {"ipRanges", &kIpv4Range},
    {"ipv6Addresses", &kIpv6Address}, {"ipv6Ranges", &kIpv6Range},
    {"extId", nullptr, B}, {"links", nullptr, B}, {"tenantId", nullptr, B},
    {"createdBy", nullptr, B}, {"creationTime", nullptr, B}, {"lastUpdateTime", nullptr, B},
    {"policyReferences", nullptr, B}, {"projectExtId", nullptr, B},
    {"isSharedWithAllProjects", nullptr, B}};

constexpr Field kServiceGroupFields[] = {
    {"name"}, {"description"}, {"tcpServices", &kTcpRange}, {"udpServices", &kUdpRange},
    {"icmpServices", &kIcmp}, {"icmpV6Services", &kIcmpV6},
    {"extId", nullptr, B}, {"links", nullptr, B}, {"tenantId", nullptr, B},
    {"createdBy", nullptr, B}, {"creationTime", nullptr, B}, {"lastUpdateTime", nullptr, B},
    {"policyReferences", nullptr, B}, {"projectExtId", nullptr, B},
    {"isSharedWithAllProjects", nullptr, B}, {"isSystemDefined", nullptr, B}};

constexpr Field kAddressesFields[] = {{"ipv4Addresses", &kIpv4Address}};
constexpr Schema kAddresses{"microseg.v4.config.Addresses", kAddressesFields};
constexpr Field kIpRangeFields[] = {{"ipv4Ranges", &kIpv4Range}};
constexpr Schema kIpRange{"microseg.v4.config.IpRange", kIpRangeFields};
constexpr Field kAllowedEntityFields[] = {
    {"type"}, {"selectBy"}, {"referenceExtIds"}, {"referenceString"}, {"matchCriteria"},
    {"kubeEntities"}, {"fqdns"}, {"addresses", &kAddresses}, {"ipRanges", &kIpRange}};
constexpr Schema kAllowedEntity{"microseg.v4.config.AllowedEntity", kAllowedEntityFields};
constexpr Field kExceptEntityFields[] = {
    {"type"}, {"selectBy"}, {"referenceExtIds"}, {"addresses", &kAddresses},
    {"ipRanges", &kIpRange}};
constexpr Schema kExceptEntity{"microseg.v4.config.ExceptEntity", kExceptEntityFields};
constexpr Field kAllowedConfigFields[] = {{"entities", &kAllowedEntity}};
constexpr Schema kAllowedConfig{"microseg.v4.config.AllowedConfig", kAllowedConfigFields};
constexpr Field kExceptConfigFields[] = {{"entities", &kExceptEntity}};
constexpr Schema kExceptConfig{"microseg.v4.config.ExceptConfig", kExceptConfigFields};

constexpr Field kEntityGroupFields[] = {
    {"name"}, {"description"}, {"allowedConfig", &kAllowedConfig},
    {"exceptConfig", &kExceptConfig},
    {"extId", nullptr, B}, {"links", nullptr, B}, {"tenantId", nullptr, B},
    {"creationTime", nullptr, B}, {"lastUpdateTime", nullptr, B},
    {"isSystemDefined", nullptr, B}, {"ownerExtId", nullptr, B}, {"policyExtIds", nullptr, B},
    {"projectExtId", nullptr, B}, {"isSharedWithAllProjects", nullptr, B}};

}  // namespace

const Field* Schema::find(std::string_view key) const {
  for (const Field& f : fields) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

bool is_envelope_key(std::string_view key) {
  return key == "$objectType" || key == "$reserved" || key == "$unknownFields";
}

const Schema kPolicy{"microseg.v4.config.NetworkSecurityPolicy", kPolicyFields};
const Schema kRule{"microseg.v4.config.NetworkSecurityPolicyRule", kRuleFields};
const Schema kAddressGroup{"microseg.v4.config.AddressGroup", kAddressGroupFields};
const Schema kServiceGroup{"microseg.v4.config.ServiceGroup", kServiceGroupFields};
const Schema kEntityGroup{"microseg.v4.config.EntityGroup", kEntityGroupFields};

const Schema* rule_spec_schema(std::string_view rule_type) {
  if (rule_type == "APPLICATION" || rule_type == "QUARANTINE" || rule_type == "SHARED_SERVICE") {
    return &kApplicationSpec;
  }
  if (rule_type == "INTRA_GROUP") return &kIntraSpec;
  if (rule_type == "TWO_ENV_ISOLATION") return &kTwoEnvSpec;
  if (rule_type == "MULTI_ENV_ISOLATION") return &kMultiEnvSpec;
  if (rule_type == "FLEX") return &kFlexSpec;
  return nullptr;
}

std::span<const Schema* const> all_schemas() {
  static constexpr std::array<const Schema*, 26> kAll = {
      &kPolicy,         &kRule,           &kAddressGroup,  &kServiceGroup, &kEntityGroup,
      &kApplicationSpec, &kIntraSpec,     &kTwoEnvSpec,    &kMultiEnvSpec, &kAllToAll,
      &kIsolationGroup, &kFlexSpec,       &kIpv4Address,   &kIpv6Address,  &kIpv4Range,
      &kIpv6Range,      &kTcpRange,       &kUdpRange,      &kIcmp,         &kIcmpV6,
      &kAddresses,      &kIpRange,        &kAllowedEntity, &kExceptEntity, &kAllowedConfig,
      &kExceptConfig};
  return kAll;
}

}  // namespace flowdrift::policy::v4
