// Offline packages end to end: published through the admin API of the real
// mds-server, installed by the real SDK through its command-line host app
// (mds-client): full first, then by delta, skipping versions, from a preset,
// two packages of one release together, and a download cut by the server's
// death resumed with Range after its restart.
#include "fixture.hpp"

// Built only where the samples are (mds-client is the SDK under test).
#ifdef MDS_CLIENT_BINARY

#include "core/crypto/dsse.hpp"
#include "core/crypto/encoding.hpp"
#include "core/crypto/sha256.hpp"
#include "core/manifest/manifest.hpp"
#include "support/files.hpp"

#include <signal.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

using namespace mds::test;

namespace {

using Tree = std::map<std::string, std::string>;

std::string sha256_hex(const std::string &bytes) {
  return mds::core::crypto::hex_encode(mds::core::crypto::sha256(
      mds::core::crypto::ByteView(reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size())));
}

std::string text(std::size_t size, unsigned seed) {
  std::string out;
  unsigned state = seed * 2654435761u + 7;
  while (out.size() < size) {
    state = state * 1103515245u + 12345u;
    out += static_cast<char>('a' + (state >> 16) % 20);
  }
  return out;
}

// Version n of a site: a large shared library, an app file that changes a
// little.
Tree site(unsigned n) {
  return {{"index.html", "<html>" + std::to_string(n) + "</html>"},
          {"static/lib.js", text(200000, 1)},
          {"static/app.js", text(60000, 2) + "// build " + std::to_string(n)}};
}

const std::filesystem::path kKeys = MDS_TEST_KEYS_DIR;

// The publisher: the key whose public half the app and the devices trust.
class Publisher {
public:
  explicit Publisher(HttpClient &client) : client_(client) {
    auto key = mds::core::crypto::PrivateKey::from_pem(read_text(kKeys / "p256-pkcs8.pem"));
    REQUIRE(key);
    key_ = std::make_unique<mds::core::crypto::PrivateKey>(std::move(*key));
    auto trusted = mds::core::crypto::PublicKey::from_pem(read_text(kKeys / "p256-public.pem"));
    REQUIRE(trusted);
    REQUIRE(trusted->key_id() == key_->key_id());
    const auto created = client_.admin("POST", "/v1/admin/apps",
                                       R"({"name":"demo","platform":"android","publisher_keys":[)" +
                                           json_string(read_text(kKeys / "p256-public.pem")) + "]}");
    REQUIRE(created.status == 201);
  }

  std::string envelope(const Tree &tree, const std::string &package, const std::string &version,
                       mds::core::PackageKind kind = mds::core::PackageKind::Offline) const {
    mds::core::Manifest manifest;
    manifest.app = "demo";
    manifest.kind = kind;
    manifest.package_id = package;
    manifest.version = version;
    manifest.created = "2026-11-22T10:00:00Z";
    for (const auto &[path, bytes] : tree) {
      manifest.files.push_back({path, bytes.size(), sha256_hex(bytes)});
    }
    const std::string payload = mds::core::encode(manifest);
    auto signed_envelope = mds::core::crypto::sign_envelope(
        mds::core::kManifestPayloadType,
        mds::core::crypto::ByteView(reinterpret_cast<const std::uint8_t *>(payload.data()), payload.size()), *key_);
    REQUIRE(signed_envelope);
    auto text_envelope = mds::core::crypto::encode_envelope(*signed_envelope);
    REQUIRE(text_envelope);
    return *text_envelope;
  }

  // Uploads the files and the envelope; the package object the server answers.
  mds::core::json::Document publish(const Tree &tree, const std::string &package, const std::string &version,
                                    const std::filesystem::path &scratch,
                                    mds::core::PackageKind kind = mds::core::PackageKind::Offline) {
    for (const auto &[path, bytes] : tree) {
      const auto file = scratch / sha256_hex(bytes);
      write_text(file, bytes);
      const auto uploaded = client_.admin_upload("/v1/admin/blobs/" + sha256_hex(bytes), file);
      INFO(uploaded.body);
      REQUIRE((uploaded.status == 201 || uploaded.status == 200));
    }
    const auto published = client_.admin("POST", "/v1/admin/apps/demo/packages",
                                         R"({"envelope":)" + json_string(envelope(tree, package, version, kind)) + "}");
    INFO(published.body);
    REQUIRE(published.status == 201);
    return parse_json(published);
  }

