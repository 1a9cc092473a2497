#include "server/targeting/evaluate.hpp"

#include "core/bucketing/bucketing.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>

namespace targeting = mds::server::targeting;
using mds::server::ReleaseStage;
using mds::server::TimeWindow;
using targeting::DoorKind;
using targeting::WindowMode;

namespace {

targeting::Device device_from(const std::string &text) {
  auto document = mds::core::json::parse(text);
  REQUIRE(document.ok());
  auto device = targeting::parse_device(document->root());
  REQUIRE(device.ok());
  return std::move(device.value());
}

const targeting::Device &full_device() {
  static const auto device = device_from(R"({"app":"demo","platform":"android","app_version":"10.2.3",
    "sdks":{"mds":"0.2.1","payment":"3.2.1-beta.2"},
    "device":{"id":"dev-1","user_id":"u-42","model":"SM-A515F","brand":"Huawei","os_version":"14.1",
              "network":"wifi","region":"CN-ZJ","city":"Hangzhou","language":"zh-CN","channel":"store"},
    "attributes":{"tier":"Gold","age":18,"vip":true,"score":-2.5,"signup":"2026-03-01T10:00:00Z",
                  "seen":"2026-03-01T10:00:00.250Z","build":"3.2","odd":"abc"}})");
  return device;
}

// Sends only what is required: every optional field is absent.
const targeting::Device &bare_device() {
  static const auto device =
      device_from(R"({"app":"demo","platform":"ios","app_version":"1.0","device":{"id":"dev-2"}})");
  return device;
}

targeting::Filter filter(const std::string &expression) {
  auto parsed = targeting::parse_filter(expression);
  INFO(expression);
  REQUIRE(parsed.ok());
  return std::move(parsed.value());
}

class FakeWhitelists final : public targeting::WhitelistLookup {
public:
  std::map<std::string, std::set<std::string>> user_lists, device_lists;
  int lookups = 0;
  mds::Result<bool> contains(std::string_view list, const targeting::Device &device) override {
    ++lookups;
    if (auto users = user_lists.find(std::string(list)); users != user_lists.end()) {
      return device.user_id && users->second.count(*device.user_id) > 0;
    }
    if (auto devices = device_lists.find(std::string(list)); devices != device_lists.end()) {
      return devices->second.count(device.device_id) > 0;
    }
    return mds::make_error(mds::ErrorCode::NotFound, "no list");
  }
};

class FakeWindows final : public targeting::WindowGate {
public:
  std::set<std::string> admitted;
  mds::Result<targeting::WindowAnswer> admit(std::int64_t, const TimeWindow &window, std::string_view device_id,
                                             bool open, WindowMode mode) override {
    targeting::WindowAnswer answer;
    answer.admitted_count = admitted.size();
    if (admitted.count(std::string(device_id)) > 0) {
      answer.admitted = answer.already = true;
    } else if (open && admitted.size() < window.cap) {
      answer.admitted = true;
      if (mode == WindowMode::Admit) {
        admitted.insert(std::string(device_id));
        ++answer.admitted_count;
      }
    }
    return answer;
  }
};

} // namespace

