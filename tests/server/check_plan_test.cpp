// The check plan (AppInputs::check_plan) against the engine itself: a check decides
// every live release through the plan's packed filter numbers and then the doors; the
// answer must be evaluate()'s for every release and device, over a real SQLite store.
#include "server/storage/sqlite/sqlite_storage.hpp"
#include "server/targeting/filter_expression.hpp"
#include "server/targeting/release_targeting.hpp"
#include "server/util/time.hpp"
#include "support/temp_dir.hpp"

#include "core/json/json.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace mds::server;
namespace targeting = mds::server::targeting;

namespace {

class VectorIds final : public IdSource {
public:
  explicit VectorIds(std::vector<std::string> ids) : ids_(std::move(ids)) {}
  mds::Result<std::optional<std::string_view>> next() override {
    if (position_ == ids_.size()) {
      return std::optional<std::string_view>();
    }
    return std::optional<std::string_view>(ids_[position_++]);
  }

private:
  std::vector<std::string> ids_;
  std::size_t position_ = 0;
};

std::string filters_json(const std::vector<std::string> &expressions) {
  std::vector<targeting::Filter> filters;
  for (const auto &expression : expressions) {
    auto filter = targeting::parse_filter(expression);
    REQUIRE(filter.ok());
    filters.push_back(std::move(filter.value()));
  }
  return targeting::filters_to_json(filters);
}

targeting::Device device(int i) {
  const char *brands[] = {"Huawei", "Xiaomi", "honor"};
  const char *versions[] = {"9.5.0", "10.2.3", "11.0"};
  std::string text = R"({"app":"demo","platform":")" + std::string(i % 5 == 0 ? "ios" : "android") +
                     R"(","app_version":")" + versions[i % 3] + R"(","sdks":{"mds":"0.)" + std::to_string(i % 4) +
                     R"("},"device":{"id":"device-)" + std::to_string(i) + R"(","user_id":"user-)" +
                     std::to_string(i % 7) + R"(","brand":")" + brands[i % 3] + R"(","os_version":")" +
                     std::to_string(10 + i % 5) + R"(","channel":")" + (i % 2 == 0 ? "store" : "google") + R"("}})";
  auto document = mds::core::json::parse(text);
  REQUIRE(document.ok());
  auto parsed = targeting::parse_device(document->root());
  REQUIRE(parsed.ok());
  return std::move(parsed.value());
}

} // namespace

TEST_CASE("the check plan decides every live release as evaluate() does", "[targeting][check]") {
  mds::test::TempDir temp;
  auto opened = SqliteStorage::open(temp / "mds.db");
  REQUIRE(opened.ok());
  auto &storage = **opened;
  NewApp app;
  app.name = "demo";
  app.publisher_keys = {{std::string(64, 'a'), "-----BEGIN PUBLIC KEY-----\nA\n-----END PUBLIC KEY-----\n"}};
  REQUIRE(storage.create_app(app, "alice").ok());
  VectorIds devices({"device-1", "device-2", "device-30"});
  REQUIRE(storage.import_whitelist("devices", WhitelistType::Device, WhitelistMatch::Id, devices, "alice").ok());
  VectorIds users({"user-3"});
  REQUIRE(storage.import_whitelist("users", WhitelistType::User, WhitelistMatch::Id, users, "alice").ok());
  NewReleaseRule rule;
  rule.name = "huawei";
  rule.filters_json = filters_json({"brand ci in huawei,honor", "os_version version_gte 12"});
  REQUIRE(storage.create_rule(rule, "alice").ok());

  const auto now = unix_now_seconds();
  const ReleaseStage stages[] = {ReleaseStage::Gray, ReleaseStage::Full, ReleaseStage::Draft};
  const std::vector<std::vector<std::string>> filter_choices = {
      {}, {"platform eq android"}, {"channel in store", "app_version version_gte 10"}, {"sdk.mds version_lt 0.2"}};
  std::vector<std::int64_t> live;
  for (int r = 0; r < 48; ++r) {
    NewRelease release;
    release.app = "demo";
    release.kind = ReleaseKind::Config;
    release.config_json = R"({"key.)" + std::to_string(r) + R"(":true})";
    release.salt = "salt-" + std::to_string(r);
    release.progress.stage = stages[r % 3];
    release.filters_json = filters_json(filter_choices[r % 4]);
    if (r % 5 == 1) {
      release.rules = {"huawei"};
    }
    switch (r % 4) {
    case 0:
      release.whitelists = {"devices", "users"};
      break;
    case 1:
      release.progress.percent_bp = static_cast<std::uint32_t>(500 + 200 * r);
      break;
    case 2:
      release.window = TimeWindow{now - 60, now + 3600, 5};
      break;
    default:
      break;
    }
    auto created = storage.create_release(release, "alice");
    INFO("release " << r << ": " << (created.ok() ? std::string() : created.error().message));
    REQUIRE(created.ok());
    if (release.progress.stage != ReleaseStage::Draft) {
      live.push_back(created->id);
    }
  }

  auto inputs = targeting::load_app_inputs(storage, "demo");
  REQUIRE(inputs.ok());
  std::vector<std::int64_t> planned;
  for (const auto &step : inputs->check_plan) {
    planned.push_back(step.release->release.id);
  }
  CHECK(planned == live);

  // Peek: neither side takes a window place, so both see the same windows.
  int eligible = 0;
  int refused = 0;
  for (int i = 0; i < 60; ++i) {
    const auto one = device(i);
    targeting::ReleaseDecider decider(storage, &*inputs);
    targeting::StorageWhitelists whitelists(storage);
    targeting::StorageWindows windows(storage);
    for (const auto &step : inputs->check_plan) {
      INFO("device " << i << ", release " << step.release->release.id);
      auto planned_verdict = decider.eligible(*inputs, step, one, now, targeting::WindowMode::Peek);
      auto evaluated =
          targeting::evaluate(step.release->targeting, one, whitelists, windows, now, targeting::WindowMode::Peek);
      REQUIRE(planned_verdict.ok());
      REQUIRE(evaluated.ok());
      CHECK(*planned_verdict == evaluated->eligible);
      ++(evaluated->eligible ? eligible : refused);
    }
  }
  // Both answers occur often: the comparison means something.
  CHECK(eligible > 200);
  CHECK(refused > 200);
}
