// flowdriftctl apply's audit trail (docs/schema.md `applies`, `apply_requests`): who applied
// which plan (its SHA-256) to which target, when, and every request sent with its answer.
// Each call is its own transaction, so what was sent is on record even if the apply dies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/db.hpp"

namespace flowdrift::store {

struct ApplyRecord {
  std::int64_t id = 0;  // set when read back
  std::int64_t started_ms = 0;
  std::optional<std::int64_t> finished_ms;
  std::string os_user;
  std::string plan_hash;
  std::string pair;
  std::string target_site;
  std::string target_snapshot;
  int writes_planned = 0;
  int writes_done = 0;
  std::string outcome = "running";  // running | complete | stopped | refused
  std::string message;
  std::optional<std::string> after_snapshot;
};

struct AppliedRequest {
  int step = 0;
  std::string op, kind, name;
  std::string method, path, request_body;
  int status = 0;  // 0: no answer (a transport failure; response_body says why)
  std::string response_body;
  std::int64_t sent_ms = 0;
  std::int64_t duration_ms = 0;
};

// Each throws StoreError.
std::int64_t begin_apply(Database& db, const ApplyRecord& apply);
void record_apply_request(Database& db, std::int64_t apply_id, const AppliedRequest& request);
void finish_apply(Database& db, std::int64_t apply_id, const std::string& outcome,
                  const std::string& message, int writes_done,
                  const std::optional<std::string>& after_snapshot, std::int64_t finished_ms);
// Newest first, at most `limit`.
std::vector<ApplyRecord> applies(Database& db, int limit = 100);
std::vector<AppliedRequest> apply_requests(Database& db, std::int64_t apply_id);

}  // namespace flowdrift::store
