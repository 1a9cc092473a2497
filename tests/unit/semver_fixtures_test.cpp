// node-semver's own test fixtures, read at test time from the shared conformance folder and
// run as data against Version and VersionRange.
//
// A case is skipped only for a reason listed below, decided from the case itself before our
// code sees it; each reason is a feature we do not have or a rule docs/versions.md states.
// Every file prints how many cases ran and how many were skipped for each reason.
#include "core/json/json.hpp"
#include "core/version/range.hpp"
#include "core/version/version.hpp"
#include "support/conformance.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using mds::ErrorCode;
using mds::core::Version;
using mds::core::VersionBound;
using mds::core::VersionInterval;
using mds::core::VersionRange;
namespace json = mds::core::json;

namespace {

// Why a case does not run.
constexpr const char *kLoose = "options.loose (we have one strict grammar, no loose mode)";
constexpr const char *kNotAString = "the value is not a string (a JavaScript type check)";
constexpr const char *kPrereleaseTupleRule =
    "pre-release version without includePrerelease (node-semver's tuple rule; we order pre-releases like any "
    "version: docs/versions.md, Pre-releases)";
constexpr const char *kSurroundingWhitespace =
    "whitespace around a version (refused: docs/versions.md, What differs from node-semver)";
constexpr const char *kEmptyAlternative =
    "an empty alternative next to || (refused: docs/versions.md, What differs from node-semver)";
constexpr const char *kPrereleaseOnWildcard =
    "a pre-release after a wildcard (refused: docs/versions.md, What differs from node-semver)";
constexpr const char *kVersionTooLong =
    "a version longer than 256 characters inside a range (docs/versions.md, Limits)";
constexpr const char *kHyphenFromPoint =
    "includePrerelease hyphen range from a full version (node-semver starts at its pre-releases, we at the version: "
    "docs/versions.md, What differs from node-semver)";

class Tally {
public:
  explicit Tally(std::string file) : file_(std::move(file)) {}

  void ran() { ++ran_; }
  void skip(const char *reason) { ++skipped_[reason]; }
  std::size_t ran_count() const { return ran_; }
  std::size_t total() const {
    std::size_t total = ran_;
    for (const auto &entry : skipped_) {
      total += entry.second;
    }
    return total;
  }

