#include "core/version/range.hpp"
#include "core/version/version.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using mds::ErrorCode;
using mds::core::compare;
using mds::core::Version;
using mds::core::VersionBound;
using mds::core::VersionInterval;
using mds::core::VersionRange;

using mds::test::repeat;

namespace {

Version version(const std::string &text) {
  auto parsed = Version::parse(text);
  INFO(text);
  REQUIRE(parsed.ok());
  return *parsed;
}

VersionRange range(const std::string &text) {
  auto parsed = VersionRange::parse(text);
  INFO(text);
  if (!parsed) {
    FAIL(mds::describe(parsed.error()));
  }
  return *parsed;
}

std::vector<std::string> prerelease_texts(const Version &v) {
  std::vector<std::string> texts;
  for (const auto &identifier : v.prerelease()) {
    texts.push_back(identifier.text);
  }
  return texts;
}

} // namespace

TEST_CASE("versions parse into numbers, pre-release and build", "[version]") {
  struct Case {
    std::string text;
    std::vector<std::uint64_t> numbers;
    std::vector<std::string> prerelease;
    std::string build;
    std::string canonical;
  };
  const Case cases[] = {
      {"10.2.3", {10, 2, 3}, {}, "", "10.2.3"},
      {"10.1.68.2", {10, 1, 68, 2}, {}, "", "10.1.68.2"},
      {"7", {7}, {}, "", "7"},
      {"1.0", {1, 0}, {}, "", "1.0"},
      {"0.0.0", {0, 0, 0}, {}, "", "0.0.0"},
      {"1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16",
       {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
       {},
       "",
       "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16"},
      {"9007199254740991.0.0", {9007199254740991, 0, 0}, {}, "", "9007199254740991.0.0"},
      {"1.2.3-beta.1", {1, 2, 3}, {"beta", "1"}, "", "1.2.3-beta.1"},
      {"1.2.3-alpha-.-beta", {1, 2, 3}, {"alpha-", "-beta"}, "", "1.2.3-alpha-.-beta"},
      {"1.2.3+build.007", {1, 2, 3}, {}, "build.007", "1.2.3+build.007"},
      {"1.2.3-rc.1+sha.5114f85", {1, 2, 3}, {"rc", "1"}, "sha.5114f85", "1.2.3-rc.1+sha.5114f85"},
      {"10.1.68.2-beta", {10, 1, 68, 2}, {"beta"}, "", "10.1.68.2-beta"},
      {"2-0", {2}, {"0"}, "", "2-0"},
      {"v1.2.3", {1, 2, 3}, {}, "", "1.2.3"}, // the git-tag "v" is read and dropped
      {"1.2.3-9007199254740991", {1, 2, 3}, {"9007199254740991"}, "", "1.2.3-9007199254740991"},
  };
  for (const auto &c : cases) {
    INFO(c.text);
    auto parsed = Version::parse(c.text);
    REQUIRE(parsed.ok());
    CHECK(parsed->numbers() == c.numbers);
    CHECK(prerelease_texts(*parsed) == c.prerelease);
    CHECK(parsed->build() == c.build);
    CHECK(parsed->is_prerelease() == !c.prerelease.empty());
    CHECK(parsed->to_string() == c.canonical);
    auto again = Version::parse(parsed->to_string());
    REQUIRE(again.ok());
    CHECK(again->to_string() == c.canonical);
    CHECK(again->build() == c.build);
  }
}

TEST_CASE("numeric pre-release identifiers carry their number", "[version]") {
  const auto v = version("1.0.0-alpha.12.1a");
  REQUIRE(v.prerelease().size() == 3);
  CHECK_FALSE(v.prerelease()[0].number.has_value());
  REQUIRE(v.prerelease()[1].number.has_value());
  CHECK(*v.prerelease()[1].number == 12);
  CHECK_FALSE(v.prerelease()[2].number.has_value());
}

TEST_CASE("bad versions are refused with version_invalid and say what is wrong", "[version]") {
  struct Case {
    std::string text;
    std::string problem; // a piece of the message
  };
  const Case cases[] = {
      {"", "empty version"},
      {".1", "empty part 1"},
      {"1.", "empty part 2 at the end"},
      {"1..2", "empty part 2"},
      {"01.2", "part 1 has a leading zero"},
      {"1.02", "part 2 has a leading zero"},
      {"1.2.3beta", "unexpected character \"b\""},
      {"1.2.x", "unexpected character \"x\""}, // wildcards belong to ranges only
      {"9007199254740992", "part 1 exceeds 2^53-1"},
      {"1.99999999999999999999", "part 2 exceeds 2^53-1"},
      {"1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17", "more than 16 numeric parts"},
      {"1" + repeat(".0", 128), "longer than 256 characters"},
      {"1.2.3-", "empty pre-release identifier"},
      {"1.2.3-a..b", "empty pre-release identifier"},
      {"1.2.3-01", "leading zero"},
      {"1.2.3-9007199254740992", "exceeds 2^53-1"},
      {"1.2.3-beta_1", "outside [0-9A-Za-z-]"},
      {"1.2.3+", "empty build identifier"},
      {"1.2.3+a..b", "empty build identifier"},
      {"1.2.3+build_1", "unexpected character \"_\""},
      {"1.2.3+a+b", "unexpected character \"+\""},
      {" 1.2.3", "unexpected character \" \""},
      {"1.2.3 ", "unexpected character \" \""},
      {"=1.2.3", "unexpected character \"=\""},
      {"V1.2.3", "unexpected character \"V\""},
      {"v", "unexpected character \"v\""},
      {"vv1", "unexpected character \"v\""},
      {"1.2.3\n", "\\x0a"},
      {std::string("1.2\0.3", 6), "\\x00"},
      {"１.2", "\\xef"}, // a full-width digit is not a digit
      {"-1.2", "empty part 1"},
      {"hello, world", "unexpected character \"h\""},
  };
  for (const auto &c : cases) {
    INFO(c.text);
    auto parsed = Version::parse(c.text);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.code() == ErrorCode::VersionInvalid);
    CHECK_THAT(parsed.error().message, Catch::Contains(c.problem));
  }
}

