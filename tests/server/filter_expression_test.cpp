#include "server/targeting/filter_expression.hpp"

#include <catch2/catch.hpp>

namespace targeting = mds::server::targeting;
using mds::ErrorCode;
using targeting::Operator;

TEST_CASE("filters parse into field, modifiers, operator and values", "[targeting]") {
  auto filter = targeting::parse_filter("brand ci in Huawei,Honor");
  REQUIRE(filter.ok());
  CHECK(filter->field == "brand");
  CHECK(filter->op == Operator::In);
  CHECK(filter->case_insensitive);
  CHECK_FALSE(filter->negated);
  CHECK(filter->values == std::vector<std::string>{"Huawei", "Honor"});

  filter = targeting::parse_filter("  model not prefix \"SM-A\" , \"Pixel 7\"  ");
  REQUIRE(filter.ok());
  CHECK(filter->negated);
  CHECK(filter->op == Operator::Prefix);
  CHECK(filter->values == std::vector<std::string>{"SM-A", "Pixel 7"});

  filter = targeting::parse_filter("channel not ci eq \"say \\\"hi\\\" \\\\ bye\"");
  REQUIRE(filter.ok());
  CHECK(filter->negated);
  CHECK(filter->case_insensitive);
  CHECK(filter->values == std::vector<std::string>{"say \"hi\" \\ bye"});
}

TEST_CASE("every operator is accepted on a field it fits", "[targeting]") {
  const char *valid[] = {
      "platform eq android",
      "platform in android,ios",
      "platform not_in ios",
      "device_id in d1,d2,d3",
      "user_id not in u1",
      "region suffix shire",
      "city contains ham",
      "network eq wifi",
      "language ci prefix zh",
      "channel eq google-play",
      "app_version version_gte 10.1.68",
      "app_version version_lt 10.1.68.2",
      "os_version version_eq 14",
      "sdk.alipay version_lte 2.3",
      "sdk.com.example.maps version_gt 1.0.0",
      "app_version prefix 10.",
      "attr.vip eq true",
      "attr.age gte 18",
      "attr.score lt -3.5e2",
      "attr.balance num_eq 0",
      "attr.ratio lte .5",
      "attr.level gt 1",
      "attr.signup date_after 2026-01-01T00:00:00Z",
      "attr.trial_end date_before 2026-12-31T23:59:59Z",
      "app_version version_in \">=10.1 <11\"",
      "sdk.mds version_in \"[1.2, 2.0)\"",
      "app_version version_gte v1.2.3-beta.1",
      "attr.build version_gte 3.2",
  };
  for (const auto *text : valid) {
    INFO(text);
    auto filter = targeting::parse_filter(text);
    REQUIRE(filter.ok());
  }
}

TEST_CASE("numbers, dates, versions and ranges are pre-parsed", "[targeting]") {
  auto version = targeting::parse_filter("app_version version_gte 10.1.68");
  REQUIRE(version.ok());
  REQUIRE(version->version);
  CHECK(version->version->to_string() == "10.1.68");
  auto range = targeting::parse_filter("app_version version_in \">=10.1 <11\"");
  REQUIRE(range.ok());
  REQUIRE(range->range);
  CHECK(range->range->contains(mds::core::Version::parse("10.2.5").value()));
  CHECK_FALSE(range->range->contains(mds::core::Version::parse("11.0").value()));

  auto number = targeting::parse_filter("attr.age gte 18.5");
  REQUIRE(number.ok());
  REQUIRE(number->number);
  CHECK(*number->number == 18.5);
  auto date = targeting::parse_filter("attr.signup date_after 2026-01-02T03:04:05Z");
  REQUIRE(date.ok());
  REQUIRE(date->instant);
  CHECK(*date->instant == 1767323045);
}

