#include "fixture.hpp"

using namespace mds::test;
using mds::ErrorCode;

TEST_CASE("admin routes refuse every bad token with 401 and change nothing", "[integration][auth]") {
  RunningServer running;
  auto &client = *running.client;
  const std::vector<std::pair<std::string, std::vector<std::string>>> refusals = {
      {"no Authorization header", {}},
      {"empty header", {"Authorization:"}},
      {"wrong scheme", {"Authorization: Basic " + kAdminToken}},
      {"scheme only", {"Authorization: Bearer"}},
      {"wrong token", {"Authorization: Bearer " + std::string(kAdminToken.size(), 'x')}},
      {"short by one", {"Authorization: Bearer " + kAdminToken.substr(0, kAdminToken.size() - 1)}},
      {"long by one", {"Authorization: Bearer " + kAdminToken + "x"}},
      {"far too short", {"Authorization: Bearer abc"}},
      {"far too long", {"Authorization: Bearer " + std::string(4000, 'a')}},
      {"malformed characters", {"Authorization: Bearer " + kAdminToken.substr(0, 20) + "\"" + kAdminToken.substr(21)}},
      {"token without scheme", {"Authorization: " + kAdminToken}},
      {"two spaces", {"Authorization: Bearer  " + kAdminToken}},
  };
  for (const auto &[what, headers] : refusals) {
    INFO(what);
    check_error(client.request("POST", "/v1/admin/apps", app_body("com.example"), headers), 401,
                ErrorCode::Unauthorized);
    check_error(client.request("GET", "/v1/admin/apps", "", headers), 401, ErrorCode::Unauthorized);
  }
  auto apps = client.admin("GET", "/v1/admin/apps");
  REQUIRE(apps.status == 200);
  CHECK(apps.body == R"({"apps":[]})");
  auto audit = client.admin("GET", "/v1/admin/audit");
  CHECK(parse_json(audit).root()["entries"].Size() == 0);

  // Both tokens in the file work; the audit log names their holders.
  REQUIRE(client.request("POST", "/v1/admin/apps", app_body("com.example"), {"Authorization: Bearer " + kOtherToken})
              .status == 201);
  audit = client.admin("GET", "/v1/admin/audit");
  const auto entries = parse_json(audit);
  CHECK(std::string(entries.root()["entries"][0]["actor"].GetString()).rfind("token:", 0) == 0);
}

TEST_CASE("an unauthenticated upload is refused before its body is read", "[integration][auth]") {
  RunningServer running;
  const std::string big(8 << 20, 'a');
  auto refused = running.client->request("PUT", "/v1/admin/whitelists/x/entries?type=user", big,
                                         {"Authorization: Bearer nope", "Content-Type: text/plain"});
  check_error(refused, 401, ErrorCode::Unauthorized);
  CHECK(running.client->admin("GET", "/v1/admin/whitelists").body == R"({"whitelists":[]})");
  // The server keeps serving afterwards.
  CHECK(running.client->request("GET", "/healthz").status == 200);
}

TEST_CASE("public routes need no token", "[integration][auth]") {
  RunningServer running;
  CHECK(running.client->request("GET", "/healthz").status == 200);
  CHECK(running.client->request("GET", "/metrics").status == 200);
}
