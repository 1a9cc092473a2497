#include "core/version/range.hpp"

#include "core/version/scan.hpp"

#include <algorithm>

namespace mds::core {
namespace {

using Bound = std::optional<VersionBound>;

// What a range operand names: one version, or a whole line of versions.
struct Operand {
  // For a single version, its numeric parts in point form (see point_numbers); for a line,
  // the numbers before the wildcard ("1.2.x" and "1.2": {1, 2}; "*": {}).
  std::vector<std::uint64_t> numbers;
  std::optional<Version> point; // unset for a line

  bool is_line() const { return !point.has_value(); }
};

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

// The numbers of a version written so that a range reads it as a single version: at least
// three parts (fewer would name a line), and no trailing zeros beyond the third (so that
// equal versions print alike).
std::vector<std::uint64_t> point_numbers(std::vector<std::uint64_t> numbers) {
  while (numbers.size() > 3 && numbers.back() == 0) {
    numbers.pop_back();
  }
  while (numbers.size() < 3) {
    numbers.push_back(0);
  }
  return numbers;
}

std::vector<std::string> prerelease_texts(const Version &version) {
  std::vector<std::string> texts;
  for (const auto &identifier : version.prerelease()) {
    texts.push_back(identifier.text);
  }
  return texts;
}

// `version` in point form, without build metadata.
Result<Version> canonical_point(const Version &version) {
  return Version::from_parts(point_numbers(version.numbers()), prerelease_texts(version));
}

// "0.0.0-0": no version sorts before it.
const Version &lowest_version() {
  static const Version lowest = Version::from_parts({0, 0, 0}, {"0"}).value();
  return lowest;
}

bool same_bound(const Bound &a, const Bound &b) noexcept {
  if (a.has_value() != b.has_value()) {
    return false;
  }
  return !a || (a->inclusive == b->inclusive && a->version == b->version);
}

Bound tighter_lower(const Bound &a, const Bound &b) {
  if (!a || !b) {
    return a ? a : b;
  }
  const int order = compare(a->version, b->version);
  if (order != 0) {
    return order > 0 ? a : b;
  }
  return a->inclusive ? b : a;
}

Bound tighter_upper(const Bound &a, const Bound &b) {
  if (!a || !b) {
    return a ? a : b;
  }
  const int order = compare(a->version, b->version);
  if (order != 0) {
    return order < 0 ? a : b;
  }
  return a->inclusive ? b : a;
}

Bound looser_upper(const Bound &a, const Bound &b) {
  if (!a || !b) {
    return std::nullopt;
  }
  const int order = compare(a->version, b->version);
  if (order != 0) {
    return order > 0 ? a : b;
  }
  return a->inclusive ? a : b;
}

VersionInterval intersect(const VersionInterval &a, const VersionInterval &b) {
  return {tighter_lower(a.lower, b.lower), tighter_upper(a.upper, b.upper)};
}

bool holds_nothing(const VersionInterval &interval) noexcept {
  if (!interval.upper) {
    return false;
  }
  if (!interval.lower) {
    return !interval.upper->inclusive && interval.upper->version == lowest_version();
  }
  const int order = compare(interval.lower->version, interval.upper->version);
  return order > 0 || (order == 0 && !(interval.lower->inclusive && interval.upper->inclusive));
}

VersionInterval nothing() {
  return {std::nullopt, VersionBound{lowest_version(), false}};
}

bool lower_sorts_before(const VersionInterval &a, const VersionInterval &b) {
  if (!a.lower || !b.lower) {
    return !a.lower && b.lower;
  }
  const int order = compare(a.lower->version, b.lower->version);
  if (order != 0) {
    return order < 0;
  }
  return a.lower->inclusive && !b.lower->inclusive;
}

Error range_error(std::string message) {
  return make_error(ErrorCode::VersionRangeInvalid, std::move(message));
}

// One pass over the text of a range; every error names the range and the offset.
class RangeParser {
public:
  explicit RangeParser(std::string_view text) : text_(text) {}

