// The wall clock the client reads for upgrade prompt decisions and event times.
//
// It is the system clock, except in tests that walk simulated days: they replace it for
// the whole process with set_wall_clock_for_tests() and put it back with an empty
// function. Not public API; only tests call the setter.
//
// Thread-safety: both functions may be called from any thread.
#ifndef MDS_SRC_CLIENT_WALL_CLOCK_HPP
#define MDS_SRC_CLIENT_WALL_CLOCK_HPP

#include <chrono>
#include <cstdint>
#include <functional>

namespace mds::client {

using WallClock = std::function<std::chrono::system_clock::time_point()>;

// Now, from the test clock when one is set, else from std::chrono::system_clock.
std::chrono::system_clock::time_point wall_now();

// Seconds since the Unix epoch of wall_now().
std::int64_t wall_now_unix();

// Replaces the clock for the whole process; an empty function restores the system clock.
void set_wall_clock_for_tests(WallClock clock);

} // namespace mds::client

#endif
