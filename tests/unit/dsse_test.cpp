// DSSE: PAE, the JSON envelope, signing, and the verification rules of dsse.hpp.
#include "core/crypto/der_signature.hpp"
#include "core/crypto/dsse.hpp"
#include "core/crypto/encoding.hpp"
#include "support/crypto_support.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

using mds::ErrorCode;
using mds::Result;
using mds::test::der_from_raw;
using mds::test::from_hex;
using namespace mds::core::crypto;

namespace {

std::string as_text(const Bytes &bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// A decimal integer below 2^256 as 32 big-endian bytes (the DSSE spec writes its key in decimal).
Bytes decimal_to_32_bytes(std::string_view decimal) {
  Bytes out(32, 0);
  for (char digit : decimal) {
    REQUIRE((digit >= '0' && digit <= '9'));
    unsigned carry = static_cast<unsigned>(digit - '0');
    for (std::size_t i = out.size(); i-- > 0;) {
      const unsigned value = out[i] * 10u + carry;
      out[i] = static_cast<std::uint8_t>(value & 0xff);
      carry = value >> 8;
    }
    REQUIRE(carry == 0);
  }
  return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto &part : parts) {
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

// The test vector of the DSSE protocol (secure-systems-lab/dsse, protocol.md, "Test Vectors").
namespace spec {
constexpr const char *kX = "46950820868899156662930047687818585632848591499744589407958293238635476079160";
constexpr const char *kY = "5640078356564379163099075877009565129882514886557779369047442380624545832820";
constexpr const char *kD = "97358161215184420915383655311931858321456579547487070936769975997791359926199";
constexpr const char *kPayloadType = "http://example.com/HelloWorld";
constexpr const char *kPayload = "hello world";
constexpr const char *kPae = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
constexpr const char *kEnvelope =
    R"({"payload": "aGVsbG8gd29ybGQ=",
 "payloadType": "http://example.com/HelloWorld",
 "signatures": [{"sig": "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA=="}]})";

// SubjectPublicKeyInfo of the point (X, Y) on P-256.
Bytes public_key_der() {
  return concat({from_hex("3059301306072a8648ce3d020106082a8648ce3d030107034200"
                          "04"),
                 decimal_to_32_bytes(kX), decimal_to_32_bytes(kY)});
}

// SEC1 ECPrivateKey { version 1, d, [0] prime256v1, [1] public point }.
Bytes private_key_der() {
  return concat({from_hex("307702010104"
                          "20"),
                 decimal_to_32_bytes(kD),
                 from_hex("a00a06082a8648ce3d030107"
                          "a144034200"
                          "04"),
                 decimal_to_32_bytes(kX), decimal_to_32_bytes(kY)});
}
} // namespace spec

} // namespace

// --- PAE -----------------------------------------------------------------------------------

TEST_CASE("PAE matches the DSSE spec byte for byte", "[dsse][pae]") {
  CHECK(as_text(pae(spec::kPayloadType, std::string(spec::kPayload))) == spec::kPae);

  // From the DSSE test vectors (testvectors/vectors.json): the length is in bytes, not
  // characters; an empty payload or type still gets its length and separators.
  const std::string statement = R"({"_type":"https://in-toto.io/Statement/v1"})";
  CHECK(pae("application/vnd.ex\xc3\xa4mple+json", statement) ==
        from_hex("445353457631203239206170706c69636174696f6e2f766e642e6578c3a46d706c652b6a736f6e203433207b225f747970"
                 "65223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e742f7631227d"));
  CHECK(pae("application/vnd.in-toto+json", Bytes{}) ==
        from_hex("445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203020"));
  CHECK(as_text(pae("", statement)) == "DSSEv1 0  43 " + statement);

  // Binary payloads pass through untouched, NUL bytes included.
  const Bytes binary = {0x00, 0xff, 0x20, 0x00};
  CHECK(pae("t", binary) == concat({to_bytes("DSSEv1 1 t 4 "), binary}));
}

// --- the spec's test vector ----------------------------------------------------------------

