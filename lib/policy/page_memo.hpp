// What earlier polls of one site canonicalized, kept for the next poll (V4PolicyMemo,
// V3RuleMemo): each policy by the SHA-256 of its raw text as listed, and each whole list page
// by the memo digest of the page body (core/memo_digest.hpp, which says why not SHA-256 for both).
// A page whose bytes equal a page of the last complete poll is not parsed at all: the listing takes
// its total and item ids from here, and the builder its canonical policies. A policy whose text is
// unchanged on a page that changed is not parsed either. Everything is valid only under the
// reference context it was built in (the names the policies' references resolve to); begin_poll()
// with another context drops it all. Entries and pages that a complete poll did not list are
// dropped when it finishes (sweep()), so the memo holds one site's policies: the canonical texts
// (shared, not copied, with the snapshot built from them), a key per policy and a few ids per page.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/memo_digest.hpp"
#include "core/result.hpp"
#include "core/sha256.hpp"
#include "policy/canonical_build.hpp"

namespace flowdrift::policy {

// What a listing needs of a page it does not read: the total the page announced and each
// item's id in order ("" where it had none), for the duplicate check.
struct PageFacts {
  std::int64_t total = 0;
  std::vector<std::string> ids;
};
// Shared between the memo and the listings that take a remembered page: its ids are not copied.
using SharedFacts = std::shared_ptr<const PageFacts>;

// `Refs`: what a fetch checks of one policy besides its canonical form (the kinds of object
// it references).
template <class Refs>
struct PolicyMemoState {
  // The memo owns its policies mutably only so that release_texts() can let a text go in place
  // once nothing else holds the policy; everything it hands out is const.
  struct Entry {
    std::shared_ptr<build::BuiltPolicy> policy;
    Refs refs;
    std::uint64_t generation = 0;  // the last poll that listed it
  };
  // A page's entries are pointers into `entries`, whose nodes do not move: sweep() keeps the
  // entries of every page it keeps, and clear() and begin_poll() drop both together.
  struct Page {
    SharedFacts facts;
    std::vector<Entry*> items;  // its policies' entries, in page order
    std::uint64_t generation = 0;
  };

  std::string context;  // the reference context the entries were built in
  std::unordered_map<Sha256, Entry, Sha256Hash> entries;  // SHA-256 of a policy's raw text
  std::unordered_map<std::string, Page> pages;            // memo digest of a page body -> page
  std::uint64_t generation = 0;
  std::uint64_t hits = 0;       // policies taken from the memo
  std::uint64_t misses = 0;     // policies canonicalized (and remembered)
  std::uint64_t page_hits = 0;  // pages taken whole, unread
  // The sizes sweep() left: until something is remembered, nothing is there to sweep.
  std::size_t swept_entries = 0;
  std::size_t swept_pages = 0;
  // Entries remembered with their canonical texts since release_texts() last ran (some may have
  // been swept since): none, and release_texts() has nothing to look for.
  std::size_t remembered_texts = 0;

  // The last complete poll (docs/design/memory.md, step 4). `references`: the digest of the
  // pages of the lists its policies reference ("" when not known); a poll that lists them with
  // the same bytes takes what they built from the builder's memo state without reading them.
  // `snapshot`: what it built, packed without texts, under the digest of everything it was built
  // from (snapshot_input()); a poll built from the same bytes takes it whole.
  std::string references;
  std::string snapshot_input;
  std::optional<PackedSnapshot> snapshot;
  std::uint64_t reference_hits = 0;  // polls that took the references unread
  std::uint64_t snapshot_hits = 0;   // polls that took the last snapshot whole

  // A poll starts with the references it resolved in `ctx`.
  void begin_poll(std::string ctx) {
    if (ctx != context) {
      entries.clear();
      pages.clear();
      context = std::move(ctx);
    }
    ++generation;
  }

  // The facts of a remembered page, or null.
  SharedFacts known(const std::string& digest) const {
    auto it = pages.find(digest);
    if (it == pages.end()) return nullptr;
    return it->second.facts;
  }

  // A remembered page (known() said so) marked as listed by this poll, or null. Its entries are
  // marked by sweep(): a quiet poll does not touch them.
  const Page* take_page(const std::string& digest) {
    auto it = pages.find(digest);
    if (it == pages.end()) return nullptr;
    it->second.generation = generation;
    ++page_hits;
    hits += it->second.items.size();
    return &it->second;
  }

  // The entry of one policy text, unmarked and uncounted (find() does both), or null. Safe on
  // several threads at once while the memo does not change.
  const Entry* peek(const Sha256& key) const {
    auto it = entries.find(key);
    return it == entries.end() ? nullptr : &it->second;
  }

