#include "server/targeting/config_resolution.hpp"

#include "core/json/json.hpp"

namespace mds::server::targeting {

ResolvedConfig config_defaults(const ConfigValues &values) {
  ResolvedConfig config;
  for (const auto &value : values.values) {
    config[value.key] = {value.value_json, "default"};
  }
  return config;
}

Status overlay_config_release(const Release &release, ResolvedConfig &config) {
  if (release.kind != ReleaseKind::Config) {
    return {};
  }
  auto document = core::json::parse(release.config_json);
  if (!document || !document->root().IsObject()) {
    return make_error(ErrorCode::StorageCorrupt, "release " + std::to_string(release.id) + " has unreadable config");
  }
  const std::string source = "release/" + std::to_string(release.id);
  for (const auto &member : document->root().GetObject()) {
    config[std::string(core::json::view(member.name))] = {core::json::serialize(member.value), source};
  }
  return {};
}

} // namespace mds::server::targeting
