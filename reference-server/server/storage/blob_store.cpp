#include "server/storage/blob_store.hpp"

#include "core/crypto/encoding.hpp"
#include "core/crypto/sha256.hpp"
#include "io/file_io.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_set>
#include <vector>

namespace mds::server {
namespace {

constexpr std::size_t kChunk = 64 * 1024;

Error io_error(std::string_view doing, int error_number) {
  return make_error(error_number == ENOSPC || error_number == EDQUOT ? ErrorCode::DiskFull : ErrorCode::IoError,
                    std::string(doing) + ": " + std::strerror(error_number));
}

bool is_sha256_hex(std::string_view text) {
  if (text.size() != 64) {
    return false;
  }
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

// Owns a temporary file until it is renamed into place.
class TempFile {
public:
  explicit TempFile(const std::filesystem::path &dir) {
    auto pattern = (dir / "blob-XXXXXX").string();
    fd_ = mkostemp(pattern.data(), O_CLOEXEC);
    if (fd_ >= 0) {
      path_ = pattern;
    }
  }
  TempFile(const TempFile &) = delete;
  TempFile &operator=(const TempFile &) = delete;
  ~TempFile() {
    close_fd();
    if (!path_.empty()) {
      ::unlink(path_.c_str());
    }
  }
  int fd() const { return fd_; }
  const std::filesystem::path &path() const { return path_; }
  int close_fd() {
    const int result = fd_ >= 0 ? ::close(fd_) : 0;
    fd_ = -1;
    return result;
  }
  void keep() { path_.clear(); } // renamed away: nothing to remove

private:
  int fd_ = -1;
  std::filesystem::path path_;
};

class CryptoSha256 final : public ContentHasher {
public:
  void update(const void *data, std::size_t size) override {
    hasher_.update(core::crypto::ByteView(static_cast<const std::uint8_t *>(data), size));
  }
  std::string finish_hex() override {
    const auto digest = hasher_.finish();
    // A failed (hardware) hasher gives the all-zero digest; the empty name makes put()
    // fail as Internal rather than store a blob under a name that is not its hash.
    return hasher_.failed() ? std::string() : core::crypto::hex_encode(digest);
  }

private:
  core::crypto::Sha256 hasher_;
};

} // namespace

std::unique_ptr<ContentHasher> sha256_hasher() {
  return std::make_unique<CryptoSha256>();
}

Result<std::filesystem::path> BlobStore::path_of(std::string_view sha256) const {
  if (!is_sha256_hex(sha256)) {
    return make_error(ErrorCode::InvalidHex, "a blob name is 64 lower-case hex digits");
  }
  return root_ / std::string(sha256.substr(0, 2)) / std::string(sha256);
}

bool BlobStore::contains(std::string_view sha256) const {
  auto path = path_of(sha256);
  std::error_code ignored;
  return path && std::filesystem::is_regular_file(*path, ignored);
}

std::optional<std::uint64_t> BlobStore::size_of(std::string_view sha256) const {
  auto path = path_of(sha256);
  struct stat info {};
  if (!path || ::stat(path->c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(info.st_size);
}

Status BlobStore::make_shard(const std::filesystem::path &shard) const {
  std::error_code error;
  if (std::filesystem::create_directory(shard, error)) {
    return io::fsync_directory(root_);
  }
  if (error) {
    return make_error(ErrorCode::IoError, "create " + shard.string() + ": " + error.message());
  }
  return {};
}

bool BlobStore::touch(std::string_view sha256) const {
  auto path = path_of(sha256);
  return path && ::utimensat(AT_FDCWD, path->c_str(), nullptr, 0) == 0;
}

Result<BlobSweep> BlobStore::sweep(const std::function<Result<std::vector<std::string>>()> &list_referenced,
                                   std::chrono::seconds grace) {
  std::unique_lock<std::shared_mutex> no_publish(sweep_mutex_);
  auto listed = list_referenced();
  if (!listed) {
    return listed.error();
  }
  const std::unordered_set<std::string> referenced(listed->begin(), listed->end());
  BlobSweep result;
  const auto now = std::chrono::system_clock::now();
  std::error_code error;
  for (const auto &shard : std::filesystem::directory_iterator(root_, error)) {
    if (!shard.is_directory()) {
      continue;
    }
    bool removed_any = false;
    std::error_code shard_error;
    for (const auto &entry : std::filesystem::directory_iterator(shard.path(), shard_error)) {
      const std::string name = entry.path().filename().string();
      if (!is_sha256_hex(name) || entry.path() != path_of(name).value()) {
        continue; // not a blob's name and place: not ours to remove
      }
      struct stat info {};
      if (::stat(entry.path().c_str(), &info) != 0) {
        continue;
      }
      const auto modified = std::chrono::system_clock::from_time_t(info.st_mtim.tv_sec);
      if (referenced.count(name) != 0 || now - modified < grace) {
        ++result.kept;
        continue;
      }
      if (::unlink(entry.path().c_str()) != 0) {
        return io_error("remove " + entry.path().string(), errno);
      }
      ++result.removed;
      result.removed_bytes += static_cast<std::uint64_t>(info.st_size);
      removed_any = true;
    }
    if (shard_error) {
      return make_error(ErrorCode::IoError, "list " + shard.path().string() + ": " + shard_error.message());
    }
    if (removed_any) {
      if (auto synced = io::fsync_directory(shard.path()); !synced) {
        return synced.error();
      }
    }
  }
  if (error) {
    return make_error(ErrorCode::IoError, "list " + root_.string() + ": " + error.message());
  }
  return result;
}

Result<StoredBlob> BlobStore::adopt(const std::filesystem::path &file, std::string_view sha256) {
  auto destination = path_of(sha256);
  if (!destination) {
    return destination.error();
  }
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return io_error("open " + file.string(), errno);
  }
  struct stat info {};
  const bool synced = ::fstat(fd, &info) == 0 && ::fsync(fd) == 0;
  const int saved_errno = errno;
  ::close(fd);
  if (!synced) {
    return io_error("fsync " + file.string(), saved_errno);
  }
  StoredBlob blob{std::string(sha256), static_cast<std::uint64_t>(info.st_size)};
  if (auto shard = make_shard(destination->parent_path()); !shard) {
    return shard.error();
  }
  // A hard link, not a rename: the caller still owns (and removes) its name, and a blob
  // that appears meanwhile under the same name (EEXIST) holds the same bytes.
  if (::link(file.c_str(), destination->c_str()) != 0) {
    if (errno != EEXIST) {
      return io_error("link into " + destination->string(), errno);
    }
    touch(sha256); // uploaded again: wanted now, whatever its age
  }
  if (auto synced_dir = io::fsync_directory(destination->parent_path()); !synced_dir) {
    return synced_dir.error();
  }
  return blob;
}

Result<StoredBlob> BlobStore::put(const ByteReader &read, std::optional<std::string> expected_sha256,
                                  std::optional<std::uint64_t> max_size) {
  TempFile temp(tmp_dir_);
  if (temp.fd() < 0) {
    return io_error("create a temporary file in " + tmp_dir_.string(), errno);
  }
  auto hasher = hasher_();
  std::vector<char> buffer(kChunk);
  StoredBlob blob;
  for (;;) {
    auto got = read(buffer.data(), buffer.size());
    if (!got) {
      return got.error();
    }
    if (*got == 0) {
      break;
    }
    blob.size += *got;
    if (max_size && blob.size > *max_size) {
      return make_error(ErrorCode::PackageTooLarge, "blob above " + std::to_string(*max_size) + " bytes");
    }
    hasher->update(buffer.data(), *got);
    const char *data = buffer.data();
    std::size_t left = *got;
    while (left > 0) {
      const auto written = ::write(temp.fd(), data, left);
      if (written < 0) {
        if (errno == EINTR) {
          continue;
        }
        return io_error("write " + temp.path().string(), errno);
      }
      data += written;
      left -= static_cast<std::size_t>(written);
    }
  }
  blob.sha256 = hasher->finish_hex();
  if (expected_sha256 && *expected_sha256 != blob.sha256) {
    return make_error(ErrorCode::FileHashMismatch,
                      "content has SHA-256 " + blob.sha256 + ", expected " + *expected_sha256);
  }
  if (fsync(temp.fd()) != 0) {
    return io_error("fsync " + temp.path().string(), errno);
  }
  if (temp.close_fd() != 0) {
    return io_error("close " + temp.path().string(), errno);
  }

  auto destination = path_of(blob.sha256);
  if (!destination) {
    return make_error(ErrorCode::Internal, "the hasher returned \"" + blob.sha256 + "\", not a SHA-256 in hex");
  }
  const auto shard = destination->parent_path();
  if (auto made = make_shard(shard); !made) {
    return made.error();
  }
  std::error_code error;
  // Same name, same bytes: a blob already stored is left as it is.
  if (std::filesystem::exists(*destination, error)) {
    return blob;
  }
  if (::rename(temp.path().c_str(), destination->c_str()) != 0) {
    return io_error("rename into " + destination->string(), errno);
  }
  temp.keep();
  if (auto synced = io::fsync_directory(shard); !synced) {
    return synced.error();
  }
  return blob;
}

Result<StoredBlob> BlobStore::put_bytes(std::string_view bytes) {
  std::size_t offset = 0;
  return put([&](char *buffer, std::size_t capacity) -> Result<std::size_t> {
    const auto count = std::min(capacity, bytes.size() - offset);
    std::memcpy(buffer, bytes.data() + offset, count);
    offset += count;
    return count;
  });
}

Result<StoredBlob> BlobStore::put_file(const std::filesystem::path &source) {
  const int fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return io_error("open " + source.string(), errno);
  }
  auto stored = put([&](char *buffer, std::size_t capacity) -> Result<std::size_t> {
    for (;;) {
      const auto got = ::read(fd, buffer, capacity);
      if (got >= 0) {
        return static_cast<std::size_t>(got);
      }
      if (errno != EINTR) {
        return io_error("read " + source.string(), errno);
      }
    }
  });
  ::close(fd);
  return stored;
}

} // namespace mds::server
