// Helpers shared by the crypto and DSSE unit tests.
#ifndef MDS_TESTS_SUPPORT_CRYPTO_SUPPORT_HPP
#define MDS_TESTS_SUPPORT_CRYPTO_SUPPORT_HPP

#include "core/crypto/bytes.hpp"
#include "core/crypto/encoding.hpp"
#include "support/conformance.hpp"

#include <mds/error.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace Catch {
// Failures print "signature_invalid" rather than 300.
template <> struct StringMaker<mds::ErrorCode> {
  static std::string convert(mds::ErrorCode code) { return mds::to_string(code); }
};
} // namespace Catch

namespace mds::test {

// A file under tests/data/.
inline std::string read_test_data(const std::string &relative) {
  const auto path = std::filesystem::path(MDS_TEST_DATA_DIR) / relative;
  REQUIRE(std::filesystem::is_regular_file(path));
  return read_file(path);
}

// Bytes written as lower-case hex in a test; a typo fails the test that uses it.
inline core::crypto::Bytes from_hex(std::string_view hex) {
  auto bytes = core::crypto::hex_decode(hex);
  REQUIRE(bytes.ok());
  return *bytes;
}

// The DER body of a PEM file (the base64 between the BEGIN and END lines).
inline core::crypto::Bytes pem_body(const std::string &pem) {
  const auto begin = pem.find('\n');
  const auto end = pem.find("-----END");
  REQUIRE(begin != std::string::npos);
  REQUIRE(end != std::string::npos);
  std::string base64;
  for (char c : pem.substr(begin + 1, end - begin - 1)) {
    if (c != '\n') {
      base64 += c;
    }
  }
  auto der = core::crypto::base64_decode(base64);
  REQUIRE(der.ok());
  return *der;
}

// DER of one INTEGER holding a big-endian unsigned value (minimal, with a 0x00 where the top
// bit is set).
inline core::crypto::Bytes der_integer(core::crypto::ByteView magnitude) {
  std::size_t skip = 0;
  while (skip + 1 < magnitude.size() && magnitude[skip] == 0) {
    ++skip;
  }
  core::crypto::Bytes content(magnitude.begin() + skip, magnitude.end());
  if (content.empty() || (content[0] & 0x80) != 0) {
    content.insert(content.begin(), 0x00);
  }
  core::crypto::Bytes out{0x02, static_cast<std::uint8_t>(content.size())};
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

// Raw r||s (64 bytes, as PSA and the DSSE spec's example write it) to a DER signature.
inline core::crypto::Bytes der_from_raw(core::crypto::ByteView raw) {
  REQUIRE(raw.size() == 64);
  const auto r = der_integer(core::crypto::ByteView(raw.data(), 32));
  const auto s = der_integer(core::crypto::ByteView(raw.data() + 32, 32));
  core::crypto::Bytes out{0x30, static_cast<std::uint8_t>(r.size() + s.size())};
  out.insert(out.end(), r.begin(), r.end());
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

// The inverse of der_from_raw, for a signature that passed check_der_signature.
inline core::crypto::Bytes raw_from_der(core::crypto::ByteView der) {
  core::crypto::Bytes raw(64, 0);
  std::size_t offset = 2;
  for (std::size_t half = 0; half < 2; ++half) {
    const std::size_t size = der[offset + 1];
    const auto *value = der.data() + offset + 2;
    const std::size_t significant = value[0] == 0 ? size - 1 : size;
    REQUIRE(significant <= 32);
    std::copy(value + (size - significant), value + size,
              raw.begin() + static_cast<std::ptrdiff_t>(half * 32 + 32 - significant));
    offset += 2 + size;
  }
  return raw;
}

} // namespace mds::test

#endif
