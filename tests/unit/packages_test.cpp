// The device's package pipeline on local files (sdk/src/packages/): verify, choose,
// fetch, apply, commit, collect, recover. Each refusal is a SECURITY.md row; every
// negative case checks that the previous version still serves, exactly, and that a
// `failed` event with the specific code was queued.
#include "packages/pipeline.hpp"
#include "support/crypto_support.hpp"
#include "support/package_world.hpp"

#include <catch2/catch.hpp>

#include <functional>

using mds::ErrorCode;
using mds::core::Manifest;
using mds::core::PackageKind;
using mds::test::PackageWorld;
using mds::test::Tree;

namespace {

std::string pattern(std::size_t size, unsigned seed) {
  std::string out;
  out.reserve(size);
  unsigned state = seed * 2654435761u + 1;
  while (out.size() < size) {
    state = state * 1103515245u + 12345u;
    // Text-like: words from a small alphabet, so versions share content and compress.
    out += static_cast<char>('a' + (state >> 16) % 16);
    if ((state >> 8) % 7 == 0) {
      out += ' ';
    }
  }
  out.resize(size);
  return out;
}

// Version `n` of a small site: most content shared between versions.
Tree site(unsigned n) {
  Tree tree;
  tree["index.html"] = "<html>version " + std::to_string(n) + "</html>";
  tree["static/app.js"] = pattern(20000, 1) + "// build " + std::to_string(n);
  tree["static/lib.js"] = pattern(12000, 2);
  tree["img/logo.png"] = pattern(3000, 3 + (n % 2));
  return tree;
}

bool failed_event(PackageWorld &world, ErrorCode code, const std::string &version = "") {
  auto events = world.store().oldest_events(1000);
  REQUIRE(events);
  for (const auto &event : *events) {
    if (event.json.find("\"type\":\"failed\"") != std::string::npos &&
        event.json.find("\"code\":" + std::to_string(static_cast<unsigned>(code)) + ",") != std::string::npos &&
        (version.empty() || event.json.find("\"version\":\"" + version + "\"") != std::string::npos)) {
      return true;
    }
  }
  return false;
}

int failed_events(PackageWorld &world, const std::string &version) {
  auto events = world.store().oldest_events(1000);
  REQUIRE(events);
  int count = 0;
  for (const auto &event : *events) {
    count += event.json.find("\"type\":\"failed\"") != std::string::npos &&
             event.json.find("\"version\":\"" + version + "\"") != std::string::npos;
  }
  return count;
}

std::string installed_detail(PackageWorld &world, const std::string &version) {
  auto events = world.store().oldest_events(1000);
  REQUIRE(events);
  std::string detail;
  for (const auto &event : *events) {
    if (event.json.find("\"type\":\"installed\"") != std::string::npos &&
        event.json.find("\"version\":\"" + version + "\"") != std::string::npos) {
      const auto at = event.json.find("\"detail\":\"");
      detail = event.json.substr(at + 10, event.json.find('"', at + 10) - at - 10);
    }
  }
  return detail;
}

// `version` is current and its tree is exactly `tree`.
void check_serving(PackageWorld &world, const std::string &package, const std::string &version, const Tree &tree) {
  CHECK(world.current(package) == version);
  CHECK(world.tree_of(package, version) == tree);
  auto manifest = world.pipeline().installed_manifest(PackageKind::Offline, package, version);
  REQUIRE(manifest);
  CHECK(mds::packages::verify_tree(world.directory(package, version), *manifest));
}

// Staging holds no tree and no file outside its resumable downloads.
void check_no_trees_in_staging(PackageWorld &world) {
  std::error_code ec;
  for (const auto &entry : std::filesystem::directory_iterator(world.pipeline().staging_directory(), ec)) {
    INFO(entry.path());
    CHECK(entry.path().extension() == ".part");
  }
}

// A full download of `fake` whose header claims the signed `manifest`: what a server
// that lies about content would send (the blob hash the offer names is the lie's own).
std::string lying_full(const Manifest &manifest, const Tree &fake) {
  const auto fake_manifest = mds::test::manifest_of(fake, manifest.package_id, manifest.version);
  std::string blob = PackageWorld::encode(Manifest{}, {}, fake_manifest, fake);
  const auto digest = mds::core::delta::manifest_digest(manifest);
  const std::size_t target_digest_at = 11 + 14 + 32; // codec "zstd-prefix-v1", base digest
  std::copy(digest.begin(), digest.end(), blob.begin() + static_cast<std::ptrdiff_t>(target_digest_at));
  return blob;
}

mds::transport::PackageOffer offer_with_full(PackageWorld &world, const Manifest &manifest, const std::string &blob) {
  mds::transport::PackageOffer offer;
  offer.release = "r9";
  offer.package = manifest.package_id;
  offer.version = manifest.version;
  offer.envelope = world.sign(manifest);
  offer.downloads.push_back(world.put_blob(blob, "full"));
  return offer;
}

} // namespace

