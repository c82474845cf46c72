// ListedIds: the duplicate check of the v3 and v4 listing loops, over pages in each form a loop
// has them (known, raw, parsed).
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "prism/request.hpp"

using flowdrift::policy::PageFacts;
using flowdrift::prism::detail::ListedIds;
using flowdrift::prism::detail::RawListPage;
using flowdrift::prism::detail::ReadPage;

namespace {

ReadPage known(std::vector<std::string> ids) {
  ReadPage page;
  page.known = std::make_shared<const PageFacts>(PageFacts{0, std::move(ids)});
  page.raw = RawListPage{};
  return page;
}

ReadPage raw(std::vector<std::string> ids) {
  ReadPage page;
  page.raw = RawListPage{};
  page.raw->items.resize(ids.size());
  page.raw->facts.ids = std::move(ids);
  return page;
}

ReadPage parsed(std::vector<std::string> ids) {
  ReadPage page;
  page.parsed.items.resize(ids.size());
  page.parsed.ids = std::move(ids);
  return page;
}

// A 36-character id, long enough that std::string keeps it on the heap.
std::string uuid(int n) {
  std::string tail = std::to_string(n);
  return "00000000-0000-4000-8000-" + std::string(12 - tail.size(), '0') + tail;
}

}  // namespace

TEST_CASE("ListedIds finds no repeat among distinct ids over pages of every form",
          "[prism][listed_ids]") {
  ListedIds seen;
  CHECK(seen.repeated(known({uuid(1), uuid(2)})) == nullptr);
  CHECK(seen.repeated(raw({uuid(3), "", uuid(4)})) == nullptr);
  CHECK(seen.repeated(parsed({"", uuid(5)})) == nullptr);
  CHECK(seen.repeated(known({})) == nullptr);
}

TEST_CASE("ListedIds names an id repeated on one page", "[prism][listed_ids]") {
  ListedIds seen;
  const ReadPage page = raw({uuid(1), uuid(2), uuid(1)});
  const std::string* repeat = seen.repeated(page);
  REQUIRE(repeat != nullptr);
  CHECK(*repeat == uuid(1));
  CHECK(repeat == &page.raw->facts.ids[2]);  // the second one, as the page holds it
}

TEST_CASE("ListedIds names an id an earlier page listed, whatever form either was read in",
          "[prism][listed_ids]") {
  const auto forms = {&known, &raw, &parsed};
  for (auto first : forms) {
    for (auto second : forms) {
      ListedIds seen;
      // The earlier page is gone when the later one is checked: the ids were copied.
      CHECK(seen.repeated(first({uuid(7), uuid(8), "a short id"})) == nullptr);
      const ReadPage later = second({uuid(9), "a short id"});
      const std::string* repeat = seen.repeated(later);
      REQUIRE(repeat != nullptr);
      CHECK(*repeat == "a short id");
    }
  }
}

TEST_CASE("ListedIds does not compare items without an id", "[prism][listed_ids]") {
  ListedIds seen;
  CHECK(seen.repeated(raw({"", "", uuid(1)})) == nullptr);
  CHECK(seen.repeated(parsed({"", uuid(2)})) == nullptr);
}

TEST_CASE("ListedIds over 20000 ids in 40 pages finds exactly the one repeat",
          "[prism][listed_ids]") {
  ListedIds seen;
  for (int p = 0; p < 40; ++p) {
    std::vector<std::string> ids;
    for (int i = 0; i < 500; ++i) ids.push_back(uuid(p * 500 + i));
    REQUIRE(seen.repeated(p % 2 == 0 ? known(ids) : raw(ids)) == nullptr);
  }
  const ReadPage again = parsed({uuid(20000), uuid(12345)});
  const std::string* repeat = seen.repeated(again);
  REQUIRE(repeat != nullptr);
  CHECK(*repeat == uuid(12345));
}
