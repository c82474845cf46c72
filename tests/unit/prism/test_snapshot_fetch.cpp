// fetch_v3_snapshot / fetch_v4_snapshot against a simulated PC: the collector's page-by-page
// path gives exactly the snapshot of canonicalizing the whole fetched site, keeps the
// completeness rules, and forgets what it built when a listing restarts.
#include <catch2/catch.hpp>

#include "http/work_pool.hpp"
#include "policy/normalize_v3.hpp"
#include "policy/normalize_v4.hpp"
#include "prism_pc.hpp"

using namespace flowdrift;
using namespace flowdrift::test;
using nlohmann::json;

namespace {

const std::string kRules = "network_security_rules/list";

bool has_duplicate_finding(const policy::Snapshot& s) {
  for (const auto& f : s.findings) {
    if (f.kind == "duplicate_name") return true;
  }
  return false;
}

// site_data(rules, address_groups) whose rule `i` also allows traffic from address group ag-0,
// or from one the site does not have.
pcsim::SiteData site_with_group_peer(int rules, int address_groups, int i, bool listed) {
  auto site = site_data(rules, address_groups);
  auto& rule = site.rules.at(static_cast<std::size_t>(i));
  rule = with_group_peer(rule, group_ref("address_group", "ag-0", listed));
  return site;
}

}  // namespace

TEST_CASE("v3: the page-by-page snapshot equals canonicalizing the whole site",
          "[prism][snapshot]") {
  Pc pc(site_with_group_peer(1234, 3, 3, true));
  auto raw = pc.poll();
  REQUIRE(raw.result->has_value());
  auto expected = policy::canonicalize_v3(raw.result->value());
  REQUIRE(expected.has_value());

  auto transport = pc.new_transport();
  auto out = fetch_snapshot(*transport, test_options(), false);
  REQUIRE(out.result->has_value());
  const auto& snap = out.result->value();
  CHECK(snap.hash == expected->hash);
  CHECK(snap.count(policy::ObjectKind::Policy) == 1234);
  CHECK(snap.count(policy::ObjectKind::AddressGroup) == 1);
  CHECK(snap.findings == expected->findings);
  CHECK(requests_to(*transport, kRules).size() == 3);
  // Only the values of referenced keys; the key list itself is not needed for a snapshot.
  CHECK(requests_to(*transport, "categories/AppType/list").size() == 1);
  CHECK(requests_to(*transport, "categories/Unused/list").empty());
  CHECK(requests_to(*transport, "categories/list").empty());
}

TEST_CASE("v3: a restarted rule listing does not keep the policies of the first pass",
          "[prism][snapshot][completeness]") {
  Pc pc(600);
  pc.before = change_at(kRules, 1, [](pcsim::Simulator& sim) { sim.add_rule(site_rule(5000)); });
  auto out = pc.snapshot(false, test_options());
  REQUIRE(out.result->has_value());
  CHECK(out.result->value().count(policy::ObjectKind::Policy) == 601);
  CHECK_FALSE(has_duplicate_finding(out.result->value()));
  CHECK(requests_to(pc.transport, kRules).size() == 4);
}

TEST_CASE("v3: the snapshot path keeps the completeness rules", "[prism][snapshot][completeness]") {
  SECTION("an empty policy list after a non-empty snapshot") {
    Pc pc(0);
    auto options = test_options();
    options.previous_policy_count = 42;
    const Error e = failure(pc.snapshot(false, options), ErrorReason::EmptyList);
    CHECK_THAT(e.message, Catch::Contains("42"));
  }
  SECTION("no address groups while rules reference one") {
    Pc pc(site_with_group_peer(10, 0, 2, false));
    const Error e = failure(pc.snapshot(false, test_options()), ErrorReason::EmptyList);
    CHECK_THAT(e.message,
               Catch::Contains("address_groups/list") && Catch::Contains("1 policy references"));
  }
  SECTION("a malformed rule names the rule and the path") {
    Pc pc(700);
    REQUIRE(pc.sim.edit_rule("rule-00650",
                             [](json& spec) { spec["resources"]["app_rule"]["action"] = 7; }));
    const Error e = failure(pc.snapshot(false, test_options()), ErrorReason::Malformed);
    CHECK_THAT(e.message, Catch::Contains("rules[650]"));
  }
  SECTION("a dangling group reference is a finding, not an error") {
    Pc pc(site_with_group_peer(10, 3, 4, false));
    auto out = pc.snapshot(false, test_options());
    REQUIRE(out.result->has_value());
    REQUIRE(out.result->value().findings.size() == 1);
    CHECK(out.result->value().findings[0].kind == "dangling_reference");
    CHECK(out.result->value().findings[0].object == "rule-00004");
  }
}