TEST_CASE("an error message quotes a bounded, printable excerpt of the input", "[version]") {
  auto parsed = Version::parse(repeat("\x01", 300));
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.error().message.size() < 300);
  CHECK(parsed.error().message.find('\x01') == std::string::npos);
}

TEST_CASE("parse_dotted takes numeric parts only", "[version]") {
  const std::string good[] = {"0", "1.0.0", "10.1.68.2", "9007199254740991", "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16"};
  for (const auto &text : good) {
    INFO(text);
    auto parsed = Version::parse_dotted(text);
    REQUIRE(parsed.ok());
    CHECK(parsed->to_string() == text);
  }
  struct Case {
    std::string text;
    std::string problem;
  };
  const Case bad[] = {
      {"", "empty version"},
      {"v1.2.3", "unexpected character \"v\""},
      {"1.2.3-beta", "pre-release"},
      {"1.2.3+build", "build metadata"},
      {"1.02.3", "leading zero"},
      {"00", "leading zero"},
      {"1.2.", "empty part 3"},
      {"9007199254740992", "exceeds 2^53-1"},
      {"1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17", "more than 16"},
      {"1.x", "unexpected character \"x\""},
      {"1.2.3 ", "unexpected character"},
  };
  for (const auto &c : bad) {
    INFO(c.text);
    auto parsed = Version::parse_dotted(c.text);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.code() == ErrorCode::VersionInvalid);
    CHECK_THAT(parsed.error().message, Catch::Contains(c.problem));
  }
}

