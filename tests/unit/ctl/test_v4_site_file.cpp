// v4 site files for flowdriftctl: list and single-policy responses with their category and group
// lists given alongside, v4 dumps, and v3/v4 pairs of the same intent.
#include <catch2/catch.hpp>

#include <functional>
#include <sstream>

#include "ctl/commands.hpp"
#include "ctl/report.hpp"
#include "ctl/site_file.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using namespace flowdrift::ctl;
using nlohmann::json;
using flowdrift::test::TempDir;
using flowdrift::test::write_file;

namespace {

const std::string kPublic = FLOWDRIFT_PUBLIC_FIXTURES;
const std::string kLocal = FLOWDRIFT_TEST_FIXTURES;
// The public v4 policy: a GET response whose rules reference one category and one service group.
const std::string kV4Policy = kPublic + "/v4_network_security_policy.wire_derived.json";
constexpr const char* kPolicyCategory = "569a018e-18ac-4813-b00f-2aa0d0005042";
constexpr const char* kPolicyServiceGroup = "f77c1342-95e4-411e-9281-42ef2123d5b1";

json read_json(const std::string& path) { return json::parse(flowdrift::test::read_file(path)); }

// A v4 list response as Prism Central sends it.
// (Items as a vector: `{item}` as a json parameter would be the item itself, not an array.)
json v4_list(const std::string& object_type, const std::vector<json>& items, long long total = -1) {
  return {{"$objectType", object_type},
          {"$reserved", {{"$fv", "v4.r0"}}},
          {"data", json(items)},
          {"metadata",
           {{"totalAvailableResults", total < 0 ? static_cast<long long>(items.size()) : total},
            {"flags", {{{"name", "hasError"}, {"value", false}}}}}}};
}
json categories_list(const std::vector<json>& items, long long total = -1) {
  return v4_list("prism.v4.config.ListCategoriesApiResponse", items, total);
}
json service_groups_list(const std::vector<json>& items) {
  return v4_list("microseg.v4.config.ListServiceGroupsApiResponse", items);
}
json address_groups_list(const std::vector<json>& items) {
  return v4_list("microseg.v4.config.ListAddressGroupsApiResponse", items);
}
json policies_list(const std::vector<json>& items, long long total = -1) {
  return v4_list("microseg.v4.config.ListNetworkSecurityPoliciesApiResponse", items, total);
}

// The public SDK samples (snake_case) in the wire form (camelCase), as the fixture README
// derives the policy: the same values under the Go SDK's json tags.
json wire_category() {
  const json c = read_json(kPublic + "/v4_address_service_category.sdk_snake.json").at("category");
  return {{"$objectType", "prism.v4.config.Category"}, {"extId", c.at("ext_id")},
          {"key", c.at("key")}, {"value", c.at("value")}, {"type", c.at("type")},
          {"description", c.at("description")}};
}
json wire_service_group() {
  const json g =
      read_json(kPublic + "/v4_address_service_category.sdk_snake.json").at("service_group");
  json tcp = json::array();
  for (const auto& r : g.at("tcp_services")) {
    tcp.push_back({{"startPort", r.at("start_port")}, {"endPort", r.at("end_port")}});
  }
  return {{"$objectType", "microseg.v4.config.ServiceGroup"}, {"extId", g.at("ext_id")},
          {"name", g.at("name")}, {"description", g.at("description")},
          {"isSystemDefined", g.at("is_system_defined")}, {"tcpServices", tcp}};
}

std::string write_json(const TempDir& dir, const std::string& name, const json& doc) {
  write_file(dir.file(name), doc.dump());
  return dir.file(name);
}

bool has_finding(const policy::Snapshot& s, const std::string& kind, const std::string& detail) {
  for (const auto& f : s.findings) {
    if (f.kind == kind && f.detail.find(detail) != std::string::npos) return true;
  }
  return false;
}

const policy::CanonicalObject* object(const policy::Snapshot& s, policy::ObjectKind kind,
                                      const std::string& name) {
  for (const auto& o : s.objects) {
    if (o.kind == kind && o.name == name) return &o;
  }
  return nullptr;
}

// v4_same_intent.json holds one intent as v3 and as v4 site data.
json same_intent() { return read_json(kLocal + "/policy/v4_same_intent.json"); }

std::vector<json> items(const json& list) { return list.get<std::vector<json>>(); }

policy::V3SiteData v3_data(const json& doc) {
  policy::V3SiteData d;
  d.rules = items(doc.at("v3").at("rules"));
  d.address_groups = items(doc.at("v3").at("address_groups"));
  d.service_groups = items(doc.at("v3").at("service_groups"));
  for (const auto& [key, values] : doc.at("v3").at("category_values").items()) {
    d.category_values[key] = items(values);
  }
  return d;
}

policy::V4SiteData v4_data(const json& doc) {
  policy::V4SiteData d;
  d.policies = items(doc.at("v4").at("policies"));
  d.address_groups = items(doc.at("v4").at("address_groups"));
  d.service_groups = items(doc.at("v4").at("service_groups"));
  d.categories = items(doc.at("v4").at("categories"));
  return d;
}

// The v4 side of v4_same_intent.json as four list response files, as an operator saves them.
struct V4Files {
  std::string policies;
  V4References refs;
};
V4Files write_v4_lists(const TempDir& dir, const policy::V4SiteData& d, const std::string& prefix) {
  V4Files f;
  f.policies = write_json(dir, prefix + "-policies.json", policies_list(d.policies));
  f.refs.categories = write_json(dir, prefix + "-categories.json", categories_list(d.categories));
  f.refs.address_groups =
      write_json(dir, prefix + "-address-groups.json", address_groups_list(d.address_groups));
  f.refs.service_groups =
      write_json(dir, prefix + "-service-groups.json", service_groups_list(d.service_groups));
  return f;
}

// A JSON diff of `source` against the v4 lists `replica` (policies with their references).
DiffArgs diff_against_lists(const std::string& source, const V4Files& replica) {
  DiffArgs args{source, replica.policies, "json"};
  args.replica_refs.categories = replica.refs.categories;
  args.replica_refs.address_groups = replica.refs.address_groups;
  args.replica_refs.service_groups = replica.refs.service_groups;
  return args;
}

struct DiffRun {
  int rc;
  std::string out;
  std::string err;
};
DiffRun run_ctl_diff(DiffArgs args) {
  std::ostringstream out, err;
  const int rc = run_diff(args, out, err);
  return {rc, out.str(), err.str()};
}

}  // namespace