TEST_CASE("v4: the page-by-page snapshot equals canonicalizing the whole site",
          "[prism][snapshot][v4]") {
  Pc pc(v4_site(345, 3, 2, 10));
  auto raw = pc.poll_v4();
  REQUIRE(raw.result->has_value());
  auto expected = policy::canonicalize_v4(raw.result->value());
  REQUIRE(expected.has_value());

  auto out = pc.snapshot(true, v4_test_options());
  REQUIRE(out.result->has_value());
  CHECK(out.result->value().hash == expected->hash);
  CHECK(out.result->value().count(policy::ObjectKind::Policy) == 345);
  CHECK(out.result->value().findings == expected->findings);
}

TEST_CASE("v4: the snapshot path restarts cleanly and keeps the completeness rules",
          "[prism][snapshot][v4][completeness]") {
  SECTION("a total that moves once") {
    Pc pc(250);
    pc.before =
        change_at(kV4Policies, 1, [](pcsim::Simulator& sim) { sim.add_rule(site_rule(9000)); });
    auto out = pc.snapshot(true, v4_test_options());
    REQUIRE(out.result->has_value());
    CHECK(out.result->value().count(policy::ObjectKind::Policy) == 251);
    CHECK_FALSE(has_duplicate_finding(out.result->value()));
  }
  SECTION("no policies after a non-empty snapshot") {
    Pc pc(0);
    auto options = v4_test_options();
    options.previous_policy_count = 12;
    CHECK(failure(pc.snapshot(true, options)).reason == ErrorReason::EmptyList);
  }
  SECTION("no address groups while policies reference some") {
    Pc pc(v4_site(5, 0, 2, 2));
    const Error e = failure(pc.snapshot(true, v4_test_options()), ErrorReason::EmptyList);
    CHECK_THAT(e.message,
               Catch::Contains(kV4AddressGroups) && Catch::Contains("2 policies reference"));
  }
}

