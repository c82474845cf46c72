// What a site fetch (v3_client.hpp, v4_client.hpp) is asked to do, and what it reports back.
// Apart from the clients so that the request loop (request.hpp) needs no client header.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "prism/v4_versions.hpp"

namespace flowdrift::http {
class WorkPool;  // http/work_pool.hpp
}

namespace flowdrift::policy {
class V4PolicyMemo;  // policy/normalize_v4.hpp
class V3RuleMemo;    // policy/normalize_v3.hpp
}

namespace flowdrift::prism {

struct FetchOptions {
  std::string base_path;  // prefix before /api/nutanix/v3, without trailing '/' (may be empty)
  std::string username;
  std::string password;
  // Set: the credential is this API key (X-ntnx-api-key), and username/password are unused.
  std::string api_key;
  int page_size = 500;  // v3 `length`; 500 is the server maximum
  std::chrono::milliseconds request_timeout{30000};  // one HTTP exchange
  std::chrono::milliseconds poll_timeout{120000};    // the whole fetch, retries included
  int retries = 3;                                   // per request, for retryable errors only
  std::chrono::milliseconds retry_backoff{500};      // base of the exponential backoff
  bool allow_empty = false;  // accept an empty policy list even if the site had policies
  std::optional<std::size_t> previous_policy_count;  // policies in the last complete snapshot
  // The site's canonical v4 policies from earlier polls (the collector keeps one per site):
  // fetch_v4_snapshot then reads policy pages without a JSON parse of the whole page and
  // canonicalizes only the policies whose text changed. Unset: every policy is canonicalized.
  std::shared_ptr<policy::V4PolicyMemo> v4_memo;
  // The same for a v3 site's rules (fetch_v3_snapshot): rule pages read without a DOM, pages
  // and rules unchanged since the last poll taken from the memo.
  std::shared_ptr<policy::V3RuleMemo> v3_memo;
  // Where the policies of a v3 or v4 page are canonicalized (http/work_pool.hpp): null, on the
  // calling coroutine's thread. Must outlive the fetch.
  http::WorkPool* work_pool = nullptr;
  // The v4 versions this site served last (the collector keeps them per site): a namespace
  // with one is read at it without a probe, after probing only the newer versions; "" detects
  // it. prism/v4_client.hpp says how, and when a remembered version is detected again.
  V4Versions v4_versions;
};

struct FetchStats {
  int requests = 0;  // HTTP requests sent, retries included
  int retries = 0;   // retries performed
  V4Versions v4_versions;  // the v4 versions a v4 fetch used (v4_versions.hpp)
};

}  // namespace flowdrift::prism
