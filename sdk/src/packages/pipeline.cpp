#include "packages/pipeline.hpp"

#include "core/crypto/encoding.hpp"
#include "core/crypto/sha256.hpp"
#include "core/version/version.hpp"
#include "io/file_io.hpp"
#include "io/package_tree.hpp"
#include "packages/staging_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <system_error>

namespace mds::packages {
namespace {

constexpr const char *kPartSuffix = ".part";
constexpr const char *kTreeSuffix = ".tree";
constexpr std::size_t kChunk = 64 * 1024;

std::string checkpoint_key(const std::string &sha256) {
  return "blob/" + sha256;
}

bool is_lower_hex64(const std::string &text) {
  if (text.size() != 64) {
    return false;
  }
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

// Removes a tree, ignoring what is already gone: cleanup never hides the first error.
// What it fails to remove, recover() removes at the next start.
void remove_tree(const std::filesystem::path &path) {
  (void)io::remove_tree(path);
}

Status check_blob(const std::filesystem::path &part, const transport::Download &download) {
  auto digest = io::digest_file(part);
  if (!digest) {
    return std::move(digest).error();
  }
  if (digest->size != download.size) {
    return make_error(ErrorCode::FileSizeMismatch, download.url + ": " + std::to_string(digest->size) +
                                                       " bytes, the offer says " + std::to_string(download.size));
  }
  if (core::crypto::hex_encode(digest->sha256) != download.sha256) {
    return make_error(ErrorCode::FileHashMismatch, download.url + ": SHA-256 differs from the offer");
  }
  return {};
}

// Copies the manifest's files from `source` into the sink, each bounded by its declared
// size and checked against its SHA-256 before it is closed.
Status copy_verified(const std::filesystem::path &source, const core::Manifest &manifest, StagingSink &sink) {
  std::vector<std::uint8_t> buffer(kChunk);
  for (const auto &file : manifest.files) {
    const auto path = source / file.path;
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      return io::error_from_errno(errno, "open", path);
    }
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    if (auto opened = sink.open_output(file); !opened) {
      return opened;
    }
    core::crypto::Sha256 hasher;
    std::uint64_t total = 0;
    for (;;) {
      const ssize_t got = ::read(fd, buffer.data(), buffer.size());
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got < 0) {
        return io::error_from_errno(errno, "read", path);
      }
      if (got == 0) {
        break;
      }
      total += static_cast<std::uint64_t>(got);
      if (total > file.size) {
        return make_error(ErrorCode::FileSizeMismatch,
                          path.string() + ": longer than the manifest's " + std::to_string(file.size) + " bytes");
      }
      const core::crypto::ByteView chunk(buffer.data(), static_cast<std::size_t>(got));
      hasher.update(chunk);
      if (auto written = sink.write_output(chunk); !written) {
        return written;
      }
    }
    if (total != file.size) {
      return make_error(ErrorCode::FileSizeMismatch, path.string() + ": " + std::to_string(total) +
                                                         " bytes, the manifest says " + std::to_string(file.size));
    }
    if (core::crypto::hex_encode(hasher.finish()) != file.sha256) {
      return make_error(ErrorCode::FileHashMismatch, path.string() + ": SHA-256 differs from the manifest");
    }
    if (auto closed = sink.close_output(); !closed) {
      return closed;
    }
  }
  return {};
}

// Whether a refusal with `code` would be the same for the same offer tried again: what
// the signed envelope and manifest, the device's keys, versions and caps, or a blob whose
// bytes were checked against the offered SHA-256 decide. Network, storage and server
// answers may change; so may what the system failed to do (allocation, entropy).
bool is_final(ErrorCode code) {
  switch (category_of(code)) {
  case ErrorCategory::Parse:
  case ErrorCategory::Package:
  case ErrorCategory::Version:
    return true;
  case ErrorCategory::Signature:
    return code != ErrorCode::CryptoFailure;
  default:
    return false;
  }
}

// The device's storage failed (a full disk, an I/O error), not the package.
bool storage_failed(ErrorCode code) {
  return code == ErrorCode::DiskFull || code == ErrorCode::IoError;
}

bool falls_back(ErrorCode code) {
  // Any failure of the delta itself leaves the full download. Giving up does not, nor
  // does the device's storage: a disk that could not take the delta's few bytes will not
  // take the full download's many, and the delta is tried again at the next sync.
  return code != ErrorCode::Cancelled && !storage_failed(code);
}

} // namespace

