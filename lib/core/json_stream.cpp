#include "core/json_stream.hpp"

#include <emmintrin.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "core/json_scan.hpp"

namespace flowdrift::json_stream {

namespace {

constexpr std::size_t kMore = 0;  // value_end: the buffer ends before the value does
constexpr std::size_t kBad = std::numeric_limits<std::size_t>::max();
// An element's brackets may nest this deep: json_scan counts the root and the array around it
// too, and refuses kMaxDepth. Deeper is left to the whole read, which says so.
constexpr std::size_t kMaxNesting = json_scan::kMaxDepth - 4;

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

}  // namespace

Source text_source(std::string_view text, std::size_t piece) {
  return [text, piece, at = std::size_t{0}](char* to, std::size_t n) mutable -> std::ptrdiff_t {
    const std::size_t k = std::min({n, piece, text.size() - at});
    std::memcpy(to, text.data() + at, k);
    at += k;
    return static_cast<std::ptrdiff_t>(k);
  };
}

Source fd_source(int fd) {
  return [fd](char* to, std::size_t n) -> std::ptrdiff_t {
    for (;;) {
      const ssize_t k = ::read(fd, to, n);
      if (k >= 0 || errno != EINTR) return k;
    }
  };
}

ArrayMemberStream::ArrayMemberStream(Source source, std::string_view member,
                                     std::size_t capacity)
    : source_(std::move(source)),
      member_('"' + std::string(member) + '"'),
      buf_(new char[std::max<std::size_t>(capacity, 16)]),  // not filled: read over
      cap_(std::max<std::size_t>(capacity, 16)) {}

ArrayMemberStream::ArrayMemberStream(ArrayMemberStream&&) noexcept = default;
ArrayMemberStream::~ArrayMemberStream() = default;

ArrayMemberStream::Step ArrayMemberStream::next(std::vector<std::string_view>& out) {
  out.clear();
  for (;;) {
    switch (step(out)) {
      case Progress::Advanced: continue;
      case Progress::Done: return handed_out(out);
      case Progress::Stopped: return Step::Stopped;
      case Progress::NeedMore:
        if (!out.empty()) return handed_out(out);  // before the buffer moves
        if (!refill()) return Step::Stopped;
        continue;
    }
  }
}

ArrayMemberStream::Step ArrayMemberStream::handed_out(const std::vector<std::string_view>& out) {
  if (out.empty()) return Step::End;
  keep_ = true;
  return Step::Elements;
}

ArrayMemberStream::Progress ArrayMemberStream::step(std::vector<std::string_view>& out) {
  may_grow_ = false;
  switch (at_) {
    case At::Root:
      if (!skip_ws()) return Progress::NeedMore;
      if (buf_[pos_] != '{') return stop("the root is not an object");
      ++pos_;
      rest_ = "{";
      at_ = At::FirstKey;
      return Progress::Advanced;
    case At::FirstKey:
    case At::Key: return key();
    case At::Value: return value();
    case At::AfterValue: return after(',', '}', At::Trailer);
    case At::FirstElement:
    case At::Element: return element(out);
    case At::AfterElement: return after(',', ']', At::AfterValue);
    case At::Trailer: return trailer();
    case At::Done: return Progress::Done;
    case At::Stopped: return Progress::Stopped;
  }
  return Progress::Stopped;
}

// A key and its colon, or the root's `}` when it has no members.
ArrayMemberStream::Progress ArrayMemberStream::key() {
  if (!skip_ws()) return Progress::NeedMore;
  if (at_ == At::FirstKey && buf_[pos_] == '}') {
    ++pos_;
    rest_ += '}';
    at_ = At::Trailer;
    return Progress::Advanced;
  }
  if (buf_[pos_] != '"') return stop("expected a key");
  const std::size_t end = string_end(pos_);
  if (end == kMore) return Progress::NeedMore;
  const std::string_view text(buf_.get() + pos_, end - pos_);
  if (text.find('\\') != std::string_view::npos) return stop("a key with an escape");
  std::size_t colon = end;
  while (colon < end_ && is_ws(buf_[colon])) ++colon;
  if (colon == end_) return eof_ ? stop("the text ends after a key") : Progress::NeedMore;
  if (buf_[colon] != ':') return stop("expected ':' after a key");
  key_.assign(text);
  pos_ = colon + 1;
  at_ = At::Value;
  return Progress::Advanced;
}

ArrayMemberStream::Progress ArrayMemberStream::value() {
  if (!skip_ws()) return Progress::NeedMore;
  if (key_ == member_) {
    if (seen_member_) return stop(member_ + " given twice");
    if (buf_[pos_] != '[') return stop(member_ + " is not an array");
    seen_member_ = true;
    ++pos_;
    append_member("[]");
    at_ = At::FirstElement;
    return Progress::Advanced;
  }
  const std::size_t end = value_end(pos_);
  if (end == kBad) return stop(why_);
  if (end == kMore) return Progress::NeedMore;  // refill() stops when the buffer is full
  append_member(std::string_view(buf_.get() + pos_, end - pos_));
  pos_ = end;
  at_ = At::AfterValue;
  return Progress::Advanced;
}

ArrayMemberStream::Progress ArrayMemberStream::element(std::vector<std::string_view>& out) {
  if (!skip_ws()) return Progress::NeedMore;
  if (at_ == At::FirstElement && buf_[pos_] == ']') {
    ++pos_;
    at_ = At::AfterValue;
    return Progress::Advanced;
  }
  const std::size_t end = value_end(pos_);
  if (end == kBad) return stop(why_);
  if (end == kMore) {
    may_grow_ = true;
    return Progress::NeedMore;
  }
  out.emplace_back(buf_.get() + pos_, end - pos_);
  ++count_;
  pos_ = end;
  at_ = At::AfterElement;
  return Progress::Advanced;
}

// After a value: `comma` the next one, or `close` ends the container.
ArrayMemberStream::Progress ArrayMemberStream::after(char comma, char close, At on_close) {
  if (!skip_ws()) return Progress::NeedMore;
  const char c = buf_[pos_];
  if (c == comma) {
    at_ = at_ == At::AfterValue ? At::Key : At::Element;
  } else if (c == close) {
    if (on_close == At::Trailer) rest_ += '}';
    at_ = on_close;
  } else {
    return stop(std::string("expected '") + comma + "' or '" + close + "'");
  }
  ++pos_;
  return Progress::Advanced;
}

ArrayMemberStream::Progress ArrayMemberStream::trailer() {
  while (pos_ < end_ && is_ws(buf_[pos_])) ++pos_;
  if (pos_ < end_) return stop("text after the root object");
  if (!eof_) return Progress::NeedMore;
  if (!seen_member_) return stop("no member " + member_);
  at_ = At::Done;
  return Progress::Done;
}

bool ArrayMemberStream::skip_ws() {
  while (pos_ < end_ && is_ws(buf_[pos_])) ++pos_;
  return pos_ < end_;
}

// Moves what is not yet read to the front, of the other buffer when this one holds the elements
// the last call handed out, and reads more after it; grows the buffer only for an element that
// fills it.
bool ArrayMemberStream::refill() {
  if (eof_) {
    stop("the text ends inside the root object");
    return false;
  }
  const std::size_t kept = end_ - pos_;
  const bool full = kept == cap_;
  if (full && !may_grow_) {
    stop("a member other than " + member_ + " fills the buffer");
    return false;
  }
  const std::size_t cap = full ? cap_ * 2 : cap_;
  if (keep_) {
    if (spare_cap_ < cap) {
      spare_.reset(new char[cap]);  // not filled: read over
      spare_cap_ = cap;
    }
    std::memcpy(spare_.get(), buf_.get() + pos_, kept);
    std::swap(buf_, spare_);
    std::swap(cap_, spare_cap_);
    keep_ = false;
  } else if (full) {
    auto bigger = std::unique_ptr<char[]>(new char[cap]);
    std::memcpy(bigger.get(), buf_.get() + pos_, kept);
    buf_ = std::move(bigger);
    cap_ = cap;
  } else if (pos_ > 0) {
    std::memmove(buf_.get(), buf_.get() + pos_, kept);
  }
  offset_ += pos_;
  end_ = kept;
  pos_ = 0;
  const std::ptrdiff_t n = source_(buf_.get() + end_, cap_ - end_);
  if (n < 0) {
    stop("the source cannot be read");
    return false;
  }
  eof_ = n == 0;
  end_ += static_cast<std::size_t>(n);
  return true;
}

std::size_t ArrayMemberStream::value_end(std::size_t from) {
  const char c = buf_[from];
  if (c == '"') return string_end(from);
  if (c == '{' || c == '[') return container_end(from);
  std::size_t at = from;
  while (at < end_ && !is_ws(buf_[at]) && buf_[at] != ',' && buf_[at] != ']' && buf_[at] != '}') {
    ++at;
  }
  if (at == from) {
    why_ = "expected a value";
    return kBad;
  }
  return at == end_ && !eof_ ? kMore : at;
}

// An element's outline: how deep its brackets are open, and whether the byte reached is inside
// a string, escaped by the backslash before it.
struct ArrayMemberStream::Outline {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
};

namespace {

// Bit i of each mask: byte i of a 64-byte block is that character ('{' and '[' are one bit
// apart, as are '}' and ']').
struct Block {
  std::uint64_t quote = 0;
  std::uint64_t backslash = 0;
  std::uint64_t open = 0;
  std::uint64_t close = 0;
};

std::uint64_t mask16(__m128i v, char c, int shift) {
  const auto m = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c))));
  return static_cast<std::uint64_t>(m) << shift;
}

