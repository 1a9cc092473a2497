// The checks a package passes before any of its bytes are used (SECURITY.md #1 to #4): the
// envelope is signed by a trusted key, and the manifest inside is for this app, this kind,
// this package and this version, not below the version floor, and fits this app and its
// SDKs. Also the check of an installed tree against its manifest.
#ifndef MDS_SRC_PACKAGES_VERIFY_HPP
#define MDS_SRC_PACKAGES_VERIFY_HPP

#include "core/crypto/ecdsa.hpp"
#include "core/manifest/manifest.hpp"
#include "core/version/version.hpp"

#include <mds/error.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mds::packages {

// Who the device is, as the checks need it.
struct DeviceIdentity {
  std::string app_id;
  core::Version app_version;
  std::map<std::string, core::Version> sdk_versions;
  std::vector<core::crypto::PublicKey> trusted_keys;
};

// What the device expects the manifest to be.
struct Expected {
  core::PackageKind kind = core::PackageKind::Offline;
  std::optional<std::string> package; // nullopt: any (a preset names its own)
  std::optional<std::string> version; // nullopt: any
  std::optional<std::string> floor;   // the highest version accepted so far
};

// Verifies the DSSE envelope text with the trusted keys, decodes the manifest and checks
// it against `expected` and the device. Codes: the envelope's and the manifest's own,
// ManifestAppMismatch, ManifestKindMismatch, ManifestPackageMismatch,
// ManifestVersionMismatch, VersionRollback, AppVersionUnsupported, SdkVersionUnsupported.
Result<core::Manifest> verify_package(std::string_view envelope, const DeviceIdentity &device,
                                      const Expected &expected);

// The signed manifest of an installed version, checked only for its signature and
// identity (it passed every other check when it was installed).
Result<core::Manifest> read_installed_manifest(std::string_view envelope, const DeviceIdentity &device,
                                               core::PackageKind kind, const std::string &package);

// Ok when `root` holds exactly the manifest's files, each with its size and SHA-256, and
// nothing else (no link, no extra file). FileSizeMismatch, FileHashMismatch, NotFound
// (a listed file is missing) or PathUnsafe (an extra entry), naming the file.
Status verify_tree(const std::filesystem::path &root, const core::Manifest &manifest);

} // namespace mds::packages

#endif
