#include "client/decisions.hpp"

#include <algorithm>

namespace mds::client {

std::chrono::milliseconds next_sync_delay(const Schedule &schedule, std::optional<std::uint32_t> server_poll_seconds,
                                          unsigned consecutive_failures,
                                          std::optional<std::chrono::seconds> retry_after, std::mt19937_64 &random) {
  using std::chrono::milliseconds;
  double base_ms = 0;
  double low = 0;
  double high = 0;
  if (consecutive_failures == 0) {
    const auto poll = server_poll_seconds ? std::chrono::seconds(*server_poll_seconds) : schedule.poll_interval;
    base_ms = static_cast<double>(milliseconds(std::max(poll, schedule.min_poll_interval)).count());
    low = 0.9;
    high = 1.1;
  } else {
    const double initial = static_cast<double>(std::max<std::int64_t>(schedule.initial_backoff.count(), 1));
    const double cap = static_cast<double>(std::max(schedule.max_backoff, schedule.initial_backoff).count());
    const unsigned doublings = std::min(consecutive_failures - 1, 40u);
    base_ms = std::min(cap, initial * static_cast<double>(std::uint64_t{1} << doublings));
    low = 0.5;
    high = 1.0;
  }
  std::uniform_real_distribution<double> factor(low, high);
  auto delay = milliseconds(static_cast<std::int64_t>(base_ms * factor(random)));
  if (retry_after) {
    delay = std::max<milliseconds>(delay, *retry_after);
  }
  return std::max(delay, milliseconds(1));
}

bool should_prompt(UpgradeMode mode, std::uint32_t remind_days, std::optional<std::int64_t> last_prompt_unix,
                   std::int64_t now_unix) {
  switch (mode) {
  case UpgradeMode::Silent:
    return false;
  case UpgradeMode::Force:
  case UpgradeMode::EveryTime:
    return true;
  case UpgradeMode::Single:
    if (!last_prompt_unix) {
      return true;
    }
    // A clock set back never silences the reminder for longer than remind_days.
    return now_unix < *last_prompt_unix ||
           now_unix - *last_prompt_unix >= static_cast<std::int64_t>(std::max<std::uint32_t>(remind_days, 1)) * 86400;
  }
  return false;
}

std::vector<ConfigChange> config_changes(const std::map<std::string, std::string> &before,
                                         const std::map<std::string, std::string> &after, std::int64_t revision) {
  std::vector<ConfigChange> changes;
  auto old_it = before.begin();
  auto new_it = after.begin();
  while (old_it != before.end() || new_it != after.end()) {
    if (new_it == after.end() || (old_it != before.end() && old_it->first < new_it->first)) {
      changes.push_back(ConfigChange{old_it->first, old_it->second, std::nullopt, revision});
      ++old_it;
    } else if (old_it == before.end() || new_it->first < old_it->first) {
      changes.push_back(ConfigChange{new_it->first, std::nullopt, new_it->second, revision});
      ++new_it;
    } else {
      if (old_it->second != new_it->second) {
        changes.push_back(ConfigChange{old_it->first, old_it->second, new_it->second, revision});
      }
      ++old_it;
      ++new_it;
    }
  }
  return changes;
}

} // namespace mds::client

namespace mds {
namespace {
struct ModeName {
  UpgradeMode mode;
  const char *name;
};
constexpr ModeName kModeNames[] = {
    {UpgradeMode::Single, "single"},
    {UpgradeMode::EveryTime, "every_time"},
    {UpgradeMode::Force, "force"},
    {UpgradeMode::Silent, "silent"},
};
} // namespace

const char *to_string(UpgradeMode mode) noexcept {
  for (const auto &entry : kModeNames) {
    if (entry.mode == mode) {
      return entry.name;
    }
  }
  return "unknown";
}

std::optional<UpgradeMode> upgrade_mode_from_string(std::string_view name) noexcept {
  for (const auto &entry : kModeNames) {
    if (name == entry.name) {
      return entry.mode;
    }
  }
  return std::nullopt;
}

} // namespace mds