TEST_CASE("a v4 policy file without the categories it references is refused, naming the file "
          "and the option",
          "[unit][ctl][v4]") {
  auto r = load_site_file(kV4Policy, V4References{{}, {}, {}, "--replica-"});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().reason == ErrorReason::Malformed);
  CHECK_THAT(r.error().message, Catch::StartsWith(kV4Policy + ": "));
  CHECK_THAT(r.error().message, Catch::Contains("1 policy references categories by extId"));
  CHECK_THAT(r.error().message, Catch::Contains("--replica-categories FILE"));
  CHECK_THAT(r.error().message, Catch::Contains("/api/prism/v4.0/config/categories"));

  // With the categories but not the service groups its rule uses: refused for those.
  TempDir dir;
  V4References refs{write_json(dir, "cats.json", categories_list({wire_category()})), {}, {},
                    "--source-"};
  auto no_groups = load_site_file(kV4Policy, refs);
  REQUIRE_FALSE(no_groups.has_value());
  CHECK_THAT(no_groups.error().message, Catch::Contains("--source-service-groups FILE"));

  // The same through the command: exit 2, the message on standard error, nothing on stdout.
  DiffArgs args{kV4Policy, kV4Policy};
  auto run = run_ctl_diff(args);
  CHECK(run.rc == kExitError);
  CHECK(run.out.empty());
  CHECK_THAT(run.err, Catch::Contains(kV4Policy));
  CHECK_THAT(run.err, Catch::Contains("--source-categories"));
}

TEST_CASE("a v4 policy file referencing entity groups or VPCs is refused: a dump carries them",
          "[unit][ctl][v4]") {
  TempDir dir;
  json policy = json::parse(flowdrift::test::read_file(kV4Policy));
  json& data = policy.contains("data") ? policy["data"] : policy;
  data["vpcReferences"] = json::array({"66666666-0000-4000-8000-0000000000c1"});
  const std::string file = write_json(dir, "vpc-policy.json", policy);
  V4References refs{write_json(dir, "cats.json", categories_list({wire_category()})), {},
                    write_json(dir, "sgs.json", service_groups_list({wire_service_group()})), ""};
  REQUIRE(load_site_file(kV4Policy, refs).has_value());  // the same without the VPC reads
  auto r = load_site_file(file, refs);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().reason == ErrorReason::Malformed);
  CHECK_THAT(r.error().message, Catch::Contains("1 policy references VPCs by extId") &&
                                    Catch::Contains("flowdriftctl dump"));
}

