// A v3 rules list read in pieces (SiteFileReader::read_v3_list_in_pieces, what load() does with
// a regular file) gives the site the whole read gives, at every buffer and read size, and
// nothing at all for a file the whole read refuses: checked on fixtures, generated lists and
// mutations of them. A file refused in pieces is read whole, so its errors are the whole
// read's.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/site_file.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift;
using namespace flowdrift::ctl;
using nlohmann::json;

namespace {

constexpr const char* kTags = "[unit][ctl][json_stream]";

json rule(int i) {
  const std::string name = "r" + std::to_string(i);
  json inbound = {{"peer_specification_type", "FILTER"},
                  {"filter", {{"type", "CATEGORIES_MATCH_ALL"}, {"kind_list", {"vm"}},
                              {"params", {{"Env", {i % 2 ? "Prod" : "Dev"}}}}}},
                  {"protocol", "TCP"},
                  {"tcp_port_range_list", {{{"start_port", 1000 + i}, {"end_port", 1000 + i}}}}};
  if (i % 5 == 0) {  // a group reference, dangling without group lists
    inbound = {{"peer_specification_type", "IP_SUBNET"},
               {"address_group_inclusion_list", {{{"kind", "address_group"}, {"uuid", "ag-1"}}}}};
  }
  return {{"metadata", {{"kind", "network_security_rule"}, {"uuid", name + "-uuid"}}},
          {"spec",
           {{"name", name},
            {"description", "rule \"" + name + "\" ]}"},
            {"resources",
             {{"app_rule",
               {{"action", i % 3 ? "APPLY" : "MONITOR"},
                {"target_group",
                 {{"peer_specification_type", "FILTER"},
                  {"filter", {{"type", "CATEGORIES_MATCH_ALL"}, {"kind_list", {"vm"}},
                              {"params", {{"AppType", {"App" + std::to_string(i % 7)}}}}}}}},
                {"inbound_allow_list", {inbound}}}}}}}}};
}

std::string list_text(int rules, int indent) {
  json entities = json::array();
  for (int i = 0; i < rules; ++i) entities.push_back(rule(i));
  const json doc = {{"api_version", "3.1"},
                    {"metadata", {{"kind", "network_security_rule"}, {"total_matches", rules}}},
                    {"entities", entities}};
  return doc.dump(indent);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void require_same_site(const LoadedSite& a, const LoadedSite& b) {
  CHECK(a.kind == b.kind);
  CHECK(a.api == b.api);
  CHECK(a.file == b.file);
  REQUIRE(a.snapshot.hash == b.snapshot.hash);
  CHECK(a.snapshot.findings == b.snapshot.findings);
  REQUIRE(a.snapshot.objects.size() == b.snapshot.objects.size());
  for (std::size_t i = 0; i < a.snapshot.objects.size(); ++i) {
    CHECK(a.snapshot.objects[i].json == b.snapshot.objects[i].json);
  }
}

std::optional<LoadedSite> in_pieces(std::string_view text, std::size_t capacity,
                                    std::size_t piece) {
  SiteFileReader reader;
  return reader.read_v3_list_in_pieces(json_stream::text_source(text, piece), "x.json", {},
                                       capacity);
}

// Bytes changed where a reader is most likely to go wrong: structure, strings, the end.
std::string mutate(const std::string& src, std::mt19937& rng) {
  static constexpr std::string_view kBytes = "{}[]\",:\\ 0a";
  auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  std::string out = src;
  const std::size_t at = pick(src.size());
  switch (pick(4)) {
    case 0: out.erase(at, 1 + pick(3)); break;
    case 1: out[at] = kBytes[pick(kBytes.size())]; break;
    case 2: out.insert(at, 1, kBytes[pick(kBytes.size())]); break;
    default: out.resize(at); break;
  }
  return out;
}

}  // namespace

TEST_CASE("a v3 list read in pieces is the site read whole, at every buffer and read size",
          kTags) {
  std::vector<std::pair<std::string, std::string>> files = {
      {"generated, compact", list_text(300, -1)},
      {"generated, indented", list_text(120, 2)},
      {"v3_rules_with_groups.json",
       read_file(std::string(FLOWDRIFT_TEST_FIXTURES) + "/policy/v3_rules_with_groups.json")},
      {"empty",
       R"({"metadata": {"kind": "network_security_rule", "total_matches": 0}, "entities": []})"},
  };
  for (const auto& [what, text] : files) {
    INFO(what);
    auto whole = SiteFileReader().parse(text, "x.json");
    INFO((whole ? "" : whole.error().message));
    REQUIRE(whole.has_value());
    for (const std::size_t capacity :
         {std::size_t{512}, std::size_t{5000}, std::size_t{4} << 20}) {
      for (const std::size_t piece : {std::size_t{13}, std::size_t{4096}}) {
        INFO(what << ", capacity " << capacity << ", piece " << piece);
        auto pieces = in_pieces(text, capacity, piece);
        REQUIRE(pieces.has_value());
        require_same_site(*pieces, *whole);
      }
    }
  }
}

TEST_CASE("a file that is not a v3 list, or is one with a fault, is not read in pieces", kTags) {
  const std::string good = list_text(10, -1);
  for (const std::string& text : std::vector<std::string>{
           R"({"data": [], "$objectType": "ListNetworkSecurityPoliciesApiResponse"})",
           R"({"format": "flowdrift-site-dump", "entities": []})",
           R"({"entities": [], "metadata": {"kind": "network_security_rule", "total_matches": 0},
               "format": "x"})",
           R"({"metadata": {"kind": "address_group", "total_matches": 0}, "entities": []})",
           R"({"metadata": {"kind": "network_security_rule", "total_matches": 3}, "entities": []})",
           R"({"metadata": {"total_matches": 1}, "entities": [7]})",
           // A real page of a longer listing (total_matches 3, one rule): incomplete.
           read_file(std::string(FLOWDRIFT_PUBLIC_FIXTURES) + "/v3_nsr_list_isolation_rule.json"),
           good.substr(0, good.size() - 1),
           good + "x",
       }) {
    INFO(text.substr(0, 120));
    CHECK_FALSE(in_pieces(text, 4096, 100).has_value());
  }
}

