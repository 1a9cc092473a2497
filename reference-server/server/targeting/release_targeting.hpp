// The bridge between stored releases and the pure engine: a release's Targeting (its own
// filters and its rules' filters, read back from their stored form), the whitelist and
// time-window lookups answered by Storage, and an app's inputs read once and cached.
// /v1/admin/simulate and /v1/check (with WindowMode::Admit) call the same functions, so
// admission happens in one place.
#ifndef MDS_SERVER_TARGETING_RELEASE_TARGETING_HPP
#define MDS_SERVER_TARGETING_RELEASE_TARGETING_HPP

#include "server/storage/storage.hpp"
#include "server/targeting/config_resolution.hpp"
#include "server/targeting/evaluate.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace mds::server::targeting {

// Stored filters (filters_to_json's form) read back by parsing each "expression".
Result<std::vector<Filter>> filters_from_json(std::string_view json);

// The release's targeting; its rules are read from storage.
Result<Targeting> targeting_of(const Release &release, Storage &storage);

// A whitelist's type, by name, as known when an app's inputs were read.
using WhitelistTypes = std::map<std::string, WhitelistType, std::less<>>;

// Lookup answers that stay right as long as an app's inputs do, shared by every request
// that uses those inputs: whitelist membership (a list changes only through an audited
// admin change, which replaces the inputs and this memo with them) and the time-window
// places devices hold (a place, once taken, is kept for the release's life). Thread-safe,
// bounded: past kMaxEntries answers it starts again from empty.
class LookupMemo {
public:
  static constexpr std::size_t kMaxEntries = 1u << 20;
  std::optional<bool> on_whitelist(const std::string &key) const;
  void remember_whitelist(std::string key, bool holds);
  // The window releases the device holds a place in, as far as known here.
  std::vector<std::int64_t> places_of(std::string_view device_id) const;
  void remember_place(std::int64_t release_id, std::string_view device_id);

private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, bool> whitelist_answers_;
  // By device: a check asks for all of its device's places at once.
  std::unordered_map<std::string, std::vector<std::int64_t>> places_;
  std::size_t place_count_ = 0;
};

class StorageWhitelists final : public WhitelistLookup {
public:
  // `known` (may be null) saves asking storage for the type of the lists it names;
  // `memo` (may be null) remembers answers across requests.
  explicit StorageWhitelists(Storage &storage, const WhitelistTypes *known = nullptr, LookupMemo *memo = nullptr)
      : storage_(storage), known_(known), memo_(memo) {}
  Result<bool> contains(std::string_view list, const Device &device) override;

private:
  Storage &storage_;
  const WhitelistTypes *known_;
  LookupMemo *memo_;
  WhitelistTypes types_; // per request: lists do not change type
  // Answers for one Device object, by list: several releases often name the same list,
  // and a check asks for every whitelist release. Asked about another, it forgets them.
  std::map<std::string, bool, std::less<>> answers_;
  const Device *answered_for_ = nullptr;
};

class StorageWindows final : public WindowGate {
public:
  // With a memo, WindowMode::Admit answers a device known to hold a place without asking
  // storage; such an answer has admitted_count 0 (not looked up).
  explicit StorageWindows(Storage &storage, LookupMemo *memo = nullptr) : storage_(storage), memo_(memo) {}
  Result<WindowAnswer> admit(std::int64_t release_id, const TimeWindow &window, std::string_view device_id, bool open,
                             WindowMode mode) override;

private:
  Storage &storage_;
  LookupMemo *memo_;
  // The memo's places of one device, read at its first window release.
  std::optional<std::string> places_device_;
  std::vector<std::int64_t> places_;
};

struct AppInputs;
struct CheckStep;

