// Human-readable output of admin answers: aligned tables and tolerant field reading. The
// --json output is the server's answer itself; text is for people, so a field a newer
// server dropped shows as "-" instead of failing the command.
#ifndef MDS_MDSCTL_TEXT_OUTPUT_HPP
#define MDS_MDSCTL_TEXT_OUTPUT_HPP

#include "core/json/json.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mds::mdsctl {

// Columns padded to their widest cell, two spaces apart, a header row first.
class Table {
public:
  explicit Table(std::vector<std::string> header);
  void add(std::vector<std::string> row);
  std::string render() const; // "(none)" under the header when there are no rows
  bool empty() const { return rows_.size() == 1; }

private:
  std::vector<std::vector<std::string>> rows_;
};

// A member of `object` as display text: strings as they are, numbers and booleans
// written out, other values as compact JSON, "-" when absent or null.
std::string field(const core::json::Value &object, std::string_view key);

// The member itself, or nullptr.
const core::json::Value *member(const core::json::Value &object, std::string_view key);

// Compact JSON of a value, cut at `max_chars` with "..." when longer (0: no cut).
std::string compact(const core::json::Value &value, std::size_t max_chars = 0);

// "20.0 MB", "812 B".
std::string human_bytes(std::uint64_t bytes);

// `part` as a percentage of `whole`, one decimal ("62.5%"); "-" when whole is 0.
std::string percent_of(std::uint64_t part, std::uint64_t whole);

} // namespace mds::mdsctl

#endif
