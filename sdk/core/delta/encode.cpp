#include "core/delta/delta.hpp"
#include "core/delta/patch.hpp"
#include "core/delta/wire.hpp"

#include "core/crypto/encoding.hpp"
#include "core/crypto/sha256.hpp"

#include <zstd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mds::core::delta {
namespace {

struct CCtxDeleter {
  void operator()(ZSTD_CCtx *context) const noexcept { ZSTD_freeCCtx(context); }
};
using CCtxPtr = std::unique_ptr<ZSTD_CCtx, CCtxDeleter>;

// A patch's streams are decoded in one call each into buffers of their declared sizes, so
// their frames' windows do not add to the device's memory; this only keeps within zstd's
// own limits.
constexpr unsigned kPatchStreamMaxWindowLog = 27;

// The smallest k with 2^k >= value.
unsigned ceil_log2(std::uint64_t value) {
  unsigned log = 0;
  while (log < 64 && (std::uint64_t{1} << log) < value) {
    ++log;
  }
  return log;
}

// Files that travel in one zstd frame: the outputs (plan positions, increasing) and the
// base files their bytes are compressed against, concatenated in this order.
struct FrameGroup {
  std::vector<std::size_t> outputs;
  std::vector<const ManifestFile *> references;
  std::uint64_t reference_bytes = 0;
  std::uint64_t output_bytes = 0;
};

// The window a frame needs to reach from its last output byte back to the start of its
// reference: patch-from matches are only useful if the whole reference is in range.
unsigned frame_window_log(const FrameGroup &group, unsigned max_window_log) {
  return std::clamp(ceil_log2(group.reference_bytes + group.output_bytes), kMinWindowLog, max_window_log);
}

// Puts the plan's frames, in target order, into groups, each as large as `fits` allows and
// of at most `max_files` outputs and as many references. A group's outputs never span a
// copy entry (entries are in output order), only implied copies.
template <typename Fits>
std::vector<FrameGroup> group_files(const std::vector<PlanEntry> &plan, std::uint64_t max_files, const Fits &fits) {
  std::vector<FrameGroup> groups;
  FrameGroup group;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const PlanEntry &entry = plan[i];
    if (entry.implied()) {
      continue;
    }
    if (entry.source == PlanEntry::Source::Copy) {
      if (!group.outputs.empty()) {
        groups.push_back(std::move(group));
        group = FrameGroup();
      }
      continue;
    }
    const bool new_reference =
        entry.base && std::none_of(group.references.begin(), group.references.end(),
                                   [&](const ManifestFile *file) { return file->path == entry.base->path; });
    const std::uint64_t added_reference = new_reference ? entry.base->size : 0;
    if (!group.outputs.empty() &&
        (!fits(group, entry.target.size, added_reference) || group.outputs.size() == max_files ||
         (new_reference && group.references.size() == max_files))) {
      groups.push_back(std::move(group));
      group = FrameGroup();
    }
    group.outputs.push_back(i);
    group.output_bytes += entry.target.size;
    if (new_reference || (entry.base && group.references.empty())) {
      group.references.push_back(&*entry.base);
      group.reference_bytes += entry.base->size;
    }
  }
  if (!group.outputs.empty()) {
    groups.push_back(std::move(group));
  }
  return groups;
}

// Frames: as few as the window allows. A later file then finds an edit already made in an
// earlier one (jquery.js and jquery.slim.js, a stylesheet and its minified copy), and small
// files share one frame's overhead. A group holds its references and outputs within
// 2^max_window_log bytes, so the device's copy of several references plus zstd's window
// stays within the declared window; a file too large for that travels alone with its one
// reference, mapped.
std::vector<FrameGroup> group_frames(const std::vector<PlanEntry> &plan, unsigned max_window_log) {
  const std::uint64_t budget = std::uint64_t{1} << max_window_log;
  return group_files(plan, wire::kMaxFrameFiles,
                     [budget](const FrameGroup &group, std::uint64_t output, std::uint64_t reference) {
                       return group.reference_bytes + group.output_bytes + output + reference <= budget;
                     });
}

// Patches: the device holds one reference at a time and streams the diff bytes, so a group
// is bounded by what the encoder holds (its references and outputs, each within twice the
// window) rather than by the device's window. One large group lets the new bytes of a fix
// repeated across files (a library's builds and their source maps) be compressed together.
std::vector<FrameGroup> group_patches(const std::vector<PlanEntry> &plan, unsigned max_window_log) {
  const std::uint64_t budget = std::uint64_t{2} << max_window_log;
  return group_files(plan, wire::kMaxPatchFiles,
                     [budget](const FrameGroup &group, std::uint64_t output, std::uint64_t reference) {
                       return group.output_bytes + output <= budget && group.reference_bytes + reference <= budget;
                     });
}