const char *kind_directory(core::PackageKind kind) {
  switch (kind) {
  case core::PackageKind::Offline:
    return "packages";
  case core::PackageKind::Hotpatch:
    return "hotpatches";
  case core::PackageKind::Upgrade:
    return "upgrades";
  }
  return "packages";
}

Pipeline::Pipeline(PipelineSettings settings, state::Store &store, Fetch fetch)
    : settings_(std::move(settings)), store_(store), events_(store, settings_.event_queue), fetch_(std::move(fetch)) {}

std::filesystem::path Pipeline::version_directory(core::PackageKind kind, const std::string &package,
                                                  const std::string &version) const {
  return settings_.state_directory / kind_directory(kind) / package / version;
}

std::filesystem::path Pipeline::staging_directory() const {
  return settings_.state_directory / "staging";
}

std::filesystem::path Pipeline::tree_path(core::PackageKind kind, const std::string &package,
                                          const std::string &version) const {
  return staging_directory() / (std::string(core::to_string(kind)) + "-" + package + "-" + version + kTreeSuffix);
}

void Pipeline::refuse(PipelineReport &report, const std::string &release, const std::string &package,
                      const std::string &version, const Error &error) {
  report.failed.push_back({package, version, error});
  if (error.code != ErrorCode::Cancelled) {
    // A full queue drops the oldest; a store that cannot write is reported by the next sync.
    (void)events_.failed({release, package, version}, error.code, error.message);
  }
}

Result<core::Manifest> Pipeline::installed_manifest(core::PackageKind kind, const std::string &package,
                                                    const std::string &version) {
  auto envelope = store_.version_envelope(core::to_string(kind), package, version);
  if (!envelope) {
    return std::move(envelope).error();
  }
  if (!envelope->has_value()) {
    return make_error(ErrorCode::NotFound,
                      std::string(core::to_string(kind)) + " " + package + " " + version + " is not installed");
  }
  return read_installed_manifest(**envelope, settings_.device, kind, package);
}

Result<std::filesystem::path> Pipeline::fetch_blob(const transport::Download &download, bool &final) {
  final = true; // the offer's own hash and size are refused for good
  if (!is_lower_hex64(download.sha256)) {
    return make_error(ErrorCode::InvalidHex, "download hash \"" + download.sha256 + "\"");
  }
  if (download.size > settings_.max_download_bytes) {
    return make_error(ErrorCode::PackageTooLarge, download.url + ": " + std::to_string(download.size) +
                                                      " bytes, above the cap of " +
                                                      std::to_string(settings_.max_download_bytes));
  }
  final = false;
  const auto part = staging_directory() / (download.sha256 + kPartSuffix);
  const auto key = checkpoint_key(download.sha256);
  const std::string url = transport::resolve_url(settings_.server_url, download.url);
  auto saved = store_.checkpoint(key);
  if (!saved) {
    return std::move(saved).error();
  }
  std::error_code ec;
  const bool have_part = std::filesystem::is_regular_file(part, ec);
  // The part is resumed wherever the blob is served from now (a content-addressed name):
  // If-Range with the validator it was fetched under, and the final hash, keep bytes of
  // two different blobs from being spliced.
  std::string if_range;
  if (saved->has_value() && have_part) {
    // Complete already (a kill before the commit): the hash decides, no network needed.
    if (std::filesystem::file_size(part, ec) == download.size && check_blob(part, download)) {
      return part;
    }
    if_range = (*saved)->etag;
  }
  transport::DownloadRequest request;
  request.url = url;
  request.part_path = part;
  request.if_range = if_range;
  request.max_bytes = download.size;
  request.total_size = download.size;
  request.deadline = settings_.download_deadline;
  request.on_body_start = [&](const std::string &etag) {
    // Only a strong validator makes a resume safe (SECURITY.md #16).
    const std::string strong = etag.rfind("W/", 0) == 0 ? std::string() : etag;
    (void)store_.save_checkpoint({key, url, strong, download.size, download.sha256});
  };
  auto fetched = fetch_(request);
  if (!fetched) {
    if (fetched.code() == ErrorCode::ResponseTooLarge) {
      // More bytes than the blob has: what arrived is not the blob, nothing to resume.
      drop_blob(download.sha256);
    }
    return std::move(fetched).error();
  }
  if (auto checked = check_blob(part, download); !checked) {
    drop_blob(download.sha256);
    // Bytes that are not the offered blob say nothing about the offer: a captive portal,
    // a proxy or a cache may have answered, and the next network may not. Refusing the
    // offer for good here would let any of them stop an update for good; the download
    // is tried again at the next sync.
    final = false;
    return std::move(checked).error();
  }
  return part;
}

