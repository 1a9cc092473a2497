// What `mdsctl package publish` reads from a directory or a ZIP archive, and what it
// refuses before anything is signed or sent (SECURITY.md #15). Archives are written here
// with libzip; the shell test adds archives whose headers lie about sizes.
#include "package_source.hpp"

#include "core/crypto/encoding.hpp"
#include "core/crypto/sha256.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <zip.h>

#include <sys/stat.h>

#include <fstream>

namespace {

using mds::ErrorCode;

struct Entry {
  std::string name;
  std::string data;
  mode_t mode = S_IFREG | 0644;
};

void write_zip(const std::filesystem::path &path, const std::vector<Entry> &entries) {
  int error = 0;
  zip_t *archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  REQUIRE(archive != nullptr);
  for (const auto &entry : entries) {
    zip_source_t *source = zip_source_buffer(archive, entry.data.data(), entry.data.size(), 0);
    REQUIRE(source != nullptr);
    const bool directory = !entry.name.empty() && entry.name.back() == '/';
    const zip_int64_t index =
        directory ? zip_dir_add(archive, entry.name.substr(0, entry.name.size() - 1).c_str(), ZIP_FL_ENC_RAW)
                  : zip_file_add(archive, entry.name.c_str(), source, ZIP_FL_ENC_RAW);
    if (directory) {
      zip_source_free(source);
    }
    REQUIRE(index >= 0);
    REQUIRE(zip_file_set_external_attributes(archive, static_cast<zip_uint64_t>(index), 0, ZIP_OPSYS_UNIX,
                                             static_cast<zip_uint32_t>(entry.mode) << 16) == 0);
  }
  REQUIRE(zip_close(archive) == 0);
}

std::string sha256_hex(const std::string &data) {
  return mds::core::crypto::hex_encode(mds::core::crypto::sha256(data));
}

std::string read_all(mds::mdsctl::BodyReader &reader) {
  std::string out;
  char buffer[7]; // small, so that reads come in several pieces
  for (;;) {
    auto got = reader(buffer, sizeof buffer);
    REQUIRE(got.ok());
    if (*got == 0) {
      return out;
    }
    out.append(buffer, *got);
  }
}

} // namespace

TEST_CASE("mdsctl: a ZIP archive is described and read entry by entry", "[mdsctl][zip]") {
  mds::test::TempDir temp;
  const std::string js(5000, 'j');
  write_zip(
      temp / "good.zip",
      {{"static/", "", S_IFDIR | 0755}, {"static/app.js", js}, {"index.html", "<html></html>\n"}, {"empty.txt", ""}});
  auto source = mds::mdsctl::PackageSource::open(temp / "good.zip");
  REQUIRE(source.ok());
  auto files = (*source)->describe();
  REQUIRE(files.ok());
  REQUIRE(files->size() == 3);
  CHECK((*files)[0].path == "empty.txt");
  CHECK((*files)[1].path == "index.html");
  CHECK((*files)[2].path == "static/app.js");
  CHECK((*files)[2].size == js.size());
  CHECK((*files)[2].sha256 == sha256_hex(js));
  auto reader = (*source)->open_file((*files)[2]);
  REQUIRE(reader.ok());
  CHECK(read_all(*reader) == js);
}

TEST_CASE("mdsctl: unsafe ZIP archives are refused", "[mdsctl][zip]") {
  struct Case {
    const char *name;
    std::vector<Entry> entries;
    ErrorCode expected;
  };
  const Case cases[] = {
      {"zip-slip", {{"a.txt", "a"}, {"../evil.txt", "x"}}, ErrorCode::PathUnsafe},
      {"zip-slip inside", {{"a/../../evil.txt", "x"}}, ErrorCode::PathUnsafe},
      {"absolute path", {{"/etc/evil", "x"}}, ErrorCode::PathUnsafe},
      {"backslashes", {{"a\\..\\evil.txt", "x"}}, ErrorCode::PathUnsafe},
      {"symbolic link", {{"a.txt", "a"}, {"link.txt", "/etc/passwd", S_IFLNK | 0777}}, ErrorCode::PathUnsafe},
      {"FIFO", {{"pipe", "", S_IFIFO | 0644}}, ErrorCode::PathUnsafe},
      {"directory escaping", {{"../up/", "", S_IFDIR | 0755}, {"a.txt", "a"}}, ErrorCode::PathUnsafe},
      {"case twins", {{"A.txt", "a"}, {"a.txt", "b"}}, ErrorCode::PathUnsafe},
      {"a file that is a directory", {{"a", "a"}, {"a/b", "b"}}, ErrorCode::PathUnsafe},
      {"non-ASCII name", {{"caf\xc3\xa9.txt", "x"}}, ErrorCode::PathUnsafe},
      {"long name", {{std::string(4096, 'a'), "x"}}, ErrorCode::PathUnsafe},
      {"no files", {{"dir/", "", S_IFDIR | 0755}}, ErrorCode::ManifestInvalid},
  };
  for (const auto &c : cases) {
    INFO(c.name);
    mds::test::TempDir temp;
    write_zip(temp / "bad.zip", c.entries);
    auto source = mds::mdsctl::PackageSource::open(temp / "bad.zip");
    REQUIRE(source.ok());
    auto files = (*source)->describe();
    REQUIRE_FALSE(files.ok());
    CHECK(files.code() == c.expected);
  }
}

TEST_CASE("mdsctl: what is neither a directory nor a ZIP archive is refused", "[mdsctl][zip]") {
  mds::test::TempDir temp;
  std::ofstream(temp / "notes.zip") << "not an archive";
  CHECK(mds::mdsctl::PackageSource::open(temp / "notes.zip").code() == ErrorCode::InvalidArgument);
  CHECK(mds::mdsctl::PackageSource::open(temp / "missing").code() == ErrorCode::NotFound);
  std::filesystem::create_directory(temp / "dir");
  std::filesystem::create_directory_symlink(temp / "dir", temp / "link");
  CHECK(mds::mdsctl::PackageSource::open(temp / "link").code() == ErrorCode::PathUnsafe);
}

TEST_CASE("mdsctl: a directory's file is read as hashed, and refused once it grew", "[mdsctl]") {
  mds::test::TempDir temp;
  std::filesystem::create_directory(temp / "pkg");
  std::ofstream(temp / "pkg" / "a.txt") << "hello";
  auto source = mds::mdsctl::PackageSource::open(temp / "pkg");
  REQUIRE(source.ok());
  auto files = (*source)->describe();
  REQUIRE(files.ok());
  REQUIRE(files->size() == 1);
  auto reader = (*source)->open_file((*files)[0]);
  REQUIRE(reader.ok());
  CHECK(read_all(*reader) == "hello");

  std::ofstream(temp / "pkg" / "a.txt", std::ios::app) << " and more";
  auto grown = (*source)->open_file((*files)[0]);
  REQUIRE(grown.ok());
  char buffer[64];
  auto first = (*grown)(buffer, sizeof buffer);
  REQUIRE_FALSE(first.ok());
  CHECK(first.code() == ErrorCode::FileSizeMismatch);
}
