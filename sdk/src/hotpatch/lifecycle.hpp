// The hotpatch lifecycle (DESIGN.md "On the device") as pure functions over the store's
// record, so every transition is unit-tested without a disk:
//
//   downloaded   the package pipeline's resumable download in staging (no record yet)
//   staged       the pipeline committed it: installed and verified, not loaded by the app
//   pending      a launch loaded it (active) and no launch of it was marked successful
//   confirmed    a launch of it was marked successful; it is also the fallback
//
// plan_launch() runs at every app start, before the app loads anything:
//   1. an active patch that is still pending after `max_launches` launches is a crash
//      loop: it is reverted to the fallback (the last confirmed patch, or none), and the
//      plan names it as `reverted` (the caller marks it refused and reports it);
//   2. a staged patch becomes the active one, pending, with no launches yet (a newer
//      staged patch also replaces a pending one that has not failed yet);
//   3. a pending active patch counts this launch;
//   4. the patch to load is the active one, if any.
// plan_confirm() confirms the active patch: it becomes the fallback and its launches go
// back to zero.
#ifndef MDS_SRC_HOTPATCH_LIFECYCLE_HPP
#define MDS_SRC_HOTPATCH_LIFECYCLE_HPP

#include "state/store.hpp"

#include <mds/client.hpp>
#include <mds/error.hpp>

#include <cstdint>
#include <optional>

namespace mds::hotpatch {

struct LaunchPlan {
  state::HotpatchRecord next;
  std::optional<state::HotpatchRef> load;     // the patch this launch loads
  std::optional<state::HotpatchRef> reverted; // the crash-looping patch left by this launch
};

LaunchPlan plan_launch(const state::HotpatchRecord &now, std::uint32_t max_launches);

// HotpatchNotActive when no patch is active.
Result<state::HotpatchRecord> plan_confirm(const state::HotpatchRecord &now);

// The patch the device reports and the host sees as current: the staged one when there is
// one (the newest), else the active one.
struct Current {
  state::HotpatchRef ref;
  HotpatchState state = HotpatchState::Staged;
};
std::optional<Current> current(const state::HotpatchRecord &record);

} // namespace mds::hotpatch

#endif
