#include "fixture.hpp"
#include "package_support.hpp"

#include <fstream>
#include <thread>

using namespace mds::test;
using mds::ErrorCode;

namespace {

std::string stage_of(const HttpResponse &response) {
  return parse_json(response).root()["stage"].GetString();
}

void set_up_app_rule_and_list(HttpClient &client) {
  REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("com.example")).status == 201);
  REQUIRE(client.admin("POST", "/v1/admin/whitelists", R"({"name":"qa","type":"device"})").status == 201);
  auto rule = client.admin("POST", "/v1/admin/rules",
                           R"({"name":"huawei-new","description":"Huawei and Honor on 10.1+",)"
                           R"("filters":["brand ci in Huawei,Honor","app_version version_gte 10.1"]})");
  REQUIRE(rule.status == 201);
  auto parsed = parse_json(rule);
  CHECK(parsed.root()["filters"].Size() == 2);
  CHECK(std::string(parsed.root()["filters"][0]["op"].GetString()) == "in");
  CHECK(parsed.root()["filters"][0]["ci"].GetBool());
  // The packages the releases below name.
  publish_offline(client, "com.example", "home", "3.1.0");
  publish_offline(client, "com.example", "home", "2");
}

} // namespace

TEST_CASE("release rules: create, list, refuse bad filters", "[integration][rules]") {
  RunningServer running;
  auto &client = *running.client;
  set_up_app_rule_and_list(client);
  check_error(client.admin("POST", "/v1/admin/rules", R"({"name":"bad","filters":["colour eq red"]})"), 400,
              ErrorCode::InvalidArgument);
  check_error(client.admin("POST", "/v1/admin/rules", R"({"name":"bad","filters":["app_version version_gt x"]})"), 400,
              ErrorCode::VersionInvalid);
  check_error(client.admin("POST", "/v1/admin/rules", R"({"name":"bad","filters":[]})"), 400,
              ErrorCode::JsonValueOutOfRange);
  check_error(client.admin("POST", "/v1/admin/rules", R"({"name":"bad","filters":"brand eq x"})"), 400,
              ErrorCode::JsonWrongType);
  check_error(client.admin("POST", "/v1/admin/rules", R"({"name":"huawei-new","filters":["brand eq x"]})"), 409,
              ErrorCode::AlreadyExists);
  auto listed = parse_json(client.admin("GET", "/v1/admin/rules"));
  REQUIRE(listed.root()["rules"].Size() == 1);
  CHECK(client.admin("GET", "/v1/admin/rules/huawei-new").status == 200);
  check_error(client.admin("GET", "/v1/admin/rules/nope"), 404, ErrorCode::NotFound);
}

