// The Range header parser: untrusted input, so every case is data.
#include "server/client/client_api.hpp"
#include "server/http/range.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

using namespace mds::server::http;

namespace {

struct RangeCase {
  std::string header;
  std::uint64_t size;
  RangeKind kind;
  std::uint64_t first;
  std::uint64_t last;
};

const char *name(RangeKind kind) {
  switch (kind) {
  case RangeKind::Whole:
    return "whole";
  case RangeKind::Partial:
    return "partial";
  case RangeKind::Unsatisfiable:
    return "unsatisfiable";
  }
  return "?";
}

} // namespace

TEST_CASE("Range headers are read exactly, and anything else means the whole resource", "[http][range]") {
  constexpr auto W = RangeKind::Whole;
  constexpr auto P = RangeKind::Partial;
  constexpr auto U = RangeKind::Unsatisfiable;
  const std::vector<RangeCase> cases = {
      // first-last
      {"bytes=0-0", 100, P, 0, 0},
      {"bytes=0-99", 100, P, 0, 99},
      {"bytes=10-19", 100, P, 10, 19},
      {"bytes=10-1000", 100, P, 10, 99},
      {"bytes=99-99", 100, P, 99, 99},
      {"bytes=100-100", 100, U, 0, 0},
      {"bytes=100-200", 100, U, 0, 0},
      {"bytes=20-10", 100, W, 0, 0},
      // first-
      {"bytes=0-", 100, P, 0, 99},
      {"bytes=42-", 100, P, 42, 99},
      {"bytes=99-", 100, P, 99, 99},
      {"bytes=100-", 100, U, 0, 0},
      // -suffix
      {"bytes=-1", 100, P, 99, 99},
      {"bytes=-30", 100, P, 70, 99},
      {"bytes=-100", 100, P, 0, 99},
      {"bytes=-500", 100, P, 0, 99},
      {"bytes=-0", 100, U, 0, 0},
      // an empty resource satisfies no range
      {"bytes=0-", 0, U, 0, 0},
      {"bytes=-5", 0, U, 0, 0},
      {"bytes=0-0", 0, U, 0, 0},
      // unit, spaces, case
      {"BYTES=1-2", 100, P, 1, 2},
      {"Bytes = 1-2 ", 100, P, 1, 2},
      {"bytes= -5", 100, P, 95, 99},
      {"items=1-2", 100, W, 0, 0},
      {"byte=1-2", 100, W, 0, 0},
      {"bytes 1-2", 100, W, 0, 0},
      // malformed specs are ignored
      {"", 100, W, 0, 0},
      {"bytes=", 100, W, 0, 0},
      {"bytes=-", 100, W, 0, 0},
      {"bytes=1", 100, W, 0, 0},
      {"bytes=a-b", 100, W, 0, 0},
      {"bytes=1-2x", 100, W, 0, 0},
      {"bytes=+1-2", 100, W, 0, 0},
      {"bytes=1--2", 100, W, 0, 0},
      {"bytes=--2", 100, W, 0, 0},
      {"bytes=1 - 2", 100, W, 0, 0},
      {"bytes=0x10-20", 100, W, 0, 0},
      {"bytes=1-2=3", 100, W, 0, 0},
      // several ranges: no multipart answers, the whole resource
      {"bytes=0-1,5-6", 100, W, 0, 0},
      {"bytes=0-1,", 100, W, 0, 0},
      // numbers beyond 64 bits saturate
      {"bytes=0-99999999999999999999999", 100, P, 0, 99},
      {"bytes=99999999999999999999999-", 100, U, 0, 0},
      {"bytes=-99999999999999999999999", 100, P, 0, 99},
      {"bytes=18446744073709551615-18446744073709551615", 100, U, 0, 0},
      // large resources
      {"bytes=4294967296-", 8589934592ull, P, 4294967296ull, 8589934591ull},
  };
  for (const auto &c : cases) {
    INFO("Range: \"" << c.header << "\" on " << c.size << " bytes");
    const auto answer = parse_range(c.header, c.size);
    CHECK(name(answer.kind) == std::string(name(c.kind)));
    if (c.kind == RangeKind::Partial && answer.kind == RangeKind::Partial) {
      CHECK(answer.first == c.first);
      CHECK(answer.last == c.last);
    }
  }
}

TEST_CASE("If-Range keeps a range only for the exact strong ETag", "[http][range]") {
  const std::string etag = "\"abc\"";
  const auto partial = parse_range("bytes=1-2", 10);
  const auto unsatisfiable = parse_range("bytes=50-", 10);
  struct IfRangeCase {
    std::optional<std::string> if_range;
    bool honoured;
  };
  const std::vector<IfRangeCase> cases = {
      {std::nullopt, true},
      {"\"abc\"", true},
      {" \"abc\" ", true},
      {"\"abd\"", false},
      {"W/\"abc\"", false},
      {"abc", false},
      {"Sat, 01 Jan 2000 00:00:00 GMT", false},
      {"", false},
  };
  for (const auto &c : cases) {
    INFO("If-Range: " << c.if_range.value_or("(absent)"));
    CHECK((apply_if_range(partial, c.if_range, etag).kind == RangeKind::Partial) == c.honoured);
    CHECK((apply_if_range(unsatisfiable, c.if_range, etag).kind == RangeKind::Unsatisfiable) == c.honoured);
  }
  CHECK(apply_if_range(RangeAnswer{}, std::string("\"x\""), etag).kind == RangeKind::Whole);
}

TEST_CASE("If-None-Match lists are compared weakly", "[http][etag]") {
  using mds::server::client::etag_matches;
  const std::string etag = "\"abc\"";
  struct Case {
    std::string header;
    bool matches;
  };
  const std::vector<Case> cases = {
      {"\"abc\"", true},        {"W/\"abc\"", true}, {"*", true},    {" * ", true}, {"\"x\", \"abc\"", true},
      {"\"x\",\"abc\" ", true}, {"\"abcd\"", false}, {"abc", false}, {"", false},   {",,", false},
      {"\"ab\"c", false},
  };
  for (const auto &c : cases) {
    INFO("If-None-Match: " << c.header);
    CHECK(etag_matches(c.header, etag) == c.matches);
  }
}
