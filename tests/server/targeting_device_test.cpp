#include "server/targeting/device.hpp"

#include <catch2/catch.hpp>

namespace targeting = mds::server::targeting;
using mds::ErrorCode;

namespace {

mds::Result<targeting::Device> parse(const std::string &text) {
  auto document = mds::core::json::parse(text);
  REQUIRE(document.ok());
  return targeting::parse_device(document->root());
}

} // namespace

TEST_CASE("a /v1/check request gives the device description", "[targeting][device]") {
  auto device = parse(R"({"app":"demo","platform":"android","app_version":"10.2.3",
    "sdks":{"mds":"0.1.0","payment":"3.2.1"},
    "device":{"id":"3f0c","user_id":"u-42","model":"Pixel 8","brand":"Google","os_version":"14",
              "network":"wifi","region":"CN-ZJ","city":"Hangzhou","language":"zh-CN","channel":"store"},
    "attributes":{"tier":"gold","age":18,"vip":true,"score":-2.5},
    "installed":{"offline":{}},"config_revision":12})");
  REQUIRE(device.ok());
  CHECK(device->app == "demo");
  const std::pair<const char *, const char *> expected[] = {
      {"platform", "android"}, {"app_version", "10.2.3"}, {"device_id", "3f0c"}, {"user_id", "u-42"},
      {"model", "Pixel 8"},    {"brand", "Google"},       {"os_version", "14"},  {"network", "wifi"},
      {"region", "CN-ZJ"},     {"city", "Hangzhou"},      {"language", "zh-CN"}, {"channel", "store"},
      {"sdk.mds", "0.1.0"},    {"sdk.payment", "3.2.1"},  {"attr.tier", "gold"}, {"attr.age", "18"},
      {"attr.vip", "true"},    {"attr.score", "-2.5"},
  };
  for (const auto &[field, value] : expected) {
    INFO(field);
    REQUIRE(device->field(field));
    CHECK(*device->field(field) == value);
  }
  CHECK_FALSE(device->field("sdk.other"));
  CHECK_FALSE(device->field("attr.other"));
  CHECK_FALSE(device->field("nonsense"));

  auto minimal = parse(R"({"app":"demo","platform":"ios","app_version":"1","device":{"id":"d"}})");
  REQUIRE(minimal.ok());
  CHECK_FALSE(minimal->field("user_id"));
  CHECK_FALSE(minimal->field("brand"));
}

TEST_CASE("bad device descriptions are refused with a specific code", "[targeting][device]") {
  const std::string base = R"("app":"demo","platform":"android","app_version":"1.0")";
  const struct {
    const char *name;
    std::string body;
    ErrorCode code;
  } cases[] = {
      {"unknown top-level field", "{" + base + R"(,"device":{"id":"d"},"extra":1})", ErrorCode::JsonUnknownField},
      {"unknown device field", "{" + base + R"(,"device":{"id":"d","imei":"1"}})", ErrorCode::JsonUnknownField},
      {"no device", "{" + base + "}", ErrorCode::JsonMissingField},
      {"no device id", "{" + base + R"(,"device":{}})", ErrorCode::JsonMissingField},
      {"empty device id", "{" + base + R"(,"device":{"id":""}})", ErrorCode::JsonValueOutOfRange},
      {"no app", R"({"platform":"android","app_version":"1","device":{"id":"d"}})", ErrorCode::JsonMissingField},
      {"bad platform", R"({"app":"a","platform":"web","app_version":"1","device":{"id":"d"}})",
       ErrorCode::JsonValueOutOfRange},
      {"bad app version", R"({"app":"a","platform":"ios","app_version":"one","device":{"id":"d"}})",
       ErrorCode::VersionInvalid},
      {"bad sdk version", "{" + base + R"(,"device":{"id":"d"},"sdks":{"mds":"x.y"}})", ErrorCode::VersionInvalid},
      {"sdk version not a string", "{" + base + R"(,"device":{"id":"d"},"sdks":{"mds":1}})", ErrorCode::JsonWrongType},
      {"bad sdk name", "{" + base + R"(,"device":{"id":"d"},"sdks":{"a b":"1"}})", ErrorCode::JsonValueOutOfRange},
      {"attribute object", "{" + base + R"(,"device":{"id":"d"},"attributes":{"a":{}}})", ErrorCode::JsonWrongType},
      {"attribute null", "{" + base + R"(,"device":{"id":"d"},"attributes":{"a":null}})", ErrorCode::JsonWrongType},
      {"brand a number", "{" + base + R"(,"device":{"id":"d","brand":7}})", ErrorCode::JsonWrongType},
      {"long model", "{" + base + R"(,"device":{"id":"d","model":")" + std::string(300, 'm') + R"("}})",
       ErrorCode::JsonValueOutOfRange},
      {"negative revision", "{" + base + R"(,"device":{"id":"d"},"config_revision":-1})", ErrorCode::JsonWrongType},
      {"not an object", R"([1])", ErrorCode::JsonWrongType},
  };
  for (const auto &c : cases) {
    INFO(c.name);
    auto device = parse(c.body);
    REQUIRE_FALSE(device.ok());
    CHECK(device.code() == c.code);
  }
}
