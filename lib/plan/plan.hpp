// Remediation plans (docs/plan.md): the ordered writes that would make a pair's replica (or any
// target site) hold what its source holds, translated through the pair's mappings into the
// target's names and values, each justified by the drift item it fixes. Like `terraform
// plan`, a plan is computed against a complete snapshot of the target and is read before
// anything is written; flowdriftctl apply performs a saved one. Pure: no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/api.hpp"
#include "core/result.hpp"
#include "diff/diff.hpp"
#include "drift/expect.hpp"
#include "policy/model.hpp"
#include "policy/normalize_v3.hpp"
#include "policy/normalize_v4.hpp"
#include "policy/view.hpp"

namespace flowdrift::plan {

inline constexpr const char* kPlanSchema = "flowdrift-plan";
inline constexpr int kPlanVersion = 1;

// What the target holds under each name, besides its canonical snapshot: the identifiers a
// write addresses (v3 UUIDs, v4 extIds), and which names are held twice (never written).
struct TargetObject {
  std::string id;                 // uuid or extId; "" for a v3 category value (named by path)
  std::int64_t spec_version = -1;  // v3 policies: metadata.spec_version as listed
};

struct Target {
  std::string site;
  config::Api api = config::Api::V3;  // V3 or V4
  policy::Snapshot snapshot;
  // Every object on the site by (kind, name), referenced by a policy or not; a category
  // value's name is "key:value".
  std::map<policy::ObjectKey, TargetObject> objects;
  std::set<std::string> category_keys;  // keys that exist on the site
  std::set<policy::ObjectKey> ambiguous;  // names that several objects of one kind hold
  // v4: the API versions the target was polled with; writes use the same ("v4.0" .. "v4.3").
  std::string microseg_version = "v4.0";
  std::string prism_version = "v4.0";
};

// The target as its raw site data describes it (`snapshot`: that data canonicalized).
Target v3_target(const std::string& site, const policy::V3SiteData& data, policy::Snapshot snapshot);
Target v4_target(const std::string& site, const policy::V4SiteData& data, policy::Snapshot snapshot);

enum class Op { Create, Update, Delete };
std::string_view to_string(Op op);
std::optional<Op> parse_op(std::string_view s);

// The drift item a write fixes, as the pair's comparison names it (the source's terms).
struct Reason {
  std::string policy;
  std::string kind;      // diff::DriftKind
  std::string severity;  // diff::Severity
  std::string summary;
};

// The HTTP request a write sends. Its body names what this plan creates by a placeholder
// ("(known after apply)") where the target's identifier is not known yet; apply renders it
// again from `desired` with the identifiers known by then.
struct Request {
  std::string method;
  std::string path;  // from the site's URL: "/api/nutanix/v3/network_security_rules/<uuid>"
  nlohmann::json body;  // null for DELETE
  std::string precondition;  // "spec_version 7", "If-Match: the ETag read before the write"
};

struct Write {
  Op op = Op::Create;
  policy::ObjectKind kind = policy::ObjectKind::Policy;
  // The name on the target. A category key the target lacks is a category write named by the
  // key alone ("Environment"), planned before its values.
  std::string name;
  std::string target_id;  // what the target calls it now ("" for a create)
  std::string desired;    // canonical JSON as the target should hold it ("" for a delete)
  std::string current;    // canonical JSON as the target holds it ("" for a create or unknown)
  std::vector<Reason> reasons;
  Request request;
};

// A difference the plan leaves alone, and why: a live expected difference, or no drift item.
struct Skipped {
  policy::ObjectKind kind = policy::ObjectKind::Policy;
  std::string name;
  std::string why;
};

// A write the plan needs but cannot make: a construct the target's API cannot express, a
// reference its source lacks, a name the target holds twice. A plan with any is an error.
struct Blocked {
  policy::ObjectKind kind = policy::ObjectKind::Policy;
  std::string name;
  std::string why;
};

struct Plan {
  std::string pair;            // "" for a plan from a file to a site
  std::string source;          // site name or file
  std::string source_hash;     // the source snapshot's hash
  std::string target;          // site name or file
  config::Api target_api = config::Api::V3;
  std::string target_hash;     // apply runs only while the target still has this snapshot
  std::int64_t planned_ms = 0;
  std::vector<Write> writes;   // in the order apply performs them
  std::vector<Skipped> skipped;
  std::vector<Blocked> blocked;
  diff::PairStatus status = diff::PairStatus::InSync;  // of the comparison the plan fixes
  int drift_items = 0;  // that comparison's items no live expectation covers
};

struct PlanInput {
  const policy::Snapshot* source = nullptr;  // in the source's terms
  const Target* target = nullptr;
  diff::PairMapping mapping;                 // source -> target
  std::vector<drift::Expectation> expected;  // the pair's; live ones are skipped
  std::int64_t now_ms = 0;
};

// The writes, in dependency order: category keys and values, address groups, service groups,
// entity groups, then policies (create or update); deletes of policies last. Only objects a
// live drift item needs are written, and only policies are ever deleted: a group or category
// value no longer used stays on the target.
Plan make_plan(const PlanInput& in);

// The request of one write to a target over its API, with the target's identifiers; a name
// this plan creates is a placeholder. Error: the API cannot express the object.
Result<Request> render_request(const Write& w, const Target& target);
// The same with the identifiers the target has now: what apply sends, once the writes before
// it have created what it references.
Result<Request> render_now(const Write& w, const Target& target);

// Text for people, and the schema-versioned JSON a plan file holds (apply reads it back).
std::string plan_text(const Plan& plan);
nlohmann::json plan_json(const Plan& plan);
Result<Plan> plan_from_json(const nlohmann::json& doc, const std::string& name);
// SHA-256 of the plan's JSON (what an apply audits).
std::string plan_hash(const Plan& plan);

}  // namespace flowdrift::plan
