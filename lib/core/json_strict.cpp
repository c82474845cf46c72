#include "core/json_strict.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/printable.hpp"

namespace flowdrift::json_strict {
namespace {

using nlohmann::json;

// Whether a key can be written after a '.' in a path; others are written ["..."].
bool plain_key(std::string_view k) {
  if (k.empty() || k.size() > 64) return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '$' || c == '-';
  });
}

std::string line_column(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  const std::size_t line = 1 + static_cast<std::size_t>(
                                   std::count(text.begin(), text.begin() + offset, '\n'));
  const std::size_t nl = text.rfind('\n', offset == 0 ? 0 : offset - 1);
  const std::size_t column = nl == std::string_view::npos || offset == 0 ? offset : offset - nl - 1;
  return "line " + std::to_string(line) + ", column " + std::to_string(column + 1);
}

// nlohmann's message without its "[json.exception...] parse error at ...: " prefix and the
// "; last read: '...'" suffix (which repeats the input's raw bytes).
std::string syntax_reason(const nlohmann::detail::exception& ex) {
  if (ex.id == 406) return "number out of range";
  std::string what = ex.what();
  if (const auto colon = what.find(": "); colon != std::string::npos) what.erase(0, colon + 2);
  if (const auto last = what.find("; last read"); last != std::string::npos) what.erase(last);
  return what;
}

// Builds the DOM from nlohmann's SAX events, checking each value against the limits.
class Builder {
 public:
  Builder(std::string_view text, json& root, const Limits& limits)
      : text_(text), root_(root), limits_(limits) {}

  bool null() { return put(json(nullptr)); }
  bool boolean(bool v) { return put(json(v)); }
  bool number_integer(json::number_integer_t v) { return put(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return put(json(v)); }
  bool number_float(json::number_float_t v, const std::string& /*text*/) {
    if (!std::isfinite(v)) return refuse("number out of range");
    return put(json(v));
  }
  bool string(std::string& v) {
    if (!within_string_limit(v, "string")) return false;
    return put(json(std::move(v)));
  }
  bool binary(json::binary_t& /*v*/) { return refuse("binary value"); }
  bool start_object(std::size_t /*elements*/) { return open(json::object()); }
  bool start_array(std::size_t /*elements*/) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(std::string& k) {
    Frame& f = stack_.back();
    f.key = std::move(k);
    if (!within_string_limit(f.key, "key")) return false;
    if (f.value->contains(f.key)) return refuse("key given twice in one object");
    return true;
  }
  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& ex) {
    error_ = path() + ": " + syntax_reason(ex) + " at " + line_column(text_, position);
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  struct Frame {
    json* value;
    std::string key;  // objects: the member being read
  };

  bool within_string_limit(const std::string& s, const char* what) {
    if (s.size() <= limits_.max_string) return true;
    return refuse(std::string(what) + " of " + std::to_string(s.size()) +
                  " bytes, longer than the limit of " + std::to_string(limits_.max_string));
  }
  bool refuse(std::string reason) {
    error_ = path() + ": " + std::move(reason);
    return false;
  }
  // Where the value being read goes: the root, the end of an array or an object's member.
  json* slot() {
    if (stack_.empty()) return &root_;
    json& parent = *stack_.back().value;
    if (parent.is_array()) {
      parent.push_back(nullptr);
      return &parent.back();
    }
    return &parent[stack_.back().key];
  }
  bool put(json v) {
    *slot() = std::move(v);
    return true;
  }
  bool open(json container) {
    if (stack_.size() >= limits_.max_depth) {
      return refuse("nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    json* p = slot();
    *p = std::move(container);
    stack_.push_back(Frame{p, {}});
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }
  std::string path() const {
    std::string out;
    for (std::size_t i = 0; i < stack_.size(); ++i) {
      const Frame& f = stack_[i];
      if (f.value->is_array()) {
        // The element being read: the last one pushed while a child is open, else the next.
        const std::size_t n = f.value->size();
        const bool child_open = i + 1 < stack_.size();
        out += "[" + std::to_string(child_open && n > 0 ? n - 1 : n) + "]";
      } else if (plain_key(f.key)) {
        out += (out.empty() ? "" : ".") + f.key;
      } else {
        out += "[" + json(printable(f.key, 64)).dump() + "]";
      }
    }
    return out.empty() ? "top level" : out;
  }

  std::string_view text_;
  json& root_;
  const Limits& limits_;
  std::vector<Frame> stack_;
  std::string error_;
};

}  // namespace

std::optional<json> parse(std::string_view text, std::string& error, const Limits& limits) {
  // nlohmann's lexer takes a NUL byte for the end of the input and would accept "2\0garbage"
  // (found by fuzz_v4_page); JSON has no place for one outside a string, and none inside.
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    error = "top level: NUL byte at " + line_column(text, nul);
    return std::nullopt;
  }
  json root;
  Builder builder(text, root, limits);
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &builder);
  } catch (const std::exception& e) {  // allocation failure; nothing else throws here
    error = std::string("top level: ") + e.what();
    return std::nullopt;
  }
  if (!ok) {
    error = builder.error().empty() ? "top level: not valid JSON" : builder.error();
    return std::nullopt;
  }
  return root;
}

}  // namespace flowdrift::json_strict
