#include "support/sdk_schema.hpp"

#include <algorithm>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <utility>

namespace flowdrift::test::sdk {
namespace {

using nlohmann::json;
using Pointer = json::json_pointer;
using Violations = std::vector<std::string>;

constexpr const char* kFormat = "flowdrift-v4-sdk-facts/1";
constexpr const char* kKinds[] = {"structs", "enums", "oneOfs"};

std::string where(const Pointer& at) {
  const std::string text = at.to_string();
  return text.empty() ? "<root>" : text;
}

// "integer" or "number" for numbers, nlohmann's type name otherwise.
std::string kind_of(const json& value) {
  return value.is_number_integer() ? "integer" : value.type_name();
}

bool is_rfc3339(const std::string& text) {
  static const std::regex pattern(
      R"(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2}))");
  return std::regex_match(text, pattern);
}

// A descriptor as text: "string", "array<...>", "map<...>" or the referenced name.
std::string describe(const json& desc) {
  if (desc.contains("array")) return "array<" + describe(desc.at("array")) + ">";
  if (desc.contains("map")) return "map<" + describe(desc.at("map")) + ">";
  if (desc.contains("ref")) return desc.at("ref").get<std::string>();
  return desc.at("type").get<std::string>();
}

std::string joined(const json& items, std::string (*text)(const json&)) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + text(item);
  return out;
}

std::string quoted(const json& value) { return "'" + value.get<std::string>() + "'"; }

const json* find_type(const json& doc, const char* kind, std::string_view name) {
  const auto& table = doc.at(kind);
  const auto it = table.find(std::string(name));
  return it == table.end() ? nullptr : &*it;
}

const json& type_of(const json& doc, const char* kind, std::string_view name) {
  const json* found = find_type(doc, kind, name);
  if (found == nullptr) {
    throw std::out_of_range("sdk models: no " + std::string(kind) + " entry " + std::string(name));
  }
  return *found;
}

class Checker {
 public:
  Checker(const json& doc, Violations& out) : doc_(doc), out_(out) {}

  void named(const json& value, std::string_view name, const Pointer& at) {
    if (const json* model = find_type(doc_, "structs", name))
      return structure(value, name, *model, at);
    if (const json* values = find_type(doc_, "enums", name))
      return enumeration(value, name, *values, at);
    if (const json* members = find_type(doc_, "oneOfs", name))
      return one_of(value, name, *members, at);
    throw std::out_of_range("sdk models: no type " + std::string(name));
  }

  void check(const json& value, const json& desc, const Pointer& at) {
    if (desc.contains("ref")) return named(value, desc.at("ref").get<std::string>(), at);
    if (desc.contains("array")) return each_item(value, desc.at("array"), at);
    if (desc.contains("map")) return each_value(value, desc.at("map"), at);
    primitive(value, desc.at("type").get<std::string>(), at);
  }

 private:
  void report(const Pointer& at, const std::string& text) {
    out_.push_back(where(at) + ": " + text);
  }

  void wrong_type(const Pointer& at, const std::string& expected, const json& value) {
    report(at, "expected " + expected + ", got " + kind_of(value));
  }

  void primitive(const json& value, const std::string& type, const Pointer& at) {
    const bool ok = type == "any" || (type == "string" && value.is_string()) ||
                    (type == "boolean" && value.is_boolean()) ||
                    (type == "integer" && value.is_number_integer()) ||
                    (type == "number" && value.is_number()) ||
                    (type == "object" && value.is_object()) ||
                    (type == "datetime" && value.is_string());
    if (!ok) return wrong_type(at, type, value);
    if (type == "datetime" && !is_rfc3339(value.get<std::string>())) {
      report(at, "not an RFC 3339 date-time: " + quoted(value));
    }
  }

  void each_item(const json& value, const json& item, const Pointer& at) {
    if (!value.is_array()) return wrong_type(at, "array<" + describe(item) + ">", value);
    for (std::size_t i = 0; i < value.size(); ++i) check(value[i], item, at / i);
  }

  void each_value(const json& value, const json& item, const Pointer& at) {
    if (!value.is_object()) return wrong_type(at, "map<" + describe(item) + ">", value);
    for (const auto& [key, v] : value.items()) check(v, item, at / key);
  }

  void enumeration(const json& value, std::string_view name, const json& values,
                   const Pointer& at) {
    if (!value.is_string()) return wrong_type(at, "string (enum " + std::string(name) + ")", value);
    if (std::find(values.begin(), values.end(), value) == values.end()) {
      report(at, quoted(value) + " is not a value of " + std::string(name) + " (" +
                     joined(values, quoted) + ")");
    }
  }

