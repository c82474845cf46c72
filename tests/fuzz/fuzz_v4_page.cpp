// A v4 list page as a Prism Central sends it (GET /api/microseg/v4.x/config/policies, groups,
// categories, entity groups, networking VPCs, datapolicies entity-sync-policies): the flat
// strict scan the poll uses, then each item canonicalized from its raw text (the fast path)
// and from the DOM (the fallback), read as VM coverage records (vmm VMs, protection policies,
// recovery stages) and as an entity sync policy, whose cross-check runs
// against a snapshot built from the same page. The policies also go through a memo twice (the
// second time as a page known by its digest), which must give the DOM path's snapshot. Any
// input must end in a value or an Error, never a crash, a hang or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_scan.hpp"
#include "core/json_strict.hpp"
#include "core/memo_digest.hpp"
#include "drift/coverage_v4.hpp"
#include "drift/entity_sync.hpp"
#include "policy/normalize_v4.hpp"

using flowdrift::json_scan::JsonDoc;

namespace {

// The page as a poll takes it (raw texts into a builder with a memo, then again as a page the
// memo knows by its digest): the DOM path's snapshot both times, or a refusal both times.
std::string through_memo(const std::vector<nlohmann::json>& page,
                         const std::vector<std::string_view>& texts, const std::string& digest,
                         flowdrift::policy::V4PolicyMemo& memo) {
  flowdrift::policy::V4SiteBuilder builder(&memo);
  if (!builder.set_references(page, page, page)) return "";
  const bool known = builder.known_page(digest) != nullptr;
  auto work = known ? builder.begin_known_page(digest)
                    : builder.begin_page(texts, digest, {0, std::vector<std::string>(texts.size())});
  if (!builder.end_page(std::move(work))) return "";
  auto snap = builder.finish();
  return snap ? snap->hash : "";
}

void pages_through_memo(std::string_view text, const flowdrift::json_scan::JsonDoc& scanned,
                        const std::vector<nlohmann::json>& page, const std::string& dom_hash) {
  std::vector<std::string_view> texts;
  const auto listed = scanned.root().find("data");
  for (const auto item : *listed) {
    if (!item.is_object()) return;  // the poll's scan refuses such a page: the DOM path reads it
    texts.push_back(item.text());
  }
  flowdrift::policy::V4PolicyMemo memo;
  const std::string digest = flowdrift::memo_digest(text);
  if (through_memo(page, texts, digest, memo) != dom_hash) __builtin_trap();
  if (through_memo(page, texts, digest, memo) != dom_hash) __builtin_trap();
  if (!dom_hash.empty() && memo.page_hits() != 1) __builtin_trap();
}

// The scan read shallow at depth 2 accepts and refuses as the full scan does, and keeps the
// same text for each item of /data.
void shallow_agrees(std::string_view text, const std::optional<JsonDoc>& full,
                    const std::string& full_error) {
  std::string error;
  const auto shallow = JsonDoc::parse(text, error, 2);
  if (static_cast<bool>(shallow) != static_cast<bool>(full)) __builtin_trap();
  if (!shallow) {
    if (error != full_error) __builtin_trap();
    return;
  }
  const auto a = full->root().find("data");
  const auto b = shallow->root().find("data");
  if (static_cast<bool>(a) != static_cast<bool>(b)) __builtin_trap();
  if (!a || !a->is_array()) return;
  const auto items = a->elements();
  const auto kept = b->elements();
  if (items.size() != kept.size()) __builtin_trap();
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (items[k].text() != kept[k].text()) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string scan_error;
  const auto scanned = JsonDoc::parse(text, scan_error);
  std::string error;
  const auto doc = flowdrift::json_strict::parse(text, error);
  // The two readers agree on what is JSON, and so does the scan read shallow (as
  // flowdriftctl reads a v3 list: each item kept as its text), with the same error.
  if (static_cast<bool>(scanned) != static_cast<bool>(doc)) __builtin_trap();
  shallow_agrees(text, scanned, scan_error);
  if (!doc || !doc->is_object()) return 0;
  const auto items = doc->find("data");
  if (items == doc->end() || !items->is_array()) return 0;
  const std::vector<nlohmann::json> page(items->begin(), items->end());
  // The items as VM coverage records, categories resolved through the page's own extIds.
  flowdrift::drift::CategoryNames categories;
  for (const auto& item : page) {
    if (item.is_object() && item.value("extId", nlohmann::json()).is_string()) {
      categories.emplace(item["extId"].get<std::string>(), "k:v");
    }
  }
  for (const auto& item : page) {
    (void)flowdrift::drift::parse_v4_vm(item, "fuzz", categories);
    (void)flowdrift::drift::parse_v4_protection_policy(item, "fuzz", categories);
    (void)flowdrift::drift::parse_v4_recovery_stage(item, "fuzz", "plan", categories);
  }

  flowdrift::policy::V4SiteBuilder from_text;
  if (from_text.set_references(page, page, page)) {
    const auto listed = scanned->root().find("data");
    for (const auto item : *listed) (void)from_text.add_policy_text(item.text());
    (void)from_text.finish();
  }
  std::string dom_hash;
  flowdrift::policy::V4SiteBuilder from_dom;
  if (from_dom.set_references(page, page, page) && from_dom.add_policies(page)) {
    auto snap = from_dom.finish();
    if (snap) dom_hash = snap->hash;
  }
  pages_through_memo(text, *scanned, page, dom_hash);
  // The items as entity sync policies, cross-checked against the page's groups and
  // categories, with an open item on every entity they name.
  std::vector<flowdrift::drift::EntitySync> synced;
  std::vector<flowdrift::drift::Item> open;
  for (const auto& item : page) {
    auto e = flowdrift::drift::parse_entity_sync(item, "fuzz");
    if (!e) continue;
    open.emplace_back().object = e->entity_name;
    synced.push_back(std::move(*e));
  }
  flowdrift::policy::V4SiteBuilder groups;
  if (!synced.empty() && groups.set_references(page, page, page)) {
    if (auto snapshot = groups.finish()) {
      (void)flowdrift::drift::cross_check({&synced, &open, &*snapshot, &*snapshot, nullptr});
    }
  }
  // The same items as v4.1+ entity groups and VPCs, then as policies referencing them.
  flowdrift::policy::V4SiteData lists;
  lists.entity_groups = page;
  lists.vpcs = page;
  flowdrift::policy::V4SiteBuilder v43;
  if (v43.set_references(lists) && v43.add_policies(page)) (void)v43.finish();
  return 0;
}
