#include "io/file_io.hpp"

#include "io/seam.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>

namespace mds::io {
namespace {

std::atomic<FileSystemSeam *> installed_seam{nullptr};

// Runs `action` (0 on success, else an errno value) as one operation of the seam.
template <typename Action> int through_seam(const FileEvent &event, Action &&action) {
  FileSystemSeam *seam = installed_seam.load(std::memory_order_acquire);
  if (seam != nullptr) {
    if (const int refused = seam->before(event); refused != 0) {
      return refused;
    }
  }
  const int result = action();
  if (result == 0 && seam != nullptr) {
    seam->after(event);
  }
  return result;
}

// fsync stops at the drive's volatile cache on Apple systems; F_FULLFSYNC flushes it.
int full_sync(int fd) {
#ifdef __APPLE__
  if (::fcntl(fd, F_FULLFSYNC) == 0) {
    return 0;
  }
  // Refused by some file systems (network, FAT): fsync is the best there is.
#endif
  return ::fsync(fd) == 0 ? 0 : errno;
}

class FileDescriptor {
public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor &) = delete;
  FileDescriptor &operator=(const FileDescriptor &) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int get() const { return fd_; }
  // close() reports deferred write errors on some file systems (NFS), so callers that
  // write must check it.
  int close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

private:
  int fd_;
};

Status sync_and_close(FileDescriptor &file, const std::filesystem::path &path) {
  if (auto synced = sync_file(file.get(), path); !synced) {
    return synced;
  }
  if (file.close() != 0) {
    return error_from_errno(errno, "close", path);
  }
  return {};
}

std::filesystem::path parent_of(const std::filesystem::path &path) {
  auto parent = path.parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

std::string random_suffix() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string suffix(12, 'x');
  for (auto &c : suffix) {
    c = kAlphabet[generator() % (sizeof(kAlphabet) - 1)];
  }
  return suffix;
}

} // namespace

Error error_from_errno(int error_number, std::string_view what, const std::filesystem::path &path) {
  ErrorCode code = ErrorCode::IoError;
  switch (error_number) {
  case ENOENT:
    code = ErrorCode::NotFound;
    break;
  case EEXIST:
    code = ErrorCode::AlreadyExists;
    break;
  case ENOSPC:
  case EDQUOT:
    code = ErrorCode::DiskFull;
    break;
  case ELOOP:
    code = ErrorCode::PathUnsafe;
    break;
  default:
    break;
  }
  return make_error(code, std::string(what) + "(" + path.string() + "): " + std::strerror(error_number));
}

Result<std::string> read_file(const std::filesystem::path &path, std::uint64_t max_bytes) {
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) {
    return error_from_errno(errno, "open", path);
  }
  struct stat info {};
  if (::fstat(file.get(), &info) != 0) {
    return error_from_errno(errno, "stat", path);
  }
  if (!S_ISREG(info.st_mode)) {
    return make_error(ErrorCode::InvalidArgument, path.string() + " is not a regular file");
  }
  std::string content;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t got = ::read(file.get(), buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      return error_from_errno(errno, "read", path);
    }
    if (got == 0) {
      break;
    }
    // Counted while reading: the size from stat may change under us.
    if (content.size() + static_cast<std::size_t>(got) > max_bytes) {
      return make_error(ErrorCode::InvalidArgument,
                        path.string() + " is larger than the limit of " + std::to_string(max_bytes) + " bytes");
    }
    content.append(buffer, static_cast<std::size_t>(got));
  }
  return content;
}

Status fsync_directory(const std::filesystem::path &directory) {
  FileDescriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) {
    return error_from_errno(errno, "open", directory);
  }
  const int failed = through_seam({FileOperation::SyncDirectory, directory}, [&] { return full_sync(dir.get()); });
  if (failed != 0) {
    return error_from_errno(failed, "fsync", directory);
  }
  return {};
}