TEST_CASE("the release state machine, its forbidden moves and its audit trail", "[integration][releases]") {
  RunningServer running;
  auto &client = *running.client;
  set_up_app_rule_and_list(client);

  auto created = client.admin("POST", "/v1/admin/releases",
                              R"({"app":"com.example","package":{"id":"home","version":"3.1.0"},)"
                              R"("whitelists":["qa"],"rules":["huawei-new"],"filters":["channel eq google"],)"
                              R"("percent":1.5,"window":{"start":"2026-12-01T00:00:00Z","end":"2026-12-02T00:00:00Z",)"
                              R"("cap":50}})");
  REQUIRE(created.status == 201);
  auto release = parse_json(created);
  const auto id = std::to_string(release.root()["id"].GetInt64());
  CHECK(std::string(release.root()["stage"].GetString()) == "draft");
  CHECK(release.root()["percent"].GetDouble() == 1.5);
  CHECK(std::string(release.root()["package"]["version"].GetString()) == "3.1.0");
  CHECK(release.root()["window"]["cap"].GetUint() == 50);
  const auto base = "/v1/admin/releases/" + id;

  // draft cannot be paused or rolled back
  check_error(client.admin("POST", base + "/pause"), 409, ErrorCode::ReleaseStateInvalid);
  check_error(client.admin("POST", base + "/rollback"), 409, ErrorCode::ReleaseStateInvalid);
  CHECK(stage_of(client.admin("GET", base)) == "draft");

  auto gray = client.admin("POST", base + "/promote", R"({"percent":5})");
  REQUIRE(gray.status == 200);
  CHECK(stage_of(gray) == "gray");
  CHECK(parse_json(gray).root()["percent"].GetInt() == 5);
  check_error(client.admin("POST", base + "/promote", R"({"percent":2})"), 400, ErrorCode::InvalidArgument);
  check_error(client.admin("POST", base + "/promote", R"({"percent":101})"), 400, ErrorCode::JsonValueOutOfRange);
  check_error(client.admin("POST", base + "/promote", R"({"percent":"10"})"), 400, ErrorCode::JsonWrongType);
  check_error(client.admin("POST", base + "/promote", R"({"percent":10,"force":true})"), 400,
              ErrorCode::JsonUnknownField);
  check_error(client.admin("POST", base + "/pause", R"({"percent":10})"), 400, ErrorCode::JsonUnknownField);

  auto paused = client.admin("POST", base + "/pause");
  REQUIRE(paused.status == 200);
  CHECK(stage_of(paused) == "paused");
  CHECK(std::string(parse_json(paused).root()["paused_from"].GetString()) == "gray");
  check_error(client.admin("POST", base + "/promote"), 409, ErrorCode::ReleaseStateInvalid);
  CHECK(stage_of(client.admin("POST", base + "/resume")) == "gray");
  CHECK(stage_of(client.admin("POST", base + "/promote")) == "full");
  check_error(client.admin("POST", base + "/promote"), 409, ErrorCode::ReleaseStateInvalid);
  CHECK(stage_of(client.admin("POST", base + "/rollback")) == "rolled_back");
  for (const char *action : {"promote", "pause", "resume", "end", "rollback"}) {
    INFO(action);
    check_error(client.admin("POST", base + "/" + action), 409, ErrorCode::ReleaseStateInvalid);
  }
  check_error(client.admin("POST", base + "/delete"), 404, ErrorCode::NotFound);
  check_error(client.admin("POST", "/v1/admin/releases/999/promote"), 404, ErrorCode::NotFound);
  check_error(client.admin("GET", "/v1/admin/releases/abc"), 404, ErrorCode::NotFound);

  auto audit = parse_json(client.admin("GET", "/v1/admin/audit?target=release/" + id));
  const auto &entries = audit.root()["entries"];
  std::vector<std::string> actions;
  for (const auto &entry : entries.GetArray()) {
    actions.emplace_back(entry["action"].GetString());
    CHECK(std::string(entry["actor"].GetString()) == "alice");
    CHECK(entry["at"].GetStringLength() == 20);
  }
  CHECK(actions == std::vector<std::string>{"release.rollback", "release.promote", "release.resume", "release.pause",
                                            "release.promote", "release.create"});
  CHECK(std::string(entries[0]["detail"]["from"].GetString()) == "full");
  CHECK(std::string(entries[0]["detail"]["to"].GetString()) == "rolled_back");

  // The whitelist is held by the release.
  check_error(client.admin("DELETE", "/v1/admin/whitelists/qa"), 409, ErrorCode::Conflict);
}

