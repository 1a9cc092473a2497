// Fork-and-kill (SECURITY.md #18): a child process installs one package version after
// another through the real pipeline and store, and is SIGKILLed at a random instant. After
// every kill the parent checks that the current version's tree matches its signed
// manifest exactly (and is the tree that version was built from), and that staging holds
// only what recovery can resume: after recover(), nothing but downloads with a checkpoint,
// each a prefix of its blob.
//
//   mds_package_kill_test   MDS_KILLS kills (default 500), MDS_KILL_SEED seed,
//                           MDS_KILL_MAX_US longest wait before a kill (default: 1.2 times
//                           the measured time of one install),
//                           MDS_KILL_DIR where the state lives (default /dev/shm)
//
// Exit 0 when every check held; the figures go to stdout.
#include "kill_harness.hpp"
#include "packages/pipeline.hpp"
#include "support/package_world.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
#include <thread>

namespace {

using mds::test::Tree;

std::string text(std::size_t size, unsigned seed) {
  std::string out;
  std::mt19937 random(seed);
  while (out.size() < size) {
    out += static_cast<char>('a' + random() % 20);
  }
  return out;
}

// Version n: a stable core, one file that changes every version, one that comes and goes.
Tree site(unsigned n) {
  Tree tree;
  tree["index.html"] = "<html>" + std::to_string(n) + "</html>";
  tree["static/lib.js"] = text(30000, 1);
  tree["static/app.js"] = text(20000, 2) + text(2000, n);
  if (n % 3 == 0) {
    tree["img/extra.png"] = text(5000, 100 + n);
  }
  return tree;
}

std::string version_of(unsigned n) {
  return "1." + std::to_string(n) + ".0";
}

int failures = 0;

void fail(const std::string &what) {
  std::cout << "FAIL: " << what << "\n";
  ++failures;
}

mds::packages::PipelineSettings settings_for(const std::filesystem::path &state,
                                             const mds::core::crypto::PrivateKey &key) {
  mds::packages::PipelineSettings settings;
  settings.state_directory = state;
  settings.device.app_id = "demo";
  settings.device.app_version = *mds::core::Version::parse_dotted("10.2.3");
  settings.device.trusted_keys = {key.public_key()};
  settings.server_url = "http://127.0.0.1:1";
  return settings;
}

// Like a server that sends the blob in 4 KiB writes: the part grows piece by piece, so a
// kill lands inside a download; a part is continued when If-Range names the blob.
mds::Result<mds::transport::DownloadResult> fetch_in_pieces(const std::filesystem::path &blobs,
                                                            const mds::transport::DownloadRequest &request) {
  const std::string name = request.url.substr(request.url.rfind('/') + 1);
  const std::string bytes = mds::test::read_bytes(blobs / name);
  const std::string etag = "\"" + name + "\"";
  std::error_code ec;
  const auto existing = std::filesystem::file_size(request.part_path, ec);
  const std::uint64_t from = !ec && request.if_range == etag && existing < bytes.size() ? existing : 0;
  const int fd = ::open(request.part_path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(from)) != 0 || ::lseek(fd, static_cast<off_t>(from), SEEK_SET) < 0) {
    return mds::make_error(mds::ErrorCode::IoError, "part file");
  }
  if (request.on_body_start) {
    request.on_body_start(etag);
  }
  for (std::uint64_t at = from; at < bytes.size(); at += 4096) {
    const std::size_t piece = static_cast<std::size_t>(std::min<std::uint64_t>(4096, bytes.size() - at));
    if (::write(fd, bytes.data() + at, piece) != static_cast<ssize_t>(piece)) {
      ::close(fd);
      return mds::make_error(mds::ErrorCode::IoError, "write part");
    }
  }
  ::close(fd);
  mds::transport::DownloadResult result;
  result.size = bytes.size();
  result.resumed_from = from;
  result.etag = etag;
  return result;
}

