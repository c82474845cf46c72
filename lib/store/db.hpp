// Thin RAII wrapper over the sqlite3 C API, shaped like SQLiteCpp: Database (one connection,
// cached prepared statements), Statement (bind/step/column), Transaction (rolls back unless
// committed). Every SQLite failure throws StoreError with the extended result code and the SQL.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace flowdrift::store {

// What every store function throws on a database failure.
class StoreError : public std::runtime_error {
 public:
  StoreError(const std::string& what, int sqlite_code)
      : std::runtime_error(what), code_(sqlite_code) {}
  int code() const { return code_; }  // extended SQLite result code, 0 if not from SQLite

 private:
  int code_;
};

class Statement {
 public:
  // Prepares `sql` (one statement). `persistent` hints SQLite that it will be reused often.
  Statement(sqlite3* db, std::string_view sql, bool persistent = false);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite. Text is copied (SQLITE_TRANSIENT).
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value);
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const std::string& value);
  Statement& bind(int index, const char* value);  // else a literal would bind as bool→int
  Statement& bind(int index, std::nullptr_t);      // NULL
  Statement& bind(int index, const std::optional<std::int64_t>& value);
  Statement& bind(int index, const std::optional<std::string>& value);
  // Index of a named parameter (":name"); throws if the statement has no such parameter.
  int parameter_index(const char* name) const;

  // Advances to the next row: true if a row is available, false when done. When done or on
  // error the statement is reset (bindings kept), so it releases its read lock at once.
  bool step();
  // Steps to completion, ignoring any rows (INSERT/UPDATE/DELETE/DDL); then resets.
  void exec();
  // Runs a query and returns column 0 of the first row (nullopt if no row or NULL); resets.
  std::optional<std::int64_t> query_int64();
  std::optional<std::string> query_text();
  // Resets the statement and clears its bindings, for reuse.
  void reset();

  int column_count() const;
  bool column_is_null(int col) const;  // columns are 0-based, as in SQLite
  std::int64_t column_int64(int col) const;
  int column_int(int col) const;
  double column_double(int col) const;
  std::string column_text(int col) const;  // "" for NULL
  std::optional<std::int64_t> column_optional_int64(int col) const;

  const std::string& sql() const { return sql_; }
  sqlite3_stmt* handle() const { return stmt_; }

 private:
  [[noreturn]] void fail(int rc, std::string_view operation) const;

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

// The SQLite library in use (sqlite3_libversion(), "3.40.1"), which may differ from the headers
// it was built with.
std::string sqlite_version();

class Database {
 public:
  enum class Mode { ReadWriteCreate, ReadWrite, ReadOnly };

  // Opens the connection only: no pragma is set, nothing is read or written. ":memory:" and
  // "file:" URIs (e.g. "file:/x.db?immutable=1") work.
  explicit Database(const std::string& path, Mode mode = Mode::ReadWriteCreate);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements with no parameters and no result rows of interest.
  void exec(std::string_view sql);
  // A fresh prepared statement, owned by the caller.
  Statement prepare(std::string_view sql);
  // A prepared statement kept for the life of the connection, keyed by its SQL text; returned
  // reset with no bindings. Do not use the same SQL twice in a nested way (one instance).
  Statement& cached(std::string_view sql);
  // Column 0 of the first row of a parameterless query (PRAGMAs etc.).
  std::optional<std::int64_t> query_int64(std::string_view sql);
  std::optional<std::string> query_text(std::string_view sql);

  std::int64_t last_insert_rowid() const;
  int changes() const;                 // rows changed by the last INSERT/UPDATE/DELETE
  bool in_transaction() const;         // false in autocommit mode
  // Whether the schema has table `name` (a database opened read-only may predate it).
  bool has_table(const std::string& name);
  void set_busy_timeout(int ms);
  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

  // Message for the current error state of the connection (for StoreError texts).
  std::string error_message() const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  // Transparent hash: a lookup by string_view does not allocate (quiet polls use the cache).
  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::unique_ptr<Statement>, SqlHash, std::equal_to<>> cache_;
};

// BEGIN on construction; ROLLBACK in the destructor unless commit() succeeded. Not nestable.
class Transaction {
 public:
  enum class Kind { Deferred, Immediate };  // Immediate takes the write lock up front

  explicit Transaction(Database& db, Kind kind = Kind::Immediate);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace flowdrift::store
