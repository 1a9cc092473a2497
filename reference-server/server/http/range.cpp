#include "server/http/range.hpp"

#include <limits>

namespace mds::server::http {
namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// One or more digits, saturating at kMax; nullopt for anything else.
std::optional<std::uint64_t> digits(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    const auto digit = static_cast<std::uint64_t>(c - '0');
    value = value > (kMax - digit) / 10 ? kMax : value * 10 + digit;
  }
  return value;
}

bool unit_is_bytes(std::string_view unit) {
  constexpr std::string_view kBytes = "bytes";
  if (unit.size() != kBytes.size()) {
    return false;
  }
  for (std::size_t i = 0; i < unit.size(); ++i) {
    const char c = unit[i] >= 'A' && unit[i] <= 'Z' ? static_cast<char>(unit[i] - 'A' + 'a') : unit[i];
    if (c != kBytes[i]) {
      return false;
    }
  }
  return true;
}

} // namespace

RangeAnswer parse_range(std::string_view header, std::uint64_t size) {
  const RangeAnswer whole;
  const auto equals = header.find('=');
  if (equals == std::string_view::npos || !unit_is_bytes(trim(header.substr(0, equals)))) {
    return whole;
  }
  const auto spec = trim(header.substr(equals + 1));
  if (spec.find(',') != std::string_view::npos) {
    return whole;
  }
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) {
    return whole;
  }
  const auto first_text = spec.substr(0, dash);
  const auto last_text = spec.substr(dash + 1);
  RangeAnswer answer;
  if (first_text.empty()) {
    // "-SUFFIX": the last SUFFIX bytes.
    const auto suffix = digits(last_text);
    if (!suffix) {
      return whole;
    }
    if (*suffix == 0 || size == 0) {
      answer.kind = RangeKind::Unsatisfiable;
      return answer;
    }
    answer.kind = RangeKind::Partial;
    answer.first = *suffix >= size ? 0 : size - *suffix;
    answer.last = size - 1;
    return answer;
  }
  const auto first = digits(first_text);
  if (!first) {
    return whole;
  }
  std::uint64_t last = kMax;
  if (!last_text.empty()) {
    const auto parsed = digits(last_text);
    if (!parsed || *parsed < *first) {
      return whole;
    }
    last = *parsed;
  }
  if (*first >= size) {
    answer.kind = RangeKind::Unsatisfiable;
    return answer;
  }
  answer.kind = RangeKind::Partial;
  answer.first = *first;
  answer.last = last >= size ? size - 1 : last;
  return answer;
}

RangeAnswer apply_if_range(const RangeAnswer &range, const std::optional<std::string> &if_range,
                           std::string_view etag) {
  // If-Range is weighed before Range: when it does not match, Range is ignored, an
  // unsatisfiable one included.
  if (range.kind != RangeKind::Whole && if_range && trim(*if_range) != etag) {
    return RangeAnswer{};
  }
  return range;
}

} // namespace mds::server::http
