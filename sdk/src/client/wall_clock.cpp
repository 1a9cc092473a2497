#include "client/wall_clock.hpp"

#include <memory>
#include <mutex>

namespace mds::client {
namespace {

std::mutex g_mutex;
std::shared_ptr<const WallClock> g_clock; // null: the system clock

} // namespace

std::chrono::system_clock::time_point wall_now() {
  std::shared_ptr<const WallClock> clock;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    clock = g_clock;
  }
  return clock ? (*clock)() : std::chrono::system_clock::now();
}

std::int64_t wall_now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(wall_now().time_since_epoch()).count();
}

void set_wall_clock_for_tests(WallClock clock) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_clock = clock ? std::make_shared<const WallClock>(std::move(clock)) : nullptr;
}

} // namespace mds::client
