// The client side of docs/protocol.md as pure functions: requests built, answers parsed.
// Answers are cases as data in tests/data/check_answer/.
#include "transport/protocol.hpp"

#include "core/json/json.hpp"
#include "support/files.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using mds::ErrorCode;
using namespace mds::transport;

using mds::test::read_text;

namespace {

mds::ClientOptions sample_options() {
  mds::ClientOptions options;
  options.server_url = "https://mds.example.com/";
  options.app_id = "demo";
  options.platform = "android";
  options.app_version = "10.2.3";
  options.sdk_versions = {{"mds", "0.1.0"}, {"payment", "3.2.1"}};
  options.user_id = "u-42";
  options.device.model = "Pixel 8";
  options.device.brand = "Google";
  options.device.network = "wifi";
  options.attributes = {{"tier", "gold"}};
  return options;
}

} // namespace

TEST_CASE("Every check answer in tests/data/check_answer parses or fails as its name says", "[protocol]") {
  const std::filesystem::path dir = std::filesystem::path(MDS_TEST_DATA_DIR) / "check_answer";
  REQUIRE(std::filesystem::is_directory(dir));
  int cases = 0;
  for (const auto &entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".json") {
      continue;
    }
    const auto separator = name.find("--");
    REQUIRE(separator != std::string::npos);
    const std::string expected = name.substr(0, separator);
    INFO(name);
    auto answer = parse_check_answer(read_text(entry.path()), 1u << 20);
    if (expected == "ok") {
      if (!answer) {
        FAIL(mds::describe(answer.error()));
      }
    } else {
      REQUIRE(mds::error_code_from_string(expected));
      REQUIRE_FALSE(answer);
      CHECK(mds::to_string(answer.code()) == expected);
    }
    ++cases;
  }
  CHECK(cases >= 30);
}

TEST_CASE("The protocol's example answer reads field by field", "[protocol]") {
  auto answer = parse_check_answer(
      read_text(std::filesystem::path(MDS_TEST_DATA_DIR) / "check_answer" / "ok--protocol-example.json"), 1u << 20);
  REQUIRE(answer);
  CHECK(answer->poll_interval_seconds == 1800u);
  REQUIRE(answer->upgrade);
  CHECK(answer->upgrade->package.version == "10.3.0");
  CHECK(answer->upgrade->mode == mds::UpgradeMode::Single);
  CHECK(answer->upgrade->remind_days == 3);
  CHECK(answer->upgrade->notes == "faster");
  REQUIRE(answer->upgrade->package.downloads.size() == 1);
  CHECK(answer->upgrade->package.downloads[0].size == 123);
  REQUIRE(answer->offline.size() == 1);
  CHECK(answer->offline[0].group == std::optional<std::string>("r9"));
  REQUIRE(answer->offline[0].downloads.size() == 2);
  CHECK(answer->offline[0].downloads[0].kind == "delta");
  CHECK(answer->offline[0].downloads[0].base == std::optional<std::string>("1.0.0"));
  REQUIRE(answer->hotpatch);
  CHECK(answer->hotpatch->action == "install");
  CHECK(answer->hotpatch->package.version == "4");
  REQUIRE(answer->config);
  CHECK(answer->config->revision == 13);
  CHECK(answer->config->values ==
        std::map<std::string, std::string>{{"welcome.text", "\"hi\""}, {"checkout.v2", "true"}});
}

TEST_CASE("A check answer above the cap is refused before parsing", "[protocol]") {
  const std::string body = "{\"config\":{\"revision\":1,\"values\":{\"k\":\"" + std::string(2000, 'v') + "\"}}}";
  CHECK(parse_check_answer(body, 1000).code() == ErrorCode::JsonTooLarge);
  CHECK(parse_check_answer(body, body.size()));
}

TEST_CASE("The check request carries what protocol.md names, and leaves out what is empty", "[protocol]") {
  CheckInput input;
  input.device_id = "3f0c";
  input.offline = {{"h5-app", "1.0.0"}};
  input.hotpatch = InstalledHotpatch{"patch", "3", "confirmed"};
  input.config_revision = 12;
  const std::string body = build_check_request(sample_options(), input);
  auto doc = mds::core::json::parse(body);
  REQUIRE(doc);
  const auto &root = doc->root();
  CHECK(std::string(root["app"].GetString()) == "demo");
  CHECK(std::string(root["platform"].GetString()) == "android");
  CHECK(std::string(root["app_version"].GetString()) == "10.2.3");
  CHECK(std::string(root["sdks"]["payment"].GetString()) == "3.2.1");
  CHECK(std::string(root["device"]["id"].GetString()) == "3f0c");
  CHECK(std::string(root["device"]["user_id"].GetString()) == "u-42");
  CHECK(std::string(root["device"]["model"].GetString()) == "Pixel 8");
  CHECK_FALSE(root["device"].HasMember("city"));
  CHECK(std::string(root["attributes"]["tier"].GetString()) == "gold");
  CHECK(std::string(root["installed"]["offline"]["h5-app"].GetString()) == "1.0.0");
  CHECK(std::string(root["installed"]["hotpatch"]["state"].GetString()) == "confirmed");
  CHECK(root["installed"]["upgrade"].IsNull());
  CHECK(root["config_revision"].GetInt64() == 12);

  mds::ClientOptions bare = sample_options();
  bare.sdk_versions.clear();
  bare.attributes.clear();
  bare.user_id.clear();
  bare.device = {};
  CheckInput minimal;
  minimal.device_id = "d";
  CHECK(build_check_request(bare, minimal) ==
        R"({"app":"demo","platform":"android","app_version":"10.2.3","device":{"id":"d"},)"
        R"("installed":{"offline":{},"hotpatch":null,"upgrade":null},"config_revision":0})");
}

