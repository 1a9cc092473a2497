#include "io/file_io.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/types.h>

#include <fstream>

using mds::ErrorCode;
namespace fs = std::filesystem;

namespace {
void write_plain(const fs::path &path, const std::string &content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}
} // namespace

TEST_CASE("read_file reads whole files and refuses what it should", "[io]") {
  mds::test::TempDir dir;
  write_plain(dir / "a", "hello");
  CHECK(*mds::io::read_file(dir / "a", 5) == "hello");
  CHECK(mds::io::read_file(dir / "a", 4).code() == ErrorCode::InvalidArgument);
  CHECK(mds::io::read_file(dir / "missing", 10).code() == ErrorCode::NotFound);
  CHECK(mds::io::read_file(dir.path(), 10).code() != ErrorCode::Ok);
}

TEST_CASE("write_file_atomically replaces content and leaves no temporary file", "[io]") {
  mds::test::TempDir dir;
  REQUIRE(mds::io::write_file_atomically(dir / "f", "one").ok());
  REQUIRE(mds::io::write_file_atomically(dir / "f", "two, longer").ok());
  CHECK(*mds::io::read_file(dir / "f", 100) == "two, longer");
  int files = 0;
  for ([[maybe_unused]] const auto &entry : fs::directory_iterator(dir.path())) {
    ++files;
  }
  CHECK(files == 1);
  CHECK(mds::io::write_file_atomically(dir / "no-such-dir" / "f", "x").code() == ErrorCode::NotFound);
}

TEST_CASE("create_new_file never overwrites and never follows a link", "[io]") {
  mds::test::TempDir dir;
  const auto old_mask = ::umask(077);
  REQUIRE(mds::io::create_new_file(dir / "key", "secret", 0600).ok());
  ::umask(022);
  REQUIRE(mds::io::create_new_file(dir / "key.pub", "public", 0644).ok());
  ::umask(old_mask);

  struct stat info {};
  REQUIRE(::stat((dir / "key").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  REQUIRE(::stat((dir / "key.pub").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0644);

  CHECK(mds::io::create_new_file(dir / "key", "other").code() == ErrorCode::AlreadyExists);
  CHECK(*mds::io::read_file(dir / "key", 100) == "secret");

  // A planted link must not redirect the write to its target.
  fs::create_symlink(dir / "target", dir / "link");
  CHECK_FALSE(mds::io::create_new_file(dir / "link", "x").ok());
  CHECK_FALSE(fs::exists(dir / "target"));
}

TEST_CASE("list_regular_files lists plain files sorted and refuses links and devices", "[io]") {
  mds::test::TempDir dir;
  const auto root = dir / "pkg";
  write_plain(root / "index.html", "<html>");
  write_plain(root / "static" / "js" / "app.js", "x");
  write_plain(root / "a.css", "");
  auto entries = mds::io::list_regular_files(root);
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 3);
  CHECK((*entries)[0].path == "a.css");
  CHECK((*entries)[0].size == 0);
  CHECK((*entries)[1].path == "index.html");
  CHECK((*entries)[1].size == 6);
  CHECK((*entries)[2].path == "static/js/app.js");

  SECTION("a symbolic link to a file") {
    fs::create_symlink(root / "index.html", root / "link.html");
    CHECK(mds::io::list_regular_files(root).code() == ErrorCode::PathUnsafe);
  }
  SECTION("a symbolic link to a directory outside") {
    fs::create_directories(dir / "outside");
    fs::create_directory_symlink(dir / "outside", root / "static" / "out");
    CHECK(mds::io::list_regular_files(root).code() == ErrorCode::PathUnsafe);
  }
  SECTION("a FIFO") {
    REQUIRE(::mkfifo((root / "pipe").c_str(), 0600) == 0);
    CHECK(mds::io::list_regular_files(root).code() == ErrorCode::PathUnsafe);
  }
  SECTION("not a directory") {
    CHECK(mds::io::list_regular_files(root / "index.html").code() == ErrorCode::InvalidArgument);
    CHECK(mds::io::list_regular_files(dir / "missing").code() == ErrorCode::NotFound);
  }
}
