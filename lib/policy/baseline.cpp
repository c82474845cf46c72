#include "policy/baseline.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include "core/file_bytes.hpp"
#include "core/json_scan.hpp"
#include "core/json_strict.hpp"
#include "core/printable.hpp"
#include "core/sha256.hpp"
#include "core/time_format.hpp"
#include "core/yaml_tree.hpp"

namespace flowdrift::policy {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr ObjectKind kKinds[] = {ObjectKind::Policy, ObjectKind::AddressGroup,
                                 ObjectKind::ServiceGroup, ObjectKind::Category,
                                 ObjectKind::EntityGroup};

}  // namespace

std::string baseline_folder(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::Policy: return "policies";
    case ObjectKind::AddressGroup: return "address_groups";
    case ObjectKind::ServiceGroup: return "service_groups";
    case ObjectKind::Category: return "categories";
    case ObjectKind::EntityGroup: return "entity_groups";
  }
  return "policies";
}

std::vector<std::string> baseline_folders() {
  std::vector<std::string> out;
  for (auto k : kKinds) out.push_back(baseline_folder(k));
  return out;
}

namespace {

std::optional<ObjectKind> kind_named(const std::string& name) {
  for (auto k : kKinds) {
    if (to_string(k) == name) return k;
  }
  return std::nullopt;
}

Error fail(const std::string& where, const std::string& what) {
  return make_error(ErrorReason::Malformed, where + ": " + what);
}

json header(const Snapshot& snap, const BaselineInfo& info) {
  json findings = json::array();
  for (const auto& f : snap.findings) {
    findings.push_back({{"kind", f.kind}, {"object", f.object}, {"detail", f.detail}});
  }
  return json{{"format", kBaselineFormat},
              {"version", kBaselineVersion},
              {"site", info.site},
              {"api", info.api},
              {"exported_at", format_time(info.exported_ms)},
              {"exported_at_ms", info.exported_ms},
              {"flowdrift_version", info.flowdrift_version},
              {"canon_version", snap.canon_version},
              {"snapshot_hash", snap.hash},
              {"findings", std::move(findings)}};
}

json entry(const CanonicalObject& o) {
  return json{{"kind", std::string(to_string(o.kind))},
              {"name", o.name},
              {"object", json::parse(o.json)}};
}

// One object read back: its canonical text is the object's compact dump, as exported.
Result<CanonicalObject> object_from(const json& e, const std::string& where) {
  if (!e.is_object()) return fail(where, "expected an object {kind, name, object}");
  const auto kind = e.contains("kind") && e["kind"].is_string()
                        ? kind_named(e["kind"].get<std::string>())
                        : std::nullopt;
  if (!kind) return fail(where + "/kind", "expected one of policy, address_group, service_group, "
                                          "category, entity_group");
  if (!e.contains("name") || !e["name"].is_string() || e["name"].get<std::string>().empty()) {
    return fail(where + "/name", "expected a non-empty string");
  }
  if (!e.contains("object") || !e["object"].is_object()) {
    return fail(where + "/object", "expected the canonical object");
  }
  CanonicalObject o;
  o.kind = *kind;
  o.name = e["name"].get<std::string>();
  const json& body = e["object"];
  o.json = body.dump();
  o.hash = sha256_hex(o.json);
  if (o.kind == ObjectKind::Policy) {
    for (const char* key : {"type", "mode"}) {
      if (!body.contains(key) || !body[key].is_string()) {
        return fail(where + "/object/" + key, "a policy needs its " + std::string(key));
      }
    }
    o.policy_type = body["type"].get<std::string>();
    o.mode = body["mode"].get<std::string>();
  }
  return o;
}

Result<BaselineInfo> info_from(const json& doc, const std::string& name) {
  if (!doc.is_object() || doc.value("format", json()) != kBaselineFormat) {
    return fail(name, "/format: not a flowdrift baseline");
  }
  if (doc.value("version", json()) != kBaselineVersion) {
    return fail(name, "/version: expected " + std::to_string(kBaselineVersion));
  }
  BaselineInfo info;
  for (auto [key, field] : {std::pair{"site", &info.site}, std::pair{"api", &info.api},
                            std::pair{"flowdrift_version", &info.flowdrift_version}}) {
    if (!doc.contains(key) || !doc[key].is_string()) {
      return fail(name, std::string("/") + key + ": expected a string");
    }
    *field = doc[key].get<std::string>();
  }
  if (info.api != "v3" && info.api != "v4") return fail(name, "/api: expected v3 or v4");
  if (doc.contains("exported_at_ms") && doc["exported_at_ms"].is_number_integer()) {
    info.exported_ms = doc["exported_at_ms"].get<std::int64_t>();
  }
  return info;
}

Result<std::vector<Finding>> findings_from(const json& doc, const std::string& name) {
  std::vector<Finding> out;
  const json list = doc.value("findings", json::array());
  if (!list.is_array()) return fail(name, "/findings: expected an array");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const json& f = list[i];
    if (!f.is_object() || !f.value("kind", json()).is_string() ||
        !f.value("object", json()).is_string() || !f.value("detail", json()).is_string()) {
      return fail(name, "/findings/" + std::to_string(i) + ": expected {kind, object, detail}");
    }
    out.push_back({f["kind"], f["object"], f["detail"]});
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The snapshot of `objects`, each (kind, name) once.
Result<Snapshot> assemble(std::vector<std::pair<CanonicalObject, std::string>> objects,
                                  std::vector<Finding> findings, int canon_version) {
  std::sort(objects.begin(), objects.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first.kind, a.first.name) < std::tie(b.first.kind, b.first.name);
  });
  Snapshot snap;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    auto& [o, where] = objects[i];
    if (!snap.objects.empty() && snap.objects.back().kind == o.kind &&
        snap.objects.back().name == o.name) {
      return fail(where, std::string(to_string(o.kind)) + " '" + o.name +
                             "' is already given at " + objects[i - 1].second);
    }
    snap.objects.push_back(std::move(o));
  }
  snap.findings = std::move(findings);
  snap.canon_version = canon_version;
  snap.hash = snapshot_hash(snap.objects, snap.canon_version);
  return snap;
}

