#include "ctl/live.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <unistd.h>

#include "core/clock.hpp"
#include "ctl/site_file.hpp"
#include "drift/rules.hpp"
#include "http/asio.hpp"
#include "http/client.hpp"
#include "scheduler/collector.hpp"

namespace flowdrift::ctl {
namespace {

using nlohmann::json;

// Boost 1.74's co_spawn needs a default-constructible result: hand it back through `out`.
awaitable<void> fetch_site(http::HttpTransport* transport, config::Api api,
                           prism::FetchOptions options, prism::FetchStats* stats,
                           std::optional<Result<scheduler::FetchedSite>>* out) {
  out->emplace(co_await scheduler::fetch_site_data(*transport, api, std::nullopt,
                                                   std::move(options), stats));
}

// One progress line: rewritten in place on a terminal, else a line of its own.
void progress_line(std::ostream& err, const std::string& site, const prism::FetchStats& stats,
                   bool in_place) {
  err << (in_place ? "\r" : "") << "flowdriftctl: site " << site << ": " << stats.requests
      << " requests (" << stats.retries << " retries)" << (in_place ? "" : "\n") << std::flush;
}

// Every 250 ms while the fetch runs: how many requests it has sent, when that changed. On a
// terminal one line is rewritten in place and cleared at the end; otherwise each is a line,
// and the final count always is one.
awaitable<void> show_progress(asio::steady_timer* timer, const prism::FetchStats* stats,
                              const bool* done, std::string site, bool in_place,
                              std::ostream* err) {
  int shown = 0;
  while (!*done) {
    timer->expires_after(std::chrono::milliseconds(250));
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (*done || stats->requests == shown) continue;
    shown = stats->requests;
    progress_line(*err, site, *stats, in_place);
  }
  if (in_place && shown > 0) *err << "\r\033[K" << std::flush;
  // Each step on its line: the last one too.
  if (!in_place && stats->requests != shown) progress_line(*err, site, *stats, false);
}

}  // namespace

std::optional<LiveDump> fetch_live_dump(const std::string& config_path,
                                        const std::string& site_name, std::ostream& err,
                                        Progress progress) {
  config::Config cfg;
  try {
    cfg = drift::load_config(config_path);
  } catch (const config::ConfigError& e) {
    err << "flowdriftctl: invalid configuration:\n" << e.what() << "\n";
    return std::nullopt;
  }
  const auto* site = cfg.find_site(site_name);
  if (!site) {
    err << "flowdriftctl: no site named '" << site_name << "' in " << config_path << "\n";
    return std::nullopt;
  }
  if (config::is_baseline(*site)) {
    err << "flowdriftctl: '" << site_name << "' is a baseline, not a Prism Central; read "
        << site->baseline << " as a file instead\n";
    return std::nullopt;
  }
  asio::io_context io;
  std::string password;
  std::unique_ptr<http::HttpTransport> transport;
  try {
    password = config::read_password(*site);
    transport = scheduler::make_site_transport(io.get_executor(), *site);
  } catch (const std::exception& e) {
    err << "flowdriftctl: " << e.what() << "\n";
    return std::nullopt;
  }
  auto opts = scheduler::fetch_options(*site, password);
  opts.allow_empty = true;  // a dump reports what the site says; diff decides what it means
  prism::FetchStats stats;
  std::optional<Result<scheduler::FetchedSite>> result;
  asio::steady_timer ticker(io);
  bool done = false;
  asio::co_spawn(io, fetch_site(transport.get(), site->api, std::move(opts), &stats, &result),
                 [&](std::exception_ptr e) {
                   if (e) result.emplace(make_error(ErrorReason::Other, "internal error"));
                   done = true;
                   ticker.cancel();
                 });
  if (progress.shown()) {
    asio::co_spawn(io,
                   show_progress(&ticker, &stats, &done, site->name,
                                 progress.terminal && !progress.verbose, &err),
                   asio::detached);
  }
  io.run();
  if (!result || !*result) {
    err << "flowdriftctl: site " << site->name << ": "
        << (result ? std::string(to_string(result->error().reason)) + ": " + result->error().message
                   : "fetch did not complete")
        << "\n";
    return std::nullopt;
  }
  const auto& fetched = **result;
  const auto now = unix_now_ms();
  LiveDump live;
  live.doc = fetched.v4 ? make_dump(*fetched.v4, site->name, site->url, now, stats.v4_versions)
                        : make_dump(*fetched.v3, site->name, site->url, now);
  live.policies = fetched.v4 ? fetched.v4->policies.size() : fetched.v3->rules.size();
  live.summary = std::to_string(live.policies) + " policies over " +
                 std::string(config::to_string(fetched.api)) + ", " +
                 std::to_string(stats.requests) + " requests";
  return live;
}

bool write_text_file(const std::string& path, const std::string& text, std::ostream& err) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::trunc | std::ios::binary);
    f << text;
    if (!f.flush()) {
      err << "flowdriftctl: cannot write " << path << "\n";
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    err << "flowdriftctl: cannot write " << path << ": " << ec.message() << "\n";
    std::filesystem::remove(tmp, ec);
    return false;
  }
  return true;
}

}  // namespace flowdrift::ctl
