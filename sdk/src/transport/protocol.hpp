// The client side of docs/protocol.md "Client API", as pure functions: requests are built
// from values, answers are parsed strictly into values. No I/O here; http.hpp moves the
// bytes.
#ifndef MDS_SRC_TRANSPORT_PROTOCOL_HPP
#define MDS_SRC_TRANSPORT_PROTOCOL_HPP

#include <mds/client.hpp>
#include <mds/error.hpp>
#include <mds/upgrade.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mds::transport {

// What the device has installed, as the check request reports it.
struct InstalledHotpatch {
  std::string id;
  std::string version;
  std::string state;
};

struct CheckInput {
  std::string device_id;
  std::map<std::string, std::string> offline; // package -> version
  std::optional<InstalledHotpatch> hotpatch;
  std::optional<std::string> upgrade; // a downloaded, not yet installed upgrade version
  std::int64_t config_revision = 0;
};

// The body of POST /v1/check. Empty optional fields of `options` are left out.
std::string build_check_request(const ClientOptions &options, const CheckInput &input);

struct Download {
  std::string kind;                // "full" or "delta"
  std::optional<std::string> base; // delta only
  std::string url;
  std::uint64_t size = 0;
  std::string sha256;
};

struct PackageOffer {
  std::string release;
  std::string package;
  std::string version;
  std::optional<std::string> group;
  std::string envelope;
  std::vector<Download> downloads;
};

struct UpgradeOffer {
  PackageOffer package;
  UpgradeMode mode = UpgradeMode::Single;
  std::uint32_t remind_days = 3;
  std::string notes;
};

struct HotpatchOffer {
  std::string action; // "install" or "rollback"
  PackageOffer package;
};

struct ConfigUpdate {
  std::int64_t revision = 0;
  std::map<std::string, std::string> values; // key -> compact JSON text
};

struct CheckAnswer {
  std::optional<std::uint32_t> poll_interval_seconds;
  std::optional<UpgradeOffer> upgrade;
  std::vector<PackageOffer> offline;
  std::optional<HotpatchOffer> hotpatch;
  std::optional<ConfigUpdate> config;
};

// Limits applied to answers.
inline constexpr std::uint32_t kMaxPollIntervalSeconds = 7 * 24 * 3600;
inline constexpr std::size_t kMaxConfigKeys = 10000;

// Parses a 200 answer of /v1/check. Unknown top-level fields, duplicate keys, wrong
// types, malformed hashes and unknown enumeration values are refused with their own codes.
Result<CheckAnswer> parse_check_answer(std::string_view body, std::size_t max_bytes);

// The server's error body {"error": {"code", "name", "message"}} as one line for messages;
// the raw (shortened) body when it is not one.
std::string describe_error_body(std::string_view body);

// One event as it is queued and sent.
struct Event {
  std::string id; // uuid
  std::string type;
  std::string time; // ISO 8601 UTC
  std::string release;
  std::string package;
  std::string version;
  std::optional<std::uint32_t> code;
  std::string detail;
};

// The event as a compact JSON object (empty fields left out).
std::string event_json(const Event &event);

// The body of POST /v1/events around already serialised event objects (at most 100).
std::string build_events_request(std::string_view app, std::string_view device_id,
                                 const std::vector<std::string> &event_objects);

// The ids of {"accepted": [...]}.
Result<std::vector<std::string>> parse_events_answer(std::string_view body, std::size_t max_bytes);

inline constexpr std::size_t kMaxEventsPerRequest = 100;

// The largest request body the server reads (docs/protocol.md "Client API": 64 KiB).
inline constexpr std::size_t kMaxRequestBytes = 64u << 10;

// A random version 4 UUID, lower-case.
std::string random_uuid();

// "2026-11-22T10:00:00Z".
std::string iso8601_utc(std::chrono::system_clock::time_point time);

// Retry-After as seconds: delta-seconds, or an HTTP date (then relative to `now`). Nullopt
// for anything else. Capped at one day.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

// The URL for `path` on `server_url`: absolute URLs pass, "/v1/..." is joined.
std::string resolve_url(std::string_view server_url, std::string_view path);

} // namespace mds::transport

#endif
