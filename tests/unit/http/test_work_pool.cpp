#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "http/work_pool.hpp"

using namespace flowdrift;

namespace {

struct Seen {
  std::thread::id worker;
  std::thread::id resumed;
  int value = 0;
  bool threw = false;
  bool finished = false;
};

awaitable<void> submit_twice(http::WorkPool* pool, Seen* seen) {
  auto work = [seen] {
    seen->worker = std::this_thread::get_id();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return 42;
  };
  auto executor = co_await asio::this_coro::executor;
  auto first = http::submit(pool, executor, std::move(work));  // named: see http::wait
  seen->value = co_await http::wait(std::move(first));
  seen->resumed = std::this_thread::get_id();
  auto failing = []() -> int { throw std::runtime_error("boom"); };
  try {
    auto job = http::submit(pool, executor, std::move(failing));
    co_await http::wait(std::move(job));
  } catch (const std::runtime_error& e) {
    seen->threw = std::string(e.what()) == "boom";
  }
  seen->finished = true;
}

}  // namespace

TEST_CASE("work pool: work runs on a pool thread and resumes the caller on its loop",
          "[http][work_pool]") {
  http::WorkPool pool(2);
  CHECK(pool.threads() == 2);
  asio::io_context io;
  Seen seen;
  asio::co_spawn(io, submit_twice(&pool, &seen), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  // run() must not return while the pool holds the work: the job counts as outstanding work.
  io.run();
  CHECK(seen.finished);
  CHECK(seen.value == 42);
  CHECK(seen.worker != std::this_thread::get_id());
  CHECK(seen.resumed == std::this_thread::get_id());
  CHECK(seen.threw);
}

TEST_CASE("work pool: without a pool the work runs inline", "[http][work_pool]") {
  asio::io_context io;
  Seen seen;
  asio::co_spawn(io, submit_twice(nullptr, &seen), asio::detached);
  io.run();
  CHECK(seen.finished);
  CHECK(seen.value == 42);
  CHECK(seen.worker == std::this_thread::get_id());
  CHECK(seen.threw);
}

TEST_CASE("work pool: a job dropped unawaited still runs and its result is discarded",
          "[http][work_pool]") {
  std::atomic<int> runs{0};
  {
    http::WorkPool pool(1);
    asio::io_context io;
    auto job = http::submit(&pool, io.get_executor(), [&runs] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      return ++runs;
    });
    job.reset();
    io.run();  // returns once the dropped job's outcome has been delivered (and dropped)
    CHECK(runs == 1);
  }
  CHECK(runs == 1);
}
