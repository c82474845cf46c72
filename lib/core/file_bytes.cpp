#include "core/file_bytes.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace flowdrift {
namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kMinCapacity = std::size_t{64} << 10;  // a pipe's first read, say

// Room for `size` bytes and the read that finds the end: huge-page multiples once a huge page
// would be filled, else 64 KiB ones.
std::size_t capacity_for(std::size_t size) {
  const std::size_t unit = size >= kHugePage ? kHugePage : kMinCapacity;
  return (size / unit + 1) * unit;
}

// Closes the descriptor on every way out.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

FileBytes::FileBytes(FileBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

FileBytes& FileBytes::operator=(FileBytes&& other) noexcept {
  if (this != &other) {
    FileBytes gone(std::move(*this));
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

FileBytes::~FileBytes() {
  if (data_ != nullptr) ::munmap(data_, capacity_);
}

bool FileBytes::reserve(std::size_t capacity) {
  void* p = data_ == nullptr
                ? ::mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                : ::mremap(data_, capacity_, capacity, MREMAP_MAYMOVE);
  if (p == MAP_FAILED) return false;
  data_ = static_cast<char*>(p);
  capacity_ = capacity;
  // Advice only: where transparent huge pages are off, the pages stay 4 KiB.
  if (capacity >= kHugePage) ::madvise(data_, capacity_, MADV_HUGEPAGE);
  return true;
}

std::optional<FileBytes> FileBytes::read(const std::string& path) {
  Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) return std::nullopt;
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) return std::nullopt;
  const std::size_t expected = S_ISREG(st.st_mode) ? static_cast<std::size_t>(st.st_size) : 0;
  FileBytes out;
  if (!out.reserve(capacity_for(expected))) return std::nullopt;
  while (true) {
    if (out.size_ == out.capacity_ && !out.reserve(out.capacity_ * 2)) return std::nullopt;
    const ssize_t n = ::read(file.fd, out.data_ + out.size_, out.capacity_ - out.size_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) return out;
    out.size_ += static_cast<std::size_t>(n);
  }
}

}  // namespace flowdrift