TEST_CASE("config releases and bad release requests", "[integration][releases][json]") {
  RunningServer running;
  auto &client = *running.client;
  set_up_app_rule_and_list(client);
  auto config = client.admin("POST", "/v1/admin/releases",
                             R"({"app":"com.example","config":{"checkout.new_flow":true,"banner":"hi"},"stage":"gray",)"
                             R"("percent":10})");
  REQUIRE(config.status == 201);
  auto parsed = parse_json(config);
  CHECK(std::string(parsed.root()["kind"].GetString()) == "config");
  CHECK(parsed.root()["config"]["checkout.new_flow"].GetBool());
  CHECK(std::string(parsed.root()["stage"].GetString()) == "gray");

  struct Case {
    const char *what;
    std::string body;
    long status;
    ErrorCode code;
  };
  const Case cases[] = {
      {"neither package nor config", R"({"app":"com.example"})", 400, ErrorCode::JsonMissingField},
      {"both", R"({"app":"com.example","package":{"id":"a","version":"1"},"config":{"k":1}})", 400,
       ErrorCode::InvalidArgument},
      {"unknown app", R"({"app":"com.other","config":{"k":1}})", 404, ErrorCode::NotFound},
      {"unknown whitelist", R"({"app":"com.example","config":{"k":1},"whitelists":["nope"]})", 404,
       ErrorCode::NotFound},
      {"unknown rule", R"({"app":"com.example","config":{"k":1},"rules":["nope"]})", 404, ErrorCode::NotFound},
      {"whitelist named twice", R"({"app":"com.example","config":{"k":1},"whitelists":["qa","qa"]})", 400,
       ErrorCode::InvalidArgument},
      {"bad filter", R"({"app":"com.example","config":{"k":1},"filters":["brand lt 3"]})", 400,
       ErrorCode::InvalidArgument},
      {"percent with three decimals", R"({"app":"com.example","config":{"k":1},"percent":1.005})", 400,
       ErrorCode::JsonValueOutOfRange},
      {"negative percent", R"({"app":"com.example","config":{"k":1},"percent":-1})", 400,
       ErrorCode::JsonValueOutOfRange},
      {"stage paused", R"({"app":"com.example","config":{"k":1},"stage":"paused"})", 400,
       ErrorCode::JsonValueOutOfRange},
      {"empty config", R"({"app":"com.example","config":{}})", 400, ErrorCode::JsonValueOutOfRange},
      {"config not an object", R"({"app":"com.example","config":[1]})", 400, ErrorCode::JsonWrongType},
      {"window backwards",
       R"({"app":"com.example","config":{"k":1},"window":{"start":"2026-12-02T00:00:00Z","end":"2026-12-01T00:00:00Z","cap":5}})",
       400, ErrorCode::JsonValueOutOfRange},
      {"window without cap",
       R"({"app":"com.example","config":{"k":1},"window":{"start":"2026-12-01T00:00:00Z","end":"2026-12-02T00:00:00Z"}})",
       400, ErrorCode::JsonMissingField},
      {"window with a local time",
       R"({"app":"com.example","config":{"k":1},"window":{"start":"2026-12-01T00:00:00+08:00","end":"2026-12-02T00:00:00Z","cap":5}})",
       400, ErrorCode::JsonValueOutOfRange},
      {"unknown field", R"({"app":"com.example","config":{"k":1},"priority":1})", 400, ErrorCode::JsonUnknownField},
      {"package without version", R"({"app":"com.example","package":{"id":"home"}})", 400, ErrorCode::JsonMissingField},
      {"package not published", R"({"app":"com.example","package":{"id":"home","version":"9"}})", 404,
       ErrorCode::NotFound},
      {"package of another app", R"({"app":"com.example","package":{"id":"other","version":"1"}})", 404,
       ErrorCode::NotFound},
      {"package and packages",
       R"({"app":"com.example","package":{"id":"home","version":"2"},"packages":[{"id":"home","version":"2"}]})", 400,
       ErrorCode::InvalidArgument},
      {"a group of one", R"({"app":"com.example","packages":[{"id":"home","version":"2"}]})", 400,
       ErrorCode::JsonValueOutOfRange},
      {"a group naming a package twice",
       R"({"app":"com.example","packages":[{"id":"home","version":"2"},{"id":"home","version":"3.1.0"}]})", 400,
       ErrorCode::InvalidArgument},
      {"a group with an unpublished package",
       R"({"app":"com.example","packages":[{"id":"home","version":"2"},{"id":"cart","version":"1"}]})", 404,
       ErrorCode::NotFound},
      {"upgrade prompt for an offline package",
       R"({"app":"com.example","package":{"id":"home","version":"2"},"upgrade":{"mode":"force"}})", 400,
       ErrorCode::InvalidArgument},
      {"upgrade prompt without a package", R"({"app":"com.example","config":{"k":1},"upgrade":{"mode":"force"}})", 400,
       ErrorCode::InvalidArgument},
      {"unknown upgrade mode",
       R"({"app":"com.example","package":{"id":"home","version":"2"},"upgrade":{"mode":"nag"}})", 400,
       ErrorCode::JsonValueOutOfRange},
  };
  for (const auto &c : cases) {
    INFO(c.what);
    check_error(client.admin("POST", "/v1/admin/releases", c.body), c.status, c.code);
  }
  CHECK(parse_json(client.admin("GET", "/v1/admin/releases")).root()["releases"].Size() == 1);
  CHECK(parse_json(client.admin("GET", "/v1/admin/releases?app=com.example")).root()["releases"].Size() == 1);
  CHECK(parse_json(client.admin("GET", "/v1/admin/releases?app=com.other")).root()["releases"].Size() == 0);
}

