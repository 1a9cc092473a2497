// Which deltas a newly published package version gets, and which download a device is
// offered first. Pure functions: the publisher and /v1/check call them, the unit tests
// drive them with cases as data.
#ifndef MDS_SERVER_PACKAGES_DELTA_BASES_HPP
#define MDS_SERVER_PACKAGES_DELTA_BASES_HPP

#include "server/storage/storage.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mds::server::packages {

// The published versions a new `target` version gets a delta from: the `count` highest
// versions below it (compared as versions, so "1.10" is above "1.9"), highest first.
// Versions that do not read as dotted versions are ignored; so is one equal to the target.
std::vector<std::string> select_delta_bases(const std::vector<std::string> &published, const std::string &target,
                                            std::size_t count);

// A delta is worth offering only when it is at most half the full download: beyond that
// the saving does not pay for the device's work of applying it (and for storing it).
bool delta_worth_keeping(std::uint64_t delta_size, std::uint64_t full_size);

// What a device with `installed` (nullopt: none) is offered for `package`, in order: the
// delta from exactly the installed version when there is one, then the full download.
std::vector<PackageDownload> downloads_for(const Package &package, const std::optional<std::string> &installed);

// Whether version `a` is above `b` (dotted versions; text that does not read as one is
// never above anything).
bool version_above(const std::string &a, const std::string &b);

} // namespace mds::server::packages

#endif
