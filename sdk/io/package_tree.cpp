#include "io/package_tree.hpp"

#include "core/crypto/encoding.hpp"
#include "core/manifest/path.hpp"
#include "io/file_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace mds::io {

Result<FileDigest> digest_file(const std::filesystem::path &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return error_from_errno(errno, "open", path);
  }
  FileDigest digest;
  core::crypto::Sha256 hasher;
  std::uint8_t buffer[64 * 1024];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      const int saved = errno;
      ::close(fd);
      return error_from_errno(saved, "read", path);
    }
    if (got == 0) {
      break;
    }
    hasher.update(core::crypto::ByteView(buffer, static_cast<std::size_t>(got)));
    digest.size += static_cast<std::uint64_t>(got);
  }
  ::close(fd);
  digest.sha256 = hasher.finish();
  if (hasher.failed()) {
    return make_error(ErrorCode::CryptoFailure, "SHA-256 failed for " + path.string());
  }
  return digest;
}

Result<std::vector<core::ManifestFile>> describe_tree(const std::filesystem::path &root) {
  auto entries = list_regular_files(root);
  if (!entries) {
    return std::move(entries).error();
  }
  std::vector<core::ManifestFile> files;
  files.reserve(entries->size());
  for (const auto &entry : *entries) {
    if (auto checked = core::validate_package_path(entry.path); !checked) {
      return checked.error();
    }
    auto digest = digest_file(root / entry.path);
    if (!digest) {
      return std::move(digest).error();
    }
    files.push_back({entry.path, digest->size, core::crypto::hex_encode(digest->sha256)});
  }
  std::vector<std::string_view> paths;
  paths.reserve(files.size());
  for (const auto &file : files) {
    paths.push_back(file.path);
  }
  if (auto checked = core::validate_package_path_set(paths); !checked) {
    return checked.error();
  }
  return files;
}

} // namespace mds::io
