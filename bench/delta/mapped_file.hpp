// A whole file mapped read-only, as a device maps an installed file to use it as a delta
// reference: its pages come from the page cache on demand and are not heap.
#ifndef MDS_BENCH_DELTA_MAPPED_FILE_HPP
#define MDS_BENCH_DELTA_MAPPED_FILE_HPP

#include "core/crypto/bytes.hpp"

#include <mds/error.hpp>

#include <cstddef>
#include <filesystem>

namespace mds::bench {

class MappedFile {
public:
  // Refuses a link (PathUnsafe, as io::digest_file does); IoError / NotFound otherwise.
  static Result<MappedFile> open(const std::filesystem::path &path);

  MappedFile() = default;
  MappedFile(MappedFile &&other) noexcept;
  MappedFile &operator=(MappedFile &&other) noexcept;
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;
  ~MappedFile();

  // Valid while this object lives; empty for an empty file.
  core::crypto::ByteView bytes() const noexcept { return {static_cast<const std::uint8_t *>(data_), size_}; }

private:
  void unmap() noexcept;

  void *data_ = nullptr;
  std::size_t size_ = 0;
};

} // namespace mds::bench

#endif
