// Fork-and-kill for the hotpatch lifecycle (SECURITY.md #22): a child process plays an app
// that installs hotpatch after hotpatch through the real pipeline and store, launches each
// (launch_started), confirms the odd versions and crash-loops on the even ones until they
// are reverted, and is SIGKILLed at a random instant: inside an install, a launch, a
// confirmation or a revert. After every kill the parent checks that the state is
// consistent:
//   - the record: a pending patch has 1..N launches, a confirmed one none and is the
//     fallback; the package row's current version is the staged patch, else the active
//     one (of that package), else none;
//   - every version the record names has its envelope and a tree that matches it;
//   - a version is refused for good exactly when one rolled_back event (code 415) was
//     queued for it, and it is then named nowhere; after recovery its tree is gone.
//
//   mds_hotpatch_kill_test   MDS_KILLS kills (default 300), MDS_KILL_SEED seed,
//                            MDS_KILL_MAX_US longest wait before a kill (default: 1.2 times
//                            the measured time of one cycle), MDS_KILL_DIR where the state
//                            lives (default /dev/shm)
//
// Exit 0 when every check held; the figures go to stdout.
#include "hotpatch/hotpatches.hpp"
#include "kill_harness.hpp"
#include "packages/pipeline.hpp"
#include "support/package_world.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <thread>

