#include "store/flips.hpp"

#include <sqlite3.h>

#include <optional>

#include "core/time_format.hpp"
#include "store/audit.hpp"

namespace flowdrift::store {
namespace {

constexpr const char* kColumns =
    "id, pair, action, source_site, replica_site, requested_ms, requested_by, via, reason, "
    "outcome, applied_ms, message, items";

FlipRecord read_flip(const Statement& st) {
  FlipRecord f;
  f.id = st.column_int64(0);
  f.pair = st.column_text(1);
  f.action = st.column_text(2);
  f.source_site = st.column_text(3);
  f.replica_site = st.column_text(4);
  f.requested_ms = st.column_int64(5);
  f.requested_by = st.column_text(6);
  f.via = st.column_text(7);
  f.reason = st.column_text(8);
  f.outcome = st.column_text(9);
  f.applied_ms = st.column_optional_int64(10);
  f.message = st.column_text(11);
  f.items = st.column_int(12);
  return f;
}

std::vector<FlipRecord> read_all(Statement& st) {
  std::vector<FlipRecord> out;
  while (st.step()) out.push_back(read_flip(st));
  return out;
}

}  // namespace

std::int64_t request_flip(Database& db, const FlipRecord& f) {
  Transaction tx(db);
  db.cached("INSERT INTO pair_flips (pair, action, source_site, replica_site, requested_ms, "
            "requested_by, via, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
      .bind(1, f.pair)
      .bind(2, f.action)
      .bind(3, f.source_site)
      .bind(4, f.replica_site)
      .bind(5, f.requested_ms)
      .bind(6, f.requested_by)
      .bind(7, f.via)
      .bind(8, f.reason)
      .exec();
  const auto id = db.last_insert_rowid();
  audit_row(db, "pair_flips", id, f.requested_ms);
  tx.commit();
  return id;
}

void finish_flip(Database& db, std::int64_t id, const std::string& outcome,
                 const std::string& message, int items, std::int64_t applied_ms) {
  std::optional<Transaction> tx;
  if (!db.in_transaction()) tx.emplace(db);
  db.cached("UPDATE pair_flips SET outcome = ?2, message = ?3, items = ?4, applied_ms = ?5 "
            "WHERE id = ?1 AND outcome = 'pending'")
      .bind(1, id)
      .bind(2, outcome)
      .bind(3, message)
      .bind(4, static_cast<std::int64_t>(items))
      .bind(5, applied_ms)
      .exec();
  if (db.changes() != 1) {
    throw StoreError("pair_flips row " + std::to_string(id) + " is not pending", SQLITE_MISUSE);
  }
  audit_row(db, "pair_flips", id, applied_ms);
  if (tx) tx->commit();
}

std::vector<FlipRecord> pending_flips(Database& db) {
  // A database from before schema 9, opened read-only by flowdriftctl, has no flips.
  if (!db.has_table("pair_flips")) return {};
  auto& st = db.cached(std::string("SELECT ") + kColumns +
                       " FROM pair_flips WHERE outcome = 'pending' ORDER BY id");
  return read_all(st);
}

std::optional<FlipRecord> last_applied_flip(Database& db, const std::string& pair) {
  if (!db.has_table("pair_flips")) return std::nullopt;
  auto& st = db.cached(std::string("SELECT ") + kColumns +
                       " FROM pair_flips WHERE pair = ?1 AND outcome = 'applied' "
                       "ORDER BY id DESC LIMIT 1");
  st.bind(1, pair);
  if (!st.step()) return std::nullopt;
  auto f = read_flip(st);
  st.reset();
  return f;
}

std::vector<FlipRecord> flips(Database& db, const std::string& pair, int limit) {
  if (!db.has_table("pair_flips")) return {};
  auto st = db.prepare(std::string("SELECT ") + kColumns +
                       " FROM pair_flips WHERE ?1 = '' OR pair = ?1 ORDER BY id DESC LIMIT ?2");
  st.bind(1, pair).bind(2, static_cast<std::int64_t>(limit));
  return read_all(st);
}

nlohmann::json flip_json(const FlipRecord& f) {
  return {{"id", f.id},
          {"pair", f.pair},
          {"action", f.action},
          {"source", f.source_site},
          {"replica", f.replica_site},
          {"requested", format_time_ms(f.requested_ms)},
          {"requested_by", f.requested_by},
          {"via", f.via},
          {"reason", f.reason},
          {"outcome", f.outcome},
          {"applied", f.applied_ms ? nlohmann::json(format_time_ms(*f.applied_ms)) : nlohmann::json()},
          {"message", f.message},
          {"items", f.items}};
}

bool failed_over(Database& db, const config::PairConfig& pair) {
  const auto last = last_applied_flip(db, pair.name);
  return last && last->source_site == pair.replica;
}

std::variant<FlipRecord, FlipRefused> check_flip(Database& db, const config::PairConfig& pair,
                                                 const FlipAsk& ask) {
  if (ask.action != "failover" && ask.action != "failback") {
    return FlipRefused{"unknown action '" + ask.action + "': failover or failback", false};
  }
  if (ask.reason.find_first_not_of(" \t\r\n") == std::string::npos) {
    return FlipRefused{"a reason is required: it goes into the audit trail", false};
  }
  if (ask.reason.size() > kMaxFlipReason) {
    return FlipRefused{"the reason is longer than " + std::to_string(kMaxFlipReason) + " bytes",
                       false};
  }
  for (const auto& f : pending_flips(db)) {
    if (f.pair == pair.name) {
      return FlipRefused{"flip " + std::to_string(f.id) + " of pair " + pair.name + " (" +
                             f.action + ") is still waiting for flowdriftd to apply it",
                         true};
    }
  }
  const bool over = failed_over(db, pair);
  const bool to_over = ask.action == "failover";
  if (over == to_over) {
    return FlipRefused{"pair " + pair.name + " is already " +
                           (over ? "failed over: " + pair.replica
                                 : "in its configured direction: " + pair.source) +
                           " is its source",
                       true};
  }
  FlipRecord f;
  f.pair = pair.name;
  f.action = ask.action;
  f.source_site = to_over ? pair.replica : pair.source;
  f.replica_site = to_over ? pair.source : pair.replica;
  f.requested_ms = ask.now_ms;
  f.requested_by = ask.requested_by;
  f.via = ask.via;
  f.reason = ask.reason;
  return f;
}

}  // namespace flowdrift::store
