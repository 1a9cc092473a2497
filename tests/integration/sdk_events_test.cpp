// The SDK in this process against the real mds-server: device events delivered exactly
// once across client and server restarts, a batch the server refuses, events sent at
// shutdown, and the sync schedule while the server is down and when it is back.
#include "fixture.hpp"

#include <mds/client.hpp>

#include "client/event_queue.hpp"
#include "state/store.hpp"
#include "transport/protocol.hpp"

#include <iostream>
#include <mutex>

using namespace mds::test;
using mds::ErrorCode;
using namespace std::chrono_literals;

namespace {

mds::ClientOptions device_options(const std::string &url, const std::filesystem::path &state) {
  mds::ClientOptions options;
  options.server_url = url;
  options.app_id = "demo";
  options.platform = "android";
  options.app_version = "10.2.3";
  options.device.id = "device-1";
  options.state_directory = state.string();
  options.trusted_public_keys = {publisher_key_pem()};
  options.timeouts.connect = 2s;
  options.timeouts.request_deadline = 10s;
  options.schedule.sync_on_start = true;
  return options;
}

std::unique_ptr<mds::Client> make_client(const mds::ClientOptions &options) {
  auto client = mds::Client::create(options);
  if (!client) {
    FAIL(mds::describe(client.error()));
  }
  return std::move(*client);
}

// One run of the app: create, start (a sync at once), the first sync's report, shut down.
mds::SyncReport run_once(const mds::ClientOptions &options, std::vector<std::string> *errors = nullptr) {
  auto client = make_client(options);
  std::mutex mutex;
  if (errors != nullptr) {
    REQUIRE(client->on_error([&](const mds::Error &error) {
      std::lock_guard<std::mutex> lock(mutex);
      errors->push_back(mds::describe(error));
    }));
  }
  REQUIRE(client->start());
  auto report = client->wait_for_sync(0, 60s);
  REQUIRE(report);
  CHECK(client->shutdown(10s));
  return *report;
}

std::unique_ptr<mds::state::Store> open_store(const std::filesystem::path &dir) {
  auto store = mds::state::Store::open(dir);
  REQUIRE(store);
  return std::move(*store);
}

std::uint64_t queued(const std::filesystem::path &dir) {
  return open_store(dir)->event_count().value();
}

void set_up_app(HttpClient &client) {
  REQUIRE(client.admin("POST", "/v1/admin/apps", app_body("demo")).status == 201);
  REQUIRE(client.admin("PUT", "/v1/admin/apps/demo/config/welcome", R"({"value":"hi"})").status == 200);
}

// A release of the app for events to name (a config release: packages are not needed to
// count device events).
std::string create_release(HttpClient &client) {
  auto created =
      client.admin("POST", "/v1/admin/releases", R"({"app":"demo","config":{"welcome":"all"},"stage":"full"})");
  INFO(created.body);
  REQUIRE(created.status == 201);
  return std::to_string(parse_json(created).root()["id"].GetInt64());
}

std::uint64_t counter(HttpClient &client, const std::string &release, const char *name) {
  auto response = client.admin("GET", "/v1/admin/releases/" + release + "/counters");
  INFO(response.body);
  REQUIRE(response.status == 200);
  return parse_json(response).root()[name].GetUint64();
}

// A new server process on the data directory and address of the one before.
void start_again(RunningServer &running, const std::string &address) {
  running.server = ServerProcess::start(running.data_dir(), running.token_file(), {"--listen", address});
  running.client = std::make_unique<HttpClient>(running.server->base_url());
}

void stop(RunningServer &running) {
  running.client.reset();
  REQUIRE(running.server->stop() == 0);
}

std::size_t count_of(const std::string &text, const std::string &needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

} // namespace

TEST_CASE("queued events reach the server exactly once across client and server restarts", "[integration][events]") {
  RunningServer running;
  set_up_app(*running.client);
  const std::string release = create_release(*running.client);
  TempDir device;
  // A previous run of the app queued six events and stopped before sending them.
  {
    auto store = open_store(device.path());
    mds::client::EventQueue events(*store, 1000);
    const mds::client::EventSubject subject{release, "app", "10.3.0"};
    REQUIRE(events.downloaded(subject, "full"));
    REQUIRE(events.installed(subject));
    REQUIRE(events.installed(subject));
    REQUIRE(events.installed(subject));
    REQUIRE(events.failed(subject, ErrorCode::FileHashMismatch, "lib/app.so"));
    REQUIRE(events.failed(subject, ErrorCode::FileSizeMismatch, "lib/app.so"));
    // ... and a run before it sent the first two, but its answer was lost: the server
    // holds them, the device does not know.
    auto first_two = store->oldest_events(2);
    REQUIRE(first_two);
    std::vector<std::string> objects;
    for (const auto &event : *first_two) {
      objects.push_back(event.json);
    }
    auto sent = running.client->request("POST", "/v1/events",
                                        mds::transport::build_events_request("demo", "device-1", objects));
    REQUIRE(sent.status == 200);
  }
  CHECK(counter(*running.client, release, "downloaded") == 1);
  CHECK(counter(*running.client, release, "installed") == 1);

  const std::string address = running.server->listen_address();
  const auto options = device_options("http://" + address, device.path());
  // The server is down: the sync fails and every event stays queued.
  stop(running);
  auto down = run_once(options);
  CHECK(down.status.code() == ErrorCode::NetworkUnreachable);
  CHECK(queued(device.path()) == 6);

  // A new server process on the same data; the app starts again: everything is delivered.
  start_again(running, address);
  auto up = run_once(options);
  INFO(mds::describe(up.status.ok() ? mds::Error{} : up.status.error()));
  REQUIRE(up.status);
  CHECK(queued(device.path()) == 0);
  CHECK(counter(*running.client, release, "downloaded") == 1);
  CHECK(counter(*running.client, release, "installed") == 3);
  CHECK(counter(*running.client, release, "failed") == 2);
  CHECK(open_store(device.path())->events_dropped().value() == 0);

  // Restarting both again changes nothing: each event was stored once.
  stop(running);
  start_again(running, address);
  REQUIRE(run_once(options).status);
  CHECK(counter(*running.client, release, "downloaded") == 1);
  CHECK(counter(*running.client, release, "installed") == 3);
  CHECK(counter(*running.client, release, "failed") == 2);
  CHECK(counter(*running.client, release, "rolled_back") == 0);
}

TEST_CASE("a backlog goes in batches of at most 100, the oldest beyond the queue's capacity are dropped and counted",
          "[integration][events]") {
  RunningServer running;
  set_up_app(*running.client);
  const std::string release = create_release(*running.client);
  TempDir device;
  {
    auto store = open_store(device.path());
    mds::client::EventQueue events(*store, 260);
    for (int i = 0; i < 270; ++i) {
      REQUIRE(events.installed({release, "app", "10.3." + std::to_string(i)}));
    }
    CHECK(store->events_dropped().value() == 10);
  }
  auto options = device_options(running.server->base_url(), device.path());
  options.caps.event_queue = 260;
  REQUIRE(run_once(options).status);
  CHECK(queued(device.path()) == 0);
  CHECK(counter(*running.client, release, "installed") == 260);
  const auto log = running.server->log_containing(R"("route":"/v1/events")");
  std::cout << "events requests for 260 events: " << count_of(log, R"("route":"/v1/events")") << "\n";
  CHECK(count_of(log, R"("route":"/v1/events","status":200)") == 3);
}

TEST_CASE("an event the server refuses is split out of its batch and dropped with a count, the others arrive",
          "[integration][events]") {
  RunningServer running;
  set_up_app(*running.client);
  const std::string release = create_release(*running.client);
  TempDir device;
  {
    auto store = open_store(device.path());
    mds::client::EventQueue events(*store, 1000);
    for (int i = 0; i < 3; ++i) {
      REQUIRE(events.installed({release, "app", "10.3.0"}));
    }
    // An event of a type this server does not know (as a newer SDK could have queued).
    REQUIRE(store->enqueue_event({"foreign-1", R"({"id":"foreign-1","type":"exploded","time":"2026-11-22T10:00:00Z"})"},
                                 1000));
    for (int i = 0; i < 4; ++i) {
      REQUIRE(events.installed({release, "app", "10.3.0"}));
    }
  }
  std::vector<std::string> errors;
  REQUIRE(run_once(device_options(running.server->base_url(), device.path()), &errors).status);
  CHECK(queued(device.path()) == 0);
  CHECK(open_store(device.path())->events_dropped().value() == 1);
  CHECK(counter(*running.client, release, "installed") == 7);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("1 queued events refused by the server and dropped") != std::string::npos);
  CHECK(errors[0].find("json_value_out_of_range") != std::string::npos);
  const auto log = running.server->log_containing(R"("route":"/v1/events","status":400)");
  // 8 events, one bad: 1 + 2 + 2 + 2 requests to isolate it.
  std::cout << "events requests to isolate one refused event among 8: " << count_of(log, R"("route":"/v1/events")")
            << "\n";
}