TEST_CASE("every operator on every kind of field, with ci and not, as data", "[targeting][evaluate]") {
  const struct {
    const char *expression;
    bool full; // on full_device()
    bool bare; // on bare_device(): the field is absent
  } cases[] = {
      {"platform eq android", true, false},
      {"platform in ios,android", true, true},
      {"platform not_in android", false, true},
      {"platform not eq android", false, true},
      {"brand in Huawei,Honor", true, false},
      {"brand in huawei", false, false},
      {"brand ci in huawei,honor", true, false},
      {"brand not ci in HUAWEI", false, true},
      {"brand not_in Xiaomi", true, true}, // not_in holds for an absent field, as Unleash's NOT_IN
      {"brand not_in Huawei", false, true},
      {"brand ci not_in HUAWEI", false, true},
      {"brand not not_in Huawei", true, false},
      {"brand eq Huawei", true, false},
      {"brand not eq Huawei", false, true},
      {"model prefix SM-A,SM-G", true, false},
      {"model not prefix \"SM-A\"", false, true},
      {"model ci prefix sm-a", true, false},
      {"model suffix 15F", true, false},
      {"model suffix 15f", false, false},
      {"model ci suffix 15f", true, false},
      {"model contains A51", true, false},
      {"model not contains A51", false, true},
      {"model ci contains a51", true, false},
      {"device_id eq dev-1", true, false},
      {"device_id in dev-2", false, true},
      {"user_id in u-42", true, false},
      {"user_id not in u-42", false, true},
      {"region prefix CN-", true, false},
      {"city eq Hangzhou", true, false},
      {"network in wifi,5g", true, false},
      {"language ci prefix ZH", true, false},
      {"channel eq store", true, false},
      {"app_version version_gte 10.2", true, false},
      {"app_version version_gt 10.2.3", false, false},
      {"app_version version_lt 10.10", true, true},
      {"app_version version_lte 10.2.3.0", true, true},
      {"app_version version_eq 10.2.3", true, false},
      {"app_version not version_eq 10.2.3", false, true},
      {"app_version version_in \">=10.1 <11\"", true, false},
      {"app_version version_in \"[1.0, 2.0)\"", false, true},
      {"app_version prefix 10.", true, false},
      {"os_version version_gte 14", true, false},
      {"os_version not version_gte 14", false, true},
      {"sdk.mds version_gte 0.2", true, false},
      {"sdk.mds version_in \"^0.2\"", true, false},
      {"sdk.payment version_lt 3.2.1", true, false}, // a pre-release sorts before its release
      {"sdk.payment version_gte 3.2.1", false, false},
      {"sdk.missing version_gte 0", false, false},
      {"sdk.missing not version_gte 0", true, true},
      {"attr.tier eq Gold", true, false},
      {"attr.tier ci eq gold", true, false},
      {"attr.age gte 18", true, false},
      {"attr.age gt 18", false, false},
      {"attr.age lt 18.5", true, false},
      {"attr.age lte 17", false, false},
      {"attr.age num_eq 1.8e1", true, false},
      {"attr.age not num_eq 18", false, true},
      {"attr.score lt -2", true, false},
      {"attr.odd gt 0", false, false},   // not a number: false
      {"attr.odd not gt 0", true, true}, // ... and so true inverted
      {"attr.vip eq true", true, false},
      {"attr.signup date_after 2026-01-01T00:00:00Z", true, false},
      {"attr.signup date_before 2026-01-01T00:00:00Z", false, false},
      {"attr.signup not date_before 2026-01-01T00:00:00Z", true, true},
      {"attr.seen date_after 2026-03-01T09:59:59Z", true, false}, // fractions of a second are read
      {"attr.seen date_after 2026-03-01T10:00:00Z", true, false}, // ... and count
      {"attr.seen date_before 2026-03-01T10:00:00Z", false, false},
      {"attr.signup date_after 2026-03-01T10:00:00Z", false, false}, // equal is neither
      {"attr.odd date_after 2026-01-01T00:00:00Z", false, false},
      {"attr.build version_gte 3.2", true, false},
      {"attr.build version_in \"3.x\"", true, false},
      {"attr.odd version_gte 0", false, false},
  };
  for (const auto &c : cases) {
    INFO(c.expression);
    const auto parsed = filter(c.expression);
    CHECK(targeting::filter_holds(parsed, full_device()) == c.full);
    CHECK(targeting::filter_holds(parsed, bare_device()) == c.bare);
  }
}

