// Release filters as operators write them: one condition on one field of a device's
// description, parsed and validated once when a rule or release is created, and stored
// in parsed form.
//
//   filter   = field [SP "not"] [SP "ci"] SP operator SP values
//   field    = "platform" | "device_id" | "user_id" | "model" | "brand" | "os_version"
//            | "app_version" | "region" | "city" | "network" | "language" | "channel"
//            | "sdk." name          (the version of the SDK called name)
//            | "attr." name         (a custom attribute)
//   name     = 1*64 ( ALPHA / DIGIT / "_" / "-" / "." )
//   values   = value *( [SP] "," [SP] value )
//   value    = bare / quoted
//   bare     = 1*( any byte above space except "," and DQUOTE )
//   quoted   = DQUOTE *( any character except DQUOTE and "\" / "\" DQUOTE / "\\" ) DQUOTE
//
// SP is one or more spaces or tabs. "not" inverts the result; "ci" compares strings
// without regard to ASCII case. Operators, by what they compare:
//
//   strings   in, not_in (any of the values), eq (one value),
//             prefix, suffix, contains (true if any value matches)
//   numbers   num_eq, lt, lte, gt, gte         one finite decimal number
//   dates     date_before, date_after          one ISO 8601 UTC time
//   versions  version_eq, version_lt, version_lte, version_gt, version_gte   one version;
//             version_in                       one version range (docs/versions.md), quoted
//             when it holds spaces or commas: app_version version_in ">=10.1 <11"
//
// Versions and ranges are read by core::Version::parse and core::VersionRange::parse, the
// readers every other part of OpenMDS uses. Dates are ISO 8601 UTC without fractions.
//
// Examples: `brand ci in Huawei,Honor`, `app_version version_gte 10.1.68`,
// `attr.vip eq true`, `model not prefix "SM-A"`, `attr.signup date_after 2026-01-01T00:00:00Z`.
//
// Which operators fit which field: platform takes in/not_in/eq with android or ios;
// app_version, os_version and sdk.* take string and version operators; attr.* takes all;
// the other fields take string operators.
#ifndef MDS_SERVER_TARGETING_FILTER_EXPRESSION_HPP
#define MDS_SERVER_TARGETING_FILTER_EXPRESSION_HPP

#include "core/version/range.hpp"
#include "core/version/version.hpp"

#include <mds/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mds::server::targeting {

enum class Operator {
  In,
  NotIn,
  Eq,
  Prefix,
  Suffix,
  Contains,
  NumEq,
  Lt,
  Lte,
  Gt,
  Gte,
  DateBefore,
  DateAfter,
  VersionEq,
  VersionLt,
  VersionLte,
  VersionGt,
  VersionGte,
  VersionIn,
};

const char *to_string(Operator op);
std::optional<Operator> operator_from_string(std::string_view name);

enum class OperandKind { String, Number, Date, Version, VersionRange };
OperandKind operand_kind(Operator op);

struct Filter {
  std::string field; // "brand", "sdk.alipay", "attr.vip"
  Operator op = Operator::Eq;
  bool negated = false;
  bool case_insensitive = false;
  std::vector<std::string> values; // as written (unquoted)
  // The operand, pre-parsed for the operators that compare other than strings.
  std::optional<double> number;
  std::optional<std::int64_t> instant; // Unix seconds
  std::optional<core::Version> version;
  std::optional<core::VersionRange> range;

  // The filter in canonical written form: parse(to_expression()) gives it back.
  std::string to_expression() const;
};

inline constexpr std::size_t kMaxExpressionLength = 4096;
inline constexpr std::size_t kMaxValues = 1000;
inline constexpr std::size_t kMaxValueLength = 256;

// Fails with InvalidArgument and a message that names the position and the problem;
// VersionInvalid or VersionRangeInvalid for a version operand core/version refuses.
Result<Filter> parse_filter(std::string_view expression);

// [{"field": "brand", "op": "in", "not": false, "ci": true, "values": ["Huawei", "Honor"],
//   "expression": "brand ci in Huawei,Honor"}, ...]
std::string filters_to_json(const std::vector<Filter> &filters);

} // namespace mds::server::targeting

#endif