// Decides stored releases for one device: what simulate asks (WindowMode::Peek) and what
// /v1/check asks (WindowMode::Admit, which takes window places). One per request.
class ReleaseDecider {
public:
  // `inputs` (may be null) lends its whitelist types and lookup memo.
  explicit ReleaseDecider(Storage &storage, const AppInputs *inputs = nullptr);
  Result<Decision> decide(const Release &release, const Device &device, std::int64_t now, WindowMode mode);
  // With targeting already read (AppInputs).
  Result<Decision> decide(const Targeting &targeting, const Device &device, std::int64_t now, WindowMode mode);
  // Whether the device is eligible for a step of the inputs' check plan: its filters
  // through the plan's numbers, then, when they all hold, its doors (into a Decision kept
  // across calls: a check decides 200 releases).
  Result<bool> eligible(const AppInputs &inputs, const CheckStep &step, const Device &device, std::int64_t now,
                        WindowMode mode);
  // The verdicts of the inputs' numbered filters (releases' and config variants') for the
  // device decided.
  FilterVerdicts &verdicts() { return verdicts_; }

private:
  Storage &storage_;
  StorageWhitelists whitelists_;
  StorageWindows windows_;
  FilterVerdicts verdicts_; // the inputs' numbered filters, for the one device decided
  Decision scratch_;        // eligible()'s
};

// A release with what deciding for it needs, read and parsed once.
struct PreparedRelease {
  Release release;
  Targeting targeting;
  std::optional<ConfigOverlay> config; // config releases
};

// What deciding for one device of an app needs from storage: its releases (by id) and
// its config, parsed, and the types of the whitelists its releases name. /v1/check and
// simulate both start here.
// One live release as a check walks it (AppInputs::check_plan).
struct CheckStep {
  const PreparedRelease *release = nullptr;
  std::uint32_t first_number = 0; // its filters' numbers: check_numbers[first_number, end_number)
  std::uint32_t end_number = 0;
};

struct AppInputs {
  AppInputs() = default;
  // Moved, never copied: check_plan and numbered_filters point into the vectors here,
  // whose elements a move leaves in place and a copy would not.
  AppInputs(AppInputs &&) = default;
  AppInputs &operator=(AppInputs &&) = default;
  AppInputs(const AppInputs &) = delete;
  AppInputs &operator=(const AppInputs &) = delete;

  std::vector<PreparedRelease> releases;
  // The gray and full releases in order, packed for /v1/check, which decides every one
  // for every device: their filters' numbers lie in one array, so a release whose filters
  // fail costs a few reads of contiguous memory, not a walk through its Targeting's
  // vectors. Points into `releases`, which never changes once loaded.
  std::vector<CheckStep> check_plan;
  std::vector<std::uint32_t> check_numbers;
  // Each number's filter (among the releases' and the config variants'), for the verdicts
  // not known yet.
  std::vector<const Filter *> numbered_filters;
  // Every published package a package release names, by (id, version): offers are built
  // from these without a database read per check.
  std::map<std::pair<std::string, std::string>, Package> packages;
  AppConfig config;
  WhitelistTypes whitelist_types;
  std::shared_ptr<LookupMemo> memo = std::make_shared<LookupMemo>();
  std::size_t distinct_filters = 0; // how many numbers the releases' filter_numbers use
};

// Reads and parses an app's inputs; NotFound for an unknown app.
Result<AppInputs> load_app_inputs(Storage &storage, const std::string &app);

// load_app_inputs() kept per app until Storage::change_count() moves, so a check does not
// re-read and re-parse 200 releases, while any operator change is seen by the very next
// request. Thread-safe; the inputs handed out are immutable and shared.
class AppInputsCache {
public:
  explicit AppInputsCache(Storage &storage) : storage_(storage) {}
  Result<std::shared_ptr<const AppInputs>> get(const std::string &app);

private:
  struct Entry {
    std::uint64_t change_count = 0;
    std::shared_ptr<const AppInputs> inputs;
  };
  Storage &storage_;
  std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;
};

} // namespace mds::server::targeting

#endif
