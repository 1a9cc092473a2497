#include "server/targeting/release_targeting.hpp"

#include "core/json/json.hpp"

#include <algorithm>

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
  targeting.salted.emplace(targeting.salt);
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
  if (&device != answered_for_) {
    answers_.clear();
    answered_for_ = &device;
  }
  if (auto answered = answers_.find(list); answered != answers_.end()) {
    return answered->second;
  }
  std::string asked; // the memo's key: list, device id and user id
  if (memo_ != nullptr) {
    asked.assign(list);
    asked += '\n';
    asked += device.device_id;
    asked += '\n';
    if (device.user_id) {
      asked += *device.user_id;
    }
    if (auto remembered = memo_->on_whitelist(asked)) {
      answers_.emplace(std::string(list), *remembered);
      return *remembered;
    }
  }
  std::optional<WhitelistType> type;
  if (known_ != nullptr) {
    if (auto known = known_->find(list); known != known_->end()) {
      type = known->second;
    }
  }
  if (!type) {
    auto known = types_.find(list);
    if (known == types_.end()) {
      auto whitelist = storage_.get_whitelist(list, 0);
      if (!whitelist) {
        return whitelist.error();
      }
      known = types_.emplace(std::string(list), whitelist->whitelist.type).first;
    }
    type = known->second;
  }
  // One indexed lookup of (list, id), whatever the list's size.
  Result<bool> holds = false;
  if (*type == WhitelistType::User) {
    if (device.user_id) {
      holds = storage_.whitelist_contains(list, *device.user_id);
    }
  } else {
    holds = storage_.whitelist_contains(list, device.device_id);
  }
  if (holds) {
    if (memo_ != nullptr) {
      memo_->remember_whitelist(std::move(asked), *holds);
    }
    answers_.emplace(std::string(list), *holds);
  }
  return holds;
}

Result<WindowAnswer> StorageWindows::admit(std::int64_t release_id, const TimeWindow &window,
                                           std::string_view device_id, bool open, WindowMode mode) {
  if (mode == WindowMode::Admit) {
    if (memo_ != nullptr) {
      if (places_device_ != device_id) {
        places_ = memo_->places_of(device_id);
        places_device_ = std::string(device_id);
      }
      if (std::find(places_.begin(), places_.end(), release_id) != places_.end()) {
        return WindowAnswer{true, true, 0};
      }
    }
    auto answer = storage_.admit_to_window(release_id, device_id, window.cap, open);
    if (answer && answer->admitted && memo_ != nullptr) {
      memo_->remember_place(release_id, device_id);
      places_.push_back(release_id);
    }
    return answer;
  }
  return storage_.peek_window(release_id, device_id, window.cap, open);
}

std::optional<bool> LookupMemo::on_whitelist(const std::string &key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto found = whitelist_answers_.find(key); found != whitelist_answers_.end()) {
    return found->second;
  }
  return std::nullopt;
}

void LookupMemo::remember_whitelist(std::string key, bool holds) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (whitelist_answers_.size() >= kMaxEntries) {
    whitelist_answers_.clear();
  }
  whitelist_answers_.emplace(std::move(key), holds);
}

std::vector<std::int64_t> LookupMemo::places_of(std::string_view device_id) const {
  const std::string key(device_id);
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto found = places_.find(key); found != places_.end()) {
    return found->second;
  }
  return {};
}

void LookupMemo::remember_place(std::int64_t release_id, std::string_view device_id) {
  std::string key(device_id);
  std::lock_guard<std::mutex> lock(mutex_);
  if (place_count_ >= kMaxEntries) {
    places_.clear();
    place_count_ = 0;
  }
  auto &held = places_[std::move(key)];
  if (std::find(held.begin(), held.end(), release_id) == held.end()) {
    held.push_back(release_id);
    ++place_count_;
  }
}

ReleaseDecider::ReleaseDecider(Storage &storage, const AppInputs *inputs)
    : storage_(storage), whitelists_(storage, inputs != nullptr ? &inputs->whitelist_types : nullptr,
                                     inputs != nullptr ? inputs->memo.get() : nullptr),
      windows_(storage, inputs != nullptr ? inputs->memo.get() : nullptr),
      verdicts_(inputs != nullptr ? inputs->distinct_filters : 0) {}

Result<Decision> ReleaseDecider::decide(const Release &release, const Device &device, std::int64_t now,
                                        WindowMode mode) {
  auto targeting = targeting_of(release, storage_);
  if (!targeting) {
    return targeting.error();
  }
  return decide(*targeting, device, now, mode);
}

Result<Decision> ReleaseDecider::decide(const Targeting &targeting, const Device &device, std::int64_t now,
                                        WindowMode mode) {
  return evaluate(targeting, device, whitelists_, windows_, now, mode, &verdicts_);
}

Result<bool> ReleaseDecider::eligible(const AppInputs &inputs, const CheckStep &step, const Device &device,
                                      std::int64_t now, WindowMode mode) {
  for (auto at = step.first_number; at < step.end_number; ++at) {
    const auto number = inputs.check_numbers[at];
    if (!verdicts_.holds(number, *inputs.numbered_filters[number], device)) {
      return false;
    }
  }
  if (auto evaluated = evaluate_doors_into(step.release->targeting, device, whitelists_, windows_, now, mode, scratch_);
      !evaluated) {
    return evaluated.error();
  }
  return scratch_.eligible;
}

