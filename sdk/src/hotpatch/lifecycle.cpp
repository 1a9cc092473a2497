#include "hotpatch/lifecycle.hpp"

namespace mds {

const char *to_string(HotpatchState state) noexcept {
  switch (state) {
  case HotpatchState::Staged:
    return "staged";
  case HotpatchState::Pending:
    return "pending";
  case HotpatchState::Confirmed:
    return "confirmed";
  }
  return "unknown";
}

namespace hotpatch {

LaunchPlan plan_launch(const state::HotpatchRecord &now, std::uint32_t max_launches) {
  LaunchPlan plan;
  state::HotpatchRecord &next = plan.next;
  next = now;
  if (next.active && !next.active_confirmed && next.launches >= static_cast<std::int64_t>(max_launches)) {
    plan.reverted = next.active;
    next.active = next.fallback;
    next.active_confirmed = next.fallback.has_value();
    next.launches = 0;
    if (next.staged == plan.reverted) {
      next.staged.reset();
    }
  }
  if (next.staged) {
    next.active = std::move(next.staged);
    next.staged.reset();
    next.active_confirmed = false;
    next.launches = 0;
  }
  if (next.active && !next.active_confirmed) {
    ++next.launches;
  }
  plan.load = next.active;
  return plan;
}

Result<state::HotpatchRecord> plan_confirm(const state::HotpatchRecord &now) {
  if (!now.active) {
    return make_error(ErrorCode::HotpatchNotActive,
                      now.staged ? "no hotpatch is active: the staged one loads at the next launch_started()"
                                 : "no hotpatch is active");
  }
  state::HotpatchRecord next = now;
  next.active_confirmed = true;
  next.launches = 0;
  next.fallback = next.active;
  return next;
}

std::optional<Current> current(const state::HotpatchRecord &record) {
  if (record.staged) {
    return Current{*record.staged, HotpatchState::Staged};
  }
  if (record.active) {
    return Current{*record.active, record.active_confirmed ? HotpatchState::Confirmed : HotpatchState::Pending};
  }
  return std::nullopt;
}

} // namespace hotpatch
} // namespace mds
