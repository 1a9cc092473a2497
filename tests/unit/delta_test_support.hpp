// Shared by the delta unit tests: trees of files, manifests, an in-memory sink, round
// trips and hand-written deltas (docs/delta.md).
#ifndef MDS_TESTS_UNIT_DELTA_TEST_SUPPORT_HPP
#define MDS_TESTS_UNIT_DELTA_TEST_SUPPORT_HPP

#include "core/crypto/encoding.hpp"
#include "core/crypto/sha256.hpp"
#include "core/delta/delta.hpp"

#include <catch2/catch.hpp>

#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace mds::delta_test {

using mds::ErrorCode;
using mds::Result;
using mds::Status;
using mds::core::Manifest;
using mds::core::ManifestFile;
using mds::core::crypto::Bytes;
using mds::core::crypto::ByteView;
using namespace mds::core::delta;

using Tree = std::map<std::string, Bytes>;

inline std::string hex_sha256(ByteView bytes) {
  return mds::core::crypto::hex_encode(mds::core::crypto::sha256(bytes));
}

inline Manifest manifest_of(const Tree &tree, const std::string &version = "1.0.0") {
  Manifest manifest;
  manifest.app = "com.example.shop";
  manifest.package_id = "checkout";
  manifest.version = version;
  manifest.created = "2024-05-01T12:00:00Z";
  for (const auto &[path, bytes] : tree) {
    manifest.files.push_back({path, bytes.size(), hex_sha256(bytes)});
  }
  return manifest;
}

inline FileBytesFn bytes_from(const Tree &tree) {
  return [&tree](const ManifestFile &file) -> Result<ByteView> {
    const auto found = tree.find(file.path);
    if (found == tree.end()) {
      return mds::make_error(ErrorCode::NotFound, file.path);
    }
    return ByteView(found->second);
  };
}

// The device's side in memory: references come from `base` (which a test may garble),
// outputs land in `written`. Records what a device would care about.
class MemorySink : public DeltaSink {
public:
  explicit MemorySink(const Tree &base) : base_(base) {}

  Result<ByteView> open_reference(const ManifestFile &file) override {
    ++references_open;
    const auto found = base_.find(file.path);
    if (found == base_.end()) {
      return mds::make_error(ErrorCode::NotFound, file.path);
    }
    return ByteView(found->second);
  }
  void release_reference(const ManifestFile &) noexcept override { --references_open; }
  Status open_output(const ManifestFile &file) override {
    REQUIRE(!current_);
    current_ = file;
    written[file.path].clear();
    return {};
  }
  Status write_output(ByteView chunk) override {
    REQUIRE(current_);
    Bytes &out = written[current_->path];
    out.insert(out.end(), chunk.begin(), chunk.end());
    // The decoder must never hand over more than the manifest declares.
    CHECK(out.size() <= current_->size);
    return {};
  }
  Status close_output() override {
    REQUIRE(current_);
    closed.push_back(current_->path);
    current_.reset();
    return {};
  }

  Tree written;
  std::vector<std::string> closed;
  int references_open = 0;

private:
  const Tree &base_;
  std::optional<ManifestFile> current_;
};

inline Bytes text_bytes(const std::string &text) {
  return Bytes(text.begin(), text.end());
}

inline Bytes random_bytes(std::size_t size, std::uint32_t seed) {
  std::mt19937 generator(seed);
  Bytes out(size);
  for (auto &byte : out) {
    byte = static_cast<std::uint8_t>(generator());
  }
  return out;
}

// Text that compresses like source code: words from a vocabulary, in random order.
inline std::string source_like(std::size_t size, std::uint32_t seed) {
  static const char *const kWords[] = {"function", "return",  "const", "let",   "if",     "else",  "this",
                                       "props",    "state",   "=>",    "{",     "}",      "(",     ")",
                                       ";",        "render",  "div",   "class", "export", "await", "async",
                                       "value",    "onClick", "items", "map",   "null",   "true",  "\n"};
  std::mt19937 generator(seed);
  std::string out;
  while (out.size() < size) {
    out += kWords[generator() % std::size(kWords)];
    out += ' ';
    if (generator() % 7 == 0) {
      out += "id" + std::to_string(generator() % 100000);
    }
  }
  out.resize(size);
  return out;
}