  // The entry of one policy text, marked as listed, or null.
  const Entry* find(const Sha256& key) {
    auto it = entries.find(key);
    if (it == entries.end()) return nullptr;
    it->second.generation = generation;
    ++hits;
    return &it->second;
  }

  void remember(const Sha256& key, std::shared_ptr<build::BuiltPolicy> policy, Refs refs) {
    ++misses;
    if (policy->has_text) ++remembered_texts;
    entries[key] = {std::move(policy), std::move(refs), generation};
  }

  // A page whose policies were all remembered or found under `keys` (in page order).
  void remember_page(std::string digest, PageFacts facts, const std::vector<Sha256>& keys) {
    std::vector<Entry*> items;
    items.reserve(keys.size());
    for (const auto& key : keys) {
      auto e = entries.find(key);
      if (e == entries.end()) return;  // not reached: the page is then read again next time
      items.push_back(&e->second);
    }
    pages[std::move(digest)] = {std::make_shared<const PageFacts>(std::move(facts)),
                                std::move(items), generation};
  }

  // The poll's snapshot was stored, and with it every entry's text (a complete listing swept
  // the others): the entries let their canonical texts go. Returns how many did. A policy only
  // the memo holds lets its text go in place; one still shared (a snapshot being built from it)
  // is replaced by a copy without text, and the other holder keeps the text it has.
  std::size_t release_texts() {
    if (remembered_texts == 0) return 0;  // a quiet poll: no entry has its text
    remembered_texts = 0;
    std::size_t released = 0;
    for (auto& [key, entry] : entries) {
      if (!entry.policy->has_text) continue;
      if (entry.policy.use_count() == 1) {
        build::drop_text(*entry.policy);
      } else {
        entry.policy = std::make_shared<build::BuiltPolicy>(build::without_text(*entry.policy));
      }
      ++released;
    }
    return released;
  }

  // The last complete poll's snapshot when this poll was built from the same bytes (`input`,
  // "" when not known), else nullopt.
  std::optional<Snapshot> same_snapshot(const std::string& input) {
    if (input.empty() || !snapshot || input != snapshot_input) return std::nullopt;
    ++snapshot_hits;
    return snapshot->unpack();
  }

  // The snapshot a complete poll built from `input` ("" when not known: nothing is kept).
  void remember_snapshot(std::string input, const Snapshot& built) {
    snapshot.reset();
    snapshot_input = std::move(input);
    if (!snapshot_input.empty()) snapshot = PackedSnapshot::pack(built);
  }

  // Everything forgotten (the store refused a poll built from it): the next poll builds anew.
  void clear() {
    context.clear();
    entries.clear();
    pages.clear();
    swept_entries = 0;
    swept_pages = 0;
    remembered_texts = 0;
    references.clear();
    snapshot_input.clear();
    snapshot.reset();
  }

  // A complete listing: what it did not list is gone from the site. The entries of the pages it
  // took whole are marked first.
  void sweep() {
    for (auto& [digest, page] : pages) {
      if (page.generation != generation) continue;
      for (Entry* e : page.items) e->generation = generation;
    }
    std::erase_if(entries,
                  [gen = generation](const auto& e) { return e.second.generation != gen; });
    std::erase_if(pages, [gen = generation](const auto& p) { return p.second.generation != gen; });
    swept_entries = entries.size();
    swept_pages = pages.size();
  }

  // sweep() after a complete listing that same_snapshot() matched, unless nothing was remembered
  // since the last sweep: the memo then holds exactly what the matched snapshot was built from
  // (only remembering adds, and only sweep() and clear() remove), so nothing is gone.
  void sweep_if_grown() {
    if (entries.size() != swept_entries || pages.size() != swept_pages) sweep();
  }
};

// The state of one page of raw policy texts on its way into a site builder (V4PolicyPageWork,
// V3RulePageWork): begun (memo lookups), run (the others parsed and canonicalized, possibly
// on another thread), ended (slots in listing order, the memo updated). `Site` is what the
// policies resolve their references against, shared read-only with the builder.
template <class Site, class Refs>
struct PageWorkCore {
  using Memo = PolicyMemoState<Refs>;
  struct Pending {
    std::size_t slot = 0;   // position on the page
    std::string_view text;  // raw policy JSON: in `owned`, or the caller's when borrowed
    Sha256 key{};           // memo key, by begin() or run(); unset without a memo
    std::shared_ptr<build::BuiltPolicy> policy;  // for the memo: slots take it as const
    Refs refs;
    bool hit = false;  // found in the memo by run()
  };
  std::shared_ptr<const Site> site;
  std::size_t base = 0;  // listing index of the page's first policy
  std::vector<std::shared_ptr<const build::BuiltPolicy>> slots;  // hits filled when begun
  std::vector<Refs> refs;                                        // per slot
  std::vector<Sha256> keys;  // per slot, when the page is to be remembered whole
  std::string digest;        // the page body's memo digest ("": not remembered)
  PageFacts facts;
  const typename Memo::Page* known = nullptr;  // a page taken whole: slots stay empty
  std::vector<Pending> pending;
  std::string owned;         // the pending texts, one after another, unless borrowed
  bool hash_on_run = false;  // the pending texts' memo keys are left to run()
  const Memo* lookup_on_run = nullptr;  // and their lookups, in this memo (a batch: see begin)
  std::size_t done = 0;      // pending items run() has finished
  std::optional<Error> error;

