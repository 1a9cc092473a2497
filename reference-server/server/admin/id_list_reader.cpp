#include "server/admin/id_list_reader.hpp"

#include "server/storage/whitelist_index.hpp"

#include <cstring>

namespace mds::server {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

bool is_header(std::string_view id) {
  auto equals_ci = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
      const char lower = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
      if (lower != b[i]) {
        return false;
      }
    }
    return true;
  };
  return equals_ci(id, "id") || equals_ci(id, "user_id") || equals_ci(id, "device_id") || equals_ci(id, "userid") ||
         equals_ci(id, "deviceid");
}

} // namespace

Result<std::optional<std::string_view>> id_from_line(std::string_view line) {
  auto field = trim(line.substr(0, line.find(',')));
  if (field.size() >= 2 && field.front() == '"' && field.back() == '"') {
    field = trim(field.substr(1, field.size() - 2));
  }
  if (field.empty()) {
    if (trim(line).empty()) {
      return std::optional<std::string_view>();
    }
    return make_error(ErrorCode::InvalidArgument, "empty id");
  }
  if (field.size() > kMaxIdLength) {
    return make_error(ErrorCode::InvalidArgument, "id longer than " + std::to_string(kMaxIdLength) + " bytes");
  }
  for (char c : field) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '"' || c == ',') {
      return make_error(ErrorCode::InvalidArgument, "an id contains a space, control character or quote");
    }
  }
  return std::optional<std::string_view>(field);
}

Result<std::optional<std::string_view>> pattern_from_line(std::string_view line) {
  const auto pattern = trim(line);
  if (pattern.empty()) {
    return std::optional<std::string_view>();
  }
  if (pattern.size() > kMaxPatternLength) {
    return make_error(ErrorCode::InvalidArgument,
                      "pattern longer than " + std::to_string(kMaxPatternLength) + " bytes");
  }
  for (char c : pattern) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return make_error(ErrorCode::InvalidArgument, "a pattern contains a control character");
    }
  }
  return std::optional<std::string_view>(pattern);
}

Result<std::unique_ptr<IdListReader>> IdListReader::open(const std::filesystem::path &file, WhitelistMatch match) {
  std::FILE *handle = std::fopen(file.c_str(), "rb");
  if (handle == nullptr) {
    return make_error(ErrorCode::IoError, "cannot open " + file.string() + ": " + std::strerror(errno));
  }
  return std::unique_ptr<IdListReader>(new IdListReader(handle, match));
}

IdListReader::~IdListReader() {
  std::fclose(file_);
}

Result<std::optional<std::string_view>> IdListReader::next_line() {
  for (;;) {
    const void *newline = begin_ < end_ ? std::memchr(buffer_.data() + begin_, '\n', end_ - begin_) : nullptr;
    if (newline != nullptr) {
      const auto line_end = static_cast<std::size_t>(static_cast<const char *>(newline) - buffer_.data());
      std::string_view line(buffer_.data() + begin_, line_end - begin_);
      begin_ = line_end + 1;
      if (partial_.empty()) {
        return std::optional<std::string_view>(line);
      }
      partial_.append(line);
      assembled_.swap(partial_);
      partial_.clear();
      return std::optional<std::string_view>(assembled_);
    }
    partial_.append(buffer_.data() + begin_, end_ - begin_);
    begin_ = end_ = 0;
    if (partial_.size() > kMaxIdLength * 64) {
      return make_error(ErrorCode::InvalidArgument,
                        "line " + std::to_string(line_number_ + 1) + ": too long for an id list");
    }
    if (eof_) {
      if (partial_.empty()) {
        return std::optional<std::string_view>();
      }
      assembled_.swap(partial_);
      partial_.clear();
      return std::optional<std::string_view>(assembled_);
    }
    end_ = std::fread(buffer_.data(), 1, buffer_.size(), file_);
    if (end_ < buffer_.size()) {
      if (std::ferror(file_) != 0) {
        return make_error(ErrorCode::IoError, "reading the uploaded id list failed");
      }
      eof_ = true;
    }
  }
}

Result<std::optional<std::string_view>> IdListReader::next() {
  for (;;) {
    auto line = next_line();
    if (!line) {
      return line.error();
    }
    if (!*line) {
      return std::optional<std::string_view>();
    }
    ++line_number_;
    auto id = match_ == WhitelistMatch::Regex ? pattern_from_line(**line) : id_from_line(**line);
    if (!id) {
      return make_error(ErrorCode::InvalidArgument, "line " + std::to_string(line_number_) + ": " + id.error().message);
    }
    if (!*id) {
      continue;
    }
    if (first_id_line_ && match_ == WhitelistMatch::Id) {
      first_id_line_ = false;
      if (is_header(**id)) {
        continue;
      }
    }
    return id;
  }
}

} // namespace mds::server