  Result<std::vector<VersionInterval>> run() {
    if (text_.size() > kMaxRangeLength) {
      return range_error("version range " + detail::quoted(text_) + " is longer than " +
                         std::to_string(kMaxRangeLength) + " characters");
    }
    if (std::all_of(text_.begin(), text_.end(), is_space)) {
      return std::vector<VersionInterval>{VersionInterval{}};
    }
    std::vector<VersionInterval> alternatives;
    std::size_t begin = 0;
    for (std::size_t pos = 0; pos <= text_.size(); ++pos) {
      const bool at_end = pos == text_.size();
      if (!at_end && text_[pos] != '|') {
        continue;
      }
      if (!at_end && (pos + 1 == text_.size() || text_[pos + 1] != '|')) {
        return fail(pos, "a lone '|' (a union is written ||)");
      }
      if (alternatives.size() == kMaxRangeAlternatives) {
        return fail(begin, "more than " + std::to_string(kMaxRangeAlternatives) + " alternatives");
      }
      auto alternative = parse_alternative(begin, pos);
      if (!alternative) {
        return std::move(alternative).error();
      }
      alternatives.push_back(std::move(alternative).value());
      begin = pos + 2;
      ++pos;
    }
    return alternatives;
  }

private:
  Error fail(std::size_t offset, const std::string &message) const {
    return range_error("version range " + detail::quoted(text_) + ", at offset " + std::to_string(offset) + ": " +
                       message);
  }

  void skip_spaces(std::size_t &pos, std::size_t end) const {
    while (pos < end && is_space(text_[pos])) {
      ++pos;
    }
  }

  std::string_view read_word(std::size_t &pos, std::size_t end) const {
    const std::size_t start = pos;
    while (pos < end && !is_space(text_[pos])) {
      ++pos;
    }
    return text_.substr(start, pos - start);
  }

  // The terms between two "||" (or the ends), intersected.
  Result<VersionInterval> parse_alternative(std::size_t begin, std::size_t end) {
    std::size_t pos = begin;
    skip_spaces(pos, end);
    if (pos == end) {
      return fail(begin, "empty alternative next to '||' (it would admit every version)");
    }
    VersionInterval all_of_them;
    while (pos < end) {
      if (++terms_ > kMaxRangeTerms) {
        return fail(pos, "more than " + std::to_string(kMaxRangeTerms) + " terms");
      }
      auto term = parse_term(pos, end);
      if (!term) {
        return term;
      }
      all_of_them = intersect(all_of_them, *term);
      if (pos < end && !is_space(text_[pos])) {
        return fail(pos, "expected a space after the term");
      }
      skip_spaces(pos, end);
    }
    return all_of_them;
  }

  Result<VersionInterval> parse_term(std::size_t &pos, std::size_t end) {
    if (text_[pos] == '[' || text_[pos] == '(') {
      return parse_interval(pos, end);
    }
    static constexpr std::string_view kOperators[] = {">=", "<=", "~>", ">", "<", "=", "~", "^"};
    std::string_view op;
    for (std::string_view candidate : kOperators) {
      if (text_.substr(pos, std::min(candidate.size(), end - pos)) == candidate) {
        op = candidate;
        break;
      }
    }
    const std::size_t op_offset = pos;
    pos += op.size();
    skip_spaces(pos, end);
    if (pos == end) {
      return fail(op_offset, "operator '" + std::string(op) + "' without a version");
    }
    const std::size_t word_offset = pos;
    auto operand = parse_operand(read_word(pos, end), word_offset);
    if (!operand) {
      return std::move(operand).error();
    }
    if (op.empty()) {
      std::size_t dash = pos;
      skip_spaces(dash, end);
      if (dash > pos && dash < end && text_[dash] == '-' && (dash + 1 == end || is_space(text_[dash + 1]))) {
        return parse_hyphen(*operand, word_offset, dash, pos, end);
      }
    }
    return comparator(op, *operand, word_offset);
  }

  // "A - B": from A (or the start of its line) through B (or the end of its line).
  Result<VersionInterval> parse_hyphen(const Operand &from, std::size_t from_offset, std::size_t dash, std::size_t &pos,
                                       std::size_t end) {
    pos = dash + 1;
    skip_spaces(pos, end);
    if (pos == end) {
      return fail(dash, "hyphen range without a second version");
    }
    const std::size_t to_offset = pos;
    auto to = parse_operand(read_word(pos, end), to_offset);
    if (!to) {
      return std::move(to).error();
    }
    VersionInterval interval;
    if (from.is_line()) {
      auto floor = line_floor(from.numbers, from_offset);
      if (!floor) {
        return std::move(floor).error();
      }
      interval.lower = *floor;
    } else {
      interval.lower = VersionBound{*from.point, true};
    }
    if (!to->is_line()) {
      interval.upper = VersionBound{*to->point, true};
    } else if (!to->numbers.empty()) { // "A - *" has no upper bound
      auto ceiling = line_ceiling(to->numbers, to_offset);
      if (!ceiling) {
        return std::move(ceiling).error();
      }
      interval.upper = *ceiling;
    }
    if (holds_nothing(interval)) {
      return fail(from_offset, "hyphen range whose first version is above its second");
    }
    return interval;
  }