TEST_CASE("filters fail first, with the failing one named and the device's value", "[targeting][evaluate]") {
  FakeWhitelists lists;
  FakeWindows windows;
  targeting::Targeting release;
  release.stage = ReleaseStage::Full;
  release.filter_sets = {{"release", {filter("platform eq android")}},
                         {"rule:huawei", {filter("brand ci in huawei"), filter("channel eq google")}}};
  auto decision = targeting::evaluate(release, full_device(), lists, windows, 0, WindowMode::Peek);
  REQUIRE(decision.ok());
  CHECK_FALSE(decision->eligible);
  REQUIRE(decision->failed_filter);
  CHECK(decision->failed_filter->source == "rule:huawei");
  CHECK(decision->failed_filter->index == 1);
  CHECK(decision->failed_filter->expression == "channel eq google");
  CHECK(decision->failed_filter->device_value == std::optional<std::string>("store"));
  CHECK(decision->explanation() == "filter 2 of rule:huawei (channel eq google) failed: channel is \"store\"");

  decision = targeting::evaluate(release, bare_device(), lists, windows, 0, WindowMode::Peek);
  REQUIRE(decision.ok());
  REQUIRE(decision->failed_filter);
  CHECK(decision->failed_filter->source == "release");
  CHECK(decision->failed_filter->device_value == std::optional<std::string>("ios"));

  release.filter_sets = {{"release", {filter("brand eq Huawei"), filter("city eq Beijing")}}};
  decision = targeting::evaluate(release, bare_device(), lists, windows, 0, WindowMode::Peek);
  REQUIRE(decision.ok());
  REQUIRE(decision->failed_filter);
  CHECK_FALSE(decision->failed_filter->device_value);
  CHECK(decision->explanation() == "filter 1 of release (brand eq Huawei) failed: brand is absent");
}

TEST_CASE("stages: only gray and full offer, doors in order full, whitelist, percentage, window",
          "[targeting][evaluate]") {
  FakeWhitelists lists;
  lists.user_lists["testers"] = {"u-42"};
  lists.device_lists["lab"] = {"dev-1", "dev-2"};
  FakeWindows windows;
  targeting::Targeting release;
  release.release_id = 7;
  release.salt = "salt";
  release.whitelists = {"testers", "lab"};

  for (auto stage : {ReleaseStage::Draft, ReleaseStage::Paused, ReleaseStage::Ended, ReleaseStage::RolledBack}) {
    release.stage = stage;
    auto decision = targeting::evaluate(release, full_device(), lists, windows, 0, WindowMode::Admit);
    REQUIRE(decision.ok());
    CHECK_FALSE(decision->eligible);
    CHECK_FALSE(decision->stage_offers);
    CHECK(lists.lookups == 0);
  }
  release.stage = ReleaseStage::Full;
  auto decision = targeting::evaluate(release, full_device(), lists, windows, 0, WindowMode::Admit);
  REQUIRE(decision.ok());
  CHECK(decision->door_name() == "full");
  CHECK(lists.lookups == 0);

  release.stage = ReleaseStage::Gray;
  decision = targeting::evaluate(release, full_device(), lists, windows, 0, WindowMode::Admit);
  REQUIRE(decision.ok());
  CHECK(decision->door_name() == "whitelist:testers"); // by user id
  decision = targeting::evaluate(release, bare_device(), lists, windows, 0, WindowMode::Admit);
  REQUIRE(decision.ok());
  CHECK(decision->door_name() == "whitelist:lab"); // by device id; no user id to look up
  CHECK(decision->explanation() == "eligible through whitelist:lab");

  auto stranger = device_from(R"({"app":"demo","platform":"ios","app_version":"1.0","device":{"id":"x"}})");
  decision = targeting::evaluate(release, stranger, lists, windows, 0, WindowMode::Admit);
  REQUIRE(decision.ok());
  CHECK_FALSE(decision->eligible);
  CHECK(decision->door_name() == "none");
  CHECK(decision->explanation() == "every filter holds but no door opened");

  release.percent_bp = 10000;
  decision = targeting::evaluate(release, stranger, lists, windows, 0, WindowMode::Admit);
  REQUIRE(decision.ok());
  CHECK(decision->door_name() == "percentage");
  REQUIRE(decision->bucket);
  CHECK(*decision->bucket == mds::core::bucket("salt", "x", 10000));

  lists.device_lists.erase("lab");
  auto broken = targeting::evaluate(release, stranger, lists, windows, 0, WindowMode::Admit);
  CHECK(broken.code() == mds::ErrorCode::NotFound); // a lookup's failure is the answer's
}

