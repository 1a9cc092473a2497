// Wall-clock time as the server stores it (Unix seconds) and shows it (ISO 8601, UTC).
#ifndef MDS_SERVER_UTIL_TIME_HPP
#define MDS_SERVER_UTIL_TIME_HPP

#include <mds/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace mds::server {

std::int64_t unix_now_seconds();

// "2026-11-22T19:04:30Z".
std::string format_utc(std::int64_t unix_seconds);

// "2026-11-22T19:04:30.123Z": for log lines, where ordering within a second matters.
std::string format_utc_now_millis();

// Accepts "YYYY-MM-DDTHH:MM:SSZ" and nothing else (docs/protocol.md, Conventions): no
// fractions of a second, no offset other than Z, so every instant has one spelling.
Result<std::int64_t> parse_utc(std::string_view text);

} // namespace mds::server

#endif