TEST_CASE("from_parts checks what parse checks", "[version]") {
  auto good = Version::from_parts({1, 2, 3, 4}, {"rc", "2"});
  REQUIRE(good.ok());
  CHECK(good->to_string() == "1.2.3.4-rc.2");
  CHECK(*good == version("1.2.3.4-rc.2"));

  CHECK(Version::from_parts({}).code() == ErrorCode::VersionInvalid);
  CHECK(Version::from_parts(std::vector<std::uint64_t>(17, 1)).code() == ErrorCode::VersionInvalid);
  CHECK(Version::from_parts({mds::core::kMaxVersionNumber + 1}).code() == ErrorCode::VersionInvalid);
  CHECK(Version::from_parts({1}, {""}).code() == ErrorCode::VersionInvalid);
  CHECK(Version::from_parts({1}, {"a.b"}).code() == ErrorCode::VersionInvalid);
  CHECK(Version::from_parts({1}, {"01"}).code() == ErrorCode::VersionInvalid);
  CHECK(Version::from_parts({1}, {repeat("a", 260)}).code() == ErrorCode::VersionInvalid);
}

TEST_CASE("versions compare numerically, missing parts as zero, pre-releases first", "[version]") {
  struct Case {
    std::string a;
    std::string b;
    int order; // sign of compare(a, b)
  };
  const Case cases[] = {
      // numeric, not textual
      {"1.10.0", "1.9.0", 1},
      {"10.1.68.2", "10.1.68.10", -1},
      {"10.1.68.2", "10.1.68", 1},
      {"10.1.68.2", "10.1.69", -1},
      {"10.2", "10.1.68.2", 1},
      {"2", "10", -1},
      // missing parts are zero
      {"1.0", "1.0.0", 0},
      {"1", "1.0.0.0", 0},
      {"1.0.0.0.1", "1", 1},
      {"10.1.68.0", "10.1.68", 0},
      {"0", "0.0.0", 0},
      // a leading "v" and build metadata change nothing
      {"v1.2.3", "1.2.3", 0},
      {"1.2.3+a", "1.2.3+b", 0},
      {"1.2.3-rc.1+a", "1.2.3-rc.1", 0},
      // pre-releases sort before their release, after the previous one
      {"1.2.3-beta", "1.2.3", -1},
      {"1.2.3-beta", "1.2.2", 1},
      {"1.2.3-beta", "1.2.2.9", 1},
      {"1.2-beta", "1.2.0-beta", 0},
      {"10.1.68.2-beta", "10.1.68.2", -1},
      {"10.1.68.2-beta", "10.1.68.1", 1},
      // pre-release identifiers: numbers numerically, numbers before words, ASCII, longer later
      {"1.0.0-alpha", "1.0.0-alpha.1", -1},
      {"1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
      {"1.0.0-alpha.beta", "1.0.0-beta", -1},
      {"1.0.0-beta", "1.0.0-beta.2", -1},
      {"1.0.0-beta.2", "1.0.0-beta.11", -1},
      {"1.0.0-beta.11", "1.0.0-rc.1", -1},
      {"1.0.0-rc.1", "1.0.0", -1},
      {"1.0.0-0", "1.0.0-alpha", -1},
      {"1.0.0-0", "0.9.9.9", 1},
      {"1.0.0-r2", "1.0.0-r100", 1},
      {"1.0.0-R2", "1.0.0-r100", -1},
      {"1.0.0-9007199254740991", "1.0.0-9007199254740990", 1},
  };
  for (const auto &c : cases) {
    INFO(c.a << " vs " << c.b);
    const auto a = version(c.a);
    const auto b = version(c.b);
    const int order = compare(a, b);
    CHECK((order > 0) - (order < 0) == c.order);
    CHECK(compare(b, a) == -order); // antisymmetric
    CHECK((a == b) == (c.order == 0));
    CHECK((a != b) == (c.order != 0));
    CHECK((a < b) == (c.order < 0));
    CHECK((a <= b) == (c.order <= 0));
    CHECK((a > b) == (c.order > 0));
    CHECK((a >= b) == (c.order >= 0));
  }
}

TEST_CASE("ranges parse to their canonical form", "[version][range]") {
  struct Case {
    std::string text;
    std::string canonical;
  };
  const Case cases[] = {
      // any and none
      {"", "*"},
      {"  \t ", "*"},
      {"*", "*"},
      {"x", "*"},
      {"X", "*"},
      {">=*", "*"},
      {"<=x", "*"},
      {">*", "<0.0.0-0"},
      {"<x", "<0.0.0-0"},
      {">2 <1", "<0.0.0-0"},
      {"<0.0.0-0", "<0.0.0-0"},
      {">=0.0.0-0", "*"},
      {">=0", "*"},
      {"[0-0]", "<=0.0.0-0"}, // the lowest version: nothing lies below it
      {"0.0.0-0", "<=0.0.0-0"},
      // comparators on single versions (three or more parts)
      {"1.2.3", "1.2.3"},
      {"=1.2.3", "1.2.3"},
      {">=1.2.3", ">=1.2.3"},
      {">1.2.3", ">1.2.3"},
      {"<1.2.3", "<1.2.3"},
      {"<=1.2.3", "<=1.2.3"},
      {">= 1.2.3", ">=1.2.3"},
      {"<\t1.2.3", "<1.2.3"},
      {"v1.2.3", "1.2.3"},
      {"1.2.3+build", "1.2.3"},
      {"=10.1.68.2", "10.1.68.2"},
      {"10.1.68.0", "10.1.68"},
      {"1.0.0.0", "1.0.0"},
      {"1.2.3-beta.1", "1.2.3-beta.1"},
      // fewer than three parts, or a wildcard: a whole line, pre-releases included
      {"1", ">=1.0.0-0 <2.0.0-0"},
      {"1.2", ">=1.2.0-0 <1.3.0-0"},
      {"1.x", ">=1.0.0-0 <2.0.0-0"},
      {"1.*.*", ">=1.0.0-0 <2.0.0-0"},
      {"1.2.x", ">=1.2.0-0 <1.3.0-0"},
      {"10.1.68.x", ">=10.1.68-0 <10.1.69-0"},
      {"1.0.x", ">=1.0.0-0 <1.1.0-0"},
      {"=1.2", ">=1.2.0-0 <1.3.0-0"},
      {">=10.1 <11", ">=10.1.0-0 <11.0.0-0"},
      {">10.1", ">=10.2.0-0"},
      {"<=10.1", "<10.2.0-0"},
      {"<10.1", "<10.1.0-0"},
      {">=1.2.x", ">=1.2.0-0"},
      // tilde: changes after the minor part
      {"~1.2.3", ">=1.2.3 <1.3.0-0"},
      {"~>1.2.3", ">=1.2.3 <1.3.0-0"},
      {"~ 1.2", ">=1.2.0-0 <1.3.0-0"},
      {"~1", ">=1.0.0-0 <2.0.0-0"},
      {"~10.1.68.2", ">=10.1.68.2 <10.2.0-0"},
      {"~1.2.3.x", ">=1.2.3-0 <1.3.0-0"},
      {"~1.2.3-beta.4", ">=1.2.3-beta.4 <1.3.0-0"},
      {"~*", "*"},
      // caret: changes after the first non-zero part
      {"^1.2.3", ">=1.2.3 <2.0.0-0"},
      {"^0.2.3", ">=0.2.3 <0.3.0-0"},
      {"^0.0.3", ">=0.0.3 <0.0.4-0"},
      {"^0.0.0.5", ">=0.0.0.5 <0.0.0.6-0"},
      {"^0.0.0", ">=0.0.0 <0.0.1-0"},
      {"^0.0.0.0", ">=0.0.0 <0.0.1-0"},
      {"^0.0", "<0.1.0-0"},
      {"^0", "<1.0.0-0"},
      {"^1.2", ">=1.2.0-0 <2.0.0-0"},
      {"^ 1.x", ">=1.0.0-0 <2.0.0-0"},
      {"^10.1.68.2", ">=10.1.68.2 <11.0.0-0"},
      {"^1.2.3-beta", ">=1.2.3-beta <2.0.0-0"},
      {"^x", "*"},
      {"^9007199254740990.0.0", ">=9007199254740990.0.0 <9007199254740991.0.0-0"},
      // hyphen ranges
      {"1.2.3 - 2.3.4", ">=1.2.3 <=2.3.4"},
      {"1.2 - 2.0", ">=1.2.0-0 <2.1.0-0"},
      {"1.2.3 - 2", ">=1.2.3 <3.0.0-0"},
      {"x - 1.0.0", "<=1.0.0"},
      {"1.0.0 - *", ">=1.0.0"},
      {"1.0.0  -\t2.0.0", ">=1.0.0 <=2.0.0"},
      // interval notation: bounds are single versions
      {"[1.2, 2.0)", ">=1.2.0 <2.0.0"},
      {"[1.2,2.0]", ">=1.2.0 <=2.0.0"},
      {"(1.2,2.0)", ">1.2.0 <2.0.0"},
      {"(,3]", "<=3.0.0"},
      {"[,3)", "<3.0.0"},
      {"[1.0,]", ">=1.0.0"},
      {"(1.0,)", ">1.0.0"},
      {"[1.0]", "1.0.0"},
      {"[ 10.1.68.2 , 11 )", ">=10.1.68.2 <11.0.0"},
      {"[1.0.0-beta, 1.0.0)", ">=1.0.0-beta <1.0.0"},
      {"[v1.0+build,2)", ">=1.0.0 <2.0.0"},
      // intersections
      {">=1.2.3 <2", ">=1.2.3 <2.0.0-0"},
      {"~1.2.1 >=1.2.3", ">=1.2.3 <1.3.0-0"},
      {">=1.2.1 >=1.2.3 <=2 <1.9", ">=1.2.3 <1.9.0-0"},
      {">=1.0.0 >1.0.0", ">1.0.0"},
      {"<=2.0.0 <2.0.0", "<2.0.0"},
      {"[1.0, 3.0) >=2", ">=2.0.0-0 <3.0.0"},
      {"[1,2] [2,3]", "2.0.0"},
      // unions: sorted, overlapping and touching intervals merged
      {"1.2.3 || 1.2.4", "1.2.3 || 1.2.4"},
      {"2.x || 1.x", ">=1.0.0-0 <3.0.0-0"},
      {"1 || 3", ">=1.0.0-0 <2.0.0-0 || >=3.0.0-0 <4.0.0-0"},
      {">=2 || <1", "<1.0.0-0 || >=2.0.0-0"},
      {"[1,2) || [2,3)", ">=1.0.0 <3.0.0"},
      {"[1,2) || (2,3)", ">=1.0.0 <2.0.0 || >2.0.0 <3.0.0"},
      {"[1,2] || (2,3)", ">=1.0.0 <3.0.0"},
      {"<1.0.0 || >=1.0.0", "*"},
      {"* || 1.2.3", "*"},
      {">1 <1 || 1.2.3", "1.2.3"},
      {"  1.2.3  ||  1.2.4  ", "1.2.3 || 1.2.4"},
  };
  for (const auto &c : cases) {
    INFO("'" << c.text << "'");
    auto parsed = VersionRange::parse(c.text);
    if (!parsed) {
      FAIL(mds::describe(parsed.error()));
    }
    CHECK(parsed->to_string() == c.canonical);
    // The canonical form reads back as the same range, and is its own canonical form.
    auto again = VersionRange::parse(parsed->to_string());
    REQUIRE(again.ok());
    CHECK(*again == *parsed);
    CHECK(again->to_string() == c.canonical);
  }
}

TEST_CASE("ranges contain what they say, pre-releases included", "[version][range]") {
  struct Case {
    std::string range;
    std::string version;
    bool contained;
  };
  const Case cases[] = {
      {"", "0.0.0-0", true},
      {"*", "10.1.68.2-beta", true},
      {">*", "1.0.0", false},
      // mobile versions and missing zeros
      {">=10.1 <11", "10.1", true},
      {">=10.1 <11", "10.1.68.2", true},
      {">=10.1 <11", "10.0.99", false},
      {">=10.1 <11", "10.9.9.9", true},
      {">=10.1 <11", "11", false},
      {">=10.1 <11", "11.0.0-beta.1", false}, // "<11" ends before the 11 line, pre-releases too
      {">=10.1 <11", "10.1.0-rc.1", true},    // ">=10.1" starts with the 10.1 line
      {"10.1.68.2", "10.1.68.2.0", true},
      {"10.1.68.2", "10.1.68.2.1", false},
      {"=1.2.3", "1.2.3.0.0", true},
      {"=1.2.3", "1.2.3.1", false},
      {"<=1.2.3", "1.2.3.1", false},
      {">1.2.3", "1.2.3.1", true},
      {"1.2", "1.2.99.99", true},
      {"1.2", "1.3", false},
      {"10.1.68.x", "10.1.68.7", true},
      {"10.1.68.x", "10.1.68", true},
      {"10.1.68.x", "10.1.69", false},
      {">10.1", "10.1.99", false},
      {">10.1", "10.2.0-alpha", true},
      {"<=10.1", "10.1.99.1", true},
      // pre-releases are ordinary versions (docs/versions.md): no node-semver tuple rule
      {">=1.0.0", "1.1.0-beta", true},
      {">=1.0.0", "1.0.0-beta", false},
      {"<2.0.0", "2.0.0-beta", true}, // a single version bounds a single point ...
      {"<2", "2.0.0-beta", false},    // ... a line bounds the whole line
      {"<2.x", "2.0.0-beta", false},
      {"[1.0, 2.0)", "2.0.0-beta", true},
      {"[1.0, 2.0-0)", "2.0.0-beta", false},
      {"^1.2.3", "1.2.3-beta", false},
      {"^1.2.3", "1.5.0-beta", true},
      {"^1.2.3", "2.0.0-0", false},
      {"^1.2", "1.2.0-0", true},
      {"1.x", "1.0.0-alpha", true},
      {"1.x", "2.0.0-alpha", false},
      {"~1.2.3-beta.4", "1.2.3-beta.5", true},
      {"~1.2.3-beta.4", "1.2.3-beta.3", false},
      {"<=1.2.3", "1.2.3-beta", true},
      // intervals
      {"(,3]", "3.0.0", true},
      {"(,3]", "3.0.0.1", false},
      {"(,3)", "3.0.0", false},
      {"(,3)", "2.99", true},
      {"[1.0,]", "1.0", true},
      {"(1.0,]", "1.0.0", false},
      {"(1.0,]", "1.0.0.1", true},
      {"[1.0]", "1.0.0.0", true},
      {"[1.0]", "1.0.0-rc", false},
      // unions
      {"1.2.3 || 1.2.5", "1.2.4", false},
      {"1.2.3 || 1.2.5", "1.2.5", true},
      {"[1,2) || (2,3)", "2", false},
      {"[1,2) || (2,3)", "2.0.0.1", true},
      // build metadata is ignored
      {"1.2.3", "1.2.3+any", true},
      {"<1.2.3+z", "1.2.3+a", false},
  };
  for (const auto &c : cases) {
    INFO("'" << c.range << "' contains " << c.version);
    CHECK(range(c.range).contains(version(c.version)) == c.contained);
  }
}

TEST_CASE("bad ranges are refused with version_range_invalid and say where", "[version][range]") {
  struct Case {
    std::string text;
    std::string problem;
  };
  const Case cases[] = {
      {"||", "empty alternative"},
      {"1.2.3 ||", "empty alternative"},
      {"|| 1.2.3", "empty alternative"},
      {"1.2.3 || || 2", "empty alternative"},
      {"1 | 2", "a lone '|'"},
      {"1 |||2", "a lone '|'"},
      {">=", "operator '>=' without a version"},
      {"1.2.3 <", "operator '<' without a version"},
      {"==1.2.3", "unexpected character \"=\""},
      {"!1.2.3", "unexpected character \"!\""},
      {">=1.2.3,<2", "unexpected character \",\""},
      {"1.x.5", "a number after a wildcard"},
      {"x.1", "a number after a wildcard"},
      {"1.*.5 || 2.x", "a number after a wildcard"},
      {"1.x-beta", "a pre-release cannot follow a wildcard"},
      {"1.2-beta", "a pre-release needs major.minor.patch"},
      {"01.2.3", "leading zero"},
      {">=09090", "leading zero"},
      {"1.2.3beta", "unexpected character \"b\""},
      {"~1.2.3beta", "unexpected character \"b\""},
      {"1.2.3 -", "hyphen range without a second version"},
      {"1.2.3 - ", "hyphen range without a second version"},
      {"1.2.3 - >2", "unexpected character \">\""},
      {">1.2.3 - 2", "empty part 1"},
      {"2 - 1", "first version is above its second"},
      {"- 1.2.3", "empty part 1"},
      {"[1.0, 2.0", "without a closing"},
      {"[1.0, 2.0)x", "expected a space after the term"},
      {"[1.0)", "written [version]"},
      {"(1.0]", "written [version]"},
      {"[]", "empty interval"},
      {"[,]", "at least one bound"},
      {"(,)", "at least one bound"},
      {"[1,2,3]", "exactly one ','"},
      {"[2.0, 1.0]", "lower bound is above its upper bound"},
      {"[1.0, 1.0)", "holds no version"},
      {"(1.0, 1.0]", "holds no version"},
      {"(,0.0.0-0)", "holds no version"},
      {"[1.x, 2)", "unexpected character \"x\""},
      {"[1.0, >2)", "unexpected character \">\""},
      {"^9007199254740991.0.0", "no line follows"},
      {"9007199254740991", "no line follows"},
      {"<=9007199254740991.x", "no line follows"},
      {"9007199254740992.0.0", "exceeds 2^53-1"},
      {"1.2.3\n", "\\x0a"},
      {"1.2.3 || 1.2.4\r\n", "\\x0d"},
  };
  for (const auto &c : cases) {
    INFO("'" << c.text << "'");
    auto parsed = VersionRange::parse(c.text);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.code() == ErrorCode::VersionRangeInvalid);
    CHECK_THAT(parsed.error().message, Catch::Contains(c.problem));
    CHECK_THAT(parsed.error().message, Catch::Contains("at offset"));
  }
}

