// A read-only memory mapping of a whole file: how the package publisher hands blobs to the
// delta encoder without copying them onto the heap. The kernel pages the bytes in and out
// as the encoder reads them, so a package of gigabytes costs address space, not memory.
#ifndef MDS_SERVER_PACKAGES_MAPPED_FILE_HPP
#define MDS_SERVER_PACKAGES_MAPPED_FILE_HPP

#include "core/crypto/bytes.hpp"

#include <mds/error.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace mds::server::packages {

class MappedFile {
public:
  // IoError when the file cannot be opened or mapped. An empty file maps to an empty view.
  static Result<MappedFile> open(const std::filesystem::path &path);

  MappedFile(MappedFile &&other) noexcept : data_(other.data_), size_(other.size_) {
    other.data_ = nullptr;
    other.size_ = 0;
  }
  MappedFile &operator=(MappedFile &&) = delete;
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;
  ~MappedFile();

  core::crypto::ByteView bytes() const { return {static_cast<const std::uint8_t *>(data_), size_}; }

private:
  MappedFile(void *data, std::size_t size) : data_(data), size_(size) {}
  void *data_ = nullptr;
  std::size_t size_ = 0;
};

} // namespace mds::server::packages

#endif
