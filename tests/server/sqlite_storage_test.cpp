#include "server/storage/data_dir.hpp"
#include "server/storage/sqlite/schema.hpp"
#include "server/storage/sqlite/sqlite_storage.hpp"
#include "server/storage/whitelist_index.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

using namespace mds::server;
using mds::ErrorCode;

namespace {

class VectorIds final : public IdSource {
public:
  explicit VectorIds(std::vector<std::string> ids, std::optional<std::size_t> fail_at = std::nullopt)
      : ids_(std::move(ids)), fail_at_(fail_at) {}
  mds::Result<std::optional<std::string_view>> next() override {
    if (fail_at_ && position_ == *fail_at_) {
      return mds::make_error(ErrorCode::InvalidArgument, "bad id");
    }
    if (position_ == ids_.size()) {
      return std::optional<std::string_view>();
    }
    return std::optional<std::string_view>(ids_[position_++]);
  }

private:
  std::vector<std::string> ids_;
  std::optional<std::size_t> fail_at_;
  std::size_t position_ = 0;
};

NewApp example_app(const std::string &name = "com.example") {
  NewApp app;
  app.name = name;
  app.platform = Platform::Ios;
  app.publisher_keys = {{std::string(64, 'a'), "-----BEGIN PUBLIC KEY-----\nA\n-----END PUBLIC KEY-----\n"}};
  return app;
}

NewRelease package_release(const std::string &app = "com.example") {
  NewRelease release;
  release.app = app;
  release.package_id = "home";
  release.package_version = "3";
  release.filters_json = "[]";
  release.salt = "00";
  return release;
}

} // namespace

TEST_CASE("the database is created in WAL mode with the latest schema", "[storage]") {
  mds::test::TempDir temp;
  auto storage = SqliteStorage::open(temp / "mds.db");
  REQUIRE(storage.ok());
  sqlite3 *db = nullptr;
  REQUIRE(sqlite3_open((temp / "mds.db").c_str(), &db) == SQLITE_OK);
  sqlite3_stmt *statement = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &statement, nullptr);
  REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char *>(sqlite3_column_text(statement, 0))) == "wal");
  sqlite3_finalize(statement);
  sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &statement, nullptr);
  REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
  CHECK(sqlite3_column_int(statement, 0) == mds::server::sqlite::latest_schema_version());
  sqlite3_finalize(statement);
  // A database from a newer server is refused rather than misread.
  sqlite3_exec(db, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  storage->reset();
  CHECK(SqliteStorage::open(temp / "mds.db").code() == ErrorCode::Unsupported);
}

TEST_CASE("apps: create, get, list, duplicates refused, state survives reopening", "[storage]") {
  mds::test::TempDir temp;
  {
    auto storage = SqliteStorage::open(temp / "mds.db").value();
    auto created = storage->create_app(example_app(), "alice");
    REQUIRE(created.ok());
    CHECK(created->platform == Platform::Ios);
    CHECK(storage->create_app(example_app(), "alice").code() == ErrorCode::AlreadyExists);
    CHECK(storage->get_app("nope").code() == ErrorCode::NotFound);
  }
  auto storage = SqliteStorage::open(temp / "mds.db").value();
  auto app = storage->get_app("com.example");
  REQUIRE(app.ok());
  REQUIRE(app->publisher_keys.size() == 1);
  CHECK(app->publisher_keys[0].key_id == std::string(64, 'a'));
  CHECK(storage->list_apps()->size() == 1);
  auto audit = storage->list_audit({});
  REQUIRE(audit.ok());
  REQUIRE(audit->size() == 1);
  CHECK(audit->front().actor == "alice");
  CHECK(audit->front().action == "app.create");
  CHECK(audit->front().target == "app/com.example");
}

