#include "server/storage/storage.hpp"

namespace mds::server {

const char *to_string(Platform platform) {
  return platform == Platform::Android ? "android" : "ios";
}

std::optional<Platform> platform_from_string(std::string_view name) {
  if (name == "android") {
    return Platform::Android;
  }
  if (name == "ios") {
    return Platform::Ios;
  }
  return std::nullopt;
}

const char *to_string(WhitelistType type) {
  return type == WhitelistType::User ? "user" : "device";
}

std::optional<WhitelistType> whitelist_type_from_string(std::string_view name) {
  if (name == "user") {
    return WhitelistType::User;
  }
  if (name == "device") {
    return WhitelistType::Device;
  }
  return std::nullopt;
}

const char *to_string(WhitelistMatch match) {
  return match == WhitelistMatch::Id ? "id" : "regex";
}

std::optional<WhitelistMatch> whitelist_match_from_string(std::string_view name) {
  if (name == "id") {
    return WhitelistMatch::Id;
  }
  if (name == "regex") {
    return WhitelistMatch::Regex;
  }
  return std::nullopt;
}

const char *to_string(ReleaseKind kind) {
  return kind == ReleaseKind::Package ? "package" : "config";
}

} // namespace mds::server