// With a memo (as the collector polls): policy pages are read without a DOM and unchanged
// policies are reused, with the same snapshot and the same completeness verdicts.
TEST_CASE("v4: the snapshot path with a policy memo equals the path without",
          "[prism][snapshot][v4]") {
  Pc pc(v4_site(345, 3, 2, 10));
  auto options = v4_test_options();
  options.v4_memo = std::make_shared<policy::V4PolicyMemo>();
  // As the daemon polls: pages canonicalized on a work pool, pipelined with the next fetch.
  const bool pooled = GENERATE(false, true);
  http::WorkPool pool(2);
  if (pooled) options.work_pool = &pool;
  CAPTURE(pooled);

  auto plain = pc.snapshot(true, v4_test_options());
  REQUIRE(plain.result->has_value());

  auto first = pc.snapshot(true, options);
  REQUIRE(first.result->has_value());
  CHECK(first.result->value().hash == plain.result->value().hash);
  CHECK(first.result->value().findings == plain.result->value().findings);
  CHECK(options.v4_memo->misses() == 345);

  auto second = pc.snapshot(true, options);
  REQUIRE(second.result->has_value());
  CHECK(second.result->value().hash == plain.result->value().hash);
  CHECK(options.v4_memo->hits() == 345);

  SECTION("a changed policy is seen") {
    REQUIRE(pc.sim.edit_rule("rule-00007", [](json& spec) { spec["description"] = "changed"; }));
    auto third = pc.snapshot(true, options);
    REQUIRE(third.result->has_value());
    CHECK(third.result->value().hash != plain.result->value().hash);
    CHECK(options.v4_memo->misses() == 346);
    auto fresh = pc.snapshot(true, v4_test_options());
    REQUIRE(fresh.result->has_value());
    CHECK(third.result->value().hash == fresh.result->value().hash);
  }
  SECTION("a changed policy that does not canonicalize is named by its place in the listing") {
    pc.rewrite = edit_v4_page(kV4Policies, 2, [](json& page) { page["data"][50]["state"] = ""; });
    const Error e = failure(pc.snapshot(true, options), ErrorReason::Malformed);
    CHECK_THAT(e.message, Catch::StartsWith("policies[250]") && Catch::Contains("/state"));
  }
  SECTION("a page that is not JSON is malformed") {
    pc.fault("v4_policies:malformed,after=1,count=1");  // page 1
    const Error e = failure(pc.snapshot(true, options), ErrorReason::Malformed);
    CHECK_THAT(e.message,
               Catch::StartsWith(kV4Policies + " page 1: HTTP 200 body is not valid JSON: "));
  }
  SECTION("an ErrorResponse in a 2xx answer is still an HTTP error") {
    pc.rewrite =
        edit_v4_page(kV4Policies, 1, [](json& page) { page = v4_error_body("MSEG-1", "nope"); });
    const Error e = failure(pc.snapshot(true, options), ErrorReason::Http);
    CHECK_THAT(e.message, Catch::Contains("MSEG-1: nope"));
  }
  SECTION("the same extId twice is a shifted listing") {
    pc.rewrite = edit_v4_page(
        kV4Policies, 2, [](json& page) { page["data"][1]["extId"] = page["data"][0]["extId"]; });
    const Error e = failure(pc.snapshot(true, options), ErrorReason::Truncated);
    CHECK_THAT(e.message, Catch::Contains("duplicate extId"));
  }
  SECTION("a short page before the total is truncated") {
    pc.rewrite = edit_v4_page(kV4Policies, 1,
                              [](json& page) { page["data"].erase(page["data"].size() - 1); });
    CHECK(failure(pc.snapshot(true, options)).reason == ErrorReason::Truncated);
  }
  SECTION("policies referencing address groups while the site lists none") {
    pc.fault("v4_address_groups:empty");
    CHECK(failure(pc.snapshot(true, options)).reason == ErrorReason::EmptyList);
  }
}

