// Version ranges, as release targeting and manifests state which app and SDK versions they
// are for. The grammar (docs/versions.md has it in full, with examples):
//
//   range        := whitespace* | alternative ("||" alternative)*     empty: every version
//   alternative  := term (whitespace+ term)*                          all terms must hold
//   term         := operator? whitespace* operand                     ">=10.1", "^ 2", "1.2.x"
//                 | operand whitespace+ "-" whitespace+ operand       hyphen range "1.2 - 2.0"
//                 | interval                                          "[1.2, 2.0)", "(,3]", "[1.0]"
//   operator     := ">=" | "<=" | ">" | "<" | "=" | "~" | "~>" | "^"
//   operand      := a version; with fewer than three numeric parts, or ending in x / X / *,
//                   it names a whole line of versions: "1.2" and "1.2.x" are every 1.2.*.
//   interval     := ("[" | "(") version? "," version? ("]" | ")") | "[" version "]"
//                   bounds are single versions, never lines
//   whitespace   := space or tab
//
// Pre-releases are ordinary versions here: ">=1.0.0" contains "1.1.0-beta" (node-semver does
// the same only with includePrerelease). docs/versions.md says why.
//
// A parsed range is kept as a sorted list of disjoint intervals, so two ranges that admit the
// same versions compare equal and print the same canonical text.
//
// Thread-safety: value type; copies are independent.
#ifndef MDS_CORE_VERSION_RANGE_HPP
#define MDS_CORE_VERSION_RANGE_HPP

#include "core/version/version.hpp"

#include <mds/error.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mds::core {

// Room for the canonical text of any range within the other two limits, so that
// parse(to_string()) always succeeds: each alternative prints as at most two comparators of
// at most kMaxVersionLength characters.
inline constexpr std::size_t kMaxRangeLength = 32 * 1024;
inline constexpr std::size_t kMaxRangeAlternatives = 32;
inline constexpr std::size_t kMaxRangeTerms = 128;

struct VersionBound {
  Version version;
  bool inclusive = true;
};

// A stretch of versions. No lower bound: from the lowest version ("0.0.0-0"); no upper bound:
// without end.
struct VersionInterval {
  std::optional<VersionBound> lower;
  std::optional<VersionBound> upper;

  bool contains(const Version &version) const noexcept;
};

class VersionRange {
public:
  // Every version, like the empty range "".
  VersionRange() = default;
  static VersionRange any() { return {}; }
  static VersionRange none();

  // Fails with ErrorCode::VersionRangeInvalid, the message saying what is wrong and where.
  static Result<VersionRange> parse(std::string_view text);

  // The union of `intervals` in canonical form: empty intervals dropped, the rest sorted and
  // merged, bounds without build metadata. Fails with ErrorCode::VersionRangeInvalid when more
  // than kMaxRangeAlternatives intervals remain or a bound cannot be written in
  // kMaxVersionLength characters.
  static Result<VersionRange> from_intervals(std::vector<VersionInterval> intervals);

  bool contains(const Version &version) const noexcept;
  bool is_any() const noexcept;
  bool is_empty() const noexcept { return intervals_.empty(); }

  // Sorted, disjoint and not touching; empty for the empty range.
  const std::vector<VersionInterval> &intervals() const noexcept { return intervals_; }

  // Canonical text: "*" for any version, "<0.0.0-0" for none, else the intervals as
  // comparators (">=1.2.0-0 <1.3.0-0") joined by " || ". Bounds are written with at least
  // three numeric parts and no trailing ".0" beyond the third, so that parse() reads them
  // back as single versions.
  std::string to_string() const;

private:
  explicit VersionRange(std::vector<VersionInterval> intervals) : intervals_(std::move(intervals)) {}

  // Every version when it holds the single unbounded interval; none when empty.
  std::vector<VersionInterval> intervals_{VersionInterval{}};
};

bool operator==(const VersionRange &a, const VersionRange &b) noexcept;
inline bool operator!=(const VersionRange &a, const VersionRange &b) noexcept {
  return !(a == b);
}

} // namespace mds::core

#endif