TEST_CASE("Packages: first install is full, an update by delta, old versions collected", "[packages]") {
  PackageWorld world;
  auto report = world.install(world.offer("h5", "1.0.0", site(1)));
  REQUIRE(report.failed.empty());
  REQUIRE(report.installed.size() == 1);
  CHECK(report.installed[0].detail == "full");
  check_serving(world, "h5", "1.0.0", site(1));

  report = world.install(world.offer("h5", "1.1.0", site(2), {{"1.0.0", site(1)}}));
  REQUIRE(report.installed.size() == 1);
  CHECK(report.installed[0].detail == "delta");
  CHECK(installed_detail(world, "1.1.0") == "delta");
  check_serving(world, "h5", "1.1.0", site(2));
  CHECK(std::filesystem::exists(world.directory("h5", "1.0.0"))); // the previous one is kept

  // Skipping versions: 1.1.0 -> 3.0.0; the delta offered from another base is not used.
  report = world.install(world.offer("h5", "3.0.0", site(3), {{"2.0.0", site(2)}}));
  REQUIRE(report.installed.size() == 1);
  CHECK(report.installed[0].detail == "full");
  check_serving(world, "h5", "3.0.0", site(3));
  CHECK(std::filesystem::exists(world.directory("h5", "1.1.0")));
  CHECK_FALSE(std::filesystem::exists(world.directory("h5", "1.0.0")));
  auto versions = world.store().installed_versions("offline", "h5");
  REQUIRE(versions);
  CHECK(versions->previous == "1.1.0");
  check_no_trees_in_staging(world);
  // Downloads are dropped once committed.
  CHECK(std::filesystem::is_empty(world.pipeline().staging_directory()));

  // The same version again does nothing.
  const int fetches = world.fetches;
  report = world.install(world.offer("h5", "3.0.0", site(3)));
  CHECK(report.installed.empty());
  CHECK(report.failed.empty());
  CHECK(world.fetches == fetches);
}

TEST_CASE("Packages: a manifest for another app, kind, package or version is refused (SECURITY #1, #2)",
          "[packages][security]") {
  struct Case {
    const char *name;
    ErrorCode code;
    std::function<void(Manifest &)> change;
    bool untrusted_signer = false;
  };
  const std::vector<Case> cases = {
      {"another app", ErrorCode::ManifestAppMismatch, [](Manifest &m) { m.app = "other"; }},
      {"another kind", ErrorCode::ManifestKindMismatch, [](Manifest &m) { m.kind = PackageKind::Hotpatch; }},
      {"another package", ErrorCode::ManifestPackageMismatch, [](Manifest &m) { m.package_id = "other"; }},
      {"another version", ErrorCode::ManifestVersionMismatch, [](Manifest &m) { m.version = "2.0.1"; }},
      {"an app version it does not fit", ErrorCode::AppVersionUnsupported,
       [](Manifest &m) { m.requirements.app_version = ">=11.0.0"; }},
      {"an SDK it does not fit", ErrorCode::SdkVersionUnsupported,
       [](Manifest &m) { m.requirements.sdk_versions["mds"] = ">=1.0.0"; }},
      {"an SDK the app lacks", ErrorCode::SdkVersionUnsupported,
       [](Manifest &m) { m.requirements.sdk_versions["pay"] = ">=1.0.0"; }},
      {"an untrusted signer", ErrorCode::SignatureUntrustedKey, [](Manifest &) {}, true},
  };
  for (const auto &c : cases) {
    INFO(c.name);
    PackageWorld world;
    REQUIRE(world.install(world.offer("h5", "1.0.0", site(1))).failed.empty());
    auto manifest = mds::test::manifest_of(site(2), "h5", "2.0.0");
    c.change(manifest);
    auto offer = offer_with_full(world, manifest, PackageWorld::encode(Manifest{}, {}, manifest, site(2)));
    offer.package = "h5";
    offer.version = "2.0.0";
    if (c.untrusted_signer) {
      auto other = mds::core::crypto::PrivateKey::generate();
      REQUIRE(other);
      offer.envelope = world.sign(manifest, &*other);
    }
    auto report = world.install(offer);
    CHECK(report.installed.empty());
    REQUIRE(report.failed.size() == 1);
    CHECK(report.failed[0].error.code == c.code);
    CHECK(world.fetches == 1); // nothing downloaded for a refused manifest
    check_serving(world, "h5", "1.0.0", site(1));
    CHECK(failed_event(world, c.code, "2.0.0"));
  }
}

