#include "core/crypto/mbedtls_compat.hpp"

#include <mbedtls/ecp.h>
#include <mbedtls/version.h>

#if defined(MBEDTLS_ERROR_C)
#include <mbedtls/error.h>
#endif

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define MDS_MBEDTLS_3 1
#if defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif
#elif MBEDTLS_VERSION_NUMBER < 0x02100000
#error "OpenMDS needs mbedTLS 2.16 or later (2.28 LTS or 3.6 LTS recommended)"
#endif

#include <cstdio>

namespace mds::core::crypto::mbedtls_compat {

int initialise() noexcept {
#if defined(MDS_MBEDTLS_3) && defined(MBEDTLS_PSA_CRYPTO_C)
  // With MBEDTLS_USE_PSA_CRYPTO, pk and md calls fail until PSA is up. psa_crypto_init is
  // idempotent; a static makes the first caller pay and the others wait for its result.
  static const int status = psa_crypto_init() == PSA_SUCCESS ? 0 : MBEDTLS_ERR_PK_BAD_INPUT_DATA;
  return status;
#else
  return 0;
#endif
}

int sha256_start(mbedtls_sha256_context *context) noexcept {
#if defined(MDS_MBEDTLS_3)
  return mbedtls_sha256_starts(context, 0);
#else
  return mbedtls_sha256_starts_ret(context, 0);
#endif
}

int sha256_update(mbedtls_sha256_context *context, const unsigned char *data, std::size_t size) noexcept {
#if defined(MDS_MBEDTLS_3)
  return mbedtls_sha256_update(context, data, size);
#else
  return mbedtls_sha256_update_ret(context, data, size);
#endif
}

int sha256_finish(mbedtls_sha256_context *context, unsigned char digest[32]) noexcept {
#if defined(MDS_MBEDTLS_3)
  return mbedtls_sha256_finish(context, digest);
#else
  return mbedtls_sha256_finish_ret(context, digest);
#endif
}

int pk_parse_private_key(mbedtls_pk_context *pk, const unsigned char *key, std::size_t size, RandomFunction random,
                         void *random_state) noexcept {
#if defined(MDS_MBEDTLS_3)
  return mbedtls_pk_parse_key(pk, key, size, nullptr, 0, random, random_state);
#else
  (void)random;
  (void)random_state;
  return mbedtls_pk_parse_key(pk, key, size, nullptr, 0);
#endif
}

int pk_sign_sha256(mbedtls_pk_context *pk, const unsigned char digest[32], unsigned char *signature,
                   std::size_t capacity, std::size_t *size, RandomFunction random, void *random_state) noexcept {
#if defined(MDS_MBEDTLS_3)
  return mbedtls_pk_sign(pk, MBEDTLS_MD_SHA256, digest, 32, signature, capacity, size, random, random_state);
#else
  // 2.x writes without a capacity; the caller's buffer is MBEDTLS_PK_SIGNATURE_MAX_SIZE.
  if (capacity < MBEDTLS_PK_SIGNATURE_MAX_SIZE) {
    return MBEDTLS_ERR_PK_BAD_INPUT_DATA;
  }
  return mbedtls_pk_sign(pk, MBEDTLS_MD_SHA256, digest, 32, signature, size, random, random_state);
#endif
}

int pk_check_pair(const mbedtls_pk_context *public_key, const mbedtls_pk_context *private_key, RandomFunction random,
                  void *random_state) noexcept {
#if defined(MDS_MBEDTLS_3)
  return mbedtls_pk_check_pair(public_key, private_key, random, random_state);
#else
  (void)random;
  (void)random_state;
  return mbedtls_pk_check_pair(public_key, private_key);
#endif
}

int pk_generate_p256(mbedtls_pk_context *pk, RandomFunction random, void *random_state) noexcept {
  const int setup = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
  if (setup != 0) {
    return setup;
  }
  // mbedtls_pk_ec() exists in both lines as long as MBEDTLS_ECP_C is on (the 3.6 default).
  return mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*pk), random, random_state);
}

std::string describe(int error) {
  char hex[32];
  std::snprintf(hex, sizeof hex, "%s0x%04x", error < 0 ? "-" : "", static_cast<unsigned>(error < 0 ? -error : error));
  std::string out = std::string("mbedTLS error ") + hex;
#if defined(MBEDTLS_ERROR_C)
  char text[160];
  mbedtls_strerror(error, text, sizeof text);
  out += std::string(" (") + text + ")";
#endif
  return out;
}

} // namespace mds::core::crypto::mbedtls_compat
