#include <catch2/catch.hpp>

#include "ctl/commands.hpp"
#include "ctl/report.hpp"
#include "ctl/site_file.hpp"
#include "diff/diff.hpp"
#include "policy/baseline.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using namespace flowdrift::ctl;
using nlohmann::json;

namespace {

const std::string kPublic = FLOWDRIFT_PUBLIC_FIXTURES;

json rule(const std::string& name, const std::string& action, int port) {
  return {{"metadata", {{"kind", "network_security_rule"}, {"uuid", name + "-uuid"}}},
          {"spec",
           {{"name", name},
            {"resources",
             {{"app_rule",
               {{"action", action},
                {"target_group",
                 {{"peer_specification_type", "FILTER"},
                  {"filter", {{"type", "CATEGORIES_MATCH_ALL"}, {"kind_list", {"vm"}},
                              {"params", {{"AppType", {"Web"}}}}}}}},
                {"inbound_allow_list",
                 {{{"peer_specification_type", "ALL"},
                   {"protocol", "TCP"},
                   {"tcp_port_range_list", {{{"start_port", port}, {"end_port", port}}}}}}}}}}}}}};
}

json list(std::vector<json> rules, int total = -1) {
  return {{"api_version", "3.1"},
          {"metadata",
           {{"kind", "network_security_rule"},
            {"total_matches", total < 0 ? static_cast<int>(rules.size()) : total}}},
          {"entities", rules}};
}

int diff_files(const json& a, const json& b, std::string format, std::string* out_text,
               std::string* err_text) {
  flowdrift::test::TempDir dir;
  flowdrift::test::write_file(dir.file("a.json"), a.dump());
  flowdrift::test::write_file(dir.file("b.json"), b.dump());
  std::ostringstream out, err;
  int rc = run_diff({dir.file("a.json"), dir.file("b.json"), std::move(format)}, out, err);
  *out_text = out.str();
  *err_text = err.str();
  return rc;
}

}  // namespace

TEST_CASE("a partial list (total_matches above its entities) is refused as incomplete",
          "[unit][ctl]") {
  // The public fixture is one page of three.
  auto r = load_site_file(kPublic + "/v3_nsr_list_isolation_rule.json");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().reason == ErrorReason::Truncated);
  CHECK_THAT(r.error().message, Catch::Contains("v3_nsr_list_isolation_rule.json"));
  CHECK_THAT(r.error().message, Catch::Contains("1 of 3"));
}

TEST_CASE("an intent response loads as one policy", "[unit][ctl]") {
  auto r = load_site_file(kPublic + "/v3_nsr_app_rule_intent_response.json");
  REQUIRE(r.has_value());
  CHECK(r->kind == SiteFileKind::V3Entity);
  CHECK(r->snapshot.count(policy::ObjectKind::Policy) == 1);
}

TEST_CASE("syntax errors name the file, line and column", "[unit][ctl]") {
  auto r = parse_site_text("{\n  \"entities\": [\n    oops\n  ]\n}", "dr.json");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().reason == ErrorReason::Malformed);
  CHECK_THAT(r.error().message, Catch::StartsWith("dr.json: not valid JSON: entities[0]: "));
  CHECK_THAT(r.error().message, Catch::Contains("at line 3, column "));
  auto wrong = parse_site_text(R"({"metadata":{"kind":"vm","total_matches":0},"entities":[]})", "vm.json");
  REQUIRE_FALSE(wrong.has_value());
  CHECK_THAT(wrong.error().message, Catch::Contains("/metadata/kind"));
}