TEST_CASE("extIds the given lists do not hold become dangling_reference findings",
          "[unit][ctl][v4]") {
  TempDir dir;
  // The public category and service group are not the ones the public policy references.
  V4References refs{write_json(dir, "cats.json", categories_list({wire_category()})), {},
                    write_json(dir, "sgs.json", service_groups_list({wire_service_group()})), ""};
  auto r = load_site_file(kV4Policy, refs);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.has_value());
  CHECK(r->kind == SiteFileKind::V4Entity);
  CHECK(r->api == config::Api::V4);
  CHECK(r->snapshot.count(policy::ObjectKind::Policy) == 1);
  CHECK(has_finding(r->snapshot, "dangling_reference", kPolicyCategory));
  CHECK(has_finding(r->snapshot, "dangling_reference", kPolicyServiceGroup));

  // Once both are listed they resolve: key:value and the group's name, no finding.
  json category = wire_category();
  category["extId"] = kPolicyCategory;
  category["key"] = "AppTier";
  category["value"] = "Web";
  json group = wire_service_group();
  group["extId"] = kPolicyServiceGroup;
  refs.categories = write_json(dir, "cats2.json", categories_list({wire_category(), category}));
  refs.service_groups = write_json(dir, "sgs2.json", service_groups_list({group}));
  auto resolved = load_site_file(kV4Policy, refs);
  INFO((resolved ? std::string() : resolved.error().message));
  REQUIRE(resolved.has_value());
  CHECK(resolved->snapshot.findings.empty());
  const auto* policy = object(resolved->snapshot, policy::ObjectKind::Policy,
                              "ansible-nsr-HqsWGHjQBsok2-updated");
  REQUIRE(policy != nullptr);
  CHECK(policy->mode == "monitor");
  CHECK_THAT(policy->json, Catch::Contains("AppTier:Web"));
  CHECK_THAT(policy->json, Catch::Contains("6a44"));
  CHECK(object(resolved->snapshot, policy::ObjectKind::ServiceGroup, "6a44") != nullptr);
}

TEST_CASE("incomplete v4 lists are refused and the pages of one listing are accepted as an array",
          "[unit][ctl][v4]") {
  TempDir dir;
  const json doc = same_intent();
  const auto d = v4_data(doc);
  auto files = write_v4_lists(dir, d, "site");

  SECTION("one page of a longer policies listing") {
    auto path = write_json(dir, "page0.json", policies_list({d.policies[0]}, 3));
    auto r = load_site_file(path, files.refs);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().reason == ErrorReason::Truncated);
    CHECK_THAT(r.error().message, Catch::StartsWith(path + ": incomplete: 1 of 3 policies"));
  }
  SECTION("a categories list missing a page names the categories file") {
    auto cats = write_json(dir, "cats.json", categories_list({d.categories[0]}, 7));
    files.refs.categories = cats;
    auto r = load_site_file(files.policies, files.refs);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().reason == ErrorReason::Truncated);
    CHECK_THAT(r.error().message, Catch::StartsWith(cats + ": incomplete: 1 of 7 categories"));
  }
  SECTION("all pages, as `jq -s .` writes them") {
    json pages = json::array({policies_list({d.policies[0], d.policies[1]}, 3),
                              policies_list({d.policies[2]}, 3)});
    auto path = write_json(dir, "pages.json", pages);
    auto r = load_site_file(path, files.refs);
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r.has_value());
    CHECK(r->kind == SiteFileKind::V4List);
    auto whole = load_site_file(files.policies, files.refs);
    REQUIRE(whole.has_value());
    CHECK(r->snapshot.hash == whole->snapshot.hash);
  }
  SECTION("overlapping pages") {
    json pages = json::array({policies_list({d.policies[0], d.policies[1]}, 3),
                              policies_list({d.policies[1]}, 3)});
    auto path = write_json(dir, "pages.json", pages);
    auto r = load_site_file(path, files.refs);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("/1/data/0/extId"));
    CHECK_THAT(r.error().message, Catch::Contains("listed twice"));
  }
  SECTION("pages whose totals disagree") {
    json pages = json::array({policies_list({d.policies[0], d.policies[1]}, 3),
                              policies_list({d.policies[2]}, 4)});
    auto r = load_site_file(write_json(dir, "pages.json", pages), files.refs);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("/1/metadata/totalAvailableResults: 4 differs"));
  }
  SECTION("a list without metadata.totalAvailableResults") {
    json list = policies_list(d.policies);
    list["metadata"].erase("totalAvailableResults");
    auto r = load_site_file(write_json(dir, "nototal.json", list), files.refs);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("/metadata/totalAvailableResults: missing"));
  }
  SECTION("an empty categories list while policies reference categories") {
    files.refs.categories = write_json(dir, "none.json", categories_list({}));
    auto r = load_site_file(files.policies, files.refs);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().reason == ErrorReason::EmptyList);
    CHECK_THAT(r.error().message, Catch::StartsWith(files.refs.categories + ": no categories"));
  }
}

