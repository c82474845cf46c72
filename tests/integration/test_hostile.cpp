// Hostile answers from the DR Prism Central against the real daemon (issue #14): a page that
// holds a duplicate key, a 10 MiB name, a number out of range or bytes that are not UTF-8 is a
// failed poll naming the place, never drift, never a huge log line, and /api/v1/sites keeps
// answering valid JSON; control characters in a name reach no log line raw.
#include <catch2/catch.hpp>

#include <sstream>

#include "core/printable.hpp"
#include "live.hpp"

using namespace flowdrift::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::int64_t malformed_polls(DbView& db) {
  return std::stoll(db.scalar("SELECT count(*) FROM polls p JOIN sites s ON s.id = p.site_id "
                              "WHERE s.name = 'dr' AND p.reason = 'malformed'")
                        .value_or("0"));
}

std::size_t longest_line(const std::string& text) {
  std::istringstream in(text);
  std::size_t longest = 0;
  for (std::string line; std::getline(in, line);) longest = std::max(longest, line.size());
  return longest;
}

}  // namespace

TEST_CASE("hostile DR answers fail its polls with the place named, and open no drift",
          "[integration][hostile][slow]") {
  LivePair live(40, 42);
  DbView db = live.start_in_sync();

  struct Case {
    const char* fault;
    const char* where;
  };
  const Case cases[] = {
      {"rules_list:duplicate_key", "entities[0].spec.name: key given twice in one object"},
      {"rules_list:oversized", "entities[0].spec.name: string of 10485760 bytes"},
      {"rules_list:huge_number", "entities[0].spec.pcsimHugeNumber: number out of range"},
      {"rules_list:invalid_utf8", "entities[0].spec.name: syntax error"},
  };
  for (const auto& c : cases) {
    INFO(c.fault);
    const auto before = malformed_polls(db);
    live.dr.add_fault(c.fault);
    REQUIRE(wait_until([&] { return malformed_polls(db) >= before + 2; }, 30s));
    const auto message = db.scalar("SELECT p.message FROM polls p JOIN sites s ON s.id = "
                                   "p.site_id WHERE s.name = 'dr' ORDER BY p.id DESC LIMIT 1");
    REQUIRE(message.has_value());
    CHECK_THAT(*message, Catch::Contains(c.where));
    CHECK(flowdrift::is_printable(*message));
    // The API answers valid JSON, and agrees with /metrics that dr is down.
    SyncClient api(live.daemon.port(), "", false);
    const auto sites = api.request("GET", "/api/v1/sites", "", false);
    REQUIRE(sites.status == 200);
    const json doc = json::parse(sites.body);
    CHECK(doc["sites"][1]["up"] == false);
    CHECK_THAT(live.daemon.scrape(), Catch::Contains("flowdrift_site_up{site=\"dr\"} 0"));
    live.dr.clear_faults();
    REQUIRE(wait_until([&] { return pair_status(db) == "IN_SYNC"; }, 30s));
  }
  // Never drift: no item was ever opened, the pair was never DRIFTED.
  CHECK(db.scalar("SELECT count(*) FROM drift_items") == "0");
  CHECK(db.scalar("SELECT count(*) FROM pair_states WHERE status = 'DRIFTED'") == "0");
  // No 10 MB log line: every value in a line is bounded.
  CHECK(longest_line(live.daemon.log()) < 4096);
}

TEST_CASE("control characters in a policy name never reach the log raw",
          "[integration][hostile][slow]") {
  LivePair live(20, 42);
  DbView db = live.start_in_sync();

  // DR's first policy now carries NUL, ESC, CR and LF and what would be a forged log line: it
  // is a valid name, so the pair drifts (missing under its old name, extra under the new one).
  live.dr.add_fault("rules_list:control_chars");
  REQUIRE(wait_until([&] {
    return live.daemon.log().find("drift.opened pair=prod policy=\"") != std::string::npos;
  }, 30s));
  const std::string log = live.daemon.log();
  CHECK(log.find('\x1b') == std::string::npos);
  CHECK(log.find('\0') == std::string::npos);
  CHECK(log.find('\r') == std::string::npos);
  CHECK(log.find("\n2026-01-01 forged line") == std::string::npos);
  CHECK_THAT(log, Catch::Contains("\\x00\\x1b[2J\\r\\n2026-01-01 forged line"));
}
