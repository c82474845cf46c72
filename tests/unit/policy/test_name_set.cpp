// NameSet (policy/name_set.hpp): a sorted set of interned names, each distinct name held once
// in the process and freed with its last reference.
#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "policy/name_set.hpp"

using flowdrift::policy::intern_name;
using flowdrift::policy::interned_names;
using flowdrift::policy::NameSet;

namespace {

std::vector<std::string> listed(const NameSet& s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("NameSet keeps its names sorted and once, as std::set does", "[policy][name_set]") {
  NameSet s;
  CHECK(s.empty());
  CHECK(s.insert("tier:web"));
  CHECK(s.insert("app:billing"));
  CHECK_FALSE(s.insert("tier:web"));
  CHECK(s.insert(std::string("env:") + "prod"));
  const std::vector<std::string> names{"zeta", "alpha", "app:billing"};
  s.insert(names.begin(), names.end());
  CHECK(s.size() == 5);
  CHECK(listed(s) == std::vector<std::string>{"alpha", "app:billing", "env:prod", "tier:web",
                                              "zeta"});
  CHECK(s.contains("env:prod"));
  CHECK(s.count("env:prod") == 1);
  CHECK(s.count("env:pro") == 0);
  CHECK_FALSE(s.contains(""));
  // Into a std::set by range, as the snapshot's assembly takes them.
  std::set<std::string> copy;
  copy.insert(s.begin(), s.end());
  CHECK(copy.size() == 5);

  NameSet same{"zeta", "env:prod", "alpha", "tier:web", "app:billing"};
  CHECK(same == s);
  same.insert("another");
  CHECK_FALSE(same == s);
  s.clear();
  CHECK(s.empty());
  CHECK(s.begin() == s.end());
}

TEST_CASE("NameSet holds each distinct name once and frees it with its last reference",
          "[policy][name_set]") {
  const std::size_t before = interned_names();
  {
    NameSet a{"test-name-set:shared"};
    NameSet b;
    b.insert(std::string("test-name-set:") + "shared");
    CHECK(&*a.begin() == &*b.begin());  // one string, two sets
    CHECK(interned_names() == before + 1);
    NameSet c = a;  // copies share it too
    CHECK(&*c.begin() == &*a.begin());
    CHECK(interned_names() == before + 1);
  }
  CHECK(interned_names() == before);
  // Gone and asked for again: a new string, equal.
  const auto again = intern_name("test-name-set:shared");
  CHECK(*again == "test-name-set:shared");
  CHECK(interned_names() == before + 1);
}

TEST_CASE("NameSet names are interned and freed safely from several threads",
          "[policy][name_set]") {
  const std::size_t before = interned_names();
  std::atomic<int> wrong{0};  // Catch's assertions are not for other threads
  auto work = [&wrong](int seed) {
    for (int round = 0; round < 2000; ++round) {
      NameSet s;
      for (int k = 0; k < 8; ++k) {
        s.insert("test-name-set-thread:" + std::to_string((round + k + seed) % 13));
      }
      std::size_t n = 0;
      for (const std::string& name : s) {
        n += name.rfind("test-name-set-thread:", 0) == 0 ? 1 : 0;
      }
      if (s.size() != 8 || n != 8) ++wrong;
    }  // every set dropped: names freed while the other thread interns them again
  };
  std::thread t1(work, 0);
  std::thread t2(work, 5);
  t1.join();
  t2.join();
  CHECK(wrong == 0);
  CHECK(interned_names() == before);
  NameSet held{"test-name-set-thread:3"};
  CHECK(*held.begin() == "test-name-set-thread:3");
}
