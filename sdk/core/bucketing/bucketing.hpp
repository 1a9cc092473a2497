// Stable percentage buckets for gradual rollouts, computed exactly as Unleash SDKs compute
// them, so that a device lands in the same bucket here as in any Unleash client given the
// same group id and stickiness value.
//
// A device's bucket for a release never changes, so raising a release's percentage from p to
// q keeps every device with bucket <= p and adds those in (p, q]: nobody already in drops out.
//
// Thread-safety: pure functions.
#ifndef MDS_CORE_BUCKETING_BUCKETING_HPP
#define MDS_CORE_BUCKETING_BUCKETING_HPP

#include <cstdint>
#include <string_view>

namespace mds::core {

// Unleash's seed for strategy (percentage) buckets.
inline constexpr std::uint32_t kUnleashStrategySeed = 0;
// Unleash's seed for choosing a variant, so that the variant a device gets does not follow
// from its rollout bucket.
inline constexpr std::uint32_t kUnleashVariantSeed = 86028157;

// MurmurHash3, the x86 32-bit variant, of the bytes of `data`.
std::uint32_t murmur3_x86_32(std::string_view data, std::uint32_t seed) noexcept;

// Unleash's normalised value: murmur3_x86_32 of the bytes "salt:id" (UTF-8 when the strings
// are), modulo `modulus`, plus one; so 1..modulus. A device with bucket(salt, id, 100) <= p is
// in a p% rollout. `modulus` 0 gives 0, which no bucket equals.
std::uint32_t bucket(std::string_view salt, std::string_view id, std::uint32_t modulus,
                     std::uint32_t seed = kUnleashStrategySeed) noexcept;

// bucket() for one salt and many ids, as a server deciding a release for every device
// asks it: "salt:" is hashed once, when constructed, and each id then costs only its own
// bytes. SaltedBucketing(salt, seed).bucket(id, modulus) == bucket(salt, id, modulus, seed).
class SaltedBucketing {
public:
  explicit SaltedBucketing(std::string_view salt, std::uint32_t seed = kUnleashStrategySeed) noexcept;
  std::uint32_t bucket(std::string_view id, std::uint32_t modulus) const noexcept;

private:
  // MurmurHash3's state after "salt:".
  std::uint32_t hash_ = 0;
  std::uint32_t pending_ = 0;
  std::uint32_t pending_bytes_ = 0;
  std::uint32_t length_ = 0;
};

} // namespace mds::core

#endif
