// SHA-256, encodings, constant-time compare, strict DER signatures and P-256 keys.
#include "core/crypto/constant_time.hpp"
#include "core/crypto/der_signature.hpp"
#include "core/crypto/ecdsa.hpp"
#include "core/crypto/encoding.hpp"
#include "core/crypto/pem.hpp"
#include "core/crypto/sha256.hpp"
#include "support/crypto_support.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

using mds::ErrorCode;
using mds::Result;
using mds::test::from_hex;
using mds::test::read_test_data;
using namespace mds::core::crypto;

namespace {

// Deterministic filler bytes for round trips (not random: failures must reproduce).
Bytes pattern_bytes(std::size_t size, std::uint32_t seed) {
  Bytes out(size);
  for (auto &byte : out) {
    seed = seed * 1103515245u + 12345u;
    byte = static_cast<std::uint8_t>(seed >> 16);
  }
  return out;
}

std::string digest_hex(const Digest &digest) {
  return hex_encode(digest);
}

} // namespace

// --- SHA-256 -------------------------------------------------------------------------------

// FIPS 180-2 / NIST CAVP example messages.
struct Sha256Vector {
  std::string message;
  std::string digest;
};
const std::vector<Sha256Vector> kSha256Vectors = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
};

TEST_CASE("SHA-256 matches the NIST example vectors", "[crypto][sha256]") {
  for (const auto &vector : kSha256Vectors) {
    INFO(vector.message);
    CHECK(digest_hex(sha256(vector.message)) == vector.digest);
  }
  Sha256 million;
  const std::string thousand(1000, 'a');
  for (int i = 0; i < 1000; ++i) {
    million.update(thousand);
  }
  CHECK(digest_hex(million.finish()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  CHECK_FALSE(million.failed());
}

TEST_CASE("streaming SHA-256 gives the same digest however the input is split", "[crypto][sha256]") {
  for (const auto &vector : kSha256Vectors) {
    const std::string &message = vector.message;
    for (std::size_t split = 0; split <= message.size(); ++split) {
      INFO(message << " split at " << split);
      Sha256 hasher;
      hasher.update(std::string_view(message).substr(0, split));
      hasher.update(std::string_view(message).substr(split));
      CHECK(digest_hex(hasher.finish()) == vector.digest);
    }
    Sha256 byte_by_byte;
    for (char c : message) {
      byte_by_byte.update(std::string_view(&c, 1));
    }
    CHECK(digest_hex(byte_by_byte.finish()) == vector.digest);
  }
}

TEST_CASE("finish() starts the hasher over, and a copy continues on its own", "[crypto][sha256]") {
  Sha256 hasher;
  hasher.update(std::string_view("ab"));
  Sha256 copy = hasher;
  hasher.update(std::string_view("c"));
  CHECK(digest_hex(hasher.finish()) == kSha256Vectors[1].digest);
  CHECK(digest_hex(hasher.finish()) == kSha256Vectors[0].digest); // empty again
  copy.update(std::string_view("c"));
  CHECK(digest_hex(copy.finish()) == kSha256Vectors[1].digest);
}

// --- base64 --------------------------------------------------------------------------------

TEST_CASE("base64 encodes the RFC 4648 examples", "[crypto][base64]") {
  const std::vector<std::pair<std::string, std::string>> examples = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto &[plain, encoded] : examples) {
    CHECK(base64_encode(plain) == encoded);
    auto decoded = base64_decode(encoded);
    REQUIRE(decoded.ok());
    CHECK(*decoded == to_bytes(plain));
  }
}

TEST_CASE("base64 round-trips every length in both alphabets", "[crypto][base64]") {
  for (std::size_t size = 0; size <= 96; ++size) {
    const Bytes bytes = pattern_bytes(size, static_cast<std::uint32_t>(size));
    for (auto alphabet : {Base64Alphabet::Standard, Base64Alphabet::UrlSafe}) {
      const std::string text = base64_encode(bytes, alphabet);
      INFO(text);
      auto exact = base64_decode(text, alphabet);
      REQUIRE(exact.ok());
      CHECK(*exact == bytes);
      auto either = base64_decode(text, Base64Alphabet::StandardOrUrlSafe);
      REQUIRE(either.ok());
      CHECK(*either == bytes);
    }
  }
  // Every byte value, so every symbol of both alphabets appears.
  Bytes all(256);
  for (std::size_t i = 0; i < all.size(); ++i) {
    all[i] = static_cast<std::uint8_t>(i);
  }
  CHECK(*base64_decode(base64_encode(all)) == all);
  CHECK(*base64_decode(base64_encode(all, Base64Alphabet::UrlSafe), Base64Alphabet::UrlSafe) == all);
}

TEST_CASE("the two alphabets differ only in their last two symbols", "[crypto][base64]") {
  // The URL-safe example of the DSSE test vectors: bytes fb ff bf 3e 3f.
  const Bytes bytes = from_hex("fbffbf3e3f");
  CHECK(base64_encode(bytes) == "+/+/Pj8=");
  CHECK(base64_encode(bytes, Base64Alphabet::UrlSafe) == "-_-_Pj8=");
  CHECK(*base64_decode("-_-_Pj8=", Base64Alphabet::StandardOrUrlSafe) == bytes);
  CHECK(*base64_decode("+/+/Pj8=", Base64Alphabet::StandardOrUrlSafe) == bytes);
}

TEST_CASE("non-canonical or malformed base64 is refused", "[crypto][base64]") {
  struct Case {
    std::string text;
    Base64Alphabet alphabet;
    const char *why;
  };
  const auto standard = Base64Alphabet::Standard;
  const auto url_safe = Base64Alphabet::UrlSafe;
  const auto either = Base64Alphabet::StandardOrUrlSafe;
  const std::vector<Case> cases = {
      {"Zg", standard, "missing padding"},
      {"Zg=", standard, "short padding"},
      {"Zm9vY", standard, "length not a multiple of 4"},
      {"Zg===", standard, "too much padding"},
      {"Z===", standard, "three padding characters"},
      {"====", standard, "padding only"},
      {"Zg=a", standard, "padding before the end"},
      {"Zg==Zg==", standard, "padding in the middle"},
      {"Zh==", standard, "unused bits set after one byte"},
      {"Zm9=", standard, "unused bits set after two bytes"},
      {"Zm9v ", standard, "trailing space"},
      {" Zm9", standard, "leading space"},
      {"Zm 9", standard, "inner space"},
      {"Zm9v\nYmFy", standard, "line break"},
      {"Zm9v\r\n", standard, "CRLF"},
      {"Zm9\t", standard, "tab"},
      {std::string("Zm9\0", 4), standard, "NUL"},
      {"Zm9\xc3", standard, "non-ASCII byte"},
      {"Zm9.", standard, "punctuation"},
      {"Zm-v", standard, "URL-safe symbol in the standard alphabet"},
      {"Zm_v", standard, "URL-safe symbol in the standard alphabet"},
      {"Zm+v", url_safe, "standard symbol in the URL-safe alphabet"},
      {"Zm/v", url_safe, "standard symbol in the URL-safe alphabet"},
      {"+-AA", either, "both alphabets in one string"},
      {"_/AA", either, "both alphabets in one string"},
      {"-_-_Pj8", either, "URL-safe without padding"},
  };
  for (const auto &c : cases) {
    INFO(c.why << ": \"" << c.text << "\"");
    auto decoded = base64_decode(c.text, c.alphabet);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.code() == ErrorCode::InvalidBase64);
  }
}