TEST_CASE("Packages: a file swapped, flipped, truncated or extended is refused (SECURITY #3)", "[packages][security]") {
  struct Case {
    const char *name;
    ErrorCode code;
    std::function<void(Tree &)> spoil;
  };
  const std::vector<Case> cases = {
      {"swapped", ErrorCode::FileHashMismatch, [](Tree &t) { std::swap(t["static/app.js"], t["static/lib.js"]); }},
      {"flipped", ErrorCode::FileHashMismatch, [](Tree &t) { t["static/lib.js"][100] ^= 1; }},
      {"truncated", ErrorCode::FileSizeMismatch, [](Tree &t) { t["static/lib.js"].pop_back(); }},
      {"extended", ErrorCode::DecompressionBomb, [](Tree &t) { t["static/lib.js"] += "x"; }},
  };
  for (const auto &c : cases) {
    INFO(c.name);
    PackageWorld world;
    REQUIRE(world.install(world.offer("h5", "1.0.0", site(1))).failed.empty());
    Tree real = site(2);
    real["static/lib.js"] = pattern(real["static/app.js"].size(), 9); // a swap keeps sizes
    Tree fake = real;
    c.spoil(fake);
    const auto manifest = mds::test::manifest_of(real, "h5", "2.0.0");
    auto report = world.install(offer_with_full(world, manifest, lying_full(manifest, fake)));
    REQUIRE(report.failed.size() == 1);
    CHECK(report.failed[0].error.code == c.code);
    check_serving(world, "h5", "1.0.0", site(1));
    CHECK(failed_event(world, c.code, "2.0.0"));
    check_no_trees_in_staging(world);
  }
  SECTION("a blob other than the one offered") {
    PackageWorld world;
    REQUIRE(world.install(world.offer("h5", "1.0.0", site(1))).failed.empty());
    auto offer = world.offer("h5", "2.0.0", site(2));
    mds::test::write_bytes(world.blobs() / offer.downloads[0].sha256, "not the blob");
    auto report = world.install(offer);
    REQUIRE(report.failed.size() == 1);
    CHECK(report.failed[0].error.code == ErrorCode::FileSizeMismatch);
    check_serving(world, "h5", "1.0.0", site(1));
    CHECK(failed_event(world, ErrorCode::FileSizeMismatch, "2.0.0"));
  }
}

TEST_CASE("Packages: an older version is refused, also after a restart (SECURITY #4)", "[packages][security]") {
  PackageWorld world;
  REQUIRE(world.install(world.offer("h5", "5.0.0", site(5))).failed.empty());
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    // Another offer each round: the same one would be skipped as refused for good.
    const auto older = world.offer("h5", "4.0.0", site(4 + 2 * static_cast<unsigned>(round)));
    auto report = world.install(older);
    REQUIRE(report.failed.size() == 1);
    CHECK(report.failed[0].error.code == ErrorCode::VersionRollback);
    check_serving(world, "h5", "5.0.0", site(5));
    CHECK(failed_event(world, ErrorCode::VersionRollback, "4.0.0"));
    world.reopen();
  }
  // A preset below the floor is never installed. While a newer version serves, it is
  // only older than what the device has: nothing to do, and nothing to report at every
  // start of an app that still ships it.
  const auto dir = world.state().parent_path() / "preset";
  for (const auto &[path, bytes] : site(4)) {
    mds::test::write_bytes(dir / path, bytes);
  }
  const auto preset = world.sign(mds::test::manifest_of(site(4), "h5", "4.0.0"));
  auto report = world.pipeline().install_preset(preset, dir);
  CHECK(report.failed.empty());
  CHECK(report.installed.empty());
  check_serving(world, "h5", "5.0.0", site(5));
  // With the database lost, nothing is installed, but the floor (kept beside it) stands:
  // the preset is refused.
  for (const char *name : {"mds.db", "mds.db-wal", "mds.db-shm"}) {
    std::filesystem::remove(world.state() / name);
  }
  world.reopen();
  report = world.pipeline().install_preset(preset, dir);
  REQUIRE(report.failed.size() == 1);
  CHECK(report.failed[0].error.code == ErrorCode::VersionRollback);
  CHECK(report.installed.empty());
}

