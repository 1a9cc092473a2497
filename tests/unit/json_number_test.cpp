// Numbers through the strict JSON layer: the same value on every compiler and C++
// library, correctly rounded, integers kept as integers (see json.cpp for why RapidJSON
// 1.1.0 alone is not enough).
#include "core/json/json.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace json = mds::core::json;
using mds::ErrorCode;

TEST_CASE("doubles parse to the correctly rounded value", "[json]") {
  const std::string numbers[] = {
      "0.0", "-0.0", "1.5", "-2.25", "0.1", "1e23", "3.14159", "123456789012345678901234567890",
      // zeros with large exponents: compiler-dependent garbage from RapidJSON 1.1.0 alone
      "0e93", "0.0e50", "0.000e-50", "0e-400", "0E+300", "-0e99", "0." + std::string(500, '0') + "e200",
      // found by fuzz_manifest: RapidJSON 1.1.0 alone overflows its 64-bit significand
      "0.000184467440737095516156", "184467440737095516156",
      // the normal doubles up to their edges
      "2.2250738585072014e-308", "-2.2250738585072014e-308", "1.7976931348623157e308", "1e300",
      "0." + std::string(1000, '0') + "1e1000", "1" + std::string(300, '0'), "18446744073709551616"};
  for (const auto &text : numbers) {
    INFO(text);
    auto doc = json::parse(text);
    INFO((doc ? std::string() : mds::describe(doc.error())));
    REQUIRE(doc.ok());
    REQUIRE(doc->root().IsDouble());
    const double expected = std::strtod(text.c_str(), nullptr);
    CHECK(doc->root().GetDouble() == expected);
    CHECK(std::signbit(doc->root().GetDouble()) == std::signbit(expected));
  }
}

TEST_CASE("zeros inside documents stay zero", "[json]") {
  auto doc = json::parse(R"({"a": [0e30, 0e93, -0.0e300], "b": 0.000e308})");
  REQUIRE(doc.ok());
  for (const auto &value : doc->root()["a"].GetArray()) {
    CHECK(value.GetDouble() == 0.0);
  }
  CHECK(std::signbit(doc->root()["a"][2].GetDouble()));
  CHECK(doc->root()["b"].GetDouble() == 0.0);
}

TEST_CASE("numbers beyond the normal doubles are refused", "[json]") {
  struct Case {
    std::string text;
    ErrorCode code;
  };
  const Case cases[] = {
      {"1.7976931348623159e308", ErrorCode::JsonValueOutOfRange}, // rounds to infinity
      {"9e308", ErrorCode::JsonValueOutOfRange},                  // RapidJSON 1.1.0 alone: -2.8e-308
      {"-9e308", ErrorCode::JsonValueOutOfRange},
      {"2.2250738585072011e-308", ErrorCode::JsonValueOutOfRange}, // subnormal
      {"4.9e-324", ErrorCode::JsonValueOutOfRange},
      {"1e-324", ErrorCode::JsonValueOutOfRange}, // RapidJSON 1.1.0 alone: NaN
      {"[1, 2e-400]", ErrorCode::JsonValueOutOfRange},
      {"2" + std::string(308, '0'), ErrorCode::JsonValueOutOfRange}, // RapidJSON's own check on long integers
      // Found by fuzz_manifest: RapidJSON 1.1.0 alone reads past its table of powers.
      {"-2" + std::string(295, '2') + ".28e97", ErrorCode::JsonValueOutOfRange},
      // RapidJSON refuses these itself, before any conversion ("number too big").
      {"1e309", ErrorCode::JsonValueOutOfRange},
      {"1e400", ErrorCode::JsonValueOutOfRange},
      {"0e400", ErrorCode::JsonValueOutOfRange},
  };
  for (const auto &c : cases) {
    INFO(c.text.substr(0, 80));
    CHECK(json::parse(c.text).code() == c.code);
  }
}

TEST_CASE("integers keep their integer types", "[json]") {
  auto doc =
      json::parse("[0, -0, 7, -1, 4294967296, 18446744073709551615, -9223372036854775808, 18446744073709551616]");
  REQUIRE(doc.ok());
  const auto &a = doc->root();
  CHECK(a[0].IsUint64());
  CHECK(a[0].GetUint64() == 0);
  CHECK(a[1].IsInt64());
  CHECK(a[1].GetInt64() == 0);
  CHECK(a[2].IsInt());
  CHECK(a[2].GetInt() == 7);
  CHECK(a[3].IsInt());
  CHECK_FALSE(a[3].IsUint64());
  CHECK(a[4].IsUint64());
  CHECK_FALSE(a[4].IsUint());
  CHECK(a[5].IsUint64());
  CHECK(a[5].GetUint64() == UINT64_MAX);
  CHECK(a[6].IsInt64());
  CHECK(a[6].GetInt64() == INT64_MIN);
  CHECK(a[7].IsDouble()); // 2^64 no longer fits an integer
  CHECK(a[7].GetDouble() == 18446744073709551616.0);

  // Integers are written back as they came.
  auto integers = json::parse("[0,7,-1,4294967296,18446744073709551615,-9223372036854775808]");
  REQUIRE(integers.ok());
  CHECK(json::serialize(integers->root()) == "[0,7,-1,4294967296,18446744073709551615,-9223372036854775808]");
}

TEST_CASE("malformed numbers are still refused", "[json]") {
  for (const char *text : {"01", "00.5", "1.", ".5", "1e", "-", "+1", "1e+", "0x10", "NaN", "Infinity", "-Infinity"}) {
    INFO(text);
    CHECK(json::parse(text).code() == ErrorCode::JsonSyntax);
  }
}
