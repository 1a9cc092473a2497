// Targeted config values and the version matrix (docs/protocol-admin.md, "Targeted config
// values") through the real server: /v1/check and simulate resolve them alike, refusals
// change nothing, ETags follow variant changes, and every operator change is seen by the
// very next check (the check path caches an app's inputs).
#include "fixture.hpp"

#include <atomic>
#include <thread>

using namespace mds::test;
using mds::ErrorCode;

namespace {

// A /v1/check (and simulate) request for app "shop".
std::string device_body(const std::string &device_id, const std::string &app_version, const std::string &sdks_json) {
  return R"({"app":"shop","platform":"android","app_version":")" + app_version + R"(","sdks":)" + sdks_json +
         R"(,"device":{"id":")" + device_id + R"("}})";
}

// The check answer's config values, as compact JSON per key.
std::map<std::string, std::string> checked_values(HttpClient &client, const std::string &body) {
  auto answer = client.request("POST", "/v1/check", body);
  INFO(answer.body);
  REQUIRE(answer.status == 200);
  auto document = parse_json(answer);
  std::map<std::string, std::string> values;
  for (const auto &member : document.root()["config"]["values"].GetObject()) {
    values[member.name.GetString()] = mds::core::json::serialize(member.value);
  }
  return values;
}

std::int64_t config_revision(HttpClient &client) {
  return parse_json(client.admin("GET", "/v1/admin/apps/shop/config")).root()["revision"].GetInt64();
}

// The feed's data format changed twice: SDK feed < 2 reads format 1, feed 2.x format 2,
// feed 3 and later format 3. App 5.0 was rolled back to the old feed SDK under a new
// version number (5.1), so the app version alone cannot say what it parses.
const char *const kFeedMatrix = R"({"value":"format-3","variants":[
  {"when":["app_version version_in \"<5\""],"value":"format-1"},
  {"when":["app_version version_in \">=5\"","sdk.feed version_in \"<2\""],"value":"format-1-rolled-back"},
  {"when":["sdk.feed version_in \">=2 <3\""],"value":"format-2"}]})";

} // namespace

