#include "state/store.hpp"

#include "core/json/json.hpp"
#include "core/version/version.hpp"
#include "io/file_io.hpp"

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <system_error>
#include <utility>

namespace mds::state {
namespace {

constexpr std::uint64_t kSideFileMaxBytes = 1u << 20;

// Migration i takes the schema from version i to version i + 1. Append only.
constexpr const char *kMigrations[] = {
    // 0 -> 1
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE packages(kind TEXT NOT NULL, package TEXT NOT NULL, installed TEXT, floor TEXT,"
    "  PRIMARY KEY(kind, package));"
    "CREATE TABLE config(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE events(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, body TEXT NOT NULL);"
    "CREATE TABLE upgrade_prompts(version TEXT PRIMARY KEY, last_prompt INTEGER NOT NULL, count INTEGER NOT NULL);"
    "CREATE TABLE downloads(key TEXT PRIMARY KEY, url TEXT NOT NULL, etag TEXT NOT NULL, size INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL);",
    // 1 -> 2: installed package versions with their signed envelopes, and the version
    // kept for going back
    "CREATE TABLE package_versions(kind TEXT NOT NULL, package TEXT NOT NULL, version TEXT NOT NULL,"
    "  envelope TEXT NOT NULL, PRIMARY KEY(kind, package, version));"
    "ALTER TABLE packages ADD COLUMN previous TEXT;",
    // 2 -> 3: offers refused for a reason retrying cannot change, so they are neither
    // downloaded nor reported again
    "CREATE TABLE refused_offers(seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, package TEXT NOT NULL,"
    "  version TEXT NOT NULL, digest TEXT NOT NULL, code INTEGER NOT NULL, message TEXT NOT NULL,"
    "  UNIQUE(kind, package, version, digest));",
    // 3 -> 4: the hotpatch lifecycle: the staged, active and fallback (last confirmed)
    // patches, and the active one's unconfirmed launches
    "CREATE TABLE hotpatch(role TEXT PRIMARY KEY CHECK (role IN ('staged', 'active', 'fallback')),"
    "  release TEXT NOT NULL, package TEXT NOT NULL, version TEXT NOT NULL, confirmed INTEGER NOT NULL DEFAULT 0,"
    "  launches INTEGER NOT NULL DEFAULT 0);",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion, "one migration per schema version");

ErrorCode code_of(int sqlite_code) {
  switch (sqlite_code & 0xff) {
  case SQLITE_FULL:
    return ErrorCode::DiskFull;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return ErrorCode::StorageCorrupt;
  case SQLITE_IOERR:
  case SQLITE_CANTOPEN:
  case SQLITE_READONLY:
  case SQLITE_PERM:
    return ErrorCode::IoError;
  default:
    return ErrorCode::StorageFailure;
  }
}

Error sqlite_error(sqlite3 *db, int code, const std::string &what) {
  std::string message = what + ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  return make_error(code_of(code), std::move(message));
}

// One prepared statement; binds by position from 1.
class Statement {
public:
  Statement(sqlite3 *db, const char *sql) : db_(db) {
    code_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
    sql_ = sql;
  }
  Statement(const Statement &) = delete;
  Statement &operator=(const Statement &) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  bool ok() const { return code_ == SQLITE_OK; }
  Error error() const { return sqlite_error(db_, code_, std::string("prepare ") + sql_); }

  void bind(int index, const std::string &text) {
    if (ok()) {
      code_ = sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    }
  }
  void bind(int index, std::int64_t number) {
    if (ok()) {
      code_ = sqlite3_bind_int64(stmt_, index, number);
    }
  }

  // SQLITE_ROW, SQLITE_DONE, or an error as a Result.
  Result<bool> step() {
    if (!ok()) {
      return error();
    }
    const int code = sqlite3_step(stmt_);
    if (code == SQLITE_ROW) {
      return true;
    }
    if (code == SQLITE_DONE) {
      return false;
    }
    return sqlite_error(db_, code, std::string("step ") + sql_);
  }
  Status run() {
    auto stepped = step();
    if (!stepped) {
      return std::move(stepped).error();
    }
    return {};
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  std::string text(int column) const {
    const auto *data = reinterpret_cast<const char *>(sqlite3_column_text(stmt_, column));
    const int size = sqlite3_column_bytes(stmt_, column);
    return data == nullptr ? std::string() : std::string(data, static_cast<std::size_t>(size));
  }
  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }

private:
  sqlite3 *db_;
  sqlite3_stmt *stmt_ = nullptr;
  int code_;
  const char *sql_;
};

Status exec(sqlite3 *db, const char *sql) {
  char *message = nullptr;
  const int code = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  if (code != SQLITE_OK) {
    std::string text = std::string(sql).substr(0, 60) + ": " + (message != nullptr ? message : sqlite3_errstr(code));
    sqlite3_free(message);
    return make_error(code_of(code), std::move(text));
  }
  return {};
}

// BEGIN IMMEDIATE .. COMMIT; rolls back unless committed.
class Transaction {
public:
  explicit Transaction(sqlite3 *db) : db_(db) { status_ = exec(db, "BEGIN IMMEDIATE"); }
  Transaction(const Transaction &) = delete;
  Transaction &operator=(const Transaction &) = delete;
  ~Transaction() {
    if (status_.ok() && !done_) {
      (void)exec(db_, "ROLLBACK");
    }
  }
  const Status &begun() const { return status_; }
  Status commit() {
    done_ = true;
    return exec(db_, "COMMIT");
  }

private:
  sqlite3 *db_;
  Status status_;
  bool done_ = false;
};

struct SideFile {
  std::string device_id;
  std::map<std::string, std::string> floors; // "kind/package" -> version
};

std::string floor_key(const std::string &kind, const std::string &package) {
  return kind + "/" + package;
}

// A missing side file is empty; an unreadable one is reported so the caller can say so.
Result<SideFile> read_side_file(const std::filesystem::path &path) {
  SideFile side;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return side;
  }
  auto bytes = io::read_file(path, kSideFileMaxBytes);
  if (!bytes) {
    return std::move(bytes).error();
  }
  auto doc = core::json::parse(*bytes);
  if (!doc) {
    return std::move(doc).error();
  }
  auto reader = core::json::ObjectReader::of(doc->root(), "floors.json");
  if (!reader) {
    return std::move(reader).error();
  }
  auto id = reader->optional_string("device_id");
  if (!id) {
    return std::move(id).error();
  }
  side.device_id = id->value_or("");
  auto floors = reader->object("floors");
  if (!floors) {
    return std::move(floors).error();
  }
  for (const auto &member : (*floors)->GetObject()) {
    if (!member.value.IsString()) {
      return make_error(ErrorCode::JsonWrongType, "floors.json: floors values must be strings");
    }
    side.floors[std::string(core::json::view(member.name))] = std::string(core::json::view(member.value));
  }
  return side;
}

std::string side_file_text(const std::string &device_id, const std::map<std::string, std::string> &floors) {
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartObject();
  writer.Key("format");
  writer.Int(1);
  writer.Key("device_id");
  writer.String(device_id);
  writer.Key("floors");
  writer.StartObject();
  for (const auto &[key, version] : floors) {
    writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    writer.String(version);
  }
  writer.EndObject();
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

Result<core::Version> parse_version(const std::string &text) {
  return core::Version::parse(text);
}

// Is `a` strictly lower than `b`? Unparseable floors compare as not lower: they are
// never written by this code, and an error is better raised where versions are accepted.
bool version_lower(const std::string &a, const std::string &b) {
  auto va = parse_version(a);
  auto vb = parse_version(b);
  return va && vb && core::compare(*va, *vb) < 0;
}

void close_db(sqlite3 *db) {
  sqlite3_close_v2(db);
}

// Opens and checks the database. Corruption comes back as StorageCorrupt, so the caller
// rebuilds; anything else as its own code.
Result<sqlite3 *> open_checked(const std::filesystem::path &path) {
  sqlite3 *db = nullptr;
  const int code =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (code != SQLITE_OK) {
    Error error = sqlite_error(db, code, "open " + path.string());
    close_db(db);
    return error;
  }
  auto fail = [&](Error error) -> Result<sqlite3 *> {
    close_db(db);
    return error;
  };
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 2000);
  if (auto status = exec(db, "PRAGMA journal_mode=WAL"); !status) {
    return fail(std::move(status).error());
  }
  if (auto status = exec(db, "PRAGMA synchronous=FULL"); !status) {
    return fail(std::move(status).error());
  }
#ifdef __APPLE__
  // fsync stops at the drive's cache there; F_FULLFSYNC, as io::sync_file uses, does not.
  if (auto status = exec(db, "PRAGMA fullfsync=ON"); !status) {
    return fail(std::move(status).error());
  }
#endif
  {
    Statement check(db, "PRAGMA quick_check");
    std::string verdict;
    while (true) {
      auto row = check.step();
      if (!row) {
        return fail(row.error());
      }
      if (!*row) {
        break;
      }
      if (!verdict.empty()) {
        verdict += "; ";
      }
      verdict += check.text(0);
    }
    if (verdict != "ok") {
      return fail(make_error(ErrorCode::StorageCorrupt, "quick_check: " + verdict.substr(0, 200)));
    }
  }
  if (auto status = exec(db, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)"); !status) {
    return fail(std::move(status).error());
  }
  std::int64_t version = 0;
  {
    Statement read(db, "SELECT version FROM schema_version");
    auto row = read.step();
    if (!row) {
      return fail(row.error());
    }
    if (*row) {
      version = read.integer(0);
    }
  }
  if (version < 0 || version > kSchemaVersion) {
    return fail(make_error(ErrorCode::StorageCorrupt,
                           "schema version " + std::to_string(version) + " is not one this SDK knows"));
  }
  while (version < kSchemaVersion) {
    Transaction transaction(db);
    if (!transaction.begun()) {
      return fail(transaction.begun().error());
    }
    if (auto status = exec(db, kMigrations[version]); !status) {
      return fail(std::move(status).error());
    }
    ++version;
    Statement clear(db, "DELETE FROM schema_version");
    Statement write(db, "INSERT INTO schema_version(version) VALUES(?)");
    write.bind(1, version);
    if (auto status = clear.run(); !status) {
      return fail(std::move(status).error());
    }
    if (auto status = write.run(); !status) {
      return fail(std::move(status).error());
    }
    if (auto status = transaction.commit(); !status) {
      return fail(std::move(status).error());
    }
  }
  return db;
}

void remove_database_files(const std::filesystem::path &path) {
  for (const char *suffix : {"", "-wal", "-shm", "-journal"}) {
    std::error_code ignored;
    std::filesystem::remove(path.string() + suffix, ignored);
  }
}

} // namespace

Store::Store(std::filesystem::path directory, int lock_fd, sqlite3 *db)
    : directory_(std::move(directory)), lock_fd_(lock_fd), db_(db) {}

Store::~Store() {
  close_db(db_);
  ::close(lock_fd_); // releases the flock
}

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path &directory, OpenReport *report) {
  OpenReport local;
  OpenReport &out = report != nullptr ? *report : local;
  out = OpenReport{};
  if (directory.empty()) {
    return make_error(ErrorCode::InvalidArgument, "state directory is empty");
  }
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) {
    return io::error_from_errno(ec.value(), "create directory", directory);
  }

  const auto lock_path = directory / "mds.lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (lock_fd < 0) {
    return io::error_from_errno(errno, "open", lock_path);
  }
  // flock, not fcntl: an flock belongs to the open file, so a second Client in the same
  // process is refused too, and it is not dropped when any other descriptor of the file
  // closes.
  int locked;
  do {
    locked = ::flock(lock_fd, LOCK_EX | LOCK_NB);
  } while (locked != 0 && errno == EINTR);
  if (locked != 0) {
    const int error_number = errno;
    ::close(lock_fd);
    if (error_number == EWOULDBLOCK) {
      return make_error(ErrorCode::Locked, "state directory " + directory.string() +
                                               " is in use by another client (lock " + lock_path.string() + ")");
    }
    return io::error_from_errno(error_number, "flock", lock_path);
  }

  auto side = read_side_file(directory / kSideFileName);
  if (!side) {
    // Written atomically, so this is outside damage; the database's floors still hold.
    out.rebuild_reason = "side file unreadable: " + describe(side.error());
    side = SideFile{};
  }

  const auto db_path = directory / "mds.db";
  out.created = !std::filesystem::exists(db_path, ec);
  auto db = open_checked(db_path);
  if (!db && db.code() == ErrorCode::StorageCorrupt) {
    out.rebuilt = true;
    out.rebuild_reason = describe(db.error());
    remove_database_files(db_path);
    db = open_checked(db_path);
  }
  if (!db) {
    ::close(lock_fd);
    return std::move(db).error();
  }

  std::unique_ptr<Store> store(new Store(directory, lock_fd, *db));
  store->side_device_id_ = side->device_id;
  // Merge: the higher floor of database and side file wins, in both places.
  {
    Statement rows(store->db_, "SELECT kind, package, floor FROM packages WHERE floor IS NOT NULL");
    std::map<std::string, std::string> merged = side->floors;
    while (true) {
      auto row = rows.step();
      if (!row) {
        return std::move(row).error();
      }
      if (!*row) {
        break;
      }
      const auto key = floor_key(rows.text(0), rows.text(1));
      auto found = merged.find(key);
      if (found == merged.end() || version_lower(found->second, rows.text(2))) {
        merged[key] = rows.text(2);
      }
    }
    store->side_floors_ = merged;
  }
  if (store->side_floors_ != side->floors) {
    // The database knew higher floors than the side file: bring the file up.
    std::lock_guard<std::mutex> lock(store->mutex_);
    if (auto written = store->write_side_file_locked(); !written) {
      return std::move(written).error();
    }
  }
  const auto merged = store->side_floors_;
  for (const auto &[key, version] : merged) {
    const auto slash = key.find('/');
    auto raised = slash == std::string::npos
                      ? Status(make_error(ErrorCode::VersionInvalid, "no kind in \"" + key + "\""))
                      : store->raise_floor(key.substr(0, slash), key.substr(slash + 1), version);
    if (!raised && raised.code() == ErrorCode::VersionInvalid) {
      // Never written by this code: outside damage. Dropped rather than refusing to start;
      // a valid floor of the same package in the database still holds.
      store->side_floors_.erase(key);
      out.rebuild_reason += (out.rebuild_reason.empty() ? "" : "; ") + std::string("side file floor dropped: ") +
                            describe(raised.error());
    } else if (!raised) {
      return std::move(raised).error();
    }
  }
  return store;
}