TEST_CASE("events queued while the app runs are sent at shutdown when the server is reachable",
          "[integration][events]") {
  RunningServer running;
  set_up_app(*running.client);
  TempDir device;
  // The last answer offered an upgrade (as a previous run left it).
  {
    const std::string hash(64, 'c');
    auto store = open_store(device.path());
    REQUIRE(store->set_metas(
        {{"check_etag", "\"e\""},
         {"check_answer", R"({"poll_interval":600,"upgrade":{"release":"7","package":"app","version":"10.3.0",)"
                          R"("mode":"single","remind_days":3,"notes":"","envelope":"e","downloads":[)"
                          R"({"kind":"full","url":"/v1/blobs/)" +
                              hash + R"(","size":1,"sha256":")" + hash + R"("}]}})"}}));
  }
  auto options = device_options(running.server->base_url(), device.path());
  options.schedule.sync_on_start = false;
  auto client = make_client(options);
  REQUIRE(client->start());
  REQUIRE(client->pending_upgrade());
  REQUIRE(client->upgrade_prompt_shown("10.3.0"));
  CHECK(client->shutdown(10s));
  client.reset();
  CHECK(queued(device.path()) == 0);
  // Sent by the final delivery of shutdown(): the client never synced.
  const auto log = running.server->log_containing(R"("route":"/v1/events","status":200)");
  CHECK(count_of(log, R"("route":"/v1/events","status":200)") == 1);
  CHECK(count_of(log, R"("route":"/v1/check")") == 0);
}

