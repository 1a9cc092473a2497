// The SDK's package pipeline (mds::Client in this process) against blob answers the real
// mds-server never gives, SECURITY.md #12 (endless data) and #16 (Range confusion on
// resume), and the Wi-Fi-only network policy. Offers and events come from the real
// server through a loopback proxy that misbehaves on GET /v1/blobs/ only
// (fault_proxy.hpp). The device has v1 (a preset) and is offered v2; every refused
// case checks that v1 still serves, that staging holds nothing but a prefix of the
// offered blob, that nothing outside the state directory changed, that a `failed` event
// with the case's code reached the server, and that the next sync against a
// well-behaved server installs v2 exactly, also where one whole answer was another blob
// (what a captive portal or a proxy may send: the offer is not refused for good).
#include "fault_proxy.hpp"
#include "fixture.hpp"
#include "package_support.hpp"
#include "support/package_world.hpp"
#include "support/text.hpp"

#include <mds/client.hpp>

#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <thread>

using namespace mds::test;
using mds::ErrorCode;
using namespace std::chrono_literals;
namespace core = mds::core;

namespace {

const PackageFiles &v1_files() {
  static const PackageFiles files = {{"index.html", "<html>1.0.0</html>"},
                                     {"media.bin", mds::test::random_bytes(100000, 1)}};
  return files;
}

const PackageFiles &v2_files() {
  static const PackageFiles files = {{"index.html", "<html>1.1.0</html>"},
                                     {"media.bin", mds::test::random_bytes(300000, 2)}};
  return files;
}

// The server with v2 of "web" published and released to every device; v1 exists only
// as the preset the devices ship with.
struct World {
  RunningServer running;
  SignedPackage v1 = signed_package("demo", core::PackageKind::Offline, "web", "1.0.0", v1_files());
  SignedPackage v2 = signed_package("demo", core::PackageKind::Offline, "web", "1.1.0", v2_files());
  std::string blob_sha256;
  std::string blob; // v2's full download, as the server serves it
  std::string release;

  World() {
    auto &client = *running.client;
    REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("demo")).status == 201);
    const auto published = publish_ok(client, v2);
    blob_sha256 = published.root()["full"]["sha256"].GetString();
    const auto fetched = client.request("GET", "/v1/blobs/" + blob_sha256);
    REQUIRE(fetched.status == 200);
    blob = fetched.body;
    REQUIRE(blob.size() == published.root()["full"]["size"].GetUint64());
    auto created = client.admin("POST", "/v1/admin/releases",
                                R"({"app":"demo","package":{"id":"web","version":"1.1.0"},"stage":"full"})");
    INFO(created.body);
    REQUIRE(created.status == 201);
    release = std::to_string(parse_json(created).root()["id"].GetInt64());
  }
};

// Every file under `root` outside `skip`, with the SHA-256 of its bytes.
std::map<std::string, std::string> files_outside(const std::filesystem::path &root, const std::filesystem::path &skip) {
  std::map<std::string, std::string> files;
  for (auto it = std::filesystem::recursive_directory_iterator(root); it != std::filesystem::end(it); ++it) {
    if (it->path() == skip) {
      it.disable_recursion_pending();
      continue;
    }
    files[it->path().string()] =
        it->is_regular_file() ? hex_sha256(read_bytes(it->path())) : std::string("(directory)");
  }
  return files;
}

// One device: a state directory, v1 as its preset, an mds::Client talking to `url`.
class Device {
public:
  Device(const World &world, const std::string &url, const std::string &id,
         std::function<void(mds::ClientOptions &)> adjust = {}) {
    for (const auto &[path, bytes] : v1_files()) {
      write_bytes(preset() / path, bytes);
    }
    options_.server_url = url;
    options_.app_id = "demo";
    options_.platform = "android";
    options_.app_version = "10.2.3";
    options_.device.id = id;
    options_.state_directory = state().string();
    options_.trusted_public_keys = {publisher_key_pem()};
    options_.preset_packages = {{world.v1.envelope, preset().string()}};
    options_.timeouts.connect = 2s;
    options_.timeouts.request_deadline = 10s;
    options_.timeouts.low_speed_window = 10s;
    options_.schedule.poll_interval = 3600s;
    if (adjust) {
      adjust(options_);
    }
    outside_ = files_outside(dir_.path(), state());
  }