int canon_version_of(const json& doc) {
  const json v = doc.value("canon_version", json(kCanonVersion));
  return v.is_number_integer() ? v.get<int>() : kCanonVersion;
}


// A plain scalar as YAML 1.2's core schema reads it; quoted scalars are always strings.
json plain_scalar(const std::string& v) {
  if (v == "null" || v == "~" || v.empty()) return nullptr;
  if (v == "true" || v == "false") return v == "true";
  std::int64_t i = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), i);
  if (ec == std::errc{} && end == v.data() + v.size()) return i;
  char* stop = nullptr;
  const double d = std::strtod(v.c_str(), &stop);
  if (stop == v.c_str() + v.size() && std::isfinite(d) && v.find_first_of("0123456789") == 0) {
    return d;
  }
  return v;
}

std::string place(const std::string& file, const yaml::YamlNode& n) {
  return file + ":" + std::to_string(n.line) + ":" + std::to_string(n.column);
}

// The bounds JSON input is held to (json_strict): valid UTF-8, at most kMaxString bytes.
std::optional<Error> bad_string(const std::string& file, const yaml::YamlNode& n) {
  if (n.value.size() > json_scan::kMaxString) {
    return fail(place(file, n), "string of " + std::to_string(n.value.size()) +
                                    " bytes, longer than the limit of " +
                                    std::to_string(json_scan::kMaxString));
  }
  for (std::size_t i = 0; i < n.value.size();) {
    const std::size_t len = utf8_sequence_length(n.value, i);
    if (len == 0) return fail(place(file, n), "invalid UTF-8");
    i += len;
  }
  return std::nullopt;
}

