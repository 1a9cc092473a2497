// The client's durable state: one SQLite database in WAL mode at <dir>/mds.db, owned by
// one Store at a time through an flock on <dir>/mds.lock, plus a small side file
// <dir>/floors.json with what must survive a rebuilt database (the version floors and the
// device id).
//
// Floors: the highest version accepted per (kind, package). raise_floor() refuses to go
// down (VersionRollback). The side file is written before the database commit, and at
// open the database takes the higher of its own floor and the side file's, so neither a
// crash between the two writes nor a lost, corrupt or older database lowers a floor.
//
// Thread-safety: every member function locks one mutex; the Store may be shared.
#ifndef MDS_SRC_STATE_STORE_HPP
#define MDS_SRC_STATE_STORE_HPP

#include <mds/error.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct sqlite3;

namespace mds::state {

inline constexpr int kSchemaVersion = 4;

// How many refused offers the store remembers; the oldest are forgotten first.
inline constexpr int kMaxRefusedOffers = 1000;

struct ConfigSnapshot {
  std::int64_t revision = 0;
  std::map<std::string, std::string> values; // key -> compact JSON text
};

struct QueuedEvent {
  std::string id;   // the event's uuid
  std::string json; // the whole event object
};

struct PromptState {
  std::string version;
  std::int64_t last_prompt_unix = 0; // 0: never prompted
  std::int64_t prompt_count = 0;
};

struct DownloadCheckpoint {
  std::string key; // what is downloaded, e.g. "upgrade/app/10.3.0"
  std::string url;
  std::string etag; // validator for If-Range
  std::uint64_t expected_size = 0;
  std::string sha256;
};

// The versions of one package on the device: the one serving, and the one before it
// (kept so a bad version can be left without a download).
struct InstalledVersions {
  std::optional<std::string> current;
  std::optional<std::string> previous;
};

// One package version to make current, with the signed envelope that describes it.
struct InstallCommit {
  std::string kind;
  std::string package;
  std::string version;
  std::string envelope;
  std::string release; // the release that offered it (kept for a hotpatch's events)
};

// A hotpatch version the lifecycle refers to (hotpatch/lifecycle.hpp).
struct HotpatchRef {
  std::string release;
  std::string package;
  std::string version;
  bool operator==(const HotpatchRef &other) const {
    return release == other.release && package == other.package && version == other.version;
  }
};

// Where the device's hotpatches stand. Every version named here stays on disk (with its
// envelope) whatever the package pipeline collects.
struct HotpatchRecord {
  std::optional<HotpatchRef> staged;   // installed, not loaded by any launch yet
  std::optional<HotpatchRef> active;   // what the last launch loaded
  bool active_confirmed = false;       // a launch of `active` was marked successful
  std::optional<HotpatchRef> fallback; // the last confirmed patch: where a revert goes
  std::int64_t launches = 0;           // launches of `active` since it was activated, unconfirmed
  bool operator==(const HotpatchRecord &other) const {
    return staged == other.staged && active == other.active && active_confirmed == other.active_confirmed &&
           fallback == other.fallback && launches == other.launches;
  }
};

// A hotpatch that crash-looped: what update_hotpatch() writes besides the record.
struct HotpatchRevert {
  HotpatchRef bad;
  Error reason;      // remembered as the refusal of every offer of `bad`
  QueuedEvent event; // the rolled_back event, queued with the revert
  std::uint32_t event_capacity = 1000;
};

// One step of the hotpatch lifecycle, written in one transaction.
struct HotpatchUpdate {
  HotpatchRecord next;
  std::optional<HotpatchRevert> revert;
};

// The digest under which a refused offer stands for every offer of its version.
inline constexpr const char *kAnyOffer = "*";

// An offer the package pipeline refused for a reason that trying the same offer again
// cannot change (packages/pipeline.hpp); `digest` names the offer and what the verdict
// depended on.
struct RefusedOffer {
  std::string kind;
  std::string package;
  std::string version;
  std::string digest;
  Error error;
};

// How open() found the directory.
struct OpenReport {
  bool created = false; // no database existed
  bool rebuilt = false; // the database was unreadable and was replaced
  std::string rebuild_reason;
};

class Store {
public:
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path &directory, OpenReport *report = nullptr);
  ~Store();
  Store(const Store &) = delete;
  Store &operator=(const Store &) = delete;

