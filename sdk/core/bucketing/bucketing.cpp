#include "core/bucketing/bucketing.hpp"

#include <cstddef>

namespace mds::core {
namespace {

constexpr std::uint32_t kC1 = 0xcc9e2d51;
constexpr std::uint32_t kC2 = 0x1b873593;

constexpr std::uint32_t rotate_left(std::uint32_t value, unsigned bits) noexcept {
  return (value << bits) | (value >> (32 - bits));
}

constexpr std::uint32_t scramble(std::uint32_t block) noexcept {
  return rotate_left(block * kC1, 15) * kC2;
}

// MurmurHash3 x86_32 fed in pieces, so that "salt:id" is hashed without being assembled in
// memory (no allocation, so nothing here can fail).
class Murmur3x86_32 {
public:
  explicit Murmur3x86_32(std::uint32_t seed) noexcept : hash_(seed) {}

  void update(std::string_view data) noexcept {
    for (char c : data) {
      pending_ |= static_cast<std::uint32_t>(static_cast<unsigned char>(c)) << (8 * pending_bytes_);
      ++length_;
      if (++pending_bytes_ == 4) {
        hash_ = rotate_left(hash_ ^ scramble(pending_), 13) * 5 + 0xe6546b64;
        pending_ = 0;
        pending_bytes_ = 0;
      }
    }
  }

  std::uint32_t finish() const noexcept {
    std::uint32_t hash = hash_;
    if (pending_bytes_ > 0) {
      hash ^= scramble(pending_);
    }
    hash ^= length_; // the algorithm mixes in the length modulo 2^32
    hash ^= hash >> 16;
    hash *= 0x85ebca6b;
    hash ^= hash >> 13;
    hash *= 0xc2b2ae35;
    hash ^= hash >> 16;
    return hash;
  }

private:
  std::uint32_t hash_;
  std::uint32_t pending_ = 0; // up to three bytes of an incomplete block, little-endian
  unsigned pending_bytes_ = 0;
  std::uint32_t length_ = 0;
};

} // namespace

std::uint32_t murmur3_x86_32(std::string_view data, std::uint32_t seed) noexcept {
  Murmur3x86_32 hasher(seed);
  hasher.update(data);
  return hasher.finish();
}

std::uint32_t bucket(std::string_view salt, std::string_view id, std::uint32_t modulus, std::uint32_t seed) noexcept {
  if (modulus == 0) {
    return 0;
  }
  Murmur3x86_32 hasher(seed);
  hasher.update(salt);
  hasher.update(":");
  hasher.update(id);
  return hasher.finish() % modulus + 1;
}

} // namespace mds::core
