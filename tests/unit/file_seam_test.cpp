// The file-system seam (sdk/io/seam.hpp) and the two test seams built on it
// (tests/support/disk_seams.hpp): every operation of io::file_io can be failed, and the
// power-cut model keeps what POSIX promises and drops the rest, so it finds the classic
// mistakes (a rename before the data's fsync, a creation whose directory was never
// fsynced) that the package tests rely on it to find.
#include "io/file_io.hpp"
#include "support/disk_seams.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

using mds::ErrorCode;
using mds::io::FileOperation;
using mds::test::FailingDisk;
using mds::test::PowerCutRecorder;
using mds::test::SeamInstalled;
namespace fs = std::filesystem;

namespace {

void write_plain(const fs::path &path, const std::string &content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::vector<std::string> names_in(const fs::path &directory) {
  std::vector<std::string> names;
  for (const auto &entry : fs::directory_iterator(directory)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

ErrorCode code_of(int error_number) {
  return error_number == ENOSPC ? ErrorCode::DiskFull : ErrorCode::IoError;
}

// What a file holds in an image; nullopt when the image has no such file.
std::optional<std::string> in_image(const PowerCutRecorder::Image &image, const std::string &path) {
  auto found = image.files.find(path);
  if (found == image.files.end()) {
    return std::nullopt;
  }
  return *found->second;
}

// The last image of `reading`.
const PowerCutRecorder::Image &last_of(const std::vector<PowerCutRecorder::Image> &images,
                                       PowerCutRecorder::Reading reading) {
  for (auto it = images.rbegin(); it != images.rend(); ++it) {
    if (it->reading == reading) {
      return *it;
    }
  }
  FAIL("no image of that reading");
  return images.front();
}
constexpr auto kDropped = PowerCutRecorder::Reading::Dropped;
constexpr auto kMetadataFirst = PowerCutRecorder::Reading::MetadataFirst;

// Writes `bytes` to `path` and renames it to `target` with the fsyncs `steps` names.
struct Steps {
  bool sync_file = true;
  bool sync_directory = true;
};
void write_and_rename(const fs::path &path, const fs::path &target, const std::string &bytes, Steps steps) {
  auto fd = mds::io::open_for_writing(AT_FDCWD, path.c_str(), O_WRONLY | O_EXCL, 0644, path);
  REQUIRE(fd);
  REQUIRE(mds::io::write_all(*fd, bytes.data(), bytes.size(), path));
  if (steps.sync_file) {
    REQUIRE(mds::io::sync_file(*fd, path));
  }
  ::close(*fd);
  REQUIRE(mds::io::rename_path(path, target));
  if (steps.sync_directory) {
    REQUIRE(mds::io::fsync_directory(target.parent_path()));
  }
}

} // namespace

TEST_CASE("seam: failing any one operation of an atomic write leaves the old or the new file, no temporary",
          "[io][seam]") {
  for (const int error_number : {ENOSPC, EIO}) {
    std::uint64_t k = 1;
    for (;; ++k) {
      INFO("errno " << error_number << ", operation " << k);
      mds::test::TempDir dir;
      write_plain(dir / "f", "old");
      FailingDisk disk(dir.path(), k, error_number);
      mds::Status written;
      {
        SeamInstalled installed(disk);
        written = mds::io::write_file_atomically(dir / "f", "new content");
      }
      if (!disk.failed()) {
        CHECK(written);
        CHECK(*mds::io::read_file(dir / "f", 100) == "new content");
        break;
      }
      INFO(*disk.failed());
      CHECK(written.code() == code_of(error_number));
      const auto content = *mds::io::read_file(dir / "f", 100);
      // Only the directory's fsync comes after the rename.
      CHECK(content == (disk.failed_operation() == FileOperation::SyncDirectory ? "new content" : "old"));
      CHECK(names_in(dir.path()) == std::vector<std::string>{"f"});
      CHECK(disk.outside().empty());
    }
    // create, write, fsync, rename, fsync of the directory.
    CHECK(k == 6);
  }
}

TEST_CASE("seam: make_directories and remove_tree are one operation per directory or entry", "[io][seam]") {
  mds::test::TempDir dir;
  for (std::uint64_t k = 1; k <= 6; ++k) {
    INFO("operation " << k);
    std::error_code ignored;
    fs::remove_all(dir / "a", ignored);
    FailingDisk disk(dir.path(), k, EIO);
    SeamInstalled installed(disk);
    // mkdir a, fsync ., mkdir a/b, fsync a, mkdir a/b/c, fsync a/b.
    CHECK(mds::io::make_directories(dir / "a" / "b" / "c").code() == ErrorCode::IoError);
    CHECK(disk.operations() == k);
  }
  fs::remove_all(dir / "a");
  FailingDisk none(dir.path(), 0, EIO);
  {
    SeamInstalled installed(none);
    REQUIRE(mds::io::make_directories(dir / "a" / "b" / "c"));
    REQUIRE(mds::io::make_directories(dir / "a" / "b" / "c")); // there already: nothing to do
  }
  CHECK(none.operations() == 6);
  fs::remove_all(dir / "a");
  write_plain(dir / "a" / "b" / "x", "x");
  write_plain(dir / "a" / "y", "y");
  FailingDisk third(dir.path(), 3, EIO);
  {
    SeamInstalled installed(third);
    CHECK(mds::io::remove_tree(dir / "a").code() == ErrorCode::IoError);
  }
  CHECK(fs::exists(dir / "a"));
  CHECK(third.operations() == 3);
  FailingDisk all(dir.path(), 0, EIO);
  {
    SeamInstalled installed(all);
    REQUIRE(mds::io::remove_tree(dir / "a"));
    REQUIRE(mds::io::remove_tree(dir / "a")); // gone already: nothing to do
  }
  CHECK(!fs::exists(dir / "a"));
  CHECK(all.operations() == 2); // what the failed attempt left: a/y and a, or a/b and a
}

TEST_CASE("seam: a power cut at any instant of an atomic write leaves the old file or the new one",
          "[io][seam][power]") {
  mds::test::TempDir dir;
  write_plain(dir / "f", "old");
  PowerCutRecorder recorder(dir.path(), {});
  {
    SeamInstalled installed(recorder);
    REQUIRE(mds::io::write_file_atomically(dir / "f", "new content"));
    recorder.capture("end");
  }
  std::set<std::string> seen;
  for (const auto &image : recorder.images()) {
    INFO(image.label);
    const auto content = in_image(image, "f");
    REQUIRE(content);
    CHECK((*content == "old" || *content == "new content"));
    seen.insert(*content);
  }
  CHECK(seen == std::set<std::string>{"old", "new content"});
  CHECK(recorder.unmodelled().empty());
  CHECK(recorder.outside().empty());
}

TEST_CASE("seam: the power-cut model loses what was not fsynced", "[io][seam][power]") {
  mds::test::TempDir dir;
  write_plain(dir / "f", "old");
  const auto f = dir / "f";

  SECTION("a rename before the data's fsync can leave an empty file under the new name") {
    PowerCutRecorder recorder(dir.path(), {});
    {
      SeamInstalled installed(recorder);
      write_and_rename(dir / "f.tmp", f, "new", {false, true});
      recorder.capture("end");
    }
    bool empty_seen = false;
    for (const auto &image : recorder.images()) {
      empty_seen = empty_seen || in_image(image, "f") == std::string();
    }
    CHECK(empty_seen);
  }

  SECTION("a rename whose directory is never fsynced can be lost, even at the end") {
    PowerCutRecorder recorder(dir.path(), {});
    {
      SeamInstalled installed(recorder);
      write_and_rename(dir / "f.tmp", f, "new", {true, false});
      recorder.capture("end");
    }
    const auto images = recorder.images();
    CHECK(in_image(last_of(images, kDropped), "f") == std::string("old"));
    CHECK(in_image(last_of(images, kMetadataFirst), "f") == std::string("new"));
  }

  SECTION("a directory made without make_directories, never fsynced into its parent, is lost with its files") {
    PowerCutRecorder recorder(dir.path(), {});
    {
      SeamInstalled installed(recorder);
      REQUIRE(mds::io::make_directory(AT_FDCWD, (dir / "d").c_str(), dir / "d"));
      write_and_rename(dir / "d" / "x.tmp", dir / "d" / "x", "x", {true, true});
      recorder.capture("end");
    }
    const auto images = recorder.images();
    CHECK(last_of(images, kDropped).directories.count("d") == 0);
    CHECK(in_image(last_of(images, kMetadataFirst), "d/x") == std::string("x"));
  }

  SECTION("make_directories makes each new directory durable in its parent") {
    PowerCutRecorder recorder(dir.path(), {});
    {
      SeamInstalled installed(recorder);
      REQUIRE(mds::io::make_directories(dir / "d" / "e"));
      write_and_rename(dir / "d" / "e" / "x.tmp", dir / "d" / "e" / "x", "x", {true, true});
      recorder.capture("end");
    }
    for (const auto &image : recorder.images()) {
      INFO(image.label);
      CHECK(in_image(image, "f") == std::string("old"));
    }
    CHECK(in_image(last_of(recorder.images(), kDropped), "d/e/x") == std::string("x"));
  }

  SECTION("a tree renamed into place and its parent fsynced is whole; removals come back until fsynced") {
    write_plain(dir / "old" / "a", "a");
    PowerCutRecorder recorder(dir.path(), {});
    {
      SeamInstalled installed(recorder);
      REQUIRE(mds::io::make_directory(AT_FDCWD, (dir / "t").c_str(), dir / "t"));
      write_and_rename(dir / "t" / "x.tmp", dir / "t" / "x", "x", {true, true});
      REQUIRE(mds::io::rename_path(dir / "t", dir / "new"));
      REQUIRE(mds::io::fsync_directory(dir.path()));
      REQUIRE(mds::io::remove_tree(dir / "old"));
      recorder.capture("end");
    }
    const auto images = recorder.images();
    const auto &dropped = last_of(images, kDropped);
    CHECK(in_image(dropped, "new/x") == std::string("x"));
    CHECK(in_image(dropped, "old/a") == std::string("a"));
    CHECK(dropped.directories.count("t") == 0);
    CHECK(!in_image(last_of(images, kMetadataFirst), "old/a"));
    CHECK(recorder.unmodelled().empty());
  }
}
