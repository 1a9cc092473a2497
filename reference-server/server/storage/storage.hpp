// The server's state, as domain operations. SQLite implements it today (SqliteStorage);
// a PostgreSQL backend can implement the same interface for several stateless server
// instances. Every mutation is atomic and writes its audit-log row in the same
// transaction, so the log never disagrees with the state. Implementations are
// thread-safe.
#ifndef MDS_SERVER_STORAGE_STORAGE_HPP
#define MDS_SERVER_STORAGE_STORAGE_HPP

#include "server/releases/release_stage.hpp"

#include <mds/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mds::server {

enum class Platform { Android, Ios };
const char *to_string(Platform platform);
std::optional<Platform> platform_from_string(std::string_view name);

enum class WhitelistType { User, Device };
const char *to_string(WhitelistType type);
std::optional<WhitelistType> whitelist_type_from_string(std::string_view name);

// How a list's entries meet a device's user or device id: `Id`, the entry is the id;
// `Regex`, the entry is an RE2 pattern the whole id must match.
enum class WhitelistMatch { Id, Regex };
const char *to_string(WhitelistMatch match);
std::optional<WhitelistMatch> whitelist_match_from_string(std::string_view name);

// Who made a change: the admin token holder's identity.
using Actor = std::string;

// A publisher's ECDSA P-256 public key, as core::crypto::PublicKey reads and writes it.
struct PublisherKey {
  std::string key_id; // hex SHA-256 of the key's DER
  std::string pem;    // canonical SubjectPublicKeyInfo PEM
};

struct NewApp {
  std::string name;
  Platform platform = Platform::Android;
  std::vector<PublisherKey> publisher_keys;
};

struct App : NewApp {
  std::int64_t id = 0;
  std::int64_t created_at = 0;
};