  // "[1.2, 2.0)", "(,3]", "[1.0,]", "[1.0]": bounds are single versions.
  Result<VersionInterval> parse_interval(std::size_t &pos, std::size_t end) {
    const std::size_t open = pos;
    std::size_t close = open + 1;
    while (close < end && text_[close] != ']' && text_[close] != ')') {
      ++close;
    }
    if (close == end) {
      return fail(open, "interval without a closing ']' or ')'");
    }
    pos = close + 1;
    const bool lower_inclusive = text_[open] == '[';
    const bool upper_inclusive = text_[close] == ']';
    const std::string_view inside = text_.substr(open + 1, close - open - 1);
    const std::size_t comma = inside.find(',') == std::string_view::npos ? close : open + 1 + inside.find(',');
    if (comma == close) {
      if (!lower_inclusive || !upper_inclusive) {
        return fail(open, "an interval with one version is written [version]");
      }
      auto exact = parse_bound(open + 1, close);
      if (!exact) {
        return std::move(exact).error();
      }
      if (!*exact) {
        return fail(open, "empty interval (write * for every version)");
      }
      const VersionBound bound{**exact, true};
      return VersionInterval{bound, bound};
    }
    if (const std::size_t second = inside.find(',', comma - open); second != std::string_view::npos) {
      return fail(open + 1 + second, "an interval has exactly one ','");
    }
    auto lower = parse_bound(open + 1, comma);
    if (!lower) {
      return std::move(lower).error();
    }
    auto upper = parse_bound(comma + 1, close);
    if (!upper) {
      return std::move(upper).error();
    }
    if (!*lower && !*upper) {
      return fail(open, "an interval needs at least one bound (write * for every version)");
    }
    VersionInterval interval;
    if (*lower) {
      interval.lower = VersionBound{**lower, lower_inclusive};
    }
    if (*upper) {
      interval.upper = VersionBound{**upper, upper_inclusive};
    }
    if (holds_nothing(interval)) {
      const bool reversed = interval.lower && compare(interval.lower->version, interval.upper->version) > 0;
      return fail(open,
                  reversed ? "interval whose lower bound is above its upper bound" : "interval that holds no version");
    }
    return interval;
  }

  // The version between `begin` and `end`, spaces around it ignored; nullopt when blank.
  Result<std::optional<Version>> parse_bound(std::size_t begin, std::size_t end) const {
    skip_spaces(begin, end);
    while (end > begin && is_space(text_[end - 1])) {
      --end;
    }
    if (begin == end) {
      return std::optional<Version>{};
    }
    auto version = Version::parse(text_.substr(begin, end - begin));
    if (!version) {
      return fail(begin, version.error().message);
    }
    auto point = canonical_point(*version);
    if (!point) {
      return fail(begin, point.error().message);
    }
    return std::optional<Version>{std::move(point).value()};
  }

  Result<Operand> parse_operand(std::string_view word, std::size_t offset) const {
    auto scanned = detail::scan_version(word, detail::VersionSyntax::RangeOperand);
    if (!scanned) {
      return fail(offset, "version " + detail::quoted(word) + ": " + scanned.error().message);
    }
    Operand operand;
    if (scanned->wildcard || scanned->numbers.size() < 3) {
      if (!scanned->prerelease.empty()) {
        return fail(offset, scanned->wildcard
                                ? "a pre-release cannot follow a wildcard part"
                                : "a pre-release needs major.minor.patch in a range (write 1.2.0-beta, not 1.2-beta)");
      }
      operand.numbers = std::move(scanned->numbers);
      return operand;
    }
    auto point = Version::from_parts(point_numbers(std::move(scanned->numbers)), std::move(scanned->prerelease));
    if (!point) {
      return fail(offset, point.error().message);
    }
    operand.numbers = point->numbers();
    operand.point = std::move(point).value();
    return operand;
  }

