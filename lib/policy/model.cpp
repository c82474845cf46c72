#include "policy/model.hpp"

#include <algorithm>
#include <array>
#include <tuple>

#include "core/sha256.hpp"

namespace flowdrift::policy {
namespace {

// Length-prefixed so that no name (which may hold any character) can make two different
// object lists serialize to the same bytes.
void append_field(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
}

}  // namespace

std::size_t Snapshot::count(ObjectKind kind) const {
  return static_cast<std::size_t>(std::count_if(
      objects.begin(), objects.end(), [kind](const CanonicalObject& o) { return o.kind == kind; }));
}

bool Snapshot::has_all_texts() const {
  return std::all_of(objects.begin(), objects.end(),
                     [](const CanonicalObject& o) { return o.has_text; });
}

std::string snapshot_hash(const std::vector<CanonicalObject>& objects, int canon_version) {
  // Sort a view rather than trusting the caller's order: the hash must depend only on content.
  // A snapshot's objects are sorted by kind and name, so gathered kind by kind in the order of
  // the kinds' names they are already in order, and the sort is only checked.
  std::array kinds{ObjectKind::Policy, ObjectKind::AddressGroup, ObjectKind::ServiceGroup,
                   ObjectKind::Category, ObjectKind::EntityGroup};
  std::sort(kinds.begin(), kinds.end(),
            [](ObjectKind a, ObjectKind b) { return to_string(a) < to_string(b); });
  std::vector<std::tuple<std::string_view, std::string_view, std::string_view>> triples;
  triples.reserve(objects.size());
  for (const ObjectKind kind : kinds) {
    for (const auto& o : objects) {
      if (o.kind == kind) triples.emplace_back(to_string(o.kind), o.name, o.hash);
    }
  }
  if (triples.size() != objects.size()) {  // a kind not listed above: every object, then sorted
    triples.clear();
    for (const auto& o : objects) triples.emplace_back(to_string(o.kind), o.name, o.hash);
  }
  if (!std::is_sorted(triples.begin(), triples.end())) std::sort(triples.begin(), triples.end());

  std::string buf = "flowdrift-snapshot\ncanon_version=" + std::to_string(canon_version) + "\n";
  buf.reserve(buf.size() + triples.size() * 128);
  for (const auto& [kind, name, hash] : triples) {
    append_field(buf, kind);
    buf += ' ';
    append_field(buf, name);
    buf += ' ';
    append_field(buf, hash);
    buf += '\n';
  }
  return sha256_hex(buf);
}

std::optional<std::string> too_long(std::string_view key, std::size_t bytes) {
  const std::size_t limit = max_string_bytes(key);
  if (bytes <= limit) return std::nullopt;
  return "string of " + std::to_string(bytes) + " bytes, longer than the limit of " +
         std::to_string(limit);
}

}  // namespace flowdrift::policy