Block classify(const char* p) {
  Block b;
  const __m128i lower = _mm_set1_epi8(0x20);
  for (int k = 0; k < 4; ++k) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    const __m128i folded = _mm_or_si128(v, lower);  // '[' -> '{', ']' -> '}'
    b.quote |= mask16(v, '"', 16 * k);
    b.backslash |= mask16(v, '\\', 16 * k);
    b.open |= mask16(folded, '{', 16 * k);
    b.close |= mask16(folded, '}', 16 * k);
  }
  return b;
}

// Bit i: the xor of bits 0..i. Over a block's quotes, the bytes from an opening quote up to its
// closing one.
std::uint64_t prefix_xor(std::uint64_t x) {
  for (int shift = 1; shift < 64; shift *= 2) x ^= x << shift;
  return x;
}

}  // namespace

// A bracket: kMore while the container is open, kBad past kMaxNesting, else past its end.
std::size_t ArrayMemberStream::bracket(Outline& o, bool open, std::size_t at) {
  if (open) {
    if (++o.depth <= kMaxNesting) return kMore;
    why_ = "an element nests deeper than this reader follows";
    return kBad;
  }
  return --o.depth == 0 ? at + 1 : kMore;
}

// Sixty-four bytes at a time where a block holds no backslash (a mask of its quotes says which
// bytes are in strings); a byte at a time through a block with one, and at the buffer's end.
std::size_t ArrayMemberStream::container_end(std::size_t from) {
  Outline o;
  std::size_t at = from;
  while (at < end_) {
    if (at + 64 <= end_ && !o.escaped) {
      const Block b = classify(buf_.get() + at);
      if (b.backslash == 0) {
        const std::uint64_t in_string = prefix_xor(b.quote) ^ (o.in_string ? ~0ULL : 0);
        for (std::uint64_t brackets = (b.open | b.close) & ~in_string; brackets != 0;
             brackets &= brackets - 1) {
          const int i = __builtin_ctzll(brackets);
          const std::size_t end = bracket(o, ((b.open >> i) & 1) != 0, at + i);
          if (end != kMore) return end;
        }
        o.in_string = (in_string >> 63) != 0;
        at += 64;
        continue;
      }
    }
    for (const std::size_t stop = std::min(end_, at + 64); at < stop; ++at) {
      const char c = buf_[at];
      if (o.in_string) {
        if (o.escaped) {
          o.escaped = false;
        } else if (c == '\\') {
          o.escaped = true;
        } else if (c == '"') {
          o.in_string = false;
        }
      } else if (c == '"') {
        o.in_string = true;
      } else if (c == '{' || c == '[' || c == '}' || c == ']') {
        const std::size_t end = bracket(o, c == '{' || c == '[', at);
        if (end != kMore) return end;
      }
    }
  }
  return kMore;
}

// Past the closing quote of the string opening at `from`, or kMore. Sixteen bytes at a time.
std::size_t ArrayMemberStream::string_end(std::size_t from) const {
  const char* p = buf_.get();
  std::size_t at = from + 1;
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  for (;;) {
    while (at + 16 <= end_) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at));
      const auto mask = static_cast<unsigned>(
          _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash))));
      if (mask != 0) {
        at += static_cast<std::size_t>(__builtin_ctz(mask));
        break;
      }
      at += 16;
    }
    while (at < end_ && p[at] != '"' && p[at] != '\\') ++at;
    if (at >= end_) return kMore;
    if (p[at] == '"') return at + 1;
    at += 2;  // an escape: the byte after the backslash is never the end
  }
}

ArrayMemberStream::Progress ArrayMemberStream::stop(std::string why) {
  why_ = std::move(why) + " (at byte " + std::to_string(offset_ + pos_) + ")";
  at_ = At::Stopped;
  return Progress::Stopped;
}

void ArrayMemberStream::append_member(std::string_view value) {
  if (members_++ > 0) rest_ += ',';
  rest_ += key_;
  rest_ += ':';
  rest_ += value;
}

}  // namespace flowdrift::json_stream
