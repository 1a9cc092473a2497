#include "server/auth/admin_tokens.hpp"

#include <catch2/catch.hpp>

using mds::ErrorCode;
using mds::server::AdminTokens;

namespace {
const std::string kToken = "abcdefghijklmnopqrstuvwxyz0123456789";
const std::string kOther = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210-_";
} // namespace

TEST_CASE("token files: names, comments, blank lines", "[auth]") {
  auto tokens = AdminTokens::parse("# admins\n\nalice " + kToken + "\n  " + kOther + "  \n");
  REQUIRE(tokens.ok());
  CHECK(tokens->size() == 2);
  CHECK(tokens->authenticate("Bearer " + kToken).value() == "alice");
  auto unnamed = tokens->authenticate("bearer " + kOther);
  REQUIRE(unnamed.ok());
  CHECK(unnamed.value().rfind("token:", 0) == 0);
  CHECK(unnamed.value().size() == 14);
}

TEST_CASE("bad token files are refused", "[auth]") {
  CHECK(AdminTokens::parse("").code() == ErrorCode::InvalidArgument);
  CHECK(AdminTokens::parse("# only a comment\n").code() == ErrorCode::InvalidArgument);
  CHECK(AdminTokens::parse("short\n").code() == ErrorCode::InvalidArgument);
  CHECK(AdminTokens::parse(std::string(257, 'a') + "\n").code() == ErrorCode::InvalidArgument);
  CHECK(AdminTokens::parse("a b " + kToken + "\n").code() == ErrorCode::InvalidArgument);
  CHECK(AdminTokens::parse("name " + kToken + "!\n").code() == ErrorCode::InvalidArgument);
  CHECK(AdminTokens::load("/nonexistent/dir/tokens").code() == ErrorCode::IoError);
}

TEST_CASE("every wrong Authorization header is Unauthorized", "[auth]") {
  auto tokens = AdminTokens::parse(kToken + "\n");
  REQUIRE(tokens.ok());
  const std::optional<std::string> refused[] = {
      std::nullopt,
      std::string(""),
      std::string("Bearer"),
      std::string("Bearer "),
      std::string("Basic " + kToken),
      std::string("Bearer  " + kToken),
      std::string("Bearer " + kToken + " "),
      std::string(kToken),
      std::string("Bearer " + kToken.substr(0, kToken.size() - 1)), // short by one
      std::string("Bearer " + kToken + "x"),                        // long by one
      std::string("Bearer " + kToken.substr(0, 31)),                // below the minimum length
      std::string("Bearer " + std::string(300, 'a')),               // above the maximum length
      std::string("Bearer " + kOther),                              // well-formed, unknown
      std::string("Bearer " + kToken.substr(0, 10) + "\x01" + kToken.substr(11)),
  };
  for (const auto &header : refused) {
    INFO((header ? *header : std::string("(no header)")));
    CHECK(tokens->authenticate(header).code() == ErrorCode::Unauthorized);
  }
  CHECK(tokens->authenticate("BEARER " + kToken).ok());
}