TEST_CASE("while the server is down syncs back off with jitter up to the cap, once it is back the poll interval "
          "returns",
          "[integration][schedule]") {
  RunningServer running;
  set_up_app(*running.client);
  auto answer = running.client->request(
      "POST", "/v1/check", R"({"app":"demo","platform":"android","app_version":"10.2.3","device":{"id":"probe"}})");
  REQUIRE(answer.status == 200);
  const auto server_poll = std::chrono::seconds(parse_json(answer).root()["poll_interval"].GetUint());
  const std::string address = running.server->listen_address();
  stop(running);

  TempDir device;
  auto options = device_options("http://" + address, device.path());
  options.schedule.initial_backoff = 100ms;
  options.schedule.max_backoff = 800ms;
  auto client = make_client(options);
  REQUIRE(client->start());
  // The n-th failure in a row waits initial * 2^(n-1), at most the cap, times [0.5, 1].
  std::uint64_t seen = 0;
  std::vector<long> delays;
  for (long base : {100L, 200L, 400L, 800L, 800L, 800L}) {
    auto report = client->wait_for_sync(seen, 60s);
    REQUIRE(report);
    seen = report->sequence;
    CHECK(report->status.code() == ErrorCode::NetworkUnreachable);
    const long delay = static_cast<long>(report->next_sync.count());
    delays.push_back(delay);
    CHECK(delay >= base / 2);
    CHECK(delay <= base);
  }
  std::cout << "backoff delays (ms):";
  for (long delay : delays) {
    std::cout << " " << delay;
  }
  std::cout << "\n";

  start_again(running, address);
  std::optional<mds::SyncReport> good;
  for (int attempt = 0; attempt < 100 && !good; ++attempt) {
    auto report = client->wait_for_sync(seen, 60s);
    REQUIRE(report);
    seen = report->sequence;
    if (report->status) {
      good = *report;
    } else {
      CHECK(report->next_sync <= 800ms);
    }
  }
  REQUIRE(good);
  const auto poll = std::max<std::chrono::milliseconds>(server_poll, options.schedule.min_poll_interval);
  std::cout << "after recovery: next sync in " << good->next_sync.count() << " ms (poll " << poll.count() << " ms)\n";
  CHECK(good->next_sync >= poll * 9 / 10);
  CHECK(good->next_sync <= poll * 11 / 10);
  CHECK(client->shutdown(10s));
}
