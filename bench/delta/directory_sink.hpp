// The device's side of applying a delta, on real files: references are the base tree's
// files mapped read-only, outputs are new files in an empty output directory. No fsync:
// the benchmark measures the codec and its memory, not the disk's flush latency.
#ifndef MDS_BENCH_DELTA_DIRECTORY_SINK_HPP
#define MDS_BENCH_DELTA_DIRECTORY_SINK_HPP

#include "core/delta/delta.hpp"
#include "io/mapped_file.hpp"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

namespace mds::bench {

class DirectorySink : public core::delta::DeltaSink {
public:
  DirectorySink(std::filesystem::path base_root, std::filesystem::path output_root)
      : base_root_(std::move(base_root)), output_root_(std::move(output_root)) {}
  ~DirectorySink() override;

  // Called after every write (to sample the decoder's heap).
  void on_write(std::function<void()> observer) { on_write_ = std::move(observer); }

  Result<core::crypto::ByteView> open_reference(const core::ManifestFile &base_file) override;
  void release_reference(const core::ManifestFile &base_file) noexcept override;
  Status open_output(const core::ManifestFile &target_file) override;
  Status write_output(core::crypto::ByteView chunk) override;
  Status close_output() override;

  std::size_t most_references_held() const { return most_references_held_; }

private:
  std::filesystem::path base_root_;
  std::filesystem::path output_root_;
  std::map<std::string, io::MappedFile> references_; // by base path
  std::size_t most_references_held_ = 0;
  int output_fd_ = -1;
  std::filesystem::path output_path_;
  std::function<void()> on_write_;
};

} // namespace mds::bench

#endif
