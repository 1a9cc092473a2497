// The device's disk against an offline package update, full and delta, from the real
// mds-server on loopback, with packages published by the real mdsctl (keygen, app create,
// package publish, release create; presets made with manifest and sign):
//
//   SECURITY #20  the SDK's file-system seam (sdk/io/seam.hpp) fails operation k of a
//                 client's start and sync with ENOSPC, then EIO, for k = 1, 2, ... until
//                 a run reaches no operation k: each refused install is reported to
//                 on_error with disk_full / io_error, queues a `failed` event with that
//                 code (seen at the server), leaves the previous version serving and
//                 matching its signed manifest and staging without a tree; a failure
//                 after the commit may only be a cleanup's; nothing is written outside
//                 the state directory; the next start without faults cleans up and
//                 installs the update.
//   SECURITY #19  a power-cut recorder on the same seam keeps the disk a power cut would
//                 leave before every operation of a client that starts from nothing,
//                 installs its preset and then the update (unsynced changes dropped, or
//                 metadata ahead of data; SQLite's files as they were at that instant):
//                 on every such disk the current version, if any, matches its signed
//                 manifest exactly (the preset or the update, never a mix), and a client
//                 started there converges on the update with nothing left in staging.
#include "fault_proxy.hpp"
#include "fixture.hpp"
#include "package_support.hpp"
#include "packages/verify.hpp"
#include "state/store.hpp"
#include "support/disk_seams.hpp"
#include "support/package_world.hpp"
#include "support/text.hpp"

#include <mds/client.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <iostream>
#include <random>

extern char **environ;

using namespace mds::test;
using mds::ErrorCode;
using namespace std::chrono_literals;
namespace core = mds::core;
namespace fs = std::filesystem;