// --- hex -----------------------------------------------------------------------------------

TEST_CASE("hex round-trips and is lower-case", "[crypto][hex]") {
  CHECK(hex_encode(Bytes{}).empty());
  CHECK(hex_encode(Bytes{0x00, 0x01, 0x7f, 0x80, 0xab, 0xff}) == "00017f80abff");
  for (std::size_t size = 0; size <= 40; ++size) {
    const Bytes bytes = pattern_bytes(size, 7);
    auto decoded = hex_decode(hex_encode(bytes));
    REQUIRE(decoded.ok());
    CHECK(*decoded == bytes);
  }
  CHECK(hex_decode("00ff", 2).ok());
}

TEST_CASE("malformed hex is refused", "[crypto][hex]") {
  struct Case {
    std::string text;
    std::optional<std::size_t> expected_size;
    const char *why;
  };
  const std::vector<Case> cases = {
      {"0", std::nullopt, "odd length"},
      {"abc", std::nullopt, "odd length"},
      {"0g", std::nullopt, "not a hex digit"},
      {"0A", std::nullopt, "upper case"},
      {"FF", std::nullopt, "upper case"},
      {"0x00", std::nullopt, "0x prefix"},
      {" 0", std::nullopt, "space"},
      {std::string("0\0", 2), std::nullopt, "NUL"},
      {"00ff", 3, "too short for the expected size"},
      {"00ff", 1, "too long for the expected size"},
  };
  for (const auto &c : cases) {
    INFO(c.why << ": \"" << c.text << "\"");
    auto decoded = hex_decode(c.text, c.expected_size);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.code() == ErrorCode::InvalidHex);
  }
}

