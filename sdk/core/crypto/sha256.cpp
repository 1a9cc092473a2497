#include "core/crypto/sha256.hpp"

#include "core/crypto/mbedtls_compat.hpp"

namespace mds::core::crypto {

Sha256::Sha256() noexcept {
  mbedtls_sha256_init(&context_);
  start();
}

Sha256::~Sha256() {
  mbedtls_sha256_free(&context_);
}

Sha256::Sha256(const Sha256 &other) noexcept : failed_(other.failed_) {
  mbedtls_sha256_init(&context_);
  mbedtls_sha256_clone(&context_, &other.context_);
}

Sha256 &Sha256::operator=(const Sha256 &other) noexcept {
  if (this != &other) {
    mbedtls_sha256_clone(&context_, &other.context_);
    failed_ = other.failed_;
  }
  return *this;
}

void Sha256::start() noexcept {
  failed_ = failed_ || mbedtls_compat::sha256_start(&context_) != 0;
}

void Sha256::update(ByteView bytes) noexcept {
  if (failed_ || bytes.empty()) {
    return;
  }
  failed_ = mbedtls_compat::sha256_update(&context_, bytes.data(), bytes.size()) != 0;
}

Digest Sha256::finish() noexcept {
  Digest digest{};
  if (!failed_) {
    failed_ = mbedtls_compat::sha256_finish(&context_, digest.data()) != 0;
  }
  if (failed_) {
    digest.fill(0);
  }
  start();
  return digest;
}

Digest sha256(ByteView bytes) noexcept {
  Sha256 hasher;
  hasher.update(bytes);
  return hasher.finish();
}

} // namespace mds::core::crypto
