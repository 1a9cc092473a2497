// Strict DER form of an ECDSA P-256 signature, checked before any verification.
//
// mbedTLS's signature reader is lenient (it accepts, for instance, non-minimal integers), and
// a lenient reader makes signatures malleable: several byte strings verify as "the same"
// signature, which breaks anything that counts or compares signatures. So OpenMDS accepts
// exactly one encoding:
//
//   30 L  02 Lr r  02 Ls s        and nothing after it
//
//   - L, Lr, Ls in short form (a P-256 signature is at most 72 bytes, so long form is never
//     needed and would be non-minimal);
//   - L covers exactly the two INTEGERs, and the signature ends where the SEQUENCE ends;
//   - each INTEGER is non-empty, non-negative (top bit of its first byte clear), minimal (a
//     leading 0x00 only when the next byte has its top bit set), and its value fits in
//     32 bytes.
//
// Raw r||s (64 bytes, as PSA and the DSSE spec's example use) fails this check. The values
// of r and s are not range-checked here: a well-formed signature with r = 0 simply fails to
// verify.
#ifndef MDS_CORE_CRYPTO_DER_SIGNATURE_HPP
#define MDS_CORE_CRYPTO_DER_SIGNATURE_HPP

#include "core/crypto/bytes.hpp"

#include <mds/error.hpp>

namespace mds::core::crypto {

// SignatureNotDer, with the first rule broken, unless `signature` is strict DER as above.
Status check_der_signature(ByteView signature);

} // namespace mds::core::crypto

#endif
