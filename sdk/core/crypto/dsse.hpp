// DSSE: the Dead Simple Signing Envelope (secure-systems-lab/dsse, protocol v1), ECDSA P-256.
//
// Signers sign PAE(payload type, payload), never the JSON text, so no canonical JSON is
// needed and the payload type is authenticated along with the payload.
//
// JSON envelope, as OpenMDS reads and writes it:
//
//   {"payload": "<base64 of the payload bytes>",
//    "payloadType": "<payload type, UTF-8>",
//    "signatures": [{"keyid": "<key id>", "sig": "<base64 of the DER signature>"}, ...]}
//
//   - payload, payloadType, signatures and each sig are required; keyid is optional (absent,
//     null and "" mean the same). Our signers set keyid to the signing key's key_id().
//   - base64 in either the standard or the URL-safe alphabet, padded, canonical (the spec
//     lets signers pick the alphabet; we write standard).
//   - Stricter than the spec, on purpose: unknown fields, duplicate keys, wrong JSON types,
//     more than kMaxEnvelopeSignatures signatures and documents above the size limit are
//     refused (the spec says to ignore unknown fields; an OpenMDS envelope has none).
//
// Verification rules: see verify_envelope().
#ifndef MDS_CORE_CRYPTO_DSSE_HPP
#define MDS_CORE_CRYPTO_DSSE_HPP

#include "core/crypto/bytes.hpp"
#include "core/crypto/ecdsa.hpp"

#include <mds/error.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mds::core::crypto {

// More would only multiply verification work: every signature is tried against every key.
inline constexpr std::size_t kMaxEnvelopeSignatures = 16;

// "DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload, lengths in decimal bytes
// without leading zeros. This is what every signature covers.
Bytes pae(std::string_view payload_type, ByteView payload);

struct EnvelopeSignature {
  std::string keyid; // a hint only, never trusted; empty when absent
  Bytes sig;         // as received; verification requires strict DER
};

struct Envelope {
  std::string payload_type;
  Bytes payload;
  std::vector<EnvelopeSignature> signatures;
};

struct EnvelopeLimits {
  std::size_t max_bytes = std::size_t{16} << 20;
  std::size_t max_signatures = kMaxEnvelopeSignatures;
};

// Compact JSON in the format above (standard base64; keyid left out when empty).
// InvalidArgument if the payload type or a key id is not valid UTF-8.
Result<std::string> encode_envelope(const Envelope &envelope);

// Reads the JSON envelope. InvalidBase64 for a payload or sig that is not canonical padded
// base64 (the message names the field); EnvelopeMalformed for everything else: not JSON,
// too large, a missing, mistyped, duplicate or unknown field, too many signatures (the
// message carries the underlying JSON error's name).
Result<Envelope> parse_envelope(std::string_view text, const EnvelopeLimits &limits = {});

// One signature per key over PAE(payload_type, payload), each with its key's id as keyid.
// InvalidArgument for no keys, a null key, the same key twice, or a payload type that is
// empty or not valid UTF-8.
Result<Envelope> sign_envelope(std::string_view payload_type, ByteView payload,
                               const std::vector<const PrivateKey *> &keys);
Result<Envelope> sign_envelope(std::string_view payload_type, ByteView payload, const PrivateKey &key);

struct Verified {
  Bytes payload;
  std::vector<std::string> key_ids; // the distinct trusted keys that signed, in signature order
};

// Accepts the envelope when at least `threshold` DISTINCT trusted keys signed exactly this
// payload type and payload. The rules, in order:
//
//  1. InvalidArgument: expected_payload_type is empty, threshold is 0, or threshold exceeds
//     the number of distinct trusted keys (keys are the same when their key ids are).
//  2. PayloadTypeMismatch: the envelope's payload type is not byte-for-byte the expected one.
//  3. SignatureMissing: the envelope has no signatures.
//     EnvelopeMalformed: it has more than kMaxEnvelopeSignatures.
//  4. Each signature, in order:
//     - not strict DER: classed "not DER"; no key is tried;
//     - otherwise it is verified against the trusted keys, the one its keyid names first,
//       then all the others: the keyid only orders the attempts, it never makes a key
//       trusted or skips one. The first key that verifies it is credited (a signature
//       credits at most one key);
//     - a well-formed signature that no trusted key verifies is classed "invalid" when its
//       keyid is empty or names a trusted key, and "untrusted" when its keyid is set and
//       names no trusted key (the signer told us who it is, and we do not trust them).
//     Signatures that do not verify are skipped, as the DSSE spec says; they do not make an
//     envelope fail that enough other signatures carry.
//  5. Ok: the credited keys number at least `threshold`.
//  6. SignatureThreshold: some trusted key verified, but fewer distinct keys than required
//     (one signature listed twice, under two key ids, still credits one key).
//  7. Nothing verified: SignatureInvalid if any signature was "invalid", else
//     SignatureNotDer if any was "not DER", else SignatureUntrustedKey.
//
// What the codes can and cannot tell apart: a payload changed after signing and a
// signature made by an untrusted key that claims a trusted key's id look exactly alike to a
// verifier (a well-formed signature, under a trusted id, that does not verify), so both
// are SignatureInvalid. SignatureUntrustedKey means only "signed by keys we do not know".
Result<Verified> verify_envelope(const Envelope &envelope, std::string_view expected_payload_type,
                                 const std::vector<PublicKey> &trusted_keys, std::size_t threshold = 1);

} // namespace mds::core::crypto

#endif
