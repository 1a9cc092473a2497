// POST /v1/check answers written once per decision and shared by the devices the rules
// treat alike: every device still gets its own answer, window places are still taken per
// device, offers are still counted per check, and an operator change is seen at once.
#include "fixture.hpp"

#include <ctime>
#include <map>
#include <string>

using namespace mds::test;

namespace {

std::string check_body(const std::string &device_id, const std::string &app_version = "10.2.3",
                       const std::string &extra = "") {
  return R"({"app":"demo","platform":"android","app_version":")" + app_version + R"(","device":{"id":")" + device_id +
         R"("})" + extra + "}";
}

std::string welcome(const HttpResponse &answer) {
  auto parsed = parse_json(answer);
  const auto &root = parsed.root();
  if (!root.HasMember("config")) {
    return "(no config)";
  }
  return mds::core::json::serialize(root["config"]["values"]["welcome"]);
}

std::int64_t create_release(HttpClient &client, const std::string &body) {
  auto created = client.admin("POST", "/v1/admin/releases", body);
  INFO(created.body);
  REQUIRE(created.status == 201);
  return parse_json(created).root()["id"].GetInt64();
}

std::uint64_t offered(HttpClient &client, std::int64_t release) {
  auto response = client.admin("GET", "/v1/admin/releases/" + std::to_string(release) + "/counters");
  INFO(response.body);
  REQUIRE(response.status == 200);
  return parse_json(response).root()["offered"].GetUint64();
}

std::string utc(std::time_t at) {
  std::tm parts{};
  gmtime_r(&at, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

void set_up_app(HttpClient &client) {
  REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("demo")).status == 201);
  REQUIRE(client
              .admin("PUT", "/v1/admin/apps/demo/config/welcome",
                     R"({"value":"hi","variants":[{"when":["app_version version_in \"<10\""],"value":"old"}]})")
              .status == 200);
}

} // namespace

TEST_CASE("devices the rules treat alike share an answer, the others get their own", "[integration][check]") {
  RunningServer running;
  auto &client = *running.client;
  set_up_app(client);
  REQUIRE(client.admin("PUT", "/v1/admin/whitelists/beta/entries?type=device", "d-in\n").status == 200);
  create_release(client, R"({"app":"demo","config":{"welcome":"beta hi"},"stage":"gray","whitelists":["beta"]})");

  // Each device in turn, twice, so later ones meet answers written for earlier ones.
  struct Case {
    std::string device;
    std::string app_version;
    std::string welcome;
  };
  const Case cases[] = {
      {"d-in", "10.2.3", R"("beta hi")"}, {"d-out", "10.2.3", R"("hi")"},     {"d-out-2", "10.2.3", R"("hi")"},
      {"d-old", "9.1.0", R"("old")"},     {"d-in", "10.2.3", R"("beta hi")"}, {"d-out", "10.2.3", R"("hi")"},
  };
  std::map<std::string, std::string> etag_by_welcome;
  std::map<std::string, std::string> body_by_welcome;
  for (const auto &c : cases) {
    INFO(c.device << " " << c.app_version);
    auto answer = client.request("POST", "/v1/check", check_body(c.device, c.app_version));
    REQUIRE(answer.status == 200);
    CHECK(welcome(answer) == c.welcome);
    const auto etag = answer.headers.at("etag");
    // Answers are equal exactly when their values are (nothing else differs here), and
    // so are their ETags.
    auto [known, added] = etag_by_welcome.emplace(c.welcome, etag);
    CHECK(known->second == etag);
    auto [body, body_added] = body_by_welcome.emplace(c.welcome, answer.body);
    CHECK(body->second == answer.body);
  }
  CHECK(etag_by_welcome.size() == 3);
  CHECK(etag_by_welcome[R"("hi")"] != etag_by_welcome[R"("old")"]);
  CHECK(etag_by_welcome[R"("hi")"] != etag_by_welcome[R"("beta hi")"]);
}

TEST_CASE("window places are taken per device and offers counted per check when answers are shared",
          "[integration][check][window]") {
  RunningServer running;
  auto &client = *running.client;
  set_up_app(client);
  const auto now = std::time(nullptr);
  const auto window = create_release(client, R"({"app":"demo","config":{"welcome":"early"},"stage":"gray","window":{)"
                                             R"("start":")" +
                                                 utc(now - 60) + R"(","end":")" + utc(now + 3600) + R"(","cap":1}})");
  const auto everyone = create_release(client, R"({"app":"demo","config":{"other":1},"stage":"full"})");

  // w-1 takes the only place; w-2 finds none; w-1 asking again keeps its place (its answer
  // is the one already written); w-3 finds none either.
  const std::pair<const char *, const char *> asks[] = {
      {"w-1", R"("early")"}, {"w-2", R"("hi")"}, {"w-1", R"("early")"}, {"w-3", R"("hi")"}, {"w-2", R"("hi")"}};
  for (const auto &[device, expected] : asks) {
    INFO(device);
    auto answer = client.request("POST", "/v1/check", check_body(device));
    REQUIRE(answer.status == 200);
    CHECK(welcome(answer) == expected);
  }
  CHECK(offered(client, window) == 2);
  CHECK(offered(client, everyone) == 5);
}

TEST_CASE("an operator change is in the very next answer and its ETag", "[integration][check]") {
  RunningServer running;
  auto &client = *running.client;
  set_up_app(client);

  auto first = client.request("POST", "/v1/check", check_body("d-1"));
  REQUIRE(first.status == 200);
  CHECK(welcome(first) == R"("hi")");
  const auto etag = first.headers.at("etag");
  const auto revision = parse_json(first).root()["config"]["revision"].GetInt64();

  // Nothing changed: 304 with the stored ETag; an answer without config (the device's
  // revision is current) carries the same ETag as the whole answer.
  CHECK(client.request("POST", "/v1/check", check_body("d-1"), {"If-None-Match: " + etag}).status == 304);
  auto current = client.request("POST", "/v1/check",
                                check_body("d-1", "10.2.3", R"(,"config_revision":)" + std::to_string(revision)));
  REQUIRE(current.status == 200);
  CHECK(welcome(current) == "(no config)");
  CHECK(current.headers.at("etag") == etag);

  REQUIRE(client.admin("PUT", "/v1/admin/apps/demo/config/welcome", R"({"value":"hello"})").status == 200);
  auto changed = client.request("POST", "/v1/check", check_body("d-1"), {"If-None-Match: " + etag});
  REQUIRE(changed.status == 200);
  CHECK(welcome(changed) == R"("hello")");
  const auto new_etag = changed.headers.at("etag");
  CHECK(new_etag != etag);
  CHECK(client.request("POST", "/v1/check", check_body("d-2"), {"If-None-Match: " + new_etag}).status == 304);
}
