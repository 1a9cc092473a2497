// The encoder's side of patch entries (docs/delta.md, "Patch entries"): instructions that
// rebuild a target byte string from a reference byte string with approximate matches.
// Internal to core/delta.
//
// An approximate match copies a run of the reference and adds a difference byte to each
// byte (mod 256). Inside otherwise equal lines, a changed version string or a shifted
// number is then a few non-zero difference bytes among zeros rather than the end of an
// exact match, and zstd compresses a stream of mostly zeros to almost nothing.
#ifndef MDS_CORE_DELTA_PATCH_HPP
#define MDS_CORE_DELTA_PATCH_HPP

#include "core/delta/delta.hpp"

#include <cstdint>

namespace mds::core::delta::patch {

// The three streams of a patch entry, before compression. `control` is a sequence of
// instructions, each three varints: a copy length, an extra length and a zigzag-coded
// seek; `diff` the non-zero runs of the bytes added to the copied bytes, as a count, that
// many gaps (zero bytes before each run), that many run lengths, then the runs' bytes
// (empty when every copied byte is unchanged); `extra` the bytes that are new.
struct Streams {
  Bytes control;
  Bytes diff;
  Bytes extra;
};

// Zigzag coding of a signed seek: 0, -1, 1, -2, ... as 0, 1, 2, 3, ...
inline std::uint64_t zigzag(std::int64_t value) {
  return (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
}
inline std::int64_t unzigzag(std::uint64_t value) {
  return static_cast<std::int64_t>(value >> 1) ^ -static_cast<std::int64_t>(value & 1);
}

// Instructions that turn `reference` into `target`. Deterministic. The reference is at most
// 2^32 - 1 bytes (the encoder's groups are far below that).
Streams make_patch(ByteView reference, ByteView target);

} // namespace mds::core::delta::patch

#endif
