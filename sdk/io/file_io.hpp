// Files, written so that a crash or power loss leaves either the old content or the new,
// never a mix (SECURITY.md #18, #19). POSIX only; shared by the client, the server and
// mdsctl. Errors: NotFound, AlreadyExists, DiskFull (ENOSPC, EDQUOT), IoError otherwise,
// with the path and the system's reason in the message.
//
// Every function that changes the disk is one or more operations of the file-system seam
// (io/seam.hpp), which tests use to fail any one of them or to cut the power between
// them. Code that writes on the device's install path calls these, never the system.
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

// Makes a rename or creation inside `directory` durable (F_FULLFSYNC on Apple).
Status fsync_directory(const std::filesystem::path &directory);

// ---- Single operations, each one of the seam ------------------------------------------
// `directory` is a directory file descriptor `name` is relative to, or AT_FDCWD when
// `name` is a path; `path` names the file in errors and to the seam (the whole path).

// open(2) with O_CREAT | O_NOFOLLOW | O_CLOEXEC added to `flags` (O_WRONLY | O_EXCL, O_RDWR,
// ...); the new file descriptor, which the caller closes.
Result<int> open_for_writing(int directory, const char *name, int flags, unsigned mode,
                             const std::filesystem::path &path);
// Every byte, resuming after EINTR and short writes.
Status write_all(int fd, const void *data, std::size_t size, const std::filesystem::path &path);
Status truncate_file(int fd, std::uint64_t size, const std::filesystem::path &path);
// The file's data on stable storage: fsync, or F_FULLFSYNC on Apple (where fsync stops at
// the drive's cache); fsync where F_FULLFSYNC is refused (some network file systems).
Status sync_file(int fd, const std::filesystem::path &path);
// mkdir(2) with mode 0755; AlreadyExists when `name` exists (whatever it is).
Status make_directory(int directory, const char *name, const std::filesystem::path &path);
// `path` and its missing parents; each created directory's entry is made durable
// (its parent fsynced), so a power cut cannot take back a directory something was
// committed into. Ok when it is a directory already.
Status make_directories(const std::filesystem::path &path);
// rename(2); the caller fsyncs the directories involved.
Status rename_path(const std::filesystem::path &from, const std::filesystem::path &to);
// unlink(2) of a file; NotFound when absent.
Status remove_file(const std::filesystem::path &path);
// `path` and everything below it, deepest first, without following links; ok when
// absent. Stops at the first failure. Not fsynced: what it removes is garbage either way.
Status remove_tree(const std::filesystem::path &path);

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