  // A release at stage full of these packages; its id.
  std::string release(const std::vector<std::pair<std::string, std::string>> &packages) {
    std::string body = R"({"app":"demo","stage":"full",)";
    auto object = [](const std::pair<std::string, std::string> &p) {
      return R"({"id":)" + json_string(p.first) + R"(,"version":)" + json_string(p.second) + "}";
    };
    if (packages.size() == 1) {
      body += R"("package":)" + object(packages[0]) + "}";
    } else {
      body += R"("packages":[)";
      for (std::size_t i = 0; i < packages.size(); ++i) {
        body += (i == 0 ? "" : ",") + object(packages[i]);
      }
      body += "]}";
    }
    const auto created = client_.admin("POST", "/v1/admin/releases", body);
    INFO(created.body);
    REQUIRE(created.status == 201);
    return std::to_string(parse_json(created).root()["id"].GetInt64());
  }

  void end(const std::string &release) {
    const auto ended = client_.admin("POST", "/v1/admin/releases/" + release + "/end");
    INFO(ended.body);
    REQUIRE(ended.status == 200);
  }

private:
  HttpClient &client_;
  std::unique_ptr<mds::core::crypto::PrivateKey> key_;
};

using Run = CommandRun;

// mds-client with the device's flags, `extra` and the subcommand.
Run mds_client(const RunningServer &running, const std::filesystem::path &state, const std::string &extra) {
  auto run = run_command(running.temp.path(),
                         std::string(MDS_CLIENT_BINARY) + " --server " + quote(running.server->base_url()) +
                             " --app demo --state " + quote(state.string()) +
                             " --device-id d1 --app-version 10.2.3 --trusted-key " +
                             quote((kKeys / "p256-public.pem").string()) + " --timeout 60 " + extra);
  REQUIRE(run.status != -1);
  return run;
}

// A sync that must succeed with no error; its JSON.
mds::core::json::Document sync(const RunningServer &running, const std::filesystem::path &state,
                               const std::string &extra = "") {
  const Run run = mds_client(running, state, extra + " sync");
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(run.status == 0);
  auto document = mds::core::json::parse(run.out);
  REQUIRE(document.ok());
  REQUIRE(document->root()["errors"].Size() == 0);
  return std::move(document.value());
}

std::string offline_version(const mds::core::json::Document &synced, const char *package) {
  const auto &offline = synced.root()["offline"];
  return offline.HasMember(package) ? offline[package].GetString() : "(none)";
}

// The file mds-client resolves `path` to, read back.
std::string resolved(const RunningServer &running, const std::filesystem::path &state, const std::string &package,
                     const std::string &path) {
  const Run run = mds_client(running, state, "resolve " + package + " " + path);
  INFO(run.err);
  REQUIRE(run.status == 0);
  std::string file = run.out;
  while (!file.empty() && file.back() == '\n') {
    file.pop_back();
  }
  REQUIRE(file.rfind(state.string(), 0) == 0); // a local file in the state directory
  return read_text(file);
}

std::uint64_t delta_size(const mds::core::json::Document &package, const std::string &base) {
  for (const auto &delta : package.root()["deltas"].GetArray()) {
    if (delta["base"].GetString() == base) {
      return delta["size"].GetUint64();
    }
  }
  FAIL("no delta from " << base);
  return 0;
}

} // namespace

