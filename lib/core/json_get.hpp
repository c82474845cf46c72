// Reading members of JSON that came from outside (a Prism Central's answer, a row of the
// database, a file): nlohmann's value(key, default) throws when the member is there with another
// type, or when the value is not an object at all. These never throw.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace flowdrift {

// The member at `path` (object keys, outermost first), or null when a step is not an object or
// lacks the key.
inline const nlohmann::json& member_at(const nlohmann::json& j,
                                       std::initializer_list<std::string_view> path) {
  static const nlohmann::json none;
  const nlohmann::json* at = &j;
  for (const auto key : path) {
    if (!at->is_object()) return none;
    const auto it = at->find(key);
    if (it == at->end()) return none;
    at = &*it;
  }
  return *at;
}

// The string at `path`; `fallback` when it is absent or not a string.
inline std::string string_at_path(const nlohmann::json& j,
                                  std::initializer_list<std::string_view> path,
                                  std::string fallback = {}) {
  const auto& at = member_at(j, path);
  return at.is_string() ? at.get<std::string>() : fallback;
}

// The string member `key` of `obj`; `fallback` when it is absent or not a string.
inline std::string string_or(const nlohmann::json& obj, std::string_view key, std::string fallback = {}) {
  return string_at_path(obj, {key}, std::move(fallback));
}

// The member `key` of `obj` when it is an object, else an empty object.
inline const nlohmann::json& member_object(const nlohmann::json& obj, std::string_view key) {
  static const nlohmann::json empty = nlohmann::json::object();
  const auto& at = member_at(obj, {key});
  return at.is_object() ? at : empty;
}

}  // namespace flowdrift
