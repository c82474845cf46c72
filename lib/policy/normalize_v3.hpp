// v3 API data (as fetched, entity JSON exactly as Prism Central returned it) to the canonical
// model. Pure: no I/O.
#pragma once

#include <map>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "policy/model.hpp"
#include "policy/page_memo.hpp"

namespace flowdrift::policy {

// Everything one complete v3 poll returned: the `entities` of every page, concatenated.
struct V3SiteData {
  std::vector<nlohmann::json> rules;           // network_security_rules/list entities
  std::vector<nlohmann::json> address_groups;  // address_groups/list entities
  std::vector<nlohmann::json> service_groups;  // service_groups/list entities
  std::vector<nlohmann::json> category_keys;   // categories/list entities
  // categories/{key}/list entities, by key; fetched for every key that any rule references
  std::map<std::string, std::vector<nlohmann::json>> category_values;
};

// What a fetch checks of one listed rule besides its canonical form: whether its allow lists
// use address or service groups (a group list that comes back empty while rules use some is
// not a complete site), and the category keys it references (their values are listed next).
struct V3RuleReferences {
  bool address_groups = false;
  bool service_groups = false;
  std::vector<std::string> category_keys;
};

// How many rules of a page use each kind of group.
struct V3PageReferences {
  std::size_t address_groups = 0;
  std::size_t service_groups = 0;
};

// Rules of one v3 site kept from one poll to the next (policy/page_memo.hpp): a page listed
// with the same bytes as last time is not read, a rule listed with the same text is not parsed.
// The reference context is the uuid -> name maps of the address and service groups. Used by
// one V3SiteBuilder at a time; not thread-safe.
class V3RuleMemo {
 public:
  V3RuleMemo();
  ~V3RuleMemo();
  V3RuleMemo(const V3RuleMemo&) = delete;
  V3RuleMemo& operator=(const V3RuleMemo&) = delete;

  std::size_t size() const;          // rules held
  std::uint64_t hits() const;        // rules taken from the memo, since construction
  std::uint64_t misses() const;      // rules canonicalized (and remembered)
  std::uint64_t page_hits() const;   // pages taken whole without reading them
  std::uint64_t reference_hits() const;  // polls that took the group lists unread
  std::uint64_t snapshot_hits() const;   // polls that took the last complete snapshot whole

  // After the poll built from the memo was stored: the rules let their canonical text go
  // (the store has it by hash; docs/design/memory.md). Returns how many did.
  std::size_t release_texts();
  // Everything forgotten: the store refused a poll built from the memo.
  void clear();

 private:
  friend class V3SiteBuilder;
  struct State;
  std::unique_ptr<State> s_;
};

// One page of raw rule texts on its way into a V3SiteBuilder, in the three steps of
// V4PolicyPageWork (normalize_v4.hpp): begin_page (memo lookups), run (parse and canonicalize
// the others; may run on another thread), end_page (listing order kept, memo updated).
class V3RulePageWork {
 public:
  V3RulePageWork();
  ~V3RulePageWork();
  V3RulePageWork(V3RulePageWork&&) noexcept;
  V3RulePageWork& operator=(V3RulePageWork&&) noexcept;

  void run();
  std::size_t pending() const;

 private:
  friend class V3SiteBuilder;
  struct State;
  std::unique_ptr<State> s_;
};

// Canonicalizes a v3 site piece by piece, so that a poll holds one page of raw JSON at a time
// rather than the whole site: groups first (policies resolve their references against them),
// then the rule pages as they arrive, then the values of the category keys the rules used.
// Errors are Malformed and name the entity and the JSON path, as canonicalize_v3's.
class V3SiteBuilder {
 public:
  // With a memo, pages and rules seen by earlier polls of the same site are reused.
  explicit V3SiteBuilder(V3RuleMemo* memo);
  V3SiteBuilder();
  ~V3SiteBuilder();
  V3SiteBuilder(V3SiteBuilder&&) noexcept;
  V3SiteBuilder& operator=(V3SiteBuilder&&) noexcept;

