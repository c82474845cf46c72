#include "core/json_scan.hpp"

#include <cctype>
#include <charconv>

#include <nlohmann/json.hpp>

namespace flowdrift::json_scan {

class JsonParser {
 public:
  JsonParser(std::string_view text, std::vector<JsonDoc::Node>& nodes) : t_(text), nodes_(nodes) {}

  bool run(std::string& error) {
    skip_ws();
    if (!value(0)) {
      error = reason_ + " at offset " + std::to_string(pos_);
      return false;
    }
    skip_ws();
    if (pos_ != t_.size()) {
      error = "trailing characters at offset " + std::to_string(pos_);
      return false;
    }
    return true;
  }

 private:
  static constexpr int kMaxDepth = 64;

  bool fail(const char* why) {
    reason_ = why;
    return false;
  }
  void skip_ws() {
    while (pos_ < t_.size() &&
           (t_[pos_] == ' ' || t_[pos_] == '\n' || t_[pos_] == '\r' || t_[pos_] == '\t'))
      ++pos_;
  }
  std::uint32_t add(JsonRef::Type type) {
    JsonDoc::Node n;
    n.type = type;
    n.begin = static_cast<std::uint32_t>(pos_);
    nodes_.push_back(n);
    return static_cast<std::uint32_t>(nodes_.size() - 1);
  }
  bool literal(std::string_view word, JsonRef::Type type) {
    if (t_.substr(pos_, word.size()) != word) return fail("invalid literal");
    const auto i = add(type);
    pos_ += word.size();
    nodes_[i].end = static_cast<std::uint32_t>(pos_);
    return true;
  }
  bool string() {
    const auto i = add(JsonRef::Type::String);
    ++pos_;  // opening quote
    while (true) {
      if (pos_ >= t_.size()) return fail("unterminated string");
      const char c = t_[pos_];
      if (c == '"') break;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
      if (c == '\\') {
        nodes_[i].escaped = true;
        if (++pos_ >= t_.size()) return fail("unterminated string");
        const char e = t_[pos_];
        if (e == 'u') {
          for (int k = 1; k <= 4; ++k) {
            if (pos_ + static_cast<std::size_t>(k) >= t_.size() ||
                !std::isxdigit(static_cast<unsigned char>(t_[pos_ + static_cast<std::size_t>(k)])))
              return fail("invalid \\u escape");
          }
          pos_ += 4;
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return fail("invalid escape");
        }
      }
      ++pos_;
    }
    ++pos_;  // closing quote
    nodes_[i].end = static_cast<std::uint32_t>(pos_);
    return true;
  }
  bool number() {
    const auto i = add(JsonRef::Type::Number);
    const std::size_t start = pos_;
    if (t_[pos_] == '-') ++pos_;
    auto digits = [&] {
      const std::size_t d = pos_;
      while (pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '9') ++pos_;
      return pos_ > d;
    };
    if (pos_ < t_.size() && t_[pos_] == '0') {
      ++pos_;
    } else if (!digits()) {
      return fail("invalid number");
    }
    if (pos_ < t_.size() && t_[pos_] == '.') {
      ++pos_;
      if (!digits()) return fail("invalid number");
    }
    if (pos_ < t_.size() && (t_[pos_] == 'e' || t_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < t_.size() && (t_[pos_] == '+' || t_[pos_] == '-')) ++pos_;
      if (!digits()) return fail("invalid number");
    }
    if (pos_ == start) return fail("invalid number");
    nodes_[i].end = static_cast<std::uint32_t>(pos_);
    return true;
  }
  // Parses one value; the caller links it to its siblings.
  bool value(int depth) {
    if (depth > kMaxDepth) return fail("nesting too deep");
    if (pos_ >= t_.size()) return fail("unexpected end");
    switch (t_[pos_]) {
      case '{': return container(depth, true);
      case '[': return container(depth, false);
      case '"': return string();
      case 't': return literal("true", JsonRef::Type::Bool);
      case 'f': return literal("false", JsonRef::Type::Bool);
      case 'n': return literal("null", JsonRef::Type::Null);
      default:
        if (t_[pos_] == '-' || (t_[pos_] >= '0' && t_[pos_] <= '9')) return number();
        return fail("unexpected character");
    }
  }
  bool container(int depth, bool object) {
    const auto i = add(object ? JsonRef::Type::Object : JsonRef::Type::Array);
    const char close = object ? '}' : ']';
    ++pos_;
    skip_ws();
    std::uint32_t prev = 0;
    auto link = [&](std::uint32_t child) {
      if (prev == 0) {
        nodes_[i].first = child;
      } else {
        nodes_[prev].next = child;
      }
      prev = child;
    };
    if (pos_ < t_.size() && t_[pos_] == close) {
      ++pos_;
      nodes_[i].end = static_cast<std::uint32_t>(pos_);
      return true;
    }
    while (true) {
      skip_ws();
      if (object) {
        if (pos_ >= t_.size() || t_[pos_] != '"') return fail("expected object key");
        const auto key = static_cast<std::uint32_t>(nodes_.size());
        if (!string()) return false;
        link(key);
        skip_ws();
        if (pos_ >= t_.size() || t_[pos_] != ':') return fail("expected ':'");
        ++pos_;
        skip_ws();
      }
      const auto child = static_cast<std::uint32_t>(nodes_.size());
      if (!value(depth + 1)) return false;
      link(child);
      ++nodes_[i].count;
      skip_ws();
      if (pos_ < t_.size() && t_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < t_.size() && t_[pos_] == close) {
        ++pos_;
        nodes_[i].end = static_cast<std::uint32_t>(pos_);
        return true;
      }
      return fail(object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }

  std::string_view t_;
  std::vector<JsonDoc::Node>& nodes_;
  std::size_t pos_ = 0;
  std::string reason_;
};

std::optional<JsonDoc> JsonDoc::parse(std::string_view text, std::string& error) {
  if (text.size() >= 0xffffffffu) {
    error = "document too large";
    return std::nullopt;
  }
  JsonDoc doc;
  doc.text_ = text;
  doc.nodes_.reserve(text.size() / 8 + 4);
  JsonParser p(text, doc.nodes_);
  if (!p.run(error)) return std::nullopt;
  return doc;
}

JsonRef::Type JsonRef::type() const { return doc_->nodes_[index_].type; }

bool JsonRef::is_true() const { return type() == Type::Bool && text() == "true"; }

std::optional<std::uint32_t> JsonRef::uint_at_most(std::uint32_t max) const {
  if (type() != Type::Number) return std::nullopt;
  const std::string_view t = text();
  std::uint64_t v = 0;
  auto [next, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc{} || next != t.data() + t.size() || v > max) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

std::string_view JsonRef::text() const {
  const auto& n = doc_->nodes_[index_];
  return doc_->text_.substr(n.begin, n.end - n.begin);
}

std::string JsonRef::str() const {
  const auto& n = doc_->nodes_[index_];
  const std::string_view raw = doc_->text_.substr(n.begin + 1, n.end - n.begin - 2);
  if (!n.escaped) return std::string(raw);
  // Rare (category values with quotes or non-ASCII escapes): let nlohmann decode it.
  return nlohmann::json::parse(text()).get<std::string>();
}

bool JsonRef::str_equals(std::string_view s) const {
  if (type() != Type::String) return false;
  const auto& n = doc_->nodes_[index_];
  if (n.escaped) return str() == s;
  return doc_->text_.substr(n.begin + 1, n.end - n.begin - 2) == s;
}

const char* JsonRef::type_name() const {
  switch (type()) {
    case Type::Null: return "null";
    case Type::Bool: return "boolean";
    case Type::Number: return "number";
    case Type::String: return "string";
    case Type::Array: return "array";
    case Type::Object: return "object";
  }
  return "value";
}

std::size_t JsonRef::size() const {
  const auto t = type();
  return t == Type::Array || t == Type::Object ? doc_->nodes_[index_].count : 0;
}

JsonRef JsonRef::at(std::size_t i) const {
  std::uint32_t c = doc_->nodes_[index_].first;
  for (; i > 0; --i) c = doc_->nodes_[c].next;
  return JsonRef(doc_, c);
}

std::vector<JsonRef> JsonRef::elements() const {
  std::vector<JsonRef> out;
  if (type() != Type::Array) return out;
  const auto& n = doc_->nodes_[index_];
  out.reserve(n.count);
  std::uint32_t c = n.first;
  for (std::uint32_t m = 0; m < n.count; ++m, c = doc_->nodes_[c].next) out.emplace_back(doc_, c);
  return out;
}

std::vector<std::pair<JsonRef, JsonRef>> JsonRef::members() const {
  std::vector<std::pair<JsonRef, JsonRef>> out;
  if (type() != Type::Object) return out;
  const auto& n = doc_->nodes_[index_];
  out.reserve(n.count);
  std::uint32_t k = n.first;
  for (std::uint32_t m = 0; m < n.count; ++m) {
    const std::uint32_t v = doc_->nodes_[k].next;
    out.emplace_back(JsonRef(doc_, k), JsonRef(doc_, v));
    k = doc_->nodes_[v].next;
  }
  return out;
}

std::optional<JsonRef> JsonRef::lookup(std::string_view key, bool last) const {
  if (type() != Type::Object) return std::nullopt;
  const auto& n = doc_->nodes_[index_];
  std::optional<JsonRef> found;
  std::uint32_t k = n.first;
  for (std::uint32_t m = 0; m < n.count; ++m) {
    const std::uint32_t v = doc_->nodes_[k].next;
    if (JsonRef(doc_, k).str_equals(key)) {
      found = JsonRef(doc_, v);
      if (!last) break;
    }
    k = doc_->nodes_[v].next;
  }
  return found;
}

std::optional<JsonRef> JsonRef::find(std::string_view key) const { return lookup(key, false); }

std::optional<JsonRef> JsonRef::find_last(std::string_view key) const { return lookup(key, true); }

JsonRef::Iterator& JsonRef::Iterator::operator++() {
  node_ = doc_->nodes_[node_].next;
  --left_;
  return *this;
}

JsonRef::Iterator JsonRef::begin() const {
  if (type() != Type::Array) return end();
  const auto& n = doc_->nodes_[index_];
  return Iterator(doc_, n.first, n.count);
}

}  // namespace flowdrift::json_scan
