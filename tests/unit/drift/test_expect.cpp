// Expected differences: selection by policy glob, kind and field; expiry parsing; only live
// expectations cover items, and a field selector never hides a difference outside the field.
#include <catch2/catch.hpp>

#include "drift/expect.hpp"

using namespace flowdrift;
using namespace flowdrift::diff;
using namespace flowdrift::drift;

namespace {

DriftItem item(std::string policy, DriftKind kind, std::vector<FieldDiff> fields) {
  DriftItem d;
  d.object = std::move(policy);
  d.kind = kind;
  d.severity = Severity::Critical;
  d.fields = std::move(fields);
  return d;
}

Expectation expect(std::string policy, std::optional<DriftKind> kind = std::nullopt,
                   std::string field = "", std::int64_t expires_ms = 2'000'000) {
  return {.policy = std::move(policy), .kind = kind, .field = std::move(field),
          .owner = "alice@example.com", .reason = "CHG-42", .expires_ms = expires_ms,
          .expires = "2030-01-01"};
}

}  // namespace

TEST_CASE("glob matching of policy names", "[unit][diff][expect]") {
  CHECK(glob_match("app-*", "app-billing"));
  CHECK(glob_match("app-*", "app-"));
  CHECK_FALSE(glob_match("app-*", "web-app-billing"));
  CHECK(glob_match("*-db", "billing-db"));
  CHECK(glob_match("a?c", "abc"));
  CHECK_FALSE(glob_match("a?c", "ac"));
  CHECK(glob_match("*", ""));
  CHECK(glob_match("a*b*c", "a-x-b-y-c"));
  CHECK_FALSE(glob_match("a*b*c", "a-x-c-y-b"));
  CHECK(glob_match("exact", "exact"));
  CHECK_FALSE(glob_match("exact", "exactly"));
}

TEST_CASE("expiry dates and times", "[unit][diff][expect]") {
  // A date is live through the whole UTC day.
  auto d = parse_expiry("2027-03-31");
  REQUIRE(d);
  CHECK(*d == 1'806'537'600'000);  // 2027-04-01T00:00:00Z
  auto t = parse_expiry("2027-03-31T18:00:00Z");
  REQUIRE(t);
  CHECK(*t == 1'806'516'000'000);
  CHECK_FALSE(parse_expiry("2027-02-30"));
  CHECK_FALSE(parse_expiry("2027-13-01"));
  CHECK_FALSE(parse_expiry("31/03/2027"));
  CHECK_FALSE(parse_expiry("2027-03-31T18:00:00+02:00"));
  CHECK_FALSE(parse_expiry("tomorrow"));
  CHECK_FALSE(parse_expiry(""));
  CHECK(parse_expiry("next year").error().message.find("YYYY-MM-DD") != std::string::npos);
}

TEST_CASE("an expectation selects by policy, kind and field", "[unit][diff][expect]") {
  const auto desc = item("app-1", DriftKind::Modified, {{"description", "\"a\"", "\"b\""}});
  const auto rules = item("app-1", DriftKind::Modified,
                          {{"rules[+ in tcp/8443]", "", "{}"},
                           {"flows[replica only]", "", "\"TCP/8443 in\""}});
  const auto both = item("app-1", DriftKind::Modified,
                         {{"description", "\"a\"", "\"b\""}, {"rules[+ in tcp/8443]", "", "{}"}});
  const auto missing = item("app-1", DriftKind::Missing, {});

  CHECK(expect("app-*").selects(desc));
  CHECK(expect("app-*").selects(missing));
  CHECK_FALSE(expect("web-*").selects(desc));
  CHECK(expect("app-1", DriftKind::Modified).selects(desc));
  CHECK_FALSE(expect("app-1", DriftKind::Modified).selects(missing));

  CHECK(expect("app-1", std::nullopt, "description").selects(desc));
  // Example flows are evidence, not a difference of their own.
  CHECK(expect("app-1", std::nullopt, "rules").selects(rules));
  // A widened rule on the same policy is not hidden by an expectation on its description.
  CHECK_FALSE(expect("app-1", std::nullopt, "description").selects(both));
  // A field selector matches whole path segments only.
  CHECK_FALSE(expect("app-1", std::nullopt, "desc").selects(desc));
  // An item with no field cannot be inside one.
  CHECK_FALSE(expect("app-1", std::nullopt, "description").selects(missing));
}

TEST_CASE("only live expectations cover items, the first that selects wins",
          "[unit][diff][expect]") {
  PairResult r;
  r.items = {item("app-1", DriftKind::Modified, {{"description", "\"a\"", "\"b\""}}),
             item("web", DriftKind::Missing, {})};
  std::vector<Expectation> exps = {expect("app-*", DriftKind::Modified, "", 1'000),
                                   expect("app-1", std::nullopt, "", 5'000),
                                   expect("app-1", std::nullopt, "description", 9'000)};
  exps[1].owner = "bob";
  exps[2].owner = "carol";

  auto live = apply_expectations(r, exps, 2'000);
  CHECK(live == std::vector<bool>{false, true, true});
  REQUIRE(r.items[0].expected);
  CHECK(r.items[0].expected->owner == "bob");
  CHECK(r.items[0].expected->selector == "policy=app-1");
  CHECK_FALSE(r.items[1].expected);

  // Later, only the third is live; at its expiry instant none is.
  apply_expectations(r, exps, 5'000);
  REQUIRE(r.items[0].expected);
  CHECK(r.items[0].expected->owner == "carol");
  live = apply_expectations(r, exps, 9'000);
  CHECK(live == std::vector<bool>{false, false, false});
  CHECK_FALSE(r.items[0].expected);
}
