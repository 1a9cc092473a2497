// Whole files in and out, and shell quoting, for tests that prepare inputs on disk and
// run the command-line tools on them.
#ifndef MDS_TESTS_SUPPORT_FILES_HPP
#define MDS_TESTS_SUPPORT_FILES_HPP

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace mds::test {

// The file's bytes; empty when it cannot be read.
inline std::string read_text(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Replaces the file with `bytes`, creating its directories.
inline void write_text(const std::filesystem::path &path, const std::string &bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// `text` as one single-quoted shell word.
inline std::string quote(const std::string &text) {
  std::string out = "'";
  for (char c : text) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

// What a shell command printed and how it ended.
struct CommandRun {
  int status = -1; // pclose's status; -1 when the command could not be started
  std::string out;
  std::string err;
};

// Runs `command` through the shell, its stderr kept in a file under `scratch`.
inline CommandRun run_command(const std::filesystem::path &scratch, const std::string &command) {
  const auto err_file = scratch / "command.err";
  CommandRun run;
  FILE *pipe = popen((command + " 2>" + quote(err_file.string())).c_str(), "r");
  if (pipe == nullptr) {
    return run;
  }
  std::array<char, 4096> chunk{};
  while (auto n = std::fread(chunk.data(), 1, chunk.size(), pipe)) {
    run.out.append(chunk.data(), n);
  }
  run.status = pclose(pipe);
  run.err = read_text(err_file);
  return run;
}

} // namespace mds::test

#endif
