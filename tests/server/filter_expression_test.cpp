#include "server/targeting/filter_expression.hpp"

#include <catch2/catch.hpp>

namespace targeting = mds::server::targeting;
using mds::ErrorCode;

TEST_CASE("a simple filter parses", "[targeting]") {
  auto filter = targeting::parse_filter("brand ci in Huawei,Honor");
  REQUIRE(filter.ok());
  CHECK(filter->field == "brand");
  CHECK(filter->op == targeting::Operator::In);
  CHECK(filter->case_insensitive);
  CHECK_FALSE(filter->negated);
  CHECK(filter->values == std::vector<std::string>{"Huawei", "Honor"});
}
