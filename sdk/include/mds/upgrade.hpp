// App upgrades offered by the server, as the host app sees them.
//
// The server decides which upgrade a device is offered; the SDK keeps, per offered
// version, when the user was last prompted, and answers "should the host prompt now"
// from the upgrade's mode:
//
//   single      prompt once, then again every `remind_days` days (default 3) until the
//               user upgrades
//   every_time  prompt on every sync that offers it (every app launch in practice)
//   force       prompt always; the host should not let the user dismiss it
//   silent      never prompt; the host may download in the background
//
// Thread-safety: value types; copies are independent.
#ifndef MDS_UPGRADE_HPP
#define MDS_UPGRADE_HPP

#include <mds/export.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mds {

enum class UpgradeMode : std::uint8_t {
  Single = 0,
  EveryTime = 1,
  Force = 2,
  Silent = 3,
};

// "single", "every_time", "force", "silent": the names on the wire.
MDS_API const char *to_string(UpgradeMode mode) noexcept;
// The inverse of to_string; nullopt for any other text.
MDS_API std::optional<UpgradeMode> upgrade_mode_from_string(std::string_view name) noexcept;

// One upgrade the server offers this device.
struct UpgradeInfo {
  std::string release; // the server's release id, for events
  std::string package; // the upgrade package id
  std::string version; // the version offered, dotted numeric ("10.3.0")
  UpgradeMode mode = UpgradeMode::Single;
  std::uint32_t remind_days = 3; // for UpgradeMode::Single
  std::string notes;             // release notes as the operator wrote them
  std::uint64_t size = 0;        // bytes of the full download
  std::string sha256;            // lower-case hex of the full download
  std::string download_url;      // absolute URL of the full download
  // True when the host should show its upgrade prompt now. The SDK records the prompt
  // once the host calls Client::upgrade_prompt_shown().
  bool should_prompt = false;
};

} // namespace mds

#endif