// A page listed with the same bytes as in the last poll is taken whole from the memo
// (policy/page_memo.hpp): not scanned, its policies not even hashed. What the listing checks
// of it (the total it announced, its items' ids) comes from the memo too.
TEST_CASE("v4: pages listed with the same bytes are taken whole and still checked",
          "[prism][snapshot][v4][completeness]") {
  Pc pc(v4_site(345, 3, 2, 10));  // pages of 100: 4 pages
  auto options = v4_test_options();
  options.v4_memo = std::make_shared<policy::V4PolicyMemo>();
  auto first = pc.snapshot(true, options);
  REQUIRE(first.result->has_value());
  CHECK(options.v4_memo->page_hits() == 0);
  auto second = pc.snapshot(true, options);
  REQUIRE(second.result->has_value());
  CHECK(second.result->value().hash == first.result->value().hash);
  CHECK(options.v4_memo->page_hits() == 4);
  CHECK(options.v4_memo->misses() == 345);

  SECTION("only the page that changed is read, only its changed policy canonicalized") {
    REQUIRE(pc.sim.edit_rule("rule-00007", [](json& spec) { spec["description"] = "changed"; }));
    auto third = pc.snapshot(true, options);
    REQUIRE(third.result->has_value());
    CHECK(options.v4_memo->page_hits() == 4 + 3);
    CHECK(options.v4_memo->misses() == 346);
    auto fresh = pc.snapshot(true, v4_test_options());
    REQUIRE(fresh.result->has_value());
    CHECK(third.result->value().hash == fresh.result->value().hash);
  }
  SECTION("a total that moves after a known page restarts the listing") {
    pc.before =
        change_at(kV4Policies, 1, [](pcsim::Simulator& sim) { sim.add_rule(site_rule(9000)); });
    auto third = pc.snapshot(true, options);
    REQUIRE(third.result->has_value());
    CHECK(third.result->value().count(policy::ObjectKind::Policy) == 346);
    CHECK(options.v4_memo->page_hits() == 4 + 1);  // page 0 of the first pass only
  }
  SECTION("an extId of a known page listed again on a changed page is a shifted listing") {
    auto repeated = std::make_shared<std::string>();
    pc.rewrite = repeat_ext_id(kV4Policies, repeated);  // page 0 changes too: no page known
    REQUIRE(pc.snapshot(true, options).result->has_value() == false);
    pc.rewrite = {};
    REQUIRE(pc.snapshot(true, options).result->has_value());  // pages 0..3 remembered again
    const auto hits = options.v4_memo->page_hits();
    pc.rewrite = edit_v4_page(kV4Policies, 1, [repeated](json& page) {
      page.at("data").at(20)["extId"] = *repeated;  // page 0, known, lists it at data[3]
    });
    const Error e = failure(pc.snapshot(true, options), ErrorReason::Truncated);
    CHECK_THAT(e.message, Catch::Contains("duplicate extId " + *repeated));
    CHECK(options.v4_memo->page_hits() == hits + 1);
  }
  SECTION("references renamed: no page is taken from the memo") {
    pc.rewrite = edit_v4_pages(kV4AddressGroups, [](std::int64_t, json& page) {
      for (auto& g : page.at("data")) {
        if (g.at("name") == "ag-0") g["name"] = "ag-renamed";
      }
    });
    auto third = pc.snapshot(true, options);
    REQUIRE(third.result->has_value());
    CHECK(options.v4_memo->page_hits() == 4);
    auto fresh = pc.snapshot(true, v4_test_options());
    REQUIRE(fresh.result->has_value());
    CHECK(third.result->value().hash == fresh.result->value().hash);
  }
}

// What a failed poll remembered (pages that ended before it failed) is swept by the next
// complete poll, also when that one lists the same bytes as the last complete one and takes its
// snapshot whole (PolicyMemoState::sweep_if_grown).
TEST_CASE("v4: what a failed poll remembered is gone after the next complete poll",
          "[prism][snapshot][v4]") {
  Pc pc(v4_site(745, 3, 2, 10));  // pages of 100: 8 pages, at most 4 in flight
  auto options = v4_test_options();
  options.v4_memo = std::make_shared<policy::V4PolicyMemo>();
  auto first = pc.snapshot(true, options);
  REQUIRE(first.result->has_value());
  CHECK(options.v4_memo->size() == 745);

  pc.rewrite = edit_v4_pages(kV4Policies, [](std::int64_t page_no, json& page) {
    if (page_no == 0) page.at("data").at(5)["description"] = "changed";
    if (page_no == 6) page = v4_error_body("MSEG-1", "nope");
  });
  REQUIRE_FALSE(pc.snapshot(true, options).result->has_value());
  CHECK(options.v4_memo->size() == 746);  // page 0 ended, its changed policy remembered

  pc.rewrite = {};
  const auto snapshot_hits = options.v4_memo->snapshot_hits();
  auto third = pc.snapshot(true, options);
  REQUIRE(third.result->has_value());
  CHECK(third.result->value().hash == first.result->value().hash);
  CHECK(options.v4_memo->snapshot_hits() == snapshot_hits + 1);
  CHECK(options.v4_memo->size() == 745);

  auto fourth = pc.snapshot(true, options);  // nothing remembered since: nothing to sweep
  REQUIRE(fourth.result->has_value());
  CHECK(options.v4_memo->snapshot_hits() == snapshot_hits + 2);
  CHECK(options.v4_memo->size() == 745);

  SECTION("a changed policy after that is canonicalized, and the one before it is gone") {
    REQUIRE(pc.sim.edit_rule("rule-00007", [](json& spec) { spec["description"] = "edited"; }));
    auto fifth = pc.snapshot(true, options);
    REQUIRE(fifth.result->has_value());
    CHECK(options.v4_memo->size() == 745);
    auto fresh = pc.snapshot(true, v4_test_options());
    REQUIRE(fresh.result->has_value());
    CHECK(fifth.result->value().hash == fresh.result->value().hash);
  }
}

