#include "http/types.hpp"

#include <array>
#include <cctype>

#include "core/printable.hpp"

namespace flowdrift::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += in[i] == '+' ? ' ' : in[i];
  }
  return out;
}

// percent_decode without its leniency: a '%' not followed by two hex digits is an error.
std::optional<std::string> percent_decode_strict(std::string_view in) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') continue;
    if (i + 2 >= in.size() || hex_value(in[i + 1]) < 0 || hex_value(in[i + 2]) < 0) {
      return std::nullopt;
    }
  }
  return percent_decode(in);
}

}  // namespace

std::optional<std::map<std::string, std::string>> parse_query(std::string_view target,
                                                              std::string& error) {
  for (const char c : target) {
    if (c <= 0x20 || c >= 0x7f) {
      error = "the request target holds a byte that is not printable ASCII";
      return std::nullopt;
    }
  }
  std::map<std::string, std::string> out;
  const auto q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view query = target.substr(q + 1);
  std::size_t index = 0;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    ++index;
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto name = percent_decode_strict(part.substr(0, eq));
    auto value = eq == std::string_view::npos ? std::optional<std::string>("")
                                               : percent_decode_strict(part.substr(eq + 1));
    const std::string where = "query parameter " + std::to_string(index);
    if (!name || !value) {
      error = where + ": malformed %-escape";
      return std::nullopt;
    }
    if (!is_printable(*name) || !is_printable(*value)) {
      error = where + ": not valid UTF-8 text (invalid bytes or control characters)";
      return std::nullopt;
    }
    if (!out.emplace(*name, std::move(*value)).second) {
      error = "query parameter '" + printable(*name, 64) + "' given twice";
      return std::nullopt;
    }
  }
  return out;
}

std::optional<std::string_view> find_header(const std::vector<Header>& headers,
                                            std::string_view name) {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

std::string_view HttpRequest::path() const {
  std::string_view t(target);
  auto q = t.find('?');
  return q == std::string_view::npos ? t : t.substr(0, q);
}

std::optional<std::string> HttpRequest::query_param(std::string_view name) const {
  std::string_view t(target);
  auto q = t.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = t.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    auto eq = part.find('=');
    std::string key = percent_decode(part.substr(0, eq));
    if (key == name) {
      return eq == std::string_view::npos ? std::string() : percent_decode(part.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  while (i + 2 < in.size()) {
    unsigned n = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += kB64[n & 63];
    i += 3;
  }
  if (i + 1 == in.size()) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned n = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    std::array<int, 4> v{};
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = in[i + static_cast<std::size_t>(j)];
      if (c == '=') {
        // padding only at the very end, at most two
        if (i + 4 != in.size() || j < 2) return std::nullopt;
        v[static_cast<std::size_t>(j)] = 0;
        ++pad;
      } else {
        if (pad > 0) return std::nullopt;
        v[static_cast<std::size_t>(j)] = b64_value(c);
        if (v[static_cast<std::size_t>(j)] < 0) return std::nullopt;
      }
    }
    unsigned n = (static_cast<unsigned>(v[0]) << 18) | (static_cast<unsigned>(v[1]) << 12) |
                 (static_cast<unsigned>(v[2]) << 6) | static_cast<unsigned>(v[3]);
    out += static_cast<char>((n >> 16) & 0xFF);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xFF);
    if (pad < 1) out += static_cast<char>(n & 0xFF);
  }
  return out;
}

std::string basic_auth_header(std::string_view user, std::string_view password) {
  std::string raw;
  raw.reserve(user.size() + 1 + password.size());
  raw.append(user).append(":").append(password);
  return "Basic " + base64_encode(raw);
}

std::optional<BasicCredentials> parse_basic_auth(std::string_view value) {
  constexpr std::string_view kPrefix = "Basic ";
  if (value.size() <= kPrefix.size() || !iequals(value.substr(0, kPrefix.size()), kPrefix)) {
    return std::nullopt;
  }
  auto decoded = base64_decode(value.substr(kPrefix.size()));
  if (!decoded) return std::nullopt;
  auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

}  // namespace flowdrift::http
