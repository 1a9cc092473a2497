#include "server/storage/blob_store.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace mds::server;
using mds::ErrorCode;

namespace {

constexpr const char *kAbcSha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

std::string read(const std::filesystem::path &file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

} // namespace

TEST_CASE("blobs are stored under their SHA-256", "[blobs]") {
  mds::test::TempDir temp;
  std::filesystem::create_directories(temp / "blobs");
  std::filesystem::create_directories(temp / "tmp");
  BlobStore store(temp / "blobs", temp / "tmp", &sha256_hasher);

  auto stored = store.put_bytes("abc");
  REQUIRE(stored.ok());
  CHECK(stored->sha256 == kAbcSha256);
  CHECK(stored->size == 3);
  CHECK(store.contains(kAbcSha256));
  CHECK(read(store.path_of(kAbcSha256).value()) == "abc");
  CHECK(store.path_of(kAbcSha256).value().parent_path().filename() == "ba");
  CHECK(std::filesystem::is_empty(temp / "tmp"));

  // The same content again is a no-op.
  CHECK(store.put_bytes("abc")->sha256 == kAbcSha256);

  std::ofstream(temp / "source", std::ios::binary) << std::string(200000, 'z');
  auto from_file = store.put_file(temp / "source");
  REQUIRE(from_file.ok());
  CHECK(from_file->size == 200000);
  CHECK(read(store.path_of(from_file->sha256).value()) == std::string(200000, 'z'));
}

TEST_CASE("a blob that is not what was expected is not stored", "[blobs]") {
  mds::test::TempDir temp;
  std::filesystem::create_directories(temp / "blobs");
  std::filesystem::create_directories(temp / "tmp");
  BlobStore store(temp / "blobs", temp / "tmp", &sha256_hasher);
  std::string bytes = "abd";
  std::size_t offset = 0;
  auto reader = [&](char *buffer, std::size_t capacity) -> mds::Result<std::size_t> {
    const auto count = std::min(capacity, bytes.size() - offset);
    std::copy_n(bytes.data() + offset, count, buffer);
    offset += count;
    return count;
  };
  CHECK(store.put(reader, std::string(kAbcSha256)).code() == ErrorCode::FileHashMismatch);
  offset = 0;
  CHECK(store.put(reader, std::nullopt, 2).code() == ErrorCode::PackageTooLarge);
  CHECK(std::filesystem::is_empty(temp / "tmp"));
  CHECK(std::filesystem::is_empty(temp / "blobs"));
  CHECK(store.path_of("ABC").code() == ErrorCode::InvalidHex);
  CHECK(store.path_of("../../etc/passwd").code() == ErrorCode::InvalidHex);
  CHECK_FALSE(store.contains("00"));
}