// --- constant-time compare -----------------------------------------------------------------

TEST_CASE("constant_time_equal compares contents and sizes", "[crypto][constant_time]") {
  struct Case {
    std::string a;
    std::string b;
    bool equal;
  };
  const std::vector<Case> cases = {
      {"", "", true},
      {"token", "token", true},
      {"token", "Token", false},  // first byte differs
      {"token", "tokeN", false},  // last byte differs
      {"token", "toke", false},   // prefix
      {"token", "tokens", false}, // longer
      {"", "x", false},
      {std::string("a\0b", 3), std::string("a\0c", 3), false},
  };
  for (const auto &c : cases) {
    INFO(c.a << " vs " << c.b);
    CHECK(constant_time_equal(c.a, c.b) == c.equal);
    CHECK(constant_time_equal(c.b, c.a) == c.equal);
  }
}

// --- strict DER signatures -----------------------------------------------------------------

namespace {

// A well-formed signature: r has its top bit set (so a 0x00 pad), s does not.
Bytes sample_der_signature() {
  Bytes r(32, 0x11);
  r[0] = 0x81;
  Bytes s(32, 0x22);
  Bytes raw = r;
  raw.insert(raw.end(), s.begin(), s.end());
  return mds::test::der_from_raw(raw);
}

} // namespace

