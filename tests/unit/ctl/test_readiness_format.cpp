// The readiness report's renderers: hostile names (from a Prism Central) cannot inject markup
// into the HTML or break the Markdown tables, and every section is present.
#include <catch2/catch.hpp>

#include "ctl/readiness.hpp"

using namespace flowdrift;
using nlohmann::json;

namespace {

json readiness_doc(const std::string& policy, const std::string& vm = "web-01") {
  return {{"pair", "prod"}, {"source", "primary"}, {"replica", "dr"}, {"failed_over", false},
          {"generated", "2026-12-06T00:00:00Z"}, {"ready", false}, {"notes", json::array()},
          {"snapshots", {{"source", {{"site", "primary"}, {"id", 1}, {"polled", "t"}}},
                         {"replica", {{"site", "dr"}, {"id", 2}, {"polled", "t"}}}}},
          {"reasons", json::array({{{"policy", policy}, {"application", "AppType:Web"},
                                    {"kind", "missing"}, {"severity", "critical"},
                                    {"summary", "absent"}}})},
          {"applications", json::array()}, {"cosmetic", json::array()},
          {"monitor_on_replica", json::array()}, {"missing_on_replica", json::array()},
          {"vms", {{"assessed", true}, {"note", "as of the last complete read"},
                   {"gaps", json::array({{{"vm", vm}, {"kind", "unprotected"},
                                          {"protected_by", "recovery_plan rp"},
                                          {"selected_now", json::array({policy})},
                                          {"selected_after", json::array()},
                                          {"missing_categories", json::array({"AppType:Web"})}}})}}},
          {"status", {{"status", "DRIFTED"}, {"since", "t"}, {"reason", ""}}},
          {"open_items", json::array()}, {"expected_differences", json::array()},
          {"history", json::array()}, {"flips", json::array()}, {"applies", json::array()},
          {"status_history", json::array({{{"at", "t1"}, {"status", "DRIFTED"}, {"was", "IN_SYNC"}, {"reason", ""}}})},
          {"audit", {{"checked", true}, {"intact", true}, {"entries", 3}, {"rows", 2}, {"head_seq", 3}}}};
}

}  // namespace

TEST_CASE("readiness HTML escapes what a Prism Central names", "[unit][ctl][readiness]") {
  const auto html = ctl::readiness_html(readiness_doc("<script>alert('x')</script> & \"q\"", "<img src=x>"));
  CHECK(html.find("<img") == std::string::npos);
  CHECK_THAT(html, Catch::Contains("<td>&lt;img src=x&gt;</td>"));
  CHECK(html.find("<script>") == std::string::npos);
  CHECK_THAT(html, Catch::Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"));
  CHECK_THAT(html, Catch::Contains("NOT READY (1 reasons)"));
  for (const char* section : {"Not-ready reasons", "Policies in MONITOR on dr", "Expected differences",
                              "Failovers and failbacks", "Applies", "Drift history",
                              "Pair status history", "VMs that would land unprotected or protected differently on dr"}) {
    CHECK_THAT(html, Catch::Contains(std::string("<h2>") + section));
  }
}

TEST_CASE("readiness Markdown keeps a hostile name inside its table cell", "[unit][ctl][readiness]") {
  const auto md = ctl::readiness_markdown(readiness_doc("web | injected\n# heading"));
  CHECK_THAT(md, Catch::Contains("| web \\| injected"));
  CHECK(md.find("\n# heading") == std::string::npos);
  CHECK_THAT(md, Catch::Contains("- **Audit trail:** intact: 3 entries, 2 rows, head seq 3"));
  CHECK_THAT(md, Catch::Contains("| web-01 | unprotected | recovery_plan rp | web \\| injected"));
  auto unread = readiness_doc("web");
  unread["vms"] = {{"assessed", false}, {"note", "never read"}, {"gaps", json::array()}};
  CHECK_THAT(ctl::readiness_markdown(unread), Catch::Contains("Not assessed: never read."));
}
