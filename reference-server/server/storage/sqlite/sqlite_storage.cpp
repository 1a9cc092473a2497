#include "server/storage/sqlite/sqlite_storage.hpp"

#include "server/storage/sqlite/schema.hpp"
#include "server/storage/sqlite/whitelist_chunks.hpp"
#include "server/storage/whitelist_index.hpp"
#include "server/util/time.hpp"

#include "core/json/json.hpp"
#include "core/manifest/manifest.hpp"
#include "core/version/version.hpp"

#include <algorithm>

#include <sys/stat.h>

#include <chrono>
#include <map>

// Early return of a failed Result or Status; keeps each storage operation readable as the
// sequence of steps it is.
#define MDS_TRY(expression)                                                                                            \
  do {                                                                                                                 \
    if (auto mds_try_status = (expression); !mds_try_status) {                                                         \
      return std::move(mds_try_status).error();                                                                        \
    }                                                                                                                  \
  } while (false)

#define MDS_TRY_ASSIGN(name, expression)                                                                               \
  auto name##_or_error = (expression);                                                                                 \
  if (!name##_or_error) {                                                                                              \
    return std::move(name##_or_error).error();                                                                         \
  }                                                                                                                    \
  auto &name = name##_or_error.value()

namespace mds::server {

using sqlite::Statement;
using sqlite::Transaction;

namespace {

// A small JSON object for audit details.
class Detail {
public:
  Detail() : writer_(buffer_) { writer_.StartObject(); }
  Detail &add(const char *key, std::string_view value) {
    writer_.Key(key);
    writer_.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    return *this;
  }
  Detail &add(const char *key, std::int64_t value) {
    writer_.Key(key);
    writer_.Int64(value);
    return *this;
  }
  std::string str() {
    writer_.EndObject();
    return buffer_.GetString();
  }

private:
  rapidjson::StringBuffer buffer_;
  core::json::Writer writer_;
};

Error not_found(std::string_view what, std::string_view name) {
  return make_error(ErrorCode::NotFound, std::string(what) + " \"" + std::string(name) + "\" does not exist");
}

// Turns a unique-key clash into a message that names the thing.
Error explain(Error error, std::string_view what, std::string_view name) {
  if (error.code == ErrorCode::AlreadyExists) {
    error.message = std::string(what) + " \"" + std::string(name) + "\" already exists";
  }
  return error;
}

// Stored versions were checked as dotted versions when published; text order is the
// fallback for one that no longer reads (it cannot happen short of a corrupt database).
bool version_less(const std::string &a, const std::string &b) {
  auto left = core::Version::parse_dotted(a);
  auto right = core::Version::parse_dotted(b);
  if (left && right) {
    return *left < *right;
  }
  return a < b;
}

void sort_by_version_descending(std::vector<PackageDownload> &downloads) {
  std::sort(downloads.begin(), downloads.end(), [](const PackageDownload &a, const PackageDownload &b) {
    return version_less(b.base_version, a.base_version);
  });
}

std::uint64_t file_size_or_zero(const std::string &path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 ? static_cast<std::uint64_t>(info.st_size) : 0;
}

} // namespace

Result<std::unique_ptr<SqliteStorage>> SqliteStorage::open(const std::filesystem::path &file) {
  auto connection = sqlite::Connection::open(file);
  if (!connection) {
    return connection.error();
  }
  // WAL: readers never block the writer. FULL: a committed change survives power loss
  // (admin writes are rare; durability matters more than their latency). A large page
  // cache keeps whitelist imports of millions of ids fast; temporary tables and sorts go
  // to files, not memory.
  const char *settings = "PRAGMA journal_mode = WAL;"
                         "PRAGMA synchronous = FULL;"
                         "PRAGMA foreign_keys = ON;"
                         "PRAGMA busy_timeout = 5000;"
                         "PRAGMA cache_size = -65536;"
                         "PRAGMA temp_store = FILE;";
  if (auto applied = connection->exec(settings); !applied) {
    return make_error(applied.code(), file.string() + ": " + applied.error().message);
  }
  {
    auto mode = Statement::prepare(*connection, "PRAGMA journal_mode");
    if (!mode) {
      return mode.error();
    }
    if (auto row = mode->step(); !row || !*row || mode->text(0) != "wal") {
      return make_error(ErrorCode::StorageFailure, file.string() + ": the database refused WAL mode");
    }
  } // finalised here: an unfinished statement would keep the migrations from committing
  if (auto migrated = sqlite::migrate(*connection); !migrated) {
    return make_error(migrated.code(), file.string() + ": " + migrated.error().message);
  }
  return std::unique_ptr<SqliteStorage>(new SqliteStorage(std::move(connection.value()), file));
}

SqliteStorage::~SqliteStorage() {
  std::lock_guard<std::mutex> lock(mutex_);
  (void)write_pending_offered(); // nothing left to report a failure to
}

Status SqliteStorage::audit(const Actor &actor, std::string_view action, std::string_view target,
                            std::string_view detail_json) {
  change_count_.fetch_add(1, std::memory_order_acq_rel);
  MDS_TRY_ASSIGN(insert, Statement::prepare(connection_, "INSERT INTO audit_log (at, actor, action, target, detail) "
                                                         "VALUES (?1, ?2, ?3, ?4, ?5)"));
  return insert.bind(1, unix_now_seconds()).bind(2, actor).bind(3, action).bind(4, target).bind(5, detail_json).run();
}

// --- apps ---------------------------------------------------------------------------

Result<App> SqliteStorage::create_app(const NewApp &app, const Actor &actor) {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(transaction, Transaction::begin(connection_));
  const auto now = unix_now_seconds();
  MDS_TRY_ASSIGN(insert,
                 Statement::prepare(connection_, "INSERT INTO apps (name, platform, created_at) VALUES (?1, ?2, ?3)"));
  if (auto inserted = insert.bind(1, app.name).bind(2, to_string(app.platform)).bind(3, now).run(); !inserted) {
    return explain(inserted.error(), "app", app.name);
  }
  const auto app_id = sqlite3_last_insert_rowid(connection_.get());
  MDS_TRY_ASSIGN(insert_key, Statement::prepare(connection_, "INSERT INTO app_publisher_keys (app_id, position, "
                                                             "key_id, pem) VALUES (?1, ?2, ?3, ?4)"));
  for (std::size_t i = 0; i < app.publisher_keys.size(); ++i) {
    const auto &key = app.publisher_keys[i];
    if (auto inserted =
            insert_key.bind(1, app_id).bind(2, static_cast<std::int64_t>(i)).bind(3, key.key_id).bind(4, key.pem).run();
        !inserted) {
      return inserted.code() == ErrorCode::AlreadyExists
                 ? make_error(ErrorCode::InvalidArgument, "publisher key " + key.key_id + " is listed twice")
                 : inserted.error();
    }
    insert_key.reset();
  }
  MDS_TRY(audit(actor, "app.create", "app/" + app.name,
                Detail()
                    .add("platform", to_string(app.platform))
                    .add("publisher_keys", static_cast<std::int64_t>(app.publisher_keys.size()))
                    .str()));
  MDS_TRY(transaction.commit());
  App created;
  static_cast<NewApp &>(created) = app;
  created.id = app_id;
  created.created_at = now;
  return created;
}

Result<App> SqliteStorage::load_app(std::string_view name) {
  MDS_TRY_ASSIGN(query, Statement::prepare(connection_, "SELECT id, platform, created_at FROM apps WHERE name = ?1"));
  query.bind(1, name);
  MDS_TRY_ASSIGN(found, query.step());
  if (!found) {
    return not_found("app", name);
  }
  App app;
  app.id = query.integer(0);
  app.name = std::string(name);
  app.platform = platform_from_string(query.text(1)).value_or(Platform::Android);
  app.created_at = query.integer(2);
  MDS_TRY_ASSIGN(keys, Statement::prepare(connection_, "SELECT key_id, pem FROM app_publisher_keys "
                                                       "WHERE app_id = ?1 ORDER BY position"));
  keys.bind(1, app.id);
  for (;;) {
    MDS_TRY_ASSIGN(row, keys.step());
    if (!row) {
      break;
    }
    app.publisher_keys.push_back({keys.text(0), keys.text(1)});
  }
  return app;
}

Result<std::vector<App>> SqliteStorage::list_apps() {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(query, Statement::prepare(connection_, "SELECT name FROM apps ORDER BY name"));
  std::vector<std::string> names;
  for (;;) {
    MDS_TRY_ASSIGN(row, query.step());
    if (!row) {
      break;
    }
    names.push_back(query.text(0));
  }
  std::vector<App> apps;
  for (const auto &name : names) {
    MDS_TRY_ASSIGN(app, load_app(name));
    apps.push_back(std::move(app));
  }
  return apps;
}

Result<App> SqliteStorage::get_app(std::string_view name) {
  std::lock_guard<std::mutex> lock(mutex_);
  return load_app(name);
}

// --- whitelists ---------------------------------------------------------------------

Result<Whitelist> SqliteStorage::load_whitelist(std::string_view name) {
  MDS_TRY_ASSIGN(query, Statement::prepare(connection_, "SELECT type, entry_count, created_at, updated_at, matching "
                                                        "FROM whitelists WHERE name = ?1"));
  query.bind(1, name);
  MDS_TRY_ASSIGN(found, query.step());
  if (!found) {
    return not_found("whitelist", name);
  }
  Whitelist whitelist;
  whitelist.name = std::string(name);
  whitelist.type = whitelist_type_from_string(query.text(0)).value_or(WhitelistType::User);
  whitelist.entry_count = static_cast<std::uint64_t>(query.integer(1));
  whitelist.created_at = query.integer(2);
  whitelist.updated_at = query.integer(3);
  whitelist.match = whitelist_match_from_string(query.text(4)).value_or(WhitelistMatch::Id);
  return whitelist;
}

Result<Whitelist> SqliteStorage::create_whitelist(std::string_view name, WhitelistType type, WhitelistMatch match,
                                                  const Actor &actor) {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(transaction, Transaction::begin(connection_));
  const auto now = unix_now_seconds();
  MDS_TRY_ASSIGN(insert, Statement::prepare(connection_, "INSERT INTO whitelists (name, type, created_at, updated_at, "
                                                         "matching) VALUES (?1, ?2, ?3, ?3, ?4)"));
  if (auto inserted = insert.bind(1, name).bind(2, to_string(type)).bind(3, now).bind(4, to_string(match)).run();
      !inserted) {
    return explain(inserted.error(), "whitelist", name);
  }
  MDS_TRY(audit(actor, "whitelist.create", "whitelist/" + std::string(name),
                Detail().add("type", to_string(type)).add("match", to_string(match)).str()));
  MDS_TRY(transaction.commit());
  Whitelist created;
  created.name = std::string(name);
  created.type = type;
  created.match = match;
  created.created_at = now;
  created.updated_at = now;
  return created;
}

Result<WhitelistImportResult> SqliteStorage::import_whitelist(std::string_view name, WhitelistType type,
                                                              WhitelistMatch match, IdSource &ids, const Actor &actor) {
  // Read and sort before taking the lock: checks keep being answered meanwhile.
  WhitelistImportResult result;
  MDS_TRY_ASSIGN(sorted, sqlite::SortedIds::read(ids));
  result.ids_read = sorted.ids_read();
  if (match == WhitelistMatch::Regex) {
    std::vector<std::string_view> patterns;
    for (std::size_t index = 0; index < sorted.size(); ++index) {
      patterns.push_back(sorted[index]);
    }
    if (auto compiled = PatternSet::compile(patterns); !compiled) {
      return compiled.error();
    }
  }

  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(transaction, Transaction::begin(connection_));
  const auto now = unix_now_seconds();

  std::int64_t list_id = 0;
  {
    MDS_TRY_ASSIGN(query, Statement::prepare(connection_, "SELECT id, type, matching FROM whitelists WHERE name = ?1"));
    query.bind(1, name);
    MDS_TRY_ASSIGN(found, query.step());
    if (found) {
      if (query.text(1) != to_string(type)) {
        return make_error(ErrorCode::Conflict, "whitelist \"" + std::string(name) + "\" holds " + query.text(1) +
                                                   " ids, not " + to_string(type) + " ids");
      }
      if (query.text(2) != to_string(match)) {
        return make_error(ErrorCode::Conflict, "whitelist \"" + std::string(name) + "\" is matched by " +
                                                   query.text(2) + ", not by " + to_string(match));
      }
      list_id = query.integer(0);
    }
  }
  if (list_id == 0) {
    MDS_TRY_ASSIGN(insert, Statement::prepare(connection_, "INSERT INTO whitelists (name, type, created_at, "
                                                           "updated_at, matching) VALUES (?1, ?2, ?3, ?3, ?4)"));
    MDS_TRY(insert.bind(1, name).bind(2, to_string(type)).bind(3, now).bind(4, to_string(match)).run());
    list_id = sqlite3_last_insert_rowid(connection_.get());
    result.created = true;
  } else {
    MDS_TRY_ASSIGN(clear, Statement::prepare(connection_, "DELETE FROM whitelist_chunks WHERE whitelist_id = ?1"));
    MDS_TRY(clear.bind(1, list_id).run());
  }

  MDS_TRY_ASSIGN(insert_chunk, Statement::prepare(connection_, "INSERT INTO whitelist_chunks (whitelist_id, "
                                                               "first_entry, entries) VALUES (?1, ?2, ?3)"));
  std::string entries;
  for (std::size_t begin = 0; begin < sorted.size(); begin += sqlite::kIdsPerChunk) {
    sorted.join(begin, std::min(sorted.size(), begin + sqlite::kIdsPerChunk), entries);
    MDS_TRY(insert_chunk.bind(1, list_id).bind(2, sorted[begin]).bind(3, entries).run());
    insert_chunk.reset();
  }
  const std::uint64_t distinct = sorted.size();
  result.duplicates = result.ids_read - distinct;

  MDS_TRY_ASSIGN(update, Statement::prepare(connection_, "UPDATE whitelists SET entry_count = ?1, updated_at = ?2 "
                                                         "WHERE id = ?3"));
  MDS_TRY(update.bind(1, static_cast<std::int64_t>(distinct)).bind(2, now).bind(3, list_id).run());
  MDS_TRY(audit(actor, "whitelist.import", "whitelist/" + std::string(name),
                Detail()
                    .add("type", to_string(type))
                    .add("match", to_string(match))
                    .add("entries", static_cast<std::int64_t>(distinct))
                    .add("duplicates", static_cast<std::int64_t>(result.duplicates))
                    .str()));
  MDS_TRY(transaction.commit());
  forget_loaded_whitelist(name);
  MDS_TRY_ASSIGN(stored, load_whitelist(name));
  result.whitelist = std::move(stored);
  return result;
}

Result<std::vector<Whitelist>> SqliteStorage::list_whitelists() {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(query, Statement::prepare(connection_, "SELECT name, type, entry_count, created_at, updated_at, "
                                                        "matching FROM whitelists ORDER BY name"));
  std::vector<Whitelist> lists;
  for (;;) {
    MDS_TRY_ASSIGN(row, query.step());
    if (!row) {
      break;
    }
    Whitelist whitelist;
    whitelist.name = query.text(0);
    whitelist.type = whitelist_type_from_string(query.text(1)).value_or(WhitelistType::User);
    whitelist.entry_count = static_cast<std::uint64_t>(query.integer(2));
    whitelist.created_at = query.integer(3);
    whitelist.updated_at = query.integer(4);
    whitelist.match = whitelist_match_from_string(query.text(5)).value_or(WhitelistMatch::Id);
    lists.push_back(std::move(whitelist));
  }
  return lists;
}

Result<WhitelistSample> SqliteStorage::get_whitelist(std::string_view name, std::size_t sample_size) {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(whitelist, load_whitelist(name));
  WhitelistSample result;
  result.whitelist = whitelist;
  MDS_TRY_ASSIGN(query, Statement::prepare(connection_, "SELECT entries FROM whitelist_chunks WHERE whitelist_id = "
                                                        "(SELECT id FROM whitelists WHERE name = ?1) "
                                                        "ORDER BY first_entry"));
  query.bind(1, name);
  while (result.sample.size() < sample_size) {
    MDS_TRY_ASSIGN(row, query.step());
    if (!row) {
      break;
    }
    for (auto &id : sqlite::chunk_ids(query.text_view(0))) {
      if (result.sample.size() == sample_size) {
        break;
      }
      result.sample.push_back(std::move(id));
    }
  }
  return result;
}

Result<std::shared_ptr<const SqliteStorage::LoadedWhitelist>> SqliteStorage::loaded_whitelist(std::string_view name) {
  {
    std::shared_lock<std::shared_mutex> reading(loaded_mutex_);
    if (auto found = loaded_.find(std::string(name)); found != loaded_.end()) {
      return found->second;
    }
  }
  // Built under the store's lock, which imports and deletions hold while they change a
  // list and forget its loaded form: a list is never loaded from half an import.
  std::lock_guard<std::mutex> lock(mutex_);
  {
    std::shared_lock<std::shared_mutex> reading(loaded_mutex_);
    if (auto found = loaded_.find(std::string(name)); found != loaded_.end()) {
      return found->second;
    }
  }
  MDS_TRY_ASSIGN(list, Statement::prepare(connection_, "SELECT id, entry_count, matching FROM whitelists "
                                                       "WHERE name = ?1"));
  list.bind(1, name);
  MDS_TRY_ASSIGN(found, list.step());
  if (!found) {
    return std::shared_ptr<const LoadedWhitelist>(); // no such list: holds nothing, and is not remembered
  }
  auto loaded = std::make_shared<LoadedWhitelist>();
  loaded->match = whitelist_match_from_string(list.text(2)).value_or(WhitelistMatch::Id);
  MDS_TRY_ASSIGN(chunks,
                 Statement::prepare(connection_, "SELECT entries FROM whitelist_chunks WHERE whitelist_id = ?1"));
  chunks.bind(1, list.integer(0));
  if (loaded->match == WhitelistMatch::Id) {
    loaded->ids = std::make_unique<IdFingerprints>(static_cast<std::uint64_t>(list.integer(1)));
  }
  std::vector<std::string> patterns;
  for (;;) {
    MDS_TRY_ASSIGN(row, chunks.step());
    if (!row) {
      break;
    }
    sqlite::for_each_chunk_entry(chunks.text_view(0), [&](std::string_view entry) {
      if (loaded->ids) {
        loaded->ids->add(entry);
      } else {
        patterns.emplace_back(entry);
      }
    });
  }
  if (loaded->match == WhitelistMatch::Regex) {
    MDS_TRY_ASSIGN(compiled, PatternSet::compile(std::vector<std::string_view>(patterns.begin(), patterns.end())));
    loaded->patterns = std::move(compiled);
  }
  std::unique_lock<std::shared_mutex> writing(loaded_mutex_);
  loaded_[std::string(name)] = loaded;
  return std::shared_ptr<const LoadedWhitelist>(loaded);
}

void SqliteStorage::forget_loaded_whitelist(std::string_view name) {
  std::unique_lock<std::shared_mutex> writing(loaded_mutex_);
  loaded_.erase(std::string(name));
}

Result<bool> SqliteStorage::whitelist_contains(std::string_view name, std::string_view id) {
  MDS_TRY_ASSIGN(loaded, loaded_whitelist(name));
  if (loaded == nullptr) {
    return false;
  }
  if (loaded->patterns) {
    return loaded->patterns->matches(id);
  }
  if (!loaded->ids->may_hold(id)) {
    return false;
  }
  // A fingerprint matched: confirm in the one chunk whose range holds the id.
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(query, Statement::prepare(connection_, "SELECT entries FROM whitelist_chunks WHERE whitelist_id = "
                                                        "(SELECT id FROM whitelists WHERE name = ?1) AND "
                                                        "first_entry <= ?2 ORDER BY first_entry DESC LIMIT 1"));
  query.bind(1, name).bind(2, id);
  MDS_TRY_ASSIGN(found, query.step());
  return found && sqlite::chunk_holds(query.text_view(0), id);
}

Status SqliteStorage::delete_whitelist(std::string_view name, const Actor &actor) {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(transaction, Transaction::begin(connection_));
  MDS_TRY_ASSIGN(whitelist, load_whitelist(name));
  MDS_TRY_ASSIGN(users, Statement::prepare(connection_, "SELECT release_id FROM release_whitelists "
                                                        "WHERE whitelist_id = (SELECT id FROM whitelists "
                                                        "WHERE name = ?1) ORDER BY release_id"));
  users.bind(1, name);
  std::string release_ids;
  for (;;) {
    MDS_TRY_ASSIGN(row, users.step());
    if (!row) {
      break;
    }
    release_ids += (release_ids.empty() ? "" : ", ") + std::to_string(users.integer(0));
  }
  if (!release_ids.empty()) {
    // Releases keep their whitelists for the record, even once ended.
    return make_error(ErrorCode::Conflict,
                      "whitelist \"" + std::string(name) + "\" is used by release(s) " + release_ids);
  }
  MDS_TRY_ASSIGN(remove, Statement::prepare(connection_, "DELETE FROM whitelists WHERE name = ?1"));
  MDS_TRY(remove.bind(1, name).run());
  forget_loaded_whitelist(name);
  MDS_TRY(audit(actor, "whitelist.delete", "whitelist/" + std::string(name),
                Detail().add("entries", static_cast<std::int64_t>(whitelist.entry_count)).str()));
  return transaction.commit();
}

// --- release rules ------------------------------------------------------------------

Result<ReleaseRule> SqliteStorage::create_rule(const NewReleaseRule &rule, const Actor &actor) {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(transaction, Transaction::begin(connection_));
  const auto now = unix_now_seconds();
  MDS_TRY_ASSIGN(insert, Statement::prepare(connection_, "INSERT INTO release_rules (name, description, filters, "
                                                         "created_at) VALUES (?1, ?2, ?3, ?4)"));
  if (auto inserted = insert.bind(1, rule.name).bind(2, rule.description).bind(3, rule.filters_json).bind(4, now).run();
      !inserted) {
    return explain(inserted.error(), "release rule", rule.name);
  }
  ReleaseRule created;
  static_cast<NewReleaseRule &>(created) = rule;
  created.id = sqlite3_last_insert_rowid(connection_.get());
  created.created_at = now;
  MDS_TRY(audit(actor, "rule.create", "rule/" + rule.name, Detail().add("filters", rule.filters_json).str()));
  MDS_TRY(transaction.commit());
  return created;
}

Result<ReleaseRule> SqliteStorage::load_rule(std::string_view name) {
  MDS_TRY_ASSIGN(query, Statement::prepare(connection_, "SELECT id, description, filters, created_at "
                                                        "FROM release_rules WHERE name = ?1"));
  query.bind(1, name);
  MDS_TRY_ASSIGN(found, query.step());
  if (!found) {
    return not_found("release rule", name);
  }
  ReleaseRule rule;
  rule.id = query.integer(0);
  rule.name = std::string(name);
  rule.description = query.text(1);
  rule.filters_json = query.text(2);
  rule.created_at = query.integer(3);
  return rule;
}

Result<std::vector<ReleaseRule>> SqliteStorage::list_rules() {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(query, Statement::prepare(connection_, "SELECT id, name, description, filters, created_at "
                                                        "FROM release_rules ORDER BY name"));
  std::vector<ReleaseRule> rules;
  for (;;) {
    MDS_TRY_ASSIGN(row, query.step());
    if (!row) {
      break;
    }
    ReleaseRule rule;
    rule.id = query.integer(0);
    rule.name = query.text(1);
    rule.description = query.text(2);
    rule.filters_json = query.text(3);
    rule.created_at = query.integer(4);
    rules.push_back(std::move(rule));
  }
  return rules;
}

Result<ReleaseRule> SqliteStorage::get_rule(std::string_view name) {
  std::lock_guard<std::mutex> lock(mutex_);
  return load_rule(name);
}

// --- packages -----------------------------------------------------------------------

Result<PublishedPackage> SqliteStorage::publish_package(const NewPackage &package, const Actor &actor) {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(transaction, Transaction::begin(connection_));
  MDS_TRY_ASSIGN(app, load_app(package.app));
  MDS_TRY_ASSIGN(same_id, load_packages(package.app, PackageQuery{std::nullopt, package.package_id}, std::nullopt));
  for (auto &existing : same_id) {
    if (existing.version == package.version) {
      if (existing.manifest_sha256 != package.manifest_sha256) {
        return make_error(ErrorCode::AlreadyExists, "package \"" + package.package_id + "\" version " +
                                                        package.version + " is published with another manifest");
      }
      return PublishedPackage{std::move(existing), false};
    }
    if (existing.kind != package.kind) {
      return make_error(ErrorCode::Conflict, "package \"" + package.package_id + "\" is published as " + existing.kind +
                                                 ", not " + package.kind);
    }
  }
  const auto now = unix_now_seconds();
  MDS_TRY_ASSIGN(insert,
                 Statement::prepare(connection_, "INSERT INTO packages (app_id, kind, package_id, version, "
                                                 "manifest_sha256, manifest, envelope, file_count, size, "
                                                 "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
  MDS_TRY(insert.bind(1, app.id)
              .bind(2, package.kind)
              .bind(3, package.package_id)
              .bind(4, package.version)
              .bind(5, package.manifest_sha256)
              .bind(6, package.manifest_json)
              .bind(7, package.envelope)
              .bind(8, static_cast<std::int64_t>(package.file_count))
              .bind(9, static_cast<std::int64_t>(package.size))
              .bind(10, now)
              .run());
  const auto row_id = sqlite3_last_insert_rowid(connection_.get());
  MDS_TRY_ASSIGN(download, Statement::prepare(connection_, "INSERT INTO package_downloads (package_row, "
                                                           "base_version, sha256, size) VALUES (?1, ?2, ?3, ?4)"));
  std::vector<const PackageDownload *> downloads{&package.full};
  for (const auto &delta : package.deltas) {
    downloads.push_back(&delta);
  }
  for (const auto *entry : downloads) {
    MDS_TRY(download.bind(1, row_id)
                .bind(2, entry->base_version)
                .bind(3, entry->sha256)
                .bind(4, static_cast<std::int64_t>(entry->size))
                .run());
    download.reset();
  }
  MDS_TRY(audit(actor, "package.publish", "package/" + package.app + "/" + package.package_id + "/" + package.version,
                Detail()
                    .add("kind", package.kind)
                    .add("manifest_sha256", package.manifest_sha256)
                    .add("files", static_cast<std::int64_t>(package.file_count))
                    .add("size", static_cast<std::int64_t>(package.size))
                    .add("full_size", static_cast<std::int64_t>(package.full.size))
                    .add("deltas", static_cast<std::int64_t>(package.deltas.size()))
                    .str()));
  MDS_TRY(transaction.commit());
  Package published;
  static_cast<NewPackage &>(published) = package;
  published.created_at = now;
  return PublishedPackage{std::move(published), true};
}

Result<std::vector<Package>> SqliteStorage::load_packages(std::string_view app, const PackageQuery &query,
                                                          std::optional<std::string_view> version) {
  MDS_TRY_ASSIGN(owner, load_app(app));
  MDS_TRY_ASSIGN(rows, Statement::prepare(connection_, "SELECT id, kind, package_id, version, manifest_sha256, "
                                                       "manifest, envelope, file_count, size, created_at FROM "
                                                       "packages WHERE app_id = ?1 AND (?2 IS NULL OR kind = ?2) AND "
                                                       "(?3 IS NULL OR package_id = ?3) AND (?4 IS NULL OR "
                                                       "version = ?4)"));
  rows.bind(1, owner.id).bind_optional(2, query.kind).bind_optional(3, query.package_id);
  if (version) {
    rows.bind(4, *version);
  } else {
    rows.bind_null(4);
  }
  std::vector<std::pair<std::int64_t, Package>> found;
  for (;;) {
    MDS_TRY_ASSIGN(row, rows.step());
    if (!row) {
      break;
    }
    Package package;
    package.app = std::string(app);
    package.kind = rows.text(1);
    package.package_id = rows.text(2);
    package.version = rows.text(3);
    package.manifest_sha256 = rows.text(4);
    package.manifest_json = rows.text(5);
    package.envelope = rows.text(6);
    package.file_count = static_cast<std::uint64_t>(rows.integer(7));
    package.size = static_cast<std::uint64_t>(rows.integer(8));
    package.created_at = rows.integer(9);
    found.emplace_back(rows.integer(0), std::move(package));
  }
  MDS_TRY_ASSIGN(downloads, Statement::prepare(connection_, "SELECT base_version, sha256, size FROM "
                                                            "package_downloads WHERE package_row = ?1"));
  std::vector<Package> packages;
  for (auto &[row_id, package] : found) {
    downloads.bind(1, row_id);
    for (;;) {
      MDS_TRY_ASSIGN(row, downloads.step());
      if (!row) {
        break;
      }
      PackageDownload entry{downloads.text(0), downloads.text(1), static_cast<std::uint64_t>(downloads.integer(2))};
      if (entry.base_version.empty()) {
        package.full = std::move(entry);
      } else {
        package.deltas.push_back(std::move(entry));
      }
    }
    downloads.reset();
    sort_by_version_descending(package.deltas);
    packages.push_back(std::move(package));
  }
  std::sort(packages.begin(), packages.end(), [](const Package &a, const Package &b) {
    if (a.kind != b.kind) {
      return a.kind < b.kind;
    }
    if (a.package_id != b.package_id) {
      return a.package_id < b.package_id;
    }
    return version_less(a.version, b.version);
  });
  return packages;
}

Result<std::vector<Package>> SqliteStorage::list_packages(std::string_view app, const PackageQuery &query) {
  std::lock_guard<std::mutex> lock(mutex_);
  return load_packages(app, query, std::nullopt);
}

Result<std::vector<std::string>> SqliteStorage::referenced_blobs() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> blobs;
  MDS_TRY_ASSIGN(downloads, Statement::prepare(connection_, "SELECT sha256 FROM package_downloads"));
  for (;;) {
    MDS_TRY_ASSIGN(row, downloads.step());
    if (!row) {
      break;
    }
    blobs.push_back(downloads.text(0));
  }
  MDS_TRY_ASSIGN(manifests, Statement::prepare(connection_, "SELECT manifest FROM packages"));
  for (;;) {
    MDS_TRY_ASSIGN(row, manifests.step());
    if (!row) {
      break;
    }
    auto manifest = core::decode(manifests.text_view(0));
    if (!manifest) {
      // Stored after its checks at publish: a manifest that no longer reads means a
      // damaged database, and a sweep must not guess which blobs it needed.
      return make_error(ErrorCode::StorageCorrupt, "a stored manifest does not read: " + manifest.error().message);
    }
    for (const auto &file : manifest->files) {
      blobs.push_back(file.sha256);
    }
  }
  return blobs;
}

Result<Package> SqliteStorage::get_package(std::string_view app, std::string_view package_id,
                                           std::string_view version) {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(found, load_packages(app, PackageQuery{std::nullopt, std::string(package_id)}, version));
  if (found.empty()) {
    return make_error(ErrorCode::NotFound, "package \"" + std::string(package_id) + "\" version " +
                                               std::string(version) + " is not published for app \"" +
                                               std::string(app) + "\"");
  }
  return std::move(found.front());
}

// --- releases -----------------------------------------------------------------------

Result<Release> SqliteStorage::create_release(const NewRelease &release, const Actor &actor) {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(transaction, Transaction::begin(connection_));
  MDS_TRY_ASSIGN(app, load_app(release.app));
  const auto now = unix_now_seconds();
  MDS_TRY_ASSIGN(insert, Statement::prepare(connection_,
                                            "INSERT INTO releases (app_id, kind, package_id, package_version, config, "
                                            "stage, paused_from, percent_bp, window_start, window_end, window_cap, "
                                            "filters, salt, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                                            "NULL, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)"));
  const bool is_package = release.kind == ReleaseKind::Package;
  insert.bind(1, app.id)
      .bind(2, to_string(release.kind))
      .bind_optional(3, is_package ? std::optional<std::string>(release.package_id) : std::nullopt)
      .bind_optional(4, is_package ? std::optional<std::string>(release.package_version) : std::nullopt)
      .bind_optional(5, is_package ? std::nullopt : std::optional<std::string>(release.config_json))
      .bind(6, to_string(release.progress.stage))
      .bind(7, static_cast<std::int64_t>(release.progress.percent_bp))
      .bind_optional(8, release.window ? std::optional<std::int64_t>(release.window->start) : std::nullopt)
      .bind_optional(9, release.window ? std::optional<std::int64_t>(release.window->end) : std::nullopt)
      .bind_optional(10, release.window ? std::optional<std::int64_t>(static_cast<std::int64_t>(release.window->cap))
                                        : std::nullopt)
      .bind(11, release.filters_json)
      .bind(12, release.salt)
      .bind(13, now);
  MDS_TRY(insert.run());
  const auto release_id = sqlite3_last_insert_rowid(connection_.get());

  if (release.upgrade) {
    MDS_TRY_ASSIGN(prompt,
                   Statement::prepare(connection_, "UPDATE releases SET upgrade_mode = ?2, "
                                                   "upgrade_remind_days = ?3, upgrade_notes = ?4 WHERE id = ?1"));
    MDS_TRY(prompt.bind(1, release_id)
                .bind(2, release.upgrade->mode)
                .bind(3, static_cast<std::int64_t>(release.upgrade->remind_days))
                .bind_optional(4, release.upgrade->notes)
                .run());
  }
  MDS_TRY_ASSIGN(member, Statement::prepare(connection_, "INSERT INTO release_packages (release_id, position, "
                                                         "package_id, version) VALUES (?1, ?2, ?3, ?4)"));
  for (std::size_t i = 0; i < release.group.size(); ++i) {
    const auto &ref = release.group[i];
    if (auto added =
            member.bind(1, release_id).bind(2, static_cast<std::int64_t>(i)).bind(3, ref.id).bind(4, ref.version).run();
        !added) {
      return added.code() == ErrorCode::AlreadyExists
                 ? make_error(ErrorCode::InvalidArgument, "package \"" + ref.id + "\" named twice")
                 : added.error();
    }
    member.reset();
  }

  MDS_TRY_ASSIGN(use_list, Statement::prepare(connection_, "INSERT INTO release_whitelists (release_id, "
                                                           "whitelist_id, position) SELECT ?1, id, ?2 FROM "
                                                           "whitelists WHERE name = ?3"));
  for (std::size_t i = 0; i < release.whitelists.size(); ++i) {
    if (auto added =
            use_list.bind(1, release_id).bind(2, static_cast<std::int64_t>(i)).bind(3, release.whitelists[i]).run();
        !added) {
      return added.code() == ErrorCode::AlreadyExists
                 ? make_error(ErrorCode::InvalidArgument, "whitelist \"" + release.whitelists[i] + "\" named twice")
                 : added.error();
    }
    if (sqlite3_changes(connection_.get()) == 0) {
      return not_found("whitelist", release.whitelists[i]);
    }
    use_list.reset();
  }
  MDS_TRY_ASSIGN(use_rule, Statement::prepare(connection_, "INSERT INTO release_rule_uses (release_id, rule_id, "
                                                           "position) SELECT ?1, id, ?2 FROM release_rules "
                                                           "WHERE name = ?3"));
  for (std::size_t i = 0; i < release.rules.size(); ++i) {
    if (auto added = use_rule.bind(1, release_id).bind(2, static_cast<std::int64_t>(i)).bind(3, release.rules[i]).run();
        !added) {
      return added.code() == ErrorCode::AlreadyExists
                 ? make_error(ErrorCode::InvalidArgument, "release rule \"" + release.rules[i] + "\" named twice")
                 : added.error();
    }
    if (sqlite3_changes(connection_.get()) == 0) {
      return not_found("release rule", release.rules[i]);
    }
    use_rule.reset();
  }

  Detail detail;
  detail.add("app", release.app).add("kind", to_string(release.kind)).add("stage", to_string(release.progress.stage));
  detail.add("percent_bp", static_cast<std::int64_t>(release.progress.percent_bp));
  if (is_package) {
    detail.add("package", release.package_id).add("version", release.package_version);
  }
  // A config release that appears or moves changes what devices resolve: their config
  // revision must no longer be current.
  MDS_TRY(bump_revision_for_config_release(release_id));
  MDS_TRY(audit(actor, "release.create", "release/" + std::to_string(release_id), detail.str()));
  MDS_TRY(transaction.commit());
  return load_release(release_id);
}

Status SqliteStorage::bump_revision_for_config_release(std::int64_t release_id) {
  MDS_TRY_ASSIGN(bump, Statement::prepare(connection_, "UPDATE apps SET config_revision = config_revision + 1 WHERE "
                                                       "id = (SELECT app_id FROM releases WHERE id = ?1 AND kind = "
                                                       "'config')"));
  bump.bind(1, release_id);
  return bump.run();
}

Result<Release> SqliteStorage::load_release(std::int64_t id) {
  MDS_TRY_ASSIGN(query, Statement::prepare(connection_,
                                           "SELECT apps.name, kind, package_id, package_version, config, stage, "
                                           "paused_from, percent_bp, window_start, window_end, window_cap, filters, "
                                           "salt, releases.created_at, updated_at, upgrade_mode, "
                                           "upgrade_remind_days, upgrade_notes FROM releases JOIN apps ON "
                                           "apps.id = releases.app_id WHERE releases.id = ?1"));
  query.bind(1, id);
  MDS_TRY_ASSIGN(found, query.step());
  if (!found) {
    return not_found("release", std::to_string(id));
  }
  Release release;
  release.id = id;
  release.app = query.text(0);
  release.kind = query.text(1) == "config" ? ReleaseKind::Config : ReleaseKind::Package;
  release.package_id = query.optional_text(2).value_or("");
  release.package_version = query.optional_text(3).value_or("");
  release.config_json = query.optional_text(4).value_or("");
  const auto stage = release_stage_from_string(query.text(5));
  if (!stage) {
    return make_error(ErrorCode::StorageCorrupt, "release " + std::to_string(id) + " has an unknown stage");
  }
  release.progress.stage = *stage;
  if (auto paused_from = query.optional_text(6)) {
    release.progress.paused_from = release_stage_from_string(*paused_from);
  }
  release.progress.percent_bp = static_cast<std::uint32_t>(query.integer(7));
  if (auto start = query.optional_integer(8)) {
    release.window = TimeWindow{*start, query.integer(9), static_cast<std::uint64_t>(query.integer(10))};
  }
  release.filters_json = query.text(11);
  release.salt = query.text(12);
  release.created_at = query.integer(13);
  release.updated_at = query.integer(14);
  if (auto mode = query.optional_text(15)) {
    UpgradePrompt prompt;
    prompt.mode = *mode;
    prompt.remind_days = static_cast<std::uint32_t>(query.optional_integer(16).value_or(3));
    prompt.notes = query.optional_text(17);
    release.upgrade = std::move(prompt);
  }
  MDS_TRY_ASSIGN(members, Statement::prepare(connection_, "SELECT package_id, version FROM release_packages "
                                                          "WHERE release_id = ?1 ORDER BY position"));
  members.bind(1, id);
  for (;;) {
    MDS_TRY_ASSIGN(row, members.step());
    if (!row) {
      break;
    }
    release.group.push_back({members.text(0), members.text(1)});
  }

  MDS_TRY_ASSIGN(lists, Statement::prepare(connection_, "SELECT whitelists.name FROM release_whitelists JOIN "
                                                        "whitelists ON whitelists.id = whitelist_id WHERE "
                                                        "release_id = ?1 ORDER BY position"));
  lists.bind(1, id);
  for (;;) {
    MDS_TRY_ASSIGN(row, lists.step());
    if (!row) {
      break;
    }
    release.whitelists.push_back(lists.text(0));
  }
  MDS_TRY_ASSIGN(rules, Statement::prepare(connection_, "SELECT release_rules.name FROM release_rule_uses JOIN "
                                                        "release_rules ON release_rules.id = rule_id WHERE "
                                                        "release_id = ?1 ORDER BY position"));
  rules.bind(1, id);
  for (;;) {
    MDS_TRY_ASSIGN(row, rules.step());
    if (!row) {
      break;
    }
    release.rules.push_back(rules.text(0));
  }
  return release;
}

Result<std::vector<Release>> SqliteStorage::list_releases(std::optional<std::string> app) {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(query, Statement::prepare(connection_, "SELECT releases.id FROM releases JOIN apps ON apps.id = "
                                                        "releases.app_id WHERE ?1 IS NULL OR apps.name = ?1 "
                                                        "ORDER BY releases.id"));
  query.bind_optional(1, app);
  std::vector<std::int64_t> ids;
  for (;;) {
    MDS_TRY_ASSIGN(row, query.step());
    if (!row) {
      break;
    }
    ids.push_back(query.integer(0));
  }
  std::vector<Release> releases;
  for (auto id : ids) {
    MDS_TRY_ASSIGN(release, load_release(id));
    releases.push_back(std::move(release));
  }
  return releases;
}

Result<Release> SqliteStorage::get_release(std::int64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return load_release(id);
}

Result<Release> SqliteStorage::change_release_progress(const ReleaseProgressChange &change, const Actor &actor) {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(transaction, Transaction::begin(connection_));
  const auto paused_from = [](const ReleaseProgress &progress) {
    return progress.paused_from ? std::optional<std::string>(to_string(*progress.paused_from)) : std::nullopt;
  };
  MDS_TRY_ASSIGN(update,
                 Statement::prepare(connection_, "UPDATE releases SET stage = ?1, paused_from = ?2, percent_bp = ?3, "
                                                 "updated_at = ?4 WHERE id = ?5 AND stage = ?6 AND percent_bp = ?7"));
  update.bind(1, to_string(change.next.stage))
      .bind_optional(2, paused_from(change.next))
      .bind(3, static_cast<std::int64_t>(change.next.percent_bp))
      .bind(4, unix_now_seconds())
      .bind(5, change.release_id)
      .bind(6, to_string(change.expected.stage))
      .bind(7, static_cast<std::int64_t>(change.expected.percent_bp));
  MDS_TRY(update.run());
  if (sqlite3_changes(connection_.get()) == 0) {
    MDS_TRY(load_release(change.release_id)); // NotFound if it does not exist at all
    return make_error(ErrorCode::Conflict,
                      "release " + std::to_string(change.release_id) + " changed meanwhile; read it and try again");
  }
  // A config release that appears or moves changes what devices resolve: their config
  // revision must no longer be current.
  MDS_TRY(bump_revision_for_config_release(change.release_id));
  MDS_TRY(audit(actor, std::string("release.") + to_string(change.action),
                "release/" + std::to_string(change.release_id),
                Detail()
                    .add("from", to_string(change.expected.stage))
                    .add("to", to_string(change.next.stage))
                    .add("percent_bp_from", static_cast<std::int64_t>(change.expected.percent_bp))
                    .add("percent_bp_to", static_cast<std::int64_t>(change.next.percent_bp))
                    .str()));
  MDS_TRY(transaction.commit());
  return load_release(change.release_id);
}

// --- config -------------------------------------------------------------------------

// --- time windows -------------------------------------------------------------------

Result<WindowAdmission> SqliteStorage::window_place(std::int64_t release_id, std::string_view device_id,
                                                    std::uint64_t cap, bool may_take_place, bool take) {
  // The caller holds the mutex and, when taking, a write transaction: the read of the
  // count and the insert are one step for every other writer.
  WindowAdmission answer;
  MDS_TRY_ASSIGN(count, Statement::prepare(connection_, "SELECT window_admitted FROM releases WHERE id = ?1"));
  count.bind(1, release_id);
  MDS_TRY_ASSIGN(found, count.step());
  if (!found) {
    return make_error(ErrorCode::NotFound, "release " + std::to_string(release_id) + " does not exist");
  }
  answer.admitted_count = static_cast<std::uint64_t>(count.integer(0));
  MDS_TRY_ASSIGN(member, Statement::prepare(connection_, "SELECT 1 FROM window_admissions "
                                                         "WHERE release_id = ?1 AND device_id = ?2"));
  member.bind(1, release_id).bind(2, device_id);
  MDS_TRY_ASSIGN(held, member.step());
  if (held) {
    answer.admitted = true;
    answer.already = true;
    return answer;
  }
  if (!may_take_place || answer.admitted_count >= cap) {
    return answer;
  }
  answer.admitted = true;
  if (!take) {
    return answer;
  }
  MDS_TRY_ASSIGN(insert, Statement::prepare(connection_, "INSERT INTO window_admissions (release_id, device_id, "
                                                         "admitted_at) VALUES (?1, ?2, ?3)"));
  MDS_TRY(insert.bind(1, release_id).bind(2, device_id).bind(3, unix_now_seconds()).run());
  MDS_TRY_ASSIGN(raise, Statement::prepare(connection_, "UPDATE releases SET window_admitted = window_admitted + 1 "
                                                        "WHERE id = ?1"));
  MDS_TRY(raise.bind(1, release_id).run());
  answer.admitted_count += 1;
  return answer;
}

Result<WindowAdmission> SqliteStorage::admit_to_window(std::int64_t release_id, std::string_view device_id,
                                                       std::uint64_t cap, bool may_take_place) {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(transaction, Transaction::begin(connection_));
  MDS_TRY_ASSIGN(answer, window_place(release_id, device_id, cap, may_take_place, true));
  if (answer.admitted && !answer.already) {
    MDS_TRY(transaction.commit());
  }
  return answer;
}

Result<WindowAdmission> SqliteStorage::peek_window(std::int64_t release_id, std::string_view device_id,
                                                   std::uint64_t cap, bool may_take_place) {
  std::lock_guard<std::mutex> lock(mutex_);
  return window_place(release_id, device_id, cap, may_take_place, false);
}

Result<ConfigValue> SqliteStorage::set_config_value(std::string_view app, std::string_view key,
                                                    std::string_view value_json,
                                                    const std::optional<std::string> &description,
                                                    const std::optional<std::string> &variants_json,
                                                    const Actor &actor) {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(transaction, Transaction::begin(connection_));
  MDS_TRY_ASSIGN(owner, load_app(app));
  std::int64_t revision = 0;
  {
    MDS_TRY_ASSIGN(bump, Statement::prepare(connection_, "UPDATE apps SET config_revision = config_revision + 1 "
                                                         "WHERE id = ?1 RETURNING config_revision"));
    bump.bind(1, owner.id);
    MDS_TRY_ASSIGN(bumped, bump.step());
    if (!bumped) {
      return make_error(ErrorCode::Internal, "the app vanished inside its own transaction");
    }
    revision = bump.integer(0);
  } // finalised before the transaction goes on
  const auto now = unix_now_seconds();
  MDS_TRY_ASSIGN(upsert, Statement::prepare(connection_,
                                            "INSERT INTO config_values (app_id, key, value, description, revision, "
                                            "updated_at, variants) VALUES (?1, ?2, ?3, COALESCE(?4, ''), ?5, ?6, "
                                            "COALESCE(?7, '[]')) "
                                            "ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value, "
                                            "description = COALESCE(?4, config_values.description), "
                                            "variants = COALESCE(?7, config_values.variants), "
                                            "revision = excluded.revision, updated_at = excluded.updated_at"));
  upsert.bind(1, owner.id)
      .bind(2, key)
      .bind(3, value_json)
      .bind_optional(4, description)
      .bind(5, revision)
      .bind(6, now)
      .bind_optional(7, variants_json);
  MDS_TRY(upsert.run());
  Detail detail;
  detail.add("revision", revision).add("value", value_json);
  if (variants_json) {
    detail.add("variants", *variants_json);
  }
  MDS_TRY(audit(actor, "config.set", "config/" + std::string(app) + "/" + std::string(key), detail.str()));
  MDS_TRY(transaction.commit());
  MDS_TRY_ASSIGN(stored, load_config_values(app, key));
  return stored.front();
}

Result<std::vector<ConfigValue>> SqliteStorage::load_config_values(std::string_view app,
                                                                   std::optional<std::string_view> key) {
  MDS_TRY_ASSIGN(query,
                 Statement::prepare(connection_, "SELECT key, value, description, revision, "
                                                 "config_values.updated_at, variants FROM config_values JOIN apps ON "
                                                 "apps.id = app_id WHERE apps.name = ?1 AND (?2 IS NULL OR "
                                                 "key = ?2) ORDER BY key"));
  query.bind(1, app).bind_optional(2, key ? std::optional<std::string>(*key) : std::nullopt);
  std::vector<ConfigValue> values;
  for (;;) {
    MDS_TRY_ASSIGN(row, query.step());
    if (!row) {
      break;
    }
    ConfigValue value;
    value.app = std::string(app);
    value.key = query.text(0);
    value.value_json = query.text(1);
    value.description = query.text(2);
    value.revision = query.integer(3);
    value.updated_at = query.integer(4);
    value.variants_json = query.text(5);
    values.push_back(std::move(value));
  }
  if (key && values.empty()) {
    return not_found("config key", std::string(app) + "/" + std::string(*key));
  }
  return values;
}

Result<ConfigValues> SqliteStorage::list_config_values(std::string_view app) {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(query, Statement::prepare(connection_, "SELECT config_revision FROM apps WHERE name = ?1"));
  query.bind(1, app);
  MDS_TRY_ASSIGN(found, query.step());
  if (!found) {
    return not_found("app", app);
  }
  ConfigValues result;
  result.revision = query.integer(0);
  MDS_TRY_ASSIGN(values, load_config_values(app, std::nullopt));
  result.values = std::move(values);
  return result;
}

Result<ConfigValue> SqliteStorage::get_config_value(std::string_view app, std::string_view key) {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY(load_app(app));
  MDS_TRY_ASSIGN(values, load_config_values(app, key));
  return values.front();
}

// --- audit --------------------------------------------------------------------------

Result<std::vector<AuditEntry>> SqliteStorage::list_audit(const AuditQuery &query_options) {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(query, Statement::prepare(connection_, "SELECT id, at, actor, action, target, detail FROM audit_log "
                                                        "WHERE (?1 IS NULL OR id < ?1) AND (?2 IS NULL OR target = ?2) "
                                                        "ORDER BY id DESC LIMIT ?3"));
  query.bind_optional(1, query_options.before_id)
      .bind_optional(2, query_options.target)
      .bind(3, static_cast<std::int64_t>(query_options.limit));
  std::vector<AuditEntry> entries;
  for (;;) {
    MDS_TRY_ASSIGN(row, query.step());
    if (!row) {
      break;
    }
    AuditEntry entry;
    entry.id = query.integer(0);
    entry.at = query.integer(1);
    entry.actor = query.text(2);
    entry.action = query.text(3);
    entry.target = query.text(4);
    entry.detail_json = query.text(5);
    entries.push_back(std::move(entry));
  }
  return entries;
}

namespace {

// The counter column an event type raises; nullptr for types that count nothing (the
// server counts offers itself, when it answers a check).
const char *counter_upsert(std::string_view type) {
  if (type == "downloaded") {
    return "INSERT INTO release_counters (release_id, downloaded) VALUES (?1, 1) "
           "ON CONFLICT (release_id) DO UPDATE SET downloaded = downloaded + 1";
  }
  if (type == "installed") {
    return "INSERT INTO release_counters (release_id, installed) VALUES (?1, 1) "
           "ON CONFLICT (release_id) DO UPDATE SET installed = installed + 1";
  }
  if (type == "failed") {
    return "INSERT INTO release_counters (release_id, failed) VALUES (?1, 1) "
           "ON CONFLICT (release_id) DO UPDATE SET failed = failed + 1";
  }
  if (type == "rolled_back") {
    return "INSERT INTO release_counters (release_id, rolled_back) VALUES (?1, 1) "
           "ON CONFLICT (release_id) DO UPDATE SET rolled_back = rolled_back + 1";
  }
  return nullptr;
}

// A release id written by the server: decimal, no sign, no leading zero.
std::optional<std::int64_t> release_id_of(std::string_view text) {
  if (text.empty() || text.size() > 18 || text.front() == '0') {
    return std::nullopt;
  }
  std::int64_t id = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    id = id * 10 + (c - '0');
  }
  return id;
}

} // namespace

Status SqliteStorage::count_offered(const std::vector<std::int64_t> &release_ids) {
  if (release_ids.empty()) {
    return {};
  }
  OfferedCounts due;
  {
    std::lock_guard<std::mutex> lock(offered_mutex_);
    for (const auto id : release_ids) {
      ++pending_offered_[id];
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_offered_write_ < kOfferedWriteInterval) {
      return {};
    }
    last_offered_write_ = now;
    due.swap(pending_offered_);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  return write_offered(std::move(due));
}

Status SqliteStorage::write_pending_offered() {
  OfferedCounts due;
  {
    std::lock_guard<std::mutex> lock(offered_mutex_);
    due.swap(pending_offered_);
  }
  return write_offered(std::move(due));
}

Status SqliteStorage::write_offered(OfferedCounts due) {
  if (due.empty()) {
    return {};
  }
  auto written = [&]() -> Status {
    MDS_TRY_ASSIGN(transaction, Transaction::begin(connection_));
    MDS_TRY_ASSIGN(upsert,
                   Statement::prepare(connection_, "INSERT INTO release_counters (release_id, offered) VALUES (?1, ?2) "
                                                   "ON CONFLICT (release_id) DO UPDATE SET offered = offered + ?2"));
    for (const auto &[id, count] : due) {
      upsert.reset();
      upsert.bind(1, id).bind(2, static_cast<std::int64_t>(count));
      MDS_TRY(upsert.run());
    }
    return transaction.commit();
  }();
  if (!written) {
    // Kept for the next write rather than lost.
    std::lock_guard<std::mutex> lock(offered_mutex_);
    for (const auto &[id, count] : due) {
      pending_offered_[id] += count;
    }
  }
  return written;
}

Result<std::vector<std::string>> SqliteStorage::record_events(std::string_view app, std::string_view device_id,
                                                              const std::vector<DeviceEvent> &events) {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY_ASSIGN(transaction, Transaction::begin(connection_));
  MDS_TRY_ASSIGN(owner, load_app(app));
  const auto now = unix_now_seconds();
  std::vector<std::string> held;
  for (const auto &event : events) {
    {
      MDS_TRY_ASSIGN(insert, Statement::prepare(connection_,
                                                "INSERT OR IGNORE INTO device_events (id, app_id, device_id, type, at, "
                                                "release, package, version, code, detail, received_at) VALUES (?1, "
                                                "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
      insert.bind(1, event.id)
          .bind(2, owner.id)
          .bind(3, device_id)
          .bind(4, event.type)
          .bind(5, event.time)
          .bind(6, event.release)
          .bind(7, event.package)
          .bind(8, event.version)
          .bind_optional(9, event.code)
          .bind(10, event.detail)
          .bind(11, now);
      MDS_TRY(insert.run());
    }
    held.push_back(event.id);
    const bool stored_now = sqlite3_changes(connection_.get()) > 0;
    const char *upsert_sql = counter_upsert(event.type);
    const auto release_id = release_id_of(event.release);
    if (!stored_now || upsert_sql == nullptr || !release_id) {
      continue;
    }
    MDS_TRY_ASSIGN(owned, Statement::prepare(connection_, "SELECT 1 FROM releases WHERE id = ?1 AND app_id = ?2"));
    owned.bind(1, *release_id).bind(2, owner.id);
    MDS_TRY_ASSIGN(found, owned.step());
    if (!found) {
      continue; // a release the device names wrongly, or of another app: kept, not counted
    }
    MDS_TRY_ASSIGN(upsert, Statement::prepare(connection_, upsert_sql));
    upsert.bind(1, *release_id);
    MDS_TRY(upsert.run());
  }
  MDS_TRY(transaction.commit());
  return held;
}

Result<ReleaseCounters> SqliteStorage::release_counters(std::int64_t release_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  MDS_TRY(write_pending_offered()); // counts still in memory are counts too
  MDS_TRY(load_release(release_id));
  MDS_TRY_ASSIGN(query, Statement::prepare(connection_, "SELECT offered, downloaded, installed, failed, rolled_back "
                                                        "FROM release_counters WHERE release_id = ?1"));
  query.bind(1, release_id);
  MDS_TRY_ASSIGN(row, query.step());
  ReleaseCounters counters;
  if (row) {
    counters.offered = static_cast<std::uint64_t>(query.integer(0));
    counters.downloaded = static_cast<std::uint64_t>(query.integer(1));
    counters.installed = static_cast<std::uint64_t>(query.integer(2));
    counters.failed = static_cast<std::uint64_t>(query.integer(3));
    counters.rolled_back = static_cast<std::uint64_t>(query.integer(4));
  }
  return counters;
}

Result<std::uint64_t> SqliteStorage::size_bytes() {
  return file_size_or_zero(file_.string()) + file_size_or_zero(file_.string() + "-wal");
}

} // namespace mds::server