TEST_CASE("Packages: unreferenced artifacts are never written (SECURITY #11)", "[packages][security]") {
  PackageWorld world;
  REQUIRE(world.install(world.offer("h5", "1.0.0", site(1))).failed.empty());
  // A delta that carries one more file than the signed manifest lists.
  Tree fake = site(2);
  fake["extra.js"] = "alert('not signed')";
  const auto manifest = mds::test::manifest_of(site(2), "h5", "2.0.0");
  auto report = world.install(offer_with_full(world, manifest, lying_full(manifest, fake)));
  REQUIRE(report.failed.size() == 1);
  CHECK(report.failed[0].error.code == ErrorCode::DeltaInvalid);
  check_serving(world, "h5", "1.0.0", site(1));
  CHECK(failed_event(world, ErrorCode::DeltaInvalid, "2.0.0"));
  for (const auto &entry : std::filesystem::recursive_directory_iterator(world.state())) {
    CHECK(entry.path().filename() != "extra.js");
  }
  // A preset directory with a file its manifest does not list: the file stays behind.
  const auto dir = world.state().parent_path() / "preset";
  for (const auto &[path, bytes] : site(7)) {
    mds::test::write_bytes(dir / path, bytes);
  }
  mds::test::write_bytes(dir / "extra.js", "alert('not signed')");
  report = world.pipeline().install_preset(world.sign(mds::test::manifest_of(site(7), "h5", "7.0.0")), dir);
  REQUIRE(report.installed.size() == 1);
  CHECK(report.installed[0].detail == "preset");
  check_serving(world, "h5", "7.0.0", site(7));
}

TEST_CASE("Packages: a decompression bomb stops at the declared size (SECURITY #14)", "[packages][security]") {
  PackageWorld world;
  REQUIRE(world.install(world.offer("h5", "1.0.0", site(1))).failed.empty());
  Tree real = {{"bomb.bin", std::string(33 * 1024, 'a')}};
  Tree fake = {{"bomb.bin", std::string(64u << 20, 'a')}};
  const auto manifest = mds::test::manifest_of(real, "h5", "2.0.0");
  const auto blob = lying_full(manifest, fake);
  INFO("bomb of " << blob.size() << " bytes");
  CHECK(blob.size() < 64 * 1024);
  auto report = world.install(offer_with_full(world, manifest, blob));
  REQUIRE(report.failed.size() == 1);
  CHECK(report.failed[0].error.code == ErrorCode::DecompressionBomb);
  check_serving(world, "h5", "1.0.0", site(1));
  CHECK(failed_event(world, ErrorCode::DecompressionBomb, "2.0.0"));
  check_no_trees_in_staging(world);
}