TEST_CASE("whitelist import replaces entries atomically", "[storage]") {
  mds::test::TempDir temp;
  auto storage = SqliteStorage::open(temp / "mds.db").value();
  VectorIds first({"u3", "u1", "u2", "u1"});
  auto imported = storage->import_whitelist("beta", WhitelistType::User, WhitelistMatch::Id, first, "alice");
  REQUIRE(imported.ok());
  CHECK(imported->created);
  CHECK(imported->ids_read == 4);
  CHECK(imported->duplicates == 1);
  CHECK(imported->whitelist.entry_count == 3);
  CHECK(storage->get_whitelist("beta", 2)->sample == std::vector<std::string>{"u1", "u2"});
  CHECK(storage->whitelist_contains("beta", "u3").value());
  CHECK_FALSE(storage->whitelist_contains("beta", "u4").value());

  // A failing source leaves the previous content.
  VectorIds failing({"x1", "x2"}, 1);
  CHECK(storage->import_whitelist("beta", WhitelistType::User, WhitelistMatch::Id, failing, "alice").code() ==
        ErrorCode::InvalidArgument);
  CHECK(storage->get_whitelist("beta", 10)->sample == std::vector<std::string>{"u1", "u2", "u3"});

  VectorIds wrong_type({"d1"});
  CHECK(storage->import_whitelist("beta", WhitelistType::Device, WhitelistMatch::Id, wrong_type, "alice").code() ==
        ErrorCode::Conflict);

  VectorIds second({"v1"});
  imported = storage->import_whitelist("beta", WhitelistType::User, WhitelistMatch::Id, second, "bob");
  REQUIRE(imported.ok());
  CHECK_FALSE(imported->created);
  CHECK(storage->get_whitelist("beta", 10)->sample == std::vector<std::string>{"v1"});
  CHECK(storage->list_whitelists()->front().entry_count == 1);
}

namespace {

// Ids whose byte order puts prefixes and near twins side by side ("id-0012", "id-0012x",
// "id-00120"), shuffled, spanning several storage chunks.
std::vector<std::string> many_ids(std::size_t count) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < count; ++i) {
    char text[32];
    std::snprintf(text, sizeof text, "id-%04zu", i);
    ids.emplace_back(text);
  }
  std::vector<std::string> shuffled = ids;
  std::mt19937 random(7);
  std::shuffle(shuffled.begin(), shuffled.end(), random);
  return shuffled;
}

void check_holds_exactly(SqliteStorage &storage, const std::string &list, std::size_t count) {
  auto ids = many_ids(count);
  for (const auto &id : ids) {
    if (!storage.whitelist_contains(list, id).value()) {
      FAIL("missing " << id);
    }
  }
  for (const std::string absent : {"", "id-", "id-000", "id-0000x", "id-00000", "id-9999", "a", "zz", "id-0255\n"}) {
    CHECK_FALSE(storage.whitelist_contains(list, absent).value());
  }
  std::sort(ids.begin(), ids.end());
  auto sample = storage.get_whitelist(list, 1000);
  REQUIRE(sample.ok());
  CHECK(sample->whitelist.entry_count == count);
  CHECK(sample->sample == std::vector<std::string>(ids.begin(), ids.begin() + std::min<std::size_t>(count, 1000)));
}

} // namespace

TEST_CASE("a whitelist of many ids is found exactly across its storage chunks", "[storage]") {
  mds::test::TempDir temp;
  auto storage = SqliteStorage::open(temp / "mds.db").value();
  VectorIds ids(many_ids(1500));
  REQUIRE(storage->import_whitelist("many", WhitelistType::Device, WhitelistMatch::Id, ids, "alice").ok());
  check_holds_exactly(*storage, "many", 1500);
  // Replacing by fewer ids leaves none of the old ones behind.
  VectorIds fewer(many_ids(300));
  REQUIRE(storage->import_whitelist("many", WhitelistType::Device, WhitelistMatch::Id, fewer, "alice").ok());
  check_holds_exactly(*storage, "many", 300);
  CHECK_FALSE(storage->whitelist_contains("many", "id-0300").value());
  CHECK_FALSE(storage->whitelist_contains("many", "id-1499").value());
}

