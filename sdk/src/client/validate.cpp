#include "client/validate.hpp"

#include "core/crypto/ecdsa.hpp"
#include "core/version/version.hpp"
#include "transport/protocol.hpp"

#include <cstdint>
#include <string>

namespace mds::client {
namespace {

Error invalid(const std::string &field, const std::string &why) {
  return make_error(ErrorCode::InvalidArgument, "ClientOptions::" + field + " " + why);
}

bool has_control_characters(const std::string &text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return true;
    }
  }
  return false;
}

bool is_lower_word(const std::string &text) {
  if (text.empty() || text.size() > 32) {
    return false;
  }
  for (char c : text) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
      return false;
    }
  }
  return true;
}

// `rest` is what follows "http://": host, then optionally ":port" and a path.
bool is_loopback_host(const std::string &rest) {
  for (const char *host : {"127.0.0.1", "localhost", "[::1]"}) {
    const std::string name = host;
    if (rest.compare(0, name.size(), name) == 0 &&
        (rest.size() == name.size() || rest[name.size()] == ':' || rest[name.size()] == '/')) {
      return true;
    }
  }
  return false;
}

} // namespace

Status validate_options(const ClientOptions &options) {
  const auto &url = options.server_url;
  if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
    return invalid("server_url", "must start with https:// (or http:// for tests), got \"" + url.substr(0, 80) + "\"");
  }
  // Configuration values are not signed: only TLS protects them, so plain HTTP is for a
  // server on this machine (tests, local development) and nothing else.
  if (url.rfind("http://", 0) == 0 && !is_loopback_host(url.substr(7))) {
    return invalid("server_url", "may use http:// only for 127.0.0.1, [::1] or localhost; use https://");
  }
  if (url.size() <= 8 || has_control_characters(url) || url.find(' ') != std::string::npos) {
    return invalid("server_url", "is not a URL");
  }
  if (options.app_id.empty() || has_control_characters(options.app_id) || options.app_id.size() > 128) {
    return invalid("app_id", "must be 1..128 printable characters");
  }
  if (!is_lower_word(options.platform)) {
    return invalid("platform", "must be a lower-case word such as \"android\" or \"ios\"");
  }
  if (auto version = core::Version::parse(options.app_version); !version) {
    return invalid("app_version", "\"" + options.app_version.substr(0, 64) + "\": " + version.error().message);
  }
  for (const auto &[name, version] : options.sdk_versions) {
    if (name.empty() || has_control_characters(name)) {
      return invalid("sdk_versions", "has an empty or unprintable name");
    }
    if (auto parsed = core::Version::parse(version); !parsed) {
      return invalid("sdk_versions", "[" + name + "]: " + parsed.error().message);
    }
  }
  for (const auto &[name, value] : options.attributes) {
    if (name.empty() || has_control_characters(name)) {
      return invalid("attributes", "has an empty or unprintable name");
    }
    (void)value;
  }
  if (options.device.id.size() > 128 || has_control_characters(options.device.id)) {
    return invalid("device.id", "must be at most 128 printable characters (empty: generated)");
  }
  if (options.state_directory.empty()) {
    return invalid("state_directory", "is empty");
  }
  if (options.trusted_public_keys.empty()) {
    return invalid("trusted_public_keys", "is empty: the client could verify nothing");
  }
  for (std::size_t i = 0; i < options.trusted_public_keys.size(); ++i) {
    if (auto key = core::crypto::PublicKey::from_pem(options.trusted_public_keys[i]); !key) {
      return invalid("trusted_public_keys",
                     "[" + std::to_string(i) + "] is not a PEM ECDSA P-256 public key: " + describe(key.error()));
    }
  }
  for (const auto &pin : options.tls.pinned_public_keys) {
    if (pin.rfind("sha256//", 0) != 0 || pin.size() != 8 + 44 || pin.find(';') != std::string::npos) {
      return invalid("tls.pinned_public_keys", "entries must be \"sha256//\" + 44 base64 characters");
    }
  }
  // What the host describes travels in every check request, whose body the server caps
  // (transport::kMaxRequestBytes); half of it stays free for the installed packages.
  transport::CheckInput worst;
  worst.device_id = std::string(128, 'd');
  worst.config_revision = INT64_MAX;
  if (const auto size = transport::build_check_request(options, worst).size(); size > kMaxDescriptionBytes) {
    return invalid("attributes", "with device, user_id and sdk_versions make a check request of " +
                                     std::to_string(size) + " bytes; at most " + std::to_string(kMaxDescriptionBytes) +
                                     " are allowed");
  }
  const auto &t = options.timeouts;
  if (t.connect.count() <= 0 || t.request_deadline.count() <= 0 || t.low_speed_window.count() <= 0 ||
      t.low_speed_bytes_per_second == 0 || t.download_deadline.count() < 0) {
    return invalid("timeouts", "must be positive (download_deadline may be zero)");
  }
  const auto &c = options.caps;
  if (c.check_response_bytes == 0 || c.events_response_bytes == 0 || c.download_bytes == 0 || c.event_queue == 0) {
    return invalid("caps", "must be positive");
  }
  if (c.delta_window_log < 10 || c.delta_window_log > 31) {
    return invalid("caps", "delta_window_log must be 10..31");
  }
  for (std::size_t i = 0; i < options.preset_packages.size(); ++i) {
    if (options.preset_packages[i].envelope.empty() || options.preset_packages[i].directory.empty()) {
      return invalid("preset_packages", "[" + std::to_string(i) + "] needs an envelope and a directory");
    }
  }
  for (const auto &[package, base] : options.package_fallback_urls) {
    if (package.empty() || has_control_characters(package)) {
      return invalid("package_fallback_urls", "has an empty or unprintable package id");
    }
    if ((base.rfind("https://", 0) != 0 && base.rfind("http://", 0) != 0) || has_control_characters(base) ||
        base.find(' ') != std::string::npos) {
      return invalid("package_fallback_urls", "[" + package + "] is not an http(s) URL");
    }
  }
  if (options.hotpatch_max_launches < 1 || options.hotpatch_max_launches > 100) {
    return invalid("hotpatch_max_launches", "must be 1..100");
  }
  const auto &s = options.schedule;
  if (s.min_poll_interval.count() <= 0 || s.poll_interval.count() <= 0 || s.initial_backoff.count() <= 0 ||
      s.max_backoff < s.initial_backoff) {
    return invalid("schedule", "intervals must be positive and max_backoff >= initial_backoff");
  }
  return {};
}

} // namespace mds::client
