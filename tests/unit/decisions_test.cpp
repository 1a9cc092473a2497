// The client's pure decisions: next sync delay, upgrade prompts over simulated days,
// configuration changes.
#include "client/decisions.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using mds::ConfigChange;
using mds::Schedule;
using mds::UpgradeMode;
using mds::client::config_changes;
using mds::client::next_sync_delay;
using mds::client::should_prompt;
using namespace std::chrono_literals;

TEST_CASE("Next sync: poll interval with jitter, exponential backoff, Retry-After", "[decisions]") {
  Schedule schedule;
  schedule.poll_interval = 1800s;
  schedule.min_poll_interval = 60s;
  schedule.initial_backoff = 5000ms;
  schedule.max_backoff = 60000ms;
  struct Case {
    std::string name;
    std::optional<std::uint32_t> server_poll;
    unsigned failures;
    std::optional<std::chrono::seconds> retry_after;
    std::chrono::milliseconds low;
    std::chrono::milliseconds high;
  };
  const Case cases[] = {
      {"configured interval", std::nullopt, 0, std::nullopt, 1620s, 1980s},
      {"server's interval", 600, 0, std::nullopt, 540s, 660s},
      {"server's interval below the minimum", 5, 0, std::nullopt, 54s, 66s},
      {"first failure", 600, 1, std::nullopt, 2500ms, 5000ms},
      {"second failure", 600, 2, std::nullopt, 5000ms, 10000ms},
      {"fourth failure", 600, 4, std::nullopt, 20000ms, 40000ms},
      {"capped", 600, 5, std::nullopt, 30000ms, 60000ms},
      {"capped after very many", 600, 1000, std::nullopt, 30000ms, 60000ms},
      {"Retry-After longer than backoff", 600, 1, 120s, 120s, 120s},
      {"Retry-After shorter than the poll", 600, 0, 10s, 540s, 660s},
  };
  std::mt19937_64 random(42);
  for (const auto &c : cases) {
    INFO(c.name);
    std::chrono::milliseconds smallest = std::chrono::milliseconds::max();
    std::chrono::milliseconds largest{0};
    for (int i = 0; i < 2000; ++i) {
      const auto delay = next_sync_delay(schedule, c.server_poll, c.failures, c.retry_after, random);
      smallest = std::min(smallest, delay);
      largest = std::max(largest, delay);
    }
    CHECK(smallest >= c.low);
    CHECK(largest <= c.high);
    if (c.low != c.high) {
      // Jitter spreads devices: 2000 draws cover most of the interval.
      CHECK(largest - smallest > (c.high - c.low) / 2);
    }
  }
}

TEST_CASE("Upgrade prompts over simulated days, per mode", "[decisions]") {
  constexpr std::int64_t day = 86400;
  constexpr std::int64_t start = 1'800'000'000;
  struct Case {
    UpgradeMode mode;
    std::uint32_t remind_days;
    // For days 0..7, prompting whenever asked: did the host prompt that day?
    std::string expected;
  };
  const Case cases[] = {
      {UpgradeMode::Single, 3, "10010010"},    {UpgradeMode::Single, 1, "11111111"},
      {UpgradeMode::EveryTime, 3, "11111111"}, {UpgradeMode::Force, 3, "11111111"},
      {UpgradeMode::Silent, 3, "00000000"},
  };
  for (const auto &c : cases) {
    INFO(mds::to_string(c.mode) << " every " << c.remind_days);
    std::optional<std::int64_t> last;
    std::string prompted;
    for (int d = 0; d < 8; ++d) {
      const std::int64_t now = start + d * day + 3600;
      const bool prompt = should_prompt(c.mode, c.remind_days, last, now);
      prompted += prompt ? '1' : '0';
      if (prompt) {
        last = now;
      }
    }
    CHECK(prompted == c.expected);
  }
  // A clock set back does not silence a single reminder.
  CHECK(should_prompt(UpgradeMode::Single, 3, start, start - day));
  CHECK_FALSE(should_prompt(UpgradeMode::Single, 3, start, start + 3 * day - 1));
  CHECK(should_prompt(UpgradeMode::Single, 3, start, start + 3 * day));
}

