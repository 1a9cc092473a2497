#include "packages/client_packages.hpp"

#include "client/event_queue.hpp"
#include "core/manifest/path.hpp"
#include "transport/http.hpp"

#include <sys/stat.h>

namespace mds::packages {
namespace {

constexpr const char *kRollbackRefusedKey = "hotpatch_rollback_refused"; // the last rollback offer refused

bool is_package_id(std::string_view id) {
  if (id.empty() || id.size() > core::kMaxPackageIdLength) {
    return false;
  }
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
      return false;
    }
  }
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return alnum(id.front()) && alnum(id.back());
}

} // namespace

ClientPackages::ClientPackages(const ClientOptions &options, state::Store &store, std::unique_ptr<Pipeline> pipeline)
    : options_(options), store_(store), pipeline_(std::move(pipeline)) {}

Result<std::unique_ptr<ClientPackages>> ClientPackages::create(const ClientOptions &options, state::Store &store,
                                                               const std::atomic<bool> *cancel) {
  PipelineSettings settings;
  settings.state_directory = options.state_directory;
  settings.device.app_id = options.app_id;
  auto app_version = core::Version::parse(options.app_version);
  if (!app_version) {
    return make_error(ErrorCode::InvalidArgument, "ClientOptions::app_version: " + app_version.error().message);
  }
  settings.device.app_version = *app_version;
  for (const auto &[name, version] : options.sdk_versions) {
    auto parsed = core::Version::parse(version);
    if (!parsed) {
      return make_error(ErrorCode::InvalidArgument, "ClientOptions::sdk_versions: " + parsed.error().message);
    }
    settings.device.sdk_versions.emplace(name, *parsed);
  }
  for (const auto &pem : options.trusted_public_keys) {
    auto key = core::crypto::PublicKey::from_pem(pem);
    if (!key) {
      return make_error(ErrorCode::InvalidArgument, "ClientOptions::trusted_public_keys: " + key.error().message);
    }
    settings.device.trusted_keys.push_back(std::move(*key));
  }
  settings.server_url = options.server_url;
  settings.max_window_log = options.caps.delta_window_log;
  settings.max_download_bytes = options.caps.download_bytes;
  settings.download_deadline = options.timeouts.download_deadline;
  settings.event_queue = options.caps.event_queue;

  transport::HttpSettings http;
  http.connect_timeout = options.timeouts.connect;
  http.low_speed_bytes_per_second = options.timeouts.low_speed_bytes_per_second;
  http.low_speed_window = options.timeouts.low_speed_window;
  http.ca_file = options.tls.ca_file;
  http.pins = options.tls.pinned_public_keys;
  // One Http per download: the worker's syncs and a host's upgrade download never share
  // a curl handle.
  Fetch fetch = [http, cancel](const transport::DownloadRequest &request) {
    transport::Http client(http, cancel);
    return client.download(request);
  };
  auto pipeline = std::make_unique<Pipeline>(std::move(settings), store, std::move(fetch));
  return std::unique_ptr<ClientPackages>(new ClientPackages(options, store, std::move(pipeline)));
}

bool ClientPackages::downloads_allowed() const {
  return options_.network_policy != NetworkPolicy::WifiOnly || options_.device.network == "wifi";
}

PipelineReport ClientPackages::start() {
  PipelineReport report = pipeline_->recover();
  for (const auto &preset : options_.preset_packages) {
    PipelineReport installed = pipeline_->install_preset(preset.envelope, preset.directory);
    report.installed.insert(report.installed.end(), installed.installed.begin(), installed.installed.end());
    report.failed.insert(report.failed.end(), installed.failed.begin(), installed.failed.end());
  }
  return report;
}

PipelineReport ClientPackages::install_offline(const std::vector<transport::PackageOffer> &offers) {
  if (offers.empty() || !downloads_allowed()) {
    return {};
  }
  return pipeline_->install(core::PackageKind::Offline, offers);
}

PipelineReport ClientPackages::install_hotpatch(const transport::HotpatchOffer &offer) {
  const auto &package = offer.package;
  if (offer.action == "rollback") {
    PipelineReport report;
    const Error error = make_error(ErrorCode::RollbackUnsupported,
                                   "hotpatch " + package.package + ": a rollback to " + package.version +
                                       " needs a signed rollback directive, which this SDK does not verify yet");
    // Reported once per offer: the server repeats it at every check.
    const std::string identity = package.release + "/" + package.package + "/" + package.version;
    auto refused = store_.meta(kRollbackRefusedKey);
    if (refused && refused->has_value() && **refused == identity) {
      report.skipped.push_back({package.package, package.version, error});
      return report;
    }
    (void)client::EventQueue(store_, options_.caps.event_queue)
        .failed({package.release, package.package, package.version}, error.code, error.message);
    (void)store_.set_meta(kRollbackRefusedKey, identity);
    report.failed.push_back({package.package, package.version, error});
    return report;
  }
  if (!downloads_allowed()) {
    return {};
  }
  return pipeline_->install(core::PackageKind::Hotpatch, {package});
}

Result<std::string> ClientPackages::resolve(std::string_view package, std::string_view url_path) {
  if (!is_package_id(package)) {
    return make_error(ErrorCode::InvalidArgument,
                      "package \"" + std::string(package.substr(0, 80)) + "\" is not a package id");
  }
  // A URL's path: one leading '/' and any query or fragment are not part of the file.
  std::string_view path = url_path;
  if (const auto end = path.find_first_of("?#"); end != std::string_view::npos) {
    path = path.substr(0, end);
  }
  if (!path.empty() && path.front() == '/') {
    path.remove_prefix(1);
  }
  if (auto valid = core::validate_package_path(path); !valid) {
    return make_error(ErrorCode::InvalidArgument, "url_path: " + valid.error().message);
  }
  const std::string id(package);
  auto versions = store_.installed_versions("offline", id);
  if (!versions) {
    return std::move(versions).error();
  }
  if (versions->current) {
    const auto file =
        pipeline_->version_directory(core::PackageKind::Offline, id, *versions->current) / std::string(path);
    struct stat info {};
    if (::lstat(file.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
      return make_error(ErrorCode::NotFound, id + " " + *versions->current + " has no file " + std::string(path));
    }
    return file.string();
  }
  auto fallback = options_.package_fallback_urls.find(id);
  if (fallback == options_.package_fallback_urls.end()) {
    return make_error(ErrorCode::NotFound, id + " is not installed and has no fallback URL");
  }
  std::string base = fallback->second;
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  return base + "/" + std::string(path);
}

Result<std::map<std::string, std::string>> ClientPackages::installed_offline() {
  return store_.installed("offline");
}

Result<std::string> ClientPackages::download_upgrade(const transport::UpgradeOffer &offer, PipelineReport &report) {
  if (!downloads_allowed()) {
    return make_error(ErrorCode::NetworkNotAllowed, "the network policy allows downloads on Wi-Fi only");
  }
  report = pipeline_->install(core::PackageKind::Upgrade, {offer.package});
  if (!report.failed.empty()) {
    return report.failed.front().error;
  }
  if (!report.skipped.empty()) {
    return report.skipped.front().error; // refused for good before, not reported again
  }
  const auto &package = offer.package.package;
  const auto &version = offer.package.version;
  auto manifest = pipeline_->installed_manifest(core::PackageKind::Upgrade, package, version);
  if (!manifest) {
    return std::move(manifest).error();
  }
  return (pipeline_->version_directory(core::PackageKind::Upgrade, package, version) / manifest->files.front().path)
      .string();
}

} // namespace mds::packages
