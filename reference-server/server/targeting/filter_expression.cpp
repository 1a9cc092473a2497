#include "server/targeting/filter_expression.hpp"

#include "server/util/time.hpp"

#include "core/json/json.hpp"

#include <cmath>
#include <cstdlib>

namespace mds::server::targeting {
namespace {

struct OperatorName {
  Operator op;
  const char *name;
  OperandKind kind;
};
constexpr OperatorName kOperators[] = {
    {Operator::In, "in", OperandKind::String},
    {Operator::NotIn, "not_in", OperandKind::String},
    {Operator::Eq, "eq", OperandKind::String},
    {Operator::Prefix, "prefix", OperandKind::String},
    {Operator::Suffix, "suffix", OperandKind::String},
    {Operator::Contains, "contains", OperandKind::String},
    {Operator::NumEq, "num_eq", OperandKind::Number},
    {Operator::Lt, "lt", OperandKind::Number},
    {Operator::Lte, "lte", OperandKind::Number},
    {Operator::Gt, "gt", OperandKind::Number},
    {Operator::Gte, "gte", OperandKind::Number},
    {Operator::DateBefore, "date_before", OperandKind::Date},
    {Operator::DateAfter, "date_after", OperandKind::Date},
    {Operator::VersionEq, "version_eq", OperandKind::Version},
    {Operator::VersionLt, "version_lt", OperandKind::Version},
    {Operator::VersionLte, "version_lte", OperandKind::Version},
    {Operator::VersionGt, "version_gt", OperandKind::Version},
    {Operator::VersionGte, "version_gte", OperandKind::Version},
    {Operator::VersionIn, "version_in", OperandKind::VersionRange},
};

enum class FieldType { Platform, Text, Version, Attribute };

constexpr struct {
  const char *name;
  FieldType type;
} kFields[] = {
    {"platform", FieldType::Platform},   {"device_id", FieldType::Text}, {"user_id", FieldType::Text},
    {"model", FieldType::Text},          {"brand", FieldType::Text},     {"os_version", FieldType::Version},
    {"app_version", FieldType::Version}, {"region", FieldType::Text},    {"city", FieldType::Text},
    {"network", FieldType::Text},        {"language", FieldType::Text},  {"channel", FieldType::Text},
};

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

std::optional<FieldType> field_type(std::string_view field) {
  for (const auto &known : kFields) {
    if (field == known.name) {
      return known.type;
    }
  }
  for (const auto &[prefix, type] : {std::pair<std::string_view, FieldType>{"sdk.", FieldType::Version},
                                     std::pair<std::string_view, FieldType>{"attr.", FieldType::Attribute}}) {
    if (field.substr(0, prefix.size()) != prefix) {
      continue;
    }
    const auto name = field.substr(prefix.size());
    if (name.empty() || name.size() > 64) {
      return std::nullopt;
    }
    for (char c : name) {
      if (!is_name_char(c)) {
        return std::nullopt;
      }
    }
    return type;
  }
  return std::nullopt;
}

// Reads the expression left to right; every error names the 1-based column.
class Scanner {
public:
  explicit Scanner(std::string_view text) : text_(text) {}

  bool at_end() const { return pos_ >= text_.size(); }
  std::size_t column() const { return pos_ + 1; }
  char peek() const { return text_[pos_]; }

