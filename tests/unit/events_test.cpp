// Device events as the client queues them (client/event_queue.hpp), upgrade prompt
// decisions walked over simulated days through the real Client (the wall clock seam of
// client/wall_clock.hpp), and check requests that would exceed the server's body limit.
#include <mds/client.hpp>

#include "client/event_queue.hpp"
#include "core/json/json.hpp"
#include "state/store.hpp"
#include "support/loopback_server.hpp"
#include "support/simulated_clock.hpp"
#include "support/temp_dir.hpp"
#include "transport/protocol.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>

using mds::Client;
using mds::ClientOptions;
using mds::ErrorCode;
using mds::client::EventQueue;
using namespace std::chrono_literals;

namespace {

std::string trusted_key() {
  std::ifstream in(std::filesystem::path(MDS_TEST_DATA_DIR) / "keys" / "p256-public.pem");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

ClientOptions options_in(const std::filesystem::path &state, const std::string &url = "https://mds.example.com") {
  ClientOptions options;
  options.server_url = url;
  options.app_id = "demo";
  options.platform = "android";
  options.app_version = "10.2.3";
  options.state_directory = state.string();
  options.trusted_public_keys = {trusted_key()};
  options.timeouts.connect = 2s;
  options.timeouts.request_deadline = 10s;
  options.schedule.sync_on_start = false;
  return options;
}

std::unique_ptr<Client> make_client(const ClientOptions &options) {
  auto client = Client::create(options);
  if (!client) {
    FAIL(mds::describe(client.error()));
  }
  return std::move(*client);
}

// A stored check answer offering upgrade 10.3.0 in `mode`, as a sync leaves it.
std::string upgrade_answer(const std::string &mode, unsigned remind_days) {
  const std::string hash(64, 'c');
  return R"({"poll_interval":600,"upgrade":{"release":"7","package":"app","version":"10.3.0","mode":")" + mode +
         R"(","remind_days":)" + std::to_string(remind_days) +
         R"(,"notes":"faster","envelope":"e","downloads":[{"kind":"full","url":"/v1/blobs/)" + hash +
         R"(","size":123,"sha256":")" + hash + R"("}]}})";
}