// v3 rule pages with a memo (as the collector polls): read without a DOM, the same snapshot
// and the same completeness verdicts as the DOM path; unchanged pages and rules reused.
TEST_CASE("v3: the snapshot path with a rule memo equals the path without",
          "[prism][snapshot][completeness]") {
  Pc pc(site_with_group_peer(1234, 3, 3, true));  // pages of 500: 3 pages
  auto options = test_options();
  options.v3_memo = std::make_shared<policy::V3RuleMemo>();
  const bool pooled = GENERATE(false, true);
  http::WorkPool pool(2);
  if (pooled) options.work_pool = &pool;
  CAPTURE(pooled);

  auto plain = pc.snapshot(false, test_options());
  REQUIRE(plain.result->has_value());
  auto first = pc.snapshot(false, options);
  REQUIRE(first.result->has_value());
  CHECK(first.result->value().hash == plain.result->value().hash);
  CHECK(first.result->value().findings == plain.result->value().findings);
  CHECK(options.v3_memo->misses() == 1234);
  CHECK(options.v3_memo->size() == 1234);

  auto second = pc.snapshot(false, options);
  REQUIRE(second.result->has_value());
  CHECK(second.result->value().hash == plain.result->value().hash);
  CHECK(options.v3_memo->page_hits() == 3);
  CHECK(options.v3_memo->hits() == 1234);

  SECTION("a changed rule: its page is read, the rule alone canonicalized again") {
    REQUIRE(pc.sim.edit_rule("rule-00600", [](json& spec) { spec["description"] = "changed"; }));
    auto third = pc.snapshot(false, options);
    REQUIRE(third.result->has_value());
    CHECK(options.v3_memo->page_hits() == 3 + 2);
    CHECK(options.v3_memo->misses() == 1235);
    auto fresh = pc.snapshot(false, test_options());
    REQUIRE(fresh.result->has_value());
    CHECK(third.result->value().hash == fresh.result->value().hash);
    CHECK(third.result->value().hash != plain.result->value().hash);
  }
  SECTION("a group renamed: rules show the new name, nothing is reused") {
    pc.rewrite = edit_pages("address_groups/list", [](std::int64_t, json& page) {
      for (auto& g : page.at("entities")) {
        if (g.at("address_group").at("name") == "ag-0") g["address_group"]["name"] = "ag-renamed";
      }
    });
    auto third = pc.snapshot(false, options);
    REQUIRE(third.result->has_value());
    CHECK(options.v3_memo->page_hits() == 3);
    CHECK(options.v3_memo->misses() == 2 * 1234);
    auto fresh = pc.snapshot(false, test_options());
    REQUIRE(fresh.result->has_value());
    CHECK(third.result->value().hash == fresh.result->value().hash);
  }
  SECTION("a rule gone from a complete listing is dropped from the memo") {
    REQUIRE(pc.sim.remove_rule("rule-00010"));
    REQUIRE(pc.snapshot(false, options).result->has_value());
    CHECK(options.v3_memo->size() == 1233);
  }
  SECTION("a changed rule that does not canonicalize is named by its place in the listing") {
    REQUIRE(pc.sim.edit_rule("rule-00650",
                             [](json& spec) { spec["resources"]["app_rule"]["action"] = 7; }));
    const Error e = failure(pc.snapshot(false, options), ErrorReason::Malformed);
    CHECK_THAT(e.message, Catch::StartsWith("rules[650]") && Catch::Contains("action"));
  }
  SECTION("a page that is not JSON is malformed") {
    pc.rewrite = [](const http::HttpRequest& r, http::HttpResponse& response) {
      if (is_list(r, kRules) && offset_of(r) == 500) response.body = "{\"entities\": [";
    };
    CHECK(failure(pc.snapshot(false, options)).reason == ErrorReason::Malformed);
  }
  SECTION("the same uuid on a known page and a changed page is a shifted listing") {
    pc.rewrite = edit_pages(kRules, [](std::int64_t offset, json& page) {
      if (offset == 500) page["entities"][1]["metadata"]["uuid"] = "uuid-of-page-0";
      if (offset == 0) page["entities"][7]["metadata"]["uuid"] = "uuid-of-page-0";
    });
    REQUIRE(pc.snapshot(false, options).result.has_value());
    const Error e = failure(pc.snapshot(false, options), ErrorReason::Truncated);
    CHECK_THAT(e.message, Catch::Contains("duplicate uuid uuid-of-page-0"));
  }
  SECTION("no address groups while rules reference one") {
    pc.fault("address_groups_list:empty");
    const Error e = failure(pc.snapshot(false, options), ErrorReason::EmptyList);
    CHECK_THAT(e.message, Catch::Contains("address_groups/list"));
  }
}

