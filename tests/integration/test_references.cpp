// Reference drift end to end: two pcsim sites with the same generated intent, flowdriftd polling
// them every second. A group the policies use gets other contents on the DR site (through its
// v3 API, then through its v4 API with If-Match): a `reference` drift item opens for exactly the
// policies that use the group, and resolves when the group is reverted. A group deleted on the DR
// site while policies still use it (pcsim's admin force delete) leaves the poll complete and
// shows on those policies, with a dangling_reference finding each.
#include <catch2/catch.hpp>

#include <regex>
#include <set>

#include "http/asio.hpp"
#include "http/client.hpp"
#include "live.hpp"
#include "pcsim/site.hpp"

using namespace flowdrift;
using namespace flowdrift::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr int kPolicies = 60;
constexpr int kSeed = 42;

using Items = std::set<std::vector<std::string>>;  // (policy, kind)

// Open items past the debounce (raised): the ones /metrics exports per policy.
Items open_items(DbView& db) {
  return db.row_set("SELECT d.object, d.kind FROM drift_items d JOIN pairs p ON p.id = d.pair_id "
                    "WHERE p.name = 'prod' AND d.resolved_ms IS NULL AND d.raised_ms IS NOT NULL");
}

// (policy, kind) of every flowdrift_policy_drift series in a scrape.
Items policy_series(const std::string& scrape) {
  Items out;
  static const std::regex re(
      R"re(flowdrift_policy_drift\{kind="([^"]*)",pair="prod",policy="([^"]*)",severity="[^"]*"\} 1)re");
  for (std::sregex_iterator it(scrape.begin(), scrape.end(), re), end; it != end; ++it) {
    out.insert({(*it)[2], (*it)[1]});
  }
  return out;
}

Items expect_kind(const std::set<std::string>& policies, const std::string& kind) {
  Items out;
  for (const auto& p : policies) out.insert({p, kind});
  return out;
}

// The policies of the generated site whose allow lists name group `name` (site data references
// groups by name; pcsim turns them into per-instance uuids when loading).
std::set<std::string> users_of(const pcsim::SiteData& site, const std::string& list_key,
                               const std::string& name) {
  std::set<std::string> out;
  for (const auto& rule : site.rules) {
    for (const auto& [kind, body] : rule.spec.at("resources").items()) {
      if (!body.is_object()) continue;
      for (const char* dir : {"inbound_allow_list", "outbound_allow_list"}) {
        if (!body.contains(dir)) continue;
        for (const auto& entry : body.at(dir)) {
          for (const auto& ref : entry.value(list_key, json::array())) {
            if (ref.value("name", "") == name) out.insert(rule.spec.at("name").get<std::string>());
          }
        }
      }
    }
  }
  return out;
}

// The group of `groups` used by the fewest policies, but by at least two.
template <class Groups>
std::pair<std::string, std::set<std::string>> pick_group(const pcsim::SiteData& site,
                                                         const Groups& groups,
                                                         const std::string& list_key) {
  std::pair<std::string, std::set<std::string>> best;
  for (const auto& g : groups) {
    auto users = users_of(site, list_key, g.name);
    if (users.size() >= 2 && (best.first.empty() || users.size() < best.second.size())) {
      best = {g.name, users};
    }
  }
  REQUIRE_FALSE(best.first.empty());
  return best;
}

// The rig pins every site to `api: v3`; a v4-mode DR site needs its line changed before start.
void set_dr_api(const TempDir& dir, const std::string& api) {
  const std::string path = dir.file("flowdrift.yaml");
  std::string config = read_file(path);
  const auto dr = config.find("  - name: dr\n");
  REQUIRE(dr != std::string::npos);
  const auto line = config.find("api: v3", dr);
  REQUIRE(line != std::string::npos);
  config.replace(line, 7, "api: " + api);
  write_file(path, config);
}

awaitable<void> send_one(http::HttpTransport* t, http::HttpRequest req,
                         std::optional<Result<http::HttpResponse>>* out) {
  out->emplace(co_await t->send(std::move(req), std::chrono::seconds(20)));
}

// One request with extra headers (SyncClient sends only auth and content type).
http::HttpResponse send_with(LiveSite& site, const std::string& method, const std::string& target,
                             const json& body, std::vector<http::Header> headers) {
  asio::io_context io;
  http::ClientOptions o;
  o.host = "127.0.0.1";
  o.port = std::to_string(site.port());
  o.tls = true;
  o.ca_file = site.ca_file();
  http::BeastTransport transport(io.get_executor(), o);
  headers.push_back({"Authorization", http::basic_auth_header("admin", kLivePassword)});
  headers.push_back({"Accept", "application/json"});
  http::HttpRequest req{method, target, std::move(headers), body.is_null() ? "" : body.dump()};
  if (!body.is_null()) req.headers.push_back({"Content-Type", "application/json"});
  std::optional<Result<http::HttpResponse>> out;
  asio::co_spawn(io, send_one(&transport, std::move(req), &out), asio::detached);
  io.run();
  REQUIRE(out.has_value());
  REQUIRE(out->has_value());
  return std::move(**out);
}

