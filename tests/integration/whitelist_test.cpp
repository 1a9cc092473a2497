#include "fixture.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>

using namespace mds::test;
using mds::ErrorCode;

namespace {

// `count` distinct pseudo-random ids in random order, as a CSV file with a header.
std::filesystem::path write_id_file(const std::filesystem::path &file, std::size_t count) {
  std::ofstream out(file, std::ios::binary);
  out << "user_id,comment\n";
  std::mt19937_64 random(42);
  char line[64];
  for (std::size_t i = 0; i < count; ++i) {
    // The counter in the low bits keeps the ids distinct; the random high bits scatter them.
    const auto id = (random() & 0xffffffff00000000ull) | i;
    const auto length = std::snprintf(line, sizeof line, "u%016llx,x\n", static_cast<unsigned long long>(id));
    out.write(line, length);
  }
  return file;
}

} // namespace

TEST_CASE("a whitelist of 1,000,000 ids is imported in one request", "[integration][whitelist]") {
  RunningServer running;
  auto &client = *running.client;
  const auto file = write_id_file(running.temp / "ids.csv", 1'000'000);

  const auto started = std::chrono::steady_clock::now();
  auto imported = client.admin_upload("/v1/admin/whitelists/beta-users/entries?type=user", file);
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  REQUIRE(imported.status == 200);
  // Measured, not asserted: sanitizer builds are several times slower. The goal is < 3 s
  // in a release build on the reference machine.
  WARN("whitelist import of 1,000,000 ids: " << seconds << " s over HTTP (" << imported.body << ")");

  auto result = parse_json(imported);
  CHECK(result.root()["whitelist"]["count"].GetUint64() == 1'000'000);
  CHECK(result.root()["ids_read"].GetUint64() == 1'000'000);
  CHECK(result.root()["duplicates"].GetUint64() == 0);
  CHECK(result.root()["created"].GetBool());

  auto shown = parse_json(client.admin("GET", "/v1/admin/whitelists/beta-users?sample=5"));
  CHECK(shown.root()["count"].GetUint64() == 1'000'000);
  CHECK(std::string(shown.root()["type"].GetString()) == "user");
  REQUIRE(shown.root()["sample"].Size() == 5);
  const std::string first = shown.root()["sample"][0].GetString();
  CHECK(first.size() == 17);

  auto member = parse_json(client.admin("GET", "/v1/admin/whitelists/beta-users/entries/" + first));
  CHECK(member.root()["member"].GetBool());
  auto stranger = parse_json(client.admin("GET", "/v1/admin/whitelists/beta-users/entries/nobody"));
  CHECK_FALSE(stranger.root()["member"].GetBool());

  auto listed = parse_json(client.admin("GET", "/v1/admin/whitelists"));
  REQUIRE(listed.root()["whitelists"].Size() == 1);
  CHECK(listed.root()["whitelists"][0]["count"].GetUint64() == 1'000'000);
}

TEST_CASE("whitelists: create, replace, refuse bad files, delete", "[integration][whitelist]") {
  RunningServer running;
  auto &client = *running.client;
  REQUIRE(client.admin("POST", "/v1/admin/whitelists", R"({"name":"testers","type":"device"})").status == 201);
  check_error(client.admin("POST", "/v1/admin/whitelists", R"({"name":"testers","type":"device"})"), 409,
              ErrorCode::AlreadyExists);
  check_error(client.admin("POST", "/v1/admin/whitelists", R"({"name":"x","type":"robot"})"), 400,
              ErrorCode::InvalidArgument);
  check_error(client.admin("POST", "/v1/admin/whitelists", R"({"name":"x","type":"user","size":3})"), 400,
              ErrorCode::JsonUnknownField);

  std::ofstream(running.temp / "good.txt") << "d1\nd2\nd2\n\nd3\n";
  auto imported = client.admin_upload("/v1/admin/whitelists/testers/entries?type=device", running.temp / "good.txt");
  REQUIRE(imported.status == 200);
  CHECK(parse_json(imported).root()["duplicates"].GetUint64() == 1);

  // A bad line refuses the whole file and leaves the list as it was.
  std::ofstream(running.temp / "bad.txt") << "e1\ne 2\n";
  auto refused = client.admin_upload("/v1/admin/whitelists/testers/entries?type=device", running.temp / "bad.txt");
  check_error(refused, 400, ErrorCode::InvalidArgument);
  CHECK_THAT(refused.body, Catch::Contains("line 2"));
  check_error(client.admin_upload("/v1/admin/whitelists/testers/entries?type=user", running.temp / "good.txt"), 409,
              ErrorCode::Conflict);
  check_error(client.admin_upload("/v1/admin/whitelists/testers/entries", running.temp / "good.txt"), 400,
              ErrorCode::InvalidArgument);
  auto shown = parse_json(client.admin("GET", "/v1/admin/whitelists/testers?sample=10"));
  CHECK(shown.root()["count"].GetUint64() == 3);
  CHECK(shown.root()["sample"].Size() == 3);
  check_error(client.admin("GET", "/v1/admin/whitelists/testers?sample=lots"), 400, ErrorCode::InvalidArgument);

  REQUIRE(client.admin("DELETE", "/v1/admin/whitelists/testers").status == 200);
  check_error(client.admin("GET", "/v1/admin/whitelists/testers"), 404, ErrorCode::NotFound);
  check_error(client.admin("DELETE", "/v1/admin/whitelists/testers"), 404, ErrorCode::NotFound);
}