Result<json> yaml_to_json(const yaml::YamlNode& n, const std::string& file, std::size_t depth = 0) {
  using Kind = yaml::YamlNode::Kind;
  if (depth > json_scan::kMaxDepth) {
    return fail(place(file, n), "nested deeper than " + std::to_string(json_scan::kMaxDepth));
  }
  switch (n.kind) {
    case Kind::Null: return json(nullptr);
    case Kind::Scalar:
      if (auto e = bad_string(file, n)) return *e;
      return n.plain ? plain_scalar(n.value) : json(n.value);
    case Kind::Sequence: {
      json out = json::array();
      for (const auto& item : n.items) {
        auto v = yaml_to_json(item, file, depth + 1);
        if (!v) return v.error();
        out.push_back(std::move(*v));
      }
      return out;
    }
    case Kind::Map: break;
  }
  json out = json::object();
  for (const auto& [key, value] : n.entries) {
    const std::string where = place(file, key);
    if (key.kind != Kind::Scalar) return fail(where, "a mapping key must be a string");
    if (auto e = bad_string(file, key)) return *e;
    if (out.contains(key.value)) return fail(where, "key '" + key.value + "' given twice");
    auto v = yaml_to_json(value, file, depth + 1);
    if (!v) return v.error();
    out[key.value] = std::move(*v);
  }
  return out;
}

void append_yaml(const json& v, std::size_t indent, std::string& out);

// A JSON value that is written on its key's or dash's own line.
bool inline_value(const json& v) { return !v.is_structured() || v.empty(); }

void append_entry(const std::string& lead, const json& v, std::size_t indent, std::string& out) {
  out += lead;
  if (inline_value(v)) {
    out += ' ';
    out += v.dump();
    out += '\n';
    return;
  }
  out += '\n';
  append_yaml(v, indent + 2, out);
}

// Block YAML of a JSON value: every string and key double-quoted (JSON's escapes are valid in
// YAML's double-quoted scalars), numbers, booleans and null plain, empty containers as [] and
// {}. Read back by yaml_to_json, it is the same JSON.
void append_yaml(const json& v, std::size_t indent, std::string& out) {
  const std::string pad(indent, ' ');
  if (v.is_object()) {
    for (const auto& [k, item] : v.items()) append_entry(pad + json(k).dump() + ":", item, indent, out);
  } else if (v.is_array()) {
    for (const auto& item : v) append_entry(pad + "-", item, indent, out);
  } else {
    out += pad + v.dump() + "\n";
  }
}

}  // namespace

bool is_yaml_path(const std::string& path) {
  const auto ext = fs::path(path).extension();
  return ext == ".yaml" || ext == ".yml";
}

std::string baseline_text(const json& doc, BaselineFormat format) {
  if (format == BaselineFormat::Json) return doc.dump(2) + "\n";
  std::string out = "# flowdrift baseline (docs/cli.md)\n";
  append_yaml(doc, 0, out);
  return out;
}

Result<json> parse_document(std::string_view text, const std::string& name, bool yaml) {
  if (yaml) {
    const auto parsed = yaml::parse_yaml(std::string(text));
    if (parsed.error) {
      return fail(name + ":" + std::to_string(parsed.error->line) + ":" +
                      std::to_string(parsed.error->column),
                  parsed.error->message);
    }
    if (!parsed.root) return fail(name, "empty document");
    return yaml_to_json(*parsed.root, name);
  }
  std::string error;
  auto parsed = json_strict::parse(text, error);
  if (!parsed) return fail(name, error);
  return std::move(*parsed);
}

Result<json> read_document(const std::string& path) {
  const auto bytes = FileBytes::read(path);
  if (!bytes) return make_error(ErrorReason::Other, path + ": cannot read file");
  return parse_document(bytes->view(), path, is_yaml_path(path));
}