Status Store::write_side_file_locked() {
  return io::write_file_atomically(directory_ / kSideFileName, side_file_text(side_device_id_, side_floors_), 0600);
}

Result<std::optional<std::string>> Store::meta(const std::string &key) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement read(db_, "SELECT value FROM meta WHERE key = ?");
  read.bind(1, key);
  auto row = read.step();
  if (!row) {
    return std::move(row).error();
  }
  if (!*row) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(read.text(0));
}

Status Store::set_meta(const std::string &key, const std::string &value) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement write(db_,
                  "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  write.bind(1, key);
  write.bind(2, value);
  return write.run();
}

Status Store::set_metas(const std::vector<std::pair<std::string, std::string>> &pairs) {
  std::lock_guard<std::mutex> lock(mutex_);
  Transaction transaction(db_);
  if (!transaction.begun()) {
    return transaction.begun();
  }
  Statement write(db_,
                  "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  for (const auto &[key, value] : pairs) {
    write.bind(1, key);
    write.bind(2, value);
    if (auto status = write.run(); !status) {
      return status;
    }
    write.reset();
  }
  return transaction.commit();
}

Result<std::string> Store::device_id(const std::string &generated) {
  auto kept = meta("device_id");
  if (!kept) {
    return std::move(kept).error();
  }
  if (kept->has_value() && !(*kept)->empty()) {
    return **kept;
  }
  std::string id;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    id = side_device_id_.empty() ? generated : side_device_id_;
    side_device_id_ = id;
    if (auto written = write_side_file_locked(); !written) {
      return std::move(written).error();
    }
  }
  if (auto stored = set_meta("device_id", id); !stored) {
    return std::move(stored).error();
  }
  return id;
}

