#include "core/crypto/der_signature.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace mds::core::crypto {
namespace {

constexpr std::uint8_t kSequenceTag = 0x30;
constexpr std::uint8_t kIntegerTag = 0x02;
constexpr std::uint8_t kLongFormBit = 0x80;
constexpr std::size_t kMaxScalarSize = 32;

Error not_der(const std::string &why) {
  return make_error(ErrorCode::SignatureNotDer, "signature is not DER: " + why);
}

// Reads one INTEGER at `offset` of `der`, moving offset past it.
Status read_integer(ByteView der, std::size_t &offset, const char *name) {
  const std::string where = std::string(name) + ": ";
  if (der.size() - offset < 2) {
    return not_der(where + "truncated");
  }
  if (der[offset] != kIntegerTag) {
    return not_der(where + "not an INTEGER");
  }
  const std::uint8_t length = der[offset + 1];
  if ((length & kLongFormBit) != 0) {
    return not_der(where + "long-form length");
  }
  offset += 2;
  if (length == 0) {
    return not_der(where + "empty INTEGER");
  }
  if (der.size() - offset < length) {
    return not_der(where + "length runs past the end");
  }
  const std::uint8_t first = der[offset];
  if ((first & 0x80) != 0) {
    return not_der(where + "negative INTEGER");
  }
  if (first == 0x00 && length > 1 && (der[offset + 1] & 0x80) == 0) {
    return not_der(where + "non-minimal INTEGER (superfluous leading zero)");
  }
  const std::size_t magnitude = first == 0x00 ? length - 1u : length;
  if (magnitude > kMaxScalarSize) {
    return not_der(where + "INTEGER longer than 32 bytes");
  }
  offset += length;
  return {};
}

} // namespace

Status check_der_signature(ByteView signature) {
  if (signature.size() < 2 || signature[0] != kSequenceTag) {
    return not_der("does not start with a SEQUENCE (raw r||s?)");
  }
  const std::uint8_t length = signature[1];
  if ((length & kLongFormBit) != 0) {
    return not_der("long-form SEQUENCE length");
  }
  const std::size_t sequence_end = std::size_t{length} + 2;
  if (sequence_end > signature.size()) {
    return not_der("SEQUENCE truncated");
  }
  if (sequence_end < signature.size()) {
    return not_der(std::to_string(signature.size() - sequence_end) + " trailing byte(s) after the SEQUENCE");
  }
  std::size_t offset = 2;
  if (auto r = read_integer(signature, offset, "r"); !r) {
    return r;
  }
  if (auto s = read_integer(signature, offset, "s"); !s) {
    return s;
  }
  if (offset != signature.size()) {
    return not_der("bytes after the second INTEGER");
  }
  return {};
}

} // namespace mds::core::crypto
