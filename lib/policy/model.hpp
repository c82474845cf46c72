// The canonical, site-independent model (docs/canonical-model.md, docs/domain.md):
// what one site said in one complete poll, with everything site-specific removed or resolved,
// so the same intent on two Prism Centrals gives byte-identical canonical JSON and hashes.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace flowdrift::policy {

// Bump when the canonical form changes; a new version re-canonicalizes and is not drift.
inline constexpr int kCanonVersion = 4;  // 2: one-key category sets always match "all"
                                          // 3: every value of a referenced category key
                                          // 4: the v4.3 constructs (entity groups, VPCs, ...)

// Bounds on the strings a site may send (docs/security.md#bounds). Prism Central itself allows
// 64 characters for a name and 1,000 for a description; these are well above that, and a
// longer string fails the poll as malformed, naming the field, rather than reaching the store,
// the logs and metric labels.
inline constexpr std::size_t kMaxNameBytes = 1024;       // names, category keys and values
inline constexpr std::size_t kMaxTextBytes = 16 * 1024;  // descriptions, every other string
constexpr std::size_t max_string_bytes(std::string_view key) {
  return key == "name" || key == "key" || key == "value" ? kMaxNameBytes : kMaxTextBytes;
}
// "string of N bytes, longer than the limit of M" when a `key` string of `bytes` is over its
// bound; both normalizers report it at the field's path.
std::optional<std::string> too_long(std::string_view key, std::size_t bytes);

// Declaration order is the snapshot's object order (and part of its hash): new kinds go last.
enum class ObjectKind { Policy, AddressGroup, ServiceGroup, Category, EntityGroup };

constexpr std::string_view to_string(ObjectKind k) {
  switch (k) {
    case ObjectKind::Policy: return "policy";
    case ObjectKind::AddressGroup: return "address_group";
    case ObjectKind::ServiceGroup: return "service_group";
    case ObjectKind::Category: return "category";
    case ObjectKind::EntityGroup: return "entity_group";
  }
  return "policy";
}

// One canonical object: a policy, or an address group / service group / category value that a
// policy references. Content addressed by `hash` = SHA-256 of `json`.
struct CanonicalObject {
  ObjectKind kind = ObjectKind::Policy;
  std::string name;  // match key across sites; "key:value" for categories
  std::string json;  // canonical JSON text: compact, keys sorted, order-free lists sorted
  std::string hash;  // lowercase hex SHA-256 of `json`
  // Policy summary, so callers need not re-parse `json` (empty for other kinds).
  std::string policy_type;  // application | isolation | quarantine | vdi
  std::string mode;         // enforce | monitor | save
  // False when `json` was let go after it was stored (a site's memo keeps no policy text, see
  // docs/design/memory.md): the store has the text by `hash`, and readers load it from there.
  bool has_text = true;
};

// Something a human must know about a site's data that does not make the poll incomplete,
// e.g. a policy referencing an address group that does not exist on its own site.
struct Finding {
  std::string kind;    // "dangling_reference" | "duplicate_name"
  std::string object;  // name of the policy concerned
  std::string detail;  // e.g. "address_group uuid 1234... not found"

  // Ordered by (kind, object, detail): Snapshot::findings is sorted this way.
  auto operator<=>(const Finding&) const = default;
};

struct Snapshot {
  std::vector<CanonicalObject> objects;  // sorted by (kind, name); names unique per kind
  std::vector<Finding> findings;         // sorted
  std::string hash;                      // snapshot_hash(objects, kCanonVersion)
  int canon_version = kCanonVersion;

  std::size_t count(ObjectKind kind) const;
  // Every object holds its text (none was let go); otherwise the store has the rest.
  bool has_all_texts() const;
};

// The texts `snapshot`'s objects let go, copied from `from`'s objects of the same hash (a hash
// is the SHA-256 of the text: equal hashes, equal texts). Returns how many are still without.
std::size_t fill_texts(Snapshot& snapshot, const Snapshot& from);
// How many of the texts `snapshot`'s objects let go `from` has none for: 0 when a reader of
// both (SnapshotView with `from` as its texts) finds every text.
std::size_t texts_missing(const Snapshot& snapshot, const Snapshot& from);
// The texts `snapshot`'s objects hold, by hash.
std::unordered_map<std::string_view, const std::string*> texts_by_hash(const Snapshot& snapshot);

// A snapshot without its texts, packed to about 60 bytes an object (names back to back, hashes
// as raw digests, types and modes as indexes) instead of about 500: what a site's memo keeps of
// the last complete poll (docs/design/memory.md, step 4).
class PackedSnapshot {
 public:
  // nullopt when `snapshot` does not pack: a hash that is not 64 lowercase hex digits, or more
  // than 255 distinct policy types and modes.
  static std::optional<PackedSnapshot> pack(const Snapshot& snapshot);
  // The snapshot again, every object with has_text false.
  Snapshot unpack() const;
  std::size_t size() const { return objects_.size(); }

 private:
  struct Object {
    std::uint32_t name_end = 0;  // in names_; the name starts where the last one ended
    ObjectKind kind = ObjectKind::Policy;
    std::uint8_t policy_type = 0;  // in words_
    std::uint8_t mode = 0;
    std::array<unsigned char, 32> hash{};
  };
  std::string names_;
  std::vector<Object> objects_;
  std::vector<std::string> words_;
  std::vector<Finding> findings_;
  std::string hash_;
  int canon_version_ = kCanonVersion;
};

// SHA-256 over the canon version and the sorted (kind, name, hash) triples.
std::string snapshot_hash(const std::vector<CanonicalObject>& objects, int canon_version);

}  // namespace flowdrift::policy
