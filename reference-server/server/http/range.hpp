// The Range request header (RFC 9110, section 14) for one resource of known size: what a
// blob download answers. An untrusted-input parser: anything it does not read exactly is
// ignored (the whole resource is sent), as the RFC asks of a server.
//
// Read: "bytes=FIRST-LAST", "bytes=FIRST-" and "bytes=-SUFFIX" (one range; the unit is
// case-insensitive, spaces around the range are allowed). Several ranges are answered
// with the whole resource (no multipart answers). Numbers too long for 64 bits saturate,
// so a huge FIRST is unsatisfiable and a huge LAST means the end.
#ifndef MDS_SERVER_HTTP_RANGE_HPP
#define MDS_SERVER_HTTP_RANGE_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mds::server::http {

enum class RangeKind {
  Whole,         // no range, an unreadable one, or several: 200 with everything
  Partial,       // 206 with [first, last]
  Unsatisfiable, // 416 with Content-Range: bytes */size
};

struct RangeAnswer {
  RangeKind kind = RangeKind::Whole;
  std::uint64_t first = 0; // Partial only: inclusive bounds within the resource
  std::uint64_t last = 0;
};

RangeAnswer parse_range(std::string_view header, std::uint64_t size);

// The range the answer sends: `range` unless `if_range` is present and is
// not exactly `etag` (a strong comparison; a date never matches), then Whole.
RangeAnswer apply_if_range(const RangeAnswer &range, const std::optional<std::string> &if_range, std::string_view etag);

} // namespace mds::server::http

#endif