TEST_CASE("flowdriftctl diff: exit 0 in sync, 1 drift, 2 incomplete", "[unit][ctl]") {
  std::string out, err;
  auto a = list({rule("web", "APPLY", 443), rule("db", "APPLY", 5432)});
  auto same = list({rule("db", "APPLY", 5432), rule("web", "APPLY", 443)});
  CHECK(diff_files(a, same, "text", &out, &err) == kExitInSync);
  CHECK_THAT(out, Catch::StartsWith("IN SYNC"));

  auto drifted = list({rule("web", "MONITOR", 443)});
  CHECK(diff_files(a, drifted, "text", &out, &err) == kExitDrift);
  CHECK_THAT(out, Catch::Contains("missing"));
  CHECK_THAT(out, Catch::Contains("enforcement_mode"));

  CHECK(diff_files(a, list({rule("web", "APPLY", 443)}, 2), "text", &out, &err) == kExitError);
  CHECK_THAT(err, Catch::Contains("incomplete"));
}

TEST_CASE("flowdriftctl diff --format json follows the documented schema", "[unit][ctl]") {
  std::string out, err;
  auto a = list({rule("web", "APPLY", 443), rule("db", "APPLY", 5432)});
  auto b = list({rule("web", "APPLY", 8443)});
  REQUIRE(diff_files(a, b, "json", &out, &err) == kExitDrift);
  auto j = json::parse(out);
  CHECK(j.at("schema") == kDiffSchema);
  CHECK(j.at("status") == "drifted");
  CHECK(j.at("source").at("policies") == 2);
  CHECK(j.at("replica").at("policies") == 1);
  REQUIRE(j.at("items").size() == 2);
  const auto& missing = j.at("items").at(0);
  CHECK(missing.at("policy") == "db");
  CHECK(missing.at("kind") == "missing");
  CHECK(missing.at("severity") == "critical");
  const auto& modified = j.at("items").at(1);
  CHECK(modified.at("policy") == "web");
  CHECK(modified.at("kind") == "modified");
  CHECK(modified.at("direction") == "both");
  bool names_port = false;
  for (const auto& f : modified.at("fields")) {
    names_port = names_port || f.at("path").get<std::string>().find("8443") != std::string::npos;
  }
  CHECK(names_port);
}

TEST_CASE("time arguments", "[unit][ctl]") {
  CHECK(parse_time("1764064800", 0) == 1764064800000LL);
  CHECK(parse_time("2026-11-25T10:00:00Z", 0) == 1795600800000LL);
  CHECK(parse_time("24h", 100'000'000) == 100'000'000 - 86'400'000);
  CHECK_FALSE(parse_time("yesterday", 0).has_value());
}

namespace {

// flowdriftctl diff of a good file against `text`: exit code and standard error.
int diff_text(const std::string& text, std::string* err_text) {
  flowdrift::test::TempDir dir;
  flowdrift::test::write_file(dir.file("a.json"), list({rule("web", "APPLY", 443)}).dump());
  flowdrift::test::write_file(dir.file("b.json"), text);
  std::ostringstream out, err;
  const int rc = run_diff({dir.file("a.json"), dir.file("b.json"), "text"}, out, err);
  *err_text = err.str();
  CHECK(out.str().empty());  // no report, false or otherwise
  return rc;
}

}  // namespace

// Issue #14, rows 2, 3, 4 and 6: what used to give false drift or abort is an error (exit 2)
// naming the key or value and its place.
TEST_CASE("flowdriftctl diff refuses duplicate keys, huge numbers and oversized strings",
          "[unit][ctl][hostile]") {
  std::string err;
  const std::string good = list({rule("web", "APPLY", 443)}).dump();
  // A second, empty "policies"/"entities" would have made every policy "missing".
  const std::string twice = good.substr(0, good.size() - 1) + R"(,"entities":[]})";
  CHECK(diff_text(twice, &err) == kExitError);
  CHECK_THAT(err, Catch::Contains("b.json: not valid JSON: entities: key given twice"));

  std::string dup_name = good;
  dup_name.replace(dup_name.find(R"("name":"web")"), 12, R"("name":"web","name":"web2")");
  CHECK(diff_text(dup_name, &err) == kExitError);
  CHECK_THAT(err, Catch::Contains("entities[0].spec.name: key given twice"));

  CHECK(diff_text(R"({"format":1e999})", &err) == kExitError);
  CHECK_THAT(err, Catch::Contains("format: number out of range"));

  // A 10 MB name: refused at reading, before any of it is copied or compared.
  std::string huge = good;
  huge.replace(huge.find(R"("name":"web")"), 12, "\"name\":\"" + std::string(10u << 20, 'n') + "\"");
  CHECK(diff_text(huge, &err) == kExitError);
  CHECK_THAT(err, Catch::Contains("entities[0].spec.name: string of 10485760 bytes"));
  CHECK(err.size() < 1024);
}

