// The client's on-device state: WAL database, single-writer lock, migrations, floors that
// survive a damaged or replaced database (SECURITY.md #4, #21, #27).
#include "state/store.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <functional>

using mds::ErrorCode;
using mds::state::ConfigSnapshot;
using mds::state::OpenReport;
using mds::state::QueuedEvent;
using mds::state::Store;

namespace {

std::unique_ptr<Store> open_store(const std::filesystem::path &dir, OpenReport *report = nullptr) {
  auto store = Store::open(dir, report);
  if (!store) {
    FAIL(mds::describe(store.error()));
  }
  return std::move(*store);
}

std::string floor_of(Store &store, const std::string &kind, const std::string &package) {
  auto floor = store.floor(kind, package);
  REQUIRE(floor);
  return floor->value_or("");
}

std::string query_one(const std::filesystem::path &db_path, const char *sql) {
  sqlite3 *db = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt *stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK);
  std::string out;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    out = reinterpret_cast<const char *>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

void overwrite(const std::filesystem::path &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

} // namespace

TEST_CASE("A new state directory gets a WAL database with the current schema", "[state]") {
  mds::test::TempDir dir;
  OpenReport report;
  {
    auto store = open_store(dir / "state", &report);
    CHECK(report.created);
    CHECK_FALSE(report.rebuilt);
    REQUIRE(store->set_meta("k", "v"));
  }
  CHECK(query_one(dir / "state" / "mds.db", "PRAGMA journal_mode") == "wal");
  CHECK(query_one(dir / "state" / "mds.db", "SELECT version FROM schema_version") ==
        std::to_string(mds::state::kSchemaVersion));
  auto again = open_store(dir / "state", &report);
  CHECK_FALSE(report.created);
  auto value = again->meta("k");
  REQUIRE(value);
  CHECK(value->value_or("") == "v");
}

TEST_CASE("A second owner of the state directory gets Locked, in this process and another", "[state]") {
  mds::test::TempDir dir;
  auto first = open_store(dir.path());

  auto second = Store::open(dir.path());
  REQUIRE_FALSE(second);
  CHECK(second.code() == ErrorCode::Locked);
  CHECK(second.error().message.find("in use") != std::string::npos);

  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto other = Store::open(dir.path());
    ::_exit(!other && other.code() == ErrorCode::Locked ? 42 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 42);

  first.reset();
  auto after_release = Store::open(dir.path());
  CHECK(after_release);
}

TEST_CASE("Floors only rise, and survive a restart", "[state]") {
  mds::test::TempDir dir;
  {
    auto store = open_store(dir.path());
    REQUIRE(store->set_installed("offline", "h5", "1.2.0"));
    CHECK(floor_of(*store, "offline", "h5") == "1.2.0");
    REQUIRE(store->raise_floor("offline", "h5", "1.10.0"));
    auto lower = store->raise_floor("offline", "h5", "1.9.9");
    REQUIRE_FALSE(lower);
    CHECK(lower.code() == ErrorCode::VersionRollback);
    auto lower_install = store->set_installed("offline", "h5", "1.2.0");
    CHECK(lower_install.code() == ErrorCode::VersionRollback);
    CHECK(store->raise_floor("offline", "h5", "1.10.0")); // equal is fine
    CHECK(store->raise_floor("offline", "h5", "nonsense").code() == ErrorCode::VersionInvalid);
    auto installed = store->installed("offline");
    REQUIRE(installed);
    CHECK(installed->at("h5") == "1.2.0");
  }
  auto store = open_store(dir.path());
  CHECK(floor_of(*store, "offline", "h5") == "1.10.0");
  CHECK(store->raise_floor("offline", "h5", "1.9").code() == ErrorCode::VersionRollback);
}

TEST_CASE("A damaged database is rebuilt without lowering a floor or losing the device id", "[state]") {
  struct Damage {
    std::string name;
    std::function<void(const std::filesystem::path &db)> apply;
    bool rebuilt; // false: SQLite reads it as an empty database, the side file restores
  };
  const std::vector<Damage> damages = {
      {"garbage", [](const std::filesystem::path &db) { overwrite(db, std::string(8192, '\x5a')); }, true},
      {"zero length", [](const std::filesystem::path &db) { overwrite(db, ""); }, false},
      {"truncated to one page", [](const std::filesystem::path &db) { std::filesystem::resize_file(db, 4096); }, true},
      {"header garbled",
       [](const std::filesystem::path &db) {
         std::fstream file(db, std::ios::in | std::ios::out | std::ios::binary);
         file.seekp(0);
         file << "this is not sqlite";
       },
       true},
      {"removed", [](const std::filesystem::path &db) { std::filesystem::remove(db); }, false},
      {"schema from the future",
       [](const std::filesystem::path &db) {
         sqlite3 *handle = nullptr;
         sqlite3_open(db.c_str(), &handle);
         sqlite3_exec(handle, "UPDATE schema_version SET version = 999", nullptr, nullptr, nullptr);
         sqlite3_close(handle);
       },
       true},
  };
  for (const auto &damage : damages) {
    INFO(damage.name);
    mds::test::TempDir dir;
    std::string device;
    {
      auto store = open_store(dir.path());
      auto id = store->device_id("generated-1");
      REQUIRE(id);
      device = *id;
      REQUIRE(store->set_installed("offline", "h5", "2.0.0"));
      REQUIRE(store->raise_floor("hotpatch", "patch", "7"));
      // Enough rows that the file has several pages.
      for (int i = 0; i < 200; ++i) {
        REQUIRE(store->enqueue_event({"id-" + std::to_string(i), std::string(200, 'e')}, 1000));
      }
      REQUIRE(store->replace_config(ConfigSnapshot{5, {{"k", "1"}}}));
    }
    for (const char *suffix : {"-wal", "-shm"}) {
      std::filesystem::remove(dir.path() / (std::string("mds.db") + suffix));
    }
    damage.apply(dir / "mds.db");

    OpenReport report;
    auto store = open_store(dir.path(), &report);
    CHECK(report.rebuilt == damage.rebuilt);
    CHECK(floor_of(*store, "offline", "h5") == "2.0.0");
    CHECK(floor_of(*store, "hotpatch", "patch") == "7");
    CHECK(store->raise_floor("offline", "h5", "1.0.0").code() == ErrorCode::VersionRollback);
    auto id = store->device_id("generated-2");
    REQUIRE(id);
    CHECK(*id == device);
    auto config = store->load_config();
    REQUIRE(config);
    CHECK(config->revision == 0); // caches start over
    if (report.rebuilt) {
      CHECK_FALSE(report.rebuild_reason.empty());
    }
  }
}

TEST_CASE("An older copy of the database does not bring old floors back", "[state]") {
  mds::test::TempDir dir;
  {
    auto store = open_store(dir.path());
    REQUIRE(store->raise_floor("upgrade", "app", "10.1.0"));
  }
  std::filesystem::copy_file(dir / "mds.db", dir / "old.db");
  {
    auto store = open_store(dir.path());
    REQUIRE(store->raise_floor("upgrade", "app", "10.3.0"));
  }
  for (const char *suffix : {"-wal", "-shm"}) {
    std::filesystem::remove(dir.path() / (std::string("mds.db") + suffix));
  }
  std::filesystem::copy_file(dir / "old.db", dir / "mds.db", std::filesystem::copy_options::overwrite_existing);
  auto store = open_store(dir.path());
  CHECK(floor_of(*store, "upgrade", "app") == "10.3.0");
}

TEST_CASE("Configuration is replaced whole and kept", "[state]") {
  mds::test::TempDir dir;
  {
    auto store = open_store(dir.path());
    REQUIRE(store->replace_config(ConfigSnapshot{3, {{"a", "1"}, {"b", "\"x\""}}}));
    REQUIRE(store->replace_config(ConfigSnapshot{4, {{"b", "\"y\""}, {"c", "true"}}}));
  }
  auto store = open_store(dir.path());
  auto config = store->load_config();
  REQUIRE(config);
  CHECK(config->revision == 4);
  CHECK(config->values == std::map<std::string, std::string>{{"b", "\"y\""}, {"c", "true"}});
}

TEST_CASE("The event queue is bounded, drops the oldest with a count, and deletes exact ids", "[state]") {
  mds::test::TempDir dir;
  {
    auto store = open_store(dir.path());
    for (int i = 0; i < 12; ++i) {
      REQUIRE(store->enqueue_event({"e" + std::to_string(i), "{\"n\":" + std::to_string(i) + "}"}, 10));
    }
    auto count = store->event_count();
    REQUIRE(count);
    CHECK(*count == 10);
    auto dropped = store->events_dropped();
    REQUIRE(dropped);
    CHECK(*dropped == 2);
    auto oldest = store->oldest_events(3);
    REQUIRE(oldest);
    REQUIRE(oldest->size() == 3);
    CHECK((*oldest)[0].id == "e2");
    CHECK((*oldest)[2].json == "{\"n\":4}");
    // The same id again is one event, not two.
    REQUIRE(store->enqueue_event({"e5", "{}"}, 10));
    CHECK(*store->event_count() == 10);
    auto deleted = store->delete_events({"e2", "e4", "unknown"});
    REQUIRE(deleted);
    CHECK(*deleted == 2);
    CHECK(store->enqueue_event({"x", "{}"}, 0).code() == ErrorCode::InvalidArgument);
  }
  auto store = open_store(dir.path());
  auto left = store->oldest_events(100);
  REQUIRE(left);
  REQUIRE(left->size() == 8);
  CHECK(left->front().id == "e3");
  CHECK(left->back().id == "e11");
}

TEST_CASE("Prompt state and download checkpoints are kept per key", "[state]") {
  mds::test::TempDir dir;
  auto store = open_store(dir.path());
  auto none = store->prompt_state("10.3.0");
  REQUIRE(none);
  CHECK_FALSE(none->has_value());
  REQUIRE(store->record_prompt("10.3.0", 1000));
  REQUIRE(store->record_prompt("10.3.0", 2000));
  auto state = store->prompt_state("10.3.0");
  REQUIRE(state);
  REQUIRE(state->has_value());
  CHECK((*state)->last_prompt_unix == 2000);
  CHECK((*state)->prompt_count == 2);

  REQUIRE(store->save_checkpoint({"upgrade/app/10.3.0", "http://x/b", "\"e\"", 123, std::string(64, 'a')}));
  auto checkpoint = store->checkpoint("upgrade/app/10.3.0");
  REQUIRE(checkpoint);
  REQUIRE(checkpoint->has_value());
  CHECK((*checkpoint)->etag == "\"e\"");
  CHECK((*checkpoint)->expected_size == 123);
  REQUIRE(store->clear_checkpoint("upgrade/app/10.3.0"));
  CHECK_FALSE(store->checkpoint("upgrade/app/10.3.0")->has_value());
}

TEST_CASE("Refused offers are kept per offer, bounded, and forgotten when the package installs", "[state]") {
  mds::test::TempDir dir;
  auto store = open_store(dir.path());
  const std::string digest(64, 'd');
  REQUIRE(store->remember_refused_offer(
      {"offline", "h5", "2.0.0", digest, mds::make_error(mds::ErrorCode::SignatureUntrustedKey, "no trusted key")}));
  store.reset();
  store = open_store(dir.path()); // kept across a restart
  auto refused = store->refused_offer("offline", "h5", "2.0.0", digest);
  REQUIRE(refused);
  REQUIRE(refused->has_value());
  CHECK((*refused)->code == mds::ErrorCode::SignatureUntrustedKey);
  CHECK((*refused)->message == "no trusted key");
  for (const auto &[kind, package, version, other] :
       std::vector<std::array<std::string, 4>>{{"upgrade", "h5", "2.0.0", digest},
                                               {"offline", "cart", "2.0.0", digest},
                                               {"offline", "h5", "2.0.1", digest},
                                               {"offline", "h5", "2.0.0", std::string(64, 'e')}}) {
    INFO(kind << " " << package << " " << version << " " << other);
    CHECK_FALSE(store->refused_offer(kind, package, version, other)->has_value());
  }

  // Installing a version of the package forgets its refusals, not another package's.
  REQUIRE(store->remember_refused_offer(
      {"offline", "cart", "1.0.0", digest, mds::make_error(mds::ErrorCode::PathUnsafe, "../x")}));
  REQUIRE(store->commit_installs({{"offline", "h5", "3.0.0", "{}", ""}}));
  CHECK_FALSE(store->refused_offer("offline", "h5", "2.0.0", digest)->has_value());
  CHECK(store->refused_offer("offline", "cart", "1.0.0", digest)->has_value());

  // At most kMaxRefusedOffers: the oldest go first.
  for (int i = 0; i < mds::state::kMaxRefusedOffers; ++i) {
    REQUIRE(store->remember_refused_offer(
        {"offline", "p" + std::to_string(i), "1.0.0", digest, mds::make_error(mds::ErrorCode::FileHashMismatch, "x")}));
  }
  CHECK_FALSE(store->refused_offer("offline", "cart", "1.0.0", digest)->has_value());
  CHECK(store->refused_offer("offline", "p0", "1.0.0", digest)->has_value());
  CHECK(query_one(dir / "mds.db", "SELECT count(*) FROM refused_offers") ==
        std::to_string(mds::state::kMaxRefusedOffers));
}

TEST_CASE("Opening refuses an empty directory name and a directory it cannot create", "[state]") {
  CHECK(Store::open("").code() == ErrorCode::InvalidArgument);
  mds::test::TempDir dir;
  overwrite(dir / "file", "x");
  auto under_file = Store::open(dir / "file" / "state");
  REQUIRE_FALSE(under_file);
  CHECK(under_file.code() == ErrorCode::IoError);
}

TEST_CASE("A side file with a malformed floor does not stop the store from opening", "[state]") {
  mds::test::TempDir dir;
  {
    auto store = open_store(dir.path());
    REQUIRE(store->raise_floor("offline", "h5", "2.0.0"));
  }
  overwrite(dir / "floors.json",
            R"({"format":1,"device_id":"d","floors":{"offline/h5":"1.0.0","offline/x":"not a version","nokind":"1"}})");
  OpenReport report;
  auto store = open_store(dir.path(), &report);
  CHECK(floor_of(*store, "offline", "h5") == "2.0.0"); // the database's higher floor wins
  CHECK(floor_of(*store, "offline", "x").empty());
  CHECK(report.rebuild_reason.find("side file floor dropped") != std::string::npos);
  auto id = store->device_id("other");
  REQUIRE(id);
  CHECK_FALSE(id->empty());
  // The side file was brought up to the database's floor, so losing the database now
  // does not bring 1.0.0 back.
  store.reset();
  std::filesystem::remove(dir / "mds.db");
  std::filesystem::remove(dir / "mds.db-wal");
  std::filesystem::remove(dir / "mds.db-shm");
  auto rebuilt = open_store(dir.path());
  CHECK(floor_of(*rebuilt, "offline", "h5") == "2.0.0");
}
