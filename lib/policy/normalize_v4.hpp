// v4 microseg API data (as fetched, objects exactly as Prism Central returned them) to the same
// canonical model as v3 (docs/canonical-model.md): a v3 site and a v4 site holding the same
// intent give identical canonical JSON and hashes. Pure: no I/O.
#pragma once

#include <cstdint>
#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "policy/model.hpp"
#include "policy/page_memo.hpp"

namespace flowdrift::policy {

// Everything one complete v4 poll returned: the `data` items of every page, concatenated.
// Paths name the version `v4.x` the site was polled with (prism/v4_client.hpp picks the newest
// the PC serves); the lists a version lacks stay empty (entity groups before v4.1).
struct V4SiteData {
  std::vector<nlohmann::json> policies;        // /api/microseg/v4.x/config/policies
  std::vector<nlohmann::json> address_groups;  // /api/microseg/v4.x/config/address-groups
  std::vector<nlohmann::json> service_groups;  // /api/microseg/v4.x/config/service-groups
  std::vector<nlohmann::json> categories;      // /api/prism/v4.x/config/categories
  std::vector<nlohmann::json> entity_groups;   // /api/microseg/v4.x/config/entity-groups (v4.1+)
  std::vector<nlohmann::json> vpcs;            // /api/networking/v4.x/config/vpcs
};

// The kinds of object a v4 policy references by extId.
enum class V4Reference { AddressGroup, ServiceGroup, Category, EntityGroup, Vpc };

// How many of `policies` (v4 policy objects, any shape) reference at least one object of
// `kind` in their rules: a list of that kind that comes back empty while policies use it is
// not a complete site (the fetch and flowdriftctl refuse it).
std::size_t policies_referencing(const std::vector<nlohmann::json>& policies, V4Reference kind);

// Canonical v4 policies of one site kept from one poll to the next, so that a policy listed
// with the same bytes as before is neither parsed nor canonicalized again. An entry is keyed by
// the SHA-256 of the policy's raw JSON text as listed, and is valid only under the reference
// context it was built in: canonicalization resolves extIds to address/service group names and
// category key:values, so when any of those maps changes (a group renamed, a category value
// added or removed) every entry is dropped. A group's contents are not part of a policy's
// canonical form (the group is its own object), so a changed group keeps the entries. Entries
// not listed by a complete poll are dropped when it finishes: the memo holds at most one
// site's policies (their canonical text, about the size of the site's snapshot).
// Used by one V4SiteBuilder at a time; not thread-safe.
class V4PolicyMemo {
 public:
  V4PolicyMemo();
  ~V4PolicyMemo();
  V4PolicyMemo(const V4PolicyMemo&) = delete;
  V4PolicyMemo& operator=(const V4PolicyMemo&) = delete;

  std::size_t size() const;  // entries held
  std::uint64_t hits() const;    // policies taken from the memo, since construction
  std::uint64_t misses() const;  // policies canonicalized (and remembered), since construction
  std::uint64_t page_hits() const;  // pages taken whole without reading them (page_memo.hpp)
  std::uint64_t reference_hits() const;  // polls that took the referenced lists unread
  std::uint64_t snapshot_hits() const;   // polls that took the last complete snapshot whole

  // After the poll built from the memo was stored: the policies let their canonical text go
  // (the store has it by hash; docs/design/memory.md). Returns how many did.
  std::size_t release_texts();
  // Everything forgotten: the store refused a poll built from the memo.
  void clear();

 private:
  friend class V4SiteBuilder;
  struct State;
  std::unique_ptr<State> s_;
};

// What a fetch checks of one listed policy: the kinds of object it references (an empty
// address-group list while policies use some is not a complete site).
struct V4PolicyReferences {
  bool address_groups = false;
  bool service_groups = false;
  bool categories = false;
  bool entity_groups = false;
  bool vpcs = false;
};

// How many policies of a page reference each kind of object.
struct V4PageReferences {
  std::size_t address_groups = 0;
  std::size_t service_groups = 0;
  std::size_t categories = 0;
  std::size_t entity_groups = 0;
  std::size_t vpcs = 0;
};

// One page of raw policy texts on its way into a V4SiteBuilder, in three steps so that the
// costly middle one can run on another thread while the event loop goes on:
//   auto work = builder.begin_page(texts);  // memo lookups; the other texts are copied in
//   work.run();                             // parse and canonicalize those; touches only `work`
//   auto refs = builder.end_page(std::move(work));  // listing order kept, memo updated
// A work item owns all it uses (the texts it must canonicalize, a shared immutable copy of the
// builder's site index), so it may run on another thread and even outlive the builder.
class V4PolicyPageWork {
 public:
  V4PolicyPageWork();
  ~V4PolicyPageWork();
  V4PolicyPageWork(V4PolicyPageWork&&) noexcept;
  V4PolicyPageWork& operator=(V4PolicyPageWork&&) noexcept;

