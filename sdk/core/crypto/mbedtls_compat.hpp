// The one place that knows which mbedTLS it is built against.
//
// Desktop and server builds use Debian's mbedTLS 2.28; mobile builds use 3.6 LTS. Between the
// two, hash functions lost their `_ret` suffix, key parsing and pair checks gained an RNG
// argument, signing gained the signature buffer's size, and 3.x may route operations through
// PSA, which must be initialised first. Everything else in mds::core::crypto calls these
// wrappers and never tests MBEDTLS_VERSION_NUMBER itself.
//
// The functions return mbedTLS error codes (0 on success) so callers can pick the OpenMDS
// code that fits; describe() turns a code into text for messages.
#ifndef MDS_CORE_CRYPTO_MBEDTLS_COMPAT_HPP
#define MDS_CORE_CRYPTO_MBEDTLS_COMPAT_HPP

#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>

#include <cstddef>
#include <string>

namespace mds::core::crypto::mbedtls_compat {

using RandomFunction = int (*)(void *, unsigned char *, std::size_t);

// Once per process before any other call; safe to call repeatedly and from several threads.
int initialise() noexcept;

int sha256_start(mbedtls_sha256_context *context) noexcept;
int sha256_update(mbedtls_sha256_context *context, const unsigned char *data, std::size_t size) noexcept;
int sha256_finish(mbedtls_sha256_context *context, unsigned char digest[32]) noexcept;

// `key` is DER, or PEM with `size` counting the terminating NUL. No password: encrypted keys
// fail. The RNG blinds the private-key arithmetic on 3.x.
int pk_parse_private_key(mbedtls_pk_context *pk, const unsigned char *key, std::size_t size, RandomFunction random,
                         void *random_state) noexcept;

// ECDSA over a SHA-256 digest; writes DER into `signature` (capacity bytes) and its size.
int pk_sign_sha256(mbedtls_pk_context *pk, const unsigned char digest[32], unsigned char *signature,
                   std::size_t capacity, std::size_t *size, RandomFunction random, void *random_state) noexcept;

// 0 when `private_key`'s scalar really produces `public_key`'s point.
int pk_check_pair(const mbedtls_pk_context *public_key, const mbedtls_pk_context *private_key, RandomFunction random,
                  void *random_state) noexcept;

// Sets up an empty context and generates a P-256 key pair into it.
int pk_generate_p256(mbedtls_pk_context *pk, RandomFunction random, void *random_state) noexcept;

// "mbedTLS error -0x3d00 (PK - Invalid key tag or value)".
std::string describe(int error);

} // namespace mds::core::crypto::mbedtls_compat

#endif