TEST_CASE("strict DER signatures pass the check, every deviation fails it", "[crypto][der]") {
  const Bytes good = sample_der_signature();
  REQUIRE(good.size() == 2 + 35 + 34);
  CHECK(check_der_signature(good).ok());
  CHECK(check_der_signature(from_hex("3006020101020101")).ok()); // r = s = 1: well-formed

  struct Case {
    Bytes signature;
    const char *why;
  };
  Bytes trailing = good;
  trailing.push_back(0x00);
  Bytes long_form = {0x30, 0x81, static_cast<std::uint8_t>(good.size() - 2)};
  long_form.insert(long_form.end(), good.begin() + 2, good.end());
  Bytes set_tag = good;
  set_tag[0] = 0x31;
  Bytes sequence_too_long = good;
  sequence_too_long[1] = static_cast<std::uint8_t>(sequence_too_long[1] + 1);
  Bytes sequence_too_short = good;
  sequence_too_short[1] = static_cast<std::uint8_t>(sequence_too_short[1] - 1);
  // r of 33 significant bytes: well-formed DER, but no P-256 scalar is that long.
  Bytes oversized_r = {0x30, 0x26, 0x02, 0x21, 0x01};
  oversized_r.insert(oversized_r.end(), 32, 0x00);
  oversized_r.insert(oversized_r.end(), {0x02, 0x01, 0x01});
  Bytes oversized_padded_r = {0x30, 0x27, 0x02, 0x22, 0x00, 0x80};
  oversized_padded_r.insert(oversized_padded_r.end(), 32, 0x00);
  oversized_padded_r.insert(oversized_padded_r.end(), {0x02, 0x01, 0x01});

  const std::vector<Case> cases = {
      {{}, "empty"},
      {{0x30}, "one byte"},
      {Bytes(64, 0x42), "raw r||s"},
      {pattern_bytes(64, 3), "raw r||s"},
      {trailing, "trailing byte after the SEQUENCE"},
      {Bytes(good.begin(), good.end() - 1), "truncated"},
      {long_form, "long-form SEQUENCE length"},
      {set_tag, "SET instead of SEQUENCE"},
      {sequence_too_long, "SEQUENCE length runs past the end"},
      {sequence_too_short, "SEQUENCE length ends inside s"},
      {from_hex("3000"), "empty SEQUENCE"},
      {from_hex("3003020101"), "only one INTEGER"},
      {from_hex("3009020101020101020101"), "three INTEGERs"},
      {from_hex("30080201010201010000"), "bytes after s inside the SEQUENCE"},
      {from_hex("3006030101020101"), "r is not an INTEGER"},
      {from_hex("3006020101040101"), "s is not an INTEGER"},
      {from_hex("30050200020101"), "empty INTEGER"},
      {from_hex("3006020181020101"), "negative r"},
      {from_hex("3006020101020181"), "negative s"},
      {from_hex("300702020001020101"), "r with a superfluous leading zero"},
      {from_hex("300702010102020001"), "s with a superfluous leading zero"},
      {from_hex("30070281010101020101"), "long-form INTEGER length"},
      {oversized_r, "r longer than 32 bytes"},
      {oversized_padded_r, "r longer than 32 bytes after its 0x00 pad"},
  };
  for (const auto &c : cases) {
    INFO(c.why << ": " << hex_encode(c.signature));
    auto checked = check_der_signature(c.signature);
    REQUIRE_FALSE(checked.ok());
    CHECK(checked.code() == ErrorCode::SignatureNotDer);
  }
}

// --- PEM -----------------------------------------------------------------------------------

TEST_CASE("PEM armour round-trips and malformed armour is refused", "[crypto][pem]") {
  const Bytes der = pattern_bytes(100, 5);
  const std::string pem = pem_encode("PUBLIC KEY", der);
  auto block = pem_decode(pem);
  REQUIRE(block.ok());
  CHECK(block->label == "PUBLIC KEY");
  CHECK(block->der == der);

  std::string crlf;
  for (char c : pem) {
    crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  }
  CHECK(pem_decode(crlf).ok());
  CHECK(pem_decode("\n  " + pem + "\n\n").ok()); // whitespace around the block

  const std::string body = base64_encode(der);
  const std::vector<std::pair<std::string, const char *>> cases = {
      {"", "empty"},
      {body, "no armour"},
      {"junk\n" + pem, "text before the block"},
      {pem + "junk\n", "text after the block"},
      {"-----BEGIN PUBLIC KEY-----\n" + body + "\n-----END PRIVATE KEY-----\n", "END label differs"},
      {"-----BEGIN PUBLIC KEY-----\n" + body + "\n", "no END line"},
      {"-----BEGIN PUBLIC KEY\n" + body + "\n-----END PUBLIC KEY-----\n", "unterminated BEGIN"},
      {"-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n", "empty body"},
      {"-----BEGIN PUBLIC KEY-----\n" + body + "-----END PUBLIC KEY-----\n", "END not on its own line"},
      {"-----BEGIN PUBLIC KEY-----\n" + body.substr(0, 10) + " " + body.substr(10) + "\n-----END PUBLIC KEY-----\n",
       "space in the body"},
      {"-----BEGIN PUBLIC KEY-----\nProc-Type: 4,ENCRYPTED\n\n" + body + "\n-----END PUBLIC KEY-----\n", "headers"},
      {"-----BEGIN PUBLIC KEY-----\n" + body.substr(0, body.size() - 1) + "\n-----END PUBLIC KEY-----\n",
       "truncated base64"},
  };
  for (const auto &[text, why] : cases) {
    INFO(why);
    auto decoded = pem_decode(text);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.code() == ErrorCode::KeyInvalid);
  }
}

