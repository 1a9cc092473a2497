// mds::Client: the SDK an app embeds to receive what the OpenMDS server decides for this
// device: switch configuration, app upgrades, offline packages and hotpatches.
//
// Lifecycle
//   auto client = mds::Client::create(options);   // validates, opens the state directory
//   client.value()->on_config_changed("checkout.v2", [](const mds::ConfigChange &c) {...});
//   client.value()->start();                       // starts the worker; first sync follows
//   ...
//   client.value()->shutdown(std::chrono::seconds(2));
//   // destroying the Client waits for the worker if shutdown() did not
//
// Threads
//   The client owns one worker thread, started by start(). Every network exchange and
//   every listener call happens there (listeners may be moved to the host's executor, see
//   ClientOptions::executor). Every public member function is thread-safe and returns
//   without waiting for the network; create() and upgrade_prompt_shown() write to the
//   state directory on the caller's thread. The only calls that wait are shutdown() and
//   wait_for_sync(), each for at most the time it is given.
//
// Errors
//   No exception leaves this interface: every call is noexcept; failures come back as an
//   mds::Error (code + message) in a Result or Status, see mds/error.hpp. A call made at a
//   wrong time fails with NotStarted (before start()) or ShutDown (after shutdown()); a
//   bad argument fails with InvalidArgument and a message naming it.
//
// State
//   Everything the client keeps lives in ClientOptions::state_directory, which it owns
//   while it exists: a second Client on the same directory, in this process or another,
//   fails create() with ErrorCode::Locked. A damaged database is detected at create() and
//   rebuilt; version floors survive the rebuild (they are never lowered).
#ifndef MDS_CLIENT_HPP
#define MDS_CLIENT_HPP

#include <mds/error.hpp>
#include <mds/export.h>
#include <mds/upgrade.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mds {

// What the server's targeting sees of the device. Every field is optional except `id`,
// which the SDK generates (random, kept in the state directory, so stable for this app
// install) when the host leaves it empty.
struct DeviceInfo {
  std::string id;
  std::string model;      // "Pixel 8"
  std::string brand;      // "Google"
  std::string os_version; // "14"
  std::string network;    // "wifi", "cellular", ... as the host classifies it
  std::string region;     // "CN-ZJ"
  std::string city;       // "Hangzhou"
  std::string language;   // "zh-CN"
  std::string channel;    // distribution channel: "store", ...
};

struct TlsOptions {
  // PEM file of the certificate authorities to trust; empty: the system's store.
  std::string ca_file;
  // Public keys the server's certificate chain must contain, as libcurl writes them:
  // "sha256//<base64 of the SHA-256 of the DER SubjectPublicKeyInfo>". Give the current
  // key and at least one backup, so a key change on the server does not strand devices.
  // Empty: no pinning (certificate verification stays on regardless).
  std::vector<std::string> pinned_public_keys;
};

// When the SDK may spend the network on downloads (upgrades, packages). Syncs are small
// and always allowed.
enum class NetworkPolicy : std::uint8_t {
  Any = 0,
  WifiOnly = 1, // DeviceInfo::network must be "wifi" (the host keeps it current)
};

