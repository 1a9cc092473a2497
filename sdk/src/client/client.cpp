#include <mds/client.hpp>

#include "client/decisions.hpp"
#include "client/event_delivery.hpp"
#include "client/event_queue.hpp"
#include "client/validate.hpp"
#include "client/wall_clock.hpp"
#include "core/json/json.hpp"
#include "hotpatch/hotpatches.hpp"
#include "packages/client_packages.hpp"
#include "state/store.hpp"
#include "transport/http.hpp"
#include "transport/protocol.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <variant>

namespace mds {
namespace {

// The one wall exceptions stop at: every public entry runs its body through here.
template <typename T, typename Body> Result<T> guarded(Body &&body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return make_error(ErrorCode::Internal, "out of memory");
  } catch (const std::exception &e) {
    try {
      return make_error(ErrorCode::Internal, std::string("unexpected exception: ") + e.what());
    } catch (...) {
      return make_error(ErrorCode::Internal, "unexpected exception");
    }
  } catch (...) {
    return make_error(ErrorCode::Internal, "unexpected exception");
  }
}

template <typename T, typename Body> T value_or_fallback(T fallback, Body &&body) noexcept {
  try {
    return body();
  } catch (...) {
    return fallback;
  }
}

constexpr const char *kEtagKey = "check_etag";
constexpr const char *kAnswerKey = "check_answer"; // the last 200 answer, for 304s after a restart
constexpr const char *kOfferedKey = "upgrade_offered";

} // namespace

using ConfigListener = std::function<void(const ConfigChange &)>;
using UpgradeListener = std::function<void(const UpgradeInfo &)>;
using InstalledListener = std::function<void(const PackageInstalled &)>;
using ErrorListener = std::function<void(const Error &)>;

struct KeyedConfigListener {
  std::string key; // empty: every key
  ConfigListener listener;
};
using AnyListener = std::variant<KeyedConfigListener, UpgradeListener, InstalledListener, ErrorListener>;

class Client::Impl {
public:
  Impl(ClientOptions options, std::unique_ptr<state::Store> store, std::string device_id, state::ConfigSnapshot config)
      : options_(std::move(options)), store_(std::move(store)), device_id_(std::move(device_id)),
        events_(*store_, options_.caps.event_queue),
        config_(std::make_shared<const state::ConfigSnapshot>(std::move(config))),
        http_(http_settings(options_), &cancel_), random_(std::random_device{}()) {}

  ~Impl() { stop_and_join(); }

  enum class Phase { Created, Running, Stopped };