TEST_CASE("range size limits hold", "[version][range]") {
  using mds::core::kMaxRangeAlternatives;
  using mds::core::kMaxRangeLength;
  using mds::core::kMaxRangeTerms;

  // Alternatives: exactly at the limit parses; one more does not.
  std::string alternatives = "1.0.1";
  for (std::size_t i = 2; i <= kMaxRangeAlternatives; ++i) {
    alternatives += " || 1.0." + std::to_string(2 * i - 1);
  }
  auto at_limit = VersionRange::parse(alternatives);
  REQUIRE(at_limit.ok());
  CHECK(at_limit->intervals().size() == kMaxRangeAlternatives);
  CHECK_THAT(VersionRange::parse(alternatives + " || 9.0.0").error().message, Catch::Contains("alternatives"));

  // Terms, counted over the whole range.
  std::string terms;
  for (std::size_t i = 0; i < kMaxRangeTerms; ++i) {
    terms += ">=1.0.0 ";
  }
  CHECK(VersionRange::parse(terms).ok());
  auto too_many = VersionRange::parse(terms + ">=1.0.0");
  CHECK(too_many.code() == ErrorCode::VersionRangeInvalid);
  CHECK_THAT(too_many.error().message, Catch::Contains("terms"));

  // Length, whitespace included.
  CHECK(VersionRange::parse(std::string(kMaxRangeLength, ' ')).ok());
  auto too_long = VersionRange::parse(std::string(kMaxRangeLength + 1, ' '));
  CHECK(too_long.code() == ErrorCode::VersionRangeInvalid);
  CHECK_THAT(too_long.error().message, Catch::Contains("longer than"));
}