  // For `count` policies from listing index `first`; false (and `error`, which the builder's
  // end_page reports) when the builder has no references yet.
  bool start(bool ready, std::shared_ptr<const Site> s, std::size_t first, std::size_t count,
             const char* not_ready) {
    if (!ready) {
      error = make_error(ErrorReason::Other, not_ready);
      return false;
    }
    site = std::move(s);
    base = first;
    slots.resize(count);
    refs.resize(count);
    return true;
  }

  // A page the memo holds whole (Memo::take_page), after start() with no slots; an error when
  // the memo no longer has it (not reached: known() said it had).
  void begin_known(const typename Memo::Page* page) {
    known = page;
    if (page == nullptr) error = make_error(ErrorReason::Other, "a remembered page is gone");
  }

  // The texts the memo has are taken from it, the others wait for run(): copied, in one
  // buffer, unless `borrowed` (the caller keeps them valid until the page has run). In a
  // `batch` the caller begins its pages, runs them, and ends them only once all have run, so
  // the memo does not change while any runs: run() hashes and looks each text up itself, on
  // the threads that run the pages, and end() marks what it found.
  void begin(Memo* memo, const std::vector<std::string_view>& texts, std::string page_digest,
             PageFacts page_facts, bool borrowed, bool batch) {
    const bool whole = memo != nullptr && !page_digest.empty();
    if (whole) {
      digest = std::move(page_digest);
      facts = std::move(page_facts);
      keys.resize(texts.size());
    }
    // An empty memo has nothing to find: the texts are hashed by run(), which may be on another
    // thread (a site's first poll, flowdriftctl's first file).
    const bool lookup = memo != nullptr && !memo->entries.empty();
    hash_on_run = memo != nullptr && (!lookup || batch);
    if (lookup && batch) lookup_on_run = memo;
    for (std::size_t k = 0; k < texts.size(); ++k) {
      Sha256 key{};
      if (lookup && !batch) {
        key = sha256(texts[k]);
        if (whole) keys[k] = key;
        if (const auto* hit = memo->find(key)) {
          slots[k] = hit->policy;
          refs[k] = hit->refs;
          continue;
        }
      }
      pending.push_back({k, texts[k], key, nullptr, {}});
    }
    if (!borrowed) own_texts();
  }

  // The pending texts copied into `owned`: one allocation for the page, not one a policy.
  void own_texts() {
    std::size_t total = 0;
    for (const auto& item : pending) total += item.text.size();
    owned.reserve(total);
    for (const auto& item : pending) owned.append(item.text);
    std::size_t at = 0;
    for (auto& item : pending) {
      item.text = std::string_view(owned).substr(at, item.text.size());
      at += item.text.size();
    }
  }

  // How many policies the page holds.
  std::size_t size() const { return known != nullptr ? known->items.size() : slots.size(); }

  // Runs `canon(text, listing index, site)` -> Result<std::pair<BuiltPolicy, Refs>> on each
  // pending text until one fails.
  template <class Canon>
  void run(Canon canon) {
    for (; done < pending.size() && !error; ++done) {
      auto& item = pending[done];
      if (hash_on_run) {
        item.key = sha256(item.text);
        if (!keys.empty()) keys[item.slot] = item.key;
      }
      if (const auto* found = lookup_on_run ? lookup_on_run->peek(item.key) : nullptr) {
        item.policy = found->policy;
        item.refs = found->refs;
        item.hit = true;
        item.text = {};
        continue;
      }
      auto built = canon(item.text, base + item.slot, *site);
      if (!built) {
        error = built.error();
        return;
      }
      item.policy = std::make_shared<build::BuiltPolicy>(std::move(built->first));
      item.refs = std::move(built->second);
      item.text = {};
    }
    if (done == pending.size()) std::string().swap(owned);
  }

