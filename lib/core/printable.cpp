#include "core/printable.hpp"

#include <algorithm>
#include <cstdint>

namespace flowdrift {
namespace {

void append_hex(std::string& out, const char* prefix, unsigned v, const char* suffix) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += prefix;
  out += kHex[(v >> 4) & 0xf];
  out += kHex[v & 0xf];
  out += suffix;
}

// Appends the escape for s[i] if it needs one and returns the bytes it consumed (0: it is
// plain and the caller copies the sequence as it is).
std::size_t escape_at(std::string_view s, std::size_t i, std::size_t seq, std::string& out) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (seq == 0) {
    append_hex(out, "\\x", c, "");
    return 1;
  }
  if (c == '\\') {
    out += "\\\\";
    return 1;
  }
  if (c == '\n' || c == '\r' || c == '\t') {
    out += c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t";
    return 1;
  }
  if (c < 0x20 || c == 0x7f) {
    append_hex(out, "\\x", c, "");
    return 1;
  }
  // C1 controls U+0080..U+009F are encoded C2 80..C2 9F (CSI is among them).
  if (c == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0) {
    append_hex(out, "\\u{", static_cast<unsigned char>(s[i + 1]), "}");
    return 2;
  }
  return 0;
}

}  // namespace

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xc0) == 0x80; };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xe0 && b(1) < 0xa0) return 0;   // overlong
    if (c == 0xed && b(1) >= 0xa0) return 0;  // UTF-16 surrogates
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xf0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xf4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

std::string printable(std::string_view s, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(s.size(), max_bytes) + 24);
  std::string piece;
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t seq = utf8_sequence_length(s, i);
    piece.clear();
    std::size_t used = escape_at(s, i, seq, piece);
    if (used == 0) {
      piece.assign(s.substr(i, seq));
      used = seq;
    }
    if (out.size() + piece.size() > max_bytes) break;  // never half a character or escape
    out += piece;
    i += used;
  }
  if (i < s.size()) out += "...(+" + std::to_string(s.size() - i) + " bytes)";
  return out;
}

bool is_printable(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      ++i;
      continue;
    }
    const std::size_t seq = utf8_sequence_length(s, i);
    if (seq < 2 || (c == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0)) return false;
    i += seq;
  }
  return true;
}

}  // namespace flowdrift
