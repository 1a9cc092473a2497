#include "fixture.hpp"

#include <csignal>
#include <fstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace mds::test;
using mds::ErrorCode;

TEST_CASE("/healthz answers and SIGTERM stops the server cleanly", "[integration][health]") {
  RunningServer running;
  auto health = running.client->request("GET", "/healthz");
  CHECK(health.status == 200);
  CHECK(health.body == R"({"status":"ok"})");
  CHECK(health.headers["content-type"] == "application/json");
  CHECK(running.server->stop() == 0);
  const auto log = running.server->log();
  CHECK_THAT(log, Catch::Contains(R"("event":"stopped")"));
  CHECK_THAT(log, Catch::Contains(R"("message":"clean shutdown")"));
}

TEST_CASE("SIGINT stops the server like SIGTERM", "[integration][health]") {
  RunningServer running;
  REQUIRE(running.client->request("GET", "/healthz").status == 200);
  REQUIRE(kill(running.server->pid(), SIGINT) == 0);
  // stop() sends SIGTERM too; the server is already draining and exits once.
  CHECK(running.server->stop() == 0);
  CHECK_THAT(running.server->log(), Catch::Contains("received SIGINT"));
}

TEST_CASE("connections are kept alive between requests", "[integration][health]") {
  RunningServer running;
  HttpClient client(running.server->base_url());
  CHECK(client.request("GET", "/healthz").new_connections == 1);
  CHECK(client.request("GET", "/healthz").new_connections == 0);
  CHECK(client.admin("GET", "/v1/admin/apps").new_connections == 0);
  // An error answer does not cost the connection either.
  CHECK(client.request("GET", "/v1/admin/apps").status == 401);
  CHECK(client.request("GET", "/healthz").new_connections == 0);
}

TEST_CASE("every request is logged as one JSON line", "[integration][health]") {
  RunningServer running;
  running.client->request("GET", "/healthz");
  running.client->request("GET", "/no/such/thing");
  const auto log = running.server->log_containing(R"("path":"/no/such/thing")");
  std::size_t request_lines = 0;
  std::size_t start = 0;
  // Complete lines only: another request's line may be half written when the log is read.
  for (auto end = log.find('\n', start); end != std::string::npos; end = log.find('\n', start)) {
    const auto line = log.substr(start, end - start);
    start = end + 1;
    auto document = mds::core::json::parse(line);
    INFO(line);
    REQUIRE(document.ok());
    const auto &root = document->root();
    REQUIRE(root.HasMember("time"));
    if (std::string(root["event"].GetString()) == "request") {
      ++request_lines;
      CHECK(root.HasMember("method"));
      CHECK(root.HasMember("path"));
      CHECK(root.HasMember("status"));
      CHECK(root.HasMember("duration_ms"));
    }
  }
  CHECK(request_lines >= 3); // the readiness probe and the two above
  CHECK_THAT(log, Catch::Contains(R"("path":"/no/such/thing","route":"unmatched","status":404)"));
}

