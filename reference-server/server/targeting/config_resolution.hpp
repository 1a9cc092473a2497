// The configuration one device sees, resolved in this one place for /v1/check and
// /v1/admin/simulate (docs/protocol-admin.md, "Targeted config values"):
//
//   1. each key starts from its first variant whose filters all hold for the device
//      (the version matrix is variants on app_version and sdk.NAME ranges), or from its
//      default when no variant holds;
//   2. every config release the device is eligible for then overrides the keys it names,
//      in release id order (a later release wins a key).
//
// Each resolved value says where it came from: "default", "variant/KEY/INDEX" (0-based
// index in the key's variants) or "release/ID".
#ifndef MDS_SERVER_TARGETING_CONFIG_RESOLUTION_HPP
#define MDS_SERVER_TARGETING_CONFIG_RESOLUTION_HPP

#include "server/storage/storage.hpp"
#include "server/targeting/device.hpp"
#include "server/targeting/evaluate.hpp"
#include "server/targeting/filter_expression.hpp"

#include "core/json/json.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mds::server::targeting {

inline constexpr std::size_t kMaxConfigVariants = 100;
inline constexpr std::size_t kMaxVariantFilters = 32;

// One targeted value of a key: `value_json` when every filter of `when` holds.
struct ConfigVariant {
  std::vector<Filter> when;
  std::string value_json; // compact JSON
  // Optional, parallel to `when`: each filter's number for FilterVerdicts, given by
  // load_app_inputs with the releases' filters, so a filter that many variants and
  // releases share is evaluated once per device.
  std::vector<std::uint32_t> when_numbers;
};

// A key as resolution needs it: its default and its variants, filters parsed.
struct KeyTargeting {
  std::string key;
  std::string default_json;
  std::vector<ConfigVariant> variants;
};

struct AppConfig {
  std::int64_t revision = 0;
  std::vector<KeyTargeting> keys;
};

// A config release's values, read once: key -> compact JSON.
struct ConfigOverlay {
  std::int64_t release_id = 0;
  std::vector<std::pair<std::string, std::string>> values;
};

// The stored form of variants (ConfigValue::variants_json and the admin API's answer):
// [{"when": [parsed filter, as filters_to_json writes it], "value": any}, ...].
std::string variants_to_json(const std::vector<ConfigVariant> &variants);
// StorageCorrupt when the stored text does not read back.
Result<std::vector<ConfigVariant>> variants_from_json(std::string_view json);

// The app's stored config with every key's variants parsed.
Result<AppConfig> prepare_config(const ConfigValues &values);

// A config release's values; StorageCorrupt when its stored config is not a JSON object.
Result<ConfigOverlay> config_overlay_of(const Release &release);

// Where a resolved value comes from.
struct ValueSource {
  enum class Kind { Default, Variant, Release } kind = Kind::Default;
  std::int64_t number = 0; // the variant's index or the release's id

  // "default", "variant/KEY/INDEX" or "release/ID".
  std::string name(std::string_view key) const;
};

// A resolved value points into the AppConfig and ConfigOverlays it was resolved from,
// which must outlive it: resolution runs on every check and copies nothing.
struct ResolvedValue {
  std::string_view key;
  std::string_view json; // compact JSON
  ValueSource source;
};

// Sorted by key.
using ResolvedConfig = std::vector<ResolvedValue>;

// The index of the first variant whose filters all hold, or -1 for the default.
// `verdicts` (may be null) answers the filters the variants number.
std::ptrdiff_t matching_variant(const KeyTargeting &key, const Device &device, FilterVerdicts *verdicts = nullptr);

// Steps 1 and 2 above. `eligible` are the overlays of the config releases the device is
// eligible for, in release id order.
ResolvedConfig resolve_config(const AppConfig &config, const Device &device,
                              const std::vector<const ConfigOverlay *> &eligible, FilterVerdicts *verdicts = nullptr);

// The values as one JSON object, key by key: what /v1/check and simulate both send as
// "values".
void write_values(core::json::Writer &writer, const ResolvedConfig &values);

} // namespace mds::server::targeting

#endif
