// A directory of package content, described as a manifest's file list: every regular file,
// its size and SHA-256, read as a stream. The publisher's side of the package pipeline
// (mdsctl) and the device's check of an installed tree both start here.
#ifndef MDS_IO_PACKAGE_TREE_HPP
#define MDS_IO_PACKAGE_TREE_HPP

#include "core/crypto/sha256.hpp"
#include "core/manifest/manifest.hpp"

#include <mds/error.hpp>

#include <filesystem>
#include <vector>

namespace mds::io {

struct FileDigest {
  std::uint64_t size = 0;
  core::crypto::Digest sha256{};
};

// Size and SHA-256 of one file, read in bounded chunks. Refuses a link (PathUnsafe).
Result<FileDigest> digest_file(const std::filesystem::path &path);

// Every file below `root` with its size and hash, sorted by path. Refuses links and
// special files, and any path or set of paths the manifest grammar refuses (PathUnsafe).
Result<std::vector<core::ManifestFile>> describe_tree(const std::filesystem::path &root);

} // namespace mds::io

#endif
