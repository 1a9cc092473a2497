// Package deltas: how a device turns the installed version of a package (the base) into
// another version (the target) from a small download. The byte format is in docs/delta.md.
//
// A delta never diffs an archive. Both sides hold both signed manifests, so a delta says
// only what the manifests do not: a target file whose base has the same path and SHA-256
// (an implied copy) is not mentioned at all; every other target file, named by its index
// in the target manifest's path order, is either
//   - a copy of a base file with the same SHA-256 elsewhere (a rename: the base file's
//     index), or
//   - an output of a zstd frame ("patch-from"). One frame may produce several target files
//     one after another, compressed against the concatenation of several base files, so
//     that an edit repeated across files (a library and its minified or slim build) is
//     paid about once; or
//   - an output of a patch: copies of any base files at any offset with a difference
//     byte added to each copied byte (near matches: a changed version string or number
//     inside equal lines), plus new bytes, as three zstd-compressed streams. The encoder
//     keeps whichever of frame and patch is smaller.
// Removed files are simply not listed. A full download is a delta against the empty base.
//
// Applying needs, per frame, its references plus one zstd window: one reference is used
// where it lies (the device maps it); several are copied into one buffer, and then
// references and outputs together must fit the window. A patch needs its decoded streams,
// within the window, and one reference at a time, used where it lies. The window is declared in the
// header and refused above the device's cap before any frame is read, so the decoder's
// heap is O(window + chunk) whatever the package's size.
//
// Base and target are identified by manifest_digest: a delta made against another base is
// refused before anything is written, and every reference view is hashed before use.
//
// Thread-safety: functions are pure; a DeltaReader is used by one thread at a time.
#ifndef MDS_CORE_DELTA_DELTA_HPP
#define MDS_CORE_DELTA_DELTA_HPP

#include "core/crypto/bytes.hpp"
#include "core/crypto/sha256.hpp"
#include "core/manifest/manifest.hpp"

#include <mds/error.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mds::core::delta {

using crypto::Bytes;
using crypto::ByteView;
using crypto::Digest;

// The one codec so far: zstd frames, each with an optional raw-content prefix.
inline constexpr std::string_view kCodecZstdPrefixV1 = "zstd-prefix-v1";
inline constexpr std::uint16_t kFormatVersion = 2;

// zstd's smallest window; every delta declares at least this.
inline constexpr unsigned kMinWindowLog = 10;
// 32 MiB: the default for both the encoder's window and the decoder's cap. With zstd's own
// state and one output chunk this keeps applying under 64 MiB of heap.
inline constexpr unsigned kDefaultMaxWindowLog = 25;
// zstd cannot use more than this on 64-bit platforms; a header above it is malformed.
inline constexpr unsigned kMaxWindowLog = 31;

// The identity of a manifest in a delta header: SHA-256 of encode(manifest), the canonical
// text. A manifest with no files stands for the empty base (a full download) and has the
// all-zero digest; a real manifest always has at least one file.
Digest manifest_digest(const Manifest &manifest);

// How one target file is produced.
struct PlanEntry {
  enum class Source {
    Copy,  // the bytes of `base` (same SHA-256 as target)
    Frame, // a zstd frame with `base` as reference, or none when base is empty
  };
  ManifestFile target;
  Source source = Source::Frame;
  std::optional<ManifestFile> base;

  // A copy from the same path: the manifests say it all, the delta holds no entry for it.
  bool implied() const { return source == Source::Copy && base && base->path == target.path; }
};

// One entry per target file, in path order (the encoder leaves implied copies out of the
// delta and groups frames; see docs/delta.md). A copy is chosen when any base file has the
// target's hash (the same path first, else the smallest path). Otherwise a frame, whose
// reference is the base file of the same path, else a base file with the same extension:
// one whose path equals the target's once hash-like name tokens are removed (a bundle
// renamed for its content hash) if any, and among those the closest size (ties: smallest
// path); else none. Empty base files are never references (they hold nothing to match).
std::vector<PlanEntry> plan_delta(const Manifest &base, const Manifest &target);

// The bytes of one file of a manifest, for the encoder. The view must stay valid until the
// encoder returns. Errors are passed through.
using FileBytesFn = std::function<Result<ByteView>(const ManifestFile &file)>;