TEST_CASE("a name within the JSON bound but over the model's is refused naming the field",
          "[unit][ctl][hostile]") {
  auto r = parse_site_text(list({rule(std::string(2000, 'n'), "APPLY", 443)}).dump(), "dr.json");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().reason == ErrorReason::Malformed);
  CHECK_THAT(r.error().message, Catch::Contains("/spec/name: string of 2000 bytes, longer than "
                                                "the limit of 1024"));
  CHECK(r.error().message.size() < 600);  // the name itself is not repeated in full
}

TEST_CASE("a v3 list file read from the flat scan gives the snapshot of its rules as a DOM site",
          "[unit][ctl]") {
  json from_prod = rule("db", "APPLY", 5432);
  from_prod["spec"]["resources"]["app_rule"]["inbound_allow_list"][0] = {
      {"peer_specification_type", "FILTER"},
      {"filter", {{"type", "CATEGORIES_MATCH_ALL"}, {"kind_list", {"vm"}}, {"params", {{"Env", {"Prod", "Dev"}}}}}},
      {"protocol", "TCP"},
      {"tcp_port_range_list", {{{"start_port", 5432}, {"end_port", 5432}}}}};
  const std::vector<json> rules{rule("web", "APPLY", 443), from_prod, rule("mon", "MONITOR", 9100)};
  auto loaded = parse_site_text(list(rules).dump(2), "a.json");
  REQUIRE(loaded.has_value());
  CHECK(loaded->kind == SiteFileKind::V3List);
  // The same rules as a site whose categories are the ones their filters name.
  policy::V3SiteData site;
  site.rules = rules;
  site.category_values["AppType"] = {json{{"value", "Web"}}};
  site.category_values["Env"] = {json{{"value", "Dev"}}, json{{"value", "Prod"}}};
  auto dom = policy::canonicalize_v3(site);
  REQUIRE(dom.has_value());
  CHECK(loaded->snapshot.hash == dom->hash);
  CHECK(loaded->snapshot.count(policy::ObjectKind::Policy) == 3);
  CHECK(loaded->snapshot.findings.size() == dom->findings.size());
  // One rule entity alone reads the same way.
  auto one = parse_site_text(from_prod.dump(), "one.json");
  REQUIRE(one.has_value());
  CHECK(one->kind == SiteFileKind::V3Entity);
  CHECK(one->snapshot.count(policy::ObjectKind::Policy) == 1);
}

// A v3 file defines no categories: its site takes those its rules name, as canonicalized. A
// filter the rule does not use (beside a peer of type ALL) names none: the snapshot of two
// files with the same rules is the same.
TEST_CASE("a v3 file's site defines the categories its rules name and no others", "[unit][ctl]") {
  json stale = rule("web", "APPLY", 443);
  stale["spec"]["resources"]["app_rule"]["inbound_allow_list"][0]["filter"] = {
      {"type", "CATEGORIES_MATCH_ALL"}, {"params", {{"AppType", {"Stale"}}, {"Team", {"Old"}}}}};
  auto loaded = parse_site_text(list({stale, rule("db", "APPLY", 5432)}).dump(), "a.json");
  REQUIRE(loaded.has_value());
  std::vector<std::string> categories;
  for (const auto& o : loaded->snapshot.objects) {
    if (o.kind == policy::ObjectKind::Category) categories.push_back(o.name);
  }
  CHECK(categories == std::vector<std::string>{"AppType:Web"});
  CHECK(loaded->snapshot.findings.empty());
  // The same file without the unused filter is the same site.
  auto clean = parse_site_text(list({rule("web", "APPLY", 443), rule("db", "APPLY", 5432)}).dump(),
                               "b.json");
  REQUIRE(clean.has_value());
  CHECK(clean->snapshot.hash == loaded->snapshot.hash);
}