TEST_CASE("the DSSE spec's ECDSA P-256 test vector verifies", "[dsse][vector]") {
  auto trusted = PublicKey::from_der(spec::public_key_der());
  REQUIRE(trusted.ok());
  auto signer = PrivateKey::from_der(spec::private_key_der());
  REQUIRE(signer.ok());
  CHECK(signer->public_key() == *trusted);

  auto envelope = parse_envelope(spec::kEnvelope);
  REQUIRE(envelope.ok());
  CHECK(envelope->payload_type == spec::kPayloadType);
  CHECK(as_text(envelope->payload) == spec::kPayload);
  REQUIRE(envelope->signatures.size() == 1);
  CHECK(envelope->signatures[0].keyid.empty());
  CHECK(as_text(pae(envelope->payload_type, envelope->payload)) == spec::kPae);

  // The spec encodes its signature as raw r||s; OpenMDS requires DER, so the envelope as
  // published is refused for exactly that reason...
  REQUIRE(envelope->signatures[0].sig.size() == 64);
  auto as_published = verify_envelope(*envelope, spec::kPayloadType, {*trusted});
  CHECK(as_published.code() == ErrorCode::SignatureNotDer);

  // ...and the same r and s in DER verify.
  const Bytes der = der_from_raw(envelope->signatures[0].sig);
  REQUIRE(check_der_signature(der).ok());
  Envelope converted = *envelope;
  converted.signatures[0].sig = der;
  auto verified = verify_envelope(converted, spec::kPayloadType, {*trusted});
  REQUIRE(verified.ok());
  CHECK(as_text(verified->payload) == spec::kPayload);
  CHECK(verified->key_ids == std::vector<std::string>{trusted->key_id()});

  // Deterministic signing (RFC 6979) with the spec's d reproduces the spec's r and s.
  auto ours = signer->sign(pae(spec::kPayloadType, std::string(spec::kPayload)));
  REQUIRE(ours.ok());
  CHECK(hex_encode(*ours) == hex_encode(der));
  auto signed_envelope = sign_envelope(spec::kPayloadType, std::string(spec::kPayload), *signer);
  REQUIRE(signed_envelope.ok());
  CHECK(signed_envelope->signatures[0].sig == der);
}

// --- encoding and parsing ------------------------------------------------------------------

TEST_CASE("an envelope is encoded as compact JSON in the DSSE layout", "[dsse][json]") {
  Envelope envelope;
  envelope.payload_type = "application/vnd.openmds.test+json";
  envelope.payload = to_bytes("hi?>");
  envelope.signatures.push_back({"k1", from_hex("3006020101020101")});
  envelope.signatures.push_back({"", from_hex("fbff")});
  auto text = encode_envelope(envelope);
  REQUIRE(text.ok());
  CHECK(*text == R"({"payload":"aGk/Pg==","payloadType":"application/vnd.openmds.test+json",)"
                 R"("signatures":[{"keyid":"k1","sig":"MAYCAQECAQE="},{"sig":"+/8="}]})");

  auto parsed = parse_envelope(*text);
  REQUIRE(parsed.ok());
  CHECK(parsed->payload_type == envelope.payload_type);
  CHECK(parsed->payload == envelope.payload);
  REQUIRE(parsed->signatures.size() == 2);
  CHECK(parsed->signatures[0].keyid == "k1");
  CHECK(parsed->signatures[0].sig == envelope.signatures[0].sig);
  CHECK(parsed->signatures[1].keyid.empty());
  CHECK(parsed->signatures[1].sig == envelope.signatures[1].sig);

  // keyid: absent, null and "" all read as empty.
  for (const char *keyid : {"", R"("keyid": null,)", R"("keyid": "",)"}) {
    auto read = parse_envelope(std::string(R"({"payload": "", "payloadType": "t", "signatures": [{)") + keyid +
                               R"("sig": ""}]})");
    REQUIRE(read.ok());
    CHECK(read->signatures[0].keyid.empty());
  }
}

TEST_CASE("encoding refuses strings that JSON cannot carry", "[dsse][json]") {
  Envelope envelope;
  envelope.payload_type = "bad \xff type";
  CHECK(encode_envelope(envelope).code() == ErrorCode::InvalidArgument);
  envelope.payload_type = "t";
  envelope.signatures.push_back({"\xc0\xaf", Bytes{}}); // overlong '/'
  CHECK(encode_envelope(envelope).code() == ErrorCode::InvalidArgument);
}

