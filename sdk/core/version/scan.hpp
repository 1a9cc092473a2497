// The one reader of version text, shared by Version and VersionRange so that a version means
// the same thing wherever it is written. Internal to core/version.
#ifndef MDS_CORE_VERSION_SCAN_HPP
#define MDS_CORE_VERSION_SCAN_HPP

#include <mds/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mds::core::detail {

enum class VersionSyntax {
  Dotted,       // numeric parts only
  General,      // "v" prefix, pre-release and build allowed
  RangeOperand, // General, plus trailing wildcard parts: "1.x", "1.2.*", "*"
};

struct ScannedVersion {
  std::vector<std::uint64_t> numbers;  // the numeric parts before any wildcard
  bool wildcard = false;               // the numeric parts ended in x, X or *
  std::vector<std::string> prerelease; // identifiers, without the dots
  std::string build;                   // without the "+"
};

// Fails with ErrorCode::VersionInvalid; the message says what is wrong and where, and does
// not repeat the input (callers name it).
Result<ScannedVersion> scan_version(std::string_view text, VersionSyntax syntax);

// Checks one pre-release identifier: non-empty, [0-9A-Za-z-], and when all digits, no
// leading zero and at most kMaxVersionNumber. Empty string when fine, else the problem.
std::string prerelease_identifier_problem(std::string_view identifier);

// `text` quoted for an error message: at most a few dozen characters, bytes outside
// printable ASCII escaped, so a hostile input cannot flood or garble a log line.
std::string quoted(std::string_view text);

} // namespace mds::core::detail

#endif
