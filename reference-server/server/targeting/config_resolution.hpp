// The configuration one device sees: the app's default values, overridden key by key by
// every config release the device is eligible for, in release id order (a later release
// wins a key). /v1/admin/simulate shows it with each value's source; /v1/check sends it.
#ifndef MDS_SERVER_TARGETING_CONFIG_RESOLUTION_HPP
#define MDS_SERVER_TARGETING_CONFIG_RESOLUTION_HPP

#include "server/storage/storage.hpp"

#include <map>
#include <string>

namespace mds::server::targeting {

struct ResolvedValue {
  std::string json;   // the value as the server stored it (compact JSON)
  std::string source; // "default" or "release/<id>"
};

using ResolvedConfig = std::map<std::string, ResolvedValue>;

// The defaults alone.
ResolvedConfig config_defaults(const ConfigValues &values);

// Applies an eligible config release's values over `config`. StorageCorrupt when its
// stored config is not a JSON object. Releases of another kind change nothing.
Status overlay_config_release(const Release &release, ResolvedConfig &config);

} // namespace mds::server::targeting

#endif