TEST_CASE("percentage: sticky, monotonic when raised, within 1.5 points over 20,000 ids", "[targeting][evaluate]") {
  FakeWhitelists lists;
  FakeWindows windows;
  targeting::Targeting release;
  release.stage = ReleaseStage::Gray;
  release.salt = "9f86d081884c7d65";
  std::vector<targeting::Device> devices;
  for (int i = 0; i < 20000; ++i) {
    devices.push_back(device_from(R"({"app":"a","platform":"ios","app_version":"1","device":{"id":"device-)" +
                                  std::to_string(i) + R"("}})"));
  }
  std::vector<bool> previously(devices.size(), false);
  for (std::uint32_t percent_bp : {0u, 1u, 50u, 500u, 1250u, 2500u, 5000u, 7525u, 9999u, 10000u}) {
    release.percent_bp = percent_bp;
    std::size_t in = 0;
    for (std::size_t i = 0; i < devices.size(); ++i) {
      auto decision = targeting::evaluate(release, devices[i], lists, windows, 0, WindowMode::Admit);
      REQUIRE(decision.ok());
      if (previously[i]) {
        REQUIRE(decision->eligible); // raising never drops a device
      }
      previously[i] = decision->eligible;
      in += decision->eligible ? 1 : 0;
    }
    const double share = 100.0 * static_cast<double>(in) / static_cast<double>(devices.size());
    INFO("percent " << percent_bp / 100.0 << ": " << share);
    CHECK(std::abs(share - percent_bp / 100.0) <= 1.5);
    if (percent_bp == 0) {
      CHECK(in == 0);
    }
    if (percent_bp == 10000) {
      CHECK(in == devices.size());
    }
  }

  // Unleash's modulus: percent_bp 5000 is 50 of 100 buckets.
  release.modulus = 100;
  release.percent_bp = 5000;
  for (int i = 0; i < 200; ++i) {
    auto decision =
        targeting::evaluate(release, devices[static_cast<std::size_t>(i)], lists, windows, 0, WindowMode::Admit);
    REQUIRE(decision.ok());
    CHECK(decision->eligible ==
          (mds::core::bucket(release.salt, devices[static_cast<std::size_t>(i)].device_id, 100) <= 50));
  }
}

TEST_CASE("time window: only when no other door opened, only while open, admitted devices stay",
          "[targeting][evaluate]") {
  FakeWhitelists lists;
  lists.device_lists["lab"] = {"lab-device"};
  FakeWindows windows;
  targeting::Targeting release;
  release.stage = ReleaseStage::Gray;
  release.whitelists = {"lab"};
  release.window = TimeWindow{1000, 2000, 2};
  auto device = [](const std::string &id) {
    return device_from(R"({"app":"a","platform":"ios","app_version":"1","device":{"id":")" + id + R"("}})");
  };
  auto door = [&](const std::string &id, std::int64_t now, WindowMode mode = WindowMode::Admit) {
    auto decision = targeting::evaluate(release, device(id), lists, windows, now, mode);
    REQUIRE(decision.ok());
    return decision->door_name();
  };
  CHECK(door("a", 999) == "none"); // before the start
  CHECK(door("lab-device", 1500) == "whitelist:lab");
  CHECK(windows.admitted.empty()); // the whitelisted device took no place
  CHECK(door("a", 1000, WindowMode::Peek) == "window");
  CHECK(windows.admitted.empty()); // peeking takes no place
  CHECK(door("a", 1000) == "window");
  CHECK(door("a", 1001) == "window"); // idempotent
  CHECK(door("b", 1999) == "window");
  CHECK(door("c", 1500) == "none");   // full
  CHECK(door("a", 5000) == "window"); // stays in after the end
  CHECK(windows.admitted == std::set<std::string>{"a", "b"});
}

