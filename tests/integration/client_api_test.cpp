// The client API (POST /v1/check, POST /v1/events) driven by the real SDK: the mds-client
// host app syncs against the real mds-server on 127.0.0.1. Raw HTTP only where a device
// would never send such bytes (malformed bodies) or where many devices are needed at once.
#include "fixture.hpp"
#include "package_support.hpp"

// Built only where the samples are (mds-client is the SDK under test).
#ifdef MDS_CLIENT_BINARY

#include <array>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

using namespace mds::test;
using mds::ErrorCode;

namespace {

std::string shell_quote(const std::string &text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// One device: mds-client with its own state directory.
struct Device {
  std::string id;
  std::filesystem::path state;
};

// `mds-client ... sync`, its stdout parsed; REQUIREs exit 0 and "ok": true.
mds::core::json::Document sync(const RunningServer &running, const Device &device) {
  const auto err_file = running.temp / ("sync-" + device.id + ".err");
  const std::string command = std::string(MDS_CLIENT_BINARY) + " --server " + shell_quote(running.server->base_url()) +
                              " --app demo --state " + shell_quote(device.state.string()) + " --device-id " +
                              shell_quote(device.id) + " --app-version 10.2.3 --trusted-key " +
                              shell_quote(std::string(MDS_TEST_KEYS_DIR) + "/p256-public.pem") +
                              " --timeout 30 sync 2>" + shell_quote(err_file.string());
  FILE *pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  std::array<char, 4096> chunk{};
  while (auto n = std::fread(chunk.data(), 1, chunk.size(), pipe)) {
    out.append(chunk.data(), n);
  }
  const int status = pclose(pipe);
  std::ifstream err(err_file);
  std::stringstream err_text;
  err_text << err.rdbuf();
  INFO("mds-client stdout: " << out << "\nstderr: " << err_text.str());
  REQUIRE(status == 0);
  auto document = mds::core::json::parse(out);
  REQUIRE(document.ok());
  REQUIRE(document->root()["ok"].GetBool());
  return std::move(document.value());
}

std::string config_value(const mds::core::json::Document &synced, const char *key) {
  const auto &config = synced.root()["config"];
  if (!config.HasMember(key)) {
    return "(absent)";
  }
  return mds::core::json::serialize(config[key]);
}

// How many /v1/check requests the server logged with `status`.
std::size_t checks_logged(const ServerProcess &server, unsigned status) {
  const std::string needle = R"("route":"/v1/check","status":)" + std::to_string(status) + ",";
  const auto log = server.log_settled();
  std::size_t count = 0;
  for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

std::string check_body(const std::string &device_id) {
  return R"({"app":"demo","platform":"android","app_version":"10.2.3","device":{"id":")" + device_id + R"("}})";
}

std::int64_t create_release(HttpClient &client, const std::string &body) {
  auto created = client.admin("POST", "/v1/admin/releases", body);
  INFO(created.body);
  REQUIRE(created.status == 201);
  return parse_json(created).root()["id"].GetInt64();
}

std::uint64_t counter(HttpClient &client, std::int64_t release, const char *name) {
  auto response = client.admin("GET", "/v1/admin/releases/" + std::to_string(release) + "/counters");
  INFO(response.body);
  REQUIRE(response.status == 200);
  auto answer = parse_json(response);
  REQUIRE(answer.root().HasMember(name));
  return answer.root()[name].GetUint64();
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
  REQUIRE(client.admin("PUT", "/v1/admin/apps/demo/config/welcome", R"({"value":"hi"})").status == 200);
}

} // namespace

TEST_CASE("the SDK receives config values the operator sets, and changes to them", "[integration][client]") {
  RunningServer running;
  auto &client = *running.client;
  set_up_app(client);
  const Device device{"d-1", running.temp / "device-1"};

  CHECK(config_value(sync(running, device), "welcome") == R"("hi")");
  REQUIRE(client.admin("PUT", "/v1/admin/apps/demo/config/welcome", R"({"value":"hello"})").status == 200);
  REQUIRE(client.admin("PUT", "/v1/admin/apps/demo/config/limits", R"({"value":{"max":3}})").status == 200);
  auto changed = sync(running, device);
  CHECK(config_value(changed, "welcome") == R"("hello")");
  CHECK(config_value(changed, "limits") == R"({"max":3})");
}

TEST_CASE("a sync with nothing changed is answered 304", "[integration][client]") {
  RunningServer running;
  auto &client = *running.client;
  set_up_app(client);
  const Device device{"d-1", running.temp / "device-1"};

  sync(running, device);
  running.server->log_containing(R"("route":"/v1/check","status":200)");
  CHECK(checks_logged(*running.server, 304) == 0);
  auto again = sync(running, device);
  CHECK(config_value(again, "welcome") == R"("hi")");
  running.server->log_containing(R"("route":"/v1/check","status":304)");
  CHECK(checks_logged(*running.server, 200) == 1);
  CHECK(checks_logged(*running.server, 304) == 1);

  // A change for this device ends the 304s.
  REQUIRE(client.admin("PUT", "/v1/admin/apps/demo/config/welcome", R"({"value":"hey"})").status == 200);
  CHECK(config_value(sync(running, device), "welcome") == R"("hey")");
  CHECK(checks_logged(*running.server, 200) == 2);

  // Raw: the ETag is strong, and If-None-Match with it is a bodiless 304.
  auto first = client.request("POST", "/v1/check", check_body("raw"));
  REQUIRE(first.status == 200);
  const auto etag = first.headers.at("etag");
  CHECK(etag.size() == 66);
  CHECK(etag.front() == '"');
  auto second = client.request("POST", "/v1/check", check_body("raw"), {"If-None-Match: " + etag});
  CHECK(second.status == 304);
  CHECK(second.body.empty());
  CHECK(second.headers.at("etag") == etag);
  auto other = client.request("POST", "/v1/check", check_body("raw"), {"If-None-Match: \"0000\""});
  CHECK(other.status == 200);
  CHECK(other.body == first.body);
}

TEST_CASE("a config release on a whitelist reaches the devices on it only", "[integration][client]") {
  RunningServer running;
  auto &client = *running.client;
  set_up_app(client);
  REQUIRE(client.admin("PUT", "/v1/admin/whitelists/beta/entries?type=device", "d-in\n").status == 200);
  const auto release = create_release(
      client, R"({"app":"demo","config":{"welcome":"beta hi","beta":true},"stage":"gray","whitelists":["beta"]})");

  const auto in = sync(running, Device{"d-in", running.temp / "in"});
  CHECK(config_value(in, "welcome") == R"("beta hi")");
  CHECK(config_value(in, "beta") == "true");
  const auto out = sync(running, Device{"d-out", running.temp / "out"});
  CHECK(config_value(out, "welcome") == R"("hi")");
  CHECK(config_value(out, "beta") == "(absent)");
  CHECK(counter(client, release, "offered") == 1);

  // Promoting the release to full is a change for the device outside the list.
  REQUIRE(client.admin("POST", "/v1/admin/releases/" + std::to_string(release) + "/promote", R"({"stage":"full"})")
              .status == 200);
  CHECK(config_value(sync(running, Device{"d-out", running.temp / "out"}), "welcome") == R"("beta hi")");
  CHECK(counter(client, release, "offered") == 2);
}

TEST_CASE("a config release on a regex whitelist reaches the devices whose whole id matches", "[integration][client]") {
  RunningServer running;
  auto &client = *running.client;
  set_up_app(client);
  // A pattern that backtracks exponentially in a backtracking engine: RE2 answers at once.
  REQUIRE(client
              .admin("PUT", "/v1/admin/whitelists/qa/entries?type=device&match=regex",
                     "qa-[0-9]{2}\n(?i)tester-.*\n(a+)+b\n")
              .status == 200);
  const auto release =
      create_release(client, R"({"app":"demo","config":{"welcome":"qa hi"},"stage":"gray","whitelists":["qa"]})");

  struct Case {
    std::string device_id;
    bool on_list;
  };
  const std::vector<Case> cases = {
      {"qa-12", true},    {"TESTER-7", true}, {"tester-", true}, {"qa-123", false},
      {"x-qa-12", false}, {"qa-1", false},    {"aaab", true},    {std::string(120, 'a') + "c", false},
  };
  int index = 0;
  for (const auto &c : cases) {
    CAPTURE(c.device_id);
    const auto got = sync(running, Device{c.device_id, running.temp / ("d" + std::to_string(index++))});
    CHECK(config_value(got, "welcome") == (c.on_list ? R"("qa hi")" : R"("hi")"));
  }
  CHECK(counter(client, release, "offered") == 4);

  // A pattern that does not compile is refused and the list keeps its patterns; an id
  // import into a regex list is a conflict.
  check_error(client.admin("PUT", "/v1/admin/whitelists/qa/entries?type=device&match=regex", "qa-[0-9\n"), 400,
              ErrorCode::InvalidArgument);
  check_error(client.admin("PUT", "/v1/admin/whitelists/qa/entries?type=device", "qa-99\n"), 409, ErrorCode::Conflict);
  check_error(client.admin("PUT", "/v1/admin/whitelists/qa/entries?type=device&match=glob", "qa-99\n"), 400,
              ErrorCode::InvalidArgument);
  auto shown = parse_json(client.admin("GET", "/v1/admin/whitelists/qa"));
  CHECK(std::string(shown.root()["match"].GetString()) == "regex");
  CHECK(shown.root()["count"].GetUint64() == 3);
  CHECK(config_value(sync(running, Device{"qa-77", running.temp / "late"}), "welcome") == R"("qa hi")");
}

TEST_CASE("malformed, oversized and wrong-typed checks are refused with their codes", "[integration][client]") {
  RunningServer running;
  auto &client = *running.client;
  set_up_app(client);
  const auto release = create_release(client, R"({"app":"demo","config":{"welcome":"all"},"stage":"full"})");
  const auto before = client.request("POST", "/v1/check", check_body("d-1"));
  REQUIRE(before.status == 200);

  struct Case {
    std::string body;
    long status;
    ErrorCode code;
  };
  const std::vector<Case> cases = {
      {R"({"app":"demo")", 400, ErrorCode::JsonSyntax},
      {"", 400, ErrorCode::JsonSyntax},
      {"[]", 400, ErrorCode::JsonWrongType},
      {R"({"app":"demo","platform":"android","app_version":10,"device":{"id":"d-1"}})", 400, ErrorCode::JsonWrongType},
      {R"({"app":"demo","platform":"android","app_version":"10.2.3","device":{"id":"d-1"},"config_revision":"1"})", 400,
       ErrorCode::JsonWrongType},
      {R"({"app":"demo","platform":"android","app_version":"10.2.3","device":{"id":"d-1"},"extra":1})", 400,
       ErrorCode::JsonUnknownField},
      {R"({"app":"demo","app":"demo","platform":"android","app_version":"10.2.3","device":{"id":"d-1"}})", 400,
       ErrorCode::JsonDuplicateKey},
      {R"({"app":"demo","platform":"android","device":{"id":"d-1"}})", 400, ErrorCode::JsonMissingField},
      {R"({"app":"demo","platform":"android","app_version":"10.2.3","device":{"id":"d-1"},"installed":{"offline":[]}})",
       400, ErrorCode::JsonWrongType},
      {R"({"app":"nope","platform":"android","app_version":"10.2.3","device":{"id":"d-1"}})", 404, ErrorCode::NotFound},
      {R"({"app":"demo","platform":"android","app_version":"10.2.3","device":{"id":")" + std::string(70000, 'x') +
           R"("}})",
       413, ErrorCode::PayloadTooLarge},
  };
  for (const auto &c : cases) {
    INFO("body: " << c.body.substr(0, 200));
    check_error(client.request("POST", "/v1/check", c.body), c.status, c.code);
  }
  // Nothing changed: the same answer, one offer counted (the first check's).
  const auto after = client.request("POST", "/v1/check", check_body("d-1"));
  CHECK(after.body == before.body);
  CHECK(after.headers.at("etag") == before.headers.at("etag"));
  CHECK(counter(client, release, "offered") == 2);
  check_error(client.request("GET", "/v1/check"), 405, ErrorCode::Unsupported);
}

