#include "server/releases/release_stage.hpp"

#include <catch2/catch.hpp>

using namespace mds::server;
using mds::ErrorCode;

namespace {

ReleaseProgress at(ReleaseStage stage, std::uint32_t percent_bp = 0,
                   std::optional<ReleaseStage> paused_from = std::nullopt) {
  return ReleaseProgress{stage, paused_from, percent_bp};
}

} // namespace

TEST_CASE("the allowed moves", "[releases]") {
  struct Case {
    ReleaseProgress from;
    ReleaseAction action;
    ReleaseStage to;
  };
  const Case cases[] = {
      {at(ReleaseStage::Draft), ReleaseAction::Promote, ReleaseStage::Gray},
      {at(ReleaseStage::Gray, 500), ReleaseAction::Promote, ReleaseStage::Full},
      {at(ReleaseStage::Gray), ReleaseAction::Pause, ReleaseStage::Paused},
      {at(ReleaseStage::Full), ReleaseAction::Pause, ReleaseStage::Paused},
      {at(ReleaseStage::Paused, 0, ReleaseStage::Gray), ReleaseAction::Resume, ReleaseStage::Gray},
      {at(ReleaseStage::Paused, 0, ReleaseStage::Full), ReleaseAction::Resume, ReleaseStage::Full},
      {at(ReleaseStage::Draft), ReleaseAction::End, ReleaseStage::Ended},
      {at(ReleaseStage::Gray), ReleaseAction::End, ReleaseStage::Ended},
      {at(ReleaseStage::Full), ReleaseAction::End, ReleaseStage::Ended},
      {at(ReleaseStage::Paused, 0, ReleaseStage::Gray), ReleaseAction::End, ReleaseStage::Ended},
      {at(ReleaseStage::Gray), ReleaseAction::Rollback, ReleaseStage::RolledBack},
      {at(ReleaseStage::Full), ReleaseAction::Rollback, ReleaseStage::RolledBack},
      {at(ReleaseStage::Paused, 0, ReleaseStage::Full), ReleaseAction::Rollback, ReleaseStage::RolledBack},
  };
  for (const auto &c : cases) {
    INFO(to_string(c.from.stage) << " --" << to_string(c.action) << "-->");
    auto next = apply_release_action(c.from, c.action);
    REQUIRE(next.ok());
    CHECK(next->stage == c.to);
    CHECK(next->paused_from.has_value() == (c.to == ReleaseStage::Paused));
    CHECK(next->percent_bp == c.from.percent_bp);
  }
  auto paused = apply_release_action(at(ReleaseStage::Full), ReleaseAction::Pause);
  REQUIRE(paused.ok());
  CHECK(paused->paused_from == ReleaseStage::Full);
}

TEST_CASE("forbidden moves fail with ReleaseStateInvalid", "[releases]") {
  struct Case {
    ReleaseProgress from;
    ReleaseAction action;
  };
  const Case cases[] = {
      {at(ReleaseStage::Draft), ReleaseAction::Pause},
      {at(ReleaseStage::Draft), ReleaseAction::Resume},
      {at(ReleaseStage::Draft), ReleaseAction::Rollback},
      {at(ReleaseStage::Gray), ReleaseAction::Resume},
      {at(ReleaseStage::Full), ReleaseAction::Promote},
      {at(ReleaseStage::Full), ReleaseAction::Resume},
      {at(ReleaseStage::Paused, 0, ReleaseStage::Gray), ReleaseAction::Pause},
      {at(ReleaseStage::Paused, 0, ReleaseStage::Gray), ReleaseAction::Promote},
      {at(ReleaseStage::Ended), ReleaseAction::Promote},
      {at(ReleaseStage::Ended), ReleaseAction::Pause},
      {at(ReleaseStage::Ended), ReleaseAction::Resume},
      {at(ReleaseStage::Ended), ReleaseAction::End},
      {at(ReleaseStage::Ended), ReleaseAction::Rollback},
      {at(ReleaseStage::RolledBack), ReleaseAction::Promote},
      {at(ReleaseStage::RolledBack), ReleaseAction::Resume},
      {at(ReleaseStage::RolledBack), ReleaseAction::End},
      {at(ReleaseStage::RolledBack), ReleaseAction::Rollback},
  };
  for (const auto &c : cases) {
    INFO(to_string(c.from.stage) << " --" << to_string(c.action) << "-->");
    auto next = apply_release_action(c.from, c.action);
    REQUIRE_FALSE(next.ok());
    CHECK(next.code() == ErrorCode::ReleaseStateInvalid);
  }
}

TEST_CASE("promote with a percentage stays gray and never lowers it", "[releases]") {
  PromoteRequest raise;
  raise.percent_bp = 2500;
  auto next = apply_release_action(at(ReleaseStage::Gray, 1000), ReleaseAction::Promote, raise);
  REQUIRE(next.ok());
  CHECK(next->stage == ReleaseStage::Gray);
  CHECK(next->percent_bp == 2500);

  next = apply_release_action(at(ReleaseStage::Draft), ReleaseAction::Promote, raise);
  REQUIRE(next.ok());
  CHECK(next->stage == ReleaseStage::Gray);

  PromoteRequest lower;
  lower.percent_bp = 500;
  CHECK(apply_release_action(at(ReleaseStage::Gray, 1000), ReleaseAction::Promote, lower).code() ==
        ErrorCode::InvalidArgument);

  PromoteRequest same_stage;
  CHECK(apply_release_action(at(ReleaseStage::Gray, 1000), ReleaseAction::Promote,
                             PromoteRequest{ReleaseStage::Gray, std::nullopt})
            .code() == ErrorCode::InvalidArgument);

  PromoteRequest straight_to_full{ReleaseStage::Full, std::nullopt};
  next = apply_release_action(at(ReleaseStage::Draft), ReleaseAction::Promote, straight_to_full);
  REQUIRE(next.ok());
  CHECK(next->stage == ReleaseStage::Full);

  PromoteRequest above_all;
  above_all.percent_bp = 10001;
  CHECK(apply_release_action(at(ReleaseStage::Gray), ReleaseAction::Promote, above_all).code() ==
        ErrorCode::InvalidArgument);
}

TEST_CASE("stage and action names round-trip", "[releases]") {
  for (auto stage : {ReleaseStage::Draft, ReleaseStage::Gray, ReleaseStage::Full, ReleaseStage::Paused,
                     ReleaseStage::Ended, ReleaseStage::RolledBack}) {
    CHECK(release_stage_from_string(to_string(stage)) == stage);
  }
  for (auto action : {ReleaseAction::Promote, ReleaseAction::Pause, ReleaseAction::Resume, ReleaseAction::End,
                      ReleaseAction::Rollback}) {
    CHECK(release_action_from_string(to_string(action)) == action);
  }
  CHECK_FALSE(release_stage_from_string("Gray"));
  CHECK_FALSE(release_action_from_string("delete"));
}
