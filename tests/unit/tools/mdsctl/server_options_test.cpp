// mdsctl's reading of the command line for server commands: where the server and the
// token come from, and how values given as text become JSON.
#include "admin_client.hpp"
#include "server_command.hpp"
#include "text_output.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

namespace {

using mds::ErrorCode;

mds::cli::CommandLine line_of(const std::vector<std::string> &args) {
  auto line = mds::cli::parse_command_line(args, {{"server", "token-file", "limit", "percent"}, {}});
  REQUIRE(line.ok());
  return *line;
}

void write(const std::filesystem::path &path, const std::string &text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Unsets MDS_SERVER and MDS_TOKEN_FILE for one test and restores nothing: tests run in
// one process, and no other test reads them.
void clear_environment() {
  ::unsetenv("MDS_SERVER");
  ::unsetenv("MDS_TOKEN_FILE");
}

} // namespace

TEST_CASE("mdsctl: the token is the token file's first line, trimmed", "[mdsctl]") {
  clear_environment();
  mds::test::TempDir temp;
  const std::string token = "tok-0123456789abcdefghijklmnopqrstuvwxyz";
  struct Case {
    const char *name;
    std::string content;
    ErrorCode expected; // Ok: the token is read
  };
  const Case cases[] = {
      {"bare line", token + "\n", ErrorCode::Ok},
      {"no newline", token, ErrorCode::Ok},
      {"spaces and CRLF around it", "  " + token + " \r\n", ErrorCode::Ok},
      {"later lines ignored", token + "\nsomething else\n", ErrorCode::Ok},
      {"empty file", "", ErrorCode::InvalidArgument},
      {"blank first line", "\n" + token + "\n", ErrorCode::InvalidArgument},
      {"a named line from the server's token file", "alice " + token + "\n", ErrorCode::InvalidArgument},
      {"a control character", token + "\x01\n", ErrorCode::InvalidArgument},
  };
  for (const auto &c : cases) {
    INFO(c.name);
    write(temp / "token", c.content);
    auto settings = mds::mdsctl::server_settings(
        line_of({"--server", "http://127.0.0.1:1/", "--token-file", (temp / "token").string()}));
    if (c.expected == ErrorCode::Ok) {
      REQUIRE(settings.ok());
      CHECK(settings->token == token);
      CHECK(settings->base_url == "http://127.0.0.1:1");
    } else {
      REQUIRE_FALSE(settings.ok());
      CHECK(settings.code() == c.expected);
      CHECK(settings.error().message.find(token) == std::string::npos); // never echoed
    }
  }
}

TEST_CASE("mdsctl: --server and --token-file fall back to the environment", "[mdsctl]") {
  clear_environment();
  mds::test::TempDir temp;
  write(temp / "token", "env-token-0123456789abcdefghijklmnopqrstuv\n");
  CHECK(mds::mdsctl::server_settings(line_of({})).code() == ErrorCode::InvalidArgument);
  ::setenv("MDS_SERVER", "https://mds.example.com", 1);
  CHECK(mds::mdsctl::server_settings(line_of({})).code() == ErrorCode::InvalidArgument);
  ::setenv("MDS_TOKEN_FILE", (temp / "token").c_str(), 1);
  auto settings = mds::mdsctl::server_settings(line_of({}));
  REQUIRE(settings.ok());
  CHECK(settings->base_url == "https://mds.example.com");
  // Options win over the environment.
  auto given = mds::mdsctl::server_settings(line_of({"--server", "http://other:8080"}));
  REQUIRE(given.ok());
  CHECK(given->base_url == "http://other:8080");
  ::setenv("MDS_TOKEN_FILE", (temp / "missing").c_str(), 1);
  CHECK(mds::mdsctl::server_settings(line_of({})).code() == ErrorCode::NotFound);
  clear_environment();
}

TEST_CASE("mdsctl: a value is JSON when it reads as JSON, a string otherwise", "[mdsctl]") {
  const std::pair<const char *, const char *> cases[] = {
      {"hello", R"("hello")"},
      {"42", "42"},
      {"-1.5e3", "-1500.0"},
      {"true", "true"},
      {"null", "null"},
      {R"({"a": [1, 2]})", R"({"a":[1,2]})"},
      {R"("quoted")", R"("quoted")"},
      {"007", R"("007")"}, // not JSON: a leading zero
      {"", R"("")"},
      {"{broken", R"("{broken")"},
      {"hello world", R"("hello world")"},
      {R"(say "hi")", R"("say \"hi\"")"},
  };
  for (const auto &[text, json] : cases) {
    INFO(text);
    CHECK(mds::mdsctl::json_or_string(text) == json);
  }
  CHECK(mds::mdsctl::json_or_string("42", true) == R"("42")");
  CHECK(mds::mdsctl::json_or_string("true", true) == R"("true")");
}

TEST_CASE("mdsctl: numeric options", "[mdsctl]") {
  struct Case {
    const char *given;
    bool ok;
  };
  const Case counts[] = {{"1", true},     {"1000", true}, {"0", false},
                         {"1001", false}, {"-1", false},  {"+5", false},
                         {"5x", false},   {"", false},    {"99999999999999999999999", false}};
  for (const auto &c : counts) {
    INFO(c.given);
    auto value = mds::mdsctl::count_option(line_of({"--limit", c.given}), "limit", 1, 1000);
    CHECK(value.ok() == c.ok);
    if (!c.ok) {
      CHECK(value.code() == ErrorCode::InvalidArgument);
    }
  }
  auto absent = mds::mdsctl::count_option(line_of({}), "limit", 1, 1000);
  REQUIRE(absent.ok());
  CHECK_FALSE(absent->has_value());

  const Case numbers[] = {{"12.5", true}, {"0", true},      {"100", true}, {"1e1", true},
                          {"abc", false}, {"\"5\"", false}, {"", false},   {"5%", false}};
  for (const auto &c : numbers) {
    INFO(c.given);
    CHECK(mds::mdsctl::number_option(line_of({"--percent", c.given}), "percent").ok() == c.ok);
  }
}

TEST_CASE("mdsctl: URL parts are percent-encoded", "[mdsctl]") {
  CHECK(mds::mdsctl::url_encode("com.example_app-1~") == "com.example_app-1~");
  CHECK(mds::mdsctl::url_encode("release/12") == "release%2F12");
  CHECK(mds::mdsctl::url_encode("a b?c&d=e#f%") == "a%20b%3Fc%26d%3De%23f%25");
  CHECK(mds::mdsctl::url_encode("\xc3\xa9") == "%C3%A9");
}

TEST_CASE("mdsctl: tables align their columns", "[mdsctl]") {
  mds::mdsctl::Table table({"NAME", "COUNT"});
  CHECK(table.render() == "NAME  COUNT\n(none)\n");
  table.add({"testers", "3"});
  table.add({"a", "1000000"});
  CHECK(table.render() == "NAME     COUNT\ntesters  3\na        1000000\n");
  CHECK(mds::mdsctl::human_bytes(812) == "812 B");
  CHECK(mds::mdsctl::human_bytes(20'000'000) == "20.0 MB");
  CHECK(mds::mdsctl::percent_of(5, 8) == "62.5%");
  CHECK(mds::mdsctl::percent_of(1, 0) == "-");
}
