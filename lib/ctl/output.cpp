#include "ctl/output.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <yaml-cpp/yaml.h>

namespace flowdrift::ctl {
namespace {

using nlohmann::json;

// Plain scalars YAML 1.1 or 1.2 resolves to something other than a string.
bool needs_quotes(const std::string& s) {
  if (s.empty()) return true;
  static constexpr std::array<const char*, 12> kWords = {
      "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", ".nan", ".inf"};
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* w : kWords) {
    if (lower == w) return true;
  }
  const char c = s.front();
  return std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.' ||
         std::isspace(static_cast<unsigned char>(c)) ||
         std::isspace(static_cast<unsigned char>(s.back()));
}

void emit(YAML::Emitter& y, const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      y << YAML::BeginMap;
      for (const auto& [k, item] : v.items()) {
        y << YAML::Key;
        if (needs_quotes(k)) y << YAML::DoubleQuoted;
        y << k << YAML::Value;
        emit(y, item);
      }
      y << YAML::EndMap;
      return;
    case json::value_t::array:
      y << YAML::BeginSeq;
      for (const auto& item : v) emit(y, item);
      y << YAML::EndSeq;
      return;
    case json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      if (needs_quotes(s)) y << YAML::DoubleQuoted;
      y << s;
      return;
    }
    case json::value_t::null:
      y << YAML::Null;
      return;
    case json::value_t::boolean:
      y << (v.get<bool>() ? "true" : "false");
      return;
    default:  // numbers: JSON's own spelling is valid YAML
      y << v.dump();
  }
}

}  // namespace

std::string yaml_text(const json& doc) {
  YAML::Emitter y;
  y.SetNullFormat(YAML::LowerNull);
  emit(y, doc);
  return std::string(y.c_str()) + "\n";
}

void print_document(std::ostream& out, const json& doc, const std::string& format,
                    const std::function<void(const json&, std::ostream&)>& text) {
  if (format == "json") {
    out << doc.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  } else if (format == "yaml") {
    out << yaml_text(doc);
  } else {
    text(doc, out);
  }
}

}  // namespace flowdrift::ctl
