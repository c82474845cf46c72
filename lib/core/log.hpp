// Logging: one spdlog logger per component ("app", "prism", "collector", "store", "http",
// "pcsim"), each line an event name followed by key=value fields, e.g.
//   log::info(log::get("collector"), "poll.failed", {{"site", "dr"}, {"reason", "timeout"}});
// Under systemd (JOURNAL_STREAM set) or with format "plain-no-time" lines carry no timestamp.
#pragma once

#include <spdlog/spdlog.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace flowdrift::log {

enum class Format { Auto, Plain, Journal };  // Journal = no timestamp, no colour

// Configure all loggers (existing and future). `level` is an spdlog level name
// ("debug", "info", "warn", "error"); SPDLOG_LEVEL in the environment overrides it.
void setup(std::string_view level, Format format);

// The logger for a component, created on first use with the current settings.
std::shared_ptr<spdlog::logger> get(const std::string& component);

struct Field {
  std::string_view key;
  std::string value;
  Field(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  template <class N, class = std::enable_if_t<std::is_arithmetic_v<N>>>
  Field(std::string_view k, N v) : key(k), value(std::to_string(v)) {}
};

// "event k1=v1 k2=v2"; values with spaces, quotes or '=' are double-quoted and escaped.
std::string format_event(std::string_view event, std::initializer_list<Field> fields);

inline void debug(const std::shared_ptr<spdlog::logger>& l, std::string_view ev,
                  std::initializer_list<Field> f = {}) {
  if (l->should_log(spdlog::level::debug)) l->debug(format_event(ev, f));
}
inline void info(const std::shared_ptr<spdlog::logger>& l, std::string_view ev,
                 std::initializer_list<Field> f = {}) {
  if (l->should_log(spdlog::level::info)) l->info(format_event(ev, f));
}
inline void warn(const std::shared_ptr<spdlog::logger>& l, std::string_view ev,
                 std::initializer_list<Field> f = {}) {
  if (l->should_log(spdlog::level::warn)) l->warn(format_event(ev, f));
}
inline void error(const std::shared_ptr<spdlog::logger>& l, std::string_view ev,
                  std::initializer_list<Field> f = {}) {
  if (l->should_log(spdlog::level::err)) l->error(format_event(ev, f));
}

}  // namespace flowdrift::log