// Fetches a file's bytes and checks them against the manifest entry that names them: a
// server that compressed other bytes would publish a delta no device can apply.
Result<ByteView> checked_bytes(const FileBytesFn &bytes_of, const ManifestFile &file) {
  Result<ByteView> bytes = bytes_of(file);
  if (!bytes) {
    return bytes;
  }
  if (bytes->size() != file.size) {
    return make_error(ErrorCode::FileSizeMismatch, "the bytes supplied for " + file.path + " have size " +
                                                       std::to_string(bytes->size()) + ", the manifest says " +
                                                       std::to_string(file.size));
  }
  if (crypto::hex_encode(crypto::sha256(*bytes)) != file.sha256) {
    return make_error(ErrorCode::FileHashMismatch, "the bytes supplied for " + file.path + " differ from the manifest");
  }
  return bytes;
}

Status zstd_status(std::size_t code, const char *what) {
  if (ZSTD_isError(code)) {
    return make_error(ErrorCode::Internal, std::string("zstd ") + what + ": " + ZSTD_getErrorName(code));
  }
  return {};
}

Status compress_frame(ZSTD_CCtx *context, ByteView reference, ByteView input, unsigned window_log, int level,
                      Bytes &out) {
  // Parameters are reset per frame: a prefix is single-use by design, and nothing of the
  // previous frame may leak into this one.
  if (Status s = zstd_status(ZSTD_CCtx_reset(context, ZSTD_reset_session_and_parameters), "reset"); !s) {
    return s;
  }
  const std::pair<ZSTD_cParameter, int> parameters[] = {
      {ZSTD_c_compressionLevel, level},
      {ZSTD_c_windowLog, static_cast<int>(window_log)},
      {ZSTD_c_enableLongDistanceMatching, 1},
      {ZSTD_c_contentSizeFlag, 1},
      {ZSTD_c_checksumFlag, 0}, // the manifest's SHA-256 checks every file anyway
      {ZSTD_c_dictIDFlag, 0},
  };
  for (const auto &[parameter, value] : parameters) {
    if (Status s = zstd_status(ZSTD_CCtx_setParameter(context, parameter, value), "parameter"); !s) {
      return s;
    }
  }
  if (Status s = zstd_status(ZSTD_CCtx_setPledgedSrcSize(context, input.size()), "pledged size"); !s) {
    return s;
  }
  if (!reference.empty()) {
    if (Status s = zstd_status(ZSTD_CCtx_refPrefix(context, reference.data(), reference.size()), "prefix"); !s) {
      return s;
    }
  }
  const std::size_t start = out.size();
  out.resize(start + ZSTD_compressBound(input.size()));
  const std::size_t written =
      ZSTD_compress2(context, out.data() + start, out.size() - start, input.data(), input.size());
  if (Status s = zstd_status(written, "compress"); !s) {
    out.resize(start);
    return s;
  }
  out.resize(start + written);
  return {};
}

// One way of writing the delta's entries: the bytes after the header, the window they
// need, and where the bytes went.
struct Pass {
  Bytes entries;
  std::uint64_t entry_count = 0;
  unsigned window_log = kMinWindowLog;
  EncodeStats stats;
};

// Writes the entries of one grouping. Files are fetched per group (and checked against
// their manifest entries), so the encoder holds one group's files at a time.
class Encoder {
public:
  Encoder(const std::vector<PlanEntry> &plan, const std::map<std::string_view, std::uint64_t> &base_index,
          const FileBytesFn &base_bytes, const FileBytesFn &target_bytes, const EncodeOptions &options,
          ZSTD_CCtx *context)
      : plan_(plan), base_index_(base_index), base_bytes_(base_bytes), target_bytes_(target_bytes), options_(options),
        context_(context) {}