Result<std::optional<std::string>> Store::floor(const std::string &kind, const std::string &package) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement read(db_, "SELECT floor FROM packages WHERE kind = ? AND package = ?");
  read.bind(1, kind);
  read.bind(2, package);
  auto row = read.step();
  if (!row) {
    return std::move(row).error();
  }
  if (!*row || read.is_null(0)) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(read.text(0));
}

namespace {

// Inside a transaction: refuses a lower version, writes the side file first (see the
// header), then the row.
Status raise_floor_in(sqlite3 *db, const std::string &kind, const std::string &package, const std::string &version,
                      std::map<std::string, std::string> &side_floors, const std::function<Status()> &write_side) {
  auto parsed = parse_version(version);
  if (!parsed) {
    return std::move(parsed).error();
  }
  Statement read(db, "SELECT floor FROM packages WHERE kind = ? AND package = ?");
  read.bind(1, kind);
  read.bind(2, package);
  auto row = read.step();
  if (!row) {
    return std::move(row).error();
  }
  if (*row && !read.is_null(0) && version_lower(version, read.text(0))) {
    return make_error(ErrorCode::VersionRollback,
                      kind + " " + package + ": version " + version + " is below the highest accepted " + read.text(0));
  }
  const auto key = floor_key(kind, package);
  auto side = side_floors.find(key);
  if (side != side_floors.end() && version_lower(version, side->second)) {
    return make_error(ErrorCode::VersionRollback,
                      kind + " " + package + ": version " + version + " is below the highest accepted " + side->second);
  }
  if (side == side_floors.end() || side->second != version) {
    const auto previous = side == side_floors.end() ? std::optional<std::string>() : side->second;
    side_floors[key] = version;
    if (auto written = write_side(); !written) {
      if (previous) {
        side_floors[key] = *previous;
      } else {
        side_floors.erase(key);
      }
      return written;
    }
  }
  Statement write(db, "INSERT INTO packages(kind, package, floor) VALUES(?, ?, ?)"
                      " ON CONFLICT(kind, package) DO UPDATE SET floor = excluded.floor");
  write.bind(1, kind);
  write.bind(2, package);
  write.bind(3, version);
  return write.run();
}

} // namespace

