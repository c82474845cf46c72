#include "app/app.hpp"

#include <boost/asio/post.hpp>

#include <csignal>

#include "core/log.hpp"
#include "core/systemd.hpp"

namespace flowdrift::app {
namespace {
std::shared_ptr<spdlog::logger> logger() { return log::get("app"); }
}  // namespace

App::App(config::Config config)
    : config_(std::move(config)), grace_timer_(io_), signals_(io_, SIGINT, SIGTERM, SIGHUP) {
  store_ = std::make_unique<store::Store>(config_.storage.path);
  log::info(logger(), "store.opened",
            {{"path", config_.storage.path}, {"schema_version", store_->schema_version()}});
  for (const auto& site : config_.sites) {
    auto password = config::read_password(site);
    auto transport = scheduler::make_site_transport(io_.get_executor(), site);
    collectors_.push_back(std::make_unique<scheduler::Collector>(
        io_.get_executor(), site, std::move(password), std::move(transport), *store_));
  }
}

App::~App() = default;

int App::run() {
  asio::co_spawn(io_, signal_loop(this), asio::detached);
  for (auto& c : collectors_) c->start();
  log::info(logger(), "daemon.started",
            {{"sites", config_.sites.size()}, {"pairs", config_.pairs.size()},
             {"database", config_.storage.path}});
  systemd::notify("READY=1\nSTATUS=polling " + std::to_string(collectors_.size()) + " site(s)");
  io_.run();
  log::info(logger(), "daemon.stopped");
  return 0;
}

void App::stop() {
  asio::post(io_, [this] { begin_shutdown("requested"); });
}

void App::begin_shutdown(const char* why) {
  if (stopping_) {
    // A second request: stop now, whatever is in flight (SQLite transactions are atomic).
    io_.stop();
    return;
  }
  stopping_ = true;
  systemd::notify("STOPPING=1");
  log::info(logger(), "daemon.stopping", {{"why", why}});
  for (auto& c : collectors_) c->stop();
  // Polls in flight finish and record their result; past the grace period we stop anyway.
  grace_timer_.expires_after(shutdown_grace);
  grace_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) {
      log::warn(logger(), "daemon.shutdown_grace_expired",
                {{"grace_ms", static_cast<long long>(shutdown_grace.count())}});
      io_.stop();
    }
  });
  // Once every collector has stopped the loop has nothing left but these waits.
  asio::co_spawn(io_, wait_for_collectors(this), asio::detached);
}

awaitable<void> App::wait_for_collectors(App* self) {
  asio::steady_timer t(self->io_);
  for (;;) {
    bool busy = false;
    for (auto& c : self->collectors_) busy = busy || c->running();
    if (!busy) break;
    t.expires_after(std::chrono::milliseconds(20));
    co_await t.async_wait(asio::use_awaitable);
  }
  self->grace_timer_.cancel();
  self->signals_.cancel();
}

awaitable<void> App::signal_loop(App* self) {
  for (;;) {
    boost::system::error_code ec;
    int sig = co_await self->signals_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    if (sig == SIGHUP) {
      log::warn(logger(), "config.reload_unsupported",
                {{"hint", "this version applies config changes on restart only"}});
      continue;
    }
    // Keep listening after the first: a second signal forces the stop.
    self->begin_shutdown(sig == SIGINT ? "SIGINT" : "SIGTERM");
  }
}

}  // namespace flowdrift::app