namespace {

const std::string kUpdate = "1.1.0";
// One creation time for a version's manifest, published or made into a preset: the
// preset 1.0.0 is then the very manifest the server's deltas start from.
const std::string kCreated = "2026-11-22T12:00:00Z";

// The files of each version: one that never changes (the delta refers to it), one that
// changes, one that leaves with the update and one that arrives in a new directory.
PackageFiles files_of(const std::string &version) {
  PackageFiles files = {
      {"index.html", "<html>web " + version + "</html>"},
      {"static/lib.js", mds::test::random_bytes(20000, 7)},
      {"static/app.js", mds::test::random_bytes(6000, static_cast<unsigned>(std::hash<std::string>()(version)))}};
  if (version == kUpdate) {
    files["img/new.png"] = mds::test::random_bytes(3000, 11);
  } else {
    files["old.txt"] = "only before " + kUpdate;
  }
  return files;
}

struct ToolRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the mdsctl binary with `arguments`, its output into files under `work`.
ToolRun run_mdsctl(const std::vector<std::string> &arguments, const fs::path &work) {
  const auto out = work / "mdsctl.out";
  const auto err = work / "mdsctl.err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> all = {MDS_MDSCTL_BINARY};
  all.insert(all.end(), arguments.begin(), arguments.end());
  std::vector<char *> argv;
  for (auto &argument : all) {
    argv.push_back(argument.data());
  }
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, MDS_MDSCTL_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ToolRun run;
  if (spawned != 0) {
    run.err = "posix_spawn failed";
    return run;
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = read_bytes(out);
  run.err = read_bytes(err);
  return run;
}

std::string mdsctl_ok(const std::vector<std::string> &arguments, const fs::path &work) {
  const auto run = run_mdsctl(arguments, work);
  INFO("mdsctl " << arguments.front() << ": " << run.err);
  REQUIRE(run.exit_code == 0);
  return run.out;
}

// The server with web 1.0.0 and 1.1.0 published by mdsctl under a key mdsctl made, and
// two presets signed with it: 1.0.0 (the server has deltas from it) and 0.9.0 (never
// published: only the full download fits it). release() offers 1.1.0 to every device.
struct World {
  RunningServer running;
  TempDir work;
  std::string trusted_key;
  std::map<std::string, std::string> preset_envelopes; // version -> envelope

  World() {
    write_bytes(work / "token", kAdminToken + "\n");
    const std::string key = (work / "publisher.key").string();
    mdsctl_ok({"keygen", "--out", key}, work.path());
    trusted_key = read_bytes(key + ".pub");
    ctl({"app", "create", "demo", "--platform", "android", "--publisher-key", key + ".pub"});
    for (const auto &version : std::vector<std::string>{"0.9.0", "1.0.0", kUpdate}) {
      for (const auto &[path, bytes] : files_of(version)) {
        write_bytes(site(version) / path, bytes);
      }
    }
    for (const auto &version : std::vector<std::string>{"1.0.0", kUpdate}) {
      ctl({"package", "publish", "--app", "demo", "--kind", "offline", "--id", "web", "--version", version, "--key",
           key, "--created", kCreated, site(version).string()});
    }
    for (const auto &version : std::vector<std::string>{"0.9.0", "1.0.0"}) {
      const auto manifest = work / ("manifest-" + version + ".json");
      write_bytes(manifest, mdsctl_ok({"manifest", "--app", "demo", "--kind", "offline", "--id", "web", "--version",
                                       version, "--created", kCreated, site(version).string()},
                                      work.path()));
      preset_envelopes[version] = mdsctl_ok({"sign", "--key", key, manifest.string()}, work.path());
    }
  }

  void release() {
    ctl({"release", "create", "--app", "demo", "--package", "web", "--version", kUpdate, "--stage", "full"});
  }

  fs::path site(const std::string &version) const { return work / ("site-" + version); }

  void ctl(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(),
                     {"--server", running.server->base_url(), "--token-file", (work / "token").string()});
    mdsctl_ok(arguments, work.path());
  }
};

// How the device updates: from the 1.0.0 preset by delta, or from the 0.9.0 one by the
// full download.
struct Mode {
  const char *detail;
  const char *preset;
};
const Mode kModes[] = {{"full", "0.9.0"}, {"delta", "1.0.0"}};

mds::ClientOptions options_for(const World &world, const Mode &mode, const std::string &server_url,
                               const fs::path &state, const std::string &device_id) {
  mds::ClientOptions options;
  options.server_url = server_url;
  options.app_id = "demo";
  options.platform = "android";
  options.app_version = "10.2.3";
  options.device.id = device_id;
  options.state_directory = state.string();
  options.trusted_public_keys = {world.trusted_key};
  options.preset_packages = {{world.preset_envelopes.at(mode.preset), world.site(mode.preset).string()}};
  options.timeouts.connect = 2s;
  options.timeouts.request_deadline = 10s;
  options.timeouts.low_speed_window = 10s;
  options.schedule.poll_interval = 3600s;
  return options;
}

struct ClientRun {
  std::vector<mds::Error> errors;               // what reached on_error
  std::vector<mds::PackageInstalled> installed; // what reached on_package_installed
};

// A client on `options`: created, started (start-up work and one sync), shut down.
ClientRun run_client(const mds::ClientOptions &options) {
  ClientRun run;
  std::mutex mutex;
  auto client = mds::Client::create(options);
  if (!client) {
    FAIL(mds::describe(client.error()));
  }
  REQUIRE((*client)->on_error([&](const mds::Error &error) {
    std::lock_guard<std::mutex> lock(mutex);
    run.errors.push_back(error);
  }));
  REQUIRE((*client)->on_package_installed([&](const mds::PackageInstalled &installed) {
    std::lock_guard<std::mutex> lock(mutex);
    run.installed.push_back(installed);
  }));
  REQUIRE((*client)->start());
  auto report = (*client)->wait_for_sync(0, 120s);
  REQUIRE(report);
  REQUIRE((*client)->shutdown(10s));
  std::lock_guard<std::mutex> lock(mutex);
  return run;
}

std::string describe_errors(const ClientRun &run) {
  std::string text;
  for (const auto &error : run.errors) {
    text += mds::describe(error) + "\n";
  }
  return text;
}

// The current version of web in `state` (nullopt: none), after checking that its tree
// matches its signed manifest exactly and that the manifest is the one published for
// that version (so the tree is that version's, not a mix). No client may hold `state`.
std::optional<std::string> check_current(const World &world, const fs::path &state) {
  auto store = mds::state::Store::open(state);
  if (!store) {
    FAIL(mds::describe(store.error()));
  }
  auto versions = (*store)->installed_versions("offline", "web");
  REQUIRE(versions);
  if (!versions->current) {
    return std::nullopt;
  }
  const std::string version = *versions->current;
  INFO("current version " << version);
  auto envelope = (*store)->version_envelope("offline", "web", version);
  REQUIRE(envelope);
  REQUIRE(envelope->has_value());
  mds::packages::DeviceIdentity device;
  device.app_id = "demo";
  device.trusted_keys = {*core::crypto::PublicKey::from_pem(world.trusted_key)};
  auto manifest = mds::packages::read_installed_manifest(**envelope, device, core::PackageKind::Offline, "web");
  REQUIRE(manifest);
  CHECK(manifest->files == make_manifest("demo", core::PackageKind::Offline, "web", version, files_of(version)).files);
  auto verified = mds::packages::verify_tree(state / "packages" / "web" / version, *manifest);
  INFO(mds::describe(verified.error()));
  CHECK(verified);
  return version;
}

// Staging holds no tree, and each download in it has its checkpoint and is a prefix of
// the blob it is named after. Returns how many of them are whole.
int check_staging(World &world, const fs::path &state) {
  int whole = 0;
  auto store = mds::state::Store::open(state);
  REQUIRE(store);
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator(state / "staging", ec)) {
    INFO(entry.path());
    REQUIRE(entry.path().extension() == ".part");
    const std::string sha256 = entry.path().stem().string();
    // Bytes are written only after the checkpoint; an empty part without one (the fault
    // came before) goes at the next start.
    auto checkpoint = (*store)->checkpoint("blob/" + sha256);
    CHECK((fs::file_size(entry.path()) == 0 || (checkpoint && checkpoint->has_value())));
    const auto blob = world.running.client->request("GET", "/v1/blobs/" + sha256);
    REQUIRE(blob.status == 200);
    const auto part = read_bytes(entry.path());
    CHECK(part.size() <= blob.body.size());
    CHECK(blob.body.compare(0, part.size(), part) == 0);
    whole += part == blob.body ? 1 : 0;
  }
  return whole;
}