  // Parses and canonicalizes the policies the memo did not have; stops at the first failure
  // (end_page reports it). Thread-safe with respect to everything but this object.
  void run();
  std::size_t pending() const;  // policies run() canonicalizes

 private:
  friend class V4SiteBuilder;
  struct State;
  std::unique_ptr<State> s_;
};

// Canonicalizes a v4 site piece by piece (as V3SiteBuilder): groups and categories first,
// then the policy pages as they arrive, so a poll holds one page of raw JSON at a time.
class V4SiteBuilder {
 public:
  // With a memo, add_policy_text() reuses what earlier polls of the same site canonicalized.
  explicit V4SiteBuilder(V4PolicyMemo* memo);
  V4SiteBuilder();
  ~V4SiteBuilder();
  V4SiteBuilder(V4SiteBuilder&&) noexcept;
  V4SiteBuilder& operator=(V4SiteBuilder&&) noexcept;

  // The address-groups, service-groups and categories lists; before any policies.
  Result<void> set_references(const std::vector<nlohmann::json>& address_groups,
                              const std::vector<nlohmann::json>& service_groups,
                              const std::vector<nlohmann::json>& categories);
  // Every referenced list of `lists` (all but its policies, which are ignored).
  Result<void> set_references(const V4SiteData& lists);
  // The same, the lists' pages having the memo digest `digest` ("" when not known): a later poll
  // with the same digest takes what they built from the memo (reuse_references).
  Result<void> set_references(const V4SiteData& lists, std::string digest);
  // The referenced lists as the last complete poll built them, when their pages had the same
  // `digest` then (and the memo has them): true, and set_references() is not needed.
  bool reuse_references(const std::string& digest);
  // The next policies of the listing, in listing order.
  Result<void> add_policies(const std::vector<nlohmann::json>& page);
  // The next policy of the listing given as its raw JSON text (an object, as listed): taken
  // from the memo when the same text was canonicalized under the same references before, else
  // parsed and canonicalized (and remembered). Malformed when the text is not a JSON object or
  // the policy does not canonicalize, naming it as add_policies() does.
  Result<V4PolicyReferences> add_policy_text(std::string_view text);
  // The same for a page of texts, split as V4PolicyPageWork describes. Several pages may be
  // begun before the first is ended; end_page() takes them in the order they were begun (run or
  // not: it runs what is left) and fails as add_policy_text() does for the first policy of the
  // page that does not canonicalize. A page ended out of turn is refused.
  V4PolicyPageWork begin_page(const std::vector<std::string_view>& texts);
  // The same, remembering the page whole under `digest` (the memo digest of its body) with the
  // facts the listing took from it, once it has ended (page_memo.hpp).
  V4PolicyPageWork begin_page(const std::vector<std::string_view>& texts, std::string digest,
                              PageFacts facts);
  // A page whose body the memo remembers by its memo digest `digest`: its facts, so the listing
  // need not read it, or null (always, without a memo or before the references).
  SharedFacts known_page(const std::string& digest) const;
  // Begins that page from the memo: nothing to run. Call only after known_page() found it.
  V4PolicyPageWork begin_known_page(const std::string& digest);
  Result<V4PageReferences> end_page(V4PolicyPageWork work);
  // The listing restarted: forget the policies added so far.
  void restart_policies();
  std::size_t policy_count() const;
  // The snapshot; call once, after every page begun has ended. With a memo, a poll whose
  // referenced lists and policy pages had the bytes of the last complete poll's takes its
  // snapshot (without texts) instead of assembling it again.
  Result<Snapshot> finish();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Canonicalizes a whole v4 site: extIds of categories resolved to "key:value", of address and
// service groups to names (their contents kept as referenced objects); $objectType, $reserved,
// $unknownFields, links, extIds, tenantId and timestamps dropped; inbound/outbound derived from
// src*/dest* fields; INTRA_GROUP rules become intra_group. Same error and finding rules as v3.
Result<Snapshot> canonicalize_v4(const V4SiteData& site);

}  // namespace flowdrift::policy