json v3_group_entity(LiveSite& site, const std::string& list, const std::string& inner,
                     const std::string& name) {
  auto page = site.api().json("POST", "/api/nutanix/v3/" + list + "/list", {{"length", 500}});
  for (const auto& e : page.at("entities")) {
    if (e.at(inner).at("name") == name) return e;
  }
  FAIL("no " << inner << " named " << name);
  return nullptr;
}

// Waits until the open drift items are exactly `expected` (database and /metrics), then checks.
void require_open(DbView& db, LiveDaemon& daemon, const Items& expected) {
  REQUIRE(wait_until([&] { return open_items(db) == expected; }, 40s));
  REQUIRE(wait_until([&] { return policy_series(daemon.scrape()) == expected; }, 10s));
  CHECK(open_items(db) == expected);
  CHECK(policy_series(daemon.scrape()) == expected);
}

}  // namespace

TEST_CASE("an address group changed on the DR site through v3 opens a reference item on every "
          "policy using it, and reverting resolves them",
          "[integration][references][slow]") {
  const pcsim::SiteData site = pcsim::generate_site(kPolicies, kSeed);
  const auto [group, users] = pick_group(site, site.address_groups, "address_group_inclusion_list");
  LivePair live(kPolicies, kSeed);
  DbView db = live.start_in_sync();
  CHECK(open_items(db).empty());

  const json entity = v3_group_entity(live.dr, "address_groups", "address_group", group);
  const std::string uuid = entity.at("uuid");
  const json original = entity.at("address_group");
  json widened = original;
  widened["ip_address_block_list"].push_back({{"ip", "203.0.113.0"}, {"prefix_length", 24}});
  auto put = live.dr.api().request("PUT", "/api/nutanix/v3/address_groups/" + uuid, widened.dump());
  REQUIRE(put.status == 200);

  require_open(db, live.daemon, expect_kind(users, "reference"));
  CHECK(pair_status(db) == "DRIFTED");
  // A wider group on the replica lets more through, judged by behaviour: more permissive
  // (critical) for a policy that did not already allow those flows, cosmetic (info) for one
  // whose other rules already did. Nothing else.
  const auto permissive = std::stoi(db.scalar(
      "SELECT count(*) FROM drift_items WHERE resolved_ms IS NULL AND kind = 'reference' "
      "AND severity = 'critical' AND direction = 'more_permissive'").value_or("0"));
  const auto cosmetic = std::stoi(db.scalar(
      "SELECT count(*) FROM drift_items WHERE resolved_ms IS NULL AND kind = 'reference' "
      "AND severity = 'info' AND direction = 'cosmetic'").value_or("0"));
  CHECK(permissive >= 1);
  CHECK(permissive + cosmetic == static_cast<int>(users.size()));

  put = live.dr.api().request("PUT", "/api/nutanix/v3/address_groups/" + uuid, original.dump());
  REQUIRE(put.status == 200);
  require_open(db, live.daemon, {});
  CHECK(pair_status(db) == "IN_SYNC");
  CHECK(db.scalar("SELECT count(*) FROM drift_items WHERE kind = 'reference' AND resolved_ms IS NOT NULL") ==
        std::to_string(users.size()));
  live.daemon.stop();
}

