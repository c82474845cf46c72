// A JSON document read in pieces: the elements of one array member of the root object are
// handed out a buffer at a time, so that a 50 MB v3 list file is never held whole (issue #19,
// point 3: flowdriftctl diff under 100 MiB at 2 x 5,000 policies).
//
// It only outlines. Separators, whitespace and the nesting of brackets are checked here; what
// an element holds is not: each element is parsed whole by whoever reads it, and the root's
// other members come back as a small document (rest()) to parse. Anything this reader does not
// follow stops it (Step::Stopped, with why()): the root is not an object, the member is absent
// or given twice, a key has an escape, a member other than the array is larger than the buffer,
// an element nests within a few levels of json_scan::kMaxDepth, the text is not JSON. The
// caller then reads the document whole, as before, which says what is wrong with it. So a
// document read here reads the same as one read whole, or is read whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace flowdrift::json_stream {

// Where the bytes come from: up to `n` bytes written at `to`; returns how many (0 at the end),
// or a negative number when the source cannot be read.
using Source = std::function<std::ptrdiff_t(char* to, std::size_t n)>;

// A source over text in memory, `piece` bytes a call at most (tests and the fuzz target).
Source text_source(std::string_view text, std::size_t piece);
// A source over an open file descriptor (read(2), EINTR retried).
Source fd_source(int fd);

class ArrayMemberStream {
 public:
  enum class Step {
    Elements,  // `out` holds the next elements' texts, valid until the call after next
    End,       // the document ended: rest() is the root without the array's elements
    Stopped,   // see the header; why() says what stopped it
  };
  static constexpr std::size_t kDefaultCapacity = std::size_t{4} << 20;

  // `member`: the array's key (no escapes); `capacity`: the buffer's first size. It grows only
  // for an element that does not fit. There are two buffers: a call that needs more bytes reads
  // them into the one the last call's elements are not in, so that a caller can read the next
  // batch while the last one is still in use (flowdriftctl canonicalizes a batch on every core
  // while it reads the next).
  ArrayMemberStream(Source source, std::string_view member,
                    std::size_t capacity = kDefaultCapacity);
  ArrayMemberStream(ArrayMemberStream&&) noexcept;
  ~ArrayMemberStream();

  // The elements whole in the buffer, in order (at least one), or the end, or a stop. The
  // elements of the call before stay where they are.
  Step next(std::vector<std::string_view>& out);
  // After End: `{` the root's members in order, the array given as `[]` `}`, without the
  // whitespace between them. Not checked here: parse it.
  const std::string& rest() const { return rest_; }
  std::size_t elements() const { return count_; }
  const std::string& why() const { return why_; }
  std::size_t capacity() const { return cap_; }  // of the buffer in use

 private:
  enum class At { Root, FirstKey, Key, Value, AfterValue, FirstElement, Element, AfterElement,
                  Trailer, Done, Stopped };
  enum class Progress { Advanced, NeedMore, Done, Stopped };

  Step handed_out(const std::vector<std::string_view>& out);  // End when empty
  Progress step(std::vector<std::string_view>& out);
  Progress key();
  Progress value();
  Progress element(std::vector<std::string_view>& out);
  Progress after(char comma, char close, At on_close);
  Progress trailer();
  bool refill();
  bool skip_ws();  // false: more bytes are needed to see the next token
  // The end of the value at `from`, kMore (0) when the buffer ends first, kBad (why_ set)
  // when it is not one.
  std::size_t value_end(std::size_t from);
  struct Outline;
  std::size_t container_end(std::size_t from);
  std::size_t bracket(Outline& o, bool open, std::size_t at);
  std::size_t string_end(std::size_t from) const;  // from: the opening quote
  Progress stop(std::string why);
  void append_member(std::string_view value);

  Source source_;
  std::string member_;  // with its quotes
  std::unique_ptr<char[]> buf_;
  std::size_t cap_ = 0;
  std::unique_ptr<char[]> spare_;  // the other buffer: allocated at the first switch
  std::size_t spare_cap_ = 0;
  bool keep_ = false;  // buf_ holds the elements the last call handed out: refill switches
  std::size_t pos_ = 0;  // the next unit starts here
  std::size_t end_ = 0;  // bytes read
  std::uint64_t offset_ = 0;  // of buf_[0] in the document
  bool eof_ = false;
  bool may_grow_ = false;  // the unit that needs more bytes is an element
  At at_ = At::Root;
  std::string key_;  // the member being read, with its quotes
  std::string rest_;
  bool seen_member_ = false;
  std::size_t members_ = 0;
  std::size_t count_ = 0;
  std::string why_;
};

}  // namespace flowdrift::json_stream
