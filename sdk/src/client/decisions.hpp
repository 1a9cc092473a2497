// Decisions of the client that depend only on their inputs: when to sync next and whether
// the host should prompt for an upgrade now. Kept pure so the tests can walk simulated
// days and failure streaks without waiting.
#ifndef MDS_SRC_CLIENT_DECISIONS_HPP
#define MDS_SRC_CLIENT_DECISIONS_HPP

#include <mds/client.hpp>
#include <mds/upgrade.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace mds::client {

// Delay until the next sync. After a success (consecutive_failures == 0): the server's
// poll interval (else the configured one), at least min_poll_interval, times a random
// factor in [0.9, 1.1]. After the n-th failure in a row: initial_backoff * 2^(n-1), at most
// max_backoff, times a random factor in [0.5, 1.0]. Never shorter than retry_after.
std::chrono::milliseconds next_sync_delay(const Schedule &schedule, std::optional<std::uint32_t> server_poll_seconds,
                                          unsigned consecutive_failures,
                                          std::optional<std::chrono::seconds> retry_after, std::mt19937_64 &random);

// Should the host show its upgrade prompt at `now_unix`, given when it last did
// (`last_prompt_unix`, nullopt: never)?
bool should_prompt(UpgradeMode mode, std::uint32_t remind_days, std::optional<std::int64_t> last_prompt_unix,
                   std::int64_t now_unix);

// The changes from `before` to `after`, one per key whose value differs (added, changed
// or removed), in key order.
std::vector<ConfigChange> config_changes(const std::map<std::string, std::string> &before,
                                         const std::map<std::string, std::string> &after, std::int64_t revision);

} // namespace mds::client

#endif
