#include "core/crypto/random.hpp"

#include "core/crypto/mbedtls_compat.hpp"

#include <string_view>

namespace mds::core::crypto {

Drbg::Contexts::Contexts() {
  mbedtls_entropy_init(&entropy);
  mbedtls_ctr_drbg_init(&drbg);
}

Drbg::Contexts::~Contexts() {
  mbedtls_ctr_drbg_free(&drbg);
  mbedtls_entropy_free(&entropy);
}

Result<Drbg> Drbg::create() {
  if (const int status = mbedtls_compat::initialise(); status != 0) {
    return make_error(ErrorCode::CryptoFailure, "crypto library initialisation: " + mbedtls_compat::describe(status));
  }
  Drbg drbg;
  // Separates this generator's output from any other user of the same entropy.
  constexpr std::string_view kPersonalisation = "OpenMDS DRBG v1";
  const int status =
      mbedtls_ctr_drbg_seed(&drbg.contexts_->drbg, mbedtls_entropy_func, &drbg.contexts_->entropy,
                            reinterpret_cast<const unsigned char *>(kPersonalisation.data()), kPersonalisation.size());
  if (status != 0) {
    return make_error(ErrorCode::CryptoFailure, "seeding the random generator: " + mbedtls_compat::describe(status));
  }
  return drbg;
}

int Drbg::generate(void *state, unsigned char *out, std::size_t size) {
  return mbedtls_ctr_drbg_random(state, out, size);
}

} // namespace mds::core::crypto
