// pcsim's v4-native content (the data file's "v4" section, README "v4-native content"): VPCs,
// entity groups and policies the v3-shaped store cannot express, served as written, plus members
// merged into the v4 form of v3-stored policies. This header is the pure part: resolving the
// "@<kind>:<name>" references of that content. The Simulator members that load and serve it are
// in v4_native.cpp.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace flowdrift::pcsim::v4 {

// This instance's extId of the object `name` of `kind` ("category" with name "Key:Value",
// "address_group", "service_group", "entity_group", "vpc"); nullopt if there is none.
using ReferenceLookup =
    std::function<std::optional<std::string>(std::string_view kind, const std::string& name)>;

// Replaces, anywhere inside `value`, every string "@<kind>:<name>" (kind: lower-case letters and
// '_') by lookup(kind, name), and "@dangling:<text>" by <text>. Throws std::runtime_error
// "pcsim data: <where><json path>: ..." on an unknown kind, an unknown name or an empty name.
void resolve_references(nlohmann::json& value, const std::string& where,
                        const ReferenceLookup& lookup);

// Adds every member of `defaults` that `object` lacks (the read-only fields a PC fills in).
void add_defaults(nlohmann::json& object, const nlohmann::json& defaults);

}  // namespace flowdrift::pcsim::v4
