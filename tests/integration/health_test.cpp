#include "server_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

using mds::test::HttpClient;
using mds::test::ServerProcess;

TEST_CASE("a started server answers /healthz and stops cleanly on SIGTERM", "[integration][health]") {
  mds::test::TempDir temp;
  mds::test::write_token_file(temp / "tokens");
  auto server = ServerProcess::start(temp / "data", temp / "tokens");
  HttpClient client(server->base_url());
  auto health = client.request("GET", "/healthz");
  CHECK(health.status == 200);
  CHECK(health.body == R"({"status":"ok"})");
  CHECK(health.headers["content-type"] == "application/json");
  CHECK(server->stop() == 0);
}
