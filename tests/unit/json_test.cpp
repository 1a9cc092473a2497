#include "core/json/json.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

using mds::ErrorCode;
namespace json = mds::core::json;

TEST_CASE("well-formed JSON parses", "[json]") {
  auto doc = json::parse(R"({"a": [1, 2, {"b": "ü"}], "c": null, "d": 1.5, "e": 18446744073709551615})");
  REQUIRE(doc.ok());
  CHECK(doc->root()["a"].Size() == 3);
  CHECK(doc->root()["e"].GetUint64() == 18446744073709551615ull);
  CHECK(json::serialize(doc->root()["a"]) == R"([1,2,{"b":"ü"}])");
}

TEST_CASE("malformed JSON is refused with its own code", "[json]") {
  struct Case {
    std::string text;
    ErrorCode code;
  };
  const Case cases[] = {
      {"", ErrorCode::JsonSyntax},
      {"{", ErrorCode::JsonSyntax},
      {"{} {}", ErrorCode::JsonSyntax},
      {"{}x", ErrorCode::JsonSyntax},
      {std::string("{}\0{}", 5), ErrorCode::JsonSyntax},
      {"[1,]", ErrorCode::JsonSyntax},
      {"{'a': 1}", ErrorCode::JsonSyntax},
      {"NaN", ErrorCode::JsonSyntax},
      {"{\"a\": 1, \"a\": 2}", ErrorCode::JsonDuplicateKey},
      {"{\"x\": {\"a\": 1, \"b\": {}, \"a\": 2}}", ErrorCode::JsonDuplicateKey},
      {"\"\xff\"", ErrorCode::JsonInvalidUtf8},
      {"\"\xc0\xaf\"", ErrorCode::JsonInvalidUtf8},           // overlong '/'
      {"\"\xed\xa0\x80\"", ErrorCode::JsonInvalidUtf8},       // UTF-16 surrogate
  };
  for (const auto &c : cases) {
    INFO(c.text);
    auto doc = json::parse(c.text);
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.code() == c.code);
  }
}

TEST_CASE("the same key in sibling objects is fine", "[json]") {
  CHECK(json::parse(R"([{"a": 1}, {"a": 2}, {"b": {"a": 3}, "a": 4}])").ok());
}

TEST_CASE("size and depth limits hold", "[json]") {
  json::Limits limits;
  limits.max_bytes = 16;
  CHECK(json::parse(R"({"a": "0123456789"})", limits).code() == ErrorCode::JsonTooLarge);
  CHECK(json::parse(R"({"a": "012345"})", limits).ok());

  limits = json::Limits{};
  limits.max_depth = 4;
  CHECK(json::parse("[[[[1]]]]", limits).ok());
  CHECK(json::parse("[[[[[1]]]]]", limits).code() == ErrorCode::JsonTooDeep);
  CHECK(json::parse(R"({"a":{"b":{"c":{"d":{}}}}})", limits).code() == ErrorCode::JsonTooDeep);

  // The default depth stops a stack-exhausting document long before the stack does.
  std::string deep(100000, '[');
  CHECK(json::parse(deep).code() == ErrorCode::JsonTooDeep);
}

TEST_CASE("ObjectReader reports missing, mistyped and unknown fields", "[json]") {
  auto doc = json::parse(R"({"s": "x", "n": 7, "neg": -1, "b": true, "arr": [], "obj": {}, "nul": null})");
  REQUIRE(doc.ok());
  auto reader = json::ObjectReader::of(doc->root(), "thing");
  REQUIRE(reader.ok());
  CHECK(*reader->string("s") == "x");
  CHECK(*reader->uint64("n") == 7);
  CHECK(*reader->int64("neg") == -1);
  CHECK(*reader->boolean("b"));
  CHECK(reader->array("arr").ok());
  CHECK(reader->object("obj").ok());
  CHECK_FALSE(reader->optional_string("nul")->has_value());
  CHECK_FALSE(reader->optional_string("absent")->has_value());

  CHECK(reader->string("absent").code() == ErrorCode::JsonMissingField);
  CHECK(reader->string("n").code() == ErrorCode::JsonWrongType);
  CHECK(reader->uint64("neg").code() == ErrorCode::JsonWrongType);
  CHECK(reader->uint64("s").code() == ErrorCode::JsonWrongType);
  CHECK(reader->array("obj").code() == ErrorCode::JsonWrongType);
  CHECK(reader->object("arr").code() == ErrorCode::JsonWrongType);
  CHECK(reader->boolean("n").code() == ErrorCode::JsonWrongType);
  CHECK(reader->optional_string("n").code() == ErrorCode::JsonWrongType);

  CHECK(reader->allow_only({"s", "n", "neg", "b", "arr", "obj", "nul"}).ok());
  auto unknown = reader->allow_only({"s", "n"});
  CHECK(unknown.code() == ErrorCode::JsonUnknownField);
  CHECK(unknown.error().message.find("thing") != std::string::npos);

  CHECK(json::ObjectReader::of(doc->root()["arr"], "x").code() == ErrorCode::JsonWrongType);
}

TEST_CASE("numbers keep full precision, and zeros with a fraction or exponent are zero", "[json]") {
  // Several of these (0e38, the long fractions) sent RapidJSON 1.1.0 into clz(0).
  const char *zeros[] = {"0e38",
                         "0E+38",
                         "-0e-400",
                         "0.0",
                         "-0.0",
                         "0.0e5",
                         "0.00000000000000000000000000000",
                         "0.00000000000000000000000000000e-30"};
  for (const char *zero : zeros) {
    INFO(zero);
    auto doc = json::parse(std::string("[") + zero + "]");
    REQUIRE(doc.ok());
    REQUIRE(doc->root()[0].IsDouble());
    CHECK(doc->root()[0].GetDouble() == 0.0);
    CHECK(std::signbit(doc->root()[0].GetDouble()) == (zero[0] == '-'));
  }
  auto doc = json::parse(R"([0, -0, 7, -7, 0.1, 1.5, 2.2250738585072014e-308, 1e-400, 1.7976931348623157e308,)"
                         R"( 18446744073709551615, -9223372036854775808, 0.30000000000000004])");
  REQUIRE(doc.ok());
  const auto &a = doc->root();
  CHECK(a[0].IsUint());
  CHECK(a[0].GetUint() == 0);
  CHECK(a[1].IsInt());
  CHECK(a[1].GetInt() == 0);
  CHECK(a[2].GetUint() == 7);
  CHECK(a[3].GetInt() == -7);
  CHECK(a[4].GetDouble() == 0.1);
  CHECK(a[5].GetDouble() == 1.5);
  CHECK(a[6].GetDouble() == 2.2250738585072014e-308);
  CHECK(a[7].GetDouble() == 0.0);
  CHECK(a[8].GetDouble() == 1.7976931348623157e308);
  CHECK(a[9].GetUint64() == 18446744073709551615ull);
  CHECK(a[10].GetInt64() == std::numeric_limits<std::int64_t>::min());
  CHECK(a[11].GetDouble() == 0.30000000000000004);
  CHECK(a[11].GetDouble() != 0.3);
}