  ~Device() { stop(); }

  std::filesystem::path state() const { return dir_ / "state"; }
  std::filesystem::path preset() const { return dir_ / "preset"; }
  std::filesystem::path staging() const { return state() / "staging"; }
  mds::ClientOptions &options() { return options_; }

  // The client's first sync ran at start; this is another, REQUIREd to succeed (a
  // refused package does not fail a sync: it is reported as an event).
  mds::SyncReport sync() {
    const auto last = client_->last_sync();
    REQUIRE(last);
    REQUIRE(client_->sync_now());
    auto report = client_->wait_for_sync(last->sequence, 120s);
    REQUIRE(report);
    INFO(mds::describe(report->status.error()));
    REQUIRE(report->status);
    return *report;
  }

  // Creates and starts the client, REQUIREs its first sync (at once) to succeed.
  void start() {
    auto client = mds::Client::create(options_);
    if (!client) {
      FAIL(mds::describe(client.error()));
    }
    client_ = std::move(*client);
    REQUIRE(client_->start());
    auto first = client_->wait_for_sync(0, 120s);
    REQUIRE(first);
    INFO(mds::describe(first->status.error()));
    REQUIRE(first->status);
  }

  // Shut down and started again with `adjust` applied to the options.
  void restart(const std::function<void(mds::ClientOptions &)> &adjust) {
    stop();
    adjust(options_);
    start();
  }

  // `version` of web serves, file for file.
  void check_serving(const std::string &version, const PackageFiles &files) {
    CHECK(client_->installed_packages().value() == std::map<std::string, std::string>{{"web", version}});
    for (const auto &[path, bytes] : files) {
      INFO(path);
      auto local = client_->resolve("web", path);
      REQUIRE(local);
      CHECK(std::string(*local).rfind(state().string(), 0) == 0);
      CHECK(hex_sha256(read_bytes(*local)) == hex_sha256(bytes));
    }
  }

  // Staging holds no tree, and any download in it is a prefix of the offered blob.
  void check_staging(const std::string &blob) {
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(staging(), ec)) {
      INFO(entry.path());
      REQUIRE(entry.path().extension() == ".part");
      const auto bytes = read_bytes(entry.path());
      CHECK(bytes.size() <= blob.size());
      CHECK(blob.compare(0, bytes.size(), bytes) == 0);
    }
  }

  void check_nothing_outside() { CHECK(files_outside(dir_.path(), state()) == outside_); }

private:
  void stop() {
    if (client_) {
      CHECK(client_->shutdown(10s));
      client_.reset();
    }
  }

  TempDir dir_;
  mds::ClientOptions options_;
  std::unique_ptr<mds::Client> client_;
  std::map<std::string, std::string> outside_;
};

// How many `failed` events of `device` for web 1.1.0 with `code` reached the server
// through the proxy.
int failed_events_sent(const FaultProxy &proxy, Device &device, ErrorCode code) {
  int count = 0;
  for (const auto &body : proxy.event_bodies()) {
    auto document = core::json::parse(body);
    if (!document || document->root()["device_id"].GetString() != device.options().device.id) {
      continue;
    }
    for (const auto &event : document->root()["events"].GetArray()) {
      if (std::string(event["type"].GetString()) == "failed" && event.HasMember("code") &&
          event["code"].GetUint() == static_cast<unsigned>(code) &&
          std::string(event["package"].GetString()) == "web" && std::string(event["version"].GetString()) == "1.1.0") {
        ++count;
      }
    }
  }
  return count;
}

bool failed_event_sent(const FaultProxy &proxy, Device &device, ErrorCode code) {
  return failed_events_sent(proxy, device, code) > 0;
}

