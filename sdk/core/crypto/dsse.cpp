#include "core/crypto/dsse.hpp"

#include "core/crypto/der_signature.hpp"
#include "core/crypto/encoding.hpp"
#include "core/json/json.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <utility>

namespace mds::core::crypto {
namespace {

constexpr std::string_view kPaePrefix = "DSSEv1";
constexpr std::string_view kFieldPayload = "payload";
constexpr std::string_view kFieldPayloadType = "payloadType";
constexpr std::string_view kFieldSignatures = "signatures";
constexpr std::string_view kFieldKeyId = "keyid";
constexpr std::string_view kFieldSig = "sig";
// object > signatures array > signature object; a little room so that a nested value in
// the wrong place is reported as a wrong type rather than as nesting.
constexpr unsigned kEnvelopeMaxDepth = 8;

// Refuses invalid UTF-8 (overlong forms and surrogates included) while writing strings.
using ValidatingWriter = rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                                           rapidjson::CrtAllocator, rapidjson::kWriteValidateEncodingFlag>;

bool write_string(ValidatingWriter &writer, std::string_view text) {
  return writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

bool is_valid_utf8(std::string_view text) {
  rapidjson::StringBuffer buffer;
  ValidatingWriter writer(buffer);
  return write_string(writer, text);
}

// Envelope strings quoted in error messages: they come from the sender, so they are cut
// short and anything but printable ASCII is escaped before it reaches logs and events.
std::string quoted(std::string_view text) {
  constexpr std::size_t kMaxShown = 64;
  constexpr std::string_view kHexDigits = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte < 0x7f && byte != '"' && byte != '\\') {
      out += static_cast<char>(byte);
    } else {
      out += "\\x";
      out += kHexDigits[byte >> 4];
      out += kHexDigits[byte & 0x0f];
    }
  }
  out += text.size() > kMaxShown ? "\"..." : "\"";
  return out;
}

Error malformed(const Error &cause) {
  return make_error(ErrorCode::EnvelopeMalformed, "envelope is malformed: " + describe(cause));
}

Error malformed(std::string message) {
  return make_error(ErrorCode::EnvelopeMalformed, "envelope is malformed: " + std::move(message));
}

Result<Bytes> decode_field(const json::Value &value, const std::string &where) {
  auto bytes = base64_decode(json::view(value), Base64Alphabet::StandardOrUrlSafe);
  if (!bytes) {
    return make_error(ErrorCode::InvalidBase64, where + ": " + bytes.error().message);
  }
  return bytes;
}

Result<EnvelopeSignature> parse_signature(const json::Value &value, const std::string &where) {
  auto reader = json::ObjectReader::of(value, where);
  if (!reader) {
    return malformed(reader.error());
  }
  if (auto known = reader->allow_only({kFieldKeyId, kFieldSig}); !known) {
    return malformed(known.error());
  }
  auto keyid = reader->optional_string(kFieldKeyId);
  if (!keyid) {
    return malformed(keyid.error());
  }
  auto sig_text = reader->string(kFieldSig); // checks presence and type before decoding
  if (!sig_text) {
    return malformed(sig_text.error());
  }
  auto sig = decode_field(*reader->find(kFieldSig), where + "." + std::string(kFieldSig));
  if (!sig) {
    return std::move(sig).error();
  }
  return EnvelopeSignature{keyid->value_or(""), std::move(*sig)};
}

// How one signature fared against the trusted keys (see verify_envelope in the header).
enum class SignatureOutcome { Credited, NotDer, Invalid, Untrusted };

struct TrustedKey {
  const PublicKey *key;
  bool credited = false;
};

} // namespace

Bytes pae(std::string_view payload_type, ByteView payload) {
  // The header is text: built as a string, then copied once into a buffer of the final size.
  std::string header(kPaePrefix);
  header += ' ';
  header += std::to_string(payload_type.size());
  header += ' ';
  header += payload_type;
  header += ' ';
  header += std::to_string(payload.size());
  header += ' ';
  Bytes out(header.size() + payload.size());
  std::copy(header.begin(), header.end(), out.begin());
  std::copy(payload.begin(), payload.end(), out.begin() + static_cast<std::ptrdiff_t>(header.size()));
  return out;
}

