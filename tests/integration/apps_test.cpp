#include "fixture.hpp"

using namespace mds::test;
using mds::ErrorCode;

namespace {

// The publisher key as a JSON string literal, for bodies built by hand.
std::string key_literal() {
  return json_string(publisher_key_pem());
}

} // namespace

TEST_CASE("apps: create, list, get", "[integration][apps]") {
  RunningServer running;
  auto &client = *running.client;
  auto created = client.admin("POST", "/v1/admin/apps", app_body("com.example.shop", "ios"));
  REQUIRE(created.status == 201);
  auto app = parse_json(created);
  CHECK(std::string(app.root()["name"].GetString()) == "com.example.shop");
  CHECK(std::string(app.root()["platform"].GetString()) == "ios");
  CHECK(app.root()["publisher_keys"].Size() == 1);
  CHECK(std::string(app.root()["publisher_keys"][0]["pem"].GetString()) == publisher_key_pem());
  CHECK(app.root()["publisher_keys"][0]["key_id"].GetStringLength() == 64);
  CHECK(app.root()["created_at"].GetStringLength() == 20);

  REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("com.example.news")).status == 201);
  auto listed = parse_json(client.admin("GET", "/v1/admin/apps"));
  REQUIRE(listed.root()["apps"].Size() == 2);
  CHECK(std::string(listed.root()["apps"][0]["name"].GetString()) == "com.example.news");

  auto fetched = client.admin("GET", "/v1/admin/apps/com.example.shop");
  CHECK(fetched.status == 200);
  CHECK(fetched.body == created.body);
  check_error(client.admin("GET", "/v1/admin/apps/com.example.none"), 404, ErrorCode::NotFound);
  check_error(client.admin("POST", "/v1/admin/apps", app_body("com.example.shop")), 409, ErrorCode::AlreadyExists);

  auto audit = parse_json(client.admin("GET", "/v1/admin/audit?target=app/com.example.shop"));
  REQUIRE(audit.root()["entries"].Size() == 1);
  CHECK(std::string(audit.root()["entries"][0]["action"].GetString()) == "app.create");
  CHECK(std::string(audit.root()["entries"][0]["actor"].GetString()) == "alice");
}

TEST_CASE("bad app requests get a 4xx with the error code and change nothing", "[integration][apps][json]") {
  RunningServer running;
  auto &client = *running.client;
  struct Case {
    const char *what;
    std::string body;
    long status;
    ErrorCode code;
  };
  const std::string nested = std::string(40, '[') + std::string(40, ']');
  const Case cases[] = {
      {"empty body", "", 400, ErrorCode::JsonSyntax},
      {"not JSON", "name=x", 400, ErrorCode::JsonSyntax},
      {"truncated", R"({"name":"a")", 400, ErrorCode::JsonSyntax},
      {"trailing garbage", app_body("a") + "x", 400, ErrorCode::JsonSyntax},
      {"an array", "[]", 400, ErrorCode::JsonWrongType},
      {"too deep", R"({"name":)" + nested + "}", 400, ErrorCode::JsonTooDeep},
      {"duplicate key", R"({"name":"a","name":"b","platform":"ios","publisher_keys":[)" + key_literal() + R"(]})", 400,
       ErrorCode::JsonDuplicateKey},
      {"invalid UTF-8", "{\"name\":\"\xff\",\"platform\":\"ios\"}", 400, ErrorCode::JsonInvalidUtf8},
      {"unknown field", R"({"name":"a","platform":"ios","publisher_keys":[)" + key_literal() + R"(],"owner":"x"})", 400,
       ErrorCode::JsonUnknownField},
      {"missing name", R"({"platform":"ios","publisher_keys":[)" + key_literal() + R"(]})", 400,
       ErrorCode::JsonMissingField},
      {"missing keys", R"({"name":"a","platform":"ios"})", 400, ErrorCode::JsonMissingField},
      {"name is a number", R"({"name":7,"platform":"ios","publisher_keys":[)" + key_literal() + R"(]})", 400,
       ErrorCode::JsonWrongType},
      {"keys is a string", R"({"name":"a","platform":"ios","publisher_keys":"k"})", 400, ErrorCode::JsonWrongType},
      {"key is a number", R"({"name":"a","platform":"ios","publisher_keys":[1]})", 400, ErrorCode::JsonWrongType},
      {"no keys", R"({"name":"a","platform":"ios","publisher_keys":[]})", 400, ErrorCode::JsonValueOutOfRange},
      {"bad platform", app_body("a", "windows"), 400, ErrorCode::JsonValueOutOfRange},
      {"bad name", app_body("../etc"), 400, ErrorCode::InvalidArgument},
      {"not a PEM key", R"({"name":"a","platform":"ios","publisher_keys":["hello"]})", 400, ErrorCode::KeyInvalid},
      {"a PEM block without a P-256 key",
       R"({"name":"a","platform":"ios","publisher_keys":["-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"]})",
       400, ErrorCode::KeyInvalid},
      {"the same key twice",
       R"({"name":"a","platform":"ios","publisher_keys":[)" + key_literal() + "," + key_literal() + "]}", 400,
       ErrorCode::InvalidArgument},
      {"oversized", R"({"name":"a","platform":"ios","publisher_keys":[")" + std::string(2u << 20, 'k') + R"("]})", 413,
       ErrorCode::PayloadTooLarge},
  };
  for (const auto &c : cases) {
    INFO(c.what);
    check_error(client.admin("POST", "/v1/admin/apps", c.body), c.status, c.code);
  }
  CHECK(client.admin("GET", "/v1/admin/apps").body == R"({"apps":[]})");
  CHECK(parse_json(client.admin("GET", "/v1/admin/audit")).root()["entries"].Size() == 0);
  // Without a Content-Length the limit is enforced while the body streams in.
  const std::string chunked_body =
      R"({"name":"a","platform":"ios","publisher_keys":[")" + std::string(2u << 20, 'k') + R"("]})";
  check_error(client.request("POST", "/v1/admin/apps", chunked_body,
                             {"Authorization: Bearer " + kAdminToken, "Transfer-Encoding: chunked"}),
              413, ErrorCode::PayloadTooLarge);
  // A body on a route that takes none.
  check_error(client.admin("GET", "/v1/admin/apps", "{}"), 413, ErrorCode::PayloadTooLarge);
  CHECK(client.request("GET", "/healthz").status == 200);
}