TEST_CASE("config variants: the version matrix, first match wins, else the default", "[integration][config]") {
  RunningServer running;
  auto &client = *running.client;
  REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("shop")).status == 201);
  auto set = client.admin("PUT", "/v1/admin/apps/shop/config/feed.schema", kFeedMatrix);
  INFO(set.body);
  REQUIRE(set.status == 200);
  auto stored = parse_json(set);
  REQUIRE(stored.root()["variants"].Size() == 3);
  CHECK(std::string(stored.root()["variants"][1]["when"][1]["field"].GetString()) == "sdk.feed");
  CHECK(std::string(stored.root()["variants"][1]["when"][1]["op"].GetString()) == "version_in");
  CHECK(std::string(stored.root()["variants"][1]["value"].GetString()) == "format-1-rolled-back");
  REQUIRE(client.admin("PUT", "/v1/admin/apps/shop/config/plain", R"({"value":7})").status == 200);

  struct Case {
    const char *what;
    const char *app_version;
    const char *sdks;
    const char *value;
    const char *source;
  };
  const Case cases[] = {
      {"old app", "4.9.0", R"({"feed":"1.5.0"})", R"("format-1")", "variant/feed.schema/0"},
      {"rolled back to a new version number with the old SDK", "5.1.0", R"({"feed":"1.8.2"})",
       R"("format-1-rolled-back")", "variant/feed.schema/1"},
      {"new app, feed 2", "5.1.0", R"({"feed":"2.3"})", R"("format-2")", "variant/feed.schema/2"},
      {"old app with feed 2: the first matching variant wins", "4.0.0", R"({"feed":"2.5"})", R"("format-1")",
       "variant/feed.schema/0"},
      {"new app, feed 3: no variant holds", "5.1.0", R"({"feed":"3.0"})", R"("format-3")", "default"},
      {"no feed SDK: an absent SDK holds no range", "5.1.0", R"({})", R"("format-3")", "default"},
      {"another SDK's version does not count as the feed's", "5.1.0", R"({"payment":"1.0","feed":"3.1"})",
       R"("format-3")", "default"},
  };
  int index = 0;
  for (const auto &c : cases) {
    INFO(c.what);
    const auto body = device_body("d-" + std::to_string(index++), c.app_version, c.sdks);
    auto values = checked_values(client, body);
    CHECK(values["feed.schema"] == c.value);
    CHECK(values["plain"] == "7");
    auto simulated = parse_json(client.admin("POST", "/v1/admin/simulate", body));
    CHECK(mds::core::json::serialize(simulated.root()["config"]["values"]["feed.schema"]) == c.value);
    CHECK(std::string(simulated.root()["config"]["sources"]["feed.schema"].GetString()) == c.source);
    CHECK(std::string(simulated.root()["config"]["sources"]["plain"].GetString()) == "default");
  }

  // A config release overrides the variant for the devices it reaches, and only those.
  auto release = client.admin("POST", "/v1/admin/releases",
                              R"({"app":"shop","config":{"feed.schema":"from-release"},"stage":"full",)"
                              R"("filters":["app_version version_gte 6"]})");
  REQUIRE(release.status == 201);
  const auto release_id = parse_json(release).root()["id"].GetInt64();
  const auto reached = device_body("r-1", "6.0.0", R"({"feed":"1.0"})");
  CHECK(checked_values(client, reached)["feed.schema"] == R"("from-release")");
  auto simulated = parse_json(client.admin("POST", "/v1/admin/simulate", reached));
  CHECK(std::string(simulated.root()["config"]["sources"]["feed.schema"].GetString()) ==
        "release/" + std::to_string(release_id));
  const auto missed = device_body("r-2", "5.1.0", R"({"feed":"1.0"})");
  CHECK(checked_values(client, missed)["feed.schema"] == R"("format-1-rolled-back")");

  // Absent variants keep the current ones; [] clears them.
  REQUIRE(client.admin("PUT", "/v1/admin/apps/shop/config/feed.schema", R"({"value":"format-4"})").status == 200);
  CHECK(checked_values(client, missed)["feed.schema"] == R"("format-1-rolled-back")");
  CHECK(checked_values(client, device_body("x", "5.1.0", R"({"feed":"9"})"))["feed.schema"] == R"("format-4")");
  auto cleared = client.admin("PUT", "/v1/admin/apps/shop/config/feed.schema", R"({"value":"format-4","variants":[]})");
  REQUIRE(cleared.status == 200);
  CHECK(parse_json(cleared).root()["variants"].Size() == 0);
  CHECK(checked_values(client, missed)["feed.schema"] == R"("format-4")");
}

TEST_CASE("config variants: bad variants are refused with their code and change nothing", "[integration][config]") {
  RunningServer running;
  auto &client = *running.client;
  REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("shop")).status == 201);
  REQUIRE(client
              .admin("PUT", "/v1/admin/apps/shop/config/k",
                     R"({"value":1,"variants":[{"when":["channel eq beta"],"value":2}]})")
              .status == 200);
  const auto revision = config_revision(client);
  const auto before = client.admin("GET", "/v1/admin/apps/shop/config/k").body;

  std::string many_filters;
  for (int i = 0; i < 33; ++i) {
    many_filters += std::string(i == 0 ? "" : ",") + R"("channel eq c)" + std::to_string(i) + R"(")";
  }
  std::string many_variants;
  for (int i = 0; i < 101; ++i) {
    many_variants += std::string(i == 0 ? "" : ",") + R"({"when":["channel eq a"],"value":)" + std::to_string(i) + "}";
  }
  struct Case {
    std::string variants;
    ErrorCode code;
  };
  const std::vector<Case> cases = {
      {R"({})", ErrorCode::JsonWrongType},
      {R"("channel eq beta")", ErrorCode::JsonWrongType},
      {R"([1])", ErrorCode::JsonWrongType},
      {R"([{"when":["channel eq beta"],"value":3,"weight":1}])", ErrorCode::JsonUnknownField},
      {R"([{"value":3}])", ErrorCode::JsonMissingField},
      {R"([{"when":["channel eq beta"]}])", ErrorCode::JsonMissingField},
      {R"([{"when":"channel eq beta","value":3}])", ErrorCode::JsonWrongType},
      {R"([{"when":[],"value":3}])", ErrorCode::JsonValueOutOfRange},
      {R"([{"when":[)" + many_filters + R"(],"value":3}])", ErrorCode::JsonValueOutOfRange},
      {"[" + many_variants + "]", ErrorCode::JsonValueOutOfRange},
      {R"([{"when":[7],"value":3}])", ErrorCode::JsonWrongType},
      {R"([{"when":["colour eq red"],"value":3}])", ErrorCode::InvalidArgument},
      {R"([{"when":["channel"],"value":3}])", ErrorCode::InvalidArgument},
      {R"([{"when":["app_version version_in \"2 - 1\""],"value":3}])", ErrorCode::VersionRangeInvalid},
      {R"([{"when":["app_version version_gte 1.x"],"value":3}])", ErrorCode::VersionInvalid},
      {R"([{"when":["channel eq a"],"value":3},{"when":["channel eq b"],"value":")" + std::string(70000, 'x') +
           R"("}])",
       ErrorCode::JsonValueOutOfRange},
  };
  for (const auto &c : cases) {
    INFO("variants: " << c.variants.substr(0, 200));
    check_error(client.admin("PUT", "/v1/admin/apps/shop/config/k", R"({"value":5,"variants":)" + c.variants + "}"),
                400, c.code);
  }
  CHECK(config_revision(client) == revision);
  CHECK(client.admin("GET", "/v1/admin/apps/shop/config/k").body == before);
  auto audit = parse_json(client.admin("GET", "/v1/admin/audit?target=config/shop/k"));
  CHECK(audit.root()["entries"].Size() == 1);
}