TEST_CASE("wrong or unusable reference files are refused with the file and the reason",
          "[unit][ctl][v4]") {
  TempDir dir;
  const auto d = v4_data(same_intent());
  auto files = write_v4_lists(dir, d, "site");

  SECTION("an address-groups list given as the categories") {
    files.refs.categories = files.refs.address_groups;
    auto r = load_site_file(files.policies, files.refs);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::StartsWith(files.refs.address_groups + ": /$objectType"));
    CHECK_THAT(r.error().message, Catch::Contains("is not a categories list"));
  }
  SECTION("Python SDK snake_case output") {
    const json snake =
        read_json(kPublic + "/v4_address_service_category.sdk_snake.json").at("category");
    files.refs.categories = write_json(dir, "snake.json", categories_list({snake}));
    auto r = load_site_file(files.policies, files.refs);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::StartsWith(files.refs.categories + ": /data/0"));
    CHECK_THAT(r.error().message, Catch::Contains("snake_case"));
  }
  SECTION("an ErrorResponse saved instead of a list") {
    json error{{"$objectType", "prism.v4.config.ListCategoriesApiResponse"},
               {"data",
                {{"$objectType", "prism.v4.error.ErrorResponse"},
                 {"error", {{{"code", "PRISM-40301"}, {"message", "access denied"}}}}}}};
    files.refs.categories = write_json(dir, "error.json", error);
    auto r = load_site_file(files.policies, files.refs);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("ErrorResponse"));
    CHECK_THAT(r.error().message, Catch::Contains("PRISM-40301: access denied"));
  }
  SECTION("a category entity without its key names the categories file and the entity") {
    json cats = categories_list(d.categories);
    cats["data"][2].erase("key");
    files.refs.categories = write_json(dir, "nokey.json", cats);
    auto r = load_site_file(files.policies, files.refs);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::StartsWith(files.refs.categories + ": categories[2]"));
    CHECK_THAT(r.error().message, Catch::Contains("/key"));
  }
  SECTION("reference lists with a v3 file") {
    auto v3 = write_json(dir, "v3.json",
                         {{"metadata", {{"kind", "network_security_rule"}, {"total_matches", 0}}},
                          {"entities", json::array()}});
    auto r = load_site_file(v3, files.refs);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::StartsWith(v3 + ": is a v3 list"));
  }
  SECTION("an unreadable categories file") {
    files.refs.categories = dir.file("absent.json");
    auto r = load_site_file(files.policies, files.refs);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::StartsWith(dir.file("absent.json") + ": cannot read"));
  }
}

