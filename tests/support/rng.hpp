// splitmix64: a tiny deterministic generator that gives the same sequence on every platform and
// standard library, unlike the std:: distributions (whose results are implementation-defined).
// For generated test data that must not change between builds: pcsim's sites and the policy
// golden corpus (tests/unit/policy/test_canon_golden.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace flowdrift::test {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // 0 .. n-1 (0 when n is 0).
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
  int between(int lo, int hi) {
    return lo + static_cast<int>(below(static_cast<std::size_t>(hi - lo + 1)));
  }
  bool percent(int p) { return below(100) < static_cast<std::size_t>(p); }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }

 private:
  std::uint64_t state_;
};

}  // namespace flowdrift::test