TEST_CASE("the longest canonical form still parses back", "[version][range]") {
  // Every alternative at its widest: two bounds of a 256-character version each.
  const std::string prerelease = repeat("a", mds::core::kMaxVersionLength - 6 - 2);
  std::string text;
  for (std::size_t i = 0; i < mds::core::kMaxRangeAlternatives; ++i) {
    if (i > 0) {
      text += "||";
    }
    const std::string major = std::to_string(10 + 2 * i);
    text += "(" + major + ".0.0-" + prerelease + "," + std::to_string(10 + 2 * i + 1) + ".0.0-" + prerelease + ")";
  }
  auto parsed = VersionRange::parse(text);
  if (!parsed) {
    FAIL(mds::describe(parsed.error()));
  }
  const std::string canonical = parsed->to_string();
  CHECK(canonical.size() > text.size());
  CHECK(canonical.size() <= mds::core::kMaxRangeLength);
  auto again = VersionRange::parse(canonical);
  REQUIRE(again.ok());
  CHECK(*again == *parsed);
}

TEST_CASE("equal ranges compare equal however they are written", "[version][range]") {
  const std::vector<std::vector<std::string>> groups = {
      {"1.x", "1", "1.*", "~1", "^1", "1 - 1", ">=1 <2", ">=1.0.0-0 <2.0.0-0", "[1.0.0-0, 2.0.0-0)", "1.x.x"},
      {"1.2.3", "=1.2.3", "v1.2.3", "1.2.3.0", "[1.2.3]", "[1.2.3,1.2.3]", ">=1.2.3 <=1.2.3", "1.2.3+b"},
      {"*", "", "x", ">=0.0.0-0", "[0.0.0-0,]", "<1 || >=1", "* || 1"},
      {"<0.0.0-0", ">*", ">2 <1", "<x"},
      {"^0.0.0", "^0.0.0.0", ">=0.0.0 <0.0.1-0", "[0.0.0, 0.0.1-0)"},
  };
  for (const auto &group : groups) {
    const auto first = range(group.front());
    for (const auto &text : group) {
      INFO("'" << group.front() << "' vs '" << text << "'");
      const auto other = range(text);
      CHECK(other == first);
      CHECK(other.to_string() == first.to_string());
    }
  }
  CHECK(range("1.x") != range("1.2.x"));
  CHECK(range("<2.0.0") != range("<2"));
  CHECK(range("*").is_any());
  CHECK_FALSE(range("1.x").is_any());
  CHECK(range(">*").is_empty());
  CHECK(VersionRange::any().is_any());
  CHECK(VersionRange().is_any());
  CHECK(VersionRange::none().is_empty());
  CHECK(VersionRange::none().to_string() == "<0.0.0-0");
  CHECK_FALSE(VersionRange::none().contains(version("0.0.0-0")));
}