  Status start() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (phase_ == Phase::Running) {
      return make_error(ErrorCode::Conflict, "the client is already started");
    }
    if (phase_ == Phase::Stopped) {
      return make_error(ErrorCode::ShutDown, "the client was shut down");
    }
    sync_requested_ = options_.schedule.sync_on_start;
    next_sync_ = std::chrono::steady_clock::now() + options_.schedule.poll_interval;
    phase_ = Phase::Running;
    worker_ = std::thread([this] { run(); });
    worker_started_ = true;
    return {};
  }

  bool shutdown(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!worker_started_) { // before start(), or again after that
      phase_ = Phase::Stopped;
      return true;
    }
    phase_ = Phase::Stopped;
    if (busy_) {
      cancel_ = true;
    } else {
      // An idle worker may use half the time to send what is queued (events).
      final_flush_budget_ = timeout / 2;
    }
    wake_.notify_all();
    sync_done_.notify_all();
    if (std::this_thread::get_id() == worker_id_) {
      return false;
    }
    const bool finished = worker_finished_cv_.wait_for(lock, timeout, [this] { return worker_finished_; });
    if (!finished) {
      cancel_ = true;
    }
    lock.unlock();
    if (finished) {
      join();
    }
    return finished;
  }

  void stop_and_join() {
    bool on_worker = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      phase_ = Phase::Stopped;
      cancel_ = true;
      wake_.notify_all();
      sync_done_.notify_all();
      on_worker = std::this_thread::get_id() == worker_id_;
    }
    if (!on_worker) {
      join();
    } else if (worker_.joinable()) {
      worker_.detach(); // destroyed from its own listener: the thread ends right after
    }
  }

  Status request_sync(bool foreground) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto status = running_locked(); !status) {
      return status;
    }
    if (foreground) {
      const auto since = std::chrono::steady_clock::now() - last_attempt_;
      if (has_attempted_ && since < options_.schedule.min_poll_interval) {
        return {};
      }
    }
    sync_requested_ = true;
    wake_.notify_all();
    return {};
  }

  Result<SyncReport> last_sync() const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!last_report_) {
      return make_error(ErrorCode::NotFound, "no sync has finished yet");
    }
    return *last_report_;
  }

  Result<SyncReport> wait_for_sync(std::uint64_t after, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (std::this_thread::get_id() == worker_id_) {
      return make_error(ErrorCode::Conflict, "wait_for_sync() on the worker thread would wait for itself");
    }
    if (auto status = running_locked(); !status) {
      return std::move(status).error();
    }
    const bool done = sync_done_.wait_for(
        lock, timeout, [&] { return phase_ != Phase::Running || (last_report_ && last_report_->sequence > after); });
    if (last_report_ && last_report_->sequence > after) {
      return *last_report_;
    }
    if (!done) {
      return make_error(ErrorCode::Timeout, "no sync finished within " + std::to_string(timeout.count()) + " ms");
    }
    return make_error(ErrorCode::ShutDown, "the client was shut down while waiting");
  }

  const std::string &device_id() const { return device_id_; }

  std::shared_ptr<const state::ConfigSnapshot> config() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return config_;
  }

  std::optional<UpgradeInfo> pending_upgrade() const {
    std::optional<transport::UpgradeOffer> offer;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      offer = upgrade_offer_;
    }
    if (!offer) {
      return std::nullopt;
    }
    return upgrade_info(*offer);
  }

  Status upgrade_prompt_shown(std::string_view version) {
    if (version.empty()) {
      return make_error(ErrorCode::InvalidArgument, "version is empty");
    }
    std::optional<transport::UpgradeOffer> offer;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      offer = upgrade_offer_;
    }
    if (!offer || offer->package.version != version) {
      return make_error(ErrorCode::NotFound, "version " + std::string(version) + " is not the upgrade offered");
    }
    if (auto status = store_->record_prompt(offer->package.version, client::wall_now_unix()); !status) {
      return status;
    }
    return events_.prompt_shown(subject(offer->package), to_string(offer->mode));
  }

  Result<ListenerId> add_listener(AnyListener listener) {
    std::lock_guard<std::mutex> lock(mutex_);
    const ListenerId id = ++last_listener_id_;
    listeners_.emplace(id, std::move(listener));
    return id;
  }

  Status remove_listener(ListenerId id) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (listeners_.erase(id) == 0) {
      return make_error(ErrorCode::NotFound, "no listener with id " + std::to_string(id));
    }
    return {};
  }

  Status init_packages() {
    auto packages = packages::ClientPackages::create(options_, *store_, &cancel_);
    if (!packages) {
      return std::move(packages).error();
    }
    packages_ = std::move(*packages);
    hotpatches_ = std::make_unique<hotpatch::Hotpatches>(*store_, options_.state_directory,
                                                         options_.hotpatch_max_launches, options_.caps.event_queue);
    return {};
  }

  packages::ClientPackages &packages() const { return *packages_; }
  hotpatch::Hotpatches &hotpatches() const { return *hotpatches_; }

  Result<std::optional<Hotpatch>> launch_hotpatch() {
    auto outcome = hotpatches_->launch();
    if (!outcome) {
      return std::move(outcome).error();
    }
    if (outcome->reverted) {
      report_error(*outcome->reverted);
    }
    return std::move(outcome->load);
  }

  Result<std::string> download_upgrade() {
    std::optional<transport::UpgradeOffer> offer;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (auto status = running_locked(); !status) {
        return std::move(status).error();
      }
      offer = upgrade_offer_;
    }
    if (!offer) {
      return make_error(ErrorCode::NotFound, "no upgrade is offered");
    }
    packages::PipelineReport report;
    auto path = packages_->download_upgrade(*offer, report);
    publish(report);
    return path;
  }

  // Package listeners for what was installed, error listeners for what was refused.
  void publish(const packages::PipelineReport &report) {
    for (const auto &installed : report.installed) {
      PackageInstalled event;
      event.kind = core::to_string(installed.kind);
      event.package = installed.package;
      event.version = installed.version;
      event.detail = installed.detail;
      event.download_size = installed.download_size;
      for (auto &listener : listeners_of<InstalledListener>()) {
        dispatch([listener, event] { listener(event); });
      }
    }
    for (const auto &failed : report.failed) {
      if (failed.error.code == ErrorCode::Cancelled) {
        continue;
      }
      report_error(make_error(failed.error.code,
                              "package " + failed.package + " " + failed.version + ": " + failed.error.message));
    }
  }

