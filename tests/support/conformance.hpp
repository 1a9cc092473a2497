// Where the public conformance vectors are: $MDS_CONFORMANCE_DIR, else the shared folder
// beside the source tree. Absent in some checkouts; tests then say so and skip.
#ifndef MDS_TESTS_SUPPORT_CONFORMANCE_HPP
#define MDS_TESTS_SUPPORT_CONFORMANCE_HPP

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace mds::test {

inline std::optional<std::filesystem::path> conformance_dir(const std::string &suite) {
  const char *env = std::getenv("MDS_CONFORMANCE_DIR");
  std::filesystem::path base = env != nullptr && *env != '\0' ? env : MDS_DEFAULT_CONFORMANCE_DIR;
  auto dir = base / suite;
  if (!std::filesystem::is_directory(dir)) {
    return std::nullopt;
  }
  return dir;
}

inline std::string read_file(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

} // namespace mds::test

#endif
