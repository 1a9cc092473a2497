#include "server/cli/options.hpp"
#include "server/http/listen_socket.hpp"
#include "server/http/message.hpp"
#include "server/http/router.hpp"
#include "server/util/time.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

using namespace mds::server;
using mds::ErrorCode;

TEST_CASE("listen addresses", "[http]") {
  auto v4 = http::parse_listen_address("127.0.0.1:8080");
  REQUIRE(v4.ok());
  CHECK(v4->host == "127.0.0.1");
  CHECK(v4->port == 8080);
  auto v6 = http::parse_listen_address("[::1]:0");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->port == 0);
  for (const char *bad : {"", "8080", ":8080", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:80a", "::1:80", "[::1:80"}) {
    INFO(bad);
    CHECK(http::parse_listen_address(bad).code() == ErrorCode::InvalidArgument);
  }
}

TEST_CASE("a busy port gives a clear error", "[http]") {
  auto first = http::ListenSocket::bind_and_listen({"127.0.0.1", 0});
  REQUIRE(first.ok());
  const auto port = static_cast<std::uint16_t>(std::stoi(first->bound_address().substr(10)));
  auto second = http::ListenSocket::bind_and_listen({"127.0.0.1", port});
  CHECK(second.code() == ErrorCode::AlreadyExists);
  CHECK_THAT(second.error().message, Catch::Contains("already in use"));
}

TEST_CASE("server options", "[cli]") {
  auto options = parse_server_options({"--data", "d", "--listen", "127.0.0.1:0", "--admin-token-file", "t"});
  REQUIRE(options.ok());
  CHECK(options->data_dir == "d");
  CHECK(parse_server_options({"--data", "d"}).code() == ErrorCode::InvalidArgument);
  CHECK(parse_server_options({"--data", "d", "--listen", "x", "--admin-token-file", "t"}).code() ==
        ErrorCode::InvalidArgument);
  CHECK(parse_server_options({"--data", "d", "--listen", "127.0.0.1:0", "--admin-token-file", "t", "--threads", "0"})
            .code() == ErrorCode::InvalidArgument);
  CHECK(parse_server_options({"--bogus"}).code() == ErrorCode::InvalidArgument);
  CHECK(parse_server_options({"--help"})->show_help);
}

TEST_CASE("server options: load shedding and poll interval", "[cli]") {
  const std::vector<std::string> base = {"--data", "d", "--listen", "127.0.0.1:0", "--admin-token-file", "t"};
  auto defaults = parse_server_options(base);
  REQUIRE(defaults.ok());
  CHECK(defaults->max_pending_checks == 64);
  CHECK(defaults->retry_after == 30);
  CHECK(defaults->poll_interval == 1800);
  CHECK(defaults->drain_seconds == 10);

  auto with = [&](std::vector<std::string> extra) {
    auto arguments = base;
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    return parse_server_options(arguments);
  };
  auto given =
      with({"--max-pending-checks", "1", "--retry-after", "7", "--poll-interval", "604800", "--drain-seconds", "3600"});
  REQUIRE(given.ok());
  CHECK(given->drain_seconds == 3600);
  CHECK(given->max_pending_checks == 1);
  CHECK(given->retry_after == 7);
  CHECK(given->poll_interval == 604800);

  const std::vector<std::vector<std::string>> refused = {
      {"--max-pending-checks", "0"},  {"--max-pending-checks", "100001"},
      {"--max-pending-checks", "-1"}, {"--max-pending-checks", ""},
      {"--retry-after", "0"},         {"--retry-after", "86401"},
      {"--retry-after", "1s"},        {"--poll-interval", "0"},
      {"--poll-interval", "604801"},  {"--poll-interval", "99999999999999999999"},
      {"--drain-seconds", "0"},       {"--drain-seconds", "3601"}};
  for (const auto &extra : refused) {
    INFO(extra[0] << " " << extra[1]);
    auto options = with(extra);
    CHECK(options.code() == ErrorCode::InvalidArgument);
    if (!options) {
      CHECK_THAT(options.error().message, Catch::Contains(extra[0]));
    }
  }
}

TEST_CASE("routes match by pattern and method", "[http]") {
  http::Router router;
  router.add({"GET", "/v1/admin/releases/{id}", http::Access::Admin, http::BodyMode::None, 0, nullptr});
  router.add({"POST", "/v1/admin/releases/{id}/{action}", http::Access::Admin, http::BodyMode::Buffered, 10, nullptr});
  auto match = router.match("POST", "/v1/admin/releases/12/promote");
  REQUIRE(match.route != nullptr);
  CHECK(match.params["id"] == "12");
  CHECK(match.params["action"] == "promote");
  auto wrong_method = router.match("DELETE", "/v1/admin/releases/12");
  CHECK(wrong_method.route == nullptr);
  CHECK(wrong_method.path_known);
  auto unknown = router.match("GET", "/v1/admin/releases/");
  CHECK(unknown.route == nullptr);
  CHECK_FALSE(unknown.path_known);
  CHECK(router.match("GET", "/v1/admin/releases/1/2/3").route == nullptr);
}

TEST_CASE("errors map to HTTP statuses and JSON", "[http]") {
  CHECK(http::http_status_for(ErrorCode::Unauthorized) == 401);
  CHECK(http::http_status_for(ErrorCode::PayloadTooLarge) == 413);
  CHECK(http::http_status_for(ErrorCode::ReleaseStateInvalid) == 409);
  CHECK(http::http_status_for(ErrorCode::JsonSyntax) == 400);
  CHECK(http::http_status_for(ErrorCode::NotFound) == 404);
  CHECK(http::http_status_for(ErrorCode::StorageFailure) == 500);
  auto response = http::Response::error(mds::make_error(ErrorCode::Unauthorized, "say \"no\""));
  CHECK(response.status == 401);
  CHECK(response.body == R"({"error":{"code":800,"name":"unauthorized","message":"say \"no\""}})");
}

TEST_CASE("the log's times are now, to the millisecond", "[time]") {
  for (int i = 0; i < 3; ++i) {
    const auto before =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const auto text = format_utc_now_millis();
    REQUIRE(text.size() == 24);
    CHECK(text[19] == '.');
    CHECK(text.find_first_not_of("0123456789", 20) == 23);
    CHECK(text[23] == 'Z');
    const auto seconds = parse_utc(text.substr(0, 19) + "Z");
    REQUIRE(seconds.ok());
    CHECK(*seconds >= before);
    CHECK(*seconds <= before + 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(600)); // the next second, formatted again
  }
}

TEST_CASE("UTC times", "[time]") {
  CHECK(format_utc(0) == "1970-01-01T00:00:00Z");
  CHECK(parse_utc("2024-02-29T12:00:00Z").value() == 1709208000);
  for (const char *bad : {"2023-02-29T12:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00",
                          "2024-01-01T24:00:00Z", "2024-01-01T00:00:00.Z", "1969-12-31T23:59:59Z",
                          "2024-01-01T00:00:00.5Z", "2024-01-01t00:00:00z"}) {
    INFO(bad);
    CHECK(parse_utc(bad).code() == ErrorCode::InvalidArgument);
  }
  CHECK(format_utc(parse_utc("2026-11-22T19:04:30Z").value()) == "2026-11-22T19:04:30Z");
}