std::vector<std::string> queued_json(const std::filesystem::path &dir) {
  auto store = mds::state::Store::open(dir);
  REQUIRE(store);
  auto events = (*store)->oldest_events(1000);
  REQUIRE(events);
  std::vector<std::string> out;
  for (const auto &event : *events) {
    out.push_back(event.json);
  }
  return out;
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("cut_utf8 never splits a character", "[events]") {
  struct Case {
    std::string text;
    std::size_t max;
    std::string expected;
  };
  const Case cases[] = {
      {"abc", 3, "abc"},
      {"abcd", 3, "abc"},
      {"ab\xC3\xA9", 3, "ab"},         // é would be cut after its first byte
      {"ab\xC3\xA9", 4, "ab\xC3\xA9"}, // fits exactly
      {"a\xE2\x82\xAC"
       "b",
       3, "a"},                      // € cut in the middle
      {"a\xF0\x9F\x98\x80", 4, "a"}, // an emoji cut before its last byte
      {"\xF0\x9F\x98\x80\xF0\x9F\x98\x80", 5, "\xF0\x9F\x98\x80"},
      {"", 0, ""},
  };
  for (const auto &c : cases) {
    INFO(c.text << " max " << c.max);
    CHECK(mds::client::cut_utf8(c.text, c.max) == c.expected);
  }
}

TEST_CASE("The event queue records each event type with its subject, code and a bounded detail", "[events]") {
  mds::test::TempDir dir;
  {
    auto store = mds::state::Store::open(dir.path());
    REQUIRE(store);
    EventQueue events(**store, 100);
    const mds::client::EventSubject subject{"12", "h5-app", "1.1.0"};
    REQUIRE(events.offered(subject, "single"));
    REQUIRE(events.prompt_shown(subject));
    REQUIRE(events.downloaded(subject, "delta"));
    REQUIRE(events.installed(subject));
    REQUIRE(events.failed(subject, ErrorCode::FileHashMismatch, "lib/app.js"));
    REQUIRE(events.rolled_back(subject, ErrorCode::DeltaInvalid, std::string(3000, 'x')));
    REQUIRE(events.failed({}, ErrorCode::StorageCorrupt, std::string(1023, 'y') + "\xC3\xA9"));
  }
  const auto queued = queued_json(dir.path());
  REQUIRE(queued.size() == 7);
  const char *types[] = {"offered", "prompt_shown", "downloaded", "installed", "failed", "rolled_back", "failed"};
  for (std::size_t i = 0; i < queued.size(); ++i) {
    INFO(queued[i]);
    CHECK(contains(queued[i], std::string("\"type\":\"") + types[i] + "\""));
    auto parsed = mds::core::json::parse(queued[i]);
    REQUIRE(parsed);
    CHECK(parsed->root()["id"].GetStringLength() == 36);
    CHECK(parsed->root()["time"].GetStringLength() == 20);
    if (i < 6) {
      CHECK(contains(queued[i], R"("release":"12","package":"h5-app","version":"1.1.0")"));
    }
  }
  CHECK(contains(queued[0], R"("detail":"single")"));
  CHECK_FALSE(contains(queued[1], "code"));
  CHECK(contains(queued[4], "\"code\":" + std::to_string(static_cast<unsigned>(ErrorCode::FileHashMismatch))));
  CHECK(contains(queued[5], "\"code\":" + std::to_string(static_cast<unsigned>(ErrorCode::DeltaInvalid))));
  CHECK(contains(queued[5], "\"detail\":\"" + std::string(1024, 'x') + "\""));
  // The é that would straddle the 1024-byte limit goes whole.
  CHECK(contains(queued[6], "\"detail\":\"" + std::string(1023, 'y') + "\""));
  CHECK_FALSE(contains(queued[6], "release"));
}

TEST_CASE("The event queue keeps the newest events up to its capacity, counts the rest, survives reopening",
          "[events]") {
  mds::test::TempDir dir;
  {
    auto store = mds::state::Store::open(dir.path());
    REQUIRE(store);
    EventQueue events(**store, 5);
    for (int i = 0; i < 8; ++i) {
      REQUIRE(events.installed({"1", "pkg", "1.0." + std::to_string(i)}));
    }
  }
  const auto queued = queued_json(dir.path());
  REQUIRE(queued.size() == 5);
  CHECK(contains(queued.front(), "\"version\":\"1.0.3\""));
  CHECK(contains(queued.back(), "\"version\":\"1.0.7\""));
  auto store = mds::state::Store::open(dir.path());
  REQUIRE(store);
  CHECK(*(*store)->events_dropped() == 3);
  auto discarded = (*store)->discard_events({"no-such-id"});
  REQUIRE(discarded);
  CHECK(*discarded == 0);
  CHECK(*(*store)->events_dropped() == 3);
}

TEST_CASE("Upgrade prompts over simulated days through the Client, per mode, across restarts", "[events][decisions]") {
  constexpr std::int64_t day = 86400;
  constexpr std::int64_t start = 1'800'000'000;
  struct Case {
    std::string mode;
    unsigned remind_days;
    std::string expected; // days 0..7: did the Client say "prompt now" (the host then prompts)?
  };
  const Case cases[] = {
      {"single", 3, "10010010"},     {"single", 1, "11111111"}, {"single", 2, "10101010"},
      {"every_time", 3, "11111111"}, {"force", 3, "11111111"},  {"silent", 3, "00000000"},
  };
  for (const auto &c : cases) {
    INFO(c.mode << " remind_days " << c.remind_days);
    mds::test::TempDir dir;
    {
      auto store = mds::state::Store::open(dir.path());
      REQUIRE(store);
      REQUIRE((*store)->set_metas({{"check_etag", "\"e\""}, {"check_answer", upgrade_answer(c.mode, c.remind_days)}}));
    }
    mds::test::SimulatedClock clock(start);
    std::string prompted;
    std::unique_ptr<Client> client = make_client(options_in(dir.path()));
    for (int d = 0; d < 8; ++d) {
      if (d == 4) {
        client.reset(); // an app restart mid-way
        client = make_client(options_in(dir.path()));
      }
      clock.set(start + d * day + 3600);
      auto upgrade = client->pending_upgrade();
      REQUIRE(upgrade);
      CHECK(mds::to_string(upgrade->mode) == c.mode);
      prompted += upgrade->should_prompt ? '1' : '0';
      if (upgrade->should_prompt) {
        REQUIRE(client->upgrade_prompt_shown(upgrade->version));
        // Prompted today: single waits, the others ask again.
        CHECK(client->pending_upgrade()->should_prompt == (c.mode == "every_time" || c.mode == "force"));
      }
    }
    CHECK(prompted == c.expected);
    client.reset();
    // Every prompt shown was queued as an event with the simulated time.
    const auto queued = queued_json(dir.path());
    CHECK(queued.size() == static_cast<std::size_t>(std::count(prompted.begin(), prompted.end(), '1')));
    for (const auto &event : queued) {
      CHECK(contains(event, R"("type":"prompt_shown")"));
      CHECK(contains(event, "\"time\":\"2027-01-"));
    }
  }
}

TEST_CASE("A check request above the server's 64 KiB is refused on the device, before sending", "[events][client]") {
  // At create(): what the host describes may take half of it.
  {
    mds::test::TempDir dir;
    auto options = options_in(dir / "s");
    for (int i = 0; i < 40; ++i) {
      options.attributes["attribute-" + std::to_string(i)] = std::string(1000, 'v');
    }
    auto refused = Client::create(options);
    REQUIRE_FALSE(refused);
    CHECK(refused.code() == ErrorCode::InvalidArgument);
    CHECK(contains(refused.error().message, "ClientOptions::attributes"));
    CHECK(contains(refused.error().message, "at most 32768"));
    CHECK_FALSE(std::filesystem::exists(dir / "s"));
    options.attributes.erase("attribute-0");
    options.attributes.erase("attribute-1");
    options.attributes.erase("attribute-2");
    options.attributes.erase("attribute-3");
    options.attributes.erase("attribute-4");
    options.attributes.erase("attribute-5");
    options.attributes.erase("attribute-6");
    options.attributes.erase("attribute-7");
    options.attributes.erase("attribute-8");
    CHECK(Client::create(options)); // 31 KB of attributes: accepted
  }
  // At sync: with the installed packages on top, the request would be too large.
  std::atomic<int> requests{0};
  mds::test::LoopbackServer server([&](int, const mds::test::SeenRequest &, const std::atomic<bool> &) { ++requests; });
  mds::test::TempDir dir;
  {
    auto store = mds::state::Store::open(dir.path());
    REQUIRE(store);
    for (int i = 0; i < 500; ++i) {
      REQUIRE((*store)->set_installed("offline", "package-" + std::to_string(i) + std::string(60, 'p'), "1.0.0"));
    }
  }
  auto options = options_in(dir.path(), server.url());
  for (int i = 0; i < 30; ++i) {
    options.attributes["attribute-" + std::to_string(i)] = std::string(1000, 'v');
  }
  auto client = make_client(options);
  REQUIRE(client->start());
  REQUIRE(client->sync_now());
  auto report = client->wait_for_sync(0, 30s);
  REQUIRE(report);
  CHECK(report->status.code() == ErrorCode::InvalidArgument);
  CHECK(contains(report->status.error().message, "above the server's limit of 65536"));
  CHECK(client->shutdown(10s));
  CHECK(requests == 0);
}