namespace {

using mds::test::Tree;

constexpr std::uint32_t kMaxLaunches = 3;
constexpr const char *kPackage = "patch";

int failures = 0;

void fail(const std::string &what) {
  std::cout << "FAIL: " << what << "\n";
  ++failures;
}

Tree patch_tree(unsigned n) {
  return {{"patch.js", "fix(" + std::to_string(n) + ");\n" + std::string(4000 + n, 'x')},
          {"res/strings.json", "{\"n\":" + std::to_string(n) + "}"}};
}

mds::packages::PipelineSettings settings_for(const std::filesystem::path &state,
                                             const mds::core::crypto::PrivateKey &key) {
  mds::packages::PipelineSettings settings;
  settings.state_directory = state;
  settings.device.app_id = "demo";
  settings.device.app_version = *mds::core::Version::parse_dotted("10.2.3");
  settings.device.trusted_keys = {key.public_key()};
  settings.server_url = "http://127.0.0.1:1";
  settings.event_queue = 1000000; // every event stays, so each revert's event can be found
  return settings;
}

unsigned number_of(const std::string &version) {
  return static_cast<unsigned>(std::stoul(version));
}

// The app, restarted after each kill: what it does next follows from the state alone.
// `steps` bounds the work (calibration); ~0u runs until every version is done.
[[noreturn]] void run_child(const std::filesystem::path &state, const std::filesystem::path &blobs,
                            const mds::core::crypto::PrivateKey &key,
                            const std::vector<mds::transport::PackageOffer> &offers, unsigned steps) {
  auto store = mds::state::Store::open(state);
  if (!store) {
    std::_Exit(3);
  }
  auto fetch = [&blobs](const mds::transport::DownloadRequest &request) {
    return mds::test::fetch_local(blobs, request);
  };
  mds::packages::Pipeline pipeline(settings_for(state, key), **store, fetch);
  mds::hotpatch::Hotpatches hotpatches(**store, state, kMaxLaunches, 1000000);
  (void)pipeline.recover();
  for (; steps > 0; --steps) {
    auto record = (*store)->hotpatch();
    auto floor = (*store)->floor("hotpatch", kPackage);
    if (!record || !floor) {
      std::_Exit(3);
    }
    if (record->staged) {
      if (!hotpatches.launch()) {
        std::_Exit(4);
      }
    } else if (record->active && !record->active_confirmed) {
      // Odd versions run well; even ones crash before confirming, until reverted.
      const bool good = number_of(record->active->version) % 2 == 1;
      const bool done = good ? hotpatches.confirm().ok() : hotpatches.launch().ok();
      if (!done) {
        std::_Exit(4);
      }
    } else {
      const unsigned next = floor->has_value() ? number_of(**floor) + 1 : 1;
      if (next > offers.size()) {
        std::_Exit(0);
      }
      auto report = pipeline.install(mds::core::PackageKind::Hotpatch, {offers[next - 1]});
      if (!report.failed.empty() || report.installed.size() != 1) {
        std::cerr << "child: install " << next << " failed\n";
        std::_Exit(5);
      }
    }
  }
  std::_Exit(0);
}

std::string name(const std::optional<mds::state::HotpatchRef> &ref) {
  return ref ? ref->version : "-";
}

// The checks of one state directory, as a restarted app finds it (before recovery).
void check_state(mds::state::Store &store, mds::packages::Pipeline &pipeline, unsigned first, unsigned last,
                 const std::string &when) {
  auto record = store.hotpatch();
  if (!record) {
    fail(when + ": record: " + mds::describe(record.error()));
    return;
  }
  const std::string shown = "staged " + name(record->staged) + ", active " + name(record->active) +
                            (record->active_confirmed ? " (confirmed)" : "") + ", fallback " + name(record->fallback) +
                            ", launches " + std::to_string(record->launches);
  if (record->active && !record->active_confirmed &&
      (record->launches < 1 || record->launches > static_cast<std::int64_t>(kMaxLaunches))) {
    fail(when + ": pending with a launch count out of range: " + shown);
  }
  if (record->active && record->active_confirmed && (record->launches != 0 || !(record->fallback == record->active))) {
    fail(when + ": confirmed but not the fallback, or counting launches: " + shown);
  }
  if (!record->active && record->launches != 0) {
    fail(when + ": launches counted with nothing active: " + shown);
  }
  auto current = store.installed_versions("hotpatch", kPackage);
  const auto expected = record->staged ? record->staged : record->active;
  if (!current || current->current != (expected ? std::optional<std::string>(expected->version) : std::nullopt)) {
    fail(when + ": the package row's current version is not the staged or active patch: " + shown);
  }
  for (const auto &ref : {record->staged, record->active, record->fallback}) {
    if (!ref) {
      continue;
    }
    auto manifest = pipeline.installed_manifest(mds::core::PackageKind::Hotpatch, ref->package, ref->version);
    if (!manifest) {
      fail(when + ": no envelope for " + ref->version + ": " + shown);
      continue;
    }
    if (auto verified = mds::packages::verify_tree(
            pipeline.version_directory(mds::core::PackageKind::Hotpatch, ref->package, ref->version), *manifest);
        !verified) {
      fail(when + ": tree of " + ref->version + ": " + mds::describe(verified.error()));
    }
  }
  auto events = store.oldest_events(100000);
  if (!events) {
    fail(when + ": events: " + mds::describe(events.error()));
    return;
  }
  std::map<std::string, unsigned> rolled_back; // version -> rolled_back events
  for (const auto &event : *events) {
    if (event.json.find("\"type\":\"rolled_back\"") == std::string::npos) {
      continue;
    }
    if (event.json.find("\"code\":415") == std::string::npos) {
      fail(when + ": rolled_back without code 415: " + event.json);
    }
    const auto at = event.json.find("\"version\":\"");
    if (at != std::string::npos) {
      const auto from = at + 11;
      ++rolled_back[event.json.substr(from, event.json.find('"', from) - from)];
    }
  }
  for (unsigned n = first; n <= last; ++n) {
    const std::string version = std::to_string(n);
    auto refused = store.refused_offer("hotpatch", kPackage, version, "any offer");
    const bool is_refused = refused && refused->has_value();
    if (rolled_back[version] != (is_refused ? 1u : 0u)) {
      fail(when + ": version " + version + " refused " + std::to_string(is_refused) + " with " +
           std::to_string(rolled_back[version]) + " rolled_back events");
    }
    if (is_refused &&
        (name(record->staged) == version || name(record->active) == version || name(record->fallback) == version)) {
      fail(when + ": reverted version " + version + " still named: " + shown);
    }
  }
}

} // namespace

