// The public mds::Client: every call before start(), after shutdown(), with empty and bad
// arguments; the worker's scheduling against servers that are down or busy.
#include <mds/client.hpp>

#include "state/store.hpp"
#include "support/loopback_server.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <fstream>
#include <functional>
#include <sstream>

using mds::Client;
using mds::ClientOptions;
using mds::ErrorCode;
using namespace std::chrono_literals;

namespace {

std::string read_key(const std::string &name) {
  std::ifstream in(std::filesystem::path(MDS_TEST_DATA_DIR) / "keys" / name);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string trusted_key() {
  return read_key("p256-public.pem");
}

// A port nobody listens on.
std::string closed_url() {
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(probe, reinterpret_cast<sockaddr *>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  ::getsockname(probe, reinterpret_cast<sockaddr *>(&address), &length);
  ::close(probe);
  return "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
}

ClientOptions options_in(const std::filesystem::path &state, const std::string &url = "https://mds.example.com") {
  ClientOptions options;
  options.server_url = url;
  options.app_id = "demo";
  options.platform = "android";
  options.app_version = "10.2.3";
  options.sdk_versions = {{"mds", "0.1.0"}};
  options.state_directory = state.string();
  options.trusted_public_keys = {trusted_key()};
  options.timeouts.connect = 2s;
  options.timeouts.request_deadline = 10s;
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

TEST_CASE("create() names the bad option", "[client][api]") {
  mds::test::TempDir dir;
  struct Case {
    std::string field;
    std::function<void(ClientOptions &)> spoil;
  };
  const std::vector<Case> cases = {
      {"server_url", [](ClientOptions &o) { o.server_url = ""; }},
      {"server_url", [](ClientOptions &o) { o.server_url = "ftp://x"; }},
      {"server_url", [](ClientOptions &o) { o.server_url = "https://a b"; }},
      {"server_url", [](ClientOptions &o) { o.server_url = "http://mds.example.com"; }},
      {"server_url", [](ClientOptions &o) { o.server_url = "http://127.0.0.1.evil.example"; }},
      {"server_url", [](ClientOptions &o) { o.server_url = "http://localhost@evil.example"; }},
      {"app_id", [](ClientOptions &o) { o.app_id = ""; }},
      {"app_id", [](ClientOptions &o) { o.app_id = "a\nb"; }},
      {"platform", [](ClientOptions &o) { o.platform = ""; }},
      {"platform", [](ClientOptions &o) { o.platform = "Android"; }},
      {"app_version", [](ClientOptions &o) { o.app_version = ""; }},
      {"app_version", [](ClientOptions &o) { o.app_version = "1..2"; }},
      {"sdk_versions", [](ClientOptions &o) { o.sdk_versions[""] = "1.0"; }},
      {"sdk_versions", [](ClientOptions &o) { o.sdk_versions["pay"] = "x"; }},
      {"attributes", [](ClientOptions &o) { o.attributes[""] = "v"; }},
      {"attributes", [](ClientOptions &o) { o.attributes["big"] = std::string(40000, 'v'); }},
      {"attributes", [](ClientOptions &o) { o.device.model = std::string(40000, 'm'); }},
      {"device.id", [](ClientOptions &o) { o.device.id = std::string(200, 'd'); }},
      {"state_directory", [](ClientOptions &o) { o.state_directory = ""; }},
      {"trusted_public_keys", [](ClientOptions &o) { o.trusted_public_keys.clear(); }},
      {"trusted_public_keys", [](ClientOptions &o) { o.trusted_public_keys = {"not a key"}; }},
      {"trusted_public_keys", [](ClientOptions &o) { o.trusted_public_keys.push_back(read_key("p384-public.pem")); }},
      {"trusted_public_keys", [](ClientOptions &o) { o.trusted_public_keys.push_back(read_key("rsa-public.pem")); }},
      {"tls.pinned_public_keys", [](ClientOptions &o) { o.tls.pinned_public_keys = {"md5//abc"}; }},
      {"timeouts", [](ClientOptions &o) { o.timeouts.connect = 0ms; }},
      {"timeouts", [](ClientOptions &o) { o.timeouts.low_speed_bytes_per_second = 0; }},
      {"caps", [](ClientOptions &o) { o.caps.event_queue = 0; }},
      {"caps", [](ClientOptions &o) { o.caps.check_response_bytes = 0; }},
      {"schedule", [](ClientOptions &o) { o.schedule.max_backoff = 1ms; }},
      {"schedule", [](ClientOptions &o) { o.schedule.min_poll_interval = 0s; }},
  };
  for (const auto &c : cases) {
    ClientOptions options = options_in(dir / "s");
    c.spoil(options);
    auto client = Client::create(options);
    INFO(c.field);
    REQUIRE_FALSE(client);
    CHECK(client.code() == ErrorCode::InvalidArgument);
    CHECK(client.error().message.find(c.field) != std::string::npos);
  }
  // Nothing was created for refused options.
  CHECK_FALSE(std::filesystem::exists(dir / "s"));
  // Plain HTTP is for this machine only.
  for (const char *url : {"http://127.0.0.1:8080", "http://localhost/", "http://[::1]:9", "https://mds.example.com"}) {
    INFO(url);
    mds::test::TempDir state;
    ClientOptions options = options_in(state.path());
    options.server_url = url;
    CHECK(Client::create(options));
  }
}

TEST_CASE("Every call before start() and after shutdown() answers without harm", "[client][api]") {
  mds::test::TempDir dir;
  auto client = make_client(options_in(dir.path()));

  // Before start.
  CHECK(client->sync_now().code() == ErrorCode::NotStarted);
  CHECK(client->notify_foreground().code() == ErrorCode::NotStarted);
  CHECK(client->last_sync().code() == ErrorCode::NotFound);
  CHECK(client->wait_for_sync(0, 10ms).code() == ErrorCode::NotStarted);
  CHECK(client->device_id().size() == 36);
  CHECK(client->get_string("k", "d") == "d");
  CHECK(client->get_bool("k", true));
  CHECK(client->get_int64("k", -5) == -5);
  CHECK(client->get_double("k", 2.5) == 2.5);
  CHECK(client->get_json("k", "null") == "null");
  CHECK(client->get_string("", "empty key") == "empty key");
  CHECK(client->config_values().empty());
  CHECK(client->config_revision() == 0);
  CHECK_FALSE(client->pending_upgrade());
  CHECK(client->upgrade_prompt_shown("").code() == ErrorCode::InvalidArgument);
  CHECK(client->upgrade_prompt_shown("10.3.0").code() == ErrorCode::NotFound);
  CHECK(client->on_config_changed("", [](const mds::ConfigChange &) {}).code() == ErrorCode::InvalidArgument);
  CHECK(client->on_config_changed("k", nullptr).code() == ErrorCode::InvalidArgument);
  CHECK(client->on_any_config_changed(nullptr).code() == ErrorCode::InvalidArgument);
  CHECK(client->on_upgrade_found(nullptr).code() == ErrorCode::InvalidArgument);
  CHECK(client->on_package_installed(nullptr).code() == ErrorCode::InvalidArgument);
  CHECK(client->on_error(nullptr).code() == ErrorCode::InvalidArgument);
  CHECK(client->remove_listener(12345).code() == ErrorCode::NotFound);
  auto listener = client->on_config_changed("k", [](const mds::ConfigChange &) {});
  REQUIRE(listener);
  auto other = client->on_any_config_changed([](const mds::ConfigChange &) {});
  REQUIRE(other);
  CHECK(*other != *listener);
  CHECK(client->on_upgrade_found([](const mds::UpgradeInfo &) {}));
  CHECK(client->on_package_installed([](const mds::PackageInstalled &) {}));
  CHECK(client->on_error([](const mds::Error &) {}));
  CHECK(client->remove_listener(*listener));
  CHECK(client->remove_listener(*listener).code() == ErrorCode::NotFound);

  // Running.
  REQUIRE(client->start());
  CHECK(client->start().code() == ErrorCode::Conflict);

  // After shutdown.
  CHECK(client->shutdown(5s));
  CHECK(client->shutdown(0ms));
  CHECK(client->start().code() == ErrorCode::ShutDown);
  CHECK(client->sync_now().code() == ErrorCode::ShutDown);
  CHECK(client->notify_foreground().code() == ErrorCode::ShutDown);
  CHECK(client->wait_for_sync(0, 10ms).code() == ErrorCode::ShutDown);
  CHECK(client->last_sync().code() == ErrorCode::NotFound);
  CHECK(client->get_int64("k", 9) == 9);
  CHECK(client->on_error([](const mds::Error &) {}));
  CHECK(client->upgrade_prompt_shown("1").code() == ErrorCode::NotFound);
}

TEST_CASE("shutdown() before start() and destruction without shutdown() are fine", "[client][api]") {
  mds::test::TempDir dir;
  {
    auto client = make_client(options_in(dir.path()));
    CHECK(client->shutdown(0ms));
    CHECK(client->start().code() == ErrorCode::ShutDown);
    // Again: there is still no worker to wait for, so it has stopped (and returns at once
    // rather than after the timeout).
    CHECK(client->shutdown(60s));
  }
  {
    auto client = make_client(options_in(dir.path()));
    REQUIRE(client->start());
  } // destroyed running
  auto client = make_client(options_in(dir.path()));
  CHECK(client);
}

TEST_CASE("The device id is generated once and kept, the host's id wins", "[client][api]") {
  mds::test::TempDir dir;
  std::string generated;
  {
    auto client = make_client(options_in(dir.path()));
    generated = client->device_id();
  }
  {
    auto client = make_client(options_in(dir.path()));
    CHECK(client->device_id() == generated);
  }
  auto options = options_in(dir.path());
  options.device.id = "host-device-7";
  auto client = make_client(options);
  CHECK(client->device_id() == "host-device-7");
  mds::test::TempDir other;
  auto elsewhere = make_client(options_in(other.path()));
  CHECK(elsewhere->device_id() != generated);
}

TEST_CASE("A second client on the same state directory gets Locked, also from another process", "[client][api]") {
  mds::test::TempDir dir;
  auto client = make_client(options_in(dir.path()));
  auto second = Client::create(options_in(dir.path()));
  REQUIRE_FALSE(second);
  CHECK(second.code() == ErrorCode::Locked);

  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto other = Client::create(options_in(dir.path()));
    ::_exit(!other && other.code() == ErrorCode::Locked ? 42 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 42);
}

TEST_CASE("A server that is down: failed syncs back off exponentially and reach the error listener",
          "[client][schedule]") {
  mds::test::TempDir dir;
  auto options = options_in(dir.path(), closed_url());
  options.schedule.sync_on_start = true;
  options.schedule.initial_backoff = 100ms;
  options.schedule.max_backoff = 400ms;
  auto client = make_client(options);
  std::mutex mutex;
  std::vector<ErrorCode> errors;
  REQUIRE(client->on_error([&](const mds::Error &error) {
    std::lock_guard<std::mutex> lock(mutex);
    errors.push_back(error.code);
  }));
  REQUIRE(client->start());
  // Backoff bounds per failure: [d/2, d] with d = 100, 200, 400, 400 ms.
  const std::pair<long, long> bounds[] = {{50, 100}, {100, 200}, {200, 400}, {200, 400}};
  std::uint64_t seen = 0;
  for (const auto &[low, high] : bounds) {
    auto report = client->wait_for_sync(seen, 30s);
    REQUIRE(report);
    seen = report->sequence;
    CHECK(report->status.code() == ErrorCode::NetworkUnreachable);
    CHECK(report->next_sync.count() >= low);
    CHECK(report->next_sync.count() <= high);
  }
  CHECK(client->shutdown(10s));
  std::lock_guard<std::mutex> lock(mutex);
  CHECK(errors.size() >= 4);
  CHECK(errors.front() == ErrorCode::NetworkUnreachable);
}

TEST_CASE("Retry-After from a busy server stretches the next sync", "[client][schedule]") {
  mds::test::LoopbackServer server([](int fd, const mds::test::SeenRequest &, const std::atomic<bool> &) {
    const std::string body = R"({"error":{"code":802,"name":"rate_limited","message":"later"}})";
    mds::test::LoopbackServer::send_all(fd, "HTTP/1.1 503 Busy\r\nConnection: close\r\nRetry-After: 120\r\n"
                                            "Content-Length: " +
                                                std::to_string(body.size()) + "\r\n\r\n" + body);
  });
  mds::test::TempDir dir;
  auto options = options_in(dir.path(), server.url());
  options.schedule.initial_backoff = 100ms;
  auto client = make_client(options);
  REQUIRE(client->start());
  REQUIRE(client->sync_now());
  auto report = client->wait_for_sync(0, 30s);
  REQUIRE(report);
  CHECK(report->status.code() == ErrorCode::HttpStatus);
  CHECK(report->status.error().message.find("rate_limited (802): later") != std::string::npos);
  CHECK(report->next_sync >= 120s);
  // Asking again does not hit the server before Retry-After has passed.
  REQUIRE(client->sync_now());
  CHECK(client->wait_for_sync(report->sequence, 1500ms).code() == ErrorCode::Timeout);
  REQUIRE(server.requests().size() == 1);
  const auto request = server.requests()[0];
  CHECK(request.method == "POST");
  CHECK(request.target == "/v1/check");
  CHECK(request.body.find("\"device\":{\"id\":\"" + client->device_id() + "\"") != std::string::npos);
}

TEST_CASE("Listeners run on the host's executor", "[client][api]") {
  mds::test::TempDir dir;
  std::mutex mutex;
  std::deque<std::function<void()>> queue;
  auto options = options_in(dir.path(), closed_url());
  options.executor = [&](std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mutex);
    queue.push_back(std::move(task));
  };
  auto client = make_client(options);
  int calls = 0; // touched only by the tasks, which this thread runs
  REQUIRE(client->on_error([&](const mds::Error &) {
    ++calls;
    throw std::runtime_error("a listener's exception stops at the SDK's wall");
  }));
  REQUIRE(client->start());
  REQUIRE(client->sync_now());
  REQUIRE(client->wait_for_sync(0, 30s));
  CHECK(client->shutdown(10s));
  CHECK(calls == 0);
  std::deque<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(mutex);
    tasks.swap(queue);
  }
  REQUIRE_FALSE(tasks.empty());
  for (auto &task : tasks) {
    task();
  }
  CHECK(calls == static_cast<int>(tasks.size()));
}

TEST_CASE("shutdown() cancels an exchange in flight", "[client][schedule]") {
  mds::test::LoopbackServer server([](int fd, const mds::test::SeenRequest &, const std::atomic<bool> &stop) {
    mds::test::LoopbackServer::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
    while (!stop && mds::test::LoopbackServer::send_all(fd, "{")) {
      std::this_thread::sleep_for(100ms);
    }
  });
  mds::test::TempDir dir;
  auto options = options_in(dir.path(), server.url());
  options.timeouts.request_deadline = 600s;
  options.timeouts.low_speed_bytes_per_second = 1;
  options.timeouts.low_speed_window = 600s;
  auto client = make_client(options);
  REQUIRE(client->start());
  REQUIRE(client->sync_now());
  while (server.requests().empty()) {
    std::this_thread::sleep_for(10ms);
  }
  const auto started = std::chrono::steady_clock::now();
  CHECK(client->shutdown(20s));
  CHECK(std::chrono::steady_clock::now() - started < 20s);
}

TEST_CASE("A damaged database is rebuilt at create() and a storage_corrupt event is queued", "[client][api]") {
  mds::test::TempDir dir;
  std::string device;
  {
    auto client = make_client(options_in(dir.path()));
    device = client->device_id();
  }
  for (const char *suffix : {"-wal", "-shm"}) {
    std::filesystem::remove(dir.path() / (std::string("mds.db") + suffix));
  }
  {
    std::ofstream garbage(dir / "mds.db", std::ios::binary | std::ios::trunc);
    garbage << std::string(4096, '\x07');
  }
  {
    auto client = make_client(options_in(dir.path()));
    CHECK(client->device_id() == device);
  }
  auto store = mds::state::Store::open(dir.path());
  REQUIRE(store);
  auto events = (*store)->oldest_events(10);
  REQUIRE(events);
  REQUIRE(events->size() == 1);
  CHECK(events->front().json.find("\"type\":\"failed\"") != std::string::npos);
  CHECK(events->front().json.find("\"code\":700") != std::string::npos);
}

TEST_CASE("Foreground syncs only when the last attempt is older than the minimum interval", "[client][schedule]") {
  mds::test::TempDir dir;
  auto options = options_in(dir.path(), closed_url());
  options.schedule.sync_on_start = true;
  options.schedule.initial_backoff = 600s;
  options.schedule.max_backoff = 600s;
  options.schedule.min_poll_interval = 1s;
  auto client = make_client(options);
  REQUIRE(client->start());
  auto first = client->wait_for_sync(0, 30s);
  REQUIRE(first);
  // Within the minimum interval: nothing.
  REQUIRE(client->notify_foreground());
  if (std::chrono::system_clock::now() - first->finished_at < 900ms) {
    CHECK(client->wait_for_sync(first->sequence, 200ms).code() == ErrorCode::Timeout);
  }
  // After it: a sync, although the backoff alone would wait ten minutes.
  std::this_thread::sleep_for(1100ms);
  REQUIRE(client->notify_foreground());
  auto second = client->wait_for_sync(first->sequence, 30s);
  REQUIRE(second);
  CHECK(second->sequence == first->sequence + 1);
}

TEST_CASE("The last answer survives a restart: the upgrade on offer and its prompt decision", "[client][api]") {
  mds::test::TempDir dir;
  const std::string hash(64, 'c');
  const std::string answer = R"({"poll_interval":600,"upgrade":{"release":"r7","package":"app","version":"10.3.0",)"
                             R"("mode":"single","remind_days":3,"notes":"faster","envelope":"e","downloads":[)"
                             R"({"kind":"full","url":"/v1/blobs/)" +
                             hash + R"(","size":123,"sha256":")" + hash + R"("}]}})";
  {
    auto store = mds::state::Store::open(dir.path());
    REQUIRE(store);
    REQUIRE((*store)->set_metas({{"check_etag", "\"a1\""}, {"check_answer", answer}}));
  }
  {
    auto client = make_client(options_in(dir.path()));
    auto upgrade = client->pending_upgrade();
    REQUIRE(upgrade);
    CHECK(upgrade->version == "10.3.0");
    CHECK(upgrade->mode == mds::UpgradeMode::Single);
    CHECK(upgrade->notes == "faster");
    CHECK(upgrade->size == 123);
    CHECK(upgrade->sha256 == hash);
    CHECK(upgrade->download_url == "https://mds.example.com/v1/blobs/" + hash);
    CHECK(upgrade->should_prompt);
    CHECK(client->upgrade_prompt_shown("10.2.9").code() == ErrorCode::NotFound);
    REQUIRE(client->upgrade_prompt_shown("10.3.0"));
    CHECK_FALSE(client->pending_upgrade()->should_prompt); // single: again in 3 days
  }
  {
    auto client = make_client(options_in(dir.path()));
    REQUIRE(client->pending_upgrade());
    CHECK_FALSE(client->pending_upgrade()->should_prompt); // the prompt was kept too
  }
  auto store = mds::state::Store::open(dir.path());
  REQUIRE(store);
  auto events = (*store)->oldest_events(10);
  REQUIRE(events);
  REQUIRE(events->size() == 1);
  CHECK(events->front().json.find("\"type\":\"prompt_shown\",") != std::string::npos);
  CHECK(events->front().json.find("\"version\":\"10.3.0\"") != std::string::npos);

  // A stored answer that no longer parses is dropped with its ETag.
  REQUIRE((*store)->set_metas({{"check_answer", "{\"poll_interval\":0}"}}));
  store->reset();
  {
    auto client = make_client(options_in(dir.path()));
    CHECK_FALSE(client->pending_upgrade());
  }
  auto reopened = mds::state::Store::open(dir.path());
  REQUIRE(reopened);
  CHECK((*reopened)->meta("check_etag")->value_or("?").empty());
}
