// core/memo_digest keys a memo by raw bytes. It must be Poly1305 (so the collision bound its
// header states holds), keyed the same way on every thread of one process, and it must tell
// apart any two different inputs a memo meets: one byte changed, moved, added or dropped.
#include <catch2/catch.hpp>

#include <array>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/memo_digest.hpp"
#include "core/sha256.hpp"

using flowdrift::memo_digest;
using flowdrift::memo_key;
using flowdrift::MemoKey;

namespace {

std::string random_bytes(std::mt19937& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

}  // namespace

TEST_CASE("the memo digest is Poly1305 as RFC 8439 gives it", "[core][memo_digest]") {
  // RFC 8439, section 2.5.2.
  const std::array<unsigned char, 32> key = {
      0x85, 0xd6, 0xbe, 0x78, 0x57, 0x55, 0x6d, 0x33, 0x7f, 0x44, 0x52, 0xfe, 0x42, 0xd5, 0x06, 0xa8,
      0x01, 0x03, 0x80, 0x8a, 0xfb, 0x0d, 0xb2, 0xfd, 0x4a, 0xbf, 0xf6, 0xaf, 0x41, 0x49, 0xf5, 0x1b};
  const MemoKey tag = flowdrift::detail::poly1305(key, "Cryptographic Forum Research Group");
  CHECK(flowdrift::to_hex(tag.data(), tag.size()) == "a8061dc1305136c6c22b8baf0c0127a9");
}

TEST_CASE("equal bytes give one digest and the hex form spells the key", "[core][memo_digest]") {
  std::mt19937 rng(7);
  const std::string page = random_bytes(rng, 100000);
  const MemoKey k = memo_key(page);
  CHECK(memo_key(std::string(page)) == k);
  CHECK(memo_digest(page) == flowdrift::to_hex(k.data(), k.size()));
  CHECK(memo_digest(page).size() == 32);
  CHECK(memo_digest("") == memo_digest(std::string()));
}

TEST_CASE("a byte changed anywhere changes the digest", "[core][memo_digest]") {
  std::mt19937 rng(11);
  std::string text = random_bytes(rng, 1000);
  const MemoKey before = memo_key(text);
  std::set<MemoKey> seen{before};
  for (std::size_t i = 0; i < text.size(); ++i) {
    text[i] = static_cast<char>(text[i] ^ (1 << (i % 8)));
    seen.insert(memo_key(text));
    text[i] = static_cast<char>(text[i] ^ (1 << (i % 8)));
  }
  CHECK(seen.size() == text.size() + 1);
  CHECK(memo_key(text) == before);
}

TEST_CASE("bytes added, dropped or moved change the digest", "[core][memo_digest]") {
  const std::string page = R"({"entities":[{"name":"a"},{"name":"b"}]})";
  const MemoKey k = memo_key(page);
  CHECK(memo_key(page + '\0') != k);                      // Poly1305 pads; a zero byte still counts
  CHECK(memo_key(page.substr(0, page.size() - 1)) != k);  // dropped
  CHECK(memo_key(R"({"entities":[{"name":"b"},{"name":"a"}]})") != k);  // moved
  CHECK(memo_key(std::string(16, '\0')) != memo_key(std::string(32, '\0')));
  CHECK(memo_key("") != memo_key(std::string(1, '\0')));
}

TEST_CASE("every thread of a process digests with the same key", "[core][memo_digest]") {
  std::mt19937 rng(3);
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i) texts.push_back(random_bytes(rng, 1 + rng() % 5000));
  std::vector<MemoKey> here;
  for (const auto& t : texts) here.push_back(memo_key(t));
  std::vector<MemoKey> there(texts.size());
  std::thread worker([&] {
    for (std::size_t i = 0; i < texts.size(); ++i) there[i] = memo_key(texts[i]);
  });
  worker.join();
  CHECK(there == here);
  CHECK(std::set<MemoKey>(here.begin(), here.end()).size() == texts.size());
}

TEST_CASE("the process key is secret: digests are not an unkeyed Poly1305", "[core][memo_digest]") {
  const std::string text = "a page a Prism Central chose";
  CHECK(memo_key(text) != flowdrift::detail::poly1305({}, text));
  std::array<unsigned char, 32> ones;
  ones.fill(0xFF);
  CHECK(memo_key(text) != flowdrift::detail::poly1305(ones, text));
}