  // Frames, each replaced by a patch of the same files when that is smaller; or, with
  // `patches_only`, patches alone (a group that needs more than the window is split).
  Result<Pass> run(const std::vector<FrameGroup> &groups, bool patches_only) {
    Pass pass;
    next_index_ = 0;
    gave_up_ = false;
    std::map<std::size_t, const FrameGroup *> group_at;
    for (const FrameGroup &group : groups) {
      group_at.emplace(group.outputs.front(), &group);
    }
    for (std::size_t index = 0; index < plan_.size(); ++index) {
      const PlanEntry &entry = plan_[index];
      if (entry.implied()) {
        ++pass.stats.implied_copies;
        continue;
      }
      if (entry.source == PlanEntry::Source::Copy) {
        const std::size_t head_start = pass.entries.size();
        put_output(pass.entries, index);
        wire::put_u8(pass.entries, wire::kSourceCopy);
        wire::put_varint(pass.entries, base_index_.at(entry.base->path));
        pass.stats.entry_head_bytes += pass.entries.size() - head_start;
        ++pass.entry_count;
        continue;
      }
      const auto found = group_at.find(index);
      if (found == group_at.end()) {
        continue; // a later output of a group already written
      }
      Status status = patches_only ? write_patches(*found->second, pass) : write_best(*found->second, pass);
      if (!status) {
        return std::move(status).error();
      }
    }
    return pass;
  }

  // Whether the last run of patches alone gave up: a group without references, or a file
  // whose patch cannot fit the window alone.
  bool gave_up() const { return gave_up_; }

private:
  // Each output is written as the number of target files passed over since the previous
  // one; plan positions are target indices.
  void put_output(Bytes &out, std::size_t index) {
    wire::put_varint(out, index - next_index_);
    next_index_ = index + 1;
  }

  // A frame's head: first output, source, references, further outputs.
  void put_head(Bytes &out, const FrameGroup &group, std::uint8_t source) {
    put_output(out, group.outputs.front());
    wire::put_u8(out, source);
    wire::put_varint(out, group.references.size());
    for (const ManifestFile *file : group.references) {
      wire::put_varint(out, base_index_.at(file->path));
    }
    wire::put_varint(out, group.outputs.size());
    for (std::size_t i = 1; i < group.outputs.size(); ++i) {
      put_output(out, group.outputs[i]);
    }
  }

  // The concatenation of `files`' bytes: a view of the one file, or a copy into `buffer`.
  Result<ByteView> gather(const std::vector<const ManifestFile *> &files, const FileBytesFn &bytes_of, Bytes &buffer) {
    ByteView view;
    buffer.clear();
    for (const ManifestFile *file : files) {
      Result<ByteView> bytes = checked_bytes(bytes_of, *file);
      if (!bytes) {
        return bytes;
      }
      if (files.size() == 1) {
        view = *bytes;
      } else {
        wire::put_bytes(buffer, *bytes);
        view = ByteView(buffer);
      }
    }
    return view;
  }

  Result<ByteView> gather_outputs(const FrameGroup &group) {
    std::vector<const ManifestFile *> files;
    for (const std::size_t output : group.outputs) {
      files.push_back(&plan_[output].target);
    }
    return gather(files, target_bytes_, input_buffer_);
  }

  Status write_best(const FrameGroup &group, Pass &pass) {
    Result<ByteView> reference = gather(group.references, base_bytes_, reference_buffer_);
    if (!reference) {
      return std::move(reference).error();
    }
    Result<ByteView> input = gather_outputs(group);
    if (!input) {
      return std::move(input).error();
    }
    const std::size_t outputs_from = next_index_;
    Bytes frame_entry;
    put_head(frame_entry, group, wire::kSourceFrame);
    // The frame's length precedes it as a varint: compress first, then write both.
    Bytes frame;
    const unsigned frame_window = frame_window_log(group, options_.max_window_log);
    if (Status s = compress_frame(context_, *reference, *input, frame_window, options_.compression_level, frame); !s) {
      return s;
    }
    wire::put_varint(frame_entry, frame.size());
    const std::size_t frame_head = frame_entry.size();
    wire::put_bytes(frame_entry, frame);
    if (options_.patch_entries && !group.references.empty()) {
      next_index_ = outputs_from;
      Patch patch;
      if (Status s = make_patch(group, *input, patch); !s) {
        return s;
      }
      if (patch.window_log <= options_.max_window_log && patch.entry.size() < frame_entry.size()) {
        add_patch(patch, pass);
        return {};
      }
    }
    pass.window_log = std::max(pass.window_log, frame_window);
    pass.stats.entry_head_bytes += frame_head;
    pass.stats.frame_bytes += frame.size();
    ++pass.stats.frame_entries;
    ++pass.entry_count;
    wire::put_bytes(pass.entries, frame_entry);
    return {};
  }