  std::string summary() const {
    std::ostringstream out;
    out << file_ << ": " << ran_ << " of " << total() << " cases ran";
    for (const auto &[reason, count] : skipped_) {
      out << "\n  skipped " << count << ": " << reason;
    }
    return out.str();
  }

private:
  std::string file_;
  std::size_t ran_ = 0;
  std::map<std::string, std::size_t> skipped_;
};

// The fixture file as a JSON array, or nullopt (after a warning) when the folder is absent.
std::optional<json::Document> load(const std::string &file) {
  const auto dir = mds::test::conformance_dir("semver-fixtures");
  if (!dir) {
    WARN("semver-fixtures not found (set MDS_CONFORMANCE_DIR): " << file << " skipped");
    return std::nullopt;
  }
  json::Limits limits;
  limits.max_bytes = 8u << 20;
  auto doc = json::parse(mds::test::read_file(*dir / file), limits);
  if (!doc) {
    FAIL(file << ": " << mds::describe(doc.error()));
  }
  REQUIRE(doc->root().IsArray());
  return std::move(doc).value();
}

bool option(const json::Value &row, const char *name) {
  if (!row.HasMember("options") || !row["options"].IsObject()) {
    return false;
  }
  const auto &options = row["options"];
  return options.HasMember(name) && options[name].IsBool() && options[name].GetBool();
}

std::string text(const json::Value &value) {
  return std::string(json::view(value));
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool has_surrounding_whitespace(const std::string &s) {
  return !s.empty() && (is_space(s.front()) || is_space(s.back()));
}

std::vector<std::string> split_on_spaces(const std::string &s) {
  std::vector<std::string> words;
  std::string word;
  for (char c : s) {
    if (is_space(c)) {
      if (!word.empty()) {
        words.push_back(word);
      }
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) {
    words.push_back(word);
  }
  return words;
}

// The alternatives of a range text, split on "||".
std::vector<std::string> alternatives(const std::string &range) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (true) {
    const std::size_t bar = range.find("||", begin);
    out.push_back(range.substr(begin, bar == std::string::npos ? std::string::npos : bar - begin));
    if (bar == std::string::npos) {
      return out;
    }
    begin = bar + 2;
  }
}

bool has_empty_alternative(const std::string &range) {
  const auto parts = alternatives(range);
  if (parts.size() < 2) {
    return false;
  }
  for (const auto &part : parts) {
    if (split_on_spaces(part).empty()) {
      return true;
    }
  }
  return false;
}

// The version text of each term, operators dropped ("~>1.2" -> "1.2").
std::vector<std::string> operands(const std::string &range) {
  std::vector<std::string> out;
  for (auto word : split_on_spaces(range)) {
    const auto start = word.find_first_not_of("<>=~^|");
    if (start != std::string::npos && word != "-") {
      out.push_back(word.substr(start));
    }
  }
  return out;
}

bool has_prerelease_on_wildcard(const std::string &range) {
  for (const auto &operand : operands(range)) {
    const std::string main = operand.substr(0, operand.find_first_of("-+"));
    const bool wildcard = main == "x" || main == "X" || main == "*" || main.find(".x") != std::string::npos ||
                          main.find(".X") != std::string::npos || main.find(".*") != std::string::npos;
    if (wildcard && operand.size() > main.size() && operand[main.size()] == '-') {
      return true;
    }
  }
  return false;
}

bool has_overlong_version(const std::string &range) {
  for (const auto &operand : operands(range)) {
    if (operand.size() > mds::core::kMaxVersionLength) {
      return true;
    }
  }
  return false;
}

// "A - B" whose A is a full version (three numeric parts).
bool is_hyphen_from_full_version(const std::string &range) {
  const auto words = split_on_spaces(range);
  if (words.size() != 3 || words[1] != "-") {
    return false;
  }
  auto from = Version::parse(words[0]);
  return from.ok() && from->numbers().size() == 3;
}

// The reason a range text is outside our grammar on purpose, or nullptr.
const char *range_skip_reason(const std::string &range) {
  if (has_empty_alternative(range)) {
    return kEmptyAlternative;
  }
  if (has_prerelease_on_wildcard(range)) {
    return kPrereleaseOnWildcard;
  }
  if (has_overlong_version(range)) {
    return kVersionTooLong;
  }
  return nullptr;
}

VersionRange parse_range(const std::string &text) {
  auto parsed = VersionRange::parse(text);
  INFO("range '" << text << "'");
  if (!parsed) {
    FAIL(mds::describe(parsed.error()));
  }
  return *parsed;
}

// The same range seen on releases only. Without includePrerelease node-semver admits no
// pre-release unless a comparator names one, so on releases alone its ranges and ours must
// agree exactly: a bound at a pre-release of N admits the same releases as one at N itself
// (inclusive from below, exclusive from above).
VersionRange releases_only(const VersionRange &range) {
  std::vector<VersionInterval> projected;
  for (auto interval : range.intervals()) {
    if (interval.lower && interval.lower->version.is_prerelease()) {
      interval.lower = VersionBound{*Version::from_parts(interval.lower->version.numbers()), true};
    }
    if (interval.upper && interval.upper->version.is_prerelease()) {
      interval.upper = VersionBound{*Version::from_parts(interval.upper->version.numbers()), false};
    }
    projected.push_back(interval);
  }
  auto out = VersionRange::from_intervals(projected);
  REQUIRE(out.ok());
  return *out;
}

// Runs range-include.json or range-exclude.json.
Tally run_range_membership(const std::string &file, bool expected) {
  Tally tally(file);
  auto doc = load(file);
  if (!doc) {
    return tally;
  }
  for (const auto &row : doc->root().GetArray()) {
    const std::string range = text(row["range"]);
    if (option(row, "loose")) {
      tally.skip(kLoose);
      continue;
    }
    if (!row["version"].IsString()) {
      tally.skip(kNotAString);
      continue;
    }
    const std::string version_text = text(row["version"]);
    if (const char *reason = range_skip_reason(range)) {
      tally.skip(reason);
      continue;
    }
    auto version = Version::parse(version_text);
    if (version && version->is_prerelease() && !option(row, "includePrerelease")) {
      tally.skip(kPrereleaseTupleRule);
      continue;
    }
    tally.ran();
    INFO(file << ": '" << range << "' and '" << version_text << "'");
    const auto parsed = parse_range(range);
    if (expected) {
      REQUIRE(version.ok());
      CHECK(parsed.contains(*version));
    } else {
      // node-semver satisfies nothing with an invalid version; we refuse to parse it.
      CHECK((!version || !parsed.contains(*version)));
    }
  }
  return tally;
}

Tally run_range_include() {
  return run_range_membership("range-include.json", true);
}
Tally run_range_exclude() {
  return run_range_membership("range-exclude.json", false);
}

Tally run_valid_versions() {
  Tally tally("valid-versions.json");
  auto doc = load("valid-versions.json");
  if (!doc) {
    return tally;
  }
  for (const auto &row : doc->root().GetArray()) {
    const std::string input = text(row["version"]);
    INFO(input);
    tally.ran();
    auto parsed = Version::parse(input);
    if (!parsed) {
      FAIL(mds::describe(parsed.error()));
    }
    REQUIRE(parsed->numbers().size() == 3);
    CHECK(parsed->number(0) == row["major"].GetUint64());
    CHECK(parsed->number(1) == row["minor"].GetUint64());
    CHECK(parsed->number(2) == row["patch"].GetUint64());
    const auto &prerelease = row["prerelease"].GetArray();
    REQUIRE(parsed->prerelease().size() == prerelease.Size());
    for (rapidjson::SizeType i = 0; i < prerelease.Size(); ++i) {
      const auto &identifier = parsed->prerelease()[i];
      if (prerelease[i].IsUint64()) {
        REQUIRE(identifier.number.has_value());
        CHECK(*identifier.number == prerelease[i].GetUint64());
      } else {
        CHECK_FALSE(identifier.number.has_value());
        CHECK(identifier.text == text(prerelease[i]));
      }
    }
    std::string build;
    for (const auto &identifier : row["build"].GetArray()) {
      build += (build.empty() ? "" : ".") + text(identifier);
    }
    CHECK(parsed->build() == build);
  }
  return tally;
}

Tally run_invalid_versions() {
  Tally tally("invalid-versions.json");
  auto doc = load("invalid-versions.json");
  if (!doc) {
    return tally;
  }
  for (const auto &row : doc->root().GetArray()) {
    if (!row["value"].IsString()) {
      tally.skip(kNotAString);
      continue;
    }
    // Loose cases run too: loose mode only widens what parses, and these stay invalid in it.
    const std::string input = text(row["value"]);
    INFO(input << " (" << text(row["reason"]) << ")");
    tally.ran();
    auto parsed = Version::parse(input);
    CHECK(parsed.code() == ErrorCode::VersionInvalid);
    CHECK(Version::parse_dotted(input).code() == ErrorCode::VersionInvalid);
  }
  return tally;
}

Tally run_comparisons() {
  Tally tally("comparisons.json");
  auto doc = load("comparisons.json");
  if (!doc) {
    return tally;
  }
  for (const auto &row : doc->root().GetArray()) {
    if (option(row, "loose")) {
      tally.skip(kLoose);
      continue;
    }
    tally.ran();
    const std::string greater_text = text(row["greater"]);
    const std::string lesser_text = text(row["lesser"]);
    INFO(greater_text << " > " << lesser_text);
    auto greater = Version::parse(greater_text);
    auto lesser = Version::parse(lesser_text);
    REQUIRE(greater.ok());
    REQUIRE(lesser.ok());
    CHECK(mds::core::compare(*greater, *lesser) > 0);
    CHECK(mds::core::compare(*lesser, *greater) < 0);
    CHECK(*greater > *lesser);
    CHECK(*lesser < *greater);
    CHECK(*greater != *lesser);
  }
  return tally;
}

Tally run_equality() {
  Tally tally("equality.json");
  auto doc = load("equality.json");
  if (!doc) {
    return tally;
  }
  for (const auto &row : doc->root().GetArray()) {
    const std::string left_text = text(row["left"]);
    const std::string right_text = text(row["right"]);
    if (option(row, "loose")) {
      tally.skip(kLoose);
      continue;
    }
    if (has_surrounding_whitespace(left_text) || has_surrounding_whitespace(right_text)) {
      tally.skip(kSurroundingWhitespace);
      continue;
    }
    tally.ran();
    INFO(left_text << " == " << right_text);
    auto left = Version::parse(left_text);
    auto right = Version::parse(right_text);
    REQUIRE(left.ok());
    REQUIRE(right.ok());
    CHECK(*left == *right);
    CHECK(mds::core::compare(*left, *right) == 0);
  }
  return tally;
}

Tally run_range_parse() {
  Tally tally("range-parse.json");
  auto doc = load("range-parse.json");
  if (!doc) {
    return tally;
  }
  for (const auto &row : doc->root().GetArray()) {
    const std::string range = text(row["range"]);
    const bool include_prerelease = option(row, "includePrerelease");
    INFO("'" << range << "'" << (include_prerelease ? " (includePrerelease)" : ""));
    if (row["canonical"].IsNull()) {
      // Refused by node-semver: refused by us too, in any mode (loose only widens the grammar).
      tally.ran();
      CHECK(VersionRange::parse(range).code() == ErrorCode::VersionRangeInvalid);
      continue;
    }
    if (option(row, "loose")) {
      tally.skip(kLoose);
      continue;
    }
    if (const char *reason = range_skip_reason(range)) {
      tally.skip(reason);
      continue;
    }
    if (include_prerelease && is_hyphen_from_full_version(range)) {
      tally.skip(kHyphenFromPoint);
      continue;
    }
    tally.ran();
    const std::string canonical = text(row["canonical"]);
    INFO("node-semver reads it as '" << canonical << "'");
    const auto ours = parse_range(range);
    const auto theirs = parse_range(canonical);
    if (include_prerelease) {
      // Same pre-release rule: the very same versions.
      CHECK(ours == theirs);
    } else {
      CHECK(releases_only(ours) == releases_only(theirs));
    }
  }
  return tally;
}

} // namespace

TEST_CASE("node-semver fixtures run as data", "[version][range][semver-fixtures]") {
  if (!mds::test::conformance_dir("semver-fixtures")) {
    WARN("semver-fixtures not found (set MDS_CONFORMANCE_DIR): skipped");
    return;
  }
  struct File {
    Tally tally;
    std::size_t minimum_ran; // so that no file can be skipped into passing
  };
  std::vector<File> files;
  files.push_back({run_valid_versions(), 22});
  files.push_back({run_invalid_versions(), 7});
  files.push_back({run_comparisons(), 19});
  files.push_back({run_equality(), 2}); // nearly all of its cases are for loose mode
  files.push_back({run_range_include(), 90});
  files.push_back({run_range_exclude(), 60});
  files.push_back({run_range_parse(), 100});

  std::size_t ran = 0;
  std::size_t total = 0;
  for (const auto &file : files) {
    WARN(file.tally.summary());
    CHECK(file.tally.ran_count() >= file.minimum_ran);
    ran += file.tally.ran_count();
    total += file.tally.total();
  }
  WARN("node-semver fixtures: " << ran << " of " << total << " cases ran");
  CHECK(ran >= 300);
}
