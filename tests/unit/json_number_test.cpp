// Numbers through the strict JSON layer: the same value on every compiler, correctly
// rounded, integers kept as integers.
#include "core/json/json.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <string>

namespace json = mds::core::json;

TEST_CASE("doubles parse to the correctly rounded value", "[json]") {
  // Zeros with large exponents are the case RapidJSON 1.1.0 gets wrong on its own.
  const char *numbers[] = {"0.0",
                           "1.5",
                           "-2.25",
                           "0.1",
                           "1e23",
                           "3.14159",
                           "1.7976931348623157e308",
                           "4.9e-324",
                           "2.2250738585072011e-308",
                           "0e93",
                           "0.0e50",
                           "0.000e-50",
                           "0e-400",
                           "0E+300",
                           "-0e99",
                           "-0.0",
                           "00.5e1",
                           "123456789012345678901234567890"};
  for (const char *text : numbers) {
    INFO(text);
    auto doc = json::parse(text);
    if (std::string(text) == "00.5e1") {
      CHECK_FALSE(doc.ok()); // a leading zero is not JSON
      continue;
    }
    REQUIRE(doc.ok());
    REQUIRE(doc->root().IsDouble());
    const double expected = std::strtod(text, nullptr);
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
  CHECK(a[5].GetUint64() == 18446744073709551615ull);
  CHECK(a[6].IsInt64());
  CHECK(a[6].GetInt64() == INT64_MIN);
  CHECK(a[7].IsDouble()); // 2^64 no longer fits an integer
  // Integers are written back as they came.
  auto integers = json::parse("[0,7,-1,4294967296,18446744073709551615,-9223372036854775808]");
  REQUIRE(integers.ok());
  CHECK(json::serialize(integers->root()) == "[0,7,-1,4294967296,18446744073709551615,-9223372036854775808]");
}

TEST_CASE("malformed numbers are still refused", "[json]") {
  for (const char *text : {"01", "1.", ".5", "1e", "-", "+1", "1e+", "0x10", "NaN", "Infinity", "1e400"}) {
    INFO(text);
    CHECK(json::parse(text).code() == mds::ErrorCode::JsonSyntax);
  }
}
