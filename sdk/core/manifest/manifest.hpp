// The package manifest: the signed description of one version of one package
// (DESIGN.md "Trust"; the wire format is in docs/protocol.md).
//
// A publisher's `mdsctl` builds a Manifest, encodes it and signs the bytes in a DSSE
// envelope of type kManifestPayloadType. A device verifies the envelope, decodes the
// payload, and then holds every other input to it: the manifest must name the app, kind
// and package the device asked for (check_identity), and every file it writes must have
// a listed path, size and SHA-256.
//
// Text is never canonicalised (the signature covers the bytes as sent); encode is
// deterministic only so that the same inputs sign to the same bytes.
//
// Thread-safety: value types and pure functions.
#ifndef MDS_CORE_MANIFEST_MANIFEST_HPP
#define MDS_CORE_MANIFEST_MANIFEST_HPP

#include "core/version/version.hpp"

#include <mds/error.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mds::core {

// The DSSE payload type of a manifest; a verifier accepts no other.
inline constexpr std::string_view kManifestPayloadType = "application/vnd.openmds.manifest+json";

// The "schema" field. A reader refuses other numbers (Unsupported): a later schema may
// change the meaning of fields, so reading it as this one would be a guess.
inline constexpr int kManifestSchema = 1;

// Limits. Every one is checked by decode and validate.
inline constexpr std::size_t kMaxManifestBytes = 4u << 20;    // the encoded text
inline constexpr std::size_t kMaxManifestFiles = 10000;       // PackageTooLarge above
inline constexpr std::uint64_t kMaxPackageBytes = 4ull << 30; // sum of file sizes; PackageTooLarge above
inline constexpr std::size_t kMaxAppIdLength = 128;
inline constexpr std::size_t kMaxPackageIdLength = 64; // also SDK names
inline constexpr std::size_t kMaxVersionRangeLength = 256;
inline constexpr std::size_t kMaxSdkRequirements = 32;
inline constexpr std::size_t kMaxNotesBytes = 4096; // UTF-8 bytes

enum class PackageKind {
  Offline,  // H5 web resources of one mini-app
  Hotpatch, // a script, resource or native patch bundle
  Upgrade,  // a new app build (APK, IPA) or its store link
};

// "offline", "hotpatch", "upgrade": the wire names.
const char *to_string(PackageKind kind) noexcept;
// The inverse of to_string; nullopt for any other string (names are lower-case only).
std::optional<PackageKind> package_kind_from_string(std::string_view name) noexcept;

struct ManifestFile {
  std::string path; // grammar of core/manifest/path.hpp
  std::uint64_t size = 0;
  std::string sha256; // 64 lower-case hex characters

  friend bool operator==(const ManifestFile &a, const ManifestFile &b) {
    return a.path == b.path && a.size == b.size && a.sha256 == b.sha256;
  }
  friend bool operator!=(const ManifestFile &a, const ManifestFile &b) { return !(a == b); }
};

// What the installing app must be. Absent means "any".
struct Requirements {
  std::optional<std::string> app_version;          // a version range the app's version must satisfy
  std::map<std::string, std::string> sdk_versions; // SDK name -> version range

  bool empty() const { return !app_version && sdk_versions.empty(); }
  friend bool operator==(const Requirements &a, const Requirements &b) {
    return a.app_version == b.app_version && a.sdk_versions == b.sdk_versions;
  }
  friend bool operator!=(const Requirements &a, const Requirements &b) { return !(a == b); }
};

struct Manifest {
  // The app as the server knows it: 1 to 128 of A-Z a-z 0-9 . _ -, starting and ending
  // with a letter or digit (Android package names and iOS bundle ids fit). Compared
  // exactly, case included.
  std::string app;
  PackageKind kind = PackageKind::Offline;
  // 1 to 64 of a-z 0-9 . _ -, starting and ending with a letter or digit. Lower case
  // only: it names a directory on the device, where case-insensitive filesystems would
  // make "Shop" and "shop" one package.
  std::string package_id;
  // Dotted numeric ("10.1.68.2"): 1 to 16 segments, each at most 2^53 - 1, no leading zeros.
  std::string version;
  // When the publisher built the manifest: "YYYY-MM-DDTHH:MM:SSZ", UTC, year 1970 to 9999.
  std::string created;
  Requirements requirements;
  // Free text for operators (release notes); UTF-8 without control characters other
  // than tab and newline.
  std::optional<std::string> notes;
  // At least one file. decode returns them sorted by path (byte order); encode writes
  // them so, whatever order they are in here.
  std::vector<ManifestFile> files;

  friend bool operator==(const Manifest &a, const Manifest &b) {
    return a.app == b.app && a.kind == b.kind && a.package_id == b.package_id && a.version == b.version &&
           a.created == b.created && a.requirements == b.requirements && a.notes == b.notes && a.files == b.files;
  }
  friend bool operator!=(const Manifest &a, const Manifest &b) { return !(a == b); }
};

// Every rule decode applies to field values, for a Manifest built in code (mdsctl checks
// before it signs). Codes: ManifestInvalid for ids, kind-independent fields, created and
// notes; VersionInvalid / VersionRangeInvalid; PathUnsafe; InvalidHex for sha256;
// PackageTooLarge for file count and sizes.
Status validate(const Manifest &manifest);

// Compact JSON with a fixed key order, optional fields left out when absent and files
// sorted by path: equal manifests give equal bytes. It does not validate; a manifest
// that fails validate() encodes to text that decode refuses.
std::string encode(const Manifest &manifest);

// Strict reading of untrusted text: at most kMaxManifestBytes, unknown fields, duplicate
// keys and nulls refused, every value checked as by validate(), the file list checked as
// a set. JSON-level faults keep their Json* codes (JsonMissingField, JsonWrongType,
// JsonUnknownField, ...). decode(encode(m)) == m for any valid m whose files are
// sorted, and encode(decode(t)) == t for any t that encode wrote.
Result<Manifest> decode(std::string_view text);

// Ok when the manifest is for this app, kind and package; otherwise ManifestAppMismatch,
// ManifestKindMismatch or ManifestPackageMismatch (checked in that order).
Status check_identity(const Manifest &manifest, std::string_view app, PackageKind kind, std::string_view package_id);

// Ok when the manifest is for exactly this version; otherwise ManifestVersionMismatch.
// Versions are compared as text: both are dotted numeric without leading zeros, and the
// server names the exact version it published, so "1.0" and "1.0.0" differ here.
Status check_version(const Manifest &manifest, std::string_view version);

// Ok when this app version and these SDK versions (by SDK name) satisfy the manifest's
// requirements; otherwise AppVersionUnsupported or SdkVersionUnsupported. An SDK the
// manifest names but the app does not carry fails the requirement.
Status check_requirements_met(const Manifest &manifest, const Version &app_version,
                              const std::map<std::string, Version> &sdk_versions);

} // namespace mds::core

#endif