TEST_CASE("a v3 list file with a rule of the wrong shape names the file and the rule", "[unit][ctl]") {
  auto odd = parse_site_text(list({rule("web", "APPLY", 443), json(7)}).dump(), "dr.json");
  REQUIRE_FALSE(odd.has_value());
  CHECK(odd.error().reason == ErrorReason::Malformed);
  CHECK_THAT(odd.error().message, Catch::StartsWith("dr.json: "));
  CHECK_THAT(odd.error().message, Catch::Contains("[1]"));
  auto not_list = parse_site_text(R"({"metadata":{"total_matches":1},"entities":{"a":1}})", "x.json");
  REQUIRE_FALSE(not_list.has_value());
  CHECK(not_list.error().message == "x.json: /entities: expected an array");
  auto huge = parse_site_text(R"({"metadata":{"total_matches":99999999999},"entities":[]})", "h.json");
  REQUIRE_FALSE(huge.has_value());
  CHECK(huge.error().reason == ErrorReason::Truncated);
  CHECK_THAT(huge.error().message, Catch::Contains("0 of 99999999999"));
}

TEST_CASE("a long v3 list file is canonicalized on every core in listing order", "[unit][ctl]") {
  std::vector<json> rules;
  for (int i = 0; i < 300; ++i) {
    rules.push_back(rule("r" + std::to_string(i), i % 3 == 0 ? "MONITOR" : "APPLY", 1000 + i));
  }
  policy::V3SiteData site;
  site.rules = rules;
  site.category_values["AppType"] = {json{{"value", "Web"}}};
  auto dom = policy::canonicalize_v3(site);
  REQUIRE(dom.has_value());
  auto loaded = parse_site_text(list(rules).dump(), "a.json");
  REQUIRE(loaded.has_value());
  CHECK(loaded->snapshot.hash == dom->hash);
  CHECK(loaded->snapshot.count(policy::ObjectKind::Policy) == 300);
  // The first rule that does not canonicalize is named by its place in the whole listing.
  rules[250]["spec"]["resources"]["app_rule"]["action"] = "ALLOW";
  rules[280]["spec"]["resources"]["app_rule"]["action"] = "DENY";
  auto bad = parse_site_text(list(rules).dump(), "a.json");
  REQUIRE_FALSE(bad.has_value());
  CHECK_THAT(bad.error().message, Catch::StartsWith("a.json: rules[250] (r250): "));
}