  const std::filesystem::path &directory() const { return directory_; }

  // The device id kept here; when none is kept yet, `generated` is stored and returned.
  Result<std::string> device_id(const std::string &generated);

  Result<std::optional<std::string>> meta(const std::string &key);
  Status set_meta(const std::string &key, const std::string &value);
  // Several keys in one transaction.
  Status set_metas(const std::vector<std::pair<std::string, std::string>> &pairs);

  // Floors and installed versions, per kind ("offline", "hotpatch", "upgrade").
  Result<std::optional<std::string>> floor(const std::string &kind, const std::string &package);
  Status raise_floor(const std::string &kind, const std::string &package, const std::string &version);
  // Marks `version` installed and raises the floor to it, in one transaction.
  Status set_installed(const std::string &kind, const std::string &package, const std::string &version);
  Result<std::map<std::string, std::string>> installed(const std::string &kind);
  Result<InstalledVersions> installed_versions(const std::string &kind, const std::string &package);
  // The envelope recorded for an installed (current or previous) version.
  Result<std::optional<std::string>> version_envelope(const std::string &kind, const std::string &package,
                                                      const std::string &version);
  // All or nothing, in one transaction (synchronous=FULL): for each commit, raises the
  // floor (VersionRollback below it, and then nothing of the batch is written), records
  // the envelope, makes the version current and the former current the previous one, and
  // forgets every other version of that package and its refused offers (except versions
  // refused under kAnyOffer). A hotpatch committed is staged (HotpatchRecord::staged).
  Status commit_installs(const std::vector<InstallCommit> &commits);

  // Refused offers: the remembered error of (kind, package, version, digest), or of
  // (kind, package, version, kAnyOffer); nullopt when it was not refused. At most kMaxRefusedOffers are kept;
  // commit_installs() forgets a package's when one of its versions is committed.
  Result<std::optional<Error>> refused_offer(const std::string &kind, const std::string &package,
                                             const std::string &version, const std::string &digest);
  Status remember_refused_offer(const RefusedOffer &offer);

  // The hotpatch lifecycle's record (empty when none was ever installed).
  Result<HotpatchRecord> hotpatch();
  // Reads the record, asks `decide` what to do (nullopt: nothing) and writes its answer in
  // one transaction (synchronous=FULL), so a kill leaves the step whole or not begun. A
  // revert also moves the bad version's package row back to the fallback's version (or
  // none), forgets the bad version's envelope, remembers it as refused under kAnyOffer
  // and queues its event.
  Status update_hotpatch(const std::function<Result<std::optional<HotpatchUpdate>>(const HotpatchRecord &)> &decide);

  Result<ConfigSnapshot> load_config();
  // Replaces the whole configuration in one transaction.
  Status replace_config(const ConfigSnapshot &config);

  // Appends an event; when more than `capacity` are queued, the oldest go and the dropped
  // counter grows by their number.
  Status enqueue_event(const QueuedEvent &event, std::uint32_t capacity);
  Result<std::vector<QueuedEvent>> oldest_events(std::uint32_t limit);
  // Deletes the events with these ids (unknown ids are ignored); returns how many went.
  Result<std::uint64_t> delete_events(const std::vector<std::string> &ids);
  // Deletes events the server will never take (see client/event_delivery.hpp) and adds
  // how many went to the dropped counter.
  Result<std::uint64_t> discard_events(const std::vector<std::string> &ids);
  Result<std::uint64_t> event_count();
  Result<std::uint64_t> events_dropped();

  Result<std::optional<PromptState>> prompt_state(const std::string &version);
  Status record_prompt(const std::string &version, std::int64_t now_unix);

  Result<std::optional<DownloadCheckpoint>> checkpoint(const std::string &key);
  Status save_checkpoint(const DownloadCheckpoint &checkpoint);
  Status clear_checkpoint(const std::string &key);
  Result<std::vector<DownloadCheckpoint>> checkpoints();

private:
  Store(std::filesystem::path directory, int lock_fd, sqlite3 *db);
  Status write_side_file_locked();

  std::filesystem::path directory_;
  int lock_fd_;
  sqlite3 *db_;
  std::mutex mutex_;
  std::map<std::string, std::string> side_floors_;
  std::string side_device_id_;
};

// The side file's name in the state directory.
inline constexpr const char *kSideFileName = "floors.json";

} // namespace mds::state

#endif