// --- signing and verification rules --------------------------------------------------------

namespace {

constexpr const char *kType = "application/vnd.openmds.manifest+json";
const std::string kPayload = R"({"app":"demo","version":"1.2.3"})";

struct Keys {
  PrivateKey a;
  PrivateKey b;
  PrivateKey untrusted;
};

const Keys &keys() {
  static const Keys generated = [] {
    auto a = PrivateKey::generate();
    auto b = PrivateKey::generate();
    auto u = PrivateKey::generate();
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    REQUIRE(u.ok());
    return Keys{std::move(a).value(), std::move(b).value(), std::move(u).value()};
  }();
  return generated;
}

std::vector<PublicKey> trusted() {
  return {keys().a.public_key(), keys().b.public_key()};
}

Envelope signed_by(const std::vector<const PrivateKey *> &signers, const std::string &payload = kPayload) {
  auto envelope = sign_envelope(kType, payload, signers);
  REQUIRE(envelope.ok());
  return *envelope;
}

std::string text_of(const Envelope &envelope) {
  auto text = encode_envelope(envelope);
  REQUIRE(text.ok());
  return *text;
}

std::string replace_once(std::string text, const std::string &from, const std::string &to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// Parse then verify: what a device does with an envelope it downloaded.
Result<Verified> receive(const std::string &text, std::size_t threshold, const std::string &expected_type = kType) {
  auto envelope = parse_envelope(text);
  if (!envelope) {
    return std::move(envelope).error();
  }
  return verify_envelope(*envelope, expected_type, trusted(), threshold);
}

} // namespace

TEST_CASE("sign_envelope signs with every key and verifies", "[dsse][sign]") {
  const Envelope one = signed_by({&keys().a});
  REQUIRE(one.signatures.size() == 1);
  CHECK(one.signatures[0].keyid == keys().a.key_id());
  CHECK(one.payload_type == kType);
  CHECK(as_text(one.payload) == kPayload);

  const Envelope two = signed_by({&keys().a, &keys().b});
  auto verified = receive(text_of(two), 2);
  REQUIRE(verified.ok());
  CHECK(as_text(verified->payload) == kPayload);
  CHECK(verified->key_ids == std::vector<std::string>{keys().a.key_id(), keys().b.key_id()});
}

TEST_CASE("sign_envelope refuses bad arguments", "[dsse][sign]") {
  const PrivateKey *null_key = nullptr;
  struct Case {
    const char *why;
    Result<Envelope> result;
  };
  const std::vector<Case> cases = {
      {"no keys", sign_envelope(kType, kPayload, std::vector<const PrivateKey *>{})},
      {"null key", sign_envelope(kType, kPayload, {null_key})},
      {"same key twice", sign_envelope(kType, kPayload, {&keys().a, &keys().a})},
      {"empty payload type", sign_envelope("", kPayload, keys().a)},
      {"payload type not UTF-8", sign_envelope("type\xff", kPayload, keys().a)},
  };
  for (const auto &c : cases) {
    INFO(c.why);
    CHECK(c.result.code() == ErrorCode::InvalidArgument);
  }
}

TEST_CASE("verify_envelope refuses bad arguments", "[dsse][verify]") {
  const Envelope envelope = signed_by({&keys().a});
  const PublicKey a = keys().a.public_key();
  CHECK(verify_envelope(envelope, kType, {a}, 0).code() == ErrorCode::InvalidArgument);
  CHECK(verify_envelope(envelope, kType, {}, 1).code() == ErrorCode::InvalidArgument);
  CHECK(verify_envelope(envelope, kType, trusted(), 3).code() == ErrorCode::InvalidArgument);
  // The same key listed twice is one key: it cannot meet a threshold of two.
  CHECK(verify_envelope(envelope, kType, {a, a}, 2).code() == ErrorCode::InvalidArgument);
  CHECK(verify_envelope(envelope, "", {a}, 1).code() == ErrorCode::InvalidArgument);
  CHECK(verify_envelope(envelope, kType, {a, a}, 1).ok());
}

TEST_CASE("every tampered or malformed envelope is refused with its own code", "[dsse][tamper]") {
  const Keys &k = keys();
  const Envelope by_a = signed_by({&k.a});
  const std::string good = text_of(by_a);
  const std::string good_sig = base64_encode(by_a.signatures[0].sig);
  const std::string payload_b64 = base64_encode(kPayload);

  const auto with_signatures = [&](const std::vector<EnvelopeSignature> &signatures) {
    Envelope envelope = by_a;
    envelope.signatures = signatures;
    return text_of(envelope);
  };
  const auto signature_by = [&](const PrivateKey &key, const std::string &keyid, const std::string &payload,
                                const std::string &type) {
    auto sig = key.sign(pae(type, payload));
    REQUIRE(sig.ok());
    return EnvelopeSignature{keyid, *sig};
  };
  const EnvelopeSignature sig_a = by_a.signatures[0];
  const EnvelopeSignature sig_b = signature_by(k.b, k.b.key_id(), kPayload, kType);
  const EnvelopeSignature sig_u = signature_by(k.untrusted, k.untrusted.key_id(), kPayload, kType);

  Envelope flipped = by_a;
  flipped.payload[5] ^= 0x01;
  Envelope retyped = by_a;
  retyped.payload_type = "application/vnd.openmds.config+json";
  const Bytes raw_rs = mds::test::raw_from_der(sig_a.sig); // the same r and s without DER
  REQUIRE(der_from_raw(raw_rs) == sig_a.sig);
  Bytes trailing = sig_a.sig;
  trailing.push_back(0x00);
  Bytes flipped_sig = sig_a.sig;
  flipped_sig.back() ^= 0x01;
  std::vector<EnvelopeSignature> seventeen(17, sig_a);

  struct Case {
    const char *name;
    std::string text;
    std::size_t threshold;
    ErrorCode code;
  };
  const std::vector<Case> cases = {
      // Baselines: what must be accepted.
      {"untouched", good, 1, ErrorCode::Ok},
      {"no keyid: every trusted key is tried", with_signatures({{"", sig_a.sig}}), 1, ErrorCode::Ok},
      {"keyid names the other trusted key", with_signatures({{k.b.key_id(), sig_a.sig}}), 1, ErrorCode::Ok},
      {"keyid names an untrusted key", with_signatures({{k.untrusted.key_id(), sig_a.sig}}), 1, ErrorCode::Ok},
      {"a junk signature beside a good one", with_signatures({{"junk", Bytes(64, 7)}, sig_a}), 1, ErrorCode::Ok},
      {"threshold 2 met by two distinct keys", with_signatures({sig_a, sig_b}), 2, ErrorCode::Ok},

      // SECURITY.md #1, each with its own code.
      {"flipped payload byte", text_of(flipped), 1, ErrorCode::SignatureInvalid},
      {"changed payload type", text_of(retyped), 1, ErrorCode::PayloadTypeMismatch},
      {"untrusted key claiming a trusted id", with_signatures({{k.a.key_id(), sig_u.sig}}), 1,
       ErrorCode::SignatureInvalid},
      {"empty signature list", with_signatures({}), 1, ErrorCode::SignatureMissing},
      {"raw r||s where DER is expected", with_signatures({{sig_a.keyid, raw_rs}}), 1, ErrorCode::SignatureNotDer},
      {"trailing byte after the DER", with_signatures({{sig_a.keyid, trailing}}), 1, ErrorCode::SignatureNotDer},
      {"bad base64 in the payload", replace_once(good, payload_b64, payload_b64 + "A"), 1, ErrorCode::InvalidBase64},
      {"space in the payload's base64", replace_once(good, payload_b64, " " + payload_b64.substr(1)), 1,
       ErrorCode::InvalidBase64},
      {"non-canonical base64 in the payload", R"({"payload": "aGl=", "payloadType": "t", "signatures": []})", 1,
       ErrorCode::InvalidBase64},
      {"bad base64 in the sig", replace_once(good, good_sig, good_sig.substr(1)), 1, ErrorCode::InvalidBase64},
      {"bad character in the sig", replace_once(good, good_sig, "*" + good_sig.substr(1)), 1, ErrorCode::InvalidBase64},

      // More signature cases.
      {"unknown key with an unknown id", with_signatures({sig_u}), 1, ErrorCode::SignatureUntrustedKey},
      {"unknown key without an id", with_signatures({{"", sig_u.sig}}), 1, ErrorCode::SignatureInvalid},
      {"flipped signature bit", with_signatures({{sig_a.keyid, flipped_sig}}), 1, ErrorCode::SignatureInvalid},
      {"signed as another type, relabelled to the expected one",
       with_signatures({signature_by(k.a, k.a.key_id(), kPayload, "application/vnd.openmds.config+json")}), 1,
       ErrorCode::SignatureInvalid},
      {"empty sig", with_signatures({{sig_a.keyid, Bytes{}}}), 1, ErrorCode::SignatureNotDer},
      {"same signature twice under two ids (SECURITY #7)",
       with_signatures({{k.a.key_id(), sig_a.sig}, {k.b.key_id(), sig_a.sig}}), 2, ErrorCode::SignatureThreshold},
      {"same signature twice under one id", with_signatures({sig_a, sig_a}), 2, ErrorCode::SignatureThreshold},
      {"threshold 2, one trusted and one untrusted signer", with_signatures({sig_a, sig_u}), 2,
       ErrorCode::SignatureThreshold},
      {"not DER and invalid: invalid wins", with_signatures({{"", raw_rs}, {k.a.key_id(), flipped_sig}}), 1,
       ErrorCode::SignatureInvalid},
      {"not DER and untrusted: not DER wins", with_signatures({{"", raw_rs}, sig_u}), 1, ErrorCode::SignatureNotDer},
      {"17 signatures", with_signatures(seventeen), 1, ErrorCode::EnvelopeMalformed},

      // Structure.
      {"missing payload", R"({"payloadType": "t", "signatures": []})", 1, ErrorCode::EnvelopeMalformed},
      {"missing payloadType", R"({"payload": "", "signatures": []})", 1, ErrorCode::EnvelopeMalformed},
      {"missing signatures", R"({"payload": "", "payloadType": "t"})", 1, ErrorCode::EnvelopeMalformed},
      {"missing sig", R"({"payload": "", "payloadType": "t", "signatures": [{"keyid": "k"}]})", 1,
       ErrorCode::EnvelopeMalformed},
      {"payload is a number", R"({"payload": 1, "payloadType": "t", "signatures": []})", 1,
       ErrorCode::EnvelopeMalformed},
      {"payloadType is null", R"({"payload": "", "payloadType": null, "signatures": []})", 1,
       ErrorCode::EnvelopeMalformed},
      {"signatures is an object", R"({"payload": "", "payloadType": "t", "signatures": {}})", 1,
       ErrorCode::EnvelopeMalformed},
      {"a signature is a string", R"({"payload": "", "payloadType": "t", "signatures": ["MAA="]})", 1,
       ErrorCode::EnvelopeMalformed},
      {"sig is an array", R"({"payload": "", "payloadType": "t", "signatures": [{"sig": []}]})", 1,
       ErrorCode::EnvelopeMalformed},
      {"keyid is a number", R"({"payload": "", "payloadType": "t", "signatures": [{"keyid": 1, "sig": ""}]})", 1,
       ErrorCode::EnvelopeMalformed},
      {"unknown top-level field", replace_once(good, R"("payload":)", R"("extra":1,"payload":)"), 1,
       ErrorCode::EnvelopeMalformed},
      {"unknown signature field", replace_once(good, R"("sig":)", R"("alg":"ES256","sig":)"), 1,
       ErrorCode::EnvelopeMalformed},
      {"payloadUtf8 (a later DSSE draft)", replace_once(good, R"("payload":)", R"("payloadUtf8":"x","payload":)"), 1,
       ErrorCode::EnvelopeMalformed},
      {"duplicate payload",
       replace_once(good, R"("payload":)",
                    R"("payload":"",)"
                    R"("payload":)"),
       1, ErrorCode::EnvelopeMalformed},
      {"duplicate payloadType", replace_once(good, R"("payloadType":)", R"("payloadType":"t","payloadType":)"), 1,
       ErrorCode::EnvelopeMalformed},
      {"duplicate sig", replace_once(good, R"("sig":)", R"("sig":"","sig":)"), 1, ErrorCode::EnvelopeMalformed},
      {"top level is an array", "[" + good + "]", 1, ErrorCode::EnvelopeMalformed},
      {"not JSON", "payload=aGk=", 1, ErrorCode::EnvelopeMalformed},
      {"truncated JSON", good.substr(0, good.size() - 1), 1, ErrorCode::EnvelopeMalformed},
      {"trailing garbage", good + "x", 1, ErrorCode::EnvelopeMalformed},
      {"empty text", "", 1, ErrorCode::EnvelopeMalformed},
  };
  for (const auto &c : cases) {
    INFO(c.name << "\n" << c.text);
    auto result = receive(c.text, c.threshold);
    CHECK(result.code() == c.code);
    if (!result.ok()) {
      CHECK_FALSE(result.error().message.empty());
    }
  }
}

TEST_CASE("URL-safe envelopes from other signers are accepted", "[dsse][verify]") {
  // A payload whose base64 uses the two symbols where the alphabets differ.
  const std::string payload = "\xfb\xff\xbf>?";
  const Envelope envelope = signed_by({&keys().a}, payload);
  std::string text = text_of(envelope);
  const std::string standard = base64_encode(payload);
  REQUIRE(standard.find_first_of("+/") != std::string::npos);
  text = replace_once(text, standard, base64_encode(payload, Base64Alphabet::UrlSafe));
  auto verified = receive(text, 1);
  REQUIRE(verified.ok());
  CHECK(as_text(verified->payload) == payload);
}

TEST_CASE("envelope messages name the field and the cause", "[dsse][json]") {
  const std::string good = text_of(signed_by({&keys().a}));
  auto unknown = parse_envelope(replace_once(good, R"("payload":)", R"("extra":1,"payload":)"));
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message.find("json_unknown_field") != std::string::npos);
  CHECK(unknown.error().message.find("extra") != std::string::npos);