// Encodes base -> target, applies it (fed in pieces of `piece` bytes) and checks the
// result is exactly the target tree.
inline std::size_t round_trip(const Tree &base, const Tree &target, EncodeOptions options = {},
                              std::size_t piece = 4096, std::size_t *codec_memory = nullptr) {
  const Manifest base_manifest = base.empty() ? Manifest{} : manifest_of(base, "1.0.0");
  const Manifest target_manifest = manifest_of(target, "1.1.0");
  Result<Bytes> delta = encode_delta(base_manifest, bytes_from(base), target_manifest, bytes_from(target), options);
  REQUIRE(delta.ok());
  MemorySink sink(base);
  DeltaReader reader(base_manifest, target_manifest, sink);
  for (std::size_t at = 0; at < delta->size(); at += piece) {
    REQUIRE(reader.feed(ByteView(delta->data() + at, std::min(piece, delta->size() - at))).ok());
  }
  const Status finished = reader.finish();
  INFO((finished.ok() ? std::string() : finished.error().message));
  REQUIRE(finished.ok());
  CHECK(sink.written == target);
  CHECK(sink.closed.size() == target.size());
  CHECK(sink.references_open == 0);
  if (codec_memory != nullptr) {
    *codec_memory = reader.codec_memory();
  }
  return delta->size();
}

inline Tree small_tree() {
  return {{"index.html", text_bytes("<html><script src=\"main.js\"></script></html>\n")},
          {"main.js", text_bytes(source_like(6000, 1))},
          {"style.css", text_bytes("body { margin: 0; }\n")}};
}

// Applies `delta` in one piece; the first error, or finish's.
inline Status apply(const Manifest &base, const Manifest &target, const Tree &base_tree, ByteView delta,
                    DecodeOptions options = {}) {
  MemorySink sink(base_tree);
  DeltaReader reader(base, target, sink, options);
  Status status = reader.feed(delta);
  if (status) {
    status = reader.finish();
  }
  CHECK(sink.references_open == 0);
  return status;
}

// A hand-written delta, to say things the encoder never would. Layout per docs/delta.md:
// every index is given as written (an output as the number of target files passed over).
class Crafted {
public:
  Crafted(const Manifest &base, const Manifest &target, std::uint64_t count, unsigned window_log = 20,
          std::string codec = "zstd-prefix-v1") {
    put("MDSDELTA");
    uint(2, 2);
    uint(codec.size(), 1);
    put(codec);
    digest(manifest_digest(base));
    digest(manifest_digest(target));
    uint(window_log, 1);
    varint(count);
  }
  Crafted &copy(std::uint64_t skip, std::uint64_t base_index) {
    varint(skip);
    uint(1, 1);
    varint(base_index);
    return *this;
  }
  // A frame: its first output, its references (base indices), its further outputs.
  Crafted &frame(std::uint64_t skip, const Bytes &frame, const std::vector<std::uint64_t> &references = {},
                 const std::vector<std::uint64_t> &more_outputs = {}) {
    varint(skip);
    uint(2, 1);
    varint(references.size());
    for (const std::uint64_t index : references) {
      varint(index);
    }
    varint(1 + more_outputs.size());
    for (const std::uint64_t output : more_outputs) {
      varint(output);
    }
    varint(frame.size());
    bytes.insert(bytes.end(), frame.begin(), frame.end());
    return *this;
  }
  // A patch: its first output, the decoded size and the bytes of each stream (control,
  // diff, extra) as written; an empty stream is written with no frame.
  Crafted &patch(std::uint64_t skip, const std::vector<std::uint64_t> &sizes, const std::vector<Bytes> &frames) {
    varint(skip);
    uint(3, 1);
    for (const std::uint64_t size : sizes) {
      varint(size);
    }
    for (const Bytes &frame : frames) {
      varint(frame.size());
    }
    for (const Bytes &frame : frames) {
      bytes.insert(bytes.end(), frame.begin(), frame.end());
    }
    return *this;
  }
  Crafted &raw(const Bytes &more) {
    bytes.insert(bytes.end(), more.begin(), more.end());
    return *this;
  }
  Bytes bytes;

private:
  void put(const std::string &s) { bytes.insert(bytes.end(), s.begin(), s.end()); }
  void uint(std::uint64_t value, std::size_t width) {
    for (std::size_t i = 0; i < width; ++i) {
      bytes.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
    }
  }
  void varint(std::uint64_t value) {
    while (value >= 0x80) {
      bytes.push_back(static_cast<std::uint8_t>(value | 0x80));
      value >>= 7;
    }
    bytes.push_back(static_cast<std::uint8_t>(value));
  }
  void digest(const mds::core::crypto::Digest &d) { bytes.insert(bytes.end(), d.begin(), d.end()); }
};

// Where the first zstd frame of a delta starts.
inline std::size_t first_frame_at(const Bytes &delta) {
  const std::uint8_t magic[] = {0x28, 0xB5, 0x2F, 0xFD};
  const auto found = std::search(delta.begin() + 91, delta.end(), std::begin(magic), std::end(magic));
  REQUIRE(found != delta.end());
  return static_cast<std::size_t>(found - delta.begin());
}

inline Bytes zstd_frame(const Bytes &content) {
  Bytes out(ZSTD_compressBound(content.size()));
  const std::size_t size = ZSTD_compress(out.data(), out.size(), content.data(), content.size(), 3);
  REQUIRE(!ZSTD_isError(size));
  out.resize(size);
  return out;
}

} // namespace mds::delta_test

#endif