TEST_CASE("a restarted server keeps apps, whitelists, rules, releases and the audit log", "[integration][restart]") {
  RunningServer running;
  set_up_app_rule_and_list(*running.client);
  auto created =
      running.client->admin("POST", "/v1/admin/releases",
                            R"({"app":"com.example","package":{"id":"home","version":"2"},"rules":["huawei-new"]})");
  REQUIRE(created.status == 201);
  const auto id = std::to_string(parse_json(created).root()["id"].GetInt64());
  REQUIRE(running.client->admin("POST", "/v1/admin/releases/" + id + "/promote", R"({"percent":20})").status == 200);
  const auto before = running.client->admin("GET", "/v1/admin/releases/" + id).body;
  const auto audit_before = running.client->admin("GET", "/v1/admin/audit").body;

  running.restart();
  auto &client = *running.client;
  CHECK(client.admin("GET", "/v1/admin/releases/" + id).body == before);
  CHECK(client.admin("GET", "/v1/admin/audit").body == audit_before);
  CHECK(parse_json(client.admin("GET", "/v1/admin/apps")).root()["apps"].Size() == 1);
  CHECK(client.admin("GET", "/v1/admin/rules/huawei-new").status == 200);
  CHECK(client.admin("GET", "/v1/admin/whitelists/qa").status == 200);
  // New ids continue after the old ones.
  auto next = client.admin("POST", "/v1/admin/releases", R"({"app":"com.example","config":{"k":1}})");
  CHECK(parse_json(next).root()["id"].GetInt64() == std::stoll(id) + 1);
}

TEST_CASE("SIGTERM lets a request in flight finish before the server exits", "[integration][shutdown]") {
  // A drain deadline far above the import's time even on a loaded machine under ASan: the
  // test is about ordering, not speed.
  RunningServer running({"--drain-seconds", "600"});
  // A large import keeps a request in flight long enough to signal the server meanwhile.
  {
    std::ofstream out(running.temp / "ids.txt");
    for (int i = 0; i < 300000; ++i) {
      out << "device-" << i << "\n";
    }
  }
  HttpResponse imported;
  std::thread uploader([&] {
    HttpClient own_client(running.server->base_url());
    imported = own_client.admin_upload("/v1/admin/whitelists/big/entries?type=device", running.temp / "ids.txt");
  });
  // Wait until the server has the request (in flight: the upload and this scrape), then
  // ask it to stop.
  bool upload_in_flight = false;
  for (int i = 0; i < 5000 && !upload_in_flight; ++i) {
    const auto metrics = running.client->request("GET", "/metrics").body;
    upload_in_flight = metrics.find("mds_http_requests_in_flight 2") != std::string::npos;
  }
  REQUIRE(upload_in_flight);
  const int exit_code = running.server->stop(std::chrono::minutes(10));
  uploader.join();
  CHECK(exit_code == 0);
  INFO(imported.body << imported.transport_error);
  CHECK(imported.status == 200);
  const auto log = running.server->log();
  const auto stopping = log.find(R"("event":"stopping")");
  const auto import_answered = log.find(R"("path":"/v1/admin/whitelists/big/entries")");
  REQUIRE(stopping != std::string::npos);
  REQUIRE(import_answered != std::string::npos);
  CHECK(stopping < import_answered);

  // The import was committed before the server went away.
  running.start();
  auto shown = parse_json(running.client->admin("GET", "/v1/admin/whitelists/big"));
  CHECK(shown.root()["count"].GetUint64() == 300000);
}

TEST_CASE("a server killed during an import leaves the list whole or absent, never half", "[integration][crash]") {
  RunningServer running;
  {
    std::ofstream out(running.temp / "ids.txt");
    for (int i = 0; i < 300000; ++i) {
      out << "device-" << i << "\n";
    }
  }
  REQUIRE(running.client->admin("POST", "/v1/admin/whitelists", R"({"name":"old","type":"device"})").status == 201);
  std::thread uploader([&] {
    HttpClient own_client(running.server->base_url());
    own_client.admin_upload("/v1/admin/whitelists/big/entries?type=device", running.temp / "ids.txt");
  });
  bool upload_in_flight = false;
  for (int i = 0; i < 5000 && !upload_in_flight; ++i) {
    const auto metrics = running.client->request("GET", "/metrics").body;
    upload_in_flight = metrics.find("mds_http_requests_in_flight 2") != std::string::npos;
  }
  REQUIRE(upload_in_flight);
  running.server->kill_hard();
  uploader.join();

  running.start();
  auto &client = *running.client;
  auto big = client.admin("GET", "/v1/admin/whitelists/big");
  if (big.status == 200) {
    CHECK(parse_json(big).root()["count"].GetUint64() == 300000);
  } else {
    check_error(big, 404, ErrorCode::NotFound);
  }
  CHECK(client.admin("GET", "/v1/admin/whitelists/old").status == 200);
  // The spooled upload of the killed server is gone.
  CHECK(std::filesystem::is_empty(running.data_dir() / "tmp"));
}
