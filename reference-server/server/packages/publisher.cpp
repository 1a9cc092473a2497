#include "server/packages/publisher.hpp"

#include "io/mapped_file.hpp"
#include "server/packages/delta_bases.hpp"

#include "core/crypto/dsse.hpp"
#include "core/crypto/encoding.hpp"
#include "core/delta/delta.hpp"
#include "core/manifest/manifest.hpp"

#include <map>
#include <string>
#include <vector>

namespace mds::server::packages {
namespace {

// The blobs of one manifest's files, mapped for the encoder while it runs. Files are
// mapped on first use and unmapped when the set goes away.
class MappedBlobs {
public:
  explicit MappedBlobs(const BlobStore &blobs) : blobs_(blobs) {}

  Result<core::crypto::ByteView> bytes(const core::ManifestFile &file) {
    auto known = mapped_.find(file.sha256);
    if (known == mapped_.end()) {
      auto path = blobs_.path_of(file.sha256);
      if (!path) {
        return path.error();
      }
      auto mapped = io::MappedFile::open(*path);
      if (!mapped) {
        return mapped.error();
      }
      known = mapped_.emplace(file.sha256, std::move(mapped.value())).first;
    }
    return known->second.bytes();
  }
  core::delta::FileBytesFn source() {
    return [this](const core::ManifestFile &file) { return bytes(file); };
  }

private:
  const BlobStore &blobs_;
  std::map<std::string, io::MappedFile> mapped_;
};

Result<core::crypto::Envelope> read_envelope(std::string_view text) {
  auto envelope = core::crypto::parse_envelope(text);
  if (!envelope) {
    return envelope.error();
  }
  if (envelope->payload_type != core::kManifestPayloadType) {
    return make_error(ErrorCode::PayloadTypeMismatch, "the envelope's payload type is \"" + envelope->payload_type +
                                                          "\", not " + std::string(core::kManifestPayloadType));
  }
  return envelope;
}

Status verify_publisher(const core::crypto::Envelope &envelope, const App &app) {
  std::vector<core::crypto::PublicKey> keys;
  for (const auto &registered : app.publisher_keys) {
    auto key = core::crypto::PublicKey::from_pem(registered.pem);
    if (!key) {
      return make_error(ErrorCode::StorageCorrupt, "publisher key " + registered.key_id + " of app \"" + app.name +
                                                       "\" does not read: " + key.error().message);
    }
    keys.push_back(std::move(key.value()));
  }
  auto verified = core::crypto::verify_envelope(envelope, core::kManifestPayloadType, keys);
  if (!verified) {
    return make_error(verified.code(), "the envelope is not signed by a publisher key of app \"" + app.name +
                                           "\": " + verified.error().message);
  }
  return {};
}

Status check_blobs(const core::Manifest &manifest, const BlobStore &blobs) {
  for (const auto &file : manifest.files) {
    const auto size = blobs.size_of(file.sha256);
    if (!size) {
      return make_error(ErrorCode::BlobMissing,
                        "file " + file.path + " (" + file.sha256 + ") has not been uploaded as a blob");
    }
    if (*size != file.size) {
      return make_error(ErrorCode::FileSizeMismatch, "file " + file.path + ": the blob " + file.sha256 + " holds " +
                                                         std::to_string(*size) + " bytes, the manifest lists " +
                                                         std::to_string(file.size));
    }
  }
  return {};
}

} // namespace

Result<PublishedPackage> Publisher::publish(std::string_view app_name, std::string_view envelope_text,
                                            const Actor &actor) {
  const auto no_sweep = blobs_.hold_against_sweep(); // until the package names its blobs
  auto app = storage_.get_app(app_name);
  if (!app) {
    return app.error();
  }
  auto envelope = read_envelope(envelope_text);
  if (!envelope) {
    return envelope.error();
  }
  const std::string payload(envelope->payload.begin(), envelope->payload.end());
  auto manifest = core::decode(payload);
  if (!manifest) {
    return manifest.error();
  }
  if (manifest->app != app_name) {
    return make_error(ErrorCode::ManifestAppMismatch,
                      "the manifest is for app \"" + manifest->app + "\", not \"" + std::string(app_name) + "\"");
  }
  if (auto trusted = verify_publisher(*envelope, *app); !trusted) {
    return trusted.error();
  }

  NewPackage package;
  package.app = std::string(app_name);
  package.kind = core::to_string(manifest->kind);
  package.package_id = manifest->package_id;
  package.version = manifest->version;
  package.manifest_sha256 = core::crypto::hex_encode(core::delta::manifest_digest(*manifest));
  package.manifest_json = payload;
  package.envelope = std::string(envelope_text);
  package.file_count = manifest->files.size();
  for (const auto &file : manifest->files) {
    package.size += file.size;
  }

  // A version already published answers before any encoding work: the same manifest is
  // a repeat, another one a conflict. publish_package checks again in its transaction.
  if (auto existing = storage_.get_package(app_name, package.package_id, package.version)) {
    if (existing->manifest_sha256 != package.manifest_sha256) {
      return make_error(ErrorCode::AlreadyExists, "package \"" + package.package_id + "\" version " + package.version +
                                                      " is published with another manifest");
    }
    return PublishedPackage{std::move(existing.value()), false};
  } else if (existing.code() != ErrorCode::NotFound) {
    return existing.error();
  }
  if (auto held = check_blobs(*manifest, blobs_); !held) {
    return held.error();
  }

  core::delta::EncodeOptions encode_options;
  encode_options.compression_level =
      package.size > options_.large_package_bytes ? options_.large_package_level : options_.compression_level;
  MappedBlobs target_blobs(blobs_);
  const core::Manifest empty_base;
  auto full =
      core::delta::encode_delta(empty_base, target_blobs.source(), *manifest, target_blobs.source(), encode_options);
  if (!full) {
    return full.error();
  }
  auto stored_full = blobs_.put_bytes(std::string_view(reinterpret_cast<const char *>(full->data()), full->size()));
  if (!stored_full) {
    return stored_full.error();
  }
  package.full = {"", stored_full->sha256, stored_full->size};
  const auto full_size = full->size();
  full->clear();
  full->shrink_to_fit();

  auto earlier = storage_.list_packages(app_name, PackageQuery{std::nullopt, package.package_id});
  if (!earlier) {
    return earlier.error();
  }
  std::map<std::string, const Package *> by_version;
  std::vector<std::string> versions;
  for (const auto &candidate : *earlier) {
    by_version[candidate.version] = &candidate;
    versions.push_back(candidate.version);
  }
  for (const auto &base_version : select_delta_bases(versions, package.version, options_.delta_bases)) {
    const Package &base_package = *by_version.at(base_version);
    if (base_package.kind != package.kind) {
      continue; // publish_package refuses the kind change; no delta across kinds
    }
    auto base_manifest = core::decode(base_package.manifest_json);
    if (!base_manifest) {
      return make_error(ErrorCode::StorageCorrupt, "the stored manifest of " + base_package.package_id + " " +
                                                       base_version +
                                                       " does not read: " + base_manifest.error().message);
    }
    MappedBlobs base_blobs(blobs_);
    auto delta = core::delta::encode_delta(*base_manifest, base_blobs.source(), *manifest, target_blobs.source(),
                                           encode_options);
    if (!delta) {
      return delta.error();
    }
    if (!delta_worth_keeping(delta->size(), full_size)) {
      continue;
    }
    auto stored = blobs_.put_bytes(std::string_view(reinterpret_cast<const char *>(delta->data()), delta->size()));
    if (!stored) {
      return stored.error();
    }
    package.deltas.push_back({base_version, stored->sha256, stored->size});
  }
  // Every blob is in place: the package appears in one transaction, or not at all.
  return storage_.publish_package(package, actor);
}

} // namespace mds::server::packages
