// GET /v1/blobs/<sha256> over real HTTP: whole blobs, byte ranges, If-Range, 304, 416.
// Blobs are put in the server's data directory by the server's own BlobStore (packages
// cannot be published through the API yet).
#include "fixture.hpp"

#include "server/storage/blob_store.hpp"

using namespace mds::test;
using mds::ErrorCode;

namespace {

std::string put_blob(const RunningServer &running, const std::string &bytes) {
  mds::server::BlobStore store(running.data_dir() / "blobs", running.data_dir() / "tmp", &mds::server::sha256_hasher);
  auto stored = store.put_bytes(bytes);
  REQUIRE(stored.ok());
  return stored->sha256;
}

} // namespace

TEST_CASE("blobs: whole, ranges, If-Range, conditional and refused requests", "[integration][blobs]") {
  RunningServer running;
  auto &client = *running.client;
  std::string bytes;
  for (int i = 0; bytes.size() < 3u << 20; ++i) {
    bytes += "block " + std::to_string(i) + "\n";
  }
  const auto size = std::to_string(bytes.size());
  const auto sha = put_blob(running, bytes);
  const auto path = "/v1/blobs/" + sha;
  const auto etag = "\"" + sha + "\"";

  auto whole = client.request("GET", path);
  REQUIRE(whole.status == 200);
  CHECK(whole.body == bytes);
  CHECK(whole.headers.at("etag") == etag);
  CHECK(whole.headers.at("accept-ranges") == "bytes");
  CHECK(whole.headers.at("cache-control") == "public, max-age=31536000, immutable");
  CHECK(whole.headers.at("content-type") == "application/octet-stream");

  struct RangeCase {
    std::string range;
    std::size_t first;
    std::size_t last;
  };
  const std::vector<RangeCase> ranges = {
      {"bytes=0-9", 0, 9},
      {"bytes=1000-1999", 1000, 1999},
      {"bytes=" + std::to_string(bytes.size() - 7) + "-", bytes.size() - 7, bytes.size() - 1},
      {"bytes=-5", bytes.size() - 5, bytes.size() - 1},
      {"bytes=100-99999999999", 100, bytes.size() - 1},
  };
  for (const auto &c : ranges) {
    INFO("Range: " << c.range);
    auto part = client.request("GET", path, "", {"Range: " + c.range});
    CHECK(part.status == 206);
    CHECK(part.body == bytes.substr(c.first, c.last - c.first + 1));
    CHECK(part.headers.at("content-range") ==
          "bytes " + std::to_string(c.first) + "-" + std::to_string(c.last) + "/" + size);
    CHECK(part.headers.at("etag") == etag);
  }

  // If-Range with the ETag keeps the range; with anything else the whole blob comes.
  auto kept = client.request("GET", path, "", {"Range: bytes=0-3", "If-Range: " + etag});
  CHECK(kept.status == 206);
  CHECK(kept.body == bytes.substr(0, 4));
  auto dropped = client.request("GET", path, "", {"Range: bytes=0-3", "If-Range: \"other\""});
  CHECK(dropped.status == 200);
  CHECK(dropped.body.size() == bytes.size());
  // Several ranges or an unreadable one: the whole blob.
  CHECK(client.request("GET", path, "", {"Range: bytes=0-1,4-5"}).status == 200);
  CHECK(client.request("GET", path, "", {"Range: bytes=x-y"}).status == 200);

  auto beyond = client.request("GET", path, "", {"Range: bytes=" + size + "-"});
  check_error(beyond, 416, ErrorCode::RangeNotSatisfiable);
  CHECK(beyond.headers.at("content-range") == "bytes */" + size);
  check_error(client.request("GET", path, "", {"Range: bytes=-0"}), 416, ErrorCode::RangeNotSatisfiable);

  auto cached = client.request("GET", path, "", {"If-None-Match: " + etag});
  CHECK(cached.status == 304);
  CHECK(cached.body.empty());

  check_error(client.request("GET", "/v1/blobs/" + std::string(64, '0')), 404, ErrorCode::NotFound);
  check_error(client.request("GET", "/v1/blobs/ABC"), 400, ErrorCode::InvalidHex);
  std::string upper = sha;
  for (auto &c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  check_error(client.request("GET", "/v1/blobs/" + upper), 400, ErrorCode::InvalidHex);
  check_error(client.request("POST", path, "{}"), 405, ErrorCode::Unsupported);

  // An empty blob: whole is fine, no range is satisfiable.
  const auto empty = put_blob(running, "");
  auto nothing = client.request("GET", "/v1/blobs/" + empty);
  CHECK(nothing.status == 200);
  CHECK(nothing.body.empty());
  check_error(client.request("GET", "/v1/blobs/" + empty, "", {"Range: bytes=0-"}), 416,
              ErrorCode::RangeNotSatisfiable);
}
