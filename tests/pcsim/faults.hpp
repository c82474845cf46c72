// pcsim fault injection: what a fault spec says (endpoint, effect, count/after window) and how
// it is parsed from the CLI text form ("rules_list:status=503,count=2") or from JSON.
// See tests/pcsim/README.md for the full syntax.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace flowdrift::pcsim {

// Endpoint names faults (and stats) refer to; "*" in a spec matches every API endpoint
// (v3 and v4).
inline constexpr std::string_view kFaultEndpoints[] = {
    "rules_list",          "address_groups_list",    "service_groups_list",
    "categories_list",     "category_values_list",   "rules_crud",
    "address_groups_crud", "service_groups_crud",    "category_values_crud", "category_keys_crud",
    "tasks",               "v4_policies",            "v4_address_groups",
    "v4_service_groups",   "v4_categories",          "v4_entity_groups",
    "v4_vpcs",             "v4_policies_crud",       "v4_address_groups_crud",
    "v4_service_groups_crud", "v4_categories_crud",  "v4_entity_groups_crud",
    "v4_vpcs_crud",        "v4_tasks",               "v4_entity_sync_policies",
    "v4_entity_sync_policies_crud", "vms_list", "protection_rules_list", "recovery_plans_list",
    "v4_vms",              "v4_protection_policies", "v4_recovery_plans",
    "v4_recovery_stages"};

enum class FaultKind {
  None,        // latency only
  Status,      // answer with `status` (401 plain text, 410 the FNS-NG body, 429 + Retry-After...)
  Malformed,   // 200 with a body that is not JSON
  Truncate,    // the normal answer, cut in half on the wire (ServerReply::Fault::TruncateBody)
  Drop,        // close the connection without answering (ServerReply::Fault::DropConnection)
  TotalMoved,  // list pages after the first report total_matches + 1 (only offset > 0 matches)
  Empty,       // 200 with entities [] and total_matches 0 (list endpoints only)
  // Hostile answers (list endpoints only): the first entity of the page, changed the way a
  // broken or compromised PC might send it (its name: a policy's spec.name in v3, `name` in v4).
  DuplicateKey,  // the name key given twice, with two values
  Oversized,     // a name of 10 MiB
  ControlChars,  // NUL, ESC, CR and LF in the name (as JSON escapes: the page is valid JSON)
  InvalidUtf8,   // raw bytes 0xff 0xfe in the name (not valid JSON)
  HugeNumber,    // an extra member whose value is 1e999
};

// Whether `kind` is one of the hostile answers (applied to a list page after it is built).
bool is_hostile(FaultKind kind);
// Changes the first entity of a list page (`entities` in v3, `data` in v4) as `kind` says;
// a page without entities is left as it is.
void apply_hostile(FaultKind kind, std::string& body);

std::string_view to_string(FaultKind kind);

struct FaultSpec {
  std::string endpoint = "*";
  FaultKind kind = FaultKind::None;
  int status = 0;           // for FaultKind::Status
  int retry_after_s = 1;    // Retry-After header of a 429
  int latency_ms = 0;       // added before answering (any kind)
  int count = -1;           // matching requests affected; -1 = until cleared
  int after = 0;            // matching requests let through before the fault starts
};

// "ENDPOINT:TOKEN[,TOKEN...]" where TOKEN is key=value (status, latency_ms, retry_after, count,
// after, type) or a bare kind (malformed, truncate, drop, total_moved, empty); or a JSON object.
// Throws std::invalid_argument with a readable message.
FaultSpec parse_fault(std::string_view text);
// A JSON object, an array of objects, or a string in the text form.
std::vector<FaultSpec> parse_faults_json(const nlohmann::json& doc);
nlohmann::json to_json(const FaultSpec& spec);

}  // namespace flowdrift::pcsim
