// Content-addressed, immutable files: DIR/blobs/<first two hex digits>/<64 hex digits>.
// A blob is written to a temporary file, fsynced, renamed into place and its directory
// fsynced, so a crash leaves either no blob or the whole blob, never a torn one. Because
// a name is its content's SHA-256, any CDN may cache blobs forever.
//
// Hashing is injected (ContentHasher); sha256_hasher() gives core/crypto's SHA-256, the
// one the rest of OpenMDS uses.
#ifndef MDS_SERVER_STORAGE_BLOB_STORE_HPP
#define MDS_SERVER_STORAGE_BLOB_STORE_HPP

#include <mds/error.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mds::server {

// A streaming SHA-256.
class ContentHasher {
public:
  virtual ~ContentHasher() = default;
  virtual void update(const void *data, std::size_t size) = 0;
  virtual std::string finish_hex() = 0; // 64 lower-case hex digits
};
using ContentHasherFactory = std::function<std::unique_ptr<ContentHasher>()>;

// core::crypto::Sha256 behind the ContentHasher interface.
std::unique_ptr<ContentHasher> sha256_hasher();

// Where put() reads a blob's bytes from: returns how many bytes it wrote into `buffer`
// (0 at the end) or an error.
using ByteReader = std::function<Result<std::size_t>(char *buffer, std::size_t capacity)>;

struct StoredBlob {
  std::string sha256;
  std::uint64_t size = 0;
};

struct BlobSweep {
  std::uint64_t removed = 0;
  std::uint64_t removed_bytes = 0;
  std::uint64_t kept = 0;
};

class BlobStore {
public:
  BlobStore(std::filesystem::path root, std::filesystem::path tmp_dir, ContentHasherFactory hasher)
      : root_(std::move(root)), tmp_dir_(std::move(tmp_dir)), hasher_(std::move(hasher)) {}

  // Stores the bytes `read` yields. With `expected_sha256`, a mismatch stores nothing
  // and fails with FileHashMismatch; with `max_size`, a longer stream fails with
  // PackageTooLarge as soon as it crosses the limit.
  Result<StoredBlob> put(const ByteReader &read, std::optional<std::string> expected_sha256 = std::nullopt,
                         std::optional<std::uint64_t> max_size = std::nullopt);
  Result<StoredBlob> put_bytes(std::string_view bytes);
  Result<StoredBlob> put_file(const std::filesystem::path &source);

  // Takes a file whose bytes the caller hashed while writing them (an upload spooled by
  // the HTTP server) as the blob `sha256`: the file is fsynced and hard-linked into place,
  // so the caller's copy can be removed as usual. The caller vouches for the hash; the
  // name is still checked to be a SHA-256 in hex (InvalidHex). A blob already held is
  // left as it is.
  Result<StoredBlob> adopt(const std::filesystem::path &file, std::string_view sha256);

  bool contains(std::string_view sha256) const;
  // Marks a held blob as wanted now (its modification time), which keeps a sweep away
  // from it for the sweep's grace period; false when the blob is not held.
  bool touch(std::string_view sha256) const;

  // Removes each held blob that `list_referenced` does not name and that nobody touched,
  // uploaded or wrote within `grace`: what a publish that never committed left behind.
  // A publish in progress holds hold_against_sweep() from its blob checks to its commit;
  // the sweep takes it exclusively and only then lists the referenced blobs, so a blob a
  // committed or committing package names is never removed.
  Result<BlobSweep> sweep(const std::function<Result<std::vector<std::string>>()> &list_referenced,
                          std::chrono::seconds grace);
  std::shared_lock<std::shared_mutex> hold_against_sweep() const {
    return std::shared_lock<std::shared_mutex>(sweep_mutex_);
  }
  // The blob's size; nullopt when it is not held.
  std::optional<std::uint64_t> size_of(std::string_view sha256) const;
  // The file a blob lives in; InvalidHex for a name that is not a SHA-256 in hex.
  Result<std::filesystem::path> path_of(std::string_view sha256) const;

private:
  // Creates a shard directory if needed and makes its entry durable.
  Status make_shard(const std::filesystem::path &shard) const;

  std::filesystem::path root_;
  std::filesystem::path tmp_dir_;
  ContentHasherFactory hasher_;
  mutable std::shared_mutex sweep_mutex_;
};

} // namespace mds::server

#endif