TEST_CASE("Packages: paths from the manifest only, no link followed (SECURITY #15)", "[packages][security]") {
  PackageWorld world;
  REQUIRE(world.install(world.offer("h5", "1.0.0", site(1))).failed.empty());
  const auto canary = world.state().parent_path() / "canary";
  mds::test::write_bytes(canary / "keep.txt", "canary");

  SECTION("a signed manifest with a traversal path") {
    const std::string long_name(4096, 'a');
    for (const std::string &path :
         {std::string("../x"), std::string("/abs"), std::string("a/../../x"), std::string("a\\\\..\\\\x"),
          std::string(""), std::string("a/b/../../../x"), std::string("caf\\u00e9.js"), std::string("a\\u0000b"),
          long_name, std::string("%2e%2e/x"), std::string("con.js")}) {
      INFO(path);
      const std::string payload =
          std::string(R"({"schema":1,"app":"demo","kind":"offline","package":"h5","version":"2.0.0",)") +
          R"("created":"2026-11-22T10:00:00Z","files":[{"path":")" + path +
          R"(","size":1,"sha256":"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"}]})";
      mds::transport::PackageOffer offer;
      offer.release = "r9";
      offer.package = "h5";
      offer.version = "2.0.0";
      offer.envelope = world.sign_text(payload);
      offer.downloads.push_back(world.put_blob("x", "full"));
      auto report = world.install(offer);
      REQUIRE(report.failed.size() == 1);
      CHECK(report.failed[0].error.code == ErrorCode::PathUnsafe);
      CHECK(failed_event(world, ErrorCode::PathUnsafe, "2.0.0"));
      check_serving(world, "h5", "1.0.0", site(1));
    }
  }
  SECTION("a link planted in the installed base is not followed; the full download is used") {
    const auto base_file = world.directory("h5", "1.0.0") / "static/lib.js";
    std::filesystem::remove(base_file);
    std::filesystem::create_symlink(canary / "keep.txt", base_file);
    auto report = world.install(world.offer("h5", "2.0.0", site(2), {{"1.0.0", site(1)}}));
    REQUIRE(report.installed.size() == 1);
    CHECK(report.installed[0].detail == "full");
    check_serving(world, "h5", "2.0.0", site(2));
  }
  SECTION("a link planted where the staging tree goes is replaced, not followed") {
    std::filesystem::create_directories(world.pipeline().staging_directory());
    std::filesystem::create_directory_symlink(canary, world.pipeline().staging_directory() / "offline-h5-2.0.0.tree");
    auto report = world.install(world.offer("h5", "2.0.0", site(2)));
    REQUIRE(report.installed.size() == 1);
    check_serving(world, "h5", "2.0.0", site(2));
  }
  CHECK(mds::test::read_bytes(canary / "keep.txt") == "canary");
  CHECK(std::distance(std::filesystem::directory_iterator(canary), std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("Packages: a corrupt delta or a tampered base falls back to the full download (SECURITY #17)",
          "[packages][security]") {
  struct Case {
    const char *name;
    std::function<void(PackageWorld &, mds::transport::PackageOffer &)> spoil;
  };
  const std::vector<Case> cases = {
      {"garbled base",
       [](PackageWorld &w, mds::transport::PackageOffer &) {
         auto path = w.directory("h5", "1.0.0") / "static/app.js";
         auto bytes = mds::test::read_bytes(path);
         bytes[10] ^= 0x20;
         mds::test::write_bytes(path, bytes);
       }},
      {"wrong-base delta",
       [](PackageWorld &w, mds::transport::PackageOffer &offer) {
         const auto other = site(9);
         const auto target = mds::test::manifest_of(site(2), "h5", "2.0.0");
         offer.downloads[0] =
             w.put_blob(PackageWorld::encode(mds::test::manifest_of(other, "h5", "0.9.0"), other, target, site(2)),
                        "delta", "1.0.0");
       }},
      {"truncated delta",
       [](PackageWorld &w, mds::transport::PackageOffer &offer) {
         auto bytes = mds::test::read_bytes(w.blobs() / offer.downloads[0].sha256);
         bytes.resize(bytes.size() - 7);
         offer.downloads[0] = w.put_blob(bytes, "delta", "1.0.0");
       }},
      {"garbled delta",
       [](PackageWorld &w, mds::transport::PackageOffer &offer) {
         auto bytes = mds::test::read_bytes(w.blobs() / offer.downloads[0].sha256);
         for (std::size_t i = 120; i < bytes.size(); i += 17) {
           bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
         }
         offer.downloads[0] = w.put_blob(bytes, "delta", "1.0.0");
       }},
      {"window above the device's cap",
       [](PackageWorld &w, mds::transport::PackageOffer &offer) {
         auto bytes = mds::test::read_bytes(w.blobs() / offer.downloads[0].sha256);
         bytes[11 + 14 + 64] = 30; // the header's window log
         offer.downloads[0] = w.put_blob(bytes, "delta", "1.0.0");
       }},
      {"delta blob other than offered",
       [](PackageWorld &w, mds::transport::PackageOffer &offer) {
         mds::test::write_bytes(w.blobs() / offer.downloads[0].sha256, "garbage");
       }},
  };
  for (const auto &c : cases) {
    INFO(c.name);
    PackageWorld world;
    REQUIRE(world.install(world.offer("h5", "1.0.0", site(1))).failed.empty());
    auto offer = world.offer("h5", "2.0.0", site(2), {{"1.0.0", site(1)}});
    REQUIRE(offer.downloads[0].kind == "delta");
    c.spoil(world, offer);
    auto report = world.install(offer);
    REQUIRE(report.failed.empty());
    REQUIRE(report.installed.size() == 1);
    CHECK(report.installed[0].detail == "full");
    CHECK(installed_detail(world, "2.0.0") == "full");
    check_serving(world, "h5", "2.0.0", site(2));
    check_no_trees_in_staging(world);
  }
}

TEST_CASE("Packages: a group installs all or nothing (SECURITY #10)", "[packages][security]") {
  PackageWorld world;
  REQUIRE(world.install(world.offer("a", "1.0.0", site(1))).failed.empty());
  REQUIRE(world.install(world.offer("b", "1.0.0", site(1))).failed.empty());
  auto a = world.offer("a", "2.0.0", site(2), {{"1.0.0", site(1)}});
  auto b = world.offer("b", "2.0.0", site(3));
  a.group = b.group = "r9";
  auto broken_b = b;
  broken_b.downloads[0].sha256 = std::string(64, '0');
  broken_b.downloads[0].url = "/v1/blobs/" + std::string(64, '0');
  auto report = world.pipeline().install(PackageKind::Offline, {a, broken_b});
  CHECK(report.installed.empty());
  REQUIRE(report.failed.size() == 2);
  check_serving(world, "a", "1.0.0", site(1));
  check_serving(world, "b", "1.0.0", site(1));
  CHECK(failed_event(world, ErrorCode::HttpStatus, "2.0.0"));
  check_no_trees_in_staging(world);

  report = world.pipeline().install(PackageKind::Offline, {a, b});
  CHECK(report.failed.empty());
  REQUIRE(report.installed.size() == 2);
  check_serving(world, "a", "2.0.0", site(2));
  check_serving(world, "b", "2.0.0", site(3));
}

TEST_CASE("Packages: an interrupted download resumes from its checkpoint after a restart", "[packages]") {
  PackageWorld world;
  auto offer = world.offer("h5", "1.0.0", site(1));
  world.stop_after = 1000;
  auto report = world.install(offer);
  REQUIRE(report.failed.size() == 1);
  CHECK(report.failed[0].error.code == ErrorCode::NetworkInterrupted);
  CHECK_FALSE(world.current("h5"));
  world.reopen();
  auto recovered = world.pipeline().recover();
  CHECK(recovered.failed.empty());
  const auto part = world.pipeline().staging_directory() / (offer.downloads[0].sha256 + ".part");
  CHECK(std::filesystem::file_size(part) == 1000);
  report = world.install(offer);
  REQUIRE(report.installed.size() == 1);
  CHECK(world.last_resumed_from == 1000);
  check_serving(world, "h5", "1.0.0", site(1));
}

TEST_CASE("Packages: recovery clears staging and reports a current tree that fails verification",
          "[packages][recovery]") {
  PackageWorld world;
  REQUIRE(world.install(world.offer("h5", "1.0.0", site(1))).failed.empty());
  const auto staging = world.pipeline().staging_directory();
  std::filesystem::create_directories(staging / "offline-h5-2.0.0.tree/static");
  mds::test::write_bytes(staging / "offline-h5-2.0.0.tree/static/app.js", "half");
  mds::test::write_bytes(staging / (std::string(64, 'a') + ".part"), "no checkpoint");
  mds::test::write_bytes(staging / "stray", "x");
  // A version renamed into place whose commit never happened.
  std::filesystem::create_directories(world.directory("h5", "2.0.0"));
  world.reopen();
  auto report = world.pipeline().recover();
  CHECK(report.failed.empty());
  CHECK(std::filesystem::is_empty(staging));
  CHECK_FALSE(std::filesystem::exists(world.directory("h5", "2.0.0")));
  check_serving(world, "h5", "1.0.0", site(1));

  mds::test::write_bytes(world.directory("h5", "1.0.0") / "index.html", "<html>version 9</html>");
  report = world.pipeline().recover();
  REQUIRE(report.failed.size() == 1);
  CHECK(report.failed[0].error.code == ErrorCode::FileHashMismatch);
  CHECK(failed_event(world, ErrorCode::FileHashMismatch, "1.0.0"));
}

TEST_CASE("Packages: downloads above the cap are refused before any byte", "[packages]") {
  PackageWorld world;
  world.settings.max_download_bytes = 100;
  world.reopen();
  auto report = world.install(world.offer("h5", "1.0.0", site(1)));
  REQUIRE(report.failed.size() == 1);
  CHECK(report.failed[0].error.code == ErrorCode::PackageTooLarge);
  CHECK(world.fetches == 0);
  CHECK(failed_event(world, ErrorCode::PackageTooLarge, "1.0.0"));
}

TEST_CASE("Packages: a preset is verified, installed, and a delta base", "[packages]") {
  PackageWorld world;
  const auto dir = world.state().parent_path() / "preset";
  for (const auto &[path, bytes] : site(1)) {
    mds::test::write_bytes(dir / path, bytes);
  }
  const auto envelope = world.sign(mds::test::manifest_of(site(1), "h5", "1.0.0"));
  SECTION("a flipped byte refuses it") {
    mds::test::write_bytes(dir / "index.html", "<html>version 2</html>");
    auto report = world.pipeline().install_preset(envelope, dir);
    REQUIRE(report.failed.size() == 1);
    CHECK(report.failed[0].error.code == ErrorCode::FileHashMismatch);
    CHECK_FALSE(world.current("h5"));
    CHECK(failed_event(world, ErrorCode::FileHashMismatch, "1.0.0"));
  }
  SECTION("installed once, then a delta base") {
    auto report = world.pipeline().install_preset(envelope, dir);
    REQUIRE(report.installed.size() == 1);
    check_serving(world, "h5", "1.0.0", site(1));
    report = world.pipeline().install_preset(envelope, dir);
    CHECK(report.installed.empty()); // already there
    CHECK(report.failed.empty());
    report = world.install(world.offer("h5", "1.1.0", site(2), {{"1.0.0", site(1)}}));
    REQUIRE(report.installed.size() == 1);
    CHECK(report.installed[0].detail == "delta");
    check_serving(world, "h5", "1.1.0", site(2));
  }
}

TEST_CASE("Packages: an upgrade is a single-file package", "[packages]") {
  PackageWorld world;
  const Tree apk = {{"app.apk", pattern(50000, 4)}};
  auto report = world.install(world.offer("app", "10.3.0", apk, {}, PackageKind::Upgrade), PackageKind::Upgrade);
  REQUIRE(report.installed.size() == 1);
  const auto file = report.installed[0].directory / "app.apk";
  CHECK(mds::test::read_bytes(file) == apk.at("app.apk"));
  CHECK(report.installed[0].directory.parent_path().parent_path().filename() == "upgrades");

  const Tree two = {{"a.apk", "a"}, {"b.apk", "b"}};
  report = world.install(world.offer("app", "10.4.0", two, {}, PackageKind::Upgrade), PackageKind::Upgrade);
  REQUIRE(report.failed.size() == 1);
  CHECK(report.failed[0].error.code == ErrorCode::ManifestInvalid);
  CHECK(world.current("app", PackageKind::Upgrade) == "10.3.0");
}

TEST_CASE("Packages: an offer refused for good is neither fetched nor reported again", "[packages][security]") {
  struct Case {
    const char *name;
    ErrorCode code;
    int fetches; // by the refusal
    std::function<mds::transport::PackageOffer(PackageWorld &)> offer;
  };
  const std::vector<Case> cases = {
      {"an untrusted signer", ErrorCode::SignatureUntrustedKey, 0,
       [](PackageWorld &w) {
         auto offer = w.offer("h5", "2.0.0", site(2));
         auto other = mds::core::crypto::PrivateKey::generate();
         REQUIRE(other);
         offer.envelope = w.sign(mds::test::manifest_of(site(2), "h5", "2.0.0"), &*other);
         return offer;
       }},
      {"a file that differs from the manifest in a blob that is the offered one", ErrorCode::FileHashMismatch, 1,
       [](PackageWorld &w) {
         Tree fake = site(2);
         fake["static/lib.js"][100] ^= 1;
         const auto manifest = mds::test::manifest_of(site(2), "h5", "2.0.0");
         return offer_with_full(w, manifest, lying_full(manifest, fake));
       }},
  };
  for (const auto &c : cases) {
    INFO(c.name);
    PackageWorld world;
    REQUIRE(world.install(world.offer("h5", "1.0.0", site(1))).failed.empty());
    const auto offer = c.offer(world);
    const int fetches = world.fetches;
    auto report = world.install(offer);
    REQUIRE(report.failed.size() == 1);
    CHECK(report.failed[0].error.code == c.code);
    CHECK(world.fetches == fetches + c.fetches);
    CHECK(failed_events(world, "2.0.0") == 1);
    for (int round = 0; round < 2; ++round) { // the second after a restart
      INFO("round " << round);
      report = world.install(offer);
      CHECK(report.failed.empty());
      CHECK(report.installed.empty());
      REQUIRE(report.skipped.size() == 1);
      CHECK(report.skipped[0].error.code == c.code);
      CHECK(world.fetches == fetches + c.fetches);
      CHECK(failed_events(world, "2.0.0") == 1);
      check_serving(world, "h5", "1.0.0", site(1));
      check_no_trees_in_staging(world);
      world.reopen();
    }
    // The same version offered otherwise (here: signed anew, so another envelope and blob)
    // is a new offer.
    auto manifest = mds::test::manifest_of(site(2), "h5", "2.0.0");
    manifest.created = "2026-11-23T10:00:00Z";
    report = world.install(offer_with_full(world, manifest, PackageWorld::encode(Manifest{}, {}, manifest, site(2))));
    REQUIRE(report.installed.size() == 1);
    check_serving(world, "h5", "2.0.0", site(2));
  }

  SECTION("a group with a refused offer is left alone; its other offer alone installs") {
    PackageWorld world;
    auto a = world.offer("a", "1.0.0", site(1));
    auto b = world.offer("b", "1.0.0", site(2));
    auto other = mds::core::crypto::PrivateKey::generate();
    REQUIRE(other);
    b.envelope = world.sign(mds::test::manifest_of(site(2), "b", "1.0.0"), &*other);
    a.group = b.group = "r9";
    auto report = world.pipeline().install(PackageKind::Offline, {a, b});
    CHECK(report.failed.size() == 2);
    const int fetches = world.fetches;
    report = world.pipeline().install(PackageKind::Offline, {a, b});
    CHECK(report.failed.empty());
    CHECK(report.skipped.size() == 2);
    CHECK(world.fetches == fetches);
    CHECK(failed_events(world, "1.0.0") == 2);
    a.group.reset();
    report = world.install(a);
    REQUIRE(report.installed.size() == 1);
  }
}

TEST_CASE("Packages: failures retrying may change are tried again", "[packages]") {
  SECTION("a blob the server does not have yet") {
    PackageWorld world;
    REQUIRE(world.install(world.offer("h5", "1.0.0", site(1))).failed.empty());
    const auto offer = world.offer("h5", "2.0.0", site(2));
    const auto blob = world.blobs() / offer.downloads[0].sha256;
    const auto bytes = mds::test::read_bytes(blob);
    std::filesystem::remove(blob);
    for (int round = 1; round <= 2; ++round) {
      auto report = world.install(offer);
      REQUIRE(report.failed.size() == 1);
      CHECK(report.failed[0].error.code == ErrorCode::HttpStatus);
      CHECK(failed_events(world, "2.0.0") == round);
    }
    CHECK(world.fetches == 3);
    mds::test::write_bytes(blob, bytes);
    REQUIRE(world.install(offer).installed.size() == 1);
    check_serving(world, "h5", "2.0.0", site(2));
  }
  SECTION("a whole blob, in one answer, other than the offered one (a captive portal, a proxy)") {
    PackageWorld world;
    REQUIRE(world.install(world.offer("h5", "1.0.0", site(1))).failed.empty());
    const auto offer = world.offer("h5", "2.0.0", site(2));
    const auto blob = world.blobs() / offer.downloads[0].sha256;
    const auto bytes = mds::test::read_bytes(blob);
    auto other = bytes;
    other[other.size() / 2] ^= 1;
    mds::test::write_bytes(blob, other);
    const int fetches = world.fetches;
    for (int round = 1; round <= 2; ++round) {
      auto report = world.install(offer);
      REQUIRE(report.failed.size() == 1);
      CHECK(report.failed[0].error.code == ErrorCode::FileHashMismatch);
      CHECK(report.skipped.empty());
      CHECK(world.fetches == fetches + round);
      CHECK(failed_events(world, "2.0.0") == round);
      check_serving(world, "h5", "1.0.0", site(1));
      check_no_trees_in_staging(world);
    }
    mds::test::write_bytes(blob, bytes);
    REQUIRE(world.install(offer).installed.size() == 1);
    check_serving(world, "h5", "2.0.0", site(2));
  }
  SECTION("a resumed download that hashes wrong") {
    PackageWorld world;
    REQUIRE(world.install(world.offer("h5", "1.0.0", site(1))).failed.empty());
    const auto offer = world.offer("h5", "2.0.0", site(2));
    const auto &full = offer.downloads[0];
    // A part left by an earlier answer whose bytes were not the blob's.
    std::filesystem::create_directories(world.pipeline().staging_directory());
    mds::test::write_bytes(world.pipeline().staging_directory() / (full.sha256 + ".part"), std::string(1000, 'x'));
    REQUIRE(world.store().save_checkpoint(
        {"blob/" + full.sha256, full.url, "\"" + full.sha256 + "\"", full.size, full.sha256}));
    auto report = world.install(offer);
    REQUIRE(report.failed.size() == 1);
    CHECK(report.failed[0].error.code == ErrorCode::FileHashMismatch);
    CHECK(world.last_resumed_from == 1000);
    check_serving(world, "h5", "1.0.0", site(1));
    report = world.install(offer);
    REQUIRE(report.installed.size() == 1);
    CHECK(world.last_resumed_from == 0);
    check_serving(world, "h5", "2.0.0", site(2));
  }
}