int main() {
  const auto settings = mds::test::kill_settings(300);
  const unsigned kills = settings.kills;
  const unsigned seed = settings.seed;

  // The publisher's side: signed offers, their blobs on disk, made ahead of the child.
  mds::test::PackageWorld publisher;
  mds::test::TempDir root;
  const auto state = root / "state";
  std::vector<mds::transport::PackageOffer> offers;
  auto offer_up_to = [&](unsigned count) {
    while (offers.size() < count) {
      const unsigned n = static_cast<unsigned>(offers.size()) + 1;
      offers.push_back(
          publisher.offer(kPackage, std::to_string(n), patch_tree(n), {}, mds::core::PackageKind::Hotpatch));
    }
  };
  // The highest version the device took.
  auto reached_in = [](mds::state::Store &store) -> unsigned {
    auto floor = store.floor("hotpatch", kPackage);
    return floor && floor->has_value() ? number_of(**floor) : 0;
  };
  offer_up_to(4);

  // Calibration: one cycle of a bad version (install, launches, revert) and a good one.
  const auto before = std::chrono::steady_clock::now();
  const pid_t calibration = ::fork();
  if (calibration == 0) {
    run_child(state, publisher.blobs(), publisher.key(), offers, 2 * (kMaxLaunches + 3));
  }
  int calibration_status = 0;
  ::waitpid(calibration, &calibration_status, 0);
  if (!WIFEXITED(calibration_status) || WEXITSTATUS(calibration_status) != 0) {
    std::cout << "FAIL: calibration child ended with status " << calibration_status << "\n";
    return 1;
  }
  const double cycle_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - before).count();
  const char *max_text = std::getenv("MDS_KILL_MAX_US");
  const int max_us = max_text != nullptr ? std::atoi(max_text) : static_cast<int>(1.2 * cycle_us);
  std::cout << "two cycles take " << static_cast<int>(cycle_us) << " us; kills within " << max_us << " us\n";

  std::mt19937 random(seed);
  std::uniform_int_distribution<int> delay_us(0, max_us);
  unsigned killed = 0;
  unsigned finished = 0;
  const auto started = std::chrono::steady_clock::now();
  unsigned reached = 0;
  while (killed < kills && failures == 0) {
    // More versions than a child gets through before its kill (about two cycles); one
    // that runs out ends as finished.
    offer_up_to(reached + 8);
    const auto end =
        mds::test::fork_and_kill([&] { run_child(state, publisher.blobs(), publisher.key(), offers, ~0u); },
                                 std::chrono::microseconds(delay_us(random)));
    if (end.kind == mds::test::ChildEnd::Kind::Killed) {
      ++killed;
    } else if (end.kind == mds::test::ChildEnd::Kind::Finished) {
      ++finished;
    } else {
      fail(end.failure);
      break;
    }
    auto store = mds::state::Store::open(state);
    if (!store) {
      fail("store: " + mds::describe(store.error()));
      break;
    }
    mds::packages::Pipeline pipeline(settings_for(state, publisher.key()), **store, nullptr);
    const std::string when = "after kill " + std::to_string(killed);
    reached = reached_in(**store);
    // The versions this child may have touched; every version now and then.
    const unsigned first = killed % 25 == 0 || reached <= 10 ? 1 : reached - 10;
    check_state(**store, pipeline, first, reached, when);
    // Recovery removes the trees of reverted versions a kill left behind.
    auto recovered = pipeline.recover();
    for (const auto &failure : recovered.failed) {
      fail(when + ": recover: " + mds::describe(failure.error));
    }
    for (unsigned n = first; n <= reached; ++n) {
      auto refused = (*store)->refused_offer("hotpatch", kPackage, std::to_string(n), "any offer");
      if (refused && refused->has_value() &&
          std::filesystem::exists(
              pipeline.version_directory(mds::core::PackageKind::Hotpatch, kPackage, std::to_string(n)))) {
        fail(when + ": the tree of reverted version " + std::to_string(n) + " survived recovery");
      }
    }
  }
  auto store = mds::state::Store::open(state);
  unsigned reverted = 0;
  if (store) {
    reached = reached_in(**store);
    for (unsigned n = 1; n <= reached; ++n) {
      auto refused = (*store)->refused_offer("hotpatch", kPackage, std::to_string(n), "any offer");
      reverted += refused && refused->has_value() ? 1 : 0;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "killed " << killed << " times, " << finished << " children finished, versions reached " << reached
            << ", reverted " << reverted << ", in " << seconds << " s\n";
  if (reverted == 0) {
    fail("no revert happened: the test did not exercise it");
  }
  std::cout << (failures == 0 ? "ok" : "FAILED") << "\n";
  return failures == 0 ? 0 : 1;
}
