// A fresh directory under the system's temporary directory (or another), removed with its
// content.
#ifndef MDS_TESTS_SUPPORT_TEMP_DIR_HPP
#define MDS_TESTS_SUPPORT_TEMP_DIR_HPP

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace mds::test {

class TempDir {
public:
  TempDir() : TempDir(std::filesystem::temp_directory_path()) {}
  // Below `parent` (which exists) instead.
  explicit TempDir(const std::filesystem::path &parent) {
    std::string pattern = (parent / "mds-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::abort();
    }
    path_ = pattern;
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path &path() const { return path_; }
  std::filesystem::path operator/(const std::string &name) const { return path_ / name; }

private:
  std::filesystem::path path_;
};

} // namespace mds::test

#endif
