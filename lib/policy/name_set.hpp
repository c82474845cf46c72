// The names one policy references (address, service and entity groups, "key:value"
// categories): a sorted set, small in memory. A site's memo keeps one per policy and kind from
// one poll to the next (docs/design/memory.md), and thousands of policies reference the same
// few names, so each distinct name is held once in the process (interned) and freed with its
// last reference. A name costs a set 16 bytes, against about 110 in a std::set<std::string>.
// Thread-safe as std::set is: one set per thread, any number of sets on any threads.
#pragma once

#include <cstddef>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace flowdrift::policy {

// The one shared copy of `name`.
std::shared_ptr<const std::string> intern_name(std::string_view name);
// Distinct names held now (for tests and benchmarks).
std::size_t interned_names();

class NameSet {
  using Names = std::vector<std::shared_ptr<const std::string>>;

 public:
  // Iterates the names in order, as const std::string&.
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::string;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::string*;
    using reference = const std::string&;

    const_iterator() = default;
    explicit const_iterator(Names::const_iterator it) : it_(it) {}
    reference operator*() const { return **it_; }
    pointer operator->() const { return it_->get(); }
    const_iterator& operator++() {
      ++it_;
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator old = *this;
      ++it_;
      return old;
    }
    bool operator==(const const_iterator&) const = default;

   private:
    Names::const_iterator it_;
  };
  using iterator = const_iterator;
  using value_type = std::string;

  NameSet() = default;
  NameSet(std::initializer_list<std::string_view> names);

  // True when `name` was not in the set.
  bool insert(std::string_view name);
  template <class It>
  void insert(It first, It last) {
    for (; first != last; ++first) insert(*first);
  }
  bool contains(std::string_view name) const;
  std::size_t count(std::string_view name) const { return contains(name) ? 1 : 0; }
  std::size_t size() const { return names_.size(); }
  bool empty() const { return names_.empty(); }
  void clear() { names_.clear(); }
  const_iterator begin() const { return const_iterator(names_.begin()); }
  const_iterator end() const { return const_iterator(names_.end()); }

  friend bool operator==(const NameSet& a, const NameSet& b);

 private:
  Names::const_iterator lower_bound(std::string_view name) const;
  Names names_;  // sorted by value, unique
};

}  // namespace flowdrift::policy
