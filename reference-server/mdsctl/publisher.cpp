#include "publisher.hpp"

#include "core/crypto/dsse.hpp"
#include "io/file_io.hpp"

#include <ctime>

namespace mds::mdsctl {
namespace {

namespace crypto = core::crypto;

constexpr std::uint64_t kMaxKeyFileBytes = 64 * 1024;

} // namespace

std::string now_utc() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  ::gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

Error with_context(Error error, const std::string &context) {
  error.message = context + ": " + error.message;
  return error;
}

Result<crypto::PrivateKey> load_private_key(const std::string &path) {
  auto text = io::read_file(path, kMaxKeyFileBytes);
  if (!text) {
    return std::move(text).error();
  }
  auto key = crypto::PrivateKey::load(*text);
  if (!key) {
    return with_context(std::move(key).error(), path);
  }
  return key;
}

Result<std::vector<crypto::PublicKey>> load_public_keys(const std::vector<std::string> &paths) {
  std::vector<crypto::PublicKey> keys;
  for (const auto &path : paths) {
    auto text = io::read_file(path, kMaxKeyFileBytes);
    if (!text) {
      return std::move(text).error();
    }
    auto key = crypto::PublicKey::load(*text);
    if (!key) {
      return with_context(std::move(key).error(), path);
    }
    keys.push_back(std::move(*key));
  }
  return keys;
}

Result<core::Manifest> manifest_from_options(const cli::CommandLine &line, std::vector<core::ManifestFile> files) {
  if (auto missing = line.require({"app", "kind", "id", "version"}); !missing) {
    return missing.error();
  }
  auto kind = core::package_kind_from_string(*line.value("kind"));
  if (!kind) {
    return make_error(ErrorCode::InvalidArgument, "--kind must be offline, hotpatch or upgrade");
  }
  core::Manifest manifest;
  manifest.app = *line.value("app");
  manifest.kind = *kind;
  manifest.package_id = *line.value("id");
  manifest.version = *line.value("version");
  manifest.created = line.value("created").value_or(now_utc());
  manifest.notes = line.value("notes");
  manifest.requirements.app_version = line.value("requires-app");
  for (const auto &requirement : line.values("requires-sdk")) {
    const auto equals = requirement.find('=');
    if (equals == std::string::npos) {
      return make_error(ErrorCode::InvalidArgument, "--requires-sdk takes NAME=RANGE, not \"" + requirement + "\"");
    }
    manifest.requirements.sdk_versions[requirement.substr(0, equals)] = requirement.substr(equals + 1);
  }
  manifest.files = std::move(files);
  if (auto valid = core::validate(manifest); !valid) {
    return valid.error();
  }
  return manifest;
}

Result<SignedEnvelope> sign_payload(std::string_view payload_type, const std::string &payload,
                                    const std::vector<std::string> &key_paths) {
  if (key_paths.empty()) {
    return make_error(ErrorCode::InvalidArgument, "--key is required (repeat it for several signatures)");
  }
  std::vector<crypto::PrivateKey> keys;
  for (const auto &path : key_paths) {
    auto key = load_private_key(path);
    if (!key) {
      return std::move(key).error();
    }
    keys.push_back(std::move(*key));
  }
  std::vector<const crypto::PrivateKey *> signers;
  SignedEnvelope signed_envelope;
  for (const auto &key : keys) {
    signers.push_back(&key);
    signed_envelope.key_ids.push_back(key.key_id());
  }
  auto envelope = crypto::sign_envelope(payload_type, payload, signers);
  if (!envelope) {
    return std::move(envelope).error();
  }
  auto text = crypto::encode_envelope(*envelope);
  if (!text) {
    return std::move(text).error();
  }
  signed_envelope.text = std::move(*text);
  return signed_envelope;
}

} // namespace mds::mdsctl
