#include "core/version/version.hpp"

#include "core/version/scan.hpp"

#include <algorithm>

namespace mds::core {
namespace {

Version::Identifier make_identifier(std::string text) {
  Version::Identifier identifier;
  bool numeric = !text.empty();
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      numeric = false;
      break;
    }
    value = value * 10 + static_cast<std::uint64_t>(c - '0'); // bounded: the caller checked the identifier
  }
  if (numeric) {
    identifier.number = value;
  }
  identifier.text = std::move(text);
  return identifier;
}

int sign(int value) noexcept {
  return value < 0 ? -1 : (value > 0 ? 1 : 0);
}

int compare_identifiers(const Version::Identifier &a, const Version::Identifier &b) noexcept {
  if (a.number && b.number) {
    return *a.number < *b.number ? -1 : (*a.number > *b.number ? 1 : 0);
  }
  if (a.number || b.number) {
    return a.number ? -1 : 1; // numeric identifiers sort before words
  }
  return sign(a.text.compare(b.text)); // byte order, which is ASCII order here
}

Error invalid(std::string message) {
  return make_error(ErrorCode::VersionInvalid, std::move(message));
}

} // namespace

Version::Version() : numbers_{0} {}

Result<Version> Version::parse_dotted(std::string_view text) {
  auto scanned = detail::scan_version(text, detail::VersionSyntax::Dotted);
  if (!scanned) {
    return invalid("dotted version " + detail::quoted(text) + ": " + scanned.error().message);
  }
  Version version;
  version.numbers_ = std::move(scanned->numbers);
  return version;
}

Result<Version> Version::parse(std::string_view text) {
  auto scanned = detail::scan_version(text, detail::VersionSyntax::General);
  if (!scanned) {
    return invalid("version " + detail::quoted(text) + ": " + scanned.error().message);
  }
  Version version;
  version.numbers_ = std::move(scanned->numbers);
  for (auto &identifier : scanned->prerelease) {
    version.prerelease_.push_back(make_identifier(std::move(identifier)));
  }
  version.build_ = std::move(scanned->build);
  return version;
}

Result<Version> Version::from_parts(std::vector<std::uint64_t> numbers, std::vector<std::string> prerelease) {
  if (numbers.empty()) {
    return invalid("a version needs at least one numeric part");
  }
  if (numbers.size() > kMaxVersionParts) {
    return invalid("more than " + std::to_string(kMaxVersionParts) + " numeric parts");
  }
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    if (numbers[i] > kMaxVersionNumber) {
      return invalid("part " + std::to_string(i + 1) + " exceeds 2^53-1 (" + std::to_string(kMaxVersionNumber) + ")");
    }
  }
  Version version;
  version.numbers_ = std::move(numbers);
  for (auto &identifier : prerelease) {
    if (auto problem = detail::prerelease_identifier_problem(identifier); !problem.empty()) {
      return invalid(problem);
    }
    version.prerelease_.push_back(make_identifier(std::move(identifier)));
  }
  // parse() refuses longer text, so a longer version could not be written down and read back.
  if (const std::string text = version.to_string(); text.size() > kMaxVersionLength) {
    return invalid("version " + detail::quoted(text) + " is longer than " + std::to_string(kMaxVersionLength) +
                   " characters");
  }
  return version;
}

std::string Version::to_string() const {
  std::string out;
  for (std::size_t i = 0; i < numbers_.size(); ++i) {
    if (i > 0) {
      out += '.';
    }
    out += std::to_string(numbers_[i]);
  }
  for (std::size_t i = 0; i < prerelease_.size(); ++i) {
    out += i == 0 ? '-' : '.';
    out += prerelease_[i].text;
  }
  if (!build_.empty()) {
    out += '+';
    out += build_;
  }
  return out;
}

int compare(const Version &a, const Version &b) noexcept {
  const std::size_t parts = std::max(a.numbers().size(), b.numbers().size());
  for (std::size_t i = 0; i < parts; ++i) {
    if (a.number(i) != b.number(i)) {
      return a.number(i) < b.number(i) ? -1 : 1;
    }
  }
  // A release sorts after all of its pre-releases.
  if (a.is_prerelease() != b.is_prerelease()) {
    return a.is_prerelease() ? -1 : 1;
  }
  const auto &left = a.prerelease();
  const auto &right = b.prerelease();
  for (std::size_t i = 0; i < left.size() && i < right.size(); ++i) {
    if (const int order = compare_identifiers(left[i], right[i]); order != 0) {
      return order;
    }
  }
  if (left.size() != right.size()) {
    return left.size() < right.size() ? -1 : 1;
  }
  return 0;
}

} // namespace mds::core
