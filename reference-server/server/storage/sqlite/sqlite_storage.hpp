// Storage on one SQLite file in WAL mode. One connection, serialised by a mutex: admin
// traffic is light, and WAL still lets outside readers (backups, the sqlite3 shell) in
// while the server writes.
#ifndef MDS_SERVER_STORAGE_SQLITE_SQLITE_STORAGE_HPP
#define MDS_SERVER_STORAGE_SQLITE_SQLITE_STORAGE_HPP

#include "server/storage/sqlite/sqlite.hpp"
#include "server/storage/storage.hpp"
#include "server/storage/whitelist_index.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace mds::server {

class SqliteStorage final : public Storage {
public:
  // Opens (creating if needed) the database file and brings its schema up to date.
  static Result<std::unique_ptr<SqliteStorage>> open(const std::filesystem::path &file);
  // Writes the offered counts still held in memory.
  ~SqliteStorage() override;
  SqliteStorage(const SqliteStorage &) = delete;
  SqliteStorage &operator=(const SqliteStorage &) = delete;

  Result<App> create_app(const NewApp &app, const Actor &actor) override;
  Result<std::vector<App>> list_apps() override;
  Result<App> get_app(std::string_view name) override;

  Result<Whitelist> create_whitelist(std::string_view name, WhitelistType type, WhitelistMatch match,
                                     const Actor &actor) override;
  Result<WhitelistImportResult> import_whitelist(std::string_view name, WhitelistType type, WhitelistMatch match,
                                                 IdSource &ids, const Actor &actor) override;
  Result<std::vector<Whitelist>> list_whitelists() override;
  Result<WhitelistSample> get_whitelist(std::string_view name, std::size_t sample_size) override;
  Result<bool> whitelist_contains(std::string_view name, std::string_view id) override;
  Status delete_whitelist(std::string_view name, const Actor &actor) override;

  Result<std::vector<std::string>> referenced_blobs() override;

  Result<ReleaseRule> create_rule(const NewReleaseRule &rule, const Actor &actor) override;
  Result<std::vector<ReleaseRule>> list_rules() override;
  Result<ReleaseRule> get_rule(std::string_view name) override;

  Result<PublishedPackage> publish_package(const NewPackage &package, const Actor &actor) override;
  Result<std::vector<Package>> list_packages(std::string_view app, const PackageQuery &query) override;
  Result<Package> get_package(std::string_view app, std::string_view package_id, std::string_view version) override;

  Result<Release> create_release(const NewRelease &release, const Actor &actor) override;
  Result<std::vector<Release>> list_releases(std::optional<std::string> app) override;
  Result<Release> get_release(std::int64_t id) override;
  Result<Release> change_release_progress(const ReleaseProgressChange &change, const Actor &actor) override;

  Result<WindowAdmission> admit_to_window(std::int64_t release_id, std::string_view device_id, std::uint64_t cap,
                                          bool may_take_place) override;
  Result<WindowAdmission> peek_window(std::int64_t release_id, std::string_view device_id, std::uint64_t cap,
                                      bool may_take_place) override;

  Result<ConfigValue> set_config_value(std::string_view app, std::string_view key, std::string_view value_json,
                                       const std::optional<std::string> &description,
                                       const std::optional<std::string> &variants_json, const Actor &actor) override;
  Result<ConfigValues> list_config_values(std::string_view app) override;
  Result<ConfigValue> get_config_value(std::string_view app, std::string_view key) override;

  Result<std::vector<AuditEntry>> list_audit(const AuditQuery &query) override;
  std::uint64_t change_count() const override { return change_count_.load(std::memory_order_acquire); }

  Status count_offered(const std::vector<std::int64_t> &release_ids) override;
  Result<std::vector<std::string>> record_events(std::string_view app, std::string_view device_id,
                                                 const std::vector<DeviceEvent> &events) override;
  Result<ReleaseCounters> release_counters(std::int64_t release_id) override;
  Result<std::uint64_t> size_bytes() override;

private:
  SqliteStorage(sqlite::Connection connection, std::filesystem::path file)
      : connection_(std::move(connection)), file_(std::move(file)) {}

  Status audit(const Actor &actor, std::string_view action, std::string_view target, std::string_view detail_json);
  Result<App> load_app(std::string_view name);
  Result<Whitelist> load_whitelist(std::string_view name);
  Result<ReleaseRule> load_rule(std::string_view name);
  Result<Release> load_release(std::int64_t id);
  Result<std::vector<Package>> load_packages(std::string_view app, const PackageQuery &query,
                                             std::optional<std::string_view> version);
  Status bump_revision_for_config_release(std::int64_t release_id);
  Result<WindowAdmission> window_place(std::int64_t release_id, std::string_view device_id, std::uint64_t cap,
                                       bool may_take_place, bool take);
  Result<std::vector<ConfigValue>> load_config_values(std::string_view app, std::optional<std::string_view> key);
  // A whitelist in the form lookups use (whitelist_index.hpp), built at its first lookup
  // after an import; null for a list that does not exist.
  struct LoadedWhitelist {
    WhitelistMatch match = WhitelistMatch::Id;
    std::unique_ptr<IdFingerprints> ids;  // an id list
    std::unique_ptr<PatternSet> patterns; // a regex list
  };
  Result<std::shared_ptr<const LoadedWhitelist>> loaded_whitelist(std::string_view name);
  // The caller holds mutex_, in the transaction that changed the list or after it.
  void forget_loaded_whitelist(std::string_view name);
  // The caller holds mutex_.
  Status write_pending_offered();
  // Offers counted in memory, by release id, until they are written.
  using OfferedCounts = std::unordered_map<std::int64_t, std::uint64_t>;
  Status write_offered(OfferedCounts due);

  std::mutex mutex_;
  // Raised by audit(), inside the change's transaction and so before the change is
  // visible; a reader that then reads under mutex_ waits for the commit. A change that
  // rolls back leaves the count raised, which only costs a reader one needless reload.
  std::atomic<std::uint64_t> change_count_{0};
  sqlite::Connection connection_;
  std::filesystem::path file_;

  // Lock order: mutex_ before loaded_mutex_. Lookups take only loaded_mutex_ (shared).
  std::shared_mutex loaded_mutex_;
  std::unordered_map<std::string, std::shared_ptr<const LoadedWhitelist>> loaded_;

  // `offered` is counted on every check that delivers something: one durable write per
  // check would cost a disk flush each (synchronous = FULL). Counts are added up here and
  // written in one transaction at most every kOfferedWriteInterval, before counters are
  // read, and at close; a crash loses at most that interval's counts.
  static constexpr std::chrono::milliseconds kOfferedWriteInterval{1000};
  std::mutex offered_mutex_;
  OfferedCounts pending_offered_;
  std::chrono::steady_clock::time_point last_offered_write_{};
};

} // namespace mds::server

#endif
