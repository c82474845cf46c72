// Config validation: walks the position-keeping YAML tree, collects every problem as
// "<file>:<line>:<col>: <key path>: <reason>" and throws them together, so an operator fixes a
// file in one go rather than one error per restart.
#include "config/config.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <span>
#include <string_view>
#include <tuple>

#include "config/units.hpp"
#include "core/printable.hpp"
#include "core/yaml_tree.hpp"

namespace flowdrift::config {
constexpr std::size_t kMaxShownValue = 60;

// Values are echoed in messages so the operator sees what was parsed; bounded and made
// printable so a pasted blob cannot flood the terminal.
std::string shown(std::string_view v) {
  std::string out = "'";
  for (std::size_t i = 0; i < v.size() && i < kMaxShownValue; ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    out += (c < 0x20 || c == 0x7f) ? '?' : v[i];
  }
  if (v.size() > kMaxShownValue) out += "...";
  return out + "'";
}

namespace {

using yaml::YamlNode;
using Kind = YamlNode::Kind;
namespace fs = std::filesystem;

constexpr Millis kMinInterval{1000};
constexpr Millis kMinRetryBackoff{10};
constexpr Millis kPollTimeoutDefaultCap{120000};
constexpr int kMaxRetries = 10;
constexpr int kMaxPageSize = 500;
constexpr std::uint64_t kMinResponseBytes = 1ull << 10;
constexpr std::uint64_t kMaxResponseBytes = 1ull << 30;
constexpr double kMaxJitter = 0.5;
constexpr std::size_t kMaxNameLength = 64;
constexpr std::size_t kMaxConfigBytes = 16u << 20;
// A password file is a few bytes; the cap stops a mistaken path (/dev/zero) from hanging startup.
constexpr std::size_t kMaxPasswordBytes = 64u << 10;
constexpr int kDefaultPort = 9440;

constexpr std::string_view kTopKeys[] = {"sites", "pairs", "storage", "server", "polling", "log"};
constexpr std::string_view kSiteKeys[] = {"name",
                                          "url",
                                          "api",
                                          "username",
                                          "password_file",
                                          "password_env",
                                          "api_key_file",
                                          "api_key_env",
                                          "write_username",
                                          "write_password_file",
                                          "write_password_env",
                                          "ca_file",
                                          "insecure_skip_verify",
                                          "proxy",
                                          "interval",
                                          "jitter",
                                          "connect_timeout",
                                          "request_timeout",
                                          "poll_timeout",
                                          "retries",
                                          "retry_backoff",
                                          "page_size",
                                          "max_response_bytes",
                                          "allow_empty",
                                          "vm_coverage",
                                          "vm_coverage_interval",
                                          "max_backoff"};
constexpr std::string_view kPairKeys[] = {"name",     "source",   "replica", "mappings",
                                          "expected", "debounce", "max_skew"};
constexpr std::string_view kExpectedKeys[] = {"policy", "kind",   "field",
                                              "owner",  "reason", "expires"};
constexpr std::string_view kDebounceKeys[] = {"comparisons", "for"};
constexpr int kMaxDebounceComparisons = 100;
constexpr std::string_view kMappingKeys[] = {"categories", "names", "subnets"};
constexpr std::string_view kNameRuleKeys[] = {"match", "replica"};
constexpr std::string_view kSubnetRuleKeys[] = {"source", "replica"};
constexpr std::string_view kStorageKeys[] = {"path", "retention", "prune_interval"};
constexpr std::string_view kServerKeys[] = {"listen", "policy_series_cap"};
constexpr std::string_view kPollingKeys[] = {"max_concurrent"};
constexpr int kMaxConcurrentPolls = 256;
constexpr std::string_view kLogKeys[] = {"level", "format"};
constexpr std::string_view kLogLevels[] = {"debug", "info", "warn", "error"};
constexpr std::string_view kLogFormats[] = {"auto", "logfmt", "json", "journal", "plain"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0u : 1u)});
      diag = up;
    }
  }
  return row[b.size()];
}

// "; did you mean 'interval'?" when one candidate is close enough to be a typo, else "".
std::string suggestion(std::string_view word, std::span<const std::string_view> candidates) {
  const std::string w = lower(word);
  std::size_t best = std::string::npos;
  std::string_view best_word;
  // A prefix either way ("warning" for "warn", "int" for "interval") is a likely slip even when
  // many letters differ.
  for (auto c : candidates) {
    const auto lc = lower(c);
    if (w.size() >= 3 && (w.rfind(lc, 0) == 0 || lc.rfind(w, 0) == 0)) {
      return "; did you mean '" + std::string(c) + "'?";
    }
  }
  for (auto c : candidates) {
    const auto d = edit_distance(w, lower(c));
    if (d < best) {
      best = d;
      best_word = c;
    }
  }
  // Two edits catch most typos; longer words tolerate one more (poll-timeout vs poll_timeout
  // is one, "timout_poll" is not a typo).
  const std::size_t limit = std::max<std::size_t>(w.size(), best_word.size()) >= 10 ? 3 : 2;
  if (best_word.empty() || best > limit || best >= w.size()) return {};
  return "; did you mean '" + std::string(best_word) + "'?";
}

std::string join(std::span<const std::string_view> words, std::string_view sep) {
  std::string out;
  for (auto w : words) {
    if (!out.empty()) out += sep;
    out += w;
  }
  return out;
}

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameLength) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Port number 0..65535 as decimal digits; nullopt if malformed or out of range.
std::optional<int> parse_port(std::string_view s) {
  if (!all_digits(s) || s.size() > 5) return std::nullopt;
  int port = 0;
  std::from_chars(s.data(), s.data() + s.size(), port);
  if (port > 65535) return std::nullopt;
  return port;
}

bool is_ipv4(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool valid_hostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  std::size_t start = 0;
  while (start <= host.size()) {
    auto dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    const auto label = host.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
      if (!ok) return false;
    }
    start = dot + 1;
  }
  return true;
}