Status Store::raise_floor(const std::string &kind, const std::string &package, const std::string &version) {
  std::lock_guard<std::mutex> lock(mutex_);
  Transaction transaction(db_);
  if (!transaction.begun()) {
    return transaction.begun();
  }
  if (auto raised =
          raise_floor_in(db_, kind, package, version, side_floors_, [this] { return write_side_file_locked(); });
      !raised) {
    return raised;
  }
  return transaction.commit();
}

Status Store::set_installed(const std::string &kind, const std::string &package, const std::string &version) {
  std::lock_guard<std::mutex> lock(mutex_);
  Transaction transaction(db_);
  if (!transaction.begun()) {
    return transaction.begun();
  }
  if (auto raised =
          raise_floor_in(db_, kind, package, version, side_floors_, [this] { return write_side_file_locked(); });
      !raised) {
    return raised;
  }
  Statement write(db_, "UPDATE packages SET installed = ? WHERE kind = ? AND package = ?");
  write.bind(1, version);
  write.bind(2, kind);
  write.bind(3, package);
  if (auto status = write.run(); !status) {
    return status;
  }
  return transaction.commit();
}

Result<std::map<std::string, std::string>> Store::installed(const std::string &kind) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement read(db_, "SELECT package, installed FROM packages WHERE kind = ? AND installed IS NOT NULL");
  read.bind(1, kind);
  std::map<std::string, std::string> out;
  while (true) {
    auto row = read.step();
    if (!row) {
      return std::move(row).error();
    }
    if (!*row) {
      return out;
    }
    out[read.text(0)] = read.text(1);
  }
}

