// Versions as mobile apps, SDKs and packages carry them: any number of dotted numeric parts
// ("10.2.3", "10.1.68.2") compared numerically with missing parts read as zero, plus the
// semver pre-release ("-beta.1") and build ("+build") suffixes. docs/versions.md has the
// grammar and the ordering rules.
//
// Bounds (SECURITY.md #6): every number at most 2^53 - 1 (what a JSON number or a JavaScript
// client holds exactly), at most 16 numeric parts, at most 256 characters. A version pushed
// to an absurd number by a stolen key is refused here, before it can raise a version floor.
//
// Thread-safety: value type; copies are independent.
#ifndef MDS_CORE_VERSION_VERSION_HPP
#define MDS_CORE_VERSION_VERSION_HPP

#include <mds/error.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mds::core {

inline constexpr std::uint64_t kMaxVersionNumber = (std::uint64_t{1} << 53) - 1;
inline constexpr std::size_t kMaxVersionParts = 16;
inline constexpr std::size_t kMaxVersionLength = 256;

class Version {
public:
  // One dot-separated identifier of a pre-release: "beta", "rc-2" or "7".
  struct Identifier {
    std::string text;
    std::optional<std::uint64_t> number; // set when `text` is all digits

    bool operator==(const Identifier &other) const { return text == other.text; }
    bool operator!=(const Identifier &other) const { return !(*this == other); }
  };

  // The version "0".
  Version();

  // What manifests carry: numeric parts only ("10.1.68.2"); no leading zeros except a lone
  // "0", no "v" prefix, no pre-release, no build. Fails with ErrorCode::VersionInvalid.
  static Result<Version> parse_dotted(std::string_view text);

  // Everything a device or an operator may write: an optional "v" prefix, numeric parts,
  // an optional "-pre.release" and an optional "+build". No surrounding whitespace.
  // Fails with ErrorCode::VersionInvalid and a message naming the problem.
  static Result<Version> parse(std::string_view text);

  // Builds a version from its parts with the checks parse() applies (bounds, identifier
  // syntax). `prerelease` holds the identifiers without dots: {"beta", "1"}.
  static Result<Version> from_parts(std::vector<std::uint64_t> numbers, std::vector<std::string> prerelease = {});

  const std::vector<std::uint64_t> &numbers() const noexcept { return numbers_; }
  // The numeric part at `index`, and 0 past the last one written ("1.2" has part 2 == 0).
  std::uint64_t number(std::size_t index) const noexcept { return index < numbers_.size() ? numbers_[index] : 0; }
  const std::vector<Identifier> &prerelease() const noexcept { return prerelease_; }
  bool is_prerelease() const noexcept { return !prerelease_.empty(); }
  // Without the "+"; empty when there is none. Never affects comparisons.
  const std::string &build() const noexcept { return build_; }

  // The version as parse() read it, without a "v" prefix: parse(v.to_string()) gives back
  // the same parts, and a string without "v" comes back unchanged.
  std::string to_string() const;

private:
  std::vector<std::uint64_t> numbers_;
  std::vector<Identifier> prerelease_;
  std::string build_;
};

// Negative, zero or positive as a sorts before, equal to or after b. Numeric parts compare
// as numbers, missing parts as 0 ("1.0" == "1.0.0"); a pre-release sorts before its release;
// pre-release identifiers compare as semver says (numbers numerically and before words,
// words by ASCII, a longer list after its prefix); build metadata is ignored.
int compare(const Version &a, const Version &b) noexcept;

inline bool operator==(const Version &a, const Version &b) noexcept {
  return compare(a, b) == 0;
}
inline bool operator!=(const Version &a, const Version &b) noexcept {
  return compare(a, b) != 0;
}
inline bool operator<(const Version &a, const Version &b) noexcept {
  return compare(a, b) < 0;
}
inline bool operator<=(const Version &a, const Version &b) noexcept {
  return compare(a, b) <= 0;
}
inline bool operator>(const Version &a, const Version &b) noexcept {
  return compare(a, b) > 0;
}
inline bool operator>=(const Version &a, const Version &b) noexcept {
  return compare(a, b) >= 0;
}

} // namespace mds::core

#endif