// After convergence: staging empty, and only the current and the previous version kept.
void check_clean(const fs::path &state, const std::string &previous) {
  std::error_code ec;
  CHECK(fs::is_empty(state / "staging", ec));
  std::set<std::string> versions;
  for (const auto &entry : fs::directory_iterator(state / "packages" / "web", ec)) {
    versions.insert(entry.path().filename().string());
  }
  CHECK(versions.count(kUpdate) == 1);
  versions.erase(previous);
  versions.erase(kUpdate);
  CHECK(versions.empty());
}

// Every file below `root` with the SHA-256 of its bytes.
std::map<std::string, std::string> snapshot(const fs::path &root) {
  std::map<std::string, std::string> files;
  for (const auto &entry : fs::recursive_directory_iterator(root)) {
    files[entry.path().string()] = entry.is_regular_file() ? hex_sha256(read_bytes(entry.path())) : "(directory)";
  }
  return files;
}

bool failed_event_sent(const FaultProxy &proxy, const std::string &device_id, ErrorCode code) {
  for (const auto &body : proxy.event_bodies()) {
    auto document = core::json::parse(body);
    if (!document || document->root()["device_id"].GetString() != device_id) {
      continue;
    }
    for (const auto &event : document->root()["events"].GetArray()) {
      if (std::string(event["type"].GetString()) == "failed" && event.HasMember("code") &&
          event["code"].GetUint() == static_cast<unsigned>(code) &&
          std::string(event["package"].GetString()) == "web" && std::string(event["version"].GetString()) == kUpdate) {
        return true;
      }
    }
  }
  return false;
}

