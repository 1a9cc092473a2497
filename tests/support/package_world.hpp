// A device's package pipeline on local files, for unit tests: a state directory with its
// real Store, a publisher key the device trusts, signed manifests built from trees in
// memory, and blobs (full downloads and deltas, docs/delta.md) in a directory that a
// local fetch copies from, with Range-style resume and a strong ETag.
#ifndef MDS_TESTS_SUPPORT_PACKAGE_WORLD_HPP
#define MDS_TESTS_SUPPORT_PACKAGE_WORLD_HPP

#include "core/crypto/dsse.hpp"
#include "core/crypto/encoding.hpp"
#include "core/crypto/sha256.hpp"
#include "core/delta/delta.hpp"
#include "packages/pipeline.hpp"
#include "state/store.hpp"
#include "support/temp_dir.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>

namespace mds::test {

using Tree = std::map<std::string, std::string>; // path -> bytes

inline std::string hex_sha256(std::string_view bytes) {
  return core::crypto::hex_encode(
      core::crypto::sha256(core::crypto::ByteView(reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size())));
}

inline core::Manifest manifest_of(const Tree &tree, const std::string &package, const std::string &version,
                                  core::PackageKind kind = core::PackageKind::Offline,
                                  const std::string &app = "demo") {
  core::Manifest manifest;
  manifest.app = app;
  manifest.kind = kind;
  manifest.package_id = package;
  manifest.version = version;
  manifest.created = "2026-11-22T10:00:00Z";
  for (const auto &[path, bytes] : tree) {
    manifest.files.push_back({path, bytes.size(), hex_sha256(bytes)});
  }
  return manifest;
}

inline void write_bytes(const std::filesystem::path &path, std::string_view bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::abort();
  }
}

inline std::string read_bytes(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Copies blob `request.url` (a file name) from `blobs` into the part file, continuing
// the part when it has bytes and If-Range names the blob, like a Range request. When
// `stop_after` is set, only that many bytes of this answer arrive, then the "connection"
// breaks (NetworkInterrupted).
inline Result<transport::DownloadResult> fetch_local(const std::filesystem::path &blobs,
                                                     const transport::DownloadRequest &request,
                                                     std::optional<std::uint64_t> stop_after = std::nullopt) {
  const std::string name = request.url.substr(request.url.rfind('/') + 1);
  const auto source = blobs / name;
  if (!std::filesystem::exists(source)) {
    return make_error(ErrorCode::HttpStatus, request.url + ": HTTP 404");
  }
  const std::string bytes = read_bytes(source);
  const std::string etag = "\"" + name + "\"";
  std::uint64_t from = 0;
  std::error_code ec;
  const auto existing = std::filesystem::file_size(request.part_path, ec);
  if (!ec && existing > 0 && request.if_range == etag && existing < bytes.size()) {
    from = existing;
  }
  if (request.max_bytes != 0 && bytes.size() > request.max_bytes) {
    return make_error(ErrorCode::ResponseTooLarge, request.url + ": above the cap");
  }
  const int fd = ::open(request.part_path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(from)) != 0 || ::lseek(fd, static_cast<off_t>(from), SEEK_SET) < 0) {
    return make_error(ErrorCode::IoError, "part file");
  }
  if (request.on_body_start) {
    request.on_body_start(etag);
  }
  std::uint64_t count = bytes.size() - from;
  const bool broken = stop_after && *stop_after < count;
  if (broken) {
    count = *stop_after;
  }
  const bool written = ::write(fd, bytes.data() + from, count) == static_cast<ssize_t>(count);
  ::close(fd);
  if (!written) {
    return make_error(ErrorCode::IoError, "write part");
  }
  if (broken) {
    return make_error(ErrorCode::NetworkInterrupted, request.url + ": connection broke");
  }
  transport::DownloadResult result;
  result.size = bytes.size();
  result.resumed_from = from;
  result.etag = etag;
  return result;
}

class PackageWorld {
public:
  explicit PackageWorld(std::filesystem::path root = {}) {
    root_ = root.empty() ? temp_.path() : root;
    auto key = core::crypto::PrivateKey::generate();
    if (!key) {
      std::abort();
    }
    key_ = std::make_unique<core::crypto::PrivateKey>(std::move(*key));
    std::filesystem::create_directories(blobs());
    open();
  }

  std::filesystem::path state() const { return root_ / "state"; }
  std::filesystem::path blobs() const { return root_ / "blobs"; }
  state::Store &store() { return *store_; }
  packages::Pipeline &pipeline() { return *pipeline_; }
  const core::crypto::PrivateKey &key() const { return *key_; }

  // Drops and reopens the store and the pipeline, as a restart of the app does.
  void reopen() {
    pipeline_.reset();
    store_.reset();
    open();
  }

  packages::PipelineSettings settings;
  std::optional<std::uint64_t> stop_after; // see fetch_local
  int fetches = 0;
  std::uint64_t last_resumed_from = 0;

