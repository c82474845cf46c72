#include "core/log.hpp"

#include <spdlog/sinks/base_sink.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/printable.hpp"
#include "core/time_format.hpp"

namespace flowdrift::log {
namespace {

std::mutex g_mutex;
spdlog::level::level_enum g_level = spdlog::level::info;
std::atomic<Format> g_format = Format::Logfmt;  // resolved: never Auto

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

// A logfmt value: printable, then quoted (with `"` escaped) when it must be. printable() has
// already doubled every backslash, so each `\` in a quoted value starts an escape.
void append_logfmt(std::string& out, std::string_view key, std::string_view raw) {
  out += key;
  out += '=';
  const std::string value = printable(raw, kMaxValueBytes);
  if (!needs_quotes(value)) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"') out += '\\';
    out += c;
  }
  out += '"';
}

// A number as std::to_string wrote it; not "nan" or "inf", which JSON has no spelling for.
bool json_number(std::string_view v) {
  const std::size_t digit = !v.empty() && v[0] == '-' ? 1 : 0;
  return v.size() > digit && v[digit] >= '0' && v[digit] <= '9';
}

void append_json(std::string& out, std::string_view key, std::string_view raw, bool number) {
  out += nlohmann::json(printable(key, kMaxValueBytes)).dump();
  out += ':';
  if (number && json_number(raw)) {
    out += raw;
  } else {
    out += nlohmann::json(printable(raw, kMaxValueBytes)).dump();
  }
}

std::string_view level_name(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    case spdlog::level::off:
    case spdlog::level::n_levels: break;
  }
  return "info";
}

// sd-daemon(3): <3> error, <4> warning, <6> info, <7> debug (<2> critical).
char journal_priority(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::critical: return '2';
    case spdlog::level::err: return '3';
    case spdlog::level::warn: return '4';
    case spdlog::level::trace:
    case spdlog::level::debug: return '7';
    default: return '6';
  }
}

// RFC 3339 in UTC with milliseconds: 2026-12-06T23:12:00.123Z.
std::string timestamp(spdlog::log_clock::time_point t) {
  return format_time_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

// One line per event on stderr, in the format set up; the message is format_event()'s body.
class EventSink : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string_view body(msg.payload.data(), msg.payload.size());
    const std::string_view component(msg.logger_name.data(), msg.logger_name.size());
    std::string line;
    line.reserve(body.size() + 96);
    const Format format = current_format();
    if (format == Format::Json) {
      line += "{\"ts\":\"" + timestamp(msg.time) + "\",\"level\":\"";
      line += level_name(msg.level);
      line += "\",\"component\":" + nlohmann::json(std::string(component)).dump() + ',';
      line += body;
      line += "}\n";
    } else {
      // logfmt; the journal's lines have the priority prefix instead of the time.
      if (format == Format::Journal) {
        line += '<';
        line += journal_priority(msg.level);
        line += '>';
      } else {
        line += "ts=" + timestamp(msg.time) + ' ';
      }
      line += "level=";
      line += level_name(msg.level);
      line += " component=";
      line += component;
      line += ' ';
      line += body;
      line += '\n';
    }
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

std::shared_ptr<EventSink> sink() {
  static const auto s = std::make_shared<EventSink>();
  return s;
}

}  // namespace

std::optional<Format> parse_format(std::string_view name) {
  if (name == "auto") return Format::Auto;
  if (name == "logfmt" || name == "plain") return Format::Logfmt;
  if (name == "json") return Format::Json;
  if (name == "journal") return Format::Journal;
  return std::nullopt;
}

bool stderr_is_journal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (env == nullptr) return false;
  unsigned long long dev = 0;
  unsigned long long ino = 0;
  char tail = 0;
  if (std::sscanf(env, "%llu:%llu%c", &dev, &ino, &tail) != 2) return false;
  struct stat st{};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

void setup(std::string_view level, Format format) {
  std::lock_guard lock(g_mutex);
  g_format = format != Format::Auto ? format
                                    : (stderr_is_journal() ? Format::Journal : Format::Logfmt);
  g_level = spdlog::level::from_str(std::string(level));
  if (const char* env = std::getenv("SPDLOG_LEVEL"); env != nullptr && *env != '\0') {
    g_level = spdlog::level::from_str(env);
  }
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->set_level(g_level); });
}

Format current_format() { return g_format; }

std::shared_ptr<spdlog::logger> get(const std::string& component) {
  std::lock_guard lock(g_mutex);
  if (auto l = spdlog::get(component)) return l;
  auto l = std::make_shared<spdlog::logger>(component, sink());
  l->set_level(g_level);
  // Warnings and errors reach the file at once; info lines when stderr's buffer fills or at
  // the next warning (stderr is unbuffered by default, so in practice at once too).
  l->flush_on(spdlog::level::warn);
  spdlog::register_logger(l);
  return l;
}

std::string format_event(std::string_view event, std::initializer_list<Field> fields,
                         Format format) {
  if (format == Format::Auto) format = current_format();
  std::string out;
  if (format == Format::Json) {
    append_json(out, "event", event, false);
    for (const auto& f : fields) {
      out += ',';
      append_json(out, f.key, f.value, f.number);
    }
    return out;
  }
  append_logfmt(out, "event", event);
  for (const auto& f : fields) {
    out += ' ';
    append_logfmt(out, f.key, f.value);
  }
  return out;
}

}  // namespace flowdrift::log