// Checks "https://host[:port][/base]" and returns the reason it is unusable (empty when fine);
// `normalized` gets "https://host:port[/base]" with the default port filled in and no trailing
// '/', so every later consumer sees an explicit port.
std::string check_url(std::string_view url, std::string& normalized) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return "must be https://host[:port][/base], got " + shown(url);
  }
  const auto scheme = lower(url.substr(0, scheme_end));
  if (scheme != "https") {
    return "scheme " + shown(scheme) + " is not supported; Prism Central is reached over https://";
  }
  auto rest = url.substr(scheme_end + 3);
  const auto path_start = rest.find('/');
  const auto authority = rest.substr(0, path_start);
  // Checked before anything echoes the URL: a user:password@ part is a secret.
  if (authority.find('@') != std::string_view::npos) {
    return "must not contain credentials (user@host); use username and password_file or "
           "password_env";
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return "must not contain a query or fragment, got " + shown(url);
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return "must not contain spaces or control characters, got " + shown(url);
    }
  }
  std::string host;
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return "unterminated IPv6 address in " + shown(url);
    host = std::string(authority.substr(1, close - 1));
    if (!is_ipv6(host)) return "invalid IPv6 address " + shown(host);
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "unexpected text after the IPv6 address in " + shown(url);
      port_text = after.substr(1);
      has_port = true;
    }
    host = "[" + host + "]";
  } else {
    const auto colon = authority.find(':');
    host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
      if (port_text.find(':') != std::string_view::npos) {
        return "IPv6 addresses must be in brackets (https://[fd00::1]:9440), got " + shown(url);
      }
    }
    if (host.empty()) return "has no host, got " + shown(url);
    if (!valid_hostname(host)) return "invalid host " + shown(host);
  }
  int port = kDefaultPort;
  if (has_port) {
    auto p = parse_port(port_text);
    if (!p || *p == 0) return "port must be a number from 1 to 65535, got " + shown(port_text);
    port = *p;
  }
  std::string base =
      path_start == std::string_view::npos ? std::string() : std::string(rest.substr(path_start));
  while (!base.empty() && base.back() == '/') base.pop_back();
  normalized = "https://" + host + ":" + std::to_string(port) + base;
  return {};
}

// Checks "host:port" for the HTTP listener; returns the reason it is unusable, or empty.
std::string check_listen(std::string_view listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string_view::npos) {
    return "must be host:port (e.g. 127.0.0.1:9944), got " + shown(listen);
  }
  const std::string host(listen.substr(0, colon));
  const auto port_text = listen.substr(colon + 1);
  bool host_ok = host == "localhost" || is_ipv4(host);
  if (!host_ok && host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host_ok = is_ipv6(host.substr(1, host.size() - 2));
  }
  if (!host_ok) {
    return "host must be an IPv4 address, a [IPv6] address or localhost, got " + shown(host);
  }
  if (!parse_port(port_text)) {
    return "port must be a number from 0 to 65535 (0 picks a free port), got " + shown(port_text);
  }
  return {};
}

std::string errno_text(int err) { return std::strerror(err); }

// Reads a whole file (at most `max_bytes`); returns the reason it failed, or empty.
std::string read_file_bounded(const std::string& path, std::size_t max_bytes, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_text(errno);
  out.clear();
  char buf[8192];
  std::string why;
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      why = errno_text(errno);
      break;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) {
      why = "larger than " + format_size(max_bytes);
      break;
    }
  }
  ::close(fd);
  return why;
}

// Why `path` cannot be used as a readable file, or empty.
std::string check_readable_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno_text(errno);
  if (S_ISDIR(st.st_mode)) return "is a directory";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_text(errno);
  ::close(fd);
  return {};
}