std::string baseline_file_name(const std::string& name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    const bool plain = std::isalnum(c) != 0 || c == '-' || c == '_' || (c == '.' && i > 0);
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

json baseline_document(const Snapshot& snap, const BaselineInfo& info) {
  json doc = header(snap, info);
  json objects = json::array();
  for (const auto& o : snap.objects) objects.push_back(entry(o));
  doc["objects"] = std::move(objects);
  return doc;
}

std::map<std::string, std::string> baseline_files(const Snapshot& snap,
                                                  const BaselineInfo& info,
                                                  BaselineFormat format) {
  const std::string ext = format == BaselineFormat::Yaml ? ".yaml" : ".json";
  std::map<std::string, std::string> files;
  json h = header(snap, info);
  h["layout"] = "directory";
  files["baseline" + ext] = baseline_text(h, format);
  for (const auto& o : snap.objects) {
    files[baseline_folder(o.kind) + "/" + baseline_file_name(o.name) + ext] = baseline_text(entry(o), format);
  }
  return files;
}

Result<LoadedBaseline> read_baseline(const json& doc, const std::string& name) {
  auto info = info_from(doc, name);
  if (!info) return info.error();
  auto findings = findings_from(doc, name);
  if (!findings) return findings.error();
  const json list = doc.value("objects", json());
  if (!list.is_array()) return fail(name, "/objects: expected an array");
  std::vector<std::pair<CanonicalObject, std::string>> objects;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string where = name + ": /objects/" + std::to_string(i);
    auto o = object_from(list[i], where);
    if (!o) return o.error();
    objects.emplace_back(std::move(*o), where);
  }
  auto snap = assemble(std::move(objects), std::move(*findings), canon_version_of(doc));
  if (!snap) return snap.error();
  return LoadedBaseline{std::move(*info), std::move(*snap)};
}

namespace {

// The object files of one folder of a baseline directory, sorted.
Result<std::vector<fs::path>> object_files(const fs::path& folder) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const auto& path = it->path();
    if (path.extension() == ".json" || is_yaml_path(path.string())) files.push_back(path);
  }
  if (ec) return fail(folder.string(), "cannot list: " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

Result<LoadedBaseline> read_baseline_dir(const std::string& dir) {
  const fs::path root(dir);
  std::string header_path = (root / "baseline.json").string();
  std::error_code exists_ec;
  if (!fs::exists(header_path, exists_ec) && fs::exists(root / "baseline.yaml", exists_ec)) {
    header_path = (root / "baseline.yaml").string();
  }
  auto doc = read_document(header_path);
  if (!doc) return doc.error();
  auto info = info_from(*doc, header_path);
  if (!info) return info.error();
  auto findings = findings_from(*doc, header_path);
  if (!findings) return findings.error();
  std::vector<std::pair<CanonicalObject, std::string>> objects;
  for (auto kind : kKinds) {
    const fs::path folder = root / baseline_folder(kind);
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) continue;
    auto files = object_files(folder);
    if (!files) return files.error();
    for (const auto& path : *files) {
      auto j = read_document(path.string());
      if (!j) return j.error();
      auto o = object_from(*j, path.string());
      if (!o) return o.error();
      if (o->kind != kind) {
        return fail(path.string() + ": /kind", "a " + std::string(to_string(o->kind)) +
                                                   " in " + baseline_folder(kind) + "/");
      }
      objects.emplace_back(std::move(*o), path.string());
    }
  }
  auto snap = assemble(std::move(objects), std::move(*findings), canon_version_of(*doc));
  if (!snap) return snap.error();
  return LoadedBaseline{std::move(*info), std::move(*snap)};
}

Result<LoadedBaseline> load_baseline(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return read_baseline_dir(path);
  auto doc = read_document(path);
  if (!doc) return doc.error();
  return read_baseline(*doc, path);
}

namespace {

// One line per file under `path` (itself when a file): its path, size and modification time.
void list_stats(const fs::path& path, std::vector<std::string>& out) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec) {
    out.push_back(path.string() + " ?" + ec.message());
    return;
  }
  if (fs::is_directory(status)) {
    std::vector<fs::path> children;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      children.push_back(it->path());
    }
    if (ec) out.push_back(path.string() + " ?" + ec.message());
    std::sort(children.begin(), children.end());
    for (const auto& c : children) list_stats(c, out);
    return;
  }
  const auto size = fs::file_size(path, ec);
  const auto mtime = fs::last_write_time(path, ec).time_since_epoch().count();
  out.push_back(path.string() + " " + std::to_string(size) + " " + std::to_string(mtime));
}

}  // namespace

std::string baseline_fingerprint(const std::string& path) {
  std::vector<std::string> lines;
  list_stats(fs::path(path), lines);
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  return sha256_hex(all);
}

}  // namespace flowdrift::policy