TEST_CASE("regex lists: whole-id matches, patterns checked before anything changes", "[storage]") {
  mds::test::TempDir temp;
  auto storage = SqliteStorage::open(temp / "mds.db").value();
  VectorIds patterns({"beta-[0-9]+", "(?i)qa-.*", "(a+)+$"});
  auto imported = storage->import_whitelist("testers", WhitelistType::User, WhitelistMatch::Regex, patterns, "alice");
  REQUIRE(imported.ok());
  CHECK(imported->whitelist.match == WhitelistMatch::Regex);
  CHECK(imported->whitelist.entry_count == 3);
  for (const std::string in : {"beta-1", "beta-2024", "QA-x", "qa-", "aaaa"}) {
    CHECK(storage->whitelist_contains("testers", in).value());
  }
  for (const std::string &out : std::vector<std::string>{"beta-", "xbeta-1", "beta-1x", "q", "", "beta-1\nbeta-2",
                                                         std::string(5000, 'a') + "!"}) {
    CHECK_FALSE(storage->whitelist_contains("testers", out).value());
  }

  struct Refused {
    std::vector<std::string> patterns;
    WhitelistMatch match;
    ErrorCode code;
  };
  std::vector<std::string> too_many;
  for (int i = 0; i <= 1000; ++i) {
    too_many.push_back("p" + std::to_string(i));
  }
  const std::vector<Refused> refused = {
      {{"beta-(", "ok"}, WhitelistMatch::Regex, ErrorCode::InvalidArgument},
      {{"[z-a]"}, WhitelistMatch::Regex, ErrorCode::InvalidArgument},
      {{"(a)\\1"}, WhitelistMatch::Regex, ErrorCode::InvalidArgument}, // a back-reference: RE2 has none
      {{std::string(1025, 'a')}, WhitelistMatch::Regex, ErrorCode::InvalidArgument},
      {too_many, WhitelistMatch::Regex, ErrorCode::InvalidArgument},
      {{"beta-1"}, WhitelistMatch::Id, ErrorCode::Conflict},
  };
  for (const auto &r : refused) {
    VectorIds source(r.patterns);
    CHECK(storage->import_whitelist("testers", WhitelistType::User, r.match, source, "alice").code() == r.code);
    CHECK(storage->whitelist_contains("testers", "beta-7").value());
    CHECK(storage->get_whitelist("testers", 0)->whitelist.entry_count == 3);
  }

  // Replacing the patterns is seen by the next lookup.
  VectorIds replaced({"gamma-[a-z]"});
  REQUIRE(storage->import_whitelist("testers", WhitelistType::User, WhitelistMatch::Regex, replaced, "alice").ok());
  CHECK_FALSE(storage->whitelist_contains("testers", "beta-7").value());
  CHECK(storage->whitelist_contains("testers", "gamma-q").value());
  CHECK(storage->create_whitelist("plain", WhitelistType::User, WhitelistMatch::Regex, "alice")->match ==
        WhitelistMatch::Regex);
  CHECK_FALSE(storage->whitelist_contains("plain", "anything").value());
  CHECK_FALSE(storage->whitelist_contains("no-such-list", "anything").value());
}

TEST_CASE("migration 7 moves whitelist ids from one row each into chunks", "[storage]") {
  mds::test::TempDir temp;
  {
    auto connection = mds::server::sqlite::Connection::open(temp / "mds.db");
    REQUIRE(connection.ok());
    REQUIRE(mds::server::sqlite::migrate(*connection, 6).ok());
    REQUIRE(connection
                ->exec("INSERT INTO whitelists (id, name, type, created_at, updated_at, entry_count) "
                       "VALUES (1, 'many', 'device', 0, 0, 1500), (2, 'few', 'user', 0, 0, 1)")
                .ok());
    std::string insert = "INSERT INTO whitelist_entries (whitelist_id, entry) VALUES (2, 'u1')";
    for (const auto &id : many_ids(1500)) {
      insert += ", (1, '" + id + "')";
    }
    REQUIRE(connection->exec(insert.c_str()).ok());
  }
  auto storage = SqliteStorage::open(temp / "mds.db").value();
  check_holds_exactly(*storage, "many", 1500);
  CHECK(storage->whitelist_contains("few", "u1").value());
  CHECK_FALSE(storage->whitelist_contains("few", "id-0001").value());
}

