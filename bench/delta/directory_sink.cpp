#include "directory_sink.hpp"

#include "io/file_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace mds::bench {

DirectorySink::~DirectorySink() {
  if (output_fd_ >= 0) {
    ::close(output_fd_);
  }
}

Result<core::crypto::ByteView> DirectorySink::open_reference(const core::ManifestFile &base_file) {
  auto found = references_.find(base_file.path);
  if (found == references_.end()) {
    auto mapped = io::MappedFile::open(base_root_ / base_file.path);
    if (!mapped) {
      return std::move(mapped).error();
    }
    found = references_.emplace(base_file.path, std::move(*mapped)).first;
  }
  most_references_held_ = std::max(most_references_held_, references_.size());
  return found->second.bytes();
}

void DirectorySink::release_reference(const core::ManifestFile &base_file) noexcept {
  references_.erase(base_file.path);
}

Status DirectorySink::open_output(const core::ManifestFile &target_file) {
  if (output_fd_ >= 0) {
    return make_error(ErrorCode::Internal, "an output is already open");
  }
  output_path_ = output_root_ / target_file.path;
  std::error_code error;
  std::filesystem::create_directories(output_path_.parent_path(), error);
  if (error) {
    return io::error_from_errno(error.value(), "mkdir", output_path_.parent_path());
  }
  output_fd_ = ::open(output_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (output_fd_ < 0) {
    return io::error_from_errno(errno, "open", output_path_);
  }
  return {};
}

Status DirectorySink::write_output(core::crypto::ByteView chunk) {
  const std::uint8_t *next = chunk.data();
  std::size_t left = chunk.size();
  while (left > 0) {
    const ssize_t wrote = ::write(output_fd_, next, left);
    if (wrote < 0 && errno == EINTR) {
      continue;
    }
    if (wrote < 0) {
      return io::error_from_errno(errno, "write", output_path_);
    }
    next += wrote;
    left -= static_cast<std::size_t>(wrote);
  }
  if (on_write_) {
    on_write_();
  }
  return {};
}

Status DirectorySink::close_output() {
  const int fd = output_fd_;
  output_fd_ = -1;
  if (::close(fd) != 0) {
    return io::error_from_errno(errno, "close", output_path_);
  }
  return {};
}

} // namespace mds::bench
