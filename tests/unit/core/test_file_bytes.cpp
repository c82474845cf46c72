// FileBytes: a file's bytes exactly, whatever its size against the 64 KiB and 2 MiB steps the
// memory grows by, from a pipe as from a regular file; nothing for a file it cannot read.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "core/file_bytes.hpp"
#include "support/temp_dir.hpp"

using flowdrift::FileBytes;
using flowdrift::test::TempDir;
using flowdrift::test::write_file;

namespace {

// Bytes that differ from one position to the next, so that a misplaced piece shows.
std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 4099) % 26);
  return s;
}

}  // namespace

TEST_CASE("FileBytes reads a regular file whole at every size step", "[unit][core]") {
  TempDir dir;
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{65535}, std::size_t{65536},
                           std::size_t{65537}, std::size_t{2} << 20, (std::size_t{5} << 20) + 3}) {
    INFO("size " << size);
    const auto want = pattern(size);
    write_file(dir.file("f"), want);
    auto bytes = FileBytes::read(dir.file("f"));
    REQUIRE(bytes.has_value());
    CHECK(bytes->size() == size);
    CHECK(bytes->view() == want);
  }
}

TEST_CASE("FileBytes reads a pipe to its end, past what it first reserved", "[unit][core]") {
  TempDir dir;
  const auto fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const auto want = pattern((std::size_t{3} << 20) + 17);  // beyond the 64 KiB a pipe starts at
  std::thread writer([&] { write_file(fifo, want); });
  auto bytes = FileBytes::read(fifo);
  writer.join();
  REQUIRE(bytes.has_value());
  CHECK(bytes->view() == want);
}

TEST_CASE("FileBytes gives nothing for a file it cannot read, and moves without copying",
          "[unit][core]") {
  TempDir dir;
  CHECK_FALSE(FileBytes::read(dir.file("missing")).has_value());
  CHECK_FALSE(FileBytes::read(dir.path()).has_value());  // a directory: read() fails

  write_file(dir.file("f"), "abc");
  auto first = FileBytes::read(dir.file("f"));
  REQUIRE(first.has_value());
  const char* at = first->view().data();
  FileBytes moved = std::move(*first);
  CHECK(moved.view() == "abc");
  CHECK(moved.view().data() == at);
  CHECK(first->view().empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
  write_file(dir.file("g"), "defg");
  auto other = FileBytes::read(dir.file("g"));
  REQUIRE(other.has_value());
  moved = std::move(*other);
  CHECK(moved.view() == "defg");
}
