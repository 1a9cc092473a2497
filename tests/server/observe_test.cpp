#include "server/observe/logger.hpp"
#include "server/observe/metrics.hpp"

#include "core/json/json.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace mds::server;

namespace {

std::string captured(std::FILE *file) {
  std::fflush(file);
  std::rewind(file);
  std::string text;
  char buffer[512];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
    text.append(buffer, got);
  }
  return text;
}

// What the file holds now, without disturbing the writer's position.
std::string captured_raw(std::FILE *file) {
  std::string text;
  char buffer[512];
  ssize_t got = 0;
  off_t offset = 0;
  while ((got = pread(fileno(file), buffer, sizeof buffer, offset)) > 0) {
    text.append(buffer, static_cast<std::size_t>(got));
    offset += got;
  }
  return text;
}

} // namespace

TEST_CASE("log lines are single JSON objects, escaped", "[observe]") {
  std::FILE *sink = std::tmpfile();
  REQUIRE(sink != nullptr);
  {
    Logger logger(sink);
    logger.request("GET", "/a\"b\n", "unmatched", 404, 1.23456, "");
    logger.failure("startup", mds::make_error(mds::ErrorCode::Locked, "busy"));
  }
  const auto text = captured(sink);
  std::fclose(sink);
  const auto newline = text.find('\n');
  REQUIRE(newline != std::string::npos);
  auto request = mds::core::json::parse(text.substr(0, newline));
  REQUIRE(request.ok());
  CHECK(std::string(request->root()["path"].GetString()) == "/a\"b\n");
  CHECK(request->root()["status"].GetUint() == 404);
  CHECK(request->root()["duration_ms"].GetDouble() == Approx(1.234));
  CHECK_FALSE(request->root().HasMember("actor"));
  auto failure = mds::core::json::parse(text.substr(newline + 1, text.size() - newline - 2));
  REQUIRE(failure.ok());
  CHECK(failure->root()["code"].GetUint() == 107);
  CHECK(std::string(failure->root()["name"].GetString()) == "locked");
  CHECK(std::string(failure->root()["level"].GetString()) == "error");
}

TEST_CASE("log lines from many threads arrive whole, without a flush and all at the end", "[observe]") {
  std::FILE *sink = std::tmpfile();
  REQUIRE(sink != nullptr);
  constexpr int kThreads = 4;
  constexpr int kLines = 2000;
  {
    Logger logger(sink);
    logger.info("first", "written by the writer thread, with no flush asked");
    // The writer thread writes it within its delay; the test waits up to 5 s for it.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (captured_raw(sink).find("\"event\":\"first\"") == std::string::npos &&
           std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    CHECK_THAT(captured_raw(sink), Catch::Contains("\"event\":\"first\""));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&logger, t] {
        for (int i = 0; i < kLines; ++i) {
          logger.request("POST", "/v1/check/" + std::to_string(t) + "/" + std::to_string(i), "/v1/check", 200, 0.5, "");
        }
      });
    }
    for (auto &thread : threads) {
      thread.join();
    }
  } // the destructor writes what is still buffered
  const auto text = captured(sink);
  std::fclose(sink);
  std::size_t lines = 0;
  std::size_t start = 0;
  for (auto end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
    auto line = mds::core::json::parse(text.substr(start, end - start));
    REQUIRE(line.ok());
    ++lines;
    start = end + 1;
  }
  CHECK(start == text.size());
  CHECK(lines == 1 + kThreads * kLines);
}

TEST_CASE("metrics render counters and cumulative histograms", "[observe]") {
  Metrics metrics;
  metrics.record_request("/healthz", "GET", 200, 0.0002);
  metrics.record_request("/healthz", "GET", 200, 0.003);
  metrics.record_request("/healthz", "GET", 503, 9.0);
  Metrics::Gauges gauges;
  gauges.db_size_bytes = 4096;
  gauges.requests_in_flight = 2;
  const auto text = metrics.render(gauges);
  CHECK_THAT(text, Catch::Contains(R"(mds_http_requests_total{route="/healthz",method="GET",status="200"} 2)"));
  CHECK_THAT(text, Catch::Contains(R"(mds_http_requests_total{route="/healthz",method="GET",status="503"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(mds_http_request_duration_seconds_bucket{route="/healthz",le="0.0005"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(mds_http_request_duration_seconds_bucket{route="/healthz",le="0.005"} 2)"));
  CHECK_THAT(text, Catch::Contains(R"(mds_http_request_duration_seconds_bucket{route="/healthz",le="5"} 2)"));
  CHECK_THAT(text, Catch::Contains(R"(mds_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"} 3)"));
  CHECK_THAT(text, Catch::Contains(R"(mds_http_request_duration_seconds_count{route="/healthz"} 3)"));
  CHECK_THAT(text, Catch::Contains("mds_db_size_bytes 4096\n"));
  CHECK_THAT(text, Catch::Contains("mds_http_requests_in_flight 2\n"));
  CHECK_THAT(text, Catch::EndsWith("\n"));
}