TEST_CASE("v3 and v4 files of the same intent diff in sync and a change on the v4 side is drift",
          "[unit][ctl][v4]") {
  TempDir dir;
  const json doc = same_intent();
  const auto v3 = write_json(dir, "v3-dump.json", make_dump(v3_data(doc), "primary", "https://a", 1));
  auto d4 = v4_data(doc);
  const auto v4dump = write_json(dir, "v4-dump.json", make_dump(d4, "dr", "https://b", 2));
  auto lists = write_v4_lists(dir, d4, "dr");

  auto loaded = load_site_file(v4dump);
  REQUIRE(loaded.has_value());
  CHECK(loaded->kind == SiteFileKind::Dump);
  CHECK(loaded->api == config::Api::V4);

  DiffArgs dumps{v3, v4dump};
  auto same = run_ctl_diff(dumps);
  INFO(same.out << same.err);
  CHECK(same.rc == kExitInSync);
  CHECK_THAT(same.out, Catch::StartsWith("IN SYNC"));

  auto same_list = run_ctl_diff(diff_against_lists(v3, lists));
  INFO(same_list.out << same_list.err);
  REQUIRE(same_list.rc == kExitInSync);
  auto j = json::parse(same_list.out);
  CHECK(j.at("status") == "in_sync");
  CHECK(j.at("source").at("api") == "v3");
  CHECK(j.at("replica").at("api") == "v4");
  CHECK(j.at("replica").at("input") == "v4 list");
  CHECK(j.at("replica").at("references").at("categories") == lists.refs.categories);

  // The DR copy of web-app switched to MONITOR: one enforcement_mode item.
  for (auto& p : d4.policies) {
    if (p.at("name") == "web-app") p["state"] = "MONITOR";
  }
  auto changed = write_v4_lists(dir, d4, "dr2");
  auto run = run_ctl_diff(diff_against_lists(v3, changed));
  INFO(run.out << run.err);
  REQUIRE(run.rc == kExitDrift);
  auto k = json::parse(run.out);
  REQUIRE(k.at("items").size() == 1);
  CHECK(k.at("items")[0].at("policy") == "web-app");
  CHECK(k.at("items")[0].at("kind") == "enforcement_mode");

  // A category the DR list lacks (AppType:DB, web-app's outbound peer): a dangling reference.
  auto d4b = v4_data(doc);
  const std::string db_id = "44444444-0000-4000-8000-0000000000f4";
  std::erase_if(d4b.categories, [&](const json& c) { return c.at("extId") == db_id; });
  REQUIRE(d4b.categories.size() == 6);
  auto lacking = write_v4_lists(dir, d4b, "dr3");
  DiffArgs dangling{v3, lacking.policies, "json"};
  dangling.replica_refs = lacking.refs;
  auto dr = run_ctl_diff(dangling);
  INFO(dr.out << dr.err);
  REQUIRE(dr.rc == kExitDrift);
  auto m = json::parse(dr.out);
  bool found = false;
  for (const auto& f : m.at("replica").at("findings")) {
    found = found || (f.at("kind") == "dangling_reference" &&
                      f.at("detail").get<std::string>().find(db_id) != std::string::npos);
  }
  CHECK(found);
  // (The diff may also report AppType:DB as missing on the replica: a reference item.)
  bool dangling_item = false;
  for (const auto& it : m.at("items")) {
    CHECK(it.at("policy") == "web-app");
    dangling_item = dangling_item || it.at("kind") == "dangling_reference";
  }
  CHECK(dangling_item);
}

TEST_CASE("dump versions: version 1 (v3) still reads and unknown versions and APIs are refused",
          "[unit][ctl][v4]") {
  const json doc = same_intent();
  json v1 = make_dump(v3_data(doc), "primary", "https://a", 1);
  v1["version"] = 1;
  auto ok = parse_site_text(v1.dump(), "v1.json");
  INFO((ok ? std::string() : ok.error().message));
  REQUIRE(ok.has_value());
  CHECK(ok->api == config::Api::V3);

  json v1v4 = make_dump(v4_data(doc), "dr", "https://b", 2);
  v1v4["version"] = 1;
  auto bad_api = parse_site_text(v1v4.dump(), "v1v4.json");
  REQUIRE_FALSE(bad_api.has_value());
  CHECK_THAT(bad_api.error().message, Catch::StartsWith("v1v4.json: /api"));

  json v3 = make_dump(v4_data(doc), "dr", "https://b", 2);
  v3["version"] = 3;
  auto future = parse_site_text(v3.dump(), "v3.json");
  REQUIRE_FALSE(future.has_value());
  CHECK_THAT(future.error().message, Catch::StartsWith("v3.json: /version"));

  json no_api = make_dump(v4_data(doc), "dr", "https://b", 2);
  no_api.erase("api");
  auto missing = parse_site_text(no_api.dump(), "noapi.json");
  REQUIRE_FALSE(missing.has_value());
  CHECK_THAT(missing.error().message, Catch::Contains("/api: missing"));
}

