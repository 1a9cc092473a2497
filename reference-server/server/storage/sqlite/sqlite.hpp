// Thin RAII over the SQLite C API: a connection, prepared statements, and a transaction
// guard that rolls back unless committed. Errors become mds::Error with the code that
// fits (AlreadyExists for a unique-key clash, DiskFull, StorageCorrupt, StorageFailure).
#ifndef MDS_SERVER_STORAGE_SQLITE_SQLITE_HPP
#define MDS_SERVER_STORAGE_SQLITE_SQLITE_HPP

#include <mds/error.hpp>

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mds::server::sqlite {

Error error_from(sqlite3 *db, int result_code, std::string_view doing);

class Connection {
public:
  static Result<Connection> open(const std::filesystem::path &file);

  sqlite3 *get() const { return db_.get(); }
  Status exec(const char *sql);

private:
  struct Closer {
    void operator()(sqlite3 *db) const { sqlite3_close_v2(db); }
  };
  explicit Connection(sqlite3 *db) : db_(db) {}
  std::unique_ptr<sqlite3, Closer> db_;
};

class Statement {
public:
  static Result<Statement> prepare(const Connection &connection, std::string_view sql);

  Statement &bind(int index, std::int64_t value);
  Statement &bind(int index, std::string_view value);
  Statement &bind_null(int index);
  // NULL for nullopt.
  Statement &bind_optional(int index, const std::optional<std::string> &value);
  Statement &bind_optional(int index, const std::optional<std::int64_t> &value);

  // True while a row is ready; false when done.
  Result<bool> step();
  // Runs a statement that returns no rows.
  Status run();
  void reset();

  std::int64_t integer(int column) const;
  std::string text(int column) const;
  // The column's bytes in place: valid until the next step() or reset().
  std::string_view text_view(int column) const;
  std::optional<std::string> optional_text(int column) const;
  std::optional<std::int64_t> optional_integer(int column) const;

private:
  struct Finalizer {
    void operator()(sqlite3_stmt *statement) const { sqlite3_finalize(statement); }
  };
  Statement(sqlite3 *db, sqlite3_stmt *statement) : db_(db), statement_(statement) {}
  sqlite3 *db_;
  std::unique_ptr<sqlite3_stmt, Finalizer> statement_;
};

// BEGIN IMMEDIATE: takes the write lock up front, so a transaction never fails halfway
// with SQLITE_BUSY after it has read what it means to change.
class Transaction {
public:
  static Result<Transaction> begin(Connection &connection);
  Transaction(Transaction &&other) noexcept : connection_(other.connection_) { other.connection_ = nullptr; }
  Transaction &operator=(Transaction &&) = delete;
  Transaction(const Transaction &) = delete;
  ~Transaction();

  Status commit();

private:
  explicit Transaction(Connection &connection) : connection_(&connection) {}
  Connection *connection_;
};

} // namespace mds::server::sqlite

#endif