// --- keys ----------------------------------------------------------------------------------

namespace {

// From tests/data/keys/README.md: computed with OpenSSL, not with the code under test.
constexpr const char *kFixtureKeyId = "45fca8de97d53f14cd873d2a4b04237e116c0f0bd4d16e1e517f2648be2afb91";

PublicKey fixture_public_key() {
  auto key = PublicKey::from_pem(read_test_data("keys/p256-public.pem"));
  REQUIRE(key.ok());
  return *key;
}

PrivateKey fixture_private_key() {
  auto key = PrivateKey::from_pem(read_test_data("keys/p256-sec1.pem"));
  REQUIRE(key.ok());
  return std::move(key).value();
}

} // namespace

TEST_CASE("a public key loads from PEM and DER with the same id", "[crypto][keys]") {
  const std::string pem = read_test_data("keys/p256-public.pem");
  auto from_pem = PublicKey::from_pem(pem);
  REQUIRE(from_pem.ok());
  CHECK(from_pem->key_id() == kFixtureKeyId);
  CHECK(from_pem->der().size() == 91);
  CHECK(from_pem->der() == mds::test::pem_body(pem));
  CHECK(from_pem->to_pem() == pem); // same armour as OpenSSL writes

  auto from_der = PublicKey::from_der(from_pem->der());
  REQUIRE(from_der.ok());
  CHECK(from_der->key_id() == kFixtureKeyId);
  CHECK(*from_der == *from_pem);

  auto loaded_pem = PublicKey::load(pem);
  auto loaded_der = PublicKey::load(from_pem->der());
  REQUIRE(loaded_pem.ok());
  REQUIRE(loaded_der.ok());
  CHECK(loaded_pem->key_id() == kFixtureKeyId);
  CHECK(loaded_der->key_id() == kFixtureKeyId);
}

TEST_CASE("a private key loads from SEC1 and PKCS#8, PEM and DER, as the same key", "[crypto][keys]") {
  const std::string sec1_pem = read_test_data("keys/p256-sec1.pem");
  const std::string pkcs8_pem = read_test_data("keys/p256-pkcs8.pem");
  const auto forms = [&] {
    std::vector<std::pair<const char *, Result<PrivateKey>>> out;
    out.emplace_back("SEC1 PEM", PrivateKey::from_pem(sec1_pem));
    out.emplace_back("PKCS#8 PEM", PrivateKey::from_pem(pkcs8_pem));
    out.emplace_back("SEC1 DER", PrivateKey::from_der(mds::test::pem_body(sec1_pem)));
    out.emplace_back("PKCS#8 DER", PrivateKey::from_der(mds::test::pem_body(pkcs8_pem)));
    out.emplace_back("SEC1 via load()", PrivateKey::load(sec1_pem));
    out.emplace_back("PKCS#8 DER via load()", PrivateKey::load(mds::test::pem_body(pkcs8_pem)));
    return out;
  }();
  for (const auto &[name, key] : forms) {
    INFO(name);
    REQUIRE(key.ok());
    CHECK(key->key_id() == kFixtureKeyId);
    CHECK(key->public_key() == fixture_public_key());
  }
}

TEST_CASE("private keys round-trip through PEM and keep their id", "[crypto][keys]") {
  auto generated = PrivateKey::generate();
  REQUIRE(generated.ok());
  CHECK(generated->key_id().size() == 64);
  auto pem = generated->to_pem();
  REQUIRE(pem.ok());
  CHECK(pem->rfind("-----BEGIN EC PRIVATE KEY-----\n", 0) == 0);
  auto reloaded = PrivateKey::from_pem(*pem);
  REQUIRE(reloaded.ok());
  CHECK(reloaded->key_id() == generated->key_id());
  CHECK(reloaded->public_key() == generated->public_key());
  CHECK(*reloaded->to_pem() == *pem);

  auto public_again = PublicKey::from_pem(generated->public_key().to_pem());
  REQUIRE(public_again.ok());
  CHECK(public_again->key_id() == generated->key_id());

  auto other = PrivateKey::generate();
  REQUIRE(other.ok());
  CHECK(other->key_id() != generated->key_id());
}

