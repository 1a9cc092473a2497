#include "hotpatch/hotpatches.hpp"

#include "client/event_queue.hpp"
#include "hotpatch/lifecycle.hpp"
#include "packages/pipeline.hpp"

#include <system_error>

namespace mds::hotpatch {

Hotpatches::Hotpatches(state::Store &store, std::filesystem::path state_directory, std::uint32_t max_launches,
                       std::uint32_t event_capacity)
    : store_(store), state_directory_(std::move(state_directory)), max_launches_(max_launches),
      event_capacity_(event_capacity) {}

std::filesystem::path Hotpatches::directory(const state::HotpatchRef &ref) const {
  return state_directory_ / packages::kind_directory(core::PackageKind::Hotpatch) / ref.package / ref.version;
}

Hotpatch Hotpatches::describe(const state::HotpatchRef &ref, HotpatchState state) const {
  return Hotpatch{ref.package, ref.version, directory(ref).string(), state};
}

Result<LaunchOutcome> Hotpatches::launch() {
  LaunchOutcome outcome;
  std::optional<state::HotpatchRef> bad;
  auto written =
      store_.update_hotpatch([&](const state::HotpatchRecord &now) -> Result<std::optional<state::HotpatchUpdate>> {
        // Planned again on every call: a retried transaction must not keep an earlier plan.
        outcome = LaunchOutcome{};
        bad.reset();
        LaunchPlan plan = plan_launch(now, max_launches_);
        if (plan.load) {
          outcome.load =
              describe(*plan.load, plan.next.active_confirmed ? HotpatchState::Confirmed : HotpatchState::Pending);
        }
        if (plan.next == now) {
          return std::optional<state::HotpatchUpdate>(); // a confirmed patch, or none: nothing to write
        }
        state::HotpatchUpdate update;
        update.next = plan.next;
        if (plan.reverted) {
          bad = plan.reverted;
          const std::string back_to =
              plan.next.fallback ? plan.next.fallback->package + " " + plan.next.fallback->version : "no hotpatch";
          Error reason = make_error(ErrorCode::HotpatchCrashLoop,
                                    "hotpatch " + plan.reverted->package + " " + plan.reverted->version + " launched " +
                                        std::to_string(now.launches) +
                                        " times without a successful launch; reverted to " + back_to);
          state::HotpatchRevert revert;
          revert.bad = *plan.reverted;
          revert.event = client::EventQueue::build(
              "rolled_back", {plan.reverted->release, plan.reverted->package, plan.reverted->version}, reason.code,
              reason.message);
          revert.event_capacity = event_capacity_;
          revert.reason = reason;
          outcome.reverted = std::move(reason);
          update.revert = std::move(revert);
        }
        return std::optional<state::HotpatchUpdate>(std::move(update));
      });
  if (!written) {
    return std::move(written).error();
  }
  if (bad) {
    // No state names the bad version any more; a kill before this leaves the directory
    // to the pipeline's next collection.
    std::error_code ignored;
    std::filesystem::remove_all(directory(*bad), ignored);
  }
  return outcome;
}

Status Hotpatches::confirm() {
  return store_.update_hotpatch([](const state::HotpatchRecord &now) -> Result<std::optional<state::HotpatchUpdate>> {
    auto next = plan_confirm(now);
    if (!next) {
      return std::move(next).error();
    }
    if (*next == now) {
      return std::optional<state::HotpatchUpdate>();
    }
    state::HotpatchUpdate update;
    update.next = std::move(*next);
    return std::optional<state::HotpatchUpdate>(std::move(update));
  });
}

Result<std::optional<Hotpatch>> Hotpatches::current() {
  auto record = store_.hotpatch();
  if (!record) {
    return std::move(record).error();
  }
  auto now = hotpatch::current(*record);
  if (!now) {
    return std::optional<Hotpatch>();
  }
  return std::optional<Hotpatch>(describe(now->ref, now->state));
}

Result<std::optional<transport::InstalledHotpatch>> Hotpatches::installed() {
  auto record = store_.hotpatch();
  if (!record) {
    return std::move(record).error();
  }
  auto now = hotpatch::current(*record);
  if (!now) {
    return std::optional<transport::InstalledHotpatch>();
  }
  return std::optional<transport::InstalledHotpatch>(
      transport::InstalledHotpatch{now->ref.package, now->ref.version, to_string(now->state)});
}

} // namespace mds::hotpatch