void Pipeline::drop_blob(const std::string &sha256) {
  // The checkpoint first: a part without one is removed by recover(), never resumed.
  (void)store_.clear_checkpoint(checkpoint_key(sha256));
  remove_tree(staging_directory() / (sha256 + kPartSuffix));
}

Status Pipeline::apply(const core::Manifest &base, const std::filesystem::path &base_root, const core::Manifest &target,
                       const std::filesystem::path &blob, const std::filesystem::path &tree) {
  remove_tree(tree);
  auto sink = StagingSink::create(base_root, tree);
  if (!sink) {
    return std::move(sink).error();
  }
  core::delta::DecodeOptions options;
  options.max_window_log = settings_.max_window_log;
  core::delta::DeltaReader reader(base, target, **sink, options);
  const int fd = ::open(blob.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return io::error_from_errno(errno, "open", blob);
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  std::vector<std::uint8_t> buffer(kChunk);
  for (;;) {
    const ssize_t got = ::read(fd, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      return io::error_from_errno(errno, "read", blob);
    }
    if (got == 0) {
      break;
    }
    if (auto fed = reader.feed(core::crypto::ByteView(buffer.data(), static_cast<std::size_t>(got))); !fed) {
      return fed;
    }
  }
  if (auto finished = reader.finish(); !finished) {
    return finished;
  }
  return (*sink)->sync_directories();
}

Result<std::optional<Pipeline::Staged>> Pipeline::stage(core::PackageKind kind, const transport::PackageOffer &offer,
                                                        bool &final) {
  final = false; // storage failures may pass next time
  const std::string kind_name = core::to_string(kind);
  auto versions = store_.installed_versions(kind_name, offer.package);
  if (!versions) {
    return std::move(versions).error();
  }
  if (versions->current == offer.version) {
    return std::optional<Staged>();
  }
  auto floor = store_.floor(kind_name, offer.package);
  if (!floor) {
    return std::move(floor).error();
  }
  Expected expected;
  expected.kind = kind;
  expected.package = offer.package;
  expected.version = offer.version;
  expected.floor = *floor;
  auto manifest = verify_package(offer.envelope, settings_.device, expected);
  if (!manifest) {
    final = is_final(manifest.code());
    return std::move(manifest).error();
  }
  final = true; // the refusals below are the offer's own
  if (kind == core::PackageKind::Upgrade && manifest->files.size() != 1) {
    return make_error(ErrorCode::ManifestInvalid,
                      "an upgrade package holds exactly one file, this one " + std::to_string(manifest->files.size()));
  }

  // The delta from the installed version, when offered and its base manifest still
  // verifies; then the full download.
  struct Attempt {
    const transport::Download *download;
    core::Manifest base;
    std::filesystem::path base_root;
  };
  std::vector<Attempt> attempts;
  if (versions->current) {
    for (const auto &download : offer.downloads) {
      if (download.kind == "delta" && download.base == versions->current) {
        auto base = installed_manifest(kind, offer.package, *versions->current);
        if (base) {
          attempts.push_back({&download, std::move(*base), version_directory(kind, offer.package, *versions->current)});
        }
        break;
      }
    }
  }
  for (const auto &download : offer.downloads) {
    if (download.kind == "full") {
      attempts.push_back({&download, core::Manifest{}, {}});
      break;
    }
  }
  if (attempts.empty() || attempts.back().download->kind != "full") {
    return make_error(ErrorCode::NotFound, offer.package + " " + offer.version + ": no full download offered");
  }

  const auto tree = tree_path(kind, offer.package, offer.version);
  std::optional<Error> last;
  for (const auto &attempt : attempts) {
    const bool is_delta = attempt.download->kind == "delta";
    bool fetch_final = false;
    auto blob = fetch_blob(*attempt.download, fetch_final);
    if (blob) {
      (void)events_.downloaded({offer.release, offer.package, offer.version},
                               attempt.download->kind + " " + std::to_string(attempt.download->size));
    }
    Status applied =
        blob ? apply(attempt.base, attempt.base_root, *manifest, *blob, tree) : Status(std::move(blob).error());
    if (applied) {
      Staged staged;
      staged.offer = &offer;
      staged.manifest = std::move(*manifest);
      staged.tree = tree;
      staged.detail = is_delta ? "delta" : "full";
      staged.download_size = attempt.download->size;
      staged.blobs.push_back(attempt.download->sha256);
      return std::optional<Staged>(std::move(staged));
    }
    remove_tree(tree);
    if (blob && !storage_failed(applied.code())) {
      // The blob was the one offered and still failed: it will never apply. One that the
      // disk failed stays, whole and checkpointed: the next sync applies it without the
      // network.
      drop_blob(attempt.download->sha256);
    }
    // A blob that matched its offered SHA-256 fails the same way again unless the
    // device's side (storage) failed. The offer is refused for good only when every
    // download tried was.
    final = final && (blob ? is_final(applied.code()) : fetch_final);
    last = applied.error();
    if (!is_delta || !falls_back(applied.code())) {
      break;
    }
  }
  return *last;
}

Status Pipeline::commit(core::PackageKind kind, std::vector<Staged> &staged) {
  std::vector<state::InstallCommit> commits;
  std::vector<std::filesystem::path> placed;
  auto undo = [&](Error error) -> Status {
    for (const auto &path : placed) {
      remove_tree(path);
    }
    return error;
  };
  for (auto &item : staged) {
    const auto destination = version_directory(kind, item.offer->package, item.offer->version);
    if (auto made = io::make_directories(destination.parent_path()); !made) {
      return undo(made.error());
    }
    remove_tree(destination); // a leftover of an install killed before its commit
    if (auto renamed = io::rename_path(item.tree, destination); !renamed) {
      return undo(renamed.error());
    }
    placed.push_back(destination);
    if (auto synced = io::fsync_directory(destination.parent_path()); !synced) {
      return undo(synced.error());
    }
    if (auto synced = io::fsync_directory(destination.parent_path().parent_path()); !synced) {
      return undo(synced.error());
    }
    commits.push_back(
        {core::to_string(kind), item.offer->package, item.offer->version, item.offer->envelope, item.offer->release});
  }
  if (auto committed = store_.commit_installs(commits); !committed) {
    return undo(committed.error());
  }
  return {};
}

void Pipeline::collect(core::PackageKind kind, const std::string &package) {
  auto versions = store_.installed_versions(core::to_string(kind), package);
  if (!versions) {
    return;
  }
  // A hotpatch the lifecycle names (staged, active, or the fallback a revert goes to)
  // stays too.
  std::vector<std::string> kept;
  if (kind == core::PackageKind::Hotpatch) {
    auto record = store_.hotpatch();
    if (!record) {
      return;
    }
    for (const auto &ref : {record->staged, record->active, record->fallback}) {
      if (ref && ref->package == package) {
        kept.push_back(ref->version);
      }
    }
  }
  const auto directory = settings_.state_directory / kind_directory(kind) / package;
  std::error_code ec;
  std::vector<std::filesystem::path> doomed;
  for (const auto &entry : std::filesystem::directory_iterator(directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (name != versions->current && name != versions->previous &&
        std::find(kept.begin(), kept.end(), name) == kept.end()) {
      doomed.push_back(entry.path());
    }
  }
  for (const auto &path : doomed) {
    remove_tree(path);
  }
}

PipelineReport Pipeline::install(core::PackageKind kind, const std::vector<transport::PackageOffer> &offers) {
  std::lock_guard<std::mutex> lock(mutex_);
  PipelineReport report;
  if (auto made = io::make_directories(staging_directory()); !made) {
    for (const auto &offer : offers) {
      refuse(report, offer.release, offer.package, offer.version, made.error());
    }
    return report;
  }
  // Offers in groups, in the order the answer lists them; an offer without a group is a
  // group of its own.
  std::vector<std::vector<const transport::PackageOffer *>> groups;
  std::map<std::string, std::size_t> group_index;
  for (const auto &offer : offers) {
    if (offer.group) {
      auto found = group_index.find(*offer.group);
      if (found != group_index.end()) {
        groups[found->second].push_back(&offer);
        continue;
      }
      group_index[*offer.group] = groups.size();
    }
    groups.push_back({&offer});
  }

  const std::string kind_name = core::to_string(kind);
  for (const auto &group : groups) {
    // An offer refused for good before: the group is left alone, silently.
    std::vector<std::string> digests;
    std::optional<Error> remembered;
    for (const auto *offer : group) {
      digests.push_back(offer_digest(kind, *offer));
      auto refused = store_.refused_offer(kind_name, offer->package, offer->version, digests.back());
      if (refused && *refused && !remembered) {
        remembered = **refused;
      }
    }
    if (remembered) {
      for (const auto *offer : group) {
        report.skipped.push_back({offer->package, offer->version, *remembered});
      }
      continue;
    }

    std::vector<Staged> staged;
    std::optional<Error> failure;
    const transport::PackageOffer *failed_offer = nullptr;
    for (std::size_t i = 0; i < group.size(); ++i) {
      const auto *offer = group[i];
      bool final = false;
      auto result = stage(kind, *offer, final);
      if (!result) {
        failure = result.error();
        failed_offer = offer;
        if (final) {
          // A store that cannot write only means the offer is tried again.
          (void)store_.remember_refused_offer({kind_name, offer->package, offer->version, digests[i], *failure});
        }
        break;
      }
      if (*result) {
        staged.push_back(std::move(**result));
      }
    }
    if (!failure && !staged.empty()) {
      // The downloads go before the commit, checkpoints first: a power cut after the
      // commit must not leave a download with a checkpoint that nothing will resume. A
      // failed commit downloads again at the next sync.
      for (const auto &item : staged) {
        for (const auto &sha256 : item.blobs) {
          drop_blob(sha256);
        }
      }
      if (auto committed = commit(kind, staged); !committed) {
        failure = committed.error();
      }
    }
    if (failure) {
      for (const auto &item : staged) {
        remove_tree(item.tree);
      }
      for (const auto *offer : group) {
        if (offer == failed_offer || failed_offer == nullptr) {
          refuse(report, offer->release, offer->package, offer->version, *failure);
        } else {
          refuse(report, offer->release, offer->package, offer->version,
                 make_error(failure->code,
                            "not installed: " + failed_offer->package + " of its group failed: " + failure->message));
        }
      }
      if (failure->code == ErrorCode::Cancelled) {
        return report;
      }
      continue;
    }
    for (auto &item : staged) {
      collect(kind, item.offer->package);
      (void)events_.installed({item.offer->release, item.offer->package, item.offer->version}, item.detail);
      InstalledPackage installed;
      installed.kind = kind;
      installed.release = item.offer->release;
      installed.package = item.offer->package;
      installed.version = item.offer->version;
      installed.detail = item.detail;
      installed.download_size = item.download_size;
      installed.directory = version_directory(kind, item.offer->package, item.offer->version);
      installed.manifest = std::move(item.manifest);
      report.installed.push_back(std::move(installed));
    }
  }
  return report;
}

std::string Pipeline::offer_digest(core::PackageKind kind, const transport::PackageOffer &offer) const {
  // Every field is length-prefixed, so no two different inputs read the same.
  std::string text;
  auto add = [&text](const std::string &field) {
    text += std::to_string(field.size());
    text += ':';
    text += field;
  };
  add(core::to_string(kind));
  add(offer.package);
  add(offer.version);
  add(offer.envelope);
  for (const auto &download : offer.downloads) {
    add(download.kind);
    add(download.base.value_or(""));
    add(download.url);
    add(download.sha256);
    add(std::to_string(download.size));
  }
  // The device's side of a verdict.
  add(settings_.device.app_id);
  add(settings_.device.app_version.to_string());
  for (const auto &[name, version] : settings_.device.sdk_versions) {
    add(name);
    add(version.to_string());
  }
  for (const auto &key : settings_.device.trusted_keys) {
    add(key.key_id());
  }
  add(std::to_string(settings_.max_download_bytes));
  add(std::to_string(settings_.max_window_log));
  return core::crypto::hex_encode(
      core::crypto::sha256(core::crypto::ByteView(reinterpret_cast<const std::uint8_t *>(text.data()), text.size())));
}

PipelineReport Pipeline::install_preset(const std::string &envelope, const std::filesystem::path &directory) {
  std::lock_guard<std::mutex> lock(mutex_);
  PipelineReport report;
  Expected expected;
  expected.kind = core::PackageKind::Offline;
  auto manifest = verify_package(envelope, settings_.device, expected);
  if (!manifest) {
    refuse(report, "", "", "", manifest.error());
    return report;
  }
  const std::string &package = manifest->package_id;
  const std::string &version = manifest->version;
  auto fail = [&](const Error &error) {
    refuse(report, "", package, version, error);
    return report;
  };
  auto floor = store_.floor("offline", package);
  auto versions = store_.installed_versions("offline", package);
  if (!floor) {
    return fail(floor.error());
  }
  if (!versions) {
    return fail(versions.error());
  }
  const auto parsed = core::Version::parse_dotted(version);
  auto below = [&](const std::optional<std::string> &other) {
    if (!other) {
      return false;
    }
    auto theirs = core::Version::parse_dotted(*other);
    return parsed && theirs && *parsed <= *theirs;
  };
  if (below(versions->current)) {
    // The device has this version or a newer one: nothing to do, and nothing to report at
    // every start after an update raised the floor above the preset.
    return report;
  }
  if (*floor && below(*floor) && **floor != version) {
    return fail(make_error(ErrorCode::VersionRollback,
                           "preset " + package + " " + version + " is below the highest accepted " + **floor));
  }
  if (auto made = io::make_directories(staging_directory()); !made) {
    return fail(made.error());
  }
  const auto tree = tree_path(core::PackageKind::Offline, package, version);
  remove_tree(tree);
  auto sink = StagingSink::create({}, tree);
  if (!sink) {
    return fail(sink.error());
  }
  Status copied = copy_verified(directory, *manifest, **sink);
  if (copied) {
    copied = (*sink)->sync_directories();
  }
  sink->reset();
  if (!copied) {
    remove_tree(tree);
    return fail(copied.error());
  }
  transport::PackageOffer offer;
  offer.package = package;
  offer.version = version;
  offer.envelope = envelope;
  std::vector<Staged> staged(1);
  staged[0].offer = &offer;
  staged[0].manifest = *manifest;
  staged[0].tree = tree;
  staged[0].detail = "preset";
  if (auto committed = commit(core::PackageKind::Offline, staged); !committed) {
    remove_tree(tree);
    return fail(committed.error());
  }
  collect(core::PackageKind::Offline, package);
  (void)events_.installed({"", package, version}, "preset");
  InstalledPackage installed;
  installed.kind = core::PackageKind::Offline;
  installed.package = package;
  installed.version = version;
  installed.detail = "preset";
  installed.directory = version_directory(core::PackageKind::Offline, package, version);
  installed.manifest = std::move(*manifest);
  report.installed.push_back(std::move(installed));
  return report;
}

PipelineReport Pipeline::recover() {
  std::lock_guard<std::mutex> lock(mutex_);
  PipelineReport report;
  // Staging: resumable downloads stay, everything else goes.
  std::error_code ec;
  std::map<std::string, bool> resumable; // checkpoint key -> part present
  if (auto saved = store_.checkpoints()) {
    for (const auto &checkpoint : *saved) {
      resumable[checkpoint.key] = false;
    }
  }
  std::vector<std::filesystem::path> doomed;
  for (const auto &entry : std::filesystem::directory_iterator(staging_directory(), ec)) {
    const std::string name = entry.path().filename().string();
    const std::string suffix = kPartSuffix;
    const bool is_part = name.size() == 64 + suffix.size() && name.compare(64, suffix.size(), suffix) == 0 &&
                         entry.is_regular_file(ec) && !entry.is_symlink(ec);
    auto found = is_part ? resumable.find(checkpoint_key(name.substr(0, 64))) : resumable.end();
    if (found != resumable.end()) {
      found->second = true;
    } else {
      doomed.push_back(entry.path());
    }
  }
  for (const auto &path : doomed) {
    remove_tree(path);
  }
  for (const auto &[key, present] : resumable) {
    if (!present) {
      (void)store_.clear_checkpoint(key);
    }
  }

  for (const auto kind : {core::PackageKind::Offline, core::PackageKind::Upgrade, core::PackageKind::Hotpatch}) {
    const auto root = settings_.state_directory / kind_directory(kind);
    std::vector<std::string> packages;
    for (const auto &entry : std::filesystem::directory_iterator(root, ec)) {
      packages.push_back(entry.path().filename().string());
    }
    for (const auto &package : packages) {
      collect(kind, package);
    }
    auto installed = store_.installed(core::to_string(kind));
    if (!installed) {
      refuse(report, "", "", "", installed.error());
      continue;
    }
    for (const auto &[package, version] : *installed) {
      auto manifest = installed_manifest(kind, package, version);
      Status verified =
          manifest ? verify_tree(version_directory(kind, package, version), *manifest) : Status(manifest.error());
      if (!verified) {
        refuse(report, "", package, version, verified.error());
      }
    }
  }
  return report;
}

} // namespace mds::packages