Result<ConfigSnapshot> Store::load_config() {
  std::lock_guard<std::mutex> lock(mutex_);
  ConfigSnapshot config;
  {
    Statement read(db_, "SELECT value FROM meta WHERE key = 'config_revision'");
    auto row = read.step();
    if (!row) {
      return std::move(row).error();
    }
    if (*row) {
      config.revision = std::strtoll(read.text(0).c_str(), nullptr, 10);
    }
  }
  Statement read(db_, "SELECT key, value FROM config");
  while (true) {
    auto row = read.step();
    if (!row) {
      return std::move(row).error();
    }
    if (!*row) {
      return config;
    }
    config.values[read.text(0)] = read.text(1);
  }
}

Status Store::replace_config(const ConfigSnapshot &config) {
  std::lock_guard<std::mutex> lock(mutex_);
  Transaction transaction(db_);
  if (!transaction.begun()) {
    return transaction.begun();
  }
  if (auto status = exec(db_, "DELETE FROM config"); !status) {
    return status;
  }
  Statement insert(db_, "INSERT INTO config(key, value) VALUES(?, ?)");
  for (const auto &[key, value] : config.values) {
    insert.bind(1, key);
    insert.bind(2, value);
    if (auto status = insert.run(); !status) {
      return status;
    }
    insert.reset();
  }
  Statement revision(db_, "INSERT INTO meta(key, value) VALUES('config_revision', ?)"
                          " ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  revision.bind(1, std::to_string(config.revision));
  if (auto status = revision.run(); !status) {
    return status;
  }
  return transaction.commit();
}

namespace {

// Inside a transaction: appends the event and drops the oldest beyond `capacity`.
Status enqueue_in(sqlite3 *db, const QueuedEvent &event, std::uint32_t capacity) {
  if (capacity == 0) {
    return make_error(ErrorCode::InvalidArgument, "event queue capacity is 0");
  }
  Statement insert(db, "INSERT OR IGNORE INTO events(id, body) VALUES(?, ?)");
  insert.bind(1, event.id);
  insert.bind(2, event.json);
  if (auto status = insert.run(); !status) {
    return status;
  }
  Statement count(db, "SELECT COUNT(*) FROM events");
  auto row = count.step();
  if (!row) {
    return std::move(row).error();
  }
  const std::int64_t excess = count.integer(0) - static_cast<std::int64_t>(capacity);
  if (excess > 0) {
    Statement drop(db, "DELETE FROM events WHERE seq IN (SELECT seq FROM events ORDER BY seq LIMIT ?)");
    drop.bind(1, excess);
    if (auto status = drop.run(); !status) {
      return status;
    }
    Statement counter(db, "INSERT INTO meta(key, value) VALUES('events_dropped', ?)"
                          " ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT)");
    counter.bind(1, std::to_string(excess));
    counter.bind(2, excess);
    if (auto status = counter.run(); !status) {
      return status;
    }
  }
  return {};
}

} // namespace

Status Store::enqueue_event(const QueuedEvent &event, std::uint32_t capacity) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (capacity == 0) {
    return make_error(ErrorCode::InvalidArgument, "event queue capacity is 0");
  }
  Transaction transaction(db_);
  if (!transaction.begun()) {
    return transaction.begun();
  }
  if (auto status = enqueue_in(db_, event, capacity); !status) {
    return status;
  }
  return transaction.commit();
}

Result<std::vector<QueuedEvent>> Store::oldest_events(std::uint32_t limit) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement read(db_, "SELECT id, body FROM events ORDER BY seq LIMIT ?");
  read.bind(1, static_cast<std::int64_t>(limit));
  std::vector<QueuedEvent> out;
  while (true) {
    auto row = read.step();
    if (!row) {
      return std::move(row).error();
    }
    if (!*row) {
      return out;
    }
    out.push_back(QueuedEvent{read.text(0), read.text(1)});
  }
}

Result<std::uint64_t> Store::delete_events(const std::vector<std::string> &ids) {
  std::lock_guard<std::mutex> lock(mutex_);
  Transaction transaction(db_);
  if (!transaction.begun()) {
    return transaction.begun().error();
  }
  Statement drop(db_, "DELETE FROM events WHERE id = ?");
  std::uint64_t deleted = 0;
  for (const auto &id : ids) {
    drop.bind(1, id);
    if (auto status = drop.run(); !status) {
      return std::move(status).error();
    }
    deleted += static_cast<std::uint64_t>(sqlite3_changes(db_));
    drop.reset();
  }
  if (auto status = transaction.commit(); !status) {
    return std::move(status).error();
  }
  return deleted;
}