TEST_CASE("events: a batch posted twice is accepted twice and stored once", "[integration][client]") {
  RunningServer running;
  auto &client = *running.client;
  set_up_app(client);
  const auto release = create_release(client, R"({"app":"demo","config":{"welcome":"all"},"stage":"full"})");
  const auto id = std::to_string(release);
  const std::string batch = R"({"app":"demo","device_id":"d-1","events":[)"
                            R"({"id":"e-1","type":"installed","time":"2026-11-22T10:00:00Z","release":")" +
                            id +
                            R"(","package":"h5","version":"1.1.0","detail":"delta"},)"
                            R"({"id":"e-2","type":"failed","time":"2026-11-22T10:00:01Z","release":")" +
                            id +
                            R"(","code":704},)"
                            R"({"id":"e-3","type":"prompt_shown","time":"2026-11-22T10:00:02Z"}]})";
  for (int round = 0; round < 2; ++round) {
    auto answer = client.request("POST", "/v1/events", batch);
    INFO(answer.body);
    REQUIRE(answer.status == 200);
    CHECK(answer.body == R"({"accepted":["e-1","e-2","e-3"]})");
  }
  CHECK(counter(client, release, "installed") == 1);
  CHECK(counter(client, release, "failed") == 1);
  CHECK(counter(client, release, "downloaded") == 0);

  // A batch that repeats one stored id and adds one: both accepted, one more counted.
  auto mixed = client.request(
      "POST", "/v1/events",
      R"({"app":"demo","device_id":"d-1","events":[)"
      R"({"id":"e-1","type":"installed","time":"2026-11-22T10:00:00Z","release":")" +
          id + R"("},{"id":"e-4","type":"installed","time":"2026-11-22T10:00:03Z","release":")" + id + R"("}]})");
  CHECK(mixed.body == R"({"accepted":["e-1","e-4"]})");
  CHECK(counter(client, release, "installed") == 2);

  std::string too_many = R"({"app":"demo","device_id":"d-1","events":[)";
  for (int i = 0; i < 101; ++i) {
    too_many += std::string(i ? "," : "") + R"({"id":"x-)" + std::to_string(i) +
                R"(","type":"stale","time":"2026-11-22T10:00:00Z"})";
  }
  too_many += "]}";
  const std::vector<std::pair<std::string, ErrorCode>> refused = {
      {too_many, ErrorCode::JsonValueOutOfRange},
      {R"({"app":"demo","device_id":"d-1","events":[{"id":"x","type":"exploded","time":"2026-11-22T10:00:00Z"}]})",
       ErrorCode::JsonValueOutOfRange},
      {R"({"app":"demo","device_id":"d-1","events":[{"id":"x","type":"stale","time":"yesterday"}]})",
       ErrorCode::InvalidArgument},
      {R"({"app":"demo","device_id":"d-1","events":[{"id":"x","type":"stale","time":"2026-11-22T10:00:00Z","n":1}]})",
       ErrorCode::JsonUnknownField},
      {R"({"app":"demo","device_id":"d-1","events":[{"id":1,"type":"stale","time":"2026-11-22T10:00:00Z"}]})",
       ErrorCode::JsonWrongType},
      {R"({"app":"demo","device_id":"d-1"})", ErrorCode::JsonMissingField},
  };
  for (const auto &[body, code] : refused) {
    INFO("body: " << body.substr(0, 200));
    check_error(client.request("POST", "/v1/events", body), 400, code);
  }
  check_error(client.request("POST", "/v1/events", R"({"app":"nope","device_id":"d-1","events":[]})"), 404,
              ErrorCode::NotFound);
  CHECK(counter(client, release, "installed") == 2);
}