  Status write_patches(const FrameGroup &group, Pass &pass) {
    if (gave_up_) {
      return {};
    }
    if (group.references.empty()) {
      gave_up_ = true;
      return {};
    }
    Result<ByteView> input = gather_outputs(group);
    if (!input) {
      return std::move(input).error();
    }
    const std::size_t outputs_from = next_index_;
    Patch patch;
    if (Status s = make_patch(group, *input, patch); !s) {
      return s;
    }
    if (patch.window_log <= options_.max_window_log) {
      add_patch(patch, pass);
      return {};
    }
    // Too many new bytes to hold at once: two patches of half the files each.
    next_index_ = outputs_from;
    if (group.outputs.size() == 1) {
      gave_up_ = true;
      return {};
    }
    const std::size_t half = group.outputs.size() / 2;
    for (const auto &[from, to] : {std::pair<std::size_t, std::size_t>{0, half}, {half, group.outputs.size()}}) {
      FrameGroup part;
      for (std::size_t i = from; i < to; ++i) {
        const PlanEntry &entry = plan_[group.outputs[i]];
        part.outputs.push_back(group.outputs[i]);
        part.output_bytes += entry.target.size;
        if (entry.base &&
            std::find(part.references.begin(), part.references.end(), &*entry.base) == part.references.end()) {
          part.references.push_back(&*entry.base);
          part.reference_bytes += entry.base->size;
        }
      }
      if (Status s = write_patches(part, pass); !s) {
        return s;
      }
    }
    return {};
  }

  struct Patch {
    Bytes entry;
    std::size_t head_bytes = 0;
    unsigned window_log = 0;
  };

  // A patch entry: the three streams of patch::make_patch, the control stream preceded by
  // the lists of references and further outputs (mostly small gaps, which compress to
  // almost nothing there), each compressed on its own (an empty stream has no frame). The
  // device holds the three decoded streams and the compressed body: `window_log` is what
  // that needs.
  Status make_patch(const FrameGroup &frame_group, ByteView input, Patch &out) {
    // A patch lists its references in base index order (path order), as gaps.
    FrameGroup group = frame_group;
    std::sort(group.references.begin(), group.references.end(),
              [](const ManifestFile *a, const ManifestFile *b) { return a->path < b->path; });
    Result<ByteView> reference = gather(group.references, base_bytes_, patch_reference_buffer_);
    if (!reference) {
      return std::move(reference).error();
    }
    patch::Streams streams = patch::make_patch(*reference, input);
    Bytes control;
    wire::put_varint(control, group.references.size());
    for (std::size_t i = 0; i < group.references.size(); ++i) {
      const std::uint64_t index = base_index_.at(group.references[i]->path);
      wire::put_varint(control, i == 0 ? index : index - base_index_.at(group.references[i - 1]->path) - 1);
    }
    wire::put_varint(control, group.outputs.size());
    for (std::size_t i = 1; i < group.outputs.size(); ++i) {
      wire::put_varint(control, group.outputs[i] - group.outputs[i - 1] - 1);
    }
    wire::put_bytes(control, streams.control);
    streams.control = std::move(control);

    const Bytes *const parts[wire::kPatchStreams] = {&streams.control, &streams.diff, &streams.extra};
    Bytes frames[wire::kPatchStreams];
    std::uint64_t held = 0;
    for (std::size_t i = 0; i < wire::kPatchStreams; ++i) {
      held += parts[i]->size();
      if (parts[i]->empty()) {
        continue;
      }
      const unsigned window = std::clamp(ceil_log2(parts[i]->size()), kMinWindowLog, kPatchStreamMaxWindowLog);
      if (Status s =
              compress_frame(context_, ByteView(), ByteView(*parts[i]), window, options_.compression_level, frames[i]);
          !s) {
        return s;
      }
      held += frames[i].size();
    }
    put_output(out.entry, group.outputs.front());
    wire::put_u8(out.entry, wire::kSourcePatch);
    for (const Bytes *part : parts) {
      wire::put_varint(out.entry, part->size());
    }
    for (const Bytes &frame : frames) {
      wire::put_varint(out.entry, frame.size());
    }
    next_index_ = group.outputs.back() + 1;
    out.head_bytes = out.entry.size();
    for (const Bytes &frame : frames) {
      wire::put_bytes(out.entry, frame);
    }
    out.window_log = std::max(kMinWindowLog, ceil_log2(held));
    return {};
  }

  void add_patch(const Patch &patch, Pass &pass) {
    pass.window_log = std::max(pass.window_log, patch.window_log);
    pass.stats.entry_head_bytes += patch.head_bytes;
    pass.stats.patch_bytes += patch.entry.size() - patch.head_bytes;
    ++pass.stats.patch_entries;
    ++pass.entry_count;
    wire::put_bytes(pass.entries, patch.entry);
  }

