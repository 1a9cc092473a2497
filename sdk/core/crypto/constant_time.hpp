// Equality of secrets (tokens, MACs, digests an attacker chooses) without a timing signal.
//
// Our own loop rather than mbedtls_ct_memcmp: the latter is not exported by every mbedTLS
// 2.28 build. Lengths are not secret: views of different sizes compare unequal at once.
#ifndef MDS_CORE_CRYPTO_CONSTANT_TIME_HPP
#define MDS_CORE_CRYPTO_CONSTANT_TIME_HPP

#include "core/crypto/bytes.hpp"

#include <cstddef>
#include <cstdint>

namespace mds::core::crypto {

// True when both views hold the same bytes. Time depends only on the sizes.
inline bool constant_time_equal(ByteView a, ByteView b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  // volatile keeps the compiler from turning the loop into an early-exit memcmp.
  volatile std::uint8_t difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    difference = static_cast<std::uint8_t>(difference | (a[i] ^ b[i]));
  }
  return difference == 0;
}

} // namespace mds::core::crypto

#endif