  // After run(): every slot filled, and the memo told what was canonicalized (and the page,
  // when it is to be remembered whole).
  void end(Memo* memo) {
    for (auto& item : pending) {
      slots[item.slot] = item.policy;
      refs[item.slot] = item.refs;
      if (memo == nullptr) continue;
      if (item.hit) {
        memo->find(item.key);  // marked as listed, counted as begin() counts a hit
      } else {
        memo->remember(item.key, std::move(item.policy), item.refs);
      }
    }
    if (memo != nullptr && !digest.empty()) {
      memo->remember_page(std::move(digest), std::move(facts), keys);
    }
  }
};

// The listing side of a site builder (V3SiteBuilder, V4SiteBuilder): the policies added so far
// in listing order, how many more the pages begun and not yet ended hold, and the memo. `site`
// arguments are what the builder's policies resolve against, null before its references are
// set (a page then fails with `not_ready`).
template <class Site, class Refs>
struct PolicyListing {
  using Work = PageWorkCore<Site, Refs>;
  using Memo = PolicyMemoState<Refs>;
  Memo* memo = nullptr;
  // In listing order; the slots of pages taken whole are null until materialize().
  std::vector<std::shared_ptr<const build::BuiltPolicy>> policies;
  std::size_t begun = 0;
  // The pages taken whole, each with the listing index of its first policy.
  std::vector<std::pair<std::size_t, const typename Memo::Page*>> known_pages;
  // The pages begun, by the memo digests of their bodies in listing order; false once one had none.
  std::vector<std::string> digests;
  bool digests_known = true;

  void begin(Work& w, std::shared_ptr<const Site> site, const char* not_ready,
             const std::vector<std::string_view>& texts, std::string digest, PageFacts facts,
             bool borrowed = false, bool batch = false) {
    const bool ready = site != nullptr;  // before the move below
    if (!w.start(ready, std::move(site), policies.size() + begun, texts.size(), not_ready)) {
      return;
    }
    begun += texts.size();
    note_page(digest);
    w.begin(memo, texts, std::move(digest), std::move(facts), borrowed, batch);
  }

  SharedFacts known(bool ready, const std::string& digest) const {
    if (memo == nullptr || !ready) return nullptr;
    return memo->known(digest);
  }

  // A page the memo holds whole: its policies are not touched unless finish() needs them
  // (materialize()), only its entries' Refs when it ends.
  void begin_known(Work& w, std::shared_ptr<const Site> site, const char* not_ready,
                   const std::string& digest) {
    const auto* page = memo != nullptr ? memo->take_page(digest) : nullptr;
    const bool ready = site != nullptr;  // before the move below
    if (!w.start(ready, std::move(site), policies.size() + begun, 0, not_ready)) return;
    w.begin_known(page);
    if (page == nullptr) return;
    begun += page->items.size();
    note_page(digest);
  }

  // After the work ran: its policies appended in listing order and the memo updated, each
  // policy's Refs handed to `count`. The work's error, or `out_of_turn` for a page ended out of
  // the order the pages were begun in (or begun against another `current` site).
  template <class Count>
  Result<void> end(Work& w, const Site* current, const char* out_of_turn, Count count) {
    if (w.error) return *w.error;
    if (w.site.get() != current || w.base != policies.size() || begun < w.size()) {
      return make_error(ErrorReason::Other, out_of_turn);
    }
    begun -= w.size();
    if (w.known != nullptr) {
      known_pages.emplace_back(policies.size(), w.known);
      policies.resize(policies.size() + w.known->items.size());
      for (const auto* entry : w.known->items) count(entry->refs);
      return {};
    }
    w.end(memo);
    for (std::size_t k = 0; k < w.slots.size(); ++k) {
      policies.push_back(std::move(w.slots[k]));
      count(w.refs[k]);
    }
    return {};
  }

  // The policies of the pages taken whole, put in their slots: before anything reads
  // `policies` (the pages stay in the memo until then: sweep() keeps those this poll took).
  void materialize() {
    for (const auto& [first, page] : known_pages) {
      for (std::size_t k = 0; k < page->items.size(); ++k) {
        policies[first + k] = page->items[k]->policy;
      }
    }
    known_pages.clear();
  }

  // The listing restarted: pages begun and not ended are abandoned.
  void restart() {
    policies.clear();
    known_pages.clear();
    begun = 0;
    digests.clear();
    digests_known = true;
  }

  // The digest of everything a snapshot is built from: `references` (the digest of the
  // referenced lists' pages), the policy pages in listing order and `after` (what a v3 site
  // lists after its rules). "" when any of them is not known.
  std::string snapshot_input(const std::string& references, const std::string& after) const {
    if (references.empty() || after.empty() || !digests_known) return {};
    std::string text = references + '\n';
    for (const auto& d : digests) text += d + '\n';
    return memo_digest(text + after);
  }

 private:
  void note_page(const std::string& digest) {
    if (digest.empty()) digests_known = false;
    digests.push_back(digest);
  }
};

}  // namespace flowdrift::policy
