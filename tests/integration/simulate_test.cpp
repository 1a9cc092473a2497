#include "fixture.hpp"
#include "package_support.hpp"

using namespace mds::test;
using mds::ErrorCode;

namespace {

std::string check_body(const std::string &device_id, const std::string &extra_device = "",
                       const std::string &app_version = "10.2.0") {
  return R"({"app":"com.example","platform":"android","app_version":")" + app_version +
         R"(","sdks":{"mds":"0.2.0"},"device":{"id":")" + device_id + "\"" + extra_device + "}}";
}

const mds::core::json::Value &release_in(const mds::core::json::Document &answer, std::int64_t id) {
  for (const auto &release : answer.root()["releases"].GetArray()) {
    if (release["id"].GetInt64() == id) {
      return release;
    }
  }
  FAIL("release " << id << " is not in the answer");
  return answer.root();
}

std::int64_t create(HttpClient &client, const std::string &body) {
  auto created = client.admin("POST", "/v1/admin/releases", body);
  INFO(created.body);
  REQUIRE(created.status == 201);
  return parse_json(created).root()["id"].GetInt64();
}

} // namespace

TEST_CASE("simulate explains, release by release, what a device would get", "[integration][simulate]") {
  RunningServer running;
  auto &client = *running.client;
  REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("com.example")).status == 201);
  REQUIRE(client.admin("PUT", "/v1/admin/whitelists/testers/entries?type=user", "u-1\nu-2\n").status == 200);
  REQUIRE(
      client.admin("POST", "/v1/admin/rules", R"({"name":"huawei","filters":["brand ci in huawei,honor"]})").status ==
      201);
  REQUIRE(client.admin("PUT", "/v1/admin/apps/com.example/config/banner", R"({"value":"old"})").status == 200);
  publish_offline(client, "com.example", "home", "3.1.0");
  publish_offline(client, "com.example", "maps", "2");
  publish_offline(client, "com.example", "draft", "1");

  const auto whitelisted = create(client, R"({"app":"com.example","package":{"id":"home","version":"3.1.0"},)"
                                          R"("stage":"gray","whitelists":["testers"]})");
  const auto half = create(client, R"({"app":"com.example","config":{"banner":"new"},"stage":"gray","percent":50,)"
                                   R"("filters":["app_version version_gte 10"]})");
  const auto huawei_only = create(client, R"({"app":"com.example","package":{"id":"maps","version":"2"},)"
                                          R"("stage":"full","rules":["huawei"]})");
  const auto draft = create(client, R"({"app":"com.example","package":{"id":"draft","version":"1"}})");

  SECTION("a whitelist hit and a miss") {
    auto hit = parse_json(client.admin("POST", "/v1/admin/simulate", check_body("d-1", R"(,"user_id":"u-1")")));
    const auto &release = release_in(hit, whitelisted);
    CHECK(release["eligible"].GetBool());
    CHECK(std::string(release["door"].GetString()) == "whitelist:testers");
    CHECK(std::string(release["explanation"].GetString()) == "eligible through whitelist:testers");

    auto miss = parse_json(client.admin("POST", "/v1/admin/simulate", check_body("d-1", R"(,"user_id":"u-9")")));
    const auto &missed = release_in(miss, whitelisted);
    CHECK_FALSE(missed["eligible"].GetBool());
    CHECK(std::string(missed["door"].GetString()) == "none");
    CHECK(missed["failed_filter"].IsNull());
  }

  SECTION("a filter of a rule fails, named with the device's value; a draft offers nothing") {
    auto answer = parse_json(client.admin("POST", "/v1/admin/simulate", check_body("d-1", R"(,"brand":"Xiaomi")")));
    const auto &release = release_in(answer, huawei_only);
    CHECK_FALSE(release["eligible"].GetBool());
    const auto &failed = release["failed_filter"];
    REQUIRE(failed.IsObject());
    CHECK(std::string(failed["source"].GetString()) == "rule:huawei");
    CHECK(failed["index"].GetInt() == 0);
    CHECK(std::string(failed["expression"].GetString()) == "brand ci in huawei,honor");
    CHECK(std::string(failed["device_value"].GetString()) == "Xiaomi");
    CHECK(std::string(release["explanation"].GetString()) ==
          "filter 1 of rule:huawei (brand ci in huawei,honor) failed: brand is \"Xiaomi\"");

    auto honor = parse_json(client.admin("POST", "/v1/admin/simulate", check_body("d-1", R"(,"brand":"HONOR")")));
    CHECK(std::string(release_in(honor, huawei_only)["door"].GetString()) == "full");

    const auto &drafted = release_in(answer, draft);
    CHECK_FALSE(drafted["eligible"].GetBool());
    CHECK(std::string(drafted["stage"].GetString()) == "draft");

    // An old app version fails the config release's own filter: the default value applies.
    auto old = parse_json(client.admin("POST", "/v1/admin/simulate", check_body("d-1", "", "9.9")));
    const auto &config_release = release_in(old, half);
    REQUIRE(config_release["failed_filter"].IsObject());
    CHECK(std::string(config_release["failed_filter"]["device_value"].GetString()) == "9.9");
    CHECK(std::string(old.root()["config"]["values"]["banner"].GetString()) == "old");
    CHECK(std::string(old.root()["config"]["sources"]["banner"].GetString()) == "default");
  }

  SECTION("percentage: the bucket decides, about half get in, and they see the release's config") {
    int in = 0;
    const int devices = 400;
    for (int i = 0; i < devices; ++i) {
      auto answer = parse_json(client.admin("POST", "/v1/admin/simulate", check_body("device-" + std::to_string(i))));
      const auto &release = release_in(answer, half);
      REQUIRE(release["bucket"].IsUint());
      const bool eligible = release["eligible"].GetBool();
      CHECK(eligible == (release["bucket"].GetUint() <= 5000));
      if (eligible) {
        ++in;
        CHECK(std::string(release["door"].GetString()) == "percentage");
        CHECK(std::string(answer.root()["config"]["values"]["banner"].GetString()) == "new");
        CHECK(std::string(answer.root()["config"]["sources"]["banner"].GetString()) ==
              "release/" + std::to_string(half));
      } else {
        CHECK(std::string(answer.root()["config"]["values"]["banner"].GetString()) == "old");
      }
    }
    CHECK(in > devices * 40 / 100);
    CHECK(in < devices * 60 / 100);
  }

  SECTION("bad requests") {
    check_error(client.admin("POST", "/v1/admin/simulate",
                             R"({"app":"com.nope","platform":"android","app_version":"1","device":{"id":"d"}})"),
                404, ErrorCode::NotFound);
    check_error(
        client.admin("POST", "/v1/admin/simulate", R"({"app":"com.example","platform":"android","app_version":"1"})"),
        400, ErrorCode::JsonMissingField);
    check_error(client.admin("POST", "/v1/admin/simulate", check_body("d", R"(,"imei":"1")")), 400,
                ErrorCode::JsonUnknownField);
    check_error(client.admin("POST", "/v1/admin/simulate", check_body("d", "", "ten")), 400, ErrorCode::VersionInvalid);
    check_error(client.request("POST", "/v1/admin/simulate", check_body("d")), 401, ErrorCode::Unauthorized);
  }
}
