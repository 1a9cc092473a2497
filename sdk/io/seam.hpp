// The file-system seam: every write the SDK makes on its way to an installed package
// (file creation, write, truncation, fsync of a file or a directory, rename, mkdir,
// remove) goes through one function of io/file_io.hpp, and each of those tells the seam
// before and after it acts. Nothing is installed in production: a single pointer, read
// once per operation, is null, and the operation runs as it would without the seam.
//
// Tests install one for the whole process to fail operation number k with ENOSPC or EIO
// (SECURITY.md #20), or to record which writes and renames were not yet made durable
// and build what a power cut would leave on disk at any instant (SECURITY.md #19).
// Reads are not part of the seam, nor is SQLite, which keeps its own durability
// (synchronous=FULL).
#ifndef MDS_IO_SEAM_HPP
#define MDS_IO_SEAM_HPP

#include <cstdint>
#include <filesystem>

namespace mds::io {

enum class FileOperation : std::uint8_t {
  CreateFile,    // open with O_CREAT: `path` may or may not have existed before
  Write,         // `size` bytes appended at the file's offset
  Truncate,      // the file cut or extended to `size` bytes
  SyncFile,      // fsync (F_FULLFSYNC on Apple) of the file's data
  SyncDirectory, // fsync of a directory: its entries become durable
  Rename,        // `path` to `target`, replacing what `target` named
  MakeDirectory, // mkdir
  Remove,        // unlink of a file or rmdir of an empty directory
};

const char *to_string(FileOperation operation);

struct FileEvent {
  FileOperation operation;
  const std::filesystem::path &path;             // the file or directory the operation is on
  const std::filesystem::path *target = nullptr; // Rename only: the new name
  std::uint64_t size = 0;                        // Write, Truncate
};

class FileSystemSeam {
public:
  virtual ~FileSystemSeam() = default;
  // Before the operation. 0 lets it run; an errno value (ENOSPC, EIO, ...) makes it fail
  // with that error, as if the system had refused it, without touching the disk.
  virtual int before(const FileEvent &event) = 0;
  // After the operation succeeded (not called when it failed).
  virtual void after(const FileEvent &event) = 0;
};

// Installs `seam` for every thread of the process (nullptr removes it). The caller keeps
// it alive until it is removed, and installs or removes it only while no thread is in an
// operation of the seam.
void set_file_system_seam(FileSystemSeam *seam);

} // namespace mds::io

#endif
