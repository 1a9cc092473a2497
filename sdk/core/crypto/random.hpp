// A CTR-DRBG seeded from the operating system's entropy source.
//
// Used to generate keys and, when signing, to blind the private-key arithmetic against side
// channels (the signature itself stays deterministic, RFC 6979). Verification needs none.
#ifndef MDS_CORE_CRYPTO_RANDOM_HPP
#define MDS_CORE_CRYPTO_RANDOM_HPP

#include <mds/error.hpp>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include <cstddef>
#include <memory>

namespace mds::core::crypto {

// Owns its mbedTLS contexts. Movable, not copyable; not for concurrent use: make one per
// operation (seeding is cheap next to an ECDSA operation).
class Drbg {
public:
  // CryptoFailure when the entropy source cannot be read.
  static Result<Drbg> create();

  // The mbedTLS-style callback and its state, for the f_rng / p_rng parameters.
  static int generate(void *state, unsigned char *out, std::size_t size);
  void *state() { return &contexts_->drbg; }

private:
  struct Contexts {
    Contexts();
    ~Contexts();
    Contexts(const Contexts &) = delete;
    Contexts &operator=(const Contexts &) = delete;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
  };

  Drbg() : contexts_(std::make_unique<Contexts>()) {}
  // mbedTLS keeps pointers into these contexts, so they stay put on the heap when Drbg moves.
  std::unique_ptr<Contexts> contexts_;
};

} // namespace mds::core::crypto

#endif