namespace {

// The names of a snapshot's policies that hold their text.
std::vector<std::string> policies_with_text(const policy::Snapshot& s) {
  std::vector<std::string> out;
  for (const auto& o : s.objects) {
    if (o.kind == policy::ObjectKind::Policy && o.has_text) out.push_back(o.name);
  }
  return out;
}

}  // namespace

// After a poll is stored, the collector has the memo let its texts go (docs/design/memory.md):
// the next snapshot is the same by hash, and only what was canonicalized again holds text.
TEST_CASE("A memo that let its texts go builds the same snapshots without the texts",
          "[prism][snapshot][memory]") {
  const bool v4 = GENERATE(false, true);
  CAPTURE(v4);
  Pc pc(v4 ? v4_site(345, 3, 2, 10) : site_with_group_peer(1234, 3, 3, true));
  auto options = v4 ? v4_test_options() : test_options();
  if (v4) {
    options.v4_memo = std::make_shared<policy::V4PolicyMemo>();
  } else {
    options.v3_memo = std::make_shared<policy::V3RuleMemo>();
  }
  auto release = [&] {
    return v4 ? options.v4_memo->release_texts() : options.v3_memo->release_texts();
  };
  const std::size_t policies = v4 ? 345 : 1234;

  auto first = pc.snapshot(v4, options);
  REQUIRE(first.result->has_value());
  CHECK(first.result->value().has_all_texts());
  CHECK(release() == policies);
  CHECK(release() == 0);  // nothing left to let go

  auto quiet = pc.snapshot(v4, options);
  REQUIRE(quiet.result->has_value());
  CHECK(quiet.result->value().hash == first.result->value().hash);
  CHECK(policies_with_text(quiet.result->value()).empty());
  CHECK(quiet.result->value().count(policy::ObjectKind::Policy) == policies);
  CHECK(release() == 0);  // a quiet poll remembered no text

  const std::string edited = v4 ? "rule-00007" : "rule-00600";
  REQUIRE(pc.sim.edit_rule(edited, [](json& spec) { spec["description"] = "changed"; }));
  auto changed = pc.snapshot(v4, options);
  REQUIRE(changed.result->has_value());
  auto fresh = pc.snapshot(v4, v4 ? v4_test_options() : test_options());
  REQUIRE(fresh.result->has_value());
  CHECK(changed.result->value().hash == fresh.result->value().hash);
  CHECK(changed.result->value().findings == fresh.result->value().findings);
  CHECK(policies_with_text(changed.result->value()) == std::vector<std::string>{edited});
  CHECK(release() == 1);
}

namespace {

// (kind, name, hash) of every object: what a snapshot says, texts aside.
std::vector<std::string> object_keys(const policy::Snapshot& s) {
  std::vector<std::string> out;
  for (const auto& o : s.objects) out.push_back(std::string(policy::to_string(o.kind)) + ' ' + o.name + ' ' + o.hash);
  return out;
}

struct MemoPc {
  bool v4;
  Pc pc;
  prism::FetchOptions options;

