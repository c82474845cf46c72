// Regression guard for the canonical bytes (issue #16, point 4): the store is content-addressed
// by the hashes canonicalization produces, so a refactoring of the normalizers must not change
// one byte of them for any input. This test canonicalizes every v3 fixture, the v3/v4 same-
// intent fixture and a few hundred generated v3 sites that reach every branch of
// normalize_v3.cpp (every rule type, peer and service form, odd IPv4 spellings, duplicate and
// dangling names, escapes in texts, malformed entities), and compares one line per site with
// tests/unit/fixtures/policy/canon_hashes.golden: the snapshot hash and the SHA-256 of the
// whole rendered snapshot (every object's bytes and every finding), or the error.
//
// The golden file was written by the build before the refactoring. A change to it is a change
// of canonical output: that needs a kCanonVersion bump (docs/canonical-model.md), never a quiet
// UPDATE_GOLDEN=1.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "core/sha256.hpp"
#include "policy/normalize_v3.hpp"
#include "policy/normalize_v4.hpp"
#include "policy_test_support.hpp"
#include "v3_site_gen.hpp"

using namespace flowdrift;
using namespace flowdrift::policy;
using namespace flowdrift::policy::test;
using nlohmann::json;

namespace {

using flowdrift::policy::test::generated_site;

std::string line_of(const std::string& name, const Result<Snapshot>& r) {
  if (!r) {
    return name + " error " + std::string(to_string(r.error().reason)) + " " +
           sha256_hex(r.error().message);
  }
  return name + " snapshot " + r->hash + " render " + sha256_hex(render(*r)) + " objects " +
         std::to_string(r->objects.size()) + " findings " + std::to_string(r->findings.size());
}

}  // namespace

TEST_CASE("canonical bytes of v3 fixtures and generated v3 sites are unchanged (golden)",
          "[unit][policy][golden]") {
  std::string out;

  // Every public v3 fixture that holds rules, alone and with the public groups and categories.
  for (const char* name : {"v3_nsr_list_isolation_rule.json", "v3_nsr_app_rule_intent_response.json"}) {
    const json doc = load_public(name);
    V3SiteData site;
    site.rules = doc.contains("entities") ? entities_of(doc) : std::vector<json>{doc};
    out += line_of(std::string("public/") + name, canonicalize_v3(site)) + "\n";
    site.address_groups = entities_of(load_public("v3_address_groups_list.json"));
    site.service_groups = entities_of(load_public("v3_service_groups_list.json"));
    const json cat = load_public("v3_category_key_and_values.json");
    for (const auto& v : cat.at("category_values")) {
      site.category_values[cat.at("category_key").at("name").get<std::string>()].push_back(v);
    }
    out += line_of(std::string("public/") + name + "+groups", canonicalize_v3(site)) + "\n";
  }
  {
    V3SiteData site;
    site.rules = entities_of(load_local("v3_rules_with_groups.json"));
    site.address_groups = entities_of(load_public("v3_address_groups_list.json"));
    site.service_groups = entities_of(load_public("v3_service_groups_list.json"));
    out += line_of("local/v3_rules_with_groups.json", canonicalize_v3(site)) + "\n";
  }
  {
    V3SiteData site;
    site.rules = {load_public("v3_nsr_delete_response.json")};
    out += line_of("public/v3_nsr_delete_response.json", canonicalize_v3(site)) + "\n";
  }

  // The same-intent fixture through both normalizers (canonical_build is shared).
  out += line_of("local/v4_same_intent.json v3", canonicalize_v3(v3_site(same_intent()))) + "\n";
  out += line_of("local/v4_same_intent.json v4", canonicalize_v4(v4_site(same_intent()))) + "\n";

  // The standard test site and its variants.
  for (bool reverse : {false, true}) {
    SiteVariant v;
    v.reverse_orders = reverse;
    out += line_of(std::string("standard_site reverse=") + (reverse ? "1" : "0"),
                   canonicalize_v3(standard_site(v))) + "\n";
  }

  // Generated sites: valid ones, then ones where a few fields may be invalid.
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    out += line_of("generated/" + std::to_string(seed),
                   canonicalize_v3(generated_site(seed, false))) + "\n";
  }
  for (std::uint64_t seed = 1001; seed <= 1150; ++seed) {
    out += line_of("generated-bad/" + std::to_string(seed),
                   canonicalize_v3(generated_site(seed, true))) + "\n";
  }

  check_golden("canon_hashes.golden", out);
}
