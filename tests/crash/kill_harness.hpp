// The fork-and-kill harness the crash tests share: what a test takes from its environment: how many kills (MDS_KILLS),
// the seed of their instants (MDS_KILL_SEED, random when unset, printed either way), and where the state lives
// (MDS_KILL_DIR; /dev/shm when it exists: a kill loses no page cache, so tmpfs changes nothing a kill can show and
// keeps hundreds of fsync-heavy runs quick).
#ifndef MDS_TESTS_CRASH_KILL_HARNESS_HPP
#define MDS_TESTS_CRASH_KILL_HARNESS_HPP

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <thread>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mds::test {

struct KillSettings {
  unsigned kills = 0;
  unsigned seed = 0;
};

// Reads the settings, prints them and points TMPDIR at the chosen directory.
inline KillSettings kill_settings(unsigned default_kills) {
  KillSettings settings;
  const char *kills_text = std::getenv("MDS_KILLS");
  settings.kills = kills_text != nullptr ? static_cast<unsigned>(std::strtoul(kills_text, nullptr, 10)) : default_kills;
  const char *seed_text = std::getenv("MDS_KILL_SEED");
  settings.seed = seed_text != nullptr ? static_cast<unsigned>(std::strtoul(seed_text, nullptr, 10))
                                       : static_cast<unsigned>(std::random_device{}());
  std::cout << "kills: " << settings.kills << ", seed: " << settings.seed << " (MDS_KILLS, MDS_KILL_SEED)\n";
  const char *directory = std::getenv("MDS_KILL_DIR");
  if (directory == nullptr && std::filesystem::is_directory("/dev/shm")) {
    directory = "/dev/shm";
  }
  if (directory != nullptr) {
    ::setenv("TMPDIR", directory, 1);
  }
  return settings;
}

// How one child ended.
struct ChildEnd {
  enum class Kind { Killed, Finished, Failed } kind = Kind::Failed;
  std::string failure; // with Kind::Failed
};

// Forks a child that runs `child` (which must end the process itself), sends it SIGKILL
// after `delay`, and reaps it.
template <typename Child> ChildEnd fork_and_kill(Child &&child, std::chrono::microseconds delay) {
  const pid_t pid = ::fork();
  if (pid < 0) {
    return {ChildEnd::Kind::Failed, "fork"};
  }
  if (pid == 0) {
    child();
    ::_exit(0);
  }
  std::this_thread::sleep_for(delay);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
    return {ChildEnd::Kind::Killed, {}};
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    return {ChildEnd::Kind::Finished, {}};
  }
  return {ChildEnd::Kind::Failed, "child ended with status " + std::to_string(status)};
}

} // namespace mds::test

#endif
