// What the v3 and v4 canonicalizers read a value with, for either DOM: nlohmann's (groups,
// categories, whole sites given as DOM) or the flat json_scan::JsonDoc that raw policy texts
// are scanned into, which costs no allocation per value. Each primitive has one overload per
// DOM; `Ref<J>` is how a value is held (a reference into nlohmann's tree, a small handle into a
// JsonDoc) and `Held<J>` the same in a container. Internal to lib/policy.
#pragma once

#include <charconv>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "core/json_scan.hpp"

namespace flowdrift::policy::access {

using json_scan::JsonRef;
using nlohmann::json;

template <class J>
using Ref = std::conditional_t<std::is_same_v<J, json>, const json&, JsonRef>;
template <class J>
using Held = std::conditional_t<std::is_same_v<J, json>, std::reference_wrapper<const json>, JsonRef>;

inline bool is_null(const json& j) { return j.is_null(); }
inline bool is_null(const JsonRef& j) { return j.type() == JsonRef::Type::Null; }
inline bool is_boolean(const json& j) { return j.is_boolean(); }
inline bool is_boolean(const JsonRef& j) { return j.is_bool(); }
inline bool bool_value(const json& j) { return j.get<bool>(); }
inline bool bool_value(const JsonRef& j) { return j.is_true(); }
inline std::string string_value(const json& j) { return j.get<std::string>(); }
inline std::string string_value(const JsonRef& j) { return j.str(); }
inline std::string dumped(const json& j) { return j.dump(); }
inline std::string dumped(const JsonRef& j) { return std::string(j.text()); }

// An integer that fits int64 (floats such as "80.0" are not ports).
inline std::optional<std::int64_t> integer_value(const json& j) {
  if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return static_cast<std::int64_t>(u);
    }
  } else if (j.is_number_integer()) {
    return j.get<std::int64_t>();
  }
  return std::nullopt;
}
inline std::optional<std::int64_t> integer_value(const JsonRef& j) {
  if (j.type() != JsonRef::Type::Number) return std::nullopt;
  const std::string_view t = j.text();
  std::int64_t v = 0;
  auto [next, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc{} || next != t.data() + t.size()) return std::nullopt;  // float, too big
  return v;
}

// A member; null counts as absent (the SDKs and v3 serializers emit unset fields as null).
inline const json* member(const json& obj, std::string_view key) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}
inline std::optional<JsonRef> member(const JsonRef& obj, std::string_view key) {
  auto m = obj.find(key);
  if (!m || is_null(*m)) return std::nullopt;
  return m;
}

// ", got <type> <text, bounded>" for messages.
template <class J>
std::string described(const J& j) {
  std::string text = dumped(j);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return std::string(", got ") + j.type_name() + " " + text;
}

// f(key, value) for each member. A JsonRef key is a view of the document's text unless it
// has an escape (almost never): canonicalization walks every member of every policy.
template <class F>
void each_member(const json& obj, F&& f) {
  for (const auto& [k, v] : obj.items()) f(std::string_view(k), v);
}
template <class F>
void each_member(const JsonRef& obj, F&& f) {
  std::string unescaped;
  for (const auto& [k, v] : obj.members()) {
    std::string_view key = k.text();
    key = key.substr(1, key.size() - 2);
    if (key.find('\\') != std::string_view::npos) key = unescaped = k.str();
    f(key, v);
  }
}

}  // namespace flowdrift::policy::access
