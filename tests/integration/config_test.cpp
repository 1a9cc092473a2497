#include "fixture.hpp"

using namespace mds::test;
using mds::ErrorCode;

TEST_CASE("config keys: set, overwrite, list, get, with a rising revision", "[integration][config]") {
  RunningServer running;
  auto &client = *running.client;
  check_error(client.admin("PUT", "/v1/admin/apps/com.example/config/banner", R"({"value":"hi"})"), 404,
              ErrorCode::NotFound);
  REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("com.example", "ios")).status == 201);

  auto set = client.admin("PUT", "/v1/admin/apps/com.example/config/checkout.flow",
                          R"({"value":{"steps":3,"express":true},"description":"checkout layout"})");
  REQUIRE(set.status == 200);
  auto value = parse_json(set);
  CHECK(value.root()["value"]["steps"].GetInt() == 3);
  CHECK(value.root()["revision"].GetInt64() == 1);
  REQUIRE(client.admin("PUT", "/v1/admin/apps/com.example/config/timeout", R"({"value":30})").status == 200);
  REQUIRE(client.admin("PUT", "/v1/admin/apps/com.example/config/checkout.flow", R"({"value":null})").status == 200);

  auto listed = parse_json(client.admin("GET", "/v1/admin/apps/com.example/config"));
  CHECK(listed.root()["revision"].GetInt64() == 3);
  REQUIRE(listed.root()["keys"].Size() == 2);
  CHECK(listed.root()["keys"][0]["value"].IsNull());
  CHECK(std::string(listed.root()["keys"][0]["description"].GetString()) == "checkout layout");
  CHECK(parse_json(client.admin("GET", "/v1/admin/apps/com.example/config/timeout")).root()["value"].GetInt() == 30);
  check_error(client.admin("GET", "/v1/admin/apps/com.example/config/nope"), 404, ErrorCode::NotFound);

  // Refusals change nothing.
  check_error(client.admin("PUT", "/v1/admin/apps/com.example/config/timeout", R"({"valeu":1})"), 400,
              ErrorCode::JsonUnknownField);
  check_error(client.admin("PUT", "/v1/admin/apps/com.example/config/timeout", R"({})"), 400,
              ErrorCode::JsonMissingField);
  check_error(client.admin("PUT", "/v1/admin/apps/com.example/config/timeout", R"({"value":1,"description":2})"), 400,
              ErrorCode::JsonWrongType);
  check_error(client.admin("PUT", "/v1/admin/apps/com.example/config/bad-", R"({"value":1})"), 400,
              ErrorCode::InvalidArgument);
  check_error(client.admin("PUT", "/v1/admin/apps/com.example/config/timeout",
                           R"({"value":")" + std::string(70000, 'x') + R"("})"),
              400, ErrorCode::JsonValueOutOfRange);
  check_error(client.admin("PUT", "/v1/admin/apps/com.example/config/timeout", R"({"value":1)"), 400,
              ErrorCode::JsonSyntax);
  CHECK(parse_json(client.admin("GET", "/v1/admin/apps/com.example/config")).root()["revision"].GetInt64() == 3);
}
