// A small strict JSON reader: one pass into a flat node vector over the original text, no
// allocation per value. nlohmann's DOM parse was 80% of the compile time of a 5,000-policy site
// (a std::map and strings per object) and most of a cold v4 poll's canonicalization. Used by
// the flow compiler, the diff's reference scan, v3 and v4 page scanning and canonicalization,
// and flowdriftctl's v3 site files.
// Strict as json_strict is, with the same bounds: a key given twice in one object, a number
// outside double's range, invalid UTF-8, a lone UTF-16 surrogate escape, a string over
// kMaxString or nesting over kMaxDepth is an error, never a silent choice.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flowdrift::json_scan {

// The bounds both JSON readers hold untrusted input to (json_strict::Limits' defaults).
inline constexpr std::size_t kMaxDepth = 64;            // nested arrays and objects
inline constexpr std::size_t kMaxString = 64 * 1024;    // bytes of one string or key

class JsonDoc;

// A value inside a JsonDoc (which must outlive it).
class JsonRef {
 public:
  enum class Type : std::uint8_t { Null, Bool, Number, String, Array, Object };

  JsonRef() = default;
  JsonRef(const JsonDoc* doc, std::uint32_t index) : doc_(doc), index_(index) {}

  Type type() const;
  bool is_object() const { return type() == Type::Object; }
  bool is_array() const { return type() == Type::Array; }
  bool is_string() const { return type() == Type::String; }
  bool is_bool() const { return type() == Type::Bool; }
  bool is_true() const;
  // A container read shallow: size() 0, no members or elements; scan text() for them.
  bool shallow() const;
  // The number when it is an integer in [0, 2^64), written in digits only.
  std::optional<std::uint64_t> uint64() const;
  // The number when it is an integer in [0, max].
  std::optional<std::uint32_t> uint_at_most(std::uint32_t max) const;
  // String value, unescaped.
  std::string str() const;
  // Whether this is a string equal to `s` (no escapes in `s`).
  bool str_equals(std::string_view s) const;
  // The exact source text of the value (canonical JSON text for canonical input).
  std::string_view text() const;
  const char* type_name() const;

  // Arrays: element count and elements; objects: member lookup.
  std::size_t size() const;
  JsonRef at(std::size_t i) const;                       // i < size(); O(i)
  std::vector<JsonRef> elements() const;
  // Objects: every (key, value) member, in order (empty for other types).
  std::vector<std::pair<JsonRef, JsonRef>> members() const;
  JsonRef operator[](std::size_t i) const { return at(i); }
  bool empty() const { return size() == 0; }
  std::optional<JsonRef> find(std::string_view key) const;  // objects only (keys are unique)

  // Arrays: range-for over the elements, in order (nothing for other types).
  class Iterator {
   public:
    Iterator(const JsonDoc* doc, std::uint32_t node, std::uint32_t left)
        : doc_(doc), node_(node), left_(left) {}
    JsonRef operator*() const { return JsonRef(doc_, node_); }
    Iterator& operator++();
    bool operator!=(const Iterator& o) const { return left_ != o.left_; }

   private:
    const JsonDoc* doc_;
    std::uint32_t node_;
    std::uint32_t left_;  // elements from here to the end
  };
  Iterator begin() const;
  Iterator end() const { return Iterator(doc_, 0, 0); }

 private:
  friend class JsonDoc;
  const JsonDoc* doc_ = nullptr;
  std::uint32_t index_ = 0;
};

class JsonDoc {
 public:
  // Parses `text` (which must outlive the document). On failure returns nullopt and sets
  // `error` to "<reason> at offset N". Containers `shallow_depth` containers deep (the root's
  // members are 1 deep) are checked whole, as any value is, but keep only their own node: type
  // and text, no members or elements (JsonRef::shallow()). A caller that needs them scans
  // their text; a 21 MB list read shallow keeps a node per item instead of 2 million.
  static std::optional<JsonDoc> parse(std::string_view text, std::string& error,
                                      std::size_t shallow_depth = kMaxDepth);
  JsonRef root() const { return JsonRef(this, 0); }

 private:
  friend class JsonRef;
  struct Node {
    JsonRef::Type type;
    bool escaped = false;     // strings: contains a backslash
    bool shallow = false;     // containers: members or elements not kept (parse's shallow_depth)
    std::uint32_t begin = 0;  // text span [begin, end)
    std::uint32_t end = 0;
    std::uint32_t next = 0;   // next sibling (0: none; node 0 is the root, never a sibling)
    std::uint32_t first = 0;  // first child (arrays: elements; objects: key, value, key, ...)
    std::uint32_t count = 0;  // arrays: elements; objects: members
  };
  std::string_view text_;
  std::vector<Node> nodes_;
  friend class JsonParser;
};

}  // namespace flowdrift::json_scan
