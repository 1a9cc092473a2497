#include "server/admin/id_list_reader.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using mds::ErrorCode;
using mds::server::IdListReader;

namespace {

mds::Result<std::vector<std::string>> read_all(const std::string &content) {
  mds::test::TempDir temp;
  const auto file = temp / "ids";
  std::ofstream(file, std::ios::binary) << content;
  auto reader = IdListReader::open(file);
  if (!reader) {
    return reader.error();
  }
  std::vector<std::string> ids;
  for (;;) {
    auto id = (*reader)->next();
    if (!id) {
      return id.error();
    }
    if (!*id) {
      return ids;
    }
    ids.emplace_back(**id);
  }
}

} // namespace

TEST_CASE("plain and CSV id lists", "[whitelist]") {
  CHECK(read_all("a\nb\r\n\n  c  \nd").value() == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(read_all("user_id,name\nu1,Ann\n\"u2\",Bob\n").value() == std::vector<std::string>{"u1", "u2"});
  CHECK(read_all("Device_ID\nd1\n").value() == std::vector<std::string>{"d1"});
  // Only the first id line can be a header.
  CHECK(read_all("x\nid\n").value() == std::vector<std::string>{"x", "id"});
  CHECK(read_all("").value().empty());
  CHECK(read_all("\n\n\r\n").value().empty());
}

TEST_CASE("lines longer than a read chunk are put together", "[whitelist]") {
  // The reader's chunk is 1 MiB: make ids straddle chunk boundaries.
  std::string content;
  std::vector<std::string> expected;
  std::size_t i = 0;
  while (content.size() < (3u << 20)) {
    auto id = "id-" + std::to_string(i) + std::string(i % 90, 'x');
    ++i;
    content += id + "\n";
    expected.push_back(id);
  }
  content.pop_back(); // no newline after the last one
  auto ids = read_all(content);
  REQUIRE(ids.ok());
  CHECK(ids.value() == expected);
}

TEST_CASE("malformed ids stop the import with the line number", "[whitelist]") {
  auto spaced = read_all("ok\nhas space\n");
  CHECK(spaced.code() == ErrorCode::InvalidArgument);
  CHECK_THAT(spaced.error().message, Catch::Contains("line 2"));
  CHECK(read_all("a\n,b\n").code() == ErrorCode::InvalidArgument);
  CHECK(read_all(std::string(129, 'a') + "\n").code() == ErrorCode::InvalidArgument);
  CHECK(read_all(std::string(128, 'a') + "\n").ok());
  CHECK(read_all("a\x01z\n").code() == ErrorCode::InvalidArgument);
  CHECK(read_all(std::string(20000, 'a')).code() == ErrorCode::InvalidArgument);
}
