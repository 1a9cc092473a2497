#include "server/storage/sqlite/sqlite.hpp"

namespace mds::server::sqlite {

Error error_from(sqlite3 *db, int result_code, std::string_view doing) {
  std::string message(doing);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(result_code);
  switch (result_code & 0xff) {
  case SQLITE_FULL:
    return make_error(ErrorCode::DiskFull, std::move(message));
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return make_error(ErrorCode::StorageCorrupt, std::move(message));
  case SQLITE_CONSTRAINT:
    if (result_code == SQLITE_CONSTRAINT_UNIQUE || result_code == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return make_error(ErrorCode::AlreadyExists, std::move(message));
    }
    return make_error(ErrorCode::Conflict, std::move(message));
  case SQLITE_IOERR:
  case SQLITE_CANTOPEN:
    return make_error(ErrorCode::IoError, std::move(message));
  default:
    return make_error(ErrorCode::StorageFailure, std::move(message));
  }
}

Result<Connection> Connection::open(const std::filesystem::path &file) {
  sqlite3 *raw = nullptr;
  const int opened =
      sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Connection connection(raw);
  if (opened != SQLITE_OK) {
    return error_from(raw, opened, "cannot open " + file.string());
  }
  sqlite3_extended_result_codes(raw, 1);
  return connection;
}

Status Connection::exec(const char *sql) {
  char *message = nullptr;
  const int result = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &message);
  if (result != SQLITE_OK) {
    std::string text = message != nullptr ? message : sqlite3_errstr(result);
    sqlite3_free(message);
    auto error = error_from(nullptr, result, "sql");
    error.message = "sql: " + text;
    return error;
  }
  return {};
}

Result<Statement> Statement::prepare(const Connection &connection, std::string_view sql) {
  sqlite3_stmt *raw = nullptr;
  const int result = sqlite3_prepare_v2(connection.get(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  if (result != SQLITE_OK) {
    sqlite3_finalize(raw);
    return error_from(connection.get(), result, "prepare");
  }
  return Statement(connection.get(), raw);
}

Statement &Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(statement_.get(), index, value);
  return *this;
}

Statement &Statement::bind(int index, std::string_view value) {
  sqlite3_bind_text(statement_.get(), index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement &Statement::bind_null(int index) {
  sqlite3_bind_null(statement_.get(), index);
  return *this;
}

Statement &Statement::bind_optional(int index, const std::optional<std::string> &value) {
  return value ? bind(index, std::string_view(*value)) : bind_null(index);
}

Statement &Statement::bind_optional(int index, const std::optional<std::int64_t> &value) {
  return value ? bind(index, *value) : bind_null(index);
}

Result<bool> Statement::step() {
  const int result = sqlite3_step(statement_.get());
  if (result == SQLITE_ROW) {
    return true;
  }
  if (result == SQLITE_DONE) {
    return false;
  }
  return error_from(db_, sqlite3_extended_errcode(db_), "step");
}

Status Statement::run() {
  auto stepped = step();
  if (!stepped) {
    return stepped.error();
  }
  return {};
}

void Statement::reset() {
  sqlite3_reset(statement_.get());
  sqlite3_clear_bindings(statement_.get());
}

std::int64_t Statement::integer(int column) const {
  return sqlite3_column_int64(statement_.get(), column);
}

std::string Statement::text(int column) const {
  const auto *bytes = sqlite3_column_text(statement_.get(), column);
  const auto size = sqlite3_column_bytes(statement_.get(), column);
  return bytes != nullptr ? std::string(reinterpret_cast<const char *>(bytes), static_cast<std::size_t>(size))
                          : std::string();
}

std::string_view Statement::text_view(int column) const {
  const auto *bytes = sqlite3_column_text(statement_.get(), column);
  const auto size = sqlite3_column_bytes(statement_.get(), column);
  return bytes != nullptr ? std::string_view(reinterpret_cast<const char *>(bytes), static_cast<std::size_t>(size))
                          : std::string_view();
}

std::optional<std::string> Statement::optional_text(int column) const {
  if (sqlite3_column_type(statement_.get(), column) == SQLITE_NULL) {
    return std::nullopt;
  }
  return text(column);
}

std::optional<std::int64_t> Statement::optional_integer(int column) const {
  if (sqlite3_column_type(statement_.get(), column) == SQLITE_NULL) {
    return std::nullopt;
  }
  return integer(column);
}

Result<Transaction> Transaction::begin(Connection &connection) {
  if (auto started = connection.exec("BEGIN IMMEDIATE"); !started) {
    return started.error();
  }
  return Transaction(connection);
}

Transaction::~Transaction() {
  if (connection_ != nullptr) {
    (void)connection_->exec("ROLLBACK");
  }
}

Status Transaction::commit() {
  auto committed = connection_->exec("COMMIT");
  if (committed) {
    connection_ = nullptr;
  }
  return committed;
}

} // namespace mds::server::sqlite