  void skip_spaces() {
    while (!at_end() && is_space(peek())) {
      ++pos_;
    }
  }
  // A keyword or field name: everything up to the next space.
  std::string_view word() {
    const auto start = pos_;
    while (!at_end() && !is_space(peek())) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }
  Result<std::string> value() {
    if (at_end()) {
      return fail("a value is missing");
    }
    return peek() == '"' ? quoted() : bare();
  }
  bool take(char c) {
    if (!at_end() && peek() == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  Error fail(const std::string &problem) const {
    return make_error(ErrorCode::InvalidArgument,
                      "filter \"" + std::string(text_) + "\", column " + std::to_string(column()) + ": " + problem);
  }

private:
  Result<std::string> bare() {
    const auto start = pos_;
    while (!at_end() && !is_space(peek()) && peek() != ',' && peek() != '"') {
      if (static_cast<unsigned char>(peek()) < 0x20) {
        return fail("control character in a value");
      }
      ++pos_;
    }
    if (pos_ == start) {
      return fail("a value is missing");
    }
    return std::string(text_.substr(start, pos_ - start));
  }
  Result<std::string> quoted() {
    ++pos_; // opening quote
    std::string out;
    while (!at_end()) {
      const char c = text_[pos_++];
      if (c == '"') {
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return fail("control character in a value");
      }
      if (c == '\\') {
        if (at_end() || (peek() != '"' && peek() != '\\')) {
          return fail("only \\\" and \\\\ may be escaped");
        }
        out += text_[pos_++];
        continue;
      }
      out += c;
    }
    return fail("unterminated quoted value");
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

bool needs_quotes(const std::string &value) {
  if (value.empty()) {
    return true;
  }
  for (char c : value) {
    if (is_space(c) || c == ',' || c == '"' || c == '\\') {
      return true;
    }
  }
  return false;
}

} // namespace

const char *to_string(Operator op) {
  for (const auto &entry : kOperators) {
    if (entry.op == op) {
      return entry.name;
    }
  }
  return "unknown";
}

std::optional<Operator> operator_from_string(std::string_view name) {
  for (const auto &entry : kOperators) {
    if (name == entry.name) {
      return entry.op;
    }
  }
  return std::nullopt;
}

OperandKind operand_kind(Operator op) {
  // The table lists the operators in their enum's order; the loop is for safety only.
  if (const auto index = static_cast<std::size_t>(op); index < std::size(kOperators) && kOperators[index].op == op) {
    return kOperators[index].kind;
  }
  for (const auto &entry : kOperators) {
    if (entry.op == op) {
      return entry.kind;
    }
  }
  return OperandKind::String;
}

Result<Filter> parse_filter(std::string_view expression) {
  Scanner scan(expression);
  if (expression.size() > kMaxExpressionLength) {
    return scan.fail("longer than " + std::to_string(kMaxExpressionLength) + " characters");
  }
  Filter filter;

  scan.skip_spaces();
  const auto field_column = scan.column();
  const auto field = scan.word();
  if (field.empty()) {
    return scan.fail("empty filter: expected \"FIELD [not] [ci] OPERATOR VALUES\"");
  }
  const auto type = field_type(field);
  if (!type) {
    return make_error(ErrorCode::InvalidArgument, "filter \"" + std::string(expression) + "\", column " +
                                                      std::to_string(field_column) + ": unknown field \"" +
                                                      std::string(field) + "\"");
  }
  filter.field = std::string(field);

  // Modifiers, then the operator: the two sets of words are disjoint, so no value is
  // ever mistaken for a modifier.
  std::optional<Operator> op;
  while (!op) {
    scan.skip_spaces();
    if (scan.at_end()) {
      return scan.fail("an operator is missing");
    }
    const auto word_column = scan.column();
    const auto word = scan.word();
    if (word == "not" && !filter.negated && !filter.case_insensitive) {
      filter.negated = true;
    } else if (word == "ci" && !filter.case_insensitive) {
      filter.case_insensitive = true;
    } else if (auto known = operator_from_string(word)) {
      op = known;
    } else {
      return make_error(ErrorCode::InvalidArgument, "filter \"" + std::string(expression) + "\", column " +
                                                        std::to_string(word_column) + ": \"" + std::string(word) +
                                                        "\" is not an operator (or a repeated modifier)");
    }
  }
  filter.op = *op;

  scan.skip_spaces();
  for (;;) {
    auto value = scan.value();
    if (!value) {
      return value.error();
    }
    if (value->size() > kMaxValueLength) {
      return scan.fail("a value longer than " + std::to_string(kMaxValueLength) + " bytes");
    }
    filter.values.push_back(std::move(value.value()));
    if (filter.values.size() > kMaxValues) {
      return scan.fail("more than " + std::to_string(kMaxValues) + " values");
    }
    scan.skip_spaces();
    if (scan.at_end()) {
      break;
    }
    if (!scan.take(',')) {
      return scan.fail("expected \",\" between values");
    }
    scan.skip_spaces();
  }

  // What the operator needs from the field and the values.
  const auto kind = operand_kind(filter.op);
  const bool single_value = filter.op != Operator::In && filter.op != Operator::NotIn &&
                            filter.op != Operator::Prefix && filter.op != Operator::Suffix &&
                            filter.op != Operator::Contains;
  auto refuse = [&](const std::string &problem) {
    return make_error(ErrorCode::InvalidArgument, "filter \"" + std::string(expression) + "\": " + problem);
  };
  if (single_value && filter.values.size() != 1) {
    return refuse(std::string("\"") + to_string(filter.op) + "\" takes exactly one value");
  }
  if (filter.case_insensitive && kind != OperandKind::String) {
    return refuse("\"ci\" applies to string operators only");
  }
  switch (*type) {
  case FieldType::Platform:
    if (filter.op != Operator::In && filter.op != Operator::NotIn && filter.op != Operator::Eq) {
      return refuse("platform takes in, not_in or eq");
    }
    for (const auto &value : filter.values) {
      if (value != "android" && value != "ios") {
        return refuse("platform is android or ios, not \"" + value + "\"");
      }
    }
    break;
  case FieldType::Text:
    if (kind != OperandKind::String) {
      return refuse(filter.field + " is text: use in, not_in, eq, prefix, suffix or contains");
    }
    break;
  case FieldType::Version:
    if (kind == OperandKind::Number || kind == OperandKind::Date) {
      return refuse(filter.field + " is a version: use version_eq, version_lt, ... or a string operator");
    }
    break;
  case FieldType::Attribute:
    break;
  }

  const auto &operand = filter.values.front();
  switch (kind) {
  case OperandKind::Number: {
    char *end = nullptr;
    const double number = std::strtod(operand.c_str(), &end);
    if (operand.empty() || end != operand.c_str() + operand.size() || !std::isfinite(number) ||
        operand.find_first_of("xXpP") != std::string::npos ||
        operand.find_first_not_of("+-.0123456789eE") != std::string::npos) {
      return refuse("\"" + operand + "\" is not a finite decimal number");
    }
    filter.number = number;
    break;
  }
  case OperandKind::Date: {
    auto instant = parse_utc(operand);
    if (!instant) {
      return refuse(instant.error().message);
    }
    filter.instant = *instant;
    break;
  }
  case OperandKind::Version: {
    auto version = core::Version::parse(operand);
    if (!version) {
      return make_error(ErrorCode::VersionInvalid,
                        "filter \"" + std::string(expression) + "\": " + version.error().message);
    }
    filter.version = std::move(version.value());
    break;
  }
  case OperandKind::VersionRange: {
    auto range = core::VersionRange::parse(operand);
    if (!range) {
      return make_error(ErrorCode::VersionRangeInvalid,
                        "filter \"" + std::string(expression) + "\": " + range.error().message);
    }
    filter.range = std::move(range.value());
    break;
  }
  case OperandKind::String:
    break;
  }
  return filter;
}

std::string Filter::to_expression() const {
  std::string out = field;
  if (negated) {
    out += " not";
  }
  if (case_insensitive) {
    out += " ci";
  }
  out += ' ';
  out += targeting::to_string(op);
  out += ' ';
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) {
      out += ',';
    }
    if (!needs_quotes(values[i])) {
      out += values[i];
      continue;
    }
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
    out += '"';
  }
  return out;
}

std::string filters_to_json(const std::vector<Filter> &filters) {
  rapidjson::StringBuffer buffer;
  core::json::Writer writer(buffer);
  writer.StartArray();
  for (const auto &filter : filters) {
    writer.StartObject();
    writer.Key("field");
    writer.String(filter.field.c_str(), static_cast<rapidjson::SizeType>(filter.field.size()));
    writer.Key("op");
    writer.String(to_string(filter.op));
    writer.Key("not");
    writer.Bool(filter.negated);
    writer.Key("ci");
    writer.Bool(filter.case_insensitive);
    writer.Key("values");
    writer.StartArray();
    for (const auto &value : filter.values) {
      writer.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
    }
    writer.EndArray();
    const auto expression = filter.to_expression();
    writer.Key("expression");
    writer.String(expression.c_str(), static_cast<rapidjson::SizeType>(expression.size()));
    writer.EndObject();
  }
  writer.EndArray();
  return buffer.GetString();
}

} // namespace mds::server::targeting
