#include "server/targeting/device.hpp"

#include "core/version/version.hpp"

#include <cmath>

namespace mds::server::targeting {
namespace {

using core::json::ObjectReader;
using core::json::Value;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

// SDK and attribute names: what a filter can name after "sdk." or "attr.".
Status check_entry_name(const std::string &where, std::string_view name) {
  bool valid = !name.empty() && name.size() <= 64;
  for (char c : name) {
    valid = valid && is_name_char(c);
  }
  if (!valid) {
    return make_error(ErrorCode::JsonValueOutOfRange,
                      where + " has the name \"" + std::string(name) + "\": use 1 to 64 of A-Z a-z 0-9 _ - .");
  }
  return {};
}

Status check_text(const std::string &where, std::string_view text, bool allow_empty = false) {
  if ((text.empty() && !allow_empty) || text.size() > kMaxDeviceText) {
    return make_error(ErrorCode::JsonValueOutOfRange,
                      where + " must be 1 to " + std::to_string(kMaxDeviceText) + " bytes");
  }
  return {};
}

Result<std::optional<std::string>> optional_text(const ObjectReader &object, std::string_view key) {
  auto value = object.optional_string(key);
  if (!value) {
    return value.error();
  }
  if (*value) {
    if (auto valid = check_text(object.where() + "." + std::string(key), **value); !valid) {
      return valid.error();
    }
  }
  return value;
}

Result<std::string> required_text(const ObjectReader &object, std::string_view key) {
  auto value = object.string(key);
  if (!value) {
    return value.error();
  }
  if (auto valid = check_text(object.where() + "." + std::string(key), *value); !valid) {
    return valid.error();
  }
  return value;
}

// Versions are read once, here, into Device::versions, which version filters compare with.
Result<core::Version> read_version(const std::string &where, std::string_view text) {
  auto version = core::Version::parse(text);
  if (!version) {
    return make_error(ErrorCode::VersionInvalid, where + ": " + version.error().message);
  }
  return version;
}

Status read_sdks(const Value &value, Device &device) {
  if (!value.IsObject()) {
    return make_error(ErrorCode::JsonWrongType, "check.sdks must be an object of SDK name: version");
  }
  if (value.MemberCount() > kMaxDeviceEntries) {
    return make_error(ErrorCode::JsonValueOutOfRange,
                      "check.sdks names more than " + std::to_string(kMaxDeviceEntries) + " SDKs");
  }
  for (const auto &member : value.GetObject()) {
    const std::string name(core::json::view(member.name));
    const std::string where = "check.sdks." + name;
    if (auto valid = check_entry_name("check.sdks", name); !valid) {
      return valid;
    }
    if (!member.value.IsString()) {
      return make_error(ErrorCode::JsonWrongType, where + " must be a string");
    }
    std::string version(core::json::view(member.value));
    auto parsed = read_version(where, version);
    if (!parsed) {
      return parsed.error();
    }
    device.versions.emplace("sdk." + name, std::move(parsed.value()));
    device.sdks.emplace(name, std::move(version));
  }
  return {};
}

Status read_attributes(const Value &value, Device &device) {
  if (!value.IsObject()) {
    return make_error(ErrorCode::JsonWrongType, "check.attributes must be an object");
  }
  if (value.MemberCount() > kMaxDeviceEntries) {
    return make_error(ErrorCode::JsonValueOutOfRange,
                      "check.attributes has more than " + std::to_string(kMaxDeviceEntries) + " members");
  }
  for (const auto &member : value.GetObject()) {
    const std::string name(core::json::view(member.name));
    const std::string where = "check.attributes." + name;
    if (auto valid = check_entry_name("check.attributes", name); !valid) {
      return valid;
    }
    std::string text;
    if (member.value.IsString()) {
      text = std::string(core::json::view(member.value));
      if (auto valid = check_text(where, text, true); !valid) {
        return valid;
      }
    } else if (member.value.IsBool()) {
      text = member.value.GetBool() ? "true" : "false";
    } else if (member.value.IsNumber()) {
      text = core::json::serialize(member.value);
    } else {
      return make_error(ErrorCode::JsonWrongType, where + " must be a string, a number or a boolean");
    }
    device.attributes.emplace(name, std::move(text));
  }
  return {};
}

Status read_device_object(const Value &value, Device &device) {
  auto object = ObjectReader::of(value, "check.device");
  if (!object) {
    return object.error();
  }
  if (auto allowed = object->allow_only(
          {"id", "user_id", "model", "brand", "os_version", "network", "region", "city", "language", "channel"});
      !allowed) {
    return allowed;
  }
  auto id = required_text(*object, "id");
  if (!id) {
    return id.error();
  }
  device.device_id = std::move(id.value());
  for (const auto &[key, target] : {
           std::pair<const char *, std::optional<std::string> *>{"user_id", &device.user_id},
           {"model", &device.model},
           {"brand", &device.brand},
           {"os_version", &device.os_version},
           {"network", &device.network},
           {"region", &device.region},
           {"city", &device.city},
           {"language", &device.language},
           {"channel", &device.channel},
       }) {
    auto text = optional_text(*object, key);
    if (!text) {
      return text.error();
    }
    *target = std::move(text.value());
  }
  return {};
}

} // namespace

std::optional<std::string_view> Device::field(std::string_view name) const {
  auto present = [](const std::optional<std::string> &value) -> std::optional<std::string_view> {
    if (!value) {
      return std::nullopt;
    }
    return std::string_view(*value);
  };
  if (name == "platform") {
    return std::string_view(platform);
  }
  if (name == "app_version") {
    return std::string_view(app_version);
  }
  if (name == "device_id") {
    return std::string_view(device_id);
  }
  const std::pair<std::string_view, const std::optional<std::string> *> optional_fields[] = {
      {"user_id", &user_id}, {"model", &model},   {"brand", &brand}, {"os_version", &os_version},
      {"network", &network}, {"region", &region}, {"city", &city},   {"language", &language},
      {"channel", &channel},
  };
  for (const auto &[known, value] : optional_fields) {
    if (name == known) {
      return present(*value);
    }
  }
  for (const auto &[prefix, map] : {std::pair<std::string_view, const decltype(sdks) *>{"sdk.", &sdks},
                                    std::pair<std::string_view, const decltype(sdks) *>{"attr.", &attributes}}) {
    if (name.substr(0, prefix.size()) == prefix) {
      const auto found = map->find(name.substr(prefix.size()));
      if (found == map->end()) {
        return std::nullopt;
      }
      return std::string_view(found->second);
    }
  }
  return std::nullopt;
}

Result<Device> parse_device(const core::json::Value &request) {
  auto object = ObjectReader::of(request, "check");
  if (!object) {
    return object.error();
  }
  if (auto allowed = object->allow_only(
          {"app", "platform", "app_version", "sdks", "device", "attributes", "installed", "config_revision"});
      !allowed) {
    return allowed.error();
  }
  Device device;
  auto app = required_text(*object, "app");
  if (!app) {
    return app.error();
  }
  device.app = std::move(app.value());
  auto platform = object->string("platform");
  if (!platform) {
    return platform.error();
  }
  if (*platform != "android" && *platform != "ios") {
    return make_error(ErrorCode::JsonValueOutOfRange, "check.platform must be android or ios");
  }
  device.platform = std::move(platform.value());
  auto app_version = required_text(*object, "app_version");
  if (!app_version) {
    return app_version.error();
  }
  auto parsed_app_version = read_version("check.app_version", *app_version);
  if (!parsed_app_version) {
    return parsed_app_version.error();
  }
  device.versions.emplace("app_version", std::move(parsed_app_version.value()));
  device.app_version = std::move(app_version.value());
  const auto *device_object = object->find("device");
  if (device_object == nullptr) {
    return make_error(ErrorCode::JsonMissingField, "check.device is required");
  }
  if (auto read = read_device_object(*device_object, device); !read) {
    return read.error();
  }
  if (const auto *sdks = object->find("sdks"); sdks != nullptr && !sdks->IsNull()) {
    if (auto read = read_sdks(*sdks, device); !read) {
      return read.error();
    }
  }
  if (const auto *attributes = object->find("attributes"); attributes != nullptr && !attributes->IsNull()) {
    if (auto read = read_attributes(*attributes, device); !read) {
      return read.error();
    }
  }
  if (const auto *revision = object->find("config_revision"); revision != nullptr && !revision->IsUint64()) {
    return make_error(ErrorCode::JsonWrongType, "check.config_revision must be a non-negative integer");
  }
  // os_version is kept as text whatever it holds; read as a version when it is one.
  if (device.os_version) {
    if (auto version = core::Version::parse(*device.os_version)) {
      device.versions.emplace("os_version", std::move(version.value()));
    }
  }
  return device;
}

} // namespace mds::server::targeting
