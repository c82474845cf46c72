#include "core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <mutex>

#include "core/printable.hpp"

namespace flowdrift::log {
namespace {

std::mutex g_mutex;
spdlog::level::level_enum g_level = spdlog::level::info;
Format g_format = Format::Auto;

bool use_journal_format() {
  if (g_format == Format::Journal) return true;
  if (g_format == Format::Plain) return false;
  return std::getenv("JOURNAL_STREAM") != nullptr || std::getenv("INVOCATION_ID") != nullptr;
}

void apply(spdlog::logger& l) {
  l.set_level(g_level);
  // journald stamps lines itself; interactive use gets time and level.
  if (use_journal_format()) {
    l.set_pattern("%l %n: %v");
  } else {
    l.set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %n: %v");
  }
}

// A value longer than this is cut (printable() says by how much): a 10 MB name from a Prism
// Central must not become a 10 MB log line.
constexpr std::size_t kMaxValueBytes = 2048;

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\') return true;
  }
  return false;
}

}  // namespace

void setup(std::string_view level, Format format) {
  std::lock_guard lock(g_mutex);
  g_format = format;
  g_level = spdlog::level::from_str(std::string(level));
  if (const char* env = std::getenv("SPDLOG_LEVEL"); env != nullptr && *env != '\0') {
    g_level = spdlog::level::from_str(env);
  }
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { apply(*l); });
}

std::shared_ptr<spdlog::logger> get(const std::string& component) {
  std::lock_guard lock(g_mutex);
  if (auto l = spdlog::get(component)) return l;
  auto l = spdlog::stderr_color_mt(component);
  apply(*l);
  return l;
}

std::string format_event(std::string_view event, std::initializer_list<Field> fields) {
  std::string out(event);
  for (const auto& f : fields) {
    out += ' ';
    out += f.key;
    out += '=';
    // No control character, invalid UTF-8 or terminal escape reaches the line: printable()
    // escapes them, so a value can never end the line or forge another.
    const std::string value = printable(f.value, kMaxValueBytes);
    if (!needs_quotes(value)) {
      out += value;
      continue;
    }
    out += '"';
    for (char c : value) {
      if (c == '"') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out;
}

}  // namespace flowdrift::log
