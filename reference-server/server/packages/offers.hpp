// What /v1/check offers one device from the package releases it is eligible for
// (docs/protocol.md, POST /v1/check): each offer carries the signed envelope and the
// downloads, the delta from the device's installed version first. simulate builds the
// same offers, so it shows what a check would answer.
#ifndef MDS_SERVER_PACKAGES_OFFERS_HPP
#define MDS_SERVER_PACKAGES_OFFERS_HPP

#include "server/storage/storage.hpp"

#include "core/json/json.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mds::server::packages {

// The request's "installed" member: what the device has, so deltas can be offered against
// it and nothing it already has is offered again.
struct Installed {
  std::map<std::string, std::string> offline; // package id -> version
  std::optional<PackageRef> hotpatch;
};

// Reads request.installed strictly (unknown members refused; every value a string);
// absent or null is nothing installed.
Result<Installed> parse_installed(const core::json::Value &request);

struct PackageOffer {
  std::int64_t release_id = 0;
  bool grouped = false; // from a release of several packages, installed together
  Package package;
  std::optional<std::string> installed; // the device's version of this package
  std::vector<PackageDownload> downloads;
  std::optional<UpgradePrompt> upgrade; // kind upgrade: how to prompt, notes resolved
};

struct PackageOffers {
  std::optional<PackageOffer> upgrade;
  std::vector<PackageOffer> offline; // by package id
  std::optional<PackageOffer> hotpatch;

  // The releases an answer carrying these offers counts as offered, ascending, once each.
  std::vector<std::int64_t> release_ids() const;
};

// Collects the offers of eligible package releases for one device, in one request. When
// several releases offer versions of one package, the highest version wins (one upgrade
// and one hotpatch at most: the highest version of each kind). A version at or below the
// one the device has installed is never offered.
class OfferBuilder {
public:
  // `app_version` is what an upgrade must be above. `published` (may be null) holds
  // packages already read, by (id, version); others are read from storage.
  using PackageIndex = std::map<std::pair<std::string, std::string>, Package>;
  OfferBuilder(Storage &storage, std::string app, std::string app_version, Installed installed,
               const PackageIndex *published = nullptr)
      : storage_(storage), app_(std::move(app)), app_version_(std::move(app_version)), installed_(std::move(installed)),
        published_(published) {}

  // Adds the offers of one eligible release of kind Package.
  Status add(const Release &release);
  Result<PackageOffers> finish() const;

private:
  Result<const Package *> package(const std::string &id, const std::string &version);
  std::optional<std::string> installed_version(const Package &package) const;

  Storage &storage_;
  std::string app_;
  std::string app_version_;
  Installed installed_;
  const PackageIndex *published_;
  PackageIndex packages_;                          // read from storage, once per request
  std::map<std::string, PackageOffer> by_package_; // the best offer per package id
};

// Writes the answer's "upgrade", "offline" and "hotpatch" members.
void write_offers(core::json::Writer &writer, const PackageOffers &offers);

} // namespace mds::server::packages

#endif
