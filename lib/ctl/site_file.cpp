#include "ctl/site_file.hpp"

#include <fstream>
#include <sstream>

namespace flowdrift::ctl {
namespace {

using nlohmann::json;

Error fail(ErrorReason reason, const std::string& name, const std::string& what) {
  return make_error(reason, name + ": " + what);
}

// Line and column (1-based) of a byte offset, for JSON syntax errors.
std::string position(const std::string& text, std::size_t byte) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

Result<std::vector<json>> array_at(const json& doc, const char* key, const std::string& name,
                                   bool required) {
  auto it = doc.find(key);
  if (it == doc.end()) {
    if (required) return fail(ErrorReason::Malformed, name, std::string("/") + key + ": missing");
    return std::vector<json>{};
  }
  if (!it->is_array()) {
    return fail(ErrorReason::Malformed, name, std::string("/") + key + ": expected an array");
  }
  return it->get<std::vector<json>>();
}

Result<policy::V3SiteData> from_dump(const json& doc, const std::string& name) {
  auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer() || version->get<int>() != kDumpVersion) {
    return fail(ErrorReason::Malformed, name,
                "/version: expected " + std::to_string(kDumpVersion) + " (dump from another flowdrift version?)");
  }
  policy::V3SiteData d;
  auto rules = array_at(doc, "network_security_rules", name, true);
  if (!rules) return rules.error();
  d.rules = std::move(*rules);
  for (auto [key, target] : {std::pair{"address_groups", &d.address_groups},
                             std::pair{"service_groups", &d.service_groups},
                             std::pair{"category_keys", &d.category_keys}}) {
    auto a = array_at(doc, key, name, true);
    if (!a) return a.error();
    *target = std::move(*a);
  }
  auto values = doc.find("category_values");
  if (values == doc.end() || !values->is_object()) {
    return fail(ErrorReason::Malformed, name, "/category_values: expected an object");
  }
  for (const auto& [key, list] : values->items()) {
    if (!list.is_array()) {
      return fail(ErrorReason::Malformed, name, "/category_values/" + key + ": expected an array");
    }
    d.category_values.emplace(key, list.get<std::vector<json>>());
  }
  return d;
}

Result<policy::V3SiteData> from_list(const json& doc, const std::string& name) {
  auto meta = doc.find("metadata");
  if (meta == doc.end() || !meta->is_object()) {
    return fail(ErrorReason::Malformed, name, "/metadata: missing or not an object");
  }
  auto kind = meta->find("kind");
  if (kind != meta->end() && kind->is_string()) {
    const auto k = kind->get<std::string>();
    if (k != "network_security_rule" && k != "security_rule") {
      return fail(ErrorReason::Malformed, name,
                  "/metadata/kind: \"" + k + "\" is not a network_security_rules list");
    }
  }
  auto entities = array_at(doc, "entities", name, false);
  if (!entities) return entities.error();
  auto total = meta->find("total_matches");
  if (total == meta->end() || !total->is_number_integer() || total->get<long long>() < 0) {
    return fail(ErrorReason::Malformed, name, "/metadata/total_matches: missing or not a count");
  }
  const auto n = static_cast<long long>(entities->size());
  if (total->get<long long>() > n) {
    return fail(ErrorReason::Truncated, name,
                "incomplete: " + std::to_string(n) + " of " +
                    std::to_string(total->get<long long>()) +
                    " policies (metadata.total_matches); fetch every page, or use "
                    "`flowdriftctl dump`");
  }
  if (total->get<long long>() < n) {
    return fail(ErrorReason::Malformed, name,
                "/metadata/total_matches: " + std::to_string(total->get<long long>()) +
                    " is less than the " + std::to_string(n) + " entities listed");
  }
  policy::V3SiteData d;
  d.rules = std::move(*entities);
  return d;
}

}  // namespace

Result<LoadedSite> parse_site_text(const std::string& text, const std::string& name) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    return fail(ErrorReason::Malformed, name,
                position(text, e.byte > 0 ? e.byte - 1 : 0) + ": not valid JSON (" +
                    std::string(e.what()).substr(std::string(e.what()).find(':') + 2) + ")");
  }
  if (!doc.is_object()) return fail(ErrorReason::Malformed, name, "expected a JSON object");

  LoadedSite out;
  out.file = name;
  Result<policy::V3SiteData> data = policy::V3SiteData{};
  if (auto f = doc.find("format"); f != doc.end()) {
    if (!f->is_string() || f->get<std::string>() != kDumpFormat) {
      return fail(ErrorReason::Malformed, name, "/format: not a flowdrift site dump");
    }
    out.kind = "dump";
    data = from_dump(doc, name);
  } else if (doc.contains("entities")) {
    out.kind = "v3 list";
    data = from_list(doc, name);
  } else if (doc.contains("spec") && doc.contains("metadata")) {
    out.kind = "v3 entity";
    policy::V3SiteData d;
    d.rules.push_back(doc);
    data = std::move(d);
  } else {
    return fail(ErrorReason::Malformed, name,
                "neither a v3 network_security_rules/list response (no /entities) nor a "
                "flowdrift site dump (no /format)");
  }
  if (!data) return data.error();
  auto snap = policy::canonicalize_v3(*data);
  if (!snap) return fail(snap.error().reason, name, snap.error().message);
  out.snapshot = std::move(*snap);
  return out;
}

Result<LoadedSite> load_site_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorReason::Other, path, "cannot read file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_site_text(ss.str(), path);
}

json make_dump(const policy::V3SiteData& data, const std::string& site, const std::string& url,
               std::int64_t fetched_ms) {
  json values = json::object();
  for (const auto& [key, list] : data.category_values) values[key] = list;
  return json{{"format", kDumpFormat},
              {"version", kDumpVersion},
              {"site", site},
              {"url", url},
              {"api", "v3"},
              {"fetched_at_ms", fetched_ms},
              {"network_security_rules", data.rules},
              {"address_groups", data.address_groups},
              {"service_groups", data.service_groups},
              {"category_keys", data.category_keys},
              {"category_values", values}};
}

}  // namespace flowdrift::ctl
