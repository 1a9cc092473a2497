// The Client's options reach the transport (SECURITY.md #12, #13): a server trickling
// 1 byte/s is given up within the configured low-speed window, an endless chunked answer
// is cut at the configured cap + 1 byte with memory flat. Timings and memory are printed;
// only generous bounds are asserted.
#include <mds/client.hpp>

#include "support/loopback_server.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

using mds::ErrorCode;
using mds::test::LoopbackServer;
using namespace std::chrono_literals;

namespace {

mds::ClientOptions faulty_server_options(const std::filesystem::path &state, const std::string &url) {
  std::ifstream in(std::filesystem::path(MDS_TEST_DATA_DIR) / "keys" / "p256-public.pem");
  std::ostringstream key;
  key << in.rdbuf();
  mds::ClientOptions options;
  options.server_url = url;
  options.app_id = "demo";
  options.platform = "android";
  options.app_version = "10.2.3";
  options.state_directory = state.string();
  options.trusted_public_keys = {key.str()};
  options.timeouts.connect = 2s;
  options.timeouts.low_speed_bytes_per_second = 10;
  options.timeouts.low_speed_window = 2s;
  options.timeouts.request_deadline = 120s; // so the low-speed window is what ends it
  options.caps.check_response_bytes = 256u << 10;
  options.schedule.sync_on_start = true;
  options.schedule.initial_backoff = 600s;
  options.schedule.max_backoff = 600s;
  return options;
}

// Resident memory of this process in KiB, from /proc (0 where there is none).
long resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::strtol(line.c_str() + 6, nullptr, 10);
    }
  }
  return 0;
}

mds::SyncReport first_sync(const mds::ClientOptions &options) {
  auto client = mds::Client::create(options);
  REQUIRE(client);
  REQUIRE((*client)->start());
  auto report = (*client)->wait_for_sync(0, 60s);
  REQUIRE(report);
  CHECK((*client)->shutdown(10s));
  return *report;
}

} // namespace

TEST_CASE("A check answer trickling at 1 byte/s fails the sync with NetworkTimeout within the low-speed window",
          "[client][faults]") {
  LoopbackServer server([](int fd, const mds::test::SeenRequest &, const std::atomic<bool> &stop) {
    if (!LoopbackServer::send_all(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 100000\r\n\r\n")) {
      return;
    }
    while (!stop && LoopbackServer::send_all(fd, "{")) {
      std::this_thread::sleep_for(1s);
    }
  });
  mds::test::TempDir dir;
  const auto started = std::chrono::steady_clock::now();
  const auto report = first_sync(faulty_server_options(dir.path(), server.url()));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  std::cout << "trickling server given up after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
            << " ms (window 2000 ms; libcurl averages the speed over the last seconds, so the fast"
               " headers delay the verdict a little)\n";
  CHECK(report.status.code() == ErrorCode::NetworkTimeout);
  CHECK(elapsed < 60s); // far below the 120 s deadline: the window ended it
}

TEST_CASE("An endless chunked check answer fails the sync at the cap + 1 byte with memory flat", "[client][faults]") {
  std::atomic<std::uint64_t> sent{0};
  LoopbackServer server([&](int fd, const mds::test::SeenRequest &, const std::atomic<bool> &stop) {
    if (!LoopbackServer::send_all(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n")) {
      return;
    }
    const std::string chunk = "4000\r\n" + std::string(0x4000, ' ') + "\r\n";
    while (!stop && LoopbackServer::send_all(fd, chunk)) {
      sent += 0x4000;
    }
  });
  mds::test::TempDir dir;
  const long before = resident_kib();
  const auto report = first_sync(faulty_server_options(dir.path(), server.url()));
  const long after = resident_kib();
  std::cout << "endless answer: cut after the server wrote " << sent.load() / 1024 << " KiB; resident memory " << before
            << " -> " << after << " KiB\n";
  CHECK(report.status.code() == ErrorCode::ResponseTooLarge);
  CHECK(sent.load() < (256u << 10) + (32u << 20)); // the cap plus what the sockets buffer
  CHECK(after - before < 64 * 1024);
}