private:
  static transport::HttpSettings http_settings(const ClientOptions &options) {
    transport::HttpSettings settings;
    settings.connect_timeout = options.timeouts.connect;
    settings.low_speed_bytes_per_second = options.timeouts.low_speed_bytes_per_second;
    settings.low_speed_window = options.timeouts.low_speed_window;
    settings.ca_file = options.tls.ca_file;
    settings.pins = options.tls.pinned_public_keys;
    return settings;
  }

  Status running_locked() const {
    switch (phase_) {
    case Phase::Created:
      return make_error(ErrorCode::NotStarted, "start() the client first");
    case Phase::Stopped:
      return make_error(ErrorCode::ShutDown, "the client was shut down");
    case Phase::Running:
      break;
    }
    return {};
  }

  void join() {
    std::lock_guard<std::mutex> lock(join_mutex_);
    if (worker_.joinable()) {
      worker_.join();
    }
  }

  UpgradeInfo upgrade_info(const transport::UpgradeOffer &offer) const {
    UpgradeInfo info;
    info.release = offer.package.release;
    info.package = offer.package.package;
    info.version = offer.package.version;
    info.mode = offer.mode;
    info.remind_days = offer.remind_days;
    info.notes = offer.notes;
    for (const auto &download : offer.package.downloads) {
      if (download.kind == "full") {
        info.size = download.size;
        info.sha256 = download.sha256;
        info.download_url = transport::resolve_url(options_.server_url, download.url);
        break;
      }
    }
    std::optional<std::int64_t> last;
    if (auto state = store_->prompt_state(offer.package.version); state && state->has_value()) {
      last = (*state)->last_prompt_unix;
    }
    info.should_prompt = client::should_prompt(offer.mode, offer.remind_days, last, client::wall_now_unix());
    return info;
  }

  static client::EventSubject subject(const transport::PackageOffer &package) {
    return {package.release, package.package, package.version};
  }

  // Hands `task` to the executor, or runs it here; a listener's exception stops here.
  void dispatch(std::function<void()> task) {
    auto safe = [task = std::move(task)]() noexcept {
      try {
        task();
      } catch (...) {
      }
    };
    if (options_.executor) {
      try {
        options_.executor(std::move(safe));
      } catch (...) {
      }
    } else {
      safe();
    }
  }

  template <typename L> std::vector<L> listeners_of() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<L> out;
    for (const auto &[id, listener] : listeners_) {
      if (const auto *typed = std::get_if<L>(&listener)) {
        out.push_back(*typed);
      }
    }
    return out;
  }

  void report_error(const Error &error) {
    for (auto &listener : listeners_of<ErrorListener>()) {
      dispatch([listener, error] { listener(error); });
    }
  }

  void run() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      worker_id_ = std::this_thread::get_id();
    }
    // Staging resumed or cleared, installed trees verified, presets installed.
    if (auto started = guarded<void>([&]() -> Status {
          publish(packages_->start());
          return {};
        });
        !started) {
      report_error(started.error());
    }
    std::unique_lock<std::mutex> lock(mutex_);
    while (phase_ == Phase::Running) {
      // A requested sync still waits out a server's Retry-After; a scheduled one is
      // never earlier than it anyway.
      const auto now = std::chrono::steady_clock::now();
      const auto due = sync_requested_ ? std::max(not_before_, now) : next_sync_;
      if (now < due) {
        wake_.wait_until(lock, due); // woken early by a request or shutdown: look again
        continue;
      }
      sync_requested_ = false;
      has_attempted_ = true;
      busy_ = true;
      last_attempt_ = std::chrono::steady_clock::now();
      lock.unlock();
      SyncReport report = sync_once();
      lock.lock();
      busy_ = false;
      next_sync_ = std::chrono::steady_clock::now() + report.next_sync;
      not_before_ = std::chrono::steady_clock::now() + last_retry_after_.value_or(std::chrono::seconds(0));
      report.sequence = ++sequence_;
      last_report_ = report;
      sync_done_.notify_all();
      if (!report.status && report.status.code() != ErrorCode::Cancelled) {
        lock.unlock();
        report_error(report.status.error());
        lock.lock();
      }
    }
    // Events go at shutdown only when it is quick: the last sync worked and the server
    // asked for no pause.
    const bool may_send = final_flush_budget_.count() > 0 && consecutive_failures_ == 0 &&
                          std::chrono::steady_clock::now() >= not_before_;
    const auto flush_budget = final_flush_budget_;
    lock.unlock();
    if (may_send) {
      (void)guarded<client::EventDeliveryReport>([&] { return flush_events(flush_budget, 1); });
    }
    lock.lock();
    worker_finished_ = true;
    worker_finished_cv_.notify_all();
  }

  SyncReport sync_once() {
    SyncReport report;
    std::optional<std::chrono::seconds> retry_after;
    Status status = guarded<void>([&]() -> Status { return check(report, retry_after); });
    if (status) {
      auto sent = guarded<client::EventDeliveryReport>([&] {
        return flush_events(options_.timeouts.request_deadline, client::EventDeliverySettings().max_requests);
      });
      if (!sent && sent.code() != ErrorCode::Cancelled) {
        report_error(sent.error());
      } else if (sent && sent->refused > 0) {
        report_error(make_error(ErrorCode::HttpStatus,
                                std::to_string(sent->refused) +
                                    " queued events refused by the server and dropped: " + sent->last_refusal));
      }
    }
    last_retry_after_ = retry_after;
    report.finished_at = std::chrono::system_clock::now();
    report.status = status;
    consecutive_failures_ = status ? 0 : consecutive_failures_ + 1;
    report.next_sync =
        client::next_sync_delay(options_.schedule, server_poll_, consecutive_failures_, retry_after, random_);
    report.config_revision = config()->revision;
    report.upgrade = pending_upgrade();
    return report;
  }

  Status check(SyncReport &report, std::optional<std::chrono::seconds> &retry_after) {
    transport::CheckInput input;
    input.device_id = device_id_;
    input.config_revision = config()->revision;
    auto offline = store_->installed("offline");
    if (!offline) {
      return std::move(offline).error();
    }
    input.offline = std::move(*offline);
    auto hotpatch = hotpatches_->installed();
    if (!hotpatch) {
      return std::move(hotpatch).error();
    }
    input.hotpatch = std::move(*hotpatch);

    transport::HttpRequest request;
    request.method = "POST";
    request.url = transport::resolve_url(options_.server_url, "/v1/check");
    request.body = transport::build_check_request(options_, input);
    if (request.body.size() > transport::kMaxRequestBytes) {
      return make_error(ErrorCode::InvalidArgument,
                        "POST /v1/check: the request would be " + std::to_string(request.body.size()) +
                            " bytes, above the server's limit of " + std::to_string(transport::kMaxRequestBytes) +
                            " (fewer or shorter attributes, SDK versions or installed packages)");
    }
    request.max_response_bytes = options_.caps.check_response_bytes;
    request.deadline = options_.timeouts.request_deadline;
    auto etag = store_->meta(kEtagKey);
    if (etag && etag->has_value() && !(*etag)->empty()) {
      request.headers.push_back("If-None-Match: " + **etag);
    }
    auto response = http_.perform(request);
    if (!response) {
      return std::move(response).error();
    }
    retry_after = response->retry_after;
    if (response->status == 304) {
      report.not_modified = true;
      // Offers not installed yet (a download that failed) are tried again.
      if (auto stored = store_->meta(kAnswerKey); stored && stored->has_value() && !(*stored)->empty()) {
        if (auto answer = transport::parse_check_answer(**stored, options_.caps.check_response_bytes)) {
          publish(packages_->install_offline(answer->offline));
          if (answer->hotpatch) {
            publish(packages_->install_hotpatch(*answer->hotpatch));
          }
        }
      }
      return {};
    }
    if (response->status != 200) {
      return make_error(ErrorCode::HttpStatus, "POST /v1/check: HTTP " + std::to_string(response->status) + ": " +
                                                   transport::describe_error_body(response->body));
    }
    auto answer = transport::parse_check_answer(response->body, options_.caps.check_response_bytes);
    if (!answer) {
      return make_error(answer.code(), "POST /v1/check: " + answer.error().message);
    }
    server_poll_ = answer->poll_interval_seconds;
    if (answer->config) {
      if (auto applied = apply_config(*answer->config); !applied) {
        return applied;
      }
    }
    if (auto offered = apply_upgrade(answer->upgrade); !offered) {
      return offered;
    }
    publish(packages_->install_offline(answer->offline));
    if (answer->hotpatch) {
      publish(packages_->install_hotpatch(*answer->hotpatch));
    }
    // Remembered only once everything the answer says is applied, so a 304 never hides
    // an answer that was lost half-way; the answer itself, so a 304 after a restart still
    // knows the upgrade on offer.
    return store_->set_metas({{kEtagKey, response->etag}, {kAnswerKey, response->body}});
  }