TEST_CASE("whitelists in use by a release cannot be deleted", "[storage]") {
  mds::test::TempDir temp;
  auto storage = SqliteStorage::open(temp / "mds.db").value();
  REQUIRE(storage->create_app(example_app(), "alice").ok());
  REQUIRE(storage->create_whitelist("used", WhitelistType::Device, WhitelistMatch::Id, "alice").ok());
  REQUIRE(storage->create_whitelist("free", WhitelistType::Device, WhitelistMatch::Id, "alice").ok());
  CHECK(storage->create_whitelist("free", WhitelistType::User, WhitelistMatch::Id, "alice").code() ==
        ErrorCode::AlreadyExists);
  auto release = package_release();
  release.whitelists = {"used"};
  REQUIRE(storage->create_release(release, "alice").ok());
  CHECK(storage->delete_whitelist("used", "alice").code() == ErrorCode::Conflict);
  CHECK(storage->delete_whitelist("free", "alice").ok());
  CHECK(storage->delete_whitelist("free", "alice").code() == ErrorCode::NotFound);
}

TEST_CASE("releases: references are checked, progress changes compare and set", "[storage]") {
  mds::test::TempDir temp;
  auto storage = SqliteStorage::open(temp / "mds.db").value();
  CHECK(storage->create_release(package_release(), "alice").code() == ErrorCode::NotFound); // no app
  REQUIRE(storage->create_app(example_app(), "alice").ok());

  auto missing_list = package_release();
  missing_list.whitelists = {"nope"};
  CHECK(storage->create_release(missing_list, "alice").code() == ErrorCode::NotFound);
  auto missing_rule = package_release();
  missing_rule.rules = {"nope"};
  CHECK(storage->create_release(missing_rule, "alice").code() == ErrorCode::NotFound);
  CHECK(storage->list_releases(std::nullopt)->empty()); // the failed creations left nothing

  REQUIRE(storage->create_rule({"vip", "", "[]"}, "alice").ok());
  auto release = package_release();
  release.rules = {"vip"};
  release.window = TimeWindow{100, 200, 50};
  auto created = storage->create_release(release, "alice");
  REQUIRE(created.ok());
  CHECK(created->id == 1);
  CHECK(created->rules == std::vector<std::string>{"vip"});
  REQUIRE(created->window);
  CHECK(created->window->cap == 50);

  const ReleaseProgress draft{ReleaseStage::Draft, std::nullopt, 0};
  const ReleaseProgress gray{ReleaseStage::Gray, std::nullopt, 500};
  auto changed = storage->change_release_progress({1, ReleaseAction::Promote, draft, gray}, "bob");
  REQUIRE(changed.ok());
  CHECK(changed->progress.stage == ReleaseStage::Gray);
  CHECK(changed->progress.percent_bp == 500);
  // The same change again finds the release no longer in draft.
  CHECK(storage->change_release_progress({1, ReleaseAction::Promote, draft, gray}, "bob").code() ==
        ErrorCode::Conflict);
  CHECK(storage->change_release_progress({7, ReleaseAction::Promote, draft, gray}, "bob").code() ==
        ErrorCode::NotFound);

  auto audit = storage->list_audit({});
  REQUIRE(audit.ok());
  CHECK(audit->front().action == "release.promote");
  CHECK(audit->front().actor == "bob");
  AuditQuery by_target;
  by_target.target = "release/1";
  CHECK(storage->list_audit(by_target)->size() == 2);
  AuditQuery page;
  page.limit = 1;
  page.before_id = audit->front().id;
  CHECK(storage->list_audit(page)->front().id == audit->front().id - 1);
}

TEST_CASE("a second server on the same data directory is refused", "[storage]") {
  mds::test::TempDir temp;
  auto first = DataDir::open(temp / "data");
  REQUIRE(first.ok());
  CHECK(std::filesystem::is_directory(first->blobs_dir()));
  CHECK(DataDir::open(temp / "data").code() == ErrorCode::Locked);
  std::ofstream(temp / "file") << "x";
  CHECK(DataDir::open(temp / "file").code() == ErrorCode::InvalidArgument);
}

