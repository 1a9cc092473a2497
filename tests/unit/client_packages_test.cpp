// The package calls of the public mds::Client: resolve(), installed_packages(),
// download_upgrade() and presets, before start(), after shutdown() and with bad
// arguments. The pipeline behind them is tested in packages_test.cpp.
#include <mds/client.hpp>

#include "state/store.hpp"
#include "support/crypto_support.hpp"
#include "support/package_world.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>

using mds::Client;
using mds::ClientOptions;
using mds::ErrorCode;
using namespace std::chrono_literals;

namespace {

const mds::test::Tree kSite = {{"index.html", "<html>hi</html>"}, {"static/app.js", "console.log('hi')"}};

struct Publisher {
  mds::test::TempDir dir;
  std::unique_ptr<mds::core::crypto::PrivateKey> key;
  Publisher() {
    auto generated = mds::core::crypto::PrivateKey::generate();
    REQUIRE(generated);
    key = std::make_unique<mds::core::crypto::PrivateKey>(std::move(*generated));
  }
  std::string public_pem() const { return key->public_key().to_pem(); }
  std::string envelope(const mds::core::Manifest &manifest) const {
    const std::string payload = mds::core::encode(manifest);
    auto envelope = mds::core::crypto::sign_envelope(
        mds::core::kManifestPayloadType,
        mds::core::crypto::ByteView(reinterpret_cast<const std::uint8_t *>(payload.data()), payload.size()), *key);
    REQUIRE(envelope);
    return *mds::core::crypto::encode_envelope(*envelope);
  }
  // A preset of kSite as `version` in a directory of its own.
  mds::PresetPackage preset(const std::string &version) const {
    const auto root = dir / ("preset-" + version);
    for (const auto &[path, bytes] : kSite) {
      mds::test::write_bytes(root / path, bytes);
    }
    return {envelope(mds::test::manifest_of(kSite, "h5", version)), root.string()};
  }
};

ClientOptions options_in(const std::filesystem::path &state, const Publisher &publisher) {
  ClientOptions options;
  options.server_url = "https://mds.example.com";
  options.app_id = "demo";
  options.platform = "android";
  options.app_version = "10.2.3";
  options.state_directory = state.string();
  options.trusted_public_keys = {publisher.public_pem()};
  options.schedule.sync_on_start = false;
  return options;
}

std::unique_ptr<Client> make_client(ClientOptions options) {
  auto client = Client::create(std::move(options));
  if (!client) {
    FAIL(mds::describe(client.error()));
  }
  return std::move(*client);
}

} // namespace

TEST_CASE("Package calls before start(), after shutdown() and with bad arguments", "[client][api][packages]") {
  Publisher publisher;
  mds::test::TempDir dir;
  auto options = options_in(dir.path(), publisher);
  options.package_fallback_urls["h5"] = "https://cdn.example.com/h5/";
  auto client = make_client(options);

  for (int phase = 0; phase < 3; ++phase) {
    INFO("phase " << phase); // 0: created, 1: running, 2: shut down
    if (phase == 1) {
      REQUIRE(client->start());
    } else if (phase == 2) {
      REQUIRE(client->shutdown(5s));
    }
    auto installed = client->installed_packages();
    REQUIRE(installed);
    CHECK(installed->empty());
    CHECK(client->resolve("h5", "/static/app.js?v=3#top").value() == "https://cdn.example.com/h5/static/app.js");
    CHECK(client->resolve("h5", "index.html").value() == "https://cdn.example.com/h5/index.html");
    CHECK(client->resolve("other", "index.html").code() == ErrorCode::NotFound);
    for (const char *package : {"", "H5", "a/b", "../h5", "-h5"}) {
      INFO(package);
      CHECK(client->resolve(package, "index.html").code() == ErrorCode::InvalidArgument);
    }
    for (const char *path : {"", "/", "../x", "a/../../x", "a\\b", "%2e%2e/x", "a//b", "caf\xc3\xa9.js"}) {
      INFO(path);
      CHECK(client->resolve("h5", path).code() == ErrorCode::InvalidArgument);
    }
    const ErrorCode expected[] = {ErrorCode::NotStarted, ErrorCode::NotFound, ErrorCode::ShutDown};
    CHECK(client->download_upgrade().code() == expected[phase]);
  }
}

TEST_CASE("create() names bad package options", "[client][api][packages]") {
  Publisher publisher;
  mds::test::TempDir dir;
  const std::vector<std::pair<std::string, std::function<void(ClientOptions &)>>> cases = {
      {"caps", [](ClientOptions &o) { o.caps.delta_window_log = 9; }},
      {"caps", [](ClientOptions &o) { o.caps.delta_window_log = 32; }},
      {"preset_packages",
       [](ClientOptions &o) {
         o.preset_packages.push_back({"", "/tmp"});
       }},
      {"preset_packages",
       [](ClientOptions &o) {
         o.preset_packages.push_back({"{}", ""});
       }},
      {"package_fallback_urls", [](ClientOptions &o) { o.package_fallback_urls["h5"] = "ftp://x"; }},
      {"package_fallback_urls", [](ClientOptions &o) { o.package_fallback_urls[""] = "https://x"; }},
  };
  for (const auto &[field, spoil] : cases) {
    INFO(field);
    auto options = options_in(dir / "s", publisher);
    spoil(options);
    auto client = Client::create(options);
    REQUIRE_FALSE(client);
    CHECK(client.code() == ErrorCode::InvalidArgument);
    CHECK(client.error().message.find(field) != std::string::npos);
  }
}