struct Timeouts {
  std::chrono::milliseconds connect{10'000};
  // A transfer slower than low_speed_bytes_per_second for low_speed_window is aborted
  // with NetworkTimeout.
  std::uint32_t low_speed_bytes_per_second = 32;
  std::chrono::seconds low_speed_window{30};
  // Whole exchange with /v1/check or /v1/events, connection included.
  std::chrono::milliseconds request_deadline{60'000};
  // Whole download; zero: only the low-speed window bounds it.
  std::chrono::milliseconds download_deadline{0};
};

struct Caps {
  std::uint64_t check_response_bytes = 4u << 20;   // an answer of /v1/check
  std::uint64_t events_response_bytes = 64u << 10; // an answer of /v1/events
  std::uint64_t download_bytes = 1ull << 31;       // any single download
  std::uint32_t event_queue = 1000;                // queued events; the oldest go first
  // zstd window of a package delta, as a power of two (25: 32 MiB of decoder memory at
  // most). A delta that needs more is refused and the full download taken instead.
  std::uint32_t delta_window_log = 25;
};

// An offline package shipped inside the app, so it serves before the first download and
// is the base of the first delta. Verified like a download (signature, app, kind, floor,
// every file's size and SHA-256) and installed at the first start() where it is newer
// than what the device has; files the manifest does not list are ignored.
struct PresetPackage {
  std::string envelope;  // the DSSE envelope text of its signed manifest
  std::string directory; // its files, laid out as the manifest's paths say
};

struct Schedule {
  // Used until the server names its poll_interval; clamped to at least min_poll_interval.
  std::chrono::seconds poll_interval{1800};
  std::chrono::seconds min_poll_interval{60};
  // After a failed sync: initial_backoff, doubled per further failure up to max_backoff,
  // with random jitter; a server's Retry-After is honoured when it is longer.
  std::chrono::milliseconds initial_backoff{5'000};
  std::chrono::milliseconds max_backoff{3'600'000};
  bool sync_on_start = true;
};

// Runs a task soon, once, on a thread of the host's choice (typically posts it to the UI
// thread's queue). The SDK calls it from the worker with each listener call; a serial
// queue keeps listener calls in the order the SDK made them. It should not throw (what
// it throws is dropped, and so is the task). Empty: listeners run on the worker thread.
using Executor = std::function<void(std::function<void()>)>;

struct ClientOptions {
  // "https://mds.example.com"; http:// only for 127.0.0.1, [::1] and localhost (tests).
  std::string server_url;
  std::string app_id;                              // the app as the server knows it
  std::string platform;                            // "android" or "ios" (or another lower-case word)
  std::string app_version;                         // the running app's version, "10.2.3"
  std::map<std::string, std::string> sdk_versions; // SDKs the app carries, by name
  DeviceInfo device;
  std::string user_id; // may be empty
  // Custom targeting attributes. With the device fields, user_id and sdk_versions they
  // travel in every check request: together at most 32 KiB (create() fails with
  // InvalidArgument above that).
  std::map<std::string, std::string> attributes;
  std::string state_directory; // created if absent; app-private storage
  // PEM ("-----BEGIN PUBLIC KEY-----") ECDSA P-256 keys that may sign what the device
  // installs. At least one.
  std::vector<std::string> trusted_public_keys;
  TlsOptions tls;
  NetworkPolicy network_policy = NetworkPolicy::Any;
  Timeouts timeouts;
  Caps caps;
  Schedule schedule;
  Executor executor;
  std::vector<PresetPackage> preset_packages;
  // Package id -> base URL ("https://cdn.example.com/h5-app") that resolve() answers
  // with while that package is not installed.
  std::map<std::string, std::string> package_fallback_urls;
  // Launches of a new hotpatch without mark_launch_succeeded() after which the next
  // launch_started() reverts it (a crash loop). 1..100.
  std::uint32_t hotpatch_max_launches = 3;
};

// One change of a configuration key, as a listener receives it. Values are JSON texts
// ("true", "\"hi\"", "3"); an absent value means the key did not exist before / does not
// exist any more.
struct ConfigChange {
  std::string key;
  std::optional<std::string> old_json;
  std::optional<std::string> new_json;
  std::int64_t revision = 0; // the configuration revision that brought the change
};

struct PackageInstalled {
  std::string kind; // "offline", "hotpatch", "upgrade"
  std::string package;
  std::string version;
  std::string detail;              // how it came: "delta", "full" or "preset"
  std::uint64_t download_size = 0; // bytes of the download it came from (0: a preset)
};

// Where a hotpatch stands on the device (docs/sdk.md "Hotpatches").
enum class HotpatchState : std::uint8_t {
  Staged = 0,    // installed and verified; the next launch_started() loads it
  Pending = 1,   // loaded by a launch, not yet marked successful
  Confirmed = 2, // a launch of it was marked successful
};

// "staged", "pending", "confirmed": the names the check request and mds-client use.
MDS_API const char *to_string(HotpatchState state) noexcept;

struct Hotpatch {
  std::string package; // the patch's package id
  std::string version;
  // Its verified files, laid out as its signed manifest says. Read them, never write:
  // the directory is immutable and the SDK removes it once no state refers to it.
  std::string directory;
  HotpatchState state = HotpatchState::Staged;
};

// The outcome of one finished sync.
struct SyncReport {
  std::uint64_t sequence = 0; // 1 for the first sync this Client finished, then 2, ...
  std::chrono::system_clock::time_point finished_at;
  Status status;             // ok, or why the sync failed
  bool not_modified = false; // the server answered 304: nothing changed
  std::int64_t config_revision = 0;
  std::optional<UpgradeInfo> upgrade;     // what the last good answer offered
  std::chrono::milliseconds next_sync{0}; // until the next scheduled sync
};

using ListenerId = std::uint64_t;

class MDS_API Client {
public:
  // Validates `options` (InvalidArgument naming the first bad field), creates the state
  // directory, takes its lock (Locked when another Client holds it), opens or rebuilds
  // the database (IoError, DiskFull, StorageFailure) and loads the cached configuration.
  // Does not touch the network and starts no thread.
  static Result<std::unique_ptr<Client>> create(ClientOptions options) noexcept;

  // Waits for the worker (see shutdown()), then releases the state directory.
  ~Client();
  Client(const Client &) = delete;
  Client &operator=(const Client &) = delete;

  // Starts the worker; it syncs at once when Schedule::sync_on_start. Fails with
  // Conflict when already started, ShutDown after shutdown().
  Status start() noexcept;

  // Stops the worker: an exchange in flight is cancelled; an idle worker first sends the
  // queued events it can within half of `timeout` (when the last sync did not fail and no
  // Retry-After is running), and what is not sent stays queued for the next Client. Waits
  // at most `timeout`; true when the worker has stopped (then no listener runs any more),
  // false when it had not yet. Later calls return at once. Safe before start() (returns
  // true) and from any thread except inside a listener running on the worker (returns
  // false without waiting).
  bool shutdown(std::chrono::milliseconds timeout) noexcept;

  // Asks for a sync as soon as the worker is free (several requests merge into one), but
  // not before a Retry-After the server gave has passed. NotStarted / ShutDown when no
  // worker runs.
  Status sync_now() noexcept;

  // The host app came to the foreground: syncs if the last sync is older than the
  // minimum poll interval. NotStarted / ShutDown as sync_now().
  Status notify_foreground() noexcept;

  // The report of the last finished sync; NotFound before the first one.
  Result<SyncReport> last_sync() const noexcept;

  // Waits until a sync with sequence > `after_sequence` finishes and returns its report.
  // Timeout when `timeout` passes first; NotStarted / ShutDown when no worker runs;
  // Conflict when called on the worker thread (it would wait for itself).
  Result<SyncReport> wait_for_sync(std::uint64_t after_sequence, std::chrono::milliseconds timeout) noexcept;

  // The device id in use: the host's, or the one the SDK generated and keeps.
  std::string device_id() const noexcept;

  // ---- Switch configuration ------------------------------------------------------------
  // Getters read an in-memory snapshot of the last configuration revision received (kept
  // across restarts); they never block on I/O and work before start() and after
  // shutdown(). A missing key, or a value of another JSON type, gives `fallback`.
  std::string get_string(std::string_view key, std::string_view fallback) const noexcept;
  bool get_bool(std::string_view key, bool fallback) const noexcept;
  // Integers only: 3 gives 3, 3.5 and "3" give the fallback.
  std::int64_t get_int64(std::string_view key, std::int64_t fallback) const noexcept;
  // Any JSON number.
  double get_double(std::string_view key, double fallback) const noexcept;
  // The value as compact JSON text, whatever its type.
  std::string get_json(std::string_view key, std::string_view fallback) const noexcept;
  // Every key with its value as JSON text.
  std::map<std::string, std::string> config_values() const noexcept;
  // 0 until a configuration was received.
  std::int64_t config_revision() const noexcept;

  // ---- Upgrades --------------------------------------------------------------------------
  // The upgrade the last good sync offered, with should_prompt decided for now; nullopt
  // when none is offered.
  std::optional<UpgradeInfo> pending_upgrade() const noexcept;
  // The host showed its prompt for `version`: recorded (so UpgradeMode::Single waits
  // remind_days) and reported to the server. InvalidArgument for an empty version,
  // NotFound when that version is not the one offered.
  Status upgrade_prompt_shown(std::string_view version) noexcept;

  // Downloads (resuming where an earlier attempt stopped), verifies and installs the
  // upgrade the last sync offered, and returns the local path of its verified file. The
  // one call that waits for the network, on the calling thread (call it from a
  // background thread); timeouts and Caps::download_bytes bound it, shutdown() cancels
  // it. Runs the package pipeline: envelope, manifest (app, kind, package, version above
  // the floor, requirements), size and SHA-256 of the file; an installed upgrade queues
  // an `installed` event and calls the package listeners. NotStarted / ShutDown; NotFound
  // when no upgrade is offered; NetworkNotAllowed under NetworkPolicy::WifiOnly off
  // Wi-Fi; otherwise the pipeline's code (a network code, VersionRollback,
  // FileHashMismatch, ...), with a `failed` event queued.
  Result<std::string> download_upgrade() noexcept;

  // ---- Offline packages ------------------------------------------------------------------
  // Offered offline packages are installed by the worker after each sync (all packages
  // of a release together or none), by delta from the installed version when one is
  // offered, and only on Wi-Fi under NetworkPolicy::WifiOnly. Each install calls the
  // package listeners; each refusal leaves the current version serving and reaches the
  // error listeners. The two calls below read local state only: they work before start()
  // and after shutdown() and never wait for the network.

  // The local file for `url_path` ("/static/app.js", "index.html?x=1": one leading '/',
  // a query and a fragment are dropped) in the current version of `package`; when the
  // package is not installed, its ClientOptions::package_fallback_urls entry joined with
  // the path. InvalidArgument for a package id or path outside the grammar
  // (docs/protocol.md "Paths"); NotFound when the installed version has no such file,
  // or the package is neither installed nor has a fallback URL.
  Result<std::string> resolve(std::string_view package, std::string_view url_path) const noexcept;
  // Every installed offline package with its current version.
  Result<std::map<std::string, std::string>> installed_packages() const noexcept;

  // ---- Hotpatches ------------------------------------------------------------------------
  // The worker installs an offered hotpatch after each sync through the package pipeline
  // (it is then Staged); the running app never sees it change. These calls read and
  // write local state only: they work before start() and after shutdown(), never wait for
  // the network, and are serialised with each other and with installs.

  // Call once per app start, before loading any patch: the patch this launch should load,
  // or nullopt for none. A staged patch becomes the active one (Pending); each launch of
  // a Pending patch is counted, and the count is committed to disk (synchronous) before
  // this returns, so a launch that crashes while loading the patch still counts. When a
  // Pending patch has already been launched ClientOptions::hotpatch_max_launches times,
  // this launch reverts it instead: it returns the last Confirmed patch (or nullopt), the
  // bad version is never installed again, a `rolled_back` event with
  // hotpatch_crash_loop (415) is queued and the error listeners hear of it. The revert is
  // one transaction: a kill leaves either the old or the new state. Errors: the store's
  // (IoError, DiskFull, StorageFailure); then nothing changed.
  Result<std::optional<Hotpatch>> launch_started() noexcept;
  // Call once the app runs well with the patch launch_started() returned: the active
  // patch becomes Confirmed (and the one a later crash loop reverts to) and its launch
  // count is cleared. Calling it again is harmless. hotpatch_not_active (416) when no
  // patch is active (none was launched, or the last launch loaded none).
  Status mark_launch_succeeded() noexcept;
  // The newest hotpatch on the device (Staged, else the active one), as the next check
  // reports it to the server; nullopt when there is none.
  Result<std::optional<Hotpatch>> current_hotpatch() const noexcept;

  // ---- Listeners -------------------------------------------------------------------------
  // Each returns an id for remove_listener(). Listeners run on the worker or on the
  // executor (in the order the SDK hands them over; the executor decides whether they
  // overlap). They may call any member function except shutdown() and wait_for_sync()
  // (which then refuse rather than deadlock) and must not destroy the Client. An exception
  // a listener throws is caught and dropped. InvalidArgument for an empty function (or an
  // empty key).
  Result<ListenerId> on_config_changed(std::string key, std::function<void(const ConfigChange &)> listener) noexcept;
  Result<ListenerId> on_any_config_changed(std::function<void(const ConfigChange &)> listener) noexcept;
  Result<ListenerId> on_upgrade_found(std::function<void(const UpgradeInfo &)> listener) noexcept;
  Result<ListenerId> on_package_installed(std::function<void(const PackageInstalled &)> listener) noexcept;
  // Every failed sync and every failure in the background.
  Result<ListenerId> on_error(std::function<void(const Error &)> listener) noexcept;
  // NotFound for an unknown id. A listener already handed to the executor may still run.
  Status remove_listener(ListenerId id) noexcept;

  class Impl;

private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace mds

#endif