TEST_CASE("keys that are not P-256, or not well-formed, are refused", "[crypto][keys]") {
  const Bytes public_der = fixture_public_key().der();
  Bytes public_der_trailing = public_der;
  public_der_trailing.push_back(0x00);
  // BER, not DER: the outer length in long form (81 59 for 59). mbedTLS reads it.
  Bytes long_form_length = {0x30, 0x81};
  long_form_length.insert(long_form_length.end(), public_der.begin() + 1, public_der.end());
  Bytes off_curve = public_der;
  off_curve.back() ^= 0x01;
  const std::string public_pem = read_test_data("keys/p256-public.pem");
  const std::string with_nul = public_pem.substr(0, 40) + std::string(1, '\0') + public_pem.substr(40);

  struct PublicCase {
    const char *why;
    Result<PublicKey> result;
  };
  std::vector<PublicCase> public_cases;
  const auto from_file = [&](const char *file) { return PublicKey::from_pem(read_test_data(file)); };
  public_cases.push_back({"P-384", from_file("keys/p384-public.pem")});
  public_cases.push_back({"secp256k1", from_file("keys/secp256k1-public.pem")});
  public_cases.push_back({"RSA", from_file("keys/rsa-public.pem")});
  public_cases.push_back({"Ed25519", from_file("keys/ed25519-public.pem")});
  public_cases.push_back({"compressed point", from_file("keys/p256-public-compressed.pem")});
  public_cases.push_back({"explicit curve parameters", from_file("keys/p256-public-explicit-params.pem")});
  public_cases.push_back({"a private key", from_file("keys/p256-sec1.pem")});
  public_cases.push_back({"garbage PEM", PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nZ2FyYmFnZQ==\n"
                                                             "-----END PUBLIC KEY-----\n")});
  public_cases.push_back({"NUL inside the PEM", PublicKey::from_pem(with_nul)});
  public_cases.push_back({"empty DER", PublicKey::from_der(Bytes{})});
  public_cases.push_back({"truncated DER", PublicKey::from_der(Bytes(public_der.begin(), public_der.end() - 1))});
  public_cases.push_back({"DER with a trailing byte", PublicKey::from_der(public_der_trailing)});
  public_cases.push_back({"DER with a long-form length", PublicKey::from_der(long_form_length)});
  public_cases.push_back({"point not on the curve", PublicKey::from_der(off_curve)});
  public_cases.push_back({"random bytes", PublicKey::from_der(pattern_bytes(91, 9))});
  public_cases.push_back({"empty load()", PublicKey::load(Bytes{})});
  for (const auto &c : public_cases) {
    INFO(c.why);
    REQUIRE_FALSE(c.result.ok());
    CHECK(c.result.code() == ErrorCode::KeyInvalid);
  }

  // A SEC1 key whose public point belongs to another key.
  const Bytes sec1 = mds::test::pem_body(read_test_data("keys/p256-sec1.pem"));
  auto stranger = PrivateKey::generate();
  REQUIRE(stranger.ok());
  Bytes mismatched = sec1;
  const Bytes &stranger_der = stranger->public_key().der();
  std::copy(stranger_der.end() - 64, stranger_der.end(), mismatched.end() - 64);
  const std::string sec1_pem = read_test_data("keys/p256-sec1.pem");

  struct PrivateCase {
    const char *why;
    Result<PrivateKey> result;
  };
  std::vector<PrivateCase> private_cases;
  const auto private_file = [&](const char *file) { return PrivateKey::from_pem(read_test_data(file)); };
  private_cases.push_back({"P-384", private_file("keys/p384-sec1.pem")});
  private_cases.push_back({"secp256k1", private_file("keys/secp256k1-sec1.pem")});
  private_cases.push_back({"RSA", private_file("keys/rsa-pkcs8.pem")});
  private_cases.push_back({"Ed25519", private_file("keys/ed25519-pkcs8.pem")});
  private_cases.push_back({"encrypted PKCS#8", private_file("keys/p256-pkcs8-encrypted.pem")});
  private_cases.push_back({"a public key", private_file("keys/p256-public.pem")});
  private_cases.push_back({"garbage PEM", PrivateKey::from_pem("-----BEGIN EC PRIVATE KEY-----\nZ2FyYmFnZQ==\n"
                                                               "-----END EC PRIVATE KEY-----\n")});
  private_cases.push_back({"empty DER", PrivateKey::from_der(Bytes{})});
  private_cases.push_back({"truncated DER", PrivateKey::from_der(Bytes(sec1.begin(), sec1.end() - 1))});
  private_cases.push_back({"half the DER", PrivateKey::from_der(Bytes(sec1.begin(), sec1.begin() + 60))});
  private_cases.push_back({"public point of another key", PrivateKey::from_der(mismatched)});
  private_cases.push_back({"a public key's DER", PrivateKey::from_der(public_der)});
  private_cases.push_back({"empty load()", PrivateKey::load(Bytes{})});
  for (const auto &c : private_cases) {
    INFO(c.why);
    REQUIRE_FALSE(c.result.ok());
    CHECK(c.result.code() == ErrorCode::KeyInvalid);
  }
  CHECK(private_cases[4].result.error().message.find("encrypted") != std::string::npos);
}

