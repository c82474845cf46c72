#include "drift/expect.hpp"

#include <cstdio>
#include <ctime>

namespace flowdrift::drift {
namespace {

using diff::ExpectedBy;
using diff::FieldDiff;

// Evidence fields (example flows) describe an item; they are not a difference of their own,
// so an expectation on "rules" covers an item whose evidence lists example flows.
bool is_evidence(const FieldDiff& f) { return f.path.rfind("flows[", 0) == 0; }

bool field_within(const std::string& path, const std::string& field) {
  if (path.size() < field.size() || path.compare(0, field.size(), field) != 0) return false;
  if (path.size() == field.size()) return true;
  const char next = path[field.size()];
  return next == '.' || next == '[';
}

}  // namespace

bool glob_match(std::string_view p, std::string_view t) {
  // Iterative matcher with one backtrack point: linear enough for policy names.
  std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

Result<std::int64_t> parse_expiry(std::string_view text) {
  const std::string s(text);
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  int consumed = 0;
  bool whole_day = false;
  if (s.size() == 10 && std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &consumed) == 3 &&
      consumed == 10) {
    whole_day = true;
  } else if (s.size() == 20 &&
             std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &sec,
                         &consumed) == 6 &&
             consumed == 20) {
  } else {
    return make_error(ErrorReason::Other,
                      "\"" + s + "\" is not a date (YYYY-MM-DD) or UTC time (YYYY-MM-DDTHH:MM:SSZ)");
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  const std::tm wanted = tm;
  const std::time_t t = timegm(&tm);
  // timegm normalizes out-of-range fields (Feb 30 -> Mar 2): a changed field means invalid.
  if (tm.tm_year != wanted.tm_year || tm.tm_mon != wanted.tm_mon ||
      tm.tm_mday != wanted.tm_mday || tm.tm_hour != wanted.tm_hour ||
      tm.tm_min != wanted.tm_min || tm.tm_sec != wanted.tm_sec || y < 1970) {
    return make_error(ErrorReason::Other, "\"" + s + "\" is not a valid date");
  }
  // A date is an expiry at the end of that UTC day: "expires 2027-03-31" is live on the 31st.
  return (static_cast<std::int64_t>(t) + (whole_day ? 86400 : 0)) * 1000;
}

std::variant<Expectation, ExpectationError> make_expectation(const config::ExpectedConfig& c) {
  Expectation e;
  e.policy = c.policy;
  e.field = c.field;
  e.owner = c.owner;
  e.reason = c.reason;
  e.line = c.at.line;
  if (!c.kind.empty()) {
    e.kind = diff::parse_kind(c.kind);
    if (!e.kind) {
      std::string kinds;
      for (auto k : diff::kAllKinds) kinds += (kinds.empty() ? "" : ", ") + std::string(to_string(k));
      return ExpectationError{"kind", "unknown drift kind " + config::shown(c.kind) + " (kinds: " + kinds + ")"};
    }
  }
  auto t = parse_expiry(c.expires);
  if (!t) return ExpectationError{"expires", t.error().message};
  e.expires = c.expires;
  e.expires_ms = *t;
  return e;
}

std::string Expectation::selector() const {
  std::string s = "policy=" + policy;
  if (kind) s += " kind=" + std::string(diff::to_string(*kind));
  if (!field.empty()) s += " field=" + field;
  return s;
}

bool Expectation::selects(const DriftItem& item) const {
  if (kind && *kind != item.kind) return false;
  if (!glob_match(policy, item.object)) return false;
  if (field.empty()) return true;
  // Every real difference must be inside the field: an expectation on a description does not
  // hide a widened rule on the same policy.
  bool any = false;
  for (const auto& f : item.fields) {
    if (is_evidence(f)) continue;
    if (!field_within(f.path, field)) return false;
    any = true;
  }
  return any;
}

std::vector<bool> apply_expectations(PairResult& result,
                                     const std::vector<Expectation>& expectations,
                                     std::int64_t now_ms) {
  std::vector<bool> live;
  live.reserve(expectations.size());
  for (const auto& e : expectations) live.push_back(e.live(now_ms));
  for (auto& item : result.items) {
    item.expected.reset();
    for (std::size_t i = 0; i < expectations.size(); ++i) {
      if (!live[i] || !expectations[i].selects(item)) continue;
      const auto& e = expectations[i];
      item.expected = ExpectedBy{e.selector(), e.owner, e.reason, e.expires};
      break;
    }
  }
  return live;
}

}  // namespace flowdrift::drift