  // The first version of the line `prefix`: prefix-0, below all its pre-releases.
  Result<VersionBound> line_floor(const std::vector<std::uint64_t> &prefix, std::size_t offset) const {
    auto floor = Version::from_parts(point_numbers(prefix), {"0"});
    if (!floor) {
      return fail(offset, floor.error().message);
    }
    return VersionBound{std::move(floor).value(), true};
  }

  // Just past the line `prefix`: the floor of the next line, excluded. `prefix` is not empty
  // (the line of every version has no ceiling).
  Result<VersionBound> line_ceiling(std::vector<std::uint64_t> prefix, std::size_t offset) const {
    if (prefix.empty()) {
      return make_error(ErrorCode::Internal, "line_ceiling of the empty prefix");
    }
    if (prefix.back() == kMaxVersionNumber) {
      return fail(offset, "no line follows one whose last part is 2^53-1, so it has no upper bound to write");
    }
    ++prefix.back();
    auto ceiling = line_floor(prefix, offset);
    if (!ceiling) {
      return ceiling;
    }
    ceiling->inclusive = false;
    return ceiling;
  }

  // From the operand (or its line's floor) to the end of the line of its first `kept` parts.
  Result<VersionInterval> up_to_line_of_prefix(const Operand &operand, std::size_t kept, std::size_t offset) const {
    VersionInterval interval;
    if (operand.is_line()) {
      auto floor = line_floor(operand.numbers, offset);
      if (!floor) {
        return std::move(floor).error();
      }
      interval.lower = *floor;
    } else {
      interval.lower = VersionBound{*operand.point, true};
    }
    auto ceiling =
        line_ceiling({operand.numbers.begin(), operand.numbers.begin() + static_cast<std::ptrdiff_t>(kept)}, offset);
    if (!ceiling) {
      return std::move(ceiling).error();
    }
    interval.upper = *ceiling;
    return interval;
  }

  Result<VersionInterval> comparator(std::string_view op, const Operand &operand, std::size_t offset) const {
    const auto &numbers = operand.numbers;
    if (operand.is_line() && numbers.empty()) {
      // "*": nothing is above or below every version.
      return op == ">" || op == "<" ? nothing() : VersionInterval{};
    }
    if (op == "~" || op == "~>") {
      // Changes after the minor part, or after the major one when only it is given.
      return up_to_line_of_prefix(operand, std::min<std::size_t>(numbers.size(), 2), offset);
    }
    if (op == "^") {
      // Changes after the first non-zero part; all given parts when every one is zero.
      const auto first_non_zero = std::find_if(numbers.begin(), numbers.end(), [](auto n) { return n != 0; });
      const auto kept = first_non_zero == numbers.end()
                            ? numbers.size()
                            : static_cast<std::size_t>(first_non_zero - numbers.begin()) + 1;
      return up_to_line_of_prefix(operand, kept, offset);
    }
    if (!operand.is_line()) {
      const VersionBound exactly{*operand.point, true};
      const VersionBound strictly{*operand.point, false};
      if (op == ">=") {
        return VersionInterval{exactly, std::nullopt};
      }
      if (op == ">") {
        return VersionInterval{strictly, std::nullopt};
      }
      if (op == "<=") {
        return VersionInterval{std::nullopt, exactly};
      }
      if (op == "<") {
        return VersionInterval{std::nullopt, strictly};
      }
      return VersionInterval{exactly, exactly}; // "=" or no operator
    }
    auto floor = line_floor(numbers, offset);
    if (!floor) {
      return std::move(floor).error();
    }
    if (op == ">=") {
      return VersionInterval{*floor, std::nullopt};
    }
    if (op == "<") {
      return VersionInterval{std::nullopt, VersionBound{floor->version, false}};
    }
    auto ceiling = line_ceiling(numbers, offset);
    if (!ceiling) {
      return std::move(ceiling).error();
    }
    if (op == ">") {
      return VersionInterval{VersionBound{ceiling->version, true}, std::nullopt};
    }
    if (op == "<=") {
      return VersionInterval{std::nullopt, *ceiling};
    }
    return VersionInterval{*floor, *ceiling}; // "=" or no operator: the whole line
  }

