#include "core/delta/delta.hpp"
#include "core/delta/wire.hpp"

#include "core/crypto/encoding.hpp"
#include "core/crypto/sha256.hpp"
#include "core/manifest/path.hpp"

#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>

namespace mds::core::delta {
namespace {

Error invalid(std::string message) {
  return make_error(ErrorCode::DeltaInvalid, std::move(message));
}

// Reads fields from the bytes received so far. A field that is not all there yet records
// how many bytes in total the parse needs, so the caller waits for exactly that many and
// parses again from the start (records are small: at most two paths and a few integers).
class Cursor {
public:
  explicit Cursor(ByteView bytes) : bytes_(bytes) {}

  bool has(std::size_t count) {
    if (bytes_.size() - position_ >= count) {
      return true;
    }
    needed_ = position_ + count;
    return false;
  }
  std::uint64_t uint(std::size_t width) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < width; ++i) {
      value |= std::uint64_t{bytes_[position_ + i]} << (8 * i);
    }
    position_ += width;
    return value;
  }
  std::string_view text(std::size_t count) {
    const auto *start = reinterpret_cast<const char *>(bytes_.data() + position_);
    position_ += count;
    return {start, count};
  }
  ByteView view(std::size_t count) {
    const ByteView out(bytes_.data() + position_, count);
    position_ += count;
    return out;
  }
  std::size_t position() const { return position_; }
  std::size_t needed() const { return needed_; }

private:
  ByteView bytes_;
  std::size_t position_ = 0;
  std::size_t needed_ = 0;
};

// The outcome of one parse attempt over the bytes received so far.
enum class Parsed { Complete, NeedMore, Failed };

struct Header {
  unsigned window_log = 0;
  std::uint32_t entry_count = 0;
};

struct EntryHead {
  const ManifestFile *target = nullptr;
  bool copy = false;
  const ManifestFile *base = nullptr; // the copy's source or the frame's reference
  std::uint64_t frame_length = 0;
};

struct DCtxDeleter {
  void operator()(ZSTD_DCtx *context) const noexcept { ZSTD_freeDCtx(context); }
};

} // namespace

class DeltaReader::Impl {
public:
  Impl(const Manifest &base, const Manifest &target, DeltaSink &sink, DecodeOptions options)
      : sink_(sink), options_(options), base_digest_(manifest_digest(base)), target_digest_(manifest_digest(target)),
        target_file_count_(target.files.size()) {
    for (const ManifestFile &file : base.files) {
      base_files_.emplace(file.path, &file);
    }
    for (const ManifestFile &file : target.files) {
      target_files_.emplace(file.path, &file);
    }
    options_.chunk_size = std::max<std::size_t>(options_.chunk_size, 1);
    need_ = wire::kMagic.size();
  }

  ~Impl() { release_reference(); }

  Status feed(ByteView bytes) {
    if (failed_) {
      return *failed_;
    }
    Status status = consume(bytes);
    if (!status) {
      release_reference();
      failed_ = status.error();
    }
    return status;
  }

  Status finish() {
    if (failed_) {
      return *failed_;
    }
    if (stage_ != Stage::Done) {
      release_reference();
      failed_ = invalid("the delta ends before its last entry (truncated)");
      return *failed_;
    }
    return {};
  }

  std::size_t codec_memory() const { return context_ ? ZSTD_sizeof_DCtx(context_.get()) : 0; }

private:
  enum class Stage { Header, EntryHead, FrameBody, Done };

  Status consume(ByteView bytes) {
    std::size_t offset = 0;
    while (offset < bytes.size()) {
      const ByteView rest(bytes.data() + offset, bytes.size() - offset);
      if (stage_ == Stage::Done) {
        return invalid("bytes follow the last entry");
      }
      if (stage_ == Stage::FrameBody) {
        Result<std::size_t> used = feed_frame(rest);
        if (!used) {
          return std::move(used).error();
        }
        offset += *used;
        continue;
      }
      // Header or entry head: gather exactly the bytes the parser asked for.
      const std::size_t take = std::min(rest.size(), need_ - pending_.size());
      pending_.insert(pending_.end(), rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(take));
      offset += take;
      if (pending_.size() < need_) {
        continue;
      }
      if (Status s = stage_ == Stage::Header ? on_header_bytes() : on_entry_bytes(); !s) {
        return s;
      }
    }
    return {};
  }

