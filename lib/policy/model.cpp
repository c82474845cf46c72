#include "policy/model.hpp"

#include <algorithm>
#include <array>
#include <string_view>
#include <tuple>
#include <unordered_map>

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

std::unordered_map<std::string_view, const std::string*> texts_by_hash(const Snapshot& snapshot) {
  std::unordered_map<std::string_view, const std::string*> by_hash;
  by_hash.reserve(snapshot.objects.size());
  for (const auto& o : snapshot.objects) {
    if (o.has_text) by_hash.emplace(o.hash, &o.json);
  }
  return by_hash;
}

std::size_t fill_texts(Snapshot& snapshot, const Snapshot& from) {
  if (snapshot.has_all_texts()) return 0;
  const auto by_hash = texts_by_hash(from);
  std::size_t missing = 0;
  for (auto& o : snapshot.objects) {
    if (o.has_text) continue;
    const auto it = by_hash.find(o.hash);
    if (it == by_hash.end()) {
      ++missing;
      continue;
    }
    o.json = *it->second;
    o.has_text = true;
  }
  return missing;
}

std::size_t texts_missing(const Snapshot& snapshot, const Snapshot& from) {
  if (snapshot.has_all_texts()) return 0;
  const auto by_hash = texts_by_hash(from);
  return static_cast<std::size_t>(
      std::count_if(snapshot.objects.begin(), snapshot.objects.end(), [&](const auto& o) {
        return !o.has_text && by_hash.count(o.hash) == 0;
      }));
}

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool from_hex(const std::string& hex, std::array<unsigned char, 32>& out) {
  if (hex.size() != 2 * out.size()) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_digit(hex[2 * i]);
    const int lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return true;
}

std::string to_hex(const std::array<unsigned char, 32>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * bytes.size(), '0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

// The index of `word` in `words`, added if new; nullopt past 255 words.
std::optional<std::uint8_t> word_index(std::vector<std::string>& words, const std::string& word) {
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (words[i] == word) return static_cast<std::uint8_t>(i);
  }
  if (words.size() > 255) return std::nullopt;
  words.push_back(word);
  return static_cast<std::uint8_t>(words.size() - 1);
}

}  // namespace

// Every field of CanonicalObject is packed or dropped below: a new one must be packed too.
static_assert(sizeof(CanonicalObject) == 5 * sizeof(std::string) + 2 * alignof(std::string),
              "CanonicalObject changed: pack the new field in PackedSnapshot");

std::optional<PackedSnapshot> PackedSnapshot::pack(const Snapshot& snapshot) {
  PackedSnapshot p;
  p.objects_.reserve(snapshot.objects.size());
  for (const auto& o : snapshot.objects) {
    Object packed;
    packed.kind = o.kind;
    const auto type = word_index(p.words_, o.policy_type);
    const auto mode = word_index(p.words_, o.mode);
    if (!type || !mode || !from_hex(o.hash, packed.hash)) return std::nullopt;
    packed.policy_type = *type;
    packed.mode = *mode;
    p.names_ += o.name;
    packed.name_end = static_cast<std::uint32_t>(p.names_.size());
    p.objects_.push_back(packed);
  }
  p.names_.shrink_to_fit();
  p.findings_ = snapshot.findings;
  p.hash_ = snapshot.hash;
  p.canon_version_ = snapshot.canon_version;
  return p;
}

Snapshot PackedSnapshot::unpack() const {
  Snapshot out;
  out.objects.reserve(objects_.size());
  std::uint32_t name_begin = 0;
  for (const auto& o : objects_) {
    out.objects.push_back({o.kind, names_.substr(name_begin, o.name_end - name_begin), {},
                           to_hex(o.hash), words_[o.policy_type], words_[o.mode], false});
    name_begin = o.name_end;
  }
  out.findings = findings_;
  out.hash = hash_;
  out.canon_version = canon_version_;
  return out;
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