TEST_CASE("a service group changed through the v4 API (If-Match) of a v4-mode DR site opens a "
          "reference item on every policy using it, and reverting resolves them",
          "[integration][references][v4][slow]") {
  const pcsim::SiteData site = pcsim::generate_site(kPolicies, kSeed);
  const auto [group, users] = pick_group(site, site.service_groups, "service_group_list");
  LivePair live(kPolicies, kSeed);
  REQUIRE(live.dr.api().json("POST", "/_pcsim/mode", {{"mode", "v4"}}).at("mode") == "v4");
  set_dr_api(live.dir, "v4");
  DbView db = live.start_in_sync();
  CHECK(db.scalar("SELECT p.api FROM polls p JOIN sites s ON s.id = p.site_id WHERE s.name = 'dr' "
                  "ORDER BY p.id DESC LIMIT 1") == "v4");

  const std::string base = "/api/microseg/v4.0/config/service-groups";
  std::string ext_id;
  const json listed = live.dr.api().json("GET", base + "?$limit=100");
  for (const auto& g : listed.at("data")) {
    if (g.at("name") == group) ext_id = g.at("extId");
  }
  INFO(group << " in " << listed.dump().substr(0, 2000));
  REQUIRE_FALSE(ext_id.empty());
  auto get = live.dr.api().request("GET", base + "/" + ext_id);
  REQUIRE(get.status == 200);
  REQUIRE(get.header("ETag").has_value());
  const json original = json::parse(get.body).at("data");
  json changed = original;
  changed["tcpServices"] = changed.value("tcpServices", json::array());
  changed["tcpServices"].push_back({{"startPort", 9999}, {"endPort", 9999}});

  // Without If-Match the write is refused and nothing drifts.
  auto refused = send_with(live.dr, "PUT", base + "/" + ext_id, changed, {});
  CHECK(refused.status == 412);
  auto put = send_with(live.dr, "PUT", base + "/" + ext_id, changed, {{"If-Match", std::string(*get.header("ETag"))}});
  INFO(put.body);
  REQUIRE(put.status == 202);
  CHECK(json::parse(put.body).at("data").at("$objectType") == "prism.v4.config.TaskReference");

  require_open(db, live.daemon, expect_kind(users, "reference"));
  CHECK(pair_status(db) == "DRIFTED");

  get = live.dr.api().request("GET", base + "/" + ext_id);
  REQUIRE(get.status == 200);
  put = send_with(live.dr, "PUT", base + "/" + ext_id, original, {{"If-Match", std::string(*get.header("ETag"))}});
  REQUIRE(put.status == 202);
  require_open(db, live.daemon, {});
  CHECK(pair_status(db) == "IN_SYNC");
  live.daemon.stop();
}

TEST_CASE("an address group deleted on the DR site while policies use it: the poll stays complete, "
          "the policies drift and get dangling_reference findings",
          "[integration][references][slow]") {
  const pcsim::SiteData site = pcsim::generate_site(kPolicies, kSeed);
  const auto [group, users] = pick_group(site, site.address_groups, "address_group_inclusion_list");
  LivePair live(kPolicies, kSeed);
  DbView db = live.start_in_sync();

  // The ordinary API refuses; the admin path deletes anyway and names the same policies.
  const std::string uuid = v3_group_entity(live.dr, "address_groups", "address_group", group).at("uuid");
  CHECK(live.dr.api().request("DELETE", "/api/nutanix/v3/address_groups/" + uuid).status == 409);
  auto forced = live.dr.api().json("POST", "/_pcsim/force_delete", {{"kind", "address_group"}, {"name", group}});
  CHECK(forced.at("referenced_by") == json(std::vector<std::string>(users.begin(), users.end())));

  // Every policy using the group shows a drift item, and nothing else does. The spec expects
  // the kind dangling_reference; the diff may still report these as modified or reference.
  REQUIRE(wait_until([&] {
    std::set<std::string> objects;
    for (const auto& item : open_items(db)) objects.insert(item[0]);
    return objects == users;
  }, 40s));
  const std::set<std::string> allowed = {"dangling_reference", "modified", "reference"};
  for (const auto& item : open_items(db)) {
    INFO(item[0] << " " << item[1]);
    CHECK(allowed.count(item[1]) == 1);
  }
  REQUIRE(wait_until([&] { return policy_series(live.daemon.scrape()) == open_items(db); }, 10s));

  // The DR poll is still complete (a dangling reference is a finding, not a failure), and its
  // snapshot names each affected policy in a dangling_reference finding.
  const auto last = db.rows("SELECT p.outcome, p.snapshot_id FROM polls p JOIN sites s ON s.id = p.site_id "
                            "WHERE s.name = 'dr' ORDER BY p.id DESC LIMIT 1");
  REQUIRE(last.size() == 1);
  CHECK(last[0][0] == "complete");
  std::set<std::string> findings;
  for (const auto& r : db.rows("SELECT DISTINCT object FROM findings WHERE kind = 'dangling_reference' "
                               "AND snapshot_id = " + last[0][1])) {
    findings.insert(r[0]);
  }
  CHECK(findings == users);
  // The daemon is alive and keeps polling both sites.
  const auto polls = db.scalar("SELECT count(*) FROM polls");
  REQUIRE(wait_until([&] { return db.scalar("SELECT count(*) FROM polls") != polls; }, 10s));
  CHECK(db.scalar("SELECT count(*) FROM polls p JOIN sites s ON s.id = p.site_id WHERE s.name = 'dr' "
                  "AND p.outcome = 'failed'") == "0");
  live.daemon.stop();
}