TEST_CASE("packages: first install full, then by delta, skipping versions", "[integration][packages]") {
  RunningServer running;
  Publisher publisher(*running.client);
  const auto state = running.temp / "device";

  const auto v1 = publisher.publish(site(1), "h5", "1.0.0", running.temp / "files");
  auto release = publisher.release({{"h5", "1.0.0"}});
  auto synced = sync(running, state);
  CHECK(offline_version(synced, "h5") == "1.0.0");
  REQUIRE(synced.root()["installed"].Size() == 1);
  CHECK(std::string(synced.root()["installed"][0]["detail"].GetString()) == "full");
  CHECK(synced.root()["installed"][0]["download_size"].GetUint64() == v1.root()["full"]["size"].GetUint64());
  CHECK(resolved(running, state, "h5", "/static/app.js") == site(1).at("static/app.js"));

  publisher.end(release);
  const auto v2 = publisher.publish(site(2), "h5", "1.1.0", running.temp / "files");
  release = publisher.release({{"h5", "1.1.0"}});
  synced = sync(running, state);
  CHECK(offline_version(synced, "h5") == "1.1.0");
  REQUIRE(synced.root()["installed"].Size() == 1);
  CHECK(std::string(synced.root()["installed"][0]["detail"].GetString()) == "delta");
  const auto delta = synced.root()["installed"][0]["download_size"].GetUint64();
  CHECK(delta == delta_size(v2, "1.0.0"));
  std::cout << "h5 1.0.0 -> 1.1.0: delta " << delta << " bytes, full " << v2.root()["full"]["size"].GetUint64()
            << " bytes\n";
  CHECK(delta < v2.root()["full"]["size"].GetUint64() / 2);
  CHECK(resolved(running, state, "h5", "static/app.js") == site(2).at("static/app.js"));

  // Nothing new: the next sync installs nothing.
  synced = sync(running, state);
  CHECK(synced.root()["installed"].Size() == 0);

  // 1.2.0 is published but never released; the device goes from 1.1.0 to 1.3.0.
  publisher.end(release);
  publisher.publish(site(3), "h5", "1.2.0", running.temp / "files");
  const auto v4 = publisher.publish(site(4), "h5", "1.3.0", running.temp / "files");
  publisher.release({{"h5", "1.3.0"}});
  synced = sync(running, state);
  CHECK(offline_version(synced, "h5") == "1.3.0");
  REQUIRE(synced.root()["installed"].Size() == 1);
  CHECK(std::string(synced.root()["installed"][0]["detail"].GetString()) == "delta");
  CHECK(synced.root()["installed"][0]["download_size"].GetUint64() == delta_size(v4, "1.1.0"));
  CHECK(resolved(running, state, "h5", "index.html") == site(4).at("index.html"));
}

TEST_CASE("packages: a preset shipped with the app is the first delta base", "[integration][packages]") {
  RunningServer running;
  Publisher publisher(*running.client);
  const auto state = running.temp / "device";
  const auto preset_dir = running.temp / "preset";
  for (const auto &[path, bytes] : site(1)) {
    write_text(preset_dir / path, bytes);
  }
  write_text(running.temp / "preset.envelope", publisher.envelope(site(1), "h5", "1.0.0"));
  const std::string preset =
      "--preset " + quote((running.temp / "preset.envelope").string() + "=" + preset_dir.string());

  publisher.publish(site(1), "h5", "1.0.0", running.temp / "files");
  const auto v2 = publisher.publish(site(2), "h5", "1.1.0", running.temp / "files");
  publisher.release({{"h5", "1.1.0"}});
  auto synced = sync(running, state, preset);
  CHECK(offline_version(synced, "h5") == "1.1.0");
  REQUIRE(synced.root()["installed"].Size() == 2);
  CHECK(std::string(synced.root()["installed"][0]["detail"].GetString()) == "preset");
  CHECK(std::string(synced.root()["installed"][1]["detail"].GetString()) == "delta");
  CHECK(synced.root()["installed"][1]["download_size"].GetUint64() == delta_size(v2, "1.0.0"));
  CHECK(resolved(running, state, "h5", "static/app.js") == site(2).at("static/app.js"));
}

