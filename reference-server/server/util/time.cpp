#include "server/util/time.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace mds::server {
namespace {

bool read_digits(std::string_view text, std::size_t pos, std::size_t count, int &out) {
  if (pos + count > text.size()) {
    return false;
  }
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return false;
    }
    value = value * 10 + (text[i] - '0');
  }
  out = value;
  return true;
}

bool is_leap(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

} // namespace

std::int64_t unix_now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string format_utc(std::int64_t unix_seconds) {
  const auto seconds = static_cast<std::time_t>(unix_seconds);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

std::string format_utc_now_millis() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
  const auto seconds = static_cast<std::time_t>(millis / 1000);
  // Every log line asks: the date and time of the current second are formatted once per
  // second and thread, the milliseconds each time.
  thread_local std::time_t formatted_second = -1;
  thread_local char text[40];
  thread_local std::size_t length = 0;
  if (seconds != formatted_second) {
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    length = std::strftime(text, sizeof text - 6, "%Y-%m-%dT%H:%M:%S", &parts);
    formatted_second = seconds;
  }
  const auto milli = static_cast<int>(millis % 1000);
  std::string result(text, length);
  result += '.';
  result += static_cast<char>('0' + milli / 100);
  result += static_cast<char>('0' + milli / 10 % 10);
  result += static_cast<char>('0' + milli % 10);
  result += 'Z';
  return result;
}

Result<std::int64_t> parse_utc(std::string_view text) {
  auto invalid = [&] {
    return make_error(ErrorCode::InvalidArgument,
                      "not an ISO 8601 UTC time (YYYY-MM-DDTHH:MM:SSZ): \"" + std::string(text) + "\"");
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (text.size() < 20 || !read_digits(text, 0, 4, year) || text[4] != '-' || !read_digits(text, 5, 2, month) ||
      text[7] != '-' || !read_digits(text, 8, 2, day) || text[10] != 'T' || !read_digits(text, 11, 2, hour) ||
      text[13] != ':' || !read_digits(text, 14, 2, minute) || text[16] != ':' || !read_digits(text, 17, 2, second)) {
    return invalid();
  }
  if (text.size() != 20 || text[19] != 'Z') {
    return invalid();
  }
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
      minute > 59 || second > 59) {
    return invalid();
  }
  std::tm parts{};
  parts.tm_year = year - 1900;
  parts.tm_mon = month - 1;
  parts.tm_mday = day;
  parts.tm_hour = hour;
  parts.tm_min = minute;
  parts.tm_sec = second;
  return static_cast<std::int64_t>(timegm(&parts));
}

} // namespace mds::server
