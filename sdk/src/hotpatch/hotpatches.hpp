// The hotpatch lifecycle on the state directory: what mds::Client's launch_started(),
// mark_launch_succeeded() and current_hotpatch() do, and what the check request reports.
// Each step is planned by hotpatch/lifecycle.hpp and written by Store::update_hotpatch()
// in one transaction; installs go through the package pipeline (ClientPackages).
//
// Thread-safety: the Store serialises every step; no state is held here.
#ifndef MDS_SRC_HOTPATCH_HOTPATCHES_HPP
#define MDS_SRC_HOTPATCH_HOTPATCHES_HPP

#include "state/store.hpp"
#include "transport/protocol.hpp"

#include <mds/client.hpp>
#include <mds/error.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>

namespace mds::hotpatch {

struct LaunchOutcome {
  std::optional<Hotpatch> load;
  std::optional<Error> reverted; // why this launch reverted a patch (its code and text)
};

class Hotpatches {
public:
  Hotpatches(state::Store &store, std::filesystem::path state_directory, std::uint32_t max_launches,
             std::uint32_t event_capacity);

  Result<LaunchOutcome> launch();
  Status confirm();
  Result<std::optional<Hotpatch>> current();
  // installed.hotpatch of the check request.
  Result<std::optional<transport::InstalledHotpatch>> installed();

private:
  Hotpatch describe(const state::HotpatchRef &ref, HotpatchState state) const;
  std::filesystem::path directory(const state::HotpatchRef &ref) const;

  state::Store &store_;
  const std::filesystem::path state_directory_;
  const std::uint32_t max_launches_;
  const std::uint32_t event_capacity_;
};

} // namespace mds::hotpatch

#endif
