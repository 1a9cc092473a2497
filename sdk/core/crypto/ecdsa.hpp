// ECDSA over NIST P-256 with SHA-256: the only signature algorithm OpenMDS accepts.
//
// Keys of any other kind (RSA, other curves, ECDH-only keys, encrypted private keys) are
// refused with KeyInvalid when loaded, so a key object in hand is always a P-256 key.
// Signing is deterministic (RFC 6979): the same key and message give the same signature.
// Signatures are strict DER (see der_signature.hpp); anything else is SignatureNotDer.
#ifndef MDS_CORE_CRYPTO_ECDSA_HPP
#define MDS_CORE_CRYPTO_ECDSA_HPP

#include "core/crypto/bytes.hpp"

#include <mds/error.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace mds::core::crypto {

// A P-256 public key. A value: copies are independent, and every method is safe to call
// from several threads at once (each verification works on its own mbedTLS context).
class PublicKey {
public:
  // "-----BEGIN PUBLIC KEY-----" (SubjectPublicKeyInfo).
  static Result<PublicKey> from_pem(std::string_view pem);
  // SubjectPublicKeyInfo DER, in its canonical form: the uncompressed point, named curve,
  // nothing after the structure.
  static Result<PublicKey> from_der(ByteView der);
  // PEM if the bytes contain "-----BEGIN", DER otherwise (the contents of a key file).
  static Result<PublicKey> load(ByteView pem_or_der);

  // Canonical SubjectPublicKeyInfo DER (91 bytes).
  const Bytes &der() const noexcept { return der_; }
  std::string to_pem() const;
  // Lower-case hex SHA-256 of der(): the same for the PEM and the DER of one key.
  const std::string &key_id() const noexcept { return key_id_; }

  // Ok when `der_signature` is a strict-DER ECDSA signature by this key over SHA-256 of
  // `message`. SignatureNotDer for any other encoding (checked first), SignatureInvalid for
  // a well-formed signature that does not verify, CryptoFailure if mbedTLS itself fails.
  Status verify(ByteView message, ByteView der_signature) const;

  friend bool operator==(const PublicKey &a, const PublicKey &b) { return a.der_ == b.der_; }
  friend bool operator!=(const PublicKey &a, const PublicKey &b) { return !(a == b); }

private:
  friend class PrivateKey;
  PublicKey(Bytes der, std::string key_id) : der_(std::move(der)), key_id_(std::move(key_id)) {}

  Bytes der_;
  std::string key_id_;
};

class PkContext; // RAII owner of an mbedtls_pk_context, defined in ecdsa.cpp

// A P-256 private key. Movable, not copyable (one owner of the secret, wiped on destruction);
// a moved-from key may only be assigned to or destroyed. sign() is not safe to call from
// several threads on one object at once.
class PrivateKey {
public:
  // A new key from a CTR-DRBG seeded by the OS entropy source. CryptoFailure if that fails.
  static Result<PrivateKey> generate();
  // "-----BEGIN EC PRIVATE KEY-----" (SEC1) or "-----BEGIN PRIVATE KEY-----" (PKCS#8),
  // unencrypted.
  static Result<PrivateKey> from_pem(std::string_view pem);
  // SEC1 ECPrivateKey or PKCS#8 PrivateKeyInfo DER.
  static Result<PrivateKey> from_der(ByteView der);
  // PEM if the bytes contain "-----BEGIN", DER otherwise.
  static Result<PrivateKey> load(ByteView pem_or_der);

  PrivateKey(PrivateKey &&) noexcept;
  PrivateKey &operator=(PrivateKey &&) noexcept;
  PrivateKey(const PrivateKey &) = delete;
  PrivateKey &operator=(const PrivateKey &) = delete;
  ~PrivateKey();

  // SEC1 PEM ("-----BEGIN EC PRIVATE KEY-----"). The caller owns the secret text.
  Result<std::string> to_pem() const;
  const PublicKey &public_key() const noexcept { return public_key_; }
  const std::string &key_id() const noexcept { return public_key_.key_id(); }

  // Deterministic DER signature over SHA-256 of `message`. CryptoFailure if mbedTLS fails.
  Result<Bytes> sign(ByteView message) const;

private:
  PrivateKey(std::unique_ptr<PkContext> context, PublicKey public_key);
  static Result<PrivateKey> from_parsed(std::unique_ptr<PkContext> context, bool check_pair);

  std::unique_ptr<PkContext> context_;
  PublicKey public_key_;
};

} // namespace mds::core::crypto

#endif
