// Interval-set arithmetic on sorted, disjoint, non-adjacent vectors: linear merges, no heap
// beyond the result vector.
#include <algorithm>

#include "flows/flows.hpp"

namespace flowdrift::flows {

IntervalSet normalized(IntervalSet v) {
  if (v.size() < 2) return v;
  std::sort(v.begin(), v.end(),
            [](const Interval& a, const Interval& b) { return a.lo < b.lo || (a.lo == b.lo && a.hi < b.hi); });
  std::size_t out = 0;
  for (std::size_t i = 1; i < v.size(); ++i) {
    // Adjacent counts as overlapping: [80,80] and [81,90] allow the same ports as [80,90].
    // 64-bit so hi = 0xffffffff cannot wrap.
    if (std::uint64_t{v[i].lo} <= std::uint64_t{v[out].hi} + 1) {
      v[out].hi = std::max(v[out].hi, v[i].hi);
    } else {
      v[++out] = v[i];
    }
  }
  v.resize(out + 1);
  return v;
}

IntervalSet unite(const IntervalSet& a, const IntervalSet& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  IntervalSet merged;
  merged.reserve(a.size() + b.size());
  std::merge(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(merged),
             [](const Interval& x, const Interval& y) { return x.lo < y.lo; });
  return normalized(std::move(merged));
}

IntervalSet subtract(const IntervalSet& a, const IntervalSet& b) {
  if (a.empty() || b.empty()) return a;
  IntervalSet out;
  std::size_t j = 0;
  for (const Interval& x : a) {
    std::uint64_t lo = x.lo;  // next uncovered value of x
    const std::uint64_t hi = x.hi;
    while (j < b.size() && b[j].hi < lo) ++j;
    std::size_t k = j;
    while (lo <= hi && k < b.size() && b[k].lo <= hi) {
      if (b[k].lo > lo) out.push_back({static_cast<std::uint32_t>(lo), b[k].lo - 1});
      lo = std::uint64_t{b[k].hi} + 1;
      if (b[k].hi > hi) break;  // b[k] may still cover the next interval of a
      ++k;
    }
    j = k;
    if (lo <= hi) out.push_back({static_cast<std::uint32_t>(lo), static_cast<std::uint32_t>(hi)});
  }
  return out;
}

IntervalSet intersect(const IntervalSet& a, const IntervalSet& b) {
  IntervalSet out;
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const std::uint32_t lo = std::max(a[i].lo, b[j].lo);
    const std::uint32_t hi = std::min(a[i].hi, b[j].hi);
    if (lo <= hi) out.push_back({lo, hi});
    if (a[i].hi < b[j].hi) {
      ++i;
    } else {
      ++j;
    }
  }
  return out;
}

bool contains(const IntervalSet& s, std::uint32_t v) {
  auto it = std::upper_bound(s.begin(), s.end(), v,
                             [](std::uint32_t x, const Interval& iv) { return x < iv.lo; });
  return it != s.begin() && std::prev(it)->hi >= v;
}

}  // namespace flowdrift::flows