TEST_CASE("from_intervals builds the canonical union", "[version][range]") {
  const auto bound = [](const std::string &text, bool inclusive) { return VersionBound{version(text), inclusive}; };
  auto built = VersionRange::from_intervals({
      {bound("2.0", true), bound("3.0.0.0", false)},
      {bound("1.0.0+build", true), bound("2.0.0", true)},
      {bound("5", false), std::nullopt},
      {bound("4", true), bound("4", false)}, // holds nothing: dropped
      {bound("0-0", true), bound("0.5", false)},
  });
  REQUIRE(built.ok());
  CHECK(built->to_string() == "<0.5.0 || >=1.0.0 <3.0.0 || >5.0.0");
  CHECK(*built == range("(,0.5) || [1,3) || >5.0.0"));

  std::vector<VersionInterval> too_many;
  for (std::uint64_t i = 0; i <= mds::core::kMaxRangeAlternatives; ++i) {
    const auto point = VersionBound{*Version::from_parts({i * 2}), true};
    too_many.push_back({point, point});
  }
  CHECK(VersionRange::from_intervals(too_many).code() == ErrorCode::VersionRangeInvalid);

  // A bound whose point form (three parts) no longer fits the version length limit.
  auto long_bound = Version::from_parts({1}, {repeat("a", mds::core::kMaxVersionLength - 3)});
  REQUIRE(long_bound.ok());
  CHECK(VersionRange::from_intervals({{VersionBound{*long_bound, true}, std::nullopt}}).code() ==
        ErrorCode::VersionRangeInvalid);
}
