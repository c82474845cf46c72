#include "prism/request.hpp"

#include <algorithm>
#include <utility>

#include "core/json_strict.hpp"
#include "core/log.hpp"
#include "core/memo_digest.hpp"
#include "prism/retry.hpp"

namespace flowdrift::prism::detail {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// Exponential backoff stops growing here; the poll deadline is the real bound.
constexpr milliseconds kMaxBackoff{60000};
// Keeps now() + poll_timeout from overflowing the steady clock's representation.
constexpr milliseconds kMaxPollTimeout{std::chrono::hours(24 * 365)};

std::shared_ptr<spdlog::logger> logger() { return log::get("prism"); }

void replace_all(std::string& text, const std::string& needle, std::string_view with) {
  if (needle.empty()) return;
  for (auto pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + with.size())) {
    text.replace(pos, needle.size(), with);
  }
}

}  // namespace

void init_fetch_context(FetchContext& ctx, http::HttpTransport& transport, FetchOptions options,
                        FetchStats& stats) {
  ctx.transport = &transport;
  ctx.options = std::move(options);
  ctx.stats = &stats;
  ctx.deadline = SteadyClock::now() + std::min(ctx.options.poll_timeout, kMaxPollTimeout);
  ctx.auth = ctx.options.api_key.empty()
                 ? http::Header{"Authorization",
                                http::basic_auth_header(ctx.options.username, ctx.options.password)}
                 : http::Header{"X-ntnx-api-key", ctx.options.api_key};
  ctx.rng.seed(std::random_device{}());
}

Error error_with(ErrorReason reason, std::string message) {
  return make_error(reason, std::move(message), false);
}

awaitable<Result<json>> send_json(FetchContext* ctx, http::HttpRequest request, RequestSite site,
                                  ErrorDetailFn detail) {
  const std::string here = site.here;
  auto sent = co_await send_ok(ctx, std::move(request), std::move(site), detail);
  if (!sent) co_return sent.error();
  co_return parse_body(sent->body, sent->status, here);
}

Result<json> parse_body(const std::string& body, int status, const std::string& here) {
  std::string error;
  auto doc = json_strict::parse(body, error);
  if (!doc) {
    return error_with(ErrorReason::Malformed, here + ": HTTP " + std::to_string(status) +
                                                  " body is not valid JSON: " + error);
  }
  return std::move(*doc);
}