  // $objectType, $reserved and $unknownFields: allowed on every struct, with these types.
  bool envelope_field(const std::string& key, const json& value, const json& model,
                      const Pointer& at) {
    if (key == "$reserved" || key == "$unknownFields") {
      if (!value.is_object()) wrong_type(at / key, "object", value);
      return true;
    }
    if (key != "$objectType") return false;
    if (!value.is_string()) {
      wrong_type(at / key, "string", value);
    } else if (value != model.at("objectType")) {
      report(at / key,
             quoted(value) + " differs from the model's " + quoted(model.at("objectType")));
    }
    return true;
  }

  void structure(const json& value, std::string_view name, const json& model, const Pointer& at) {
    if (!value.is_object()) return wrong_type(at, "object (" + std::string(name) + ")", value);
    const json& fields = model.at("fields");
    for (const auto& [key, v] : value.items()) {
      if (fields.contains(key)) {
        check(v, fields.at(key), at / key);
      } else if (!envelope_field(key, v, model, at)) {
        report(at / key, "unknown field (not in " + std::string(name) + ")");
      }
    }
    for (const auto& [key, field] : fields.items()) {
      if (field.value("required", false) && !value.contains(key)) {
        report(at / key, "missing required field of " + std::string(name));
      }
    }
  }

  // How far a member is from matching: a member of the wrong JSON shape (a violation at the
  // oneOf's own place) is farther than any of the right shape, then fewer violations are nearer.
  static std::pair<bool, std::size_t> distance(const Violations& attempt, const Pointer& at) {
    const std::string self = where(at) + ": ";
    const bool misfit = std::any_of(attempt.begin(), attempt.end(),
                                    [&](const std::string& v) { return v.rfind(self, 0) == 0; });
    return {misfit, attempt.size()};
  }

  // The member struct whose $objectType is `object_type`, if any.
  const json* member_of_type(const json& members, const json& object_type) {
    for (const auto& member : members) {
      if (!member.contains("ref")) continue;
      const json* model = find_type(doc_, "structs", member.at("ref").get<std::string>());
      if (model != nullptr && model->at("objectType") == object_type) return &member;
    }
    return nullptr;
  }

  void one_of(const json& value, std::string_view name, const json& members, const Pointer& at) {
    const std::string list = " of " + std::string(name) + " (" + joined(members, describe) + ")";
    if (value.is_object() && value.contains("$objectType") && value.at("$objectType").is_string()) {
      if (const json* member = member_of_type(members, value.at("$objectType"))) {
        return check(value, *member, at);
      }
      return report(at,
                    "$objectType " + quoted(value.at("$objectType")) + " is not a member" + list);
    }
    Violations closest;
    std::string closest_member;
    for (const auto& member : members) {
      Violations attempt;
      Checker(doc_, attempt).check(value, member, at);
      if (attempt.empty()) return;
      if (closest_member.empty() || distance(attempt, at) < distance(closest, at)) {
        closest = std::move(attempt);
        closest_member = describe(member);
      }
    }
    report(at, "matches no member" + list + "; closest is " + closest_member + ":");
    out_.insert(out_.end(), closest.begin(), closest.end());
  }

  const json& doc_;
  Violations& out_;
};

}  // namespace

Models Models::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("sdk models: cannot read " + path);
  json doc = json::parse(in, nullptr, /*allow_exceptions=*/false);
  const bool shaped =
      doc.is_object() && doc.value("format", "") == kFormat && doc.contains("provenance") &&
      std::all_of(std::begin(kKinds), std::end(kKinds),
                  [&](const char* kind) { return doc.contains(kind) && doc.at(kind).is_object(); });
  if (!shaped) throw std::runtime_error("sdk models: " + path + " is not a " + kFormat + " file");
  return Models(std::move(doc));
}

std::vector<std::string> Models::validate(const nlohmann::json& value,
                                          std::string_view qualified_type) const {
  Violations out;
  Checker(doc_, out).named(value, qualified_type, Pointer());
  return out;
}

std::vector<std::string> Models::enum_values(std::string_view qualified_enum) const {
  return type_of(doc_, "enums", qualified_enum).get<std::vector<std::string>>();
}

std::vector<std::string> Models::fields(std::string_view qualified_struct) const {
  std::vector<std::string> names;
  for (const auto& field : type_of(doc_, "structs", qualified_struct).at("fields").items()) {
    names.push_back(field.key());
  }
  return names;
}

bool Models::contains(std::string_view qualified_type) const {
  return std::any_of(std::begin(kKinds), std::end(kKinds), [&](const char* kind) {
    return find_type(doc_, kind, qualified_type) != nullptr;
  });
}

const nlohmann::json& Models::provenance() const { return doc_.at("provenance"); }

}  // namespace flowdrift::test::sdk
