#include "io/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

namespace mds::io {
namespace {

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

Status write_all(int fd, std::string_view bytes, const std::filesystem::path &path) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      return error_from_errno(errno, "write", path);
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return {};
}

Status sync_and_close(FileDescriptor &file, const std::filesystem::path &path) {
  if (::fsync(file.get()) != 0) {
    return error_from_errno(errno, "fsync", path);
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
  if (::fsync(dir.get()) != 0) {
    return error_from_errno(errno, "fsync", directory);
  }
  return {};
}

Status write_file_atomically(const std::filesystem::path &path, std::string_view bytes, unsigned mode) {
  auto temporary = path;
  temporary += ".tmp-" + random_suffix();
  FileDescriptor file(
      ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, static_cast<mode_t>(mode)));
  if (file.get() < 0) {
    return error_from_errno(errno, "open", temporary);
  }
  Status status = write_all(file.get(), bytes, temporary);
  if (status) {
    status = sync_and_close(file, temporary);
  }
  if (status && ::rename(temporary.c_str(), path.c_str()) != 0) {
    status = error_from_errno(errno, "rename", path);
  }
  if (!status) {
    ::unlink(temporary.c_str());
    return status;
  }
  return fsync_directory(parent_of(path));
}

Status create_new_file(const std::filesystem::path &path, std::string_view bytes, unsigned mode) {
  FileDescriptor file(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, static_cast<mode_t>(mode)));
  if (file.get() < 0) {
    return error_from_errno(errno, "create", path);
  }
  // The umask may have narrowed the mode; a key file must end up exactly as asked.
  if (::fchmod(file.get(), static_cast<mode_t>(mode)) != 0) {
    return error_from_errno(errno, "chmod", path);
  }
  Status status = write_all(file.get(), bytes, path);
  if (status) {
    status = sync_and_close(file, path);
  }
  if (!status) {
    ::unlink(path.c_str());
    return status;
  }
  return fsync_directory(parent_of(path));
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