Result<std::uint64_t> Store::discard_events(const std::vector<std::string> &ids) {
  std::lock_guard<std::mutex> lock(mutex_);
  Transaction transaction(db_);
  if (!transaction.begun()) {
    return transaction.begun().error();
  }
  Statement drop(db_, "DELETE FROM events WHERE id = ?");
  std::int64_t deleted = 0;
  for (const auto &id : ids) {
    drop.bind(1, id);
    if (auto status = drop.run(); !status) {
      return std::move(status).error();
    }
    deleted += sqlite3_changes(db_);
    drop.reset();
  }
  Statement counter(db_, "INSERT INTO meta(key, value) VALUES('events_dropped', ?)"
                         " ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT)");
  counter.bind(1, std::to_string(deleted));
  counter.bind(2, deleted);
  if (auto status = counter.run(); !status) {
    return std::move(status).error();
  }
  if (auto status = transaction.commit(); !status) {
    return std::move(status).error();
  }
  return static_cast<std::uint64_t>(deleted);
}

Result<std::uint64_t> Store::event_count() {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement count(db_, "SELECT COUNT(*) FROM events");
  auto row = count.step();
  if (!row) {
    return std::move(row).error();
  }
  return static_cast<std::uint64_t>(count.integer(0));
}

Result<std::uint64_t> Store::events_dropped() {
  auto value = meta("events_dropped");
  if (!value) {
    return std::move(value).error();
  }
  return value->has_value() ? std::strtoull((*value)->c_str(), nullptr, 10) : 0;
}

Result<std::optional<PromptState>> Store::prompt_state(const std::string &version) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement read(db_, "SELECT last_prompt, count FROM upgrade_prompts WHERE version = ?");
  read.bind(1, version);
  auto row = read.step();
  if (!row) {
    return std::move(row).error();
  }
  if (!*row) {
    return std::optional<PromptState>();
  }
  return std::optional<PromptState>(PromptState{version, read.integer(0), read.integer(1)});
}

Status Store::record_prompt(const std::string &version, std::int64_t now_unix) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement write(db_, "INSERT INTO upgrade_prompts(version, last_prompt, count) VALUES(?, ?, 1)"
                       " ON CONFLICT(version) DO UPDATE SET last_prompt = excluded.last_prompt, count = count + 1");
  write.bind(1, version);
  write.bind(2, now_unix);
  return write.run();
}

Result<std::optional<DownloadCheckpoint>> Store::checkpoint(const std::string &key) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement read(db_, "SELECT url, etag, size, sha256 FROM downloads WHERE key = ?");
  read.bind(1, key);
  auto row = read.step();
  if (!row) {
    return std::move(row).error();
  }
  if (!*row) {
    return std::optional<DownloadCheckpoint>();
  }
  return std::optional<DownloadCheckpoint>(
      DownloadCheckpoint{key, read.text(0), read.text(1), static_cast<std::uint64_t>(read.integer(2)), read.text(3)});
}

Status Store::save_checkpoint(const DownloadCheckpoint &checkpoint) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement write(db_, "INSERT INTO downloads(key, url, etag, size, sha256) VALUES(?, ?, ?, ?, ?)"
                       " ON CONFLICT(key) DO UPDATE SET url = excluded.url, etag = excluded.etag,"
                       " size = excluded.size, sha256 = excluded.sha256");
  write.bind(1, checkpoint.key);
  write.bind(2, checkpoint.url);
  write.bind(3, checkpoint.etag);
  write.bind(4, static_cast<std::int64_t>(checkpoint.expected_size));
  write.bind(5, checkpoint.sha256);
  return write.run();
}

Status Store::clear_checkpoint(const std::string &key) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement drop(db_, "DELETE FROM downloads WHERE key = ?");
  drop.bind(1, key);
  return drop.run();
}

Result<InstalledVersions> Store::installed_versions(const std::string &kind, const std::string &package) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement read(db_, "SELECT installed, previous FROM packages WHERE kind = ? AND package = ?");
  read.bind(1, kind);
  read.bind(2, package);
  auto row = read.step();
  if (!row) {
    return std::move(row).error();
  }
  InstalledVersions out;
  if (*row) {
    if (!read.is_null(0)) {
      out.current = read.text(0);
    }
    if (!read.is_null(1)) {
      out.previous = read.text(1);
    }
  }
  return out;
}

Result<std::optional<std::string>> Store::version_envelope(const std::string &kind, const std::string &package,
                                                           const std::string &version) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement read(db_, "SELECT envelope FROM package_versions WHERE kind = ? AND package = ? AND version = ?");
  read.bind(1, kind);
  read.bind(2, package);
  read.bind(3, version);
  auto row = read.step();
  if (!row) {
    return std::move(row).error();
  }
  if (!*row) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(read.text(0));
}

namespace {

// Inside a transaction: drops the envelopes of a package's versions that are neither
// current nor previous nor named by the hotpatch lifecycle.
Status forget_envelopes(sqlite3 *db, const std::string &kind, const std::string &package) {
  Statement forget(db, "DELETE FROM package_versions WHERE kind = ?1 AND package = ?2 AND version NOT IN"
                       " (SELECT installed FROM packages WHERE kind = ?1 AND package = ?2 AND installed IS NOT NULL"
                       "  UNION SELECT previous FROM packages WHERE kind = ?1 AND package = ?2"
                       "  AND previous IS NOT NULL"
                       "  UNION SELECT version FROM hotpatch WHERE ?1 = 'hotpatch' AND package = ?2)");
  forget.bind(1, kind);
  forget.bind(2, package);
  return forget.run();
}

} // namespace

