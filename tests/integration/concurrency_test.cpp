#include "fixture.hpp"

#include <atomic>
#include <thread>

using namespace mds::test;
using mds::ErrorCode;

TEST_CASE("concurrent admin writers: every change lands once, with its audit row", "[integration][concurrency]") {
  RunningServer running;
  REQUIRE(running.client->admin("POST", "/v1/admin/apps", app_body("com.example", "ios")).status == 201);
  auto created = running.client->admin("POST", "/v1/admin/releases",
                                       R"({"app":"com.example","config":{"k":1},"stage":"gray","percent":1})");
  REQUIRE(created.status == 201);

  constexpr int kThreads = 8;
  constexpr int kAppsPerThread = 10;
  std::atomic<int> created_apps{0};
  std::atomic<int> promotions{0};
  std::atomic<int> conflicts{0};
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient client(running.server->base_url());
      for (int i = 0; i < kAppsPerThread; ++i) {
        const auto name = "com.app" + std::to_string(t) + "x" + std::to_string(i);
        auto answer = client.admin("POST", "/v1/admin/apps", app_body(name));
        (answer.status == 201 ? created_apps : unexpected)++;
        // Everyone raises the same release's percentage: each raise is a compare-and-set,
        // so a raise either lands or is refused, never lost half-way.
        auto raised = client.admin("POST", "/v1/admin/releases/1/promote",
                                   R"({"percent":)" + std::to_string(2 + t * kAppsPerThread + i) + "}");
        if (raised.status == 200) {
          ++promotions;
        } else if (raised.status == 409 || raised.status == 400) {
          ++conflicts; // moved meanwhile, or another thread already went higher
        } else {
          ++unexpected;
        }
      }
    });
  }
  for (auto &thread : threads) {
    thread.join();
  }
  CHECK(unexpected == 0);
  CHECK(created_apps == kThreads * kAppsPerThread);
  CHECK(promotions + conflicts == kThreads * kAppsPerThread);
  CHECK(promotions >= 1);

  auto apps = parse_json(running.client->admin("GET", "/v1/admin/apps"));
  CHECK(apps.root()["apps"].Size() == kThreads * kAppsPerThread + 1);
  auto audit = parse_json(running.client->admin("GET", "/v1/admin/audit?limit=1000"));
  int app_rows = 0;
  int promote_rows = 0;
  for (const auto &entry : audit.root()["entries"].GetArray()) {
    const std::string action = entry["action"].GetString();
    app_rows += action == "app.create" ? 1 : 0;
    if (action == "release.promote") {
      ++promote_rows;
      CHECK(entry["detail"]["percent_bp_to"].GetInt64() > entry["detail"]["percent_bp_from"].GetInt64());
    }
  }
  CHECK(app_rows == kThreads * kAppsPerThread + 1);
  CHECK(promote_rows == promotions);
  // The percentage only ever went up, and ended at the highest accepted raise.
  auto release = parse_json(running.client->admin("GET", "/v1/admin/releases/1"));
  CHECK(release.root()["percent"].GetDouble() >= 2);
}
