#include "server/releases/release_stage.hpp"

#include <string>

namespace mds::server {
namespace {

struct StageName {
  ReleaseStage stage;
  const char *name;
};
constexpr StageName kStageNames[] = {
    {ReleaseStage::Draft, "draft"},   {ReleaseStage::Gray, "gray"},   {ReleaseStage::Full, "full"},
    {ReleaseStage::Paused, "paused"}, {ReleaseStage::Ended, "ended"}, {ReleaseStage::RolledBack, "rolled_back"},
};

struct ActionName {
  ReleaseAction action;
  const char *name;
};
constexpr ActionName kActionNames[] = {
    {ReleaseAction::Promote, "promote"}, {ReleaseAction::Pause, "pause"},       {ReleaseAction::Resume, "resume"},
    {ReleaseAction::End, "end"},         {ReleaseAction::Rollback, "rollback"},
};

// Which stages each action may start from. Resume goes back to the stage the release
// was paused in; promote's target depends on the request (see below).
struct Transition {
  ReleaseAction action;
  ReleaseStage from;
  ReleaseStage to;
};
constexpr Transition kTransitions[] = {
    {ReleaseAction::Promote, ReleaseStage::Draft, ReleaseStage::Gray},
    {ReleaseAction::Promote, ReleaseStage::Gray, ReleaseStage::Full},
    {ReleaseAction::Pause, ReleaseStage::Gray, ReleaseStage::Paused},
    {ReleaseAction::Pause, ReleaseStage::Full, ReleaseStage::Paused},
    {ReleaseAction::Resume, ReleaseStage::Paused, ReleaseStage::Paused /* paused_from */},
    {ReleaseAction::End, ReleaseStage::Draft, ReleaseStage::Ended},
    {ReleaseAction::End, ReleaseStage::Gray, ReleaseStage::Ended},
    {ReleaseAction::End, ReleaseStage::Full, ReleaseStage::Ended},
    {ReleaseAction::End, ReleaseStage::Paused, ReleaseStage::Ended},
    {ReleaseAction::Rollback, ReleaseStage::Gray, ReleaseStage::RolledBack},
    {ReleaseAction::Rollback, ReleaseStage::Full, ReleaseStage::RolledBack},
    {ReleaseAction::Rollback, ReleaseStage::Paused, ReleaseStage::RolledBack},
};

Error forbidden(ReleaseStage from, ReleaseAction action) {
  return make_error(ErrorCode::ReleaseStateInvalid,
                    std::string("cannot ") + to_string(action) + " a release that is " + to_string(from));
}

} // namespace

const char *to_string(ReleaseStage stage) {
  for (const auto &entry : kStageNames) {
    if (entry.stage == stage) {
      return entry.name;
    }
  }
  return "unknown";
}

std::optional<ReleaseStage> release_stage_from_string(std::string_view name) {
  for (const auto &entry : kStageNames) {
    if (name == entry.name) {
      return entry.stage;
    }
  }
  return std::nullopt;
}

const char *to_string(ReleaseAction action) {
  for (const auto &entry : kActionNames) {
    if (entry.action == action) {
      return entry.name;
    }
  }
  return "unknown";
}

std::optional<ReleaseAction> release_action_from_string(std::string_view name) {
  for (const auto &entry : kActionNames) {
    if (name == entry.name) {
      return entry.action;
    }
  }
  return std::nullopt;
}

Result<ReleaseProgress> apply_release_action(const ReleaseProgress &current, ReleaseAction action,
                                             const PromoteRequest &promote) {
  const Transition *allowed = nullptr;
  for (const auto &transition : kTransitions) {
    if (transition.action == action && transition.from == current.stage) {
      allowed = &transition;
      break;
    }
  }
  if (allowed == nullptr) {
    return forbidden(current.stage, action);
  }

  ReleaseProgress next = current;
  next.paused_from.reset();
  switch (action) {
  case ReleaseAction::Pause:
    next.stage = ReleaseStage::Paused;
    next.paused_from = current.stage;
    return next;
  case ReleaseAction::Resume:
    if (!current.paused_from) {
      return make_error(ErrorCode::Internal, "paused release without the stage it was paused in");
    }
    next.stage = *current.paused_from;
    return next;
  case ReleaseAction::End:
  case ReleaseAction::Rollback:
    next.stage = allowed->to;
    return next;
  case ReleaseAction::Promote:
    break;
  }

  // Promote: an explicit target wins; a percentage alone means "stay (or become) gray".
  ReleaseStage target = allowed->to;
  if (promote.to) {
    target = *promote.to;
  } else if (promote.percent_bp) {
    target = ReleaseStage::Gray;
  }
  if (target != ReleaseStage::Gray && target != ReleaseStage::Full) {
    return make_error(ErrorCode::InvalidArgument, "a release can only be promoted to gray or full");
  }
  if (target == ReleaseStage::Gray && current.stage == ReleaseStage::Gray && !promote.percent_bp) {
    return make_error(ErrorCode::InvalidArgument, "promoting within gray needs a higher percentage");
  }
  if (promote.percent_bp) {
    if (*promote.percent_bp > kFullPercentBasisPoints) {
      return make_error(ErrorCode::InvalidArgument, "percentage above 100");
    }
    if (*promote.percent_bp < current.percent_bp) {
      return make_error(ErrorCode::InvalidArgument,
                        "the percentage cannot go down: devices already in would be dropped");
    }
    next.percent_bp = *promote.percent_bp;
  }
  next.stage = target;
  return next;
}

} // namespace mds::server