Status Store::commit_installs(const std::vector<InstallCommit> &commits) {
  std::lock_guard<std::mutex> lock(mutex_);
  Transaction transaction(db_);
  if (!transaction.begun()) {
    return transaction.begun();
  }
  for (const auto &commit : commits) {
    if (auto raised = raise_floor_in(db_, commit.kind, commit.package, commit.version, side_floors_,
                                     [this] { return write_side_file_locked(); });
        !raised) {
      return raised;
    }
    Statement record(db_, "INSERT INTO package_versions(kind, package, version, envelope) VALUES(?, ?, ?, ?)"
                          " ON CONFLICT(kind, package, version) DO UPDATE SET envelope = excluded.envelope");
    record.bind(1, commit.kind);
    record.bind(2, commit.package);
    record.bind(3, commit.version);
    record.bind(4, commit.envelope);
    if (auto status = record.run(); !status) {
      return status;
    }
    // The version that was current becomes the previous one (unless it is this one).
    Statement flip(db_, "UPDATE packages SET previous = CASE WHEN installed IS NULL OR installed = ?1"
                        " THEN previous ELSE installed END, installed = ?1 WHERE kind = ?2 AND package = ?3");
    flip.bind(1, commit.version);
    flip.bind(2, commit.kind);
    flip.bind(3, commit.package);
    if (auto status = flip.run(); !status) {
      return status;
    }
    if (commit.kind == "hotpatch") {
      // Installed is staged: the next launch loads it (hotpatch/lifecycle.hpp).
      Statement stage(db_, "INSERT INTO hotpatch(role, release, package, version) VALUES('staged', ?, ?, ?)"
                           " ON CONFLICT(role) DO UPDATE SET release = excluded.release, package = excluded.package,"
                           " version = excluded.version");
      stage.bind(1, commit.release);
      stage.bind(2, commit.package);
      stage.bind(3, commit.version);
      if (auto status = stage.run(); !status) {
        return status;
      }
    }
    if (auto status = forget_envelopes(db_, commit.kind, commit.package); !status) {
      return status;
    }
    // A version refused for every offer (a reverted hotpatch) stays refused.
    Statement forgive(db_, "DELETE FROM refused_offers WHERE kind = ? AND package = ? AND digest != ?");
    forgive.bind(1, commit.kind);
    forgive.bind(2, commit.package);
    forgive.bind(3, std::string(kAnyOffer));
    if (auto status = forgive.run(); !status) {
      return status;
    }
  }
  return transaction.commit();
}

Result<std::optional<Error>> Store::refused_offer(const std::string &kind, const std::string &package,
                                                  const std::string &version, const std::string &digest) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement read(db_, "SELECT code, message FROM refused_offers WHERE kind = ? AND package = ? AND version = ?"
                      " AND digest IN (?, ?) ORDER BY seq DESC LIMIT 1");
  read.bind(1, kind);
  read.bind(2, package);
  read.bind(3, version);
  read.bind(4, digest);
  read.bind(5, std::string(kAnyOffer));
  auto row = read.step();
  if (!row) {
    return std::move(row).error();
  }
  if (!*row) {
    return std::optional<Error>();
  }
  const auto number = read.integer(0);
  const ErrorCode code = number > 0 && is_known_error_code(static_cast<std::uint32_t>(number))
                             ? static_cast<ErrorCode>(number)
                             : ErrorCode::Internal;
  return std::optional<Error>(make_error(code, read.text(1)));
}

Status Store::remember_refused_offer(const RefusedOffer &offer) {
  std::lock_guard<std::mutex> lock(mutex_);
  Transaction transaction(db_);
  if (!transaction.begun()) {
    return transaction.begun();
  }
  Statement write(db_, "INSERT INTO refused_offers(kind, package, version, digest, code, message)"
                       " VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(kind, package, version, digest)"
                       " DO UPDATE SET code = excluded.code, message = excluded.message");
  write.bind(1, offer.kind);
  write.bind(2, offer.package);
  write.bind(3, offer.version);
  write.bind(4, offer.digest);
  write.bind(5, static_cast<std::int64_t>(offer.error.code));
  write.bind(6, offer.error.message);
  if (auto status = write.run(); !status) {
    return status;
  }
  Statement trim(db_, "DELETE FROM refused_offers WHERE seq NOT IN"
                      " (SELECT seq FROM refused_offers ORDER BY seq DESC LIMIT ?)");
  trim.bind(1, static_cast<std::int64_t>(kMaxRefusedOffers));
  if (auto status = trim.run(); !status) {
    return status;
  }
  return transaction.commit();
}