  // ---- header ----

  Status on_header_bytes() {
    Cursor cursor(pending_);
    Header header;
    Error error;
    const Parsed parsed = parse_header(cursor, header, error);
    if (parsed == Parsed::Failed) {
      return error;
    }
    if (parsed == Parsed::NeedMore) {
      need_ = cursor.needed();
      return {};
    }
    header_ = header;
    if (!context_) {
      context_.reset(ZSTD_createDCtx());
      if (!context_) {
        return make_error(ErrorCode::Internal, "zstd: cannot allocate a decompression context");
      }
    }
    pending_.clear();
    return next_entry();
  }

  Parsed parse_header(Cursor &cursor, Header &header, Error &error) const {
    if (!cursor.has(wire::kMagic.size())) {
      return Parsed::NeedMore;
    }
    if (cursor.text(wire::kMagic.size()) != wire::kMagic) {
      error = invalid("not a delta (bad magic)");
      return Parsed::Failed;
    }
    if (!cursor.has(2 + 1)) {
      return Parsed::NeedMore;
    }
    if (const std::uint64_t version = cursor.uint(2); version != kFormatVersion) {
      error = make_error(ErrorCode::Unsupported, "delta format version " + std::to_string(version) +
                                                     " (this build reads " + std::to_string(kFormatVersion) + ")");
      return Parsed::Failed;
    }
    const std::size_t codec_length = cursor.uint(1);
    if (codec_length == 0 || codec_length > wire::kMaxCodecNameBytes) {
      error = invalid("codec name of " + std::to_string(codec_length) + " bytes");
      return Parsed::Failed;
    }
    if (!cursor.has(codec_length + 32 + 32 + 1 + 4)) {
      return Parsed::NeedMore;
    }
    if (const std::string_view codec = cursor.text(codec_length); codec != kCodecZstdPrefixV1) {
      const bool printable = std::all_of(codec.begin(), codec.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      });
      error = printable ? make_error(ErrorCode::Unsupported, "unknown delta codec " + std::string(codec))
                        : invalid("a codec name outside a-z 0-9 -");
      return Parsed::Failed;
    }
    if (!equal(cursor.view(32), base_digest_)) {
      error = invalid("the delta was made against another base version");
      return Parsed::Failed;
    }
    if (!equal(cursor.view(32), target_digest_)) {
      error = invalid("the delta produces another target version");
      return Parsed::Failed;
    }
    header.window_log = static_cast<unsigned>(cursor.uint(1));
    if (header.window_log < kMinWindowLog || header.window_log > kMaxWindowLog) {
      error = invalid("window log " + std::to_string(header.window_log) + " outside 10..31");
      return Parsed::Failed;
    }
    if (header.window_log > options_.max_window_log) {
      error = make_error(ErrorCode::DeltaWindowTooLarge, "the delta needs a 2^" + std::to_string(header.window_log) +
                                                             " byte window; this device allows 2^" +
                                                             std::to_string(options_.max_window_log));
      return Parsed::Failed;
    }
    const std::uint64_t count = cursor.uint(4);
    if (count > kMaxManifestFiles) {
      error = invalid(std::to_string(count) + " entries, above the limit of " + std::to_string(kMaxManifestFiles));
      return Parsed::Failed;
    }
    if (count != target_file_count_) {
      error =
          invalid(std::to_string(count) + " entries for a target of " + std::to_string(target_file_count_) + " files");
      return Parsed::Failed;
    }
    header.entry_count = static_cast<std::uint32_t>(count);
    return Parsed::Complete;
  }

  // ---- entries ----

  Status next_entry() {
    if (entries_done_ == header_.entry_count) {
      stage_ = Stage::Done;
      return {};
    }
    stage_ = Stage::EntryHead;
    need_ = 2;
    return {};
  }

  Status on_entry_bytes() {
    Cursor cursor(pending_);
    EntryHead head;
    Error error;
    const Parsed parsed = parse_entry(cursor, head, error);
    if (parsed == Parsed::Failed) {
      return error;
    }
    if (parsed == Parsed::NeedMore) {
      need_ = cursor.needed();
      return {};
    }
    pending_.clear();
    previous_path_ = head.target->path;
    return head.copy ? copy_file(head) : start_frame(head);
  }

  // A path field: u16 length, then a path of the package grammar.
  Parsed parse_path(Cursor &cursor, std::string_view &path, Error &error) const {
    if (!cursor.has(2)) {
      return Parsed::NeedMore;
    }
    const std::size_t length = cursor.uint(2);
    if (length == 0 || length > kMaxPathBytes) {
      error = make_error(ErrorCode::PathUnsafe, "a path of " + std::to_string(length) + " bytes");
      return Parsed::Failed;
    }
    if (!cursor.has(length)) {
      return Parsed::NeedMore;
    }
    path = cursor.text(length);
    if (Status s = validate_package_path(path); !s) {
      error = s.error();
      return Parsed::Failed;
    }
    return Parsed::Complete;
  }

  // A base path and the SHA-256 the delta expects its content to have. Both must match
  // the base manifest: the device only ever provides files of the manifest it installed.
  Parsed parse_base(Cursor &cursor, const ManifestFile *&base, Error &error) const {
    std::string_view path;
    if (const Parsed p = parse_path(cursor, path, error); p != Parsed::Complete) {
      return p;
    }
    if (!cursor.has(32)) {
      return Parsed::NeedMore;
    }
    const ByteView hash = cursor.view(32);
    const auto found = base_files_.find(path);
    if (found == base_files_.end()) {
      error = invalid("the delta refers to " + std::string(path) + ", which the base version does not have");
      return Parsed::Failed;
    }
    if (crypto::hex_encode(hash) != found->second->sha256) {
      error = invalid("the delta expects other content in " + std::string(path) + " (made against another base)");
      return Parsed::Failed;
    }
    base = found->second;
    return Parsed::Complete;
  }

  Parsed parse_entry(Cursor &cursor, EntryHead &head, Error &error) const {
    std::string_view path;
    if (const Parsed p = parse_path(cursor, path, error); p != Parsed::Complete) {
      return p;
    }
    // Strictly increasing paths: each file at most once, and a simple check for it.
    if (entries_done_ > 0 && path <= previous_path_) {
      error = invalid("entry " + std::string(path) + " is out of order or repeated");
      return Parsed::Failed;
    }
    const auto found = target_files_.find(path);
    if (found == target_files_.end()) {
      error = invalid("entry " + std::string(path) + " is not a file of the target version");
      return Parsed::Failed;
    }
    head.target = found->second;
    if (!cursor.has(1)) {
      return Parsed::NeedMore;
    }
    const std::uint64_t source = cursor.uint(1);
    if (source == wire::kSourceCopy) {
      head.copy = true;
      if (const Parsed p = parse_base(cursor, head.base, error); p != Parsed::Complete) {
        return p;
      }
      if (head.base->sha256 != head.target->sha256) {
        error = invalid("entry " + std::string(path) + " copies a file with other content");
        return Parsed::Failed;
      }
      return Parsed::Complete;
    }
    if (source != wire::kSourceFrame) {
      error = invalid("entry " + std::string(path) + " has an unknown source " + std::to_string(source));
      return Parsed::Failed;
    }
    if (!cursor.has(1)) {
      return Parsed::NeedMore;
    }
    const std::uint64_t has_reference = cursor.uint(1);
    if (has_reference == wire::kHasReference) {
      if (const Parsed p = parse_base(cursor, head.base, error); p != Parsed::Complete) {
        return p;
      }
    } else if (has_reference != wire::kNoReference) {
      error = invalid("entry " + std::string(path) + " has a bad reference flag");
      return Parsed::Failed;
    }
    if (!cursor.has(8)) {
      return Parsed::NeedMore;
    }
    head.frame_length = cursor.uint(8);
    // No honest frame is shorter than a zstd magic number or longer than zstd's bound for
    // the declared output.
    const std::uint64_t bound = head.target->size > ZSTD_MAX_INPUT_SIZE
                                    ? std::uint64_t{UINT64_MAX}
                                    : ZSTD_compressBound(static_cast<std::size_t>(head.target->size));
    if (head.frame_length < sizeof wire::kZstdMagic || head.frame_length > bound) {
      error = invalid("entry " + std::string(path) + " has a frame of " + std::to_string(head.frame_length) +
                      " bytes for a file of " + std::to_string(head.target->size));
      return Parsed::Failed;
    }
    return Parsed::Complete;
  }

  // Fetches a base file from the device and checks it is what the base manifest says
  // before using it (a garbled or tampered installed file must not leak into the output).
  Result<ByteView> open_reference(const ManifestFile &base) {
    Result<ByteView> view = sink_.open_reference(base);
    if (!view) {
      return view;
    }
    reference_ = &base;
    if (view->size() != base.size || crypto::hex_encode(crypto::sha256(*view)) != base.sha256) {
      return invalid("the installed " + base.path + " differs from the base manifest");
    }
    return view;
  }

  void release_reference() noexcept {
    if (reference_ != nullptr) {
      sink_.release_reference(*reference_);
      reference_ = nullptr;
    }
  }

  Status copy_file(const EntryHead &head) {
    Result<ByteView> view = open_reference(*head.base);
    if (!view) {
      return std::move(view).error();
    }
    if (Status s = sink_.open_output(*head.target); !s) {
      return s;
    }
    for (std::size_t at = 0; at < view->size(); at += options_.chunk_size) {
      const std::size_t length = std::min(options_.chunk_size, view->size() - at);
      if (Status s = sink_.write_output(ByteView(view->data() + at, length)); !s) {
        return s;
      }
    }
    release_reference();
    if (Status s = sink_.close_output(); !s) {
      return s;
    }
    ++entries_done_;
    return next_entry();
  }

  // ---- frames ----

  Status start_frame(const EntryHead &head) {
    frame_ = head;
    frame_remaining_ = head.frame_length;
    frame_magic_seen_ = 0;
    frame_output_ = 0;
    frame_hash_ = crypto::Sha256();
    ByteView reference;
    if (head.base != nullptr) {
      Result<ByteView> view = open_reference(*head.base);
      if (!view) {
        return std::move(view).error();
      }
      reference = *view;
    }
    // Everything is set afresh per frame: the window limit from the header (the one the
    // device accepted), and this frame's own reference, which zstd uses for one frame.
    ZSTD_DCtx *context = context_.get();
    if (Status s = zstd_check(ZSTD_DCtx_reset(context, ZSTD_reset_session_and_parameters)); !s) {
      return s;
    }
    if (Status s =
            zstd_check(ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, static_cast<int>(header_.window_log)));
        !s) {
      return s;
    }
    if (!reference.empty()) {
      if (Status s = zstd_check(ZSTD_DCtx_refPrefix(context, reference.data(), reference.size())); !s) {
        return s;
      }
    }
    if (Status s = sink_.open_output(*head.target); !s) {
      return s;
    }
    if (chunk_.size() != options_.chunk_size) {
      chunk_.resize(options_.chunk_size);
    }
    stage_ = Stage::FrameBody;
    return {};
  }

  // Feeds up to the rest of the current frame to zstd and writes what comes out. Returns
  // how many bytes of `bytes` belonged to the frame.
  Result<std::size_t> feed_frame(ByteView bytes) {
    const std::size_t length = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), frame_remaining_));
    // Only real zstd frames: a skippable frame would make an empty file out of anything.
    for (std::size_t i = 0; i < length && frame_magic_seen_ < sizeof wire::kZstdMagic; ++i, ++frame_magic_seen_) {
      if (bytes[i] != wire::kZstdMagic[frame_magic_seen_]) {
        return invalid("entry " + frame_.target->path + " does not hold a zstd frame");
      }
    }
    ZSTD_inBuffer input{bytes.data(), length, 0};
    bool frame_ended = false;
    for (;;) {
      // Never let zstd produce more than one byte beyond the declared size.
      const std::uint64_t allowed = frame_.target->size - frame_output_ + 1;
      ZSTD_outBuffer output{chunk_.data(), static_cast<std::size_t>(std::min<std::uint64_t>(chunk_.size(), allowed)),
                            0};
      const std::size_t result = ZSTD_decompressStream(context_.get(), &output, &input);
      if (ZSTD_isError(result)) {
        return zstd_error(result);
      }
      // Up to the declared size the bytes are written; a byte beyond it proves the bomb.
      const std::size_t within = static_cast<std::size_t>(std::min<std::uint64_t>(output.pos, allowed - 1));
      if (within > 0) {
        const ByteView produced(chunk_.data(), within);
        frame_hash_.update(produced);
        if (Status s = sink_.write_output(produced); !s) {
          return std::move(s).error();
        }
      }
      frame_output_ += output.pos;
      if (frame_output_ > frame_.target->size) {
        return make_error(ErrorCode::DecompressionBomb, frame_.target->path + " decompresses beyond its " +
                                                            std::to_string(frame_.target->size) + " bytes");
      }
      if (result == 0) {
        frame_ended = true;
        break;
      }
      // zstd needs more input when it consumed all it had and did not fill the output.
      if (input.pos == input.size && output.pos < output.size) {
        break;
      }
    }
    frame_remaining_ -= input.pos;
    if (frame_ended && frame_remaining_ > 0) {
      return invalid("the frame of " + frame_.target->path + " ends before its declared length");
    }
    if (!frame_ended && frame_remaining_ == 0) {
      return invalid("the frame of " + frame_.target->path + " is cut short");
    }
    if (frame_ended) {
      if (Status s = end_frame(); !s) {
        return std::move(s).error();
      }
    }
    return input.pos;
  }

  Status end_frame() {
    release_reference();
    const ManifestFile &target = *frame_.target;
    if (frame_output_ != target.size) {
      return make_error(ErrorCode::FileSizeMismatch, target.path + " decompressed to " + std::to_string(frame_output_) +
                                                         " bytes; the manifest says " + std::to_string(target.size));
    }
    const Digest digest = frame_hash_.finish();
    if (frame_hash_.failed() || crypto::hex_encode(digest) != target.sha256) {
      return make_error(ErrorCode::FileHashMismatch,
                        target.path + " decompressed to other content than the manifest's");
    }
    if (Status s = sink_.close_output(); !s) {
      return s;
    }
    ++entries_done_;
    return next_entry();
  }

  // ---- zstd ----

  static Error zstd_error(std::size_t code) {
    if (ZSTD_getErrorCode(code) == ZSTD_error_memory_allocation) {
      return make_error(ErrorCode::Internal, "zstd: out of memory");
    }
    return invalid(std::string("corrupt frame: ") + ZSTD_getErrorName(code));
  }

  static Status zstd_check(std::size_t code) {
    if (ZSTD_isError(code)) {
      return zstd_error(code);
    }
    return {};
  }

  static bool equal(ByteView a, const Digest &b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), b.size()) == 0;
  }

  DeltaSink &sink_;
  DecodeOptions options_;
  const Digest base_digest_;
  const Digest target_digest_;
  const std::size_t target_file_count_;
  std::map<std::string_view, const ManifestFile *> base_files_;
  std::map<std::string_view, const ManifestFile *> target_files_;

  Stage stage_ = Stage::Header;
  Bytes pending_;        // bytes of the header or entry head being gathered
  std::size_t need_ = 0; // how many pending_ bytes the next parse attempt needs
  Header header_;
  std::uint32_t entries_done_ = 0;
  std::string previous_path_;
  std::optional<Error> failed_;

  std::unique_ptr<ZSTD_DCtx, DCtxDeleter> context_;
  const ManifestFile *reference_ = nullptr; // held from the sink until released
  EntryHead frame_;
  std::uint64_t frame_remaining_ = 0;
  std::size_t frame_magic_seen_ = 0;
  std::uint64_t frame_output_ = 0;
  crypto::Sha256 frame_hash_;
  Bytes chunk_;
};

DeltaReader::DeltaReader(const Manifest &base, const Manifest &target, DeltaSink &sink, DecodeOptions options)
    : impl_(std::make_unique<Impl>(base, target, sink, options)) {}
DeltaReader::~DeltaReader() = default;
Status DeltaReader::feed(ByteView bytes) {
  return impl_->feed(bytes);
}
Status DeltaReader::finish() {
  return impl_->finish();
}
std::size_t DeltaReader::codec_memory() const {
  return impl_->codec_memory();
}

Status apply_delta(const Manifest &base, const Manifest &target, ByteView delta, DeltaSink &sink,
                   DecodeOptions options) {
  DeltaReader reader(base, target, sink, options);
  if (Status s = reader.feed(delta); !s) {
    return s;
  }
  return reader.finish();
}

} // namespace mds::core::delta