public:
  // What the last good answer said that is not cached elsewhere: the upgrade on offer and
  // the poll interval. An unreadable stored answer also drops its ETag, so the next
  // check gets a full answer.
  Status restore_last_answer() {
    auto body = store_->meta(kAnswerKey);
    if (!body) {
      return std::move(body).error();
    }
    if (!body->has_value() || (*body)->empty()) {
      return {};
    }
    auto answer = transport::parse_check_answer(**body, options_.caps.check_response_bytes);
    if (!answer) {
      return store_->set_metas({{kEtagKey, ""}, {kAnswerKey, ""}});
    }
    server_poll_ = answer->poll_interval_seconds;
    std::lock_guard<std::mutex> lock(mutex_);
    upgrade_offer_ = answer->upgrade;
    return {};
  }

private:
  Status apply_config(const transport::ConfigUpdate &update) {
    auto current = config();
    if (update.revision == current->revision && update.values == current->values) {
      return {};
    }
    state::ConfigSnapshot next;
    next.revision = update.revision;
    next.values = update.values;
    if (auto saved = store_->replace_config(next); !saved) {
      return saved;
    }
    auto snapshot = std::make_shared<const state::ConfigSnapshot>(std::move(next));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      config_ = snapshot;
    }
    const auto changes = client::config_changes(current->values, snapshot->values, snapshot->revision);
    const auto listeners = listeners_of<KeyedConfigListener>();
    for (const auto &change : changes) {
      for (const auto &entry : listeners) {
        if (entry.key.empty() || entry.key == change.key) {
          dispatch([listener = entry.listener, change] { listener(change); });
        }
      }
    }
    return {};
  }

  Status apply_upgrade(const std::optional<transport::UpgradeOffer> &offer) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      upgrade_offer_ = offer;
    }
    if (!offer) {
      return {};
    }
    auto offered = store_->meta(kOfferedKey);
    if (!offered) {
      return std::move(offered).error();
    }
    const std::string identity = offer->package.release + "/" + offer->package.version;
    if (offered->has_value() && **offered == identity) {
      return {};
    }
    if (auto queued = events_.offered(subject(offer->package), to_string(offer->mode)); !queued) {
      return queued;
    }
    if (auto saved = store_->set_meta(kOfferedKey, identity); !saved) {
      return saved;
    }
    const UpgradeInfo info = upgrade_info(*offer);
    for (auto &listener : listeners_of<UpgradeListener>()) {
      dispatch([listener, info] { listener(info); });
    }
    return {};
  }

  // Sends queued events (client/event_delivery.hpp), each request within `deadline`.
  Result<client::EventDeliveryReport> flush_events(std::chrono::milliseconds deadline, std::size_t max_requests) {
    client::EventDeliverySettings settings;
    settings.url = transport::resolve_url(options_.server_url, "/v1/events");
    settings.app_id = options_.app_id;
    settings.device_id = device_id_;
    settings.max_response_bytes = options_.caps.events_response_bytes;
    settings.deadline = std::min(deadline, options_.timeouts.request_deadline);
    settings.max_requests = max_requests;
    return client::deliver_events(*store_, http_, settings);
  }

  const ClientOptions options_;
  const std::unique_ptr<state::Store> store_;
  const std::string device_id_;
  // Where events are queued; the package pipeline records downloaded / installed /
  // failed / rolled_back here.
  client::EventQueue events_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable sync_done_;
  std::condition_variable worker_finished_cv_;
  Phase phase_ = Phase::Created;
  bool sync_requested_ = false;
  bool worker_finished_ = false;
  bool worker_started_ = false; // start() made the worker thread
  bool has_attempted_ = false;
  bool busy_ = false;                               // the worker is in a sync
  std::chrono::milliseconds final_flush_budget_{0}; // set by shutdown() of an idle worker
  std::chrono::steady_clock::time_point last_attempt_;
  std::chrono::steady_clock::time_point next_sync_;
  std::chrono::steady_clock::time_point not_before_; // Retry-After
  std::optional<SyncReport> last_report_;
  std::uint64_t sequence_ = 0;
  std::shared_ptr<const state::ConfigSnapshot> config_;
  std::optional<transport::UpgradeOffer> upgrade_offer_;
  std::map<ListenerId, AnyListener> listeners_;
  ListenerId last_listener_id_ = 0;
  std::thread::id worker_id_;
  std::unique_ptr<packages::ClientPackages> packages_;
  std::unique_ptr<hotpatch::Hotpatches> hotpatches_;

  std::mutex join_mutex_;
  std::thread worker_;
  std::atomic<bool> cancel_{false};
  transport::Http http_;

  // Worker only.
  std::mt19937_64 random_;
  unsigned consecutive_failures_ = 0;
  std::optional<std::uint32_t> server_poll_;
  std::optional<std::chrono::seconds> last_retry_after_;
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::create(ClientOptions options) noexcept {
  return guarded<std::unique_ptr<Client>>([&]() -> Result<std::unique_ptr<Client>> {
    if (auto valid = client::validate_options(options); !valid) {
      return std::move(valid).error();
    }
    state::OpenReport opened;
    auto store = state::Store::open(options.state_directory, &opened);
    if (!store) {
      return std::move(store).error();
    }
    if (opened.rebuilt) {
      // The server learns of it with the next batch of events (SECURITY.md #21).
      client::EventQueue events(**store, options.caps.event_queue);
      if (auto queued = events.failed({}, ErrorCode::StorageCorrupt,
                                      "state database rebuilt: " + opened.rebuild_reason.substr(0, 200));
          !queued) {
        return std::move(queued).error();
      }
    }
    std::string device_id = options.device.id;
    if (device_id.empty()) {
      auto kept = (*store)->device_id(transport::random_uuid());
      if (!kept) {
        return std::move(kept).error();
      }
      device_id = *kept;
    }
    auto config = (*store)->load_config();
    if (!config) {
      return std::move(config).error();
    }
    auto impl = std::make_unique<Impl>(std::move(options), std::move(*store), std::move(device_id), std::move(*config));
    if (auto restored = impl->restore_last_answer(); !restored) {
      return std::move(restored).error();
    }
    if (auto packages = impl->init_packages(); !packages) {
      return std::move(packages).error();
    }
    return std::unique_ptr<Client>(new Client(std::move(impl)));
  });
}