Result<std::string> encode_envelope(const Envelope &envelope) {
  rapidjson::StringBuffer buffer;
  ValidatingWriter writer(buffer);
  writer.StartObject();
  write_string(writer, kFieldPayload);
  write_string(writer, base64_encode(envelope.payload));
  write_string(writer, kFieldPayloadType);
  if (!write_string(writer, envelope.payload_type)) {
    return make_error(ErrorCode::InvalidArgument, "payload type is not valid UTF-8");
  }
  write_string(writer, kFieldSignatures);
  writer.StartArray();
  for (std::size_t i = 0; i < envelope.signatures.size(); ++i) {
    const EnvelopeSignature &signature = envelope.signatures[i];
    writer.StartObject();
    if (!signature.keyid.empty()) {
      write_string(writer, kFieldKeyId);
      if (!write_string(writer, signature.keyid)) {
        return make_error(ErrorCode::InvalidArgument,
                          "keyid of signature " + std::to_string(i) + " is not valid UTF-8");
      }
    }
    write_string(writer, kFieldSig);
    write_string(writer, base64_encode(signature.sig));
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Result<Envelope> parse_envelope(std::string_view text, const EnvelopeLimits &limits) {
  json::Limits json_limits;
  json_limits.max_bytes = limits.max_bytes;
  json_limits.max_depth = kEnvelopeMaxDepth;
  auto document = json::parse(text, json_limits);
  if (!document) {
    return malformed(document.error());
  }
  auto reader = json::ObjectReader::of(document->root(), "envelope");
  if (!reader) {
    return malformed(reader.error());
  }
  if (auto known = reader->allow_only({kFieldPayload, kFieldPayloadType, kFieldSignatures}); !known) {
    return malformed(known.error());
  }
  auto payload_text = reader->string(kFieldPayload);
  if (!payload_text) {
    return malformed(payload_text.error());
  }
  auto payload_type = reader->string(kFieldPayloadType);
  if (!payload_type) {
    return malformed(payload_type.error());
  }
  auto signatures = reader->array(kFieldSignatures);
  if (!signatures) {
    return malformed(signatures.error());
  }
  const json::Value &list = **signatures;
  if (list.Size() > limits.max_signatures) {
    return malformed(std::to_string(list.Size()) + " signatures, at most " + std::to_string(limits.max_signatures));
  }

  Envelope envelope;
  envelope.payload_type = std::move(*payload_type);
  auto payload = decode_field(*reader->find(kFieldPayload), "envelope.payload");
  if (!payload) {
    return std::move(payload).error();
  }
  envelope.payload = std::move(*payload);
  for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
    auto signature = parse_signature(list[i], "envelope.signatures[" + std::to_string(i) + "]");
    if (!signature) {
      return std::move(signature).error();
    }
    envelope.signatures.push_back(std::move(*signature));
  }
  return envelope;
}

Result<Envelope> sign_envelope(std::string_view payload_type, ByteView payload,
                               const std::vector<const PrivateKey *> &keys) {
  if (payload_type.empty() || !is_valid_utf8(payload_type)) {
    return make_error(ErrorCode::InvalidArgument, "payload type must be non-empty UTF-8");
  }
  if (keys.empty()) {
    return make_error(ErrorCode::InvalidArgument, "no signing key");
  }
  if (keys.size() > kMaxEnvelopeSignatures) {
    return make_error(ErrorCode::InvalidArgument, "more than " + std::to_string(kMaxEnvelopeSignatures) + " keys");
  }
  Envelope envelope;
  envelope.payload_type = std::string(payload_type);
  envelope.payload = payload.to_bytes();
  const Bytes message = pae(payload_type, payload);
  for (const PrivateKey *key : keys) {
    if (key == nullptr) {
      return make_error(ErrorCode::InvalidArgument, "null signing key");
    }
    const bool repeated = std::any_of(envelope.signatures.begin(), envelope.signatures.end(),
                                      [&](const EnvelopeSignature &s) { return s.keyid == key->key_id(); });
    if (repeated) {
      // A second signature by one key would count once anyway; asking for it is a mistake.
      return make_error(ErrorCode::InvalidArgument, "key " + key->key_id() + " given twice");
    }
    auto sig = key->sign(message);
    if (!sig) {
      return std::move(sig).error();
    }
    envelope.signatures.push_back(EnvelopeSignature{key->key_id(), std::move(*sig)});
  }
  return envelope;
}

Result<Envelope> sign_envelope(std::string_view payload_type, ByteView payload, const PrivateKey &key) {
  return sign_envelope(payload_type, payload, std::vector<const PrivateKey *>{&key});
}

Result<Verified> verify_envelope(const Envelope &envelope, std::string_view expected_payload_type,
                                 const std::vector<PublicKey> &trusted_keys, std::size_t threshold) {
  // Distinct keys only, so a key listed twice cannot be credited twice.
  std::vector<TrustedKey> keys;
  for (const PublicKey &key : trusted_keys) {
    const bool seen =
        std::any_of(keys.begin(), keys.end(), [&](const TrustedKey &k) { return k.key->key_id() == key.key_id(); });
    if (!seen) {
      keys.push_back(TrustedKey{&key});
    }
  }
  if (expected_payload_type.empty()) {
    return make_error(ErrorCode::InvalidArgument, "no expected payload type");
  }
  if (threshold == 0 || threshold > keys.size()) {
    return make_error(ErrorCode::InvalidArgument, "threshold " + std::to_string(threshold) + " with " +
                                                      std::to_string(keys.size()) + " distinct trusted key(s)");
  }
  if (envelope.payload_type != expected_payload_type) {
    return make_error(ErrorCode::PayloadTypeMismatch,
                      "payload type " + quoted(envelope.payload_type) + ", expected " + quoted(expected_payload_type));
  }
  if (envelope.signatures.empty()) {
    return make_error(ErrorCode::SignatureMissing, "the envelope carries no signature");
  }
  if (envelope.signatures.size() > kMaxEnvelopeSignatures) {
    return malformed(std::to_string(envelope.signatures.size()) + " signatures, at most " +
                     std::to_string(kMaxEnvelopeSignatures));
  }

  const Bytes message = pae(envelope.payload_type, envelope.payload);
  Verified verified;
  bool any_invalid = false;
  bool any_not_der = false;
  std::string details;
  for (std::size_t i = 0; i < envelope.signatures.size(); ++i) {
    const EnvelopeSignature &signature = envelope.signatures[i];
    SignatureOutcome outcome = SignatureOutcome::Invalid;
    std::string detail;
    if (auto strict = check_der_signature(signature.sig); !strict) {
      outcome = SignatureOutcome::NotDer;
      detail = strict.error().message;
    } else {
      // The keyid only decides which key is tried first.
      std::vector<TrustedKey *> order;
      for (TrustedKey &key : keys) {
        order.push_back(&key);
      }
      std::stable_partition(order.begin(), order.end(),
                            [&](const TrustedKey *key) { return key->key->key_id() == signature.keyid; });
      const bool names_trusted_key = !order.empty() && order.front()->key->key_id() == signature.keyid;
      for (TrustedKey *key : order) {
        auto result = key->key->verify(message, signature.sig);
        if (result) {
          outcome = SignatureOutcome::Credited;
          if (!key->credited) {
            key->credited = true;
            verified.key_ids.push_back(key->key->key_id());
          }
          break;
        }
        if (result.code() != ErrorCode::SignatureInvalid) {
          return std::move(result).error(); // the library failed; nothing to conclude
        }
      }
      if (outcome != SignatureOutcome::Credited) {
        const bool untrusted = !signature.keyid.empty() && !names_trusted_key;
        outcome = untrusted ? SignatureOutcome::Untrusted : SignatureOutcome::Invalid;
        detail = untrusted ? "signed by key id " + quoted(signature.keyid) + ", which is not trusted"
                           : "verifies under no trusted key";
      }
    }
    any_invalid = any_invalid || outcome == SignatureOutcome::Invalid;
    any_not_der = any_not_der || outcome == SignatureOutcome::NotDer;
    if (outcome != SignatureOutcome::Credited) {
      details += "; signatures[" + std::to_string(i) + "]: " + detail;
    }
  }

  const std::size_t credited = verified.key_ids.size();
  if (credited >= threshold) {
    verified.payload = envelope.payload;
    return verified;
  }
  const std::string summary = std::to_string(credited) + " distinct trusted key(s) signed, " +
                              std::to_string(threshold) + " required" + details;
  if (credited > 0) {
    return make_error(ErrorCode::SignatureThreshold, summary);
  }
  if (any_invalid) {
    return make_error(ErrorCode::SignatureInvalid, summary);
  }
  if (any_not_der) {
    return make_error(ErrorCode::SignatureNotDer, summary);
  }
  return make_error(ErrorCode::SignatureUntrustedKey, summary);
}

} // namespace mds::core::crypto