awaitable<Result<http::HttpResponse>> send_ok(FetchContext* ctx, http::HttpRequest request,
                                              RequestSite site, ErrorDetailFn detail) {
  const std::string& here = site.here;
  const int max_retries = std::max(0, ctx->options.retries);

  for (int attempt = 0;; ++attempt) {
    const auto left = ctx->deadline - SteadyClock::now();
    if (left <= SteadyClock::duration::zero()) {
      co_return error_with(ErrorReason::Timeout,
                           here + ": poll deadline of " +
                               std::to_string(ctx->options.poll_timeout.count()) +
                               " ms passed before the request");
    }
    const milliseconds timeout =
        std::min(ctx->options.request_timeout, std::chrono::ceil<milliseconds>(left));
    ++ctx->stats->requests;
    auto sent = co_await ctx->transport->send(request, timeout);

    Error failure;
    if (sent) {
      auto status_error = error_for_status(*sent, here, std::chrono::system_clock::now());
      if (!status_error) co_return std::move(*sent);
      failure = std::move(*status_error);
      if (detail != nullptr) {
        const std::string extra = detail(sent->body);
        if (!extra.empty()) failure.message += ": " + extra;
      }
    } else {
      // Transport errors keep their reason and retryability; only the context is added.
      failure = std::move(sent.error());
      failure.message = here + ": " + failure.message;
    }

    if (!failure.retryable || attempt >= max_retries) co_return failure;

    milliseconds delay = backoff_delay(ctx->options.retry_backoff, attempt, kMaxBackoff, ctx->rng);
    if (failure.retry_after && *failure.retry_after > delay) delay = *failure.retry_after;
    if (SteadyClock::now() + delay >= ctx->deadline) {
      // Sleeping would overrun the poll: report the deadline, keeping what went wrong.
      Error overrun = error_with(
          ErrorReason::Timeout,
          here + ": poll deadline of " + std::to_string(ctx->options.poll_timeout.count()) +
              " ms would pass before retry " + std::to_string(attempt + 1) + " (in " +
              std::to_string(delay.count()) + " ms); last error: " +
              std::string(to_string(failure.reason)) + ": " + failure.message);
      overrun.http_status = failure.http_status;
      co_return overrun;
    }
    log::warn(logger(), "request.retry",
              {{"endpoint", site.endpoint},
               {site.position_key, site.position},
               {"reason", to_string(failure.reason)},
               {"attempt", attempt + 1},
               {"delay_ms", delay.count()}});
    ++ctx->stats->retries;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(delay);
    boost::system::error_code ec;  // cancellation just ends the sleep early
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

// Belt and braces: nothing we build puts credentials in a message, but a transport or server
// text might echo them. Passwords under 4 characters are left alone: scrubbing every "ab"
// would wreck the message and reveals as much as it hides.
Error redacted(Error error, const FetchContext& ctx) {
  constexpr std::size_t kMinRedactLength = 4;
  replace_all(error.message, ctx.auth.value, "<redacted>");
  const auto space = ctx.auth.value.find(' ');
  if (space != std::string::npos) {
    replace_all(error.message, ctx.auth.value.substr(space + 1), "<redacted>");
  }
  for (const auto* secret : {&ctx.options.password, &ctx.options.api_key}) {
    if (secret->size() >= kMinRedactLength) replace_all(error.message, *secret, "<redacted>");
  }
  return error;
}

PageSink collect_into(std::vector<nlohmann::json>& out) {
  return {[&out] { out.clear(); },
          [&out](std::vector<nlohmann::json>& page) -> Result<void> {
            for (auto& e : page) out.push_back(std::move(e));
            return {};
          },
          {}, {}, {}};
}

namespace {

awaitable<Result<void>> keep_texts(ListedTexts* out, RawListPage page) {
  for (const auto item : page.items) out->items.emplace_back(item);
  out->digests.push_back(std::move(page.digest));
  co_return Result<void>{};
}

}  // namespace

PageSink collect_texts(ListedTexts& out) {
  PageSink sink;
  sink.restart = [&out] { out = {}; };
  sink.page = [&out](std::vector<nlohmann::json>& page) -> Result<void> {
    for (const auto& e : page) out.items.push_back(e.dump());
    out.digests.emplace_back();
    return {};
  };
  sink.raw_page = [&out](const RawListPage& page) { return keep_texts(&out, page); };
  // Never a known page: every body is read, and its digest is what `known` is asked about.
  sink.known = [](const std::string&) { return policy::SharedFacts(); };
  return sink;
}

Result<std::vector<nlohmann::json>> parse_texts(const ListedTexts& listed,
                                                const std::string& endpoint) {
  std::vector<nlohmann::json> items;
  items.reserve(listed.items.size());
  std::string error;
  for (std::size_t i = 0; i < listed.items.size(); ++i) {
    auto item = json_strict::parse(listed.items[i], error);
    if (!item) {
      return make_error(ErrorReason::Malformed,
                        endpoint + " item " + std::to_string(i) + ": " + error);
    }
    items.push_back(std::move(*item));
  }
  return items;
}

void ListingsDigest::add(const std::string& endpoint, const ListedTexts& listed) {
  text_ += endpoint + '\n';
  for (const auto& d : listed.digests) {
    if (d.empty()) known_ = false;
    text_ += d + '\n';
  }
  text_ += '\n';
}

std::string ListingsDigest::value() const { return known_ ? memo_digest(text_) : std::string(); }

std::int64_t ReadPage::total() const {
  return known ? known->total : raw ? raw->facts.total : parsed.total;
}

std::size_t ReadPage::size() const {
  return known ? known->ids.size() : raw ? raw->items.size() : parsed.items.size();
}

const std::string& ReadPage::id(std::size_t i) const {
  return known ? known->ids[i] : raw ? raw->facts.ids[i] : parsed.ids[i];
}

bool read_raw(ReadPage& out, const PageSink& sink, ScanFn scan) {
  std::string digest;
  if (sink.known) {
    digest = memo_digest(out.body);
    out.known = sink.known(digest);
    if (out.known) {
      out.raw = RawListPage{{}, {}, std::move(digest)};
      return true;
    }
  }
  try {
    out.raw = scan(out.body);
  } catch (const nlohmann::json::exception&) {
    out.raw.reset();  // a string nlohmann refuses: the DOM path names the problem
  }
  if (out.raw) out.raw->digest = std::move(digest);
  return out.raw.has_value();
}

const std::string* ListedIds::repeated(const ReadPage& page) {
  for (std::size_t i = 0; i < page.size(); ++i) {
    const std::string& id = page.id(i);
    if (id.empty()) continue;
    if (seen_.contains(id)) return &id;
    auto* copy = static_cast<char*>(arena_.allocate(id.size(), 1));
    std::copy(id.begin(), id.end(), copy);
    seen_.emplace(copy, id.size());
  }
  return nullptr;
}

awaitable<Result<void>> consume(PageSink* sink, ReadPage* page) {
  if (page->known) co_return co_await sink->known_page(page->raw->digest);
  if (page->raw) co_return co_await sink->raw_page(*page->raw);
  co_return sink->page(page->parsed.items);
}

}  // namespace flowdrift::prism::detail
