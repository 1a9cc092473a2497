// The targeting engine: whether one device is eligible for one release, and why.
// DESIGN.md "Targeting": every filter must hold (the release's own, then each rule's, in
// order) and one door must be open. Doors are tried in this order, the first that opens
// is the answer: `full` (stage full), `whitelist:<name>` (the device or user id is on one
// of the release's lists, in their order), `percentage` (the device's bucket is within the
// percentage), `window` (the time window admits the device). Only gray and full releases
// offer anything; draft, paused, ended and rolled_back ones are refused for their stage
// before any filter is looked at.
//
// Filter semantics, decided here:
//   - An absent field (and, for the number, date and version operators, a device value
//     that does not read as one) makes the operator false; `not` then makes it true. So
//     "brand in X" fails for a device that sends no brand, "brand not in X" holds.
//   - `not_in` is the negation of `in` and so holds for an absent field, as Unleash's
//     NOT_IN does; `brand not not_in X` is therefore `brand in X`.
//   - `ci` folds ASCII case on both sides; `in`, `not_in`, `eq`, `prefix`, `suffix` and
//     `contains` all honour it.
//   - Numbers: the device value is read as a finite decimal; dates as
//     YYYY-MM-DDTHH:MM:SS[.fff]Z (a fraction counts: 10:00:00.25 is after 10:00:00); versions with
//     core::Version::parse.
//
// Percentage: bucket(salt, device_id, modulus) with the Unleash normalisation (1..modulus)
// is in when bucket / modulus <= percent, i.e. bucket * 10000 <= percent_bp * modulus.
// The bucket never changes for a device, so raising the percentage never drops one. An
// empty device id never falls in a percentage.
//
// Time window: admission is asked of a WindowGate only when no other door opened, so a
// device already in by its whitelist or bucket does not use up a window place. Between
// start (inclusive) and end (exclusive) the gate admits first comers up to the cap; an
// admitted device stays in, before, during and after the window.
//
// Pure apart from the two lookups, which the caller provides (storage-backed in the
// server, in memory in tests).
#ifndef MDS_SERVER_TARGETING_EVALUATE_HPP
#define MDS_SERVER_TARGETING_EVALUATE_HPP

#include "server/releases/release_stage.hpp"
#include "server/storage/storage.hpp"
#include "server/targeting/device.hpp"
#include "server/targeting/filter_expression.hpp"

#include "core/bucketing/bucketing.hpp"

#include <mds/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mds::server::targeting {

class WhitelistLookup {
public:
  virtual ~WhitelistLookup() = default;
  // Whether the list holds the device's id (a device list) or its user id (a user list).
  virtual Result<bool> contains(std::string_view list, const Device &device) = 0;
};

enum class WindowMode {
  Admit, // take a place if one is free (what /v1/check does)
  Peek,  // say whether the device is in or would get a place, changing nothing (simulate)
};

using WindowAnswer = WindowAdmission;

class WindowGate {
public:
  virtual ~WindowGate() = default;
  // `open` says whether now is within the window: when it is not, only a device admitted
  // earlier is in.
  virtual Result<WindowAnswer> admit(std::int64_t release_id, const TimeWindow &window, std::string_view device_id,
                                     bool open, WindowMode mode) = 0;
};

// A named group of filters that must all hold: the release's own ("release") or a rule's
// ("rule:<name>").
struct FilterSet {
  std::string source;
  std::vector<Filter> filters;
};

struct Targeting {
  std::int64_t release_id = 0;
  ReleaseStage stage = ReleaseStage::Draft;
  std::vector<FilterSet> filter_sets;
  std::vector<std::string> whitelists;
  std::uint32_t percent_bp = 0;
  std::string salt;
  // Optional: `salt` already hashed (targeting_of sets it), so that bucketing a device
  // hashes only its id. Without it the salt is hashed for every device.
  std::optional<core::SaltedBucketing> salted;
  std::uint32_t modulus = 10000; // Unleash uses 100
  std::optional<TimeWindow> window;
  // Optional, parallel to filter_sets: each filter's number among the distinct filters of
  // the releases decided together (load_app_inputs numbers them by canonical expression),
  // so that FilterVerdicts evaluates a filter many releases share once per device.
  std::vector<std::vector<std::uint32_t>> filter_numbers;
};

// The verdicts of numbered filters for one device, each computed at its first use. Bound
// to one Device object: asked about another, it forgets what it knew.
class FilterVerdicts {
public:
  explicit FilterVerdicts(std::size_t count = 0) : known_(count, kUnknown) {}
  bool holds(std::uint32_t number, const Filter &filter, const Device &device);

private:
  static constexpr std::int8_t kUnknown = -1;
  std::vector<std::int8_t> known_;
  const Device *device_ = nullptr;
};

enum class DoorKind { None, Full, Whitelist, Percentage, Window };

struct FilterFailure {
  std::string source;    // "release" or "rule:<name>"
  std::size_t index = 0; // within its source
  std::string expression;
  std::optional<std::string> device_value; // nullopt: the device did not send the field
};

struct Decision {
  bool eligible = false;
  bool stage_offers = false; // false: the stage alone refuses (draft, paused, ...)
  std::optional<FilterFailure> failed_filter;
  DoorKind door = DoorKind::None;
  std::string whitelist;               // with DoorKind::Whitelist
  std::optional<std::uint32_t> bucket; // computed when the percentage door was tried
  std::optional<WindowAnswer> window;  // when the window door was tried

  // "full", "whitelist:qa", "percentage", "window" or "none".
  std::string door_name() const;
  // One line for people: "filter 2 of rule:huawei (brand in Huawei) failed: brand is \"Xiaomi\"".
  std::string explanation() const;
};

// Whether one filter holds for the device.
bool filter_holds(const Filter &filter, const Device &device);

// The bucket the percentage door uses: 1..modulus; 0 for an empty id.
std::uint32_t percentage_bucket(const Targeting &targeting, std::string_view device_id);

// Errors come only from the lookups. `verdicts` (may be null) answers the filters
// `targeting` numbers.
Result<Decision> evaluate(const Targeting &targeting, const Device &device, WhitelistLookup &whitelists,
                          WindowGate &windows, std::int64_t now, WindowMode mode, FilterVerdicts *verdicts = nullptr);
// The doors alone, for a device every filter of `targeting` is known to hold for (the
// stage is checked again): evaluate() without its filter stage, into a Decision the caller
// keeps and reuses, which is what a check needs to decide 200 releases per request.
Status evaluate_doors_into(const Targeting &targeting, const Device &device, WhitelistLookup &whitelists,
                           WindowGate &windows, std::int64_t now, WindowMode mode, Decision &decision);

} // namespace mds::server::targeting

#endif