  auto duplicate = parse_envelope(replace_once(good, R"("sig":)", R"("sig":"","sig":)"));
  REQUIRE_FALSE(duplicate.ok());
  CHECK(duplicate.error().message.find("json_duplicate_key") != std::string::npos);

  auto bad_sig = parse_envelope(R"({"payload": "", "payloadType": "t", "signatures": [{"sig": "MAA"}]})");
  REQUIRE_FALSE(bad_sig.ok());
  CHECK(bad_sig.error().message.find("envelope.signatures[0].sig") != std::string::npos);
}

TEST_CASE("sender-chosen strings reach error messages short and printable", "[dsse][verify]") {
  Envelope envelope = signed_by({&keys().untrusted});
  envelope.signatures[0].keyid = std::string(1000, 'k') + "\n";
  auto untrusted = verify_envelope(envelope, kType, trusted());
  REQUIRE(untrusted.code() == ErrorCode::SignatureUntrustedKey);
  CHECK(untrusted.error().message.size() < 300);
  CHECK(untrusted.error().message.find('\n') == std::string::npos);

  envelope.payload_type = "evil\x1b[2J\"type";
  auto mismatch = verify_envelope(envelope, kType, trusted());
  REQUIRE(mismatch.code() == ErrorCode::PayloadTypeMismatch);
  CHECK(mismatch.error().message.find(R"("evil\x1b[2J\x22type")") != std::string::npos);
}

TEST_CASE("envelope size is limited", "[dsse][json]") {
  const std::string good = text_of(signed_by({&keys().a}));
  EnvelopeLimits limits;
  limits.max_bytes = good.size() - 1;
  CHECK(parse_envelope(good, limits).code() == ErrorCode::EnvelopeMalformed);
  limits.max_bytes = good.size();
  CHECK(parse_envelope(good, limits).ok());
  limits.max_signatures = 0;
  CHECK(parse_envelope(good, limits).code() == ErrorCode::EnvelopeMalformed);
}
