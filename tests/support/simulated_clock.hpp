// Replaces the SDK's wall clock (sdk/src/client/wall_clock.hpp) for the scope, so tests
// walk simulated days through the real Client; the system clock comes back after.
#ifndef MDS_TESTS_SUPPORT_SIMULATED_CLOCK_HPP
#define MDS_TESTS_SUPPORT_SIMULATED_CLOCK_HPP

#include "client/wall_clock.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>

namespace mds::test {

class SimulatedClock {
public:
  explicit SimulatedClock(std::int64_t unix_seconds) : now_(unix_seconds) {
    mds::client::set_wall_clock_for_tests(
        [this] { return std::chrono::system_clock::time_point(std::chrono::seconds(now_.load())); });
  }
  ~SimulatedClock() { mds::client::set_wall_clock_for_tests({}); }
  SimulatedClock(const SimulatedClock &) = delete;
  SimulatedClock &operator=(const SimulatedClock &) = delete;

  void set(std::int64_t unix_seconds) { now_ = unix_seconds; }

private:
  std::atomic<std::int64_t> now_;
};

} // namespace mds::test

#endif
