// Upgrade prompts over simulated days, end to end: the real mds-server offers a published
// upgrade package in each mode; the real SDK in this process (its wall clock simulated)
// starts once a day, syncs and decides whether the host prompts; the host prompts when
// told to. The offer and every prompt reach the server as events.
#include "fixture.hpp"
#include "package_support.hpp"

#include <mds/client.hpp>

#include "state/store.hpp"
#include "support/simulated_clock.hpp"

using namespace mds::test;
using namespace std::chrono_literals;

TEST_CASE("upgrade prompts over simulated days in every mode, from the real server through the real SDK",
          "[integration][upgrade]") {
  constexpr std::int64_t day = 86400;
  constexpr std::int64_t start = 1'800'000'000 + 10 * 3600;
  struct Case {
    std::string mode;
    unsigned remind_days;
    std::string expected; // days 0..7, the app started once a day: did the SDK say "prompt now"?
  };
  const Case cases[] = {
      {"single", 3, "10010010"},     {"single", 1, "11111111"}, {"single", 2, "10101010"},
      {"every_time", 3, "11111111"}, {"force", 3, "11111111"},  {"silent", 3, "00000000"},
  };
  for (const auto &c : cases) {
    INFO(c.mode << " remind_days " << c.remind_days);
    RunningServer running;
    auto &admin = *running.client;
    REQUIRE(admin.admin("POST", "/v1/admin/apps", app_body("demo")).status == 201);
    publish_ok(admin, signed_package("demo", mds::core::PackageKind::Upgrade, "app", "10.3.0",
                                     {{"app.apk", std::string(4000, 'a') + "apk"}}, "Faster checkout."));
    auto created = admin.admin("POST", "/v1/admin/releases",
                               R"({"app":"demo","package":{"id":"app","version":"10.3.0"},"stage":"full",)"
                               R"("upgrade":{"mode":")" +
                                   c.mode + R"(","remind_days":)" + std::to_string(c.remind_days) + "}}");
    INFO(created.body);
    REQUIRE(created.status == 201);
    const std::string release = std::to_string(parse_json(created).root()["id"].GetInt64());

    SimulatedClock clock(start);
    TempDir device;
    mds::ClientOptions options;
    options.server_url = running.server->base_url();
    options.app_id = "demo";
    options.platform = "android";
    options.app_version = "10.2.3";
    options.device.id = "device-1";
    options.state_directory = device.path().string();
    options.trusted_public_keys = {publisher_key_pem()};
    options.schedule.sync_on_start = true;
    std::string prompted;
    std::atomic<int> found{0};
    for (int d = 0; d < 8; ++d) {
      clock.set(start + d * day);
      auto client = mds::Client::create(options);
      REQUIRE(client);
      REQUIRE((*client)->on_upgrade_found([&](const mds::UpgradeInfo &) { ++found; }));
      REQUIRE((*client)->start());
      auto report = (*client)->wait_for_sync(0, 60s);
      REQUIRE(report);
      INFO(mds::describe(report->status.ok() ? mds::Error{} : report->status.error()));
      REQUIRE(report->status);
      auto upgrade = (*client)->pending_upgrade();
      REQUIRE(upgrade);
      CHECK(upgrade->version == "10.3.0");
      CHECK(upgrade->release == release);
      CHECK(mds::to_string(upgrade->mode) == c.mode);
      CHECK(upgrade->notes == "Faster checkout.");
      CHECK(upgrade->size > 0);
      prompted += upgrade->should_prompt ? '1' : '0';
      if (upgrade->should_prompt) {
        REQUIRE((*client)->upgrade_prompt_shown("10.3.0"));
      }
      CHECK((*client)->shutdown(10s));
    }
    CHECK(prompted == c.expected);
    // Announced once, though offered every day.
    CHECK(found == 1);
    // The offered event and every prompt_shown were delivered (the last one at shutdown).
    auto store = mds::state::Store::open(device.path());
    REQUIRE(store);
    CHECK((*store)->event_count().value() == 0);
    CHECK((*store)->events_dropped().value() == 0);
    auto counters = admin.admin("GET", "/v1/admin/releases/" + release + "/counters");
    INFO(counters.body);
    REQUIRE(counters.status == 200);
    CHECK(parse_json(counters).root()["offered"].GetUint64() >= 1);
  }
}
