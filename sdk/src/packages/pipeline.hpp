// The one path every package takes onto the device (DESIGN.md "On the device"), whatever
// its kind:
//
//   verify   the envelope under the trusted keys; the manifest is for this app, kind,
//            package and version, not below the floor, fits the app and its SDKs
//   choose   the delta whose base is the installed version, else the full download
//   fetch    into staging/<sha256>.part, resumable: the strong ETag is checkpointed in
//            the store before the first byte, later attempts send Range + If-Range; the
//            blob's size and SHA-256 must be the offered ones
//   apply    DeltaReader into staging/<kind>-<id>-<version>.tree: references mapped from
//            the installed tree, outputs created with O_EXCL | O_NOFOLLOW from manifest
//            paths only, every file's size and SHA-256 checked before it is closed,
//            zstd's window capped; files and directories fsynced
//   commit   rename into <kind dir>/<id>/<version>/, then one SQLite transaction makes
//            the versions current and raises their floors (a release's group: all of
//            its packages in that one transaction, or none); a hotpatch is staged in it
//   collect  keep the current and the previous version (and the hotpatches the lifecycle
//            names, hotpatch/lifecycle.hpp), remove older ones
//
// Any failure of a delta (malformed, another base, tampered base, window too large, bad
// output) falls back to the full download. Every refusal leaves the current version
// serving and queues a `failed` event with the error's code; an install queues
// `installed` with detail "delta", "full" or "preset". A process killed at any instant
// leaves the current version whole; recover() at start resumes or clears staging.
//
// Power loss and a failing disk (SECURITY.md #19, #20): every write goes through
// io::file_io (and its seam, io/seam.hpp). A tree's files and directories are fsynced
// before it is renamed into place, the directories it was renamed into are fsynced
// before the SQLite transaction, and the downloads it was built from are dropped,
// checkpoint first, before that transaction: a power cut leaves the old version current
// or the new one whole, and no download that nothing will resume. A storage failure
// (DiskFull, IoError) is refused like any other, without the fallback from a delta to
// the full download (a disk that failed the small one fails the large one): the next
// install() tries the delta again.
//
// A refusal that trying the same offer again cannot change (the envelope, the manifest,
// the device's keys and versions, or a blob whose whole answer was wrong decide it) is
// remembered in the store under the offer's digest: that offer is then neither fetched
// nor reported again (it is listed in `skipped`), nor is the rest of its group. A changed
// offer (another envelope, download or URL), another app or SDK version or trusted key
// set, or another version of the package committed, makes it a new offer. Network,
// server-status and storage failures, and a wrong blob built from a resumed download,
// are tried again at the next install().
//
// Thread-safety: every member function takes one mutex; install work is serialised.
#ifndef MDS_SRC_PACKAGES_PIPELINE_HPP
#define MDS_SRC_PACKAGES_PIPELINE_HPP

#include "client/event_queue.hpp"
#include "core/delta/delta.hpp"
#include "core/manifest/manifest.hpp"
#include "packages/verify.hpp"
#include "state/store.hpp"
#include "transport/http.hpp"
#include "transport/protocol.hpp"

#include <mds/error.hpp>

#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mds::packages {

// Moves the bytes of one download (transport::Http::download over the network; tests may
// copy local files). It must honour part_path, if_range, max_bytes and on_body_start.
using Fetch = std::function<Result<transport::DownloadResult>(const transport::DownloadRequest &)>;

struct PipelineSettings {
  std::filesystem::path state_directory;
  DeviceIdentity device;
  std::string server_url; // relative download URLs are joined to it
  unsigned max_window_log = core::delta::kDefaultMaxWindowLog;
  std::uint64_t max_download_bytes = 1ull << 31;
  std::chrono::milliseconds download_deadline{0};
  std::uint32_t event_queue = 1000;
};

struct InstalledPackage {
  core::PackageKind kind = core::PackageKind::Offline;
  std::string release;
  std::string package;
  std::string version;
  std::string detail; // "delta", "full", "preset"
  std::uint64_t download_size = 0;
  std::filesystem::path directory;
  core::Manifest manifest;
};

struct PackageFailure {
  std::string package;
  std::string version;
  Error error;
};

struct PipelineReport {
  std::vector<InstalledPackage> installed;
  std::vector<PackageFailure> failed;
  // Offers refused for good before: neither fetched nor reported (no event) this time;
  // each with the error it was refused with.
  std::vector<PackageFailure> skipped;
};

// The directory of a kind's installed trees under the state directory: "packages" for
// offline packages (DESIGN.md), "upgrades", "hotpatches".
const char *kind_directory(core::PackageKind kind);

class Pipeline {
public:
  Pipeline(PipelineSettings settings, state::Store &store, Fetch fetch);

  // At start: staging keeps only downloads a checkpoint can resume (trees and stray
  // files go), versions neither current nor previous are removed (a kill between rename
  // and commit leaves one), and every current tree is verified against its manifest.
  // What fails verification is in `failed` and was queued as a `failed` event.
  PipelineReport recover();

  // A package shipped inside the app: envelope text and the directory of its files.
  // Installed when its version is above the current one (or none is installed) and not
  // below the floor. Nothing is done (or reported) when the current version is the same
  // or newer; below the floor otherwise, it is refused (VersionRollback). Files are
  // copied and verified.
  PipelineReport install_preset(const std::string &envelope, const std::filesystem::path &directory);

  // Installs what the server offered for `kind`. Offers sharing a group are installed all
  // or none; an offer of the version already current is skipped.
  PipelineReport install(core::PackageKind kind, const std::vector<transport::PackageOffer> &offers);

  // <state>/<kind dir>/<package>/<version>
  std::filesystem::path version_directory(core::PackageKind kind, const std::string &package,
                                          const std::string &version) const;
  std::filesystem::path staging_directory() const;

  // The manifest of an installed (current or previous) version; NotFound when absent.
  Result<core::Manifest> installed_manifest(core::PackageKind kind, const std::string &package,
                                            const std::string &version);

private:
  struct Staged {
    const transport::PackageOffer *offer = nullptr;
    core::Manifest manifest;
    std::filesystem::path tree;
    std::string detail;
    std::uint64_t download_size = 0;
    std::vector<std::string> blobs; // sha256 of the downloads used, dropped before the commit
  };

  // `final` tells whether a failure would be the same for the same offer tried again.
  Result<std::optional<Staged>> stage(core::PackageKind kind, const transport::PackageOffer &offer, bool &final);
  // `final` tells whether a failure is the blob's for good: the offer's hash or size
  // refused, or one whole answer (not a resume) with every byte that hashed wrong.
  Result<std::filesystem::path> fetch_blob(const transport::Download &download, bool &final);
  // What names an offer and the device's side of its verdict (see above).
  std::string offer_digest(core::PackageKind kind, const transport::PackageOffer &offer) const;
  Status apply(const core::Manifest &base, const std::filesystem::path &base_root, const core::Manifest &target,
               const std::filesystem::path &blob, const std::filesystem::path &tree);
  Status commit(core::PackageKind kind, std::vector<Staged> &staged);
  void collect(core::PackageKind kind, const std::string &package);
  void drop_blob(const std::string &sha256);
  void refuse(PipelineReport &report, const std::string &release, const std::string &package,
              const std::string &version, const Error &error);
  std::filesystem::path tree_path(core::PackageKind kind, const std::string &package, const std::string &version) const;

  const PipelineSettings settings_;
  state::Store &store_;
  client::EventQueue events_;
  const Fetch fetch_;
  std::mutex mutex_;
};

} // namespace mds::packages

#endif
