#include "store/db.hpp"

#include <sqlite3.h>

#include <utility>

namespace flowdrift::store {

std::string sqlite_version() { return sqlite3_libversion(); }
namespace {

// Long SQL (migrations) would drown the message; the start identifies the statement.
std::string sql_excerpt(std::string_view sql) {
  constexpr std::size_t kMax = 200;
  std::string s(sql.substr(0, kMax));
  for (char& c : s) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  if (sql.size() > kMax) s += "...";
  return s;
}

std::string describe(sqlite3* db, int rc, std::string_view operation, std::string_view sql) {
  std::string msg(operation);
  msg += ": ";
  // sqlite3_errmsg describes the latest failing call on the connection; fall back to the
  // generic text for the code when the connection has no message (e.g. open failed).
  const char* detail = db ? sqlite3_errmsg(db) : nullptr;
  msg += detail && *detail ? detail : sqlite3_errstr(rc);
  msg += " (sqlite code " + std::to_string(rc) + ")";
  if (!sql.empty()) msg += " in: " + sql_excerpt(sql);
  return msg;
}

}  // namespace

// ---- Statement ----

Statement::Statement(sqlite3* db, std::string_view sql, bool persistent) : db_(db), sql_(sql) {
  const unsigned flags = persistent ? SQLITE_PREPARE_PERSISTENT : 0;
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql_.data(), static_cast<int>(sql_.size()), flags,
                                    &stmt_, &tail);
  if (rc != SQLITE_OK) {
    const int ext = sqlite3_extended_errcode(db_);
    throw StoreError(describe(db_, ext, "prepare", sql_), ext);
  }
  if (stmt_ == nullptr) throw StoreError("prepare: empty statement: " + sql_excerpt(sql_), 0);
  // A second statement after the first would be silently ignored; refuse it instead.
  if (tail) {
    std::string_view rest(tail);
    if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
      sqlite3_finalize(stmt_);
      stmt_ = nullptr;
      throw StoreError("prepare: more than one statement: " + sql_excerpt(sql_), 0);
    }
  }
}

Statement::~Statement() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), sql_(std::move(other.sql_)) {}

void Statement::fail(int rc, std::string_view operation) const {
  throw StoreError(describe(db_, rc, operation, sql_), rc);
}

Statement& Statement::bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) fail(rc, "bind " + std::to_string(index));
  return *this;
}

Statement& Statement::bind(int index, int value) {
  return bind(index, static_cast<std::int64_t>(value));
}

Statement& Statement::bind(int index, double value) {
  const int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK) fail(rc, "bind " + std::to_string(index));
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  const int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                                     SQLITE_UTF8);
  if (rc != SQLITE_OK) fail(rc, "bind " + std::to_string(index));
  return *this;
}

Statement& Statement::bind(int index, const std::string& value) {
  return bind(index, std::string_view(value));
}

Statement& Statement::bind(int index, const char* value) {
  if (value == nullptr) return bind(index, nullptr);
  return bind(index, std::string_view(value));
}

Statement& Statement::bind(int index, std::nullptr_t) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) fail(rc, "bind " + std::to_string(index));
  return *this;
}

Statement& Statement::bind(int index, const std::optional<std::int64_t>& value) {
  return value ? bind(index, *value) : bind(index, nullptr);
}

Statement& Statement::bind(int index, const std::optional<std::string>& value) {
  return value ? bind(index, std::string_view(*value)) : bind(index, nullptr);
}

int Statement::parameter_index(const char* name) const {
  const int idx = sqlite3_bind_parameter_index(stmt_, name);
  if (idx == 0) {
    throw StoreError(std::string("no parameter ") + name + " in: " + sql_excerpt(sql_), 0);
  }
  return idx;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    sqlite3_reset(stmt_);
    return false;
  }
  // With prepare_v3 the step code is already the extended one; reset so the statement does
  // not hold its lock while the exception unwinds.
  const std::string msg = describe(db_, rc, "step", sql_);
  sqlite3_reset(stmt_);
  throw StoreError(msg, rc);
}

