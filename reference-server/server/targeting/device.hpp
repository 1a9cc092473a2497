// A device as it describes itself in POST /v1/check (docs/protocol.md, Client API): what
// the targeting engine evaluates filters against and buckets by.
//
// Parsing is strict: unknown fields are refused at the top level and inside "device", a
// wrong type is json_wrong_type, app_version and every SDK version must be versions that
// core::Version::parse reads (version_invalid otherwise). os_version is kept as text: some
// vendors write things core/version refuses; a version filter on such a value fails, as
// on an absent one.
//
// Custom attributes are strings, numbers or booleans; numbers and booleans are kept as
// their JSON text ("18", "2.5", "true"), which the numeric operators read back.
#ifndef MDS_SERVER_TARGETING_DEVICE_HPP
#define MDS_SERVER_TARGETING_DEVICE_HPP

#include "core/json/json.hpp"
#include "core/version/version.hpp"

#include <mds/error.hpp>

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mds::server::targeting {

inline constexpr std::size_t kMaxDeviceText = 256;   // every string the device sends
inline constexpr std::size_t kMaxDeviceEntries = 64; // SDKs, attributes

struct Device {
  std::string app;
  std::string platform; // "android" or "ios"
  std::string app_version;
  std::map<std::string, std::string, std::less<>> sdks; // SDK name -> version
  std::string device_id;
  std::optional<std::string> user_id;
  std::optional<std::string> model;
  std::optional<std::string> brand;
  std::optional<std::string> os_version;
  std::optional<std::string> network;
  std::optional<std::string> region;
  std::optional<std::string> city;
  std::optional<std::string> language;
  std::optional<std::string> channel;
  std::map<std::string, std::string, std::less<>> attributes;
  // app_version, os_version (when it reads as one) and every SDK version, parsed once by
  // parse_device, by filter field name ("app_version", "os_version", "sdk.NAME"): version
  // filters compare against these instead of parsing the text for every release.
  std::map<std::string, core::Version, std::less<>> versions;

  // The value of a filter field ("brand", "sdk.payment", "attr.tier"), or nullopt when
  // the device did not send it.
  std::optional<std::string_view> field(std::string_view name) const;
};

// The device description of a /v1/check request object. The other members of the request
// ("installed", "config_revision") are accepted and left to the check itself.
Result<Device> parse_device(const core::json::Value &request);

} // namespace mds::server::targeting

#endif