// The reader's memo keeps no text once a file is loaded: rules of the second file that equal
// the first's come without their text, which the first load holds (one copy for both), and
// the two compare as if the second were loaded alone.
TEST_CASE("a second file read beside the first finds every text in it, as if read alone",
          "[unit][ctl][memory]") {
  std::vector<json> a, b;
  for (int i = 0; i < 40; ++i) a.push_back(rule("r" + std::to_string(i), "APPLY", 2000 + i));
  b = a;
  b[7] = rule("r7", "MONITOR", 2007);  // changed on the replica
  b.push_back(rule("only-b", "APPLY", 9000));
  flowdrift::test::TempDir dir;
  flowdrift::test::write_file(dir.file("a.json"), list(a).dump());
  flowdrift::test::write_file(dir.file("b.json"), list(b).dump());

  SiteFileReader reader;
  auto first = reader.load(dir.file("a.json"));
  REQUIRE(first.has_value());
  CHECK(first->snapshot.has_all_texts());
  auto second = reader.load(dir.file("b.json"), {}, &*first);
  REQUIRE(second.has_value());
  CHECK_FALSE(second->snapshot.has_all_texts());
  CHECK(policy::texts_missing(second->snapshot, first->snapshot) == 0);
  auto alone = load_site_file(dir.file("b.json"));
  REQUIRE(alone.has_value());
  CHECK(second->snapshot.hash == alone->snapshot.hash);
  REQUIRE(second->snapshot.objects.size() == alone->snapshot.objects.size());
  const auto first_texts = policy::texts_by_hash(first->snapshot);
  std::size_t without = 0;
  for (std::size_t i = 0; i < alone->snapshot.objects.size(); ++i) {
    const auto& o = second->snapshot.objects[i];
    INFO(o.name);
    if (o.has_text) {
      CHECK(o.json == alone->snapshot.objects[i].json);
      continue;
    }
    ++without;
    CHECK(o.json.empty());
    REQUIRE(first_texts.count(o.hash) == 1);
    CHECK(*first_texts.at(o.hash) == alone->snapshot.objects[i].json);
  }
  CHECK(without == 39);  // the rules b lists as a does; r7 and only-b are b's own
  // Compared, they read as the file loaded alone.
  const auto beside = diff::diff_snapshots(first->snapshot, second->snapshot);
  const auto loaded_alone = diff::diff_snapshots(first->snapshot, alone->snapshot);
  CHECK(beside.items.size() == loaded_alone.items.size());
  CHECK(beside.items.size() == 2);  // r7 modified, only-b extra
  for (std::size_t i = 0; i < std::min(beside.items.size(), loaded_alone.items.size()); ++i) {
    CHECK(beside.items[i].object == loaded_alone.items[i].object);
    CHECK(beside.items[i].summary == loaded_alone.items[i].summary);
  }
  // Without the first load to take them from, the reader says so rather than leave them out.
  auto orphan = reader.load(dir.file("b.json"));
  REQUIRE_FALSE(orphan.has_value());
  CHECK_THAT(orphan.error().message, Catch::Contains("b.json") && Catch::Contains("no text"));
}

namespace {

// A v3 rule whose one inbound entry is an address group and a service group, by uuid.
json rule_with_groups(const std::string& name) {
  json r = rule(name, "APPLY", 443);
  r["spec"]["resources"]["app_rule"]["inbound_allow_list"][0] = {
      {"peer_specification_type", "IP_SUBNET"},
      {"address_group_inclusion_list", {{{"kind", "address_group"}, {"uuid", "ag-1"}}}},
      {"service_group_list", {{{"kind", "service_group"}, {"uuid", "sg-1"}}}}};
  return r;
}

json v3_group_list(const std::string& kind, json inner, const std::string& uuid) {
  return {{"api_version", "3.1"},
          {"metadata", {{"kind", kind}, {"total_matches", 1}}},
          {"entities", {{{kind, std::move(inner)}, {"uuid", uuid}}}}};
}

bool has_finding(const policy::Snapshot& s, const std::string& kind) {
  return std::any_of(s.findings.begin(), s.findings.end(),
                     [&](const policy::Finding& f) { return f.kind == kind; });
}

}  // namespace

TEST_CASE("a v3 list file resolves its groups from v3 group list files given beside it",
          "[unit][ctl]") {
  flowdrift::test::TempDir dir;
  const std::string rules = list({rule_with_groups("web")}).dump();
  const json ags = v3_group_list(
      "address_group",
      {{"name", "dmz"}, {"ip_address_block_list", {{{"ip", "10.1.0.0"}, {"prefix_length", 16}}}}},
      "ag-1");
  const json sgs = v3_group_list(
      "service_group",
      {{"name", "https"},
       {"service_list", {{{"protocol", "TCP"}, {"tcp_port_range_list", {{{"start_port", 443}, {"end_port", 443}}}}}}}},
      "sg-1");
  flowdrift::test::write_file(dir.file("ags.json"), ags.dump());
  flowdrift::test::write_file(dir.file("sgs.json"), sgs.dump());

  // Without the lists each group stays unresolved: a dangling reference.
  auto alone = parse_site_text(rules, "a.json");
  REQUIRE(alone.has_value());
  CHECK(has_finding(alone->snapshot, "dangling_reference"));
  CHECK(alone->snapshot.count(policy::ObjectKind::AddressGroup) == 0);

  V4References refs;
  refs.address_groups = dir.file("ags.json");
  refs.service_groups = dir.file("sgs.json");
  auto with = parse_site_text(rules, "a.json", refs);
  REQUIRE(with.has_value());
  CHECK_FALSE(has_finding(with->snapshot, "dangling_reference"));
  CHECK(with->snapshot.count(policy::ObjectKind::AddressGroup) == 1);
  CHECK(with->snapshot.count(policy::ObjectKind::ServiceGroup) == 1);

  // The same site as the daemon's v3 fetch builds it gives the same snapshot.
  policy::V3SiteData site;
  site.rules = {rule_with_groups("web")};
  site.address_groups = ags.at("entities");
  site.service_groups = sgs.at("entities");
  site.category_values["AppType"] = {json{{"value", "Web"}}};
  auto dom = policy::canonicalize_v3(site);
  REQUIRE(dom.has_value());
  CHECK(with->snapshot.hash == dom->hash);
}