void Statement::exec() {
  while (step()) {
  }
}

std::optional<std::int64_t> Statement::query_int64() {
  std::optional<std::int64_t> out;
  if (step()) {
    out = column_optional_int64(0);
    reset();
  }
  return out;
}

std::optional<std::string> Statement::query_text() {
  std::optional<std::string> out;
  if (step()) {
    if (!column_is_null(0)) out = column_text(0);
    reset();
  }
  return out;
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int Statement::column_count() const { return sqlite3_column_count(stmt_); }

bool Statement::column_is_null(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

std::int64_t Statement::column_int64(int col) const { return sqlite3_column_int64(stmt_, col); }

int Statement::column_int(int col) const { return sqlite3_column_int(stmt_, col); }

double Statement::column_double(int col) const { return sqlite3_column_double(stmt_, col); }

std::string Statement::column_text(int col) const {
  // Fetch the pointer before the length, as the SQLite documentation requires.
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (p == nullptr) return {};
  return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::optional<std::int64_t> Statement::column_optional_int64(int col) const {
  if (column_is_null(col)) return std::nullopt;
  return column_int64(col);
}

// ---- Database ----

Database::Database(const std::string& path, Mode mode) : path_(path) {
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;  // one connection, one thread
  switch (mode) {
    case Mode::ReadWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE; break;
    case Mode::ReadWrite: flags |= SQLITE_OPEN_READWRITE; break;
    case Mode::ReadOnly: flags |= SQLITE_OPEN_READONLY; break;
  }
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const int ext = db_ ? sqlite3_extended_errcode(db_) : rc;
    std::string msg = describe(db_, ext, "open " + path, {});
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw StoreError(msg, ext);
  }
  sqlite3_extended_result_codes(db_, 1);
}

Database::~Database() {
  cache_.clear();  // statements must be finalized before the connection closes
  if (db_) sqlite3_close_v2(db_);
}

void Database::exec(std::string_view sql) {
  const std::string text(sql);
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = "exec: ";
    msg += err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    const int ext = sqlite3_extended_errcode(db_);
    msg += " (sqlite code " + std::to_string(ext) + ") in: " + sql_excerpt(sql);
    throw StoreError(msg, ext);
  }
}

Statement Database::prepare(std::string_view sql) { return Statement(db_, sql); }

Statement& Database::cached(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    auto stmt = std::make_unique<Statement>(db_, sql, true);
    it = cache_.emplace(std::string(sql), std::move(stmt)).first;
  } else {
    it->second->reset();
  }
  return *it->second;
}

std::optional<std::int64_t> Database::query_int64(std::string_view sql) {
  Statement st(db_, sql);
  return st.query_int64();
}

std::optional<std::string> Database::query_text(std::string_view sql) {
  Statement st(db_, sql);
  return st.query_text();
}

std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

int Database::changes() const { return sqlite3_changes(db_); }

bool Database::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

bool Database::has_table(const std::string& name) {
  auto& st = cached("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1");
  st.bind(1, name);
  return st.query_int64().value_or(0) > 0;
}

void Database::set_busy_timeout(int ms) {
  const int rc = sqlite3_busy_timeout(db_, ms);
  if (rc != SQLITE_OK) throw StoreError(describe(db_, rc, "busy_timeout", {}), rc);
}

std::string Database::error_message() const { return db_ ? sqlite3_errmsg(db_) : "no connection"; }

// ---- Transaction ----

Transaction::Transaction(Database& db, Kind kind) : db_(db) {
  db_.exec(kind == Kind::Immediate ? "BEGIN IMMEDIATE" : "BEGIN");
}

Transaction::~Transaction() {
  if (done_) return;
  // A failed statement may already have rolled the transaction back (e.g. SQLITE_FULL);
  // ROLLBACK would then fail with "no transaction is active", which is harmless.
  if (db_.in_transaction()) {
    sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace flowdrift::store