std::string child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string index(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

class Validator {
 public:
  Validator(std::string file, fs::path base_dir)
      : file_(std::move(file)), base_dir_(std::move(base_dir)) {}

  void report(int line, int column, const std::string& path, const std::string& reason) {
    problems_.push_back(make_problem(file_, {line, column}, path, reason));
  }
  void report(const YamlNode& at, const std::string& path, const std::string& reason) {
    report(at.line, at.column, path, reason);
  }

  std::vector<Problem> take_problems() { return std::move(problems_); }

  Config validate(const std::optional<YamlNode>& root) {
    Config config;
    config.file = file_;
    if (!root || root->kind == Kind::Null) {
      report(1, 1, "sites", "required key missing; the configuration is empty");
      return config;
    }
    if (root->kind != Kind::Map) {
      report(*root, "(top level)",
             std::string("must be a mapping with keys ") + join(kTopKeys, ", ") + ", got " +
                 yaml::kind_name(root->kind));
      return config;
    }
    auto top = fields(*root, "", kTopKeys);
    if (auto it = top.find("sites"); it == top.end()) {
      report(*root, "sites", "required key missing; at least one site must be configured");
    } else {
      sites(it->second, config);
    }
    if (auto it = top.find("pairs"); it != top.end()) pairs(it->second, config);
    if (auto it = top.find("storage"); it != top.end()) storage(it->second, config.storage);
    if (auto it = top.find("server"); it != top.end()) server(it->second, config.server);
    if (auto it = top.find("polling"); it != top.end()) polling(it->second, config.polling);
    if (auto it = top.find("log"); it != top.end()) log(it->second, config.log);
    return config;
  }

 private:
  struct Field {
    const YamlNode* key;
    const YamlNode* value;
  };
  using Fields = std::map<std::string, Field, std::less<>>;

  // The known keys of a mapping, first occurrence each. Unknown, duplicate and non-string keys
  // are reported here, so callers only deal with keys they asked for.
  Fields fields(const YamlNode& map, const std::string& path,
                std::span<const std::string_view> known) {
    Fields out;
    std::map<std::string, int, std::less<>> seen;  // key -> line of first occurrence
    for (const auto& [key, value] : map.entries) {
      if (key.kind != Kind::Scalar) {
        report(key, path.empty() ? "(top level)" : path,
               std::string("keys must be strings, got ") + yaml::kind_name(key.kind));
        continue;
      }
      const std::string key_path = child(path, key.value);
      if (auto s = seen.find(key.value); s != seen.end()) {
        report(key, key_path,
               "duplicate key (first defined at line " + std::to_string(s->second) + ")");
        continue;
      }
      seen.emplace(key.value, key.line);
      if (std::find(known.begin(), known.end(), key.value) == known.end()) {
        if (key.value == "password") {
          report(key, key_path,
                 "passwords must not be stored in the config file; use password_file (a file "
                 "holding the password) or password_env (an environment variable)");
        } else if (key.value == "<<") {
          report(key, key_path, "YAML merge keys are not supported; write the keys out");
        } else {
          // A likely typo gets one suggestion; otherwise list what is allowed here.
          auto hint = suggestion(key.value, known);
          if (hint.empty()) hint = " (known keys: " + join(known, ", ") + ")";
          report(key, key_path, "unknown key" + hint);
        }
        continue;
      }
      out.emplace(key.value, Field{&key, &value});
    }
    return out;
  }

  // The field's scalar text, or nullptr after reporting why there is none.
  const std::string* scalar(const Field& f, const std::string& path, std::string_view expected) {
    if (f.value->kind == Kind::Null) {
      report(*f.key, path, "has no value; expected " + std::string(expected));
      return nullptr;
    }
    if (f.value->kind != Kind::Scalar) {
      report(*f.value, path,
             "must be " + std::string(expected) + ", got " + yaml::kind_name(f.value->kind));
      return nullptr;
    }
    return &f.value->value;
  }

  std::optional<std::string> get_string(const Field& f, const std::string& path) {
    const auto* s = scalar(f, path, "a string");
    if (!s) return std::nullopt;
    if (s->empty()) {
      report(*f.value, path, "must not be empty");
      return std::nullopt;
    }
    return *s;
  }

  std::optional<bool> get_bool(const Field& f, const std::string& path) {
    const auto* s = scalar(f, path, "true or false");
    if (!s) return std::nullopt;
    const auto v = lower(*s);
    if (v == "true") return true;
    if (v == "false") return false;
    report(*f.value, path, "must be true or false, got " + shown(*s));
    return std::nullopt;
  }

  std::optional<int> get_int(const Field& f, const std::string& path, int lo, int hi) {
    const std::string expected =
        "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
    const auto* s = scalar(f, path, expected);
    if (!s) return std::nullopt;
    long long v = 0;
    auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec == std::errc::result_out_of_range ||
        (ec == std::errc() && ptr == s->data() + s->size() && (v < lo || v > hi))) {
      report(*f.value, path,
             "must be from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got " + *s);
      return std::nullopt;
    }
    if (ec != std::errc() || ptr != s->data() + s->size()) {
      report(*f.value, path, "must be " + expected + ", got " + shown(*s));
      return std::nullopt;
    }
    return static_cast<int>(v);
  }

  std::optional<double> get_fraction(const Field& f, const std::string& path, double lo,
                                     double hi) {
    std::string expected = "a number from " + trim_double(lo) + " to " + trim_double(hi);
    const auto* s = scalar(f, path, expected);
    if (!s) return std::nullopt;
    double v = 0;
    auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc() || ptr != s->data() + s->size() || !std::isfinite(v)) {
      report(*f.value, path, "must be " + expected + ", got " + shown(*s));
      return std::nullopt;
    }
    if (v < lo || v > hi) {
      report(*f.value, path,
             "must be from " + trim_double(lo) + " to " + trim_double(hi) + ", got " + *s);
      return std::nullopt;
    }
    return v;
  }

  static std::string trim_double(double d) {
    char buf[32];
    auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, d);
    return ec == std::errc() ? std::string(buf, ptr) : std::to_string(d);
  }

  std::optional<Millis> get_duration(const Field& f, const std::string& path, Millis min) {
    const auto* s = scalar(f, path, "a duration such as 250ms, 30s, 5m or 1h");
    if (!s) return std::nullopt;
    auto d = parse_duration(*s);
    if (!d) {
      report(*f.value, path,
             "invalid duration " + shown(*s) + ": " + d.error().message +
                 (d.error().message.find("unit") != std::string::npos
                      ? ""
                      : " (examples: 250ms, 30s, 5m, 1h; a bare number means seconds)"));
      return std::nullopt;
    }
    if (*d < min) {
      report(*f.value, path, "must be at least " + format_duration(min) + ", got " + *s);
      return std::nullopt;
    }
    return *d;
  }

  std::optional<std::uint64_t> get_size(const Field& f, const std::string& path, std::uint64_t lo,
                                        std::uint64_t hi) {
    const auto* s = scalar(f, path, "a size in bytes such as 1048576, 512KiB, 64MiB or 1GiB");
    if (!s) return std::nullopt;
    auto v = parse_size(*s);
    if (!v) {
      report(*f.value, path,
             "invalid size " + shown(*s) + ": " + v.error().message +
                 (v.error().message.find("unit") != std::string::npos
                      ? ""
                      : " (examples: 1048576, 512KiB, 64MiB, 1GiB)"));
      return std::nullopt;
    }
    if (*v < lo || *v > hi) {
      report(*f.value, path,
             "must be from " + format_size(lo) + " to " + format_size(hi) + ", got " + *s);
      return std::nullopt;
    }
    return *v;
  }

  std::optional<std::string> get_one_of(const Field& f, const std::string& path,
                                        std::span<const std::string_view> allowed) {
    const std::string expected = "one of " + join(allowed, ", ");
    const auto* s = scalar(f, path, expected);
    if (!s) return std::nullopt;
    if (std::find(allowed.begin(), allowed.end(), *s) == allowed.end()) {
      report(*f.value, path,
             "must be " + expected + ", got " + shown(*s) + suggestion(*s, allowed));
      return std::nullopt;
    }
    return *s;
  }

  std::optional<std::string> get_name(const Field& f, const std::string& path) {
    auto s = get_string(f, path);
    if (!s) return std::nullopt;
    if (!valid_name(*s)) {
      report(*f.value, path,
             "must be 1 to " + std::to_string(kMaxNameLength) +
                 " characters of A-Z, a-z, 0-9, '_', '.' and '-', got " + shown(*s));
      return std::nullopt;
    }
    return s;
  }

  // Relative paths are taken from the config file's directory, so a config and its secrets can
  // move together and the daemon's working directory does not matter.
  std::string resolve(const std::string& p) const {
    fs::path path(p);
    if (path.is_absolute()) return path.lexically_normal().string();
    return (base_dir_ / path).lexically_normal().string();
  }

  std::optional<std::string> get_path(const Field& f, const std::string& path) {
    auto s = get_string(f, path);
    if (!s) return std::nullopt;
    return resolve(*s);
  }

  bool is_map_or_report(const Field& f, const std::string& path) {
    if (f.value->kind == Kind::Map) return true;
    report(f.value->kind == Kind::Null ? *f.key : *f.value, path,
           std::string("must be a mapping, got ") + yaml::kind_name(f.value->kind));
    return false;
  }

  void sites(const Field& f, Config& config) {
    const std::string path = "sites";
    if (f.value->kind == Kind::Null) {
      report(*f.key, path, "must list at least one site");
      return;
    }
    if (f.value->kind != Kind::Sequence) {
      report(*f.value, path,
             std::string("must be a list of sites, got ") + yaml::kind_name(f.value->kind));
      return;
    }
    if (f.value->items.empty()) {
      report(*f.value, path, "must list at least one site");
      return;
    }
    std::map<std::string, int, std::less<>> names;  // name -> line
    for (std::size_t i = 0; i < f.value->items.size(); ++i) {
      const auto& item = f.value->items[i];
      const auto site_path = index(path, i);
      if (item.kind != Kind::Map) {
        report(item, site_path,
               std::string("must be a mapping of site keys, got ") + yaml::kind_name(item.kind));
        continue;
      }
      SiteConfig site = this->site(item, site_path);
      if (!site.name.empty()) {
        auto [it, inserted] = names.emplace(site.name, site.line);
        if (!inserted) {
          const auto& nf = *std::find_if(item.entries.begin(), item.entries.end(),
                                         [](const auto& e) { return e.first.value == "name"; });
          report(nf.second, child(site_path, "name"),
                 "duplicate site name " + shown(site.name) + " (first defined at line " +
                     std::to_string(it->second) + ")");
        }
      }
      config.sites.push_back(std::move(site));
    }
  }

  // One site's keys, for site()'s steps.
  struct SiteKeys {
    const YamlNode& map;
    const std::string& path;
    Fields keys;
    const Field* get(std::string_view key) const {
      auto it = keys.find(key);
      return it == keys.end() ? nullptr : &it->second;
    }
    std::string p(std::string_view key) const { return child(path, key); }
  };

  const Field* required(const SiteKeys& k, std::string_view key) {
    const Field* f = k.get(key);
    if (!f) report(k.map, k.p(key), "required key missing");
    return f;
  }

  SiteConfig site(const YamlNode& map, const std::string& path) {
    SiteConfig s;
    s.line = map.line;
    const SiteKeys k{map, path, fields(map, path, kSiteKeys)};
    site_endpoint(k, s);
    site_username(k, s);
    site_password(k, s);
    site_tls(k, s);
    site_limits(k, s);
    timeouts(s, path, [&](std::string_view key) { return k.get(key); });
    return s;
  }

  // name, url, api.
  void site_endpoint(const SiteKeys& k, SiteConfig& s) {
    if (const auto* f = required(k, "name")) {
      if (auto v = get_name(*f, k.p("name"))) s.name = *v;
    }
    if (const auto* f = required(k, "url")) {
      if (auto v = get_string(*f, k.p("url"))) {
        std::string normalized;
        if (auto why = check_url(*v, normalized); !why.empty()) {
          report(*f->value, k.p("url"), why);
        } else {
          s.url = normalized;
        }
      }
    }
    if (const auto* f = k.get("api")) {
      if (auto v = get_string(*f, k.p("api"))) {
        if (auto api = parse_api(*v)) {
          s.api = *api;
        } else {
          report(*f->value, k.p("api"), "must be v3, v4 or auto, got " + shown(*v));
        }
      }
    }
  }

  void site_username(const SiteKeys& k, SiteConfig& s) {
    const bool api_key = k.get("api_key_file") || k.get("api_key_env");
    const auto* f = api_key ? k.get("username") : required(k, "username");
    if (!f) return;
    auto v = get_string(*f, k.p("username"));
    if (!v) return;
    // It goes into a Basic Authorization header and into logs: printable text only, and no
    // ':' (which would end the user part of user:password).
    if (!is_printable(*v) || v->find(':') != std::string::npos) {
      report(*f->value, k.p("username"),
             "must be printable text without ':' (no control characters or invalid UTF-8), "
             "got " + shown(printable(*v, 64)));
    } else {
      s.credentials.username = *v;
    }
  }

  static bool is_env_name(const std::string& v) {
    return !(v[0] >= '0' && v[0] <= '9') &&
           std::all_of(v.begin(), v.end(), [](char c) {
             return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_';
           });
  }

  // Exactly one read secret: password_file or password_env, or api_key_file or api_key_env.
  // At most one of the write_ pair, which makes the site writable by flowdriftctl apply
  // (docs/plan.md).
  void site_password(const SiteKeys& k, SiteConfig& s) {
    auto& c = s.credentials;
    const Field* key = k.get("api_key_file") ? k.get("api_key_file") : k.get("api_key_env");
    const Field* password = k.get("password_file") ? k.get("password_file") : k.get("password_env");
    if (key && password) {
      report(*key->key, k.p(key->key->value),
             "set either a password (password_file or password_env, with username) or an API key "
             "(api_key_file or api_key_env), not both");
    } else if (!key && !password) {
      report(k.map, k.path,
             "a credential is required: set password_file (a file holding the password) or "
             "password_env (an environment variable) with username, or api_key_file or "
             "api_key_env (a service account's API key)");
    }
    if (key) secret_source(k, "api_key", c.api_key_file, c.api_key_env);
    if (password || !key) secret_source(k, "password", c.password_file, c.password_env);
    secret_source(k, "write_password", c.write_password_file, c.write_password_env);
    if (const auto* f = k.get("write_username")) {
      if (auto v = get_string(*f, k.p("write_username"))) c.write_username = *v;
    } else if (key && (k.get("write_password_file") || k.get("write_password_env"))) {
      report(k.map, k.path,
             "write_username is required with an API key: the write credential is a user and "
             "its password");
    }
  }

  // `stem`_file or `stem`_env, not both (whether one is required is the caller's check).
  void secret_source(const SiteKeys& k, const std::string& stem, std::string& file,
                     std::string& env) {
    const std::string file_key = stem + "_file", env_key = stem + "_env";
    const Field* from_file = k.get(file_key);
    const Field* from_env = k.get(env_key);
    if (from_file && from_env) {
      const Field* later = from_file->key->line > from_env->key->line ? from_file : from_env;
      report(*later->key, k.p(later->key->value), "set only one of " + file_key + " and " + env_key);
    }
    if (from_file) {
      if (auto v = get_path(*from_file, k.p(file_key))) file = *v;
    }
    if (!from_env) return;
    if (auto v = get_string(*from_env, k.p(env_key))) {
      if (is_env_name(*v)) {
        env = *v;
      } else {
        // Not echoed: a value that is not a variable name may well be the secret itself.
        report(*from_env->value, k.p(env_key),
               "must be the name of an environment variable (letters, digits and '_', not "
               "starting with a digit), not the secret itself");
      }
    }
  }

  void site_tls(const SiteKeys& k, SiteConfig& s) {
    if (const auto* f = k.get("ca_file")) {
      if (auto v = get_path(*f, k.p("ca_file"))) {
        if (auto why = check_readable_file(*v); !why.empty()) {
          report(*f->value, k.p("ca_file"), "cannot read " + shown(*v) + ": " + why);
        } else {
          s.ca_file = *v;
        }
      }
    }
    if (const auto* f = k.get("insecure_skip_verify")) {
      if (auto v = get_bool(*f, k.p("insecure_skip_verify"))) s.insecure_skip_verify = *v;
    }
    if (const auto* f = k.get("proxy")) {
      if (auto v = get_string(*f, k.p("proxy"))) {
        if (auto why = proxy_problem(*v); !why.empty()) {
          report(*f->value, k.p("proxy"), why);
        } else {
          s.proxy = *v;
        }
      }
    }
  }

  // "none", or http://HOST[:PORT] with nothing else (no credentials: they would sit in the
  // config and the logs; no https://: flowdrift speaks plain HTTP to the proxy, TLS through it).
  static std::string proxy_problem(const std::string& v) {
    if (v == "none") return {};
    const std::string_view scheme = "http://";
    const bool http = v.size() > scheme.size() && v.compare(0, scheme.size(), scheme) == 0;
    if (!http || !is_printable(v) ||
        v.find_first_of("@/?# ", scheme.size()) != std::string::npos) {
      const bool secret = v.find('@') != std::string::npos;
      return "must be none or an http://HOST[:PORT] proxy (no credentials, path or https://), "
             "got " + (secret ? std::string("a URL with credentials") : shown(printable(v, 80)));
    }
    return {};
  }

  // jitter, retries, retry_backoff, page_size, max_response_bytes, allow_empty, vm_coverage,
  // vm_coverage_interval, max_backoff.
  void site_limits(const SiteKeys& k, SiteConfig& s) {
    if (const auto* f = k.get("jitter")) {
      if (auto v = get_fraction(*f, k.p("jitter"), 0.0, kMaxJitter)) s.jitter = *v;
    }
    if (const auto* f = k.get("retries")) {
      if (auto v = get_int(*f, k.p("retries"), 0, kMaxRetries)) s.retries = *v;
    }
    if (const auto* f = k.get("retry_backoff")) {
      if (auto v = get_duration(*f, k.p("retry_backoff"), kMinRetryBackoff)) s.retry_backoff = *v;
    }
    if (const auto* f = k.get("page_size")) {
      if (auto v = get_int(*f, k.p("page_size"), 1, kMaxPageSize)) s.page_size = *v;
    }
    if (const auto* f = k.get("max_response_bytes")) {
      if (auto v = get_size(*f, k.p("max_response_bytes"), kMinResponseBytes, kMaxResponseBytes)) {
        s.max_response_bytes = static_cast<std::size_t>(*v);
      }
    }
    if (const auto* f = k.get("allow_empty")) {
      if (auto v = get_bool(*f, k.p("allow_empty"))) s.allow_empty = *v;
    }
    if (const auto* f = k.get("vm_coverage")) {
      if (auto v = get_bool(*f, k.p("vm_coverage"))) s.vm_coverage = *v;
    }
    if (const auto* f = k.get("vm_coverage_interval")) {
      if (auto v = get_duration(*f, k.p("vm_coverage_interval"), Millis(0))) {
        s.vm_coverage_interval = *v;
      }
    }
    if (const auto* f = k.get("max_backoff")) {
      if (auto v = get_duration(*f, k.p("max_backoff"), Millis(0))) s.max_backoff = *v;
    }
  }

  // interval, poll_timeout, request_timeout, connect_timeout: each must fit inside the next.
  // Unset timeouts default to min(their default, the next one up), so a short interval alone is
  // valid; only explicit values can conflict, and the conflict is reported at the inner key.
  template <class Get>
  void timeouts(SiteConfig& s, const std::string& path, Get get) {
    struct Timing {
      const char* key;
      const char* default_text;  // how the default is derived, for messages
      Millis fallback;
      Millis min;
      const Field* field = nullptr;
      std::optional<Millis> value;  // parsed, or defaulted
      bool failed = false;          // set but invalid: skip the cross-checks
    };
    Timing t[] = {{"interval", "default", s.interval, kMinInterval, nullptr, std::nullopt, false},
                  {"poll_timeout", "default: min(120s, interval)", kPollTimeoutDefaultCap,
                   Millis{1}, nullptr, std::nullopt, false},
                  {"request_timeout", "default: min(30s, poll_timeout)", s.request_timeout,
                   Millis{1}, nullptr, std::nullopt, false},
                  {"connect_timeout", "default: min(5s, request_timeout)", s.connect_timeout,
                   Millis{1}, nullptr, std::nullopt, false}};
    for (std::size_t i = 0; i < std::size(t); ++i) {
      t[i].field = get(t[i].key);
      if (t[i].field) {
        t[i].value = get_duration(*t[i].field, child(path, t[i].key), t[i].min);
        t[i].failed = !t[i].value;
      }
      if (!t[i].value) {
        t[i].value = i == 0 ? t[i].fallback : std::min(t[i].fallback, *t[i - 1].value);
      }
    }
    for (std::size_t i = 1; i < std::size(t); ++i) {
      const auto& inner = t[i];
      const auto& outer = t[i - 1];
      if (!inner.field || inner.failed || outer.failed || *inner.value <= *outer.value) continue;
      report(*inner.field->value, child(path, inner.key),
             std::string("must not exceed ") + outer.key + " (" + format_duration(*outer.value) +
                 (outer.field ? std::string() : std::string(", ") + outer.default_text) +
                 "), got " + inner.field->value->value);
    }
    s.interval = *t[0].value;
    s.poll_timeout = *t[1].value;
    s.request_timeout = *t[2].value;
    s.connect_timeout = *t[3].value;
  }

  void pairs(const Field& f, Config& config) {
    const std::string path = "pairs";
    if (f.value->kind == Kind::Null) return;  // "pairs:" with nothing is an empty list
    if (f.value->kind != Kind::Sequence) {
      report(*f.value, path,
             std::string("must be a list of pairs, got ") + yaml::kind_name(f.value->kind));
      return;
    }
    std::map<std::string, int> baselines;  // path -> line of its first use
    std::vector<std::string_view> site_names;
    for (const auto& s : config.sites) {
      if (!s.name.empty() &&
          std::find(site_names.begin(), site_names.end(), s.name) == site_names.end()) {
        site_names.push_back(s.name);
      }
    }
    std::map<std::string, int, std::less<>> names;
    for (std::size_t i = 0; i < f.value->items.size(); ++i) {
      const auto& item = f.value->items[i];
      const auto pair_path = index(path, i);
      if (item.kind != Kind::Map) {
        report(item, pair_path,
               std::string("must be a mapping of pair keys, got ") + yaml::kind_name(item.kind));
        continue;
      }
      PairConfig pair;
      pair.line = item.line;
      auto pf = fields(item, pair_path, kPairKeys);
      if (auto it = pf.find("name"); it == pf.end()) {
        report(item, child(pair_path, "name"), "required key missing");
      } else if (auto v = get_name(it->second, child(pair_path, "name"))) {
        pair.name = *v;
        auto [prev, inserted] = names.emplace(*v, item.line);
        if (!inserted) {
          report(*it->second.value, child(pair_path, "name"),
                 "duplicate pair name " + shown(*v) + " (first defined at line " +
                     std::to_string(prev->second) + ")");
        }
      }
      const YamlNode* source_node = nullptr;
      for (const char* role : {"source", "replica"}) {
        const auto key_path = child(pair_path, role);
        auto it = pf.find(role);
        if (it == pf.end()) {
          report(item, key_path, "required key missing");
          continue;
        }
        if (std::string_view(role) == "source" && it->second.value->kind == Kind::Map) {
          if (auto b = baseline_source(it->second, key_path)) {
            pair.source = config::baseline_site_name(*b);
            source_node = it->second.value;
            baselines.emplace(*b, it->second.value->line);
          }
          continue;
        }
        auto v = get_string(it->second, key_path);
        if (!v) continue;
        if (std::find(site_names.begin(), site_names.end(), *v) == site_names.end()) {
          report(*it->second.value, key_path,
                 "unknown site " + shown(*v) + suggestion(*v, site_names) +
                     (site_names.empty() ? std::string()
                                         : " (sites: " + join(site_names, ", ") + ")"));
          continue;
        }
        if (std::string_view(role) == "source") {
          pair.source = *v;
          source_node = it->second.value;
        } else if (source_node && *v == pair.source) {
          report(*it->second.value, key_path,
                 "must differ from source (both are " + shown(*v) + ")");
        } else {
          pair.replica = *v;
        }
      }
      if (auto it = pf.find("mappings"); it != pf.end()) {
        mappings(it->second, child(pair_path, "mappings"), pair);
      }
      if (auto it = pf.find("expected"); it != pf.end()) {
        expected(it->second, child(pair_path, "expected"), pair);
      }
      if (auto it = pf.find("debounce"); it != pf.end()) {
        debounce(it->second, child(pair_path, "debounce"), pair);
      }
      if (auto it = pf.find("max_skew"); it != pf.end()) {
        if (auto v = get_duration(it->second, child(pair_path, "max_skew"), Millis(1000))) {
          pair.max_skew = *v;
        }
      } else {
        const auto* src = config.find_site(pair.source);
        const auto* rep = config.find_site(pair.replica);
        // A baseline is read as often as its replica is polled.
        if (rep) pair.max_skew = 3 * std::max(src ? src->interval : rep->interval, rep->interval);
      }
      config.pairs.push_back(std::move(pair));
    }
    add_baseline_sites(baselines, config);
  }

  // `source: {baseline: PATH}`: the absolute path, or nullopt once reported.
  std::optional<std::string> baseline_source(const Field& f, const std::string& path) {
    constexpr std::string_view kKeys[] = {"baseline"};
    auto bf = fields(*f.value, path, kKeys);
    auto it = bf.find("baseline");
    if (it == bf.end()) {
      report(*f.value, child(path, "baseline"),
             "required key missing (a source is a site name, or {baseline: PATH})");
      return std::nullopt;
    }
    auto p = get_path(it->second, child(path, "baseline"));
    // "flow/" and "flow" are one baseline, and one site.
    while (p && p->size() > 1 && p->back() == '/') p->pop_back();
    return p;
  }

  // One site per baseline path (pairs may share one), read as often as the most frequently
  // polled of the replicas compared with it.
  void add_baseline_sites(const std::map<std::string, int>& baselines, Config& config) {
    for (const auto& [path, line] : baselines) {
      SiteConfig site;
      site.name = config::baseline_site_name(path);
      site.baseline = path;
      site.jitter = 0;
      site.line = line;
      std::optional<Millis> every;
      for (const auto& p : config.pairs) {
        const auto* rep = config.find_site(p.replica);
        if (p.source != site.name || rep == nullptr) continue;
        every = every ? std::min(*every, rep->interval) : rep->interval;
      }
      if (every) site.interval = *every;
      config.sites.push_back(std::move(site));
    }
  }

  // A list of two-key rules ({match, replica} / {source, replica}) as string pairs.
  std::vector<std::pair<std::string, std::string>> rule_list(
      const Field& f, const std::string& path, std::span<const std::string_view> keys) {
    std::vector<std::pair<std::string, std::string>> out;
    if (f.value->kind != Kind::Sequence) {
      report(f.value->kind == Kind::Null ? *f.key : *f.value, path,
             std::string("must be a list, got ") + yaml::kind_name(f.value->kind));
      return out;
    }
    for (std::size_t i = 0; i < f.value->items.size(); ++i) {
      const auto& item = f.value->items[i];
      const auto item_path = index(path, i);
      if (item.kind != Kind::Map) {
        report(item, item_path, std::string("must be a mapping with keys ") + join(keys, ", "));
        continue;
      }
      auto rf = fields(item, item_path, keys);
      std::optional<std::string> a, b;
      for (std::size_t k = 0; k < 2; ++k) {
        auto it = rf.find(keys[k]);
        if (it == rf.end()) {
          report(item, child(item_path, std::string(keys[k])), "required key missing");
          continue;
        }
        (k == 0 ? a : b) = get_string(it->second, child(item_path, std::string(keys[k])));
      }
      if (a && b) out.emplace_back(*a, *b);
    }
    return out;
  }

  void mappings(const Field& f, const std::string& path, PairConfig& pair) {
    if (f.value->kind == Kind::Null) return;
    if (!is_map_or_report(f, path)) return;
    auto mf = fields(*f.value, path, kMappingKeys);
    std::map<std::string, std::string> categories;
    if (auto it = mf.find("categories"); it != mf.end()) {
      const auto cpath = child(path, "categories");
      if (is_map_or_report(it->second, cpath)) {
        for (const auto& [key, value] : it->second.value->entries) {
          const auto kpath = child(cpath, key.value);
          if (auto v = get_string(Field{&key, &value}, kpath)) {
            if (!categories.emplace(key.value, *v).second) {
              report(key, kpath, "duplicate key");
            }
          }
        }
      }
    }
    std::vector<std::pair<std::string, std::string>> names, subnets;
    if (auto it = mf.find("names"); it != mf.end()) {
      names = rule_list(it->second, child(path, "names"), kNameRuleKeys);
    }
    if (auto it = mf.find("subnets"); it != mf.end()) {
      subnets = rule_list(it->second, child(path, "subnets"), kSubnetRuleKeys);
    }
    pair.mapping.categories = std::move(categories);
    pair.mapping.names = std::move(names);
    pair.mapping.subnets = std::move(subnets);
    pair.mapping.at = {f.value->line, f.value->column};
  }

  // Expected differences: each selects items by policy (glob), kind and field, and must say
  // who owns it, why, and until when; one without them is refused, not silently ignored.
  void expected(const Field& f, const std::string& path, PairConfig& pair) {
    if (f.value->kind == Kind::Null) return;
    if (f.value->kind != Kind::Sequence) {
      report(*f.value, path, std::string("must be a list, got ") + yaml::kind_name(f.value->kind));
      return;
    }
    for (std::size_t i = 0; i < f.value->items.size(); ++i) {
      const auto& item = f.value->items[i];
      const auto item_path = index(path, i);
      if (item.kind != Kind::Map) {
        report(item, item_path,
               std::string("must be a mapping with keys ") + join(kExpectedKeys, ", "));
        continue;
      }
      auto ef = fields(item, item_path, kExpectedKeys);
      ExpectedConfig e;
      e.index = i;
      e.at = {item.line, item.column};
      bool ok = true;
      for (const char* key : {"policy", "owner", "reason", "expires"}) {
        if (ef.find(key) == ef.end()) {
          report(item, child(item_path, key),
                 std::string("required key missing (an expected difference needs policy, "
                             "owner, reason and expires)"));
          ok = false;
        }
      }
      auto text = [&](const char* key, Position* at = nullptr) -> std::optional<std::string> {
        auto it = ef.find(key);
        if (it == ef.end()) return std::nullopt;
        if (at) *at = {it->second.value->line, it->second.value->column};
        auto v = get_string(it->second, child(item_path, key));
        if (!v) ok = false;
        return v;
      };
      if (auto v = text("policy")) e.policy = *v;
      if (auto v = text("owner")) e.owner = *v;
      if (auto v = text("reason")) e.reason = *v;
      if (auto v = text("field")) e.field = *v;
      if (auto v = text("kind", &e.kind_at)) e.kind = *v;
      if (auto v = text("expires", &e.expires_at)) e.expires = *v;
      if (ok) pair.expected.push_back(std::move(e));
    }
  }

  void debounce(const Field& f, const std::string& path, PairConfig& pair) {
    if (f.value->kind == Kind::Null) return;
    if (!is_map_or_report(f, path)) return;
    auto df = fields(*f.value, path, kDebounceKeys);
    if (auto it = df.find("comparisons"); it != df.end()) {
      if (auto v = get_int(it->second, child(path, "comparisons"), 1, kMaxDebounceComparisons)) {
        pair.debounce_comparisons = *v;
      }
    }
    if (auto it = df.find("for"); it != df.end()) {
      if (auto v = get_duration(it->second, child(path, "for"), Millis(0))) {
        pair.debounce_for = *v;
      }
    }
  }

  void storage(const Field& f, StorageConfig& out) {
    if (f.value->kind == Kind::Null) return;  // an empty section keeps the defaults
    if (!is_map_or_report(f, "storage")) return;
    auto sf = fields(*f.value, "storage", kStorageKeys);
    if (auto it = sf.find("path"); it != sf.end()) {
      if (auto v = get_string(it->second, "storage.path")) {
        // SQLite's in-memory database is not a file name; keep it as written.
        out.path = *v == ":memory:" ? *v : resolve(*v);
      }
    }
    if (auto it = sf.find("retention"); it != sf.end()) {
      // 0 keeps everything. Pruning never removes what the present or the window needs, so
      // even a short window is safe; production windows are days (soak runs use minutes).
      const auto* s = it->second.value;
      if (s->kind == Kind::Scalar && (s->value == "0" || s->value == "0d")) {
        out.retention = Millis(0);
      } else if (auto v = get_duration(it->second, "storage.retention", Millis(60'000))) {
        out.retention = *v;
      }
    }
    if (auto it = sf.find("prune_interval"); it != sf.end()) {
      if (auto v = get_duration(it->second, "storage.prune_interval", Millis(1000))) {
        out.prune_interval = *v;
      }
    }
  }

  void server(const Field& f, ServerConfig& out) {
    if (f.value->kind == Kind::Null) return;
    if (!is_map_or_report(f, "server")) return;
    auto sf = fields(*f.value, "server", kServerKeys);
    if (auto it = sf.find("listen"); it != sf.end()) {
      if (auto v = get_string(it->second, "server.listen")) {
        if (auto why = check_listen(*v); !why.empty()) {
          report(*it->second.value, "server.listen", why);
        } else {
          out.listen = *v;
        }
      }
    }
    if (auto it = sf.find("policy_series_cap"); it != sf.end()) {
      if (auto v = get_int(it->second, "server.policy_series_cap", 0, 100000)) {
        out.policy_series_cap = static_cast<std::size_t>(*v);
      }
    }
  }

  void polling(const Field& f, PollingConfig& out) {
    if (f.value->kind == Kind::Null) return;
    if (!is_map_or_report(f, "polling")) return;
    auto pf = fields(*f.value, "polling", kPollingKeys);
    if (auto it = pf.find("max_concurrent"); it != pf.end()) {
      if (auto v = get_int(it->second, "polling.max_concurrent", 1, kMaxConcurrentPolls)) {
        out.max_concurrent = *v;
      }
    }
  }

  void log(const Field& f, LogConfig& out) {
    if (f.value->kind == Kind::Null) return;
    if (!is_map_or_report(f, "log")) return;
    auto lf = fields(*f.value, "log", kLogKeys);
    if (auto it = lf.find("level"); it != lf.end()) {
      if (auto v = get_one_of(it->second, "log.level", kLogLevels)) out.level = *v;
    }
    if (auto it = lf.find("format"); it != lf.end()) {
      if (auto v = get_one_of(it->second, "log.format", kLogFormats)) out.format = *v;
    }
  }

  std::string file_;
  fs::path base_dir_;
  std::vector<Problem> problems_;
};

Parsed parse(const std::string& text, const std::string& name, const fs::path& base_dir) {
  auto parsed = yaml::parse_yaml(text);
  Validator v(name, base_dir);
  if (parsed.error) {
    v.report(parsed.error->line, parsed.error->column, "",
             "YAML syntax error: " + parsed.error->message);
    return {Config{}, v.take_problems()};
  }
  Config config = v.validate(parsed.root);
  return {std::move(config), v.take_problems()};
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += '\n';
    out += l;
  }
  return out;
}

}  // namespace

