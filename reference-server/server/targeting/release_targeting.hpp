// The bridge between stored releases and the pure engine: a release's Targeting (its own
// filters and its rules' filters, read back from their stored form), and the whitelist and
// time-window lookups answered by Storage. /v1/admin/simulate uses them now; /v1/check
// will call the same functions, with WindowMode::Admit, so admission happens in one place.
#ifndef MDS_SERVER_TARGETING_RELEASE_TARGETING_HPP
#define MDS_SERVER_TARGETING_RELEASE_TARGETING_HPP

#include "server/storage/storage.hpp"
#include "server/targeting/evaluate.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mds::server::targeting {

// Stored filters (filters_to_json's form) read back by parsing each "expression".
Result<std::vector<Filter>> filters_from_json(std::string_view json);

// The release's targeting; its rules are read from storage.
Result<Targeting> targeting_of(const Release &release, Storage &storage);

class StorageWhitelists final : public WhitelistLookup {
public:
  explicit StorageWhitelists(Storage &storage) : storage_(storage) {}
  Result<bool> contains(std::string_view list, const Device &device) override;

private:
  Storage &storage_;
  std::map<std::string, WhitelistType, std::less<>> types_; // per request: lists do not change type
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
  explicit ReleaseDecider(Storage &storage) : storage_(storage), whitelists_(storage), windows_(storage) {}
  Result<Decision> decide(const Release &release, const Device &device, std::int64_t now, WindowMode mode);

private:
  Storage &storage_;
  StorageWhitelists whitelists_;
  StorageWindows windows_;
};

// What deciding for one device of an app needs from storage, read once per request: the
// app must exist (NotFound otherwise), then its releases and its config. /v1/check and
// simulate both start here, so a cache of parsed targeting belongs here too.
struct AppInputs {
  std::vector<Release> releases;
  ConfigValues config;
};
Result<AppInputs> load_app_inputs(Storage &storage, const std::string &app);

} // namespace mds::server::targeting

#endif
