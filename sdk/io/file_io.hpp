// Files, written so that a crash or power loss leaves either the old content or the new,
// never a mix (SECURITY.md #18, #19). POSIX only; shared by the client, the server and
// mdsctl. Errors: NotFound, AlreadyExists, DiskFull (ENOSPC, EDQUOT), IoError otherwise,
// with the path and the system's reason in the message.
#ifndef MDS_IO_FILE_IO_HPP
#define MDS_IO_FILE_IO_HPP

#include <mds/error.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace mds::io {

// The whole file, refused when it is larger than max_bytes (InvalidArgument).
Result<std::string> read_file(const std::filesystem::path &path, std::uint64_t max_bytes);

// Replaces `path` atomically: temporary file beside it, write, fsync, rename, fsync the
// directory. The temporary file is removed on any failure.
Status write_file_atomically(const std::filesystem::path &path, std::string_view bytes, unsigned mode = 0644);

// Creates `path`, which must not exist yet (AlreadyExists), without following a link
// there; fsyncs the file and its directory.
Status create_new_file(const std::filesystem::path &path, std::string_view bytes, unsigned mode = 0644);

// Makes a rename or creation inside `directory` durable.
Status fsync_directory(const std::filesystem::path &directory);

struct TreeEntry {
  std::string path; // relative, '/'-separated
  std::uint64_t size = 0;
};

// Every regular file below `root`, sorted by path. Symbolic links, devices, sockets
// and FIFOs are refused (PathUnsafe): a package carries plain files only.
Result<std::vector<TreeEntry>> list_regular_files(const std::filesystem::path &root);

// "open(x): No such file or directory" as an Error with the code errno calls for.
Error error_from_errno(int error_number, std::string_view what, const std::filesystem::path &path);

} // namespace mds::io

#endif
