// Reading one series out of Prometheus text exposition in tests: whole lines only, so
// `...} 1` never matches `...} 10` and a label set never matches a longer one.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace flowdrift::test {

// The value of `series` (the metric name with its labels exactly as rendered, labels sorted by
// name: flowdrift_drift_items{kind="missing",pair="prod",severity="critical"}), or nullopt
// when the text has no such line.
inline std::optional<double> series_value(std::string_view text, std::string_view series) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const auto line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() <= series.size() || line.substr(0, series.size()) != series ||
        line[series.size()] != ' ') {
      continue;
    }
    const std::string value(line.substr(series.size() + 1));
    char* parsed_end = nullptr;
    const double v = std::strtod(value.c_str(), &parsed_end);
    if (parsed_end != value.c_str()) return v;
  }
  return std::nullopt;
}

inline bool has_series(std::string_view text, std::string_view series) {
  return series_value(text, series).has_value();
}

inline bool has_series(std::string_view text, std::string_view series, double value) {
  const auto v = series_value(text, series);
  return v && *v == value;
}

}  // namespace flowdrift::test
