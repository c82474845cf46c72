// Baselines: flowdriftctl export writes a site's canonical content deterministically, as one
// document or one file per object, and every command reads it back as the same snapshot.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "policy/baseline.hpp"
#include "ctl/commands.hpp"
#include "ctl/site_file.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using namespace flowdrift::ctl;
using namespace flowdrift::policy;
using flowdrift::test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kPublic = FLOWDRIFT_PUBLIC_FIXTURES;
// A public v3 list payload (fixtures/nutanix-public/README.md): one page of an isolation rule
// listing, so incomplete as it is.
const std::string kPartialV3 = kPublic + "/v3_nsr_list_isolation_rule.json";

std::string read(const fs::path& p) {
  std::ifstream f(p);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// The same listing as a complete site file in `dir`.
std::string complete_site(TempDir& dir) {
  std::ifstream f(kPartialV3);
  json list = json::parse(f);
  list["metadata"]["offset"] = 0;
  list["metadata"]["total_matches"] = list["entities"].size();
  flowdrift::test::write_file(dir.file("site.json"), list.dump());
  return dir.file("site.json");
}

int export_to(const std::string& from, const std::string& output, std::string* err_text = nullptr,
              const std::string& format = "json") {
  std::ostringstream out, err;
  ExportArgs args;
  args.from = from;
  args.output = output;
  args.format = format;
  args.version = "9.9.9";
  args.now_ms = 1764950400000;  // 2025-12-05T16:00:00Z
  const int rc = run_export(args, out, err);
  if (err_text) *err_text = err.str();
  return rc;
}

LoadedSite loaded(const std::string& path) {
  auto site = load_site_file(path);
  if (!site) FAIL(site.error().message);
  return std::move(*site);
}

}  // namespace

TEST_CASE("an exported baseline reads back as the snapshot it came from", "[unit][ctl]") {
  TempDir dir;
  const std::string site_path = complete_site(dir);
  const LoadedSite original = loaded(site_path);
  REQUIRE(original.snapshot.count(policy::ObjectKind::Policy) > 0);
  REQUIRE(export_to(site_path, dir.file("baseline.json")) == 0);
  const LoadedSite back = loaded(dir.file("baseline.json"));
  CHECK(back.kind == SiteFileKind::Baseline);
  CHECK(back.api == config::Api::V3);
  CHECK(back.snapshot.hash == original.snapshot.hash);
  CHECK(back.snapshot.findings == original.snapshot.findings);
  for (std::size_t i = 0; i < back.snapshot.objects.size(); ++i) {
    CHECK(back.snapshot.objects[i].json == original.snapshot.objects[i].json);
    CHECK(back.snapshot.objects[i].mode == original.snapshot.objects[i].mode);
  }
  // The header says where it came from.
  const json doc = json::parse(read(dir.file("baseline.json")));
  CHECK(doc.at("format") == kBaselineFormat);
  CHECK(doc.at("site") == site_path);
  CHECK(doc.at("api") == "v3");
  CHECK(doc.at("flowdrift_version") == "9.9.9");
  CHECK(doc.at("exported_at") == "2025-12-05T16:00:00Z");
  CHECK(doc.at("snapshot_hash") == original.snapshot.hash);
}

TEST_CASE("an export diffed against the site it came from is in sync", "[unit][ctl]") {
  TempDir dir;
  const std::string site_path = complete_site(dir);
  REQUIRE(export_to(site_path, dir.file("b.json")) == 0);
  REQUIRE(export_to(site_path, dir.file("tree/")) == 0);
  for (const auto& baseline : {dir.file("b.json"), dir.file("tree")}) {
    std::ostringstream out, err;
    CHECK(run_diff({baseline, site_path, "json"}, out, err) == 0);
    INFO(out.str() << err.str());
    const json report = json::parse(out.str());
    CHECK(report.at("status") == "in_sync");
    CHECK(report.at("source").at("input") == "baseline");
  }
}

