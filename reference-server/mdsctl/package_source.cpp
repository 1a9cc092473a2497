#include "package_source.hpp"

#include "core/crypto/encoding.hpp"
#include "core/crypto/sha256.hpp"
#include "core/manifest/path.hpp"
#include "io/file_io.hpp"
#include "io/package_tree.hpp"

#include <zip.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

namespace mds::mdsctl {
namespace {

class DirectorySource final : public PackageSource {
public:
  explicit DirectorySource(std::filesystem::path root) : root_(std::move(root)) {}

  Result<std::vector<core::ManifestFile>> describe() override { return io::describe_tree(root_); }

  Result<BodyReader> open_file(const core::ManifestFile &file) override {
    const auto path = root_ / file.path;
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      return io::error_from_errno(errno, "open", path);
    }
    auto owned = std::shared_ptr<int>(new int(fd), [](int *p) {
      ::close(*p);
      delete p;
    });
    return BodyReader(
        [owned, path, remaining = file.size](char *buffer, std::size_t capacity) mutable -> Result<std::size_t> {
          for (;;) {
            const ssize_t got = ::read(*owned, buffer, capacity);
            if (got < 0 && errno == EINTR) {
              continue;
            }
            if (got < 0) {
              return io::error_from_errno(errno, "read", path);
            }
            if (static_cast<std::uint64_t>(got) > remaining) {
              return make_error(ErrorCode::FileSizeMismatch, path.string() + " grew since it was hashed");
            }
            remaining -= static_cast<std::uint64_t>(got);
            return static_cast<std::size_t>(got);
          }
        });
  }

private:
  std::filesystem::path root_;
};

struct ZipCloser {
  void operator()(zip_t *archive) const { zip_discard(archive); }
};

class ZipSource final : public PackageSource {
public:
  ZipSource(std::string path, zip_t *archive) : path_(std::move(path)), archive_(archive) {}

  Result<std::vector<core::ManifestFile>> describe() override {
    std::vector<core::ManifestFile> files;
    const zip_int64_t count = zip_get_num_entries(archive_.get(), 0);
    for (zip_int64_t i = 0; i < count; ++i) {
      const auto index = static_cast<zip_uint64_t>(i);
      zip_stat_t stat;
      zip_stat_init(&stat);
      if (zip_stat_index(archive_.get(), index, ZIP_FL_ENC_RAW, &stat) != 0 || (stat.valid & ZIP_STAT_NAME) == 0 ||
          (stat.valid & ZIP_STAT_SIZE) == 0) {
        return archive_error("entry " + std::to_string(i));
      }
      const std::string name = stat.name;
      const std::string where = path_ + ": entry \"" + name + "\"";
      std::uint8_t system = 0;
      std::uint32_t attributes = 0;
      if (zip_file_get_external_attributes(archive_.get(), index, 0, &system, &attributes) != 0) {
        return archive_error(where);
      }
      const bool is_directory = !name.empty() && name.back() == '/';
      if (system == ZIP_OPSYS_UNIX) {
        const mode_t mode = static_cast<mode_t>(attributes >> 16);
        if (S_ISLNK(mode)) {
          return make_error(ErrorCode::PathUnsafe, where + " is a symbolic link: a package carries plain files only");
        }
        if ((mode & S_IFMT) != 0 && !S_ISREG(mode) && !S_ISDIR(mode)) {
          return make_error(ErrorCode::PathUnsafe, where + " is a special file: a package carries plain files only");
        }
      }
      const std::string checked_path = is_directory ? name.substr(0, name.size() - 1) : name;
      if (auto valid = core::validate_package_path(checked_path); !valid) {
        return make_error(ErrorCode::PathUnsafe, where + ": " + valid.error().message);
      }
      if ((stat.valid & ZIP_STAT_ENCRYPTION_METHOD) != 0 && stat.encryption_method != ZIP_EM_NONE) {
        return make_error(ErrorCode::Unsupported, where + " is encrypted");
      }
      if (is_directory) {
        if (stat.size != 0) {
          return make_error(ErrorCode::PathUnsafe, where + " is a directory with content");
        }
        continue;
      }
      if (stat.size > core::kMaxPackageBytes) {
        return make_error(ErrorCode::PackageTooLarge, where + " declares " + std::to_string(stat.size) + " bytes");
      }
      auto digest = digest_entry(index, stat.size, where);
      if (!digest) {
        return std::move(digest).error();
      }
      files.push_back({name, stat.size, core::crypto::hex_encode(*digest)});
      indexes_[name] = index;
    }
    if (files.empty()) {
      return make_error(ErrorCode::ManifestInvalid, path_ + " holds no files");
    }
    std::sort(files.begin(), files.end(),
              [](const core::ManifestFile &a, const core::ManifestFile &b) { return a.path < b.path; });
    std::vector<std::string_view> paths;
    for (const auto &file : files) {
      paths.push_back(file.path);
    }
    // The same name twice, case twins, a file that is also a directory: PathUnsafe.
    if (auto valid = core::validate_package_path_set(paths); !valid) {
      return make_error(ErrorCode::PathUnsafe, path_ + ": " + valid.error().message);
    }
    return files;
  }

