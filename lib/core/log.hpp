// Logging: one spdlog logger per component ("app", "prism", "collector", "store", "http",
// "pcsim"), each line an event and its fields, e.g.
//   log::info(log::get("collector"), "poll.failed", {{"site", "dr"}, {"reason", "timeout"}});
// written to stderr in one of three formats (docs/operations.md, "Logs"):
//   logfmt   ts=2026-12-06T23:12:00.123Z level=warn component=collector event=poll.failed site=dr
//   json     {"ts":"...","level":"warn","component":"collector","event":"poll.failed","site":"dr"}
//   journal  <4>level=warn component=collector event=poll.failed site=dr
// The journal format is logfmt without the time (journald stamps each line) behind the
// sd-daemon(3) priority prefix, so `journalctl -p warning` selects by level. `auto` is journal
// when stderr is the journal (JOURNAL_STREAM names stderr's device and inode), else logfmt.
// Every value goes through printable() and is quoted and escaped as its format needs: a name
// from a Prism Central cannot end a line, forge a field or break the JSON.
#pragma once

#include <spdlog/spdlog.h>

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace flowdrift::log {

enum class Format { Auto, Logfmt, Json, Journal };

// "auto", "logfmt", "json", "journal"; "plain" is logfmt (the name
// it had before logfmt was real logfmt; kept so that old configs load). nullopt for
// anything else.
std::optional<Format> parse_format(std::string_view name);

// Whether stderr is the journal's stream: JOURNAL_STREAM ("DEVICE:INODE", as systemd sets it)
// names the file stderr is. A JOURNAL_STREAM inherited by a process whose stderr was
// redirected names another file, and is ignored.
bool stderr_is_journal();

// Configure all loggers (existing and future). `level` is an spdlog level name
// ("debug", "info", "warn", "error"); SPDLOG_LEVEL in the environment overrides it.
void setup(std::string_view level, Format format);

// The format lines are written in now (Auto resolved).
Format current_format();

// The logger for a component, created on first use with the current settings.
std::shared_ptr<spdlog::logger> get(const std::string& component);

struct Field {
  std::string_view key;
  std::string value;
  bool number = false;  // written bare in JSON
  Field(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  template <class N, class = std::enable_if_t<std::is_arithmetic_v<N>>>
  Field(std::string_view k, N v) : key(k), value(std::to_string(v)), number(true) {}
};

// The event and its fields as the body of a line in `format` (Auto: the current format):
// logfmt and journal `event=poll.ok site=dr policies=12`, values with spaces, quotes, `=` or
// backslashes double-quoted and escaped; json `"event":"poll.ok","site":"dr","policies":12`
// (the members after the line's own ts, level and component).
std::string format_event(std::string_view event, std::initializer_list<Field> fields,
                         Format format = Format::Auto);

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
