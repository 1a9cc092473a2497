#include "packages/verify.hpp"

#include "core/crypto/dsse.hpp"
#include "core/crypto/encoding.hpp"
#include "io/file_io.hpp"
#include "io/package_tree.hpp"

#include <set>

namespace mds::packages {
namespace {

Result<core::Manifest> open_envelope(std::string_view text, const DeviceIdentity &device) {
  auto envelope = core::crypto::parse_envelope(text);
  if (!envelope) {
    return std::move(envelope).error();
  }
  auto verified = core::crypto::verify_envelope(*envelope, core::kManifestPayloadType, device.trusted_keys);
  if (!verified) {
    return std::move(verified).error();
  }
  const auto &payload = verified->payload;
  return core::decode(std::string_view(reinterpret_cast<const char *>(payload.data()), payload.size()));
}

bool lower_than(const std::string &a, const std::string &b) {
  auto va = core::Version::parse_dotted(a);
  auto vb = core::Version::parse_dotted(b);
  return va && vb && *va < *vb;
}

} // namespace

Result<core::Manifest> verify_package(std::string_view envelope, const DeviceIdentity &device,
                                      const Expected &expected) {
  auto manifest = open_envelope(envelope, device);
  if (!manifest) {
    return manifest;
  }
  const std::string package = expected.package.value_or(manifest->package_id);
  if (auto identity = core::check_identity(*manifest, device.app_id, expected.kind, package); !identity) {
    return std::move(identity).error();
  }
  if (expected.version) {
    if (auto version = core::check_version(*manifest, *expected.version); !version) {
      return std::move(version).error();
    }
  }
  if (expected.floor && lower_than(manifest->version, *expected.floor)) {
    return make_error(ErrorCode::VersionRollback, "package " + package + ": version " + manifest->version +
                                                      " is below the highest accepted " + *expected.floor);
  }
  if (auto met = core::check_requirements_met(*manifest, device.app_version, device.sdk_versions); !met) {
    return std::move(met).error();
  }
  return manifest;
}

Result<core::Manifest> read_installed_manifest(std::string_view envelope, const DeviceIdentity &device,
                                               core::PackageKind kind, const std::string &package) {
  auto manifest = open_envelope(envelope, device);
  if (!manifest) {
    return manifest;
  }
  if (auto identity = core::check_identity(*manifest, device.app_id, kind, package); !identity) {
    return std::move(identity).error();
  }
  return manifest;
}

Status verify_tree(const std::filesystem::path &root, const core::Manifest &manifest) {
  auto entries = io::list_regular_files(root);
  if (!entries) {
    return std::move(entries).error();
  }
  std::set<std::string> listed;
  for (const auto &file : manifest.files) {
    listed.insert(file.path);
  }
  for (const auto &entry : *entries) {
    if (listed.count(entry.path) == 0) {
      return make_error(ErrorCode::PathUnsafe, (root / entry.path).string() + " is not in the manifest");
    }
  }
  for (const auto &file : manifest.files) {
    const auto path = root / file.path;
    auto digest = io::digest_file(path);
    if (!digest) {
      return std::move(digest).error();
    }
    if (digest->size != file.size) {
      return make_error(ErrorCode::FileSizeMismatch, path.string() + ": " + std::to_string(digest->size) +
                                                         " bytes, the manifest says " + std::to_string(file.size));
    }
    if (core::crypto::hex_encode(digest->sha256) != file.sha256) {
      return make_error(ErrorCode::FileHashMismatch, path.string() + ": SHA-256 differs from the manifest");
    }
  }
  return {};
}

} // namespace mds::packages
