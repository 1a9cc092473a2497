// Package publishing over the admin API (docs/protocol-admin.md, "Packages") against the
// real server: blobs, publish, the downloads it builds, every refusal leaving nothing
// behind, and a server killed in the middle of a publish.
#include "fixture.hpp"
#include "package_support.hpp"

#include "core/delta/delta.hpp"

#include <chrono>
#include <random>
#include <thread>

using namespace mds::test;
using mds::ErrorCode;
namespace core = mds::core;

namespace {

// Text-like bytes (a JS bundle compresses like this): words from a small vocabulary.
std::string js_like(std::size_t size, unsigned seed) {
  static const char *const kWords[] = {"function", "return", "const", "let",    "this.", "=>",    "{",
                                       "}",        "(",      ")",     "render", "state", "props", "if",
                                       "else",     ";",      "\n",    "value",  "index", "0"};
  std::mt19937 random(seed);
  std::string text;
  while (text.size() < size) {
    text += kWords[random() % std::size(kWords)];
    text += ' ';
  }
  text.resize(size);
  return text;
}

std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937_64 random(seed);
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; i += 8) {
    const auto word = random();
    for (std::size_t j = 0; j < 8 && i + j < size; ++j) {
      bytes[i + j] = static_cast<char>((word >> (8 * j)) & 0xff);
    }
  }
  return bytes;
}