TEST_CASE("a v3 list file loaded has the whole read's errors, naming the file and the rule",
          kTags) {
  json doc = json::parse(list_text(300, -1));
  doc["entities"][250]["spec"]["resources"]["app_rule"]["action"] = "ALLOW";
  flowdrift::test::TempDir dir;
  flowdrift::test::write_file(dir.file("a.json"), doc.dump());
  auto bad = load_site_file(dir.file("a.json"));
  REQUIRE_FALSE(bad.has_value());
  CHECK_THAT(bad.error().message, Catch::StartsWith(dir.file("a.json") + ": rules[250] (r250): "));
  const std::string text = list_text(5, -1);
  flowdrift::test::write_file(dir.file("b.json"), text.substr(0, text.size() - 3));
  auto cut = load_site_file(dir.file("b.json"));
  REQUIRE_FALSE(cut.has_value());
  CHECK_THAT(cut.error().message, Catch::StartsWith(dir.file("b.json") + ": not valid JSON: "));
  // And a good one loads as it parses.
  flowdrift::test::write_file(dir.file("c.json"), list_text(200, 1));
  auto loaded = load_site_file(dir.file("c.json"));
  REQUIRE(loaded.has_value());
  require_same_site(*loaded, *SiteFileReader().parse(list_text(200, 1), dir.file("c.json")));
}

TEST_CASE("v3 lists read in pieces and whole agree on mutations", kTags) {
  const std::string src = list_text(12, 1);
  std::mt19937 rng(3);
  std::size_t read = 0;
  std::size_t refused = 0;
  for (int m = 0; m < 1500; ++m) {
    const std::string text = mutate(src, rng);
    auto whole = SiteFileReader().parse(text, "x.json");
    auto pieces = in_pieces(text, 600, 1 + m % 97);
    INFO("mutation " << m << ": " << text);
    if (pieces) {
      ++read;
      REQUIRE(whole.has_value());
      require_same_site(*pieces, *whole);
    } else if (!whole) {
      ++refused;
    }
  }
  CHECK(read > 100);     // mutations that keep the list valid (in a description, say)
  CHECK(refused > 500);  // and those that break it
}

// Only regular files are read in pieces: a named pipe is read once, whole, as before (opening
// it to look would wait for the writer and lose its bytes).
TEST_CASE("a v3 list given as a named pipe is read once, whole", kTags) {
  flowdrift::test::TempDir dir;
  const std::string fifo = dir.file("rules.fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string text = list_text(50, -1);
  bool written = false;
  std::thread writer([&] {
    // Non-blocking until a reader has it open, so that a reader that never comes cannot hang
    // the test here.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    int fd = -1;
    while (fd < 0 && std::chrono::steady_clock::now() < deadline) {
      fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (fd < 0) return;
    ::fcntl(fd, F_SETFL, 0);
    std::size_t at = 0;
    while (at < text.size()) {
      const ssize_t n = ::write(fd, text.data() + at, text.size() - at);
      if (n <= 0) break;
      at += static_cast<std::size_t>(n);
    }
    written = at == text.size();
    ::close(fd);
  });
  auto loaded = load_site_file(fifo);
  writer.join();
  CHECK(written);
  REQUIRE(loaded.has_value());
  require_same_site(*loaded, *SiteFileReader().parse(text, fifo));
}