TEST_CASE("v3 group list files are refused by name when they are not what they claim",
          "[unit][ctl]") {
  flowdrift::test::TempDir dir;
  const std::string rules = list({rule_with_groups("web")}).dump();
  const json sgs = v3_group_list("service_group", {{"name", "https"}}, "sg-1");
  flowdrift::test::write_file(dir.file("sgs.json"), sgs.dump());
  V4References refs;

  refs.address_groups = dir.file("sgs.json");  // a service-groups list given as address groups
  auto wrong = parse_site_text(rules, "a.json", refs);
  REQUIRE_FALSE(wrong.has_value());
  CHECK(wrong.error().message ==
        dir.file("sgs.json") + ": /metadata/kind: \"service_group\" is not an address_groups list");

  json partial = sgs;
  partial["metadata"]["kind"] = "address_group";
  partial["metadata"]["total_matches"] = 5;
  flowdrift::test::write_file(dir.file("partial.json"), partial.dump());
  refs.address_groups = dir.file("partial.json");
  auto cut = parse_site_text(rules, "a.json", refs);
  REQUIRE_FALSE(cut.has_value());
  CHECK(cut.error().reason == ErrorReason::Truncated);
  CHECK_THAT(cut.error().message, Catch::Contains("1 of 5 address groups"));

  refs.address_groups.clear();
  refs.categories = dir.file("sgs.json");  // v3 rules carry their categories inline
  auto misplaced = parse_site_text(rules, "a.json", refs);
  REQUIRE_FALSE(misplaced.has_value());
  CHECK_THAT(misplaced.error().message, Catch::StartsWith("a.json: is a v3 list, whose rules name "
                                                          "categories inline"));

  // A group that does not canonicalize is named in its own file.
  refs.categories.clear();
  flowdrift::test::write_file(dir.file("bad.json"),
                              v3_group_list("service_group", {{"name", 7}}, "sg-1").dump());
  refs.service_groups = dir.file("bad.json");
  auto bad = parse_site_text(rules, "a.json", refs);
  REQUIRE_FALSE(bad.has_value());
  CHECK_THAT(bad.error().message, Catch::StartsWith(dir.file("bad.json") + ": "));
  CHECK_THAT(bad.error().message, Catch::Contains("service_groups[0]"));
}

TEST_CASE("reference lists beside a dump or a baseline are refused, naming the list", "[unit][ctl]") {
  V4References refs;
  refs.address_groups = "ags.json";
  for (auto [format, what] : {std::pair{kDumpFormat, "site dump"},
                              std::pair{policy::kBaselineFormat, "baseline"}}) {
    auto r = parse_site_text(json{{"format", format}}.dump(), "f.json", refs);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().reason == ErrorReason::Malformed);
    CHECK(r.error().message == std::string("f.json: is a ") + what +
                                   ", which carries its own categories and groups; reference "
                                   "lists such as ags.json go only with a policies file");
  }
}