namespace {

// v4_same_intent.json's v4 side with an entity group and a VPC, as a v4.3 site lists them.
policy::V4SiteData v4_data_with_newer_lists() {
  auto d = v4_data(same_intent());
  d.entity_groups.push_back({{"$objectType", "microseg.v4.config.EntityGroup"},
                             {"extId", "e0000000-0000-4000-8000-000000000001"},
                             {"name", "eg-web"},
                             {"description", ""}});
  d.vpcs.push_back({{"$objectType", "networking.v4.config.Vpc"},
                    {"extId", "70000000-0000-4000-8000-000000000001"},
                    {"name", "vpc-prod"}});
  return d;
}

std::string text(const prism::V4Versions& v) {
  return "microseg=" + v.microseg + " prism=" + v.prism + " networking=" + v.networking;
}

}  // namespace

TEST_CASE("v4 dumps carry entity groups, VPCs and the API versions, and read back",
          "[unit][ctl][v4]") {
  const auto d = v4_data_with_newer_lists();
  const prism::V4Versions versions{"v4.3", "v4.3", "v4.2"};
  const json dump = make_dump(d, "dr", "https://b", 2, versions);
  CHECK(dump.at("entity_groups") == json(d.entity_groups));
  CHECK(dump.at("vpcs") == json(d.vpcs));
  CHECK(dump.at("api_versions") == json{{"microseg", "v4.3"}, {"prism", "v4.3"}, {"networking", "v4.2"}});

  const json reread = json::parse(dump.dump());
  auto data = v4_dump_data(reread, "dr.json");
  REQUIRE(data.has_value());
  CHECK(data->policies == d.policies);
  CHECK(data->address_groups == d.address_groups);
  CHECK(data->service_groups == d.service_groups);
  CHECK(data->categories == d.categories);
  CHECK(data->entity_groups == d.entity_groups);
  CHECK(data->vpcs == d.vpcs);

  auto loaded = parse_site_text(dump.dump(), "dr.json");
  INFO((loaded ? std::string() : loaded.error().message));
  REQUIRE(loaded.has_value());
  CHECK(loaded->api == config::Api::V4);
  CHECK(text(loaded->api_versions) == text(versions));
}

TEST_CASE("v4 dumps without entity groups, VPCs or versions (older dumps) still read",
          "[unit][ctl][v4]") {
  json older = make_dump(v4_data(same_intent()), "dr", "https://b", 2);
  for (const char* key : {"entity_groups", "vpcs", "api_versions"}) older.erase(key);
  auto data = v4_dump_data(older, "old.json");
  REQUIRE(data.has_value());
  CHECK(data->entity_groups.empty());
  CHECK(data->vpcs.empty());
  CHECK(data->policies.size() == v4_data(same_intent()).policies.size());
  auto loaded = parse_site_text(older.dump(), "old.json");
  INFO((loaded ? std::string() : loaded.error().message));
  REQUIRE(loaded.has_value());
  CHECK(text(loaded->api_versions) == text({}));
}

TEST_CASE("v4 dumps with malformed entity groups, VPCs or versions are refused", "[unit][ctl][v4]") {
  const json dump = make_dump(v4_data_with_newer_lists(), "dr", "https://b", 2, {"v4.3", "v4.3", ""});
  using Case = std::pair<std::function<void(json&)>, const char*>;
  const std::vector<Case> cases{
      {[](json& d) { d["entity_groups"] = 5; }, "bad.json: /entity_groups: expected an array"},
      {[](json& d) { d["vpcs"] = json::object(); }, "bad.json: /vpcs: expected an array"},
      {[](json& d) { d["api_versions"] = json::array(); }, "bad.json: /api_versions: expected an object"},
      {[](json& d) { d["api_versions"]["microseg"] = 4; },
       "bad.json: /api_versions/microseg: expected a string"},
  };
  for (const auto& [mangle, expected] : cases) {
    json bad = dump;
    mangle(bad);
    auto loaded = parse_site_text(bad.dump(), "bad.json");
    INFO(expected);
    REQUIRE_FALSE(loaded.has_value());
    CHECK(loaded.error().reason == ErrorReason::Malformed);
    CHECK(loaded.error().message == expected);
  }
}
