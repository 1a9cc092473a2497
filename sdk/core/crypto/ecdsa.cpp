#include "core/crypto/ecdsa.hpp"

#include "core/crypto/der_signature.hpp"
#include "core/crypto/encoding.hpp"
#include "core/crypto/mbedtls_compat.hpp"
#include "core/crypto/pem.hpp"
#include "core/crypto/random.hpp"
#include "core/crypto/sha256.hpp"

#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>

#include <algorithm>
#include <array>
#include <utility>

namespace mds::core::crypto {

class PkContext {
public:
  PkContext() { mbedtls_pk_init(&context_); }
  ~PkContext() { mbedtls_pk_free(&context_); } // also wipes private key material
  PkContext(const PkContext &) = delete;
  PkContext &operator=(const PkContext &) = delete;

  mbedtls_pk_context *get() { return &context_; }

private:
  mbedtls_pk_context context_;
};

namespace {

// SubjectPublicKeyInfo DER of every P-256 key, up to the 64 bytes of X and Y:
// SEQUENCE { SEQUENCE { OID id-ecPublicKey, OID prime256v1 }, BIT STRING { 04 X Y } }.
constexpr std::array<std::uint8_t, 27> kP256SpkiPrefix = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                                          0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                                          0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};
constexpr std::size_t kP256SpkiSize = kP256SpkiPrefix.size() + 64;

constexpr std::string_view kPemMarker = "-----BEGIN";
constexpr std::string_view kPublicKeyLabel = "PUBLIC KEY";
constexpr std::string_view kSec1Label = "EC PRIVATE KEY";
constexpr std::string_view kPkcs8Label = "PRIVATE KEY";
constexpr std::string_view kEncryptedPkcs8Label = "ENCRYPTED PRIVATE KEY";

Error key_error(const std::string &what, int mbedtls_error) {
  return make_error(ErrorCode::KeyInvalid, what + ": " + mbedtls_compat::describe(mbedtls_error));
}

bool is_allocation_failure(int mbedtls_error) {
  return mbedtls_error == MBEDTLS_ERR_PK_ALLOC_FAILED || mbedtls_error == MBEDTLS_ERR_ECP_ALLOC_FAILED ||
         mbedtls_error == MBEDTLS_ERR_MPI_ALLOC_FAILED;
}

bool looks_like_pem(ByteView bytes) {
  const std::string_view text(reinterpret_cast<const char *>(bytes.data()), bytes.size());
  return text.find(kPemMarker) != std::string_view::npos;
}

// The canonical SubjectPublicKeyInfo of a parsed key, or KeyInvalid unless it is P-256.
Result<Bytes> p256_public_der(PkContext &pk) {
  if (mbedtls_pk_get_type(pk.get()) != MBEDTLS_PK_ECKEY) {
    return make_error(ErrorCode::KeyInvalid, std::string("not an ECDSA P-256 key but ") +
                                                 mbedtls_pk_get_name(pk.get()) + " (" +
                                                 std::to_string(mbedtls_pk_get_bitlen(pk.get())) + " bits)");
  }
  // mbedTLS writes DER backwards, from the end of the buffer.
  std::array<unsigned char, 256> buffer{};
  const int written = mbedtls_pk_write_pubkey_der(pk.get(), buffer.data(), buffer.size());
  if (written < 0) {
    return key_error("cannot serialise the public key", written);
  }
  const auto size = static_cast<std::size_t>(written);
  Bytes der(buffer.end() - size, buffer.end());
  if (der.size() != kP256SpkiSize || !std::equal(kP256SpkiPrefix.begin(), kP256SpkiPrefix.end(), der.begin())) {
    return make_error(ErrorCode::KeyInvalid, "an EC key on a curve other than P-256 (" +
                                                 std::to_string(mbedtls_pk_get_bitlen(pk.get())) + " bits)");
  }
  return der;
}

Result<std::unique_ptr<PkContext>> parse_public(ByteView der) {
  if (const int status = mbedtls_compat::initialise(); status != 0) {
    return make_error(ErrorCode::CryptoFailure, "crypto library initialisation: " + mbedtls_compat::describe(status));
  }
  auto pk = std::make_unique<PkContext>();
  const int status = mbedtls_pk_parse_public_key(pk->get(), der.data(), der.size());
  if (status != 0) {
    return key_error("not a public key (SubjectPublicKeyInfo)", status);
  }
  return pk;
}

std::string key_id_of(ByteView der) {
  return hex_encode(sha256(der));
}

} // namespace

