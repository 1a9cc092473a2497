#include "core/json/json.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

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
      {"\"\xc0\xaf\"", ErrorCode::JsonInvalidUtf8},      // overlong '/'
      {"\"\xed\xa0\x80\"", ErrorCode::JsonInvalidUtf8},  // UTF-16 surrogate
      {R"("\udc00")", ErrorCode::JsonInvalidUtf8},       // lone low surrogate, escaped
      {R"("a\udfffb")", ErrorCode::JsonInvalidUtf8},     // lone low surrogate, escaped
      {R"({"\udc00": 1})", ErrorCode::JsonInvalidUtf8},  // ... in a key
      {R"("\ud800")", ErrorCode::JsonInvalidUtf8},       // lone high surrogate, escaped
      {R"("\ud800\u0041")", ErrorCode::JsonInvalidUtf8}, // high surrogate, then no low one
  };
  for (const auto &c : cases) {
    INFO(c.text);
    auto doc = json::parse(c.text);
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.code() == c.code);
  }
}

TEST_CASE("escaped code points decode to UTF-8", "[json]") {
  auto doc = json::parse(R"(["\u00fc", "\ud83d\ude00", "\u0000", "\uffff"])");
  REQUIRE(doc.ok());
  CHECK(json::view(doc->root()[0]) == "\xc3\xbc");
  CHECK(json::view(doc->root()[1]) == "\xf0\x9f\x98\x80");
  CHECK(json::view(doc->root()[2]) == std::string_view("\0", 1));
  CHECK(json::view(doc->root()[3]) == "\xef\xbf\xbf");
}

TEST_CASE("the same key in sibling objects is fine", "[json]") {
  CHECK(json::parse(R"([{"a": 1}, {"a": 2}, {"b": {"a": 3}, "a": 4}])").ok());
}

TEST_CASE("a duplicate key is found wherever it lies in a large object", "[json]") {
  // Objects past a few dozen keys are checked as a whole at their end: the duplicate may
  // be anywhere, and nested objects keep their own keys.
  auto object_of = [](std::size_t keys, std::size_t twin_of, std::size_t twin_at) {
    std::string text = "{";
    for (std::size_t i = 0; i < keys; ++i) {
      const auto name = i == twin_at ? twin_of : i;
      text +=
          (i == 0 ? "" : ",") + std::string("\"key") + std::to_string(name) + "\":{\"key0\":" + std::to_string(i) + "}";
    }
    return text + "}";
  };
  CHECK(json::parse(object_of(500, 0, 500)).ok());
  for (const auto &[twin_of, twin_at] : std::vector<std::pair<std::size_t, std::size_t>>{
           {0, 1}, {3, 31}, {0, 32}, {31, 33}, {40, 41}, {0, 499}, {250, 499}, {498, 499}}) {
    INFO("key " << twin_at << " repeats key " << twin_of);
    auto parsed = json::parse(object_of(500, twin_of, twin_at));
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.code() == ErrorCode::JsonDuplicateKey);
    CHECK_THAT(parsed.error().message, Catch::Contains("\"key" + std::to_string(twin_of) + "\""));
  }
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

TEST_CASE("hostile numbers parse without undefined behaviour", "[json]") {
  // Each of these sent RapidJSON 1.1.0's full-precision conversion into undefined behaviour
  // (clz(0), or an index far outside its table of powers of ten); under clang's UBSan the
  // fuzz build stops on them. Written zeros read as zero; the rest underflow and are refused.
  const std::string many_zeros(400, '0');
  const std::vector<std::string> zeros = {"0e38", "0E+38", "-0e-400", "0.0e5", "0." + many_zeros};
  for (const auto &zero : zeros) {
    INFO(zero);
    auto doc = json::parse("[" + zero + "]");
    REQUIRE(doc.ok());
    REQUIRE(doc->root()[0].IsDouble());
    CHECK(doc->root()[0].GetDouble() == 0.0);
  }
  const std::vector<std::string> out_of_range = {"0." + many_zeros + "3", "0." + many_zeros + "3e-10", "3e-400",
                                                 "1e309"};
  for (const auto &number : out_of_range) {
    INFO(number);
    CHECK(json::parse("[" + number + "]").code() == ErrorCode::JsonValueOutOfRange);
  }
}

TEST_CASE("numbers keep their type and everyday decimals are exact", "[json]") {
  auto doc = json::parse(R"([0, -0, 7, -7, 0.1, 1.5, 12.25, 99.99, 1e-7, 2.5e10, 18446744073709551615,)"
                         R"( -9223372036854775808])");
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
  CHECK(a[6].GetDouble() == 12.25);
  CHECK(a[7].GetDouble() == 99.99);
  CHECK(a[8].GetDouble() == 1e-7);
  CHECK(a[9].GetDouble() == 2.5e10);
  CHECK(a[10].GetUint64() == 18446744073709551615ull);
  CHECK(a[11].GetInt64() == std::numeric_limits<std::int64_t>::min());
}

TEST_CASE("errors have one JSON form", "[json]") {
  const auto text = json::error_document(mds::make_error(ErrorCode::PathUnsafe, "a \"quoted\" ../path"));
  CHECK(text == R"({"error":{"code":409,"name":"path_unsafe","message":"a \"quoted\" ../path"}})");
  CHECK(json::parse(text).ok());
}