Status write_file_atomically(const std::filesystem::path &path, std::string_view bytes, unsigned mode) {
  auto temporary = path;
  temporary += ".tmp-" + random_suffix();
  auto opened = open_for_writing(AT_FDCWD, temporary.c_str(), O_WRONLY | O_EXCL, mode, temporary);
  if (!opened) {
    return std::move(opened).error();
  }
  FileDescriptor file(*opened);
  Status status = write_all(file.get(), bytes.data(), bytes.size(), temporary);
  if (status) {
    status = sync_and_close(file, temporary);
  }
  if (status) {
    status = rename_path(temporary, path);
  }
  if (!status) {
    (void)remove_file(temporary);
    return status;
  }
  return fsync_directory(parent_of(path));
}

Status create_new_file(const std::filesystem::path &path, std::string_view bytes, unsigned mode) {
  auto opened = open_for_writing(AT_FDCWD, path.c_str(), O_WRONLY | O_EXCL, mode, path);
  if (!opened) {
    return std::move(opened).error();
  }
  FileDescriptor file(*opened);
  // The umask may have narrowed the mode; a key file must end up exactly as asked.
  if (::fchmod(file.get(), static_cast<mode_t>(mode)) != 0) {
    return error_from_errno(errno, "chmod", path);
  }
  Status status = write_all(file.get(), bytes.data(), bytes.size(), path);
  if (status) {
    status = sync_and_close(file, path);
  }
  if (!status) {
    (void)remove_file(path);
    return status;
  }
  return fsync_directory(parent_of(path));
}

Result<int> open_for_writing(int directory, const char *name, int flags, unsigned mode,
                             const std::filesystem::path &path) {
  int fd = -1;
  const int failed = through_seam({FileOperation::CreateFile, path}, [&] {
    fd = ::openat(directory, name, flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC, static_cast<mode_t>(mode));
    return fd < 0 ? errno : 0;
  });
  if (failed != 0) {
    return error_from_errno(failed, "create", path);
  }
  return fd;
}

Status write_all(int fd, const void *data, std::size_t size, const std::filesystem::path &path) {
  FileEvent event{FileOperation::Write, path};
  event.size = size;
  const int failed = through_seam(event, [&] {
    const auto *bytes = static_cast<const char *>(data);
    std::size_t left = size;
    while (left > 0) {
      const ssize_t written = ::write(fd, bytes, left);
      if (written < 0) {
        if (errno == EINTR) {
          continue;
        }
        return errno;
      }
      bytes += written;
      left -= static_cast<std::size_t>(written);
    }
    return 0;
  });
  if (failed != 0) {
    return error_from_errno(failed, "write", path);
  }
  return {};
}

Status truncate_file(int fd, std::uint64_t size, const std::filesystem::path &path) {
  FileEvent event{FileOperation::Truncate, path};
  event.size = size;
  const int failed = through_seam(event, [&] { return ::ftruncate(fd, static_cast<off_t>(size)) == 0 ? 0 : errno; });
  if (failed != 0) {
    return error_from_errno(failed, "truncate", path);
  }
  return {};
}

Status sync_file(int fd, const std::filesystem::path &path) {
  const int failed = through_seam({FileOperation::SyncFile, path}, [&] { return full_sync(fd); });
  if (failed != 0) {
    return error_from_errno(failed, "fsync", path);
  }
  return {};
}

Status make_directory(int directory, const char *name, const std::filesystem::path &path) {
  const int failed = through_seam({FileOperation::MakeDirectory, path},
                                  [&] { return ::mkdirat(directory, name, 0755) == 0 ? 0 : errno; });
  if (failed != 0) {
    return error_from_errno(failed, "mkdir", path);
  }
  return {};
}