  std::string_view text_;
  std::size_t terms_ = 0;
};

std::string bound_text(const char *op, const VersionBound &bound) {
  return op + bound.version.to_string();
}

} // namespace

bool VersionInterval::contains(const Version &version) const noexcept {
  if (lower) {
    const int order = compare(version, lower->version);
    if (order < 0 || (order == 0 && !lower->inclusive)) {
      return false;
    }
  }
  if (upper) {
    const int order = compare(version, upper->version);
    if (order > 0 || (order == 0 && !upper->inclusive)) {
      return false;
    }
  }
  return true;
}

VersionRange VersionRange::none() {
  return VersionRange(std::vector<VersionInterval>{});
}

Result<VersionRange> VersionRange::parse(std::string_view text) {
  auto intervals = RangeParser(text).run();
  if (!intervals) {
    return std::move(intervals).error();
  }
  auto range = from_intervals(std::move(intervals).value());
  if (!range) {
    return range_error("version range " + detail::quoted(text) + ": " + range.error().message);
  }
  return range;
}

Result<VersionRange> VersionRange::from_intervals(std::vector<VersionInterval> intervals) {
  std::vector<VersionInterval> kept;
  for (auto &interval : intervals) {
    for (Bound *bound : {&interval.lower, &interval.upper}) {
      if (*bound) {
        auto point = canonical_point((*bound)->version);
        if (!point) {
          return range_error("bound " + detail::quoted((*bound)->version.to_string()) + ": " + point.error().message);
        }
        (*bound)->version = std::move(point).value();
      }
    }
    if (interval.lower && interval.lower->inclusive && interval.lower->version == lowest_version()) {
      interval.lower.reset(); // the same as no lower bound
    }
    if (!holds_nothing(interval)) {
      kept.push_back(std::move(interval));
    }
  }
  std::sort(kept.begin(), kept.end(), lower_sorts_before);

  std::vector<VersionInterval> merged;
  for (auto &next : kept) {
    if (!merged.empty()) {
      auto &current = merged.back();
      if (!current.upper) {
        continue; // `current` runs without end: it holds `next` already
      }
      bool touches = !next.lower;
      if (next.lower) {
        const int order = compare(next.lower->version, current.upper->version);
        touches = order < 0 || (order == 0 && (current.upper->inclusive || next.lower->inclusive));
      }
      if (touches) {
        current.upper = looser_upper(current.upper, next.upper);
        continue;
      }
    }
    merged.push_back(std::move(next));
  }
  if (merged.size() > kMaxRangeAlternatives) {
    return range_error("more than " + std::to_string(kMaxRangeAlternatives) + " disjoint intervals");
  }
  return VersionRange(std::move(merged));
}

bool VersionRange::contains(const Version &version) const noexcept {
  return std::any_of(intervals_.begin(), intervals_.end(),
                     [&](const VersionInterval &interval) { return interval.contains(version); });
}

bool VersionRange::is_any() const noexcept {
  return intervals_.size() == 1 && !intervals_[0].lower && !intervals_[0].upper;
}

std::string VersionRange::to_string() const {
  if (intervals_.empty()) {
    return "<" + lowest_version().to_string();
  }
  std::string out;
  for (const auto &interval : intervals_) {
    if (!out.empty()) {
      out += " || ";
    }
    if (!interval.lower && !interval.upper) {
      out += "*";
    } else if (interval.lower && interval.upper && interval.lower->inclusive && interval.upper->inclusive &&
               interval.lower->version == interval.upper->version) {
      out += interval.lower->version.to_string();
    } else {
      if (interval.lower) {
        out += bound_text(interval.lower->inclusive ? ">=" : ">", *interval.lower);
      }
      if (interval.upper) {
        out += interval.lower ? " " : "";
        out += bound_text(interval.upper->inclusive ? "<=" : "<", *interval.upper);
      }
    }
  }
  return out;
}

bool operator==(const VersionRange &a, const VersionRange &b) noexcept {
  const auto &left = a.intervals();
  const auto &right = b.intervals();
  if (left.size() != right.size()) {
    return false;
  }
  for (std::size_t i = 0; i < left.size(); ++i) {
    if (!same_bound(left[i].lower, right[i].lower) || !same_bound(left[i].upper, right[i].upper)) {
      return false;
    }
  }
  return true;
}

} // namespace mds::core