TEST_CASE("a time window admits exactly its cap under concurrent checks, the same devices after a restart",
          "[integration][client][window]") {
  RunningServer running;
  auto &client = *running.client;
  set_up_app(client);
  const auto now = std::time(nullptr);
  create_release(client, R"({"app":"demo","config":{"welcome":"early"},"stage":"gray","window":{"start":")" +
                             utc(now - 60) + R"(","end":")" + utc(now + 3600) + R"(","cap":50}})");

  constexpr int kDevices = 200;
  // Which devices see the window's value, checking all at once.
  auto admitted = [&] {
    std::vector<int> early(kDevices, -1);
    std::vector<std::thread> threads;
    const auto base = running.server->base_url();
    for (int i = 0; i < kDevices; ++i) {
      threads.emplace_back([&, i] {
        HttpClient own(base);
        auto answer = own.request("POST", "/v1/check", check_body("w-" + std::to_string(i)));
        if (answer.status == 200) {
          early[static_cast<std::size_t>(i)] = answer.body.find(R"("welcome":"early")") != std::string::npos ? 1 : 0;
        }
      });
    }
    for (auto &thread : threads) {
      thread.join();
    }
    std::set<int> in;
    for (int i = 0; i < kDevices; ++i) {
      INFO("device " << i);
      REQUIRE(early[static_cast<std::size_t>(i)] != -1);
      if (early[static_cast<std::size_t>(i)] == 1) {
        in.insert(i);
      }
    }
    return in;
  };
  const auto first = admitted();
  CHECK(first.size() == 50);
  running.restart();
  const auto second = admitted();
  CHECK(second == first);
}