Status make_directories(const std::filesystem::path &path) {
  auto at = path.lexically_normal();
  if (!at.has_filename() && at.has_parent_path()) {
    at = at.parent_path(); // "a/b/" is "a/b"
  }
  // The missing ones, innermost first; existing ones are followed through links (the
  // state directory itself may lie below one).
  std::vector<std::filesystem::path> missing;
  while (!at.empty()) {
    struct stat info {};
    if (::stat(at.c_str(), &info) == 0) {
      if (!S_ISDIR(info.st_mode)) {
        return make_error(ErrorCode::IoError, "mkdir(" + at.string() + "): exists and is not a directory");
      }
      break;
    }
    if (errno != ENOENT) {
      return error_from_errno(errno, "stat", at);
    }
    missing.push_back(at);
    const auto parent = at.parent_path();
    if (parent == at) {
      break;
    }
    at = parent;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (auto made = make_directory(AT_FDCWD, it->c_str(), *it); !made && made.code() != ErrorCode::AlreadyExists) {
      return made;
    }
    if (auto synced = fsync_directory(parent_of(*it)); !synced) {
      return synced;
    }
  }
  return {};
}

Status rename_path(const std::filesystem::path &from, const std::filesystem::path &to) {
  FileEvent event{FileOperation::Rename, from};
  event.target = &to;
  const int failed = through_seam(event, [&] { return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : errno; });
  if (failed != 0) {
    return error_from_errno(failed, "rename", from);
  }
  return {};
}

Status remove_file(const std::filesystem::path &path) {
  const int failed =
      through_seam({FileOperation::Remove, path}, [&] { return ::unlink(path.c_str()) == 0 ? 0 : errno; });
  if (failed != 0) {
    return error_from_errno(failed, "unlink", path);
  }
  return {};
}

Status remove_tree(const std::filesystem::path &path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    return errno == ENOENT ? Status() : Status(error_from_errno(errno, "stat", path));
  }
  if (!S_ISDIR(info.st_mode)) {
    return remove_file(path);
  }
  std::vector<std::filesystem::path> children;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    children.push_back(it->path());
  }
  if (ec) {
    return error_from_errno(ec.value(), "list", path);
  }
  for (const auto &child : children) {
    if (auto removed = remove_tree(child); !removed) {
      return removed;
    }
  }
  const int failed =
      through_seam({FileOperation::Remove, path}, [&] { return ::rmdir(path.c_str()) == 0 ? 0 : errno; });
  if (failed != 0) {
    return error_from_errno(failed, "rmdir", path);
  }
  return {};
}

const char *to_string(FileOperation operation) {
  switch (operation) {
  case FileOperation::CreateFile:
    return "create";
  case FileOperation::Write:
    return "write";
  case FileOperation::Truncate:
    return "truncate";
  case FileOperation::SyncFile:
    return "fsync";
  case FileOperation::SyncDirectory:
    return "fsync directory";
  case FileOperation::Rename:
    return "rename";
  case FileOperation::MakeDirectory:
    return "mkdir";
  case FileOperation::Remove:
    return "remove";
  }
  return "?";
}

void set_file_system_seam(FileSystemSeam *seam) {
  installed_seam.store(seam, std::memory_order_release);
}

Result<std::vector<TreeEntry>> list_regular_files(const std::filesystem::path &root) {
  std::error_code ec;
  const auto root_status = std::filesystem::symlink_status(root, ec);
  if (ec) {
    return error_from_errno(ec.value(), "stat", root);
  }
  if (!std::filesystem::is_directory(root_status)) {
    return make_error(ErrorCode::InvalidArgument, root.string() + " is not a directory");
  }
  std::vector<TreeEntry> entries;
  std::filesystem::recursive_directory_iterator it(root, std::filesystem::directory_options::none, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    const auto status = it->symlink_status(ec);
    if (ec) {
      break;
    }
    const auto relative = it->path().lexically_relative(root).generic_string();
    if (std::filesystem::is_directory(status)) {
      continue;
    }
    if (!std::filesystem::is_regular_file(status)) {
      return make_error(ErrorCode::PathUnsafe, relative + " is not a regular file (links and devices are refused)");
    }
    const auto size = it->file_size(ec);
    if (ec) {
      break;
    }
    entries.push_back({relative, static_cast<std::uint64_t>(size)});
  }
  if (ec) {
    return error_from_errno(ec.value(), "list", root);
  }
  std::sort(entries.begin(), entries.end(), [](const TreeEntry &a, const TreeEntry &b) { return a.path < b.path; });
  return entries;
}

} // namespace mds::io