  Result<BodyReader> open_file(const core::ManifestFile &file) override {
    const auto found = indexes_.find(file.path);
    if (found == indexes_.end()) {
      return make_error(ErrorCode::Internal, file.path + " was not listed from " + path_);
    }
    auto entry = open_entry(found->second, path_ + ": entry \"" + file.path + "\"");
    if (!entry) {
      return std::move(entry).error();
    }
    auto reader = std::make_shared<EntryReader>(std::move(*entry));
    return BodyReader(
        [reader](char *buffer, std::size_t capacity) -> Result<std::size_t> { return reader->read(buffer, capacity); });
  }

private:
  // One entry's bytes, never more than it declares plus the one byte that proves a lie.
  struct EntryReader {
    zip_file_t *file = nullptr;
    std::uint64_t declared = 0;
    std::uint64_t read_so_far = 0;
    std::string where;

    EntryReader(zip_file_t *f, std::uint64_t size, std::string w) : file(f), declared(size), where(std::move(w)) {}
    EntryReader(EntryReader &&other) noexcept
        : file(std::exchange(other.file, nullptr)), declared(other.declared), read_so_far(other.read_so_far),
          where(std::move(other.where)) {}
    EntryReader(const EntryReader &) = delete;
    EntryReader &operator=(const EntryReader &) = delete;
    EntryReader &operator=(EntryReader &&) = delete;
    ~EntryReader() {
      if (file != nullptr) {
        zip_fclose(file);
      }
    }

    Result<std::size_t> read(char *buffer, std::size_t capacity) {
      const std::uint64_t allowed = declared - read_so_far + 1;
      const auto want = static_cast<zip_uint64_t>(std::min<std::uint64_t>(capacity, allowed));
      const zip_int64_t got = zip_fread(file, buffer, want);
      if (got < 0) {
        zip_error_t *error = zip_file_get_error(file);
        const bool crc = zip_error_code_zip(error) == ZIP_ER_CRC;
        return make_error(crc ? ErrorCode::FileHashMismatch : ErrorCode::InvalidArgument,
                          where + ": " + zip_error_strerror(error));
      }
      read_so_far += static_cast<std::uint64_t>(got);
      if (read_so_far > declared) {
        return make_error(ErrorCode::FileSizeMismatch,
                          where + " holds more than the " + std::to_string(declared) + " bytes its header declares");
      }
      if (got == 0 && read_so_far < declared) {
        return make_error(ErrorCode::FileSizeMismatch, where + " holds " + std::to_string(read_so_far) +
                                                           " bytes, not the " + std::to_string(declared) +
                                                           " its header declares");
      }
      return static_cast<std::size_t>(got);
    }
  };

  Result<EntryReader> open_entry(zip_uint64_t index, std::uint64_t declared_size, const std::string &where) {
    zip_file_t *file = zip_fopen_index(archive_.get(), index, 0);
    if (file == nullptr) {
      return archive_error(where);
    }
    return EntryReader(file, declared_size, where);
  }

  Result<EntryReader> open_entry(zip_uint64_t index, const std::string &where) {
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat_index(archive_.get(), index, 0, &stat) != 0) {
      return archive_error(where);
    }
    return open_entry(index, stat.size, where);
  }

  Result<core::crypto::Digest> digest_entry(zip_uint64_t index, std::uint64_t declared_size, const std::string &where) {
    auto entry = open_entry(index, declared_size, where);
    if (!entry) {
      return std::move(entry).error();
    }
    core::crypto::Sha256 hasher;
    std::vector<char> buffer(64 * 1024);
    for (;;) {
      auto got = entry->read(buffer.data(), buffer.size());
      if (!got) {
        return std::move(got).error();
      }
      if (*got == 0) {
        break;
      }
      hasher.update(core::crypto::ByteView(reinterpret_cast<const std::uint8_t *>(buffer.data()), *got));
    }
    const auto digest = hasher.finish();
    if (hasher.failed()) {
      return make_error(ErrorCode::CryptoFailure, "SHA-256 failed for " + where);
    }
    return digest;
  }

  Error archive_error(const std::string &where) {
    return make_error(ErrorCode::InvalidArgument, where + ": " + zip_strerror(archive_.get()));
  }

  std::string path_;
  std::unique_ptr<zip_t, ZipCloser> archive_;
  std::map<std::string, zip_uint64_t> indexes_;
};

} // namespace

Result<std::unique_ptr<PackageSource>> PackageSource::open(const std::filesystem::path &path) {
  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0) {
    return io::error_from_errno(errno, "stat", path);
  }
  if (S_ISLNK(status.st_mode)) {
    return make_error(ErrorCode::PathUnsafe, path.string() + " is a symbolic link; name the directory or file itself");
  }
  if (S_ISDIR(status.st_mode)) {
    return std::unique_ptr<PackageSource>(std::make_unique<DirectorySource>(path));
  }
  if (!S_ISREG(status.st_mode)) {
    return make_error(ErrorCode::InvalidArgument, path.string() + " is neither a directory nor a ZIP archive");
  }
  int error_code = 0;
  zip_t *archive = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &error_code);
  if (archive == nullptr && error_code == ZIP_ER_EXISTS) {
    // libzip's consistency check refuses an archive that names one file twice.
    return make_error(ErrorCode::PathUnsafe, path.string() + " holds the same name twice");
  }
  if (archive == nullptr) {
    zip_error_t error;
    zip_error_init_with_code(&error, error_code);
    std::string message = path.string() + " is not a readable ZIP archive: " + zip_error_strerror(&error);
    zip_error_fini(&error);
    return make_error(ErrorCode::InvalidArgument, message);
  }
  return std::unique_ptr<PackageSource>(std::make_unique<ZipSource>(path.string(), archive));
}

} // namespace mds::mdsctl
