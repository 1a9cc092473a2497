// The device's side of a delta (core/delta/delta.hpp DeltaSink): references are mapped from
// the installed tree of the base version, never read into the heap; output files are
// created in a fresh staging tree with O_EXCL and O_NOFOLLOW, below directories this sink
// created itself, so nothing a package says can write outside that tree or through a
// link. Paths come only from the verified manifest (the reader checks each entry against
// it before calling here).
#ifndef MDS_SRC_PACKAGES_STAGING_SINK_HPP
#define MDS_SRC_PACKAGES_STAGING_SINK_HPP

#include "core/delta/delta.hpp"

#include <mds/error.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace mds::packages {

class StagingSink : public core::delta::DeltaSink {
public:
  // `base_root`: the installed tree references are mapped from (empty for the empty base).
  // `target_root`: created here; AlreadyExists when it exists.
  static Result<std::unique_ptr<StagingSink>> create(std::filesystem::path base_root,
                                                     std::filesystem::path target_root);
  ~StagingSink() override;
  StagingSink(const StagingSink &) = delete;
  StagingSink &operator=(const StagingSink &) = delete;

  Result<core::delta::ByteView> open_reference(const core::ManifestFile &base_file) override;
  void release_reference(const core::ManifestFile &base_file) noexcept override;
  // The file is fsynced before close_output returns.
  Status open_output(const core::ManifestFile &target_file) override;
  Status write_output(core::delta::ByteView chunk) override;
  Status close_output() override;

  // fsyncs every directory of the tree, deepest first, so the entries of the files are
  // durable before the tree is renamed into place.
  Status sync_directories();

private:
  StagingSink(std::filesystem::path base_root, std::filesystem::path target_root, int root_fd);
  void close_current() noexcept;

  struct Mapping {
    void *address = nullptr;
    std::size_t size = 0;
  };

  std::filesystem::path base_root_;
  std::filesystem::path target_root_;
  int root_fd_ = -1;
  int output_fd_ = -1;
  std::string output_path_;
  std::map<std::string, Mapping> references_;
  std::set<std::string> directories_; // relative, created here
};

} // namespace mds::packages

#endif
