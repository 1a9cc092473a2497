// SHA-256, streaming and one-shot (mbedTLS underneath).
#ifndef MDS_CORE_CRYPTO_SHA256_HPP
#define MDS_CORE_CRYPTO_SHA256_HPP

#include "core/crypto/bytes.hpp"

#include <mbedtls/sha256.h>

#include <array>
#include <cstdint>

namespace mds::core::crypto {

using Digest = std::array<std::uint8_t, 32>;

// Hashes input fed in any number of pieces; the digest does not depend on how it was split.
// A copy continues independently from the same state (hash a common prefix once). One
// thread at a time per object.
//
// mbedTLS's software SHA-256 cannot fail. A platform (hardware-accelerated) implementation
// may report an error; then failed() turns true, stays true, and finish() returns the
// all-zero digest, which matches no real content. Callers that sign or verify check failed().
class Sha256 {
public:
  Sha256() noexcept;
  ~Sha256();
  Sha256(const Sha256 &other) noexcept;
  Sha256 &operator=(const Sha256 &other) noexcept;

  void update(ByteView bytes) noexcept;
  // The digest of everything fed since construction or the previous finish(); the hasher
  // then starts over, empty.
  Digest finish() noexcept;
  bool failed() const noexcept { return failed_; }

private:
  void start() noexcept;

  mbedtls_sha256_context context_;
  bool failed_ = false;
};

// SHA-256 of one buffer. See Sha256 for the (hardware-only) failure case.
Digest sha256(ByteView bytes) noexcept;

} // namespace mds::core::crypto

#endif
