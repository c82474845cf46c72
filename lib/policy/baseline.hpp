// Baselines (docs/cli.md "export"): a site's canonical content as files to keep in git and
// review, names rather than UUIDs. One document (-o FILE), or a directory (-o DIR/) holding a
// header (baseline.json or .yaml) and one file per policy, group and category value, so that `git diff`
// shows one policy's change. Order and formatting are deterministic: exporting the same
// snapshot twice gives the same bytes (the header's export time apart). Read back by
// flowdriftctl like any site file, a baseline gives the snapshot it was exported from.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "policy/model.hpp"

namespace flowdrift::policy {

inline constexpr const char* kBaselineFormat = "flowdrift-baseline";
inline constexpr int kBaselineVersion = 1;

// What the header records besides the snapshot's own hash and canon version.
struct BaselineInfo {
  std::string site;  // the site's name, or the file it was exported from
  std::string api;   // "v3" or "v4": the API the content came from
  std::int64_t exported_ms = 0;
  std::string flowdrift_version;
};

// How a baseline is written: JSON, or block YAML (every string quoted, so that it reads back
// as the same JSON). Readers take either, by the file's extension (.yaml, .yml).
enum class BaselineFormat { Json, Yaml };
std::string baseline_text(const nlohmann::json& doc, BaselineFormat format);
bool is_yaml_path(const std::string& path);
// A baseline file's document, JSON (read strictly) or YAML; errors name the file and the place.
Result<nlohmann::json> read_document(const std::string& path);
// The same from text already read (`name` in messages).
Result<nlohmann::json> parse_document(std::string_view text, const std::string& name, bool yaml);

// The single-file form.
nlohmann::json baseline_document(const Snapshot& snap, const BaselineInfo& info);
// The directory form: relative path -> file text (the header is "baseline.json" or ".yaml").
std::map<std::string, std::string> baseline_files(const Snapshot& snap,
                                                  const BaselineInfo& info,
                                                  BaselineFormat format = BaselineFormat::Json);
// The directory of a kind's files ("policies", "address_groups", ...), and all of them.
std::string baseline_folder(ObjectKind kind);
std::vector<std::string> baseline_folders();
// A name as a file name: bytes other than letters, digits, '.', '-' and '_' (and a leading '.')
// as %XX, so that every name gives one file and no name a path.
std::string baseline_file_name(const std::string& name);

struct LoadedBaseline {
  BaselineInfo info;
  Snapshot snapshot;
};

// Reads a baseline document (its text read as `name`) or directory. Errors are Malformed and
// name the file and the place: an unknown kind, a duplicate name, a policy without its type or
// mode, a header of another format or version.
Result<LoadedBaseline> read_baseline(const nlohmann::json& doc, const std::string& name);
Result<LoadedBaseline> read_baseline_dir(const std::string& dir);
// Either, by what `path` is: a directory, or a JSON or YAML (by extension) document. What a
// pair's `source: {baseline: PATH}` reads (docs/configuration.md).
Result<LoadedBaseline> load_baseline(const std::string& path);
// A digest of what a baseline on disk is made of: every file's path, size and modification
// time (no file is read). It changes when a file is written, added, removed or replaced (a git
// checkout does all four); an unreadable path gives a digest of the error.
std::string baseline_fingerprint(const std::string& path);

}  // namespace flowdrift::policy