TEST_CASE("config variants: a changed variant changes the ETag, an unchanged state answers 304",
          "[integration][config]") {
  RunningServer running;
  auto &client = *running.client;
  REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("shop")).status == 201);
  REQUIRE(client
              .admin("PUT", "/v1/admin/apps/shop/config/banner",
                     R"({"value":"plain","variants":[{"when":["app_version version_gte 2"],"value":"fancy"}]})")
              .status == 200);
  const auto body = device_body("e-1", "2.0.0", "{}");
  auto first = client.request("POST", "/v1/check", body);
  REQUIRE(first.status == 200);
  CHECK(parse_json(first).root()["config"]["values"]["banner"] == "fancy");
  const auto etag = first.headers.at("etag");
  CHECK(client.request("POST", "/v1/check", body, {"If-None-Match: " + etag}).status == 304);

  REQUIRE(client
              .admin("PUT", "/v1/admin/apps/shop/config/banner",
                     R"({"value":"plain","variants":[{"when":["app_version version_gte 2"],"value":"fancier"}]})")
              .status == 200);
  auto changed = client.request("POST", "/v1/check", body, {"If-None-Match: " + etag});
  REQUIRE(changed.status == 200);
  CHECK(parse_json(changed).root()["config"]["values"]["banner"] == "fancier");
  const auto new_etag = changed.headers.at("etag");
  CHECK(new_etag != etag);
  CHECK(client.request("POST", "/v1/check", body, {"If-None-Match: " + new_etag}).status == 304);
  // The revision the device reports rises with a variant change too.
  CHECK(parse_json(changed).root()["config"]["revision"].GetInt64() == config_revision(client));
}

