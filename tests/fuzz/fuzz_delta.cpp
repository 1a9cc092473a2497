// Applies arbitrary bytes as a delta to a fixed small package (delta_fixture.hpp), both
// as an update of the base version and as a full download. Whatever the input, the
// reader must not crash, must never write more than a file's declared size, must close
// only files whose bytes are exactly the target's, and must release every reference it
// took. The input is fed in pieces of varying size so that every field boundary is
// crossed between feeds. The seeds hold frames, copies and a patch entry (whose control,
// diff and extra streams are the ones worth mutating); the update is applied with two
// output chunk sizes, so that a patch's copies, diff runs and reference switches fall on
// chunk boundaries in different places.
#include "delta_fixture.hpp"

#include "core/delta/delta.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>

namespace {

using mds::Result;
using mds::Status;
using mds::core::ManifestFile;
using mds::core::crypto::Bytes;
using mds::core::crypto::ByteView;

void require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

class CheckingSink : public mds::core::delta::DeltaSink {
public:
  CheckingSink(const mds::fuzz::Tree &base, const mds::fuzz::Tree &target) : base_(base), target_(target) {}
  ~CheckingSink() override { require(references_open_ == 0); }

  Result<ByteView> open_reference(const ManifestFile &file) override {
    const auto found = base_.find(file.path);
    require(found != base_.end());
    ++references_open_;
    return ByteView(found->second);
  }
  void release_reference(const ManifestFile &) noexcept override { --references_open_; }
  Status open_output(const ManifestFile &file) override {
    require(!current_ && target_.count(file.path) == 1);
    current_ = file;
    written_.clear();
    return {};
  }
  Status write_output(ByteView chunk) override {
    require(current_.has_value());
    written_.insert(written_.end(), chunk.begin(), chunk.end());
    require(written_.size() <= current_->size);
    return {};
  }
  Status close_output() override {
    require(current_.has_value() && written_ == target_.at(current_->path));
    current_.reset();
    return {};
  }

private:
  const mds::fuzz::Tree &base_;
  const mds::fuzz::Tree &target_;
  std::optional<ManifestFile> current_;
  Bytes written_;
  int references_open_ = 0;
};

void apply(const mds::core::Manifest &base_manifest, const mds::fuzz::Tree &base,
           const mds::core::Manifest &target_manifest, const mds::fuzz::Tree &target, const std::uint8_t *data,
           std::size_t size, std::size_t chunk_size = 37) {
  CheckingSink sink(base, target);
  mds::core::delta::DecodeOptions options;
  options.chunk_size = chunk_size; // small, so that an entry's output crosses many writes
  mds::core::delta::DeltaReader reader(base_manifest, target_manifest, sink, options);
  static const std::size_t kPieces[] = {1, 3, 64, 7, 4096};
  std::size_t at = 0;
  for (std::size_t i = 0; at < size; ++i) {
    const std::size_t piece = std::min(kPieces[i % std::size(kPieces)], size - at);
    if (!reader.feed(ByteView(data + at, piece))) {
      return;
    }
    at += piece;
  }
  (void)reader.finish();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  static const mds::fuzz::Tree base = mds::fuzz::delta_base_tree();
  static const mds::fuzz::Tree target = mds::fuzz::delta_target_tree();
  static const mds::fuzz::Tree empty;
  static const mds::core::Manifest base_manifest = mds::fuzz::delta_manifest(base, "1.0.0");
  static const mds::core::Manifest target_manifest = mds::fuzz::delta_manifest(target, "1.1.0");
  apply(base_manifest, base, target_manifest, target, data, size);
  apply(base_manifest, base, target_manifest, target, data, size, 5);
  apply(mds::core::Manifest{}, empty, target_manifest, target, data, size);
  return 0;
}
