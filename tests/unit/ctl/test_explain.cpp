// flowdriftctl explain, diff --config --pair, and the item states in status and drift, over a
// real database: two canonicalized v3 sites stored as the daemon stores them, compared and
// reconciled with the store's own drift bookkeeping.
#include <catch2/catch.hpp>

#include <sstream>

#include "../store/store_test_util.hpp"
#include "ctl/commands.hpp"
#include "report/explain.hpp"
#include "ctl/site_file.hpp"
#include "diff/diff.hpp"
#include "drift/rules.hpp"
#include "store/db.hpp"
#include "store/drift.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using namespace flowdrift::ctl;
using flowdrift::test::TempDir;
using flowdrift::test::write_file;
using nlohmann::json;

namespace {

const char* const kAgUuid = "aaaaaaaa-0000-4000-8000-000000000001";

// An enforced v3 app rule securing AppType:<app>: inbound tcp `port` from the address group
// (or from anywhere).
json rule(const std::string& name, const std::string& app, int port, bool from_group) {
  json inbound = {{"peer_specification_type", "ALL"},
                  {"protocol", "TCP"},
                  {"tcp_port_range_list", {{{"start_port", port}, {"end_port", port}}}}};
  if (from_group) {
    inbound["peer_specification_type"] = "IP_SUBNET";
    inbound["address_group_inclusion_list"] = {{{"kind", "address_group"}, {"uuid", kAgUuid}}};
  }
  return {{"metadata", {{"kind", "network_security_rule"}, {"uuid", name + "-uuid"}}},
          {"spec",
           {{"name", name},
            {"resources",
             {{"app_rule",
               {{"action", "APPLY"},
                {"target_group",
                 {{"peer_specification_type", "FILTER"},
                  {"filter", {{"type", "CATEGORIES_MATCH_ALL"}, {"kind_list", {"vm"}},
                              {"params", {{"AppType", {app}}}}}}}},
                {"inbound_allow_list", json::array({inbound})}}}}}}}};
}

// A site: policy `web_name` (AppType:<app>) reached from ag-lb = `lb_cidr`/`lb_prefix`, and
// policy "db" (AppType:DB) reached from anywhere, as a v3 dump.
json site_dump(const std::string& site, const std::string& web_name, const std::string& app,
               const std::string& lb_cidr, int lb_prefix) {
  policy::V3SiteData d;
  d.rules = {rule(web_name, app, 443, true), rule("db", "DB", 5432, false)};
  d.address_groups = {{{"uuid", kAgUuid},
                       {"address_group",
                        {{"name", "ag-lb"},
                         {"description", "load balancers"},
                         {"ip_address_block_list", {{{"ip", lb_cidr}, {"prefix_length", lb_prefix}}}}}}}};
  d.category_keys = {{{"name", "AppType"}}};
  d.category_values["AppType"] = {{{"value", app}}, {{"value", "DB"}}};
  return make_dump(d, site, "https://" + site + ".example.com:9440", 0);
}

policy::Snapshot snapshot_of(const json& dump, const std::string& name) {
  auto s = parse_site_text(dump.dump(), name);
  REQUIRE(s.has_value());
  return s->snapshot;
}

const std::string kSites =
    "sites:\n"
    "  - name: primary\n    url: https://primary.example.com\n    username: u\n"
    "    password_env: FLOWDRIFT_TEST_UNUSED\n"
    "  - name: dr\n    url: https://dr.example.com\n    username: u\n"
    "    password_env: FLOWDRIFT_TEST_UNUSED\n"
    "storage:\n  path: db.sqlite\n";

// A pair "prod" primary -> dr; `extra` is appended to the pair's entry.
std::string config_text(const std::string& extra) {
  return kSites + "pairs:\n  - name: prod\n    source: primary\n    replica: dr\n" + extra;
}

std::string expectation(const std::string& expires) {
  return "    expected:\n"
         "      - policy: \"we*\"\n"
         "        kind: reference\n"
         "        owner: alice@example.com\n"
         "        reason: CHG-1234 DR load balancers moved\n"
         "        expires: " + expires + "\n";
}

const std::string kRenames =
    "    mappings:\n"
    "      categories:\n"
    "        \"AppType:Web\": \"AppType:Web-DR\"\n"
    "      names:\n"
    "        - match: \"^(web)$\"\n"
    "          replica: \"$1-dr\"\n";

struct Run {
  int rc;
  std::string out;
  std::string err;
};

// The daemon's database for pair prod: primary and dr polled, compared `comparisons` times
// (debounce 2: the first comparison leaves items pending, the second raises them).
struct Daemon {
  TempDir dir;
  std::string db = dir.file("db.sqlite");

