#include "packages/staging_sink.hpp"

#include "io/file_io.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace mds::packages {
namespace {

constexpr int kDirectoryFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

std::vector<std::string> segments_of(const std::string &path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) {
      return out;
    }
    start = slash + 1;
  }
}

} // namespace

StagingSink::StagingSink(std::filesystem::path base_root, std::filesystem::path target_root, int root_fd)
    : base_root_(std::move(base_root)), target_root_(std::move(target_root)), root_fd_(root_fd) {}

Result<std::unique_ptr<StagingSink>> StagingSink::create(std::filesystem::path base_root,
                                                         std::filesystem::path target_root) {
  if (auto made = io::make_directory(AT_FDCWD, target_root.c_str(), target_root); !made) {
    return std::move(made).error();
  }
  const int fd = ::open(target_root.c_str(), kDirectoryFlags);
  if (fd < 0) {
    return io::error_from_errno(errno, "open", target_root);
  }
  return std::unique_ptr<StagingSink>(new StagingSink(std::move(base_root), std::move(target_root), fd));
}

StagingSink::~StagingSink() {
  close_current();
  for (auto &[path, mapping] : references_) {
    if (mapping.address != nullptr) {
      ::munmap(mapping.address, mapping.size);
    }
  }
  if (root_fd_ >= 0) {
    ::close(root_fd_);
  }
}

void StagingSink::close_current() noexcept {
  if (output_fd_ >= 0) {
    ::close(output_fd_);
    output_fd_ = -1;
  }
}

Result<core::delta::ByteView> StagingSink::open_reference(const core::ManifestFile &base_file) {
  if (base_root_.empty()) {
    return make_error(ErrorCode::DeltaInvalid, "a full download cannot refer to a base file");
  }
  if (references_.count(base_file.path) != 0) {
    return make_error(ErrorCode::Internal, "reference " + base_file.path + " opened twice");
  }
  const auto path = base_root_ / base_file.path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    // A missing or linked base file is a tampered base: the delta cannot be used.
    return make_error(ErrorCode::DeltaInvalid, "base file " + path.string() + ": " + std::strerror(errno));
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return make_error(ErrorCode::DeltaInvalid, "base file " + path.string() + " is not a regular file");
  }
  Mapping mapping;
  mapping.size = static_cast<std::size_t>(info.st_size);
  if (mapping.size > 0) {
    void *address = ::mmap(nullptr, mapping.size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (address == MAP_FAILED) {
      const int saved = errno;
      ::close(fd);
      return io::error_from_errno(saved, "mmap", path);
    }
    mapping.address = address;
  }
  ::close(fd);
  references_[base_file.path] = mapping;
  return core::delta::ByteView(static_cast<const std::uint8_t *>(mapping.address), mapping.size);
}

void StagingSink::release_reference(const core::ManifestFile &base_file) noexcept {
  auto found = references_.find(base_file.path);
  if (found == references_.end()) {
    return;
  }
  if (found->second.address != nullptr) {
    ::munmap(found->second.address, found->second.size);
  }
  references_.erase(found);
}

Status StagingSink::open_output(const core::ManifestFile &target_file) {
  close_current();
  const auto segments = segments_of(target_file.path);
  int directory = ::dup(root_fd_);
  if (directory < 0) {
    return io::error_from_errno(errno, "dup", target_root_);
  }
  std::string relative;
  for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
    relative += (relative.empty() ? "" : "/") + segments[i];
    if (auto made = io::make_directory(directory, segments[i].c_str(), target_root_ / relative)) {
      directories_.insert(relative);
    } else if (made.code() != ErrorCode::AlreadyExists) {
      ::close(directory);
      return made;
    }
    const int next = ::openat(directory, segments[i].c_str(), kDirectoryFlags);
    const int saved = errno;
    ::close(directory);
    if (next < 0) {
      return io::error_from_errno(saved, "open", target_root_ / relative);
    }
    directory = next;
  }
  auto opened = io::open_for_writing(directory, segments.back().c_str(), O_WRONLY | O_EXCL, 0644,
                                     target_root_ / target_file.path);
  ::close(directory);
  if (!opened) {
    return std::move(opened).error();
  }
  output_fd_ = *opened;
  output_path_ = target_file.path;
  return {};
}

Status StagingSink::write_output(core::delta::ByteView chunk) {
  if (output_fd_ < 0) {
    return make_error(ErrorCode::Internal, "write_output without an open file");
  }
  return io::write_all(output_fd_, chunk.data(), chunk.size(), target_root_ / output_path_);
}

Status StagingSink::close_output() {
  if (output_fd_ < 0) {
    return make_error(ErrorCode::Internal, "close_output without an open file");
  }
  const int fd = output_fd_;
  output_fd_ = -1;
  if (auto synced = io::sync_file(fd, target_root_ / output_path_); !synced) {
    ::close(fd);
    return synced;
  }
  if (::close(fd) != 0) {
    return io::error_from_errno(errno, "close", target_root_ / output_path_);
  }
  return {};
}

Status StagingSink::sync_directories() {
  std::vector<std::string> deepest_first(directories_.rbegin(), directories_.rend());
  for (const auto &relative : deepest_first) {
    if (auto synced = io::fsync_directory(target_root_ / relative); !synced) {
      return synced;
    }
  }
  return io::fsync_directory(target_root_);
}

} // namespace mds::packages