// --- sign and verify -----------------------------------------------------------------------

TEST_CASE("signatures are strict DER, deterministic, and verify", "[crypto][ecdsa]") {
  const PrivateKey key = fixture_private_key();
  const std::string message = "the message";
  auto first = key.sign(message);
  auto second = key.sign(message);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(*first == *second); // RFC 6979
  CHECK(check_der_signature(*first).ok());
  CHECK(key.public_key().verify(message, *first).ok());
  CHECK(fixture_public_key().verify(message, *first).ok());
  CHECK(*key.sign(std::string("another message")) != *first);

  // Many keys and messages: DER lengths vary (r and s with or without a 0x00 pad).
  for (int i = 0; i < 16; ++i) {
    auto generated = PrivateKey::generate();
    REQUIRE(generated.ok());
    const Bytes text = pattern_bytes(static_cast<std::size_t>(i) * 7, static_cast<std::uint32_t>(i));
    auto signature = generated->sign(text);
    REQUIRE(signature.ok());
    CHECK(generated->public_key().verify(text, *signature).ok());
  }
}

TEST_CASE("verification refuses each kind of bad signature with its own code", "[crypto][ecdsa]") {
  const PrivateKey key = fixture_private_key();
  const PublicKey public_key = key.public_key();
  const std::string message = "the message";
  const Bytes signature = *key.sign(message);
  auto other = PrivateKey::generate();
  REQUIRE(other.ok());

  Bytes flipped = signature;
  flipped[flipped.size() - 1] ^= 0x01;
  Bytes trailing = signature;
  trailing.push_back(0x00);

  struct Case {
    const char *why;
    std::string message;
    Bytes signature;
    ErrorCode code;
  };
  const std::vector<Case> cases = {
      {"another message", "the messagf", signature, ErrorCode::SignatureInvalid},
      {"flipped bit in s", message, flipped, ErrorCode::SignatureInvalid},
      {"another key's signature", message, *other->sign(message), ErrorCode::SignatureInvalid},
      {"r = s = 1", message, from_hex("3006020101020101"), ErrorCode::SignatureInvalid},
      {"r = 0", message, from_hex("3006020100020101"), ErrorCode::SignatureInvalid},
      {"raw r||s", message, Bytes(64, 0x01), ErrorCode::SignatureNotDer},
      {"trailing byte", message, trailing, ErrorCode::SignatureNotDer},
      {"empty", message, Bytes{}, ErrorCode::SignatureNotDer},
  };
  for (const auto &c : cases) {
    INFO(c.why);
    auto verified = public_key.verify(c.message, c.signature);
    REQUIRE_FALSE(verified.ok());
    CHECK(verified.code() == c.code);
  }
}
