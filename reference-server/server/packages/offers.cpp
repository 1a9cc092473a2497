#include "server/packages/offers.hpp"

#include "server/packages/delta_bases.hpp"

#include "core/manifest/manifest.hpp"
#include "core/version/version.hpp"

#include <algorithm>

namespace mds::server::packages {
namespace {

Status check_strings(const core::json::Value &value, const std::string &where) {
  if (!value.IsObject()) {
    return make_error(ErrorCode::JsonWrongType, where + " must be an object");
  }
  for (const auto &member : value.GetObject()) {
    if (!member.value.IsString()) {
      return make_error(ErrorCode::JsonWrongType,
                        where + "." + std::string(core::json::view(member.name)) + " must be a string");
    }
  }
  return {};
}

// A candidate is offered only above what the device has. An installed version that does
// not read as a version is no reason to hold an offer back.
bool above_installed(const std::string &candidate, const std::optional<std::string> &installed) {
  if (!installed) {
    return true;
  }
  auto have = core::Version::parse(*installed);
  auto offer = core::Version::parse_dotted(candidate);
  return !have || !offer || *offer > *have;
}

void put(core::json::Writer &writer, const char *key, const std::string &value) {
  writer.Key(key);
  writer.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

void write_download(core::json::Writer &writer, const PackageDownload &download) {
  writer.StartObject();
  put(writer, "kind", download.base_version.empty() ? "full" : "delta");
  if (!download.base_version.empty()) {
    put(writer, "base", download.base_version);
  }
  put(writer, "url", "/v1/blobs/" + download.sha256);
  writer.Key("size");
  writer.Uint64(download.size);
  put(writer, "sha256", download.sha256);
  writer.EndObject();
}

// The members every offer has: release, package, version, group, envelope, downloads.
void write_offer_members(core::json::Writer &writer, const PackageOffer &offer) {
  put(writer, "release", std::to_string(offer.release_id));
  put(writer, "package", offer.package.package_id);
  put(writer, "version", offer.package.version);
  if (offer.grouped) {
    put(writer, "group", std::to_string(offer.release_id));
  }
  put(writer, "envelope", offer.package.envelope);
  writer.Key("downloads");
  writer.StartArray();
  for (const auto &download : offer.downloads) {
    write_download(writer, download);
  }
  writer.EndArray();
}

} // namespace

Result<Installed> parse_installed(const core::json::Value &request) {
  Installed installed;
  if (!request.IsObject()) {
    return installed;
  }
  const auto found = request.FindMember("installed");
  if (found == request.MemberEnd() || found->value.IsNull()) {
    return installed;
  }
  auto reader = core::json::ObjectReader::of(found->value, "request.installed");
  if (!reader) {
    return reader.error();
  }
  if (auto allowed = reader->allow_only({"offline", "hotpatch", "upgrade"}); !allowed) {
    return allowed.error();
  }
  if (const auto *offline = reader->find("offline"); offline != nullptr && !offline->IsNull()) {
    if (auto strings = check_strings(*offline, "request.installed.offline"); !strings) {
      return strings.error();
    }
    for (const auto &member : offline->GetObject()) {
      installed.offline.emplace(core::json::view(member.name), core::json::view(member.value));
    }
  }
  if (const auto *hotpatch = reader->find("hotpatch"); hotpatch != nullptr && !hotpatch->IsNull()) {
    if (auto strings = check_strings(*hotpatch, "request.installed.hotpatch"); !strings) {
      return strings.error();
    }
    const auto id = hotpatch->FindMember("id");
    const auto version = hotpatch->FindMember("version");
    if (id != hotpatch->MemberEnd() && version != hotpatch->MemberEnd()) {
      installed.hotpatch =
          PackageRef{std::string(core::json::view(id->value)), std::string(core::json::view(version->value))};
    }
  }
  if (const auto *upgrade = reader->find("upgrade"); upgrade != nullptr && !upgrade->IsNull() && !upgrade->IsString()) {
    return make_error(ErrorCode::JsonWrongType, "request.installed.upgrade must be a string or null");
  }
  return installed;
}

std::vector<std::int64_t> PackageOffers::release_ids() const {
  std::vector<std::int64_t> ids;
  if (upgrade) {
    ids.push_back(upgrade->release_id);
  }
  for (const auto &offer : offline) {
    ids.push_back(offer.release_id);
  }
  if (hotpatch) {
    ids.push_back(hotpatch->release_id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

Result<const Package *> OfferBuilder::package(const std::string &id, const std::string &version) {
  const auto key = std::make_pair(id, version);
  if (published_ != nullptr) {
    if (auto cached = published_->find(key); cached != published_->end()) {
      return &cached->second;
    }
  }
  auto known = packages_.find(key);
  if (known == packages_.end()) {
    auto loaded = storage_.get_package(app_, id, version);
    if (!loaded) {
      return loaded.error();
    }
    known = packages_.emplace(key, std::move(loaded.value())).first;
  }
  return &known->second;
}

std::optional<std::string> OfferBuilder::installed_version(const Package &package) const {
  if (package.kind == "upgrade") {
    return app_version_;
  }
  if (package.kind == "hotpatch") {
    if (installed_.hotpatch && installed_.hotpatch->id == package.package_id) {
      return installed_.hotpatch->version;
    }
    return std::nullopt;
  }
  auto found = installed_.offline.find(package.package_id);
  return found != installed_.offline.end() ? std::optional<std::string>(found->second) : std::nullopt;
}

Status OfferBuilder::add(const Release &release) {
  std::vector<PackageRef> members = release.group;
  if (members.empty()) {
    members.push_back({release.package_id, release.package_version});
  }
  for (const auto &member : members) {
    auto found = package(member.id, member.version);
    if (!found) {
      return found.error();
    }
    const Package &candidate = **found;
    const auto installed = installed_version(candidate);
    if (!above_installed(candidate.version, installed)) {
      continue;
    }
    auto best = by_package_.find(candidate.package_id);
    if (best != by_package_.end() && !version_above(candidate.version, best->second.package.version)) {
      continue; // an earlier release offers this version or a higher one
    }
    PackageOffer offer;
    offer.release_id = release.id;
    offer.grouped = !release.group.empty();
    offer.package = candidate;
    offer.installed = installed;
    offer.downloads = downloads_for(candidate, installed);
    if (candidate.kind == "upgrade") {
      UpgradePrompt prompt = release.upgrade.value_or(UpgradePrompt{});
      if (!prompt.notes) {
        auto manifest = core::decode(candidate.manifest_json);
        if (!manifest) {
          return make_error(ErrorCode::StorageCorrupt, "the stored manifest of " + candidate.package_id + " " +
                                                           candidate.version + " does not read");
        }
        prompt.notes = manifest->notes;
      }
      offer.upgrade = std::move(prompt);
    }
    by_package_[candidate.package_id] = std::move(offer);
  }
  return {};
}

Result<PackageOffers> OfferBuilder::finish() const {
  PackageOffers offers;
  for (const auto &[id, offer] : by_package_) {
    if (offer.package.kind == "offline") {
      offers.offline.push_back(offer);
      continue;
    }
    auto &slot = offer.package.kind == "upgrade" ? offers.upgrade : offers.hotpatch;
    if (!slot || version_above(offer.package.version, slot->package.version)) {
      slot = offer;
    }
  }
  return offers;
}

void write_offers(core::json::Writer &writer, const PackageOffers &offers) {
  writer.Key("upgrade");
  if (offers.upgrade) {
    writer.StartObject();
    write_offer_members(writer, *offers.upgrade);
    const auto &prompt = *offers.upgrade->upgrade;
    put(writer, "mode", prompt.mode);
    writer.Key("remind_days");
    writer.Uint(prompt.remind_days);
    if (prompt.notes) {
      put(writer, "notes", *prompt.notes);
    }
    writer.EndObject();
  } else {
    writer.Null();
  }
  writer.Key("offline");
  writer.StartArray();
  for (const auto &offer : offers.offline) {
    writer.StartObject();
    write_offer_members(writer, offer);
    writer.EndObject();
  }
  writer.EndArray();
  writer.Key("hotpatch");
  if (offers.hotpatch) {
    writer.StartObject();
    put(writer, "action", "install");
    write_offer_members(writer, *offers.hotpatch);
    writer.EndObject();
  } else {
    writer.Null();
  }
}

} // namespace mds::server::packages