Result<AppInputs> load_app_inputs(Storage &storage, const std::string &app) {
  if (auto found = storage.get_app(app); !found) {
    return found.error();
  }
  auto releases = storage.list_releases(app);
  if (!releases) {
    return std::move(releases).error();
  }
  auto values = storage.list_config_values(app);
  if (!values) {
    return std::move(values).error();
  }
  AppInputs inputs;
  auto config = prepare_config(*values);
  if (!config) {
    return std::move(config).error();
  }
  inputs.config = std::move(config.value());
  inputs.releases.reserve(releases->size());
  // Filters numbered by canonical expression (parse(to_expression()) gives the filter
  // back, so equal expressions are equal filters): a rule that 25 releases name, or the
  // same filter written on several releases, is evaluated once per check.
  std::map<std::string, std::uint32_t, std::less<>> filter_numbers;
  for (auto &release : *releases) {
    auto targeting = targeting_of(release, storage);
    if (!targeting) {
      return std::move(targeting).error();
    }
    for (const auto &set : targeting->filter_sets) {
      auto &numbers = targeting->filter_numbers.emplace_back();
      for (const auto &filter : set.filters) {
        const auto number = filter_numbers.emplace(filter.to_expression(), filter_numbers.size()).first->second;
        numbers.push_back(static_cast<std::uint32_t>(number));
      }
    }
    std::optional<ConfigOverlay> overlay;
    if (release.kind == ReleaseKind::Config) {
      auto read = config_overlay_of(release);
      if (!read) {
        return std::move(read).error();
      }
      overlay = std::move(read.value());
    }
    for (const auto &list : release.whitelists) {
      if (inputs.whitelist_types.count(list) != 0) {
        continue;
      }
      // A list deleted after its release ended is left to the lookup, which then fails
      // as it did before this cache existed; only live releases ask.
      if (auto whitelist = storage.get_whitelist(list, 0); whitelist) {
        inputs.whitelist_types.emplace(list, whitelist->whitelist.type);
      }
    }
    if (release.kind == ReleaseKind::Package) {
      std::vector<PackageRef> members = release.group;
      if (members.empty()) {
        members.push_back({release.package_id, release.package_version});
      }
      for (const auto &member : members) {
        auto key = std::make_pair(member.id, member.version);
        if (inputs.packages.count(key) != 0) {
          continue;
        }
        // A release names only published packages; one that cannot be read is left to
        // the offer builder, which reads it again and reports the error.
        if (auto package = storage.get_package(app, member.id, member.version); package) {
          inputs.packages.emplace(std::move(key), std::move(package.value()));
        }
      }
    }
    inputs.releases.push_back({std::move(release), std::move(targeting.value()), std::move(overlay)});
  }
  for (auto &key : inputs.config.keys) {
    for (auto &variant : key.variants) {
      for (const auto &filter : variant.when) {
        const auto number = filter_numbers.emplace(filter.to_expression(), filter_numbers.size()).first->second;
        variant.when_numbers.push_back(static_cast<std::uint32_t>(number));
      }
    }
  }
  inputs.distinct_filters = filter_numbers.size();
  // Built once `releases` is complete: the plan points into it.
  inputs.numbered_filters.resize(inputs.distinct_filters);
  for (const auto &prepared : inputs.releases) {
    const auto &targeting = prepared.targeting;
    const auto stage = targeting.stage;
    const bool live = stage == ReleaseStage::Gray || stage == ReleaseStage::Full;
    CheckStep step;
    step.release = &prepared;
    step.first_number = static_cast<std::uint32_t>(inputs.check_numbers.size());
    for (std::size_t s = 0; s < targeting.filter_sets.size(); ++s) {
      const auto &filters = targeting.filter_sets[s].filters;
      for (std::size_t f = 0; f < filters.size(); ++f) {
        const auto number = targeting.filter_numbers[s][f];
        inputs.numbered_filters[number] = &filters[f];
        if (live) {
          inputs.check_numbers.push_back(number);
        }
      }
    }
    step.end_number = static_cast<std::uint32_t>(inputs.check_numbers.size());
    if (live) {
      inputs.check_plan.push_back(step);
    }
  }
  for (const auto &key : inputs.config.keys) {
    for (const auto &variant : key.variants) {
      for (std::size_t f = 0; f < variant.when.size(); ++f) {
        inputs.numbered_filters[variant.when_numbers[f]] = &variant.when[f];
      }
    }
  }
  return inputs;
}

Result<std::shared_ptr<const AppInputs>> AppInputsCache::get(const std::string &app) {
  // Read before the state: a change that lands while loading leaves the entry tagged
  // with the older count, so the next request loads again.
  const auto change_count = storage_.change_count();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto entry = entries_.find(app); entry != entries_.end() && entry->second.change_count == change_count) {
      return entry->second.inputs;
    }
  }
  auto loaded = load_app_inputs(storage_, app);
  if (!loaded) {
    return std::move(loaded).error();
  }
  auto inputs = std::make_shared<const AppInputs>(std::move(loaded.value()));
  std::lock_guard<std::mutex> lock(mutex_);
  auto &entry = entries_[app];
  if (!entry.inputs || entry.change_count <= change_count) {
    entry = {change_count, inputs};
  }
  return inputs;
}

} // namespace mds::server::targeting