TEST_CASE("numbered filters decide through FilterVerdicts as the filters themselves do", "[targeting][evaluate]") {
  FakeWhitelists lists;
  FakeWindows windows;
  // Four distinct filters, shared by releases in several combinations, numbered as
  // load_app_inputs numbers them.
  const std::vector<std::string> expressions = {"platform eq android", "brand ci in huawei", "channel eq google",
                                                "model ci contains a51"};
  const std::vector<std::vector<std::vector<std::size_t>>> releases = {
      {{0}, {1, 2}}, {{1}}, {{0, 3}}, {{3}, {1}, {0}}, {{2}}, {},
  };
  std::vector<targeting::Targeting> numbered;
  for (const auto &sets : releases) {
    targeting::Targeting release;
    release.stage = ReleaseStage::Full;
    for (const auto &set : sets) {
      targeting::FilterSet filters{"rule:" + std::to_string(release.filter_sets.size()), {}};
      auto &numbers = release.filter_numbers.emplace_back();
      for (const auto index : set) {
        filters.filters.push_back(filter(expressions[index]));
        numbers.push_back(static_cast<std::uint32_t>(index));
      }
      release.filter_sets.push_back(std::move(filters));
    }
    numbered.push_back(std::move(release));
  }
  targeting::FilterVerdicts verdicts(expressions.size());
  // One device after the other with the same verdicts: each is decided as without them.
  for (const auto *device : {&full_device(), &bare_device(), &full_device()}) {
    for (std::size_t r = 0; r < numbered.size(); ++r) {
      INFO("release " << r);
      auto plain = targeting::evaluate(numbered[r], *device, lists, windows, 0, WindowMode::Peek);
      auto memo = targeting::evaluate(numbered[r], *device, lists, windows, 0, WindowMode::Peek, &verdicts);
      REQUIRE(plain.ok());
      REQUIRE(memo.ok());
      CHECK(memo->eligible == plain->eligible);
      CHECK(memo->explanation() == plain->explanation());
    }
  }
}

TEST_CASE("a filter number is evaluated once per device, and again for another", "[targeting][evaluate]") {
  FakeWhitelists lists;
  FakeWindows windows;
  // Two different filters under one number: the second answer is the first's verdict,
  // which shows the verdict is reused rather than computed again.
  targeting::Targeting holds;
  holds.stage = ReleaseStage::Full;
  holds.filter_sets = {{"release", {filter("platform eq android")}}};
  holds.filter_numbers = {{0}};
  targeting::Targeting fails = holds;
  fails.filter_sets = {{"release", {filter("platform eq ios")}}};

  targeting::FilterVerdicts verdicts(1);
  const auto device = full_device();
  auto first = targeting::evaluate(holds, device, lists, windows, 0, WindowMode::Peek, &verdicts);
  REQUIRE(first.ok());
  CHECK(first->eligible);
  auto reused = targeting::evaluate(fails, device, lists, windows, 0, WindowMode::Peek, &verdicts);
  REQUIRE(reused.ok());
  CHECK(reused->eligible);
  // Another device object: nothing known, the filter is evaluated.
  const auto other = full_device();
  auto fresh = targeting::evaluate(fails, other, lists, windows, 0, WindowMode::Peek, &verdicts);
  REQUIRE(fresh.ok());
  CHECK_FALSE(fresh->eligible);
  // Without numbers for every set, the verdicts are not used.
  fails.filter_numbers.clear();
  auto unnumbered = targeting::evaluate(fails, device, lists, windows, 0, WindowMode::Peek, &verdicts);
  REQUIRE(unnumbered.ok());
  CHECK_FALSE(unnumbered->eligible);
}
