// The byte layout of a delta (docs/delta.md), shared by the encoder and the decoder.
// Internal to core/delta.
#ifndef MDS_CORE_DELTA_WIRE_HPP
#define MDS_CORE_DELTA_WIRE_HPP

#include "core/delta/delta.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mds::core::delta::wire {

inline constexpr std::string_view kMagic = "MDSDELTA";
inline constexpr std::size_t kMaxCodecNameBytes = 32;

// Entry source tags. 0 is never valid, so a zeroed region does not parse as an entry.
inline constexpr std::uint8_t kSourceCopy = 1;
inline constexpr std::uint8_t kSourceFrame = 2;
inline constexpr std::uint8_t kSourcePatch = 3;
// At most this many references and this many outputs in one frame, so that an entry
// head stays small (a few KiB) while the reader gathers it.
inline constexpr std::uint64_t kMaxFrameFiles = 256;
// A patch holds one reference at a time and lists its files in its control stream, so it
// may name more.
inline constexpr std::uint64_t kMaxPatchFiles = 4096;
// A patch entry's compressed streams, in this order.
inline constexpr std::size_t kPatchStreams = 3;
// A varint of a u64 takes at most 10 bytes (7 bits each).
inline constexpr std::size_t kMaxVarintBytes = 10;

// Every zstd frame starts with this (little-endian); skippable frames and other formats
// are refused.
inline constexpr std::uint8_t kZstdMagic[4] = {0x28, 0xB5, 0x2F, 0xFD};

// Little-endian writers over a growing buffer.
inline void put_u8(Bytes &out, std::uint8_t value) {
  out.push_back(value);
}
inline void put_uint(Bytes &out, std::uint64_t value, std::size_t width) {
  for (std::size_t i = 0; i < width; ++i) {
    out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
  }
}
inline void put_bytes(Bytes &out, ByteView bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}
// LEB128: 7 bits per byte, least significant first, high bit set on all but the last
// byte. Always the shortest form (the decoder refuses any other).
inline void put_varint(Bytes &out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(value));
}
inline std::size_t varint_size(std::uint64_t value) {
  std::size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

} // namespace mds::core::delta::wire

#endif
