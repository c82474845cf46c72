// A whole file's bytes in memory, for the site files flowdriftctl reads (50 MB and more at
// 5,000 policies). std::string would zero-fill its size before the read, and fault every 4 KiB
// page in twice over (the fill, then the copy); here the bytes land once in anonymous memory
// that is neither filled nor copied again, on huge pages where the kernel allows them
// (madvise). Not a file mapping: a file truncated while it is read cannot kill the process with
// SIGBUS, it is only read short.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace flowdrift {

class FileBytes {
 public:
  // The file's bytes (a pipe or /dev/stdin too, to its end), or nullopt when it cannot be
  // opened or read.
  static std::optional<FileBytes> read(const std::string& path);

  FileBytes(FileBytes&& other) noexcept;
  FileBytes& operator=(FileBytes&& other) noexcept;
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  ~FileBytes();

  std::string_view view() const { return {data_, size_}; }
  std::size_t size() const { return size_; }

 private:
  FileBytes() = default;
  bool reserve(std::size_t capacity);  // grows the mapping, keeping what was read

  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;  // the mapping's length
};

}  // namespace flowdrift