// The child: recover, then install the next version until there is none. Downloads arrive
// in 4 KiB pieces, so kills land inside them too.
[[noreturn]] void run_child(const std::filesystem::path &state, const std::filesystem::path &blobs,
                            const mds::core::crypto::PrivateKey &key,
                            const std::vector<mds::transport::PackageOffer> &offers, unsigned limit) {
  auto store = mds::state::Store::open(state);
  if (!store) {
    std::_Exit(3);
  }
  auto fetch = [&blobs](const mds::transport::DownloadRequest &request) { return fetch_in_pieces(blobs, request); };
  mds::packages::Pipeline pipeline(settings_for(state, key), **store, fetch);
  (void)pipeline.recover();
  for (;;) {
    auto versions = (*store)->installed_versions("offline", "h5");
    if (!versions) {
      std::_Exit(3);
    }
    unsigned next = 1;
    if (versions->current) {
      next = static_cast<unsigned>(std::stoul(versions->current->substr(2))) + 1;
    }
    if (next > offers.size() || limit-- == 0) {
      std::_Exit(0);
    }
    auto report = pipeline.install(mds::core::PackageKind::Offline, {offers[next - 1]});
    if (!report.failed.empty()) {
      std::cerr << "child: " << mds::describe(report.failed[0].error) << "\n";
      std::_Exit(4);
    }
  }
}

} // namespace