std::uint64_t rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::strtoull(line.c_str() + 6, nullptr, 10);
    }
  }
  return 0;
}

void send_200(int fd, const std::string &bytes, const std::string &etag) {
  LoopbackServer::send_all(
      fd,
      http_head(200, "OK", "ETag: " + etag + "\r\nContent-Length: " + std::to_string(bytes.size()) + "\r\n") + bytes);
}

// A 206 with `content_range` (none when empty).
void send_206(int fd, const std::string &content_range, const std::string &bytes, const std::string &etag) {
  std::string extra = "ETag: " + etag + "\r\nContent-Length: " + std::to_string(bytes.size()) + "\r\n";
  if (!content_range.empty()) {
    extra += "Content-Range: " + content_range + "\r\n";
  }
  LoopbackServer::send_all(fd, http_head(206, "Partial Content", extra) + bytes);
}

std::uint64_t range_start(const SeenRequest &request) {
  return std::strtoull(request.header("range").c_str() + 6, nullptr, 10);
}

} // namespace

TEST_CASE("package faults: an endless or oversized blob is cut at its offered size + 1 (SECURITY #12)",
          "[integration][packages][security]") {
  World world;
  FaultProxy proxy(world.running.server->base_url());
  const std::size_t size = world.blob.size();

  std::atomic<std::uint64_t> sent{0};
  struct Case {
    const char *name;
    FaultProxy::BlobAnswer answer;
  };
  const std::vector<Case> cases = {
      {"endless chunked body",
       [&](int fd, const SeenRequest &, const RealBlob &blob, const std::atomic<bool> &stop) {
         if (!LoopbackServer::send_all(
                 fd, http_head(200, "OK", "ETag: " + blob.etag + "\r\nTransfer-Encoding: chunked\r\n"))) {
           return;
         }
         const std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
         while (!stop && LoopbackServer::send_all(fd, chunk)) {
           sent += chunk.size();
         }
       }},
      {"the blob and more, with a Content-Length",
       [&](int fd, const SeenRequest &, const RealBlob &blob, const std::atomic<bool> &) {
         const std::string body = blob.bytes + std::string(4096, 'x');
         LoopbackServer::send_all(
             fd, http_head(200, "OK",
                           "ETag: " + blob.etag + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n"));
         if (LoopbackServer::send_all(fd, body)) {
           sent += body.size();
         }
       }},
      {"the blob and more, until the connection closes",
       [&](int fd, const SeenRequest &, const RealBlob &blob, const std::atomic<bool> &) {
         const std::string body = blob.bytes + std::string(1u << 20, 'x');
         LoopbackServer::send_all(fd, http_head(200, "OK", "ETag: " + blob.etag + "\r\n"));
         if (LoopbackServer::send_all(fd, body)) {
           sent += body.size();
         }
       }},
  };
  int index = 0;
  for (const auto &c : cases) {
    INFO(c.name);
    sent = 0;
    Device device(world, proxy.url(), "device-12-" + std::to_string(index++));
    // The device's generic download cap stays at its default (2 GiB): the offer's size is
    // the cap that matters.
    REQUIRE(device.options().caps.download_bytes > 1000 * size);
    proxy.set_blob_answer(c.answer);
    const std::size_t requests_before = proxy.requests().size();
    // The largest download staging held while the fault was served.
    std::atomic<bool> watching{true};
    std::uint64_t largest_part = 0;
    std::thread watcher([&] {
      while (watching) {
        std::error_code ec;
        for (const auto &entry : std::filesystem::directory_iterator(device.staging(), ec)) {
          const auto bytes = entry.file_size(ec);
          if (!ec) {
            largest_part = std::max<std::uint64_t>(largest_part, bytes);
          }
        }
        std::this_thread::sleep_for(200us);
      }
    });
    const auto rss_before = rss_kib();
    device.start();
    const auto rss_after = rss_kib();
    watching = false;
    watcher.join();
    std::cout << "SECURITY #12 through the pipeline, " << c.name << ": offered size " << size
              << " bytes, largest download seen in staging " << largest_part << " bytes, the server sent "
              << sent.load() << " body bytes before the client hung up; RSS " << rss_before << " -> " << rss_after
              << " KiB\n";
    CHECK(proxy.blob_requests(requests_before).size() == 1);
    CHECK(largest_part <= size);
    CHECK(rss_after < rss_before + 128 * 1024); // a sanity bound only: the body streams to a file
    device.check_serving("1.0.0", v1_files());
    device.check_staging(world.blob);
    device.check_nothing_outside();
    CHECK(failed_event_sent(proxy, device, ErrorCode::ResponseTooLarge));

    proxy.set_blob_answer(nullptr);
    device.sync();
    device.check_serving("1.1.0", v2_files());
    device.check_staging(world.blob);
    device.check_nothing_outside();
  }
}

TEST_CASE("package faults: a resumed download is never spliced, whatever the server answers to Range (SECURITY #16)",
          "[integration][packages][security]") {
  World world;
  FaultProxy proxy(world.running.server->base_url());
  const std::size_t size = world.blob.size();
  const std::size_t kept = size / 3;
  // Another blob of the same size under the same URL (as after a botched CDN purge).
  std::string other = world.blob;
  for (std::size_t i = size / 2; i < size; i += 7) {
    other[i] = static_cast<char>(other[i] ^ 0x55);
  }
  const std::string other_etag = "\"" + hex_sha256(other) + "\"";
  const auto last = [&](std::size_t n) { return std::to_string(n - 1); };

  using Answer = std::function<void(int fd, const SeenRequest &request, const RealBlob &blob)>;
  const Answer honest = [](int fd, const SeenRequest &, const RealBlob &blob) { send_200(fd, blob.bytes, blob.etag); };
  struct Case {
    const char *name;
    Answer resumed;                // the answer to the request with Range + If-Range
    Answer fresh;                  // the answer to any request without Range after it
    std::size_t requests;          // blob requests of the resuming sync: 2 when the client restarted
    std::optional<ErrorCode> code; // the refusal; none: v2 installed by that sync
  };
  const std::vector<Case> cases = {
      {"ignores Range: 200 with the whole blob", honest, honest, 1, std::nullopt},
      {"another blob, If-Range honoured: 200 with it",
       [&](int fd, const SeenRequest &, const RealBlob &) { send_200(fd, other, other_etag); },
       [&](int fd, const SeenRequest &, const RealBlob &) { send_200(fd, other, other_etag); }, 1,
       ErrorCode::FileHashMismatch},
      {"another blob, If-Range ignored: 206 of it under its own ETag",
       [&](int fd, const SeenRequest &request, const RealBlob &) {
         const auto start = range_start(request);
         send_206(fd, "bytes " + std::to_string(start) + "-" + last(size) + "/" + std::to_string(size),
                  other.substr(start), other_etag);
       },
       [&](int fd, const SeenRequest &, const RealBlob &) { send_200(fd, other, other_etag); }, 2,
       ErrorCode::FileHashMismatch},
      {"206 starting elsewhere than asked",
       [&](int fd, const SeenRequest &, const RealBlob &blob) {
         send_206(fd, "bytes 0-" + last(size) + "/" + std::to_string(size), blob.bytes, blob.etag);
       },
       honest, 2, std::nullopt},
      {"206 starting where asked, with another total",
       [&](int fd, const SeenRequest &request, const RealBlob &blob) {
         const auto start = range_start(request);
         send_206(fd, "bytes " + std::to_string(start) + "-" + last(size) + "/" + std::to_string(size + 1000),
                  blob.bytes.substr(start), blob.etag);
       },
       honest, 2, std::nullopt},
      {"206 starting where asked, ending short of its total",
       [&](int fd, const SeenRequest &request, const RealBlob &blob) {
         const auto start = range_start(request);
         send_206(fd, "bytes " + std::to_string(start) + "-" + last(size - 1) + "/" + std::to_string(size),
                  blob.bytes.substr(start, size - 1 - start), blob.etag);
       },
       honest, 2, std::nullopt},
      {"206 without Content-Range",
       [&](int fd, const SeenRequest &request, const RealBlob &blob) {
         send_206(fd, "", blob.bytes.substr(range_start(request)), blob.etag);
       },
       honest, 2, std::nullopt},
      {"206 to every request, with or without Range",
       [&](int fd, const SeenRequest &, const RealBlob &blob) {
         send_206(fd, "bytes 0-" + last(size) + "/" + std::to_string(size), blob.bytes, blob.etag);
       },
       [&](int fd, const SeenRequest &, const RealBlob &blob) {
         send_206(fd, "bytes 0-" + last(size) + "/" + std::to_string(size), blob.bytes, blob.etag);
       },
       2, ErrorCode::RangeMismatch},
  };
  int index = 0;
  for (const auto &c : cases) {
    INFO(c.name);
    Device device(world, proxy.url(), "device-16-" + std::to_string(index++));

    // The first download breaks after `kept` bytes: a part and its checkpoint remain.
    proxy.set_blob_answer([&](int fd, const SeenRequest &, const RealBlob &blob, const std::atomic<bool> &) {
      LoopbackServer::send_all(
          fd, http_head(200, "OK",
                        "ETag: " + blob.etag + "\r\nContent-Length: " + std::to_string(blob.bytes.size()) + "\r\n") +
                  blob.bytes.substr(0, kept));
    });
    device.start();
    device.check_serving("1.0.0", v1_files());
    CHECK(failed_event_sent(proxy, device, ErrorCode::NetworkInterrupted));
    CHECK(hex_sha256(read_bytes(device.staging() / (world.blob_sha256 + ".part"))) ==
          hex_sha256(world.blob.substr(0, kept)));

    // The resume meets the fault.
    proxy.set_blob_answer([&](int fd, const SeenRequest &request, const RealBlob &blob, const std::atomic<bool> &) {
      (request.header("range").empty() ? c.fresh : c.resumed)(fd, request, blob);
    });
    const std::size_t requests_before = proxy.requests().size();
    device.sync();
    const auto blob_requests = proxy.blob_requests(requests_before);
    REQUIRE(!blob_requests.empty());
    CHECK(blob_requests[0].header("range") == "bytes=" + std::to_string(kept) + "-");
    CHECK(blob_requests[0].header("if-range") == "\"" + world.blob_sha256 + "\"");
    CHECK(blob_requests.size() == c.requests);
    for (std::size_t i = 1; i < blob_requests.size(); ++i) {
      CHECK(blob_requests[i].header("range").empty()); // a restart from zero
    }
    device.check_staging(world.blob);
    device.check_nothing_outside();
    if (c.code) {
      device.check_serving("1.0.0", v1_files());
      CHECK(failed_events_sent(proxy, device, *c.code) == 1);
      proxy.set_blob_answer(nullptr);
      const std::size_t before_retry = proxy.requests().size();
      device.sync();
      CHECK_FALSE(proxy.blob_requests(before_retry).empty()); // tried again, from a well-behaved server
    }
    device.check_serving("1.1.0", v2_files());
    device.check_staging(world.blob);
    device.check_nothing_outside();
  }
}

TEST_CASE("package faults: Wi-Fi only, nothing is downloaded on a cellular network", "[integration][packages]") {
  World world;
  FaultProxy proxy(world.running.server->base_url());
  Device device(world, proxy.url(), "device-wifi", [](mds::ClientOptions &o) {
    o.network_policy = mds::NetworkPolicy::WifiOnly;
    o.device.network = "cellular";
  });
  device.start();
  device.sync();
  CHECK(proxy.blob_requests().empty());
  device.check_serving("1.0.0", v1_files());
  std::error_code ec;
  CHECK(std::filesystem::directory_iterator(device.staging(), ec) == std::filesystem::directory_iterator());

  device.restart([](mds::ClientOptions &o) { o.device.network = "wifi"; });
  CHECK(proxy.blob_requests().size() == 1);
  device.check_serving("1.1.0", v2_files());
  device.check_nothing_outside();
}