  explicit MemoPc(bool v4_api)
      : v4(v4_api),
        pc(v4 ? v4_site(345, 3, 2, 10) : site_with_group_peer(1234, 3, 3, true)),
        options(v4 ? v4_test_options() : test_options()) {
    if (v4) {
      options.v4_memo = std::make_shared<policy::V4PolicyMemo>();
    } else {
      options.v3_memo = std::make_shared<policy::V3RuleMemo>();
    }
  }
  // A poll as the collector makes it: the memo lets its texts go once the snapshot is stored.
  policy::Snapshot poll() {
    auto polled = pc.snapshot(v4, options);
    REQUIRE(polled.result->has_value());
    v4 ? options.v4_memo->release_texts() : options.v3_memo->release_texts();
    return polled.result->value();
  }
  policy::Snapshot fresh() {
    auto polled = pc.snapshot(v4, v4 ? v4_test_options() : test_options());
    REQUIRE(polled.result->has_value());
    return polled.result->value();
  }
  std::uint64_t reference_hits() const {
    return v4 ? options.v4_memo->reference_hits() : options.v3_memo->reference_hits();
  }
  std::uint64_t snapshot_hits() const {
    return v4 ? options.v4_memo->snapshot_hits() : options.v3_memo->snapshot_hits();
  }
  std::uint64_t misses() const {
    return v4 ? options.v4_memo->misses() : options.v3_memo->misses();
  }
  void clear() { v4 ? options.v4_memo->clear() : options.v3_memo->clear(); }
  // Edits group `name`'s description on every page of its list: other bytes, same names.
  void describe_group(const std::string& name, const std::string& description) {
    if (v4) {
      pc.rewrite = edit_v4_pages(kV4AddressGroups, [=](std::int64_t, json& page) {
        for (auto& g : page.at("data")) {
          if (g.at("name") == name) g["description"] = description;
        }
      });
    } else {
      pc.rewrite = edit_pages("address_groups/list", [=](std::int64_t, json& page) {
        for (auto& g : page.at("entities")) {
          if (g.at("address_group").at("name") == name) {
            g["address_group"]["description"] = description;
          }
        }
      });
    }
  }
};

}  // namespace

// docs/design/memory.md step 4: a poll whose referenced lists and policy pages have the bytes of
// the last complete poll's parses none of them and assembles nothing; it takes the last
// snapshot, without texts. Anything listed with other bytes is read and built as before.
TEST_CASE("A poll with the bytes of the last complete poll reads and assembles nothing again",
          "[prism][snapshot][memory]") {
  const bool v4 = GENERATE(false, true);
  CAPTURE(v4);
  MemoPc m(v4);
  const std::size_t policies = v4 ? 345 : 1234;

  const auto first = m.poll();
  CHECK(m.reference_hits() == 0);
  CHECK(m.snapshot_hits() == 0);

  const auto quiet = m.poll();
  CHECK(m.reference_hits() == 1);
  CHECK(m.snapshot_hits() == 1);
  CHECK(quiet.hash == first.hash);
  CHECK(quiet.findings == first.findings);
  CHECK(object_keys(quiet) == object_keys(first));
  CHECK(quiet.count(policy::ObjectKind::Policy) == policies);
  CHECK(policies_with_text(quiet).empty());
  CHECK_FALSE(quiet.has_all_texts());
  CHECK(m.misses() == policies);

  SECTION("a changed policy: the groups are taken unread and the snapshot is assembled") {
    const std::string edited = v4 ? "rule-00007" : "rule-00600";
    REQUIRE(m.pc.sim.edit_rule(edited, [](json& spec) { spec["description"] = "changed"; }));
    const auto changed = m.poll();
    CHECK(m.reference_hits() == 2);
    CHECK(m.snapshot_hits() == 1);
    CHECK(m.misses() == policies + 1);
    const auto fresh = m.fresh();
    CHECK(changed.hash == fresh.hash);
    CHECK(changed.findings == fresh.findings);
    CHECK(changed.hash != first.hash);
    // and the poll after it takes the new snapshot whole
    CHECK(m.poll().hash == fresh.hash);
    CHECK(m.snapshot_hits() == 2);
  }
  SECTION("a group listed with other bytes is read again; the policies keep their entries") {
    m.describe_group("ag-0", "edited on the PC");
    const auto edited = m.poll();
    CHECK(m.reference_hits() == 1);
    CHECK(m.snapshot_hits() == 1);
    CHECK(m.misses() == policies);  // the same names: no policy is canonicalized again
    CHECK(edited.hash != first.hash);
    CHECK(edited.hash == m.fresh().hash);
  }
  SECTION("a memo cleared after a refused store builds everything again, the same") {
    m.clear();
    const auto rebuilt = m.poll();
    CHECK(m.reference_hits() == 1);
    CHECK(m.snapshot_hits() == 1);
    CHECK(m.misses() == 2 * policies);
    CHECK(rebuilt.hash == first.hash);
    CHECK(policies_with_text(rebuilt).size() == policies);
  }
  SECTION("a listing that restarts is not taken whole") {
    const std::string endpoint = v4 ? kV4Policies : kRules;
    m.pc.before = change_at(endpoint, 1, [](pcsim::Simulator& sim) { sim.add_rule(site_rule(9000)); });
    const auto grown = m.poll();
    CHECK(m.snapshot_hits() == 1);
    CHECK(grown.count(policy::ObjectKind::Policy) == policies + 1);
    CHECK(grown.hash == m.fresh().hash);
  }
}

