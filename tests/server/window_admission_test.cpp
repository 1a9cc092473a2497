// Time-window admission through ReleaseDecider, the call /v1/check makes, against a real
// SQLite database: 200 devices race for 50 places from 200 threads.
#include "server/storage/sqlite/sqlite_storage.hpp"
#include "server/targeting/release_targeting.hpp"
#include "server/util/time.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

using namespace mds::server;
namespace targeting = mds::server::targeting;

namespace {

targeting::Device device(int i) {
  targeting::Device out;
  out.app = "com.example";
  out.platform = "android";
  out.app_version = "1.0";
  out.device_id = "device-" + std::to_string(i);
  return out;
}

} // namespace

TEST_CASE("a time window of 50 raced by 200 devices admits exactly 50, the same after reopening",
          "[targeting][window]") {
  mds::test::TempDir temp;
  const auto now = unix_now_seconds();
  constexpr int kDevices = 200;
  constexpr std::uint64_t kCap = 50;
  std::set<std::string> admitted;
  std::int64_t release_id = 0;
  {
    auto storage = SqliteStorage::open(temp / "mds.db");
    REQUIRE(storage.ok());
    NewApp app;
    app.name = "com.example";
    app.publisher_keys = {{std::string(64, 'a'), "-----BEGIN PUBLIC KEY-----\nA\n-----END PUBLIC KEY-----\n"}};
    REQUIRE((*storage)->create_app(app, "alice").ok());
    NewRelease release;
    release.app = "com.example";
    release.package_id = "home";
    release.package_version = "2";
    release.filters_json = R"([{"field":"platform","op":"eq","not":false,"ci":false,"values":["android"],)"
                           R"("expression":"platform eq android"}])";
    release.salt = "s";
    release.progress.stage = ReleaseStage::Gray;
    release.window = TimeWindow{now - 3600, now + 3600, kCap};
    auto created = (*storage)->create_release(release, "alice");
    REQUIRE(created.ok());
    release_id = created->id;

    std::mutex mutex;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kDevices; ++i) {
      threads.emplace_back([&, i] {
        targeting::ReleaseDecider decider(**storage);
        // Each device asks twice: the second ask must not take a second place.
        for (int ask = 0; ask < 2; ++ask) {
          auto decision = decider.decide(*created, device(i), now, targeting::WindowMode::Admit);
          if (!decision) {
            ++failures;
            return;
          }
          if (decision->eligible && ask == 0) {
            std::lock_guard<std::mutex> lock(mutex);
            admitted.insert(device(i).device_id);
          }
          if (ask == 1 && decision->eligible != (decision->window && decision->window->already)) {
            ++failures;
          }
        }
      });
    }
    for (auto &thread : threads) {
      thread.join();
    }
    CHECK(failures == 0);
    REQUIRE(admitted.size() == kCap);
  }

  auto storage = SqliteStorage::open(temp / "mds.db");
  REQUIRE(storage.ok());
  auto release = (*storage)->get_release(release_id);
  REQUIRE(release.ok());
  targeting::ReleaseDecider decider(**storage);
  std::set<std::string> after;
  for (int i = 0; i < kDevices; ++i) {
    // After the window's end: only the admitted stay in.
    auto decision = decider.decide(*release, device(i), now + 7200, targeting::WindowMode::Admit);
    REQUIRE(decision.ok());
    if (decision->eligible) {
      CHECK(decision->door_name() == "window");
      after.insert(device(i).device_id);
    }
  }
  CHECK(after == admitted);
  // Within the window, the 51st device is still refused: the places are gone.
  auto latecomer = decider.decide(*release, device(kDevices + 1), now, targeting::WindowMode::Admit);
  REQUIRE(latecomer.ok());
  CHECK_FALSE(latecomer->eligible);
  REQUIRE(latecomer->window);
  CHECK(latecomer->window->admitted_count == kCap);
}