TEST_CASE("/metrics counts requests by route and status, with latency and db size", "[integration][metrics]") {
  RunningServer running;
  running.client->request("GET", "/healthz");
  running.client->request("GET", "/healthz");
  running.client->request("GET", "/v1/admin/apps");       // no token: 401
  running.client->admin("GET", "/v1/admin/apps/missing"); // 404
  // Requests are counted just after their answers go out: the readiness probe, made on
  // another connection, may be counted a moment after this client sees its answers.
  const std::string three_probes = R"(mds_http_requests_total{route="/healthz",method="GET",status="200"} 3)";
  HttpResponse metrics;
  for (int attempt = 0; attempt < 100; ++attempt) {
    metrics = running.client->request("GET", "/metrics");
    if (metrics.body.find(three_probes) != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(metrics.status == 200);
  CHECK_THAT(metrics.headers["content-type"], Catch::StartsWith("text/plain; version=0.0.4"));
  const auto &text = metrics.body;
  // Three /healthz: the readiness probe and the two above.
  CHECK_THAT(text, Catch::Contains(R"(mds_http_requests_total{route="/healthz",method="GET",status="200"} 3)"));
  CHECK_THAT(text, Catch::Contains(R"(mds_http_requests_total{route="/v1/admin/apps",method="GET",status="401"} 1)"));
  CHECK_THAT(text,
             Catch::Contains(R"(mds_http_requests_total{route="/v1/admin/apps/{name}",method="GET",status="404"} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(mds_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"} 3)"));
  CHECK_THAT(text, Catch::Contains(R"(mds_http_request_duration_seconds_count{route="/healthz"} 3)"));
  CHECK_THAT(text, Catch::Contains("# TYPE mds_db_size_bytes gauge\nmds_db_size_bytes "));
  CHECK_THAT(text, Catch::Contains("mds_http_requests_in_flight 1")); // this very request
  CHECK_THAT(text, !Catch::Contains("mds_db_size_bytes 0\n"));
}

TEST_CASE("unknown paths and methods get JSON errors", "[integration][health]") {
  RunningServer running;
  check_error(running.client->request("GET", "/nope"), 404, ErrorCode::NotFound);
  check_error(running.client->request("DELETE", "/healthz"), 405, ErrorCode::Unsupported);
  check_error(running.client->request("POST", "/healthz", "{}"), 405, ErrorCode::Unsupported);
  check_error(running.client->request("BREW", "/coffee"), 404, ErrorCode::NotFound);
  const auto metrics = running.client->request("GET", "/metrics").body;
  CHECK_THAT(metrics, Catch::Contains(R"(mds_http_requests_total{route="unmatched",method="other",status="404"} 1)"));
}

TEST_CASE("the server refuses to start with a clear error", "[integration][startup]") {
  TempDir temp;
  write_token_file(temp / "tokens");
  const auto tokens = (temp / "tokens").string();

  SECTION("missing arguments") {
    auto result = run_server_to_exit({"--data", (temp / "d").string()});
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.stderr_text, Catch::Contains("required"));
  }
  SECTION("--data is a file") {
    std::ofstream(temp / "file") << "x";
    auto result = run_server_to_exit(
        {"--data", (temp / "file").string(), "--listen", "127.0.0.1:0", "--admin-token-file", tokens});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.stderr_text, Catch::Contains("not a directory"));
    CHECK(result.stdout_text.empty());
  }
  SECTION("--data is not writable") {
    if (geteuid() == 0) {
      WARN("running as root: permissions are not enforced, skipping the unwritable --data case");
    } else {
      std::filesystem::create_directories(temp / "ro");
      chmod((temp / "ro").c_str(), 0500);
      auto result = run_server_to_exit(
          {"--data", (temp / "ro").string(), "--listen", "127.0.0.1:0", "--admin-token-file", tokens});
      CHECK(result.exit_code == 1);
      CHECK_THAT(result.stderr_text, Catch::Contains("not writable"));
    }
  }
  SECTION("unreadable token file") {
    auto result = run_server_to_exit({"--data", (temp / "d").string(), "--listen", "127.0.0.1:0", "--admin-token-file",
                                      (temp / "missing").string()});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.stderr_text, Catch::Contains("cannot read the admin token file"));
    CHECK_THAT(result.stderr_text, Catch::Contains(R"("name":"io_error")"));
  }
  SECTION("a token file with a weak token") {
    std::ofstream(temp / "weak") << "alice short\n";
    auto result = run_server_to_exit(
        {"--data", (temp / "d").string(), "--listen", "127.0.0.1:0", "--admin-token-file", (temp / "weak").string()});
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.stderr_text, Catch::Contains("line 1"));
  }
  SECTION("port in use, and a data directory another server holds") {
    RunningServer running;
    auto busy = run_server_to_exit(
        {"--data", (temp / "d").string(), "--listen", running.server->listen_address(), "--admin-token-file", tokens});
    CHECK(busy.exit_code == 1);
    CHECK_THAT(busy.stderr_text, Catch::Contains("address already in use"));

    auto locked = run_server_to_exit(
        {"--data", running.data_dir().string(), "--listen", "127.0.0.1:0", "--admin-token-file", tokens});
    CHECK(locked.exit_code == 1);
    CHECK_THAT(locked.stderr_text, Catch::Contains(R"("name":"locked")"));
  }
}