// Where device states live: in memory when the system offers it. The seams model what is
// durable, so real fsyncs would only cost time.
fs::path device_parent() {
  std::error_code ec;
  return fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

TEST_CASE("disk faults: ENOSPC or EIO on any one write of an update leaves the old version serving (SECURITY #20)",
          "[integration][packages][security][disk]") {
  World world;
  FaultProxy proxy(world.running.server->base_url());
  // A device state per mode with its preset installed and nothing offered yet.
  std::map<std::string, std::unique_ptr<TempDir>> templates;
  for (const auto &mode : kModes) {
    templates[mode.detail] = std::make_unique<TempDir>(device_parent());
    const auto state = *templates[mode.detail] / "state";
    const auto run = run_client(options_for(world, mode, proxy.url(), state, std::string("template-") + mode.detail));
    INFO(describe_errors(run));
    REQUIRE(run.errors.empty());
    REQUIRE(check_current(world, state) == std::string(mode.preset));
  }
  world.release();
  const auto outside_before = snapshot(world.work.path());

  for (const auto &mode : kModes) {
    for (const int error_number : {ENOSPC, EIO}) {
      const ErrorCode code = error_number == ENOSPC ? ErrorCode::DiskFull : ErrorCode::IoError;
      const auto started = std::chrono::steady_clock::now();
      unsigned refused = 0;
      std::vector<std::string> ignored;
      unsigned reused = 0; // refusals whose next start used the download kept
      std::uint64_t k = 1;
      for (;; ++k) {
        INFO(mode.detail << ", " << mds::to_string(code) << ", operation " << k);
        TempDir device(device_parent());
        const auto state = device / "state";
        fs::copy(*templates[mode.detail] / "state", state, fs::copy_options::recursive);
        const std::string id =
            std::string("device-") + mode.detail + "-" + std::to_string(error_number) + "-" + std::to_string(k);
        const auto options = options_for(world, mode, proxy.url(), state, id);
        FailingDisk disk(state, k, error_number);
        ClientRun run;
        int whole_downloads = 0;
        {
          SeamInstalled installed(disk);
          run = run_client(options);
        }
        INFO(describe_errors(run));
        CHECK(disk.outside().empty());
        if (!disk.failed()) {
          // Operation k was never reached: the whole update ran without a fault.
          CHECK(run.errors.empty());
          REQUIRE(run.installed.size() == 1);
          CHECK(run.installed[0].detail == mode.detail);
          CHECK(check_current(world, state) == kUpdate);
          check_clean(state, mode.preset);
          std::cout << "SECURITY #20, " << mode.detail << " update, " << mds::to_string(code) << ": " << k - 1
                    << " file operations from start to the update's end; each failed in turn: " << refused
                    << " refused the update (" << reused
                    << " of them kept the whole download, used by the next start), " << ignored.size()
                    << " hit a removal the install ignores (" << seconds_since(started) << " s)\n";
          break;
        }
        INFO("failed: " << *disk.failed());
        if (run.installed.empty()) {
          // Refused: reported with its code, the old version serves, staging has no tree.
          ++refused;
          REQUIRE(!run.errors.empty());
          for (const auto &error : run.errors) {
            CHECK(error.code == code);
          }
          CHECK(check_current(world, state) == std::string(mode.preset));
          whole_downloads = check_staging(world, state);
          CHECK(failed_event_sent(proxy, id, code));
        } else {
          // Only a cleanup may fail without failing the install: the removal of the used
          // download (its checkpoint is gone: the next start removes it) or of a version
          // no longer kept.
          ignored.push_back(*disk.failed());
          CHECK(run.errors.empty());
          CHECK(disk.failed_operation() == mds::io::FileOperation::Remove);
          CHECK(run.installed[0].version == kUpdate);
          CHECK(check_current(world, state) == kUpdate);
        }
        // The next start, without faults, cleans up and installs the update; from the
        // download kept in staging when it was whole.
        const auto requests_before = proxy.requests().size();
        const auto next = run_client(options);
        if (whole_downloads > 0) {
          CHECK(proxy.blob_requests(requests_before).empty());
          ++reused;
        }
        INFO(describe_errors(next));
        CHECK(next.errors.empty());
        if (run.installed.empty()) {
          REQUIRE(next.installed.size() == 1);
          CHECK(next.installed[0].detail == mode.detail);
        }
        CHECK(check_current(world, state) == kUpdate);
        check_clean(state, mode.preset);
        REQUIRE(k < 1000);
      }
      for (const auto &operation : ignored) {
        std::cout << "  ignored: " << operation << "\n";
      }
      CHECK(refused > 10);
    }
  }
  CHECK(snapshot(world.work.path()) == outside_before);
}

TEST_CASE("power loss: a cut at any instant of an update leaves a version matching its manifest (SECURITY #19)",
          "[integration][packages][security][disk]") {
  World world;
  world.release();
  const auto outside_before = snapshot(world.work.path());
  for (const auto &mode : kModes) {
    INFO(mode.detail);
    const auto started = std::chrono::steady_clock::now();
    TempDir device(device_parent());
    const auto state = device / "state";
    const auto url = world.running.server->base_url();
    PowerCutRecorder recorder(state, {"mds.db", "mds.db-wal"});
    ClientRun run;
    {
      SeamInstalled installed(recorder);
      run = run_client(options_for(world, mode, url, state, std::string("recorded-") + mode.detail));
      recorder.capture("after shutdown");
    }
    INFO(describe_errors(run));
    REQUIRE(run.errors.empty());
    REQUIRE(run.installed.size() == 2);
    CHECK(run.installed[0].detail == "preset");
    CHECK(run.installed[1].detail == mode.detail);
    CHECK(recorder.outside().empty());
    CHECK(recorder.unmodelled().empty());

    // Every image: what the restarted app finds, then where its next sync leads.
    std::map<std::string, unsigned> found; // version found current -> images
    unsigned dropped = 0;
    const auto images = recorder.images();
    for (std::size_t i = 0; i < images.size(); ++i) {
      const auto &image = images[i];
      INFO("image " << i
                    << (image.reading == PowerCutRecorder::Reading::Dropped ? " (unsynced dropped)"
                                                                            : " (metadata first)")
                    << ": " << image.label);
      dropped += image.reading == PowerCutRecorder::Reading::Dropped ? 1 : 0;
      TempDir cut(device_parent());
      const auto cut_state = cut / "state";
      PowerCutRecorder::write_image(image, cut_state);
      const auto current = check_current(world, cut_state);
      CHECK((!current || current == std::string(mode.preset) || current == kUpdate));
      ++found[current.value_or("none")];
      const auto next = run_client(options_for(world, mode, url, cut_state, "cut-" + std::to_string(i)));
      INFO(describe_errors(next));
      CHECK(next.errors.empty());
      CHECK(check_current(world, cut_state) == kUpdate);
      check_clean(cut_state, mode.preset);
    }
    std::cout << "SECURITY #19, " << mode.detail << " update: " << recorder.operations()
              << " file operations from an empty state directory to the update installed; " << images.size()
              << " distinct power-cut images (" << dropped << " with unsynced changes dropped, "
              << images.size() - dropped << " with metadata ahead of data); current version found:";
    for (const auto &[version, count] : found) {
      std::cout << " " << version << " x" << count;
    }
    std::cout << " (" << seconds_since(started) << " s)\n";
    // The cuts span the whole run: before the preset, between, and after the update.
    CHECK(found.size() == 3);
  }
  CHECK(snapshot(world.work.path()) == outside_before);
}
