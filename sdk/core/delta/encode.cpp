#include "core/delta/delta.hpp"
#include "core/delta/wire.hpp"

#include "core/crypto/encoding.hpp"
#include "core/crypto/sha256.hpp"

#include <zstd.h>

#include <algorithm>
#include <memory>
#include <string>

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

// The window a frame needs to reach from its last output byte back to the start of its
// reference: patch-from matches are only useful if the whole reference is in range.
unsigned frame_window_log(const PlanEntry &entry, unsigned max_window_log) {
  const std::uint64_t reference = entry.base ? entry.base->size : 0;
  return std::clamp(ceil_log2(reference + entry.target.size), kMinWindowLog, max_window_log);
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
  // The header comes first and declares the largest window, which the plan alone
  // determines: the frames can then be written one after another as they are made.
  unsigned window_log = kMinWindowLog;
  for (const PlanEntry &entry : plan) {
    if (entry.source == PlanEntry::Source::Frame) {
      window_log = std::max(window_log, frame_window_log(entry, options.max_window_log));
    }
  }

  Bytes out;
  wire::put_bytes(out, ByteView(wire::kMagic));
  wire::put_uint(out, kFormatVersion, 2);
  wire::put_u8(out, static_cast<std::uint8_t>(kCodecZstdPrefixV1.size()));
  wire::put_bytes(out, ByteView(kCodecZstdPrefixV1));
  wire::put_bytes(out, manifest_digest(base));
  wire::put_bytes(out, manifest_digest(target));
  wire::put_u8(out, static_cast<std::uint8_t>(window_log));
  wire::put_uint(out, plan.size(), 4);

  CCtxPtr context(ZSTD_createCCtx());
  if (!context) {
    return make_error(ErrorCode::Internal, "zstd: cannot allocate a compression context");
  }
  for (const PlanEntry &entry : plan) {
    wire::put_text(out, entry.target.path);
    if (entry.source == PlanEntry::Source::Copy) {
      wire::put_u8(out, wire::kSourceCopy);
      wire::put_text(out, entry.base->path);
      Result<Bytes> hash = crypto::hex_decode(entry.base->sha256, 32);
      if (!hash) {
        return make_error(ErrorCode::Internal, "a validated hash does not decode");
      }
      wire::put_bytes(out, *hash);
      continue;
    }

    wire::put_u8(out, wire::kSourceFrame);
    ByteView reference;
    if (entry.base) {
      Result<ByteView> bytes = checked_bytes(base_bytes, *entry.base);
      if (!bytes) {
        return std::move(bytes).error();
      }
      reference = *bytes;
      wire::put_u8(out, wire::kHasReference);
      wire::put_text(out, entry.base->path);
      Result<Bytes> hash = crypto::hex_decode(entry.base->sha256, 32);
      if (!hash) {
        return make_error(ErrorCode::Internal, "a validated hash does not decode");
      }
      wire::put_bytes(out, *hash);
    } else {
      wire::put_u8(out, wire::kNoReference);
    }
    Result<ByteView> input = checked_bytes(target_bytes, entry.target);
    if (!input) {
      return std::move(input).error();
    }
    // The frame's length precedes it; reserve the field and fill it in once known.
    const std::size_t length_at = out.size();
    wire::put_uint(out, 0, 8);
    if (Status s = compress_frame(context.get(), reference, *input, frame_window_log(entry, options.max_window_log),
                                  options.compression_level, out);
        !s) {
      return std::move(s).error();
    }
    const std::uint64_t length = out.size() - length_at - 8;
    for (std::size_t i = 0; i < 8; ++i) {
      out[length_at + i] = static_cast<std::uint8_t>(length >> (8 * i));
    }
  }
  return out;
}

} // namespace mds::core::delta
