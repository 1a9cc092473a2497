// A running server in a fresh temp directory, a client with keep-alive, and checks for
// the server's JSON answers.
#ifndef MDS_TESTS_INTEGRATION_FIXTURE_HPP
#define MDS_TESTS_INTEGRATION_FIXTURE_HPP

#include "server_process.hpp"
#include "support/temp_dir.hpp"

#include "core/crypto/ecdsa.hpp"
#include "core/json/json.hpp"

#include <mds/error.hpp>

#include <catch2/catch.hpp>

namespace mds::test {

struct RunningServer {
  TempDir temp;
  std::unique_ptr<ServerProcess> server;
  std::unique_ptr<HttpClient> client;

  std::vector<std::string> extra_arguments; // for every start of the server

  explicit RunningServer(std::vector<std::string> arguments = {}) : extra_arguments(std::move(arguments)) {
    write_token_file(token_file());
    start();
  }
  std::filesystem::path token_file() const { return temp / "tokens"; }
  std::filesystem::path data_dir() const { return temp / "data"; }
  void start() {
    server = ServerProcess::start(data_dir(), token_file(), extra_arguments);
    client = std::make_unique<HttpClient>(server->base_url());
  }
  // SIGTERM, then a new server process on the same data directory.
  void restart() {
    client.reset();
    REQUIRE(server->stop() == 0);
    start();
  }
};

// The publisher's signing key, made once per test run: its public half is registered
// with every app app_body() creates, so packages it signs publish (package_support.hpp).
inline const core::crypto::PrivateKey &publisher_key() {
  static const core::crypto::PrivateKey key = [] {
    auto generated = core::crypto::PrivateKey::generate();
    REQUIRE(generated.ok());
    return std::move(generated.value());
  }();
  return key;
}

// The PEM of the publisher's public key.
inline const std::string &publisher_key_pem() {
  static const std::string pem = publisher_key().public_key().to_pem();
  return pem;
}

// `text` as a JSON string literal, quotes included.
inline std::string json_string(const std::string &text) {
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
  return buffer.GetString();
}

// A valid POST /v1/admin/apps body.
inline std::string app_body(const std::string &name, const std::string &platform = "android") {
  return R"({"name":)" + json_string(name) + R"(,"platform":)" + json_string(platform) + R"(,"publisher_keys":[)" +
         json_string(publisher_key_pem()) + "]}";
}

inline core::json::Document parse_json(const HttpResponse &response) {
  INFO("body: " << response.body);
  auto document = core::json::parse(response.body);
  REQUIRE(document.ok());
  return std::move(document.value());
}

// The answer is `status` with {"error": {"code": code, "name": ..., "message": ...}}.
inline void check_error(const HttpResponse &response, long status, ErrorCode code) {
  INFO("status " << response.status << ", body: " << response.body << response.transport_error);
  CHECK(response.status == status);
  auto document = core::json::parse(response.body);
  REQUIRE(document.ok());
  const auto &error = document->root()["error"];
  REQUIRE(error.IsObject());
  CHECK(error["code"].GetUint() == static_cast<unsigned>(code));
  CHECK(std::string(error["name"].GetString()) == to_string(code));
  CHECK(error["message"].GetStringLength() > 0);
  CHECK(response.headers.count("content-type") == 1);
}

} // namespace mds::test

#endif