ConfigError::ConfigError(std::vector<std::string> problems)
    : std::runtime_error(joined(problems)), problems_(std::move(problems)) {}

namespace {
std::vector<std::string> in_document_order(std::vector<Problem> problems) {
  // Cross-checks found late still read top to bottom.
  std::stable_sort(problems.begin(), problems.end(), [](const Problem& a, const Problem& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  std::vector<std::string> out;
  out.reserve(problems.size());
  for (auto& p : problems) out.push_back(std::move(p.text));
  return out;
}
}  // namespace

ConfigError::ConfigError(std::vector<Problem> problems)
    : ConfigError(in_document_order(std::move(problems))) {}

Problem make_problem(const std::string& file, Position at, const std::string& path,
                     const std::string& reason) {
  std::string text = file + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": ";
  if (!path.empty()) text += path + ": ";
  text += reason;
  return Problem{at.line, at.column, std::move(text)};
}

const SiteConfig* Config::find_site(const std::string& name) const {
  for (const auto& s : sites) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Parsed read_config(const std::string& path) {
  std::string text;
  if (auto why = read_file_bounded(path, kMaxConfigBytes, text); !why.empty()) {
    throw ConfigError({path + ": cannot read configuration file: " + why});
  }
  std::error_code ec;
  auto absolute = fs::absolute(path, ec);
  const fs::path base = ec ? fs::path(".") : absolute.parent_path();
  return parse(text, path, base);
}

Parsed parse_text(const std::string& text, const std::string& name) {
  std::error_code ec;
  auto cwd = fs::current_path(ec);
  return parse(text, name, ec ? fs::path(".") : cwd);
}

namespace {

// The secret in `file` or the environment variable `env`; `stem` names their keys ("password",
// "write_password", "api_key") in messages.
std::string read_secret(const SiteConfig& site, const std::string& file, const std::string& env,
                        const std::string& stem) {
  const std::string who = "site " + shown(site.name) + ": ";
  if (!file.empty()) {
    std::string secret;
    if (auto why = read_file_bounded(file, kMaxPasswordBytes, secret); !why.empty()) {
      throw ConfigError({who + "cannot read " + stem + "_file " + shown(file) + ": " + why});
    }
    // Editors and `echo` add a newline; Windows-edited files a CR too. Neither is part of it.
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    if (secret.empty()) {
      throw ConfigError({who + stem + "_file " + shown(file) + " is empty"});
    }
    return secret;
  }
  if (!env.empty()) {
    const char* value = std::getenv(env.c_str());
    if (!value) {
      throw ConfigError({who + "environment variable " + env + " (" + stem + "_env) is not set"});
    }
    if (*value == '\0') {
      throw ConfigError({who + "environment variable " + env + " (" + stem + "_env) is empty"});
    }
    return value;
  }
  if (stem == "password") throw ConfigError({who + "no password source; set password_file or password_env"});
  throw ConfigError({who + "is read-only: no write credential (set write_password_file or "
                           "write_password_env to let flowdriftctl apply write to it)"});
}

// An API key goes into a header as it is: one line of printable ASCII, or the request could be
// split. Not echoed.
void check_api_key(const SiteConfig& site, const std::string& key) {
  for (unsigned char c : key) {
    if (c < 0x21 || c > 0x7e) {
      throw ConfigError({"site " + shown(site.name) + ": the API key (" +
                         (site.credentials.api_key_file.empty() ? "api_key_env" : "api_key_file") +
                         ") must be one line of printable ASCII without spaces"});
    }
  }
}

}  // namespace

namespace {

// "" when `value` is one of `allowed`, else why not (as get_one_of() says it for the file).
std::string check_one_of(std::string_view value, std::span<const std::string_view> allowed) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return {};
  return "must be one of " + join(allowed, ", ") + ", got " + shown(value);
}

}  // namespace

std::vector<std::string> check_flags(const Flags& flags) {
  std::vector<std::string> problems;
  auto add = [&problems](const char* flag, const std::string& why) {
    if (!why.empty()) problems.push_back(std::string(flag) + ": " + why);
  };
  if (flags.listen) add("--web.listen-address", check_listen(*flags.listen));
  if (flags.log_level) add("--log.level", check_one_of(*flags.log_level, kLogLevels));
  if (flags.log_format) add("--log.format", check_one_of(*flags.log_format, kLogFormats));
  return problems;
}

void apply_flags(Config& config) {
  if (config.flags.listen) config.server.listen = *config.flags.listen;
  if (config.flags.log_level) config.log.level = *config.flags.log_level;
  if (config.flags.log_format) config.log.format = *config.flags.log_format;
}

bool uses_api_key(const SiteConfig& site) {
  return !site.credentials.api_key_file.empty() || !site.credentials.api_key_env.empty();
}

std::string read_password(const SiteConfig& site) {
  if (is_baseline(site)) return {};  // a file on disk: nothing to log in to
  if (uses_api_key(site)) {
    auto key = read_secret(site, site.credentials.api_key_file, site.credentials.api_key_env,
                           "api_key");
    check_api_key(site, key);
    return key;
  }
  return read_secret(site, site.credentials.password_file, site.credentials.password_env,
                     "password");
}

bool is_writable(const SiteConfig& site) {
  return !is_baseline(site) && (!site.credentials.write_password_file.empty() ||
                                !site.credentials.write_password_env.empty());
}

std::string read_write_password(const SiteConfig& site) {
  if (is_baseline(site)) {
    throw ConfigError({"site " + shown(site.name) + " is a baseline: nothing to write to"});
  }
  return read_secret(site, site.credentials.write_password_file,
                     site.credentials.write_password_env, "write_password");
}

}  // namespace flowdrift::config
