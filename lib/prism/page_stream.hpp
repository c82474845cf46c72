// Policy pages on their way from a listing into a site builder (policy::V3SiteBuilder,
// policy::V4SiteBuilder), shared by the v3 and v4 fetches. Raw pages are pipelined: what the
// memo lacks of a page is canonicalized on the work pool while the next pages are fetched (up
// to kPagesInFlight at a time, so the pool has work even while the loop is busy storing another
// site's snapshot); pages are added in listing order, and drain() adds the last ones. A page
// the memo remembers whole (policy/page_memo.hpp) is taken without being read.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "http/asio.hpp"
#include "http/work_pool.hpp"
#include "prism/request.hpp"

namespace flowdrift::prism::detail {

inline constexpr std::size_t kPagesInFlight = 4;

// `Counts`: how many policies of a page reference each kind of object, summed by `add`.
template <class Builder, class Work, class Counts>
struct PageStream {
  PageStream(Builder* b, http::WorkPool* p, asio::any_io_executor e,
             void (*add_counts)(Counts&, const Counts&))
      : builder(b), pool(p), executor(std::move(e)), add(add_counts) {}

  Builder* builder;
  http::WorkPool* pool;  // null: pages are canonicalized on the loop's thread
  asio::any_io_executor executor;
  void (*add)(Counts&, const Counts&);
  std::deque<std::shared_ptr<http::PoolJob<Work>>> in_flight;
  Counts referencing{};

  // The listing restarted (the builder is told by the caller).
  void restart() {
    in_flight.clear();  // their results, when they come, are dropped
    referencing = {};
  }
  Result<void> end_page(Work work) {
    auto refs = builder->end_page(std::move(work));
    if (!refs) return refs.error();
    add(referencing, *refs);
    return {};
  }
};

// Adds the oldest pages in flight, once done, until at most `keep` remain.
template <class Stream>
awaitable<Result<void>> drain(Stream* stream, std::size_t keep = 0) {
  while (stream->in_flight.size() > keep) {
    auto job = std::move(stream->in_flight.front());
    stream->in_flight.pop_front();
    auto work = co_await http::wait(std::move(job));
    auto added = stream->end_page(std::move(work));
    if (!added) co_return added.error();
  }
  co_return Result<void>{};
}

// Queues a page's work behind the pages in flight: on the work pool when it has policies to
// canonicalize, else (all from the memo) added at once when nothing is ahead of it.
template <class Stream, class Work>
awaitable<Result<void>> queue_page(Stream* stream, Work work) {
  if (work.pending() == 0 && stream->in_flight.empty()) co_return stream->end_page(std::move(work));
  auto job = [w = std::move(work)]() mutable {
    w.run();
    return std::move(w);
  };
  stream->in_flight.push_back(http::submit(stream->pool, stream->executor, std::move(job)));
  co_return Result<void>{};
}

template <class Stream>
awaitable<Result<void>> add_raw_page(Stream* stream, RawListPage page) {
  auto previous = co_await drain(stream, kPagesInFlight - 1);
  if (!previous) co_return previous.error();
  // begin_page copies what it needs of the page
  co_return co_await queue_page(
      stream, stream->builder->begin_page(page.items, std::move(page.digest), std::move(page.facts)));
}

// A page the memo remembers whole: its policies are neither parsed nor hashed.
template <class Stream>
awaitable<Result<void>> add_known_page(Stream* stream, std::string digest) {
  auto previous = co_await drain(stream, kPagesInFlight - 1);
  if (!previous) co_return previous.error();
  co_return co_await queue_page(stream, stream->builder->begin_known_page(digest));
}

// Makes `sink` take raw pages into `stream`: policies the memo has seen are neither parsed
// nor canonicalized again, and pages listed with the same bytes as last time are not read.
template <class Stream>
void take_raw_pages(PageSink& sink, Stream* stream) {
  sink.raw_page = [stream](const RawListPage& page) { return add_raw_page(stream, page); };
  sink.known = [stream](const std::string& digest) { return stream->builder->known_page(digest); };
  sink.known_page = [stream](const std::string& digest) { return add_known_page(stream, digest); };
}

}  // namespace flowdrift::prism::detail
