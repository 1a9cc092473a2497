// Release stages and the moves an operator may make between them, as one table.
//
//   draft ──promote──▶ gray ──promote──▶ full
//     │                 │ ▲               │
//     │               pause│resume      pause/resume (back to the stage it left)
//     │                 ▼ │               ▼
//     │                paused ◀───────────┘
//     └──end──▶ ended ◀──end── gray | full | paused
//              rolled_back ◀──rollback── gray | full | paused
//
// `ended` and `rolled_back` are final. A draft cannot be rolled back (nothing went out);
// `full` cannot be promoted. Promoting a gray release with a percentage keeps it gray and
// raises its percentage; the percentage never goes down, so a device once in stays in.
#ifndef MDS_SERVER_RELEASES_RELEASE_STAGE_HPP
#define MDS_SERVER_RELEASES_RELEASE_STAGE_HPP

#include <mds/error.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace mds::server {

enum class ReleaseStage { Draft, Gray, Full, Paused, Ended, RolledBack };
enum class ReleaseAction { Promote, Pause, Resume, End, Rollback };

const char *to_string(ReleaseStage stage);
std::optional<ReleaseStage> release_stage_from_string(std::string_view name);
const char *to_string(ReleaseAction action);
std::optional<ReleaseAction> release_action_from_string(std::string_view name);

// Percentages are kept in basis points (0..10000) so 0.25 % is exact.
constexpr std::uint32_t kFullPercentBasisPoints = 10000;

struct ReleaseProgress {
  ReleaseStage stage = ReleaseStage::Draft;
  std::optional<ReleaseStage> paused_from; // set exactly when stage is Paused
  std::uint32_t percent_bp = 0;
};

struct PromoteRequest {
  std::optional<ReleaseStage> to;          // Gray or Full; default: the next stage
  std::optional<std::uint32_t> percent_bp; // with a gray target: the new percentage
};

// The progress after `action`, or ReleaseStateInvalid naming the forbidden move, or
// InvalidArgument for a percentage that would drop devices.
Result<ReleaseProgress> apply_release_action(const ReleaseProgress &current, ReleaseAction action,
                                             const PromoteRequest &promote = {});

} // namespace mds::server

#endif