Status Client::start() noexcept {
  return guarded<void>([&] { return impl_->start(); });
}

bool Client::shutdown(std::chrono::milliseconds timeout) noexcept {
  return value_or_fallback(false, [&] { return impl_->shutdown(timeout); });
}

Status Client::sync_now() noexcept {
  return guarded<void>([&] { return impl_->request_sync(false); });
}

Status Client::notify_foreground() noexcept {
  return guarded<void>([&] { return impl_->request_sync(true); });
}

Result<SyncReport> Client::last_sync() const noexcept {
  return guarded<SyncReport>([&] { return impl_->last_sync(); });
}

Result<SyncReport> Client::wait_for_sync(std::uint64_t after_sequence, std::chrono::milliseconds timeout) noexcept {
  return guarded<SyncReport>([&] { return impl_->wait_for_sync(after_sequence, timeout); });
}

std::string Client::device_id() const noexcept {
  return value_or_fallback(std::string(), [&] { return impl_->device_id(); });
}

namespace {

// The parsed value of `key`, or nullopt when absent or unparseable.
std::optional<core::json::Document> config_value(const std::shared_ptr<const state::ConfigSnapshot> &config,
                                                 std::string_view key) {
  auto found = config->values.find(std::string(key));
  if (found == config->values.end()) {
    return std::nullopt;
  }
  auto doc = core::json::parse(found->second);
  if (!doc) {
    return std::nullopt;
  }
  return std::move(*doc);
}

} // namespace

