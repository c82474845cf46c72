#include "prism/retry.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/json_strict.hpp"
#include "core/printable.hpp"

namespace flowdrift::prism {
namespace {

using nlohmann::json;

// Month abbreviation ("Jan".."Dec") to 1..12, 0 if unknown. Case-sensitive per RFC 7231.
unsigned month_number(const char* abbrev) {
  static constexpr std::array<const char*, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (std::string_view(abbrev) == kMonths[i]) return static_cast<unsigned>(i + 1);
  }
  return 0;
}

std::optional<std::chrono::system_clock::time_point> make_time(int year, unsigned month, int day,
                                                               int hour, int minute, int second) {
  using namespace std::chrono;
  if (month == 0 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
      second < 0 || second > 60) {
    return std::nullopt;
  }
  const year_month_day ymd{std::chrono::year{year}, std::chrono::month{month},
                           std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  return system_clock::time_point(sys_days(ymd)) + hours(hour) + minutes(minute) +
         seconds(second);
}

// The three HTTP-date forms of RFC 7231 §7.1.1.1, all in GMT.
std::optional<std::chrono::system_clock::time_point> parse_http_date(const std::string& s) {
  char wday[16] = {};
  char mon[4] = {};
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0, used = 0;
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  if (std::sscanf(s.c_str(), "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", wday, &day, mon,
                  &year, &hh, &mm, &ss, &used) == 7 &&
      static_cast<std::size_t>(used) == s.size()) {
    return make_time(year, month_number(mon), day, hh, mm, ss);
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; a two-digit year is taken as 19xx from 70 on.
  used = 0;
  if (std::sscanf(s.c_str(), "%15[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d GMT%n", wday, &day, mon,
                  &year, &hh, &mm, &ss, &used) == 7 &&
      static_cast<std::size_t>(used) == s.size()) {
    year += year < 70 ? 2000 : 1900;
    return make_time(year, month_number(mon), day, hh, mm, ss);
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  used = 0;
  if (std::sscanf(s.c_str(), "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", wday, mon, &day, &hh,
                  &mm, &ss, &year, &used) == 7 &&
      static_cast<std::size_t>(used) == s.size()) {
    return make_time(year, month_number(mon), day, hh, mm, ss);
  }
  return std::nullopt;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
  return v;
}

const json* find_string(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return nullptr;
  return &*it;
}

// "REASON: message" from a v3 error envelope ({message_list:[{reason, message}]}) or the older
// status schema ({reason, message}); empty if the body is neither (401 bodies are plain text).
std::string envelope_detail(const std::string& body) {
  constexpr std::size_t kMaxDetail = 300;
  std::string error;
  const auto parsed = json_strict::parse(body, error);
  if (!parsed || !parsed->is_object()) return {};
  const json& doc = *parsed;
  const json* source = &doc;
  std::size_t more = 0;
  auto list = doc.find("message_list");
  if (list != doc.end() && list->is_array() && !list->empty() && list->front().is_object()) {
    source = &list->front();
    more = list->size() - 1;
  }
  std::string out;
  if (const json* reason = find_string(*source, "reason")) out = reason->get<std::string>();
  if (const json* message = find_string(*source, "message")) {
    if (!out.empty()) out += ": ";
    out += message->get<std::string>();
  }
  out = printable(out, kMaxDetail);  // the server's words: bounded, no control characters
  if (!out.empty() && more > 0) out += " (+" + std::to_string(more) + " more)";
  return out;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    // Clamp absurd values instead of overflowing; the poll deadline bounds the wait anyway.
    constexpr std::int64_t kMaxSeconds = 7 * 24 * 3600;
    std::int64_t secs = 0;
    for (char c : value) {
      secs = std::min<std::int64_t>(secs * 10 + (c - '0'), kMaxSeconds);
    }
    return duration_cast<milliseconds>(seconds(secs));
  }
  auto when = parse_http_date(std::string(value));
  if (!when) return std::nullopt;
  if (*when <= now) return milliseconds(0);
  return duration_cast<milliseconds>(*when - now);
}

namespace {

// How a PC's non-2xx status is classified; any other is ErrorReason::Http, not retried.
struct StatusClass {
  int status;
  ErrorReason reason;
  bool retryable;
  const char* hint;  // "" for none
};
constexpr StatusClass kStatusClasses[] = {
    {401, ErrorReason::Auth, false, "authentication failed"},
    {403, ErrorReason::Forbidden, false, "access denied"},
    {410, ErrorReason::Gone, false, "v3 API gone (Flow Next-Gen?)"},
    {429, ErrorReason::RateLimited, true, ""},
    {500, ErrorReason::ServerError, true, ""},
    {502, ErrorReason::ServerError, true, ""},
    {503, ErrorReason::ServerError, true, ""},
    {504, ErrorReason::ServerError, true, ""},
};

}  // namespace

std::optional<Error> error_for_status(const http::HttpResponse& response, std::string_view where,
                                      std::chrono::system_clock::time_point now) {
  const int status = response.status;
  if (status >= 200 && status < 300) return std::nullopt;
  Error e;
  e.http_status = status;
  e.reason = ErrorReason::Http;
  std::string hint;
  for (const auto& c : kStatusClasses) {
    if (c.status != status) continue;
    e.reason = c.reason;
    e.retryable = c.retryable;
    hint = c.hint;
  }
  if (status == 429 || status == 503) {
    if (auto ra = response.header("Retry-After")) e.retry_after = parse_retry_after(*ra, now);
  }
  e.message = std::string(where) + ": HTTP " + std::to_string(status);
  if (!hint.empty()) e.message += " (" + hint + ")";
  auto detail = envelope_detail(response.body);
  if (!detail.empty()) e.message += ": " + detail;
  return e;
}

std::chrono::milliseconds backoff_delay(std::chrono::milliseconds base, int attempt,
                                        std::chrono::milliseconds cap, std::mt19937_64& rng) {
  if (base.count() <= 0 || cap.count() <= 0) return std::chrono::milliseconds(0);
  std::int64_t ceiling = base.count();
  for (int i = 0; i < attempt && ceiling < cap.count(); ++i) ceiling *= 2;
  ceiling = std::min<std::int64_t>(ceiling, cap.count());
  std::uniform_int_distribution<std::int64_t> dist(0, ceiling);
  return std::chrono::milliseconds(dist(rng));
}

}  // namespace flowdrift::prism
