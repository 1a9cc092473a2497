#include "core/delta/delta.hpp"
#include "core/delta/patch.hpp"
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
#include <vector>

namespace mds::core::delta {
namespace {

Error invalid(std::string message) {
  return make_error(ErrorCode::DeltaInvalid, std::move(message));
}

// The outcome of one parse attempt over the bytes received so far.
enum class Parsed { Complete, NeedMore, Failed };

// Reads fields from the bytes received so far. A field that is not all there yet records
// how many bytes in total the parse needs, so the caller waits for exactly that many and
// parses again from the start (records are small: a few varints).
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
  // A shortest-form LEB128 varint. NeedMore until its last byte is there; Failed for a
  // longer form than needed or a value beyond 64 bits.
  Parsed varint(std::uint64_t &value) {
    value = 0;
    for (std::size_t i = 0; i < wire::kMaxVarintBytes; ++i) {
      if (!has(1)) {
        return Parsed::NeedMore;
      }
      const std::uint8_t byte = bytes_[position_++];
      if (i == wire::kMaxVarintBytes - 1 && byte > 1) {
        return Parsed::Failed;
      }
      value |= std::uint64_t{byte & 0x7Fu} << (7 * i);
      if ((byte & 0x80) == 0) {
        return i > 0 && byte == 0 ? Parsed::Failed : Parsed::Complete;
      }
    }
    return Parsed::Failed;
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

struct Header {
  unsigned window_log = 0;
  std::uint32_t entry_count = 0;
};

struct EntryHead {
  bool copy = false;
  bool patch = false;
  const ManifestFile *base = nullptr;           // the copy's source
  std::vector<std::size_t> outputs;             // target indices, increasing (a copy: one)
  std::vector<const ManifestFile *> references; // a frame's, in prefix order
  std::uint64_t output_bytes = 0;               // a frame's: the sum of its outputs' sizes
  std::uint64_t frame_length = 0;
  // A patch's: the decoded size and the compressed length of each stream (control, diff,
  // extra). Its references and further outputs are in its control stream.
  std::uint64_t stream_sizes[wire::kPatchStreams] = {};
  std::uint64_t stream_lengths[wire::kPatchStreams] = {};
  std::uint64_t body_length() const { return stream_lengths[0] + stream_lengths[1] + stream_lengths[2]; }
};

// A decoder context holding more than this (window buffers of earlier frames) is replaced
// before a frame that copies its references; zstd's own state is far below it.
inline constexpr std::size_t kFreshContextAbove = std::size_t{1} << 20;

struct DCtxDeleter {
  void operator()(ZSTD_DCtx *context) const noexcept { ZSTD_freeDCtx(context); }
};

} // namespace

class DeltaReader::Impl {
public:
  Impl(const Manifest &base, const Manifest &target, DeltaSink &sink, DecodeOptions options)
      : sink_(sink), options_(options), base_digest_(manifest_digest(base)), target_digest_(manifest_digest(target)) {
    // Both sides name files by their index in path order (byte order).
    const auto by_path = [](const ManifestFile *a, const ManifestFile *b) { return a->path < b->path; };
    for (const ManifestFile &file : base.files) {
      base_sorted_.push_back(&file);
      base_files_.emplace(file.path, &file);
    }
    for (const ManifestFile &file : target.files) {
      target_sorted_.push_back(&file);
    }
    std::sort(base_sorted_.begin(), base_sorted_.end(), by_path);
    std::sort(target_sorted_.begin(), target_sorted_.end(), by_path);
    produced_.assign(target_sorted_.size(), false);
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

  std::size_t codec_memory() const {
    return (context_ ? ZSTD_sizeof_DCtx(context_.get()) : 0) + prefix_.capacity() + patch_body_.capacity() +
           patch_control_.capacity() + patch_diff_.capacity() + patch_extra_.capacity();
  }

private:
  enum class Stage { Header, EntryHead, FrameBody, PatchBody, Done };

  Status consume(ByteView bytes) {
    std::size_t offset = 0;
    while (offset < bytes.size()) {
      const ByteView rest(bytes.data() + offset, bytes.size() - offset);
      if (stage_ == Stage::Done) {
        return invalid("bytes follow the last entry");
      }
      if (stage_ == Stage::PatchBody) {
        // A patch's body is gathered whole (its length was checked against the window).
        const std::size_t take =
            static_cast<std::size_t>(std::min<std::uint64_t>(rest.size(), frame_.body_length() - patch_body_.size()));
        patch_body_.insert(patch_body_.end(), rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(take));
        offset += take;
        if (patch_body_.size() == frame_.body_length()) {
          if (Status s = apply_patch(); !s) {
            return s;
          }
        }
        continue;
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
    if (!cursor.has(codec_length + 32 + 32 + 1)) {
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
    std::uint64_t count = 0;
    if (const Parsed p = cursor.varint(count); p != Parsed::Complete) {
      if (p == Parsed::Failed) {
        error = invalid("a malformed entry count");
      }
      return p;
    }
    if (count > target_sorted_.size()) {
      error = invalid(std::to_string(count) + " entries for a target of " + std::to_string(target_sorted_.size()) +
                      " files");
      return Parsed::Failed;
    }
    header.entry_count = static_cast<std::uint32_t>(count);
    return Parsed::Complete;
  }

  // ---- entries ----

  // After the last entry, the target files no entry produced are implied copies.
  Status next_entry() {
    if (entries_done_ == header_.entry_count) {
      if (Status s = copy_implied_until(target_sorted_.size()); !s) {
        return s;
      }
      stage_ = Stage::Done;
      return {};
    }
    stage_ = Stage::EntryHead;
    need_ = 1;
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
    // The target files before this entry's first output that no entry produced are not in
    // the delta: each must be an implied copy (the base has it at the same path and hash).
    if (Status s = copy_implied_until(head.outputs.front()); !s) {
      return s;
    }
    last_output_ = head.outputs.back();
    for (const std::size_t index : head.outputs) {
      produced_[index] = true;
    }
    if (head.copy) {
      if (Status s = copy_file(*head.base, *target_sorted_[head.outputs.front()]); !s) {
        return s;
      }
      ++entries_done_;
      return next_entry();
    }
    if (head.patch) {
      return start_patch(std::move(head));
    }
    return start_frame(std::move(head));
  }

  // A varint field; `what` names it in the error.
  static Parsed parse_varint(Cursor &cursor, std::uint64_t &value, const char *what, Error &error) {
    const Parsed p = cursor.varint(value);
    if (p == Parsed::Failed) {
      error = invalid(std::string("a malformed ") + what);
    }
    return p;
  }

  // A base file index; the device only ever provides files of the manifest it installed.
  Parsed parse_base(Cursor &cursor, const ManifestFile *&base, Error &error) const {
    std::uint64_t index = 0;
    if (const Parsed p = parse_varint(cursor, index, "base index", error); p != Parsed::Complete) {
      return p;
    }
    if (index >= base_sorted_.size()) {
      error =
          invalid("a reference to base file " + std::to_string(index) + " of " + std::to_string(base_sorted_.size()));
      return Parsed::Failed;
    }
    base = base_sorted_[static_cast<std::size_t>(index)];
    return Parsed::Complete;
  }

  // An output: how many target files to pass over after `after` (the previous output, or
  // none), which makes indices strictly increasing so that each file has one source.
  Parsed parse_output(Cursor &cursor, std::optional<std::size_t> after, EntryHead &head, Error &error) const {
    std::uint64_t skip = 0;
    if (const Parsed p = parse_varint(cursor, skip, "target index", error); p != Parsed::Complete) {
      return p;
    }
    const std::size_t first = after ? *after + 1 : 0;
    if (skip >= target_sorted_.size() - first) {
      error = invalid("an entry beyond the target's " + std::to_string(target_sorted_.size()) + " files");
      return Parsed::Failed;
    }
    const std::size_t index = first + static_cast<std::size_t>(skip);
    const ManifestFile &target = *target_sorted_[index];
    if (implied(target)) {
      error = invalid("entry " + target.path + " is an implied copy and must not be listed");
      return Parsed::Failed;
    }
    head.outputs.push_back(index);
    head.output_bytes += target.size;
    return Parsed::Complete;
  }

  bool implied(const ManifestFile &target) const {
    const auto found = base_files_.find(target.path);
    return found != base_files_.end() && found->second->sha256 == target.sha256;
  }

  // A count of references or outputs: 0 to `limit`. The varints it announces take at
  // least one byte each: asking for them at once keeps the gathering of a long head linear.
  static Parsed parse_count(Cursor &cursor, std::uint64_t &count, std::uint64_t limit, const char *what, Error &error) {
    if (const Parsed p = parse_varint(cursor, count, what, error); p != Parsed::Complete) {
      return p;
    }
    if (count > limit) {
      error = invalid(std::to_string(count) + " " + what + ", above " + std::to_string(limit));
      return Parsed::Failed;
    }
    if (!cursor.has(static_cast<std::size_t>(count))) {
      return Parsed::NeedMore;
    }
    return Parsed::Complete;
  }

  Parsed parse_entry(Cursor &cursor, EntryHead &head, Error &error) const {
    if (const Parsed p = parse_output(cursor, last_output_, head, error); p != Parsed::Complete) {
      return p;
    }
    const ManifestFile &first = *target_sorted_[head.outputs.front()];
    if (!cursor.has(1)) {
      return Parsed::NeedMore;
    }
    const std::uint64_t source = cursor.uint(1);
    if (source == wire::kSourceCopy) {
      head.copy = true;
      if (const Parsed p = parse_base(cursor, head.base, error); p != Parsed::Complete) {
        return p;
      }
      if (head.base->sha256 != first.sha256) {
        error = invalid("entry " + first.path + " copies a file with other content");
        return Parsed::Failed;
      }
      return Parsed::Complete;
    }
    if (source != wire::kSourceFrame && source != wire::kSourcePatch) {
      error = invalid("entry " + first.path + " has an unknown source " + std::to_string(source));
      return Parsed::Failed;
    }
    if (source == wire::kSourcePatch) {
      head.patch = true;
      return parse_patch_lengths(cursor, head, error);
    }
    std::uint64_t reference_count = 0;
    if (const Parsed p = parse_count(cursor, reference_count, wire::kMaxFrameFiles, "references", error);
        p != Parsed::Complete) {
      return p;
    }
    std::uint64_t reference_bytes = 0;
    for (std::uint64_t i = 0; i < reference_count; ++i) {
      const ManifestFile *reference = nullptr;
      if (const Parsed p = parse_base(cursor, reference, error); p != Parsed::Complete) {
        return p;
      }
      head.references.push_back(reference);
      reference_bytes += reference->size;
    }
    std::uint64_t output_count = 0;
    if (const Parsed p = parse_count(cursor, output_count, wire::kMaxFrameFiles, "outputs", error);
        p != Parsed::Complete) {
      return p;
    }
    if (output_count == 0) {
      error = invalid("entry " + first.path + " has a frame of no outputs");
      return Parsed::Failed;
    }
    for (std::uint64_t i = 1; i < output_count; ++i) {
      if (const Parsed p = parse_output(cursor, head.outputs.back(), head, error); p != Parsed::Complete) {
        return p;
      }
    }
    // Several references are copied into one buffer (zstd's prefix is contiguous): with the
    // window buffer, which holds at most the outputs, the heap stays within the window.
    if (head.references.size() > 1 && reference_bytes + head.output_bytes > (std::uint64_t{1} << header_.window_log)) {
      error = invalid("entry " + first.path + " needs " + std::to_string(reference_bytes + head.output_bytes) +
                      " bytes of references and output, beyond its 2^" + std::to_string(header_.window_log) +
                      " byte window");
      return Parsed::Failed;
    }
    if (const Parsed p = parse_varint(cursor, head.frame_length, "frame length", error); p != Parsed::Complete) {
      return p;
    }
    // No honest frame is shorter than a zstd magic number or longer than zstd's bound for
    // the declared output.
    const std::uint64_t bound = head.output_bytes > ZSTD_MAX_INPUT_SIZE
                                    ? std::uint64_t{UINT64_MAX}
                                    : ZSTD_compressBound(static_cast<std::size_t>(head.output_bytes));
    if (head.frame_length < sizeof wire::kZstdMagic || head.frame_length > bound) {
      error = invalid("entry " + first.path + " has a frame of " + std::to_string(head.frame_length) + " bytes for " +
                      std::to_string(head.output_bytes) + " bytes of output");
      return Parsed::Failed;
    }
    return Parsed::Complete;
  }

  // A patch's head: the decoded size and then the compressed length of each stream.
  // Everything it holds while it is applied, its compressed body and its decoded streams,
  // must fit the window.
  Parsed parse_patch_lengths(Cursor &cursor, EntryHead &head, Error &error) const {
    const std::string &path = target_sorted_[head.outputs.front()]->path;
    const std::uint64_t window = std::uint64_t{1} << header_.window_log;
    std::uint64_t held = 0;
    for (std::uint64_t &size : head.stream_sizes) {
      if (const Parsed p = parse_varint(cursor, size, "stream size", error); p != Parsed::Complete) {
        return p;
      }
      if (size > window - held) {
        error = invalid("entry " + path + " has patch streams beyond its 2^" + std::to_string(header_.window_log) +
                        " byte window");
        return Parsed::Failed;
      }
      held += size;
    }
    if (head.stream_sizes[0] == 0) {
      error = invalid("entry " + path + " is a patch without a control stream");
      return Parsed::Failed;
    }
    for (std::size_t i = 0; i < wire::kPatchStreams; ++i) {
      std::uint64_t &length = head.stream_lengths[i];
      if (const Parsed p = parse_varint(cursor, length, "stream length", error); p != Parsed::Complete) {
        return p;
      }
      // An empty stream has no frame; any other is one zstd frame within zstd's bound.
      const std::uint64_t size = head.stream_sizes[i];
      const bool fits =
          size == 0 ? length == 0
                    : length >= sizeof wire::kZstdMagic && length <= ZSTD_compressBound(static_cast<std::size_t>(size));
      if (!fits || length > window - held) {
        error = invalid("entry " + path + " has a stream of " + std::to_string(length) + " bytes for " +
                        std::to_string(size) + " bytes");
        return Parsed::Failed;
      }
      held += length;
    }
    return Parsed::Complete;
  }

  // The manifests were verified by the caller; their paths are checked again before any
  // reaches the sink, so a delta never makes the device touch a path outside the grammar.
  static Status check_path(const ManifestFile &file) { return validate_package_path(file.path); }

  // Fetches a base file from the device and checks it is what the base manifest says
  // before using it (a garbled or tampered installed file must not leak into the output).
  Result<ByteView> open_reference(const ManifestFile &base) {
    if (Status s = check_path(base); !s) {
      return std::move(s).error();
    }
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

  Status open_output(const ManifestFile &target) {
    if (Status s = check_path(target); !s) {
      return s;
    }
    return sink_.open_output(target);
  }

  // Produces the target files before index `end` that no entry produced; each must be an
  // implied copy, else the delta left a file out.
  Status copy_implied_until(std::size_t end) {
    for (; next_implied_ < end; ++next_implied_) {
      if (produced_[next_implied_]) {
        continue;
      }
      const ManifestFile &target = *target_sorted_[next_implied_];
      const auto found = base_files_.find(target.path);
      if (found == base_files_.end() || found->second->sha256 != target.sha256) {
        return invalid("the delta has no entry for " + target.path + ", which the base does not have");
      }
      if (Status s = copy_file(*found->second, target); !s) {
        return s;
      }
    }
    return {};
  }

  Status copy_file(const ManifestFile &base, const ManifestFile &target) {
    Result<ByteView> view = open_reference(base);
    if (!view) {
      return std::move(view).error();
    }
    if (Status s = open_output(target); !s) {
      return s;
    }
    for (std::size_t at = 0; at < view->size(); at += options_.chunk_size) {
      const std::size_t length = std::min(options_.chunk_size, view->size() - at);
      if (Status s = sink_.write_output(ByteView(view->data() + at, length)); !s) {
        return s;
      }
    }
    release_reference();
    return sink_.close_output();
  }

  // ---- frames ----

  Status start_frame(EntryHead head) {
    frame_ = std::move(head);
    frame_remaining_ = frame_.frame_length;
    frame_magic_seen_ = 0;
    frame_output_ = 0;
    output_at_ = 0;
    output_written_ = 0;
    output_open_ = false;
    // One reference is used where it lies (the device maps it); several are hashed one at
    // a time and copied into one buffer, since zstd's prefix is contiguous.
    ByteView reference;
    if (frame_.references.size() == 1) {
      Result<ByteView> view = open_reference(*frame_.references.front());
      if (!view) {
        return std::move(view).error();
      }
      reference = *view;
    } else if (frame_.references.size() > 1) {
      std::uint64_t total = 0;
      for (const ManifestFile *file : frame_.references) {
        total += file->size;
      }
      prefix_.reserve(static_cast<std::size_t>(total));
      for (const ManifestFile *file : frame_.references) {
        Result<ByteView> view = open_reference(*file);
        if (!view) {
          return std::move(view).error();
        }
        prefix_.insert(prefix_.end(), view->begin(), view->end());
        release_reference();
      }
      reference = ByteView(prefix_);
      // zstd keeps the window buffer of an earlier, larger frame: a fresh context makes the
      // heap this frame's references plus its own window buffer, within the window.
      if (ZSTD_sizeof_DCtx(context_.get()) > kFreshContextAbove) {
        context_.reset(ZSTD_createDCtx());
        if (!context_) {
          return make_error(ErrorCode::Internal, "zstd: cannot allocate a decompression context");
        }
      }
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
    if (chunk_.size() != options_.chunk_size) {
      chunk_.resize(options_.chunk_size);
    }
    stage_ = Stage::FrameBody;
    return open_next_outputs();
  }

  const ManifestFile &current_output() const { return *target_sorted_[frame_.outputs[output_at_]]; }

  // Opens the current output if none is open, and closes every output that is complete
  // (empty files included), except the last: its end is checked when the frame ends, so
  // that a byte beyond it is seen first.
  Status open_next_outputs() {
    for (;;) {
      if (!output_open_) {
        if (Status s = open_output(current_output()); !s) {
          return s;
        }
        output_open_ = true;
        output_written_ = 0;
        output_hash_ = crypto::Sha256();
      }
      if (output_written_ < current_output().size || output_at_ + 1 == frame_.outputs.size()) {
        return {};
      }
      if (Status s = close_current_output(); !s) {
        return s;
      }
      ++output_at_;
    }
  }

  Status close_current_output() {
    const ManifestFile &target = current_output();
    if (output_written_ != target.size) {
      return make_error(ErrorCode::FileSizeMismatch, target.path + " decompressed to " +
                                                         std::to_string(output_written_) +
                                                         " bytes; the manifest says " + std::to_string(target.size));
    }
    const Digest digest = output_hash_.finish();
    if (output_hash_.failed() || crypto::hex_encode(digest) != target.sha256) {
      return make_error(ErrorCode::FileHashMismatch,
                        target.path + " decompressed to other content than the manifest's");
    }
    output_open_ = false;
    return sink_.close_output();
  }

  // Feeds up to the rest of the current frame to zstd and writes what comes out, each
  // byte to the output it belongs to. Returns how many bytes of `bytes` belonged to the frame.
  Result<std::size_t> feed_frame(ByteView bytes) {
    const std::size_t length = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), frame_remaining_));
    // Only real zstd frames: a skippable frame would make an empty file out of anything.
    for (std::size_t i = 0; i < length && frame_magic_seen_ < sizeof wire::kZstdMagic; ++i, ++frame_magic_seen_) {
      if (bytes[i] != wire::kZstdMagic[frame_magic_seen_]) {
        return invalid("entry " + current_output().path + " does not hold a zstd frame");
      }
    }
    ZSTD_inBuffer input{bytes.data(), length, 0};
    bool frame_ended = false;
    for (;;) {
      // Never let zstd produce more than the current output's rest, or, for the last
      // output, one byte beyond it (which proves a bomb and is not written).
      const bool last = output_at_ + 1 == frame_.outputs.size();
      const std::uint64_t rest = current_output().size - output_written_;
      const std::uint64_t allowed = last ? rest + 1 : rest;
      ZSTD_outBuffer output{chunk_.data(), static_cast<std::size_t>(std::min<std::uint64_t>(chunk_.size(), allowed)),
                            0};
      const std::size_t result = ZSTD_decompressStream(context_.get(), &output, &input);
      if (ZSTD_isError(result)) {
        return zstd_error(result);
      }
      const std::size_t within = static_cast<std::size_t>(std::min<std::uint64_t>(output.pos, rest));
      if (within > 0) {
        const ByteView produced(chunk_.data(), within);
        output_hash_.update(produced);
        if (Status s = sink_.write_output(produced); !s) {
          return std::move(s).error();
        }
        output_written_ += within;
      }
      frame_output_ += output.pos;
      if (frame_output_ > frame_.output_bytes) {
        return make_error(ErrorCode::DecompressionBomb, "the frame of " + current_output().path +
                                                            " decompresses beyond its " +
                                                            std::to_string(frame_.output_bytes) + " bytes");
      }
      if (Status s = open_next_outputs(); !s) {
        return std::move(s).error();
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
      return invalid("the frame of " + current_output().path + " ends before its declared length");
    }
    if (!frame_ended && frame_remaining_ == 0) {
      return invalid("the frame of " + current_output().path + " is cut short");
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
    Bytes().swap(prefix_);
    // The frame ended: the current output must be the last one and complete.
    if (output_at_ + 1 != frame_.outputs.size()) {
      const ManifestFile &target = current_output();
      return make_error(ErrorCode::FileSizeMismatch, "the frame ends in " + target.path + " after " +
                                                         std::to_string(frame_output_) + " of its " +
                                                         std::to_string(frame_.output_bytes) + " bytes");
    }
    if (Status s = close_current_output(); !s) {
      return s;
    }
    ++entries_done_;
    return next_entry();
  }

  // ---- patches ----

  Status start_patch(EntryHead head) {
    frame_ = std::move(head);
    frame_output_ = 0;
    output_at_ = 0;
    output_written_ = 0;
    output_open_ = false;
    patch_body_.clear();
    patch_body_.reserve(static_cast<std::size_t>(frame_.body_length()));
    stage_ = Stage::PatchBody;
    return {};
  }

  // Decodes one stream of a patch: exactly one zstd frame of exactly `size` bytes. zstd
  // is given room for one byte more, so that a frame yielding more is seen and refused.
  Status decode_stream(ByteView frame, std::uint64_t size, Bytes &out) {
    out.clear();
    if (size == 0) {
      return {};
    }
    if (std::memcmp(frame.data(), wire::kZstdMagic, sizeof wire::kZstdMagic) != 0 ||
        ZSTD_findFrameCompressedSize(frame.data(), frame.size()) != frame.size()) {
      return invalid("a patch stream of entry " + current_output().path + " is not one zstd frame");
    }
    out.resize(static_cast<std::size_t>(size) + 1);
    const std::size_t result = ZSTD_decompressDCtx(context_.get(), out.data(), out.size(), frame.data(), frame.size());
    if (ZSTD_isError(result) && ZSTD_getErrorCode(result) == ZSTD_error_dstSize_tooSmall) {
      return make_error(ErrorCode::DecompressionBomb, "a patch stream of entry " + current_output().path +
                                                          " decompresses beyond its " + std::to_string(size) +
                                                          " bytes");
    }
    if (Status s = zstd_check(result); !s) {
      return s;
    }
    if (result != size) {
      return make_error(result > size ? ErrorCode::DecompressionBomb : ErrorCode::DeltaInvalid,
                        "a patch stream of entry " + current_output().path + " decompresses to " +
                            std::to_string(result) + " bytes instead of " + std::to_string(size));
    }
    out.resize(static_cast<std::size_t>(size));
    return {};
  }

  // The lists at the start of a patch's control stream: its references (the first base
  // index, then the gap to each next, so strictly increasing) and its further outputs.
  Status parse_patch_lists(Cursor &control) {
    const std::string path = current_output().path;
    const auto malformed = [&] { return invalid("entry " + path + " has a malformed patch control stream"); };
    std::uint64_t count = 0;
    if (control.varint(count) != Parsed::Complete) {
      return malformed();
    }
    if (count == 0 || count > wire::kMaxPatchFiles) {
      return invalid("entry " + path + " is a patch of " + std::to_string(count) + " references");
    }
    std::uint64_t next = 0; // the smallest base index the next reference may have
    for (std::uint64_t i = 0; i < count; ++i) {
      std::uint64_t gap = 0;
      if (control.varint(gap) != Parsed::Complete) {
        return malformed();
      }
      if (gap >= base_sorted_.size() - std::min<std::uint64_t>(next, base_sorted_.size())) {
        return invalid("entry " + path + " refers to a base file beyond the base's " +
                       std::to_string(base_sorted_.size()));
      }
      frame_.references.push_back(base_sorted_[static_cast<std::size_t>(next + gap)]);
      next += gap + 1;
    }
    if (control.varint(count) != Parsed::Complete) {
      return malformed();
    }
    if (count == 0 || count > wire::kMaxPatchFiles) {
      return invalid("entry " + path + " is a patch of " + std::to_string(count) + " outputs");
    }
    for (std::uint64_t i = 1; i < count; ++i) {
      Error error;
      const Parsed parsed = parse_output(control, frame_.outputs.back(), frame_, error);
      if (parsed == Parsed::NeedMore) {
        return malformed();
      }
      if (parsed == Parsed::Failed) {
        return error;
      }
    }
    last_output_ = frame_.outputs.back();
    for (const std::size_t index : frame_.outputs) {
      produced_[index] = true;
    }
    return {};
  }

  // The diff stream's sections: its run count, gaps, run lengths and bytes. Each must
  // parse and the bytes must be exactly the runs' total.
  Status parse_patch_diff() {
    const std::string &path = current_output().path;
    diff_runs_left_ = 0;
    diff_run_left_ = 0;
    if (patch_diff_.empty()) {
      return {};
    }
    Cursor scan(patch_diff_);
    std::uint64_t count = 0;
    if (scan.varint(count) != Parsed::Complete || count == 0 || count > patch_diff_.size()) {
      return invalid("entry " + path + " has a malformed diff stream");
    }
    const std::size_t gaps_at = scan.position();
    std::uint64_t value = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
      if (scan.varint(value) != Parsed::Complete) {
        return invalid("entry " + path + " has a malformed diff stream");
      }
    }
    const std::size_t lengths_at = scan.position();
    std::uint64_t total = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
      if (scan.varint(value) != Parsed::Complete || value == 0 || value > patch_diff_.size() - total) {
        return invalid("entry " + path + " has a malformed diff stream");
      }
      total += value;
    }
    if (patch_diff_.size() - scan.position() != total) {
      return invalid("entry " + path + " has a diff stream of other length than its runs");
    }
    diff_gaps_ = Cursor(ByteView(patch_diff_.data() + gaps_at, lengths_at - gaps_at));
    diff_lengths_ = Cursor(ByteView(patch_diff_.data() + lengths_at, scan.position() - lengths_at));
    diff_bytes_at_ = scan.position();
    diff_runs_left_ = count;
    return next_diff_run();
  }

  // Moves to the next run of the diff stream: where it starts among the copied bytes.
  Status next_diff_run() {
    if (diff_runs_left_ == 0) {
      return {};
    }
    --diff_runs_left_;
    std::uint64_t gap = 0;
    (void)diff_gaps_.varint(gap); // both parsed in parse_patch_diff
    (void)diff_lengths_.varint(diff_run_left_);
    if (gap > UINT64_MAX - diff_run_start_) {
      return invalid("entry " + current_output().path + " has a diff run beyond its copied bytes");
    }
    diff_run_start_ += gap;
    return {};
  }

  // Adds the diff runs to `length` copied bytes in chunk_, the ones at copied byte
  // `copied` onwards.
  Status add_diff(std::uint64_t copied, std::size_t length) {
    const std::uint64_t end = copied + length;
    while (diff_run_left_ > 0 && diff_run_start_ < end) {
      // A run starts at or after `copied`: runs before it were added by earlier chunks.
      const auto from = static_cast<std::size_t>(std::max(diff_run_start_, copied) - copied);
      const auto count = static_cast<std::size_t>(std::min<std::uint64_t>(diff_run_left_, end - copied - from));
      for (std::size_t i = 0; i < count; ++i) {
        chunk_[from + i] = static_cast<std::uint8_t>(chunk_[from + i] + patch_diff_[diff_bytes_at_ + i]);
      }
      diff_bytes_at_ += count;
      diff_run_left_ -= count;
      diff_run_start_ = copied + from + count;
      if (diff_run_left_ == 0) {
        if (Status s = next_diff_run(); !s) {
          return s;
        }
      }
    }
    return {};
  }

  // Runs a patch whose body is all there: its three streams are decoded whole (their sizes
  // fit the window), then its instructions copy reference bytes (plus the diff runs) and
  // extra bytes into the outputs in index order. One reference is held at a time; each is
  // hashed the first time it is opened (every output is verified by its own hash anyway).
  Status apply_patch() {
    std::size_t at = 0;
    Bytes *const streams[wire::kPatchStreams] = {&patch_control_, &patch_diff_, &patch_extra_};
    for (std::size_t i = 0; i < wire::kPatchStreams; ++i) {
      const auto length = static_cast<std::size_t>(frame_.stream_lengths[i]);
      if (Status s = decode_stream(ByteView(patch_body_.data() + at, length), frame_.stream_sizes[i], *streams[i]);
          !s) {
        return s;
      }
      at += length;
    }
    Bytes().swap(patch_body_);
    Cursor control(patch_control_);
    if (Status s = parse_patch_lists(control); !s) {
      return s;
    }
    diff_run_start_ = 0;
    if (Status s = parse_patch_diff(); !s) {
      return s;
    }
    patch_starts_.clear();
    patch_verified_.assign(frame_.references.size(), false);
    std::uint64_t total = 0; // the references' bytes, concatenated in the listed order
    for (const ManifestFile *file : frame_.references) {
      patch_starts_.push_back(total);
      total += file->size;
    }
    if (chunk_.size() != options_.chunk_size) {
      chunk_.resize(options_.chunk_size);
    }
    if (Status s = open_next_outputs(); !s) {
      return s;
    }
    std::uint64_t position = 0; // in the concatenation of the references
    std::uint64_t copied = 0;   // bytes copied so far: the diff runs' coordinates
    std::size_t extra_at = 0;
    while (control.position() < patch_control_.size()) {
      std::uint64_t copy = 0;
      std::uint64_t extra = 0;
      std::uint64_t seek = 0;
      if (control.varint(copy) != Parsed::Complete || control.varint(extra) != Parsed::Complete ||
          control.varint(seek) != Parsed::Complete) {
        return invalid("entry " + current_output().path + " has a malformed patch instruction");
      }
      if (copy > total - position || copy > frame_.output_bytes - frame_output_) {
        return invalid("entry " + current_output().path + " copies beyond its references or outputs");
      }
      while (copy > 0) {
        Result<ByteView> view = patch_reference_at(position);
        if (!view) {
          return std::move(view).error();
        }
        const auto within = static_cast<std::size_t>(position - patch_starts_[patch_current_]);
        const auto length =
            static_cast<std::size_t>(std::min<std::uint64_t>({copy, chunk_.size(), view->size() - within}));
        std::memcpy(chunk_.data(), view->data() + within, length);
        if (Status s = add_diff(copied, length); !s) {
          return s;
        }
        if (Status s = emit(ByteView(chunk_.data(), length)); !s) {
          return s;
        }
        copy -= length;
        position += length;
        copied += length;
      }
      if (extra > patch_extra_.size() - extra_at) {
        return invalid("entry " + current_output().path + " uses more extra bytes than it has");
      }
      for (std::size_t left = static_cast<std::size_t>(extra); left > 0;) {
        const std::size_t length = std::min(left, chunk_.size());
        if (Status s = emit(ByteView(patch_extra_.data() + extra_at, length)); !s) {
          return s;
        }
        extra_at += length;
        left -= length;
      }
      const std::int64_t step = patch::unzigzag(seek);
      if ((step < 0 && static_cast<std::uint64_t>(-(step + 1)) >= position) ||
          (step > 0 && static_cast<std::uint64_t>(step) > total - position)) {
        return invalid("entry " + current_output().path + " seeks outside its references");
      }
      position = static_cast<std::uint64_t>(static_cast<std::int64_t>(position) + step);
    }
    if (diff_run_left_ > 0 || extra_at != patch_extra_.size()) {
      return invalid("entry " + current_output().path + " leaves diff or extra bytes unused");
    }
    if (frame_output_ != frame_.output_bytes) {
      return make_error(ErrorCode::FileSizeMismatch, "the patch of entry " + current_output().path + " ends after " +
                                                         std::to_string(frame_output_) + " of its " +
                                                         std::to_string(frame_.output_bytes) + " bytes");
    }
    release_reference();
    Bytes().swap(patch_control_);
    Bytes().swap(patch_diff_);
    Bytes().swap(patch_extra_);
    if (Status s = close_current_output(); !s) {
      return s;
    }
    ++entries_done_;
    return next_entry();
  }

  // The reference holding `position` (below the references' total), opened from the sink
  // if it is not the one held; the one held before is released.
  Result<ByteView> patch_reference_at(std::uint64_t position) {
    const auto index = static_cast<std::size_t>(std::upper_bound(patch_starts_.begin(), patch_starts_.end(), position) -
                                                patch_starts_.begin() - 1);
    if (reference_ != nullptr && index == patch_current_) {
      return patch_view_;
    }
    release_reference();
    const ManifestFile &file = *frame_.references[index];
    if (Status s = check_path(file); !s) {
      return std::move(s).error();
    }
    Result<ByteView> view = sink_.open_reference(file);
    if (!view) {
      return view;
    }
    reference_ = &file;
    patch_current_ = index;
    patch_view_ = *view;
    if (view->size() != file.size ||
        (!patch_verified_[index] && crypto::hex_encode(crypto::sha256(*view)) != file.sha256)) {
      return invalid("the installed " + file.path + " differs from the base manifest");
    }
    patch_verified_[index] = true;
    return view;
  }

  // Writes bytes a patch produced to the outputs they belong to, in order.
  Status emit(ByteView bytes) {
    while (!bytes.empty()) {
      const std::uint64_t rest = current_output().size - output_written_;
      const auto length = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), rest));
      if (length == 0) {
        return make_error(ErrorCode::DecompressionBomb,
                          "the patch of entry " + current_output().path + " produces more than its outputs");
      }
      const ByteView produced(bytes.data(), length);
      output_hash_.update(produced);
      if (Status s = sink_.write_output(produced); !s) {
        return s;
      }
      output_written_ += length;
      frame_output_ += length;
      bytes = ByteView(bytes.data() + length, bytes.size() - length);
      if (Status s = open_next_outputs(); !s) {
        return s;
      }
    }
    return {};
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
  std::vector<const ManifestFile *> base_sorted_;   // in path order: what indices name
  std::vector<const ManifestFile *> target_sorted_; // in path order
  std::map<std::string_view, const ManifestFile *> base_files_;

  Stage stage_ = Stage::Header;
  Bytes pending_;        // bytes of the header or entry head being gathered
  std::size_t need_ = 0; // how many pending_ bytes the next parse attempt needs
  Header header_;
  std::uint32_t entries_done_ = 0;
  std::optional<std::size_t> last_output_; // the last target index an entry produced
  std::vector<bool> produced_;             // per target index: produced by an entry
  std::size_t next_implied_ = 0;           // the first target index not yet checked for an implied copy
  std::optional<Error> failed_;

  std::unique_ptr<ZSTD_DCtx, DCtxDeleter> context_;
  const ManifestFile *reference_ = nullptr; // held from the sink until released
  Bytes prefix_;                            // several references of one frame, concatenated; empty otherwise
  // A patch's compressed body and decoded streams, its references' offsets in their
  // concatenation, which of them were hashed, and the one held (in reference_).
  Bytes patch_body_;
  Bytes patch_control_;
  Bytes patch_diff_;
  Bytes patch_extra_;
  std::vector<std::uint64_t> patch_starts_;
  std::vector<bool> patch_verified_;
  std::size_t patch_current_ = 0;
  ByteView patch_view_;
  // Its diff runs: cursors over their gaps and lengths, the next byte, the current run's
  // start (in copied bytes) and what is left of it, and the runs not yet started.
  Cursor diff_gaps_{ByteView()};
  Cursor diff_lengths_{ByteView()};
  std::size_t diff_bytes_at_ = 0;
  std::uint64_t diff_run_start_ = 0;
  std::uint64_t diff_run_left_ = 0;
  std::uint64_t diff_runs_left_ = 0;
  EntryHead frame_;
  std::uint64_t frame_remaining_ = 0;
  std::size_t frame_magic_seen_ = 0;
  std::uint64_t frame_output_ = 0; // all the frame's outputs so far
  std::size_t output_at_ = 0;      // the current output: frame_.outputs[output_at_]
  bool output_open_ = false;
  std::uint64_t output_written_ = 0;
  crypto::Sha256 output_hash_;
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