std::string Client::get_string(std::string_view key, std::string_view fallback) const noexcept {
  return value_or_fallback(std::string(), [&] {
    auto doc = config_value(impl_->config(), key);
    if (!doc || !doc->root().IsString()) {
      return std::string(fallback);
    }
    return std::string(core::json::view(doc->root()));
  });
}

bool Client::get_bool(std::string_view key, bool fallback) const noexcept {
  return value_or_fallback(fallback, [&] {
    auto doc = config_value(impl_->config(), key);
    return doc && doc->root().IsBool() ? doc->root().GetBool() : fallback;
  });
}

std::int64_t Client::get_int64(std::string_view key, std::int64_t fallback) const noexcept {
  return value_or_fallback(fallback, [&] {
    auto doc = config_value(impl_->config(), key);
    return doc && doc->root().IsInt64() ? doc->root().GetInt64() : fallback;
  });
}

double Client::get_double(std::string_view key, double fallback) const noexcept {
  return value_or_fallback(fallback, [&] {
    auto doc = config_value(impl_->config(), key);
    return doc && doc->root().IsNumber() ? doc->root().GetDouble() : fallback;
  });
}

std::string Client::get_json(std::string_view key, std::string_view fallback) const noexcept {
  return value_or_fallback(std::string(), [&] {
    auto config = impl_->config();
    auto found = config->values.find(std::string(key));
    return found == config->values.end() ? std::string(fallback) : found->second;
  });
}

