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
  // Resumes from a state another hasher left (SaltedBucketing).
  Murmur3x86_32(std::uint32_t hash, std::uint32_t pending, std::uint32_t pending_bytes, std::uint32_t length) noexcept
      : hash_(hash), pending_(pending), pending_bytes_(pending_bytes), length_(length) {}

  template <typename Visit> void save(Visit &&visit) const noexcept { visit(hash_, pending_, pending_bytes_, length_); }

  void update(std::string_view data) noexcept {
    std::size_t at = 0;
    while (pending_bytes_ != 0 && at < data.size()) {
      add_byte(data[at++]);
    }
    // Whole blocks straight from the input: a check buckets one device for every
    // percentage release, so this loop is on the server's hot path.
    for (; at + 4 <= data.size(); at += 4) {
      const std::uint32_t block =
          byte(data[at]) | byte(data[at + 1]) << 8 | byte(data[at + 2]) << 16 | byte(data[at + 3]) << 24;
      mix(block);
      length_ += 4;
    }
    while (at < data.size()) {
      add_byte(data[at++]);
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
  static constexpr std::uint32_t byte(char c) noexcept {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(c));
  }

  void mix(std::uint32_t block) noexcept { hash_ = rotate_left(hash_ ^ scramble(block), 13) * 5 + 0xe6546b64; }

  void add_byte(char c) noexcept {
    pending_ |= byte(c) << (8 * pending_bytes_);
    ++length_;
    if (++pending_bytes_ == 4) {
      mix(pending_);
      pending_ = 0;
      pending_bytes_ = 0;
    }
  }

  std::uint32_t hash_;
  std::uint32_t pending_ = 0; // up to three bytes of an incomplete block, little-endian
  std::uint32_t pending_bytes_ = 0;
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

SaltedBucketing::SaltedBucketing(std::string_view salt, std::uint32_t seed) noexcept {
  Murmur3x86_32 hasher(seed);
  hasher.update(salt);
  hasher.update(":");
  hasher.save([this](std::uint32_t hash, std::uint32_t pending, std::uint32_t pending_bytes, std::uint32_t length) {
    hash_ = hash;
    pending_ = pending;
    pending_bytes_ = pending_bytes;
    length_ = length;
  });
}

std::uint32_t SaltedBucketing::bucket(std::string_view id, std::uint32_t modulus) const noexcept {
  if (modulus == 0) {
    return 0;
  }
  Murmur3x86_32 hasher(hash_, pending_, pending_bytes_, length_);
  hasher.update(id);
  return hasher.finish() % modulus + 1;
}

} // namespace mds::core