  Daemon(const json& source, const json& replica, int comparisons,
         const std::string& mapping_config = "") {
    store::Store st(db);
    const auto src = snapshot_of(source, "primary");
    const auto rep = snapshot_of(replica, "dr");
    auto a = st.record_poll(store::test::complete_poll("primary", 1'000'000), &src);
    REQUIRE(a);
    auto b = st.record_poll(store::test::complete_poll("dr", 1'002'000), &rep);
    REQUIRE(b);
    diff::PairMapping mapping;
    if (!mapping_config.empty()) {
      mapping = drift::make_rules(drift::parse_config(config_text(mapping_config), "t").pairs.at(0)).mapping;
    }
    for (int i = 0; i < comparisons; ++i) {
      store::test::apply_comparison(st.db(), diff::diff_snapshots(src, rep, mapping), *a, *b,
                                    1'002'000 + i * 60'000, 2000, {2, 0});
    }
  }

  std::string config(const std::string& extra) const {
    const auto path = dir.file("flowdrift.yaml");
    write_file(path, config_text(extra));
    return path;
  }

  Run explain(const std::string& policy, const std::string& config_file, std::string format = "json") {
    ExplainArgs args;
    args.pair = "prod";
    args.policy = policy;
    args.format = std::move(format);
    if (config_file.empty()) {
      args.db = db;
    } else {
      args.config = config_file;
    }
    std::ostringstream out, err;
    const int rc = run_explain(args, out, err);
    return {rc, out.str(), err.str()};
  }
};

// Same names everywhere; the replica's ag-lb is a /16 where the source's is a /24.
json wider_lb_source() { return site_dump("primary", "web", "Web", "10.0.0.0", 24); }
json wider_lb_replica() { return site_dump("dr", "web", "Web", "10.0.0.0", 16); }

const json& find_by(const json& arr, const std::string& key, const std::string& value) {
  for (const auto& e : arr) {
    if (e.at(key) == value) return e;
  }
  FAIL("no element with " << key << " = " << value << " in " << arr.dump());
  return arr;
}

}  // namespace

TEST_CASE("explain: items, fields, example flows, references and stored history of a policy",
          "[unit][ctl][explain]") {
  Daemon d(wider_lb_source(), wider_lb_replica(), 1);
  auto r = d.explain("web", "");
  INFO(r.out << r.err);
  REQUIRE(r.rc == kExitDrift);
  const auto j = json::parse(r.out);
  CHECK(j.at("schema") == report::kExplainSchema);
  CHECK(j.at("status") == "drifted");
  CHECK(j.at("policy") == "web");
  CHECK(j.at("snapshots").at("source").at("origin") == "last_comparison");
  CHECK(j.at("snapshots").at("replica").at("site") == "dr");
  CHECK(j.at("pair_status").at("skew_ms") == 2000);
  // Without a config nothing of the pair's is applied, and the report says so.
  CHECK(j.at("mapping_rules").is_null());
  CHECK(j.at("expectations").is_null());
  REQUIRE(j.at("notes").size() == 1);
  CHECK_THAT(j.at("notes")[0].get<std::string>(), Catch::Contains("no --config"));

  REQUIRE(j.at("items").size() == 1);
  const auto& item = j.at("items")[0];
  CHECK(item.at("kind") == "reference");
  CHECK(item.at("direction") == "more_permissive");
  CHECK(item.at("severity") == "critical");
  CHECK(item.at("expected").is_null());
  REQUIRE(item.at("fields").size() == 1);
  CHECK(item.at("fields")[0].at("path") == "address_group[ag-lb]");
  // An address in the /16 but not the /24, to port 443 of the secured group.
  const std::string example = item.at("example_flows").at("replica_only");
  CHECK_THAT(example, Catch::Contains("443"));
  CHECK_FALSE(item.at("example_flows").contains("source_only"));

  const auto& ag = find_by(j.at("references"), "label", "address_group[ag-lb]");
  CHECK(ag.at("state") == "differs");
  CHECK(ag.at("source").at("addresses") == json::array({"10.0.0.0/24"}));
  CHECK(ag.at("replica").at("addresses") == json::array({"10.0.0.0/16"}));
  CHECK(ag.at("used_by") == json::array({"source", "replica"}));
  const auto& cat = find_by(j.at("references"), "label", "category[AppType:Web]");
  CHECK(cat.at("state") == "same");

  // One comparison with debounce 2: stored, pending, opened and nothing else yet.
  REQUIRE(j.at("stored_items").size() == 1);
  const auto& stored = j.at("stored_items")[0];
  CHECK(stored.at("state") == "pending");
  CHECK(stored.at("raised").is_null());
  REQUIRE(stored.at("events").size() == 1);
  CHECK(stored.at("events")[0].at("event") == "opened");

  auto text = d.explain("web", "", "text");
  CHECK(text.rc == kExitDrift);
  CHECK_THAT(text.out, Catch::Contains("DRIFTED: 1 item(s)"));
  CHECK_THAT(text.out, Catch::Contains("example flow only the replica allows: " + example));
  CHECK_THAT(text.out, Catch::Contains("address_group[ag-lb]: differs"));
  CHECK_THAT(text.out, Catch::Contains("10.0.0.0/16"));
  CHECK_THAT(text.out, Catch::Contains("not applied (no --config)"));
  CHECK_THAT(text.out, Catch::Contains("pending, opened"));
}

TEST_CASE("explain: a policy in sync exits 0, an unknown one 2", "[unit][ctl][explain]") {
  Daemon d(wider_lb_source(), wider_lb_replica(), 2);
  auto db = d.explain("db", "", "text");
  INFO(db.out << db.err);
  CHECK(db.rc == kExitInSync);
  CHECK_THAT(db.out, Catch::Contains("IN SYNC: no drift for db"));
  CHECK_THAT(db.out, Catch::Contains("stored drift items: none"));

  auto nope = d.explain("no-such-policy", "", "text");
  CHECK(nope.rc == kExitError);
  CHECK(nope.out.empty());
  CHECK_THAT(nope.err, Catch::Contains("no policy named 'no-such-policy'"));
  CHECK_THAT(nope.err, Catch::Contains("pair prod"));

  // A pair the database and the config do not know.
  ExplainArgs args{"", d.db, "staging", "web", "text"};
  std::ostringstream out, err;
  CHECK(run_explain(args, out, err) == kExitError);
  CHECK_THAT(err.str(), Catch::Contains("pair staging: not in"));
}

TEST_CASE("explain: expectations of the pair, live or expired, and raised stored items",
          "[unit][ctl][explain]") {
  Daemon d(wider_lb_source(), wider_lb_replica(), 2);
  SECTION("live: the item is expected, exit 0") {
    auto r = d.explain("web", d.config(expectation("2999-12-31")));
    INFO(r.out << r.err);
    REQUIRE(r.rc == kExitInSync);
    const auto j = json::parse(r.out);
    CHECK(j.at("status") == "expected");
    CHECK(j.at("items")[0].at("expected").at("owner") == "alice@example.com");
    REQUIRE(j.at("expectations").size() == 1);
    const auto& e = j.at("expectations")[0];
    CHECK(e.at("selector") == "policy=we* kind=reference");
    CHECK(e.at("live") == true);
    CHECK(e.at("covers") == json::array({"reference"}));
    CHECK_THAT(e.at("declared").get<std::string>(), Catch::EndsWith("flowdrift.yaml:17"));
    CHECK(j.at("notes").empty());
    CHECK(j.at("mapping_rules").empty());
  }
  SECTION("expired: drift again, exit 1, the expectation listed as expired") {
    auto r = d.explain("web", d.config(expectation("2020-01-31")), "text");
    INFO(r.out << r.err);
    REQUIRE(r.rc == kExitDrift);
    CHECK_THAT(r.out, Catch::Contains("policy=we* kind=reference"));
    CHECK_THAT(r.out, Catch::Contains("(EXPIRED)"));
    CHECK_THAT(r.out, Catch::Contains("selects reference but has expired"));
    auto j = json::parse(d.explain("web", d.config(expectation("2020-01-31"))).out);
    CHECK(j.at("expectations")[0].at("live") == false);
    CHECK(j.at("expectations")[0].at("covers").empty());
    CHECK(j.at("items")[0].at("expected").is_null());
    // Two comparisons: raised, with its history.
    const auto& stored = j.at("stored_items").at(0);
    CHECK(stored.at("state") == "raised");
    CHECK_FALSE(stored.at("raised").is_null());
    std::vector<std::string> events;
    for (const auto& e : stored.at("events")) events.push_back(e.at("event"));
    CHECK(events == std::vector<std::string>{"opened", "raised"});
  }
  SECTION("a pair the daemon has not compared: each site's latest snapshot, said so") {
    write_file(d.dir.file("two.yaml"),
               config_text("") + "  - name: fresh\n    source: primary\n    replica: dr\n");
    ExplainArgs args{d.dir.file("two.yaml"), "", "fresh", "web", "json"};
    std::ostringstream out, err;
    CHECK(run_explain(args, out, err) == kExitDrift);
    INFO(err.str());
    const auto j = json::parse(out.str());
    CHECK(j.at("snapshots").at("source").at("origin") == "latest_complete");
    REQUIRE(j.at("notes").size() == 1);
    CHECK_THAT(j.at("notes")[0].get<std::string>(), Catch::Contains("not in the database"));
    CHECK(j.at("stored_items").empty());
    CHECK(j.at("pair_status").is_null());
  }
  SECTION("a pair not in the config is an error naming the pairs there") {
    ExplainArgs args{d.config(""), "", "staging", "web", "text"};
    std::ostringstream out, err;
    CHECK(run_explain(args, out, err) == kExitError);
    CHECK_THAT(err.str(), Catch::Contains("no pair named 'staging'"));
    CHECK_THAT(err.str(), Catch::Contains("(pairs: prod)"));
  }
}

TEST_CASE("explain: mapped names and category values, by either name", "[unit][ctl][explain]") {
  // The replica spells the policy web-dr and its category value AppType:Web-DR.
  const auto replica = site_dump("dr", "web-dr", "Web-DR", "10.0.0.0", 16);
  Daemon d(wider_lb_source(), replica, 2, kRenames);
  const auto cfg = d.config(kRenames);
  for (const std::string name : {"web", "web-dr"}) {
    auto r = d.explain(name, cfg);
    INFO(name << ": " << r.out << r.err);
    REQUIRE(r.rc == kExitDrift);
    const auto j = json::parse(r.out);
    CHECK(j.at("policy") == "web");
    CHECK(j.at("replica_policy") == "web-dr");
    // Mapped: the same policy with a wider group, not a missing one plus an extra one.
    REQUIRE(j.at("items").size() == 1);
    CHECK(j.at("items")[0].at("kind") == "reference");
    std::vector<std::string> rules;
    for (const auto& m : j.at("mapping_rules")) rules.push_back(m.at("rule"));
    CHECK(rules == std::vector<std::string>{"names[0]", "categories[AppType:Web]"});
    const auto& cat = find_by(j.at("references"), "label", "category[AppType:Web]");
    CHECK(cat.at("state") == "same");
    CHECK(cat.at("replica_name") == "AppType:Web-DR");
    REQUIRE(j.at("stored_items").size() == 1);
    CHECK(j.at("stored_items")[0].at("kind") == "reference");
  }
  // The database alone does not know the mapping: it says so, and sees other items.
  auto raw = d.explain("web", "");
  REQUIRE(raw.rc == kExitDrift);
  const auto j = json::parse(raw.out);
  CHECK(j.at("on_replica") == false);
  CHECK(j.at("items")[0].at("kind") == "missing");
  CHECK_THAT(j.at("notes")[0].get<std::string>(), Catch::Contains("not applied"));
}

namespace {

struct DiffFiles {
  TempDir dir;
  std::string source = dir.file("primary.json");
  std::string replica = dir.file("dr.json");
  DiffFiles(const json& s, const json& r) {
    write_file(source, s.dump());
    write_file(replica, r.dump());
  }
  Run diff(const std::string& extra, const std::string& format, bool with_pair = true) {
    DiffArgs args{source, replica, format};
    if (with_pair) {
      args.config = dir.file("flowdrift.yaml");
      args.pair = "prod";
      write_file(args.config, config_text(extra));
    }
    std::ostringstream out, err;
    const int rc = run_diff(args, out, err);
    return {rc, out.str(), err.str()};
  }
};

}  // namespace

TEST_CASE("diff --config --pair applies the pair's mappings and expected differences",
          "[unit][ctl][explain]") {
  DiffFiles f(wider_lb_source(), site_dump("dr", "web-dr", "Web-DR", "10.0.0.0", 16));

  // Without the pair: the renamed policy is missing and extra.
  auto plain = f.diff("", "json", false);
  REQUIRE(plain.rc == kExitDrift);
  auto pj = json::parse(plain.out);
  CHECK(pj.at("items").size() == 2);
  CHECK_FALSE(pj.contains("pair"));

  // Mappings only: one reference item, more permissive, with its example flow.
  auto mapped = f.diff(kRenames, "json");
  INFO(mapped.out << mapped.err);
  REQUIRE(mapped.rc == kExitDrift);
  auto mj = json::parse(mapped.out);
  CHECK(mj.at("status") == "drifted");
  CHECK(mj.at("pair").at("name") == "prod");
  CHECK(mj.at("pair").at("mappings") == true);
  REQUIRE(mj.at("items").size() == 1);
  const auto& item = mj.at("items")[0];
  CHECK(item.at("policy") == "web");
  CHECK(item.at("kind") == "reference");
  CHECK(item.at("direction") == "more_permissive");
  CHECK(item.at("expected").is_null());
  const std::string example = item.at("example_flows").at("replica_only");
  CHECK_FALSE(example.empty());

  auto text = f.diff(kRenames, "text");
  CHECK(text.rc == kExitDrift);
  CHECK_THAT(text.out, Catch::Contains("more_permissive"));
  CHECK_THAT(text.out, Catch::Contains("example flow only the replica allows: " + example));

  SECTION("a live expectation: the item is shown as expected, exit 0") {
    auto r = f.diff(kRenames + expectation("2999-12-31"), "json");
    INFO(r.out << r.err);
    CHECK(r.rc == kExitInSync);
    auto j = json::parse(r.out);
    CHECK(j.at("status") == "in_sync");
    REQUIRE(j.at("items").size() == 1);
    CHECK(j.at("items")[0].at("expected").at("selector") == "policy=we* kind=reference");
    CHECK(j.at("pair").at("expectations") == 1);
    auto t = f.diff(kRenames + expectation("2999-12-31"), "text");
    CHECK(t.rc == kExitInSync);
    CHECK_THAT(t.out, Catch::StartsWith("IN SYNC"));
    CHECK_THAT(t.out, Catch::Contains("1 expected difference(s)"));
    CHECK_THAT(t.out, Catch::Contains("(expected)"));
    CHECK_THAT(t.out, Catch::Contains("expected by policy=we* kind=reference: alice@example.com"));
  }
  SECTION("an expired expectation: drift, exit 1") {
    auto r = f.diff(kRenames + expectation("2020-01-31"), "json");
    CHECK(r.rc == kExitDrift);
    auto j = json::parse(r.out);
    CHECK(j.at("status") == "drifted");
    CHECK(j.at("items")[0].at("expected").is_null());
  }
  SECTION("--config without --pair, or an unknown pair, is an error") {
    DiffArgs args{f.source, f.replica, "text"};
    args.config = f.dir.file("flowdrift.yaml");
    std::ostringstream out, err;
    CHECK(run_diff(args, out, err) == kExitError);
    CHECK_THAT(err.str(), Catch::Contains("--config and --pair go together"));
    write_file(args.config, config_text(""));
    args.pair = "nope";
    CHECK(run_diff(args, out, err) == kExitError);
    CHECK_THAT(err.str(), Catch::Contains("no pair named 'nope'"));
  }
}

TEST_CASE("status and drift show pending, raised and expected items and the skew",
          "[unit][ctl][explain]") {
  TempDir dir;
  const auto path = dir.file("db.sqlite");
  {
    store::Store st(path);
    auto snap = store::test::numbered_snapshot(1);
    auto a = st.record_poll(store::test::complete_poll("primary", 1000), &snap);
    auto b = st.record_poll(store::test::complete_poll("dr", 1000), &snap);
    REQUIRE(a);
    REQUIRE(b);
    auto item = [](const std::string& policy, bool expected) {
      diff::DriftItem d;
      d.object = policy;
      d.kind = diff::DriftKind::Missing;
      d.severity = diff::Severity::Critical;
      d.direction = diff::Direction::MorePermissive;
      d.summary = policy + " absent on replica";
      if (expected) d.expected = diff::ExpectedBy{"policy=b*", "bob", "CHG-9", "2999-12-31"};
      return d;
    };
    auto apply = [&](std::vector<diff::DriftItem> items, std::int64_t now) {
      diff::PairResult r;
      r.items = std::move(items);
      r.status = diff::PairStatus::Drifted;
      store::test::apply_comparison(st.db(), r, *a, *b, now, 1500, {2, 0});
    };
    apply({item("a-raised", false), item("b-expected", true)}, 10'000);
    apply({item("a-raised", false), item("b-expected", true), item("c-pending", false)}, 20'000);
  }
  DbArgs args;
  args.db = path;
  std::ostringstream out, err;
  args.format = "json";
  REQUIRE(run_status(args, out, err) == 0);
  auto sj = json::parse(out.str());
  const auto& p = sj.at("pairs").at(0);
  CHECK(sj.at("schema") == "flowdrift.status/v1");
  CHECK(p.at("status") == "DRIFTED");
  CHECK(p.at("open") == json{{"alerting", 1}, {"pending", 1}, {"expected", 1}});
  CHECK(p.at("skew_seconds") == 1.5);
  CHECK(p.at("since") == "1970-01-01T00:00:20.000Z");

  // The same tree as YAML, with the times and the schema quoted where YAML would misread them.
  std::ostringstream yaml;
  args.format = "yaml";
  REQUIRE(run_status(args, yaml, err) == 0);
  CHECK_THAT(yaml.str(), Catch::Contains("schema: flowdrift.status/v1"));
  CHECK_THAT(yaml.str(), Catch::Contains("since: \"1970-01-01T00:00:20.000Z\""));
  CHECK_THAT(yaml.str(), Catch::Contains("skew_seconds: 1.5"));

  std::ostringstream text;
  args.format = "text";
  REQUIRE(run_status(args, text, err) == 0);
  CHECK_THAT(text.str(), Catch::Contains("DRIFT PENDING EXPECTED SKEW REASON"));
  CHECK_THAT(text.str(), Catch::Contains("DRIFTED 1970-01-01T00:00:20Z 1     1       1        1.5s"));

  std::ostringstream dout;
  args.format = "json";
  REQUIRE(run_drift(args, dout, err) == 0);
  const auto drift_doc = json::parse(dout.str());
  CHECK(drift_doc.at("schema") == "flowdrift.drift/v1");
  CHECK(drift_doc.at("total") == 3);
  CHECK(drift_doc.at("truncated") == false);
  const auto& dj = drift_doc.at("items");
  REQUIRE(dj.size() == 3);
  const auto& raised = find_by(dj, "policy", "a-raised");
  CHECK(raised.at("state") == "raised");
  CHECK(raised.at("raised") == "1970-01-01T00:00:20.000Z");
  CHECK(raised.at("expectation").is_null());
  const auto& expected = find_by(dj, "policy", "b-expected");
  CHECK(expected.at("state") == "expected");
  CHECK(expected.at("expectation").at("owner") == "bob");
  const auto& pending = find_by(dj, "policy", "c-pending");
  CHECK(pending.at("state") == "pending");
  CHECK(pending.at("raised").is_null());

  std::ostringstream dtext;
  args.format = "text";
  REQUIRE(run_drift(args, dtext, err) == 0);
  CHECK_THAT(dtext.str(), Catch::Contains("STATE"));
  CHECK_THAT(dtext.str(), Catch::Contains("c-pending  missing critical pending"));
  CHECK_THAT(dtext.str(), Catch::Contains("b-expected missing critical expected"));
}

TEST_CASE("status --exit-code: 0 all in sync, 1 drifted, 2 unknown or nothing compared",
          "[unit][ctl][status]") {
  const auto pair = [](const std::string& name, const std::string& status) {
    return nlohmann::json{{"name", name}, {"status", status}};
  };
  using pairs = nlohmann::json;
  CHECK(status_exit_code(pairs::array()) == 2);
  CHECK(status_exit_code(pairs()) == 2);
  CHECK(status_exit_code(pairs{pair("a", "IN_SYNC"), pair("b", "IN_SYNC")}) == 0);
  CHECK(status_exit_code(pairs{pair("a", "IN_SYNC"), pair("b", "DRIFTED")}) == 1);
  CHECK(status_exit_code(pairs{pair("a", "DRIFTED"), pair("b", "UNKNOWN")}) == 2);
  CHECK(status_exit_code(pairs{pair("a", "UNKNOWN"), pair("b", "DRIFTED")}) == 2);
  CHECK(status_exit_code(pairs{pair("a", "IN_SYNC"), pair("b", "something new")}) == 2);
  CHECK(status_exit_code(pairs{pair("a", "IN_SYNC"), nlohmann::json("not a pair")}) == 2);
}
