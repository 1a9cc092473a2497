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

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mds::server::targeting {

// Stored filters (filters_to_json's form) read back by parsing each "expression".
Result<std::vector<Filter>> filters_from_json(std::string_view json);

// The release's targeting; its rules are read from storage.
Result<Targeting> targeting_of(const Release &release, Storage &storage);

// A whitelist's type, by name, as known when an app's inputs were read.
using WhitelistTypes = std::map<std::string, WhitelistType, std::less<>>;

class StorageWhitelists final : public WhitelistLookup {
public:
  // `known` (may be null) saves asking storage for the type of the lists it names.
  explicit StorageWhitelists(Storage &storage, const WhitelistTypes *known = nullptr)
      : storage_(storage), known_(known) {}
  Result<bool> contains(std::string_view list, const Device &device) override;

private:
  Storage &storage_;
  const WhitelistTypes *known_;
  WhitelistTypes types_;                             // per request: lists do not change type
  std::map<std::string, bool, std::less<>> answers_; // list, device id and user id -> answer
};

class StorageWindows final : public WindowGate {
public:
  explicit StorageWindows(Storage &storage) : storage_(storage) {}
  Result<WindowAnswer> admit(std::int64_t release_id, const TimeWindow &window, std::string_view device_id, bool open,
                             WindowMode mode) override;

private:
  Storage &storage_;
};

// Decides stored releases for one device: what simulate asks (WindowMode::Peek) and what
// /v1/check will ask (WindowMode::Admit, which takes window places). One per request.
class ReleaseDecider {
public:
  explicit ReleaseDecider(Storage &storage, const WhitelistTypes *known_whitelists = nullptr)
      : storage_(storage), whitelists_(storage, known_whitelists), windows_(storage) {}
  Result<Decision> decide(const Release &release, const Device &device, std::int64_t now, WindowMode mode);
  // With targeting already read (AppInputs).
  Result<Decision> decide(const Targeting &targeting, const Device &device, std::int64_t now, WindowMode mode);

private:
  Storage &storage_;
  StorageWhitelists whitelists_;
  StorageWindows windows_;
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
struct AppInputs {
  std::vector<PreparedRelease> releases;
  AppConfig config;
  WhitelistTypes whitelist_types;
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
