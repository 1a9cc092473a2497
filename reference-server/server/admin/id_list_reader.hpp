// Reads the ids of a whitelist import from a file: plain text (one id per line) or CSV
// (the id is the first column; a header row named id, user_id or device_id is skipped).
// Streams in fixed-size chunks, so a file of millions of ids costs the same memory as a
// file of ten. A malformed id stops the import with the line number.
//
// An id is 1 to 128 bytes, none of them a control character, a space, a comma or a
// double quote (surrounding spaces and a CSV field's quotes are removed first).
//
// A regex list's file holds one pattern per line, taken whole (no CSV, no header; blank
// lines skipped, surrounding spaces removed): 1 to kMaxPatternLength bytes, no control
// character. Whether it compiles is the store's check.
#ifndef MDS_SERVER_ADMIN_ID_LIST_READER_HPP
#define MDS_SERVER_ADMIN_ID_LIST_READER_HPP

#include "server/storage/storage.hpp"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mds::server {

inline constexpr std::size_t kMaxIdLength = 128;

class IdListReader final : public IdSource {
public:
  static Result<std::unique_ptr<IdListReader>> open(const std::filesystem::path &file,
                                                    WhitelistMatch match = WhitelistMatch::Id);
  ~IdListReader() override;
  IdListReader(const IdListReader &) = delete;
  IdListReader &operator=(const IdListReader &) = delete;

  Result<std::optional<std::string_view>> next() override;

private:
  IdListReader(std::FILE *file, WhitelistMatch match) : file_(file), match_(match), buffer_(1 << 20) {}
  // The next raw line without its end-of-line; nullopt at end of file.
  Result<std::optional<std::string_view>> next_line();

  std::FILE *file_;
  WhitelistMatch match_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
  std::uint64_t line_number_ = 0;
  bool first_id_line_ = true;
  std::string partial_;   // the start of a line whose end is in the next chunk
  std::string assembled_; // a line put together from two chunks; valid until the next call
};

// The id in one line of a plain or CSV file, or nullopt for a blank line.
Result<std::optional<std::string_view>> id_from_line(std::string_view line);
// The pattern in one line of a regex list's file, or nullopt for a blank line.
Result<std::optional<std::string_view>> pattern_from_line(std::string_view line);

} // namespace mds::server

#endif
