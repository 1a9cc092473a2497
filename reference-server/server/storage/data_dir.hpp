// The server's state directory: DIR/mds.db, DIR/blobs/, DIR/tmp/ (spooled uploads), and
// DIR/mds.lock, held for the server's lifetime so a second server on the same directory
// stops with "locked" instead of racing the first one.
#ifndef MDS_SERVER_STORAGE_DATA_DIR_HPP
#define MDS_SERVER_STORAGE_DATA_DIR_HPP

#include <mds/error.hpp>

#include <filesystem>

namespace mds::server {

class DataDir {
public:
  // Creates the directory (and parents) if missing, checks it is a writable directory,
  // takes the lock and empties tmp/ of uploads a previous run left behind.
  static Result<DataDir> open(const std::filesystem::path &root);

  DataDir(DataDir &&other) noexcept : root_(std::move(other.root_)), lock_fd_(other.lock_fd_) { other.lock_fd_ = -1; }
  DataDir &operator=(DataDir &&) = delete;
  DataDir(const DataDir &) = delete;
  ~DataDir();

  const std::filesystem::path &root() const { return root_; }
  std::filesystem::path database_file() const { return root_ / "mds.db"; }
  std::filesystem::path blobs_dir() const { return root_ / "blobs"; }
  std::filesystem::path tmp_dir() const { return root_ / "tmp"; }

private:
  DataDir(std::filesystem::path root, int lock_fd) : root_(std::move(root)), lock_fd_(lock_fd) {}
  std::filesystem::path root_;
  int lock_fd_ = -1;
};

} // namespace mds::server

#endif