TEST_CASE("A preset is installed at start, resolves to local files and reaches the listener", "[client][packages]") {
  Publisher publisher;
  mds::test::TempDir dir;
  auto options = options_in(dir.path(), publisher);
  options.preset_packages = {publisher.preset("1.0.0")};
  options.package_fallback_urls["h5"] = "https://cdn.example.com/h5";
  auto client = make_client(options);
  CHECK(client->resolve("h5", "index.html").value() == "https://cdn.example.com/h5/index.html");

  std::mutex mutex;
  std::condition_variable changed;
  std::vector<mds::PackageInstalled> seen;
  REQUIRE(client->on_package_installed([&](const mds::PackageInstalled &installed) {
    std::lock_guard<std::mutex> lock(mutex);
    seen.push_back(installed);
    changed.notify_all();
  }));
  REQUIRE(client->start());
  {
    std::unique_lock<std::mutex> lock(mutex);
    REQUIRE(changed.wait_for(lock, 10s, [&] { return !seen.empty(); }));
    CHECK(seen[0].kind == "offline");
    CHECK(seen[0].package == "h5");
    CHECK(seen[0].version == "1.0.0");
    CHECK(seen[0].detail == "preset");
  }
  auto path = client->resolve("h5", "/static/app.js");
  REQUIRE(path);
  CHECK(mds::test::read_bytes(*path) == kSite.at("static/app.js"));
  CHECK(client->resolve("h5", "missing.js").code() == ErrorCode::NotFound);
  CHECK(client->installed_packages().value() == std::map<std::string, std::string>{{"h5", "1.0.0"}});
  REQUIRE(client->shutdown(5s));
  client.reset();

  // A second start finds it installed; a preset signed by an unknown key is refused and
  // reported, and the installed version keeps serving.
  Publisher stranger;
  options.preset_packages = {stranger.preset("2.0.0")};
  client = make_client(options);
  std::vector<mds::Error> errors;
  REQUIRE(client->on_error([&](const mds::Error &error) {
    std::lock_guard<std::mutex> lock(mutex);
    errors.push_back(error);
    changed.notify_all();
  }));
  REQUIRE(client->start());
  {
    std::unique_lock<std::mutex> lock(mutex);
    REQUIRE(changed.wait_for(lock, 10s, [&] { return !errors.empty(); }));
    CHECK(errors[0].code == ErrorCode::SignatureUntrustedKey);
  }
  CHECK(client->installed_packages().value() == std::map<std::string, std::string>{{"h5", "1.0.0"}});
}

TEST_CASE("download_upgrade() respects NetworkPolicy::WifiOnly", "[client][packages]") {
  Publisher publisher;
  mds::test::TempDir dir;
  const std::string hash(64, 'c');
  const std::string answer = R"({"poll_interval":600,"upgrade":{"release":"r7","package":"app","version":"10.3.0",)"
                             R"("mode":"silent","envelope":"e","downloads":[)"
                             R"({"kind":"full","url":"/v1/blobs/)" +
                             hash + R"(","size":123,"sha256":")" + hash + R"("}]}})";
  {
    auto store = mds::state::Store::open(dir.path());
    REQUIRE(store);
    REQUIRE((*store)->set_metas({{"check_etag", "\"a1\""}, {"check_answer", answer}}));
  }
  auto options = options_in(dir.path(), publisher);
  options.network_policy = mds::NetworkPolicy::WifiOnly;
  options.device.network = "cellular";
  auto client = make_client(options);
  REQUIRE(client->start());
  CHECK(client->download_upgrade().code() == ErrorCode::NetworkNotAllowed);
}

TEST_CASE("download_upgrade() answers an upgrade refused for good without downloading or reporting it again",
          "[client][packages]") {
  Publisher publisher;
  mds::test::TempDir dir;
  const std::string hash(64, 'c');
  // An envelope that is not one: refused before any download, for good.
  const std::string answer = R"({"poll_interval":600,"upgrade":{"release":"r7","package":"app","version":"10.3.0",)"
                             R"("mode":"silent","envelope":"e","downloads":[)"
                             R"({"kind":"full","url":"/v1/blobs/)" +
                             hash + R"(","size":123,"sha256":")" + hash + R"("}]}})";
  {
    auto store = mds::state::Store::open(dir.path());
    REQUIRE(store);
    REQUIRE((*store)->set_metas({{"check_etag", "\"a1\""}, {"check_answer", answer}}));
  }
  auto options = options_in(dir.path(), publisher);
  auto client = make_client(options);
  REQUIRE(client->start());
  const auto first = client->download_upgrade();
  REQUIRE_FALSE(first);
  CHECK(first.code() == ErrorCode::EnvelopeMalformed);
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round); // the second after a restart
    CHECK(client->download_upgrade().code() == first.code());
    REQUIRE(client->shutdown(5s));
    client.reset();
    {
      auto store = mds::state::Store::open(dir.path());
      REQUIRE(store);
      auto events = (*store)->oldest_events(100);
      REQUIRE(events);
      int failed = 0;
      for (const auto &event : *events) {
        failed += event.json.find("\"type\":\"failed\"") != std::string::npos;
      }
      CHECK(failed == 1);
    }
    client = make_client(options);
    REQUIRE(client->start());
  }
}