TEST_CASE("config variants are kept, replaced, cleared, the change count follows operator changes only", "[storage]") {
  mds::test::TempDir temp;
  auto storage = SqliteStorage::open(temp / "mds.db").value();
  const auto start = storage->change_count();
  REQUIRE(storage->create_app(example_app(), "alice").ok());
  CHECK(storage->change_count() > start);

  const std::string variants = R"([{"when":[],"value":1}])";
  auto count = storage->change_count();
  auto set = storage->set_config_value("com.example", "k", "0", std::nullopt, variants, "alice");
  REQUIRE(set.ok());
  CHECK(set->variants_json == variants);
  CHECK(storage->change_count() > count);
  // Absent variants keep the stored ones; "[]" clears them.
  auto kept = storage->set_config_value("com.example", "k", "2", std::nullopt, std::nullopt, "alice");
  REQUIRE(kept.ok());
  CHECK(kept->variants_json == variants);
  auto fresh = storage->set_config_value("com.example", "other", "2", std::nullopt, std::nullopt, "alice");
  REQUIRE(fresh.ok());
  CHECK(fresh->variants_json == "[]");
  auto cleared = storage->set_config_value("com.example", "k", "2", std::nullopt, std::string("[]"), "alice");
  REQUIRE(cleared.ok());
  CHECK(cleared->variants_json == "[]");

  // Device traffic leaves the count alone.
  count = storage->change_count();
  CHECK(storage->count_offered({}).ok());
  CHECK(storage->record_events("com.example", "d-1", {}).ok());
  CHECK(storage->change_count() == count);
}

TEST_CASE("config values: set, overwrite, list, with a rising revision", "[storage]") {
  mds::test::TempDir temp;
  auto storage = SqliteStorage::open(temp / "mds.db").value();
  CHECK(storage->set_config_value("com.example", "k", "1", std::nullopt, std::nullopt, "alice").code() ==
        ErrorCode::NotFound);
  REQUIRE(storage->create_app(example_app(), "alice").ok());
  CHECK(storage->list_config_values("com.example")->revision == 0);

  auto first = storage->set_config_value("com.example", "banner", R"("hello")", std::string("home banner"),
                                         std::nullopt, "alice");
  REQUIRE(first.ok());
  CHECK(first->revision == 1);
  CHECK(first->description == "home banner");
  auto second = storage->set_config_value("com.example", "timeout", "30", std::nullopt, std::nullopt, "alice");
  REQUIRE(second.ok());
  CHECK(second->revision == 2);
  CHECK(second->description.empty());
  // Overwriting keeps the description unless a new one is given.
  auto third = storage->set_config_value("com.example", "banner", R"("bye")", std::nullopt, std::nullopt, "bob");
  REQUIRE(third.ok());
  CHECK(third->revision == 3);
  CHECK(third->value_json == R"("bye")");
  CHECK(third->description == "home banner");

  auto all = storage->list_config_values("com.example");
  REQUIRE(all.ok());
  CHECK(all->revision == 3);
  REQUIRE(all->values.size() == 2);
  CHECK(all->values[0].key == "banner");
  CHECK(all->values[1].key == "timeout");
  CHECK(storage->get_config_value("com.example", "timeout")->value_json == "30");
  CHECK(storage->get_config_value("com.example", "nope").code() == ErrorCode::NotFound);
  CHECK(storage->get_config_value("com.other", "timeout").code() == ErrorCode::NotFound);
  CHECK(storage->list_audit({})->front().action == "config.set");
}

