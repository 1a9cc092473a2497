#include "server/targeting/config_resolution.hpp"

#include "server/targeting/evaluate.hpp"
#include "server/targeting/release_targeting.hpp"

#include "core/json/json.hpp"

#include <algorithm>

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
    variants.push_back({std::move(when.value()), core::json::serialize(item["value"]), {}});
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

std::ptrdiff_t matching_variant(const KeyTargeting &key, const Device &device, FilterVerdicts *verdicts) {
  for (std::size_t index = 0; index < key.variants.size(); ++index) {
    const auto &variant = key.variants[index];
    const bool numbered = verdicts != nullptr && variant.when_numbers.size() == variant.when.size();
    bool all_hold = true;
    for (std::size_t f = 0; f < variant.when.size(); ++f) {
      const auto &filter = variant.when[f];
      if (!(numbered ? verdicts->holds(variant.when_numbers[f], filter, device) : filter_holds(filter, device))) {
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

std::string ValueSource::name(std::string_view key) const {
  switch (kind) {
  case Kind::Variant:
    return "variant/" + std::string(key) + "/" + std::to_string(number);
  case Kind::Release:
    return "release/" + std::to_string(number);
  case Kind::Default:
    break;
  }
  return "default";
}

ResolvedConfig resolve_config(const AppConfig &config, const Device &device,
                              const std::vector<const ConfigOverlay *> &eligible, FilterVerdicts *verdicts) {
  ResolvedConfig resolved;
  resolved.reserve(config.keys.size());
  for (const auto &key : config.keys) {
    const auto variant = matching_variant(key, device, verdicts);
    if (variant < 0) {
      resolved.push_back({key.key, key.default_json, {}});
    } else {
      resolved.push_back({key.key,
                          key.variants[static_cast<std::size_t>(variant)].value_json,
                          {ValueSource::Kind::Variant, static_cast<std::int64_t>(variant)}});
    }
  }
  // Storage lists keys in order; sorting again costs nothing then and keeps the lookups
  // below right whatever the order.
  auto by_key = [](const ResolvedValue &a, const ResolvedValue &b) { return a.key < b.key; };
  if (!std::is_sorted(resolved.begin(), resolved.end(), by_key)) {
    std::sort(resolved.begin(), resolved.end(), by_key);
  }
  for (const auto *overlay : eligible) {
    const ValueSource source{ValueSource::Kind::Release, overlay->release_id};
    for (const auto &[key, json] : overlay->values) {
      ResolvedValue value{key, json, source};
      auto at = std::lower_bound(resolved.begin(), resolved.end(), value, by_key);
      if (at != resolved.end() && at->key == value.key) {
        *at = value;
      } else {
        resolved.insert(at, value); // a key the release brings without a default
      }
    }
  }
  return resolved;
}

void write_values(core::json::Writer &writer, const ResolvedConfig &values) {
  writer.StartObject();
  for (const auto &value : values) {
    writer.Key(value.key.data(), static_cast<rapidjson::SizeType>(value.key.size()));
    writer.RawValue(value.json.data(), value.json.size(), rapidjson::kObjectType);
  }
  writer.EndObject();
}

} // namespace mds::server::targeting
