#include "server/observe/logger.hpp"
#include "server/observe/metrics.hpp"

#include "core/json/json.hpp"

#include <catch2/catch.hpp>

#include <cstdio>

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
