// PEM (RFC 7468) armour around DER: "-----BEGIN <label>-----", base64 lines, "-----END <label>-----".
//
// Our own reader rather than mbedTLS's, so that a key in PEM goes through the same strict DER
// checks as a key in DER, and so that the labels we accept are explicit. Strict: one block,
// nothing but whitespace around it, lines of canonical standard base64 (LF or CRLF), no
// headers (such as the legacy "Proc-Type: 4,ENCRYPTED").
#ifndef MDS_CORE_CRYPTO_PEM_HPP
#define MDS_CORE_CRYPTO_PEM_HPP

#include "core/crypto/bytes.hpp"

#include <mds/error.hpp>

#include <string>
#include <string_view>

namespace mds::core::crypto {

struct PemBlock {
  std::string label; // "PUBLIC KEY", "EC PRIVATE KEY", ...
  Bytes der;
};

// KeyInvalid unless `text` is exactly one well-formed PEM block.
Result<PemBlock> pem_decode(std::string_view text);

// The block with 64-character lines and a final newline.
std::string pem_encode(std::string_view label, ByteView der);

} // namespace mds::core::crypto

#endif