std::map<std::string, std::string> Client::config_values() const noexcept {
  return value_or_fallback(std::map<std::string, std::string>(), [&] { return impl_->config()->values; });
}

std::int64_t Client::config_revision() const noexcept {
  return value_or_fallback(std::int64_t{0}, [&] { return impl_->config()->revision; });
}

std::optional<UpgradeInfo> Client::pending_upgrade() const noexcept {
  return value_or_fallback(std::optional<UpgradeInfo>(), [&] { return impl_->pending_upgrade(); });
}

Status Client::upgrade_prompt_shown(std::string_view version) noexcept {
  return guarded<void>([&] { return impl_->upgrade_prompt_shown(version); });
}

Result<std::string> Client::download_upgrade() noexcept {
  return guarded<std::string>([&] { return impl_->download_upgrade(); });
}

Result<std::string> Client::resolve(std::string_view package, std::string_view url_path) const noexcept {
  return guarded<std::string>([&] { return impl_->packages().resolve(package, url_path); });
}

Result<std::map<std::string, std::string>> Client::installed_packages() const noexcept {
  return guarded<std::map<std::string, std::string>>([&] { return impl_->packages().installed_offline(); });
}

Result<std::optional<Hotpatch>> Client::launch_started() noexcept {
  return guarded<std::optional<Hotpatch>>([&] { return impl_->launch_hotpatch(); });
}