namespace {

Result<HotpatchRecord> read_hotpatch(sqlite3 *db) {
  Statement read(db, "SELECT role, release, package, version, confirmed, launches FROM hotpatch");
  HotpatchRecord record;
  while (true) {
    auto row = read.step();
    if (!row) {
      return std::move(row).error();
    }
    if (!*row) {
      return record;
    }
    HotpatchRef ref{read.text(1), read.text(2), read.text(3)};
    const std::string role = read.text(0);
    if (role == "staged") {
      record.staged = std::move(ref);
    } else if (role == "active") {
      record.active = std::move(ref);
      record.active_confirmed = read.integer(4) != 0;
      record.launches = read.integer(5);
    } else {
      record.fallback = std::move(ref);
    }
  }
}

Status write_hotpatch(sqlite3 *db, const HotpatchRecord &record) {
  Statement clear(db, "DELETE FROM hotpatch");
  if (auto status = clear.run(); !status) {
    return status;
  }
  Statement insert(db, "INSERT INTO hotpatch(role, release, package, version, confirmed, launches)"
                       " VALUES(?, ?, ?, ?, ?, ?)");
  auto put = [&](const char *role, const std::optional<HotpatchRef> &ref, bool confirmed,
                 std::int64_t launches) -> Status {
    if (!ref) {
      return {};
    }
    insert.reset();
    insert.bind(1, std::string(role));
    insert.bind(2, ref->release);
    insert.bind(3, ref->package);
    insert.bind(4, ref->version);
    insert.bind(5, std::int64_t{confirmed ? 1 : 0});
    insert.bind(6, launches);
    return insert.run();
  };
  if (auto status = put("staged", record.staged, false, 0); !status) {
    return status;
  }
  if (auto status = put("active", record.active, record.active_confirmed, record.launches); !status) {
    return status;
  }
  return put("fallback", record.fallback, true, 0);
}

} // namespace

Result<HotpatchRecord> Store::hotpatch() {
  std::lock_guard<std::mutex> lock(mutex_);
  return read_hotpatch(db_);
}

Status
Store::update_hotpatch(const std::function<Result<std::optional<HotpatchUpdate>>(const HotpatchRecord &)> &decide) {
  std::lock_guard<std::mutex> lock(mutex_);
  Transaction transaction(db_);
  if (!transaction.begun()) {
    return transaction.begun();
  }
  auto record = read_hotpatch(db_);
  if (!record) {
    return std::move(record).error();
  }
  auto update = decide(*record);
  if (!update) {
    return std::move(update).error();
  }
  if (!update->has_value()) {
    return {}; // nothing to write: the transaction rolls back
  }
  const HotpatchUpdate &step = **update;
  if (auto status = write_hotpatch(db_, step.next); !status) {
    return status;
  }
  if (step.revert) {
    const HotpatchRevert &revert = *step.revert;
    // Where the package row names the bad version it goes back to the fallback's version
    // (when of the same package, else to none); the bad version is not kept for going
    // back either. A newer version staged meanwhile stays current.
    Statement back(db_, "UPDATE packages SET installed = CASE WHEN installed = ?1 THEN ?2 ELSE installed END,"
                        " previous = CASE WHEN previous = ?1 OR installed = ?1 THEN NULL ELSE previous END"
                        " WHERE kind = 'hotpatch' AND package = ?3");
    back.bind(1, revert.bad.version);
    const auto &fallback = step.next.fallback;
    if (fallback && fallback->package == revert.bad.package) {
      back.bind(2, fallback->version);
    }
    back.bind(3, revert.bad.package);
    if (auto status = back.run(); !status) {
      return status;
    }
    if (auto status = forget_envelopes(db_, "hotpatch", revert.bad.package); !status) {
      return status;
    }
    Statement refuse(db_, "INSERT INTO refused_offers(kind, package, version, digest, code, message)"
                          " VALUES('hotpatch', ?, ?, ?, ?, ?) ON CONFLICT(kind, package, version, digest)"
                          " DO UPDATE SET code = excluded.code, message = excluded.message");
    refuse.bind(1, revert.bad.package);
    refuse.bind(2, revert.bad.version);
    refuse.bind(3, std::string(kAnyOffer));
    refuse.bind(4, static_cast<std::int64_t>(revert.reason.code));
    refuse.bind(5, revert.reason.message);
    if (auto status = refuse.run(); !status) {
      return status;
    }
    if (auto status = enqueue_in(db_, revert.event, revert.event_capacity); !status) {
      return status;
    }
  }
  return transaction.commit();
}

Result<std::vector<DownloadCheckpoint>> Store::checkpoints() {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement read(db_, "SELECT key, url, etag, size, sha256 FROM downloads ORDER BY key");
  std::vector<DownloadCheckpoint> out;
  while (true) {
    auto row = read.step();
    if (!row) {
      return std::move(row).error();
    }
    if (!*row) {
      return out;
    }
    out.push_back(DownloadCheckpoint{read.text(0), read.text(1), read.text(2),
                                     static_cast<std::uint64_t>(read.integer(3)), read.text(4)});
  }
}

} // namespace mds::state