  // address_groups/list and service_groups/list entities; before any rules.
  Result<void> set_groups(const std::vector<nlohmann::json>& address_groups,
                          const std::vector<nlohmann::json>& service_groups);
  // The same, the lists' pages having the memo digest `digest` ("" when not known): a later poll
  // with the same digest takes what they built from the memo (reuse_groups).
  Result<void> set_groups(const std::vector<nlohmann::json>& address_groups,
                          const std::vector<nlohmann::json>& service_groups, std::string digest);
  // The groups as the last complete poll built them, when their pages had the same `digest`
  // then (and the memo has them): true, and set_groups() is not needed.
  bool reuse_groups(const std::string& digest);
  // The next network_security_rules/list entities, in listing order.
  Result<void> add_rules(const std::vector<nlohmann::json>& page);
  // The next rules given as the raw JSON texts of a page (objects, as listed), as
  // V4SiteBuilder's pages: begun, run, ended in the order begun. With `digest` (the memo digest
  // of the page body) the page is remembered whole once it has ended. end_page fails, naming
  // the rule by its place in the listing, for the first rule that does not canonicalize.
  V3RulePageWork begin_page(const std::vector<std::string_view>& texts, std::string digest = {},
                            PageFacts facts = {});
  // A page of a batch, of texts that stay valid until it has ended (a file, or a buffer of
  // it): not copied. The caller begins the batch's pages, runs them (on any threads), and ends
  // them only once all have run: the memo lookups then happen in run(), beside the
  // canonicalization, rather than here.
  V3RulePageWork begin_borrowed_page(const std::vector<std::string_view>& texts);
  Result<V3PageReferences> end_page(V3RulePageWork work);
  // A page the memo remembers by the memo digest of its body: its facts, or null.
  SharedFacts known_page(const std::string& digest) const;
  // Begins that page from the memo: nothing to run. Call only after known_page() found it.
  V3RulePageWork begin_known_page(const std::string& digest);
  // The listing restarted: forget the rules added so far.
  void restart_rules();
  std::size_t rule_count() const;
  // Category keys the rules added so far reference, sorted.
  std::vector<std::string> category_keys() const;
  // The "key:value" categories the rules added so far name in their filters, sorted: what a v3
  // rules file, which defines none, takes as its site's (flowdriftctl diff).
  std::vector<std::string> rule_categories() const;
  // categories/{key}/list entities.
  Result<void> add_category_values(const std::string& key,
                                   const std::vector<nlohmann::json>& values);
  // The values of every key in category_keys() as the last complete poll added them, when
  // their pages had the same `digest` then: true, and add_category_values() is not needed.
  bool reuse_category_values(const std::string& digest);
  // Every key's values were added, from pages with the memo digest `digest` ("" when not known).
  void category_values_added(std::string digest);
  // The snapshot; call once. With a memo, a poll whose groups, rule pages and category values
  // had the bytes of the last complete poll's takes its snapshot (without texts) instead of
  // assembling it again.
  Result<Snapshot> finish();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Canonicalizes a whole site. Returns Malformed (naming the entity and the JSON path) if an
// entity does not have the documented shape. References that do not resolve on the site are
// not errors: the policy keeps a `dangling:<uuid>` marker and a Finding is recorded.
Result<Snapshot> canonicalize_v3(const V3SiteData& site);

// How many of `rules` (v3 rule entities, any shape) have an allow-list entry with a non-empty
// `key` list ("address_group_inclusion_list" or "service_group_list").
std::size_t rules_referencing(const std::vector<nlohmann::json>& rules, const char* key);

// The category keys referenced by a set of v3 rule entities (target groups, peers, isolation
// groups), sorted; the collector fetches the values of exactly these keys.
std::vector<std::string> referenced_category_keys(const std::vector<nlohmann::json>& rules);

}  // namespace flowdrift::policy
