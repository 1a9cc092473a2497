#include "server/storage/data_dir.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace mds::server {

Result<DataDir> DataDir::open(const std::filesystem::path &root) {
  std::error_code error;
  const auto status = std::filesystem::status(root, error);
  if (std::filesystem::exists(status) && !std::filesystem::is_directory(status)) {
    return make_error(ErrorCode::InvalidArgument, "--data " + root.string() + " exists and is not a directory");
  }
  if (!std::filesystem::exists(status)) {
    std::filesystem::create_directories(root, error);
    if (error) {
      return make_error(ErrorCode::IoError, "cannot create --data directory " + root.string() + ": " + error.message());
    }
  }
  if (access(root.c_str(), R_OK | W_OK | X_OK) != 0) {
    return make_error(ErrorCode::IoError,
                      "--data directory " + root.string() + " is not writable: " + std::strerror(errno));
  }
  for (const auto *sub : {"blobs", "tmp"}) {
    std::filesystem::create_directories(root / sub, error);
    if (error) {
      return make_error(ErrorCode::IoError, "cannot create " + (root / sub).string() + ": " + error.message());
    }
  }

  const auto lock_path = root / "mds.lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) {
    return make_error(ErrorCode::IoError, "cannot open " + lock_path.string() + ": " + std::strerror(errno));
  }
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    close(lock_fd);
    return make_error(ErrorCode::Locked, "another mds-server is using " + root.string());
  }
  DataDir dir(root, lock_fd);

  // Spooled uploads of a previous run are incomplete by definition.
  for (const auto &entry : std::filesystem::directory_iterator(dir.tmp_dir(), error)) {
    std::error_code ignored;
    std::filesystem::remove(entry.path(), ignored);
  }
  return dir;
}

DataDir::~DataDir() {
  if (lock_fd_ >= 0) {
    close(lock_fd_); // releases the lock
  }
}

} // namespace mds::server
