// Event delivery (client/event_delivery.hpp) against a loopback server answering what the
// real server never does: partial or foreign acknowledgements, 429, 503, a 400 for every
// batch. The real server's behaviour is covered by tests/integration/sdk_events_test.cpp.
#include "client/event_delivery.hpp"
#include "client/event_queue.hpp"
#include "state/store.hpp"
#include "support/loopback_server.hpp"
#include "support/temp_dir.hpp"
#include "transport/http.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <regex>

using mds::ErrorCode;
using mds::test::LoopbackServer;
using mds::test::SeenRequest;

namespace {

void answer(int fd, int status, const std::string &body, const std::string &extra = "") {
  LoopbackServer::send_all(fd, "HTTP/1.1 " + std::to_string(status) + " X\r\nConnection: close\r\n" + extra +
                                   "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                                   "\r\n\r\n" + body);
}

// The event ids of a POST /v1/events body, in order.
std::vector<std::string> ids_in(const std::string &body) {
  std::vector<std::string> ids;
  const std::regex id(R"re("id":"([^"]+)")re");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), id); it != std::sregex_iterator(); ++it) {
    ids.push_back((*it)[1]);
  }
  return ids;
}

std::string accepted(const std::vector<std::string> &ids) {
  std::string out = R"({"accepted":[)";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    out += (i ? ",\"" : "\"") + ids[i] + "\"";
  }
  return out + "]}";
}

} // namespace

TEST_CASE("Event delivery deletes exactly what is acknowledged and stops on answers that mean later",
          "[events][faults]") {
  struct Case {
    std::string name;
    std::function<void(int, const SeenRequest &)> server;
    ErrorCode code;          // of the delivery
    std::uint64_t remaining; // of 5 queued events
    std::uint64_t dropped;
    std::size_t requests;
  };
  const std::vector<Case> cases = {
      {"all acknowledged", [](int fd, const SeenRequest &r) { answer(fd, 200, accepted(ids_in(r.body))); },
       ErrorCode::Ok, 0, 0, 1},
      {"the first two acknowledged, and an id never sent",
       [](int fd, const SeenRequest &r) {
         auto ids = ids_in(r.body);
         answer(fd, 200, accepted({ids[0], ids[1], "not-sent"}));
       },
       ErrorCode::Ok, 3, 0, 1},
      {"none acknowledged", [](int fd, const SeenRequest &) { answer(fd, 200, R"({"accepted":[]})"); }, ErrorCode::Ok,
       5, 0, 1},
      {"503", [](int fd, const SeenRequest &) { answer(fd, 503, "{}", "Retry-After: 30\r\n"); }, ErrorCode::HttpStatus,
       5, 0, 1},
      {"429", [](int fd, const SeenRequest &) { answer(fd, 429, "{}"); }, ErrorCode::HttpStatus, 5, 0, 1},
      {"408", [](int fd, const SeenRequest &) { answer(fd, 408, "{}"); }, ErrorCode::HttpStatus, 5, 0, 1},
      {"a malformed answer", [](int fd, const SeenRequest &) { answer(fd, 200, R"({"accepted":"all"})"); },
       ErrorCode::JsonWrongType, 5, 0, 1},
      // 5 → 2 + 3 → 1 + 1 + 1 + 2 → 1 + 1: nine requests, every event dropped alone.
      {"400 for everything",
       [](int fd, const SeenRequest &) {
         answer(fd, 400, R"({"error":{"code":208,"name":"json_value_out_of_range","message":"no"}})");
       },
       ErrorCode::Ok, 0, 5, 9},
  };
  for (const auto &c : cases) {
    INFO(c.name);
    LoopbackServer server(
        [&](int fd, const SeenRequest &request, const std::atomic<bool> &) { c.server(fd, request); });
    mds::test::TempDir dir;
    auto store = mds::state::Store::open(dir.path());
    REQUIRE(store);
    mds::client::EventQueue events(**store, 100);
    for (int i = 0; i < 5; ++i) {
      REQUIRE(events.installed({"1", "app", "1.0." + std::to_string(i)}));
    }
    mds::transport::Http http(mds::transport::HttpSettings{});
    mds::client::EventDeliverySettings settings;
    settings.url = server.url() + "/v1/events";
    settings.app_id = "demo";
    settings.device_id = "d-1";
    auto report = mds::client::deliver_events(**store, http, settings);
    CHECK(report.code() == c.code);
    CHECK((*store)->event_count().value() == c.remaining);
    CHECK((*store)->events_dropped().value() == c.dropped);
    CHECK(server.requests().size() == c.requests);
    if (report) {
      CHECK(report->refused == c.dropped);
      CHECK(report->drained == (c.remaining == 0));
      CHECK(report->delivered == 5 - c.remaining - c.dropped);
    }
  }
}

TEST_CASE("Event delivery stops at its request budget and keeps the rest", "[events][faults]") {
  LoopbackServer server([](int fd, const SeenRequest &request, const std::atomic<bool> &) {
    answer(fd, 200, accepted(ids_in(request.body)));
  });
  mds::test::TempDir dir;
  auto store = mds::state::Store::open(dir.path());
  REQUIRE(store);
  mds::client::EventQueue events(**store, 1000);
  for (int i = 0; i < 250; ++i) {
    REQUIRE(events.downloaded({"1", "app", "1.0." + std::to_string(i)}));
  }
  mds::transport::Http http(mds::transport::HttpSettings{});
  mds::client::EventDeliverySettings settings;
  settings.url = server.url() + "/v1/events";
  settings.app_id = "demo";
  settings.device_id = "d-1";
  settings.max_requests = 2;
  auto report = mds::client::deliver_events(**store, http, settings);
  REQUIRE(report);
  CHECK(report->delivered == 200);
  CHECK_FALSE(report->drained);
  CHECK((*store)->event_count().value() == 50);
  // Oldest first: what is left is the newest.
  auto left = (*store)->oldest_events(1);
  REQUIRE(left);
  CHECK(left->front().json.find("\"version\":\"1.0.200\"") != std::string::npos);
  for (const auto &request : server.requests()) {
    CHECK(ids_in(request.body).size() == 100);
  }
}
