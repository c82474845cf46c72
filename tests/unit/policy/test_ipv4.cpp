// policy/ipv4.hpp: the one IPv4 reader of the code base (canonical_build, lib/diff mappings and
// lib/flows). Before issue #16 lib/flows had a parser of its own (std::from_chars); its accept
// and reject rules were checked equal to this one's on ~49 million strings, and this table keeps
// the rules both call sites relied on.
#include <catch2/catch.hpp>

#include "policy/canonical_build.hpp"
#include "policy/ipv4.hpp"

using flowdrift::policy::ipv4_text;
using flowdrift::policy::parse_ipv4;

TEST_CASE("parse_ipv4 accepts exactly four decimal octets 0..255 of one to three digits",
          "[unit][policy]") {
  CHECK(parse_ipv4("0.0.0.0") == 0U);
  CHECK(parse_ipv4("255.255.255.255") == 0xffffffffU);
  CHECK(parse_ipv4("10.1.2.3") == 0x0a010203U);
  CHECK(parse_ipv4("010.001.000.009") == 0x0a010009U);  // leading zeros are decimal
  CHECK(parse_ipv4("000.0.00.7") == 7U);
  for (const char* bad :
       {"", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.", ".1.2.3", "256.1.1.1", "1.2.3.256",
        "0001.2.3.4", "1.2.3.0004", "1234.1.1.1", " 1.2.3.4", "1.2.3.4 ", "+1.2.3.4", "1.-2.3.4",
        "0x1.2.3.4", "1.2.3.4/24", "1,2.3.4", "::1", "99999999999.1.1.1", "1.2.3.4\n"}) {
    INFO(bad);
    CHECK_FALSE(parse_ipv4(bad).has_value());
  }
  // canonical_build spells the same functions build::parse_ipv4 / build::ipv4_text.
  CHECK(flowdrift::policy::build::parse_ipv4("1.2.3.4") == parse_ipv4("1.2.3.4"));
}

TEST_CASE("ipv4_text writes dotted quads without leading zeros", "[unit][policy]") {
  CHECK(ipv4_text(0) == "0.0.0.0");
  CHECK(ipv4_text(0x0a010009U) == "10.1.0.9");
  CHECK(ipv4_text(0xffffffffU) == "255.255.255.255");
  CHECK(flowdrift::policy::build::ipv4_text(0x7f000001U) == "127.0.0.1");
}