Status Client::mark_launch_succeeded() noexcept {
  return guarded<void>([&] { return impl_->hotpatches().confirm(); });
}

Result<std::optional<Hotpatch>> Client::current_hotpatch() const noexcept {
  return guarded<std::optional<Hotpatch>>([&] { return impl_->hotpatches().current(); });
}

Result<ListenerId> Client::on_config_changed(std::string key,
                                             std::function<void(const ConfigChange &)> listener) noexcept {
  return guarded<ListenerId>([&]() -> Result<ListenerId> {
    if (key.empty()) {
      return make_error(ErrorCode::InvalidArgument, "key is empty (use on_any_config_changed for every key)");
    }
    if (!listener) {
      return make_error(ErrorCode::InvalidArgument, "listener is empty");
    }
    return impl_->add_listener(KeyedConfigListener{std::move(key), std::move(listener)});
  });
}

Result<ListenerId> Client::on_any_config_changed(std::function<void(const ConfigChange &)> listener) noexcept {
  return guarded<ListenerId>([&]() -> Result<ListenerId> {
    if (!listener) {
      return make_error(ErrorCode::InvalidArgument, "listener is empty");
    }
    return impl_->add_listener(KeyedConfigListener{std::string(), std::move(listener)});
  });
}

Result<ListenerId> Client::on_upgrade_found(std::function<void(const UpgradeInfo &)> listener) noexcept {
  return guarded<ListenerId>([&]() -> Result<ListenerId> {
    if (!listener) {
      return make_error(ErrorCode::InvalidArgument, "listener is empty");
    }
    return impl_->add_listener(UpgradeListener(std::move(listener)));
  });
}

Result<ListenerId> Client::on_package_installed(std::function<void(const PackageInstalled &)> listener) noexcept {
  return guarded<ListenerId>([&]() -> Result<ListenerId> {
    if (!listener) {
      return make_error(ErrorCode::InvalidArgument, "listener is empty");
    }
    return impl_->add_listener(InstalledListener(std::move(listener)));
  });
}

Result<ListenerId> Client::on_error(std::function<void(const Error &)> listener) noexcept {
  return guarded<ListenerId>([&]() -> Result<ListenerId> {
    if (!listener) {
      return make_error(ErrorCode::InvalidArgument, "listener is empty");
    }
    return impl_->add_listener(ErrorListener(std::move(listener)));
  });
}

Status Client::remove_listener(ListenerId id) noexcept {
  return guarded<void>([&] { return impl_->remove_listener(id); });
}

} // namespace mds