TEST_CASE("malformed filters are refused with a reason", "[targeting]") {
  struct Case {
    const char *text;
    ErrorCode code;
    const char *mentions;
  };
  const Case cases[] = {
      {"", ErrorCode::InvalidArgument, "empty"},
      {"   ", ErrorCode::InvalidArgument, "empty"},
      {"colour eq red", ErrorCode::InvalidArgument, "unknown field"},
      {"sdk. version_gt 1", ErrorCode::InvalidArgument, "unknown field"},
      {"attr.a/b eq 1", ErrorCode::InvalidArgument, "unknown field"},
      {"brand", ErrorCode::InvalidArgument, "operator is missing"},
      {"brand equals x", ErrorCode::InvalidArgument, "not an operator"},
      {"brand not not eq x", ErrorCode::InvalidArgument, "not an operator"},
      {"brand ci not eq x", ErrorCode::InvalidArgument, "not an operator"},
      {"brand eq", ErrorCode::InvalidArgument, "value is missing"},
      {"brand in a,", ErrorCode::InvalidArgument, "value is missing"},
      {"brand in a b", ErrorCode::InvalidArgument, "expected \",\""},
      {"brand eq \"open", ErrorCode::InvalidArgument, "unterminated"},
      {"brand eq \"a\\nb\"", ErrorCode::InvalidArgument, "escaped"},
      {"brand eq a,b", ErrorCode::InvalidArgument, "exactly one value"},
      {"brand lt 3", ErrorCode::InvalidArgument, "is text"},
      {"brand date_after 2026-01-01T00:00:00Z", ErrorCode::InvalidArgument, "is text"},
      {"brand version_gt 1.0", ErrorCode::InvalidArgument, "is text"},
      {"app_version gt 3", ErrorCode::InvalidArgument, "is a version"},
      {"platform eq windows", ErrorCode::InvalidArgument, "android or ios"},
      {"platform prefix and", ErrorCode::InvalidArgument, "platform takes"},
      {"attr.age ci gt 3", ErrorCode::InvalidArgument, "string operators only"},
      {"attr.age gt three", ErrorCode::InvalidArgument, "finite decimal"},
      {"attr.age gt 0x10", ErrorCode::InvalidArgument, "finite decimal"},
      {"attr.age gt inf", ErrorCode::InvalidArgument, "finite decimal"},
      {"attr.age gt 1e999", ErrorCode::InvalidArgument, "finite decimal"},
      {"attr.age gt 1,2", ErrorCode::InvalidArgument, "exactly one value"},
      {"attr.d date_after 2026-02-30T00:00:00Z", ErrorCode::InvalidArgument, "ISO 8601"},
      {"attr.d date_after 2026-01-01T00:00:00+02:00", ErrorCode::InvalidArgument, "ISO 8601"},
      {"attr.d date_after yesterday", ErrorCode::InvalidArgument, "ISO 8601"},
      {"app_version version_gt 1..2", ErrorCode::VersionInvalid, "app_version"},
      {"app_version version_gt V1", ErrorCode::VersionInvalid, "app_version"},
      {"app_version version_gt 1.02", ErrorCode::VersionInvalid, "app_version"},
      {"app_version version_gt 1.2.", ErrorCode::VersionInvalid, "app_version"},
      {"app_version version_in \">=1.0 <<2\"", ErrorCode::VersionRangeInvalid, "app_version"},
      {"app_version version_in >=1,<2", ErrorCode::InvalidArgument, "exactly one value"},
      {"attr.d date_after 2026-01-01T00:00:00.5Z", ErrorCode::InvalidArgument, "ISO 8601"},
      {"brand version_in 1.x", ErrorCode::InvalidArgument, "is text"},
  };
  for (const auto &c : cases) {
    INFO(c.text);
    auto filter = targeting::parse_filter(c.text);
    REQUIRE_FALSE(filter.ok());
    CHECK(filter.code() == c.code);
    CHECK_THAT(filter.error().message, Catch::Contains(c.mentions));
  }
}

TEST_CASE("filter limits hold", "[targeting]") {
  std::string long_value(targeting::kMaxValueLength + 1, 'x');
  CHECK(targeting::parse_filter("brand eq " + long_value).code() == ErrorCode::InvalidArgument);
  CHECK(targeting::parse_filter("brand eq " + long_value.substr(1)).ok());

  std::string many = "device_id in ";
  for (std::size_t i = 0; i <= targeting::kMaxValues; ++i) {
    many += (i > 0 ? "," : "") + std::to_string(i);
  }
  CHECK(targeting::parse_filter(many).code() == ErrorCode::InvalidArgument);
  CHECK(targeting::parse_filter(std::string(targeting::kMaxExpressionLength + 1, 'a')).code() ==
        ErrorCode::InvalidArgument);
  CHECK(targeting::parse_filter(std::string("brand eq a\x01")).code() == ErrorCode::InvalidArgument);
}

TEST_CASE("the canonical expression parses back to the same filter", "[targeting]") {
  const char *inputs[] = {
      "brand ci in Huawei,Honor",        "model   not prefix \"SM A\",b",   "channel eq \"quote\\\"d\"",
      "attr.x not ci contains \"\\\\\"", "app_version version_gte 10.1.68",
  };
  for (const auto *text : inputs) {
    INFO(text);
    auto first = targeting::parse_filter(text);
    REQUIRE(first.ok());
    const auto canonical = first->to_expression();
    auto second = targeting::parse_filter(canonical);
    REQUIRE(second.ok());
    CHECK(second->field == first->field);
    CHECK(second->op == first->op);
    CHECK(second->negated == first->negated);
    CHECK(second->case_insensitive == first->case_insensitive);
    CHECK(second->values == first->values);
    CHECK(second->to_expression() == canonical);
  }
  CHECK(targeting::parse_filter("model   not prefix \"SM A\",b")->to_expression() == "model not prefix \"SM A\",b");
}

TEST_CASE("filters serialise to JSON for storage", "[targeting]") {
  auto filter = targeting::parse_filter("brand ci in Huawei,Honor");
  REQUIRE(filter.ok());
  CHECK(targeting::filters_to_json({*filter}) ==
        R"([{"field":"brand","op":"in","not":false,"ci":true,"values":["Huawei","Honor"],)"
        R"("expression":"brand ci in Huawei,Honor"}])");
  CHECK(targeting::filters_to_json({}) == "[]");
}
