#include "core/delta/delta.hpp"
#include "core/delta/wire.hpp"

#include "core/crypto/encoding.hpp"
#include "core/crypto/sha256.hpp"

#include <zstd.h>

#include <algorithm>
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

// Puts the plan's frames, in target order, into as few zstd frames as the window allows:
// a later file then finds an edit already made in an earlier one (jquery.js and
// jquery.slim.js, a stylesheet and its minified copy), and small files share one frame's
// overhead. A group holds its references and outputs within 2^max_window_log bytes, so the
// device's copy of several references plus zstd's window stays within the declared
// window; a file too large for that travels alone with its one reference, mapped.
std::vector<FrameGroup> group_frames(const std::vector<PlanEntry> &plan, unsigned max_window_log) {
  const std::uint64_t budget = std::uint64_t{1} << max_window_log;
  std::vector<FrameGroup> groups;
  FrameGroup group;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const PlanEntry &entry = plan[i];
    if (entry.implied()) {
      continue;
    }
    if (entry.source == PlanEntry::Source::Copy) {
      // Entries follow one another in target order: a frame's outputs never span another
      // entry, only implied copies.
      if (!group.outputs.empty()) {
        groups.push_back(std::move(group));
        group = FrameGroup();
      }
      continue;
    }
    const bool new_reference =
        entry.base && std::none_of(group.references.begin(), group.references.end(),
                                   [&](const ManifestFile *file) { return file->path == entry.base->path; });
    const std::uint64_t added = entry.target.size + (new_reference ? entry.base->size : 0);
    if (!group.outputs.empty() &&
        (group.reference_bytes + group.output_bytes + added > budget || group.outputs.size() == wire::kMaxFrameFiles ||
         (new_reference && group.references.size() == wire::kMaxFrameFiles))) {
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
  const std::vector<FrameGroup> groups = group_frames(plan, options.max_window_log);
  // The header comes first and declares the largest window, which the plan alone
  // determines: the frames can then be written one after another as they are made.
  unsigned window_log = kMinWindowLog;
  for (const FrameGroup &group : groups) {
    window_log = std::max(window_log, frame_window_log(group, options.max_window_log));
  }

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
  // Entries in the order of their first output: copies and frames interleaved.
  std::map<std::size_t, const FrameGroup *> group_at;
  for (const FrameGroup &group : groups) {
    group_at.emplace(group.outputs.front(), &group);
  }
  std::size_t entry_count = groups.size();
  for (const PlanEntry &entry : plan) {
    entry_count += entry.source == PlanEntry::Source::Copy && !entry.implied() ? 1 : 0;
  }

  EncodeStats stats;
  Bytes out;
  wire::put_bytes(out, ByteView(wire::kMagic));
  wire::put_uint(out, kFormatVersion, 2);
  wire::put_u8(out, static_cast<std::uint8_t>(kCodecZstdPrefixV1.size()));
  wire::put_bytes(out, ByteView(kCodecZstdPrefixV1));
  wire::put_bytes(out, manifest_digest(base));
  wire::put_bytes(out, manifest_digest(target));
  wire::put_u8(out, static_cast<std::uint8_t>(window_log));
  wire::put_varint(out, entry_count);
  stats.header_bytes = out.size();

  CCtxPtr context(ZSTD_createCCtx());
  if (!context) {
    return make_error(ErrorCode::Internal, "zstd: cannot allocate a compression context");
  }
  // The plan is in target path order, so its positions are the target indices. Each
  // output is written as the number of target files passed over since the previous one.
  std::size_t next_index = 0;
  const auto put_output = [&](std::size_t index) {
    wire::put_varint(out, index - next_index);
    next_index = index + 1;
  };
  Bytes reference_buffer;
  Bytes input_buffer;
  for (std::size_t index = 0; index < plan.size(); ++index) {
    const PlanEntry &entry = plan[index];
    if (entry.implied()) {
      ++stats.implied_copies;
      continue;
    }
    const std::size_t head_start = out.size();
    if (entry.source == PlanEntry::Source::Copy) {
      put_output(index);
      wire::put_u8(out, wire::kSourceCopy);
      wire::put_varint(out, base_index.at(entry.base->path));
      stats.entry_head_bytes += out.size() - head_start;
      continue;
    }
    const auto found = group_at.find(index);
    if (found == group_at.end()) {
      continue; // a later output of a frame already written
    }
    const FrameGroup &group = *found->second;
    put_output(index);
    wire::put_u8(out, wire::kSourceFrame);
    wire::put_varint(out, group.references.size());
    for (const ManifestFile *file : group.references) {
      wire::put_varint(out, base_index.at(file->path));
    }
    wire::put_varint(out, group.outputs.size());
    for (std::size_t i = 1; i < group.outputs.size(); ++i) {
      put_output(group.outputs[i]);
    }
    // One reference or one output is used where it lies; several are concatenated.
    ByteView reference;
    reference_buffer.clear();
    for (const ManifestFile *file : group.references) {
      Result<ByteView> bytes = checked_bytes(base_bytes, *file);
      if (!bytes) {
        return std::move(bytes).error();
      }
      if (group.references.size() == 1) {
        reference = *bytes;
      } else {
        wire::put_bytes(reference_buffer, *bytes);
        reference = ByteView(reference_buffer);
      }
    }
    ByteView input;
    input_buffer.clear();
    for (const std::size_t output : group.outputs) {
      Result<ByteView> bytes = checked_bytes(target_bytes, plan[output].target);
      if (!bytes) {
        return std::move(bytes).error();
      }
      if (group.outputs.size() == 1) {
        input = *bytes;
      } else {
        wire::put_bytes(input_buffer, *bytes);
        input = ByteView(input_buffer);
      }
    }
    // The frame's length precedes it as a varint: compress first, then write both.
    Bytes frame;
    if (Status s = compress_frame(context.get(), reference, input, frame_window_log(group, options.max_window_log),
                                  options.compression_level, frame);
        !s) {
      return std::move(s).error();
    }
    wire::put_varint(out, frame.size());
    stats.entry_head_bytes += out.size() - head_start;
    stats.frame_bytes += frame.size();
    wire::put_bytes(out, frame);
  }
  if (options.stats != nullptr) {
    *options.stats = stats;
  }
  return out;
}

} // namespace mds::core::delta