PackageFiles site(const std::string &version, unsigned seed = 1) {
  PackageFiles files{{"index.html", "<html><body>shop " + version + "</body></html>"},
                     {"static/js/main.js", js_like(200'000, seed)},
                     {"static/css/site.css", js_like(20'000, seed + 1)}};
  // The next version changes one line of the bundle.
  if (version != "1.0.0") {
    files["static/js/main.js"].replace(100'000, 40, "/* " + version + ": the checkout fix, one line */");
  }
  return files;
}

// A delta applied in memory: base files from a map, output files into another.
class MemorySink final : public core::delta::DeltaSink {
public:
  explicit MemorySink(const PackageFiles &base) : base_(base) {}
  mds::Result<core::delta::ByteView> open_reference(const core::ManifestFile &file) override {
    return core::delta::ByteView(base_.at(file.path));
  }
  void release_reference(const core::ManifestFile &) noexcept override {}
  mds::Status open_output(const core::ManifestFile &file) override {
    current_ = file.path;
    output[current_].clear();
    return {};
  }
  mds::Status write_output(core::delta::ByteView chunk) override {
    output[current_].append(reinterpret_cast<const char *>(chunk.data()), chunk.size());
    return {};
  }
  mds::Status close_output() override { return {}; }

  PackageFiles output;

private:
  const PackageFiles &base_;
  std::string current_;
};

// The download's bytes, fetched as a device fetches them.
std::string fetch(HttpClient &client, const mds::core::json::Value &download) {
  auto answer = client.request("GET", std::string("/v1/blobs/") + download["sha256"].GetString());
  REQUIRE(answer.status == 200);
  CHECK(answer.body.size() == download["size"].GetUint64());
  return answer.body;
}

std::size_t package_count(HttpClient &client, const std::string &app) {
  auto listed = client.admin("GET", "/v1/admin/apps/" + app + "/packages");
  INFO(listed.body);
  REQUIRE(listed.status == 200);
  return parse_json(listed).root()["packages"].Size();
}

std::size_t audit_count(HttpClient &client) {
  return parse_json(client.admin("GET", "/v1/admin/audit?limit=1000")).root()["entries"].Size();
}

} // namespace

TEST_CASE("publish: missing blobs, uploads, the package with its full download and a delta",
          "[integration][packages]") {
  RunningServer running;
  auto &client = *running.client;
  REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("shop")).status == 201);

  const auto v1 = signed_package("shop", core::PackageKind::Offline, "web", "1.0.0", site("1.0.0"), "First.");
  std::string query = R"({"sha256":[)";
  for (const auto &file : v1.manifest.files) {
    query += (file.path == v1.manifest.files.front().path ? "\"" : ",\"") + file.sha256 + "\"";
  }
  query += "]}";
  auto missing = parse_json(client.admin("POST", "/v1/admin/blobs/missing", query));
  REQUIRE(missing.root()["missing"].Size() == 3);
  CHECK(std::string(missing.root()["missing"][0].GetString()) == v1.manifest.files[0].sha256);

  // A new blob is 201, the same again 200; either way it is held once.
  const auto &index = v1.files.at("index.html");
  auto put = client.admin("PUT", "/v1/admin/blobs/" + sha256_hex(index), index);
  REQUIRE(put.status == 201);
  CHECK(parse_json(put).root()["size"].GetUint64() == index.size());
  CHECK(client.admin("PUT", "/v1/admin/blobs/" + sha256_hex(index), index).status == 200);
  CHECK(parse_json(client.admin("POST", "/v1/admin/blobs/missing", query)).root()["missing"].Size() == 2);

  auto first = publish(client, v1);
  INFO(first.body);
  REQUIRE(first.status == 201);
  auto package = parse_json(first);
  CHECK(std::string(package.root()["kind"].GetString()) == "offline");
  CHECK(std::string(package.root()["id"].GetString()) == "web");
  CHECK(package.root()["files"].GetUint() == 3);
  CHECK(package.root()["size"].GetUint64() == 220'000 + index.size());
  CHECK(std::string(package.root()["envelope"].GetString()) == v1.envelope);
  CHECK(package.root()["deltas"].Size() == 0);
  const auto full_v1 = package.root()["full"]["size"].GetUint64();

  // The full download rebuilds every file from nothing.
  MemorySink from_nothing(PackageFiles{});
  const auto full_bytes = fetch(client, package.root()["full"]);
  REQUIRE(
      core::delta::apply_delta(core::Manifest{}, v1.manifest, core::delta::ByteView(full_bytes), from_nothing).ok());
  CHECK(from_nothing.output == v1.files);

  // The same manifest again changes nothing.
  const auto audit_before = audit_count(client);
  auto again = client.admin("POST", "/v1/admin/apps/shop/packages", publish_body(v1.envelope));
  CHECK(again.status == 200);
  CHECK(audit_count(client) == audit_before);

  const auto v2 = signed_package("shop", core::PackageKind::Offline, "web", "1.1.0", site("1.1.0"));
  auto second = publish_ok(client, v2);
  REQUIRE(second.root()["deltas"].Size() == 1);
  const auto &delta = second.root()["deltas"][0];
  CHECK(std::string(delta["base"].GetString()) == "1.0.0");
  const auto full_v2 = second.root()["full"]["size"].GetUint64();
  CHECK(delta["size"].GetUint64() * 2 <= full_v2);
  std::printf("publish: %zu bytes of files; full download %llu (1.0.0), %llu (1.1.0); delta 1.0.0 -> 1.1.0 %llu\n",
              static_cast<std::size_t>(package.root()["size"].GetUint64()), static_cast<unsigned long long>(full_v1),
              static_cast<unsigned long long>(full_v2), static_cast<unsigned long long>(delta["size"].GetUint64()));

  // The delta turns 1.0.0 into 1.1.0 exactly.
  MemorySink from_v1(v1.files);
  const auto delta_bytes = fetch(client, delta);
  REQUIRE(core::delta::apply_delta(v1.manifest, v2.manifest, core::delta::ByteView(delta_bytes), from_v1).ok());
  CHECK(from_v1.output == v2.files);

  // Read back: the list (without envelopes) by version, one package with its envelope.
  auto listed = parse_json(client.admin("GET", "/v1/admin/apps/shop/packages"));
  REQUIRE(listed.root()["packages"].Size() == 2);
  CHECK(std::string(listed.root()["packages"][0]["version"].GetString()) == "1.0.0");
  CHECK(std::string(listed.root()["packages"][1]["version"].GetString()) == "1.1.0");
  CHECK_FALSE(listed.root()["packages"][0].HasMember("envelope"));
  CHECK(parse_json(client.admin("GET", "/v1/admin/apps/shop/packages?kind=hotpatch")).root()["packages"].Size() == 0);
  CHECK(parse_json(client.admin("GET", "/v1/admin/apps/shop/packages?id=web")).root()["packages"].Size() == 2);
  auto one = client.admin("GET", "/v1/admin/apps/shop/packages/web/1.1.0");
  REQUIRE(one.status == 200);
  CHECK(std::string(parse_json(one).root()["envelope"].GetString()) == v2.envelope);
  check_error(client.admin("GET", "/v1/admin/apps/shop/packages/web/9.9"), 404, ErrorCode::NotFound);
  check_error(client.admin("GET", "/v1/admin/apps/nope/packages"), 404, ErrorCode::NotFound);
  check_error(client.admin("GET", "/v1/admin/apps/shop/packages?kind=zip"), 400, ErrorCode::InvalidArgument);

  auto audit = parse_json(client.admin("GET", "/v1/admin/audit?target=package/shop/web/1.1.0"));
  REQUIRE(audit.root()["entries"].Size() == 1);
  CHECK(std::string(audit.root()["entries"][0]["action"].GetString()) == "package.publish");
  CHECK(std::string(audit.root()["entries"][0]["actor"].GetString()) == "alice");

  // Survives a restart.
  running.restart();
  CHECK(running.client->admin("GET", "/v1/admin/apps/shop/packages/web/1.1.0").body == one.body);
}

TEST_CASE("publish refusals: each has its code and leaves no package, blob or audit row", "[integration][packages]") {
  RunningServer running({"--max-upload-bytes", "100000"});
  auto &client = *running.client;
  REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("shop")).status == 201);
  const PackageFiles files{{"index.html", "<html>v1</html>"}, {"app.js", "run(1);"}};
  publish_ok(client, signed_package("shop", core::PackageKind::Offline, "web", "1.0.0", files));
  const auto audit_before = audit_count(client);

  auto stranger = core::crypto::PrivateKey::generate();
  REQUIRE(stranger.ok());
  const auto v2 = make_manifest("shop", core::PackageKind::Offline, "web", "2.0.0", files);
  auto unsigned_envelope = core::crypto::encode_envelope(
      core::crypto::Envelope{std::string(core::kManifestPayloadType), core::crypto::to_bytes(core::encode(v2)), {}});
  REQUIRE(unsigned_envelope.ok());
  auto wrong_type =
      core::crypto::sign_envelope("application/json", core::crypto::to_bytes(core::encode(v2)), publisher_key());
  REQUIRE(wrong_type.ok());
  auto missing_file = make_manifest("shop", core::PackageKind::Offline, "web", "2.0.0",
                                    {{"index.html", "<html>v1</html>"}, {"new.js", "never uploaded"}});
  auto wrong_size = v2;
  wrong_size.files[0].size += 1;
  const auto different =
      make_manifest("shop", core::PackageKind::Offline, "web", "1.0.0", {{"index.html", "<html>v1</html>"}});

  struct Case {
    const char *what;
    std::string body;
    long status;
    ErrorCode code;
  };
  const Case cases[] = {
      {"signed by a key the app does not know", publish_body(sign_manifest(v2, *stranger)), 400,
       ErrorCode::SignatureUntrustedKey},
      {"a manifest for another app",
       publish_body(sign_manifest(make_manifest("com.other", core::PackageKind::Offline, "web", "2.0.0", files))), 400,
       ErrorCode::ManifestAppMismatch},
      {"an unsigned envelope", publish_body(*unsigned_envelope), 400, ErrorCode::SignatureMissing},
      {"another payload type", publish_body(*core::crypto::encode_envelope(*wrong_type)), 400,
       ErrorCode::PayloadTypeMismatch},
      {"not an envelope", publish_body("{\"payload\":1}"), 400, ErrorCode::EnvelopeMalformed},
      {"a file never uploaded", publish_body(sign_manifest(missing_file)), 400, ErrorCode::BlobMissing},
      {"a blob of another size", publish_body(sign_manifest(wrong_size)), 400, ErrorCode::FileSizeMismatch},
      {"the same version with another manifest", publish_body(sign_manifest(different)), 409, ErrorCode::AlreadyExists},
      {"no envelope", "{}", 400, ErrorCode::JsonMissingField},
      {"an unknown field", R"({"envelope":"x","force":true})", 400, ErrorCode::JsonUnknownField},
  };
  for (const auto &c : cases) {
    INFO(c.what);
    check_error(client.admin("POST", "/v1/admin/apps/shop/packages", c.body), c.status, c.code);
  }
  check_error(client.admin("POST", "/v1/admin/apps/nope/packages", publish_body(sign_manifest(v2))), 404,
              ErrorCode::NotFound);

  // Without the admin token, nothing is read.
  const auto good = publish_body(sign_manifest(v2));
  check_error(client.request("POST", "/v1/admin/apps/shop/packages", good), 401, ErrorCode::Unauthorized);
  check_error(client.request("POST", "/v1/admin/apps/shop/packages", good, {"Authorization: Bearer wrong-token"}), 401,
              ErrorCode::Unauthorized);
  const std::string blob = "a blob nobody may store";
  check_error(client.request("PUT", "/v1/admin/blobs/" + sha256_hex(blob), blob), 401, ErrorCode::Unauthorized);

  // Uploads: a body whose hash is not its name, one above --max-upload-bytes, a bad name.
  check_error(client.admin("PUT", "/v1/admin/blobs/" + sha256_hex(blob), blob + "!"), 400, ErrorCode::FileHashMismatch);
  const std::string large(100'001, 'x');
  check_error(client.admin("PUT", "/v1/admin/blobs/" + sha256_hex(large), large), 413, ErrorCode::PayloadTooLarge);
  check_error(client.admin("PUT", "/v1/admin/blobs/ABC", blob), 400, ErrorCode::InvalidHex);
  check_error(client.admin("POST", "/v1/admin/blobs/missing", R"({"sha256":["xyz"]})"), 400, ErrorCode::InvalidHex);
  check_error(client.admin("POST", "/v1/admin/blobs/missing", R"({"sha256":[]})"), 400, ErrorCode::JsonValueOutOfRange);
  const std::string still_missing =
      R"({"sha256":[")" + sha256_hex(blob) + R"(",")" + sha256_hex(blob + "!") + R"(",")" + sha256_hex(large) + "\"]}";
  CHECK(parse_json(client.admin("POST", "/v1/admin/blobs/missing", still_missing)).root()["missing"].Size() == 3);

  CHECK(package_count(client, "shop") == 1);
  CHECK(audit_count(client) == audit_before);
  // Only the first package's blobs and downloads are on disk; no upload is left over.
  std::size_t blob_files = 0;
  for (const auto &entry : std::filesystem::recursive_directory_iterator(running.data_dir() / "blobs")) {
    blob_files += entry.is_regular_file() ? 1 : 0;
  }
  CHECK(blob_files == 3); // two files and the full download
  CHECK(std::filesystem::is_empty(running.data_dir() / "tmp"));

  // And the refused version publishes once it is right.
  publish_ok(client, signed_package("shop", core::PackageKind::Offline, "web", "2.0.0", files));
}

TEST_CASE("a server killed during a publish leaves no package, and the publish then succeeds",
          "[integration][packages][crash]") {
  RunningServer running;
  auto &client = *running.client;
  REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("shop")).status == 201);
  // 40 MB that compress a little: encoding at the publish level takes seconds.
  PackageFiles files{{"index.html", "<html>big</html>"}};
  for (int i = 0; i < 4; ++i) {
    files["assets/blob" + std::to_string(i) + ".bin"] = js_like(10'000'000, 10 + i);
  }
  const auto big = signed_package("shop", core::PackageKind::Offline, "big", "1.0.0", files);
  const auto uploads_started = std::chrono::steady_clock::now();
  upload_blobs(client, big.files);
  const auto uploaded = std::chrono::steady_clock::now();

  HttpResponse interrupted;
  std::thread publisher([&] {
    HttpClient own(running.server->base_url());
    interrupted = own.admin("POST", "/v1/admin/apps/shop/packages", publish_body(big.envelope));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  running.client.reset();
  running.server->kill_hard();
  publisher.join();
  INFO("answer before the kill: " << interrupted.status << " " << interrupted.body);
  REQUIRE(interrupted.status == 0); // the kill came first: no answer

  running.start();
  CHECK(package_count(*running.client, "shop") == 0);
  CHECK(parse_json(running.client->admin("GET", "/v1/admin/audit?target=package/shop/big/1.0.0"))
            .root()["entries"]
            .Size() == 0);
  const auto republish_started = std::chrono::steady_clock::now();
  auto published = publish_ok(*running.client, big);
  const auto done = std::chrono::steady_clock::now();
  CHECK(published.root()["size"].GetUint64() == 40'000'000 + files.at("index.html").size());
  CHECK(package_count(*running.client, "shop") == 1);
  std::printf("40 MB package: upload %.1f s, publish after the restart %.1f s, full download %llu bytes\n",
              std::chrono::duration<double>(uploaded - uploads_started).count(),
              std::chrono::duration<double>(done - republish_started).count(),
              static_cast<unsigned long long>(published.root()["full"]["size"].GetUint64()));
}

TEST_CASE("blobs no package needs are swept, and a package's files and downloads stay", "[integration][packages]") {
  RunningServer running;
  auto &client = *running.client;
  REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("shop")).status == 201);
  auto package = publish_ok(client, signed_package("shop", core::PackageKind::Offline, "web", "1.0.0", site("1.0.0")));
  const std::string orphan = "uploaded for a publish that never came";
  REQUIRE(client.admin("PUT", "/v1/admin/blobs/" + sha256_hex(orphan), orphan).status == 201);
  const auto orphan_query = R"({"sha256":[")" + sha256_hex(orphan) + "\"]}";

  // Within the grace period (an hour by default) the upload is kept across a restart.
  running.restart();
  CHECK(parse_json(running.client->admin("POST", "/v1/admin/blobs/missing", orphan_query)).root()["missing"].Size() ==
        0);

  // Without one, the sweep at start removes it, and only it.
  running.extra_arguments = {"--blob-grace", "0"};
  running.restart();
  bool swept = false;
  for (int i = 0; i < 600 && !swept; ++i) {
    swept = running.client->request("GET", "/v1/blobs/" + sha256_hex(orphan)).status == 404;
    if (!swept) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  CHECK(swept);
  for (const auto &[path, bytes] : site("1.0.0")) {
    INFO(path);
    CHECK(running.client->request("GET", "/v1/blobs/" + sha256_hex(bytes)).body == bytes);
  }
  CHECK(
      running.client->request("GET", std::string("/v1/blobs/") + package.root()["full"]["sha256"].GetString()).status ==
      200);
  // A next version still finds its base's files for its delta.
  auto next =
      publish_ok(*running.client, signed_package("shop", core::PackageKind::Offline, "web", "1.1.0", site("1.1.0")));
  CHECK(next.root()["deltas"].Size() == 1);
}

TEST_CASE("a delta above half the full download is not kept", "[integration][packages]") {
  RunningServer running;
  auto &client = *running.client;
  REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("shop")).status == 201);
  // Random bytes: the new version shares nothing with the old one.
  publish_ok(client,
             signed_package("shop", core::PackageKind::Offline, "noise", "1", {{"data.bin", random_bytes(50'000, 1)}}));
  auto second = publish_ok(client, signed_package("shop", core::PackageKind::Offline, "noise", "2",
                                                  {{"data.bin", random_bytes(50'000, 2)}}));
  CHECK(second.root()["deltas"].Size() == 0);
}