TEST_CASE("the SDK reads a check answer that offers packages of every kind", "[integration][client][offers]") {
  RunningServer running;
  auto &client = *running.client;
  set_up_app(client);
  publish_offline(client, "demo", "h5", "1.0.0");
  publish_offline(client, "demo", "h5", "1.1.0");
  publish_offline(client, "demo", "cart", "1.0.0");
  publish_ok(client, signed_package("demo", mds::core::PackageKind::Upgrade, "app", "10.3.0",
                                    {{"app.apk", "apk bytes"}}, "Faster checkout."));
  publish_ok(client, signed_package("demo", mds::core::PackageKind::Hotpatch, "patch", "1", {{"patch.js", "fix();"}}));
  create_release(client, R"({"app":"demo","packages":[{"id":"h5","version":"1.1.0"},{"id":"cart","version":"1.0.0"}],)"
                         R"("stage":"full"})");
  create_release(client, R"({"app":"demo","package":{"id":"app","version":"10.3.0"},"upgrade":{"mode":"silent"},)"
                         R"("stage":"full"})");
  create_release(client, R"({"app":"demo","package":{"id":"patch","version":"1"},"stage":"full"})");

  // The answer carries all three (raw HTTP shows it); the SDK's strict reader accepts it.
  auto answer = client.request("POST", "/v1/check", check_body("d-1"));
  REQUIRE(answer.status == 200);
  auto offered = parse_json(answer);
  CHECK(offered.root()["offline"].Size() == 2);
  CHECK(offered.root()["upgrade"].IsObject());
  CHECK(offered.root()["hotpatch"].IsObject());
  const Device device{"d-1", running.temp / "device-1"};
  CHECK(config_value(sync(running, device), "welcome") == R"("hi")");
}

#endif // MDS_CLIENT_BINARY