struct Whitelist {
  std::string name;
  WhitelistType type = WhitelistType::User;
  WhitelistMatch match = WhitelistMatch::Id;
  std::uint64_t entry_count = 0;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct WhitelistSample {
  Whitelist whitelist;
  std::vector<std::string> sample; // the first entries in sort order
};

// The entries of a whitelist import (ids, or a regex list's patterns), pulled one at a
// time. A failure aborts the import and leaves the list as it was.
class IdSource {
public:
  virtual ~IdSource() = default;
  // The next id; nullopt at the end. The view stays valid until the next call.
  virtual Result<std::optional<std::string_view>> next() = 0;
};

struct WhitelistImportResult {
  Whitelist whitelist;
  std::uint64_t ids_read = 0;
  std::uint64_t duplicates = 0;
  bool created = false;
};

struct NewReleaseRule {
  std::string name;
  std::string description;
  std::string filters_json; // the parsed filters, as targeting::filters_to_json writes them
};

struct ReleaseRule : NewReleaseRule {
  std::int64_t id = 0;
  std::int64_t created_at = 0;
};

enum class ReleaseKind { Package, Config };
const char *to_string(ReleaseKind kind);

struct TimeWindow {
  std::int64_t start = 0; // Unix seconds
  std::int64_t end = 0;
  std::uint64_t cap = 0; // at most this many distinct devices admitted
};

// A device's place in a release's time window (DESIGN.md, Targeting).
struct WindowAdmission {
  bool admitted = false;            // the device holds a place (or, when only asked, would get one)
  bool already = false;             // it took its place in an earlier request
  std::uint64_t admitted_count = 0; // places taken, this device's included
};

// One published package version, named as a release names it.
struct PackageRef {
  std::string id;
  std::string version;
};

// How a device prompts for an upgrade (docs/protocol.md, upgrade.mode).
struct UpgradePrompt {
  std::string mode = "single"; // single, every_time, force or silent
  std::uint32_t remind_days = 3;
  std::optional<std::string> notes; // nullopt: the manifest's notes
};

struct NewRelease {
  std::string app;
  ReleaseKind kind = ReleaseKind::Package;
  std::string package_id;      // kind Package: the package, or the first of a group
  std::string package_version; // kind Package
  // Several offline packages installed together (2 to 16, distinct ids, the first being
  // package_id / package_version); empty for a release of one package.
  std::vector<PackageRef> group;
  std::optional<UpgradePrompt> upgrade; // a release of an upgrade package may carry one
  std::string config_json;              // kind Config: a JSON object of key → value
  std::vector<std::string> whitelists;
  std::vector<std::string> rules;
  std::string filters_json;
  std::optional<TimeWindow> window;
  ReleaseProgress progress; // initial stage (draft, gray or full) and percentage
  std::string salt;         // for percentage bucketing; fixed for the release's life
};

struct Release : NewRelease {
  std::int64_t id = 0;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

// A compare-and-set of a release's progress: refused with Conflict if the release is no
// longer at `expected` (another operator moved it first).
struct ReleaseProgressChange {
  std::int64_t release_id = 0;
  ReleaseAction action = ReleaseAction::Promote;
  ReleaseProgress expected;
  ReleaseProgress next;
};

// A config key's default value: what a device gets when no release changes it.
struct ConfigValue {
  std::string app;
  std::string key;
  std::string value_json; // any JSON value
  // Targeted variants: a JSON array of {"when": [parsed filters], "value": any}, as
  // targeting::variants_to_json writes it; "[]" when there are none.
  std::string variants_json = "[]";
  std::string description;
  std::int64_t revision = 0; // the app's config revision when this value was set
  std::int64_t updated_at = 0;
};

struct ConfigValues {
  std::int64_t revision = 0; // rises with every change to the app's config
  std::vector<ConfigValue> values;
};

struct AuditEntry {
  std::int64_t id = 0;
  std::int64_t at = 0;
  std::string actor;
  std::string action; // "app.create", "release.promote", ...
  std::string target; // "app/com.example", "release/12", ...
  std::string detail_json;
};

struct AuditQuery {
  std::size_t limit = 100;
  std::optional<std::int64_t> before_id; // for paging backwards
  std::optional<std::string> target;
};

// What a device reports after a check (docs/protocol.md, POST /v1/events).
struct DeviceEvent {
  std::string id; // unique across all devices: events are kept once per id
  std::string type;
  std::int64_t time = 0; // Unix seconds, as the device saw it
  std::string release;   // as the device names it: the release id in decimal
  std::string package;
  std::string version;
  std::optional<std::int64_t> code;
  std::string detail;
};

// Per-release delivery counters. `offered` counts checks whose answer carried something
// from the release; the others count device events stored for the first time.
struct ReleaseCounters {
  std::uint64_t offered = 0;
  std::uint64_t downloaded = 0;
  std::uint64_t installed = 0;
  std::uint64_t failed = 0;
  std::uint64_t rolled_back = 0;
};

// A download of a package version: the full download (a delta against the empty base,
// base_version empty) or a delta from an earlier version. Both are blobs.
struct PackageDownload {
  std::string base_version; // empty: the full download
  std::string sha256;
  std::uint64_t size = 0;
};

// A published package version: what its publisher signed and the downloads built from it.
struct NewPackage {
  std::string app;
  std::string kind; // offline, hotpatch or upgrade (core::to_string(PackageKind))
  std::string package_id;
  std::string version;
  std::string manifest_sha256; // hex of core::delta::manifest_digest: equal manifests, equal digests
  std::string manifest_json;   // the signed payload, as sent
  std::string envelope;        // the DSSE envelope, as sent
  std::uint64_t file_count = 0;
  std::uint64_t size = 0; // the files' sizes added up
  PackageDownload full;
  std::vector<PackageDownload> deltas; // by base version, highest first
};

struct Package : NewPackage {
  std::int64_t created_at = 0;
};

struct PackageQuery {
  std::optional<std::string> kind;
  std::optional<std::string> package_id;
};

struct PublishedPackage {
  Package package;
  bool created = false; // false: this manifest was already published (nothing changed)
};

class Storage {
public:
  virtual ~Storage() = default;

  virtual Result<App> create_app(const NewApp &app, const Actor &actor) = 0;
  virtual Result<std::vector<App>> list_apps() = 0;
  virtual Result<App> get_app(std::string_view name) = 0;

  virtual Result<Whitelist> create_whitelist(std::string_view name, WhitelistType type, WhitelistMatch match,
                                             const Actor &actor) = 0;
  // Replaces the list's entries with those from `ids` (creating the list if needed).
  // Refused with Conflict if the list exists with another type or match; a regex list's
  // patterns must all compile (InvalidArgument, nothing changed).
  virtual Result<WhitelistImportResult> import_whitelist(std::string_view name, WhitelistType type,
                                                         WhitelistMatch match, IdSource &ids, const Actor &actor) = 0;
  virtual Result<std::vector<Whitelist>> list_whitelists() = 0;
  virtual Result<WhitelistSample> get_whitelist(std::string_view name, std::size_t sample_size) = 0;
  // Whether the id is on the list (an id list) or matches one of its patterns (a regex list).
  virtual Result<bool> whitelist_contains(std::string_view name, std::string_view id) = 0;
  // Refused with Conflict while a release that is not ended or rolled back uses the list.
  virtual Status delete_whitelist(std::string_view name, const Actor &actor) = 0;