  const std::vector<PlanEntry> &plan_;
  const std::map<std::string_view, std::uint64_t> &base_index_;
  const FileBytesFn &base_bytes_;
  const FileBytesFn &target_bytes_;
  const EncodeOptions &options_;
  ZSTD_CCtx *context_;
  std::size_t next_index_ = 0;
  bool gave_up_ = false;
  Bytes reference_buffer_;
  Bytes patch_reference_buffer_;
  Bytes input_buffer_;
};

} // namespace

Result<Bytes> encode_delta(const Manifest &base, const FileBytesFn &base_bytes, const Manifest &target,
                           const FileBytesFn &target_bytes, const EncodeOptions &options) {
  if (Status s = validate(target); !s) {
    return make_error(ErrorCode::InvalidArgument, "target manifest: " + describe(s.error()));
  }
  if (!base.files.empty()) {
    if (Status s = validate(base); !s) {
      return make_error(ErrorCode::InvalidArgument, "base manifest: " + describe(s.error()));
    }
    if (Status s = check_identity(base, target.app, target.kind, target.package_id); !s) {
      return make_error(ErrorCode::InvalidArgument, "the base is another package: " + s.error().message);
    }
  }
  if (options.max_window_log < kMinWindowLog || options.max_window_log > kMaxWindowLog ||
      options.compression_level < 1 || options.compression_level > ZSTD_maxCLevel()) {
    return make_error(ErrorCode::InvalidArgument, "encode options out of range");
  }

  const std::vector<PlanEntry> plan = plan_delta(base, target);

  // Base files are named by their index in path order: both sides sort the same manifest.
  std::vector<const ManifestFile *> base_sorted;
  base_sorted.reserve(base.files.size());
  for (const ManifestFile &file : base.files) {
    base_sorted.push_back(&file);
  }
  std::sort(base_sorted.begin(), base_sorted.end(),
            [](const ManifestFile *a, const ManifestFile *b) { return a->path < b->path; });
  std::map<std::string_view, std::uint64_t> base_index;
  for (std::size_t i = 0; i < base_sorted.size(); ++i) {
    base_index.emplace(base_sorted[i]->path, i);
  }

  CCtxPtr context(ZSTD_createCCtx());
  if (!context) {
    return make_error(ErrorCode::Internal, "zstd: cannot allocate a compression context");
  }
  Encoder encoder(plan, base_index, base_bytes, target_bytes, options, context.get());
  // Two groupings: frames as large as the device's window allows (each replaced by a patch
  // of the same files when smaller), and, for an update, patches as large as the encoder
  // allows. The smaller delta wins.
  const std::vector<FrameGroup> frame_groups = group_frames(plan, options.max_window_log);
  Result<Pass> pass = encoder.run(frame_groups, false);
  if (!pass) {
    return std::move(pass).error();
  }
  const std::vector<FrameGroup> patch_groups = group_patches(plan, options.max_window_log);
  // When both groupings are the same (a small package: one group), the first delta has
  // tried each group as a patch already.
  const bool same_groups = patch_groups.size() == frame_groups.size() &&
                           std::equal(patch_groups.begin(), patch_groups.end(), frame_groups.begin(),
                                      [](const FrameGroup &a, const FrameGroup &b) { return a.outputs == b.outputs; });
  if (options.patch_entries && !base.files.empty() && !same_groups) {
    Result<Pass> patches = encoder.run(patch_groups, true);
    if (!patches) {
      return std::move(patches).error();
    }
    if (!encoder.gave_up() && patches->entries.size() < pass->entries.size()) {
      pass = std::move(patches);
    }
  }

  // The header declares the largest window any entry needs.
  Bytes out;
  wire::put_bytes(out, ByteView(wire::kMagic));
  wire::put_uint(out, kFormatVersion, 2);
  wire::put_u8(out, static_cast<std::uint8_t>(kCodecZstdPrefixV1.size()));
  wire::put_bytes(out, ByteView(kCodecZstdPrefixV1));
  wire::put_bytes(out, manifest_digest(base));
  wire::put_bytes(out, manifest_digest(target));
  wire::put_u8(out, static_cast<std::uint8_t>(pass->window_log));
  wire::put_varint(out, pass->entry_count);
  pass->stats.header_bytes = out.size();
  wire::put_bytes(out, pass->entries);
  if (options.stats != nullptr) {
    *options.stats = pass->stats;
  }
  return out;
}

} // namespace mds::core::delta