TEST_CASE("the directory form has one file per object, the same bytes each time", "[unit][ctl]") {
  TempDir dir;
  const std::string site_path = complete_site(dir);
  REQUIRE(export_to(site_path, dir.file("tree/")) == 0);
  const LoadedSite site = loaded(site_path);
  std::size_t files = 0;
  for (const auto& folder : baseline_folders()) {
    if (!fs::exists(dir.file("tree/" + folder))) continue;
    for (const auto& f : fs::directory_iterator(dir.file("tree/" + folder))) {
      (void)f;
      ++files;
    }
  }
  CHECK(files == site.snapshot.objects.size());
  const auto& first = site.snapshot.objects.front();
  const fs::path policy_file = dir.file("tree/policies/" + baseline_file_name(first.name) + ".json");
  REQUIRE(fs::exists(policy_file));
  CHECK(json::parse(read(policy_file)).at("object") == json::parse(first.json));

  // Exporting again changes nothing but the header's time; a policy gone from the site leaves
  // the tree.
  const std::string before = read(policy_file);
  const fs::path stale = dir.file("tree/policies/old-policy.json");
  std::ofstream(stale) << "{}";
  REQUIRE(export_to(site_path, dir.file("tree")) == 0);
  CHECK(read(policy_file) == before);
  CHECK_FALSE(fs::exists(stale));
  CHECK(loaded(dir.file("tree")).snapshot.hash == site.snapshot.hash);
}

TEST_CASE("a name becomes one file name and never a path", "[unit][ctl]") {
  CHECK(baseline_file_name("web-tier_1.v2") == "web-tier_1.v2");
  CHECK(baseline_file_name("../etc/passwd") == "%2E.%2Fetc%2Fpasswd");
  CHECK(baseline_file_name("Env:Prod a%b") == "Env%3AProd%20a%25b");
  CHECK(baseline_file_name("Zürich") == "Z%C3%BCrich");
}

TEST_CASE("a broken baseline names the file and the place", "[unit][ctl]") {
  TempDir dir;
  const std::string site_path = complete_site(dir);
  const LoadedSite site = loaded(site_path);
  BaselineInfo info{"primary", "v3", 0, "9.9.9"};
  json doc = baseline_document(site.snapshot, info);
  auto error_of = [&](const json& d) {
    flowdrift::test::write_file(dir.file("bad.json"), d.dump());
    auto r = load_site_file(dir.file("bad.json"));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().reason == ErrorReason::Malformed);
    return r.error().message;
  };
  json wrong_kind = doc;
  wrong_kind["objects"][0]["kind"] = "network";
  CHECK(error_of(wrong_kind) == dir.file("bad.json") + ": /objects/0/kind: expected one of policy, "
                                "address_group, service_group, category, entity_group");
  json twice = doc;
  twice["objects"].push_back(doc["objects"][0]);
  CHECK_THAT(error_of(twice), Catch::Contains("is already given at"));
  json no_mode = doc;
  for (auto& o : no_mode["objects"]) {
    if (o["kind"] == "policy") {
      o["object"].erase("mode");
      break;
    }
  }
  CHECK_THAT(error_of(no_mode), Catch::Contains("/object/mode: a policy needs its mode"));
  json future = doc;
  future["version"] = 99;
  CHECK(error_of(future) == dir.file("bad.json") + ": /version: expected 1");

  // A directory: the file at fault is named.
  REQUIRE(export_to(site_path, dir.file("tree/")) == 0);
  const auto& first = site.snapshot.objects.front();
  const std::string path = dir.file("tree/policies/" + baseline_file_name(first.name) + ".json");
  flowdrift::test::write_file(path, R"({"kind":"address_group","name":"x","object":{}})");
  auto r = load_site_file(dir.file("tree"));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message == path + ": /kind: a address_group in policies/");
}