TEST_CASE("time windows: first come up to the cap, idempotent, exact under threads, persisted", "[storage][window]") {
  mds::test::TempDir temp;
  std::vector<std::string> admitted;
  {
    auto storage = SqliteStorage::open(temp / "mds.db");
    REQUIRE(storage.ok());
    REQUIRE((*storage)->create_app(example_app(), "alice").ok());
    auto release = (*storage)->create_release(package_release(), "alice");
    REQUIRE(release.ok());
    const auto id = release->id;
    CHECK((*storage)->admit_to_window(id + 1, "d", 5, true).code() == ErrorCode::NotFound);

    // Closed window: nobody new gets in, and peeking changes nothing.
    auto closed = (*storage)->admit_to_window(id, "early", 5, false);
    REQUIRE(closed.ok());
    CHECK_FALSE(closed->admitted);
    auto peek = (*storage)->peek_window(id, "d-peek", 5, true);
    REQUIRE(peek.ok());
    CHECK(peek->admitted);
    CHECK(peek->admitted_count == 0);

    // 8 threads race 40 distinct devices (each asking twice) for 5 places.
    std::vector<std::thread> threads;
    std::mutex mutex;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 5; ++i) {
          const auto device = "d" + std::to_string(t * 5 + i);
          for (int ask = 0; ask < 2; ++ask) {
            auto answer = (*storage)->admit_to_window(id, device, 5, true);
            if (answer.ok() && answer->admitted && !answer->already) {
              std::lock_guard<std::mutex> lock(mutex);
              admitted.push_back(device);
            }
          }
        }
      });
    }
    for (auto &thread : threads) {
      thread.join();
    }
    REQUIRE(admitted.size() == 5);
    auto again = (*storage)->admit_to_window(id, admitted.front(), 5, true);
    REQUIRE(again.ok());
    CHECK(again->admitted);
    CHECK(again->already);
    CHECK(again->admitted_count == 5);
    auto late = (*storage)->peek_window(id, "latecomer", 5, true);
    REQUIRE(late.ok());
    CHECK_FALSE(late->admitted);
  }
  // Reopened: the same five hold their places, even once the window has closed.
  auto storage = SqliteStorage::open(temp / "mds.db");
  REQUIRE(storage.ok());
  auto releases = (*storage)->list_releases(std::nullopt);
  REQUIRE(releases.ok());
  const auto id = releases->front().id;
  for (const auto &device : admitted) {
    auto answer = (*storage)->admit_to_window(id, device, 5, false);
    REQUIRE(answer.ok());
    CHECK(answer->admitted);
  }
  auto newcomer = (*storage)->admit_to_window(id, "newcomer", 5, true);
  REQUIRE(newcomer.ok());
  CHECK_FALSE(newcomer->admitted);
  CHECK(newcomer->admitted_count == 5);
}

TEST_CASE("offered counts held in memory are read exactly and survive a clean close", "[storage]") {
  mds::test::TempDir temp;
  std::int64_t id = 0;
  {
    auto storage = SqliteStorage::open(temp / "mds.db").value();
    REQUIRE(storage->create_app(example_app(), "alice").ok());
    auto release = storage->create_release(package_release(), "alice");
    REQUIRE(release.ok());
    id = release->id;
    for (int i = 0; i < 5; ++i) {
      REQUIRE(storage->count_offered({id}).ok()); // the first is written, the others held
    }
    CHECK(storage->release_counters(id)->offered == 5);
    REQUIRE(storage->count_offered({id, id}).ok());
  }
  auto reopened = SqliteStorage::open(temp / "mds.db").value();
  CHECK(reopened->release_counters(id)->offered == 7);
}

TEST_CASE("id fingerprints: every id added is found, and the table grows past its expected size", "[storage]") {
  IdFingerprints prints(4); // far fewer than will arrive
  for (int i = 0; i < 5000; ++i) {
    prints.add("device-" + std::to_string(i));
  }
  for (int i = 0; i < 5000; ++i) {
    if (!prints.may_hold("device-" + std::to_string(i))) {
      FAIL("lost device-" << i);
    }
  }
  int false_hits = 0;
  for (int i = 5000; i < 105000; ++i) {
    false_hits += prints.may_hold("device-" + std::to_string(i)) ? 1 : 0;
  }
  CHECK(false_hits == 0); // 64-bit fingerprints: a false hit among 100,000 would be a broken hash
  CHECK_FALSE(prints.may_hold(""));
}