int main() {
  const auto settings = mds::test::kill_settings(500);
  const unsigned kills = settings.kills;
  const unsigned seed = settings.seed;
  mds::test::TempDir root;
  std::cout << "state under " << root.path().parent_path() << " (MDS_KILL_DIR)\n";
  const auto state = root / "state";
  const auto blobs = root / "blobs";
  std::filesystem::create_directories(blobs);
  auto key = mds::core::crypto::PrivateKey::generate();
  if (!key) {
    return 1;
  }

  // Enough versions that the child never runs out: every offer has the full download
  // and a delta from the version before it.
  const unsigned version_count = kills + 10;
  std::vector<mds::transport::PackageOffer> offers;
  std::vector<mds::core::Manifest> manifests;
  for (unsigned n = 1; n <= version_count; ++n) {
    const Tree tree = site(n);
    const auto manifest = mds::test::manifest_of(tree, "h5", version_of(n));
    mds::transport::PackageOffer offer;
    offer.release = "r" + std::to_string(n);
    offer.package = "h5";
    offer.version = manifest.version;
    const std::string payload = mds::core::encode(manifest);
    auto envelope = mds::core::crypto::sign_envelope(
        mds::core::kManifestPayloadType,
        mds::core::crypto::ByteView(reinterpret_cast<const std::uint8_t *>(payload.data()), payload.size()), *key);
    offer.envelope = *mds::core::crypto::encode_envelope(*envelope);
    auto put = [&](const std::string &bytes, const char *kind, std::optional<std::string> base) {
      mds::transport::Download download;
      download.kind = kind;
      download.base = std::move(base);
      download.sha256 = mds::test::hex_sha256(bytes);
      download.size = bytes.size();
      download.url = "/v1/blobs/" + download.sha256;
      mds::test::write_bytes(blobs / download.sha256, bytes);
      offer.downloads.push_back(download);
    };
    if (n > 1) {
      const Tree before = site(n - 1);
      put(mds::test::PackageWorld::encode(manifests.back(), before, manifest, tree), "delta", version_of(n - 1));
    }
    put(mds::test::PackageWorld::encode(mds::core::Manifest{}, {}, manifest, tree), "full", std::nullopt);
    offers.push_back(offer);
    manifests.push_back(manifest);
  }

  // Calibration: how long a child takes, unkilled, from fork to one version installed
  // (sanitizers and slow disks stretch it); kills then fall anywhere in 1.2 times that.
  double calibrated_us = 0;
  for (int run = 0; run < 3; ++run) {
    const auto before = std::chrono::steady_clock::now();
    const pid_t child = ::fork();
    if (child == 0) {
      run_child(state, blobs, *key, offers, 1);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fail("calibration child ended with status " + std::to_string(status));
      return 1;
    }
    calibrated_us = std::max(
        calibrated_us, std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - before).count());
  }
  std::mt19937 random(seed);
  const char *max_text = std::getenv("MDS_KILL_MAX_US");
  const int max_us = max_text != nullptr ? std::atoi(max_text) : static_cast<int>(1.2 * calibrated_us);
  std::cout << "one install takes up to " << static_cast<int>(calibrated_us) << " us; kills within " << max_us
            << " us\n";
  std::uniform_int_distribution<int> delay_us(0, max_us);
  unsigned killed = 0;
  unsigned finished_children = 0;
  unsigned parts_seen = 0;
  unsigned trees_seen = 0;
  const auto started = std::chrono::steady_clock::now();
  while (killed < kills && failures == 0) {
    const auto end = mds::test::fork_and_kill([&] { run_child(state, blobs, *key, offers, ~0u); },
                                              std::chrono::microseconds(delay_us(random)));
    if (end.kind == mds::test::ChildEnd::Kind::Killed) {
      ++killed;
    } else if (end.kind == mds::test::ChildEnd::Kind::Finished) {
      ++finished_children;
    } else {
      fail(end.failure);
      break;
    }

    // What a restarted app finds, before its recovery runs.
    auto store = mds::state::Store::open(state);
    if (!store) {
      fail("store: " + mds::describe(store.error()));
      break;
    }
    mds::packages::Pipeline pipeline(settings_for(state, *key), **store, nullptr);
    auto versions = (*store)->installed_versions("offline", "h5");
    if (versions && versions->current) {
      const unsigned n = static_cast<unsigned>(std::stoul(versions->current->substr(2)));
      auto manifest = pipeline.installed_manifest(mds::core::PackageKind::Offline, "h5", *versions->current);
      if (!manifest || *manifest != manifests[n - 1]) {
        fail("the current version's manifest is not the one installed");
      } else if (auto verified = mds::packages::verify_tree(
                     pipeline.version_directory(mds::core::PackageKind::Offline, "h5", *versions->current), *manifest);
                 !verified) {
        fail("after kill " + std::to_string(killed) + ": " + mds::describe(verified.error()));
      }
    }
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(pipeline.staging_directory(), ec)) {
      if (entry.path().extension() == ".part") {
        ++parts_seen;
      } else if (entry.path().extension() == ".tree") {
        ++trees_seen;
      }
    }
    // Recovery leaves only resumable downloads, each a prefix of its blob.
    auto recovered = pipeline.recover();
    for (const auto &failure : recovered.failed) {
      fail("recover: " + mds::describe(failure.error));
    }
    for (const auto &entry : std::filesystem::directory_iterator(pipeline.staging_directory(), ec)) {
      const std::string name = entry.path().filename().string();
      if (entry.path().extension() != ".part") {
        fail("staging keeps " + name);
        continue;
      }
      const std::string sha256 = name.substr(0, 64);
      auto checkpoint = (*store)->checkpoint("blob/" + sha256);
      const std::string part = mds::test::read_bytes(entry.path());
      const std::string blob = mds::test::read_bytes(blobs / sha256);
      if (!checkpoint || !checkpoint->has_value()) {
        fail("part without checkpoint: " + name);
      } else if (part.size() > blob.size() || blob.compare(0, part.size(), part) != 0) {
        fail("part is not a prefix of its blob: " + name);
      }
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  auto store = mds::state::Store::open(state);
  std::string reached = "none";
  if (store) {
    if (auto versions = (*store)->installed_versions("offline", "h5"); versions && versions->current) {
      reached = *versions->current;
    }
  }
  std::cout << "killed " << killed << " children (" << finished_children << " ran out of versions) in " << seconds
            << " s; version reached " << reached << "; after kills staging held " << parts_seen
            << " partial downloads and " << trees_seen << " partial trees\n";
  if (failures == 0 && reached == "none") {
    fail("no version was ever installed: the kills came too early to test anything");
  }
  std::cout << (failures == 0 ? "PASS" : "FAIL") << "\n";
  return failures == 0 ? 0 : 1;
}