  // Every blob a published package needs: its files (future deltas are made from them)
  // and its downloads.
  virtual Result<std::vector<std::string>> referenced_blobs() = 0;

  virtual Result<ReleaseRule> create_rule(const NewReleaseRule &rule, const Actor &actor) = 0;
  virtual Result<std::vector<ReleaseRule>> list_rules() = 0;
  virtual Result<ReleaseRule> get_rule(std::string_view name) = 0;

  // Packages. publish_package stores the package and its downloads (blobs already in
  // place) with its audit row in one transaction. The same manifest again changes nothing
  // (created = false); another manifest under the same app, package id and version is
  // AlreadyExists; a package id already published under another kind is Conflict.
  virtual Result<PublishedPackage> publish_package(const NewPackage &package, const Actor &actor) = 0;
  // Sorted by kind, id, then version (as versions compare). NotFound for an unknown app.
  virtual Result<std::vector<Package>> list_packages(std::string_view app, const PackageQuery &query) = 0;
  virtual Result<Package> get_package(std::string_view app, std::string_view package_id, std::string_view version) = 0;

  virtual Result<Release> create_release(const NewRelease &release, const Actor &actor) = 0;
  virtual Result<std::vector<Release>> list_releases(std::optional<std::string> app) = 0;
  virtual Result<Release> get_release(std::int64_t id) = 0;
  virtual Result<Release> change_release_progress(const ReleaseProgressChange &change, const Actor &actor) = 0;

  // Time windows. One atomic step: a device that holds a place keeps it (idempotent);
  // otherwise, when `may_take_place` (now is within the window) and fewer than `cap`
  // devices hold one, it takes one. Exact under concurrent calls; persisted. Not audited:
  // device traffic, not an operator's change. NotFound for an unknown release.
  virtual Result<WindowAdmission> admit_to_window(std::int64_t release_id, std::string_view device_id,
                                                  std::uint64_t cap, bool may_take_place) = 0;
  // The same question without taking a place: `admitted` says whether the device holds one
  // or would get one now (for simulate).
  virtual Result<WindowAdmission> peek_window(std::int64_t release_id, std::string_view device_id, std::uint64_t cap,
                                              bool may_take_place) = 0;

  // Sets a key's default value, creating the key if needed, and raises the app's config
  // revision. A nullopt description keeps the current one ("" for a new key); nullopt
  // variants keep the current ones ("[]" for a new key).
  virtual Result<ConfigValue> set_config_value(std::string_view app, std::string_view key, std::string_view value_json,
                                               const std::optional<std::string> &description,
                                               const std::optional<std::string> &variants_json, const Actor &actor) = 0;
  virtual Result<ConfigValues> list_config_values(std::string_view app) = 0;
  virtual Result<ConfigValue> get_config_value(std::string_view app, std::string_view key) = 0;

  // Raises `offered` by one for each release id. Not audited: device traffic. An
  // implementation may hold counts briefly before writing them (release_counters still
  // includes them).
  virtual Status count_offered(const std::vector<std::int64_t> &release_ids) = 0;
  // Stores a device's events in one transaction, idempotent on event id: an id already
  // held is left as it is. An event stored now whose type is downloaded, installed,
  // failed or rolled_back and whose release names a release of `app` raises that
  // release's counter. Returns the ids of `events` the server now holds (all of them).
  // NotFound for an unknown app.
  virtual Result<std::vector<std::string>> record_events(std::string_view app, std::string_view device_id,
                                                         const std::vector<DeviceEvent> &events) = 0;
  // Zeros for a release nothing was counted for; NotFound for an unknown release.
  virtual Result<ReleaseCounters> release_counters(std::int64_t release_id) = 0;

  virtual Result<std::vector<AuditEntry>> list_audit(const AuditQuery &query) = 0;

  // A number that rises with every operator change (every operation that writes an audit
  // row), never with device traffic (window places, counters, events). Read it before
  // reading state: when a later read gives the same number, that state is unchanged, so
  // a cache of what was read is still right. Cheap enough to read on every request.
  virtual std::uint64_t change_count() const = 0;

  // Bytes the state occupies on disk, for /metrics.
  virtual Result<std::uint64_t> size_bytes() = 0;
};

} // namespace mds::server

#endif
