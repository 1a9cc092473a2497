// Versions and ranges from arbitrary bytes: no crash, no sanitizer report, and every value
// that parses prints a text that parses back to the same value.
//
// The input is read whole as a version and as a range, and also split at its first newline
// into a version (before) and a range (after), so that contains() meets versions and ranges
// that both parsed.
#include "core/version/range.hpp"
#include "core/version/version.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

using mds::core::Version;
using mds::core::VersionRange;

namespace {

void require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

std::optional<Version> check_version(std::string_view text) {
  auto version = Version::parse(text);
  if (auto dotted = Version::parse_dotted(text); dotted) {
    // Whatever the strict parser takes, the general one takes alike, and prints unchanged.
    require(version.ok() && *version == *dotted && dotted->to_string() == text);
  }
  if (!version) {
    require(version.code() == mds::ErrorCode::VersionInvalid && !version.error().message.empty());
    return std::nullopt;
  }
  const std::string printed = version->to_string();
  auto again = Version::parse(printed);
  require(again.ok() && *again == *version && again->to_string() == printed && again->build() == version->build());
  return std::move(version).value();
}

std::optional<VersionRange> check_range(std::string_view text) {
  auto range = VersionRange::parse(text);
  if (!range) {
    require(range.code() == mds::ErrorCode::VersionRangeInvalid && !range.error().message.empty());
    return std::nullopt;
  }
  const std::string printed = range->to_string();
  auto again = VersionRange::parse(printed);
  require(again.ok() && *again == *range && again->to_string() == printed);
  return std::move(range).value();
}

void check_contains(const VersionRange &range, const Version &version) {
  const bool contained = range.contains(version);
  // The canonical form admits exactly the same versions.
  auto canonical = VersionRange::parse(range.to_string());
  require(canonical.ok() && canonical->contains(version) == contained);
  // Ranges made from the version itself hold it, when they parse (a version with a
  // pre-release and fewer than three parts is no range operand).
  const std::string text = version.to_string();
  for (const std::string &around : {"[" + text + "]", ">=" + text, "<=" + text, "^" + text, "~" + text}) {
    if (auto holding = VersionRange::parse(around); holding) {
      require(holding->contains(version));
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char *>(data), size);

  const auto version = check_version(input);
  const auto range = check_range(input);
  if (version && range) {
    check_contains(*range, *version);
  }

  if (const std::size_t newline = input.find('\n'); newline != std::string_view::npos) {
    const auto left = check_version(input.substr(0, newline));
    const auto right = check_range(input.substr(newline + 1));
    if (left && right) {
      check_contains(*right, *left);
    }
  }
  return 0;
}
