#include "policy/name_set.hpp"

#include <algorithm>
#include <mutex>
#include <unordered_map>

namespace flowdrift::policy {
namespace {

// Each distinct name once, keyed by a view of the string it hands out. An entry whose string
// is being freed (its last reference went, its deleter waits for the lock) is replaced, and the
// deleter then leaves the new entry alone.
struct Pool {
  std::mutex mutex;
  std::unordered_map<std::string_view, std::weak_ptr<const std::string>> names;
};

// Never destroyed: a name may be freed during static destruction, after a static pool would be.
Pool& pool() {
  static Pool* const p = new Pool;
  return *p;
}

void release(const std::string* name) {
  Pool& p = pool();
  {
    std::lock_guard lock(p.mutex);
    const auto it = p.names.find(*name);
    if (it != p.names.end() && it->first.data() == name->data()) p.names.erase(it);
  }
  delete name;
}

}  // namespace

std::shared_ptr<const std::string> intern_name(std::string_view name) {
  Pool& p = pool();
  std::lock_guard lock(p.mutex);
  const auto it = p.names.find(name);
  if (it != p.names.end()) {
    if (auto held = it->second.lock()) return held;
    p.names.erase(it);  // its string waits in release() for this lock
  }
  std::shared_ptr<const std::string> out(new std::string(name), release);
  p.names.emplace(*out, out);
  return out;
}

std::size_t interned_names() {
  Pool& p = pool();
  std::lock_guard lock(p.mutex);
  return p.names.size();
}

NameSet::NameSet(std::initializer_list<std::string_view> names) {
  for (const auto name : names) insert(name);
}

NameSet::Names::const_iterator NameSet::lower_bound(std::string_view name) const {
  return std::lower_bound(names_.begin(), names_.end(), name,
                          [](const auto& held, std::string_view n) { return *held < n; });
}

bool NameSet::insert(std::string_view name) {
  const auto it = lower_bound(name);
  if (it != names_.end() && **it == name) return false;
  names_.insert(it, intern_name(name));
  return true;
}

bool NameSet::contains(std::string_view name) const {
  const auto it = lower_bound(name);
  return it != names_.end() && **it == name;
}

bool operator==(const NameSet& a, const NameSet& b) {
  return std::equal(a.names_.begin(), a.names_.end(), b.names_.begin(), b.names_.end(),
                    [](const auto& x, const auto& y) { return x == y || *x == *y; });
}

}  // namespace flowdrift::policy
