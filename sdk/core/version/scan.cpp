#include "core/version/scan.hpp"

#include "core/version/version.hpp"

#include <cstddef>

namespace mds::core::detail {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_identifier_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

bool is_wildcard(std::string_view part) {
  return part == "x" || part == "X" || part == "*";
}

bool all_digits(std::string_view text) {
  for (char c : text) {
    if (!is_digit(c)) {
      return false;
    }
  }
  return !text.empty();
}

// Reads a run of digits already known to be all digits; false when above kMaxVersionNumber.
bool read_number(std::string_view digits, std::uint64_t &out) {
  std::uint64_t value = 0;
  for (char c : digits) {
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
    if (value > kMaxVersionNumber) {
      return false;
    }
  }
  out = value;
  return true;
}

std::string char_at(std::string_view text, std::size_t offset) {
  return quoted(text.substr(offset, 1)) + " at offset " + std::to_string(offset);
}

Error invalid(std::string message) {
  return make_error(ErrorCode::VersionInvalid, std::move(message));
}

const std::string kMaxNumberText = std::to_string(kMaxVersionNumber);

} // namespace

std::string prerelease_identifier_problem(std::string_view identifier) {
  if (identifier.empty()) {
    return "empty pre-release identifier";
  }
  for (char c : identifier) {
    if (!is_identifier_char(c)) {
      return "pre-release identifier " + quoted(identifier) + " has a character outside [0-9A-Za-z-]";
    }
  }
  if (all_digits(identifier)) {
    std::uint64_t unused = 0;
    if (identifier.size() > 1 && identifier[0] == '0') {
      return "numeric pre-release identifier " + quoted(identifier) + " has a leading zero";
    }
    if (!read_number(identifier, unused)) {
      return "numeric pre-release identifier " + quoted(identifier) + " exceeds 2^53-1 (" + kMaxNumberText + ")";
    }
  }
  return {};
}

Result<ScannedVersion> scan_version(std::string_view text, VersionSyntax syntax) {
  if (text.empty()) {
    return invalid("empty version");
  }
  if (text.size() > kMaxVersionLength) {
    return invalid("longer than " + std::to_string(kMaxVersionLength) + " characters");
  }
  const bool dotted = syntax == VersionSyntax::Dotted;
  const bool wildcards_allowed = syntax == VersionSyntax::RangeOperand;

  std::size_t pos = 0;
  if (!dotted && text[0] == 'v' && text.size() > 1 && is_digit(text[1])) {
    pos = 1; // "v1.2.3", the way git tags are written
  }

  ScannedVersion out;
  std::size_t part_count = 0;
  // The numeric parts end at the first '-' or '+', or at the end.
  while (true) {
    const std::size_t start = pos;
    while (pos < text.size() && text[pos] != '.' && text[pos] != '-' && text[pos] != '+') {
      ++pos;
    }
    const std::string_view part = text.substr(start, pos - start);
    ++part_count;
    if (part_count > kMaxVersionParts) {
      return invalid("more than " + std::to_string(kMaxVersionParts) + " numeric parts");
    }
    const std::string part_name = "part " + std::to_string(part_count);
    if (part.empty()) {
      return invalid("empty " + part_name + (start < text.size() ? " before " + char_at(text, start) : " at the end"));
    }
    if (wildcards_allowed && is_wildcard(part)) {
      out.wildcard = true;
    } else if (!all_digits(part)) {
      std::size_t bad = start;
      while (is_digit(text[bad])) {
        ++bad;
      }
      return invalid("unexpected character " + char_at(text, bad) + " in " + part_name);
    } else if (out.wildcard) {
      return invalid(part_name + " is a number after a wildcard part (only x, X or * may follow one)");
    } else if (part.size() > 1 && part[0] == '0') {
      return invalid(part_name + " has a leading zero");
    } else {
      std::uint64_t value = 0;
      if (!read_number(part, value)) {
        return invalid(part_name + " exceeds 2^53-1 (" + kMaxNumberText + ")");
      }
      out.numbers.push_back(value);
    }
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      continue;
    }
    break;
  }

  if (pos < text.size() && text[pos] == '-') {
    if (dotted) {
      return invalid("pre-release " + char_at(text, pos) + " not allowed: a dotted version has numeric parts only");
    }
    ++pos;
    while (true) {
      const std::size_t start = pos;
      while (pos < text.size() && text[pos] != '.' && text[pos] != '+') {
        ++pos;
      }
      const std::string_view identifier = text.substr(start, pos - start);
      if (auto problem = prerelease_identifier_problem(identifier); !problem.empty()) {
        return invalid(problem);
      }
      out.prerelease.emplace_back(identifier);
      if (pos < text.size() && text[pos] == '.') {
        ++pos;
        continue;
      }
      break;
    }
  }

  if (pos < text.size() && text[pos] == '+') {
    if (dotted) {
      return invalid("build metadata " + char_at(text, pos) + " not allowed: a dotted version has numeric parts only");
    }
    ++pos;
    const std::size_t build_start = pos;
    while (true) {
      const std::size_t start = pos;
      while (pos < text.size() && is_identifier_char(text[pos])) {
        ++pos;
      }
      if (pos == start) {
        return invalid("empty build identifier" + (pos < text.size() ? " before " + char_at(text, pos) : ""));
      }
      if (pos < text.size() && text[pos] == '.') {
        ++pos;
        continue;
      }
      break;
    }
    out.build = std::string(text.substr(build_start, pos - build_start));
  }

  if (pos < text.size()) {
    return invalid("unexpected character " + char_at(text, pos));
  }
  return out;
}

std::string quoted(std::string_view text) {
  constexpr std::size_t kShown = 40;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kShown; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20 || byte >= 0x7f || byte == '"' || byte == '\\') {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += static_cast<char>(byte);
    }
  }
  out += text.size() > kShown ? "\"..." : "\"";
  return out;
}

} // namespace mds::core::detail
