// Arbitrary bytes as a DSSE envelope: parse, re-encode, verify against one trusted key.
//
// The trusted key is the DSSE spec's test key, and the only thing it ever signed is the
// spec's "hello world" of type http://example.com/HelloWorld (the seed corpus holds that
// envelope with its signature in DER). So verification may succeed for that payload and
// type only; any other acceptance is a forgery and aborts, as does a crash, an error code
// outside the documented set, or an envelope that does not survive encode → parse.
#include "core/crypto/dsse.hpp"
#include "core/crypto/ecdsa.hpp"
#include "core/crypto/encoding.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using mds::ErrorCode;
using namespace mds::core::crypto;

constexpr std::string_view kSignedType = "http://example.com/HelloWorld";
constexpr std::string_view kSignedPayload = "hello world";

// SubjectPublicKeyInfo of the DSSE spec's P-256 test key (its X and Y, in hex).
constexpr std::string_view kTrustedKeyDer = "3059301306072a8648ce3d020106082a8648ce3d030107034200"
                                            "0467cd390f77aa359cb08c2235f652270493a9ed832b0abcc01f70954c0390d238"
                                            "0c782bd54e269125a44f4433aff1432ce94e12bca73aa67ac80cea12608ddf74";

const std::vector<PublicKey> &trusted_keys() {
  static const std::vector<PublicKey> keys = [] {
    auto der = hex_decode(kTrustedKeyDer);
    auto key = der ? PublicKey::from_der(*der) : mds::Result<PublicKey>(der.error());
    if (!key) {
      std::abort();
    }
    return std::vector<PublicKey>{*key};
  }();
  return keys;
}

bool same(const Envelope &a, const Envelope &b) {
  if (a.payload_type != b.payload_type || a.payload != b.payload || a.signatures.size() != b.signatures.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.signatures.size(); ++i) {
    if (a.signatures[i].keyid != b.signatures[i].keyid || a.signatures[i].sig != b.signatures[i].sig) {
      return false;
    }
  }
  return true;
}

bool is_parse_error(ErrorCode code) {
  return code == ErrorCode::EnvelopeMalformed || code == ErrorCode::InvalidBase64;
}

bool is_verify_error(ErrorCode code) {
  switch (code) {
  case ErrorCode::PayloadTypeMismatch:
  case ErrorCode::SignatureMissing:
  case ErrorCode::SignatureInvalid:
  case ErrorCode::SignatureUntrustedKey:
  case ErrorCode::SignatureNotDer:
  case ErrorCode::EnvelopeMalformed: // too many signatures
    return true;
  default:
    return false;
  }
}

void check_verification(const Envelope &envelope, std::string_view expected_type) {
  auto verified = verify_envelope(envelope, expected_type, trusted_keys(), 1);
  if (verified.ok()) {
    const std::string_view payload(reinterpret_cast<const char *>(verified->payload.data()), verified->payload.size());
    if (envelope.payload_type != kSignedType || payload != kSignedPayload) {
      std::abort(); // accepted something the key never signed
    }
  } else if (!is_verify_error(verified.code())) {
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  auto envelope = parse_envelope(text);
  if (!envelope) {
    if (!is_parse_error(envelope.code())) {
      std::abort();
    }
    return 0;
  }

  auto encoded = encode_envelope(*envelope); // strings from strict JSON are valid UTF-8
  if (!encoded) {
    std::abort();
  }
  auto reparsed = parse_envelope(*encoded);
  if (!reparsed || !same(*envelope, *reparsed)) {
    std::abort();
  }

  // The pinned type, and the envelope's own type, so signatures get checked whatever it says.
  check_verification(*envelope, kSignedType);
  if (!envelope->payload_type.empty() && envelope->payload_type != kSignedType) {
    check_verification(*envelope, envelope->payload_type);
  }
  return 0;
}