TEST_CASE("Strings with quotes, control characters and Unicode survive the request", "[protocol]") {
  mds::ClientOptions options = sample_options();
  options.device.city = "Hang\"zhou\n\xe6\x9d\xad";
  CheckInput input;
  input.device_id = "d";
  auto doc = mds::core::json::parse(build_check_request(options, input));
  REQUIRE(doc);
  CHECK(std::string(doc->root()["device"]["city"].GetString()) == options.device.city);
}

TEST_CASE("Events: serialised, batched in a request, acknowledged by id", "[protocol]") {
  Event event;
  event.id = random_uuid();
  event.type = "failed";
  event.time = "2026-11-22T10:00:00Z";
  event.release = "r9";
  event.package = "h5-app";
  event.version = "1.1.0";
  event.code = 407;
  const std::string object = event_json(event);
  CHECK(object == R"({"id":")" + event.id +
                      R"(","type":"failed","time":"2026-11-22T10:00:00Z","release":"r9","package":"h5-app",)"
                      R"("version":"1.1.0","code":407})");
  const std::string body = build_events_request("demo", "dev", {object, object});
  auto doc = mds::core::json::parse(body);
  REQUIRE(doc);
  CHECK(doc->root()["events"].Size() == 2);
  CHECK(doc->root()["events"][1]["code"].GetUint() == 407);

  struct Case {
    std::string body;
    ErrorCode expected;
    std::size_t ids;
  };
  const Case cases[] = {
      {R"({"accepted":["a","b"]})", ErrorCode::Ok, 2},
      {R"({"accepted":[]})", ErrorCode::Ok, 0},
      {R"({})", ErrorCode::JsonMissingField, 0},
      {R"({"accepted":[1]})", ErrorCode::JsonWrongType, 0},
      {R"({"accepted":"a"})", ErrorCode::JsonWrongType, 0},
      {R"({"accepted":[],"more":1})", ErrorCode::JsonUnknownField, 0},
      {R"({"accepted":[],"accepted":[]})", ErrorCode::JsonDuplicateKey, 0},
      {R"(nope)", ErrorCode::JsonSyntax, 0},
  };
  for (const auto &c : cases) {
    INFO(c.body);
    auto ids = parse_events_answer(c.body, 1024);
    CHECK(ids.code() == c.expected);
    if (ids) {
      CHECK(ids->size() == c.ids);
    }
  }
}

TEST_CASE("UUIDs are version 4 and differ", "[protocol]") {
  const std::string a = random_uuid();
  const std::string b = random_uuid();
  CHECK(a != b);
  REQUIRE(a.size() == 36);
  CHECK(a[14] == '4');
  CHECK(std::string("89ab").find(a[19]) != std::string::npos);
  CHECK(a[8] == '-');
  CHECK(a[23] == '-');
}

TEST_CASE("Retry-After, URLs, times and error bodies", "[protocol]") {
  const auto now = std::chrono::system_clock::from_time_t(1763805600); // 2025-11-22T10:00:00Z
  struct Case {
    std::string value;
    std::optional<long> seconds;
  };
  const Case cases[] = {
      {"120", 120},
      {" 7 ", 7},
      {"0", 0},
      {"99999999999", 86400},
      {"", std::nullopt},
      {"-5", std::nullopt},
      {"soon", std::nullopt},
      {"Sat, 22 Nov 2025 10:01:00 GMT", 60},
      {"Sat, 22 Nov 2025 09:00:00 GMT", 0},
  };
  for (const auto &c : cases) {
    INFO(c.value);
    auto parsed = parse_retry_after(c.value, now);
    REQUIRE(parsed.has_value() == c.seconds.has_value());
    if (parsed) {
      CHECK(parsed->count() == *c.seconds);
    }
  }
  CHECK(resolve_url("https://h/", "/v1/check") == "https://h/v1/check");
  CHECK(resolve_url("https://h", "/v1/check") == "https://h/v1/check");
  CHECK(resolve_url("https://h", "https://cdn/x") == "https://cdn/x");
  CHECK(iso8601_utc(now) == "2025-11-22T10:00:00Z");
  CHECK(describe_error_body(R"({"error":{"code":802,"name":"rate_limited","message":"later"}})") ==
        "rate_limited (802): later");
  CHECK(describe_error_body("plain\ntext") == "plain text");
}