TEST_CASE("packages: two packages of one release are committed together", "[integration][packages]") {
  RunningServer running;
  Publisher publisher(*running.client);
  const auto state = running.temp / "device";
  publisher.publish(site(1), "shop", "2.0.0", running.temp / "files");
  publisher.publish(site(2), "cart", "3.0.0", running.temp / "files");
  publisher.release({{"shop", "2.0.0"}, {"cart", "3.0.0"}});
  auto synced = sync(running, state);
  CHECK(offline_version(synced, "shop") == "2.0.0");
  CHECK(offline_version(synced, "cart") == "3.0.0");
  CHECK(synced.root()["installed"].Size() == 2);
  CHECK(resolved(running, state, "cart", "index.html") == site(2).at("index.html"));
}

TEST_CASE("packages: a download cut by the server's death resumes with Range "
          "after its restart",
          "[integration][packages]") {
  RunningServer running;
  Publisher publisher(*running.client);
  const auto state = running.temp / "device";
  // Random bytes do not compress: the full download is as large as the file.
  const std::size_t size = 48u << 20;
  std::mt19937_64 random(42);
  std::string noise(size, '\0');
  for (std::size_t i = 0; i + 8 <= size; i += 8) {
    const std::uint64_t word = random();
    std::memcpy(&noise[i], &word, 8);
  }
  Tree big = {{"video.bin", noise}};
  const auto package = publisher.publish(big, "media", "1.0.0", running.temp / "files");
  publisher.release({{"media", "1.0.0"}});

  // The device syncs in the background; once its download has started, the
  // server freezes (SIGSTOP, so the part stays partial), then dies (SIGKILL).
  std::thread device([&] {
    const Run run = mds_client(running, state, "sync");
    INFO(run.out << run.err);
    CHECK(run.out.find("\"errors\": [{") != std::string::npos); // the install failed on the way
  });
  const auto staging = state / "staging";
  std::uint64_t cut_at = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (cut_at == 0 && std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(staging, ec)) {
      if (entry.path().extension() == ".part" && entry.file_size(ec) > 0) {
        ::kill(running.server->pid(), SIGSTOP);
        cut_at = 1;
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  REQUIRE(cut_at == 1);
  running.server->kill_hard();
  device.join();
  std::uint64_t kept = 0;
  for (const auto &entry : std::filesystem::directory_iterator(staging)) {
    kept = entry.file_size();
  }
  std::cout << "download cut at " << kept << " of " << package.root()["full"]["size"].GetUint64() << " bytes\n";
  REQUIRE(kept > 0);
  REQUIRE(kept < package.root()["full"]["size"].GetUint64());

  running.start(); // the same data directory, a new process
  auto synced = sync(running, state);
  CHECK(offline_version(synced, "media") == "1.0.0");
  CHECK(resolved(running, state, "media", "video.bin") == big.at("video.bin"));
  // The restarted server answered the blob with 206: the download continued.
  CHECK(running.server->log_containing("\"status\":206").find("\"status\":206") != std::string::npos);
}

TEST_CASE("packages: mds-client upgrade downloads and verifies the offered upgrade", "[integration][packages]") {
  RunningServer running;
  Publisher publisher(*running.client);
  const auto state = running.temp / "device";
  const Tree apk = {{"app.apk", text(300000, 5)}};
  publisher.publish(apk, "app", "10.3.0", running.temp / "files", mds::core::PackageKind::Upgrade);
  publisher.release({{"app", "10.3.0"}});
  for (int round = 0; round < 2; ++round) { // the second finds it verified already
    INFO("round " << round);
    const Run run = mds_client(running, state, "upgrade");
    INFO(run.out << run.err);
    REQUIRE(run.status == 0);
    std::string file = run.out;
    while (!file.empty() && file.back() == '\n') {
      file.pop_back();
    }
    CHECK(file.rfind(state.string(), 0) == 0);
    CHECK(read_text(file) == apk.at("app.apk"));
  }
}

#endif // MDS_CLIENT_BINARY
