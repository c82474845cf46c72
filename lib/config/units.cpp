#include "config/units.hpp"

#include <charconv>
#include <limits>

namespace flowdrift::config {
namespace {

Error bad(std::string message) { return make_error(ErrorReason::Other, std::move(message)); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Splits "123unit" into its leading digits and the rest; the digits are parsed into `number`.
// Returns an error message, or empty on success.
std::string split_number(std::string_view text, std::uint64_t& number, std::string_view& unit) {
  if (text.empty()) return "empty value";
  if (text.front() == '-') return "must not be negative";
  std::size_t n = 0;
  while (n < text.size() && is_digit(text[n])) ++n;
  if (n == 0) return "must start with a number";
  if (n < text.size() && (text[n] == '.' || text[n] == ',')) return "fractions are not supported";
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + n, number);
  if (ec == std::errc::result_out_of_range) return "too large";
  if (ec != std::errc() || ptr != text.data() + n) return "not a number";
  unit = text.substr(n);
  return {};
}

}  // namespace

Result<Millis> parse_duration(std::string_view text) {
  std::uint64_t number = 0;
  std::string_view unit;
  if (auto why = split_number(text, number, unit); !why.empty()) return bad(why);
  std::uint64_t factor = 0;
  if (unit.empty() || unit == "s") {
    factor = 1000;  // a bare integer means seconds, the unit operators think in
  } else if (unit == "ms") {
    factor = 1;
  } else if (unit == "m") {
    factor = 60'000;
  } else if (unit == "h") {
    factor = 3'600'000;
  } else if (unit == "d") {
    factor = 86'400'000;
  } else {
    return bad("unknown unit '" + std::string(unit) + "' (use ms, s, m, h or d)");
  }
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<Millis::rep>::max());
  if (number > kMax / factor) return bad("too large");
  return Millis{static_cast<Millis::rep>(number * factor)};
}

std::string format_duration(Millis d) {
  const auto ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

Result<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t number = 0;
  std::string_view unit;
  if (auto why = split_number(text, number, unit); !why.empty()) return bad(why);
  std::uint64_t factor = 0;
  if (unit.empty() || unit == "B") {
    factor = 1;
  } else if (unit == "KiB") {
    factor = 1ull << 10;
  } else if (unit == "MiB") {
    factor = 1ull << 20;
  } else if (unit == "GiB") {
    factor = 1ull << 30;
  } else {
    return bad("unknown unit '" + std::string(unit) + "' (use KiB, MiB or GiB, powers of 1024)");
  }
  if (number > std::numeric_limits<std::uint64_t>::max() / factor) return bad("too large");
  return number * factor;
}

std::string format_size(std::uint64_t bytes) {
  if (bytes != 0 && bytes % (1ull << 30) == 0) return std::to_string(bytes >> 30) + "GiB";
  if (bytes != 0 && bytes % (1ull << 20) == 0) return std::to_string(bytes >> 20) + "MiB";
  if (bytes != 0 && bytes % (1ull << 10) == 0) return std::to_string(bytes >> 10) + "KiB";
  return std::to_string(bytes);
}

}  // namespace flowdrift::config