TEST_CASE("Upgrade prompts when the app is opened only on some days, at some hours", "[decisions]") {
  constexpr std::int64_t hour = 3600;
  constexpr std::int64_t day = 24 * hour;
  constexpr std::int64_t start = 1'800'000'000;
  struct Opening {
    int day;
    int hour;
  };
  struct Case {
    UpgradeMode mode;
    std::uint32_t remind_days;
    std::vector<Opening> openings; // when the host asks, in order
    std::string expected;          // per opening: did it prompt?
  };
  const std::vector<Case> cases = {
      // Reminders count from the last prompt, not from the first offer.
      {UpgradeMode::Single, 3, {{0, 10}, {2, 10}, {5, 10}, {6, 10}, {8, 9}, {8, 10}, {30, 0}}, "1010011"},
      // Exactly remind_days later prompts; an hour earlier does not.
      {UpgradeMode::Single, 3, {{0, 10}, {3, 9}, {3, 10}}, "101"},
      // Several openings on one day: single prompts once, every_time and force each time.
      {UpgradeMode::Single, 3, {{0, 8}, {0, 12}, {0, 20}}, "100"},
      {UpgradeMode::EveryTime, 3, {{0, 8}, {0, 12}, {0, 20}}, "111"},
      {UpgradeMode::Force, 3, {{0, 8}, {0, 12}, {0, 20}}, "111"},
      {UpgradeMode::Silent, 3, {{0, 8}, {4, 12}, {9, 20}}, "000"},
      // remind_days 0 means daily, never "at every opening".
      {UpgradeMode::Single, 0, {{0, 8}, {0, 20}, {1, 8}, {1, 9}}, "1010"},
      // A long reminder period.
      {UpgradeMode::Single, 30, {{0, 8}, {29, 8}, {30, 8}, {45, 8}, {60, 8}}, "10101"},
  };
  for (const auto &c : cases) {
    INFO(mds::to_string(c.mode) << " every " << c.remind_days << " days, expected " << c.expected);
    std::optional<std::int64_t> last;
    std::string prompted;
    for (const auto &opening : c.openings) {
      const std::int64_t now = start + opening.day * day + opening.hour * hour;
      const bool prompt = should_prompt(c.mode, c.remind_days, last, now);
      prompted += prompt ? '1' : '0';
      if (prompt) {
        last = now;
      }
    }
    CHECK(prompted == c.expected);
  }
}

TEST_CASE("Upgrade mode names round-trip and unknown names are refused", "[decisions]") {
  for (auto mode : {UpgradeMode::Single, UpgradeMode::EveryTime, UpgradeMode::Force, UpgradeMode::Silent}) {
    CHECK(mds::upgrade_mode_from_string(mds::to_string(mode)) == mode);
  }
  CHECK_FALSE(mds::upgrade_mode_from_string("Single"));
  CHECK_FALSE(mds::upgrade_mode_from_string(""));
  CHECK(std::string(mds::to_string(static_cast<UpgradeMode>(9))) == "unknown");
}

TEST_CASE("Configuration changes: added, changed and removed keys, in key order", "[decisions]") {
  const std::map<std::string, std::string> before = {{"a", "1"}, {"b", "true"}, {"c", "\"x\""}};
  const std::map<std::string, std::string> after = {{"b", "false"}, {"c", "\"x\""}, {"d", "null"}};
  const auto changes = config_changes(before, after, 9);
  REQUIRE(changes.size() == 3);
  CHECK(changes[0].key == "a");
  CHECK(changes[0].old_json == std::optional<std::string>("1"));
  CHECK_FALSE(changes[0].new_json);
  CHECK(changes[1].key == "b");
  CHECK(changes[1].new_json == std::optional<std::string>("false"));
  CHECK(changes[2].key == "d");
  CHECK_FALSE(changes[2].old_json);
  CHECK(changes[2].new_json == std::optional<std::string>("null"));
  CHECK(changes[2].revision == 9);
  CHECK(config_changes(before, before, 1).empty());
  CHECK(config_changes({}, {}, 1).empty());
  CHECK(config_changes({}, after, 1).size() == 3);
  CHECK(config_changes(before, {}, 1).size() == 3);
}