// --- PublicKey ---------------------------------------------------------------------------

Result<PublicKey> PublicKey::from_der(ByteView der) {
  auto pk = parse_public(der);
  if (!pk) {
    return std::move(pk).error();
  }
  auto canonical = p256_public_der(**pk);
  if (!canonical) {
    return std::move(canonical).error();
  }
  // mbedTLS also reads BER (a long-form length, for one); a key must have exactly one
  // encoding, so that its id is a function of the key.
  if (*canonical != der.to_bytes()) {
    return make_error(ErrorCode::KeyInvalid, "public key is not in canonical DER");
  }
  std::string id = key_id_of(*canonical);
  return PublicKey(std::move(*canonical), std::move(id));
}

Result<PublicKey> PublicKey::from_pem(std::string_view pem) {
  auto block = pem_decode(pem);
  if (!block) {
    return std::move(block).error();
  }
  if (block->label != kPublicKeyLabel) {
    return make_error(ErrorCode::KeyInvalid, "a \"" + block->label + "\" PEM block, not a PUBLIC KEY");
  }
  return from_der(block->der);
}

Result<PublicKey> PublicKey::load(ByteView pem_or_der) {
  if (looks_like_pem(pem_or_der)) {
    return from_pem(std::string_view(reinterpret_cast<const char *>(pem_or_der.data()), pem_or_der.size()));
  }
  return from_der(pem_or_der);
}

std::string PublicKey::to_pem() const {
  return pem_encode(kPublicKeyLabel, der_);
}

Status PublicKey::verify(ByteView message, ByteView der_signature) const {
  if (auto strict = check_der_signature(der_signature); !strict) {
    return strict;
  }
  Sha256 hasher;
  hasher.update(message);
  const Digest digest = hasher.finish();
  if (hasher.failed()) {
    return make_error(ErrorCode::CryptoFailure, "SHA-256 failed");
  }
  auto pk = parse_public(der_);
  if (!pk) {
    // der_ parsed when this key was made, so only a library failure gets here.
    return make_error(ErrorCode::CryptoFailure, "re-reading a loaded public key: " + pk.error().message);
  }
  const int status = mbedtls_pk_verify((*pk)->get(), MBEDTLS_MD_SHA256, digest.data(), digest.size(),
                                       der_signature.data(), der_signature.size());
  if (status == 0) {
    return {};
  }
  if (is_allocation_failure(status)) {
    return make_error(ErrorCode::CryptoFailure, "verifying: " + mbedtls_compat::describe(status));
  }
  return make_error(ErrorCode::SignatureInvalid,
                    "signature does not verify under key " + key_id_ + ": " + mbedtls_compat::describe(status));
}

// --- PrivateKey --------------------------------------------------------------------------

PrivateKey::PrivateKey(std::unique_ptr<PkContext> context, PublicKey public_key)
    : context_(std::move(context)), public_key_(std::move(public_key)) {}
PrivateKey::PrivateKey(PrivateKey &&) noexcept = default;
PrivateKey &PrivateKey::operator=(PrivateKey &&) noexcept = default;
PrivateKey::~PrivateKey() = default;

Result<PrivateKey> PrivateKey::from_parsed(std::unique_ptr<PkContext> context, bool check_pair) {
  auto der = p256_public_der(*context);
  if (!der) {
    return std::move(der).error();
  }
  if (check_pair) {
    // A SEC1 key may carry a public point that is not d*G; mbedTLS does not check that on
    // parsing, and a wrong point would give the key a wrong id.
    auto drbg = Drbg::create();
    if (!drbg) {
      return std::move(drbg).error();
    }
    auto public_pk = parse_public(*der);
    if (!public_pk) {
      return std::move(public_pk).error();
    }
    const int status =
        mbedtls_compat::pk_check_pair((*public_pk)->get(), context->get(), Drbg::generate, drbg->state());
    if (status != 0) {
      return key_error("the key's public point does not match its private scalar", status);
    }
  }
  std::string id = key_id_of(*der);
  return PrivateKey(std::move(context), PublicKey(std::move(*der), std::move(id)));
}