TEST_CASE("check path cache: every operator change is seen by the very next check", "[integration][config]") {
  RunningServer running;
  auto &client = *running.client;
  REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("shop")).status == 201);
  const auto body = device_body("c-1", "3.0.0", R"({"feed":"1.0"})");
  CHECK(checked_values(client, body).empty());

  REQUIRE(client.admin("PUT", "/v1/admin/apps/shop/config/k", R"({"value":"a"})").status == 200);
  CHECK(checked_values(client, body)["k"] == R"("a")");
  REQUIRE(client
              .admin("PUT", "/v1/admin/apps/shop/config/k",
                     R"({"value":"a","variants":[{"when":["sdk.feed version_lt 2"],"value":"b"}]})")
              .status == 200);
  CHECK(checked_values(client, body)["k"] == R"("b")");

  // A release behind an empty device list: not reached until the device is on the list.
  REQUIRE(client.admin("POST", "/v1/admin/whitelists", R"({"name":"qa","type":"device"})").status == 201);
  auto created = client.admin("POST", "/v1/admin/releases",
                              R"({"app":"shop","config":{"k":"c"},"stage":"gray","whitelists":["qa"]})");
  REQUIRE(created.status == 201);
  const auto id = std::to_string(parse_json(created).root()["id"].GetInt64());
  CHECK(checked_values(client, body)["k"] == R"("b")");
  REQUIRE(client.admin("PUT", "/v1/admin/whitelists/qa/entries?type=device", "c-1\n").status == 200);
  CHECK(checked_values(client, body)["k"] == R"("c")");
  REQUIRE(client.admin("POST", "/v1/admin/releases/" + id + "/pause").status == 200);
  CHECK(checked_values(client, body)["k"] == R"("b")");
  REQUIRE(client.admin("POST", "/v1/admin/releases/" + id + "/resume").status == 200);
  CHECK(checked_values(client, body)["k"] == R"("c")");

  // A rule-filtered release created later wins the key for devices it reaches.
  REQUIRE(
      client.admin("POST", "/v1/admin/rules", R"({"name":"old-feed","filters":["sdk.feed version_lt 2"]})").status ==
      201);
  auto later = client.admin("POST", "/v1/admin/releases",
                            R"({"app":"shop","config":{"k":"d"},"stage":"full","rules":["old-feed"]})");
  REQUIRE(later.status == 201);
  const auto later_id = std::to_string(parse_json(later).root()["id"].GetInt64());
  CHECK(checked_values(client, body)["k"] == R"("d")");
  REQUIRE(client.admin("POST", "/v1/admin/releases/" + later_id + "/rollback").status == 200);
  CHECK(checked_values(client, body)["k"] == R"("c")");
  REQUIRE(client.admin("POST", "/v1/admin/releases/" + id + "/end").status == 200);
  CHECK(checked_values(client, body)["k"] == R"("b")");
}

TEST_CASE("load shedding: beyond --max-pending-checks a check gets 503 with Retry-After", "[integration][config]") {
  RunningServer running;
  // A second server on the same state, shedding beyond one check at a time.
  running.client.reset();
  REQUIRE(running.server->stop() == 0);
  running.server = ServerProcess::start(
      running.data_dir(), running.token_file(),
      {"--threads", "8", "--max-pending-checks", "1", "--retry-after", "7", "--poll-interval", "120"});
  running.client = std::make_unique<HttpClient>(running.server->base_url());
  auto &client = *running.client;
  REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("shop")).status == 201);
  // Enough work per check that checks overlap.
  for (int i = 0; i < 40; ++i) {
    REQUIRE(client
                .admin("POST", "/v1/admin/releases",
                       R"({"app":"shop","config":{"k":)" + std::to_string(i) +
                           R"(},"stage":"gray","percent":50,"filters":["app_version version_gte 1"]})")
                .status == 201);
  }
  auto single = client.request("POST", "/v1/check", device_body("p-0", "2.0.0", "{}"));
  REQUIRE(single.status == 200);
  CHECK(parse_json(single).root()["poll_interval"].GetInt() == 120);

  constexpr int kThreads = 12;
  constexpr int kPerThread = 20;
  std::atomic<int> ok{0};
  std::atomic<int> shed{0};
  std::atomic<int> other{0};
  std::atomic<int> bad_shed_answer{0};
  for (int round = 0; round < 20 && shed == 0; ++round) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        HttpClient own(running.server->base_url());
        for (int i = 0; i < kPerThread; ++i) {
          auto answer =
              own.request("POST", "/v1/check", device_body("p-" + std::to_string(t * 1000 + i), "2.0.0", "{}"));
          if (answer.status == 200) {
            ++ok;
          } else if (answer.status == 503) {
            ++shed;
            auto document = mds::core::json::parse(answer.body);
            const bool well_formed =
                answer.headers.count("retry-after") == 1 && answer.headers.at("retry-after") == "7" && document.ok() &&
                document->root()["error"]["code"].GetUint() == static_cast<unsigned>(ErrorCode::RateLimited);
            bad_shed_answer += well_formed ? 0 : 1;
          } else {
            ++other;
          }
        }
      });
    }
    for (auto &thread : threads) {
      thread.join();
    }
  }
  INFO("200: " << ok << ", 503: " << shed << ", other: " << other);
  CHECK(other == 0);
  CHECK(bad_shed_answer == 0);
  CHECK(shed > 0);
  CHECK(ok > 0);
  // Once the burst is over, a check goes through again.
  CHECK(client.request("POST", "/v1/check", device_body("p-after", "2.0.0", "{}")).status == 200);
}
