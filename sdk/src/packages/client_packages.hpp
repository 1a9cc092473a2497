// What mds::Client does with packages, on top of the pipeline: building it from
// ClientOptions, the start-up work (recovery, presets), installing what a check offered,
// resolving URL paths to installed files, and the upgrade download.
#ifndef MDS_SRC_PACKAGES_CLIENT_PACKAGES_HPP
#define MDS_SRC_PACKAGES_CLIENT_PACKAGES_HPP

#include "packages/pipeline.hpp"
#include "state/store.hpp"
#include "transport/protocol.hpp"

#include <mds/client.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace mds::packages {

class ClientPackages {
public:
  // InvalidArgument when a version or key of the options cannot be read (validate_options
  // refuses those first). Downloads go through libcurl with the options' TLS settings and
  // stop when `cancel` turns true.
  static Result<std::unique_ptr<ClientPackages>> create(const ClientOptions &options, state::Store &store,
                                                        const std::atomic<bool> *cancel);

  // Startup: staging resumed or cleared, current trees verified, presets installed.
  PipelineReport start();

  // The offline packages a check offered; nothing when the network policy forbids it.
  PipelineReport install_offline(const std::vector<transport::PackageOffer> &offers);

  // The local file of `url_path` in the current version of `package`, or the package's
  // fallback URL joined with the path when it is not installed.
  Result<std::string> resolve(std::string_view package, std::string_view url_path);

  Result<std::map<std::string, std::string>> installed_offline();

  // The hotpatch a check offered: installed (staged) through the pipeline; nothing when
  // the network policy forbids it. A `rollback` is refused with
  // RollbackUnsupported (one `failed` event per offer, then skipped): it needs a
  // signed rollback directive, which this SDK cannot verify yet.
  PipelineReport install_hotpatch(const transport::HotpatchOffer &offer);

  // Downloads, verifies and installs the offered upgrade; the verified file's path.
  // `report` receives what the pipeline did (for listeners).
  Result<std::string> download_upgrade(const transport::UpgradeOffer &offer, PipelineReport &report);

  // False when NetworkPolicy::WifiOnly holds and the device is not on Wi-Fi.
  bool downloads_allowed() const;

private:
  ClientPackages(const ClientOptions &options, state::Store &store, std::unique_ptr<Pipeline> pipeline);

  const ClientOptions &options_;
  state::Store &store_;
  std::unique_ptr<Pipeline> pipeline_;
};

} // namespace mds::packages

#endif
