#include "cli/command_line.hpp"

#include <catch2/catch.hpp>

using mds::ErrorCode;
using mds::cli::parse_command_line;

namespace {
const mds::cli::OptionSpec kSpec{{"out", "trusted-key", "server"}, {"json", "force"}};
}

TEST_CASE("options, switches and positionals in any order", "[cli]") {
  auto line = parse_command_line(
      {"verify", "--json", "--trusted-key", "a.pub", "env.json", "--trusted-key=b.pub", "--server=http://x:1/"}, kSpec);
  REQUIRE(line.ok());
  CHECK(line->positionals == std::vector<std::string>{"verify", "env.json"});
  CHECK(line->has_switch("json"));
  CHECK_FALSE(line->has_switch("force"));
  CHECK(line->values("trusted-key") == std::vector<std::string>{"a.pub", "b.pub"});
  CHECK(*line->value("trusted-key") == "b.pub");
  CHECK(*line->value("server") == "http://x:1/");
  CHECK_FALSE(line->value("out").has_value());
  CHECK(line->values("out").empty());
  CHECK(line->require({"server", "trusted-key"}).ok());
  CHECK(line->require({"out"}).code() == ErrorCode::InvalidArgument);
}

TEST_CASE("a double dash ends options, a lone dash is a positional", "[cli]") {
  auto line = parse_command_line({"sign", "-", "--", "--json", "--weird-file"}, kSpec);
  REQUIRE(line.ok());
  CHECK(line->positionals == std::vector<std::string>{"sign", "-", "--json", "--weird-file"});
  CHECK_FALSE(line->has_switch("json"));
}

TEST_CASE("bad command lines are refused with a message naming the option", "[cli]") {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{"--outt", "x"}, "unknown option --outt"},
      {{"--out"}, "--out needs a value"},
      {{"--json=yes"}, "--json takes no value"},
  };
  for (const auto &c : cases) {
    auto line = parse_command_line(c.args, kSpec);
    REQUIRE_FALSE(line.ok());
    CHECK(line.code() == ErrorCode::InvalidArgument);
    CHECK(line.error().message == c.message);
  }
}

TEST_CASE("an empty value is a value", "[cli]") {
  auto line = parse_command_line({"--out="}, kSpec);
  REQUIRE(line.ok());
  CHECK(*line->value("out") == "");
}
