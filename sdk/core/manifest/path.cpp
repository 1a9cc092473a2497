#include "core/manifest/path.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace mds::core {
namespace {

Error unsafe(std::string message) {
  return make_error(ErrorCode::PathUnsafe, std::move(message));
}

std::string segment_label(std::size_t index) {
  return "segment " + std::to_string(index + 1);
}

bool is_ascii_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_ascii_digit(char c) {
  return c >= '0' && c <= '9';
}

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) {
      return false;
    }
  }
  return true;
}

// Windows opens the device, not a file, for these names whatever the extension.
bool is_windows_device_name(std::string_view segment) {
  const std::string_view stem = segment.substr(0, segment.find('.'));
  static constexpr std::array<std::string_view, 4> kPlain = {"con", "prn", "aux", "nul"};
  for (auto name : kPlain) {
    if (equals_ignoring_case(stem, name)) {
      return true;
    }
  }
  return stem.size() == 4 &&
         (equals_ignoring_case(stem.substr(0, 3), "com") || equals_ignoring_case(stem.substr(0, 3), "lpt")) &&
         is_ascii_digit(stem[3]);
}

// Why a byte may not appear in a path, or nullptr when it may.
const char *why_byte_refused(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (is_ascii_letter(c) || is_ascii_digit(c) || kPathPunctuation.find(c) != std::string_view::npos) {
    return nullptr;
  }
  if (byte == 0) {
    return "contains a NUL byte";
  }
  if (byte < 0x20 || byte == 0x7f) {
    return "contains a control character";
  }
  if (byte >= 0x80) {
    return "contains a non-ASCII byte (paths are ASCII only, so no Unicode normalisation twins)";
  }
  switch (c) {
  case '\\':
    return "contains a backslash (a separator on Windows)";
  case '%':
    return "contains '%' (never decoded, so refused: \"%2e%2e\" must not become \"..\")";
  case ':':
    return "contains ':' (drive letters and NTFS alternate data streams)";
  case '~':
    return "contains '~' (Windows short names such as PROGRA~1 alias other files)";
  default:
    return "contains a character outside A-Z a-z 0-9 . _ - @";
  }
}

Status validate_segment(std::string_view segment, std::size_t index) {
  const std::string label = segment_label(index);
  if (segment.empty()) {
    return unsafe(label + " is empty (\"a//b\", a leading or trailing '/')");
  }
  if (segment == ".") {
    return unsafe(label + " is \".\"");
  }
  if (segment == "..") {
    return unsafe(label + " is \"..\" (parent directory)");
  }
  if (segment.substr(0, 2) == "..") {
    return unsafe(label + " starts with \"..\" (Apple reads \"..namedfork\" as a resource fork)");
  }
  if (segment.size() > kMaxSegmentBytes) {
    return unsafe(label + " is longer than " + std::to_string(kMaxSegmentBytes) + " bytes");
  }
  if (segment.back() == '.' || segment.back() == ' ') {
    return unsafe(label + " ends with a dot or space (Windows strips them)");
  }
  if (is_windows_device_name(segment)) {
    return unsafe(label + " is a Windows device name (CON, PRN, AUX, NUL, COMn, LPTn)");
  }
  for (char c : segment) {
    if (const char *why = why_byte_refused(c)) {
      return unsafe(label + " " + why);
    }
  }
  return {};
}

} // namespace

Status validate_package_path(std::string_view path) {
  if (path.empty()) {
    return unsafe("path is empty");
  }
  if (path.size() > kMaxPathBytes) {
    return unsafe("path is longer than " + std::to_string(kMaxPathBytes) + " bytes");
  }
  if (path.front() == '/') {
    return unsafe("path is absolute (starts with '/')");
  }
  if (path.size() >= 2 && is_ascii_letter(path[0]) && path[1] == ':') {
    return unsafe("path starts with a Windows drive letter");
  }
  const auto depth = static_cast<std::size_t>(std::count(path.begin(), path.end(), '/')) + 1;
  if (depth > kMaxPathDepth) {
    return unsafe("path is deeper than " + std::to_string(kMaxPathDepth) + " segments");
  }

  std::size_t index = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    auto checked = validate_segment(path.substr(start, end - start), index);
    if (!checked) {
      return checked;
    }
    if (slash == std::string_view::npos) {
      return {};
    }
    start = slash + 1;
    ++index;
  }
}

namespace {

struct FoldedPath {
  std::string folded; // lower-case: what a case-insensitive filesystem compares
  std::string_view original;
};

// Sorts '/' below every other byte, which orders paths segment by segment: every path
// under directory "d/" then comes right after "d" and before any sibling such as "d-x",
// so each kind of collision shows up between neighbours.
bool segment_order(const FoldedPath &a, const FoldedPath &b) {
  auto key = [](char c) { return c == '/' ? 0 : static_cast<int>(static_cast<unsigned char>(c)); };
  return std::lexicographical_compare(a.folded.begin(), a.folded.end(), b.folded.begin(), b.folded.end(),
                                      [&](char x, char y) { return key(x) < key(y); });
}

// Length of the longest directory prefix ("a/b/") that both folded paths share.
std::size_t common_directory_length(std::string_view a, std::string_view b) {
  std::size_t length = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size() && a[i] == b[i]; ++i) {
    if (a[i] == '/') {
      length = i + 1;
    }
  }
  return length;
}

std::string quoted(std::string_view path) {
  return "\"" + std::string(path) + "\"";
}

} // namespace

Status validate_package_path_set(const std::vector<std::string_view> &paths) {
  std::vector<FoldedPath> entries;
  entries.reserve(paths.size());
  for (std::string_view path : paths) {
    auto valid = validate_package_path(path);
    if (!valid) {
      return valid;
    }
    FoldedPath entry{std::string(path), path};
    std::transform(entry.folded.begin(), entry.folded.end(), entry.folded.begin(), ascii_lower);
    entries.push_back(std::move(entry));
  }
  std::sort(entries.begin(), entries.end(), segment_order);

  for (std::size_t i = 1; i < entries.size(); ++i) {
    const FoldedPath &first = entries[i - 1];
    const FoldedPath &second = entries[i];
    if (first.folded == second.folded) {
      if (first.original == second.original) {
        return unsafe(quoted(first.original) + " is listed twice");
      }
      return unsafe(quoted(first.original) + " and " + quoted(second.original) +
                    " differ only in letter case (one file on case-insensitive filesystems)");
    }
    const std::string_view longer = second.folded;
    if (longer.size() > first.folded.size() && longer.substr(0, first.folded.size()) == first.folded &&
        longer[first.folded.size()] == '/') {
      return unsafe(quoted(first.original) + " is a file and also a directory of " + quoted(second.original));
    }
    const std::size_t shared = common_directory_length(first.folded, second.folded);
    if (first.original.substr(0, shared) != second.original.substr(0, shared)) {
      return unsafe("directories of " + quoted(first.original) + " and " + quoted(second.original) +
                    " differ only in letter case (one directory on case-insensitive filesystems)");
    }
  }
  return {};
}

} // namespace mds::core