TEST_CASE("export refuses an incomplete site file and writes nothing", "[unit][ctl]") {
  TempDir dir;
  std::string err;
  CHECK(export_to(kPartialV3, dir.file("out.json"), &err) == kExitError);
  CHECK_FALSE(fs::exists(dir.file("out.json")));
  CHECK_THAT(err, Catch::Contains("v3_nsr_list_isolation_rule.json"));
}

TEST_CASE("a YAML baseline reads back as the same snapshot, file or directory", "[unit][ctl]") {
  TempDir dir;
  const std::string site_path = complete_site(dir);
  const LoadedSite original = loaded(site_path);
  REQUIRE(export_to(site_path, dir.file("b.yaml"), nullptr, "yaml") == 0);
  CHECK(loaded(dir.file("b.yaml")).snapshot.hash == original.snapshot.hash);
  CHECK(read(dir.file("b.yaml")).find("\"format\": \"flowdrift-baseline\"") != std::string::npos);

  // The same directory re-exported as YAML: the JSON files and header give way.
  REQUIRE(export_to(site_path, dir.file("tree/")) == 0);
  REQUIRE(export_to(site_path, dir.file("tree/"), nullptr, "yaml") == 0);
  CHECK_FALSE(fs::exists(dir.file("tree/baseline.json")));
  CHECK(fs::exists(dir.file("tree/baseline.yaml")));
  for (const auto& f : fs::directory_iterator(dir.file("tree/policies"))) {
    CHECK(f.path().extension() == ".yaml");
  }
  CHECK(loaded(dir.file("tree")).snapshot.hash == original.snapshot.hash);
}

TEST_CASE("YAML scalars keep their JSON types, and a duplicate key is named", "[unit][ctl]") {
  TempDir dir;
  const json value = {{"s", "123"}, {"t", "true"}, {"n", 123}, {"b", false}, {"z", nullptr},
                      {"f", 1.5}, {"u", "Zürich \"q\"\n"}, {"e", json::array()},
                      {"o", json::object()}, {"l", {{{"k", 1}}, {1, 2}}}};
  flowdrift::test::write_file(dir.file("v.yaml"), baseline_text(value, BaselineFormat::Yaml));
  auto back = read_document(dir.file("v.yaml"));
  REQUIRE(back.has_value());
  CHECK(*back == value);
  CHECK(back->dump() == value.dump());

  flowdrift::test::write_file(dir.file("dup.yaml"), "a: 1\nb: 2\na: 3\n");
  auto dup = read_document(dir.file("dup.yaml"));
  REQUIRE_FALSE(dup.has_value());
  CHECK(dup.error().message == dir.file("dup.yaml") + ":3:1: key 'a' given twice");
}

TEST_CASE("a YAML baseline is held to JSON's bounds: UTF-8, string length, depth", "[unit][ctl]") {
  // Found by fuzz_baseline_yaml: invalid UTF-8 in a YAML string reached nlohmann's dump().
  auto bad_utf8 = parse_document("a: \"\xa0x\"\n", "b.yaml", true);
  REQUIRE_FALSE(bad_utf8.has_value());
  CHECK(bad_utf8.error().message == "b.yaml:1:4: invalid UTF-8");
  auto bad_key = parse_document("\"\xff\": 1\n", "b.yaml", true);
  REQUIRE_FALSE(bad_key.has_value());
  CHECK(bad_key.error().message == "b.yaml:1:1: invalid UTF-8");
  auto long_string = parse_document("a: " + std::string(70000, 'x') + "\n", "b.yaml", true);
  REQUIRE_FALSE(long_string.has_value());
  CHECK_THAT(long_string.error().message, Catch::Contains("longer than the limit of 65536"));
  std::string deep;
  for (int i = 0; i < 70; ++i) deep += "[";
  for (int i = 0; i < 70; ++i) deep += "]";
  auto too_deep = parse_document(deep, "b.yaml", true);
  REQUIRE_FALSE(too_deep.has_value());
  CHECK_THAT(too_deep.error().message, Catch::Contains("nested deeper than 64"));
}
