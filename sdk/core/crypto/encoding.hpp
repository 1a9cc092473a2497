// Strict text encodings of bytes: base64 (RFC 4648) and lower-case hex.
//
// Strict means one text per byte string: decoding refuses whitespace, line breaks, missing
// or misplaced padding, and set bits in the unused low end of the last character, so two
// different texts never decode to the same bytes.
//
// Alphabets: the standard alphabet ("+/") is what OpenMDS writes. DSSE lets a signer use the
// URL-safe alphabet ("-_") instead and requires verifiers to accept both, so envelopes are
// decoded with StandardOrUrlSafe. Padding is required in both alphabets (as in the DSSE
// reference implementations), and one string may not mix the two alphabets.
#ifndef MDS_CORE_CRYPTO_ENCODING_HPP
#define MDS_CORE_CRYPTO_ENCODING_HPP

#include "core/crypto/bytes.hpp"

#include <mds/error.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mds::core::crypto {

enum class Base64Alphabet {
  Standard,          // A-Z a-z 0-9 + /
  UrlSafe,           // A-Z a-z 0-9 - _
  StandardOrUrlSafe, // decoding only: either one, not both in one string
};

// Padded base64. StandardOrUrlSafe encodes as Standard.
std::string base64_encode(ByteView bytes, Base64Alphabet alphabet = Base64Alphabet::Standard);

// InvalidBase64 for anything but the canonical padded encoding in the given alphabet.
Result<Bytes> base64_decode(std::string_view text, Base64Alphabet alphabet = Base64Alphabet::Standard);

// Lower-case hex, two characters per byte.
std::string hex_encode(ByteView bytes);

// InvalidHex for an odd length, upper-case or non-hex characters, or (when expected_size is
// given) a decoded size other than expected_size bytes.
Result<Bytes> hex_decode(std::string_view text, std::optional<std::size_t> expected_size = std::nullopt);

} // namespace mds::core::crypto

#endif