// Where an encoded delta's bytes went, for measurements.
struct EncodeStats {
  std::uint64_t header_bytes = 0;
  std::uint64_t entry_head_bytes = 0; // indices, tags and lengths of the entries
  std::uint64_t frame_bytes = 0;      // zstd frames
  std::uint64_t patch_bytes = 0;      // patch entries' compressed streams
  std::size_t frame_entries = 0;
  std::size_t patch_entries = 0;
  std::size_t implied_copies = 0; // target files the delta does not mention
};

struct EncodeOptions {
  int compression_level = 19;
  // Frames use the smallest window that holds reference + output, up to this. Beyond it
  // the oldest part of the reference is out of reach: the delta grows, the device's
  // memory does not.
  unsigned max_window_log = kDefaultMaxWindowLog;
  // Whether a group of files may travel as a patch entry (approximate matches against its
  // references) when that is smaller than its zstd frame.
  bool patch_entries = true;
  // When set, filled in by a successful encode_delta.
  EncodeStats *stats = nullptr;
};

// Server side. `base` with no files is the empty base. Refuses (InvalidArgument) a target
// or base that fails validate(), a base of another app, kind or package, and options out
// of range; FileSizeMismatch / FileHashMismatch when supplied bytes differ from their
// manifest entry; Internal when zstd fails.
Result<Bytes> encode_delta(const Manifest &base, const FileBytesFn &base_bytes, const Manifest &target,
                           const FileBytesFn &target_bytes, const EncodeOptions &options = {});

// What the decoder needs from the device. Every call may fail; the decoder stops at the
// first error and returns it unchanged.
class DeltaSink {
public:
  virtual ~DeltaSink() = default;
  // The bytes of a base file (the device maps it). The view must stay valid until
  // release_reference for the same file. The decoder hashes it before use and refuses a
  // view whose size or hash differs from `base_file` (DeltaInvalid: tampered base).
  virtual Result<ByteView> open_reference(const ManifestFile &base_file) = 0;
  virtual void release_reference(const ManifestFile &base_file) noexcept = 0;
  // One output file at a time: open, any number of writes, close. close_output is called
  // only once the file's size and SHA-256 equal `target_file`; after an error the open
  // file is abandoned without a close (the device discards its staging directory).
  virtual Status open_output(const ManifestFile &target_file) = 0;
  virtual Status write_output(ByteView chunk) = 0;
  virtual Status close_output() = 0;
};

struct DecodeOptions {
  // A header declaring a larger window is refused with DeltaWindowTooLarge (the device
  // then takes the full download).
  unsigned max_window_log = kDefaultMaxWindowLog;
  // Output chunk size handed to write_output.
  std::size_t chunk_size = 64 * 1024;
};

// Applies a delta fed in pieces of any size. `base` (no files: empty base) and `target`
// are the verified manifests; both and the sink must outlive the reader.
//
// Codes: DeltaInvalid for a malformed delta, another base or target, or a reference that
// differs from the base manifest; Unsupported for another format version or codec;
// DeltaWindowTooLarge; PathUnsafe for a manifest path outside the path grammar (checked
// again before the sink sees it);
// DecompressionBomb when a frame yields more than its files' sizes (the extra byte is not
// written); FileSizeMismatch / FileHashMismatch when a frame's output differs from the
// manifest. After an error every call returns it again.
class DeltaReader {
public:
  DeltaReader(const Manifest &base, const Manifest &target, DeltaSink &sink, DecodeOptions options = {});
  ~DeltaReader();
  DeltaReader(const DeltaReader &) = delete;
  DeltaReader &operator=(const DeltaReader &) = delete;

  Status feed(ByteView bytes);
  // Ok once every target file was produced and nothing followed the last entry;
  // DeltaInvalid for a truncated delta.
  Status finish();

  // Heap held by zstd's decoder now (its window buffers included), for measurements.
  std::size_t codec_memory() const;

private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The whole delta in one call (tests, tools): feed then finish.
Status apply_delta(const Manifest &base, const Manifest &target, ByteView delta, DeltaSink &sink,
                   DecodeOptions options = {});

} // namespace mds::core::delta

#endif
