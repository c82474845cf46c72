// A v3 list page as a Prism Central sends it (POST .../network_security_rules/list, groups,
// categories, and vms, protection rules and recovery plans for VM coverage): read strictly,
// then every entity canonicalized as a poll does, and read as each coverage record; what the
// store keeps of the coverage read back from its text exactly, and the input itself read as
// stored coverage text (a database file is input too). The rules also go the way a poll takes
// them (raw texts from the flat scan into a builder with a memo, twice: the second time the
// page is known by its digest), which must give the DOM path's verdict and snapshot. Any
// input must end in a value or an Error, never a crash, a hang or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_scan.hpp"
#include "core/json_strict.hpp"
#include "core/memo_digest.hpp"
#include "policy/normalize_v3.hpp"
#include "drift/coverage_v3.hpp"

namespace {

// The page's entities as coverage inputs, reduced as the store keeps them, and back.
void coverage_round_trip(const std::vector<nlohmann::json>& page) {
  flowdrift::drift::CoverageData data;
  for (const auto& e : page) {
    if (auto vm = flowdrift::drift::parse_v3_vm(e, "fuzz")) data.vms.push_back(*vm);
    if (auto rule = flowdrift::drift::parse_v3_protection_rule(e, "fuzz")) data.protections.push_back(*rule);
    if (auto plan = flowdrift::drift::parse_v3_recovery_plan(e, "fuzz")) {
      data.protections.insert(data.protections.end(), plan->begin(), plan->end());
    }
  }
  const auto kept = flowdrift::drift::protected_only(data);
  const auto text = flowdrift::drift::coverage_text(kept);
  const auto back = flowdrift::drift::parse_coverage_text(text, "fuzz");
  if (!back || !(*back == kept)) __builtin_trap();
}

using flowdrift::policy::V3SiteBuilder;

// The snapshot hash of the page's entities as rules ("" when refused), the DOM way.
std::string dom_hash(const std::vector<nlohmann::json>& page) {
  V3SiteBuilder builder;
  if (!builder.set_groups(page, page) || !builder.add_rules(page)) return "";
  for (const auto& key : builder.category_keys()) (void)builder.add_category_values(key, page);
  auto snap = builder.finish();
  return snap ? snap->hash : "";
}

// The same from the entities' raw texts through `memo`, as a poll reads a page.
std::string raw_hash(const std::vector<nlohmann::json>& page, const std::vector<std::string_view>& texts,
                     const std::string& digest, flowdrift::policy::V3RuleMemo& memo) {
  V3SiteBuilder builder(&memo);
  if (!builder.set_groups(page, page)) return "";
  const bool known = builder.known_page(digest) != nullptr;
  auto work = known ? builder.begin_known_page(digest)
                    : builder.begin_page(texts, digest, {0, std::vector<std::string>(texts.size())});
  if (!builder.end_page(std::move(work))) return "";
  for (const auto& key : builder.category_keys()) (void)builder.add_category_values(key, page);
  auto snap = builder.finish();
  return snap ? snap->hash : "";
}

// The raw texts of the entities, as the poll's flat scan finds them (empty when it does not).
std::vector<std::string_view> entity_texts(std::string_view text, std::size_t expected) {
  std::string error;
  const auto doc = flowdrift::json_scan::JsonDoc::parse(text, error);
  if (!doc || !doc->root().is_object()) __builtin_trap();  // json_strict read it
  const auto entities = doc->root().find("entities");
  std::vector<std::string_view> out;
  for (const auto& e : entities->elements()) out.push_back(e.text());
  if (out.size() != expected) __builtin_trap();
  return out;
}

void differential(std::string_view text, const std::vector<nlohmann::json>& page) {
  for (const auto& e : page) {
    if (!e.is_object()) return;  // the scan refuses such a page: the DOM path reads it
  }
  const auto texts = entity_texts(text, page.size());
  const std::string want = dom_hash(page);
  flowdrift::policy::V3RuleMemo memo;
  const std::string digest = flowdrift::memo_digest(text);
  if (raw_hash(page, texts, digest, memo) != want) __builtin_trap();
  if (raw_hash(page, texts, digest, memo) != want) __builtin_trap();  // now a known page
  if (!want.empty() && memo.page_hits() != 1) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)flowdrift::drift::parse_coverage_text(std::string(text), "fuzz");
  std::string error;
  const auto doc = flowdrift::json_strict::parse(text, error);
  if (!doc || !doc->is_object()) return 0;
  const auto entities = doc->find("entities");
  if (entities == doc->end() || !entities->is_array()) return 0;
  const std::vector<nlohmann::json> page(entities->begin(), entities->end());
  coverage_round_trip(page);
  // The same entities as rules, and as address and service groups.
  differential(text, page);
  return 0;
}
