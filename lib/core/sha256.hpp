// SHA-256 as lowercase hex, for content addressing of canonical JSON.
#pragma once

#include <array>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace flowdrift {

std::string sha256_hex(std::string_view data);

// `n` bytes as lowercase hex digits.
std::string to_hex(const unsigned char* data, std::size_t n);

// The raw digest: a key held by the thousand (a site's memo), 32 bytes in place of a 64-byte
// hex string on the heap.
using Sha256 = std::array<unsigned char, 32>;
Sha256 sha256(std::string_view data);

// For unordered containers: the digest's first bytes are already uniformly spread.
struct Sha256Hash {
  std::size_t operator()(const Sha256& d) const noexcept {
    std::size_t h = 0;
    std::memcpy(&h, d.data(), sizeof h);
    return h;
  }
};

}  // namespace flowdrift
