#include "server/targeting/config_resolution.hpp"

#include "server/targeting/evaluate.hpp"
#include "server/targeting/release_targeting.hpp"

#include "core/json/json.hpp"

namespace mds::server::targeting {

std::string variants_to_json(const std::vector<ConfigVariant> &variants) {
  std::string json = "[";
  for (const auto &variant : variants) {
    if (json.size() > 1) {
      json += ',';
    }
    json += R"({"when":)";
    json += filters_to_json(variant.when);
    json += R"(,"value":)";
    json += variant.value_json;
    json += '}';
  }
  json += ']';
  return json;
}

Result<std::vector<ConfigVariant>> variants_from_json(std::string_view json) {
  auto document = core::json::parse(json);
  if (!document || !document->root().IsArray()) {
    return make_error(ErrorCode::StorageCorrupt, "stored config variants are not a JSON array");
  }
  std::vector<ConfigVariant> variants;
  for (const auto &item : document->root().GetArray()) {
    if (!item.IsObject() || !item.HasMember("when") || !item.HasMember("value")) {
      return make_error(ErrorCode::StorageCorrupt, "a stored config variant lacks \"when\" or \"value\"");
    }
    auto when = filters_from_json(core::json::serialize(item["when"]));
    if (!when) {
      return when.error();
    }
    variants.push_back({std::move(when.value()), core::json::serialize(item["value"])});
  }
  return variants;
}

Result<AppConfig> prepare_config(const ConfigValues &values) {
  AppConfig config;
  config.revision = values.revision;
  config.keys.reserve(values.values.size());
  for (const auto &value : values.values) {
    auto variants = variants_from_json(value.variants_json);
    if (!variants) {
      return make_error(variants.code(), "config key " + value.key + ": " + variants.error().message);
    }
    config.keys.push_back({value.key, value.value_json, std::move(variants.value())});
  }
  return config;
}

Result<ConfigOverlay> config_overlay_of(const Release &release) {
  auto document = core::json::parse(release.config_json);
  if (!document || !document->root().IsObject()) {
    return make_error(ErrorCode::StorageCorrupt, "release " + std::to_string(release.id) + " has unreadable config");
  }
  ConfigOverlay overlay;
  overlay.release_id = release.id;
  for (const auto &member : document->root().GetObject()) {
    overlay.values.emplace_back(std::string(core::json::view(member.name)), core::json::serialize(member.value));
  }
  return overlay;
}

std::ptrdiff_t matching_variant(const KeyTargeting &key, const Device &device) {
  for (std::size_t index = 0; index < key.variants.size(); ++index) {
    bool all_hold = true;
    for (const auto &filter : key.variants[index].when) {
      if (!filter_holds(filter, device)) {
        all_hold = false;
        break;
      }
    }
    if (all_hold) {
      return static_cast<std::ptrdiff_t>(index);
    }
  }
  return -1;
}

ResolvedConfig resolve_config(const AppConfig &config, const Device &device,
                              const std::vector<const ConfigOverlay *> &eligible) {
  ResolvedConfig resolved;
  for (const auto &key : config.keys) {
    const auto variant = matching_variant(key, device);
    if (variant < 0) {
      resolved[key.key] = {key.default_json, "default"};
    } else {
      resolved[key.key] = {key.variants[static_cast<std::size_t>(variant)].value_json,
                           "variant/" + key.key + "/" + std::to_string(variant)};
    }
  }
  for (const auto *overlay : eligible) {
    const std::string source = "release/" + std::to_string(overlay->release_id);
    for (const auto &[key, json] : overlay->values) {
      resolved[key] = {json, source};
    }
  }
  return resolved;
}

} // namespace mds::server::targeting
