// The content of a package to publish, from a directory or a ZIP archive: its file list
// for the manifest, and each file's bytes for the upload.
//
// Both refuse what a device would refuse, before anything is signed or sent
// (SECURITY.md #15): paths outside the manifest's path grammar (zip-slip "../x", "/abs",
// "a\..\x", case twins, ...) and links (PathUnsafe). A directory is walked with
// mds::io's tree functions, which refuse links and special files. A ZIP archive is read
// with libzip; besides the path grammar it refuses symbolic-link entries and other
// special files (PathUnsafe), the same name twice (PathUnsafe), encrypted entries
// (Unsupported), entries whose data does not have the size their header declares
// (FileSizeMismatch, counted while reading, so a lying header cannot make it produce
// more), and a damaged archive (InvalidArgument, or FileHashMismatch for a CRC error).
#ifndef MDS_MDSCTL_PACKAGE_SOURCE_HPP
#define MDS_MDSCTL_PACKAGE_SOURCE_HPP

#include "admin_client.hpp"

#include "core/manifest/manifest.hpp"

#include <mds/error.hpp>

#include <filesystem>
#include <memory>
#include <vector>

namespace mds::mdsctl {

class PackageSource {
public:
  // A directory, or a regular file that is a ZIP archive.
  static Result<std::unique_ptr<PackageSource>> open(const std::filesystem::path &path);
  virtual ~PackageSource() = default;

  // Every file with its size and SHA-256, sorted by path, the paths checked as a set.
  virtual Result<std::vector<core::ManifestFile>> describe() = 0;

  // The bytes of one file that describe() listed, streamed; the reader fails
  // (FileSizeMismatch) if the file has grown beyond `size`.
  virtual Result<BodyReader> open_file(const core::ManifestFile &file) = 0;
};

} // namespace mds::mdsctl

#endif
