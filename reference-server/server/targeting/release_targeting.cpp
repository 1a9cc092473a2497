#include "server/targeting/release_targeting.hpp"

#include "core/json/json.hpp"

namespace mds::server::targeting {

Result<std::vector<Filter>> filters_from_json(std::string_view json) {
  auto document = core::json::parse(json);
  if (!document) {
    return make_error(ErrorCode::StorageCorrupt, "stored filters: " + document.error().message);
  }
  const auto &root = document->root();
  if (!root.IsArray()) {
    return make_error(ErrorCode::StorageCorrupt, "stored filters are not an array");
  }
  std::vector<Filter> filters;
  for (const auto &item : root.GetArray()) {
    if (!item.IsObject() || !item.HasMember("expression") || !item["expression"].IsString()) {
      return make_error(ErrorCode::StorageCorrupt, "a stored filter has no expression");
    }
    auto filter = parse_filter(core::json::view(item["expression"]));
    if (!filter) {
      return make_error(ErrorCode::StorageCorrupt, "stored filter: " + filter.error().message);
    }
    filters.push_back(std::move(filter.value()));
  }
  return filters;
}

Result<Targeting> targeting_of(const Release &release, Storage &storage) {
  Targeting targeting;
  targeting.release_id = release.id;
  targeting.stage = release.progress.stage;
  targeting.whitelists = release.whitelists;
  targeting.percent_bp = release.progress.percent_bp;
  targeting.salt = release.salt;
  targeting.window = release.window;
  auto own = filters_from_json(release.filters_json);
  if (!own) {
    return own.error();
  }
  targeting.filter_sets.push_back({"release", std::move(own.value())});
  for (const auto &name : release.rules) {
    auto rule = storage.get_rule(name);
    if (!rule) {
      return rule.error();
    }
    auto filters = filters_from_json(rule->filters_json);
    if (!filters) {
      return filters.error();
    }
    targeting.filter_sets.push_back({"rule:" + name, std::move(filters.value())});
  }
  return targeting;
}

Result<bool> StorageWhitelists::contains(std::string_view list, const Device &device) {
  auto known = types_.find(list);
  if (known == types_.end()) {
    auto whitelist = storage_.get_whitelist(list, 0);
    if (!whitelist) {
      return whitelist.error();
    }
    known = types_.emplace(std::string(list), whitelist->whitelist.type).first;
  }
  if (known->second == WhitelistType::User) {
    if (!device.user_id) {
      return false;
    }
    return storage_.whitelist_contains(list, *device.user_id);
  }
  return storage_.whitelist_contains(list, device.device_id);
}

Result<WindowAnswer> StorageWindows::admit(std::int64_t release_id, const TimeWindow &window,
                                           std::string_view device_id, bool open, WindowMode mode) {
  if (mode == WindowMode::Admit) {
    return storage_.admit_to_window(release_id, device_id, window.cap, open);
  }
  return storage_.peek_window(release_id, device_id, window.cap, open);
}

Result<Decision> ReleaseDecider::decide(const Release &release, const Device &device, std::int64_t now,
                                        WindowMode mode) {
  auto targeting = targeting_of(release, storage_);
  if (!targeting) {
    return targeting.error();
  }
  return evaluate(*targeting, device, whitelists_, windows_, now, mode);
}

Result<AppInputs> load_app_inputs(Storage &storage, const std::string &app) {
  if (auto found = storage.get_app(app); !found) {
    return found.error();
  }
  auto releases = storage.list_releases(app);
  if (!releases) {
    return std::move(releases).error();
  }
  auto config = storage.list_config_values(app);
  if (!config) {
    return std::move(config).error();
  }
  return AppInputs{std::move(*releases), std::move(*config)};
}

} // namespace mds::server::targeting
