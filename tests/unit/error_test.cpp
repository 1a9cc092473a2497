#include <mds/error.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <string>

using mds::ErrorCode;

TEST_CASE("every error code has a unique stable name that maps back", "[error]") {
  std::set<std::string> names;
  int known = 0;
  for (std::uint32_t number = 0; number < 1000; ++number) {
    if (!mds::is_known_error_code(number)) {
      continue;
    }
    ++known;
    const auto code = static_cast<ErrorCode>(number);
    const std::string name = mds::to_string(code);
    CHECK(name != "unknown");
    CHECK(names.insert(name).second);
    auto back = mds::error_code_from_string(name);
    REQUIRE(back.has_value());
    CHECK(*back == code);
  }
  CHECK(known > 50);
  CHECK(std::string(mds::to_string(static_cast<ErrorCode>(999))) == "unknown");
  CHECK_FALSE(mds::error_code_from_string("no_such_error").has_value());
}

TEST_CASE("the hundreds digit is the category", "[error]") {
  CHECK(mds::category_of(ErrorCode::Ok) == mds::ErrorCategory::None);
  CHECK(mds::category_of(ErrorCode::InvalidArgument) == mds::ErrorCategory::General);
  CHECK(mds::category_of(ErrorCode::JsonDuplicateKey) == mds::ErrorCategory::Parse);
  CHECK(mds::category_of(ErrorCode::SignatureNotDer) == mds::ErrorCategory::Signature);
  CHECK(mds::category_of(ErrorCode::PathUnsafe) == mds::ErrorCategory::Package);
  CHECK(mds::category_of(ErrorCode::VersionInvalid) == mds::ErrorCategory::Version);
  CHECK(mds::category_of(ErrorCode::TlsPinMismatch) == mds::ErrorCategory::Network);
  CHECK(mds::category_of(ErrorCode::StorageCorrupt) == mds::ErrorCategory::Storage);
  CHECK(mds::category_of(ErrorCode::Unauthorized) == mds::ErrorCategory::Server);
}

TEST_CASE("wire numbers never change", "[error]") {
  // Published numbers: changing one breaks every deployed device and binding.
  CHECK(static_cast<int>(ErrorCode::InvalidArgument) == 100);
  CHECK(static_cast<int>(ErrorCode::JsonSyntax) == 200);
  CHECK(static_cast<int>(ErrorCode::SignatureInvalid) == 300);
  CHECK(static_cast<int>(ErrorCode::ManifestInvalid) == 400);
  CHECK(static_cast<int>(ErrorCode::PathUnsafe) == 409);
  CHECK(static_cast<int>(ErrorCode::VersionInvalid) == 500);
  CHECK(static_cast<int>(ErrorCode::NetworkUnreachable) == 600);
  CHECK(static_cast<int>(ErrorCode::StorageCorrupt) == 700);
  CHECK(static_cast<int>(ErrorCode::Unauthorized) == 800);
}

TEST_CASE("Result carries a value or an error", "[error]") {
  mds::Result<int> good = 42;
  REQUIRE(good.ok());
  CHECK(*good == 42);
  CHECK(good.code() == ErrorCode::Ok);

  mds::Result<int> bad = mds::make_error(ErrorCode::NotFound, "nothing here");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.code() == ErrorCode::NotFound);
  CHECK(mds::describe(bad.error()) == "not_found (102): nothing here");

  mds::Status fine;
  CHECK(fine.ok());
  mds::Status failed = mds::make_error(ErrorCode::Timeout, "late");
  CHECK(failed.code() == ErrorCode::Timeout);
}