  // The envelope text of `manifest` signed by `signer` (the trusted key by default).
  std::string sign_text(const std::string &payload, const core::crypto::PrivateKey *signer = nullptr) const {
    auto envelope = core::crypto::sign_envelope(
        core::kManifestPayloadType,
        core::crypto::ByteView(reinterpret_cast<const std::uint8_t *>(payload.data()), payload.size()),
        signer != nullptr ? *signer : *key_);
    auto text = core::crypto::encode_envelope(*envelope);
    return *text;
  }
  std::string sign(const core::Manifest &manifest, const core::crypto::PrivateKey *signer = nullptr) const {
    return sign_text(core::encode(manifest), signer);
  }

  // Stores `bytes` as a blob; returns its download entry.
  transport::Download put_blob(const std::string &bytes, const std::string &kind,
                               std::optional<std::string> base = std::nullopt) {
    transport::Download download;
    download.kind = kind;
    download.base = std::move(base);
    download.sha256 = hex_sha256(bytes);
    download.size = bytes.size();
    download.url = "/v1/blobs/" + download.sha256;
    write_bytes(blobs() / download.sha256, bytes);
    return download;
  }

  static std::string encode(const core::Manifest &base, const Tree &base_tree, const core::Manifest &target,
                            const Tree &target_tree) {
    auto from = [](const Tree &tree) {
      return [&tree](const core::ManifestFile &file) -> Result<core::crypto::ByteView> {
        const auto &bytes = tree.at(file.path);
        return core::crypto::ByteView(reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size());
      };
    };
    core::delta::EncodeOptions options;
    options.compression_level = 3;
    auto delta = core::delta::encode_delta(base, from(base_tree), target, from(target_tree), options);
    if (!delta) {
      std::abort();
    }
    return std::string(delta->begin(), delta->end());
  }

  // An offer of `tree` as `version`: the full download, and a delta from each base given.
  transport::PackageOffer offer(const std::string &package, const std::string &version, const Tree &tree,
                                const std::vector<std::pair<std::string, Tree>> &delta_bases = {},
                                core::PackageKind kind = core::PackageKind::Offline) {
    const auto manifest = manifest_of(tree, package, version, kind);
    transport::PackageOffer offer;
    offer.release = "r-" + package + "-" + version;
    offer.package = package;
    offer.version = version;
    offer.envelope = sign(manifest);
    for (const auto &[base_version, base_tree] : delta_bases) {
      const auto base = manifest_of(base_tree, package, base_version, kind);
      offer.downloads.push_back(put_blob(encode(base, base_tree, manifest, tree), "delta", base_version));
    }
    offer.downloads.push_back(put_blob(encode(core::Manifest{}, {}, manifest, tree), "full"));
    return offer;
  }

  packages::PipelineReport install(const transport::PackageOffer &offer,
                                   core::PackageKind kind = core::PackageKind::Offline) {
    return pipeline_->install(kind, {offer});
  }

  std::optional<std::string> current(const std::string &package, core::PackageKind kind = core::PackageKind::Offline) {
    auto versions = store_->installed_versions(core::to_string(kind), package);
    return versions ? versions->current : std::nullopt;
  }

  std::filesystem::path directory(const std::string &package, const std::string &version,
                                  core::PackageKind kind = core::PackageKind::Offline) const {
    return pipeline_->version_directory(kind, package, version);
  }

  // The installed tree of `version` read back.
  Tree tree_of(const std::string &package, const std::string &version) const {
    Tree tree;
    const auto root = directory(package, version);
    for (const auto &entry : std::filesystem::recursive_directory_iterator(root)) {
      if (entry.is_regular_file()) {
        tree[std::filesystem::relative(entry.path(), root).generic_string()] = read_bytes(entry.path());
      }
    }
    return tree;
  }

private:
  void open() {
    auto store = state::Store::open(state());
    if (!store) {
      std::abort();
    }
    store_ = std::move(*store);
    if (settings.state_directory.empty()) {
      settings.state_directory = state();
      settings.device.app_id = "demo";
      settings.device.app_version = *core::Version::parse_dotted("10.2.3");
      settings.device.sdk_versions["mds"] = *core::Version::parse_dotted("0.1.0");
      settings.device.trusted_keys = {key_->public_key()};
      settings.server_url = "http://127.0.0.1:1";
    }
    pipeline_ = std::make_unique<packages::Pipeline>(settings, *store_, [this](const transport::DownloadRequest &r) {
      ++fetches;
      auto stop = stop_after;
      stop_after.reset();
      auto result = fetch_local(blobs(), r, stop);
      if (result) {
        last_resumed_from = result->resumed_from;
      }
      return result;
    });
  }

  TempDir temp_;
  std::filesystem::path root_;
  std::unique_ptr<core::crypto::PrivateKey> key_;
  std::unique_ptr<state::Store> store_;
  std::unique_ptr<packages::Pipeline> pipeline_;
};

} // namespace mds::test

#endif