Result<PrivateKey> PrivateKey::generate() {
  auto drbg = Drbg::create();
  if (!drbg) {
    return std::move(drbg).error();
  }
  auto context = std::make_unique<PkContext>();
  const int status = mbedtls_compat::pk_generate_p256(context->get(), Drbg::generate, drbg->state());
  if (status != 0) {
    return make_error(ErrorCode::CryptoFailure, "generating a P-256 key: " + mbedtls_compat::describe(status));
  }
  return from_parsed(std::move(context), false);
}

namespace {

Result<std::unique_ptr<PkContext>> parse_private(ByteView der) {
  auto drbg = Drbg::create(); // also initialises the library
  if (!drbg) {
    return std::move(drbg).error();
  }
  auto pk = std::make_unique<PkContext>();
  const int status =
      mbedtls_compat::pk_parse_private_key(pk->get(), der.data(), der.size(), Drbg::generate, drbg->state());
  if (status == MBEDTLS_ERR_PK_PASSWORD_REQUIRED) {
    return make_error(ErrorCode::KeyInvalid, "encrypted private keys are not supported");
  }
  if (status != 0) {
    return key_error("not a private key (SEC1 or PKCS#8)", status);
  }
  return pk;
}

} // namespace

Result<PrivateKey> PrivateKey::from_der(ByteView der) {
  auto pk = parse_private(der);
  if (!pk) {
    return std::move(pk).error();
  }
  return from_parsed(std::move(*pk), true);
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  auto block = pem_decode(pem);
  if (!block) {
    return std::move(block).error();
  }
  Result<PrivateKey> key = make_error(ErrorCode::KeyInvalid, "a \"" + block->label + "\" PEM block, not a private key");
  if (block->label == kEncryptedPkcs8Label) {
    key = make_error(ErrorCode::KeyInvalid, "encrypted private keys are not supported");
  } else if (block->label == kSec1Label || block->label == kPkcs8Label) {
    key = from_der(block->der);
  }
  mbedtls_platform_zeroize(block->der.data(), block->der.size());
  return key;
}

Result<PrivateKey> PrivateKey::load(ByteView pem_or_der) {
  if (looks_like_pem(pem_or_der)) {
    return from_pem(std::string_view(reinterpret_cast<const char *>(pem_or_der.data()), pem_or_der.size()));
  }
  return from_der(pem_or_der);
}

Result<std::string> PrivateKey::to_pem() const {
  // SEC1 DER of a P-256 key is 121 bytes; mbedTLS writes it at the end of the buffer.
  std::array<unsigned char, 256> buffer{};
  const int written = mbedtls_pk_write_key_der(context_->get(), buffer.data(), buffer.size());
  if (written < 0) {
    mbedtls_platform_zeroize(buffer.data(), buffer.size());
    return make_error(ErrorCode::CryptoFailure, "writing the private key: " + mbedtls_compat::describe(written));
  }
  const auto size = static_cast<std::size_t>(written);
  std::string pem = pem_encode(kSec1Label, ByteView(buffer.data() + buffer.size() - size, size));
  mbedtls_platform_zeroize(buffer.data(), buffer.size());
  return pem;
}

Result<Bytes> PrivateKey::sign(ByteView message) const {
  Sha256 hasher;
  hasher.update(message);
  const Digest digest = hasher.finish();
  if (hasher.failed()) {
    return make_error(ErrorCode::CryptoFailure, "SHA-256 failed");
  }
  auto drbg = Drbg::create();
  if (!drbg) {
    return std::move(drbg).error();
  }
  std::array<unsigned char, MBEDTLS_PK_SIGNATURE_MAX_SIZE> signature{};
  std::size_t size = 0;
  const int status = mbedtls_compat::pk_sign_sha256(context_->get(), digest.data(), signature.data(), signature.size(),
                                                    &size, Drbg::generate, drbg->state());
  if (status != 0) {
    return make_error(ErrorCode::CryptoFailure, "signing: " + mbedtls_compat::describe(status));
  }
  Bytes der(signature.begin(), signature.begin() + static_cast<std::ptrdiff_t>(size));
  // Our verifiers accept strict DER only; never hand out a signature they would refuse.
  if (auto strict = check_der_signature(der); !strict) {
    return make_error(ErrorCode::Internal, "mbedTLS produced a signature that is not strict DER");
  }
  return der;
}

} // namespace mds::core::crypto
