// The CPU pool the event loop hands pure, costly work to (canonicalizing the policies of a
// page), so that the loop keeps serving other sites, scrapes and timers meanwhile and a
// multi-core host canonicalizes several pages at once. Work given to it must own what it
// uses (no references into a coroutine frame) and must not touch the store or the loop's state.
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
#include <memory>
#include <thread>
#include <type_traits>

#include "http/asio.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

namespace flowdrift::http {

class WorkPool {
 public:
  // 0: one thread per core, at most 4.
  explicit WorkPool(std::size_t threads = 0) : threads_(threads == 0 ? default_threads() : threads),
                                               pool_(threads_) {}
  ~WorkPool() { pool_.join(); }  // runs what was handed over to its end
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  std::size_t threads() const { return threads_; }
  asio::thread_pool& pool() { return pool_; }

  static std::size_t default_threads() {
    return std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
  }

 private:
  std::size_t threads_;
  asio::thread_pool pool_;
};

// Work handed to a WorkPool, as seen from the event loop: done, result and failure are only
// touched on the loop (the pool thread posts its outcome there), so waiting needs no lock.
template <class R>
struct PoolJob {
  explicit PoolJob(asio::any_io_executor loop) : signal(std::move(loop)) {}
  asio::steady_timer signal;  // cancelled when done, waking wait()
  bool done = false;
  R result{};
  std::exception_ptr failure;
};

namespace detail {

// Runs `work`, keeping its result or its exception.
template <class F, class R>
void run_into(F& work, R& result, std::exception_ptr& failure) {
  try {
    result = work();
  } catch (...) {
    failure = std::current_exception();
  }
}

}  // namespace detail

// Starts `work()` on `pool` and returns at once; its outcome is delivered on `loop`, whose
// io_context counts it as outstanding work meanwhile (its run() does not return early). The
// job may be dropped unawaited: the work still runs, and its result is discarded. Without a
// pool, runs it here and returns it done. R must be default-constructible and movable.
template <class F>
std::shared_ptr<PoolJob<std::invoke_result_t<F&>>> submit(WorkPool* pool,
                                                          asio::any_io_executor loop, F work) {
  using R = std::invoke_result_t<F&>;
  auto job = std::make_shared<PoolJob<R>>(loop);
  if (pool == nullptr) {
    detail::run_into(work, job->result, job->failure);
    job->done = true;
    return job;
  }
  auto home = asio::prefer(loop, asio::execution::outstanding_work.tracked);
  asio::post(pool->pool(), [job, work = std::move(work), home = std::move(home)]() mutable {
    std::exception_ptr failure;
    R result{};
    detail::run_into(work, result, failure);
    // The job moves along, so that its timer is never released on this thread.
    asio::post(home, [job = std::move(job), failure, result = std::move(result)]() mutable {
      job->result = std::move(result);
      job->failure = failure;
      job->done = true;
      job->signal.cancel();
    });
  });
  return job;
}

// The job's result, once done (its exception, if the work threw). Await it on the job's loop,
// passing a named job: g++ 12 mishandles temporaries with destructors inside a co_await.
template <class R>
awaitable<R> wait(std::shared_ptr<PoolJob<R>> job) {
  while (!job->done) {
    job->signal.expires_at(asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await job->signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (job->failure) std::rethrow_exception(job->failure);
  co_return std::move(job->result);
}

}  // namespace flowdrift::http
