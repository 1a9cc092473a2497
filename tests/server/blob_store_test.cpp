#include "server/storage/blob_store.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

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

namespace {

// Sets a blob's modification time `age` into the past, as if nobody had wanted it since.
void age_blob(const BlobStore &store, const std::string &sha256, std::chrono::seconds age) {
  const auto when = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() - age);
  const struct timespec times[2] = {{when, 0}, {when, 0}};
  REQUIRE(::utimensat(AT_FDCWD, store.path_of(sha256).value().c_str(), times, 0) == 0);
}

} // namespace

TEST_CASE("a sweep removes exactly the unreferenced blobs untouched for the grace period", "[blobs]") {
  mds::test::TempDir temp;
  std::filesystem::create_directories(temp / "blobs");
  std::filesystem::create_directories(temp / "tmp");
  BlobStore store(temp / "blobs", temp / "tmp", &sha256_hasher);
  const std::vector<std::string> contents = {"referenced, old", "orphan, old", "orphan, recent",
                                             "orphan, old, touched"};
  std::vector<std::string> names;
  for (const auto &content : contents) {
    names.push_back(store.put_bytes(content).value().sha256);
  }
  const auto hour = std::chrono::seconds(3600);
  age_blob(store, names[0], 2 * hour);
  age_blob(store, names[1], 2 * hour);
  age_blob(store, names[3], 2 * hour);
  CHECK(store.touch(names[3]));                   // asked about by a publish: wanted now
  CHECK_FALSE(store.touch(std::string(64, 'f'))); // not held
  // Not ours: a stray file in a shard and a file whose name is not a hash.
  std::ofstream(store.path_of(names[1]).value().parent_path() / "notes.txt") << "x";
  std::ofstream(temp / "blobs" / "README") << "x";

  auto swept =
      store.sweep([&] { return mds::Result<std::vector<std::string>>(std::vector<std::string>{names[0]}); }, hour);
  REQUIRE(swept.ok());
  CHECK(swept->removed == 1);
  CHECK(swept->removed_bytes == contents[1].size());
  CHECK(swept->kept == 3);
  CHECK(store.contains(names[0]));
  CHECK_FALSE(store.contains(names[1]));
  CHECK(store.contains(names[2]));
  CHECK(store.contains(names[3]));
  CHECK(std::filesystem::exists(store.path_of(names[1]).value().parent_path() / "notes.txt"));
  CHECK(std::filesystem::exists(temp / "blobs" / "README"));

  // With no grace, every unreferenced blob goes; a failing listing removes nothing.
  auto failed =
      store.sweep([] { return mds::Result<std::vector<std::string>>(mds::make_error(ErrorCode::StorageFailure, "x")); },
                  std::chrono::seconds(0));
  CHECK(failed.code() == ErrorCode::StorageFailure);
  CHECK(store.contains(names[2]));
  swept = store.sweep([&] { return mds::Result<std::vector<std::string>>(std::vector<std::string>{names[0]}); },
                      std::chrono::seconds(0));
  REQUIRE(swept.ok());
  CHECK(swept->removed == 2);
  CHECK(store.contains(names[0]));
}
