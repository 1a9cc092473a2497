#include "text_output.hpp"

#include <algorithm>
#include <cstdio>

namespace mds::mdsctl {

Table::Table(std::vector<std::string> header) {
  rows_.push_back(std::move(header));
}

void Table::add(std::vector<std::string> row) {
  rows_.push_back(std::move(row));
}

std::string Table::render() const {
  std::vector<std::size_t> widths;
  for (const auto &row : rows_) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto &row : rows_) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line.append(widths[i] - row[i].size() + 2, ' ');
      }
    }
    out += line + "\n";
  }
  if (rows_.size() == 1) {
    out += "(none)\n";
  }
  return out;
}

const core::json::Value *member(const core::json::Value &object, std::string_view key) {
  if (!object.IsObject()) {
    return nullptr;
  }
  const auto found = object.FindMember(
      core::json::Value(rapidjson::StringRef(key.data(), static_cast<rapidjson::SizeType>(key.size()))));
  return found == object.MemberEnd() ? nullptr : &found->value;
}

std::string compact(const core::json::Value &value, std::size_t max_chars) {
  std::string text = core::json::serialize(value);
  if (max_chars != 0 && text.size() > max_chars) {
    text.resize(max_chars);
    text += "...";
  }
  return text;
}

std::string field(const core::json::Value &object, std::string_view key) {
  const auto *value = member(object, key);
  if (value == nullptr || value->IsNull()) {
    return "-";
  }
  if (value->IsString()) {
    return std::string(core::json::view(*value));
  }
  return compact(*value);
}

std::string human_bytes(std::uint64_t bytes) {
  if (bytes < 1000) {
    return std::to_string(bytes) + " B";
  }
  const char *units[] = {"kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes) / 1000.0;
  std::size_t unit = 0;
  while (value >= 1000.0 && unit + 1 < std::size(units)) {
    value /= 1000.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  return text;
}

std::string percent_of(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) {
    return "-";
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return text;
}

} // namespace mds::mdsctl