TEST_CASE("v3: category values listed with other bytes are read again",
          "[prism][snapshot][memory]") {
  MemoPc m(false);
  const auto first = m.poll();
  REQUIRE(m.poll().hash == first.hash);
  REQUIRE(m.snapshot_hits() == 1);
  SECTION("the same values: the same snapshot, assembled") {
    m.pc.rewrite = edit_pages("categories/AppType/list", [](std::int64_t, json& page) {
      page.at("entities").at(0)["description"] = "edited on the PC";
    });
    CHECK(m.poll().hash == first.hash);
    CHECK(m.snapshot_hits() == 1);
    CHECK(m.reference_hits() == 2);
  }
  SECTION("a value gone: the snapshot says so") {
    m.pc.rewrite = edit_pages("categories/AppType/list", [](std::int64_t, json& page) {
      auto& values = page.at("entities");
      values.erase(values.begin());
      page["metadata"]["total_matches"] = values.size();
    });
    const auto fewer = m.poll();
    CHECK(m.snapshot_hits() == 1);
    CHECK(fewer.hash != first.hash);
    CHECK(fewer.hash == m.fresh().hash);
  }
}

// The referenced lists are read from their raw texts, parsed only when they changed. The flat
// scan of each page refuses what the strict parse would (core/json_scan.hpp), so a bad item is
// still named by its page and its JSON path, as the DOM path names it.
TEST_CASE("A referenced list item that does not parse is refused by its page",
          "[prism][snapshot][completeness]") {
  const bool v4 = GENERATE(false, true);
  CAPTURE(v4);
  MemoPc m(v4);
  const std::string endpoint = v4 ? kV4AddressGroups : "address_groups/list";
  auto insert_before_ag1 = [endpoint](std::string extra) {
    return [endpoint, extra](const http::HttpRequest& r, http::HttpResponse& response) {
      if (!is_list(r, endpoint)) return;
      const auto at = response.body.find("\"name\":\"ag-1\"");
      if (at != std::string::npos) response.body.insert(at, extra);
    };
  };
  SECTION("a key given twice") {
    m.pc.rewrite = insert_before_ag1("\"name\":\"ag-1\",");
    const Error e = failure(m.pc.snapshot(v4, m.options), ErrorReason::Malformed);
    CHECK_THAT(e.message, Catch::StartsWith(endpoint + (v4 ? " page 0: " : " offset 0: ")) &&
                              Catch::Contains("name: key given twice"));
  }
  SECTION("a number out of range") {
    m.pc.rewrite = insert_before_ag1("\"size\":1e999,");
    const Error e = failure(m.pc.snapshot(v4, m.options), ErrorReason::Malformed);
    CHECK_THAT(e.message, Catch::StartsWith(endpoint + (v4 ? " page 0: " : " offset 0: ")) &&
                              Catch::Contains("[1]") && Catch::Contains("size: number out of range"));
  }
}
